# nginx's own errors, sent before any location runs (or where no location
# matched), through error_page to a location of infer_error: the status
# nginx chose, application/json and {"error":...}.  Without an error_page
# they stay nginx's HTML.  An infer location keeps answering its own
# errors, and counting them, under a server-level error_page.
#
# Each block without a "--- config" gets the server of conf/nginx.conf:
# error_page with a URI, not a named location (TEST 16), and without "="
# (TEST 17) but for 494, which error_page turns into 400 otherwise (TEST 7).

use Test::Nginx::Socket 'no_plan';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value(http_config =>
        "    infer_model m \$TEST_NGINX_MODELS/linear3.json;\n")
        unless defined $block->http_config;

    $block->set_value(config => <<'_EOC_') unless defined $block->config;
    large_client_header_buffers  2 1k;

    error_page  400 404 405 413 414 501 505  /infer-error;
    error_page  494 =494  /infer-error;

    location = /infer-error { internal; infer_error; }
    location = /predict     { infer m; }
    location = /metrics     { infer_metrics; }
_EOC_
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Transfer-Encoding other than chunked: nginx's 501, as JSON
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: gzip\r
\r
"
--- error_code: 501
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"Transfer-Encoding other than chunked is not implemented"}
--- error_log
client sent unknown "Transfer-Encoding": "gzip"
--- no_error_log
[error]
[alert]



=== TEST 2: Content-Length and chunked together: 400
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Content-Length: 5\r
Transfer-Encoding: chunked\r
\r
0\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent "Content-Length" and "Transfer-Encoding" headers at the same time
--- no_error_log
[error]
[alert]



=== TEST 3: a negative Content-Length: 400
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Content-Length: -1\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent invalid "Content-Length" header
--- no_error_log
[error]
[alert]



=== TEST 4: a control character in the URI: 400, before nginx has a URI
--- raw_request eval
"GET /pre\x01dict HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent invalid request
--- no_error_log
[error]
[alert]



=== TEST 5: a space in the URI: 400
--- raw_request eval
"GET /pre dict HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent invalid
--- no_error_log
[error]
[alert]



=== TEST 6: a header over large_client_header_buffers: nginx's 494, sent as 400
--- raw_request eval
"GET /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
X-Big: " . ("a" x 2000) . "\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"request header or cookie too large: the limit is large_client_header_buffers"}
--- error_log
client sent too long header line
--- no_error_log
[error]
[alert]



=== TEST 7: without "=494", error_page gets the 494 as the 400 nginx sends
--- config
    large_client_header_buffers  2 1k;
    error_page  400 494  /infer-error;
    location = /infer-error { internal; infer_error; }
--- raw_request eval
"GET / HTTP/1.1\r
Host: localhost\r
Connection: close\r
X-Big: " . ("a" x 2000) . "\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent too long header line
--- no_error_log
[error]
[alert]



=== TEST 8: a URI over large_client_header_buffers: 414
--- raw_request eval
"GET /" . ("a" x 3000) . " HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 414
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"request URI too long: the limit is large_client_header_buffers"}
--- error_log
client sent too long URI
--- no_error_log
[error]
[alert]



=== TEST 9: a request line that is no request line: 400
--- raw_request eval
"GARBAGE\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent invalid method
--- no_error_log
[error]
[alert]



=== TEST 10: an HTTP version nginx does not speak: 505
--- raw_request eval
"GET /predict HTTP/2.0\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 505
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"HTTP version not supported"}
--- error_log
client sent invalid version
--- no_error_log
[error]
[alert]



=== TEST 11: TRACE: nginx's 405
--- raw_request eval
"TRACE /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 405
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"method not allowed"}
--- error_log
client sent TRACE method
--- no_error_log
[error]
[alert]



=== TEST 12: HTTP/1.1 without Host: 400
--- raw_request eval
"GET /predict HTTP/1.1\r
Connection: close\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- error_log
client sent HTTP/1.1 request without "Host" header
--- no_error_log
[error]
[alert]



=== TEST 13: a path no location serves: 404, and the error location is internal
--- request eval
[ "GET /nope", "GET /infer-error" ]
--- error_code eval
[ 404, 404 ]
--- response_headers eval
[ "Content-Type: application/json", "Content-Type: application/json" ]
--- response_body eval
[ '{"error":"not found"}', '{"error":"not found"}' ]
--- no_error_log
[alert]



=== TEST 14: without an error_page, nginx's own HTML page
--- config
    location = /predict { infer m; }
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Transfer-Encoding: gzip\r
\r
"
--- error_code: 501
--- response_headers
Content-Type: text/html
--- response_body_like chomp
^<html>\s+<head><title>501 Not Implemented</title></head>
--- no_error_log
[error]
[alert]



=== TEST 15: a named location gets the errors nginx sends with a URI ...
--- config
    error_page  400 501  @infer_error;
    location @infer_error { infer_error; }
    location = /predict   { infer m; }
--- raw_request eval
"POST /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/json\r
Content-Length: -1\r
\r
"
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"bad request"}
--- no_error_log
[error]
[alert]



=== TEST 16: ... but not those of the request line: nginx's 500 and HTML
--- config
    error_page  400 501  @infer_error;
    location @infer_error { infer_error; }
    location = /predict   { infer m; }
