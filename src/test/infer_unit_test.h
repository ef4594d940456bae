/*
 * A minimal test harness for the core: each CHECK counts one test, a
 * failure prints where and why, and main() ends with the summary line
 * "unit: N passed, M failed" that make test adds up.
 */

#ifndef INFER_UNIT_TEST_H
#define INFER_UNIT_TEST_H


#include <stdio.h>
#include <string.h>


extern int  infer_test_passed;
extern int  infer_test_failed;


#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            infer_test_passed++;                                             \
        } else {                                                             \
            infer_test_failed++;                                             \
            printf("not ok: %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                    \
    } while (0)


#define CHECK_STR(got, want)                                                 \
    do {                                                                     \
        const char  *g_ = (got), *w_ = (want);                               \
        if (g_ != NULL && strcmp(g_, w_) == 0) {                             \
            infer_test_passed++;                                             \
        } else {                                                             \
            infer_test_failed++;                                             \
            printf("not ok: %s:%d: got \"%s\", want \"%s\"\n", __FILE__,     \
                   __LINE__, g_ ? g_ : "(null)", w_);                        \
        }                                                                    \
    } while (0)


void infer_test_model(void);
void infer_test_json(void);
void infer_test_v2(void);
void infer_test_utf8(void);
void infer_test_metrics(void);
void infer_test_trace(void);
void infer_test_xgboost(void);
void infer_test_schedlat(void);
void infer_test_host(void);
void infer_test_onnx(void);
void infer_test_otel(void);
void infer_test_otel_http(void);
void infer_test_image(void);
void infer_test_image_prep(void);
void infer_test_multipart(void);


#endif /* INFER_UNIT_TEST_H */
