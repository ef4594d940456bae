/*
 * A request pool as the nginx glue gives the core one (an allocator with
 * no free: everything goes at once, at the end), for the tests and the
 * fuzz harnesses: blocks from malloc(), chained, released together.
 * A block is aligned as ngx_palloc() aligns one, to NGX_ALIGNMENT (an
 * unsigned long), and never to 16: malloc()'s blocks are, and the data
 * starts 8 bytes in, so that code needing more than nginx gives fails
 * here under UBSan's alignment check as it would in nginx.
 */

#ifndef INFER_TEST_POOL_H
#define INFER_TEST_POOL_H


#include <stdlib.h>

#include "infer_core.h"


typedef struct infer_test_block_s  infer_test_block_t;

struct infer_test_block_s {
    infer_test_block_t  *next;
    unsigned long        data[];         /* 8 bytes in: 8-aligned, not 16 */
};


static void *
infer_test_pool_alloc(void *ctx, size_t size)
{
    infer_test_block_t  **head = ctx, *b;

    b = malloc(sizeof(infer_test_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = *head;
    *head = b;

    return b->data;
}


/* a pool allocator over *head, which must start NULL */

static inline infer_alloc_t
infer_test_pool(infer_test_block_t **head)
{
    infer_alloc_t  a = { infer_test_pool_alloc, NULL, head };

    return a;
}


static inline void
infer_test_pool_release(infer_test_block_t **head)
{
    infer_test_block_t  *b;

    while (*head != NULL) {
        b = *head;
        *head = b->next;
        free(b);
    }
}


#endif /* INFER_TEST_POOL_H */
