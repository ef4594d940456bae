# A master and two workers: each worker warms every model up and serves.

use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
repeat_each(4);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: predictions with two workers
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1.0,2.0,3.5],[0.5,1.5,2.0]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[6\.5,4\],"model_name":"m","model_version":"1",
--- no_error_log
[error]
[alert]
[emerg]



=== TEST 2: every worker is ready
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /ready { infer_ready; }
--- request
GET /ready
--- error_code: 200
--- response_body chomp
{"status":"ready","models":[{"name":"m","version":"1","ready":true}]}
--- no_error_log
[error]
[alert]



=== TEST 3: bad input on either worker: a 4xx, never a crash
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,"x"]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"features[2] must be a number, not a string"}
--- no_error_log
[alert]
exited on signal
