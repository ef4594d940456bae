/*
 * The values of the metrics block: who owns which slot, the updates of the
 * hot path, values moved when a series is laid out anew, and reading them
 * back summed over the slots.
 */

#include <math.h>
#include <string.h>

#include "infer_metrics.h"


static void infer_metrics_zero_live(void *base, uint32_t slot);
static void infer_metrics_own(infer_metrics_t *m, uint32_t i);
static unsigned char *infer_metrics_slot_data(const void *base, uint32_t i);
static void infer_metrics_bump(const infer_metrics_t *m, unsigned char *p,
    uint64_t v);
static void infer_metrics_bump_real(const infer_metrics_t *m, unsigned char *p,
    double v);
static void infer_metrics_hist(const infer_metrics_t *m,
    const infer_metrics_series_t *s, uint64_t v, const uint8_t *id,
    uint64_t now_ms);
static void infer_metrics_hist_real(const infer_metrics_t *m,
    const infer_metrics_series_t *s, double v);
static void infer_metrics_put_exemplar(const infer_metrics_t *m,
    uint64_t *ex, const uint8_t *id, uint64_t v, uint64_t now_ms);


const infer_metrics_slot_t *
infer_metrics_slot(const void *base, uint32_t slot)
{
    return (const infer_metrics_slot_t *) infer_metrics_slot_data(base, slot);
}


/*
 * Adds the values of srec in a slot of sbase to drec in a slot of dbase:
 * counters by label, histograms by bucket, re-bucketed when the bounds
 * differ (each new bucket gets the old buckets wholly below its bound).
 * Live gauges and exemplars are not moved.
 */

void
infer_metrics_move(unsigned char *dslot, const infer_metrics_rec_t *drec,
    const void *dbase, const unsigned char *sslot,
    const infer_metrics_rec_t *srec, const void *sbase)
{
    size_t                         i, j, n;
    double                         ds, ss;
    uint64_t                      *dv, total, cum, prev, v;
    const double                  *dle, *sle;
    const uint64_t                *sv;
    const infer_metrics_rec_t     *db, *sb;
    const infer_metrics_family_t  *f;

    f = &infer_metrics_families[drec->family];

    if ((f->flags & INFER_MF_LIVE) || f->type == INFER_MT_INFO) {
        return;
    }

    dv = (uint64_t *) (dslot + drec->data);
    sv = (const uint64_t *) (sslot + srec->data);

    if (f->type != INFER_MT_HISTOGRAM) {
        n = drec->nvalues < srec->nvalues ? drec->nvalues : srec->nvalues;

        for (i = 0; i < n; i++) {
            v = __atomic_load_n(&sv[i], __ATOMIC_RELAXED);
            __atomic_store_n(&dv[i], dv[i] + v, __ATOMIC_RELAXED);
        }

        return;
    }

    db = infer_metrics_bounds(dbase, drec);
    sb = infer_metrics_bounds(sbase, srec);

    if (db == NULL || sb == NULL) {
        return;
    }

    dle = (const double *) (db + 1);
    sle = (const double *) (sb + 1);

    total = 0;

    for (j = 0; j <= sb->n; j++) {
        total += __atomic_load_n(&sv[j], __ATOMIC_RELAXED);
    }

    prev = 0;
    j = 0;
    cum = 0;

    for (i = 0; i < db->n; i++) {
        while (j < sb->n && sle[j] <= dle[i]) {
            cum += __atomic_load_n(&sv[j], __ATOMIC_RELAXED);
            j++;
        }

        if (cum > total) {
            cum = total;              /* written to as we read */
        }

        __atomic_store_n(&dv[i], dv[i] + (cum - prev), __ATOMIC_RELAXED);
        prev = cum;
    }

    __atomic_store_n(&dv[db->n], dv[db->n] + (total - prev),
                     __ATOMIC_RELAXED);

    v = __atomic_load_n(&sv[sb->n + 1], __ATOMIC_RELAXED);

    if (f->kind == INFER_MV_REAL) {
        memcpy(&ss, &v, 8);
        memcpy(&ds, &dv[db->n + 1], 8);
        ds += ss;
        memcpy(&v, &ds, 8);
        __atomic_store_n(&dv[db->n + 1], v, __ATOMIC_RELAXED);

    } else {
        __atomic_store_n(&dv[db->n + 1], dv[db->n + 1] + v,
                         __ATOMIC_RELAXED);
    }
}


