/*
 * libFuzzer harness for the traceparent parser.  What it accepts must meet
 * the specification's shape, restated here in another way, and must come
 * back unchanged through infer_trace_format().  The Accept header parser
 * of the metrics endpoint reads the same bytes: it also takes them from
 * outside.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_prom.h"
#include "infer_trace.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lower_hex(const char *p, size_t n, int *zero);


static int
lower_hex(const char *p, size_t n, int *zero)
{
    size_t  i;

    *zero = 1;

    for (i = 0; i < n; i++) {
        if (strchr("0123456789abcdef", p[i]) == NULL || p[i] == '\0') {
            return 0;
        }

        if (p[i] != '0') {
            *zero = 0;
        }
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 zero;
    char                buf[INFER_TRACEPARENT_LEN + 1];
    size_t              len;
    const char         *p;
    infer_trace_t       t, u;
    infer_trace_rng_t   rng;

    p = (const char *) data;
    len = size;

    infer_trace_seed(&rng, size);

    (void) infer_prom_accept(p, len);

    if (infer_trace_parse(&t, p, len) != INFER_OK) {
        infer_trace_start(&u, &rng, p, len, 1);

        if (u.remote || u.flags != 1) {
            abort();
        }

        return 0;
    }

    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }

    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }

    if (len < 55
        || !lower_hex(p, 2, &zero) || memcmp(p, "ff", 2) == 0
        || (memcmp(p, "00", 2) == 0 && len != 55)
        || (len > 55 && p[55] != '-')
        || p[2] != '-' || p[35] != '-' || p[52] != '-'
        || !lower_hex(p + 3, 32, &zero) || zero
        || !lower_hex(p + 36, 16, &zero) || zero
        || !lower_hex(p + 53, 2, &zero))
    {
        abort();
    }

    infer_trace_start(&u, &rng, p, len, 0);
    infer_trace_format(buf, &u);

    if (!u.remote
        || memcmp(u.trace_id, t.trace_id, INFER_TRACE_ID_LEN) != 0
        || memcmp(buf + 3, p + 3, 32) != 0
        || infer_trace_parse(&t, buf, INFER_TRACEPARENT_LEN) != INFER_OK)
    {
        abort();
    }

    return 0;
}
