/*
 * The JSON view of the metrics block, for scripts and dashboards: uptime,
 * each model's totals, and quantiles estimated from its histograms as
 * Prometheus' histogram_quantile() would.
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer_prom.h"


static void infer_prom_json_string(infer_prom_out_t *o, const char *s,
    size_t n);
static const infer_metrics_rec_t *infer_prom_find(const void *base,
    unsigned family, const char *name, size_t len);
static void infer_prom_json_hist(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *rec);
static void infer_prom_json_model(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *info);


static const double  infer_prom_qs[] = { 0.5, 0.9, 0.99 };
static const char   *infer_prom_qnames[] = { "p50", "p90", "p99" };


static void
infer_prom_json_string(infer_prom_out_t *o, const char *s, size_t n)
{
    char                  esc[8];
    size_t                i, k;
    const unsigned char  *p = (const unsigned char *) s;

    infer_prom_put(o, "\"", 1);

    for (i = 0; i < n; i += k) {
        k = infer_prom_utf8(p + i, n - i);

        if (k == 0) {
            infer_prom_put(o, "\\ufffd", 6);
            k = 1;

        } else if (p[i] == '\\' || p[i] == '"') {
            esc[0] = '\\';
            esc[1] = (char) p[i];
            infer_prom_put(o, esc, 2);

        } else if (p[i] < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
            infer_prom_put(o, esc, 6);

        } else {
            infer_prom_put(o, s + i, k);
        }
    }

    infer_prom_put(o, "\"", 1);
}


static const infer_metrics_rec_t *
infer_prom_find(const void *base, unsigned family, const char *name,
    size_t len)
{
    const infer_metrics_rec_t  *rec;

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (rec->family == family
            && rec->len[0] == len
            && infer_metrics_active(base, rec)
            && memcmp(infer_metrics_key(rec, 0), name, len) == 0)
        {
            return rec;
        }
    }

    return NULL;
}


static void
infer_prom_json_hist(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *rec)
{
    int                            kind;
    char                           buf[32];
    double                         q, le[INFER_METRICS_MAX_BUCKETS];
    size_t                         i;
    uint64_t                       cum[INFER_METRICS_MAX_BUCKETS + 1];
    const infer_metrics_rec_t     *b;

    b = infer_metrics_bounds(base, rec);
    kind = infer_metrics_families[rec->family].kind;

    memcpy(le, b + 1, b->n * sizeof(double));

    for (i = 0; i <= b->n; i++) {
        cum[i] = infer_metrics_sum(base, rec, (uint32_t) i)
                 + (i ? cum[i - 1] : 0);
    }

    infer_prom_puts(o, "{\"count\":");
    infer_prom_u64(o, cum[b->n]);
    infer_prom_puts(o, ",\"sum\":");

    if (kind == INFER_MV_REAL) {
        q = infer_metrics_sum_real(base, rec, b->n + 1);

        if (isfinite(q)) {
            infer_prom_real(o, q);

        } else {
            infer_prom_puts(o, "null");
        }

    } else {
        infer_prom_value(o, kind, infer_metrics_sum(base, rec, b->n + 1));
    }

    for (i = 0; i < 3; i++) {
        q = infer_prom_quantile(infer_prom_qs[i], le, cum, b->n);

        infer_prom_puts(o, ",\"");
        infer_prom_puts(o, infer_prom_qnames[i]);
        infer_prom_puts(o, "\":");

        if (isfinite(q)) {
            snprintf(buf, sizeof(buf), "%.6g", q);
            infer_prom_puts(o, buf);

        } else {
            infer_prom_puts(o, "null");
        }
    }

    infer_prom_put(o, "}", 1);
}


static void
infer_prom_json_model(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *info)
{
    size_t                         len;
    unsigned                       f, k;
    uint32_t                       i;
    uint64_t                       v, total;
    const char                    *name;
    const infer_metrics_rec_t     *rec;
    const infer_metrics_family_t  *fam;

    name = infer_metrics_key(info, 0);
    len = info->len[0];

    for (k = 0; k < 3; k++) {
        infer_prom_puts(o, k ? ",\"" : "{\"");
        infer_prom_puts(o, infer_metrics_families[INFER_MF_MODEL_INFO]
                           .keys[k]);
        infer_prom_puts(o, "\":");
        infer_prom_json_string(o, infer_metrics_key(info, k), info->len[k]);
    }

    for (f = 0; f < INFER_MF_N; f++) {
        fam = &infer_metrics_families[f];

        if (fam->scope != INFER_MS_MODEL || fam->type == INFER_MT_INFO) {
            continue;
        }

        rec = infer_prom_find(base, f, name, len);
        if (rec == NULL) {
            continue;
        }

        infer_prom_puts(o, ",\"");
        infer_prom_puts(o, fam->name);
        infer_prom_puts(o, "\":");

        if (fam->type == INFER_MT_HISTOGRAM) {
            infer_prom_json_hist(o, base, rec);
            continue;
        }

        if (fam->values == NULL) {
            v = infer_metrics_sum(base, rec, 0);

            if (fam->type == INFER_MT_GAUGE) {
                infer_prom_i64(o, (int64_t) v);

            } else {
                infer_prom_u64(o, v);
            }

            continue;
        }

        total = 0;

        for (i = 0; i < rec->nvalues; i++) {
            v = infer_metrics_sum(base, rec, i);
            total += v;

            infer_prom_puts(o, i ? ",\"" : "{\"");
            infer_prom_puts(o, fam->values[i]);
            infer_prom_puts(o, "\":");
            infer_prom_u64(o, v);
        }

        infer_prom_puts(o, ",\"all\":");
        infer_prom_u64(o, total);
        infer_prom_put(o, "}", 1);
    }

    infer_prom_put(o, "}", 1);
}


void
infer_prom_json(infer_prom_out_t *o, const void *base, uint64_t now_ms)
{
    int                         first;
    uint32_t                    s;
    const infer_metrics_rec_t  *rec, *w;
    const infer_metrics_hdr_t  *hdr;
    const infer_metrics_slot_t *slot;

    hdr = infer_metrics_header(base);

    infer_prom_puts(o, "{\"version\":");
    rec = NULL;

    for (w = infer_metrics_next(base, NULL); w != NULL;
         w = infer_metrics_next(base, w))
    {
        if (w->family == INFER_MF_BUILD_INFO && infer_metrics_active(base, w))
        {
            rec = w;
        }
    }

    if (rec != NULL) {
        infer_prom_json_string(o, infer_metrics_key(rec, 0), rec->len[0]);

    } else {
        infer_prom_puts(o, "null");
    }

    infer_prom_puts(o, ",\"start_time_seconds\":");
    infer_prom_ms(o, hdr->start_ms);
    infer_prom_puts(o, ",\"uptime_seconds\":");
    infer_prom_ms(o, now_ms > hdr->start_ms ? now_ms - hdr->start_ms : 0);
    infer_prom_puts(o, ",\"models\":[");

    first = 1;

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (rec->family != INFER_MF_MODEL_INFO
            || !infer_metrics_active(base, rec))
        {
            continue;
        }

        if (!first) {
            infer_prom_put(o, ",", 1);
        }

        infer_prom_json_model(o, base, rec);
        first = 0;
    }

    infer_prom_puts(o, "],\"workers\":[");

    w = infer_prom_find(base, INFER_MF_WORKER_REQUESTS, "", 0);
    first = 1;

    for (s = 0; w != NULL && s < hdr->nslots; s++) {
        slot = infer_metrics_slot(base, s);

        if (!__atomic_load_n(&slot->used, __ATOMIC_RELAXED)) {
            continue;
        }

        infer_prom_puts(o, first ? "{\"worker\":" : ",{\"worker\":");
        infer_prom_u64(o, s);
        infer_prom_puts(o, ",\"pid\":");
        infer_prom_i64(o, __atomic_load_n(&slot->pid, __ATOMIC_RELAXED));
        infer_prom_puts(o, ",\"requests\":");
        infer_prom_u64(o, infer_metrics_value(base, s, w, 0));
        infer_prom_put(o, "}", 1);
        first = 0;
    }

    infer_prom_puts(o, "]}\n");
}


/*
 * histogram_quantile() as Prometheus computes it: linear interpolation in
 * the bucket where the rank falls, the lowest bucket starting at 0, the
 * highest finite bound when the rank is in +Inf.  cum has n + 1 entries.
 */

double
infer_prom_quantile(double q, const double *le, const uint64_t *cum,
    size_t n)
{
    size_t  b;
    double  rank, start, count;

    if (isnan(q) || n == 0 || cum[n] == 0) {
        return NAN;
    }

    if (q < 0) {
        return -INFINITY;
    }

    if (q > 1) {
        return INFINITY;
    }

    rank = q * (double) cum[n];

    for (b = 0; b < n && (double) cum[b] < rank; b++) {
        /* void */
    }

    if (b == n) {
        return le[n - 1];
    }

    if (b == 0 && le[0] <= 0) {
        return le[0];
    }

    start = 0;
    count = (double) cum[b];

    if (b > 0) {
        start = le[b - 1];
        count -= (double) cum[b - 1];
        rank -= (double) cum[b - 1];
    }

    return start + (le[b] - start) * (rank / count);
}
