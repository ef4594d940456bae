/*
 * The metrics block: exact expositions of a small configuration updated
 * from two worker slots, reloads that keep, hide, add and re-bucket
 * series, dead and shared slots, migration to a block of another size,
 * label escaping, sizing errors, and a seqlock that never tears.
 *
 * INFER_METRICS_DUMP=dir writes the expositions of the first test to
 * dir/metrics.{prom,om,json}, for promtool and OpenMetrics parsers.
 */

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "infer_prom.h"
#include "infer_unit_test.h"


#define T0  1700000000123ULL          /* the block's creation, unix ms */

#define REQ(model, code)                                                     \
    "nginx_infer_requests_total{model=\"" model "\",code=\"" code "\"}"


static void *block_alloc(size_t size);
static infer_metrics_t *view(const infer_metrics_t *m);
static char *render(const void *base, int format);
static const char *line(const char *text, const char *prefix);
static int alive(void *ctx, int32_t pid);
static void conf_init(infer_metrics_conf_t *conf,
    const infer_metrics_model_conf_t *models, size_t n);
static infer_metrics_t *init(void *base, size_t size,
    const infer_metrics_conf_t *conf);
static void request(infer_metrics_t *m, size_t model, int status,
    int reason, uint32_t rows, uint64_t request_ns, uint64_t inference_ns,
    int id, uint64_t now_ms);
static void dump(const char *name, const char *text);
static void test_exposition(void);
static void test_reload(void);
static void test_rebucket(void);
static void test_slots(void);
static void test_migrate(void);
static void test_optional(void);
static void test_escaping(void);
static void test_sizes(void);
static void test_bad_conf(void);
static void test_format_le(void);
static void test_quantile(void);
static void test_accept(void);
static void *seqlock_writer(void *arg);
static void test_seqlock(void);


static const double  lat[] = { 1e-5, 1e-4, 1e-3 };
static const double  batch[] = { 1, 4 };

static const infer_metrics_model_conf_t  ab[] = {
    { "a", 1, "1", 1, "linear", 6, 0 },
    { "b", 1, "2", 1, "linear", 6, 0 }
};

static int32_t  dead[8];              /* pids alive() says are gone */


static void *
block_alloc(size_t size)
{
    void  *p;

    if (posix_memalign(&p, INFER_METRICS_ALIGN, size) != 0) {
        return NULL;
    }

    memset(p, 0xa5, size);            /* as a reused mapping might hold */

    return p;
}


/* another worker: a process's copy of the master's view */

static infer_metrics_t *
view(const infer_metrics_t *m)
{
    size_t            size;
    infer_metrics_t  *v;

    size = sizeof(infer_metrics_t)
           + (m->nmodels + 1) * INFER_MF_N * sizeof(infer_metrics_series_t);

    v = malloc(size);
    memcpy(v, m, size);
    v->series = (infer_metrics_series_t *) (v + 1);

    return v;
}


/* renders, checking the snprintf contract on the way */

static char *
render(const void *base, int format)
{
    char    *text, small[16];
    size_t   n;

    n = infer_prom_render(NULL, 0, base, format, T0 + 11000);
    text = malloc(n + 1);

    CHECK(infer_prom_render(text, n + 1, base, format, T0 + 11000) == n);
    CHECK(strlen(text) == n);

    CHECK(infer_prom_render(small, sizeof(small), base, format, T0 + 11000)
          == n);
    CHECK(strlen(small) == sizeof(small) - 1
          && memcmp(small, text, sizeof(small) - 1) == 0);

    return text;
}


/* the line of text that starts with prefix, without its newline */

static const char *
line(const char *text, const char *prefix)
{
    size_t       n;
    const char  *p;
    static char  buf[512];

    for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
        if (*p == '\n') {
            p++;
        }

        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            n = strcspn(p, "\n");
            n = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            return buf;
        }
    }

    return "(none)";
}


static int
alive(void *ctx, int32_t pid)
{
    size_t  i;

    (void) ctx;

    for (i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
        if (dead[i] == pid) {
            return 0;
        }
    }

    return 1;
}


static void
conf_init(infer_metrics_conf_t *conf, const infer_metrics_model_conf_t *models,
    size_t n)
{
    memset(conf, 0, sizeof(infer_metrics_conf_t));

    conf->models = models;
    conf->nmodels = n;
    conf->buckets[INFER_MB_LATENCY].bounds = lat;
    conf->buckets[INFER_MB_LATENCY].n = 3;
    conf->buckets[INFER_MB_BATCH].bounds = batch;
    conf->buckets[INFER_MB_BATCH].n = 2;
    conf->nworkers = 1;
    conf->version = "0.1.0";
    conf->now_ms = T0;
}


static infer_metrics_t *
init(void *base, size_t size, const infer_metrics_conf_t *conf)
{
    int               rc;
    char              err[INFER_ERRLEN];
    size_t            needed;
    infer_metrics_t  *m;

    rc = infer_metrics_init(&m, base, size, conf, &infer_alloc_libc, &needed,
                            err, sizeof(err));
    CHECK(rc == INFER_OK);

    if (rc != INFER_OK) {
        printf("not ok: init: %s\n", err);
        exit(1);
    }

    return m;
}


/* one request, start to end; id 0: no trace id */

static void
request(infer_metrics_t *m, size_t model, int status, int reason,
    uint32_t rows, uint64_t request_ns, uint64_t inference_ns, int id,
    uint64_t now_ms)
{
    uint8_t              trace_id[16];
    infer_metrics_obs_t  o;

    memset(&o, 0, sizeof(infer_metrics_obs_t));
    memset(trace_id, id, sizeof(trace_id));

    o.status = status;
    o.reason = reason;
    o.rows = rows;
    o.request_ns = request_ns;
    o.inference_ns = inference_ns;
    o.evaluated = inference_ns > 0;
    o.trace_id = id ? trace_id : NULL;
    o.now_ms = now_ms;

    infer_metrics_request_start(m, model);
    infer_metrics_request_done(m, model, &o);
}


static void
dump(const char *name, const char *text)
{
    char         path[512];
    FILE        *f;
    const char  *dir;

    dir = getenv("INFER_METRICS_DUMP");
    if (dir == NULL) {
        return;
    }

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}


