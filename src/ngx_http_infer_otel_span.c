/*
 * A request's spans, built at its log phase from what the lifecycle
 * recorded: a SERVER span for the request (the caller's span its parent,
 * the span id the response's traceparent gave), and an INTERNAL child
 * for each stage the module timed: reading and parsing the body, waiting
 * for a pool thread, evaluating the model, writing the response.
 *
 * Attributes follow OpenTelemetry's HTTP semantic conventions (1.26,
 * stable): a 5xx sets the status to ERROR and error.type to the code, a
 * 4xx leaves both unset on a SERVER span.  The module's own are infer.*.
 * Everything points into the request's memory: the core copies it once,
 * into the batch.
 */

#include "ngx_http_infer_otel.h"


#define NGX_HTTP_INFER_SPAN_ATTRS   24
#define NGX_HTTP_INFER_SPANS        6


typedef struct {
    infer_otel_attr_t    *attrs;
    size_t                n;
} ngx_http_infer_attrs_t;


static size_t ngx_http_infer_otel_server(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, infer_otel_span_t *s, u_char *name,
    ngx_http_infer_attrs_t *a);
static void ngx_http_infer_otel_http_attrs(ngx_http_request_t *r,
    ngx_http_infer_attrs_t *a, ngx_str_t *method);
static void ngx_http_infer_otel_infer_attrs(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, ngx_http_infer_attrs_t *a);
static infer_otel_span_t *ngx_http_infer_otel_child(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, infer_otel_span_t *s, const char *name,
    ngx_uint_t from, ngx_uint_t to);
static ngx_str_t ngx_http_infer_otel_method(ngx_http_request_t *r);
static ngx_uint_t ngx_http_infer_otel_port(ngx_http_request_t *r);
static void ngx_http_infer_otel_attr_str(ngx_http_infer_attrs_t *a,
    const char *key, size_t key_len, u_char *data, size_t len);
static void ngx_http_infer_otel_attr_int(ngx_http_infer_attrs_t *a,
    const char *key, size_t key_len, int64_t v);


/* an attribute whose key is a literal: its length is known */
#define ngx_http_infer_otel_str(a, key, data, len)                           \
    ngx_http_infer_otel_attr_str(a, key, sizeof(key) - 1, data, len)
#define ngx_http_infer_otel_int(a, key, v)                                   \
    ngx_http_infer_otel_attr_int(a, key, sizeof(key) - 1, v)


void
ngx_http_infer_otel_record(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    size_t                  n;
    u_char                  name[INFER_OTEL_MAX_NAME];
    infer_otel_attr_t       attrs[NGX_HTTP_INFER_SPAN_ATTRS], batch;
    infer_otel_span_t       spans[NGX_HTTP_INFER_SPANS], *s;
    ngx_http_infer_attrs_t  a;

    a.attrs = attrs;
    a.n = 0;

    n = ngx_http_infer_otel_server(r, ctx, &spans[0], name, &a);

    s = ngx_http_infer_otel_child(r, ctx, &spans[n], "infer.parse",
                                  NGX_HTTP_INFER_T_ARRIVAL,
                                  NGX_HTTP_INFER_T_PARSED);
    n += (s != NULL);

    if (ctx->offloaded) {
        s = ngx_http_infer_otel_child(r, ctx, &spans[n], "infer.queue",
                                      NGX_HTTP_INFER_T_POSTED,
                                      ctx->t[NGX_HTTP_INFER_T_DECODE]
                                      ? NGX_HTTP_INFER_T_DECODE
                                      : NGX_HTTP_INFER_T_EVAL);
        n += (s != NULL);
    }

    if (ctx->t[NGX_HTTP_INFER_T_DECODE]) {
        s = ngx_http_infer_otel_child(r, ctx, &spans[n], "infer.decode",
                                      NGX_HTTP_INFER_T_DECODE,
                                      NGX_HTTP_INFER_T_EVAL);
        n += (s != NULL);
    }

    /* an image refused while decoding never reached the model */

    s = ctx->image_refusal ? NULL
        : ngx_http_infer_otel_child(r, ctx, &spans[n], "infer.evaluate",
                                    NGX_HTTP_INFER_T_EVAL,
                                    NGX_HTTP_INFER_T_EVALUATED);
    if (s != NULL) {
        batch.key = "infer.batch_size";
        batch.key_len = sizeof("infer.batch_size") - 1;
        batch.type = INFER_OTEL_INT;
        batch.v.i = ctx->rows;
        s->attrs = &batch;
        s->nattrs = 1;

        if (!ctx->evaluated) {
            s->status = INFER_OTEL_STATUS_ERROR;
        }

        n++;
    }

    s = ngx_http_infer_otel_child(r, ctx, &spans[n], "infer.respond",
                                  NGX_HTTP_INFER_T_DONE,
                                  NGX_HTTP_INFER_T_END);
    n += (s != NULL);

    ngx_http_infer_otel_add(spans, n);
}


