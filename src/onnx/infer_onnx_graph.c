/*
 * The graph's values and the helpers the operators read their nodes with:
 * attributes (each read once, the rest refused), constant inputs, axes,
 * and the one way a load fails, infer_onnx_fail().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_onnx_ir.h"


#define INFER_ONNX_MAX_COUNT  ((size_t) 1 << 31)   /* elements in a tensor */


int
infer_onnx_fail(infer_onnx_graph_t *g, const infer_onnx_node_t *n,
    const char *fmt, ...)
{
    int      len;
    va_list  args;

    len = 0;

    if (n != NULL) {
        len = snprintf(g->err, g->errlen, "node \"%s\" (%s): ", n->name,
                       n->op_type);

        if (len < 0 || (size_t) len >= g->errlen) {
            return INFER_EINVAL;
        }
    }

    va_start(args, fmt);
    (void) vsnprintf(g->err + len, g->errlen - len, fmt, args);
    va_end(args);

    return INFER_EINVAL;
}


int
infer_onnx_value_new(infer_onnx_graph_t *g, const char *name)
{
    int                  cap;
    infer_onnx_value_t  *v, *values;

    if (g->nvalues == g->cvalues) {
        cap = g->cvalues ? g->cvalues * 2 : 256;

        values = realloc(g->values, cap * sizeof(infer_onnx_value_t));
        if (values == NULL) {
            return -1;
        }

        g->values = values;
        g->cvalues = cap;
    }

    v = &g->values[g->nvalues];
    memset(v, 0, sizeof(infer_onnx_value_t));

    v->name = name;
    v->producer = -1;
    v->alias = -1;
    v->slot = -1;
    v->output = -1;
    v->other = -1;

    return g->nvalues++;
}


infer_onnx_value_t *
infer_onnx_in(infer_onnx_graph_t *g, const infer_onnx_node_t *n, int i)
{
    if (i >= n->nin || n->in[i] < 0) {
        return NULL;
    }

    return &g->values[n->in[i]];
}


infer_onnx_value_t *
infer_onnx_out(infer_onnx_graph_t *g, const infer_onnx_node_t *n, int i)
{
    if (i >= n->nout || n->out[i] < 0) {
        return NULL;
    }

    return &g->values[n->out[i]];
}


size_t
infer_onnx_shape_count(const int64_t *dims, int rank, int batched)
{
    int     d;
    size_t  count;

    count = 1;

    for (d = batched ? 1 : 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] > 0
                            && count > INFER_ONNX_MAX_COUNT / (size_t) dims[d]))
        {
            return (size_t) -1;
        }

        count *= (size_t) dims[d];
    }

    return count;
}


/* INFER_EINVAL: a negative dimension, or too many elements */

int
infer_onnx_set_shape(infer_onnx_value_t *v, int32_t dtype, int rank,
    const int64_t *dims, int batched)
{
    int     d;
    size_t  count;

    if (rank < 0 || rank > INFER_ONNX_MAX_RANK || (batched && rank == 0)) {
        return INFER_EINVAL;
    }

    count = infer_onnx_shape_count(dims, rank, batched);

    if (count == (size_t) -1) {
        return INFER_EINVAL;
    }

    v->dtype = dtype;
    v->rank = rank;
    v->batched = batched ? 1 : 0;
    v->count = count;

    for (d = 0; d < rank; d++) {
        v->dims[d] = dims[d];
    }

    if (batched) {
        v->dims[0] = INFER_ONNX_N;
    }

    return INFER_OK;
}


/* memory for a constant's elements, in the loading arena */

void *
infer_onnx_const_alloc(infer_onnx_graph_t *g, infer_onnx_value_t *v)
{
    size_t  width;

    width = (v->dtype == INFER_ONNX_FLOAT) ? sizeof(float) : sizeof(int64_t);

    v->data = infer_onnx_fold_alloc(g, v->count + 1, width);
    v->is_const = 1;

    if (v->dtype == INFER_ONNX_INT64 && v->data != NULL) {
        v->sym = infer_onnx_arena_calloc(g->tmp, v->count + 1, 1);
        if (v->sym == NULL) {
            return NULL;
        }
    }

    return v->data;
}


void *
infer_onnx_fold_alloc(infer_onnx_graph_t *g, size_t n, size_t width)
{
    size_t  bytes;

    bytes = n * width;

    if (n > SIZE_MAX / 16 || bytes > g->fold_budget) {
        (void) infer_onnx_fail(g, NULL, "the constants computed at load "
                               "would take more than %zu MB and 8 times the "
                               "file's size", INFER_ONNX_FOLD_BASE >> 20);
        g->fold_budget = 0;
        return NULL;
    }

    g->fold_budget -= bytes;

    return infer_onnx_arena_calloc(g->tmp, n, width);
}


void
infer_onnx_format_shape(char *buf, size_t size, const infer_onnx_value_t *v)
{
    int     d, len;
    size_t  at;

    at = 0;
    buf[0] = '\0';

    for (d = 0; d < v->rank && at < size; d++) {
        if (d == 0 && v->batched) {
            len = snprintf(buf + at, size - at, "[N");

        } else {
            len = snprintf(buf + at, size - at, "%s%lld", d ? "," : "[",
                           (long long) v->dims[d]);
        }

        if (len < 0) {
            return;
        }

        at += (size_t) len;
    }

    if (at < size) {
        snprintf(buf + at, size - at, v->rank ? "]" : "[]");
    }
}


