/*
 * The OpenTelemetry trace exporter (ngx_http_infer_otel_module, in the
 * same build as ngx_http_infer_module): what the request lifecycle calls.
 * It calls nothing of the lifecycle back.
 */

#ifndef NGX_HTTP_INFER_OTEL_H
#define NGX_HTTP_INFER_OTEL_H


#include "ngx_http_infer_module.h"


#include "infer_otel.h"
#include "infer_otel_http.h"


extern ngx_module_t  ngx_http_infer_otel_module;


/* the exporter's configuration: the http block's infer_otel_* */

typedef struct {
    ngx_flag_t                used;         /* a location has infer_otel on */

    ngx_str_t                 endpoint;     /* as given */
    ngx_addr_t               *addrs;        /* its host, resolved */
    ngx_uint_t                naddrs;
    ngx_str_t                 host;         /* Host: with :port if needed */
    ngx_str_t                 name;         /* the host alone, for TLS:
                                               NUL-terminated */
    ngx_flag_t                name_is_addr; /* an IP address: no SNI */
    ngx_str_t                 path;
    ngx_flag_t                https;

    ngx_array_t              *headers;      /* of infer_otel_header_t */
    ngx_msec_t                interval;
    ngx_msec_t                timeout;
    ngx_uint_t                batch_size;
    ngx_uint_t                queue;
    ngx_uint_t                gzip;         /* 0, or zlib's level */
    ngx_uint_t                protocol;     /* infer_otel_protocol_e */

    ngx_str_t                 service_name;
    ngx_array_t              *resource;     /* of infer_otel_attr_t */
    ngx_str_t                 host_name;    /* host.name */

    ngx_str_t                 trusted_certificate;
    ngx_flag_t                ssl_verify;
#if (NGX_SSL)
    ngx_ssl_t                *ssl;
#endif
} ngx_http_infer_otel_main_conf_t;


typedef struct {
    ngx_flag_t                enable;       /* infer_otel */
    uint64_t                  threshold;    /* infer_otel_sample's ratio */
    ngx_flag_t                keep_errors;  /* and its errors */
    ngx_msec_t                keep_slow;    /* and slow=, 0: none */
    ngx_flag_t                sample_set;
} ngx_http_infer_otel_loc_conf_t;


/* the exporter of this worker: src/ngx_http_infer_otel_export.c */
ngx_int_t ngx_http_infer_otel_export_init(ngx_cycle_t *cycle,
    ngx_http_infer_otel_main_conf_t *omcf, infer_metrics_t *metrics);
void ngx_http_infer_otel_export_exit(ngx_cycle_t *cycle);
void ngx_http_infer_otel_add(const infer_otel_span_t *spans, size_t n);


/*
 * A request starts: 1 when its location exports spans (infer_otel on),
 * and then t's sampled flag, for a trace this request starts, is the
 * sampler's decision (a remote parent's flag is kept: parent-based).
 */
ngx_uint_t ngx_http_infer_otel_begin(ngx_http_request_t *r, infer_trace_t *t);

/*
 * It ends: 1 when its spans go out (sampled, or kept by infer_otel_sample
 * errors or slow=).
 */
ngx_uint_t ngx_http_infer_otel_keep(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);

/* its spans, from ctx's stages, into this worker's batch */
void ngx_http_infer_otel_record(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);


#endif /* NGX_HTTP_INFER_OTEL_H */
