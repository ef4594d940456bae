#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer_metrics.h"


#define INFER_METRICS_REGION_MAX  0x40000000     /* offsets stay 32-bit */
#define INFER_METRICS_AUTO_MIN    65536
#define INFER_METRICS_SLOT_HDR    INFER_METRICS_ALIGN

#define infer_metrics_align(n, a)  (((n) + (a) - 1) & ~((size_t) (a) - 1))


/* one series a configuration asks for */

typedef struct {
    unsigned             family;
    const char          *key[3];
    size_t               len[3];
    uint32_t             nvalues;
    int                  kind;        /* of the bounds: infer_metrics_kind_e */
    const double        *le;          /* histograms */
    size_t               n;
} infer_metrics_want_t;


/* a dry run's findings */

typedef struct {
    size_t               dir;         /* directory bytes to append */
    size_t               data;        /* slot bytes to append */
    unsigned             sets;        /* bit i: bounds of set i to append */
} infer_metrics_plan_t;


static int infer_metrics_check(const infer_metrics_conf_t *conf, char *err,
    size_t errlen);
static void infer_metrics_set_bounds(const infer_metrics_conf_t *conf,
    unsigned set, const double **le, size_t *n);
static int infer_metrics_wanted(const infer_metrics_conf_t *conf,
    size_t row, unsigned family, infer_metrics_want_t *w);
static uint32_t infer_metrics_nslots(const infer_metrics_conf_t *conf);
static size_t infer_metrics_rec_size(const infer_metrics_want_t *w);
static int infer_metrics_same_key(const infer_metrics_rec_t *rec,
    const infer_metrics_want_t *w);
static int infer_metrics_same_bounds(const void *base,
    const infer_metrics_rec_t *rec, const infer_metrics_want_t *w);
static int infer_metrics_bounds_rec_is(const infer_metrics_rec_t *b, int kind,
    const double *le, size_t n);
static const infer_metrics_rec_t *infer_metrics_find(const void *base,
    const infer_metrics_want_t *w);
static const infer_metrics_rec_t *infer_metrics_find_bounds(const void *base,
    int kind, const double *le, size_t n);
static void infer_metrics_plan(const void *base,
    const infer_metrics_conf_t *conf, infer_metrics_plan_t *plan);
static size_t infer_metrics_fresh_size(const infer_metrics_conf_t *conf);
static void infer_metrics_lay_out(void *base, size_t size,
    const infer_metrics_conf_t *conf);
static uint32_t infer_metrics_append(void *base, size_t len);
static infer_metrics_rec_t *infer_metrics_add_bounds(void *base, int kind,
    const double *le, size_t n);
static infer_metrics_rec_t *infer_metrics_add_series(void *base,
    const infer_metrics_want_t *w, uint32_t generation);
static void infer_metrics_handle(const void *base,
    const infer_metrics_rec_t *rec, infer_metrics_series_t *s);



static const char *const  infer_metrics_codes[INFER_NCODES] = {
    "200", "400", "404", "405", "413", "415", "422", "500", "503", "other"
};

static const char *const  infer_metrics_reasons[INFER_NREASONS] = {
    "bad_json", "bad_request", "bad_shape", "non_finite", "too_large",
    "method", "content_type", "unknown_model", "internal"
};

/* the order of infer_image_reason_e, from 1 */
static const char *const  infer_metrics_image_refusals[] = {
    "empty", "wrong_type", "too_large", "corrupt", "colorspace"
};

static const char *const  infer_metrics_otel_drops[INFER_OTEL_NDROPS] = {
    "queue_full", "rejected", "failed", "shutdown", "too_large"
};

static const char *const  infer_metrics_otel_exports[INFER_OTEL_NEXPORTS] = {
    "ok", "retryable", "rejected", "timeout", "network_error"
};

const char *const  infer_metrics_probe_sources[INFER_NPROBES] = {
    "none", "bpf", "schedstat"
};


/*
 * name, help, unit,
 * type, scope, kind, buckets, flags,
 * the key labels, the fixed label set
 */

