/*
 * Metrics: the shared-memory zone and the metrics location.  Each
 * request is recorded at the log phase (ngx_http_infer_request.c).
 *
 * The block inside the zone is the core's (infer_metrics.c): laid out
 * when the configuration is read, re-attached by name on reload (the zone
 * is reused when its size is unchanged, and the automatic size leaves
 * room to grow), with one slot per worker process, so that the hot path
 * takes no lock and shares no cache line.
 */

#include "ngx_http_infer_module.h"


#define NGX_HTTP_INFER_ZONE_NAME  "infer_metrics"

/*
 * The least automatic size: room for about 80 models, so that a reload
 * adding some keeps the zone's size, and nginx reuses the zone.  A zone
 * of a new size is a new zone: the counts old workers make while they
 * finish their requests would go to the old one and be lost.
 */
#define NGX_HTTP_INFER_ZONE_MIN   (1024 * 1024)


static ngx_int_t ngx_http_infer_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void *ngx_http_infer_metrics_old_block(ngx_shm_zone_t *shm_zone,
    size_t *size);
static int ngx_http_infer_alive(void *ctx, int32_t pid);
static size_t ngx_http_infer_block_size(ngx_http_infer_main_conf_t *imcf);


/*
 * Called by init main conf, once every infer_model is known: the block's
 * configuration, its size, and the zone.
 */

char *
ngx_http_infer_metrics_init_conf(ngx_conf_t *cf,
    ngx_http_infer_main_conf_t *imcf)
{
    size_t                       size, need;
    ngx_str_t                    name = ngx_string(NGX_HTTP_INFER_ZONE_NAME);
    ngx_uint_t                   i;
    ngx_core_conf_t             *ccf;
    infer_metrics_conf_t        *mc;
    ngx_http_infer_model_t      *im;
    infer_metrics_model_conf_t  *mm;

    if (!imcf->used) {
        return NGX_CONF_OK;                 /* nothing to count */
    }

    mc = &imcf->mconf;
    im = imcf->models.elts;

    mm = ngx_pcalloc(cf->pool, (imcf->models.nelts + 1) * sizeof(*mm));
    if (mm == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < imcf->models.nelts; i++) {
        mm[i].name = (char *) im[i].name.data;
        mm[i].name_len = im[i].name.len;
        mm[i].version = (char *) im[i].version.data;
        mm[i].version_len = im[i].version.len;
        mm[i].format = infer_model_format(im[i].model);
        mm[i].format_len = ngx_strlen(mm[i].format);
        mm[i].images = (im[i].image != NULL);
    }

    /* the per-process view lives as long as the cycle */

    imcf->metrics_alloc = ngx_http_infer_pool_alloc(cf->pool);
    if (imcf->metrics_alloc == NULL) {
        return NGX_CONF_ERROR;
    }

    mc->models = mm;
    mc->nmodels = imcf->models.nelts;
    mc->version = NGX_HTTP_INFER_VERSION;
    mc->now_ms = ngx_http_infer_now_ms();
    mc->queue = 1;
    mc->sched = (imcf->sched_probe != NGX_HTTP_INFER_SCHED_OFF);

    if (imcf->latency_buckets != NULL) {
        mc->buckets[INFER_MB_LATENCY].bounds = imcf->latency_buckets->elts;
        mc->buckets[INFER_MB_LATENCY].n = imcf->latency_buckets->nelts;
    }

    if (imcf->prediction_buckets != NULL) {
        mc->buckets[INFER_MB_PREDICTION].bounds =
                                              imcf->prediction_buckets->elts;
        mc->buckets[INFER_MB_PREDICTION].n = imcf->prediction_buckets->nelts;
    }

    /* worker_processes may come later in the file: then assume "auto" */

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);
    mc->nworkers = (ccf->worker_processes == NGX_CONF_UNSET)
                   ? ngx_ncpu : ccf->worker_processes;

    need = infer_metrics_size(mc);

    if (imcf->zone_size && imcf->zone_size < need) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_metrics_zone of %uz bytes is too small "
                           "for %ui models and %ui workers: it needs %uz",
                           imcf->zone_size, imcf->models.nelts,
                           (ngx_uint_t) mc->nworkers, need);
        return NGX_CONF_ERROR;
    }

    size = ngx_http_infer_block_size(imcf);

    /* the slab pool's own pages, and the block's alignment */

    size += size / 64 + 8 * ngx_pagesize;

    imcf->zone = ngx_shared_memory_add(cf, &name, size,
                                       &ngx_http_infer_module);
    if (imcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    imcf->zone->init = ngx_http_infer_metrics_init_zone;
    imcf->zone->data = imcf;

    return NGX_CONF_OK;
}


