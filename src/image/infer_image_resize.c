/*
 * Pillow's resize() with its BILINEAR filter on 8-bit RGB (Pillow 9.4,
 * what torchvision's Resize does to a PIL image), to the bit:
 *
 * - separable: a horizontal pass, then a vertical one, each only when
 *   that side changes size (an unchanged side is copied as is);
 * - a triangle of support 1, widened by the shrink factor when it
 *   shrinks (so it antialiases), centred on (x + 0.5) * scale; the
 *   window's ends rounded as Pillow does, its weights normalised to sum 1
 *   in double and rounded to 22 fractional bits (Pillow's 8-bit
 *   precision);
 * - each pass adds half for rounding, shifts and clips to 0..255: the
 *   intermediate image is 8-bit, as Pillow's is.
 *
 * Only a window of the resized image is computed, the centre crop: an
 * output pixel depends on its own input window only, so the window's
 * pixels are those of Pillow's whole resize, cropped after.  Likewise
 * the horizontal pass runs over the rows the kept rows' windows reach
 * only (Pillow too skips the others), into a ring of rows that the
 * vertical pass reads (its windows only move down).
 *
 * The sums are of integers, whose order does not matter, which lets both
 * passes run along vectors: the vertical one adds a whole row per tap;
 * the horizontal one takes 16 rows at a time, turned on their side
 * (16 x 16 byte transposes) so that a column of 16 rows is a vector, and
 * back.  The kernels are plain C (vectorised as the compiler can), and
 * AVX2 and AVX-512 where the CPU has them: the same integer operations,
 * so the same bytes.  Coefficients are computed once a call, for the
 * kept outputs only.
 */

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "infer_image.h"
#include "infer_image_resize.h"


#define INFER_RESIZE_BITS   22               /* Pillow's 8-bit precision */
#define INFER_RESIZE_HALF   (1 << (INFER_RESIZE_BITS - 1))
#define INFER_RESIZE_LANES  16               /* rows a horizontal strip */

#define INFER_RESIZE_AVX2    __attribute__((target("avx2")))
#define INFER_RESIZE_AVX512  __attribute__((target("avx512f")))


/* rows i and i + 8 interleaved into 2i and 2i + 1, unrolled */
#define INFER_RESIZE_SHUFFLE(d, s)                                           \
    d[0] = _mm_unpacklo_epi8(s[0], s[8]);                                    \
    d[1] = _mm_unpackhi_epi8(s[0], s[8]);                                    \
    d[2] = _mm_unpacklo_epi8(s[1], s[9]);                                    \
    d[3] = _mm_unpackhi_epi8(s[1], s[9]);                                    \
    d[4] = _mm_unpacklo_epi8(s[2], s[10]);                                   \
    d[5] = _mm_unpackhi_epi8(s[2], s[10]);                                   \
    d[6] = _mm_unpacklo_epi8(s[3], s[11]);                                   \
    d[7] = _mm_unpackhi_epi8(s[3], s[11]);                                   \
    d[8] = _mm_unpacklo_epi8(s[4], s[12]);                                   \
    d[9] = _mm_unpackhi_epi8(s[4], s[12]);                                   \
    d[10] = _mm_unpacklo_epi8(s[5], s[13]);                                  \
    d[11] = _mm_unpackhi_epi8(s[5], s[13]);                                  \
    d[12] = _mm_unpacklo_epi8(s[6], s[14]);                                  \
    d[13] = _mm_unpackhi_epi8(s[6], s[14]);                                  \
    d[14] = _mm_unpacklo_epi8(s[7], s[15]);                                  \
    d[15] = _mm_unpackhi_epi8(s[7], s[15])


typedef struct {
    uint32_t                 first;          /* its first input pixel */
    uint32_t                 n;              /* its pixels, coefficients */
} infer_resize_win_t;


