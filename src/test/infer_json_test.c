/*
 * The simple protocol's codec: parsed values, the status class and exact
 * message of each bad request, chunk-boundary independence, and the exact
 * bytes of responses.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "infer_json.h"
#include "infer_test_pool.h"
#include "infer_unit_test.h"


typedef struct {
    int              rc;
    infer_request_t  req;
    char             err[INFER_ERRLEN];
    float            x[64];
} parsed_t;


static void parse(const char *body, size_t chunk, size_t nfeatures,
    size_t max_rows, parsed_t *out);
static int  use_pool;                   /* parse() from a request pool */

static void test_single_and_batch(void);
static void test_chunking(void);
static void test_large_batch(void);
static void test_bad_requests(void);
static void test_missing_values(void);
static void test_responses(void);
static void test_format_float(void);
static void test_format_float_paths(void);
static int same_text(float v);
static void test_parse_double(void);
static void test_scan_number(void);
static void test_whole(void);
static int whole(const char *body, size_t max_rows, infer_request_t *req);
static void test_nested_rows(void);
static void test_nested_responses(void);


/* feeds body in chunks of chunk bytes (0: all at once) */

static void
parse(const char *body, size_t chunk, size_t nfeatures, size_t max_rows,
    parsed_t *out)
{
    size_t                   len, off, n;
    infer_request_opts_t     opts = { nfeatures, max_rows, 0, 0, NULL };
    infer_request_parser_t  *p;

    infer_alloc_t        pool;
    infer_test_block_t  *blocks = NULL;

    memset(out, 0, sizeof(parsed_t));

    pool = infer_test_pool(&blocks);
    p = infer_request_parser_create(&opts, use_pool ? &pool
                                                    : &infer_alloc_libc);
    if (p == NULL) {
        out->rc = INFER_ERROR;
        return;
    }

    len = strlen(body);
    chunk = chunk ? chunk : (len ? len : 1);

    for (off = 0; off < len; off += n) {
        n = (len - off < chunk) ? len - off : chunk;

        if (infer_request_parse(p, (const unsigned char *) body + off, n)
            != INFER_OK)
        {
            break;
        }
    }

    out->rc = infer_request_finish(p, &out->req);
    snprintf(out->err, sizeof(out->err), "%s", infer_request_error(p));

    if (out->rc == INFER_OK) {
        n = out->req.rows * nfeatures;
        memcpy(out->x, out->req.x,
               (n < 64 ? n : 64) * sizeof(float));
    }

    infer_request_parser_free(p);
    infer_test_pool_release(&blocks);
}


static void
test_single_and_batch(void)
{
    parsed_t  r;

    parse("{\"features\":[1.0,2.0,3.5]}", 0, 3, 8, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.req.rows == 1 && !r.req.batch);
    CHECK(r.x[0] == 1.0f && r.x[1] == 2.0f && r.x[2] == 3.5f);

    parse(" {\"id\":\"a\",\"instances\":[[1,2,3],[-4e0,0.5,1E2]],"
          "\"parameters\":{\"a\":[{\"b\":null},true]}} ", 0, 3, 8, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.req.rows == 2 && r.req.batch);
    CHECK(r.x[3] == -4.0f && r.x[4] == 0.5f && r.x[5] == 100.0f);

    /* the double-then-float rounding numpy does */

    parse("{\"features\":[0.1,16777217,1e-50]}", 0, 3, 8, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.x[0] == (float) 0.1 && r.x[1] == 16777216.0f && r.x[2] == 0.0f);
}


