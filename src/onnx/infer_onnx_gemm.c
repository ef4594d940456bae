/*
 * GEMM: packed weights, the micro-kernels, and the driver of Gemm and
 * MatMul.  infer_onnx_conv.c drives the same micro-kernels over the
 * pixels of a convolution.
 *
 * A micro-kernel computes an mr x nr tile of the output: for each of mr
 * rows, against one panel of nr packed weight columns, a chain of fused
 * multiply-adds over ntaps x kc inputs in order, from zero.  It reads
 * its rows through pointers (one a row and tap), so that a convolution
 * runs on the input as it lies, channels last, with no im2col copy: a
 * window's tap is a pixel's kc channels, or a row of zeros for padding.
 * A GEMM has one tap, the row of A.
 *
 * The AVX-512 kernel keeps 8 x 32 sums in 16 registers (2 multiply-adds a
 * cycle need 8 chains in flight), AVX2 6 x 16 in 12; the scalar one calls
 * fmaf().  All give the same bits, and an output row's chain does not
 * depend on which rows share its tile.
 */

#include <math.h>
#include <string.h>

#include "infer_onnx_simd.h"


#define INFER_ONNX_SCALAR_MR   4
#define INFER_ONNX_AVX2_MR     6
#define INFER_ONNX_AVX512_MR   8


static void infer_onnx_uk_scalar(const infer_onnx_tile_t *t);
#if defined(__x86_64__)
static void infer_onnx_uk_avx2(const infer_onnx_tile_t *t);
static void infer_onnx_uk_avx512(const infer_onnx_tile_t *t);
#endif


size_t
infer_onnx_gemm_nr(infer_onnx_isa_e isa)
{
    return (isa == INFER_ONNX_ISA_AVX512) ? 32 : 16;
}


size_t
infer_onnx_gemm_mr(infer_onnx_isa_e isa)
{
    switch (isa) {
    case INFER_ONNX_ISA_AVX512:
        return INFER_ONNX_AVX512_MR;
    case INFER_ONNX_ISA_AVX2:
        return INFER_ONNX_AVX2_MR;
    default:
        return INFER_ONNX_SCALAR_MR;
    }
}


infer_onnx_ukernel_pt
infer_onnx_gemm_ukernel(infer_onnx_isa_e isa)
{
#if defined(__x86_64__)
    if (isa == INFER_ONNX_ISA_AVX512) {
        return infer_onnx_uk_avx512;
    }

    if (isa == INFER_ONNX_ISA_AVX2) {
        return infer_onnx_uk_avx2;
    }
#endif

    return infer_onnx_uk_scalar;
}


int
infer_onnx_gemm_pack(infer_onnx_gemm_t *gm, float *panels, const float *w,
    size_t ks, size_t js, const float *scale)
{
    size_t  p, kk, j, col;
    float  *dst;

    dst = panels;

    for (p = 0; p < gm->npanels; p++) {
        for (kk = 0; kk < gm->k; kk++) {
            for (j = 0; j < gm->nr; j++) {
                col = p * gm->nr + j;

                if (col >= gm->ncols) {
                    *dst++ = 0.0f;
                    continue;
                }

                *dst = w[kk * ks + col * js];

                if (scale != NULL) {
                    *dst *= scale[col];
                }

                dst++;
            }
        }
    }

    gm->w = panels;

    return INFER_OK;
}


/*
 * Gemm and MatMul: in[0] is A, n rows of gm->rows x k each (or one of
 * them, unbatched); in[1], if any, a computed addend of the output's
 * shape (a residual connection fused in).
 */

void
infer_onnx_k_gemm(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_gemm_t  *gm = s->p;

    size_t                 m, r, mr, mrmax, rows, p;
    const float           *a, *res, *ind[INFER_ONNX_MR_MAX];
    float                 *out;
    infer_onnx_tile_t      t;
    infer_onnx_ukernel_pt  uk;

    (void) work;

    uk = infer_onnx_gemm_ukernel(s->isa);
    mrmax = infer_onnx_gemm_mr(s->isa);

    rows = n * gm->rows;
    a = ptr[s->in[0]];
    out = ptr[s->out];
    res = (s->in[1] >= 0) ? ptr[s->in[1]] : NULL;

    t.ntaps = 1;
    t.kc = gm->k;
    t.act = &gm->act;
    t.ldc = gm->ncols;
    t.ldr = gm->ncols;
    t.ind = ind;

    for (m = 0; m < rows; m += mr) {
        mr = (rows - m < mrmax) ? rows - m : mrmax;

        for (r = 0; r < mr; r++) {
            ind[r] = a + (m + r) * gm->k;
        }

        t.mr = mr;

        for (p = 0; p < gm->npanels; p++) {
            t.w = gm->w + p * gm->k * gm->nr;
            t.c = out + m * gm->ncols + p * gm->nr;
            t.ncols = gm->ncols - p * gm->nr;
            t.ncols = (t.ncols < gm->nr) ? t.ncols : gm->nr;
            t.bias = gm->bias ? gm->bias + p * gm->nr : NULL;

            /* a constant addend: only in a graph without a batch */

            if (res != NULL) {
                t.res = res + m * gm->ncols + p * gm->nr;

            } else if (gm->res_const != NULL) {
                t.res = gm->res_const + m * gm->ncols + p * gm->nr;

            } else {
                t.res = NULL;
            }

            uk(&t);
        }
    }
}


/* the epilogue of one output, as every kernel does it */

static inline float
infer_onnx_finish(float v, const infer_onnx_tile_t *t, size_t r, size_t j)
{
    if (t->bias != NULL) {
        v = v + t->bias[j];
    }

    if (t->res != NULL) {
        v = v + t->res[r * t->ldr + j];
    }

    return infer_onnx_act_scalar(v, t->act);
}


static void
infer_onnx_uk_scalar(const infer_onnx_tile_t *t)
{
    size_t        r, j, c, tap;
    float         acc[INFER_ONNX_MR_MAX][16], x;
    const float  *a, *w;

    /* scalar panels are 16 wide, as AVX2's */

    for (r = 0; r < t->mr; r++) {
        for (j = 0; j < 16; j++) {
            acc[r][j] = 0.0f;
        }
    }

    w = t->w;

    for (tap = 0; tap < t->ntaps; tap++) {
        for (c = 0; c < t->kc; c++) {
            for (r = 0; r < t->mr; r++) {
                a = t->ind[tap * t->mr + r];
                x = a[c];

                for (j = 0; j < 16; j++) {
                    acc[r][j] = fmaf(x, w[j], acc[r][j]);
                }
            }

            w += 16;
        }
    }

    for (r = 0; r < t->mr; r++) {
        for (j = 0; j < t->ncols; j++) {
            t->c[r * t->ldc + j] = infer_onnx_finish(acc[r][j], t, r, j);
        }
    }
}


#if defined(__x86_64__)

#define INFER_ONNX_AVX2    __attribute__((target("avx2,fma")))
#define INFER_ONNX_AVX512  __attribute__((target("avx512f,fma")))


static inline __attribute__((always_inline)) INFER_ONNX_AVX2 void
infer_onnx_uk_avx2_body(const infer_onnx_tile_t *t, const size_t mr)
{
    size_t                r, c, tap;
    __m256                acc0[INFER_ONNX_AVX2_MR], acc1[INFER_ONNX_AVX2_MR];
    __m256                w0, w1, b;
    __m256i               m0, m1;
    const float          *a[INFER_ONNX_AVX2_MR], *w;
    const float *const   *ind;
    float                *out;

#pragma GCC unroll 8
    for (r = 0; r < mr; r++) {
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
    }

    w = t->w;
    ind = t->ind;

    for (tap = 0; tap < t->ntaps; tap++) {

#pragma GCC unroll 8
        for (r = 0; r < mr; r++) {
            a[r] = ind[r];
        }

        ind += mr;

        for (c = 0; c < t->kc; c++) {
            w0 = _mm256_loadu_ps(w);
            w1 = _mm256_loadu_ps(w + 8);
            w += 16;

#pragma GCC unroll 8
            for (r = 0; r < mr; r++) {
                b = _mm256_broadcast_ss(a[r] + c);
                acc0[r] = _mm256_fmadd_ps(b, w0, acc0[r]);
                acc1[r] = _mm256_fmadd_ps(b, w1, acc1[r]);
            }
        }
    }

    m0 = infer_onnx_mask8(t->ncols);
    m1 = infer_onnx_mask8(t->ncols > 8 ? t->ncols - 8 : 0);

#pragma GCC unroll 8
    for (r = 0; r < mr; r++) {
        out = t->c + r * t->ldc;
        acc0[r] = infer_onnx_finish8(acc0[r], t, r, 0, m0);
        acc1[r] = infer_onnx_finish8(acc1[r], t, r, 8, m1);
        _mm256_maskstore_ps(out, m0, acc0[r]);
        _mm256_maskstore_ps(out + 8, m1, acc1[r]);
    }
}


static INFER_ONNX_AVX2 void
infer_onnx_uk_avx2(const infer_onnx_tile_t *t)
{
    switch (t->mr) {
    case 1: infer_onnx_uk_avx2_body(t, 1); break;
    case 2: infer_onnx_uk_avx2_body(t, 2); break;
    case 3: infer_onnx_uk_avx2_body(t, 3); break;
    case 4: infer_onnx_uk_avx2_body(t, 4); break;
    case 5: infer_onnx_uk_avx2_body(t, 5); break;
    default: infer_onnx_uk_avx2_body(t, 6); break;
    }
}


static inline __attribute__((always_inline)) INFER_ONNX_AVX512 void
infer_onnx_uk_avx512_body(const infer_onnx_tile_t *t, const size_t mr)
{
    size_t                r, c, tap;
    __m512                acc0[INFER_ONNX_AVX512_MR];
    __m512                acc1[INFER_ONNX_AVX512_MR];
    __m512                w0, w1, b;
    __mmask16             m0, m1;
    const float          *a[INFER_ONNX_AVX512_MR], *w;
    const float *const   *ind;
    float                *out;

#pragma GCC unroll 8
    for (r = 0; r < mr; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }

    w = t->w;
    ind = t->ind;

    for (tap = 0; tap < t->ntaps; tap++) {

#pragma GCC unroll 8
        for (r = 0; r < mr; r++) {
            a[r] = ind[r];
        }

        ind += mr;

        for (c = 0; c < t->kc; c++) {
            w0 = _mm512_loadu_ps(w);
            w1 = _mm512_loadu_ps(w + 16);
            w += 32;

#pragma GCC unroll 8
            for (r = 0; r < mr; r++) {
                b = _mm512_set1_ps(a[r][c]);
                acc0[r] = _mm512_fmadd_ps(b, w0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(b, w1, acc1[r]);
            }
        }
    }

    m0 = infer_onnx_mask16(t->ncols);
    m1 = infer_onnx_mask16(t->ncols > 16 ? t->ncols - 16 : 0);

#pragma GCC unroll 8
    for (r = 0; r < mr; r++) {
        out = t->c + r * t->ldc;
        acc0[r] = infer_onnx_finish16(acc0[r], t, r, 0, m0);
        acc1[r] = infer_onnx_finish16(acc1[r], t, r, 16, m1);
        _mm512_mask_storeu_ps(out, m0, acc0[r]);
        _mm512_mask_storeu_ps(out + 16, m1, acc1[r]);
    }
}


static INFER_ONNX_AVX512 void
infer_onnx_uk_avx512(const infer_onnx_tile_t *t)
{
    switch (t->mr) {
    case 1: infer_onnx_uk_avx512_body(t, 1); break;
    case 2: infer_onnx_uk_avx512_body(t, 2); break;
    case 3: infer_onnx_uk_avx512_body(t, 3); break;
    case 4: infer_onnx_uk_avx512_body(t, 4); break;
    case 5: infer_onnx_uk_avx512_body(t, 5); break;
    case 6: infer_onnx_uk_avx512_body(t, 6); break;
    case 7: infer_onnx_uk_avx512_body(t, 7); break;
    default: infer_onnx_uk_avx512_body(t, 8); break;
    }
}

#endif
