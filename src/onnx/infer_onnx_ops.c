/*
 * The operators' table, and the structural ones: Constant, Identity,
 * Dropout, Cast, Shape, Gather, Reshape, Flatten, Squeeze, Unsqueeze,
 * Concat, Slice, ConstantOfShape, Transpose, Pad.
 *
 * Most of them only move data: on constants they fold here (int64 ones
 * carry, element by element, whether they are the batch size, so that a
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain over a batched
 * tensor folds to a Reshape that keeps the batch first); on computed
 * tensors Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout and a
 * float Cast cost nothing (the output is the input's memory), and
 * Transpose, Concat and Pad have kernels.  Gather, Slice, Shape and
 * ConstantOfShape run at load only.
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer_onnx_kernels.h"


static int infer_onnx_share(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_lower_alias(infer_onnx_plan_t *p, infer_onnx_node_t *n);
static size_t infer_onnx_width(const infer_onnx_value_t *v);

static int infer_onnx_constant_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_identity_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_dropout_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_cast_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_shape_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_gather_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_reshape_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_flatten_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_squeeze_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_unsqueeze_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_concat_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_concat_fold(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_concat_lower(infer_onnx_plan_t *p,
    infer_onnx_node_t *n);
static int infer_onnx_slice_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_cos_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_transpose_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_transpose_fold(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_transpose_lower(infer_onnx_plan_t *p,
    infer_onnx_node_t *n);
static int infer_onnx_pad_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_pad_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n);


/* the math and nn operators are in infer_onnx_ops_math.c, _nn.c */
extern const infer_onnx_op_t  infer_onnx_op_add, infer_onnx_op_sub,
    infer_onnx_op_mul, infer_onnx_op_div, infer_onnx_op_relu,
    infer_onnx_op_leaky_relu, infer_onnx_op_sigmoid, infer_onnx_op_tanh,
    infer_onnx_op_clip, infer_onnx_op_softmax, infer_onnx_op_log_softmax,
    infer_onnx_op_gemm, infer_onnx_op_matmul, infer_onnx_op_conv,
    infer_onnx_op_batch_norm, infer_onnx_op_max_pool,
    infer_onnx_op_average_pool, infer_onnx_op_global_average_pool;


static const infer_onnx_op_t  infer_onnx_op_constant = {
    "Constant", 1, infer_onnx_constant_infer, NULL, NULL, 0
};

