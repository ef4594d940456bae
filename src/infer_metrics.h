/*
 * The metrics block: counters and histograms of every worker in one piece
 * of shared memory, laid out at configuration time.
 *
 * The block holds a header, a directory and one region per worker slot.
 * The directory names each series (family, model) and gives the offset of
 * its values inside a slot region; a reload finds the existing series by
 * name, keeps their values and appends the new ones.  Each worker process
 * claims a slot and is its only writer: it adds with plain relaxed loads
 * and stores, no lock prefix and no shared cache line.  A process that
 * finds no slot free uses the last one, shared, with atomic adds.  The
 * renderer (infer_prom.c) sums the slots.
 *
 * Nothing here allocates at run time: all updates land at offsets fixed
 * by infer_metrics_init().
 */

#ifndef INFER_METRICS_H
#define INFER_METRICS_H


#include "infer_core.h"


#ifndef INFER_ENOSPC
#define INFER_ENOSPC              -16  /* the block is too small: *needed */
#endif

#define INFER_METRICS_PREFIX      "nginx_infer_"
#define INFER_METRICS_MAX_BUCKETS 64   /* finite bounds of one histogram */
#define INFER_METRICS_MAX_STRING  1024 /* bytes of a name, version, format */
#define INFER_METRICS_ALIGN       128  /* of the header and of each region */
#define INFER_METRICS_NOMODEL     ((size_t) -1)  /* worker, global series */


/* requests_total{code}: the statuses the module answers with */

enum {
    INFER_CODE_200 = 0,
    INFER_CODE_400,
    INFER_CODE_404,
    INFER_CODE_405,
    INFER_CODE_413,
    INFER_CODE_415,
    INFER_CODE_422,
    INFER_CODE_500,
    INFER_CODE_503,
    INFER_CODE_OTHER,
    INFER_NCODES
};


/* errors_total{reason} */

#define INFER_REASON_NONE  -1

enum {
    INFER_REASON_BAD_JSON = 0,
    INFER_REASON_BAD_REQUEST,
    INFER_REASON_BAD_SHAPE,
    INFER_REASON_NON_FINITE,
    INFER_REASON_TOO_LARGE,
    INFER_REASON_METHOD,
    INFER_REASON_CONTENT_TYPE,
    INFER_REASON_UNKNOWN_MODEL,
    INFER_REASON_INTERNAL,
    INFER_NREASONS
};


/* image_refused_total{reason}: infer_image_reason_e's, from 1 */
#define INFER_IMAGE_NREFUSALS  5


/* otel_spans_dropped_total{reason}: why spans never reached a collector */

enum {
    INFER_OTEL_DROP_QUEUE_FULL = 0,   /* every batch waiting: collector slow */
    INFER_OTEL_DROP_REJECTED,         /* a 4xx, or rejected in a 200 */
    INFER_OTEL_DROP_FAILED,           /* retried until the time ran out */
    INFER_OTEL_DROP_SHUTDOWN,         /* still queued when the worker quit */
    INFER_OTEL_DROP_TOO_LARGE,        /* bigger than a whole batch */
    INFER_OTEL_NDROPS
};


/* otel_exports_total{outcome}: export requests */

enum {
    INFER_OTEL_EXPORT_OK = 0,         /* 2xx */
    INFER_OTEL_EXPORT_RETRYABLE,      /* 429, 502, 503, 504: retried */
    INFER_OTEL_EXPORT_REJECTED,       /* any other status: dropped */
    INFER_OTEL_EXPORT_TIMEOUT,        /* no answer within infer_otel_timeout */
    INFER_OTEL_EXPORT_NETWORK,        /* refused, reset, TLS, bad response */
    INFER_OTEL_NEXPORTS
};


/*
 * sched_probe_source{source}: rendered from the probe, not kept in the
 * block (infer_prom_host_t)
 */

enum {
    INFER_PROBE_NONE = 0,
    INFER_PROBE_BPF,
    INFER_PROBE_SCHEDSTAT,
    INFER_NPROBES
};

extern const char *const  infer_metrics_probe_sources[INFER_NPROBES];


/* the families, in the order they are rendered */

