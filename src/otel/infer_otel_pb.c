/*
 * OTLP protobuf: a Span as one ScopeSpans.spans record, and the parts of
 * the envelope (opentelemetry-proto v1: trace.proto, common.proto,
 * resource.proto).  The encoding is canonical, as protoc writes it: fields
 * in number order, minimal varints, proto3 defaults left out (but a oneof
 * member is written even when it is 0, "" or false: its presence is the
 * value's type).
 */

#include "infer_otel_enc.h"


/* tag bytes: field number << 3 | wire type (0 varint, 1 fixed64, 2 bytes) */

#define INFER_OTEL_PB_SPANS        0x12  /* ScopeSpans.spans, 2 */

#define INFER_OTEL_PB_TRACE_ID     0x0a  /* Span, 1 */
#define INFER_OTEL_PB_SPAN_ID      0x12
#define INFER_OTEL_PB_TRACE_STATE  0x1a
#define INFER_OTEL_PB_PARENT_ID    0x22
#define INFER_OTEL_PB_NAME         0x2a
#define INFER_OTEL_PB_KIND         0x30
#define INFER_OTEL_PB_START        0x39
#define INFER_OTEL_PB_END          0x41
#define INFER_OTEL_PB_ATTRIBUTES   0x4a  /* 9 */
#define INFER_OTEL_PB_STATUS       0x7a  /* 15 */
#define INFER_OTEL_PB_FLAGS        0x85  /* 16, fixed32: 0x85 0x01 */

#define INFER_OTEL_PB_KEY          0x0a  /* KeyValue */
#define INFER_OTEL_PB_VALUE        0x12
#define INFER_OTEL_PB_STRING       0x0a  /* AnyValue */
#define INFER_OTEL_PB_BOOL         0x10
#define INFER_OTEL_PB_INT          0x18
#define INFER_OTEL_PB_DOUBLE       0x21

#define INFER_OTEL_PB_MESSAGE      0x12  /* Status */
#define INFER_OTEL_PB_CODE         0x18

/* Resource.attributes, ResourceSpans.resource, ScopeSpans.scope,
   InstrumentationScope.name and ExportTraceServiceRequest.resource_spans
   are all field 1 */
#define INFER_OTEL_PB_FIELD1       0x0a
#define INFER_OTEL_PB_FIELD2       0x12  /* ResourceSpans.scope_spans, ... */
#define INFER_OTEL_PB_SCHEMA_URL   0x1a  /* 3, in both */


static inline size_t infer_otel_pb_vsize(uint64_t v);
static inline uint8_t *infer_otel_pb_varint(uint8_t *p, uint64_t v);
static inline uint8_t *infer_otel_pb_fixed64(uint8_t *p, uint64_t v);
static void infer_otel_pb_string(infer_otel_out_t *o, uint8_t tag,
    const char *s, size_t len, size_t max);
static void infer_otel_pb_attr(infer_otel_out_t *o, uint8_t tag,
    const infer_otel_attr_t *a);
static void infer_otel_pb_status(infer_otel_out_t *o,
    const infer_otel_span_t *s);


/* most lengths here are under 128: one byte, and no division */

static inline size_t
infer_otel_pb_vsize(uint64_t v)
{
    if (v < 0x80) {
        return 1;
    }

    return (64 - __builtin_clzll(v) + 6) / 7;
}


static inline uint8_t *
infer_otel_pb_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t) (v | 0x80);
        v >>= 7;
    }

    *p++ = (uint8_t) v;

    return p;
}


/* little-endian, as protobuf's fixed64: one store on such a CPU */

static inline uint8_t *
infer_otel_pb_fixed64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
#endif

    return p + 8;
}


/* a string field, left out when it is empty */

static void
infer_otel_pb_string(infer_otel_out_t *o, uint8_t tag, const char *s,
    size_t len, size_t max)
{
    uint8_t           *p;
    infer_otel_str_t   str;

    if (len == 0) {
        return;
    }

    infer_otel_str(&str, s, len, max, 0);

    if (str.out == 0) {
        return;
    }

    p = infer_otel_room(o, 1 + infer_otel_pb_vsize(str.out) + str.out);

    if (p != NULL) {
        *p++ = tag;
        p = infer_otel_pb_varint(p, str.out);
        infer_otel_str_copy(p, &str, 0);
    }
}


