/*
 * The ONNX evaluator alone: one thread, no nginx, on make bench's models
 * (t/models/gen_onnx.py --bench DIR).  bench/onnx_torch.py times the same
 * cases with torch and bench/onnx.sh puts the two side by side.
 *
 *   /usr/bin/python3 t/models/gen_onnx.py --bench build/bench/onnx
 *   gcc -std=c99 -D_GNU_SOURCE -O2 -Isrc -Isrc/onnx -Ibuild/onnx \
 *       bench/onnx_bench.c $(ls src/infer_*.c | grep -v bpf) \
 *       src/onnx/infer_onnx_*.c build/onnx/onnx.pb-c.c \
 *       -lprotobuf-c -lyajl -lm -pthread -o build/bench/onnx_bench
 *   taskset -c 1 build/bench/onnx_bench build/bench/onnx [X.f32 Y.f32]
 *
 * The cases: the MLP on one row and on a batch of 1000 (a figure per
 * row), LeNet and ResNet-18 on one image.  The inputs are the same
 * pseudo-random floats in [-1, 1) for every case, x[i] a hash of i, which
 * onnx_torch.py makes bit for bit too.
 *
 * Times are the process's CPU time, which other processes on a busy
 * machine inflate less than wall time.  After a warm-up that also sizes a
 * chunk of calls to about 10 ms (so that reading the clock costs nothing),
 * each of 7 rounds runs chunks for at least 0.25 s; a figure is the median
 * of the rounds' times per call, printed with the fastest and the slowest.
 *
 * For LeNet and ResNet-18 the rate is 2 * multiply-adds / time, against
 * this CPU's peak single-core FP32 rate measured here, with the same
 * clock: independent chains of FMAs in the widest set the CPU has
 * (AVX-512F, else AVX2 with FMA, else the peak is unknown).
 *
 * With X.f32 and Y.f32 (what onnx_torch.py writes: ResNet-18's bench
 * input and torch's output for it, with gen_onnx.py's weights), ResNet-18
 * is first evaluated once on X, which must be the bench input, and every
 * output must be within 1e-4 + 1e-4 * |torch's|; else exit 1.
 */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "infer_model.h"
#include "infer_onnx.h"


#define BENCH_ROUNDS          7
#define BENCH_ROUND_SECONDS   0.25
#define BENCH_CHUNK_SECONDS   0.01
#define BENCH_WARMUP_SECONDS  0.2
#define BENCH_BATCH           1000
#define BENCH_TOL             1e-4


typedef struct {
    const char      *name;
    const char      *file;
    size_t           batch;                  /* rows per call */
    unsigned         flops:1;                /* print the rate */

    infer_model_t   *model;
    float           *x;
    float           *y;
} bench_case_t;


/* seconds per unit of a run: the median of the rounds, the extremes */
typedef struct {
    double           median;
    double           min;
    double           max;
} bench_figure_t;


/* runs n units of work: calls of a model, iterations of the FMA loop */
typedef void (*bench_run_pt)(void *data, size_t n);


static int bench_load(bench_case_t *c, const char *dir);
static float *bench_input(size_t n);
static int bench_check(bench_case_t *c, const char *xpath,
    const char *ypath);
static float *bench_read(const char *path, size_t n);
static double bench_peak(const char **how);
static void bench_measure(bench_run_pt run, void *data, bench_figure_t *f);
static int bench_cmp(const void *a, const void *b);
static double bench_now(void);
static void bench_run_model(void *data, size_t n);
static void bench_print(const char *name, size_t batch, bench_figure_t *f);
#if defined(__x86_64__)
static void bench_fma_avx512(void *data, size_t n);
static void bench_fma_avx2(void *data, size_t n);
#endif


static bench_case_t  bench_cases[] = {
    { "mlp_row", "bench_mlp.onnx", 1, 0, NULL, NULL, NULL },
    { "mlp_batch1000", "bench_mlp.onnx", BENCH_BATCH, 0, NULL, NULL, NULL },
    { "lenet", "bench_lenet.onnx", 1, 1, NULL, NULL, NULL },
    { "resnet18", "bench_resnet18.onnx", 1, 1, NULL, NULL, NULL }
};