static const char  expect_text[] =
    "# HELP nginx_infer_requests_total Requests answered, by model and "
    "HTTP status.\n"
    "# TYPE nginx_infer_requests_total counter\n"
    "nginx_infer_requests_total{model=\"a\",code=\"200\"} 3\n"
    "nginx_infer_requests_total{model=\"a\",code=\"400\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"404\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"405\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"413\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"415\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"422\"} 1\n"
    "nginx_infer_requests_total{model=\"a\",code=\"500\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"503\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"other\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"200\"} 2\n"
    "nginx_infer_requests_total{model=\"b\",code=\"400\"} 1\n"
    "nginx_infer_requests_total{model=\"b\",code=\"404\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"405\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"413\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"415\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"422\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"500\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"503\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"other\"} 0\n"
    "# HELP nginx_infer_predictions_total Rows predicted.\n"
    "# TYPE nginx_infer_predictions_total counter\n"
    "nginx_infer_predictions_total{model=\"a\"} 7\n"
    "nginx_infer_predictions_total{model=\"b\"} 17\n"
    "# HELP nginx_infer_errors_total Requests refused or failed, by "
    "reason.\n"
    "# TYPE nginx_infer_errors_total counter\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"bad_json\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"bad_request\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"bad_shape\"} 1\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"non_finite\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"too_large\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"method\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"content_type\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"unknown_model\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"internal\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"bad_json\"} 1\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"bad_request\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"bad_shape\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"non_finite\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"too_large\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"method\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"content_type\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"unknown_model\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"internal\"} 0\n"
    "# HELP nginx_infer_requests_in_flight Requests being served.\n"
    "# TYPE nginx_infer_requests_in_flight gauge\n"
    "nginx_infer_requests_in_flight{model=\"a\"} 0\n"
    "nginx_infer_requests_in_flight{model=\"b\"} 1\n"
    "# HELP nginx_infer_request_duration_seconds Time from the request "
    "head to the end of the response.\n"
    "# TYPE nginx_infer_request_duration_seconds histogram\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\",le=\"1e-05\"} "
    "1\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\","
    "le=\"0.0001\"} 3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\",le=\"0.001\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\",le=\"+Inf\"} "
    "4\n"
    "nginx_infer_request_duration_seconds_sum{model=\"a\"} 0.00207\n"
    "nginx_infer_request_duration_seconds_count{model=\"a\"} 4\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\",le=\"1e-05\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\","
    "le=\"0.0001\"} 3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\",le=\"0.001\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\",le=\"+Inf\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_sum{model=\"b\"} 0.000021\n"
    "nginx_infer_request_duration_seconds_count{model=\"b\"} 3\n"
    "# HELP nginx_infer_inference_duration_seconds Time spent evaluating "
    "the model.\n"
    "# TYPE nginx_infer_inference_duration_seconds histogram\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"1e-05\"} 1\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"0.0001\"} 2\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"0.001\"} 3\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"+Inf\"} 3\n"
    "nginx_infer_inference_duration_seconds_sum{model=\"a\"} 0.000923\n"
    "nginx_infer_inference_duration_seconds_count{model=\"a\"} 3\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"1e-05\"} 2\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"0.0001\"} 2\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"0.001\"} 2\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"+Inf\"} 2\n"
    "nginx_infer_inference_duration_seconds_sum{model=\"b\"} 0.000005\n"
    "nginx_infer_inference_duration_seconds_count{model=\"b\"} 2\n"
    "# HELP nginx_infer_batch_size Rows per request.\n"
    "# TYPE nginx_infer_batch_size histogram\n"
    "nginx_infer_batch_size_bucket{model=\"a\",le=\"1.0\"} 1\n"
    "nginx_infer_batch_size_bucket{model=\"a\",le=\"4.0\"} 3\n"
    "nginx_infer_batch_size_bucket{model=\"a\",le=\"+Inf\"} 3\n"
    "nginx_infer_batch_size_sum{model=\"a\"} 7\n"
    "nginx_infer_batch_size_count{model=\"a\"} 3\n"
    "nginx_infer_batch_size_bucket{model=\"b\",le=\"1.0\"} 1\n"
    "nginx_infer_batch_size_bucket{model=\"b\",le=\"4.0\"} 1\n"
    "nginx_infer_batch_size_bucket{model=\"b\",le=\"+Inf\"} 2\n"
    "nginx_infer_batch_size_sum{model=\"b\"} 17\n"
    "nginx_infer_batch_size_count{model=\"b\"} 2\n"
    "# HELP nginx_infer_model_info Models loaded, with their version and "
    "format.\n"
    "# TYPE nginx_infer_model_info gauge\n"
    "nginx_infer_model_info{model=\"a\",version=\"1\",format=\"linear\"} "
    "1\n"
    "nginx_infer_model_info{model=\"b\",version=\"2\",format=\"linear\"} "
    "1\n"
    "# HELP nginx_infer_worker_requests_total Requests counted by each "
    "worker slot.\n"
    "# TYPE nginx_infer_worker_requests_total counter\n"
    "nginx_infer_worker_requests_total{worker=\"0\"} 4\n"
    "nginx_infer_worker_requests_total{worker=\"1\"} 3\n"
    "# HELP nginx_infer_build_info The module's version.\n"
    "# TYPE nginx_infer_build_info gauge\n"
    "nginx_infer_build_info{version=\"0.1.0\"} 1\n"
    "# HELP nginx_infer_start_time_seconds Unix time the metrics were "
    "first laid out.\n"
    "# TYPE nginx_infer_start_time_seconds gauge\n"
    "nginx_infer_start_time_seconds 1700000000.123\n"
;

