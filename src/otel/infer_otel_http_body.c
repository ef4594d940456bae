/*
 * What a collector's answer says: OTLP's partial success in a 200, the
 * google.rpc.Status of an error, protobuf or JSON; read with a small
 * wire-format walker and yajl's tree, never trusting the body.
 */

#include <string.h>

#include <yajl/yajl_tree.h>

#include "infer_otel_http.h"


/* groups nested deeper than this in a protobuf body are refused */
#define INFER_OTEL_PB_DEPTH        32


static int infer_otel_pb_varint(const unsigned char **pp,
    const unsigned char *end, uint64_t *v);
static int infer_otel_pb_tag(const unsigned char **pp,
    const unsigned char *end, uint32_t *field, unsigned *wire);
static int infer_otel_pb_skip(const unsigned char **pp,
    const unsigned char *end, uint32_t field, unsigned wire, int depth);
static int infer_otel_pb_bytes(const unsigned char **pp,
    const unsigned char *end, const unsigned char **s, size_t *n);
static int infer_otel_pb_partial(const unsigned char *p,
    const unsigned char *end, int64_t *rejected, const char **s, size_t *n);
static int infer_otel_pb_status(const unsigned char *p,
    const unsigned char *end, const char **s, size_t *n);
static yajl_val infer_otel_json_parse(const char *body, size_t len,
    char *buf);
static yajl_val infer_otel_json_member(yajl_val obj, const char *name,
    const char *alias);
static int infer_otel_json_int64(yajl_val v, int64_t *n);
static int infer_otel_json_like(const char *body, size_t len);
static int infer_otel_space(char c);
static void infer_otel_text(char *dst, size_t dst_len, const char *s,
    size_t n);


/* protobuf's wire format: at most 10 bytes, the bits past 64 dropped */

static int
infer_otel_pb_varint(const unsigned char **pp, const unsigned char *end,
    uint64_t *v)
{
    int                   shift;
    const unsigned char  *p;

    p = *pp;
    *v = 0;

    for (shift = 0; shift < 70; shift += 7) {
        if (p == end) {
            return INFER_EINVAL;
        }

        *v |= (uint64_t) (*p & 0x7f) << shift;

        if (!(*p++ & 0x80)) {
            *pp = p;
            return INFER_OK;
        }
    }

    return INFER_EINVAL;
}


static int
infer_otel_pb_tag(const unsigned char **pp, const unsigned char *end,
    uint32_t *field, unsigned *wire)
{
    uint64_t  tag;

    if (infer_otel_pb_varint(pp, end, &tag) != INFER_OK
        || tag > UINT32_MAX
        || (tag >> 3) == 0)
    {
        return INFER_EINVAL;
    }

    *field = (uint32_t) (tag >> 3);
    *wire = (unsigned) (tag & 7);

    return INFER_OK;
}


/* a field not read: every wire type, a group up to its matching end */

static int
infer_otel_pb_skip(const unsigned char **pp, const unsigned char *end,
    uint32_t field, unsigned wire, int depth)
{
    size_t                n;
    uint32_t              f;
    unsigned              w;
    uint64_t              v;
    const unsigned char  *s;

    switch (wire) {

    case 0:
        return infer_otel_pb_varint(pp, end, &v);

    case 1:
    case 5:
        n = wire == 1 ? 8 : 4;

        if ((size_t) (end - *pp) < n) {
            return INFER_EINVAL;
        }

        *pp += n;
        return INFER_OK;

    case 2:
        return infer_otel_pb_bytes(pp, end, &s, &n);

    case 3:
        if (depth >= INFER_OTEL_PB_DEPTH) {
            return INFER_EINVAL;
        }

        for ( ;; ) {
            if (infer_otel_pb_tag(pp, end, &f, &w) != INFER_OK) {
                return INFER_EINVAL;
            }

            if (w == 4) {
                return f == field ? INFER_OK : INFER_EINVAL;
            }

            if (infer_otel_pb_skip(pp, end, f, w, depth + 1) != INFER_OK) {
                return INFER_EINVAL;
            }
        }

    default: /* 4, an end without its start; 6 and 7 do not exist */
        return INFER_EINVAL;
    }
}


static int
infer_otel_pb_bytes(const unsigned char **pp, const unsigned char *end,
    const unsigned char **s, size_t *n)
{
    uint64_t  len;

    if (infer_otel_pb_varint(pp, end, &len) != INFER_OK
        || len > (uint64_t) (end - *pp))
    {
        return INFER_EINVAL;
    }

    *s = *pp;
    *n = (size_t) len;
    *pp += len;

    return INFER_OK;
}


