/*
 * The scheduler-delay probe's loader, and the slots in its shared memory.
 *
 * The probe is built only with INFER_SCHEDLAT_BPF defined and the
 * generated infer_schedlat.skel.h on the include path; otherwise
 * infer_schedlat_open() fails with -EOPNOTSUPP and nothing here needs
 * libbpf (the unit tests use infer_schedlat_wrap()).
 *
 * A slot changes owner with a compare-and-swap of its tgid from 0 to
 * INFER_SL_BUSY, so concurrent workers never take the same one; while it
 * is BUSY no task matches it, and the probe leaves its counters alone.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "infer_schedlat.h"

#if (INFER_SCHEDLAT_BPF)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "infer_schedlat.skel.h"
#endif


struct infer_schedlat_s {
    struct infer_sl_shared     *sh;
#if (INFER_SCHEDLAT_BPF)
    struct infer_schedlat_bpf  *skel;
#endif
    const char                 *attach_type;
    unsigned                    anon:1;      /* sh is ours to munmap */
};


static int infer_schedlat_claim(struct infer_sl_shared *sh, unsigned i);
static void infer_schedlat_take(struct infer_sl_shared *sh, unsigned i,
    uint32_t tgid, uint32_t key);

#if (INFER_SCHEDLAT_BPF)
static int infer_schedlat_print(enum libbpf_print_level level,
    const char *fmt, va_list args);
static int infer_schedlat_load(infer_schedlat_t *sl,
    const infer_schedlat_opts_t *opts);


/* libbpf_set_print() is process-global: set for the duration of a call */
static infer_schedlat_log_pt   infer_schedlat_log;
static void                   *infer_schedlat_log_ctx;
#endif


#define infer_sl_load(p)      __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define infer_sl_store(p, v)  __atomic_store_n(p, v, __ATOMIC_RELEASE)


int
infer_schedlat_open(infer_schedlat_t **slp, const infer_schedlat_opts_t *opts)
{
#if (INFER_SCHEDLAT_BPF)
    int                    rc;
    infer_schedlat_t      *sl;
    libbpf_print_fn_t      prev;
    infer_schedlat_opts_t  none;

    *slp = NULL;

    if (opts == NULL) {
        memset(&none, 0, sizeof(infer_schedlat_opts_t));
        opts = &none;
    }

    sl = calloc(1, sizeof(infer_schedlat_t));
    if (sl == NULL) {
        return -ENOMEM;
    }

    infer_schedlat_log = opts->log;
    infer_schedlat_log_ctx = opts->log_ctx;
    prev = libbpf_set_print(infer_schedlat_print);

    rc = infer_schedlat_load(sl, opts);

    libbpf_set_print(prev);
    infer_schedlat_log = NULL;
    infer_schedlat_log_ctx = NULL;

    if (rc != 0) {
        infer_schedlat_bpf__destroy(sl->skel);
        free(sl);
        return rc;
    }

    *slp = sl;

    return 0;

#else

    (void) opts;

    *slp = NULL;

    return -EOPNOTSUPP;
#endif
}


#if (INFER_SCHEDLAT_BPF)

static int
infer_schedlat_load(infer_schedlat_t *sl, const infer_schedlat_opts_t *opts)
{
    int                         rc, raw;
    struct infer_schedlat_bpf  *skel;

    LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = opts->btf_path);

    /* tp_btf needs the running kernel's BTF to name its tracepoints */

    raw = opts->raw_tp
          || opts->btf_path != NULL
          || libbpf_find_vmlinux_btf_id("sched_switch", BPF_TRACE_RAW_TP) < 0;

    skel = infer_schedlat_bpf__open_opts(&oo);
    if (skel == NULL) {
        return errno ? -errno : -EINVAL;
    }

    sl->skel = skel;

    bpf_program__set_autoload(skel->progs.wakeup, !raw);
    bpf_program__set_autoload(skel->progs.wakeup_new, !raw);
    bpf_program__set_autoload(skel->progs.sched_switch, !raw);
    bpf_program__set_autoload(skel->progs.proc_exit, !raw);
    bpf_program__set_autoload(skel->progs.wakeup_raw, raw);
    bpf_program__set_autoload(skel->progs.wakeup_new_raw, raw);
    bpf_program__set_autoload(skel->progs.switch_raw, raw);
    bpf_program__set_autoload(skel->progs.proc_exit_raw, raw);

    rc = infer_schedlat_bpf__load(skel);
    if (rc != 0) {
        return rc < 0 ? rc : -EINVAL;
    }

    rc = infer_schedlat_bpf__attach(skel);
    if (rc != 0) {
        return rc < 0 ? rc : -EINVAL;
    }

    /* now MAP_SHARED over the map: what forked workers inherit */

    sl->sh = &skel->bss->sl_shared;
    sl->attach_type = raw ? "raw_tp" : "tp_btf";

    return 0;
}


