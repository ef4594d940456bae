/*
 * Arithmetic: Add, Sub, Mul, Div (numpy broadcasting), the activations,
 * Softmax and LogSoftmax, Gemm and MatMul.
 *
 * Broadcasting keeps rows apart: an operand that carries the batch
 * carries it first, at the output's rank; a constant broadcasts over
 * every row.  Integer arithmetic runs at load only (shape chains), and
 * refuses to compute with the batch size.  Gemm and MatMul need their
 * weights constant: they are packed at load for the micro-kernel.
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer_onnx_kernels.h"


typedef struct {
    infer_onnx_binop_e   op;
} infer_onnx_binary_node_t;


typedef struct {
    infer_onnx_act_t     act;
} infer_onnx_unary_node_t;


typedef struct {
    int                  axis;
    unsigned             coerce:1;          /* opset < 13: 2-d from axis */
    unsigned             log:1;
} infer_onnx_softmax_node_t;


typedef struct {
    int                  trans_a;
    int                  trans_b;
    float                alpha;
    float                beta;
    int                  matmul;
} infer_onnx_gemm_node_t;


static int infer_onnx_binary_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n, infer_onnx_binop_e op);
static int infer_onnx_add_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_sub_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_mul_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_div_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_binary_fold_int(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_binary_lower(infer_onnx_plan_t *p,
    infer_onnx_node_t *n);
static void infer_onnx_broadcast_strides(const size_t *dims, int rank,
    const size_t *out, int orank, size_t *strides);
static int infer_onnx_unary_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    infer_onnx_act_e act);
static int infer_onnx_relu_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_leaky_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_sigmoid_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_tanh_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_clip_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_unary_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n);
static int infer_onnx_softmax_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_softmax_lower(infer_onnx_plan_t *p,
    infer_onnx_node_t *n);
static int infer_onnx_gemm_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_matmul_infer(infer_onnx_graph_t *g,
    infer_onnx_node_t *n);
static int infer_onnx_gemm_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n);


