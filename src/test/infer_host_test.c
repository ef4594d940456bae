/*
 * What /metrics shows beside the block: the probe's slots summed by worker
 * number, their rendering (log2 buckets, the schedstat source without a
 * histogram, probe off), and the cgroup's CPU throttling: v1 and v2
 * cpu.stat and limits, finding the cgroup from /proc/self/cgroup and
 * mountinfo fixtures (v1, v2, hybrid, containers), and opening it in
 * directories made to look like cgroupfs (hybrid, missing files).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer_prom.h"
#include "infer_unit_test.h"


static void test_by_key(void);
static void test_render(void);
static void test_cgroup(void);
static void test_cgroup_find(void);
static void test_cgroup_open(void);
static void put(const char *dir, const char *name, const char *text);
static char *host_render(const infer_prom_host_t *host, int om);


void
infer_test_host(void)
{
    test_by_key();
    test_render();
    test_cgroup();
    test_cgroup_find();
    test_cgroup_open();
}


static void
test_by_key(void)
{
    size_t                   n;
    infer_schedlat_t        *sl;
    infer_schedlat_stats_t   out[4];
    struct infer_sl_shared  *sh;

    sh = calloc(1, sizeof(struct infer_sl_shared));
    CHECK(infer_schedlat_wrap(&sl, sh) == 0);

    /* worker 1 and worker 0, then worker 0 reloaded beside the old one */

    CHECK(infer_schedlat_watch(sl, 100, 1) == 0);
    CHECK(infer_schedlat_watch(sl, 200, 0) == 1);
    CHECK(infer_schedlat_watch(sl, 300, 0) == 2);

    sh->slot[0].count = 1;
    sh->slot[0].total_ns = 10;
    sh->slot[1].count = 2;
    sh->slot[1].total_ns = 20;
    sh->slot[1].hist[3] = 2;
    sh->slot[2].count = 3;
    sh->slot[2].total_ns = 30;
    sh->slot[2].hist[3] = 1;

    CHECK(infer_schedlat_unwatch(sl, 200) == 1);     /* the old one exits */

    n = infer_schedlat_by_key(sl, out, 4);
    CHECK(n == 2);
    CHECK(out[0].key == 0 && out[0].count == 5 && out[0].total_ns == 50
          && out[0].hist[3] == 3 && out[0].tgid == 300);
    CHECK(out[1].key == 1 && out[1].count == 1 && out[1].tgid == 100);

    CHECK(infer_schedlat_by_key(sl, out, 1) == 1);
    CHECK(out[0].key == 1);                        /* the first seen */

    /* the schedstat fallback: the owner stores its totals */

    infer_schedlat_store(sl, 0, 7, 70);
    n = infer_schedlat_by_key(sl, out, 4);
    CHECK(n == 2 && out[1].count == 7 && out[1].total_ns == 70);

    infer_schedlat_close(sl);
    free(sh);

    /* anonymous shared memory, inherited by a fork */

    CHECK(infer_schedlat_anon(&sl) == 0);
    CHECK(infer_schedlat_watch(sl, 400, 3) == 0);
    CHECK(infer_schedlat_nslots(sl) == 1);
    infer_schedlat_close(sl);
}


