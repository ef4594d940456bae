# infer_thread_pool: evaluation on nginx's thread pool.  threshold=0us
# sends every request there, so the answers below come from a thread.
# The module logs "on a thread" when it offloads (nginx itself posts
# tasks to the pool when a worker exits: those are not ours).

#
# The last blocks measure what the pool is for.  After the block's own
# request, the body check sends a batch that takes over 50 ms to evaluate
# while a forked process asks for /health on new connections every
# millisecond; of the answers to requests sent while the batch was out,
# the slowest took under 5 ms with the pool (in one of up to three tries:
# see the check).  Inline (the control block), the same probes wait for
# the batch.  TEST_NGINX_TIME_SCALE multiplies the 5 ms: the sanitizer
# build (scripts/test-builds.sh asan) sets 2, as ASan slows the event loop
# itself (4.2 ms there in one run; the inline control waited 204 ms).

use Test::Nginx::Socket 'no_plan';
use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

my $tmp = File::Temp->newdir();
my $bound = 5 * ($ENV{TEST_NGINX_TIME_SCALE} || 1);     # ms
$ENV{TEST_NGINX_CHAIN_MODEL} = "$tmp/chain.json";
write_chain_model("$tmp/chain.json", 2000, 12, 4);

add_response_body_check(sub {
    my ($block) = @_;
    my $expect = $block->health_during_batch or return;
    my $name = $block->name;
    my (@slowest, $m);

    # A 2-core machine's scheduler can hold a woken event loop back a few
    # ms now and then, whoever evaluates: up to three tries with the pool,
    # each reported; inline, the batch holds every probe back every time.

    for my $try (1 .. ($expect eq 'answered' ? 3 : 1)) {
        $m = measure_batch();
        push @slowest, sprintf "%.2f", $m->{max};
        last if $m->{max} < $bound;
    }

    is(scalar @{ $m->{doc}{predictions} || [] }, 2000,
       "$name - the batch: 2000 predictions");
    cmp_ok($m->{ms}, '>', 50, sprintf("$name - the batch took over 50 ms "
                                      . "(%.1f ms)", $m->{ms}));

    if ($ENV{TEST_NGINX_USE_VALGRIND}) {        # nothing is fast there
        pass("$name - /health asked " . @{ $m->{waits} }
             . " times, not counted");
        pass("$name - latency not measured under valgrind");
        return;
    }

    cmp_ok(scalar @{ $m->{waits} }, '>=', $expect eq 'answered' ? 5 : 1,
           "$name - /health asked during the batch ("
           . @{ $m->{waits} } . " times)");

    if ($expect eq 'answered') {
        cmp_ok($m->{max}, '<', $bound, "$name - slowest /health in ms, "
                                       . "by try: @slowest")
            or diag("/health sent at ms into the batch: took ms: "
                    . "@{ $m->{seen} }");
    } else {
        cmp_ok($m->{max}, '>', 40, "$name - slowest /health @slowest ms: "
                                   . "it waited for the batch");
    }
});


