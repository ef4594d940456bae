/*
 * What the kernels share: the micro-kernel's tile, and the elementwise
 * functions (activations, exp) written once per instruction set with the
 * same IEEE operations in the same order, so that every set gives the
 * same bits: a comparison and a select where the scalar code has "?:",
 * fmaf() where the vector code multiplies and adds in one instruction.
 *
 * exp() is Cephes' expf: n = round(x log2 e), r = x - n ln 2 in two
 * parts, a degree-5 polynomial, times 2^n (about 1 ulp); tanh() is Cephes'
 * tanhf (a polynomial below 0.625, from exp() above).
 */

#ifndef INFER_ONNX_SIMD_H
#define INFER_ONNX_SIMD_H


#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "infer_onnx_kernels.h"


/* the compiler may not fuse a * b + c on its own: one set would differ */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize ("fp-contract=off")
#endif


/*
 * An mr x nr tile over ntaps x kc: row r's inputs for tap t are the kc
 * floats at ind[t * mr + r] (a row of A; a pixel's channels, or zeros
 * where the window covers padding), the weights ntaps x kc rows of nr.
 */
typedef struct {
    size_t                   mr;
    size_t                   ntaps;
    size_t                   kc;
    size_t                   ncols;          /* valid columns of the panel */
    size_t                   ldc;
    size_t                   ldr;
    const float *const      *ind;            /* ntaps x mr */
    const float             *w;              /* ntaps x kc x nr */
    const float             *bias;           /* nr, or NULL */
    const float             *res;            /* mr rows ldr apart, or NULL */
    float                   *c;
    const infer_onnx_act_t  *act;
} infer_onnx_tile_t;


typedef void (*infer_onnx_ukernel_pt)(const infer_onnx_tile_t *t);


#define INFER_ONNX_MR_MAX  8

size_t infer_onnx_gemm_mr(infer_onnx_isa_e isa);
infer_onnx_ukernel_pt infer_onnx_gemm_ukernel(infer_onnx_isa_e isa);


#define INFER_ONNX_EXP_HI     88.0f
#define INFER_ONNX_EXP_LO    -87.0f
#define INFER_ONNX_LOG2E      1.44269504088896341f
#define INFER_ONNX_LN2_HI     0.693359375f
#define INFER_ONNX_LN2_LO    -2.12194440e-4f
#define INFER_ONNX_EXP_P0     1.9875691500e-4f
#define INFER_ONNX_EXP_P1     1.3981999507e-3f
#define INFER_ONNX_EXP_P2     8.3334519073e-3f
#define INFER_ONNX_EXP_P3     4.1665795894e-2f
#define INFER_ONNX_EXP_P4     1.6666665459e-1f
#define INFER_ONNX_EXP_P5     5.0000001201e-1f
#define INFER_ONNX_TANH_SMALL 0.625f
#define INFER_ONNX_TANH_P0   -5.70498872745e-3f
#define INFER_ONNX_TANH_P1    2.06390887954e-2f
#define INFER_ONNX_TANH_P2   -5.37397155531e-2f
#define INFER_ONNX_TANH_P3    1.33314422036e-1f
#define INFER_ONNX_TANH_P4   -3.33332819422e-1f


static inline float
infer_onnx_expf(float x)
{
    float     n, r, p, y, scale;
    int32_t   bits;

    x = (x < INFER_ONNX_EXP_HI) ? x : INFER_ONNX_EXP_HI;
    x = (x > INFER_ONNX_EXP_LO) ? x : INFER_ONNX_EXP_LO;

    n = nearbyintf(x * INFER_ONNX_LOG2E);
    r = fmaf(n, -INFER_ONNX_LN2_HI, x);
    r = fmaf(n, -INFER_ONNX_LN2_LO, r);

    p = INFER_ONNX_EXP_P0;
    p = fmaf(p, r, INFER_ONNX_EXP_P1);
    p = fmaf(p, r, INFER_ONNX_EXP_P2);
    p = fmaf(p, r, INFER_ONNX_EXP_P3);
    p = fmaf(p, r, INFER_ONNX_EXP_P4);
    p = fmaf(p, r, INFER_ONNX_EXP_P5);

    y = fmaf(p, r * r, r);
    y = y + 1.0f;

    bits = ((int32_t) n + 127) << 23;
    memcpy(&scale, &bits, sizeof(float));

    return y * scale;
}


static inline float
infer_onnx_tanhf(float x)
{
    float  ax, z, p, e;

    ax = fabsf(x);

    if (ax < INFER_ONNX_TANH_SMALL) {
        z = x * x;
        p = INFER_ONNX_TANH_P0;
        p = fmaf(p, z, INFER_ONNX_TANH_P1);
        p = fmaf(p, z, INFER_ONNX_TANH_P2);
        p = fmaf(p, z, INFER_ONNX_TANH_P3);
        p = fmaf(p, z, INFER_ONNX_TANH_P4);
        return fmaf(p * z, x, x);
    }

    e = infer_onnx_expf(ax + ax);
    e = 1.0f - 2.0f / (e + 1.0f);

    return copysignf(e, x);
}


