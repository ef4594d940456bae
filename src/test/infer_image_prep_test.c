#include <stdint.h>
#include <stdlib.h>

#include "infer_image.h"
#include "infer_unit_test.h"


static void infer_test_prep_sizes(void);
static void infer_test_prep_crop(void);
static void infer_test_prep_identity(void);
static void infer_test_prep_small(void);
static void infer_test_prep_fused(void);
static void infer_test_prep_hashed(void);
static void infer_test_prep_layouts(void);
static void infer_test_prep_errors(void);
static int infer_test_prep_run(const infer_image_prep_t *p,
    const unsigned char *rgb, uint32_t w, uint32_t h, float *x);
static void infer_test_prep_init(infer_image_prep_t *p, uint32_t width,
    uint32_t height, uint32_t resize);
static int infer_test_prep_bytes(const float *x, const unsigned char *v,
    size_t n);


/* 5 x 3 RGB, random */
static const unsigned char  infer_test_prep_src[] = {
    168, 229, 184, 171, 238, 171, 20, 206, 245, 153, 204, 5, 37, 53, 213,
    206, 192, 173, 6, 120, 63, 96, 236, 131, 118, 4, 87, 161, 124, 71,
    42, 73, 237, 16, 194, 250, 10, 103, 206, 13, 143, 2, 38, 71, 133
};


void
infer_test_image_prep(void)
{
    infer_test_prep_sizes();
    infer_test_prep_crop();
    infer_test_prep_identity();
    infer_test_prep_small();
    infer_test_prep_fused();
    infer_test_prep_hashed();
    infer_test_prep_layouts();
    infer_test_prep_errors();
}


/* torchvision's Resize(int): the short side to s, the long truncated */

static void
infer_test_prep_sizes(void)
{
    uint32_t            rw, rh;
    infer_image_prep_t  p;

    infer_test_prep_init(&p, 224, 224, 256);

    infer_image_resized_size(&p, 640, 480, &rw, &rh);
    CHECK(rw == 341 && rh == 256);                  /* 341.33 */

    infer_image_resized_size(&p, 480, 640, &rw, &rh);
    CHECK(rw == 256 && rh == 341);

    infer_image_resized_size(&p, 1000, 300, &rw, &rh);
    CHECK(rw == 853 && rh == 256);                  /* 853.33 */

    infer_image_resized_size(&p, 31, 17, &rw, &rh);
    CHECK(rw == 466 && rh == 256);                  /* 466.82, upscaled */

    infer_image_resized_size(&p, 256, 256, &rw, &rh);
    CHECK(rw == 256 && rh == 256);

    infer_image_resized_size(&p, 300, 400, &rw, &rh);
    CHECK(rw == 256 && rh == 341);                  /* 341.33 */

    infer_image_resized_size(&p, 768, 512, &rw, &rh);
    CHECK(rw == 384 && rh == 256);                  /* exact */

    /* 0: both sides to the tensor's, the aspect not kept */

    infer_test_prep_init(&p, 32, 24, 0);
    infer_image_resized_size(&p, 640, 480, &rw, &rh);
    CHECK(rw == 32 && rh == 24);

    /* the scratch: none when nothing is resized */

    infer_test_prep_init(&p, 224, 224, 256);
    CHECK(infer_image_prep_scratch(&p, 256, 300) == 0);
    CHECK(infer_image_prep_scratch(&p, 640, 480) > 224 * 224 * 3);
    CHECK(infer_image_prep_scratch(&p, 200, 200) > 224 * 224 * 3);
}


/*
 * The centre crop's offset is int(round(d / 2.0)), a half to even: an
 * image whose short side is already the resize is not resized, and its
 * red is its column, its green its row: the tensor's first pixel says
 * where the crop began
 */