static void
test_chunking(void)
{
    char         deep[402], deep_err[INFER_ERRLEN];
    size_t       chunk;
    parsed_t     whole, r;
    const char  *body = "{\"instances\":[[1.25,-2,3e1],[4,5.5,6]],"
                        "\"x\":\"skip\"}";

    parse(body, 0, 3, 8, &whole);
    CHECK(whole.rc == INFER_OK);

    /* yajl's state from a request pool too, as in nginx: its buffer
     * grows by realloc() while tokens span chunks, and its stack with
     * nesting (200 deep: past the 128 bytes it starts with) */

    memset(deep, '[', 200);
    strcpy(deep + 200, "1");
    memset(deep + 201, ']', 200);
    deep[401] = '\0';
    parse(deep, 0, 3, 8, &r);
    CHECK(r.rc == INFER_EINVAL);
    snprintf(deep_err, sizeof(deep_err), "%s", r.err);

    for (use_pool = 0; use_pool <= 1; use_pool++) {
        for (chunk = 1; chunk < 8; chunk++) {
            parse(body, chunk, 3, 8, &r);
            CHECK(r.rc == INFER_OK && r.req.rows == 2);
            CHECK(memcmp(r.x, whole.x, 6 * sizeof(float)) == 0);
        }

        parse("{\"features\":[1,2,3", 1, 3, 8, &r);
        CHECK(r.rc == INFER_EJSON);

        parse("{\"a\":[[[[1]]]],"
              "\"features\":[1234567890.125,2,3]}", 2, 3, 8, &r);
        CHECK(r.rc == INFER_OK && r.x[0] == 1234567890.125f);

        parse(deep, 3, 3, 8, &r);
        CHECK(r.rc == INFER_EINVAL);
        CHECK_STR(r.err, deep_err);
    }

    use_pool = 0;
}


static void
test_large_batch(void)
{
    size_t                   i, len;
    char                    *body;
    infer_request_t          req;
    infer_request_opts_t     opts = { 2, 1000, 0, 0, NULL };
    infer_request_parser_t  *p;

    body = malloc(1000 * 32 + 64);
    len = sprintf(body, "{\"instances\":[");

    for (i = 0; i < 1000; i++) {
        len += sprintf(body + len, "%s[%zu,%zu.5]", i ? "," : "", i, i);
    }

    len += sprintf(body + len, "]}");

    p = infer_request_parser_create(&opts, &infer_alloc_libc);
    CHECK(infer_request_parse(p, (unsigned char *) body, len) == INFER_OK);
    CHECK(infer_request_finish(p, &req) == INFER_OK);
    CHECK(req.rows == 1000);
    CHECK(req.x[0] == 0.0f && req.x[1] == 0.5f);
    CHECK(req.x[1998] == 999.0f && req.x[1999] == 999.5f);
    infer_request_parser_free(p);

    /* one row more than allowed */

    opts.max_rows = 999;
    p = infer_request_parser_create(&opts, &infer_alloc_libc);
    CHECK(infer_request_parse(p, (unsigned char *) body, len)
          == INFER_ETOOBIG);
    CHECK_STR(infer_request_error(p), "the batch has more than 999 rows");
    infer_request_parser_free(p);

    free(body);
}


