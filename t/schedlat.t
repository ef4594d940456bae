# The scheduler-delay probe, as any user sees it: infer_sched_probe's
# three modes, the families /metrics shows for each, the per-request
# histogram and $infer_sched_delay_us.  With the probe's privileges (root)
# the source is "bpf", without them "schedstat": both are accepted here.
# What needs a CPU hog, capsh and the kernel's own accounting is in
# scripts/test-schedlat-live.sh.

use Test::Nginx::Socket 'no_plan';

master_on();
workers(2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: on by default: a source, each worker's total, the request histogram
--- http_config
    infer_model s1 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s1; }
    location = /metrics { infer_metrics; }
--- request eval
[ ("POST /predict\n{\"features\":[1,2,3]}") x 3,
  "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ (200) x 4 ]
--- response_body_like eval
[ ('^\{"prediction":6,') x 3,
  qr{(?=.*^nginx_infer_sched_probe_source\{source="none"\}[ ]0$)
     (?=.*^nginx_infer_sched_probe_source\{source="(bpf|schedstat)"\}[ ]1$)
     (?=.*^nginx_infer_sched_wait_seconds_total\{worker="0"\}[ ][0-9.e-]+$)
     (?=.*^nginx_infer_sched_wait_seconds_total\{worker="1"\}[ ][0-9.e-]+$)
     (?=.*^\#[ ]TYPE[ ]nginx_infer_request_sched_delay_seconds[ ]histogram$)
     (?=.*^nginx_infer_request_sched_delay_seconds_count\{model="s1"\}[ ]3$)}msx ]
--- no_error_log
[alert]
[emerg]



=== TEST 2: the variable: a number of microseconds for the module's requests
--- http_config
    log_format sl 'sched=$infer_sched_delay_us uri=$uri';
    access_log logs/access.log sl;
    infer_model s2 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s2; }
--- request
POST /predict
{"features":[1,2,3]}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- access_log eval
qr{^sched=\d+ uri=/predict$}
--- no_error_log
[alert]
[emerg]



=== TEST 3: the variable is 0 where the module did not serve
--- http_config
    log_format sl 'sched=$infer_sched_delay_us uri=$uri';
    access_log logs/access.log sl;
    infer_model s2 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s2; }
    location = /other { return 204; }
--- request
GET /other
--- error_code: 204
--- access_log eval
qr{^sched=0 uri=/other$}
--- no_error_log
[alert]
[emerg]



=== TEST 4: off: nothing loaded, the source "none", no per-worker series
--- http_config
    infer_sched_probe off;
    log_format sl 'sched=$infer_sched_delay_us';
    access_log logs/access.log sl;
    infer_model s3 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s3; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3]}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '^\{"prediction":6,',
  qr{(?=.*^nginx_infer_sched_probe_source\{source="none"\}[ ]1$)
     (?=.*^nginx_infer_sched_probe_source\{source="bpf"\}[ ]0$)
     (?!.*sched_wait_seconds_total)
     (?!.*^nginx_infer_sched_delay_seconds)
     (?!.*request_sched_delay_seconds\{model="s3"\})}msx ]
--- access_log eval
[ qr{^sched=0$}, qr{^sched=0$} ]
--- no_error_log
BPF probe
[alert]
[emerg]



=== TEST 5: schedstat: the fallback asked for, no histogram per worker
--- http_config
    infer_sched_probe schedstat;
    infer_model s4 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s4; }
    location = /metrics { infer_metrics; }
--- request eval
[ "POST /predict\n{\"features\":[1,2,3]}", "GET /metrics" ]
--- more_headers
Content-Type: application/json
--- error_code eval
[ 200, 200 ]
--- response_body_like eval
[ '^\{"prediction":6,',
  qr{(?=.*^nginx_infer_sched_probe_source\{source="schedstat"\}[ ]1$)
     (?=.*^nginx_infer_sched_wait_seconds_total\{worker="0"\}[ ][0-9.e-]+$)
     (?!.*^nginx_infer_sched_delay_seconds)
     (?=.*^nginx_infer_request_sched_delay_seconds_count\{model="s4"\}[ ]1$)}msx ]
--- no_error_log
[alert]
[emerg]



=== TEST 6: an unknown mode fails the configuration
--- http_config
    infer_sched_probe maybe;
    infer_model s5 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s5; }
--- must_die
--- error_log
invalid value "maybe"



=== TEST 7: only in the http block
--- http_config
    infer_model s6 $TEST_NGINX_MODELS/linear3.json;
--- config
    location = /predict { infer s6; infer_sched_probe off; }
--- must_die
--- error_log
"infer_sched_probe" directive is not allowed here
