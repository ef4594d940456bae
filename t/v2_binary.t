# KServe V2 / Triton binary tensor data extension: requests whose body is
# Inference-Header-Content-Length bytes of JSON, then the input's raw
# bytes; outputs sent as raw FP32 after the response's JSON.  Every body
# is built byte for byte here (raw requests, explicit Content-Length), and
# every answer checked to the byte: the linear models' outputs are exact
# sums, the ONNX ones must be the very floats their JSON answer gives.
#
# Binary answers are compared as "<JSON>\n<hex of the bytes>".

use Test::Nginx::Socket 'no_plan';
use JSON::PP ();

our $json = JSON::PP->new->utf8->canonical;
our %answer;                        # the JSON request's answer, per block

# bytes: little-endian FP32, FP64, UINT8
sub f32 { pack 'f<*', @_ }
sub f64 { pack 'd<*', @_ }
sub u8  { pack 'C*', @_ }

# a POST, byte for byte; $headers without the Content-Length
sub raw {
    my ($uri, $headers, $body) = @_;
    return "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . join('', map { "$_\r\n" } @$headers)
        . 'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
}

# what Triton's clients send: the JSON's length, then JSON and bytes
sub triton {
    my ($uri, $json, $bin, @headers) = @_;
    return raw($uri, [ @headers, 'Inference-Header-Content-Length: '
                                 . length($json) ], $json . $bin);
}

sub shown { my ($json, $bin) = @_; return "$json\n" . unpack('H*', $bin) }

# the response body as shown(): its JSON, then its bytes in hex
sub shown_body {
    my ($body) = @_;
    my $n = eval { ($json->decode_prefix($body))[1] };
    return $body unless defined $n;
    return shown(substr($body, 0, $n), substr($body, $n));
}

sub binary_headers {
    my ($json) = @_;
    return "Content-Type: application/octet-stream\n"
        . 'Inference-Header-Content-Length: ' . length($json) . "\n";
}

sub bits { join ',', map { unpack 'H8', pack 'f<', $_ } @_ }

sub flat { map { ref $_ ? flat(@$_) : $_ } @_ }

sub fixture {
    my ($name) = @_;
    my $path = "$ENV{TEST_NGINX_MODELS}/onnx/$name.ref.json";
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return $json->decode(<$fh>);
}

# the Triton example of the extension's description, pretty-printed

our %J = (
    triton => <<'EOF' =~ s/\n\z//r,
{
  "model_name" : "m",
  "inputs" : [
    {
      "name" : "input-0",
      "shape" : [ 2, 3 ],
      "datatype" : "FP32",
      "parameters" : {
        "binary_data_size" : 24
      }
    }
  ],
  "outputs" : [
    {
      "name" : "output-0",
      "parameters" : {
        "binary_data" : true
      }
    }
  ]
}
EOF
    fp32 => '{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32",'
            . '"parameters":{"binary_data_size":24}}]}',
    out_m => '{"model_name":"m","model_version":"1","outputs":[{"name":'
             . '"output-0","shape":[2,1],"datatype":"FP32","parameters":'
             . '{"binary_data_size":8}}]}',
);

# 300 rows of a 64-feature linear model, FP32: 76,800 bytes, more than a
# 64 KiB read of the body file, cut inside an element

our @wide = map { my $r = $_; [ map { ($r * 7 + $_ * 3) % 11 - 5 } 0 .. 63 ] }
            0 .. 299;
our @wide_sums = map { my $s = 0; $s += $_ for @$_; $s } @wide;
$J{wide} = '{"inputs":[{"name":"x","shape":[300,64],"datatype":"FP32",'
           . '"parameters":{"binary_data_size":76800}}],'
           . '"parameters":{"binary_data_output":true}}';
$J{wide_out} = '{"model_name":"wide","model_version":"1","outputs":[{"name":'
               . '"output-0","shape":[300,1],"datatype":"FP32","parameters":'
               . '{"binary_data_size":1200}}]}';

# the same rows twice to an ONNX model: as JSON, then as bytes after a JSON
# asking for binary outputs.  A block names its pair: the uri, the JSON
# request, the binary one's JSON and bytes, the outputs to come as bytes,
# and the fixture's rows sent, for torch's outputs

our %pair;

