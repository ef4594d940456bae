/*
 * The ONNX operator conformance cases (Debian's libonnx-testdata,
 * data/node/test_*: a model, inputs and the expected outputs) run through
 * the ONNX core, for every case whose operators the module supports.
 *
 *   onnx_conformance [DIR]         default /usr/share/libonnx-testdata/...
 *
 * A case is run as the module serves a model: its first input computed,
 * the others bound as constants, in every instruction set the CPU has
 * (their outputs must agree to the bit), and compared with the expected
 * outputs (|got - want| <= 1e-5 + 1e-4 |want|).  A case whose first input
 * is not a float (or whose outputs are not) is run folded: every input
 * bound, the outputs computed at load.  A case the module refuses must be
 * refused at load with a reason (printed), never answered wrongly.
 * Prints a line a case, and "conformance: N passed, M failed".
 */

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx.pb-c.h"

#include "infer_model.h"
#include "infer_onnx_ir.h"


#define MAX_TENSORS  16


typedef struct {
    char                  name[128];
    int32_t               dtype;         /* 1 float, 7 int64 */
    size_t                ndims;
    int64_t               dims[INFER_ONNX_MAX_RANK];
    size_t                count;
    void                 *data;
} tensor_t;


static int passed, failed, refused, skipped;


static unsigned char *
read_file(const char *path, size_t *len)
{
    FILE           *f;
    long            size;
    unsigned char  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);

    p = malloc(size + 1);
    if (p != NULL && fread(p, 1, size, f) != (size_t) size) {
        free(p);
        p = NULL;
    }

    fclose(f);
    *len = (size_t) size;

    return p;
}


/* a TensorProto file: float, or integers and bools as int64 */

static int
read_tensor(const char *path, tensor_t *t)
{
    size_t               i, len, width;
    unsigned char       *data;
    Onnx__TensorProto   *tp;
    const unsigned char *raw;

    data = read_file(path, &len);
    if (data == NULL) {
        return -1;
    }

    tp = onnx__tensor_proto__unpack(NULL, len, data);
    free(data);

    if (tp == NULL || tp->n_dims > INFER_ONNX_MAX_RANK) {
        return -1;
    }

    for (i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0 || tp->dims[i] > (1 << 24)) {
            onnx__tensor_proto__free_unpacked(tp, NULL);
            return -2;
        }
    }

    snprintf(t->name, sizeof(t->name), "%s", tp->name ? tp->name : "");
    t->ndims = tp->n_dims;
    t->count = 1;

    for (i = 0; i < tp->n_dims; i++) {
        t->dims[i] = tp->dims[i];
        t->count *= (size_t) tp->dims[i];

        if (t->count > (1 << 26)) {
            onnx__tensor_proto__free_unpacked(tp, NULL);
            return -2;
        }
    }

    raw = tp->has_raw_data ? tp->raw_data.data : NULL;

    switch (tp->data_type) {
    case 1:  width = 4; t->dtype = 1; break;
    case 7:  width = 8; t->dtype = 7; break;
    case 6:  width = 4; t->dtype = 7; break;
    case 9:
    case 2:
    case 3:  width = 1; t->dtype = 7; break;
    default:
        onnx__tensor_proto__free_unpacked(tp, NULL);
        return -2;
    }

    /* the data must be all there, in one field */

    if (raw ? tp->raw_data.len != t->count * width
            : (tp->data_type == 1 ? tp->n_float_data
               : tp->data_type == 7 ? tp->n_int64_data
               : tp->n_int32_data) != t->count)
    {
        onnx__tensor_proto__free_unpacked(tp, NULL);
        return -2;
    }

    t->data = calloc(t->count + 1, 8);

    for (i = 0; i < t->count; i++) {
        if (t->dtype == 1) {
            if (raw) {
                memcpy((float *) t->data + i, raw + 4 * i, 4);
            } else {
                ((float *) t->data)[i] = tp->float_data[i];
            }

            continue;
        }

        if (raw && width == 8) {
            memcpy((int64_t *) t->data + i, raw + 8 * i, 8);

        } else if (raw && width == 4) {
            int32_t  v;
            memcpy(&v, raw + 4 * i, 4);
            ((int64_t *) t->data)[i] = v;

        } else if (raw) {
            ((int64_t *) t->data)[i] = (tp->data_type == 3)
                                       ? (int8_t) raw[i] : raw[i];

        } else if (tp->data_type == 7) {
            ((int64_t *) t->data)[i] = tp->int64_data[i];

        } else {
            ((int64_t *) t->data)[i] = tp->int32_data[i];
        }
    }

    onnx__tensor_proto__free_unpacked(tp, NULL);

    return 0;
}


