/*
 * The ONNX subsystem's insides: the graph as loaded, the operators, the
 * plan the graph becomes, and the kernels the plan runs.
 *
 * Loading goes:
 *
 *   infer_onnx_load.c   ModelProto (protobuf-c) -> graph: values, nodes,
 *                       attributes, in topological order; dead nodes gone
 *   infer_onnx_ops*.c   per node, in order: its attributes as its opset
 *                       means them, its outputs' shapes, and, when every
 *                       input is a constant, its outputs computed (folded)
 *   infer_onnx_plan.c   fusions (BatchNormalization and bias into the
 *                       Conv or Gemm before them, activations and residual
 *                       additions into their epilogue), layouts (channels
 *                       last between convolutions), steps, weights
 *                       prepacked, one scratch laid out from lifetimes
 *   infer_onnx_run.c    the steps, chunk after chunk of rows
 *
 * The batch.  When the graph input's first dimension is symbolic, it is
 * the batch: a value that carries it is "batched", its dims[0] is
 * INFER_ONNX_N and its count is that of one row; the kernels take the
 * rows at run time.  Each operator keeps the batch in the first
 * dimension alone, or refuses the model: no kernel mixes rows, so a row's
 * result never depends on the rows beside it.  A graph whose input has a
 * fixed first dimension is evaluated once a row, with its shapes as they
 * are.
 */

#ifndef INFER_ONNX_IR_H
#define INFER_ONNX_IR_H


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "infer_onnx.h"


#define INFER_ONNX_MAX_RANK     8
#define INFER_ONNX_N            (-1)        /* dims[0] of a batched value */
#define INFER_ONNX_OPSET_MIN    1
#define INFER_ONNX_FOLD_BASE    ((size_t) 64 << 20)   /* + 8 x the file */
#define INFER_ONNX_SCRATCH_MAX  ((size_t) 1 << 30)    /* bytes, a chunk */
#define INFER_ONNX_OPSET_MAX    22

/* ONNX's TensorProto.DataType codes, of those the loader reads */
#define INFER_ONNX_FLOAT        1
#define INFER_ONNX_UINT8        2
#define INFER_ONNX_INT8         3
#define INFER_ONNX_INT32        6
#define INFER_ONNX_INT64        7
#define INFER_ONNX_BOOL         9
#define INFER_ONNX_DOUBLE       11

/* AttributeProto.AttributeType */
#define INFER_ONNX_ATTR_FLOAT   1
#define INFER_ONNX_ATTR_INT     2
#define INFER_ONNX_ATTR_STRING  3
#define INFER_ONNX_ATTR_TENSOR  4
#define INFER_ONNX_ATTR_FLOATS  6
#define INFER_ONNX_ATTR_INTS    7


typedef struct infer_onnx_arena_s  infer_onnx_arena_t;
typedef struct infer_onnx_graph_s  infer_onnx_graph_t;
typedef struct infer_onnx_node_s   infer_onnx_node_t;
typedef struct infer_onnx_op_s     infer_onnx_op_t;
typedef struct infer_onnx_plan_s   infer_onnx_plan_t;
typedef struct infer_onnx_step_s   infer_onnx_step_t;
typedef struct infer_onnx_fuse_s   infer_onnx_fuse_t;


/* bump allocation in mmap()ed chunks: made read-only, freed at once */

infer_onnx_arena_t *infer_onnx_arena_create(void);
void *infer_onnx_arena_alloc(infer_onnx_arena_t *a, size_t size);
void *infer_onnx_arena_calloc(infer_onnx_arena_t *a, size_t n, size_t size);
char *infer_onnx_arena_strdup(infer_onnx_arena_t *a, const char *s);
int infer_onnx_arena_seal(infer_onnx_arena_t *a);
size_t infer_onnx_arena_size(const infer_onnx_arena_t *a);
void infer_onnx_arena_free(infer_onnx_arena_t *a);

/* this thread's scratch, at least size bytes, 64-aligned; NULL: no memory */
void *infer_onnx_scratch(size_t size);