{
    my $two = fixture('two_heads')->{rows};
    my @img = map { ($_ * 37 + ($_ >> 5) * 11) % 256 } 0 .. 783;
    my $in = sub {
        my ($shape, $type) = @_;
        return '{"inputs":[{"name":"x","shape":' . $json->encode($shape)
               . ',"datatype":"' . ($type // 'FP32') . '",';
    };
    my $two_pair = sub {
        my ($from, $to, $head, $tail) = @_;
        my $rows = [ @$two[$from .. $to] ];
        my $x = $in->([ scalar @$rows, 6 ]);
        return { uri => '/v2/models/two/infer', from => $from,
                 json => $x . '"data":' . $json->encode($rows) . '}]}',
                 bin_json => $head . substr($x, 1) . '"parameters":'
                             . '{"binary_data_size":' . 24 * @$rows . '}}]'
                             . $tail,
                 bin => f32(flat(@$rows)) };
    };

    $pair{mixed} = $two_pair->(0, 2, '{"id":"j",', ',"outputs":[{"name":'
        . '"y1","parameters":{"binary_data":true}},{"name":"y0"}]}');
    $pair{mixed}{binary} = 'y1';
    $pair{override} = $two_pair->(3, 4, '{"parameters":{"binary_data_output":'
        . 'true},"outputs":[{"name":"y0","parameters":{"binary_data":false}},'
        . '{"name":"y1"}],', '}');
    $pair{override}{binary} = 'y1';
    $pair{all} = $two_pair->(5, 15, '{',
        ',"parameters":{"binary_data_output":true}}');
    $pair{all}{binary} = 'y0 y1';
    $pair{all}{type} = 'application/octet-stream';

    my $x = $in->([ 1, 1, 28, 28 ], 'UINT8');
    $pair{image} = { uri => '/v2/models/lenet/infer',
                     json => $x . '"data":[' . join(',', @img) . ']}]}',
                     bin_json => $x . '"parameters":{"binary_data_size":784}}'
                                 . '],"parameters":{"binary_data_output":'
                                 . 'true}}',
                     bin => u8(@img), binary => 'y' };
}

# the binary one's Content-Length given: its body is sent as it is

add_block_preprocessor(sub {
    my $block = shift;
    my $name = $block->pair or return;
    my $p = $pair{$name} or die "no pair \"$name\"\n";

    $block->set_value(request => [ "POST $p->{uri}\n$p->{json}",
                                   "POST $p->{uri}\n$p->{bin_json}$p->{bin}" ]);
    $block->set_value(more_headers => [ 'Content-Type: application/json',
        ($p->{type} ? "Content-Type: $p->{type}\n" : '')
        . 'Inference-Header-Content-Length: ' . length($p->{bin_json})
        . "\nContent-Length: " . length($p->{bin_json} . $p->{bin}) ]);
    $block->set_value(error_code => [ 200, 200 ]);
    $block->set_value(response_headers => [
        "Content-Type: application/json\n!Inference-Header-Content-Length",
        "Content-Type: application/octet-stream\n" ]);
    $block->set_value(no_error_log => "[error]\n[alert]\n");
});

# the binary answer against the JSON one: the same floats

add_response_body_check(sub {
    my ($block, $body, $req_idx) = @_;
    my $p = $pair{ $block->pair // return };
    my $tag = $block->name;

    if ($req_idx == 0) {
        $answer{$tag} = $json->decode($body);
        return;
    }

    my ($doc, $n) = $json->decode_prefix($body);
    my $bin = substr($body, $n);
    my %was = map { $_->{name} => $_ } @{ $answer{$tag}{outputs} };
    my @binary;

    for my $o (@{ $doc->{outputs} }) {
        my $w = $was{$o->{name}};
        my @got;

        is($json->encode($o->{shape}), $json->encode($w->{shape}),
           "$tag - $o->{name}: shape");

        if (my $size = $o->{parameters}{binary_data_size}) {
            push @binary, $o->{name};
            ok(!exists $o->{data}, "$tag - $o->{name}: no \"data\"");
            is($size, 4 * @{ $w->{data} }, "$tag - $o->{name}: its size");
            @got = unpack 'f<*', substr($bin, 0, $size, '');

        } else {
            @got = @{ $o->{data} };
        }

        is(bits(@got), bits(@{ $w->{data} }),
           "$tag - $o->{name}: the floats of the JSON answer");

        next unless defined $p->{from};

        my ($ref) = grep { $_->{name} eq $o->{name} }
                    @{ fixture('two_heads')->{outputs} };
        my @w = flat(@{ $ref->{rows} }[$p->{from}
                                       .. $p->{from} + $o->{shape}[0] - 1]);
        my @bad = grep { abs($got[$_] - $w[$_]) > 1e-4 + 1e-4 * abs($w[$_]) }
                  0 .. $#w;
        ok(!@bad && @got == @w, "$tag - $o->{name}: within 1e-4 of torch's");
    }

    is("@binary", $p->{binary}, "$tag - the binary outputs");
    is(length $bin, 0, "$tag - every byte announced");
});

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Triton's example: FP32 bytes after pretty JSON, a binary output
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', $main::J{triton},
             main::f32(1, 2, 3.5, 0.5, 1.5, 2),
             'Content-Type: application/octet-stream')
--- error_code: 200
--- response_headers eval
main::binary_headers($main::J{out_m})
--- response_body_filters eval
\&main::shown_body
--- response_body eval
main::shown($main::J{out_m}, main::f32(6.5, 4))
--- no_error_log
[error]
[alert]


=== TEST 2: UINT8 bytes, no Content-Type: a JSON answer, as without them
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', '{"id":"u8","inputs":[{"name":"input-0",'
             . '"shape":[2,3],"datatype":"UINT8","parameters":'
             . '{"binary_data_size":6}}]}', main::u8(255, 128, 1, 0, 2, 3))
--- error_code: 200
--- response_headers
Content-Type: application/json
!Inference-Header-Content-Length
--- response_body chomp
{"model_name":"m","model_version":"1","id":"u8","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","data":[384,5]}]}
--- no_error_log
[error]
[alert]


=== TEST 3: FP64 bytes, every output binary by binary_data_output
--- http_config
    infer_model aff $TEST_NGINX_MODELS/affine2.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/aff/infer', '{"parameters":{"binary_data_output":'
             . 'true},"inputs":[{"name":"x","shape":[2,2],"datatype":"FP64",'
             . '"parameters":{"binary_data_size":32}}]}',
             main::f64(1.5, 0.5, -1, 2),
             'Content-Type: application/octet-stream')
--- error_code: 200
--- response_headers eval
main::binary_headers('{"model_name":"aff","model_version":"1","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}')
--- response_body_filters eval
\&main::shown_body
--- response_body eval
main::shown('{"model_name":"aff","model_version":"1","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","parameters":{"binary_data_size":8}}]}', main::f32(2.75, -3.75))
--- no_error_log
[error]
[alert]


=== TEST 4: a JSON request may ask for a binary answer
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- more_headers
Content-Type: application/json
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3.5,0.5,1.5,2]}],"outputs":[{"name":"output-0","parameters":{"binary_data":true}}]}
--- error_code: 200
--- response_headers eval
main::binary_headers($main::J{out_m})
--- response_body_filters eval
\&main::shown_body
--- response_body eval
main::shown($main::J{out_m}, main::f32(6.5, 4))
--- no_error_log
[error]
[alert]


