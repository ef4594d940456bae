# EXPECT-FAIL: ERROR: client socket timed out - 
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: stalled response
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
--- error_code:
