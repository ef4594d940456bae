#ifndef NGX_HTTP_INFER_MODULE_H
#define NGX_HTTP_INFER_MODULE_H


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "infer_core.h"
#include "infer_model.h"
#include "infer_json.h"


#define NGX_HTTP_INFER_VERSION        "0.1.0"

#define NGX_HTTP_INFER_UNPROCESSABLE  422     /* nginx has no name for it */


typedef enum {
    NGX_HTTP_INFER_NONE = 0,
    NGX_HTTP_INFER_PREDICT,
    NGX_HTTP_INFER_HEALTH,
    NGX_HTTP_INFER_READY
} ngx_http_infer_kind_e;


typedef struct {
    ngx_str_t                 name;
    ngx_str_t                 version;
    ngx_str_t                 path;           /* as resolved, NUL-terminated */
    infer_model_t            *model;          /* immutable after loading */
    infer_buf_t               fields;         /* ,"model_name":..., escaped */
    ngx_flag_t                warm;           /* this worker evaluated it */
} ngx_http_infer_model_t;


typedef struct {
    ngx_array_t               models;         /* of ngx_http_infer_model_t */
    ngx_flag_t                used;           /* some location serves us */
} ngx_http_infer_main_conf_t;


typedef struct {
    ngx_http_infer_kind_e     kind;
    ngx_http_infer_model_t   *model;
    ngx_str_t                 model_name;     /* until merge resolves it */
    ngx_uint_t                model_line;
    u_char                   *model_file;
    ngx_uint_t                max_batch;
} ngx_http_infer_loc_conf_t;


/* per request, for the error filter and, later, the log variables */

typedef struct {
    ngx_uint_t                own_response:1; /* the body is ours already */
    ngx_uint_t                replace_body:1; /* the filter swaps it */
    ngx_buf_t                *error_body;
} ngx_http_infer_ctx_t;


extern ngx_module_t  ngx_http_infer_module;


ngx_int_t ngx_http_infer_predict_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_health_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_infer_ready_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_infer_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_buf_t *b);
ngx_int_t ngx_http_infer_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg);
ngx_uint_t ngx_http_infer_status(int rc);
ngx_http_infer_ctx_t *ngx_http_infer_get_ctx(ngx_http_request_t *r);
ngx_buf_t *ngx_http_infer_buf(ngx_http_request_t *r, infer_buf_t *out);
infer_alloc_t *ngx_http_infer_pool_alloc(ngx_pool_t *pool);

ngx_int_t ngx_http_infer_response_init(ngx_conf_t *cf);


#endif /* NGX_HTTP_INFER_MODULE_H */
