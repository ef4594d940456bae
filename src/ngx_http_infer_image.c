/*
 * Images in, classes out: the model's image=, resize=, ... parameters,
 * checked against the model when it loads; a JPEG, PNG or multipart body
 * made into the model's input by src/image/ (on a pool thread when it is
 * worth it, as evaluation is); and the top-k answer with labels.
 */

#include "ngx_http_infer_module.h"


#define NGX_HTTP_INFER_MAX_PIXELS  (25 * 1000 * 1000)   /* 6000 x 4000 */
#define NGX_HTTP_INFER_TOP_K       5


static ngx_int_t ngx_http_infer_image_size(ngx_str_t *v, uint32_t *w,
    uint32_t *h);
static ngx_int_t ngx_http_infer_image_floats(ngx_str_t *v, float *f);
static ngx_int_t ngx_http_infer_image_input(ngx_conf_t *cf,
    ngx_http_infer_model_t *im);
static ngx_int_t ngx_http_infer_image_labels(ngx_conf_t *cf,
    ngx_http_infer_model_t *im);
static ngx_int_t ngx_http_infer_image_body(ngx_http_request_t *r,
    const u_char **data, size_t *len);
static infer_image_type_e ngx_http_infer_image_declared(const u_char *type,
    size_t len);


static infer_image_prep_t *
ngx_http_infer_image_prep(ngx_conf_t *cf, ngx_http_infer_model_t *im)
{
    if (im->image == NULL) {
        im->image = ngx_pcalloc(cf->pool, sizeof(infer_image_prep_t));
        if (im->image == NULL) {
            return NULL;
        }

        im->image->std[0] = 1;
        im->image->std[1] = 1;
        im->image->std[2] = 1;
    }

    return im->image;
}


/*
 * One infer_model parameter: NGX_OK taken, NGX_DECLINED not an image
 * one, NGX_ERROR refused (and said why).
 */

ngx_int_t
ngx_http_infer_image_arg(ngx_conf_t *cf, ngx_http_infer_model_t *im,
    ngx_str_t *arg)
{
    u_char              *eq;
    ngx_int_t            n;
    ngx_str_t            name, v;
    infer_image_prep_t  *p;

    eq = ngx_strlchr(arg->data, arg->data + arg->len, '=');
    if (eq == NULL) {
        return NGX_DECLINED;
    }

    name.data = arg->data;
    name.len = eq - arg->data;
    v.data = eq + 1;
    v.len = arg->data + arg->len - v.data;

#define is(s)  (name.len == sizeof(s) - 1                                    \
                && ngx_strncmp(name.data, s, sizeof(s) - 1) == 0)

    if (is("labels")) {
        im->labels_path = v;
        return ngx_conf_full_name(cf->cycle, &im->labels_path, 1);
    }

    if (is("top_k")) {
        n = ngx_atoi(v.data, v.len);
        if (n == NGX_ERROR) {
            goto invalid;
        }

        im->top_k = n;
        return NGX_OK;
    }

    if (is("scores")) {
        if (v.len == 3 && ngx_strncmp(v.data, "raw", 3) == 0) {
            im->softmax = 0;
            return NGX_OK;
        }

        if (v.len == 7 && ngx_strncmp(v.data, "softmax", 7) == 0) {
            im->softmax = 1;
            return NGX_OK;
        }

        goto invalid;
    }

    if (!is("image") && !is("resize") && !is("crop") && !is("mean")
        && !is("std") && !is("layout") && !is("max_pixels"))
    {
        return NGX_DECLINED;
    }

    p = ngx_http_infer_image_prep(cf, im);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (is("image")) {
        if (ngx_http_infer_image_size(&v, &p->width, &p->height) != NGX_OK) {
            goto invalid;
        }

    } else if (is("resize")) {
        n = ngx_atoi(v.data, v.len);
        if (n <= 0 || n > 65535) {
            goto invalid;
        }

        p->resize = n;

    } else if (is("crop")) {
        /* what torchvision's CenterCrop does: the only one there is */
        if (v.len != 6 || ngx_strncmp(v.data, "center", 6) != 0) {
            goto invalid;
        }

    } else if (is("mean")) {
        if (ngx_http_infer_image_floats(&v, p->mean) != NGX_OK) {
            goto invalid;
        }

    } else if (is("std")) {
        if (ngx_http_infer_image_floats(&v, p->std) != NGX_OK
            || p->std[0] <= 0 || p->std[1] <= 0 || p->std[2] <= 0)
        {
            goto invalid;
        }

    } else if (is("layout")) {
        if (v.len == 4 && ngx_strncmp(v.data, "nchw", 4) == 0) {
            p->layout = INFER_IMAGE_NCHW;

        } else if (v.len == 4 && ngx_strncmp(v.data, "nhwc", 4) == 0) {
            p->layout = INFER_IMAGE_NHWC;

        } else {
            goto invalid;
        }

    } else {                                /* max_pixels */
        n = ngx_atoi(v.data, v.len);
        if (n <= 0) {
            goto invalid;
        }

        im->max_pixels = n;
    }

