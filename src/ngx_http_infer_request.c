/*
 * A request's lifecycle in the module: its ctx, its trace, the moments
 * of its stages, and its finish at the log phase, where the metrics, the
 * spans and the log variables all read the same record.
 *
 * The handlers (simple, V2, health and readiness), the pipeline and the
 * thread pool call in here; this file calls none of them back: only the
 * metrics core, the scheduler-delay probe and the trace exporter.
 */

#include "ngx_http_infer_module.h"
#include "ngx_http_infer_otel.h"


static void ngx_http_infer_trace_begin(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static uint64_t ngx_http_infer_arrived_before(ngx_http_request_t *r);
static ngx_int_t ngx_http_infer_log_handler(ngx_http_request_t *r);
static void ngx_http_infer_count(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static void ngx_http_infer_keep_ctx(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static ngx_http_infer_ctx_t *ngx_http_infer_lost_ctx(ngx_http_request_t *r);
static void ngx_http_infer_ctx_cleanup(void *data);


/* CLOCK_REALTIME - CLOCK_MONOTONIC, for spans: set in each process */
static int64_t  ngx_http_infer_clock_offset;


ngx_int_t
ngx_http_infer_request_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_infer_log_handler;

    return NGX_OK;
}


ngx_http_infer_ctx_t *
ngx_http_infer_get_ctx(ngx_http_request_t *r)
{
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_infer_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ctx->reason = INFER_REASON_NONE;

        ngx_http_set_ctx(r, ctx, ngx_http_infer_module);
    }

    return ctx;
}


/*
 * A request for model im (NULL: none known) enters the module: its ctx,
 * its trace, and, with NGX_HTTP_INFER_COUNT, the in-flight gauge.  Once:
 * a second call only returns the ctx.
 */

ngx_http_infer_ctx_t *
ngx_http_infer_request_begin(ngx_http_request_t *r,
    ngx_http_infer_model_t *im, ngx_uint_t flags)
{
    ngx_http_infer_ctx_t        *ctx;
    ngx_http_infer_main_conf_t  *imcf;

    ctx = ngx_http_infer_get_ctx(r);
    if (ctx == NULL) {
        return NULL;
    }

    if (ctx->tracked) {
        return ctx;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);

    ctx->model = im;
    ctx->tracked = 1;
    ctx->t[NGX_HTTP_INFER_T_ARRIVAL] = ngx_http_infer_now_ns();

    ngx_http_infer_sched_start(ctx);
    ngx_http_infer_trace_begin(r, ctx);

    if ((flags & NGX_HTTP_INFER_COUNT) && imcf->metrics != NULL) {
        ctx->counted = 1;
        infer_metrics_request_start(imcf->metrics,
                                    ngx_http_infer_model_index(imcf, im));
    }

    ngx_http_infer_keep_ctx(r, ctx);

    return ctx;
}


/*
 * An error_page in the location redirects the request, and an internal
 * redirect zeroes every module's ctx: the request would then never be
 * finished (its in-flight count never taken back).  Where the location
 * has an error_page, the ctx is also kept in a pool cleanup, where the
 * log phase finds it again, as ngx_http_realip_module does; elsewhere
 * this costs nothing.
 */

static void
ngx_http_infer_keep_ctx(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->error_pages == NULL) {
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return;                 /* only an error_page's request is lost */
    }

    cln->handler = ngx_http_infer_ctx_cleanup;
    cln->data = ctx;
}


static ngx_http_infer_ctx_t *
ngx_http_infer_lost_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_infer_ctx_cleanup) {
            ngx_http_set_ctx(r, cln->data, ngx_http_infer_module);
            return cln->data;
        }
    }

    return NULL;
}


/* a mark that finds the ctx again: the pool frees the ctx itself */

static void
ngx_http_infer_ctx_cleanup(void *data)
{
}


void
ngx_http_infer_set_reason(ngx_http_request_t *r, ngx_int_t reason)
{
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    if (ctx != NULL && ctx->reason == INFER_REASON_NONE) {
        ctx->reason = reason;
    }
}


/* a span's route, when the location's name is not it (V2's templates) */

void
ngx_http_infer_set_route(ngx_http_request_t *r, const char *route)
{
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    if (ctx != NULL) {
        ctx->route.data = (u_char *) route;
        ctx->route.len = ngx_strlen(route);
    }
}


