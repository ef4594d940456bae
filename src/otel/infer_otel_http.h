/*
 * The HTTP/1.1 client codec the trace exporter needs: the head of an
 * OTLP/HTTP POST, an incremental parser of the collector's response, and
 * what the response body says (OTLP's partial success, or the message of
 * the google.rpc.Status an error carries).  nginx-free, fuzzed alone.
 *
 * The exporter keeps its connection alive between batches: a response is
 * complete when its Content-Length or its last chunk has arrived, or,
 * with neither, at the connection's end.
 */

#ifndef INFER_OTEL_HTTP_H
#define INFER_OTEL_HTTP_H


#include "infer_core.h"


#ifndef INFER_AGAIN
#define INFER_AGAIN           -10   /* more input is needed */
#endif

#define INFER_OTEL_HTTP_BODY   4096  /* bytes of a response body kept */
#define INFER_OTEL_HTTP_LINE   8192  /* the longest status or header line */


typedef struct {
    const char          *name;
    size_t               name_len;
    const char          *value;
    size_t               value_len;
} infer_otel_header_t;


typedef struct {
    const char          *host;       /* Host: the endpoint's, with :port
                                        unless it is the scheme's */
    size_t               host_len;
    const char          *path;       /* /v1/traces */
    size_t               path_len;
    const char          *content_type;
    unsigned             gzip:1;     /* Content-Encoding: gzip */
    size_t               content_length;
    const infer_otel_header_t  *headers;   /* infer_otel_header */
    size_t               nheaders;
    const char          *user_agent;
} infer_otel_http_request_t;


/*
 * Writes the request's head (request line, headers, the empty line) to
 * buf: its length, or, when it is more than cap, the length it needs
 * (nothing useful written), as snprintf() does.
 */
size_t infer_otel_http_head(char *buf, size_t cap,
    const infer_otel_http_request_t *req);


typedef struct {
    /* what the parser found */
    int                  status;         /* 100..599 */
    int64_t              content_length; /* -1: none */
    int64_t              retry_after;    /* seconds, -1: none or invalid */
    unsigned             chunked:1;
    unsigned             close:1;        /* the connection cannot be kept */
    unsigned             json:1;         /* Content-Type: application/json */
    unsigned             truncated:1;    /* the body was longer than kept */
    size_t               body_len;       /* bytes in body */
    char                 body[INFER_OTEL_HTTP_BODY];

    /* the parser's own */
    int                  state;
    size_t               line_len;
    char                 line[INFER_OTEL_HTTP_LINE];
    uint64_t             left;           /* of the body or the chunk */
} infer_otel_http_response_t;


void infer_otel_http_response_init(infer_otel_http_response_t *r);

/*
 * Feeds bytes the connection read.  INFER_AGAIN: more are needed;
 * INFER_OK: the response is complete, *used bytes of data were taken (a
 * well-behaved collector sends nothing more); INFER_EINVAL: not an
 * HTTP/1.x response, or one this parser will not take (a line longer
 * than INFER_OTEL_HTTP_LINE, a bad chunk size).  A 1xx response is
 * skipped.  now is the unix time, for a Retry-After given as a date.
 */
int infer_otel_http_response_parse(infer_otel_http_response_t *r,
    const char *data, size_t len, size_t *used, int64_t now);

/*
 * The connection ended: INFER_OK when that completes the response (a
 * body delimited by the close), INFER_EINVAL when it was cut short.
 */
int infer_otel_http_response_eof(infer_otel_http_response_t *r);

/*
 * A Retry-After value (p to end, trimmed): seconds after now, at most a
 * day (0 for a date past), or -1 when it is neither delta-seconds nor an
 * HTTP-date.  The parser sets retry_after with it.
 */
int64_t infer_otel_http_retry_after(const char *p, const char *end,
    int64_t now);

/* 1: n decimal digits at p, before end */
int infer_otel_http_digits(const char *p, const char *end, size_t n);

/*
 * ExportTraceServiceResponse.partial_success from a 200's body, protobuf
 * or JSON: INFER_OK with the spans the collector rejected and its
 * message (NUL-terminated, cut to msg_len - 1 bytes, control characters
 * replaced), or INFER_DECLINED when the body says nothing of it.
 */
int infer_otel_partial_success(const char *body, size_t len, int json,
    int64_t *rejected, char *msg, size_t msg_len);

/*
 * The message of an error response's google.rpc.Status (protobuf or
 * JSON; also {"error":{"message":...}}), or the body's start when it is
 * text, for the log: always NUL-terminated, printable ASCII.
 */
void infer_otel_error_message(const char *body, size_t len, int json,
    char *msg, size_t msg_len);


#endif /* INFER_OTEL_HTTP_H */