static int
infer_schedlat_print(enum libbpf_print_level level, const char *fmt,
    va_list args)
{
    int     n;
    char    msg[512];
    size_t  len;

    if (infer_schedlat_log == NULL) {
        return 0;
    }

    n = vsnprintf(msg, sizeof(msg), fmt, args);
    if (n < 0) {
        return n;
    }

    len = strlen(msg);

    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) {
        msg[--len] = '\0';
    }

    infer_schedlat_log(infer_schedlat_log_ctx,
                       level == LIBBPF_WARN ? INFER_SCHEDLAT_WARN
                       : level == LIBBPF_INFO ? INFER_SCHEDLAT_INFO
                       : INFER_SCHEDLAT_DEBUG,
                       msg);

    return n;
}

#endif


int
infer_schedlat_wrap(infer_schedlat_t **slp, struct infer_sl_shared *sh)
{
    infer_schedlat_t  *sl;

    *slp = NULL;

    sl = calloc(1, sizeof(infer_schedlat_t));
    if (sl == NULL) {
        return -ENOMEM;
    }

    sl->sh = sh;
    sl->attach_type = "none";

    *slp = sl;

    return 0;
}


int
infer_schedlat_anon(infer_schedlat_t **slp)
{
    int                      rc;
    struct infer_sl_shared  *sh;

    sh = mmap(NULL, sizeof(struct infer_sl_shared), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        return -errno;
    }

    rc = infer_schedlat_wrap(slp, sh);
    if (rc != 0) {
        munmap(sh, sizeof(struct infer_sl_shared));
        return rc;
    }

    (*slp)->anon = 1;

    return 0;
}


void
infer_schedlat_close(infer_schedlat_t *sl)
{
    if (sl == NULL) {
        return;
    }

    if (sl->anon) {
        munmap(sl->sh, sizeof(struct infer_sl_shared));
    }

#if (INFER_SCHEDLAT_BPF)
    infer_schedlat_bpf__destroy(sl->skel);
#endif

    free(sl);
}


const char *
infer_schedlat_attach_type(infer_schedlat_t *sl)
{
    return sl->attach_type;
}


int
infer_schedlat_watch(infer_schedlat_t *sl, uint32_t tgid, uint32_t key)
{
    unsigned                 i, n;
    struct infer_sl_shared  *sh;

    if (tgid == 0 || tgid == INFER_SL_BUSY) {
        return -EINVAL;
    }

    sh = sl->sh;
    n = infer_sl_load(&sh->nused);

    for (i = 0; i < n; i++) {
        if (infer_sl_load(&sh->tgid[i]) == tgid) {
            return i;
        }
    }

    /* a free slot of the same key: a respawned worker's predecessor */

    for (i = 0; i < n; i++) {
        if (infer_sl_load(&sh->key[i]) == key
            && infer_sl_load(&sh->tgid[i]) == 0
            && infer_schedlat_claim(sh, i))
        {
            infer_schedlat_take(sh, i, tgid, key);
            return i;
        }
    }

    for (i = n; i < INFER_SL_NSLOTS; i++) {
        if (infer_schedlat_claim(sh, i)) {
            infer_schedlat_take(sh, i, tgid, key);
            return i;
        }
    }

    /* another key's: its totals start again from zero */

    for (i = 0; i < INFER_SL_NSLOTS; i++) {
        if (infer_schedlat_claim(sh, i)) {
            infer_schedlat_take(sh, i, tgid, key);
            return i;
        }
    }

    return -ENOSPC;
}


