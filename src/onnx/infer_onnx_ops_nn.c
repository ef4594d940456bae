/*
 * The spatial operators: Conv, MaxPool, AveragePool, GlobalAveragePool,
 * and BatchNormalization, over 1-d and 2-d images (a 1-d one is a 2-d
 * one of height 1).  Their kernels read and write channels last.
 *
 * Windows: kernel_shape, strides, dilations and pads (begin then end, as
 * ONNX lists them), or auto_pad: SAME_UPPER and SAME_LOWER pad so that the
 * output is ceil(input / stride), the odd pixel at the end or at the
 * start; VALID pads nothing.  ceil_mode rounds the output size up, but a
 * window may not start in the end padding (as PyTorch and onnxruntime
 * have it).
 */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "infer_onnx_kernels.h"


typedef struct {
    int64_t             k[2];               /* kernel, (h, w) */
    int64_t             s[2];
    int64_t             d[2];
    int64_t             pb[2];              /* pads at the start */
    int64_t             pe[2];              /* and at the end */
    int64_t             in[2];
    int64_t             out[2];
    int64_t             group;
    int                 spatial;            /* 1 or 2 */
    unsigned            include_pad:1;
    unsigned            global:1;
} infer_onnx_window_t;


typedef struct {
    float               epsilon;
} infer_onnx_bn_node_t;


static int infer_onnx_window(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const infer_onnx_value_t *x, const int64_t *kernel, int pooling,
    infer_onnx_window_t *w);
static int infer_onnx_image_dims(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    infer_onnx_value_t *out, const infer_onnx_value_t *x, int64_t channels,
    const infer_onnx_window_t *w);
static int infer_onnx_conv_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_conv_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n);
static int infer_onnx_pool_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_gap_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_pool_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n);
static int infer_onnx_bn_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n);
static int infer_onnx_bn_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n);


const infer_onnx_op_t  infer_onnx_op_conv = {
    "Conv", 1, infer_onnx_conv_infer, NULL, infer_onnx_conv_lower,
    INFER_ONNX_OP_LAYOUT
};

const infer_onnx_op_t  infer_onnx_op_max_pool = {
    "MaxPool", 1, infer_onnx_pool_infer, NULL, infer_onnx_pool_lower,
    INFER_ONNX_OP_LAYOUT
};

const infer_onnx_op_t  infer_onnx_op_average_pool = {
    "AveragePool", 1, infer_onnx_pool_infer, NULL, infer_onnx_pool_lower,
    INFER_ONNX_OP_LAYOUT
};

const infer_onnx_op_t  infer_onnx_op_global_average_pool = {
    "GlobalAveragePool", 1, infer_onnx_gap_infer, NULL, infer_onnx_pool_lower,
    INFER_ONNX_OP_LAYOUT
};

const infer_onnx_op_t  infer_onnx_op_batch_norm = {
    "BatchNormalization", 7, infer_onnx_bn_infer, NULL, infer_onnx_bn_lower,
    INFER_ONNX_OP_LAYOUT
};


/*
 * The window of a Conv (kernel from its weights) or a pool (kernel_shape)
 * over x, [N, C, H, W] or [N, C, L], and the output's spatial size.
 */