static const char  expect_om[] =
    "# TYPE nginx_infer_requests counter\n"
    "# HELP nginx_infer_requests Requests answered, by model and HTTP "
    "status.\n"
    "nginx_infer_requests_total{model=\"a\",code=\"200\"} 3\n"
    "nginx_infer_requests_total{model=\"a\",code=\"400\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"404\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"405\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"413\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"415\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"422\"} 1\n"
    "nginx_infer_requests_total{model=\"a\",code=\"500\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"503\"} 0\n"
    "nginx_infer_requests_total{model=\"a\",code=\"other\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"200\"} 2\n"
    "nginx_infer_requests_total{model=\"b\",code=\"400\"} 1\n"
    "nginx_infer_requests_total{model=\"b\",code=\"404\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"405\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"413\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"415\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"422\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"500\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"503\"} 0\n"
    "nginx_infer_requests_total{model=\"b\",code=\"other\"} 0\n"
    "# TYPE nginx_infer_predictions counter\n"
    "# HELP nginx_infer_predictions Rows predicted.\n"
    "nginx_infer_predictions_total{model=\"a\"} 7\n"
    "nginx_infer_predictions_total{model=\"b\"} 17\n"
    "# TYPE nginx_infer_errors counter\n"
    "# HELP nginx_infer_errors Requests refused or failed, by reason.\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"bad_json\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"bad_request\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"bad_shape\"} 1\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"non_finite\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"too_large\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"method\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"content_type\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"unknown_model\"} 0\n"
    "nginx_infer_errors_total{model=\"a\",reason=\"internal\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"bad_json\"} 1\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"bad_request\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"bad_shape\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"non_finite\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"too_large\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"method\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"content_type\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"unknown_model\"} 0\n"
    "nginx_infer_errors_total{model=\"b\",reason=\"internal\"} 0\n"
    "# TYPE nginx_infer_requests_in_flight gauge\n"
    "# HELP nginx_infer_requests_in_flight Requests being served.\n"
    "nginx_infer_requests_in_flight{model=\"a\"} 0\n"
    "nginx_infer_requests_in_flight{model=\"b\"} 1\n"
    "# TYPE nginx_infer_request_duration_seconds histogram\n"
    "# UNIT nginx_infer_request_duration_seconds seconds\n"
    "# HELP nginx_infer_request_duration_seconds Time from the request "
    "head to the end of the response.\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\",le=\"1e-05\"} "
    "1 # {trace_id=\"11111111111111111111111111111111\"} 0.000008 "
    "1700000001.124\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\","
    "le=\"0.0001\"} 3 # {trace_id=\"33333333333333333333333333333333\"} "
    "0.000012 1700000001.126\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\",le=\"0.001\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"a\",le=\"+Inf\"} "
    "4 # {trace_id=\"44444444444444444444444444444444\"} 0.002 "
    "1700000001.127\n"
    "nginx_infer_request_duration_seconds_sum{model=\"a\"} 0.00207\n"
    "nginx_infer_request_duration_seconds_count{model=\"a\"} 4\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\",le=\"1e-05\"} "
    "3 # {trace_id=\"66666666666666666666666666666666\"} 0.000007 "
    "1700000001.129\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\","
    "le=\"0.0001\"} 3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\",le=\"0.001\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_bucket{model=\"b\",le=\"+Inf\"} "
    "3\n"
    "nginx_infer_request_duration_seconds_sum{model=\"b\"} 0.000021\n"
    "nginx_infer_request_duration_seconds_count{model=\"b\"} 3\n"
    "# TYPE nginx_infer_inference_duration_seconds histogram\n"
    "# UNIT nginx_infer_inference_duration_seconds seconds\n"
    "# HELP nginx_infer_inference_duration_seconds Time spent evaluating "
    "the model.\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"1e-05\"} 1 # {trace_id=\"11111111111111111111111111111111\"} "
    "0.000003 1700000001.124\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"0.0001\"} 2 # {trace_id=\"22222222222222222222222222222222\"} "
    "0.00002 1700000001.125\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"0.001\"} 3 # {trace_id=\"44444444444444444444444444444444\"} "
    "0.0009 1700000001.127\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"a\","
    "le=\"+Inf\"} 3\n"
    "nginx_infer_inference_duration_seconds_sum{model=\"a\"} 0.000923\n"
    "nginx_infer_inference_duration_seconds_count{model=\"a\"} 3\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"1e-05\"} 2 # {trace_id=\"55555555555555555555555555555555\"} "
    "0.000001 1700000001.128\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"0.0001\"} 2\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"0.001\"} 2\n"
    "nginx_infer_inference_duration_seconds_bucket{model=\"b\","
    "le=\"+Inf\"} 2\n"
    "nginx_infer_inference_duration_seconds_sum{model=\"b\"} 0.000005\n"
    "nginx_infer_inference_duration_seconds_count{model=\"b\"} 2\n"
    "# TYPE nginx_infer_batch_size histogram\n"
    "# HELP nginx_infer_batch_size Rows per request.\n"
    "nginx_infer_batch_size_bucket{model=\"a\",le=\"1.0\"} 1\n"
    "nginx_infer_batch_size_bucket{model=\"a\",le=\"4.0\"} 3\n"
    "nginx_infer_batch_size_bucket{model=\"a\",le=\"+Inf\"} 3\n"
    "nginx_infer_batch_size_sum{model=\"a\"} 7\n"
    "nginx_infer_batch_size_count{model=\"a\"} 3\n"
    "nginx_infer_batch_size_bucket{model=\"b\",le=\"1.0\"} 1\n"
    "nginx_infer_batch_size_bucket{model=\"b\",le=\"4.0\"} 1\n"
    "nginx_infer_batch_size_bucket{model=\"b\",le=\"+Inf\"} 2\n"
    "nginx_infer_batch_size_sum{model=\"b\"} 17\n"
    "nginx_infer_batch_size_count{model=\"b\"} 2\n"
    "# TYPE nginx_infer_model info\n"
    "# HELP nginx_infer_model Models loaded, with their version and "
    "format.\n"
    "nginx_infer_model_info{model=\"a\",version=\"1\",format=\"linear\"} "
    "1\n"
    "nginx_infer_model_info{model=\"b\",version=\"2\",format=\"linear\"} "
    "1\n"
    "# TYPE nginx_infer_worker_requests counter\n"
    "# HELP nginx_infer_worker_requests Requests counted by each worker "
    "slot.\n"
    "nginx_infer_worker_requests_total{worker=\"0\"} 4\n"
    "nginx_infer_worker_requests_total{worker=\"1\"} 3\n"
    "# TYPE nginx_infer_build info\n"
    "# HELP nginx_infer_build The module's version.\n"
    "nginx_infer_build_info{version=\"0.1.0\"} 1\n"
    "# TYPE nginx_infer_start_time_seconds gauge\n"
    "# UNIT nginx_infer_start_time_seconds seconds\n"
    "# HELP nginx_infer_start_time_seconds Unix time the metrics were "
    "first laid out.\n"
    "nginx_infer_start_time_seconds 1700000000.123\n"
    "# EOF\n"
;

static const char  expect_json[] =
    "{\"version\":\"0.1.0\",\"start_time_seconds\":1700000000.123,"
    "\"uptime_seconds\":11.000,\"models\":[{\"model\":\"a\","
    "\"version\":\"1\",\"format\":\"linear\",\"requests_total\":{\"200\":3,"
    "\"400\":0,\"404\":0,\"405\":0,\"413\":0,\"415\":0,\"422\":1,\"500\":0,"
    "\"503\":0,\"other\":0,\"all\":4},\"predictions_total\":7,"
    "\"errors_total\":{\"bad_json\":0,\"bad_request\":0,\"bad_shape\":1,"
    "\"non_finite\":0,\"too_large\":0,\"method\":0,\"content_type\":0,"
    "\"unknown_model\":0,\"internal\":0,\"all\":1},"
    "\"requests_in_flight\":0,\"request_duration_seconds\":{\"count\":4,"
    "\"sum\":0.00207,\"p50\":5.5e-05,\"p90\":0.001,\"p99\":0.001},"
    "\"inference_duration_seconds\":{\"count\":3,\"sum\":0.000923,"
    "\"p50\":5.5e-05,\"p90\":0.00073,\"p99\":0.000973},\"batch_size\":{"
    "\"count\":3,\"sum\":7,\"p50\":1.75,\"p90\":3.55,\"p99\":3.955}},{"
    "\"model\":\"b\",\"version\":\"2\",\"format\":\"linear\","
    "\"requests_total\":{\"200\":2,\"400\":1,\"404\":0,\"405\":0,\"413\":0,"
    "\"415\":0,\"422\":0,\"500\":0,\"503\":0,\"other\":0,\"all\":3},"
    "\"predictions_total\":17,\"errors_total\":{\"bad_json\":1,"
    "\"bad_request\":0,\"bad_shape\":0,\"non_finite\":0,\"too_large\":0,"
    "\"method\":0,\"content_type\":0,\"unknown_model\":0,\"internal\":0,"
    "\"all\":1},\"requests_in_flight\":1,\"request_duration_seconds\":{"
    "\"count\":3,\"sum\":0.000021,\"p50\":5e-06,\"p90\":9e-06,"
    "\"p99\":9.9e-06},\"inference_duration_seconds\":{\"count\":2,"
    "\"sum\":0.000005,\"p50\":5e-06,\"p90\":9e-06,\"p99\":9.9e-06},"
    "\"batch_size\":{\"count\":2,\"sum\":17,\"p50\":1,\"p90\":4,"
    "\"p99\":4}}],\"workers\":[{\"worker\":0,\"pid\":101,\"requests\":4},{"
    "\"worker\":1,\"pid\":102,\"requests\":3}]}\n"
;