static unsigned char *
infer_metrics_slot_data(const void *base, uint32_t i)
{
    const infer_metrics_hdr_t  *hdr = base;

    return (unsigned char *) base + INFER_METRICS_ALIGN
           + (size_t) (i + 1) * hdr->region;
}


static void
infer_metrics_zero_live(void *base, uint32_t slot)
{
    uint32_t                    i;
    uint64_t                   *v;
    const infer_metrics_rec_t  *rec;

    for (rec = infer_metrics_next(base, NULL); rec != NULL;
         rec = infer_metrics_next(base, rec))
    {
        if (rec->type != INFER_MR_SERIES
            || !(infer_metrics_families[rec->family].flags & INFER_MF_LIVE))
        {
            continue;
        }

        v = (uint64_t *) (infer_metrics_slot_data(base, slot) + rec->data);

        for (i = 0; i < rec->nvalues; i++) {
            __atomic_store_n(&v[i], 0, __ATOMIC_RELAXED);
        }
    }
}


static void
infer_metrics_own(infer_metrics_t *m, uint32_t i)
{
    infer_metrics_slot_t  *s;

    s = (infer_metrics_slot_t *) infer_metrics_slot(m->base, i);

    m->slot_index = i;
    m->slot = infer_metrics_slot_data(m->base, i);
    m->shared = 0;

    __atomic_store_n(&s->used, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->claims, 1, __ATOMIC_RELAXED);
}


