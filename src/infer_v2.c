#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "infer_json_stream.h"
#include "infer_utf8.h"
#include "infer_v2.h"


#define INFER_V2_MAX_SEGS      5     /* models/m/versions/v/infer */
#define INFER_V2_MAX_DIMS      8     /* of a shape and of nested data */
#define INFER_V2_MAX_DEPTH     32    /* of values skipped under other keys */
#define INFER_V2_MAX_NUMBER    128   /* characters in one number */
#define INFER_V2_FIRST_VALUES  64    /* values before the shape is known */
#define INFER_V2_FP16_MAX      65504.0


typedef enum {
    INFER_V2_BOOL = 0,
    INFER_V2_UINT8,
    INFER_V2_UINT16,
    INFER_V2_UINT32,
    INFER_V2_UINT64,
    INFER_V2_INT8,
    INFER_V2_INT16,
    INFER_V2_INT32,
    INFER_V2_INT64,
    INFER_V2_FP16,
    INFER_V2_FP32,
    INFER_V2_FP64,
    INFER_V2_BYTES,
    INFER_V2_NTYPES
} infer_v2_type_e;


/*
 * What one value of "data" is, kept until the datatype is known: a bit
 * per datatype the value is valid for, and the kind of JSON value.
 */
#define INFER_V2_TYPE(t)       ((uint16_t) (1 << (t)))
#define INFER_V2_ALL_TYPES     ((uint16_t) ((1 << INFER_V2_BYTES) - 1))
#define INFER_V2_INTEGRAL      ((uint16_t) (1 << 12))
#define INFER_V2_IS_BOOL       ((uint16_t) (1 << 13))
#define INFER_V2_IS_NULL       ((uint16_t) (1 << 14))
#define INFER_V2_IS_STRING     ((uint16_t) (1 << 15))


typedef enum {
    INFER_V2_ST_START = 0,            /* before the top-level object */
    INFER_V2_ST_TOP,                  /* in it, between its members */
    INFER_V2_ST_ID,                   /* after "id" */
    INFER_V2_ST_INPUTS,               /* after "inputs" */
    INFER_V2_ST_TENSORS,              /* in "inputs", between tensors */
    INFER_V2_ST_TENSOR,               /* in a tensor, between its members */
    INFER_V2_ST_NAME,                 /* after a tensor's "name" */
    INFER_V2_ST_DATATYPE,
    INFER_V2_ST_SHAPE,
    INFER_V2_ST_DIMS,                 /* in "shape" */
    INFER_V2_ST_DATA,
    INFER_V2_ST_VALUES,               /* in "data", at any depth */
    INFER_V2_ST_OUTPUTS,              /* after "outputs" */
    INFER_V2_ST_OUTPUT_LIST,          /* in it, between requested outputs */
    INFER_V2_ST_OUTPUT,               /* in one, between its members */
    INFER_V2_ST_OUTPUT_NAME,
    INFER_V2_ST_PARAMS,               /* in a "parameters" object */
    INFER_V2_ST_BINARY_SIZE,          /* after an input's binary_data_size */
    INFER_V2_ST_BINARY_DATA,          /* after an output's binary_data */
    INFER_V2_ST_BINARY_OUTPUT,        /* after binary_data_output */
    INFER_V2_ST_SKIP,                 /* in the value of another key */
    INFER_V2_ST_DONE
} infer_v2_state_e;


struct infer_v2_parser_s {
    infer_json_stream_t    js;        /* yajl, the first error */
    infer_utf8_json_t      utf8;      /* the strings yajl accepted */
    const infer_alloc_t   *alloc;
    infer_request_opts_t   opts;
    size_t                 limit;     /* values: max_rows x nfeatures */
    size_t                 row_dims[INFER_V2_MAX_DIMS];
    size_t                 row_ndims;  /* of a row: 1 for a flat one */
    const infer_tensor_t  *outputs;
    size_t                 nmodel_outputs;
    uint64_t               wanted;     /* outputs asked for, by bit */

    infer_v2_state_e       state;
    infer_v2_state_e       skip_to;   /* where a skipped value returns */
    size_t                 skip_depth;

    size_t                 ntensors;  /* tensors begun in "inputs" */
    size_t                 noutputs;  /* objects begun in "outputs" */

    int                    datatype;  /* infer_v2_type_e */
    size_t                 ndims;
    uint64_t               dims[INFER_V2_MAX_DIMS];
    size_t                 rows;
    size_t                 total;     /* rows x nfeatures; 0: no shape yet */

    float                 *x;
    uint16_t              *kind;      /* INFER_V2_TYPE() bits and IS_* */
    size_t                 cap;       /* values x and kind have room for */
    size_t                 nvalues;   /* values seen in "data" */

    size_t                 depth;     /* in "data": 1 in the outer array */
    size_t                 max_depth;
    size_t                 leaf_depth;    /* where values are; 0: unknown */
    size_t                 count[INFER_V2_MAX_DIMS];   /* in open arrays */
    uint64_t               nested[INFER_V2_MAX_DIMS];  /* lengths by depth */

    size_t                 id_len;
    char                   id[INFER_V2_MAX_ID];

    /* "parameters", and the binary extension */
    infer_v2_state_e       params_of;    /* whose "parameters" are read */
    uint64_t               binary_size;  /* the input's binary_data_size */
    uint64_t               bin_true;     /* outputs' binary_data, by bit */
    uint64_t               bin_false;
    size_t                 cur_output;   /* the output object's index */
    int                    cur_binary;   /* its binary_data; -1: none */

    uint64_t               body_len;     /* with the header: the body's, */
    uint64_t               header_len;   /* its JSON's, */
    uint64_t               received;     /* and the bytes fed so far */
    uint64_t               bin_want;     /* bytes of the binary input */
    size_t                 bin_next;     /* the element they go to next */
    size_t                 npart;        /* bytes of an element cut by */
    unsigned char          part[8];      /* the end of a chunk */

    unsigned               seen_id:1;
    unsigned               seen_inputs:1;
    unsigned               seen_outputs:1;
    unsigned               has_name:1;
    unsigned               has_datatype:1;
    unsigned               has_shape:1;
    unsigned               has_data:1;
    unsigned               has_output_name:1;
    unsigned               has_binary_size:1;
    unsigned               skip_params:1;    /* skipping a "parameters" */
    unsigned               binary_output:1;  /* binary_data_output */
    unsigned               binary:1;         /* the header came */
};


static int infer_v2_segment_ok(const char *s, size_t len);
static void infer_v2_quote(char *buf, size_t size, const char *s,
    size_t len);

static int infer_v2_feed(infer_v2_parser_t *p, const unsigned char *data,
    size_t len);
static int infer_v2_check_request(infer_v2_parser_t *p);
static int infer_v2_header_failed(infer_v2_parser_t *p);
static int infer_v2_end_header(infer_v2_parser_t *p);
static int infer_v2_end_body(infer_v2_parser_t *p);
static uint64_t infer_v2_binary_outputs(infer_v2_parser_t *p);
static int infer_v2_binary(infer_v2_parser_t *p, const unsigned char *data,
    size_t len);
static int infer_v2_convert(infer_v2_parser_t *p, const unsigned char *b,
    size_t n);
static int infer_v2_check_floats(infer_v2_parser_t *p,
    const unsigned char *b, size_t n);
static int infer_v2_binary_fail(infer_v2_parser_t *p, int rc, size_t i,
    const char *what);
static uint16_t infer_v2_le16(const unsigned char *b);
static uint32_t infer_v2_le32(const unsigned char *b);
static uint64_t infer_v2_le64(const unsigned char *b);
static float infer_v2_half(uint16_t h);

static int infer_v2_unexpected(infer_v2_parser_t *p, const char *what);
static int infer_v2_skip(infer_v2_parser_t *p, infer_v2_state_e back,
    int params);
static int infer_v2_param_key(infer_v2_parser_t *p,
    const unsigned char *key, size_t len);
static int infer_v2_end_output(infer_v2_parser_t *p);
static int infer_v2_key(infer_v2_parser_t *p, const unsigned char *key,
    size_t len);
static int infer_v2_tensor_key(infer_v2_parser_t *p,
    const unsigned char *key, size_t len);
static int infer_v2_begin_tensor(infer_v2_parser_t *p);
static int infer_v2_end_tensor(infer_v2_parser_t *p);
static int infer_v2_end_binary_tensor(infer_v2_parser_t *p);
static int infer_v2_check_types(infer_v2_parser_t *p);
static int infer_v2_dim(infer_v2_parser_t *p, const char *s);
static int infer_v2_binary_size(infer_v2_parser_t *p, const char *s);
static int infer_v2_check_shape(infer_v2_parser_t *p);
static int infer_v2_check_nested_shape(infer_v2_parser_t *p);
static int infer_v2_set_rows(infer_v2_parser_t *p, uint64_t rows,
    const char *shape);
static int infer_v2_datatype(infer_v2_parser_t *p, const unsigned char *s,
    size_t len);
static int infer_v2_output_name(infer_v2_parser_t *p,
    const unsigned char *s, size_t len);
static int infer_v2_begin_values(infer_v2_parser_t *p);
static int infer_v2_end_values(infer_v2_parser_t *p);
static int infer_v2_value(infer_v2_parser_t *p, float v, uint16_t kind);
static int infer_v2_grow(infer_v2_parser_t *p);
static uint16_t infer_v2_number_kind(const char *s, double d, float *f);
static void infer_v2_where(infer_v2_parser_t *p, char *buf, size_t size,
    size_t depth, int current);
static void infer_v2_where_index(infer_v2_parser_t *p, char *buf,
    size_t size, size_t i);
static void infer_v2_format_dims(char *buf, size_t size,
    const uint64_t *dims, size_t n);
static int infer_v2_skip_scalar(infer_v2_parser_t *p);
static int infer_v2_skip_open(infer_v2_parser_t *p);

static int infer_v2_on_null(void *ctx);
static int infer_v2_on_boolean(void *ctx, int b);
static int infer_v2_on_number(void *ctx, const char *s, size_t len);
static int infer_v2_on_string(void *ctx, const unsigned char *s,
    size_t len);