const infer_metrics_family_t  infer_metrics_families[INFER_MF_N] = {
    { "requests_total", "Requests answered, by model and HTTP status.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      1, { "model", NULL, NULL },
      "code", infer_metrics_codes, INFER_NCODES },

    { "predictions_total", "Rows predicted.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "errors_total", "Requests refused or failed, by reason.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      1, { "model", NULL, NULL },
      "reason", infer_metrics_reasons, INFER_NREASONS },

    { "requests_in_flight", "Requests being served.",
      NULL,
      INFER_MT_GAUGE, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_NONE,
      INFER_MF_LIVE,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "request_duration_seconds",
      "Time from the request head to the end of the response.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_NS, INFER_MB_LATENCY,
      INFER_MF_EXEMPLARS,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "inference_duration_seconds", "Time spent evaluating the model.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_NS, INFER_MB_LATENCY,
      INFER_MF_EXEMPLARS,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "queue_duration_seconds", "Time waiting for a thread-pool thread.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_NS, INFER_MB_LATENCY,
      INFER_MF_OPTIONAL,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "batch_size", "Rows per request.",
      NULL,
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_BATCH,
      0,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "prediction", "First output value of each request.",
      NULL,
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_REAL, INFER_MB_PREDICTION,
      INFER_MF_OPTIONAL|INFER_MF_SIGNED,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "model_info", "Models loaded, with their version and format.",
      NULL,
      INFER_MT_INFO, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      3, { "model", "version", "format" },
      NULL, NULL, 0 },

    { "worker_requests_total", "Requests counted by each worker slot.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_WORKER, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "request_sched_delay_seconds",
      "Run-queue delay the worker suffered while serving each request.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_NS, INFER_MB_SCHED,
      INFER_MF_OPTIONAL,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "build_info", "The module's version.",
      NULL,
      INFER_MT_INFO, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      1, { "version", NULL, NULL },
      NULL, NULL, 0 },

    { "start_time_seconds", "Unix time the metrics were first laid out.",
      "seconds",
      INFER_MT_GAUGE, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE,
      0,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "otel_spans_exported_total",
      "Spans a trace collector accepted.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE,
      INFER_MF_OPTIONAL,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "otel_spans_dropped_total",
      "Spans that never reached a trace collector, by reason.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE,
      INFER_MF_OPTIONAL,
      0, { NULL, NULL, NULL },
      "reason", infer_metrics_otel_drops, INFER_OTEL_NDROPS },

    { "otel_exports_total",
      "Export requests to the trace collector, by outcome.",
      NULL,
      INFER_MT_COUNTER, INFER_MS_GLOBAL, INFER_MV_COUNT, INFER_MB_NONE,
      INFER_MF_OPTIONAL,
      0, { NULL, NULL, NULL },
      "outcome", infer_metrics_otel_exports, INFER_OTEL_NEXPORTS },

    { "otel_export_duration_seconds",
      "Time from sending a batch of spans to the collector's answer.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_GLOBAL, INFER_MV_NS, INFER_MB_EXPORT,
      INFER_MF_OPTIONAL,
      0, { NULL, NULL, NULL },
      NULL, NULL, 0 },

    { "image_decode_duration_seconds",
      "Time decoding an image body and making it the model's input.",
      "seconds",
      INFER_MT_HISTOGRAM, INFER_MS_MODEL, INFER_MV_NS, INFER_MB_LATENCY,
      INFER_MF_OPTIONAL,
      1, { "model", NULL, NULL },
      NULL, NULL, 0 },

    { "image_refused_total",
      "Image bodies refused, by why (each also in errors_total).",
      NULL,
      INFER_MT_COUNTER, INFER_MS_MODEL, INFER_MV_COUNT, INFER_MB_NONE,
      INFER_MF_OPTIONAL,
      1, { "model", NULL, NULL },
      "reason", infer_metrics_image_refusals, INFER_IMAGE_NREFUSALS }
};


/* microseconds to 100 ms: in-process inference */

const double  infer_metrics_default_latency[13] = {
    5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
    2.5e-2, 1e-1
};

const double  infer_metrics_default_batch[11] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024
};

/* a millisecond to 10 seconds: a batch over loopback, or to a far region */

