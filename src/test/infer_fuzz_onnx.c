/*
 * libFuzzer harness for the ONNX reader: any bytes loaded as an ONNX
 * model must be refused with a message, or load and evaluate two rows
 * without fault (ASan, UBSan).  The seed corpus is small models of
 * t/models/onnx/ and their refusals.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_model.h"
#include "infer_onnx.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[INFER_ERRLEN];
    float          *x, *y;
    infer_model_t  *m;

    if (infer_model_load_buffer(&m, data, size, "onnx", err, sizeof(err))
        != INFER_OK)
    {
        if (err[0] == '\0') {
            abort();                    /* a refusal always says why */
        }

        return 0;
    }

    /* a model small enough to evaluate in a fuzzer's time */

    if (m->nfeatures <= (1 << 16) && m->noutputs <= (1 << 16)
        && infer_onnx_scratch_bytes(m) <= (64 << 20))
    {
        x = calloc(2 * m->nfeatures, sizeof(float));
        y = calloc(2 * m->noutputs, sizeof(float));

        if (x != NULL && y != NULL) {
            x[0] = 1.5f;
            (void) infer_model_eval(m, x, 2, y);
        }

        free(x);
        free(y);
    }

    infer_model_free(m);

    return 0;
}