static void
infer_test_prep_crop(void)
{
    float               x[10 * 10 * 3];
    uint32_t            i, j;
    unsigned char       rgb[10 * 8 * 3];
    infer_image_prep_t  p;

    static const uint32_t  crop[][2] = {
        { 9, 0 }, { 8, 1 }, { 7, 2 }, { 6, 2 }, { 5, 2 }, { 4, 3 },
        { 3, 4 }, { 1, 4 }                  /* d 9: 4.5 to 4 */
    };

    /* 10 x 8 across, then 8 x 10 standing */

    for (i = 0; i < 8; i++) {
        for (j = 0; j < 10; j++) {
            rgb[(i * 10 + j) * 3] = (unsigned char) j;
            rgb[(i * 10 + j) * 3 + 1] = (unsigned char) i;
            rgb[(i * 10 + j) * 3 + 2] = 0;
        }
    }

    for (i = 0; i < sizeof(crop) / sizeof(crop[0]); i++) {
        infer_test_prep_init(&p, crop[i][0], 8, 8);
        CHECK(infer_test_prep_run(&p, rgb, 10, 8, x) == INFER_OK);
        CHECK(x[0] == (float) crop[i][1] / 255.0f);
        CHECK(x[crop[i][0] * 8] == 0.0f);           /* green: row 0 */
    }

    for (i = 0; i < 10; i++) {
        for (j = 0; j < 8; j++) {
            rgb[(i * 8 + j) * 3] = (unsigned char) j;
            rgb[(i * 8 + j) * 3 + 1] = (unsigned char) i;
            rgb[(i * 8 + j) * 3 + 2] = 0;
        }
    }

    for (i = 0; i < sizeof(crop) / sizeof(crop[0]); i++) {
        infer_test_prep_init(&p, 8, crop[i][0], 8);
        CHECK(infer_test_prep_run(&p, rgb, 8, 10, x) == INFER_OK);
        CHECK(x[0] == 0.0f);
        CHECK(x[crop[i][0] * 8] == (float) crop[i][1] / 255.0f);
    }
}


/*
 * No resize: ToTensor and ImageNet's Normalize, to torch's float32 bits
 * (values printed by torch 1.13 for bytes 0, 1, 128, 254, 255)
 */

static void
infer_test_prep_identity(void)
{
    float               x[15];
    unsigned            c, i;
    unsigned char       rgb[15];
    infer_image_prep_t  p;

    static const unsigned char  v[5] = { 0, 1, 128, 254, 255 };

    static const float  want[3][5] = {
        { -0x1.0f177ap+1f, -0x1.0ce656p+1f, 0x1.2f5e64p-4f,
          0x1.1dab14p+1f, 0x1.1fdc3ap+1f },
        { -0x1.049248p+1f, -0x1.02549ep+1f, 0x1.a4369p-3f,
          0x1.349dcp+1f, 0x1.36db6ep+1f },
        { -0x1.cdf012p+0f, -0x1.c979d4p+0f, 0x1.b4ba78p-2f,
          0x1.4fb068p+1f, 0x1.51eb86p+1f }
    };

    for (i = 0; i < 5; i++) {
        rgb[i * 3] = v[i];
        rgb[i * 3 + 1] = v[i];
        rgb[i * 3 + 2] = v[i];
    }

    infer_test_prep_init(&p, 5, 1, 0);
    p.mean[0] = 0.485f;
    p.mean[1] = 0.456f;
    p.mean[2] = 0.406f;
    p.std[0] = 0.229f;
    p.std[1] = 0.224f;
    p.std[2] = 0.225f;

    CHECK(infer_image_prep_scratch(&p, 5, 1) == 0);
    CHECK(infer_image_preprocess(&p, rgb, 5, 1, NULL, x) == INFER_OK);

    for (c = 0; c < 3; c++) {
        for (i = 0; i < 5; i++) {
            CHECK(x[c * 5 + i] == want[c][i]);
        }
    }
}


/* small resizes, by hand and by Pillow 9.4 */