static int infer_v2_on_start_map(void *ctx);
static int infer_v2_on_map_key(void *ctx, const unsigned char *key,
    size_t len);
static int infer_v2_on_end_map(void *ctx);
static int infer_v2_on_start_array(void *ctx);
static int infer_v2_on_end_array(void *ctx);

static yajl_gen infer_v2_gen_open(infer_buf_t *out);
static int infer_v2_gen_close(yajl_gen g, infer_buf_t *out);
static void infer_v2_print(void *ctx, const char *s, size_t len);
static void infer_v2_gen_key(yajl_gen g, const char *key);
static void infer_v2_gen_str(yajl_gen g, const char *s, size_t len);
static void infer_v2_gen_shape(yajl_gen g, long long first,
    const infer_tensor_t *t);
static void infer_v2_gen_data(yajl_gen g, const infer_v2_response_t *resp,
    const infer_tensor_t *t);
static void infer_v2_gen_binary_size(yajl_gen g, size_t size);
static int infer_v2_sends(const infer_v2_response_t *resp, size_t o);
static void infer_v2_tensors(const infer_v2_model_t *m, infer_tensor_t *def,
    const infer_tensor_t **input, const infer_tensor_t **outputs,
    size_t *n);
static void infer_v2_gen_tensor_meta(yajl_gen g, const infer_tensor_t *t);


static const char  *infer_v2_type_names[] = {
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
    "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"
};


/* bytes of an element in binary data; BOOL is one byte, 0 or 1 */
static const unsigned char  infer_v2_type_sizes[] = {
    1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0
};


static const yajl_callbacks  infer_v2_callbacks = {
    infer_v2_on_null,
    infer_v2_on_boolean,
    NULL,                             /* integers come as numbers, */
    NULL,                             /* and so do doubles */
    infer_v2_on_number,
    infer_v2_on_string,
    infer_v2_on_start_map,
    infer_v2_on_map_key,
    infer_v2_on_end_map,
    infer_v2_on_start_array,
    infer_v2_on_end_array
};


const char *
infer_v2_route_template(const infer_v2_route_t *rt)
{
    switch (rt->endpoint) {

    case INFER_V2_SERVER_METADATA:
        return "/v2";

    case INFER_V2_SERVER_LIVE:
        return "/v2/health/live";

    case INFER_V2_SERVER_READY:
        return "/v2/health/ready";

    case INFER_V2_MODEL_METADATA:
        return rt->version ? "/v2/models/{model}/versions/{version}"
                           : "/v2/models/{model}";

    case INFER_V2_MODEL_READY:
        return rt->version ? "/v2/models/{model}/versions/{version}/ready"
                           : "/v2/models/{model}/ready";

    case INFER_V2_MODEL_INFER:
        return rt->version ? "/v2/models/{model}/versions/{version}/infer"
                           : "/v2/models/{model}/infer";

    default:
        return "/v2/{unknown}";
    }
}


int
infer_v2_route(const char *uri, size_t len, infer_v2_route_t *rt)
{
    char         quoted[80];
    size_t       n, i, seglen[INFER_V2_MAX_SEGS];
    const char  *p, *end, *seg[INFER_V2_MAX_SEGS];

    memset(rt, 0, sizeof(infer_v2_route_t));

    if (len < 3 || memcmp(uri, "/v2", 3) != 0) {
        goto not_found;
    }

    if (len == 3 || (len == 4 && uri[3] == '/')) {
        rt->endpoint = INFER_V2_SERVER_METADATA;
        return INFER_OK;
    }

    if (uri[3] != '/') {
        goto not_found;
    }

    /* the segments after "/v2/"; an empty one matches nothing */

    p = uri + 4;
    end = uri + len;

    for (n = 0; /* void */; n++) {
        if (n == INFER_V2_MAX_SEGS) {
            goto not_found;
        }

        seg[n] = p;

        while (p < end && *p != '/') {
            p++;
        }

        seglen[n] = p - seg[n];

        if (seglen[n] == 0) {
            goto not_found;
        }

        if (p == end) {
            n++;
            break;
        }

        p++;
    }

#define INFER_V2_SEG(i, s)                                                   \
    (seglen[i] == sizeof(s) - 1 && memcmp(seg[i], s, sizeof(s) - 1) == 0)

    if (n == 2 && INFER_V2_SEG(0, "health")) {
        if (INFER_V2_SEG(1, "live")) {
            rt->endpoint = INFER_V2_SERVER_LIVE;
            return INFER_OK;
        }

        if (INFER_V2_SEG(1, "ready")) {
            rt->endpoint = INFER_V2_SERVER_READY;
            return INFER_OK;
        }

        goto not_found;
    }

    if (n < 2 || !INFER_V2_SEG(0, "models")) {
        goto not_found;
    }

    i = 2;                            /* the segment after the name */

    if (n >= 4 && INFER_V2_SEG(2, "versions")) {
        rt->version = seg[3];
        rt->version_len = seglen[3];
        i = 4;
    }

    if (n == i) {
        rt->endpoint = INFER_V2_MODEL_METADATA;

    } else if (n == i + 1 && INFER_V2_SEG(i, "ready")) {
        rt->endpoint = INFER_V2_MODEL_READY;

    } else if (n == i + 1 && INFER_V2_SEG(i, "infer")) {
        rt->endpoint = INFER_V2_MODEL_INFER;

    } else {
        goto not_found;
    }

#undef INFER_V2_SEG

    rt->model = seg[1];
    rt->model_len = seglen[1];

    if (!infer_v2_segment_ok(rt->model, rt->model_len)) {
        infer_v2_quote(quoted, sizeof(quoted), rt->model, rt->model_len);
        snprintf(rt->err, sizeof(rt->err), "unknown model \"%s\": a model "
                 "name has only A-Z a-z 0-9 . _ -", quoted);
        return INFER_ENOTFOUND;
    }

    if (rt->version != NULL
        && !infer_v2_segment_ok(rt->version, rt->version_len))
    {
        infer_v2_quote(quoted, sizeof(quoted), rt->version,
                       rt->version_len);
        snprintf(rt->err, sizeof(rt->err), "unknown version \"%s\": a "
                 "version has only A-Z a-z 0-9 . _ -", quoted);
        return INFER_ENOTFOUND;
    }

    return INFER_OK;

not_found:

    infer_v2_quote(quoted, sizeof(quoted), uri, len);
    memset(rt, 0, sizeof(infer_v2_route_t));
    snprintf(rt->err, sizeof(rt->err), "no V2 endpoint at \"%s\"", quoted);

    return INFER_ENOTFOUND;
}


static int
infer_v2_segment_ok(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
            || (s[i] >= '0' && s[i] <= '9')
            || s[i] == '.' || s[i] == '_' || s[i] == '-')
        {
            continue;
        }

        return 0;
    }

    return 1;
}


/* at most 64 bytes of s for a message: printable ASCII, others as '?' */

static void
infer_v2_quote(char *buf, size_t size, const char *s, size_t len)
{
    size_t  i, n;

    n = len > 64 ? 64 : len;

    for (i = 0; i < n && i + 4 < size; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }

    if (n < len && i + 4 <= size) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }

    buf[i] = '\0';
}


int
infer_v2_find_model(const infer_v2_route_t *rt,
    const infer_v2_model_t *models, size_t n, size_t *found, char *err,
    size_t errlen)
{
    char                     name[80], version[80];
    size_t                   i;
    const infer_v2_model_t  *m;

    infer_v2_quote(name, sizeof(name), rt->model, rt->model_len);

    for (i = 0; i < n; i++) {
        m = &models[i];

        if (m->name_len != rt->model_len
            || memcmp(m->name, rt->model, rt->model_len) != 0)
        {
            continue;
        }

        if (rt->version != NULL
            && (m->version_len != rt->version_len
                || memcmp(m->version, rt->version, rt->version_len) != 0))
        {
            infer_v2_quote(version, sizeof(version), rt->version,
                           rt->version_len);
            snprintf(err, errlen, "model \"%s\" has no version \"%s\"",
                     name, version);
            return INFER_ENOTFOUND;
        }

        *found = i;
        return INFER_OK;
    }

    snprintf(err, errlen, "unknown model \"%s\"", name);

    return INFER_ENOTFOUND;
}


infer_v2_parser_t *
infer_v2_parser_create(const infer_request_opts_t *opts,
    const infer_tensor_t *outputs, size_t noutputs,
    const infer_alloc_t *alloc)
{
    size_t              i;
    infer_v2_parser_t  *p;

    if (opts->nfeatures == 0 || opts->max_rows == 0
        || opts->ndims >= INFER_V2_MAX_DIMS || noutputs > INFER_V2_MAX_OUTPUTS)
    {
        return NULL;
    }

    p = infer_alloc(alloc, sizeof(infer_v2_parser_t));
    if (p == NULL) {
        return NULL;
    }

    memset(p, 0, sizeof(infer_v2_parser_t));

    p->alloc = alloc;
    p->opts = *opts;
    p->state = INFER_V2_ST_START;
    p->outputs = outputs;
    p->nmodel_outputs = outputs ? noutputs : 1;

    infer_utf8_json_init(&p->utf8);

    /* a row's shape: [nfeatures] unless the model nests its rows */

    if (opts->ndims > 1) {
        p->row_ndims = opts->ndims;

        for (i = 0; i < opts->ndims; i++) {
            p->row_dims[i] = opts->dims[i];
        }

    } else {
        p->row_ndims = 1;
        p->row_dims[0] = opts->nfeatures;
    }

    if (opts->max_rows > SIZE_MAX / 8 / opts->nfeatures) {
        p->limit = SIZE_MAX / 8;      /* more than any allocation */

    } else {
        p->limit = opts->max_rows * opts->nfeatures;
    }

    if (infer_json_stream_init(&p->js, &infer_v2_callbacks, p, alloc)
        != INFER_OK)
    {
        infer_free(alloc, p);
        return NULL;
    }

    return p;
}


