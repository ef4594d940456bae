/*
 * Memory: a loaded model's arena, and each thread's scratch.
 *
 * Everything a loaded model keeps (the plan, its parameters, the packed
 * weights) is bump-allocated in chunks of its own, mmap()ed apart from the
 * heap, and made read-only once the load is done.  The master loads the
 * model and nginx forks the workers: the chunks' pages stay shared by
 * them all, since nothing writes to them again, and malloc()'s bookkeeping
 * in a worker cannot touch one of their pages and copy it.  A kernel that
 * wrote to its weights would fault at once.
 *
 * The scratch (the tensors of a chunk of rows, and the kernels' work
 * memory) is per thread: the event loop's and each pool thread that ever
 * evaluates a model.  It grows to the largest plan a thread has run and
 * is freed when the thread ends.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "infer_onnx_ir.h"


#define INFER_ONNX_CHUNK  (1 << 20)
#define INFER_ONNX_ALIGN  64


typedef struct infer_onnx_chunk_s  infer_onnx_chunk_t;

struct infer_onnx_chunk_s {
    infer_onnx_chunk_t  *next;
    size_t               size;              /* mapped, with this header */
    size_t               used;
};


struct infer_onnx_arena_s {
    infer_onnx_chunk_t  *chunks;            /* the current one first */
    size_t               total;
};


/* a thread's scratch: this header, then the memory INFER_ONNX_ALIGN on */

typedef struct {
    size_t               size;
} infer_onnx_scratch_t;


static void infer_onnx_scratch_key_make(void);


static pthread_once_t  infer_onnx_scratch_once = PTHREAD_ONCE_INIT;
static pthread_key_t   infer_onnx_scratch_key;
static int             infer_onnx_scratch_key_ok;


infer_onnx_arena_t *
infer_onnx_arena_create(void)
{
    return calloc(1, sizeof(infer_onnx_arena_t));
}


void *
infer_onnx_arena_alloc(infer_onnx_arena_t *a, size_t size)
{
    size_t               at, want;
    void                *p;
    infer_onnx_chunk_t  *c;

    if (size > SIZE_MAX / 2) {
        return NULL;
    }

    c = a->chunks;

    if (c != NULL) {
        at = (c->used + INFER_ONNX_ALIGN - 1)
             & ~(size_t) (INFER_ONNX_ALIGN - 1);

        if (at + size <= c->size) {
            c->used = at + size;
            return (unsigned char *) c + at;
        }
    }

    want = INFER_ONNX_ALIGN + size;
    want = (want < INFER_ONNX_CHUNK) ? INFER_ONNX_CHUNK
                                     : (want + 4095) & ~(size_t) 4095;

    p = mmap(NULL, want, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }

    c = p;
    c->size = want;
    c->used = INFER_ONNX_ALIGN + size;
    a->total += want;

    /* a large block gets a mapping of its own: the current chunk goes on */

    if (a->chunks != NULL && want > INFER_ONNX_CHUNK) {
        c->next = a->chunks->next;
        a->chunks->next = c;

    } else {
        c->next = a->chunks;
        a->chunks = c;
    }

    return (unsigned char *) c + INFER_ONNX_ALIGN;
}


void *
infer_onnx_arena_calloc(infer_onnx_arena_t *a, size_t n, size_t size)
{
    void  *p;

    if (size != 0 && n > SIZE_MAX / 2 / size) {
        return NULL;
    }

    /* fresh mappings are zeroed, but a chunk's tail may have been used */

    p = infer_onnx_arena_alloc(a, n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }

    return p;
}


char *
infer_onnx_arena_strdup(infer_onnx_arena_t *a, const char *s)
{
    char    *p;
    size_t   len;

    len = strlen(s) + 1;

    p = infer_onnx_arena_alloc(a, len);
    if (p != NULL) {
        memcpy(p, s, len);
    }

    return p;
}


/* no page of the model is written to again */

int
infer_onnx_arena_seal(infer_onnx_arena_t *a)
{
    infer_onnx_chunk_t  *c, *next;

    for (c = a->chunks; c != NULL; c = next) {
        next = c->next;                     /* read before the page locks */

        if (mprotect(c, c->size, PROT_READ) == -1) {
            return INFER_ESYS;
        }
    }

    return INFER_OK;
}


size_t
infer_onnx_arena_size(const infer_onnx_arena_t *a)
{
    return a->total;
}


void
infer_onnx_arena_free(infer_onnx_arena_t *a)
{
    infer_onnx_chunk_t  *c, *next;

    if (a == NULL) {
        return;
    }

    for (c = a->chunks; c != NULL; c = next) {
        next = c->next;
        (void) munmap(c, c->size);
    }

    free(a);
}


void *
infer_onnx_scratch(size_t size)
{
    void                  *block;
    infer_onnx_scratch_t  *s;

    (void) pthread_once(&infer_onnx_scratch_once, infer_onnx_scratch_key_make);

    if (!infer_onnx_scratch_key_ok) {
        return NULL;
    }

    s = pthread_getspecific(infer_onnx_scratch_key);

    if (s != NULL && s->size >= size) {
        return (unsigned char *) s + INFER_ONNX_ALIGN;
    }

    if (size > SIZE_MAX - INFER_ONNX_ALIGN) {
        return NULL;
    }

    /* a thread's first evaluation of a larger model: once, not a request */

    if (posix_memalign(&block, INFER_ONNX_ALIGN, INFER_ONNX_ALIGN + size)
        != 0)
    {
        return NULL;
    }

    if (pthread_setspecific(infer_onnx_scratch_key, block) != 0) {
        free(block);
        return NULL;
    }

    free(s);

    s = block;
    s->size = size;

    return (unsigned char *) block + INFER_ONNX_ALIGN;
}


/*
 * The key's destructor is libc's free(), never a function of the module:
 * a pool thread runs it as it exits, and nginx's worker exit does not wait
 * for that.  nginx unmaps the module (dlclose) while the thread is still
 * unwinding, and a destructor here would then run on unmapped code:
 * SIGSEGV in a worker that was shutting down gracefully.
 */

static void
infer_onnx_scratch_key_make(void)
{
    infer_onnx_scratch_key_ok =
        (pthread_key_create(&infer_onnx_scratch_key, free) == 0);
}
