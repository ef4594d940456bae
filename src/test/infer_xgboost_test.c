/*
 * The XGBoost format: every row of every fixture in t/models/ against the
 * prediction XGBoost made for it, hand-written models whose expected
 * outputs XGBoost 1.7.4 computed (the bits are written down), and the
 * exact message for each model the format refuses.
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "infer_model.h"
#include "infer_unit_test.h"


#define XGB_FIXTURES  "t/models/"


typedef struct {
    size_t          nfeatures;
    size_t          noutputs;
    size_t          rows;
    float          *x;
    float          *y;
} xgb_ref_t;



static void test_fixtures(void);
static size_t test_fixture(const char *name, size_t *exact, size_t *close);
static int read_ref(const char *name, xgb_ref_t *ref);
static char *read_file(const char *path);
static float number(yajl_val v);
static void test_routing(void);
static void test_objectives(void);
static void test_deep(void);
static void test_wide(size_t nfeatures);
static void test_stump_and_deleted(void);
static void test_base_score_forms(void);
static void test_refused(void);
static void test_detection(void);
static char *tree3(char *p, size_t id, size_t feature, const char *thr,
    const char *left, const char *right, int default_left);
static char *model(const char *objective, const char *base_score,
    size_t nclass, size_t nfeatures, size_t ntrees, const char *info,
    const char *trees);
static char *edit(const char *s, const char *from, const char *to);
static infer_model_t *load(const char *json, int *rc, char *err);
static uint32_t bits(float f);
static int eval_is(const char *json, const float *x, size_t rows,
    const uint32_t *want);


static const char  *fixtures[] = {
    "bc_logistic", "bc_logitraw", "bc_earlystop", "bc_forest",
    "diabetes_squarederror", "diabetes_poisson", "diabetes_gamma",
    "diabetes_tweedie", "diabetes_absoluteerror", "diabetes_pseudohuber",
    "iris_softprob", "digits_softmax", "wine_logistic", NULL
};


/* one tree: node 0 splits on feature 1 at 0.5, leaves -1.5 and 2.5 */

static const char  base_model[] =
    "{\"learner\":{\"attributes\":{},\"feature_names\":[],"
    "\"feature_types\":[],\"gradient_booster\":{\"model\":{"
    "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
    "\"num_trees\":\"1\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0],"
    "\"trees\":[{\"base_weights\":[0,0,0],\"categories\":[],"
    "\"categories_nodes\":[],\"categories_segments\":[],"
    "\"categories_sizes\":[],\"default_left\":[1,0,0],\"id\":0,"
    "\"left_children\":[1,-1,-1],\"loss_changes\":[0,0,0],"
    "\"parents\":[2147483647,0,0],\"right_children\":[2,-1,-1],"
    "\"split_conditions\":[0.5,-1.5,2.5],\"split_indices\":[1,0,0],"
    "\"split_type\":[0,0,0],\"sum_hessian\":[1,1,1],"
    "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\","
    "\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"}}]},"
    "\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":"
    "\"5E-1\",\"boost_from_average\":\"1\",\"num_class\":\"0\","
    "\"num_feature\":\"2\",\"num_target\":\"1\"},\"objective\":{\"name\":"
    "\"reg:squarederror\",\"reg_loss_param\":{\"scale_pos_weight\":"
    "\"1\"}}},\"version\":[1,7,4]}";


void
infer_test_xgboost(void)
{
    test_fixtures();
    test_routing();
    test_objectives();
    test_deep();
    test_wide(37);                      /* 4 full blocks, 16 walked at once */
    test_wide(2000);                    /* fits the row buffer */
    test_wide(2100);                    /* does not: walks the row itself */
    test_stump_and_deleted();
    test_base_score_forms();
    test_refused();
    test_detection();
}


static void
test_fixtures(void)
{
    size_t        n, exact, close, total;
    const char  **f;

    total = 0;
    exact = 0;
    close = 0;

    for (f = fixtures; *f != NULL; f++) {
        n = test_fixture(*f, &exact, &close);
        CHECK(n > 0);
        total += n;
    }

    printf("xgboost: %zu fixture outputs, %zu bit-exact, %zu within 1e-6 "
           "relative\n", total, exact, close);
}


/* every row in one batch, then one at a time: the same floats */