/* one side: in pixels to out, of which count from first are kept */
typedef struct {
    double                   scale;          /* input pixels an output's */
    double                   support;        /* the filter's reach */
    double                   inv;            /* 1 / the filter's widening */
    uint32_t                 in;
    uint32_t                 first;
    uint32_t                 count;
    uint32_t                 lo;             /* the input the windows use */
    uint32_t                 hi;
    uint32_t                 maxn;           /* the widest window */
    size_t                   ncoef;          /* their coefficients */
    infer_resize_win_t      *win;            /* count windows */
    int32_t                 *coef;           /* ncoef, window after window */
} infer_resize_axis_t;


typedef struct {
    void                   (*strip)(unsigned char *o,
                                    const unsigned char *t,
                                    const infer_resize_axis_t *a);
    void                   (*accumulate)(int32_t *acc,
                                         const unsigned char *row,
                                         int32_t k, size_t len);
    void                   (*store)(unsigned char *out, int32_t *acc,
                                    size_t len);
} infer_resize_kernels_t;


typedef struct {
    infer_resize_axis_t      x;
    infer_resize_axis_t      y;
    int                      horizontal;     /* the width changes */
    int                      vertical;       /* the height changes */
    int                      strips;         /* wide enough for strips */
    size_t                   row;            /* bytes of a kept row */
    size_t                   span;           /* bytes the windows read */
    uint32_t                 ring;           /* rows of the ring */
    size_t                   size;           /* of the scratch */

    const unsigned char     *rgb;
    size_t                   stride;
    uint32_t                 x0;
    uint32_t                 end;            /* the last row read + 1 */
    unsigned char           *t;              /* span x 16: rows on side */
    unsigned char           *o;              /* row x 16: the pass's */
    unsigned char           *dummy;          /* a row for no row */
    unsigned char           *rows;           /* ring x row */
    int32_t                 *acc;            /* row */
    const infer_resize_kernels_t  *k;
} infer_resize_plan_t;



static void infer_resize_plan(infer_resize_plan_t *plan, uint32_t w,
    uint32_t h, uint32_t rw, uint32_t rh, uint32_t x0, uint32_t y0,
    uint32_t cw, uint32_t ch);
static void infer_resize_layout(infer_resize_plan_t *plan, void *scratch);
static void infer_resize_axis_init(infer_resize_axis_t *a, uint32_t in,
    uint32_t out, uint32_t first, uint32_t count);
static double infer_resize_window(const infer_resize_axis_t *a,
    uint32_t xx, infer_resize_win_t *win);
static double infer_resize_triangle(double x);
static void infer_resize_coefs(infer_resize_axis_t *a);
static void infer_resize_rows(infer_resize_plan_t *plan, uint32_t y,
    uint32_t n, unsigned char **dst);
static void infer_resize_horizontal(unsigned char *out,
    const unsigned char *in, const infer_resize_axis_t *a);
static void infer_resize_vertical(infer_resize_plan_t *plan,
    unsigned char *out, uint32_t ch);
static void infer_resize_transpose(unsigned char *const *dst,
    const unsigned char *const *src);
static const infer_resize_kernels_t *infer_resize_kernels(void);
static void infer_resize_strip_generic(unsigned char *o,
    const unsigned char *t, const infer_resize_axis_t *a);
static void infer_resize_accumulate_generic(int32_t *restrict acc,
    const unsigned char *restrict row, int32_t k, size_t len);
static void infer_resize_store_generic(unsigned char *restrict out,
    int32_t *restrict acc, size_t len);
static unsigned char infer_resize_clip(int32_t v);

#if defined(__x86_64__)
static INFER_RESIZE_AVX2 void infer_resize_strip_avx2(unsigned char *o,
    const unsigned char *t, const infer_resize_axis_t *a);
static INFER_RESIZE_AVX2 void infer_resize_accumulate_avx2(int32_t *acc,
    const unsigned char *row, int32_t k, size_t len);
static INFER_RESIZE_AVX2 void infer_resize_store_avx2(unsigned char *out,
    int32_t *acc, size_t len);
static inline INFER_RESIZE_AVX2 __m128i infer_resize_clip_avx2(__m256i lo,
    __m256i hi);
static INFER_RESIZE_AVX512 void infer_resize_strip_avx512(unsigned char *o,
    const unsigned char *t, const infer_resize_axis_t *a);