static int
compare(const char *what, const float *got, const tensor_t *want,
    double *worst)
{
    size_t        i;
    double        d, tol;
    const float  *w;

    if (want->dtype != 1) {
        printf("  %s: expected a float output\n", what);
        return -1;
    }

    w = want->data;

    for (i = 0; i < want->count; i++) {
        if (isnan(w[i]) && isnan(got[i])) {
            continue;
        }

        d = fabs((double) got[i] - w[i]);
        tol = 1e-5 + 1e-4 * fabs(w[i]);

        if (!(d <= tol) && !(isinf(w[i]) && got[i] == w[i])) {
            printf("  %s[%zu]: got %.9g, want %.9g\n", what, i, got[i], w[i]);
            return -1;
        }

        *worst = (d > *worst) ? d : *worst;
    }

    return 0;
}


/* every input bound: the graph folds, its outputs are constants */

static int
run_folded(const unsigned char *model, size_t len, tensor_t *in, size_t nin,
    tensor_t *out, size_t nout, char *err, size_t errlen, double *worst)
{
    int                   rc, i;
    size_t                k, j;
    infer_onnx_graph_t    g;
    infer_onnx_opts_t     opts;
    infer_onnx_value_t   *v;
    infer_onnx_binding_t  b[MAX_TENSORS];

    for (k = 0; k < nin; k++) {
        b[k].name = in[k].name;
        b[k].dtype = in[k].dtype;
        b[k].ndims = in[k].ndims;
        b[k].dims = in[k].dims;
        b[k].data = in[k].data;
    }

    memset(&opts, 0, sizeof(opts));
    opts.bindings = b;
    opts.nbindings = nin;
    opts.no_input_ok = 1;

    memset(&g, 0, sizeof(g));
    g.err = err;
    g.errlen = errlen;
    g.input = -1;
    g.isa = infer_onnx_isa_best();
    g.tmp = infer_onnx_arena_create();
    err[0] = '\0';

    rc = infer_onnx_read(&g, model, len, &opts);

    for (i = 0; rc == INFER_OK && i < g.noutputs && (size_t) i < nout; i++) {
        v = &g.values[g.outputs[i]];

        if (!v->is_const || v->count != out[i].count
            || (v->dtype == INFER_ONNX_FLOAT) != (out[i].dtype == 1))
        {
            snprintf(err, errlen, "output %d did not fold to the expected "
                     "shape or type", i);
            rc = -1;
            break;
        }

        if (v->dtype == INFER_ONNX_FLOAT) {
            if (compare(v->name, v->data, &out[i], worst) != 0) {
                rc = -1;
            }

            continue;
        }

        for (j = 0; j < v->count; j++) {
            if (((int64_t *) v->data)[j] != ((int64_t *) out[i].data)[j]) {
                printf("  %s[%zu]: got %lld, want %lld\n", v->name, j,
                       (long long) ((int64_t *) v->data)[j],
                       (long long) ((int64_t *) out[i].data)[j]);
                rc = -1;
                break;
            }
        }
    }

    infer_onnx_read_done(&g);
    free(g.values);
    infer_onnx_arena_free(g.tmp);

    return rc;
}


/* the first input computed, in each instruction set; -2: refused */

static int
run_served(const unsigned char *model, size_t len, tensor_t *in, size_t nin,
    tensor_t *out, size_t nout, char *err, size_t errlen, double *worst)
{
    int                   rc, isa;
    size_t                k, total;
    float                *y, *first;
    infer_model_t         m;
    infer_onnx_opts_t     opts;
    infer_onnx_binding_t  b[MAX_TENSORS];

    if (in[0].dtype != 1) {
        return -2;
    }

    for (k = 1; k < nin; k++) {
        b[k - 1].name = in[k].name;
        b[k - 1].dtype = in[k].dtype;
        b[k - 1].ndims = in[k].ndims;
        b[k - 1].dims = in[k].dims;
        b[k - 1].data = in[k].data;
    }

    first = NULL;
    rc = 0;

    for (isa = INFER_ONNX_ISA_SCALAR; isa <= INFER_ONNX_ISA_AVX512; isa++) {
        if (!infer_onnx_isa_usable(isa)) {
            continue;
        }

        memset(&opts, 0, sizeof(opts));
        opts.bindings = b;
        opts.nbindings = nin - 1;
        opts.isa = isa;

        memset(&m, 0, sizeof(m));

        if (infer_onnx_load(&m, model, len, &opts, err, errlen) != INFER_OK) {
            free(first);
            return -2;
        }

        total = 0;

        for (k = 0; k < nout; k++) {
            total += out[k].count;
        }

        y = calloc(m.noutputs + 1, sizeof(float));

        if (m.nfeatures != in[0].count || m.noutputs != total
            || m.noutput_tensors != nout)
        {
            snprintf(err, errlen, "shapes: %zu in, %zu out, want %zu, %zu",
                     m.nfeatures, m.noutputs, in[0].count, total);
            rc = -1;

        } else if (infer_onnx_eval(&m, in[0].data, 1, y) != INFER_OK) {
            snprintf(err, errlen, "evaluation failed");
            rc = -1;
        }

        for (k = 0; rc == 0 && k < nout; k++) {
            if (compare(m.outputs[k].name, y + m.outputs[k].offset, &out[k],
                        worst) != 0)
            {
                rc = -1;
            }
        }

        if (rc == 0 && first != NULL
            && memcmp(first, y, m.noutputs * sizeof(float)) != 0)
        {
            snprintf(err, errlen, "instruction set %d differs from the "
                     "scalar one", isa);
            rc = -1;
        }

        infer_onnx_ops.free(&m);

        if (first == NULL) {
            first = y;

        } else {
            free(y);
        }

        if (rc != 0) {
            break;
        }
    }

    free(first);

    return rc;
}


