/*
 * The exporter's HTTP/1.1 client codec: the head of the POST, the
 * collector's response framed as RFC 9112 says (status line, fields,
 * Content-Length, chunked, or the close).  Retry-After's dates are read
 * in infer_otel_http_date.c, the response's body in infer_otel_http_body.c.
 *
 * The response parser keeps each line whole in r->line before it looks at
 * it, and body bytes go straight to r->body: however the reads split the
 * response, the same bytes reach the same code, so the outcome cannot
 * depend on the split (the fuzz harness checks that).
 */

#include <string.h>

#include "infer_otel_http.h"


/* the phase, in the low bits of r->state */
enum {
    sw_status = 0,
    sw_header,
    sw_chunk_size,
    sw_chunk_data,
    sw_chunk_end,                    /* the CRLF after a chunk's data */
    sw_trailer,
    sw_body,                         /* r->left bytes of Content-Length */
    sw_body_eof,                     /* the rest, until the close */
    sw_done,
    sw_error
};

#define INFER_OTEL_HTTP_PHASE      0x0f

/* what the fields said, for the end of the head */
#define INFER_OTEL_HTTP_10         0x10   /* HTTP/1.0 */
#define INFER_OTEL_HTTP_KEEPALIVE  0x20   /* Connection: keep-alive */
#define INFER_OTEL_HTTP_TE         0x40   /* Transfer-Encoding */

typedef struct {
    char                *buf;
    size_t               cap;
    size_t               len;
} infer_otel_http_out_t;


static void infer_otel_http_put(infer_otel_http_out_t *o, const char *s,
    size_t n);
static void infer_otel_http_puts(infer_otel_http_out_t *o, const char *s);
static int infer_otel_http_line(infer_otel_http_response_t *r, int64_t now);
static int infer_otel_http_status_line(infer_otel_http_response_t *r);
static int infer_otel_http_header(infer_otel_http_response_t *r,
    int64_t now);
static int infer_otel_http_head_done(infer_otel_http_response_t *r);
static int infer_otel_http_chunk_size(infer_otel_http_response_t *r);
static void infer_otel_http_keep(infer_otel_http_response_t *r,
    const char *p, size_t n);
static int infer_otel_http_is(const char *p, const char *end,
    const char *lower);
static void infer_otel_http_trim(const char **p, const char **end);
static const char *infer_otel_http_item(const char *p, const char *end,
    const char **item, const char **item_end);
static int infer_otel_http_content_length(infer_otel_http_response_t *r,
    const char *p, const char *end);


static void
infer_otel_http_put(infer_otel_http_out_t *o, const char *s, size_t n)
{
    if (n && o->len <= o->cap && n <= o->cap - o->len) {
        memcpy(o->buf + o->len, s, n);
    }

    o->len += n;
}


static void
infer_otel_http_puts(infer_otel_http_out_t *o, const char *s)
{
    infer_otel_http_put(o, s, strlen(s));
}


size_t
infer_otel_http_head(char *buf, size_t cap,
    const infer_otel_http_request_t *req)
{
    char                        num[INFER_INT64_LEN];
    size_t                      i;
    infer_otel_http_out_t       o;
    const infer_otel_header_t  *h;

    o.buf = buf;
    o.cap = cap;
    o.len = 0;

    infer_otel_http_puts(&o, "POST ");

    if (req->path_len) {
        infer_otel_http_put(&o, req->path, req->path_len);

    } else {
        infer_otel_http_puts(&o, "/");
    }

    infer_otel_http_puts(&o, " HTTP/1.1\r\nHost: ");
    infer_otel_http_put(&o, req->host, req->host_len);
    infer_otel_http_puts(&o, "\r\n");

    if (req->user_agent != NULL) {
        infer_otel_http_puts(&o, "User-Agent: ");
        infer_otel_http_puts(&o, req->user_agent);
        infer_otel_http_puts(&o, "\r\n");
    }

    if (req->content_type != NULL) {
        infer_otel_http_puts(&o, "Content-Type: ");
        infer_otel_http_puts(&o, req->content_type);
        infer_otel_http_puts(&o, "\r\n");
    }

    infer_otel_http_puts(&o, "Content-Length: ");
    infer_otel_http_put(&o, num,
                        infer_format_uint64(num, req->content_length));
    infer_otel_http_puts(&o, "\r\n");

    if (req->gzip) {
        infer_otel_http_puts(&o, "Content-Encoding: gzip\r\n");
    }

    for (i = 0; i < req->nheaders; i++) {
        h = &req->headers[i];
        infer_otel_http_put(&o, h->name, h->name_len);
        infer_otel_http_puts(&o, ": ");
        infer_otel_http_put(&o, h->value, h->value_len);
        infer_otel_http_puts(&o, "\r\n");
    }

    infer_otel_http_puts(&o, "\r\n");

    /* not sent, but it lets a test or a debug log take buf as a string */

    if (o.len < cap) {
        buf[o.len] = '\0';
    }

    return o.len;
}