/*
 * The body's length comes from the glue, which has it, rather than from
 * the bytes fed: a request whose sizes disagree is refused at the end of
 * its JSON, before a byte of tensor data is converted.
 */

int
infer_v2_parser_binary(infer_v2_parser_t *p, const char *value, size_t len,
    uint64_t body_len)
{
    char         quoted[80];
    uint64_t     n;
    const char  *end;

    p->binary = 1;
    p->body_len = body_len;

    end = infer_parse_uint64(value, value + len, &n);

    if (end != value + len || n == 0) {
        infer_v2_quote(quoted, sizeof(quoted), value, len);
        infer_json_stream_fail(&p->js, INFER_EINVAL, INFER_V2_HEADER_LENGTH
                               " must be the length of the body's JSON in "
                               "bytes, not \"%s\"", quoted);
        return p->js.rc;
    }

    if (n > body_len) {
        infer_json_stream_fail(&p->js, INFER_EINVAL, INFER_V2_HEADER_LENGTH
                               " is %llu, more than the body's %llu bytes",
                               (unsigned long long) n,
                               (unsigned long long) body_len);
        return p->js.rc;
    }

    p->header_len = n;

    return INFER_OK;
}


/* with the header, the chunk's JSON goes to yajl, the rest is tensor data */

int
infer_v2_parse(infer_v2_parser_t *p, const unsigned char *data, size_t len)
{
    size_t  n;

    if (!p->binary) {
        return infer_v2_feed(p, data, len);
    }

    if (p->js.rc != INFER_OK) {
        return p->js.rc;
    }

    if (len > p->body_len - p->received) {
        infer_json_stream_fail(&p->js, INFER_EINVAL, "the body is longer "
                               "than the %llu bytes it announced",
                               (unsigned long long) p->body_len);
        return p->js.rc;
    }

    if (p->received < p->header_len) {
        n = len;

        if (n > p->header_len - p->received) {
            n = (size_t) (p->header_len - p->received);
        }

        p->received += n;

        if (infer_v2_feed(p, data, n) != INFER_OK) {
            return infer_v2_header_failed(p);
        }

        if (p->received == p->header_len && infer_v2_end_header(p) != INFER_OK)
        {
            return p->js.rc;
        }

        data += n;
        len -= n;
    }

    if (len == 0) {
        return INFER_OK;
    }

    p->received += len;

    return infer_v2_binary(p, data, len);
}


int
infer_v2_finish(infer_v2_parser_t *p, infer_v2_request_t *req)
{
    if (p->binary) {
        if (infer_v2_end_body(p) != INFER_OK) {
            return p->js.rc;
        }

    } else if (infer_json_stream_end(&p->js) != INFER_OK
               || infer_v2_check_request(p) != INFER_OK)
    {
        return p->js.rc;
    }

    req->x = p->x;
    req->rows = p->rows;
    req->id = p->seen_id ? p->id : NULL;
    req->id_len = p->id_len;
    req->outputs = p->wanted;
    req->binary = infer_v2_binary_outputs(p);

    return INFER_OK;
}


/*
 * yajl checks only the shape of a string's UTF-8, and decodes a lone
 * surrogate's \u escape to one: the strings are checked again, so that
 * none the module echoes or logs (the id) is invalid.  Before yajl sees
 * them, which is before a callback acts on them; yajl then has the bytes
 * before a bad one, so that an earlier error is still the one reported,
 * whatever the chunks.
 */

static int
infer_v2_feed(infer_v2_parser_t *p, const unsigned char *data, size_t len)
{
    uint64_t  start;

    if (p->js.rc != INFER_OK) {
        return p->js.rc;
    }

    start = p->utf8.at;

    if (infer_utf8_json(&p->utf8, data, len) == INFER_UTF8_OK) {
        return infer_json_stream_feed(&p->js, data, len);
    }

    if (p->utf8.bad > start
        && infer_json_stream_feed(&p->js, data, p->utf8.bad - start)
           != INFER_OK)
    {
        return p->js.rc;
    }

    if (p->utf8.rc == INFER_UTF8_SURROGATE) {
        infer_json_stream_fail(&p->js, INFER_EJSON, "malformed JSON at byte "
                               "%llu: \\u%04x is a lone UTF-16 surrogate",
                               (unsigned long long) p->utf8.bad,
                               (unsigned) p->utf8.cp);

    } else {
        infer_json_stream_fail(&p->js, INFER_EJSON, "malformed JSON at byte "
                               "%llu: invalid UTF-8 in a string",
                               (unsigned long long) p->utf8.bad);
    }

    return p->js.rc;
}


static int
infer_v2_check_request(infer_v2_parser_t *p)
{
    if (!p->seen_inputs) {
        infer_json_stream_fail(&p->js, INFER_EINVAL, "missing \"inputs\"");
        return p->js.rc;
    }

    if (p->ntensors == 0) {
        infer_json_stream_fail(&p->js, INFER_ESHAPE, "\"inputs\" is empty, "
                               "the model takes 1 tensor");
        return p->js.rc;
    }

    return INFER_OK;
}


/* yajl's message, and the header that said where the JSON ends */

static int
infer_v2_header_failed(infer_v2_parser_t *p)
{
    char  err[INFER_ERRLEN];

    if (p->js.rc == INFER_EJSON) {
        memcpy(err, p->js.err, sizeof(err));
        infer_json_stream_fail(&p->js, INFER_EJSON,
                               "%s (" INFER_V2_HEADER_LENGTH ": %llu)", err,
                               (unsigned long long) p->header_len);
    }

    return p->js.rc;
}


/* the JSON has ended: the bytes after it must be the binary input's */

static int
infer_v2_end_header(infer_v2_parser_t *p)
{
    uint64_t  rest;

    if (infer_json_stream_end(&p->js) != INFER_OK) {
        return infer_v2_header_failed(p);
    }

    if (infer_v2_check_request(p) != INFER_OK) {
        return p->js.rc;
    }

    rest = p->body_len - p->header_len;

    if (rest == p->bin_want) {
        return INFER_OK;
    }

    if (p->bin_want == 0) {
        infer_json_stream_fail(&p->js, INFER_EINVAL, "the body has %llu bytes "
                               "after its JSON (" INFER_V2_HEADER_LENGTH
                               ": %llu), no input has binary_data_size",
                               (unsigned long long) rest,
                               (unsigned long long) p->header_len);

    } else {
        infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[0]: "
                               "binary_data_size is %llu, the body has %llu "
                               "bytes after its JSON ("
                               INFER_V2_HEADER_LENGTH ": %llu)",
                               (unsigned long long) p->bin_want,
                               (unsigned long long) rest,
                               (unsigned long long) p->header_len);
    }

    return p->js.rc;
}


/* only a caller whose body_len was wrong gets here with bytes missing */

static int
infer_v2_end_body(infer_v2_parser_t *p)
{
    if (p->js.rc == INFER_OK && p->received != p->body_len) {
        infer_json_stream_fail(&p->js, INFER_EINVAL, "the body ended after "
                               "%llu of the %llu bytes it announced",
                               (unsigned long long) p->received,
                               (unsigned long long) p->body_len);
    }

    return p->js.rc;
}


/* an output's own binary_data, else the request's binary_data_output */

static uint64_t
infer_v2_binary_outputs(infer_v2_parser_t *p)
{
    uint64_t  all, binary;

    all = (p->nmodel_outputs == 64) ? UINT64_MAX
                                    : ((uint64_t) 1 << p->nmodel_outputs) - 1;

    binary = p->bin_true;

    if (p->binary_output) {
        binary |= all & ~p->bin_false;
    }

    if (p->wanted) {
        binary &= p->wanted;
    }

    return binary;
}


/* tensor bytes: whole elements converted, one cut by the chunk kept */

static int
infer_v2_binary(infer_v2_parser_t *p, const unsigned char *data, size_t len)
{
    size_t  size, n;

    size = infer_v2_type_sizes[p->datatype];

    if (p->npart) {
        n = size - p->npart;

        if (n > len) {
            n = len;
        }

        memcpy(p->part + p->npart, data, n);
        p->npart += n;
        data += n;
        len -= n;

        if (p->npart < size) {
            return INFER_OK;
        }

        p->npart = 0;

        if (infer_v2_convert(p, p->part, 1) != INFER_OK) {
            return p->js.rc;
        }
    }

    n = len / size;

    if (n && infer_v2_convert(p, data, n) != INFER_OK) {
        return p->js.rc;
    }

    p->npart = len - n * size;
    memcpy(p->part, data + n * size, p->npart);

    return INFER_OK;
}


/*
 * n elements, little-endian, to floats as their JSON values would be: an
 * integer rounded once, to the nearest float; FP64 rounded from the
 * double; FP16 exactly.
 */