/*
 * Two models, three latency buckets, two batch buckets; two workers:
 *
 *   slot 0 (pid 101): a 200 1 row   8 us (3 us);  a 200 4 rows 50 us (20 us);
 *                     a 422 12 us;                b 200 16 rows 9 us (4 us)
 *   slot 1 (pid 102): a 200 2 rows 2 ms (900 us); b 200 1 row 5 us (1 us);
 *                     b 400 7 us;                 b one more in flight
 */

static void
test_exposition(void)
{
    char                  *text;
    void                  *base;
    size_t                 size;
    infer_metrics_t       *m, *w1, *w2;
    infer_metrics_conf_t   conf;

    conf_init(&conf, ab, 2);
    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);

    w1 = view(m);
    w2 = view(m);

    CHECK(infer_metrics_attach(w1, 101, alive, NULL) == INFER_OK);
    CHECK(infer_metrics_attach(w2, 102, alive, NULL) == INFER_OK);
    CHECK(w1->slot_index == 0 && !w1->shared);
    CHECK(w2->slot_index == 1 && !w2->shared);

    request(w1, 0, 200, INFER_REASON_NONE, 1, 8000, 3000, 0x11, T0 + 1001);
    request(w1, 0, 200, INFER_REASON_NONE, 4, 50000, 20000, 0x22, T0 + 1002);
    request(w1, 0, 422, INFER_REASON_BAD_SHAPE, 0, 12000, 0, 0x33, T0 + 1003);
    request(w2, 0, 200, INFER_REASON_NONE, 2, 2000000, 900000, 0x44,
            T0 + 1004);

    infer_metrics_request_start(w2, 1);
    request(w2, 1, 200, INFER_REASON_NONE, 1, 5000, 1000, 0x55, T0 + 1005);
    request(w2, 1, 400, INFER_REASON_BAD_JSON, 0, 7000, 0, 0x66, T0 + 1006);
    request(w1, 1, 200, INFER_REASON_NONE, 16, 9000, 4000, 0x77, T0 + 1000);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(text, expect_text);
    dump("metrics.prom", text);
    free(text);

    text = render(base, INFER_PROM_OPENMETRICS);
    CHECK_STR(text, expect_om);
    CHECK(strcmp(text + strlen(text) - 6, "# EOF\n") == 0);
    dump("metrics.om", text);
    free(text);

    text = render(base, INFER_PROM_JSON);
    CHECK_STR(text, expect_json);
    dump("metrics.json", text);
    free(text);

    free(w1);
    free(w2);
    free(m);
    free(base);
}


/*
 * A reload hands the same memory back: a removed, b hidden, c added, a
 * request in flight across it; then b back and a with a new version.
 */

static void
test_reload(void)
{
    char                        *text;
    void                        *base;
    size_t                       size;
    infer_metrics_t             *m, *m2, *m3, *w1, *w2;
    infer_metrics_obs_t          o;
    infer_metrics_conf_t         conf;
    const infer_metrics_hdr_t   *hdr;

    static const infer_metrics_model_conf_t  ac[] = {
        { "a", 1, "1", 1, "linear", 6, 0 },
        { "c", 1, "1", 1, "onnx", 4, 0 }
    };

    static const infer_metrics_model_conf_t  cab[] = {
        { "c", 1, "1", 1, "onnx", 4, 0 },
        { "a", 1, "2", 1, "linear", 6, 0 },
        { "b", 1, "2", 1, "linear", 6, 0 }
    };

    conf_init(&conf, ab, 2);
    size = infer_metrics_size_auto(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);

    w1 = view(m);
    infer_metrics_attach(w1, 101, alive, NULL);

    request(w1, 0, 200, INFER_REASON_NONE, 3, 20000, 5000, 0, 0);
    request(w1, 0, 200, INFER_REASON_NONE, 3, 20000, 5000, 0, 0);
    request(w1, 1, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);
    infer_metrics_request_start(w1, 0);

    conf_init(&conf, ac, 2);
    conf.now_ms = T0 + 5000;
    m2 = init(base, size, &conf);

    hdr = infer_metrics_header(base);
    CHECK(hdr->generation == 2 && hdr->start_ms == T0);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, REQ("a", "200")), REQ("a", "200") " 2");
    CHECK_STR(line(text, REQ("c", "200")), REQ("c", "200") " 0");
    CHECK_STR(line(text, "nginx_infer_requests_in_flight{model=\"a\"}"),
              "nginx_infer_requests_in_flight{model=\"a\"} 1");
    CHECK_STR(line(text, "nginx_infer_model_info"),
              "nginx_infer_model_info{model=\"a\",version=\"1\","
              "format=\"linear\"} 1");
    CHECK_STR(line(text, "nginx_infer_start_time_seconds "),
              "nginx_infer_start_time_seconds 1700000000.123");
    CHECK(strstr(text, "model=\"b\"") == NULL);
    free(text);

    /* the old worker ends its request, and serves b, hidden now */

    memset(&o, 0, sizeof(infer_metrics_obs_t));
    o.status = 200;
    o.reason = INFER_REASON_NONE;
    o.rows = 1;
    o.evaluated = 1;
    infer_metrics_request_done(w1, 0, &o);
    request(w1, 1, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);

    /* a worker of the new configuration: a and c */

    w2 = view(m2);
    infer_metrics_attach(w2, 102, alive, NULL);
    CHECK(w2->slot_index == 1);
    request(w2, 0, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);
    request(w2, 1, 404, INFER_REASON_NONE, 0, 20000, 0, 0, 0);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, REQ("a", "200")), REQ("a", "200") " 4");
    CHECK_STR(line(text, REQ("c", "404")), REQ("c", "404") " 1");
    CHECK_STR(line(text, "nginx_infer_requests_in_flight{model=\"a\"}"),
              "nginx_infer_requests_in_flight{model=\"a\"} 0");
    CHECK_STR(line(text, "nginx_infer_predictions_total{model=\"a\"}"),
              "nginx_infer_predictions_total{model=\"a\"} 8");
    CHECK(strstr(text, "model=\"b\"") == NULL);
    free(text);

    /* b again, and a new version of a: b resumes where it was */

    conf_init(&conf, cab, 3);
    m3 = init(base, size, &conf);
    CHECK(hdr->generation == 3);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, REQ("b", "200")), REQ("b", "200") " 2");
    CHECK_STR(line(text, REQ("a", "200")), REQ("a", "200") " 4");
    CHECK_STR(line(text, "nginx_infer_model_info{model=\"a\""),
              "nginx_infer_model_info{model=\"a\",version=\"2\","
              "format=\"linear\"} 1");
    CHECK_STR(line(text, "nginx_infer_model_info{model=\"c\""),
              "nginx_infer_model_info{model=\"c\",version=\"1\","
              "format=\"onnx\"} 1");
    CHECK(strstr(text, "version=\"1\",format=\"linear\"") == NULL);

    /* the series keep their places: a, b, then c, added later */

    CHECK(strstr(text, "nginx_infer_predictions_total{model=\"a\"} 8\n"
                       "nginx_infer_predictions_total{model=\"b\"} 2\n"
                       "nginx_infer_predictions_total{model=\"c\"} 0\n")
          != NULL);
    free(text);

    /* the handles of the new configuration are in its own order */

    request(m3, 0, 200, INFER_REASON_NONE, 5, 20000, 5000, 0, 0);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, "nginx_infer_predictions_total{model=\"c\"}"),
              "nginx_infer_predictions_total{model=\"c\"} 5");
    free(text);

    free(w1);
    free(w2);
    free(m);
    free(m2);
    free(m3);
    free(base);
}


