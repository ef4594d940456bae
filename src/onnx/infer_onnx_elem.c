/*
 * The elementwise and data-movement kernels: binary operations with
 * numpy broadcasting, activations, softmax, a channel affine, transpose,
 * concatenation, padding, copy.
 *
 * A binary operation's plan is a loop nest over a row whose innermost
 * dimension is a run in which each operand either advances one element or
 * stands still (broadcast); the runs are what the vector code sees.
 * Softmax takes its maxima and sums in the scalar order every set shares;
 * only the exponentials and the division, elementwise, are vectorised.
 */

#include <string.h>

#include "infer_onnx_simd.h"


typedef void (*infer_onnx_run_pt)(infer_onnx_binop_e op, float *out,
    const float *a, size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act);
typedef void (*infer_onnx_map_pt)(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act);


static void infer_onnx_binary_nest(const infer_onnx_binary_t *bp,
    infer_onnx_run_pt run, float *out, const float *a, const float *b);
static void infer_onnx_run_scalar(infer_onnx_binop_e op, float *out,
    const float *a, size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act);
static void infer_onnx_map_scalar(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act);
static void infer_onnx_transpose_2d(char *out, const char *in, size_t rows,
    size_t cols, size_t width);
#if defined(__x86_64__)
static void infer_onnx_run_avx2(infer_onnx_binop_e op, float *out,
    const float *a, size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act);
static void infer_onnx_run_avx512(infer_onnx_binop_e op, float *out,
    const float *a, size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act);
static void infer_onnx_map_avx2(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act);
static void infer_onnx_map_avx512(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act);
#endif


static infer_onnx_run_pt
infer_onnx_run_for(infer_onnx_isa_e isa)
{
#if defined(__x86_64__)
    if (isa == INFER_ONNX_ISA_AVX512) {
        return infer_onnx_run_avx512;
    }

    if (isa == INFER_ONNX_ISA_AVX2) {
        return infer_onnx_run_avx2;
    }
#endif

    return infer_onnx_run_scalar;
}


static infer_onnx_map_pt
infer_onnx_map_for(infer_onnx_isa_e isa)
{
#if defined(__x86_64__)
    if (isa == INFER_ONNX_ISA_AVX512) {
        return infer_onnx_map_avx512;
    }

    if (isa == INFER_ONNX_ISA_AVX2) {
        return infer_onnx_map_avx2;
    }
#endif

    return infer_onnx_map_scalar;
}


void
infer_onnx_k_binary(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_binary_t  *bp = s->p;

    size_t              r;
    const float        *a, *b;
    float              *out;
    infer_onnx_run_pt   run;

    (void) work;

    run = infer_onnx_run_for(s->isa);
    a = ptr[s->in[0]];
    b = ptr[s->in[1]];
    out = ptr[s->out];

    /* the same shape on both sides, the batch with it: one run */

    if (bp->rank == 1 && bp->sa[0] == 1 && bp->sb[0] == 1
        && bp->row_a == bp->row_out && bp->row_b == bp->row_out)
    {
        run(bp->op, out, a, 1, b, 1, n * bp->row_out, &bp->act);
        return;
    }

    for (r = 0; r < n; r++) {
        infer_onnx_binary_nest(bp, run, out + r * bp->row_out,
                               a + r * bp->row_a, b + r * bp->row_b);
    }
}


/* a row: an odometer over every dimension but the last, a run on that */

static void
infer_onnx_binary_nest(const infer_onnx_binary_t *bp, infer_onnx_run_pt run,
    float *out, const float *a, const float *b)
{
    int     d, last;
    size_t  idx[INFER_ONNX_MAX_RANK], len, oa, ob;

    last = bp->rank - 1;
    len = bp->dims[last];

    for (d = 0; d < last; d++) {
        idx[d] = 0;
    }

    oa = 0;
    ob = 0;

    for ( ;; ) {
        run(bp->op, out, a + oa, bp->sa[last], b + ob, bp->sb[last], len,
            &bp->act);
        out += len;

        for (d = last - 1; d >= 0; d--) {
            oa += bp->sa[d];
            ob += bp->sb[d];

            if (++idx[d] < bp->dims[d]) {
                break;
            }

            oa -= bp->sa[d] * bp->dims[d];
            ob -= bp->sb[d] * bp->dims[d];
            idx[d] = 0;
        }

        if (d < 0) {
            return;
        }
    }
}