infer_onnx_attr_t *
infer_onnx_attr(infer_onnx_node_t *n, const char *name)
{
    int  i;

    for (i = 0; i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].name, name) == 0) {
            n->attrs[i].read = 1;
            return &n->attrs[i];
        }
    }

    return NULL;
}


int
infer_onnx_attr_int(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, int64_t def, int64_t *v)
{
    infer_onnx_attr_t  *a;

    a = infer_onnx_attr(n, name);

    if (a == NULL) {
        *v = def;
        return INFER_OK;
    }

    if (a->type != INFER_ONNX_ATTR_INT) {
        return infer_onnx_fail(g, n, "attribute \"%s\" must be an integer",
                               name);
    }

    *v = a->i;

    return INFER_OK;
}


int
infer_onnx_attr_float(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, float def, float *v)
{
    infer_onnx_attr_t  *a;

    a = infer_onnx_attr(n, name);

    if (a == NULL) {
        *v = def;
        return INFER_OK;
    }

    if (a->type != INFER_ONNX_ATTR_FLOAT) {
        return infer_onnx_fail(g, n, "attribute \"%s\" must be a float", name);
    }

    *v = a->f;

    return INFER_OK;
}


/* *v NULL and *nv 0 when absent */

int
infer_onnx_attr_ints(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, const int64_t **v, size_t *nv)
{
    infer_onnx_attr_t  *a;

    a = infer_onnx_attr(n, name);

    *v = NULL;
    *nv = 0;

    if (a == NULL) {
        return INFER_OK;
    }

    if (a->type != INFER_ONNX_ATTR_INTS) {
        return infer_onnx_fail(g, n, "attribute \"%s\" must be a list of "
                               "integers", name);
    }

    *v = a->ints;
    *nv = a->n;

    return INFER_OK;
}


int
infer_onnx_attr_string(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, const char *def, const char **v)
{
    infer_onnx_attr_t  *a;

    a = infer_onnx_attr(n, name);

    if (a == NULL) {
        *v = def;
        return INFER_OK;
    }

    if (a->type != INFER_ONNX_ATTR_STRING) {
        return infer_onnx_fail(g, n, "attribute \"%s\" must be a string",
                               name);
    }

    *v = a->s;

    return INFER_OK;
}


/* an attribute no operator reads could change the result: refuse it */

int
infer_onnx_attrs_all_read(infer_onnx_graph_t *g, infer_onnx_node_t *n)
{
    int  i;

    for (i = 0; i < n->nattrs; i++) {
        if (!n->attrs[i].read) {
            return infer_onnx_fail(g, n, "attribute \"%s\" is not supported",
                                   n->attrs[i].name);
        }
    }

    return INFER_OK;
}


int
infer_onnx_const_ints(infer_onnx_graph_t *g, infer_onnx_node_t *n, int i,
    const int64_t **v, size_t *nv)
{
    size_t               k;
    infer_onnx_value_t  *in;

    in = infer_onnx_in(g, n, i);

    *v = NULL;
    *nv = 0;

    if (in == NULL) {
        return INFER_OK;
    }

    if (!in->is_const) {
        return infer_onnx_fail(g, n, "input %d (\"%s\") must be a constant, "
                               "not computed from the graph's input", i,
                               in->name);
    }

    if (in->dtype != INFER_ONNX_INT64 || in->rank > 1) {
        return infer_onnx_fail(g, n, "input %d (\"%s\") must be a list of "
                               "integers", i, in->name);
    }

    for (k = 0; k < in->count; k++) {
        if (in->sym[k]) {
            return infer_onnx_fail(g, n, "input %d (\"%s\") depends on the "
                                   "batch size", i, in->name);
        }
    }

    *v = in->data;
    *nv = in->count;

    return INFER_OK;
}


int
infer_onnx_const_float(infer_onnx_graph_t *g, infer_onnx_node_t *n, int i,
    float def, float *v)
{
    infer_onnx_value_t  *in;

    in = infer_onnx_in(g, n, i);

    if (in == NULL) {
        *v = def;
        return INFER_OK;
    }

    if (!in->is_const || in->dtype != INFER_ONNX_FLOAT || in->count != 1
        || in->batched)
    {
        return infer_onnx_fail(g, n, "input %d (\"%s\") must be a constant "
                               "float scalar", i, in->name);
    }

    *v = *(const float *) in->data;

    return INFER_OK;
}


int
infer_onnx_axis(infer_onnx_graph_t *g, infer_onnx_node_t *n, int64_t axis,
    int rank, int *out)
{
    if (axis < -rank || axis >= rank) {
        return infer_onnx_fail(g, n, "axis %lld is out of range for rank %d",
                               (long long) axis, rank);
    }

    *out = (int) (axis < 0 ? axis + rank : axis);

    return INFER_OK;
}