static void
test_bad_requests(void)
{
    size_t    i;
    parsed_t  r;

    static const struct {
        const char  *body;
        int          rc;
        const char  *err;
    } cases[] = {
        { "", INFER_EJSON, "empty request body" },
        { "{\"features\":[1,2", INFER_EJSON,
          "malformed JSON at the end: parse error: premature EOF" },
        { "{\"features\":[NaN,1,2]}", INFER_EJSON,
          "malformed JSON near byte 14: lexical error: invalid char in "
          "json text." },
        { "{\"features\":[1,2,3]} x", INFER_EJSON,
          "malformed JSON near byte 22: parse error: trailing garbage" },
        { "[1,2,3]", INFER_EINVAL,
          "the request must be a JSON object, not an array" },
        { "42", INFER_EINVAL,
          "the request must be a JSON object, not a number" },
        { "{}", INFER_EINVAL, "missing \"features\" or \"instances\"" },
        { "{\"features\":3}", INFER_EINVAL,
          "\"features\" must be an array of numbers, not a number" },
        { "{\"features\":[1,\"2\",3]}", INFER_EINVAL,
          "features[1] must be a number, not a string" },
        { "{\"features\":[1,true,3]}", INFER_EINVAL,
          "features[1] must be a number, not a boolean" },
        { "{\"features\":[1,null,3]}", INFER_EINVAL,
          "features[1] must be a number, not null" },
        { "{\"features\":[[1,2,3]]}", INFER_EINVAL,
          "features[0] must be a number, not an array" },
        { "{\"features\":[{}]}", INFER_EINVAL,
          "features[0] must be a number, not an object" },
        { "{\"instances\":[1,2,3]}", INFER_EINVAL,
          "instances[0] must be an array of numbers, not a number" },
        { "{\"instances\":[[1,2,3],[4,[5],6]]}", INFER_EINVAL,
          "instances[1][1] must be a number, not an array" },
        { "{\"instances\":{}}", INFER_EINVAL,
          "\"instances\" must be an array of arrays of numbers, not an "
          "object" },
        { "{\"features\":[1,2,3],\"features\":[1,2,3]}", INFER_EINVAL,
          "give one \"features\" or one \"instances\"" },
        { "{\"features\":[1,2,3],\"instances\":[[1,2,3]]}", INFER_EINVAL,
          "give one \"features\" or one \"instances\"" },
        { "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]"
          "]]]]]]]]]}", INFER_EINVAL, "nesting deeper than 32 levels" },
        { "{\"features\":[1,2]}", INFER_ESHAPE,
          "\"features\" has 2 features, the model takes 3" },
        { "{\"features\":[1,2,3,4,5]}", INFER_ESHAPE,
          "\"features\" has 5 features, the model takes 3" },
        { "{\"instances\":[[1,2,3],[1,2]]}", INFER_ESHAPE,
          "instances[1] has 2 features, the model takes 3" },
        { "{\"instances\":[]}", INFER_ESHAPE, "\"instances\" is empty" },
        { "{\"features\":[1,2,1e999]}", INFER_ERANGE,
          "features[2]: 1e999 is not a finite 32-bit float" },
        { "{\"instances\":[[1,2,3],[4,-3.5e38,6]]}", INFER_ERANGE,
          "instances[1][1]: -3.5e38 is not a finite 32-bit float" },
        { "{\"instances\":[[1,2,3],[1,2,3],[1,2,3]]}", INFER_ETOOBIG,
          "the batch has more than 2 rows" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse(cases[i].body, 0, 3, 2, &r);

        CHECK(r.rc == cases[i].rc);
        CHECK_STR(r.err, cases[i].err);
    }
}


static void
test_missing_values(void)
{
    infer_request_t          req;
    infer_request_opts_t     opts = { 3, 8, 1, 0, NULL };
    infer_request_parser_t  *p;
    const char              *body = "{\"features\":[1,null,3]}";

    p = infer_request_parser_create(&opts, &infer_alloc_libc);
    CHECK(infer_request_parse(p, (unsigned char *) body, strlen(body))
          == INFER_OK);
    CHECK(infer_request_finish(p, &req) == INFER_OK);
    CHECK(req.x[0] == 1.0f && isnan(req.x[1]) && req.x[2] == 3.0f);
    infer_request_parser_free(p);
}


static char  first_text[32];            /* y[0] as response() wrote it */


static char *
response(const float *y, size_t rows, size_t noutputs, int batch)
{
    static char       text[512];
    infer_buf_t       fields, out;
    infer_response_t  resp;

    infer_buf_init(&fields, &infer_alloc_libc);
    CHECK(infer_json_model_fields(&fields, "m\"1", 3, "2", 1) == INFER_OK);

    memset(&resp, 0, sizeof(resp));
    resp.model_fields = fields.data;
    resp.model_fields_len = fields.len;
    resp.y = y;
    resp.rows = rows;
    resp.noutputs = noutputs;
    resp.batch = batch;
    resp.latency_ns = 4210;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_json_write_response(&out, &resp) == INFER_OK);
    snprintf(text, sizeof(text), "%.*s", (int) out.len, out.data);
    snprintf(first_text, sizeof(first_text), "%.*s", (int) resp.first_len,
             out.data + resp.first_off);
    infer_buf_release(&out);
    infer_buf_release(&fields);

    return text;
}


