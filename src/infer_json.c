#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "infer_json.h"


#define INFER_JSON_MAX_DEPTH   32     /* of values skipped under unknown keys */
#define INFER_JSON_MAX_NUMBER  128    /* characters in one number */
#define INFER_JSON_FIRST_ROWS  16     /* a batch's first allocation, in rows */


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
    yajl_handle            yajl;
    const infer_alloc_t   *alloc;
    infer_request_opts_t   opts;

    float                 *x;
    size_t                 cap;       /* in rows */
    size_t                 rows;      /* complete rows */
    size_t                 col;       /* numbers seen in the current row */

    infer_parse_state_e    state;
    size_t                 skip_depth;
    size_t                 consumed;  /* bytes of earlier chunks */
    unsigned               seen_features:1;
    unsigned               seen_instances:1;
    unsigned               batch:1;

    int                    rc;
    char                   err[INFER_ERRLEN];
};


static int infer_request_fail(infer_request_parser_t *p, int rc,
    const char *fmt, ...);
static int infer_request_unexpected(infer_request_parser_t *p,
    const char *what);
static int infer_request_where(infer_request_parser_t *p, char *buf,
    size_t len);
static int infer_request_begin_row(infer_request_parser_t *p);
static int infer_request_end_row(infer_request_parser_t *p);
static int infer_request_value(infer_request_parser_t *p, float v);
static int infer_request_skip_scalar(infer_request_parser_t *p);

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
static void infer_json_gen_float(yajl_gen g, float v);
static void infer_json_gen_row(yajl_gen g, const float *y, size_t n);


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

    p = infer_alloc(alloc, sizeof(infer_request_parser_t));
    if (p == NULL) {
        return NULL;
    }

    memset(p, 0, sizeof(infer_request_parser_t));

    p->alloc = alloc;
    p->opts = *opts;
    p->state = INFER_PARSE_START;

    p->yajl = yajl_alloc(&infer_request_callbacks, NULL, p);
    if (p->yajl == NULL) {
        infer_free(alloc, p);
        return NULL;
    }

    return p;
}


int
infer_request_parse(infer_request_parser_t *p, const unsigned char *data,
    size_t len)
{
    unsigned char  *msg;
    yajl_status     st;

    if (p->rc != INFER_OK) {
        return p->rc;
    }

    st = yajl_parse(p->yajl, data, len);

    if (st == yajl_status_error) {
        msg = yajl_get_error(p->yajl, 0, data, len);
        infer_request_fail(p, INFER_EJSON, "malformed JSON near byte %zu: "
                           "%.*s", p->consumed
                                   + yajl_get_bytes_consumed(p->yajl),
                           (int) strcspn((char *) msg, "\n"), (char *) msg);
        yajl_free_error(p->yajl, msg);
        return p->rc;
    }

    if (st == yajl_status_client_canceled) {
        return p->rc;                 /* a callback said why */
    }

    p->consumed += len;

    return INFER_OK;
}


int
infer_request_finish(infer_request_parser_t *p, infer_request_t *req)
{
    unsigned char  *msg;

    if (p->rc != INFER_OK) {
        return p->rc;
    }

    if (p->consumed == 0) {
        infer_request_fail(p, INFER_EJSON, "empty request body");
        return p->rc;
    }

    if (yajl_complete_parse(p->yajl) != yajl_status_ok) {
        if (p->rc != INFER_OK) {
            return p->rc;
        }

        msg = yajl_get_error(p->yajl, 0, NULL, 0);
        infer_request_fail(p, INFER_EJSON, "malformed JSON at the end: %.*s",
                           (int) strcspn((char *) msg, "\n"), (char *) msg);
        yajl_free_error(p->yajl, msg);
        return p->rc;
    }

    if (!p->seen_features && !p->seen_instances) {
        infer_request_fail(p, INFER_EINVAL,
                           "missing \"features\" or \"instances\"");
        return p->rc;
    }

    req->x = p->x;
    req->rows = p->rows;
    req->batch = p->batch;

    return INFER_OK;
}


const char *
infer_request_error(const infer_request_parser_t *p)
{
    return p->err;
}


void
infer_request_parser_free(infer_request_parser_t *p)
{
    if (p == NULL) {
        return;
    }

    yajl_free(p->yajl);
    infer_free(p->alloc, p->x);
    infer_free(p->alloc, p);
}


static int
infer_request_fail(infer_request_parser_t *p, int rc, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, args);
    va_end(args);

    p->rc = rc;

    return 0;                         /* to yajl: stop; the caller reads rc */
}


/* what the parser met where the protocol wants something else */

