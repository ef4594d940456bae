/*
 * The exporter's queue: queued + 1 batches in a ring, the sealed ones
 * oldest first, then the one being filled.
 *
 * A batch is one buffer of batch_bytes: room for the envelope's head, the
 * spans, room for its tail.  The spans are encoded straight into it as
 * they are added; when the batch is sealed the head is written just
 * before them and the tail just after, so that a body is one piece of the
 * buffer and never copied.
 *
 * With gzip, a request's spans are encoded into a staging area first (so
 * that a request that does not fit leaves the batch as it was) and then
 * deflated into the batch at once, Z_NO_FLUSH: no flush ever compresses a
 * whole batch.  Sealing ends the raw deflate stream on a byte with
 * Z_SYNC_FLUSH and frames one gzip member around it as pigz does: the
 * envelope's head and tail go in stored blocks, the CRC-32 of the whole is
 * combined from its parts' (crc32_combine), and a batch takes only the
 * raw bytes whose deflate cannot outgrow it (deflateBound()).
 */

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "infer_otel_enc.h"


#define INFER_OTEL_GZ_HEADER   10   /* a gzip member's header */
#define INFER_OTEL_GZ_STORED   5    /* a stored block's header */
#define INFER_OTEL_GZ_TRAILER  8    /* CRC-32 and ISIZE */
#define INFER_OTEL_GZ_MAX      65535 /* a stored block's bytes */

/* what Z_SYNC_FLUSH adds to deflateBound() (an empty stored block, 5
   bytes at most), with room to spare */
#define INFER_OTEL_GZ_SLACK    16


struct infer_otel_batch_s {
    uint8_t             *buf;        /* batch_bytes */
    size_t               len;        /* spans' bytes at buf + head_cap,
                                        deflated with gzip */
    size_t               raw;        /* before deflate */
    size_t               nspans;
    uint32_t             crc;        /* CRC-32 of the raw spans (gzip) */
    uint8_t             *body;       /* sealed: the body, in buf */
    size_t               body_len;
};


struct infer_otel_queue_s {
    int                  protocol;
    int                  gzip;
    size_t               batch_spans;
    size_t               batch_bytes;
    size_t               nbatches;   /* queued + 1 */
    size_t               first;      /* the oldest sealed batch */
    size_t               nsealed;
    infer_otel_batch_t  *batches;

    size_t               head_cap;   /* room kept for the head */
    size_t               spans_cap;  /* for the spans, deflated or not */
    size_t               max_raw;    /* gzip: raw bytes whose deflate
                                        always fits spans_cap */

    /* the envelope's parts, encoded once, all in env */
    uint8_t             *env;
    uint8_t             *head;       /* protobuf: ResourceSpans.resource;
                                        JSON: the whole head */
    size_t               head_len;
    uint8_t             *scope;      /* protobuf: ScopeSpans.scope */
    size_t               scope_len;
    uint8_t             *tail;       /* protobuf: two schema_url fields;
                                        JSON: the whole tail */
    size_t               tail_len;

    /* gzip */
    z_stream            *zs;
    uint8_t             *stage;      /* a request's spans, max_raw + 1 */
    const uint8_t       *dict;       /* the end of every head */
    size_t               dict_len;
    uint32_t             tail_crc;
};


static int infer_otel_queue_envelope(infer_otel_queue_t *q,
    const infer_otel_resource_t *r);
static int infer_otel_queue_gzip(infer_otel_queue_t *q);
static void infer_otel_queue_encode(infer_otel_queue_t *q,
    infer_otel_out_t *o, const infer_otel_span_t *spans, size_t n,
    int comma);
static int infer_otel_queue_add_gzip(infer_otel_queue_t *q,
    const infer_otel_span_t *spans, size_t n);
static int infer_otel_queue_deflate(infer_otel_queue_t *q,
    infer_otel_batch_t *b, const uint8_t *data, size_t len);
static void infer_otel_queue_seal_batch(infer_otel_queue_t *q,
    infer_otel_batch_t *b);
static int infer_otel_queue_finish(infer_otel_queue_t *q,
    infer_otel_batch_t *b);
static uint8_t *infer_otel_queue_stored(uint8_t *p, size_t len, int last);
static uint8_t *infer_otel_queue_le32(uint8_t *p, uint32_t v);
static void infer_otel_queue_reset(infer_otel_batch_t *b);


