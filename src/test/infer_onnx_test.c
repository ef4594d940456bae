/*
 * The ONNX format against torch: every row of every fixture in
 * t/models/onnx/ (t/models/gen_onnx.py), in every instruction set the CPU
 * has, within 1e-4 + 1e-4 |want| of torch's output; batch-1 and
 * batch-N, and every set, the same bits.  Then the refusals, with their
 * messages, and every truncation of a model refused cleanly.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <yajl/yajl_tree.h>

#include "infer_model.h"
#include "infer_onnx.h"
#include "infer_unit_test.h"


#define FIXTURES  "t/models/onnx/"


static const char  *fixtures[] = {
    "mlp_relu", "mlp_tanh", "mlp_sigmoid", "mlp_leaky_bn", "two_heads",
    "lenet13", "lenet17", "resblock_bn13", "resblock_bn17", "resnet_tiny",
    "odds", "constants", "slices", NULL
};


static unsigned char *
slurp(const char *path, size_t *len)
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

    if (p != NULL) {
        p[size] = '\0';
    }

    fclose(f);
    *len = (size_t) size;

    return p;
}


/* every number of a nested JSON array, in order */

static size_t
flatten(yajl_val v, float *out, size_t at, size_t cap)
{
    size_t  i;

    if (YAJL_IS_NUMBER(v)) {
        if (at < cap) {
            out[at] = (float) YAJL_GET_DOUBLE(v);
        }
        return at + 1;
    }

    if (YAJL_IS_ARRAY(v)) {
        for (i = 0; i < v->u.array.len; i++) {
            at = flatten(v->u.array.values[i], out, at, cap);
        }
    }

    return at;
}


static infer_model_t *
load_isa(const char *path, infer_onnx_isa_e isa, char *err)
{
    size_t             len;
    unsigned char     *data;
    infer_model_t     *m;
    infer_onnx_opts_t  opts;

    data = slurp(path, &len);
    if (data == NULL) {
        snprintf(err, INFER_ERRLEN, "cannot read %.100s", path);
        return NULL;
    }

    m = calloc(1, sizeof(infer_model_t));
    memset(&opts, 0, sizeof(opts));
    opts.isa = isa;

    m->ops = &infer_onnx_ops;

    if (infer_onnx_load(m, data, len, &opts, err, INFER_ERRLEN) != INFER_OK) {
        free(m);
        m = NULL;
    }

    free(data);

    return m;
}


static void
test_fixture(const char *name)
{
    int               isa, ok;
    char              path[256], err[INFER_ERRLEN];
    size_t            len, rows, nf, no, r, i, o, j, worst_at;
    float            *x, *y, *want, *one, *first;
    double            d, worst;
    yajl_val          ref, v, outs;
    infer_model_t    *m;
    unsigned char    *text;
    const char       *rows_path[] = { "rows", NULL };
    const char       *outs_path[] = { "outputs", NULL };

    snprintf(path, sizeof(path), FIXTURES "%s.ref.json", name);

    text = slurp(path, &len);
    CHECK(text != NULL);
    if (text == NULL) {
        return;
    }

    ref = yajl_tree_parse((char *) text, NULL, 0);
    free(text);
    CHECK(ref != NULL);
    if (ref == NULL) {
        return;
    }

    v = yajl_tree_get(ref, rows_path, yajl_t_array);
    outs = yajl_tree_get(ref, outs_path, yajl_t_array);
    rows = v ? v->u.array.len : 0;
    snprintf(path, sizeof(path), FIXTURES "%s.onnx", name);

    first = NULL;
    worst = 0;
    worst_at = 0;

    for (isa = INFER_ONNX_ISA_SCALAR; isa <= INFER_ONNX_ISA_AVX512; isa++) {
        if (!infer_onnx_isa_usable(isa)) {
            continue;
        }

        m = load_isa(path, isa, err);
        if (m == NULL) {
            printf("not ok: %s: %s\n", name, err);
        }

        CHECK(m != NULL);
        if (m == NULL) {
            break;
        }

        nf = m->nfeatures;
        no = m->noutputs;

        x = calloc(rows * nf + 1, sizeof(float));
        y = calloc(rows * no + 1, sizeof(float));
        one = calloc(no + 1, sizeof(float));
        want = calloc(rows * no + 1, sizeof(float));

        CHECK(flatten(v, x, 0, rows * nf) == rows * nf);
        CHECK(outs != NULL && outs->u.array.len == m->noutput_tensors);

        /* torch's outputs, interleaved as y's rows are */

        for (o = 0; outs != NULL && o < outs->u.array.len; o++) {
            const char  *p[] = { "rows", NULL };
            yajl_val     ov;
            float       *tmp;
            size_t       size;

            ov = yajl_tree_get(outs->u.array.values[o], p, yajl_t_array);
            size = m->outputs[o].size;
            tmp = calloc(rows * size + 1, sizeof(float));

            CHECK(ov != NULL && flatten(ov, tmp, 0, rows * size)
                                == rows * size);

            for (r = 0; r < rows; r++) {
                for (j = 0; j < size; j++) {
                    want[r * no + m->outputs[o].offset + j] =
                        tmp[r * size + j];
                }
            }

            free(tmp);
        }

        CHECK(infer_model_eval(m, x, rows, y) == INFER_OK);

        ok = 1;

        for (i = 0; i < rows * no; i++) {
            d = fabs((double) y[i] - want[i]);

            if (!(d <= 1e-4 + 1e-4 * fabs(want[i]))) {
                if (ok) {
                    printf("not ok: %s (%s): output %zu is %.9g, torch "
                           "%.9g\n", name, infer_onnx_isa_name(m), i, y[i],
                           want[i]);
                }
                ok = 0;
            }

            if (d > worst) {
                worst = d;
                worst_at = i;
            }
        }

        CHECK(ok);

        /* each row alone: the same bits as in the batch */

        for (r = 0; r < rows; r++) {
            CHECK(infer_model_eval(m, x + r * nf, 1, one) == INFER_OK);
            CHECK(memcmp(one, y + r * no, no * sizeof(float)) == 0);
        }

        /* every instruction set: the scalar one's bits */

        if (first == NULL) {
            first = y;

        } else {
            CHECK(memcmp(first, y, rows * no * sizeof(float)) == 0);
            free(y);
        }

        free(x);
        free(one);
        free(want);
        infer_model_free(m);
    }

    printf("onnx: %s, %zu rows: worst |error| %.3g (output %zu)\n", name,
           rows, worst, worst_at);

    free(first);
    yajl_tree_free(ref);
}


