/*
 * XGBoost's JSON models, as booster.save_model("m.json") writes them:
 * gbtree boosters of numerical splits, the objectives of infer_xgb_objs[].
 *
 * The output is what XGBoost's Booster.predict() gives, bit for bit: the
 * margin starts at base_score taken to the margin space (logit or log, as
 * the objective's ProbToMargin does), each tree's leaf is added in float,
 * in tree order, to the sum of its output group (tree_info), then the
 * objective's transform runs in float.  Every tree is used, as predict()
 * does by default: best_iteration is ignored.
 *
 * A split sends x left when x < split_condition (a float compare); a
 * missing value (NaN) goes where default_left says.  infer_xgboost.h
 * tells how the trees are laid out for that, infer_xgboost_eval.c walks
 * them.
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "infer_model.h"
#include "infer_xgboost.h"


typedef enum {
    INFER_XGB_MARGIN = 0,                   /* base_score is a margin */
    INFER_XGB_LOGIT,                        /* a probability */
    INFER_XGB_LOG                           /* a mean of a log-link model */
} infer_xgb_base_e;


typedef struct {
    const char             *name;
    infer_xgb_transform_e   transform;
    infer_xgb_base_e        base;
} infer_xgb_obj_t;


/* a tree as read from the file, checked, for the time of the load */
typedef struct {
    uint32_t                nnodes;
    uint32_t                depth;
    uint32_t                group;
    double                  maxleaf;        /* the largest |leaf value| */
    int32_t                *left;
    int32_t                *right;
    uint32_t               *feature;
    float                  *value;
    uint8_t                *default_left;
    uint8_t                *seen;
    uint32_t               *stack;          /* depth-first, then a queue */
    uint32_t               *level;
} infer_xgb_tree_t;


typedef struct {
    size_t                  nfeatures;
    size_t                  ngroups;
    size_t                  ntrees;
    infer_xgb_tree_t       *trees;
    uint32_t               *slot;           /* feature -> used index */
    const infer_xgb_obj_t  *obj;
} infer_xgb_loader_t;


static int infer_xgb_probe(void *root);
static int infer_xgb_load(infer_model_t *m, void *root, char *err,
    size_t errlen);
static int infer_xgb_load_model(infer_model_t *m, infer_xgb_t *xg,
    infer_xgb_loader_t *ld, yajl_val learner, char *err, size_t errlen);
static int infer_xgb_booster(yajl_val learner, yajl_val *model, char *err,
    size_t errlen);
static int infer_xgb_params(infer_xgb_loader_t *ld, yajl_val learner,
    char *err, size_t errlen);
static int infer_xgb_objective(infer_xgb_loader_t *ld, yajl_val learner,
    char *err, size_t errlen);
static int infer_xgb_base_score(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    yajl_val learner, char *err, size_t errlen);
static int infer_xgb_margin(infer_xgb_loader_t *ld, float p, float *margin,
    char *err, size_t errlen);
static int infer_xgb_trees(infer_xgb_loader_t *ld, yajl_val model,
    char *err, size_t errlen);
static int infer_xgb_tree(infer_xgb_loader_t *ld, size_t t, yajl_val tree,
    char *err, size_t errlen);
static int infer_xgb_tree_arrays(infer_xgb_tree_t *tr, size_t t,
    yajl_val tree, char *err, size_t errlen);
static int infer_xgb_tree_check(infer_xgb_loader_t *ld,
    infer_xgb_tree_t *tr, size_t t, yajl_val tree, char *err,
    size_t errlen);
static int infer_xgb_categorical(yajl_val tree, size_t t, char *err,
    size_t errlen);
static int infer_xgb_build(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    char *err, size_t errlen);
static int infer_xgb_features(infer_xgb_t *xg, infer_xgb_loader_t *ld);
static void infer_xgb_fill(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    infer_xgb_tree_t *tr, infer_xgb_block_t *b, uint32_t k, uint32_t node,
    uint32_t pos, uint32_t level);
static uint32_t infer_xgb_flatten(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    infer_xgb_tree_t *tr, uint32_t at);
static uint32_t infer_xgb_slot(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    infer_xgb_tree_t *tr, uint32_t node);
static void infer_xgb_loader_free(infer_xgb_loader_t *ld);

static yajl_val infer_xgb_get(yajl_val obj, const char *key);
static int infer_xgb_uint(yajl_val v, uint64_t max, uint64_t *n);
static int infer_xgb_float(yajl_val v, float *f);

static void infer_xgb_free(infer_model_t *m);


const infer_model_ops_t  infer_xgboost_ops = {
    "xgboost",
    infer_xgb_probe,
    infer_xgb_load,
    NULL,
    NULL,
    infer_xgb_eval,
    infer_xgb_free
};


/*
 * The objectives whose output we reproduce.  binary:logitraw takes
 * base_score as a margin: its ProbToMargin() is the identity.
 */

