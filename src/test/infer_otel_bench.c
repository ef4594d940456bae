/*
 * Micro-benchmark of the trace exporter's core: nanoseconds per request
 * to add its spans (a SERVER span with 16 attributes, as the glue makes
 * one for /v2/models/{model}/infer, and 3 INTERNAL children with 0 or 1),
 * sealing and popping the batches they fill included, and the bytes of
 * body a request adds, for protobuf, JSON and both with gzip.  Each
 * request has its own random ids and times, as real ones do (ids are what
 * compresses worst).  The batches are the glue's defaults: 512 spans or
 * 256 KB, 4 queued.  Best of several runs: shared machines are noisy.
 *
 *   cc -std=c99 -D_GNU_SOURCE -O2 -Isrc -Isrc/otel \
 *       $(ls src/infer_*.c src/otel/infer_otel_*.c | grep -v bpf) \
 *       src/test/infer_otel_bench.c -lyajl -lz -lm -o otel_bench
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "infer_otel.h"
#include "infer_trace.h"


#define BENCH_REQUESTS  100000
#define BENCH_RUNS      7
#define BENCH_UA        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) " \
                        "Gecko/20100101 Firefox"


typedef struct {
    infer_otel_span_t    spans[4];
    infer_otel_attr_t    attrs[17];
} bench_request_t;


int main(void);

static double now(void);
static void str_attr(infer_otel_attr_t *a, const char *key, const char *v);
static void int_attr(infer_otel_attr_t *a, const char *key, int64_t v);
static void make_request(bench_request_t *r);
static void next_request(bench_request_t *r, infer_trace_rng_t *rng,
    uint64_t t);
static double run(int protocol, int gzip, size_t *bytes, size_t *batches);


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec * 1e-9;
}


static void
str_attr(infer_otel_attr_t *a, const char *key, const char *v)
{
    a->key = key;
    a->key_len = strlen(key);
    a->type = INFER_OTEL_STRING;
    a->v.s = v;
    a->len = strlen(v);
}


static void
int_attr(infer_otel_attr_t *a, const char *key, int64_t v)
{
    a->key = key;
    a->key_len = strlen(key);
    a->type = INFER_OTEL_INT;
    a->v.i = v;
}


static void
make_request(bench_request_t *r)
{
    int                 i;
    infer_otel_attr_t  *a;

    static const char  *names[] = {
        "POST /v2/models/{model}/infer", "infer.parse", "infer.eval",
        "infer.respond"
    };

    memset(r, 0, sizeof(bench_request_t));
    a = r->attrs;

    str_attr(&a[0], "http.request.method", "POST");
    str_attr(&a[1], "url.path", "/v2/models/iris/infer");
    str_attr(&a[2], "url.scheme", "http");
    str_attr(&a[3], "http.route", "/v2/models/{model}/infer");
    int_attr(&a[4], "http.response.status_code", 200);
    str_attr(&a[5], "server.address", "infer.example.internal");
    int_attr(&a[6], "server.port", 8080);
    str_attr(&a[7], "client.address", "10.12.34.56");
    str_attr(&a[8], "user_agent.original", BENCH_UA);
    str_attr(&a[9], "network.protocol.version", "1.1");
    str_attr(&a[10], "infer.model.name", "iris");
    str_attr(&a[11], "infer.model.version", "3");
    str_attr(&a[12], "infer.model.format", "xgboost");
    int_attr(&a[13], "infer.batch_size", 16);
    str_attr(&a[14], "infer.status", "ok");
    int_attr(&a[15], "infer.sched_delay_us", 42);
    int_attr(&a[16], "infer.rows", 16);

    for (i = 0; i < 4; i++) {
        r->spans[i].name = names[i];
        r->spans[i].name_len = strlen(names[i]);
        r->spans[i].kind = i ? INFER_OTEL_KIND_INTERNAL
                             : INFER_OTEL_KIND_SERVER;
        r->spans[i].flags = 0x01 | INFER_OTEL_FLAG_HAS_IS_REMOTE;
        r->spans[i].has_parent = (i != 0);
    }

    r->spans[0].attrs = a;
    r->spans[0].nattrs = 16;
    r->spans[2].attrs = &a[16];
    r->spans[2].nattrs = 1;
}


/* new ids and times, as each request has */