static void
test_responses(void)
{
    infer_buf_t  out;
    const float  y[] = { 6.5f, 4.0f, 0.1f, -2.0f };

    CHECK_STR(response(y, 1, 1, 0),
              "{\"prediction\":6.5,\"model_name\":\"m\\\"1\","
              "\"model_version\":\"2\",\"latency_ms\":0.004}");

    CHECK_STR(response(y, 2, 1, 1),
              "{\"predictions\":[6.5,4],\"model_name\":\"m\\\"1\","
              "\"model_version\":\"2\",\"latency_ms\":0.004}");

    CHECK_STR(response(y, 1, 2, 0),
              "{\"prediction\":[6.5,4],\"model_name\":\"m\\\"1\","
              "\"model_version\":\"2\",\"latency_ms\":0.004}");

    CHECK_STR(response(y, 2, 2, 1),
              "{\"predictions\":[[6.5,4],[0.1,-2]],\"model_name\":"
              "\"m\\\"1\",\"model_version\":\"2\",\"latency_ms\":0.004}");
    CHECK_STR(first_text, "6.5");

    CHECK_STR(response(y + 2, 1, 2, 1),
              "{\"predictions\":[[0.1,-2]],\"model_name\":"
              "\"m\\\"1\",\"model_version\":\"2\",\"latency_ms\":0.004}");
    CHECK_STR(first_text, "0.1");

    CHECK_STR(response(y + 3, 1, 1, 0),
              "{\"prediction\":-2,\"model_name\":"
              "\"m\\\"1\",\"model_version\":\"2\",\"latency_ms\":0.004}");
    CHECK_STR(first_text, "-2");

    CHECK_STR(response(y, 0, 2, 1),
              "{\"predictions\":[],\"model_name\":"
              "\"m\\\"1\",\"model_version\":\"2\",\"latency_ms\":0.004}");
    CHECK_STR(first_text, "");

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_json_write_error(&out, "a \"quoted\"\n\\ msg") == INFER_OK);
    CHECK(out.len == strlen("{\"error\":\"a \\\"quoted\\\"\\n\\\\ msg\"}"));
    CHECK(memcmp(out.data, "{\"error\":\"a \\\"quoted\\\"\\n\\\\ msg\"}",
                 out.len) == 0);
    infer_buf_release(&out);
}


static void
test_format_float(void)
{
    char  buf[32];

    infer_json_format_float(buf, sizeof(buf), 6.5f);
    CHECK_STR(buf, "6.5");
    infer_json_format_float(buf, sizeof(buf), 0.1f);
    CHECK_STR(buf, "0.1");
    infer_json_format_float(buf, sizeof(buf), 1.0f / 3.0f);
    CHECK_STR(buf, "0.333333343");
    infer_json_format_float(buf, sizeof(buf), 1e20f);
    CHECK_STR(buf, "1e+20");
    infer_json_format_float(buf, sizeof(buf), 16777216.0f);
    CHECK_STR(buf, "16777216");

    /* past int32_t: not converted to one (UBSan, the v2 fuzz campaign) */
    infer_json_format_float(buf, sizeof(buf), 1e11f);
    CHECK(strtof(buf, NULL) == 1e11f);
    infer_json_format_float(buf, sizeof(buf), -3e9f);
    CHECK(strtof(buf, NULL) == -3e9f);
    infer_json_format_float(buf, sizeof(buf), -0.0f);
    CHECK_STR(buf, "-0");
    infer_json_format_float(buf, sizeof(buf), 1.17549435e-38f);
    CHECK(strtof(buf, NULL) == 1.17549435e-38f);
    infer_json_format_float(buf, sizeof(buf), -999999.0f);
    CHECK_STR(buf, "-999999");
    infer_json_format_float(buf, sizeof(buf), 1000000.0f);
    CHECK_STR(buf, "1e+06");
    infer_json_format_float(buf, sizeof(buf), 0.0f);
    CHECK_STR(buf, "0");
    infer_json_format_float(buf, sizeof(buf), -1.5f);
    CHECK_STR(buf, "-1.5");
}


