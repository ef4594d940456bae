# The log variables in nginx's own JSON access log: every line parses,
# and carries the model, the status, the batch and the trace.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a prediction's line
--- http_config
    include $TEST_NGINX_CONF/infer_log_format.conf;
    access_log logs/access.log infer_json;
    infer_model m $TEST_NGINX_MODELS/linear3.json version=2;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1,2,3.5],[0.5,1.5,2]]}
--- more_headers
Content-Type: application/json
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[6\.5,4\],
--- access_log eval
qr{"status":200,.*"model":"m","model_version":"2","infer_status":"ok","batch_size":2,"latency_us":\d+,"prediction":"6\.5","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"[0-9a-f]{16}","trace_sampled":0\}$}
--- no_error_log
[error]
[alert]



=== TEST 2: an error's line names the reason
--- http_config
    include $TEST_NGINX_CONF/infer_log_format.conf;
    access_log logs/access.log infer_json;
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- access_log eval
qr{"status":422,.*"model":"m","model_version":"1","infer_status":"bad_shape","batch_size":0,"latency_us":0,"prediction":"","trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}","trace_sampled":0\}$}
--- no_error_log
[alert]



=== TEST 3: a request the module did not serve still logs valid JSON
--- http_config
    include $TEST_NGINX_CONF/infer_log_format.conf;
    access_log logs/access.log infer_json;
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
    location = /hello { return 200 "hi\n"; }
--- request
GET /hello
--- error_code: 200
--- access_log eval
qr{"status":200,.*"model":"","model_version":"","infer_status":"","batch_size":0,"latency_us":0,"prediction":"","trace_id":"","span_id":"","trace_sampled":0\}$}
--- no_error_log
[error]
[alert]



=== TEST 4: $infer_prediction is the response's first number, as sent
--- http_config
    include $TEST_NGINX_CONF/infer_log_format.conf;
    access_log logs/access.log infer_json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json;
--- config
    location = /predict { infer two; }
--- request
POST /predict
{"instances":[[2,-1],[0,0]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[\[0\.880797088,0\.268941432\],\[0\.5,0\.5\]\],
--- access_log eval
qr{"model":"two","model_version":"1","infer_status":"ok","batch_size":2,"latency_us":\d+,"prediction":"0\.880797088",}
--- no_error_log
[error]
[alert]



=== TEST 5: a body the one-pass reader declines logs the same
--- http_config
    include $TEST_NGINX_CONF/infer_log_format.conf;
    access_log logs/access.log infer_json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json;
--- config
    location = /predict { infer two; }
--- request
POST /predict
{"id":"x","instances":[[2,-1],[0,0]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[\[0\.880797088,0\.268941432\],\[0\.5,0\.5\]\],
--- access_log eval
qr{"batch_size":2,"latency_us":\d+,"prediction":"0\.880797088",}
--- no_error_log
[error]
[alert]



=== TEST 6: a V2 request's prediction, which the module formats for the log
--- http_config
    include $TEST_NGINX_CONF/infer_log_format.conf;
    access_log logs/access.log infer_json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json;
--- config
    location /v2/ { infer_v2; }
--- request
POST /v2/models/two/infer
{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[2,-1]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
"data":\[0\.880797088,0\.268941432\]
--- access_log eval
qr{"model":"two","model_version":"1","infer_status":"ok","batch_size":1,"latency_us":\d+,"prediction":"0\.880797088",}
--- no_error_log
[error]
[alert]
