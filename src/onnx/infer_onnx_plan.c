/*
 * The plan: the graph's computed nodes as a list of steps over one
 * scratch buffer.
 *
 *   fusions   a Conv, Gemm or MatMul takes over the nodes after it that
 *             its epilogue can do: BatchNormalization (into the weights
 *             and bias), Add of a constant bias, Add of a computed tensor
 *             of its shape (a residual connection: read in the epilogue),
 *             then Relu, LeakyRelu, Clip, Sigmoid or Tanh; each value in
 *             between read by nothing else
 *   lowering  each node's operator makes its steps; layouts are decided
 *             on the way (the spatial kernels take channels last, the
 *             elementwise ones follow their input, everything else
 *             wants ONNX's order) and a reorder step is added where a
 *             value is wanted in the layout it was not made in
 *   memory    each step's output gets a slot; aliases (Reshape and its
 *             kin) share their input's; the slots are laid out in one
 *             scratch from their lifetimes, first-fit by size, and the
 *             single output, where it can, is written straight into the
 *             caller's y
 *
 * A batched graph runs chunk rows at a time (as many as keep its scratch
 * near the caches, at most 256); every scratch slot holds chunk rows.
 */

#include <stdlib.h>
#include <string.h>

#include "infer_onnx_kernels.h"


#define INFER_ONNX_CHUNK_MAX     256
#define INFER_ONNX_CHUNK_FLOATS  (1 << 19)       /* 2 MB of scratch */
#define INFER_ONNX_SLOT_ALIGN    16              /* floats: 64 bytes */


static int infer_onnx_fuse_all(infer_onnx_plan_t *p);
static int infer_onnx_fuse_node(infer_onnx_plan_t *p, int i);
static int infer_onnx_sole_user(infer_onnx_graph_t *g, int v, int from);
static int infer_onnx_channel_vector(const infer_onnx_value_t *c,
    const infer_onnx_value_t *out, int axis);
static int infer_onnx_slot(infer_onnx_plan_t *p, int v);
static int infer_onnx_root(infer_onnx_graph_t *g, int v);
static int infer_onnx_const_nhwc(infer_onnx_plan_t *p, int v);
static int infer_onnx_reorder(infer_onnx_plan_t *p, int v, int nhwc);
static int infer_onnx_plan_outputs(infer_onnx_plan_t *p);
static int infer_onnx_plan_memory(infer_onnx_plan_t *p);
static int infer_onnx_plan_finish(infer_onnx_plan_t *p);


int
infer_onnx_plan(infer_onnx_graph_t *g, infer_onnx_plan_t *p,
    infer_onnx_arena_t *arena)
{
    int                 i, j, rc;
    infer_onnx_node_t  *n;

    memset(p, 0, sizeof(infer_onnx_plan_t));
    p->g = g;
    p->arena = arena;
    p->isa = g->isa;

    /* how many computed nodes read each value */

    for (i = 0; i < g->nnodes; i++) {
        n = &g->nodes[i];

        for (j = 0; !n->folded && j < n->nin; j++) {
            if (n->in[j] >= 0) {
                g->values[n->in[j]].nuses++;
            }
        }
    }

    for (i = 0; i < g->noutputs; i++) {
        g->values[g->outputs[i]].output = i;
    }

    rc = infer_onnx_fuse_all(p);
    if (rc != INFER_OK) {
        return rc;
    }

    for (i = 0; i < g->nnodes; i++) {
        n = &g->nodes[i];

        if (n->folded || n->fused) {
            continue;
        }

        if (n->op->lower == NULL) {
            return infer_onnx_fail(g, n, "runs at load only");
        }

        rc = n->op->lower(p, n);
        if (rc != INFER_OK) {
            return (rc == INFER_ERROR && g->err[0] == '\0')
                   ? INFER_ERROR : rc;
        }
    }

    rc = infer_onnx_plan_outputs(p);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_onnx_plan_memory(p);
    if (rc != INFER_OK) {
        return rc;
    }

    return infer_onnx_plan_finish(p);
}