static int
infer_v2_convert(infer_v2_parser_t *p, const unsigned char *b, size_t n)
{
    char       what[64];
    size_t     i;
    float     *x;
    double     d;
    uint32_t   u;
    uint64_t   v;

    x = p->x + p->bin_next;

    switch (p->datatype) {

    case INFER_V2_BOOL:
        for (i = 0; i < n; i++) {
            if (b[i] > 1) {
                snprintf(what, sizeof(what), "expected BOOL (0 or 1), "
                         "got %u", (unsigned) b[i]);
                return infer_v2_binary_fail(p, INFER_EINVAL, i, what);
            }

            x[i] = b[i];
        }

        break;

    case INFER_V2_UINT8:
        for (i = 0; i < n; i++) {
            x[i] = b[i];
        }

        break;

    case INFER_V2_INT8:
        for (i = 0; i < n; i++) {
            x[i] = (int8_t) b[i];
        }

        break;

    case INFER_V2_UINT16:
        for (i = 0; i < n; i++) {
            x[i] = infer_v2_le16(b + 2 * i);
        }

        break;

    case INFER_V2_INT16:
        for (i = 0; i < n; i++) {
            x[i] = (int16_t) infer_v2_le16(b + 2 * i);
        }

        break;

    case INFER_V2_UINT32:
        for (i = 0; i < n; i++) {
            x[i] = (float) infer_v2_le32(b + 4 * i);
        }

        break;

    case INFER_V2_INT32:
        for (i = 0; i < n; i++) {
            x[i] = (float) (int32_t) infer_v2_le32(b + 4 * i);
        }

        break;

    case INFER_V2_UINT64:
        for (i = 0; i < n; i++) {
            x[i] = (float) infer_v2_le64(b + 8 * i);
        }

        break;

    case INFER_V2_INT64:
        for (i = 0; i < n; i++) {
            x[i] = (float) (int64_t) infer_v2_le64(b + 8 * i);
        }

        break;

    case INFER_V2_FP16:
        for (i = 0; i < n; i++) {
            x[i] = infer_v2_half(infer_v2_le16(b + 2 * i));
        }

        break;

    case INFER_V2_FP32:
        for (i = 0; i < n; i++) {
            u = infer_v2_le32(b + 4 * i);
            memcpy(&x[i], &u, sizeof(float));
        }

        break;

    default:                          /* INFER_V2_FP64 */
        for (i = 0; i < n; i++) {
            v = infer_v2_le64(b + 8 * i);
            memcpy(&d, &v, sizeof(double));
            x[i] = (float) d;
        }

        break;
    }

    if (p->datatype >= INFER_V2_FP16
        && infer_v2_check_floats(p, b, n) != INFER_OK)
    {
        return p->js.rc;
    }

    p->bin_next += n;

    return INFER_OK;
}


/* NaN is a missing value, as JSON's null; infinity no float at all */

static int
infer_v2_check_floats(infer_v2_parser_t *p, const unsigned char *b,
    size_t n)
{
    char      what[64];
    size_t    i;
    float    *x;
    double    d;
    uint64_t  v;

    x = p->x + p->bin_next;

    for (i = 0; i < n; i++) {
        if (isfinite(x[i])) {
            continue;
        }

        if (isnan(x[i])) {
            if (!p->opts.missing_ok) {
                return infer_v2_binary_fail(p, INFER_EINVAL, i, "NaN, but "
                                            "the model takes no missing "
                                            "values");
            }

            x[i] = NAN;
            continue;
        }

        d = x[i];

        if (p->datatype == INFER_V2_FP64) {
            v = infer_v2_le64(b + 8 * i);
            memcpy(&d, &v, sizeof(double));
        }

        snprintf(what, sizeof(what), "%g is not a finite 32-bit float", d);

        return infer_v2_binary_fail(p, INFER_ERANGE, i, what);
    }

    return INFER_OK;
}


static int
infer_v2_binary_fail(infer_v2_parser_t *p, int rc, size_t i,
    const char *what)
{
    infer_json_stream_fail(&p->js, rc, "inputs[%zu], binary element %zu: %s",
                           p->ntensors - 1, p->bin_next + i, what);

    return p->js.rc;
}


static uint16_t
infer_v2_le16(const unsigned char *b)
{
    return (uint16_t) (b[0] | b[1] << 8);
}


static uint32_t
infer_v2_le32(const unsigned char *b)
{
    return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16
           | (uint32_t) b[3] << 24;
}


static uint64_t
infer_v2_le64(const unsigned char *b)
{
    return (uint64_t) infer_v2_le32(b) | (uint64_t) infer_v2_le32(b + 4) << 32;
}


/* IEEE 754 half precision, exactly: every half is a float */

static float
infer_v2_half(uint16_t h)
{
    int       e;
    float     f;
    unsigned  m;

    e = (h >> 10) & 0x1f;
    m = h & 0x3ff;

    if (e == 0) {
        f = ldexpf((float) m, -24);           /* zero and subnormals */

    } else if (e == 0x1f) {
        f = m ? NAN : INFINITY;

    } else {
        f = ldexpf((float) (m | 0x400), e - 25);
    }

    return (h & 0x8000) ? -f : f;
}


const char *
infer_v2_error(const infer_v2_parser_t *p)
{
    return p->js.err;
}


void
infer_v2_parser_free(infer_v2_parser_t *p)
{
    if (p == NULL) {
        return;
    }

    infer_json_stream_free(&p->js);
    infer_free(p->alloc, p->x);
    infer_free(p->alloc, p->kind);
    infer_free(p->alloc, p);
}



/* what the parser met where the protocol wants something else */

static int
infer_v2_unexpected(infer_v2_parser_t *p, const char *what)
{
    char    where[96];
    size_t  t, o;

    t = p->ntensors - 1;
    o = p->noutputs - 1;

    switch (p->state) {

    case INFER_V2_ST_START:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "the request must "
                                      "be a JSON object, not %s", what);

    case INFER_V2_ST_ID:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "\"id\" must be a "
                                      "string, not %s", what);

    case INFER_V2_ST_INPUTS:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "\"inputs\" must "
                                      "be an array of tensors, not %s", what);

    case INFER_V2_ST_TENSORS:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu] must "
                                      "be an object, not %s", p->ntensors,
                                      what);

    case INFER_V2_ST_NAME:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu].name "
                                      "must be a string, not %s", t, what);

    case INFER_V2_ST_DATATYPE:
        return infer_json_stream_fail(&p->js, INFER_EINVAL,
                                      "inputs[%zu].datatype must be a "
                                      "string, not %s", t, what);

    case INFER_V2_ST_SHAPE:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu].shape "
                                      "must be an array, not %s", t, what);

    case INFER_V2_ST_DIMS:
        return infer_json_stream_fail(&p->js, INFER_EINVAL,
                                      "inputs[%zu].shape[%zu] must be a "
                                      "non-negative integer, not %s", t,
                                      p->ndims, what);

    case INFER_V2_ST_DATA:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu].data "
                                      "must be an array, not %s", t, what);

    case INFER_V2_ST_VALUES:
        infer_v2_where(p, where, sizeof(where), p->depth, 1);
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: expected a "
                                      "number, got %s", where, what);

    case INFER_V2_ST_OUTPUTS:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "\"outputs\" must "
                                      "be an array of objects, not %s", what);

    case INFER_V2_ST_OUTPUT_LIST:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "outputs[%zu] must "
                                      "be an object, not %s", p->noutputs,
                                      what);

    case INFER_V2_ST_BINARY_SIZE:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]."
                                      "parameters.binary_data_size must be "
                                      "a non-negative integer, not %s", t,
                                      what);

    case INFER_V2_ST_BINARY_DATA:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "outputs[%zu]."
                                      "parameters.binary_data must be a "
                                      "boolean, not %s", o, what);

    case INFER_V2_ST_BINARY_OUTPUT:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "parameters."
                                      "binary_data_output must be a "
                                      "boolean, not %s", what);

    default:                          /* INFER_V2_ST_OUTPUT_NAME */
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "outputs[%zu].name "
                                      "must be a string, not %s", o, what);
    }
}


#define INFER_V2_KEY(key, len, s)                                            \
    ((len) == sizeof(s) - 1 && memcmp(key, s, sizeof(s) - 1) == 0)


static int
infer_v2_key(infer_v2_parser_t *p, const unsigned char *key, size_t len)
{
    if (INFER_V2_KEY(key, len, "id")) {
        if (p->seen_id) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "duplicate "
                                          "\"id\"");
        }

        p->seen_id = 1;
        p->state = INFER_V2_ST_ID;
        return 1;
    }

    if (INFER_V2_KEY(key, len, "inputs")) {
        if (p->seen_inputs) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "duplicate "
                                          "\"inputs\"");
        }

        p->seen_inputs = 1;
        p->state = INFER_V2_ST_INPUTS;
        return 1;
    }

    if (INFER_V2_KEY(key, len, "outputs")) {
        if (p->seen_outputs) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "duplicate "
                                          "\"outputs\"");
        }

        p->seen_outputs = 1;
        p->state = INFER_V2_ST_OUTPUTS;
        return 1;
    }

    /* "parameters", and members the protocol does not define */

    return infer_v2_skip(p, INFER_V2_ST_TOP,
                         INFER_V2_KEY(key, len, "parameters"));
}


/*
 * The value of a key passed over.  A "parameters" object is read for the
 * binary extension's; any other "parameters" value is skipped, as it was
 * before the extension.
 */

static int
infer_v2_skip(infer_v2_parser_t *p, infer_v2_state_e back, int params)
{
    p->state = INFER_V2_ST_SKIP;
    p->skip_to = back;
    p->skip_depth = 0;
    p->skip_params = params;

    if (params) {
        p->params_of = back;
    }

    return 1;
}


static int
infer_v2_param_key(infer_v2_parser_t *p, const unsigned char *key,
    size_t len)
{
    if (p->params_of == INFER_V2_ST_TENSOR
        && INFER_V2_KEY(key, len, "binary_data_size"))
    {
        if (p->has_binary_size) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]:"
                                          " duplicate \"binary_data_size\"",
                                          p->ntensors - 1);
        }

        p->has_binary_size = 1;
        p->state = INFER_V2_ST_BINARY_SIZE;
        return 1;
    }

    if (p->params_of == INFER_V2_ST_OUTPUT
        && INFER_V2_KEY(key, len, "binary_data"))
    {
        p->state = INFER_V2_ST_BINARY_DATA;
        return 1;
    }

    if (p->params_of == INFER_V2_ST_TOP
        && INFER_V2_KEY(key, len, "binary_data_output"))
    {
        p->state = INFER_V2_ST_BINARY_OUTPUT;
        return 1;
    }

    return infer_v2_skip(p, INFER_V2_ST_PARAMS, 0);
}


