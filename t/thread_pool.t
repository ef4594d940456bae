# infer_thread_pool: evaluation on nginx's thread pool.  threshold=0us
# sends every request there, so the answers below come from a thread.
# The module logs "on a thread" when it offloads (nginx itself posts
# tasks to the pool when a worker exits: those are not ours).

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a single row evaluated on the pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=0us; infer m; }
--- request
POST /predict
{"features":[1.0,2.0,3.5]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":6\.5,"model_name":"m","model_version":"1","latency_ms":\d+\.\d{3}\}$
--- error_log eval
[qr/\[debug\] .*infer: 1 rows of model "m" on a thread/,
 qr/\[debug\] .*complete task #\d+ in thread pool "infer"/]
--- no_error_log
[error]
[alert]



=== TEST 2: a batch on the pool, inherited from http
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool infer threshold=0us;
--- config
    location = /predict { infer m; }
--- request eval
"POST /predict\n" . '{"instances":[' . join(',', map { "[$_,1,-1]" } 0..999) . ']}'
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like eval
'^\{"predictions":\[' . join(',', 0..999) . '\],'
--- no_error_log
[error]
[alert]



=== TEST 3: V2 on the pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool infer threshold=0us;
--- config
    location /v2/ { infer_v2; }
--- request
POST /v2/models/m/infer
{"id":"t","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3.5,0.5,1.5,2]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","id":"t","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","data":[6.5,4]}]}
--- no_error_log
[error]
[alert]



=== TEST 4: an output that overflows, from a thread: still a 422
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=0us; infer m; }
--- request
POST /predict
{"features":[3e38,3e38,3e38]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"error":"the model's output for row 0 is not a finite number"}
--- no_error_log
[error]
[alert]



=== TEST 5: below the threshold the request stays inline
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=1s; infer m; }
--- request
POST /predict
{"features":[1,1,1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":3,
--- no_error_log
on a thread
[error]
[alert]



=== TEST 6: off, in a location, undoes an inherited pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool infer threshold=0us;
--- config
    location = /predict { infer_thread_pool off; infer m; }
--- request
POST /predict
{"features":[1,1,1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":3,
--- no_error_log
on a thread
[error]
[alert]



=== TEST 7: a pool nobody declared fails at start-up
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool nosuch; infer m; }
--- must_die
--- error_log
unknown thread pool "nosuch"



=== TEST 8: a bad threshold
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=fast; infer m; }
--- must_die
--- error_log
invalid threshold "fast": use a time in us or ms, such as 50us
