/*
 * The KServe V2 (Open Inference Protocol) REST codec: the URI router, the
 * streaming inference-request parser and the response writers.
 *
 * Routes take nginx's r->uri: percent-decoded, slashes merged, without
 * the query string.  The router never decodes: model names and versions
 * are [A-Za-z0-9._-]+, so a name with any other byte (a '%', a space) is
 * no model's name and routes to INFER_ENOTFOUND.
 *
 * A model has one input tensor and one or more output tensors, FP32, each
 * of shape [-1, ...] (the batch, then a row's dimensions: [-1, nfeatures]
 * for the JSON formats' "input-0", an ONNX graph's own names and shapes).
 * A request gives exactly one tensor in "inputs", under any name, of shape
 * [rows, ...] or a row's shape alone (one row), with "data" flat or nested
 * as the shape; its members come in any order.  "outputs" may ask for some
 * of the outputs by name; the response has those, or all.  Datatypes:
 * FP32, FP64, FP16 (values within +-65504, kept as float32, not rounded
 * to half), INT8 to INT64, UINT8 to UINT64 (integral values in the type's
 * range), BOOL (true and false only).  BYTES is refused.
 *
 * The binary tensor data extension: with the Inference-Header-Content-
 * Length header, the body is that many bytes of JSON, then the raw bytes
 * of the input that has "parameters":{"binary_data_size":B} and no
 * "data" (little-endian, row-major, each datatype in its own size),
 * converted to floats as the JSON values of that datatype are.  Outputs
 * with "parameters":{"binary_data":true}, or all of them with the
 * request's "parameters":{"binary_data_output":true} (an output's own
 * "binary_data" wins), are sent as raw FP32 after the response's JSON.
 * Other "parameters" are ignored.
 *
 * Every string of the JSON must be UTF-8 (RFC 3629, infer_utf8.h), and a
 * \u escape of a UTF-16 surrogate one of a pair: yajl checks neither, and
 * the id is echoed.  A request that breaks this fails at the offending
 * byte's offset in the body (INFER_EJSON).
 */

#ifndef INFER_V2_H
#define INFER_V2_H


#include "infer_core.h"
#include "infer_json.h"
#include "infer_model.h"


#define INFER_V2_MAX_ID        256   /* bytes of a request "id" */
#define INFER_V2_SERVER_NAME   "ngx_http_infer_module"
#define INFER_V2_MAX_OUTPUTS   64    /* a request selects them by bit */
#define INFER_V2_HEADER_LENGTH "Inference-Header-Content-Length"


typedef enum {
    INFER_V2_SERVER_METADATA = 1,            /* GET /v2 */
    INFER_V2_SERVER_LIVE,                    /* GET /v2/health/live */
    INFER_V2_SERVER_READY,                   /* GET /v2/health/ready */
    INFER_V2_MODEL_METADATA,                 /* GET /v2/models/m */
    INFER_V2_MODEL_READY,                    /* GET /v2/models/m/ready */
    INFER_V2_MODEL_INFER                     /* POST /v2/models/m/infer */
} infer_v2_endpoint_e;


typedef struct {
    infer_v2_endpoint_e   endpoint;
    const char           *model;             /* slices of the uri, */
    size_t                model_len;
    const char           *version;           /* NULL: none in the uri */
    size_t                version_len;
    char                  err[INFER_ERRLEN]; /* why INFER_ENOTFOUND */
} infer_v2_route_t;


/* one configured model, as the V2 endpoints describe it */
typedef struct {
    const char           *name;
    size_t                name_len;
    const char           *version;           /* version_len 0: none */
    size_t                version_len;
    const char           *format;            /* infer_model_format() */
    size_t                nfeatures;
    size_t                noutputs;          /* floats of a row of y */
    const infer_tensor_t *input;
    const infer_tensor_t *outputs;
    size_t                noutput_tensors;
} infer_v2_model_t;