static inline float
infer_onnx_sigmoidf(float x)
{
    return 1.0f / (1.0f + infer_onnx_expf(-x));
}


static inline float
infer_onnx_act_scalar(float v, const infer_onnx_act_t *act)
{
    switch (act->act) {

    case INFER_ONNX_ACT_RELU:
        return (v > 0.0f) ? v : 0.0f;

    case INFER_ONNX_ACT_LEAKY:
        return (v > 0.0f) ? v : v * act->a;

    case INFER_ONNX_ACT_CLIP:
        v = (v > act->a) ? v : act->a;
        return (v < act->b) ? v : act->b;

    case INFER_ONNX_ACT_SIGMOID:
        return infer_onnx_sigmoidf(v);

    case INFER_ONNX_ACT_TANH:
        return infer_onnx_tanhf(v);

    case INFER_ONNX_ACT_EXP:
        return infer_onnx_expf(v);

    default:
        return v;
    }
}


#if defined(__x86_64__)

/* AVX2: 8 lanes */

static inline __attribute__((always_inline, target("avx2,fma"))) __m256i
infer_onnx_mask8(size_t n)
{
    static const int32_t  ramp[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };

    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t) (n > 8 ? 8 : n)),
                              _mm256_loadu_si256((const __m256i *) ramp));
}


static inline __attribute__((always_inline, target("avx2,fma"))) __m256
infer_onnx_exp8(__m256 x)
{
    __m256   n, r, p, y;
    __m256i  bits;

    x = _mm256_min_ps(x, _mm256_set1_ps(INFER_ONNX_EXP_HI));
    x = _mm256_max_ps(x, _mm256_set1_ps(INFER_ONNX_EXP_LO));

    n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(INFER_ONNX_LOG2E)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-INFER_ONNX_LN2_HI), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-INFER_ONNX_LN2_LO), r);

    p = _mm256_set1_ps(INFER_ONNX_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(INFER_ONNX_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(INFER_ONNX_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(INFER_ONNX_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(INFER_ONNX_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(INFER_ONNX_EXP_P5));

    y = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));

    bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                              _mm256_set1_epi32(127)), 23);

    return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}


static inline __attribute__((always_inline, target("avx2,fma"))) __m256
infer_onnx_tanh8(__m256 x)
{
    __m256  sign, ax, z, p, small, e;

    sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);

    z = _mm256_mul_ps(x, x);
    p = _mm256_set1_ps(INFER_ONNX_TANH_P0);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(INFER_ONNX_TANH_P1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(INFER_ONNX_TANH_P2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(INFER_ONNX_TANH_P3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(INFER_ONNX_TANH_P4));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);

    e = infer_onnx_exp8(_mm256_add_ps(ax, ax));
    e = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                      _mm256_div_ps(_mm256_set1_ps(2.0f),
                                    _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    e = _mm256_or_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), e), sign);

    small = _mm256_cmp_ps(ax, _mm256_set1_ps(INFER_ONNX_TANH_SMALL),
                          _CMP_LT_OQ);

    return _mm256_blendv_ps(e, p, small);
}


static inline __attribute__((always_inline, target("avx2,fma"))) __m256
infer_onnx_act8(__m256 v, const infer_onnx_act_t *act)
{
    __m256  zero, gt;

    zero = _mm256_setzero_ps();

    switch (act->act) {

    case INFER_ONNX_ACT_RELU:
        return _mm256_max_ps(v, zero);

    case INFER_ONNX_ACT_LEAKY:
        gt = _mm256_cmp_ps(v, zero, _CMP_GT_OQ);
        return _mm256_blendv_ps(_mm256_mul_ps(v, _mm256_set1_ps(act->a)), v,
                                gt);

    case INFER_ONNX_ACT_CLIP:
        v = _mm256_max_ps(v, _mm256_set1_ps(act->a));
        return _mm256_min_ps(v, _mm256_set1_ps(act->b));

    case INFER_ONNX_ACT_SIGMOID:
        return _mm256_div_ps(_mm256_set1_ps(1.0f),
                             _mm256_add_ps(_mm256_set1_ps(1.0f),
                                           infer_onnx_exp8(_mm256_xor_ps(
                                               v, _mm256_set1_ps(-0.0f)))));

    case INFER_ONNX_ACT_TANH:
        return infer_onnx_tanh8(v);

    case INFER_ONNX_ACT_EXP:
        return infer_onnx_exp8(v);

    default:
        return v;
    }
}


