/*
 * Log variables, for nginx's own access log (log_format ... escape=json).
 * Each is defined for every request: empty, or 0 for the numbers, where
 * the module did not serve it, so that a JSON log line never breaks.
 * Reading one ends the request's record (ngx_http_infer_request_end()):
 * they are for the log phase, which nginx's access log may reach first.
 */

#include "ngx_http_infer_module.h"


static ngx_int_t ngx_http_infer_var_number(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uint64_t n);
static ngx_int_t ngx_http_infer_var_hex(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, const uint8_t *id, size_t len);


static ngx_http_variable_t  ngx_http_infer_vars[] = {

    { ngx_string("infer_model"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_MODEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_model_version"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_MODEL_VERSION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_status"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_batch_size"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_BATCH_SIZE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_latency_us"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_LATENCY_US, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_prediction"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_PREDICTION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_trace_id"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_TRACE_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_span_id"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_SPAN_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_sched_delay_us"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_SCHED_DELAY_US, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("infer_trace_sampled"), NULL, ngx_http_infer_variable,
      NGX_HTTP_INFER_VAR_TRACE_SAMPLED, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    /* the shipped JSON log's whole line: ngx_http_infer_log_line.c */

    { ngx_string("infer_log_json"), NULL, ngx_http_infer_log_json_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_infer_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_infer_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_infer_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    return ngx_http_infer_variable_of(r, ngx_http_infer_request_end(r), v,
                                      data);
}


/* a variable's value for the request's ctx (NULL: not the module's) */

ngx_int_t
ngx_http_infer_variable_of(ngx_http_request_t *r, ngx_http_infer_ctx_t *ctx,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                *p;
    ngx_str_t             *s;
    const char            *status;

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->len = 0;
    v->data = (u_char *) "";

    if (ctx == NULL) {
        switch (data) {
        case NGX_HTTP_INFER_VAR_BATCH_SIZE:
        case NGX_HTTP_INFER_VAR_LATENCY_US:
        case NGX_HTTP_INFER_VAR_SCHED_DELAY_US:
        case NGX_HTTP_INFER_VAR_TRACE_SAMPLED:
            return ngx_http_infer_var_number(r, v, 0);
        default:
            return NGX_OK;
        }
    }

    switch (data) {

    case NGX_HTTP_INFER_VAR_MODEL:
    case NGX_HTTP_INFER_VAR_MODEL_VERSION:
        if (ctx->model != NULL) {
            s = (data == NGX_HTTP_INFER_VAR_MODEL) ? &ctx->model->name
                                                   : &ctx->model->version;
            v->len = s->len;
            v->data = s->data;
        }

        return NGX_OK;

    /* "ok", or why the request failed: the errors_total reasons */

    case NGX_HTTP_INFER_VAR_STATUS:
        status = ngx_http_infer_outcome(r, ctx);
        v->len = ngx_strlen(status);
        v->data = (u_char *) status;
        return NGX_OK;

    case NGX_HTTP_INFER_VAR_BATCH_SIZE:
        return ngx_http_infer_var_number(r, v,
                                         ctx->evaluated ? ctx->rows : 0);

    case NGX_HTTP_INFER_VAR_LATENCY_US:
        return ngx_http_infer_var_number(r, v,
                   ctx->t[NGX_HTTP_INFER_T_DONE]
                   ? (ctx->t[NGX_HTTP_INFER_T_DONE]
                      - ctx->t[NGX_HTTP_INFER_T_BODY]) / 1000
                   : 0);

    case NGX_HTTP_INFER_VAR_PREDICTION:
        if (!ctx->evaluated) {
            return NGX_OK;
        }

        if (ctx->prediction.len) {          /* as the response has it */
            v->len = ctx->prediction.len;
            v->data = ctx->prediction.data;
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, INFER_JSON_FLOAT_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = infer_json_format_float((char *) p, INFER_JSON_FLOAT_LEN,
                                         ctx->y[0]);
        v->data = p;
        return NGX_OK;

    /* the ids as the response's traceparent carries them */

    case NGX_HTTP_INFER_VAR_TRACE_ID:
        if (ctx->traceparent != NULL) {
            v->len = 2 * INFER_TRACE_ID_LEN;
            v->data = ctx->traceparent + INFER_TRACEPARENT_TRACE;
            return NGX_OK;
        }

        return ngx_http_infer_var_hex(r, v, ctx->trace.trace_id,
                                      INFER_TRACE_ID_LEN);

    case NGX_HTTP_INFER_VAR_SCHED_DELAY_US:
        return ngx_http_infer_var_number(r, v, ctx->sched_done
                                               ? ctx->sched_ns / 1000 : 0);

    /* 1: the request's spans were exported, the trace id finds them */

    case NGX_HTTP_INFER_VAR_TRACE_SAMPLED:
        return ngx_http_infer_var_number(r, v, ctx->exported);

    case NGX_HTTP_INFER_VAR_SPAN_ID:
    default:
        if (ctx->traceparent != NULL) {
            v->len = 2 * INFER_TRACE_SPAN_LEN;
            v->data = ctx->traceparent + INFER_TRACEPARENT_SPAN;
            return NGX_OK;
        }

        return ngx_http_infer_var_hex(r, v, ctx->trace.span_id,
                                      INFER_TRACE_SPAN_LEN);
    }
}


static ngx_int_t
ngx_http_infer_var_number(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uint64_t n)
{
    u_char  *p;

    if (n == 0) {                       /* not served here, or under 1 us */
        v->len = 1;
        v->data = (u_char *) "0";
        return NGX_OK;
    }

    /* the core's digits: ngx_sprintf() costs 5 times as much */

    p = ngx_pnalloc(r->pool, INFER_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = infer_format_uint64((char *) p, n);
    v->data = p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_infer_var_hex(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    const uint8_t *id, size_t len)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, 2 * len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    infer_trace_hex((char *) p, id, len);

    v->len = 2 * len;
    v->data = p;

    return NGX_OK;
}
