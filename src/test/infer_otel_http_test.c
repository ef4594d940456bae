/*
 * The exporter's HTTP/1.1 codec: the head it writes, every framing of a
 * response read whole, split in two at every byte and byte by byte (each
 * piece in a buffer of its own, so that the sanitizers see a read past
 * it), what it refuses, Retry-After, and the bodies' partial success and
 * error messages in both encodings.
 */

#include <stdlib.h>

#include "infer_otel_http.h"
#include "infer_unit_test.h"


/* 2023-11-14T22:13:20Z, a Tuesday */
#define NOW  1700000000

#define LEN(s)  (sizeof(s) - 1)

/* one read of a literal into resp, whose used goes to used */
#define PARSE(s)                                                             \
    infer_otel_http_response_parse(&resp, s, LEN(s), &used, NOW)


typedef struct {
    int           rc;        /* the bytes' (or, on INFER_AGAIN, eof's) */
    int           eof;       /* the connection ends after the bytes */
    int           status;
    int64_t       retry_after;
    unsigned      close:1;
    unsigned      json:1;
    unsigned      chunked:1;
    unsigned      truncated:1;
    const char   *body;
    size_t        body_len;
    size_t        used;      /* on INFER_OK */
} expect_t;


static int feed(infer_otel_http_response_t *r, const char *data, size_t len,
    size_t *used);
static int run(infer_otel_http_response_t *r, const char *data, size_t len,
    size_t step, size_t split, int eof, size_t *used);
static int differs(const infer_otel_http_response_t *r, int rc, size_t used,
    const expect_t *e);
static void check_response(const char *name, const char *data, size_t len,
    const expect_t *e);
static int refused(const char *data, size_t len);
static int64_t retry_after(const char *value);
static void test_head(void);
static void test_framing(void);
static void test_eof(void);
static void test_lines(void);
static void test_invalid(void);
static void test_retry_after(void);
static void test_partial_protobuf(void);
static void test_partial_json(void);
static void test_error_message(void);


static infer_otel_http_response_t  resp;


/* one read: its bytes in a buffer of exactly their size */

static int
feed(infer_otel_http_response_t *r, const char *data, size_t len,
    size_t *used)
{
    int    rc;
    char  *copy;

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data, len);
    rc = infer_otel_http_response_parse(r, copy, len, used, NOW);
    free(copy);

    return rc;
}


/*
 * The bytes in reads of step bytes (0: whole), the first of split bytes
 * when split is not 0, as the glue would feed them: until one is not
 * INFER_AGAIN.  *used counts from the start of data.
 */

static int
run(infer_otel_http_response_t *r, const char *data, size_t len,
    size_t step, size_t split, int eof, size_t *used)
{
    int     rc;
    size_t  pos, n, u;

    infer_otel_http_response_init(r);
    pos = 0;
    *used = 0;
    rc = INFER_AGAIN;

    do {
        n = len - pos;

        if (pos == 0 && split) {
            n = split;

        } else if (step && step < n) {
            n = step;
        }

        rc = feed(r, data + pos, n, &u);
        *used = pos + u;
        pos += n;

    } while (rc == INFER_AGAIN && pos < len);

    if (rc == INFER_AGAIN && eof) {
        rc = infer_otel_http_response_eof(r);
        *used = len;
    }

    return rc;
}


static int
differs(const infer_otel_http_response_t *r, int rc, size_t used,
    const expect_t *e)
{
    if (rc != e->rc) {
        return 1;
    }

    if (rc == INFER_EINVAL) {
        return 0;
    }

    return r->status != e->status
           || r->retry_after != e->retry_after
           || r->close != e->close
           || r->json != e->json
           || r->chunked != e->chunked
           || r->truncated != e->truncated
           || r->body_len != e->body_len
           || memcmp(r->body, e->body, e->body_len) != 0
           || (rc == INFER_OK && used != e->used);
}


static void
check_response(const char *name, const char *data, size_t len,
    const expect_t *e)
{
    int     rc, bad;
    size_t  i, used;

    rc = run(&resp, data, len, 0, 0, e->eof, &used);
    bad = differs(&resp, rc, used, e);

    if (bad) {
        printf("# %.40s: whole: rc %d status %d body %zu used %zu close %d"
               " retry %lld\n", name, rc, resp.status, resp.body_len, used,
               resp.close, (long long) resp.retry_after);
    }

    for (i = 1; i < len; i++) {
        rc = run(&resp, data, len, 0, i, e->eof, &used);

        if (differs(&resp, rc, used, e)) {
            printf("# %.40s: split at %zu: rc %d\n", name, i, rc);
            bad++;
            break;
        }
    }

    rc = run(&resp, data, len, 1, 0, e->eof, &used);

    if (differs(&resp, rc, used, e)) {
        printf("# %.40s: byte by byte: rc %d\n", name, rc);
        bad++;
    }

    CHECK(bad == 0);
}


static int
refused(const char *data, size_t len)
{
    expect_t  e;

    memset(&e, 0, sizeof(expect_t));
    e.rc = INFER_EINVAL;
    e.eof = 1;

    check_response("refused", data, len, &e);

    return 1;
}