static void
next_request(bench_request_t *r, infer_trace_rng_t *rng, uint64_t t)
{
    int       i;
    uint64_t  x[3];

    x[0] = infer_trace_rand(rng);
    x[1] = infer_trace_rand(rng);

    for (i = 0; i < 4; i++) {
        memcpy(r->spans[i].trace_id, x, 16);
        x[2] = infer_trace_rand(rng);
        memcpy(r->spans[i].span_id, &x[2], 8);
        memcpy(r->spans[i].parent_id, r->spans[0].span_id, 8);
        r->spans[i].start_ns = t + 1000 * (uint64_t) i;
        r->spans[i].end_ns = t + 250000 - 1000 * (uint64_t) i;
    }
}


/* ns per request, best of the runs; the body bytes of one run */

static double
run(int protocol, int gzip, size_t *bytes, size_t *batches)
{
    int                       rc, niov, r;
    size_t                    i;
    double                    t, best;
    struct iovec              iov[3];
    bench_request_t           req;
    infer_trace_rng_t         rng;
    infer_otel_attr_t         res_attrs[3];
    infer_otel_queue_t       *q;
    infer_otel_batch_t       *b;
    infer_otel_resource_t     res;
    infer_otel_queue_conf_t   conf;

    memset(res_attrs, 0, sizeof(res_attrs));
    str_attr(&res_attrs[0], "service.name", "nginx-infer");
    str_attr(&res_attrs[1], "host.name", "worker-7f9c4d");
    int_attr(&res_attrs[2], "process.pid", 4242);

    res.attrs = res_attrs;
    res.nattrs = 3;
    res.scope_name = "ngx_http_infer_module";
    res.scope_version = "1.0.0";
    res.schema_url = "https://opentelemetry.io/schemas/1.26.0";

    conf.protocol = protocol;
    conf.gzip = gzip;
    conf.batch_spans = 512;
    conf.batch_bytes = (size_t) 512 * 512;
    conf.queued = 4;
    conf.resource = &res;

    if (infer_otel_queue_create(&q, &conf) != INFER_OK) {
        fprintf(stderr, "infer_otel_queue_create() failed\n");
        exit(1);
    }

    make_request(&req);
    best = 1e9;

    for (r = 0; r < BENCH_RUNS; r++) {
        infer_trace_seed(&rng, 42);
        *bytes = 0;
        *batches = 0;

        t = now();

        for (i = 0; i < BENCH_REQUESTS; i++) {
            next_request(&req, &rng, 1700000000000000000ULL + i * 1000000);

            rc = infer_otel_queue_add(q, req.spans, 4);

            if (rc != INFER_OK) {
                fprintf(stderr, "infer_otel_queue_add(): %d\n", rc);
                exit(1);
            }

            /* what the exporter does with a sealed batch, but send it */

            while ((b = infer_otel_queue_peek(q)) != NULL) {
                *bytes += infer_otel_batch_body(b, iov, &niov);
                (*batches)++;
                infer_otel_queue_pop(q);
            }
        }

        t = (now() - t) / BENCH_REQUESTS * 1e9;
        best = t < best ? t : best;

        infer_otel_queue_seal(q);

        while ((b = infer_otel_queue_peek(q)) != NULL) {
            *bytes += infer_otel_batch_body(b, iov, &niov);
            (*batches)++;
            infer_otel_queue_pop(q);
        }
    }

    infer_otel_queue_destroy(q);

    return best;
}


int
main(void)
{
    int     i;
    size_t  bytes[4], batches;
    double  ns;

    static const char  *what[] = {
        "protobuf", "JSON", "protobuf+gzip 1", "JSON+gzip 1"
    };

    printf("a request (1 SERVER span, 16 attributes; 3 INTERNAL, 0-1), "
           "%d requests, best of %d:\n", BENCH_REQUESTS, BENCH_RUNS);

    for (i = 0; i < 4; i++) {
        ns = run(i & 1, (i & 2) ? 1 : 0, &bytes[i], &batches);
        printf("  %-16s %6.0f ns  %6.0f body bytes  (%zu batches)\n",
               what[i], ns, (double) bytes[i] / BENCH_REQUESTS, batches);
    }

    printf("  gzip: protobuf %.2f, JSON %.2f of the plain bytes\n",
           (double) bytes[2] / bytes[0], (double) bytes[3] / bytes[1]);

    return 0;
}