# The batch sent while a forked prober asks for /health: what came back,
# in how long, and how long each /health sent meanwhile waited.
sub measure_batch {
    my $samples = "$tmp/health.txt";

    unlink $samples, "$samples.stop";
    my $prober = fork() // die "fork: $!";
    if ($prober == 0) {
        probe_health($samples);
        POSIX::_exit(0);
    }
    Time::HiRes::sleep(0.02);                  # the prober is under way

    my $batch = '{"instances":[' . join(',', ('[1,2,3,4]') x 2000) . ']}';
    my $sent = Time::HiRes::time();
    my $res = http_post('/predict', $batch);
    my $back = Time::HiRes::time();

    if (open my $stop, '>', "$samples.stop") {
        close $stop;
    }
    waitpid $prober, 0;

    my ($body) = $res =~ /\r\n\r\n(.*)\z/s;
    my %m = (doc => eval { JSON::PP->new->decode($body // '') } || {},
             ms => ($back - $sent) * 1000, waits => [], seen => []);

    open my $fh, '<', $samples or die "$samples: $!";
    while (<$fh>) {
        my ($t0, $t1) = split;
        next unless $t0 >= $sent && $t0 < $back;
        push @{ $m{waits} }, ($t1 - $t0) * 1000;
        push @{ $m{seen} }, sprintf "%.1f:%.2f", ($t0 - $sent) * 1000,
                                    $m{waits}[-1];
    }
    ($m{max}) = sort { $b <=> $a } @{ $m{waits} }, 0;

    return \%m;
}
no_shuffle();
run_tests();

# XGBoost JSON with NTREES chains of DEPTH splits on NF features; every
# row goes right at each split, so it walks all of them.
sub write_chain_model {
    my ($path, $ntrees, $depth, $nf) = @_;
    my $n = 2 * $depth + 1;                  # node DEPTH is the last leaf
    my @trees;

    for my $t (0 .. $ntrees - 1) {
        my (@left, @right, @feature, @cond);
        for my $k (0 .. $depth - 1) {
            push @left, $depth + 1 + $k;
            push @right, $k + 1;
            push @feature, ($t + $k) % $nf;
            push @cond, -1 - $k;
        }
        for my $k ($depth .. $n - 1) {
            push @left, -1;
            push @right, -1;
            push @feature, 0;
            push @cond, 0.001 * (($t + $k) % 7);      # the leaf values
        }
        push @trees, {
            id => $t, left_children => \@left, right_children => \@right,
            split_indices => \@feature, split_conditions => \@cond,
            default_left => [(0) x $n], split_type => [(0) x $n],
            parents => [2147483647, 0 .. $depth - 1, 0 .. $depth - 1],
            base_weights => [(0) x $n], loss_changes => [(0) x $n],
            sum_hessian => [(1) x $n], categories => [],
            categories_nodes => [], categories_segments => [],
            categories_sizes => [],
            tree_param => { num_deleted => '0', num_feature => "$nf",
                            num_nodes => "$n", size_leaf_vector => '0' } };
    }

    my $model = { version => [1, 7, 4], learner => {
        attributes => {}, feature_names => [], feature_types => [],
        gradient_booster => { name => 'gbtree', model => {
            gbtree_model_param => { num_parallel_tree => '1',
                num_trees => "$ntrees", size_leaf_vector => '0' },
            tree_info => [(0) x $ntrees], trees => \@trees } },
        learner_model_param => { base_score => '5E-1',
            boost_from_average => '1', num_class => '0',
            num_feature => "$nf", num_target => '1' },
        objective => { name => 'reg:squarederror',
                       reg_loss_param => { scale_pos_weight => '1' } } } };

    open my $fh, '>', $path or die "$path: $!";
    print $fh JSON::PP->new->encode($model);
    close $fh;
}

# GET /health on a new connection every millisecond until told to stop;
# one line "start end" (seconds) per answer.
sub probe_health {
    my ($out) = @_;
    my $until = Time::HiRes::time() + 20;

    open my $fh, '>', $out or POSIX::_exit(1);
    $fh->autoflush(1);

    while (!-e "$out.stop" && Time::HiRes::time() < $until) {
        my $t0 = Time::HiRes::time();
        my $res = http_get('/health');
        my $t1 = Time::HiRes::time();
        printf $fh "%.6f %.6f\n", $t0, $t1 if $res =~ m{^HTTP/1\.\d 200};
        Time::HiRes::sleep(0.001);
    }
}

sub http_get  { http_request("GET $_[0] HTTP/1.0\r\nHost: localhost\r\n\r\n") }

sub http_post {
    my ($uri, $body) = @_;
    return http_request("POST $uri HTTP/1.0\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body");
}

# one request on a new connection; the whole response, or ""
sub http_request {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . server_port(),
                                  Timeout => 10) or return '';
    print $s $_[0];
    return do { local $/; <$s> } // '';
}

__DATA__

=== TEST 1: a single row evaluated on the pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=0us; infer m; }
--- request
POST /predict
{"features":[1.0,2.0,3.5]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":6\.5,"model_name":"m","model_version":"1","latency_ms":\d+\.\d{3},"trace_id":"[0-9a-f]{32}"\}$
--- error_log eval
[qr/\[debug\] .*infer: 1 rows of model "m" on a thread/,
 qr/\[debug\] .*complete task #\d+ in thread pool "infer"/]
--- no_error_log
[error]
[alert]



=== TEST 2: a batch on the pool, inherited from http
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool infer threshold=0us;
--- config
    location = /predict { infer m; }
--- request eval
"POST /predict\n" . '{"instances":[' . join(',', map { "[$_,1,-1]" } 0..999) . ']}'
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like eval
'^\{"predictions":\[' . join(',', 0..999) . '\],'
--- no_error_log
[error]
[alert]



=== TEST 3: V2 on the pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool infer threshold=0us;
--- config
    location /v2/ { infer_v2; }
--- request
POST /v2/models/m/infer
{"id":"t","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3.5,0.5,1.5,2]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","id":"t","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","data":[6.5,4]}]}
--- no_error_log
[error]
[alert]



=== TEST 4: an output that overflows, from a thread: still a 422
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=0us; infer m; }
--- request
POST /predict
{"features":[3e38,3e38,3e38]}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"error":"the model's output for row 0 is not a finite number"}
--- no_error_log
[error]
[alert]



=== TEST 5: below the threshold the request stays inline
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=1s; infer m; }
--- request
POST /predict
{"features":[1,1,1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":3,
--- no_error_log
on a thread
[error]
[alert]



=== TEST 6: off, in a location, undoes an inherited pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool infer threshold=0us;
--- config
    location = /predict { infer_thread_pool off; infer m; }
--- request
POST /predict
{"features":[1,1,1]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like chomp
^\{"prediction":3,
--- no_error_log
on a thread
[error]
[alert]



=== TEST 7: a pool nobody declared fails at start-up
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool nosuch; infer m; }
--- must_die
--- error_log
unknown thread pool "nosuch"



=== TEST 8: a bad threshold
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_thread_pool infer threshold=fast; infer m; }
--- must_die
--- error_log
invalid threshold "fast": use a time in us or ms, such as 50us



=== TEST 9: /health answers within 5 ms while a long batch is on the pool
--- main_config
    thread_pool infer threads=2;
--- http_config
    infer_model chain $TEST_NGINX_CHAIN_MODEL;
--- config
    location = /predict {
        infer_thread_pool infer threshold=1ms;
        infer_max_batch 2000;
        infer chain;
    }
    location = /health { infer_health; }
--- health_during_batch: answered
--- request
GET /health
--- error_code: 200
--- error_log
on a thread
--- no_error_log
[error]
[alert]



=== TEST 10: the control: inline, the same batch holds /health back
--- http_config
    infer_model chain $TEST_NGINX_CHAIN_MODEL;
--- config
    location = /predict { infer_max_batch 2000; infer chain; }
    location = /health { infer_health; }
--- health_during_batch: waited
--- request
GET /health
--- error_code: 200
--- no_error_log
on a thread
[error]
[alert]
