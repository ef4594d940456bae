/*
 * The simple protocol's common request, read in one pass without yajl.
 *
 * Almost every request is {"features":[...]} or {"instances":[[...]]},
 * small enough to arrive in one buffer.  Through yajl's callbacks such a
 * body of three features cost 2,800 instructions in nginx (the handle and
 * its buffers also grew the request's pool past its first block), more
 * than the rest of the module's work on it; this reader takes 600.
 *
 * It accepts a strict subset of JSON (one key, plain JSON numbers, JSON
 * whitespace) and declines everything else, valid or not, without saying
 * why: the streaming parser then reads the body from the start and gives
 * the answer, or the error, it always gave.  What this reader accepts, it
 * reads as the streaming parser does (the request fuzzer checks that both
 * agree, bit for bit).
 */

#include <math.h>
#include <string.h>

#include "infer_json.h"


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} infer_whole_t;


static void infer_whole_space(infer_whole_t *w);
static int infer_whole_byte(infer_whole_t *w, unsigned char c);
static int infer_whole_key(infer_whole_t *w, infer_request_t *req);
static int infer_whole_row(infer_whole_t *w, float *x, size_t n);
static int infer_whole_number(infer_whole_t *w, float *v);


int
infer_request_parse_whole(const infer_request_opts_t *opts,
    const unsigned char *data, size_t len, const infer_alloc_t *alloc,
    infer_request_t *req)
{
    size_t          n, cap;
    float          *x;
    infer_whole_t   w;

    n = opts->nfeatures;
    w.p = data;
    w.end = data + len;

    if (n == 0 || !infer_whole_byte(&w, '{') || !infer_whole_key(&w, req)) {
        return INFER_DECLINED;
    }

    /* a row takes at least 2n + 1 bytes ("[1,2]"): room for every row */

    cap = req->batch ? len / (2 * n + 1) : 1;

    if (cap > opts->max_rows) {
        cap = opts->max_rows;
    }

    if (cap == 0) {
        return INFER_DECLINED;
    }

    x = infer_alloc(alloc, cap * n * sizeof(float));
    if (x == NULL) {
        return INFER_ERROR;
    }

    req->x = x;
    req->rows = 0;

    if (req->batch && !infer_whole_byte(&w, '[')) {
        goto declined;
    }

    do {
        if (req->rows == cap || !infer_whole_row(&w, x + req->rows * n, n)) {
            goto declined;
        }

        req->rows++;

    } while (req->batch && infer_whole_byte(&w, ','));

    if (req->batch && !infer_whole_byte(&w, ']')) {
        goto declined;
    }

    if (!infer_whole_byte(&w, '}')) {
        goto declined;
    }

    infer_whole_space(&w);

    if (w.p == w.end) {
        return INFER_OK;
    }

declined:

    infer_free(alloc, x);

    return INFER_DECLINED;
}


/* JSON's four whitespace bytes */

static void
infer_whole_space(infer_whole_t *w)
{
    while (w->p < w->end
           && (*w->p == ' ' || *w->p == '\n' || *w->p == '\r'
               || *w->p == '\t'))
    {
        w->p++;
    }
}


/* c after optional whitespace: consumed, or 0 */

static int
infer_whole_byte(infer_whole_t *w, unsigned char c)
{
    if (w->p < w->end && *w->p == c) {          /* compact JSON */
        w->p++;
        return 1;
    }

    infer_whole_space(w);

    if (w->p < w->end && *w->p == c) {
        w->p++;
        return 1;
    }

    return 0;
}


/* "features": or "instances": (no escapes: the key is spelled plainly) */

static int
infer_whole_key(infer_whole_t *w, infer_request_t *req)
{
    size_t  left;

    static const char  features[] = "\"features\"";
    static const char  instances[] = "\"instances\"";

    infer_whole_space(w);
    left = w->end - w->p;

    if (left >= sizeof(features) - 1
        && memcmp(w->p, features, sizeof(features) - 1) == 0)
    {
        w->p += sizeof(features) - 1;
        req->batch = 0;

    } else if (left >= sizeof(instances) - 1
               && memcmp(w->p, instances, sizeof(instances) - 1) == 0)
    {
        w->p += sizeof(instances) - 1;
        req->batch = 1;

    } else {
        return 0;
    }

    return infer_whole_byte(w, ':');
}


/* [v,...] of exactly n numbers into x */

static int
infer_whole_row(infer_whole_t *w, float *x, size_t n)
{
    size_t  i;

    if (!infer_whole_byte(w, '[')) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (i > 0 && !infer_whole_byte(w, ',')) {
            return 0;
        }

        infer_whole_space(w);

        if (!infer_whole_number(w, &x[i])) {
            return 0;
        }
    }

    return infer_whole_byte(w, ']');
}


/*
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, converted as the
 * streaming parser converts it (infer_json_parse_double()), with its
 * Clinger fast path taken in the same scan; a number that is not a
 * finite float is left to the streaming parser, and to its error message.
 */

static int
infer_whole_number(infer_whole_t *w, float *v)
{
    int                   neg, eneg, exp, e, exact;
    float                 f;
    double                d;
    uint64_t              m;
    const unsigned char  *p, *end, *start, *digits;

    start = w->p;
    end = w->end;
    p = start;

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
        return 0;
    }

    if (p < end && *p == '.') {
        for (digits = ++p; p < end && *p >= '0' && *p <= '9'; p++) {
            exact &= (m < INFER_JSON_EXACT_MANTISSA / 10);
            m = m * 10 + (*p - '0');
            exp--;
        }

        if (p == digits) {
            return 0;
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
            return 0;
        }

        exp += eneg ? -e : e;
    }

    if (p - start > INFER_JSON_MAX_NUMBER) {
        return 0;
    }

    if (exact && exp >= -INFER_JSON_EXACT_POW10
        && exp <= INFER_JSON_EXACT_POW10)
    {
        d = (exp < 0) ? (double) m / infer_json_pow10[-exp]
                      : (double) m * infer_json_pow10[exp];
        d = neg ? -d : d;

    } else {
        d = infer_json_parse_double((const char *) start, p - start);
    }

    f = (float) d;

    if (!isfinite(f)) {
        return 0;
    }

    *v = f;
    w->p = p;

    return 1;
}
