#!/usr/bin/env bash
# Benchmark harness for ngx_http_infer_module.
#
# What it measures: the nginx worker's CPU time per request (utime+stime of
# the single worker process / requests completed), for each case, next to a
# "baseline" location that sends the very same response bytes with a plain
# `return 200`.  Requests/s alone would be misleading on this 2-core box: wrk
# needs as much CPU per request as nginx, so req/s mostly measures whichever
# side runs out of its core first (usually wrk).  CPU time per request is
# what the module costs, however fast the client is.
#
# Noise: CPU/request also grows when the worker is less loaded (fewer events
# per epoll wakeup) and when other processes share the cpus.  Cases run
# interleaved within each round and the summary takes medians; the "oth%"
# column and its warning show when other processes interfered.
#
# Layout: nginx worker pinned on SERVER_CPU (default 0), wrk pinned on
# CLIENT_CPU (default 1); loopback only; every run is bounded by DURATION.
#
# Usage (from anywhere; paths are resolved against the repo root):
#   bench/run.sh
# Environment:
#   MODULE        built module (default build/ngx_http_infer_module.so)
#   DURATION      seconds per timed run (default 5)
#   ROUNDS        rounds; each round runs every case once (default 5)
#   CONNS         wrk connections (default 32); 1 measures unloaded
#                 latency: the summary then gives each case's p50 and p99
#                 beside its reference's instead of CPU ratios
#   GOAL          max acceptable predict/baseline CPU ratio (default 1.15)
#   WARMUP        seconds of unmeasured warm-up per case (default 1; 0 = off)
#   PORT          listen port on 127.0.0.1 (default 18080)
#   SERVER_CPU, CLIENT_CPU   cpus for the nginx worker and wrk (default 0, 1)
#   XGB_MODEL     an XGBoost model (make bench: the 100-tree, depth-6 one from
#                 gen_fixtures.py --bench) and XGB_REQUEST, a request for it:
#                 adds /predict_xgb and its own baseline of the same bytes
#                 (goal GOAL_XGB, 1.20)
#   ONNX_MODEL    the same for an ONNX model and ONNX_REQUEST (make bench: the
#                 MLP 30-64-64-1 of gen_onnx.py --bench): /predict_onnx and
#                 baseline_onnx (goal GOAL_ONNX, 1.15)
#   OTEL=1        adds predict_otel and predict_otel10: /predict with its
#                 spans exported over OTLP at 100% and 10% sampling, to a
#                 sink (a second nginx answering 200, on CLIENT_CPU), each
#                 against predict with export off (goals GOAL_OTEL, 1.10,
#                 and GOAL_OTEL10, 1.03); the spans exported and dropped
#                 are printed after the rounds
#   SINK_PORT     the sink's port (default PORT + 1)
#   BENCH_SELFTEST=1         ignore the module: /predict becomes a second
#                            `return 200` of the same body (ratio must be ~1.00).
#                            Also used automatically when MODULE is missing.
#   NGINX         nginx binary (default /usr/sbin/nginx)
#   SCHED_PROBE   infer_sched_probe for the run (default: the module's, on;
#                 off with SCHED_ATTACH)
#   SCHED_ATTACH  bench/sched_attach (make bench builds it; root): adds
#                 predict_probe, /predict with the scheduler-delay probe
#                 attached to the very same worker for that run only,
#                 against predict without it.  The module's own probe is
#                 then off: two nginx instances of one configuration differ
#                 by more than the probe costs, one worker with and without
#                 it does not.
#
# Exit status: nonzero only when the measurement itself failed (nginx did not
# start, wrong/empty responses, non-2xx, socket errors) - never because of
# the ratio; the ratio verdict is printed as a "GOAL ..." line.

set -euo pipefail

# ---------------------------------------------------------------- settings

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

