/*
 * The model interface and the linear format: exact outputs, and the exact
 * message for each kind of bad model file.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "infer_model.h"
#include "infer_unit_test.h"


static infer_model_t *load(const char *json, int *rc, char *err);
static void test_example_file(void);
static void test_multi_output_logistic(void);
static void test_bad_files(void);
static void test_bad_models(void);


static infer_model_t *
load(const char *json, int *rc, char *err)
{
    infer_model_t  *m = NULL;

    *rc = infer_model_load_buffer(&m, (const unsigned char *) json,
                                  strlen(json), NULL, err, INFER_ERRLEN);

    return m;
}


static void
test_example_file(void)
{
    int             rc;
    char            err[INFER_ERRLEN];
    float           y[2];
    infer_model_t  *m = NULL;
    const float     x[] = { 1.0f, 2.0f, 3.5f, 0.5f, 1.5f, 2.0f };

    rc = infer_model_load_file(&m, "conf/models/example-linear.json", NULL,
                               err, sizeof(err));
    CHECK(rc == INFER_OK);

    if (m == NULL) {
        return;
    }

    CHECK(m->nfeatures == 3);
    CHECK(m->noutputs == 1);
    CHECK_STR(infer_model_format(m), "linear");

    CHECK(infer_model_eval(m, x, 2, y) == INFER_OK);
    CHECK(y[0] == 6.5f);
    CHECK(y[1] == 4.0f);

    infer_model_free(m);
}


static void
test_multi_output_logistic(void)
{
    int             rc;
    char            err[INFER_ERRLEN];
    float           y[4];
    infer_model_t  *m;
    const float     x[] = { 0.0f, 0.0f, 2.0f, -1.0f };

    m = load("{\"weights\":[[1,0],[0,1]],\"bias\":[0,0],"
             "\"link\":\"logistic\"}", &rc, err);
    CHECK(rc == INFER_OK);

    if (m == NULL) {
        return;
    }

    CHECK(m->nfeatures == 2);
    CHECK(m->noutputs == 2);

    CHECK(infer_model_eval(m, x, 2, y) == INFER_OK);
    CHECK(y[0] == 0.5f && y[1] == 0.5f);
    CHECK(y[2] == (float) (1.0 / (1.0 + exp(-2.0))));
    CHECK(y[3] == (float) (1.0 / (1.0 + exp(1.0))));

    infer_model_free(m);

    /* a scalar bias and the default link */

    m = load("{\"weights\":[2,-1],\"bias\":0.25}", &rc, err);
    CHECK(rc == INFER_OK);

    if (m != NULL) {
        CHECK(infer_model_eval(m, x + 2, 1, y) == INFER_OK);
        CHECK(y[0] == 5.25f);
        infer_model_free(m);
    }
}


static void
test_bad_files(void)
{
    int             rc;
    char            err[INFER_ERRLEN], dir[] = "/tmp/infer-test-XXXXXX";
    infer_model_t  *m = NULL;

    rc = infer_model_load_file(&m, "/nonexistent/model.json", NULL, err,
                               sizeof(err));
    CHECK(rc == INFER_ESYS && errno == ENOENT);
    CHECK_STR(err, "open()");

    CHECK(mkdtemp(dir) != NULL);
    rc = infer_model_load_file(&m, dir, NULL, err, sizeof(err));
    CHECK(rc == INFER_ESYS && errno == EISDIR);
    CHECK_STR(err, "read()");
    rmdir(dir);

    CHECK(m == NULL);
}


static void
test_bad_models(void)
{
    size_t          i;
    int             rc;
    char            err[INFER_ERRLEN];
    infer_model_t  *m;

    static const struct {
        const char  *json;
        int          rc;
        const char  *err;
    } cases[] = {
        { "", INFER_EINVAL, "the file is empty" },
        { "{\"weights\":[1,2", INFER_EJSON,
          "malformed JSON near byte 15: parse error: premature EOF" },
        { "{\"weights\" [1]}", INFER_EJSON,
          "malformed JSON near byte 12: parse error: object key and value "
          "must be separated by a colon (':')" },
        { "[1,2,3]", INFER_EINVAL, "a model must be a JSON object" },
        { "{\"trees\":[]}", INFER_EINVAL,
          "unknown model format: a linear model has \"weights\", an "
          "XGBoost model has \"learner\"" },
        { "{\"weights\":[1],\"wieghts\":[2]}", INFER_EINVAL,
          "unknown key \"wieghts\" in a linear model" },
        { "{\"weights\":[]}", INFER_EINVAL,
          "\"weights\" must be a non-empty array" },
        { "{\"weights\":{}}", INFER_EINVAL,
          "\"weights\" must be a non-empty array" },
        { "{\"weights\":[[1,2],[3]]}", INFER_EINVAL,
          "weights[1] must be an array of 2 numbers, as weights[0] is" },
        { "{\"weights\":[1,\"2\"]}", INFER_EINVAL,
          "weights[1] is not a finite number" },
        { "{\"weights\":[[1,2],[3,1e999]]}", INFER_EINVAL,
          "weights[1][1] is not a finite number" },
        { "{\"weights\":[[1],[2]],\"bias\":1}", INFER_EINVAL,
          "\"bias\" must be an array of 2 numbers" },
        { "{\"weights\":[1],\"bias\":[1,2]}", INFER_EINVAL,
          "\"bias\" must be a number or an array of 1 numbers" },
        { "{\"weights\":[1],\"bias\":[null]}", INFER_EINVAL,
          "bias[0] is not a finite number" },
        { "{\"weights\":[1],\"link\":\"softmax\"}", INFER_EINVAL,
          "\"link\" must be \"identity\" or \"logistic\"" },
        { "{\"format\":\"onnx\",\"weights\":[1]}", INFER_EINVAL,
          "\"format\" must be \"linear\"" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        m = load(cases[i].json, &rc, err);

        CHECK(m == NULL);
        CHECK(rc == cases[i].rc);

        CHECK_STR(err, cases[i].err);
    }

    /* a NUL byte cannot reach the text parser */

    rc = infer_model_load_buffer(&m, (const unsigned char *) "{\0}", 3, NULL,
                                 err, sizeof(err));
    CHECK(rc == INFER_EJSON);
    CHECK_STR(err, "not an ONNX or JSON model: the file has a NUL byte");

    rc = infer_model_load_buffer(&m, (const unsigned char *) "{}", 2,
                                 "pickle", err, sizeof(err));
    CHECK(rc == INFER_EINVAL);
    CHECK_STR(err, "unknown format \"pickle\"");
}


void
infer_test_model(void)
{
    test_example_file();
    test_multi_output_logistic();
    test_bad_files();
    test_bad_models();
}