/*
 * In the master, before workers fork.  data is the previous cycle's main
 * conf when nginx reuses the zone (a reload, same size): the block then
 * keeps its values and gains the new models.  A zone of a new size
 * starts empty and takes the old block's values.
 */

static ngx_int_t
ngx_http_infer_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_infer_main_conf_t  *oimcf = data;

    int                          rc;
    char                         err[INFER_ERRLEN];
    void                        *block, *old;
    size_t                       size, osize, needed;
    ngx_slab_pool_t             *shpool;
    ngx_http_infer_main_conf_t  *imcf;

    imcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    size = ngx_http_infer_block_size(imcf);

    if (oimcf != NULL) {
        block = shpool->data;               /* reused: adopt, never reset */

    } else {
        block = ngx_slab_calloc(shpool, size);
        if (block == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "infer_metrics_zone: cannot allocate %uz bytes",
                          size);
            return NGX_ERROR;
        }

        shpool->data = block;
        shpool->log_ctx = (u_char *) " in infer_metrics_zone";
    }

    rc = infer_metrics_init(&imcf->metrics, block, size, &imcf->mconf,
                            imcf->metrics_alloc, &needed, err, sizeof(err));

    if (rc == INFER_ENOSPC) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "infer_metrics_zone is full: give it another size, "
                      "at least %uz bytes", needed);
        return NGX_ERROR;
    }

    if (rc != INFER_OK) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "infer_metrics_zone: %s", err);
        return NGX_ERROR;
    }

    if (oimcf == NULL) {
        old = ngx_http_infer_metrics_old_block(shm_zone, &osize);

        if (old != NULL
            && infer_metrics_migrate(imcf->metrics, old, osize) != INFER_OK)
        {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "infer_metrics_zone: the previous zone's values "
                          "could not be carried over");
        }
    }

    return NGX_OK;
}


/*
 * The previous cycle's block, when the zone changed size: ngx_cycle is
 * still the old cycle while the new one initialises its zones.
 */

static void *
ngx_http_infer_metrics_old_block(ngx_shm_zone_t *shm_zone, size_t *size)
{
    ngx_uint_t                   i;
    ngx_list_part_t             *part;
    ngx_shm_zone_t              *zone;
    ngx_slab_pool_t             *shpool;
    ngx_http_infer_main_conf_t  *oimcf;

    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag != shm_zone->tag
            || zone[i].shm.name.len != shm_zone->shm.name.len
            || ngx_strncmp(zone[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len) != 0
            || zone[i].shm.addr == NULL)
        {
            continue;
        }

        shpool = (ngx_slab_pool_t *) zone[i].shm.addr;
        oimcf = zone[i].data;

        *size = ngx_http_infer_block_size(oimcf);

        return shpool->data;
    }
}


void
ngx_http_infer_metrics_init_process(ngx_cycle_t *cycle,
    ngx_http_infer_main_conf_t *imcf)
{
    infer_trace_seed(&imcf->rng, (uint64_t) ngx_pid << 32
                                 ^ ngx_http_infer_now_ns());

    if (imcf->metrics == NULL) {
        return;
    }

    (void) infer_metrics_attach(imcf->metrics, ngx_pid,
                                ngx_http_infer_alive, NULL);
}


void
ngx_http_infer_metrics_exit_process(ngx_http_infer_main_conf_t *imcf)
{
    if (imcf->metrics != NULL) {
        infer_metrics_detach(imcf->metrics);
    }
}


/* EPERM: the process exists, under another user */

static int
ngx_http_infer_alive(void *ctx, int32_t pid)
{
    return kill(pid, 0) == 0 || ngx_errno == NGX_EPERM;
}


