/*
 * One interface for every model format: load a file into an immutable
 * object, report its shape, evaluate rows, free.
 *
 * A loaded model is never written to again, so the copy the nginx master
 * loads at configuration time is shared by all workers through fork().
 */

#ifndef INFER_MODEL_H
#define INFER_MODEL_H


#include "infer_core.h"


typedef struct infer_model_s  infer_model_t;


/*
 * A format loads either from a JSON document (the formats that are JSON
 * share one parse: root is a yajl_val) or from the file's bytes.
 */
typedef struct {
    const char  *name;                       /* "linear" */

    int        (*probe_json)(void *root);    /* 1: the root looks like mine */
    int        (*load_json)(infer_model_t *m, void *root, char *err,
                            size_t errlen);
    int        (*probe)(const unsigned char *data, size_t len);
    int        (*load)(infer_model_t *m, const unsigned char *data,
                       size_t len, char *err, size_t errlen);
    int        (*eval)(const infer_model_t *m, const float *x, size_t rows,
                       float *y);
    void       (*free)(infer_model_t *m);
} infer_model_ops_t;


#define INFER_MODEL_MAX_DIMS  8


/* a tensor as the protocols show it: a row's shape, without the batch */
typedef struct {
    const char               *name;
    size_t                    ndims;
    size_t                    dims[INFER_MODEL_MAX_DIMS];
    size_t                    size;          /* floats of a row */
    size_t                    offset;        /* an output's, in a row of y */
} infer_tensor_t;


struct infer_model_s {
    const infer_model_ops_t  *ops;
    size_t                    nfeatures;     /* input.size */
    size_t                    noutputs;      /* the outputs' sizes summed */
    unsigned                  missing_ok:1;  /* NaN input is a missing value */
    void                     *impl;

    /* 1-d "input-0" and "output-0" unless the format names its own */
    infer_tensor_t            input;
    infer_tensor_t           *outputs;
    size_t                    noutput_tensors;
    infer_tensor_t            output0;       /* the default's storage */
};


/*
 * format is "linear", "xgboost", "onnx" or NULL to detect it from the
 * content.  On failure
 * err says what and where; INFER_ESYS means that the syscall named in err
 * ("open()", "read()") failed and errno tells why.
 */
int infer_model_load_file(infer_model_t **mp, const char *path,
    const char *format, char *err, size_t errlen);
int infer_model_load_buffer(infer_model_t **mp, const unsigned char *data,
    size_t len, const char *format, char *err, size_t errlen);

/*
 * x is rows x nfeatures, y is rows x noutputs, both row-major; y's row is
 * the outputs one after the other, at their offsets.
 */
int infer_model_eval(const infer_model_t *m, const float *x, size_t rows,
    float *y);

const char *infer_model_format(const infer_model_t *m);
void infer_model_free(infer_model_t *m);


extern const infer_model_ops_t  infer_linear_ops;
extern const infer_model_ops_t  infer_xgboost_ops;
extern const infer_model_ops_t  infer_onnx_ops;


#endif /* INFER_MODEL_H */