static int
infer_v2_tensor_key(infer_v2_parser_t *p, const unsigned char *key,
    size_t len)
{
    size_t  t;

    t = p->ntensors - 1;

#define INFER_V2_MEMBER(s, flag, st)                                         \
    if (INFER_V2_KEY(key, len, s)) {                                         \
        if (p->flag) {                                                       \
            return infer_json_stream_fail(&p->js, INFER_EINVAL,              \
                                          "inputs[%zu]: duplicate \"" s      \
                                          "\"", t);                          \
        }                                                                    \
                                                                             \
        p->flag = 1;                                                         \
        p->state = st;                                                       \
        return 1;                                                            \
    }

    INFER_V2_MEMBER("name", has_name, INFER_V2_ST_NAME)
    INFER_V2_MEMBER("shape", has_shape, INFER_V2_ST_SHAPE)
    INFER_V2_MEMBER("datatype", has_datatype, INFER_V2_ST_DATATYPE)
    INFER_V2_MEMBER("data", has_data, INFER_V2_ST_DATA)

#undef INFER_V2_MEMBER

    return infer_v2_skip(p, INFER_V2_ST_TENSOR,
                         INFER_V2_KEY(key, len, "parameters"));
}


static int
infer_v2_begin_tensor(infer_v2_parser_t *p)
{
    if (p->ntensors == 1) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[1]: the "
                                      "model takes 1 tensor");
    }

    p->ntensors++;
    p->state = INFER_V2_ST_TENSOR;

    return 1;
}


static int
infer_v2_end_tensor(infer_v2_parser_t *p)
{
    char    shape[96], nested[96];
    size_t  t, nd;

    t = p->ntensors - 1;

    if (!p->has_name) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "missing \"name\"", t);
    }

    if (!p->has_shape) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "missing \"shape\"", t);
    }

    if (!p->has_datatype) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "missing \"datatype\"", t);
    }

    if (p->has_binary_size) {
        return infer_v2_end_binary_tensor(p);
    }

    if (!p->has_data) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "missing \"data\"", t);
    }

    /* the shape was checked against the model when it ended */

    infer_v2_format_dims(shape, sizeof(shape), p->dims, p->ndims);

    nd = p->leaf_depth ? p->leaf_depth : p->max_depth;

    if (nd <= 1) {
        if (p->nvalues != p->total) {
            return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: "
                                          "shape %s has %zu elements, data has "
                                          "%zu", t, shape, p->total,
                                          p->nvalues);
        }

    } else if (nd != p->ndims
               || memcmp(p->nested, p->dims, nd * sizeof(uint64_t)) != 0)
    {
        infer_v2_format_dims(nested, sizeof(nested), p->nested, nd);
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: "
                                      "shape %s, data is nested as %s", t,
                                      shape, nested);
    }

    if (infer_v2_check_types(p) == 0) {
        return 0;
    }

    p->state = INFER_V2_ST_TENSORS;

    return 1;
}


/* an input whose bytes follow the JSON: their number, and room for them */

static int
infer_v2_end_binary_tensor(infer_v2_parser_t *p)
{
    char      shape[96];
    size_t    t;
    uint64_t  want;

    t = p->ntensors - 1;

    if (p->has_data) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "\"data\" and binary_data_size, give "
                                      "one", t);
    }

    if (!p->binary) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "binary_data_size without an "
                                      INFER_V2_HEADER_LENGTH " header", t);
    }

    /* total is at most max_rows x nfeatures: no overflow, even x 8 */

    want = (uint64_t) p->total * infer_v2_type_sizes[p->datatype];

    if (p->binary_size != want) {
        infer_v2_format_dims(shape, sizeof(shape), p->dims, p->ndims);
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "binary_data_size is %llu, shape %s "
                                      "of %s takes %llu bytes", t,
                                      (unsigned long long) p->binary_size,
                                      shape,
                                      infer_v2_type_names[p->datatype],
                                      (unsigned long long) want);
    }

    p->x = infer_alloc(p->alloc, p->total * sizeof(float));
    if (p->x == NULL) {
        return infer_json_stream_fail(&p->js, INFER_ERROR, "out of memory");
    }

    p->cap = p->total;
    p->bin_want = want;
    p->state = INFER_V2_ST_TENSORS;

    return 1;
}


static int
infer_v2_check_types(infer_v2_parser_t *p)
{
    char         where[96], num[32];
    size_t       i;
    uint16_t     k, bit;
    const char  *type;

    bit = INFER_V2_TYPE(p->datatype);
    type = infer_v2_type_names[p->datatype];

    for (i = 0; i < p->nvalues; i++) {
        k = p->kind[i];

        if (k & bit) {
            continue;
        }

        infer_v2_where_index(p, where, sizeof(where), i);

        if (k & INFER_V2_IS_STRING) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: expected "
                                          "%s, got a string", where, type);
        }

        if (k & INFER_V2_IS_BOOL) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: expected "
                                          "%s, got a boolean", where, type);
        }

        infer_json_format_float(num, sizeof(num), p->x[i]);

        if (p->datatype == INFER_V2_BOOL) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: expected "
                                          "BOOL (true or false), got %s",
                                          where, num);
        }

        if (p->datatype == INFER_V2_FP16
            || (k & INFER_V2_INTEGRAL))
        {
            return infer_json_stream_fail(&p->js, INFER_ERANGE, "%s: %s is out "
                                          "of range for %s", where, num, type);
        }

        return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: expected %s, "
                                      "got %s", where, type, num);
    }

    return 1;
}


static int
infer_v2_dim(infer_v2_parser_t *p, const char *s)
{
    uint64_t  d;

    if (p->ndims == INFER_V2_MAX_DIMS) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu].shape "
                                      "has more than %d dimensions",
                                      p->ntensors - 1, INFER_V2_MAX_DIMS);
    }

    errno = 0;
    d = strtoull(s, NULL, 10);

    if (s[0] == '-' || strpbrk(s, ".eE") != NULL || errno != 0) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL,
                                      "inputs[%zu].shape[%zu] must be a "
                                      "non-negative integer, not %.32s",
                                      p->ntensors - 1, p->ndims, s);
    }

    p->dims[p->ndims++] = d;

    return 1;
}


static int
infer_v2_binary_size(infer_v2_parser_t *p, const char *s)
{
    uint64_t  n;

    errno = 0;
    n = strtoull(s, NULL, 10);

    if (s[0] == '-' || strpbrk(s, ".eE") != NULL || errno != 0) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]."
                                      "parameters.binary_data_size must be "
                                      "a non-negative integer, not %.32s",
                                      p->ntensors - 1, s);
    }

    p->binary_size = n;
    p->state = INFER_V2_ST_PARAMS;

    return 1;
}


static int
infer_v2_check_shape(infer_v2_parser_t *p)
{
    char      shape[96];
    size_t    t, nf;
    uint64_t  rows;

    t = p->ntensors - 1;
    nf = p->opts.nfeatures;

    infer_v2_format_dims(shape, sizeof(shape), p->dims, p->ndims);

    if (p->row_ndims > 1) {
        return infer_v2_check_nested_shape(p);
    }

    if (p->ndims == 0 || p->ndims > 2) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: "
                                      "shape %s has %zu dimensions, the model "
                                      "takes [-1,%zu] or [%zu]", t, shape,
                                      p->ndims, nf, nf);
    }

    if (p->dims[p->ndims - 1] != nf) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: the "
                                      "model takes %zu features, shape says "
                                      "%llu", t, nf, (unsigned long long)
                                      p->dims[p->ndims - 1]);
    }

    rows = (p->ndims == 2) ? p->dims[0] : 1;

    return infer_v2_set_rows(p, rows, shape);
}


/* a nested row's model: the shape is a row's, or rows of them */

static int
infer_v2_check_nested_shape(infer_v2_parser_t *p)
{
    int       len;
    char      shape[96], row[96];
    size_t    t, i, off, at;
    uint64_t  rows;

    t = p->ntensors - 1;
    infer_v2_format_dims(shape, sizeof(shape), p->dims, p->ndims);

    off = p->ndims - p->row_ndims;

    if (p->ndims == p->row_ndims || p->ndims == p->row_ndims + 1) {
        for (i = 0; i < p->row_ndims; i++) {
            if (p->dims[off + i] != p->row_dims[i]) {
                break;
            }
        }

        if (i == p->row_ndims) {
            rows = off ? p->dims[0] : 1;
            return infer_v2_set_rows(p, rows, shape);
        }
    }

    /* [-1,3,224,224] */

    at = (size_t) snprintf(row, sizeof(row), "[-1");

    for (i = 0; i < p->row_ndims && at < sizeof(row); i++) {
        len = snprintf(row + at, sizeof(row) - at, ",%zu", p->row_dims[i]);
        at += (len > 0) ? (size_t) len : 0;
    }

    if (at < sizeof(row)) {
        snprintf(row + at, sizeof(row) - at, "]");
    }

    return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: shape %s "
                                  "does not match the model's %s", t, shape,
                                  row);
}


static int
infer_v2_set_rows(infer_v2_parser_t *p, uint64_t rows, const char *shape)
{
    size_t  t, nf;

    t = p->ntensors - 1;
    nf = p->opts.nfeatures;

    if (rows == 0) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: "
                                      "shape %s has no rows", t, shape);
    }

    if (rows > p->opts.max_rows || rows > p->limit / nf) {
        return infer_json_stream_fail(&p->js, INFER_ETOOBIG, "inputs[%zu]: "
                                      "shape %s has %llu rows, the limit is "
                                      "%zu", t, shape,
                                      (unsigned long long) rows,
                                      p->opts.max_rows);
    }

    p->rows = rows;
    p->total = rows * nf;

    return 1;
}


static int
infer_v2_datatype(infer_v2_parser_t *p, const unsigned char *s, size_t len)
{
    int   t;
    char  quoted[80];

    for (t = 0; t < INFER_V2_NTYPES; t++) {
        if (strlen(infer_v2_type_names[t]) == len
            && memcmp(infer_v2_type_names[t], s, len) == 0)
        {
            break;
        }
    }

    if (t == INFER_V2_BYTES) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "inputs[%zu]: "
                                      "datatype BYTES is not supported, the "
                                      "model takes numbers", p->ntensors - 1);
    }

    if (t == INFER_V2_NTYPES) {
        infer_v2_quote(quoted, sizeof(quoted), (const char *) s, len);
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: "
                                      "unknown datatype \"%s\"",
                                      p->ntensors - 1, quoted);
    }

    p->datatype = t;
    p->state = INFER_V2_ST_TENSOR;

    return 1;
}


