/*
 * Convolution and pooling, channels last.
 *
 * A convolution is a GEMM over the output pixels: a block of mr pixels
 * against each panel of the group's packed weights, through the
 * micro-kernel of infer_onnx_gemm.c.  The pointers it reads through (a
 * pixel's channels for each (kh, kw) of its window, or a row of zeros
 * where the window covers padding) are built for a block of pixels at a
 * time, so any stride, dilation, padding and group runs the same code.
 * When a group's weights outweigh the image (the deep layers: few pixels,
 * many channels), the panels go outermost and each stays in cache while
 * every pixel block passes it; otherwise the pixel blocks do.
 *
 * Pooling vectorises over the channels of a pixel: a window's taps are
 * reduced in (kh, kw) order, the padding left out (MaxPool, and
 * AveragePool without count_include_pad) or counted as zeros.
 */

#include <string.h>

#include "infer_onnx_simd.h"


static void infer_onnx_conv_ind(const infer_onnx_conv_t *cv,
    const float *in, const float *zeros, size_t p0, size_t mr,
    const float **ind);
static void infer_onnx_conv_tiles(const infer_onnx_conv_t *cv,
    infer_onnx_ukernel_pt uk, const float **ind, size_t p0, size_t mr,
    size_t panel, const float *w, const float *bias, float *out,
    const float *res);
static void infer_onnx_pool(const infer_onnx_step_t *s, float *const *ptr,
    size_t n, float *work, int max);
static size_t infer_onnx_pool_taps(const infer_onnx_pool_t *pl,
    const float *in, size_t oh, size_t ow, const float **taps,
    size_t *padded);
static void infer_onnx_pool_scalar(const float *const *taps, size_t ntaps,
    size_t c, float *out, int max, float div);
#if defined(__x86_64__)
static void infer_onnx_pool_avx2(const float *const *taps, size_t ntaps,
    size_t c, float *out, int max, float div);
static void infer_onnx_pool_avx512(const float *const *taps, size_t ntaps,
    size_t c, float *out, int max, float div);
#endif


size_t
infer_onnx_conv_work(const infer_onnx_conv_t *cv, infer_onnx_isa_e isa)
{
    size_t  mr, blocks, ptrs;

    mr = infer_onnx_gemm_mr(isa);
    blocks = cv->panel_outer ? (cv->oh * cv->ow + mr - 1) / mr : 1;
    ptrs = blocks * mr * cv->kh * cv->kw;

    /* pointers, in floats' room */

    return (ptrs * sizeof(float *) + sizeof(float) - 1) / sizeof(float);
}


/* in[0] the input, in[1] a residual addend or none; rows of cv->images */

void
infer_onnx_k_conv(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    const infer_onnx_conv_t  *cv = s->p;

    size_t                 img, g, p0, mr, mrmax, P, panel, icg, ocg;
    size_t                 ntaps, nblocks, b;
    const float           *in, *res, *in_i, *res_i, *w, *bias;
    const float          **ind;
    float                 *out, *out_i;
    infer_onnx_ukernel_pt  uk;

    uk = infer_onnx_gemm_ukernel(s->isa);
    mrmax = infer_onnx_gemm_mr(s->isa);

    in = ptr[s->in[0]];
    res = (s->in[1] >= 0) ? ptr[s->in[1]] : NULL;
    out = ptr[s->out];
    ind = (const float **) work;

    P = cv->oh * cv->ow;
    icg = cv->ic / cv->group;
    ocg = cv->oc / cv->group;
    ntaps = cv->kh * cv->kw;
    nblocks = (P + mrmax - 1) / mrmax;

    for (img = 0; img < n * cv->images; img++) {
        in_i = in + img * cv->ih * cv->iw * cv->ic;
        out_i = out + img * P * cv->oc;
        res_i = res ? res + img * P * cv->oc : NULL;

        for (g = 0; g < cv->group; g++) {
            w = cv->gemm.w + g * cv->wgroup;
            bias = cv->gemm.bias
                   ? cv->gemm.bias + g * cv->gemm.npanels * cv->gemm.nr
                   : NULL;

            if (cv->panel_outer) {
                for (b = 0; b < nblocks; b++) {
                    p0 = b * mrmax;
                    mr = (P - p0 < mrmax) ? P - p0 : mrmax;
                    infer_onnx_conv_ind(cv, in_i + g * icg, cv->zeros, p0, mr,
                                        ind + b * mrmax * ntaps);
                }

                for (panel = 0; panel < cv->gemm.npanels; panel++) {
                    for (b = 0; b < nblocks; b++) {
                        p0 = b * mrmax;
                        mr = (P - p0 < mrmax) ? P - p0 : mrmax;
                        infer_onnx_conv_tiles(cv, uk, ind + b * mrmax * ntaps,
                                              p0, mr, panel, w, bias,
                                              out_i + g * ocg,
                                              res_i ? res_i + g * ocg : NULL);
                    }
                }

                continue;
            }

            for (p0 = 0; p0 < P; p0 += mr) {
                mr = (P - p0 < mrmax) ? P - p0 : mrmax;
                infer_onnx_conv_ind(cv, in_i + g * icg, cv->zeros, p0, mr,
                                    ind);

                for (panel = 0; panel < cv->gemm.npanels; panel++) {
                    infer_onnx_conv_tiles(cv, uk, ind, p0, mr, panel, w, bias,
                                          out_i + g * ocg,
                                          res_i ? res_i + g * ocg : NULL);
                }
            }
        }
    }
}


