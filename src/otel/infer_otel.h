/*
 * OpenTelemetry spans, encoded for OTLP/HTTP (protobuf or JSON, gzip or
 * not) into a bounded queue of batches: the nginx-free half of the trace
 * exporter.  The glue fills infer_otel_span_t from a request, adds a
 * request's spans at the log phase, and sends the batches the queue
 * seals; nothing here does I/O or allocates after infer_otel_queue_create().
 *
 * Wire format: opentelemetry-proto v1 (trace.proto, common.proto,
 * resource.proto, collector/trace/v1/trace_service.proto).  A body is one
 * ExportTraceServiceRequest with one ResourceSpans (the queue's resource)
 * holding one ScopeSpans (its instrumentation scope) holding the spans.
 * Each span is encoded once, when it is added; the envelope's lengths are
 * written when the batch is sealed, in a head of its own, so that the
 * spans are never copied or moved.
 */

#ifndef INFER_OTEL_H
#define INFER_OTEL_H


#include <sys/uio.h>

#include "infer_core.h"


#ifndef INFER_AGAIN
#define INFER_AGAIN           -10   /* more input is needed */
#endif

#ifndef INFER_ENOSPC
#define INFER_ENOSPC          -16   /* no room: the spans are dropped */
#endif

/* a string attribute's value is cut here, at a UTF-8 character boundary */
#define INFER_OTEL_MAX_STRING  1024
#define INFER_OTEL_MAX_NAME    256   /* a span's name */


/* Span.SpanKind */
#define INFER_OTEL_KIND_INTERNAL  1
#define INFER_OTEL_KIND_SERVER    2

/* Status.StatusCode */
#define INFER_OTEL_STATUS_UNSET   0
#define INFER_OTEL_STATUS_OK      1
#define INFER_OTEL_STATUS_ERROR   2

/* Span.flags: the W3C trace flags in bits 0-7, and whether the parent is
   remote (SpanFlags: HAS_IS_REMOTE 0x100, IS_REMOTE 0x200) */
#define INFER_OTEL_FLAG_HAS_IS_REMOTE  0x100
#define INFER_OTEL_FLAG_IS_REMOTE      0x200


typedef enum {
    INFER_OTEL_STRING = 0,
    INFER_OTEL_INT,
    INFER_OTEL_DOUBLE,
    INFER_OTEL_BOOL
} infer_otel_type_e;


/*
 * A KeyValue.  Strings need not be valid UTF-8 (a User-Agent or a path is
 * what the client sent): invalid bytes are written as U+FFFD, since OTLP
 * strings must be UTF-8 and a collector may refuse the whole batch over
 * one bad byte.  The same holds for span names and status messages.
 */

typedef struct {
    const char          *key;        /* NUL-terminated */
    size_t               key_len;    /* its strlen(), or 0: measured */
    uint8_t              type;       /* infer_otel_type_e */
    size_t               len;        /* STRING: bytes at v.s */
    union {
        const char      *s;
        int64_t          i;
        double           d;
        int              b;
    } v;
} infer_otel_attr_t;


typedef struct {
    uint8_t              trace_id[16];
    uint8_t              span_id[8];
    uint8_t              parent_id[8];
    unsigned             has_parent:1;
    uint32_t             flags;      /* Span.flags, INFER_OTEL_FLAG_* */
    const char          *name;
    size_t               name_len;
    int                  kind;       /* INFER_OTEL_KIND_* */
    uint64_t             start_ns;   /* unix time, nanoseconds */
    uint64_t             end_ns;
    const infer_otel_attr_t  *attrs;
    size_t               nattrs;
    int                  status;     /* INFER_OTEL_STATUS_* */
    const char          *status_message;     /* or NULL */
    size_t               status_message_len;
    const char          *trace_state;        /* W3C tracestate, or NULL */
    size_t               trace_state_len;
} infer_otel_span_t;


/* what every batch says about where its spans come from */

typedef struct {
    const infer_otel_attr_t  *attrs;          /* Resource.attributes */
    size_t               nattrs;
    const char          *scope_name;         /* InstrumentationScope */
    const char          *scope_version;
    const char          *schema_url;         /* semantic conventions, or
                                                NULL */
} infer_otel_resource_t;


typedef enum {
    INFER_OTEL_PROTOBUF = 0,         /* application/x-protobuf */
    INFER_OTEL_JSON                  /* application/json, OTLP's mapping */
} infer_otel_protocol_e;


typedef struct {
    int                  protocol;   /* infer_otel_protocol_e */
    int                  gzip;       /* 0: off, else zlib's level 1..9 */
    size_t               batch_spans;    /* a batch is sealed at this many */
    size_t               batch_bytes;    /* or when this many bytes of it
                                            are used: its buffer's size */
    size_t               queued;     /* sealed batches that may wait to
                                        be sent, besides the one filling */
    const infer_otel_resource_t  *resource;   /* copied by init */
} infer_otel_queue_conf_t;


typedef struct infer_otel_batch_s  infer_otel_batch_t;
typedef struct infer_otel_queue_s  infer_otel_queue_t;


/*
 * Allocates every buffer the queue will use (malloc(): pages a worker
 * never fills are never touched), encodes the resource and scope once.
 * INFER_ERROR: out of memory; INFER_EINVAL: conf makes no sense (no
 * spans per batch, a buffer too small for the envelope).
 */
int infer_otel_queue_create(infer_otel_queue_t **qp,
    const infer_otel_queue_conf_t *conf);
void infer_otel_queue_destroy(infer_otel_queue_t *q);

/*
 * Encodes a request's n spans into the batch being filled, all or none.
 * When they do not fit there (spans or bytes), that batch is sealed and
 * the next free one takes them.  INFER_OK; INFER_ENOSPC: every batch is
 * sealed and waiting, the spans are dropped (the caller counts them);
 * INFER_ETOOBIG: they would not fit even an empty batch (dropped too).
 */
int infer_otel_queue_add(infer_otel_queue_t *q, const infer_otel_span_t *spans,
    size_t n);

/* seals the batch being filled, if it holds a span (the flush timer) */
void infer_otel_queue_seal(infer_otel_queue_t *q);

/* the oldest sealed batch, or NULL; pop frees it for filling again */
infer_otel_batch_t *infer_otel_queue_peek(infer_otel_queue_t *q);
void infer_otel_queue_pop(infer_otel_queue_t *q);

size_t infer_otel_queue_sealed(const infer_otel_queue_t *q);  /* batches */
size_t infer_otel_queue_filling(const infer_otel_queue_t *q); /* spans */

/*
 * A sealed batch's HTTP body, in at most 3 pieces (envelope head, spans,
 * tail) that point into the batch: its length; *niov is set.
 */
size_t infer_otel_batch_body(const infer_otel_batch_t *b, struct iovec *iov,
    int *niov);
size_t infer_otel_batch_nspans(const infer_otel_batch_t *b);

/* "application/x-protobuf" or "application/json" */
const char *infer_otel_content_type(int protocol);


/*
 * Sampling by trace id, the same decision in every process and service
 * that uses OpenTelemetry's threshold rule: a trace is sampled when the
 * 56 bits of randomness at the end of its id are at least the rejection
 * threshold (1 - ratio) x 2^56.
 */
uint64_t infer_otel_ratio_threshold(double ratio);
int infer_otel_ratio_sampled(const uint8_t *trace_id, uint64_t threshold);


#endif /* INFER_OTEL_H */
