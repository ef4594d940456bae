/*
 * The image path alone: one thread, no nginx.  A JPEG's bytes through
 * infer_image_header(), infer_image_decode() and infer_image_preprocess()
 * (Resize(256), CenterCrop(224), ImageNet's mean and std, NCHW) into
 * ResNet-18's input, and ResNet-18 on it.  bench/image_baseline.py times
 * the same with PIL, torchvision and torch; bench/image.sh puts the two
 * side by side.
 *
 *   /usr/bin/python3 bench/image_baseline.py --make build/bench/image
 *   make build/bench/image_bench
 *   taskset -c 1 build/bench/image_bench build/bench/image \
 *       build/bench/onnx [OUT]
 *
 * DIR holds bench224.jpg and photo500x375.jpg, MODELS
 * t/models/gen_onnx.py --bench's models (bench_resnet18.onnx).  The
 * cases, for each picture NAME:
 *
 *   decode_NAME       header and decode: bytes to RGB, the buffer
 *                     allocated and freed as a request's would be
 *   prep_NAME         preprocess: the decoded RGB to the tensor, the
 *                     scratch allocated and freed
 *   decode_prep_NAME  both
 *
 * and resnet18 (the model on the photo's tensor) and pipeline (the
 * photo's bytes to ResNet-18's outputs).
 *
 * Times are the process's CPU time, measured as bench/onnx_bench.c does:
 * after a warm-up that also sizes a chunk of calls to about 10 ms, each of
 * 7 rounds runs chunks for at least 0.25 s; a figure is the median of the
 * rounds' times per call, printed with the fastest and the slowest.
 *
 * With OUT (what image_baseline.py writes there: NAME.x.f32, torchvision's
 * tensor of each picture, and resnet18.y.f32, torch's outputs for the
 * photo's), each picture's tensor is checked against torchvision's (every
 * value within 1e-5: float rounding, far below one level of a pixel,
 * 1/255/std = 0.017), and ResNet-18 on torchvision's tensor against
 * torch's outputs (1e-4 + 1e-4 * |torch's|).  The timings run either way;
 * the exit status is 1 when a check failed.
 */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer_image.h"
#include "infer_model.h"
#include "infer_onnx.h"


#define BENCH_ROUNDS          7
#define BENCH_ROUND_SECONDS   0.25
#define BENCH_CHUNK_SECONDS   0.01
#define BENCH_WARMUP_SECONDS  0.2
#define BENCH_MAX_PIXELS      (64 << 20)
#define BENCH_X_TOL           1e-5
#define BENCH_LEVEL           0.01   /* a pixel level is 0.0171 to 0.0175 */
#define BENCH_Y_TOL           1e-4
#define BENCH_SIZE            224
#define BENCH_NX              (3 * BENCH_SIZE * BENCH_SIZE)


typedef struct {
    const char          *name;
    unsigned char       *data;               /* the file's bytes */
    size_t               len;
    infer_image_info_t   info;
    unsigned char       *rgb;                /* decoded once, for prep_ */
    float               *x;                  /* the tensor */
} bench_picture_t;


typedef struct {
    double               median;             /* seconds per call */
    double               min;
    double               max;
} bench_figure_t;


typedef void (*bench_run_pt)(void *data, size_t n);


static int bench_load(bench_picture_t *p, const char *dir);
static int bench_decode_prep(bench_picture_t *p, float *x);
static int bench_check_x(bench_picture_t *p, const char *out);
static int bench_check_y(infer_model_t *m, const char *out,
    const char *name);
static void *bench_read(const char *path, size_t *len);
static float *bench_read_floats(const char *path, size_t n);
static void bench_measure(bench_run_pt run, void *data, bench_figure_t *f);
static int bench_cmp(const void *a, const void *b);
static double bench_now(void);
static void bench_print(const char *name, const char *what,
    bench_figure_t *f);
static void bench_run_decode(void *data, size_t n);
static void bench_run_prep(void *data, size_t n);
static void bench_run_decode_prep(void *data, size_t n);
static void bench_run_model(void *data, size_t n);
static void bench_run_pipeline(void *data, size_t n);


static const infer_image_prep_t  bench_prep = {
    BENCH_SIZE, BENCH_SIZE, 256, INFER_IMAGE_NCHW,
    { 0.485f, 0.456f, 0.406f }, { 0.229f, 0.224f, 0.225f }
};

static bench_picture_t  bench_pictures[] = {
    { "bench224", NULL, 0, { 0, 0, 0, 0, 0 }, NULL, NULL },
    { "photo500x375", NULL, 0, { 0, 0, 0, 0, 0 }, NULL, NULL }
};

