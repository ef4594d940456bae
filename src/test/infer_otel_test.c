/*
 * The trace exporter's encoders and queue: a body byte for byte against
 * what protoc encodes, the same body in OTLP/JSON parsed back, gzip
 * bodies inflated against the plain ones, the queue's promises (all or
 * none, sealing, ENOSPC, ETOOBIG, FIFO), UTF-8 made valid, and the
 * sampler's thresholds against the specification's table.
 */

#include <math.h>
#include <stdlib.h>
#include <zlib.h>
#include <yajl/yajl_tree.h>

#include "infer_otel.h"
#include "infer_otel_enc.h"
#include "infer_trace.h"
#include "infer_unit_test.h"


#define T_URL  "https://opentelemetry.io/schemas/1.26.0"
#define T_BIG  (1 << 20)


static void make_resource(infer_otel_resource_t *r);
static void make_span(infer_otel_span_t *s, infer_otel_attr_t *a, int i);
static infer_otel_queue_t *make_queue(int protocol, int gzip, size_t spans,
    size_t bytes, size_t queued);
static size_t body(const infer_otel_batch_t *b, uint8_t *dst);
static size_t gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
static yajl_val member(yajl_val v, const char *key);
static yajl_val elem(yajl_val v, size_t i);
static const char *string(yajl_val v);
static size_t sanitize(const char *in, size_t len, size_t max, int json,
    char *out);
static void test_golden(void);
static void test_json(void);
static void test_gzip(void);
static void test_gzip_frame(void);
static void test_gzip_entropy(void);
static void test_queue(int protocol, int gzip);
static void test_toobig(int protocol, int gzip);
static void test_conf(void);
static void test_utf8(void);
static void test_sampler(void);


/*
 * The ExportTraceServiceRequest of test_golden(), encoded by
 *   protoc --encode=opentelemetry.proto.collector.trace.v1.\
 *     ExportTraceServiceRequest -I $M \
 *     $M/opentelemetry/proto/collector/trace/v1/trace_service.proto \
 *     < golden.txtpb | xxd -i
 * with M=node_modules/@elastic/mockotlpserver (opentelemetry-proto v1) and
 * golden.txtpb the text format of the resource and span built below.
 */

static const uint8_t  golden_pb[] = {
    0x0a, 0xaf, 0x03, 0x0a, 0x2a, 0x0a, 0x17, 0x0a, 0x0c, 0x73, 0x65, 0x72,
    0x76, 0x69, 0x63, 0x65, 0x2e, 0x6e, 0x61, 0x6d, 0x65, 0x12, 0x07, 0x0a,
    0x05, 0x69, 0x6e, 0x66, 0x65, 0x72, 0x0a, 0x0f, 0x0a, 0x09, 0x68, 0x6f,
    0x73, 0x74, 0x2e, 0x63, 0x70, 0x75, 0x73, 0x12, 0x02, 0x18, 0x08, 0x12,
    0xd7, 0x02, 0x0a, 0x1c, 0x0a, 0x15, 0x6e, 0x67, 0x78, 0x5f, 0x68, 0x74,
    0x74, 0x70, 0x5f, 0x69, 0x6e, 0x66, 0x65, 0x72, 0x5f, 0x6d, 0x6f, 0x64,
    0x75, 0x6c, 0x65, 0x12, 0x03, 0x31, 0x2e, 0x30, 0x12, 0x8d, 0x02, 0x0a,
    0x10, 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92,
    0x9d, 0x0e, 0x0e, 0x47, 0x36, 0x12, 0x08, 0x00, 0xf0, 0x67, 0xaa, 0x0b,
    0xa9, 0x02, 0xb7, 0x1a, 0x15, 0x72, 0x6f, 0x6a, 0x6f, 0x3d, 0x30, 0x30,
    0x66, 0x30, 0x36, 0x37, 0x61, 0x61, 0x30, 0x62, 0x61, 0x39, 0x30, 0x32,
    0x62, 0x37, 0x22, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x2a, 0x0d, 0x50, 0x4f, 0x53, 0x54, 0x20, 0x2f, 0x70, 0x72, 0x65, 0x64,
    0x69, 0x63, 0x74, 0x30, 0x02, 0x39, 0x00, 0x00, 0x2a, 0x36, 0xfe, 0x9c,
    0x97, 0x17, 0x41, 0x60, 0xe3, 0x40, 0x36, 0xfe, 0x9c, 0x97, 0x17, 0x4a,
    0x1d, 0x0a, 0x13, 0x68, 0x74, 0x74, 0x70, 0x2e, 0x72, 0x65, 0x71, 0x75,
    0x65, 0x73, 0x74, 0x2e, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x12, 0x06,
    0x0a, 0x04, 0x50, 0x4f, 0x53, 0x54, 0x4a, 0x20, 0x0a, 0x19, 0x68, 0x74,
    0x74, 0x70, 0x2e, 0x72, 0x65, 0x73, 0x70, 0x6f, 0x6e, 0x73, 0x65, 0x2e,
    0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x12,
    0x03, 0x18, 0xc8, 0x01, 0x4a, 0x18, 0x0a, 0x0b, 0x69, 0x6e, 0x66, 0x65,
    0x72, 0x2e, 0x72, 0x61, 0x74, 0x69, 0x6f, 0x12, 0x09, 0x21, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f, 0x4a, 0x12, 0x0a, 0x0c, 0x69, 0x6e,
    0x66, 0x65, 0x72, 0x2e, 0x63, 0x61, 0x63, 0x68, 0x65, 0x64, 0x12, 0x02,
    0x10, 0x01, 0x4a, 0x1a, 0x0a, 0x0b, 0x69, 0x6e, 0x66, 0x65, 0x72, 0x2e,
    0x64, 0x65, 0x6c, 0x74, 0x61, 0x12, 0x0b, 0x18, 0xfd, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x4a, 0x11, 0x0a, 0x0b, 0x69, 0x6e,
    0x66, 0x65, 0x72, 0x2e, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x12, 0x02, 0x0a,
    0x00, 0x7a, 0x07, 0x12, 0x03, 0x62, 0x61, 0x64, 0x18, 0x02, 0x85, 0x01,
    0x01, 0x03, 0x00, 0x00, 0x1a, 0x27, 0x68, 0x74, 0x74, 0x70, 0x73, 0x3a,
    0x2f, 0x2f, 0x6f, 0x70, 0x65, 0x6e, 0x74, 0x65, 0x6c, 0x65, 0x6d, 0x65,
    0x74, 0x72, 0x79, 0x2e, 0x69, 0x6f, 0x2f, 0x73, 0x63, 0x68, 0x65, 0x6d,
    0x61, 0x73, 0x2f, 0x31, 0x2e, 0x32, 0x36, 0x2e, 0x30, 0x1a, 0x27, 0x68,
    0x74, 0x74, 0x70, 0x73, 0x3a, 0x2f, 0x2f, 0x6f, 0x70, 0x65, 0x6e, 0x74,
    0x65, 0x6c, 0x65, 0x6d, 0x65, 0x74, 0x72, 0x79, 0x2e, 0x69, 0x6f, 0x2f,
    0x73, 0x63, 0x68, 0x65, 0x6d, 0x61, 0x73, 0x2f, 0x31, 0x2e, 0x32, 0x36,
    0x2e, 0x30
};