static INFER_RESIZE_AVX512 void infer_resize_accumulate_avx512(
    int32_t *acc, const unsigned char *row, int32_t k, size_t len);
static INFER_RESIZE_AVX512 void infer_resize_store_avx512(
    unsigned char *out, int32_t *acc, size_t len);
static inline INFER_RESIZE_AVX512 __m128i infer_resize_clip_avx512(
    __m512i v);
#endif


size_t
infer_image_resize_scratch(uint32_t w, uint32_t h, uint32_t rw, uint32_t rh,
    uint32_t x0, uint32_t y0, uint32_t cw, uint32_t ch)
{
    infer_resize_plan_t  plan;

    infer_resize_plan(&plan, w, h, rw, rh, x0, y0, cw, ch);

    return plan.size;
}


/*
 * rgb (w x h) resized to rw x rh, of which the window x0, y0, cw x ch
 * into out (cw x ch x 3); the caller has checked that it lies inside.
 */

void
infer_image_resize(const unsigned char *rgb, uint32_t w, uint32_t h,
    uint32_t rw, uint32_t rh, uint32_t x0, uint32_t y0, uint32_t cw,
    uint32_t ch, void *scratch, unsigned char *out)
{
    uint32_t              yy, n, r;
    unsigned char        *dst[INFER_RESIZE_LANES];
    infer_resize_plan_t   plan;

    infer_resize_plan(&plan, w, h, rw, rh, x0, y0, cw, ch);
    infer_resize_layout(&plan, scratch);

    plan.rgb = rgb;
    plan.stride = (size_t) w * 3;
    plan.x0 = x0;
    plan.k = infer_resize_kernels();

    if (plan.horizontal) {
        infer_resize_coefs(&plan.x);
    }

    if (plan.vertical) {
        infer_resize_coefs(&plan.y);
        infer_resize_vertical(&plan, out, ch);
        return;
    }

    /* the rows as they are, or through the horizontal pass only */

    plan.end = y0 + ch;

    for (yy = 0; yy < ch; yy += n) {
        n = ch - yy < INFER_RESIZE_LANES ? ch - yy : INFER_RESIZE_LANES;

        for (r = 0; r < INFER_RESIZE_LANES; r++) {
            dst[r] = r < n ? out + (yy + r) * plan.row : plan.dummy;
        }

        infer_resize_rows(&plan, y0 + yy, n, dst);
    }
}


/* what the passes need, and its size in the scratch */

static void
infer_resize_plan(infer_resize_plan_t *plan, uint32_t w, uint32_t h,
    uint32_t rw, uint32_t rh, uint32_t x0, uint32_t y0, uint32_t cw,
    uint32_t ch)
{
    size_t  size;

    memset(plan, 0, sizeof(infer_resize_plan_t));

    plan->horizontal = (rw != w);
    plan->vertical = (rh != h);
    plan->row = (size_t) cw * 3;

    size = 0;

    if (plan->horizontal) {
        infer_resize_axis_init(&plan->x, w, rw, x0, cw);
        size += cw * sizeof(infer_resize_win_t)
                + plan->x.ncoef * sizeof(int32_t);

        /* a strip reads and writes 16 bytes at a time, never beyond */

        plan->span = (size_t) (plan->x.hi - plan->x.lo) * 3;
        plan->strips = (plan->span >= 16 && plan->row >= 16);

        if (plan->strips) {
            size += (plan->span + plan->row) * INFER_RESIZE_LANES
                    + plan->row;
        }
    }

    if (plan->vertical) {
        infer_resize_axis_init(&plan->y, h, rh, y0, ch);
        size += ch * sizeof(infer_resize_win_t)
                + plan->y.ncoef * sizeof(int32_t)
                + plan->row * sizeof(int32_t);

        /*
         * a row computed overwrites the one ring rows above it: a strip
         * computes up to 15 rows past the window that needs it
         */

        if (plan->horizontal) {
            plan->ring = plan->y.maxn
                         + (plan->strips ? INFER_RESIZE_LANES - 1 : 0);
            size += plan->ring * plan->row;
        }
    }

    plan->size = size;
}


/* words first, then bytes */