#define BENCH_NPICTURES  (sizeof(bench_pictures) / sizeof(bench_pictures[0]))
#define BENCH_PHOTO      1


static infer_model_t    *bench_model;
static float            *bench_y;
static volatile float    bench_sink;


int
main(int argc, char **argv)
{
    int               failed;
    char              path[4096], err[INFER_ERRLEN];
    size_t            i;
    bench_figure_t    f;
    bench_picture_t  *p;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s DIR MODELS [OUT]\n", argv[0]);
        return 2;
    }

    for (i = 0; i < BENCH_NPICTURES; i++) {
        if (bench_load(&bench_pictures[i], argv[1]) != 0) {
            return 1;
        }
    }

    (void) snprintf(path, sizeof(path), "%s/bench_resnet18.onnx", argv[2]);

    errno = 0;

    if (infer_model_load_file(&bench_model, path, "onnx", err, sizeof(err))
        != INFER_OK)
    {
        fprintf(stderr, "image_bench: %s: %s\n", path, err);
        return 1;
    }

    if (bench_model->nfeatures != BENCH_NX) {
        fprintf(stderr, "image_bench: %s takes %zu floats a row, not %d\n",
                path, bench_model->nfeatures, BENCH_NX);
        return 1;
    }

    bench_y = calloc(bench_model->noutputs, sizeof(float));
    if (bench_y == NULL) {
        fprintf(stderr, "image_bench: out of memory\n");
        return 1;
    }

    failed = 0;

    if (argc == 4) {
        for (i = 0; i < BENCH_NPICTURES; i++) {
            failed |= bench_check_x(&bench_pictures[i], argv[3]);
        }

        failed |= bench_check_y(bench_model, argv[3],
                                bench_pictures[BENCH_PHOTO].name);
    }

    printf("image_bench: ONNX kernels %s, one thread, process CPU time, "
           "median of %d rounds of >= %.2f s (fastest-slowest)\n",
           infer_onnx_isa_name(bench_model), BENCH_ROUNDS,
           BENCH_ROUND_SECONDS);

    for (i = 0; i < BENCH_NPICTURES; i++) {
        p = &bench_pictures[i];

        printf("%s: %ux%u, %zu bytes\n", p->name, p->info.width,
               p->info.height, p->len);

        bench_measure(bench_run_decode, p, &f);
        bench_print("decode_", p->name, &f);

        bench_measure(bench_run_prep, p, &f);
        bench_print("prep_", p->name, &f);

        bench_measure(bench_run_decode_prep, p, &f);
        bench_print("decode_prep_", p->name, &f);
    }

    p = &bench_pictures[BENCH_PHOTO];

    bench_measure(bench_run_model, p, &f);
    bench_print("resnet18", "", &f);

    bench_measure(bench_run_pipeline, p, &f);
    bench_print("pipeline", "", &f);

    for (i = 0; i < BENCH_NPICTURES; i++) {
        free(bench_pictures[i].data);
        free(bench_pictures[i].rgb);
        free(bench_pictures[i].x);
    }

    infer_model_free(bench_model);
    free(bench_y);

    if (failed) {
        fprintf(stderr, "image_bench: a check FAILED (above)\n");
    }

    return failed ? 1 : 0;
}


/* the file, its header, decoded once and preprocessed once */

static int
bench_load(bench_picture_t *p, const char *dir)
{
    char                 path[4096];
    infer_image_error_t  e;

    (void) snprintf(path, sizeof(path), "%s/%s.jpg", dir, p->name);

    p->data = bench_read(path, &p->len);
    if (p->data == NULL) {
        return -1;
    }

    if (infer_image_header(p->data, p->len, INFER_IMAGE_JPEG,
                           BENCH_MAX_PIXELS, &p->info, &e)
        != INFER_OK)
    {
        fprintf(stderr, "image_bench: %s: %s (%s)\n", path, e.msg,
                infer_image_reason_name(e.reason));
        return -1;
    }

    p->rgb = malloc((size_t) p->info.width * p->info.height * 3);
    p->x = malloc(BENCH_NX * sizeof(float));

    if (p->rgb == NULL || p->x == NULL) {
        fprintf(stderr, "image_bench: out of memory\n");
        return -1;
    }

    if (infer_image_decode(p->data, p->len, &p->info, p->rgb, &e)
        != INFER_OK)
    {
        fprintf(stderr, "image_bench: %s: %s (%s)\n", path, e.msg,
                infer_image_reason_name(e.reason));
        return -1;
    }

    if (bench_decode_prep(p, p->x) != 0) {
        fprintf(stderr, "image_bench: %s: decoding or preprocessing "
                "failed\n", path);
        return -1;
    }

    return 0;
}