/* new latency buckets: counts carried over to the new bounds */

static void
test_rebucket(void)
{
    char                  *text;
    void                  *base;
    size_t                 size;
    infer_metrics_t       *m, *m2;
    infer_metrics_conf_t   conf;

    static const double  lat2[] = { 5e-5, 1e-3, 1e-2 };

    conf_init(&conf, ab, 2);
    size = infer_metrics_size_auto(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);
    infer_metrics_attach(m, 101, alive, NULL);

    request(m, 0, 200, INFER_REASON_NONE, 1, 8000, 3000, 0, 0);
    request(m, 0, 200, INFER_REASON_NONE, 4, 50000, 20000, 0, 0);
    request(m, 0, 200, INFER_REASON_NONE, 2, 12000, 4000, 0, 0);
    request(m, 0, 200, INFER_REASON_NONE, 2, 2000000, 900000, 0, 0);

    conf.buckets[INFER_MB_LATENCY].bounds = lat2;
    m2 = init(base, size, &conf);
    infer_metrics_attach(m2, 102, alive, NULL);

    request(m2, 0, 200, INFER_REASON_NONE, 1, 30000, 3000, 0, 0);

    text = render(base, INFER_PROM_TEXT);
    CHECK(strstr(text,
          "nginx_infer_request_duration_seconds_bucket{model=\"a\","
          "le=\"5e-05\"} 2\n"
          "nginx_infer_request_duration_seconds_bucket{model=\"a\","
          "le=\"0.001\"} 4\n"
          "nginx_infer_request_duration_seconds_bucket{model=\"a\","
          "le=\"0.01\"} 4\n"
          "nginx_infer_request_duration_seconds_bucket{model=\"a\","
          "le=\"+Inf\"} 5\n"
          "nginx_infer_request_duration_seconds_sum{model=\"a\"} 0.0021\n"
          "nginx_infer_request_duration_seconds_count{model=\"a\"} 5\n")
          != NULL);

    /* the batch buckets did not change: the same series, 5 requests */

    CHECK_STR(line(text, "nginx_infer_batch_size_count{model=\"a\"}"),
              "nginx_infer_batch_size_count{model=\"a\"} 5");
    CHECK(strstr(text, "le=\"1e-05\"") == NULL);
    free(text);

    free(m);
    free(m2);
    free(base);
}


/* one worker: four slots of their own and the shared one */

static void
test_slots(void)
{
    int                          i;
    char                        *text;
    void                        *base;
    size_t                       size;
    infer_metrics_t             *m, *w[4], *w5, *w6, *w7, *w8;
    infer_metrics_conf_t         conf;
    const infer_metrics_slot_t  *s;

    conf_init(&conf, ab, 2);
    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);
    CHECK(infer_metrics_header(base)->nslots == 5);

    memset(dead, 0, sizeof(dead));

    for (i = 0; i < 4; i++) {
        w[i] = view(m);
        infer_metrics_attach(w[i], 201 + i, alive, NULL);
        CHECK(w[i]->slot_index == (uint32_t) i && !w[i]->shared);
    }

    infer_metrics_request_start(w[0], 0);
    infer_metrics_request_start(w[0], 0);
    request(w[0], 0, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);

    /* 201 is killed: 205 takes its slot, keeps its counts, not its load */

    dead[0] = 201;

    w5 = view(m);
    infer_metrics_attach(w5, 205, alive, NULL);
    s = infer_metrics_slot(base, 0);
    CHECK(w5->slot_index == 0 && !w5->shared);
    CHECK(s->pid == 205 && s->reclaims == 1 && s->claims == 2);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, "nginx_infer_requests_in_flight{model=\"a\"}"),
              "nginx_infer_requests_in_flight{model=\"a\"} 0");
    CHECK_STR(line(text, REQ("a", "200")), REQ("a", "200") " 1");
    CHECK_STR(line(text, "nginx_infer_worker_requests_total{worker=\"0\"}"),
              "nginx_infer_worker_requests_total{worker=\"0\"} 1");
    free(text);

    /* no slot left: 206 shares the last one, with atomic adds */

    w6 = view(m);
    infer_metrics_attach(w6, 206, alive, NULL);
    CHECK(w6->slot_index == 4 && w6->shared);

    request(w6, 0, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);
    request(w6, 0, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);
    request(w5, 0, 200, INFER_REASON_NONE, 1, 20000, 5000, 0, 0);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, REQ("a", "200")), REQ("a", "200") " 4");
    CHECK(strstr(text, "nginx_infer_worker_requests_total{worker=\"0\"} 2\n"
                       "nginx_infer_worker_requests_total{worker=\"1\"} 0\n"
                       "nginx_infer_worker_requests_total{worker=\"2\"} 0\n"
                       "nginx_infer_worker_requests_total{worker=\"3\"} 0\n"
                       "nginx_infer_worker_requests_total{worker=\"4\"} 2\n")
          != NULL);
    free(text);

    /* 202 dies with a request in flight: the scrape reaps its slot */

    infer_metrics_request_start(w[1], 1);
    dead[1] = 202;

    CHECK(infer_metrics_reap(w5, alive, NULL) == 1);
    CHECK(infer_metrics_slot(base, 1)->pid == 0);
    CHECK(infer_metrics_reap(w5, alive, NULL) == 0);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, "nginx_infer_requests_in_flight{model=\"b\"}"),
              "nginx_infer_requests_in_flight{model=\"b\"} 0");
    free(text);

    w7 = view(m);
    infer_metrics_attach(w7, 207, alive, NULL);
    CHECK(w7->slot_index == 1 && infer_metrics_slot(base, 1)->claims == 2);

    /* 203 died and a new worker got its pid: the slot is reclaimed */

    infer_metrics_request_start(w[2], 0);
    w8 = view(m);
    infer_metrics_attach(w8, 203, alive, NULL);
    CHECK(w8->slot_index == 2 && infer_metrics_slot(base, 2)->reclaims == 1);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, "nginx_infer_requests_in_flight{model=\"a\"}"),
              "nginx_infer_requests_in_flight{model=\"a\"} 0");
    free(text);

    /* a worker exiting frees its slot */

    infer_metrics_detach(w[3]);
    CHECK(infer_metrics_slot(base, 3)->pid == 0 && w[3]->shared);

    for (i = 0; i < 4; i++) {
        free(w[i]);
    }

    memset(dead, 0, sizeof(dead));

    free(w5);
    free(w6);
    free(w7);
    free(w8);
    free(m);
    free(base);
}


/* a zone of another size: a new block takes the old one's values */