static int
infer_onnx_fuse_all(infer_onnx_plan_t *p)
{
    int                 i, rc;
    const char         *t;
    infer_onnx_graph_t *g;

    g = p->g;

    p->fusions = infer_onnx_arena_calloc(g->tmp, g->nnodes + 1,
                                         sizeof(infer_onnx_fuse_t));
    if (p->fusions == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < g->nnodes; i++) {
        p->fusions[i].out = -1;

        if (g->nodes[i].folded) {
            continue;
        }

        t = g->nodes[i].op_type;

        if (strcmp(t, "Conv") == 0 || strcmp(t, "Gemm") == 0
            || strcmp(t, "MatMul") == 0)
        {
            rc = infer_onnx_fuse_node(p, i);
            if (rc != INFER_OK) {
                return rc;
            }
        }
    }

    return INFER_OK;
}


/* the chain after node i that its epilogue can take */

static int
infer_onnx_fuse_node(infer_onnx_plan_t *p, int i)
{
    int                  cur, u, axis, other, conv;
    const char          *t;
    infer_onnx_node_t   *n, *c;
    infer_onnx_fuse_t   *fu;
    infer_onnx_graph_t  *g;
    infer_onnx_value_t  *out, *ov, *cv;
    struct {
        infer_onnx_act_t     act;
    }                   *un;

    g = p->g;
    n = &g->nodes[i];
    fu = &p->fusions[i];
    out = &g->values[n->out[0]];

    conv = (strcmp(n->op_type, "Conv") == 0);
    axis = conv ? 1 : out->rank - 1;

    fu->bias = -1;
    fu->res = -1;
    fu->act = INFER_ONNX_ACT_NONE;
    cur = n->out[0];

    for ( ;; ) {
        u = infer_onnx_sole_user(g, cur, i);
        if (u < 0) {
            break;
        }

        c = &g->nodes[u];
        t = c->op_type;
        cv = &g->values[cur];

        if (strcmp(t, "BatchNormalization") == 0 && fu->bn == NULL
            && fu->bias < 0 && fu->res < 0 && fu->act == INFER_ONNX_ACT_NONE
            && (conv || cv->rank == 2))
        {
            fu->bn = c;

        } else if (strcmp(t, "Add") == 0 && fu->res < 0
                   && fu->act == INFER_ONNX_ACT_NONE)
        {
            other = (c->in[0] == cur) ? c->in[1] : c->in[0];
            ov = &g->values[other];

            if (c->in[0] == c->in[1]) {
                break;
            }

            if (ov->is_const && fu->bias < 0
                && infer_onnx_channel_vector(ov, cv, axis))
            {
                fu->bias = other;

            } else if (!ov->is_const && ov->batched == cv->batched
                       && ov->rank == cv->rank && ov->count == cv->count
                       && memcmp(ov->dims, cv->dims,
                                 ov->rank * sizeof(int64_t)) == 0
                       && (ov->producer < i))
            {
                fu->res = other;

            } else {
                break;
            }

        } else if (fu->act == INFER_ONNX_ACT_NONE
                   && (c->op->flags & INFER_ONNX_OP_UNARY))
        {
            un = c->params;
            fu->act = un->act.act;
            fu->act_a = un->act.a;
            fu->act_b = un->act.b;

        } else {
            break;
        }

        c->fused = 1;
        cur = c->out[0];
    }

    fu->out = cur;

    return INFER_OK;
}


/* the one computed node after from reading v, if v is nothing else's */

static int
infer_onnx_sole_user(infer_onnx_graph_t *g, int v, int from)
{
    int                 i, j, found;
    infer_onnx_node_t  *n;

    if (g->values[v].nuses != 1 || g->values[v].output >= 0) {
        return -1;
    }

    found = -1;

    for (i = from + 1; i < g->nnodes && found < 0; i++) {
        n = &g->nodes[i];

        for (j = 0; !n->folded && j < n->nin; j++) {
            if (n->in[j] == v) {
                found = i;
                break;
            }
        }
    }

    if (found >= 0 && g->nodes[found].nout > 1) {
        for (j = 1; j < g->nodes[found].nout; j++) {
            if (g->nodes[found].out[j] >= 0) {
                return -1;
            }
        }
    }

    return found;
}


