# EXPECT-FAIL: TEST 1: valid config - die as expected
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: valid config
--- config
    location = /t {
        return 200 "hello\n";
    }
--- must_die