int
infer_otel_queue_create(infer_otel_queue_t **qp,
    const infer_otel_queue_conf_t *conf)
{
    int                  rc;
    size_t               i, head_raw, tail_cap;
    infer_otel_queue_t  *q;

    *qp = NULL;

    if ((conf->protocol != INFER_OTEL_PROTOBUF
         && conf->protocol != INFER_OTEL_JSON)
        || conf->gzip < 0 || conf->gzip > 9
        || conf->batch_spans == 0
        || conf->batch_bytes == 0
        || conf->batch_bytes > 0x7fffffff          /* zlib's uInt */
        || conf->queued >= SIZE_MAX / conf->batch_bytes)
    {
        return INFER_EINVAL;
    }

    q = calloc(1, sizeof(infer_otel_queue_t));

    if (q == NULL) {
        return INFER_ERROR;
    }

    q->protocol = conf->protocol;
    q->gzip = conf->gzip;
    q->batch_spans = conf->batch_spans;
    q->batch_bytes = conf->batch_bytes;
    q->nbatches = conf->queued + 1;

    rc = infer_otel_queue_envelope(q, conf->resource);

    if (rc != INFER_OK) {
        goto failed;
    }

    /* the head's varints take 10 bytes at most */

    if (q->protocol == INFER_OTEL_PROTOBUF) {
        head_raw = 1 + 10 + q->head_len + 1 + 10 + q->scope_len;

    } else {
        head_raw = q->head_len;
    }

    q->head_cap = head_raw;
    tail_cap = q->tail_len;

    if (q->gzip) {
        if (head_raw > INFER_OTEL_GZ_MAX || q->tail_len > INFER_OTEL_GZ_MAX) {
            rc = INFER_EINVAL;
            goto failed;
        }

        q->head_cap += INFER_OTEL_GZ_HEADER + INFER_OTEL_GZ_STORED;
        tail_cap += (q->tail_len ? INFER_OTEL_GZ_STORED : 0)
                    + INFER_OTEL_GZ_STORED + INFER_OTEL_GZ_TRAILER;
    }

    if (q->batch_bytes <= q->head_cap + tail_cap) {
        rc = INFER_EINVAL;
        goto failed;
    }

    q->spans_cap = q->batch_bytes - q->head_cap - tail_cap;

    if (q->gzip) {
        rc = infer_otel_queue_gzip(q);

        if (rc != INFER_OK) {
            goto failed;
        }
    }

    q->batches = calloc(q->nbatches, sizeof(infer_otel_batch_t));

    if (q->batches == NULL) {
        rc = INFER_ERROR;
        goto failed;
    }

    /* malloc(): the pages of a batch are touched only when spans fill it */

    for (i = 0; i < q->nbatches; i++) {
        q->batches[i].buf = malloc(q->batch_bytes);

        if (q->batches[i].buf == NULL) {
            rc = INFER_ERROR;
            goto failed;
        }
    }

    *qp = q;

    return INFER_OK;

failed:

    infer_otel_queue_destroy(q);

    return rc;
}


void
infer_otel_queue_destroy(infer_otel_queue_t *q)
{
    size_t  i;

    if (q == NULL) {
        return;
    }

    if (q->batches != NULL) {
        for (i = 0; i < q->nbatches; i++) {
            free(q->batches[i].buf);
        }

        free(q->batches);
    }

    if (q->zs != NULL) {
        deflateEnd(q->zs);
        free(q->zs);
    }

    free(q->stage);
    free(q->env);
    free(q);
}


/* the envelope's parts, measured and then written */

