#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "infer_model.h"


static int infer_model_read_file(const char *path, unsigned char **data,
    size_t *len, char *err, size_t errlen);
static int infer_model_load_json(infer_model_t *m, const unsigned char *data,
    size_t len, const char *format, char *err, size_t errlen);
static void infer_model_json_error(const unsigned char *data, size_t len,
    char *err, size_t errlen);
static const infer_model_ops_t *infer_model_find_format(const char *name);
static void infer_model_default_tensors(infer_model_t *m);


/* the formats, in the order their probes are tried: bytes first, then JSON */
static const infer_model_ops_t  *infer_model_formats[] = {
    &infer_onnx_ops,
    &infer_linear_ops,
    &infer_xgboost_ops,
    NULL
};


int
infer_model_load_file(infer_model_t **mp, const char *path,
    const char *format, char *err, size_t errlen)
{
    int             rc;
    size_t          len;
    unsigned char  *data;

    rc = infer_model_read_file(path, &data, &len, err, errlen);
    if (rc != INFER_OK) {
        return rc;
    }

    rc = infer_model_load_buffer(mp, data, len, format, err, errlen);

    free(data);

    return rc;
}


static int
infer_model_read_file(const char *path, unsigned char **data, size_t *len,
    char *err, size_t errlen)
{
    int             fd, saved;
    size_t          size, got;
    ssize_t         n;
    struct stat     st;
    unsigned char  *p;

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        snprintf(err, errlen, "open()");
        return INFER_ESYS;
    }

    if (fstat(fd, &st) == -1) {
        saved = errno;
        close(fd);
        errno = saved;
        snprintf(err, errlen, "fstat()");
        return INFER_ESYS;
    }

    size = (size_t) st.st_size;

    p = malloc(size + 1);          /* + 1: room for the probe read below */
    if (p == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory reading %zu bytes", size);
        return INFER_ERROR;
    }

    for (got = 0; got < size; got += (size_t) n) {
        n = read(fd, p + got, size - got);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            saved = (n == 0) ? EIO : errno;
            free(p);
            close(fd);
            errno = saved;
            snprintf(err, errlen, "read()");
            return INFER_ESYS;
        }
    }

    /* a directory opens fine and fails only here, with EISDIR */

    if (size == 0 && read(fd, p, 1) == -1) {
        saved = errno;
        free(p);
        close(fd);
        errno = saved;
        snprintf(err, errlen, "read()");
        return INFER_ESYS;
    }

    close(fd);

    *data = p;
    *len = size;

    return INFER_OK;
}


int
infer_model_load_buffer(infer_model_t **mp, const unsigned char *data,
    size_t len, const char *format, char *err, size_t errlen)
{
    int                        rc;
    infer_model_t             *m;
    const infer_model_ops_t   *ops, **f;

    ops = NULL;

    if (format != NULL) {
        ops = infer_model_find_format(format);

        if (ops == NULL) {
            snprintf(err, errlen, "unknown format \"%s\"", format);
            return INFER_EINVAL;
        }
    }

    /* a format read from bytes, if one recognises them */

    for (f = infer_model_formats; ops == NULL && *f != NULL; f++) {
        if ((*f)->probe != NULL && (*f)->probe(data, len)) {
            ops = *f;
        }
    }

    m = calloc(1, sizeof(infer_model_t));
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    if (ops != NULL && ops->load != NULL) {
        m->ops = ops;
        rc = ops->load(m, data, len, err, errlen);

    } else {
        rc = infer_model_load_json(m, data, len, format, err, errlen);
    }

    if (rc != INFER_OK) {
        infer_model_free(m);
        return rc;
    }

    infer_model_default_tensors(m);
    *mp = m;

    return INFER_OK;
}


/* a format that names no tensors has "input-0" and "output-0", 1-d */