/* what a request does: bytes to the tensor, its memory its own */

static int
bench_decode_prep(bench_picture_t *p, float *x)
{
    int                   rc;
    void                 *scratch;
    unsigned char        *rgb;
    infer_image_info_t    info;
    infer_image_error_t   e;

    if (infer_image_header(p->data, p->len, INFER_IMAGE_JPEG,
                           BENCH_MAX_PIXELS, &info, &e)
        != INFER_OK)
    {
        return -1;
    }

    rgb = malloc((size_t) info.width * info.height * 3);
    scratch = malloc(infer_image_prep_scratch(&bench_prep, info.width,
                                              info.height));
    rc = -1;

    if (rgb != NULL && scratch != NULL
        && infer_image_decode(p->data, p->len, &info, rgb, &e) == INFER_OK
        && infer_image_preprocess(&bench_prep, rgb, info.width, info.height,
                                  scratch, x)
           == INFER_OK)
    {
        rc = 0;
    }

    free(scratch);
    free(rgb);

    return rc;
}


/* the tensor against torchvision's, value by value */

static int
bench_check_x(bench_picture_t *p, const char *out)
{
    char     path[4096];
    float   *want;
    double   d, maxdiff;
    size_t   i, beyond, levels;

    (void) snprintf(path, sizeof(path), "%s/%s.x.f32", out, p->name);

    want = bench_read_floats(path, BENCH_NX);
    if (want == NULL) {
        return 1;
    }

    maxdiff = 0;
    beyond = 0;
    levels = 0;

    for (i = 0; i < BENCH_NX; i++) {
        d = fabs((double) p->x[i] - want[i]);

        if (!(d <= BENCH_X_TOL)) {
            if (beyond < 5) {
                fprintf(stderr, "image_bench: %s: x[%zu] (channel %zu, "
                        "row %zu, column %zu) %.9g, torchvision %.9g\n",
                        p->name, i, i / (BENCH_SIZE * BENCH_SIZE),
                        i / BENCH_SIZE % BENCH_SIZE, i % BENCH_SIZE,
                        p->x[i], want[i]);
            }

            beyond++;
            levels += !(d < BENCH_LEVEL);
        }

        maxdiff = d > maxdiff ? d : maxdiff;
    }

    printf("%s check: %d values against torchvision's, max |diff| %.2e, "
           "%zu beyond %.0e, %zu a pixel level or more: %s\n", p->name,
           BENCH_NX, maxdiff, beyond, BENCH_X_TOL, levels,
           beyond ? "FAILED" : "ok");

    free(want);

    return beyond ? 1 : 0;
}


/* ResNet-18 on torchvision's tensor against torch's outputs */

static int
bench_check_y(infer_model_t *m, const char *out, const char *name)
{
    int      rc;
    char     path[4096];
    float   *x, *want, *got;
    double   d, tol, worst, maxdiff;
    size_t   i, n, bad;

    n = m->noutputs;

    (void) snprintf(path, sizeof(path), "%s/%s.x.f32", out, name);
    x = bench_read_floats(path, BENCH_NX);

    (void) snprintf(path, sizeof(path), "%s/resnet18.y.f32", out);
    want = bench_read_floats(path, n);

    got = calloc(n, sizeof(float));
    rc = 1;

    if (x == NULL || want == NULL || got == NULL) {
        goto done;
    }

    if (infer_model_eval(m, x, 1, got) != INFER_OK) {
        fprintf(stderr, "image_bench: resnet18: evaluation failed\n");
        goto done;
    }

    bad = 0;
    worst = 0;
    maxdiff = 0;

    for (i = 0; i < n; i++) {
        d = fabs((double) got[i] - want[i]);
        tol = BENCH_Y_TOL + BENCH_Y_TOL * fabs(want[i]);

        if (!(d <= tol)) {
            bad++;
        }

        maxdiff = d > maxdiff ? d : maxdiff;
        worst = d / tol > worst ? d / tol : worst;
    }

    printf("resnet18 check: %zu outputs on %s's torchvision tensor against "
           "torch's, max |diff| %.2e, %.3f of the tolerance (1e-4 + "
           "1e-4*|want|), %zu beyond: %s\n", n, name, maxdiff, worst, bad,
           bad ? "FAILED" : "ok");

    rc = bad ? 1 : 0;

done:

    free(x);
    free(want);
    free(got);

    return rc;
}