static int
infer_onnx_window(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const infer_onnx_value_t *x, const int64_t *kernel, int pooling,
    infer_onnx_window_t *w)
{
    int             rc, i, sp, off;
    size_t          nk, ns, nd, np;
    int64_t         ceil_mode, span, total, extent, storage;
    const int64_t  *ks, *strides, *dil, *pads;
    const char     *auto_pad;

    memset(w, 0, sizeof(infer_onnx_window_t));

    if (x->rank != 3 && x->rank != 4) {
        return infer_onnx_fail(g, n, "takes [N, C, L] or [N, C, H, W]: 3-d "
                               "images are not supported");
    }

    sp = x->rank - 2;
    w->spatial = sp;
    off = 2 - sp;                           /* 1-d: height 1, kernel 1 */

    rc = infer_onnx_attr_ints(g, n, "kernel_shape", &ks, &nk);
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_ints(g, n, "strides", &strides, &ns);
    }
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_ints(g, n, "pads", &pads, &np);
    }
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_string(g, n, "auto_pad", "NOTSET", &auto_pad);
    }

    dil = NULL;
    nd = 0;

    if (rc == INFER_OK
        && (!pooling || strcmp(n->op_type, "MaxPool") == 0
            || n->opset >= 19))
    {
        rc = infer_onnx_attr_ints(g, n, "dilations", &dil, &nd);
    }

    ceil_mode = 0;

    if (rc == INFER_OK && pooling) {
        rc = infer_onnx_attr_int(g, n, "ceil_mode", 0, &ceil_mode);
    }

    if (rc == INFER_OK && strcmp(n->op_type, "MaxPool") == 0) {
        rc = infer_onnx_attr_int(g, n, "storage_order", 0, &storage);
    }

    if (rc != INFER_OK) {
        return rc;
    }

    if (ks == NULL && kernel == NULL) {
        return infer_onnx_fail(g, n, "needs kernel_shape");
    }

    if ((ks != NULL && nk != (size_t) sp)
        || (strides != NULL && ns != (size_t) sp)
        || (dil != NULL && nd != (size_t) sp)
        || (pads != NULL && np != 2 * (size_t) sp))
    {
        return infer_onnx_fail(g, n, "kernel_shape, strides, dilations or "
                               "pads do not match %d spatial dimensions",
                               sp);
    }

    for (i = 0; i < 2; i++) {
        w->k[i] = 1;
        w->s[i] = 1;
        w->d[i] = 1;
        w->in[i] = 1;
    }

    for (i = 0; i < sp; i++) {
        w->k[i + off] = ks ? ks[i] : kernel[i];
        w->s[i + off] = strides ? strides[i] : 1;
        w->d[i + off] = dil ? dil[i] : 1;
        w->pb[i + off] = pads ? pads[i] : 0;
        w->pe[i + off] = pads ? pads[i + sp] : 0;
        w->in[i + off] = x->dims[2 + i];

        if (kernel != NULL && ks != NULL && ks[i] != kernel[i]) {
            return infer_onnx_fail(g, n, "kernel_shape does not match the "
                                   "weights");
        }
    }

    for (i = 0; i < 2; i++) {
        if (w->k[i] < 1 || w->s[i] < 1 || w->d[i] < 1 || w->pb[i] < 0
            || w->pe[i] < 0)
        {
            return infer_onnx_fail(g, n, "kernel, strides and dilations must "
                                   "be positive, pads not negative");
        }

        extent = (w->k[i] - 1) * w->d[i] + 1;

        if (strcmp(auto_pad, "SAME_UPPER") == 0
            || strcmp(auto_pad, "SAME_LOWER") == 0)
        {
            w->out[i] = (w->in[i] + w->s[i] - 1) / w->s[i];
            total = (w->out[i] - 1) * w->s[i] + extent - w->in[i];
            total = (total > 0) ? total : 0;

            if (auto_pad[5] == 'U') {
                w->pb[i] = total / 2;
                w->pe[i] = total - total / 2;

            } else {
                w->pe[i] = total / 2;
                w->pb[i] = total - total / 2;
            }

            continue;
        }

        if (strcmp(auto_pad, "VALID") == 0) {
            w->pb[i] = 0;
            w->pe[i] = 0;

        } else if (strcmp(auto_pad, "NOTSET") != 0) {
            return infer_onnx_fail(g, n, "auto_pad \"%s\" is not supported",
                                   auto_pad);
        }

        span = w->in[i] + w->pb[i] + w->pe[i] - extent;

        if (span < 0) {
            return infer_onnx_fail(g, n, "the window is larger than the "
                                   "padded input");
        }

        w->out[i] = (ceil_mode ? (span + w->s[i] - 1) / w->s[i]
                               : span / w->s[i]) + 1;

        /* the last window may not start in the end padding */

        if (ceil_mode && (w->out[i] - 1) * w->s[i] >= w->in[i] + w->pb[i]) {
            w->out[i]--;
        }
    }

    return INFER_OK;
}


static int
infer_onnx_image_dims(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    infer_onnx_value_t *out, const infer_onnx_value_t *x, int64_t channels,
    const infer_onnx_window_t *w)
{
    int64_t  dims[4];

    dims[0] = x->dims[0];
    dims[1] = channels;

    if (x->rank == 3) {
        dims[2] = w->out[1];

    } else {
        dims[2] = w->out[0];
        dims[3] = w->out[1];
    }

    if (infer_onnx_set_shape(out, INFER_ONNX_FLOAT, x->rank, dims,
                             x->batched)
        != INFER_OK)
    {
        return infer_onnx_fail(g, n, "the output is too large");
    }

    return INFER_OK;
}


