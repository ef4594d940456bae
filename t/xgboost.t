# XGBoost models served for real: every row of every fixture in
# t/models/ (trained by gen_fixtures.py with Debian's python3-xgboost) sent
# through /predict and through V2 as one batch, each output compared with
# XGBoost's own prediction, float32-exact.
#
# A block names its fixture and protocol; the preprocessor below makes its
# configuration and request, and the body check compares row by row.

use Test::Nginx::Socket 'no_plan';
use JSON::PP ();

my $models = $ENV{TEST_NGINX_MODELS};
my $json = JSON::PP->new->canonical;

sub fixture {
    my ($name) = @_;
    my $path = "$models/$name.ref.json";
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return $json->decode(<$fh>);
}

# what the module answers, as a list of rows, each a list of outputs
sub answered_rows {
    my ($protocol, $body, $noutputs) = @_;
    my $doc = eval { $json->decode($body) } or return;

    if ($protocol eq 'simple') {
        return map { ref $_ ? $_ : [$_] } @{ $doc->{predictions} || [] };
    }

    my $out = $doc->{outputs}[0] or return;
    my @flat = @{ $out->{data} };
    my @rows;
    push @rows, [splice @flat, 0, $noutputs] while @flat;
    return @rows;
}

sub f32 { unpack 'H8', pack 'f<', $_[0] }      # the float32 bits

add_block_preprocessor(sub {
    my $block = shift;
    my $name = $block->fixture or return;
    my $ref = fixture($name);
    my $rows = $ref->{rows};

    $block->set_value(http_config =>
        "    infer_model $name $models/$ref->{model};\n");
    $block->set_value(config =>
        "    location = /predict { infer $name; }\n"
        . "    location /v2/ { infer_v2; }\n");
    $block->set_value(more_headers => "Content-Type: application/json\n");
    $block->set_value(error_code => 200);
    $block->set_value(no_error_log => "[error]\n[alert]\n");

    if ($block->protocol eq 'simple') {
        $block->set_value(request => "POST /predict\n"
            . $json->encode({ instances => $rows }));
    } else {
        my $nf = $ref->{nfeatures};
        $block->set_value(request => "POST /v2/models/$name/infer\n"
            . $json->encode({ inputs => [{
                name => 'input-0', datatype => 'FP32',
                shape => [scalar @$rows, $nf], data => $rows }] }));
    }
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;
    my $name = $block->fixture or return;
    my $ref = fixture($name);
    my $want = $ref->{predictions};
    my $k = $ref->{noutputs};
    my @got = answered_rows($block->protocol, $body // '', $k);
    my $tag = $block->name . " - $name";

    is(scalar @got, scalar @$want, "$tag - one answer a row")
        or diag(substr($body // '', 0, 300));

    for my $i (0 .. $#$want) {
        my @w = ref $want->[$i] ? @{ $want->[$i] } : ($want->[$i]);
        my @g = @{ $got[$i] || [] };
        is(join(',', map { f32($_) } @g), join(',', map { f32($_) } @w),
           "$tag - row $i: (@g) = XGBoost's (@w)");
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: simple protocol
--- fixture: bc_logistic
--- protocol: simple

=== TEST 2: V2
--- fixture: bc_logistic
--- protocol: v2

=== TEST 3: simple protocol
--- fixture: bc_logitraw
--- protocol: simple

=== TEST 4: V2
--- fixture: bc_logitraw
--- protocol: v2

=== TEST 5: simple protocol
--- fixture: bc_earlystop
--- protocol: simple

=== TEST 6: V2
--- fixture: bc_earlystop
--- protocol: v2

=== TEST 7: simple protocol
--- fixture: bc_forest
--- protocol: simple

=== TEST 8: V2
--- fixture: bc_forest
--- protocol: v2

=== TEST 9: simple protocol
--- fixture: diabetes_squarederror
--- protocol: simple

=== TEST 10: V2
--- fixture: diabetes_squarederror
--- protocol: v2

=== TEST 11: simple protocol
--- fixture: diabetes_poisson
--- protocol: simple

=== TEST 12: V2
--- fixture: diabetes_poisson
--- protocol: v2

=== TEST 13: simple protocol
--- fixture: diabetes_gamma
--- protocol: simple

=== TEST 14: V2
--- fixture: diabetes_gamma
--- protocol: v2

=== TEST 15: simple protocol
--- fixture: diabetes_tweedie
--- protocol: simple

=== TEST 16: V2
--- fixture: diabetes_tweedie
--- protocol: v2

=== TEST 17: simple protocol
--- fixture: diabetes_absoluteerror
--- protocol: simple

=== TEST 18: V2
--- fixture: diabetes_absoluteerror
--- protocol: v2

=== TEST 19: simple protocol
--- fixture: diabetes_pseudohuber
--- protocol: simple

=== TEST 20: V2
--- fixture: diabetes_pseudohuber
--- protocol: v2

=== TEST 21: simple protocol
--- fixture: iris_softprob
--- protocol: simple

=== TEST 22: V2
--- fixture: iris_softprob
--- protocol: v2

=== TEST 23: simple protocol
--- fixture: digits_softmax
--- protocol: simple

=== TEST 24: V2
--- fixture: digits_softmax
--- protocol: v2

=== TEST 25: simple protocol
--- fixture: wine_logistic
--- protocol: simple

=== TEST 26: V2
--- fixture: wine_logistic
--- protocol: v2
