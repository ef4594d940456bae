#include <stdlib.h>
#include <string.h>

#include "infer_core.h"


static void *infer_libc_alloc(void *ctx, size_t size);
static void infer_libc_free(void *ctx, void *p);


const infer_alloc_t  infer_alloc_libc = {
    infer_libc_alloc, infer_libc_free, NULL
};


static void *
infer_libc_alloc(void *ctx, size_t size)
{
    (void) ctx;

    return malloc(size);
}


static void
infer_libc_free(void *ctx, void *p)
{
    (void) ctx;

    free(p);
}


void *
infer_alloc(const infer_alloc_t *a, size_t size)
{
    return a->alloc(a->ctx, size);
}


void
infer_free(const infer_alloc_t *a, void *p)
{
    if (p != NULL && a->free != NULL) {
        a->free(a->ctx, p);
    }
}


void
infer_buf_init(infer_buf_t *b, const infer_alloc_t *alloc)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->alloc = alloc;
    b->failed = 0;
}


/* room for len more bytes: INFER_OK, or INFER_ERROR and b->failed */

int
infer_buf_reserve(infer_buf_t *b, size_t len)
{
    size_t          cap;
    unsigned char  *p;

    if (b->failed || b->alloc == NULL) {
        b->failed = 1;
        return INFER_ERROR;
    }

    if (b->len + len <= b->cap) {
        return INFER_OK;
    }

    cap = b->cap ? b->cap * 2 : 256;

    while (cap < b->len + len) {
        cap *= 2;
    }

    /* no realloc: a pool allocator cannot grow in place */

    p = infer_alloc(b->alloc, cap);
    if (p == NULL) {
        b->failed = 1;
        return INFER_ERROR;
    }

    if (b->len) {
        memcpy(p, b->data, b->len);
    }

    infer_free(b->alloc, b->data);
    b->data = p;
    b->cap = cap;

    return INFER_OK;
}


void
infer_buf_append(infer_buf_t *b, const void *data, size_t len)
{
    if (infer_buf_reserve(b, len) != INFER_OK) {
        return;
    }

    memcpy(b->data + b->len, data, len);
    b->len += len;
}


void
infer_buf_release(infer_buf_t *b)
{
    infer_free(b->alloc, b->data);
    infer_buf_init(b, b->alloc);
}


/* at least one digit, no sign, no overflow; returns the end or NULL */

const char *
infer_parse_uint64(const char *p, const char *end, uint64_t *n)
{
    uint64_t     v;
    unsigned     d;
    const char  *start;

    v = 0;
    start = p;

    while (p < end && *p >= '0' && *p <= '9') {
        d = *p++ - '0';

        if (v > (UINT64_MAX - d) / 10) {
            return NULL;
        }

        v = v * 10 + d;
    }

    if (p == start) {
        return NULL;
    }

    *n = v;

    return p;
}


size_t
infer_format_uint64(char *buf, uint64_t v)
{
    char    tmp[INFER_INT64_LEN], *p;
    size_t  n;

    p = tmp + sizeof(tmp);

    do {
        *--p = (char) ('0' + v % 10);
        v /= 10;
    } while (v);

    n = (size_t) (tmp + sizeof(tmp) - p);
    memcpy(buf, p, n);

    return n;
}


size_t
infer_format_int64(char *buf, int64_t v)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + infer_format_uint64(buf + 1, (uint64_t) 0 - (uint64_t) v);
    }

    return infer_format_uint64(buf, (uint64_t) v);
}