/*
 * ExportTraceServiceResponse { 1: ExportTracePartialSuccess { 1: int64
 * rejected_spans, 2: string error_message } }.  A message given twice is
 * merged, as protobuf does: the last value of each field wins.  A known
 * field of another wire type is skipped, as generated parsers do.
 */

static int
infer_otel_pb_partial(const unsigned char *p, const unsigned char *end,
    int64_t *rejected, const char **s, size_t *n)
{
    int                   found;
    size_t                len;
    uint32_t              field;
    unsigned              wire;
    uint64_t              v;
    const unsigned char  *sub, *sub_end, *str;

    found = 0;

    while (p < end) {
        if (infer_otel_pb_tag(&p, end, &field, &wire) != INFER_OK) {
            return INFER_EINVAL;
        }

        if (field != 1 || wire != 2) {
            if (infer_otel_pb_skip(&p, end, field, wire, 0) != INFER_OK) {
                return INFER_EINVAL;
            }

            continue;
        }

        if (infer_otel_pb_bytes(&p, end, &sub, &len) != INFER_OK) {
            return INFER_EINVAL;
        }

        found = 1;
        sub_end = sub + len;

        while (sub < sub_end) {
            if (infer_otel_pb_tag(&sub, sub_end, &field, &wire) != INFER_OK) {
                return INFER_EINVAL;
            }

            if (field == 1 && wire == 0) {
                if (infer_otel_pb_varint(&sub, sub_end, &v) != INFER_OK) {
                    return INFER_EINVAL;
                }

                *rejected = (int64_t) v;

            } else if (field == 2 && wire == 2) {
                if (infer_otel_pb_bytes(&sub, sub_end, &str, &len)
                    != INFER_OK)
                {
                    return INFER_EINVAL;
                }

                *s = (const char *) str;
                *n = len;

            } else if (infer_otel_pb_skip(&sub, sub_end, field, wire, 0)
                       != INFER_OK)
            {
                return INFER_EINVAL;
            }
        }
    }

    return found ? INFER_OK : INFER_DECLINED;
}


/* google.rpc.Status { 1: int32 code, 2: string message, 3: details } */

static int
infer_otel_pb_status(const unsigned char *p, const unsigned char *end,
    const char **s, size_t *n)
{
    size_t                len;
    uint32_t              field;
    unsigned              wire;
    const unsigned char  *str;

    *s = NULL;

    while (p < end) {
        if (infer_otel_pb_tag(&p, end, &field, &wire) != INFER_OK) {
            return INFER_EINVAL;
        }

        if (field == 2 && wire == 2) {
            if (infer_otel_pb_bytes(&p, end, &str, &len) != INFER_OK) {
                return INFER_EINVAL;
            }

            *s = (const char *) str;
            *n = len;

        } else if (infer_otel_pb_skip(&p, end, field, wire, 0) != INFER_OK) {
            return INFER_EINVAL;
        }
    }

    return *s != NULL ? INFER_OK : INFER_DECLINED;
}


/*
 * yajl_tree_parse() reads a C string: a copy in buf, which has room for
 * a kept body and its NUL.  A NUL inside would end the text early.
 */

static yajl_val
infer_otel_json_parse(const char *body, size_t len, char *buf)
{
    if (len > INFER_OTEL_HTTP_BODY || memchr(body, '\0', len) != NULL) {
        return NULL;
    }

    memcpy(buf, body, len);
    buf[len] = '\0';

    return yajl_tree_parse(buf, NULL, 0);
}


/* the last member of that name or of its alias (protobuf's field name) */

static yajl_val
infer_otel_json_member(yajl_val obj, const char *name, const char *alias)
{
    size_t    i;
    yajl_val  v;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    v = NULL;

    for (i = 0; i < obj->u.object.len; i++) {
        if (strcmp(obj->u.object.keys[i], name) == 0
            || (alias != NULL && strcmp(obj->u.object.keys[i], alias) == 0))
        {
            v = obj->u.object.values[i];
        }
    }

    return v;
}


/* proto3 JSON writes an int64 as a string, and takes a number too */

static int
infer_otel_json_int64(yajl_val v, int64_t *n)
{
    int          neg;
    uint64_t     u;
    const char  *p, *end;

    if (YAJL_IS_INTEGER(v)) {
        *n = YAJL_GET_INTEGER(v);
        return INFER_OK;
    }

    if (!YAJL_IS_STRING(v)) {
        return INFER_EINVAL;
    }

    p = v->u.string;
    end = p + strlen(p);
    neg = (p < end && *p == '-');
    p += neg;

    if (infer_parse_uint64(p, end, &u) != end
        || u > (uint64_t) INT64_MAX + neg)
    {
        return INFER_EINVAL;
    }

    *n = neg ? (int64_t) (0 - u) : (int64_t) u;

    return INFER_OK;
}