--- raw_request eval
"GET /pre\x01dict HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 500
--- response_headers
Content-Type: text/html
--- error_log
empty URI in redirect to named location "@infer_error"
--- no_error_log
[alert]



=== TEST 17: "=" drops nginx's status: a 500, and the error log says why
--- config
    error_page  400 = /infer-error;
    location = /infer-error { internal; infer_error; }
--- raw_request eval
"GET / HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: -1\r
\r
"
--- error_code: 500
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"internal server error"}
--- error_log
infer_error: no error status to answer
--- no_error_log
[alert]



=== TEST 18: HEAD: the status and the headers, no body
--- raw_request eval
"HEAD /predict HTTP/1.1\r
Host: localhost\r
Connection: close\r
Transfer-Encoding: gzip\r
\r
"
--- error_code: 501
--- response_headers
Content-Type: application/json
Content-Length: 67
--- response_body chomp
--- no_error_log
[error]
[alert]



=== TEST 19: an infer location under the server's error_page answers and counts its own errors
nginx's 413 for a chunked body the module reads and for a Content-Length
(before the module runs: no traceparent, but counted), its 400 for a
broken chunked body: each the filter's JSON, in the metrics, and nothing
left in flight.  A redirect to /infer-error would lose the module's ctx.
--- config
    error_page  400 404 405 413 414 501 505  /infer-error;

    location = /infer-error { internal; infer_error; }
    location = /predict     { client_max_body_size 16; infer m; }
    location = /metrics     { infer_metrics; }
--- request eval
[ "POST /predict\n20\r\n{\"features\":[1,2,3],\"pad\":\"xxxxx\r\n0\r\n\r\n",
  "POST /predict\n{\"features\":[1,2,3],\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}",
  "POST /predict\nzz\r\n{}\r\n0\r\n\r\n",
  "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/json\nTransfer-Encoding: chunked",
  "Content-Type: application/json",
  "Content-Type: application/json\nTransfer-Encoding: chunked",
  "" ]
--- error_code eval
[ 413, 413, 400, 200 ]
--- response_headers_like eval
[ "Content-Type: application/json\ntraceparent: ^00-[0-9a-f]{32}-[0-9a-f]{16}-01\$",
  "Content-Type: application/json\ntraceparent: ^\$",
  "Content-Type: application/json\ntraceparent: ^00-[0-9a-f]{32}-[0-9a-f]{16}-01\$",
  "Content-Type: text/plain.*" ]
--- response_body_like eval
[ '^\{"error":"request body too large: the limit is client_max_body_size"\}$',
  '^\{"error":"request body too large: the limit is client_max_body_size"\}$',
  '^\{"error":"bad request"\}$',
  qr{(?=.*^nginx_infer_requests_total\{model="m",code="413"\}[ ]2$)
     (?=.*^nginx_infer_requests_total\{model="m",code="400"\}[ ]1$)
     (?=.*^nginx_infer_errors_total\{model="m",reason="too_large"\}[ ]2$)
     (?=.*^nginx_infer_requests_in_flight\{model="m"\}[ ]0$)}msx ]
--- no_error_log
[alert]



=== TEST 20: an error_page set inside an infer location: the redirected request is still finished
The location's own error_page sends nginx's 413 and 400 to /infer-error;
the redirect zeroes the module's ctx, which the log phase finds again (a
pool cleanup, where the location has an error_page): each is counted
with its status and reason, and nothing is left in flight.  A model of
its own (m20): under TEST_NGINX_USE_HUP the zone keeps the counts of the
blocks before.
--- http_config
    infer_model m20 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /infer-error { internal; infer_error; }
    location = /predict {
        client_max_body_size  24;
        error_page  400 413  /infer-error;
        infer m20;
    }
    location = /metrics     { infer_metrics; }
--- request eval
[ "POST /predict\n20\r\n{\"features\":[1,2,3],\"pad\":\"xxxxx\r\n0\r\n\r\n",
  "POST /predict\nzz\r\n{}\r\n0\r\n\r\n",
  "POST /predict\n{\"features\":[1,2,3]}",
  "GET /metrics" ]
--- more_headers eval
[ "Content-Type: application/json\nTransfer-Encoding: chunked",
  "Content-Type: application/json\nTransfer-Encoding: chunked",
  "Content-Type: application/json",
  "" ]
--- error_code eval
[ 413, 400, 200, 200 ]
--- response_headers_like eval
[ "Content-Type: application/json",
  "Content-Type: application/json",
  "Content-Type: application/json",
  "Content-Type: text/plain.*" ]
--- response_body_like eval
[ '^\{"error":".+"\}$',
  '^\{"error":".+"\}$',
  '^\{"prediction":6,',
  qr{(?=.*^nginx_infer_requests_total\{model="m20",code="413"\}[ ]1$)
     (?=.*^nginx_infer_requests_total\{model="m20",code="400"\}[ ]1$)
     (?=.*^nginx_infer_requests_total\{model="m20",code="200"\}[ ]1$)
     (?=.*^nginx_infer_errors_total\{model="m20",reason="too_large"\}[ ]1$)
     (?=.*^nginx_infer_requests_in_flight\{model="m20"\}[ ]0$)}msx ]
--- no_error_log
[alert]
