/*
 * TraceIdRatioBased sampling as OpenTelemetry specifies it now (the SDK
 * specification's TraceIdRatioBased, and "TraceState: Probability
 * Sampling"): the randomness is the trace id's last 7 bytes, big-endian;
 * a trace is kept when it is at least the rejection threshold, the ratio
 * rounded as that specification's probability_to_threshold_with_precision()
 * rounds it, with the precision its SDKs use by default, 4 hex digits
 * (more for small ratios).  Every process with the same ratio, ours or an
 * SDK's, keeps the same traces, and a smaller ratio keeps fewer of them.
 */

#include <math.h>

#include "infer_otel.h"


#define INFER_OTEL_MAX_THRESHOLD  (1ULL << 56)   /* nothing is sampled */
#define INFER_OTEL_PRECISION      4              /* hex digits */


uint64_t
infer_otel_ratio_threshold(double ratio)
{
    int       exp, precision, bits;
    double    r;
    uint64_t  digits;

    if (!(ratio > 0)) {                         /* 0, negative, NaN */
        return INFER_OTEL_MAX_THRESHOLD;
    }

    if (ratio >= 1) {
        return 0;
    }

    /*
     * A digit more for each factor of 16 below 1/2 (Python's exp // -4
     * for frexp()'s exponent, which is 0 or less here), at most the 12 of
     * the 13 hex digits of a double's fraction that still round.
     */

    (void) frexp(ratio, &exp);
    precision = INFER_OTEL_PRECISION + (-exp) / 4;

    if (precision > 12) {
        precision = 12;
    }

    /* 2 - ratio is 1 + the rejection probability, in [1, 2): its 52 bits
       of fraction are the threshold's first 13 hex digits */

    bits = 4 * precision;
    r = 2 - ratio + ldexp(0.5, -bits);          /* rounds half up */

    if (r >= 2) {
        digits = (1ULL << 52) - 1;

    } else {
        digits = (uint64_t) ldexp(r - 1, 52);  /* exact */
    }

    digits &= ~((1ULL << (52 - bits)) - 1);

    return digits << 4;
}


int
infer_otel_ratio_sampled(const uint8_t *trace_id, uint64_t threshold)
{
    int       i;
    uint64_t  r;

    r = 0;

    for (i = 9; i < 16; i++) {
        r = (r << 8) | trace_id[i];
    }

    return r >= threshold;
}
