/*
 * The UTF-8 validator against a reference written here another way (a
 * code point decoded, then its range checked): every 1-, 2- and 3-byte
 * sequence, the 4-byte ones around every boundary, each alone and among
 * ASCII so that the word-at-a-time path meets it at every alignment.
 * Then the JSON string checker: the same error at the same offset
 * whatever the chunks, escapes included.
 */

#include "infer_utf8.h"
#include "infer_unit_test.h"


static size_t utf8_ref(const unsigned char *s, size_t len);
static size_t utf8_ref_one(const unsigned char *s, size_t len);
static int utf8_same(const unsigned char *s, size_t len);
static void test_short_sequences(void);
static void test_four_bytes(void);
static void test_alignment(void);
static void utf8_json_cut(const char *text, size_t len, int rc,
    uint64_t bad, uint32_t cp);
static void test_json_strings(void);


void
infer_test_utf8(void)
{
    test_short_sequences();
    test_four_bytes();
    test_alignment();
    test_json_strings();
}


/* the valid prefix of s, a sequence at a time */

static size_t
utf8_ref(const unsigned char *s, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = utf8_ref_one(s + i, len - i);

        if (n == 0) {
            return i;
        }
    }

    return len;
}


/* the bits decoded as any UTF-8 (up to 6 bytes), then RFC 3629's rules */

static size_t
utf8_ref_one(const unsigned char *s, size_t len)
{
    size_t    n, i;
    uint32_t  cp;

    static const uint32_t  min[] = { 0, 0, 0x80, 0x800, 0x10000 };

    if (s[0] < 0x80) {
        return 1;
    }

    for (n = 0; n < 8 && (s[0] & (0x80 >> n)); n++) {
        /* void */
    }

    if (n < 2 || n > 4 || n > len) {
        return 0;
    }

    cp = s[0] & (0x7f >> n);

    for (i = 1; i < n; i++) {
        if ((s[i] >> 6) != 2) {
            return 0;
        }

        cp = (cp << 6) | (s[i] & 0x3f);
    }

    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


static int
utf8_same(const unsigned char *s, size_t len)
{
    return infer_utf8_valid(s, len) == utf8_ref(s, len);
}


/* every 1-, 2- and 3-byte string: 16.8 million, one CHECK for each kind */

static void
test_short_sequences(void)
{
    size_t         valid2, valid3, wrong;
    uint32_t       v;
    unsigned char  s[3];

    wrong = 0;

    for (v = 0; v < 256; v++) {
        s[0] = (unsigned char) v;
        wrong += !utf8_same(s, 1);
        wrong += (infer_utf8_valid(s, 1) == 1) != (v < 0x80);
    }

    CHECK(wrong == 0);

    wrong = 0;
    valid2 = 0;

    for (v = 0; v < 0x10000; v++) {
        s[0] = (unsigned char) (v >> 8);
        s[1] = (unsigned char) v;
        wrong += !utf8_same(s, 2);
        valid2 += (s[0] >= 0x80 && infer_utf8_valid(s, 2) == 2);
    }

    CHECK(wrong == 0);
    CHECK(valid2 == 0x800 - 0x80);          /* U+0080 to U+07FF */

    wrong = 0;
    valid3 = 0;

    for (v = 0; v < 0x1000000; v++) {
        s[0] = (unsigned char) (v >> 16);
        s[1] = (unsigned char) (v >> 8);
        s[2] = (unsigned char) v;
        wrong += !utf8_same(s, 3);
        valid3 += (s[0] >= 0xe0 && infer_utf8_valid(s, 3) == 3);
    }

    CHECK(wrong == 0);
    CHECK(valid3 == 0x10000 - 0x800 - 0x800);   /* less the surrogates */
}


/*
 * Every lead byte and second byte, the third and fourth at the edges of
 * the continuation range and beyond; then every code point's encoding
 * from U+10000 to U+10FFFF, and U+110000.
 */

static void
test_four_bytes(void)
{
    size_t         a, b, c, d, wrong, valid;
    uint32_t       cp;
    unsigned char  s[4];

    static const unsigned char  edge[] = {
        0x00, 0x41, 0x7f, 0x80, 0x81, 0xbe, 0xbf, 0xc0, 0xf4, 0xff
    };

    wrong = 0;

    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            for (c = 0; c < sizeof(edge); c++) {
                for (d = 0; d < sizeof(edge); d++) {
                    s[0] = (unsigned char) a;
                    s[1] = (unsigned char) b;
                    s[2] = edge[c];
                    s[3] = edge[d];
                    wrong += !utf8_same(s, 4);
                }
            }
        }
    }

    CHECK(wrong == 0);

    wrong = 0;
    valid = 0;

    for (cp = 0x10000; cp <= 0x110000; cp++) {
        s[0] = (unsigned char) (0xf0 | cp >> 18);
        s[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3f));
        s[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        s[3] = (unsigned char) (0x80 | (cp & 0x3f));
        wrong += !utf8_same(s, 4);
        valid += (infer_utf8_valid(s, 4) == 4);

        /* cut short, the sequence is not valid */
        wrong += (infer_utf8_valid(s, 3) != 0);
    }

    CHECK(wrong == 0);
    CHECK(valid == 0x100000);
}


/*
 * A bad sequence, a good one and a cut one at every offset of a buffer
 * of ASCII, for the word-at-a-time path: the offset returned is exact.
 */