/* c broadcasts onto out as one value per channel (on axis), or a scalar */

static int
infer_onnx_channel_vector(const infer_onnx_value_t *c,
    const infer_onnx_value_t *out, int axis)
{
    int  d, k;

    if (c->dtype != INFER_ONNX_FLOAT || c->rank > out->rank) {
        return 0;
    }

    if (c->count == 1) {
        return 1;
    }

    for (d = 0; d < c->rank; d++) {
        k = d + (out->rank - c->rank);

        if (k == axis) {
            if (c->dims[d] != out->dims[k]) {
                return 0;
            }

        } else if (c->dims[d] != 1) {
            return 0;
        }
    }

    return c->rank >= out->rank - axis;
}


infer_onnx_fuse_t *
infer_onnx_fusion(infer_onnx_plan_t *p, const infer_onnx_node_t *n)
{
    if (p->fusions == NULL) {
        return NULL;
    }

    return &p->fusions[n - p->g->nodes];
}


int
infer_onnx_fuse_bias(infer_onnx_plan_t *p, const infer_onnx_fuse_t *fu,
    float *bias, float *scale, size_t c)
{
    size_t               j;
    double              *sc, *sh;
    const float         *add;
    infer_onnx_value_t  *bv;

    if (fu->bn != NULL) {
        sc = infer_onnx_arena_alloc(p->g->tmp, 2 * (c + 1) * sizeof(double));
        if (sc == NULL) {
            return INFER_ERROR;
        }

        sh = sc + c + 1;

        if (infer_onnx_bn_affine(p->g, fu->bn, sc, sh, c) != INFER_OK) {
            return INFER_EINVAL;
        }

        for (j = 0; j < c; j++) {
            scale[j] = (float) (scale[j] * sc[j]);
            bias[j] = (float) (bias[j] * sc[j] + sh[j]);
        }
    }

    if (fu->bias >= 0) {
        bv = &p->g->values[fu->bias];
        add = bv->data;

        for (j = 0; j < c; j++) {
            bias[j] = bias[j] + add[bv->count == 1 ? 0 : j];
        }
    }

    return INFER_OK;
}


infer_onnx_step_t *
infer_onnx_step_add(infer_onnx_plan_t *p, infer_onnx_kernel_pt run,
    const void *params, int in0, int in1, int out)
{
    int                 cap;
    infer_onnx_step_t  *s, *steps;

    if (params == NULL || in0 < 0 || out < 0) {
        return NULL;
    }

    if (p->nsteps == p->csteps) {
        cap = p->csteps ? p->csteps * 2 : 64;

        steps = infer_onnx_arena_alloc(p->g->tmp,
                                       cap * sizeof(infer_onnx_step_t));
        if (steps == NULL) {
            return NULL;
        }

        if (p->nsteps) {
            memcpy(steps, p->steps, p->nsteps * sizeof(infer_onnx_step_t));
        }

        p->steps = steps;
        p->csteps = cap;
    }

    s = &p->steps[p->nsteps++];
    memset(s, 0, sizeof(infer_onnx_step_t));

    s->run = run;
    s->p = params;
    s->isa = p->isa;
    s->in[0] = in0;
    s->in[1] = in1;
    s->in[2] = -1;
    s->out = out;

    return s;
}


void *
infer_onnx_plan_alloc(infer_onnx_plan_t *p, size_t size)
{
    return infer_onnx_arena_alloc(p->arena, size ? size : 1);
}


/* a float constant, copied once into the arena the plan lives in */