static const infer_onnx_op_t  infer_onnx_op_identity = {
    "Identity", 1, infer_onnx_identity_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_dropout = {
    "Dropout", 7, infer_onnx_dropout_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_cast = {
    "Cast", 6, infer_onnx_cast_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_shape = {
    "Shape", 1, infer_onnx_shape_infer, NULL, NULL, 0
};

static const infer_onnx_op_t  infer_onnx_op_gather = {
    "Gather", 1, infer_onnx_gather_infer, NULL, NULL, 0
};

static const infer_onnx_op_t  infer_onnx_op_reshape = {
    "Reshape", 5, infer_onnx_reshape_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_flatten = {
    "Flatten", 1, infer_onnx_flatten_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_squeeze = {
    "Squeeze", 1, infer_onnx_squeeze_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_unsqueeze = {
    "Unsqueeze", 1, infer_onnx_unsqueeze_infer, NULL, infer_onnx_lower_alias,
    INFER_ONNX_OP_ALIAS
};

static const infer_onnx_op_t  infer_onnx_op_concat = {
    "Concat", 4, infer_onnx_concat_infer, infer_onnx_concat_fold,
    infer_onnx_concat_lower, 0
};

static const infer_onnx_op_t  infer_onnx_op_slice = {
    "Slice", 1, infer_onnx_slice_infer, NULL, NULL, 0
};

static const infer_onnx_op_t  infer_onnx_op_constant_of_shape = {
    "ConstantOfShape", 9, infer_onnx_cos_infer, NULL, NULL, 0
};

static const infer_onnx_op_t  infer_onnx_op_transpose = {
    "Transpose", 1, infer_onnx_transpose_infer, infer_onnx_transpose_fold,
    infer_onnx_transpose_lower, 0
};

static const infer_onnx_op_t  infer_onnx_op_pad = {
    "Pad", 2, infer_onnx_pad_infer, NULL, infer_onnx_pad_lower,
    INFER_ONNX_OP_LAYOUT
};


static const infer_onnx_op_t  *infer_onnx_op_table[] = {
    &infer_onnx_op_add,
    &infer_onnx_op_average_pool,
    &infer_onnx_op_batch_norm,
    &infer_onnx_op_cast,
    &infer_onnx_op_clip,
    &infer_onnx_op_concat,
    &infer_onnx_op_constant,
    &infer_onnx_op_constant_of_shape,
    &infer_onnx_op_conv,
    &infer_onnx_op_div,
    &infer_onnx_op_dropout,
    &infer_onnx_op_flatten,
    &infer_onnx_op_gather,
    &infer_onnx_op_gemm,
    &infer_onnx_op_global_average_pool,
    &infer_onnx_op_identity,
    &infer_onnx_op_leaky_relu,
    &infer_onnx_op_log_softmax,
    &infer_onnx_op_matmul,
    &infer_onnx_op_max_pool,
    &infer_onnx_op_mul,
    &infer_onnx_op_pad,
    &infer_onnx_op_relu,
    &infer_onnx_op_reshape,
    &infer_onnx_op_shape,
    &infer_onnx_op_sigmoid,
    &infer_onnx_op_slice,
    &infer_onnx_op_softmax,
    &infer_onnx_op_squeeze,
    &infer_onnx_op_sub,
    &infer_onnx_op_tanh,
    &infer_onnx_op_transpose,
    &infer_onnx_op_unsqueeze,
    NULL
};


const infer_onnx_op_t *
infer_onnx_find_op(const char *type)
{
    const infer_onnx_op_t  **op;

    for (op = infer_onnx_op_table; *op != NULL; op++) {
        if (strcmp((*op)->type, type) == 0) {
            return *op;
        }
    }

    return NULL;
}


/* the names of the supported operators, for documentation and tests */

const char *
infer_onnx_op_name(size_t i)
{
    if (i >= sizeof(infer_onnx_op_table) / sizeof(infer_onnx_op_table[0]) - 1)
    {
        return NULL;
    }

    return infer_onnx_op_table[i]->type;
}


static size_t
infer_onnx_width(const infer_onnx_value_t *v)
{
    return (v->dtype == INFER_ONNX_FLOAT) ? sizeof(float) : sizeof(int64_t);
}


/* output 0 is input 0's data, reshaped: a constant when the input is */

static int
infer_onnx_share(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (!in->is_const || out == NULL) {
        return INFER_OK;
    }

    out->is_const = 1;
    out->data = in->data;
    out->sym = in->sym;
    n->folded = 1;

    return INFER_OK;
}


static int
infer_onnx_lower_alias(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    if (infer_onnx_plan_in(p, n, 0, INFER_ONNX_PLAIN) < 0) {
        return INFER_ERROR;
    }

    return infer_onnx_plan_alias(p, n->out[0], n->in[0]);
}


/* Constant's value: a tensor, or one of these */

typedef struct {
    const char  *name;
    int          type;                      /* INFER_ONNX_ATTR_* */
    int32_t      dtype;
    int          list;                      /* rank 1, else a scalar */
} infer_onnx_constant_attr_t;


static const infer_onnx_constant_attr_t  infer_onnx_constant_attrs[] = {
    { "value_float", INFER_ONNX_ATTR_FLOAT, INFER_ONNX_FLOAT, 0 },
    { "value_floats", INFER_ONNX_ATTR_FLOATS, INFER_ONNX_FLOAT, 1 },
    { "value_int", INFER_ONNX_ATTR_INT, INFER_ONNX_INT64, 0 },
    { "value_ints", INFER_ONNX_ATTR_INTS, INFER_ONNX_INT64, 1 },
    { NULL, 0, 0, 0 }
};


static int
infer_onnx_constant_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                                found;
    int64_t                            dim;
    infer_onnx_attr_t                 *a;
    infer_onnx_value_t                *out, *t;
    const infer_onnx_constant_attr_t  *k;

    out = infer_onnx_out(g, n, 0);
    found = 0;

    if (out == NULL || n->nin != 0) {
        return infer_onnx_fail(g, n, "takes no input and gives one output");
    }

    if ((a = infer_onnx_attr(n, "value")) != NULL && a->tensor >= 0) {
        t = &g->values[a->tensor];
        (void) infer_onnx_set_shape(out, t->dtype, t->rank, t->dims, 0);
        out->data = t->data;
        out->sym = t->sym;
        out->is_const = 1;
        found++;
    }

    for (k = infer_onnx_constant_attrs; k->name != NULL; k++) {
        if ((a = infer_onnx_attr(n, k->name)) == NULL) {
            continue;
        }

        dim = (int64_t) a->n;
        (void) infer_onnx_set_shape(out, k->dtype, k->list, &dim, 0);

        if (a->type != k->type || infer_onnx_const_alloc(g, out) == NULL) {
            return infer_onnx_fail(g, n, "%s is invalid", k->name);
        }

        if (k->dtype == INFER_ONNX_FLOAT) {
            memcpy(out->data, k->list ? a->floats : &a->f,
                   out->count * sizeof(float));

        } else {
            memcpy(out->data, k->list ? a->ints : &a->i,
                   out->count * sizeof(int64_t));
        }

        found++;
    }

    if (found != 1) {
        return infer_onnx_fail(g, n, "needs exactly one value of a float or "
                               "integer type");
    }

    n->folded = 1;

    return INFER_OK;
}


static int
infer_onnx_identity_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL || n->nin != 1) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    (void) infer_onnx_set_shape(out, in->dtype, in->rank, in->dims,
                                in->batched);

    return infer_onnx_share(g, n);
}


/* inference: the output is the input, and the mask may not be used */

static int
infer_onnx_dropout_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc;
    float                ratio;
    int64_t              seed;
    infer_onnx_value_t  *train;

    if (n->opset < 12) {
        rc = infer_onnx_attr_float(g, n, "ratio", 0.5f, &ratio);
        if (rc != INFER_OK) {
            return rc;
        }

    } else {
        rc = infer_onnx_attr_int(g, n, "seed", 0, &seed);
        if (rc != INFER_OK) {
            return rc;
        }

        train = infer_onnx_in(g, n, 2);

        if (train != NULL
            && (!train->is_const || train->count != 1
                || ((train->dtype == INFER_ONNX_FLOAT)
                    ? *(float *) train->data != 0.0f
                    : *(int64_t *) train->data != 0)))
        {
            return infer_onnx_fail(g, n, "training_mode must be false");
        }
    }

    if (infer_onnx_out(g, n, 1) != NULL) {
        return infer_onnx_fail(g, n, "the mask output is not supported");
    }

    n->nin = 1;                             /* ratio and training_mode read */

    return infer_onnx_identity_infer(g, n);
}


static int
infer_onnx_cast_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc;
    size_t               i;
    int64_t              to, *iv;
    float               *fv, f;
    infer_onnx_value_t  *in, *out;

    rc = infer_onnx_attr_int(g, n, "to", 0, &to);
    if (rc != INFER_OK) {
        return rc;
    }

    if (n->opset >= 19) {
        int64_t  saturate;

        rc = infer_onnx_attr_int(g, n, "saturate", 1, &saturate);
        if (rc != INFER_OK) {
            return rc;
        }
    }

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    if (to != INFER_ONNX_FLOAT && to != INFER_ONNX_INT64
        && to != INFER_ONNX_INT32)
    {
        return infer_onnx_fail(g, n, "a cast to type %lld is not supported: "
                               "float and int64 are", (long long) to);
    }

    if (to != INFER_ONNX_FLOAT) {
        to = INFER_ONNX_INT64;
    }

    (void) infer_onnx_set_shape(out, (int32_t) to, in->rank, in->dims,
                                in->batched);

    if (!in->is_const) {
        if (in->dtype != INFER_ONNX_FLOAT || to != INFER_ONNX_FLOAT) {
            return infer_onnx_fail(g, n, "a cast of a computed tensor to a "
                                   "type other than float is not supported");
        }

        return INFER_OK;
    }

    if (in->dtype == to) {
        return infer_onnx_share(g, n);
    }

    if (infer_onnx_const_alloc(g, out) == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < in->count; i++) {
        if (to == INFER_ONNX_FLOAT) {
            if (in->sym[i]) {
                return infer_onnx_fail(g, n, "casts the batch size to float");
            }

            fv = out->data;
            fv[i] = (float) ((int64_t *) in->data)[i];
            continue;
        }

        f = ((float *) in->data)[i];

        if (!(f > -9.2e18f && f < 9.2e18f)) {
            return infer_onnx_fail(g, n, "element %zu does not fit an int64",
                                   i);
        }

        iv = out->data;
        iv[i] = (int64_t) f;
    }

    n->folded = 1;

    return INFER_OK;
}


/* the dimensions of its input, the batch marked */

static int
infer_onnx_shape_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, start, end, d;
    int64_t              s, e, k;
    int64_t             *dims;
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    s = 0;
    e = in->rank;

    if (n->opset >= 15) {
        rc = infer_onnx_attr_int(g, n, "start", 0, &s);

        if (rc == INFER_OK) {
            rc = infer_onnx_attr_int(g, n, "end", in->rank, &e);
        }

        if (rc != INFER_OK) {
            return rc;
        }
    }

    s = (s < 0) ? s + in->rank : s;
    e = (e < 0) ? e + in->rank : e;
    start = (int) (s < 0 ? 0 : (s > in->rank ? in->rank : s));
    end = (int) (e < 0 ? 0 : (e > in->rank ? in->rank : e));
    k = (end > start) ? end - start : 0;

    (void) infer_onnx_set_shape(out, INFER_ONNX_INT64, 1, &k, 0);

    dims = infer_onnx_const_alloc(g, out);
    if (dims == NULL) {
        return INFER_ERROR;
    }

    for (d = start; d < end; d++) {
        dims[d - start] = in->dims[d];
        out->sym[d - start] = (d == 0 && in->batched);
    }

    n->folded = 1;

    return INFER_OK;
}