/* the same request in OTLP/JSON, written out by hand from the spec */

static const char  golden_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"infer\"}},"
    "{\"key\":\"host.cpus\",\"value\":{\"intValue\":\"8\"}}]},"
    "\"scopeSpans\":[{\"scope\":{\"name\":\"ngx_http_infer_module\","
    "\"version\":\"1.0\"},\"spans\":[{"
    "\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
    "\"spanId\":\"00f067aa0ba902b7\","
    "\"traceState\":\"rojo=00f067aa0ba902b7\","
    "\"parentSpanId\":\"0102030405060708\",\"flags\":769,"
    "\"name\":\"POST /predict\",\"kind\":2,"
    "\"startTimeUnixNano\":\"1700000000000000000\","
    "\"endTimeUnixNano\":\"1700000000001500000\",\"attributes\":["
    "{\"key\":\"http.request.method\",\"value\":{\"stringValue\":\"POST\"}},"
    "{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":\"200\"}},"
    "{\"key\":\"infer.ratio\",\"value\":{\"doubleValue\":0.25}},"
    "{\"key\":\"infer.cached\",\"value\":{\"boolValue\":true}},"
    "{\"key\":\"infer.delta\",\"value\":{\"intValue\":\"-3\"}},"
    "{\"key\":\"infer.empty\",\"value\":{\"stringValue\":\"\"}}],"
    "\"status\":{\"message\":\"bad\",\"code\":2}}],"
    "\"schemaUrl\":\"" T_URL "\"}],\"schemaUrl\":\"" T_URL "\"}]}";


static const uint8_t  golden_trace[16] = {
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36
};

static const uint8_t  golden_span_id[8] = {
    0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7
};

static const uint8_t  golden_parent[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static infer_otel_attr_t  golden_resource_attrs[2];
static infer_otel_resource_t  golden_resource;

static uint8_t  buf1[T_BIG], buf2[T_BIG], buf3[T_BIG];


static void
make_resource(infer_otel_resource_t *r)
{
    golden_resource_attrs[0].key = "service.name";
    golden_resource_attrs[0].type = INFER_OTEL_STRING;
    golden_resource_attrs[0].v.s = "infer";
    golden_resource_attrs[0].len = 5;
    golden_resource_attrs[1].key = "host.cpus";
    golden_resource_attrs[1].type = INFER_OTEL_INT;
    golden_resource_attrs[1].v.i = 8;

    memset(r, 0, sizeof(infer_otel_resource_t));
    r->attrs = golden_resource_attrs;
    r->nattrs = 2;
    r->scope_name = "ngx_http_infer_module";
    r->scope_version = "1.0";
    r->schema_url = T_URL;
}


/* the golden span (i == 0), or a variation on it; a has room for 6 */

static void
make_span(infer_otel_span_t *s, infer_otel_attr_t *a, int i)
{
    memset(s, 0, sizeof(infer_otel_span_t));
    memset(a, 0, 6 * sizeof(infer_otel_attr_t));

    memcpy(s->trace_id, golden_trace, 16);
    memcpy(s->span_id, golden_span_id, 8);
    memcpy(s->parent_id, golden_parent, 8);
    s->span_id[7] ^= (uint8_t) i;
    s->has_parent = 1;
    s->flags = 0x301;
    s->name = "POST /predict";
    s->name_len = 13;
    s->kind = INFER_OTEL_KIND_SERVER;
    s->start_ns = 1700000000000000000ULL;
    s->end_ns = 1700000000001500000ULL + (uint64_t) i;
    s->status = INFER_OTEL_STATUS_ERROR;
    s->status_message = "bad";
    s->status_message_len = 3;
    s->trace_state = "rojo=00f067aa0ba902b7";
    s->trace_state_len = 21;

    a[0].key = "http.request.method";
    a[0].type = INFER_OTEL_STRING;
    a[0].v.s = "POST";
    a[0].len = 4;
    a[1].key = "http.response.status_code";
    a[1].type = INFER_OTEL_INT;
    a[1].v.i = 200;
    a[2].key = "infer.ratio";
    a[2].type = INFER_OTEL_DOUBLE;
    a[2].v.d = 0.25;
    a[3].key = "infer.cached";
    a[3].type = INFER_OTEL_BOOL;
    a[3].v.b = 1;
    a[4].key = "infer.delta";
    a[4].type = INFER_OTEL_INT;
    a[4].v.i = -3 - i;
    a[5].key = "infer.empty";
    a[5].type = INFER_OTEL_STRING;
    a[5].v.s = "";
    a[5].len = 0;

    s->attrs = a;
    s->nattrs = 6;
}


static infer_otel_queue_t *
make_queue(int protocol, int gzip, size_t spans, size_t bytes, size_t queued)
{
    infer_otel_queue_t       *q;
    infer_otel_queue_conf_t   conf;

    conf.protocol = protocol;
    conf.gzip = gzip;
    conf.batch_spans = spans;
    conf.batch_bytes = bytes;
    conf.queued = queued;
    conf.resource = &golden_resource;

    if (infer_otel_queue_create(&q, &conf) != INFER_OK) {
        return NULL;
    }

    return q;
}


static size_t
body(const infer_otel_batch_t *b, uint8_t *dst)
{
    int           i, niov;
    size_t        n, len;
    struct iovec  iov[3];

    if (b == NULL) {
        return 0;                       /* a failed CHECK, not a crash */
    }

    len = infer_otel_batch_body(b, iov, &niov);
    n = 0;

    for (i = 0; i < niov; i++) {
        memcpy(dst + n, iov[i].iov_base, iov[i].iov_len);
        n += iov[i].iov_len;
    }

    return (n == len) ? n : 0;
}


/* one whole gzip member and nothing after it: its length, or 0 */

static size_t
gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    int       rc;
    size_t    len;
    z_stream  zs;

    memset(&zs, 0, sizeof(z_stream));

    if (inflateInit2(&zs, 16 + 15) != Z_OK) {
        return 0;
    }

    zs.next_in = (Bytef *) in;
    zs.avail_in = n;
    zs.next_out = out;
    zs.avail_out = cap;

    rc = inflate(&zs, Z_FINISH);
    len = cap - zs.avail_out;

    if (rc != Z_STREAM_END || zs.avail_in != 0) {
        len = 0;
    }

    inflateEnd(&zs);

    return len;
}