/*
 * The caller's trace id from a valid W3C traceparent, or a new one; a
 * span id of our own either way, returned in the response's traceparent.
 * A new trace is sampled as infer_otel_sample says where spans are
 * exported, and always elsewhere (the flag is then only passed on).
 */

static void
ngx_http_infer_trace_begin(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    u_char                      *p;
    ngx_table_elt_t             *in, *out;
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);

    in = ngx_http_infer_find_header(r, "traceparent",
                                    sizeof("traceparent") - 1);

    infer_trace_start(&ctx->trace, &imcf->rng,
                      in ? (char *) in->value.data : NULL,
                      in ? in->value.len : 0, INFER_TRACE_SAMPLED);

    ctx->traced = ngx_http_infer_otel_begin(r, &ctx->trace);

    p = ngx_pnalloc(r->pool, INFER_TRACEPARENT_LEN + 1);
    out = ngx_list_push(&r->headers_out.headers);

    if (p == NULL || out == NULL) {
        return;                             /* the trace still counts */
    }

    out->hash = 1;
#if (nginx_version >= 1023000)
    out->next = NULL;
#endif
    ngx_str_set(&out->key, "traceparent");
    out->value.data = p;
    out->value.len = infer_trace_format((char *) p, &ctx->trace);

    ctx->traceparent = p;               /* the log's ids, with no copy */
}


/* W3C: a request with two traceparent headers has none that counts */

ngx_table_elt_t *
ngx_http_infer_find_header(ngx_http_request_t *r, const char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    part = &r->headers_in.headers.part;
    h = part->elts;
    found = NULL;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return found;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            if (found != NULL) {
                return NULL;
            }

            found = &h[i];
        }
    }
}


/*
 * The log phase records every request the module served, and one that
 * nginx refused in an infer location before the module saw it (a 413 for
 * client_max_body_size, in the find-config phase).
 */

static ngx_int_t
ngx_http_infer_log_handler(ngx_http_request_t *r)
{
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_infer_request_end(r);

    if (ctx == NULL) {
        return NGX_OK;
    }

    if (ctx->counted) {
        ngx_http_infer_count(r, ctx);
    }

    if (ctx->exported) {
        ngx_http_infer_otel_record(r, ctx);
    }

    return NGX_OK;
}


/*
 * The request's end, when the log phase or a log variable (nginx's access
 * log may run first) asks: NULL where the module has no part in it.  A
 * request refused before the module saw it begins here, when nginx read
 * its head.  Once: its last stage, the run-queue delay it suffered, and
 * whether its spans go out.
 */

ngx_http_infer_ctx_t *
ngx_http_infer_request_end(ngx_http_request_t *r)
{
    ngx_uint_t                  flags, status;
    ngx_http_infer_ctx_t       *ctx, *lost;
    ngx_http_infer_loc_conf_t  *ilcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    /* the error page's handler may have made a ctx of its own */

    if ((ctx == NULL || !ctx->tracked) && r->internal) {
        lost = ngx_http_infer_lost_ctx(r);

        if (lost != NULL) {
            ctx = lost;
        }
    }

    if (ctx == NULL || !ctx->tracked) {
        ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

        if (ilcf->kind == NGX_HTTP_INFER_NONE
            || ilcf->kind == NGX_HTTP_INFER_METRICS
            || r != r->main)
        {
            return NULL;
        }

        flags = (ilcf->kind == NGX_HTTP_INFER_PREDICT
                 || ilcf->kind == NGX_HTTP_INFER_V2_ENDPOINTS)
                ? NGX_HTTP_INFER_COUNT : 0;

        ctx = ngx_http_infer_request_begin(r, ilcf->model, flags);
        if (ctx == NULL) {
            return NULL;
        }

        ctx->t[NGX_HTTP_INFER_T_ARRIVAL] -= ngx_http_infer_arrived_before(r);
    }

    if (!ctx->finished) {
        ctx->finished = 1;
        ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_END);

        /* a refusal the module did not name: nginx's 413, 500, 400 */

        status = r->headers_out.status;

        if (ctx->reason == INFER_REASON_NONE
            && status >= NGX_HTTP_BAD_REQUEST)
        {
            ctx->reason = (status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE)
                          ? INFER_REASON_TOO_LARGE
                          : (status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
                            ? INFER_REASON_INTERNAL
                            : INFER_REASON_BAD_REQUEST;
        }

        ngx_http_infer_sched_finish(ctx);

        ctx->exported = ctx->traced && ngx_http_infer_otel_keep(r, ctx);
    }

    return ctx;
}


