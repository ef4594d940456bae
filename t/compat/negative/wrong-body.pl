# EXPECT-FAIL: TEST 1: wrong body - response_body - response is expected
# EXPECT-FAIL: TEST 2: wrong pattern - response_body_like - response is expected
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: wrong body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
goodbye



=== TEST 2: wrong pattern
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body_like: ^bye
