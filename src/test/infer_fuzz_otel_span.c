/*
 * libFuzzer harness for the trace exporter's encoders and queue.  The
 * input is read as a queue configuration, a resource and a run of
 * requests whose spans and attributes take their strings straight from
 * it: any bytes, any length.  Each request goes to eight queues: the two
 * protocols, with and without gzip, in small batches (bytes run out) and
 * in large ones (only the span count seals them).  Every sealed body must
 * then be well-formed: protobuf walked field by field against the schema
 * (no unknown field, minimal varints, strings valid UTF-8), JSON parsed
 * by yajl (which checks UTF-8), gzip inflated whole by zlib; a large gzip
 * batch must inflate to the body of its plain twin, byte for byte; and
 * every span accepted must come out in exactly one body.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <yajl/yajl_tree.h>

#include "infer_otel.h"


#define FUZZ_BIG      ((size_t) 256 * 1024)   /* a large batch's bytes */
#define FUZZ_BODY     ((size_t) 1024 * 1024)  /* an inflated body */
#define FUZZ_SPANS    4                 /* spans in a request, at most */
#define FUZZ_ATTRS    6                 /* attributes of a span */
#define FUZZ_KEYS     ((size_t) FUZZ_SPANS * FUZZ_ATTRS + 1)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


typedef struct {
    const uint8_t    *p;
    const uint8_t    *end;
} fuzz_in_t;


/* the messages of the schema the walker knows */

enum {
    M_REQUEST = 0, M_RESOURCE_SPANS, M_RESOURCE, M_SCOPE_SPANS, M_SCOPE,
    M_SPAN, M_KEY_VALUE, M_ANY_VALUE, M_STATUS, M_NONE
};

typedef struct {
    uint8_t           field;
    uint8_t           wire;       /* 0 varint, 1 fixed64, 2 bytes, 5 */
    uint8_t           sub;        /* a message, or M_NONE */
    uint8_t           utf8;       /* a string */
} fuzz_field_t;


