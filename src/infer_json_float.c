/*
 * A float32 as JSON text: "%.6g" when strtof() reads that back as the
 * same float, else "%.9g" (9 significant digits give back any float32).
 *
 * Responses carry one number per output, so this is on every request's
 * path, and a batch's: snprintf() and strtof() cost about 1,700
 * instructions a number, more than evaluating a row of a tree ensemble.
 * The fast path gives the very same text without them.  The float's value
 * d times an exact power of ten (10^0 to 10^22) is one correctly rounded
 * double operation, within half an ulp of the exact product; rounding
 * that to an integer of P digits is then exact unless the product lies
 * within an ulp of a half-integer, and whether the P-digit decimal reads
 * back as the float is exact unless its distance to d lies within an ulp
 * of the float's rounding half-interval.  Those cases, which include the
 * true ties, and magnitudes whose power of ten is not exact, go to
 * snprintf() and strtof() as before.  src/test checks the two paths give
 * the same text on a million random floats and on the edge cases.
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_core.h"
#include "infer_json.h"


static size_t infer_json_float_slow(char *buf, size_t len, float v);
static int infer_json_float_digits(double d, int fe, int prec, int *k,
    uint64_t *m, double *off);
static double infer_json_pow2(int e);
static size_t infer_json_float_text(char *buf, int neg, uint64_t m,
    int prec, int k);


const double  infer_json_pow10[INFER_JSON_EXACT_POW10 + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


size_t
infer_json_format_float(char *buf, size_t len, float v)
{
    int       neg, fe, k;
    size_t    n;
    double    d, off, half;
    uint32_t  bits;
    uint64_t  m;

    if (len < INFER_JSON_FLOAT_LEN) {
        return infer_json_float_slow(buf, len, v);
    }

    /*
     * an integer under a million: what %.6g prints (the range first: a
     * float outside int32_t's is undefined behaviour to convert)
     */

    if (v > -1e6f && v < 1e6f && v == (float) (int32_t) v
        && !(v == 0 && signbit(v)))
    {
        n = infer_format_int64(buf, (int32_t) v);
        buf[n] = '\0';
        return n;
    }

    neg = signbit(v) != 0;
    d = fabs((double) v);

    if (!isfinite(d) || d < 1e-14 || d >= 1e27) {
        return infer_json_float_slow(buf, len, v);
    }

    /*
     * d = f * 2^fe with f in [0.5, 1), as frexp() gives it, read off the
     * float's bits (v is normal here: subnormals are below 1e-14); no
     * libm call is left on this path.
     */

    memcpy(&bits, &v, sizeof(bits));
    fe = (int) ((bits >> 23) & 0xff) - 126;

    if (infer_json_float_digits(d, fe, 6, &k, &m, &off) != 0) {
        return infer_json_float_slow(buf, len, v);
    }

    /*
     * m * 10^(k-5) reads back as v when it lies strictly inside v's
     * rounding interval: half an ulp either side, in the scaled units of
     * off = (d * 10^(5-k)) - m; below a power of two the ulp is halved.
     */

    half = infer_json_pow2(fe - 25);
    half = (5 - k >= 0) ? half * infer_json_pow10[5 - k]
                        : half / infer_json_pow10[k - 5];

    if (off > 0 && (bits & 0x7fffff) == 0) {        /* f is 0.5 */
        half /= 2;
    }

    if (fabs(fabs(off) - half) <= 0x1p-30) {
        return infer_json_float_slow(buf, len, v);    /* too close to call */
    }

    if (fabs(off) < half) {
        return infer_json_float_text(buf, neg, m, 6, k);
    }

    if (infer_json_float_digits(d, fe, 9, &k, &m, &off) != 0) {
        return infer_json_float_slow(buf, len, v);
    }

    return infer_json_float_text(buf, neg, m, 9, k);
}


/* the reference: what the fast path must agree with */

size_t
infer_json_format_float_printf(char *buf, size_t len, float v)
{
    if (v == (float) (int32_t) v && v > -1e6f && v < 1e6f
        && !(v == 0 && signbit(v)))
    {
        return (size_t) snprintf(buf, len, "%d", (int) v);
    }

    return infer_json_float_slow(buf, len, v);
}