/*
 * The fast path against snprintf() and strtof(): the same text for
 * random bit patterns (every exponent), random values in the ranges
 * models answer in, and the edges: powers of two and ten, 6-digit
 * decimals and their neighbours, ties.  One CHECK a group, counting
 * the floats that differ.
 */

static void
test_format_float_paths(void)
{
    int       i, j, bad;
    float     f;
    uint32_t  bits, seed;

    seed = 20261123;
    bad = 0;

    for (i = 0; i < 400000; i++) {              /* any finite float */
        seed = seed * 1664525u + 1013904223u;
        bits = seed;
        memcpy(&f, &bits, sizeof(f));

        if (isfinite(f)) {
            bad += !same_text(f);
        }
    }

    CHECK(bad == 0);

    bad = 0;

    for (i = 0; i < 400000; i++) {              /* scores, probabilities */
        seed = seed * 1664525u + 1013904223u;
        f = (float) (seed / 4294967296.0) * ((i % 7) ? 1.0f : 3000.0f);
        bad += !same_text(f) + !same_text(-f) + !same_text(f / 1e5f);
    }

    CHECK(bad == 0);

    bad = 0;

    for (i = -149; i < 128; i++) {              /* powers of two, +-1 ulp */
        f = ldexpf(1.0f, i);
        bad += !same_text(f) + !same_text(nextafterf(f, 0))
               + !same_text(nextafterf(f, INFINITY));
    }

    for (i = -45; i < 39; i++) {                /* powers of ten, +-1 ulp */
        f = (float) pow(10, i);
        bad += !same_text(f) + !same_text(nextafterf(f, 0))
               + !same_text(nextafterf(f, INFINITY));
    }

    for (i = 0; i < 200000; i++) {              /* short decimals, near */
        seed = seed * 1664525u + 1013904223u;
        f = (float) ((seed % 1000000) * pow(10, (int) (seed >> 24) % 30 - 20));

        for (j = -2; j <= 2; j++) {
            bad += !same_text(f);
            f = nextafterf(f, INFINITY);
        }
    }

    for (i = 0; i < 100000; i++) {              /* x.5 at the 7th digit */
        f = (float) (1000000 + 2 * i + 1) * 5.0f;
        bad += !same_text(f) + !same_text(f / 1024);
    }

    CHECK(bad == 0);
}


static int
same_text(float v)
{
    char    fast[INFER_JSON_FLOAT_LEN], slow[64];
    size_t  n;

    n = infer_json_format_float(fast, sizeof(fast), v);
    infer_json_format_float_printf(slow, sizeof(slow), v);

    if (strcmp(fast, slow) != 0 || n != strlen(fast)) {
        fprintf(stderr, "format_float(%a): \"%s\", printf: \"%s\"\n",
                (double) v, fast, slow);
        return 0;
    }

    return 1;
}


/* the fast path must give strtod()'s double, bit for bit */

static void
test_parse_double(void)
{
    int          i, bad;
    char         s[64];
    size_t       k;
    unsigned     seed;
    const char  *fixed[] = {
        "0", "-0", "1", "6.5", "0.1", "3.5e38", "1e22", "1e23", "1e-22",
        "1e-23", "9007199254740991", "9007199254740993", "123456789012345678",
        "0.000000000000000000000000001", "4.9e-324", "1.7976931348623157e308",
        "1E+2", "-2.5E-3", "100000000000000000000000", "0.3", "2.675"
    };

    for (k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++) {
        CHECK(infer_json_parse_double(fixed[k], strlen(fixed[k]))
              == strtod(fixed[k], NULL));
    }

    bad = 0;
    seed = 12345;

    for (i = 0; i < 200000; i++) {
        seed = seed * 1103515245 + 12345;
        snprintf(s, sizeof(s), "%s%u.%0*u%s%d", (seed & 1) ? "-" : "",
                 seed % 100000, (int) (seed >> 28), seed % 9973,
                 (seed & 2) ? "e" : "e-", (int) (seed >> 8) % 30);

        if (infer_json_parse_double(s, strlen(s)) != strtod(s, NULL)) {
            bad++;
        }
    }

    CHECK(bad == 0);
}


