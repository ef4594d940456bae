#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "infer_json.h"
#include "infer_json_stream.h"


/* a string literal's bytes at p, the length known when compiling */

#define infer_json_literal(p, s)                                              \
    ((unsigned char *) memcpy(p, s, sizeof(s) - 1) + sizeof(s) - 1)


#define INFER_JSON_MAX_DEPTH   32     /* of values skipped under unknown keys */
#define INFER_JSON_FIRST_ROWS  16     /* a batch's first allocation, in rows */
#define INFER_JSON_EXACT_MANTISSA  (1ULL << 53)  /* below: an exact double */


typedef enum {
    INFER_PARSE_START = 0,            /* before the top-level object */
    INFER_PARSE_TOP,                  /* in it, between its members */
    INFER_PARSE_FEATURES,             /* after "features": its array */
    INFER_PARSE_INSTANCES,            /* after "instances": its array */
    INFER_PARSE_ROWS,                 /* in "instances", between rows */
    INFER_PARSE_ROW,                  /* in one row's numbers */
    INFER_PARSE_SKIP,                 /* in the value of an unknown key */
    INFER_PARSE_DONE
} infer_parse_state_e;


struct infer_request_parser_s {
    infer_json_stream_t    js;        /* yajl, the first error */
    const infer_alloc_t   *alloc;
    infer_request_opts_t   opts;

    float                 *x;
    size_t                 cap;       /* in rows */
    size_t                 rows;      /* complete rows */
    size_t                 col;       /* numbers seen in the current row */

    /* a nested row: the depth in it (1: its outer array), counts by depth */
    size_t                 level;
    size_t                 count[INFER_JSON_MAX_DIMS + 1];

    infer_parse_state_e    state;
    size_t                 skip_depth;
    unsigned               seen_features:1;
    unsigned               seen_instances:1;
    unsigned               batch:1;

};


static int infer_request_unexpected(infer_request_parser_t *p,
    const char *what);
static int infer_request_where(infer_request_parser_t *p, char *buf,
    size_t len);
static int infer_request_begin_row(infer_request_parser_t *p);
static int infer_request_end_row(infer_request_parser_t *p);
static int infer_request_value(infer_request_parser_t *p, float v);
static int infer_request_skip_scalar(infer_request_parser_t *p);
static int infer_request_nested(infer_request_parser_t *p, int open);
static int infer_request_shape_error(infer_request_parser_t *p,
    size_t depth, size_t n);
static unsigned char *infer_json_put_nested(unsigned char *p, const float *y,
    const size_t *dims, size_t ndims, size_t *first_len);

static int infer_on_null(void *ctx);
static int infer_on_boolean(void *ctx, int b);
static int infer_on_number(void *ctx, const char *s, size_t len);
static int infer_on_string(void *ctx, const unsigned char *s, size_t len);
static int infer_on_start_map(void *ctx);
static int infer_on_map_key(void *ctx, const unsigned char *key, size_t len);
static int infer_on_end_map(void *ctx);
static int infer_on_start_array(void *ctx);
static int infer_on_end_array(void *ctx);

static void infer_json_print(void *ctx, const char *s, size_t len);
static void infer_json_gen_key(yajl_gen g, const char *key);
static unsigned char *infer_json_put_row(unsigned char *p, const float *y,
    size_t n, size_t *first_len);
static unsigned char *infer_json_put_ms(unsigned char *p, uint64_t ns);


static const yajl_callbacks  infer_request_callbacks = {
    infer_on_null,
    infer_on_boolean,
    NULL,                             /* integers come as numbers, */
    NULL,                             /* and so do doubles */
    infer_on_number,
    infer_on_string,
    infer_on_start_map,
    infer_on_map_key,
    infer_on_end_map,
    infer_on_start_array,
    infer_on_end_array
};


infer_request_parser_t *
infer_request_parser_create(const infer_request_opts_t *opts,
    const infer_alloc_t *alloc)
{
    infer_request_parser_t  *p;

    if (alloc == NULL) {
        return NULL;
    }

    p = infer_alloc(alloc, sizeof(infer_request_parser_t));
    if (p == NULL) {
        return NULL;
    }

    memset(p, 0, sizeof(infer_request_parser_t));

    p->alloc = alloc;
    p->opts = *opts;
    p->state = INFER_PARSE_START;

    if (opts->ndims > INFER_JSON_MAX_DIMS || (opts->ndims && !opts->dims)) {
        infer_free(alloc, p);
        return NULL;
    }

    if (opts->ndims < 2) {
        p->opts.ndims = 0;                /* flat */
    }

    if (infer_json_stream_init(&p->js, &infer_request_callbacks, p, alloc)
        != INFER_OK)
    {
        infer_free(alloc, p);
        return NULL;
    }

    return p;
}


