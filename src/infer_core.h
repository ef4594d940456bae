/*
 * The nginx-free core: return codes, the allocator interface, and the
 * growable byte buffer shared by the codec and the model loaders.
 *
 * Nothing under src/infer_* includes an nginx header: the glue converts
 * types and maps the INFER_* codes to HTTP statuses.
 */

#ifndef INFER_CORE_H
#define INFER_CORE_H


#include <stddef.h>
#include <stdint.h>


#define INFER_OK          0
#define INFER_ERROR      -1    /* internal failure, memory */
#define INFER_ESYS       -2    /* a syscall failed: errno is kept */
#define INFER_EJSON      -3    /* not JSON: 400 */
#define INFER_EINVAL     -4    /* JSON, but not a request or model: 400 */
#define INFER_ESHAPE     -5    /* a request the model cannot take: 422 */
#define INFER_ERANGE     -6    /* a number that is not a finite float: 422 */
#define INFER_ETOOBIG    -7    /* more rows than allowed: 413 */
#define INFER_ENOTFOUND  -8    /* no such endpoint, model or version: 404 */
#define INFER_DECLINED   -9    /* not this path's input: take the general one */


#define INFER_ERRLEN      192  /* room for a message naming what and where */


typedef struct {
    void   *(*alloc)(void *ctx, size_t size);
    void    (*free)(void *ctx, void *p);     /* may be NULL: a pool */
    void     *ctx;
} infer_alloc_t;


typedef struct {
    unsigned char        *data;
    size_t                len;
    size_t                cap;
    const infer_alloc_t  *alloc;
    int                   failed;            /* an append ran out of memory */
} infer_buf_t;


/* malloc()/free(), for tests, tools and configuration-time objects */
extern const infer_alloc_t  infer_alloc_libc;


void infer_buf_init(infer_buf_t *b, const infer_alloc_t *alloc);
int infer_buf_reserve(infer_buf_t *b, size_t len);
void infer_buf_append(infer_buf_t *b, const void *data, size_t len);
void infer_buf_release(infer_buf_t *b);

void *infer_alloc(const infer_alloc_t *a, size_t size);
void infer_free(const infer_alloc_t *a, void *p);

/* decimal text at buf, no NUL: its length; buf has INFER_INT64_LEN bytes */
#define INFER_INT64_LEN  20               /* "-9223372036854775808" */
size_t infer_format_uint64(char *buf, uint64_t v);
size_t infer_format_int64(char *buf, int64_t v);

/* a decimal uint64_t at p: the end of its digits, or NULL (none, overflow) */
const char *infer_parse_uint64(const char *p, const char *end, uint64_t *n);


#endif /* INFER_CORE_H */