const float *
infer_onnx_plan_const(infer_onnx_plan_t *p, int v)
{
    float               *data;
    infer_onnx_value_t  *val;

    val = &p->g->values[v];

    if (val->packed != NULL) {
        return val->packed;
    }

    data = infer_onnx_plan_alloc(p, val->count * sizeof(float));
    if (data == NULL) {
        return NULL;
    }

    memcpy(data, val->data, val->count * sizeof(float));
    val->packed = data;

    return data;
}


int
infer_onnx_layout_free(const infer_onnx_value_t *v)
{
    int     d;
    size_t  spatial;

    if (v->rank < 3 || v->dims[1] == 1) {
        return 1;
    }

    spatial = 1;

    for (d = 2; d < v->rank; d++) {
        spatial *= (size_t) v->dims[d];
    }

    return spatial == 1;
}


int
infer_onnx_row_dims(const infer_onnx_value_t *v, int nhwc, size_t *dims)
{
    int     d, off, r;
    size_t  all[INFER_ONNX_MAX_RANK];

    for (d = 0; d < v->rank; d++) {
        all[d] = (size_t) v->dims[d];
    }

    /* channels last: [B, C, S...] is stored [B, S..., C] */

    if (nhwc && v->rank >= 3) {
        for (d = 1; d < v->rank - 1; d++) {
            all[d] = (size_t) v->dims[d + 1];
        }

        all[v->rank - 1] = (size_t) v->dims[1];
    }

    off = v->batched ? 1 : 0;

    for (r = 0, d = off; d < v->rank; d++) {
        dims[r++] = all[d];
    }

    return r;
}


static int
infer_onnx_root(infer_onnx_graph_t *g, int v)
{
    while (g->values[v].alias >= 0) {
        v = g->values[v].alias;
    }

    return v;
}


/* the pointer-table slot of v's memory, made on first use */

static int
infer_onnx_slot(infer_onnx_plan_t *p, int v)
{
    int                  r, cap;
    infer_onnx_slot_t   *slots, *s;
    infer_onnx_value_t  *val;

    r = infer_onnx_root(p->g, v);
    val = &p->g->values[r];

    if (val->slot >= 0) {
        return val->slot;
    }

    if (p->nslots % 64 == 0) {
        cap = p->nslots + 64;

        slots = infer_onnx_arena_alloc(p->g->tmp,
                                       cap * sizeof(infer_onnx_slot_t));
        if (slots == NULL) {
            return -1;
        }

        if (p->nslots) {
            memcpy(slots, p->slots, p->nslots * sizeof(infer_onnx_slot_t));
        }

        p->slots = slots;
    }

    s = &p->slots[p->nslots];
    memset(s, 0, sizeof(infer_onnx_slot_t));

    if (val->is_const) {
        s->kind = INFER_ONNX_SLOT_CONST;
        s->data = (val->dtype == INFER_ONNX_FLOAT)
                  ? infer_onnx_plan_const(p, r) : val->data;

        if (s->data == NULL && val->count) {
            return -1;
        }

    } else if (val->is_input) {
        s->kind = INFER_ONNX_SLOT_INPUT;

    } else {
        s->kind = INFER_ONNX_SLOT_SCRATCH;
        s->row = val->count;
    }

    val->slot = p->nslots;

    return p->nslots++;
}


int
infer_onnx_plan_in(infer_onnx_plan_t *p, const infer_onnx_node_t *n, int i,
    int layout)
{
    return infer_onnx_plan_value(p, n->in[i], layout);
}


int
infer_onnx_plan_value(infer_onnx_plan_t *p, int v, int layout)
{
    infer_onnx_value_t  *val;

    val = &p->g->values[v];

    if (layout == INFER_ONNX_ANY || infer_onnx_layout_free(val)) {
        return infer_onnx_slot(p, v);
    }

    if (val->is_const) {
        return (layout == INFER_ONNX_NHWC) ? infer_onnx_const_nhwc(p, v)
                                           : infer_onnx_slot(p, v);
    }

    if ((int) val->nhwc == (layout == INFER_ONNX_NHWC)) {
        return infer_onnx_slot(p, v);
    }

    if (val->other < 0) {
        if (infer_onnx_reorder(p, v, layout == INFER_ONNX_NHWC) != INFER_OK) {
            return -1;
        }

        val = &p->g->values[v];
    }

    return infer_onnx_slot(p, val->other);
}


