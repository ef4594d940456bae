/*
 * libFuzzer harness for the KServe V2 codec.  The first byte picks the
 * chunk size (bits 0-3), the model's width (bits 4-5: 1 to 4 features)
 * and missing values (bit 7); with bit 6 set, the rest is a URI for the
 * router instead of a request body.  A parsed request is written back as
 * a response, its rows as outputs and its id echoed; that response and
 * every error message must be valid JSON, and strict UTF-8 (RFC 3629),
 * which yajl does not check.
 *
 * With bits 6 and 7 both set, the body has the binary extension's
 * header: the second byte gives its value's length (bits 0-4), whether
 * the model takes missing values (bit 5), and a body length that lies by
 * one byte (bit 6); the value follows, then the body.  The response's
 * JSON must be valid and its bytes after it those the JSON announces.
 */

#include <stdint.h>

#include <yajl/yajl_parse.h>

#include "infer_utf8.h"
#include "infer_v2.h"
#include "infer_test_pool.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void infer_fuzz_check_json(infer_buf_t *out, size_t len);
static void infer_fuzz_route(const uint8_t *data, size_t size,
    infer_v2_model_t *model);
static void infer_fuzz_answer(infer_v2_parser_t *p, infer_v2_model_t *model);


/* what the codec writes must be JSON and UTF-8: len bytes of out */

static void
infer_fuzz_check_json(infer_buf_t *out, size_t len)
{
    yajl_handle  h;

    h = yajl_alloc(NULL, NULL, NULL);

    if (out->failed
        || infer_utf8_valid(out->data, len) != len
        || yajl_parse(h, out->data, len) != yajl_status_ok
        || yajl_complete_parse(h) != yajl_status_ok)
    {
        __builtin_trap();
    }

    yajl_free(h);
}


static void
infer_fuzz_route(const uint8_t *data, size_t size, infer_v2_model_t *model)
{
    char              err[INFER_ERRLEN];
    size_t            found;
    infer_buf_t       out;
    infer_v2_route_t  rt;

    if (infer_v2_route((const char *) data, size, &rt) == INFER_OK
        && rt.model != NULL)
    {
        infer_v2_find_model(&rt, model, 1, &found, err, sizeof(err));
    }

    infer_buf_init(&out, &infer_alloc_libc);
    infer_json_write_error(&out, rt.err);
    infer_fuzz_check_json(&out, out.len);
    infer_buf_release(&out);
}


/*
 * Every cell of the matrix is written: reading it must be clean.  The
 * model's one output is the input row: a binary one is rows x nfeatures
 * floats.
 */

static void
infer_fuzz_answer(infer_v2_parser_t *p, infer_v2_model_t *model)
{
    size_t               json_len, want;
    infer_buf_t          out;
    infer_v2_request_t   req;
    infer_v2_response_t  resp;

    infer_buf_init(&out, &infer_alloc_libc);

    if (infer_v2_finish(p, &req) != INFER_OK) {
        infer_json_write_error(&out, infer_v2_error(p));
        infer_fuzz_check_json(&out, out.len);
        infer_buf_release(&out);
        return;
    }

    resp.model = model;
    resp.id = req.id;
    resp.id_len = req.id_len;
    resp.y = req.x;
    resp.rows = req.rows;
    resp.outputs = 0;
    resp.binary = req.binary;

    infer_v2_write_response(&out, &resp);
    json_len = out.len;
    infer_v2_write_binary(&out, &resp);

    want = req.binary ? req.rows * model->noutputs * sizeof(float) : 0;

    if (req.binary > 1 || out.len - json_len != want) {
        __builtin_trap();
    }

    infer_fuzz_check_json(&out, json_len);
    infer_buf_release(&out);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    binary;
    size_t                 chunk, off, n, hlen;
    uint64_t               body_len;
    const char            *header;
    infer_v2_model_t       model = {
        "m", 1, "1", 1, "linear", 3, 3, NULL, NULL, 0
    };
    infer_alloc_t          pool;
    infer_v2_parser_t     *p;
    infer_test_block_t    *blocks = NULL;
    infer_request_opts_t   opts = { 3, 64, 0, 0, NULL };

    if (size == 0) {
        return 0;
    }

    chunk = data[0] % 16 + 1;
    opts.nfeatures = (data[0] >> 4 & 3) + 1;
    opts.missing_ok = data[0] >> 7;
    binary = (data[0] & 0xc0) == 0xc0;

    model.nfeatures = opts.nfeatures;
    model.noutputs = opts.nfeatures;

    if ((data[0] & 0xc0) == 0x40) {
        infer_fuzz_route(data + 1, size - 1, &model);
        return 0;
    }

    data++;
    size--;

    header = NULL;
    hlen = 0;
    body_len = 0;

    if (binary) {
        if (size == 0) {
            return 0;
        }

        hlen = data[0] & 0x1f;
        opts.missing_ok = data[0] >> 5 & 1;
        body_len = data[0] >> 6 & 1;          /* the lie, if any */

        if (size - 1 < hlen) {
            return 0;
        }

        header = (const char *) data + 1;
        data += 1 + hlen;
        size -= 1 + hlen;
        body_len += size;
    }

    /* odd sizes: yajl's state from a request pool, as in nginx */

    pool = infer_test_pool(&blocks);
    p = infer_v2_parser_create(&opts, NULL, 0,
                               (size & 1) ? &pool : &infer_alloc_libc);
    if (p == NULL) {
        infer_test_pool_release(&blocks);
        return 0;
    }

    if (binary) {
        (void) infer_v2_parser_binary(p, header, hlen, body_len);
    }

    for (off = 0; off < size; off += n) {
        n = (size - off < chunk) ? size - off : chunk;

        if (infer_v2_parse(p, data + off, n) != INFER_OK) {
            break;
        }
    }

    infer_fuzz_answer(p, &model);

    infer_v2_parser_free(p);
    infer_test_pool_release(&blocks);

    return 0;
}
