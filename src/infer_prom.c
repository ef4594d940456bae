/*
 * Exposition of the metrics block in the Prometheus text format 0.0.4 and
 * in OpenMetrics 1.0.0, and the writer the JSON view shares.  The block
 * describes itself, so any process holding it can render, the slots
 * summed at read time.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "infer_prom.h"
#include "infer_trace.h"


static void infer_prom_escape(infer_prom_out_t *o, const char *s, size_t n);
static void infer_prom_name(infer_prom_out_t *o,
    const infer_metrics_family_t *fam, int om);
static int infer_prom_present(const void *base, unsigned f);
static void infer_prom_exemplar(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *rec, uint32_t bucket);
static void infer_prom_histogram(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *rec, int slot, int om);
static void infer_prom_family(infer_prom_out_t *o, const void *base,
    unsigned f, int om);
static void infer_prom_text(infer_prom_out_t *o, const void *base, int om,
    const infer_prom_host_t *host);
static double infer_prom_q(const char *p, const char *end);
static int infer_prom_has(const char *p, const char *end, const char *s);


void
infer_prom_put(infer_prom_out_t *o, const char *s, size_t n)
{
    size_t  room;

    if (o->pos < o->len) {
        room = o->len - o->pos;
        memcpy(o->buf + o->pos, s, n < room ? n : room);
    }

    o->pos += n;
}


void
infer_prom_puts(infer_prom_out_t *o, const char *s)
{
    infer_prom_put(o, s, strlen(s));
}


void
infer_prom_u64(infer_prom_out_t *o, uint64_t v)
{
    char  buf[INFER_INT64_LEN];

    infer_prom_put(o, buf, infer_format_uint64(buf, v));
}


void
infer_prom_i64(infer_prom_out_t *o, int64_t v)
{
    if (v < 0) {
        infer_prom_put(o, "-", 1);
        infer_prom_u64(o, (uint64_t) 0 - (uint64_t) v);
        return;
    }

    infer_prom_u64(o, (uint64_t) v);
}


/* exact: 123456 ns is "0.000123456" */

void
infer_prom_seconds(infer_prom_out_t *o, uint64_t ns)
{
    int    i;
    char   frac[10];
    char  *end;

    infer_prom_u64(o, ns / 1000000000);

    ns %= 1000000000;

    if (ns == 0) {
        return;
    }

    for (i = 8; i >= 0; i--) {
        frac[i + 1] = (char) ('0' + ns % 10);
        ns /= 10;
    }

    frac[0] = '.';

    for (end = frac + 10; end[-1] == '0'; end--) {
        /* void */
    }

    infer_prom_put(o, frac, end - frac);
}


void
infer_prom_real(infer_prom_out_t *o, double v)
{
    char  buf[INFER_PROM_LE_LEN];

    infer_prom_put(o, buf, infer_prom_format_le(buf, v));
}


void
infer_prom_ms(infer_prom_out_t *o, uint64_t ms)
{
    char  buf[4];

    infer_prom_u64(o, ms / 1000);

    buf[0] = '.';
    buf[1] = (char) ('0' + ms / 100 % 10);
    buf[2] = (char) ('0' + ms / 10 % 10);
    buf[3] = (char) ('0' + ms % 10);

    infer_prom_put(o, buf, 4);
}


void
infer_prom_value(infer_prom_out_t *o, int kind, uint64_t v)
{
    double  d;

    switch (kind) {

    case INFER_MV_NS:
        infer_prom_seconds(o, v);
        break;

    case INFER_MV_REAL:
        memcpy(&d, &v, 8);
        infer_prom_real(o, d);
        break;

    default:
        infer_prom_u64(o, v);
    }
}


/*
 * Go's strconv.FormatFloat(v, 'g', -1, 64), the shortest digits that read
 * back as v, and ".0" when that has neither a point nor an exponent: what
 * OpenMetrics calls canonical ("0.005", "1e-05", "1.0", "1e+06").
 */