=== TEST 5: ONNX, JSON and binary outputs mixed: the JSON answer's floats
--- http_config
    infer_model two $TEST_NGINX_MODELS/onnx/two_heads.onnx;
--- config
    location /v2/ { infer_v2; }
--- pair: mixed


=== TEST 6: ONNX, binary_data_output, one output's binary_data false wins
--- http_config
    infer_model two $TEST_NGINX_MODELS/onnx/two_heads.onnx;
--- config
    location /v2/ { infer_v2; }
--- pair: override


=== TEST 7: ONNX, every output binary
--- http_config
    infer_model two $TEST_NGINX_MODELS/onnx/two_heads.onnx;
--- config
    location /v2/ { infer_v2; }
--- pair: all


=== TEST 8: an UINT8 image to a CNN: the answer of its JSON UINT8 twin
--- http_config
    infer_model lenet $TEST_NGINX_MODELS/onnx/lenet13.onnx;
--- config
    location /v2/ { infer_v2; }
--- pair: image


=== TEST 9: a body over client_body_buffer_size, read from its file
--- user_files eval
">>> wide.json\n"
. '{"format":"linear","weights":[' . join(',', (1) x 64) . '],"bias":0}'
--- http_config
    infer_model wide $TEST_NGINX_SERVER_ROOT/html/wide.json;
