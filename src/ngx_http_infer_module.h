#ifndef NGX_HTTP_INFER_MODULE_H
#define NGX_HTTP_INFER_MODULE_H


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "infer_core.h"
#include "infer_model.h"
#include "infer_json.h"
#include "infer_v2.h"
#include "infer_metrics.h"
#include "infer_prom.h"
#include "infer_trace.h"
#include "infer_image.h"


#define NGX_HTTP_INFER_VERSION        "0.1.0"

#define NGX_HTTP_INFER_UNPROCESSABLE  422     /* nginx has no name for it */


/* infer_sched_probe */
#define NGX_HTTP_INFER_SCHED_OFF        0
#define NGX_HTTP_INFER_SCHED_ON         1
#define NGX_HTTP_INFER_SCHED_SCHEDSTAT  2


typedef enum {
    NGX_HTTP_INFER_NONE = 0,
    NGX_HTTP_INFER_PREDICT,
    NGX_HTTP_INFER_HEALTH,
    NGX_HTTP_INFER_READY,
    NGX_HTTP_INFER_V2_ENDPOINTS,
    NGX_HTTP_INFER_METRICS
} ngx_http_infer_kind_e;


typedef struct {
    ngx_str_t                 name;
    ngx_str_t                 version;
    ngx_str_t                 path;           /* as resolved, NUL-terminated */
    infer_model_t            *model;          /* immutable after loading */
    infer_buf_t               fields;         /* ,"model_name":..., escaped */
    ngx_flag_t                warm;           /* this worker evaluated it */
    ngx_uint_t                ns_per_row;     /* measured by the warm-up */

    /* images in (image=WxH ...), and a classifier's answer (labels=) */
    infer_image_prep_t       *image;          /* NULL: JSON only */
    ngx_uint_t                max_pixels;
    ngx_str_t                 labels_path;
    infer_buf_t              *labels;         /* quoted JSON strings */
    size_t                    nlabels;
    ngx_uint_t                top_k;          /* 0: the outputs as they are */
    ngx_flag_t                softmax;        /* scores=softmax */
} ngx_http_infer_model_t;


typedef struct {
    ngx_array_t               models;         /* of ngx_http_infer_model_t */
    ngx_array_t               v2_models;      /* of infer_v2_model_t, same
                                                 order */
    ngx_flag_t                used;           /* some location serves us */

    /* metrics: one zone, laid out when the http block is parsed */
    ngx_shm_zone_t           *zone;
    size_t                    zone_size;      /* infer_metrics_zone, or 0 */
    ngx_array_t              *latency_buckets;     /* of double, seconds */
    ngx_array_t              *prediction_buckets;  /* of double */
    infer_metrics_conf_t      mconf;
    infer_metrics_t          *metrics;        /* this process's view */
    infer_alloc_t            *metrics_alloc;  /* the cycle's pool */

    infer_trace_rng_t         rng;            /* seeded in each process */

    ngx_uint_t                sched_probe;    /* NGX_HTTP_INFER_SCHED_* */
    ngx_uint_t                sched_source;   /* INFER_PROBE_*, this cycle */
} ngx_http_infer_main_conf_t;


typedef struct {
    ngx_http_infer_kind_e     kind;
    ngx_http_infer_model_t   *model;
    ngx_str_t                 model_name;     /* until merge resolves it */
    ngx_uint_t                model_line;
    u_char                   *model_file;
    ngx_uint_t                max_batch;
#if (NGX_THREADS)
    ngx_thread_pool_t        *thread_pool;
#endif
    ngx_uint_t                offload_ns;     /* rows x cost to offload */
    ngx_uint_t                metrics_format; /* INFER_PROM_*, or -1: ask */
} ngx_http_infer_loc_conf_t;


typedef struct ngx_http_infer_ctx_s  ngx_http_infer_ctx_t;


/*
 * A protocol, as the pipeline sees it: accepts says whether it reads the
 * body's Content-Type (NULL, or the 415's message), parse turns the body
 * into ctx->x and ctx->rows, respond writes ctx->y out.  The simple one
 * and V2's.
 */

typedef struct {
    const char             *(*accepts)(ngx_http_request_t *r,
                                       ngx_http_infer_model_t *im);
    ngx_int_t               (*parse)(ngx_http_request_t *r,
                                     ngx_http_infer_ctx_t *ctx);
    ngx_int_t               (*respond)(ngx_http_request_t *r,
                                       ngx_http_infer_ctx_t *ctx);
} ngx_http_infer_proto_t;


/*
 * The moments of a request the module records (CLOCK_MONOTONIC ns, 0:
 * did not happen): the metrics, the log variables and the spans all read
 * them from here.  A stage may take its time from the one before it: the
 * body "arrives" with the request when it came with the head, and the
 * model starts when parsing ends, unless a thread takes it.
 */

