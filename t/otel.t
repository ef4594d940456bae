# OpenTelemetry spans, exported over OTLP/HTTP to a real receiver
# (@elastic/mockotlpserver, behind t/otlp/receiver.js, npm ci'ed into
# build/otlp by make test): what arrives for each kind of request, with
# and without a traceparent, sampled or not, refused early or late, on
# a thread, through V2; protobuf, JSON and gzip on the wire.
#
# A block with --- otel names the spans its request must produce, in
# time order; the body check below finds the trace id in the access log
# (with the span id and the response's traceparent), asks the receiver
# for that trace's spans, checks what every span must be (ids, nesting,
# resource, scope), and then runs the block's own checks on them.

use Test::Nginx::Socket 'no_plan';
use JSON::PP ();
use HTTP::Tiny ();
use File::Temp ();
use Time::HiRes ();

our $json = JSON::PP->new->utf8->canonical;
our $port;
my $pid;

# the receiver, for the whole file: nginx reloads (HUP mode) keep it

BEGIN {
    my $dir = $ENV{TEST_NGINX_OTLP_DIR} // 'build/otlp';
    my $ready = File::Temp->new;

    die "t/otel.t: no OTLP receiver in $dir (make test runs npm ci)\n"
        unless -d "$dir/node_modules/\@elastic/mockotlpserver";

    $pid = fork // die "fork: $!";

    if ($pid == 0) {
        $ENV{NODE_PATH} = "$dir/node_modules";
        open STDOUT, '>', '/dev/null';
        exec 'node', 't/otlp/receiver.js', '--port', '0',
             '--ready-file', $ready->filename;
        die "node: $!";
    }

    for (1 .. 100) {
        last if -s $ready->filename;
        Time::HiRes::sleep(0.1);
    }

    open my $fh, '<', $ready->filename or die "receiver: $!";
    $port = <$fh>;
    chomp $port if defined $port;
    die "t/otel.t: the OTLP receiver did not start\n" unless $port;
    $ENV{TEST_NGINX_OTLP_PORT} = $port;
}

END { kill 'TERM', $pid if $pid }

sub control {
    my ($path) = @_;
    my $r = HTTP::Tiny->new(timeout => 20)
        ->get("http://127.0.0.1:$port/control/$path");
    die "receiver: $r->{status} $r->{content}\n" unless $r->{success};
    return $json->decode($r->{content});
}

# the access log's last traced request, once nginx has written it

sub last_log_line {
    my $file = server_root() . '/logs/otel.log';

    for (1 .. 50) {
        if (open my $fh, '<', $file) {
            my @lines = grep { $_->{trace_id} ne '' }
                        map { $json->decode($_) } <$fh>;
            return $lines[-1] if @lines;
        }
        Time::HiRes::sleep(0.02);
    }

    die "no traced request in $file\n";
}

sub nested {
    my ($in, $out) = @_;
    return $in->{startTimeUnixNano} >= $out->{startTimeUnixNano}
           && $in->{endTimeUnixNano} <= $out->{endTimeUnixNano}
           && $in->{startTimeUnixNano} <= $in->{endTimeUnixNano};
}