static void
test_head(void)
{
    char                        buf[512];
    size_t                      n, m;
    infer_otel_header_t         h[2];
    infer_otel_http_request_t   req;

    static const char  want[] =
        "POST /v1/traces HTTP/1.1\r\n"
        "Host: otel.example:4318\r\n"
        "User-Agent: nginx-infer/1.0\r\n"
        "Content-Type: application/x-protobuf\r\n"
        "Content-Length: 1234\r\n"
        "Content-Encoding: gzip\r\n"
        "Authorization: Bearer abc\r\n"
        "x-tenant: a b\r\n"
        "\r\n";

    h[0].name = "Authorization";
    h[0].name_len = 13;
    h[0].value = "Bearer abc";
    h[0].value_len = 10;
    h[1].name = "x-tenant";
    h[1].name_len = 8;
    h[1].value = "a bXX";
    h[1].value_len = 3;

    memset(&req, 0, sizeof(req));
    req.host = "otel.example:4318";
    req.host_len = 17;
    req.path = "/v1/traces";
    req.path_len = 10;
    req.content_type = "application/x-protobuf";
    req.gzip = 1;
    req.content_length = 1234;
    req.headers = h;
    req.nheaders = 2;
    req.user_agent = "nginx-infer/1.0";

    n = infer_otel_http_head(buf, sizeof(buf), &req);
    CHECK(n == LEN(want));
    CHECK_STR(buf, want);

    /* as snprintf(): the length needed, whatever room there was */

    CHECK(infer_otel_http_head(NULL, 0, &req) == n);
    CHECK(infer_otel_http_head(buf, 10, &req) == n);

    memset(buf, 'Z', sizeof(buf));
    CHECK(infer_otel_http_head(buf, n, &req) == n);
    CHECK(memcmp(buf, want, n) == 0 && buf[n] == 'Z');

    /* no gzip, no extra headers, no User-Agent, an empty path, length 0 */

    req.gzip = 0;
    req.nheaders = 0;
    req.user_agent = NULL;
    req.path_len = 0;
    req.content_type = "application/json";
    req.content_length = 0;
    req.host = "c";
    req.host_len = 1;

    m = infer_otel_http_head(buf, sizeof(buf), &req);
    CHECK_STR(buf, "POST / HTTP/1.1\r\nHost: c\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: 0\r\n\r\n");
    CHECK(m == strlen(buf));
}


/* each framing the exporter can meet, split every way */