static void
test_migrate(void)
{
    int                    i;
    char                  *old_text, *text;
    void                  *base, *base2;
    size_t                 size, size2;
    infer_metrics_t       *m, *m2, *w;
    infer_metrics_conf_t   conf;

    conf_init(&conf, ab, 2);
    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);

    w = view(m);
    infer_metrics_attach(w, 101, alive, NULL);
    request(w, 0, 200, INFER_REASON_NONE, 1, 8000, 3000, 0x11, T0 + 1);
    request(w, 0, 422, INFER_REASON_BAD_SHAPE, 0, 12000, 0, 0x22, T0 + 2);
    request(m, 1, 200, INFER_REASON_NONE, 9, 2000000, 900000, 0x33, T0 + 3);

    old_text = render(base, INFER_PROM_TEXT);

    /* two workers now: more slots, a bigger block */

    conf.nworkers = 2;
    conf.now_ms = T0 + 99000;
    size2 = infer_metrics_size_auto(&conf);
    base2 = block_alloc(size2);
    m2 = init(base2, size2, &conf);
    CHECK(infer_metrics_header(base2)->nslots == 7);

    CHECK(infer_metrics_migrate(m2, base, size) == INFER_OK);

    text = render(base2, INFER_PROM_TEXT);
    CHECK_STR(text, old_text);
    free(text);

    CHECK(infer_metrics_migrate(m2, base, size + 128) == INFER_EINVAL);

    /* and back to fewer slots: the shared slot 6 folds into slot 1 */

    for (i = 0; i < 7; i++) {
        free(w);
        w = view(m2);
        infer_metrics_attach(w, 301 + i, alive, NULL);
    }

    CHECK(w->slot_index == 6 && w->shared);
    request(w, 0, 200, INFER_REASON_NONE, 1, 8000, 3000, 0, 0);

    conf.nworkers = 1;
    memset(base, 0, size);
    free(m);
    m = init(base, size, &conf);
    CHECK(infer_metrics_migrate(m, base2, size2) == INFER_OK);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, "nginx_infer_worker_requests_total{worker=\"1\"}"),
              "nginx_infer_worker_requests_total{worker=\"1\"} 1");
    CHECK_STR(line(text, REQ("a", "200")), REQ("a", "200") " 2");
    CHECK_STR(line(text, "nginx_infer_start_time_seconds "),
              "nginx_infer_start_time_seconds 1700000000.123");
    free(text);

    free(old_text);
    free(w);
    free(m);
    free(m2);
    free(base);
    free(base2);
}


/* the families a configuration opts in to */

static void
test_optional(void)
{
    int                    i;
    char                  *text;
    void                  *base;
    size_t                 size;
    infer_metrics_t       *m, *w;
    infer_metrics_obs_t    o;
    infer_metrics_conf_t   conf;

    static const double  pred[] = { -1, 0, 1 };
    static const double  sched[] = { 1e-6, 1e-3 };
    static const double  values[] = { -2, 0.5, 3 };

    conf_init(&conf, ab, 1);
    conf.buckets[INFER_MB_PREDICTION].bounds = pred;
    conf.buckets[INFER_MB_PREDICTION].n = 3;
    conf.buckets[INFER_MB_SCHED].bounds = sched;
    conf.buckets[INFER_MB_SCHED].n = 2;
    conf.queue = 1;
    conf.sched = 1;

    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);
    w = view(m);
    infer_metrics_attach(w, 101, alive, NULL);

    memset(&o, 0, sizeof(infer_metrics_obs_t));
    o.status = 200;
    o.reason = INFER_REASON_NONE;
    o.rows = 1;
    o.request_ns = 30000;
    o.inference_ns = 20000;
    o.queue_ns = 2000;
    o.evaluated = 1;
    o.queued = 1;
    o.sched = 1;

    for (i = 0; i < 3; i++) {
        o.prediction = values[i];
        o.sched_ns = (i == 2) ? 2000 : 0;
        infer_metrics_request_start(w, 0);
        infer_metrics_request_done(w, 0, &o);
    }

    text = render(base, INFER_PROM_TEXT);
    CHECK(strstr(text,
          "# HELP nginx_infer_prediction First output value of each "
          "request.\n"
          "# TYPE nginx_infer_prediction histogram\n"
          "nginx_infer_prediction_bucket{model=\"a\",le=\"-1.0\"} 1\n"
          "nginx_infer_prediction_bucket{model=\"a\",le=\"0.0\"} 1\n"
          "nginx_infer_prediction_bucket{model=\"a\",le=\"1.0\"} 2\n"
          "nginx_infer_prediction_bucket{model=\"a\",le=\"+Inf\"} 3\n"
          "nginx_infer_prediction_sum{model=\"a\"} 1.5\n"
          "nginx_infer_prediction_count{model=\"a\"} 3\n") != NULL);
    CHECK_STR(line(text, "nginx_infer_queue_duration_seconds_bucket{"
                         "model=\"a\",le=\"1e-05\"}"),
              "nginx_infer_queue_duration_seconds_bucket{model=\"a\","
              "le=\"1e-05\"} 3");
    CHECK(strstr(text,
          "nginx_infer_request_sched_delay_seconds_bucket{model=\"a\","
          "le=\"1e-06\"} 2\n"
          "nginx_infer_request_sched_delay_seconds_bucket{model=\"a\","
          "le=\"0.001\"} 3\n"
          "nginx_infer_request_sched_delay_seconds_bucket{model=\"a\","
          "le=\"+Inf\"} 3\n"
          "nginx_infer_request_sched_delay_seconds_sum{model=\"a\"} "
          "0.000002\n"
          "nginx_infer_request_sched_delay_seconds_count{model=\"a\"} 3\n")
          != NULL);
    CHECK(strstr(text, "sched_probe_source") == NULL);
    free(text);

    /* OpenMetrics: no _sum and _count where values may be negative */

    text = render(base, INFER_PROM_OPENMETRICS);
    CHECK(strstr(text, "nginx_infer_prediction_bucket{model=\"a\","
                       "le=\"+Inf\"} 3\n# TYPE nginx_infer_model info\n")
          != NULL);
    CHECK(strstr(text, "nginx_infer_prediction_sum") == NULL);
    CHECK(strstr(text,
                 "# TYPE nginx_infer_request_sched_delay_seconds histogram\n"
                 "# UNIT nginx_infer_request_sched_delay_seconds seconds\n")
          != NULL);
    free(text);

    text = render(base, INFER_PROM_JSON);
    CHECK(strstr(text, "\"prediction\":{\"count\":3,\"sum\":1.5,\"p50\":0.5,"
                       "\"p90\":1,\"p99\":1}") != NULL);
    free(text);

    free(w);
    free(m);
    free(base);
}


static void
test_escaping(void)
{
    char                        *text;
    void                        *base;
    size_t                       size;
    infer_metrics_t             *m;
    infer_metrics_conf_t         conf;
    infer_metrics_model_conf_t   mc;

    static const char  name[] = "q\"b\\s\n\xff\xc3\xa9\xc0\xaf\xed\xa0\x80"
                                "\xf0\x9f\x98\x80\xe2\x82";

    mc.name = name;
    mc.name_len = sizeof(name) - 1;
    mc.version = "1\n2";
    mc.version_len = 3;
    mc.format = "x\0y";
    mc.format_len = 3;

    conf_init(&conf, &mc, 1);
    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);

    text = render(base, INFER_PROM_TEXT);
    CHECK_STR(line(text, "nginx_infer_model_info"),
              "nginx_infer_model_info{model=\"q\\\"b\\\\s\\n"
              "\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80"
              "\xef\xbf\xbd\xef\xbf\xbd\",version=\"1\\n2\",format=\"x"
              "\xef\xbf\xbdy\"} 1");
    free(text);

    text = render(base, INFER_PROM_JSON);
    CHECK(strstr(text, "\"models\":[{\"model\":\"q\\\"b\\\\s\\u000a\\ufffd"
                       "\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
                       "\xf0\x9f\x98\x80\\ufffd\\ufffd\","
                       "\"version\":\"1\\u000a2\","
                       "\"format\":\"x\\u0000y\"") != NULL);
    free(text);

    free(m);
    free(base);
}


