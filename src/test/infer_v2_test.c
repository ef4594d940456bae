/*
 * The KServe V2 codec: routes, parsed values for each datatype and
 * layout, the status class and exact message of each bad request,
 * chunk-boundary independence, and the exact bytes of every response;
 * the binary tensor data extension the same way, each datatype's bytes
 * read as its JSON values are.
 */

#include <math.h>
#include <stdlib.h>

#include "infer_v2.h"
#include "infer_unit_test.h"


#define V2_MAX_X     64
#define V2_MAX_CUTS  512


typedef struct {
    int                 rc;
    infer_v2_request_t  req;
    char                err[INFER_ERRLEN];
    float               x[V2_MAX_X];
    int                 has_id;
    size_t              id_len;
    char                id[INFER_V2_MAX_ID + 1];
} v2_parsed_t;


static void v2_parse(const char *body, const size_t *cuts, size_t ncuts,
    size_t nfeatures, size_t max_rows, int missing_ok, v2_parsed_t *out);
static void v2_parse_simple(const char *body, size_t nfeatures,
    v2_parsed_t *out);
static int v2_same(const v2_parsed_t *a, const v2_parsed_t *b,
    size_t nfeatures);
static char *v2_text(infer_buf_t *out);
static void test_routes(void);
static void test_find_model(void);
static void test_datatypes(void);
static void test_layouts(void);
static void test_bad_requests(void);
static void test_missing_values(void);
static void test_limits(void);
static void test_id_echo(void);
static void v2_utf8_refused(const char *body, const char *err);
static void test_id_utf8(void);
static void test_chunking(void);
static void test_writers(void);
static void test_round_trip(void);
static void test_tensors(void);
static void v2_parse_binary(const char *json, const char *bin,
    size_t bin_len, const char *header, size_t chunk, int missing_ok,
    v2_parsed_t *out);
static void test_binary_datatypes(void);
static void test_binary_header(void);
static void test_binary_errors(void);
static void test_binary_values(void);
static void test_binary_chunking(void);
static void test_binary_outputs(void);
static void test_binary_writer(void);


/* feeds body split at the ascending offsets in cuts */

static void
v2_parse(const char *body, const size_t *cuts, size_t ncuts,
    size_t nfeatures, size_t max_rows, int missing_ok, v2_parsed_t *out)
{
    size_t                 i, len, off, end, n;
    infer_v2_parser_t     *p;
    infer_request_opts_t   opts = { nfeatures, max_rows, 0, 0, NULL };

    memset(out, 0, sizeof(v2_parsed_t));
    opts.missing_ok = missing_ok;

    p = infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc);
    if (p == NULL) {
        out->rc = INFER_ERROR;
        return;
    }

    len = strlen(body);
    off = 0;

    for (i = 0; i <= ncuts; i++) {
        end = (i < ncuts && cuts[i] < len) ? cuts[i] : len;

        if (end < off) {
            continue;
        }

        if (infer_v2_parse(p, (const unsigned char *) body + off, end - off)
            != INFER_OK)
        {
            break;
        }

        off = end;
    }

    out->rc = infer_v2_finish(p, &out->req);
    snprintf(out->err, sizeof(out->err), "%s", infer_v2_error(p));

    if (out->rc == INFER_OK) {
        n = out->req.rows * nfeatures;
        memcpy(out->x, out->req.x, (n < V2_MAX_X ? n : V2_MAX_X)
                                   * sizeof(float));

        if (out->req.id != NULL) {
            out->has_id = 1;
            out->id_len = out->req.id_len;
            memcpy(out->id, out->req.id, out->req.id_len);
        }
    }

    infer_v2_parser_free(p);
}


static void
v2_parse_simple(const char *body, size_t nfeatures, v2_parsed_t *out)
{
    v2_parse(body, NULL, 0, nfeatures, 4, 0, out);
}


static int
v2_same(const v2_parsed_t *a, const v2_parsed_t *b, size_t nfeatures)
{
    size_t  n;

    n = a->req.rows * nfeatures;
    n = n < V2_MAX_X ? n : V2_MAX_X;

    return a->rc == b->rc
           && strcmp(a->err, b->err) == 0
           && a->req.rows == b->req.rows
           && memcmp(a->x, b->x, n * sizeof(float)) == 0
           && a->has_id == b->has_id
           && a->id_len == b->id_len
           && memcmp(a->id, b->id, a->id_len) == 0;
}


static char *
v2_text(infer_buf_t *out)
{
    static char  text[1024];

    snprintf(text, sizeof(text), "%.*s", (int) out->len, out->data);
    infer_buf_release(out);

    return text;
}


static void
test_routes(void)
{
    size_t            i;
    infer_v2_route_t  rt;

    static const struct {
        const char           *uri;
        infer_v2_endpoint_e   endpoint;
        const char           *model;
        const char           *version;
    } ok[] = {
        { "/v2", INFER_V2_SERVER_METADATA, NULL, NULL },
        { "/v2/", INFER_V2_SERVER_METADATA, NULL, NULL },
        { "/v2/health/live", INFER_V2_SERVER_LIVE, NULL, NULL },
        { "/v2/health/ready", INFER_V2_SERVER_READY, NULL, NULL },
        { "/v2/models/fraud", INFER_V2_MODEL_METADATA, "fraud", NULL },
        { "/v2/models/fraud/versions/3", INFER_V2_MODEL_METADATA, "fraud",
          "3" },
        { "/v2/models/fraud/ready", INFER_V2_MODEL_READY, "fraud", NULL },
        { "/v2/models/a.b_c-D9/versions/v1.2-rc_3/ready",
          INFER_V2_MODEL_READY, "a.b_c-D9", "v1.2-rc_3" },
        { "/v2/models/fraud/infer", INFER_V2_MODEL_INFER, "fraud", NULL },
        { "/v2/models/fraud/versions/3/infer", INFER_V2_MODEL_INFER,
          "fraud", "3" },
        /* names that are also path words stay names */
        { "/v2/models/infer", INFER_V2_MODEL_METADATA, "infer", NULL },
        { "/v2/models/versions/ready", INFER_V2_MODEL_READY, "versions",
          NULL },
        { "/v2/models/m/versions/ready", INFER_V2_MODEL_METADATA, "m",
          "ready" },
        { "/v2/models/m/versions/infer/infer", INFER_V2_MODEL_INFER, "m",
          "infer" },
    };

    static const struct {
        const char  *uri;
        const char  *err;
    } bad[] = {
        { "", "no V2 endpoint at \"\"" },
        { "/", "no V2 endpoint at \"/\"" },
        { "/v1/models/m", "no V2 endpoint at \"/v1/models/m\"" },
        { "/v2x", "no V2 endpoint at \"/v2x\"" },
        { "/v2//", "no V2 endpoint at \"/v2//\"" },
        { "/v2/health", "no V2 endpoint at \"/v2/health\"" },
        { "/v2/health/dead", "no V2 endpoint at \"/v2/health/dead\"" },
        { "/v2/health/live/", "no V2 endpoint at \"/v2/health/live/\"" },
        { "/v2/models", "no V2 endpoint at \"/v2/models\"" },
        { "/v2/models/", "no V2 endpoint at \"/v2/models/\"" },
        { "/v2/models/m/", "no V2 endpoint at \"/v2/models/m/\"" },
        { "/v2/models//infer", "no V2 endpoint at \"/v2/models//infer\"" },
        { "/v2/models/m/predict",
          "no V2 endpoint at \"/v2/models/m/predict\"" },
        { "/v2/models/m/versions", "no V2 endpoint at \"/v2/models/m/"
          "versions\"" },
        { "/v2/models/m/versions/", "no V2 endpoint at \"/v2/models/m/"
          "versions/\"" },
        { "/v2/models/m/versions/1/infer/x", "no V2 endpoint at \"/v2/"
          "models/m/versions/1/infer/x\"" },
        { "/v2/models/m/x/1/infer", "no V2 endpoint at \"/v2/models/m/x/1/"
          "infer\"" },
        { "/V2/models/m", "no V2 endpoint at \"/V2/models/m\"" },
        { "/v2/Models/m", "no V2 endpoint at \"/v2/Models/m\"" },
        { "/v2/models/m/INFER", "no V2 endpoint at \"/v2/models/m/INFER\"" },
        { "/v2/models/a b/infer", "unknown model \"a b\": a model name has "
          "only A-Z a-z 0-9 . _ -" },
        { "/v2/models/a%2Fb", "unknown model \"a%2Fb\": a model name has "
          "only A-Z a-z 0-9 . _ -" },
        { "/v2/models/caf\xc3\xa9/ready", "unknown model \"caf??\": a model "
          "name has only A-Z a-z 0-9 . _ -" },
        { "/v2/models/m/versions/1\"2/infer", "unknown version \"1\"2\": a "
          "version has only A-Z a-z 0-9 . _ -" },
        { "/v2/x/0123456789012345678901234567890123456789012345678901234567"
          "8901234567890123456789", "no V2 endpoint at \"/v2/x/012345678901"
          "2345678901234567890123456789012345678901234567...\"" },
    };

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        CHECK(infer_v2_route(ok[i].uri, strlen(ok[i].uri), &rt) == INFER_OK);
        CHECK(rt.endpoint == ok[i].endpoint);

        if (ok[i].model == NULL) {
            CHECK(rt.model == NULL && rt.model_len == 0);

        } else {
            CHECK(rt.model_len == strlen(ok[i].model)
                  && memcmp(rt.model, ok[i].model, rt.model_len) == 0);
        }

        if (ok[i].version == NULL) {
            CHECK(rt.version == NULL && rt.version_len == 0);

        } else {
            CHECK(rt.version != NULL
                  && rt.version_len == strlen(ok[i].version)
                  && memcmp(rt.version, ok[i].version, rt.version_len) == 0);
        }
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(infer_v2_route(bad[i].uri, strlen(bad[i].uri), &rt)
              == INFER_ENOTFOUND);
        CHECK_STR(rt.err, bad[i].err);
    }

    /* the length bounds the uri, not a NUL */

    CHECK(infer_v2_route("/v2/models/m/inferXYZ", 18, &rt) == INFER_OK);
    CHECK(rt.endpoint == INFER_V2_MODEL_INFER && rt.model_len == 1);

    CHECK(infer_v2_route("/v2/models/a\0b", 14, &rt) == INFER_ENOTFOUND);
    CHECK_STR(rt.err, "unknown model \"a?b\": a model name has only A-Z a-z "
              "0-9 . _ -");
    CHECK_STR(infer_v2_route_template(&rt), "/v2/models/{model}");
    CHECK(infer_v2_route("/v2/nothing", 11, &rt) == INFER_ENOTFOUND);
    CHECK_STR(infer_v2_route_template(&rt), "/v2/{unknown}");

    /* spans name the endpoint, not the model: a route's template */

    CHECK(infer_v2_route("/v2/models/m/versions/3/infer", 29, &rt)
          == INFER_OK);
    CHECK_STR(infer_v2_route_template(&rt),
              "/v2/models/{model}/versions/{version}/infer");
    CHECK(infer_v2_route("/v2/models/m/ready", 18, &rt) == INFER_OK);
    CHECK_STR(infer_v2_route_template(&rt), "/v2/models/{model}/ready");
    CHECK(infer_v2_route("/v2/", 4, &rt) == INFER_OK);
    CHECK_STR(infer_v2_route_template(&rt), "/v2");
}


static void
test_find_model(void)
{
    char              err[INFER_ERRLEN];
    size_t            found;
    infer_v2_route_t  rt;

    static const infer_v2_model_t  models[] = {
        { "fraud", 5, "3", 1, "linear", 4, 1, NULL, NULL, 0 },
        { "rank", 4, "", 0, "xgboost", 30, 3, NULL, NULL, 0 },
    };

#define ROUTE(uri)  infer_v2_route(uri, strlen(uri), &rt)

    CHECK(ROUTE("/v2/models/fraud/infer") == INFER_OK);
    found = 9;
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_OK);
    CHECK(found == 0);

    CHECK(ROUTE("/v2/models/fraud/versions/3/ready") == INFER_OK);
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_OK);
    CHECK(found == 0);

    CHECK(ROUTE("/v2/models/rank") == INFER_OK);
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_OK);
    CHECK(found == 1);

    CHECK(ROUTE("/v2/models/fraud/versions/4/infer") == INFER_OK);
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_ENOTFOUND);
    CHECK_STR(err, "model \"fraud\" has no version \"4\"");

    CHECK(ROUTE("/v2/models/rank/versions/1") == INFER_OK);
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_ENOTFOUND);
    CHECK_STR(err, "model \"rank\" has no version \"1\"");

    CHECK(ROUTE("/v2/models/frau/infer") == INFER_OK);
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_ENOTFOUND);
    CHECK_STR(err, "unknown model \"frau\"");

    CHECK(ROUTE("/v2/models/fraudx/infer") == INFER_OK);
    CHECK(infer_v2_find_model(&rt, models, 2, &found, err, sizeof(err))
          == INFER_ENOTFOUND);
    CHECK_STR(err, "unknown model \"fraudx\"");

#undef ROUTE
}


