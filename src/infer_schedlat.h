/*
 * The scheduler-delay probe: how long each watched process waited on a
 * run queue (runnable, but not running), from a libbpf CO-RE program on
 * sched_wakeup, sched_wakeup_new and sched_switch; and the fallback, the
 * kernel's own per-task figure in /proc/<pid>/schedstat.
 *
 * The privileged nginx master opens the probe before forking.  Workers
 * then call infer_schedlat_watch() and read their counters as plain
 * memory shared with the kernel (see infer_schedlat_abi.h): no bpf() call,
 * so they need no capability.  A worker closing its copy frees its own
 * memory and descriptors only: the master's keep the probe attached.
 *
 * Every function here returns 0 or a slot on success and -errno on
 * failure (not the INFER_* codes); none prints or logs.
 */

#ifndef INFER_SCHEDLAT_H
#define INFER_SCHEDLAT_H


#include <stddef.h>
#include <stdint.h>

#include "infer_schedlat_abi.h"


#define INFER_SCHEDLAT_WARN    0             /* libbpf's levels */
#define INFER_SCHEDLAT_INFO    1
#define INFER_SCHEDLAT_DEBUG   2


typedef struct infer_schedlat_s  infer_schedlat_t;

/* msg has no final newline */
typedef void (*infer_schedlat_log_pt)(void *ctx, int level, const char *msg);


typedef struct {
    infer_schedlat_log_pt   log;             /* libbpf's messages, or NULL */
    void                   *log_ctx;
    const char             *btf_path;        /* NULL: /sys/kernel/btf/vmlinux */
    unsigned                raw_tp:1;        /* do not try tp_btf first */
} infer_schedlat_opts_t;


typedef struct {
    uint32_t                tgid;            /* 0: free, its process exited */
    uint32_t                key;
    uint32_t                gen;             /* claims of this slot so far */
    uint64_t                count;           /* run-queue waits */
    uint64_t                total_ns;        /* their sum */
    uint64_t                hist[INFER_SL_NBUCKETS];  /* see the abi */
} infer_schedlat_stats_t;


typedef struct {
    uint64_t                cpu_ns;          /* time spent on a cpu */
    uint64_t                run_delay_ns;    /* time spent on a run queue */
    uint64_t                timeslices;      /* times it ran */
} infer_schedstat_t;


/*
 * Loads and attaches the probe.  -EPERM: no CAP_BPF and CAP_PERFMON (or
 * CAP_SYS_ADMIN); -ENOENT, -ESRCH: no BTF; -EOPNOTSUPP: built without
 * libbpf (INFER_SCHEDLAT_BPF undefined).  libbpf's messages go to
 * opts->log while the call runs.
 */
int infer_schedlat_open(infer_schedlat_t **slp,
    const infer_schedlat_opts_t *opts);

/* slots in caller memory, no probe: for tests */
int infer_schedlat_wrap(infer_schedlat_t **slp, struct infer_sl_shared *sh);

/*
 * Slots in anonymous shared memory, no probe: the schedstat fallback,
 * whose workers store their own totals (infer_schedlat_store())
 */
int infer_schedlat_anon(infer_schedlat_t **slp);

/* in the master: detaches; in a worker: frees the worker's copy only */
void infer_schedlat_close(infer_schedlat_t *sl);

/* "tp_btf" or "raw_tp"; "none" for a wrapped one */
const char *infer_schedlat_attach_type(infer_schedlat_t *sl);

/*
 * Claims a slot for tgid, writing shared memory only (no syscall), and
 * returns it: the slot tgid already has; else a free slot of the same key,
 * whose counters go on growing (a respawned worker continues its
 * predecessor's totals); else a never used one; else any free one, its
 * counters zeroed.  -ENOSPC: all INFER_SL_NSLOTS are taken.
 */
int infer_schedlat_watch(infer_schedlat_t *sl, uint32_t tgid, uint32_t key);

/* frees the slot, keeping its key and counters; the probe does it on exit */
int infer_schedlat_unwatch(infer_schedlat_t *sl, uint32_t tgid);

/* the slot of tgid, or -ENOENT */
int infer_schedlat_find(infer_schedlat_t *sl, uint32_t tgid);

/* slots [0, nslots) may have been used: what a reader iterates over */
unsigned infer_schedlat_nslots(infer_schedlat_t *sl);

int infer_schedlat_read(infer_schedlat_t *sl, unsigned slot,
    infer_schedlat_stats_t *st);

/* one load: the per-request figure is the difference of two of them */
uint64_t infer_schedlat_total_ns(infer_schedlat_t *sl, unsigned slot);

/* the slot's owner, for a source other than the probe */
void infer_schedlat_store(infer_schedlat_t *sl, unsigned slot,
    uint64_t count, uint64_t total_ns);

/*
 * The slots summed by key (the worker number: a respawned or reloaded
 * worker's predecessors included), in key order, at most n (the first
 * keys seen); tgid is a live owner's, or 0.  Returns how many were
 * written.
 */
size_t infer_schedlat_by_key(infer_schedlat_t *sl,
    infer_schedlat_stats_t *out, size_t n);

/* enqueues the probe lost because its hash map was full */
uint64_t infer_schedlat_lost(infer_schedlat_t *sl);

/*
 * The probe's own cost: runs and ns summed over its programs.  A bpf()
 * call, so the master's; the kernel counts only while run-time stats are
 * on (sysctl kernel.bpf_stats_enabled, or a BPF_ENABLE_STATS fd).
 */
int infer_schedlat_cost(infer_schedlat_t *sl, uint64_t *runs, uint64_t *ns);


/*
 * The fallback: /proc/<pid>/schedstat, pid 0 for the calling process.
 * It is the main thread's figure (a worker's event loop), where the probe
 * adds up all the threads of a process.  Open once, then each read is one
 * pread().
 */
int infer_schedstat_open(uint32_t pid);
int infer_schedstat_read(int fd, infer_schedstat_t *ss);
int infer_schedstat_parse(const char *buf, size_t len, infer_schedstat_t *ss);


#endif /* INFER_SCHEDLAT_H */