const infer_onnx_op_t  infer_onnx_op_add = {
    "Add", 7, infer_onnx_add_infer, NULL, infer_onnx_binary_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_sub = {
    "Sub", 7, infer_onnx_sub_infer, NULL, infer_onnx_binary_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_mul = {
    "Mul", 7, infer_onnx_mul_infer, NULL, infer_onnx_binary_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_div = {
    "Div", 7, infer_onnx_div_infer, NULL, infer_onnx_binary_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_relu = {
    "Relu", 6, infer_onnx_relu_infer, NULL, infer_onnx_unary_lower,
    INFER_ONNX_OP_UNARY
};

const infer_onnx_op_t  infer_onnx_op_leaky_relu = {
    "LeakyRelu", 6, infer_onnx_leaky_infer, NULL, infer_onnx_unary_lower,
    INFER_ONNX_OP_UNARY
};

const infer_onnx_op_t  infer_onnx_op_sigmoid = {
    "Sigmoid", 6, infer_onnx_sigmoid_infer, NULL, infer_onnx_unary_lower,
    INFER_ONNX_OP_UNARY
};

const infer_onnx_op_t  infer_onnx_op_tanh = {
    "Tanh", 6, infer_onnx_tanh_infer, NULL, infer_onnx_unary_lower,
    INFER_ONNX_OP_UNARY
};

const infer_onnx_op_t  infer_onnx_op_clip = {
    "Clip", 6, infer_onnx_clip_infer, NULL, infer_onnx_unary_lower,
    INFER_ONNX_OP_UNARY
};

const infer_onnx_op_t  infer_onnx_op_softmax = {
    "Softmax", 1, infer_onnx_softmax_infer, NULL, infer_onnx_softmax_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_log_softmax = {
    "LogSoftmax", 1, infer_onnx_softmax_infer, NULL, infer_onnx_softmax_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_gemm = {
    "Gemm", 7, infer_onnx_gemm_infer, NULL, infer_onnx_gemm_lower, 0
};

const infer_onnx_op_t  infer_onnx_op_matmul = {
    "MatMul", 1, infer_onnx_matmul_infer, NULL, infer_onnx_gemm_lower, 0
};


static int
infer_onnx_add_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_binary_infer(g, n, INFER_ONNX_ADD);
}


static int
infer_onnx_sub_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_binary_infer(g, n, INFER_ONNX_SUB);
}


static int
infer_onnx_mul_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_binary_infer(g, n, INFER_ONNX_MUL);
}


static int
infer_onnx_div_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_binary_infer(g, n, INFER_ONNX_DIV);
}


/* numpy's broadcasting, rows kept apart */

static int
infer_onnx_binary_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    infer_onnx_binop_e op)
{
    int                        i, d, rank, batched, da, db;
    int64_t                    dims[INFER_ONNX_MAX_RANK], x, y;
    char                       sa[64], sb[64];
    infer_onnx_value_t        *a, *b, *out, *v;
    infer_onnx_binary_node_t  *bn;

    a = infer_onnx_in(g, n, 0);
    b = infer_onnx_in(g, n, 1);
    out = infer_onnx_out(g, n, 0);

    if (a == NULL || b == NULL || out == NULL || n->nin != 2) {
        return infer_onnx_fail(g, n, "takes two inputs");
    }

    if (a->dtype != b->dtype) {
        return infer_onnx_fail(g, n, "its inputs have different types");
    }

    rank = (a->rank > b->rank) ? a->rank : b->rank;
    batched = a->batched || b->batched;

    for (i = 0; i < 2; i++) {
        v = i ? b : a;

        if (v->batched && v->rank != rank) {
            return infer_onnx_fail(g, n, "input %d carries the batch but "
                                   "broadcasts against a higher rank", i);
        }

        if (batched && !v->batched && v->rank == rank && v->dims[0] != 1) {
            return infer_onnx_fail(g, n, "input %d (\"%s\") would combine "
                                   "with each row differently", i, v->name);
        }
    }

    for (d = 0; d < rank; d++) {
        da = d - (rank - a->rank);
        db = d - (rank - b->rank);
        x = (da >= 0) ? a->dims[da] : 1;
        y = (db >= 0) ? b->dims[db] : 1;

        if (d == 0 && batched) {
            dims[0] = 1;
            continue;
        }

        if (x != y && x != 1 && y != 1) {
            infer_onnx_format_shape(sa, sizeof(sa), a);
            infer_onnx_format_shape(sb, sizeof(sb), b);
            return infer_onnx_fail(g, n, "shapes %s and %s do not broadcast",
                                   sa, sb);
        }

        dims[d] = (x == 1) ? y : x;
    }

    if (infer_onnx_set_shape(out, a->dtype, rank, dims, batched) != INFER_OK) {
        return infer_onnx_fail(g, n, "the output is too large");
    }

    bn = infer_onnx_arena_alloc(g->tmp, sizeof(infer_onnx_binary_node_t));
    if (bn == NULL) {
        return INFER_ERROR;
    }

    bn->op = op;
    n->params = bn;

    if (a->is_const && b->is_const && a->dtype == INFER_ONNX_INT64) {
        return infer_onnx_binary_fold_int(g, n);
    }

    if (!a->is_const && !b->is_const) {
        return INFER_OK;
    }

    if (a->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "integer arithmetic on a computed "
                               "tensor is not supported");
    }

    return INFER_OK;
}


/* integer arithmetic at load: a shape chain's, never with the batch size */

