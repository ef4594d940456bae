/*
 * libFuzzer harness for the KServe V2 codec.  The first byte picks the
 * chunk size (bits 0-3), the model's width (bits 4-5: 1 to 4 features)
 * and missing values (bit 7); with bit 6 set, the rest is a URI for the
 * router instead of a request body.  A parsed request is written back as
 * a response, its rows as outputs and its id echoed; that response and
 * every error message must be valid JSON.
 */

#include <stdint.h>

#include <yajl/yajl_parse.h>

#include "infer_v2.h"
#include "infer_test_pool.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void infer_fuzz_check_json(infer_buf_t *out);


/* what the codec writes must be JSON, UTF-8 included */

static void
infer_fuzz_check_json(infer_buf_t *out)
{
    yajl_handle  h;

    h = yajl_alloc(NULL, NULL, NULL);

    if (out->failed
        || yajl_parse(h, out->data, out->len) != yajl_status_ok
        || yajl_complete_parse(h) != yajl_status_ok)
    {
        __builtin_trap();
    }

    yajl_free(h);
    infer_buf_release(out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                 chunk, off, n, found;
    char                   err[INFER_ERRLEN];
    infer_buf_t            out;
    infer_v2_route_t       rt;
    infer_v2_model_t       model = {
        "m", 1, "1", 1, "linear", 3, 3, NULL, NULL, 0
    };
    infer_v2_request_t     req;
    infer_alloc_t          pool;
    infer_v2_parser_t     *p;
    infer_test_block_t    *blocks = NULL;
    infer_v2_response_t    resp;
    infer_request_opts_t   opts = { 3, 64, 0, 0, NULL };

    if (size == 0) {
        return 0;
    }

    chunk = data[0] % 16 + 1;
    opts.nfeatures = (data[0] >> 4 & 3) + 1;
    opts.missing_ok = data[0] >> 7;

    model.nfeatures = opts.nfeatures;
    model.noutputs = opts.nfeatures;

    if (data[0] & 0x40) {
        if (infer_v2_route((const char *) data + 1, size - 1, &rt)
            == INFER_OK && rt.model != NULL)
        {
            infer_v2_find_model(&rt, &model, 1, &found, err, sizeof(err));
        }

        infer_buf_init(&out, &infer_alloc_libc);
        infer_json_write_error(&out, rt.err);
        infer_fuzz_check_json(&out);

        return 0;
    }

    data++;
    size--;

    /* odd sizes: yajl's state from a request pool, as in nginx */

    pool = infer_test_pool(&blocks);
    p = infer_v2_parser_create(&opts, NULL, 0,
                               (size & 1) ? &pool : &infer_alloc_libc);
    if (p == NULL) {
        infer_test_pool_release(&blocks);
        return 0;
    }

    for (off = 0; off < size; off += n) {
        n = (size - off < chunk) ? size - off : chunk;

        if (infer_v2_parse(p, data + off, n) != INFER_OK) {
            break;
        }
    }

    if (infer_v2_finish(p, &req) == INFER_OK) {
        /* every cell of the matrix is written: reading it must be clean */

        resp.model = &model;
        resp.id = req.id;
        resp.id_len = req.id_len;
        resp.y = req.x;
        resp.rows = req.rows;
        resp.outputs = 0;

        infer_buf_init(&out, &infer_alloc_libc);
        infer_v2_write_response(&out, &resp);
        infer_fuzz_check_json(&out);

    } else {
        infer_buf_init(&out, &infer_alloc_libc);
        infer_json_write_error(&out, infer_v2_error(p));
        infer_fuzz_check_json(&out);
    }

    infer_v2_parser_free(p);
    infer_test_pool_release(&blocks);

    return 0;
}
