/*
 * The linear format: y = link(W x + b), for one output or several.
 *
 *   {"format":"linear", "weights":[1,1,1], "bias":0, "link":"identity"}
 *   {"weights":[[1,0],[0,1]], "bias":[0.5,-0.5], "link":"logistic"}
 *
 * "weights" is a vector (one output) or a matrix with one row per output;
 * "bias" a number or one per output (default 0); "link" identity
 * (default) or logistic.  Any other key is refused: a typo must not load
 * as a model that silently ignores half of its file.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "infer_model.h"


typedef enum {
    INFER_LINK_IDENTITY = 0,
    INFER_LINK_LOGISTIC
} infer_link_e;


typedef struct {
    double        *weights;                  /* noutputs x nfeatures */
    double        *bias;                     /* noutputs */
    infer_link_e   link;
} infer_linear_t;


static int infer_linear_probe(void *root);
static int infer_linear_load(infer_model_t *m, void *root, char *err,
    size_t errlen);
static int infer_linear_check_keys(yajl_val root, char *err, size_t errlen);
static int infer_linear_shape(infer_model_t *m, yajl_val w, char *err,
    size_t errlen);
static int infer_linear_weights(infer_model_t *m, infer_linear_t *lin,
    yajl_val w, char *err, size_t errlen);
static int infer_linear_bias(infer_model_t *m, infer_linear_t *lin,
    yajl_val b, char *err, size_t errlen);
static int infer_linear_link(infer_linear_t *lin, yajl_val v, char *err,
    size_t errlen);
static int infer_linear_number(yajl_val v, double *d);
static int infer_linear_string_is(yajl_val v, const char *s);
static int infer_linear_eval(const infer_model_t *m, const float *x,
    size_t rows, float *y);
static void infer_linear_free(infer_model_t *m);


const infer_model_ops_t  infer_linear_ops = {
    "linear",
    infer_linear_probe,
    infer_linear_load,
    NULL,
    NULL,
    infer_linear_eval,
    infer_linear_free
};


static const char  *infer_linear_keys[] = {
    "format", "weights", "bias", "link", NULL
};


static int
infer_linear_probe(void *root)
{
    const char  *path[] = { "weights", NULL };

    return yajl_tree_get(root, path, yajl_t_any) != NULL;
}


