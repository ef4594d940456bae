# KServe V2 (Open Inference Protocol) REST: every endpoint, each datatype,
# nested and flat data, and the exact status and body of each error.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: server metadata
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"name":"ngx_http_infer_module","version":"0.1.0","extensions":["binary_tensor_data"]}
--- no_error_log
[error]
[alert]


=== TEST 2: server live
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/health/live
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"live":true}
--- no_error_log
[error]
[alert]


=== TEST 3: server ready: every model warmed up
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/health/ready
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"ready":true}
--- no_error_log
[error]
[alert]


=== TEST 4: model metadata
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/m
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"name":"m","versions":["1"],"platform":"linear","inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,3]}],"outputs":[{"name":"output-0","datatype":"FP32","shape":[-1,1]}]}
--- no_error_log
[error]
[alert]


=== TEST 5: model metadata with its version
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/two/versions/4
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"name":"two","versions":["4"],"platform":"linear","inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,2]}],"outputs":[{"name":"output-0","datatype":"FP32","shape":[-1,2]}]}
--- no_error_log
[error]
[alert]


=== TEST 6: model ready
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/m/ready
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"name":"m","ready":true}
--- no_error_log
[error]
[alert]


=== TEST 7: model ready with its version
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/two/versions/4/ready
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"name":"two","ready":true}
--- no_error_log
[error]
[alert]


=== TEST 8: unknown model
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/nope
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"unknown model \"nope\""}
--- no_error_log
[error]
[alert]


=== TEST 9: unknown version
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/two/versions/1
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"model \"two\" has no version \"1\""}
--- no_error_log
[error]
[alert]


=== TEST 10: unknown endpoint
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/foo
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"no V2 endpoint at \"/v2/foo\""}
--- no_error_log
[error]
[alert]


=== TEST 11: a name no model can have
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/a%20b
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"unknown model \"a b\": a model name has only A-Z a-z 0-9 . _ -"}
--- no_error_log
[error]
[alert]


=== TEST 12: FP32, flat, two rows, the id echoed
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"id":"r1","inputs":[{"name":"input-0","shape":[2,3],"datatype":"FP32","data":[1,2,3.5,0.5,1.5,2]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","id":"r1","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","data":[6.5,4]}]}
--- no_error_log
[error]
[alert]


=== TEST 13: FP64, nested, data before shape, a versioned path
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/two/versions/4/infer
{"inputs":[{"data":[[0,0],[2,-1]],"name":"x","shape":[2,2],"datatype":"FP64"}],"outputs":[{"name":"output-0"}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"two","model_version":"4","outputs":[{"name":"output-0","shape":[2,2],"datatype":"FP32","data":[0.5,0.5,0.880797088,0.268941432]}]}
--- no_error_log
[error]
[alert]


=== TEST 14: INT32, one row as shape [3]
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[3],"datatype":"INT32","data":[1,2,3]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","outputs":[{"name":"output-0","shape":[1,1],"datatype":"FP32","data":[6]}]}
--- no_error_log
[error]
[alert]


=== TEST 15: INT8
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"INT8","data":[-128,127,1]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","outputs":[{"name":"output-0","shape":[1,1],"datatype":"FP32","data":[0]}]}
--- no_error_log
[error]
[alert]


=== TEST 16: UINT64
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"UINT64","data":[1,2,18446744073709551615]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","outputs":[{"name":"output-0","shape":[1,1],"datatype":"FP32","data":[1.84467441e+19]}]}
--- no_error_log
[error]
[alert]


=== TEST 17: BOOL
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"BOOL","data":[true,false,true]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","outputs":[{"name":"output-0","shape":[1,1],"datatype":"FP32","data":[2]}]}
--- no_error_log
[error]
[alert]


=== TEST 18: an id with quotes is escaped
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"id":"a\"b","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","id":"a\"b","outputs":[{"name":"output-0","shape":[1,1],"datatype":"FP32","data":[1]}]}
--- no_error_log
[error]
[alert]


=== TEST 19: shape and data disagree
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3]}]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"error":"inputs[0]: shape [2,3] has 6 elements, data has 3"}
--- no_error_log
[error]
[alert]


=== TEST 20: shape and model disagree
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"error":"inputs[0]: the model takes 3 features, shape says 4"}
--- no_error_log
[error]
[alert]