/* JSON's number grammar, greedy as the reader is: where it ends, or NULL */

static const char *
ref_number_end(const char *p, const char *end)
{
    const char  *q;

    p += (p < end && *p == '-');

    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') { p++; }
    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        for (q = ++p; p < end && *p >= '0' && *p <= '9'; p++) { }
        if (p == q) {
            return NULL;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        p += (p < end && (*p == '+' || *p == '-'));
        for (q = p; p < end && *p >= '0' && *p <= '9'; p++) { }
        if (p == q) {
            return NULL;
        }
    }

    return p;
}


/*
 * Numbers as a body has them, followed by what follows them there, the
 * buffer cut at every length from the number's own: the 8-digit word
 * path and the byte loop must end where the grammar does, give strtod()'s
 * double, and refuse what JSON refuses.
 */

static void
test_scan_number(void)
{
    int          i, j, len, cut, bad_value, bad_end, refused_ok;
    char         s[96], text[48];
    double       d, want;
    unsigned     seed;
    const char  *end, *ref;
    const char  *after[] = { ",", "]", "}", " ", "e5", "E-2", ".", "" };
    const char  *refused[] = {
        "01.5", "1.", "-", ".5", "1.e5", "-01", "00", "1.x", "--1", "+1",
        "-a", "1e", "1e+", "0012345678,", "12345678.,"
    };

    bad_value = bad_end = 0;
    seed = 777;

    for (i = 0; i < 100000; i++) {
        seed = seed * 1103515245 + 12345;
        len = 1 + (int) ((seed >> 8) % 17);             /* 1 to 17 digits */
        j = (int) ((seed >> 16) % (len + 1));           /* that many whole */

        snprintf(text, sizeof(text), "%s%s%.*s%s%.*s",
                 (seed & 1) ? "-" : "", (j == 0) ? "0" : "",
                 j, "98765432123456789", (j < len) ? "." : "",
                 len - j, "12345678909876543");

        snprintf(s, sizeof(s), "%s%s,1,2,3,4,5,6,7,8", text,
                 after[(seed >> 4) % (sizeof(after) / sizeof(after[0]))]);

        for (cut = (int) strlen(text); cut <= (int) strlen(s); cut++) {
            end = infer_json_scan_number(s, s + cut, &d);
            ref = ref_number_end(s, s + cut);

            if (end != ref) {
                bad_end++;
                continue;
            }

            if (end != NULL) {
                memcpy(text, s, end - s);
                text[end - s] = '\0';
                want = strtod(text, NULL);
                bad_value += (d != want || signbit(d) != signbit(want));
            }
        }
    }

    CHECK(bad_end == 0);
    CHECK(bad_value == 0);

    refused_ok = 0;

    for (j = 0; j < (int) (sizeof(refused) / sizeof(refused[0])); j++) {
        snprintf(s, sizeof(s), "%s,1,2,3,4,5,6,7,8", refused[j]);
        refused_ok += (infer_json_scan_number(s, s + strlen(s), &d) == NULL);
    }

    CHECK(refused_ok == (int) (sizeof(refused) / sizeof(refused[0])));
}


/* rows nested as a model's [2][3]: whole, in chunks of every size, refused */

