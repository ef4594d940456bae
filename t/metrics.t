# Metrics in shared memory across two workers: exact counts by model,
# code and reason, histogram counts, the three exposition formats, and
# the zone's configuration errors.  Each block counts a model of its own:
# with TEST_NGINX_USE_HUP the zone, and so every count, survives from one
# block to the next, as it survives any reload.

use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 5 predictions, 2 bad bodies and a GET, counted exactly
--- http_config
    infer_model t1 $TEST_NGINX_MODELS/linear3.json;
    infer_metrics_zone 1m;
--- config
    location = /predict { infer t1; }
    location = /metrics { infer_metrics; }
--- request eval
[ ("POST /predict\n{\"instances\":[[1,2,3],[4,5,6]]}") x 5,
  ("POST /predict\n{\"instances\":[[1,2") x 2,
  "GET /predict",
  "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ (200) x 5, 400, 400, 405, 200 ]
--- response_body_like eval
[ ('^\{"predictions":\[6,15\],') x 5,
  ('^\{"error":"malformed JSON') x 2,
  '^\{"error":"method GET is not allowed',
  qr{(?=.*^nginx_infer_requests_total\{model="t1",code="200"\}[ ]5$)
     (?=.*^nginx_infer_requests_total\{model="t1",code="400"\}[ ]2$)
     (?=.*^nginx_infer_requests_total\{model="t1",code="405"\}[ ]1$)
     (?=.*^nginx_infer_predictions_total\{model="t1"\}[ ]10$)
     (?=.*^nginx_infer_errors_total\{model="t1",reason="bad_json"\}[ ]2$)
     (?=.*^nginx_infer_errors_total\{model="t1",reason="method"\}[ ]1$)
     (?=.*^nginx_infer_request_duration_seconds_bucket\{model="t1",le="\+Inf"\}[ ]8$)
     (?=.*^nginx_infer_request_duration_seconds_count\{model="t1"\}[ ]8$)
     (?=.*^nginx_infer_inference_duration_seconds_count\{model="t1"\}[ ]5$)
     (?=.*^nginx_infer_batch_size_bucket\{model="t1",le="2\.0"\}[ ]5$)
     (?=.*^nginx_infer_batch_size_sum\{model="t1"\}[ ]10$)
     (?=.*^nginx_infer_requests_in_flight\{model="t1"\}[ ]0$)
     (?=.*^nginx_infer_model_info\{model="t1",version="1",format="linear"\}[ ]1$)
     (?=.*^nginx_infer_build_info\{version="0\.1\.0"\}[ ]1$)}msx ]
--- response_headers_like eval
[ ('^$') x 8, 'text/plain; version=0\.0\.4' ]
--- no_error_log
[alert]
[emerg]



=== TEST 2: OpenMetrics on request, with the caller's trace id as exemplar
--- http_config
    infer_model t2 $TEST_NGINX_MODELS/linear3.json;
    infer_metrics_zone 1m;
--- config
    location = /predict { infer t2; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3]}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