static yajl_val
member(yajl_val v, const char *key)
{
    size_t  i;

    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        return NULL;
    }

    for (i = 0; i < v->u.object.len; i++) {
        if (strcmp(v->u.object.keys[i], key) == 0) {
            return v->u.object.values[i];
        }
    }

    return NULL;
}


static yajl_val
elem(yajl_val v, size_t i)
{
    if (v == NULL || !YAJL_IS_ARRAY(v) || i >= v->u.array.len) {
        return NULL;
    }

    return v->u.array.values[i];
}


static const char *
string(yajl_val v)
{
    return (v != NULL && YAJL_IS_STRING(v)) ? YAJL_GET_STRING(v) : NULL;
}


static size_t
sanitize(const char *in, size_t len, size_t max, int json, char *out)
{
    uint8_t           *end;
    infer_otel_str_t   s;

    infer_otel_str(&s, in, len, max, json);
    end = infer_otel_str_copy((uint8_t *) out, &s, json);
    *end = '\0';

    return ((size_t) (end - (uint8_t *) out) == s.out + (json ? s.esc : 0))
           ? s.out : (size_t) -1;
}


static void
test_golden(void)
{
    size_t               n;
    infer_otel_span_t    s;
    infer_otel_attr_t    a[6];
    infer_otel_queue_t  *q;
    infer_otel_batch_t  *b;

    make_span(&s, a, 0);

    q = make_queue(INFER_OTEL_PROTOBUF, 0, 16, 65536, 1);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, &s, 1) == INFER_OK);
    CHECK(infer_otel_queue_peek(q) == NULL);
    CHECK(infer_otel_queue_filling(q) == 1);
    infer_otel_queue_seal(q);
    b = infer_otel_queue_peek(q);
    CHECK(b != NULL && infer_otel_batch_nspans(b) == 1);
    n = body(b, buf1);
    CHECK(n == sizeof(golden_pb) && memcmp(buf1, golden_pb, n) == 0);
    infer_otel_queue_destroy(q);

    q = make_queue(INFER_OTEL_JSON, 0, 16, 65536, 1);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, &s, 1) == INFER_OK);
    infer_otel_queue_seal(q);
    n = body(infer_otel_queue_peek(q), buf1);
    buf1[n] = '\0';
    CHECK_STR((char *) buf1, golden_json);
    infer_otel_queue_destroy(q);

    CHECK_STR(infer_otel_content_type(INFER_OTEL_PROTOBUF),
              "application/x-protobuf");
    CHECK_STR(infer_otel_content_type(INFER_OTEL_JSON), "application/json");
}


/* three spans, odd values: parsed back with yajl */