/* a KeyValue: its length is known before it is written */

static void
infer_otel_pb_attr(infer_otel_out_t *o, uint8_t tag,
    const infer_otel_attr_t *a)
{
    size_t             key_len, value_len, len;
    uint8_t           *p;
    uint64_t           u;
    infer_otel_str_t   k, v;

    infer_otel_str(&k, a->key, infer_otel_key_len(a), INFER_OTEL_MAX_NAME,
                   0);

    u = 0;
    memset(&v, 0, sizeof(infer_otel_str_t));

    switch (a->type) {

    case INFER_OTEL_STRING:
        infer_otel_str(&v, a->v.s, a->v.s ? a->len : 0,
                       INFER_OTEL_MAX_STRING, 0);
        value_len = 1 + infer_otel_pb_vsize(v.out) + v.out;
        break;

    case INFER_OTEL_INT:
        u = (uint64_t) a->v.i;
        value_len = 1 + infer_otel_pb_vsize(u);
        break;

    case INFER_OTEL_DOUBLE:
        memcpy(&u, &a->v.d, 8);
        value_len = 9;
        break;

    case INFER_OTEL_BOOL:
        u = (a->v.b != 0);
        value_len = 2;
        break;

    default:
        value_len = 0;                  /* an AnyValue with nothing set */
    }

    key_len = k.out ? 1 + infer_otel_pb_vsize(k.out) + k.out : 0;
    len = key_len + 1 + infer_otel_pb_vsize(value_len) + value_len;

    p = infer_otel_room(o, 1 + infer_otel_pb_vsize(len) + len);

    if (p == NULL) {
        return;
    }

    *p++ = tag;
    p = infer_otel_pb_varint(p, len);

    if (k.out) {
        *p++ = INFER_OTEL_PB_KEY;
        p = infer_otel_pb_varint(p, k.out);
        p = infer_otel_str_copy(p, &k, 0);
    }

    *p++ = INFER_OTEL_PB_VALUE;
    p = infer_otel_pb_varint(p, value_len);

    switch (a->type) {

    case INFER_OTEL_STRING:
        *p++ = INFER_OTEL_PB_STRING;
        p = infer_otel_pb_varint(p, v.out);
        infer_otel_str_copy(p, &v, 0);
        break;

    case INFER_OTEL_INT:
        *p++ = INFER_OTEL_PB_INT;
        infer_otel_pb_varint(p, u);
        break;

    case INFER_OTEL_DOUBLE:
        *p++ = INFER_OTEL_PB_DOUBLE;
        infer_otel_pb_fixed64(p, u);
        break;

    case INFER_OTEL_BOOL:
        *p++ = INFER_OTEL_PB_BOOL;
        *p = (uint8_t) u;
        break;
    }
}


/* Status, left out when it says nothing (UNSET, no message) */

static void
infer_otel_pb_status(infer_otel_out_t *o, const infer_otel_span_t *s)
{
    size_t             len;
    uint8_t           *p;
    uint64_t           code;
    infer_otel_str_t   m;

    memset(&m, 0, sizeof(infer_otel_str_t));

    if (s->status_message != NULL && s->status_message_len != 0) {
        infer_otel_str(&m, s->status_message, s->status_message_len,
                       INFER_OTEL_MAX_STRING, 0);
    }

    if (s->status == INFER_OTEL_STATUS_UNSET && m.out == 0) {
        return;
    }

    code = (uint64_t) (int64_t) s->status;     /* an enum is an int32 */

    len = (m.out ? 1 + infer_otel_pb_vsize(m.out) + m.out : 0)
          + (code ? 1 + infer_otel_pb_vsize(code) : 0);

    p = infer_otel_room(o, 1 + infer_otel_pb_vsize(len) + len);

    if (p == NULL) {
        return;
    }

    *p++ = INFER_OTEL_PB_STATUS;
    p = infer_otel_pb_varint(p, len);

    if (m.out) {
        *p++ = INFER_OTEL_PB_MESSAGE;
        p = infer_otel_pb_varint(p, m.out);
        p = infer_otel_str_copy(p, &m, 0);
    }

    if (code) {
        *p++ = INFER_OTEL_PB_CODE;
        infer_otel_pb_varint(p, code);
    }
}