static void
infer_resize_layout(infer_resize_plan_t *plan, void *scratch)
{
    unsigned char  *p;

    p = scratch;

    if (plan->horizontal) {
        plan->x.win = (infer_resize_win_t *) p;
        p += plan->x.count * sizeof(infer_resize_win_t);
        plan->x.coef = (int32_t *) p;
        p += plan->x.ncoef * sizeof(int32_t);
    }

    if (plan->vertical) {
        plan->y.win = (infer_resize_win_t *) p;
        p += plan->y.count * sizeof(infer_resize_win_t);
        plan->y.coef = (int32_t *) p;
        p += plan->y.ncoef * sizeof(int32_t);
        plan->acc = (int32_t *) p;
        p += plan->row * sizeof(int32_t);
        plan->rows = p;
        p += plan->ring * plan->row;
    }

    if (plan->strips) {
        plan->t = p;
        p += plan->span * INFER_RESIZE_LANES;
        plan->o = p;
        p += plan->row * INFER_RESIZE_LANES;
        plan->dummy = p;
    }
}


/* the filter of one side, and the sizes of the kept outputs' windows */

static void
infer_resize_axis_init(infer_resize_axis_t *a, uint32_t in, uint32_t out,
    uint32_t first, uint32_t count)
{
    double              filterscale;
    uint32_t            xx;
    infer_resize_win_t  win;

    a->scale = (double) in / out;
    filterscale = a->scale < 1.0 ? 1.0 : a->scale;
    a->support = filterscale;                /* the triangle's is 1 */
    a->inv = 1.0 / filterscale;
    a->in = in;
    a->first = first;
    a->count = count;

    /* both ends of a window only move right: the span is first to last */

    for (xx = first; xx < first + count; xx++) {
        (void) infer_resize_window(a, xx, &win);

        a->ncoef += win.n;

        if (win.n > a->maxn) {
            a->maxn = win.n;
        }

        if (xx == first) {
            a->lo = win.first;
        }

        a->hi = win.first + win.n;
    }
}


/* output xx's input pixels, as Pillow rounds them; returns its centre */

static double
infer_resize_window(const infer_resize_axis_t *a, uint32_t xx,
    infer_resize_win_t *win)
{
    double   center;
    int64_t  lo, hi;

    center = (xx + 0.5) * a->scale;

    /* truncated toward zero, as C's (int) is: a negative end becomes 0 */

    lo = (int64_t) (center - a->support + 0.5);
    hi = (int64_t) (center + a->support + 0.5);

    if (lo < 0) {
        lo = 0;
    }

    if (hi > a->in) {
        hi = a->in;
    }

    win->first = (uint32_t) lo;
    win->n = hi > lo ? (uint32_t) (hi - lo) : 0;

    return center;
}


static double
infer_resize_triangle(double x)
{
    if (x < 0.0) {
        x = -x;
    }

    return x < 1.0 ? 1.0 - x : 0.0;
}


/*
 * The kept outputs' windows and fixed-point coefficients.  A weight is
 * computed twice, for the sum and then divided by it, rather than kept:
 * the same operations on the same doubles give the same value.
 */

static void
infer_resize_coefs(infer_resize_axis_t *a)
{
    double    center, ww, k;
    int32_t  *c;
    uint32_t  xx, i;

    c = a->coef;

    for (xx = 0; xx < a->count; xx++) {
        center = infer_resize_window(a, a->first + xx, &a->win[xx]);

        ww = 0.0;

        for (i = 0; i < a->win[xx].n; i++) {
            ww += infer_resize_triangle(
                      ((double) (a->win[xx].first + i) - center + 0.5)
                      * a->inv);
        }

        for (i = 0; i < a->win[xx].n; i++) {
            k = infer_resize_triangle(
                    ((double) (a->win[xx].first + i) - center + 0.5)
                    * a->inv);

            if (ww != 0.0) {
                k /= ww;
            }

            /* rounded half away from zero; a triangle's are >= 0 */
            *c++ = (int32_t) (0.5 + k * (1 << INFER_RESIZE_BITS));
        }
    }
}


/*
 * The vertical pass, row by row, fed by the horizontal pass strip by
 * strip into the ring, or straight from the image when the width stays.
 */