static int
infer_onnx_conv_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                   rc;
    int64_t               group;
    infer_onnx_value_t   *x, *wt, *b, *out;
    infer_onnx_window_t  *w;

    x = infer_onnx_in(g, n, 0);
    wt = infer_onnx_in(g, n, 1);
    b = infer_onnx_in(g, n, 2);
    out = infer_onnx_out(g, n, 0);

    if (x == NULL || wt == NULL || out == NULL) {
        return infer_onnx_fail(g, n, "takes X and W");
    }

    if (x->dtype != INFER_ONNX_FLOAT || !wt->is_const
        || wt->dtype != INFER_ONNX_FLOAT || wt->rank != x->rank)
    {
        return infer_onnx_fail(g, n, "W must be a constant float tensor of "
                               "X's rank");
    }

    if (b != NULL && (!b->is_const || b->dtype != INFER_ONNX_FLOAT
                      || b->count != (size_t) wt->dims[0]))
    {
        return infer_onnx_fail(g, n, "B must be a constant with one value "
                               "per output channel");
    }

    rc = infer_onnx_attr_int(g, n, "group", 1, &group);
    if (rc != INFER_OK) {
        return rc;
    }

    w = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_window_t));
    if (w == NULL) {
        return INFER_ERROR;
    }

    rc = infer_onnx_window(g, n, x, &wt->dims[2], 0, w);
    if (rc != INFER_OK) {
        return rc;
    }

    if (group < 1 || x->dims[1] % group != 0 || wt->dims[0] % group != 0
        || wt->dims[1] * group != x->dims[1])
    {
        return infer_onnx_fail(g, n, "W [%lld, %lld, ...] and group %lld do "
                               "not match %lld input channels",
                               (long long) wt->dims[0],
                               (long long) wt->dims[1], (long long) group,
                               (long long) x->dims[1]);
    }

    w->group = group;
    n->params = w;

    return infer_onnx_image_dims(g, n, out, x, wt->dims[0], w);
}


/*
 * The weights, [OC, IC/G, KH, KW], packed per group over k = (kh, kw, ic)
 * for the micro-kernel; the bias and a fused normalization, the residual
 * and the activation; pointers to a row of zeros for the padding's taps.
 */