typedef enum {
    INFER_MF_REQUESTS = 0,            /* requests_total{model,code} */
    INFER_MF_PREDICTIONS,             /* predictions_total{model} */
    INFER_MF_ERRORS,                  /* errors_total{model,reason} */
    INFER_MF_IN_FLIGHT,               /* requests_in_flight{model} */
    INFER_MF_REQUEST_DURATION,        /* request_duration_seconds{model} */
    INFER_MF_INFERENCE_DURATION,      /* inference_duration_seconds{model} */
    INFER_MF_QUEUE_DURATION,          /* queue_duration_seconds{model} */
    INFER_MF_BATCH_SIZE,              /* batch_size{model} */
    INFER_MF_PREDICTION,              /* prediction{model} */
    INFER_MF_MODEL_INFO,              /* model_info{model,version,format} */
    INFER_MF_WORKER_REQUESTS,         /* worker_requests_total{worker} */
    INFER_MF_REQUEST_SCHED,           /* request_sched_delay_seconds{model} */
    INFER_MF_BUILD_INFO,              /* build_info{version} */
    INFER_MF_START_TIME,              /* start_time_seconds */
    INFER_MF_OTEL_EXPORTED,           /* otel_spans_exported_total */
    INFER_MF_OTEL_DROPPED,            /* otel_spans_dropped_total{reason} */
    INFER_MF_OTEL_EXPORTS,            /* otel_exports_total{outcome} */
    INFER_MF_OTEL_EXPORT_DURATION,    /* otel_export_duration_seconds */
    INFER_MF_IMAGE_DECODE_DURATION,   /* image_decode_duration_seconds{model} */
    INFER_MF_IMAGE_REFUSED,           /* image_refused_total{model,reason} */
    INFER_MF_N
} infer_metrics_family_e;


typedef enum {
    INFER_MT_COUNTER = 0,
    INFER_MT_GAUGE,
    INFER_MT_HISTOGRAM,
    INFER_MT_INFO                     /* a gauge of 1 carrying labels */
} infer_metrics_type_e;


typedef enum {
    INFER_MS_MODEL = 0,               /* one series per model, slots summed */
    INFER_MS_WORKER,                  /* one series per slot */
    INFER_MS_GLOBAL                   /* one series, kept in the shared slot */
} infer_metrics_scope_e;


typedef enum {
    INFER_MV_COUNT = 0,               /* uint64_t, rendered as an integer */
    INFER_MV_NS,                      /* uint64_t nanoseconds, as seconds */
    INFER_MV_REAL                     /* a double's bits */
} infer_metrics_kind_e;


typedef enum {
    INFER_MB_NONE = 0,
    INFER_MB_LATENCY,                 /* seconds: durations */
    INFER_MB_BATCH,                   /* rows */
    INFER_MB_PREDICTION,              /* model output: none by default */
    INFER_MB_SCHED,                   /* seconds: run-queue delay */
    INFER_MB_EXPORT,                  /* seconds: a trace export */
    INFER_MB_N
} infer_metrics_bucket_set_e;


#define INFER_MF_EXEMPLARS  0x01      /* buckets keep a recent trace id */
#define INFER_MF_LIVE       0x02      /* work in progress: a dead process's
                                         share is zeroed */
#define INFER_MF_OPTIONAL   0x04      /* only when configured */
#define INFER_MF_SIGNED     0x08      /* observations may be negative */


typedef struct {
    const char          *name;        /* after the prefix; _total, _info */
    const char          *help;
    const char          *unit;        /* OpenMetrics UNIT, or NULL */
    uint8_t              type;        /* infer_metrics_type_e */
    uint8_t              scope;       /* infer_metrics_scope_e */
    uint8_t              kind;        /* infer_metrics_kind_e */
    uint8_t              buckets;     /* infer_metrics_bucket_set_e */
    uint8_t              flags;       /* INFER_MF_* */
    uint8_t              nkeys;       /* strings naming a series, 0..3 */
    const char          *keys[3];     /* their label names */
    const char          *label;       /* a fixed label set: its name */
    const char *const   *values;      /* and its values */
    uint32_t             nvalues;
} infer_metrics_family_t;


extern const infer_metrics_family_t  infer_metrics_families[INFER_MF_N];


/* configuration */

typedef struct {
    const char          *name;
    size_t               name_len;
    const char          *version;
    size_t               version_len;
    const char          *format;      /* "linear", "xgboost", "onnx" */
    size_t               format_len;
    unsigned             images:1;    /* image_decode_duration_seconds */
} infer_metrics_model_conf_t;


typedef struct {
    const double        *bounds;      /* finite, strictly increasing */
    size_t               n;           /* 0: the default (prediction: off) */
} infer_metrics_buckets_t;


typedef struct {
    const infer_metrics_model_conf_t  *models;
    size_t                             nmodels;
    infer_metrics_buckets_t            buckets[INFER_MB_N];
    unsigned                           nworkers;   /* worker_processes */
    const char                        *version;    /* build_info */
    uint64_t                           now_ms;     /* unix time */
    unsigned                           queue:1;    /* queue_duration */
    unsigned                           sched:1;    /* request_sched_delay */
    unsigned                           otel:1;     /* otel_* families */
} infer_metrics_conf_t;


