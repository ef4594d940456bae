/*
 * The kernels and their parameters.
 *
 * A step's kernel reads its inputs and writes its output through the
 * run's pointer table (ptr[slot]) for n rows; a batched operand is n rows
 * of its per-row count one after the other, a constant one is the same
 * for every row.  Every kernel computes a row from that row alone, in an
 * order fixed by the plan, never by n or by where the row sits in the
 * chunk: batch-1 and batch-N give the same bits.  Each comes in the
 * instruction sets of infer_onnx_isa_e, doing the same IEEE operations in
 * the same order (fused multiply-adds where the scalar code calls
 * fmaf()), so that every set gives the same bits too.
 *
 * Layouts: tensors are row-major in ONNX's dimension order ("plain"),
 * except that the spatial operators (Conv, pooling) and the elementwise
 * ones between them keep 3-d and 4-d tensors channels last (NHWC, "nhwc"
 * in a value), which their kernels vectorise over.
 */

#ifndef INFER_ONNX_KERNELS_H
#define INFER_ONNX_KERNELS_H


#include "infer_onnx_ir.h"


/* activations fused into an epilogue, or run alone */
typedef enum {
    INFER_ONNX_ACT_NONE = 0,
    INFER_ONNX_ACT_RELU,
    INFER_ONNX_ACT_LEAKY,                   /* a: alpha */
    INFER_ONNX_ACT_CLIP,                    /* a: min, b: max */
    INFER_ONNX_ACT_SIGMOID,
    INFER_ONNX_ACT_TANH,
    INFER_ONNX_ACT_EXP                      /* softmax's, never fused */
} infer_onnx_act_e;


typedef struct {
    infer_onnx_act_e        act;
    float                   a;
    float                   b;
} infer_onnx_act_t;


/*
 * GEMM: out[m][j] = act((sum_k a[m][k] w[k][j]) + bias[j] + res[m][j]),
 * the sum a chain of fused multiply-adds in k's order from 0, for every
 * row m of the tensor read as rows x k.  w is packed in panels of nr
 * columns: panel p holds columns p*nr.. as k rows of nr floats, zeros
 * past the last column.
 */
typedef struct {
    size_t                  k;
    size_t                  ncols;
    size_t                  nr;
    size_t                  npanels;
    const float            *w;
    const float            *bias;         /* npanels x nr, or NULL */
    infer_onnx_act_t        act;
    size_t                  rows;         /* a row's rows (MatMul: ...xM) */
    const float            *res_const;    /* unbatched: rows x ncols, added */
} infer_onnx_gemm_t;


/*
 * Convolution, channels last: per image, in is [ih][iw][ic], out is
 * [oh][ow][oc], w packed per group as GEMM panels over k = kh x kw x ic/g
 * in that order.  Each output pixel's sum runs over (kh, kw, ic) in that
 * order, zeros where the window covers padding.
 */
typedef struct {
    size_t                  images;       /* per row: 1 batched, else N */
    size_t                  ic, ih, iw;
    size_t                  oc, oh, ow;
    size_t                  kh, kw;
    size_t                  sh, sw, dh, dw;
    size_t                  pt, pl;       /* top and left padding */
    size_t                  group;
    infer_onnx_gemm_t       gemm;         /* of one group: k, ncols oc/g */
    size_t                  wgroup;       /* floats of one group's panels */
    const float            *zeros;        /* ic/g of them: padding's taps */
    unsigned                panel_outer:1;  /* weights larger than pixels */
} infer_onnx_conv_t;


typedef struct {
    size_t                  images;
    size_t                  c, ih, iw, oh, ow;
    size_t                  kh, kw, sh, sw, dh, dw;
    size_t                  pt, pl, pb, pr;
    unsigned                include_pad:1;  /* AveragePool */
} infer_onnx_pool_t;


