# The trace exporter's configuration: what nginx -t refuses, naming the
# directive and the reason, and what it only warns about: a collector
# whose name does not resolve is no reason not to serve.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an endpoint that is not http or https
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_endpoint grpc://127.0.0.1:4317;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid infer_otel_endpoint "grpc://127.0.0.1:4317": give an http:// or https:// URL



=== TEST 2: a ratio above 1
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_sample 1.5;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid ratio "1.5": give a number from 0 (no new trace) to 1 (every one)



=== TEST 3: slow= without a time
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_sample 0.5 slow=soon;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid slow="soon": give a time such as 250ms



=== TEST 4: a header name that is no token
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_header "X Token" abc;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid header name "X Token"



=== TEST 5: service.name has its own directive
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_resource_attribute service.name x;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
cannot set service.name: use infer_otel_service_name



=== TEST 6: a collector whose name does not resolve: a warning, and serving
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_endpoint http://no-such-collector.invalid:4318/v1/traces;
    infer_otel_interval 10ms;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3.5]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
"prediction":6\.5
--- error_log
infer_otel_endpoint "http://no-such-collector.invalid:4318/v1/traces": host not found: spans will be dropped until a reload resolves it
--- no_error_log
[alert]
[crit]



=== TEST 7: an unknown protocol
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_protocol grpc;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid value "grpc"
