/*
 * The scheduler-delay probe attached to a running process from outside,
 * for bench/run.sh's predict_probe case: the same BPF programs and the
 * same watch the nginx master sets up with "infer_sched_probe on", around
 * a worker that was started with it off.  One nginx worker, measured with
 * and without the probe in turns, is a fair A/B: two nginx instances of
 * the same configuration differ by more than the probe costs.
 *
 *   sched_attach PID     prints "attached tp_btf|raw_tp" once watching,
 *                        then detaches on SIGTERM or SIGINT and prints
 *                        the waits it counted.
 *
 * Root (CAP_BPF and CAP_PERFMON) and kernel BTF; build: make bench.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infer_schedlat.h"


static volatile sig_atomic_t  stop;


static void
on_signal(int signo)
{
    (void) signo;
    stop = 1;
}


int
main(int argc, char **argv)
{
    int                     rc, slot;
    long                    pid;
    infer_schedlat_t       *sl;
    infer_schedlat_stats_t  st;
    infer_schedlat_opts_t   opts;

    if (argc != 2 || (pid = strtol(argv[1], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: %s PID\n", argv[0]);
        return 2;
    }

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    memset(&opts, 0, sizeof(opts));

    rc = infer_schedlat_open(&sl, &opts);
    if (rc != 0) {
        fprintf(stderr, "sched_attach: the probe: %s\n", strerror(-rc));
        return 1;
    }

    slot = infer_schedlat_watch(sl, (uint32_t) pid, 0);
    if (slot < 0) {
        fprintf(stderr, "sched_attach: watch %ld: %s\n", pid,
                strerror(-slot));
        infer_schedlat_close(sl);
        return 1;
    }

    printf("attached %s\n", infer_schedlat_attach_type(sl));
    fflush(stdout);

    while (!stop) {
        pause();
    }

    (void) infer_schedlat_read(sl, (unsigned) slot, &st);
    printf("detached: %llu waits, %.3f ms\n", (unsigned long long) st.count,
           st.total_ns / 1e6);

    infer_schedlat_close(sl);

    return 0;
}