static void
test_render(void)
{
    char                    *text;
    infer_prom_host_t        host;
    infer_schedlat_stats_t   w[2];

    memset(w, 0, sizeof(w));
    w[0].key = 0;
    w[0].count = 3;
    w[0].total_ns = 1500000;
    w[0].hist[0] = 1;                        /* under 2 usec */
    w[0].hist[9] = 2;                        /* [512, 1024) usec */
    w[1].key = 2;
    w[1].total_ns = 2000000000;
    w[1].hist[31] = 1;

    memset(&host, 0, sizeof(infer_prom_host_t));
    host.source = INFER_PROBE_BPF;
    host.hist = 1;
    host.workers = w;
    host.nworkers = 2;

    text = host_render(&host, 0);
    CHECK(strstr(text,
          "# TYPE nginx_infer_sched_delay_seconds histogram\n"
          "nginx_infer_sched_delay_seconds_bucket{worker=\"0\","
          "le=\"2e-06\"} 1\n"
          "nginx_infer_sched_delay_seconds_bucket{worker=\"0\","
          "le=\"4e-06\"} 1\n") != NULL);
    CHECK(strstr(text,
          "nginx_infer_sched_delay_seconds_bucket{worker=\"0\","
          "le=\"0.000512\"} 1\n"
          "nginx_infer_sched_delay_seconds_bucket{worker=\"0\","
          "le=\"0.001024\"} 3\n") != NULL);
    CHECK(strstr(text,
          "nginx_infer_sched_delay_seconds_bucket{worker=\"0\","
          "le=\"+Inf\"} 3\n"
          "nginx_infer_sched_delay_seconds_sum{worker=\"0\"} 0.0015\n"
          "nginx_infer_sched_delay_seconds_count{worker=\"0\"} 3\n") != NULL);
    CHECK(strstr(text,
          "nginx_infer_sched_delay_seconds_bucket{worker=\"2\","
          "le=\"2147.483648\"} 0\n"
          "nginx_infer_sched_delay_seconds_bucket{worker=\"2\","
          "le=\"+Inf\"} 1\n") != NULL);
    CHECK(strstr(text,
          "# TYPE nginx_infer_sched_wait_seconds_total counter\n"
          "nginx_infer_sched_wait_seconds_total{worker=\"0\"} 0.0015\n"
          "nginx_infer_sched_wait_seconds_total{worker=\"2\"} 2\n") != NULL);
    CHECK(strstr(text,
          "# TYPE nginx_infer_sched_probe_source gauge\n"
          "nginx_infer_sched_probe_source{source=\"none\"} 0\n"
          "nginx_infer_sched_probe_source{source=\"bpf\"} 1\n"
          "nginx_infer_sched_probe_source{source=\"schedstat\"} 0\n")
          != NULL);
    CHECK(strstr(text, "cpu_throttled") == NULL);
    free(text);

    /* schedstat: totals only; and the cgroup's throttling */

    host.source = INFER_PROBE_SCHEDSTAT;
    host.hist = 0;
    host.cpu = 1;
    host.cpu_stat.throttling = 1;
    host.cpu_stat.nr_periods = 100;
    host.cpu_stat.nr_throttled = 7;
    host.cpu_stat.throttled_ns = 250000000;

    text = host_render(&host, 0);
    CHECK(strstr(text, "sched_delay_seconds") == NULL);
    CHECK(strstr(text, "nginx_infer_sched_wait_seconds_total{worker=\"2\"} 2\n")
          != NULL);
    CHECK(strstr(text, "{source=\"schedstat\"} 1\n") != NULL);
    CHECK(strstr(text,
          "# TYPE nginx_infer_cpu_periods_total counter\n"
          "nginx_infer_cpu_periods_total 100\n") != NULL);
    CHECK(strstr(text, "nginx_infer_cpu_throttled_periods_total 7\n")
          != NULL);
    CHECK(strstr(text, "nginx_infer_cpu_throttled_seconds_total 0.25\n")
          != NULL);
    CHECK(strstr(text, "cpu_quota_cores") == NULL);       /* no limit */
    free(text);

    /* a limit: 20 ms each 100 ms */

    host.cpu_stat.quota = 1;
    host.cpu_stat.quota_us = 20000;
    host.cpu_stat.period_us = 100000;

    text = host_render(&host, 0);
    CHECK(strstr(text,
          "# TYPE nginx_infer_cpu_quota_cores gauge\n"
          "nginx_infer_cpu_quota_cores 0.2\n") != NULL);
    free(text);

    /* OpenMetrics: the unit, the _total cut from the family name */

    text = host_render(&host, 1);
    CHECK(strstr(text, "# TYPE nginx_infer_cpu_throttled_seconds counter\n"
                       "# UNIT nginx_infer_cpu_throttled_seconds seconds\n")
          != NULL);
    CHECK(strstr(text, "nginx_infer_cpu_throttled_seconds_total 0.25\n")
          != NULL);
    free(text);

    /* off: the source alone, "none" */

    memset(&host, 0, sizeof(infer_prom_host_t));
    text = host_render(&host, 0);
    CHECK(strstr(text, "sched_wait") == NULL);
    CHECK(strstr(text, "{source=\"none\"} 1\n") != NULL);
    free(text);
}


