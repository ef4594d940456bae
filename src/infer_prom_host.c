/*
 * The families the metrics block does not hold, rendered from figures
 * the glue reads at scrape time: the scheduler-delay probe's, per nginx
 * worker number, and the cgroup's CPU throttling and limit (v1 or v2).
 *
 * sched_delay_seconds keeps the probe's own log2 buckets: bucket i counts
 * waits of [2^i, 2^(i+1)) usec, so its "le" is 2^(i+1) usec, and the last
 * one is "+Inf".  The schedstat fallback has no histogram: then only the
 * total is rendered.
 */

#include <string.h>

#include "infer_prom.h"


enum {
    INFER_PH_DELAY = 0,
    INFER_PH_WAIT,
    INFER_PH_SOURCE,
    INFER_PH_PERIODS,
    INFER_PH_THROTTLED,
    INFER_PH_THROTTLED_TIME,
    INFER_PH_QUOTA,
    INFER_PH_N
};


static const infer_metrics_family_t  infer_prom_host_families[INFER_PH_N] = {

    { "sched_delay_seconds",
      "Run-queue delay of each worker: time runnable but not running.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_WORKER, INFER_MV_NS, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "sched_wait_seconds_total", "Run-queue delay of each worker, summed.",
      "seconds",
      INFER_MT_COUNTER, INFER_MS_WORKER, INFER_MV_NS, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "sched_probe_source", "Where the run-queue delay is read from.",
      NULL,
      INFER_MT_GAUGE, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      "source", infer_metrics_probe_sources, INFER_NPROBES },

    { "cpu_periods_total",
      "CPU bandwidth periods of nginx's cgroup (cpu.stat nr_periods).",
      NULL,
      INFER_MT_COUNTER, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "cpu_throttled_periods_total",
      "Periods in which nginx's cgroup was throttled (nr_throttled).",
      NULL,
      INFER_MT_COUNTER, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "cpu_throttled_seconds_total",
      "Time nginx's cgroup was throttled (v2 throttled_usec, "
      "v1 throttled_time).",
      "seconds",
      INFER_MT_COUNTER, INFER_MS_GLOBAL, INFER_MV_NS, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "cpu_quota_cores",
      "CPU limit of nginx's cgroup in CPUs: quota / period (v2 cpu.max, "
      "v1 cpu.cfs_quota_us / cpu.cfs_period_us).",
      NULL,
      INFER_MT_GAUGE, INFER_MS_GLOBAL, INFER_MV_REAL, INFER_MB_NONE, 0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 }
};


static void infer_prom_host_hist(infer_prom_out_t *o,
    const infer_schedlat_stats_t *st);
static void infer_prom_host_scalar(infer_prom_out_t *o, unsigned f,
    uint64_t v, int om);


void
infer_prom_host(infer_prom_out_t *o, const infer_prom_host_t *host, int om)
{
    double                         cores;
    size_t                         i;
    uint64_t                       bits;
    unsigned                       s;
    infer_prom_labels_t            l;
    const infer_metrics_family_t  *fam;

    memset(&l, 0, sizeof(infer_prom_labels_t));
    l.slot = -1;

    if (host->hist && host->nworkers > 0) {
        fam = &infer_prom_host_families[INFER_PH_DELAY];
        infer_prom_meta(o, fam, om);

        for (i = 0; i < host->nworkers; i++) {
            infer_prom_host_hist(o, &host->workers[i]);
        }
    }

    if (host->source != INFER_PROBE_NONE && host->nworkers > 0) {
        fam = &infer_prom_host_families[INFER_PH_WAIT];
        infer_prom_meta(o, fam, om);
        l.fam = fam;

        for (i = 0; i < host->nworkers; i++) {
            l.slot = (int) host->workers[i].key;
            infer_prom_sample(o, fam, "", &l);
            infer_prom_seconds(o, host->workers[i].total_ns);
            infer_prom_put(o, "\n", 1);
        }

        l.slot = -1;
    }

    fam = &infer_prom_host_families[INFER_PH_SOURCE];
    infer_prom_meta(o, fam, om);
    l.fam = fam;

    for (s = 0; s < INFER_NPROBES; s++) {
        l.fixed = fam->values[s];
        infer_prom_sample(o, fam, "", &l);
        infer_prom_puts(o, (int) s == host->source ? "1\n" : "0\n");
    }

    if (!host->cpu) {
        return;
    }

    /*
     * The counters wherever the cgroup has the cpu controller, limited or
     * not, so that they do not vanish when a limit is lifted.
     */

    if (host->cpu_stat.throttling) {
        infer_prom_host_scalar(o, INFER_PH_PERIODS,
                               host->cpu_stat.nr_periods, om);
        infer_prom_host_scalar(o, INFER_PH_THROTTLED,
                               host->cpu_stat.nr_throttled, om);
        infer_prom_host_scalar(o, INFER_PH_THROTTLED_TIME,
                               host->cpu_stat.throttled_ns, om);
    }

    if (host->cpu_stat.quota) {
        cores = (double) host->cpu_stat.quota_us
                / (double) host->cpu_stat.period_us;
        memcpy(&bits, &cores, sizeof(bits));

        infer_prom_host_scalar(o, INFER_PH_QUOTA, bits, om);
    }
}


/* +Inf and _count are the sum of the buckets read, so that they agree */

static void
infer_prom_host_hist(infer_prom_out_t *o, const infer_schedlat_stats_t *st)
{
    char                           le[INFER_PROM_LE_LEN];
    unsigned                       b;
    uint64_t                       cum;
    infer_prom_labels_t            l;
    const infer_metrics_family_t  *fam;

    fam = &infer_prom_host_families[INFER_PH_DELAY];

    memset(&l, 0, sizeof(infer_prom_labels_t));
    l.fam = fam;
    l.slot = (int) st->key;
    l.le = le;

    cum = 0;

    for (b = 0; b < INFER_SL_NBUCKETS; b++) {
        cum += st->hist[b];

        if (b == INFER_SL_NBUCKETS - 1) {
            memcpy(le, "+Inf", 5);

        } else {
            infer_prom_format_le(le, (double) (2ULL << b) * 1e-6);
        }

        infer_prom_sample(o, fam, "_bucket", &l);
        infer_prom_u64(o, cum);
        infer_prom_put(o, "\n", 1);
    }

    l.le = NULL;

    infer_prom_sample(o, fam, "_sum", &l);
    infer_prom_seconds(o, st->total_ns);
    infer_prom_put(o, "\n", 1);

    infer_prom_sample(o, fam, "_count", &l);
    infer_prom_u64(o, cum);
    infer_prom_put(o, "\n", 1);
}


/* one sample without labels; v as the family's kind says (a double's bits) */

static void
infer_prom_host_scalar(infer_prom_out_t *o, unsigned f, uint64_t v, int om)
{
    infer_prom_labels_t            l;
    const infer_metrics_family_t  *fam;

    fam = &infer_prom_host_families[f];

    memset(&l, 0, sizeof(infer_prom_labels_t));
    l.fam = fam;
    l.slot = -1;

    infer_prom_meta(o, fam, om);
    infer_prom_sample(o, fam, "", &l);
    infer_prom_value(o, fam->kind, v);
    infer_prom_put(o, "\n", 1);
}