#undef is

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "infer_model \"%V\": invalid parameter \"%V\"",
                       &im->name, arg);
    return NGX_ERROR;
}


/* WxH, each 1 to 65535 */

static ngx_int_t
ngx_http_infer_image_size(ngx_str_t *v, uint32_t *w, uint32_t *h)
{
    u_char     *x;
    ngx_int_t   a, b;

    x = ngx_strlchr(v->data, v->data + v->len, 'x');
    if (x == NULL) {
        return NGX_ERROR;
    }

    a = ngx_atoi(v->data, x - v->data);
    b = ngx_atoi(x + 1, v->data + v->len - x - 1);

    if (a <= 0 || b <= 0 || a > 65535 || b > 65535) {
        return NGX_ERROR;
    }

    *w = a;
    *h = b;

    return NGX_OK;
}


/* three comma-separated numbers: 0.485,0.456,0.406 */

static ngx_int_t
ngx_http_infer_image_floats(ngx_str_t *v, float *f)
{
    char     buf[128], *p, *end;
    double   d;
    ngx_uint_t  i;

    if (v->len == 0 || v->len >= sizeof(buf)) {
        return NGX_ERROR;
    }

    ngx_memcpy(buf, v->data, v->len);
    buf[v->len] = '\0';

    p = buf;

    for (i = 0; i < 3; i++) {
        d = strtod(p, &end);

        if (end == p || !isfinite(d)) {
            return NGX_ERROR;
        }

        f[i] = (float) d;

        if (*end != (i < 2 ? ',' : '\0')) {
            return NGX_ERROR;
        }

        p = end + 1;
    }

    return NGX_OK;
}


/* after the model loaded: its input must be the image's tensor */

