/*
 * The scheduler-delay probe's glue: infer_sched_probe, loading the probe
 * in the master, each worker's slot, the per-request figure, and what
 * /metrics reads at scrape time.
 *
 * The master opens the probe once, in init_module, and keeps it in a
 * static for its whole life: a reload neither reopens nor closes it, so
 * the counters go on, and workers forked later inherit its shared memory.
 * Where it cannot be loaded, one warning, and the schedstat fallback:
 * slots in anonymous shared memory, each worker storing its own
 * /proc/self/schedstat run delay there.
 */

#include "ngx_http_infer_module.h"


static ngx_int_t ngx_http_infer_sched_open_probe(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_infer_sched_open_anon(ngx_cycle_t *cycle);
static void ngx_http_infer_sched_log(void *ctx, int level, const char *msg);
static void ngx_http_infer_sched_reap(infer_schedlat_t *sl);
static uint64_t ngx_http_infer_sched_read(void);
static infer_schedlat_t *ngx_http_infer_sched_source(ngx_uint_t source);


/* the master's, inherited by the workers; never closed on reload */
static infer_schedlat_t   *ngx_http_infer_probe;
static infer_schedlat_t   *ngx_http_infer_anon;
static ngx_uint_t          ngx_http_infer_probe_tried;

/* this worker's */
static infer_schedlat_t   *ngx_http_infer_sl;       /* NULL: none */
static int                 ngx_http_infer_slot = -1;
static ngx_fd_t            ngx_http_infer_schedstat = NGX_INVALID_FILE;
static uint64_t            ngx_http_infer_base_ns;  /* predecessors' total */
static uint64_t            ngx_http_infer_start_ns; /* run_delay at start */
static infer_cgroup_t      ngx_http_infer_cgroup;   /* version 0: none */


ngx_conf_enum_t  ngx_http_infer_sched_probes[] = {
    { ngx_string("off"), NGX_HTTP_INFER_SCHED_OFF },
    { ngx_string("on"), NGX_HTTP_INFER_SCHED_ON },
    { ngx_string("schedstat"), NGX_HTTP_INFER_SCHED_SCHEDSTAT },
    { ngx_null_string, 0 }
};


/*
 * init_module, in the master before it forks (and on each reload); not
 * under nginx -t.  Each cycle picks its source: the probe when "on" and
 * loaded, else the fallback; "off" loads nothing.
 */

ngx_int_t
ngx_http_infer_sched_init_module(ngx_cycle_t *cycle)
{
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_infer_module);

    if (imcf == NULL || !imcf->used || ngx_test_config) {
        return NGX_OK;
    }

    imcf->sched_source = INFER_PROBE_NONE;

    if (imcf->sched_probe == NGX_HTTP_INFER_SCHED_OFF) {
        return NGX_OK;
    }

    if (imcf->sched_probe == NGX_HTTP_INFER_SCHED_ON
        && ngx_http_infer_sched_open_probe(cycle) == NGX_OK)
    {
        imcf->sched_source = INFER_PROBE_BPF;
        return NGX_OK;
    }

    if (ngx_http_infer_sched_open_anon(cycle) == NGX_OK) {
        imcf->sched_source = INFER_PROBE_SCHEDSTAT;
    }

    /* serving never depends on the probe */

    return NGX_OK;
}


