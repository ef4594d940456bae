/*
 * The inference pipeline, shared by the protocols.
 *
 * A request goes: the content handler checks it and reads the body
 * asynchronously; the body handler parses it with the protocol's codec
 * into ctx->x; the model evaluates ctx->x into ctx->y, inline or on a
 * thread; the protocol writes the response.  Everything a step hands to
 * the next is in the request's ctx, so that evaluation can move to a
 * thread and come back.  Each step stamps its stage in the ctx.
 */

#include "ngx_http_infer_module.h"


#define NGX_HTTP_INFER_FILE_CHUNK  65536   /* bytes read from a body file */


static void ngx_http_infer_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_infer_evaluate(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static void ngx_http_infer_offloaded(ngx_http_request_t *r, ngx_int_t rc);
static ngx_int_t ngx_http_infer_evaluated(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_infer_feed_file(ngx_http_request_t *r,
    int (*feed)(void *parser, const u_char *data, size_t len), void *parser,
    ngx_buf_t *b);


/* a POST for model im: check the type, then read the body */

ngx_int_t
ngx_http_infer_start(ngx_http_request_t *r, ngx_http_infer_model_t *im,
    const ngx_http_infer_proto_t *proto)
{
    ngx_int_t              rc;
    const char            *refused;
    ngx_http_infer_ctx_t  *ctx;

    refused = proto->accepts(r, im);

    if (refused != NULL) {
        ngx_http_infer_set_reason(r, INFER_REASON_CONTENT_TYPE);
        return ngx_http_infer_reject(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     refused);
    }

    ctx = ngx_http_infer_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->model = im;
    ctx->proto = proto;

    /*
     * A body that came with the headers was there on arrival: one clock
     * read fewer (each costs 28 ns on this project's KVM guest).
     */

    if (r->headers_in.content_length_n >= 0
        && r->header_in != NULL
        && r->header_in->last - r->header_in->pos
           >= r->headers_in.content_length_n)
    {
        ctx->t[NGX_HTTP_INFER_T_BODY] = ctx->t[NGX_HTTP_INFER_T_ARRIVAL];
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_infer_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;                          /* the error filter makes it JSON */
    }

    return NGX_DONE;
}


static void
ngx_http_infer_body_handler(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    if (ctx->t[NGX_HTTP_INFER_T_BODY] == 0) {
        ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_BODY);
    }

    ctx->alloc = ngx_http_infer_pool_alloc(r->pool);
    if (ctx->alloc == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ctx->proto->parse(r, ctx);

    ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_PARSED);

    /* a refused body was answered already: rc is what sending it gave */

    if (rc == NGX_OK && !ctx->own_response) {
        rc = ngx_http_infer_evaluate(r, ctx);

        if (rc == NGX_DONE) {
            return;                         /* a thread evaluates it */
        }
    }

    ngx_http_finalize_request(r, rc);
}


/* inline, or on the thread pool: then NGX_DONE, the thread finalizes */

static ngx_int_t
ngx_http_infer_evaluate(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    int             rc;
    infer_model_t  *m;

    m = ctx->model->model;

    ctx->y = ngx_palloc(r->pool, ctx->rows * m->noutputs * sizeof(float));
    if (ctx->y == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_infer_offload(r, ctx, ngx_http_infer_offloaded) == NGX_OK) {
        return NGX_DONE;
    }

    /* the model starts as parsing ends: the same moment, one read */

    ctx->t[NGX_HTTP_INFER_T_EVAL] = ctx->t[NGX_HTTP_INFER_T_PARSED];

    if (ctx->image != NULL) {
        ctx->t[NGX_HTTP_INFER_T_DECODE] = ctx->t[NGX_HTTP_INFER_T_PARSED];

        rc = ngx_http_infer_image_run(ctx->image);

        ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_EVAL);

        if (rc != INFER_OK) {
            ctx->t[NGX_HTTP_INFER_T_EVALUATED] = ctx->t[NGX_HTTP_INFER_T_EVAL];
            ctx->t[NGX_HTTP_INFER_T_DONE] = ctx->t[NGX_HTTP_INFER_T_EVAL];
            return ngx_http_infer_evaluated(r, ctx, NGX_OK);
        }
    }

    rc = infer_model_eval(m, ctx->x, ctx->rows, ctx->y);

    ngx_http_infer_stage(ctx, NGX_HTTP_INFER_T_EVALUATED);
    ctx->t[NGX_HTTP_INFER_T_DONE] = ctx->t[NGX_HTTP_INFER_T_EVALUATED];

    return ngx_http_infer_evaluated(r, ctx, rc == INFER_OK ? NGX_OK
                                                           : NGX_ERROR);
}


/* back from the thread pool, in the event loop */

