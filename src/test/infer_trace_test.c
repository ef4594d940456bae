/*
 * W3C traceparent: every case the specification's test suite names, and
 * the exact ids a seeded generator gives (checked against xoshiro256**
 * and splitmix64 reference outputs).
 */

#include "infer_trace.h"
#include "infer_unit_test.h"


#define TP_TRACE   "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP_PARENT  "00f067aa0ba902b7"
#define TP_VALID   "00-" TP_TRACE "-" TP_PARENT "-01"


static int parse(const char *value);
static void test_rng(void);
static void test_valid(void);
static void test_invalid(void);
static void test_start(void);
static void test_hex(void);


static int
parse(const char *value)
{
    infer_trace_t  t;

    memset(&t, 0x5a, sizeof(infer_trace_t));

    return infer_trace_parse(&t, value, strlen(value));
}


static void
test_rng(void)
{
    infer_trace_rng_t  rng;

    /* splitmix64 from 1234567: Vigna's reference outputs */

    infer_trace_seed(&rng, 1234567);
    CHECK(rng.s[0] == 6457827717110365317ULL);
    CHECK(rng.s[1] == 3203168211198807973ULL);
    CHECK(rng.s[2] == 9817491932198370423ULL);
    CHECK(rng.s[3] == 4593380528125082431ULL);

    /* xoshiro256** from { 1, 2, 3, 4 } */

    rng.s[0] = 1;
    rng.s[1] = 2;
    rng.s[2] = 3;
    rng.s[3] = 4;
    CHECK(infer_trace_rand(&rng) == 11520);
    CHECK(infer_trace_rand(&rng) == 0);
    CHECK(infer_trace_rand(&rng) == 1509978240);
    CHECK(infer_trace_rand(&rng) == 1215971899390074240ULL);
    CHECK(infer_trace_rand(&rng) == 1216172134540287360ULL);
}


static void
test_valid(void)
{
    char           hex[33];
    infer_trace_t  t;

    memset(&t, 0, sizeof(infer_trace_t));
    CHECK(infer_trace_parse(&t, TP_VALID, 55) == INFER_OK);

    infer_trace_hex(hex, t.trace_id, INFER_TRACE_ID_LEN);
    hex[32] = '\0';
    CHECK_STR(hex, TP_TRACE);

    infer_trace_hex(hex, t.parent_id, INFER_TRACE_SPAN_LEN);
    hex[16] = '\0';
    CHECK_STR(hex, TP_PARENT);
    CHECK(t.flags == 0x01);

    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-00") == INFER_OK);
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-ff") == INFER_OK);

    /* HTTP's optional white space around a field value */

    CHECK(parse(" \t" TP_VALID "\t ") == INFER_OK);

    /* a later version: the 00 prefix, then the end or a dash */

    CHECK(parse("cc-" TP_TRACE "-" TP_PARENT "-01") == INFER_OK);
    CHECK(parse("cc-" TP_TRACE "-" TP_PARENT
                "-01-what-the-future-will-be-like") == INFER_OK);
    CHECK(parse("01-" TP_TRACE "-" TP_PARENT "-09-") == INFER_OK);
    CHECK(parse("fe-" TP_TRACE "-" TP_PARENT "-01") == INFER_OK);

    memset(&t, 0, sizeof(infer_trace_t));
    CHECK(infer_trace_parse(&t, "cc-" TP_TRACE "-" TP_PARENT "-09-x", 57)
          == INFER_OK);
    CHECK(t.flags == 0x09);
}