static void *
bench_read(const char *path, size_t *len)
{
    long   size;
    FILE  *f;
    void  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "image_bench: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    p = NULL;

    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0
        && fseek(f, 0, SEEK_SET) == 0)
    {
        p = malloc(size);

        if (p != NULL && fread(p, 1, size, f) != (size_t) size) {
            free(p);
            p = NULL;
        }

        *len = size;
    }

    if (p == NULL) {
        fprintf(stderr, "image_bench: %s: cannot read it\n", path);
    }

    fclose(f);

    return p;
}


/* exactly n floats of a file, host order */

static float *
bench_read_floats(const char *path, size_t n)
{
    void    *p;
    size_t   len;

    p = bench_read(path, &len);

    if (p != NULL && len != n * sizeof(float)) {
        fprintf(stderr, "image_bench: %s: not %zu floats\n", path, n);
        free(p);
        p = NULL;
    }

    return p;
}


static void
bench_measure(bench_run_pt run, void *data, bench_figure_t *f)
{
    int     r;
    double  start, t0, t, per[BENCH_ROUNDS];
    size_t  n, units;

    /* warm up, doubling the chunk until it takes BENCH_CHUNK_SECONDS */

    n = 1;
    start = bench_now();

    for ( ;; ) {
        t0 = bench_now();
        run(data, n);
        t = bench_now();

        if (t - t0 < BENCH_CHUNK_SECONDS) {
            n *= 2;

        } else if (t - start >= BENCH_WARMUP_SECONDS) {
            break;
        }
    }

    for (r = 0; r < BENCH_ROUNDS; r++) {
        units = 0;
        t0 = bench_now();

        do {
            run(data, n);
            units += n;
            t = bench_now() - t0;
        } while (t < BENCH_ROUND_SECONDS);

        per[r] = t / units;
    }

    qsort(per, BENCH_ROUNDS, sizeof(double), bench_cmp);

    f->median = per[BENCH_ROUNDS / 2];
    f->min = per[0];
    f->max = per[BENCH_ROUNDS - 1];
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* "name: X us (fastest-slowest)", as bench/onnx_bench.c prints it */

static void
bench_print(const char *name, const char *what, bench_figure_t *f)
{
    int     prec;
    double  us;

    us = f->median * 1e6;
    prec = us < 10 ? 4 : us < 1000 ? 2 : 1;

    printf("%s%s: %.*f us (%.*f-%.*f)\n", name, what, prec, us, prec,
           f->min * 1e6, prec, f->max * 1e6);
    fflush(stdout);
}


static void
bench_run_decode(void *data, size_t n)
{
    bench_picture_t  *p = data;

    size_t                i;
    unsigned char        *rgb;
    infer_image_info_t    info;
    infer_image_error_t   e;

    for (i = 0; i < n; i++) {
        if (infer_image_header(p->data, p->len, INFER_IMAGE_JPEG,
                               BENCH_MAX_PIXELS, &info, &e)
            != INFER_OK)
        {
            continue;
        }

        rgb = malloc((size_t) info.width * info.height * 3);

        if (rgb != NULL) {
            (void) infer_image_decode(p->data, p->len, &info, rgb, &e);
            bench_sink = rgb[0];
        }

        free(rgb);
    }
}


static void
bench_run_prep(void *data, size_t n)
{
    bench_picture_t  *p = data;

    void    *scratch;
    size_t   i;

    for (i = 0; i < n; i++) {
        scratch = malloc(infer_image_prep_scratch(&bench_prep, p->info.width,
                                                  p->info.height));

        if (scratch != NULL) {
            (void) infer_image_preprocess(&bench_prep, p->rgb, p->info.width,
                                          p->info.height, scratch, p->x);
        }

        free(scratch);
    }

    bench_sink = p->x[0];
}


static void
bench_run_decode_prep(void *data, size_t n)
{
    bench_picture_t  *p = data;

    size_t  i;

    for (i = 0; i < n; i++) {
        (void) bench_decode_prep(p, p->x);
    }

    bench_sink = p->x[0];
}


static void
bench_run_model(void *data, size_t n)
{
    bench_picture_t  *p = data;

    size_t  i;

    for (i = 0; i < n; i++) {
        (void) infer_model_eval(bench_model, p->x, 1, bench_y);
    }

    bench_sink = bench_y[0];
}


static void
bench_run_pipeline(void *data, size_t n)
{
    bench_picture_t  *p = data;

    size_t  i;

    for (i = 0; i < n; i++) {
        (void) bench_decode_prep(p, p->x);
        (void) infer_model_eval(bench_model, p->x, 1, bench_y);
    }

    bench_sink = bench_y[0];
}