static void
infer_resize_vertical(infer_resize_plan_t *plan, unsigned char *out,
    uint32_t ch)
{
    size_t                     i;
    uint32_t                   yy, t, r, next, n, lanes;
    const int32_t             *k;
    unsigned char             *dst[INFER_RESIZE_LANES];
    const unsigned char       *row;
    const infer_resize_win_t  *win;

    for (i = 0; i < plan->row; i++) {
        plan->acc[i] = INFER_RESIZE_HALF;
    }

    k = plan->y.coef;
    next = 0;
    plan->end = plan->y.hi;
    lanes = plan->strips ? INFER_RESIZE_LANES : 1;

    for (yy = 0; yy < ch; yy++) {
        win = &plan->y.win[yy];

        if (plan->horizontal) {
            if (next < win->first) {
                next = win->first;
            }

            while (next < win->first + win->n) {
                n = plan->end - next < lanes ? plan->end - next : lanes;

                for (r = 0; r < INFER_RESIZE_LANES; r++) {
                    dst[r] = r < n ? plan->rows
                                     + ((next + r) % plan->ring) * plan->row
                                   : plan->dummy;
                }

                infer_resize_rows(plan, next, n, dst);
                next += n;
            }
        }

        for (t = 0; t < win->n; t++) {
            if (plan->horizontal) {
                row = plan->rows
                      + ((win->first + t) % plan->ring) * plan->row;

            } else {
                row = plan->rgb + (win->first + t) * plan->stride
                      + (size_t) plan->x0 * 3;
            }

            plan->k->accumulate(plan->acc, row, k[t], plan->row);
        }

        plan->k->store(out + yy * plan->row, plan->acc, plan->row);
        k += win->n;
    }
}


/*
 * Rows y to y + n of the image into dst[0..n), through the horizontal
 * pass if the width changes: 16 at a time turned on their side when the
 * rows are wide enough (lanes past n repeat the last row read, into the
 * dummy), else one by one.
 */

static void
infer_resize_rows(infer_resize_plan_t *plan, uint32_t y, uint32_t n,
    unsigned char **dst)
{
    size_t                b, left;
    uint32_t              r, i;
    unsigned char        *to[INFER_RESIZE_LANES];
    const unsigned char  *src[INFER_RESIZE_LANES], *in[INFER_RESIZE_LANES];

    left = (size_t) (plan->horizontal ? plan->x.lo : plan->x0) * 3;

    for (r = 0; r < INFER_RESIZE_LANES; r++) {
        src[r] = plan->rgb + (r < n ? y + r : plan->end - 1) * plan->stride
                 + left;
    }

    if (!plan->horizontal) {
        for (r = 0; r < n; r++) {
            memcpy(dst[r], src[r], plan->row);
        }

        return;
    }

    if (!plan->strips) {
        for (r = 0; r < n; r++) {
            infer_resize_horizontal(dst[r], src[r] - left, &plan->x);
        }

        return;
    }

    /* the last 16 bytes overlap the ones before: the same written twice */

    for (b = 0; b < plan->span; b += 16) {
        b = plan->span - b < 16 ? plan->span - 16 : b;

        for (i = 0; i < 16; i++) {
            in[i] = src[i] + b;
            to[i] = plan->t + (b + i) * INFER_RESIZE_LANES;
        }

        infer_resize_transpose(to, in);
    }

    plan->k->strip(plan->o, plan->t, &plan->x);

    for (b = 0; b < plan->row; b += 16) {
        b = plan->row - b < 16 ? plan->row - 16 : b;

        for (i = 0; i < 16; i++) {
            in[i] = plan->o + (b + i) * INFER_RESIZE_LANES;
            to[i] = dst[i] + b;
        }

        infer_resize_transpose(to, in);
    }
}


/* one row's kept columns, RGB interleaved: for rows too narrow for strips */

