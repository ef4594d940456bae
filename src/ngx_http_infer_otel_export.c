/*
 * The trace exporter of a worker: its queue of span batches, when they
 * go out, and what each answer means; the connection to the collector is
 * in ngx_http_infer_otel_client.c.  nginx's event loop and timers drive
 * both.
 *
 * A request's spans are encoded into the batch being filled at its log
 * phase (infer_otel_queue_add(): no I/O, no allocation).  A batch is
 * sealed when full or infer_otel_interval after its first span, and the
 * sealed batches go out one at a time, oldest first, as an OTLP/HTTP
 * POST on a kept-alive connection.  Nothing here waits: a collector that
 * is slow or gone fills the queue, and the spans that find no room are
 * dropped and counted.  The answer decides (OTLP's rules): 2xx done
 * (a partial success counts its rejected spans), 429/502/503/504 and
 * network errors retried after Retry-After or a backoff, for at most
 * NGX_HTTP_INFER_OTEL_RETRY_FOR, anything else dropped.
 *
 * On reload or quit, nginx closes a worker's idle connections: a
 * sentinel connection that is always idle tells the exporter, which
 * seals the last batch and sends what is queued, under a timer of
 * infer_otel_timeout that keeps the worker alive that long at most.
 * Every other timer here is cancelable, so an idle exporter never holds
 * a worker up.
 */

#include "ngx_http_infer_otel_export.h"


#define NGX_HTTP_INFER_OTEL_RETRY_FOR   60000   /* ms a batch is retried */
#define NGX_HTTP_INFER_OTEL_WAIT_FIRST  1000    /* the first retry's wait */
#define NGX_HTTP_INFER_OTEL_WAIT_MAX    30000
#define NGX_HTTP_INFER_OTEL_SPAN_BYTES  512     /* a batch's bytes a span */
#define NGX_HTTP_INFER_OTEL_BATCH_MIN   65536


static ngx_int_t ngx_http_infer_otel_queue_create(
    ngx_http_infer_otel_exporter_t *ex, ngx_cycle_t *cycle);
static ngx_int_t ngx_http_infer_otel_sentinel(
    ngx_http_infer_otel_exporter_t *ex, ngx_cycle_t *cycle);
static void ngx_http_infer_otel_shutdown(ngx_event_t *rev);
static void ngx_http_infer_otel_flush(ngx_event_t *ev);
static void ngx_http_infer_otel_kick(ngx_http_infer_otel_exporter_t *ex);
static void ngx_http_infer_otel_done(ngx_http_infer_otel_exporter_t *ex,
    ngx_int_t drop_reason);
static void ngx_http_infer_otel_timed_out(ngx_event_t *ev);
static void ngx_http_infer_otel_retry(ngx_event_t *ev);
static void ngx_http_infer_otel_deadline(ngx_event_t *ev);
static void ngx_http_infer_otel_drop_all(ngx_http_infer_otel_exporter_t *ex,
    ngx_uint_t reason);
static void ngx_http_infer_otel_count(ngx_http_infer_otel_exporter_t *ex,
    unsigned family, size_t label, int64_t n);
static ngx_msec_t ngx_http_infer_otel_backoff(ngx_uint_t attempts);


/* this worker's; NULL where no location exports */
static ngx_http_infer_otel_exporter_t  *ngx_http_infer_otel_exporter;