int
infer_request_parse(infer_request_parser_t *p, const unsigned char *data, size_t len)
{
    return infer_json_stream_feed(&p->js, data, len);
}


int
infer_request_finish(infer_request_parser_t *p, infer_request_t *req)
{
    if (infer_json_stream_end(&p->js) != INFER_OK) {
        return p->js.rc;
    }

    if (!p->seen_features && !p->seen_instances) {
        infer_json_stream_fail(&p->js, INFER_EINVAL,
                           "missing \"features\" or \"instances\"");
        return p->js.rc;
    }

    req->x = p->x;
    req->rows = p->rows;
    req->batch = p->batch;

    return INFER_OK;
}


const char *
infer_request_error(const infer_request_parser_t *p)
{
    return p->js.err;
}


void
infer_request_parser_free(infer_request_parser_t *p)
{
    if (p == NULL) {
        return;
    }

    infer_json_stream_free(&p->js);
    infer_free(p->alloc, p->x);
    infer_free(p->alloc, p);
}



/* what the parser met where the protocol wants something else */

static int
infer_request_unexpected(infer_request_parser_t *p, const char *what)
{
    char  where[48];

    switch (p->state) {

    case INFER_PARSE_START:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "the request must be a "
                                  "JSON object, not %s", what);

    case INFER_PARSE_FEATURES:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "\"features\" must be an "
                                  "array of numbers, not %s", what);

    case INFER_PARSE_INSTANCES:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "\"instances\" must be an "
                                  "array of arrays of numbers, not %s", what);

    case INFER_PARSE_ROWS:
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "instances[%zu] must be "
                                  "an array of numbers, not %s", p->rows,
                                  what);

    default:                          /* INFER_PARSE_ROW */
        infer_request_where(p, where, sizeof(where));
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s must be a number, "
                                  "not %s", where, what);
    }
}


static int
infer_request_where(infer_request_parser_t *p, char *buf, size_t len)
{
    if (p->batch) {
        return snprintf(buf, len, "instances[%zu][%zu]", p->rows, p->col);
    }

    return snprintf(buf, len, "features[%zu]", p->col);
}


static int
infer_request_begin_row(infer_request_parser_t *p)
{
    size_t   cap;
    float   *x;

    if (p->rows == p->opts.max_rows) {
        return infer_json_stream_fail(&p->js, INFER_ETOOBIG, "the batch has more "
                                  "than %zu rows", p->opts.max_rows);
    }

    if (p->rows == p->cap) {
        cap = p->cap ? p->cap * 2 : (p->batch ? INFER_JSON_FIRST_ROWS : 1);

        if (cap > p->opts.max_rows) {
            cap = p->opts.max_rows;
        }

        x = infer_alloc(p->alloc, cap * p->opts.nfeatures * sizeof(float));
        if (x == NULL) {
            return infer_json_stream_fail(&p->js, INFER_ERROR, "out of memory");
        }

        if (p->rows) {
            memcpy(x, p->x, p->rows * p->opts.nfeatures * sizeof(float));
        }

        infer_free(p->alloc, p->x);
        p->x = x;
        p->cap = cap;
    }

    p->col = 0;
    p->level = 1;
    p->count[1] = 0;
    p->state = INFER_PARSE_ROW;

    return 1;
}


/*
 * In a row nested as the model's dims: an array opens (open) or closes at
 * p->level; each depth's length is checked when its array closes.
 */

static int
infer_request_nested(infer_request_parser_t *p, int open)
{
    size_t  d;

    d = p->level;

    if (open) {
        if (d >= p->opts.ndims) {
            return infer_request_shape_error(p, d, 0);
        }

        p->count[d]++;
        p->level++;
        p->count[d + 1] = 0;

        return 1;
    }

    if (p->count[d] != p->opts.dims[d - 1]) {
        return infer_request_shape_error(p, d, p->count[d]);
    }

    if (--p->level == 0) {
        return infer_request_end_row(p);
    }

    return 1;
}


/* a 422 naming the row's expected shape */

