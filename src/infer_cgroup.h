/*
 * CPU throttling of nginx's own cgroup (v2): nr_periods, nr_throttled and
 * throttled_usec from <cgroup>/cpu.stat, the usual cause of run-queue
 * delay under a CPU limit (a Kubernetes "limits: cpu").  The cgroup is
 * the "0::" line of /proc/self/cgroup, under /sys/fs/cgroup.
 *
 * Functions return 0 (or an fd) on success and -errno on failure; none
 * prints or logs.
 */

#ifndef INFER_CGROUP_H
#define INFER_CGROUP_H


#include <stddef.h>
#include <stdint.h>


#define INFER_CGROUP_ROOT  "/sys/fs/cgroup"


typedef struct {
    uint64_t   nr_periods;        /* enforcement periods elapsed */
    uint64_t   nr_throttled;      /* periods in which it was throttled */
    uint64_t   throttled_usec;    /* time throttled, usec */
    unsigned   throttling:1;      /* the fields above were present (a
                                     cgroup with the cpu controller) */
} infer_cgroup_cpu_t;


/*
 * The cpu.stat path of the cgroup v2 named in buf (the contents of
 * /proc/<pid>/cgroup): -ENOENT when there is no "0::" line (cgroup v1
 * only), -ENAMETOOLONG when path is too small.
 */
int infer_cgroup_path(const char *buf, size_t len, const char *root,
    char *path, size_t size);

/* "key value\n" lines; unknown keys are skipped */
int infer_cgroup_cpu_parse(const char *buf, size_t len,
    infer_cgroup_cpu_t *st);

/* opens this process's cpu.stat, once; then one pread() a read */
int infer_cgroup_cpu_open(void);
int infer_cgroup_cpu_read(int fd, infer_cgroup_cpu_t *st);


#endif /* INFER_CGROUP_H */