/* how long ago nginx read the request's head: its time has ms only */

static uint64_t
ngx_http_infer_arrived_before(ngx_http_request_t *r)
{
    ngx_time_t  *tp;
    ngx_msec_t   ms;

    tp = ngx_timeofday();

    ms = (ngx_msec_t) ((tp->sec - r->start_sec) * 1000
                       + (tp->msec - r->start_msec));

    return (ms > 0 && ms < 86400000) ? (uint64_t) ms * 1000000 : 0;
}


/* "ok", or why the request failed: the errors_total reasons */

const char *
ngx_http_infer_outcome(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    if (ctx->reason != INFER_REASON_NONE) {
        return infer_metrics_families[INFER_MF_ERRORS].values[ctx->reason];
    }

    return (r->headers_out.status < NGX_HTTP_BAD_REQUEST) ? "ok" : "error";
}


/*
 * The metrics' record of the request.  Where spans are exported, an
 * exemplar names only a trace that was: a trace id the backend has.
 */

static void
ngx_http_infer_count(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    infer_metrics_obs_t          obs;
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);

    ngx_memzero(&obs, sizeof(infer_metrics_obs_t));

    obs.status = r->headers_out.status;
    obs.reason = ctx->reason;

    obs.request_ns = ctx->t[NGX_HTTP_INFER_T_END]
                     - ctx->t[NGX_HTTP_INFER_T_ARRIVAL];
    obs.trace_id = (!ctx->traced || ctx->exported) ? ctx->trace.trace_id
                                                   : NULL;
    obs.now_ms = ngx_http_infer_now_ms();

    if (ctx->evaluated) {
        obs.evaluated = 1;
        obs.rows = ctx->rows;
        obs.inference_ns = ctx->t[NGX_HTTP_INFER_T_EVALUATED]
                           - ctx->t[NGX_HTTP_INFER_T_EVAL];
        obs.prediction = ctx->y[0];
    }

    if (ctx->offloaded) {
        obs.queued = 1;
        obs.queue_ns = (ctx->t[NGX_HTTP_INFER_T_DECODE]
                        ? ctx->t[NGX_HTTP_INFER_T_DECODE]
                        : ctx->t[NGX_HTTP_INFER_T_EVAL])
                       - ctx->t[NGX_HTTP_INFER_T_POSTED];
    }

    obs.image_refusal = ctx->image_refusal;

    if (ctx->t[NGX_HTTP_INFER_T_DECODE]) {
        obs.decoded = 1;
        obs.decode_ns = ctx->t[NGX_HTTP_INFER_T_EVAL]
                        - ctx->t[NGX_HTTP_INFER_T_DECODE];
    }

    if (ctx->sched_done) {
        obs.sched = 1;
        obs.sched_ns = ctx->sched_ns;
    }

    infer_metrics_request_done(imcf->metrics,
                               ngx_http_infer_model_index(imcf, ctx->model),
                               &obs);
}


/* nginx's cached time has millisecond resolution: too coarse here */

uint64_t
ngx_http_infer_now_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/*
 * A monotonic moment as unix time, for spans.  The offset is measured
 * when a process first asks, and again whenever the exporter flushes
 * (ngx_http_infer_clock_sync()), so that a wall clock stepped by NTP is
 * followed within an interval.
 */

uint64_t
ngx_http_infer_unix_ns(uint64_t mono_ns)
{
    if (ngx_http_infer_clock_offset == 0) {
        ngx_http_infer_clock_sync();
    }

    return (uint64_t) ((int64_t) mono_ns + ngx_http_infer_clock_offset);
}


void
ngx_http_infer_clock_sync(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);

    ngx_http_infer_clock_offset = (int64_t) ts.tv_sec * 1000000000
                                  + ts.tv_nsec
                                  - (int64_t) ngx_http_infer_now_ns();
}


uint64_t
ngx_http_infer_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}