static int
infer_request_shape_error(infer_request_parser_t *p, size_t depth, size_t n)
{
    char    shape[96], row[48];
    size_t  i, at;
    int     len;

    at = 0;

    for (i = 0; i < p->opts.ndims && at < sizeof(shape); i++) {
        len = snprintf(shape + at, sizeof(shape) - at, "%s%zu",
                       i ? "," : "", p->opts.dims[i]);
        at += (len > 0) ? (size_t) len : 0;
    }

    if (p->batch) {
        snprintf(row, sizeof(row), "instances[%zu]", p->rows);

    } else {
        snprintf(row, sizeof(row), "\"features\"");
    }

    if (depth >= p->opts.ndims && n == 0) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "%s is nested "
                                      "deeper than the model's rows, [%s]",
                                      row, shape);
    }

    if (depth < p->opts.ndims && n == (size_t) -1) {
        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "%s has a number "
                                      "at depth %zu: the model's rows are "
                                      "[%s]", row, depth, shape);
    }

    return infer_json_stream_fail(&p->js, INFER_ESHAPE, "%s has %zu elements "
                                  "at depth %zu: the model's rows are [%s]",
                                  row, n, depth, shape);
}


static int
infer_request_end_row(infer_request_parser_t *p)
{
    if (p->col != p->opts.nfeatures) {
        if (p->batch) {
            return infer_json_stream_fail(&p->js, INFER_ESHAPE, "instances[%zu] has "
                                      "%zu features, the model takes %zu",
                                      p->rows, p->col, p->opts.nfeatures);
        }

        return infer_json_stream_fail(&p->js, INFER_ESHAPE, "\"features\" has %zu "
                                  "features, the model takes %zu", p->col,
                                  p->opts.nfeatures);
    }

    p->rows++;
    p->state = p->batch ? INFER_PARSE_ROWS : INFER_PARSE_TOP;

    return 1;
}


static int
infer_request_value(infer_request_parser_t *p, float v)
{
    if (p->opts.ndims) {
        if (p->level < p->opts.ndims) {
            return infer_request_shape_error(p, p->level, (size_t) -1);
        }

        p->count[p->level]++;
    }

    /* count past the model's width to report the row's real length */

    if (p->col < p->opts.nfeatures) {
        p->x[p->rows * p->opts.nfeatures + p->col] = v;
    }

    p->col++;

    return 1;
}


static int
infer_request_skip_scalar(infer_request_parser_t *p)
{
    if (p->skip_depth == 0) {
        p->state = INFER_PARSE_TOP;
    }

    return 1;
}


static int
infer_on_null(void *ctx)
{
    infer_request_parser_t  *p = ctx;

    if (p->state == INFER_PARSE_SKIP) {
        return infer_request_skip_scalar(p);
    }

    if (p->state == INFER_PARSE_ROW && p->opts.missing_ok) {
        return infer_request_value(p, NAN);
    }

    return infer_request_unexpected(p, "null");
}


static int
infer_on_boolean(void *ctx, int b)
{
    infer_request_parser_t  *p = ctx;

    (void) b;

    if (p->state == INFER_PARSE_SKIP) {
        return infer_request_skip_scalar(p);
    }

    return infer_request_unexpected(p, "a boolean");
}


/*
 * The number is parsed as a double and then rounded to a float, as numpy
 * does with the Python floats a reference pipeline hands it: parsing with
 * strtof() could round some inputs differently.
 */

static int
infer_on_number(void *ctx, const char *s, size_t len)
{
    infer_request_parser_t  *p = ctx;

    char   where[48];
    float  f;

    if (p->state == INFER_PARSE_SKIP) {
        return infer_request_skip_scalar(p);
    }

    if (p->state != INFER_PARSE_ROW) {
        return infer_request_unexpected(p, "a number");
    }

    if (len > INFER_JSON_MAX_NUMBER) {
        infer_request_where(p, where, sizeof(where));
        return infer_json_stream_fail(&p->js, INFER_EINVAL, "%s: a number of more "
                                  "than %d characters", where,
                                  INFER_JSON_MAX_NUMBER);
    }

    f = (float) infer_json_parse_double(s, len);

    if (!isfinite(f)) {
        infer_request_where(p, where, sizeof(where));
        return infer_json_stream_fail(&p->js, INFER_ERANGE, "%s: %.*s is not a "
                                  "finite 32-bit float", where,
                                  (int) (len < 32 ? len : 32), s);
    }

    return infer_request_value(p, f);
}