/* a constant image stored channels last, once, at load */

static int
infer_onnx_const_nhwc(infer_onnx_plan_t *p, int v)
{
    int                      u, d, perm[INFER_ONNX_MAX_RANK], rank;
    size_t                   dims[INFER_ONNX_MAX_RANK];
    float                   *ptr[2];
    infer_onnx_step_t        s;
    infer_onnx_value_t      *val, *uv;
    infer_onnx_transpose_t   tp;

    val = &p->g->values[v];

    if (val->other >= 0) {
        return infer_onnx_slot(p, val->other);
    }

    u = infer_onnx_value_new(p->g, val->name);
    if (u < 0) {
        return -1;
    }

    val = &p->g->values[v];
    uv = &p->g->values[u];
    *uv = *val;
    uv->nhwc = 1;
    uv->slot = -1;
    uv->packed = NULL;
    uv->other = v;
    val->other = u;

    rank = val->rank;

    for (d = 0; d < rank; d++) {
        dims[d] = (size_t) val->dims[d];
    }

    perm[0] = 0;

    for (d = 1; d < rank - 1; d++) {
        perm[d] = d + 1;
    }

    perm[rank - 1] = 1;

    infer_onnx_transpose_init(&tp, dims, rank, perm, sizeof(float));

    uv->data = infer_onnx_arena_alloc(p->g->tmp, val->count * sizeof(float));
    if (uv->data == NULL) {
        return -1;
    }

    memset(&s, 0, sizeof(s));
    s.p = &tp;
    s.out = 1;
    ptr[0] = val->data;
    ptr[1] = uv->data;

    infer_onnx_k_transpose(&s, ptr, 1, NULL);

    return infer_onnx_slot(p, u);
}


/* v's twin in the other layout, made by a step */

static int
infer_onnx_reorder(infer_onnx_plan_t *p, int v, int nhwc)
{
    int                      u, d, r, perm[INFER_ONNX_MAX_RANK];
    size_t                   dims[INFER_ONNX_MAX_RANK], c, sp;
    infer_onnx_step_t       *s;
    infer_onnx_value_t      *val, *uv;
    infer_onnx_transpose_t  *tp;

    u = infer_onnx_value_new(p->g, p->g->values[v].name);
    if (u < 0) {
        return INFER_ERROR;
    }

    val = &p->g->values[v];
    uv = &p->g->values[u];
    *uv = *val;
    uv->nhwc = nhwc;
    uv->slot = -1;
    uv->alias = -1;
    uv->producer = -1;
    uv->other = v;
    uv->output = -1;
    uv->is_input = 0;
    val->other = u;

    tp = infer_onnx_plan_alloc(p, sizeof(infer_onnx_transpose_t));
    if (tp == NULL) {
        return INFER_ERROR;
    }

    /*
     * A row stored [C, S] becomes [S, C] or back, S the spatial
     * dimensions merged: a 2-d transposition, once per image when the
     * graph has no batch and its first dimension holds several.
     */

    c = (size_t) val->dims[1];
    sp = val->count / c;
    r = 0;

    if (!val->batched) {
        sp /= (size_t) val->dims[0];
        dims[r++] = (size_t) val->dims[0];
    }

    dims[r++] = val->nhwc ? sp : c;
    dims[r++] = val->nhwc ? c : sp;

    for (d = 0; d < r; d++) {
        perm[d] = d;
    }

    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;

    infer_onnx_transpose_init(tp, dims, r, perm, sizeof(float));

    s = infer_onnx_step_add(p, infer_onnx_k_transpose, tp,
                            infer_onnx_slot(p, v), -1, infer_onnx_slot(p, u));

    return (s == NULL) ? INFER_ERROR : INFER_OK;
}