static void
test_datatypes(void)
{
    size_t       i;
    v2_parsed_t  r;

    static const struct {
        const char  *body;
        float        x[3];
    } cases[] = {
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"FP32\",\"data\":[0.1,-2.5e3,16777217]}]}",
          { 0.1f, -2500.0f, 16777216.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"FP64\",\"data\":[1e-50,3.141592653589793,-0]}]}",
          { 0.0f, 3.14159274f, -0.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"FP16\",\"data\":[65504,-65504,0.5]}]}",
          { 65504.0f, -65504.0f, 0.5f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"INT8\",\"data\":[-128,127,0]}]}",
          { -128.0f, 127.0f, 0.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"INT16\",\"data\":[-32768,32767,1e2]}]}",
          { -32768.0f, 32767.0f, 100.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"INT32\",\"data\":[-2147483648,2147483647,2.0]}]}",
          { -2147483648.0f, 2147483648.0f, 2.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"INT64\",\"data\":[-9223372036854775808,9223372036854775807,"
          "16777217]}]}",
          { -9223372036854775808.0f, 9223372036854775808.0f,
            16777216.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"UINT8\",\"data\":[0,255,-0]}]}",
          { 0.0f, 255.0f, -0.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"UINT16\",\"data\":[0,65535,7]}]}",
          { 0.0f, 65535.0f, 7.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"UINT32\",\"data\":[0,4294967295,7]}]}",
          { 0.0f, 4294967296.0f, 7.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"UINT64\",\"data\":[0,18446744073709551615,9007199254740993]}]}",
          { 0.0f, 18446744073709551616.0f, 9007199254740992.0f } },
        { "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
          "\"BOOL\",\"data\":[true,false,true]}]}",
          { 1.0f, 0.0f, 1.0f } },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v2_parse_simple(cases[i].body, 3, &r);

        CHECK(r.rc == INFER_OK);
        CHECK(r.req.rows == 1);
        CHECK(memcmp(r.x, cases[i].x, 3 * sizeof(float)) == 0);

        if (r.rc != INFER_OK) {
            printf("# case %zu: %s\n", i, r.err);
        }
    }

    /*
     * 2^63 + 2^39 + 1 is a double's 2^63 + 2^39, a tie that a float
     * rounds to even, 2^63; the integer itself rounds up to 2^63 + 2^40,
     * as numpy's uint64 to float32 does.
     */

    v2_parse_simple("{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":"
                    "\"UINT64\",\"data\":[9223372586610589697,"
                    "9223372586610589696,1]}]}", 3, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.x[0] == 9223373136366403584.0f);
    CHECK(r.x[1] == 9223372036854775808.0f);
    CHECK(r.x[0] != r.x[1]);
}


static void
test_layouts(void)
{
    size_t       i;
    v2_parsed_t  r;
    const float  want[] = { 1, 2, 3, 4, 5, 6 };

    /* the same two rows, flat and nested, in every order of the members */

    static const char  *bodies[] = {
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
        "\"data\":[1,2,3,4,5,6]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
        "\"data\":[[1,2,3],[4,5,6]]}]}",
        "{\"inputs\":[{\"data\":[1,2,3,4,5,6],\"datatype\":\"INT32\","
        "\"shape\":[2,3],\"name\":\"x\"}]}",
        "{\"inputs\":[{\"data\":[[1,2,3],[4,5,6]],\"shape\":[2,3],"
        "\"name\":\"input-0\",\"datatype\":\"UINT8\"}]}",
        "{\"outputs\":[{\"name\":\"output-0\",\"parameters\":{\"a\":1}}],"
        "\"parameters\":{\"x\":[1,{\"y\":null}]},\"inputs\":[{\"parameters\":"
        "{\"content_type\":\"np\"},\"datatype\":\"FP64\",\"data\":"
        "[[1.0,2.0,3.0],[4.0,5.0,6.0]],\"name\":\"any name\",\"shape\":[2,3],"
        "\"other\":[[[]]]}],\"extra\":true}",
        " { \"inputs\" : [ { \"name\" : \"x\" , \"shape\" : [ 2 , 3 ] , "
        "\"datatype\" : \"INT64\" , \"data\" : [ [ 1 , 2 , 3 ] , [ 4 , 5 , "
        "6 ] ] } ] , \"outputs\" : [ ] } ",
    };

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        v2_parse_simple(bodies[i], 3, &r);

        CHECK(r.rc == INFER_OK);
        CHECK(r.req.rows == 2);
        CHECK(memcmp(r.x, want, sizeof(want)) == 0);

        if (r.rc != INFER_OK) {
            printf("# body %zu: %s\n", i, r.err);
        }
    }

    /* one row: [nfeatures], flat; [1,nfeatures], flat or nested */

    v2_parse_simple("{\"inputs\":[{\"name\":\"x\",\"shape\":[3],"
                    "\"datatype\":\"FP32\",\"data\":[7,8,9]}]}", 3, &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 1);
    CHECK(r.x[0] == 7.0f && r.x[1] == 8.0f && r.x[2] == 9.0f);

    v2_parse_simple("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],"
                    "\"datatype\":\"FP32\",\"data\":[[7,8,9]]}]}", 3, &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 1);
    CHECK(r.x[0] == 7.0f && r.x[1] == 8.0f && r.x[2] == 9.0f);

    /* a one-feature model */

    v2_parse_simple("{\"inputs\":[{\"name\":\"x\",\"shape\":[4,1],"
                    "\"datatype\":\"FP32\",\"data\":[[1],[2],[3],[4]]}]}", 1,
                    &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 4);
    CHECK(r.x[0] == 1.0f && r.x[3] == 4.0f);

    /* no id: none to echo */

    CHECK(!r.has_id);
}


static void
test_bad_requests(void)
{
    size_t       i;
    v2_parsed_t  r;

#define T(members)  "{\"inputs\":[{" members "}]}"
#define D(type, data)                                                        \
    T("\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"" type "\","           \
      "\"data\":" data)

    static const struct {
        const char  *body;
        int          rc;
        const char  *err;
    } cases[] = {
        /* not JSON */
        { "", INFER_EJSON, "empty request body" },
        { "{\"inputs\":[", INFER_EJSON,
          "malformed JSON at the end: parse error: premature EOF" },
        { D("FP32", "[1,NaN,3]"), INFER_EJSON,
          "malformed JSON near byte 66: lexical error: invalid char in json "
          "text." },
        { "{\"id\":\"\xff\"}", INFER_EJSON,
          "malformed JSON at byte 7: invalid UTF-8 in a string" },
        { "{} {}", INFER_EJSON,
          "malformed JSON near byte 4: parse error: trailing garbage" },

        /* not a request */
        { "[]", INFER_EINVAL, "the request must be a JSON object, not an "
          "array" },
        { "\"x\"", INFER_EINVAL, "the request must be a JSON object, not a "
          "string" },
        { "{}", INFER_EINVAL, "missing \"inputs\"" },
        { "{\"parameters\":{},\"outputs\":[]}", INFER_EINVAL,
          "missing \"inputs\"" },
        { "{\"inputs\":{}}", INFER_EINVAL, "\"inputs\" must be an array of "
          "tensors, not an object" },
        { "{\"inputs\":null}", INFER_EINVAL, "\"inputs\" must be an array "
          "of tensors, not null" },
        { "{\"inputs\":[[1,2,3]]}", INFER_EINVAL, "inputs[0] must be an "
          "object, not an array" },
        { "{\"inputs\":[],\"inputs\":[]}", INFER_EINVAL,
          "duplicate \"inputs\"" },
        { "{\"id\":42,\"inputs\":[]}", INFER_EINVAL,
          "\"id\" must be a string, not a number" },
        { "{\"id\":\"a\",\"id\":\"b\"}", INFER_EINVAL, "duplicate \"id\"" },
        { "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]"
          "]]]]]]]]]}", INFER_EINVAL, "nesting deeper than 32 levels" },

        /* tensor members */
        { T("\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]"),
          INFER_EINVAL, "inputs[0]: missing \"name\"" },
        { T("\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1,2,3]"),
          INFER_EINVAL, "inputs[0]: missing \"shape\"" },
        { T("\"name\":\"x\",\"shape\":[1,3],\"data\":[1,2,3]"),
          INFER_EINVAL, "inputs[0]: missing \"datatype\"" },
        { T("\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\""),
          INFER_EINVAL, "inputs[0]: missing \"data\"" },
        { T("\"name\":\"x\",\"name\":\"y\""), INFER_EINVAL,
          "inputs[0]: duplicate \"name\"" },
        { T("\"data\":[1,2,3],\"data\":[1,2,3]"), INFER_EINVAL,
          "inputs[0]: duplicate \"data\"" },
        { T("\"name\":1"), INFER_EINVAL, "inputs[0].name must be a string, "
          "not a number" },
        { T("\"datatype\":[\"FP32\"]"), INFER_EINVAL, "inputs[0].datatype "
          "must be a string, not an array" },
        { T("\"datatype\":\"fp32\""), INFER_EINVAL, "inputs[0]: unknown "
          "datatype \"fp32\"" },
        { T("\"datatype\":\"FP32 \""), INFER_EINVAL, "inputs[0]: unknown "
          "datatype \"FP32 \"" },
        { T("\"datatype\":\"BYTES\""), INFER_ESHAPE, "inputs[0]: datatype "
          "BYTES is not supported, the model takes numbers" },
        { T("\"shape\":3"), INFER_EINVAL, "inputs[0].shape must be an "
          "array, not a number" },
        { T("\"shape\":[1,-1]"), INFER_EINVAL, "inputs[0].shape[1] must be "
          "a non-negative integer, not -1" },
        { T("\"shape\":[1.0,3]"), INFER_EINVAL, "inputs[0].shape[0] must be "
          "a non-negative integer, not 1.0" },
        { T("\"shape\":[1,\"3\"]"), INFER_EINVAL, "inputs[0].shape[1] must "
          "be a non-negative integer, not a string" },
        { T("\"shape\":[1,[3]]"), INFER_EINVAL, "inputs[0].shape[1] must "
          "be a non-negative integer, not an array" },
        { T("\"shape\":[18446744073709551616,3]"), INFER_EINVAL,
          "inputs[0].shape[0] must be a non-negative integer, not "
          "18446744073709551616" },
        { T("\"shape\":[1,1,1,1,1,1,1,1,1]"), INFER_EINVAL,
          "inputs[0].shape has more than 8 dimensions" },
        { T("\"data\":{}"), INFER_EINVAL, "inputs[0].data must be an array, "
          "not an object" },
        { T("\"data\":1"), INFER_EINVAL, "inputs[0].data must be an array, "
          "not a number" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":"
          "\"FP32\",\"data\":[1,2,3]},{}]}", INFER_ESHAPE,
          "inputs[1]: the model takes 1 tensor" },
        { "{\"inputs\":[]}", INFER_ESHAPE, "\"inputs\" is empty, the model "
          "takes 1 tensor" },

        /* shape against the model */
        { T("\"shape\":[2,4]"), INFER_ESHAPE, "inputs[0]: the model takes 3 "
          "features, shape says 4" },
        { T("\"shape\":[30]"), INFER_ESHAPE, "inputs[0]: the model takes 3 "
          "features, shape says 30" },
        { T("\"shape\":[]"), INFER_ESHAPE, "inputs[0]: shape [] has 0 "
          "dimensions, the model takes [-1,3] or [3]" },
        { T("\"shape\":[1,1,3]"), INFER_ESHAPE, "inputs[0]: shape [1,1,3] "
          "has 3 dimensions, the model takes [-1,3] or [3]" },
        { T("\"shape\":[0,3]"), INFER_ESHAPE, "inputs[0]: shape [0,3] has "
          "no rows" },
        { T("\"shape\":[5,3]"), INFER_ETOOBIG, "inputs[0]: shape [5,3] has "
          "5 rows, the limit is 4" },
        { T("\"shape\":[18446744073709551615,3]"), INFER_ETOOBIG,
          "inputs[0]: shape [18446744073709551615,3] has "
          "18446744073709551615 rows, the limit is 4" },

        /* shape against the data */
        { D("FP32", "[1,2]"), INFER_ESHAPE, "inputs[0]: shape [1,3] has 3 "
          "elements, data has 2" },
        { D("FP32", "[1,2,3,4]"), INFER_ESHAPE, "inputs[0]: shape [1,3] "
          "has 3 elements, data has 4" },
        { D("FP32", "[]"), INFER_ESHAPE, "inputs[0]: shape [1,3] has 3 "
          "elements, data has 0" },
        { T("\"data\":[1,2,3,4,5,6,7],\"name\":\"x\",\"datatype\":\"FP32\","
            "\"shape\":[2,4]"), INFER_ESHAPE,
          "inputs[0]: the model takes 3 features, shape says 4" },
        { T("\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":"
            "[1,2,3,4,5,6,7]"), INFER_ESHAPE,
          "inputs[0]: shape [2,3] has 6 elements, data has 7" },
        { T("\"data\":[1,2,3,4,5],\"name\":\"x\",\"datatype\":\"FP32\","
            "\"shape\":[2,3]"), INFER_ESHAPE,
          "inputs[0]: shape [2,3] has 6 elements, data has 5" },
        { T("\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":"
            "[[1,2],[3,4],[5,6]]"), INFER_ESHAPE,
          "inputs[0]: shape [2,3], data is nested as [3,2]" },
        { T("\"name\":\"x\",\"shape\":[3],\"datatype\":\"FP32\",\"data\":"
            "[[1,2,3]]"), INFER_ESHAPE,
          "inputs[0]: shape [3], data is nested as [1,3]" },
        { T("\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":"
            "[[[1,2,3]]]"), INFER_ESHAPE,
          "inputs[0]: shape [1,3], data is nested as [1,1,3]" },
        { T("\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":"
            "[[],[]]"), INFER_ESHAPE,
          "inputs[0]: shape [1,3], data is nested as [2,0]" },
        { T("\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":"
            "[[1,2,3],[4,5]]"), INFER_ESHAPE,
          "inputs[0].data[1] has 2 values, the arrays before it 3" },
        { T("\"data\":[[[1,2],[3,4]],[[5,6],[7]]]"), INFER_ESHAPE,
          "inputs[0].data[1][1] has 1 values, the arrays before it 2" },
        { T("\"data\":[[1,2,3],4]"), INFER_ESHAPE,
          "inputs[0].data[1]: expected an array, got a value" },
        { T("\"data\":[[],4]"), INFER_ESHAPE,
          "inputs[0].data[1]: expected an array, got a value" },
        { T("\"data\":[1,[2,3]]"), INFER_ESHAPE,
          "inputs[0].data[1]: expected a value, got an array" },
        { T("\"data\":[[1,2],[3,[4]]]"), INFER_ESHAPE,
          "inputs[0].data[1][1]: expected a value, got an array" },
        { T("\"data\":[[[[[[[[[1]]]]]]]]]"), INFER_EINVAL,
          "inputs[0].data is nested deeper than 8 levels" },
        { T("\"data\":[1,{}]"), INFER_EINVAL,
          "inputs[0].data[1]: expected a number, got an object" },
        { T("\"data\":[[1,2],[3,{\"a\":1}]]"), INFER_EINVAL,
          "inputs[0].data[1][1]: expected a number, got an object" },

        /* values against the datatype */
        { D("FP32", "[1,\"2\",3]"), INFER_EINVAL,
          "inputs[0].data[1]: expected FP32, got a string" },
        { D("FP64", "[1,2,true]"), INFER_EINVAL,
          "inputs[0].data[2]: expected FP64, got a boolean" },
        { D("INT32", "[1,2.5,3]"), INFER_EINVAL,
          "inputs[0].data[1]: expected INT32, got 2.5" },
        { D("INT8", "[1,2,128]"), INFER_ERANGE,
          "inputs[0].data[2]: 128 is out of range for INT8" },
        { D("INT8", "[-129,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: -129 is out of range for INT8" },
        { D("UINT8", "[1,256,3]"), INFER_ERANGE,
          "inputs[0].data[1]: 256 is out of range for UINT8" },
        { D("UINT8", "[1,2,-1]"), INFER_ERANGE,
          "inputs[0].data[2]: -1 is out of range for UINT8" },
        { D("INT16", "[32768,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: 32768 is out of range for INT16" },
        { D("UINT16", "[65536,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: 65536 is out of range for UINT16" },
        { D("INT32", "[2147483648,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: 2.14748365e+09 is out of range for INT32" },
        { D("UINT32", "[1,2,4294967296]"), INFER_ERANGE,
          "inputs[0].data[2]: 4.2949673e+09 is out of range for UINT32" },
        { D("INT64", "[9223372036854775808,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: 9.22337204e+18 is out of range for INT64" },
        { D("INT64", "[1e19,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: 1e+19 is out of range for INT64" },
        { D("UINT64", "[18446744073709551616,2,3]"), INFER_ERANGE,
          "inputs[0].data[0]: 1.84467441e+19 is out of range for UINT64" },
        { D("UINT64", "[1,-1,3]"), INFER_ERANGE,
          "inputs[0].data[1]: -1 is out of range for UINT64" },
        { D("UINT64", "[1,-1e0,3]"), INFER_ERANGE,
          "inputs[0].data[1]: -1 is out of range for UINT64" },
        { D("FP16", "[1,65505,3]"), INFER_ERANGE,
          "inputs[0].data[1]: 65505 is out of range for FP16" },
        { D("FP16", "[1,2,-1e5]"), INFER_ERANGE,
          "inputs[0].data[2]: -100000 is out of range for FP16" },
        { D("BOOL", "[true,1,false]"), INFER_EINVAL,
          "inputs[0].data[1]: expected BOOL (true or false), got 1" },
        { D("BOOL", "[true,false,\"true\"]"), INFER_EINVAL,
          "inputs[0].data[2]: expected BOOL, got a string" },
        { D("INT8", "[true,0,0]"), INFER_EINVAL,
          "inputs[0].data[0]: expected INT8, got a boolean" },
        { D("FP32", "[1,2,1e39]"), INFER_ERANGE,
          "inputs[0].data[2]: 1e39 is not a finite 32-bit float" },
        { D("FP64", "[1,-1e308,3]"), INFER_ERANGE,
          "inputs[0].data[1]: -1e308 is not a finite 32-bit float" },
        { D("FP32", "[1,null,3]"), INFER_EINVAL,
          "inputs[0].data[1]: null, but the model takes no missing values" },
        { T("\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"INT8\",\"data\":"
            "[[1,2,3],[4,500,6]]"), INFER_ERANGE,
          "inputs[0].data[1][1]: 500 is out of range for INT8" },
        { T("\"data\":[[1,2,3],[4,\"5\",6]],\"shape\":[2,3],\"name\":\"x\","
            "\"datatype\":\"FP32\""), INFER_EINVAL,
          "inputs[0].data[1][1]: expected FP32, got a string" },
        { T("\"data\":[1,2,3,4,300,6],\"shape\":[2,3],\"name\":\"x\","
            "\"datatype\":\"UINT8\""), INFER_ERANGE,
          "inputs[0].data[4]: 300 is out of range for UINT8" },
        { D("FP32", "[1,2,"
            "1111111111111111111111111111111111111111111111111111111111111111"
            "11111111111111111111111111111111111111111111111111111111111111111"
            "]"), INFER_EINVAL,
          "inputs[0]: a number of more than 128 characters" },

        /* requested outputs */
        { "{\"outputs\":[{\"name\":\"output-1\"}]}", INFER_EINVAL,
          "outputs[0]: unknown output \"output-1\", the model has "
          "\"output-0\"" },
        { "{\"outputs\":[{\"name\":\"output-0\"},{\"name\":\"prob\"}]}",
          INFER_EINVAL, "outputs[1]: unknown output \"prob\", the model has "
          "\"output-0\"" },
        { "{\"outputs\":[{\"parameters\":{}}]}", INFER_EINVAL,
          "outputs[0]: missing \"name\"" },
        { "{\"outputs\":[{\"name\":\"output-0\",\"name\":\"output-0\"}]}",
          INFER_EINVAL, "outputs[0]: duplicate \"name\"" },
        { "{\"outputs\":[\"output-0\"]}", INFER_EINVAL,
          "outputs[0] must be an object, not a string" },
        { "{\"outputs\":[{\"name\":null}]}", INFER_EINVAL,
          "outputs[0].name must be a string, not null" },
        { "{\"outputs\":{}}", INFER_EINVAL,
          "\"outputs\" must be an array of objects, not an object" },
        { "{\"outputs\":[],\"outputs\":[]}", INFER_EINVAL,
          "duplicate \"outputs\"" },
    };

#undef D
#undef T

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v2_parse_simple(cases[i].body, 3, &r);

        CHECK(r.rc == cases[i].rc);
        CHECK_STR(r.err, cases[i].err);

        if (r.rc != cases[i].rc) {
            printf("# case %zu: rc %d, want %d\n", i, r.rc, cases[i].rc);
        }
    }
}


static void
test_missing_values(void)
{
    v2_parsed_t  r;
    const char  *body = "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],"
                        "\"datatype\":\"INT8\",\"data\":[[1,null,3],"
                        "[null,5,6]]}]}";

    v2_parse(body, NULL, 0, 3, 4, 1, &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 2);
    CHECK(r.x[0] == 1.0f && isnan(r.x[1]) && r.x[2] == 3.0f);
    CHECK(isnan(r.x[3]) && r.x[4] == 5.0f);

    v2_parse(body, NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "inputs[0].data[0][1]: null, but the model takes no "
              "missing values");

    v2_parse("{\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":"
             "\"BOOL\",\"data\":[true,null,false]}]}", NULL, 0, 3, 4, 1, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.x[0] == 1.0f && isnan(r.x[1]) && r.x[2] == 0.0f);
}


static void
test_limits(void)
{
    char                  *body;
    size_t                 i, len;
    infer_v2_parser_t     *p;
    infer_v2_request_t     req;
    infer_request_opts_t   opts = { 2, 1000, 0, 0, NULL };

    /* 1000 rows, with the shape first and with the shape last */

    body = malloc(1000 * 32 + 128);

    len = sprintf(body, "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\","
                  "\"shape\":[1000,2],\"data\":[");

    for (i = 0; i < 1000; i++) {
        len += sprintf(body + len, "%s[%zu,%zu.5]", i ? "," : "", i, i);
    }

    len += sprintf(body + len, "]}]}");

    p = infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc);
    CHECK(infer_v2_parse(p, (unsigned char *) body, len) == INFER_OK);
    CHECK(infer_v2_finish(p, &req) == INFER_OK);
    CHECK(req.rows == 1000);
    CHECK(req.x[0] == 0.0f && req.x[1] == 0.5f);
    CHECK(req.x[1998] == 999.0f && req.x[1999] == 999.5f);
    infer_v2_parser_free(p);

    /* one row more than allowed: refused at the shape, before any data */

    opts.max_rows = 999;
    p = infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc);
    CHECK(infer_v2_parse(p, (unsigned char *) body, 80) == INFER_ETOOBIG);
    CHECK_STR(infer_v2_error(p), "inputs[0]: shape [1000,2] has 1000 rows, "
              "the limit is 999");
    infer_v2_parser_free(p);

    len = sprintf(body, "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\","
                  "\"data\":[");

    for (i = 0; i < 1000; i++) {
        len += sprintf(body + len, "%s%zu,-%zu", i ? "," : "", i, i);
    }

    len += sprintf(body + len, "],\"shape\":[1000,2]}]}");

    opts.max_rows = 1000;
    p = infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc);
    CHECK(infer_v2_parse(p, (unsigned char *) body, len) == INFER_OK);
    CHECK(infer_v2_finish(p, &req) == INFER_OK);
    CHECK(req.rows == 1000);
    CHECK(req.x[2] == 1.0f && req.x[3] == -1.0f);
    CHECK(req.x[1998] == 999.0f && req.x[1999] == -999.0f);
    infer_v2_parser_free(p);

    /* without a shape yet, data stops at max_rows x nfeatures values */

    opts.max_rows = 999;
    p = infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc);
    CHECK(infer_v2_parse(p, (unsigned char *) body, len) == INFER_ETOOBIG);
    CHECK_STR(infer_v2_error(p), "inputs[0].data has more than 1998 values, "
              "the limit is 999 rows of 2 features");
    infer_v2_parser_free(p);

    free(body);

    opts.nfeatures = 0;
    CHECK(infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc) == NULL);
    opts.nfeatures = 2;
    opts.max_rows = 0;
    CHECK(infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc) == NULL);
}


static void
test_id_echo(void)
{
    char                 id[INFER_V2_MAX_ID + 64];
    size_t               len;
    v2_parsed_t          r;
    infer_buf_t          out;
    const float          y[] = { 0.5f };
    infer_v2_model_t     m = {
        "m", 1, "", 0, "linear", 3, 1, NULL, NULL, 0
    };
    infer_v2_response_t  resp;

    v2_parse_simple("{\"id\":\"a\\\"b\\\\c\\n\\u00e9\\/\\u0001\",\"inputs\":"
                    "[{\"name\":\"x\",\"shape\":[3],\"datatype\":\"FP32\","
                    "\"data\":[1,2,3]}]}", 3, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.has_id && r.id_len == 10);
    CHECK(memcmp(r.id, "a\"b\\c\n\xc3\xa9/\x01", 10) == 0);

    memset(&resp, 0, sizeof(resp));
    resp.model = &m;
    resp.id = r.id;
    resp.id_len = r.id_len;
    resp.y = y;
    resp.rows = 1;
    resp.outputs = 0;
    resp.binary = 0;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    CHECK_STR(v2_text(&out),
              "{\"model_name\":\"m\",\"id\":\"a\\\"b\\\\c\\n\xc3\xa9/"
              "\\u0001\",\"outputs\":[{\"name\":\"output-0\",\"shape\":[1,1],"
              "\"datatype\":\"FP32\",\"data\":[0.5]}]}");

    /* an empty id is an id */

    v2_parse_simple("{\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":"
                    "\"FP32\",\"data\":[1,2,3]}],\"id\":\"\"}", 3, &r);
    CHECK(r.rc == INFER_OK && r.has_id && r.id_len == 0);

    /* INFER_V2_MAX_ID bytes, and one more */

    len = sprintf(id, "{\"id\":\"");
    memset(id + len, 'x', INFER_V2_MAX_ID);
    len += INFER_V2_MAX_ID;
    len += sprintf(id + len, "\",\"inputs\":[]}");

    v2_parse_simple(id, 3, &r);
    CHECK(r.rc == INFER_ESHAPE);      /* got past the id */

    memmove(id + 8, id + 7, len - 7 + 1);
    id[7] = 'x';

    v2_parse_simple(id, 3, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "\"id\" is longer than 256 bytes");
}


/* refused with err whole and cut once anywhere, the offset the same */

static void
v2_utf8_refused(const char *body, const char *err)
{
    size_t       cut, len, wrong;
    v2_parsed_t  r;

    len = strlen(body);
    wrong = 0;

    for (cut = 0; cut <= len; cut++) {
        v2_parse(body, &cut, 1, 3, 4, 0, &r);

        if (r.rc != INFER_EJSON || strcmp(r.err, err) != 0) {
            wrong++;
            printf("not ok: cut at %zu: %d \"%s\"\n", cut, r.rc, r.err);
        }
    }

    CHECK(wrong == 0);
}


/*
 * yajl lets these through (it checks a sequence's shape only, and makes
 * "\udc00" the bytes of a surrogate): every string of the request must
 * be UTF-8, the id above all, which the response echoes.
 */

static void
test_id_utf8(void)
{
    v2_parsed_t  r;

#define V2_TENSOR                                                            \
    "\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":\"FP32\","      \
    "\"data\":[1,2,3]}]"

    v2_utf8_refused("{\"id\":\"\xc0\xaf\"," V2_TENSOR "}",
                    "malformed JSON at byte 7: invalid UTF-8 in a string");
    v2_utf8_refused("{\"id\":\"\xe0\x80\xaf\"," V2_TENSOR "}",
                    "malformed JSON at byte 7: invalid UTF-8 in a string");
    v2_utf8_refused("{\"id\":\"ab\xed\xa0\x80\"," V2_TENSOR "}",
                    "malformed JSON at byte 9: invalid UTF-8 in a string");
    v2_utf8_refused("{\"id\":\"\xf4\x90\x80\x80\"," V2_TENSOR "}",
                    "malformed JSON at byte 7: invalid UTF-8 in a string");
    v2_utf8_refused("{\"id\":\"\\ud800\"," V2_TENSOR "}",
                    "malformed JSON at byte 7: \\ud800 is a lone UTF-16 "
                    "surrogate");
    v2_utf8_refused("{\"id\":\"\\udc00\"," V2_TENSOR "}",
                    "malformed JSON at byte 7: \\udc00 is a lone UTF-16 "
                    "surrogate");
    v2_utf8_refused("{" V2_TENSOR ",\"outputs\":[{\"name\":\"\xc0\x80\"}]}",
                    "malformed JSON at byte 90: invalid UTF-8 in a string");
    v2_utf8_refused("{\"inputs\":[{\"name\":\"\xed\xbf\xbf\",\"shape\":[3],"
                    "\"datatype\":\"FP32\",\"data\":[1,2,3]}]}",
                    "malformed JSON at byte 20: invalid UTF-8 in a string");

    /* the largest code point, and a pair, are echoed as they came */

    v2_parse_simple("{\"id\":\"\xf4\x8f\xbf\xbf\\ud83d\\ude00\","
                    V2_TENSOR "}", 3, &r);
    CHECK(r.rc == INFER_OK && r.id_len == 8
          && memcmp(r.id, "\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80", 8) == 0);

    /* with the binary extension, in the JSON its header delimits */

    v2_parse_binary("{\"id\":\"\\ud83d\\u0041\",\"inputs\":[{\"name\":"
                    "\"x\",\"shape\":[1,3],\"datatype\":\"UINT8\","
                    "\"parameters\":{\"binary_data_size\":3}}]}",
                    "\x01\x02\x03", 3, NULL, 5, 0, &r);
    CHECK(r.rc == INFER_EJSON);
    CHECK_STR(r.err, "malformed JSON at byte 7: \\ud83d is a lone UTF-16 "
              "surrogate (" INFER_V2_HEADER_LENGTH ": 114)");

#undef V2_TENSOR
}


static void
test_chunking(void)
{
    size_t       b, i, k, n, t, len, ncuts, cuts[V2_MAX_CUTS];
    uint32_t     seed;
    v2_parsed_t  whole, r;

    static const char  *bodies[] = {
        "{\"id\":\"req-\\u00e9\",\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],"
        "\"datatype\":\"FP32\",\"data\":[[1.25,-2,3e1],[4,5.5,6]]}],"
        "\"outputs\":[{\"name\":\"output-0\"}],\"parameters\":{\"a\":[1]}}",
        "{\"inputs\":[{\"data\":[9223372036854775807,1,-0,0.000001,"
        "18446744073709551615,true],\"datatype\":\"INT64\",\"shape\":[2,3],"
        "\"name\":\"input-0\"}]}",
        "{\"inputs\":[{\"data\":[1,2,3,4,5,6],\"datatype\":\"UINT64\","
        "\"shape\":[2,3],\"name\":\"input-0\"}],\"id\":\"late\"}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"INT8\","
        "\"data\":[[1,2,3],[4,5,-129]]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"BOOL\","
        "\"data\":[true,false,true,false,false,true]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
        "\"data\":[[1,2,3],[4,5]]}]}",
    };

    seed = 12345;

    for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        v2_parse(bodies[b], NULL, 0, 3, 4, 0, &whole);
        len = strlen(bodies[b]);

        /* every chunk size up to 16 bytes, 1 included */

        for (n = 1; n <= 16; n++) {
            for (ncuts = 0; ncuts < V2_MAX_CUTS && (ncuts + 1) * n < len;
                 ncuts++)
            {
                cuts[ncuts] = (ncuts + 1) * n;
            }

            v2_parse(bodies[b], cuts, ncuts, 3, 4, 0, &r);
            CHECK(v2_same(&whole, &r, 3));
        }

        /* random cuts, sorted */

        for (i = 0; i < 200; i++) {
            for (k = 0; k < 12; k++) {
                seed = seed * 1103515245 + 12345;
                cuts[k] = (seed >> 8) % (len + 1);

                for (n = k; n > 0 && cuts[n - 1] > cuts[n]; n--) {
                    t = cuts[n];
                    cuts[n] = cuts[n - 1];
                    cuts[n - 1] = t;
                }
            }

            v2_parse(bodies[b], cuts, 12, 3, 4, 0, &r);
            CHECK(v2_same(&whole, &r, 3));
        }
    }

    v2_parse(bodies[0], NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 2);
    CHECK(r.x[0] == 1.25f && r.x[2] == 30.0f && r.x[4] == 5.5f);
    CHECK(r.id_len == 6 && memcmp(r.id, "req-\xc3\xa9", 6) == 0);

    v2_parse(bodies[1], NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "inputs[0].data[3]: expected INT64, got 1e-06");

    v2_parse(bodies[2], NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_OK && r.id_len == 4);

    v2_parse(bodies[3], NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_ERANGE);
    CHECK_STR(r.err, "inputs[0].data[1][2]: -129 is out of range for INT8");

    v2_parse(bodies[4], NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.x[0] == 1.0f && r.x[1] == 0.0f && r.x[5] == 1.0f);

    v2_parse(bodies[5], NULL, 0, 3, 4, 0, &r);
    CHECK(r.rc == INFER_ESHAPE);
    CHECK_STR(r.err, "inputs[0].data[1] has 2 values, the arrays before it "
              "3");
}


static void
test_writers(void)
{
    infer_buf_t          out;
    const float          y[] = { 0.1f, -2.0f, NAN, 1e20f, INFINITY, 6.5f };
    infer_v2_model_t     m1 = {
        "fraud", 5, "3", 1, "xgboost", 30, 1, NULL, NULL, 0
    };
    infer_v2_model_t     m2 = {
        "lin\"ear", 7, "", 0, "linear", 4, 3, NULL, NULL, 0
    };
    infer_v2_response_t  resp;

    infer_buf_init(&out, &infer_alloc_libc);

    CHECK(infer_v2_write_server_metadata(&out, "0.2.0") == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"name\":\"ngx_http_infer_module\","
              "\"version\":\"0.2.0\",\"extensions\":[\"binary_tensor_data\"]}");

    CHECK(infer_v2_write_flag(&out, "live", 1) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"live\":true}");

    CHECK(infer_v2_write_flag(&out, "ready", 1) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"ready\":true}");

    CHECK(infer_v2_write_flag(&out, "ready", 0) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"ready\":false}");

    CHECK(infer_v2_write_model_ready(&out, &m1, 1) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"name\":\"fraud\",\"ready\":true}");

    CHECK(infer_v2_write_model_ready(&out, &m2, 0) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"name\":\"lin\\\"ear\",\"ready\":false}");

    CHECK(infer_v2_write_model_metadata(&out, &m1) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"name\":\"fraud\",\"versions\":[\"3\"],"
              "\"platform\":\"xgboost_json\",\"inputs\":[{\"name\":"
              "\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,30]}],"
              "\"outputs\":[{\"name\":\"output-0\",\"datatype\":\"FP32\","
              "\"shape\":[-1,1]}]}");

    CHECK(infer_v2_write_model_metadata(&out, &m2) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"name\":\"lin\\\"ear\",\"platform\":"
              "\"linear\",\"inputs\":[{\"name\":\"input-0\",\"datatype\":"
              "\"FP32\",\"shape\":[-1,4]}],\"outputs\":[{\"name\":"
              "\"output-0\",\"datatype\":\"FP32\",\"shape\":[-1,3]}]}");

    CHECK_STR(infer_v2_platform("onnx"), "onnx_onnxv1");

    memset(&resp, 0, sizeof(resp));
    resp.model = &m1;
    resp.id = NULL;
    resp.id_len = 0;
    resp.y = y;
    resp.rows = 2;
    resp.outputs = 0;

    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"model_name\":\"fraud\",\"model_version\":"
              "\"3\",\"outputs\":[{\"name\":\"output-0\",\"shape\":[2,1],"
              "\"datatype\":\"FP32\",\"data\":[0.1,-2]}]}");

    resp.model = &m2;
    resp.id = "42";
    resp.id_len = 2;

    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"model_name\":\"lin\\\"ear\",\"id\":\"42\","
              "\"outputs\":[{\"name\":\"output-0\",\"shape\":[2,3],"
              "\"datatype\":\"FP32\",\"data\":[0.1,-2,null,1e+20,null,"
              "6.5]}]}");

    CHECK(infer_json_write_error(&out, "unknown model \"x\"") == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"error\":\"unknown model \\\"x\\\"\"}");
}


/* a request through a model (y = sum of the features) and back */

static void
test_round_trip(void)
{
    float                y[2];
    size_t               i;
    v2_parsed_t          r;
    infer_buf_t          out;
    infer_v2_model_t     m = {
        "sum", 3, "1", 1, "linear", 3, 1, NULL, NULL, 0
    };
    infer_v2_response_t  resp;

    v2_parse_simple("{\"id\":\"42\",\"inputs\":[{\"name\":\"input-0\","
                    "\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":"
                    "[1,2,3.5,0.5,1.5,2]}],\"outputs\":[{\"name\":"
                    "\"output-0\"}]}", 3, &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 2);

    for (i = 0; i < 2; i++) {
        y[i] = r.x[i * 3] + r.x[i * 3 + 1] + r.x[i * 3 + 2];
    }

    memset(&resp, 0, sizeof(resp));
    resp.model = &m;
    resp.id = r.id;
    resp.id_len = r.id_len;
    resp.y = y;
    resp.rows = r.req.rows;
    resp.outputs = 0;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    CHECK_STR(v2_text(&out), "{\"model_name\":\"sum\",\"model_version\":"
              "\"1\",\"id\":\"42\",\"outputs\":[{\"name\":\"output-0\","
              "\"shape\":[2,1],\"datatype\":\"FP32\",\"data\":[6.5,4]}]}");
}


/*
 * A model with its own tensors: an input of rows [1,2,2], outputs "a" [3]
 * and "b" [2]; shapes, nesting, outputs asked for by name, the writers.
 */

static void
test_tensors(void)
{
    char                   text[512];
    infer_buf_t            out;
    infer_v2_parser_t     *p;
    infer_v2_request_t     req;
    infer_v2_response_t    resp;
    static const size_t    dims[] = { 1, 2, 2 };
    infer_tensor_t         input, outputs[2];
    infer_request_opts_t   opts = { 4, 8, 0, 3, dims };
    infer_v2_model_t       m = {
        "img", 3, "2", 1, "onnx", 4, 5, NULL, NULL, 0
    };
    const float            y[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

    memset(&input, 0, sizeof(input));
    memset(outputs, 0, sizeof(outputs));
    input.name = "x";
    input.ndims = 3;
    input.dims[0] = 1;
    input.dims[1] = 2;
    input.dims[2] = 2;
    input.size = 4;
    outputs[0].name = "a";
    outputs[0].ndims = 1;
    outputs[0].dims[0] = 3;
    outputs[0].size = 3;
    outputs[1].name = "b";
    outputs[1].ndims = 1;
    outputs[1].dims[0] = 2;
    outputs[1].size = 2;
    outputs[1].offset = 3;
    m.input = &input;
    m.outputs = outputs;
    m.noutput_tensors = 2;

#define TENSORS(json, want_rc, want_err)                                     \
    do {                                                                     \
        p = infer_v2_parser_create(&opts, outputs, 2, &infer_alloc_libc);    \
        (void) infer_v2_parse(p, (const unsigned char *) json,               \
                              strlen(json));                                 \
        CHECK(infer_v2_finish(p, &req) == want_rc);                          \
        CHECK_STR(infer_v2_error(p), want_err);                              \
    } while (0)

    TENSORS("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,1,2,2],\"datatype\":"
            "\"FP32\",\"data\":[[[[1,2],[3,4]]],[[[5,6],[7,8]]]]}],"
            "\"outputs\":[{\"name\":\"b\"}]}", INFER_OK, "");
    CHECK(req.rows == 2 && req.outputs == 2);
    CHECK(req.x[0] == 1.0f && req.x[7] == 8.0f);
    infer_v2_parser_free(p);

    /* a row's own shape: one row; the data flat */

    TENSORS("{\"inputs\":[{\"name\":\"q\",\"shape\":[1,2,2],\"datatype\":"
            "\"FP32\",\"data\":[1,2,3,4]}]}", INFER_OK, "");
    CHECK(req.rows == 1 && req.outputs == 0);
    infer_v2_parser_free(p);

    TENSORS("{\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":"
            "\"FP32\",\"data\":[1,2,3,4,5,6,7,8]}]}", INFER_ESHAPE,
            "inputs[0]: shape [2,4] does not match the model's [-1,1,2,2]");
    infer_v2_parser_free(p);

    TENSORS("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,2,2],\"datatype\":"
            "\"FP32\",\"data\":[1,2,3,4]}],\"outputs\":[{\"name\":\"c\"}]}",
            INFER_EINVAL, "outputs[0]: unknown output \"c\", the model has "
            "\"a\", \"b\"");
    infer_v2_parser_free(p);

#undef TENSORS

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_model_metadata(&out, &m) == INFER_OK);
    snprintf(text, sizeof(text), "%.*s", (int) out.len, out.data);
    CHECK_STR(text, "{\"name\":\"img\",\"versions\":[\"2\"],\"platform\":"
                    "\"onnx_onnxv1\",\"inputs\":[{\"name\":\"x\",\"datatype\":"
                    "\"FP32\",\"shape\":[-1,1,2,2]}],\"outputs\":[{\"name\":"
                    "\"a\",\"datatype\":\"FP32\",\"shape\":[-1,3]},{\"name\":"
                    "\"b\",\"datatype\":\"FP32\",\"shape\":[-1,2]}]}");
    infer_buf_release(&out);

    /* y's rows are a (3) then b (2): b alone, rows 5 apart */

    memset(&resp, 0, sizeof(resp));
    resp.model = &m;
    resp.y = y;
    resp.rows = 2;
    resp.outputs = 2;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    snprintf(text, sizeof(text), "%.*s", (int) out.len, out.data);
    CHECK_STR(text, "{\"model_name\":\"img\",\"model_version\":\"2\","
                    "\"outputs\":[{\"name\":\"b\",\"shape\":[2,2],"
                    "\"datatype\":\"FP32\",\"data\":[4,5,9,10]}]}");
    infer_buf_release(&out);
}


/*
 * A binary body, json then bin_len bytes of bin, for a model of 3
 * features; header is the Inference-Header-Content-Length (NULL: the
 * JSON's length).  Fed in chunks of chunk bytes (0: whole).
 */

static void
v2_parse_binary(const char *json, const char *bin, size_t bin_len,
    const char *header, size_t chunk, int missing_ok, v2_parsed_t *out)
{
    char                   len[32];
    size_t                 json_len, body_len, off, n;
    unsigned char         *body;
    infer_v2_parser_t     *p;
    infer_request_opts_t   opts = { 3, 4, 0, 0, NULL };

    memset(out, 0, sizeof(v2_parsed_t));
    opts.missing_ok = missing_ok;

    json_len = strlen(json);
    body_len = json_len + bin_len;
    body = malloc(body_len + 1);
    p = infer_v2_parser_create(&opts, NULL, 0, &infer_alloc_libc);

    if (body == NULL || p == NULL) {
        out->rc = INFER_ERROR;
        free(body);
        infer_v2_parser_free(p);
        return;
    }

    memcpy(body, json, json_len);
    memcpy(body + json_len, bin, bin_len);

    if (header == NULL) {
        snprintf(len, sizeof(len), "%zu", json_len);
        header = len;
    }

    (void) infer_v2_parser_binary(p, header, strlen(header), body_len);

    for (off = 0; off < body_len; off += n) {
        n = (chunk == 0 || body_len - off < chunk) ? body_len - off : chunk;

        if (infer_v2_parse(p, body + off, n) != INFER_OK) {
            break;
        }
    }

    out->rc = infer_v2_finish(p, &out->req);
    snprintf(out->err, sizeof(out->err), "%s", infer_v2_error(p));

    if (out->rc == INFER_OK) {
        n = out->req.rows * 3;
        memcpy(out->x, out->req.x, (n < V2_MAX_X ? n : V2_MAX_X)
                                   * sizeof(float));

        if (out->req.id != NULL) {
            out->has_id = 1;
            out->id_len = out->req.id_len;
            memcpy(out->id, out->req.id, out->req.id_len);
        }
    }

    free(body);
    infer_v2_parser_free(p);
}


/* each datatype's bytes give the floats its JSON values give */

static void
test_binary_datatypes(void)
{
    char         json[512];
    size_t       i, size;
    v2_parsed_t  j, b;

    static const struct {
        const char  *type;
        size_t       size;
        const char  *data;
        const char  *bytes;
    } cases[] = {
        { "BOOL", 1, "[true,false,true]", "\x01\x00\x01" },
        { "UINT8", 1, "[0,255,128]", "\x00\xff\x80" },
        { "INT8", 1, "[-128,127,-1]", "\x80\x7f\xff" },
        { "UINT16", 2, "[0,65535,258]", "\x00\x00\xff\xff\x02\x01" },
        { "INT16", 2, "[-32768,32767,-2]", "\x00\x80\xff\x7f\xfe\xff" },
        { "UINT32", 4, "[0,4294967295,16777217]",
          "\x00\x00\x00\x00\xff\xff\xff\xff\x01\x00\x00\x01" },
        { "INT32", 4, "[-2147483648,2147483647,-16777217]",
          "\x00\x00\x00\x80\xff\xff\xff\x7f\xff\xff\xff\xfe" },
        { "UINT64", 8, "[0,18446744073709551615,9223372586610589697]",
          "\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff"
          "\xff\x01\x00\x00\x00\x80\x00\x00\x80" },
        { "INT64", 8, "[-9223372036854775808,9223372036854775807,16777217]",
          "\x00\x00\x00\x00\x00\x00\x00\x80\xff\xff\xff\xff\xff\xff\xff"
          "\x7f\x01\x00\x00\x01\x00\x00\x00\x00" },
        { "FP16", 2, "[65504,-0.5,5.9604644775390625e-08]",
          "\xff\x7b\x00\xb8\x01\x00" },
        { "FP32", 4, "[0.1,-2.5e3,16777217]",
          "\xcd\xcc\xcc\x3d\x00\x40\x1c\xc5\x00\x00\x80\x4b" },
        { "FP64", 8, "[1e-50,3.141592653589793,-0.0]",
          "\x1f\xb8\xd4\x4a\x7a\xee\x8d\x35\x18\x2d\x44\x54\xfb\x21\x09"
          "\x40\x00\x00\x00\x00\x00\x00\x00\x80" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size = cases[i].size * 3;

        snprintf(json, sizeof(json), "{\"inputs\":[{\"name\":\"a\","
                 "\"shape\":[1,3],\"datatype\":\"%s\",\"data\":%s}]}",
                 cases[i].type, cases[i].data);
        v2_parse_simple(json, 3, &j);

        snprintf(json, sizeof(json), "{\"inputs\":[{\"name\":\"a\","
                 "\"shape\":[1,3],\"datatype\":\"%s\",\"parameters\":"
                 "{\"binary_data_size\":%zu}}]}", cases[i].type, size);
        v2_parse_binary(json, cases[i].bytes, size, NULL, 0, 0, &b);

        CHECK(j.rc == INFER_OK && b.rc == INFER_OK);
        CHECK(b.req.rows == 1);
        CHECK(memcmp(j.x, b.x, 3 * sizeof(float)) == 0);

        if (b.rc != INFER_OK || memcmp(j.x, b.x, 3 * sizeof(float)) != 0) {
            printf("# %s: %s %s: %.9g %.9g %.9g\n", cases[i].type, j.err,
                   b.err, b.x[0], b.x[1], b.x[2]);
        }
    }

    /* the 64-bit integer rounds to nearest, not through a double */

    CHECK(b.rc == INFER_OK);
    v2_parse_binary("{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":"
                    "\"UINT64\",\"parameters\":{\"binary_data_size\":24}}]}",
                    "\x01\x00\x00\x00\x80\x00\x00\x80\x00\x00\x00\x00\x80"
                    "\x00\x00\x80\x01\x00\x00\x00\x00\x00\x00\x00", 24, NULL,
                    0, 0, &b);
    CHECK(b.rc == INFER_OK);
    CHECK(b.x[0] == 9223373136366403584.0f);
    CHECK(b.x[1] == 9223372036854775808.0f);
    CHECK(b.x[2] == 1.0f);
}


static void
test_binary_header(void)
{
    char         want[INFER_ERRLEN];
    size_t       i;
    v2_parsed_t  r;

    static const char  json[] =
        "{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":"
        "\"UINT8\",\"parameters\":{\"binary_data_size\":3}}]}";

    static const char  *bad[] = {
        "", "-5", "0", "abc", "12x", "+85", "0x55",
        "99999999999999999999999"
    };

    v2_parse_binary(json, "\x01\x02\x03", 3, NULL, 0, 0, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.x[0] == 1.0f && r.x[1] == 2.0f && r.x[2] == 3.0f);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v2_parse_binary(json, "\x01\x02\x03", 3, bad[i], 0, 0, &r);
        snprintf(want, sizeof(want), "Inference-Header-Content-Length must "
                 "be the length of the body's JSON in bytes, not \"%s\"",
                 bad[i]);
        CHECK(r.rc == INFER_EINVAL);
        CHECK_STR(r.err, want);
    }

    /* longer than the body */

    v2_parse_binary(json, "\x01\x02\x03", 3, "98", 0, 0, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "Inference-Header-Content-Length is 98, more than the "
              "body's 97 bytes");

    /* shorter than the JSON: it ends in the middle */

    v2_parse_binary(json, "\x01\x02\x03", 3, "80", 0, 0, &r);
    CHECK(r.rc == INFER_EJSON);
    CHECK_STR(r.err, "malformed JSON at the end: parse error: premature EOF "
              "(Inference-Header-Content-Length: 80)");

    /* longer than the JSON: tensor bytes read as JSON */

    v2_parse_binary(json, "\x01\x02\x03", 3, "96", 0, 0, &r);
    CHECK(r.rc == INFER_EJSON);
    CHECK_STR(r.err, "malformed JSON near byte 95: parse error: trailing "
              "garbage (Inference-Header-Content-Length: 96)");

    /* JSON's trailing whitespace is JSON */

    v2_parse_binary("{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],"
                    "\"datatype\":\"UINT8\",\"parameters\":"
                    "{\"binary_data_size\":3}}]}\r\n", "\x01\x02\x03", 3,
                    NULL, 0, 0, &r);
    CHECK(r.rc == INFER_OK && r.x[2] == 3.0f);
}


static void
test_binary_errors(void)
{
    size_t       i;
    v2_parsed_t  r;

#define B(members)                                                           \
    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","    \
    members "}]}"

    static const struct {
        const char  *json;
        size_t       bin_len;
        int          rc;
        const char  *err;
    } cases[] = {
        { B("\"parameters\":{\"binary_data_size\":8}"), 8, INFER_EINVAL,
          "inputs[0]: binary_data_size is 8, shape [1,3] of FP32 takes 12 "
          "bytes" },
        { B("\"parameters\":{\"binary_data_size\":12},\"data\":[1,2,3]"),
          12, INFER_EINVAL,
          "inputs[0]: \"data\" and binary_data_size, give one" },
        { B("\"parameters\":{\"binary_data_size\":12}"), 16, INFER_EINVAL,
          "inputs[0]: binary_data_size is 12, the body has 16 bytes after "
          "its JSON (Inference-Header-Content-Length: 94)" },
        { B("\"parameters\":{\"binary_data_size\":12}"), 11, INFER_EINVAL,
          "inputs[0]: binary_data_size is 12, the body has 11 bytes after "
          "its JSON (Inference-Header-Content-Length: 94)" },
        { B("\"data\":[1,2,3]"), 4, INFER_EINVAL,
          "the body has 4 bytes after its JSON (Inference-Header-Content-"
          "Length: 72), no input has binary_data_size" },
        { B("\"parameters\":{}"), 12, INFER_EINVAL,
          "inputs[0]: missing \"data\"" },
        { B("\"parameters\":{\"binary_data_size\":\"12\"}"), 12,
          INFER_EINVAL, "inputs[0].parameters.binary_data_size must be a "
          "non-negative integer, not a string" },
        { B("\"parameters\":{\"binary_data_size\":-12}"), 12, INFER_EINVAL,
          "inputs[0].parameters.binary_data_size must be a non-negative "
          "integer, not -12" },
        { B("\"parameters\":{\"binary_data_size\":12.0}"), 12, INFER_EINVAL,
          "inputs[0].parameters.binary_data_size must be a non-negative "
          "integer, not 12.0" },
        { B("\"parameters\":{\"binary_data_size\":12,"
            "\"binary_data_size\":12}"), 12, INFER_EINVAL,
          "inputs[0]: duplicate \"binary_data_size\"" },
        { B("\"parameters\":{\"binary_data_size\":12}}],\"outputs\":[{"
            "\"name\":\"output-0\",\"parameters\":{\"binary_data\":1}"), 12,
          INFER_EINVAL, "outputs[0].parameters.binary_data must be a "
          "boolean, not a number" },
        { B("\"parameters\":{\"binary_data_size\":12}}],\"parameters\":{"
            "\"binary_data_output\":\"true\"},\"x\":[{"), 12, INFER_EINVAL,
          "parameters.binary_data_output must be a boolean, not a string" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":"
          "\"BYTES\",\"parameters\":{\"binary_data_size\":12}}]}", 12,
          INFER_ESHAPE, "inputs[0]: datatype BYTES is not supported, the "
          "model takes numbers" },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[5,3],\"datatype\":"
          "\"UINT8\",\"parameters\":{\"binary_data_size\":15}}]}", 15,
          INFER_ETOOBIG, "inputs[0]: shape [5,3] has 5 rows, the limit is "
          "4" },
        { "{\"inputs\":[]}", 0, INFER_ESHAPE,
          "\"inputs\" is empty, the model takes 1 tensor" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v2_parse_binary(cases[i].json, "0123456789abcdef", cases[i].bin_len,
                        NULL, 0, 0, &r);
        CHECK(r.rc == cases[i].rc);
        CHECK_STR(r.err, cases[i].err);
    }

    /* without the header, binary_data_size has no bytes to take */

    v2_parse_simple(B("\"parameters\":{\"binary_data_size\":12}"), 3, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "inputs[0]: binary_data_size without an "
              "Inference-Header-Content-Length header");

    /* with it, a body all JSON; "parameters" not an object, as before */

    v2_parse_binary(B("\"data\":[1,2,3],\"parameters\":null}],\"outputs\":"
                      "[{\"name\":\"output-0\",\"parameters\":[1,{}]}],"
                      "\"parameters\":\"x\",\"y\":[{\"z\":1"), "", 0, NULL,
                    0, 0, &r);
    CHECK(r.rc == INFER_OK && r.x[2] == 3.0f && r.req.binary == 0);

    if (r.rc != INFER_OK) {
        printf("# %s\n", r.err);
    }

#undef B
}


/* NaN is a missing value or refused, as null; infinity is out of range */

static void
test_binary_values(void)
{
    size_t       i;
    v2_parsed_t  r;

#define J(type, size)                                                        \
    "{\"inputs\":[{\"name\":\"x\",\"shape\":[3],\"datatype\":\"" type "\","  \
    "\"parameters\":{\"binary_data_size\":" size "}}]}"

    static const struct {
        const char  *json;
        const char  *bytes;
        size_t       len;
        int          rc;
        const char  *err;
    } cases[] = {
        { J("FP32", "12"), "\x00\x00\x80\x3f\x00\x00\xc0\x7f\x00\x00\x00"
          "\x00", 12, INFER_EINVAL, "inputs[0], binary element 1: NaN, but "
          "the model takes no missing values" },
        { J("FP32", "12"), "\x00\x00\x80\x3f\x00\x00\x00\x00\x00\x00\x80"
          "\xff", 12, INFER_ERANGE, "inputs[0], binary element 2: -inf is "
          "not a finite 32-bit float" },
        { J("FP64", "24"), "\x9c\x75\x00\x88\x3c\xe4\x37\x7e\x00\x00\x00"
          "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 24,
          INFER_ERANGE, "inputs[0], binary element 0: 1e+300 is not a "
          "finite 32-bit float" },
        { J("FP16", "6"), "\x00\x3c\x00\x7c\x00\x00", 6, INFER_ERANGE,
          "inputs[0], binary element 1: inf is not a finite 32-bit "
          "float" },
        { J("FP16", "6"), "\x00\x3c\x00\x00\x00\x7e", 6, INFER_EINVAL,
          "inputs[0], binary element 2: NaN, but the model takes no "
          "missing values" },
        { J("BOOL", "3"), "\x01\x02\x00", 3, INFER_EINVAL,
          "inputs[0], binary element 1: expected BOOL (0 or 1), got 2" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v2_parse_binary(cases[i].json, cases[i].bytes, cases[i].len, NULL,
                        0, 0, &r);
        CHECK(r.rc == cases[i].rc);
        CHECK_STR(r.err, cases[i].err);
    }

    /* a model that takes missing values: NaN is one, of any type */

    v2_parse_binary(cases[0].json, cases[0].bytes, 12, NULL, 0, 1, &r);
    CHECK(r.rc == INFER_OK && r.x[0] == 1.0f && isnan(r.x[1]));

    v2_parse_binary(cases[4].json, cases[4].bytes, 6, NULL, 0, 1, &r);
    CHECK(r.rc == INFER_OK && r.x[0] == 1.0f && isnan(r.x[2]));

    v2_parse_binary(J("FP64", "24"), "\x01\x00\x00\x00\x00\x00\xf8\xff\x00"
                    "\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00"
                    "\x00\x00", 24, NULL, 0, 1, &r);
    CHECK(r.rc == INFER_OK && isnan(r.x[0]) && r.x[1] == 1.0f);

    /* FP16 exactly: the smallest subnormal, the largest half */

    v2_parse_binary(J("FP16", "6"), "\x01\x80\xff\x7b\x00\x04", 6, NULL, 0,
                    0, &r);
    CHECK(r.rc == INFER_OK);
    CHECK(r.x[0] == -5.9604644775390625e-08f && r.x[1] == 65504.0f);
    CHECK(r.x[2] == 6.103515625e-05f);

#undef J
}


/* any cut of the body gives what the whole body gives */

static void
test_binary_chunking(void)
{
    size_t       b, n, i, len;
    v2_parsed_t  whole, r;

    static const struct {
        const char  *json;
        const char  *bin;
        size_t       len;
        const char  *header;
    } bodies[] = {
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":"
          "\"FP64\",\"parameters\":{\"binary_data_size\":48}}],\"id\":"
          "\"c\"}", "\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00"
          "\x00\x00\x40\x00\x00\x00\x00\x00\x00\x08\x40\x00\x00\x00\x00\x00"
          "\x00\x10\x40\x00\x00\x00\x00\x00\x00\x14\x40\x00\x00\x00\x00\x00"
          "\x00\x18\xc0", 48, NULL },
        { "{\"parameters\":{\"binary_data_output\":true},\"inputs\":[{"
          "\"parameters\":{\"binary_data_size\":12},\"datatype\":"
          "\"UINT16\",\"shape\":[2,3],\"name\":\"x\"}]}  ",
          "\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\xff\xff", 12, NULL },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":"
          "\"FP32\",\"parameters\":{\"binary_data_size\":24}}]}",
          "\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80"
          "\x40\x00\x00\xc0\x7f\x00\x00\xc0\x40", 24, NULL },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":"
          "\"INT8\",\"parameters\":{\"binary_data_size\":6}}]}",
          "\x01\x02\x03\x04\x05\x06\x07", 7, NULL },
        { "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":"
          "\"INT8\",\"parameters\":{\"binary_data_size\":6}}]}",
          "\x01\x02\x03\x04\x05\x06", 6, "60" },
    };

    for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        v2_parse_binary(bodies[b].json, bodies[b].bin, bodies[b].len,
                        bodies[b].header, 0, 0, &whole);
        len = strlen(bodies[b].json) + bodies[b].len;

        for (n = 1; n <= len; n++) {
            v2_parse_binary(bodies[b].json, bodies[b].bin, bodies[b].len,
                            bodies[b].header, n, 0, &r);
            CHECK(v2_same(&whole, &r, 3));
        }
    }

    v2_parse_binary(bodies[0].json, bodies[0].bin, 48, NULL, 7, 0, &r);
    CHECK(r.rc == INFER_OK && r.req.rows == 2);
    CHECK(r.has_id && r.id_len == 1 && r.id[0] == 'c');

    for (i = 0; i < 6; i++) {
        CHECK(r.x[i] == (i < 5 ? (float) (i + 1) : -6.0f));
    }

    v2_parse_binary(bodies[1].json, bodies[1].bin, 12, NULL, 5, 0, &r);
    CHECK(r.rc == INFER_OK && r.x[0] == 1.0f && r.x[5] == 65535.0f);
    CHECK(r.req.binary == 1);

    v2_parse_binary(bodies[2].json, bodies[2].bin, 24, NULL, 3, 0, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "inputs[0], binary element 4: NaN, but the model takes "
              "no missing values");

    v2_parse_binary(bodies[3].json, bodies[3].bin, 7, NULL, 1, 0, &r);
    CHECK(r.rc == INFER_EINVAL);
    CHECK_STR(r.err, "inputs[0]: binary_data_size is 6, the body has 7 "
              "bytes after its JSON (Inference-Header-Content-Length: 93)");

    v2_parse_binary(bodies[4].json, bodies[4].bin, 6, "60", 1, 0, &r);
    CHECK(r.rc == INFER_EJSON);
}


/*
 * Which outputs are sent as bytes: binary_data on an output, or
 * binary_data_output for all, an output's own binary_data first.
 */

static void
test_binary_outputs(void)
{
    size_t                 i;
    infer_v2_parser_t     *p;
    infer_v2_request_t     req;
    infer_tensor_t         outputs[2];
    infer_request_opts_t   opts = { 3, 4, 0, 0, NULL };

    static const struct {
        const char  *tail;
        uint64_t     outputs;
        uint64_t     binary;
    } cases[] = {
        { "", 0, 0 },
        { ",\"outputs\":[{\"name\":\"b\",\"parameters\":{\"binary_data\":"
          "true}}]", 2, 2 },
        { ",\"outputs\":[{\"parameters\":{\"binary_data\":true},\"name\":"
          "\"a\"},{\"name\":\"b\"}]", 3, 1 },
        { ",\"parameters\":{\"binary_data_output\":true}", 0, 3 },
        { ",\"parameters\":{\"binary_data_output\":false},\"outputs\":[{"
          "\"name\":\"a\",\"parameters\":{\"binary_data\":true,\"x\":{\"y\":"
          "[1]}}}]", 1, 1 },
        { ",\"parameters\":{\"binary_data_output\":true},\"outputs\":[{"
          "\"name\":\"a\",\"parameters\":{\"binary_data\":false}},{\"name\":"
          "\"b\"}]", 3, 2 },
        { ",\"outputs\":[{\"name\":\"b\"}],\"parameters\":{\"a\":{},"
          "\"binary_data_output\":true}", 2, 2 },
        { ",\"outputs\":[{\"name\":\"a\",\"parameters\":{\"binary_data\":"
          "false}}]", 1, 0 },
        { ",\"outputs\":[{\"name\":\"b\",\"parameters\":{\"binary_data\":"
          "true}},{\"name\":\"b\",\"parameters\":{\"binary_data\":false}}]",
          2, 0 },
    };

    char  json[512];

    memset(outputs, 0, sizeof(outputs));
    outputs[0].name = "a";
    outputs[0].ndims = 1;
    outputs[0].dims[0] = 3;
    outputs[0].size = 3;
    outputs[1].name = "b";
    outputs[1].ndims = 1;
    outputs[1].dims[0] = 2;
    outputs[1].size = 2;
    outputs[1].offset = 3;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(json, sizeof(json), "{\"inputs\":[{\"name\":\"x\","
                 "\"shape\":[3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]%s}",
                 cases[i].tail);

        p = infer_v2_parser_create(&opts, outputs, 2, &infer_alloc_libc);
        CHECK(infer_v2_parse(p, (const unsigned char *) json, strlen(json))
              == INFER_OK);
        CHECK(infer_v2_finish(p, &req) == INFER_OK);
        CHECK(req.outputs == cases[i].outputs);
        CHECK(req.binary == cases[i].binary);

        if (req.binary != cases[i].binary) {
            printf("# case %zu: %s\n", i, infer_v2_error(p));
        }

        infer_v2_parser_free(p);
    }
}