NGINX=${NGINX:-/usr/sbin/nginx}
export -n NGINX     # nginx reads an exported NGINX as its inherited sockets
MODULE=${MODULE:-build/ngx_http_infer_module.so}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-32}
GOAL=${GOAL:-1.15}
WARMUP=${WARMUP:-1}
PORT=${PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BENCH_SELFTEST=${BENCH_SELFTEST:-0}
SCHED_ATTACH=${SCHED_ATTACH:-}
SCHED_PROBE=${SCHED_PROBE:-${SCHED_ATTACH:+off}}   # on, off, schedstat
OTEL=${OTEL:-0}
SINK_PORT=${SINK_PORT:-$((PORT + 1))}
SINK=$ROOT/build/bench-sink         # the OTLP sink's nginx prefix

PREFIX=$ROOT/build/bench            # nginx prefix: conf/, logs/, temp/
CONF=$PREFIX/conf/nginx.conf
PIDFILE=$PREFIX/logs/nginx.pid
RESULTS=$PREFIX/results.tsv         # one line per timed run (see bench_case)
MODEL_EXAMPLE=$ROOT/conf/models/example-linear.json
CONTENT_TYPE=application/json       # request Content-Type; post.lua sets the same
CLK_TCK=$(getconf CLK_TCK)
MIN_TICKS=100                       # below this, 1-tick (10 ms) granularity is >1% error

# Body served in self-test mode, where there is no module to produce one
# (the size of the module's reply to bench/example.json).
SELFTEST_BODY='{"prediction":6.5,"model_name":"example","model_version":"1","latency_ms":0.060}'

# -------------------------------------------------------------------- cases
#
# A case is "NAME LOCATION LUA_SCRIPT REQUEST_FILE [GOAL [REFERENCE]]".
# A case's CPU/request is divided by its REFERENCE's (default: the first
# case, the baseline), a case with a GOAL other than "-" gets a "GOAL ratio
# <= X: met|not met" verdict, and a reference is a `return 200` of the
# bytes its case sends.  To add a case: add its location in write_conf and
# a line here.

CASES=(
    "baseline    /baseline    bench/post.lua bench/example.json"
    "predict     /predict     bench/post.lua bench/example.json $GOAL"
    "predict_log /predict_log bench/post.lua bench/example.json ${GOAL_LOG:-1.15}"
    "baseline_log /baseline_log bench/post.lua bench/example.json -"
    "predict_lognull /predict_lognull bench/post.lua bench/example.json -"
    "baseline_lognull /baseline_lognull bench/post.lua bench/example.json -"
)

# the other formats' cases: "tag model request goal", each served at
# /predict_TAG next to /baseline_TAG returning the same bytes
EXTRAS=()
[[ -z ${XGB_MODEL:-} ]] \
    || EXTRAS+=("xgb $XGB_MODEL ${XGB_REQUEST:-} ${GOAL_XGB:-1.20}")
[[ -z ${ONNX_MODEL:-} ]] \
    || EXTRAS+=("onnx $ONNX_MODEL ${ONNX_REQUEST:-} ${GOAL_ONNX:-1.15}")
declare -A CAPTURED_EXTRA=()

# ---------------------------------------------------------------- helpers

# log, warn, fcalc, median, to_us, proc_ticks, children_ticks,
# machine_ticks and cpu_mask are bench/lib.sh's, shared with edge.sh and
# tune.sh
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

die()  {
    printf 'bench: FAILED: %s\n' "$*" >&2
    if [[ -s $PREFIX/logs/error.log ]]; then
        log "--- last lines of $PREFIX/logs/error.log:"
        tail -n 20 "$PREFIX/logs/error.log" >&2
    fi
    exit 1
}

# Quote a string as a single-quoted nginx config string.  Inside quotes
# nginx unescapes \\ \' \" \n \r \t; `return` text is a complex value, so a
# literal '$' must come from a variable ($bench_dollar, defined by a geo
# block in write_conf) - there is no escape for it.
nginx_quote() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\'/\\\'}
    s=${s//\$/\$\{bench_dollar\}}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    printf "'%s'" "$s"
}

# ------------------------------------------------------------------ nginx

# Whether to run the real module or the self-test stand-in.
use_module() {
    [[ $BENCH_SELFTEST != 1 && -f $MODULE ]]
}

# Whether predict_otel runs.
use_otel() {
    use_module && [[ $OTEL == 1 ]]
}

# Whether the other formats' end-to-end cases run.
use_extras() {
    use_module && ((${#EXTRAS[@]} > 0))
}

# write_conf BASELINE_BODY BASELINE_TYPE
# The baseline location returns exactly BASELINE_BODY with BASELINE_TYPE,
# baseline_TAG what /predict_TAG answered (CAPTURED_EXTRA[TAG]).
write_conf() {
    local body type predict_loc log_loc load_line="" model_line="" models=""
    local tag model req goal
    body=$(nginx_quote "$1")
    type=$2
    EXTRA_LOCATIONS=
    if use_extras; then
        for e in "${EXTRAS[@]}"; do
            read -r tag model req goal <<<"$e"
            models+="infer_model bench_$tag $model;
    "
            EXTRA_LOCATIONS+="location = /predict_$tag { infer bench_$tag; }
        location = /baseline_$tag {
            default_type \"$type\";
            return 200 $(nginx_quote "${CAPTURED_EXTRA[$tag]:-{\}}");
        }
        "
        done
    fi
    OTEL_LOCATIONS=
    if use_otel; then
        # a queue deep enough for the sink's turns on a busy cpu: a
        # dropped span would be work not measured
        models+="infer_otel_endpoint http://127.0.0.1:$SINK_PORT/v1/traces;
    infer_otel_interval 1s;
    infer_otel_queue 64;
    "
        OTEL_LOCATIONS="location = /predict_otel { infer example; infer_otel on; }
        location = /predict_otel10 {
            infer example;
            infer_otel on;
            infer_otel_sample 0.1;
        }
        location = /metrics { infer_metrics; }
        "
    fi
    if use_module; then
        load_line="load_module $MODULE;"
        model_line="infer_model example $MODEL_EXAMPLE;
    include $ROOT/conf/infer_log_format.conf;
    $models"
        [[ -z $SCHED_PROBE ]] \
            || model_line="$model_line
    infer_sched_probe $SCHED_PROBE;"
        predict_loc="infer example;"
        # metrics are on for every case the module serves; this one also
        # writes the shipped JSON access log, buffered as conf/ does
        log_loc="infer example;
            access_log logs/infer.log infer_json buffer=64k flush=1s;"
        lognull_loc="infer example;
            access_log /dev/null infer_json buffer=64k flush=1s;"
    else
        # Self-test: the same plain return as the baseline, so the harness
        # must report a ratio of ~1.00.
        predict_loc="default_type \"$type\"; return 200 $body;"
        log_loc=$predict_loc
        lognull_loc=$predict_loc
    fi

    mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/temp"
    cat >"$CONF" <<EOF
# Generated by bench/run.sh - do not edit, it is rewritten on every run.
$load_line
worker_processes 1;
worker_cpu_affinity $(cpu_mask "$SERVER_CPU");
master_process on;
daemon on;
pid $PIDFILE;
error_log logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    # Keep the temp dirs inside the prefix (Debian's default is /var/lib/nginx).
    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;

    # wrk's connections must stay open for the whole run: reconnects would
    # be measured too (and 1.22's default closes after 1000 requests).
    keepalive_requests 1000000;
    keepalive_timeout 65s;

    # For nginx_quote: a literal '\$' in a return body.
    geo \$bench_dollar { default "\$"; }

    $model_line

    server {
        listen 127.0.0.1:$PORT;

        location = /predict {
            $predict_loc
        }

        location = /predict_log {
            $log_loc
        }

        # The physical limit of the HTTP path: same request, same response
        # bytes, no module.  (return discards the request body.)
        location = /baseline {
            default_type "$type";
            return 200 $body;
        }

        # What nginx's own access log costs, for scale: the baseline with
        # the stock combined format, buffered as predict_log's.
        location = /baseline_log {
            default_type "$type";
            access_log logs/baseline.log combined buffer=64k flush=1s;
            return 200 $body;
        }

        # The same two logs written to /dev/null: what the lines cost the
        # worker without the file system under them (a log file's pages
        # are allocated and copied in the worker's system time).
        location = /predict_lognull {
            $lognull_loc
        }

        location = /baseline_lognull {
            default_type "$type";
            access_log /dev/null combined buffer=64k flush=1s;
            return 200 $body;
        }

        ${EXTRA_LOCATIONS:-}
        ${OTEL_LOCATIONS:-}
    }
}
EOF
}

# The OTLP sink: nginx answering every export 200, on the client's cpu,
# so that only the exporter's side of an export is in the worker's time.
start_sink() {
    mkdir -p "$SINK/conf" "$SINK/logs" "$SINK/temp"
    cat >"$SINK/conf/nginx.conf" <<EOF
# Generated by bench/run.sh: the OTLP sink of predict_otel.
worker_processes 1;
worker_cpu_affinity $(cpu_mask "$CLIENT_CPU");
daemon on;
pid $SINK/logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path temp;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$SINK_PORT;
        location = /v1/traces { return 200; }
    }
}
EOF
    "$NGINX" -p "$SINK/" -c "$SINK/conf/nginx.conf" ||
        die "the OTLP sink did not start"
}

# the sink's worker's CPU ticks, 0 without a sink
sink_ticks() {
    local master pid
    [[ -s $SINK/logs/nginx.pid ]] || { echo 0; return; }
    master=$(<"$SINK/logs/nginx.pid")
    pid=$(pgrep -P "$master" | head -1)
    if [[ -z $pid ]]; then echo 0; return; fi
    proc_ticks "$pid"
}

stop_sink() {
    [[ -s $SINK/logs/nginx.pid ]] || return 0
    kill -QUIT "$(<"$SINK/logs/nginx.pid")" 2>/dev/null || true
    rm -f "$SINK/logs/nginx.pid"
}

# the exporter's counters, after the rounds: every span must have gone out
print_otel() {
    local m exported dropped
    m=$(curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics") ||
        die "GET /metrics failed"
    exported=$(awk '/^nginx_infer_otel_spans_exported_total / { print $2 }' <<<"$m")
    dropped=$(awk '/^nginx_infer_otel_spans_dropped_total/ { n += $2 } END { print n + 0 }' <<<"$m")
    printf 'otel: %s spans exported to the sink, %s dropped\n' \
        "${exported:-0}" "$dropped"
    [[ $dropped == 0 ]] ||
        warn "spans were dropped: predict_otel measured less than every span"
}

# Pid of the master if our nginx is running (the pid file may be stale, and
# the pid reused by another process: check it is nginx with our prefix).
master_pid() {
    local pid
    [[ -s $PIDFILE ]] || return 1
    pid=$(<"$PIDFILE")
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$PREFIX" || return 1
    printf '%s' "$pid"
}

start_nginx() {
    "$NGINX" -t -q -p "$PREFIX/" -c "$CONF" || die "nginx -t rejected $CONF"
    "$NGINX" -p "$PREFIX/" -c "$CONF" || die "nginx did not start"
    local i
    for ((i = 0; i < 50; i++)); do
        if master_pid >/dev/null && worker_pid >/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "nginx started but no master/worker process appeared"
}

# The single worker: the only child of the master (no cache manager here).
worker_pid() {
    local master pids
    master=$(master_pid) || return 1
    pids=$(pgrep -P "$master") || return 1
    [[ $(wc -w <<<"$pids") -eq 1 ]] || return 1
    printf '%s' "$pids"
}

# Graceful stop (QUIT), bounded; TERM/KILL if it hangs.  Safe to call twice.
stop_nginx() {
    local pid i
    pid=$(master_pid) || return 0
    kill -QUIT "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    warn "nginx master $pid ignored QUIT for 10 s; sending TERM"
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
}

# ------------------------------------------------------------ pre-flight

# post_once LOCATION REQUEST_FILE OUT_BODY -> prints "STATUS CONTENT_TYPE".
post_once() {
    curl -sS --max-time 5 -o "$3" \
        -w '%{http_code} %{content_type}' \
        -H "Content-Type: $CONTENT_TYPE" \
        --data-binary "@$2" \
        "http://127.0.0.1:$PORT$1" || die "curl POST $1 failed"
}

# same_size NAME OUT REF: the module's response may carry per-request
# fields (e.g. a latency figure), so byte equality with the body captured
# once is too strict; but the sizes must stay close, or the baseline no
# longer moves the same bytes and the comparison is unfair.
same_size() {
    local a b
    a=$(wc -c <"$2") b=$(wc -c <"$3")
    cmp -s "$2" "$3" && return 0
    awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d
                                     exit !(d <= 8 || d <= 0.05 * b) }' ||
        die "case $1: $a-byte body vs the reference's $b bytes: $(head -c 200 "$2") vs $(head -c 200 "$3")"
    log "pre-flight $1: body differs from the reference in content only ($a vs $b bytes) - fine"
}

# Check every case answers 200 with a non-empty body, and that the first
# case of each request file (a baseline) sends the same type and (about)
# the same body as every other case with that request (a baseline is only
# a fair yardstick if the bytes on the wire match).
preflight() {
    local -A ref_meta=() ref_name=()
    local c name loc lua req goal meta out
    for c in "${CASES[@]}"; do
        read -r name loc lua req goal <<<"$c"
        [[ -f $lua ]] || die "case $name: no wrk script $lua"
        [[ -f $req ]] || die "case $name: no request file $req"
        out=$PREFIX/preflight-$name.out
        meta=$(post_once "$loc" "$req" "$out")
        [[ ${meta%% *} == 200 ]] || die "case $name: POST $loc -> HTTP ${meta%% *}: $(head -c 300 "$out")"
        [[ -s $out ]] || die "case $name: POST $loc returned an empty body"
        if [[ -z ${ref_meta[$req]:-} ]]; then
            ref_meta[$req]=$meta ref_name[$req]=$name
        else
            # Same request as the reference -> should be the same response.
            [[ $meta == "${ref_meta[$req]}" ]] ||
                die "case $name: status/type '$meta' differs from the reference '${ref_meta[$req]}'"
            same_size "$name" "$out" "$PREFIX/preflight-${ref_name[$req]}.out"
        fi
        log "pre-flight $name: $loc -> $meta, $(wc -c <"$out") bytes: $(head -c 120 "$out")"
    done
}

# Start nginx once with placeholder baselines, POST the example request to
# /predict and keep its exact body and Content-Type in CAPTURED_BODY and
# CAPTURED_TYPE; the other formats' bodies in CAPTURED_EXTRA[TAG].
capture_predict() {
    local out=$PREFIX/predict-capture.out meta extra_meta tag model req goal
    local body
    write_conf '{}' "$CONTENT_TYPE"
    start_nginx
    meta=$(post_once /predict bench/example.json "$out")
    if use_extras; then
        for e in "${EXTRAS[@]}"; do
            read -r tag model req goal <<<"$e"
            extra_meta=$(post_once "/predict_$tag" "$req" "$out.$tag")
            [[ $extra_meta == "$meta" ]] ||
                die "POST /predict_$tag -> $extra_meta: $(head -c 300 "$out.$tag")"
            body=$(cat "$out.$tag"; printf x)
            CAPTURED_EXTRA[$tag]=${body%x}
        done
    fi
    stop_nginx
    [[ ${meta%% *} == 200 ]] || die "POST /predict -> HTTP ${meta%% *}: $(head -c 300 "$out")"
    [[ -s $out ]] || die "POST /predict returned an empty body"
    CAPTURED_TYPE=${meta#* }
    # Keep trailing newlines: command substitution would strip them.
    CAPTURED_BODY=$(cat "$out"; printf x)
    CAPTURED_BODY=${CAPTURED_BODY%x}
    # The type goes into the config in double quotes (default_type sends it
    # verbatim, parameters included); refuse anything that could break that.
    [[ $CAPTURED_TYPE =~ ^[A-Za-z0-9.+/-]+(\;[\ A-Za-z0-9=.+/-]*)?$ ]] ||
        die "unexpected Content-Type from /predict: '$CAPTURED_TYPE'"
}

# ------------------------------------------------------------ measuring

# run_wrk DURATION LOCATION LUA_SCRIPT REQUEST_FILE OUTFILE
run_wrk() {
    timeout $(($1 + 30)) \
        taskset -c "$CLIENT_CPU" \
        wrk -t1 -c"$CONNS" -d"$1"s --latency -s "$3" \
            "http://127.0.0.1:$PORT$2" -- "$(realpath "$4")" >"$5" 2>&1 ||
        die "wrk failed on $2 (exit $?): $(tail -n 5 "$5")"
}

# bench_case ROUND NAME LOCATION LUA_SCRIPT REQUEST_FILE
# One timed run: worker CPU ticks before/after, wrk's request count and
# latency; appends a line to $RESULTS:
#   round name requests ticks cpu_us_per_req req_per_s p50_us p99_us srv% cli% oth%
# (srv/cli/oth: CPU used by the worker / wrk / everything else, in % of one
# cpu over DURATION.)
bench_case() {
    local round=$1 name=$2 loc=$3 lua=$4 req=$5
    local out=$PREFIX/logs/wrk-r$round-$name.txt
    local wpid t0 t1 k0 k1 m0 m1 s0 s1 ticks client other requests non2xx sockerr rps p50 p99

    wpid=$(worker_pid) || die "no nginx worker before $name"
    [[ $name == predict_probe ]] && attach_probe "$wpid"
    t0=$(proc_ticks "$wpid") || die "cannot read /proc/$wpid/stat (worker died?)"
    k0=$(children_ticks)
    m0=$(machine_ticks)
    s0=$(sink_ticks)
    run_wrk "$DURATION" "$loc" "$lua" "$req" "$out"
    s1=$(sink_ticks)
    m1=$(machine_ticks)
    k1=$(children_ticks)
    t1=$(proc_ticks "$wpid") || die "cannot read /proc/$wpid/stat (worker died?)"
    [[ $name == predict_probe ]] && detach_probe
    [[ $(worker_pid) == "$wpid" ]] || die "nginx worker changed during $name (crash?)"

    # "  123456 requests in 5.00s, 20.00MB read"
    requests=$(awk '/ requests in / { print $1 }' "$out")
    # Present only when some status was >= 400 (wrk's count, despite the text).
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' "$out")
    # "  Socket errors: connect 0, read 0, write 0, timeout 0"
    sockerr=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")

    [[ $requests =~ ^[0-9]+$ && $requests -gt 0 ]] ||
        die "$name: no request count in wrk output: $(cat "$out")"
    [[ -z $non2xx || $non2xx == 0 ]] ||
        die "$name: $non2xx error responses out of $requests - benchmarking errors measures nothing"
    [[ -z $sockerr || $sockerr == 0 ]] ||
        die "$name: socket errors ($(grep 'Socket errors' "$out" | sed 's/^ *//'))"
    [[ -n $rps && -n $p50 && -n $p99 ]] || die "$name: cannot parse wrk output: $(cat "$out")"
    p50=$(to_us "$p50") || die "$name: bad p50"
    p99=$(to_us "$p99") || die "$name: bad p99"

    ticks=$((t1 - t0))
    ((ticks >= MIN_TICKS)) ||
        warn "$name round $round: worker used only $ticks ticks (1 tick = $((1000 / CLK_TCK)) ms); raise DURATION for a precise CPU figure"
    client=$((k1 - k0 + s1 - s0))      # the sink serves the client side
    other=$((m1 - m0 - ticks - client))
    if ((other < 0)); then other=0; fi   # /proc/stat is tick-sampled: small negatives happen
    other=$(fcalc "100 * $other / $CLK_TCK / $DURATION")
    if awk -v o="$other" 'BEGIN { exit !(o > 10) }'; then
        warn "$name round $round: other processes used $(printf %.0f "$other")% of a cpu during the run; its CPU figure is likely inflated"
    fi

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$requests" "$ticks" \
        "$(fcalc "$ticks / $CLK_TCK / $requests * 1e6")" "$rps" "$p50" "$p99" \
        "$(fcalc "100 * $ticks / $CLK_TCK / $DURATION")" \
        "$(fcalc "100 * $client / $CLK_TCK / $DURATION")" "$other" >>"$RESULTS"
}

# attach_probe PID: the probe on the worker until detach_probe
attach_probe() {
    local i
    : >"$PREFIX/logs/attach.out"
    "$SCHED_ATTACH" "$1" >"$PREFIX/logs/attach.out" 2>&1 &
    ATTACH_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '^attached' "$PREFIX/logs/attach.out" && return 0
        kill -0 "$ATTACH_PID" 2>/dev/null ||
            die "sched_attach: $(cat "$PREFIX/logs/attach.out")"
        sleep 0.05
    done
    die "sched_attach did not attach in 5 s"
}

detach_probe() {
    kill -TERM "$ATTACH_PID" 2>/dev/null || true
    wait "$ATTACH_PID" 2>/dev/null || true
    ATTACH_PID=
    log "probe: $(tail -1 "$PREFIX/logs/attach.out")"
}

# ------------------------------------------------------------- reporting

print_header() {
    printf '%-6s %-14s %10s %6s %9s %10s %9s %9s %5s %5s %5s\n' \
        round case requests ticks 'cpu/req' 'req/s' p50 p99 'srv%' 'cli%' 'oth%'
}

print_round() {
    awk -F'\t' -v r="$1" '$1 == r {
        printf "%-6s %-14s %10d %6d %6.2f us %10.0f %6.0f us %6.0f us %5.0f %5.0f %5.0f\n",
               $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$RESULTS"
}

# column of one case over all rounds: case_values NAME FIELD
case_values() {
    awk -F'\t' -v n="$1" -v f="$2" '$2 == n { print $f }' "$RESULTS"
}

print_summary() {
    local c name loc lua req goal ref first="" cpu rps p50 p99 ratio verdict
    log ""
    printf 'Summary: median of %s rounds, %s s each, %s connections, mode: %s\n' \
        "$ROUNDS" "$DURATION" "$CONNS" "$MODE"
    for c in "${CASES[@]}"; do
        read -r name loc lua req goal <<<"$c"
        cpu=$(case_values "$name" 5 | median)
        rps=$(case_values "$name" 6 | median)
        p50=$(case_values "$name" 7 | median)
        p99=$(case_values "$name" 8 | median)
        printf '  %-13s cpu/req %6.2f us   %8.0f req/s   p50 %5.0f us   p99 %5.0f us\n' \
            "$name" "$cpu" "$rps" "$p50" "$p99"
        first=${first:-$name}
        CASE_CPU[$name]=$cpu
    done
    local busy
    busy=$(awk -F'\t' '$11 > 10 { n++ } END { print n + 0 }' "$RESULTS")
    if ((busy > 0)); then
        printf 'NOTE: %s of %s runs shared the machine with other processes (oth%% > 10): CPU figures are inflated and the ratio noisier; rerun when the machine is quiet.\n' \
            "$busy" "$(wc -l <"$RESULTS")"
    fi
    if ((CONNS == 1)); then
        print_latency "$first"
        return
    fi
    for c in "${CASES[@]}"; do
        read -r name loc lua req goal ref <<<"$c"
        [[ -n $goal ]] || continue          # a reference
        ref=${ref:-$first}
        cpu=${CASE_CPU[$name]}
        # The ratio is the median of the rounds' own ratios: a case and its
        # reference run back to back (ABBA), so a round's ratio compares
        # like with like, while the host's load moves every case's CPU
        # from one round to the next (a baseline of 12 to 17 us).  The
        # ratio of the medians, which mixes rounds, is printed beside it.
        ratio=$(round_ratios "$name" "$ref" | tr ' ' '\n' | median)
        printf '%-13s cpu/req %.2f us   %s %.2f us   ratio %.2f   (median of %s rounds'"'"' ratios; of the medians: %.2f)\n' \
            "$name" "$cpu" "$ref" "${CASE_CPU[$ref]}" "$ratio" "$ROUNDS" \
            "$(fcalc "$cpu / ${CASE_CPU[$ref]}")"
        # Per-round ratios show how much the headline ratio can be trusted.
        printf '              per-round %s/%s: %s\n' "$name" "$ref" "$(round_ratios "$name" "$ref")"
        if [[ $goal != - ]]; then
            verdict="not met"
            if awk -v r="$ratio" -v g="$goal" 'BEGIN { exit !(sprintf("%.2f", r) + 0 <= g + 0) }'; then
                verdict="met"
            fi
            printf 'GOAL ratio <= %s: %s\n' "$goal" "$verdict"
        fi
    done
}

# One connection (CONNS=1): what a caller waiting for each answer feels,
# request after request with nothing else in flight.  Each case's p50 and
# p99 (medians over the rounds) beside its reference's, and the difference
print_latency() {
    local c name loc lua req goal ref p50 p99 r50 r99
    printf 'Unloaded latency (one connection, wrk --latency; medians of %s rounds):\n' "$ROUNDS"
    for c in "${CASES[@]}"; do
        read -r name loc lua req goal ref <<<"$c"
        [[ -n $goal && $goal != - ]] || continue        # a reference
        ref=${ref:-$1}
        p50=$(case_values "$name" 7 | median)
        p99=$(case_values "$name" 8 | median)
        r50=$(case_values "$ref" 7 | median)
        r99=$(case_values "$ref" 8 | median)
        printf '  %-13s p50 %6.1f us (%s %6.1f, %+5.1f)   p99 %6.1f us (%s %6.1f, %+5.1f)\n' \
            "$name" "$p50" "$ref" "$r50" "$(fcalc "$p50 - $r50")" \
            "$p99" "$ref" "$r99" "$(fcalc "$p99 - $r99")"
    done
}

# What predict_log's file costs the worker beside predict_lognull's
# /dev/null: the bytes of a line, and the system time of writing 256 MB to
# a new file beside the log, then again into the pages it now has in the
# page cache.  On a VM whose hypervisor takes freed pages back (free page
# reporting), a page cache that grows faults in every new page, which the
# first rate shows; a server whose page cache recycles its own pages pays
# about the second.
print_log_file_cost() {
    local log=$PREFIX/logs/infer.log scratch=$PREFIX/logs/fs-cost.tmp
    local lines bytes fresh cached TIMEFORMAT=%3S
    [[ -s $log ]] || return 0
    lines=$(wc -l <"$log")
    bytes=$(stat -c %s "$log")
    ((lines > 0)) || return 0
    rm -f "$scratch"
    fresh=$( { time dd if=/dev/zero of="$scratch" bs=64k count=4096 \
                   status=none; } 2>&1 )
    cached=$( { time dd if=/dev/zero of="$scratch" bs=64k count=4096 \
                    conv=notrunc status=none; } 2>&1 )
    rm -f "$scratch"
    printf 'the log file: %.0f bytes a line (%s lines); writing 256 MB to a new file there: %.2f ns a byte of system time, into its cached pages again: %.2f\n' \
        "$(fcalc "$bytes / $lines")" "$lines" \
        "$(fcalc "$fresh * 1e9 / 268435456")" \
        "$(fcalc "$cached * 1e9 / 268435456")"
    printf '              a line at these rates: %.2f us and %.2f us (predict_log - predict_lognull: %.2f us)\n' \
        "$(fcalc "$fresh * 1e6 / 268435456 * $bytes / $lines")" \
        "$(fcalc "$cached * 1e6 / 268435456 * $bytes / $lines")" \
        "$(fcalc "${CASE_CPU[predict_log]:-0} - ${CASE_CPU[predict_lognull]:-0}")"
}

round_ratios() {
    awk -F'\t' -v a="$1" -v b="$2" '
        $2 == a { x[$1] = $5 } $2 == b { y[$1] = $5 }
        END { for (r = 1; r in x; r++) printf "%s%.3f", (r > 1 ? " " : ""), x[r] / y[r]; print "" }' "$RESULTS"
}

# ------------------------------------------------------------------ main

# Indices into CASES for round $1: in order on odd rounds, reversed on even.
round_order() {
    local i n=${#CASES[@]}
    for ((i = 0; i < n; i++)); do
        if (($1 % 2)); then echo "$i"; else echo "$((n - 1 - i))"; fi
    done
}

cleanup() {
    [[ -n ${ATTACH_PID:-} ]] && kill -TERM "$ATTACH_PID" 2>/dev/null
    stop_nginx || true
    stop_sink || true
    rm -f "$PREFIX/logs/infer.log" "$PREFIX/logs/baseline.log"
}

main() {
    local c name loc lua req goal r
    declare -gA CASE_CPU=()

    [[ -x $NGINX ]] || die "no nginx at $NGINX"
    command -v wrk >/dev/null || die "wrk not installed"
    command -v taskset >/dev/null || die "taskset not installed"
    [[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || die "DURATION must be a whole number of seconds"
    [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 ]] || die "ROUNDS must be >= 1"
    [[ $MODULE == /* ]] || MODULE=$ROOT/$MODULE   # load_module resolves against the prefix

    if use_module; then
        MODE="module $MODULE"
        [[ -f $MODEL_EXAMPLE ]] || die "model file $MODEL_EXAMPLE missing"
    else
        MODE="SELF-TEST (no module: /predict is a plain return; expect ratio ~1.00)"
        [[ $BENCH_SELFTEST == 1 ]] || die "$MODULE not found (build it with make, or set BENCH_SELFTEST=1)"
    fi
    log "bench: $MODE"
    log "bench: nginx worker on cpu $SERVER_CPU, wrk on cpu $CLIENT_CPU, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

    mkdir -p "$PREFIX/logs"
    # A previous run killed hard may have left our nginx behind.
    stop_nginx
    trap cleanup EXIT
    # The access logs grow by a few hundred MB a run: start empty, and
    # cleanup removes them.
    rm -f "$PREFIX/logs/infer.log" "$PREFIX/logs/baseline.log"
    : >"$PREFIX/logs/error.log"

    # 1. The baseline must send what /predict sends: ask /predict first.
    if use_module && [[ -n $SCHED_ATTACH && $(id -u) != 0 ]]; then
        warn "not root: no predict_probe case (the probe needs CAP_BPF)"
    elif use_module && [[ -n $SCHED_ATTACH ]]; then
        [[ -x $SCHED_ATTACH ]] || die "SCHED_ATTACH: no $SCHED_ATTACH"
        # next to predict, so that ABBA rounds run the pair back to back
        CASES=("${CASES[@]:0:2}"
               "predict_probe /predict bench/post.lua bench/example.json ${GOAL_SCHED:-1.03} predict"
               "${CASES[@]:2}")
    fi
    if use_extras; then
        for e in "${EXTRAS[@]}"; do
            read -r tag model req goal <<<"$e"
            [[ -f $model && -f $req ]] ||
                die "no model $model or request $req for /predict_$tag"
            CASES+=(
                "baseline_$tag /baseline_$tag bench/post.lua $req"
                "predict_$tag  /predict_$tag  bench/post.lua $req $goal baseline_$tag"
            )
        done
    fi
    if use_otel; then
        # next to predict, their reference, for ABBA rounds
        CASES=("${CASES[@]:0:2}"
               "predict_otel /predict_otel bench/post.lua bench/example.json ${GOAL_OTEL:-1.10} predict"
               "predict_otel10 /predict_otel10 bench/post.lua bench/example.json ${GOAL_OTEL10:-1.03} predict"
               "${CASES[@]:2}")
        start_sink
    fi
    if use_module; then
        capture_predict
    else
        CAPTURED_BODY=$SELFTEST_BODY CAPTURED_TYPE=$CONTENT_TYPE
    fi

    # 2. The real configuration.
    write_conf "$CAPTURED_BODY" "$CAPTURED_TYPE"
    start_nginx
    preflight

    # 3. Warm-up (caches, TCP, CPU frequency); not recorded.
    if ((WARMUP > 0)); then
        for c in "${CASES[@]}"; do
            read -r name loc lua req goal <<<"$c"
            run_wrk "$WARMUP" "$loc" "$lua" "$req" "$PREFIX/logs/wrk-warmup-$name.txt"
        done
    fi

    # 4. Rounds: every case once per round, so slow drifts of the machine
    #    hit all cases alike; even rounds run the cases in reverse order
    #    (ABBA) so that running first or second biases no case.
    : >"$RESULTS"
    print_header
    for ((r = 1; r <= ROUNDS; r++)); do
        for c in $(round_order "$r"); do
            read -r name loc lua req goal <<<"${CASES[c]}"
            bench_case "$r" "$name" "$loc" "$lua" "$req"
        done
        print_round "$r"
    done

    print_summary
    if use_module && ((CONNS > 1)); then
        print_log_file_cost
    fi
    if use_otel; then
        print_otel
    fi
    if grep -q '\[\(alert\|crit\|emerg\)\]' "$PREFIX/logs/error.log"; then
        die "nginx logged alerts during the run"
    fi
    stop_nginx
}

main "$@"
