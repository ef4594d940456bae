/*
 * The trace exporter's own: the state a worker keeps, shared by its two
 * halves, the queue and its outcomes (ngx_http_infer_otel_export.c) and
 * the connection to the collector (ngx_http_infer_otel_client.c).
 */

#ifndef NGX_HTTP_INFER_OTEL_EXPORT_H
#define NGX_HTTP_INFER_OTEL_EXPORT_H


#include "ngx_http_infer_otel.h"


#define NGX_HTTP_INFER_OTEL_READ  4096          /* bytes read at a time */


typedef enum {
    NGX_HTTP_INFER_OTEL_IDLE = 0,       /* nothing in flight */
    NGX_HTTP_INFER_OTEL_CONNECTING,
    NGX_HTTP_INFER_OTEL_HANDSHAKE,      /* TLS */
    NGX_HTTP_INFER_OTEL_SENDING,
    NGX_HTTP_INFER_OTEL_READING,
    NGX_HTTP_INFER_OTEL_BACKOFF         /* waiting to retry */
} ngx_http_infer_otel_state_e;


typedef struct {
    ngx_http_infer_otel_main_conf_t  *omcf;
    infer_otel_queue_t               *queue;
    infer_metrics_t                  *metrics;
    ngx_log_t                        *log;

    ngx_connection_t                 *c;          /* to the collector */
    ngx_uint_t                        addr;       /* omcf->addrs[addr] */
    ngx_uint_t                        state;
    ngx_uint_t                        reused:1;   /* c served an export */
    ngx_uint_t                        exiting:1;
    ngx_uint_t                        failing:1;  /* logged, until it works */
    ngx_uint_t                        partial_logged:1;

    ngx_event_t                       flush;      /* seals the filling batch */
    ngx_event_t                       attempt;    /* infer_otel_timeout */
    ngx_event_t                       retry;
    ngx_event_t                       deadline;   /* the exit's bound */
    ngx_connection_t                 *sentinel;

    infer_otel_batch_t               *batch;      /* in flight */
    ngx_uint_t                        attempts;
    ngx_msec_t                        first_try;
    uint64_t                          sent_ns;

    u_char                           *head;       /* the request's head */
    size_t                            head_size;
    ngx_buf_t                         bufs[4];
    ngx_chain_t                       links[4];
    ngx_chain_t                      *out;        /* what is left to send */
    u_char                           *rbuf;
    infer_otel_http_response_t       *resp;

#if (NGX_SSL)
    ngx_ssl_session_t                *session;    /* resumed next time */
#endif
} ngx_http_infer_otel_exporter_t;


/* the connection: src/ngx_http_infer_otel_client.c */
ngx_int_t ngx_http_infer_otel_prepare(ngx_http_infer_otel_exporter_t *ex);
void ngx_http_infer_otel_send_batch(ngx_http_infer_otel_exporter_t *ex);
void ngx_http_infer_otel_keepalive(ngx_http_infer_otel_exporter_t *ex);
void ngx_http_infer_otel_close(ngx_http_infer_otel_exporter_t *ex);

/* what it found: src/ngx_http_infer_otel_export.c */
void ngx_http_infer_otel_answered(ngx_http_infer_otel_exporter_t *ex,
    ngx_uint_t keepalive);
void ngx_http_infer_otel_failed(ngx_http_infer_otel_exporter_t *ex,
    ngx_uint_t outcome, int64_t retry_after, const char *why);
void ngx_http_infer_otel_abort(ngx_http_infer_otel_exporter_t *ex);


#endif /* NGX_HTTP_INFER_OTEL_EXPORT_H */