static inline float
infer_onnx_binop(infer_onnx_binop_e op, float x, float y)
{
    switch (op) {
    case INFER_ONNX_ADD:
        return x + y;
    case INFER_ONNX_SUB:
        return x - y;
    case INFER_ONNX_MUL:
        return x * y;
    default:
        return x / y;
    }
}


static void
infer_onnx_run_scalar(infer_onnx_binop_e op, float *out, const float *a,
    size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[i] = infer_onnx_act_scalar(infer_onnx_binop(op, a[i * as],
                                                        b[i * bs]),
                                       act);
    }
}


void
infer_onnx_k_unary(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_unary_t  *up = s->p;

    (void) work;

    infer_onnx_map_for(s->isa)(ptr[s->out], ptr[s->in[0]], n * up->count,
                               &up->act);
}


static void
infer_onnx_map_scalar(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[i] = infer_onnx_act_scalar(in[i], act);
    }
}


/*
 * Softmax and LogSoftmax of each of a row's outer x inner vectors of len
 * elements, inner apart: d = x - max, e = exp(d), the sum of e in order;
 * then e / sum, or d - log(sum).  work holds e.
 */

void
infer_onnx_k_softmax(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_softmax_t  *sm = s->p;

    size_t              o, i, j, len, in;
    float               m, sum, lsum, x;
    const float        *src;
    float              *dst;
    infer_onnx_act_t    exp;
    infer_onnx_map_pt   map;

    map = infer_onnx_map_for(s->isa);
    exp.act = INFER_ONNX_ACT_EXP;
    len = sm->len;
    in = sm->inner;

    for (o = 0; o < n * sm->outer; o++) {
        for (i = 0; i < in; i++) {
            src = ptr[s->in[0]] + o * len * in + i;
            dst = ptr[s->out] + o * len * in + i;

            m = src[0];

            for (j = 1; j < len; j++) {
                x = src[j * in];
                m = (x > m) ? x : m;
            }

            for (j = 0; j < len; j++) {
                dst[j * in] = src[j * in] - m;
            }

            if (in == 1) {
                map(work, dst, len, &exp);

            } else {
                for (j = 0; j < len; j++) {
                    work[j] = infer_onnx_expf(dst[j * in]);
                }
            }

            sum = 0.0f;

            for (j = 0; j < len; j++) {
                sum = sum + work[j];
            }

            if (sm->log) {
                lsum = logf(sum);

                for (j = 0; j < len; j++) {
                    dst[j * in] = dst[j * in] - lsum;
                }

            } else {
                for (j = 0; j < len; j++) {
                    dst[j * in] = work[j] / sum;
                }
            }
        }
    }
}


void
infer_onnx_k_affine(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_affine_t  *af = s->p;

    size_t        o, c, i;
    float         sc, sh;
    const float  *x;
    float        *y;

    (void) work;

    x = ptr[s->in[0]];
    y = ptr[s->out];

    for (o = 0; o < n * af->outer; o++) {
        if (af->channels_last || af->inner == 1) {
            for (c = 0; c < af->c; c++) {
                y[c] = x[c] * af->scale[c] + af->shift[c];
            }

            x += af->c;
            y += af->c;
            continue;
        }

        for (c = 0; c < af->c; c++) {
            sc = af->scale[c];
            sh = af->shift[c];

            for (i = 0; i < af->inner; i++) {
                y[i] = x[i] * sc + sh;
            }

            x += af->inner;
            y += af->inner;
        }
    }
}


/*
 * A row's transposition.  Two dimensions (a layout change between NCHW
 * and NHWC, a matrix) go block by block, so that both sides stay in
 * cache; more go element by element.
 */

