/*
 * CPU throttling of nginx's own cgroup, v1 or v2: nr_periods, nr_throttled
 * and the time throttled from <cgroup>/cpu.stat, and the CPU limit
 * (quota / period), the usual cause of run-queue delay under a Kubernetes
 * "limits: cpu".
 *
 *   v2: cpu.stat "throttled_usec" (usec); cpu.max "max 100000" or
 *       "20000 100000".  The cgroup is the "0::" line of /proc/self/cgroup.
 *   v1: cpu.stat "throttled_time" (ns); cpu.cfs_quota_us ("-1": none),
 *       cpu.cfs_period_us.  The cgroup is the line of /proc/self/cgroup
 *       whose controllers include "cpu".
 *
 * Where each hierarchy is mounted comes from /proc/self/mountinfo (v2: the
 * "cgroup2" mount; v1: the "cgroup" mount whose super options include
 * "cpu"), not from a fixed /sys/fs/cgroup: hybrid systems put v2 under
 * /sys/fs/cgroup/unified, containers mount a subtree at their root.  On a
 * hybrid system both are tried, and the one with a quota is kept (the cpu
 * controller is attached to one hierarchy only).
 *
 * Functions return 0 (or an fd) on success and -errno on failure; none
 * prints or logs.
 */

#ifndef INFER_CGROUP_H
#define INFER_CGROUP_H


#include <stddef.h>
#include <stdint.h>


#define INFER_CGROUP_V1  1
#define INFER_CGROUP_V2  2


typedef struct {
    uint64_t   nr_periods;        /* enforcement periods elapsed */
    uint64_t   nr_throttled;      /* periods in which it was throttled */
    uint64_t   throttled_ns;      /* time throttled, ns */
    uint64_t   quota_us;          /* CPU time allowed per period, usec */
    uint64_t   period_us;
    unsigned   version:2;         /* INFER_CGROUP_V1, _V2; 0 unknown */
    unsigned   throttling:1;      /* the first three were present (a
                                     cgroup with the cpu controller) */
    unsigned   quota:1;           /* quota_us and period_us: a limit */
} infer_cgroup_cpu_t;


/* the files a worker opens once and reads at each scrape */
typedef struct {
    int        stat;              /* cpu.stat */
    int        quota;             /* v2 cpu.max, v1 cpu.cfs_quota_us;
                                     -1: none */
    int        period;            /* v1 cpu.cfs_period_us; -1 on v2 */
    unsigned   version;           /* 0: nothing open */
} infer_cgroup_t;


/*
 * The directory of the process's cgroup in one hierarchy (version), from
 * the contents of /proc/<pid>/cgroup and /proc/<pid>/mountinfo: -ENOENT
 * when the process is in none, or the hierarchy is not mounted where the
 * process can see its cgroup; -ENAMETOOLONG when dir is too small.
 */
int infer_cgroup_find(const char *cgroup, size_t clen, const char *mountinfo,
    size_t mlen, unsigned version, char *dir, size_t size);

/*
 * cpu.stat of either version, "key value\n" lines; unknown keys are
 * skipped.  Zeroes *st first (the quota too).
 */
int infer_cgroup_cpu_parse(const char *buf, size_t len,
    infer_cgroup_cpu_t *st);

/* the limit into st->quota_us, period_us and quota: v2's cpu.max */
int infer_cgroup_max_parse(const char *buf, size_t len,
    infer_cgroup_cpu_t *st);

/* v1's cpu.cfs_quota_us and cpu.cfs_period_us */
int infer_cgroup_quota_parse(const char *quota, size_t qlen,
    const char *period, size_t plen, infer_cgroup_cpu_t *st);

/*
 * Opens the files of this process's cgroup (infer_cgroup_open_from() with
 * /proc/self/cgroup and /proc/self/mountinfo); cg->version stays 0 on
 * failure.  Then one pread() a file a read; a quota that cannot be read
 * is no quota.
 */
int infer_cgroup_open(infer_cgroup_t *cg);
int infer_cgroup_open_from(infer_cgroup_t *cg, const char *cgroup,
    size_t clen, const char *mountinfo, size_t mlen);
int infer_cgroup_read(const infer_cgroup_t *cg, infer_cgroup_cpu_t *st);
void infer_cgroup_close(infer_cgroup_t *cg);


#endif /* INFER_CGROUP_H */