static int
infer_onnx_binary_fold_int(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                        d, rank;
    size_t                     i, ia, ib, rem, sa[INFER_ONNX_MAX_RANK];
    size_t                     sb[INFER_ONNX_MAX_RANK], od[INFER_ONNX_MAX_RANK];
    size_t                     ad[INFER_ONNX_MAX_RANK], bd[INFER_ONNX_MAX_RANK];
    int64_t                    x, y, *r;
    infer_onnx_value_t        *a, *b, *out;
    infer_onnx_binary_node_t  *bn;

    a = infer_onnx_in(g, n, 0);
    b = infer_onnx_in(g, n, 1);
    out = infer_onnx_out(g, n, 0);
    bn = n->params;

    r = infer_onnx_const_alloc(g, out);
    if (r == NULL) {
        return INFER_ERROR;
    }

    rank = out->rank;

    for (d = 0; d < rank; d++) {
        od[d] = (size_t) out->dims[d];
    }

    for (d = 0; d < a->rank; d++) {
        ad[d] = (size_t) a->dims[d];
    }

    for (d = 0; d < b->rank; d++) {
        bd[d] = (size_t) b->dims[d];
    }

    infer_onnx_broadcast_strides(ad, a->rank, od, rank, sa);
    infer_onnx_broadcast_strides(bd, b->rank, od, rank, sb);

    for (i = 0; i < out->count; i++) {
        rem = i;
        ia = 0;
        ib = 0;

        for (d = rank - 1; d >= 0; d--) {
            ia += (rem % od[d]) * sa[d];
            ib += (rem % od[d]) * sb[d];
            rem /= od[d];
        }

        if (a->sym[ia] || b->sym[ib]) {
            return infer_onnx_fail(g, n, "computes with the batch size");
        }

        x = ((int64_t *) a->data)[ia];
        y = ((int64_t *) b->data)[ib];

        switch (bn->op) {
        case INFER_ONNX_ADD:
            r[i] = x + y;
            break;
        case INFER_ONNX_SUB:
            r[i] = x - y;
            break;
        case INFER_ONNX_MUL:
            r[i] = x * y;
            break;
        default:
            if (y == 0) {
                return infer_onnx_fail(g, n, "divides by zero");
            }

            /* ONNX's integer division truncates, as C's does */
            r[i] = x / y;
        }
    }

    n->folded = 1;

    return INFER_OK;
}


/*
 * The element strides of an operand of dims (right-aligned to the output's
 * rank) over the output's dims: 0 where it broadcasts.
 */

static void
infer_onnx_broadcast_strides(const size_t *dims, int rank, const size_t *out,
    int orank, size_t *strides)
{
    int     d, k;
    size_t  stride;

    stride = 1;

    for (d = orank - 1; d >= 0; d--) {
        k = d - (orank - rank);

        if (k < 0 || (dims[k] == 1 && out[d] != 1)) {
            strides[d] = 0;

        } else {
            strides[d] = stride;
        }

        if (k >= 0) {
            stride *= dims[k];
        }
    }
}


/*
 * Channels last when an operand arriving that way has the output's rank
 * (a residual addition between convolutions); a constant is then
 * reordered at load to match.  The loop nest is a row's stored
 * dimensions, merged where both operands run on contiguously.
 */

static int
infer_onnx_binary_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                        i, d, r, k, nhwc, rank, slots[2];
    size_t                     odims[INFER_ONNX_MAX_RANK];
    size_t                     vdims[INFER_ONNX_MAX_RANK];
    size_t                     st[2][INFER_ONNX_MAX_RANK];
    infer_onnx_value_t        *v[2], *out;
    infer_onnx_step_t         *s;
    infer_onnx_binary_t       *bp;
    infer_onnx_binary_node_t  *bn;
    infer_onnx_graph_t        *g;

    g = p->g;
    bn = n->params;
    out = infer_onnx_out(g, n, 0);
    v[0] = infer_onnx_in(g, n, 0);
    v[1] = infer_onnx_in(g, n, 1);

    nhwc = 0;

    for (i = 0; i < 2; i++) {
        if (!v[i]->is_const && v[i]->nhwc && v[i]->rank == out->rank
            && !infer_onnx_layout_free(out))
        {
            nhwc = 1;
        }
    }

    bp = infer_onnx_plan_alloc(p, sizeof(infer_onnx_binary_t));
    if (bp == NULL) {
        return INFER_ERROR;
    }

    bp->op = bn->op;
    bp->act.act = INFER_ONNX_ACT_NONE;

    rank = infer_onnx_row_dims(out, nhwc, odims);

    for (i = 0; i < 2; i++) {
        slots[i] = infer_onnx_plan_in(p, n, i,
                                      (v[i]->rank == out->rank && nhwc)
                                      ? INFER_ONNX_NHWC : INFER_ONNX_PLAIN);
        if (slots[i] < 0) {
            return INFER_ERROR;
        }

        /* a constant of the output's rank is a row too, its dims[0] 1 */

        if (v[i]->is_const && out->batched && v[i]->rank == out->rank) {
            infer_onnx_value_t  row = *v[i];

            row.batched = 1;
            k = infer_onnx_row_dims(&row, nhwc && v[i]->rank == out->rank,
                                    vdims);

        } else {
            k = infer_onnx_row_dims(v[i], nhwc && v[i]->rank == out->rank,
                                    vdims);
        }

        infer_onnx_broadcast_strides(vdims, k, odims, rank, st[i]);
    }

    bp->row_a = v[0]->batched ? v[0]->count : 0;
    bp->row_b = v[1]->batched ? v[1]->count : 0;
    bp->row_out = out->count;

    /* merge dimension d into d + 1 where both operands allow it */

    r = 0;

    for (d = 0; d < rank; d++) {
        if (odims[d] == 1 && rank > 1) {
            continue;
        }

        if (r > 0
            && st[0][d - 0] * odims[d] == bp->sa[r - 1]
            && st[1][d] * odims[d] == bp->sb[r - 1])
        {
            bp->dims[r - 1] *= odims[d];
            bp->sa[r - 1] = st[0][d];
            bp->sb[r - 1] = st[1][d];
            continue;
        }

        bp->dims[r] = odims[d];
        bp->sa[r] = st[0][d];
        bp->sb[r] = st[1][d];
        r++;
    }

    if (r == 0) {
        bp->dims[0] = 1;
        bp->sa[0] = (rank > 0) ? st[0][rank - 1] : 0;
        bp->sb[0] = (rank > 0) ? st[1][rank - 1] : 0;
        r = 1;
    }

    bp->rank = r;

    s = infer_onnx_step_add(p, infer_onnx_k_binary, bp, slots[0], slots[1],
                            infer_onnx_plan_out(p, n->out[0], nhwc));

    return (s == NULL) ? INFER_ERROR : INFER_OK;
}