static size_t
test_fixture(const char *name, size_t *exact, size_t *close)
{
    int             ok;
    char            path[256], err[INFER_ERRLEN];
    float           g, w, *y, *y1;
    size_t          i, j, n, bad;
    xgb_ref_t       ref;
    infer_model_t  *m;

    if (read_ref(name, &ref) != 0) {
        printf("not ok: cannot read the reference of %s\n", name);
        CHECK(0);
        return 0;
    }

    snprintf(path, sizeof(path), XGB_FIXTURES "%s.json", name);

    m = NULL;
    CHECK(infer_model_load_file(&m, path, NULL, err, sizeof(err))
          == INFER_OK);

    if (m == NULL) {
        printf("not ok: %s: %s\n", path, err);
        free(ref.x);
        free(ref.y);
        return 0;
    }

    CHECK_STR(infer_model_format(m), "xgboost");
    CHECK(m->missing_ok);
    CHECK(m->nfeatures == ref.nfeatures);
    CHECK(m->noutputs == ref.noutputs);

    n = ref.rows * ref.noutputs;
    y = calloc(n, sizeof(float));
    y1 = calloc(n, sizeof(float));

    if (y == NULL || y1 == NULL || m->nfeatures != ref.nfeatures
        || m->noutputs != ref.noutputs)
    {
        CHECK(0);
        n = 0;
        goto done;
    }

    CHECK(infer_model_eval(m, ref.x, ref.rows, y) == INFER_OK);

    for (i = 0; i < ref.rows; i++) {
        (void) infer_model_eval(m, ref.x + i * ref.nfeatures, 1,
                                y1 + i * ref.noutputs);
    }

    CHECK(memcmp(y, y1, n * sizeof(float)) == 0);

    bad = 0;

    for (j = 0; j < n; j++) {
        g = y[j];
        w = ref.y[j];
        ok = 1;

        if (g == w) {
            (*exact)++;

        } else if (fabs((double) g - w) <= 1e-6 * fabs((double) w)) {
            (*close)++;

        } else {
            ok = 0;
        }

        if (!ok && bad++ < 3) {
            printf("not ok: %s row %zu output %zu: %.9g, XGBoost %.9g\n",
                   name, j / ref.noutputs, j % ref.noutputs, g, w);
        }
    }

    CHECK(bad == 0);

done:

    free(y);
    free(y1);
    free(ref.x);
    free(ref.y);
    infer_model_free(m);

    return n;
}


/*
 * NAME.ref.json: "rows" (null is a missing value) and "predictions", a
 * number per row or an array of noutputs.  Numbers are read as the
 * request codec reads them: a double rounded to a float.
 */

static int
read_ref(const char *name, xgb_ref_t *ref)
{
    char        path[256], *text;
    size_t      i, j;
    yajl_val    root, rows, preds, row, p;
    const char *nf[] = { "nfeatures", NULL };
    const char *no[] = { "noutputs", NULL };
    const char *r[] = { "rows", NULL };
    const char *pr[] = { "predictions", NULL };

    memset(ref, 0, sizeof(xgb_ref_t));
    snprintf(path, sizeof(path), XGB_FIXTURES "%s.ref.json", name);

    text = read_file(path);
    if (text == NULL) {
        return -1;
    }

    root = yajl_tree_parse(text, NULL, 0);
    free(text);

    if (root == NULL) {
        return -1;
    }

    rows = yajl_tree_get(root, r, yajl_t_array);
    preds = yajl_tree_get(root, pr, yajl_t_array);

    if (rows == NULL || preds == NULL
        || yajl_tree_get(root, nf, yajl_t_number) == NULL
        || yajl_tree_get(root, no, yajl_t_number) == NULL)
    {
        yajl_tree_free(root);
        return -1;
    }

    ref->nfeatures = YAJL_GET_INTEGER(yajl_tree_get(root, nf, yajl_t_number));
    ref->noutputs = YAJL_GET_INTEGER(yajl_tree_get(root, no, yajl_t_number));
    ref->rows = YAJL_GET_ARRAY(rows)->len;

    ref->x = calloc(ref->rows * ref->nfeatures + 1, sizeof(float));
    ref->y = calloc(ref->rows * ref->noutputs + 1, sizeof(float));

    if (ref->x == NULL || ref->y == NULL
        || YAJL_GET_ARRAY(preds)->len != ref->rows)
    {
        yajl_tree_free(root);
        return -1;
    }

    for (i = 0; i < ref->rows; i++) {
        row = YAJL_GET_ARRAY(rows)->values[i];
        p = YAJL_GET_ARRAY(preds)->values[i];

        if (!YAJL_IS_ARRAY(row) || YAJL_GET_ARRAY(row)->len != ref->nfeatures
            || (ref->noutputs > 1
                && (!YAJL_IS_ARRAY(p)
                    || YAJL_GET_ARRAY(p)->len != ref->noutputs)))
        {
            yajl_tree_free(root);
            return -1;
        }

        for (j = 0; j < ref->nfeatures; j++) {
            ref->x[i * ref->nfeatures + j] =
                number(YAJL_GET_ARRAY(row)->values[j]);
        }

        for (j = 0; j < ref->noutputs; j++) {
            ref->y[i * ref->noutputs + j] =
                number(ref->noutputs > 1 ? YAJL_GET_ARRAY(p)->values[j] : p);
        }
    }

    yajl_tree_free(root);

    return 0;
}