/* the JSON, then each binary output's floats, little-endian, in order */

static void
test_binary_writer(void)
{
    char                  text[512];
    size_t                json_len;
    infer_buf_t           out;
    infer_v2_response_t   resp;
    infer_tensor_t        outputs[2];
    infer_v2_model_t      m = {
        "img", 3, "2", 1, "onnx", 4, 5, NULL, outputs, 2
    };
    const float           y[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10.25f };

    memset(outputs, 0, sizeof(outputs));
    outputs[0].name = "a";
    outputs[0].ndims = 1;
    outputs[0].dims[0] = 3;
    outputs[0].size = 3;
    outputs[1].name = "b";
    outputs[1].ndims = 1;
    outputs[1].dims[0] = 2;
    outputs[1].size = 2;
    outputs[1].offset = 3;
    m.input = &outputs[0];

    memset(&resp, 0, sizeof(resp));
    resp.model = &m;
    resp.y = y;
    resp.rows = 2;
    resp.binary = 2;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    json_len = out.len;
    CHECK(infer_v2_write_binary(&out, &resp) == INFER_OK);
    CHECK(out.len == json_len + 16);
    snprintf(text, sizeof(text), "%.*s", (int) json_len, out.data);
    CHECK_STR(text, "{\"model_name\":\"img\",\"model_version\":\"2\","
                    "\"outputs\":[{\"name\":\"a\",\"shape\":[2,3],"
                    "\"datatype\":\"FP32\",\"data\":[1,2,3,6,7,8]},{\"name\":"
                    "\"b\",\"shape\":[2,2],\"datatype\":\"FP32\","
                    "\"parameters\":{\"binary_data_size\":16}}]}");
    CHECK(memcmp(out.data + json_len, "\x00\x00\x80\x40\x00\x00\xa0\x40\x00"
                 "\x00\x10\x41\x00\x00\x24\x41", 16) == 0);
    infer_buf_release(&out);

    /* both, a then b; one asked for by name; none binary: no bytes */

    resp.binary = 3;
    resp.id = "7";
    resp.id_len = 1;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    json_len = out.len;
    CHECK(infer_v2_write_binary(&out, &resp) == INFER_OK);
    snprintf(text, sizeof(text), "%.*s", (int) json_len, out.data);
    CHECK_STR(text, "{\"model_name\":\"img\",\"model_version\":\"2\",\"id\":"
                    "\"7\",\"outputs\":[{\"name\":\"a\",\"shape\":[2,3],"
                    "\"datatype\":\"FP32\",\"parameters\":{"
                    "\"binary_data_size\":24}},{\"name\":\"b\",\"shape\":"
                    "[2,2],\"datatype\":\"FP32\",\"parameters\":{"
                    "\"binary_data_size\":16}}]}");
    CHECK(out.len == json_len + 40);
    CHECK(memcmp(out.data + json_len, "\x00\x00\x80\x3f\x00\x00\x00\x40\x00"
                 "\x00\x40\x40\x00\x00\xc0\x40\x00\x00\xe0\x40\x00\x00\x00"
                 "\x41\x00\x00\x80\x40\x00\x00\xa0\x40\x00\x00\x10\x41\x00"
                 "\x00\x24\x41", 40) == 0);
    infer_buf_release(&out);

    resp.outputs = 1;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_response(&out, &resp) == INFER_OK);
    json_len = out.len;
    CHECK(infer_v2_write_binary(&out, &resp) == INFER_OK);
    CHECK(out.len == json_len + 24);
    infer_buf_release(&out);

    resp.binary = 0;

    infer_buf_init(&out, &infer_alloc_libc);
    CHECK(infer_v2_write_binary(&out, &resp) == INFER_OK);
    CHECK(out.len == 0);
    infer_buf_release(&out);
}


void
infer_test_v2(void)
{
    test_routes();
    test_find_model();
    test_datatypes();
    test_layouts();
    test_bad_requests();
    test_missing_values();
    test_limits();
    test_id_echo();
    test_id_utf8();
    test_chunking();
    test_writers();
    test_round_trip();
    test_tensors();
    test_binary_datatypes();
    test_binary_header();
    test_binary_errors();
    test_binary_values();
    test_binary_chunking();
    test_binary_outputs();
    test_binary_writer();
}