/* the pointers of pixels p0.. p0 + mr - 1, tap by tap: ind[t * mr + r] */

static void
infer_onnx_conv_ind(const infer_onnx_conv_t *cv, const float *in,
    const float *zeros, size_t p0, size_t mr, const float **ind)
{
    size_t     r, kh, kw, oy, ox;
    ptrdiff_t  y, x, y0[INFER_ONNX_MR_MAX], x0[INFER_ONNX_MR_MAX];

    for (r = 0; r < mr; r++) {
        oy = (p0 + r) / cv->ow;
        ox = (p0 + r) % cv->ow;
        y0[r] = (ptrdiff_t) (oy * cv->sh) - (ptrdiff_t) cv->pt;
        x0[r] = (ptrdiff_t) (ox * cv->sw) - (ptrdiff_t) cv->pl;
    }

    for (kh = 0; kh < cv->kh; kh++) {
        for (kw = 0; kw < cv->kw; kw++) {
            for (r = 0; r < mr; r++) {
                y = y0[r] + (ptrdiff_t) (kh * cv->dh);
                x = x0[r] + (ptrdiff_t) (kw * cv->dw);

                if (y < 0 || y >= (ptrdiff_t) cv->ih || x < 0
                    || x >= (ptrdiff_t) cv->iw)
                {
                    *ind++ = zeros;

                } else {
                    *ind++ = in + ((size_t) y * cv->iw + (size_t) x) * cv->ic;
                }
            }
        }
    }
}


static void
infer_onnx_conv_tiles(const infer_onnx_conv_t *cv, infer_onnx_ukernel_pt uk,
    const float **ind, size_t p0, size_t mr, size_t panel, const float *w,
    const float *bias, float *out, const float *res)
{
    size_t             ocg, k;
    infer_onnx_tile_t  t;

    ocg = cv->oc / cv->group;
    k = cv->gemm.k;

    t.mr = mr;
    t.ntaps = cv->kh * cv->kw;
    t.kc = cv->ic / cv->group;
    t.ind = ind;
    t.w = w + panel * k * cv->gemm.nr;
    t.ncols = ocg - panel * cv->gemm.nr;
    t.ncols = (t.ncols < cv->gemm.nr) ? t.ncols : cv->gemm.nr;
    t.ldc = cv->oc;
    t.ldr = cv->oc;
    t.c = out + p0 * cv->oc + panel * cv->gemm.nr;
    t.bias = bias ? bias + panel * cv->gemm.nr : NULL;
    t.res = res ? res + p0 * cv->oc + panel * cv->gemm.nr : NULL;
    t.act = &cv->gemm.act;

    uk(&t);
}


void
infer_onnx_k_maxpool(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    infer_onnx_pool(s, ptr, n, work, 1);
}


void
infer_onnx_k_avgpool(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work)
{
    infer_onnx_pool(s, ptr, n, work, 0);
}


static void
infer_onnx_pool(const infer_onnx_step_t *s, float *const *ptr, size_t n,
    float *work, int max)
{
    const infer_onnx_pool_t  *pl = s->p;

    size_t         img, oy, ox, ntaps, padded;
    float          div;
    const float   *in_i, **taps;
    float         *out_i;
    void         (*reduce)(const float *const *taps, size_t ntaps, size_t c,
                           float *out, int max, float div);

    reduce = infer_onnx_pool_scalar;
#if defined(__x86_64__)
    if (s->isa == INFER_ONNX_ISA_AVX512) {
        reduce = infer_onnx_pool_avx512;

    } else if (s->isa == INFER_ONNX_ISA_AVX2) {
        reduce = infer_onnx_pool_avx2;
    }
#endif

    taps = (const float **) work;

    for (img = 0; img < n * pl->images; img++) {
        in_i = ptr[s->in[0]] + img * pl->ih * pl->iw * pl->c;
        out_i = ptr[s->out] + img * pl->oh * pl->ow * pl->c;

        for (oy = 0; oy < pl->oh; oy++) {
            for (ox = 0; ox < pl->ow; ox++) {
                ntaps = infer_onnx_pool_taps(pl, in_i, oy, ox, taps, &padded);
                div = (float) (pl->include_pad ? padded : ntaps);

                reduce(taps, ntaps, pl->c, out_i, max, div);
                out_i += pl->c;
            }
        }
    }
}


