# vim:set ft= ts=4 sw=4 et:
#
# Self-test of the compat Test::Nginx runner in t/compat/lib.  It only
# uses stock nginx features (no project module), so it is meant to pass
# with the compat runner and with the real Test::Nginx from CPAN alike:
#
#   prove -I t/compat/lib t/compat/selftest.t
#   TEST_NGINX_USE_HUP=1 prove -I t/compat/lib t/compat/selftest.t
#   TEST_NGINX_USE_VALGRIND=1 prove -I t/compat/lib t/compat/selftest.t
#     (needs ./valgrind.suppress, see t/compat/valgrind.suppress)
#
# Needs an nginx built --with-debug (TEST 17 matches a debug message).
# Under the real Test::Nginx, the must_die error_log checks (TEST 8, 9)
# also need an nginx whose default error log is not stderr (Debian's
# is); see "Known differences" in README.md.
#
# t/compat/negative/ holds specs that must FAIL (see README.md).

use Test::Nginx::Socket;

master_on();
workers(2);
repeat_each(2);

# Each block says how many tests it runs per repetition; they add up to 54.
plan tests => repeat_each() * 54;

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();
$ENV{TEST_NGINX_COMPAT_GREETING} = 'hi there';

run_tests();

__DATA__

=== TEST 1: plain return, trailing newline kept by default
# 2 tests: status, body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello



=== TEST 2: inline values, chomp filter, comment lines in request
# 2 tests: status, body
--- config
    location = /t {
        return 404;
    }
--- request
    # a comment before the request line is allowed
    GET /t HTTP/1.0
--- error_code: 404
--- response_body_like: ^<html>.*404 Not Found.*</html>\s*$



=== TEST 3: response_headers, present and absent
# 4 tests: status, 2 headers, body
--- config
    location = /t {
        add_header X-Foo "bar baz";
        return 200 "ok";
    }
--- request
GET /t
--- response_headers
X-Foo: bar baz
!X-Bar
--- response_body chomp
ok



=== TEST 4: response_headers_like
# 3 tests: status, header, body
--- config
    location = /t {
        add_header X-Num "n-12345";
        return 200 "ok\n";
    }
--- request
GET /t
--- response_headers_like
X-Num: n-\d+
--- response_body eval
"ok\n"



=== TEST 5: request body with more_headers
# 2 tests: status, body
# The trailing newline of the body is not sent (Content-Length 28), and
# a Content-Type from more_headers is passed through.
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length type=$http_content_type\n";
    }
--- more_headers
Content-Type: application/x-compat
X-Ignored: yes
--- request
POST /t
hello world, this is a body.
--- response_body
len=28 type=application/x-compat



=== TEST 6: missing file gives [error] open() failed
# 3 tests: status, 2 error_log patterns
--- config
--- request
GET /does-not-exist.html
--- error_code: 404
--- error_log
open() "
No such file or directory



=== TEST 7: no_error_log with eval (string and regex)
# 4 tests: status, body, 2 no_error_log patterns
--- config
    location = /t {
        return 200 "fine\n";
    }
--- request
GET /t
--- response_body
fine
--- no_error_log eval
["[error]", qr/\[(?:alert|crit|emerg)\]/]



=== TEST 8: must_die with an unknown directive
# 2 tests: died, error_log
--- config
    location = /t {
        compat_bogus_directive on;
    }
--- must_die
--- error_log
unknown directive "compat_bogus_directive"



=== TEST 9: must_die with the expected exit code
# 2 tests: exit code, error_log
--- config
    location = /t {
        return 200;
        return;
    }
--- must_die: 1
--- error_log
invalid number of arguments in "return" directive



=== TEST 10: user_files served by the default location /
# 2 tests: status, body
--- user_files
>>> sub/dir/file.txt
hello from a user file
>>> other.txt
other
--- config
--- request
GET /sub/dir/file.txt
--- response_body
hello from a user file



=== TEST 11: big request body from request eval, buffered to a file
# 3 tests: status, body, error_log
--- config
    location = /t {
        client_body_buffer_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "len=$http_content_length\n";
    }
--- request eval
"POST /t\n" . ("a" x 100_000)
--- response_body
len=100000
--- error_log
a client request body is buffered to a temporary file



=== TEST 12: $TEST_NGINX_* substitution in config and http_config
# 3 tests: status, header, body
--- http_config
    map $uri $compat_greeting {
        default "$TEST_NGINX_COMPAT_GREETING";
    }
--- config
    location = /t {
        alias $TEST_NGINX_HTML_DIR/index.html;
        add_header X-Greeting $compat_greeting;
    }
--- request
GET /t
--- response_headers
X-Greeting: hi there
--- response_body_like: It works!



=== TEST 13: several requests in one block
# 4 tests: 2 x (status, body)
--- config
    location = /a { return 200 "A\n"; }
    location = /b { return 201 "B\n"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["A\n", "B\n"]



=== TEST 14: raw_request
# 2 tests: status, body
--- config
    location = /t {
        return 200 "raw $http_x_raw\n";
    }
--- raw_request eval
"GET /t HTTP/1.1\r
Host: localhost\r
X-Raw: yes\r
Connection: close\r
\r
"
--- response_body
raw yes



=== TEST 15: chunked response is decoded
# 3 tests: status, header, body
--- user_files
>>> page.html
say hello to the world
--- config
    location = /page.html {
        root $TEST_NGINX_HTML_DIR;
        sub_filter 'hello' 'goodbye';
    }
--- request
GET /page.html
--- response_headers
Transfer-Encoding: chunked
--- response_body
say goodbye to the world



=== TEST 16: HEAD request, empty body expected
# 3 tests: status, header, body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
HEAD /t
--- response_headers
Content-Length: 6
--- response_body



=== TEST 17: main_config, wait and an error_log regex from eval
# 3 tests: status, body, error_log
--- main_config
worker_shutdown_timeout 10s;
--- config
    location = /t {
        return 200 "ok\n";
    }
--- request
GET /t?compat_marker=1
--- wait: 0.1
--- response_body
ok
--- error_log eval
qr/http args: "compat_marker=\d"/



=== TEST 18: client timeout with --- abort is not a failure
# 1 test: status (there is none: nginx still waits for the rest of the
# request body when the client gives up after 500ms)
--- config
    location = /t {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "unreachable\n";
    }
--- raw_request eval
"POST /t HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Length: 100\r
\r
only part of the body"
--- timeout: 500ms
--- abort
--- error_code:



=== TEST 19: pipelined requests on one keep-alive connection
# 6 tests: 2 x (status, body, no_error_log): upstream also checks the
# logs after each intermediate response
--- config
    location = /a { return 200 "A\n"; }
    location = /b { return 200 "B $http_connection\n"; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]
--- response_body eval
["A\n", "B close\n"]
--- no_error_log
[error]



=== TEST 20: skipped, its wrong expectation must not run
--- SKIP
--- config
    location = /t {
        return 200 "real\n";
    }
--- request
GET /t
--- response_body
this would fail