static size_t
infer_json_float_slow(char *buf, size_t len, float v)
{
    int  n;

    n = snprintf(buf, len, "%.6g", v);

    if (strtof(buf, NULL) != v) {
        n = snprintf(buf, len, "%.9g", v);
    }

    return (size_t) n;
}


/*
 * d > 0 to prec significant digits: d ~ m * 10^(k - prec + 1), with
 * 10^(prec-1) <= m < 10^prec and off the scaled remainder in [-0.5, 0.5].
 * -1 when the scale is not an exact power of ten or the rounding is too
 * close to call.
 */

static int
infer_json_float_digits(double d, int fe, int prec, int *k, uint64_t *m,
    double *off)
{
    int       e, tries;
    double    s, r;
    uint64_t  lo, hi;

    lo = (uint64_t) infer_json_pow10[prec - 1];
    hi = (uint64_t) infer_json_pow10[prec];

    /*
     * floor((fe - 1) * log10(2)) in integers (78913 / 2^18 is log10(2)
     * to 1e-6; the offset keeps the division's operand positive for any
     * float's fe); the loop below corrects a k one off either way.
     */

    *k = ((fe - 1) * 78913 + (64 << 18)) / (1 << 18) - 64;

    for (tries = 0; tries < 3; tries++) {
        e = prec - 1 - *k;

        if (e > 22 || e < -22) {
            return -1;
        }

        s = (e >= 0) ? d * infer_json_pow10[e] : d / infer_json_pow10[-e];

        /*
         * s < 10^10, so s + 0.5 is exact and this is nearbyint(s) but at
         * a half, which the next test sends away either way.
         */

        r = (double) (uint64_t) (s + 0.5);

        /* s is within ulp(s)/2 of the exact product: a half is unsure */

        if (fabs(fabs(s - r) - 0.5) <= 0x1p-21) {
            return -1;
        }

        if ((uint64_t) r >= hi) {        /* 999999.7 is 1e6: k was low */
            *k += 1;
            continue;
        }

        if ((uint64_t) r < lo) {
            *k -= 1;
            continue;
        }

        *m = (uint64_t) r;
        *off = s - r;
        return 0;
    }

    return -1;
}


/* 2^e for a normal double's exponent, without ldexp() */

static double
infer_json_pow2(int e)
{
    double    d;
    uint64_t  bits;

    bits = (uint64_t) (e + 1023) << 52;
    memcpy(&d, &bits, sizeof(d));

    return d;
}


/* %.{prec}g of m * 10^(k - prec + 1), trailing zeros dropped */

static size_t
infer_json_float_text(char *buf, int neg, uint64_t m, int prec, int k)
{
    int    nd, i, x;
    char  *p, digits[20];

    for (nd = prec; m % 10 == 0; nd--) {            /* m >= 10^(prec-1) */
        m /= 10;
    }

    for (i = nd - 1; i >= 0; i--) {
        digits[i] = (char) ('0' + m % 10);
        m /= 10;
    }

    p = buf;

    if (neg) {
        *p++ = '-';
    }

    if (k < -4 || k >= prec) {                      /* 1.5e+07, 2e-05 */
        *p++ = digits[0];

        if (nd > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, nd - 1);
            p += nd - 1;
        }

        *p++ = 'e';
        *p++ = (k < 0) ? '-' : '+';
        x = abs(k);

        if (x >= 100) {
            *p++ = (char) ('0' + x / 100);
        }

        *p++ = (char) ('0' + x / 10 % 10);
        *p++ = (char) ('0' + x % 10);

    } else if (k >= 0) {                            /* 1234.5, 1500000 */
        for (i = 0; i <= k; i++) {
            *p++ = (i < nd) ? digits[i] : '0';
        }

        if (nd > k + 1) {
            *p++ = '.';
            memcpy(p, digits + k + 1, nd - k - 1);
            p += nd - k - 1;
        }

    } else {                                        /* 0.00015 */
        *p++ = '0';
        *p++ = '.';

        for (i = 0; i < -k - 1; i++) {
            *p++ = '0';
        }

        memcpy(p, digits, nd);
        p += nd;
    }

    *p = '\0';

    return (size_t) (p - buf);
}