int
infer_onnx_plan_transposed(infer_onnx_plan_t *p, const infer_onnx_node_t *n,
    int i)
{
    int                      u, perm[2] = { 1, 0 };
    size_t                   dims[2];
    int64_t                  tdims[2];
    infer_onnx_step_t       *s;
    infer_onnx_value_t      *val, *uv;
    infer_onnx_transpose_t  *tp;

    u = infer_onnx_value_new(p->g, "transposed");
    if (u < 0) {
        return -1;
    }

    val = &p->g->values[n->in[i]];
    uv = &p->g->values[u];

    tdims[0] = val->dims[1];
    tdims[1] = val->dims[0];
    (void) infer_onnx_set_shape(uv, INFER_ONNX_FLOAT, 2, tdims, 0);

    dims[0] = (size_t) val->dims[0];
    dims[1] = (size_t) val->dims[1];

    tp = infer_onnx_plan_alloc(p, sizeof(infer_onnx_transpose_t));
    if (tp == NULL) {
        return -1;
    }

    infer_onnx_transpose_init(tp, dims, 2, perm, sizeof(float));

    s = infer_onnx_step_add(p, infer_onnx_k_transpose, tp,
                            infer_onnx_plan_in(p, n, i, INFER_ONNX_PLAIN), -1,
                            infer_onnx_slot(p, u));

    return (s == NULL) ? -1 : s->out;
}


int
infer_onnx_plan_out(infer_onnx_plan_t *p, int v, int nhwc)
{
    infer_onnx_value_t  *val;

    val = &p->g->values[v];
    val->nhwc = (nhwc && !infer_onnx_layout_free(val)) ? 1 : 0;

    return infer_onnx_slot(p, v);
}


int
infer_onnx_plan_alias(infer_onnx_plan_t *p, int v, int of)
{
    infer_onnx_graph_t  *g;

    g = p->g;

    /* the memory in ONNX's order, made by infer_onnx_plan_in() */

    if (g->values[of].nhwc && !infer_onnx_layout_free(&g->values[of])) {
        of = g->values[of].other;
    }

    g->values[v].alias = infer_onnx_root(g, of);
    g->values[v].nhwc = 0;

    return INFER_OK;
}


/*
 * Each output in ONNX's order, in a slot of its own.  A single output
 * made by a step is written straight into y.
 */

static int
infer_onnx_plan_outputs(infer_onnx_plan_t *p)
{
    int                   i, slot;
    infer_onnx_value_t   *v;
    infer_onnx_graph_t   *g;
    infer_onnx_output_t  *o;

    g = p->g;

    p->outputs = infer_onnx_plan_alloc(p, g->noutputs
                                          * sizeof(infer_onnx_output_t));
    if (p->outputs == NULL) {
        return INFER_ERROR;
    }

    p->noutputs = g->noutputs;
    p->out_count = 0;

    for (i = 0; i < g->noutputs; i++) {
        slot = infer_onnx_plan_value(p, g->outputs[i], INFER_ONNX_PLAIN);
        if (slot < 0) {
            return INFER_ERROR;
        }

        v = &g->values[g->outputs[i]];
        o = &p->outputs[i];
        o->slot = slot;
        o->direct = 0;
        o->count = v->count;
        o->offset = p->out_count;
        p->out_count += v->count;
    }

    /* a single output made in the scratch is made in y instead */

    if (g->noutputs == 1
        && p->slots[p->outputs[0].slot].kind == INFER_ONNX_SLOT_SCRATCH)
    {
        p->slots[p->outputs[0].slot].kind = INFER_ONNX_SLOT_OUTPUT;
        p->outputs[0].direct = 1;
    }

    return INFER_OK;
}


/*
 * Lifetimes by step, then first-fit offsets, largest slots first, in
 * floats of one row (every scratch slot holds chunk rows of its own).
 */