extern const double  infer_metrics_default_latency[13];
extern const double  infer_metrics_default_batch[11];
extern const double  infer_metrics_default_export[13];


/*
 * The block's layout, shared with the renderer.  Offsets are from the
 * block's start; region 0 is the directory, slot i is region i + 1.
 */

#define INFER_METRICS_MAGIC   0x4d464e49    /* "INFM" */
#define INFER_METRICS_LAYOUT  1

typedef struct {
    uint32_t             magic;
    uint32_t             layout;
    uint64_t             size;
    uint64_t             start_ms;    /* unix time of the first creation */
    uint32_t             nslots;      /* the last slot is the shared one */
    uint32_t             region;      /* bytes of each region */
    uint32_t             dir_used;    /* atomic: published directory bytes */
    uint32_t             data_used;   /* bytes of each slot laid out */
    uint32_t             generation;  /* atomic: the configuration shown */
    uint32_t             reserved;
} infer_metrics_hdr_t;


#define INFER_MR_SERIES   1
#define INFER_MR_BUCKETS  2

/* a directory record: a series, or a set of bucket bounds */

typedef struct {
    uint32_t             size;        /* to the next record */
    uint16_t             type;        /* INFER_MR_* */
    uint16_t             family;      /* series: infer_metrics_family_e */
    uint32_t             generation;  /* atomic: the last that used it */
    uint32_t             data;        /* series: its values' slot offset */
    uint32_t             nvalues;     /* series: 8-byte values per slot */
    uint32_t             buckets;     /* series: its bounds record, or 0 */
    uint16_t             len[3];      /* series: its key strings */
    uint16_t             n;           /* bounds: finite bounds */
    /* series: the key strings, each NUL-terminated; bounds: double le[n],
       then int64_t ile[n], the bounds as compared (ns or rows) */
} infer_metrics_rec_t;


/* a slot region starts with this, in its own 128 bytes */

typedef struct {
    int32_t              pid;         /* atomic: 0 free, > 0 its process,
                                         < 0 being reset by -pid */
    uint32_t             used;        /* atomic: claimed at least once */
    uint32_t             claims;      /* atomic: times claimed */
    uint32_t             reclaims;    /* atomic: from a dead process */
} infer_metrics_slot_t;


/* an exemplar in a slot: a seqlock and four words */

#define INFER_METRICS_EX_WORDS  5

typedef struct {
    uint64_t             seq;         /* odd while being written */
    uint64_t             id[2];       /* trace id bytes, in two words */
    uint64_t             value;       /* as the family's kind */
    uint64_t             ts_ms;       /* unix time */
} infer_metrics_exemplar_t;


/* the per-process view: where this process's series are */

typedef struct {
    uint32_t             data;        /* slot offset of the values, 0: off */
    uint32_t             n;           /* fixed labels, or finite bounds */
    uint32_t             exemplars;   /* slot offset of exemplars, 0: none */
    uint32_t             kind;
    const int64_t       *ile;         /* histograms: bounds compared */
    const double        *le;
} infer_metrics_series_t;


typedef struct {
    unsigned char           *base;
    unsigned char           *slot;    /* this process's slot data */
    uint32_t                 slot_index;
    int32_t                  pid;
    unsigned                 shared:1;  /* slot shared: atomic adds */
    size_t                   nmodels;
    infer_metrics_series_t  *series;  /* (nmodels + 1) x INFER_MF_N, the
                                         last row for worker and global */
} infer_metrics_t;


typedef int (*infer_metrics_alive_pt)(void *ctx, int32_t pid);


/* one finished request */

typedef struct {
    int                  status;      /* HTTP status sent */
    int                  reason;      /* INFER_REASON_*, or _NONE */
    uint32_t             rows;        /* predictions made */
    uint64_t             request_ns;
    uint64_t             inference_ns;
    uint64_t             queue_ns;
    uint64_t             sched_ns;    /* run-queue delay while served */
    uint64_t             decode_ns;   /* an image's decoding */
    int                  image_refusal;  /* infer_image_reason_e, or 0 */
    double               prediction;  /* first output of the first row */
    const uint8_t       *trace_id;    /* 16 bytes, or NULL: no exemplar */
    uint64_t             now_ms;      /* unix time, for exemplars */
    unsigned             evaluated:1; /* rows, inference_ns, prediction */
    unsigned             queued:1;    /* queue_ns */
    unsigned             sched:1;     /* sched_ns */
    unsigned             decoded:1;   /* decode_ns */
} infer_metrics_obs_t;


/*
 * Sizes: the least a block for conf needs, and that with the headroom of
 * doubling, rounded up to a power of two, so that a reload adding models
 * keeps the same size and the zone is reused.
 */