static int
infer_on_string(void *ctx, const unsigned char *s, size_t len)
{
    infer_request_parser_t  *p = ctx;

    (void) s;
    (void) len;

    if (p->state == INFER_PARSE_SKIP) {
        return infer_request_skip_scalar(p);
    }

    return infer_request_unexpected(p, "a string");
}


static int
infer_on_start_map(void *ctx)
{
    infer_request_parser_t  *p = ctx;

    if (p->state == INFER_PARSE_START) {
        p->state = INFER_PARSE_TOP;
        return 1;
    }

    if (p->state == INFER_PARSE_SKIP) {
        if (++p->skip_depth > INFER_JSON_MAX_DEPTH) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "nesting deeper than "
                                      "%d levels", INFER_JSON_MAX_DEPTH);
        }

        return 1;
    }

    return infer_request_unexpected(p, "an object");
}


static int
infer_on_map_key(void *ctx, const unsigned char *key, size_t len)
{
    infer_request_parser_t  *p = ctx;

    if (p->state == INFER_PARSE_SKIP) {
        return 1;                     /* a key inside a skipped object */
    }

    if (len == sizeof("features") - 1
        && memcmp(key, "features", len) == 0)
    {
        if (p->seen_features || p->seen_instances) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "give one "
                                      "\"features\" or one \"instances\"");
        }

        p->seen_features = 1;
        p->state = INFER_PARSE_FEATURES;
        return 1;
    }

    if (len == sizeof("instances") - 1
        && memcmp(key, "instances", len) == 0)
    {
        if (p->seen_features || p->seen_instances) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "give one "
                                      "\"features\" or one \"instances\"");
        }

        p->seen_instances = 1;
        p->batch = 1;
        p->state = INFER_PARSE_INSTANCES;
        return 1;
    }

    /* other members (an "id", "parameters") are for the client's use */

    p->state = INFER_PARSE_SKIP;
    p->skip_depth = 0;

    return 1;
}


static int
infer_on_end_map(void *ctx)
{
    infer_request_parser_t  *p = ctx;

    if (p->state == INFER_PARSE_SKIP) {
        p->skip_depth--;
        return infer_request_skip_scalar(p);
    }

    /* yajl checks the brackets: only the top-level object ends here */

    p->state = INFER_PARSE_DONE;

    return 1;
}


static int
infer_on_start_array(void *ctx)
{
    infer_request_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_PARSE_FEATURES:
    case INFER_PARSE_ROWS:
        return infer_request_begin_row(p);

    case INFER_PARSE_ROW:
        if (p->opts.ndims) {
            return infer_request_nested(p, 1);
        }

        return infer_request_unexpected(p, "an array");

    case INFER_PARSE_INSTANCES:
        p->state = INFER_PARSE_ROWS;
        return 1;

    case INFER_PARSE_SKIP:
        if (++p->skip_depth > INFER_JSON_MAX_DEPTH) {
            return infer_json_stream_fail(&p->js, INFER_EINVAL, "nesting deeper than "
                                      "%d levels", INFER_JSON_MAX_DEPTH);
        }

        return 1;

    default:
        return infer_request_unexpected(p, "an array");
    }
}


static int
infer_on_end_array(void *ctx)
{
    infer_request_parser_t  *p = ctx;

    switch (p->state) {

    case INFER_PARSE_ROW:
        if (p->opts.ndims) {
            return infer_request_nested(p, 0);
        }

        return infer_request_end_row(p);

    case INFER_PARSE_ROWS:
        if (p->rows == 0) {
            return infer_json_stream_fail(&p->js, INFER_ESHAPE,
                                      "\"instances\" is empty");
        }

        p->state = INFER_PARSE_TOP;
        return 1;

    default:                          /* INFER_PARSE_SKIP */
        p->skip_depth--;
        return infer_request_skip_scalar(p);
    }
}