typedef struct infer_v2_parser_s  infer_v2_parser_t;


typedef struct {
    float                *x;                 /* rows x nfeatures */
    size_t                rows;
    const char           *id;                /* NULL: the request had none */
    size_t                id_len;
    uint64_t              outputs;           /* asked for, by bit; 0: all */
    uint64_t              binary;            /* of those, sent as bytes */
} infer_v2_request_t;


typedef struct {
    const infer_v2_model_t  *model;
    const char              *id;             /* NULL: none to echo */
    size_t                   id_len;
    const float             *y;              /* rows x model->noutputs */
    size_t                   rows;
    uint64_t                 outputs;        /* by bit; 0: all */
    uint64_t                 binary;         /* by bit: sent as bytes */
} infer_v2_response_t;


/*
 * INFER_OK, or INFER_ENOTFOUND with rt->err saying why.  Every endpoint
 * but INFER_V2_MODEL_INFER is a GET (or HEAD).
 */
int infer_v2_route(const char *uri, size_t len, infer_v2_route_t *rt);

/*
 * The endpoint as a route template, for a span's name and http.route:
 * "/v2/models/{model}/versions/{version}/infer"; "/v2/{unknown}" when the
 * uri routed nowhere.
 */
const char *infer_v2_route_template(const infer_v2_route_t *rt);

/*
 * The model rt names among n, with the version rt gives, if any: a model
 * configured without a version has none to ask for.  INFER_OK and *found,
 * or INFER_ENOTFOUND and err.
 */
int infer_v2_find_model(const infer_v2_route_t *rt,
    const infer_v2_model_t *models, size_t n, size_t *found, char *err,
    size_t errlen);

/*
 * opts are those of the simple protocol (nfeatures and max_rows at least
 * 1; a row's shape, if not flat); outputs the model's, for the names a
 * request may ask for (NULL: one, "output-0").  The matrix and the id
 * live until infer_v2_parser_free().
 */
infer_v2_parser_t *infer_v2_parser_create(const infer_request_opts_t *opts,
    const infer_tensor_t *outputs, size_t noutputs,
    const infer_alloc_t *alloc);

/*
 * A body with the binary extension's header: value, len is the header's
 * value, body_len the whole body's length.  Before the first parse; a
 * value that is no length within the body fails the request, as
 * infer_v2_finish() then says (INFER_EINVAL).  The body is then fed
 * whole, JSON and binary alike, in chunks cut anywhere.
 */
int infer_v2_parser_binary(infer_v2_parser_t *p, const char *value,
    size_t len, uint64_t body_len);
int infer_v2_parse(infer_v2_parser_t *p, const unsigned char *data,
    size_t len);
int infer_v2_finish(infer_v2_parser_t *p, infer_v2_request_t *req);
const char *infer_v2_error(const infer_v2_parser_t *p);
void infer_v2_parser_free(infer_v2_parser_t *p);

/* "xgboost" is "xgboost_json", "onnx" "onnx_onnxv1", others as they are */
const char *infer_v2_platform(const char *format);

/* errors are written with infer_json_write_error() */
int infer_v2_write_server_metadata(infer_buf_t *out, const char *version);
/* {"KEY":true} or {"KEY":false} */
int infer_v2_write_flag(infer_buf_t *out, const char *key, int value);
int infer_v2_write_model_metadata(infer_buf_t *out,
    const infer_v2_model_t *m);
int infer_v2_write_model_ready(infer_buf_t *out, const infer_v2_model_t *m,
    int ready);

/*
 * A non-finite output is written as null; a binary one (resp->binary) as
 * its "binary_data_size", its bytes appended by infer_v2_write_binary():
 * the JSON's length is then the Inference-Header-Content-Length.
 */
int infer_v2_write_response(infer_buf_t *out,
    const infer_v2_response_t *resp);
int infer_v2_write_binary(infer_buf_t *out, const infer_v2_response_t *resp);


#endif /* INFER_V2_H */