static int
infer_onnx_plan_memory(infer_onnx_plan_t *p)
{
    int                 i, j, k, sl, *order, *first, *last, tmp;
    size_t              *off, *size, end, o, row;
    infer_onnx_step_t  *s;
    infer_onnx_slot_t  *slot;
    infer_onnx_graph_t *g;

    g = p->g;

    first = infer_onnx_arena_alloc(g->tmp, (p->nslots + 1) * 2 * sizeof(int));
    order = infer_onnx_arena_alloc(g->tmp, (p->nslots + 1) * sizeof(int));
    off = infer_onnx_arena_alloc(g->tmp, (p->nslots + 1) * 2 * sizeof(size_t));

    if (first == NULL || order == NULL || off == NULL) {
        return INFER_ERROR;
    }

    last = first + p->nslots + 1;
    size = off + p->nslots + 1;

    for (i = 0; i < p->nslots; i++) {
        first[i] = p->nsteps;
        last[i] = -1;
        row = p->slots[i].row;
        size[i] = (row + INFER_ONNX_SLOT_ALIGN - 1)
                  & ~(size_t) (INFER_ONNX_SLOT_ALIGN - 1);
    }

    for (i = 0; i < p->nsteps; i++) {
        s = &p->steps[i];

        for (j = -1; j < 3 + s->nextra; j++) {
            sl = (j < 0) ? s->out : (j < 3 ? s->in[j] : s->extra[j - 3]);

            if (sl < 0) {
                continue;
            }

            first[sl] = (i < first[sl]) ? i : first[sl];
            last[sl] = (i > last[sl]) ? i : last[sl];
        }
    }

    /* the outputs are read after the last step */

    for (i = 0; i < p->noutputs; i++) {
        last[p->outputs[i].slot] = p->nsteps;
    }

    k = 0;

    for (i = 0; i < p->nslots; i++) {
        if (p->slots[i].kind == INFER_ONNX_SLOT_SCRATCH) {
            order[k++] = i;
        }
    }

    /* largest first: insertion sort, the slots are few */

    for (i = 1; i < k; i++) {
        tmp = order[i];

        for (j = i; j > 0 && size[order[j - 1]] < size[tmp]; j--) {
            order[j] = order[j - 1];
        }

        order[j] = tmp;
    }

    end = 0;

    for (i = 0; i < k; i++) {
        sl = order[i];
        o = 0;

        /* the lowest offset clear of every placed slot alive meanwhile */

        for (j = 0; j < i; j++) {
            int  other = order[j];

            if (last[other] < first[sl] || last[sl] < first[other]) {
                continue;
            }

            if (o < off[other] + size[other] && off[other] < o + size[sl]) {
                o = off[other] + size[other];
                j = -1;                     /* again, from the start */
            }
        }

        off[sl] = o;
        end = (o + size[sl] > end) ? o + size[sl] : end;
    }

    p->scratch = end;

    for (i = 0; i < k; i++) {
        slot = &p->slots[order[i]];
        slot->offset = off[order[i]];
    }

    return INFER_OK;
}


/*
 * The chunk, and everything scaled to it; the plan copied out of the
 * loading arena into the model's.
 */