typedef struct {
    const char             *name;
    int32_t                 dtype;
    int                     rank;
    int64_t                 dims[INFER_ONNX_MAX_RANK];  /* ONNX's order */
    size_t                  count;      /* elements, of a row if batched */
    void                   *data;       /* a constant's, float or int64_t */
    uint8_t                *sym;        /* int64: 1 where it is the batch */
    int                     producer;   /* node, -1: input or constant */
    int                     nuses;      /* nodes reading it at run time */

    unsigned                batched:1;
    unsigned                is_const:1;
    unsigned                is_input:1;
    unsigned                nhwc:1;     /* stored channels last */

    /* the plan's */
    int                     alias;      /* the value whose memory it is */
    int                     slot;       /* in the run's pointer table */
    int                     output;     /* the graph output it is, or -1 */
    int                     other;      /* the same in the other layout */
    const float            *packed;     /* its data in the model's arena */
} infer_onnx_value_t;


typedef struct {
    const char             *name;
    int                     type;       /* INFER_ONNX_ATTR_* */
    int64_t                 i;
    float                   f;
    const char             *s;          /* NUL-terminated */
    const int64_t          *ints;
    const float            *floats;
    size_t                  n;          /* of ints or floats */
    int                     tensor;     /* a TENSOR's value, or -1 */
    unsigned                read:1;     /* the operator looked at it */
} infer_onnx_attr_t;


struct infer_onnx_node_s {
    const infer_onnx_op_t  *op;
    const char             *op_type;
    const char             *name;       /* as in the file, or "#index" */
    int                    *in;         /* values; -1: an omitted input */
    int                     nin;
    int                    *out;
    int                     nout;
    infer_onnx_attr_t      *attrs;
    int                     nattrs;
    int                     opset;
    void                   *params;     /* the operator's reading */
    unsigned                folded:1;   /* its outputs are constants */
    unsigned                fused:1;    /* another node's step does it */
};


struct infer_onnx_op_s {
    const char             *type;
    int                     since;      /* the first opset it reads */

    /*
     * Reads the attributes and the constant inputs as n->opset means
     * them into n->params, checks the inputs, sets the outputs' dtypes,
     * shapes and batch.  INFER_OK, or an error from infer_onnx_fail().
     */
    int                   (*infer)(infer_onnx_graph_t *g,
                                   infer_onnx_node_t *n);

    /* every input a constant: compute the outputs (NULL: lower and run) */
    int                   (*fold)(infer_onnx_graph_t *g,
                                  infer_onnx_node_t *n);

    /* the steps that compute n's outputs at run time */
    int                   (*lower)(infer_onnx_plan_t *p,
                                   infer_onnx_node_t *n);

    unsigned                flags;
};

#define INFER_ONNX_OP_ALIAS     0x01        /* output is input 0, reshaped */
#define INFER_ONNX_OP_UNARY     0x02        /* elementwise, any layout */
#define INFER_ONNX_OP_LAYOUT    0x04        /* takes channels-last input */


struct infer_onnx_graph_s {
    infer_onnx_arena_t     *arena;      /* what the loaded model keeps */
    infer_onnx_arena_t     *tmp;        /* what only loading needs */
    infer_onnx_value_t     *values;
    int                     nvalues;
    int                     cvalues;
    infer_onnx_node_t      *nodes;      /* in topological order */
    int                     nnodes;
    int                     input;
    int                    *outputs;
    int                     noutputs;
    int                     opset;
    unsigned                batched:1;
    unsigned                drop_dim0:1;  /* rows are the input's dims[1..] */
    unsigned                folding:1;    /* no input: every output folds */
    infer_onnx_isa_e        isa;
    void                   *proto;      /* the unpacked ModelProto */
    size_t                  fold_budget;  /* bytes folding may still take */
    char                   *err;
    size_t                  errlen;
};


/* run time */

typedef void (*infer_onnx_kernel_pt)(const infer_onnx_step_t *s,
    float *const *ptr, size_t n, float *work);