static void
test_alignment(void)
{
    size_t         at, len, k, wrong;
    unsigned char  buf[64];

    static const struct {
        const char  *seq;
        size_t       len;
        int          ok;
    } seqs[] = {
        { "\xc0\xaf", 2, 0 },
        { "\xe0\x80\xaf", 3, 0 },
        { "\xed\xa0\x80", 3, 0 },
        { "\xf4\x90\x80\x80", 4, 0 },
        { "\x80", 1, 0 },
        { "\xff", 1, 0 },
        { "\xe2\x82", 2, 0 },                  /* cut by an ASCII byte */
        { "\xc3\xa9", 2, 1 },
        { "\xe2\x82\xac", 3, 1 },
        { "\xf4\x8f\xbf\xbf", 4, 1 },
    };

    wrong = 0;

    for (k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
        for (at = 0; at + seqs[k].len < sizeof(buf); at++) {
            memset(buf, 'a', sizeof(buf));
            memcpy(buf + at, seqs[k].seq, seqs[k].len);

            len = infer_utf8_valid(buf, sizeof(buf));
            wrong += (len != (seqs[k].ok ? sizeof(buf) : at));

            /* the buffer ends inside the sequence */
            if (seqs[k].len > 1) {
                len = infer_utf8_valid(buf, at + seqs[k].len - 1);
                wrong += (len != at);
            }
        }
    }

    CHECK(wrong == 0);
    CHECK(infer_utf8_valid((const unsigned char *) "", 0) == 0);
}


/* the text whole, cut once at every offset, and a byte at a time */

static void
utf8_json_cut(const char *text, size_t len, int rc, uint64_t bad,
    uint32_t cp)
{
    int                   got;
    size_t                cut, i, wrong;
    infer_utf8_json_t     u;
    const unsigned char  *t;

    t = (const unsigned char *) text;
    got = INFER_UTF8_OK;
    wrong = 0;

    for (cut = 0; cut <= len + 1; cut++) {
        infer_utf8_json_init(&u);

        if (cut <= len) {
            got = infer_utf8_json(&u, t, cut);
            got = infer_utf8_json(&u, t + cut, len - cut);

        } else {
            for (i = 0; i < len; i++) {
                got = infer_utf8_json(&u, t + i, 1);
            }
        }

        if (got != rc || (rc != INFER_UTF8_OK && u.bad != bad)
            || (rc == INFER_UTF8_SURROGATE && u.cp != cp))
        {
            wrong++;
            printf("not ok: utf8 json \"%s\" cut at %zu: rc %d at %llu\n",
                   text, cut, got, (unsigned long long) u.bad);
        }
    }

    CHECK(wrong == 0);
}


#define UTF8_JSON(text, rc, bad, cp)                                         \
    utf8_json_cut(text, sizeof(text) - 1, rc, bad, cp)


static void
test_json_strings(void)
{
    UTF8_JSON("{\"id\":\"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf"
              "\xbf\",\"k\":[1.5,\"a\\\"b\\\\\",\"\\\\\",\"\\ud83d\\ude00"
              "\\uDBFF\\uDFFF\\u0041\\n\"],\"\xc3\xa9\":{}}",
              INFER_UTF8_OK, 0, 0);

    /* raw bytes: the first byte of the bad sequence */

    UTF8_JSON("{\"id\":\"\xc0\xaf\"}", INFER_UTF8_INVALID, 7, 0);
    UTF8_JSON("{\"a\":\"x\xe0\x80\xaf\"}", INFER_UTF8_INVALID, 7, 0);
    UTF8_JSON("[\"ok\",\"\xed\xa0\x80\"]", INFER_UTF8_INVALID, 7, 0);
    UTF8_JSON("{\"\xf4\x90\x80\x80\":1}", INFER_UTF8_INVALID, 2, 0);
    UTF8_JSON("[\"\\n\xc3\xa9\xc3\"]", INFER_UTF8_INVALID, 6, 0);
    UTF8_JSON("[\"\xe2\x82\\n\"]", INFER_UTF8_INVALID, 2, 0);
    UTF8_JSON("[1,\"a\",\"\xf0\x90\x80\"]", INFER_UTF8_INVALID, 8, 0);

    /* \u escapes: the surrogate's backslash, a pair's at the high one */

    UTF8_JSON("{\"id\":\"\\ud800\"}", INFER_UTF8_SURROGATE, 7, 0xd800);
    UTF8_JSON("{\"id\":\"\\udc00\"}", INFER_UTF8_SURROGATE, 7, 0xdc00);
    UTF8_JSON("{\"id\":\"ab\\ud83d\\u0041\"}", INFER_UTF8_SURROGATE, 9,
              0xd83d);
    UTF8_JSON("{\"id\":\"\\uD83D\\uD83D\\uDE00\"}", INFER_UTF8_SURROGATE, 7,
              0xd83d);
    UTF8_JSON("{\"id\":\"\\ud83d\\n\"}", INFER_UTF8_SURROGATE, 7, 0xd83d);
    UTF8_JSON("{\"id\":\"\\ud83dx\"}", INFER_UTF8_SURROGATE, 7, 0xd83d);
    UTF8_JSON("[\"\\ud83d\\ude00\\ude00\"]", INFER_UTF8_SURROGATE, 14,
              0xde00);

    /* between strings only quotes matter; the first error is kept */

    UTF8_JSON("[\"\\\\\",\"\xc0\x80\",\"\\ud800\"]", INFER_UTF8_INVALID, 7,
              0);
}