static void
test_json(void)
{
    char                 err[128];
    size_t               n;
    yajl_val             root, ss, spans, sp, attrs;
    infer_otel_span_t    s[3];
    infer_otel_attr_t    a[3][6];
    infer_otel_queue_t  *q;

    static const char    *path[] = { "resourceSpans", NULL };

    make_span(&s[0], a[0], 0);
    make_span(&s[1], a[1], 1);
    make_span(&s[2], a[2], 2);

    /* non-finite doubles, escapes, the extremes of int64 */

    a[1][2].v.d = NAN;
    a[1][4].v.i = INT64_MIN;
    a[2][2].v.d = -INFINITY;
    a[2][4].v.i = INT64_MAX;
    a[2][0].v.s = "q\"b\\s\n\x01\x7f\xc3\xa9";
    a[2][0].len = 10;
    s[1].has_parent = 0;
    s[1].status = INFER_OTEL_STATUS_UNSET;
    s[1].status_message = NULL;
    s[1].trace_state = NULL;
    s[1].flags = 0;
    s[2].status = INFER_OTEL_STATUS_OK;
    s[2].status_message_len = 0;
    s[2].kind = INFER_OTEL_KIND_INTERNAL;
    a[0][2].v.d = INFINITY;

    q = make_queue(INFER_OTEL_JSON, 0, 16, 65536, 0);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, s, 3) == INFER_OK);
    infer_otel_queue_seal(q);
    n = body(infer_otel_queue_peek(q), buf1);
    buf1[n] = '\0';

    root = yajl_tree_parse((char *) buf1, err, sizeof(err));
    CHECK(root != NULL);

    ss = elem(member(elem(yajl_tree_get(root, path, yajl_t_array), 0),
                     "scopeSpans"), 0);
    CHECK_STR(string(member(member(ss, "scope"), "name")),
              "ngx_http_infer_module");
    CHECK_STR(string(member(ss, "schemaUrl")), T_URL);

    spans = member(ss, "spans");
    CHECK(spans != NULL && YAJL_IS_ARRAY(spans) && spans->u.array.len == 3);

    sp = elem(spans, 0);
    CHECK_STR(string(member(sp, "traceId")),
              "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_STR(string(member(sp, "spanId")), "00f067aa0ba902b7");
    CHECK_STR(string(member(sp, "parentSpanId")), "0102030405060708");
    CHECK_STR(string(member(sp, "startTimeUnixNano")), "1700000000000000000");
    CHECK(YAJL_IS_INTEGER(member(sp, "kind"))
          && YAJL_GET_INTEGER(member(sp, "kind")) == 2);
    CHECK(YAJL_GET_INTEGER(member(sp, "flags")) == 0x301);
    CHECK(YAJL_GET_INTEGER(member(member(sp, "status"), "code")) == 2);
    attrs = member(sp, "attributes");
    CHECK_STR(string(member(member(elem(attrs, 2), "value"), "doubleValue")),
              "Infinity");
    CHECK(YAJL_IS_TRUE(member(member(elem(attrs, 3), "value"),
                              "boolValue")));

    sp = elem(spans, 1);
    CHECK(member(sp, "parentSpanId") == NULL);
    CHECK(member(sp, "status") == NULL);
    CHECK(member(sp, "traceState") == NULL);
    CHECK(member(sp, "flags") == NULL);
    CHECK_STR(string(member(sp, "spanId")), "00f067aa0ba902b6");
    attrs = member(sp, "attributes");
    CHECK_STR(string(member(member(elem(attrs, 2), "value"), "doubleValue")),
              "NaN");
    CHECK_STR(string(member(member(elem(attrs, 4), "value"), "intValue")),
              "-9223372036854775808");

    sp = elem(spans, 2);
    attrs = member(sp, "attributes");
    CHECK_STR(string(member(member(elem(attrs, 0), "value"), "stringValue")),
              "q\"b\\s\n\x01\x7f\xc3\xa9");
    CHECK_STR(string(member(member(elem(attrs, 2), "value"), "doubleValue")),
              "-Infinity");
    CHECK_STR(string(member(member(elem(attrs, 4), "value"), "intValue")),
              "9223372036854775807");
    CHECK(YAJL_GET_INTEGER(member(member(sp, "status"), "code")) == 1);
    CHECK(member(member(sp, "status"), "message") == NULL);
    CHECK(YAJL_GET_INTEGER(member(sp, "kind")) == 1);

    CHECK(strstr((char *) buf1, "\"q\\\"b\\\\s\\u000a\\u0001\x7f\xc3\xa9\"")
          != NULL);

    yajl_tree_free(root);
    infer_otel_queue_destroy(q);
}


/*
 * Batches sealed by count in a plain queue and a gzip one: each gzip body
 * inflates to the plain body, and is smaller.
 */

static void
test_gzip(void)
{
    int                  protocol, level, i, r;
    size_t               n, m, k;
    infer_otel_span_t    s[3];
    infer_otel_attr_t    a[3][6];
    infer_otel_queue_t  *plain, *gz;
    infer_otel_batch_t  *b;

    static const int     levels[] = { 1, 6, 9 };

    for (protocol = 0; protocol < 2; protocol++) {
        for (level = 0; level < 3; level++) {
            plain = make_queue(protocol, 0, 12, T_BIG / 4, 3);
            gz = make_queue(protocol, levels[level], 12, T_BIG / 4, 3);
            CHECK(plain != NULL && gz != NULL);

            if (plain == NULL || gz == NULL) {
                return;
            }

            k = 0;

            for (r = 0; r < 20; r++) {
                for (i = 0; i < 3; i++) {
                    make_span(&s[i], a[i], r * 3 + i);
                }

                CHECK(infer_otel_queue_add(plain, s, 3) == INFER_OK);
                CHECK(infer_otel_queue_add(gz, s, 3) == INFER_OK);

                if (r == 19) {
                    infer_otel_queue_seal(plain);
                    infer_otel_queue_seal(gz);
                }

                CHECK(infer_otel_queue_sealed(plain)
                      == infer_otel_queue_sealed(gz));

                while ((b = infer_otel_queue_peek(plain)) != NULL) {
                    n = body(b, buf1);
                    m = body(infer_otel_queue_peek(gz), buf2);
                    CHECK(m < n);
                    CHECK(gunzip(buf2, m, buf3, sizeof(buf3)) == n);
                    CHECK(memcmp(buf1, buf3, n) == 0);
                    infer_otel_queue_pop(plain);
                    infer_otel_queue_pop(gz);
                    k++;
                }
            }

            CHECK(k == 5);              /* 60 spans, 12 a batch */
            CHECK(infer_otel_queue_peek(gz) == NULL);

            infer_otel_queue_destroy(plain);
            infer_otel_queue_destroy(gz);
        }
    }
}