const double  infer_metrics_default_export[13] = {
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 1e-1, 2.5e-1, 5e-1, 1, 2.5, 5, 10
};


static int
infer_metrics_check(const infer_metrics_conf_t *conf, char *err,
    size_t errlen)
{
    size_t                             i, j, n;
    const double                      *le;
    const infer_metrics_model_conf_t  *mc, *mo;

    for (i = 0; i < INFER_MB_N; i++) {
        le = conf->buckets[i].bounds;
        n = conf->buckets[i].n;

        if (n > INFER_METRICS_MAX_BUCKETS) {
            snprintf(err, errlen, "more than %d buckets",
                     INFER_METRICS_MAX_BUCKETS);
            return INFER_EINVAL;
        }

        for (j = 0; j < n; j++) {
            if (!isfinite(le[j])) {
                snprintf(err, errlen, "bucket %g is not finite", le[j]);
                return INFER_EINVAL;
            }

            if (j > 0 && le[j] <= le[j - 1]) {
                snprintf(err, errlen, "bucket %g does not follow %g",
                         le[j], le[j - 1]);
                return INFER_EINVAL;
            }

            if (i != INFER_MB_PREDICTION && le[j] < 0) {
                snprintf(err, errlen, "bucket %g is negative", le[j]);
                return INFER_EINVAL;
            }
        }
    }

    for (i = 0; i < conf->nmodels; i++) {
        mc = &conf->models[i];

        if (mc->name_len >= INFER_METRICS_MAX_STRING
            || mc->version_len >= INFER_METRICS_MAX_STRING
            || mc->format_len >= INFER_METRICS_MAX_STRING)
        {
            snprintf(err, errlen, "model \"%.*s\": a name, version or format "
                     "longer than %d bytes", (int) (mc->name_len < 64
                                                    ? mc->name_len : 64),
                     mc->name, INFER_METRICS_MAX_STRING - 1);
            return INFER_EINVAL;
        }

        for (j = 0; j < i; j++) {
            mo = &conf->models[j];

            if (mo->name_len == mc->name_len
                && memcmp(mo->name, mc->name, mc->name_len) == 0)
            {
                snprintf(err, errlen, "model \"%.*s\" is listed twice",
                         (int) (mc->name_len < 64 ? mc->name_len : 64),
                         mc->name);
                return INFER_EINVAL;
            }
        }
    }

    if (conf->version != NULL
        && strlen(conf->version) >= INFER_METRICS_MAX_STRING)
    {
        snprintf(err, errlen, "a version longer than %d bytes",
                 INFER_METRICS_MAX_STRING - 1);
        return INFER_EINVAL;
    }

    return INFER_OK;
}


static void
infer_metrics_set_bounds(const infer_metrics_conf_t *conf, unsigned set,
    const double **le, size_t *n)
{
    *le = conf->buckets[set].bounds;
    *n = conf->buckets[set].n;

    if (*n > 0 || set == INFER_MB_PREDICTION) {
        return;
    }

    if (set == INFER_MB_BATCH) {
        *le = infer_metrics_default_batch;
        *n = 11;
        return;
    }

    if (set == INFER_MB_EXPORT) {
        *le = infer_metrics_default_export;
        *n = 13;
        return;
    }

    if (set == INFER_MB_SCHED && conf->buckets[INFER_MB_LATENCY].n > 0) {
        *le = conf->buckets[INFER_MB_LATENCY].bounds;
        *n = conf->buckets[INFER_MB_LATENCY].n;
        return;
    }

    *le = infer_metrics_default_latency;
    *n = 13;
}


/* row: a model's index, or nmodels for the worker and global families */