static int
infer_onnx_unary_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    infer_onnx_act_e act)
{
    infer_onnx_value_t       *in, *out;
    infer_onnx_unary_node_t  *un;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes one input");
    }

    if (in->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "takes a float input");
    }

    (void) infer_onnx_set_shape(out, in->dtype, in->rank, in->dims,
                                in->batched);

    un = n->params;

    if (un == NULL) {
        un = infer_onnx_arena_calloc(g->tmp, 1,
                                     sizeof(infer_onnx_unary_node_t));
        if (un == NULL) {
            return INFER_ERROR;
        }

        n->params = un;
    }

    un->act.act = act;

    return INFER_OK;
}


static int
infer_onnx_relu_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_unary_infer(g, n, INFER_ONNX_ACT_RELU);
}


static int
infer_onnx_sigmoid_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_unary_infer(g, n, INFER_ONNX_ACT_SIGMOID);
}


static int
infer_onnx_tanh_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    return infer_onnx_unary_infer(g, n, INFER_ONNX_ACT_TANH);
}


static int
infer_onnx_leaky_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                       rc;
    float                     alpha;
    infer_onnx_unary_node_t  *un;

    rc = infer_onnx_attr_float(g, n, "alpha", 0.01f, &alpha);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_onnx_unary_infer(g, n, INFER_ONNX_ACT_LEAKY);
    if (rc != INFER_OK) {
        return rc;
    }

    un = n->params;
    un->act.a = alpha;

    return INFER_OK;
}


/* min and max: attributes before opset 11, constant inputs since */

static int
infer_onnx_clip_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                       rc;
    float                     lo, hi;
    infer_onnx_unary_node_t  *un;

    if (n->opset < 11) {
        rc = infer_onnx_attr_float(g, n, "min", -FLT_MAX, &lo);
        if (rc == INFER_OK) {
            rc = infer_onnx_attr_float(g, n, "max", FLT_MAX, &hi);
        }

    } else {
        rc = infer_onnx_const_float(g, n, 1, -INFINITY, &lo);
        if (rc == INFER_OK) {
            rc = infer_onnx_const_float(g, n, 2, INFINITY, &hi);
        }
    }

    if (rc != INFER_OK) {
        return rc;
    }

    n->nin = 1;                             /* min and max are read */

    rc = infer_onnx_unary_infer(g, n, INFER_ONNX_ACT_CLIP);
    if (rc != INFER_OK) {
        return rc;
    }

    un = n->params;
    un->act.a = lo;
    un->act.b = hi;

    return INFER_OK;
}


/* elementwise, in the layout the input comes in */

