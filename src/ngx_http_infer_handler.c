/*
 * The inference pipeline and the simple protocol's endpoints.
 *
 * A request goes: the content handler checks it and reads the body
 * asynchronously; the body handler parses it with the protocol's codec
 * into ctx->x; the model evaluates ctx->x into ctx->y; the protocol
 * writes the response.  Everything a step hands to the next is in the
 * request's ctx, so that evaluation can move to a thread and come back.
 */

#include "ngx_http_infer_module.h"


#define NGX_HTTP_INFER_FILE_CHUNK  65536   /* bytes read from a body file */


static void ngx_http_infer_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_infer_simple_parse(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static int ngx_http_infer_simple_parse_whole(ngx_http_request_t *r,
    const infer_request_opts_t *opts, const infer_alloc_t *alloc,
    infer_request_t *req);
static ngx_int_t ngx_http_infer_evaluate(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static ngx_int_t ngx_http_infer_simple_respond(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static ngx_int_t ngx_http_infer_feed_file(ngx_http_request_t *r,
    int (*feed)(void *parser, const u_char *data, size_t len), void *parser,
    ngx_buf_t *b);
static int ngx_http_infer_simple_feed(void *parser, const u_char *data,
    size_t len);
static ngx_int_t ngx_http_infer_is_json(ngx_http_request_t *r);


ngx_int_t
ngx_http_infer_predict_handler(ngx_http_request_t *r)
{
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    if (ngx_http_infer_track(r, ilcf->model) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_infer_not_allowed(r, "POST");
    }

    return ngx_http_infer_start(r, ilcf->model, NGX_HTTP_INFER_SIMPLE);
}


/* a POST for model im: check the type, then read the body */

ngx_int_t
ngx_http_infer_start(ngx_http_request_t *r, ngx_http_infer_model_t *im,
    ngx_http_infer_proto_e proto)
{
    ngx_int_t              rc;
    ngx_http_infer_ctx_t  *ctx;

    if (ngx_http_infer_is_json(r) != NGX_OK) {
        ngx_http_infer_set_reason(r, INFER_REASON_CONTENT_TYPE);
        return ngx_http_infer_reject(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                     "Content-Type must be application/json");
    }

    ctx = ngx_http_infer_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->model = im;
    ctx->proto = proto;

    /* a body that came with the headers was there on arrival */

    ctx->body_on_arrival = (r->headers_in.content_length_n >= 0
                            && r->header_in != NULL
                            && r->header_in->last - r->header_in->pos
                               >= r->headers_in.content_length_n);

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

    /* one clock read fewer: each costs 28 ns on this project's KVM guest */

    ctx->start_ns = ctx->body_on_arrival ? ctx->arrival_ns
                                         : ngx_http_infer_now_ns();

    ctx->alloc = ngx_http_infer_pool_alloc(r->pool);
    if (ctx->alloc == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = (ctx->proto == NGX_HTTP_INFER_V2) ? ngx_http_infer_v2_parse(r, ctx)
                                           : ngx_http_infer_simple_parse(r, ctx);

    /* a refused body was answered already: rc is what sending it gave */

    if (rc == NGX_OK && !ctx->own_response) {
        rc = ngx_http_infer_evaluate(r, ctx);

        if (rc == NGX_DONE) {
            return;                         /* a thread evaluates it */
        }
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * NGX_OK with ctx->x and ctx->rows; or, with the error sent (and so
 * ctx->own_response set), what sending it returned; or a status.
 */

static ngx_int_t
ngx_http_infer_simple_parse(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    int                         rc;
    infer_request_t             req;
    infer_request_opts_t        opts;
    infer_request_parser_t     *p;
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    opts.nfeatures = ctx->model->model->nfeatures;
    opts.max_rows = ilcf->max_batch;
    opts.missing_ok = ctx->model->model->missing_ok;
    opts.ndims = ctx->model->model->input.ndims;
    opts.dims = ctx->model->model->input.dims;

    rc = ngx_http_infer_simple_parse_whole(r, &opts, ctx->alloc, &req);

    if (rc == INFER_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == INFER_OK) {
        goto parsed;
    }

    /* the parser and yajl's state live in the request's pool */

    p = infer_request_parser_create(&opts, ctx->alloc);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_infer_feed_body(r, ngx_http_infer_simple_feed, p) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = infer_request_finish(p, &req);
    if (rc != INFER_OK) {
        ngx_http_infer_set_reason(r, infer_metrics_reason(rc));
        return ngx_http_infer_send_error(r, ngx_http_infer_status(rc),
                                         infer_request_error(p));
    }

parsed:

    ctx->x = req.x;
    ctx->rows = req.rows;
    ctx->batch = req.batch;

    return NGX_OK;
}


/*
 * A body that came whole in one memory buffer, as a small one does (in
 * the header buffer, or read in one go), goes to the one-pass reader;
 * INFER_DECLINED when it did not, or the reader declined it.
 */

static int
ngx_http_infer_simple_parse_whole(ngx_http_request_t *r,
    const infer_request_opts_t *opts, const infer_alloc_t *alloc,
    infer_request_t *req)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL) {
        return INFER_DECLINED;
    }

    cl = r->request_body->bufs;

    if (cl == NULL || cl->next != NULL || !ngx_buf_in_memory(cl->buf)) {
        return INFER_DECLINED;
    }

    b = cl->buf;

    return infer_request_parse_whole(opts, b->pos, b->last - b->pos, alloc,
                                     req);
}


/* inline, or on the thread pool: then NGX_DONE, the thread finalizes */

static ngx_int_t
ngx_http_infer_evaluate(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    int             rc;
    uint64_t        start;
    infer_model_t  *m;

    m = ctx->model->model;

    ctx->y = ngx_palloc(r->pool, ctx->rows * m->noutputs * sizeof(float));
    if (ctx->y == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_infer_offload(r, ctx) == NGX_OK) {
        return NGX_DONE;
    }

    start = ngx_http_infer_now_ns();
    rc = infer_model_eval(m, ctx->x, ctx->rows, ctx->y);
    ctx->done_ns = ngx_http_infer_now_ns();
    ctx->eval_ns = ctx->done_ns - start;
    ctx->evaluated = (rc == INFER_OK);

    if (rc != INFER_OK) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "infer: model \"%V\" failed to evaluate",
                      &ctx->model->name);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_infer_respond(r, ctx);
}


/* JSON has no NaN or infinity: an overflowed output is the input's fault */

ngx_int_t
ngx_http_infer_respond(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    char    msg[80];
    size_t  i, n;

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

    if (ctx->proto == NGX_HTTP_INFER_V2) {
        return ngx_http_infer_v2_respond(r, ctx);
    }

    return ngx_http_infer_simple_respond(r, ctx);
}


static ngx_int_t
ngx_http_infer_simple_respond(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx)
{
    infer_buf_t            out;
    infer_response_t       resp;
    const infer_tensor_t  *first;

    /* the model's first output: V2 gives them all */

    first = &ctx->model->model->outputs[0];

    resp.model_fields = ctx->model->fields.data;
    resp.model_fields_len = ctx->model->fields.len;
    resp.y = ctx->y + first->offset;
    resp.rows = ctx->rows;
    resp.noutputs = first->size;
    resp.stride = ctx->model->model->noutputs;
    resp.ndims = first->ndims;
    resp.dims = first->dims;
    resp.batch = ctx->batch;
    resp.latency_ns = ctx->done_ns - ctx->start_ns;

    infer_buf_init(&out, ctx->alloc);

    if (infer_json_write_response(&out, &resp) != INFER_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->prediction.data = out.data + resp.first_off;
    ctx->prediction.len = resp.first_len;

    return ngx_http_infer_send_json(r, NGX_HTTP_OK,
                                    ngx_http_infer_buf(r, &out));
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


static int
ngx_http_infer_simple_feed(void *parser, const u_char *data, size_t len)
{
    return infer_request_parse(parser, data, len);
}


ngx_int_t
ngx_http_infer_health_handler(ngx_http_request_t *r)
{
    ngx_buf_t           *b;
    static ngx_str_t     body = ngx_string(
        "{\"status\":\"ok\",\"version\":\"" NGX_HTTP_INFER_VERSION "\"}");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_infer_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body.data;
    b->last = body.data + body.len;
    b->memory = 1;

    return ngx_http_infer_send_json(r, NGX_HTTP_OK, b);
}


/*
 * {"status":"ready","models":[{"name":"m","version":"1","ready":true}]}:
 * ready when every model loaded (nginx would not run otherwise) and this
 * worker evaluated each once.
 */

ngx_int_t
ngx_http_infer_ready_handler(ngx_http_request_t *r)
{
    size_t                       len;
    ngx_buf_t                   *b;
    ngx_uint_t                   i, ready;
    ngx_http_infer_model_t      *im;
    ngx_http_infer_main_conf_t  *imcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_infer_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);
    im = imcf->models.elts;

    /* names and versions are plain (checked at load): no escaping */

    len = sizeof("{\"status\":\"not ready\",\"models\":[]}") - 1;

    for (i = 0; i < imcf->models.nelts; i++) {
        len += sizeof("{\"name\":\"\",\"version\":\"\",\"ready\":false},") - 1
               + im[i].name.len + im[i].version.len;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ready = ngx_http_infer_all_warm(imcf);

    b->last = ngx_sprintf(b->last, "{\"status\":\"%s\",\"models\":[",
                          ready ? "ready" : "not ready");

    for (i = 0; i < imcf->models.nelts; i++) {
        b->last = ngx_sprintf(b->last, "%s{\"name\":\"%V\",\"version\":\"%V\","
                              "\"ready\":%s}", i ? "," : "", &im[i].name,
                              &im[i].version, im[i].warm ? "true" : "false");
    }

    b->last = ngx_cpymem(b->last, "]}", 2);

    return ngx_http_infer_send_json(r, ready ? NGX_HTTP_OK
                                             : NGX_HTTP_SERVICE_UNAVAILABLE,
                                    b);
}


ngx_uint_t
ngx_http_infer_all_warm(ngx_http_infer_main_conf_t *imcf)
{
    ngx_uint_t               i;
    ngx_http_infer_model_t  *im;

    im = imcf->models.elts;

    for (i = 0; i < imcf->models.nelts; i++) {
        if (!im[i].warm) {
            return 0;
        }
    }

    return 1;
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

static ngx_int_t
ngx_http_infer_is_json(ngx_http_request_t *r)
{
    size_t      len;
    ngx_str_t  *type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = &r->headers_in.content_type->value;
    len = sizeof("application/json") - 1;

    /* nginx's byte-at-a-time ngx_strncasecmp() only for the odd spelling */

    if (type->len < len
        || (ngx_strncmp(type->data, "application/json", len) != 0
            && ngx_strncasecmp(type->data, (u_char *) "application/json", len)
               != 0))
    {
        return NGX_DECLINED;
    }

    if (type->len > len && type->data[len] != ';' && type->data[len] != ' ')
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* nginx's cached time has millisecond resolution: too coarse here */

uint64_t
ngx_http_infer_now_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}