void
infer_otel_http_response_init(infer_otel_http_response_t *r)
{
    r->status = 0;
    r->content_length = -1;
    r->retry_after = -1;
    r->chunked = 0;
    r->close = 0;
    r->json = 0;
    r->truncated = 0;
    r->body_len = 0;
    r->state = sw_status;
    r->line_len = 0;
    r->left = 0;
}


int
infer_otel_http_response_parse(infer_otel_http_response_t *r,
    const char *data, size_t len, size_t *used, int64_t now)
{
    size_t       n;
    const char  *p, *end, *lf;

    p = data;
    end = len ? data + len : data;

    for ( ;; ) {

        switch (r->state & INFER_OTEL_HTTP_PHASE) {

        case sw_done:
            *used = p - data;
            return INFER_OK;

        case sw_error:
            *used = p - data;
            return INFER_EINVAL;

        case sw_body:
        case sw_chunk_data:
            if (p == end) {
                goto again;
            }

            n = end - p;

            if (n > r->left) {
                n = (size_t) r->left;
            }

            infer_otel_http_keep(r, p, n);
            p += n;
            r->left -= n;

            if (r->left == 0) {
                r->state = (r->state == sw_body) ? sw_done : sw_chunk_end;
            }

            break;

        case sw_body_eof:
            infer_otel_http_keep(r, p, end - p);
            p = end;
            goto again;

        default:
            if (p == end) {
                goto again;
            }

            lf = memchr(p, '\n', end - p);
            n = (lf != NULL ? lf : end) - p;

            /* a CR before the LF counts: the line buffer holds it */

            if (n > INFER_OTEL_HTTP_LINE - r->line_len) {
                goto failed;
            }

            memcpy(r->line + r->line_len, p, n);
            r->line_len += n;

            if (lf == NULL) {
                p = end;
                goto again;
            }

            p = lf + 1;

            /* a bare LF ends a line too (RFC 9112, section 2.2) */

            if (r->line_len && r->line[r->line_len - 1] == '\r') {
                r->line_len--;
            }

            if (infer_otel_http_line(r, now) != INFER_OK) {
                goto failed;
            }

            r->line_len = 0;
            break;
        }
    }

again:

    *used = len;
    return INFER_AGAIN;

failed:

    r->state = sw_error;
    *used = p - data;
    return INFER_EINVAL;
}


int
infer_otel_http_response_eof(infer_otel_http_response_t *r)
{
    switch (r->state & INFER_OTEL_HTTP_PHASE) {

    case sw_body_eof:
        r->state = sw_done;
        return INFER_OK;

    case sw_done:
        return INFER_OK;

    default:
        r->state = sw_error;
        return INFER_EINVAL;
    }
}


static int
infer_otel_http_line(infer_otel_http_response_t *r, int64_t now)
{
    switch (r->state & INFER_OTEL_HTTP_PHASE) {

    case sw_status:
        return infer_otel_http_status_line(r);

    case sw_header:
        if (r->line_len == 0) {
            return infer_otel_http_head_done(r);
        }

        return infer_otel_http_header(r, now);

    case sw_chunk_size:
        return infer_otel_http_chunk_size(r);

    case sw_chunk_end:
        if (r->line_len != 0) {
            return INFER_EINVAL;
        }

        r->state = sw_chunk_size;
        return INFER_OK;

    default: /* sw_trailer: the fields are skipped */
        if (r->line_len == 0) {
            r->state = sw_done;
        }

        return INFER_OK;
    }
}


