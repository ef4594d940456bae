/*
 * The scheduler-delay probe against the kernel's own accounting.  Needs
 * root and BPF, so it is a program of its own, not part of the unit tests.
 *
 *   schedlat_check          with CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN: the
 *                           probe (tp_btf, then raw_tp); without them:
 *                           open fails with -EPERM and the schedstat
 *                           fallback is checked instead
 *   schedlat_check bench    read costs and the probe's overhead
 *
 * Two forked "workers" watch themselves after dropping root, as nginx
 * workers do, so they reach the probe's counters only through the memory
 * they inherited; one shares its cpu with a busy loop.  Over the same
 * window, each one's probe total must agree with the growth of run_delay
 * in its /proc/<pid>/schedstat within 10%.
 */

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "infer_schedlat.h"

#if (INFER_SCHEDLAT_BPF)
#include <bpf/bpf.h>
#endif


#define SL_HOGGED      0                     /* worker keys */
#define SL_LONE        1
#define SL_MIN_NS      3000000               /* agreement checked above it */

/*
 * The kernel clocks a wait with its run queue's clock, whose update is
 * skipped when a wakeup preempts the running task (rq_clock_skip_update()
 * in wakeup_preempt()): such a wait, wakeup to switch, adds about nothing
 * to run_delay, where the probe sees its real length.  Long waits, queued
 * behind another task, must agree; short ones may differ by that much.
 */
#define SL_LONG_WAIT   100000                /* ns, mean */
#define SL_MAX_SKEW    100000                /* ns a wait */
#define SL_NOBODY      65534


typedef struct {
    int          slot;
    int          err;
    uint32_t     pid;
    uint64_t     t0, t1;                     /* probe total, ns */
    uint64_t     c0, c1;                     /* probe count */
    uint64_t     s0, s1;                     /* schedstat run_delay, ns */
} sl_result_t;


typedef struct {
    pid_t        pid;
    int          done[2];                    /* child -> parent: results */
    sl_result_t  res;
} sl_child_t;


static void sl_log(void *ctx, int level, const char *msg);
static int sl_has_caps(void);
static uint64_t sl_now(void);
static void sl_spin(uint64_t ns);
static pid_t sl_hog(int cpu);
static int sl_pin(int cpu);
static void sl_worker(infer_schedlat_t *sl, sl_child_t *c, uint32_t key,
    int cpu, int fifo, double seconds);
static int sl_spawn(infer_schedlat_t *sl, sl_child_t *c, uint32_t key,
    int cpu, int fifo, double seconds);
static int sl_collect(sl_child_t *c);
static void sl_reap(sl_child_t *c);
static void sl_check(int ok, const char *fmt, ...);
static int sl_agree(uint64_t probe, uint64_t kernel);
static double sl_pct(uint64_t probe, uint64_t kernel);
static void sl_compare(const char *label, const char *name,
    const char *whose, uint64_t dp, uint64_t ds, uint64_t n);
static void sl_pair(infer_schedlat_t *sl, double seconds, const char *label);
static void sl_respawn(infer_schedlat_t *sl);
static void sl_probe(void);
static void sl_fallback(void);
static void sl_bench(void);
static double sl_pingpong(infer_schedlat_t *sl, int watch, long rounds);


static int   sl_passed;
static int   sl_failed;
static char  sl_first_warning[512];
static char  sl_warnings[4096];             /* all of them, one a line */
static int   sl_ncpu;


static void
sl_log(void *ctx, int level, const char *msg)
{
    size_t  len;

    (void) ctx;

    if (level != INFER_SCHEDLAT_WARN) {
        return;
    }

    if (sl_first_warning[0] == '\0') {
        snprintf(sl_first_warning, sizeof(sl_first_warning), "%s", msg);
    }

    len = strlen(sl_warnings);
    snprintf(sl_warnings + len, sizeof(sl_warnings) - len, "%s\n", msg);
}


/* CAP_SYS_ADMIN (21), or CAP_PERFMON (38) and CAP_BPF (39), effective */