size_t
infer_prom_format_le(char *buf, double v)
{
    int     prec, exp, nd, i;
    char    tmp[40], digits[20], *p, *e;
    size_t  n;

    if (isnan(v)) {
        memcpy(buf, "NaN", 4);
        return 3;
    }

    if (isinf(v)) {
        memcpy(buf, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }

    n = 0;

    if (signbit(v)) {
        buf[n++] = '-';
        v = -v;
    }

    if (v == 0) {
        memcpy(buf + n, "0.0", 4);
        return n + 3;
    }

    for (prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, v);

        if (strtod(tmp, NULL) == v) {
            break;
        }
    }

    /* tmp is d[.ddd]e[+-]xx */

    e = strchr(tmp, 'e');
    exp = atoi(e + 1);
    nd = 0;

    for (p = tmp; p < e; p++) {
        if (*p != '.') {
            digits[nd++] = *p;
        }
    }

    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }

    if (exp < -4 || exp >= 6) {
        buf[n++] = digits[0];

        if (nd > 1) {
            buf[n++] = '.';
            memcpy(buf + n, digits + 1, nd - 1);
            n += nd - 1;
        }

        n += snprintf(buf + n, INFER_PROM_LE_LEN - n, "e%c%02d",
                      exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return n;
    }

    if (exp < 0) {
        buf[n++] = '0';
        buf[n++] = '.';

        for (i = -1; i > exp; i--) {
            buf[n++] = '0';
        }

        memcpy(buf + n, digits, nd);
        n += nd;

    } else {
        for (i = 0; i <= exp; i++) {
            buf[n++] = (i < nd) ? digits[i] : '0';
        }

        buf[n++] = '.';

        if (nd > exp + 1) {
            memcpy(buf + n, digits + exp + 1, nd - exp - 1);
            n += nd - exp - 1;

        } else {
            buf[n++] = '0';
        }
    }

    buf[n] = '\0';

    return n;
}


/* the length of a well-formed UTF-8 sequence at p, 0 if there is none */

size_t
infer_prom_utf8(const unsigned char *p, size_t n)
{
    size_t         len, i;
    unsigned char  lo, hi;

    if (p[0] < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        lo = (p[0] == 0xe0) ? 0xa0 : 0x80;    /* overlong */
        hi = (p[0] == 0xed) ? 0x9f : 0xbf;    /* surrogates */

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        lo = (p[0] == 0xf0) ? 0x90 : 0x80;
        hi = (p[0] == 0xf4) ? 0x8f : 0xbf;    /* above U+10FFFF */

    } else {
        return 0;
    }

    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return len;
}


/*
 * A label value: \\ \" \n escaped; bytes that are not UTF-8, and NUL,
 * which would cut a C string short, as U+FFFD.
 */

static void
infer_prom_escape(infer_prom_out_t *o, const char *s, size_t n)
{
    size_t                i, k;
    const unsigned char  *p = (const unsigned char *) s;

    for (i = 0; i < n; i += k) {
        k = infer_prom_utf8(p + i, n - i);

        if (k == 0 || p[i] == '\0') {
            infer_prom_put(o, "\xef\xbf\xbd", 3);
            k = 1;

        } else if (p[i] == '\\') {
            infer_prom_put(o, "\\\\", 2);

        } else if (p[i] == '"') {
            infer_prom_put(o, "\\\"", 2);

        } else if (p[i] == '\n') {
            infer_prom_put(o, "\\n", 2);

        } else {
            infer_prom_put(o, s + i, k);
        }
    }
}


/*
 * A family's name: OpenMetrics names a counter without "_total" and an
 * info without "_info", and puts those on the samples.
 */

static void
infer_prom_name(infer_prom_out_t *o, const infer_metrics_family_t *fam,
    int om)
{
    size_t  n;

    n = strlen(fam->name);

    if (om && fam->type == INFER_MT_COUNTER) {
        n -= sizeof("_total") - 1;

    } else if (om && fam->type == INFER_MT_INFO) {
        n -= sizeof("_info") - 1;
    }

    infer_prom_puts(o, INFER_METRICS_PREFIX);
    infer_prom_put(o, fam->name, n);
}