int
infer_json_model_fields(infer_buf_t *out, const char *name, size_t name_len,
    const char *version, size_t version_len)
{
    size_t       start;
    yajl_gen     g;
    infer_buf_t  obj;

    infer_buf_init(&obj, out->alloc);

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_config(g, yajl_gen_print_callback, infer_json_print, &obj);

    yajl_gen_map_open(g);
    infer_json_gen_key(g, "model_name");
    yajl_gen_string(g, (const unsigned char *) name, name_len);
    infer_json_gen_key(g, "model_version");
    yajl_gen_string(g, (const unsigned char *) version, version_len);
    yajl_gen_map_close(g);

    yajl_gen_free(g);

    if (obj.failed || obj.len < 2) {
        infer_buf_release(&obj);
        return INFER_ERROR;
    }

    /* {"model_name":...} becomes ,"model_name":... */

    start = out->len;
    infer_buf_append(out, ",", 1);
    infer_buf_append(out, obj.data + 1, obj.len - 2);
    infer_buf_release(&obj);

    return (out->failed || out->len == start) ? INFER_ERROR : INFER_OK;
}


/*
 * {"prediction":6.5,"model_name":"m","model_version":"1","latency_ms":0.004,
 * "trace_id":"4bf9..."} written straight into a buffer sized once: this
 * runs on every request.
 */

int
infer_json_write_response(infer_buf_t *out, infer_response_t *resp)
{
    size_t          r, need, stride;
    unsigned char  *p;

    /* a number, its comma, and at most one bracket of each kind */

    need = sizeof("{\"predictions\":[],\"latency_ms\":}") + 24
           + sizeof(",\"trace_id\":\"\"") + INFER_JSON_TRACE_ID_LEN
           + resp->model_fields_len
           + resp->rows * (resp->noutputs * (INFER_JSON_FLOAT_LEN + 3) + 3);
    stride = resp->stride ? resp->stride : resp->noutputs;

    if (infer_buf_reserve(out, need) != INFER_OK) {
        return INFER_ERROR;
    }

    p = out->data + out->len;
    if (resp->batch) {
        p = infer_json_literal(p, "{\"predictions\":[");

    } else {
        p = infer_json_literal(p, "{\"prediction\":");
    }

    /* y[0]'s text, for $infer_prediction to point at (past a row's [) */

    resp->first_off = (p - out->data)
                      + (resp->ndims > 1 ? resp->ndims : resp->noutputs > 1);
    resp->first_len = 0;

    for (r = 0; r < (resp->batch ? resp->rows : 1); r++) {
        if (r) {
            *p++ = ',';
        }

        if (resp->ndims > 1) {
            p = infer_json_put_nested(p, resp->y + r * stride, resp->dims,
                                      resp->ndims,
                                      r ? NULL : &resp->first_len);

        } else {
            p = infer_json_put_row(p, resp->y + r * stride, resp->noutputs,
                                   r ? NULL : &resp->first_len);
        }
    }

    if (resp->batch) {
        *p++ = ']';
    }

    memcpy(p, resp->model_fields, resp->model_fields_len);
    p += resp->model_fields_len;

    p = infer_json_literal(p, ",\"latency_ms\":");
    p = infer_json_put_ms(p, resp->latency_ns);

    if (resp->trace_id != NULL) {
        p = infer_json_literal(p, ",\"trace_id\":\"");
        memcpy(p, resp->trace_id, INFER_JSON_TRACE_ID_LEN);
        p += INFER_JSON_TRACE_ID_LEN;
        *p++ = '"';
    }

    *p++ = '}';

    out->len = p - out->data;

    return INFER_OK;
}


/*
 * The k best by selection: k is small (5), n a classifier's classes
 * (1000); ties keep the lower index first, as torch.topk does on CPU.
 */

static void
infer_json_top(const float *y, size_t n, size_t k, size_t *top)
{
    size_t  i, j, m;

    for (m = 0, i = 0; i < n; i++) {

        if (m == k && !(y[i] > y[top[k - 1]])) {
            continue;
        }

        j = (m < k) ? m++ : k - 1;

        for ( /* void */ ; j > 0 && y[i] > y[top[j - 1]]; j--) {
            top[j] = top[j - 1];
        }

        top[j] = i;
    }
}