static void
test_sizes(void)
{
    int                    rc;
    char                   err[INFER_ERRLEN], *before, *after;
    void                  *base;
    size_t                 size, needed;
    infer_metrics_t       *m;
    infer_metrics_conf_t   conf;

    static const infer_metrics_model_conf_t  abc[] = {
        { "a", 1, "1", 1, "linear", 6, 0 },
        { "b", 1, "2", 1, "linear", 6, 0 },
        { "c", 1, "1", 1, "linear", 6, 0 }
    };

    static const infer_metrics_model_conf_t  abd[] = {
        { "a", 1, "1", 1, "linear", 6, 0 },
        { "b", 1, "2", 1, "linear", 6, 0 },
        { "d", 1, "1", 1, "linear", 6, 0 }
    };

    /* 128 bytes of header, then 6 regions of 1408 */

    conf_init(&conf, ab, 2);
    size = infer_metrics_size(&conf);
    CHECK(size == 8576);
    CHECK(infer_metrics_size_auto(&conf) == 65536);

    base = block_alloc(size);

    rc = infer_metrics_init(&m, base, size - 128, &conf, &infer_alloc_libc,
                            &needed, err, sizeof(err));
    CHECK(rc == INFER_ENOSPC && needed == 8576 && m == NULL);
    CHECK_STR(err, "the metrics zone needs at least 8576 bytes, it has 8448");
    CHECK(((unsigned char *) base)[0] == 0xa5);

    m = init(base, size, &conf);
    free(m);

    /* a reload into the same memory that cannot take one more model */

    before = render(base, INFER_PROM_TEXT);

    conf_init(&conf, abc, 3);
    CHECK(infer_metrics_fits(base, size, &conf, &needed) == INFER_ENOSPC);
    CHECK(needed == infer_metrics_size(&conf) && needed > size);

    rc = infer_metrics_init(&m, base, size, &conf, &infer_alloc_libc,
                            &needed, err, sizeof(err));
    CHECK(rc == INFER_ENOSPC && m == NULL);

    after = render(base, INFER_PROM_TEXT);
    CHECK_STR(after, before);
    free(before);
    free(after);
    free(base);

    /* room for three models, but c's series are kept when d comes */

    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);
    free(m);

    conf_init(&conf, abd, 3);
    CHECK(infer_metrics_size(&conf) == size);
    CHECK(infer_metrics_fits(base, size, &conf, &needed) == INFER_ENOSPC);

    rc = infer_metrics_init(&m, base, size, &conf, &infer_alloc_libc,
                            &needed, err, sizeof(err));
    CHECK(rc == INFER_ENOSPC && needed == size);
    CHECK_STR(err, "the metrics zone of 12416 bytes has no room for the new "
                   "series (it keeps those of removed models): give it "
                   "another size");

    /* a block too small to be one, and one not aligned */

    rc = infer_metrics_init(&m, base, 64, &conf, &infer_alloc_libc, &needed,
                            err, sizeof(err));
    CHECK(rc == INFER_EINVAL);
    rc = infer_metrics_init(&m, (char *) base + 8, size - 128, &conf,
                            &infer_alloc_libc, &needed, err, sizeof(err));
    CHECK(rc == INFER_EINVAL);
    CHECK_STR(err, "the metrics block is not 128-byte aligned or too small");

    free(base);
}


static void
test_bad_conf(void)
{
    int                    rc;
    char                   err[INFER_ERRLEN];
    void                  *base;
    size_t                 needed;
    double                 many[INFER_METRICS_MAX_BUCKETS + 1];
    infer_metrics_t       *m;
    infer_metrics_conf_t   conf;

    static const double  down[] = { 1e-3, 1e-4 };
    static const double  neg[] = { -1 };

    static const infer_metrics_model_conf_t  aa[] = {
        { "a", 1, "1", 1, "linear", 6, 0 },
        { "a", 1, "2", 1, "linear", 6, 0 }
    };

    base = block_alloc(65536);

    conf_init(&conf, ab, 2);
    conf.buckets[INFER_MB_LATENCY].bounds = down;
    conf.buckets[INFER_MB_LATENCY].n = 2;
    rc = infer_metrics_init(&m, base, 65536, &conf, &infer_alloc_libc,
                            &needed, err, sizeof(err));
    CHECK(rc == INFER_EINVAL);
    CHECK_STR(err, "bucket 0.0001 does not follow 0.001");

    conf.buckets[INFER_MB_LATENCY].bounds = neg;
    conf.buckets[INFER_MB_LATENCY].n = 1;
    infer_metrics_init(&m, base, 65536, &conf, &infer_alloc_libc, &needed,
                       err, sizeof(err));
    CHECK_STR(err, "bucket -1 is negative");

    many[0] = NAN;
    conf.buckets[INFER_MB_LATENCY].bounds = many;
    infer_metrics_init(&m, base, 65536, &conf, &infer_alloc_libc, &needed,
                       err, sizeof(err));
    CHECK_STR(err, "bucket nan is not finite");

    conf.buckets[INFER_MB_LATENCY].n = INFER_METRICS_MAX_BUCKETS + 1;
    infer_metrics_init(&m, base, 65536, &conf, &infer_alloc_libc, &needed,
                       err, sizeof(err));
    CHECK_STR(err, "more than 64 buckets");

    /* negative bounds are fine for predictions */

    conf_init(&conf, ab, 2);
    conf.buckets[INFER_MB_PREDICTION].bounds = neg;
    conf.buckets[INFER_MB_PREDICTION].n = 1;
    m = init(base, 65536, &conf);
    free(m);

    conf_init(&conf, aa, 2);
    rc = infer_metrics_init(&m, base, 65536, &conf, &infer_alloc_libc,
                            &needed, err, sizeof(err));
    CHECK(rc == INFER_EINVAL);
    CHECK_STR(err, "model \"a\" is listed twice");

    free(base);
}