/*
 * Spans that hardly compress (random doubles and ids, random printable
 * text) fill small gzip batches to the last request that fits: each body
 * stays within batch_bytes and inflates whole.
 */

static void
test_gzip_entropy(void)
{
    int                  protocol, level, k, ok;
    char                 text[200];
    size_t               i, n, nbodies, spans;
    uint64_t             x;
    infer_otel_span_t    s;
    infer_otel_attr_t    a[41];
    infer_trace_rng_t    rng;
    infer_otel_queue_t  *q;
    infer_otel_batch_t  *b;

    infer_trace_seed(&rng, 7);
    make_span(&s, a, 0);
    memset(a, 0, sizeof(a));

    for (i = 0; i < 40; i++) {
        a[i].key = "d";
        a[i].type = INFER_OTEL_DOUBLE;
    }

    a[40].key = "text";
    a[40].type = INFER_OTEL_STRING;
    a[40].v.s = text;
    a[40].len = sizeof(text);
    s.attrs = a;
    s.nattrs = 41;

    for (protocol = 0; protocol < 2; protocol++) {
        for (level = 1; level <= 9; level += 8) {
            q = make_queue(protocol, level, 1000, 8192, 2);
            CHECK(q != NULL);

            if (q == NULL) {
                return;
            }

            ok = 1;
            spans = 0;

            for (k = 0; k < 1000; k++) {
                for (i = 0; i < 40; i++) {
                    x = infer_trace_rand(&rng);
                    memcpy(&a[i].v.d, &x, 8);
                }

                for (i = 0; i < sizeof(text); i++) {
                    text[i] = (char) (' ' + infer_trace_rand(&rng) % 95);
                }

                x = infer_trace_rand(&rng);
                memcpy(s.trace_id, &x, 8);
                memcpy(s.span_id, &x, 8);

                if (infer_otel_queue_add(q, &s, 1) != INFER_OK) {
                    break;
                }

                spans++;
            }

            CHECK(k > 3 && k < 1000);            /* it filled up */
            infer_otel_queue_seal(q);
            nbodies = 0;

            while ((b = infer_otel_queue_peek(q)) != NULL) {
                n = body(b, buf1);
                ok &= (n != 0 && n <= 8192);
                ok &= (gunzip(buf1, n, buf2, sizeof(buf2)) > n);
                spans -= infer_otel_batch_nspans(b);
                infer_otel_queue_pop(q);
                nbodies++;
            }

            CHECK(ok && spans == 0 && nbodies == 3);
            infer_otel_queue_destroy(q);
        }
    }
}


/* the member's frame: header, the head stored, the tail stored, trailer */

static void
test_gzip_frame(void)
{
    size_t               n;
    uint32_t             isize;
    infer_otel_span_t    s;
    infer_otel_attr_t    a[6];
    infer_otel_queue_t  *q;

    make_span(&s, a, 0);

    q = make_queue(INFER_OTEL_JSON, 1, 16, 65536, 0);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, &s, 1) == INFER_OK);
    infer_otel_queue_seal(q);
    n = body(infer_otel_queue_peek(q), buf1);

    CHECK(n > 40 && buf1[0] == 0x1f && buf1[1] == 0x8b && buf1[2] == 8);
    CHECK(buf1[10] == 0);                               /* stored, not last */
    CHECK(buf1[11] + 256 * buf1[12]                     /* the JSON head */
          == strstr(golden_json, "\"spans\":[") + 9 - golden_json);
    CHECK(memcmp(buf1 + 15, "{\"resourceSpans\":[", 18) == 0);
    CHECK(memcmp(buf1 + n - 13, "\x01\x00\x00\xff\xff", 5) == 0);
    isize = buf1[n - 4] | buf1[n - 3] << 8 | buf1[n - 2] << 16
            | (uint32_t) buf1[n - 1] << 24;
    CHECK(isize == sizeof(golden_json) - 1);
    CHECK(gunzip(buf1, n, buf2, sizeof(buf2)) == sizeof(golden_json) - 1
          && memcmp(buf2, golden_json, sizeof(golden_json) - 1) == 0);

    /* and once more: the stream is reset for the next batch */

    infer_otel_queue_pop(q);
    CHECK(infer_otel_queue_add(q, &s, 1) == INFER_OK);
    infer_otel_queue_seal(q);
    CHECK(body(infer_otel_queue_peek(q), buf3) == n
          && memcmp(buf1, buf3, n) == 0);

    infer_otel_queue_destroy(q);
}


/*
 * The queue's promises, with batches of 3 spans and 2 batches.  A batch's
 * body must be what a fresh queue given the same spans writes: nothing of
 * a request that did not fit is left in it.
 */

