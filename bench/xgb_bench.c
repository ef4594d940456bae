/*
 * The XGBoost evaluator against libxgboost, on the same model and rows,
 * one thread each: single rows, and batches of 1000.
 *
 *   /usr/bin/python3 t/models/gen_fixtures.py --bench build/bench
 *   gcc -std=c99 -D_GNU_SOURCE -O -Isrc bench/xgb_bench.c \
 *       src/infer_core.c src/infer_model.c src/infer_linear.c \
 *       src/infer_xgboost.c src/infer_xgboost_eval.c \
 *       -lxgboost -lyajl -lm -o build/bench/xgb_bench
 *   taskset -c 1 build/bench/xgb_bench build/bench/bench_100x6.json \
 *       build/bench/bench_rows.f32
 *
 * -O is what nginx builds the module with.  Needs libxgboost-dev.
 *
 * libxgboost is called as a serving process would: a booster loaded
 * once, nthread 1, XGBoosterPredictFromDense() with a proxy DMatrix made
 * once and reused, and the array-interface strings of the rows made
 * before the clock starts.  First every row goes through both, one at a
 * time and in batches, and the outputs must agree.
 *
 * Times are the thread's CPU time, which other processes on a busy
 * machine inflate less than wall time.  Runs of about 0.1 s alternate
 * between the two evaluators, 7 of each; a figure is the best run, the
 * least disturbed one, and the speedup is the ratio of the best runs.
 */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgboost/c_api.h>

#include "infer_model.h"
#include "infer_xgboost.h"


#define BENCH_BATCH   1000
#define BENCH_RUNS    7
#define BENCH_SECONDS 0.1


typedef struct {
    infer_model_t   *model;
    BoosterHandle    booster;
    DMatrixHandle    proxy;
    const float     *x;
    size_t           rows;
    size_t           nfeatures;
    size_t           noutputs;
    char           **one;                    /* a row's array interface */
    char           **batch;                  /* a batch's */
    const char      *config;
    float           *y;
    volatile float   sink;
} bench_t;


static int bench_load(bench_t *b, const char *model, const char *rows);
static float *bench_read_rows(const char *path, size_t nfeatures,
    size_t *rows);
static char *bench_interface(const float *x, size_t rows, size_t cols);
static int bench_parity(bench_t *b);
static double bench_now(void);
static double bench_time(bench_t *b, int ours, size_t batch);
static size_t bench_run(bench_t *b, int ours, size_t batch, size_t *i);
static const float *bench_xgb_predict(bench_t *b, const char *iface,
    size_t rows);


int
main(int argc, char **argv)
{
    int      run;
    double   ours1, xgb1, oursb, xgbb, t;
    bench_t  b;

    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.json ROWS.f32\n", argv[0]);
        return 2;
    }

    memset(&b, 0, sizeof(bench_t));

    if (bench_load(&b, argv[1], argv[2]) != 0) {
        return 1;
    }

    if (bench_parity(&b) != 0) {
        return 1;
    }

    ours1 = HUGE_VAL;
    xgb1 = HUGE_VAL;
    oursb = HUGE_VAL;
    xgbb = HUGE_VAL;

    /* one size at a time: libxgboost resizes its buffers on a change */

    for (run = 0; run < BENCH_RUNS; run++) {
        t = bench_time(&b, 1, 1);
        ours1 = t < ours1 ? t : ours1;

        t = bench_time(&b, 0, 1);
        xgb1 = t < xgb1 ? t : xgb1;
    }

    for (run = 0; run < BENCH_RUNS; run++) {
        t = bench_time(&b, 1, BENCH_BATCH);
        oursb = t < oursb ? t : oursb;

        t = bench_time(&b, 0, BENCH_BATCH);
        xgbb = t < xgbb ? t : xgbb;
    }

    printf("xgboost evaluator: %s batches\n",
           infer_xgb_simd_usable() ? "AVX-512" : "scalar");
    printf("xgboost single row: ours %.3f us, libxgboost %.2f us, "
           "speedup %.0fx\n", ours1 * 1e6, xgb1 * 1e6, xgb1 / ours1);
    printf("xgboost batch of %d: ours %.0f ns/row, libxgboost %.0f ns/row, "
           "speedup %.1fx\n", BENCH_BATCH, oursb * 1e9, xgbb * 1e9,
           xgbb / oursb);

    return 0;
}