static int
infer_metrics_wanted(const infer_metrics_conf_t *conf, size_t row,
    unsigned family, infer_metrics_want_t *w)
{
    const infer_metrics_family_t      *f;
    const infer_metrics_model_conf_t  *mc;

    f = &infer_metrics_families[family];

    if ((f->scope == INFER_MS_MODEL) != (row < conf->nmodels)
        || family == INFER_MF_START_TIME)
    {
        return 0;
    }

    switch (family) {

    case INFER_MF_QUEUE_DURATION:
        if (!conf->queue) {
            return 0;
        }
        break;

    case INFER_MF_PREDICTION:
        if (conf->buckets[INFER_MB_PREDICTION].n == 0) {
            return 0;
        }
        break;

    case INFER_MF_REQUEST_SCHED:
        if (!conf->sched) {
            return 0;
        }
        break;

    case INFER_MF_IMAGE_DECODE_DURATION:
    case INFER_MF_IMAGE_REFUSED:
        if (!conf->models[row].images) {
            return 0;
        }
        break;

    case INFER_MF_OTEL_EXPORTED:
    case INFER_MF_OTEL_DROPPED:
    case INFER_MF_OTEL_EXPORTS:
    case INFER_MF_OTEL_EXPORT_DURATION:
        if (!conf->otel) {
            return 0;
        }
        break;
    }

    memset(w, 0, sizeof(infer_metrics_want_t));
    w->family = family;

    if (f->scope == INFER_MS_MODEL) {
        mc = &conf->models[row];
        w->key[0] = mc->name;
        w->len[0] = mc->name_len;

        if (f->nkeys == 3) {
            w->key[1] = mc->version;
            w->len[1] = mc->version_len;
            w->key[2] = mc->format;
            w->len[2] = mc->format_len;
        }

    } else if (family == INFER_MF_BUILD_INFO) {
        w->key[0] = conf->version ? conf->version : "";
        w->len[0] = strlen(w->key[0]);
    }

    switch (f->type) {

    case INFER_MT_HISTOGRAM:
        infer_metrics_set_bounds(conf, f->buckets, &w->le, &w->n);
        w->kind = f->kind;
        w->nvalues = (uint32_t) w->n + 2;

        if (f->flags & INFER_MF_EXEMPLARS) {
            w->nvalues += (uint32_t) (w->n + 1) * INFER_METRICS_EX_WORDS;
        }

        break;

    case INFER_MT_INFO:
        w->nvalues = 0;
        break;

    default:
        w->nvalues = f->nvalues ? f->nvalues : 1;
    }

    return 1;
}


/* two per worker, for the overlap of a reload, spares, and the shared */

static uint32_t
infer_metrics_nslots(const infer_metrics_conf_t *conf)
{
    unsigned  n;

    n = conf->nworkers ? conf->nworkers : 1;

    if (n > 4096) {
        n = 4096;
    }

    return 2 * n + 3;
}


static size_t
infer_metrics_rec_size(const infer_metrics_want_t *w)
{
    return infer_metrics_align(sizeof(infer_metrics_rec_t) + w->len[0]
                               + w->len[1] + w->len[2] + 3, 8);
}


static int
infer_metrics_same_key(const infer_metrics_rec_t *rec,
    const infer_metrics_want_t *w)
{
    unsigned     k;
    const char  *p;

    if (rec->type != INFER_MR_SERIES || rec->family != w->family) {
        return 0;
    }

    p = (const char *) (rec + 1);

    for (k = 0; k < 3; k++) {
        if (rec->len[k] != w->len[k]
            || (w->len[k] && memcmp(p, w->key[k], w->len[k]) != 0))
        {
            return 0;
        }

        p += rec->len[k] + 1;
    }

    return 1;
}


static int
infer_metrics_bounds_rec_is(const infer_metrics_rec_t *b, int kind,
    const double *le, size_t n)
{
    return b->type == INFER_MR_BUCKETS && b->family == kind && b->n == n
           && (n == 0 || memcmp(b + 1, le, n * sizeof(double)) == 0);
}


static int
infer_metrics_same_bounds(const void *base, const infer_metrics_rec_t *rec,
    const infer_metrics_want_t *w)
{
    const infer_metrics_rec_t  *b;

    if (rec->nvalues != w->nvalues) {
        return 0;
    }

    b = infer_metrics_bounds(base, rec);

    if (b == NULL || w->le == NULL) {
        return b == NULL && w->le == NULL;
    }

    return infer_metrics_bounds_rec_is(b, w->kind, w->le, w->n);
}


/* the latest series of that name: a reload keeps using it */