static const infer_xgb_obj_t  infer_xgb_objs[] = {
    { "reg:squarederror", INFER_XGB_IDENTITY, INFER_XGB_MARGIN },
    { "reg:linear", INFER_XGB_IDENTITY, INFER_XGB_MARGIN },
    { "reg:squaredlogerror", INFER_XGB_IDENTITY, INFER_XGB_MARGIN },
    { "reg:pseudohubererror", INFER_XGB_IDENTITY, INFER_XGB_MARGIN },
    { "reg:absoluteerror", INFER_XGB_IDENTITY, INFER_XGB_MARGIN },
    { "reg:logistic", INFER_XGB_SIGMOID, INFER_XGB_LOGIT },
    { "binary:logistic", INFER_XGB_SIGMOID, INFER_XGB_LOGIT },
    { "binary:logitraw", INFER_XGB_IDENTITY, INFER_XGB_MARGIN },
    { "binary:hinge", INFER_XGB_HINGE, INFER_XGB_MARGIN },
    { "count:poisson", INFER_XGB_EXP, INFER_XGB_LOG },
    { "reg:gamma", INFER_XGB_EXP, INFER_XGB_LOG },
    { "reg:tweedie", INFER_XGB_EXP, INFER_XGB_LOG },
    { "multi:softprob", INFER_XGB_SOFTPROB, INFER_XGB_MARGIN },
    { "multi:softmax", INFER_XGB_SOFTMAX, INFER_XGB_MARGIN },
    { NULL, INFER_XGB_IDENTITY, INFER_XGB_MARGIN }
};


static int
infer_xgb_probe(void *root)
{
    return YAJL_IS_OBJECT(infer_xgb_get(root, "learner"));
}