static int
infer_onnx_conv_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                   in_slot, res_slot;
    size_t                grp, ocg, icg, k, oc, ic, y, x, nr;
    size_t                npanels;
    float                *mat, *panels, *bias, *scale, *zeros;
    const float          *wd, *bd;
    infer_onnx_step_t    *s;
    infer_onnx_conv_t    *cv;
    infer_onnx_fuse_t    *fu;
    infer_onnx_value_t   *xv, *wt, *b;
    infer_onnx_window_t  *w;
    infer_onnx_graph_t   *g;

    g = p->g;
    w = n->params;
    fu = infer_onnx_fusion(p, n);
    xv = infer_onnx_in(g, n, 0);
    wt = infer_onnx_in(g, n, 1);
    b = infer_onnx_in(g, n, 2);

    cv = infer_onnx_plan_alloc(p, sizeof(infer_onnx_conv_t));
    if (cv == NULL) {
        return INFER_ERROR;
    }

    memset(cv, 0, sizeof(infer_onnx_conv_t));

    cv->images = xv->batched ? 1 : (size_t) xv->dims[0];
    cv->ic = (size_t) xv->dims[1];
    cv->oc = (size_t) wt->dims[0];
    cv->ih = (size_t) w->in[0];
    cv->iw = (size_t) w->in[1];
    cv->oh = (size_t) w->out[0];
    cv->ow = (size_t) w->out[1];
    cv->kh = (size_t) w->k[0];
    cv->kw = (size_t) w->k[1];
    cv->sh = (size_t) w->s[0];
    cv->sw = (size_t) w->s[1];
    cv->dh = (size_t) w->d[0];
    cv->dw = (size_t) w->d[1];
    cv->pt = (size_t) w->pb[0];
    cv->pl = (size_t) w->pb[1];
    cv->group = (size_t) w->group;

    ocg = cv->oc / cv->group;
    icg = cv->ic / cv->group;
    k = cv->kh * cv->kw * icg;
    nr = infer_onnx_gemm_nr(p->isa);
    npanels = (ocg + nr - 1) / nr;

    cv->gemm.k = k;
    cv->gemm.ncols = ocg;
    cv->gemm.nr = nr;
    cv->gemm.npanels = npanels;
    cv->wgroup = npanels * k * nr;

    mat = infer_onnx_arena_alloc(g->tmp, k * ocg * sizeof(float) + 1);
    scale = infer_onnx_arena_alloc(g->tmp, (cv->oc + 1) * sizeof(float));
    bias = infer_onnx_plan_alloc(p, cv->group * npanels * nr * sizeof(float));
    panels = infer_onnx_plan_alloc(p, cv->group * cv->wgroup * sizeof(float));
    zeros = infer_onnx_plan_alloc(p, (icg + 16) * sizeof(float));

    if (mat == NULL || scale == NULL || bias == NULL || panels == NULL
        || zeros == NULL)
    {
        return INFER_ERROR;
    }

    memset(zeros, 0, (icg + 16) * sizeof(float));
    memset(bias, 0, cv->group * npanels * nr * sizeof(float));
    cv->zeros = zeros;

    /* the bias and scale of every output channel, fusions applied */

    {
        float  *all;

        all = infer_onnx_arena_alloc(g->tmp, (cv->oc + 1) * sizeof(float));
        if (all == NULL) {
            return INFER_ERROR;
        }

        bd = b ? b->data : NULL;

        for (oc = 0; oc < cv->oc; oc++) {
            all[oc] = bd ? bd[oc] : 0.0f;
            scale[oc] = 1.0f;
        }

        if (fu != NULL
            && infer_onnx_fuse_bias(p, fu, all, scale, cv->oc) != INFER_OK)
        {
            return INFER_ERROR;
        }

        for (grp = 0; grp < cv->group; grp++) {
            memcpy(bias + grp * npanels * nr, all + grp * ocg,
                   ocg * sizeof(float));
        }

        cv->gemm.bias = (b != NULL || fu != NULL) ? bias : NULL;
    }

    /* per group: W[oc][ic][y][x] into mat[(y * kw + x) * icg + ic][oc] */

    wd = wt->data;

    for (grp = 0; grp < cv->group; grp++) {
        for (oc = 0; oc < ocg; oc++) {
            for (ic = 0; ic < icg; ic++) {
                for (y = 0; y < cv->kh; y++) {
                    for (x = 0; x < cv->kw; x++) {
                        mat[((y * cv->kw + x) * icg + ic) * ocg + oc] =
                            wd[(((grp * ocg + oc) * icg + ic) * cv->kh + y)
                               * cv->kw + x];
                    }
                }
            }
        }

        (void) infer_onnx_gemm_pack(&cv->gemm, panels + grp * cv->wgroup,
                                    mat, ocg, 1, scale + grp * ocg);
    }

    cv->gemm.w = panels;

    if (fu != NULL) {
        cv->gemm.act.act = fu->act;
        cv->gemm.act.a = fu->act_a;
        cv->gemm.act.b = fu->act_b;
    }

    /* the panels outermost when the weights outweigh the image */

    cv->panel_outer = (k * ocg > cv->ih * cv->iw * icg);

    in_slot = infer_onnx_plan_in(p, n, 0, INFER_ONNX_NHWC);
    res_slot = -1;

    if (fu != NULL && fu->res >= 0) {
        res_slot = infer_onnx_plan_value(p, fu->res, INFER_ONNX_NHWC);
        if (res_slot < 0) {
            return INFER_ERROR;
        }
    }

    s = infer_onnx_step_add(p, infer_onnx_k_conv, cv, in_slot, res_slot,
                            infer_onnx_plan_out(p, fu ? fu->out : n->out[0],
                                                1));
    if (s == NULL) {
        return INFER_ERROR;
    }

    s->work_fixed = infer_onnx_conv_work(cv, p->isa);
    s->macs = (uint64_t) cv->images * cv->oh * cv->ow * cv->oc * k;

    return INFER_OK;
}


static int
infer_onnx_pool_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                   rc;
    int64_t               include;
    infer_onnx_value_t   *x, *out;
    infer_onnx_window_t  *w;

    x = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (x == NULL || out == NULL || x->dtype != INFER_ONNX_FLOAT) {
        return infer_onnx_fail(g, n, "takes one float input");
    }

    if (infer_onnx_out(g, n, 1) != NULL) {
        return infer_onnx_fail(g, n, "the Indices output is not supported");
    }

    w = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_window_t));
    if (w == NULL) {
        return INFER_ERROR;
    }

    include = 0;

    if (strcmp(n->op_type, "AveragePool") == 0) {
        rc = infer_onnx_attr_int(g, n, "count_include_pad", 0, &include);
        if (rc != INFER_OK) {
            return rc;
        }
    }

    rc = infer_onnx_window(g, n, x, NULL, 1, w);
    if (rc != INFER_OK) {
        return rc;
    }

    w->include_pad = (include != 0);

    n->params = w;

    return infer_onnx_image_dims(g, n, out, x, x->dims[1], w);
}