static void
test_format_le(void)
{
    char    buf[32];
    size_t  i;

    static const struct {
        double       v;
        const char  *s;
    } cases[] = {
        { 0.0, "0.0" }, { 0.001, "0.001" }, { 0.002, "0.002" },
        { 0.01, "0.01" }, { 0.1, "0.1" }, { 0.9, "0.9" }, { 0.95, "0.95" },
        { 0.99, "0.99" }, { 0.999, "0.999" }, { 1.0, "1.0" }, { 1.7, "1.7" },
        { 10.0, "10.0" }, { 1e-10, "1e-10" }, { 1e-09, "1e-09" },
        { 1e-05, "1e-05" }, { 0.0001, "0.0001" }, { 100000.0, "100000.0" },
        { 1e+06, "1e+06" }, { 1e+10, "1e+10" }, { 1e+23, "1e+23" },
        { 1.1e+23, "1.1e+23" }, { 5e-06, "5e-06" }, { 2.5e-05, "2.5e-05" },
        { 0.00025, "0.00025" }, { 0.005, "0.005" }, { 1024, "1024.0" },
        { 123456.7, "123456.7" }, { 0.1 + 0.2, "0.30000000000000004" },
        { -1, "-1.0" }, { -2.5e-07, "-2.5e-07" }, { INFINITY, "+Inf" },
        { -INFINITY, "-Inf" }, { NAN, "NaN" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(infer_prom_format_le(buf, cases[i].v) == strlen(cases[i].s));
        CHECK_STR(buf, cases[i].s);
    }
}


/* as Prometheus' histogram_quantile() computes them */

static void
test_quantile(void)
{
    static const double    le[] = { 1e-5, 1e-4, 1e-3 };
    static const double    neg[] = { -1, 0, 1 };
    static const uint64_t  cum[] = { 1, 3, 3, 4 };
    static const uint64_t  low[] = { 2, 3, 3, 3 };
    static const uint64_t  none[] = { 0, 0, 0, 0 };

    CHECK(infer_prom_quantile(0.5, le, cum, 3) == 1e-5 + (1e-4 - 1e-5) * 0.5);
    CHECK(infer_prom_quantile(0.25, le, cum, 3) == 1e-5);
    CHECK(infer_prom_quantile(0.9, le, cum, 3) == 1e-3);
    CHECK(infer_prom_quantile(0.3, le, low, 3) == 1e-5 * (0.3 * 3 / 2));
    CHECK(infer_prom_quantile(0.5, neg, low, 3) == -1);
    CHECK(isnan(infer_prom_quantile(0.5, le, none, 3)));
    CHECK(isnan(infer_prom_quantile(0.5, le, cum, 0)));
    CHECK(infer_prom_quantile(-1, le, cum, 3) == -INFINITY);
    CHECK(infer_prom_quantile(2, le, cum, 3) == INFINITY);
}


static void
test_accept(void)
{
    size_t  i;

    static const struct {
        const char  *accept;
        int          format;
    } cases[] = {
        { "application/openmetrics-text;version=1.0.0,application/"
          "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
          "q=0.5,*/*;q=0.1", INFER_PROM_OPENMETRICS },
        { "application/openmetrics-text", INFER_PROM_OPENMETRICS },
        { "APPLICATION/OpenMetrics-Text; Version=1.0.0",
          INFER_PROM_OPENMETRICS },
        { "text/plain;version=0.0.4;q=0.5,application/openmetrics-text;"
          "version=1.0.0;q=0.6", INFER_PROM_OPENMETRICS },
        { "", INFER_PROM_TEXT },
        { "*/*", INFER_PROM_TEXT },
        { "text/plain; version=0.0.4", INFER_PROM_TEXT },
        { "application/openmetrics-text;version=0.0.1", INFER_PROM_TEXT },
        { "application/openmetrics-text; q=0.2, text/plain; q=0.5",
          INFER_PROM_TEXT },
        { "application/openmetrics-text;q=0", INFER_PROM_TEXT },
        { "application/openmetrics-textx", INFER_PROM_TEXT },
        { "application/json", INFER_PROM_TEXT }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(infer_prom_accept(cases[i].accept, strlen(cases[i].accept))
              == cases[i].format);
    }
}


typedef struct {
    infer_metrics_t  *m;
    uint64_t          first;
    uint64_t          n;              /* out: exemplars written */
    int              *stop;
} seqlock_job_t;


/*
 * Exemplars whose words all derive from k: a torn read would mix two.
 * It writes until the reader has read enough.
 */

static void *
seqlock_writer(void *arg)
{
    seqlock_job_t  *job = arg;

    uint8_t         id[16];
    uint64_t        k, nk;

    for (k = job->first; !__atomic_load_n(job->stop, __ATOMIC_RELAXED);
         k++)
    {
        nk = ~k;
        memcpy(id, &k, 8);
        memcpy(id + 8, &nk, 8);

        infer_metrics_observe(job->m, 0, INFER_MF_REQUEST_DURATION,
                              k % 9000 + 1, id, k);
    }

    job->n = k - job->first;

    return NULL;
}


static void
test_seqlock(void)
{
    int                          i, shared, stop;
    void                        *base;
    size_t                       size;
    uint64_t                     reads, torn, seen, last, written;
    pthread_t                    t[2];
    seqlock_job_t                job[2];
    infer_metrics_t             *m, *w[2];
    infer_metrics_conf_t         conf;
    infer_metrics_exemplar_t     ex;
    const infer_metrics_rec_t   *rec;

    conf_init(&conf, ab, 1);
    size = infer_metrics_size(&conf);
    base = block_alloc(size);
    m = init(base, size, &conf);

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (rec->family == INFER_MF_REQUEST_DURATION) {
            break;
        }
    }

    /* one writer in its own slot; then two sharing the last slot */

    for (shared = 0; shared < 2; shared++) {
        reads = 0;
        torn = 0;
        seen = 0;
        last = 0;
        stop = 0;

        for (i = 0; i <= shared; i++) {
            w[i] = view(m);

            if (!shared) {
                infer_metrics_attach(w[i], 101, alive, NULL);
            }

            job[i].m = w[i];
            job[i].first = 1 + (uint64_t) (2 * shared + i) * 1000000000;
            job[i].stop = &stop;
            pthread_create(&t[i], NULL, seqlock_writer, &job[i]);
        }

        /*
         * Reads while they write, until it saw 2000 new exemplars (a
         * machine too busy to run the threads side by side may see less).
         */

        while (seen < 2000 && reads < 5000000) {
            if (!infer_metrics_exemplar(base, rec, 0, &ex)) {
                continue;
            }

            reads++;
            seen += (ex.ts_ms != last);
            last = ex.ts_ms;

            if (ex.id[1] != ~ex.id[0] || ex.ts_ms != ex.id[0]
                || ex.value != ex.ts_ms % 9000 + 1)
            {
                torn++;
            }
        }

        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        written = 0;

        for (i = 0; i <= shared; i++) {
            pthread_join(t[i], NULL);
            written += job[i].n;
            free(w[i]);
        }

        /* and the adds of two processes sharing a slot are all there */

        CHECK(infer_metrics_value(base, shared ? 4 : 0, rec, 0) == written);
        CHECK(torn == 0);

        if (torn != 0 || getenv("INFER_TEST_VERBOSE") != NULL) {
            printf("seqlock%s: %llu torn of %llu reads, %llu exemplars "
                   "seen of %llu written\n", shared ? " (shared)" : "",
                   (unsigned long long) torn, (unsigned long long) reads,
                   (unsigned long long) seen, (unsigned long long) written);
        }
    }

    free(m);
    free(base);
}


void
infer_test_metrics(void)
{
    test_exposition();
    test_reload();
    test_rebucket();
    test_slots();
    test_migrate();
    test_optional();
    test_escaping();
    test_sizes();
    test_bad_conf();
    test_format_le();
    test_quantile();
    test_accept();
    test_seqlock();
}
