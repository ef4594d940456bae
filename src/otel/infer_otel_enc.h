/*
 * What the protobuf and the JSON encoders of the trace exporter share,
 * internal to src/otel/: an output that counts what does not fit, and
 * strings made valid UTF-8 and cut to a limit.
 *
 * A string is measured first (how many of its bytes go out, as how many
 * bytes of UTF-8, and what JSON's escapes add) and copied second: the
 * encoders write each length before its content, straight into the batch,
 * and the common string, valid and unescaped, is one memcpy().  The string
 * functions are inline: a request has some 40 strings.
 */

#ifndef INFER_OTEL_ENC_H
#define INFER_OTEL_ENC_H


#include <string.h>

#include "infer_otel.h"


/*
 * The bytes an encoding takes go on being counted past cap, and nothing is
 * written there: a request that does not fit the rest of a batch still
 * learns its size, and with it whether an empty batch would take it.
 */

typedef struct {
    uint8_t             *buf;
    size_t               len;        /* may pass cap: then it did not fit */
    size_t               cap;
    unsigned             over;       /* something was only counted */
} infer_otel_out_t;


typedef struct {
    const uint8_t       *p;
    size_t               in;         /* bytes of p that go out */
    size_t               out;        /* as this much UTF-8, <= the limit */
    size_t               esc;        /* what JSON's escapes add to it */
    unsigned             clean:1;    /* no byte replaced: out == in */
} infer_otel_str_t;


/* the bytes a JSON escape adds to an ASCII character */
extern const uint8_t  infer_otel_json_esc[128];

#define INFER_OTEL_FFFD  "\xef\xbf\xbd"      /* U+FFFD, in UTF-8 */


/* infer_otel_str() for a string that is not plain: infer_otel_str.c */
void infer_otel_str_slow(infer_otel_str_t *s, const void *data, size_t len,
    size_t max, int json);

void infer_otel_pb_span(infer_otel_out_t *o, const infer_otel_span_t *s);
void infer_otel_pb_resource(infer_otel_out_t *o,
    const infer_otel_resource_t *r);
void infer_otel_pb_scope(infer_otel_out_t *o, const infer_otel_resource_t *r);
void infer_otel_pb_schema_url(infer_otel_out_t *o,
    const infer_otel_resource_t *r);
size_t infer_otel_pb_head(uint8_t *dst, const uint8_t *resource,
    size_t resource_len, const uint8_t *scope, size_t scope_len,
    size_t spans_len, size_t url_len);

void infer_otel_json_span(infer_otel_out_t *o, const infer_otel_span_t *s,
    int comma);
void infer_otel_json_head(infer_otel_out_t *o,
    const infer_otel_resource_t *r);
void infer_otel_json_tail(infer_otel_out_t *o,
    const infer_otel_resource_t *r);


static inline size_t
infer_otel_key_len(const infer_otel_attr_t *a)
{
    if (a->key == NULL) {
        return 0;
    }

    return a->key_len ? a->key_len : strlen(a->key);
}


/* room for n more bytes, or NULL: then they are only counted */

static inline uint8_t *
infer_otel_room(infer_otel_out_t *o, size_t n)
{
    uint8_t  *p;

    if (!o->over && n <= o->cap - o->len) {
        p = o->buf + o->len;
        o->len += n;
        return p;
    }

    o->over = 1;
    o->len += n;

    return NULL;
}


static inline void
infer_otel_put(infer_otel_out_t *o, const void *data, size_t n)
{
    uint8_t  *p;

    p = infer_otel_room(o, n);

    if (p != NULL) {
        memcpy(p, data, n);
    }
}


/*
 * The well-formed sequence at p (Unicode's table 3-7): its length, with
 * *bad clear; or the length of the "maximal subpart" of an ill-formed one,
 * which one U+FFFD replaces, with *bad set.  That is what Python's and the
 * WHATWG decoders do, so a collector shows the same replacements.
 */

