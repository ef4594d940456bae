# Every bad input to the simple protocol: its exact status and JSON body,
# no [alert] and no crashed worker.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: malformed JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"malformed JSON at the end: parse error: premature EOF"}
--- no_error_log
[error]
[alert]


=== TEST 2: a lexical error, with its byte
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2;3]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"malformed JSON near byte 17: lexical error: invalid char in json text."}
--- no_error_log
[error]
[alert]


=== TEST 3: NaN is not JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[NaN,1,2]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"malformed JSON near byte 14: lexical error: invalid char in json text."}
--- no_error_log
[error]
[alert]


=== TEST 4: Infinity is not JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,Infinity,2]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"malformed JSON near byte 16: lexical error: invalid char in json text."}
--- no_error_log
[error]
[alert]


=== TEST 5: trailing garbage
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"malformed JSON near byte 21: parse error: trailing garbage"}
--- no_error_log
[error]
[alert]


=== TEST 6: an array at the top
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
[1,2,3]
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"the request must be a JSON object, not an array"}
--- no_error_log
[error]
[alert]


=== TEST 7: a string at the top
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
"features"
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"the request must be a JSON object, not a string"}
--- no_error_log
[error]
[alert]


=== TEST 8: no features
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"feature":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"missing \"features\" or \"instances\""}
--- no_error_log
[error]
[alert]


=== TEST 9: features is not an array
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":{"a":1}}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"\"features\" must be an array of numbers, not an object"}
--- no_error_log
[error]
[alert]


=== TEST 10: a string element
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,"2",3]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"features[1] must be a number, not a string"}
--- no_error_log
[error]
[alert]


=== TEST 11: a boolean element
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,false]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"features[2] must be a number, not a boolean"}
--- no_error_log
[error]
[alert]


=== TEST 12: null where the model takes no missing values
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[null,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"features[0] must be a number, not null"}
--- no_error_log
[error]
[alert]


=== TEST 13: features nested one level too deep
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[[1,2,3]]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"features[0] must be a number, not an array"}
--- no_error_log
[error]
[alert]


=== TEST 14: instances nested too deep
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[[1,2,3]]]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"instances[0][0] must be a number, not an array"}
--- no_error_log
[error]
[alert]


=== TEST 15: nesting too deep in an ignored member
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"nesting deeper than 32 levels"}
--- no_error_log
[error]
[alert]


=== TEST 16: features and instances both
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3],"instances":[[1,2,3]]}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"give one \"features\" or one \"instances\""}
--- no_error_log
[error]
[alert]


=== TEST 17: 1e999 overflows
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,1e999]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"features[2]: 1e999 is not a finite 32-bit float"}
--- no_error_log
[error]
[alert]


=== TEST 18: a double that overflows a float
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1,2,3],[4e38,0,0]]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"instances[1][0]: 4e38 is not a finite 32-bit float"}
--- no_error_log
[error]
[alert]


=== TEST 19: an output that overflows
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[3e38,3e38,3e38]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"the model's output for row 0 is not a finite number"}
--- no_error_log
[error]
[alert]


=== TEST 20: too few features
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"\"features\" has 2 features, the model takes 3"}
--- no_error_log
[error]
[alert]


=== TEST 21: too many features
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3,4]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"\"features\" has 4 features, the model takes 3"}
--- no_error_log
[error]
[alert]


=== TEST 22: a short row in a batch
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1,2,3],[4,5]]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"instances[1] has 2 features, the model takes 3"}
--- no_error_log
[error]
[alert]


=== TEST 23: an empty batch
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"\"instances\" is empty"}
--- no_error_log
[error]
[alert]


=== TEST 24: an empty body
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
--- more_headers
Content-Type: application/json
Content-Length: 0
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"empty request body"}
--- no_error_log
[error]
[alert]



=== TEST 25: GET on predict
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
GET /predict
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body chomp
{"error":"method GET is not allowed: use POST"}
--- no_error_log
[error]
[alert]



=== TEST 26: POST on health
--- config
    location = /health { infer_health; }
--- request
POST /health
{"x":1}
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body chomp
{"error":"method POST is not allowed: use GET, HEAD"}
--- no_error_log
[error]
[alert]



=== TEST 27: PUT on ready
--- config
    location = /ready { infer_ready; }
--- request
PUT /ready
{}
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body chomp
{"error":"method PUT is not allowed: use GET, HEAD"}
--- no_error_log
[error]
[alert]



=== TEST 28: no Content-Type
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- error_code: 415
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"Content-Type must be application/json"}
--- no_error_log
[error]
[alert]



=== TEST 29: a form instead of JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
features=1,2,3
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 415
--- response_body chomp
{"error":"Content-Type must be application/json"}
--- no_error_log
[error]
[alert]



=== TEST 30: a look-alike type
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/jsonp
--- error_code: 415
--- response_body chomp
{"error":"Content-Type must be application/json"}
--- no_error_log
[error]
[alert]



=== TEST 31: a body over client_max_body_size: nginx's 413, as JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { client_max_body_size 64; infer m; }
--- request eval
"POST /predict\n" . '{"instances":[' . join(',', ('[1,2,3]') x 20) . ']}'
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"request body too large: the limit is client_max_body_size"}
--- error_log
client intended to send too large body
--- no_error_log
[alert]



=== TEST 32: a chunked body over client_max_body_size
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { client_max_body_size 64; infer m; }
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
50\r
" . ('{"instances":[' . join(',', ('[1,2,3]') x 10) . ']}' . (' ' x 80) ) =~ s/^(.{80}).*/$1/sr . "\r
0\r
\r
"
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"request body too large: the limit is client_max_body_size"}
--- error_log
client intended to send too large chunked body
--- no_error_log
[alert]



=== TEST 33: a batch over infer_max_batch
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    infer_max_batch 2;
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1,2,3],[1,2,3],[1,2,3]]}
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body chomp
{"error":"the batch has more than 2 rows"}
--- no_error_log
[error]
[alert]



=== TEST 34: infer_max_batch inherited from http, a batch at the limit
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_max_batch 3;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1,2,3],[1,2,3],[1,2,3]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[6,6,6\],
--- no_error_log
[error]
[alert]



=== TEST 35: a valid chunked body
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
7\r
{\"featu\r
d\r
res\":[1,2,3]}\r
0\r
\r
"
--- error_code: 200
--- response_body_like chomp
^\{"prediction":6,
--- no_error_log
[error]
[alert]



=== TEST 36: a broken chunked body: nginx's 400, as JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: chunked\r
\r
zz\r
{}\r
0\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent invalid chunked body
--- no_error_log
[alert]



=== TEST 37: an error_page still wins over the JSON error filter
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict {
        client_max_body_size 16;
        error_page 413 = /too-big;
        infer m;
    }
    location = /too-big { return 200 "custom\n"; }
--- request
POST /predict
{"features":[1,2,3],"pad":"xxxxxxxxxxxxxxxxxxxxx"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body
custom
--- no_error_log
[alert]
