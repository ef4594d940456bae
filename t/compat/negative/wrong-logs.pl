# EXPECT-FAIL: TEST 1: pattern never logged - pattern "this text is never logged" should match a line in error.log
# EXPECT-FAIL: TEST 2: unexpected error - pattern "[error]" should not match any line in error.log
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: pattern never logged
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- error_log
this text is never logged



=== TEST 2: unexpected error
--- config
--- request
GET /no-such-file.html
--- error_code: 404
--- no_error_log
[error]
