/*
 * What /metrics shows beside the block: the probe's slots summed by worker
 * number, their rendering (log2 buckets, the schedstat source without a
 * histogram, probe off), and cgroup v2 cpu.stat parsing.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "infer_prom.h"
#include "infer_unit_test.h"


static void test_by_key(void);
static void test_render(void);
static void test_cgroup(void);
static char *host_render(const infer_prom_host_t *host, int om);


void
infer_test_host(void)
{
    test_by_key();
    test_render();
    test_cgroup();
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
    host.cpu_stat.throttled_usec = 250000;

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
    char                path[64];
    infer_cgroup_cpu_t  st;

#define PATH(s)  infer_cgroup_path(s, sizeof(s) - 1, "/sys/fs/cgroup", path, \
                                   sizeof(path))
#define STAT(s)  infer_cgroup_cpu_parse(s, sizeof(s) - 1, &st)

    CHECK(PATH("0::/system.slice/nginx.service\n") == 0);
    CHECK_STR(path, "/sys/fs/cgroup/system.slice/nginx.service/cpu.stat");

    CHECK(PATH("12:cpu,cpuacct:/x\n1:name=systemd:/y\n0::/\n") == 0);
    CHECK_STR(path, "/sys/fs/cgroup/cpu.stat");

    CHECK(PATH("4:memory:/a\n3:cpu:/b\n") == -ENOENT);
    CHECK(PATH("") == -ENOENT);
    CHECK(PATH("0::/a-very-long-cgroup-name-that-does-not-fit-in-64-bytes\n")
          == -ENAMETOOLONG);

    CHECK(STAT("usage_usec 10\nuser_usec 6\nsystem_usec 4\n"
               "nr_periods 120\nnr_throttled 11\nthrottled_usec 5300\n"
               "nr_bursts 0\nburst_usec 0\n") == 0);
    CHECK(st.throttling && st.nr_periods == 120 && st.nr_throttled == 11
          && st.throttled_usec == 5300);

    /* the root cgroup, or no cpu controller: usage only */

    CHECK(STAT("usage_usec 10\nuser_usec 6\nsystem_usec 4\n") == 0);
    CHECK(!st.throttling);

    CHECK(STAT("nr_throttled x\n") == -EINVAL);
    CHECK(STAT("nr_throttled\n") == -EINVAL);
    CHECK(STAT("nr_throttled 1 2\n") == -EINVAL);

#undef PATH
#undef STAT
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
