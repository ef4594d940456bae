/*
 * ngx_http_infer_module: machine-learning inference inside nginx.
 *
 * This file holds the module definition, the directives and the
 * configuration hooks.  The request handlers are in src/ngx_http_infer_*,
 * the nginx-free core (models, JSON codec) in src/infer_*.
 */

#include "ngx_http_infer_module.h"
#include "ngx_http_infer_otel.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif


#define NGX_HTTP_INFER_MAX_BATCH   1024
#define NGX_HTTP_INFER_NAME_LEN    128
#define NGX_HTTP_INFER_OFFLOAD_NS  50000   /* default threshold: 50us */
#define NGX_HTTP_INFER_WARM_ROWS   32      /* evaluated to measure a row */
#define NGX_HTTP_INFER_WARM_ONE    100000  /* ns: a row this slow is enough */


static ngx_int_t ngx_http_infer_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_infer_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_infer_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_infer_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_infer_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_infer_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_infer_init_process(ngx_cycle_t *cycle);
static void ngx_http_infer_exit_master(ngx_cycle_t *cycle);
static void ngx_http_infer_exit_process(ngx_cycle_t *cycle);
static char *ngx_http_infer_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

static char *ngx_http_infer_model(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_infer_model_args(ngx_conf_t *cf,
    ngx_http_infer_model_t *im, ngx_str_t *format);
static ngx_int_t ngx_http_infer_model_load(ngx_conf_t *cf,
    ngx_http_infer_model_t *im, ngx_str_t *format);
static void ngx_http_infer_model_cleanup(void *data);
static ngx_http_infer_model_t *ngx_http_infer_find_model(
    ngx_http_infer_main_conf_t *imcf, ngx_str_t *name);
static ngx_int_t ngx_http_infer_valid_name(ngx_str_t *name);
static char *ngx_http_infer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_infer_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_infer_error(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_infer_endpoint_taken(
    ngx_http_infer_loc_conf_t *ilcf, ngx_http_core_loc_conf_t *clcf);
static char *ngx_http_infer_set_kind(ngx_conf_t *cf,
    ngx_http_infer_loc_conf_t *ilcf, ngx_http_infer_kind_e kind,
    ngx_http_handler_pt handler);
static char *ngx_http_infer_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_infer_parse_ns(ngx_str_t *s, ngx_uint_t *ns);
static void ngx_http_infer_warm_up(ngx_cycle_t *cycle,
    ngx_http_infer_model_t *im);


static ngx_conf_num_bounds_t  ngx_http_infer_max_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000
};


static ngx_command_t  ngx_http_infer_commands[] = {

    { ngx_string("infer_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_infer_model,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_infer,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_infer_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_INFER_HEALTH,
      NULL },

    { ngx_string("infer_ready"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_infer_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_INFER_READY,
      NULL },

    { ngx_string("infer_v2"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_infer_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_INFER_V2_ENDPOINTS,
      NULL },

    { ngx_string("infer_error"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_infer_error,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_max_batch"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_infer_loc_conf_t, max_batch),
      &ngx_http_infer_max_batch_bounds },

    { ngx_string("infer_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_infer_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_infer_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_latency_buckets"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_infer_buckets,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_main_conf_t, latency_buckets),
      NULL },

    { ngx_string("infer_prediction_buckets"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_infer_buckets,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_main_conf_t, prediction_buckets),
      NULL },

    { ngx_string("infer_sched_probe"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_main_conf_t, sched_probe),
      ngx_http_infer_sched_probes },

    { ngx_string("infer_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_infer_thread_pool,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_infer_module_ctx = {
    ngx_http_infer_add_variables,          /* preconfiguration */
    ngx_http_infer_postconfiguration,      /* postconfiguration */

    ngx_http_infer_create_main_conf,       /* create main configuration */
    ngx_http_infer_init_main_conf,         /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_infer_create_loc_conf,        /* create location configuration */
    ngx_http_infer_merge_loc_conf          /* merge location configuration */
};


ngx_module_t  ngx_http_infer_module = {
    NGX_MODULE_V1,
    &ngx_http_infer_module_ctx,            /* module context */
    ngx_http_infer_commands,               /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_infer_init_module,            /* init module */
    ngx_http_infer_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_infer_exit_process,           /* exit process */
    ngx_http_infer_exit_master,            /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_infer_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_infer_module);

    /* the filters and the log phase cost nothing where we are unused */

    if (!imcf->used) {
        return NGX_OK;
    }

    if (ngx_http_infer_request_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_infer_response_init(cf);
}


static void *
ngx_http_infer_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_infer_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     imcf->used = 0;
     *     imcf->sched_source = INFER_PROBE_NONE;
     */

    imcf->sched_probe = NGX_CONF_UNSET_UINT;

    if (ngx_array_init(&imcf->models, cf->pool, 4,
                       sizeof(ngx_http_infer_model_t))
        != NGX_OK)
    {
        return NULL;
    }

    return imcf;
}


/* every model, as the V2 endpoints describe it: the http block is parsed */

static char *
ngx_http_infer_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_infer_main_conf_t *imcf = conf;

    ngx_uint_t                        i;
    infer_v2_model_t                 *vm;
    ngx_http_infer_model_t           *im;
    ngx_http_infer_otel_main_conf_t  *omcf;

    ngx_conf_init_uint_value(imcf->sched_probe, NGX_HTTP_INFER_SCHED_ON);

    if (ngx_array_init(&imcf->v2_models, cf->pool,
                       ngx_max(imcf->models.nelts, 1),
                       sizeof(infer_v2_model_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    im = imcf->models.elts;

    for (i = 0; i < imcf->models.nelts; i++) {
        vm = ngx_array_push(&imcf->v2_models);
        if (vm == NULL) {
            return NGX_CONF_ERROR;
        }

        vm->name = (char *) im[i].name.data;
        vm->name_len = im[i].name.len;
        vm->version = (char *) im[i].version.data;
        vm->version_len = im[i].version.len;
        vm->format = infer_model_format(im[i].model);
        vm->nfeatures = im[i].model->nfeatures;
        vm->noutputs = im[i].model->noutputs;
        vm->input = &im[i].model->input;
        vm->outputs = im[i].model->outputs;
        vm->noutput_tensors = im[i].model->noutput_tensors;
    }

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_infer_otel_module);
    imcf->mconf.otel = omcf->used;

    return ngx_http_infer_metrics_init_conf(cf, imcf);
}


static void *
ngx_http_infer_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_infer_loc_conf_t  *ilcf;

    ilcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_infer_loc_conf_t));
    if (ilcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     ilcf->kind = NGX_HTTP_INFER_NONE;
     *     ilcf->model = NULL;
     *     ilcf->model_name = { 0, NULL };
     *     ilcf->model_file = NULL;
     *     ilcf->model_line = 0;
     */

    ilcf->max_batch = NGX_CONF_UNSET_UINT;
    ilcf->offload_ns = NGX_CONF_UNSET_UINT;
    ilcf->metrics_format = NGX_CONF_UNSET_UINT;
#if (NGX_THREADS)
    ilcf->thread_pool = NGX_CONF_UNSET_PTR;
#endif

    return ilcf;
}


static char *
ngx_http_infer_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_infer_loc_conf_t *prev = parent;
    ngx_http_infer_loc_conf_t *conf = child;

    ngx_http_core_srv_conf_t    *cscf;
    ngx_http_core_loc_conf_t    *clcf, *sclcf;
    ngx_http_infer_main_conf_t  *imcf;

    ngx_conf_merge_uint_value(conf->max_batch, prev->max_batch,
                              NGX_HTTP_INFER_MAX_BATCH);
    ngx_conf_merge_uint_value(conf->offload_ns, prev->offload_ns,
                              NGX_HTTP_INFER_OFFLOAD_NS);
#if (NGX_THREADS)
    ngx_conf_merge_ptr_value(conf->thread_pool, prev->thread_pool, NULL);
#endif

    /*
     * An infer location answers nginx's errors itself (the JSON filter),
     * and keeps them in its metrics and spans: a redirect would lose the
     * request's ctx, and with it the in-flight gauge's decrement.  So
     * the error_page a server or http block sets (for infer_error) does
     * not reach into it; one set in the location itself still does.
     * The core module's merge ran before ours.
     */

    if (conf->kind != NGX_HTTP_INFER_NONE) {
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
        cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
        sclcf = cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];

        if (clcf != sclcf && clcf->error_pages == sclcf->error_pages) {
            clcf->error_pages = NULL;
        }
    }

    if (conf->model_name.len == 0 || conf->model != NULL) {
        return NGX_CONF_OK;
    }

    /* "infer" may come before the "infer_model" it names */

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_infer_module);

    conf->model = ngx_http_infer_find_model(imcf, &conf->model_name);

    if (conf->model == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "infer: unknown model \"%V\" in %s:%ui",
                      &conf->model_name, conf->model_file, conf->model_line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The master loads the scheduler-delay probe before it forks.  Loading
 * freed large buffers (model files, the ONNX reader's message, libbpf's
 * BTF): glibc keeps such pages in the heap, which every worker would
 * inherit and write over in part (about 10 MB with ResNet-18 and the
 * probe), so they go back to the kernel first.
 */

static ngx_int_t
ngx_http_infer_init_module(ngx_cycle_t *cycle)
{
    ngx_int_t  rc;

    rc = ngx_http_infer_sched_init_module(cycle);

#ifdef __GLIBC__
    (void) malloc_trim(0);
#endif

    return rc;
}


static void
ngx_http_infer_exit_master(ngx_cycle_t *cycle)
{
    ngx_http_infer_sched_exit_master();
}


/* each worker evaluates each model once before it says it is ready */

static ngx_int_t
ngx_http_infer_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_infer_model_t      *im;
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_infer_module);

    if (imcf == NULL) {
        return NGX_OK;                      /* no http block */
    }

    im = imcf->models.elts;

    for (i = 0; i < imcf->models.nelts; i++) {
        ngx_http_infer_warm_up(cycle, &im[i]);
    }

    ngx_http_infer_metrics_init_process(cycle, imcf);

    if (imcf->used) {
        ngx_http_infer_sched_init_process(cycle, imcf);
    }

    return NGX_OK;
}


static void
ngx_http_infer_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_infer_main_conf_t  *imcf;

    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_infer_module);

    if (imcf != NULL) {
        ngx_http_infer_metrics_exit_process(imcf);
    }

    ngx_http_infer_sched_exit_process();
}