=== TEST 21: BYTES
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"BYTES","data":[1,2,3]}]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"error":"inputs[0]: datatype BYTES is not supported, the model takes numbers"}
--- no_error_log
[error]
[alert]


=== TEST 22: out of range for UINT8
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"UINT8","data":[256,1,1]}]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"error":"inputs[0].data[0]: 256 is out of range for UINT8"}
--- no_error_log
[error]
[alert]


=== TEST 23: a fraction for INT32
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"INT32","data":[1,2.5,1]}]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"inputs[0].data[1]: expected INT32, got 2.5"}
--- no_error_log
[error]
[alert]


=== TEST 24: missing inputs
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"id":"a"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"missing \"inputs\""}
--- no_error_log
[error]
[alert]


=== TEST 25: an unknown output
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,1,1]}],"outputs":[{"name":"y"}]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"outputs[0]: unknown output \"y\", the model has \"output-0\""}
--- no_error_log
[error]
[alert]


=== TEST 26: not JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
^\{"error":"malformed JSON
--- no_error_log
[error]
[alert]


=== TEST 27: infer on an unknown model
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/nope/infer
{}
--- more_headers
Content-Type: application/json
--- error_code: 404
--- response_body chomp
{"error":"unknown model \"nope\""}
--- no_error_log
[error]
[alert]


=== TEST 28: GET on infer
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
GET /v2/models/m/infer
--- error_code: 405
--- response_headers
Allow: POST
--- response_body chomp
{"error":"method GET is not allowed: use POST"}
--- no_error_log
[error]
[alert]


=== TEST 29: POST on model metadata
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request
POST /v2/models/m
{}
--- more_headers
Content-Type: application/json
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body chomp
{"error":"method POST is not allowed: use GET, HEAD"}
--- no_error_log
[error]
[alert]


=== TEST 30: an overlong 2-byte id is refused, at its offset
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"' . "\xc0\xaf" . '","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 7: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 31: an overlong 3-byte id
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"' . "\xe0\x80\xaf" . '","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 7: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 32: a UTF-16 surrogate encoded in UTF-8
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"' . "\xed\xa0\x80" . '","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 7: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 33: a code point above U+10FFFF
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"' . "\xf4\x90\x80\x80" . '","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 7: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 34: after valid bytes, the offset is the bad sequence's
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"ok' . "\xc3\xa9\xc1\xbf" . '","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 11: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 35: an input's name is checked
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"inputs":[{"name":"a' . "\xed\xbf\xbf" . '","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 21: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 36: an output's name is checked
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}],"outputs":[{"name":"' . "\xc0\x80" . '"}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 90: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 37: a string in parameters, passed over, is checked
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}],"parameters":{"note":"' . "\xe0\x9f\xbf" . '"}}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 92: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 38: a key is checked
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}],"' . "\xf0\x8f\xbf\xbf" . '":1}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 71: invalid UTF-8 in a string"}
--- no_error_log
[error]
[alert]


=== TEST 39: an escaped lone high surrogate
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"\ud800","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 7: \\ud800 is a lone UTF-16 surrogate"}
--- no_error_log
[error]
[alert]


=== TEST 40: an escaped lone low surrogate
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"\udc00","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 7: \\udc00 is a lone UTF-16 surrogate"}
--- no_error_log
[error]
[alert]


=== TEST 41: a high surrogate, then no low one
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"a\ud83d\u0041","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 8: \\ud83d is a lone UTF-16 surrogate"}
--- no_error_log
[error]
[alert]


=== TEST 42: a high surrogate at the end of the string
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"a\udbff","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at byte 8: \\udbff is a lone UTF-16 surrogate"}
--- no_error_log
[error]
[alert]


=== TEST 43: valid UTF-8 is echoed as it came: 2, 3, 4 bytes, U+10FFFF, an escaped pair
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_model two $TEST_NGINX_MODELS/logistic2x2.json version=4;
--- config
    location /v2/ { infer_v2; }
    location = /v2 { infer_v2; }
--- request eval
"POST /v2/models/m/infer\n" . '{"id":"' . "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf" . '\ud83d\ude00","inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[0,0,1]}]}'
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body eval
'{"model_name":"m","model_version":"1","id":"' . "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80" . '","outputs":[{"name":"output-0","shape":[1,1],"datatype":"FP32","data":[1]}]}'
--- no_error_log
[error]
[alert]