struct infer_onnx_step_s {
    infer_onnx_kernel_pt    run;
    const void             *p;          /* the kernel's parameters */
    infer_onnx_isa_e        isa;        /* the kernels' instruction set */
    int                     in[3];      /* slots, -1: none */
    const int              *extra;      /* more inputs' slots (Concat) */
    int                     nextra;
    int                     out;
    size_t                  work;       /* floats of work memory, per row */
    size_t                  work_fixed; /* and besides the rows */
    uint64_t                macs;       /* multiply-adds a row */
};


typedef struct {
    int                     slot;
    size_t                  count;      /* floats of a row */
    size_t                  offset;     /* in a row of y */
    unsigned                direct:1;   /* written in y by its step */
} infer_onnx_output_t;


#define INFER_ONNX_SLOT_SCRATCH  0
#define INFER_ONNX_SLOT_CONST    1
#define INFER_ONNX_SLOT_INPUT    2
#define INFER_ONNX_SLOT_OUTPUT   3          /* straight into y */

typedef struct {
    int                     kind;
    size_t                  offset;     /* scratch: floats from its start */
    size_t                  row;        /* floats a row (scratch) */
    const float            *data;       /* const */
} infer_onnx_slot_t;


struct infer_onnx_plan_s {
    infer_onnx_arena_t     *arena;      /* where the plan and weights go */
    infer_onnx_fuse_t      *fusions;    /* per node, while planning */
    infer_onnx_step_t      *steps;
    int                     nsteps;
    int                     csteps;
    infer_onnx_slot_t      *slots;
    int                     nslots;
    infer_onnx_output_t    *outputs;
    int                     noutputs;
    size_t                  chunk;      /* rows evaluated together */
    size_t                  in_count;   /* floats of a row of x */
    size_t                  out_count;  /* of a row of y */
    size_t                  scratch;    /* floats for the tensors, a chunk */
    size_t                  work;       /* floats of work memory, a chunk */
    uint64_t                macs;       /* a row's multiply-adds */
    infer_onnx_isa_e        isa;
    infer_onnx_graph_t     *g;          /* while planning */
};


/* errors: "node \"conv1\" (Conv): ..." */

