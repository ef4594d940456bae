# Directive order: infer may name a model declared further down the http
# block (in another server here, which comes first).  A file of its own:
# its one block always starts a fresh nginx, also in TEST_NGINX_USE_HUP.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: infer before the infer_model it names
--- config
    location = /predict { infer late; }
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/logs/late.sock;
        location = /x { infer late; }
    }
    infer_model late $TEST_NGINX_MODELS/linear3.json;
--- request
POST /predict
{"features":[1,1,1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":3,"model_name":"late",
--- no_error_log
[error]
[alert]