/* numpy's take() on constants: data[..., indices[...], ...] */

static int
infer_onnx_gather_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, axis, d, rank;
    size_t               outer, inner, width, o, j, i, cnt;
    int64_t              ax, idx, dims[INFER_ONNX_MAX_RANK];
    const int64_t       *ind;
    unsigned char       *dst;
    const unsigned char *src;
    infer_onnx_value_t  *data, *indices, *out;

    data = infer_onnx_in(g, n, 0);
    indices = infer_onnx_in(g, n, 1);
    out = infer_onnx_out(g, n, 0);

    if (data == NULL || indices == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes data and indices");
    }

    rc = infer_onnx_attr_int(g, n, "axis", 0, &ax);
    if (rc != INFER_OK) {
        return rc;
    }

    if (!data->is_const || !indices->is_const
        || indices->dtype != INFER_ONNX_INT64)
    {
        return infer_onnx_fail(g, n, "Gather is supported where it folds "
                               "away: constant data and integer indices");
    }

    rc = infer_onnx_axis(g, n, ax, data->rank, &axis);
    if (rc != INFER_OK) {
        return rc;
    }

    rank = data->rank + indices->rank - 1;

    if (rank > INFER_ONNX_MAX_RANK) {
        return infer_onnx_fail(g, n, "the output has too many dimensions");
    }

    for (d = 0; d < axis; d++) {
        dims[d] = data->dims[d];
    }

    for (d = 0; d < indices->rank; d++) {
        dims[axis + d] = indices->dims[d];
    }

    for (d = axis + 1; d < data->rank; d++) {
        dims[indices->rank + d - 1] = data->dims[d];
    }

    if (infer_onnx_set_shape(out, data->dtype, rank, dims, 0) != INFER_OK
        || infer_onnx_const_alloc(g, out) == NULL)
    {
        return INFER_ERROR;
    }

    outer = 1;
    inner = 1;

    for (d = 0; d < axis; d++) {
        outer *= (size_t) data->dims[d];
    }

    for (d = axis + 1; d < data->rank; d++) {
        inner *= (size_t) data->dims[d];
    }

    width = infer_onnx_width(data);
    ind = indices->data;
    cnt = (size_t) data->dims[axis];
    dst = out->data;

    for (o = 0; o < outer; o++) {
        for (j = 0; j < indices->count; j++) {
            idx = ind[j] < 0 ? ind[j] + (int64_t) cnt : ind[j];

            if (idx < 0 || idx >= (int64_t) cnt || indices->sym[j]) {
                return infer_onnx_fail(g, n, "index %lld is out of range",
                                       (long long) ind[j]);
            }

            i = (o * cnt + (size_t) idx) * inner;
            src = (const unsigned char *) data->data + i * width;
            memcpy(dst, src, inner * width);

            if (data->sym != NULL) {
                memcpy(out->sym + (o * indices->count + j) * inner,
                       data->sym + i, inner);
            }

            dst += inner * width;
        }
    }

    n->folded = 1;

    return INFER_OK;
}