static const fuzz_field_t  fields_request[] = {
    { 1, 2, M_RESOURCE_SPANS, 0 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_resource_spans[] = {
    { 1, 2, M_RESOURCE, 0 }, { 2, 2, M_SCOPE_SPANS, 0 },
    { 3, 2, M_NONE, 1 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_resource[] = {
    { 1, 2, M_KEY_VALUE, 0 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_scope_spans[] = {
    { 1, 2, M_SCOPE, 0 }, { 2, 2, M_SPAN, 0 }, { 3, 2, M_NONE, 1 },
    { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_scope[] = {
    { 1, 2, M_NONE, 1 }, { 2, 2, M_NONE, 1 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_span[] = {
    { 1, 2, M_NONE, 0 }, { 2, 2, M_NONE, 0 }, { 3, 2, M_NONE, 1 },
    { 4, 2, M_NONE, 0 }, { 5, 2, M_NONE, 1 }, { 6, 0, M_NONE, 0 },
    { 7, 1, M_NONE, 0 }, { 8, 1, M_NONE, 0 }, { 9, 2, M_KEY_VALUE, 0 },
    { 15, 2, M_STATUS, 0 }, { 16, 5, M_NONE, 0 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_key_value[] = {
    { 1, 2, M_NONE, 1 }, { 2, 2, M_ANY_VALUE, 0 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_any_value[] = {
    { 1, 2, M_NONE, 1 }, { 2, 0, M_NONE, 0 }, { 3, 0, M_NONE, 0 },
    { 4, 1, M_NONE, 0 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  fields_status[] = {
    { 2, 2, M_NONE, 1 }, { 3, 0, M_NONE, 0 }, { 0, 0, 0, 0 }
};

static const fuzz_field_t  *schema[] = {
    fields_request, fields_resource_spans, fields_resource,
    fields_scope_spans, fields_scope, fields_span, fields_key_value,
    fields_any_value, fields_status
};


static uint8_t  inflated[FUZZ_BODY], plain_body[FUZZ_BODY];
static char     text[FUZZ_BODY + 1];
static char     keys[FUZZ_KEYS][64];


static unsigned u8(fuzz_in_t *in);
static uint64_t u64(fuzz_in_t *in);
static const char *bytes(fuzz_in_t *in, size_t *len);
static const char *key(fuzz_in_t *in, char *buf);
static void read_attr(fuzz_in_t *in, infer_otel_attr_t *a, char *buf);
static void read_span(fuzz_in_t *in, infer_otel_span_t *s,
    infer_otel_attr_t *a, char (*k)[64]);
static int utf8_valid(const uint8_t *p, size_t n);
static const uint8_t *varint(const uint8_t *p, const uint8_t *end,
    uint64_t *v);
static size_t walk(const uint8_t *p, const uint8_t *end, int msg);
static size_t gather(const infer_otel_batch_t *b, uint8_t *dst, size_t max);
static size_t gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
static void check(const uint8_t *body, size_t n, int protocol,
    size_t nspans);
static size_t drain(infer_otel_queue_t *q, int protocol, int gzip,
    size_t max);
static void twins(infer_otel_queue_t *plain, infer_otel_queue_t *gz,
    int protocol, size_t *out_plain, size_t *out_gz);


static unsigned
u8(fuzz_in_t *in)
{
    return (in->p < in->end) ? *in->p++ : 0;
}


static uint64_t
u64(fuzz_in_t *in)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | u8(in);
    }

    return v;
}


/* a length byte, then that many bytes of the input (or what is left) */

static const char *
bytes(fuzz_in_t *in, size_t *len)
{
    size_t       n;
    const char  *s;

    n = u8(in);

    if (n == 255) {
        n = 255 + 4 * u8(in);           /* past the limit of a name */
    }

    if (n > (size_t) (in->end - in->p)) {
        n = in->end - in->p;
    }

    s = (const char *) in->p;
    in->p += n;
    *len = n;

    return s;
}


static const char *
key(fuzz_in_t *in, char *buf)
{
    size_t       n;
    const char  *s;

    s = bytes(in, &n);

    if (n > 63) {
        n = 63;
    }

    memcpy(buf, s, n);
    buf[n] = '\0';

    return buf;
}


static void
read_attr(fuzz_in_t *in, infer_otel_attr_t *a, char *buf)
{
    uint64_t  v;

    memset(a, 0, sizeof(infer_otel_attr_t));

    a->type = u8(in) % 5;               /* 4: an unknown type */
    a->key = key(in, buf);

    switch (a->type) {

    case INFER_OTEL_STRING:
        a->v.s = bytes(in, &a->len);
        break;

    case INFER_OTEL_INT:
        a->v.i = (int64_t) u64(in);
        break;

    case INFER_OTEL_DOUBLE:
        v = u64(in);
        memcpy(&a->v.d, &v, 8);         /* NaNs and infinities too */
        break;

    case INFER_OTEL_BOOL:
        a->v.b = (int) u8(in) - 1;
        break;
    }
}


static void
read_span(fuzz_in_t *in, infer_otel_span_t *s, infer_otel_attr_t *a,
    char (*k)[64])
{
    size_t    i;
    unsigned  c;

    memset(s, 0, sizeof(infer_otel_span_t));

    c = u8(in);
    memset(s->trace_id, (int) u8(in), 16);
    s->trace_id[15] = (uint8_t) u8(in);
    memset(s->span_id, (int) u8(in), 8);
    memset(s->parent_id, (int) u8(in), 8);
    s->has_parent = c & 1;
    s->flags = (c & 2) ? (uint32_t) u64(in) : (c & 4) ? 0x301 : 0;
    s->kind = (c & 8) ? (int) (int8_t) u8(in) : INFER_OTEL_KIND_SERVER;
    s->start_ns = (c & 16) ? u64(in) : 0;
    s->end_ns = (c & 16) ? u64(in) : 1700000000000000000ULL;
    s->status = (int) (int8_t) u8(in) % 4;
    s->name = bytes(in, &s->name_len);

    if (c & 32) {
        s->status_message = bytes(in, &s->status_message_len);
    }

    if (c & 64) {
        s->trace_state = bytes(in, &s->trace_state_len);
    }

    s->nattrs = u8(in) % (FUZZ_ATTRS + 1);

    for (i = 0; i < s->nattrs; i++) {
        read_attr(in, &a[i], k[i]);
    }

    s->attrs = a;
}


/* well-formed UTF-8 (Unicode's table 3-7), written again on purpose */

static int
utf8_valid(const uint8_t *p, size_t n)
{
    size_t    i, k, j;
    uint32_t  cp;

    for (i = 0; i < n; i += k) {
        if (p[i] < 0x80) {
            k = 1;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            k = 2;
            cp = p[i] & 0x1f;

        } else if ((p[i] & 0xf0) == 0xe0) {
            k = 3;
            cp = p[i] & 0x0f;

        } else if ((p[i] & 0xf8) == 0xf0) {
            k = 4;
            cp = p[i] & 0x07;

        } else {
            return 0;
        }

        if (i + k > n) {
            return 0;
        }

        for (j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (p[i + j] & 0x3f);
        }

        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800)
            || (k == 4 && cp < 0x10000) || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}


/* a minimal varint, or NULL */

static const uint8_t *
varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    int  shift;

    *v = 0;

    for (shift = 0; shift < 64 && p < end; shift += 7) {
        *v |= (uint64_t) (*p & 0x7f) << shift;

        if ((*p & 0x80) == 0) {
            return (shift > 0 && *p == 0) ? NULL : p + 1;
        }

        p++;
    }

    return NULL;
}


/* a message of the schema, all its bytes: the spans it holds in all */

static size_t
walk(const uint8_t *p, const uint8_t *end, int msg)
{
    size_t               spans;
    uint64_t             tag, len, v;
    const fuzz_field_t  *f;

    spans = 0;

    while (p < end) {
        p = varint(p, end, &tag);

        if (p == NULL) {
            abort();
        }

        for (f = schema[msg]; f->field != 0; f++) {
            if (f->field == (tag >> 3) && f->wire == (tag & 7)) {
                break;
            }
        }

        if (f->field == 0) {
            abort();                    /* unknown, or the wrong type */
        }

        switch (f->wire) {

        case 0:
            p = varint(p, end, &v);

            if (p == NULL) {
                abort();
            }

            break;

        case 1:
        case 5:
            if ((size_t) (end - p) < (f->wire == 1 ? 8u : 4u)) {
                abort();
            }

            p += (f->wire == 1) ? 8 : 4;
            break;

        default:
            p = varint(p, end, &len);

            if (p == NULL || len > (uint64_t) (end - p)) {
                abort();
            }

            if (f->utf8 && !utf8_valid(p, len)) {
                abort();
            }

            if (msg == M_SPAN && (f->field == 1 || f->field == 2
                                  || f->field == 4))
            {
                if (len != (f->field == 1 ? 16u : 8u)) {
                    abort();
                }
            }

            if (f->sub != M_NONE) {
                spans += walk(p, p + len, f->sub);
            }

            if (f->sub == M_SPAN) {
                spans++;
            }

            p += len;
        }
    }

    return spans;
}


/* a body, which never passes its batch's bytes */

static size_t
gather(const infer_otel_batch_t *b, uint8_t *dst, size_t max)
{
    int           i, niov;
    size_t        n, len;
    struct iovec  iov[3];

    len = infer_otel_batch_body(b, iov, &niov);

    if (niov < 1 || niov > 3) {
        abort();
    }

    n = 0;

    for (i = 0; i < niov; i++) {
        memcpy(dst + n, iov[i].iov_base, iov[i].iov_len);
        n += iov[i].iov_len;
    }

    if (n != len || n > max) {
        abort();
    }

    return n;
}


/* exactly one gzip member, nothing after it */

static size_t
gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    int       rc;
    size_t    len;
    z_stream  zs;

    memset(&zs, 0, sizeof(z_stream));

    if (inflateInit2(&zs, 16 + 15) != Z_OK) {
        abort();
    }

    zs.next_in = (Bytef *) in;
    zs.avail_in = n;
    zs.next_out = out;
    zs.avail_out = cap;

    rc = inflate(&zs, Z_FINISH);
    len = cap - zs.avail_out;
    inflateEnd(&zs);

    if (rc != Z_STREAM_END || zs.avail_in != 0) {
        abort();
    }

    return len;
}


static void
check(const uint8_t *body, size_t n, int protocol, size_t nspans)
{
    yajl_val  root, v;

    static const char  *path[] = { "resourceSpans", NULL };

    if (protocol == INFER_OTEL_PROTOBUF) {
        if (walk(body, body + n, M_REQUEST) != nspans) {
            abort();
        }

        return;
    }

    memcpy(text, body, n);
    text[n] = '\0';

    root = yajl_tree_parse(text, NULL, 0);

    if (root == NULL) {
        abort();
    }

    v = yajl_tree_get(root, path, yajl_t_array);

    if (v == NULL || v->u.array.len != 1) {
        abort();
    }

    /* ResourceSpans: resource, scopeSpans; ScopeSpans: scope, spans */

    v = v->u.array.values[0];

    if (!YAJL_IS_OBJECT(v) || v->u.object.len < 2
        || strcmp(v->u.object.keys[1], "scopeSpans") != 0
        || !YAJL_IS_ARRAY(v->u.object.values[1])
        || v->u.object.values[1]->u.array.len != 1)
    {
        abort();
    }

    v = v->u.object.values[1]->u.array.values[0];

    if (!YAJL_IS_OBJECT(v) || v->u.object.len < 2
        || strcmp(v->u.object.keys[1], "spans") != 0
        || !YAJL_IS_ARRAY(v->u.object.values[1])
        || v->u.object.values[1]->u.array.len != nspans)
    {
        abort();
    }

    yajl_tree_free(root);
}


/* every sealed batch checked and popped: the spans they held */

static size_t
drain(infer_otel_queue_t *q, int protocol, int gzip, size_t max)
{
    size_t               n, spans;
    infer_otel_batch_t  *b;

    spans = 0;

    while ((b = infer_otel_queue_peek(q)) != NULL) {
        n = gather(b, plain_body, max);

        if (gzip) {
            n = gunzip(plain_body, n, inflated, sizeof(inflated));
            check(inflated, n, protocol, infer_otel_batch_nspans(b));

        } else {
            check(plain_body, n, protocol, infer_otel_batch_nspans(b));
        }

        spans += infer_otel_batch_nspans(b);
        infer_otel_queue_pop(q);
    }

    return spans;
}


/* a large gzip batch is its plain twin, deflated */

static void
twins(infer_otel_queue_t *plain, infer_otel_queue_t *gz, int protocol,
    size_t *out_plain, size_t *out_gz)
{
    size_t               n, len;
    infer_otel_batch_t  *b, *c;

    if (infer_otel_queue_sealed(plain) != infer_otel_queue_sealed(gz)) {
        abort();
    }

    while ((b = infer_otel_queue_peek(plain)) != NULL) {
        c = infer_otel_queue_peek(gz);
        len = gather(b, plain_body, FUZZ_BIG);
        n = gather(c, (uint8_t *) text, FUZZ_BIG);
        n = gunzip((uint8_t *) text, n, inflated, sizeof(inflated));

        if (n != len || memcmp(inflated, plain_body, n) != 0
            || infer_otel_batch_nspans(b) != infer_otel_batch_nspans(c))
        {
            abort();
        }

        check(plain_body, len, protocol, infer_otel_batch_nspans(b));
        *out_plain += infer_otel_batch_nspans(b);
        *out_gz += infer_otel_batch_nspans(c);
        infer_otel_queue_pop(plain);
        infer_otel_queue_pop(gz);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                       rc, i, protocol;
    size_t                    small, j, m, queued;
    size_t                    accepted[8], out[8];
    fuzz_in_t                 in;
    infer_otel_attr_t         res_attr[2], attrs[FUZZ_SPANS][FUZZ_ATTRS];
    infer_otel_span_t         spans[FUZZ_SPANS];
    infer_otel_queue_t       *q[8];
    infer_otel_resource_t     res;
    infer_otel_queue_conf_t   conf;

    static char               scope[64], url[64];

    /* what a large batch holds: any 16 KB of input, escaped, fits it */

    if (size > 16384) {
        return 0;
    }

    in.p = data;
    in.end = data + size;

    /* the queues: i = protocol | gzip << 1 | large << 2 */

    conf.batch_spans = 1 + u8(&in) % 8;
    queued = u8(&in) % 4;
    small = 512 + 64 * (size_t) u8(&in);
    rc = 1 + u8(&in) % 9;

    memset(&res, 0, sizeof(infer_otel_resource_t));
    memset(res_attr, 0, sizeof(res_attr));
    read_attr(&in, &res_attr[0], keys[FUZZ_KEYS - 1]);
    res_attr[1].key = "service.name";
    res_attr[1].type = INFER_OTEL_STRING;
    res_attr[1].v.s = "infer";
    res_attr[1].len = 5;
    res.attrs = res_attr;
    res.nattrs = 2;
    res.scope_name = key(&in, scope);
    res.schema_url = key(&in, url);
    res.scope_version = "1.0";
    conf.resource = &res;

    for (i = 0; i < 8; i++) {
        conf.protocol = i & 1;
        conf.gzip = (i & 2) ? rc : 0;
        conf.batch_bytes = (i & 4) ? FUZZ_BIG : small;

        /* drained after each request, two large batches always have a
           free one */
        conf.queued = (i & 4) ? 1 : queued;

        if (infer_otel_queue_create(&q[i], &conf) != INFER_OK) {
            if (i & 4) {
                abort();                /* a large batch takes any conf */
            }

            q[i] = NULL;
        }

        accepted[i] = 0;
        out[i] = 0;
    }

    while (in.p < in.end) {
        m = 1 + u8(&in) % FUZZ_SPANS;

        for (j = 0; j < m; j++) {
            read_span(&in, &spans[j], attrs[j], keys + j * FUZZ_ATTRS);
        }

        if (u8(&in) == 0xff) {
            for (i = 0; i < 8; i++) {
                if (q[i] != NULL) {
                    infer_otel_queue_seal(q[i]);
                }
            }
        }

        for (i = 0; i < 8; i++) {
            if (q[i] == NULL) {
                continue;
            }

            rc = infer_otel_queue_add(q[i], spans, m);

            if (rc == INFER_OK) {
                accepted[i] += m;

            } else if (rc != INFER_ENOSPC && rc != INFER_ETOOBIG) {
                abort();
            }

            if ((i & 4) && rc != INFER_OK && m <= conf.batch_spans) {
                abort();                /* a large batch takes them all */
            }
        }

        for (protocol = 0; protocol < 2; protocol++) {
            twins(q[4 | protocol], q[6 | protocol], protocol,
                  &out[4 | protocol], &out[6 | protocol]);
        }

        /* the small ones drain when they are full, or at random */

        for (i = 0; i < 4; i++) {
            if (q[i] != NULL
                && (infer_otel_queue_sealed(q[i]) > queued
                    || (in.p < in.end && (*in.p & 1))))
            {
                out[i] += drain(q[i], i & 1, i & 2, small);
            }
        }
    }

    for (i = 0; i < 8; i++) {
        if (q[i] != NULL) {
            infer_otel_queue_seal(q[i]);
        }
    }

    for (i = 0; i < 4; i++) {
        if (q[i] != NULL) {
            out[i] += drain(q[i], i & 1, i & 2, small);
        }
    }

    for (protocol = 0; protocol < 2; protocol++) {
        twins(q[4 | protocol], q[6 | protocol], protocol,
              &out[4 | protocol], &out[6 | protocol]);
    }

    for (i = 0; i < 8; i++) {
        if (q[i] != NULL) {
            if (out[i] != accepted[i] || infer_otel_queue_filling(q[i]) != 0) {
                abort();                /* a span lost or made up */
            }

            infer_otel_queue_destroy(q[i]);
        }
    }

    return 0;
}
