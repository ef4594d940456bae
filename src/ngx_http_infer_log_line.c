/*
 * $infer_log_json: the whole line of the shipped JSON access log
 * (conf/infer_log_format.conf), written in one pass.
 *
 * The same line as the format spelled out field by field with
 * escape=json, byte for byte (scripts/test-log-live.py compares the two
 * over requests of every kind): nginx's own fields as its log module
 * writes them, the module's as its variables give them, the strings a
 * client chooses escaped by ngx_escape_json() (a model's name and
 * version are letters, digits and ".-_", checked when it is loaded; the
 * module's other fields are numbers, hex and fixed words).  What
 * it saves is the log module's work per field: two lookups and two
 * escaping passes each for 16 fields, some 4,000 instructions a line.
 */

#include "ngx_http_infer_module.h"


typedef struct {
    ngx_str_t   value;
    unsigned    escape:1;
} ngx_http_infer_log_field_t;


/* the fields, in the line's order */

enum {
    F_TIME = 0, F_ADDR, F_METHOD, F_URI, F_STATUS, F_REQUEST_TIME, F_SENT,
    F_MODEL, F_VERSION, F_INFER_STATUS, F_BATCH, F_LATENCY, F_PREDICTION,
    F_TRACE_ID, F_SPAN_ID, F_SAMPLED, F_N
};

/* the module's variable behind each of its fields */

static ngx_uint_t  ngx_http_infer_log_var[F_N] = {
    0, 0, 0, 0, 0, 0, 0,
    NGX_HTTP_INFER_VAR_MODEL, NGX_HTTP_INFER_VAR_MODEL_VERSION,
    NGX_HTTP_INFER_VAR_STATUS, NGX_HTTP_INFER_VAR_BATCH_SIZE,
    NGX_HTTP_INFER_VAR_LATENCY_US, NGX_HTTP_INFER_VAR_PREDICTION,
    NGX_HTTP_INFER_VAR_TRACE_ID, NGX_HTTP_INFER_VAR_SPAN_ID,
    NGX_HTTP_INFER_VAR_TRACE_SAMPLED
};


/*
 * The text before each field, and after the last.  Written out one by one
 * (ngx_http_infer_log_put()), so that each length is a constant and the
 * compiler copies each piece in a few moves instead of calling memcpy();
 * NGX_HTTP_INFER_LOG_TEXT is their sum (checked after every line).
 */

#define NGX_HTTP_INFER_LOG_TEXT                                               \
    (sizeof("{\"time\":\"\",\"remote_addr\":\"\",\"method\":\"\","            \
            "\"uri\":\"\",\"status\":,\"request_time\":,\"bytes_sent\":,"    \
            "\"model\":\"\",\"model_version\":\"\",\"infer_status\":\"\","   \
            "\"batch_size\":,\"latency_us\":,\"prediction\":\"\","           \
            "\"trace_id\":\"\",\"span_id\":\"\",\"trace_sampled\":}") - 1)

#define ngx_http_infer_log_put(p, text, f)                                    \
    p = ngx_cpymem(p, text, sizeof(text) - 1);                                \
    p = (f)->escape ? (u_char *) ngx_escape_json(p, (f)->value.data,          \
                                                 (f)->value.len)              \
                    : ngx_cpymem(p, (f)->value.data, (f)->value.len)


static void ngx_http_infer_log_nginx_fields(ngx_http_request_t *r,
    ngx_http_infer_log_field_t *f, u_char *num);