add_block_preprocessor(sub {
    my $block = shift;

    defined $block->otel or return;

    $block->set_value(http_config => <<'EOF' . ($block->http_config // ''))
    log_format otel escape=json '{"status":$status,'
        '"trace_id":"$infer_trace_id","span_id":"$infer_span_id",'
        '"traceparent":"$sent_http_traceparent",'
        '"sampled":$infer_trace_sampled}';
    access_log logs/otel.log otel;

    infer_otel on;
    infer_otel_endpoint http://127.0.0.1:$TEST_NGINX_OTLP_PORT/v1/traces;
    infer_otel_interval 50ms;
    infer_otel_service_name infer-test;
    infer_otel_resource_attribute deployment.environment.name test;
EOF
        unless $block->http_config && $block->http_config =~ /infer_otel on/;
});

add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated, $dry_run) = @_;
    defined $block->otel && $req_idx == 0 or return;

    my @want = split /\s*,\s*/, $block->otel;
    my $name = $block->name;
    my $log = last_log_line();
    my $tid = $log->{trace_id};

    like($log->{traceparent}, qr/^00-$tid-$log->{span_id}-0[01]$/,
         "$name - the response's traceparent carries the log's ids");

    my $spans = control("spans?trace_id=$tid&min=" . (@want || 1)
                        . '&wait_ms=' . (@want ? 10000 : 1500));

    is(scalar @$spans, scalar @want, "$name - " . scalar(@want) . " spans")
        or diag($json->encode([ map { $_->{name} } @$spans ]));
    is($log->{sampled}, @want ? 1 : 0, "$name - \$infer_trace_sampled");
    return unless @want && @$spans == @want;

    my @spans = sort { $a->{startTimeUnixNano} <=> $b->{startTimeUnixNano}
                       || $b->{endTimeUnixNano} <=> $a->{endTimeUnixNano} }
                @$spans;
    my ($server) = grep { $_->{kind} == 2 } @spans;

    is(join(', ', map { $_->{name} } @spans), join(', ', @want),
       "$name - the spans, in time order");
    ok($server, "$name - a SERVER span") or return;
    is($server->{spanId}, $log->{span_id},
       "$name - the SERVER span's id is the log's and the response's");

    for my $s (@spans) {
        next if $s == $server;
        is($s->{kind}, 1, "$name - $s->{name} is INTERNAL");
        is($s->{parentSpanId}, $server->{spanId},
           "$name - $s->{name}'s parent is the SERVER span");
        ok(nested($s, $server), "$name - $s->{name} within the request");
        is($s->{flags} & 0x3ff, ($server->{flags} & 0xff) | 0x100,
           "$name - $s->{name}: the trace's flags, a local parent");
    }

    for my $i (1 .. $#spans - 1) {
        ok($spans[$i]{endTimeUnixNano} <= $spans[$i + 1]{startTimeUnixNano},
           "$name - $spans[$i]{name} ends before $spans[$i + 1]{name}")
            if $spans[$i + 1] != $server && $spans[$i] != $server;
    }

    is_deeply($server->{resource}{'service.name'}, 'infer-test',
              "$name - resource: service.name");
    is($server->{resource}{'deployment.environment.name'}, 'test',
       "$name - resource: infer_otel_resource_attribute");
    is($server->{resource}{'telemetry.sdk.name'}, 'ngx_http_infer_module',
       "$name - resource: telemetry.sdk.name");
    like($server->{resource}{'process.pid'}, qr/^\d+$/,
         "$name - resource: process.pid");
    is($json->encode($server->{scope}),
       '{"name":"ngx_http_infer_module","version":"0.1.0"}',
       "$name - the instrumentation scope");

    my %by = map { $_->{name} => $_ } @spans;
    $block->otel_check->($server, \%by, $log, $body)
        if defined $block->otel_check;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a prediction with a sampled traceparent: its spans, exactly
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json version=2;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1.0,2.0,3.5]}
--- more_headers
Content-Type: application/json
User-Agent: otel-test/1
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
tracestate: vendor=abc
--- error_code: 200
--- response_body_like chomp
^\{"prediction":6\.5,"model_name":"m","model_version":"2","latency_ms":\d+\.\d{3},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"\}$
--- otel: POST /predict, infer.parse, infer.evaluate, infer.respond
--- otel_check eval
sub {
    my ($s, $by, $log, $body) = @_;
    my %a = %{ $s->{attributes} };

    ::is($s->{traceId}, '4bf92f3577b34da6a3ce929d0e0e4736', 'trace id kept');
    ::is($s->{parentSpanId}, '00f067aa0ba902b7', 'the caller is the parent');
    ::is($s->{flags}, 0x301, 'sampled, a remote parent');
    ::is($s->{traceState}, 'vendor=abc', 'tracestate kept');
    ::is($s->{status}{code}, 0, 'status unset');
    ::ok(delete $a{'infer.sched_delay_us'} // 0 >= 0, 'sched delay');
    ::is($::json->encode(\%a), $::json->encode({
        'http.route' => '/predict', 'http.request.method' => 'POST',
        'url.path' => '/predict', 'url.scheme' => 'http',
        'http.response.status_code' => 200,
        'server.address' => 'localhost',
        'server.port' => $ENV{TEST_NGINX_SERVER_PORT} + 0,
        'client.address' => '127.0.0.1',
        'user_agent.original' => 'otel-test/1',
        'network.protocol.version' => '1.1',
        'http.request.body.size' => 26,
        'http.response.body.size' => length($body),
        'infer.model.name' => 'm', 'infer.model.version' => '2',
        'infer.model.format' => 'linear', 'infer.batch_size' => 1,
        'infer.status' => 'ok' }), 'the SERVER span\'s attributes');
    ::is($::json->encode($by->{'infer.evaluate'}{attributes}),
         '{"infer.batch_size":1}', 'evaluate: the batch');
    ::is($by->{'infer.parse'}{endTimeUnixNano},
         $by->{'infer.evaluate'}{startTimeUnixNano},
         'the model starts as parsing ends');
}
--- no_error_log
[error]
[alert]



=== TEST 2: a new trace: a root span, its id in the body and the log
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"instances":[[1,2,3.5],[0,0,0]]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- otel: POST /predict, infer.parse, infer.evaluate, infer.respond
--- otel_check eval
sub {
    my ($s, $by, $log, $body) = @_;

    ::is($s->{parentSpanId}, '', 'no parent');
    ::is($s->{flags}, 0x101, 'sampled, no remote parent');
    ::is($::json->decode($body)->{trace_id}, $s->{traceId},
         'the body\'s trace_id');
    ::is($s->{attributes}{'infer.batch_size'}, 2, 'two rows');
}
--- no_error_log
[error]



=== TEST 3: an unsampled caller: no span, the flag passed on
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00
--- error_code: 200
--- response_headers_like
traceparent: 00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00
--- otel
--- no_error_log
[error]



=== TEST 4: a 4xx leaves the status unset; the reason is infer.status
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,
--- more_headers
Content-Type: application/json
--- error_code: 400
--- otel: POST /predict, infer.parse
--- otel_check eval
sub {
    my ($s) = @_;

    ::is($s->{status}{code}, 0, 'status unset on a 400');
    ::ok(!exists $s->{attributes}{'error.type'}, 'no error.type');
    ::is($s->{attributes}{'infer.status'}, 'bad_json', 'infer.status');
    ::is($s->{attributes}{'http.response.status_code'}, 400, 'the code');
}



=== TEST 5: a 413 that nginx refused before the module saw it
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { client_max_body_size 10; infer m; }
--- request
POST /predict
{"features":[1.0,2.0,3.5,4.5]}
--- more_headers
Content-Type: application/json
--- error_code: 413
--- otel: POST /predict
--- otel_check eval
sub {
    my ($s) = @_;

    ::is($s->{attributes}{'http.response.status_code'}, 413, 'a 413');
    ::is($s->{attributes}{'infer.status'}, 'too_large', 'infer.status');
    ::is($s->{attributes}{'infer.model.name'}, 'm', 'the location\'s model');
    ::is($s->{status}{code}, 0, 'status unset');
}



=== TEST 6: a 405 has its span
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
GET /predict
--- error_code: 405
--- otel: GET /predict
--- otel_check eval
sub {
    ::is($_[0]{attributes}{'infer.status'}, 'method', 'infer.status');
    ::is($_[0]{attributes}{'http.request.method'}, 'GET', 'the method');
}



=== TEST 7: a 415
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: text/plain
--- error_code: 415
--- otel: POST /predict
--- otel_check eval
sub {
    ::is($_[0]{attributes}{'infer.status'}, 'content_type', 'infer.status');
}



=== TEST 8: a 5xx is an ERROR span with error.type
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { return 500; infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 500
--- otel: POST /predict
--- otel_check eval
sub {
    my ($s) = @_;

    ::is($s->{status}{code}, 2, 'ERROR');
    ::is($s->{attributes}{'error.type'}, '500', 'error.type');
    ::is($s->{attributes}{'infer.status'}, 'internal', 'infer.status');
    ::is($s->{attributes}{'infer.model.name'}, 'm', 'the location\'s model');
}
--- no_error_log
[alert]



=== TEST 9: V2 infer, named by its route's template
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- request
POST /v2/models/m/infer
{"inputs":[{"name":"input-0","shape":[1,3],"datatype":"FP32","data":[1,2,3.5]}]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- otel: POST /v2/models/{model}/infer, infer.parse, infer.evaluate, infer.respond
--- otel_check eval
sub {
    my ($s) = @_;

    ::is($s->{attributes}{'http.route'}, '/v2/models/{model}/infer', 'route');
    ::is($s->{attributes}{'url.path'}, '/v2/models/m/infer', 'path');
}



=== TEST 10: V2 metadata, traced
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location /v2/ { infer_v2; }
--- request
GET /v2/models/m
--- error_code: 200
--- otel: GET /v2/models/{model}



=== TEST 11: health and readiness are traced
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /healthz { infer_health; }
--- request
GET /healthz
--- error_code: 200
--- otel: GET /healthz
--- otel_check eval
sub {
    ::ok(!exists $_[0]{attributes}{'infer.model.name'}, 'no model');
    ::is($_[0]{attributes}{'infer.status'}, 'ok', 'ok');
}



=== TEST 12: on the thread pool: the wait for a thread is a span
--- main_config
    thread_pool otel_pool threads=1;
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_thread_pool otel_pool threshold=0us;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- otel: POST /predict, infer.parse, infer.queue, infer.evaluate, infer.respond
--- error_log
on a thread



=== TEST 13: infer_otel off in a location: no span, the ids still go back
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer_otel off; infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_headers_like
traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01
--- otel



=== TEST 14: ratio 0 keeps no new trace but keeps its errors
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel_sample 0 errors;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_headers_like
traceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-00
--- otel



=== TEST 15: ... an error among them is exported, flags and all
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel_sample 0 errors;
--- config
    location = /predict { return 500; infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 500
--- otel: POST /predict
--- otel_check eval
sub {
    ::is($_[0]{flags}, 0x100, 'kept, though not sampled');
    ::is($_[0]{status}{code}, 2, 'ERROR');
}
--- no_error_log
[alert]



=== TEST 16: OTLP/JSON, gzipped: the same spans arrive
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
    infer_otel on;
    infer_otel_endpoint http://127.0.0.1:$TEST_NGINX_OTLP_PORT;
    infer_otel_protocol http/json;
    infer_otel_compression gzip;
    infer_otel_interval 50ms;
    infer_otel_service_name infer-test;
    infer_otel_resource_attribute deployment.environment.name test;
    log_format otel escape=json '{"status":$status,'
        '"trace_id":"$infer_trace_id","span_id":"$infer_span_id",'
        '"traceparent":"$sent_http_traceparent",'
        '"sampled":$infer_trace_sampled}';
    access_log logs/otel.log otel;
--- config
    location = /predict { infer m; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers eval
"Content-Type: application/json\nUser-Agent: caf\xc3\xa9 \xff\xfe"
--- error_code: 200
--- otel: POST /predict, infer.parse, infer.evaluate, infer.respond
--- otel_check eval
sub {
    my ($s) = @_;
    my $reqs = ::control('requests');
    my ($r) = grep { $_->{spans} && $_->{contentType} =~ /json/ } reverse @$reqs;

    ::is($r->{contentEncoding}, 'gzip', 'gzip on the wire');
    ::is($s->{attributes}{'user_agent.original'}, "caf\x{e9} \x{fffd}\x{fffd}",
         'valid UTF-8 out of invalid bytes');
    ::is($s->{attributes}{'http.response.status_code'}, 200, 'the code');
}



=== TEST 17: the metrics' exemplar names an exported trace
--- http_config
    infer_model exemplar $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer exemplar; }
    location = /metrics { infer_metrics format=openmetrics; }
--- request eval
["POST /predict\n" . '{"features":[1,2,3]}', "GET /metrics"]
--- more_headers eval
["Content-Type: application/json\ntraceparent: 00-11112222333344445555666677778888-00f067aa0ba902b7-01", ""]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/prediction/, qr/nginx_infer_request_duration_seconds_bucket\{model="exemplar",le="[^"]+"\} 1 # \{trace_id="11112222333344445555666677778888"\}/]
--- otel: POST /predict, infer.parse, infer.evaluate, infer.respond



=== TEST 18: ... and none for a trace that was not
--- http_config
    infer_model unexported $TEST_NGINX_MODELS/linear3.json;
    infer_otel_sample 0;
--- config
    location = /predict { infer unexported; }
    location = /metrics { infer_metrics format=openmetrics; }
--- request eval
["POST /predict\n" . '{"features":[1,2,3]}', "GET /metrics"]
--- more_headers eval
["Content-Type: application/json", ""]
--- error_code eval
[200, 200]
--- response_body_unlike eval
[qr/^$/, qr/model="unexported",le="[^"]+"\} 1 #/]
--- otel



=== TEST 19: the exporter's own metrics
--- http_config
    infer_model m $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer m; }
    location = /metrics { infer_metrics; }
--- request eval
["POST /predict\n" . '{"features":[1,2,3]}', "GET /metrics"]
--- more_headers eval
["Content-Type: application/json", ""]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/prediction/, qr/nginx_infer_otel_spans_dropped_total\{reason="queue_full"\} 0\n(?s:.*)nginx_infer_otel_exports_total\{outcome="ok"\} \d+\n(?s:.*)nginx_infer_otel_export_duration_seconds_count \d+/]
--- otel: POST /predict, infer.parse, infer.evaluate, infer.respond
