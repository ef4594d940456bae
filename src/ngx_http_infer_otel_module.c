/*
 * ngx_http_infer_otel_module: OpenTelemetry spans of the requests
 * ngx_http_infer_module serves, exported over OTLP/HTTP by each worker.
 *
 * A module of its own in the same build, so that its directives and
 * process hooks stay apart from the inference module's.  This file holds
 * the configuration and the sampler; the spans are built in
 * ..._otel_span.c and sent by ..._otel_export.c.  Every directive is
 * named infer_otel_*, so that nginx's own otel module (otel_*) can be
 * loaded beside it.
 */

#include "ngx_http_infer_otel.h"


#define NGX_HTTP_INFER_OTEL_ENDPOINT   "http://localhost:4318/v1/traces"
#define NGX_HTTP_INFER_OTEL_PATH       "/v1/traces"
#define NGX_HTTP_INFER_OTEL_SERVICE    "unknown_service:nginx"


static void *ngx_http_infer_otel_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_infer_otel_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_infer_otel_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_infer_otel_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_infer_otel_init_process(ngx_cycle_t *cycle);
static void ngx_http_infer_otel_exit_process(ngx_cycle_t *cycle);

static char *ngx_http_infer_otel(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_infer_otel_sample(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_infer_otel_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_infer_otel_header(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_infer_otel_resource_attribute(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_infer_otel_parse_endpoint(ngx_conf_t *cf,
    ngx_http_infer_otel_main_conf_t *omcf, ngx_str_t *endpoint);
static ngx_int_t ngx_http_infer_otel_ssl(ngx_conf_t *cf,
    ngx_http_infer_otel_main_conf_t *omcf);
static ngx_int_t ngx_http_infer_otel_env_resource(ngx_conf_t *cf,
    ngx_http_infer_otel_main_conf_t *omcf);
static infer_otel_attr_t *ngx_http_infer_otel_find_attr(ngx_array_t *a,
    u_char *key, size_t len);
static ngx_int_t ngx_http_infer_otel_push_attr(ngx_conf_t *cf,
    ngx_array_t *a, ngx_str_t *key, ngx_str_t *value, ngx_uint_t replace);


static ngx_conf_num_bounds_t  ngx_http_infer_otel_batch_bounds = {
    ngx_conf_check_num_bounds, 1, 65536
};

static ngx_conf_num_bounds_t  ngx_http_infer_otel_queue_bounds = {
    ngx_conf_check_num_bounds, 1, 1024
};

static ngx_conf_enum_t  ngx_http_infer_otel_compressions[] = {
    { ngx_string("off"), 0 },
    { ngx_string("gzip"), 1 },              /* zlib's fastest level */
    { ngx_null_string, 0 }
};

static ngx_conf_enum_t  ngx_http_infer_otel_protocols[] = {
    { ngx_string("http/protobuf"), INFER_OTEL_PROTOBUF },
    { ngx_string("http/json"), INFER_OTEL_JSON },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_infer_otel_commands[] = {

    { ngx_string("infer_otel"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_infer_otel,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_loc_conf_t, enable),
      NULL },

    { ngx_string("infer_otel_sample"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_infer_otel_sample,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_otel_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_infer_otel_endpoint,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_otel_header"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_infer_otel_header,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_otel_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, interval),
      NULL },

    { ngx_string("infer_otel_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, timeout),
      NULL },

    { ngx_string("infer_otel_batch_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, batch_size),
      &ngx_http_infer_otel_batch_bounds },

    { ngx_string("infer_otel_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, queue),
      &ngx_http_infer_otel_queue_bounds },

    { ngx_string("infer_otel_compression"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, gzip),
      ngx_http_infer_otel_compressions },

    { ngx_string("infer_otel_protocol"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, protocol),
      ngx_http_infer_otel_protocols },

    { ngx_string("infer_otel_service_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, service_name),
      NULL },

    { ngx_string("infer_otel_resource_attribute"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_infer_otel_resource_attribute,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("infer_otel_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, trusted_certificate),
      NULL },

    { ngx_string("infer_otel_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_infer_otel_main_conf_t, ssl_verify),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_infer_otel_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_infer_otel_create_main_conf,  /* create main configuration */
    ngx_http_infer_otel_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_infer_otel_create_loc_conf,   /* create location configuration */
    ngx_http_infer_otel_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_infer_otel_module = {
    NGX_MODULE_V1,
    &ngx_http_infer_otel_module_ctx,       /* module context */
    ngx_http_infer_otel_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_infer_otel_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_infer_otel_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * A request starts in a location that exports: a trace it starts is
 * sampled by ratio of its trace id (the same decision in every worker and
 * in every service using OpenTelemetry's threshold rule); a remote
 * parent's decision is kept.
 */

ngx_uint_t
ngx_http_infer_otel_begin(ngx_http_request_t *r, infer_trace_t *t)
{
    ngx_http_infer_otel_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_otel_module);

    if (!olcf->enable) {
        return 0;
    }

    if (!t->remote) {
        t->flags = infer_otel_ratio_sampled(t->trace_id, olcf->threshold)
                   ? INFER_TRACE_SAMPLED : 0;
    }

    return 1;
}


/* sampled, or kept anyway: a 5xx (an ERROR span), or a slow request */

ngx_uint_t
ngx_http_infer_otel_keep(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx)
{
    uint64_t                         ns;
    ngx_http_infer_otel_loc_conf_t  *olcf;

    if (ctx->trace.flags & INFER_TRACE_SAMPLED) {
        return 1;
    }

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_infer_otel_module);

    if (olcf->keep_errors
        && r->headers_out.status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
    {
        return 1;
    }

    ns = ctx->t[NGX_HTTP_INFER_T_END] - ctx->t[NGX_HTTP_INFER_T_ARRIVAL];

    return olcf->keep_slow && ns >= (uint64_t) olcf->keep_slow * 1000000;
}


static void *
ngx_http_infer_otel_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_infer_otel_main_conf_t  *omcf;

    omcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_infer_otel_main_conf_t));
    if (omcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     omcf->used = 0;
     *     omcf->endpoint = { 0, NULL };
     *     omcf->headers = NULL;
     *     omcf->resource = NULL;
     *     omcf->service_name = { 0, NULL };
     *     omcf->trusted_certificate = { 0, NULL };
     */

    omcf->interval = NGX_CONF_UNSET_MSEC;
    omcf->timeout = NGX_CONF_UNSET_MSEC;
    omcf->batch_size = NGX_CONF_UNSET_UINT;
    omcf->queue = NGX_CONF_UNSET_UINT;
    omcf->gzip = NGX_CONF_UNSET_UINT;
    omcf->protocol = NGX_CONF_UNSET_UINT;
    omcf->ssl_verify = NGX_CONF_UNSET;

    return omcf;
}


/*
 * The defaults suit an OpenTelemetry Collector on this host: its otlp
 * receiver listens on localhost:4318.  The endpoint's name is resolved
 * here, as proxy_pass resolves a name it is given, and again on reload.
 */

static char *
ngx_http_infer_otel_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_infer_otel_main_conf_t *omcf = conf;

    ngx_str_t  endpoint = ngx_string(NGX_HTTP_INFER_OTEL_ENDPOINT);

    ngx_conf_init_msec_value(omcf->interval, 5000);
    ngx_conf_init_msec_value(omcf->timeout, 5000);
    ngx_conf_init_uint_value(omcf->batch_size, 512);
    ngx_conf_init_uint_value(omcf->queue, 4);
    ngx_conf_init_uint_value(omcf->gzip, 0);
    ngx_conf_init_uint_value(omcf->protocol, INFER_OTEL_PROTOBUF);
    ngx_conf_init_value(omcf->ssl_verify, 1);

    if (!omcf->used) {
        return NGX_CONF_OK;
    }

    if (omcf->endpoint.len == 0
        && ngx_http_infer_otel_parse_endpoint(cf, omcf, &endpoint) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (omcf->https && ngx_http_infer_otel_ssl(cf, omcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_infer_otel_env_resource(cf, omcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (omcf->service_name.len == 0) {
        ngx_str_set(&omcf->service_name, NGX_HTTP_INFER_OTEL_SERVICE);
    }

    omcf->host_name = cf->cycle->hostname;

    return NGX_CONF_OK;
}


static void *
ngx_http_infer_otel_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_infer_otel_loc_conf_t  *olcf;

    olcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_infer_otel_loc_conf_t));
    if (olcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     olcf->threshold = 0;       (ratio 1: every new trace)
     *     olcf->keep_errors = 0;
     *     olcf->keep_slow = 0;
     *     olcf->sample_set = 0;
     */

    olcf->enable = NGX_CONF_UNSET;

    return olcf;
}


static char *
ngx_http_infer_otel_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_infer_otel_loc_conf_t *prev = parent;
    ngx_http_infer_otel_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    if (!conf->sample_set) {
        conf->threshold = prev->threshold;
        conf->keep_errors = prev->keep_errors;
        conf->keep_slow = prev->keep_slow;
        conf->sample_set = prev->sample_set;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_infer_otel_init_process(ngx_cycle_t *cycle)
{
    ngx_http_infer_main_conf_t       *imcf;
    ngx_http_infer_otel_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_infer_otel_module);
    imcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_infer_module);

    if (omcf == NULL || !omcf->used || imcf == NULL || !imcf->used) {
        return NGX_OK;
    }

    /* the cache manager and loader run init_process too: they serve nothing */

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    /* no exporter is no reason to stop serving: it logged why */

    (void) ngx_http_infer_otel_export_init(cycle, omcf, imcf->metrics);

    return NGX_OK;
}


static void
ngx_http_infer_otel_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_infer_otel_export_exit(cycle);
}


/* infer_otel on | off: an exporter runs where any location says on */

static char *
ngx_http_infer_otel(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                             *rv;
    ngx_http_infer_otel_loc_conf_t   *olcf = conf;
    ngx_http_infer_otel_main_conf_t  *omcf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && olcf->enable) {
        omcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_infer_otel_module);
        omcf->used = 1;
    }

    return rv;
}


/* infer_otel_sample RATIO [errors] [slow=TIME] */

static char *
ngx_http_infer_otel_sample(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_otel_loc_conf_t *olcf = conf;

    double       ratio;
    ngx_str_t   *value, arg;
    ngx_uint_t   i;

    if (olcf->sample_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ratio = infer_json_parse_double((char *) value[1].data, value[1].len);

    if (!(ratio >= 0 && ratio <= 1)
        || strspn((char *) value[1].data, "0123456789.") != value[1].len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid ratio \"%V\": give a number from 0 "
                           "(no new trace) to 1 (every one)", &value[1]);
        return NGX_CONF_ERROR;
    }

    olcf->threshold = infer_otel_ratio_threshold(ratio);
    olcf->sample_set = 1;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "errors") == 0) {
            olcf->keep_errors = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "slow=", 5) == 0) {
            arg.data = value[i].data + 5;
            arg.len = value[i].len - 5;

            olcf->keep_slow = ngx_parse_time(&arg, 0);

            if (olcf->keep_slow == (ngx_msec_t) NGX_ERROR
                || olcf->keep_slow == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid slow=\"%V\": give a time such "
                                   "as 250ms", &arg);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": use errors or "
                           "slow=TIME", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* infer_otel_endpoint http[s]://host[:port][/path] */

static char *
ngx_http_infer_otel_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_otel_main_conf_t *omcf = conf;

    ngx_str_t  *value;

    if (omcf->endpoint.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_infer_otel_parse_endpoint(cf, omcf, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The URL as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT has it; without a path,
 * OTLP's /v1/traces.  Its host is resolved now: every address is tried
 * in turn, as localhost may be ::1 or 127.0.0.1.
 */

static ngx_int_t
ngx_http_infer_otel_parse_endpoint(ngx_conf_t *cf,
    ngx_http_infer_otel_main_conf_t *omcf, ngx_str_t *endpoint)
{
    size_t     skip;
    u_char    *p;
    ngx_url_t  u;

    if (endpoint->len > 7
        && ngx_strncasecmp(endpoint->data, (u_char *) "http://", 7) == 0)
    {
        skip = 7;
        omcf->https = 0;

    } else if (endpoint->len > 8
               && ngx_strncasecmp(endpoint->data, (u_char *) "https://", 8)
                  == 0)
    {
        skip = 8;
        omcf->https = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid infer_otel_endpoint \"%V\": give an "
                           "http:// or https:// URL", endpoint);
        return NGX_ERROR;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = endpoint->data + skip;
    u.url.len = endpoint->len - skip;
    u.default_port = omcf->https ? 443 : 80;
    u.uri_part = 1;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "infer_otel_endpoint \"%V\": %s", endpoint,
                           u.err ? u.err : "invalid URL");
        return NGX_ERROR;
    }

    /*
     * A collector is no reason not to serve: a name that does not resolve
     * now (its Service not there yet) is a warning, and the spans are
     * dropped and counted until a reload resolves it.
     */

    if (u.naddrs == 0 && ngx_inet_resolve_host(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "infer_otel_endpoint \"%V\": %s: spans will be "
                           "dropped until a reload resolves it", endpoint,
                           u.err ? u.err : "host not found");
        u.naddrs = 0;
    }

    omcf->endpoint = *endpoint;
    omcf->addrs = u.addrs;
    omcf->naddrs = u.naddrs;

    /* Host: the authority as given, the port only if it is not implied */

    omcf->host.len = u.host.len + (u.no_port ? 0 : 1 + u.port_text.len);
    omcf->host.data = ngx_pnalloc(cf->pool, omcf->host.len);
    omcf->name.data = ngx_pnalloc(cf->pool, u.host.len + 1);

    if (omcf->host.data == NULL || omcf->name.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(omcf->host.data, u.host.data, u.host.len);

    if (!u.no_port) {
        *p++ = ':';
        ngx_memcpy(p, u.port_text.data, u.port_text.len);
    }

    /* the name the certificate must match: IPv6's without its brackets */

    if (u.host.len > 2 && u.host.data[0] == '[') {
        omcf->name.len = u.host.len - 2;
        ngx_memcpy(omcf->name.data, u.host.data + 1, omcf->name.len);
        omcf->name_is_addr = 1;

    } else {
        omcf->name.len = u.host.len;
        ngx_memcpy(omcf->name.data, u.host.data, u.host.len);
        omcf->name_is_addr = (ngx_inet_addr(u.host.data, u.host.len)
                              != INADDR_NONE);
    }

    omcf->name.data[omcf->name.len] = '\0';

    if (u.uri.len == 0 || (u.uri.len == 1 && u.uri.data[0] == '/')) {
        ngx_str_set(&omcf->path, NGX_HTTP_INFER_OTEL_PATH);

    } else {
        omcf->path = u.uri;
    }

    return NGX_OK;
}


#if (NGX_SSL)

/* TLS to the collector: verified against the system's CAs, or the file */

static ngx_int_t
ngx_http_infer_otel_ssl(ngx_conf_t *cf, ngx_http_infer_otel_main_conf_t *omcf)
{
    ngx_uint_t           protocols;
    ngx_pool_cleanup_t  *cln;

    omcf->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (omcf->ssl == NULL) {
        return NGX_ERROR;
    }

    omcf->ssl->log = cf->log;

    protocols = NGX_SSL_TLSv1_2;
#ifdef NGX_SSL_TLSv1_3
    protocols |= NGX_SSL_TLSv1_3;
#endif

    if (ngx_ssl_create(omcf->ssl, protocols, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(omcf->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = omcf->ssl;

    if (omcf->trusted_certificate.len) {
        return ngx_ssl_trusted_certificate(cf, omcf->ssl,
                                           &omcf->trusted_certificate, 9);
    }

    if (SSL_CTX_set_default_verify_paths(omcf->ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "infer_otel_endpoint: the system's CA certificates "
                      "could not be loaded");
        return NGX_ERROR;
    }

    return NGX_OK;
}

#else

static ngx_int_t
ngx_http_infer_otel_ssl(ngx_conf_t *cf, ngx_http_infer_otel_main_conf_t *omcf)
{
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "infer_otel_endpoint \"%V\": https requires nginx "
                       "built with OpenSSL (--with-http_ssl_module)",
                       &omcf->endpoint);
    return NGX_ERROR;
}

#endif


/* infer_otel_header NAME VALUE: an auth token, say */

static char *
ngx_http_infer_otel_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_infer_otel_main_conf_t *omcf = conf;

    u_char               *p;
    ngx_str_t            *value;
    infer_otel_header_t  *h;

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p <= ' ' || *p >= 0x7f || ngx_strchr("()<>@,;:\\\"/[]?={}", *p))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid header name \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    for (p = value[2].data; p < value[2].data + value[2].len; p++) {
        if (*p == CR || *p == LF || *p == '\0') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value of header \"%V\": no line "
                               "breaks", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 0) {
        return "takes a header name";
    }

    if (omcf->headers == NULL) {
        omcf->headers = ngx_array_create(cf->pool, 4,
                                         sizeof(infer_otel_header_t));
        if (omcf->headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    h = ngx_array_push(omcf->headers);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    h->name = (char *) value[1].data;
    h->name_len = value[1].len;
    h->value = (char *) value[2].data;
    h->value_len = value[2].len;

    return NGX_CONF_OK;
}


/* infer_otel_resource_attribute NAME VALUE, over OTEL_RESOURCE_ATTRIBUTES */

static char *
ngx_http_infer_otel_resource_attribute(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_infer_otel_main_conf_t *omcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes an attribute name";
    }

    if (ngx_strcmp(value[1].data, "service.name") == 0) {
        return "cannot set service.name: use infer_otel_service_name";
    }

    if (omcf->resource == NULL) {
        omcf->resource = ngx_array_create(cf->pool, 4,
                                          sizeof(infer_otel_attr_t));
        if (omcf->resource == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_infer_otel_find_attr(omcf->resource, value[1].data,
                                      value[1].len)
        != NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate resource attribute \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_infer_otel_push_attr(cf, omcf->resource, &value[1],
                                      &value[2], 1)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (key=value,key=value,
 * values percent-encoded), as an OpenTelemetry SDK reads them: in
 * Kubernetes the pod's name and namespace come this way.  The master's
 * environment, read at configuration; the directives win.
 */

static ngx_int_t
ngx_http_infer_otel_env_resource(ngx_conf_t *cf,
    ngx_http_infer_otel_main_conf_t *omcf)
{
    char        *env;
    u_char      *p, *end, *eq, *comma, *dst;
    ngx_str_t    key, value;

    env = getenv("OTEL_SERVICE_NAME");

    if (env != NULL && *env != '\0' && omcf->service_name.len == 0) {
        omcf->service_name.len = ngx_strlen(env);
        omcf->service_name.data = ngx_pstrdup(cf->pool, &omcf->service_name);
        if (omcf->service_name.data == NULL) {
            return NGX_ERROR;
        }
    }

    env = getenv("OTEL_RESOURCE_ATTRIBUTES");

    if (env == NULL || *env == '\0') {
        return NGX_OK;
    }

    if (omcf->resource == NULL) {
        omcf->resource = ngx_array_create(cf->pool, 4,
                                          sizeof(infer_otel_attr_t));
        if (omcf->resource == NULL) {
            return NGX_ERROR;
        }
    }

    p = (u_char *) env;
    end = p + ngx_strlen(env);

    while (p < end) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        eq = ngx_strlchr(p, comma, '=');

        if (eq != NULL && eq > p) {
            key.data = p;
            key.len = eq - p;
            value.len = comma - eq - 1;

            value.data = ngx_pnalloc(cf->pool, value.len + 1);
            if (value.data == NULL) {
                return NGX_ERROR;
            }

            dst = value.data;
            eq++;
            ngx_unescape_uri(&dst, &eq, value.len, 0);
            value.len = dst - value.data;

            if (key.len == sizeof("service.name") - 1
                && ngx_strncmp(key.data, "service.name", key.len) == 0)
            {
                if (omcf->service_name.len == 0) {
                    omcf->service_name = value;
                }

            } else if (ngx_http_infer_otel_push_attr(cf, omcf->resource,
                                                     &key, &value, 0)
                       != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        p = comma + 1;
    }

    return NGX_OK;
}


static infer_otel_attr_t *
ngx_http_infer_otel_find_attr(ngx_array_t *a, u_char *key, size_t len)
{
    ngx_uint_t          i;
    infer_otel_attr_t  *attr;

    attr = a->elts;

    for (i = 0; i < a->nelts; i++) {
        if (ngx_strlen(attr[i].key) == len
            && ngx_strncmp(attr[i].key, key, len) == 0)
        {
            return &attr[i];
        }
    }

    return NULL;
}


/* a string attribute; an existing one is kept unless replace */

static ngx_int_t
ngx_http_infer_otel_push_attr(ngx_conf_t *cf, ngx_array_t *a, ngx_str_t *key,
    ngx_str_t *value, ngx_uint_t replace)
{
    u_char             *k;
    infer_otel_attr_t  *attr;

    attr = ngx_http_infer_otel_find_attr(a, key->data, key->len);

    if (attr != NULL && !replace) {
        return NGX_OK;
    }

    if (attr == NULL) {
        attr = ngx_array_push(a);
        if (attr == NULL) {
            return NGX_ERROR;
        }

        k = ngx_pnalloc(cf->pool, key->len + 1);
        if (k == NULL) {
            return NGX_ERROR;
        }

        ngx_cpystrn(k, key->data, key->len + 1);
        attr->key = (char *) k;
        attr->key_len = key->len;
    }

    attr->type = INFER_OTEL_STRING;
    attr->v.s = (char *) value->data;
    attr->len = value->len;

    return NGX_OK;
}