static void
test_cgroup(void)
{
    infer_cgroup_cpu_t  st;

#define STAT(s)  infer_cgroup_cpu_parse(s, sizeof(s) - 1, &st)

    /* v2: throttled_usec */

    CHECK(STAT("usage_usec 10\nuser_usec 6\nsystem_usec 4\n"
               "nr_periods 120\nnr_throttled 11\nthrottled_usec 5300\n"
               "nr_bursts 0\nburst_usec 0\n") == 0);
    CHECK(st.throttling && st.nr_periods == 120 && st.nr_throttled == 11
          && st.throttled_ns == 5300000 && !st.quota);

    /* v1: throttled_time in ns */

    CHECK(STAT("nr_periods 5028\nnr_throttled 4791\n"
               "throttled_time 389453064231\nnr_bursts 0\nburst_time 0\n")
          == 0);
    CHECK(st.throttling && st.nr_periods == 5028 && st.nr_throttled == 4791
          && st.throttled_ns == 389453064231ULL);

    /* the root cgroup, or no cpu controller: usage only */

    CHECK(STAT("usage_usec 10\nuser_usec 6\nsystem_usec 4\n") == 0);
    CHECK(!st.throttling);

    CHECK(STAT("nr_throttled x\n") == -EINVAL);
    CHECK(STAT("nr_throttled\n") == -EINVAL);
    CHECK(STAT("nr_throttled 1 2\n") == -EINVAL);

    /* v2 cpu.max */

#define CPUMAX(s)  infer_cgroup_max_parse(s, sizeof(s) - 1, &st)

    CHECK(CPUMAX("20000 100000\n") == 0);
    CHECK(st.quota && st.quota_us == 20000 && st.period_us == 100000);
    CHECK(CPUMAX("max 100000\n") == 0);
    CHECK(!st.quota && st.period_us == 100000);
    CHECK(CPUMAX("150000 100000") == 0);
    CHECK(st.quota && st.quota_us == 150000);
    CHECK(CPUMAX("20000\n") == -EINVAL && !st.quota);
    CHECK(CPUMAX("20000 0\n") == -EINVAL);
    CHECK(CPUMAX("max\n") == -EINVAL);
    CHECK(CPUMAX("-1 100000\n") == -EINVAL);
    CHECK(CPUMAX("") == -EINVAL);

    /* v1 cpu.cfs_quota_us and cpu.cfs_period_us */

#define QUOTA(q, p)  infer_cgroup_quota_parse(q, sizeof(q) - 1, p,            \
                                              sizeof(p) - 1, &st)

    CHECK(QUOTA("20000\n", "100000\n") == 0);
    CHECK(st.quota && st.quota_us == 20000 && st.period_us == 100000);
    CHECK(QUOTA("-1\n", "100000\n") == 0);
    CHECK(!st.quota);
    CHECK(QUOTA("x\n", "100000\n") == -EINVAL && !st.quota);
    CHECK(QUOTA("20000\n", "0\n") == -EINVAL);
    CHECK(QUOTA("20000\n", "") == -EINVAL);
    CHECK(QUOTA("", "100000\n") == -EINVAL);
    CHECK(QUOTA("-\n", "100000\n") == -EINVAL);

#undef STAT
#undef CPUMAX
#undef QUOTA
}


/* mountinfo lines as the kernel writes them */

#define MI_V1_CPU                                                            \
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
#define MI_V1_CPUACCT                                                        \
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup "      \
    "rw,cpuacct\n"
#define MI_V1_CPUSET                                                         \
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup "       \
    "rw,cpuset\n"
#define MI_V1_SYSTEMD                                                        \
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "      \
    "rw,xattr,name=systemd\n"
#define MI_UNIFIED                                                           \
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
#define MI_V2                                                                \
    "28 22 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 " \
    "- cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
#define MI_ROOT                                                              \
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"