static void
test_nested_rows(void)
{
    int                      rc;
    size_t                   chunk, off, n, len;
    infer_request_t          req;
    infer_request_parser_t  *p;
    static const size_t      dims[] = { 2, 3 };
    const char              *body;
    infer_request_opts_t     opts = { 6, 8, 0, 2, dims };

    body = "{\"instances\":[[[1,2,3],[4,5,6]],[[7,8,9],[10,11,12.5]]]}";
    len = strlen(body);

    for (chunk = 1; chunk <= len; chunk++) {
        p = infer_request_parser_create(&opts, &infer_alloc_libc);

        for (off = 0; off < len; off += n) {
            n = (len - off < chunk) ? len - off : chunk;
            (void) infer_request_parse(p, (const unsigned char *) body + off,
                                       n);
        }

        rc = infer_request_finish(p, &req);
        CHECK(rc == INFER_OK && req.rows == 2 && req.batch);
        CHECK(rc == INFER_OK && req.x[0] == 1.0f && req.x[5] == 6.0f
              && req.x[11] == 12.5f);
        infer_request_parser_free(p);
    }

    /* the one-pass reader leaves nested rows to the streaming parser */

    CHECK(infer_request_parse_whole(&opts, (const unsigned char *) body, len,
                                    &infer_alloc_libc, &req)
          == INFER_DECLINED);

#define NESTED(json, want_rc, want_err)                                      \
    do {                                                                     \
        p = infer_request_parser_create(&opts, &infer_alloc_libc);           \
        (void) infer_request_parse(p, (const unsigned char *) json,          \
                                   strlen(json));                            \
        CHECK(infer_request_finish(p, &req) == want_rc);                     \
        CHECK_STR(infer_request_error(p), want_err);                         \
        infer_request_parser_free(p);                                        \
    } while (0)

    NESTED("{\"features\":[[1,2,3],[4,5,6]]}", INFER_OK, "");
    NESTED("{\"features\":[1,2,3,4,5,6]}", INFER_ESHAPE,
           "\"features\" has a number at depth 1: the model's rows are "
           "[2,3]");
    NESTED("{\"instances\":[[[1,2,3],[4,5]]]}", INFER_ESHAPE,
           "instances[0] has 2 elements at depth 2: the model's rows are "
           "[2,3]");
    NESTED("{\"instances\":[[[1,2,3]]]}", INFER_ESHAPE,
           "instances[0] has 1 elements at depth 1: the model's rows are "
           "[2,3]");
    NESTED("{\"instances\":[[[[1],2,3],[4,5,6]]]}", INFER_ESHAPE,
           "instances[0] is nested deeper than the model's rows, [2,3]");
    NESTED("{\"instances\":[[[1,2,3],[4,5,\"6\"]]]}", INFER_EINVAL,
           "instances[0][5] must be a number, not a string");

#undef NESTED
}


/* a [2][2] output, nested; y's rows 5 apart (a second output after it) */

static void
test_nested_responses(void)
{
    char              text[256];
    infer_buf_t       fields, out;
    infer_response_t  resp;
    static const size_t  dims[] = { 2, 2 };
    const float       y[] = { 1, 2, 3, 4, -9, 5, 6, 7, 8.5f, -9 };

    infer_buf_init(&fields, &infer_alloc_libc);
    CHECK(infer_json_model_fields(&fields, "m", 1, "1", 1) == INFER_OK);

    memset(&resp, 0, sizeof(resp));
    resp.model_fields = fields.data;
    resp.model_fields_len = fields.len;
    resp.y = y;
    resp.rows = 2;
    resp.noutputs = 4;
    resp.stride = 5;
    resp.ndims = 2;
    resp.dims = dims;
    resp.batch = 1;
    resp.latency_ns = 2000;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_json_write_response(&out, &resp) == INFER_OK);
    snprintf(text, sizeof(text), "%.*s", (int) out.len, out.data);
    CHECK_STR(text, "{\"predictions\":[[[1,2],[3,4]],[[5,6],[7,8.5]]],"
                    "\"model_name\":\"m\",\"model_version\":\"1\","
                    "\"latency_ms\":0.002}");

    /* $infer_prediction: y[0]'s text */
    CHECK(resp.first_len == 1 && out.data[resp.first_off] == '1');

    /* the trace id, last, as the response's traceparent has it */

    resp.batch = 0;
    resp.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7";
    out.len = 0;
    CHECK(infer_json_write_response(&out, &resp) == INFER_OK);
    snprintf(text, sizeof(text), "%.*s", (int) out.len, out.data);
    CHECK_STR(text, "{\"prediction\":[[1,2],[3,4]],"
                    "\"model_name\":\"m\",\"model_version\":\"1\","
                    "\"latency_ms\":0.002,"
                    "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}");

    infer_buf_release(&out);
    infer_buf_release(&fields);
}