ngx_int_t
ngx_http_infer_log_json_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                      *p, num[3 * (INFER_INT64_LEN + 5)];
    size_t                       len;
    ngx_uint_t                   i;
    ngx_http_infer_ctx_t        *ctx;
    ngx_http_variable_value_t    mv;
    ngx_http_infer_log_field_t   f[F_N];

    ngx_http_infer_log_nginx_fields(r, f, num);

    /* the module's fields as its variables give them, the request's
       record ended once */

    ctx = ngx_http_infer_request_end(r);

    for (i = F_MODEL; i < F_N; i++) {
        if (ngx_http_infer_variable_of(r, ctx, &mv, ngx_http_infer_log_var[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        f[i].value.len = mv.len;
        f[i].value.data = mv.data;
        f[i].escape = 0;    /* names and versions are checked at load */
    }

    len = NGX_HTTP_INFER_LOG_TEXT;

    for (i = 0; i < F_N; i++) {
        len += f[i].value.len;

        if (f[i].escape) {
            len += ngx_escape_json(NULL, f[i].value.data, f[i].value.len);
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    ngx_http_infer_log_put(p, "{\"time\":\"", &f[F_TIME]);
    ngx_http_infer_log_put(p, "\",\"remote_addr\":\"", &f[F_ADDR]);
    ngx_http_infer_log_put(p, "\",\"method\":\"", &f[F_METHOD]);
    ngx_http_infer_log_put(p, "\",\"uri\":\"", &f[F_URI]);
    ngx_http_infer_log_put(p, "\",\"status\":", &f[F_STATUS]);
    ngx_http_infer_log_put(p, ",\"request_time\":", &f[F_REQUEST_TIME]);
    ngx_http_infer_log_put(p, ",\"bytes_sent\":", &f[F_SENT]);
    ngx_http_infer_log_put(p, ",\"model\":\"", &f[F_MODEL]);
    ngx_http_infer_log_put(p, "\",\"model_version\":\"", &f[F_VERSION]);
    ngx_http_infer_log_put(p, "\",\"infer_status\":\"", &f[F_INFER_STATUS]);
    ngx_http_infer_log_put(p, "\",\"batch_size\":", &f[F_BATCH]);
    ngx_http_infer_log_put(p, ",\"latency_us\":", &f[F_LATENCY]);
    ngx_http_infer_log_put(p, ",\"prediction\":\"", &f[F_PREDICTION]);
    ngx_http_infer_log_put(p, "\",\"trace_id\":\"", &f[F_TRACE_ID]);
    ngx_http_infer_log_put(p, "\",\"span_id\":\"", &f[F_SPAN_ID]);
    ngx_http_infer_log_put(p, "\",\"trace_sampled\":", &f[F_SAMPLED]);
    *p++ = '}';

    v->len = p - v->data;

    if (v->len != len) {            /* NGX_HTTP_INFER_LOG_TEXT is stale */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "$infer_log_json: %uz bytes written for %uz",
                      v->len, len);
        return NGX_ERROR;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * nginx's fields as ngx_http_log_module writes them: $time_iso8601,
 * $status, $request_time and $bytes_sent are its own operations (never
 * escaped), $remote_addr, $request_method and $uri variables (escaped;
 * an address never needs it, the others may).  num holds the numbers.
 */

static void
ngx_http_infer_log_nginx_fields(ngx_http_request_t *r,
    ngx_http_infer_log_field_t *f, u_char *num)
{
    u_char          *p;
    ngx_uint_t       status;
    ngx_time_t      *tp;
    ngx_msec_int_t   ms;

    f[F_TIME].value = ngx_cached_http_log_iso8601;
    f[F_TIME].escape = 0;

    f[F_ADDR].value = r->connection->addr_text;
    f[F_ADDR].escape = 0;

    f[F_METHOD].value = r->main->method_name;     /* as $request_method */
    f[F_METHOD].escape = 1;

    f[F_URI].value = r->uri;
    f[F_URI].escape = 1;

    if (r->err_status) {
        status = r->err_status;

    } else if (r->headers_out.status) {
        status = r->headers_out.status;

    } else if (r->http_version == NGX_HTTP_VERSION_9) {
        status = 9;

    } else {
        status = 0;
    }

    /* "%03ui", "%T.%03M" and "%O" as ngx_sprintf() writes them, with the
       core's digits (ngx_sprintf() costs some 120 instructions a number) */

    p = num;

    if (status < 100) {                     /* 0 or 9: zero-padded */
        *p++ = '0';
        *p++ = (u_char) ('0' + status / 10);
        *p++ = (u_char) ('0' + status % 10);

    } else {
        p += infer_format_uint64((char *) p, status);
    }

    f[F_STATUS].value.data = num;
    f[F_STATUS].value.len = p - num;
    f[F_STATUS].escape = 0;

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t)
             ((tp->sec - r->start_sec) * 1000 + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    f[F_REQUEST_TIME].value.data = p;
    p += infer_format_uint64((char *) p, (uint64_t) ms / 1000);
    *p++ = '.';
    *p++ = (u_char) ('0' + ms % 1000 / 100);
    *p++ = (u_char) ('0' + ms % 100 / 10);
    *p++ = (u_char) ('0' + ms % 10);
    f[F_REQUEST_TIME].value.len = p - f[F_REQUEST_TIME].value.data;
    f[F_REQUEST_TIME].escape = 0;

    f[F_SENT].value.data = p;

    if (r->connection->sent < 0) {          /* never, but "%O" would say */
        *p++ = '-';
        p += infer_format_uint64((char *) p,
                                 (uint64_t) -r->connection->sent);
    } else {
        p += infer_format_uint64((char *) p, (uint64_t) r->connection->sent);
    }

    f[F_SENT].value.len = p - f[F_SENT].value.data;
    f[F_SENT].escape = 0;
}