static int
infer_v2_output_name(infer_v2_parser_t *p, const unsigned char *s,
    size_t len)
{
    char         quoted[80], names[160];
    size_t       i, at;
    const char  *name;

    for (i = 0; i < p->nmodel_outputs; i++) {
        name = p->outputs ? p->outputs[i].name : "output-0";

        if (strlen(name) == len && memcmp(s, name, len) == 0) {
            p->wanted |= (uint64_t) 1 << i;
            p->cur_output = i;
            p->state = INFER_V2_ST_OUTPUT;
            return 1;
        }
    }

    /* the model's names, as many as the message holds */

    at = 0;
    names[0] = '\0';

    for (i = 0; i < p->nmodel_outputs && at + 8 < sizeof(names); i++) {
        name = p->outputs ? p->outputs[i].name : "output-0";
        infer_v2_quote(quoted, sizeof(quoted), name, strlen(name));
        at += snprintf(names + at, sizeof(names) - at, "%s\"%s\"",
                       i ? ", " : "", quoted);
    }

    infer_v2_quote(quoted, sizeof(quoted), (const char *) s, len);

    return infer_json_stream_fail(&p->js, INFER_EINVAL, "outputs[%zu]: unknown "
                                  "output \"%s\", the model has %s",
                                  p->noutputs - 1, quoted, names);
}


static int
infer_v2_begin_values(infer_v2_parser_t *p)
{
    size_t  i;

    for (i = 0; i < INFER_V2_MAX_DIMS; i++) {
        p->nested[i] = UINT64_MAX;    /* no array at this depth ended yet */
    }

    p->depth = 1;
    p->max_depth = 1;
    p->count[0] = 0;
    p->state = INFER_V2_ST_VALUES;

    return 1;
}


static int
infer_v2_end_values(infer_v2_parser_t *p)
{
    char    where[96];
    size_t  d, n;

    d = p->depth;
    n = p->count[d - 1];

    if (p->nested[d - 1] == UINT64_MAX) {
        p->nested[d - 1] = n;

    } else if (p->nested[d - 1] != n) {
        infer_v2_where(p, where, sizeof(where), d - 1, 0);
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "%s[%zu] has %zu "
                                      "values, the arrays before it %llu",
                                      where, p->count[d - 2] - 1, n,
                                      (unsigned long long) p->nested[d - 1]);
    }

    if (--p->depth == 0) {
        p->state = INFER_V2_ST_TENSOR;
    }

    return 1;
}


/* one value of "data", at the current depth */

static int
infer_v2_value(infer_v2_parser_t *p, float v, uint16_t kind)
{
    char    where[96];
    size_t  d, limit;

    d = p->depth;

    if (p->leaf_depth == 0) {
        if (p->max_depth > d) {
            goto mixed;
        }

        p->leaf_depth = d;

    } else if (d != p->leaf_depth) {
        goto mixed;
    }

    limit = p->total ? p->total : p->limit;

    if (p->nvalues >= limit) {
        if (p->total) {
            p->count[d - 1]++;
            p->nvalues++;             /* counted for the message */
            return 1;
        }

        return infer_json_stream_fail(&p->js, INFER_ETOOBIG, "inputs[%zu].data "
                                      "has more than %zu values, the limit is "
                                      "%zu rows of %zu features",
                                      p->ntensors - 1, limit, p->opts.max_rows,
                                      p->opts.nfeatures);
    }

    if (p->nvalues == p->cap && infer_v2_grow(p) == 0) {
        return 0;
    }

    p->x[p->nvalues] = v;
    p->kind[p->nvalues] = kind;
    p->nvalues++;
    p->count[d - 1]++;

    return 1;

mixed:

    infer_v2_where(p, where, sizeof(where), d, 1);

    return infer_json_stream_fail(&p->js, INFER_ESHAPE, "%s: expected an "
                                  "array, got a value", where);
}


static int
infer_v2_grow(infer_v2_parser_t *p)
{
    float     *x;
    size_t     cap;
    uint16_t  *kind;

    if (p->total) {
        cap = p->total;

    } else {
        cap = p->cap ? p->cap * 2 : INFER_V2_FIRST_VALUES;

        if (cap > p->limit) {
            cap = p->limit;
        }
    }

    x = infer_alloc(p->alloc, cap * sizeof(float));
    kind = infer_alloc(p->alloc, cap * sizeof(uint16_t));

    if (x == NULL || kind == NULL) {
        infer_free(p->alloc, x);
        infer_free(p->alloc, kind);
        return infer_json_stream_fail(&p->js, INFER_ERROR, "out of memory");
    }

    if (p->nvalues) {
        memcpy(x, p->x, p->nvalues * sizeof(float));
        memcpy(kind, p->kind, p->nvalues * sizeof(uint16_t));
    }

    infer_free(p->alloc, p->x);
    infer_free(p->alloc, p->kind);

    p->x = x;
    p->kind = kind;
    p->cap = cap;

    return 1;
}


/*
 * The datatypes a number is valid for.  The value is the double rounded
 * to a float, as numpy does; a 64-bit integer beyond 2^53 is rounded from
 * the integer itself, which a double would round first.
 */

static uint16_t
infer_v2_number_kind(const char *s, double d, float *f)
{
    int                 literal;
    uint16_t            k;
    long long           ll;
    unsigned long long  ull;

    k = INFER_V2_TYPE(INFER_V2_FP32) | INFER_V2_TYPE(INFER_V2_FP64);

    if (fabs(d) <= INFER_V2_FP16_MAX) {
        k |= INFER_V2_TYPE(INFER_V2_FP16);
    }

    if (d != floor(d)) {
        return k;
    }

    k |= INFER_V2_INTEGRAL;

    if (d >= -128.0 && d <= 127.0) {
        k |= INFER_V2_TYPE(INFER_V2_INT8);
    }

    if (d >= -32768.0 && d <= 32767.0) {
        k |= INFER_V2_TYPE(INFER_V2_INT16);
    }

    if (d >= -2147483648.0 && d <= 2147483647.0) {
        k |= INFER_V2_TYPE(INFER_V2_INT32);
    }

    if (d >= 0.0) {                   /* -0 too */
        if (d <= 255.0) {
            k |= INFER_V2_TYPE(INFER_V2_UINT8);
        }

        if (d <= 65535.0) {
            k |= INFER_V2_TYPE(INFER_V2_UINT16);
        }

        if (d <= 4294967295.0) {
            k |= INFER_V2_TYPE(INFER_V2_UINT32);
        }
    }

    literal = (strpbrk(s, ".eE") == NULL);

    if (!literal) {
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            k |= INFER_V2_TYPE(INFER_V2_INT64);
        }

        if (d >= 0.0 && d < 18446744073709551616.0) {
            k |= INFER_V2_TYPE(INFER_V2_UINT64);
        }

        return k;
    }

    /* the exact bounds of the 64-bit types */

    errno = 0;
    ll = strtoll(s, NULL, 10);

    if (errno == 0) {
        k |= INFER_V2_TYPE(INFER_V2_INT64);

        if (fabs(d) >= 9007199254740992.0) {
            *f = (float) ll;
        }
    }

    if (s[0] == '-') {
        if (d == 0.0) {
            k |= INFER_V2_TYPE(INFER_V2_UINT64);
        }

        return k;
    }

    errno = 0;
    ull = strtoull(s, NULL, 10);

    if (errno == 0) {
        k |= INFER_V2_TYPE(INFER_V2_UINT64);

        if (d >= 9223372036854775808.0) {
            *f = (float) ull;
        }
    }

    return k;
}


/*
 * "inputs[0].data[1][2]": the indices of the open arrays down to depth,
 * and with current, the index the next value at depth takes.
 */

static void
infer_v2_where(infer_v2_parser_t *p, char *buf, size_t size, size_t depth,
    int current)
{
    int     n;
    size_t  k, len;

    n = snprintf(buf, size, "inputs[%zu].data", p->ntensors - 1);
    len = (n > 0 && (size_t) n < size) ? (size_t) n : size - 1;

    for (k = 0; k < depth; k++) {
        if (k + 1 == depth && !current) {
            break;
        }

        n = snprintf(buf + len, size - len, "[%zu]",
                     (k + 1 == depth) ? p->count[k] : p->count[k] - 1);

        if (n < 0 || (size_t) n >= size - len) {
            break;
        }

        len += n;
    }
}


/* the same for the i-th value, by the nesting of the data */

static void
infer_v2_where_index(infer_v2_parser_t *p, char *buf, size_t size, size_t i)
{
    int       n;
    size_t    k, nd, len;
    uint64_t  idx[INFER_V2_MAX_DIMS];

    nd = p->leaf_depth;

    if (nd <= 1) {
        snprintf(buf, size, "inputs[%zu].data[%zu]", p->ntensors - 1, i);
        return;
    }

    for (k = nd; k-- > 0; /* void */) {
        idx[k] = i % p->nested[k];
        i /= p->nested[k];
    }

    n = snprintf(buf, size, "inputs[%zu].data", p->ntensors - 1);
    len = (n > 0 && (size_t) n < size) ? (size_t) n : size - 1;

    for (k = 0; k < nd; k++) {
        n = snprintf(buf + len, size - len, "[%llu]",
                     (unsigned long long) idx[k]);

        if (n < 0 || (size_t) n >= size - len) {
            break;
        }

        len += n;
    }
}


static void
infer_v2_format_dims(char *buf, size_t size, const uint64_t *dims, size_t n)
{
    int     r;
    size_t  i, len;

    len = 0;
    buf[len++] = '[';

    for (i = 0; i < n && len < size; i++) {
        r = snprintf(buf + len, size - len, "%s%llu", i ? "," : "",
                     (unsigned long long) dims[i]);

        if (r < 0 || (size_t) r >= size - len) {
            len = size;
            break;
        }

        len += r;
    }

    if (len + 2 <= size) {
        buf[len++] = ']';
        buf[len] = '\0';

    } else {
        buf[size - 1] = '\0';
    }
}