static int
infer_otel_queue_envelope(infer_otel_queue_t *q,
    const infer_otel_resource_t *r)
{
    int               pass;
    size_t            head, scope;
    uint8_t           none;
    infer_otel_out_t  o;

    head = 0;
    scope = 0;

    o.buf = &none;
    o.cap = 0;

    for (pass = 0; pass < 2; pass++) {
        o.len = 0;
        o.over = 0;

        if (q->protocol == INFER_OTEL_PROTOBUF) {
            infer_otel_pb_resource(&o, r);
            head = o.len;
            infer_otel_pb_scope(&o, r);
            scope = o.len - head;
            infer_otel_pb_schema_url(&o, r);     /* ScopeSpans' */
            infer_otel_pb_schema_url(&o, r);     /* ResourceSpans' */

        } else {
            infer_otel_json_head(&o, r);
            head = o.len;
            infer_otel_json_tail(&o, r);
        }

        if (pass == 0) {
            q->env = malloc(o.len);

            if (q->env == NULL) {
                return INFER_ERROR;
            }

            o.buf = q->env;
            o.cap = o.len;
        }
    }

    q->head = q->env;
    q->head_len = head;
    q->scope = q->env + head;
    q->scope_len = scope;
    q->tail = q->env + head + scope;
    q->tail_len = o.len - head - scope;

    /* what precedes the spans in every body primes the deflate of them */

    if (q->protocol == INFER_OTEL_PROTOBUF) {
        q->dict = q->scope;
        q->dict_len = q->scope_len;

    } else {
        q->dict = q->head;
        q->dict_len = q->head_len;
    }

    return INFER_OK;
}


/* one raw deflate stream for the queue, reset for each batch */

