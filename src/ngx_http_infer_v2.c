/*
 * KServe V2 (Open Inference Protocol) REST endpoints for every configured
 * model: `location /v2/ { infer_v2; }`.  The core routes the URI, parses
 * requests and writes responses; this file maps them onto nginx.
 */

#include "ngx_http_infer_module.h"


static ngx_int_t ngx_http_infer_v2_get(ngx_http_request_t *r,
    infer_v2_route_t *rt, ngx_http_infer_model_t *im, infer_v2_model_t *vm);
static ngx_int_t ngx_http_infer_v2_send(ngx_http_request_t *r,
    ngx_uint_t status, infer_buf_t *out, int rc);
static ngx_int_t ngx_http_infer_v2_parse(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static ngx_int_t ngx_http_infer_v2_respond(ngx_http_request_t *r,
    ngx_http_infer_ctx_t *ctx);
static int ngx_http_infer_v2_feed(void *parser, const u_char *data,
    size_t len);
static ngx_table_elt_t *ngx_http_infer_v2_binary(ngx_http_request_t *r);
static off_t ngx_http_infer_v2_body_len(ngx_http_request_t *r);
static ngx_int_t ngx_http_infer_v2_send_binary(ngx_http_request_t *r,
    infer_buf_t *out, size_t json_len);

static const char *ngx_http_infer_v2_accepts(ngx_http_request_t *r,
    ngx_http_infer_model_t *im);


static const ngx_http_infer_proto_t  ngx_http_infer_v2_proto = {
    ngx_http_infer_v2_accepts,
    ngx_http_infer_v2_parse,
    ngx_http_infer_v2_respond
};


/*
 * Every V2 request is traced, under its route's template; infer requests
 * are counted too, for their model (an unknown one: by worker only).
 */

ngx_int_t
ngx_http_infer_v2_handler(ngx_http_request_t *r)
{
    int                          rc;
    char                         err[INFER_ERRLEN];
    size_t                       found;
    ngx_uint_t                   flags;
    infer_v2_model_t            *vm;
    infer_v2_route_t             rt;
    ngx_http_infer_model_t      *im;
    ngx_http_infer_main_conf_t  *imcf;

    rc = infer_v2_route((char *) r->uri.data, r->uri.len, &rt);

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);
    im = NULL;
    vm = NULL;

    if (rc == INFER_OK && rt.model != NULL) {
        rc = infer_v2_find_model(&rt, imcf->v2_models.elts,
                                 imcf->v2_models.nelts, &found, err,
                                 sizeof(err));
        if (rc == INFER_OK) {
            im = (ngx_http_infer_model_t *) imcf->models.elts + found;
            vm = (infer_v2_model_t *) imcf->v2_models.elts + found;
        }

    } else if (rc != INFER_OK) {
        ngx_cpystrn((u_char *) err, (u_char *) rt.err, sizeof(err));
    }

    flags = (rt.endpoint == INFER_V2_MODEL_INFER) ? NGX_HTTP_INFER_COUNT : 0;

    if (ngx_http_infer_request_begin(r, im, flags) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_infer_set_route(r, infer_v2_route_template(&rt));

    if (rc != INFER_OK) {
        ngx_http_infer_set_reason(r, INFER_REASON_UNKNOWN_MODEL);
        return ngx_http_infer_reject(r, NGX_HTTP_NOT_FOUND, err);
    }

    if (rt.endpoint == INFER_V2_MODEL_INFER) {
        if (!(r->method & NGX_HTTP_POST)) {
            return ngx_http_infer_not_allowed(r, "POST");
        }

        return ngx_http_infer_start(r, im, &ngx_http_infer_v2_proto);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_infer_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_infer_v2_get(r, &rt, im, vm);
}


/*
 * Health answers 200 for true and, as the protocol says, a 4xx (400) for
 * false, with the JSON body either way.
 */

static ngx_int_t
ngx_http_infer_v2_get(ngx_http_request_t *r, infer_v2_route_t *rt,
    ngx_http_infer_model_t *im, infer_v2_model_t *vm)
{
    int                          rc, ok;
    infer_buf_t                  out;
    ngx_http_infer_main_conf_t  *imcf;

    infer_buf_init(&out, ngx_http_infer_pool_alloc(r->pool));
    ok = 1;

    switch (rt->endpoint) {

    case INFER_V2_SERVER_METADATA:
        rc = infer_v2_write_server_metadata(&out, NGX_HTTP_INFER_VERSION);
        break;

    case INFER_V2_SERVER_LIVE:
        rc = infer_v2_write_flag(&out, "live", 1);
        break;

    case INFER_V2_SERVER_READY:
        imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);
        ok = ngx_http_infer_all_warm(imcf);
        rc = infer_v2_write_flag(&out, "ready", ok);
        break;

    case INFER_V2_MODEL_METADATA:
        rc = infer_v2_write_model_metadata(&out, vm);
        break;

    default:                                /* INFER_V2_MODEL_READY */
        ok = (im->warm != 0);
        rc = infer_v2_write_model_ready(&out, vm, ok);
        break;
    }

    return ngx_http_infer_v2_send(r, ok ? NGX_HTTP_OK : NGX_HTTP_BAD_REQUEST,
                                  &out, rc);
}


static ngx_int_t
ngx_http_infer_v2_send(ngx_http_request_t *r, ngx_uint_t status,
    infer_buf_t *out, int rc)
{
    if (rc != INFER_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_infer_send_json(r, status, ngx_http_infer_buf(r, out));
}


/* the body handler's parse step for an infer request; see the simple one */

static ngx_int_t
ngx_http_infer_v2_parse(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    int                         rc;
    infer_model_t              *m;
    ngx_table_elt_t            *h;
    infer_v2_parser_t          *p;
    infer_v2_request_t          req;
    infer_request_opts_t        opts;
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    m = ctx->model->model;

    opts.nfeatures = m->nfeatures;
    opts.max_rows = ilcf->max_batch;
    opts.missing_ok = m->missing_ok;
    opts.ndims = m->input.ndims;
    opts.dims = m->input.dims;

    /* the parser and yajl's state live in the request's pool */

    p = infer_v2_parser_create(&opts, m->outputs, m->noutput_tensors,
                               ctx->alloc);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the binary extension: the core splits the body where the JSON ends */

    h = ngx_http_infer_v2_binary(r);

    if (h != NULL) {
        (void) infer_v2_parser_binary(p, (char *) h->value.data,
                                      h->value.len,
                                      ngx_http_infer_v2_body_len(r));
    }

    if (ngx_http_infer_feed_body(r, ngx_http_infer_v2_feed, p) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = infer_v2_finish(p, &req);
    if (rc != INFER_OK) {
        ngx_http_infer_set_reason(r, infer_metrics_reason(rc));
        return ngx_http_infer_send_error(r, ngx_http_infer_status(rc),
                                         infer_v2_error(p));
    }

    ctx->x = req.x;
    ctx->rows = req.rows;
    ctx->batch = 1;
    ctx->id.data = (u_char *) req.id;
    ctx->id.len = req.id_len;
    ctx->outputs = req.outputs;
    ctx->binary = req.binary;

    return NGX_OK;
}


static ngx_int_t
ngx_http_infer_v2_respond(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    int                          rc;
    size_t                       json_len;
    infer_buf_t                  out;
    infer_v2_response_t          resp;
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);

    resp.model = (infer_v2_model_t *) imcf->v2_models.elts
                 + (ctx->model - (ngx_http_infer_model_t *) imcf->models.elts);
    resp.id = (char *) ctx->id.data;
    resp.id_len = ctx->id.len;
    resp.y = ctx->y;
    resp.rows = ctx->rows;
    resp.outputs = ctx->outputs;
    resp.binary = ctx->binary;

    infer_buf_init(&out, ctx->alloc);

    rc = infer_v2_write_response(&out, &resp);

    if (rc != INFER_OK || resp.binary == 0) {
        return ngx_http_infer_v2_send(r, NGX_HTTP_OK, &out, rc);
    }

    json_len = out.len;

    if (infer_v2_write_binary(&out, &resp) != INFER_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_infer_v2_send_binary(r, &out, json_len);
}


/* the JSON, then the outputs' bytes, as Triton sends them */

static ngx_int_t
ngx_http_infer_v2_send_binary(ngx_http_request_t *r, infer_buf_t *out,
    size_t json_len)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    static ngx_str_t  type = ngx_string("application/octet-stream");

    p = ngx_pnalloc(r->pool, NGX_SIZE_T_LEN);
    h = ngx_list_push(&r->headers_out.headers);

    if (p == NULL || h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, INFER_V2_HEADER_LENGTH);
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%uz", json_len) - p;

    return ngx_http_infer_send(r, NGX_HTTP_OK, &type,
                               ngx_http_infer_buf(r, out));
}


static int
ngx_http_infer_v2_feed(void *parser, const u_char *data, size_t len)
{
    return infer_v2_parse(parser, data, len);
}


/*
 * A binary body may come with any Content-Type: Triton's clients send
 * application/octet-stream, or none.
 */

static const char *
ngx_http_infer_v2_accepts(ngx_http_request_t *r,
    ngx_http_infer_model_t *im)
{
    if (ngx_http_infer_is_json(r) == NGX_OK
        || ngx_http_infer_v2_binary(r) != NULL)
    {
        return NULL;
    }

    return "Content-Type must be application/json";
}


static ngx_table_elt_t *
ngx_http_infer_v2_binary(ngx_http_request_t *r)
{
    return ngx_http_infer_find_header(r, INFER_V2_HEADER_LENGTH,
                                      sizeof(INFER_V2_HEADER_LENGTH) - 1);
}


/* what ngx_http_infer_feed_body() will feed: memory, or the file's part */

static off_t
ngx_http_infer_v2_body_len(ngx_http_request_t *r)
{
    off_t         len;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    if (r->request_body == NULL) {
        return 0;
    }

    for (cl = r->request_body->bufs; cl != NULL; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            len += b->last - b->pos;

        } else if (b->in_file) {
            len += b->file_last - b->file_pos;
        }
    }

    return len;
}