void
infer_prom_sample(infer_prom_out_t *o, const infer_metrics_family_t *fam,
    const char *suffix, const infer_prom_labels_t *l)
{
    unsigned     k, n;
    const char  *sep;

    infer_prom_puts(o, INFER_METRICS_PREFIX);
    infer_prom_puts(o, fam->name);
    infer_prom_puts(o, suffix);

    n = 0;
    sep = "{";

    for (k = 0; k < fam->nkeys; k++, n++) {
        infer_prom_puts(o, sep);
        infer_prom_puts(o, fam->keys[k]);
        infer_prom_put(o, "=\"", 2);
        infer_prom_escape(o, infer_metrics_key(l->rec, k), l->rec->len[k]);
        infer_prom_put(o, "\"", 1);
        sep = ",";
    }

    if (l->slot >= 0) {
        infer_prom_puts(o, sep);
        infer_prom_puts(o, "worker=\"");
        infer_prom_u64(o, (uint64_t) l->slot);
        infer_prom_put(o, "\"", 1);
        sep = ",";
        n++;
    }

    if (l->fixed != NULL) {
        infer_prom_puts(o, sep);
        infer_prom_puts(o, fam->label);
        infer_prom_put(o, "=\"", 2);
        infer_prom_puts(o, l->fixed);
        infer_prom_put(o, "\"", 1);
        sep = ",";
        n++;
    }

    if (l->le != NULL) {
        infer_prom_puts(o, sep);
        infer_prom_puts(o, "le=\"");
        infer_prom_puts(o, l->le);
        infer_prom_put(o, "\"", 1);
        n++;
    }

    infer_prom_puts(o, n ? "} " : " ");
}


/* a family is shown when the configuration has a series of it */

static int
infer_prom_present(const void *base, unsigned f)
{
    const infer_metrics_rec_t  *rec;

    if (f == INFER_MF_START_TIME) {
        return 1;
    }

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (rec->family == f && infer_metrics_active(base, rec)) {
            return 1;
        }
    }

    return 0;
}


void
infer_prom_meta(infer_prom_out_t *o, const infer_metrics_family_t *fam,
    int om)
{
    static const char  *types[] = { "counter", "gauge", "histogram", "info" };

    if (!om) {
        infer_prom_puts(o, "# HELP ");
        infer_prom_name(o, fam, 0);
        infer_prom_put(o, " ", 1);
        infer_prom_puts(o, fam->help);
        infer_prom_puts(o, "\n# TYPE ");
        infer_prom_name(o, fam, 0);
        infer_prom_put(o, " ", 1);
        infer_prom_puts(o, fam->type == INFER_MT_INFO ? "gauge"
                                                      : types[fam->type]);
        infer_prom_put(o, "\n", 1);
        return;
    }

    infer_prom_puts(o, "# TYPE ");
    infer_prom_name(o, fam, 1);
    infer_prom_put(o, " ", 1);
    infer_prom_puts(o, types[fam->type]);

    if (fam->unit != NULL) {
        infer_prom_puts(o, "\n# UNIT ");
        infer_prom_name(o, fam, 1);
        infer_prom_put(o, " ", 1);
        infer_prom_puts(o, fam->unit);
    }

    infer_prom_puts(o, "\n# HELP ");
    infer_prom_name(o, fam, 1);
    infer_prom_put(o, " ", 1);
    infer_prom_puts(o, fam->help);
    infer_prom_put(o, "\n", 1);
}


static void
infer_prom_exemplar(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *rec, uint32_t bucket)
{
    char                       hex[32];
    uint8_t                    id[INFER_TRACE_ID_LEN];
    infer_metrics_exemplar_t   ex;

    if (!infer_metrics_exemplar(base, rec, bucket, &ex)) {
        return;
    }

    memcpy(id, ex.id, INFER_TRACE_ID_LEN);

    infer_trace_hex(hex, id, INFER_TRACE_ID_LEN);

    infer_prom_puts(o, " # {trace_id=\"");
    infer_prom_put(o, hex, 32);
    infer_prom_puts(o, "\"} ");
    infer_prom_value(o, infer_metrics_families[rec->family].kind, ex.value);
    infer_prom_put(o, " ", 1);
    infer_prom_ms(o, ex.ts_ms);
}


/* slot -1: the slots summed */