/* a binary elementwise operation over a loop nest of at most MAX_RANK */
typedef enum {
    INFER_ONNX_ADD = 0,
    INFER_ONNX_SUB,
    INFER_ONNX_MUL,
    INFER_ONNX_DIV
} infer_onnx_binop_e;


typedef struct {
    infer_onnx_binop_e      op;
    int                     rank;         /* of a row's loop nest */
    size_t                  dims[INFER_ONNX_MAX_RANK];
    size_t                  sa[INFER_ONNX_MAX_RANK];   /* 0: broadcast */
    size_t                  sb[INFER_ONNX_MAX_RANK];
    size_t                  row_a;        /* 0: the same for every row */
    size_t                  row_b;
    size_t                  row_out;
    infer_onnx_act_t        act;
} infer_onnx_binary_t;


typedef struct {
    size_t                  count;        /* a row's elements */
    infer_onnx_act_t        act;
} infer_onnx_unary_t;


/* softmax over len elements inner apart, outer times a row */
typedef struct {
    size_t                  outer, len, inner;
    unsigned                log:1;
} infer_onnx_softmax_t;


/*
 * y = x * scale[c] + shift[c], c the channel (a BatchNormalization with no
 * convolution before it): a row is outer blocks of c channels, each
 * channel's inner elements together (plain) or each pixel's c channels
 * together (channels last, inner 1).
 */
typedef struct {
    size_t                  outer;
    size_t                  c;
    size_t                  inner;
    unsigned                channels_last:1;
    const float            *scale;
    const float            *shift;
} infer_onnx_affine_t;


/* a row's transposition: out[i] = in[at(i)], dims and strides of out */
typedef struct {
    int                     rank;
    size_t                  dims[INFER_ONNX_MAX_RANK];
    size_t                  in_strides[INFER_ONNX_MAX_RANK];
    size_t                  count;
    size_t                  width;        /* bytes of an element: 4 or 8 */
} infer_onnx_transpose_t;


typedef struct {
    int                     ninputs;
    size_t                  outer;        /* a row's blocks */
    size_t                 *inner;        /* each input's block, elements */
    size_t                 *row;          /* each input's row, 0: constant */
    int                    *slots;
    size_t                  row_out;
    size_t                  width;
} infer_onnx_concat_t;


typedef enum {
    INFER_ONNX_PAD_CONSTANT = 0,
    INFER_ONNX_PAD_REFLECT,
    INFER_ONNX_PAD_EDGE
} infer_onnx_pad_mode_e;


typedef struct {
    int                     rank;
    size_t                  in[INFER_ONNX_MAX_RANK];
    size_t                  out[INFER_ONNX_MAX_RANK];
    size_t                  begin[INFER_ONNX_MAX_RANK];
    infer_onnx_pad_mode_e   mode;
    float                   value;
    size_t                  row_in, row_out;
} infer_onnx_pad_t;


/* the kernels */

void infer_onnx_k_gemm(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_conv(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_maxpool(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_avgpool(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_binary(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_unary(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_softmax(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_affine(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_transpose(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_concat(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);
void infer_onnx_k_pad(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work);

/* work memory, in floats, a convolution needs (its window pointers) */
size_t infer_onnx_conv_work(const infer_onnx_conv_t *cv,
    infer_onnx_isa_e isa);

/* a row of in_dims, permuted by perm (ONNX's Transpose) */
void infer_onnx_transpose_init(infer_onnx_transpose_t *tp,
    const size_t *in_dims, int rank, const int *perm, size_t width);

/* the panel width the kernels of isa read */
size_t infer_onnx_gemm_nr(infer_onnx_isa_e isa);

/*
 * Packs w, read as k x ncols with w[kk][j] at w + kk * ks + j * js, into
 * gm's panels (gm->k, ncols, nr and npanels set), times scale[j] when
 * scale is not NULL.
 */
int infer_onnx_gemm_pack(infer_onnx_gemm_t *gm, float *panels,
    const float *w, size_t ks, size_t js, const float *scale);


#endif /* INFER_ONNX_KERNELS_H */
