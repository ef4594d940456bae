#include <string.h>

#include "infer_utf8.h"


typedef enum {
    INFER_UTF8_ST_OUT = 0,            /* between strings */
    INFER_UTF8_ST_IN,                 /* in a string's raw bytes */
    INFER_UTF8_ST_ESC,                /* after a backslash */
    INFER_UTF8_ST_HEX,                /* in a \u escape's digits */
    INFER_UTF8_ST_PAIR,               /* after a high surrogate: '\\' */
    INFER_UTF8_ST_PAIR_U,             /* then 'u' */
    INFER_UTF8_ST_LOW                 /* then the low surrogate's digits */
} infer_utf8_state_e;


static size_t infer_utf8_seq(const unsigned char *s, size_t len);
static size_t infer_utf8_json_part(infer_utf8_json_t *u,
    const unsigned char *data, size_t len);
static size_t infer_utf8_json_string(infer_utf8_json_t *u,
    const unsigned char *data, size_t len, size_t i);
static void infer_utf8_json_escape(infer_utf8_json_t *u, unsigned char c);
static void infer_utf8_json_code(infer_utf8_json_t *u);
static void infer_utf8_json_fail(infer_utf8_json_t *u, int rc,
    uint64_t at);


#define INFER_UTF8_HIGH(cp)  ((cp) >= 0xd800 && (cp) <= 0xdbff)
#define INFER_UTF8_LOW(cp)   ((cp) >= 0xdc00 && (cp) <= 0xdfff)


size_t
infer_utf8_valid(const unsigned char *s, size_t len)
{
    size_t    i, n;
    uint64_t  w;

    i = 0;

    while (i < len) {
        if (s[i] < 0x80) {

            /* ASCII, the usual case: eight bytes at a time */

            while (i + 8 <= len) {
                memcpy(&w, s + i, 8);

                if (w & 0x8080808080808080ULL) {
                    break;
                }

                i += 8;
            }

            while (i < len && s[i] < 0x80) {
                i++;
            }

            continue;
        }

        n = infer_utf8_seq(s + i, len - i);
        if (n == 0) {
            return i;
        }

        i += n;
    }

    return len;
}


size_t
infer_utf8_seq_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }

    if (c < 0xc2) {                   /* a continuation, or overlong */
        return 0;
    }

    if (c < 0xe0) {
        return 2;
    }

    if (c < 0xf0) {
        return 3;
    }

    return (c < 0xf5) ? 4 : 0;        /* F5 and up: above U+10FFFF */
}


/*
 * The second byte's range rules out what the lead byte alone cannot
 * (Table 3-7 of the Unicode Standard): E0 80-9F are overlong, ED A0-BF
 * surrogates, F0 80-8F overlong, F4 90-BF above U+10FFFF.
 */

static size_t
infer_utf8_seq(const unsigned char *s, size_t len)
{
    size_t         i, n;
    unsigned char  lo, hi;

    n = infer_utf8_seq_len(s[0]);

    if (n == 0 || n > len) {
        return 0;
    }

    lo = 0x80;
    hi = 0xbf;

    switch (s[0]) {

    case 0xe0:
        lo = 0xa0;
        break;

    case 0xed:
        hi = 0x9f;
        break;

    case 0xf0:
        lo = 0x90;
        break;

    case 0xf4:
        hi = 0x8f;
        break;
    }

    if (n > 1 && (s[1] < lo || s[1] > hi)) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    return n;
}


void
infer_utf8_json_init(infer_utf8_json_t *u)
{
    memset(u, 0, sizeof(infer_utf8_json_t));
}


int
infer_utf8_json(infer_utf8_json_t *u, const unsigned char *data, size_t len)
{
    size_t                i;
    const unsigned char  *q;

    if (u->rc != INFER_UTF8_OK) {
        return u->rc;
    }

    i = (u->npart > 0) ? infer_utf8_json_part(u, data, len) : 0;

    while (i < len && u->rc == INFER_UTF8_OK) {

        switch (u->state) {

        case INFER_UTF8_ST_OUT:
            q = memchr(data + i, '"', len - i);

            if (q == NULL) {
                i = len;
                break;
            }

            i = (size_t) (q - data) + 1;
            u->state = INFER_UTF8_ST_IN;
            break;

        case INFER_UTF8_ST_IN:
            i = infer_utf8_json_string(u, data, len, i);
            break;

        default:
            infer_utf8_json_escape(u, data[i++]);
            break;
        }
    }

    u->at += len;

    return u->rc;
}