static void
test_framing(void)
{
    expect_t  e;
    char      big[200 + 5000];
    size_t    n;

    /*
     * protoc --encode=opentelemetry.proto.collector.trace.v1.
     * ExportTraceServiceResponse -I /tmp/mock/node_modules/@elastic/
     * mockotlpserver opentelemetry/proto/collector/trace/v1/
     * trace_service.proto, of
     * partial_success { rejected_spans: 3 error_message: "2 spans had no
     * name" }
     */

    static const char  pb[] =
        "\x0a\x17\x08\x03\x12\x13" "2 spans had no name";

    static const char  cl[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/x-protobuf\r\n"
        "Content-Length: 25\r\n"
        "\r\n"
        "\x0a\x17\x08\x03\x12\x13" "2 spans had no name";

    static const char  chunked[] =
        "HTTP/1.1 200 OK\r\n"
        "content-type: Application/JSON; charset=utf-8\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "7;name=value\r\n{\"parti\r\n"
        "1A \t; a=\"b;c\"\r\nalSuccess\":{\"rejectedSpans\r\n"
        "B\r\n\":\"2\"}}\r\n\r\n\r\n"
        "0\r\n"
        "X-Trailer: 1\r\n"
        "X-Other: 2\r\n"
        "\r\n";

    static const char  both[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Length: 3\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "5\r\nhello\r\n0\r\n\r\n";

    static const char  retry[] =
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Server: nginx\r\n"
        "Retry-After: 2\r\n"
        "Connectiox: close\r\n"
        "Content-Lengtx: 5\r\n"
        "Content-Length: 11\r\n"
        "Connection: keep-alive\r\n"
        "\r\n"
        "unavailable";

    static const char  cont[] =
        "HTTP/1.1 100 Continue\r\n"
        "\r\n"
        "HTTP/1.1 103 Early Hints\r\n"
        "Link: </style.css>; rel=preload\r\n"
        "Content-Length: 99\r\n"
        "Connection: close\r\n"
        "\r\n"
        "HTTP/1.1 200 OK\r\n"
        "Content-Length: 2\r\n"
        "\r\n"
        "okHTTP/1.1 200 OK\r\n";

    static const char  status[] =
        "HTTP/1.1 400 Bad Request\r\n"
        "Content-Type: application/x-protobuf\r\n"
        "Content-Length: 19\r\n"
        "\r\n"
        "\x08\x03\x12\x0f" "invalid span id";

    static const char  lf[] =
        "HTTP/1.1 200\n"
        "CONTENT-LENGTH: 4\n"
        "\n"
        "body\r\n";

    static const char  nocontent[] =
        "HTTP/1.1 204 No Content\r\n"
        "Content-Length: 5\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "HTTP/1.1";

    static const char  http10[] =
        "HTTP/1.0 200 OK\r\n"
        "Content-Length: 2\r\n"
        "\r\n"
        "ok";

    static const char  http10ka[] =
        "HTTP/1.0 200 OK\r\n"
        "Connection: Keep-Alive\r\n"
        "Content-Length: 2\r\n"
        "Content-Length: 2\r\n"
        "\r\n"
        "ok";

    static const char  conn_close[] =
        "HTTP/1.1 429 Too Many Requests\r\n"
        "Connection: upgrade, close\r\n"
        "Retry-After: Tue, 14 Nov 2023 22:15:20 GMT\r\n"
        "Content-Length: 0\r\n"
        "\r\n";

    memset(&e, 0, sizeof(expect_t));
    e.rc = INFER_OK;
    e.status = 200;
    e.retry_after = -1;
    e.body = pb;
    e.body_len = LEN(pb);
    e.used = LEN(cl);
    check_response("content-length", cl, LEN(cl), &e);

    /* garbage after the response is left to the caller: used says where */

    memcpy(big, cl, LEN(cl));
    memcpy(big + LEN(cl), "HTTP/1.1 200 OK\r\n", 17);
    check_response("content-length, more", big, LEN(cl) + 17, &e);

    e.json = 1;
    e.chunked = 1;
    e.body = "{\"partialSuccess\":{\"rejectedSpans\":\"2\"}}\r\n\r\n";
    e.body_len = strlen(e.body);
    e.used = LEN(chunked);
    check_response("chunked", chunked, LEN(chunked), &e);

    /* Transfer-Encoding wins over Content-Length; the connection goes */

    e.json = 0;
    e.close = 1;
    e.body = "hello";
    e.body_len = 5;
    e.used = LEN(both);
    check_response("chunked and content-length", both, LEN(both), &e);

    e.status = 503;
    e.chunked = 0;
    e.close = 0;
    e.retry_after = 2;
    e.body = "unavailable";
    e.body_len = 11;
    e.used = LEN(retry);
    check_response("503", retry, LEN(retry), &e);

    /* the 1xx are skipped, with what their fields said */

    e.status = 200;
    e.retry_after = -1;
    e.body = "ok";
    e.body_len = 2;
    e.used = LEN(cont) - 17;
    check_response("100, 103, 200", cont, LEN(cont), &e);

    e.status = 400;
    e.body = "\x08\x03\x12\x0f" "invalid span id";
    e.body_len = 19;
    e.used = LEN(status);
    check_response("400", status, LEN(status), &e);

    e.status = 200;
    e.body = "body";
    e.body_len = 4;
    e.used = LEN(lf) - 2;
    check_response("bare LF", lf, LEN(lf), &e);

    e.status = 204;
    e.body_len = 0;
    e.used = LEN(nocontent) - 8;
    check_response("204", nocontent, LEN(nocontent), &e);

    memcpy(big, nocontent, LEN(nocontent));
    memcpy(big + 9, "304", 3);
    e.status = 304;
    check_response("304", big, LEN(nocontent), &e);

    e.status = 200;
    e.close = 1;
    e.body = "ok";
    e.body_len = 2;
    e.used = LEN(http10);
    check_response("HTTP/1.0", http10, LEN(http10), &e);

    e.close = 0;
    e.used = LEN(http10ka);
    check_response("HTTP/1.0 keep-alive", http10ka, LEN(http10ka), &e);

    e.status = 429;
    e.close = 1;
    e.retry_after = 120;
    e.body_len = 0;
    e.used = LEN(conn_close);
    check_response("Connection: close", conn_close, LEN(conn_close), &e);

    /* what is kept of a long body */

    n = snprintf(big, 200, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
    memset(big + n, 'b', 5000);
    e.status = 200;
    e.close = 0;
    e.retry_after = -1;
    e.truncated = 1;
    e.body = big + n;
    e.body_len = INFER_OTEL_HTTP_BODY;
    e.used = n + 5000;
    check_response("truncated", big, n + 5000, &e);

    memcpy(big + n - 8, "4096", 4);
    e.truncated = 0;
    e.used = n + 4096;
    check_response("4096", big, n + 5000, &e);
}


static void
test_eof(void)
{
    size_t    used;
    expect_t  e;

    static const char  eof[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json\r\n"
        "\r\n"
        "{\"ok\":1}";

    static const char  gzip[] =
        "HTTP/1.1 200 OK\r\n"
        "Transfer-Encoding: chunked, gzip\r\n"
        "\r\n"
        "1\r\n";

    static const char  te[] =
        "HTTP/1.1 200 OK\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Transfer-Encoding: gzip\r\n"
        "\r\n"
        "x";

    /* neither length nor chunked: the close ends the body */

    memset(&e, 0, sizeof(expect_t));
    e.rc = INFER_OK;
    e.eof = 1;
    e.status = 200;
    e.retry_after = -1;
    e.close = 1;
    e.json = 1;
    e.body = "{\"ok\":1}";
    e.body_len = 8;
    e.used = LEN(eof);
    check_response("close-delimited", eof, LEN(eof), &e);

    CHECK(run(&resp, eof, LEN(eof), 0, 0, 0, &used) == INFER_AGAIN
          && used == LEN(eof) && resp.close);

    /* chunked not last: the close delimits (and the bytes are gzip's) */

    e.json = 0;
    e.body = "1\r\n";
    e.body_len = 3;
    e.used = LEN(gzip);
    check_response("chunked, gzip", gzip, LEN(gzip), &e);

    e.body = "x";
    e.body_len = 1;
    e.used = LEN(te);
    check_response("two Transfer-Encoding", te, LEN(te), &e);

    /* the end of the connection anywhere else cuts the response short */

    e.rc = INFER_EINVAL;

#define CUT(s)  check_response(s, s, LEN(s), &e)

    CUT("");
    CUT("HTTP/1.1 200 OK\r\n");
    CUT("HTTP/1.1 100 Continue\r\n\r\n");
    CUT("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab");
    CUT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "2\r\nab\r\n0\r\n");

#undef CUT

    /* after the end, the parser says so again and takes nothing */

    infer_otel_http_response_init(&resp);
    CHECK(PARSE("HTTP/1.1 204 x\r\n\r\nz") == INFER_OK && used == 18);
    CHECK(PARSE("z") == INFER_OK && used == 0);
    CHECK(infer_otel_http_response_eof(&resp) == INFER_OK);
    CHECK(infer_otel_http_response_parse(&resp, NULL, 0, &used, NOW)
          == INFER_OK && used == 0);

    /* and after an error, the error */

    infer_otel_http_response_init(&resp);
    CHECK(PARSE("HTTP/2 200\r\n") == INFER_EINVAL);
    CHECK(PARSE("HTTP/1.1 200 OK\r\n") == INFER_EINVAL);
    CHECK(infer_otel_http_response_eof(&resp) == INFER_EINVAL);
}


/* the longest line taken: INFER_OTEL_HTTP_LINE bytes, its CR included */

static void
test_lines(void)
{
    size_t     n, head;
    expect_t   e;

    static char  buf[2 * INFER_OTEL_HTTP_LINE + 100];

    memset(&e, 0, sizeof(expect_t));
    e.rc = INFER_OK;
    e.status = 200;
    e.retry_after = -1;
    e.body = "";

#define APPEND(s)  memcpy(buf + n, s, LEN(s)); n += LEN(s)

    head = LEN("HTTP/1.1 200 OK\r\nX-Long: ");
    memcpy(buf, "HTTP/1.1 200 OK\r\nX-Long: ", head);

    n = head + (INFER_OTEL_HTTP_LINE - 8 - 1);
    memset(buf + head, 'v', n - head);
    APPEND("\r\nContent-Length: 0\r\n\r\n");
    e.used = n;
    check_response("longest line, CRLF", buf, n, &e);

    n = head + (INFER_OTEL_HTTP_LINE - 8);
    memset(buf + head, 'v', n - head);
    APPEND("\nContent-Length: 0\r\n\r\n");
    e.used = n;
    check_response("longest line, LF", buf, n, &e);

    n = head + (INFER_OTEL_HTTP_LINE - 8);
    memset(buf + head, 'v', n - head);
    APPEND("\r\nContent-Length: 0\r\n\r\n");
    CHECK(refused(buf, n));

    /* a line with no end is refused as soon as it is too long */

    memset(buf, 'H', 2 * INFER_OTEL_HTTP_LINE);
    CHECK(refused(buf, INFER_OTEL_HTTP_LINE + 1));
    CHECK(run(&resp, buf, INFER_OTEL_HTTP_LINE, 0, 0, 0, &n) == INFER_AGAIN);

#undef APPEND
}


static void
test_invalid(void)
{
    size_t  used;

#define REFUSED(s)  refused(s, LEN(s))

    /* status lines */

    CHECK(REFUSED("HTTP/2 200 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/2.0 200 OK\r\n\r\n"));
    CHECK(REFUSED("http/1.1 200 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 20 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 2000 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1  200 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 2x0 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 099 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 600 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.x 200 OK\r\n\r\n"));
    CHECK(REFUSED("ICY 200 OK\r\n\r\n"));
    CHECK(REFUSED("\r\nHTTP/1.1 200 OK\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 101 Switching Protocols\r\n\r\n"));

    /* fields */

    CHECK(REFUSED("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nName : x\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\n: x\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nX\0A: 1\r\n\r\n"));

    /* Content-Length */

    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length: +12\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                  "Content-Length: 3\r\n\r\nabc"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\n"
                  "Content-Length: 9223372036854775808\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.1 200 OK\r\n"
                  "Content-Length: 99999999999999999999999\r\n\r\n"));

    infer_otel_http_response_init(&resp);
    CHECK(PARSE("HTTP/1.1 200 OK\r\nContent-Length:  9223372036854775807 \r\n"
                "\r\nabc") == INFER_AGAIN
          && resp.content_length == INT64_MAX && resp.body_len == 3);

    /* chunks */

#define CHUNKED  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    CHECK(REFUSED(CHUNKED "zz\r\n"));
    CHECK(REFUSED(CHUNKED "\r\n"));
    CHECK(REFUSED(CHUNKED "-1\r\n"));
    CHECK(REFUSED(CHUNKED "0x5\r\nhello\r\n0\r\n\r\n"));
    CHECK(REFUSED(CHUNKED " 5\r\nhello\r\n0\r\n\r\n"));
    CHECK(REFUSED(CHUNKED "5 x\r\nhello\r\n0\r\n\r\n"));
    CHECK(REFUSED(CHUNKED "10000000000000000\r\n"));
    CHECK(REFUSED(CHUNKED "5\r\nhelloX\r\n0\r\n\r\n"));
    CHECK(REFUSED(CHUNKED "5\r\nhello0\r\n\r\n"));
    CHECK(REFUSED("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "0\r\n\r\n"));

    infer_otel_http_response_init(&resp);
    CHECK(PARSE(CHUNKED "00000000000000000000ffffffffffffffff\r\nab")
          == INFER_AGAIN
          && resp.left == UINT64_MAX - 2 && resp.body_len == 2);

#undef CHUNKED
#undef REFUSED
}


static int64_t
retry_after(const char *value)
{
    char    buf[256];
    size_t  n, used;

    n = snprintf(buf, sizeof(buf), "HTTP/1.1 503 x\r\nRetry-After: %s\r\n"
                 "Content-Length: 0\r\n\r\n", value);

    infer_otel_http_response_init(&resp);

    if (infer_otel_http_response_parse(&resp, buf, n, &used, NOW) != INFER_OK)
    {
        return -100;
    }

    return resp.retry_after;
}


static void
test_retry_after(void)
{
    CHECK(retry_after("120") == 120);
    CHECK(retry_after("0") == 0);
    CHECK(retry_after(" 7 ") == 7);
    CHECK(retry_after("86400") == 86400);
    CHECK(retry_after("86401") == 86400);
    CHECK(retry_after("99999999999999999999999999") == 86400);

    /* two minutes after NOW, in the three forms */

    CHECK(retry_after("Tue, 14 Nov 2023 22:15:20 GMT") == 120);
    CHECK(retry_after("Tuesday, 14-Nov-23 22:15:20 GMT") == 120);
    CHECK(retry_after("Tue Nov 14 22:15:20 2023") == 120);
    CHECK(retry_after("Tue, 14 nov 2023 22:15:20 GMT") == 120);
    CHECK(retry_after("Wed, 15 Nov 2023 00:00:00 GMT") == 6400);
    CHECK(retry_after("Sat Dec  2 00:00:00 2023") == 86400);
    CHECK(retry_after("Sat Nov  4 00:00:00 2023") == 0);

    /* the past is now, the far future a day */

    CHECK(retry_after("Tue, 14 Nov 2023 21:13:20 GMT") == 0);
    CHECK(retry_after("Tue, 14 Nov 2023 22:13:20 GMT") == 0);
    CHECK(retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == 0);
    CHECK(retry_after("Sunday, 06-Nov-94 08:49:37 GMT") == 0);
    CHECK(retry_after("Sun Nov  6 08:49:37 1994") == 0);
    CHECK(retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    CHECK(retry_after("Mon, 01 Jan 0001 00:00:00 GMT") == 0);
    CHECK(retry_after("Wed, 15 Nov 2023 22:13:21 GMT") == 86400);
    CHECK(retry_after("Fri, 31 Dec 9999 23:59:60 GMT") == 86400);

    /* RFC 850's two digits: not more than 50 years ahead of 2023 */

    CHECK(retry_after("Monday, 01-Jan-73 00:00:00 GMT") == 86400);
    CHECK(retry_after("Tuesday, 01-Jan-74 00:00:00 GMT") == 0);

    /* the day must exist */

    CHECK(retry_after("Thu, 29 Feb 2024 00:00:00 GMT") == 86400);
    CHECK(retry_after("Wed, 29 Feb 2023 00:00:00 GMT") == -1);
    CHECK(retry_after("Thu, 30 Nov 2023 00:00:00 GMT") == 86400);
    CHECK(retry_after("Fri, 31 Nov 2023 00:00:00 GMT") == -1);
    CHECK(retry_after("Fri, 00 Nov 2023 00:00:00 GMT") == -1);
    CHECK(retry_after("Tue, 29 Feb 2000 00:00:00 GMT") == 0);
    CHECK(retry_after("Tue, 29 Feb 2100 00:00:00 GMT") == -1);

    /* garbage */

    CHECK(retry_after("") == -1);
    CHECK(retry_after("soon") == -1);
    CHECK(retry_after("-5") == -1);
    CHECK(retry_after("1.5") == -1);
    CHECK(retry_after("12s") == -1);
    CHECK(retry_after("Tue, 14 Nov 2023 22:15:20") == -1);
    CHECK(retry_after("Tue, 14 Nov 2023 22:15:20 UTC") == -1);
    CHECK(retry_after("Tue, 14 Nov 2023 24:00:00 GMT") == -1);
    CHECK(retry_after("Tue, 14 Nov 2023 22:60:00 GMT") == -1);
    CHECK(retry_after("Tue, 14 Nov 2023 22:15:61 GMT") == -1);
    CHECK(retry_after("Tue, 14 Nov 2023 2:15:20 GMT") == -1);
    CHECK(retry_after("Tue, 14 Noc 2023 22:15:20 GMT") == -1);
    CHECK(retry_after("Tue, 4 Nov 2023 22:15:20 GMT") == -1);
    CHECK(retry_after("Tu, 14 Nov 2023 22:15:20 GMT") == -1);
    CHECK(retry_after("Tue,14 Nov 2023 22:15:20 GMT") == -1);
    CHECK(retry_after("Tue, 14 Nov 23 22:15:20 GMT") == -1);
    CHECK(retry_after("Tue Nov 14 22:15:20 2023 ") == 120);
    CHECK(retry_after("Tue Nov 14 22:15:20 23") == -1);
    CHECK(retry_after("Tue Nov 14 22:15:20 2023x") == -1);
    CHECK(retry_after("Tue Nov 14 22:15:20  2023") == -1);
    CHECK(retry_after("Tue Nov 1x 22:15:20 2023") == -1);
    CHECK(retry_after("Tue! Nov 14 22:15:20 2023") == -1);
    CHECK(retry_after("Tuesday") == -1);
    CHECK(retry_after("Tuesday, 14-Nov23 22:15:20 GMT") == -1);
    CHECK(retry_after("Tuesday, 14-Nox-23 22:15:20 GMT") == -1);
    CHECK(retry_after("Tuesday, 14-Nov-2 22:15:20 GMT") == -1);
    CHECK(retry_after("Tuesday, 14/Nov/23 22:15:20 GMT") == -1);

    /* the last of two wins; a 1xx's is forgotten */

    CHECK(retry_after("5\r\nRetry-After: 6") == 6);
    CHECK(retry_after("5\r\nRetry-After: x") == -1);
}


static void
test_partial_protobuf(void)
{
    char     msg[64], deep[4 + 2 * 33];
    size_t   n;
    int64_t  rej;

    /*
     * protoc --encode=opentelemetry.proto.collector.trace.v1.
     * ExportTraceServiceResponse -I /tmp/mock/node_modules/@elastic/
     * mockotlpserver opentelemetry/proto/collector/trace/v1/
     * trace_service.proto, of the text proto in each comment
     */

    /* partial_success { rejected_spans: 3 error_message: "2 spans had no
       name" } */
    static const char  pb3[] =
        "\x0a\x17\x08\x03\x12\x13" "2 spans had no name";

    /* partial_success { error_message: "use gzip" } */
    static const char  warn[] = "\x0a\x0a\x12\x08" "use gzip";

    /* partial_success { rejected_spans: -1 } */
    static const char  neg[] =
        "\x0a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";

    /* partial_success { } */
    static const char  empty[] = "\x0a\x00";

    /* partial_success { rejected_spans: 300 } */
    static const char  r300[] = "\x0a\x03\x08\xac\x02";

    /*
     * Unknown fields of every wire type, groups nested, from a proto2
     * copy of the messages with fields added (protoc --encode=x.Resp):
     *   message PS { optional int64 rejected_spans = 1;
     *     optional string error_message = 2; optional fixed64 f3 = 3;
     *     optional fixed32 f4 = 4; optional group G = 5 {
     *     optional int32 a = 6; optional group H = 7 {
     *     optional string b = 8; } } optional sint32 f9 = 9; }
     *   message Resp { optional PS partial_success = 1;
     *     optional string extra = 2; optional fixed64 f3 = 3;
     *     optional group G = 4 { optional int32 a = 1; } }
     * of partial_success { f3: 1 rejected_spans: 5 G { a: 1 H { b: "x" } }
     * f4: 2 error_message: "bad" f9: -3 } extra: "zz" f3: 9 G { a: 2 }
     */
    static const char  unknown[] =
        "\x0a\x20\x08\x05\x12\x03\x62\x61\x64\x19\x01\x00\x00\x00\x00\x00"
        "\x00\x00\x25\x02\x00\x00\x00\x2b\x30\x01\x3b\x42\x01\x78\x3c\x2c"
        "\x48\x05\x12\x02\x7a\x7a\x19\x09\x00\x00\x00\x00\x00\x00\x00\x23"
        "\x08\x02\x24";

    /* by hand: partial_success { rejected_spans: 5 } then
       partial_success { error_message: "merged" }, merged as protobuf
       merges a message given twice */
    static const char  twice[] =
        "\x0a\x02\x08\x05" "\x0a\x08\x12\x06" "merged";

#define PARTIAL(s, m, l)                                                     \
    infer_otel_partial_success(s, LEN(s), 0, &rej, m, l)

    CHECK(PARTIAL(pb3, msg, sizeof(msg)) == INFER_OK && rej == 3);
    CHECK_STR(msg, "2 spans had no name");

    CHECK(PARTIAL(warn, msg, sizeof(msg)) == INFER_OK && rej == 0);
    CHECK_STR(msg, "use gzip");

    CHECK(PARTIAL(neg, msg, sizeof(msg)) == INFER_OK && rej == -1);
    CHECK_STR(msg, "");

    CHECK(PARTIAL(r300, msg, sizeof(msg)) == INFER_OK && rej == 300);

    CHECK(PARTIAL(unknown, msg, sizeof(msg)) == INFER_OK && rej == 5);
    CHECK_STR(msg, "bad");

    CHECK(PARTIAL(twice, msg, sizeof(msg)) == INFER_OK && rej == 5);
    CHECK_STR(msg, "merged");

    /* cut to the room given, and only printable ASCII */

    CHECK(PARTIAL(pb3, msg, 8) == INFER_OK && rej == 3);
    CHECK_STR(msg, "2 spans");
    CHECK(PARTIAL(pb3, msg, 1) == INFER_OK);
    CHECK_STR(msg, "");
    CHECK(PARTIAL(pb3, NULL, 0) == INFER_OK && rej == 3);
    CHECK(infer_otel_partial_success("\x0a\x07\x12\x05" "a\0\x01\xc3\xa9",
                                     9, 0, &rej, msg, sizeof(msg))
          == INFER_OK);
    CHECK_STR(msg, "a????");

    /* nothing said */

    CHECK(PARTIAL(empty, msg, sizeof(msg)) == INFER_DECLINED && rej == 0);
    CHECK(PARTIAL("", msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x00", msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x12\x02zz", msg, sizeof(msg)) == INFER_DECLINED);

    /* malformed: a field cut short, a length past the end, no such wire
       type, an end group without its start, field 0, a group unclosed */

    CHECK(PARTIAL("\x0a\x03\x08\x05", msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x80", msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x12", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x1e", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x1c", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x02\x00", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x1b\x08\x01", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x1b\x24", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x19\x01", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\x1d\x01", msg, sizeof(msg))
          == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                  msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x08\x05\xf8\xff\xff\xff\xff\x01\x00", msg,
                  sizeof(msg)) == INFER_DECLINED);

    /* the same, inside partial_success */

    CHECK(PARTIAL("\x0a\x02\x00\x00", msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x12\x05", msg, sizeof(msg)) == INFER_DECLINED);
    CHECK(PARTIAL("\x0a\x02\x19\x01", msg, sizeof(msg)) == INFER_DECLINED);

    /* a group closed, and one nested past the depth allowed */

    CHECK(PARTIAL("\x0a\x02\x08\x05\x1b\x08\x01\x1c", msg, sizeof(msg))
          == INFER_OK && rej == 5);
    memcpy(deep, "\x0a\x02\x08\x05", 4);

    for (n = 32; n <= 33; n++) {
        memset(deep + 4, 0x1b, n);
        memset(deep + 4 + n, 0x1c, n);
        CHECK(infer_otel_partial_success(deep, 4 + 2 * n, 0, &rej, msg,
                                         sizeof(msg))
              == (n == 32 ? INFER_OK : INFER_DECLINED));
    }

#undef PARTIAL
}


static void
test_partial_json(void)
{
    char     msg[64], big[INFER_OTEL_HTTP_BODY + 2];
    int64_t  rej;

#define PARTIAL(s)                                                           \
    infer_otel_partial_success(s, LEN(s), 1, &rej, msg, sizeof(msg))

    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":\"3\","
                  "\"errorMessage\":\"bad\\u0001span\\n\"}}") == INFER_OK
          && rej == 3);
    CHECK_STR(msg, "bad?span ");

    CHECK(PARTIAL(" {\"partialSuccess\": {\"rejectedSpans\": 7}} ")
          == INFER_OK && rej == 7);
    CHECK_STR(msg, "");

    CHECK(PARTIAL("{\"partial_success\":{\"rejected_spans\":\"-2\"}}")
          == INFER_OK && rej == -2);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":"
                  "\"9223372036854775807\"}}") == INFER_OK
          && rej == INT64_MAX);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":"
                  "\"-9223372036854775808\"}}") == INFER_OK
          && rej == INT64_MIN);
    CHECK(PARTIAL("{\"partialSuccess\":{\"errorMessage\":\"caf\xc3\xa9\"}}")
          == INFER_OK && rej == 0);
    CHECK_STR(msg, "caf??");

    /* JSON with no Content-Type saying so: not protobuf, so JSON */

    CHECK(infer_otel_partial_success("\n{\"partialSuccess\":{\"rejectedSpans\""
                                     ":1}}", 39, 0, &rej, msg, sizeof(msg))
          == INFER_OK && rej == 1);
    CHECK(infer_otel_partial_success("{\"ok\":1}", 8, 0, &rej, msg,
                                     sizeof(msg)) == INFER_DECLINED);

    /* a count that is no int64 is no count */

    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":"
                  "\"9223372036854775808\"}}") == INFER_DECLINED);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":1.5,"
                  "\"errorMessage\":\"m\"}}") == INFER_OK && rej == 0);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":\"3x\"}}")
          == INFER_DECLINED);

    /* nothing said */

    CHECK(PARTIAL("{\"ok\":1}") == INFER_DECLINED);
    CHECK(PARTIAL("{}") == INFER_DECLINED);
    CHECK(PARTIAL("{\"partialSuccess\":{}}") == INFER_DECLINED);
    CHECK(PARTIAL("{\"partialSuccess\":null}") == INFER_DECLINED);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":\"0\","
                  "\"errorMessage\":\"\"}}") == INFER_DECLINED);
    CHECK(PARTIAL("[1]") == INFER_DECLINED);
    CHECK(PARTIAL("") == INFER_DECLINED);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":3") ==
          INFER_DECLINED);
    CHECK(PARTIAL("{\"partialSuccess\":{\"rejectedSpans\":3}}\0")
          == INFER_DECLINED);

    /* the largest body kept, and one more byte */

    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"partialSuccess\":{\"rejectedSpans\":4}}", 38);
    CHECK(infer_otel_partial_success(big, INFER_OTEL_HTTP_BODY, 1, &rej, msg,
                                     sizeof(msg)) == INFER_OK && rej == 4);
    CHECK(infer_otel_partial_success(big, INFER_OTEL_HTTP_BODY + 1, 1, &rej,
                                     msg, sizeof(msg)) == INFER_DECLINED);