static char *
read_file(const char *path)
{
    long   len;
    FILE  *f;
    char  *text;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    text = NULL;

    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0)
    {
        text = malloc((size_t) len + 1);

        if (text != NULL && fread(text, 1, (size_t) len, f) == (size_t) len) {
            text[len] = '\0';

        } else {
            free(text);
            text = NULL;
        }
    }

    fclose(f);

    return text;
}


static float
number(yajl_val v)
{
    if (YAJL_IS_NULL(v)) {
        return NAN;
    }

    return YAJL_IS_NUMBER(v) ? (float) strtod(YAJL_GET_NUMBER(v), NULL)
                             : -12345.0f;
}


/* x < threshold goes left; a missing value goes where default_left says */

static void
test_routing(void)
{
    char            *json;
    const float      x[] = { 0.0f, 0.2f, 0.0f, 0.5f, 0.0f, NAN, NAN, 0.7f,
                             0.0f, 0.4999999f };
    const uint32_t   left[] = { 0xbf800000, 0x40400000, 0xbf800000,
                                0x40400000, 0xbf800000 };
    const uint32_t   right[] = { 0xbf800000, 0x40400000, 0x40400000,
                                 0x40400000, 0xbf800000 };

    CHECK(eval_is(base_model, x, 5, left));

    json = edit(base_model, "\"default_left\":[1,0,0]",
                "\"default_left\":[0,0,0]");
    CHECK(eval_is(json, x, 5, right));
    free(json);

    /* XGBoost 2 may write booleans */

    json = edit(base_model, "\"default_left\":[1,0,0]",
                "\"default_left\":[false,false,false]");
    CHECK(eval_is(json, x, 5, right));
    free(json);
}


static void
test_objectives(void)
{
    char            *json, trees[4096], *p;
    const float      x2[] = { 0.0f, 0.0f, 0.0f, 1.0f };
    const float      x3[] = { 0.0f, 0.0f, 1.0f, 1.0f, NAN, NAN };
    const uint32_t   sigmoid[] = { 0x0020bd47, 0x3f800000 };
    const uint32_t   hinge[] = { 0x00000000, 0x3f800000 };
    const uint32_t   logit[] = { 0x3d8dc74c, 0x3f4d6a59 };
    const uint32_t   poisson[] = { 0x3ee47c3c, 0x41c2eb7f };
    const uint32_t   identity[] = { 0x3f800000, 0x40a00000 };
    const uint32_t   softprob[] = { 0x3e9ee348, 0x3f282eca, 0x3d05f925,
                                    0x3cae416a, 0x3d980d89, 0x3f678c44,
                                    0x3e9ee348, 0x3f282eca, 0x3d05f925 };
    const uint32_t   softmax[] = { 0x3f800000, 0x40000000, 0x3f800000 };
    const uint32_t   first[] = { 0x00000000 };

    /* a margin of -100: the capped exponent gives a denormal, not 0 */

    p = tree3(trees, 0, 1, "0.5", "-100", "100", 1);
    *p = '\0';
    json = model("binary:logistic", "5E-1", 0, 2, 1, "[0]", trees);
    CHECK(eval_is(json, x2, 2, sigmoid));
    free(json);

    p = tree3(trees, 0, 1, "0.5", "-0.5", "0.25", 1);
    *p = '\0';
    json = model("binary:hinge", "0", 0, 2, 1, "[0]", trees);
    CHECK(eval_is(json, x2, 2, hinge));
    free(json);

    /* base_score is a probability for logistic, a mean for poisson */

    p = tree3(trees, 0, 1, "0.5", "-1.5", "2.5", 1);
    *p = '\0';
    json = model("binary:logistic", "2.5E-1", 0, 2, 1, "[0]", trees);
    CHECK(eval_is(json, x2, 2, logit));
    free(json);

    json = model("count:poisson", "2E0", 0, 2, 1, "[0]", trees);
    CHECK(eval_is(json, x2, 2, poisson));
    free(json);

    json = model("reg:squaredlogerror", "2.5E0", 0, 2, 1, "[0]", trees);
    CHECK(eval_is(json, x2, 2, identity));
    free(json);

    json = model("reg:linear", "2.5E0", 0, 2, 1, "[0]", trees);
    CHECK(eval_is(json, x2, 2, identity));
    free(json);

    /* three classes, one tree each; the missing row takes the defaults */

    p = tree3(trees, 0, 1, "0.5", "0.25", "-0.75", 1);
    *p++ = ',';
    p = tree3(p, 1, 0, "0.5", "1.0", "0.5", 1);
    *p++ = ',';
    p = tree3(p, 2, 1, "0.5", "-2.0", "3.0", 1);
    *p = '\0';

    json = model("multi:softprob", "5E-1", 3, 2, 3, "[0,1,2]", trees);
    CHECK(eval_is(json, x3, 3, softprob));
    free(json);

    json = model("multi:softmax", "5E-1", 3, 2, 3, "[0,1,2]", trees);
    CHECK(eval_is(json, x3, 3, softmax));
    free(json);

    /* equal margins: softmax answers the first class, as XGBoost does */

    p = tree3(trees, 0, 1, "0.5", "1", "1", 1);
    *p++ = ',';
    p = tree3(p, 1, 1, "0.5", "1", "1", 1);
    *p++ = ',';
    p = tree3(p, 2, 1, "0.5", "0.5", "0.5", 1);
    *p = '\0';

    json = model("multi:softmax", "5E-1", 3, 2, 3, "[0,1,2]", trees);
    CHECK(eval_is(json, x3, 1, first));
    free(json);
}


