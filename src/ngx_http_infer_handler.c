/*
 * The simple protocol ({"features":[...]} in, {"prediction":...} out) and
 * the health and readiness endpoints.
 */

#include "ngx_http_infer_module.h"


static ngx_int_t ngx_http_infer_simple_parse(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static int ngx_http_infer_simple_parse_whole(ngx_http_request_t *r,
    const infer_request_opts_t *opts, const infer_alloc_t *alloc,
    infer_request_t *req);
static ngx_int_t ngx_http_infer_simple_respond(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static int ngx_http_infer_simple_feed(void *parser, const u_char *data,
    size_t len);
static ngx_int_t ngx_http_infer_probe_begin(ngx_http_request_t *r);

static const char *ngx_http_infer_simple_accepts(ngx_http_request_t *r,
    ngx_http_infer_model_t *im);


static const ngx_http_infer_proto_t  ngx_http_infer_simple_proto = {
    ngx_http_infer_simple_accepts,
    ngx_http_infer_simple_parse,
    ngx_http_infer_simple_respond
};


ngx_int_t
ngx_http_infer_predict_handler(ngx_http_request_t *r)
{
    ngx_http_infer_ctx_t       *ctx;
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    ctx = ngx_http_infer_request_begin(r, ilcf->model, NGX_HTTP_INFER_COUNT);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_infer_not_allowed(r, "POST");
    }

    if (ngx_http_infer_top_k(r, ctx) != NGX_OK) {
        ngx_http_infer_set_reason(r, INFER_REASON_BAD_REQUEST);
        return ngx_http_infer_reject(r, NGX_HTTP_BAD_REQUEST,
                                     "top_k must be a whole number");
    }

    return ngx_http_infer_start(r, ilcf->model, &ngx_http_infer_simple_proto);
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

    if (ctx->model->image != NULL && ngx_http_infer_is_json(r) != NGX_OK) {
        return ngx_http_infer_image_parse(r, ctx);
    }

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


static ngx_int_t
ngx_http_infer_simple_respond(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx)
{
    infer_buf_t            out;
    infer_response_t       resp;
    const infer_tensor_t  *first;

    /* a classifier's answer: one row's best classes */

    if (ctx->top_k && ctx->rows == 1 && !ctx->batch) {
        return ngx_http_infer_topk_respond(r, ctx);
    }

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
    resp.latency_ns = ctx->t[NGX_HTTP_INFER_T_DONE]
                      - ctx->t[NGX_HTTP_INFER_T_BODY];
    resp.trace_id = ctx->traceparent
                    ? (char *) ctx->traceparent + INFER_TRACEPARENT_TRACE
                    : NULL;

    infer_buf_init(&out, ctx->alloc);

    if (infer_json_write_response(&out, &resp) != INFER_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->prediction.data = out.data + resp.first_off;
    ctx->prediction.len = resp.first_len;

    return ngx_http_infer_send_json(r, NGX_HTTP_OK,
                                    ngx_http_infer_buf(r, &out));
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

    if (ngx_http_infer_probe_begin(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

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

    if (ngx_http_infer_probe_begin(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

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


/* a probe is traced, not counted: the kubelet's would drown the figures */

static ngx_int_t
ngx_http_infer_probe_begin(ngx_http_request_t *r)
{
    return ngx_http_infer_request_begin(r, NULL, 0) ? NGX_OK : NGX_ERROR;
}


static const char *
ngx_http_infer_simple_accepts(ngx_http_request_t *r,
    ngx_http_infer_model_t *im)
{
    if (ngx_http_infer_is_json(r) == NGX_OK) {
        return NULL;
    }

    if (im->image == NULL) {
        return "Content-Type must be application/json";
    }

    if (ngx_http_infer_image_type(r) == NGX_OK) {
        return NULL;
    }

    return "Content-Type must be application/json, image/jpeg, image/png "
           "or multipart/form-data";
}