static int
infer_schedlat_claim(struct infer_sl_shared *sh, unsigned i)
{
    uint32_t  zero;

    zero = 0;

    return __atomic_compare_exchange_n(&sh->tgid[i], &zero, INFER_SL_BUSY,
                                       0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}


/* the slot is BUSY: ours alone, and the probe does not touch it */

static void
infer_schedlat_take(struct infer_sl_shared *sh, unsigned i, uint32_t tgid,
    uint32_t key)
{
    unsigned               b;
    uint32_t               n;
    struct infer_sl_slot  *s;

    /* gen 0: never used, so its counters are zero already */

    if (sh->gen[i] != 0 && sh->key[i] != key) {
        s = &sh->slot[i];

        infer_sl_store(&s->count, 0);
        infer_sl_store(&s->total_ns, 0);

        for (b = 0; b < INFER_SL_NBUCKETS; b++) {
            infer_sl_store(&s->hist[b], 0);
        }
    }

    infer_sl_store(&sh->key[i], key);
    infer_sl_store(&sh->gen[i], sh->gen[i] + 1);

    n = infer_sl_load(&sh->nused);

    while (n < i + 1) {
        if (__atomic_compare_exchange_n(&sh->nused, &n, i + 1, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        {
            break;
        }
    }

    infer_sl_store(&sh->tgid[i], tgid);
}


int
infer_schedlat_unwatch(infer_schedlat_t *sl, uint32_t tgid)
{
    int       i;
    uint32_t  t;

    i = infer_schedlat_find(sl, tgid);
    if (i < 0) {
        return i;
    }

    t = tgid;

    if (!__atomic_compare_exchange_n(&sl->sh->tgid[i], &t, 0, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
    {
        return -ENOENT;
    }

    return i;
}


int
infer_schedlat_find(infer_schedlat_t *sl, uint32_t tgid)
{
    unsigned  i, n;

    if (tgid == 0 || tgid == INFER_SL_BUSY) {
        return -EINVAL;
    }

    n = infer_sl_load(&sl->sh->nused);

    for (i = 0; i < n && i < INFER_SL_NSLOTS; i++) {
        if (infer_sl_load(&sl->sh->tgid[i]) == tgid) {
            return i;
        }
    }

    return -ENOENT;
}


unsigned
infer_schedlat_nslots(infer_schedlat_t *sl)
{
    unsigned  n;

    n = infer_sl_load(&sl->sh->nused);

    return n < INFER_SL_NSLOTS ? n : INFER_SL_NSLOTS;
}


int
infer_schedlat_read(infer_schedlat_t *sl, unsigned slot,
    infer_schedlat_stats_t *st)
{
    unsigned               b;
    struct infer_sl_slot  *s;

    if (slot >= INFER_SL_NSLOTS) {
        return -EINVAL;
    }

    s = &sl->sh->slot[slot];

    st->tgid = infer_sl_load(&sl->sh->tgid[slot]);
    st->key = infer_sl_load(&sl->sh->key[slot]);
    st->gen = infer_sl_load(&sl->sh->gen[slot]);
    st->count = infer_sl_load(&s->count);
    st->total_ns = infer_sl_load(&s->total_ns);

    for (b = 0; b < INFER_SL_NBUCKETS; b++) {
        st->hist[b] = infer_sl_load(&s->hist[b]);
    }

    if (st->tgid == INFER_SL_BUSY) {
        st->tgid = 0;
    }

    return 0;
}


uint64_t
infer_schedlat_total_ns(infer_schedlat_t *sl, unsigned slot)
{
    if (slot >= INFER_SL_NSLOTS) {
        return 0;
    }

    return __atomic_load_n(&sl->sh->slot[slot].total_ns, __ATOMIC_RELAXED);
}


void
infer_schedlat_store(infer_schedlat_t *sl, unsigned slot, uint64_t count,
    uint64_t total_ns)
{
    if (slot >= INFER_SL_NSLOTS) {
        return;
    }

    infer_sl_store(&sl->sh->slot[slot].count, count);
    infer_sl_store(&sl->sh->slot[slot].total_ns, total_ns);
}


size_t
infer_schedlat_by_key(infer_schedlat_t *sl, infer_schedlat_stats_t *out,
    size_t n)
{
    size_t                  k, j, nout;
    unsigned                i, b, nslots;
    infer_schedlat_stats_t  st, *o;

    nout = 0;
    nslots = infer_schedlat_nslots(sl);

    for (i = 0; i < nslots; i++) {
        (void) infer_schedlat_read(sl, i, &st);

        if (st.gen == 0) {
            continue;                        /* being claimed the first time */
        }

        /* insertion in key order: a handful of workers */

        for (k = 0; k < nout && out[k].key < st.key; k++) {
            /* void */
        }

        if (k < nout && out[k].key == st.key) {
            o = &out[k];
            o->count += st.count;
            o->total_ns += st.total_ns;

            for (b = 0; b < INFER_SL_NBUCKETS; b++) {
                o->hist[b] += st.hist[b];
            }

            if (st.tgid != 0) {
                o->tgid = st.tgid;
            }

            continue;
        }

        if (nout == n) {
            continue;
        }

        for (j = nout; j > k; j--) {
            out[j] = out[j - 1];
        }

        out[k] = st;
        nout++;
    }

    return nout;
}


uint64_t
infer_schedlat_lost(infer_schedlat_t *sl)
{
    return infer_sl_load(&sl->sh->lost);
}


int
infer_schedlat_cost(infer_schedlat_t *sl, uint64_t *runs, uint64_t *ns)
{
#if (INFER_SCHEDLAT_BPF)
    int                   fd;
    uint32_t              len;
    struct bpf_program   *prog;
    struct bpf_prog_info  info;

    *runs = 0;
    *ns = 0;

    if (sl->skel == NULL) {
        return -EOPNOTSUPP;
    }

    bpf_object__for_each_program(prog, sl->skel->obj) {
        fd = bpf_program__fd(prog);
        if (fd < 0) {
            continue;                        /* not loaded: the other set */
        }

        memset(&info, 0, sizeof(struct bpf_prog_info));
        len = sizeof(struct bpf_prog_info);

        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
            return -errno;
        }

        *runs += info.run_cnt;
        *ns += info.run_time_ns;
    }

    return 0;

#else

    (void) sl;

    *runs = 0;
    *ns = 0;

    return -EOPNOTSUPP;
#endif
}
