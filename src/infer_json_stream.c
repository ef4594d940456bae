#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "infer_json_stream.h"


static void infer_json_stream_yajl_error(infer_json_stream_t *js,
    const unsigned char *data, size_t len, const char *what, int at);
static void *infer_json_stream_malloc(void *ctx, size_t size);
static void *infer_json_stream_realloc(void *ctx, void *p, size_t size);
static void infer_json_stream_free_block(void *ctx, void *p);


/*
 * yajl's state (the handle, its lexer, buffers and stack: a handful of
 * blocks) comes from the caller's allocator, as the rest of a request's
 * memory does: in nginx, the request's pool, five malloc()/free() pairs
 * fewer a request.  Each block carries its size, which realloc() needs.
 * The header is aligned as what yajl keeps (pointers, sizes), not more:
 * nginx's pool aligns to sizeof(unsigned long), and a long double member
 * (16 bytes on x86-64) made every access to it misaligned there (UBSan,
 * scripts/test-builds.sh asan).
 */

int
infer_json_stream_init(infer_json_stream_t *js,
    const yajl_callbacks *callbacks, void *ctx, const infer_alloc_t *alloc)
{
    yajl_alloc_funcs  funcs;            /* yajl keeps a copy */

    memset(js, 0, sizeof(infer_json_stream_t));

    funcs.malloc = infer_json_stream_malloc;
    funcs.realloc = infer_json_stream_realloc;
    funcs.free = infer_json_stream_free_block;
    funcs.ctx = (void *) alloc;

    js->yajl = yajl_alloc(callbacks, &funcs, ctx);

    return (js->yajl == NULL) ? INFER_ERROR : INFER_OK;
}


typedef union {                         /* a block's size, kept aligned */
    size_t       size;
    void        *ptr;
} infer_json_stream_head_t;


static void *
infer_json_stream_malloc(void *ctx, size_t size)
{
    infer_json_stream_head_t  *h;

    if (size > (size_t) -1 - sizeof(infer_json_stream_head_t)) {
        return NULL;
    }

    h = infer_alloc(ctx, sizeof(infer_json_stream_head_t) + size);
    if (h == NULL) {
        return NULL;
    }

    h->size = size;

    return h + 1;
}


static void *
infer_json_stream_realloc(void *ctx, void *p, size_t size)
{
    void                      *n;
    infer_json_stream_head_t  *h;

    n = infer_json_stream_malloc(ctx, size);

    if (n != NULL && p != NULL) {
        h = (infer_json_stream_head_t *) p - 1;
        memcpy(n, p, h->size < size ? h->size : size);
        infer_free(ctx, h);
    }

    return n;
}


static void
infer_json_stream_free_block(void *ctx, void *p)
{
    if (p != NULL) {
        infer_free(ctx, (infer_json_stream_head_t *) p - 1);
    }
}


void
infer_json_stream_free(infer_json_stream_t *js)
{
    if (js->yajl != NULL) {
        yajl_free(js->yajl);
        js->yajl = NULL;
    }
}


int
infer_json_stream_feed(infer_json_stream_t *js, const unsigned char *data,
    size_t len)
{
    yajl_status  st;

    if (js->rc != INFER_OK) {
        return js->rc;
    }

    st = yajl_parse(js->yajl, data, len);

    if (st == yajl_status_error) {
        infer_json_stream_yajl_error(js, data, len, "near byte", 1);
        return js->rc;
    }

    if (st == yajl_status_client_canceled) {
        return js->rc;                  /* a callback said why */
    }

    js->consumed += len;

    return INFER_OK;
}


int
infer_json_stream_end(infer_json_stream_t *js)
{
    if (js->rc != INFER_OK) {
        return js->rc;
    }

    if (js->consumed == 0) {
        infer_json_stream_fail(js, INFER_EJSON, "empty request body");
        return js->rc;
    }

    if (yajl_complete_parse(js->yajl) != yajl_status_ok && js->rc == INFER_OK)
    {
        infer_json_stream_yajl_error(js, NULL, 0, "at the end", 0);
    }

    return js->rc;
}


int
infer_json_stream_fail(infer_json_stream_t *js, int rc, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(js->err, sizeof(js->err), fmt, args);
    va_end(args);

    js->rc = rc;

    return 0;
}


/* yajl's message is several lines (the text and a caret): keep the first */

static void
infer_json_stream_yajl_error(infer_json_stream_t *js,
    const unsigned char *data, size_t len, const char *what, int at)
{
    unsigned char  *msg;

    msg = yajl_get_error(js->yajl, 0, data, len);

    if (at) {
        infer_json_stream_fail(js, INFER_EJSON, "malformed JSON %s %zu: %.*s",
                               what, js->consumed
                                     + yajl_get_bytes_consumed(js->yajl),
                               (int) strcspn((char *) msg, "\n"),
                               (char *) msg);
    } else {
        infer_json_stream_fail(js, INFER_EJSON, "malformed JSON %s: %.*s",
                               what, (int) strcspn((char *) msg, "\n"),
                               (char *) msg);
    }

    yajl_free_error(js->yajl, msg);
}
