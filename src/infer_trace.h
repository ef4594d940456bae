/*
 * W3C Trace Context: the traceparent header.
 *
 * A request keeps the trace id of a valid incoming traceparent and gets a
 * span id of its own; without one (or with an invalid one) it starts a new
 * trace.  Ids come from a xoshiro256** generator that each process seeds
 * once (the glue uses pid ^ time): no syscall per request.
 */

#ifndef INFER_TRACE_H
#define INFER_TRACE_H


#include "infer_core.h"


#define INFER_TRACE_ID_LEN       16   /* bytes of a trace id */
#define INFER_TRACE_SPAN_LEN     8    /* bytes of a span (parent) id */
#define INFER_TRACEPARENT_LEN    55   /* "00-" 32 hex "-" 16 hex "-" 2 hex */
/* where the ids' hex digits stand in it */
#define INFER_TRACEPARENT_TRACE  3
#define INFER_TRACEPARENT_SPAN                                                \
    (INFER_TRACEPARENT_TRACE + 2 * INFER_TRACE_ID_LEN + 1)
#define INFER_TRACEPARENT_FLAGS                                               \
    (INFER_TRACEPARENT_SPAN + 2 * INFER_TRACE_SPAN_LEN + 1)

#define INFER_TRACE_SAMPLED      0x01 /* the only flag of version 00 */


typedef struct {
    uint64_t      s[4];
} infer_trace_rng_t;


typedef struct {
    uint8_t       trace_id[INFER_TRACE_ID_LEN];
    uint8_t       parent_id[INFER_TRACE_SPAN_LEN];  /* the caller's span */
    uint8_t       span_id[INFER_TRACE_SPAN_LEN];    /* ours */
    uint8_t       flags;
    unsigned      remote:1;          /* ids from a valid traceparent */
} infer_trace_t;


void infer_trace_seed(infer_trace_rng_t *rng, uint64_t seed);
uint64_t infer_trace_rand(infer_trace_rng_t *rng);

/*
 * Parses a traceparent value (surrounding spaces and tabs are ignored) into
 * t->trace_id, t->parent_id and t->flags: INFER_OK, or INFER_EINVAL and t
 * is left alone.  Version 00 must be exactly 55 characters; a later version
 * is taken when its first 55 characters parse as 00 would and are followed
 * by the end or a "-"; version ff is invalid.
 */
int infer_trace_parse(infer_trace_t *t, const char *value, size_t len);

/*
 * Keeps the ids of a valid traceparent (value may be NULL) and draws a new
 * span id; else draws a new trace id, with new_flags as its flags.  Only
 * the sampled flag is propagated: version 00 defines no other.
 */
void infer_trace_start(infer_trace_t *t, infer_trace_rng_t *rng,
    const char *value, size_t len, unsigned new_flags);

/* "00-<trace id>-<span id>-<flags>" and a NUL: buf has 56 bytes */
size_t infer_trace_format(char *buf, const infer_trace_t *t);

/* 2 * n lowercase hex digits, no NUL */
void infer_trace_hex(char *dst, const uint8_t *src, size_t n);


#endif /* INFER_TRACE_H */