static int
infer_onnx_plan_finish(infer_onnx_plan_t *p)
{
    int                  i;
    size_t               chunk, work;
    infer_onnx_step_t   *steps;
    infer_onnx_slot_t   *slots;
    infer_onnx_graph_t  *g;

    g = p->g;

    chunk = 1;

    if (g->batched) {
        chunk = INFER_ONNX_CHUNK_FLOATS / (p->scratch ? p->scratch : 1);
        chunk = (chunk < 1) ? 1 : chunk;
        chunk = (chunk > INFER_ONNX_CHUNK_MAX) ? INFER_ONNX_CHUNK_MAX : chunk;
    }

    p->chunk = chunk;
    work = 0;
    p->macs = 0;

    for (i = 0; i < p->nsteps; i++) {
        work = (p->steps[i].work * chunk + p->steps[i].work_fixed > work)
               ? p->steps[i].work * chunk + p->steps[i].work_fixed : work;
        p->macs += p->steps[i].macs;
    }

    p->work = work;

    if ((p->scratch * chunk + work) > INFER_ONNX_SCRATCH_MAX / sizeof(float)) {
        return infer_onnx_fail(g, NULL, "a row needs more than %zu MB of "
                               "scratch memory",
                               INFER_ONNX_SCRATCH_MAX >> 20);
    }

    for (i = 0; i < p->nslots; i++) {
        p->slots[i].offset *= chunk;
    }

    p->scratch *= chunk;
    p->in_count = g->values[g->input].count;

    steps = infer_onnx_plan_alloc(p, (p->nsteps + 1)
                                     * sizeof(infer_onnx_step_t));
    slots = infer_onnx_plan_alloc(p, (p->nslots + 1)
                                     * sizeof(infer_onnx_slot_t));

    if (steps == NULL || slots == NULL) {
        return INFER_ERROR;
    }

    if (p->nsteps) {
        memcpy(steps, p->steps, p->nsteps * sizeof(infer_onnx_step_t));
    }

    if (p->nslots) {
        memcpy(slots, p->slots, p->nslots * sizeof(infer_onnx_slot_t));
    }

    p->steps = steps;
    p->slots = slots;
    p->fusions = NULL;
    p->g = NULL;

    return INFER_OK;
}


/*
 * A node whose inputs are all constants, computed at load by its own
 * kernels: lowered into a plan of its own, run once, its outputs kept as
 * constants in ONNX's order.
 */

int
infer_onnx_fold_by_running(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                  i, rc, o;
    size_t               floats;
    float              **ptr, *work;
    infer_onnx_plan_t    p;
    infer_onnx_value_t  *out;

    if (n->op->lower == NULL) {
        return infer_onnx_fail(g, n, "cannot be computed at load");
    }

    memset(&p, 0, sizeof(p));
    p.g = g;
    p.arena = g->tmp;
    p.isa = g->isa;

    rc = n->op->lower(&p, n);
    if (rc != INFER_OK) {
        return rc;
    }

    for (i = 0; i < n->nout; i++) {
        out = infer_onnx_out(g, n, i);

        if (out != NULL && infer_onnx_plan_value(&p, n->out[i],
                                                 INFER_ONNX_PLAIN) < 0)
        {
            return INFER_ERROR;
        }
    }

    ptr = infer_onnx_arena_calloc(g->tmp, p.nslots + 1, sizeof(float *));
    floats = 0;

    for (i = 0; i < p.nsteps; i++) {
        floats = (p.steps[i].work_fixed + p.steps[i].work > floats)
                 ? p.steps[i].work_fixed + p.steps[i].work : floats;
    }

    work = infer_onnx_arena_calloc(g->tmp, floats + 16, sizeof(float));

    if (ptr == NULL || work == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < p.nslots; i++) {
        ptr[i] = (float *) p.slots[i].data;
    }

    for (o = 0; o < g->nvalues; o++) {
        out = &g->values[o];

        if (out->slot < 0 || out->is_const || out->alias >= 0) {
            continue;
        }

        ptr[out->slot] = infer_onnx_fold_alloc(g, out->count + 1,
                                               sizeof(float));
        if (ptr[out->slot] == NULL) {
            return INFER_ERROR;
        }
    }

    for (i = 0; i < p.nsteps; i++) {
        p.steps[i].run(&p.steps[i], ptr, 1, work);
    }

    /* the outputs' data, in ONNX's order, as constants */

    for (i = 0; i < n->nout; i++) {
        out = infer_onnx_out(g, n, i);

        if (out == NULL) {
            continue;
        }

        o = n->out[i];
        o = (out->nhwc && out->other >= 0) ? out->other : o;
        out->data = ptr[g->values[infer_onnx_root(g, o)].slot];
        out->is_const = 1;
        out->nhwc = 0;
        out->alias = -1;
        out->other = -1;
    }

    /* what the fold made is no one's slot in the real plan */

    for (o = 0; o < g->nvalues; o++) {
        g->values[o].slot = -1;
        g->values[o].packed = NULL;
    }

    return INFER_OK;
}