static const infer_metrics_rec_t *
infer_metrics_find(const void *base, const infer_metrics_want_t *w)
{
    const infer_metrics_rec_t  *rec, *found;

    found = NULL;

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (infer_metrics_same_key(rec, w)) {
            found = rec;
        }
    }

    return found;
}


static const infer_metrics_rec_t *
infer_metrics_find_bounds(const void *base, int kind, const double *le,
    size_t n)
{
    const infer_metrics_rec_t  *rec;

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (infer_metrics_bounds_rec_is(rec, kind, le, n)) {
            return rec;
        }
    }

    return NULL;
}


/* base may be NULL: the space a new block needs */

static void
infer_metrics_plan(const void *base, const infer_metrics_conf_t *conf,
    infer_metrics_plan_t *plan)
{
    size_t                       row;
    unsigned                     f, set;
    infer_metrics_want_t         w;
    const infer_metrics_rec_t   *rec;

    memset(plan, 0, sizeof(infer_metrics_plan_t));

    for (row = 0; row <= conf->nmodels; row++) {
        for (f = 0; f < INFER_MF_N; f++) {

            if (!infer_metrics_wanted(conf, row, f, &w)) {
                continue;
            }

            rec = base ? infer_metrics_find(base, &w) : NULL;

            if (rec != NULL && infer_metrics_same_bounds(base, rec, &w)) {
                continue;
            }

            set = infer_metrics_families[f].buckets;

            if (w.le != NULL
                && !(plan->sets & (1u << set))
                && (base == NULL
                    || infer_metrics_find_bounds(base, w.kind, w.le, w.n)
                       == NULL))
            {
                plan->sets |= 1u << set;
                plan->dir += infer_metrics_align(sizeof(infer_metrics_rec_t)
                                                 + 16 * w.n, 8);
            }

            plan->dir += infer_metrics_rec_size(&w);
            plan->data += (size_t) w.nvalues * 8;
        }
    }
}


static size_t
infer_metrics_fresh_size(const infer_metrics_conf_t *conf)
{
    size_t                region;
    infer_metrics_plan_t  plan;

    infer_metrics_plan(NULL, conf, &plan);

    region = INFER_METRICS_SLOT_HDR + plan.data;

    if (plan.dir > region) {
        region = plan.dir;
    }

    region = infer_metrics_align(region, INFER_METRICS_ALIGN);

    return INFER_METRICS_ALIGN
           + (size_t) (infer_metrics_nslots(conf) + 1) * region;
}


size_t
infer_metrics_size(const infer_metrics_conf_t *conf)
{
    return infer_metrics_fresh_size(conf);
}


size_t
infer_metrics_size_auto(const infer_metrics_conf_t *conf)
{
    size_t  size, need;

    need = 2 * infer_metrics_fresh_size(conf);

    for (size = INFER_METRICS_AUTO_MIN; size < need; size *= 2) {
        /* void */
    }

    return size;
}


static void
infer_metrics_lay_out(void *base, size_t size,
    const infer_metrics_conf_t *conf)
{
    size_t                region;
    uint32_t              nslots;
    infer_metrics_hdr_t  *hdr;

    nslots = infer_metrics_nslots(conf);

    region = (size - INFER_METRICS_ALIGN) / (nslots + 1);
    region &= ~((size_t) INFER_METRICS_ALIGN - 1);

    if (region > INFER_METRICS_REGION_MAX) {
        region = INFER_METRICS_REGION_MAX;
    }

    memset(base, 0, size);

    hdr = base;
    hdr->magic = INFER_METRICS_MAGIC;
    hdr->layout = INFER_METRICS_LAYOUT;
    hdr->size = size;
    hdr->start_ms = conf->now_ms;
    hdr->nslots = nslots;
    hdr->region = (uint32_t) region;
    hdr->dir_used = 0;
    hdr->data_used = INFER_METRICS_SLOT_HDR;
    hdr->generation = 0;
}


/* room in the directory: the caller publishes it */

static uint32_t
infer_metrics_append(void *base, size_t len)
{
    infer_metrics_hdr_t  *hdr = base;

    uint32_t              off;

    off = INFER_METRICS_ALIGN + hdr->dir_used;
    memset((unsigned char *) base + off, 0, len);

    return off;
}


