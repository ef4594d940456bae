/*
 * The format's entry points: load (read, plan, seal), evaluate, free; and
 * the choice of instruction set.
 *
 * Evaluation takes the calling thread's scratch (infer_onnx_arena.c),
 * points each slot of the plan at its memory for a chunk of rows (the
 * input at x, a single output straight at y) and runs the steps; outputs
 * that could not be written in place are copied into y's rows after.
 * Nothing is allocated per call once a thread has its scratch.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_onnx_ir.h"


typedef struct {
    infer_onnx_arena_t  *arena;             /* holds this very struct */
    infer_onnx_plan_t    plan;
} infer_onnx_model_t;


static int infer_onnx_model_load(infer_model_t *m, const unsigned char *data,
    size_t len, char *err, size_t errlen);
static void infer_onnx_model_free(infer_model_t *m);
static int infer_onnx_describe(infer_model_t *m, infer_onnx_graph_t *g,
    infer_onnx_arena_t *arena);
static int infer_onnx_tensor(infer_tensor_t *t, const infer_onnx_value_t *v,
    int drop_dim0, infer_onnx_arena_t *arena);


const infer_model_ops_t  infer_onnx_ops = {
    "onnx",
    NULL,
    NULL,
    infer_onnx_probe,
    infer_onnx_model_load,
    infer_onnx_eval,
    infer_onnx_model_free
};


static int
infer_onnx_model_load(infer_model_t *m, const unsigned char *data,
    size_t len, char *err, size_t errlen)
{
    infer_onnx_opts_t  opts;

    memset(&opts, 0, sizeof(opts));

    return infer_onnx_load(m, data, len, &opts, err, errlen);
}


int
infer_onnx_load(infer_model_t *m, const unsigned char *data, size_t len,
    const infer_onnx_opts_t *opts, char *err, size_t errlen)
{
    int                  rc;
    infer_onnx_graph_t   g;
    infer_onnx_model_t  *om;
    infer_onnx_arena_t  *arena;

    memset(&g, 0, sizeof(g));
    g.err = err;
    g.errlen = errlen;
    g.input = -1;
    g.isa = infer_onnx_isa_pick(opts->isa);
    err[0] = '\0';

    g.tmp = infer_onnx_arena_create();
    arena = infer_onnx_arena_create();

    if (g.tmp == NULL || arena == NULL) {
        rc = INFER_ERROR;
        goto done;
    }

    rc = infer_onnx_read(&g, data, len, opts);
    if (rc != INFER_OK) {
        goto done;
    }

    om = infer_onnx_arena_calloc(arena, 1, sizeof(infer_onnx_model_t));
    if (om == NULL) {
        rc = INFER_ERROR;
        goto done;
    }

    om->arena = arena;

    rc = infer_onnx_plan(&g, &om->plan, arena);
    if (rc != INFER_OK) {
        goto done;
    }

    rc = infer_onnx_describe(m, &g, arena);
    if (rc != INFER_OK) {
        goto done;
    }

    m->impl = om;

    /* from here on the model's pages are never written: one copy for all */

    rc = infer_onnx_arena_seal(arena);

done:

    if (rc == INFER_ERROR && err[0] == '\0') {
        (void) snprintf(err, errlen, "out of memory");
    }

    if (rc != INFER_OK) {
        m->impl = NULL;
        infer_onnx_arena_free(arena);
    }

    infer_onnx_read_done(&g);
    free(g.values);
    infer_onnx_arena_free(g.tmp);

    return rc;
}


/* what the protocols say of the model: names and a row's shapes */

static int
infer_onnx_describe(infer_model_t *m, infer_onnx_graph_t *g,
    infer_onnx_arena_t *arena)
{
    int                  i, drop;
    infer_onnx_value_t  *v;

    v = &g->values[g->input];

    if (infer_onnx_tensor(&m->input, v, g->drop_dim0, arena) != INFER_OK) {
        return INFER_ERROR;
    }

    m->outputs = infer_onnx_arena_calloc(arena, g->noutputs,
                                         sizeof(infer_tensor_t));
    if (m->outputs == NULL) {
        return INFER_ERROR;
    }

    m->noutput_tensors = g->noutputs;
    m->noutputs = 0;

    for (i = 0; i < g->noutputs; i++) {
        v = &g->values[g->outputs[i]];

        /* a fixed batch of 1 is dropped where the output has it too */

        drop = g->batched || (g->drop_dim0 && v->rank > 0 && v->dims[0] == 1);

        if (infer_onnx_tensor(&m->outputs[i], v, drop, arena) != INFER_OK) {
            return INFER_ERROR;
        }

        m->outputs[i].offset = m->noutputs;
        m->noutputs += m->outputs[i].size;
    }

    m->nfeatures = m->input.size;

    return INFER_OK;
}


static int
infer_onnx_tensor(infer_tensor_t *t, const infer_onnx_value_t *v,
    int drop_dim0, infer_onnx_arena_t *arena)
{
    int  d, from;

    t->name = infer_onnx_arena_strdup(arena, v->name ? v->name : "");
    if (t->name == NULL) {
        return INFER_ERROR;
    }

    from = (drop_dim0 && v->rank > 0) ? 1 : 0;
    t->ndims = 0;

    for (d = from; d < v->rank; d++) {
        t->dims[t->ndims++] = (size_t) v->dims[d];
    }

    t->size = (from && !v->batched) ? v->count / (size_t) v->dims[0]
                                    : v->count;
    t->offset = 0;

    return INFER_OK;
}