static void
infer_resize_horizontal(unsigned char *out, const unsigned char *in,
    const infer_resize_axis_t *a)
{
    int32_t                    s0, s1, s2;
    uint32_t                   xx, i;
    const int32_t             *k;
    const unsigned char       *p;
    const infer_resize_win_t  *win;

    k = a->coef;

    for (xx = 0; xx < a->count; xx++) {
        win = &a->win[xx];
        p = in + (size_t) win->first * 3;

        s0 = INFER_RESIZE_HALF;
        s1 = INFER_RESIZE_HALF;
        s2 = INFER_RESIZE_HALF;

        for (i = 0; i < win->n; i++) {
            s0 += p[0] * k[i];
            s1 += p[1] * k[i];
            s2 += p[2] * k[i];
            p += 3;
        }

        out[0] = infer_resize_clip(s0);
        out[1] = infer_resize_clip(s1);
        out[2] = infer_resize_clip(s2);

        out += 3;
        k += win->n;
    }
}


/* dst[i][j] = src[j][i], 16 x 16 bytes */

static void
infer_resize_transpose(unsigned char *const *dst,
    const unsigned char *const *src)
{
#if defined(__x86_64__)

    /* four perfect shuffles of the rows make the transpose */

    int      i;
    __m128i  a[16], b[16];

    for (i = 0; i < 16; i++) {
        a[i] = _mm_loadu_si128((const __m128i *) src[i]);
    }

    INFER_RESIZE_SHUFFLE(b, a);
    INFER_RESIZE_SHUFFLE(a, b);
    INFER_RESIZE_SHUFFLE(b, a);
    INFER_RESIZE_SHUFFLE(a, b);

    for (i = 0; i < 16; i++) {
        _mm_storeu_si128((__m128i *) dst[i], a[i]);
    }

#else

    int  i, j;

    for (i = 0; i < 16; i++) {
        for (j = 0; j < 16; j++) {
            dst[i][j] = src[j][i];
        }
    }

#endif
}


/*
 * The kernels, in plain C and for AVX2 and AVX-512: the same integer
 * operations, so the same bytes.  A strip on its side: t holds the
 * span's bytes (x * 3 + channel from the span's first pixel) as 16-byte
 * columns, a byte a row; o gets the kept columns likewise.
 */

static void
infer_resize_strip_generic(unsigned char *o, const unsigned char *t,
    const infer_resize_axis_t *a)
{
    int32_t                    acc[INFER_RESIZE_LANES];
    uint32_t                   xx, c, i, r;
    const int32_t             *k;
    const unsigned char       *p;
    const infer_resize_win_t  *win;

    k = a->coef;

    for (xx = 0; xx < a->count; xx++) {
        win = &a->win[xx];

        for (c = 0; c < 3; c++) {
            p = t + ((size_t) (win->first - a->lo) * 3 + c)
                    * INFER_RESIZE_LANES;

            for (r = 0; r < INFER_RESIZE_LANES; r++) {
                acc[r] = INFER_RESIZE_HALF;
            }

            for (i = 0; i < win->n; i++) {
                for (r = 0; r < INFER_RESIZE_LANES; r++) {
                    acc[r] += p[r] * k[i];
                }

                p += 3 * INFER_RESIZE_LANES;
            }

            for (r = 0; r < INFER_RESIZE_LANES; r++) {
                o[r] = infer_resize_clip(acc[r]);
            }

            o += INFER_RESIZE_LANES;
        }

        k += win->n;
    }
}


/*
 * acc += row * k.  In fixed steps, which a compiler vectorises even when
 * it would not risk a loop of unknown length (gcc's -O2), then the rest.
 */

static void
infer_resize_accumulate_generic(int32_t *restrict acc,
    const unsigned char *restrict row, int32_t k, size_t len)
{
    size_t  i, j;

    for (i = 0; i + 16 <= len; i += 16) {
        for (j = 0; j < 16; j++) {
            acc[i + j] += row[i + j] * k;
        }
    }

    for ( /* void */ ; i < len; i++) {
        acc[i] += row[i] * k;
    }
}


/* the row out of the accumulator, which starts again at half */

static void
infer_resize_store_generic(unsigned char *restrict out,
    int32_t *restrict acc, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[i] = infer_resize_clip(acc[i]);
        acc[i] = INFER_RESIZE_HALF;
    }
}