static int
infer_request_unexpected(infer_request_parser_t *p, const char *what)
{
    char  where[48];

    switch (p->state) {

    case INFER_PARSE_START:
        return infer_request_fail(p, INFER_EINVAL, "the request must be a "
                                  "JSON object, not %s", what);

    case INFER_PARSE_FEATURES:
        return infer_request_fail(p, INFER_EINVAL, "\"features\" must be an "
                                  "array of numbers, not %s", what);

    case INFER_PARSE_INSTANCES:
        return infer_request_fail(p, INFER_EINVAL, "\"instances\" must be an "
                                  "array of arrays of numbers, not %s", what);

    case INFER_PARSE_ROWS:
        return infer_request_fail(p, INFER_EINVAL, "instances[%zu] must be "
                                  "an array of numbers, not %s", p->rows,
                                  what);

    default:                          /* INFER_PARSE_ROW */
        infer_request_where(p, where, sizeof(where));
        return infer_request_fail(p, INFER_EINVAL, "%s must be a number, "
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
        return infer_request_fail(p, INFER_ETOOBIG, "the batch has more "
                                  "than %zu rows", p->opts.max_rows);
    }

    if (p->rows == p->cap) {
        cap = p->cap ? p->cap * 2 : (p->batch ? INFER_JSON_FIRST_ROWS : 1);

        if (cap > p->opts.max_rows) {
            cap = p->opts.max_rows;
        }

        x = infer_alloc(p->alloc, cap * p->opts.nfeatures * sizeof(float));
        if (x == NULL) {
            return infer_request_fail(p, INFER_ERROR, "out of memory");
        }

        if (p->rows) {
            memcpy(x, p->x, p->rows * p->opts.nfeatures * sizeof(float));
        }

        infer_free(p->alloc, p->x);
        p->x = x;
        p->cap = cap;
    }

    p->col = 0;
    p->state = INFER_PARSE_ROW;

    return 1;
}


static int
infer_request_end_row(infer_request_parser_t *p)
{
    if (p->col != p->opts.nfeatures) {
        if (p->batch) {
            return infer_request_fail(p, INFER_ESHAPE, "instances[%zu] has "
                                      "%zu features, the model takes %zu",
                                      p->rows, p->col, p->opts.nfeatures);
        }

        return infer_request_fail(p, INFER_ESHAPE, "\"features\" has %zu "
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

    char    buf[INFER_JSON_MAX_NUMBER + 1], where[48];
    float   f;
    double  d;

    if (p->state == INFER_PARSE_SKIP) {
        return infer_request_skip_scalar(p);
    }

    if (p->state != INFER_PARSE_ROW) {
        return infer_request_unexpected(p, "a number");
    }

    infer_request_where(p, where, sizeof(where));

    if (len > INFER_JSON_MAX_NUMBER) {
        return infer_request_fail(p, INFER_EINVAL, "%s: a number of more "
                                  "than %d characters", where,
                                  INFER_JSON_MAX_NUMBER);
    }

    memcpy(buf, s, len);
    buf[len] = '\0';

    d = strtod(buf, NULL);
    f = (float) d;

    if (!isfinite(f)) {
        return infer_request_fail(p, INFER_ERANGE, "%s: %.32s is not a "
                                  "finite 32-bit float", where, buf);
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
            return infer_request_fail(p, INFER_EINVAL, "nesting deeper than "
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
            return infer_request_fail(p, INFER_EINVAL, "give one "
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
            return infer_request_fail(p, INFER_EINVAL, "give one "
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

    case INFER_PARSE_INSTANCES:
        p->state = INFER_PARSE_ROWS;
        return 1;

    case INFER_PARSE_SKIP:
        if (++p->skip_depth > INFER_JSON_MAX_DEPTH) {
            return infer_request_fail(p, INFER_EINVAL, "nesting deeper than "
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
        return infer_request_end_row(p);

    case INFER_PARSE_ROWS:
        if (p->rows == 0) {
            return infer_request_fail(p, INFER_ESHAPE,
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
infer_json_write_response(infer_buf_t *out, const infer_response_t *resp)
{
    char      ms[32];
    size_t    r;
    yajl_gen  g;

    g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return INFER_ERROR;
    }

    yajl_gen_config(g, yajl_gen_print_callback, infer_json_print, out);

    yajl_gen_map_open(g);

    if (resp->batch) {
        infer_json_gen_key(g, "predictions");
        yajl_gen_array_open(g);

        for (r = 0; r < resp->rows; r++) {
            infer_json_gen_row(g, resp->y + r * resp->noutputs,
                               resp->noutputs);
        }

        yajl_gen_array_close(g);

    } else {
        infer_json_gen_key(g, "prediction");
        infer_json_gen_row(g, resp->y, resp->noutputs);
    }

    infer_json_gen_key(g, "model_name");
    yajl_gen_string(g, (const unsigned char *) resp->model_name,
                    resp->model_name_len);

    infer_json_gen_key(g, "model_version");
    yajl_gen_string(g, (const unsigned char *) resp->model_version,
                    resp->model_version_len);

    infer_json_gen_key(g, "latency_ms");
    yajl_gen_number(g, ms, snprintf(ms, sizeof(ms), "%.3f",
                                    resp->latency_ms));

    yajl_gen_map_close(g);
    yajl_gen_free(g);

    return out->failed ? INFER_ERROR : INFER_OK;
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


size_t
infer_json_format_float(char *buf, size_t len, float v)
{
    int  n;

    n = snprintf(buf, len, "%.6g", v);

    if (strtof(buf, NULL) != v) {
        n = snprintf(buf, len, "%.9g", v);   /* 9 digits: any float32 */
    }

    return (size_t) n;
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


static void
infer_json_gen_float(yajl_gen g, float v)
{
    char  buf[32];

    yajl_gen_number(g, buf, infer_json_format_float(buf, sizeof(buf), v));
}


/* one output is a number, several an array */

static void
infer_json_gen_row(yajl_gen g, const float *y, size_t n)
{
    size_t  i;

    if (n == 1) {
        infer_json_gen_float(g, y[0]);
        return;
    }

    yajl_gen_array_open(g);

    for (i = 0; i < n; i++) {
        infer_json_gen_float(g, y[i]);
    }

    yajl_gen_array_close(g);
}