int
infer_onnx_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y)
{
    const infer_onnx_model_t  *om = m->impl;
    const infer_onnx_plan_t   *p = &om->plan;

    int                         i;
    size_t                      r0, r, n, need, head;
    float                     **ptr, *base, *work, *src;
    unsigned char              *mem;
    const infer_onnx_slot_t    *sl;
    const infer_onnx_output_t  *o;

    head = (p->nslots * sizeof(float *) + 63) & ~(size_t) 63;
    need = head + (p->scratch + p->work + 16) * sizeof(float);

    mem = infer_onnx_scratch(need);
    if (mem == NULL) {
        return INFER_ERROR;
    }

    ptr = (float **) mem;
    base = (float *) (mem + head);
    work = base + p->scratch;

    for (i = 0; i < p->nslots; i++) {
        if (p->slots[i].kind == INFER_ONNX_SLOT_CONST) {
            ptr[i] = (float *) p->slots[i].data;
        }
    }

    for (r0 = 0; r0 < rows; r0 += n) {
        n = (rows - r0 < p->chunk) ? rows - r0 : p->chunk;

        for (i = 0; i < p->nslots; i++) {
            sl = &p->slots[i];

            switch (sl->kind) {
            case INFER_ONNX_SLOT_SCRATCH:
                ptr[i] = base + sl->offset;
                break;
            case INFER_ONNX_SLOT_INPUT:
                ptr[i] = (float *) x + r0 * p->in_count;
                break;
            case INFER_ONNX_SLOT_OUTPUT:
                ptr[i] = y + r0 * p->out_count;
                break;
            }
        }

        for (i = 0; i < p->nsteps; i++) {
            p->steps[i].run(&p->steps[i], ptr, n, work);
        }

        for (i = 0; i < p->noutputs; i++) {
            o = &p->outputs[i];

            if (o->direct) {
                continue;
            }

            for (r = 0; r < n; r++) {
                src = ptr[o->slot] + r * o->count;
                memcpy(y + (r0 + r) * p->out_count + o->offset, src,
                       o->count * sizeof(float));
            }
        }
    }

    return INFER_OK;
}


static void
infer_onnx_model_free(infer_model_t *m)
{
    infer_onnx_model_t  *om = m->impl;

    if (om != NULL) {
        infer_onnx_arena_free(om->arena);
        m->impl = NULL;
    }
}


const char *
infer_onnx_isa_name(const infer_model_t *m)
{
    const infer_onnx_model_t  *om = m->impl;

    switch (om->plan.isa) {
    case INFER_ONNX_ISA_AVX512:
        return "avx512";
    case INFER_ONNX_ISA_AVX2:
        return "avx2";
    default:
        return "scalar";
    }
}


uint64_t
infer_onnx_macs_per_row(const infer_model_t *m)
{
    const infer_onnx_model_t  *om = m->impl;

    return om->plan.macs;
}


size_t
infer_onnx_scratch_bytes(const infer_model_t *m)
{
    const infer_onnx_model_t  *om = m->impl;

    return (om->plan.scratch + om->plan.work) * sizeof(float)
           + om->plan.nslots * sizeof(float *);
}


infer_onnx_isa_e
infer_onnx_isa_best(void)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        return INFER_ONNX_ISA_AVX512;
    }

    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return INFER_ONNX_ISA_AVX2;
    }
#endif

    return INFER_ONNX_ISA_SCALAR;
}


int
infer_onnx_isa_usable(infer_onnx_isa_e isa)
{
    switch (isa) {
    case INFER_ONNX_ISA_SCALAR:
        return 1;
    case INFER_ONNX_ISA_AVX2:
        return infer_onnx_isa_best() != INFER_ONNX_ISA_SCALAR;
    case INFER_ONNX_ISA_AVX512:
        return infer_onnx_isa_best() == INFER_ONNX_ISA_AVX512;
    default:
        return 1;
    }
}


infer_onnx_isa_e
infer_onnx_isa_default(void)
{
    const char  *e;

    e = getenv("INFER_ONNX_ISA");

    if (e == NULL) {
        return INFER_ONNX_ISA_AUTO;
    }

    if (strcmp(e, "scalar") == 0) {
        return INFER_ONNX_ISA_SCALAR;
    }

    if (strcmp(e, "avx2") == 0) {
        return INFER_ONNX_ISA_AVX2;
    }

    if (strcmp(e, "avx512") == 0) {
        return INFER_ONNX_ISA_AVX512;
    }

    return INFER_ONNX_ISA_AUTO;
}


/* the set asked for if this CPU has it, else the best it has */

infer_onnx_isa_e
infer_onnx_isa_pick(infer_onnx_isa_e want)
{
    if (want == INFER_ONNX_ISA_AUTO) {
        want = infer_onnx_isa_default();
    }

    if (want == INFER_ONNX_ISA_AUTO || !infer_onnx_isa_usable(want)) {
        return infer_onnx_isa_best();
    }

    return want;
}