/*
 * Reshape: 0 copies the input's dimension (without allowzero), -1 takes
 * what is left, the batch size (from a Shape) is the batch.  A batched
 * input keeps its batch first, alone, or the model is refused.
 */

static int
infer_onnx_reshape_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, i, k, neg, batch_first;
    size_t               rest, total;
    int64_t              allowzero, t, dims[INFER_ONNX_MAX_RANK];
    const int64_t       *target;
    infer_onnx_value_t  *in, *shape, *out;

    in = infer_onnx_in(g, n, 0);
    shape = infer_onnx_in(g, n, 1);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || shape == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes data and a shape");
    }

    allowzero = 0;

    if (n->opset >= 14) {
        rc = infer_onnx_attr_int(g, n, "allowzero", 0, &allowzero);
        if (rc != INFER_OK) {
            return rc;
        }
    }

    if (!shape->is_const || shape->dtype != INFER_ONNX_INT64
        || shape->rank != 1)
    {
        return infer_onnx_fail(g, n, "the shape must be a constant list of "
                               "integers (or fold to one)");
    }

    k = (int) shape->count;

    if (k > INFER_ONNX_MAX_RANK) {
        return infer_onnx_fail(g, n, "the shape has too many dimensions");
    }

    target = shape->data;
    neg = -1;
    batch_first = 0;
    rest = 1;

    for (i = 0; i < k; i++) {
        t = target[i];

        if (shape->sym[i]) {
            if (i != 0 || !in->batched) {
                return infer_onnx_fail(g, n, "the batch size is used "
                                       "outside the first dimension");
            }

            batch_first = 1;
            dims[0] = 1;
            continue;
        }

        if (t == 0 && !allowzero) {
            if (i >= in->rank) {
                return infer_onnx_fail(g, n, "0 copies dimension %d, which "
                                       "the input lacks", i);
            }

            if (i == 0 && in->batched) {
                batch_first = 1;
                dims[0] = 1;
                continue;
            }

            t = in->dims[i];
        }

        if (t == -1) {
            if (neg >= 0) {
                return infer_onnx_fail(g, n, "the shape has two -1s");
            }

            neg = i;
            continue;
        }

        if (t <= 0) {
            return infer_onnx_fail(g, n, "dimension %lld is not supported",
                                   (long long) t);
        }

        dims[i] = t;

        if (!(i == 0 && batch_first)) {
            rest *= (size_t) t;
        }
    }

    total = in->count;

    if (in->batched && !batch_first) {
        if (neg != 0 || rest != in->count) {
            return infer_onnx_fail(g, n, "the new shape does not keep the "
                                   "batch, alone, in the first dimension");
        }

        batch_first = 1;
        neg = -1;
        dims[0] = 1;
    }

    if (neg >= 0) {
        if (rest == 0 || total % rest != 0) {
            return infer_onnx_fail(g, n, "the shape does not divide the "
                                   "input's %zu elements", total);
        }

        dims[neg] = (int64_t) (total / rest);
        rest *= total / rest;
    }

    if (rest != total) {
        return infer_onnx_fail(g, n, "the shape does not hold the input's "
                               "%zu elements", total);
    }

    if (infer_onnx_set_shape(out, in->dtype, k, dims, in->batched)
        != INFER_OK)
    {
        return infer_onnx_fail(g, n, "the new shape is too large");
    }

    return infer_onnx_share(g, n);
}


static int
infer_onnx_flatten_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, axis, d;
    size_t               outer;
    int64_t              ax, dims[2];
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    rc = infer_onnx_attr_int(g, n, "axis", 1, &ax);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_onnx_axis(g, n, ax, in->rank + 1, &axis);
    if (rc != INFER_OK) {
        return rc;
    }

    outer = 1;

    for (d = in->batched ? 1 : 0; d < axis; d++) {
        outer *= (size_t) in->dims[d];
    }

    if (in->batched && (axis == 0 || outer != 1)) {
        return infer_onnx_fail(g, n, "flattening at axis %d merges the batch "
                               "with other dimensions", axis);
    }

    dims[0] = (int64_t) outer;
    dims[1] = (int64_t) (in->batched ? in->count
                                     : (outer ? in->count / outer : 0));

    (void) infer_onnx_set_shape(out, in->dtype, 2, dims, in->batched);

    return infer_onnx_share(g, n);
}


static int
infer_onnx_squeeze_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, d, r, axis, drop[INFER_ONNX_MAX_RANK];
    size_t               i, naxes;
    int64_t              dims[INFER_ONNX_MAX_RANK];
    const int64_t       *axes;
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    rc = (n->opset < 13) ? infer_onnx_attr_ints(g, n, "axes", &axes, &naxes)
                         : infer_onnx_const_ints(g, n, 1, &axes, &naxes);
    if (rc != INFER_OK) {
        return rc;
    }

    for (d = 0; d < in->rank; d++) {
        drop[d] = (axes == NULL && in->dims[d] == 1
                   && !(d == 0 && in->batched));
    }

    for (i = 0; i < naxes; i++) {
        rc = infer_onnx_axis(g, n, axes[i], in->rank, &axis);
        if (rc != INFER_OK) {
            return rc;
        }

        if (axis == 0 && in->batched) {
            return infer_onnx_fail(g, n, "squeezes the batch dimension");
        }

        if (in->dims[axis] != 1) {
            return infer_onnx_fail(g, n, "dimension %d is %lld, not 1", axis,
                                   (long long) in->dims[axis]);
        }

        drop[axis] = 1;
    }

    for (r = 0, d = 0; d < in->rank; d++) {
        if (!drop[d]) {
            dims[r++] = in->dims[d];
        }
    }

    (void) infer_onnx_set_shape(out, in->dtype, r, dims, in->batched);

    return infer_onnx_share(g, n);
}