static int
infer_onnx_unary_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    infer_onnx_step_t        *s;
    infer_onnx_value_t       *in;
    infer_onnx_unary_t       *up;
    infer_onnx_unary_node_t  *un;

    in = infer_onnx_in(p->g, n, 0);
    un = n->params;

    up = infer_onnx_plan_alloc(p, sizeof(infer_onnx_unary_t));
    if (up == NULL) {
        return INFER_ERROR;
    }

    up->count = in->count;
    up->act = un->act;

    s = infer_onnx_step_add(p, infer_onnx_k_unary, up,
                            infer_onnx_plan_in(p, n, 0, INFER_ONNX_ANY), -1,
                            infer_onnx_plan_out(p, n->out[0], in->nhwc));

    return (s == NULL) ? INFER_ERROR : INFER_OK;
}


/*
 * Before opset 13 the input is read as 2-d, [prod(dims[:axis]),
 * prod(dims[axis:])], the default axis 1; since, one axis, default -1.
 */

static int
infer_onnx_softmax_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                         rc, axis;
    int64_t                     ax;
    infer_onnx_value_t         *in, *out;
    infer_onnx_softmax_node_t  *sn;

    in = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (in == NULL || out == NULL || in->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "takes one float input");
    }

    rc = infer_onnx_attr_int(g, n, "axis", n->opset < 13 ? 1 : -1, &ax);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_onnx_axis(g, n, ax, in->rank, &axis);
    if (rc != INFER_OK) {
        return rc;
    }

    if (axis == 0 && in->batched) {
        return infer_onnx_fail(g, n, "normalizes across the batch");
    }

    sn = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_softmax_node_t));
    if (sn == NULL) {
        return INFER_ERROR;
    }

    sn->axis = axis;
    sn->coerce = (n->opset < 13);
    sn->log = (strcmp(n->op_type, "LogSoftmax") == 0);
    n->params = sn;

    (void) infer_onnx_set_shape(out, in->dtype, in->rank, in->dims,
                                in->batched);

    return INFER_OK;
}


static int
infer_onnx_softmax_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                         d, r, axis, nhwc, in_slot;
    size_t                      dims[INFER_ONNX_MAX_RANK];
    infer_onnx_step_t          *s;
    infer_onnx_value_t         *in;
    infer_onnx_softmax_t       *sm;
    infer_onnx_softmax_node_t  *sn;

    in = infer_onnx_in(p->g, n, 0);
    sn = n->params;

    sm = infer_onnx_plan_alloc(p, sizeof(infer_onnx_softmax_t));
    if (sm == NULL) {
        return INFER_ERROR;
    }

    /* one axis can be read channels last; the 2-d reading cannot */

    nhwc = !sn->coerce && in->nhwc && !infer_onnx_layout_free(in);
    axis = sn->axis;

    if (nhwc) {
        axis = (axis == 1) ? in->rank - 1 : (axis > 1 ? axis - 1 : axis);
    }

    r = infer_onnx_row_dims(in, nhwc, dims);
    axis -= in->batched ? 1 : 0;

    sm->outer = 1;
    sm->len = 1;
    sm->inner = 1;
    sm->log = sn->log;

    for (d = 0; d < r; d++) {
        if (d < axis) {
            sm->outer *= dims[d];

        } else if (d == axis || sn->coerce) {
            sm->len *= dims[d];

        } else {
            sm->inner *= dims[d];
        }
    }

    in_slot = infer_onnx_plan_in(p, n, 0, nhwc ? INFER_ONNX_NHWC
                                               : INFER_ONNX_PLAIN);

    s = infer_onnx_step_add(p, infer_onnx_k_softmax, sm, in_slot, -1,
                            infer_onnx_plan_out(p, n->out[0], nhwc));
    if (s == NULL) {
        return INFER_ERROR;
    }

    s->work_fixed = sm->len;

    return INFER_OK;
}


/* Y = alpha A' B' + beta C, B and C constants */

