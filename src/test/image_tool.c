/*
 * An image through the module's decoding and preprocessing, the tensor
 * written as raw floats (for t/images/parity.py, which compares it with
 * PIL + torchvision's):
 *
 *   image_tool [-r N] FILE WxH RESIZE LAYOUT M0,M1,M2 S0,S1,S2 OUT.f32
 *              [SRCWxSRCH]
 *
 * FILE is a JPEG or PNG (its type sniffed), or raw interleaved RGB8 when
 * it ends in .rgb, whose size SRCWxSRCH then gives.  WxH is the tensor's,
 * RESIZE the short side before the centre crop (0: resize to WxH), LAYOUT
 * nchw or nhwc, then the means and standard deviations.  -r N decodes and
 * preprocesses N times and prints the best time of each to stderr.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer_image.h"


static unsigned char *image_tool_read(const char *path, size_t *len);
static int image_tool_size(const char *s, uint32_t *w, uint32_t *h);
static int image_tool_floats(const char *s, float *f);
static double image_tool_now(void);
static int image_tool_usage(void);


int
main(int argc, char **argv)
{
    int                   i, n, raw, rc;
    void                 *scratch;
    float                *x;
    FILE                 *f;
    size_t                len, plen, nx;
    double                t0, t1, t2, best_dec, best_prep;
    uint32_t              w, h;
    const char           *file;
    unsigned char        *data, *rgb;
    infer_image_info_t    info;
    infer_image_prep_t    prep;
    infer_image_error_t   e;

    n = 1;

    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        n = atoi(argv[2]);
        argc -= 2;
        argv += 2;

        if (n < 1) {
            return image_tool_usage();
        }
    }

    if (argc < 8) {
        return image_tool_usage();
    }

    file = argv[1];
    len = strlen(file);
    raw = (len > 4 && strcmp(file + len - 4, ".rgb") == 0);

    memset(&prep, 0, sizeof(infer_image_prep_t));
    prep.resize = (uint32_t) strtoul(argv[3], NULL, 10);

    if (image_tool_size(argv[2], &prep.width, &prep.height) != 0
        || image_tool_floats(argv[5], prep.mean) != 0
        || image_tool_floats(argv[6], prep.std) != 0
        || (raw && (argc < 9 || image_tool_size(argv[8], &w, &h) != 0)))
    {
        return image_tool_usage();
    }

    if (strcmp(argv[4], "nchw") == 0) {
        prep.layout = INFER_IMAGE_NCHW;

    } else if (strcmp(argv[4], "nhwc") == 0) {
        prep.layout = INFER_IMAGE_NHWC;

    } else {
        return image_tool_usage();
    }

    data = image_tool_read(file, &len);
    if (data == NULL) {
        fprintf(stderr, "image_tool: cannot read %s\n", file);
        return 1;
    }

    if (!raw) {
        if (infer_image_header(data, len, INFER_IMAGE_NONE,
                               (uint64_t) 1 << 26, &info, &e)
            != INFER_OK)
        {
            fprintf(stderr, "image_tool: %s: %s: %s\n", file,
                    infer_image_reason_name(e.reason), e.msg);
            return 1;
        }

        w = info.width;
        h = info.height;

    } else if (len != (size_t) w * h * 3) {
        fprintf(stderr, "image_tool: %s: %zu bytes, not %ux%ux3\n", file,
                len, w, h);
        return 1;
    }

    rgb = raw ? data : malloc((size_t) w * h * 3);
    plen = infer_image_prep_scratch(&prep, w, h);
    scratch = malloc(plen ? plen : 1);
    nx = (size_t) prep.width * prep.height * 3;
    x = malloc(nx * sizeof(float));

    if (rgb == NULL || scratch == NULL || x == NULL) {
        fprintf(stderr, "image_tool: out of memory\n");
        return 1;
    }

    best_dec = 1e30;
    best_prep = 1e30;

    for (i = 0; i < n; i++) {
        t0 = image_tool_now();

        if (!raw) {
            if (infer_image_decode(data, len, &info, rgb, &e) != INFER_OK) {
                fprintf(stderr, "image_tool: %s: %s: %s\n", file,
                        infer_image_reason_name(e.reason), e.msg);
                return 1;
            }
        }

        t1 = image_tool_now();

        rc = infer_image_preprocess(&prep, rgb, w, h, scratch, x);
        if (rc != INFER_OK) {
            fprintf(stderr, "image_tool: preprocess %ux%u: %d\n", w, h, rc);
            return 1;
        }

        t2 = image_tool_now();

        best_dec = t1 - t0 < best_dec ? t1 - t0 : best_dec;
        best_prep = t2 - t1 < best_prep ? t2 - t1 : best_prep;
    }

    if (n > 1) {
        fprintf(stderr, "image_tool: %ux%u: decode %.1f us, preprocess "
                "%.1f us (best of %d)\n", w, h, best_dec * 1e6,
                best_prep * 1e6, n);
    }

    f = fopen(argv[7], "wb");
    if (f == NULL || fwrite(x, sizeof(float), nx, f) != nx
        || fclose(f) != 0)
    {
        fprintf(stderr, "image_tool: cannot write %s\n", argv[7]);
        return 1;
    }

    if (!raw) {
        free(rgb);
    }

    free(data);
    free(scratch);
    free(x);

    return 0;
}


static unsigned char *
image_tool_read(const char *path, size_t *len)
{
    long            size;
    FILE           *f;
    unsigned char  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    p = NULL;

    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0)
    {
        p = malloc(size ? size : 1);
        if (p != NULL && fread(p, 1, size, f) != (size_t) size) {
            free(p);
            p = NULL;
        }

        *len = (size_t) size;
    }

    fclose(f);

    return p;
}


/* "WxH" */

static int
image_tool_size(const char *s, uint32_t *w, uint32_t *h)
{
    char           *end;
    unsigned long   a, b;

    a = strtoul(s, &end, 10);
    if (end == s || *end != 'x') {
        return -1;
    }

    s = end + 1;
    b = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || a == 0 || b == 0
        || a > UINT32_MAX || b > UINT32_MAX)
    {
        return -1;
    }

    *w = (uint32_t) a;
    *h = (uint32_t) b;

    return 0;
}


/*
 * "a,b,c": read as doubles then rounded to float, as torch.as_tensor()
 * rounds Python's floats (reading the text as a float straight away
 * could round differently)
 */

static int
image_tool_floats(const char *s, float *f)
{
    int    i;
    char  *end;

    for (i = 0; i < 3; i++) {
        f[i] = (float) strtod(s, &end);

        if (end == s || *end != (i < 2 ? ',' : '\0')) {
            return -1;
        }

        s = end + 1;
    }

    return 0;
}


static double
image_tool_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
image_tool_usage(void)
{
    fprintf(stderr, "usage: image_tool [-r N] FILE WxH RESIZE nchw|nhwc "
            "M0,M1,M2 S0,S1,S2 OUT.f32 [SRCWxSRCH for FILE.rgb]\n");

    return 2;
}