static void
test_queue(int protocol, int gzip)
{
    size_t               n, one, two, cap;
    infer_otel_span_t    s[4], big;
    infer_otel_attr_t    a[4][6], ba[6];
    infer_otel_queue_t  *q, *ref;
    infer_otel_batch_t  *b;

    static char          huge[1024];

    for (n = 0; n < 4; n++) {
        make_span(&s[n], a[n], (int) n);
    }

    /* a batch's room: two of the spans and half of one (and what gzip's
       frame and deflate's worst case add) */

    q = make_queue(protocol, 0, 3, 65536, 0);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    infer_otel_queue_add(q, s, 1);
    infer_otel_queue_seal(q);
    one = body(infer_otel_queue_peek(q), buf1);
    infer_otel_queue_pop(q);
    infer_otel_queue_add(q, s, 2);
    infer_otel_queue_seal(q);
    two = body(infer_otel_queue_peek(q), buf1);
    infer_otel_queue_destroy(q);

    cap = two + (two - one) / 2 + (gzip ? 64 : 0);

    q = make_queue(protocol, gzip, 3, 10 * one, 1);
    ref = make_queue(protocol, gzip, 3, 10 * one, 0);
    CHECK(q != NULL && ref != NULL);

    if (q == NULL || ref == NULL) {
        return;
    }

    /* sealed at once when it reaches batch_spans */

    CHECK(infer_otel_queue_add(q, s, 2) == INFER_OK);
    CHECK(infer_otel_queue_filling(q) == 2 && infer_otel_queue_sealed(q) == 0);
    CHECK(infer_otel_queue_add(q, s + 2, 1) == INFER_OK);
    CHECK(infer_otel_queue_filling(q) == 0 && infer_otel_queue_sealed(q) == 1);

    /* more spans than the filling batch has left: it is sealed, and with
       every batch sealed the request is dropped */

    CHECK(infer_otel_queue_add(q, s, 2) == INFER_OK);
    CHECK(infer_otel_queue_add(q, s + 1, 2) == INFER_ENOSPC);
    CHECK(infer_otel_queue_sealed(q) == 2 && infer_otel_queue_filling(q) == 0);
    CHECK(infer_otel_queue_add(q, s, 1) == INFER_ENOSPC);
    infer_otel_queue_seal(q);
    CHECK(infer_otel_queue_sealed(q) == 2);

    /* FIFO, and pop frees */

    b = infer_otel_queue_peek(q);
    CHECK(b != NULL && infer_otel_batch_nspans(b) == 3);
    infer_otel_queue_add(ref, s, 3);
    n = body(b, buf1);
    CHECK(n != 0 && body(infer_otel_queue_peek(ref), buf2) == n
          && memcmp(buf1, buf2, n) == 0);
    infer_otel_queue_pop(ref);
    infer_otel_queue_pop(q);
    CHECK(infer_otel_queue_sealed(q) == 1);
    b = infer_otel_queue_peek(q);
    CHECK(b != NULL && infer_otel_batch_nspans(b) == 2);
    CHECK(infer_otel_queue_add(q, s + 3, 1) == INFER_OK);
    CHECK(infer_otel_queue_filling(q) == 1);
    infer_otel_queue_pop(q);
    infer_otel_queue_pop(q);                 /* no-op: the rest is filling */
    CHECK(infer_otel_queue_sealed(q) == 0 && infer_otel_queue_peek(q) == NULL);
    infer_otel_queue_seal(q);
    b = infer_otel_queue_peek(q);
    CHECK(b != NULL && infer_otel_batch_nspans(b) == 1);
    infer_otel_queue_add(ref, s + 3, 1);
    infer_otel_queue_seal(ref);
    n = body(b, buf1);
    CHECK(body(infer_otel_queue_peek(ref), buf2) == n
          && memcmp(buf1, buf2, n) == 0);
    infer_otel_queue_pop(ref);
    infer_otel_queue_pop(q);

    infer_otel_queue_destroy(q);
    infer_otel_queue_destroy(ref);

    /*
     * Bytes: a batch holds two of these spans, not three.  The third goes
     * whole into the next batch; the first keeps exactly two.
     */

    q = make_queue(protocol, gzip, 8, cap, 1);
    ref = make_queue(protocol, gzip, 8, cap, 0);
    CHECK(q != NULL && ref != NULL);

    if (q == NULL || ref == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, s, 2) == INFER_OK);
    CHECK(infer_otel_queue_add(q, s + 2, 2) == INFER_OK);
    CHECK(infer_otel_queue_sealed(q) == 1 && infer_otel_queue_filling(q) == 2);
    infer_otel_queue_add(ref, s, 2);
    infer_otel_queue_seal(ref);
    n = body(infer_otel_queue_peek(q), buf1);
    CHECK(n != 0 && body(infer_otel_queue_peek(ref), buf2) == n
          && memcmp(buf1, buf2, n) == 0);
    infer_otel_queue_pop(ref);

    /* one span fits no more: sealed, and no batch is free */

    CHECK(infer_otel_queue_add(q, s, 1) == INFER_ENOSPC);
    CHECK(infer_otel_queue_sealed(q) == 2);
    infer_otel_queue_pop(q);
    b = infer_otel_queue_peek(q);
    infer_otel_queue_add(ref, s + 2, 2);
    infer_otel_queue_seal(ref);
    n = body(b, buf1);
    CHECK(n != 0 && body(infer_otel_queue_peek(ref), buf2) == n
          && memcmp(buf1, buf2, n) == 0);

    /* too big for any batch: dropped, and nothing moves */

    memset(huge, 'x', sizeof(huge));
    make_span(&big, ba, 9);
    ba[0].v.s = huge;
    ba[0].len = sizeof(huge);
    ba[5].v.s = huge;
    ba[5].len = sizeof(huge);

    CHECK(infer_otel_queue_add(q, s, 1) == INFER_OK);
    CHECK(infer_otel_queue_add(q, &big, 1) == INFER_ETOOBIG);
    CHECK(infer_otel_queue_sealed(q) == 1 && infer_otel_queue_filling(q) == 1);
    CHECK(infer_otel_queue_add(q, s, 9) == INFER_ETOOBIG);
    CHECK(infer_otel_queue_add(q, s, 0) == INFER_OK);
    CHECK(infer_otel_queue_sealed(q) == 1 && infer_otel_queue_filling(q) == 1);

    infer_otel_queue_destroy(q);
    infer_otel_queue_destroy(ref);
}