static void
infer_test_prep_small(void)
{
    float               x[7 * 4 * 3];
    infer_image_prep_t  p;

    /*
     * 4 -> 2: scale 2, the triangle widened to 2; output 0's centre is
     * 1.0, its window pixels 0..2, weights 0.75 0.75 0.25 normalised to
     * 3/7 3/7 1/7: 1797559 1797559 599186 in 22 bits.  Red 10 20 200 255:
     * (2^21 + 1797559 * 30 + 599186 * 200) >> 22 = 41, and the mirror
     * (2^21 + 599186 * 20 + 1797559 * 455) >> 22 = 198
     */

    static const unsigned char  in4[12] = {
        10, 0, 255, 20, 0, 255, 200, 0, 255, 255, 0, 255
    };
    static const unsigned char  out2[6] = { 41, 0, 255, 198, 0, 255 };

    /* infer_test_prep_src resized by Pillow */

    static const unsigned char  out3x2[] = {
        151, 206, 159, 82, 193, 149, 108, 101, 107, 64, 139, 199, 38, 142,
        146, 71, 91, 77
    };
    static const unsigned char  out7x4[] = {
        168, 229, 184, 170, 234, 177, 128, 229, 192, 20, 206, 245, 115,
        205, 74, 103, 139, 94, 37, 53, 213, 192, 206, 177, 121, 182, 135,
        68, 182, 123, 68, 225, 174, 113, 121, 90, 124, 87, 85, 115, 97,
        124, 145, 147, 197, 68, 148, 160, 25, 159, 140, 64, 186, 159, 75,
        93, 85, 94, 76, 72, 115, 104, 94, 42, 73, 237, 27, 142, 244, 14,
        168, 237, 10, 103, 206, 12, 132, 60, 24, 112, 58, 38, 71, 133
    };
    static const unsigned char  out2x3[] = {
        135, 226, 184, 87, 158, 133, 95, 164, 115, 122, 100, 91, 23, 133,
        225, 20, 113, 101
    };
    static const unsigned char  out5x1[] = {
        148, 169, 194, 56, 175, 147, 50, 189, 185, 98, 101, 39, 90, 89, 129
    };

    infer_test_prep_init(&p, 2, 1, 0);
    p.layout = INFER_IMAGE_NHWC;
    CHECK(infer_test_prep_run(&p, in4, 4, 1, x) == INFER_OK);
    CHECK(infer_test_prep_bytes(x, out2, 6));

    infer_test_prep_init(&p, 3, 2, 0);
    p.layout = INFER_IMAGE_NHWC;
    CHECK(infer_test_prep_run(&p, infer_test_prep_src, 5, 3, x) == INFER_OK);
    CHECK(infer_test_prep_bytes(x, out3x2, sizeof(out3x2)));

    infer_test_prep_init(&p, 7, 4, 0);
    p.layout = INFER_IMAGE_NHWC;
    CHECK(infer_test_prep_run(&p, infer_test_prep_src, 5, 3, x) == INFER_OK);
    CHECK(infer_test_prep_bytes(x, out7x4, sizeof(out7x4)));

    infer_test_prep_init(&p, 2, 3, 0);          /* the width only */
    p.layout = INFER_IMAGE_NHWC;
    CHECK(infer_test_prep_run(&p, infer_test_prep_src, 5, 3, x) == INFER_OK);
    CHECK(infer_test_prep_bytes(x, out2x3, sizeof(out2x3)));

    infer_test_prep_init(&p, 5, 1, 0);          /* the height only */
    p.layout = INFER_IMAGE_NHWC;
    CHECK(infer_test_prep_run(&p, infer_test_prep_src, 5, 3, x) == INFER_OK);
    CHECK(infer_test_prep_bytes(x, out5x1, sizeof(out5x1)));
}


/*
 * The crop resampled alone equals the whole resize cropped, whichever
 * sides change: shrinking a lot, a little, upscaling
 */