static int
infer_otel_queue_gzip(infer_otel_queue_t *q)
{
    size_t  lo, hi, mid;

    q->zs = calloc(1, sizeof(z_stream));

    if (q->zs == NULL) {
        return INFER_ERROR;
    }

    if (deflateInit2(q->zs, q->gzip, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        free(q->zs);
        q->zs = NULL;
        return INFER_ERROR;
    }

    /* the most raw bytes whose worst case fits: deflateBound() grows */

    lo = 0;
    hi = q->spans_cap;

    while (lo < hi) {
        mid = lo + (hi - lo + 1) / 2;

        if (deflateBound(q->zs, mid) + INFER_OTEL_GZ_SLACK <= q->spans_cap) {
            lo = mid;

        } else {
            hi = mid - 1;
        }
    }

    q->max_raw = lo;

    if (q->max_raw == 0) {
        return INFER_EINVAL;
    }

    q->stage = malloc(q->max_raw + 1);

    if (q->stage == NULL) {
        return INFER_ERROR;
    }

    q->tail_crc = crc32(0, q->tail, q->tail_len);

    return INFER_OK;
}


static void
infer_otel_queue_encode(infer_otel_queue_t *q, infer_otel_out_t *o,
    const infer_otel_span_t *spans, size_t n, int comma)
{
    size_t  i;

    if (q->protocol == INFER_OTEL_PROTOBUF) {
        for (i = 0; i < n; i++) {
            infer_otel_pb_span(o, &spans[i]);
        }

    } else {
        for (i = 0; i < n; i++) {
            infer_otel_json_span(o, &spans[i], comma || i > 0);
        }
    }
}


int
infer_otel_queue_add(infer_otel_queue_t *q, const infer_otel_span_t *spans,
    size_t n)
{
    int                  comma;
    infer_otel_out_t     o;
    infer_otel_batch_t  *b;

    if (n == 0) {
        return INFER_OK;
    }

    if (n > q->batch_spans) {
        return INFER_ETOOBIG;
    }

    if (q->nsealed == q->nbatches) {
        return INFER_ENOSPC;
    }

    if (q->gzip) {
        return infer_otel_queue_add_gzip(q, spans, n);
    }

    b = &q->batches[(q->first + q->nsealed) % q->nbatches];

    for ( ;; ) {

        if (b->nspans + n <= q->batch_spans) {
            comma = (q->protocol == INFER_OTEL_JSON && b->nspans != 0);

            o.buf = b->buf + q->head_cap;
            o.len = b->len;
            o.cap = q->spans_cap;
            o.over = 0;

            infer_otel_queue_encode(q, &o, spans, n, comma);

            if (!o.over) {
                b->len = o.len;
                b->raw = o.len;
                b->nspans += n;

                if (b->nspans == q->batch_spans) {
                    infer_otel_queue_seal_batch(q, b);
                }

                return INFER_OK;
            }

            /* nothing is kept past b->len: all or none */

            if (b->nspans == 0 || o.len - b->len - comma > q->spans_cap) {
                return INFER_ETOOBIG;
            }
        }

        infer_otel_queue_seal_batch(q, b);

        if (q->nsealed == q->nbatches) {
            return INFER_ENOSPC;
        }

        b = &q->batches[(q->first + q->nsealed) % q->nbatches];
    }
}


/*
 * The spans are encoded once, into the staging area; JSON's go there
 * after a comma each, and the first of a batch is deflated without its.
 */

static int
infer_otel_queue_add_gzip(infer_otel_queue_t *q,
    const infer_otel_span_t *spans, size_t n)
{
    int                  rc;
    size_t               comma, skip, len;
    infer_otel_out_t     o;
    infer_otel_batch_t  *b;

    comma = (q->protocol == INFER_OTEL_JSON);

    o.buf = q->stage;
    o.len = 0;
    o.cap = q->max_raw + comma;
    o.over = 0;

    infer_otel_queue_encode(q, &o, spans, n, (int) comma);

    if (o.over) {
        return INFER_ETOOBIG;
    }

    b = &q->batches[(q->first + q->nsealed) % q->nbatches];

    for ( ;; ) {
        skip = (b->nspans == 0) ? comma : 0;
        len = o.len - skip;

        if (b->nspans + n <= q->batch_spans && len <= q->max_raw - b->raw) {
            rc = infer_otel_queue_deflate(q, b, q->stage + skip, len);

            if (rc != INFER_OK) {
                return rc;
            }

            b->nspans += n;

            if (b->nspans == q->batch_spans) {
                infer_otel_queue_seal_batch(q, b);
            }

            return INFER_OK;
        }

        infer_otel_queue_seal_batch(q, b);

        if (q->nsealed == q->nbatches) {
            return INFER_ENOSPC;
        }

        b = &q->batches[(q->first + q->nsealed) % q->nbatches];
    }
}


static int
infer_otel_queue_deflate(infer_otel_queue_t *q, infer_otel_batch_t *b,
    const uint8_t *data, size_t len)
{
    int        rc;
    z_stream  *zs;

    zs = q->zs;

    if (b->nspans == 0) {
        b->len = 0;
        b->raw = 0;
        b->crc = crc32(0, NULL, 0);

        if (deflateReset(zs) != Z_OK
            || (q->dict_len != 0
                && deflateSetDictionary(zs, q->dict, q->dict_len) != Z_OK))
        {
            return INFER_ERROR;
        }
    }

    zs->next_in = (Bytef *) data;
    zs->avail_in = len;
    zs->next_out = b->buf + q->head_cap + b->len;
    zs->avail_out = q->spans_cap - b->len;

    rc = deflate(zs, Z_NO_FLUSH);

    b->len = q->spans_cap - zs->avail_out;

    if (rc != Z_OK || zs->avail_in != 0) {
        /* max_raw makes it impossible; the batch is lost, not corrupt */
        infer_otel_queue_reset(b);
        return INFER_ERROR;
    }

    b->raw += len;
    b->crc = crc32(b->crc, data, len);

    return INFER_OK;
}


/* the rest of the deflate stream, up to a byte boundary */

static int
infer_otel_queue_finish(infer_otel_queue_t *q, infer_otel_batch_t *b)
{
    int        rc;
    z_stream  *zs;

    zs = q->zs;

    zs->next_in = Z_NULL;
    zs->avail_in = 0;
    zs->next_out = b->buf + q->head_cap + b->len;
    zs->avail_out = q->spans_cap - b->len;

    rc = deflate(zs, Z_SYNC_FLUSH);

    b->len = q->spans_cap - zs->avail_out;

    /* no room left may mean more to come: not within max_raw */

    if (rc != Z_OK || zs->avail_out == 0) {
        return INFER_ERROR;
    }

    return INFER_OK;
}


/* a stored block's header: BFINAL, BTYPE 00, LEN and NLEN */

static uint8_t *
infer_otel_queue_stored(uint8_t *p, size_t len, int last)
{
    p[0] = last ? 1 : 0;
    p[1] = (uint8_t) len;
    p[2] = (uint8_t) (len >> 8);
    p[3] = (uint8_t) ~len;
    p[4] = (uint8_t) (~len >> 8);

    return p + INFER_OTEL_GZ_STORED;
}


static uint8_t *
infer_otel_queue_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);

    return p + 4;
}