typedef enum {
    NGX_HTTP_INFER_T_ARRIVAL = 0,   /* the module took the request */
    NGX_HTTP_INFER_T_BODY,          /* its body had arrived */
    NGX_HTTP_INFER_T_PARSED,        /* the body was parsed (or refused) */
    NGX_HTTP_INFER_T_POSTED,        /* handed to a pool thread */
    NGX_HTTP_INFER_T_DECODE,        /* an image's decoding started */
    NGX_HTTP_INFER_T_EVAL,          /* the model started */
    NGX_HTTP_INFER_T_EVALUATED,     /* the model ended */
    NGX_HTTP_INFER_T_DONE,          /* the answer is ready, in the loop */
    NGX_HTTP_INFER_T_END,           /* the log phase */
    NGX_HTTP_INFER_T_N
} ngx_http_infer_stage_e;


/*
 * Per request: what the pipeline (body, parse, evaluate, respond) carries
 * from one step to the next, what the error filter needs, and what the
 * log phase records.  src/ngx_http_infer_request.c owns its lifecycle.
 */

/*
 * An image body on its way to the model's input: what decoding needs,
 * handed to a pool thread or run inline; nothing of nginx's inside.
 */

typedef struct {
    const u_char             *data;
    size_t                    len;
    infer_image_info_t        info;
    const infer_image_prep_t *prep;
    u_char                   *rgb;            /* width x height x 3 */
    void                     *scratch;
    float                    *x;              /* the model's input row */
    int                       rc;
    infer_image_error_t       error;
} ngx_http_infer_image_job_t;


struct ngx_http_infer_ctx_s {
    const ngx_http_infer_proto_t  *proto;
    ngx_http_infer_model_t   *model;
    infer_alloc_t            *alloc;          /* r->pool for the core */
    float                    *x;              /* rows x nfeatures */
    float                    *y;              /* rows x noutputs */
    size_t                    rows;
    ngx_str_t                 id;             /* a V2 request's "id" */
    uint64_t                  outputs;        /* V2: asked for, by bit */
    uint64_t                  binary;         /* V2: of those, as bytes */
    uint64_t                  t[NGX_HTTP_INFER_T_N];
    uint64_t                  sched_start;    /* worker's run delay, ns */
    uint64_t                  sched_ns;       /* suffered while served */
    void                     *task;           /* on the thread pool */
    ngx_http_infer_image_job_t  *image;       /* an image body, or NULL */
    ngx_uint_t                top_k;          /* the answer's classes */
    ngx_uint_t                image_refusal;  /* infer_image_reason_e */
    infer_trace_t             trace;
    u_char                   *traceparent;    /* as sent, or NULL */
    ngx_str_t                 route;          /* the span's, or the
                                                 location's name */
    ngx_str_t                 prediction;     /* y[0] in the body sent */
    ngx_int_t                 reason;         /* INFER_REASON_* */
    ngx_uint_t                tracked:1;      /* the lifecycle began */
    ngx_uint_t                counted:1;      /* in the metrics */
    ngx_uint_t                traced:1;       /* spans, if sampled */
    ngx_uint_t                finished:1;     /* END, sampled: decided */
    ngx_uint_t                exported:1;     /* its spans were queued */
    ngx_uint_t                offloaded:1;
    ngx_uint_t                evaluated:1;
    ngx_uint_t                sched:1;        /* sched_start was read */
    ngx_uint_t                sched_done:1;   /* sched_ns too */

    ngx_uint_t                batch:1;        /* "instances" */
    ngx_uint_t                own_response:1; /* the body is ours already */
    ngx_uint_t                replace_body:1; /* the filter swaps it */
    ngx_buf_t                *error_body;
};


/* ngx_http_infer_request_begin() */
#define NGX_HTTP_INFER_COUNT     0x01     /* in the metrics */


extern ngx_module_t  ngx_http_infer_module;


ngx_int_t ngx_http_infer_predict_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_health_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_ready_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_v2_handler(ngx_http_request_t *r);

/* the request's lifecycle: src/ngx_http_infer_request.c */
ngx_int_t ngx_http_infer_request_init(ngx_conf_t *cf);
ngx_http_infer_ctx_t *ngx_http_infer_get_ctx(ngx_http_request_t *r);
ngx_http_infer_ctx_t *ngx_http_infer_request_begin(ngx_http_request_t *r,
    ngx_http_infer_model_t *im, ngx_uint_t flags);
