#include <string.h>

#include "infer_trace.h"

#if (defined(__SSE2__))
#define INFER_TRACE_SSE2  1
#include <emmintrin.h>
#else
#define INFER_TRACE_SSE2  0
#endif


static uint64_t infer_trace_splitmix(uint64_t *x);
static int infer_trace_unhex(uint8_t *dst, const char *src, size_t n);
static int infer_trace_zero(const uint8_t *p, size_t n);
static void infer_trace_put64(uint8_t *p, uint64_t v);
static void infer_trace_fill(infer_trace_rng_t *rng, uint8_t *dst, size_t n);
static void infer_trace_hex8(char *dst, const uint8_t *src);
#if !(INFER_TRACE_SSE2)
static void infer_trace_hex4(char *dst, const uint8_t *src);
#endif


/* "00" to "ff": byte b's two hex digits at 2 * b */
static const char  infer_trace_pairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";


/* the seeding xoshiro's authors recommend: splitmix64 of the seed */

static uint64_t
infer_trace_splitmix(uint64_t *x)
{
    uint64_t  z;

    z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;

    return z ^ (z >> 31);
}


void
infer_trace_seed(infer_trace_rng_t *rng, uint64_t seed)
{
    size_t  i;

    for (i = 0; i < 4; i++) {
        rng->s[i] = infer_trace_splitmix(&seed);
    }
}


/* xoshiro256** 1.0 (Blackman and Vigna) */

uint64_t
infer_trace_rand(infer_trace_rng_t *rng)
{
    uint64_t  *s = rng->s;

    uint64_t   r, t;

    r = s[1] * 5;
    r = ((r << 7) | (r >> 57)) * 9;
    t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);

    return r;
}


/* lowercase hex only: the specification's HEXDIGLC */

static int
infer_trace_unhex(uint8_t *dst, const char *src, size_t n)
{
    size_t         i;
    unsigned int   c, v;

    for (i = 0; i < 2 * n; i++) {
        c = (unsigned char) src[i];

        if (c >= '0' && c <= '9') {
            v = c - '0';

        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;

        } else {
            return INFER_EINVAL;
        }

        if (i & 1) {
            dst[i / 2] |= (uint8_t) v;

        } else {
            dst[i / 2] = (uint8_t) (v << 4);
        }
    }

    return INFER_OK;
}


static int
infer_trace_zero(const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }

    return 1;
}


int
infer_trace_parse(infer_trace_t *t, const char *value, size_t len)
{
    uint8_t      version, flags;
    uint8_t      trace_id[INFER_TRACE_ID_LEN];
    uint8_t      parent_id[INFER_TRACE_SPAN_LEN];
    const char  *p, *end;

    p = value;
    end = value + len;

    /* OWS is not part of an HTTP field value */

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    if (end - p < INFER_TRACEPARENT_LEN
        || infer_trace_unhex(&version, p, 1) != INFER_OK
        || version == 0xff
        || p[2] != '-' || p[35] != '-' || p[52] != '-')
    {
        return INFER_EINVAL;
    }

    if (end - p > INFER_TRACEPARENT_LEN
        && (version == 0x00 || p[INFER_TRACEPARENT_LEN] != '-'))
    {
        return INFER_EINVAL;
    }

    if (infer_trace_unhex(trace_id, p + 3, INFER_TRACE_ID_LEN) != INFER_OK
        || infer_trace_unhex(parent_id, p + 36, INFER_TRACE_SPAN_LEN)
           != INFER_OK
        || infer_trace_unhex(&flags, p + 53, 1) != INFER_OK
        || infer_trace_zero(trace_id, INFER_TRACE_ID_LEN)
        || infer_trace_zero(parent_id, INFER_TRACE_SPAN_LEN))
    {
        return INFER_EINVAL;
    }

    memcpy(t->trace_id, trace_id, INFER_TRACE_ID_LEN);
    memcpy(t->parent_id, parent_id, INFER_TRACE_SPAN_LEN);
    t->flags = flags;

    return INFER_OK;
}


/* v's bytes, most significant first: the same ids on any host */

static void
infer_trace_put64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#else
    int  i;

    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t) (v >> (56 - 8 * i));
    }
#endif
}


/* all-zero ids are invalid: draw again (once in 2^64 draws) */