static int
sl_has_caps(void)
{
    FILE               *f;
    char                line[256];
    unsigned long long  eff;

    f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return 0;
    }

    eff = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "CapEff: %llx", &eff) == 1) {
            break;
        }
    }

    fclose(f);

    return (eff & (1ULL << 21))
           || ((eff & (1ULL << 38)) && (eff & (1ULL << 39)));
}


static uint64_t
sl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static void
sl_spin(uint64_t ns)
{
    uint64_t  end;

    end = sl_now() + ns;

    while (sl_now() < end) {
        /* void */
    }
}


static int
sl_pin(int cpu)
{
    cpu_set_t  set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);

    return sched_setaffinity(0, sizeof(cpu_set_t), &set);
}


static pid_t
sl_hog(int cpu)
{
    pid_t  pid;

    pid = fork();

    if (pid == 0) {
        sl_pin(cpu);

        for ( ;; ) {
            sl_spin(1000000000);
        }
    }

    return pid;
}


/*
 * The child: drop root as an nginx worker does, claim a slot through the
 * inherited memory, then sleep and wake for the window, reading the probe
 * (plain loads) and schedstat (one pread) at both ends.
 */

static void
sl_worker(infer_schedlat_t *sl, sl_child_t *c, uint32_t key, int cpu,
    int fifo, double seconds)
{
    int                     fd;
    uint64_t                end;
    sl_result_t             r;
    struct timespec         nap = { 0, 200000 };
    infer_schedstat_t       ss;
    struct sched_param      sp = { 1 };
    infer_schedlat_stats_t  st;

    memset(&r, 0, sizeof(sl_result_t));
    r.pid = getpid();
    r.slot = -1;

    close(c->done[0]);

    if (sl_pin(cpu) != 0
        || (fifo && sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
        || setgid(SL_NOBODY) != 0
        || setuid(SL_NOBODY) != 0)
    {
        r.err = -errno;
        goto done;
    }

    fd = infer_schedstat_open(0);
    if (fd < 0) {
        r.err = fd;
        goto done;
    }

    if (sl != NULL) {
        r.slot = infer_schedlat_watch(sl, r.pid, key);
        if (r.slot < 0) {
            r.err = r.slot;
            goto done;
        }

        infer_schedlat_read(sl, r.slot, &st);
        r.t0 = st.total_ns;
        r.c0 = st.count;
    }

    r.err = infer_schedstat_read(fd, &ss);
    r.s0 = ss.run_delay_ns;

    end = sl_now() + (uint64_t) (seconds * 1e9);

    while (r.err == 0 && sl_now() < end) {
        nanosleep(&nap, NULL);
        sl_spin(500000);
    }

    if (sl != NULL) {
        infer_schedlat_read(sl, r.slot, &st);
        r.t1 = st.total_ns;
        r.c1 = st.count;
    }

    if (r.err == 0) {
        r.err = infer_schedstat_read(fd, &ss);
        r.s1 = ss.run_delay_ns;
    }

done:

    if (write(c->done[1], &r, sizeof(sl_result_t)) != sizeof(sl_result_t)) {
        _exit(2);
    }

    /* blocked until killed: neither figure moves while the parent looks */

    for ( ;; ) {
        pause();
    }
}


static int
sl_spawn(infer_schedlat_t *sl, sl_child_t *c, uint32_t key, int cpu,
    int fifo, double seconds)
{
    memset(c, 0, sizeof(sl_child_t));

    if (pipe(c->done) != 0) {
        return -errno;
    }

    c->pid = fork();

    if (c->pid == -1) {
        return -errno;
    }

    if (c->pid == 0) {
        sl_worker(sl, c, key, cpu, fifo, seconds);
    }

    close(c->done[1]);

    return 0;
}


static int
sl_collect(sl_child_t *c)
{
    if (read(c->done[0], &c->res, sizeof(sl_result_t))
        != sizeof(sl_result_t))
    {
        return -EIO;
    }

    return c->res.err;
}


static void
sl_reap(sl_child_t *c)
{
    int  status;

    kill(c->pid, SIGTERM);
    waitpid(c->pid, &status, 0);
    close(c->done[0]);
}


static void
sl_check(int ok, const char *fmt, ...)
{
    va_list  args;

    if (ok) {
        sl_passed++;
        printf("ok: ");

    } else {
        sl_failed++;
        printf("FAIL: ");
    }

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");
}


static int
sl_agree(uint64_t probe, uint64_t kernel)
{
    uint64_t  d;

    d = probe > kernel ? probe - kernel : kernel - probe;

    return d * 10 <= kernel;
}


static double
sl_pct(uint64_t probe, uint64_t kernel)
{
    return kernel ? 100.0 * ((double) probe - kernel) / kernel : 0;
}


/* dp, ds: the probe's and schedstat's growth over n waits, ns */

static void
sl_compare(const char *label, const char *name, const char *whose,
    uint64_t dp, uint64_t ds, uint64_t n)
{
    uint64_t  mean;

    mean = n ? dp / n : 0;

    printf(" probe +%.3f ms in %llu waits (mean %.1f us),"
           " schedstat +%.3f ms: %+.2f%%\n", dp / 1e6, (unsigned long long) n,
           mean / 1e3, ds / 1e6, sl_pct(dp, ds));

    if (ds >= SL_MIN_NS && mean >= SL_LONG_WAIT) {
        sl_check(sl_agree(dp, ds),
                 "%s: %s worker: %s probe total within 10%% of schedstat",
                 label, name, whose);
        return;
    }

    sl_check(dp * 10 >= ds * 9 && dp <= ds + n * SL_MAX_SKEW,
             "%s: %s worker: %s figures: short waits, the probe adds %.1f us"
             " a wait of wakeup latency to schedstat (at most %d)",
             label, name, whose, n ? ((double) dp - ds) / n / 1e3 : 0.0,
             SL_MAX_SKEW / 1000);
}


static void
sl_pair(infer_schedlat_t *sl, double seconds, const char *label)
{
    int                     i, rc, fd;
    pid_t                   hog;
    unsigned                b;
    uint64_t                dp[2], ds[2], sum;
    sl_child_t              c[2];
    sl_result_t            *r;
    infer_schedstat_t       ss;
    static const char      *names[2] = { "hogged", "lone" };
    static const uint32_t   keys[2] = { SL_HOGGED, SL_LONE };
    infer_schedlat_stats_t  st;

    hog = sl_hog(sl_ncpu - 1);
    usleep(50000);

    sl_spawn(sl, &c[0], keys[0], sl_ncpu - 1, 0, seconds);
    sl_spawn(sl, &c[1], keys[1], 0, 1, seconds);

    for (i = 0; i < 2; i++) {
        rc = sl_collect(&c[i]);
        sl_check(rc == 0, "%s: %s worker %u ran %.1f s as nobody (%d)",
                 label, names[i], c[i].res.pid, seconds, rc);
    }

    kill(hog, SIGKILL);
    waitpid(hog, NULL, 0);

    for (i = 0; i < 2; i++) {
        r = &c[i].res;
        ds[i] = r->s1 - r->s0;
        dp[i] = r->t1 - r->t0;

        if (sl == NULL) {
            printf("%s: %s worker: schedstat run_delay +%.3f ms\n",
                   label, names[i], ds[i] / 1e6);
            continue;
        }

        printf("%s: %s worker, slot %d:", label, names[i], r->slot);
        sl_compare(label, names[i], "the child's", dp[i], ds[i],
                   r->c1 - r->c0);

        /* the parent's own mapping: the child's claim, the probe's counts */

        infer_schedlat_read(sl, r->slot, &st);
        sl_check(st.tgid == r->pid && st.key == keys[i],
                 "%s: %s worker's claim seen by the parent: tgid %u key %u",
                 label, names[i], st.tgid, st.key);

        sum = 0;

        for (b = 0; b < INFER_SL_NBUCKETS; b++) {
            sum += st.hist[b];
        }

        sl_check(sum == st.count && st.total_ns >= r->t1,
                 "%s: %s worker: histogram adds up to the count %llu,"
                 " total %llu ns >= the child's %llu ns",
                 label, names[i], (unsigned long long) st.count,
                 (unsigned long long) st.total_ns,
                 (unsigned long long) r->t1);

        fd = infer_schedstat_open(r->pid);
        rc = (fd >= 0) ? infer_schedstat_read(fd, &ss) : fd;
        close(fd);

        if (rc == 0) {
            printf("%s: %s worker, read by the parent:", label, names[i]);
            sl_compare(label, names[i], "the parent's",
                       st.total_ns - r->t0, ss.run_delay_ns - r->s0,
                       st.count - r->c0);
        }
    }

    sl_check(ds[0] >= SL_MIN_NS && ds[0] >= 10 * ds[1],
             "%s: schedstat: hogged %.3f ms >= 10 x lone %.3f ms",
             label, ds[0] / 1e6, ds[1] / 1e6);

    if (sl != NULL) {
        sl_check(dp[0] >= SL_MIN_NS && dp[0] >= 10 * dp[1],
                 "%s: probe: hogged %.3f ms >= 10 x lone %.3f ms",
                 label, dp[0] / 1e6, dp[1] / 1e6);
    }

    for (i = 0; i < 2; i++) {
        sl_reap(&c[i]);

        if (sl != NULL) {
            infer_schedlat_read(sl, c[i].res.slot, &st);
            sl_check(st.tgid == 0 && st.key == keys[i]
                     && st.total_ns >= c[i].res.t1,
                     "%s: %s worker exited: slot %d free, key %u and"
                     " total kept", label, names[i], c[i].res.slot,
                     st.key);
        }
    }
}


/* a SIGKILLed worker's successor continues its slot and totals */

static void
sl_respawn(infer_schedlat_t *sl)
{
    int                     rc, status;
    uint64_t                total;
    sl_child_t              a, b;
    infer_schedlat_stats_t  st;

    sl_spawn(sl, &a, 7, 0, 0, 0.3);
    rc = sl_collect(&a);
    sl_check(rc == 0 && a.res.slot >= 0,
             "respawn: worker 7 claimed slot %d", a.res.slot);

    if (a.res.slot < 0) {
        sl_reap(&a);
        return;
    }

    kill(a.pid, SIGKILL);
    waitpid(a.pid, &status, 0);
    close(a.done[0]);

    infer_schedlat_read(sl, a.res.slot, &st);
    total = st.total_ns;

    sl_check(st.tgid == 0 && st.key == 7 && total >= a.res.t1,
             "respawn: SIGKILLed worker's slot freed by the exit hook,"
             " %.3f ms kept", total / 1e6);

    sl_spawn(sl, &b, 7, 0, 0, 0.3);
    rc = sl_collect(&b);
    sl_check(rc == 0 && b.res.slot == a.res.slot,
             "respawn: its successor took slot %d (want %d)",
             b.res.slot, a.res.slot);

    infer_schedlat_read(sl, a.res.slot, &st);
    sl_check(st.tgid == b.res.pid && st.gen == 2 && b.res.t0 >= total
             && st.total_ns >= b.res.t1,
             "respawn: gen %u, total went on from %.3f ms to %.3f ms",
             st.gen, b.res.t0 / 1e6, st.total_ns / 1e6);

    sl_reap(&b);
}


static void
sl_probe(void)
{
    int                    rc;
    infer_schedlat_t      *sl;
    infer_schedlat_opts_t  opts;

    memset(&opts, 0, sizeof(infer_schedlat_opts_t));
    opts.log = sl_log;

    rc = infer_schedlat_open(&sl, &opts);
    sl_check(rc == 0, "tp_btf: open: %d %s", rc, strerror(-rc));

    if (rc == 0) {
        sl_check(strcmp(infer_schedlat_attach_type(sl), "tp_btf") == 0,
                 "tp_btf: attached as %s", infer_schedlat_attach_type(sl));

        sl_pair(sl, 2.0, "tp_btf");
        sl_respawn(sl);

        sl_check(infer_schedlat_lost(sl) == 0, "tp_btf: no enqueue lost");
        infer_schedlat_close(sl);
    }

    opts.raw_tp = 1;

    rc = infer_schedlat_open(&sl, &opts);
    sl_check(rc == 0, "raw_tp: open: %d %s", rc, strerror(-rc));

    if (rc == 0) {
        sl_check(strcmp(infer_schedlat_attach_type(sl), "raw_tp") == 0,
                 "raw_tp: attached as %s", infer_schedlat_attach_type(sl));

        sl_pair(sl, 2.0, "raw_tp");
        infer_schedlat_close(sl);
    }

    opts.raw_tp = 0;
    opts.btf_path = "/nonexistent/vmlinux";
    sl_first_warning[0] = '\0';
    sl_warnings[0] = '\0';

    rc = infer_schedlat_open(&sl, &opts);
    sl_check(rc == -ENOENT && sl == NULL,
             "no BTF: open fails cleanly: %d %s", rc, strerror(-rc));
    printf("no BTF: libbpf's first warning: \"%s\"\n", sl_first_warning);
    sl_check(strstr(sl_warnings, "failed to parse target BTF: -2") != NULL,
             "no BTF: libbpf's warnings name the cause");
}


static void
sl_fallback(void)
{
    int                    rc;
    infer_schedlat_t      *sl;
    infer_schedlat_opts_t  opts;

    memset(&opts, 0, sizeof(infer_schedlat_opts_t));
    opts.log = sl_log;

    rc = infer_schedlat_open(&sl, &opts);
    sl_check(rc == -EPERM && sl == NULL,
             "no CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN: open fails cleanly:"
             " %d %s", rc, strerror(-rc));
    printf("schedstat: libbpf's first warning: \"%s\"\n", sl_first_warning);
    sl_check(strstr(sl_warnings, "Operation not permitted") != NULL,
             "schedstat: libbpf's warnings name the cause");

    sl_pair(NULL, 2.0, "schedstat");
}


/* ns per round trip of a byte between two processes on one cpu */

static double
sl_pingpong(infer_schedlat_t *sl, int watch, long rounds)
{
    int        a[2], b[2], status;
    char       ch;
    long       i;
    pid_t      pid;
    uint64_t   t0, t1;
    cpu_set_t  all;

    sched_getaffinity(0, sizeof(cpu_set_t), &all);

    if (pipe(a) != 0 || pipe(b) != 0) {
        return 0;
    }

    ch = 'x';
    pid = fork();

    if (pid == 0) {
        close(a[1]);
        close(b[0]);
        sl_pin(sl_ncpu - 1);

        if (watch) {
            infer_schedlat_watch(sl, getpid(), 101);
        }

        while (read(a[0], &ch, 1) == 1) {
            if (write(b[1], &ch, 1) != 1) {
                break;
            }
        }

        _exit(0);
    }

    close(a[0]);
    close(b[1]);
    sl_pin(sl_ncpu - 1);

    if (watch) {
        infer_schedlat_watch(sl, getpid(), 100);
    }

    t0 = 0;

    for (i = -rounds / 10; i < rounds; i++) {
        if (i == 0) {
            t0 = sl_now();
        }

        if (write(a[1], &ch, 1) != 1 || read(b[0], &ch, 1) != 1) {
            break;
        }
    }

    t1 = sl_now();

    close(a[1]);
    waitpid(pid, &status, 0);
    close(b[0]);

    if (watch) {
        infer_schedlat_unwatch(sl, getpid());
    }

    sched_setaffinity(0, sizeof(cpu_set_t), &all);

    return (double) (t1 - t0) / rounds;
}


static void
sl_bench(void)
{
#if (INFER_SCHEDLAT_BPF)
    int                    rc, fd, slot, rep, stats, k;
    long                   i, n, rounds;
    double                 x, best[3], cost[3];
    uint64_t               t0, runs0, ns0, runs1, ns1;
    infer_schedlat_t      *sl;
    volatile uint64_t      sink;
    infer_schedstat_t      ss;
    infer_schedlat_opts_t  opts;

    memset(&opts, 0, sizeof(infer_schedlat_opts_t));

    rc = infer_schedlat_open(&sl, &opts);
    if (rc != 0) {
        printf("bench: open: %d %s\n", rc, strerror(-rc));
        return;
    }

    /* the per-request read: a load from shared memory, or a pread */

    slot = infer_schedlat_watch(sl, getpid(), 200);
    n = 20000000;
    t0 = sl_now();

    for (i = 0; i < n; i++) {
        sink = infer_schedlat_total_ns(sl, slot);
    }

    x = (double) (sl_now() - t0) / n;
    (void) sink;
    printf("bench: per-request read, probe (shared memory): %.2f ns\n", x);

    fd = infer_schedstat_open(0);
    n = 200000;
    t0 = sl_now();

    for (i = 0; i < n; i++) {
        infer_schedstat_read(fd, &ss);
    }

    x = (double) (sl_now() - t0) / n;
    close(fd);
    printf("bench: per-request read, schedstat (pread): %.0f ns\n", x);

    infer_schedlat_unwatch(sl, getpid());
    infer_schedlat_close(sl);

    /*
     * context switches: no probe; the probe watching the pair (a few
     * workers); the probe watching the pair and 62 others (every slot
     * taken: the longest scan)
     */

    rounds = 200000;

    for (k = 0; k < 3; k++) {
        best[k] = 1e30;
        cost[k] = 1e30;
    }

    for (rep = 0; rep < 5; rep++) {
        x = sl_pingpong(NULL, 0, rounds);
        best[0] = x < best[0] ? x : best[0];

        for (k = 1; k < 3; k++) {
            if (infer_schedlat_open(&sl, &opts) != 0) {
                return;
            }

            for (i = 0; k == 2 && i < INFER_SL_NSLOTS - 2; i++) {
                infer_schedlat_watch(sl, 4000000 + i, 1000 + i);
            }

            stats = bpf_enable_stats(BPF_STATS_RUN_TIME);
            infer_schedlat_cost(sl, &runs0, &ns0);

            x = sl_pingpong(sl, 1, rounds);
            best[k] = x < best[k] ? x : best[k];

            infer_schedlat_cost(sl, &runs1, &ns1);

            if (stats >= 0 && runs1 > runs0) {
                close(stats);
                x = (double) (ns1 - ns0) / (runs1 - runs0);
                cost[k] = x < cost[k] ? x : cost[k];
            }

            infer_schedlat_close(sl);
        }
    }

    printf("bench: pipe round trip between two processes on one cpu"
           " (2 switches, 2 wakeups), best of 5:\n"
           "bench:   no probe             %6.0f ns\n"
           "bench:   probe, 2 slots used  %6.0f ns (%+.1f%%),"
           " %.0f ns a probe run\n"
           "bench:   probe, 64 slots used %6.0f ns (%+.1f%%),"
           " %.0f ns a probe run\n",
           best[0], best[1], 100 * (best[1] - best[0]) / best[0], cost[1],
           best[2], 100 * (best[2] - best[0]) / best[0], cost[2]);

#else
    printf("bench: built without INFER_SCHEDLAT_BPF\n");
#endif
}


int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    sl_ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    if (sl_ncpu < 2) {
        printf("schedlat: needs two cpus, has %d\n", sl_ncpu);
        return 1;
    }

    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        sl_bench();
        return 0;
    }

    if (sl_has_caps()) {
        sl_probe();

    } else {
        sl_fallback();
    }

    printf("schedlat: %d passed, %d failed\n", sl_passed, sl_failed);

    return sl_failed ? 1 : 0;
}