static inline size_t
infer_otel_utf8_seq(const uint8_t *p, size_t n, int *bad)
{
    size_t   len, i;
    uint8_t  c, lo, hi;

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = (c == 0xe0) ? 0xa0 : 0x80;         /* overlong */
        hi = (c == 0xed) ? 0x9f : 0xbf;         /* surrogates */

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = (c == 0xf0) ? 0x90 : 0x80;         /* overlong */
        hi = (c == 0xf4) ? 0x8f : 0xbf;         /* above U+10FFFF */

    } else {
        *bad = 1;                               /* 80..c1, f5..ff */
        return 1;
    }

    for (i = 1; i < len; i++) {
        if (i == n || p[i] < lo || p[i] > hi) {
            *bad = 1;
            return i;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    *bad = 0;

    return len;
}


/*
 * How much of p[0..len) goes out as at most max bytes of valid UTF-8, cut
 * before the first character that would pass max, and, for JSON, what
 * its escapes add.  The ASCII that needs no escape, most of any string
 * here, is tested 8 bytes at a time, and a string all of it is done
 * inline.
 */

#define INFER_OTEL_ONES   0x0101010101010101ULL
#define INFER_OTEL_HIGHS  0x8080808080808080ULL

/* the bits set in a word where a byte is not plain: see infer_otel_str() */

static inline uint64_t
infer_otel_unplain(uint64_t x, int json)
{
    uint64_t  t;

    t = x;                                                 /* >= 0x80 */

    if (json) {
        t |= (x - 0x20 * INFER_OTEL_ONES)                  /* < 0x20 */
             | ((x ^ 0x22 * INFER_OTEL_ONES) - INFER_OTEL_ONES)   /* " */
             | ((x ^ 0x5c * INFER_OTEL_ONES) - INFER_OTEL_ONES);  /* \ */
    }

    return t & INFER_OTEL_HIGHS;
}


/*
 * 1 when p[0..len) is plain: ASCII, and for JSON with nothing to escape.
 * A short string is read as one word padded with a plain byte; a longer
 * one by words, the last overlapping the one before it.
 */

static inline int
infer_otel_plain(const uint8_t *p, size_t len, int json)
{
    size_t    i;
    uint64_t  x, acc;

    if (len < 8) {
        x = 0x61 * INFER_OTEL_ONES;                        /* "aaaaaaaa" */

        for (i = 0; i < len; i++) {
            x = (x << 8) | p[i];
        }

        return infer_otel_unplain(x, json) == 0;
    }

    acc = 0;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&x, p + i, 8);
        acc |= infer_otel_unplain(x, json);
    }

    memcpy(&x, p + len - 8, 8);

    return (acc | infer_otel_unplain(x, json)) == 0;
}


static inline void
infer_otel_str(infer_otel_str_t *s, const void *data, size_t len, size_t max,
    int json)
{
    /* the common string, an attribute's key or value: whole and plain */

    if (len <= max && infer_otel_plain(data, len, json)) {
        s->p = data;
        s->in = len;
        s->out = len;
        s->esc = 0;
        s->clean = 1;
        return;
    }

    infer_otel_str_slow(s, data, len, max, json);
}


/*
 * Writes the string s measured, replacing what is ill-formed with U+FFFD,
 * and, for JSON, escaping '"', '\\' and the control characters: the end.
 */

static inline uint8_t *
infer_otel_str_copy(uint8_t *d, const infer_otel_str_t *s, int json)
{
    int             bad;
    size_t          i, k;
    uint8_t         c;
    const uint8_t  *p;

    static const char  hex[] = "0123456789abcdef";

    if (s->out == 0) {
        return d;
    }

    if (s->clean && (!json || s->esc == 0)) {
        memcpy(d, s->p, s->out);
        return d + s->out;
    }

    p = s->p;

    for (i = 0; i < s->in; i += k) {
        c = p[i];

        if (c < 0x80) {
            k = 1;

            if (!json || infer_otel_json_esc[c] == 0) {
                *d++ = c;

            } else if (c == '"' || c == '\\') {
                *d++ = '\\';
                *d++ = c;

            } else {
                memcpy(d, "\\u00", 4);
                d[4] = hex[c >> 4];
                d[5] = hex[c & 0xf];
                d += 6;
            }

            continue;
        }

        k = infer_otel_utf8_seq(p + i, s->in - i, &bad);

        if (bad) {
            memcpy(d, INFER_OTEL_FFFD, 3);
            d += 3;

        } else {
            memcpy(d, p + i, k);
            d += k;
        }
    }

    return d;
}


#endif /* INFER_OTEL_ENC_H */