/* HTTP/1.x NNN reason: the reason may be empty, and its space missing */

static int
infer_otel_http_status_line(infer_otel_http_response_t *r)
{
    int          status;
    const char  *p;

    p = r->line;

    if (r->line_len < 12
        || memcmp(p, "HTTP/1.", 7) != 0
        || !infer_otel_http_digits(p + 7, p + 8, 1)
        || p[8] != ' '
        || !infer_otel_http_digits(p + 9, p + 12, 3)
        || (r->line_len > 12 && p[12] != ' '))
    {
        return INFER_EINVAL;
    }

    status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');

    if (status < 100 || status > 599) {
        return INFER_EINVAL;
    }

    /* a 1xx's fields said nothing of the response that follows it */

    infer_otel_http_response_init(r);

    r->status = status;
    r->state = sw_header | (p[7] == '0' ? INFER_OTEL_HTTP_10 : 0);

    return INFER_OK;
}


static int
infer_otel_http_header(infer_otel_http_response_t *r, int64_t now)
{
    const char  *p, *end, *colon, *v, *v_end, *item, *item_end;

    p = r->line;
    end = r->line + r->line_len;

    colon = memchr(p, ':', r->line_len);

    /* no obs-fold either: nothing that sends spans needs it */

    if (colon == NULL || colon == p) {
        return INFER_EINVAL;
    }

    for (v = p; v < colon; v++) {
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z')
              || (*v >= '0' && *v <= '9')
              || (*v != '\0' && strchr("!#$%&'*+-.^_`|~", *v) != NULL)))
        {
            return INFER_EINVAL;
        }
    }

    v = colon + 1;
    v_end = end;
    infer_otel_http_trim(&v, &v_end);

    if (infer_otel_http_is(p, colon, "content-length")) {
        return infer_otel_http_content_length(r, v, v_end);
    }

    if (infer_otel_http_is(p, colon, "transfer-encoding")) {
        r->state |= INFER_OTEL_HTTP_TE;

        /* chunked, if last of the codings (fields combined in order) */

        r->chunked = 0;

        while (v < v_end) {
            v = infer_otel_http_item(v, v_end, &item, &item_end);

            if (item != item_end) {
                r->chunked = infer_otel_http_is(item, item_end, "chunked");
            }
        }

        return INFER_OK;
    }

    if (infer_otel_http_is(p, colon, "connection")) {
        while (v < v_end) {
            v = infer_otel_http_item(v, v_end, &item, &item_end);

            if (infer_otel_http_is(item, item_end, "close")) {
                r->close = 1;

            } else if (infer_otel_http_is(item, item_end, "keep-alive")) {
                r->state |= INFER_OTEL_HTTP_KEEPALIVE;
            }
        }

        return INFER_OK;
    }

    if (infer_otel_http_is(p, colon, "content-type")) {
        item = memchr(v, ';', v_end - v);
        item_end = item != NULL ? item : v_end;
        infer_otel_http_trim(&v, &item_end);
        r->json = infer_otel_http_is(v, item_end, "application/json");
        return INFER_OK;
    }

    if (infer_otel_http_is(p, colon, "retry-after")) {
        r->retry_after = infer_otel_http_retry_after(v, v_end, now);
        return INFER_OK;
    }

    return INFER_OK;
}


/* RFC 9112, section 6.3: how long the body is, in order of precedence */