static void
infer_prom_histogram(infer_prom_out_t *o, const void *base,
    const infer_metrics_rec_t *rec, int slot, int om)
{
    uint32_t                       i;
    uint64_t                       cum, sum;
    const double                  *bounds;
    infer_prom_labels_t            l;
    const infer_metrics_rec_t     *b;
    const infer_metrics_family_t  *fam;

    fam = &infer_metrics_families[rec->family];
    b = infer_metrics_bounds(base, rec);

    if (b == NULL) {
        return;
    }

    if (o->le_rec != b) {
        bounds = (const double *) (b + 1);

        for (i = 0; i < b->n; i++) {
            infer_prom_format_le(o->le[i], bounds[i]);
        }

        memcpy(o->le[b->n], "+Inf", 5);
        o->le_rec = b;
    }

    l.fam = fam;
    l.rec = rec;
    l.slot = slot;
    l.fixed = NULL;
    cum = 0;

    for (i = 0; i <= b->n; i++) {
        cum += (slot < 0) ? infer_metrics_sum(base, rec, i)
                          : infer_metrics_value(base, slot, rec, i);
        l.le = o->le[i];
        infer_prom_sample(o, fam, "_bucket", &l);
        infer_prom_u64(o, cum);

        if (om && slot < 0) {
            infer_prom_exemplar(o, base, rec, i);
        }

        infer_prom_put(o, "\n", 1);
    }

    /* OpenMetrics: no sum where observations may be negative */

    if (om && (fam->flags & INFER_MF_SIGNED)) {
        return;
    }

    l.le = NULL;
    sum = (slot < 0) ? infer_metrics_sum(base, rec, b->n + 1)
                     : infer_metrics_value(base, slot, rec, b->n + 1);

    infer_prom_sample(o, fam, "_sum", &l);

    if (fam->kind == INFER_MV_REAL && slot < 0) {
        infer_prom_real(o, infer_metrics_sum_real(base, rec, b->n + 1));

    } else {
        infer_prom_value(o, fam->kind, sum);
    }

    infer_prom_put(o, "\n", 1);

    infer_prom_sample(o, fam, "_count", &l);
    infer_prom_u64(o, cum);
    infer_prom_put(o, "\n", 1);
}


static void
infer_prom_family(infer_prom_out_t *o, const void *base, unsigned f,
    int om)
{
    int                            slot;
    uint32_t                       i, nslots;
    uint64_t                       v;
    infer_prom_labels_t            l;
    const infer_metrics_rec_t     *rec;
    const infer_metrics_hdr_t     *hdr;
    const infer_metrics_family_t  *fam;

    fam = &infer_metrics_families[f];
    hdr = infer_metrics_header(base);
    nslots = hdr->nslots;

    if (!infer_prom_present(base, f)) {
        return;
    }

    infer_prom_meta(o, fam, om);

    if (f == INFER_MF_START_TIME) {
        infer_prom_puts(o, INFER_METRICS_PREFIX);
        infer_prom_puts(o, fam->name);
        infer_prom_put(o, " ", 1);
        infer_prom_ms(o, hdr->start_ms);
        infer_prom_put(o, "\n", 1);
        return;
    }

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (rec->family != f || !infer_metrics_active(base, rec)) {
            continue;
        }

        l.fam = fam;
        l.rec = rec;
        l.fixed = NULL;
        l.le = NULL;

        for (slot = -1; slot < (int) nslots; slot++) {

            /* the worker families have a series per slot used */

            if (fam->scope == INFER_MS_WORKER) {
                if (slot < 0
                    || !__atomic_load_n(&infer_metrics_slot(base, slot)->used,
                                        __ATOMIC_RELAXED))
                {
                    continue;
                }

            } else if (slot >= 0) {
                break;
            }

            l.slot = slot;

            if (fam->type == INFER_MT_HISTOGRAM) {
                infer_prom_histogram(o, base, rec, slot, om);
                continue;
            }

            if (fam->type == INFER_MT_INFO) {
                infer_prom_sample(o, fam, "", &l);
                infer_prom_puts(o, "1\n");
                continue;
            }

            for (i = 0; i < rec->nvalues; i++) {
                l.fixed = fam->values ? fam->values[i] : NULL;
                v = (slot < 0) ? infer_metrics_sum(base, rec, i)
                               : infer_metrics_value(base, slot, rec, i);

                infer_prom_sample(o, fam, "", &l);

                if (fam->type == INFER_MT_GAUGE) {
                    infer_prom_i64(o, (int64_t) v);

                } else {
                    infer_prom_value(o, fam->kind, v);
                }

                infer_prom_put(o, "\n", 1);
            }
        }
    }
}