static int
infer_v2_skip_scalar(infer_v2_parser_t *p)
{
    p->skip_params = 0;

    if (p->skip_depth == 0) {
        p->state = p->skip_to;
    }

    return 1;
}


static int
infer_v2_skip_open(infer_v2_parser_t *p)
{
    p->skip_params = 0;

    if (++p->skip_depth > INFER_V2_MAX_DEPTH) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "nesting deeper "
                                      "than %d levels", INFER_V2_MAX_DEPTH);
    }

    return 1;
}


static int
infer_v2_on_null(void *ctx)
{
    infer_v2_parser_t  *p = ctx;

    char  where[96];

    if (p->state == INFER_V2_ST_SKIP) {
        return infer_v2_skip_scalar(p);
    }

    if (p->state != INFER_V2_ST_VALUES) {
        return infer_v2_unexpected(p, "null");
    }

    if (!p->opts.missing_ok) {
        infer_v2_where(p, where, sizeof(where), p->depth, 1);
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: null, but the "
                                      "model takes no missing values", where);
    }

    return infer_v2_value(p, NAN, INFER_V2_ALL_TYPES | INFER_V2_IS_NULL);
}


static int
infer_v2_on_boolean(void *ctx, int b)
{
    infer_v2_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_V2_ST_SKIP:
        return infer_v2_skip_scalar(p);

    case INFER_V2_ST_BINARY_DATA:
        p->cur_binary = b;
        p->state = INFER_V2_ST_PARAMS;
        return 1;

    case INFER_V2_ST_BINARY_OUTPUT:
        p->binary_output = b;
        p->state = INFER_V2_ST_PARAMS;
        return 1;

    case INFER_V2_ST_VALUES:
        break;

    default:
        return infer_v2_unexpected(p, "a boolean");
    }

    return infer_v2_value(p, b ? 1.0f : 0.0f,
                          INFER_V2_TYPE(INFER_V2_BOOL) | INFER_V2_IS_BOOL);
}


static int
infer_v2_on_number(void *ctx, const char *s, size_t len)
{
    infer_v2_parser_t  *p = ctx;

    char      buf[INFER_V2_MAX_NUMBER + 1], where[96];
    float     f;
    double    d;
    uint16_t  k;

    if (p->state == INFER_V2_ST_SKIP) {
        return infer_v2_skip_scalar(p);
    }

    if (p->state != INFER_V2_ST_VALUES && p->state != INFER_V2_ST_DIMS
        && p->state != INFER_V2_ST_BINARY_SIZE)
    {
        return infer_v2_unexpected(p, "a number");
    }

    if (len > INFER_V2_MAX_NUMBER) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "inputs[%zu]: a "
                                      "number of more than %d characters",
                                      p->ntensors - 1, INFER_V2_MAX_NUMBER);
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    if (p->state == INFER_V2_ST_DIMS) {
        return infer_v2_dim(p, buf);
    }

    if (p->state == INFER_V2_ST_BINARY_SIZE) {
        return infer_v2_binary_size(p, buf);
    }

    d = strtod(buf, NULL);
    f = (float) d;

    if (!isfinite(f)) {
        infer_v2_where(p, where, sizeof(where), p->depth, 1);
        return infer_json_stream_fail(&p->js, INFER_ERANGE, "%s: %.32s is not "
                                      "a finite 32-bit float", where, buf);
    }

    k = infer_v2_number_kind(buf, d, &f);

    return infer_v2_value(p, f, k);
}


static int
infer_v2_on_string(void *ctx, const unsigned char *s, size_t len)
{
    infer_v2_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_V2_ST_SKIP:
        return infer_v2_skip_scalar(p);

    case INFER_V2_ST_ID:
        if (len > INFER_V2_MAX_ID) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "\"id\" is "
                                          "longer than %d bytes",
                                          INFER_V2_MAX_ID);
        }

        memcpy(p->id, s, len);
        p->id_len = len;
        p->state = INFER_V2_ST_TOP;
        return 1;

    case INFER_V2_ST_NAME:
        p->state = INFER_V2_ST_TENSOR;   /* any name: the model has one */
        return 1;

    case INFER_V2_ST_DATATYPE:
        return infer_v2_datatype(p, s, len);

    case INFER_V2_ST_VALUES:
        return infer_v2_value(p, NAN, INFER_V2_IS_STRING);

    case INFER_V2_ST_OUTPUT_NAME:
        return infer_v2_output_name(p, s, len);

    default:
        return infer_v2_unexpected(p, "a string");
    }
}


static int
infer_v2_on_start_map(void *ctx)
{
    infer_v2_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_V2_ST_START:
        p->state = INFER_V2_ST_TOP;
        return 1;

    case INFER_V2_ST_TENSORS:
        return infer_v2_begin_tensor(p);

    case INFER_V2_ST_OUTPUT_LIST:
        p->noutputs++;
        p->has_output_name = 0;
        p->cur_binary = -1;
        p->state = INFER_V2_ST_OUTPUT;
        return 1;

    case INFER_V2_ST_SKIP:
        if (p->skip_params && p->skip_depth == 0) {
            p->skip_params = 0;
            p->state = INFER_V2_ST_PARAMS;
            return 1;
        }

        return infer_v2_skip_open(p);

    default:
        return infer_v2_unexpected(p, "an object");
    }
}


static int
infer_v2_on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    infer_v2_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_V2_ST_TOP:
        return infer_v2_key(p, key, len);

    case INFER_V2_ST_TENSOR:
        return infer_v2_tensor_key(p, key, len);

    case INFER_V2_ST_OUTPUT:
        if (INFER_V2_KEY(key, len, "name")) {
            if (p->has_output_name) {
                return infer_json_stream_fail(&p->js, INFER_EINVAL,
                                              "outputs[%zu]: duplicate "
                                              "\"name\"", p->noutputs - 1);
            }

            p->has_output_name = 1;
            p->state = INFER_V2_ST_OUTPUT_NAME;
            return 1;
        }

        return infer_v2_skip(p, INFER_V2_ST_OUTPUT,
                             INFER_V2_KEY(key, len, "parameters"));

    case INFER_V2_ST_PARAMS:
        return infer_v2_param_key(p, key, len);

    default:                          /* a key inside a skipped object */
        return 1;
    }
}


static int
infer_v2_on_end_map(void *ctx)
{
    infer_v2_parser_t  *p = ctx;

    /* yajl checks the brackets: only our own objects end here */

    switch (p->state) {

    case INFER_V2_ST_SKIP:
        p->skip_depth--;
        return infer_v2_skip_scalar(p);

    case INFER_V2_ST_TENSOR:
        return infer_v2_end_tensor(p);

    case INFER_V2_ST_OUTPUT:
        return infer_v2_end_output(p);

    case INFER_V2_ST_PARAMS:
        p->state = p->params_of;
        return 1;

    default:                          /* INFER_V2_ST_TOP */
        p->state = INFER_V2_ST_DONE;
        return 1;
    }
}


/* an output's binary_data applies once its name says which it is */

static int
infer_v2_end_output(infer_v2_parser_t *p)
{
    uint64_t  bit;

    if (!p->has_output_name) {
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "outputs[%zu]: "
                                      "missing \"name\"", p->noutputs - 1);
    }

    bit = (uint64_t) 1 << p->cur_output;

    if (p->cur_binary == 1) {
        p->bin_true |= bit;
        p->bin_false &= ~bit;

    } else if (p->cur_binary == 0) {
        p->bin_false |= bit;
        p->bin_true &= ~bit;
    }

    p->state = INFER_V2_ST_OUTPUT_LIST;

    return 1;
}


static int
infer_v2_on_start_array(void *ctx)
{
    infer_v2_parser_t  *p = ctx;

    char    where[96];
    size_t  d;

    switch (p->state) {

    case INFER_V2_ST_INPUTS:
        p->state = INFER_V2_ST_TENSORS;
        return 1;

    case INFER_V2_ST_SHAPE:
        p->ndims = 0;
        p->state = INFER_V2_ST_DIMS;
        return 1;

    case INFER_V2_ST_DATA:
        return infer_v2_begin_values(p);

    case INFER_V2_ST_VALUES:
        d = p->depth;

        if (p->leaf_depth != 0 && d + 1 > p->leaf_depth) {
            infer_v2_where(p, where, sizeof(where), d, 1);
            return infer_json_stream_fail(&p->js, INFER_ESHAPE, "%s: expected "
                                          "a value, got an array", where);
        }

        if (d == INFER_V2_MAX_DIMS) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL,
                                          "inputs[%zu].data is nested "
                                          "deeper than %d levels",
                                          p->ntensors - 1, INFER_V2_MAX_DIMS);
        }

        p->count[d - 1]++;
        p->count[d] = 0;
        p->depth = d + 1;

        if (p->max_depth < d + 1) {
            p->max_depth = d + 1;
        }

        return 1;

    case INFER_V2_ST_OUTPUTS:
        p->state = INFER_V2_ST_OUTPUT_LIST;
        return 1;

    case INFER_V2_ST_SKIP:
        return infer_v2_skip_open(p);

    default:
        return infer_v2_unexpected(p, "an array");
    }
}


static int
infer_v2_on_end_array(void *ctx)
{
    infer_v2_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_V2_ST_TENSORS:
    case INFER_V2_ST_OUTPUT_LIST:
        p->state = INFER_V2_ST_TOP;
        return 1;

    case INFER_V2_ST_DIMS:
        p->state = INFER_V2_ST_TENSOR;
        return infer_v2_check_shape(p);

    case INFER_V2_ST_VALUES:
        return infer_v2_end_values(p);

    default:                          /* INFER_V2_ST_SKIP */
        p->skip_depth--;
        return infer_v2_skip_scalar(p);
    }
}


const char *
infer_v2_platform(const char *format)
{
    if (strcmp(format, "xgboost") == 0) {
        return "xgboost_json";
    }

    if (strcmp(format, "onnx") == 0) {
        return "onnx_onnxv1";
    }

    return format;
}