/* a request too big for an empty batch never seals the filling one */

static void
test_toobig(int protocol, int gzip)
{
    size_t               i;
    infer_otel_span_t    s[40];
    infer_otel_attr_t    a[40][6];
    infer_otel_queue_t  *q;

    for (i = 0; i < 40; i++) {
        make_span(&s[i], a[i], (int) i);
    }

    q = make_queue(protocol, gzip, 100, 8192, 2);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, s, 2) == INFER_OK);
    CHECK(infer_otel_queue_add(q, s, 40) == INFER_ETOOBIG);
    CHECK(infer_otel_queue_sealed(q) == 0 && infer_otel_queue_filling(q) == 2);

    /* fill it: every add succeeds until no batch is free */

    for (i = 0; i < 100; i++) {
        if (infer_otel_queue_add(q, s, 2) != INFER_OK) {
            break;
        }
    }

    CHECK(infer_otel_queue_sealed(q) == 3);
    CHECK(infer_otel_queue_add(q, s, 2) == INFER_ENOSPC);

    infer_otel_queue_destroy(q);
}


static void
test_conf(void)
{
    infer_otel_queue_t       *q;
    infer_otel_queue_conf_t   conf;

    conf.protocol = INFER_OTEL_PROTOBUF;
    conf.gzip = 0;
    conf.batch_spans = 10;
    conf.batch_bytes = 4096;
    conf.queued = 0;
    conf.resource = NULL;

    CHECK(infer_otel_queue_create(&q, &conf) == INFER_OK);
    infer_otel_queue_destroy(q);

    conf.protocol = 7;
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_EINVAL && q == NULL);
    conf.protocol = INFER_OTEL_JSON;
    conf.gzip = 10;
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_EINVAL);
    conf.gzip = 0;
    conf.batch_spans = 0;
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_EINVAL);
    conf.batch_spans = 10;
    conf.resource = &golden_resource;
    conf.batch_bytes = 300;              /* the JSON envelope takes 342 */
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_EINVAL);
    conf.batch_bytes = 390;
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_OK);
    infer_otel_queue_destroy(q);
    conf.gzip = 1;                       /* no room for deflate's worst */
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_EINVAL);
    conf.batch_bytes = 600;
    CHECK(infer_otel_queue_create(&q, &conf) == INFER_OK);
    infer_otel_queue_destroy(q);
}


/* what Python's bytes.decode("utf-8", "replace") gives, and the cuts */