int
infer_json_write_topk(infer_buf_t *out, infer_topk_response_t *resp)
{
    char            num[INFER_JSON_FLOAT_LEN];
    float           max, score;
    double          sum;
    size_t          i, len, need;
    unsigned char  *p;

    infer_json_top(resp->y, resp->n, resp->k, resp->top);

    need = sizeof("{\"predictions\":[],\"latency_ms\":}") + 24
           + sizeof(",\"trace_id\":\"\"") + INFER_JSON_TRACE_ID_LEN
           + resp->model_fields_len
           + resp->k * (sizeof("{\"class\":,\"score\":},") + 24
                        + INFER_JSON_FLOAT_LEN);

    if (resp->labels != NULL) {
        for (i = 0; i < resp->k; i++) {
            need += resp->labels[resp->top[i]].len;
        }
    }

    if (infer_buf_reserve(out, need) != INFER_OK) {
        return INFER_ERROR;
    }

    /* the softmax in double, shifted by the maximum: no overflow */

    max = resp->y[resp->top[0]];
    sum = 0;

    if (resp->softmax) {
        for (i = 0; i < resp->n; i++) {
            sum += exp((double) resp->y[i] - max);
        }
    }

    p = out->data + out->len;
    p = infer_json_literal(p, "{\"predictions\":[");

    for (i = 0; i < resp->k; i++) {
        if (i) {
            *p++ = ',';
        }

        if (resp->labels != NULL) {
            p = infer_json_literal(p, "{\"label\":");
            memcpy(p, resp->labels[resp->top[i]].data,
                   resp->labels[resp->top[i]].len);
            p += resp->labels[resp->top[i]].len;

        } else {
            p = infer_json_literal(p, "{\"class\":");
            p += infer_format_uint64((char *) p, resp->top[i]);
        }

        p = infer_json_literal(p, ",\"score\":");

        score = resp->y[resp->top[i]];

        if (resp->softmax) {
            score = (float) (exp((double) score - max) / sum);
        }

        len = infer_json_format_float(num, sizeof(num), score);

        if (i == 0) {
            resp->first_off = p - out->data;
            resp->first_len = len;
        }

        memcpy(p, num, len);
        p += len;
        *p++ = '}';
    }

    *p++ = ']';

    memcpy(p, resp->model_fields, resp->model_fields_len);
    p += resp->model_fields_len;

    p = infer_json_literal(p, ",\"latency_ms\":");
    p = infer_json_put_ms(p, resp->latency_ns);

    if (resp->trace_id != NULL) {
        p = infer_json_literal(p, ",\"trace_id\":\"");
        memcpy(p, resp->trace_id, INFER_JSON_TRACE_ID_LEN);
        p += INFER_JSON_TRACE_ID_LEN;
        *p++ = '"';
    }

    *p++ = '}';

    out->len = p - out->data;

    return INFER_OK;
}


int
infer_json_labels(const char *text, size_t len, const infer_alloc_t *alloc,
    infer_buf_t **labels, size_t *n, char *err, size_t errlen)
{
    size_t       i, count, llen;
    yajl_gen     g;
    const char  *p, *end, *eol;
    infer_buf_t *l;

    end = text + len;

    if (len && end[-1] == '\n') {
        end--;
    }

    count = 0;

    for (p = text; p < end; p++) {
        count += (*p == '\n');
    }

    count++;

    l = infer_alloc(alloc, count * sizeof(infer_buf_t));
    if (l == NULL) {
        return INFER_ERROR;
    }

    for (i = 0, p = text; i < count; i++, p = eol + 1) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        llen = eol - p;

        if (llen && p[llen - 1] == '\r') {
            llen--;
        }

        if (llen == 0) {
            snprintf(err, errlen, "line %zu is empty", i + 1);
            return INFER_EINVAL;
        }

        infer_buf_init(&l[i], alloc);

        g = yajl_gen_alloc(NULL);
        if (g == NULL) {
            return INFER_ERROR;
        }

        yajl_gen_config(g, yajl_gen_print_callback, infer_json_print, &l[i]);
        yajl_gen_config(g, yajl_gen_validate_utf8, 1);

        if (yajl_gen_string(g, (const unsigned char *) p, llen)
            != yajl_gen_status_ok)
        {
            yajl_gen_free(g);
            snprintf(err, errlen, "line %zu is not valid UTF-8", i + 1);
            return INFER_EINVAL;
        }

        yajl_gen_free(g);

        if (l[i].failed) {
            return INFER_ERROR;
        }
    }

    *labels = l;
    *n = count;

    return INFER_OK;
}


int
infer_json_write_error(infer_buf_t *out, const char *msg)
{
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_config(g, yajl_gen_print_callback, infer_json_print, out);

    yajl_gen_map_open(g);
    infer_json_gen_key(g, "error");
    yajl_gen_string(g, (const unsigned char *) msg, strlen(msg));
    yajl_gen_map_close(g);

    yajl_gen_free(g);

    return out->failed ? INFER_ERROR : INFER_OK;
}