static int
bench_load(bench_t *b, const char *model, const char *rows)
{
    char       err[INFER_ERRLEN];
    size_t     r, n;
    bst_ulong  nf;

    if (infer_model_load_file(&b->model, model, "xgboost", err, sizeof(err))
        != INFER_OK)
    {
        fprintf(stderr, "xgb_bench: %s: %s%s%s\n", model, err,
                errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    }

    b->nfeatures = b->model->nfeatures;
    b->noutputs = b->model->noutputs;

    if (XGBoosterCreate(NULL, 0, &b->booster) != 0
        || XGBoosterLoadModel(b->booster, model) != 0
        || XGBoosterSetParam(b->booster, "nthread", "1") != 0
        || XGBoosterGetNumFeature(b->booster, &nf) != 0
        || XGProxyDMatrixCreate(&b->proxy) != 0)
    {
        fprintf(stderr, "xgb_bench: libxgboost: %s\n", XGBGetLastError());
        return -1;
    }

    if (nf != b->nfeatures) {
        fprintf(stderr, "xgb_bench: libxgboost sees %lu features, we %zu\n",
                (unsigned long) nf, b->nfeatures);
        return -1;
    }

    b->x = bench_read_rows(rows, b->nfeatures, &b->rows);
    if (b->x == NULL) {
        return -1;
    }

    n = b->rows / BENCH_BATCH;

    b->one = calloc(b->rows, sizeof(char *));
    b->batch = calloc(n + 1, sizeof(char *));
    b->y = calloc(b->rows * b->noutputs, sizeof(float));

    if (b->one == NULL || b->batch == NULL || b->y == NULL || n == 0) {
        fprintf(stderr, "xgb_bench: out of memory, or fewer than %d rows\n",
                BENCH_BATCH);
        return -1;
    }

    for (r = 0; r < b->rows; r++) {
        b->one[r] = bench_interface(b->x + r * b->nfeatures, 1,
                                    b->nfeatures);
    }

    for (r = 0; r < n; r++) {
        b->batch[r] = bench_interface(b->x + r * BENCH_BATCH * b->nfeatures,
                                      BENCH_BATCH, b->nfeatures);
    }

    b->config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                "\"iteration_end\": 0, \"strict_shape\": false, "
                "\"missing\": NaN, \"cache_id\": 0}";

    return 0;
}


static float *
bench_read_rows(const char *path, size_t nfeatures, size_t *rows)
{
    long    len;
    FILE   *f;
    float  *x;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "xgb_bench: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0
        || fseek(f, 0, SEEK_SET) != 0
        || (size_t) len % (nfeatures * sizeof(float)) != 0)
    {
        fprintf(stderr, "xgb_bench: %s: not rows of %zu floats\n", path,
                nfeatures);
        fclose(f);
        return NULL;
    }

    x = malloc((size_t) len);

    if (x == NULL || fread(x, 1, (size_t) len, f) != (size_t) len) {
        fprintf(stderr, "xgb_bench: %s: read failed\n", path);
        fclose(f);
        free(x);
        return NULL;
    }

    fclose(f);

    *rows = (size_t) len / (nfeatures * sizeof(float));

    return x;
}


/* numpy's __array_interface__ of a C float32 matrix, as JSON */