static int
infer_onnx_unsqueeze_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, d, r, rank, axis, ones[INFER_ONNX_MAX_RANK];
    size_t               i, naxes;
    int64_t              dims[INFER_ONNX_MAX_RANK];
    const int64_t       *axes;
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    rc = (n->opset < 13) ? infer_onnx_attr_ints(g, n, "axes", &axes, &naxes)
                         : infer_onnx_const_ints(g, n, 1, &axes, &naxes);
    if (rc != INFER_OK) {
        return rc;
    }

    rank = in->rank + (int) naxes;

    if (axes == NULL || rank > INFER_ONNX_MAX_RANK) {
        return infer_onnx_fail(g, n, "needs axes, and at most %d dimensions "
                               "in all", INFER_ONNX_MAX_RANK);
    }

    for (d = 0; d < rank; d++) {
        ones[d] = 0;
    }

    for (i = 0; i < naxes; i++) {
        rc = infer_onnx_axis(g, n, axes[i], rank, &axis);
        if (rc != INFER_OK) {
            return rc;
        }

        if (ones[axis]) {
            return infer_onnx_fail(g, n, "axis %d is given twice", axis);
        }

        if (axis == 0 && in->batched) {
            return infer_onnx_fail(g, n, "moves the batch dimension");
        }

        ones[axis] = 1;
    }

    for (r = 0, d = 0; d < rank; d++) {
        dims[d] = ones[d] ? 1 : in->dims[r++];
    }

    (void) infer_onnx_set_shape(out, in->dtype, rank, dims, in->batched);

    return infer_onnx_share(g, n);
}


static int
infer_onnx_concat_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, i, d, axis;
    int64_t              ax, dims[INFER_ONNX_MAX_RANK];
    infer_onnx_value_t  *first, *in, *out;

    first = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (first == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input at least");
    }

    rc = infer_onnx_attr_int(g, n, "axis", INT64_MAX, &ax);
    if (rc != INFER_OK) {
        return rc;
    }

    if (ax == INT64_MAX) {
        return infer_onnx_fail(g, n, "needs an axis");
    }

    rc = infer_onnx_axis(g, n, ax, first->rank, &axis);
    if (rc != INFER_OK) {
        return rc;
    }

    if (axis == 0 && first->batched) {
        return infer_onnx_fail(g, n, "concatenates along the batch");
    }

    for (d = 0; d < first->rank; d++) {
        dims[d] = first->dims[d];
    }

    dims[axis] = 0;

    for (i = 0; i < n->nin; i++) {
        in = infer_onnx_in(g, n, i);

        if (in == NULL || in->rank != first->rank
            || in->dtype != first->dtype || in->batched != first->batched)
        {
            return infer_onnx_fail(g, n, "input %d does not match input 0 in "
                                   "rank, type or batch", i);
        }

        for (d = 0; d < first->rank; d++) {
            if (d != axis && in->dims[d] != first->dims[d]) {
                return infer_onnx_fail(g, n, "input %d differs from input 0 "
                                       "in dimension %d", i, d);
            }
        }

        dims[axis] += in->dims[axis];
    }

    if (infer_onnx_set_shape(out, first->dtype, first->rank, dims,
                             first->batched)
        != INFER_OK)
    {
        return infer_onnx_fail(g, n, "the output is too large");
    }

    n->params = (void *) (intptr_t) axis;

    return INFER_OK;
}


static int
infer_onnx_concat_fold(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  i, d, axis;
    size_t               outer, inner, width, o;
    unsigned char       *dst;
    uint8_t             *sym;
    infer_onnx_value_t  *in, *out;

    out = infer_onnx_out(g, n, 0);
    axis = (int) (intptr_t) n->params;

    if (infer_onnx_const_alloc(g, out) == NULL) {
        return INFER_ERROR;
    }

    outer = 1;

    for (d = 0; d < axis; d++) {
        outer *= (size_t) out->dims[d];
    }

    width = infer_onnx_width(out);
    dst = out->data;
    sym = out->sym;

    for (o = 0; o < outer; o++) {
        for (i = 0; i < n->nin; i++) {
            in = infer_onnx_in(g, n, i);
            inner = in->count / (outer ? outer : 1);

            memcpy(dst, (unsigned char *) in->data + o * inner * width,
                   inner * width);
            dst += inner * width;

            if (sym != NULL) {
                memcpy(sym, in->sym + o * inner, inner);
                sym += inner;
            }
        }
    }

    return INFER_OK;
}