void
infer_onnx_k_transpose(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work)
{
    const infer_onnx_transpose_t  *tp = s->p;

    int          d, last;
    size_t       r, i, idx[INFER_ONNX_MAX_RANK], at;
    const char  *in;
    char        *out;

    (void) work;

    for (r = 0; r < n; r++) {
        in = (const char *) ptr[s->in[0]] + r * tp->count * tp->width;
        out = (char *) ptr[s->out] + r * tp->count * tp->width;

        if (tp->rank == 2 && tp->in_strides[1] != 1) {
            /* out is dims[0] x dims[1], in its transpose */
            infer_onnx_transpose_2d(out, in, tp->dims[1], tp->dims[0],
                                    tp->width);
            continue;
        }

        if (tp->rank == 3 && tp->in_strides[1] == 1
            && tp->in_strides[0] == tp->dims[1] * tp->dims[2])
        {
            /* as many 2-d transpositions as dims[0] says */
            for (i = 0; i < tp->dims[0]; i++) {
                at = i * tp->dims[1] * tp->dims[2] * tp->width;
                infer_onnx_transpose_2d(out + at, in + at, tp->dims[2],
                                        tp->dims[1], tp->width);
            }

            continue;
        }

        last = tp->rank - 1;

        for (d = 0; d < tp->rank; d++) {
            idx[d] = 0;
        }

        at = 0;

        for (i = 0; i < tp->count; i++) {
            memcpy(out + i * tp->width, in + at * tp->width, tp->width);

            for (d = last; d >= 0; d--) {
                at += tp->in_strides[d];

                if (++idx[d] < tp->dims[d]) {
                    break;
                }

                at -= tp->in_strides[d] * tp->dims[d];
                idx[d] = 0;
            }
        }
    }
}


/* out[i] = in[...] for a row of in_dims, permuted by perm */

void
infer_onnx_transpose_init(infer_onnx_transpose_t *tp, const size_t *in_dims,
    int rank, const int *perm, size_t width)
{
    int     d;
    size_t  strides[INFER_ONNX_MAX_RANK];

    strides[rank - 1] = 1;

    for (d = rank - 2; d >= 0; d--) {
        strides[d] = strides[d + 1] * in_dims[d + 1];
    }

    tp->rank = rank;
    tp->count = 1;
    tp->width = width;

    for (d = 0; d < rank; d++) {
        tp->dims[d] = in_dims[perm[d]];
        tp->in_strides[d] = strides[perm[d]];
        tp->count *= tp->dims[d];
    }
}


/* out = transpose of in, in being rows x cols */

static void
infer_onnx_transpose_2d(char *out, const char *in, size_t rows, size_t cols,
    size_t width)
{
    size_t  r0, c0, r, c, rend, cend;

    for (r0 = 0; r0 < rows; r0 += 16) {
        rend = (r0 + 16 < rows) ? r0 + 16 : rows;

        for (c0 = 0; c0 < cols; c0 += 16) {
            cend = (c0 + 16 < cols) ? c0 + 16 : cols;

            for (c = c0; c < cend; c++) {
                for (r = r0; r < rend; r++) {
                    if (width == 4) {
                        memcpy(out + (c * rows + r) * 4,
                               in + (r * cols + c) * 4, 4);

                    } else {
                        memcpy(out + (c * rows + r) * width,
                               in + (r * cols + c) * width, width);
                    }
                }
            }
        }
    }
}


void
infer_onnx_k_concat(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_concat_t  *cc = s->p;

    int          i;
    size_t       r, o, len;
    const char  *in;
    char        *out;

    (void) work;

    out = (char *) ptr[s->out];

    for (r = 0; r < n; r++) {
        for (o = 0; o < cc->outer; o++) {
            for (i = 0; i < cc->ninputs; i++) {
                len = cc->inner[i] * cc->width;
                in = (const char *) ptr[cc->slots[i]]
                     + (r * cc->row[i] + o * cc->inner[i]) * cc->width;
                memcpy(out, in, len);
                out += len;
            }
        }
    }
}


/* where index i of a padded dimension reads from, or -1: the constant */

static ptrdiff_t
infer_onnx_pad_from(const infer_onnx_pad_t *pp, int d, size_t i)
{
    ptrdiff_t  x, len, period;

    x = (ptrdiff_t) i - (ptrdiff_t) pp->begin[d];
    len = (ptrdiff_t) pp->in[d];

    if (x >= 0 && x < len) {
        return x;
    }

    switch (pp->mode) {

    case INFER_ONNX_PAD_EDGE:
        return (x < 0) ? 0 : len - 1;

    case INFER_ONNX_PAD_REFLECT:
        if (len == 1) {
            return 0;
        }

        period = 2 * (len - 1);
        x = ((x % period) + period) % period;
        return (x < len) ? x : period - x;

    default:
        return -1;
    }
}


