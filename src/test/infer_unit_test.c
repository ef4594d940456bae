#include "infer_unit_test.h"


int  infer_test_passed;
int  infer_test_failed;


int
main(void)
{
    infer_test_model();
    infer_test_json();
    infer_test_v2();
    infer_test_utf8();
    infer_test_metrics();
    infer_test_trace();
    infer_test_xgboost();
    infer_test_schedlat();
    infer_test_host();
    infer_test_onnx();
    infer_test_otel();
    infer_test_otel_http();
    infer_test_image();
    infer_test_image_prep();
    infer_test_multipart();

    printf("unit: %d passed, %d failed\n", infer_test_passed,
           infer_test_failed);

    return infer_test_failed ? 1 : 0;
}