/*
 * The span's length goes before it and is known after it: two bytes are
 * kept for it (a span of 128 to 16383 bytes, the usual), and the span is
 * moved by a byte when it needs one more or one less.
 */

void
infer_otel_pb_span(infer_otel_out_t *o, const infer_otel_span_t *s)
{
    size_t    start, len, n, i;
    uint8_t  *p;
    uint64_t  kind;

    start = o->len;

    p = infer_otel_room(o, 3 + 18 + 10);

    if (p != NULL) {
        p[0] = INFER_OTEL_PB_SPANS;
        p[3] = INFER_OTEL_PB_TRACE_ID;
        p[4] = 16;
        memcpy(p + 5, s->trace_id, 16);
        p[21] = INFER_OTEL_PB_SPAN_ID;
        p[22] = 8;
        memcpy(p + 23, s->span_id, 8);
    }

    if (s->trace_state != NULL) {
        infer_otel_pb_string(o, INFER_OTEL_PB_TRACE_STATE, s->trace_state,
                             s->trace_state_len, INFER_OTEL_MAX_STRING);
    }

    if (s->has_parent) {
        p = infer_otel_room(o, 10);

        if (p != NULL) {
            p[0] = INFER_OTEL_PB_PARENT_ID;
            p[1] = 8;
            memcpy(p + 2, s->parent_id, 8);
        }
    }

    if (s->name != NULL) {
        infer_otel_pb_string(o, INFER_OTEL_PB_NAME, s->name, s->name_len,
                             INFER_OTEL_MAX_NAME);
    }

    if (s->kind != 0) {
        kind = (uint64_t) (int64_t) s->kind;
        p = infer_otel_room(o, 1 + infer_otel_pb_vsize(kind));

        if (p != NULL) {
            *p++ = INFER_OTEL_PB_KIND;
            infer_otel_pb_varint(p, kind);
        }
    }

    if (s->start_ns != 0) {
        p = infer_otel_room(o, 9);

        if (p != NULL) {
            *p++ = INFER_OTEL_PB_START;
            infer_otel_pb_fixed64(p, s->start_ns);
        }
    }

    if (s->end_ns != 0) {
        p = infer_otel_room(o, 9);

        if (p != NULL) {
            *p++ = INFER_OTEL_PB_END;
            infer_otel_pb_fixed64(p, s->end_ns);
        }
    }

    for (i = 0; i < s->nattrs; i++) {
        infer_otel_pb_attr(o, INFER_OTEL_PB_ATTRIBUTES, &s->attrs[i]);
    }

    infer_otel_pb_status(o, s);

    if (s->flags != 0) {
        p = infer_otel_room(o, 6);

        if (p != NULL) {
            p[0] = INFER_OTEL_PB_FLAGS;
            p[1] = 0x01;

            for (i = 0; i < 4; i++) {
                p[2 + i] = (uint8_t) (s->flags >> (8 * i));
            }
        }
    }

    len = o->len - start - 3;
    n = infer_otel_pb_vsize(len);

    if (o->over) {
        o->len = o->len + n - 2;        /* what it would have taken */
        return;
    }

    if (n != 2) {
        if (n > 2 && n - 2 > o->cap - o->len) {
            o->over = 1;
            o->len += n - 2;
            return;
        }

        memmove(o->buf + start + 1 + n, o->buf + start + 3, len);
        o->len = o->len + n - 2;
    }

    infer_otel_pb_varint(o->buf + start + 1, len);
}


/* ResourceSpans.resource: a Resource with its attributes */