void
infer_onnx_k_pad(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_pad_t  *pp = s->p;

    int           d, last;
    size_t        r, i, j, idx[INFER_ONNX_MAX_RANK], at, stride;
    ptrdiff_t     from;
    const float  *in;
    float        *out;

    (void) work;

    last = pp->rank - 1;

    for (r = 0; r < n; r++) {
        in = ptr[s->in[0]] + r * pp->row_in;
        out = ptr[s->out] + r * pp->row_out;

        for (d = 0; d < pp->rank; d++) {
            idx[d] = 0;
        }

        for ( ;; ) {
            /* the line's source, or none */

            at = 0;
            stride = 1;
            from = 0;

            for (d = last - 1; d >= 0; d--) {
                stride *= pp->in[d + 1];
                from = infer_onnx_pad_from(pp, d, idx[d]);

                if (from < 0) {
                    break;
                }

                at += (size_t) from * stride;
            }

            for (j = 0; j < pp->out[last]; j++) {
                i = (size_t) infer_onnx_pad_from(pp, last, j);

                out[j] = (from < 0 || i == (size_t) -1) ? pp->value
                                                        : in[at + i];
            }

            out += pp->out[last];

            for (d = last - 1; d >= 0; d--) {
                if (++idx[d] < pp->out[d]) {
                    break;
                }

                idx[d] = 0;
            }

            if (d < 0) {
                break;
            }
        }
    }
}


#if defined(__x86_64__)

#define INFER_ONNX_BINOP_VEC(W, add, sub, mul, div)                          \
    switch (op) {                                                            \
    case INFER_ONNX_ADD: v = add(x, y); break;                               \
    case INFER_ONNX_SUB: v = sub(x, y); break;                               \
    case INFER_ONNX_MUL: v = mul(x, y); break;                               \
    default: v = div(x, y); break;                                           \
    }


static __attribute__((target("avx2,fma"))) void
infer_onnx_run_avx2(infer_onnx_binop_e op, float *out, const float *a,
    size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act)
{
    size_t   i;
    __m256   x, y, v;
    __m256i  m;

    for (i = 0; i < len; i += 8) {
        m = infer_onnx_mask8(len - i);
        x = as ? _mm256_maskload_ps(a + i, m) : _mm256_broadcast_ss(a);
        y = bs ? _mm256_maskload_ps(b + i, m) : _mm256_broadcast_ss(b);

        INFER_ONNX_BINOP_VEC(8, _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps,
                             _mm256_div_ps)

        _mm256_maskstore_ps(out + i, m, infer_onnx_act8(v, act));
    }
}


static __attribute__((target("avx512f,fma"))) void
infer_onnx_run_avx512(infer_onnx_binop_e op, float *out, const float *a,
    size_t as, const float *b, size_t bs, size_t len,
    const infer_onnx_act_t *act)
{
    size_t     i;
    __m512     x, y, v;
    __mmask16  m;

    for (i = 0; i < len; i += 16) {
        m = infer_onnx_mask16(len - i);
        x = as ? _mm512_maskz_loadu_ps(m, a + i) : _mm512_set1_ps(a[0]);
        y = bs ? _mm512_maskz_loadu_ps(m, b + i) : _mm512_set1_ps(b[0]);

        INFER_ONNX_BINOP_VEC(16, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps,
                             _mm512_div_ps)

        _mm512_mask_storeu_ps(out + i, m, infer_onnx_act16(v, act));
    }
}


static __attribute__((target("avx2,fma"))) void
infer_onnx_map_avx2(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act)
{
    size_t   i;
    __m256i  m;

    for (i = 0; i < len; i += 8) {
        m = infer_onnx_mask8(len - i);
        _mm256_maskstore_ps(out + i, m,
                            infer_onnx_act8(_mm256_maskload_ps(in + i, m),
                                            act));
    }
}


static __attribute__((target("avx512f,fma"))) void
infer_onnx_map_avx512(float *out, const float *in, size_t len,
    const infer_onnx_act_t *act)
{
    size_t     i;
    __mmask16  m;

    for (i = 0; i < len; i += 16) {
        m = infer_onnx_mask16(len - i);
        _mm512_mask_storeu_ps(out + i, m,
                              infer_onnx_act16(_mm512_maskz_loadu_ps(m,
                                                                     in + i),
                                               act));
    }
}

#endif