static int
infer_xgb_load(infer_model_t *m, void *root, char *err, size_t errlen)
{
    int                  rc;
    yajl_val             learner;
    infer_xgb_t         *xg;
    infer_xgb_loader_t   ld;

    learner = infer_xgb_get(root, "learner");

    if (!YAJL_IS_OBJECT(learner)) {
        snprintf(err, errlen, "an XGBoost model has a \"learner\" object");
        return INFER_EINVAL;
    }

    xg = calloc(1, sizeof(infer_xgb_t));
    if (xg == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    m->impl = xg;
    m->missing_ok = 1;

    memset(&ld, 0, sizeof(infer_xgb_loader_t));

    rc = infer_xgb_load_model(m, xg, &ld, learner, err, errlen);

    infer_xgb_loader_free(&ld);

    return rc;
}


static int
infer_xgb_load_model(infer_model_t *m, infer_xgb_t *xg,
    infer_xgb_loader_t *ld, yajl_val learner, char *err, size_t errlen)
{
    int       rc;
    yajl_val  model;

    rc = infer_xgb_booster(learner, &model, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_xgb_params(ld, learner, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_xgb_objective(ld, learner, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_xgb_base_score(xg, ld, learner, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_xgb_trees(ld, model, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_xgb_build(xg, ld, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    xg->ngroups = ld->ngroups;
    xg->transform = ld->obj->transform;

    m->nfeatures = ld->nfeatures;
    m->noutputs = (xg->transform == INFER_XGB_SOFTMAX) ? 1 : ld->ngroups;

    return INFER_OK;
}


/* gbtree only: dart drops trees at random in training, gblinear has none */

static int
infer_xgb_booster(yajl_val learner, yajl_val *model, char *err,
    size_t errlen)
{
    uint64_t    n;
    yajl_val    gb, name, param, v;

    gb = infer_xgb_get(learner, "gradient_booster");
    name = infer_xgb_get(gb, "name");

    if (!YAJL_IS_STRING(name)) {
        snprintf(err, errlen, "learner.gradient_booster.name must be a "
                 "string");
        return INFER_EINVAL;
    }

    if (strcmp(name->u.string, "gbtree") != 0) {
        snprintf(err, errlen, "learner.gradient_booster.name is \"%.32s\": "
                 "only gbtree boosters are supported",
                 name->u.string);
        return INFER_EINVAL;
    }

    *model = infer_xgb_get(gb, "model");

    if (!YAJL_IS_OBJECT(*model)) {
        snprintf(err, errlen, "learner.gradient_booster.model must be an "
                 "object");
        return INFER_EINVAL;
    }

    param = infer_xgb_get(*model, "gbtree_model_param");
    v = infer_xgb_get(param, "size_leaf_vector");

    if (v != NULL) {
        if (infer_xgb_uint(v, UINT32_MAX, &n) != INFER_OK) {
            snprintf(err, errlen, "gbtree_model_param.size_leaf_vector must "
                     "be an unsigned integer");
            return INFER_EINVAL;
        }

        if (n > 1) {
            snprintf(err, errlen, "gbtree_model_param.size_leaf_vector is "
                     "%llu: multi-target trees are not supported",
                     (unsigned long long) n);
            return INFER_EINVAL;
        }
    }

    return INFER_OK;
}


static int
infer_xgb_params(infer_xgb_loader_t *ld, yajl_val learner, char *err,
    size_t errlen)
{
    uint64_t  nfeatures, nclass, ntarget;
    yajl_val  param, v;

    param = infer_xgb_get(learner, "learner_model_param");

    if (!YAJL_IS_OBJECT(param)) {
        snprintf(err, errlen, "learner.learner_model_param must be an "
                 "object");
        return INFER_EINVAL;
    }

    v = infer_xgb_get(param, "num_feature");

    if (infer_xgb_uint(v, UINT64_MAX, &nfeatures) != INFER_OK
        || nfeatures == 0)
    {
        snprintf(err, errlen, "learner_model_param.num_feature must be a "
                 "positive integer");
        return INFER_EINVAL;
    }

    if (nfeatures > INFER_XGB_MAX_FEATURES) {
        snprintf(err, errlen, "learner_model_param.num_feature is %llu, "
                 "over the limit of %d", (unsigned long long) nfeatures,
                 INFER_XGB_MAX_FEATURES);
        return INFER_EINVAL;
    }

    nclass = 0;
    v = infer_xgb_get(param, "num_class");

    if (v != NULL && infer_xgb_uint(v, UINT64_MAX, &nclass) != INFER_OK) {
        snprintf(err, errlen, "learner_model_param.num_class must be an "
                 "unsigned integer");
        return INFER_EINVAL;
    }

    ntarget = 1;
    v = infer_xgb_get(param, "num_target");

    if (v != NULL && infer_xgb_uint(v, UINT64_MAX, &ntarget) != INFER_OK) {
        snprintf(err, errlen, "learner_model_param.num_target must be an "
                 "unsigned integer");
        return INFER_EINVAL;
    }

    if (ntarget > 1) {
        snprintf(err, errlen, "learner_model_param.num_target is %llu: "
                 "multi-target models are not supported",
                 (unsigned long long) ntarget);
        return INFER_EINVAL;
    }

    if (nclass > INFER_XGB_MAX_GROUPS) {
        snprintf(err, errlen, "learner_model_param.num_class is %llu, over "
                 "the limit of %d", (unsigned long long) nclass,
                 INFER_XGB_MAX_GROUPS);
        return INFER_EINVAL;
    }

    ld->nfeatures = (size_t) nfeatures;
    ld->ngroups = nclass > 0 ? (size_t) nclass : 1;

    return INFER_OK;
}


static int
infer_xgb_objective(infer_xgb_loader_t *ld, yajl_val learner, char *err,
    size_t errlen)
{
    yajl_val                name;
    const char             *s;
    const infer_xgb_obj_t  *o;

    name = infer_xgb_get(infer_xgb_get(learner, "objective"), "name");

    if (!YAJL_IS_STRING(name)) {
        snprintf(err, errlen, "learner.objective.name must be a string");
        return INFER_EINVAL;
    }

    s = name->u.string;

    for (o = infer_xgb_objs; o->name != NULL; o++) {
        if (strcmp(o->name, s) == 0) {
            break;
        }
    }

    if (o->name == NULL) {
        snprintf(err, errlen, "objective \"%.48s\" is not supported", s);
        return INFER_EINVAL;
    }

    if ((o->transform == INFER_XGB_SOFTPROB
         || o->transform == INFER_XGB_SOFTMAX)
        && ld->ngroups < 2)
    {
        snprintf(err, errlen, "objective %s needs num_class of 2 or more",
                 o->name);
        return INFER_EINVAL;
    }

    ld->obj = o;

    return INFER_OK;
}


/*
 * base_score is "5E-1" up to XGBoost 3.0, "[5E-1]" from 3.1, where a
 * multi-class model may have one per class.  It is in the output space,
 * taken to the margin space as XGBoost's ProbToMargin() does, in float.
 */

static int
infer_xgb_base_score(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    yajl_val learner, char *err, size_t errlen)
{
    int          rc;
    char        *end;
    float        f;
    size_t       i, n;
    yajl_val     v;
    const char  *s;

    xg->base = calloc(ld->ngroups, sizeof(float));
    if (xg->base == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    v = infer_xgb_get(infer_xgb_get(learner, "learner_model_param"),
                      "base_score");

    if (v == NULL) {
        f = 0.5f;                            /* XGBoost's default */
        n = 1;
        rc = infer_xgb_margin(ld, f, &xg->base[0], err, errlen);
        goto broadcast;
    }

    if (YAJL_IS_NUMBER(v)) {
        if (infer_xgb_float(v, &f) != INFER_OK) {
            goto invalid;
        }

        n = 1;
        rc = infer_xgb_margin(ld, f, &xg->base[0], err, errlen);
        goto broadcast;
    }

    if (!YAJL_IS_STRING(v)) {
        goto invalid;
    }

    s = v->u.string;
    n = 0;
    rc = INFER_OK;

    if (*s != '[') {
        f = strtof(s, &end);

        if (end == s || *end != '\0' || !isfinite(f)) {
            goto invalid;
        }

        n = 1;
        rc = infer_xgb_margin(ld, f, &xg->base[0], err, errlen);
        goto broadcast;
    }

    s++;

    for ( ;; ) {
        f = strtof(s, &end);

        if (end == s || !isfinite(f) || n == ld->ngroups) {
            goto invalid;
        }

        rc = infer_xgb_margin(ld, f, &xg->base[n++], err, errlen);
        if (rc != INFER_OK) {
            return rc;
        }

        s = end;

        if (*s == ',') {
            s++;
            continue;
        }

        if (s[0] == ']' && s[1] == '\0') {
            break;
        }

        goto invalid;
    }

    if (n != 1 && n != ld->ngroups) {
        goto invalid;
    }

broadcast:

    if (rc != INFER_OK) {
        return rc;
    }

    for (i = n; i < ld->ngroups; i++) {
        xg->base[i] = xg->base[0];
    }

    return INFER_OK;

invalid:

    if (ld->ngroups == 1) {
        snprintf(err, errlen, "learner_model_param.base_score must be a "
                 "number, alone or in brackets");

    } else {
        snprintf(err, errlen, "learner_model_param.base_score must be a "
                 "number, alone or in brackets, or %zu in brackets",
                 ld->ngroups);
    }

    return INFER_EINVAL;
}


static int
infer_xgb_margin(infer_xgb_loader_t *ld, float p, float *margin, char *err,
    size_t errlen)
{
    switch (ld->obj->base) {

    case INFER_XGB_LOGIT:

        /* XGBoost 3 takes 0 and 1 too: a margin of -inf or +inf */

        if (!(p >= 0.0f && p <= 1.0f)) {
            snprintf(err, errlen, "base_score %g is not in [0, 1], as "
                     "objective %s needs", p, ld->obj->name);
            return INFER_EINVAL;
        }

        *margin = -logf(1.0f / p - 1.0f);
        return INFER_OK;

    case INFER_XGB_LOG:
        if (!(p > 0.0f)) {
            snprintf(err, errlen, "base_score %g is not positive, as "
                     "objective %s needs", p, ld->obj->name);
            return INFER_EINVAL;
        }

        *margin = logf(p);
        return INFER_OK;

    default:
        *margin = p;
        return INFER_OK;
    }
}


static int
infer_xgb_trees(infer_xgb_loader_t *ld, yajl_val model, char *err,
    size_t errlen)
{
    int       rc;
    double    bound;
    size_t    t;
    uint64_t  n, g;
    yajl_val  trees, info, v;

    v = infer_xgb_get(infer_xgb_get(model, "gbtree_model_param"),
                      "num_trees");

    if (infer_xgb_uint(v, INFER_XGB_MAX_TREES, &n) != INFER_OK) {
        snprintf(err, errlen, "gbtree_model_param.num_trees must be an "
                 "integer from 0 to %d", INFER_XGB_MAX_TREES);
        return INFER_EINVAL;
    }

    trees = infer_xgb_get(model, "trees");
    info = infer_xgb_get(model, "tree_info");

    if (!YAJL_IS_ARRAY(trees) || YAJL_GET_ARRAY(trees)->len != n) {
        snprintf(err, errlen, "\"trees\" must be an array of num_trees "
                 "(%llu) trees", (unsigned long long) n);
        return INFER_EINVAL;
    }

    if (!YAJL_IS_ARRAY(info) || YAJL_GET_ARRAY(info)->len != n) {
        snprintf(err, errlen, "\"tree_info\" must be an array of num_trees "
                 "(%llu) integers", (unsigned long long) n);
        return INFER_EINVAL;
    }

    ld->ntrees = (size_t) n;
    bound = 0.0;

    ld->trees = calloc(n + 1, sizeof(infer_xgb_tree_t));
    ld->slot = calloc(ld->nfeatures, sizeof(uint32_t));

    if (ld->trees == NULL || ld->slot == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    for (t = 0; t < ld->ntrees; t++) {
        v = YAJL_GET_ARRAY(info)->values[t];

        if (infer_xgb_uint(v, ld->ngroups - 1, &g) != INFER_OK) {
            snprintf(err, errlen, "tree_info[%zu] must be an output group "
                     "from 0 to %zu", t, ld->ngroups - 1);
            return INFER_EINVAL;
        }

        ld->trees[t].group = (uint32_t) g;

        rc = infer_xgb_tree(ld, t, YAJL_GET_ARRAY(trees)->values[t], err,
                            errlen);
        if (rc != INFER_OK) {
            return rc;
        }

        bound += ld->trees[t].maxleaf;
    }

    /* a sum that could overflow would make inf and NaN, not predictions */

    if (bound > 1e38) {
        snprintf(err, errlen, "the leaf values of the trees can add up to "
                 "%g, past the float range", bound);
        return INFER_EINVAL;
    }

    return INFER_OK;
}


static int
infer_xgb_tree(infer_xgb_loader_t *ld, size_t t, yajl_val tree, char *err,
    size_t errlen)
{
    int                rc;
    size_t             n, size;
    uint64_t           u;
    yajl_val           param, v;
    unsigned char     *p;
    infer_xgb_tree_t  *tr;

    if (!YAJL_IS_OBJECT(tree)) {
        snprintf(err, errlen, "trees[%zu] must be an object", t);
        return INFER_EINVAL;
    }

    /* XGBoost puts a tree where its id says: it must be where it is */

    v = infer_xgb_get(tree, "id");

    if (v != NULL
        && (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) != (long long) t))
    {
        snprintf(err, errlen, "trees[%zu].id must be %zu", t, t);
        return INFER_EINVAL;
    }

    param = infer_xgb_get(tree, "tree_param");
    v = infer_xgb_get(param, "size_leaf_vector");

    if (v != NULL) {
        if (infer_xgb_uint(v, UINT32_MAX, &u) != INFER_OK) {
            snprintf(err, errlen, "trees[%zu].tree_param.size_leaf_vector "
                     "must be an unsigned integer", t);
            return INFER_EINVAL;
        }

        if (u > 1) {
            snprintf(err, errlen, "trees[%zu]: size_leaf_vector is %llu: "
                     "multi-target trees are not supported", t,
                     (unsigned long long) u);
            return INFER_EINVAL;
        }
    }

    if (infer_xgb_uint(infer_xgb_get(param, "num_nodes"),
                       INFER_XGB_MAX_NODES, &u) != INFER_OK
        || u == 0)
    {
        snprintf(err, errlen, "trees[%zu].tree_param.num_nodes must be an "
                 "integer from 1 to %d", t, INFER_XGB_MAX_NODES);
        return INFER_EINVAL;
    }

    rc = infer_xgb_categorical(tree, t, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    n = (size_t) u;
    size = n * (3 * sizeof(int32_t) + 3 * sizeof(uint32_t)
                + 2 * sizeof(uint8_t));

    p = malloc(size);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    tr = &ld->trees[t];
    tr->nnodes = (uint32_t) n;

    tr->left = (int32_t *) p;
    tr->right = tr->left + n;
    tr->value = (float *) (tr->right + n);
    tr->feature = (uint32_t *) (tr->value + n);
    tr->stack = tr->feature + n;
    tr->level = tr->stack + n;
    tr->default_left = (uint8_t *) (tr->level + n);
    tr->seen = tr->default_left + n;

    memset(tr->seen, 0, n);

    rc = infer_xgb_tree_arrays(tr, t, tree, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    return infer_xgb_tree_check(ld, tr, t, tree, err, errlen);
}


static int
infer_xgb_categorical(yajl_val tree, size_t t, char *err, size_t errlen)
{
    size_t       i, k;
    yajl_val     v, e;
    const char  *keys[] = { "categories", "categories_nodes",
                            "categories_segments", "categories_sizes",
                            NULL };

    for (k = 0; keys[k] != NULL; k++) {
        v = infer_xgb_get(tree, keys[k]);

        if (v != NULL && (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len != 0))
        {
            snprintf(err, errlen, "trees[%zu] has %s: categorical splits "
                     "are not supported", t, keys[k]);
            return INFER_EINVAL;
        }
    }

    v = infer_xgb_get(tree, "split_type");

    if (v == NULL) {
        return INFER_OK;                     /* before XGBoost 1.5 */
    }

    if (!YAJL_IS_ARRAY(v)) {
        snprintf(err, errlen, "trees[%zu].split_type must be an array", t);
        return INFER_EINVAL;
    }

    for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
        e = YAJL_GET_ARRAY(v)->values[i];

        if (!YAJL_IS_INTEGER(e) || YAJL_GET_INTEGER(e) != 0) {
            snprintf(err, errlen, "trees[%zu].split_type[%zu] is not 0: "
                     "categorical splits are not supported", t, i);
            return INFER_EINVAL;
        }
    }

    return INFER_OK;
}


static int
infer_xgb_tree_arrays(infer_xgb_tree_t *tr, size_t t, yajl_val tree,
    char *err, size_t errlen)
{
    size_t       i, k, n;
    yajl_val     a[5], e;
    long long    ll;
    const char  *keys[] = { "left_children", "right_children",
                            "split_indices", "split_conditions",
                            "default_left", NULL };

    n = tr->nnodes;

    for (k = 0; keys[k] != NULL; k++) {
        a[k] = infer_xgb_get(tree, keys[k]);

        if (!YAJL_IS_ARRAY(a[k]) || YAJL_GET_ARRAY(a[k])->len != n) {
            snprintf(err, errlen, "trees[%zu].%s must be an array of "
                     "num_nodes (%zu) entries", t, keys[k], n);
            return INFER_EINVAL;
        }
    }

    for (i = 0; i < n; i++) {
        for (k = 0; k < 3; k++) {
            e = YAJL_GET_ARRAY(a[k])->values[i];

            if (!YAJL_IS_INTEGER(e) || YAJL_GET_INTEGER(e) < -1
                || YAJL_GET_INTEGER(e) >= (k < 2 ? (long long) n
                                                 : INFER_XGB_MAX_FEATURES))
            {
                snprintf(err, errlen, "trees[%zu].%s[%zu] is out of range",
                         t, keys[k], i);
                return INFER_EINVAL;
            }

            ll = YAJL_GET_INTEGER(e);

            if (k == 0) {
                tr->left[i] = (int32_t) ll;

            } else if (k == 1) {
                tr->right[i] = (int32_t) ll;

            } else {
                tr->feature[i] = (uint32_t) (ll < 0 ? 0 : ll);
            }
        }

        e = YAJL_GET_ARRAY(a[3])->values[i];

        if (infer_xgb_float(e, &tr->value[i]) != INFER_OK) {
            snprintf(err, errlen, "trees[%zu].split_conditions[%zu] is not "
                     "a finite 32-bit float", t, i);
            return INFER_EINVAL;
        }

        e = YAJL_GET_ARRAY(a[4])->values[i];

        if (YAJL_IS_TRUE(e) || YAJL_IS_FALSE(e)) {
            tr->default_left[i] = YAJL_IS_TRUE(e);

        } else if (YAJL_IS_INTEGER(e)
                   && (YAJL_GET_INTEGER(e) == 0 || YAJL_GET_INTEGER(e) == 1))
        {
            tr->default_left[i] = (uint8_t) YAJL_GET_INTEGER(e);

        } else {
            snprintf(err, errlen, "trees[%zu].default_left[%zu] must be 0 "
                     "or 1", t, i);
            return INFER_EINVAL;
        }
    }

    return INFER_OK;
}


/*
 * Walk the tree from node 0, depth first: a node reached twice (a cycle,
 * or two parents) is refused, so every walk ends in at most num_nodes
 * steps.  Nodes not reached (deleted by pruning) are ignored.
 */

static int
infer_xgb_tree_check(infer_xgb_loader_t *ld, infer_xgb_tree_t *tr,
    size_t t, yajl_val tree, char *err, size_t errlen)
{
    size_t     sp, k;
    int32_t    c[2];
    uint32_t   i, f;
    uint64_t   u;
    yajl_val   v;

    v = infer_xgb_get(infer_xgb_get(tree, "tree_param"), "num_feature");

    if (v != NULL && infer_xgb_uint(v, UINT64_MAX, &u) == INFER_OK
        && u > ld->nfeatures)
    {
        snprintf(err, errlen, "trees[%zu].tree_param.num_feature is %llu, "
                 "over the model's %zu", t, (unsigned long long) u,
                 ld->nfeatures);
        return INFER_EINVAL;
    }

    sp = 0;
    tr->stack[sp++] = 0;
    tr->level[0] = 0;
    tr->seen[0] = 1;
    tr->depth = 0;
    tr->maxleaf = 0.0;

    while (sp > 0) {
        i = tr->stack[--sp];
        c[0] = tr->left[i];
        c[1] = tr->right[i];

        if (c[0] == -1 && c[1] == -1) {
            if (tr->level[i] > tr->depth) {
                tr->depth = tr->level[i];
            }

            if (fabs(tr->value[i]) > tr->maxleaf) {
                tr->maxleaf = fabs(tr->value[i]);
            }

            continue;
        }

        for (k = 0; k < 2; k++) {
            if (c[k] <= 0) {
                snprintf(err, errlen, "trees[%zu].%s_children[%u] is %d: "
                         "not a node", t, k ? "right" : "left", i, c[k]);
                return INFER_EINVAL;
            }

            if (tr->seen[c[k]]) {
                snprintf(err, errlen, "trees[%zu]: node %d is reached twice "
                         "(from node %u)", t, c[k], i);
                return INFER_EINVAL;
            }

            tr->seen[c[k]] = 1;
            tr->level[c[k]] = tr->level[i] + 1;
            tr->stack[sp++] = (uint32_t) c[k];
        }

        f = tr->feature[i];

        if (f >= ld->nfeatures) {
            snprintf(err, errlen, "trees[%zu].split_indices[%u] is %u, not "
                     "below num_feature (%zu)", t, i, f, ld->nfeatures);
            return INFER_EINVAL;
        }

        ld->slot[f] = 1;                     /* used; numbered later */
    }

    return INFER_OK;
}


static int
infer_xgb_build(infer_xgb_t *xg, infer_xgb_loader_t *ld, char *err,
    size_t errlen)
{
    float              *leaves;
    size_t              b, t, k, nnodes, nleaves, ngnodes, i;
    uint16_t           *slots;
    uint32_t            depth, at, *keys;
    infer_xgb_tree_t   *tr;
    infer_xgb_block_t  *blk;

    if (infer_xgb_features(xg, ld) != INFER_OK) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    xg->nblocks = (ld->ntrees + INFER_XGB_WIDTH - 1) / INFER_XGB_WIDTH;

    xg->blocks = calloc(xg->nblocks + 1, sizeof(infer_xgb_block_t));
    if (xg->blocks == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    /* each block's depth and the room its layout takes */

    nnodes = 0;
    nleaves = 0;
    ngnodes = 0;

    for (b = 0; b < xg->nblocks; b++) {
        blk = &xg->blocks[b];
        depth = 0;

        for (k = 0; k < INFER_XGB_WIDTH; k++) {
            t = b * INFER_XGB_WIDTH + k;

            if (t == ld->ntrees) {
                break;
            }

            blk->ntrees++;
            blk->group[k] = ld->trees[t].group;

            if (ld->trees[t].depth > depth) {
                depth = ld->trees[t].depth;
            }
        }

        /* a wide model's slots do not fit in 16 bits: generic trees */

        if (depth > INFER_XGB_MAX_DEPTH || xg->wide) {
            blk->depth = INFER_XGB_GENERIC;

            for (k = 0; k < blk->ntrees; k++) {
                ngnodes += ld->trees[b * INFER_XGB_WIDTH + k].nnodes;
            }

            continue;
        }

        blk->depth = depth;
        nnodes += (((size_t) 1 << depth) - 1) * INFER_XGB_WIDTH;
        nleaves += ((size_t) 1 << depth) * INFER_XGB_WIDTH;
    }

    xg->keys = calloc(nnodes + INFER_XGB_PAD, sizeof(uint32_t));
    xg->slots = calloc(nnodes + INFER_XGB_PAD, sizeof(uint16_t));
    xg->leaves = calloc(nleaves + INFER_XGB_PAD, sizeof(float));
    xg->gnodes = calloc(ngnodes + 1, sizeof(infer_xgb_gnode_t));

    if (xg->keys == NULL || xg->slots == NULL || xg->leaves == NULL
        || xg->gnodes == NULL)
    {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    keys = xg->keys;
    slots = xg->slots;
    leaves = xg->leaves;
    at = 0;

    for (b = 0; b < xg->nblocks; b++) {
        blk = &xg->blocks[b];

        if (blk->depth == INFER_XGB_GENERIC) {
            for (k = 0; k < blk->ntrees; k++) {
                tr = &ld->trees[b * INFER_XGB_WIDTH + k];
                blk->root[k] = at;
                at += infer_xgb_flatten(xg, ld, tr, at);
            }

            continue;
        }

        blk->walk = infer_xgb_walks[blk->depth];
        blk->keys = keys;
        blk->slots = slots;
        blk->leaves = leaves;

        /* the padding trees stay all zero: slot 0, key 0, leaf 0 */

        for (k = 0; k < blk->ntrees; k++) {
            tr = &ld->trees[b * INFER_XGB_WIDTH + k];
            infer_xgb_fill(xg, ld, tr, blk, (uint32_t) k, 0, 0, 0);
        }

        i = (size_t) 1 << blk->depth;
        keys += (i - 1) * INFER_XGB_WIDTH;
        slots += (i - 1) * INFER_XGB_WIDTH;
        leaves += i * INFER_XGB_WIDTH;
    }

    /* runs of blocks that one call walks */

    for (b = xg->nblocks; b-- > 0; /* void */) {
        blk = &xg->blocks[b];
        blk->run = 1;

        if (b + 1 < xg->nblocks && blk->walk != NULL
            && blk[1].walk == blk->walk)
        {
            blk->run = blk[1].run + 1;
        }
    }

    xg->simd = 0;

    if (!xg->wide && ld->ngroups <= INFER_XGB_SIMD_GROUPS
        && 2 * xg->nused * INFER_XGB_LANES <= INFER_XGB_ROW_KEYS
        && infer_xgb_simd_usable())
    {
        xg->simd = 1;

        for (b = 0; b < xg->nblocks; b++) {
            if (xg->blocks[b].depth > INFER_XGB_SIMD_DEPTH) {
                xg->simd = 0;
            }
        }
    }

    return INFER_OK;
}


/* number the features the splits read, in ascending order */

static int
infer_xgb_features(infer_xgb_t *xg, infer_xgb_loader_t *ld)
{
    size_t  f, n;

    n = 0;

    for (f = 0; f < ld->nfeatures; f++) {
        n += ld->slot[f];
    }

    if (n == 0) {
        ld->slot[0] = 1;                     /* stumps only: any feature */
        n = 1;
    }

    xg->used = calloc(n, sizeof(uint32_t));
    if (xg->used == NULL) {
        return INFER_ERROR;
    }

    xg->nused = 0;

    for (f = 0; f < ld->nfeatures; f++) {
        if (ld->slot[f]) {
            ld->slot[f] = (uint32_t) xg->nused;
            xg->used[xg->nused++] = (uint32_t) f;
        }
    }

    xg->wide = (2 * xg->nused > INFER_XGB_ROW_KEYS);
    xg->dense = (xg->used[xg->nused - 1] == xg->nused - 1);

    return INFER_OK;
}


/*
 * Tree node "node" at position "pos" of the perfect tree k of a block; a
 * leaf above the last level fills every leaf position below it.  The
 * recursion is at most INFER_XGB_MAX_DEPTH deep.
 */

static void
infer_xgb_fill(infer_xgb_t *xg, infer_xgb_loader_t *ld, infer_xgb_tree_t *tr,
    infer_xgb_block_t *b, uint32_t k, uint32_t node, uint32_t pos,
    uint32_t level)
{
    float     *leaves;
    uint32_t   first, count, i, depth;

    depth = b->depth;

    if (tr->left[node] == -1) {
        first = pos;
        count = 1;

        for (i = level; i < depth; i++) {
            first = 2 * first + 1;
            count *= 2;
        }

        first -= ((uint32_t) 1 << depth) - 1;
        leaves = (float *) b->leaves + k * ((size_t) 1 << depth);

        for (i = 0; i < count; i++) {
            leaves[first + i] = tr->value[node];
        }

        return;
    }

    i = k * (((uint32_t) 1 << depth) - 1) + pos;

    ((uint32_t *) b->keys)[i] = infer_xgb_key(tr->value[node]);
    ((uint16_t *) b->slots)[i] = (uint16_t) infer_xgb_slot(xg, ld, tr, node);

    infer_xgb_fill(xg, ld, tr, b, k, (uint32_t) tr->left[node], 2 * pos + 1,
                   level + 1);
    infer_xgb_fill(xg, ld, tr, b, k, (uint32_t) tr->right[node],
                   2 * pos + 2, level + 1);
}


/* breadth first, so that a right child follows its left sibling */

static uint32_t
infer_xgb_flatten(infer_xgb_t *xg, infer_xgb_loader_t *ld,
    infer_xgb_tree_t *tr, uint32_t at)
{
    uint32_t            head, tail, node;
    infer_xgb_gnode_t  *g, *n;

    g = xg->gnodes + at;
    head = 0;
    tail = 0;
    tr->stack[tail++] = 0;

    while (head < tail) {
        n = &g[head];
        node = tr->stack[head++];

        if (tr->left[node] == -1) {
            n->u.leaf = tr->value[node];
            n->left = 0;
            n->slot = 0;
            continue;
        }

        n->u.key = infer_xgb_key(tr->value[node]);
        n->slot = infer_xgb_slot(xg, ld, tr, node);
        n->left = tail;

        tr->stack[tail++] = (uint32_t) tr->left[node];
        tr->stack[tail++] = (uint32_t) tr->right[node];
    }

    return tail;
}


static uint32_t
infer_xgb_slot(infer_xgb_t *xg, infer_xgb_loader_t *ld, infer_xgb_tree_t *tr,
    uint32_t node)
{
    uint32_t  j;

    j = ld->slot[tr->feature[node]];

    return tr->default_left[node] ? j : (uint32_t) xg->nused + j;
}


static void
infer_xgb_loader_free(infer_xgb_loader_t *ld)
{
    size_t  t;

    if (ld->trees != NULL) {
        for (t = 0; t < ld->ntrees; t++) {
            free(ld->trees[t].left);
        }
    }

    free(ld->trees);
    free(ld->slot);
}


static yajl_val
infer_xgb_get(yajl_val obj, const char *key)
{
    size_t  i;

    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }

    for (i = 0; i < YAJL_GET_OBJECT(obj)->len; i++) {
        if (strcmp(YAJL_GET_OBJECT(obj)->keys[i], key) == 0) {
            return YAJL_GET_OBJECT(obj)->values[i];
        }
    }

    return NULL;
}


/* XGBoost writes its parameters as strings: "30"; integers are taken too */

static int
infer_xgb_uint(yajl_val v, uint64_t max, uint64_t *n)
{
    const char  *s;

    if (YAJL_IS_INTEGER(v)) {
        if (YAJL_GET_INTEGER(v) < 0
            || (uint64_t) YAJL_GET_INTEGER(v) > max)
        {
            return INFER_EINVAL;
        }

        *n = (uint64_t) YAJL_GET_INTEGER(v);
        return INFER_OK;
    }

    if (!YAJL_IS_STRING(v)) {
        return INFER_EINVAL;
    }

    s = v->u.string;

    if (*s == '\0' || strlen(s) > 18) {
        return INFER_EINVAL;
    }

    *n = 0;

    for ( /* void */ ; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return INFER_EINVAL;
        }

        *n = *n * 10 + (uint64_t) (*s - '0');
    }

    return *n <= max ? INFER_OK : INFER_EINVAL;
}


/*
 * The number's own text goes through strtof(), as XGBoost reads it: a
 * double rounded to a float could differ in the last bit.
 */

static int
infer_xgb_float(yajl_val v, float *f)
{
    if (!YAJL_IS_NUMBER(v) || YAJL_GET_NUMBER(v) == NULL) {
        return INFER_EINVAL;
    }

    *f = strtof(YAJL_GET_NUMBER(v), NULL);

    return isfinite(*f) ? INFER_OK : INFER_EINVAL;
}


static void
infer_xgb_free(infer_model_t *m)
{
    infer_xgb_t  *xg = m->impl;

    if (xg == NULL) {
        return;
    }

    free(xg->blocks);
    free(xg->keys);
    free(xg->slots);
    free(xg->leaves);
    free(xg->gnodes);
    free(xg->used);
    free(xg->base);
    free(xg);
}