static ngx_int_t
ngx_http_infer_sched_open_probe(ngx_cycle_t *cycle)
{
    int                    rc;
    const char            *why;
    infer_schedlat_opts_t  opts;

    if (ngx_http_infer_probe != NULL) {
        return NGX_OK;
    }

    /* one try, one warning: a reload does not ask again */

    if (ngx_http_infer_probe_tried) {
        return NGX_DECLINED;
    }

    ngx_http_infer_probe_tried = 1;

    ngx_memzero(&opts, sizeof(infer_schedlat_opts_t));
    opts.log = ngx_http_infer_sched_log;
    opts.log_ctx = cycle->log;

    rc = infer_schedlat_open(&ngx_http_infer_probe, &opts);

    if (rc == 0) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "infer_sched_probe: BPF probe loaded (%s)",
                      infer_schedlat_attach_type(ngx_http_infer_probe));
        return NGX_OK;
    }

    switch (-rc) {
    case EPERM:
    case EACCES:
        why = "no CAP_BPF and CAP_PERFMON, nor CAP_SYS_ADMIN";
        break;
    case ENOENT:
    case ESRCH:
        why = "no kernel BTF (/sys/kernel/btf/vmlinux)";
        break;
    case EOPNOTSUPP:
        why = "the module was built without libbpf";
        break;
    default:
        why = "the kernel refused it";
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, -rc,
                  "infer_sched_probe: BPF probe not loaded: %s; "
                  "falling back to /proc/<pid>/schedstat", why);

    ngx_http_infer_probe = NULL;

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_infer_sched_open_anon(ngx_cycle_t *cycle)
{
    int  rc;

    if (ngx_http_infer_anon != NULL) {
        return NGX_OK;
    }

    rc = infer_schedlat_anon(&ngx_http_infer_anon);

    if (rc != 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, -rc,
                      "infer_sched_probe: mmap() failed, no run-queue "
                      "delay");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* libbpf's own messages while it loads: its warnings at debug level */

static void
ngx_http_infer_sched_log(void *ctx, int level, const char *msg)
{
    ngx_log_t  *log = ctx;

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0, "infer_sched_probe: "
                   "libbpf: %d: %s", level, msg);

    (void) log;
    (void) level;
    (void) msg;
}


void
ngx_http_infer_sched_exit_master(void)
{
    infer_schedlat_close(ngx_http_infer_probe);
    infer_schedlat_close(ngx_http_infer_anon);

    ngx_http_infer_probe = NULL;
    ngx_http_infer_anon = NULL;
}


/* the slots a source keeps: the probe's, the fallback's, or none */

static infer_schedlat_t *
ngx_http_infer_sched_source(ngx_uint_t source)
{
    switch (source) {

    case INFER_PROBE_BPF:
        return ngx_http_infer_probe;

    case INFER_PROBE_SCHEDSTAT:
        return ngx_http_infer_anon;

    default:
        return NULL;
    }
}


/* a worker takes the slot of its number, and opens what it reads */

void
ngx_http_infer_sched_init_process(ngx_cycle_t *cycle,
    ngx_http_infer_main_conf_t *imcf)
{
    int                     rc, slot;
    infer_schedlat_t       *sl;
    infer_schedstat_t       ss;
    infer_schedlat_stats_t  st;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    (void) infer_cgroup_open(&ngx_http_infer_cgroup);

    sl = ngx_http_infer_sched_source(imcf->sched_source);
    if (sl == NULL) {
        return;
    }

    if (imcf->sched_source == INFER_PROBE_SCHEDSTAT) {
        rc = infer_schedstat_open(0);

        if (rc < 0
            || infer_schedstat_read(rc, &ss) != 0)
        {
            ngx_log_error(NGX_LOG_WARN, cycle->log, rc < 0 ? -rc : 0,
                          "infer_sched_probe: /proc/self/schedstat "
                          "unreadable, no run-queue delay");
            if (rc >= 0) {
                (void) close(rc);
            }

            return;
        }

        ngx_http_infer_schedstat = rc;
        ngx_http_infer_start_ns = ss.run_delay_ns;

        /* a SIGKILLed worker never freed its slot */

        ngx_http_infer_sched_reap(sl);
    }

    slot = infer_schedlat_watch(sl, (uint32_t) ngx_pid,
                                (uint32_t) ngx_worker);

    if (slot < 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, -slot,
                      "infer_sched_probe: no slot for worker %ui",
                      ngx_worker);
        return;
    }

    if (imcf->sched_source == INFER_PROBE_SCHEDSTAT) {
        (void) infer_schedlat_read(sl, slot, &st);
        ngx_http_infer_base_ns = st.total_ns;
    }

    ngx_http_infer_sl = sl;
    ngx_http_infer_slot = slot;
}


/* a worker leaving: its last figure, its slot freed for its successor */

