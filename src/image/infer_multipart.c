/*
 * multipart/form-data (RFC 7578), as far as an image upload needs it: the
 * one file part that `curl -F image=@cat.jpg` sends, found without
 * copying.  The body must be whole and in one piece.
 */

#include <string.h>
#include <stdio.h>

#include "infer_image.h"


#define INFER_MULTIPART_BOUNDARY_MAX  70     /* RFC 2046 */


static int infer_multipart_boundary(const unsigned char *ctype, size_t len,
    unsigned char *out, size_t *out_len);
static const unsigned char *infer_multipart_find(const unsigned char *p,
    const unsigned char *end, const unsigned char *s, size_t len);
static int infer_multipart_headers(const unsigned char *p,
    const unsigned char *end, infer_multipart_part_t *part,
    int *has_filename);
static int infer_multipart_ieq(const unsigned char *p, size_t len,
    const char *s);


int
infer_multipart_file(const unsigned char *ctype, size_t ctype_len,
    const unsigned char *body, size_t len, infer_multipart_part_t *part,
    char *err, size_t errlen)
{
    int                     files, parts, has_filename;
    size_t                  dlen;
    unsigned char           delim[INFER_MULTIPART_BOUNDARY_MAX + 4];
    const unsigned char    *p, *end, *next, *head_end;
    infer_multipart_part_t  cur, only;

    /* the delimiter is CRLF "--" boundary; the first may start the body */

    delim[0] = '\r';
    delim[1] = '\n';
    delim[2] = '-';
    delim[3] = '-';

    if (infer_multipart_boundary(ctype, ctype_len, delim + 4, &dlen)
        != INFER_OK)
    {
        snprintf(err, errlen, "multipart/form-data needs a boundary of 1 "
                 "to %d characters", INFER_MULTIPART_BOUNDARY_MAX);
        return INFER_EINVAL;
    }

    dlen += 4;
    end = body + len;

    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;

    } else {
        p = infer_multipart_find(body, end, delim, dlen);
        if (p == NULL) {
            snprintf(err, errlen, "the multipart body has no boundary");
            return INFER_EINVAL;
        }

        p += dlen;
    }

    files = 0;
    parts = 0;
    memset(part, 0, sizeof(infer_multipart_part_t));
    memset(&only, 0, sizeof(infer_multipart_part_t));

    for ( ;; ) {

        /* after a delimiter: "--" closes, CRLF opens a part */

        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            break;
        }

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            snprintf(err, errlen, "the multipart body is truncated or "
                     "malformed at byte %zu", (size_t) (p - body));
            return INFER_EINVAL;
        }

        p += 2;

        /* an empty header block ends at once: the CRLF is the delimiter's */

        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            head_end = p;

        } else {
            head_end = infer_multipart_find(p, end,
                                            (const unsigned char *) "\r\n\r\n",
                                            4);
            if (head_end == NULL) {
                snprintf(err, errlen, "a multipart part's headers do not "
                         "end");
                return INFER_EINVAL;
            }

            head_end += 2;
        }

        memset(&cur, 0, sizeof(infer_multipart_part_t));

        if (infer_multipart_headers(p, head_end, &cur, &has_filename)
            != INFER_OK)
        {
            snprintf(err, errlen, "a multipart part's headers are "
                     "malformed");
            return INFER_EINVAL;
        }

        cur.data = head_end + 2;

        next = infer_multipart_find(cur.data, end, delim, dlen);
        if (next == NULL) {
            snprintf(err, errlen, "the multipart body is truncated: no "
                     "closing boundary");
            return INFER_EINVAL;
        }

        cur.len = next - cur.data;
        parts++;

        if (has_filename) {
            if (files++ > 0) {
                snprintf(err, errlen, "send one file: the multipart body "
                         "has more");
                return INFER_EINVAL;
            }

            *part = cur;
        }

        only = cur;
        p = next + dlen;
    }

    if (files == 1) {
        return INFER_OK;
    }

    if (parts == 1) {
        *part = only;
        return INFER_OK;
    }

    snprintf(err, errlen, "the multipart body has no file part");

    return INFER_EINVAL;
}


/* boundary=... (quoted or not) among the type's parameters */

static int
infer_multipart_boundary(const unsigned char *ctype, size_t len,
    unsigned char *out, size_t *out_len)
{
    size_t                n;
    const unsigned char  *p, *end, *name;

    p = ctype;
    end = ctype + len;

    for ( ;; ) {
        p = memchr(p, ';', end - p);
        if (p == NULL) {
            return INFER_EINVAL;
        }

        p++;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        name = p;

        if (end - name > 9 && infer_multipart_ieq(name, 9, "boundary=")) {
            break;
        }
    }

    p = name + 9;
    n = 0;

    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (n == INFER_MULTIPART_BOUNDARY_MAX) {
                return INFER_EINVAL;
            }

            out[n++] = *p;
        }

        if (p == end) {
            return INFER_EINVAL;
        }

    } else {
        for ( /* void */ ; p < end && *p != ';' && *p != ' ' && *p != '\t';
             p++)
        {
            if (n == INFER_MULTIPART_BOUNDARY_MAX) {
                return INFER_EINVAL;
            }

            out[n++] = *p;
        }
    }

    if (n == 0) {
        return INFER_EINVAL;
    }

    *out_len = n;

    return INFER_OK;
}


static const unsigned char *
infer_multipart_find(const unsigned char *p, const unsigned char *end,
    const unsigned char *s, size_t len)
{
    const unsigned char  *last;

    /* memmem() is not C99: the first byte by memchr(), then the rest */

    if ((size_t) (end - p) < len) {
        return NULL;
    }

    last = end - len;

    while (p <= last) {
        p = memchr(p, s[0], last - p + 1);

        if (p == NULL) {
            return NULL;
        }

        if (memcmp(p, s, len) == 0) {
            return p;
        }

        p++;
    }

    return NULL;
}


/*
 * The part's headers, p to end, each ending in CRLF: Content-Type, and
 * whether Content-Disposition names a file.
 */

static int
infer_multipart_headers(const unsigned char *p, const unsigned char *end,
    infer_multipart_part_t *part, int *has_filename)
{
    const unsigned char  *eol, *colon, *v;

    *has_filename = 0;

    while (p < end) {
        eol = infer_multipart_find(p, end, (const unsigned char *) "\r\n", 2);
        if (eol == NULL) {
            return INFER_EINVAL;
        }

        colon = memchr(p, ':', eol - p);
        if (colon == NULL) {
            return INFER_EINVAL;
        }

        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
            /* void */
        }

        if (infer_multipart_ieq(p, colon - p, "content-type")) {
            part->type = v;
            part->type_len = eol - v;

        } else if (infer_multipart_ieq(p, colon - p, "content-disposition")
                   && infer_multipart_find(v, eol,
                                           (const unsigned char *) "filename",
                                           8)
                      != NULL)
        {
            *has_filename = 1;
        }

        p = eol + 2;
    }

    return INFER_OK;
}


/* p's len bytes equal s, ignoring ASCII case */

static int
infer_multipart_ieq(const unsigned char *p, size_t len, const char *s)
{
    size_t  i;

    if (strlen(s) != len) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((p[i] | 0x20) != (unsigned char) (s[i] | 0x20)) {
            return 0;
        }
    }

    return 1;
}