static int
infer_onnx_concat_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                   i, axis, rank, layout, nhwc;
    size_t                dims[INFER_ONNX_MAX_RANK], outer, d;
    infer_onnx_value_t   *out, *in;
    infer_onnx_step_t    *s;
    infer_onnx_concat_t  *cc;
    infer_onnx_graph_t   *g;

    g = p->g;
    out = infer_onnx_out(g, n, 0);
    axis = (int) (intptr_t) n->params;

    /* channels last when the first input is, along the channels or not */

    in = infer_onnx_in(g, n, 0);
    nhwc = in->nhwc && !infer_onnx_layout_free(in) && out->rank >= 3;
    layout = nhwc ? INFER_ONNX_NHWC : INFER_ONNX_PLAIN;

    cc = infer_onnx_plan_alloc(p, sizeof(infer_onnx_concat_t));
    if (cc == NULL) {
        return INFER_ERROR;
    }

    cc->ninputs = n->nin;
    cc->width = sizeof(float);
    cc->inner = infer_onnx_plan_alloc(p, n->nin * sizeof(size_t));
    cc->row = infer_onnx_plan_alloc(p, n->nin * sizeof(size_t));
    cc->slots = infer_onnx_plan_alloc(p, n->nin * sizeof(int));

    if (cc->inner == NULL || cc->row == NULL || cc->slots == NULL) {
        return INFER_ERROR;
    }

    /* the axis as stored: channels last moves axis 1 to the end */

    if (nhwc) {
        axis = (axis == 1) ? out->rank - 1 : (axis > 1 ? axis - 1 : axis);
    }

    rank = infer_onnx_row_dims(out, nhwc, dims);
    axis -= out->batched ? 1 : 0;

    outer = 1;

    for (i = 0; i < axis; i++) {
        outer *= dims[i];
    }

    cc->outer = outer;
    cc->row_out = out->count;

    for (i = 0; i < n->nin; i++) {
        in = infer_onnx_in(g, n, i);

        cc->slots[i] = infer_onnx_plan_in(p, n, i, layout);
        if (cc->slots[i] < 0) {
            return INFER_ERROR;
        }

        cc->row[i] = in->batched ? in->count : 0;
        d = in->count / outer;
        cc->inner[i] = d;
    }

    (void) rank;

    s = infer_onnx_step_add(p, infer_onnx_k_concat, cc, cc->slots[0], -1,
                            infer_onnx_plan_out(p, n->out[0], nhwc));
    if (s == NULL) {
        return INFER_ERROR;
    }

    s->extra = cc->slots;
    s->nextra = n->nin;

    return INFER_OK;
}


/* Slice on constants: starts, ends, axes, steps, numpy's rules */

static int
infer_onnx_slice_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, d, axis;
    size_t               i, ns, ne, na, nst, count, width, at;
    int64_t              dims[INFER_ONNX_MAX_RANK], begin[INFER_ONNX_MAX_RANK];
    int64_t              step[INFER_ONNX_MAX_RANK], len, st, en, sp;
    int64_t              idx[INFER_ONNX_MAX_RANK];
    const int64_t       *starts, *ends, *axes, *steps;
    unsigned char       *dst;
    infer_onnx_value_t  *data, *out;

    data = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (data == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes data");
    }

    if (n->opset < 10) {
        rc = infer_onnx_attr_ints(g, n, "starts", &starts, &ns);
        if (rc == INFER_OK) {
            rc = infer_onnx_attr_ints(g, n, "ends", &ends, &ne);
        }
        if (rc == INFER_OK) {
            rc = infer_onnx_attr_ints(g, n, "axes", &axes, &na);
        }
        steps = NULL;
        nst = 0;

    } else {
        rc = infer_onnx_const_ints(g, n, 1, &starts, &ns);
        if (rc == INFER_OK) {
            rc = infer_onnx_const_ints(g, n, 2, &ends, &ne);
        }
        if (rc == INFER_OK) {
            rc = infer_onnx_const_ints(g, n, 3, &axes, &na);
        }
        if (rc == INFER_OK) {
            rc = infer_onnx_const_ints(g, n, 4, &steps, &nst);
        }
    }

    if (rc != INFER_OK) {
        return rc;
    }

    if (!data->is_const) {
        return infer_onnx_fail(g, n, "Slice is supported where it folds "
                               "away: constant data");
    }

    if (starts == NULL || ends == NULL || ns != ne
        || (axes != NULL && na != ns) || (steps != NULL && nst != ns))
    {
        return infer_onnx_fail(g, n, "starts, ends, axes and steps do not "
                               "match");
    }

    for (d = 0; d < data->rank; d++) {
        begin[d] = 0;
        step[d] = 1;
        dims[d] = data->dims[d];
    }

    for (i = 0; i < ns; i++) {
        rc = infer_onnx_axis(g, n, axes ? axes[i] : (int64_t) i, data->rank,
                             &axis);
        if (rc != INFER_OK) {
            return rc;
        }

        len = data->dims[axis];
        sp = steps ? steps[i] : 1;

        if (sp == 0) {
            return infer_onnx_fail(g, n, "a step is 0");
        }

        st = starts[i] < 0 ? starts[i] + len : starts[i];
        en = ends[i] < 0 ? ends[i] + len : ends[i];

        if (sp > 0) {
            st = st < 0 ? 0 : (st > len ? len : st);
            en = en < 0 ? 0 : (en > len ? len : en);
            /* ceil((en - st) / sp), sp up to INT64_MAX: no overflow */
            dims[axis] = (en > st) ? (en - st - 1) / sp + 1 : 0;

        } else {
            st = st < 0 ? -1 : (st > len - 1 ? len - 1 : st);
            en = en < -1 ? -1 : (en > len - 1 ? len - 1 : en);
            dims[axis] = (st > en)
                ? (int64_t) ((uint64_t) (st - en - 1)
                             / ((uint64_t) 0 - (uint64_t) sp)) + 1
                : 0;
        }

        begin[axis] = st;
        step[axis] = sp;
    }

    if (infer_onnx_set_shape(out, data->dtype, data->rank, dims, 0)
        != INFER_OK
        || infer_onnx_const_alloc(g, out) == NULL)
    {
        return INFER_ERROR;
    }

    width = infer_onnx_width(data);
    dst = out->data;
    count = out->count;

    for (d = 0; d < data->rank; d++) {
        idx[d] = 0;
    }

    for (i = 0; i < count; i++) {
        at = 0;

        for (d = 0; d < data->rank; d++) {
            at = at * (size_t) data->dims[d]
                 + (size_t) (begin[d] + idx[d] * step[d]);
        }

        memcpy(dst + i * width, (unsigned char *) data->data + at * width,
               width);

        if (out->sym != NULL) {
            out->sym[i] = data->sym[at];
        }

        for (d = data->rank - 1; d >= 0; d--) {
            if (++idx[d] < dims[d]) {
                break;
            }

            idx[d] = 0;
        }
    }

    n->folded = 1;

    return INFER_OK;
}