static void
infer_model_default_tensors(infer_model_t *m)
{
    if (m->input.name == NULL) {
        m->input.name = "input-0";
        m->input.ndims = 1;
        m->input.dims[0] = m->nfeatures;
        m->input.size = m->nfeatures;
    }

    if (m->outputs == NULL) {
        m->output0.name = "output-0";
        m->output0.ndims = 1;
        m->output0.dims[0] = m->noutputs;
        m->output0.size = m->noutputs;
        m->output0.offset = 0;
        m->outputs = &m->output0;
        m->noutput_tensors = 1;
    }
}


static int
infer_model_load_json(infer_model_t *m, const unsigned char *data,
    size_t len, const char *format, char *err, size_t errlen)
{
    int                        rc;
    char                      *text;
    yajl_val                   root;
    const infer_model_ops_t  **f;

    if (len == 0) {
        snprintf(err, errlen, "the file is empty");
        return INFER_EINVAL;
    }

    /* yajl_tree_parse() wants a NUL-terminated string, and so no NUL */

    if (memchr(data, '\0', len) != NULL) {
        snprintf(err, errlen, "not an ONNX or JSON model: the file has a NUL byte");
        return INFER_EJSON;
    }

    text = malloc(len + 1);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return INFER_ERROR;
    }

    memcpy(text, data, len);
    text[len] = '\0';

    root = yajl_tree_parse(text, NULL, 0);
    free(text);

    if (root == NULL) {
        infer_model_json_error(data, len, err, errlen);
        return INFER_EJSON;
    }

    if (!YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        snprintf(err, errlen, "a model must be a JSON object");
        return INFER_EINVAL;
    }

    for (f = infer_model_formats; *f != NULL; f++) {
        if ((*f)->load_json == NULL) {
            continue;
        }

        if (format != NULL ? strcmp((*f)->name, format) == 0
                           : (*f)->probe_json(root))
        {
            break;
        }
    }

    if (*f == NULL) {
        yajl_tree_free(root);
        snprintf(err, errlen, "unknown model format: a linear model has "
                 "\"weights\", an XGBoost model has \"learner\"");
        return INFER_EINVAL;
    }

    m->ops = *f;
    rc = m->ops->load_json(m, root, err, errlen);

    yajl_tree_free(root);

    return rc;
}


/*
 * yajl_tree_parse() reports errors verbosely, over several lines; parse
 * again without a tree for a one-line message with the byte offset.
 */

static void
infer_model_json_error(const unsigned char *data, size_t len, char *err,
    size_t errlen)
{
    size_t          at;
    yajl_status     st;
    yajl_handle     h;
    unsigned char  *msg;

    h = yajl_alloc(NULL, NULL, NULL);
    if (h == NULL) {
        snprintf(err, errlen, "malformed JSON");
        return;
    }

    st = yajl_parse(h, data, len);
    at = yajl_get_bytes_consumed(h);

    if (st == yajl_status_ok) {
        (void) yajl_complete_parse(h);      /* it fails: the tree parse did */
        at = len;
    }

    msg = yajl_get_error(h, 0, data, len);

    snprintf(err, errlen, "malformed JSON near byte %zu: %.*s", at,
             (int) strcspn((char *) msg, "\n"), (char *) msg);

    yajl_free_error(h, msg);
    yajl_free(h);
}


static const infer_model_ops_t *
infer_model_find_format(const char *name)
{
    const infer_model_ops_t  **f;

    for (f = infer_model_formats; *f != NULL; f++) {
        if (strcmp((*f)->name, name) == 0) {
            return *f;
        }
    }

    return NULL;
}


int
infer_model_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y)
{
    return m->ops->eval(m, x, rows, y);
}


const char *
infer_model_format(const infer_model_t *m)
{
    return m->ops->name;
}


void
infer_model_free(infer_model_t *m)
{
    if (m == NULL) {
        return;
    }

    if (m->ops != NULL && m->ops->free != NULL) {
        m->ops->free(m);
    }

    free(m);
}
