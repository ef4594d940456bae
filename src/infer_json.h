/*
 * The simple protocol's codec.
 *
 * Requests are parsed with yajl's streaming callbacks, chunk by chunk as
 * nginx hands the body over, straight into a row-major float matrix: no
 * DOM, no copy of the body.  Responses and errors are written with
 * yajl_gen into an infer_buf_t.
 */

#ifndef INFER_JSON_H
#define INFER_JSON_H


#include "infer_core.h"


typedef struct infer_request_parser_s  infer_request_parser_t;


#define INFER_JSON_MAX_DIMS  8                /* of a row */


/*
 * A row's shape: nfeatures numbers, nested as dims when ndims > 1 (an
 * image's [3, 224, 224]); ndims 0 or 1 is a flat row.
 */
typedef struct {
    size_t        nfeatures;
    size_t        max_rows;                  /* infer_max_batch */
    unsigned      missing_ok:1;              /* null is a missing value */
    size_t        ndims;
    const size_t *dims;
} infer_request_opts_t;


typedef struct {
    float        *x;                         /* rows x nfeatures */
    size_t        rows;
    unsigned      batch:1;                   /* "instances", not "features" */
} infer_request_t;


typedef struct {
    const unsigned char  *model_fields;      /* infer_json_model_fields() */
    size_t                model_fields_len;
    const float          *y;                 /* rows x noutputs */
    size_t                rows;
    size_t                noutputs;          /* written a row */
    size_t                stride;            /* y's row; 0: noutputs */
    size_t                ndims;             /* > 1: a row nested as dims */
    const size_t         *dims;
    unsigned              batch:1;
    uint64_t              latency_ns;
    const char           *trace_id;          /* 32 hex digits, or NULL */

    /* set by infer_json_write_response(): y[0]'s text, at out->data + */
    size_t                first_off;
    size_t                first_len;
} infer_response_t;


/*
 * The parser and its matrix are allocated with alloc; yajl's own state is
 * malloc()ed and released by infer_request_parser_free().
 */
infer_request_parser_t *infer_request_parser_create(
    const infer_request_opts_t *opts, const infer_alloc_t *alloc);
int infer_request_parse(infer_request_parser_t *p, const unsigned char *data,
    size_t len);
int infer_request_finish(infer_request_parser_t *p, infer_request_t *req);
const char *infer_request_error(const infer_request_parser_t *p);
void infer_request_parser_free(infer_request_parser_t *p);

/*
 * The common request whole in one buffer, read without yajl (see
 * infer_json_whole.c): INFER_OK and req, its matrix from alloc, exactly as
 * the streaming parser reads it; INFER_DECLINED for anything else, valid
 * or not, for the streaming parser to read; INFER_ERROR (no memory).
 */
int infer_request_parse_whole(const infer_request_opts_t *opts,
    const unsigned char *data, size_t len, const infer_alloc_t *alloc,
    infer_request_t *req);

/*
 * ,"model_name":"m","model_version":"1": escaped by yajl_gen once, when
 * the model loads, so that the hot path only copies it.
 */
int infer_json_model_fields(infer_buf_t *out, const char *name,
    size_t name_len, const char *version, size_t version_len);
int infer_json_write_response(infer_buf_t *out, infer_response_t *resp);
int infer_json_write_error(infer_buf_t *out, const char *msg);


/*
 * A classifier's answer: the k best of a row's n scores, best first, as
 * {"predictions":[{"label":"tabby","score":0.83},...],...}, or with
 * "class":i where there are no labels.  Scores are the model's, or their
 * softmax.
 */
typedef struct {
    const unsigned char  *model_fields;      /* infer_json_model_fields() */
    size_t                model_fields_len;
    const float          *y;                 /* one row's scores */
    size_t                n;
    size_t                k;                 /* at most n */
    const infer_buf_t    *labels;            /* n quoted JSON strings, or
                                                NULL */
    unsigned              softmax:1;
    uint64_t              latency_ns;
    const char           *trace_id;          /* 32 hex digits, or NULL */
    size_t               *top;               /* k indexes: scratch */

    /* set by the writer: the best score's text, at out->data + */
    size_t                first_off;
    size_t                first_len;
} infer_topk_response_t;

int infer_json_write_topk(infer_buf_t *out, infer_topk_response_t *resp);

/*
 * A labels file, one class name a line (the last newline optional, CRs
 * dropped): *labels, *n quoted JSON strings in memory from alloc.  An
 * empty line or invalid UTF-8 is INFER_EINVAL, err naming the line.
 */
int infer_json_labels(const char *text, size_t len,
    const infer_alloc_t *alloc, infer_buf_t **labels, size_t *n, char *err,
    size_t errlen);

#define INFER_JSON_MAX_NUMBER  128          /* characters in one number */

#define INFER_JSON_TRACE_ID_LEN  32    /* a response's trace_id, in hex */

/* the shortest of 6 or 9 significant digits that gives v back */
#define INFER_JSON_FLOAT_LEN  16
/* "%.6g" if it reads back as v, else "%.9g"; buf of INFER_JSON_FLOAT_LEN */
size_t infer_json_format_float(char *buf, size_t len, float v);
/* the same with snprintf() and strtof(): the reference, for tests */
size_t infer_json_format_float_printf(char *buf, size_t len, float v);

/*
 * A JSON number at s: the end of its text, its value (as strtod() reads
 * it, without strtod() when it can) in *d; NULL if s starts with none.
 */
const char *infer_json_scan_number(const char *s, const char *end, double *d);
/* what strtod() makes of s, through infer_json_scan_number() when it can */
double infer_json_parse_double(const char *s, size_t len);

/* 10^0 to 10^22, the powers of ten a double holds exactly */
#define INFER_JSON_EXACT_POW10  22
extern const double  infer_json_pow10[INFER_JSON_EXACT_POW10 + 1];


#endif /* INFER_JSON_H */
