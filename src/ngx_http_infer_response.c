/*
 * JSON responses, and the filter that keeps them JSON.
 *
 * The handlers answer their own errors with {"error":"..."}.  nginx
 * answers some before or around them with an HTML page: 413 when the
 * Content-Length passes client_max_body_size (in the find-config phase,
 * before any content handler), 400 for a broken chunked body, 500.  In
 * an infer location the header and body filters below replace that page
 * with a JSON error, unless an error_page set in that location sent the
 * request elsewhere.
 *
 * Outside them (the 400, 414, 494 and 501 nginx sends before any
 * location, a 404) an error_page can send the error to a location of
 * infer_error, whose handler answers the status nginx chose with the
 * same JSON.
 */

#include "ngx_http_infer_module.h"


static void *ngx_http_infer_pool_palloc(void *ctx, size_t size);
static void ngx_http_infer_pool_pfree(void *ctx, void *p);
static const char *ngx_http_infer_status_text(ngx_uint_t status);
static ngx_int_t ngx_http_infer_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_infer_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_infer_response_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_infer_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_infer_body_filter;

    return NGX_OK;
}


ngx_int_t
ngx_http_infer_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b)
{
    static ngx_str_t  json = ngx_string("application/json");

    return ngx_http_infer_send(r, status, &json, b);
}


ngx_int_t
ngx_http_infer_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_buf_t *b)
{
    ngx_int_t              rc;
    ngx_chain_t            out;
    ngx_http_infer_ctx_t  *ctx;

    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_infer_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->own_response = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_type_lowcase = NULL;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_infer_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    infer_buf_t  out;

    infer_buf_init(&out, ngx_http_infer_pool_alloc(r->pool));

    if (infer_json_write_error(&out, msg) != INFER_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_infer_send_json(r, status, ngx_http_infer_buf(r, &out));
}


ngx_uint_t
ngx_http_infer_status(int rc)
{
    switch (rc) {

    case INFER_EJSON:
    case INFER_EINVAL:
        return NGX_HTTP_BAD_REQUEST;

    case INFER_ESHAPE:
    case INFER_ERANGE:
        return NGX_HTTP_INFER_UNPROCESSABLE;

    case INFER_ETOOBIG:
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;

    case INFER_ENOTFOUND:
        return NGX_HTTP_NOT_FOUND;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* wraps what a core wrote into the request pool: no copy */

ngx_buf_t *
ngx_http_infer_buf(ngx_http_request_t *r, infer_buf_t *out)
{
    ngx_buf_t  *b;

    if (out->failed) {
        return NULL;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NULL;
    }

    b->pos = out->data;
    b->last = out->data + out->len;
    b->memory = 1;

    return b;
}


infer_alloc_t *
ngx_http_infer_pool_alloc(ngx_pool_t *pool)
{
    infer_alloc_t  *a;

    a = ngx_palloc(pool, sizeof(infer_alloc_t));
    if (a == NULL) {
        return NULL;
    }

    a->alloc = ngx_http_infer_pool_palloc;
    a->free = ngx_http_infer_pool_pfree;
    a->ctx = pool;

    return a;
}


static void *
ngx_http_infer_pool_palloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* gives large blocks back at once; small ones go with the pool */

static void
ngx_http_infer_pool_pfree(void *ctx, void *p)
{
    (void) ngx_pfree(ctx, p);
}


static const char *
ngx_http_infer_status_text(ngx_uint_t status)
{
    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        return "bad request";

    case NGX_HTTP_REQUEST_TIME_OUT:
        return "the request body did not arrive in time";

    case NGX_HTTP_LENGTH_REQUIRED:
        return "length required";

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "request body too large: the limit is client_max_body_size";

    case NGX_HTTP_FORBIDDEN:
        return "forbidden";

    case NGX_HTTP_NOT_FOUND:
        return "not found";

    case NGX_HTTP_NOT_ALLOWED:
        return "method not allowed";

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        return "request URI too long: the limit is "
               "large_client_header_buffers";

    case NGX_HTTP_MISDIRECTED_REQUEST:
        return "misdirected request";

    case NGX_HTTP_REQUEST_HEADER_TOO_LARGE:
        return "request header or cookie too large: the limit is "
               "large_client_header_buffers";

    case NGX_HTTPS_CERT_ERROR:
        return "SSL certificate error";

    case NGX_HTTPS_NO_CERT:
        return "no required SSL certificate was sent";

    case NGX_HTTP_TO_HTTPS:
        return "plain HTTP request sent to HTTPS port";

    case NGX_HTTP_NOT_IMPLEMENTED:
        return "not implemented";

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "service unavailable";

    case NGX_HTTP_VERSION_NOT_SUPPORTED:
        return "HTTP version not supported";

    default:
        return status < NGX_HTTP_INTERNAL_SERVER_ERROR
               ? "request refused" : "internal server error";
    }
}


/*
 * infer_error: the error nginx chose (r->err_status, which error_page
 * keeps unless "=" is given) as JSON.  494 and the TLS codes go out as
 * 400, as nginx's own pages do.  A request that came without one asked
 * for the location itself.
 */

ngx_int_t
ngx_http_infer_error_handler(ngx_http_request_t *r)
{
    ngx_int_t    rc;
    ngx_uint_t   status;
    const char  *msg;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    status = r->err_status;

    if (status < NGX_HTTP_BAD_REQUEST) {

        if (r->internal) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "infer_error: no error status to answer: send "
                          "errors here with \"error_page CODE ... URI\", "
                          "without \"=\"");
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            status = NGX_HTTP_NOT_FOUND;
        }
    }

    msg = ngx_http_infer_status_text(status);

    switch (status) {

    case NGX_HTTP_NOT_IMPLEMENTED:
        if (r->headers_in.transfer_encoding != NULL
            && !r->headers_in.chunked)
        {
            msg = "Transfer-Encoding other than chunked is not implemented";
        }
        break;

    case NGX_HTTP_REQUEST_HEADER_TOO_LARGE:
    case NGX_HTTPS_CERT_ERROR:
    case NGX_HTTPS_NO_CERT:
    case NGX_HTTP_TO_HTTPS:
        status = NGX_HTTP_BAD_REQUEST;
        break;
    }

    r->err_status = status;             /* ngx_http_send_header() sends it */

    return ngx_http_infer_send_error(r, status, msg);
}


static ngx_int_t
ngx_http_infer_header_filter(ngx_http_request_t *r)
{
    infer_buf_t                 out;
    ngx_http_infer_ctx_t       *ctx;
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    if (ilcf->kind == NGX_HTTP_INFER_NONE
        || r->headers_out.status < NGX_HTTP_BAD_REQUEST
        || r != r->main)
    {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_infer_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ctx->own_response) {
        return ngx_http_next_header_filter(r);
    }

    infer_buf_init(&out, ngx_http_infer_pool_alloc(r->pool));

    if (infer_json_write_error(&out,
                               ngx_http_infer_status_text(
                                   r->headers_out.status))
        != INFER_OK)
    {
        return NGX_ERROR;
    }

    ctx->error_body = ngx_http_infer_buf(r, &out);
    if (ctx->error_body == NULL) {
        return NGX_ERROR;
    }

    ctx->replace_body = 1;

    r->headers_out.content_length_n = out.len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_infer_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t             *b;
    ngx_chain_t           *cl, out;
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    if (ctx == NULL || !ctx->replace_body) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's page is dropped: mark its buffers sent */

    for (cl = in; cl != NULL; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
    }

    b = ctx->error_body;

    if (b == NULL) {
        return NGX_OK;                      /* ours went out already */
    }

    ctx->error_body = NULL;

    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}