static int
infer_onnx_gap_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                   i;
    infer_onnx_value_t   *x, *out;
    infer_onnx_window_t  *w;

    x = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (x == NULL || out == NULL || x->dtype != INFER_ONNX_FLOAT
        || (x->rank != 3 && x->rank != 4))
    {
        return infer_onnx_fail(g, n, "takes [N, C, L] or [N, C, H, W]");
    }

    w = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_window_t));
    if (w == NULL) {
        return INFER_ERROR;
    }

    for (i = 0; i < 2; i++) {
        w->in[i] = 1;
        w->s[i] = 1;
        w->d[i] = 1;
        w->out[i] = 1;
    }

    w->in[1] = x->dims[x->rank - 1];

    if (x->rank == 4) {
        w->in[0] = x->dims[2];
    }

    w->k[0] = w->in[0];
    w->k[1] = w->in[1];
    w->global = 1;
    n->params = w;

    return infer_onnx_image_dims(g, n, out, x, x->dims[1], w);
}


static int
infer_onnx_pool_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    infer_onnx_step_t    *s;
    infer_onnx_pool_t    *pl;
    infer_onnx_value_t   *x;
    infer_onnx_window_t  *w;

    x = infer_onnx_in(p->g, n, 0);
    w = n->params;

    pl = infer_onnx_plan_alloc(p, sizeof(infer_onnx_pool_t));
    if (pl == NULL) {
        return INFER_ERROR;
    }

    pl->images = x->batched ? 1 : (size_t) x->dims[0];
    pl->c = (size_t) x->dims[1];
    pl->ih = (size_t) w->in[0];
    pl->iw = (size_t) w->in[1];
    pl->oh = (size_t) w->out[0];
    pl->ow = (size_t) w->out[1];
    pl->kh = (size_t) w->k[0];
    pl->kw = (size_t) w->k[1];
    pl->sh = (size_t) w->s[0];
    pl->sw = (size_t) w->s[1];
    pl->dh = (size_t) w->d[0];
    pl->dw = (size_t) w->d[1];
    pl->pt = (size_t) w->pb[0];
    pl->pl = (size_t) w->pb[1];
    pl->pb = (size_t) w->pe[0];
    pl->pr = (size_t) w->pe[1];
    pl->include_pad = w->include_pad;

    s = infer_onnx_step_add(p, strcmp(n->op_type, "MaxPool") == 0
                               ? infer_onnx_k_maxpool : infer_onnx_k_avgpool,
                            pl, infer_onnx_plan_in(p, n, 0, INFER_ONNX_NHWC),
                            -1, infer_onnx_plan_out(p, n->out[0], 1));
    if (s == NULL) {
        return INFER_ERROR;
    }

    /* the taps' pointers */
    s->work_fixed = (pl->kh * pl->kw * sizeof(float *) + sizeof(float) - 1)
                    / sizeof(float);

    return INFER_OK;
}


/* inference mode: y = (x - mean) / sqrt(var + epsilon) * scale + B */