/* the request's own span: "POST /predict" */

static size_t
ngx_http_infer_otel_server(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx,
    infer_otel_span_t *s, u_char *name, ngx_http_infer_attrs_t *a)
{
    u_char                    *p;
    size_t                     len;
    ngx_str_t                  method, verb, route;
    ngx_uint_t                 status;
    ngx_table_elt_t           *state;
    ngx_http_core_loc_conf_t  *clcf;

    ngx_memzero(s, sizeof(infer_otel_span_t));

    ngx_memcpy(s->trace_id, ctx->trace.trace_id, INFER_TRACE_ID_LEN);
    ngx_memcpy(s->span_id, ctx->trace.span_id, INFER_TRACE_SPAN_LEN);

    if (ctx->trace.remote) {
        ngx_memcpy(s->parent_id, ctx->trace.parent_id, INFER_TRACE_SPAN_LEN);
        s->has_parent = 1;
    }

    s->flags = ctx->trace.flags | INFER_OTEL_FLAG_HAS_IS_REMOTE
               | (ctx->trace.remote ? INFER_OTEL_FLAG_IS_REMOTE : 0);
    s->kind = INFER_OTEL_KIND_SERVER;
    s->start_ns = ngx_http_infer_unix_ns(ctx->t[NGX_HTTP_INFER_T_ARRIVAL]);
    s->end_ns = ngx_http_infer_unix_ns(ctx->t[NGX_HTTP_INFER_T_END]);

    if (ctx->trace.remote) {
        state = ngx_http_infer_find_header(r, "tracestate",
                                           sizeof("tracestate") - 1);
        if (state != NULL) {
            s->trace_state = (char *) state->value.data;
            s->trace_state_len = state->value.len;
        }
    }

    /* "{method} {route}"; an unknown method is "HTTP", as the spec says */

    method = ngx_http_infer_otel_method(r);

    if (ctx->route.len) {
        route = ctx->route;

    } else {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        route = clcf->name;
    }

    verb = method;

    if (method.data[0] == '_') {
        ngx_str_set(&verb, "HTTP");
    }

    /* a known method is short; the core cuts the name on a character */

    len = ngx_min(route.len, INFER_OTEL_MAX_NAME - verb.len - 1);
    p = ngx_cpymem(name, verb.data, verb.len);
    *p++ = ' ';
    p = ngx_cpymem(p, route.data, len);

    s->name = (char *) name;
    s->name_len = p - name;

    ngx_http_infer_otel_str(a, "http.route", route.data, route.len);
    ngx_http_infer_otel_http_attrs(r, a, &method);
    ngx_http_infer_otel_infer_attrs(r, ctx, a);

    status = r->headers_out.status;

    if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        s->status = INFER_OTEL_STATUS_ERROR;
    }

    s->attrs = a->attrs;
    s->nattrs = a->n;

    return 1;
}