/*
 * A JSON number, -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, at the
 * start of [s, end): the end of its text, and in *d its value as strtod()
 * reads it; NULL when s starts with none of at most INFER_JSON_MAX_NUMBER
 * characters.  Clinger's fast path: a mantissa below 2^53 and a power of
 * ten up to 10^22 are both exact doubles, and one multiplication or
 * division of exact operands is correctly rounded, so the result is what
 * strtod() gives.  Other numbers go to strtod().
 */

#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

/*
 * How many of the 8 characters in w (the first in its low byte) are
 * digits before the first that is not.  x is each byte less '0' when its
 * high nibble was 3; a byte is not a digit when that high nibble is left,
 * or when adding 6 carries into it (the low nibble was above 9).  A carry
 * out of a byte can only spoil the bytes after the first bad one.
 */

static unsigned
infer_json_digits8(uint64_t w)
{
    uint64_t  x, bad;

    x = w ^ 0x3030303030303030ULL;
    bad = (x | (x + 0x0606060606060606ULL)) & 0xf0f0f0f0f0f0f0f0ULL;

    return bad ? (unsigned) __builtin_ctzll(bad) / 8 : 8;
}


/*
 * The value of the first n (1 to 8) digits of w: shifted up so that they
 * end in the high byte, zeros before them, then the pairs, quads and the
 * whole word combined by three multiplications (the known SWAR method).
 */

static uint64_t
infer_json_value8(uint64_t w, unsigned n)
{
    w <<= 8 * (8 - n);
    w = ((w & 0x0f0f0f0f0f0f0f0fULL) * 2561) >> 8;
    w = ((w & 0x00ff00ff00ff00ffULL) * 6553601) >> 16;

    return ((w & 0x0000ffff0000ffffULL) * 42949672960001ULL) >> 32;
}


/*
 * The common number, -?D{1,7}(.D{1,8})?, where 17 bytes can be read from
 * after its sign: the digits before and after the point read a word each.
 * The same m and exponent as the byte loop below, so the same value (at
 * most 15 digits: m < 2^53, the exact case).  NULL for anything else,
 * which the byte loop then reads (a body's last numbers among them).
 */

static const char *
infer_json_scan_short(const char *s, const char *end, double *d)
{
    int          neg;
    unsigned     n, frac;
    uint64_t     w, m;
    const char  *p;

    static const uint64_t  pow10[9] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000
    };

    neg = (s < end && *s == '-');
    p = s + neg;

    if (end - p < 17) {
        return NULL;
    }

    memcpy(&w, p, 8);
    n = infer_json_digits8(w);

    if (n == 0 || n == 8 || (*p == '0' && n > 1)) {
        return NULL;
    }

    m = infer_json_value8(w, n);
    p += n;
    frac = 0;

    if (*p == '.') {
        memcpy(&w, p + 1, 8);
        frac = infer_json_digits8(w);

        if (frac == 0 || (frac == 8 && p[9] >= '0' && p[9] <= '9')) {
            return NULL;
        }

        m = m * pow10[frac] + infer_json_value8(w, frac);
        p += 1 + frac;
    }

    if (*p == 'e' || *p == 'E') {
        return NULL;
    }

    *d = frac ? (double) m / infer_json_pow10[frac] : (double) m;
    *d = neg ? -*d : *d;

    return p;
}

#endif


/*
 * strtod() of len characters at s: out of line, so that the array (and
 * the stack protector's check it brings) is not paid by every number
 */

static __attribute__((noinline)) double
infer_json_strtod(const char *s, size_t len)
{
    char  buf[INFER_JSON_MAX_NUMBER + 1];

    memcpy(buf, s, len);
    buf[len] = '\0';

    return strtod(buf, NULL);
}


