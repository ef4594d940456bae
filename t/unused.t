# Loaded but not configured, the module changes nothing: no filter runs,
# nginx's own error pages stay HTML.

use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an ordinary location is untouched
--- config
    location = /hello { return 200 "hello\n"; }
--- request
GET /hello
--- error_code: 200
--- response_body
hello
--- no_error_log
[error]
[alert]



=== TEST 2: a 404 elsewhere stays nginx's HTML page
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
    location /static/ { }
--- request
GET /static/missing.html
--- error_code: 404
--- response_headers
Content-Type: text/html
--- response_body_like chomp
<center><h1>404 Not Found</h1></center>
--- error_log
open()



=== TEST 3: a 413 outside infer locations stays HTML
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
    location = /upload { client_max_body_size 8; return 200; }
--- request
POST /upload
0123456789abcdef
--- error_code: 413
--- response_headers
Content-Type: text/html
--- response_body_like chomp
413 Request Entity Too Large
