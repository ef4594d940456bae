/*
 * Exposition of the metrics block: the Prometheus text format 0.0.4 and
 * OpenMetrics 1.0.0 (infer_prom.c), a JSON view (infer_prom_json.c).
 */

#ifndef INFER_PROM_H
#define INFER_PROM_H


#include "infer_metrics.h"


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