--- config
    location /v2/ { infer_v2; client_body_buffer_size 1k; }
--- raw_request eval
main::triton('/v2/models/wide/infer', $main::J{wide},
             main::f32(main::flat(@main::wide)))
--- error_code: 200
--- response_headers eval
main::binary_headers($main::J{wide_out})
--- response_body_filters eval
\&main::shown_body
--- response_body eval
main::shown($main::J{wide_out}, main::f32(@main::wide_sums))
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]
[alert]


=== TEST 10: chunked, in packets: the JSON's end and the floats cut
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
my $body = $main::J{fp32} . main::f32(1, 2, 3.5, 0.5, 1.5, 2);
my $n = length $main::J{fp32};
my @cut = (0, 9, $n - 3, $n + 2, $n + 13, length $body);
my @chunks = map { substr($body, $cut[$_], $cut[$_ + 1] - $cut[$_]) } 0 .. 4;
my $head = "POST /v2/models/m/infer HTTP/1.1\r\nHost: localhost\r\n"
           . "Connection: close\r\nTransfer-Encoding: chunked\r\n"
           . "Inference-Header-Content-Length: $n\r\n\r\n";
[ $head . sprintf("%x\r\n%s\r\n", length $chunks[0], $chunks[0]),
  (map { sprintf("%x\r\n%s\r\n", length $_, $_) } @chunks[1 .. 4]),
  "0\r\n\r\n" ]
--- raw_request_middle_delay: 0.02
--- error_code: 200
--- response_headers
Content-Type: application/json
!Inference-Header-Content-Length
--- response_body chomp
{"model_name":"m","model_version":"1","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","data":[6.5,4]}]}
--- no_error_log
[error]
[alert]


=== TEST 11: in packets with a Content-Length, cut inside the floats
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
my $req = main::triton('/v2/models/m/infer', $main::J{fp32},
                       main::f32(1, 2, 3.5, 0.5, 1.5, 2),
                       'Content-Type: application/octet-stream');
my $at = length($req) - 24;
[ substr($req, 0, $at - 30), substr($req, $at - 30, 37),
  substr($req, $at + 7, 6), substr($req, $at + 13) ]
--- raw_request_middle_delay: 0.02
--- error_code: 200
--- response_body chomp
{"model_name":"m","model_version":"1","outputs":[{"name":"output-0","shape":[2,1],"datatype":"FP32","data":[6.5,4]}]}
--- no_error_log
[error]
[alert]


=== TEST 12: Inference-Header-Content-Length with no value
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::raw('/v2/models/m/infer', [ 'Inference-Header-Content-Length: ' ],
          $main::J{fp32} . main::f32(1, 2, 3, 4, 5, 6))
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body chomp
{"error":"Inference-Header-Content-Length must be the length of the body's JSON in bytes, not \"\""}
--- no_error_log
[error]
[alert]


=== TEST 13: a negative Inference-Header-Content-Length
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::raw('/v2/models/m/infer', [ 'Inference-Header-Content-Length: -94' ],
          $main::J{fp32} . main::f32(1, 2, 3, 4, 5, 6))
--- error_code: 400
--- response_body chomp
{"error":"Inference-Header-Content-Length must be the length of the body's JSON in bytes, not \"-94\""}
--- no_error_log
[error]
[alert]


=== TEST 14: an Inference-Header-Content-Length longer than the body
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::raw('/v2/models/m/infer', [ 'Inference-Header-Content-Length: 119' ],
          $main::J{fp32} . main::f32(1, 2, 3, 4, 5, 6))
--- error_code: 400
--- response_body chomp
{"error":"Inference-Header-Content-Length is 119, more than the body's 118 bytes"}
--- no_error_log
[error]
[alert]


=== TEST 15: an Inference-Header-Content-Length that cuts the JSON
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::raw('/v2/models/m/infer', [ 'Inference-Header-Content-Length: 90' ],
          $main::J{fp32} . main::f32(1, 2, 3, 4, 5, 6))
