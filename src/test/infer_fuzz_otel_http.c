/*
 * libFuzzer harness for the exporter's HTTP/1.1 response parser: the
 * input's first byte is a read size and its second a place to split, the
 * rest what a collector sent.  Read whole, in reads of that size, or
 * split in two there, the response must come out the same (status, body,
 * Retry-After, close, the bytes used), the end of the connection too.
 * Then the body's partial success and error message, read as protobuf
 * and as JSON, must be NUL-terminated printable ASCII.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_otel_http.h"


#define FUZZ_NOW  1700000000               /* 2023-11-14T22:13:20Z */


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(infer_otel_http_response_t *r, const char *data, size_t len,
    size_t step, size_t split, size_t *used);
static void same(const infer_otel_http_response_t *a, int rc_a,
    size_t used_a, const infer_otel_http_response_t *b, int rc_b,
    size_t used_b);
static void printable(const char *msg, size_t msg_len);


static infer_otel_http_response_t  whole, parts, two;


/* the reads as the glue makes them, each in a buffer of its own size */

static int
run(infer_otel_http_response_t *r, const char *data, size_t len,
    size_t step, size_t split, size_t *used)
{
    int     rc;
    char   *copy;
    size_t  pos, n, u;

    infer_otel_http_response_init(r);
    pos = 0;
    *used = 0;

    do {
        n = len - pos;

        if (pos == 0 && split) {
            n = split;

        } else if (step < n) {
            n = step;
        }

        copy = malloc(n ? n : 1);
        if (copy == NULL) {
            abort();
        }

        memcpy(copy, data + pos, n);
        rc = infer_otel_http_response_parse(r, copy, n, &u, FUZZ_NOW);
        free(copy);

        if (u > n || (rc == INFER_AGAIN && u != n)) {
            abort();
        }

        *used = pos + u;
        pos += n;

    } while (rc == INFER_AGAIN && pos < len);

    if (rc == INFER_AGAIN) {
        rc = infer_otel_http_response_eof(r);
    }

    return rc;
}


static void
same(const infer_otel_http_response_t *a, int rc_a, size_t used_a,
    const infer_otel_http_response_t *b, int rc_b, size_t used_b)
{
    if (rc_a != rc_b) {
        abort();
    }

    if (rc_a != INFER_OK) {
        return;
    }

    if (a->status != b->status
        || a->content_length != b->content_length
        || a->retry_after != b->retry_after
        || a->chunked != b->chunked
        || a->close != b->close
        || a->json != b->json
        || a->truncated != b->truncated
        || a->body_len != b->body_len
        || memcmp(a->body, b->body, a->body_len) != 0
        || used_a != used_b)
    {
        abort();
    }
}


static void
printable(const char *msg, size_t msg_len)
{
    size_t  i;

    for (i = 0; i < msg_len; i++) {
        if (msg[i] == '\0') {
            return;
        }

        if (msg[i] < 0x20 || msg[i] > 0x7e) {
            abort();
        }
    }

    abort();                        /* not NUL-terminated */
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc_w, rc_p, rc_t, json;
    char         msg[300];
    size_t       len, step, split, used_w, used_p, used_t, msg_len;
    int64_t      rejected;
    const char  *p;

    if (size < 2) {
        return 0;
    }

    step = data[0] ? data[0] : 1;
    p = (const char *) data + 2;
    len = size - 2;
    split = len ? data[1] * 257 % len : 0;

    rc_w = run(&whole, p, len, len ? len : 1, 0, &used_w);
    rc_p = run(&parts, p, len, step, 0, &used_p);
    rc_t = run(&two, p, len, len ? len : 1, split, &used_t);

    same(&whole, rc_w, used_w, &parts, rc_p, used_p);
    same(&whole, rc_w, used_w, &two, rc_t, used_t);

    if (rc_w != INFER_OK) {
        return 0;
    }

    if (whole.status < 200 || whole.status > 599
        || used_w > len
        || whole.body_len > INFER_OTEL_HTTP_BODY
        || (whole.truncated && whole.body_len != INFER_OTEL_HTTP_BODY))
    {
        abort();
    }

    /* the room for the message from the input too: 1 to 300 bytes */

    msg_len = 1 + (data[0] ^ data[1]) % sizeof(msg);

    for (json = 0; json <= 1; json++) {
        memset(msg, 0x7f, sizeof(msg));

        if (infer_otel_partial_success(whole.body, whole.body_len, json,
                                       &rejected, msg, msg_len)
            == INFER_OK)
        {
            printable(msg, msg_len);

        } else if (rejected != 0 || msg[0] != '\0') {
            abort();
        }

        memset(msg, 0x7f, sizeof(msg));
        infer_otel_error_message(whole.body, whole.body_len, json, msg,
                                 msg_len);
        printable(msg, msg_len);
    }

    return 0;
}
