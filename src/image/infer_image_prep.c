/*
 * The preprocessing chain, as torchvision 0.14 does it to a PIL image:
 *
 *   Resize(resize) -> CenterCrop((height, width)) -> ToTensor
 *   -> Normalize(mean, std)
 *
 * or, with resize 0, Resize((height, width)) and no crop.  The crop is
 * fused into the resize: infer_image_resize() computes the kept window
 * only, which gives the same pixels as Pillow's whole image cropped after
 * (an output pixel depends on its own input window only), and none when
 * the size does not change (torchvision then returns the image as is).
 *
 * ToTensor divides by 255 in float32 (a true division: torch's div(255)
 * on the CPU is not a multiplication by a reciprocal, which differs for
 * 126 of the 256 values), Normalize subtracts the mean and divides by std
 * in float32: a byte has 256 values, so a table per channel computed
 * with those very operations gives torch's floats to the bit.
 */

#include <stdint.h>

#include "infer_image.h"
#include "infer_image_resize.h"


typedef struct {
    uint32_t                 rw;             /* the resized image */
    uint32_t                 rh;
    uint32_t                 x0;             /* the crop in it */
    uint32_t                 y0;
    uint32_t                 cw;
    uint32_t                 ch;
    int                      resized;        /* rw x rh is not w x h */
} infer_prep_geom_t;



static int infer_prep_geometry(const infer_image_prep_t *p, uint32_t w,
    uint32_t h, infer_prep_geom_t *g);
static uint32_t infer_prep_center(uint32_t d);
static void infer_prep_normalize(const infer_image_prep_t *p,
    const unsigned char *src, size_t stride, uint32_t cw, uint32_t ch,
    float *x);


void
infer_image_resized_size(const infer_image_prep_t *p, uint32_t w,
    uint32_t h, uint32_t *rw, uint32_t *rh)
{
    double    l;
    uint32_t  s, shrt, lng;

    if (p->resize == 0) {
        *rw = p->width;
        *rh = p->height;
        return;
    }

    s = p->resize;

    if (w == 0 || h == 0) {
        *rw = 0;
        *rh = 0;
        return;
    }

    shrt = w <= h ? w : h;
    lng = w <= h ? h : w;

    /*
     * int(s * long / short): Python divides the exact product in double
     * and truncates; below 2^53 a double holds the product exactly
     */

    l = (double) ((uint64_t) s * lng) / shrt;
    lng = l < 4294967295.0 ? (uint32_t) l : UINT32_MAX;

    *rw = w <= h ? s : lng;
    *rh = w <= h ? lng : s;
}


size_t
infer_image_prep_scratch(const infer_image_prep_t *p, uint32_t w,
    uint32_t h)
{
    infer_prep_geom_t  g;

    if (infer_prep_geometry(p, w, h, &g) != INFER_OK || !g.resized) {
        return 0;
    }

    /* the resizer's, then the resized crop (bytes, aligned after words) */

    return infer_image_resize_scratch(w, h, g.rw, g.rh, g.x0, g.y0, g.cw,
                                      g.ch)
           + (size_t) g.cw * g.ch * 3;
}


int
infer_image_preprocess(const infer_image_prep_t *p,
    const unsigned char *rgb, uint32_t w, uint32_t h, void *scratch,
    float *x)
{
    size_t              rs;
    unsigned char      *out;
    infer_prep_geom_t   g;

    if (infer_prep_geometry(p, w, h, &g) != INFER_OK) {
        return INFER_EINVAL;
    }

    if (!g.resized) {
        infer_prep_normalize(p, rgb + ((size_t) g.y0 * w + g.x0) * 3,
                             (size_t) w * 3, g.cw, g.ch, x);
        return INFER_OK;
    }

    rs = infer_image_resize_scratch(w, h, g.rw, g.rh, g.x0, g.y0, g.cw,
                                    g.ch);
    out = (unsigned char *) scratch + rs;

    infer_image_resize(rgb, w, h, g.rw, g.rh, g.x0, g.y0, g.cw, g.ch,
                       scratch, out);

    infer_prep_normalize(p, out, (size_t) g.cw * 3, g.cw, g.ch, x);

    return INFER_OK;
}


/* the resized size and the crop in it; a crop larger than it is refused */

static int
infer_prep_geometry(const infer_image_prep_t *p, uint32_t w, uint32_t h,
    infer_prep_geom_t *g)
{
    if (w == 0 || h == 0 || p->width == 0 || p->height == 0
        || (p->layout != INFER_IMAGE_NCHW && p->layout != INFER_IMAGE_NHWC))
    {
        return INFER_EINVAL;
    }

    infer_image_resized_size(p, w, h, &g->rw, &g->rh);

    /* Pillow's sizes are C ints */

    if (g->rw > INT32_MAX || g->rh > INT32_MAX
        || p->width > g->rw || p->height > g->rh)
    {
        return INFER_EINVAL;
    }

    g->cw = p->width;
    g->ch = p->height;
    g->x0 = infer_prep_center(g->rw - g->cw);
    g->y0 = infer_prep_center(g->rh - g->ch);
    g->resized = (g->rw != w || g->rh != h);

    return INFER_OK;
}


/* int(round(d / 2.0)): Python rounds a half to even (5 / 2 to 2, 3 / 2 to 2) */

static uint32_t
infer_prep_center(uint32_t d)
{
    uint32_t  q;

    q = d >> 1;

    return (d & 1) ? q + (q & 1) : q;
}


/* the crop (rows stride bytes apart) through the tables into x */

static void
infer_prep_normalize(const infer_image_prep_t *p, const unsigned char *src,
    size_t stride, uint32_t cw, uint32_t ch, float *x)
{
    float                 lut[3][256];
    float                *r, *g, *b;
    size_t                plane;
    unsigned              c, v;
    uint32_t              yy, xx;
    const unsigned char  *s;

    for (c = 0; c < 3; c++) {
        for (v = 0; v < 256; v++) {
            lut[c][v] = ((float) v / 255.0f - p->mean[c]) / p->std[c];
        }
    }

    if (p->layout == INFER_IMAGE_NHWC) {
        for (yy = 0; yy < ch; yy++) {
            s = src + yy * stride;

            for (xx = 0; xx < cw; xx++) {
                x[0] = lut[0][s[0]];
                x[1] = lut[1][s[1]];
                x[2] = lut[2][s[2]];
                x += 3;
                s += 3;
            }
        }

        return;
    }

    plane = (size_t) cw * ch;
    r = x;
    g = x + plane;
    b = x + 2 * plane;

    for (yy = 0; yy < ch; yy++) {
        s = src + yy * stride;

        for (xx = 0; xx < cw; xx++) {
            *r++ = lut[0][s[0]];
            *g++ = lut[1][s[1]];
            *b++ = lut[2][s[2]];
            s += 3;
        }
    }
}