static void
test_invalid(void)
{
    infer_trace_t  t;

    CHECK(parse("") == INFER_EINVAL);
    CHECK(parse(" ") == INFER_EINVAL);
    CHECK(parse("00") == INFER_EINVAL);

    /* version */
    CHECK(parse("ff-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse(".0-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("0.-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("0A-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("000-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("0000-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("0-" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);

    /* version 00 is exactly 55 characters */
    CHECK(parse(TP_VALID "-what-the-future-will-be-like") == INFER_EINVAL);
    CHECK(parse(TP_VALID ".") == INFER_EINVAL);
    CHECK(parse(TP_VALID "-") == INFER_EINVAL);

    /* a later version: what follows the flags starts with a dash */
    CHECK(parse("cc-" TP_TRACE "-" TP_PARENT
                "-01.what-the-future-will-be-like") == INFER_EINVAL);
    CHECK(parse("cc-" TP_TRACE "-" TP_PARENT "-0") == INFER_EINVAL);
    CHECK(parse("cc-00000000000000000000000000000000-" TP_PARENT "-01")
          == INFER_EINVAL);

    /* trace id */
    CHECK(parse("00-00000000000000000000000000000000-" TP_PARENT "-01")
          == INFER_EINVAL);
    CHECK(parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-" TP_PARENT "-01")
          == INFER_EINVAL);
    CHECK(parse("00-4bf92f3577b34da6a3ce929d0e0e473.-" TP_PARENT "-01")
          == INFER_EINVAL);
    CHECK(parse("00-4bf92f3577b34da6a3ce929d0e0e473g-" TP_PARENT "-01")
          == INFER_EINVAL);
    CHECK(parse("00-4bf92f3577b34da6a3ce929d0e0e47366-" TP_PARENT "-01")
          == INFER_EINVAL);
    CHECK(parse("00-4bf92f3577b34da6a3ce929d0e0e473-" TP_PARENT "-01")
          == INFER_EINVAL);

    /* parent id */
    CHECK(parse("00-" TP_TRACE "-0000000000000000-01") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-00F067AA0BA902B7-01") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-00f067aa0ba902b.-01") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-00f067aa0ba902b77-01") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-00f067aa0ba902b-01") == INFER_EINVAL);

    /* flags */
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-.0") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-0.") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-0F") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-001") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "-0") == INFER_EINVAL);

    /* separators */
    CHECK(parse("00_" TP_TRACE "-" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "_" TP_PARENT "-01") == INFER_EINVAL);
    CHECK(parse("00-" TP_TRACE "-" TP_PARENT "_01") == INFER_EINVAL);

    /* a NUL inside is a byte like any other */
    CHECK(infer_trace_parse(&t, TP_VALID "\0", 56) == INFER_EINVAL);

    /* an invalid value leaves t alone */
    memset(&t, 0x5a, sizeof(infer_trace_t));
    CHECK(parse("00-" TP_TRACE "-0000000000000000-01") == INFER_EINVAL);
    CHECK(t.trace_id[0] == 0x5a && t.flags == 0x5a);
}


static void
test_start(void)
{
    char               buf[INFER_TRACEPARENT_LEN + 1];
    infer_trace_t      t;
    infer_trace_rng_t  rng;

    infer_trace_seed(&rng, 42);

    /* no header: a new trace with the flags asked for */

    infer_trace_start(&t, &rng, NULL, 0, INFER_TRACE_SAMPLED);
    CHECK(t.remote == 0 && t.flags == 0x01);
    CHECK(infer_trace_format(buf, &t) == 55);
    CHECK_STR(buf, "00-15780b2e0c2ec7166104d9866d113a7e-ae17533239e499a1-01");

    /* a valid header: its trace id and flags, a new span id */

    infer_trace_start(&t, &rng, TP_VALID, 55, 0);
    CHECK(t.remote == 1 && t.flags == 0x01);
    infer_trace_format(buf, &t);
    CHECK_STR(buf, "00-" TP_TRACE "-ecb8ad4703b360a1-01");
    infer_trace_hex(buf, t.parent_id, INFER_TRACE_SPAN_LEN);
    buf[16] = '\0';
    CHECK_STR(buf, TP_PARENT);

    /* an invalid one starts over */

    infer_trace_start(&t, &rng, "00-" TP_TRACE "-" TP_PARENT "-0", 54, 0);
    CHECK(t.remote == 0 && t.flags == 0x00);
    infer_trace_format(buf, &t);
    CHECK_STR(buf, "00-fde6dc7fe2ec5e64c50da53101795238-b82154855a65ddb2-00");
    CHECK(t.parent_id[0] == 0 && t.parent_id[7] == 0);

    /* version 00 knows only the sampled flag: the rest is not passed on */

    infer_trace_start(&t, &rng, "cc-" TP_TRACE "-" TP_PARENT "-ff-xyz", 59,
                      0);
    CHECK(t.remote == 1 && t.flags == 0x01);
    infer_trace_format(buf, &t);
    CHECK(strncmp(buf, "00-" TP_TRACE "-", 36) == 0);
    CHECK_STR(buf + 52, "-01");

    infer_trace_start(&t, &rng, "00-" TP_TRACE "-" TP_PARENT "-fe", 55, 1);
    CHECK(t.remote == 1 && t.flags == 0x00);
}


void
infer_test_trace(void)
{
    test_rng();
    test_valid();
    test_invalid();
    test_start();
    test_hex();
}


/*
 * every byte value in each place of 25 bytes (a traceparent's: two
 * 8-byte chunks, the vector path, then the table's tail), against
 * snprintf
 */

static void
test_hex(void)
{
    char      got[2 * 25 + 1], want[2 * 25 + 1];
    size_t    i, j, b, bad;
    uint8_t   src[25];

    bad = 0;

    for (b = 0; b < 256; b++) {
        for (i = 0; i < sizeof(src); i++) {
            memset(src, 0xa5 ^ (int) i, sizeof(src));
            src[i] = (uint8_t) b;

            infer_trace_hex(got, src, sizeof(src));

            for (j = 0; j < sizeof(src); j++) {
                snprintf(want + 2 * j, 3, "%02x", src[j]);
            }

            bad += (memcmp(got, want, 2 * sizeof(src)) != 0);
        }
    }

    CHECK(bad == 0);
}
