/*
 * What every streaming request parser here shares, whatever its protocol:
 * yajl fed chunk by chunk as the body arrives, the first error kept with
 * its status and message, and yajl's own messages made one line that says
 * where in the body it stopped.
 */

#ifndef INFER_JSON_STREAM_H
#define INFER_JSON_STREAM_H


#include <stddef.h>

#include <yajl/yajl_parse.h>

#include "infer_core.h"


typedef struct {
    yajl_handle       yajl;
    size_t            consumed;       /* bytes of earlier chunks */
    int               rc;             /* INFER_OK, or the first error */
    char              err[INFER_ERRLEN];
} infer_json_stream_t;


/* yajl's memory from alloc; INFER_ERROR when yajl cannot be allocated */
int infer_json_stream_init(infer_json_stream_t *js,
    const yajl_callbacks *callbacks, void *ctx, const infer_alloc_t *alloc);
void infer_json_stream_free(infer_json_stream_t *js);

/* one chunk; rc, kept once set: later chunks are ignored */
int infer_json_stream_feed(infer_json_stream_t *js,
    const unsigned char *data, size_t len);

/* the end of the body: an empty one, or a document left open, fails */
int infer_json_stream_end(infer_json_stream_t *js);

/* records the error and returns 0, what tells yajl's callbacks to stop */
int infer_json_stream_fail(infer_json_stream_t *js, int rc,
    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;


#endif /* INFER_JSON_STREAM_H */