ngx_int_t
ngx_http_infer_otel_export_init(ngx_cycle_t *cycle,
    ngx_http_infer_otel_main_conf_t *omcf, infer_metrics_t *metrics)
{
    ngx_http_infer_otel_exporter_t  *ex;

    ex = ngx_pcalloc(cycle->pool, sizeof(ngx_http_infer_otel_exporter_t));
    if (ex == NULL) {
        return NGX_ERROR;
    }

    ex->omcf = omcf;
    ex->metrics = metrics;
    ex->log = cycle->log;
    ex->addr = 0;

    ex->resp = ngx_palloc(cycle->pool, sizeof(infer_otel_http_response_t));
    ex->rbuf = ngx_palloc(cycle->pool, NGX_HTTP_INFER_OTEL_READ);

    if (ex->resp == NULL || ex->rbuf == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_infer_otel_queue_create(ex, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    ex->flush.handler = ngx_http_infer_otel_flush;
    ex->attempt.handler = ngx_http_infer_otel_timed_out;
    ex->retry.handler = ngx_http_infer_otel_retry;
    ex->deadline.handler = ngx_http_infer_otel_deadline;

    ex->flush.data = ex;
    ex->attempt.data = ex;
    ex->retry.data = ex;
    ex->deadline.data = ex;

    ex->flush.log = ex->log;
    ex->attempt.log = ex->log;
    ex->retry.log = ex->log;
    ex->deadline.log = ex->log;

    /* none of these may keep an exiting worker; the deadline does */

    ex->flush.cancelable = 1;
    ex->attempt.cancelable = 1;
    ex->retry.cancelable = 1;

    if (ngx_http_infer_otel_sentinel(ex, cycle) != NGX_OK) {
        ngx_http_infer_otel_close(ex);
        infer_otel_queue_destroy(ex->queue);
        return NGX_ERROR;
    }

    ngx_http_infer_otel_exporter = ex;

    return NGX_OK;
}


/*
 * The queue, with the resource every batch names: service.name, the SDK
 * that made the spans (this module), the host and the worker's pid, then
 * infer_otel_resource_attribute and OTEL_RESOURCE_ATTRIBUTES.
 */

static ngx_int_t
ngx_http_infer_otel_queue_create(ngx_http_infer_otel_exporter_t *ex,
    ngx_cycle_t *cycle)
{
    int                               rc;
    size_t                            n, need;
    ngx_uint_t                        i;
    infer_otel_attr_t                *a, *extra;
    infer_otel_resource_t             res;
    infer_otel_queue_conf_t           qc;
    infer_otel_http_request_t         req;
    ngx_http_infer_otel_main_conf_t  *omcf;

    omcf = ex->omcf;
    n = 5 + (omcf->resource ? omcf->resource->nelts : 0);

    a = ngx_pcalloc(cycle->pool, n * sizeof(infer_otel_attr_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    a[0].key = "service.name";
    a[0].v.s = (char *) omcf->service_name.data;
    a[0].len = omcf->service_name.len;
    a[1].key = "telemetry.sdk.name";
    a[1].v.s = "ngx_http_infer_module";
    a[1].len = sizeof("ngx_http_infer_module") - 1;
    a[2].key = "telemetry.sdk.version";
    a[2].v.s = NGX_HTTP_INFER_VERSION;
    a[2].len = sizeof(NGX_HTTP_INFER_VERSION) - 1;
    a[3].key = "host.name";
    a[3].v.s = (char *) omcf->host_name.data;
    a[3].len = omcf->host_name.len;
    a[4].key = "process.pid";
    a[4].type = INFER_OTEL_INT;
    a[4].v.i = ngx_pid;

    extra = omcf->resource ? omcf->resource->elts : NULL;

    for (i = 5; i < n; i++) {
        a[i] = extra[i - 5];
    }

    res.attrs = a;
    res.nattrs = n;
    res.scope_name = "ngx_http_infer_module";
    res.scope_version = NGX_HTTP_INFER_VERSION;
    res.schema_url = "https://opentelemetry.io/schemas/1.26.0";

    qc.protocol = omcf->protocol;
    qc.gzip = omcf->gzip;
    qc.batch_spans = omcf->batch_size;
    qc.batch_bytes = ngx_max(omcf->batch_size
                             * NGX_HTTP_INFER_OTEL_SPAN_BYTES,
                             NGX_HTTP_INFER_OTEL_BATCH_MIN);
    qc.queued = omcf->queue;
    qc.resource = &res;

    rc = infer_otel_queue_create(&ex->queue, &qc);
    if (rc != INFER_OK) {
        ngx_log_error(NGX_LOG_ALERT, ex->log, 0,
                      "infer_otel: the span queue could not be created");
        return NGX_ERROR;
    }

    /* the head's size: the longest Content-Length */

    ngx_memzero(&req, sizeof(infer_otel_http_request_t));
    req.host = (char *) omcf->host.data;
    req.host_len = omcf->host.len;
    req.path = (char *) omcf->path.data;
    req.path_len = omcf->path.len;
    req.content_type = infer_otel_content_type(omcf->protocol);
    req.gzip = (omcf->gzip != 0);
    req.content_length = (size_t) -1;
    req.headers = omcf->headers ? omcf->headers->elts : NULL;
    req.nheaders = omcf->headers ? omcf->headers->nelts : 0;
    req.user_agent = "ngx_http_infer_module/" NGX_HTTP_INFER_VERSION;

    need = infer_otel_http_head(NULL, 0, &req);

    ex->head_size = need + 1;
    ex->head = ngx_pnalloc(cycle->pool, ex->head_size);
    if (ex->head == NULL) {
        infer_otel_queue_destroy(ex->queue);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * An fd that no event watches, marked idle: the one hook nginx gives a
 * worker when a reload or quit begins (ngx_close_idle_connections()).
 */

static ngx_int_t
ngx_http_infer_otel_sentinel(ngx_http_infer_otel_exporter_t *ex,
    ngx_cycle_t *cycle)
{
    int                fd[2];
    ngx_connection_t  *c;

    if (pipe(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, ex->log, ngx_errno,
                      "infer_otel: pipe() failed");
        return NGX_ERROR;
    }

    (void) close(fd[1]);

    c = ngx_get_connection(fd[0], ex->log);
    if (c == NULL) {
        (void) close(fd[0]);
        return NGX_ERROR;
    }

    c->data = ex;
    c->idle = 1;
    c->read->handler = ngx_http_infer_otel_shutdown;
    c->write->handler = ngx_http_infer_otel_shutdown;
    c->read->log = ex->log;
    c->write->log = ex->log;

    ex->sentinel = c;

    return NGX_OK;
}


/* the worker is shutting down: send what is queued, within the bound */

static void
ngx_http_infer_otel_shutdown(ngx_event_t *rev)
{
    ngx_connection_t                *c;
    ngx_http_infer_otel_exporter_t  *ex;

    c = rev->data;
    ex = c->data;

    if (!c->close) {
        return;
    }

    ngx_close_connection(c);
    ex->sentinel = NULL;
    ex->exiting = 1;

    if (ex->flush.timer_set) {
        ngx_del_timer(&ex->flush);
    }

    infer_otel_queue_seal(ex->queue);

    if (infer_otel_queue_peek(ex->queue) == NULL) {
        if (ex->state == NGX_HTTP_INFER_OTEL_IDLE) {
            ngx_http_infer_otel_close(ex);
        }

        return;
    }

    ngx_log_error(NGX_LOG_INFO, ex->log, 0,
                  "infer_otel: sending %uz batches of spans before exit",
                  infer_otel_queue_sealed(ex->queue));

    ngx_add_timer(&ex->deadline, ex->omcf->timeout);

    if (ex->state == NGX_HTTP_INFER_OTEL_BACKOFF) {
        ngx_del_timer(&ex->retry);
        ex->state = NGX_HTTP_INFER_OTEL_IDLE;
    }

    ngx_http_infer_otel_kick(ex);
}


/*
 * A request's spans, at its log phase.  No room: they are dropped, and
 * counted; the request is not held up either way.
 */

void
ngx_http_infer_otel_add(const infer_otel_span_t *spans, size_t n)
{
    int                              rc;
    ngx_http_infer_otel_exporter_t  *ex;

    ex = ngx_http_infer_otel_exporter;

    if (ex == NULL) {
        return;
    }

    rc = infer_otel_queue_add(ex->queue, spans, n);

    if (rc == INFER_ENOSPC) {
        ngx_http_infer_otel_count(ex, INFER_MF_OTEL_DROPPED,
                                  INFER_OTEL_DROP_QUEUE_FULL, n);
        return;
    }

    if (rc != INFER_OK) {
        ngx_http_infer_otel_count(ex, INFER_MF_OTEL_DROPPED,
                                  INFER_OTEL_DROP_TOO_LARGE, n);
        return;
    }

    if (ex->exiting) {
        infer_otel_queue_seal(ex->queue);

    } else if (!ex->flush.timer_set && infer_otel_queue_filling(ex->queue)) {
        ngx_add_timer(&ex->flush, ex->omcf->interval);
    }

    if (infer_otel_queue_peek(ex->queue) != NULL) {
        ngx_http_infer_otel_kick(ex);
    }
}


/* infer_otel_interval after a batch's first span: it goes as it is */

static void
ngx_http_infer_otel_flush(ngx_event_t *ev)
{
    ngx_http_infer_otel_exporter_t  *ex = ev->data;

    ngx_http_infer_clock_sync();

    infer_otel_queue_seal(ex->queue);
    ngx_http_infer_otel_kick(ex);
}


/* the oldest sealed batch goes out, unless an export is under way */

static void
ngx_http_infer_otel_kick(ngx_http_infer_otel_exporter_t *ex)
{
    infer_otel_batch_t  *b;

    if (ex->state != NGX_HTTP_INFER_OTEL_IDLE) {
        return;
    }

    b = infer_otel_queue_peek(ex->queue);

    if (b == NULL) {
        if (ex->exiting) {
            if (ex->deadline.timer_set) {
                ngx_del_timer(&ex->deadline);
            }

            ngx_http_infer_otel_close(ex);  /* the worker may exit now */
        }

        return;
    }

    if (b != ex->batch) {
        ex->batch = b;
        ex->attempts = 0;
        ex->first_try = ngx_current_msec;
    }

    if (ngx_http_infer_otel_prepare(ex) != NGX_OK) {
        ngx_http_infer_otel_done(ex, INFER_OTEL_DROP_FAILED);
        return;
    }

    ex->attempts++;
    ex->sent_ns = ngx_http_infer_now_ns();

    /* spans of requests that end while the worker exits: bounded too */

    if (ex->exiting && !ex->deadline.timer_set) {
        ngx_add_timer(&ex->deadline, ex->omcf->timeout);
    }

    ngx_add_timer(&ex->attempt, ex->omcf->timeout);

    ngx_http_infer_otel_send_batch(ex);
}


/* the collector answered: OTLP's rules decide */

void
ngx_http_infer_otel_answered(ngx_http_infer_otel_exporter_t *ex,
    ngx_uint_t keepalive)
{
    int                          status;
    char                         msg[256];
    int64_t                      rejected, nspans;
    infer_otel_http_response_t  *r;

    r = ex->resp;
    status = r->status;

    ngx_del_timer(&ex->attempt);

    if (status == 429 || status == 502 || status == 503 || status == 504) {
        ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_RETRYABLE,
                                   r->retry_after,
                                   "the collector is unavailable");
        return;
    }

    ngx_http_infer_otel_count(ex, INFER_MF_OTEL_EXPORT_DURATION, 0,
                              ngx_http_infer_now_ns() - ex->sent_ns);

    if (keepalive && !r->close && !ex->exiting) {
        ngx_http_infer_otel_keepalive(ex);

    } else {
        ngx_http_infer_otel_close(ex);
    }

    ex->state = NGX_HTTP_INFER_OTEL_IDLE;
    nspans = infer_otel_batch_nspans(ex->batch);

    if (status < 200 || status > 299) {
        infer_otel_error_message(r->body, r->body_len, r->json, msg,
                                 sizeof(msg));
        ngx_log_error(NGX_LOG_ERR, ex->log, 0,
                      "infer_otel: %V refused %L spans with status %d: "
                      "\"%s\"; they are dropped", &ex->omcf->endpoint,
                      nspans, status, msg);
        ngx_http_infer_otel_count(ex, INFER_MF_OTEL_EXPORTS,
                                  INFER_OTEL_EXPORT_REJECTED, 1);
        ngx_http_infer_otel_done(ex, INFER_OTEL_DROP_REJECTED);
        return;
    }

    ngx_http_infer_otel_count(ex, INFER_MF_OTEL_EXPORTS,
                              INFER_OTEL_EXPORT_OK, 1);

    rejected = 0;

    if (infer_otel_partial_success(r->body, r->body_len, r->json, &rejected,
                                   msg, sizeof(msg))
        == INFER_OK)
    {
        rejected = ngx_max(ngx_min(rejected, nspans), 0);

        if (!ex->partial_logged) {
            ngx_log_error(NGX_LOG_WARN, ex->log, 0,
                          "infer_otel: %V rejected %L of %L spans: \"%s\" "
                          "(logged once, counted in "
                          "nginx_infer_otel_spans_dropped_total)",
                          &ex->omcf->endpoint, rejected, nspans, msg);
            ex->partial_logged = 1;
        }

        ngx_http_infer_otel_count(ex, INFER_MF_OTEL_DROPPED,
                                  INFER_OTEL_DROP_REJECTED, rejected);
    }

    ngx_http_infer_otel_count(ex, INFER_MF_OTEL_EXPORTED, 0,
                              nspans - rejected);

    if (ex->failing) {
        ngx_log_error(NGX_LOG_NOTICE, ex->log, 0,
                      "infer_otel: exporting to %V again",
                      &ex->omcf->endpoint);
        ex->failing = 0;
    }

    ngx_http_infer_otel_done(ex, -1);
}


/*
 * An attempt failed: counted, logged once until an export works again,
 * and retried after Retry-After or a backoff while the batch's time
 * lasts.  A kept-alive connection the collector had closed is retried
 * at once on a new one.  An exiting worker retries without waiting.
 */

void
ngx_http_infer_otel_failed(ngx_http_infer_otel_exporter_t *ex,
    ngx_uint_t outcome, int64_t retry_after, const char *why)
{
    ngx_msec_t  delay, spent;

    if (ex->attempt.timer_set) {
        ngx_del_timer(&ex->attempt);
    }

    ngx_http_infer_otel_close(ex);

    if (outcome == INFER_OTEL_EXPORT_NETWORK && ex->reused
        && ex->attempts == 1)
    {
        ex->reused = 0;
        ex->attempts = 0;
        ex->state = NGX_HTTP_INFER_OTEL_IDLE;
        ngx_http_infer_otel_kick(ex);       /* a stale connection */
        return;
    }

    ngx_http_infer_otel_count(ex, INFER_MF_OTEL_EXPORTS, outcome, 1);

    /* the next address, for the next attempt: localhost is two */

    if (outcome == INFER_OTEL_EXPORT_NETWORK && ex->omcf->naddrs) {
        ex->addr = (ex->addr + 1) % ex->omcf->naddrs;
    }

    if (!ex->failing) {
        ngx_log_error(NGX_LOG_ERR, ex->log, 0,
                      "infer_otel: export to %V failed: %s; spans are "
                      "retried, then dropped while it fails (logged once, "
                      "counted in nginx_infer_otel_*)",
                      &ex->omcf->endpoint, why);
        ex->failing = 1;
    }

    ex->state = NGX_HTTP_INFER_OTEL_IDLE;

    if (ex->exiting) {
        if (ex->attempts >= 2) {
            ngx_http_infer_otel_done(ex, INFER_OTEL_DROP_SHUTDOWN);
            return;
        }

        ngx_http_infer_otel_kick(ex);
        return;
    }

    delay = (retry_after >= 0) ? (ngx_msec_t) retry_after * 1000
                               : ngx_http_infer_otel_backoff(ex->attempts);
    spent = ngx_current_msec - ex->first_try;

    if (spent + delay > NGX_HTTP_INFER_OTEL_RETRY_FOR) {
        ngx_http_infer_otel_done(ex, INFER_OTEL_DROP_FAILED);
        return;
    }

    ex->state = NGX_HTTP_INFER_OTEL_BACKOFF;
    ngx_add_timer(&ex->retry, ngx_max(delay, 1));
}


/* the batch in flight is finished with: sent, or dropped for reason */

static void
ngx_http_infer_otel_done(ngx_http_infer_otel_exporter_t *ex,
    ngx_int_t drop_reason)
{
    if (drop_reason >= 0) {
        ngx_http_infer_otel_count(ex, INFER_MF_OTEL_DROPPED, drop_reason,
                                  infer_otel_batch_nspans(ex->batch));
    }

    infer_otel_queue_pop(ex->queue);
    ex->batch = NULL;
    ex->attempts = 0;

    ngx_http_infer_otel_kick(ex);
}


static void
ngx_http_infer_otel_timed_out(ngx_event_t *ev)
{
    ngx_http_infer_otel_exporter_t  *ex = ev->data;

    ngx_http_infer_otel_failed(ex, INFER_OTEL_EXPORT_TIMEOUT, -1,
                               "no answer within infer_otel_timeout");
}


static void
ngx_http_infer_otel_retry(ngx_event_t *ev)
{
    ngx_http_infer_otel_exporter_t  *ex = ev->data;

    ex->state = NGX_HTTP_INFER_OTEL_IDLE;
    ngx_http_infer_otel_kick(ex);
}


/* the exit's bound: what is still queued is dropped, and counted */

static void
ngx_http_infer_otel_deadline(ngx_event_t *ev)
{
    ngx_http_infer_otel_exporter_t  *ex = ev->data;

    ngx_log_error(NGX_LOG_WARN, ex->log, 0,
                  "infer_otel: %V did not take the last spans within "
                  "infer_otel_timeout: they are dropped", &ex->omcf->endpoint);

    ngx_http_infer_otel_abort(ex);
}


/*
 * worker_shutdown_timeout closes every connection: the exit's wait is
 * over, nothing more is sent.
 */

void
ngx_http_infer_otel_abort(ngx_http_infer_otel_exporter_t *ex)
{
    if (ex->attempt.timer_set) {
        ngx_del_timer(&ex->attempt);
    }

    if (ex->retry.timer_set) {
        ngx_del_timer(&ex->retry);
    }

    if (ex->deadline.timer_set) {
        ngx_del_timer(&ex->deadline);
    }

    ngx_http_infer_otel_close(ex);
    ex->state = NGX_HTTP_INFER_OTEL_IDLE;

    ngx_http_infer_otel_drop_all(ex, INFER_OTEL_DROP_SHUTDOWN);
}


static void
ngx_http_infer_otel_drop_all(ngx_http_infer_otel_exporter_t *ex,
    ngx_uint_t reason)
{
    size_t  n;

    infer_otel_queue_seal(ex->queue);

    while (infer_otel_queue_peek(ex->queue) != NULL) {
        n = infer_otel_batch_nspans(infer_otel_queue_peek(ex->queue));
        ngx_http_infer_otel_count(ex, INFER_MF_OTEL_DROPPED, reason, n);
        infer_otel_queue_pop(ex->queue);
    }

    ex->batch = NULL;
}


/*
 * The worker exits (after the flush above, or at once on a stop): what
 * was never sent is counted, the connections closed before nginx looks
 * for sockets left open.
 */

void
ngx_http_infer_otel_export_exit(ngx_cycle_t *cycle)
{
    ngx_http_infer_otel_exporter_t  *ex;

    ex = ngx_http_infer_otel_exporter;

    if (ex == NULL) {
        return;
    }

    ngx_http_infer_otel_close(ex);

    if (ex->sentinel != NULL) {
        ngx_close_connection(ex->sentinel);
        ex->sentinel = NULL;
    }

    ngx_http_infer_otel_drop_all(ex, INFER_OTEL_DROP_SHUTDOWN);

#if (NGX_SSL)
    if (ex->session != NULL) {
        ngx_ssl_free_session(ex->session);
    }
#endif

    infer_otel_queue_destroy(ex->queue);
    ngx_http_infer_otel_exporter = NULL;
}


static void
ngx_http_infer_otel_count(ngx_http_infer_otel_exporter_t *ex,
    unsigned family, size_t label, int64_t n)
{
    if (ex->metrics == NULL || n == 0) {
        return;
    }

    if (family == INFER_MF_OTEL_EXPORT_DURATION) {
        infer_metrics_observe(ex->metrics, INFER_METRICS_NOMODEL, family,
                              (uint64_t) n, NULL, 0);
        return;
    }

    infer_metrics_add(ex->metrics, INFER_METRICS_NOMODEL, family, label, n);
}


/* 1 s, 2 s, 4 s ... 30 s, each within +-25%, so workers do not align */

static ngx_msec_t
ngx_http_infer_otel_backoff(ngx_uint_t attempts)
{
    ngx_msec_t  d;

    d = NGX_HTTP_INFER_OTEL_WAIT_FIRST << ngx_min(attempts - 1, 5);
    d = ngx_min(d, NGX_HTTP_INFER_OTEL_WAIT_MAX);

    return d * 3 / 4 + (ngx_msec_t) ngx_random() % (d / 2 + 1);
}
