/*
 * OTLP/JSON (the OTLP specification's "JSON Protobuf Encoding"): the
 * proto3 JSON mapping with lowerCamelCase keys, except that trace and
 * span ids are lowercase hex and enums are integers.  64-bit integers are
 * decimal strings, doubles numbers (non-finite ones "NaN", "Infinity",
 * "-Infinity", as proto3 JSON has them).  Defaults are left out, as the
 * protobuf encoding leaves them out, so both carry the same spans.
 */

#include <math.h>

#include "infer_otel_enc.h"
#include "infer_prom.h"
#include "infer_trace.h"


#define infer_otel_json_lit(o, s)  infer_otel_put(o, s, sizeof(s) - 1)


static void infer_otel_json_str(infer_otel_out_t *o, const void *s,
    size_t len, size_t max);
static void infer_otel_json_hex(infer_otel_out_t *o, const uint8_t *id,
    size_t n);
static void infer_otel_json_int(infer_otel_out_t *o, int64_t v, int quoted);
static void infer_otel_json_u64(infer_otel_out_t *o, uint64_t v);
static void infer_otel_json_double(infer_otel_out_t *o, double d);
static void infer_otel_json_attrs(infer_otel_out_t *o,
    const infer_otel_attr_t *attrs, size_t n);
static void infer_otel_json_member(infer_otel_out_t *o, const char *key,
    size_t key_len, const char *s, size_t max, int *comma);


/* 1 for '"' and '\\' (\" and \\), 5 for control characters (\u00XX) */