/*
 * infer_metrics: the Prometheus text format, OpenMetrics when the
 * scraper's Accept asks for it, JSON with format=json.  Rendered twice,
 * as stub_status sizes its buffer: once to learn the length, once into
 * the buffer.
 */

ngx_int_t
ngx_http_infer_metrics_handler(ngx_http_request_t *r)
{
    int                          format;
    size_t                       len, need;
    uint64_t                     now;
    ngx_str_t                    type;
    ngx_buf_t                   *b;
    ngx_table_elt_t             *accept;
    infer_prom_host_t            host;
    ngx_http_infer_loc_conf_t   *ilcf;
    ngx_http_infer_main_conf_t  *imcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_infer_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_infer_module);
    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_module);

    format = (int) ilcf->metrics_format;

    if (ilcf->metrics_format == NGX_CONF_UNSET_UINT) {
        accept = ngx_http_infer_find_header(r, "Accept",
                                            sizeof("Accept") - 1);
        format = accept ? infer_prom_accept((char *) accept->value.data,
                                            accept->value.len)
                        : INFER_PROM_TEXT;
    }

    (void) infer_metrics_reap(imcf->metrics, ngx_http_infer_alive, NULL);

    if (ngx_http_infer_sched_host(r, &host) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    now = ngx_http_infer_now_ms();
    len = infer_prom_render_host(NULL, 0, imcf->metrics->base, format, now,
                                 &host);

    /* a worker may add a sample between the two passes: leave room */

    for ( ;; ) {
        len += len / 8 + 1024;

        b = ngx_create_temp_buf(r->pool, len);
        if (b == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        need = infer_prom_render_host((char *) b->pos, len,
                                      imcf->metrics->base, format, now,
                                      &host);
        if (need < len) {
            break;
        }

        len = need;
    }

    b->last = b->pos + need;

    switch (format) {

    case INFER_PROM_OPENMETRICS:
        ngx_str_set(&type, INFER_PROM_OPENMETRICS_TYPE);
        break;

    case INFER_PROM_JSON:
        ngx_str_set(&type, INFER_PROM_JSON_TYPE);
        break;

    default:
        ngx_str_set(&type, INFER_PROM_TEXT_TYPE);
    }

    return ngx_http_infer_send(r, NGX_HTTP_OK, &type, b);
}


/* infer_metrics_zone SIZE */

char *
ngx_http_infer_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_main_conf_t *imcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (imcf->zone_size) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    imcf->zone_size = size;

    return NGX_CONF_OK;
}


/* infer_latency_buckets / infer_prediction_buckets: increasing numbers */

char *
ngx_http_infer_buckets(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    double        *b, prev;
    ngx_str_t     *value;
    ngx_uint_t     i;
    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts - 1 > INFER_METRICS_MAX_BUCKETS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "more than %d buckets",
                           INFER_METRICS_MAX_BUCKETS);
        return NGX_CONF_ERROR;
    }

    *a = ngx_array_create(cf->pool, cf->args->nelts, sizeof(double));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    prev = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        b = ngx_array_push(*a);
        if (b == NULL) {
            return NGX_CONF_ERROR;
        }

        *b = infer_json_parse_double((char *) value[i].data, value[i].len);

        if (!isfinite(*b) || (i > 1 && *b <= prev)
            || strspn((char *) value[i].data, "0123456789.eE+-")
               != value[i].len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid bucket \"%V\": give finite numbers "
                               "in increasing order", &value[i]);
            return NGX_CONF_ERROR;
        }

        prev = *b;
    }

    return NGX_CONF_OK;
}


static size_t
ngx_http_infer_block_size(ngx_http_infer_main_conf_t *imcf)
{
    if (imcf->zone_size) {
        return imcf->zone_size;
    }

    return ngx_max(infer_metrics_size_auto(&imcf->mconf),
                   NGX_HTTP_INFER_ZONE_MIN);
}


/* the metrics' index of model im: a row of series, or the worker's */

ngx_uint_t
ngx_http_infer_model_index(ngx_http_infer_main_conf_t *imcf,
    ngx_http_infer_model_t *im)
{
    if (im == NULL) {
        return INFER_METRICS_NOMODEL;
    }

    return im - (ngx_http_infer_model_t *) imcf->models.elts;
}
