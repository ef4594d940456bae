/*
 * A string that is not plain ASCII, measured for the encoders: what is
 * ill-formed UTF-8 becomes U+FFFD, the string is cut before the character
 * that would pass the limit, and JSON's escapes are counted.  The plain
 * string, the common one, never comes here (infer_otel_str()).
 */

#include "infer_otel_enc.h"


void
infer_otel_str_slow(infer_otel_str_t *s, const void *data, size_t len,
    size_t max, int json)
{
    int             bad;
    size_t          i, out, esc, k, w;
    uint8_t         c;
    uint64_t        x;
    const uint8_t  *p;

    p = data;
    s->p = p;
    s->clean = 1;

    i = 0;
    out = 0;
    esc = 0;

    for ( ;; ) {

        /*
         * 8 bytes of ASCII; for JSON, with no '"', '\\' or control
         * character either
         */

        while (i + 8 <= len && out + 8 <= max) {
            memcpy(&x, p + i, 8);

            if (infer_otel_unplain(x, json)) {
                break;
            }

            i += 8;
            out += 8;
        }

        if (i == len) {
            break;
        }

        c = p[i];

        if (c < 0x80) {
            if (out == max) {
                break;
            }

            esc += json ? infer_otel_json_esc[c] : 0;
            out++;
            i++;
            continue;
        }

        k = infer_otel_utf8_seq(p + i, len - i, &bad);
        w = bad ? 3 : k;

        if (w > max - out) {
            break;
        }

        if (bad) {
            s->clean = 0;
        }

        out += w;
        i += k;
    }

    s->in = i;
    s->out = out;
    s->esc = esc;
}