static void
ngx_http_infer_otel_http_attrs(ngx_http_request_t *r,
    ngx_http_infer_attrs_t *a, ngx_str_t *method)
{
    u_char             *p;
    size_t              len;
    ngx_str_t          *host, *ua;
    ngx_uint_t          status;
    ngx_connection_t   *c;

    c = r->connection;

    ngx_http_infer_otel_str(a, "http.request.method", method->data,
                            method->len);

    if (method->data[0] == '_') {
        ngx_http_infer_otel_str(a, "http.request.method_original",
                                r->method_name.data, r->method_name.len);
    }

    /* the path as sent, before nginx decoded it, without the query */

    p = r->unparsed_uri.data;
    len = r->unparsed_uri.len;

    if (r->args_start != NULL && r->args_start > p
        && r->args_start <= p + len)
    {
        len = r->args_start - 1 - p;
    }

    ngx_http_infer_otel_str(a, "url.path", p, len);

#if (NGX_HTTP_SSL)
    if (c->ssl) {
        ngx_http_infer_otel_str(a, "url.scheme", (u_char *) "https", 5);

    } else
#endif
    {
        ngx_http_infer_otel_str(a, "url.scheme", (u_char *) "http", 4);
    }

    status = r->headers_out.status;

    if (status) {
        ngx_http_infer_otel_int(a, "http.response.status_code", status);
    }

    if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);

        if (p != NULL) {
            ngx_http_infer_otel_str(a, "error.type", p,
                                    ngx_sprintf(p, "%ui", status) - p);
        }
    }

    host = &r->headers_in.server;

    if (host->len) {
        ngx_http_infer_otel_str(a, "server.address", host->data, host->len);
        ngx_http_infer_otel_int(a, "server.port",
                                ngx_http_infer_otel_port(r));
    }

    ngx_http_infer_otel_str(a, "client.address", c->addr_text.data,
                            c->addr_text.len);

    if (r->headers_in.user_agent != NULL) {
        ua = &r->headers_in.user_agent->value;
        ngx_http_infer_otel_str(a, "user_agent.original", ua->data, ua->len);
    }

    switch (r->http_version) {

    case NGX_HTTP_VERSION_10:
        ngx_http_infer_otel_str(a, "network.protocol.version",
                                (u_char *) "1.0", 3);
        break;

    case NGX_HTTP_VERSION_11:
        ngx_http_infer_otel_str(a, "network.protocol.version",
                                (u_char *) "1.1", 3);
        break;

    case NGX_HTTP_VERSION_20:
        ngx_http_infer_otel_str(a, "network.protocol.version",
                                (u_char *) "2", 1);
        break;
    }

    if (r->headers_in.content_length_n >= 0) {
        ngx_http_infer_otel_int(a, "http.request.body.size",
                                r->headers_in.content_length_n);
    }

    if (r->headers_out.content_length_n >= 0) {
        ngx_http_infer_otel_int(a, "http.response.body.size",
                                r->headers_out.content_length_n);
    }
}


static void
ngx_http_infer_otel_infer_attrs(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, ngx_http_infer_attrs_t *a)
{
    const char              *s;
    ngx_http_infer_model_t  *im;

    im = ctx->model;

    if (im != NULL) {
        ngx_http_infer_otel_str(a, "infer.model.name", im->name.data,
                                im->name.len);
        ngx_http_infer_otel_str(a, "infer.model.version", im->version.data,
                                im->version.len);
        s = infer_model_format(im->model);
        ngx_http_infer_otel_str(a, "infer.model.format", (u_char *) s,
                                ngx_strlen(s));
    }

    if (ctx->evaluated) {
        ngx_http_infer_otel_int(a, "infer.batch_size", ctx->rows);
    }

    s = ngx_http_infer_outcome(r, ctx);
    ngx_http_infer_otel_str(a, "infer.status", (u_char *) s, ngx_strlen(s));

    if (ctx->sched_done) {
        ngx_http_infer_otel_int(a, "infer.sched_delay_us",
                                ctx->sched_ns / 1000);
    }
}