void
infer_test_json(void)
{
    test_single_and_batch();
    test_chunking();
    test_large_batch();
    test_bad_requests();
    test_missing_values();
    test_responses();
    test_format_float();
    test_format_float_paths();
    test_parse_double();
    test_scan_number();
    test_whole();
    test_nested_rows();
    test_nested_responses();
}


/* the one-pass reader on body, three features; its rc */

static int
whole(const char *body, size_t max_rows, infer_request_t *req)
{
    infer_request_opts_t  opts = { 3, max_rows, 1, 0, NULL };

    return infer_request_parse_whole(&opts, (const unsigned char *) body,
                                     strlen(body), &infer_alloc_libc, req);
}


static void
test_whole(void)
{
    size_t           i;
    parsed_t         r;
    infer_request_t  req;

    static const char  *accepted[] = {
        "{\"features\":[1.0,2.0,3.5]}",
        " {\t\"features\" :\r\n[ 1.5e3 , -0.25 ,7 ] } \n",
        "{\"instances\":[[1,2,3],[-4e0,0.5,1E2],[0.1,16777217,1e-50]]}",
        "{\"features\":[-0,0e+0,1234567890.125]}",
        "{\"features\":[1e-46,3.4028234e38,-1.17549435E-38]}",
    };

    /* valid or not, each is the streaming parser's to read */

    static const char  *declined[] = {
        "{\"features\":[1,2]}",
        "{\"features\":[1,2,3,4]}",
        "{\"features\":[1,2,null]}",
        "{\"id\":\"a\",\"features\":[1,2,3]}",
        "{\"features\":[1,2,3],\"id\":\"a\"}",
        "{\"feat\\u0075res\":[1,2,3]}",
        "{\"features\":[01,2,3]}",
        "{\"features\":[1.,2,3]}",
        "{\"features\":[.5,2,3]}",
        "{\"features\":[1e,2,3]}",
        "{\"features\":[+1,2,3]}",
        "{\"features\":[1e39,2,3]}",
        "{\"features\":[[1,2,3]]}",
        "{\"features\":[1,2,3]}x",
        "{\"features\":[1,2,3]}{}",
        "{\"features\":[1,2,3]",
        "/**/{\"features\":[1,2,3]}",
        "{\"instances\":[]}",
        "{\"instances\":[1,2,3]}",
        "{\"instances\":[[1,2,3],]}",
        "{\"instances\":[[1,2,3],[4,5,6]]}",    /* max_rows is 1 */
        "",
    };

    for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        parse(accepted[i], 0, 3, 8, &r);
        CHECK(r.rc == INFER_OK);

        CHECK(whole(accepted[i], 8, &req) == INFER_OK);
        CHECK(req.rows == r.req.rows && req.batch == r.req.batch);
        CHECK(memcmp(req.x, r.x, req.rows * 3 * sizeof(float)) == 0);
        free(req.x);
    }

    CHECK(whole(accepted[2], 3, &req) == INFER_OK && req.rows == 3);
    free(req.x);

    for (i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        if (whole(declined[i], 1, &req) != INFER_DECLINED) {
            CHECK_STR("accepted", declined[i]);
        }
    }

    CHECK(whole(accepted[2], 2, &req) == INFER_DECLINED);
}