--- error_code: 400
--- response_body chomp
{"error":"malformed JSON at the end: parse error: premature EOF (Inference-Header-Content-Length: 90)"}
--- no_error_log
[error]
[alert]


=== TEST 16: binary_data_size is not the shape's bytes
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', '{"inputs":[{"name":"x","shape":[2,3],'
             . '"datatype":"FP64","parameters":{"binary_data_size":24}}]}',
             main::f32(1, 2, 3, 4, 5, 6))
--- error_code: 400
--- response_body chomp
{"error":"inputs[0]: binary_data_size is 24, shape [2,3] of FP64 takes 48 bytes"}
--- no_error_log
[error]
[alert]


=== TEST 17: bytes after the binary input's
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', $main::J{fp32},
             main::f32(1, 2, 3, 4, 5, 6, 7))
--- error_code: 400
--- response_body chomp
{"error":"inputs[0]: binary_data_size is 24, the body has 28 bytes after its JSON (Inference-Header-Content-Length: 94)"}
--- no_error_log
[error]
[alert]


=== TEST 18: fewer bytes than binary_data_size
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', $main::J{fp32},
             substr(main::f32(1, 2, 3, 4, 5, 6), 0, 22))
--- error_code: 400
--- response_body chomp
{"error":"inputs[0]: binary_data_size is 24, the body has 22 bytes after its JSON (Inference-Header-Content-Length: 94)"}
--- no_error_log
[error]
[alert]


=== TEST 19: bytes after a JSON that has no binary input
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', '{"inputs":[{"name":"x","shape":[3],'
             . '"datatype":"FP32","data":[1,2,3]}]}', main::f32(4))
--- error_code: 400
--- response_body chomp
{"error":"the body has 4 bytes after its JSON (Inference-Header-Content-Length: 70), no input has binary_data_size"}
--- no_error_log
[error]
[alert]


=== TEST 20: "data" and binary_data_size both
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', '{"inputs":[{"name":"x","shape":[3],'
             . '"datatype":"FP32","data":[1,2,3],"parameters":'
             . '{"binary_data_size":12}}]}', main::f32(4, 5, 6))
--- error_code: 400
--- response_body chomp
{"error":"inputs[0]: \"data\" and binary_data_size, give one"}
--- no_error_log
[error]
[alert]


=== TEST 21: binary_data_size without the header
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- more_headers
Content-Type: application/json
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}
--- error_code: 400
--- response_body chomp
{"error":"inputs[0]: binary_data_size without an Inference-Header-Content-Length header"}
--- no_error_log
[error]
[alert]


=== TEST 22: application/octet-stream without the header is a 415
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::raw('/v2/models/m/infer', [ 'Content-Type: application/octet-stream' ],
          $main::J{fp32} . main::f32(1, 2, 3, 4, 5, 6))
--- error_code: 415
--- response_body chomp
{"error":"Content-Type must be application/json"}
--- no_error_log
[error]
[alert]


=== TEST 23: a NaN, and the model takes no missing values
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', $main::J{fp32},
             main::f32(1, 2, 3, 4) . pack('V', 0x7fc00000) . main::f32(6))
--- error_code: 400
--- response_body chomp
{"error":"inputs[0], binary element 4: NaN, but the model takes no missing values"}
--- no_error_log
[error]
[alert]


=== TEST 24: an FP64 beyond any float is a 422
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', '{"inputs":[{"name":"x","shape":[3],'
             . '"datatype":"FP64","parameters":{"binary_data_size":24}}]}',
             main::f64(1, 1e300, 3))
--- error_code: 422
--- response_body chomp
{"error":"inputs[0], binary element 1: 1e+300 is not a finite 32-bit float"}
--- no_error_log
[error]
[alert]


=== TEST 25: a binary_data_size that is no size
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- raw_request eval
main::triton('/v2/models/m/infer', '{"inputs":[{"name":"x","shape":[3],'
             . '"datatype":"FP32","parameters":{"binary_data_size":"12"}}]}',
             main::f32(1, 2, 3))
--- error_code: 400
--- response_body chomp
{"error":"inputs[0].parameters.binary_data_size must be a non-negative integer, not a string"}
--- no_error_log
[error]
[alert]