void
ngx_http_infer_sched_exit_process(void)
{
    if (ngx_http_infer_sl != NULL
        && ngx_http_infer_schedstat != NGX_INVALID_FILE)
    {
        (void) ngx_http_infer_sched_read();
        (void) infer_schedlat_unwatch(ngx_http_infer_sl, (uint32_t) ngx_pid);
    }

    ngx_http_infer_sl = NULL;

    /*
     * The worker's copies of what the master opened: closing them frees
     * this process's memory and descriptors only, while the master's
     * descriptors keep the probe attached.  nginx unloads the module as
     * the worker exits, so memory still held here would read as lost.
     */

    infer_schedlat_close(ngx_http_infer_probe);
    infer_schedlat_close(ngx_http_infer_anon);

    ngx_http_infer_probe = NULL;
    ngx_http_infer_anon = NULL;
}


static void
ngx_http_infer_sched_reap(infer_schedlat_t *sl)
{
    unsigned                i, n;
    infer_schedlat_stats_t  st;

    n = infer_schedlat_nslots(sl);

    for (i = 0; i < n; i++) {
        (void) infer_schedlat_read(sl, i, &st);

        if (st.tgid != 0 && kill((pid_t) st.tgid, 0) == -1
            && ngx_errno == NGX_ESRCH)
        {
            (void) infer_schedlat_unwatch(sl, st.tgid);
        }
    }
}


/*
 * This worker's run-queue delay so far, ns: a load from the probe's
 * memory, or one pread() of /proc/self/schedstat, stored in the slot.
 */

static uint64_t
ngx_http_infer_sched_read(void)
{
    uint64_t           total;
    infer_schedstat_t  ss;

    if (ngx_http_infer_schedstat == NGX_INVALID_FILE) {
        return infer_schedlat_total_ns(ngx_http_infer_sl,
                                       ngx_http_infer_slot);
    }

    if (infer_schedstat_read(ngx_http_infer_schedstat, &ss) != 0) {
        return infer_schedlat_total_ns(ngx_http_infer_sl,
                                       ngx_http_infer_slot);
    }

    total = ngx_http_infer_base_ns + ss.run_delay_ns
            - ngx_http_infer_start_ns;

    infer_schedlat_store(ngx_http_infer_sl, ngx_http_infer_slot, 0, total);

    return total;
}


/* the request enters the module, and when it is logged */

void
ngx_http_infer_sched_start(ngx_http_infer_ctx_t *ctx)
{
    if (ngx_http_infer_sl == NULL) {
        return;
    }

    ctx->sched_start = ngx_http_infer_sched_read();
    ctx->sched = 1;
}


void
ngx_http_infer_sched_finish(ngx_http_infer_ctx_t *ctx)
{
    uint64_t  now;

    if (!ctx->sched || ctx->sched_done) {
        return;
    }

    now = ngx_http_infer_sched_read();

    ctx->sched_ns = (now > ctx->sched_start) ? now - ctx->sched_start : 0;
    ctx->sched_done = 1;
}


/*
 * At scrape time: every worker's figures, from the shared slots, and the
 * cgroup's throttling.  host->workers is allocated from pool.
 */

ngx_int_t
ngx_http_infer_sched_host(ngx_http_request_t *r, infer_prom_host_t *host)
{
    infer_schedlat_t            *sl;
    infer_schedlat_stats_t      *w;
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);

    ngx_memzero(host, sizeof(infer_prom_host_t));

    if (infer_cgroup_read(&ngx_http_infer_cgroup, &host->cpu_stat) == 0) {
        host->cpu = 1;
    }

    host->source = (int) imcf->sched_source;

    sl = ngx_http_infer_sched_source(host->source);

    if (sl == NULL) {
        host->source = INFER_PROBE_NONE;
        return NGX_OK;
    }

    if (ngx_http_infer_sl != NULL) {
        (void) ngx_http_infer_sched_read();   /* our own, fresh */
    }

    w = ngx_palloc(r->pool, INFER_SL_NSLOTS * sizeof(infer_schedlat_stats_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    host->workers = w;
    host->nworkers = infer_schedlat_by_key(sl, w, INFER_SL_NSLOTS);
    host->hist = (host->source == INFER_PROBE_BPF);

    return NGX_OK;
}