void
infer_otel_pb_resource(infer_otel_out_t *o, const infer_otel_resource_t *r)
{
    size_t            i, n;
    uint8_t          *p, none;
    infer_otel_out_t  m;

    n = (r != NULL) ? r->nattrs : 0;

    /* measured first: this is done once, at create */

    m.buf = &none;
    m.len = 0;
    m.cap = 0;
    m.over = 0;

    for (i = 0; i < n; i++) {
        infer_otel_pb_attr(&m, INFER_OTEL_PB_FIELD1, &r->attrs[i]);
    }

    p = infer_otel_room(o, 1 + infer_otel_pb_vsize(m.len));

    if (p != NULL) {
        *p++ = INFER_OTEL_PB_FIELD1;
        infer_otel_pb_varint(p, m.len);
    }

    for (i = 0; i < n; i++) {
        infer_otel_pb_attr(o, INFER_OTEL_PB_FIELD1, &r->attrs[i]);
    }
}


/* ScopeSpans.scope: an InstrumentationScope, its name and version */

void
infer_otel_pb_scope(infer_otel_out_t *o, const infer_otel_resource_t *r)
{
    uint8_t           *p, none;
    const char        *name, *version;
    infer_otel_out_t   m;

    name = (r != NULL && r->scope_name != NULL) ? r->scope_name : "";
    version = (r != NULL && r->scope_version != NULL) ? r->scope_version : "";

    m.buf = &none;
    m.len = 0;
    m.cap = 0;
    m.over = 0;

    infer_otel_pb_string(&m, INFER_OTEL_PB_FIELD1, name, strlen(name),
                         INFER_OTEL_MAX_NAME);
    infer_otel_pb_string(&m, INFER_OTEL_PB_FIELD2, version, strlen(version),
                         INFER_OTEL_MAX_NAME);

    p = infer_otel_room(o, 1 + infer_otel_pb_vsize(m.len));

    if (p != NULL) {
        *p++ = INFER_OTEL_PB_FIELD1;
        infer_otel_pb_varint(p, m.len);
    }

    infer_otel_pb_string(o, INFER_OTEL_PB_FIELD1, name, strlen(name),
                         INFER_OTEL_MAX_NAME);
    infer_otel_pb_string(o, INFER_OTEL_PB_FIELD2, version, strlen(version),
                         INFER_OTEL_MAX_NAME);
}


/* a schema_url field (ScopeSpans' and ResourceSpans' are both 3) */

void
infer_otel_pb_schema_url(infer_otel_out_t *o, const infer_otel_resource_t *r)
{
    if (r != NULL && r->schema_url != NULL) {
        infer_otel_pb_string(o, INFER_OTEL_PB_SCHEMA_URL, r->schema_url,
                             strlen(r->schema_url), INFER_OTEL_MAX_STRING);
    }
}


/*
 * The head of a body: ExportTraceServiceRequest.resource_spans' tag and
 * length, the resource, ResourceSpans.scope_spans' tag and length, the
 * scope; the spans and each message's schema_url (url_len bytes each)
 * follow.  Its length; written at dst unless dst is NULL.
 */

size_t
infer_otel_pb_head(uint8_t *dst, const uint8_t *resource, size_t resource_len,
    const uint8_t *scope, size_t scope_len, size_t spans_len, size_t url_len)
{
    size_t    ss, rs, len;
    uint8_t  *p;

    ss = scope_len + spans_len + url_len;
    rs = resource_len + 1 + infer_otel_pb_vsize(ss) + ss + url_len;

    len = 1 + infer_otel_pb_vsize(rs) + resource_len
          + 1 + infer_otel_pb_vsize(ss) + scope_len;

    if (dst == NULL) {
        return len;
    }

    p = dst;
    *p++ = INFER_OTEL_PB_FIELD1;
    p = infer_otel_pb_varint(p, rs);
    memcpy(p, resource, resource_len);
    p += resource_len;
    *p++ = INFER_OTEL_PB_FIELD2;
    p = infer_otel_pb_varint(p, ss);
    memcpy(p, scope, scope_len);

    return len;
}