/* a stage the request went through, as a child of its span: or NULL */

static infer_otel_span_t *
ngx_http_infer_otel_child(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx,
    infer_otel_span_t *s, const char *name, ngx_uint_t from, ngx_uint_t to)
{
    uint64_t                     id;
    ngx_http_infer_main_conf_t  *imcf;

    if (ctx->t[from] == 0 || ctx->t[to] == 0 || ctx->t[to] < ctx->t[from]) {
        return NULL;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);

    ngx_memzero(s, sizeof(infer_otel_span_t));

    ngx_memcpy(s->trace_id, ctx->trace.trace_id, INFER_TRACE_ID_LEN);
    ngx_memcpy(s->parent_id, ctx->trace.span_id, INFER_TRACE_SPAN_LEN);
    s->has_parent = 1;

    /* an id of all zeros is invalid */

    id = infer_trace_rand(&imcf->rng) | 1;
    ngx_memcpy(s->span_id, &id, INFER_TRACE_SPAN_LEN);

    s->flags = ctx->trace.flags | INFER_OTEL_FLAG_HAS_IS_REMOTE;
    s->name = name;
    s->name_len = ngx_strlen(name);
    s->kind = INFER_OTEL_KIND_INTERNAL;
    s->start_ns = ngx_http_infer_unix_ns(ctx->t[from]);
    s->end_ns = ngx_http_infer_unix_ns(ctx->t[to]);

    return s;
}


/* the conventions' known methods as they are, any other as _OTHER */

static ngx_str_t
ngx_http_infer_otel_method(ngx_http_request_t *r)
{
    ngx_str_t  other = ngx_string("_OTHER");

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST|NGX_HTTP_PUT
                     |NGX_HTTP_DELETE|NGX_HTTP_OPTIONS|NGX_HTTP_PATCH
                     |NGX_HTTP_TRACE
#ifdef NGX_HTTP_CONNECT
                     |NGX_HTTP_CONNECT
#endif
                     ))
    {
        return r->method_name;
    }

    return other;
}


/* the Host header's port, or the port the request came to */

static ngx_uint_t
ngx_http_infer_otel_port(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_int_t   port;
    ngx_str_t  *host;

    if (r->headers_in.host != NULL) {
        host = &r->headers_in.host->value;
        last = host->data + host->len;

        for (p = last; p > host->data; p--) {
            if (p[-1] == ':') {
                port = ngx_atoi(p, last - p);

                if (port > 0 && port < 65536) {
                    return port;
                }

                break;
            }

            if (p[-1] == ']') {
                break;
            }
        }
    }

    return ngx_inet_get_port(r->connection->local_sockaddr);
}


static void
ngx_http_infer_otel_attr_str(ngx_http_infer_attrs_t *a, const char *key,
    size_t key_len, u_char *data, size_t len)
{
    infer_otel_attr_t  *attr;

    if (a->n == NGX_HTTP_INFER_SPAN_ATTRS) {
        return;
    }

    attr = &a->attrs[a->n++];
    attr->key = key;
    attr->key_len = key_len;
    attr->type = INFER_OTEL_STRING;
    attr->v.s = (char *) data;
    attr->len = len;
}


static void
ngx_http_infer_otel_attr_int(ngx_http_infer_attrs_t *a, const char *key,
    size_t key_len, int64_t v)
{
    infer_otel_attr_t  *attr;

    if (a->n == NGX_HTTP_INFER_SPAN_ATTRS) {
        return;
    }

    attr = &a->attrs[a->n++];
    attr->key = key;
    attr->key_len = key_len;
    attr->type = INFER_OTEL_INT;
    attr->v.i = v;
}
