# The simple protocol end to end: single rows, batches, several outputs,
# the response's fields, and the health and readiness endpoints.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a single row
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1.0,2.0,3.5]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like chomp
^\{"prediction":6\.5,"model_name":"m","model_version":"1","latency_ms":\d+\.\d{3},"trace_id":"[0-9a-f]{32}"\}$
--- no_error_log
[error]
[alert]



=== TEST 2: the second example row, and a version from the directive
--- http_config
    infer_model fraud $TEST_NGINX_MODELS/linear3.json version=3;
--- config
    location = /predict { infer fraud; }
--- request
POST /predict
{"features":[0.5,1.5,2.0]}
--- more_headers
Content-Type: application/json; charset=utf-8
--- error_code: 200
--- response_body_like chomp
^\{"prediction":4,"model_name":"fraud","model_version":"3","latency_ms":\d+\.\d{3},"trace_id":"[0-9a-f]{32}"\}$
--- no_error_log
[error]
[alert]



=== TEST 3: a batch
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1.0,2.0,3.5],[0.5,1.5,2.0],[-1,-2,-3],[1e-3,0,0]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[6\.5,4,-6,0\.001\],"model_name":"m","model_version":"1","latency_ms":\d+\.\d{3},"trace_id":"[0-9a-f]{32}"\}$
--- no_error_log
[error]
[alert]



=== TEST 4: several outputs: an array per row, the logistic link
--- http_config
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json;
--- config
    location = /predict { infer two; }
--- request
POST /predict
{"instances":[[0,0],[2,-1]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[\[0\.5,0\.5\],\[0\.880797088,0\.268941432\]\],"model_name":"two","model_version":"1","latency_ms":\d+\.\d{3},"trace_id":"[0-9a-f]{32}"\}$
--- no_error_log
[error]
[alert]



=== TEST 5: one row of a model with several outputs
--- http_config
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json;
--- config
    location = /predict { infer two; }
--- request
POST /predict
{"features":[0,0]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":\[0\.5,0\.5\],"model_name":"two",
--- no_error_log
[error]
[alert]



=== TEST 6: members other than features are the client's, and ignored
--- http_config
    infer_model a $TEST_NGINX_MODELS/affine2.json;
--- config
    location = /predict { infer a; }
--- request
POST /predict
{"id":"req-1","parameters":{"deep":[{"x":[1,2,{"y":null}]},true]},"features":[2,-1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":5\.25,"model_name":"a",
--- no_error_log
[error]
[alert]



=== TEST 7: several models, several locations
--- http_config
    infer_model lin $TEST_NGINX_MODELS/linear3.json version=7;
    infer_model aff $TEST_NGINX_MODELS/affine2.json;
--- config
    location = /lin { infer lin; }
    location = /aff { infer aff; }
--- request
POST /aff
{"features":[1,1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":1\.25,"model_name":"aff","model_version":"1",
--- no_error_log
[error]
[alert]



=== TEST 8: health
--- config
    location = /health { infer_health; }
--- request
GET /health
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"status":"ok","version":"0.1.0"}
--- no_error_log
[error]
[alert]



=== TEST 9: health answers HEAD with headers only
--- config
    location = /health { infer_health; }
--- request
HEAD /health
--- error_code: 200
--- response_headers
Content-Type: application/json
Content-Length: 33
--- response_body
--- no_error_log
[error]
[alert]



=== TEST 10: ready lists every model, warmed up by this worker
--- http_config
    infer_model lin $TEST_NGINX_MODELS/linear3.json version=2;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json;
--- config
    location = /ready { infer_ready; }
--- request
GET /ready
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"status":"ready","models":[{"name":"lin","version":"2","ready":true},{"name":"two","version":"1","ready":true}]}
--- no_error_log
[error]
[alert]



=== TEST 11: ready with no model at all
--- config
    location = /ready { infer_ready; }
--- request
GET /ready
--- error_code: 200
--- response_body chomp
{"status":"ready","models":[]}
--- no_error_log
[error]
[alert]



=== TEST 12: keepalive: two predictions on one connection
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- pipelined_requests eval
["POST /predict\n{\"features\":[1,2,3]}", "POST /predict\n{\"features\":[4,5,6]}"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"prediction":6,', '^\{"prediction":15,']
--- no_error_log
[error]
[alert]