/*
 * A row of zeros through the model: the first pass pages the model in
 * (and gives this thread its scratch), the next ones time a row, by which
 * infer_thread_pool decides what to move off the event loop.  A row that
 * takes NGX_HTTP_INFER_WARM_ONE is timed alone; a cheaper one over
 * NGX_HTTP_INFER_WARM_ROWS rows (a CNN's image would hold up the worker's
 * start, a linear model's row is too quick to time alone).
 */

static void
ngx_http_infer_warm_up(ngx_cycle_t *cycle, ngx_http_infer_model_t *im)
{
    size_t     i, rows, width;
    float     *x, *y;
    uint64_t   start, ns;

    width = im->model->nfeatures + im->model->noutputs;
    rows = 1;

    x = ngx_calloc(width * sizeof(float), cycle->log);
    if (x == NULL) {
        return;
    }

    y = x + im->model->nfeatures;

    if (infer_model_eval(im->model, x, 1, y) != INFER_OK) {
        goto failed;
    }

    start = ngx_http_infer_now_ns();

    if (infer_model_eval(im->model, x, 1, y) != INFER_OK) {
        goto failed;
    }

    ns = ngx_http_infer_now_ns() - start;

    if (ns < NGX_HTTP_INFER_WARM_ONE) {
        ngx_free(x);
        rows = NGX_HTTP_INFER_WARM_ROWS;

        x = ngx_calloc(rows * width * sizeof(float), cycle->log);
        if (x == NULL) {
            return;
        }

        y = x + rows * im->model->nfeatures;
        start = ngx_http_infer_now_ns();

        if (infer_model_eval(im->model, x, rows, y) != INFER_OK) {
            goto failed;
        }

        ns = ngx_http_infer_now_ns() - start;
    }

    for (i = 0; i < rows * im->model->noutputs; i++) {
        if (!isfinite(y[i])) {
            goto failed;
        }
    }

    im->ns_per_row = ngx_max(ns / rows, 1);
    im->warm = 1;
    ngx_free(x);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "infer: model \"%V\" warm, %ui ns a row",
                   &im->name, im->ns_per_row);
    return;