static void
infer_test_prep_fused(void)
{
    int                  ok;
    float               *whole, *crop;
    size_t               i, n;
    uint32_t             k, c, yy, xx, rw, rh, x0, y0;
    unsigned char       *rgb;
    infer_image_prep_t   p, q;

    static const uint32_t  cases[][5] = {
        /* w, h, resize, crop width, crop height */
        { 640, 480, 256, 224, 224 },
        { 300, 1000, 256, 224, 200 },
        { 260, 250, 256, 224, 224 },
        { 31, 17, 64, 50, 60 },
        { 640, 1000, 64, 50, 60 }
    };

    n = 640 * 1000 * 3;
    rgb = malloc(n);
    whole = malloc(1000 * 1000 * 3 * sizeof(float));
    crop = malloc(224 * 224 * 3 * sizeof(float));

    if (rgb == NULL || whole == NULL || crop == NULL) {
        CHECK(0);
        goto done;
    }

    srand(5);

    for (i = 0; i < n; i++) {
        rgb[i] = (unsigned char) (rand() >> 7);
    }

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        infer_test_prep_init(&p, cases[k][3], cases[k][4], cases[k][2]);
        infer_image_resized_size(&p, cases[k][0], cases[k][1], &rw, &rh);
        infer_test_prep_init(&q, rw, rh, 0);

        CHECK(infer_test_prep_run(&p, rgb, cases[k][0], cases[k][1], crop)
              == INFER_OK);
        CHECK(infer_test_prep_run(&q, rgb, cases[k][0], cases[k][1], whole)
              == INFER_OK);

        x0 = (rw - p.width) / 2;        /* 58.5, 326.5: to even, down */
        y0 = (rh - p.height) / 2;
        ok = 1;

        for (c = 0; c < 3; c++) {
            for (yy = 0; yy < p.height; yy++) {
                for (xx = 0; xx < p.width; xx++) {
                    ok &= crop[(c * p.height + yy) * p.width + xx]
                          == whole[(c * rh + y0 + yy) * rw + x0 + xx];
                }
            }
        }

        CHECK(ok);
    }

done:

    free(rgb);
    free(whole);
    free(crop);
}


/*
 * Larger resizes, whole, by Pillow 9.4: the FNV-1a hash of its bytes
 * (each side alone, both; strips of 16 rows and a part of one)
 */

static void
infer_test_prep_hashed(void)
{
    float               *x;
    uint32_t             k, i, hash, v, yy, xx, c, w, h;
    unsigned char       *rgb;
    infer_image_prep_t   p;

    static const uint32_t  cases[][5] = {
        /* w, h, to w, to h, hash */
        { 97, 40, 50, 40, 0xe869ce1d },         /* the width only */
        { 40, 97, 40, 50, 0x61c994ea },         /* the height only */
        { 300, 200, 123, 77, 0xf5c17233 },
        { 37, 23, 200, 90, 0x3e374b5c }
    };

    rgb = malloc(300 * 200 * 3);
    x = malloc(200 * 90 * 3 * sizeof(float));

    if (rgb == NULL || x == NULL) {
        CHECK(0);
        goto done;
    }

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        w = cases[k][0];
        h = cases[k][1];

        /* some texture: (7x + 13y + 101c + 11 (xy mod 17)) mod 256 */

        for (yy = 0; yy < h; yy++) {
            for (xx = 0; xx < w; xx++) {
                for (c = 0; c < 3; c++) {
                    rgb[(yy * w + xx) * 3 + c] = (unsigned char)
                        (xx * 7 + yy * 13 + c * 101 + (xx * yy) % 17 * 11);
                }
            }
        }

        infer_test_prep_init(&p, cases[k][2], cases[k][3], 0);
        p.layout = INFER_IMAGE_NHWC;
        CHECK(infer_test_prep_run(&p, rgb, w, h, x) == INFER_OK);

        hash = 2166136261u;

        for (i = 0; i < cases[k][2] * cases[k][3] * 3; i++) {
            v = (uint32_t) (x[i] * 255.0f + 0.5f);
            hash = (hash ^ v) * 16777619u;
        }

        CHECK(hash == cases[k][4]);
    }

