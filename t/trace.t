# W3C trace context: a valid traceparent keeps its trace id and gets a new
# span id; an absent or invalid one starts a new trace.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the caller's trace id is kept, with a span of ours
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
--- error_code: 200
--- response_headers_like
traceparent: ^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$
--- no_error_log
[error]
[alert]



=== TEST 2: no traceparent: a new trace
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_headers_like
traceparent: ^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01$
--- no_error_log
[error]
[alert]



=== TEST 3: an all-zero trace id is invalid: a new trace
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01
--- error_code: 200
--- response_headers_like
traceparent: ^00-(?!0{32})[0-9a-f]{32}-[0-9a-f]{16}-01$
--- no_error_log
[error]
[alert]



=== TEST 4: uppercase hex is invalid: a new trace
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01
--- error_code: 200
--- response_headers_like
traceparent: ^00-(?!4bf92f3577b34da6a3ce929d0e0e4736)[0-9a-f]{32}-[0-9a-f]{16}-01$
--- no_error_log
[error]
[alert]



=== TEST 5: errors carry a trace too, and the caller's flags
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
GET /predict
--- more_headers
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00
--- error_code: 405
--- response_headers_like
traceparent: ^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$
--- no_error_log
[error]
[alert]
