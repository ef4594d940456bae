/*
 * libFuzzer harness for the XGBoost loader, the format forced: a model
 * that loads must evaluate without fault, give the same floats for a
 * batch as row by row (the two paths walk the trees in different
 * orders), and never give a NaN: leaves are finite and their sum is
 * bounded at load.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_model.h"


#define FUZZ_ROWS  4


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[INFER_ERRLEN];
    float          *x, *y, *y1;
    size_t          i, n, nf, no;
    infer_model_t  *m;

    if (infer_model_load_buffer(&m, data, size, "xgboost", err, sizeof(err))
        != INFER_OK)
    {
        return 0;
    }

    nf = m->nfeatures;
    no = m->noutputs;

    x = calloc(FUZZ_ROWS * nf, sizeof(float));
    y = calloc(FUZZ_ROWS * no, sizeof(float));
    y1 = calloc(FUZZ_ROWS * no, sizeof(float));

    if (x == NULL || y == NULL || y1 == NULL) {
        goto done;
    }

    /* zeros, missing values, the input's bytes, and a mix */

    for (i = 0; i < nf; i++) {
        x[nf + i] = NAN;
        x[2 * nf + i] = (float) data[i % size] - 128.0f;
        x[3 * nf + i] = (i % 3 == 0) ? NAN : (float) (i % 7) * 0.25f;
    }

    (void) infer_model_eval(m, x, FUZZ_ROWS, y);

    for (i = 0; i < FUZZ_ROWS; i++) {
        (void) infer_model_eval(m, x + i * nf, 1, y1 + i * no);
    }

    n = FUZZ_ROWS * no;

    if (memcmp(y, y1, n * sizeof(float)) != 0) {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (isnan(y[i])) {
            abort();
        }
    }

done:

    free(x);
    free(y);
    free(y1);
    infer_model_free(m);

    return 0;
}
