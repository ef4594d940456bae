# ENV: TEST_NGINX_USE_VALGRIND=--tool=memcheck --leak-check=full --show-possibly-lost=no
# EXPECT-FAIL: TEST 1: leaky nginx - valgrind reported errors
#
# Stock nginx never frees the environment array it builds for "env"
# directives (see t/compat/valgrind.suppress); without suppressions
# valgrind reports that as a definite leak, which must fail the test.
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: leaky nginx
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