void ngx_http_infer_set_reason(ngx_http_request_t *r, ngx_int_t reason);
void ngx_http_infer_set_route(ngx_http_request_t *r, const char *route);
ngx_http_infer_ctx_t *ngx_http_infer_request_end(ngx_http_request_t *r);
const char *ngx_http_infer_outcome(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
ngx_table_elt_t *ngx_http_infer_find_header(ngx_http_request_t *r,
    const char *name, size_t len);
uint64_t ngx_http_infer_now_ns(void);
uint64_t ngx_http_infer_unix_ns(uint64_t mono_ns);
void ngx_http_infer_clock_sync(void);

#define ngx_http_infer_stage(ctx, s)  ((ctx)->t[s] = ngx_http_infer_now_ns())

/* the pipeline, shared by the protocols: src/ngx_http_infer_pipeline.c */
ngx_int_t ngx_http_infer_start(ngx_http_request_t *r,
    ngx_http_infer_model_t *im, const ngx_http_infer_proto_t *proto);
ngx_int_t ngx_http_infer_is_json(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_type_is(ngx_str_t *type, const char *want,
    size_t len);
ngx_int_t ngx_http_infer_feed_body(ngx_http_request_t *r,
    int (*feed)(void *parser, const u_char *data, size_t len), void *parser);
ngx_int_t ngx_http_infer_not_allowed(ngx_http_request_t *r, char *allow);
ngx_int_t ngx_http_infer_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg);
ngx_uint_t ngx_http_infer_all_warm(ngx_http_infer_main_conf_t *imcf);

/* the thread pool: NGX_OK, and done(r, rc) finishes; or NGX_DECLINED */
typedef void (*ngx_http_infer_done_pt)(ngx_http_request_t *r, ngx_int_t rc);

ngx_int_t ngx_http_infer_offload(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, ngx_http_infer_done_pt done);

/* image bodies and classifier answers: src/ngx_http_infer_image.c */
ngx_int_t ngx_http_infer_image_arg(ngx_conf_t *cf,
    ngx_http_infer_model_t *im, ngx_str_t *arg);
ngx_int_t ngx_http_infer_image_check(ngx_conf_t *cf,
    ngx_http_infer_model_t *im);
ngx_int_t ngx_http_infer_image_type(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_image_parse(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
int ngx_http_infer_image_run(ngx_http_infer_image_job_t *job);
ngx_int_t ngx_http_infer_image_refuse(ngx_http_request_t *r,
    const infer_image_error_t *e);
ngx_int_t ngx_http_infer_top_k(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
ngx_int_t ngx_http_infer_topk_respond(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);

/* the cost of decoding and preprocessing a pixel, for the offload rule */
#define NGX_HTTP_INFER_IMAGE_NS_PER_PIXEL  8

/* responses: src/ngx_http_infer_response.c */
ngx_int_t ngx_http_infer_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b);
ngx_int_t ngx_http_infer_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
ngx_int_t ngx_http_infer_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg);
ngx_int_t ngx_http_infer_error_handler(ngx_http_request_t *r);
ngx_uint_t ngx_http_infer_status(int rc);
ngx_buf_t *ngx_http_infer_buf(ngx_http_request_t *r, infer_buf_t *out);
infer_alloc_t *ngx_http_infer_pool_alloc(ngx_pool_t *pool);

ngx_int_t ngx_http_infer_response_init(ngx_conf_t *cf);

/* metrics and log variables */
ngx_int_t ngx_http_infer_metrics_handler(ngx_http_request_t *r);
char *ngx_http_infer_metrics_init_conf(ngx_conf_t *cf,
    ngx_http_infer_main_conf_t *imcf);
void ngx_http_infer_metrics_init_process(ngx_cycle_t *cycle,
    ngx_http_infer_main_conf_t *imcf);
void ngx_http_infer_metrics_exit_process(ngx_http_infer_main_conf_t *imcf);
char *ngx_http_infer_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_infer_buckets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_uint_t ngx_http_infer_model_index(ngx_http_infer_main_conf_t *imcf,
    ngx_http_infer_model_t *im);
uint64_t ngx_http_infer_now_ms(void);
ngx_int_t ngx_http_infer_add_variables(ngx_conf_t *cf);

/* the log variables, and the whole JSON line made of them */
typedef enum {
    NGX_HTTP_INFER_VAR_MODEL = 0,
    NGX_HTTP_INFER_VAR_MODEL_VERSION,
    NGX_HTTP_INFER_VAR_STATUS,
    NGX_HTTP_INFER_VAR_BATCH_SIZE,
    NGX_HTTP_INFER_VAR_LATENCY_US,
    NGX_HTTP_INFER_VAR_PREDICTION,
    NGX_HTTP_INFER_VAR_TRACE_ID,
    NGX_HTTP_INFER_VAR_SPAN_ID,
    NGX_HTTP_INFER_VAR_SCHED_DELAY_US,
    NGX_HTTP_INFER_VAR_TRACE_SAMPLED
} ngx_http_infer_var_e;

ngx_int_t ngx_http_infer_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_infer_variable_of(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, ngx_http_variable_value_t *v, uintptr_t data);
ngx_int_t ngx_http_infer_log_json_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* the scheduler-delay probe */
extern ngx_conf_enum_t  ngx_http_infer_sched_probes[];

ngx_int_t ngx_http_infer_sched_init_module(ngx_cycle_t *cycle);
void ngx_http_infer_sched_exit_master(void);
void ngx_http_infer_sched_init_process(ngx_cycle_t *cycle,
    ngx_http_infer_main_conf_t *imcf);
void ngx_http_infer_sched_exit_process(void);
void ngx_http_infer_sched_start(ngx_http_infer_ctx_t *ctx);
void ngx_http_infer_sched_finish(ngx_http_infer_ctx_t *ctx);
ngx_int_t ngx_http_infer_sched_host(ngx_http_request_t *r,
    infer_prom_host_t *host);


#endif /* NGX_HTTP_INFER_MODULE_H */