int infer_onnx_fail(infer_onnx_graph_t *g, const infer_onnx_node_t *n,
    const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;


/* the graph */

/* the file into g, every node read and the constant ones folded */
int infer_onnx_read(infer_onnx_graph_t *g, const unsigned char *data,
    size_t len, const infer_onnx_opts_t *opts);
/* the message the constants point into is freed */
void infer_onnx_read_done(infer_onnx_graph_t *g);

int infer_onnx_value_new(infer_onnx_graph_t *g, const char *name);
infer_onnx_value_t *infer_onnx_in(infer_onnx_graph_t *g,
    const infer_onnx_node_t *n, int i);
infer_onnx_value_t *infer_onnx_out(infer_onnx_graph_t *g,
    const infer_onnx_node_t *n, int i);
int infer_onnx_set_shape(infer_onnx_value_t *v, int32_t dtype, int rank,
    const int64_t *dims, int batched);
void *infer_onnx_const_alloc(infer_onnx_graph_t *g, infer_onnx_value_t *v);
/* n elements of width for a constant computed at load, within the budget */
void *infer_onnx_fold_alloc(infer_onnx_graph_t *g, size_t n, size_t width);
size_t infer_onnx_shape_count(const int64_t *dims, int rank, int batched);
void infer_onnx_format_shape(char *buf, size_t size,
    const infer_onnx_value_t *v);

/* attributes: INFER_OK and the value (or its default), or an error */
infer_onnx_attr_t *infer_onnx_attr(infer_onnx_node_t *n, const char *name);
int infer_onnx_attr_int(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, int64_t def, int64_t *v);
int infer_onnx_attr_float(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, float def, float *v);
int infer_onnx_attr_ints(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, const int64_t **v, size_t *nv);
int infer_onnx_attr_string(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    const char *name, const char *def, const char **v);
int infer_onnx_attrs_all_read(infer_onnx_graph_t *g, infer_onnx_node_t *n);

/* a constant int64 input: its values (NULL: omitted), checked */
int infer_onnx_const_ints(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    int i, const int64_t **v, size_t *nv);
/* an input that must be a constant float scalar (omitted: def) */
int infer_onnx_const_float(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    int i, float def, float *v);

/* an axis in [-rank, rank) made positive */
int infer_onnx_axis(infer_onnx_graph_t *g, infer_onnx_node_t *n,
    int64_t axis, int rank, int *out);

/* the operators */
const infer_onnx_op_t *infer_onnx_find_op(const char *type);
int infer_onnx_fold_by_running(infer_onnx_graph_t *g, infer_onnx_node_t *n);


/* planning */

#define INFER_ONNX_PLAIN  0
#define INFER_ONNX_NHWC   1
#define INFER_ONNX_ANY    2

/*
 * What a Conv, Gemm or MatMul takes over from the nodes after it: a
 * BatchNormalization, a constant bias, a computed addend (a residual
 * connection) and an activation, in that order; out is the value the
 * last of them produced.
 */
struct infer_onnx_fuse_s {
    const infer_onnx_node_t  *bn;
    int                       bias;       /* a constant value, or -1 */
    int                       res;        /* a computed value, or -1 */
    int                       act;        /* infer_onnx_act_e */
    float                     act_a;
    float                     act_b;
    int                       out;
};

int infer_onnx_plan(infer_onnx_graph_t *g, infer_onnx_plan_t *p,
    infer_onnx_arena_t *arena);
/*
 * A step, after every step its inputs need: resolve the slots (which may
 * add reorder steps) before.  NULL: no memory, or a slot that failed.
 */
infer_onnx_step_t *infer_onnx_step_add(infer_onnx_plan_t *p,
    infer_onnx_kernel_pt run, const void *params, int in0, int in1, int out);
/* the slot of value v in the layout asked (a reorder added if need be) */
int infer_onnx_plan_value(infer_onnx_plan_t *p, int v, int layout);
/* the same for input i of n */
int infer_onnx_plan_in(infer_onnx_plan_t *p, const infer_onnx_node_t *n,
    int i, int layout);
/* input i of n, a matrix, transposed by a step of its own */
int infer_onnx_plan_transposed(infer_onnx_plan_t *p,
    const infer_onnx_node_t *n, int i);
/* the slot a step writes value v to, stored channels last or not */
int infer_onnx_plan_out(infer_onnx_plan_t *p, int v, int nhwc);
/* value v is value of's memory, reshaped */
int infer_onnx_plan_alias(infer_onnx_plan_t *p, int v, int of);
void *infer_onnx_plan_alloc(infer_onnx_plan_t *p, size_t size);
/* a float constant's data in the model's arena */
const float *infer_onnx_plan_const(infer_onnx_plan_t *p, int v);
/* the fusion of a Conv, Gemm or MatMul node, or NULL */
infer_onnx_fuse_t *infer_onnx_fusion(infer_onnx_plan_t *p,
    const infer_onnx_node_t *n);
/* a fusion's normalization and bias, into c channels' bias and scale */
int infer_onnx_fuse_bias(infer_onnx_plan_t *p, const infer_onnx_fuse_t *fu,
    float *bias, float *scale, size_t c);
/* a BatchNormalization's per-channel scale and shift */
int infer_onnx_bn_affine(infer_onnx_graph_t *g, const infer_onnx_node_t *n,
    double *scale, double *shift, size_t c);
const char *infer_onnx_op_name(size_t i);

/* 1: v is laid out the same channels last as not */
int infer_onnx_layout_free(const infer_onnx_value_t *v);
/* a row's dimensions as stored (without the batch), and their number */
int infer_onnx_row_dims(const infer_onnx_value_t *v, int nhwc,
    size_t *dims);

int infer_onnx_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y);


/* the instruction sets */

infer_onnx_isa_e infer_onnx_isa_pick(infer_onnx_isa_e want);


#endif /* INFER_ONNX_IR_H */