int
infer_metrics_attach(infer_metrics_t *m, int32_t pid,
    infer_metrics_alive_pt alive, void *ctx)
{
    int32_t                p;
    uint32_t               i, n;
    infer_metrics_hdr_t   *hdr;
    infer_metrics_slot_t  *s;

    hdr = (infer_metrics_hdr_t *) m->base;
    n = hdr->nslots;

    if (!m->shared || pid <= 0) {
        return INFER_OK;              /* attached already */
    }

    m->pid = pid;

    for (i = 0; i + 1 < n; i++) {
        s = (infer_metrics_slot_t *) infer_metrics_slot(m->base, i);
        p = 0;

        if (__atomic_compare_exchange_n(&s->pid, &p, -pid, 0,
                                        __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        {
            infer_metrics_zero_live(m->base, i);
            __atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);
            infer_metrics_own(m, i);
            return INFER_OK;
        }
    }

    /*
     * A slot of a dead process: its counters stay, its requests in
     * flight died with it.  A slot that holds our own pid is a dead
     * process's whose pid we were given.
     */

    for (i = 0; i + 1 < n && alive != NULL; i++) {
        s = (infer_metrics_slot_t *) infer_metrics_slot(m->base, i);
        p = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);

        if (p == 0
            || (p != pid && p != -pid && alive(ctx, p < 0 ? -p : p))
            || !__atomic_compare_exchange_n(&s->pid, &p, -pid, 0,
                                            __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
        {
            continue;
        }

        infer_metrics_zero_live(m->base, i);
        __atomic_fetch_add(&s->reclaims, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);
        infer_metrics_own(m, i);

        return INFER_OK;
    }

    /* none: share the last slot, with atomic adds */

    s = (infer_metrics_slot_t *) infer_metrics_slot(m->base, n - 1);
    __atomic_store_n(&s->used, 1, __ATOMIC_RELAXED);

    return INFER_OK;
}


void
infer_metrics_detach(infer_metrics_t *m)
{
    int32_t                p;
    infer_metrics_hdr_t   *hdr;
    infer_metrics_slot_t  *s;

    if (m->shared) {
        return;
    }

    hdr = (infer_metrics_hdr_t *) m->base;
    s = (infer_metrics_slot_t *) infer_metrics_slot(m->base, m->slot_index);
    p = m->pid;

    (void) __atomic_compare_exchange_n(&s->pid, &p, 0, 0, __ATOMIC_RELEASE,
                                       __ATOMIC_RELAXED);

    m->slot_index = hdr->nslots - 1;
    m->slot = infer_metrics_slot_data(m->base, m->slot_index);
    m->shared = 1;
}


unsigned
infer_metrics_reap(infer_metrics_t *m, infer_metrics_alive_pt alive,
    void *ctx)
{
    int32_t                p;
    uint32_t               i, n;
    unsigned               reaped;
    infer_metrics_hdr_t   *hdr;
    infer_metrics_slot_t  *s;

    if (m->pid <= 0 || alive == NULL) {
        return 0;
    }

    hdr = (infer_metrics_hdr_t *) m->base;
    n = hdr->nslots;
    reaped = 0;

    for (i = 0; i + 1 < n; i++) {
        s = (infer_metrics_slot_t *) infer_metrics_slot(m->base, i);
        p = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);

        if (p == 0 || p == m->pid || alive(ctx, p < 0 ? -p : p)
            || !__atomic_compare_exchange_n(&s->pid, &p, -m->pid, 0,
                                            __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
        {
            continue;
        }

        infer_metrics_zero_live(m->base, i);
        __atomic_fetch_add(&s->reclaims, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&s->pid, 0, __ATOMIC_RELEASE);
        reaped++;
    }

    return reaped;
}


/*
 * The hot path.  A slot has one writer, so an add is a relaxed load and
 * store (no lock prefix: about 1 ns instead of 17 on the machine this was
 * written on); a shared slot takes atomic adds.
 */

static void
infer_metrics_bump(const infer_metrics_t *m, unsigned char *p, uint64_t v)
{
    uint64_t  *u = (uint64_t *) p;

    if (m->shared) {
        (void) __atomic_fetch_add(u, v, __ATOMIC_RELAXED);

    } else {
        __atomic_store_n(u, __atomic_load_n(u, __ATOMIC_RELAXED) + v,
                         __ATOMIC_RELAXED);
    }
}


static void
infer_metrics_bump_real(const infer_metrics_t *m, unsigned char *p, double v)
{
    double     d;
    uint64_t  *u, old, new;

    u = (uint64_t *) p;
    old = __atomic_load_n(u, __ATOMIC_RELAXED);

    do {
        memcpy(&d, &old, 8);
        d += v;
        memcpy(&new, &d, 8);

        if (!m->shared) {
            __atomic_store_n(u, new, __ATOMIC_RELAXED);
            return;
        }

    } while (!__atomic_compare_exchange_n(u, &old, new, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
}


/*
 * A seqlock with one writer per slot; writers of the shared slot take it
 * with a compare-and-swap and skip the exemplar when another holds it.
 */

static void
infer_metrics_put_exemplar(const infer_metrics_t *m, uint64_t *ex,
    const uint8_t *id, uint64_t v, uint64_t now_ms)
{
    uint64_t  seq, hi, lo;

    seq = __atomic_load_n(&ex[0], __ATOMIC_RELAXED);

    if (m->shared) {
        if ((seq & 1)
            || !__atomic_compare_exchange_n(&ex[0], &seq, seq + 1, 0,
                                            __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
        {
            return;
        }

    } else {
        __atomic_store_n(&ex[0], seq + 1, __ATOMIC_RELAXED);
    }

    __atomic_thread_fence(__ATOMIC_RELEASE);

    memcpy(&hi, id, 8);
    memcpy(&lo, id + 8, 8);

    __atomic_store_n(&ex[1], hi, __ATOMIC_RELAXED);
    __atomic_store_n(&ex[2], lo, __ATOMIC_RELAXED);
    __atomic_store_n(&ex[3], v, __ATOMIC_RELAXED);
    __atomic_store_n(&ex[4], now_ms, __ATOMIC_RELAXED);

    __atomic_store_n(&ex[0], seq + 2, __ATOMIC_RELEASE);
}


static void
infer_metrics_hist(const infer_metrics_t *m, const infer_metrics_series_t *s,
    uint64_t v, const uint8_t *id, uint64_t now_ms)
{
    int64_t         x;
    uint32_t        i;
    unsigned char  *p;

    x = (v > INT64_MAX) ? INT64_MAX : (int64_t) v;

    for (i = 0; i < s->n && x > s->ile[i]; i++) {
        /* void */
    }

    p = m->slot + s->data;

    infer_metrics_bump(m, p + i * 8, 1);
    infer_metrics_bump(m, p + (s->n + 1) * 8, v);

    if (id != NULL && s->exemplars) {
        infer_metrics_put_exemplar(m, (uint64_t *) (m->slot + s->exemplars
                                            + i * INFER_METRICS_EX_WORDS * 8),
                                   id, v, now_ms);
    }
}


static void
infer_metrics_hist_real(const infer_metrics_t *m,
    const infer_metrics_series_t *s, double v)
{
    uint32_t        i;
    unsigned char  *p;

    if (isnan(v)) {
        return;                       /* it belongs in no bucket */
    }

    for (i = 0; i < s->n && v > s->le[i]; i++) {
        /* void */
    }

    p = m->slot + s->data;

    infer_metrics_bump(m, p + i * 8, 1);

    if (isfinite(v)) {
        infer_metrics_bump_real(m, p + (s->n + 1) * 8, v);
    }
}


int
infer_metrics_code(int status)
{
    switch (status) {
    case 200: return INFER_CODE_200;
    case 400: return INFER_CODE_400;
    case 404: return INFER_CODE_404;
    case 405: return INFER_CODE_405;
    case 413: return INFER_CODE_413;
    case 415: return INFER_CODE_415;
    case 422: return INFER_CODE_422;
    case 500: return INFER_CODE_500;
    case 503: return INFER_CODE_503;
    default:  return INFER_CODE_OTHER;
    }
}


/* the reason of a core's error code; method, content type and unknown
   model are the glue's to tell */

int
infer_metrics_reason(int rc)
{
    switch (rc) {
    case INFER_OK:      return INFER_REASON_NONE;
    case INFER_EJSON:   return INFER_REASON_BAD_JSON;
    case INFER_EINVAL:  return INFER_REASON_BAD_REQUEST;
    case INFER_ESHAPE:  return INFER_REASON_BAD_SHAPE;
    case INFER_ERANGE:  return INFER_REASON_NON_FINITE;
    case INFER_ETOOBIG: return INFER_REASON_TOO_LARGE;
    default:            return INFER_REASON_INTERNAL;
    }
}


void
infer_metrics_request_start(infer_metrics_t *m, size_t model)
{
    const infer_metrics_series_t  *s;

    if (model < m->nmodels) {
        s = &m->series[model * INFER_MF_N + INFER_MF_IN_FLIGHT];
        infer_metrics_bump(m, m->slot + s->data, 1);
    }
}


void
infer_metrics_request_done(infer_metrics_t *m, size_t model,
    const infer_metrics_obs_t *o)
{
    unsigned char                 *slot;
    const infer_metrics_series_t  *s, *w;

    slot = m->slot;
    w = &m->series[m->nmodels * INFER_MF_N];

    infer_metrics_bump(m, slot + w[INFER_MF_WORKER_REQUESTS].data, 1);

    if (model >= m->nmodels) {
        return;
    }

    s = &m->series[model * INFER_MF_N];

    infer_metrics_bump(m, slot + s[INFER_MF_REQUESTS].data
                          + infer_metrics_code(o->status) * 8, 1);

    if (o->reason >= 0 && o->reason < INFER_NREASONS) {
        infer_metrics_bump(m, slot + s[INFER_MF_ERRORS].data + o->reason * 8,
                           1);
    }

    infer_metrics_bump(m, slot + s[INFER_MF_IN_FLIGHT].data, (uint64_t) -1);

    infer_metrics_hist(m, &s[INFER_MF_REQUEST_DURATION], o->request_ns,
                       o->trace_id, o->now_ms);

    if (o->queued && s[INFER_MF_QUEUE_DURATION].data) {
        infer_metrics_hist(m, &s[INFER_MF_QUEUE_DURATION], o->queue_ns, NULL,
                           0);
    }

    if (o->image_refusal > 0 && o->image_refusal <= INFER_IMAGE_NREFUSALS
        && s[INFER_MF_IMAGE_REFUSED].data)
    {
        infer_metrics_bump(m, slot + s[INFER_MF_IMAGE_REFUSED].data
                              + (o->image_refusal - 1) * 8, 1);
    }

    if (o->decoded && s[INFER_MF_IMAGE_DECODE_DURATION].data) {
        infer_metrics_hist(m, &s[INFER_MF_IMAGE_DECODE_DURATION],
                           o->decode_ns, NULL, 0);
    }

    if (o->sched && s[INFER_MF_REQUEST_SCHED].data) {
        infer_metrics_hist(m, &s[INFER_MF_REQUEST_SCHED], o->sched_ns, NULL,
                           0);
    }

    if (!o->evaluated) {
        return;
    }

    infer_metrics_bump(m, slot + s[INFER_MF_PREDICTIONS].data, o->rows);

    infer_metrics_hist(m, &s[INFER_MF_INFERENCE_DURATION], o->inference_ns,
                       o->trace_id, o->now_ms);

    infer_metrics_hist(m, &s[INFER_MF_BATCH_SIZE], o->rows, NULL, 0);

    if (s[INFER_MF_PREDICTION].data) {
        infer_metrics_hist_real(m, &s[INFER_MF_PREDICTION], o->prediction);
    }
}


void
infer_metrics_add(infer_metrics_t *m, size_t model, unsigned family,
    size_t label, int64_t v)
{
    infer_metrics_t                tmp;
    const infer_metrics_series_t  *s;

    if (family >= INFER_MF_N || (model != INFER_METRICS_NOMODEL
                                 && model >= m->nmodels))
    {
        return;
    }

    s = &m->series[(model == INFER_METRICS_NOMODEL ? m->nmodels : model)
                   * INFER_MF_N + family];

    if (s->data == 0 || label >= s->n
        || infer_metrics_families[family].type == INFER_MT_HISTOGRAM)
    {
        return;
    }

    if (infer_metrics_families[family].scope == INFER_MS_GLOBAL) {
        tmp = *m;
        tmp.slot = infer_metrics_slot_data(m->base,
                           ((infer_metrics_hdr_t *) m->base)->nslots - 1);
        tmp.shared = 1;
        m = &tmp;
    }

    infer_metrics_bump(m, m->slot + s->data + label * 8, (uint64_t) v);
}


void
infer_metrics_set(infer_metrics_t *m, size_t model, unsigned family,
    size_t label, int64_t v)
{
    unsigned char                 *slot;
    const infer_metrics_series_t  *s;

    if (family >= INFER_MF_N || (model != INFER_METRICS_NOMODEL
                                 && model >= m->nmodels))
    {
        return;
    }

    s = &m->series[(model == INFER_METRICS_NOMODEL ? m->nmodels : model)
                   * INFER_MF_N + family];

    if (s->data == 0 || label >= s->n
        || infer_metrics_families[family].type == INFER_MT_HISTOGRAM)
    {
        return;
    }

    slot = m->slot;

    if (infer_metrics_families[family].scope == INFER_MS_GLOBAL) {
        slot = infer_metrics_slot_data(m->base,
                           ((infer_metrics_hdr_t *) m->base)->nslots - 1);
    }

    __atomic_store_n((uint64_t *) (slot + s->data + label * 8), (uint64_t) v,
                     __ATOMIC_RELAXED);
}


void
infer_metrics_observe(infer_metrics_t *m, size_t model, unsigned family,
    uint64_t v, const uint8_t *trace_id, uint64_t now_ms)
{
    const infer_metrics_series_t  *s;

    if (family >= INFER_MF_N || (model != INFER_METRICS_NOMODEL
                                 && model >= m->nmodels))
    {
        return;
    }

    s = &m->series[(model == INFER_METRICS_NOMODEL ? m->nmodels : model)
                   * INFER_MF_N + family];

    if (s->data == 0 || s->ile == NULL || s->kind == INFER_MV_REAL) {
        return;
    }

    infer_metrics_hist(m, s, v, trace_id, now_ms);
}


void
infer_metrics_observe_real(infer_metrics_t *m, size_t model, unsigned family,
    double v)
{
    const infer_metrics_series_t  *s;

    if (family >= INFER_MF_N || (model != INFER_METRICS_NOMODEL
                                 && model >= m->nmodels))
    {
        return;
    }

    s = &m->series[(model == INFER_METRICS_NOMODEL ? m->nmodels : model)
                   * INFER_MF_N + family];

    if (s->data == 0 || s->le == NULL || s->kind != INFER_MV_REAL) {
        return;
    }

    infer_metrics_hist_real(m, s, v);
}


uint64_t
infer_metrics_value(const void *base, uint32_t slot,
    const infer_metrics_rec_t *rec, uint32_t i)
{
    const uint64_t  *v;

    v = (const uint64_t *) (infer_metrics_slot_data(base, slot) + rec->data);

    return __atomic_load_n(&v[i], __ATOMIC_RELAXED);
}


uint64_t
infer_metrics_sum(const void *base, const infer_metrics_rec_t *rec,
    uint32_t i)
{
    const infer_metrics_hdr_t  *hdr = base;

    uint32_t                    s;
    uint64_t                    sum;

    sum = 0;

    for (s = 0; s < hdr->nslots; s++) {
        sum += infer_metrics_value(base, s, rec, i);
    }

    return sum;
}


double
infer_metrics_sum_real(const void *base, const infer_metrics_rec_t *rec,
    uint32_t i)
{
    const infer_metrics_hdr_t  *hdr = base;

    double                      sum, d;
    uint32_t                    s;
    uint64_t                    v;

    sum = 0;

    for (s = 0; s < hdr->nslots; s++) {
        v = infer_metrics_value(base, s, rec, i);
        memcpy(&d, &v, 8);
        sum += d;
    }

    return sum;
}


/* the newest exemplar of a bucket across the slots; 0: none */

int
infer_metrics_exemplar(const void *base, const infer_metrics_rec_t *rec,
    uint32_t bucket, infer_metrics_exemplar_t *ex)
{
    const infer_metrics_hdr_t  *hdr = base;

    int                         found, tries;
    uint32_t                    s;
    uint64_t                    s1, s2;
    const uint64_t             *p;
    infer_metrics_exemplar_t    e;
    const infer_metrics_rec_t  *b;

    b = infer_metrics_bounds(base, rec);

    if (b == NULL
        || !(infer_metrics_families[rec->family].flags & INFER_MF_EXEMPLARS)
        || bucket > b->n)
    {
        return 0;
    }

    found = 0;

    for (s = 0; s < hdr->nslots; s++) {
        p = (const uint64_t *) (infer_metrics_slot_data(base, s) + rec->data
                                + (b->n + 2) * 8
                                + bucket * INFER_METRICS_EX_WORDS * 8);

        for (tries = 0; tries < 4; tries++) {
            s1 = __atomic_load_n(&p[0], __ATOMIC_ACQUIRE);

            if (s1 & 1) {
                continue;
            }

            e.id[0] = __atomic_load_n(&p[1], __ATOMIC_RELAXED);
            e.id[1] = __atomic_load_n(&p[2], __ATOMIC_RELAXED);
            e.value = __atomic_load_n(&p[3], __ATOMIC_RELAXED);
            e.ts_ms = __atomic_load_n(&p[4], __ATOMIC_RELAXED);

            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            s2 = __atomic_load_n(&p[0], __ATOMIC_RELAXED);

            if (s1 != s2) {
                continue;
            }

            if (s1 != 0 && (!found || e.ts_ms > ex->ts_ms)) {
                e.seq = s1;
                *ex = e;
                found = 1;
            }

            break;
        }
    }

    return found;
}