/* a sequence the last chunk cut, completed from this one's first bytes */

static size_t
infer_utf8_json_part(infer_utf8_json_t *u, const unsigned char *data,
    size_t len)
{
    size_t  need, n;

    need = infer_utf8_seq_len(u->part[0]);
    n = need - u->npart;

    if (n > len) {
        n = len;
    }

    memcpy(u->part + u->npart, data, n);
    u->npart += n;

    if (u->npart < need) {
        return len;
    }

    u->npart = 0;

    if (infer_utf8_valid(u->part, need) != need) {
        infer_utf8_json_fail(u, INFER_UTF8_INVALID, u->mark);
    }

    return n;
}


/* a string's raw bytes up to its end, an escape or the chunk's end */

static size_t
infer_utf8_json_string(infer_utf8_json_t *u, const unsigned char *data,
    size_t len, size_t i)
{
    size_t  j, v;

    for (j = i; j < len && data[j] != '"' && data[j] != '\\'; j++) {
        /* void */
    }

    v = i + infer_utf8_valid(data + i, j - i);

    if (v < j) {
        if (j == len && j - v < infer_utf8_seq_len(data[v])) {
            memcpy(u->part, data + v, j - v);   /* the next chunk has more */
            u->npart = (unsigned) (j - v);
            u->mark = u->at + v;
            return len;
        }

        infer_utf8_json_fail(u, INFER_UTF8_INVALID, u->at + v);
        return len;
    }

    if (j == len) {
        return len;
    }

    if (data[j] == '"') {
        u->state = INFER_UTF8_ST_OUT;

    } else {
        u->state = INFER_UTF8_ST_ESC;
        u->mark = u->at + j;
    }

    return j + 1;
}


/*
 * An escape, a byte at a time.  The JSON parser has checked their form:
 * one character after a backslash, four hex digits after "\u".
 */

static void
infer_utf8_json_escape(infer_utf8_json_t *u, unsigned char c)
{
    switch (u->state) {

    case INFER_UTF8_ST_ESC:
        u->state = (c == 'u') ? INFER_UTF8_ST_HEX : INFER_UTF8_ST_IN;
        u->hex = 0;
        u->nhex = 0;
        return;

    case INFER_UTF8_ST_PAIR:
        if (c != '\\') {
            infer_utf8_json_fail(u, INFER_UTF8_SURROGATE, u->mark);
            return;
        }

        u->state = INFER_UTF8_ST_PAIR_U;
        return;

    case INFER_UTF8_ST_PAIR_U:
        if (c != 'u') {
            infer_utf8_json_fail(u, INFER_UTF8_SURROGATE, u->mark);
            return;
        }

        u->state = INFER_UTF8_ST_LOW;
        u->hex = 0;
        u->nhex = 0;
        return;

    default:                          /* HEX, LOW: a digit */
        c = (c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
        u->hex = u->hex << 4 | c;

        if (++u->nhex == 4) {
            infer_utf8_json_code(u);
        }
    }
}


/* a high surrogate must be followed by a low one, the pair's mark its */

static void
infer_utf8_json_code(infer_utf8_json_t *u)
{
    if (u->state == INFER_UTF8_ST_LOW) {
        if (!INFER_UTF8_LOW(u->hex)) {
            infer_utf8_json_fail(u, INFER_UTF8_SURROGATE, u->mark);
            return;
        }

        u->state = INFER_UTF8_ST_IN;
        return;
    }

    if (INFER_UTF8_HIGH(u->hex)) {
        u->cp = u->hex;
        u->state = INFER_UTF8_ST_PAIR;
        return;
    }

    if (INFER_UTF8_LOW(u->hex)) {
        u->cp = u->hex;
        infer_utf8_json_fail(u, INFER_UTF8_SURROGATE, u->mark);
        return;
    }

    u->state = INFER_UTF8_ST_IN;
}


static void
infer_utf8_json_fail(infer_utf8_json_t *u, int rc, uint64_t at)
{
    u->rc = rc;
    u->bad = at;
}