static void
infer_trace_fill(infer_trace_rng_t *rng, uint8_t *dst, size_t n)
{
    size_t    i;
    uint64_t  r, any;

    do {
        any = 0;

        for (i = 0; i < n; i += 8) {            /* ids are 8 or 16 bytes */
            r = infer_trace_rand(rng);
            infer_trace_put64(dst + i, r);
            any |= r;
        }

    } while (any == 0);
}


void
infer_trace_start(infer_trace_t *t, infer_trace_rng_t *rng,
    const char *value, size_t len, unsigned new_flags)
{
    if (value != NULL && infer_trace_parse(t, value, len) == INFER_OK) {
        t->remote = 1;

    } else {
        infer_trace_fill(rng, t->trace_id, INFER_TRACE_ID_LEN);
        memset(t->parent_id, 0, INFER_TRACE_SPAN_LEN);
        t->flags = (uint8_t) new_flags;
        t->remote = 0;
    }

    t->flags &= INFER_TRACE_SAMPLED;

    infer_trace_fill(rng, t->span_id, INFER_TRACE_SPAN_LEN);
}


/*
 * Eight bytes as sixteen digits.  Every request formats 25 bytes for its
 * traceparent.  With SSE2 (every x86-64) the nibbles are interleaved in
 * a vector and 'a' - '0' - 10 is added to those above 9: a dozen
 * instructions where the word-at-a-time path below takes some 80.
 */

static void
infer_trace_hex8(char *dst, const uint8_t *src)
{
#if (INFER_TRACE_SSE2)
    __m128i  v, lo, hi, d, above9, mask;

    mask = _mm_set1_epi8(0x0f);
    v = _mm_loadl_epi64((const __m128i *) src);
    lo = _mm_and_si128(v, mask);
    hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
    d = _mm_unpacklo_epi8(hi, lo);              /* the first digit first */

    above9 = _mm_and_si128(_mm_cmpgt_epi8(d, _mm_set1_epi8(9)),
                           _mm_set1_epi8('a' - '0' - 10));
    d = _mm_add_epi8(d, _mm_add_epi8(above9, _mm_set1_epi8('0')));

    _mm_storeu_si128((__m128i *) dst, d);
#else
    infer_trace_hex4(dst, src);
    infer_trace_hex4(dst + 8, src + 4);
#endif
}


#if !(INFER_TRACE_SSE2)

/*
 * Four bytes as eight digits in a few word operations: each nibble is
 * spread into a byte of x, and 'a' - '0' - 10 is added to those above 9.
 */

static void
infer_trace_hex4(char *dst, const uint8_t *src)
{
    uint64_t  x, above9;

    x = (uint64_t) src[0] << 24 | (uint64_t) src[1] << 16
        | (uint64_t) src[2] << 8 | src[3];

    x = ((x & 0x00000000ffff0000ULL) << 16) | (x & 0x000000000000ffffULL);
    x = ((x & 0x0000ff000000ff00ULL) << 8) | (x & 0x000000ff000000ffULL);
    x = ((x & 0x00f000f000f000f0ULL) << 4) | (x & 0x000f000f000f000fULL);

    above9 = ((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
    x += 0x3030303030303030ULL + above9 * ('a' - '0' - 10);

    infer_trace_put64((uint8_t *) dst, x);      /* the first digit first */
}

#endif


void
infer_trace_hex(char *dst, const uint8_t *src, size_t n)
{
    size_t  i;

    for (i = 0; i + 8 <= n; i += 8) {
        infer_trace_hex8(dst + 2 * i, src + i);
    }

    for ( /* void */ ; i < n; i++) {
        memcpy(dst + 2 * i, infer_trace_pairs + 2 * src[i], 2);
    }
}


size_t
infer_trace_format(char *buf, const infer_trace_t *t)
{
    buf[0] = '0';
    buf[1] = '0';
    buf[2] = '-';
    infer_trace_hex(buf + INFER_TRACEPARENT_TRACE, t->trace_id,
                    INFER_TRACE_ID_LEN);
    buf[INFER_TRACEPARENT_SPAN - 1] = '-';
    infer_trace_hex(buf + INFER_TRACEPARENT_SPAN, t->span_id,
                    INFER_TRACE_SPAN_LEN);
    buf[INFER_TRACEPARENT_FLAGS - 1] = '-';
    infer_trace_hex(buf + INFER_TRACEPARENT_FLAGS, &t->flags, 1);
    buf[INFER_TRACEPARENT_LEN] = '\0';

    return INFER_TRACEPARENT_LEN;
}