static int
infer_onnx_gemm_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                      rc;
    int64_t                  ta, tb, dims[2], m, k, kb, cols;
    infer_onnx_value_t      *a, *b, *c, *out;
    infer_onnx_gemm_node_t  *gn;

    gn = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_gemm_node_t));
    if (gn == NULL) {
        return INFER_ERROR;
    }

    rc = infer_onnx_attr_int(g, n, "transA", 0, &ta);
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_int(g, n, "transB", 0, &tb);
    }
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_float(g, n, "alpha", 1.0f, &gn->alpha);
    }
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_float(g, n, "beta", 1.0f, &gn->beta);
    }

    if (rc != INFER_OK) {
        return rc;
    }

    a = infer_onnx_in(g, n, 0);
    b = infer_onnx_in(g, n, 1);
    c = infer_onnx_in(g, n, 2);
    out = infer_onnx_out(g, n, 0);

    if (a == NULL || b == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes A and B");
    }

    if (a->rank != 2 || b->rank != 2 || a->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "A and B must be float matrices");
    }

    if (!b->is_const) {
        return infer_onnx_fail(g, n, "B must be a constant: a product of "
                               "two computed tensors is not supported");
    }

    if (ta && a->batched) {
        return infer_onnx_fail(g, n, "transA would move the batch");
    }

    gn->trans_a = (int) ta;
    gn->trans_b = (int) tb;

    m = ta ? a->dims[1] : a->dims[0];
    k = ta ? a->dims[0] : a->dims[1];
    kb = tb ? b->dims[1] : b->dims[0];
    cols = tb ? b->dims[0] : b->dims[1];

    if (k != kb) {
        return infer_onnx_fail(g, n, "A has %lld columns, B %lld rows",
                               (long long) k, (long long) kb);
    }

    if (c != NULL) {
        if (!c->is_const || c->dtype != INFER_ONNX_FLOAT || c->rank > 2) {
            return infer_onnx_fail(g, n, "C must be a constant float tensor");
        }

        if ((c->rank >= 1 && c->dims[c->rank - 1] != 1
             && c->dims[c->rank - 1] != cols)
            || (c->rank == 2 && c->dims[0] != 1
                && (a->batched || c->dims[0] != m)))
        {
            return infer_onnx_fail(g, n, "C does not broadcast to [M, N]");
        }
    }

    dims[0] = m;
    dims[1] = cols;
    (void) infer_onnx_set_shape(out, INFER_ONNX_FLOAT, 2, dims, a->batched);

    n->params = gn;

    return INFER_OK;
}


/* [..., M, K] x [K, N] or [K]: rows are independent, B a constant */

static int
infer_onnx_matmul_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                      d, rank;
    int64_t                  dims[INFER_ONNX_MAX_RANK], k;
    infer_onnx_value_t      *a, *b, *out;
    infer_onnx_gemm_node_t  *gn;

    a = infer_onnx_in(g, n, 0);
    b = infer_onnx_in(g, n, 1);
    out = infer_onnx_out(g, n, 0);

    if (a == NULL || b == NULL || out == NULL || a->rank == 0) {
        return infer_onnx_fail(g, n, "takes A and B");
    }

    if (a->dtype != INFER_ONNX_FLOAT || b->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "takes float tensors");
    }

    if (!b->is_const) {
        return infer_onnx_fail(g, n, "B must be a constant: a product of "
                               "two computed tensors is not supported");
    }

    if (b->rank < 1 || b->rank > 2) {
        return infer_onnx_fail(g, n, "B must be a vector or a matrix");
    }

    if (a->batched && a->rank == 1) {
        return infer_onnx_fail(g, n, "a vector A would be the batch");
    }

    k = a->dims[a->rank - 1];

    if (b->dims[0] != k) {
        return infer_onnx_fail(g, n, "A has %lld columns, B %lld rows",
                               (long long) k, (long long) b->dims[0]);
    }

    rank = 0;

    for (d = 0; d < a->rank - 1; d++) {
        dims[rank++] = a->dims[d];
    }

    if (b->rank == 2) {
        dims[rank++] = b->dims[1];
    }

    (void) infer_onnx_set_shape(out, INFER_ONNX_FLOAT, rank, dims,
                                a->batched);

    gn = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_gemm_node_t));
    if (gn == NULL) {
        return INFER_ERROR;
    }

    gn->alpha = 1.0f;
    gn->beta = 1.0f;
    gn->matmul = 1;
    n->params = gn;

    return INFER_OK;
}


/*
 * The weights packed (times alpha, and a fused BatchNormalization's
 * scale), the bias (beta C, and the fused bias and normalization), the
 * activation and the residual fused in.
 */

