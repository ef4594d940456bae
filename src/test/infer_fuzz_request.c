/*
 * libFuzzer harness for the simple protocol's request parser.  The first
 * byte picks the chunk size, so that the parser also meets every split of
 * a token across nginx's body buffers.  The one-pass reader of whole
 * bodies reads the same input: what it accepts, the streaming parser must
 * accept with the same matrix, bit for bit.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_json.h"
#include "infer_test_pool.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   chunk, off, n;
    int                      rc, whole_rc;
    infer_request_t          req, whole;
    infer_request_opts_t     opts = { 3, 64, 0, 0, NULL };
    infer_alloc_t            pool;
    infer_test_block_t      *blocks = NULL;
    infer_request_parser_t  *p;

    if (size == 0) {
        return 0;
    }

    chunk = data[0] % 16 + 1;
    opts.missing_ok = data[0] >> 7;
    data++;
    size--;

    /* odd sizes: yajl's state from a request pool, as in nginx */

    pool = infer_test_pool(&blocks);
    p = infer_request_parser_create(&opts, (size & 1) ? &pool
                                                      : &infer_alloc_libc);
    if (p == NULL) {
        infer_test_pool_release(&blocks);
        return 0;
    }

    for (off = 0; off < size; off += n) {
        n = (size - off < chunk) ? size - off : chunk;

        if (infer_request_parse(p, data + off, n) != INFER_OK) {
            break;
        }
    }

    rc = infer_request_finish(p, &req);

    whole_rc = infer_request_parse_whole(&opts, data, size, &pool, &whole);

    if (whole_rc == INFER_OK
        && (rc != INFER_OK || whole.rows != req.rows
            || whole.batch != req.batch
            || memcmp(whole.x, req.x,
                      req.rows * opts.nfeatures * sizeof(float)) != 0))
    {
        abort();
    }

    if (rc == INFER_OK) {
        /* every cell of the matrix is written: reading it must be clean */
        volatile float  sum = 0;

        for (n = 0; n < req.rows * opts.nfeatures; n++) {
            sum += req.x[n];
        }
    }

    infer_request_parser_free(p);
    infer_test_pool_release(&blocks);

    return 0;
}