static char *
bench_interface(const float *x, size_t rows, size_t cols)
{
    char  *s;

    s = malloc(160);
    if (s == NULL) {
        return NULL;
    }

    snprintf(s, 160, "{\"data\": [%lu, true], \"shape\": [%zu, %zu], "
             "\"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long) (uintptr_t) x, rows, cols);

    return s;
}


/* every row, in batches and one by one, against libxgboost */

static int
bench_parity(bench_t *b)
{
    int           pass;
    float         g, w;
    size_t        i, r, n, no, exact, close, differ;
    const float  *ref;

    no = b->noutputs;
    n = BENCH_BATCH * no;
    exact = 0;
    close = 0;
    differ = 0;

    for (pass = 0; pass < 2; pass++) {
        for (r = 0; r + BENCH_BATCH <= b->rows; r += BENCH_BATCH) {
            ref = bench_xgb_predict(b, b->batch[r / BENCH_BATCH],
                                    BENCH_BATCH);

            if (pass == 0) {
                (void) infer_model_eval(b->model, b->x + r * b->nfeatures,
                                        BENCH_BATCH, b->y);

            } else {
                for (i = 0; i < BENCH_BATCH; i++) {
                    (void) infer_model_eval(b->model,
                                            b->x + (r + i) * b->nfeatures,
                                            1, b->y + i * no);
                }
            }

            for (i = 0; i < n; i++) {
                g = b->y[i];
                w = ref[i];

                if (g == w) {
                    exact++;

                } else if (fabsf(g - w) <= 1e-6f * fabsf(w)) {
                    close++;

                } else {
                    differ++;
                }
            }
        }
    }

    printf("xgboost parity: %zu outputs (each row in a batch and alone), "
           "%zu bit-exact, %zu within 1e-6, %zu differ\n",
           exact + close + differ, exact, close, differ);

    return differ == 0 ? 0 : -1;
}


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* seconds per row, in a run of about BENCH_SECONDS */

static double
bench_time(bench_t *b, int ours, size_t batch)
{
    double  t0, t;
    size_t  rows, i;

    i = 0;
    (void) bench_run(b, ours, batch, &i);         /* warm up */

    rows = 0;
    t0 = bench_now();

    do {
        rows += bench_run(b, ours, batch, &i);
        t = bench_now() - t0;
    } while (t < BENCH_SECONDS);

    return t / rows;
}


/* a few hundred calls on consecutive rows or batches, wrapping around */

static size_t
bench_run(bench_t *b, int ours, size_t batch, size_t *i)
{
    size_t        k, rows, nbatches;
    const float  *y;

    rows = 0;
    nbatches = b->rows / BENCH_BATCH;

    for (k = 0; k < (batch == 1 ? 1000 : 4); k++) {
        if (batch == 1) {
            *i = (*i + 1) % b->rows;

            if (ours) {
                (void) infer_model_eval(b->model, b->x + *i * b->nfeatures,
                                        1, b->y);
                b->sink = b->y[0];

            } else {
                y = bench_xgb_predict(b, b->one[*i], 1);
                b->sink = y[0];
            }

        } else {
            *i = (*i + 1) % nbatches;

            if (ours) {
                (void) infer_model_eval(b->model,
                                        b->x + *i * batch * b->nfeatures,
                                        batch, b->y);
                b->sink = b->y[0];

            } else {
                y = bench_xgb_predict(b, b->batch[*i], batch);
                b->sink = y[0];
            }
        }

        rows += batch;
    }

    return rows;
}


static const float *
bench_xgb_predict(bench_t *b, const char *iface, size_t rows)
{
    bst_ulong         dim;
    const float      *y;
    const bst_ulong  *shape;

    if (XGBoosterPredictFromDense(b->booster, iface, b->config, b->proxy,
                                  &shape, &dim, &y)
        != 0)
    {
        fprintf(stderr, "xgb_bench: libxgboost: %s\n", XGBGetLastError());
        exit(1);
    }

    if (shape[0] != rows) {
        fprintf(stderr, "xgb_bench: libxgboost gave %lu rows, not %zu\n",
                (unsigned long) shape[0], rows);
        exit(1);
    }

    return y;
}