ngx_int_t
ngx_http_infer_image_check(ngx_conf_t *cf, ngx_http_infer_model_t *im)
{
    size_t  classes;

    if (im->image != NULL && ngx_http_infer_image_input(cf, im) != NGX_OK) {
        return NGX_ERROR;
    }

    if (im->max_pixels == 0) {
        im->max_pixels = NGX_HTTP_INFER_MAX_PIXELS;
    }

    classes = im->model->outputs[0].size;

    if (im->labels_path.len
        && ngx_http_infer_image_labels(cf, im) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (im->top_k == 0 && im->labels != NULL) {
        im->top_k = NGX_HTTP_INFER_TOP_K;
    }

    if (im->top_k > classes) {
        im->top_k = classes;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_infer_image_input(ngx_conf_t *cf, ngx_http_infer_model_t *im)
{
    size_t                  want[3];
    const infer_tensor_t   *in;
    infer_image_prep_t     *p;

    p = im->image;
    in = &im->model->input;

    if (p->width == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": image preprocessing needs "
                           "image=WIDTHxHEIGHT", &im->name);
        return NGX_ERROR;
    }

    if (p->layout == INFER_IMAGE_NCHW) {
        want[0] = 3;
        want[1] = p->height;
        want[2] = p->width;

    } else {
        want[0] = p->height;
        want[1] = p->width;
        want[2] = 3;
    }

    if (in->ndims != 3 || in->dims[0] != want[0] || in->dims[1] != want[1]
        || in->dims[2] != want[2])
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": image=%uDx%uD layout=%s "
                           "needs an input of shape [%uz,%uz,%uz] (without "
                           "the batch): \"%V\" has %uz values in %uz "
                           "dimensions", &im->name, p->width, p->height,
                           p->layout == INFER_IMAGE_NCHW ? "nchw" : "nhwc",
                           want[0], want[1], want[2], &im->path, in->size,
                           in->ndims);
        return NGX_ERROR;
    }

    /* Resize(s) makes the short side s: the crop must fit in it */

    if (p->resize && p->resize < ngx_max(p->width, p->height)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": resize=%uD is smaller than "
                           "the %uDx%uD crop", &im->name, p->resize,
                           p->width, p->height);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_infer_image_labels(ngx_conf_t *cf, ngx_http_infer_model_t *im)
{
    int              rc;
    char             err[INFER_ERRLEN];
    u_char          *text;
    size_t           classes;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_t       file;
    ngx_file_info_t  fi;
    infer_alloc_t   *alloc;

    fd = ngx_open_file(im->labels_path.data, NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "infer_model \"%V\": cannot open labels \"%V\"",
                           &im->name, &im->labels_path);
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.fd = fd;
    file.name = im->labels_path;
    file.log = cf->log;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 16 * 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": labels \"%V\" cannot be "
                           "read or are over 16 MB", &im->name,
                           &im->labels_path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    text = ngx_pnalloc(cf->temp_pool, ngx_file_size(&fi) + 1);
    if (text == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_file(&file, text, ngx_file_size(&fi), 0);
    ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        return NGX_ERROR;
    }

    alloc = ngx_http_infer_pool_alloc(cf->pool);
    if (alloc == NULL) {
        return NGX_ERROR;
    }

    rc = infer_json_labels((char *) text, n, alloc, &im->labels,
                           &im->nlabels, err, sizeof(err));

    if (rc == INFER_ERROR) {
        return NGX_ERROR;
    }

    if (rc != INFER_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": labels \"%V\": %s",
                           &im->name, &im->labels_path, err);
        return NGX_ERROR;
    }

    classes = im->model->outputs[0].size;

    if (im->nlabels != classes) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": labels \"%V\" has %uz lines "
                           "for the %uz scores of output \"%s\"", &im->name,
                           &im->labels_path, im->nlabels, classes,
                           im->model->outputs[0].name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the request's Content-Type is an image type this module reads */

ngx_int_t
ngx_http_infer_image_type(ngx_http_request_t *r)
{
    ngx_str_t  *type;

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = &r->headers_in.content_type->value;

    if (ngx_http_infer_type_is(type, "image/jpeg", 10) == NGX_OK
        || ngx_http_infer_type_is(type, "image/png", 9) == NGX_OK
        || ngx_http_infer_type_is(type, "multipart/form-data", 19) == NGX_OK)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * The body, an image or a form with one, to a job for the pool thread:
 * the header read and its size checked here, before any pixel memory is
 * taken; the decoding left to ngx_http_infer_image_run().
 */

ngx_int_t
ngx_http_infer_image_parse(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    int                          rc;
    char                         err[INFER_ERRLEN];
    size_t                       len, scratch;
    ngx_str_t                   *type;
    const u_char                *data;
    infer_image_type_e           declared;
    infer_image_error_t          e;
    infer_multipart_part_t       part;
    ngx_http_infer_model_t      *im;
    ngx_http_infer_image_job_t  *job;

    im = ctx->model;

    if (ngx_http_infer_image_body(r, &data, &len) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    type = &r->headers_in.content_type->value;

    if (ngx_http_infer_type_is(type, "multipart/form-data", 19) == NGX_OK) {
        if (infer_multipart_file(type->data, type->len, data, len, &part,
                                 err, sizeof(err))
            != INFER_OK)
        {
            ngx_http_infer_set_reason(r, INFER_REASON_BAD_REQUEST);
            return ngx_http_infer_send_error(r, NGX_HTTP_BAD_REQUEST, err);
        }

        data = part.data;
        len = part.len;
        declared = ngx_http_infer_image_declared(part.type, part.type_len);

    } else {
        declared = ngx_http_infer_image_declared(type->data, type->len);
    }

    job = ngx_pcalloc(r->pool, sizeof(ngx_http_infer_image_job_t));
    if (job == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = infer_image_header(data, len, declared, im->max_pixels, &job->info,
                            &e);

    if (rc == INFER_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;      /* out of memory */
    }

    if (rc != INFER_OK) {
        return ngx_http_infer_image_refuse(r, &e);
    }

    scratch = infer_image_prep_scratch(im->image, job->info.width,
                                       job->info.height);

    job->data = data;
    job->len = len;
    job->prep = im->image;
    job->rgb = ngx_palloc(r->pool, (size_t) job->info.width
                                   * job->info.height * 3);
    job->scratch = ngx_palloc(r->pool, scratch ? scratch : 1);
    job->x = ngx_palloc(r->pool, im->model->nfeatures * sizeof(float));

    if (job->rgb == NULL || job->scratch == NULL || job->x == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->image = job;
    ctx->x = job->x;
    ctx->rows = 1;
    ctx->batch = 0;

    return NGX_OK;
}


/* image/jpeg, image/png; anything else: what the bytes say */

static infer_image_type_e
ngx_http_infer_image_declared(const u_char *type, size_t len)
{
    ngx_str_t  t;

    if (type == NULL) {
        return INFER_IMAGE_NONE;
    }

    t.data = (u_char *) type;
    t.len = len;

    if (ngx_http_infer_type_is(&t, "image/jpeg", 10) == NGX_OK) {
        return INFER_IMAGE_JPEG;
    }

    if (ngx_http_infer_type_is(&t, "image/png", 9) == NGX_OK) {
        return INFER_IMAGE_PNG;
    }

    return INFER_IMAGE_NONE;
}


/*
 * The body in one piece: as it is when it came in one buffer, else copied
 * from its buffers and its temporary file.
 */

static ngx_int_t
ngx_http_infer_image_body(ngx_http_request_t *r, const u_char **data,
    size_t *len)
{
    u_char       *p;
    size_t        size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    *data = (u_char *) "";
    *len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && ngx_buf_in_memory(cl->buf)) {
        *data = cl->buf->pos;
        *len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    size = 0;

    /* an empty body is one buffer that is neither: the last, and empty */

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            size += b->last - b->pos;

        } else if (b->in_file) {
            size += b->file_last - b->file_pos;
        }
    }

    p = ngx_palloc(r->pool, size ? size : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *data = p;
    *len = size;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file) {
            continue;
        }

        size = b->file_last - b->file_pos;
        n = ngx_read_file(b->file, p, size, b->file_pos);

        if (n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "infer: body file \"%V\" could not be read whole",
                          &b->file->name);
            return NGX_ERROR;
        }

        p += size;
    }

    return NGX_OK;
}


/* on a pool thread or inline: nothing of nginx's */

int
ngx_http_infer_image_run(ngx_http_infer_image_job_t *job)
{
    job->rc = infer_image_decode(job->data, job->len, &job->info, job->rgb,
                                 &job->error);

    if (job->rc == INFER_OK) {
        job->rc = infer_image_preprocess(job->prep, job->rgb,
                                         job->info.width, job->info.height,
                                         job->scratch, job->x);
        /* the configuration made the crop fit: this is no user's fault */

        if (job->rc != INFER_OK) {
            job->rc = INFER_ERROR;
        }
    }

    return job->rc;
}


/* a refused image: its status, its reason counted, a JSON error */

ngx_int_t
ngx_http_infer_image_refuse(ngx_http_request_t *r,
    const infer_image_error_t *e)
{
    ngx_int_t              reason;
    ngx_uint_t             status;
    ngx_http_infer_ctx_t  *ctx;

    /* errors_total's general reason; image_refused_total says which */

    switch (e->reason) {

    case INFER_IMAGE_WRONG_TYPE:
    case INFER_IMAGE_COLORSPACE:
        status = NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
        reason = INFER_REASON_CONTENT_TYPE;
        break;

    case INFER_IMAGE_TOO_LARGE:
        status = NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        reason = INFER_REASON_TOO_LARGE;
        break;

    default:                                /* empty, corrupt */
        status = NGX_HTTP_BAD_REQUEST;
        reason = INFER_REASON_BAD_REQUEST;
        break;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_infer_module);
    ctx->image_refusal = e->reason;

    ngx_http_infer_set_reason(r, reason);

    return ngx_http_infer_send_error(r, status, e->msg);
}


/* ?top_k=N (0: the outputs as they are), else the model's */

ngx_int_t
ngx_http_infer_top_k(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    ngx_int_t   n;
    ngx_str_t   v;

    ctx->top_k = ctx->model->top_k;

    if (r->args.len == 0
        || ngx_http_arg(r, (u_char *) "top_k", 5, &v) != NGX_OK)
    {
        return NGX_OK;
    }

    n = ngx_atoi(v.data, v.len);

    if (n == NGX_ERROR) {
        return NGX_DECLINED;
    }

    ctx->top_k = ngx_min((size_t) n, ctx->model->model->outputs[0].size);

    return NGX_OK;
}


ngx_int_t
ngx_http_infer_topk_respond(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    infer_buf_t             out;
    infer_topk_response_t   resp;
    const infer_tensor_t   *first;

    first = &ctx->model->model->outputs[0];

    resp.model_fields = ctx->model->fields.data;
    resp.model_fields_len = ctx->model->fields.len;
    resp.y = ctx->y + first->offset;
    resp.n = first->size;
    resp.k = ctx->top_k;
    resp.labels = ctx->model->labels;
    resp.softmax = ctx->model->softmax;
    resp.latency_ns = ctx->t[NGX_HTTP_INFER_T_DONE]
                      - ctx->t[NGX_HTTP_INFER_T_BODY];
    resp.trace_id = ctx->traceparent
                    ? (char *) ctx->traceparent + INFER_TRACEPARENT_TRACE
                    : NULL;
    resp.top = ngx_palloc(r->pool, resp.k * sizeof(size_t));

    if (resp.top == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    infer_buf_init(&out, ctx->alloc);

    if (infer_json_write_topk(&out, &resp) != INFER_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->prediction.data = out.data + resp.first_off;
    ctx->prediction.len = resp.first_len;

    return ngx_http_infer_send_json(r, NGX_HTTP_OK,
                                    ngx_http_infer_buf(r, &out));
}