static void
test_cgroup_find(void)
{
    char  dir[128];

#define FIND(c, m, v)  infer_cgroup_find(c, sizeof(c) - 1, m, sizeof(m) - 1, \
                                         v, dir, sizeof(dir))

    /* v1 as here: the "cpu" mount, not cpuacct's or cpuset's */

    CHECK(FIND("9:name=systemd:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/infer\n"
               "0::/\n",
               MI_ROOT MI_V1_CPUACCT MI_V1_CPUSET MI_V1_CPU MI_V1_SYSTEMD
               MI_UNIFIED, INFER_CGROUP_V1) == 0);
    CHECK_STR(dir, "/sys/fs/cgroup/cpu/infer");

    /* and its hybrid v2 tree, under unified/ */

    CHECK(FIND("1:cpu:/infer\n0::/\n",
               MI_ROOT MI_V1_CPU MI_UNIFIED, INFER_CGROUP_V2) == 0);
    CHECK_STR(dir, "/sys/fs/cgroup/unified");

    /* systemd's hybrid: cpu and cpuacct together, optional fields */

    CHECK(FIND("4:cpu,cpuacct:/system.slice/nginx.service\n"
               "0::/system.slice/nginx.service\n",
               "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct "
               "rw,nosuid,nodev,noexec,relatime shared:12 master:3 - "
               "cgroup cgroup rw,cpu,cpuacct\n", INFER_CGROUP_V1) == 0);
    CHECK_STR(dir, "/sys/fs/cgroup/cpu,cpuacct/system.slice/nginx.service");

    /* pure v2 */

    CHECK(FIND("0::/system.slice/nginx.service\n", MI_ROOT MI_V2,
               INFER_CGROUP_V2) == 0);
    CHECK_STR(dir, "/sys/fs/cgroup/system.slice/nginx.service");
    CHECK(FIND("0::/\n", MI_V2, INFER_CGROUP_V2) == 0);
    CHECK_STR(dir, "/sys/fs/cgroup");
    CHECK(FIND("0::/x\n", MI_V2, INFER_CGROUP_V1) == -ENOENT);
    CHECK(FIND("0::/x\n", MI_ROOT MI_V1_CPU, INFER_CGROUP_V2) == -ENOENT);

    /* a v1 container without a cgroup namespace: its cgroup is the root */

    CHECK(FIND("5:cpu,cpuacct:/docker/abc\n",
               "700 690 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct "
               "ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n",
               INFER_CGROUP_V1) == 0);
    CHECK_STR(dir, "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(FIND("5:cpu:/docker/abc/sub\n",
               "7 6 0:29 /docker/abc /c ro - cgroup cgroup rw,cpu\n",
               INFER_CGROUP_V1) == 0);
    CHECK_STR(dir, "/c/sub");

    /* a mount of another subtree, or of a prefix that is no parent */

    CHECK(FIND("5:cpu:/docker/abc\n",
               "7 6 0:29 /docker/other /c ro - cgroup cgroup rw,cpu\n",
               INFER_CGROUP_V1) == -ENOENT);
    CHECK(FIND("5:cpu:/docker/abc\n",
               "7 6 0:29 /docker/ab /c ro - cgroup cgroup rw,cpu\n",
               INFER_CGROUP_V1) == -ENOENT);

    /* the second mount holds it */

    CHECK(FIND("5:cpu:/docker/abc\n",
               "7 6 0:29 /docker/other /c ro - cgroup cgroup rw,cpu\n"
               "8 6 0:29 / /d rw - cgroup cgroup rw,cpu\n",
               INFER_CGROUP_V1) == 0);
    CHECK_STR(dir, "/d/docker/abc");

    /* a mount point with a space, escaped */

    CHECK(FIND("0::/a b\n",
               "9 1 0:24 / /mnt/my\\040cg rw - cgroup2 none rw\n",
               INFER_CGROUP_V2) == 0);
    CHECK_STR(dir, "/mnt/my cg/a b");

    /* missing or broken files */

    CHECK(FIND("", MI_V2, INFER_CGROUP_V2) == -ENOENT);
    CHECK(FIND("0::/\n", "", INFER_CGROUP_V2) == -ENOENT);
    CHECK(FIND("1:cpu:/a\n", MI_UNIFIED, INFER_CGROUP_V1) == -ENOENT);
    CHECK(FIND("garbage\n0:\n1:cpu:\n", MI_V1_CPU, INFER_CGROUP_V1)
          == -ENOENT);
    CHECK(FIND("1:cpu:/a\n", "32 31 0:29 / /x - cgroup\n1 2 3\n",
               INFER_CGROUP_V1) == -ENOENT);
    CHECK(FIND("0::/a-very-long-cgroup-name-that-does-not-fit-in-128-bytes"
               "-together-with-the-mount-point-/sys/fs/cgroup-in-front-of-it-"
               "and-then-some\n",
               MI_V2, INFER_CGROUP_V2) == -ENAMETOOLONG);