/* 1: every operator of the model is one the module knows */

static int
our_operators(const unsigned char *model, size_t len)
{
    int                ours;
    size_t             i;
    Onnx__ModelProto  *mp;

    mp = onnx__model_proto__unpack(NULL, len, model);
    if (mp == NULL || mp->graph == NULL) {
        return 0;
    }

    ours = 1;

    for (i = 0; i < mp->graph->n_node; i++) {
        if (infer_onnx_find_op(mp->graph->node[i]->op_type) == NULL) {
            ours = 0;
        }
    }

    onnx__model_proto__free_unpacked(mp, NULL);

    return ours;
}


static void
run_case(const char *dir, const char *name)
{
    int             rc, set;
    char            path[1024], err[512];
    size_t          len, nin, nout, k;
    double          worst;
    tensor_t        in[MAX_TENSORS], out[MAX_TENSORS];
    struct stat     st;
    unsigned char  *model;

    snprintf(path, sizeof(path), "%s/%s/model.onnx", dir, name);

    model = read_file(path, &len);
    if (model == NULL) {
        return;
    }

    if (!our_operators(model, len)) {
        skipped++;
        free(model);
        return;
    }

    worst = 0;
    rc = 0;
    snprintf(err, sizeof(err), "a tensor of its data is of a type the "
             "module does not read");

    for (set = 0; rc == 0; set++) {
        snprintf(path, sizeof(path), "%s/%s/test_data_set_%d", dir, name, set);

        if (stat(path, &st) != 0) {
            break;
        }

        nin = 0;
        nout = 0;

        for (k = 0; k < MAX_TENSORS; k++) {
            snprintf(path, sizeof(path), "%s/%s/test_data_set_%d/input_%zu.pb",
                     dir, name, set, k);
            if (stat(path, &st) != 0 || read_tensor(path, &in[nin]) != 0) {
                break;
            }
            nin++;
        }

        for (k = 0; k < MAX_TENSORS; k++) {
            snprintf(path, sizeof(path),
                     "%s/%s/test_data_set_%d/output_%zu.pb", dir, name, set,
                     k);
            if (stat(path, &st) != 0 || read_tensor(path, &out[nout]) != 0) {
                break;
            }
            nout++;
        }

        rc = (nin == 0) ? -2
                        : run_served(model, len, in, nin, out, nout, err,
                                     sizeof(err), &worst);

        if (rc == -2) {
            char  served[512];

            snprintf(served, sizeof(served), "%s",
                     in[0].dtype == 1 ? err : "");
            rc = run_folded(model, len, in, nin, out, nout, err, sizeof(err),
                            &worst);

            if (rc == INFER_EINVAL && served[0] != '\0') {
                snprintf(err, sizeof(err), "%s", served);
            }

            rc = (rc == INFER_EINVAL) ? -2 : (rc == INFER_OK ? 0 : -1);
        }

        for (k = 0; k < nin; k++) {
            free(in[k].data);
        }

        for (k = 0; k < nout; k++) {
            free(out[k].data);
        }
    }

    free(model);

    if (rc == 0) {
        printf("ok: %s (%d data set%s, worst |error| %.3g)\n", name, set,
               set == 1 ? "" : "s", worst);
        passed++;

    } else if (rc == -2) {
        printf("refused: %s: %s\n", name, err);
        refused++;

    } else {
        printf("not ok: %s: %s\n", name, err);
        failed++;
    }
}


static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


int
main(int argc, char **argv)
{
    size_t          n, i;
    char          **names;
    const char     *dir;
    DIR            *d;
    struct dirent  *e;

    dir = (argc > 1) ? argv[1]
                     : "/usr/share/libonnx-testdata/data/node";

    d = opendir(dir);
    if (d == NULL) {
        printf("conformance: cannot open %s\n", dir);
        printf("conformance: 0 passed, 1 failed\n");
        return 1;
    }

    names = NULL;
    n = 0;

    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "test_", 5) == 0) {
            names = realloc(names, (n + 1) * sizeof(char *));
            names[n++] = strdup(e->d_name);
        }
    }

    closedir(d);
    qsort(names, n, sizeof(char *), by_name);

    for (i = 0; i < n; i++) {
        run_case(dir, names[i]);
        free(names[i]);
    }

    free(names);

    printf("conformance: %d cases of other operators; %d refused at load "
           "with a reason\n", skipped, refused);
    printf("conformance: %d passed, %d failed\n", passed, failed);

    return failed ? 1 : 0;
}