int
infer_v2_write_server_metadata(infer_buf_t *out, const char *version)
{
    yajl_gen  g;

    g = infer_v2_gen_open(out);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_map_open(g);
    infer_v2_gen_key(g, "name");
    infer_v2_gen_key(g, INFER_V2_SERVER_NAME);
    infer_v2_gen_key(g, "version");
    infer_v2_gen_key(g, version);
    infer_v2_gen_key(g, "extensions");
    yajl_gen_array_open(g);
    infer_v2_gen_key(g, "binary_tensor_data");
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);

    return infer_v2_gen_close(g, out);
}


/* {"live":true}, {"ready":false}: the health endpoints' bodies */

int
infer_v2_write_flag(infer_buf_t *out, const char *key, int value)
{
    yajl_gen  g;

    g = infer_v2_gen_open(out);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_map_open(g);
    infer_v2_gen_key(g, key);
    yajl_gen_bool(g, value);
    yajl_gen_map_close(g);

    return infer_v2_gen_close(g, out);
}


int
infer_v2_write_model_metadata(infer_buf_t *out, const infer_v2_model_t *m)
{
    size_t                 i, n;
    yajl_gen               g;
    infer_tensor_t         def[2];
    const infer_tensor_t  *input, *outputs;

    infer_v2_tensors(m, def, &input, &outputs, &n);

    g = infer_v2_gen_open(out);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_map_open(g);

    infer_v2_gen_key(g, "name");
    infer_v2_gen_str(g, m->name, m->name_len);

    if (m->version_len) {
        infer_v2_gen_key(g, "versions");
        yajl_gen_array_open(g);
        infer_v2_gen_str(g, m->version, m->version_len);
        yajl_gen_array_close(g);
    }

    infer_v2_gen_key(g, "platform");
    infer_v2_gen_key(g, infer_v2_platform(m->format));

    infer_v2_gen_key(g, "inputs");
    yajl_gen_array_open(g);
    infer_v2_gen_tensor_meta(g, input);
    yajl_gen_array_close(g);

    infer_v2_gen_key(g, "outputs");
    yajl_gen_array_open(g);

    for (i = 0; i < n; i++) {
        infer_v2_gen_tensor_meta(g, &outputs[i]);
    }

    yajl_gen_array_close(g);

    yajl_gen_map_close(g);

    return infer_v2_gen_close(g, out);
}


int
infer_v2_write_model_ready(infer_buf_t *out, const infer_v2_model_t *m,
    int ready)
{
    yajl_gen  g;

    g = infer_v2_gen_open(out);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_map_open(g);
    infer_v2_gen_key(g, "name");
    infer_v2_gen_str(g, m->name, m->name_len);
    infer_v2_gen_key(g, "ready");
    yajl_gen_bool(g, ready);
    yajl_gen_map_close(g);

    return infer_v2_gen_close(g, out);
}


int
infer_v2_write_response(infer_buf_t *out, const infer_v2_response_t *resp)
{
    size_t                   o, n;
    yajl_gen                 g;
    infer_tensor_t           def[2];
    const infer_tensor_t    *t, *input, *outputs;
    const infer_v2_model_t  *m;

    m = resp->model;
    infer_v2_tensors(m, def, &input, &outputs, &n);

    g = infer_v2_gen_open(out);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_map_open(g);

    infer_v2_gen_key(g, "model_name");
    infer_v2_gen_str(g, m->name, m->name_len);

    if (m->version_len) {
        infer_v2_gen_key(g, "model_version");
        infer_v2_gen_str(g, m->version, m->version_len);
    }

    if (resp->id != NULL) {
        infer_v2_gen_key(g, "id");
        infer_v2_gen_str(g, resp->id, resp->id_len);
    }

    infer_v2_gen_key(g, "outputs");
    yajl_gen_array_open(g);

    for (o = 0; o < n; o++) {
        if (!infer_v2_sends(resp, o)) {
            continue;
        }

        t = &outputs[o];

        yajl_gen_map_open(g);

        infer_v2_gen_key(g, "name");
        infer_v2_gen_key(g, t->name);
        infer_v2_gen_key(g, "shape");
        infer_v2_gen_shape(g, (long long) resp->rows, t);
        infer_v2_gen_key(g, "datatype");
        infer_v2_gen_key(g, "FP32");

        if (resp->binary & ((uint64_t) 1 << o)) {
            infer_v2_gen_binary_size(g, resp->rows * t->size * sizeof(float));

        } else {
            infer_v2_gen_data(g, resp, t);
        }

        yajl_gen_map_close(g);
    }

    yajl_gen_array_close(g);
    yajl_gen_map_close(g);

    return infer_v2_gen_close(g, out);
}


/* the binary outputs' bytes, in the order of the JSON's outputs */

int
infer_v2_write_binary(infer_buf_t *out, const infer_v2_response_t *resp)
{
    size_t                 i, o, r, n, len;
    uint32_t               u;
    const float           *y;
    unsigned char         *b;
    infer_tensor_t         def[2];
    const infer_tensor_t  *t, *input, *outputs;

    infer_v2_tensors(resp->model, def, &input, &outputs, &n);

    for (o = 0; o < n; o++) {
        if (!infer_v2_sends(resp, o)
            || !(resp->binary & ((uint64_t) 1 << o)))
        {
            continue;
        }

        t = &outputs[o];
        len = resp->rows * t->size * sizeof(float);

        if (infer_buf_reserve(out, len) != INFER_OK) {
            return INFER_ERROR;
        }

        b = out->data + out->len;

        for (r = 0; r < resp->rows; r++) {
            y = resp->y + r * resp->model->noutputs + t->offset;

            for (i = 0; i < t->size; i++) {
                memcpy(&u, &y[i], sizeof(uint32_t));

                *b++ = (unsigned char) u;
                *b++ = (unsigned char) (u >> 8);
                *b++ = (unsigned char) (u >> 16);
                *b++ = (unsigned char) (u >> 24);
            }
        }

        out->len += len;
    }

    return INFER_OK;
}


static int
infer_v2_sends(const infer_v2_response_t *resp, size_t o)
{
    return o < INFER_V2_MAX_OUTPUTS
           && (resp->outputs == 0 || (resp->outputs & ((uint64_t) 1 << o)));
}


static void
infer_v2_gen_data(yajl_gen g, const infer_v2_response_t *resp,
    const infer_tensor_t *t)
{
    char          buf[32];
    size_t        i, r;
    const float  *y;

    infer_v2_gen_key(g, "data");
    yajl_gen_array_open(g);

    for (r = 0; r < resp->rows; r++) {
        y = resp->y + r * resp->model->noutputs + t->offset;

        for (i = 0; i < t->size; i++) {
            if (isfinite(y[i])) {
                yajl_gen_number(g, buf,
                                infer_json_format_float(buf, sizeof(buf),
                                                        y[i]));

            } else {
                yajl_gen_null(g);         /* JSON has no NaN or infinity */
            }
        }
    }

    yajl_gen_array_close(g);
}


/* "parameters":{"binary_data_size":size}, and no "data" */

static void
infer_v2_gen_binary_size(yajl_gen g, size_t size)
{
    infer_v2_gen_key(g, "parameters");
    yajl_gen_map_open(g);
    infer_v2_gen_key(g, "binary_data_size");
    yajl_gen_integer(g, (long long) size);
    yajl_gen_map_close(g);
}


static yajl_gen
infer_v2_gen_open(infer_buf_t *out)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }

    yajl_gen_config(g, yajl_gen_print_callback, infer_v2_print, out);

    return g;
}


static int
infer_v2_gen_close(yajl_gen g, infer_buf_t *out)
{
    yajl_gen_free(g);

    return out->failed ? INFER_ERROR : INFER_OK;
}


static void
infer_v2_print(void *ctx, const char *s, size_t len)
{
    infer_buf_append(ctx, s, len);
}


static void
infer_v2_gen_key(yajl_gen g, const char *key)
{
    yajl_gen_string(g, (const unsigned char *) key, strlen(key));
}


static void
infer_v2_gen_str(yajl_gen g, const char *s, size_t len)
{
    yajl_gen_string(g, (const unsigned char *) s, len);
}


/* {"name":"input-0","datatype":"FP32","shape":[-1,width]} */

static void
infer_v2_gen_tensor_meta(yajl_gen g, const infer_tensor_t *t)
{
    yajl_gen_map_open(g);
    infer_v2_gen_key(g, "name");
    infer_v2_gen_key(g, t->name);
    infer_v2_gen_key(g, "datatype");
    infer_v2_gen_key(g, "FP32");
    infer_v2_gen_key(g, "shape");
    infer_v2_gen_shape(g, -1, t);
    yajl_gen_map_close(g);
}


/* the model's tensors, or "input-0" and "output-0", flat, if it names none */

static void
infer_v2_tensors(const infer_v2_model_t *m, infer_tensor_t *def,
    const infer_tensor_t **input, const infer_tensor_t **outputs, size_t *n)
{
    if (m->input != NULL && m->outputs != NULL) {
        *input = m->input;
        *outputs = m->outputs;
        *n = m->noutput_tensors;
        return;
    }

    memset(def, 0, 2 * sizeof(infer_tensor_t));

    def[0].name = "input-0";
    def[0].ndims = 1;
    def[0].dims[0] = m->nfeatures;
    def[0].size = m->nfeatures;

    def[1].name = "output-0";
    def[1].ndims = 1;
    def[1].dims[0] = m->noutputs;
    def[1].size = m->noutputs;

    *input = &def[0];
    *outputs = &def[1];
    *n = 1;
}


/* [first, the row's dimensions...] */

static void
infer_v2_gen_shape(yajl_gen g, long long first, const infer_tensor_t *t)
{
    size_t  i;

    yajl_gen_array_open(g);
    yajl_gen_integer(g, first);

    for (i = 0; i < t->ndims; i++) {
        yajl_gen_integer(g, (long long) t->dims[i]);
    }

    yajl_gen_array_close(g);
}