/* Pillow's clip8(): the sum's integer part, within 0..255 */

static unsigned char
infer_resize_clip(int32_t v)
{
    v = v < 0 ? 0 : v;
    v >>= INFER_RESIZE_BITS;

    return v > 255 ? 255 : (unsigned char) v;
}


#if defined(__x86_64__)

/* 16 sums of 16 rows in two vectors of 8 */

static INFER_RESIZE_AVX2 void
infer_resize_strip_avx2(unsigned char *o, const unsigned char *t,
    const infer_resize_axis_t *a)
{
    __m256i                    lo, hi, half, k;
    uint32_t                   xx, c, i;
    const int32_t             *kk;
    const unsigned char       *p;
    const infer_resize_win_t  *win;

    half = _mm256_set1_epi32(INFER_RESIZE_HALF);
    kk = a->coef;

    for (xx = 0; xx < a->count; xx++) {
        win = &a->win[xx];

        for (c = 0; c < 3; c++) {
            p = t + ((size_t) (win->first - a->lo) * 3 + c)
                    * INFER_RESIZE_LANES;
            lo = half;
            hi = half;

            for (i = 0; i < win->n; i++) {
                k = _mm256_set1_epi32(kk[i]);
                lo = _mm256_add_epi32(lo, _mm256_mullo_epi32(k,
                         _mm256_cvtepu8_epi32(
                             _mm_loadl_epi64((const __m128i *) p))));
                hi = _mm256_add_epi32(hi, _mm256_mullo_epi32(k,
                         _mm256_cvtepu8_epi32(
                             _mm_loadl_epi64((const __m128i *) (p + 8)))));
                p += 3 * INFER_RESIZE_LANES;
            }

            _mm_storeu_si128((__m128i *) o, infer_resize_clip_avx2(lo, hi));
            o += INFER_RESIZE_LANES;
        }

        kk += win->n;
    }
}


static INFER_RESIZE_AVX2 void
infer_resize_accumulate_avx2(int32_t *acc, const unsigned char *row,
    int32_t k, size_t len)
{
    size_t   i;
    __m256i  kk, v;

    kk = _mm256_set1_epi32(k);

    for (i = 0; i + 8 <= len; i += 8) {
        v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (row + i)));
        v = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *) (acc + i)),
                             _mm256_mullo_epi32(v, kk));
        _mm256_storeu_si256((__m256i *) (acc + i), v);
    }

    for ( /* void */ ; i < len; i++) {
        acc[i] += row[i] * k;
    }
}


static INFER_RESIZE_AVX2 void
infer_resize_store_avx2(unsigned char *out, int32_t *acc, size_t len)
{
    size_t   i;
    __m256i  half, lo, hi;

    half = _mm256_set1_epi32(INFER_RESIZE_HALF);

    for (i = 0; i + 16 <= len; i += 16) {
        lo = _mm256_loadu_si256((const __m256i *) (acc + i));
        hi = _mm256_loadu_si256((const __m256i *) (acc + i + 8));
        _mm_storeu_si128((__m128i *) (out + i), infer_resize_clip_avx2(lo, hi));
        _mm256_storeu_si256((__m256i *) (acc + i), half);
        _mm256_storeu_si256((__m256i *) (acc + i + 8), half);
    }

    infer_resize_store_generic(out + i, acc + i, len - i);
}


/* infer_resize_clip() of 8 + 8 sums, packed to 16 bytes in order */

static inline __attribute__((always_inline)) INFER_RESIZE_AVX2 __m128i
infer_resize_clip_avx2(__m256i lo, __m256i hi)
{
    __m256i  zero, max, w;

    zero = _mm256_setzero_si256();
    max = _mm256_set1_epi32(255);

    lo = _mm256_min_epi32(_mm256_srai_epi32(_mm256_max_epi32(lo, zero),
                                            INFER_RESIZE_BITS), max);
    hi = _mm256_min_epi32(_mm256_srai_epi32(_mm256_max_epi32(hi, zero),
                                            INFER_RESIZE_BITS), max);

    /* lo 0-3 hi 0-3 | lo 4-7 hi 4-7, put back in order */

    w = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xd8);

    return _mm_packus_epi16(_mm256_castsi256_si128(w),
                            _mm256_extracti128_si256(w, 1));
}