#define BENCH_NCASES  (sizeof(bench_cases) / sizeof(bench_cases[0]))
#define BENCH_RESNET  3


static volatile float  bench_sink;


int
main(int argc, char **argv)
{
    size_t           i;
    double           peak, macs, rate;
    const char      *how;
    bench_case_t    *c;
    bench_figure_t   f;

    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: %s DIR [X.f32 Y.f32]\n", argv[0]);
        return 2;
    }

    for (i = 0; i < BENCH_NCASES; i++) {
        if (bench_load(&bench_cases[i], argv[1]) != 0) {
            return 1;
        }
    }

    c = &bench_cases[BENCH_RESNET];

    if (argc == 4 && bench_check(c, argv[2], argv[3]) != 0) {
        return 1;
    }

    printf("onnx_bench: kernels %s, one thread, process CPU time, "
           "median of %d rounds of >= %.2f s (fastest-slowest)\n",
           infer_onnx_isa_name(c->model), BENCH_ROUNDS, BENCH_ROUND_SECONDS);

    peak = bench_peak(&how);

    if (peak > 0) {
        printf("peak: %.1f GFLOP/s (%s)\n", peak / 1e9, how);

    } else {
        printf("peak: unknown (%s)\n", how);
    }

    for (i = 0; i < BENCH_NCASES; i++) {
        c = &bench_cases[i];

        bench_measure(bench_run_model, c, &f);
        bench_print(c->name, c->batch, &f);

        if (!c->flops) {
            continue;
        }

        macs = (double) infer_onnx_macs_per_row(c->model);
        rate = 2 * macs / f.median;

        printf("%s macs: %.0f\n", c->name, macs);

        if (peak > 0) {
            printf("%s flops: %.2f GFLOP/s, %.1f%% of peak\n", c->name,
                   rate / 1e9, 100 * rate / peak);

        } else {
            printf("%s flops: %.2f GFLOP/s, unknown%% of peak\n", c->name,
                   rate / 1e9);
        }
    }

    for (i = 0; i < BENCH_NCASES; i++) {
        infer_model_free(bench_cases[i].model);
        free(bench_cases[i].x);
        free(bench_cases[i].y);
    }

    return 0;
}


static int
bench_load(bench_case_t *c, const char *dir)
{
    int   rc;
    char  path[4096], err[INFER_ERRLEN];

    (void) snprintf(path, sizeof(path), "%s/%s", dir, c->file);

    errno = 0;

    rc = infer_model_load_file(&c->model, path, "onnx", err, sizeof(err));
    if (rc != INFER_OK) {
        fprintf(stderr, "onnx_bench: %s: %s%s%s\n", path, err,
                rc == INFER_ESYS ? ": " : "",
                rc == INFER_ESYS ? strerror(errno) : "");
        return -1;
    }

    c->x = bench_input(c->batch * c->model->nfeatures);
    c->y = calloc(c->batch * c->model->noutputs, sizeof(float));

    if (c->x == NULL || c->y == NULL) {
        fprintf(stderr, "onnx_bench: out of memory\n");
        return -1;
    }

    if (infer_model_eval(c->model, c->x, c->batch, c->y) != INFER_OK) {
        fprintf(stderr, "onnx_bench: %s: evaluation failed\n", path);
        return -1;
    }

    return 0;
}


/*
 * x[i]: murmur3's finalizer of a Weyl sequence, its top 24 bits scaled to
 * [-1, 1) in steps of 2^-23; every step is exact in float32, so numpy
 * makes the same bits (onnx_torch.py's bench_input()).
 */

static float *
bench_input(size_t n)
{
    size_t     i;
    float     *x;
    uint32_t   h;

    x = malloc(n * sizeof(float));
    if (x == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        h = (uint32_t) i * 0x9e3779b9u + 0x7f4a7c15u;
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        h *= 0xc2b2ae35u;
        h ^= h >> 16;

        x[i] = (float) (h >> 8) / 8388608.0f - 1.0f;
    }

    return x;
}


/* the model on torch's input, once, against torch's output */

