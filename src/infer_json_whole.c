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

    /* flat rows only: nested ones (an image's) go to the streaming parser */

    if (n == 0 || opts->ndims > 1 || !infer_whole_byte(&w, '{')
        || !infer_whole_key(&w, req))
    {
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
    req->x = NULL;                  /* nothing of it to use or to free */

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
 * A JSON number converted as the streaming parser converts it; a number
 * that is not a finite float is left to the streaming parser, and to its
 * error message.
 */

static int
infer_whole_number(infer_whole_t *w, float *v)
{
    float        f;
    double       d;
    const char  *end;

    end = infer_json_scan_number((const char *) w->p, (const char *) w->end,
                                 &d);
    if (end == NULL) {
        return 0;
    }

    f = (float) d;

    if (!isfinite(f)) {
        return 0;
    }

    *v = f;
    w->p = (const unsigned char *) end;

    return 1;
}