done:

    free(rgb);
    free(x);
}


/* NHWC is NCHW transposed */

static void
infer_test_prep_layouts(void)
{
    int                 ok;
    float               a[9 * 6 * 3], b[9 * 6 * 3];
    uint32_t            c, i;
    infer_image_prep_t  p;

    infer_test_prep_init(&p, 9, 6, 6);
    p.mean[1] = 0.5f;
    p.std[2] = 0.25f;

    CHECK(infer_test_prep_run(&p, infer_test_prep_src, 5, 3, a) == INFER_OK);
    p.layout = INFER_IMAGE_NHWC;
    CHECK(infer_test_prep_run(&p, infer_test_prep_src, 5, 3, b) == INFER_OK);

    ok = 1;

    for (c = 0; c < 3; c++) {
        for (i = 0; i < 9 * 6; i++) {
            ok &= a[c * 9 * 6 + i] == b[i * 3 + c];
        }
    }

    CHECK(ok);
}


static void
infer_test_prep_errors(void)
{
    float               x[3];
    unsigned char       rgb[3] = { 1, 2, 3 };
    infer_image_prep_t  p;

    /* a crop wider than the resized image (torchvision would pad) */

    infer_test_prep_init(&p, 300, 224, 256);
    CHECK(infer_image_prep_scratch(&p, 256, 256) == 0);
    CHECK(infer_image_preprocess(&p, rgb, 256, 256, NULL, x)
          == INFER_EINVAL);

    infer_test_prep_init(&p, 1, 1, 0);
    CHECK(infer_image_preprocess(&p, rgb, 0, 1, NULL, x) == INFER_EINVAL);
    CHECK(infer_image_preprocess(&p, rgb, 1, 0, NULL, x) == INFER_EINVAL);

    p.layout = (infer_image_layout_e) 7;
    CHECK(infer_image_preprocess(&p, rgb, 1, 1, NULL, x) == INFER_EINVAL);

    /* a long side of 2^34 does not fit Pillow's int */

    infer_test_prep_init(&p, 224, 224, 256);
    CHECK(infer_image_preprocess(&p, rgb, 1 << 26, 1, NULL, x)
          == INFER_EINVAL);

    /* 1 x 1 as it is */

    infer_test_prep_init(&p, 1, 1, 0);
    CHECK(infer_image_preprocess(&p, rgb, 1, 1, NULL, x) == INFER_OK);
    CHECK(x[0] == 1.0f / 255.0f && x[2] == 3.0f / 255.0f);
}


/* with a scratch of exactly the size asked for, so that ASan sees past it */

static int
infer_test_prep_run(const infer_image_prep_t *p, const unsigned char *rgb,
    uint32_t w, uint32_t h, float *x)
{
    int     rc;
    void   *scratch;
    size_t  size;

    size = infer_image_prep_scratch(p, w, h);
    scratch = size ? malloc(size) : NULL;

    if (size && scratch == NULL) {
        return INFER_ERROR;
    }

    rc = infer_image_preprocess(p, rgb, w, h, scratch, x);
    free(scratch);

    return rc;
}


/* NCHW, mean 0 and std 1: ToTensor's bytes / 255 */

static void
infer_test_prep_init(infer_image_prep_t *p, uint32_t width, uint32_t height,
    uint32_t resize)
{
    unsigned  c;

    p->width = width;
    p->height = height;
    p->resize = resize;
    p->layout = INFER_IMAGE_NCHW;

    for (c = 0; c < 3; c++) {
        p->mean[c] = 0.0f;
        p->std[c] = 1.0f;
    }
}


static int
infer_test_prep_bytes(const float *x, const unsigned char *v, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (x[i] != (float) v[i] / 255.0f) {
            printf("# byte %zu: %g, not %u\n", i, x[i] * 255.0, v[i]);
            return 0;
        }
    }

    return 1;
}