#undef FIND
}


/*
 * infer_cgroup_open_from() on directories made to look like the
 * hierarchies, the mount points in a mountinfo written for them.
 */

static void
test_cgroup_open(void)
{
    int                 n;
    char                base[] = "/tmp/infer-cgroup-test-XXXXXX";
    char                mi[512], d[128];
    infer_cgroup_t      cg;
    infer_cgroup_cpu_t  st;

    if (mkdtemp(base) == NULL) {
        CHECK(0);
        return;
    }

    n = snprintf(mi, sizeof(mi),
                 "32 31 0:29 / %s/cpu rw - cgroup cgroup rw,cpu\n"
                 "41 31 0:38 / %s/unified rw - cgroup2 cgroup2 rw\n",
                 base, base);
    CHECK(n > 0 && (size_t) n < sizeof(mi));

#define OPEN(c)  infer_cgroup_open_from(&cg, c, sizeof(c) - 1, mi,           \
                                        strlen(mi))
#define MK(s)    (snprintf(d, sizeof(d), "%s/%s", base, s), mkdir(d, 0700))

    MK("cpu");
    MK("unified");

    /* hybrid, the limit in v1 (this machine): v1; v2 has usage only */

    MK("cpu/a");
    MK("unified/a");
    put(base, "cpu/a/cpu.stat",
        "nr_periods 50\nnr_throttled 40\nthrottled_time 2500000000\n");
    put(base, "cpu/a/cpu.cfs_quota_us", "20000\n");
    put(base, "cpu/a/cpu.cfs_period_us", "100000\n");
    put(base, "unified/a/cpu.stat",
        "usage_usec 10\nuser_usec 6\nsystem_usec 4\n");

    CHECK(OPEN("1:cpu:/a\n0::/a\n") == 0 && cg.version == INFER_CGROUP_V1);
    CHECK(infer_cgroup_read(&cg, &st) == 0);
    CHECK(st.version == INFER_CGROUP_V1 && st.throttling
          && st.nr_periods == 50 && st.nr_throttled == 40
          && st.throttled_ns == 2500000000ULL);
    CHECK(st.quota && st.quota_us == 20000 && st.period_us == 100000);

    /* read again: pread() from the start, a new limit seen */

    put(base, "cpu/a/cpu.cfs_quota_us", "-1\n");
    CHECK(infer_cgroup_read(&cg, &st) == 0 && !st.quota
          && st.nr_throttled == 40);
    infer_cgroup_close(&cg);
    CHECK(cg.version == 0 && infer_cgroup_read(&cg, &st) == -ENOENT);

    /* hybrid, the limit in v2: v2, over v1's unlimited cpu controller */

    MK("cpu/b");
    MK("unified/b");
    put(base, "cpu/b/cpu.stat",
        "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
    put(base, "cpu/b/cpu.cfs_quota_us", "-1\n");
    put(base, "cpu/b/cpu.cfs_period_us", "100000\n");
    put(base, "unified/b/cpu.stat",
        "usage_usec 10\nnr_periods 9\nnr_throttled 3\n"
        "throttled_usec 1500\n");
    put(base, "unified/b/cpu.max", "50000 100000\n");

    CHECK(OPEN("1:cpu:/b\n0::/b\n") == 0 && cg.version == INFER_CGROUP_V2);
    CHECK(infer_cgroup_read(&cg, &st) == 0);
    CHECK(st.version == INFER_CGROUP_V2 && st.nr_throttled == 3
          && st.throttled_ns == 1500000 && st.quota && st.quota_us == 50000);
    infer_cgroup_close(&cg);

    /* neither limited: the one with the cpu controller (v1's figures) */

    put(base, "unified/b/cpu.max", "max 100000\n");
    put(base, "unified/b/cpu.stat", "usage_usec 10\n");
    CHECK(OPEN("1:cpu:/b\n0::/b\n") == 0 && cg.version == INFER_CGROUP_V1);
    infer_cgroup_close(&cg);

    /* v1 without its limit files: figures, no limit */

    MK("cpu/c");
    put(base, "cpu/c/cpu.stat",
        "nr_periods 1\nnr_throttled 1\nthrottled_time 7\n");
    CHECK(OPEN("1:cpu:/c\n") == 0 && cg.version == INFER_CGROUP_V1
          && cg.quota == -1 && cg.period == -1);
    CHECK(infer_cgroup_read(&cg, &st) == 0 && st.throttling && !st.quota
          && st.throttled_ns == 7);
    infer_cgroup_close(&cg);

    /* a cgroup gone (or never there), and no cgroup at all */

    CHECK(OPEN("1:cpu:/gone\n0::/gone\n") == -ENOENT && cg.version == 0);
    CHECK(infer_cgroup_read(&cg, &st) == -ENOENT);
    CHECK(OPEN("") == -ENOENT && cg.version == 0);
    infer_cgroup_close(&cg);

    /* and this process's own, whatever the machine: never a crash */

    if (infer_cgroup_open(&cg) == 0) {
        CHECK(infer_cgroup_read(&cg, &st) == 0 && st.version == cg.version);
        infer_cgroup_close(&cg);
    }

    /* cleanup, deepest first */

    put(base, "cpu/a/cpu.stat", NULL);
    put(base, "cpu/a/cpu.cfs_quota_us", NULL);
    put(base, "cpu/a/cpu.cfs_period_us", NULL);
    put(base, "unified/a/cpu.stat", NULL);
    put(base, "cpu/b/cpu.stat", NULL);
    put(base, "cpu/b/cpu.cfs_quota_us", NULL);
    put(base, "cpu/b/cpu.cfs_period_us", NULL);
    put(base, "unified/b/cpu.stat", NULL);
    put(base, "unified/b/cpu.max", NULL);
    put(base, "cpu/c/cpu.stat", NULL);

    n = 0;
    n |= (snprintf(d, sizeof(d), "%s/cpu/a", base), rmdir(d));
    n |= (snprintf(d, sizeof(d), "%s/cpu/b", base), rmdir(d));
    n |= (snprintf(d, sizeof(d), "%s/cpu/c", base), rmdir(d));
    n |= (snprintf(d, sizeof(d), "%s/unified/a", base), rmdir(d));
    n |= (snprintf(d, sizeof(d), "%s/unified/b", base), rmdir(d));
    n |= (snprintf(d, sizeof(d), "%s/cpu", base), rmdir(d));
    n |= (snprintf(d, sizeof(d), "%s/unified", base), rmdir(d));
    n |= rmdir(base);
    CHECK(n == 0);

#undef OPEN
#undef MK
}


/* writes (replaces) dir/name, or removes it when text is NULL */

static void
put(const char *dir, const char *name, const char *text)
{
    int     fd;
    char    path[128];
    size_t  len;

    (void) snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (text == NULL) {
        CHECK(unlink(path) == 0);
        return;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    len = strlen(text);
    CHECK(fd != -1 && write(fd, text, len) == (ssize_t) len);

    if (fd != -1) {
        (void) close(fd);
    }
}


static char *
host_render(const infer_prom_host_t *host, int om)
{
    char              *buf;
    infer_prom_out_t   o;

    memset(&o, 0, sizeof(infer_prom_out_t));
    infer_prom_host(&o, host, om);

    buf = malloc(o.pos + 1);
    o.buf = buf;
    o.len = o.pos + 1;
    o.pos = 0;
    infer_prom_host(&o, host, om);
    buf[o.pos] = '\0';

    return buf;
}