static int
infer_onnx_gemm_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                      in_slot, res_slot, out_v;
    size_t                   k, cols, j, ks, js, nr, rows;
    float                   *panels, *bias, *scale, *res;
    const float             *w, *cv;
    infer_onnx_step_t       *s;
    infer_onnx_gemm_t       *gm;
    infer_onnx_fuse_t       *fu;
    infer_onnx_value_t      *a, *b, *c, *out;
    infer_onnx_gemm_node_t  *gn;
    infer_onnx_graph_t      *g;

    g = p->g;
    gn = n->params;
    fu = infer_onnx_fusion(p, n);
    a = infer_onnx_in(g, n, 0);
    b = infer_onnx_in(g, n, 1);
    c = gn->matmul ? NULL : infer_onnx_in(g, n, 2);
    out = infer_onnx_out(g, n, 0);

    k = (size_t) a->dims[a->rank - 1];
    cols = (b->rank == 2) ? (size_t) (gn->trans_b ? b->dims[0] : b->dims[1])
                          : 1;

    if (gn->trans_a) {
        k = (size_t) a->dims[0];
    }

    /* B read as k x cols */

    ks = gn->trans_b ? 1 : cols;
    js = gn->trans_b ? k : 1;

    if (b->rank == 1) {
        ks = 1;
        js = 1;
    }

    gm = infer_onnx_plan_alloc(p, sizeof(infer_onnx_gemm_t));
    nr = infer_onnx_gemm_nr(p->isa);
    scale = infer_onnx_arena_alloc(g->tmp, (cols + 1) * sizeof(float));
    bias = infer_onnx_plan_alloc(p, ((cols + nr - 1) / nr) * nr
                                    * sizeof(float));

    if (gm == NULL || scale == NULL || bias == NULL) {
        return INFER_ERROR;
    }

    memset(gm, 0, sizeof(infer_onnx_gemm_t));
    gm->k = k;
    gm->ncols = cols;
    gm->nr = nr;
    gm->npanels = (cols + nr - 1) / nr;
    gm->rows = (a->batched ? a->count : (size_t) (a->count)) / k;
    memset(bias, 0, gm->npanels * nr * sizeof(float));

    for (j = 0; j < cols; j++) {
        scale[j] = gn->alpha;
    }

    /* C: a row vector into the bias; a full matrix as a constant addend */

    res = NULL;

    if (c != NULL) {
        cv = c->data;

        if (c->rank == 2 && c->dims[0] != 1) {
            rows = (size_t) c->dims[0];
            res = infer_onnx_plan_alloc(p, rows * cols * sizeof(float));
            if (res == NULL) {
                return INFER_ERROR;
            }

            for (j = 0; j < rows * cols; j++) {
                res[j] = gn->beta * cv[(c->dims[1] == 1) ? j / cols : j];
            }

        } else {
            for (j = 0; j < cols; j++) {
                bias[j] = gn->beta * cv[(c->count == 1) ? 0 : j];
            }
        }
    }

    if (fu != NULL && infer_onnx_fuse_bias(p, fu, bias, scale, cols)
                      != INFER_OK)
    {
        return INFER_ERROR;
    }

    panels = infer_onnx_plan_alloc(p, gm->npanels * k * nr * sizeof(float));
    w = b->data;

    if (panels == NULL
        || infer_onnx_gemm_pack(gm, panels, w, ks, js, scale) != INFER_OK)
    {
        return INFER_ERROR;
    }

    gm->bias = bias;
    gm->res_const = res;

    if (fu != NULL) {
        gm->act.act = fu->act;
        gm->act.a = fu->act_a;
        gm->act.b = fu->act_b;
    }

    /* A transposed first (only without a batch) */

    if (gn->trans_a) {
        in_slot = infer_onnx_plan_transposed(p, n, 0);

    } else {
        in_slot = infer_onnx_plan_in(p, n, 0, INFER_ONNX_PLAIN);
    }

    res_slot = -1;

    if (fu != NULL && fu->res >= 0) {
        res_slot = infer_onnx_plan_value(p, fu->res, INFER_ONNX_PLAIN);
        if (res_slot < 0) {
            return INFER_ERROR;
        }
    }

    gm->rows = a->count / k;
    out_v = (fu != NULL) ? fu->out : n->out[0];

    s = infer_onnx_step_add(p, infer_onnx_k_gemm, gm, in_slot, res_slot,
                            infer_onnx_plan_out(p, out_v, 0));
    if (s == NULL) {
        return INFER_ERROR;
    }

    s->macs = (uint64_t) gm->rows * k * cols;

    (void) out;

    return INFER_OK;
}