Accept: application/openmetrics-text; version=1.0.0
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '^\{"prediction":6,',
  qr{(?=.*^nginx_infer_request_duration_seconds_bucket\{model="t2",le="[^"]+"\}[ ]1[ ]\#[ ]\{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"\}[ ][0-9.e-]+[ ]\d+\.\d+$)
     (?=.*^\#[ ]TYPE[ ]nginx_infer_requests[ ]counter$)
     (?=.*^nginx_infer_requests_total\{model="t2",code="200"\}[ ]1$)
     .*^\#[ ]EOF\n\z}msx ]
--- no_error_log
[alert]
[emerg]



=== TEST 3: the JSON view
--- http_config
    infer_model t3 $TEST_NGINX_MODELS/linear3.json version=9;
    infer_metrics_zone 1m;
--- config
    location = /predict { infer t3; }
    location = /metrics.json { infer_metrics format=json; }
--- request eval
[ ("POST /predict\n{\"features\":[1,2,3]}") x 3, "GET /metrics.json" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 200, 200, 200, 200 ]
--- response_body_like eval
[ ('^\{"prediction":6,') x 3,
  qr{^\{"version":"0\.1\.0",.*"models":\[\{"model":"t3","version":"9","format":"linear","requests_total":\{"200":3,.*"predictions_total":3,.*"p99":}s ]
--- no_error_log
[alert]
[emerg]



=== TEST 4: custom latency buckets
--- http_config
    infer_model t4 $TEST_NGINX_MODELS/linear3.json;
    infer_latency_buckets 0.001 0.1;
    infer_metrics_zone 1m;
--- config
    location = /predict { infer t4; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3]}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '^\{"prediction":6,',
  qr{(?=.*^nginx_infer_inference_duration_seconds_bucket\{model="t4",le="0\.001"\}[ ]1$)
     (?=.*^nginx_infer_inference_duration_seconds_bucket\{model="t4",le="0\.1"\}[ ]1$)
     (?=.*^nginx_infer_inference_duration_seconds_bucket\{model="t4",le="\+Inf"\}[ ]1$)
     (?!.*le="5e-06")}msx ]
--- no_error_log
[alert]
[emerg]



=== TEST 5: the prediction histogram, opt-in
--- http_config
    infer_model t5 $TEST_NGINX_MODELS/linear3.json;
    infer_prediction_buckets 0 5 10;
    infer_metrics_zone 1m;
--- config
    location = /predict { infer t5; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3]}", "POST /predict\n{\"features\":[1,1,1]}",
  "POST /predict\n{\"features\":[-1,-1,-1]}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 200, 200, 200, 200 ]
--- response_body_like eval
[ '^\{"prediction":6,', '^\{"prediction":3,', '^\{"prediction":-3,',
  qr{(?=.*^nginx_infer_prediction_bucket\{model="t5",le="0\.0"\}[ ]1$)
     (?=.*^nginx_infer_prediction_bucket\{model="t5",le="5\.0"\}[ ]2$)
     (?=.*^nginx_infer_prediction_bucket\{model="t5",le="10\.0"\}[ ]3$)
     (?=.*^nginx_infer_prediction_count\{model="t5"\}[ ]3$)}msx ]
--- no_error_log
[alert]
[emerg]



=== TEST 6: a 413 from client_max_body_size is counted for the model
--- http_config
    infer_model t6 $TEST_NGINX_MODELS/linear3.json;
    infer_metrics_zone 1m;
--- config
    location = /predict { client_max_body_size 16; infer t6; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3],\"pad\":\"xxxxxxxxxxxxxxxx\"}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 413, 200 ]
--- response_body_like eval
[ '^\{"error":"request body too large',
  qr{(?=.*^nginx_infer_requests_total\{model="t6",code="413"\}[ ]1$)
     (?=.*^nginx_infer_errors_total\{model="t6",reason="too_large"\}[ ]1$)}msx ]
--- no_error_log
[alert]
[emerg]



=== TEST 7: a zone too small fails at start-up, saying how much it needs
--- http_config
    infer_model m1 $TEST_NGINX_MODELS/linear3.json;
    infer_model m2 $TEST_NGINX_MODELS/linear3.json;
    infer_model m3 $TEST_NGINX_MODELS/linear3.json;
    infer_model m4 $TEST_NGINX_MODELS/linear3.json;
    infer_metrics_zone 32k;
--- config
    location = /predict { infer m1; }
--- must_die
--- error_log eval
qr{infer_metrics_zone of 32768 bytes is too small for 4 models and 2 workers: it needs \d+}



=== TEST 8: buckets out of order
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_latency_buckets 0.1 0.01;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid bucket "0.01": give finite numbers in increasing order



=== TEST 9: an explicit zone size that fits
--- http_config
    infer_model t9 $TEST_NGINX_MODELS/linear3.json;
    infer_metrics_zone 1m;
--- config
    location = /predict { infer t9; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3]}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '^\{"prediction":6,', qr{^nginx_infer_requests_total\{model="t9",code="200"\} 1$}m ]
--- no_error_log
[alert]
[emerg]