size_t infer_metrics_size(const infer_metrics_conf_t *conf);
size_t infer_metrics_size_auto(const infer_metrics_conf_t *conf);

/*
 * Lays out a new block, or re-attaches a block laid out before (same
 * size, magic and layout): existing series keep their values, series new
 * to conf are appended, series absent from conf are hidden but kept.  *mp
 * is allocated with alloc and maps conf's models, in order, to their
 * series.  INFER_ENOSPC: *needed is the size to ask for; INFER_EINVAL: err
 * says what is wrong with conf.  On error the block is left unchanged.
 */
int infer_metrics_init(infer_metrics_t **mp, void *base, size_t size,
    const infer_metrics_conf_t *conf, const infer_alloc_t *alloc,
    size_t *needed, char *err, size_t errlen);

/* a dry run of re-attaching: INFER_OK if conf fits in the block */
int infer_metrics_fits(const void *base, size_t size,
    const infer_metrics_conf_t *conf, size_t *needed);

/*
 * After infer_metrics_init() laid out a new block: adds the values of an
 * old block (a zone whose size changed) to the series of the same names,
 * and keeps its start time.  Live gauges are not carried over.
 */
int infer_metrics_migrate(infer_metrics_t *m, const void *old_base,
    size_t old_size);

/*
 * Slots.  attach claims a free slot, or one whose process is dead
 * (alive(ctx, pid) == 0): its counters are kept, its live gauges zeroed.
 * With none, the process shares the last slot.  reap frees the slots of
 * dead processes (the glue calls it before rendering); it returns how
 * many it freed.
 */
int infer_metrics_attach(infer_metrics_t *m, int32_t pid,
    infer_metrics_alive_pt alive, void *ctx);
void infer_metrics_detach(infer_metrics_t *m);
unsigned infer_metrics_reap(infer_metrics_t *m, infer_metrics_alive_pt alive,
    void *ctx);

/*
 * The hot path, in the process that attached: request_start() counts the
 * request in flight, request_done() ends it and records it (requests by
 * code, errors by reason, durations with exemplars, rows and batch size).
 * Call both, or neither: an unknown model has no series (use
 * INFER_METRICS_NOMODEL, counted by worker only, or give such requests a
 * model of their own in the configuration).
 */
void infer_metrics_request_start(infer_metrics_t *m, size_t model);
void infer_metrics_request_done(infer_metrics_t *m, size_t model,
    const infer_metrics_obs_t *o);

int infer_metrics_code(int status);
int infer_metrics_reason(int rc);

/* any family: model is an index in conf, or INFER_METRICS_NOMODEL */
void infer_metrics_add(infer_metrics_t *m, size_t model, unsigned family,
    size_t label, int64_t v);
void infer_metrics_set(infer_metrics_t *m, size_t model, unsigned family,
    size_t label, int64_t v);
void infer_metrics_observe(infer_metrics_t *m, size_t model,
    unsigned family, uint64_t v, const uint8_t *trace_id, uint64_t now_ms);
void infer_metrics_observe_real(infer_metrics_t *m, size_t model,
    unsigned family, double v);

/*
 * Adds the values of srec, in a slot of the block at sbase, to drec, in
 * a slot of dbase (the same block or another): counters by label,
 * histograms re-bucketed when their bounds differ.  Live gauges and
 * exemplars are not moved.
 */
void infer_metrics_move(unsigned char *dslot, const infer_metrics_rec_t *drec,
    const void *dbase, const unsigned char *sslot,
    const infer_metrics_rec_t *srec, const void *sbase);

/* reading, for the renderer and tests: NULL if base is no block */
const infer_metrics_hdr_t *infer_metrics_header(const void *base);
const infer_metrics_rec_t *infer_metrics_next(const void *base,
    const infer_metrics_rec_t *rec);
int infer_metrics_active(const void *base, const infer_metrics_rec_t *rec);
const char *infer_metrics_key(const infer_metrics_rec_t *rec, unsigned k);
const infer_metrics_rec_t *infer_metrics_bounds(const void *base,
    const infer_metrics_rec_t *rec);
const infer_metrics_slot_t *infer_metrics_slot(const void *base,
    uint32_t slot);
uint64_t infer_metrics_value(const void *base, uint32_t slot,
    const infer_metrics_rec_t *rec, uint32_t i);
uint64_t infer_metrics_sum(const void *base, const infer_metrics_rec_t *rec,
    uint32_t i);
double infer_metrics_sum_real(const void *base,
    const infer_metrics_rec_t *rec, uint32_t i);
int infer_metrics_exemplar(const void *base, const infer_metrics_rec_t *rec,
    uint32_t bucket, infer_metrics_exemplar_t *ex);


#endif /* INFER_METRICS_H */