#undef PARTIAL
}


static void
test_error_message(void)
{
    char  msg[64];

#define ERROR_MESSAGE(s, json)                                               \
    infer_otel_error_message(s, LEN(s), json, msg, sizeof(msg))

    /*
     * google.rpc.Status, encoded by protoc --encode=google.rpc.Status from
     * a copy of its .proto (Any as { string type_url = 1; bytes value =
     * 2; }), of code: 3 message: "invalid span id" details { type_url:
     * "type.googleapis.com/google.rpc.BadRequest" value: "\x0a\x02hi" }
     */

    ERROR_MESSAGE("\x08\x03\x12\x0f\x69\x6e\x76\x61\x6c\x69\x64\x20\x73\x70"
                  "\x61\x6e\x20\x69\x64\x1a\x31\x0a\x29\x74\x79\x70\x65\x2e"
                  "\x67\x6f\x6f\x67\x6c\x65\x61\x70\x69\x73\x2e\x63\x6f\x6d"
                  "\x2f\x67\x6f\x6f\x67\x6c\x65\x2e\x72\x70\x63\x2e\x42\x61"
                  "\x64\x52\x65\x71\x75\x65\x73\x74\x12\x04\x0a\x02\x68\x69",
                  0);
    CHECK_STR(msg, "invalid span id");

    /* the same, of code: 8 message: "too many \x01 requests" */

    ERROR_MESSAGE("\x08\x08\x12\x13\x74\x6f\x6f\x20\x6d\x61\x6e\x79\x20\x01"
                  "\x20\x72\x65\x71\x75\x65\x73\x74\x73", 0);
    CHECK_STR(msg, "too many ? requests");

    /* JSON: google.rpc.Status, and what mockotlpserver sends (with no
       Content-Type) */

    ERROR_MESSAGE("{\"code\":3,\"message\":\"bad span\"}", 1);
    CHECK_STR(msg, "bad span");
    ERROR_MESSAGE("{\"error\":{\"code\":400,\"message\":\"unexpected request "
                  "Content-Type: \\\"text/plain\\\"\"}}", 0);
    CHECK_STR(msg, "unexpected request Content-Type: \"text/plain\"");
    ERROR_MESSAGE(" {\"error\":\"quota\"}", 1);
    CHECK_STR(msg, "quota");

    /* JSON without a message: its text */

    ERROR_MESSAGE("{\"code\":3}\n", 1);
    CHECK_STR(msg, "{\"code\":3}");
    ERROR_MESSAGE("{\"code\":3,\"message\":\"\"}", 1);
    CHECK_STR(msg, "{\"code\":3,\"message\":\"\"}");
    ERROR_MESSAGE("{\"error\":", 0);
    CHECK_STR(msg, "{\"error\":");

    /* text, as nginx and proxies send it */

    ERROR_MESSAGE("Service Unavailable\r\n", 0);
    CHECK_STR(msg, "Service Unavailable");
    ERROR_MESSAGE("\n  upstream connect error\tor disconnect\n", 1);
    CHECK_STR(msg, "upstream connect error or disconnect");
    ERROR_MESSAGE("<html>\r\n<head><title>503 Service Temporarily "
                  "Unavailable</title></head>\r\n", 0);
    CHECK_STR(msg, "<html>  <head><title>503 Service Temporarily "
                   "Unavailable</title");
    CHECK(strlen(msg) == sizeof(msg) - 1);
    ERROR_MESSAGE("\x80\x01\xffok", 0);
    CHECK_STR(msg, "???ok");
    ERROR_MESSAGE("", 0);
    CHECK_STR(msg, "");

    /* a Status with no message, or none, is shown as the bytes it is */

    ERROR_MESSAGE("\x08\x03", 0);
    CHECK_STR(msg, "??");
    ERROR_MESSAGE("\x12\x05" "ab", 0);
    CHECK_STR(msg, "??ab");
    ERROR_MESSAGE("\x08\x03\x00\x00", 0);
    CHECK_STR(msg, "????");

    /* the room given */

    infer_otel_error_message("abc", 3, 0, msg, 3);
    CHECK_STR(msg, "ab");
    infer_otel_error_message("abc", 3, 0, msg, 1);
    CHECK_STR(msg, "");
    msg[0] = 'x';
    infer_otel_error_message("abc", 3, 0, msg, 0);
    CHECK(msg[0] == 'x');

#undef ERROR_MESSAGE
}


void
infer_test_otel_http(void)
{
    test_head();
    test_framing();
    test_eof();
    test_lines();
    test_invalid();
    test_retry_after();
    test_partial_protobuf();
    test_partial_json();
    test_error_message();
}