static void
test_refused(const char *name, const char *want)
{
    int             rc;
    char            path[256], err[INFER_ERRLEN];
    infer_model_t  *m = NULL;

    snprintf(path, sizeof(path), FIXTURES "%s.onnx", name);

    rc = infer_model_load_file(&m, path, NULL, err, sizeof(err));

    CHECK(rc != INFER_OK);
    CHECK(m == NULL);
    CHECK_STR(err, want);
}


/* every prefix of a model either loads or is refused, never a fault */

static void
test_truncations(void)
{
    int             rc;
    char            err[INFER_ERRLEN];
    size_t          len, n, refused;
    unsigned char  *data;
    infer_model_t  *m;

    data = slurp(FIXTURES "mlp_sigmoid.onnx", &len);
    CHECK(data != NULL);
    if (data == NULL) {
        return;
    }

    refused = 0;

    for (n = 0; n < len; n++) {
        m = NULL;
        rc = infer_model_load_buffer(&m, data, n, "onnx", err, sizeof(err));

        if (rc == INFER_OK) {
            infer_model_free(m);

        } else {
            refused++;
        }
    }

    CHECK(refused == len);

    m = NULL;
    CHECK(infer_model_load_buffer(&m, data, len, NULL, err, sizeof(err))
          == INFER_OK);
    CHECK(m != NULL && strcmp(infer_model_format(m), "onnx") == 0);
    infer_model_free(m);

    free(data);
}


void
infer_test_onnx(void)
{
    const char  **f;

    for (f = fixtures; *f != NULL; f++) {
        test_fixture(*f);
    }

    test_refused("bad_op", "node \"erf1\" (Erf): operator Erf is not "
                 "supported");
    test_refused("bad_attr", "node \"leaky\" (LeakyRelu): attribute \"beta\" "
                 "is not supported");
    test_refused("two_inputs", "the graph has several inputs (\"x\", \"x2\"): "
                 "one is supported");
    test_refused("int_input", "input \"x\" has data type INT64: only float "
                 "inputs are supported");
    test_refused("dangling", "node \"add\" (Add): input \"nowhere\" is "
                 "produced by no node, initializer or graph input");
    test_refused("cycle", "node \"first\" (Add): the node is on a cycle of the "
                 "graph");
    test_refused("external", "initializer \"w\" keeps its data in an "
                 "external file: save the model with its data inside");
    test_refused("batch_mix", "node \"softmax\" (Softmax): normalizes across "
                 "the batch");
    test_refused("truncated", "not an ONNX model: the protobuf message is "
                 "truncated or malformed");

    test_truncations();
}
