# EXPECT-FAIL: TEST 1: wrong status - status code ok
# EXPECT-FAIL: TEST 2: wrong headers - header X-Foo ok
# EXPECT-FAIL: TEST 2: wrong headers - header X-Bar not present in the raw headers
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: wrong status
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- error_code: 404



=== TEST 2: wrong headers
--- config
    location = /t {
        add_header X-Foo foo;
        add_header X-Bar bar;
        return 200 "hello\n";
    }
--- request
GET /t
--- response_headers
X-Foo: not-foo
!X-Bar