static int
bench_check(bench_case_t *c, const char *xpath, const char *ypath)
{
    int      rc;
    float   *x, *want, *got;
    double   d, tol, worst, maxdiff;
    size_t   i, n, bad;

    n = c->model->noutputs;
    x = bench_read(xpath, c->model->nfeatures);
    want = bench_read(ypath, n);
    got = calloc(n, sizeof(float));
    rc = -1;

    if (x == NULL || want == NULL || got == NULL) {
        goto done;
    }

    if (memcmp(x, c->x, c->model->nfeatures * sizeof(float)) != 0) {
        fprintf(stderr, "onnx_bench: %s is not %s's bench input\n", xpath,
                c->name);
        goto done;
    }

    if (infer_model_eval(c->model, x, 1, got) != INFER_OK) {
        fprintf(stderr, "onnx_bench: %s: evaluation failed\n", c->name);
        goto done;
    }

    bad = 0;
    worst = 0;
    maxdiff = 0;

    for (i = 0; i < n; i++) {
        d = fabs((double) got[i] - want[i]);
        tol = BENCH_TOL + BENCH_TOL * fabs(want[i]);

        if (!(d <= tol)) {
            if (bad < 5) {
                fprintf(stderr, "onnx_bench: %s output %zu: %.9g, torch "
                        "%.9g\n", c->name, i, got[i], want[i]);
            }

            bad++;
        }

        maxdiff = d > maxdiff ? d : maxdiff;
        worst = d / tol > worst ? d / tol : worst;
    }

    printf("%s check: %zu outputs against torch's, max |diff| %.2e, "
           "%.3f of the tolerance (1e-4 + 1e-4*|want|), %zu beyond: %s\n",
           c->name, n, maxdiff, worst, bad, bad ? "FAILED" : "ok");

    rc = bad ? -1 : 0;

done:

    free(x);
    free(want);
    free(got);

    return rc;
}


/* exactly n floats of a file, host order */

static float *
bench_read(const char *path, size_t n)
{
    FILE   *f;
    float  *p;
    char    extra;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "onnx_bench: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    p = malloc(n * sizeof(float));

    if (p == NULL || fread(p, sizeof(float), n, f) != n
        || fread(&extra, 1, 1, f) != 0)
    {
        fprintf(stderr, "onnx_bench: %s: not %zu floats\n", path, n);
        free(p);
        p = NULL;
    }

    fclose(f);

    return p;
}


/* FLOP/s of the widest FMA the CPU has; 0 and why when there is none */

static double
bench_peak(const char **how)
{
    bench_figure_t  f;

#if defined(__x86_64__)
    __builtin_cpu_init();

    if (__builtin_cpu_supports("avx512f")) {
        bench_measure(bench_fma_avx512, NULL, &f);
        *how = "measured: 24 chains of AVX-512F vfmadd, 16 lanes";
        return 24 * 16 * 2 / f.median;
    }

    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        bench_measure(bench_fma_avx2, NULL, &f);
        *how = "measured: 12 chains of AVX2 vfmadd, 8 lanes";
        return 12 * 8 * 2 / f.median;
    }

    *how = "this CPU has neither AVX-512F nor AVX2 with FMA";
#else
    (void) f;
    *how = "not an x86-64 CPU";
#endif

    return 0;
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


static void
bench_run_model(void *data, size_t n)
{
    size_t         i;
    bench_case_t  *c;

    c = data;

    for (i = 0; i < n; i++) {
        (void) infer_model_eval(c->model, c->x, c->batch, c->y);
    }

    bench_sink = c->y[0];
}


/* "name: X us", per row for a batch; onnx_torch.py prints the same */

static void
bench_print(const char *name, size_t batch, bench_figure_t *f)
{
    int     prec;
    double  us;

    us = f->median / batch * 1e6;
    prec = us < 10 ? 4 : us < 1000 ? 2 : 1;

    printf("%s: %.*f us%s (%.*f-%.*f)\n", name, prec, us,
           batch > 1 ? " per row" : "", prec, f->min / batch * 1e6, prec,
           f->max / batch * 1e6);
}


#if defined(__x86_64__)

/*
 * Independent chains a = a * m + k, more of them than the FMA units' count
 * times their latency, so that the units never wait; each converges to 1.
 * They start apart, or the compiler would merge them.  24 accumulators
 * and 2 operands fit AVX-512's 32 registers, 12 and 2 AVX2's 16.
 */

