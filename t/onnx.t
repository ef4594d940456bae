# ONNX models served for real: every row of every fixture in
# t/models/onnx/ (exported by gen_onnx.py with Debian's python3-torch)
# through /predict and through V2, each output within 1e-4 + 1e-4 |want|
# of torch's; and each row sent alone answered with the same bits as in
# the batch of 16.
#
# A fixture block names its fixture and protocol: the preprocessor below
# makes the configuration and the requests (simple: the batch, then each
# row alone; v2: the batch, every output), the body check compares.
# ResNet-18 (3x32x32), too large to commit, is made by gen_onnx.py --big
# into $TEST_NGINX_ONNX_BIG (make test does).

use Test::Nginx::Socket 'no_plan';
use JSON::PP ();

my $models = $ENV{TEST_NGINX_MODELS};
my $json = JSON::PP->new->canonical;
my %batch;                          # the batch's answer, per block

sub dir_of {
    my ($name) = @_;
    return "$models/onnx" unless $name eq 'resnet18';
    return $ENV{TEST_NGINX_ONNX_BIG}
        // die "TEST_NGINX_ONNX_BIG: where gen_onnx.py --big put resnet18\n";
}

sub fixture {
    my ($name) = @_;
    my $path = dir_of($name) . "/$name.ref.json";
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return $json->decode(<$fh>);
}

sub flat { map { ref $_ ? flat(@$_) : $_ } @_ }

sub f32 { unpack 'H8', pack 'f<', $_[0] }      # the float32 bits

sub close_enough {
    my ($got, $want) = @_;
    return defined $got && abs($got - $want) <= 1e-4 + 1e-4 * abs($want);
}

