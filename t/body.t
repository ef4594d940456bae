# Request bodies as nginx hands them over: in several buffers, in a
# temporary file (larger than client_body_buffer_size), file-only.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 2000 rows through a temporary file
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict {
        client_body_buffer_size 1k;
        client_body_temp_path $TEST_NGINX_SERVER_ROOT/body_temp;
        infer_max_batch 2000;
        infer m;
    }
--- request eval
"POST /predict\n" . '{"instances":[' . join(',', map { "[$_,0.5,-0.5]" } 0..1999) . ']}'
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like eval
'^\{"predictions":\[' . join(',', 0..1999) . '\],"model_name":"m",'
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]
[alert]



=== TEST 2: a body file larger than one read: 12000 rows, 150 KB
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict {
        client_body_buffer_size 4k;
        client_body_temp_path $TEST_NGINX_SERVER_ROOT/body_temp;
        infer_max_batch 12000;
        infer m;
    }
--- request eval
"POST /predict\n" . '{"instances":[' . join(',', map { "[$_,   1.25,  -1.25]" } 0..11999) . ']}'
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like eval
'^\{"predictions":\[0,1,2,.*,11998,11999\],"model_name":"m",'
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]
[alert]



=== TEST 3: client_body_in_file_only: even a small body comes from a file
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict {
        client_body_in_file_only clean;
        client_body_temp_path $TEST_NGINX_SERVER_ROOT/body_temp;
        infer m;
    }
--- request
POST /predict
{"features":[1.0,2.0,3.5]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":6\.5,"model_name":"m",
--- no_error_log
[error]
[alert]



=== TEST 4: a malformed body in a temporary file: 400, the file is read no further
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict {
        client_body_buffer_size 1k;
        client_body_temp_path $TEST_NGINX_SERVER_ROOT/body_temp;
        infer m;
    }
--- request eval
"POST /predict\n" . '{"instances":[[1,2,3],[1,2,x' . (' ' x 5000) . ']]}'
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON near byte 28: lexical error: invalid char in json text."}
--- no_error_log
[alert]



=== TEST 5: a chunked body split across many chunks
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- raw_request eval
my $body = '{"instances":[' . join(',', map { "[$_,1,-1]" } 0..99) . ']}';
my $req = "POST /predict HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
while (length $body) {
    my $part = substr($body, 0, 7, '');
    $req .= sprintf("%x\r\n%s\r\n", length $part, $part);
}
$req . "0\r\n\r\n"
--- error_code: 200
--- response_body_like eval
'^\{"predictions":\[' . join(',', 0..99) . '\],'
--- no_error_log
[error]
[alert]



=== TEST 6: a body pretty-printed over lines, read by the one-pass reader
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request eval
"POST /predict\n{\r\n  \"instances\" : [\n    [ 1.5e0, -2 ,0.25 ],\n\t[0,0,1e1]\n  ]\n}\n"
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"predictions":\[-0\.25,10\],"model_name":"m",
--- no_error_log
[error]
[alert]