static int
infer_onnx_bn_infer(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int                    rc, i;
    float                  momentum;
    int64_t                training, spatial;
    infer_onnx_value_t    *x, *v, *out;
    infer_onnx_bn_node_t  *bn;

    bn = infer_onnx_arena_calloc(g->tmp, 1, sizeof(infer_onnx_bn_node_t));
    if (bn == NULL) {
        return INFER_ERROR;
    }

    rc = infer_onnx_attr_float(g, n, "epsilon", 1e-5f, &bn->epsilon);
    if (rc == INFER_OK) {
        rc = infer_onnx_attr_float(g, n, "momentum", 0.9f, &momentum);
    }
    if (rc == INFER_OK && n->opset >= 14) {
        rc = infer_onnx_attr_int(g, n, "training_mode", 0, &training);

        if (rc == INFER_OK && training) {
            return infer_onnx_fail(g, n, "training_mode is not supported");
        }
    }

    if (rc == INFER_OK && n->opset < 9) {
        rc = infer_onnx_attr_int(g, n, "spatial", 1, &spatial);

        if (rc == INFER_OK && spatial != 1) {
            return infer_onnx_fail(g, n, "spatial=0 is not supported");
        }
    }

    if (rc != INFER_OK) {
        return rc;
    }

    x = infer_onnx_in(g, n, 0);
    out = infer_onnx_out(g, n, 0);

    if (x == NULL || out == NULL || n->nin != 5 || x->rank < 2
        || x->dtype != INFER_ONNX_FLOAT)
    {
        return infer_onnx_fail(g, n, "takes X, scale, B, mean and var");
    }

    for (i = 1; i < 5; i++) {
        v = infer_onnx_in(g, n, i);

        if (v == NULL || !v->is_const || v->dtype != INFER_ONNX_FLOAT
            || v->count != (size_t) x->dims[1])
        {
            return infer_onnx_fail(g, n, "input %d must be a constant with "
                                   "one value per channel", i);
        }
    }

    for (i = 1; i < n->nout; i++) {
        if (infer_onnx_out(g, n, i) != NULL) {
            return infer_onnx_fail(g, n, "the training outputs are not "
                                   "supported");
        }
    }

    n->params = bn;

    (void) infer_onnx_set_shape(out, x->dtype, x->rank, x->dims, x->batched);

    return INFER_OK;
}


/* the per-channel scale and shift of a BatchNormalization, in double */

int
infer_onnx_bn_affine(infer_onnx_graph_t *g, const infer_onnx_node_t *n,
    double *scale, double *shift, size_t c)
{
    size_t                 i;
    const float           *gamma, *beta, *mean, *var;
    infer_onnx_bn_node_t  *bn;

    bn = n->params;
    gamma = infer_onnx_in(g, n, 1)->data;
    beta = infer_onnx_in(g, n, 2)->data;
    mean = infer_onnx_in(g, n, 3)->data;
    var = infer_onnx_in(g, n, 4)->data;

    for (i = 0; i < c; i++) {
        if (!(var[i] + (double) bn->epsilon > 0.0)) {
            return infer_onnx_fail(g, n, "variance %zu plus epsilon is not "
                                   "positive", i);
        }

        scale[i] = gamma[i] / sqrt((double) var[i] + bn->epsilon);
        shift[i] = beta[i] - mean[i] * scale[i];
    }

    return INFER_OK;
}


/* not after a convolution: a per-channel affine of its own */

static int
infer_onnx_bn_lower(infer_onnx_plan_t *p, infer_onnx_node_t *n)
{
    int                   d, nhwc;
    size_t                c, i;
    double               *sc, *sh;
    float                *scale, *shift;
    infer_onnx_step_t    *s;
    infer_onnx_value_t   *x;
    infer_onnx_affine_t  *af;

    x = infer_onnx_in(p->g, n, 0);
    c = (size_t) x->dims[1];

    af = infer_onnx_plan_alloc(p, sizeof(infer_onnx_affine_t));
    scale = infer_onnx_plan_alloc(p, c * sizeof(float));
    shift = infer_onnx_plan_alloc(p, c * sizeof(float));
    sc = infer_onnx_arena_alloc(p->g->tmp, 2 * c * sizeof(double));

    if (af == NULL || scale == NULL || shift == NULL || sc == NULL) {
        return INFER_ERROR;
    }

    sh = sc + c;

    if (infer_onnx_bn_affine(p->g, n, sc, sh, c) != INFER_OK) {
        return INFER_EINVAL;
    }

    for (i = 0; i < c; i++) {
        scale[i] = (float) sc[i];
        shift[i] = (float) sh[i];
    }

    nhwc = x->nhwc && !infer_onnx_layout_free(x);

    af->c = c;
    af->scale = scale;
    af->shift = shift;
    af->channels_last = nhwc;
    af->inner = 1;
    af->outer = x->batched ? 1 : (size_t) x->dims[0];

    for (d = 2; d < x->rank; d++) {
        af->inner *= (size_t) x->dims[d];
    }

    if (nhwc) {
        af->outer *= af->inner;
        af->inner = 1;
    }

    d = infer_onnx_plan_in(p, n, 0, nhwc ? INFER_ONNX_NHWC : INFER_ONNX_PLAIN);

    s = infer_onnx_step_add(p, infer_onnx_k_affine, af, d, -1,
                            infer_onnx_plan_out(p, n->out[0], nhwc));

    return (s == NULL) ? INFER_ERROR : INFER_OK;
}