#define BENCH_FMA4(fma, a, b, c, d)                                           \
    a = fma(a, m, k); b = fma(b, m, k); c = fma(c, m, k); d = fma(d, m, k)

#define BENCH_SET4(set1, i, a, b, c, d)                                       \
    a = set1(0.01f * (i)); b = set1(0.01f * (i + 1));                         \
    c = set1(0.01f * (i + 2)); d = set1(0.01f * (i + 3))


static __attribute__((target("avx512f,fma"))) void
bench_fma_avx512(void *data, size_t n)
{
    float   out[16];
    size_t  i;
    __m512  m, k, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
    __m512  b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11;

    (void) data;

    m = _mm512_set1_ps(0.999f);
    k = _mm512_set1_ps(0.001f);
    BENCH_SET4(_mm512_set1_ps, 0, a0, a1, a2, a3);
    BENCH_SET4(_mm512_set1_ps, 4, a4, a5, a6, a7);
    BENCH_SET4(_mm512_set1_ps, 8, a8, a9, a10, a11);
    BENCH_SET4(_mm512_set1_ps, 12, b0, b1, b2, b3);
    BENCH_SET4(_mm512_set1_ps, 16, b4, b5, b6, b7);
    BENCH_SET4(_mm512_set1_ps, 20, b8, b9, b10, b11);

    for (i = 0; i < n; i++) {
        BENCH_FMA4(_mm512_fmadd_ps, a0, a1, a2, a3);
        BENCH_FMA4(_mm512_fmadd_ps, a4, a5, a6, a7);
        BENCH_FMA4(_mm512_fmadd_ps, a8, a9, a10, a11);
        BENCH_FMA4(_mm512_fmadd_ps, b0, b1, b2, b3);
        BENCH_FMA4(_mm512_fmadd_ps, b4, b5, b6, b7);
        BENCH_FMA4(_mm512_fmadd_ps, b8, b9, b10, b11);
    }

    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1),
                                     _mm512_add_ps(a2, a3)),
                       _mm512_add_ps(_mm512_add_ps(a4, a5),
                                     _mm512_add_ps(a6, a7)));
    a0 = _mm512_add_ps(a0, _mm512_add_ps(_mm512_add_ps(a8, a9),
                                         _mm512_add_ps(a10, a11)));
    b0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(b0, b1),
                                     _mm512_add_ps(b2, b3)),
                       _mm512_add_ps(_mm512_add_ps(b4, b5),
                                     _mm512_add_ps(b6, b7)));
    b0 = _mm512_add_ps(b0, _mm512_add_ps(_mm512_add_ps(b8, b9),
                                         _mm512_add_ps(b10, b11)));

    _mm512_storeu_ps(out, _mm512_add_ps(a0, b0));

    bench_sink = out[0];
}


static __attribute__((target("avx2,fma"))) void
bench_fma_avx2(void *data, size_t n)
{
    float   out[8];
    size_t  i;
    __m256  m, k, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;

    (void) data;

    m = _mm256_set1_ps(0.999f);
    k = _mm256_set1_ps(0.001f);
    BENCH_SET4(_mm256_set1_ps, 0, a0, a1, a2, a3);
    BENCH_SET4(_mm256_set1_ps, 4, a4, a5, a6, a7);
    BENCH_SET4(_mm256_set1_ps, 8, a8, a9, a10, a11);

    for (i = 0; i < n; i++) {
        BENCH_FMA4(_mm256_fmadd_ps, a0, a1, a2, a3);
        BENCH_FMA4(_mm256_fmadd_ps, a4, a5, a6, a7);
        BENCH_FMA4(_mm256_fmadd_ps, a8, a9, a10, a11);
    }

    a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1),
                                     _mm256_add_ps(a2, a3)),
                       _mm256_add_ps(_mm256_add_ps(a4, a5),
                                     _mm256_add_ps(a6, a7)));
    a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9),
                                         _mm256_add_ps(a10, a11)));

    _mm256_storeu_ps(out, a0);

    bench_sink = out[0];
}

#endif