static inline __attribute__((always_inline, target("avx2,fma"))) __m256
infer_onnx_finish8(__m256 v, const infer_onnx_tile_t *t, size_t r,
    size_t j, __m256i m)
{
    if (t->bias != NULL) {
        v = _mm256_add_ps(v, _mm256_loadu_ps(t->bias + j));
    }

    if (t->res != NULL) {
        v = _mm256_add_ps(v, _mm256_maskload_ps(t->res + r * t->ldr + j, m));
    }

    return infer_onnx_act8(v, t->act);
}


/* AVX-512: 16 lanes */

static inline __attribute__((always_inline, target("avx512f"))) __mmask16
infer_onnx_mask16(size_t n)
{
    return (__mmask16) (n >= 16 ? 0xffff : (1u << n) - 1);
}


static inline __attribute__((always_inline, target("avx512f"))) __m512
infer_onnx_neg16(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x),
                               _mm512_set1_epi32((int32_t) 0x80000000)));
}


static inline __attribute__((always_inline, target("avx512f,fma"))) __m512
infer_onnx_exp16(__m512 x)
{
    __m512   n, r, p, y;
    __m512i  bits;

    x = _mm512_min_ps(x, _mm512_set1_ps(INFER_ONNX_EXP_HI));
    x = _mm512_max_ps(x, _mm512_set1_ps(INFER_ONNX_EXP_LO));

    n = _mm512_roundscale_ps(_mm512_mul_ps(x,
                                           _mm512_set1_ps(INFER_ONNX_LOG2E)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(-INFER_ONNX_LN2_HI), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(-INFER_ONNX_LN2_LO), r);

    p = _mm512_set1_ps(INFER_ONNX_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(INFER_ONNX_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(INFER_ONNX_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(INFER_ONNX_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(INFER_ONNX_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(INFER_ONNX_EXP_P5));

    y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));

    bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n),
                                              _mm512_set1_epi32(127)), 23);

    return _mm512_mul_ps(y, _mm512_castsi512_ps(bits));
}


static inline __attribute__((always_inline, target("avx512f,fma"))) __m512
infer_onnx_tanh16(__m512 x)
{
    __m512     ax, z, p, e;
    __m512i    sign;
    __mmask16  small;

    sign = _mm512_and_si512(_mm512_castps_si512(x),
                            _mm512_set1_epi32((int32_t) 0x80000000));
    ax = _mm512_castsi512_ps(_mm512_andnot_si512(sign,
                                                 _mm512_castps_si512(x)));

    z = _mm512_mul_ps(x, x);
    p = _mm512_set1_ps(INFER_ONNX_TANH_P0);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(INFER_ONNX_TANH_P1));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(INFER_ONNX_TANH_P2));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(INFER_ONNX_TANH_P3));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(INFER_ONNX_TANH_P4));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);

    e = infer_onnx_exp16(_mm512_add_ps(ax, ax));
    e = _mm512_sub_ps(_mm512_set1_ps(1.0f),
                      _mm512_div_ps(_mm512_set1_ps(2.0f),
                                    _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    e = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(e), sign));

    small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(INFER_ONNX_TANH_SMALL),
                               _CMP_LT_OQ);

    return _mm512_mask_blend_ps(small, e, p);
}


static inline __attribute__((always_inline, target("avx512f,fma"))) __m512
infer_onnx_act16(__m512 v, const infer_onnx_act_t *act)
{
    __m512     zero;
    __mmask16  gt;

    zero = _mm512_setzero_ps();

    switch (act->act) {

    case INFER_ONNX_ACT_RELU:
        return _mm512_max_ps(v, zero);

    case INFER_ONNX_ACT_LEAKY:
        gt = _mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ);
        return _mm512_mask_blend_ps(gt,
                                    _mm512_mul_ps(v, _mm512_set1_ps(act->a)),
                                    v);

    case INFER_ONNX_ACT_CLIP:
        v = _mm512_max_ps(v, _mm512_set1_ps(act->a));
        return _mm512_min_ps(v, _mm512_set1_ps(act->b));

    case INFER_ONNX_ACT_SIGMOID:
        return _mm512_div_ps(_mm512_set1_ps(1.0f),
                             _mm512_add_ps(_mm512_set1_ps(1.0f),
                                           infer_onnx_exp16(
                                               infer_onnx_neg16(v))));

    case INFER_ONNX_ACT_TANH:
        return infer_onnx_tanh16(v);

    case INFER_ONNX_ACT_EXP:
        return infer_onnx_exp16(v);

    default:
        return v;
    }
}


static inline __attribute__((always_inline, target("avx512f,fma"))) __m512
infer_onnx_finish16(__m512 v, const infer_onnx_tile_t *t, size_t r,
    size_t j, __mmask16 m)
{
    if (t->bias != NULL) {
        v = _mm512_add_ps(v, _mm512_loadu_ps(t->bias + j));
    }

    if (t->res != NULL) {
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m,
                                                   t->res + r * t->ldr + j));
    }

    return infer_onnx_act16(v, t->act);
}

#endif /* __x86_64__ */


#endif /* INFER_ONNX_SIMD_H */