const char *
infer_json_scan_number(const char *s, const char *end, double *d)
{
    int          neg, eneg, exp, e, exact;
    uint64_t     m;
    const char  *p, *digits;

#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    p = infer_json_scan_short(s, end, d);
    if (p != NULL) {
        return p;
    }
#endif

    p = s;
    neg = (p < end && *p == '-');
    p += neg;

    m = 0;
    exp = 0;
    exact = 1;                  /* m < 2^53: no digit was lost */

    for (digits = p; p < end && *p >= '0' && *p <= '9'; p++) {
        exact &= (m < INFER_JSON_EXACT_MANTISSA / 10);
        m = m * 10 + (*p - '0');
    }

    if (p == digits || (*digits == '0' && p - digits > 1)) {
        return NULL;
    }

    if (p < end && *p == '.') {
        for (digits = ++p; p < end && *p >= '0' && *p <= '9'; p++) {
            exact &= (m < INFER_JSON_EXACT_MANTISSA / 10);
            m = m * 10 + (*p - '0');
            exp--;
        }

        if (p == digits) {
            return NULL;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        eneg = (p < end && *p == '-');
        p += (p < end && (*p == '+' || *p == '-'));

        for (digits = p, e = 0; p < end && *p >= '0' && *p <= '9'; p++) {
            if (e < 1000) {
                e = e * 10 + (*p - '0');
            }
        }

        if (p == digits) {
            return NULL;
        }

        exp += eneg ? -e : e;
    }

    if (p - s > INFER_JSON_MAX_NUMBER) {
        return NULL;
    }

    if (exact && exp >= -INFER_JSON_EXACT_POW10
        && exp <= INFER_JSON_EXACT_POW10)
    {
        *d = (exp < 0) ? (double) m / infer_json_pow10[-exp]
                       : (double) m * infer_json_pow10[exp];
        *d = neg ? -*d : *d;

    } else {
        *d = infer_json_strtod(s, p - s);
    }

    return p;
}


/* what strtod() makes of s, up to INFER_JSON_MAX_NUMBER characters */

double
infer_json_parse_double(const char *s, size_t len)
{
    char    buf[INFER_JSON_MAX_NUMBER + 1];
    double  d;

    if (infer_json_scan_number(s, s + len, &d) == s + len) {
        return d;
    }

    /* not one JSON number: a configuration's "5." or ".5" */

    if (len > INFER_JSON_MAX_NUMBER) {
        len = INFER_JSON_MAX_NUMBER;
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    return strtod(buf, NULL);
}


/* y[0..n), an array if n > 1; first_len (if not NULL): y[0]'s text's */

static unsigned char *
infer_json_put_row(unsigned char *p, const float *y, size_t n,
    size_t *first_len)
{
    size_t  i, len;

    if (n > 1) {
        *p++ = '[';
    }

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        len = infer_json_format_float((char *) p, INFER_JSON_FLOAT_LEN, y[i]);
        p += len;

        if (i == 0 && first_len != NULL) {
            *first_len = len;
        }
    }

    if (n > 1) {
        *p++ = ']';
    }

    return p;
}


/* a row nested as dims: [[1,2],[3,4]] */

static unsigned char *
infer_json_put_nested(unsigned char *p, const float *y, const size_t *dims,
    size_t ndims, size_t *first_len)
{
    size_t  i, inner, d;

    if (ndims == 1) {
        *p++ = '[';

        for (i = 0; i < dims[0]; i++) {
            if (i) {
                *p++ = ',';
            }

            d = infer_json_format_float((char *) p, INFER_JSON_FLOAT_LEN,
                                        y[i]);
            p += d;

            if (i == 0 && first_len != NULL) {
                *first_len = d;
            }
        }

        *p++ = ']';

        return p;
    }

    inner = 1;

    for (d = 1; d < ndims; d++) {
        inner *= dims[d];
    }

    *p++ = '[';

    for (i = 0; i < dims[0]; i++) {
        if (i) {
            *p++ = ',';
        }

        p = infer_json_put_nested(p, y + i * inner, dims + 1, ndims - 1,
                                  i ? NULL : first_len);
    }

    *p++ = ']';

    return p;
}


/* nanoseconds as milliseconds with three decimals: 4210 is 0.004 */

static unsigned char *
infer_json_put_ms(unsigned char *p, uint64_t ns)
{
    uint64_t  us;

    us = (ns + 500) / 1000;

    p += infer_format_uint64((char *) p, us / 1000);
    *p++ = '.';
    *p++ = '0' + us / 100 % 10;
    *p++ = '0' + us / 10 % 10;
    *p++ = '0' + us % 10;

    return p;
}


static void
infer_json_print(void *ctx, const char *s, size_t len)
{
    infer_buf_append(ctx, s, len);
}


static void
infer_json_gen_key(yajl_gen g, const char *key)
{
    yajl_gen_string(g, (const unsigned char *) key, strlen(key));
}