static int
infer_linear_load(infer_model_t *m, void *root, char *err, size_t errlen)
{
    int              rc;
    yajl_val         v;
    infer_linear_t  *lin;
    const char      *weights[] = { "weights", NULL };
    const char      *bias[] = { "bias", NULL };
    const char      *link[] = { "link", NULL };
    const char      *format[] = { "format", NULL };

    rc = infer_linear_check_keys(root, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    v = yajl_tree_get(root, format, yajl_t_any);
    if (v != NULL && !infer_linear_string_is(v, "linear")) {
        snprintf(err, errlen, "\"format\" must be \"linear\"");
        return INFER_EINVAL;
    }

    rc = infer_linear_shape(m, yajl_tree_get(root, weights, yajl_t_any),
                            err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    lin = calloc(1, sizeof(infer_linear_t));
    if (lin == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    m->impl = lin;

    lin->weights = calloc(m->noutputs * m->nfeatures, sizeof(double));
    lin->bias = calloc(m->noutputs, sizeof(double));

    if (lin->weights == NULL || lin->bias == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    rc = infer_linear_weights(m, lin, yajl_tree_get(root, weights,
                                                    yajl_t_any),
                              err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_linear_bias(m, lin, yajl_tree_get(root, bias, yajl_t_any),
                           err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    return infer_linear_link(lin, yajl_tree_get(root, link, yajl_t_any),
                             err, errlen);
}


static int
infer_linear_check_keys(yajl_val root, char *err, size_t errlen)
{
    size_t        i;
    const char  **k;

    for (i = 0; i < YAJL_GET_OBJECT(root)->len; i++) {
        for (k = infer_linear_keys; *k != NULL; k++) {
            if (strcmp(YAJL_GET_OBJECT(root)->keys[i], *k) == 0) {
                break;
            }
        }

        if (*k == NULL) {
            snprintf(err, errlen, "unknown key \"%.64s\" in a linear model",
                     YAJL_GET_OBJECT(root)->keys[i]);
            return INFER_EINVAL;
        }
    }

    return INFER_OK;
}


/* one output from a vector, one output per row from a matrix */

static int
infer_linear_shape(infer_model_t *m, yajl_val w, char *err, size_t errlen)
{
    size_t    i;
    yajl_val  row;

    if (!YAJL_IS_ARRAY(w) || YAJL_GET_ARRAY(w)->len == 0) {
        snprintf(err, errlen, "\"weights\" must be a non-empty array");
        return INFER_EINVAL;
    }

    row = YAJL_GET_ARRAY(w)->values[0];

    if (!YAJL_IS_ARRAY(row)) {
        m->noutputs = 1;
        m->nfeatures = YAJL_GET_ARRAY(w)->len;
        return INFER_OK;
    }

    m->noutputs = YAJL_GET_ARRAY(w)->len;
    m->nfeatures = YAJL_GET_ARRAY(row)->len;

    for (i = 0; i < m->noutputs; i++) {
        row = YAJL_GET_ARRAY(w)->values[i];

        if (!YAJL_IS_ARRAY(row) || YAJL_GET_ARRAY(row)->len != m->nfeatures
            || m->nfeatures == 0)
        {
            snprintf(err, errlen, "weights[%zu] must be an array of %zu "
                     "numbers, as weights[0] is", i, m->nfeatures);
            return INFER_EINVAL;
        }
    }

    return INFER_OK;
}


static int
infer_linear_weights(infer_model_t *m, infer_linear_t *lin, yajl_val w,
    char *err, size_t errlen)
{
    size_t    i, j;
    yajl_val  row, v;

    for (i = 0; i < m->noutputs; i++) {
        row = (m->noutputs == 1 && !YAJL_IS_ARRAY(YAJL_GET_ARRAY(w)->values[0]))
              ? w : YAJL_GET_ARRAY(w)->values[i];

        for (j = 0; j < m->nfeatures; j++) {
            v = YAJL_GET_ARRAY(row)->values[j];

            if (infer_linear_number(v, &lin->weights[i * m->nfeatures + j])
                != INFER_OK)
            {
                if (row == w) {
                    snprintf(err, errlen, "weights[%zu] is not a finite "
                             "number", j);

                } else {
                    snprintf(err, errlen, "weights[%zu][%zu] is not a "
                             "finite number", i, j);
                }

                return INFER_EINVAL;
            }
        }
    }

    return INFER_OK;
}


static int
infer_linear_bias(infer_model_t *m, infer_linear_t *lin, yajl_val b,
    char *err, size_t errlen)
{
    size_t  i;

    if (b == NULL) {
        return INFER_OK;                     /* calloc() made it zero */
    }

    if (YAJL_IS_NUMBER(b) && m->noutputs == 1) {
        if (infer_linear_number(b, &lin->bias[0]) != INFER_OK) {
            snprintf(err, errlen, "\"bias\" is not a finite number");
            return INFER_EINVAL;
        }

        return INFER_OK;
    }

    if (!YAJL_IS_ARRAY(b) || YAJL_GET_ARRAY(b)->len != m->noutputs) {
        snprintf(err, errlen, "\"bias\" must be %s%zu numbers",
                 m->noutputs == 1 ? "a number or an array of " : "an array "
                 "of ", m->noutputs);
        return INFER_EINVAL;
    }

    for (i = 0; i < m->noutputs; i++) {
        if (infer_linear_number(YAJL_GET_ARRAY(b)->values[i], &lin->bias[i])
            != INFER_OK)
        {
            snprintf(err, errlen, "bias[%zu] is not a finite number", i);
            return INFER_EINVAL;
        }
    }

    return INFER_OK;
}


static int
infer_linear_link(infer_linear_t *lin, yajl_val v, char *err, size_t errlen)
{
    if (v == NULL) {
        lin->link = INFER_LINK_IDENTITY;
        return INFER_OK;
    }

    if (infer_linear_string_is(v, "identity")) {
        lin->link = INFER_LINK_IDENTITY;
        return INFER_OK;
    }

    if (infer_linear_string_is(v, "logistic")) {
        lin->link = INFER_LINK_LOGISTIC;
        return INFER_OK;
    }

    snprintf(err, errlen, "\"link\" must be \"identity\" or \"logistic\"");

    return INFER_EINVAL;
}


/* yajl marks a number that overflows a double (1e999) as not a double */

static int
infer_linear_number(yajl_val v, double *d)
{
    if (!YAJL_IS_DOUBLE(v) || !isfinite(YAJL_GET_DOUBLE(v))) {
        return INFER_EINVAL;
    }

    *d = YAJL_GET_DOUBLE(v);

    return INFER_OK;
}


static int
infer_linear_string_is(yajl_val v, const char *s)
{
    return YAJL_IS_STRING(v) && strcmp(v->u.string, s) == 0;
}


static int
infer_linear_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y)
{
    size_t                 r, i, j, n;
    double                 z;
    const double          *w;
    const infer_linear_t  *lin = m->impl;

    n = m->nfeatures;

    for (r = 0; r < rows; r++) {
        for (j = 0; j < m->noutputs; j++) {
            w = &lin->weights[j * n];
            z = lin->bias[j];

            for (i = 0; i < n; i++) {
                z += w[i] * x[r * n + i];
            }

            if (lin->link == INFER_LINK_LOGISTIC) {
                z = 1.0 / (1.0 + exp(-z));
            }

            y[r * m->noutputs + j] = (float) z;
        }
    }

    return INFER_OK;
}


static void
infer_linear_free(infer_model_t *m)
{
    infer_linear_t  *lin = m->impl;

    if (lin != NULL) {
        free(lin->weights);
        free(lin->bias);
        free(lin);
    }
}