static int
infer_otel_http_head_done(infer_otel_http_response_t *r)
{
    int  flags;

    flags = r->state & ~INFER_OTEL_HTTP_PHASE;

    if (r->status < 200) {

        /* 101 switches to a protocol the exporter never asked for */

        if (r->status == 101) {
            return INFER_EINVAL;
        }

        r->state = sw_status;
        return INFER_OK;
    }

    if ((flags & INFER_OTEL_HTTP_10) && !(flags & INFER_OTEL_HTTP_KEEPALIVE)) {
        r->close = 1;
    }

    if (r->status == 204 || r->status == 304) {
        r->chunked = 0;
        r->state = sw_done;
        return INFER_OK;
    }

    if (flags & INFER_OTEL_HTTP_TE) {

        /* HTTP/1.0 has no Transfer-Encoding: the framing is faulty */

        if (flags & INFER_OTEL_HTTP_10) {
            return INFER_EINVAL;
        }

        /*
         * Transfer-Encoding overrides Content-Length, but a peer sending
         * both may be out of step with its proxies: the connection is not
         * reused
         */

        if (r->content_length >= 0) {
            r->close = 1;
        }

        if (r->chunked) {
            r->state = sw_chunk_size;
            return INFER_OK;
        }

        r->close = 1;
        r->state = sw_body_eof;
        return INFER_OK;
    }

    if (r->content_length >= 0) {
        r->left = (uint64_t) r->content_length;
        r->state = r->left ? sw_body : sw_done;
        return INFER_OK;
    }

    r->close = 1;
    r->state = sw_body_eof;

    return INFER_OK;
}


/* 1*HEXDIG [ BWS ";" chunk-ext ]: the extensions are not read */

static int
infer_otel_http_chunk_size(infer_otel_http_response_t *r)
{
    int          d;
    uint64_t     size;
    const char  *p, *end;

    p = r->line;
    end = r->line + r->line_len;
    size = 0;

    if (p == end) {
        return INFER_EINVAL;
    }

    for ( /* void */ ; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            d = *p - '0';

        } else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
            d = (*p | 0x20) - 'a' + 10;

        } else {
            break;
        }

        if (size >> 60) {
            return INFER_EINVAL;
        }

        size = (size << 4) | (uint64_t) d;
    }

    if (p == r->line) {
        return INFER_EINVAL;
    }

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (p < end && *p != ';') {
        return INFER_EINVAL;
    }

    r->chunked = 1;
    r->left = size;
    r->state = size ? sw_chunk_data : sw_trailer;

    return INFER_OK;
}


static void
infer_otel_http_keep(infer_otel_http_response_t *r, const char *p, size_t n)
{
    size_t  room;

    room = INFER_OTEL_HTTP_BODY - r->body_len;

    if (n > room) {
        r->truncated = 1;
        n = room;
    }

    if (n) {
        memcpy(r->body + r->body_len, p, n);
        r->body_len += n;
    }
}


/* the bytes are lower, a string of lowercase letters, ignoring case */

static int
infer_otel_http_is(const char *p, const char *end, const char *lower)
{
    size_t  n;

    n = strlen(lower);

    if ((size_t) (end - p) != n) {
        return 0;
    }

    while (n--) {
        if (p[n] != lower[n]
            && !(p[n] >= 'A' && p[n] <= 'Z' && (p[n] | 0x20) == lower[n]))
        {
            return 0;
        }
    }

    return 1;
}


static void
infer_otel_http_trim(const char **p, const char **end)
{
    while (*p < *end && (**p == ' ' || **p == '\t')) {
        (*p)++;
    }

    while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t')) {
        (*end)--;
    }
}


/* one element of a comma-separated list, trimmed: where the next begins */

static const char *
infer_otel_http_item(const char *p, const char *end, const char **item,
    const char **item_end)
{
    const char  *comma;

    comma = memchr(p, ',', end - p);

    *item = p;
    *item_end = comma != NULL ? comma : end;
    infer_otel_http_trim(item, item_end);

    return comma != NULL ? comma + 1 : end;
}


/* digits only; the same value again is allowed (RFC 9110, 8.6) */

static int
infer_otel_http_content_length(infer_otel_http_response_t *r,
    const char *p, const char *end)
{
    uint64_t  n;

    if (infer_parse_uint64(p, end, &n) != end || n > INT64_MAX) {
        return INFER_EINVAL;
    }

    if (r->content_length >= 0 && (uint64_t) r->content_length != n) {
        return INFER_EINVAL;
    }

    r->content_length = (int64_t) n;

    return INFER_OK;
}


int
infer_otel_http_digits(const char *p, const char *end, size_t n)
{
    if ((size_t) (end - p) < n) {
        return 0;
    }

    while (n--) {
        if (p[n] < '0' || p[n] > '9') {
            return 0;
        }
    }

    return 1;
}