/* 16 sums of 16 rows in one vector */

static INFER_RESIZE_AVX512 void
infer_resize_strip_avx512(unsigned char *o, const unsigned char *t,
    const infer_resize_axis_t *a)
{
    __m512i                    acc, half;
    uint32_t                   xx, c, i;
    const int32_t             *k;
    const unsigned char       *p;
    const infer_resize_win_t  *win;

    half = _mm512_set1_epi32(INFER_RESIZE_HALF);
    k = a->coef;

    for (xx = 0; xx < a->count; xx++) {
        win = &a->win[xx];

        for (c = 0; c < 3; c++) {
            p = t + ((size_t) (win->first - a->lo) * 3 + c)
                    * INFER_RESIZE_LANES;
            acc = half;

            for (i = 0; i < win->n; i++) {
                acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(
                          _mm512_set1_epi32(k[i]),
                          _mm512_cvtepu8_epi32(
                              _mm_loadu_si128((const __m128i *) p))));
                p += 3 * INFER_RESIZE_LANES;
            }

            _mm_storeu_si128((__m128i *) o, infer_resize_clip_avx512(acc));
            o += INFER_RESIZE_LANES;
        }

        k += win->n;
    }
}


static INFER_RESIZE_AVX512 void
infer_resize_accumulate_avx512(int32_t *acc, const unsigned char *row,
    int32_t k, size_t len)
{
    size_t   i;
    __m512i  kk, v;

    kk = _mm512_set1_epi32(k);

    for (i = 0; i + 16 <= len; i += 16) {
        v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (row + i)));
        v = _mm512_add_epi32(_mm512_loadu_si512(acc + i),
                             _mm512_mullo_epi32(v, kk));
        _mm512_storeu_si512(acc + i, v);
    }

    for ( /* void */ ; i < len; i++) {
        acc[i] += row[i] * k;
    }
}


static INFER_RESIZE_AVX512 void
infer_resize_store_avx512(unsigned char *out, int32_t *acc, size_t len)
{
    size_t   i;
    __m512i  half;

    half = _mm512_set1_epi32(INFER_RESIZE_HALF);

    for (i = 0; i + 16 <= len; i += 16) {
        _mm_storeu_si128((__m128i *) (out + i),
                         infer_resize_clip_avx512(
                             _mm512_loadu_si512(acc + i)));
        _mm512_storeu_si512(acc + i, half);
    }

    infer_resize_store_generic(out + i, acc + i, len - i);
}


static inline __attribute__((always_inline)) INFER_RESIZE_AVX512 __m128i
infer_resize_clip_avx512(__m512i v)
{
    v = _mm512_max_epi32(v, _mm512_setzero_si512());
    v = _mm512_min_epi32(_mm512_srai_epi32(v, INFER_RESIZE_BITS),
                         _mm512_set1_epi32(255));

    return _mm512_cvtepi32_epi8(v);
}

#endif


/*
 * The widest set the CPU has; a test build may cap it with
 * -DINFER_IMAGE_ISA=0 (plain C) or 1 (AVX2) to check the others
 */

static const infer_resize_kernels_t *
infer_resize_kernels(void)
{
    int  isa;

    static const infer_resize_kernels_t  kernels[] = {
        { infer_resize_strip_generic, infer_resize_accumulate_generic,
          infer_resize_store_generic },
#if defined(__x86_64__)
        { infer_resize_strip_avx2, infer_resize_accumulate_avx2,
          infer_resize_store_avx2 },
        { infer_resize_strip_avx512, infer_resize_accumulate_avx512,
          infer_resize_store_avx512 }
#endif
    };

    isa = 0;

#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        isa = 2;

    } else if (__builtin_cpu_supports("avx2")) {
        isa = 1;
    }
#endif

#if defined(INFER_IMAGE_ISA)
    isa = isa < INFER_IMAGE_ISA ? isa : INFER_IMAGE_ISA;
#endif

    return &kernels[isa];
}
