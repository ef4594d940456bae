/*
 * ONNX models: the format's face to the rest of the core.
 *
 * A .onnx file is read with protobuf-c (code generated at build time from
 * Debian's onnx.proto), checked, folded and planned once, at load, into
 * an immutable list of steps over prepacked weights; the weights and the
 * plan live in memory mapped for the model alone and made read-only when
 * the load is done, so that the workers nginx forks share one copy.
 * infer_onnx_ir.h has the insides.
 */

#ifndef INFER_ONNX_H
#define INFER_ONNX_H


#include "infer_model.h"


/* the instruction sets the kernels come in; every one gives the same bits */
typedef enum {
    INFER_ONNX_ISA_AUTO = 0,                 /* the widest this CPU has */
    INFER_ONNX_ISA_SCALAR,
    INFER_ONNX_ISA_AVX2,                     /* with FMA */
    INFER_ONNX_ISA_AVX512                    /* AVX-512F */
} infer_onnx_isa_e;


/* an extra initializer: a graph input given a value (the conformance tests) */
typedef struct {
    const char     *name;
    int32_t         dtype;                   /* ONNX's: 1 float, 7 int64 */
    size_t          ndims;
    const int64_t  *dims;
    const void     *data;
} infer_onnx_binding_t;


typedef struct {
    infer_onnx_isa_e             isa;
    const infer_onnx_binding_t  *bindings;
    size_t                       nbindings;
    unsigned                     no_input_ok:1;  /* all bound: it folds */
} infer_onnx_opts_t;


extern const infer_model_ops_t  infer_onnx_ops;


/* 1: the bytes start as a ModelProto does, not as JSON */
int infer_onnx_probe(const unsigned char *data, size_t len);

int infer_onnx_load(infer_model_t *m, const unsigned char *data, size_t len,
    const infer_onnx_opts_t *opts, char *err, size_t errlen);

/* the kernels a loaded model uses: "avx512", "avx2" or "scalar" */
const char *infer_onnx_isa_name(const infer_model_t *m);
/* the best set this CPU has, and whether it has a given one */
infer_onnx_isa_e infer_onnx_isa_best(void);
int infer_onnx_isa_usable(infer_onnx_isa_e isa);

/* multiply-adds a row costs, summed over the convolutions and GEMMs */
uint64_t infer_onnx_macs_per_row(const infer_model_t *m);
/* the scratch memory a thread evaluating the model needs, in bytes */
size_t infer_onnx_scratch_bytes(const infer_model_t *m);

/*
 * INFER_ONNX_ISA in the environment (scalar, avx2, avx512) forces a set at
 * load, for comparing them; what loading uses when opts say AUTO.
 */
infer_onnx_isa_e infer_onnx_isa_default(void);


#endif /* INFER_ONNX_H */
