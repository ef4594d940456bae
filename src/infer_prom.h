/*
 * Exposition of the metrics block: the Prometheus text format 0.0.4 and
 * OpenMetrics 1.0.0 (infer_prom.c), a JSON view (infer_prom_json.c).
 */

#ifndef INFER_PROM_H
#define INFER_PROM_H


#include "infer_metrics.h"
#include "infer_schedlat.h"
#include "infer_cgroup.h"


#define INFER_PROM_TEXT         0     /* Prometheus text format 0.0.4 */
#define INFER_PROM_OPENMETRICS  1     /* OpenMetrics 1.0.0 */
#define INFER_PROM_JSON         2

#define INFER_PROM_TEXT_TYPE                                                 \
    "text/plain; version=0.0.4; charset=utf-8"
#define INFER_PROM_OPENMETRICS_TYPE                                          \
    "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define INFER_PROM_JSON_TYPE    "application/json"

/*
 * snprintf semantics: writes at most len bytes, NUL-terminated when len >
 * 0, and returns the length of the whole rendering.  Values may grow
 * between two calls: size the buffer with some slack and render again
 * when the result does not fit.
 */
size_t infer_prom_render(char *buf, size_t len, const void *base,
    int format, uint64_t now_ms);

/*
 * What the block does not hold, read by the glue at scrape time: the
 * scheduler-delay probe's per-worker figures (one entry per worker
 * number, in key, see infer_schedlat_by_key()) and the cgroup's CPU
 * throttling.  Rendered after the block's families, in the text formats.
 */

typedef struct {
    int                            source;   /* INFER_PROBE_* */
    unsigned                       hist:1;   /* the workers' hist is real */
    unsigned                       cpu:1;    /* cpu.stat was read */
    const infer_schedlat_stats_t  *workers;
    size_t                         nworkers;
    infer_cgroup_cpu_t             cpu_stat;
} infer_prom_host_t;

size_t infer_prom_render_host(char *buf, size_t len, const void *base,
    int format, uint64_t now_ms, const infer_prom_host_t *host);

/* the format an Accept header value asks for: _TEXT or _OPENMETRICS */
int infer_prom_accept(const char *accept, size_t len);

/* OpenMetrics' canonical "le": Go's %g, ".0" when integral; 32 bytes */
size_t infer_prom_format_le(char *buf, double v);

/* Prometheus' histogram_quantile() over cumulative counts */
double infer_prom_quantile(double q, const double *le, const uint64_t *cum,
    size_t n);


/* the renderers' output: it counts what does not fit */

#define INFER_PROM_LE_LEN  32

typedef struct {
    char                       *buf;
    size_t                      len;
    size_t                      pos;  /* bytes the whole rendering takes */

    /* the "le" values of the bounds last rendered */
    const infer_metrics_rec_t  *le_rec;
    char                        le[INFER_METRICS_MAX_BUCKETS + 1]
                                  [INFER_PROM_LE_LEN];
} infer_prom_out_t;


/* the labels of one sample */

typedef struct {
    const infer_metrics_family_t  *fam;
    const infer_metrics_rec_t     *rec;      /* its keys, if fam has any */
    int                            slot;     /* worker label, or -1 */
    const char                    *fixed;    /* fixed label value, or NULL */
    const char                    *le;       /* or NULL */
} infer_prom_labels_t;


void infer_prom_meta(infer_prom_out_t *o, const infer_metrics_family_t *fam,
    int om);
void infer_prom_sample(infer_prom_out_t *o, const infer_metrics_family_t *fam,
    const char *suffix, const infer_prom_labels_t *l);
void infer_prom_host(infer_prom_out_t *o, const infer_prom_host_t *host,
    int om);

void infer_prom_put(infer_prom_out_t *o, const char *s, size_t n);
void infer_prom_puts(infer_prom_out_t *o, const char *s);
void infer_prom_u64(infer_prom_out_t *o, uint64_t v);
void infer_prom_i64(infer_prom_out_t *o, int64_t v);
void infer_prom_seconds(infer_prom_out_t *o, uint64_t ns);
void infer_prom_real(infer_prom_out_t *o, double v);
void infer_prom_ms(infer_prom_out_t *o, uint64_t ms);
void infer_prom_value(infer_prom_out_t *o, int kind, uint64_t v);

/* the length of a well-formed UTF-8 sequence at p, 0 if there is none */
size_t infer_prom_utf8(const unsigned char *p, size_t n);

void infer_prom_json(infer_prom_out_t *o, const void *base,
    uint64_t now_ms);


#endif /* INFER_PROM_H */