static infer_metrics_rec_t *
infer_metrics_add_bounds(void *base, int kind, const double *le, size_t n)
{
    infer_metrics_hdr_t  *hdr = base;

    size_t                i, len;
    double                v;
    int64_t              *ile;
    infer_metrics_rec_t  *rec;

    len = infer_metrics_align(sizeof(infer_metrics_rec_t) + 16 * n, 8);
    rec = (infer_metrics_rec_t *) ((unsigned char *) base
                                   + infer_metrics_append(base, len));

    rec->size = (uint32_t) len;
    rec->type = INFER_MR_BUCKETS;
    rec->family = (uint16_t) kind;
    rec->n = (uint16_t) n;

    memcpy(rec + 1, le, n * sizeof(double));
    ile = (int64_t *) ((double *) (rec + 1) + n);

    /* an observation v falls in the first bucket with v <= ile[i] */

    for (i = 0; i < n; i++) {
        v = (kind == INFER_MV_NS) ? floor(le[i] * 1e9 + 0.5) : floor(le[i]);
        ile[i] = (v >= 9.2e18) ? INT64_MAX : (v <= -9.2e18) ? INT64_MIN
                                                            : (int64_t) v;
    }

    __atomic_store_n(&hdr->dir_used, hdr->dir_used + (uint32_t) len,
                     __ATOMIC_RELEASE);

    return rec;
}


static infer_metrics_rec_t *
infer_metrics_add_series(void *base, const infer_metrics_want_t *w,
    uint32_t generation)
{
    infer_metrics_hdr_t        *hdr = base;

    char                       *p;
    size_t                      len;
    unsigned                    k;
    infer_metrics_rec_t        *rec;
    const infer_metrics_rec_t  *b;

    b = NULL;

    if (w->le != NULL) {
        b = infer_metrics_find_bounds(base, w->kind, w->le, w->n);

        if (b == NULL) {
            b = infer_metrics_add_bounds(base, w->kind, w->le, w->n);
        }
    }

    len = infer_metrics_rec_size(w);
    rec = (infer_metrics_rec_t *) ((unsigned char *) base
                                   + infer_metrics_append(base, len));

    rec->size = (uint32_t) len;
    rec->type = INFER_MR_SERIES;
    rec->family = (uint16_t) w->family;
    rec->generation = generation;
    rec->data = hdr->data_used;
    rec->nvalues = w->nvalues;
    rec->buckets = b ? (uint32_t) ((const unsigned char *) b
                                   - (const unsigned char *) base)
                     : 0;

    p = (char *) (rec + 1);

    for (k = 0; k < 3; k++) {
        rec->len[k] = (uint16_t) w->len[k];

        if (w->len[k]) {
            memcpy(p, w->key[k], w->len[k]);
        }

        p += w->len[k] + 1;
    }

    hdr->data_used += w->nvalues * 8;

    __atomic_store_n(&hdr->dir_used, hdr->dir_used + (uint32_t) len,
                     __ATOMIC_RELEASE);

    return rec;
}


static void
infer_metrics_handle(const void *base, const infer_metrics_rec_t *rec,
    infer_metrics_series_t *s)
{
    const infer_metrics_rec_t     *b;
    const infer_metrics_family_t  *f;

    f = &infer_metrics_families[rec->family];

    memset(s, 0, sizeof(infer_metrics_series_t));

    if (f->type == INFER_MT_INFO) {
        return;
    }

    s->data = rec->data;
    s->kind = f->kind;
    s->n = f->nvalues ? f->nvalues : 1;

    b = infer_metrics_bounds(base, rec);

    if (b != NULL) {
        s->n = b->n;
        s->le = (const double *) (b + 1);
        s->ile = (const int64_t *) (s->le + b->n);

        if (f->flags & INFER_MF_EXEMPLARS) {
            s->exemplars = rec->data + (b->n + 2) * 8;
        }
    }
}