static void
test_utf8(void)
{
    char                 in[1100], out[8192];
    size_t               n;
    yajl_val             doc, root;
    infer_otel_span_t    s;
    infer_otel_attr_t    a[6];
    infer_otel_queue_t  *q;

#define FFFD  INFER_OTEL_FFFD

    CHECK(sanitize("abc", 3, 100, 0, out) == 3);
    CHECK_STR(out, "abc");
    CHECK(sanitize("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, 100, 0, out)
          == 9);
    CHECK_STR(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");

    CHECK(sanitize("a\xffz", 3, 100, 0, out) == 5);
    CHECK_STR(out, "a" FFFD "z");
    CHECK(sanitize("\xc0\xaf", 2, 100, 0, out) == 6);        /* overlong */
    CHECK_STR(out, FFFD FFFD);
    CHECK(sanitize("\xe0\x80\x80", 3, 100, 0, out) == 9);
    CHECK_STR(out, FFFD FFFD FFFD);
    CHECK(sanitize("\xed\xa0\x80", 3, 100, 0, out) == 9);    /* surrogate */
    CHECK_STR(out, FFFD FFFD FFFD);
    CHECK(sanitize("\xf4\x90\x80\x80", 4, 100, 0, out) == 12);
    CHECK_STR(out, FFFD FFFD FFFD FFFD);
    CHECK(sanitize("\xf5\x80", 2, 100, 0, out) == 6);
    CHECK_STR(out, FFFD FFFD);
    CHECK(sanitize("\xe2\x82", 2, 100, 0, out) == 3);        /* truncated */
    CHECK_STR(out, FFFD);
    CHECK(sanitize("\xe2\x82" "A", 3, 100, 0, out) == 4);
    CHECK_STR(out, FFFD "A");
    CHECK(sanitize("\xf0\x9f\x98", 3, 100, 0, out) == 3);
    CHECK_STR(out, FFFD);
    CHECK(sanitize("\x80\x80", 2, 100, 0, out) == 6);
    CHECK_STR(out, FFFD FFFD);
    CHECK(sanitize("\xed\x9f\xbf\xee\x80\x80", 6, 100, 0, out) == 6);
    CHECK(sanitize("\xf4\x8f\xbf\xbf", 4, 100, 0, out) == 4);  /* U+10FFFF */
    CHECK(sanitize("a\0b", 3, 100, 0, out) == 3 && out[1] == '\0');

    /* cut on a character: a 2-byte one that would pass the limit stays
       out whole, and so does a U+FFFD */

    CHECK(sanitize("ab\xc3\xa9", 4, 3, 0, out) == 2);
    CHECK_STR(out, "ab");
    CHECK(sanitize("ab\xc3\xa9", 4, 4, 0, out) == 4);
    CHECK(sanitize("ab\xff", 3, 4, 0, out) == 2);
    CHECK(sanitize("abcdefghijklmnopq", 17, 10, 0, out) == 10);
    CHECK_STR(out, "abcdefghij");

    /* JSON's escapes do not count against the limit */

    CHECK(sanitize("\"\\\n\x01\x1f/", 6, 6, 1, out) == 6);
    CHECK_STR(out, "\\\"\\\\\\u000a\\u0001\\u001f/");

    /* through a span: the name at 256 bytes, a value at 1024 */

    memset(in, 'n', sizeof(in));
    in[255] = '\xc3';
    in[256] = '\xa9';
    memcpy(in + 1020, "\xe2\x82\xac\xe2\x82\xac", 6);

    make_span(&s, a, 0);
    s.name = in;
    s.name_len = 300;
    a[0].v.s = in;
    a[0].len = sizeof(in);
    a[5].v.s = "\xff\xfe";
    a[5].len = 2;

    q = make_queue(INFER_OTEL_JSON, 0, 4, 65536, 0);
    CHECK(q != NULL);

    if (q == NULL) {
        return;
    }

    CHECK(infer_otel_queue_add(q, &s, 1) == INFER_OK);
    infer_otel_queue_seal(q);
    n = body(infer_otel_queue_peek(q), (uint8_t *) out);
    out[n] = '\0';

    doc = yajl_tree_parse(out, NULL, 0);
    CHECK(doc != NULL);

    if (doc != NULL) {
        root = member(doc, "resourceSpans");
        root = member(elem(member(elem(root, 0), "scopeSpans"), 0), "spans");
        root = elem(root, 0);
        CHECK(string(member(root, "name")) != NULL
              && strlen(string(member(root, "name"))) == 255);
        root = member(root, "attributes");
        CHECK(string(member(member(elem(root, 0), "value"), "stringValue"))
              != NULL
              && strlen(string(member(member(elem(root, 0), "value"),
                                      "stringValue"))) == 1023);
        CHECK_STR(string(member(member(elem(root, 5), "value"),
                                "stringValue")), FFFD FFFD);
    }

    yajl_tree_free(doc);
    infer_otel_queue_destroy(q);

#undef FFFD
}


/* the specification's table, and ids just either side of the threshold */

static void
test_sampler(void)
{
    uint8_t   id[16];
    uint64_t  t;
    int       i;

    CHECK(infer_otel_ratio_threshold(1) == 0);
    CHECK(infer_otel_ratio_threshold(2) == 0);
    CHECK(infer_otel_ratio_threshold(0) == 1ULL << 56);
    CHECK(infer_otel_ratio_threshold(-1) == 1ULL << 56);
    CHECK(infer_otel_ratio_threshold(NAN) == 1ULL << 56);
    CHECK(infer_otel_ratio_threshold(0.5) == 0x80000000000000ULL);
    CHECK(infer_otel_ratio_threshold(0.25) == 0xc0000000000000ULL);
    CHECK(infer_otel_ratio_threshold(0.1) == 0xe6660000000000ULL);
    CHECK(infer_otel_ratio_threshold(1.0 / 3) == 0xaaab0000000000ULL);
    CHECK(infer_otel_ratio_threshold(0.2) == 0xcccd0000000000ULL);
    CHECK(infer_otel_ratio_threshold(0.01) == 0xfd70a000000000ULL);
    CHECK(infer_otel_ratio_threshold(0.001) == 0xffbe7700000000ULL);
    CHECK(infer_otel_ratio_threshold(0.0001) == 0xfff97240000000ULL);
    CHECK(infer_otel_ratio_threshold(0.000001) == 0xffffef39000000ULL);
    CHECK(infer_otel_ratio_threshold(ldexp(1, -56)) == 0xffffffffffff00ULL);

    memset(id, 0xa5, 16);               /* the first 9 bytes do not count */

    /* ratio 1: all, even an all-zero randomness */

    memset(id + 9, 0, 7);
    CHECK(infer_otel_ratio_sampled(id, infer_otel_ratio_threshold(1)));

    /* ratio 0: none, even all-ones */

    memset(id + 9, 0xff, 7);
    CHECK(!infer_otel_ratio_sampled(id, infer_otel_ratio_threshold(0)));

    /* 0.5 and 0.1 at their thresholds */

    t = infer_otel_ratio_threshold(0.5);
    memset(id + 9, 0, 7);
    id[9] = 0x80;
    CHECK(infer_otel_ratio_sampled(id, t));
    memset(id + 9, 0xff, 7);
    id[9] = 0x7f;
    CHECK(!infer_otel_ratio_sampled(id, t));

    t = infer_otel_ratio_threshold(0.1);
    memset(id + 9, 0, 7);
    id[9] = 0xe6;
    id[10] = 0x66;
    CHECK(infer_otel_ratio_sampled(id, t));
    memset(id + 9, 0xff, 7);
    id[9] = 0xe6;
    id[10] = 0x65;
    CHECK(!infer_otel_ratio_sampled(id, t));

    /* about 10% of a spread of ids */

    t = 0;

    for (i = 0; i < 4096; i++) {
        id[9] = (uint8_t) (i * 37);
        id[10] = (uint8_t) (i * 101 >> 3);
        t += infer_otel_ratio_sampled(id, infer_otel_ratio_threshold(0.1));
    }

    CHECK(t > 300 && t < 520);
}


void
infer_test_otel(void)
{
    make_resource(&golden_resource);

    test_golden();
    test_json();
    test_gzip();
    test_gzip_frame();
    test_gzip_entropy();
    test_queue(INFER_OTEL_PROTOBUF, 0);
    test_queue(INFER_OTEL_JSON, 0);
    test_queue(INFER_OTEL_PROTOBUF, 1);
    test_queue(INFER_OTEL_JSON, 9);
    test_toobig(INFER_OTEL_PROTOBUF, 0);
    test_toobig(INFER_OTEL_JSON, 0);
    test_toobig(INFER_OTEL_PROTOBUF, 6);
    test_toobig(INFER_OTEL_JSON, 1);
    test_conf();
    test_utf8();
    test_sampler();
}