static int
infer_onnx_cos_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc;
    size_t               i, ndims;
    int64_t              dims[INFER_ONNX_MAX_RANK];
    const int64_t       *shape;
    infer_onnx_attr_t   *a;
    infer_onnx_value_t  *out, *value;

    rc = infer_onnx_const_ints(g, n, 0, &shape, &ndims);
    if (rc != INFER_OK) {
        return rc;
    }

    out = infer_onnx_out(g, n, 0);
    a = infer_onnx_attr(n, "value");
    value = (a != NULL && a->tensor >= 0) ? &g->values[a->tensor] : NULL;

    if (out == NULL || shape == NULL || ndims > INFER_ONNX_MAX_RANK
        || (a != NULL && (value == NULL || value->count != 1)))
    {
        return infer_onnx_fail(g, n, "needs a constant shape and a value of "
                               "one element");
    }

    for (i = 0; i < ndims; i++) {
        dims[i] = shape[i];
    }

    if (infer_onnx_set_shape(out, value ? value->dtype : INFER_ONNX_FLOAT,
                             (int) ndims, dims, 0)
        != INFER_OK
        || infer_onnx_const_alloc(g, out) == NULL)
    {
        return infer_onnx_fail(g, n, "the shape is invalid");
    }

    for (i = 0; value != NULL && i < out->count; i++) {
        memcpy((unsigned char *) out->data + i * infer_onnx_width(out),
               value->data, infer_onnx_width(out));
    }

    n->folded = 1;

    return INFER_OK;
}


static int
infer_onnx_transpose_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  rc, d, seen[INFER_ONNX_MAX_RANK], *perm;
    size_t               nperm;
    int64_t              dims[INFER_ONNX_MAX_RANK];
    const int64_t       *p;
    infer_onnx_value_t  *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    rc = infer_onnx_attr_ints(g, n, "perm", &p, &nperm);
    if (rc != INFER_OK) {
        return rc;
    }

    if (p != NULL && nperm != (size_t) in->rank) {
        return infer_onnx_fail(g, n, "perm has %zu axes for rank %d", nperm,
                               in->rank);
    }

    perm = infer_onnx_arena_alloc(g->tmp, INFER_ONNX_MAX_RANK * sizeof(int));
    if (perm == NULL) {
        return INFER_ERROR;
    }

    for (d = 0; d < in->rank; d++) {
        seen[d] = 0;
    }

    for (d = 0; d < in->rank; d++) {
        perm[d] = p ? (int) p[d] : in->rank - 1 - d;

        if (perm[d] < 0 || perm[d] >= in->rank || seen[perm[d]]++) {
            return infer_onnx_fail(g, n, "perm is not a permutation");
        }

        dims[d] = in->dims[perm[d]];
    }

    if (in->batched && perm[0] != 0) {
        return infer_onnx_fail(g, n, "moves the batch dimension");
    }

    (void) infer_onnx_set_shape(out, in->dtype, in->rank, dims, in->batched);
    n->params = perm;

    return INFER_OK;
}


static int
infer_onnx_transpose_fold(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                      d;
    size_t                   dims[INFER_ONNX_MAX_RANK];
    float                   *ptr[2];
    infer_onnx_step_t        s;
    infer_onnx_transpose_t   tp;
    infer_onnx_value_t      *in, *out;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (infer_onnx_const_alloc(g, out) == NULL) {
        return INFER_ERROR;
    }

    if (in->rank == 0) {
        memcpy(out->data, in->data, infer_onnx_width(in));
        return INFER_OK;
    }

    for (d = 0; d < in->rank; d++) {
        dims[d] = (size_t) in->dims[d];
    }

    infer_onnx_transpose_init(&tp, dims, in->rank, n->params,
                                infer_onnx_width(in));

    memset(&s, 0, sizeof(s));
    s.p = &tp;
    s.in[0] = 0;
    s.out = 1;
    ptr[0] = in->data;
    ptr[1] = out->data;

    infer_onnx_k_transpose(&s, ptr, 1, NULL);

    if (in->sym != NULL) {
        /* the batch size is never a transposed matrix's element */
        for (d = 0; (size_t) d < in->count; d++) {
            if (in->sym[d]) {
                return infer_onnx_fail(g, n, "transposes the batch size");
            }
        }
    }

    return INFER_OK;
}


static int
infer_onnx_transpose_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                      d, off, in_slot, perm[INFER_ONNX_MAX_RANK];
    const int               *np;
    size_t                   dims[INFER_ONNX_MAX_RANK];
    infer_onnx_step_t       *s;
    infer_onnx_value_t      *in;
    infer_onnx_transpose_t  *tp;

    in = infer_onnx_in(p->g, n, 0);
    np = n->params;

    tp = infer_onnx_plan_alloc(p, sizeof(infer_onnx_transpose_t));
    if (tp == NULL) {
        return INFER_ERROR;
    }

    /* a row's permutation: without the batch, which stays first */

    off = in->batched ? 1 : 0;
    (void) infer_onnx_row_dims(in, 0, dims);

    for (d = off; d < in->rank; d++) {
        perm[d - off] = np[d] - off;
    }

    infer_onnx_transpose_init(tp, dims, in->rank - off, perm, sizeof(float));

    in_slot = infer_onnx_plan_in(p, n, 0, INFER_ONNX_PLAIN);

    s = infer_onnx_step_add(p, infer_onnx_k_transpose, tp, in_slot, -1,
                            infer_onnx_plan_out(p, n->out[0], 0));

    return (s == NULL) ? INFER_ERROR : INFER_OK;
}