int
infer_otel_partial_success(const char *body, size_t len, int json,
    int64_t *rejected, char *msg, size_t msg_len)
{
    int          rc;
    char         buf[INFER_OTEL_HTTP_BODY + 1];
    size_t       n;
    int64_t      r;
    yajl_val     root, ps, v;
    const char  *s;

    *rejected = 0;
    infer_otel_text(msg, msg_len, "", 0);

    r = 0;
    s = NULL;
    n = 0;

    if (len == 0) {
        return INFER_DECLINED;
    }

    if (!json) {
        rc = infer_otel_pb_partial((const unsigned char *) body,
                                   (const unsigned char *) body + len,
                                   &r, &s, &n);

        /*
         * Not protobuf, but JSON sent with no Content-Type, as
         * mockotlpserver answers a JSON export, is read as JSON.  An empty
         * partial_success is "equivalent to it not being set".
         */

        if (rc != INFER_EINVAL || !infer_otel_json_like(body, len)) {
            if (rc != INFER_OK || (r == 0 && n == 0)) {
                return INFER_DECLINED;
            }

            *rejected = r;
            infer_otel_text(msg, msg_len, s, n);

            return INFER_OK;
        }

        r = 0;
        s = NULL;
        n = 0;
    }

    root = infer_otel_json_parse(body, len, buf);
    ps = infer_otel_json_member(root, "partialSuccess", "partial_success");

    if (!YAJL_IS_OBJECT(ps)) {
        yajl_tree_free(root);
        return INFER_DECLINED;
    }

    v = infer_otel_json_member(ps, "rejectedSpans", "rejected_spans");

    if (v != NULL && infer_otel_json_int64(v, &r) != INFER_OK) {
        r = 0;
    }

    v = infer_otel_json_member(ps, "errorMessage", "error_message");

    if (YAJL_IS_STRING(v)) {
        s = v->u.string;
        n = strlen(s);
    }

    rc = (r != 0 || n != 0) ? INFER_OK : INFER_DECLINED;

    if (rc == INFER_OK) {
        *rejected = r;
        infer_otel_text(msg, msg_len, s, n);
    }

    yajl_tree_free(root);

    return rc;
}


void
infer_otel_error_message(const char *body, size_t len, int json,
    char *msg, size_t msg_len)
{
    char         buf[INFER_OTEL_HTTP_BODY + 1];
    size_t       n;
    yajl_val     root, v;
    const char  *s, *end;

    if (msg_len == 0) {
        return;
    }

    end = len ? body + len : body;

    if (!json
        && infer_otel_pb_status((const unsigned char *) body,
                                (const unsigned char *) end, &s, &n)
           == INFER_OK
        && n != 0)
    {
        infer_otel_text(msg, msg_len, s, n);
        return;
    }

    /* JSON as Content-Type says, or a collector that did not say */

    if (json || infer_otel_json_like(body, len)) {
        root = infer_otel_json_parse(body, len, buf);

        v = infer_otel_json_member(root, "message", NULL);

        if (!YAJL_IS_STRING(v)) {
            v = infer_otel_json_member(root, "error", NULL);

            if (!YAJL_IS_STRING(v)) {
                v = infer_otel_json_member(v, "message", NULL);
            }
        }

        if (YAJL_IS_STRING(v) && v->u.string[0] != '\0') {
            infer_otel_text(msg, msg_len, v->u.string, strlen(v->u.string));
            yajl_tree_free(root);
            return;
        }

        yajl_tree_free(root);
    }

    /* text, or what could not be read: its start, for the log */

    for (s = body; s < end && infer_otel_space(*s); s++) {
        /* void */
    }

    while (end > s && infer_otel_space(end[-1])) {
        end--;
    }

    infer_otel_text(msg, msg_len, s, end - s);
}


/* an object, as far as its first byte tells */

static int
infer_otel_json_like(const char *body, size_t len)
{
    size_t  i;

    for (i = 0; i < len && infer_otel_space(body[i]); i++) {
        /* void */
    }

    return i < len && body[i] == '{';
}


static int
infer_otel_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


/* printable ASCII only, white space as a space, the rest as '?' */

static void
infer_otel_text(char *dst, size_t dst_len, const char *s, size_t n)
{
    size_t         i;
    unsigned char  c;

    if (dst_len == 0) {
        return;
    }

    if (n > dst_len - 1) {
        n = dst_len - 1;
    }

    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];

        if (c >= 0x20 && c < 0x7f) {
            dst[i] = (char) c;

        } else if (c == '\t' || c == '\n' || c == '\r') {
            dst[i] = ' ';

        } else {
            dst[i] = '?';
        }
    }

    dst[n] = '\0';
}