static void
infer_otel_queue_reset(infer_otel_batch_t *b)
{
    b->len = 0;
    b->raw = 0;
    b->nspans = 0;
    b->crc = 0;
    b->body = NULL;
    b->body_len = 0;
}


/* the head goes just before the spans, the tail just after them */

static void
infer_otel_queue_seal_batch(infer_otel_queue_t *q, infer_otel_batch_t *b)
{
    size_t    head;
    uint8_t  *spans, *h, *t;
    uint32_t  crc;

    static const uint8_t  gz_header[INFER_OTEL_GZ_HEADER] = {
        0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3      /* deflate, unix */
    };

    if (q->gzip && infer_otel_queue_finish(q, b) != INFER_OK) {
        infer_otel_queue_reset(b);          /* cannot happen, as above */
        return;
    }

    spans = b->buf + q->head_cap;

    if (q->protocol == INFER_OTEL_PROTOBUF) {
        head = infer_otel_pb_head(NULL, q->head, q->head_len, q->scope,
                                  q->scope_len, b->raw, q->tail_len / 2);
        h = spans - head;
        infer_otel_pb_head(h, q->head, q->head_len, q->scope, q->scope_len,
                           b->raw, q->tail_len / 2);

    } else {
        head = q->head_len;
        h = spans - head;
        memcpy(h, q->head, head);
    }

    t = spans + b->len;

    if (!q->gzip) {
        memcpy(t, q->tail, q->tail_len);

        b->body = h;
        b->body_len = head + b->len + q->tail_len;
        q->nsealed++;

        return;
    }

    crc = crc32(0, h, head);
    crc = crc32_combine(crc, b->crc, b->raw);
    crc = crc32_combine(crc, q->tail_crc, q->tail_len);

    h -= INFER_OTEL_GZ_HEADER + INFER_OTEL_GZ_STORED;
    memcpy(h, gz_header, INFER_OTEL_GZ_HEADER);
    infer_otel_queue_stored(h + INFER_OTEL_GZ_HEADER, head, 0);

    if (q->tail_len) {
        t = infer_otel_queue_stored(t, q->tail_len, 0);
        memcpy(t, q->tail, q->tail_len);
        t += q->tail_len;
    }

    t = infer_otel_queue_stored(t, 0, 1);
    t = infer_otel_queue_le32(t, crc);
    t = infer_otel_queue_le32(t, (uint32_t) (head + b->raw + q->tail_len));

    b->body = h;
    b->body_len = t - h;
    q->nsealed++;
}


void
infer_otel_queue_seal(infer_otel_queue_t *q)
{
    infer_otel_batch_t  *b;

    if (q->nsealed == q->nbatches) {
        return;
    }

    b = &q->batches[(q->first + q->nsealed) % q->nbatches];

    if (b->nspans != 0) {
        infer_otel_queue_seal_batch(q, b);
    }
}


infer_otel_batch_t *
infer_otel_queue_peek(infer_otel_queue_t *q)
{
    return q->nsealed ? &q->batches[q->first] : NULL;
}


void
infer_otel_queue_pop(infer_otel_queue_t *q)
{
    if (q->nsealed == 0) {
        return;
    }

    infer_otel_queue_reset(&q->batches[q->first]);
    q->first = (q->first + 1) % q->nbatches;
    q->nsealed--;
}


size_t
infer_otel_queue_sealed(const infer_otel_queue_t *q)
{
    return q->nsealed;
}


size_t
infer_otel_queue_filling(const infer_otel_queue_t *q)
{
    if (q->nsealed == q->nbatches) {
        return 0;
    }

    return q->batches[(q->first + q->nsealed) % q->nbatches].nspans;
}


/* the body is written in one piece: the head and tail border the spans */

size_t
infer_otel_batch_body(const infer_otel_batch_t *b, struct iovec *iov,
    int *niov)
{
    if (b->body == NULL) {
        *niov = 0;
        return 0;
    }

    iov[0].iov_base = b->body;
    iov[0].iov_len = b->body_len;
    *niov = 1;

    return b->body_len;
}


size_t
infer_otel_batch_nspans(const infer_otel_batch_t *b)
{
    return b->nspans;
}


const char *
infer_otel_content_type(int protocol)
{
    return (protocol == INFER_OTEL_JSON) ? "application/json"
                                         : "application/x-protobuf";
}