typedef struct {
    infer_onnx_pad_mode_e   mode;
    float                   value;
    int64_t                 begin[INFER_ONNX_MAX_RANK];
    int64_t                 end[INFER_ONNX_MAX_RANK];
} infer_onnx_pad_node_t;


static int
infer_onnx_pad_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                     rc, d, axis;
    size_t                  i, npads, naxes;
    int64_t                 dims[INFER_ONNX_MAX_RANK];
    const int64_t          *pads, *axes;
    const char             *mode;
    infer_onnx_value_t     *in, *out;
    infer_onnx_pad_node_t  *pn;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL || in->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "takes one float input");
    }

    pn = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_pad_node_t));
    if (pn == NULL) {
        return INFER_ERROR;
    }

    rc = infer_onnx_attr_string(g, n, "mode", "constant", &mode);
    if (rc != INFER_OK) {
        return rc;
    }

    if (strcmp(mode, "constant") == 0) {
        pn->mode = INFER_ONNX_PAD_CONSTANT;

    } else if (strcmp(mode, "reflect") == 0) {
        pn->mode = INFER_ONNX_PAD_REFLECT;

    } else if (strcmp(mode, "edge") == 0) {
        pn->mode = INFER_ONNX_PAD_EDGE;

    } else {
        return infer_onnx_fail(g, n, "mode \"%s\" is not supported", mode);
    }

    axes = NULL;
    naxes = 0;

    if (n->opset < 11) {
        rc = infer_onnx_attr_ints(g, n, "pads", &pads, &npads);
        if (rc == INFER_OK) {
            rc = infer_onnx_attr_float(g, n, "value", 0.0f, &pn->value);
        }

    } else {
        rc = infer_onnx_const_ints(g, n, 1, &pads, &npads);
        if (rc == INFER_OK) {
            rc = infer_onnx_const_float(g, n, 2, 0.0f, &pn->value);
        }
        if (rc == INFER_OK && n->opset >= 18) {
            rc = infer_onnx_const_ints(g, n, 3, &axes, &naxes);
        }
    }

    if (rc != INFER_OK) {
        return rc;
    }

    if (axes == NULL) {
        naxes = (size_t) in->rank;
    }

    if (pads == NULL || npads != 2 * naxes) {
        return infer_onnx_fail(g, n, "needs %zu pads", 2 * naxes);
    }

    for (i = 0; i < naxes; i++) {
        axis = (int) i;

        if (axes != NULL) {
            rc = infer_onnx_axis(g, n, axes[i], in->rank, &axis);
            if (rc != INFER_OK) {
                return rc;
            }
        }

        pn->begin[axis] = pads[i];
        pn->end[axis] = pads[i + naxes];
    }

    for (d = 0; d < in->rank; d++) {
        if (pn->begin[d] < 0 || pn->end[d] < 0) {
            return infer_onnx_fail(g, n, "negative pads are not supported");
        }

        if (d == 0 && in->batched && (pn->begin[0] || pn->end[0])) {
            return infer_onnx_fail(g, n, "pads the batch dimension");
        }

        if (pn->mode == INFER_ONNX_PAD_REFLECT
            && (pn->begin[d] >= in->dims[d] || pn->end[d] >= in->dims[d])
            && !(d == 0 && in->batched))
        {
            return infer_onnx_fail(g, n, "reflect pads dimension %d by more "
                                   "than it has", d);
        }

        dims[d] = in->dims[d] + pn->begin[d] + pn->end[d];
    }

    if (infer_onnx_set_shape(out, in->dtype, in->rank, dims, in->batched)
        != INFER_OK)
    {
        return infer_onnx_fail(g, n, "the output is too large");
    }

    n->params = pn;

    return INFER_OK;
}


static int
infer_onnx_pad_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                     d, r, nhwc, off, in_slot;
    size_t                  dims[INFER_ONNX_MAX_RANK];
    int64_t                 begin[INFER_ONNX_MAX_RANK];
    infer_onnx_pad_t       *pp;
    infer_onnx_step_t      *s;
    infer_onnx_value_t     *in, *out;
    infer_onnx_pad_node_t  *pn;

    in = infer_onnx_in(p->g, n, 0);
    out = infer_onnx_out(p->g, n, 0);
    pn = n->params;

    pp = infer_onnx_plan_alloc(p, sizeof(infer_onnx_pad_t));
    if (pp == NULL) {
        return INFER_ERROR;
    }

    nhwc = in->nhwc && !infer_onnx_layout_free(in);

    /* the begin pads in the stored order of a row */

    for (d = 0; d < in->rank; d++) {
        begin[d] = pn->begin[d];
    }

    if (nhwc) {
        for (d = 1; d < in->rank - 1; d++) {
            begin[d] = pn->begin[d + 1];
        }

        begin[in->rank - 1] = pn->begin[1];
    }

    off = in->batched ? 1 : 0;
    r = infer_onnx_row_dims(in, nhwc, dims);
    pp->rank = r;

    for (d = 0; d < r; d++) {
        pp->in[d] = dims[d];
        pp->begin[d] = (size_t) begin[d + off];
    }

    (void) infer_onnx_row_dims(out, nhwc, dims);

    for (d = 0; d < r; d++) {
        pp->out[d] = dims[d];
    }

    pp->mode = pn->mode;
    pp->value = pn->value;
    pp->row_in = in->count;
    pp->row_out = out->count;

    in_slot = infer_onnx_plan_in(p, n, 0, nhwc ? INFER_ONNX_NHWC
                                               : INFER_ONNX_PLAIN);

    s = infer_onnx_step_add(p, infer_onnx_k_pad, pp, in_slot, -1,
                            infer_onnx_plan_out(p, n->out[0], nhwc));

    return (s == NULL) ? INFER_ERROR : INFER_OK;
}