add_block_preprocessor(sub {
    my $block = shift;
    my $name = $block->fixture or return;
    my $ref = fixture($name);
    my $rows = $ref->{rows};
    my $n = scalar @$rows;

    $block->set_value(http_config =>
        "    infer_model $name " . dir_of($name) . "/$ref->{model};\n");
    $block->set_value(config =>
        "    location = /predict { infer $name; }\n"
        . "    location /v2/ { infer_v2; }\n");
    $block->set_value(more_headers => "Content-Type: application/json\n");
    $block->set_value(no_error_log => "[error]\n[alert]\n");

    if ($block->protocol eq 'simple') {
        $block->set_value(request => [
            "POST /predict\n" . $json->encode({ instances => $rows }),
            map { "POST /predict\n" . $json->encode({ features => $_ }) }
                @$rows ]);
        $block->set_value(error_code => [ (200) x ($n + 1) ]);
        return;
    }

    $block->set_value(request => "POST /v2/models/$name/infer\n"
        . $json->encode({ id => 'r', inputs => [{
            name => $ref->{input}, datatype => 'FP32',
            shape => [$n, @{ $ref->{row_shape} }],
            data => [flat(@$rows)] }] }));
    $block->set_value(error_code => 200);

    # a heavy model's request goes to the thread pool by its cost a row

    if ($block->pool) {
        $block->set_value(main_config => "    thread_pool infer threads=2;\n");
        $block->set_value(http_config => $block->http_config
                          . "    infer_thread_pool infer;\n");
        $block->set_value(error_log =>
                          "rows of model \"$name\" on a thread\n");
    }
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;
    my $name = $block->fixture or return;
    my $ref = fixture($name);
    my $tag = $block->name . " - $name";
    my $doc = eval { $json->decode($body // '') };
    my $first = $ref->{outputs}[0];

    ok($doc, "$tag - request $req_idx answered JSON")
        or return diag(substr($body // '', 0, 300));

    if ($block->protocol eq 'v2') {
        is(scalar @{ $doc->{outputs} }, scalar @{ $ref->{outputs} },
           "$tag - every output");

        for my $i (0 .. $#{ $ref->{outputs} }) {
            my $want = $ref->{outputs}[$i];
            my $got = $doc->{outputs}[$i];
            my @w = flat($want->{rows});
            my @g = flat($got->{data});

            is($got->{name}, $want->{name}, "$tag - output $i: name");
            is($json->encode($got->{shape}),
               $json->encode([scalar @{ $ref->{rows} },
                              @{ $want->{row_shape} }]),
               "$tag - output $i: shape");
            my @bad = grep { !close_enough($g[$_], $w[$_]) } 0 .. $#w;
            ok(!@bad && @g == @w, "$tag - output $i: " . scalar(@w)
               . " values within 1e-4 + 1e-4 |want| of torch's")
                or diag("first off: [$bad[0]] $g[$bad[0]] vs $w[$bad[0]]");
        }

        return;
    }

    # simple: the first output, a row nested as its shape

    if ($req_idx == 0) {
        my @w = flat($first->{rows});
        my @g = flat($doc->{predictions});
        $batch{$tag} = $doc->{predictions};

        my @bad = grep { !close_enough($g[$_], $w[$_]) } 0 .. $#w;
        ok(!@bad && @g == @w, "$tag - batch of " . scalar(@{ $ref->{rows} })
           . ": " . scalar(@w) . " values within 1e-4 + 1e-4 |want| of "
           . "torch's") or diag("first off: [$bad[0]] $g[$bad[0]] vs $w[$bad[0]]");
        return;
    }

    my $r = $req_idx - 1;
    my @one = flat($doc->{prediction});
    my @in_batch = flat($batch{$tag}[$r]);

    is(join(',', map { f32($_) } @one), join(',', map { f32($_) } @in_batch),
       "$tag - row $r alone: the same bits as in the batch");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an MLP (Gemm, Relu), simple protocol
--- fixture: mlp_relu
--- protocol: simple

=== TEST 2: V2
--- fixture: mlp_relu
--- protocol: v2

=== TEST 3: Tanh and Softmax
--- fixture: mlp_tanh
--- protocol: simple

=== TEST 4: V2
--- fixture: mlp_tanh
--- protocol: v2

=== TEST 5: Sigmoid, opset 17
--- fixture: mlp_sigmoid
--- protocol: simple

=== TEST 6: V2
--- fixture: mlp_sigmoid
--- protocol: v2

=== TEST 7: LeakyRelu, BatchNormalization kept in the graph
--- fixture: mlp_leaky_bn
--- protocol: simple

=== TEST 8: V2
--- fixture: mlp_leaky_bn
--- protocol: v2

=== TEST 9: two outputs: the simple protocol answers the first
--- fixture: two_heads
--- protocol: simple

=== TEST 10: V2: both
--- fixture: two_heads
--- protocol: v2

=== TEST 11: LeNet, opset 13, images as nested instances
--- fixture: lenet13
--- protocol: simple

=== TEST 12: V2, [16,1,28,28]
--- fixture: lenet13
--- protocol: v2

=== TEST 13: LeNet, opset 17
--- fixture: lenet17
--- protocol: simple

=== TEST 14: V2
--- fixture: lenet17
--- protocol: v2

=== TEST 15: a residual block, BatchNormalization kept, opset 13
--- fixture: resblock_bn13
--- protocol: simple

=== TEST 16: V2
--- fixture: resblock_bn13
--- protocol: v2

=== TEST 17: opset 17
--- fixture: resblock_bn17
--- protocol: simple

=== TEST 18: V2
--- fixture: resblock_bn17
--- protocol: v2

=== TEST 19: a small ResNet: downsampling, global pooling, Flatten
--- fixture: resnet_tiny
--- protocol: simple

=== TEST 20: V2
--- fixture: resnet_tiny
--- protocol: v2

=== TEST 21: Pad, Concat, groups, dilations, ceil_mode, Clip
--- fixture: odds
--- protocol: simple

=== TEST 22: V2
--- fixture: odds
--- protocol: v2

=== TEST 23: Constant's scalars and lists, made with onnx's helpers
--- fixture: constants
--- protocol: v2

=== TEST 24: Slice folded on a constant at the int64 edges (steps of
INT64_MAX and INT64_MIN + 1), both outputs
--- fixture: slices
--- protocol: v2

=== TEST 25: ResNet-18, 3x32x32, opset 13, BatchNormalization kept
--- fixture: resnet18
--- protocol: simple

=== TEST 26: V2, on the thread pool (the default threshold, 50us: a row
costs a millisecond)
--- fixture: resnet18
--- protocol: v2
--- pool: on

=== TEST 27: V2 metadata: the graph's names and shapes, -1 for the batch
--- http_config
    infer_model lenet $TEST_NGINX_MODELS/onnx/lenet13.onnx version=2;
--- config
    location /v2/ { infer_v2; }
--- request
GET /v2/models/lenet
--- response_body chomp
{"name":"lenet","versions":["2"],"platform":"onnx_onnxv1","inputs":[{"name":"x","datatype":"FP32","shape":[-1,1,28,28]}],"outputs":[{"name":"y","datatype":"FP32","shape":[-1,10]}]}
--- no_error_log
[error]
[alert]

=== TEST 28: V2: an output asked for by name
--- http_config
    infer_model two $TEST_NGINX_MODELS/onnx/two_heads.onnx;
--- config
    location /v2/ { infer_v2; }
--- more_headers
Content-Type: application/json
--- request
POST /v2/models/two/infer
{"inputs":[{"name":"x","shape":[6],"datatype":"FP32","data":[0,0,0,0,0,0]}],"outputs":[{"name":"y1"}]}
--- response_body_like chomp
^\{"model_name":"two","model_version":"1","outputs":\[\{"name":"y1","shape":\[1,5\],"datatype":"FP32","data":\[[^\]]+\]\}\]\}$
--- no_error_log
[error]
[alert]

=== TEST 29: V2: an unknown output is a 400 naming the model's
--- http_config
    infer_model two $TEST_NGINX_MODELS/onnx/two_heads.onnx;
--- config
    location /v2/ { infer_v2; }
--- more_headers
Content-Type: application/json
--- request
POST /v2/models/two/infer
{"inputs":[{"name":"x","shape":[6],"datatype":"FP32","data":[0,0,0,0,0,0]}],"outputs":[{"name":"logits"}]}
--- error_code: 400
--- response_body chomp
{"error":"outputs[0]: unknown output \"logits\", the model has \"y0\", \"y1\""}
--- no_error_log
[error]
[alert]

=== TEST 30: V2: a wrong shape is a 422 naming the model's
--- http_config
    infer_model lenet $TEST_NGINX_MODELS/onnx/lenet13.onnx;
--- config
    location /v2/ { infer_v2; }
--- more_headers
Content-Type: application/json
--- request eval
"POST /v2/models/lenet/infer\n"
. '{"inputs":[{"name":"x","shape":[1,28,28,1],"datatype":"FP32","data":['
. join(',', (0) x 784) . ']}]}'
--- error_code: 422
--- response_body chomp
{"error":"inputs[0]: shape [1,28,28,1] does not match the model's [-1,1,28,28]"}
--- no_error_log
[error]
[alert]

=== TEST 31: simple protocol: a row nested wrong is a 422 naming the row's shape
--- http_config
    infer_model lenet $TEST_NGINX_MODELS/onnx/lenet13.onnx;
--- config
    location = /predict { infer lenet; }
--- more_headers
Content-Type: application/json
--- request eval
"POST /predict\n"
. '{"instances":[[[' . join(',', ('[' . join(',', (0) x 28) . ']') x 27)
. ']]]}'
--- error_code: 422
--- response_body chomp
{"error":"instances[0] has 27 elements at depth 2: the model's rows are [1,28,28]"}
--- no_error_log
[error]
[alert]

=== TEST 32: simple protocol: a flat row for an image model is a 422
--- http_config
    infer_model lenet $TEST_NGINX_MODELS/onnx/lenet13.onnx;
--- config
    location = /predict { infer lenet; }
--- more_headers
Content-Type: application/json
--- request eval
"POST /predict\n" . '{"features":[' . join(',', (0) x 784) . ']}'
--- error_code: 422
--- response_body chomp
{"error":"\"features\" has a number at depth 1: the model's rows are [1,28,28]"}
--- no_error_log
[error]
[alert]

=== TEST 33: model_info says onnx
--- http_config
    infer_model mlp $TEST_NGINX_MODELS/onnx/mlp_relu.onnx version=7;
--- config
    location = /predict { infer mlp; }
    location = /metrics { infer_metrics; }
--- request
GET /metrics
--- response_body_like chomp
nginx_infer_model_info\{model="mlp",version="7",format="onnx"\} 1
--- no_error_log
[error]
[alert]

=== TEST 34: format=onnx, and readiness covers the model
--- http_config
    infer_model mlp $TEST_NGINX_MODELS/onnx/mlp_relu.onnx format=onnx;
--- config
    location = /ready { infer_ready; }
--- request
GET /ready
--- response_body chomp
{"status":"ready","models":[{"name":"mlp","version":"1","ready":true}]}
--- no_error_log
[error]
[alert]