/*
 * The window's taps inside the image, in (kh, kw) order; *padded, the
 * taps inside the padded image (count_include_pad's divisor: a window
 * that ceil_mode lets run past the padding counts only up to it).
 */

static size_t
infer_onnx_pool_taps(const infer_onnx_pool_t *pl, const float *in,
    size_t oy, size_t ox, const float **taps, size_t *padded)
{
    size_t     kh, kw, ntaps;
    ptrdiff_t  y, x, y0, x0;

    y0 = (ptrdiff_t) (oy * pl->sh) - (ptrdiff_t) pl->pt;
    x0 = (ptrdiff_t) (ox * pl->sw) - (ptrdiff_t) pl->pl;
    ntaps = 0;
    *padded = 0;

    for (kh = 0; kh < pl->kh; kh++) {
        y = y0 + (ptrdiff_t) (kh * pl->dh);

        for (kw = 0; kw < pl->kw; kw++) {
            x = x0 + (ptrdiff_t) (kw * pl->dw);

            if (y >= -(ptrdiff_t) pl->pt
                && y < (ptrdiff_t) (pl->ih + pl->pb)
                && x >= -(ptrdiff_t) pl->pl
                && x < (ptrdiff_t) (pl->iw + pl->pr))
            {
                (*padded)++;
            }

            if (y < 0 || y >= (ptrdiff_t) pl->ih || x < 0
                || x >= (ptrdiff_t) pl->iw)
            {
                continue;
            }

            taps[ntaps++] = in + ((size_t) y * pl->iw + (size_t) x) * pl->c;
        }
    }

    return ntaps;
}


static void
infer_onnx_pool_scalar(const float *const *taps, size_t ntaps, size_t c,
    float *out, int max, float div)
{
    size_t  j, t;
    float   acc, x;

    for (j = 0; j < c; j++) {
        if (max) {
            acc = taps[0][j];

            for (t = 1; t < ntaps; t++) {
                x = taps[t][j];
                acc = (x > acc) ? x : acc;
            }

            out[j] = acc;
            continue;
        }

        acc = 0.0f;

        for (t = 0; t < ntaps; t++) {
            acc = acc + taps[t][j];
        }

        out[j] = acc / div;
    }
}


#if defined(__x86_64__)

static __attribute__((target("avx2,fma"))) void
infer_onnx_pool_avx2(const float *const *taps, size_t ntaps, size_t c,
    float *out, int max, float div)
{
    size_t   j, t;
    __m256   acc;
    __m256i  m;

    for (j = 0; j < c; j += 8) {
        m = infer_onnx_mask8(c - j);

        if (max) {
            acc = _mm256_maskload_ps(taps[0] + j, m);

            for (t = 1; t < ntaps; t++) {
                acc = _mm256_max_ps(_mm256_maskload_ps(taps[t] + j, m), acc);
            }

        } else {
            acc = _mm256_setzero_ps();

            for (t = 0; t < ntaps; t++) {
                acc = _mm256_add_ps(acc, _mm256_maskload_ps(taps[t] + j, m));
            }

            acc = _mm256_div_ps(acc, _mm256_set1_ps(div));
        }

        _mm256_maskstore_ps(out + j, m, acc);
    }
}


static __attribute__((target("avx512f"))) void
infer_onnx_pool_avx512(const float *const *taps, size_t ntaps, size_t c,
    float *out, int max, float div)
{
    size_t     j, t;
    __m512     acc;
    __mmask16  m;

    for (j = 0; j < c; j += 16) {
        m = infer_onnx_mask16(c - j);

        if (max) {
            acc = _mm512_maskz_loadu_ps(m, taps[0] + j);

            for (t = 1; t < ntaps; t++) {
                acc = _mm512_max_ps(_mm512_maskz_loadu_ps(m, taps[t] + j),
                                    acc);
            }

        } else {
            acc = _mm512_setzero_ps();

            for (t = 0; t < ntaps; t++) {
                acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, taps[t] + j));
            }

            acc = _mm512_div_ps(acc, _mm512_set1_ps(div));
        }

        _mm512_mask_storeu_ps(out + j, m, acc);
    }
}

#endif