static void
ngx_http_infer_offloaded(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_infer_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);

    /* the finalization the body handler left to us */

    ngx_http_finalize_request(r, ngx_http_infer_evaluated(r, ctx, rc));
}


/*
 * The model has answered (rc NGX_OK) or failed.  JSON has no NaN or
 * infinity: an overflowed output is the input's fault.
 */

static ngx_int_t
ngx_http_infer_evaluated(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx,
    ngx_int_t rc)
{
    char    msg[80];
    size_t  i, n;

    if (ctx->image != NULL && ctx->image->rc != INFER_OK) {

        if (ctx->image->rc == INFER_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "infer: decoding or preprocessing an image for "
                          "model \"%V\" failed", &ctx->model->name);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_infer_image_refuse(r, &ctx->image->error);
    }

    ctx->evaluated = (rc == NGX_OK);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "infer: model \"%V\" failed to evaluate",
                      &ctx->model->name);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ctx->model->model->noutputs;

    for (i = 0; i < ctx->rows * n; i++) {
        if (!isfinite(ctx->y[i])) {
            *ngx_snprintf((u_char *) msg, sizeof(msg) - 1, "the model's "
                          "output for row %uz is not a finite number",
                          i / n) = '\0';
            ngx_http_infer_set_reason(r, INFER_REASON_NON_FINITE);
            return ngx_http_infer_send_error(r, NGX_HTTP_INFER_UNPROCESSABLE,
                                             msg);
        }
    }

    return ctx->proto->respond(r, ctx);
}


/*
 * Hands each body buffer to feed.  NGX_OK also when the parser refused the
 * body (its finish says why); NGX_ERROR when the body could not be read.
 */

ngx_int_t
ngx_http_infer_feed_body(ngx_http_request_t *r,
    int (*feed)(void *parser, const u_char *data, size_t len), void *parser)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (feed(parser, b->pos, b->last - b->pos) != INFER_OK) {
                return NGX_OK;
            }

            continue;
        }

        if (b->in_file
            && ngx_http_infer_feed_file(r, feed, parser, b) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A body larger than client_body_buffer_size waits in a temporary file
 * that nginx has just written: these reads come from the page cache.
 */

static ngx_int_t
ngx_http_infer_feed_file(ngx_http_request_t *r,
    int (*feed)(void *parser, const u_char *data, size_t len), void *parser,
    ngx_buf_t *b)
{
    off_t     offset;
    size_t    size;
    ssize_t   n;
    u_char   *chunk;

    chunk = ngx_palloc(r->pool, NGX_HTTP_INFER_FILE_CHUNK);
    if (chunk == NULL) {
        return NGX_ERROR;
    }

    for (offset = b->file_pos; offset < b->file_last; offset += n) {
        size = ngx_min(NGX_HTTP_INFER_FILE_CHUNK, b->file_last - offset);

        n = ngx_read_file(b->file, chunk, size, offset);

        if (n == NGX_ERROR) {
            return NGX_ERROR;               /* ngx_read_file() logged it */
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "infer: body file \"%V\" was truncated",
                          &b->file->name);
            return NGX_ERROR;
        }

        if (feed(parser, chunk, n) != INFER_OK) {
            break;
        }
    }

    ngx_pfree(r->pool, chunk);

    return NGX_OK;
}


/* an answer before the body is read: drop the body, keep the connection */

ngx_int_t
ngx_http_infer_reject(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    return ngx_http_infer_send_error(r, status, msg);
}


ngx_int_t
ngx_http_infer_not_allowed(ngx_http_request_t *r, char *allow)
{
    char              msg[80];
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;                         /* a list of same-named headers */
#endif
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    *ngx_snprintf((u_char *) msg, sizeof(msg) - 1, "method %V is not "
                  "allowed: use %s", &r->method_name, allow) = '\0';

    ngx_http_infer_set_reason(r, INFER_REASON_METHOD);

    return ngx_http_infer_reject(r, NGX_HTTP_NOT_ALLOWED, msg);
}


/* application/json, with parameters (charset=utf-8) or none */

ngx_int_t
ngx_http_infer_is_json(ngx_http_request_t *r)
{
    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_infer_type_is(&r->headers_in.content_type->value,
                                  "application/json",
                                  sizeof("application/json") - 1);
}


/*
 * A Content-Type is the media type want (len bytes, lower case), with
 * parameters or none.  Case does not matter (RFC 9110); nginx's
 * byte-at-a-time ngx_strncasecmp() runs only for an odd spelling.
 */

ngx_int_t
ngx_http_infer_type_is(ngx_str_t *type, const char *want, size_t len)
{
    if (type->len < len
        || (ngx_strncmp(type->data, want, len) != 0
            && ngx_strncasecmp(type->data, (u_char *) want, len) != 0))
    {
        return NGX_DECLINED;
    }

    if (type->len > len && type->data[len] != ';' && type->data[len] != ' ')
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}