int
infer_metrics_fits(const void *base, size_t size,
    const infer_metrics_conf_t *conf, size_t *needed)
{
    size_t                      fresh;
    infer_metrics_plan_t        plan;
    const infer_metrics_hdr_t  *hdr;

    fresh = infer_metrics_fresh_size(conf);
    *needed = fresh;

    hdr = infer_metrics_header(base);

    if (hdr == NULL || hdr->size != size) {
        return size >= fresh ? INFER_OK : INFER_ENOSPC;
    }

    infer_metrics_plan(base, conf, &plan);

    if (hdr->dir_used + plan.dir > hdr->region
        || hdr->data_used + plan.data > hdr->region)
    {
        return INFER_ENOSPC;
    }

    return INFER_OK;
}


int
infer_metrics_init(infer_metrics_t **mp, void *base, size_t size,
    const infer_metrics_conf_t *conf, const infer_alloc_t *alloc,
    size_t *needed, char *err, size_t errlen)
{
    int                         rc;
    size_t                      row, nseries;
    uint32_t                    g, i;
    unsigned                    f;
    unsigned char              *slot;
    infer_metrics_t            *m;
    infer_metrics_hdr_t        *hdr;
    infer_metrics_rec_t        *rec;
    infer_metrics_want_t        w;
    const infer_metrics_rec_t  *old;

    *mp = NULL;
    *needed = 0;
    err[0] = '\0';

    if (size < INFER_METRICS_ALIGN
        || ((uintptr_t) base & (INFER_METRICS_ALIGN - 1)) != 0)
    {
        snprintf(err, errlen, "the metrics block is not 128-byte aligned or "
                 "too small");
        return INFER_EINVAL;
    }

    rc = infer_metrics_check(conf, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_metrics_fits(base, size, conf, needed);

    if (rc != INFER_OK) {
        if (*needed > size) {
            snprintf(err, errlen, "the metrics zone needs at least %zu bytes, "
                     "it has %zu", *needed, size);

        } else {
            snprintf(err, errlen, "the metrics zone of %zu bytes has no room "
                     "for the new series (it keeps those of removed models): "
                     "give it another size", size);
        }

        return rc;
    }

    nseries = (conf->nmodels + 1) * INFER_MF_N;

    m = infer_alloc(alloc, sizeof(infer_metrics_t)
                           + nseries * sizeof(infer_metrics_series_t));
    if (m == NULL) {
        snprintf(err, errlen, "no memory");
        return INFER_ERROR;
    }

    memset(m, 0, sizeof(infer_metrics_t)
                 + nseries * sizeof(infer_metrics_series_t));
    m->series = (infer_metrics_series_t *) (m + 1);
    m->nmodels = conf->nmodels;
    m->base = base;

    hdr = base;

    if (infer_metrics_header(base) == NULL || hdr->size != size) {
        infer_metrics_lay_out(base, size, conf);
    }

    g = hdr->generation + 1;

    for (row = 0; row <= conf->nmodels; row++) {
        for (f = 0; f < INFER_MF_N; f++) {

            if (!infer_metrics_wanted(conf, row, f, &w)) {
                continue;
            }

            old = infer_metrics_find(base, &w);

            if (old != NULL && infer_metrics_same_bounds(base, old, &w)) {
                rec = (infer_metrics_rec_t *) old;
                __atomic_store_n(&rec->generation, g, __ATOMIC_RELEASE);

            } else {
                rec = infer_metrics_add_series(base, &w, g);

                /* new buckets or labels: carry the values over */

                if (old != NULL) {
                    for (i = 0; i < hdr->nslots; i++) {
                        slot = (unsigned char *) infer_metrics_slot(base, i);
                        infer_metrics_move(slot, rec, base, slot, old, base);
                    }
                }
            }

            infer_metrics_handle(base, rec, &m->series[row * INFER_MF_N + f]);
        }
    }

    __atomic_store_n(&hdr->generation, g, __ATOMIC_RELEASE);

    /* the shared slot until infer_metrics_attach() */

    m->slot_index = hdr->nslots - 1;
    m->slot = (unsigned char *) infer_metrics_slot(base, m->slot_index);
    m->shared = 1;

    *mp = m;

    return INFER_OK;
}


int
infer_metrics_migrate(infer_metrics_t *m, const void *old_base,
    size_t old_size)
{
    uint32_t                     i;
    unsigned char               *dslot;
    const unsigned char         *sslot;
    infer_metrics_hdr_t         *hdr;
    infer_metrics_want_t         w;
    infer_metrics_slot_t        *ds;
    const infer_metrics_rec_t   *rec, *old;
    const infer_metrics_hdr_t   *ohdr;
    const infer_metrics_slot_t  *os;

    hdr = (infer_metrics_hdr_t *) m->base;
    ohdr = infer_metrics_header(old_base);

    if (ohdr == NULL || ohdr->size != old_size) {
        return INFER_EINVAL;
    }

    hdr->start_ms = ohdr->start_ms;

    for (rec = infer_metrics_next(m->base, NULL); rec != NULL;
         rec = infer_metrics_next(m->base, rec))
    {
        if (rec->type != INFER_MR_SERIES
            || !infer_metrics_active(m->base, rec))
        {
            continue;
        }

        /* a key to look the series up with in the old block */

        memset(&w, 0, sizeof(infer_metrics_want_t));
        w.family = rec->family;

        for (i = 0; i < 3; i++) {
            w.key[i] = infer_metrics_key(rec, i);
            w.len[i] = rec->len[i];
        }

        old = infer_metrics_find(old_base, &w);
        if (old == NULL) {
            continue;
        }

        for (i = 0; i < ohdr->nslots; i++) {
            dslot = (unsigned char *) infer_metrics_slot(m->base,
                                                         i % hdr->nslots);
            sslot = (const unsigned char *) infer_metrics_slot(old_base, i);

            infer_metrics_move(dslot, rec, m->base, sslot, old, old_base);
        }
    }

    for (i = 0; i < ohdr->nslots; i++) {
        os = infer_metrics_slot(old_base, i);
        ds = (infer_metrics_slot_t *) infer_metrics_slot(m->base,
                                                         i % hdr->nslots);

        if (__atomic_load_n(&os->used, __ATOMIC_RELAXED)) {
            __atomic_store_n(&ds->used, 1, __ATOMIC_RELAXED);
        }
    }

    return INFER_OK;
}


/* reading */

const infer_metrics_hdr_t *
infer_metrics_header(const void *base)
{
    const infer_metrics_hdr_t  *hdr = base;

    if (base == NULL
        || hdr->magic != INFER_METRICS_MAGIC
        || hdr->layout != INFER_METRICS_LAYOUT)
    {
        return NULL;
    }

    return hdr;
}


const infer_metrics_rec_t *
infer_metrics_next(const void *base, const infer_metrics_rec_t *rec)
{
    const infer_metrics_hdr_t  *hdr = base;

    uint32_t                    used;
    const unsigned char        *dir, *p;

    used = __atomic_load_n(&hdr->dir_used, __ATOMIC_ACQUIRE);
    dir = (const unsigned char *) base + INFER_METRICS_ALIGN;

    if (rec != NULL && rec->size < sizeof(infer_metrics_rec_t)) {
        return NULL;
    }

    p = (rec == NULL) ? dir : (const unsigned char *) rec + rec->size;

    if (p + sizeof(infer_metrics_rec_t) > dir + used) {
        return NULL;
    }

    return (const infer_metrics_rec_t *) p;
}


int
infer_metrics_active(const void *base, const infer_metrics_rec_t *rec)
{
    const infer_metrics_hdr_t  *hdr = base;

    return rec->type == INFER_MR_SERIES
           && __atomic_load_n(&rec->generation, __ATOMIC_ACQUIRE)
              >= __atomic_load_n(&hdr->generation, __ATOMIC_ACQUIRE);
}


const char *
infer_metrics_key(const infer_metrics_rec_t *rec, unsigned k)
{
    unsigned     i;
    const char  *p;

    p = (const char *) (rec + 1);

    for (i = 0; i < k; i++) {
        p += rec->len[i] + 1;
    }

    return p;
}


const infer_metrics_rec_t *
infer_metrics_bounds(const void *base, const infer_metrics_rec_t *rec)
{
    if (rec->buckets == 0) {
        return NULL;
    }

    return (const infer_metrics_rec_t *) ((const unsigned char *) base
                                          + rec->buckets);
}