failed:

    ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                  "infer: warm-up of model \"%V\" failed", &im->name);
    ngx_free(x);
}


static char *
ngx_http_infer_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_main_conf_t *imcf = conf;

    char                    *rv;
    ngx_str_t               *value, format;
    ngx_http_infer_model_t  *im;

    value = cf->args->elts;

    if (ngx_http_infer_valid_name(&value[1]) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid model name \"%V\": use up to %d letters, "
                           "digits, \".\", \"_\" or \"-\"", &value[1],
                           NGX_HTTP_INFER_NAME_LEN);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_infer_find_model(imcf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate model \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    im = ngx_array_push(&imcf->models);
    if (im == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(im, sizeof(ngx_http_infer_model_t));

    im->name = value[1];
    im->path = value[2];
    ngx_str_set(&im->version, "1");
    ngx_str_null(&format);

    rv = ngx_http_infer_model_args(cf, im, &format);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (ngx_conf_full_name(cf->cycle, &im->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_infer_model_load(cf, im, &format) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_infer_image_check(cf, im) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* version=V format=F */

static char *
ngx_http_infer_model_args(ngx_conf_t *cf, ngx_http_infer_model_t *im,
    ngx_str_t *format)
{
    ngx_int_t    rc;
    ngx_str_t   *value, arg;
    ngx_uint_t   i;

    value = cf->args->elts;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "version=", 8) == 0) {
            arg.data = value[i].data + 8;
            arg.len = value[i].len - 8;

            if (ngx_http_infer_valid_name(&arg) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid model version \"%V\"", &arg);
                return NGX_CONF_ERROR;
            }

            im->version = arg;
            continue;
        }

        if (ngx_strncmp(value[i].data, "format=", 7) == 0) {
            format->data = value[i].data + 7;
            format->len = value[i].len - 7;
            continue;
        }

        rc = ngx_http_infer_image_arg(cf, im, &value[i]);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_infer_model_load(ngx_conf_t *cf, ngx_http_infer_model_t *im,
    ngx_str_t *format)
{
    int                  rc;
    char                 err[INFER_ERRLEN], *fmt;
    ngx_pool_cleanup_t  *cln;

    fmt = NULL;

    if (format->len) {
        fmt = (char *) ngx_pnalloc(cf->temp_pool, format->len + 1);
        if (fmt == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn((u_char *) fmt, format->data, format->len + 1);
    }

    /* the cleanup first: a model is freed with the cycle that loaded it */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_infer_model_cleanup;
    cln->data = im;

    /* ngx_conf_full_name() left the path NUL-terminated */

    rc = infer_model_load_file(&im->model, (char *) im->path.data, fmt, err,
                               sizeof(err));

    if (rc == INFER_ESYS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "infer_model \"%V\": %s \"%V\" failed",
                           &im->name, err, &im->path);
        return NGX_ERROR;
    }

    if (rc != INFER_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_model \"%V\": cannot load \"%V\": %s",
                           &im->name, &im->path, err);
        return NGX_ERROR;
    }

    infer_buf_init(&im->fields, ngx_http_infer_pool_alloc(cf->pool));

    if (im->fields.alloc == NULL
        || infer_json_model_fields(&im->fields, (char *) im->name.data,
                                   im->name.len, (char *) im->version.data,
                                   im->version.len)
           != INFER_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_infer_model_cleanup(void *data)
{
    ngx_http_infer_model_t  *im = data;

    infer_model_free(im->model);
    im->model = NULL;
}


static ngx_http_infer_model_t *
ngx_http_infer_find_model(ngx_http_infer_main_conf_t *imcf, ngx_str_t *name)
{
    ngx_uint_t               i;
    ngx_http_infer_model_t  *im;

    im = imcf->models.elts;

    for (i = 0; i < imcf->models.nelts; i++) {
        if (im[i].name.len == name->len
            && ngx_strncmp(im[i].name.data, name->data, name->len) == 0)
        {
            return &im[i];
        }
    }

    return NULL;
}


/* names and versions travel in URLs, JSON and metric labels: keep them plain */

static ngx_int_t
ngx_http_infer_valid_name(ngx_str_t *name)
{
    u_char  *p;

    if (name->len == 0 || name->len > NGX_HTTP_INFER_NAME_LEN) {
        return NGX_ERROR;
    }

    for (p = name->data; p < name->data + name->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* infer_metrics [format=json|text|openmetrics]: without, Accept decides */

static char *
ngx_http_infer_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_loc_conf_t *ilcf = conf;

    char       *rv;
    ngx_str_t  *value;

    rv = ngx_http_infer_set_kind(cf, ilcf, NGX_HTTP_INFER_METRICS,
                                 ngx_http_infer_metrics_handler);
    if (rv != NGX_CONF_OK || cf->args->nelts == 1) {
        return rv;
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "format=json") == 0) {
        ilcf->metrics_format = INFER_PROM_JSON;

    } else if (ngx_strcmp(value[1].data, "format=text") == 0) {
        ilcf->metrics_format = INFER_PROM_TEXT;

    } else if (ngx_strcmp(value[1].data, "format=openmetrics") == 0) {
        ilcf->metrics_format = INFER_PROM_OPENMETRICS;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* infer_thread_pool NAME [threshold=TIME] | off */

static char *
ngx_http_infer_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
#if (NGX_THREADS)
    ngx_http_infer_loc_conf_t *ilcf = conf;

    ngx_str_t  *value, arg;

    if (ilcf->thread_pool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0 && cf->args->nelts == 2) {
        ilcf->thread_pool = NULL;
        return NGX_CONF_OK;
    }

    /* an unknown pool fails at start-up: "unknown thread pool" */

    ilcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (ilcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "threshold=", 10) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        arg.data = value[2].data + 10;
        arg.len = value[2].len - 10;

        if (ngx_http_infer_parse_ns(&arg, &ilcf->offload_ns) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid threshold \"%V\": use a time in "
                               "us or ms, such as 50us", &arg);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;

#else

    return "requires nginx built --with-threads";

#endif
}


/* "50us", "2ms", "1s": nginx's own time syntax stops at milliseconds */

static ngx_int_t
ngx_http_infer_parse_ns(ngx_str_t *s, ngx_uint_t *ns)
{
    u_char      *p;
    ngx_int_t    n;
    ngx_uint_t   unit;

    for (p = s->data; p < s->data + s->len && *p >= '0' && *p <= '9'; p++) {
        /* void */
    }

    n = ngx_atoi(s->data, p - s->data);

    if (n == NGX_ERROR || n > 1000000) {
        return NGX_ERROR;
    }

    if ((size_t) (s->data + s->len - p) == 2 && ngx_strncmp(p, "us", 2) == 0)
    {
        unit = 1000;

    } else if ((size_t) (s->data + s->len - p) == 2
               && ngx_strncmp(p, "ms", 2) == 0)
    {
        unit = 1000000;

    } else if ((size_t) (s->data + s->len - p) == 1 && *p == 's') {
        unit = 1000000000;

    } else {
        return NGX_ERROR;
    }

    *ns = n * unit;

    return NGX_OK;
}


static char *
ngx_http_infer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_loc_conf_t *ilcf = conf;

    char                        *rv;
    ngx_str_t                   *value;
    ngx_http_infer_main_conf_t  *imcf;

    value = cf->args->elts;

    rv = ngx_http_infer_set_kind(cf, ilcf, NGX_HTTP_INFER_PREDICT,
                                 ngx_http_infer_predict_handler);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_infer_module);

    ilcf->model_name = value[1];
    ilcf->model_file = cf->conf_file->file.name.data;
    ilcf->model_line = cf->conf_file->line;
    ilcf->model = ngx_http_infer_find_model(imcf, &value[1]);

    return NGX_CONF_OK;
}


static char *
ngx_http_infer_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_loc_conf_t *ilcf = conf;

    switch (cmd->offset) {

    case NGX_HTTP_INFER_HEALTH:
        return ngx_http_infer_set_kind(cf, ilcf, NGX_HTTP_INFER_HEALTH,
                                       ngx_http_infer_health_handler);

    case NGX_HTTP_INFER_READY:
        return ngx_http_infer_set_kind(cf, ilcf, NGX_HTTP_INFER_READY,
                                       ngx_http_infer_ready_handler);

    default:
        return ngx_http_infer_set_kind(cf, ilcf, NGX_HTTP_INFER_V2_ENDPOINTS,
                                       ngx_http_infer_v2_handler);
    }
}


/*
 * infer_error: nginx's errors, sent here by error_page, as JSON.  Not an
 * endpoint's kind: the filter and the log phase leave such requests to
 * nginx, as they did before the module saw them.
 */

static char *
ngx_http_infer_error(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_loc_conf_t *ilcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (ngx_http_infer_endpoint_taken(ilcf, clcf)) {
        return "is duplicate: a location serves one infer endpoint";
    }

    clcf->handler = ngx_http_infer_error_handler;

    return NGX_CONF_OK;
}


/* the location already serves an infer endpoint (infer_error among them) */

static ngx_int_t
ngx_http_infer_endpoint_taken(ngx_http_infer_loc_conf_t *ilcf,
    ngx_http_core_loc_conf_t *clcf)
{
    return ilcf->kind != NGX_HTTP_INFER_NONE
           || clcf->handler == ngx_http_infer_error_handler;
}


static char *
ngx_http_infer_set_kind(ngx_conf_t *cf, ngx_http_infer_loc_conf_t *ilcf,
    ngx_http_infer_kind_e kind, ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_infer_main_conf_t  *imcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (ngx_http_infer_endpoint_taken(ilcf, clcf)) {
        return "is duplicate: a location serves one infer endpoint";
    }

    ilcf->kind = kind;
    clcf->handler = handler;

    imcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_infer_module);
    imcf->used = 1;

    return NGX_CONF_OK;
}