/*
 * A chain 10 deep (node 2k splits on feature k % 2 at 0.1 (k + 1), its
 * left child is a leaf k + 1, missing values go left when k is odd) and
 * the base model's tree: a block too deep for the perfect layout.
 */

static void
test_deep(void)
{
    int              k;
    char            *json, *trees, *p;
    const float      x[] = { 0.05f, 0.05f, 0.15f, 0.35f, 0.55f, 0.45f,
                             0.95f, 1.05f, 2.0f, 2.0f, NAN, 0.3f,
                             0.3f, NAN, NAN, NAN };
    const uint32_t   want[] = { 0x00000000, 0x40000000, 0x40a00000,
                                0x42ce0000, 0x42ce0000, 0x40400000,
                                0x3f800000, 0x3f800000 };

    trees = malloc(8192);
    if (trees == NULL) {
        CHECK(0);
        return;
    }

    p = trees;
    p += sprintf(p, "{\"id\":0,\"tree_param\":{\"num_feature\":\"2\","
                 "\"num_nodes\":\"21\",\"size_leaf_vector\":\"0\"},"
                 "\"left_children\":[");

    for (k = 0; k < 21; k++) {
        p += sprintf(p, "%s%d", k ? "," : "", (k % 2 || k == 20) ? -1 : k + 1);
    }

    p += sprintf(p, "],\"right_children\":[");

    for (k = 0; k < 21; k++) {
        p += sprintf(p, "%s%d", k ? "," : "", (k % 2 || k == 20) ? -1 : k + 2);
    }

    p += sprintf(p, "],\"split_indices\":[");

    for (k = 0; k < 21; k++) {
        p += sprintf(p, "%s%d", k ? "," : "", k % 2 ? 0 : (k / 2) % 2);
    }

    p += sprintf(p, "],\"default_left\":[");

    for (k = 0; k < 21; k++) {
        p += sprintf(p, "%s%d", k ? "," : "", k % 2 ? 0 : (k / 2) % 2);
    }

    p += sprintf(p, "],\"split_conditions\":[");

    for (k = 0; k < 21; k++) {
        if (k == 20) {
            p += sprintf(p, ",100.0");

        } else if (k % 2) {
            p += sprintf(p, ",%d.0", k / 2 + 1);

        } else {
            p += sprintf(p, "%s%.1f", k ? "," : "", 0.1 * (k / 2 + 1));
        }
    }

    p += sprintf(p, "]},");
    p = tree3(p, 1, 1, "0.5", "-1.5", "2.5", 1);
    *p = '\0';

    json = model("reg:squarederror", "5E-1", 0, 2, 2, "[0,0]", trees);
    CHECK(eval_is(json, x, 8, want));

    free(json);
    free(trees);
}


/*
 * One stump per feature: feature t at 0.5, leaves -1 and 1, missing
 * values left when t is odd.  A row of 0, 1, NaN, 0, 1, NaN...: the sum
 * is exact in float, so computed here.
 */

