/*
 * libFuzzer harness for the model loaders: a model that loads must
 * evaluate a row without fault.
 */

#include <stdint.h>
#include <stdlib.h>

#include "infer_model.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[INFER_ERRLEN];
    float          *x, *y;
    infer_model_t  *m;

    if (infer_model_load_buffer(&m, data, size, NULL, err, sizeof(err))
        != INFER_OK)
    {
        return 0;
    }

    x = calloc(m->nfeatures, sizeof(float));
    y = calloc(m->noutputs, sizeof(float));

    if (x != NULL && y != NULL) {
        (void) infer_model_eval(m, x, 1, y);
    }

    free(x);
    free(y);
    infer_model_free(m);

    return 0;
}
