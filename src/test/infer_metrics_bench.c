/*
 * Micro-benchmark of the metrics core: nanoseconds per request update
 * (request_start and request_done: requests, errors, in flight, three
 * histograms, two exemplars, rows, per-worker count), in a slot of the
 * process's own and in the shared slot; the time to render 20 models in
 * each format; and trace ids.  Best of several runs: shared machines are
 * noisy.
 *
 *   make bench builds and runs it; by hand:
 *   cc -std=c99 -D_GNU_SOURCE -O2 -Isrc $(ls src/infer_*.c | grep -v bpf) \
 *       src/test/infer_metrics_bench.c -lyajl -lm -o metrics_bench
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer_prom.h"
#include "infer_trace.h"


#define BENCH_MODELS   20
#define BENCH_UPDATES  2000000
#define BENCH_RUNS     15


int main(void);

static double now(void);
static int alive(void *ctx, int32_t pid);
static double updates(infer_metrics_t *m, const uint8_t *trace_id);
static double renders(const void *base, int format, size_t *len);
static double traces(infer_trace_rng_t *rng, const char *value);


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec * 1e-9;
}


static int
alive(void *ctx, int32_t pid)
{
    (void) ctx;
    (void) pid;

    return 1;
}


/* ns per request, best of the runs */

static double
updates(infer_metrics_t *m, const uint8_t *trace_id)
{
    int                  run;
    size_t               i, model;
    double               t, best;
    infer_metrics_obs_t  o;

    memset(&o, 0, sizeof(infer_metrics_obs_t));
    o.status = 200;
    o.reason = INFER_REASON_NONE;
    o.evaluated = 1;
    o.trace_id = trace_id;
    o.now_ms = 1700000000000ULL;

    best = 1e9;

    for (run = 0; run < BENCH_RUNS; run++) {
        t = now();

        for (i = 0; i < BENCH_UPDATES; i++) {
            model = i % BENCH_MODELS;
            o.rows = 1 + (i & 7);
            o.request_ns = 3000 + (i & 1023) * 37;
            o.inference_ns = 800 + (i & 255) * 13;

            infer_metrics_request_start(m, model);
            infer_metrics_request_done(m, model, &o);
        }

        t = (now() - t) / BENCH_UPDATES * 1e9;
        best = t < best ? t : best;
    }

    return best;
}


/* us per rendering, best of 300 */

static double
renders(const void *base, int format, size_t *len)
{
    int     run;
    char   *buf;
    double  t, best;

    *len = infer_prom_render(NULL, 0, base, format, 1700000001000ULL);
    buf = malloc(*len + 1);
    best = 1e9;

    for (run = 0; run < 300; run++) {
        t = now();
        infer_prom_render(buf, *len + 1, base, format, 1700000001000ULL);
        t = (now() - t) * 1e6;
        best = t < best ? t : best;
    }

    free(buf);

    return best;
}


/* ns per request: start (parse or draw) and format */

static double
traces(infer_trace_rng_t *rng, const char *value)
{
    int            run, i;
    char           buf[INFER_TRACEPARENT_LEN + 1];
    double         t, best;
    infer_trace_t  tr;

    best = 1e9;

    for (run = 0; run < BENCH_RUNS; run++) {
        t = now();

        for (i = 0; i < 1000000; i++) {
            infer_trace_start(&tr, rng, value, value ? strlen(value) : 0, 1);
            infer_trace_format(buf, &tr);
        }

        t = (now() - t) / 1000000 * 1e9;
        best = t < best ? t : best;
    }

    return best;
}


int
main(void)
{
    int                         i;
    char                        err[INFER_ERRLEN];
    char                        names[BENCH_MODELS][16];
    void                       *base;
    double                      t;
    size_t                      size, needed, len;
    uint8_t                     id[INFER_TRACE_ID_LEN];
    infer_metrics_t            *m, *shared;
    infer_trace_rng_t           rng;
    infer_metrics_conf_t        conf;
    infer_metrics_model_conf_t  mc[BENCH_MODELS];

    static const char  *formats[] = { "text", "openmetrics", "json" };

    memset(&conf, 0, sizeof(infer_metrics_conf_t));

    for (i = 0; i < BENCH_MODELS; i++) {
        snprintf(names[i], sizeof(names[i]), "model%d", i);
        mc[i].name = names[i];
        mc[i].name_len = strlen(names[i]);
        mc[i].version = "1";
        mc[i].version_len = 1;
        mc[i].format = "xgboost";
        mc[i].format_len = 7;
    }

    conf.models = mc;
    conf.nmodels = BENCH_MODELS;
    conf.nworkers = 2;
    conf.version = "bench";
    conf.now_ms = 1700000000000ULL;

    size = infer_metrics_size_auto(&conf);

    if (posix_memalign(&base, INFER_METRICS_ALIGN, size) != 0
        || infer_metrics_init(&m, base, size, &conf, &infer_alloc_libc,
                              &needed, err, sizeof(err)) != INFER_OK
        || infer_metrics_init(&shared, base, size, &conf, &infer_alloc_libc,
                              &needed, err, sizeof(err)) != INFER_OK)
    {
        printf("bench: init failed: %s\n", err);
        return 1;
    }

    printf("block: %zu bytes needed for %d models and 2 workers, "
           "%zu with headroom\n", infer_metrics_size(&conf), BENCH_MODELS,
           size);

    infer_trace_seed(&rng, 42);
    memset(id, 0x42, sizeof(id));

    infer_metrics_attach(m, 1234, alive, NULL);

    printf("update, own slot:           %6.1f ns per request\n",
           updates(m, id));
    printf("update, own, no exemplar:   %6.1f ns per request\n",
           updates(m, NULL));
    printf("update, shared slot:        %6.1f ns per request\n",
           updates(shared, id));

    for (i = 0; i < 3; i++) {
        t = renders(base, i, &len);
        printf("render %-11s %2d models: %6.1f us for %zu bytes\n",
               formats[i], BENCH_MODELS, t, len);
    }

    printf("trace, new ids + format:    %6.1f ns\n", traces(&rng, NULL));
    printf("trace, parse + format:      %6.1f ns\n",
           traces(&rng, "00-4bf92f3577b34da6a3ce929d0e0e4736-"
                        "00f067aa0ba902b7-01"));

    free(m);
    free(shared);
    free(base);

    return 0;
}