static void
test_wide(size_t nfeatures)
{
    int             rc;
    char           *trees, *info, *json, *p, *q, err[INFER_ERRLEN];
    float          *x, y, sum;
    size_t          t;
    infer_model_t  *m;

    trees = malloc(nfeatures * 320);
    info = malloc(nfeatures * 4 + 8);
    x = calloc(nfeatures, sizeof(float));

    if (trees == NULL || info == NULL || x == NULL) {
        CHECK(0);
        goto done;
    }

    p = trees;
    q = info;
    *q++ = '[';
    sum = 0.5f;

    for (t = 0; t < nfeatures; t++) {
        if (t > 0) {
            *p++ = ',';
            *q++ = ',';
        }

        p = tree3(p, t, t, "0.5", "-1", "1", (int) (t % 2));
        *q++ = '0';

        x[t] = (t % 3 == 0) ? 0.0f : (t % 3 == 1) ? 1.0f : NAN;

        if (t % 3 == 0 || (t % 3 == 2 && t % 2)) {
            sum += -1.0f;

        } else {
            sum += 1.0f;
        }
    }

    *p = '\0';
    *q++ = ']';
    *q = '\0';

    json = model("reg:squarederror", "5E-1", 0, nfeatures, nfeatures, info,
                 trees);
    m = load(json, &rc, err);
    free(json);

    CHECK(rc == INFER_OK);

    if (m != NULL) {
        CHECK(infer_model_eval(m, x, 1, &y) == INFER_OK);
        CHECK(y == sum);
        infer_model_free(m);
    }

done:

    free(trees);
    free(info);
    free(x);
}


static void
test_stump_and_deleted(void)
{
    char            *json;
    const float      x[] = { 0.0f, 0.2f, NAN, NAN };
    const uint32_t   stump[] = { 0x3fa00000, 0x3fa00000 };
    const uint32_t   left[] = { 0xbf800000, 0xbf800000 };

    /* a tree that is one leaf: 0.5 + 0.75 whatever the row */

    json = edit(base_model, "\"num_nodes\":\"3\"", "\"num_nodes\":\"1\"");
    json = edit(json, "\"left_children\":[1,-1,-1]",
                "\"left_children\":[-1]");
    json = edit(json, "\"right_children\":[2,-1,-1]",
                "\"right_children\":[-1]");
    json = edit(json, "\"split_indices\":[1,0,0]", "\"split_indices\":[0]");
    json = edit(json, "\"split_conditions\":[0.5,-1.5,2.5]",
                "\"split_conditions\":[0.75]");
    json = edit(json, "\"default_left\":[1,0,0]", "\"default_left\":[0]");
    json = edit(json, "\"split_type\":[0,0,0]", "\"split_type\":[0]");
    CHECK(eval_is(json, x, 2, stump));
    free(json);

    /* nodes 3 and 4, deleted by a pruner, point anywhere: not reached */

    json = edit(base_model, "\"num_nodes\":\"3\"", "\"num_nodes\":\"5\"");
    json = edit(json, "\"left_children\":[1,-1,-1]",
                "\"left_children\":[1,-1,-1,4,3]");
    json = edit(json, "\"right_children\":[2,-1,-1]",
                "\"right_children\":[2,-1,-1,0,0]");
    json = edit(json, "\"split_indices\":[1,0,0]",
                "\"split_indices\":[1,0,0,0,0]");
    json = edit(json, "\"split_conditions\":[0.5,-1.5,2.5]",
                "\"split_conditions\":[0.5,-1.5,2.5,0,0]");
    json = edit(json, "\"default_left\":[1,0,0]",
                "\"default_left\":[1,0,0,0,0]");
    json = edit(json, "\"split_type\":[0,0,0]",
                "\"split_type\":[0,0,0,0,0]");
    CHECK(eval_is(json, x, 2, left));
    free(json);
}


/* "5E-1" (XGBoost 1 and 2), "[5E-1]" (3.1), one per class, a number */

static void
test_base_score_forms(void)
{
    char            *json, trees[2048], *p;
    const float      x[] = { 0.0f, 0.0f };
    const uint32_t   one[] = { 0xbf800000 };
    const uint32_t   two[] = { 0x40000000 };

    json = edit(base_model, "\"base_score\":\"5E-1\"",
                "\"base_score\":\"[5E-1]\"");
    CHECK(eval_is(json, x, 1, one));
    free(json);

    json = edit(base_model, "\"base_score\":\"5E-1\"",
                "\"base_score\":0.5");
    CHECK(eval_is(json, x, 1, one));
    free(json);

    json = edit(base_model, "\"base_score\":\"5E-1\",", "");
    CHECK(eval_is(json, x, 1, one));
    free(json);

    /* margins of 0.25 + 0, 1 + 0, -2 + 5: class 2 */

    p = tree3(trees, 0, 1, "0.5", "0.25", "-0.75", 1);
    *p++ = ',';
    p = tree3(p, 1, 0, "0.5", "1.0", "0.5", 1);
    *p++ = ',';
    p = tree3(p, 2, 1, "0.5", "-2.0", "3.0", 1);
    *p = '\0';

    json = model("multi:softmax", "[0,0,5E0]", 3, 2, 3, "[0,1,2]", trees);
    CHECK(eval_is(json, x, 1, two));
    free(json);
}