const uint8_t  infer_otel_json_esc[128] = {
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


/* a string's content, valid UTF-8 and escaped: the quotes are the caller's */

static void
infer_otel_json_str(infer_otel_out_t *o, const void *s, size_t len,
    size_t max)
{
    uint8_t           *p;
    infer_otel_str_t   str;

    infer_otel_str(&str, s, len, max, 1);

    p = infer_otel_room(o, str.out + str.esc);

    if (p != NULL) {
        infer_otel_str_copy(p, &str, 1);
    }
}


static void
infer_otel_json_hex(infer_otel_out_t *o, const uint8_t *id, size_t n)
{
    uint8_t  *p;

    p = infer_otel_room(o, 2 * n + 2);

    if (p != NULL) {
        p[0] = '"';
        infer_trace_hex((char *) p + 1, id, n);
        p[2 * n + 1] = '"';
    }
}


static void
infer_otel_json_int(infer_otel_out_t *o, int64_t v, int quoted)
{
    char    buf[INFER_INT64_LEN + 2];
    size_t  n;

    buf[0] = '"';
    n = infer_format_int64(buf + 1, v);
    buf[n + 1] = '"';

    if (quoted) {
        infer_otel_put(o, buf, n + 2);

    } else {
        infer_otel_put(o, buf + 1, n);
    }
}


/* a fixed64 (the times) is a JSON string too */

static void
infer_otel_json_u64(infer_otel_out_t *o, uint64_t v)
{
    char    buf[INFER_INT64_LEN + 2];
    size_t  n;

    buf[0] = '"';
    n = infer_format_uint64(buf + 1, v);
    buf[n + 1] = '"';

    infer_otel_put(o, buf, n + 2);
}


static void
infer_otel_json_double(infer_otel_out_t *o, double d)
{
    char    buf[INFER_PROM_LE_LEN];
    size_t  n;

    if (isnan(d)) {
        infer_otel_json_lit(o, "\"NaN\"");

    } else if (isinf(d)) {
        if (d > 0) {
            infer_otel_json_lit(o, "\"Infinity\"");

        } else {
            infer_otel_json_lit(o, "\"-Infinity\"");
        }

    } else {
        /* the shortest digits that read back as d: "0.5", "1e+21" */
        n = infer_prom_format_le(buf, d);
        infer_otel_put(o, buf, n);
    }
}


/* "attributes":[...], or nothing when there are none */

static void
infer_otel_json_attrs(infer_otel_out_t *o, const infer_otel_attr_t *attrs,
    size_t n)
{
    size_t                    i;
    const infer_otel_attr_t  *a;

    if (n == 0) {
        return;
    }

    infer_otel_json_lit(o, "\"attributes\":[");

    for (i = 0; i < n; i++) {
        a = &attrs[i];

        if (i == 0) {
            infer_otel_json_lit(o, "{\"key\":\"");

        } else {
            infer_otel_json_lit(o, ",{\"key\":\"");
        }

        if (a->key != NULL) {
            infer_otel_json_str(o, a->key, infer_otel_key_len(a),
                                INFER_OTEL_MAX_NAME);
        }

        switch (a->type) {

        case INFER_OTEL_STRING:
            infer_otel_json_lit(o, "\",\"value\":{\"stringValue\":\"");
            infer_otel_json_str(o, a->v.s, a->v.s ? a->len : 0,
                                INFER_OTEL_MAX_STRING);
            infer_otel_json_lit(o, "\"}}");
            break;

        case INFER_OTEL_INT:
            infer_otel_json_lit(o, "\",\"value\":{\"intValue\":");
            infer_otel_json_int(o, a->v.i, 1);
            infer_otel_json_lit(o, "}}");
            break;

        case INFER_OTEL_DOUBLE:
            infer_otel_json_lit(o, "\",\"value\":{\"doubleValue\":");
            infer_otel_json_double(o, a->v.d);
            infer_otel_json_lit(o, "}}");
            break;

        case INFER_OTEL_BOOL:
            if (a->v.b) {
                infer_otel_json_lit(o, "\",\"value\":{\"boolValue\":true}}");

            } else {
                infer_otel_json_lit(o,
                                    "\",\"value\":{\"boolValue\":false}}");
            }

            break;

        default:
            infer_otel_json_lit(o, "\",\"value\":{}}");
        }
    }

    infer_otel_json_lit(o, "]");
}


void
infer_otel_json_span(infer_otel_out_t *o, const infer_otel_span_t *s,
    int comma)
{
    uint8_t           *p;
    infer_otel_str_t   m;

    if (comma) {
        infer_otel_json_lit(o, ",{\"traceId\":");

    } else {
        infer_otel_json_lit(o, "{\"traceId\":");
    }

    infer_otel_json_hex(o, s->trace_id, 16);
    infer_otel_json_lit(o, ",\"spanId\":");
    infer_otel_json_hex(o, s->span_id, 8);

    if (s->trace_state != NULL && s->trace_state_len != 0) {
        infer_otel_json_lit(o, ",\"traceState\":\"");
        infer_otel_json_str(o, s->trace_state, s->trace_state_len,
                            INFER_OTEL_MAX_STRING);
        infer_otel_json_lit(o, "\"");
    }

    if (s->has_parent) {
        infer_otel_json_lit(o, ",\"parentSpanId\":");
        infer_otel_json_hex(o, s->parent_id, 8);
    }

    if (s->flags != 0) {
        infer_otel_json_lit(o, ",\"flags\":");
        infer_otel_json_int(o, s->flags, 0);
    }

    if (s->name != NULL && s->name_len != 0) {
        infer_otel_json_lit(o, ",\"name\":\"");
        infer_otel_json_str(o, s->name, s->name_len, INFER_OTEL_MAX_NAME);
        infer_otel_json_lit(o, "\"");
    }

    if (s->kind != 0) {
        infer_otel_json_lit(o, ",\"kind\":");
        infer_otel_json_int(o, s->kind, 0);
    }

    if (s->start_ns != 0) {
        infer_otel_json_lit(o, ",\"startTimeUnixNano\":");
        infer_otel_json_u64(o, s->start_ns);
    }

    if (s->end_ns != 0) {
        infer_otel_json_lit(o, ",\"endTimeUnixNano\":");
        infer_otel_json_u64(o, s->end_ns);
    }

    if (s->nattrs != 0) {
        infer_otel_json_lit(o, ",");
        infer_otel_json_attrs(o, s->attrs, s->nattrs);
    }

    memset(&m, 0, sizeof(infer_otel_str_t));

    if (s->status_message != NULL && s->status_message_len != 0) {
        infer_otel_str(&m, s->status_message, s->status_message_len,
                       INFER_OTEL_MAX_STRING, 1);
    }

    if (s->status != INFER_OTEL_STATUS_UNSET || m.out != 0) {
        infer_otel_json_lit(o, ",\"status\":{");

        if (m.out != 0) {
            infer_otel_json_lit(o, "\"message\":\"");
            p = infer_otel_room(o, m.out + m.esc);

            if (p != NULL) {
                infer_otel_str_copy(p, &m, 1);
            }

            infer_otel_json_lit(o, "\"");
        }

        if (s->status != INFER_OTEL_STATUS_UNSET) {
            if (m.out != 0) {
                infer_otel_json_lit(o, ",");
            }

            infer_otel_json_lit(o, "\"code\":");
            infer_otel_json_int(o, s->status, 0);
        }

        infer_otel_json_lit(o, "}");
    }

    infer_otel_json_lit(o, "}");
}


/* a NUL-terminated string member, left out when it is NULL or empty */

static void
infer_otel_json_member(infer_otel_out_t *o, const char *key, size_t key_len,
    const char *s, size_t max, int *comma)
{
    if (s == NULL || *s == '\0') {
        return;
    }

    if (*comma) {
        infer_otel_json_lit(o, ",");
    }

    *comma = 1;

    infer_otel_put(o, key, key_len);
    infer_otel_json_str(o, s, strlen(s), max);
    infer_otel_json_lit(o, "\"");
}


/*
 * The head of every body, up to the first span:
 * {"resourceSpans":[{"resource":{...},"scopeSpans":[{"scope":{...},
 * "spans":[
 */

void
infer_otel_json_head(infer_otel_out_t *o, const infer_otel_resource_t *r)
{
    int  comma;

    infer_otel_json_lit(o, "{\"resourceSpans\":[{\"resource\":{");

    if (r != NULL) {
        infer_otel_json_attrs(o, r->attrs, r->nattrs);
    }

    infer_otel_json_lit(o, "},\"scopeSpans\":[{\"scope\":{");

    comma = 0;

    if (r != NULL) {
        infer_otel_json_member(o, "\"name\":\"", 8, r->scope_name,
                               INFER_OTEL_MAX_NAME, &comma);
        infer_otel_json_member(o, "\"version\":\"", 11, r->scope_version,
                               INFER_OTEL_MAX_NAME, &comma);
    }

    infer_otel_json_lit(o, "},\"spans\":[");
}


/* and its tail: the schemaUrl of ScopeSpans and of ResourceSpans */

void
infer_otel_json_tail(infer_otel_out_t *o, const infer_otel_resource_t *r)
{
    int          comma;
    const char  *url;

    url = (r != NULL) ? r->schema_url : NULL;

    infer_otel_json_lit(o, "]");
    comma = 1;
    infer_otel_json_member(o, "\"schemaUrl\":\"", 13, url,
                           INFER_OTEL_MAX_STRING, &comma);
    infer_otel_json_lit(o, "}]");
    comma = 1;
    infer_otel_json_member(o, "\"schemaUrl\":\"", 13, url,
                           INFER_OTEL_MAX_STRING, &comma);
    infer_otel_json_lit(o, "}]}");
}
