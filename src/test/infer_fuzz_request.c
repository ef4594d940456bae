/*
 * libFuzzer harness for the simple protocol's request parser.  The first
 * byte picks the chunk size, so that the parser also meets every split of
 * a token across nginx's body buffers.
 */

#include <stdint.h>

#include "infer_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                   chunk, off, n;
    infer_request_t          req;
    infer_request_opts_t     opts = { 3, 64, 0 };
    infer_request_parser_t  *p;

    if (size == 0) {
        return 0;
    }

    chunk = data[0] % 16 + 1;
    opts.missing_ok = data[0] >> 7;
    data++;
    size--;

    p = infer_request_parser_create(&opts, &infer_alloc_libc);
    if (p == NULL) {
        return 0;
    }

    for (off = 0; off < size; off += n) {
        n = (size - off < chunk) ? size - off : chunk;

        if (infer_request_parse(p, data + off, n) != INFER_OK) {
            break;
        }
    }

    if (infer_request_finish(p, &req) == INFER_OK) {
        /* every cell of the matrix is written: reading it must be clean */
        volatile float  sum = 0;

        for (n = 0; n < req.rows * opts.nfeatures; n++) {
            sum += req.x[n];
        }
    }

    infer_request_parser_free(p);

    return 0;
}