static void
infer_prom_text(infer_prom_out_t *o, const void *base, int om,
    const infer_prom_host_t *host)
{
    unsigned  f;

    for (f = 0; f < INFER_MF_N; f++) {
        infer_prom_family(o, base, f, om);
    }

    if (host != NULL) {
        infer_prom_host(o, host, om);
    }

    if (om) {
        infer_prom_puts(o, "# EOF\n");
    }
}


size_t
infer_prom_render(char *buf, size_t len, const void *base, int format,
    uint64_t now_ms)
{
    return infer_prom_render_host(buf, len, base, format, now_ms, NULL);
}


size_t
infer_prom_render_host(char *buf, size_t len, const void *base, int format,
    uint64_t now_ms, const infer_prom_host_t *host)
{
    infer_prom_out_t  o;

    o.buf = buf;
    o.len = len;
    o.pos = 0;
    o.le_rec = NULL;

    if (infer_metrics_header(base) == NULL) {
        if (format == INFER_PROM_OPENMETRICS) {
            infer_prom_puts(&o, "# EOF\n");
        }

    } else if (format == INFER_PROM_JSON) {
        infer_prom_json(&o, base, now_ms);

    } else {
        infer_prom_text(&o, base, format == INFER_PROM_OPENMETRICS, host);
    }

    if (len > 0) {
        buf[o.pos < len ? o.pos : len - 1] = '\0';
    }

    return o.pos;
}


/* the q of a media range's parameters, between p and end */

static double
infer_prom_q(const char *p, const char *end)
{
    char    buf[16];
    size_t  n;

    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t')) {
            p++;
        }

        if (end - p > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;

            for (n = 0; p < end && n < sizeof(buf) - 1
                        && *p != ';' && *p != ' '; n++)
            {
                buf[n] = *p++;
            }

            buf[n] = '\0';

            return atof(buf);
        }

        while (p < end && *p != ';') {
            p++;
        }
    }

    return 1;
}


static int
infer_prom_has(const char *p, const char *end, const char *s)
{
    size_t  n;

    n = strlen(s);

    for ( /* void */ ; (size_t) (end - p) >= n; p++) {
        if (strncasecmp(p, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


int
infer_prom_accept(const char *accept, size_t len)
{
    double       q, om, text;
    size_t       n;
    const char  *p, *end, *e, *t;

    om = 0;
    text = 0;
    p = accept;
    end = accept + len;

    while (p < end) {
        while (p < end && (*p == ',' || *p == ' ' || *p == '\t')) {
            p++;
        }

        for (e = p; e < end && *e != ','; e++) {
            /* void */
        }

        for (t = p; t < e && *t != ';' && *t != ' '; t++) {
            /* void */
        }

        n = t - p;
        q = infer_prom_q(t, e);

        if (n == sizeof("application/openmetrics-text") - 1
            && strncasecmp(p, "application/openmetrics-text", n) == 0)
        {
            /* we speak 1.0.0: a range naming another version is not us */

            if ((!infer_prom_has(t, e, "version=")
                 || infer_prom_has(t, e, "version=1.0.0"))
                && q > om)
            {
                om = q;
            }

        } else if ((n == 10 && strncasecmp(p, "text/plain", n) == 0)
                   || (n == 6 && strncasecmp(p, "text/*", n) == 0)
                   || (n == 3 && strncmp(p, "*/*", n) == 0))
        {
            if (q > text) {
                text = q;
            }
        }

        p = e;
    }

    return (om > 0 && om >= text) ? INFER_PROM_OPENMETRICS : INFER_PROM_TEXT;
}
