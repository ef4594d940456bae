# Configuration errors fail at start-up (and so `nginx -t`) with a message
# naming the model, the file and the reason.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a model file that does not exist
--- http_config
    infer_model m /nonexistent/model.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
infer_model "m": open() "/nonexistent/model.json" failed (2: No such file or directory)



=== TEST 2: a directory where a model file should be
--- http_config
    infer_model m $TEST_NGINX_MODELS;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{infer_model "m": read\(\) ".*/t/models" failed \(21: Is a directory\)}



=== TEST 3: malformed JSON
--- user_files
>>> bad.json
{"weights": [1, 2
--- http_config
    infer_model m $TEST_NGINX_SERVER_ROOT/html/bad.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{infer_model "m": cannot load ".*/html/bad\.json": malformed JSON near byte 18: parse error: premature EOF}



=== TEST 4: an empty file
--- user_files
>>> empty.json
--- http_config
    infer_model m $TEST_NGINX_SERVER_ROOT/html/empty.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{infer_model "m": cannot load ".*/html/empty\.json": the file is empty}



=== TEST 5: JSON that is no model format
--- user_files
>>> tree.json
{"trees": []}
--- http_config
    infer_model m $TEST_NGINX_SERVER_ROOT/html/tree.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/html/tree\.json": unknown model format}



=== TEST 6: a linear model with a misspelt key
--- user_files
>>> typo.json
{"weights": [1, 1], "bais": 0.5}
--- http_config
    infer_model m $TEST_NGINX_SERVER_ROOT/html/typo.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/html/typo\.json": unknown key "bais" in a linear model}



=== TEST 7: a weight that is not a number
--- user_files
>>> nan.json
{"weights": [1, "NaN", 1]}
--- http_config
    infer_model m $TEST_NGINX_SERVER_ROOT/html/nan.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{cannot load ".*/html/nan\.json": weights\[1\] is not a finite number}



=== TEST 8: a relative path is relative to the configuration's directory
--- http_config
    infer_model m models/absent.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{open\(\) ".*/conf/models/absent\.json" failed}



=== TEST 9: infer names a model that nobody declared
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer nope; }
--- must_die
--- error_log eval
qr{infer: unknown model "nope" in .*nginx\.conf:\d+}



=== TEST 10: a model declared twice
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model m $TEST_NGINX_MODELS/affine2.json;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
duplicate model "m"



=== TEST 11: a model name that would not survive a URL or a label
--- http_config
    infer_model "fraud/v2" $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer fraud; }
--- must_die
--- error_log
invalid model name "fraud/v2"



=== TEST 12: an unknown parameter
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json versoin=2;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid parameter "versoin=2"



=== TEST 13: an invalid version
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json "version=1 beta";
--- config
    location = /predict { infer m; }
--- must_die
--- error_log
invalid model version "1 beta"



=== TEST 14: an unknown format
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json format=pickle;
--- config
    location = /predict { infer m; }
--- must_die
--- error_log eval
qr{infer_model "m": cannot load ".*linear3\.json": unknown format "pickle"}



=== TEST 15: format=linear given explicitly loads
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json format=linear;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":6,
--- no_error_log
[error]
[alert]



=== TEST 16: infer_max_batch 0
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; infer_max_batch 0; }
--- must_die
--- error_log eval
qr{value must be between 1 and 1000000 in .*nginx\.conf}



=== TEST 17: two infer endpoints in one location
--- config
    location = /x { infer_health; infer_ready; }
--- must_die
--- error_log
"infer_ready" directive is duplicate: a location serves one infer endpoint



=== TEST 18: infer_model outside http (unknown there when loaded after main_config)
--- main_config
    infer_model m /tmp/m.json;
--- config
    location = /x { infer_health; }
--- must_die
--- error_log eval
qr{"infer_model" directive is not allowed here|unknown directive "infer_model"}