static void
test_refused(void)
{
    int             rc;
    char           *json, err[INFER_ERRLEN];
    size_t          i;
    infer_model_t  *m;

    static const struct {
        const char  *from;
        const char  *to;
        const char  *from2;
        const char  *to2;
        int          rc;
        const char  *err;
    } cases[] = {

        { "\"name\":\"gbtree\"", "\"name\":\"dart\"", NULL, NULL,
          INFER_EINVAL, "learner.gradient_booster.name is \"dart\": only "
          "gbtree boosters are supported" },
        { "\"name\":\"gbtree\"", "\"name\":\"gblinear\"", NULL, NULL,
          INFER_EINVAL, "learner.gradient_booster.name is \"gblinear\": "
          "only gbtree boosters are supported" },
        { "\"name\":\"gbtree\"", "\"name\":1", NULL, NULL, INFER_EINVAL,
          "learner.gradient_booster.name must be a string" },
        { "\"split_type\":[0,0,0]", "\"split_type\":[1,0,0]", NULL, NULL,
          INFER_EINVAL, "trees[0].split_type[0] is not 0: categorical "
          "splits are not supported" },
        { "\"categories\":[]", "\"categories\":[3]", NULL, NULL,
          INFER_EINVAL, "trees[0] has categories: categorical splits are "
          "not supported" },
        { "\"num_trees\":\"1\",\"size_leaf_vector\":\"0\"",
          "\"num_trees\":\"1\",\"size_leaf_vector\":\"3\"", NULL, NULL,
          INFER_EINVAL, "gbtree_model_param.size_leaf_vector is 3: "
          "multi-target trees are not supported" },
        { "\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"",
          "\"num_nodes\":\"3\",\"size_leaf_vector\":\"2\"", NULL, NULL,
          INFER_EINVAL, "trees[0]: size_leaf_vector is 2: multi-target "
          "trees are not supported" },
        { "\"num_target\":\"1\"", "\"num_target\":\"2\"", NULL, NULL,
          INFER_EINVAL, "learner_model_param.num_target is 2: "
          "multi-target models are not supported" },
        { "\"num_feature\":\"2\",\"num_target\"",
          "\"num_feature\":\"0\",\"num_target\"", NULL, NULL, INFER_EINVAL,
          "learner_model_param.num_feature must be a positive integer" },
        { "\"num_feature\":\"2\",\"num_target\"",
          "\"num_feature\":\"2x\",\"num_target\"", NULL, NULL,
          INFER_EINVAL,
          "learner_model_param.num_feature must be a positive integer" },
        { "\"num_feature\":\"2\",\"num_target\"",
          "\"num_feature\":\"9999999\",\"num_target\"", NULL, NULL,
          INFER_EINVAL, "learner_model_param.num_feature is 9999999, over "
          "the limit of 1048576" },
        { "\"split_conditions\":[0.5,-1.5,2.5]",
          "\"split_conditions\":[0.5,-1.5]", NULL, NULL, INFER_EINVAL,
          "trees[0].split_conditions must be an array of num_nodes (3) "
          "entries" },
        { "\"left_children\":[1,-1,-1]", "\"left_children\":[7,-1,-1]",
          NULL, NULL, INFER_EINVAL,
          "trees[0].left_children[0] is out of range" },
        { "\"right_children\":[2,-1,-1]", "\"right_children\":[-1,-1,-1]",
          NULL, NULL, INFER_EINVAL,
          "trees[0].right_children[0] is -1: not a node" },
        { "\"right_children\":[2,-1,-1]", "\"right_children\":[1,-1,-1]",
          NULL, NULL, INFER_EINVAL,
          "trees[0]: node 1 is reached twice (from node 0)" },
        { "\"left_children\":[1,-1,-1]", "\"left_children\":[1,0,-1]",
          "\"right_children\":[2,-1,-1]", "\"right_children\":[2,2,-1]",
          INFER_EINVAL, "trees[0].left_children[1] is 0: not a node" },
        { "\"left_children\":[1,-1,-1]", "\"left_children\":[1,2,-1]",
          "\"right_children\":[2,-1,-1]", "\"right_children\":[2,1,-1]",
          INFER_EINVAL, "trees[0]: node 2 is reached twice (from node 1)" },
        { "\"split_indices\":[1,0,0]", "\"split_indices\":[5,0,0]", NULL,
          NULL, INFER_EINVAL,
          "trees[0].split_indices[0] is 5, not below num_feature (2)" },
        { "\"split_conditions\":[0.5,-1.5,2.5]",
          "\"split_conditions\":[1e39,-1.5,2.5]", NULL, NULL,
          INFER_EINVAL, "trees[0].split_conditions[0] is not a finite "
          "32-bit float" },
        { "\"split_conditions\":[0.5,-1.5,2.5]",
          "\"split_conditions\":[0.5,-1.5,9e37]", NULL, NULL, INFER_OK,
          "" },
        { "\"split_conditions\":[0.5,-1.5,2.5]",
          "\"split_conditions\":[0.5,-1.5,3.4e38]", NULL, NULL,
          INFER_EINVAL, "the leaf values of the trees can add up to "
          "3.4e+38, past the float range" },
        { "\"default_left\":[1,0,0]", "\"default_left\":[2,0,0]", NULL,
          NULL, INFER_EINVAL, "trees[0].default_left[0] must be 0 or 1" },
        { "\"id\":0", "\"id\":1", NULL, NULL, INFER_EINVAL,
          "trees[0].id must be 0" },
        { "\"tree_info\":[0]", "\"tree_info\":[1]", NULL, NULL,
          INFER_EINVAL,
          "tree_info[0] must be an output group from 0 to 0" },
        { "\"tree_info\":[0]", "\"tree_info\":[0,0]", NULL, NULL,
          INFER_EINVAL, "\"tree_info\" must be an array of num_trees (1) "
          "integers" },
        { "\"num_trees\":\"1\"", "\"num_trees\":\"2\"", NULL, NULL,
          INFER_EINVAL,
          "\"trees\" must be an array of num_trees (2) trees" },
        { "\"num_nodes\":\"3\"", "\"num_nodes\":\"0\"", NULL, NULL,
          INFER_EINVAL, "trees[0].tree_param.num_nodes must be an integer "
          "from 1 to 16777216" },
        { "\"reg:squarederror\"", "\"rank:ndcg\"", NULL, NULL,
          INFER_EINVAL, "objective \"rank:ndcg\" is not supported" },
        { "\"reg:squarederror\"", "\"multi:softmax\"", NULL, NULL,
          INFER_EINVAL, "objective multi:softmax needs num_class of 2 or "
          "more" },
        { "\"reg:squarederror\"", "\"binary:logistic\"",
          "\"base_score\":\"5E-1\"", "\"base_score\":\"1.5E0\"",
          INFER_EINVAL, "base_score 1.5 is not in [0, 1], as objective "
          "binary:logistic needs" },
        { "\"reg:squarederror\"", "\"count:poisson\"",
          "\"base_score\":\"5E-1\"", "\"base_score\":\"0E0\"",
          INFER_EINVAL, "base_score 0 is not positive, as objective "
          "count:poisson needs" },
        { "\"base_score\":\"5E-1\"", "\"base_score\":\"abc\"", NULL, NULL,
          INFER_EINVAL, "learner_model_param.base_score must be a number, "
          "alone or in brackets" },
        { "\"base_score\":\"5E-1\"", "\"base_score\":\"[5E-1,1]\"", NULL,
          NULL, INFER_EINVAL, "learner_model_param.base_score must be a "
          "number, alone or in brackets" },
        { "\"num_class\":\"0\"", "\"num_class\":\"3\"",
          "\"base_score\":\"5E-1\"", "\"base_score\":\"[1,2]\"",
          INFER_EINVAL, "learner_model_param.base_score must be a number, "
          "alone or in brackets, or 3 in brackets" },
        { "\"num_class\":\"0\"", "\"num_class\":\"5000\"", NULL, NULL,
          INFER_EINVAL, "learner_model_param.num_class is 5000, over the "
          "limit of 1024" },
        { "\"learner_model_param\":{", "\"learner_model_parameters\":{",
          NULL, NULL, INFER_EINVAL,
          "learner.learner_model_param must be an object" },
        { "\"objective\":{\"name\"", "\"objective\":{\"nom\"", NULL, NULL,
          INFER_EINVAL, "learner.objective.name must be a string" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json = edit(base_model, cases[i].from, cases[i].to);

        if (cases[i].from2 != NULL) {
            json = edit(json, cases[i].from2, cases[i].to2);
        }

        err[0] = '\0';
        m = load(json, &rc, err);
        free(json);

        if (rc != cases[i].rc) {
            printf("not ok: case %zu: rc %d, want %d (%s)\n", i, rc,
                   cases[i].rc, err);
        }

        CHECK(rc == cases[i].rc);

        if (cases[i].rc != INFER_OK) {
            CHECK(m == NULL);
            CHECK_STR(err, cases[i].err);
        }

        infer_model_free(m);
    }
}


static void
test_detection(void)
{
    int             rc;
    char            err[INFER_ERRLEN];
    const char     *linear = "{\"weights\":[1,2]}";
    infer_model_t  *m;

    m = NULL;
    rc = infer_model_load_buffer(&m, (const unsigned char *) linear,
                                 strlen(linear), "xgboost", err,
                                 sizeof(err));
    CHECK(rc == INFER_EINVAL && m == NULL);
    CHECK_STR(err, "an XGBoost model has a \"learner\" object");

    m = load("{\"learner\":1}", &rc, err);
    CHECK(rc == INFER_EINVAL && m == NULL);
    CHECK_STR(err, "unknown model format: a linear model has \"weights\", "
              "an XGBoost model has \"learner\"");

    rc = infer_model_load_buffer(&m, (const unsigned char *) base_model,
                                 strlen(base_model), "xgboost", err,
                                 sizeof(err));
    CHECK(rc == INFER_OK);

    if (m != NULL) {
        CHECK_STR(infer_model_format(m), "xgboost");
        CHECK(m->nfeatures == 2 && m->noutputs == 1);
        infer_model_free(m);
    }
}


/* a tree of 3 nodes after p; returns the end */

static char *
tree3(char *p, size_t id, size_t feature, const char *thr, const char *left,
    const char *right, int default_left)
{
    return p + sprintf(p, "{\"id\":%zu,\"tree_param\":{\"num_feature\":"
                       "\"0\",\"num_nodes\":\"3\",\"size_leaf_vector\":"
                       "\"0\"},\"left_children\":[1,-1,-1],"
                       "\"right_children\":[2,-1,-1],\"split_indices\":"
                       "[%zu,0,0],\"split_conditions\":[%s,%s,%s],"
                       "\"default_left\":[%d,0,0],\"split_type\":[0,0,0],"
                       "\"categories\":[]}", id, feature, thr, left, right,
                       default_left);
}


static char *
model(const char *objective, const char *base_score, size_t nclass,
    size_t nfeatures, size_t ntrees, const char *info, const char *trees)
{
    char    *s;
    size_t   len;

    len = strlen(trees) + strlen(info) + 1024;

    s = malloc(len);
    if (s == NULL) {
        return NULL;
    }

    snprintf(s, len, "{\"learner\":{\"gradient_booster\":{\"name\":"
             "\"gbtree\",\"model\":{\"gbtree_model_param\":{\"num_trees\":"
             "\"%zu\",\"size_leaf_vector\":\"0\"},\"tree_info\":%s,"
             "\"trees\":[%s]}},\"learner_model_param\":{\"base_score\":"
             "\"%s\",\"num_class\":\"%zu\",\"num_feature\":\"%zu\","
             "\"num_target\":\"1\"},\"objective\":{\"name\":\"%s\"}},"
             "\"version\":[1,7,4]}", ntrees, info, trees, base_score, nclass,
             nfeatures, objective);

    return s;
}


/* s with the first "from" made "to"; s itself is freed unless base_model */

static char *
edit(const char *s, const char *from, const char *to)
{
    char    *r, *at;
    size_t   n;

    at = strstr(s, from);

    if (at == NULL) {
        printf("not ok: edit: \"%s\" not found\n", from);
        CHECK(0);
        at = (char *) s + strlen(s);
        from = "";
    }

    n = strlen(s) - strlen(from) + strlen(to) + 1;

    r = malloc(n);
    if (r != NULL) {
        snprintf(r, n, "%.*s%s%s", (int) (at - s), s, to, at + strlen(from));
    }

    if (s != base_model) {
        free((char *) s);
    }

    return r;
}


static infer_model_t *
load(const char *json, int *rc, char *err)
{
    infer_model_t  *m = NULL;

    if (json == NULL) {
        *rc = INFER_ERROR;
        return NULL;
    }

    *rc = infer_model_load_buffer(&m, (const unsigned char *) json,
                                  strlen(json), NULL, err, INFER_ERRLEN);

    return m;
}


static uint32_t
bits(float f)
{
    uint32_t  u;

    memcpy(&u, &f, sizeof(u));

    return u;
}


/* the model's outputs for the rows are exactly these bits */

static int
eval_is(const char *json, const float *x, size_t rows, const uint32_t *want)
{
    int             rc, ok;
    char            err[INFER_ERRLEN];
    float           y[64];
    size_t          i, n;
    infer_model_t  *m;

    m = load(json, &rc, err);

    if (m == NULL) {
        printf("not ok: model refused: %s\n", err);
        return 0;
    }

    n = rows * m->noutputs;
    ok = (n <= 64 && infer_model_eval(m, x, rows, y) == INFER_OK);

    for (i = 0; ok && i < n; i++) {
        if (bits(y[i]) != want[i]) {
            printf("not ok: output %zu is %.9g (0x%08x), want 0x%08x\n", i,
                   y[i], bits(y[i]), want[i]);
            ok = 0;
        }
    }

    infer_model_free(m);

    return ok;
}
