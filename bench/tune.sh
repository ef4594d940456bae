#!/usr/bin/env bash
# What the nginx settings around the module change (make bench-tune): for
# the shipped /predict (the linear example model, and the 100-tree XGBoost
# bench model with one row or a batch of 1000), each setting against
# nginx's default in the same run.  As bench/run.sh: the nginx worker's
# utime+stime from /proc over a wrk run, divided by the requests, the
# worker pinned to SERVER_CPU and wrk to CLIENT_CPU, cases interleaved in
# rounds (ABBA), the figure a median of the rounds' own ratios to the
# default.  Each run also counts the worker's read and write system calls
# (/proc/PID/io syscr, syscw) per request.
#
#   instructions  callgrind, one nginx process (NGINX_SYMBOLS, the nginx
#                 with symbols of scripts/build-nginx-symbols.sh): user-space
#                 instructions a request and the calls to nginx's pool
#                 (ngx_palloc_block: the pool grows; ngx_palloc_large: a
#                 malloc), with request_pool_size 4k (nginx's default), 8k
#                 and 16k, and client_body_buffer_size 16k (the default
#                 here, two pages) against 1m (k8s/)
#   pool          request_pool_size 4k / 8k / 16k, linear and XGBoost
#   body          client_body_buffer_size 16k / 1m: a one-row request, and
#                 a batch of 1000 XGBoost rows (~350 KB), which at 16k goes
#                 through a temporary file (the error log's "buffered to a
#                 temporary file" lines are counted)
#   log           the shipped infer_json access log, unbuffered against
#                 buffer=64k flush=1s, and no log
#   affinity      two workers (reuseport, as k8s/), worker_cpu_affinity auto
#                 against none; wrk is not pinned and competes for the same
#                 two cpus: CPU of both workers per request, p50, p99
#   threads       infer_thread_pool: a small /predict's latency (one
#                 connection) while BATCH_CONNS connections send 1000-row
#                 batches, the batch inline, on the pool (threshold=50us,
#                 the default) and with threshold=1ms (which the batch's
#                 estimated cost stays under: inline); and a small
#                 request's CPU with threshold=0us (every request handed
#                 off) against inline.  The pool's threads inherit the
#                 worker's cpu.
#
#   bench/tune.sh   (from anywhere)
#   MODULE        the module (default build/ngx_http_infer_module.so; copied
#                 once at the start, so a rebuild during the run changes
#                 nothing)
#   XGB_MODEL, XGB_ROWS  the bench model and its rows (default
#                 build/bench/bench_100x6.json, bench_rows.f32: make
#                 bench-tune makes them); XGB_REQUEST its one-row request
#   SECTIONS      which parts run (default: all, in the order above)
#   DURATION (2), ROUNDS (5), CONNS (32), BATCH_CONNS (2), WARMUP (1),
#   REQUESTS (2000, callgrind; batches 40), PORT (18280: PORT..PORT+9),
#   SERVER_CPU (0), CLIENT_CPU (1), NGINX (/usr/sbin/nginx)
#   BENCH_LOCK    a file to flock(1) around each timed section (the CPU
#                 runs, never callgrind), so that benchmarks of other
#                 sessions sharing the machine do not overlap them
#
# Exit status: nonzero only when the measurement failed (an nginx that
# does not start, a non-2xx answer, socket errors).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

NGINX=${NGINX:-/usr/sbin/nginx}
export -n NGINX     # nginx reads an exported NGINX as its inherited sockets
MODULE=${MODULE:-build/ngx_http_infer_module.so}
XGB_MODEL=$(realpath "${XGB_MODEL:-build/bench/bench_100x6.json}")
XGB_ROWS=$(realpath "${XGB_ROWS:-build/bench/bench_rows.f32}")
XGB_REQUEST=$(realpath "${XGB_REQUEST:-build/bench/bench_row.json}")
SECTIONS=${SECTIONS:-instructions pool body log affinity threads}
DURATION=${DURATION:-2}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-32}
BATCH_CONNS=${BATCH_CONNS:-2}
WARMUP=${WARMUP:-1}
REQUESTS=${REQUESTS:-2000}
PORT=${PORT:-18280}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BENCH_LOCK=${BENCH_LOCK:-}
W=$ROOT/build/bench-tune
RESULTS=$W/results.tsv
CLK_TCK=$(getconf CLK_TCK)
LIN_REQ=$ROOT/bench/example.json
BATCH_REQ=$W/batch1000.json
SPILL='a client request body is buffered to a temporary file'

die() {
    printf 'bench/tune: FAILED: %s\n' "$*" >&2
    exit 1
}

# ------------------------------------------------------------------ nginx

# the servers of the main instance: port offset, the setting they differ by
SERVERS=(
    "0 -"
    "1 request_pool_size 8k;"
    "2 request_pool_size 16k;"
    "3 client_body_buffer_size 1m;"
)

# server_blocks: one server per SERVERS line, the same locations in each
server_blocks() {
    local s off set
    for s in "${SERVERS[@]}"; do
        read -r off set <<<"$s"
        [[ $set != - ]] || set=
        cat <<EOF
    server {
        listen 127.0.0.1:$((PORT + off));
        $set
        location = /predict { infer example; }
        location = /predict_xgb { infer xgb; }
        location = /log_nobuf {
            infer example;
            access_log $1/nobuf.log infer_json;
        }
        location = /log_buf {
            infer example;
            access_log $1/buf.log infer_json buffer=64k flush=1s;
        }
    }
EOF
    done
}

# conf DIR MASTER(on|off) WORKERS AFFINITY(- for none) LISTEN_EXTRA MODE
# MODE main: the SERVERS; threads: a thread pool and its locations; affinity:
# one server on PORT+4 (auto) or PORT+5 (none), reuseport as k8s/
conf() {
    local d=$1 aff=""
    mkdir -p "$d/temp"
    [[ $4 == - ]] || aff="worker_cpu_affinity $4;"
    {
        cat <<EOF
# Generated by bench/tune.sh - rewritten on every run.
load_module $TUNE_MODULE;
master_process $2;
daemon on;
worker_processes $3;
$aff
pid $d/nginx.pid;
error_log $d/error.log warn;
${THREAD_POOL:-}
events { worker_connections 1024; }

http {
    access_log off;
    client_body_temp_path $d/temp;
    client_max_body_size 4m;
    # wrk's connections stay open for the whole run
    keepalive_requests 1000000;
    include $ROOT/conf/infer_log_format.conf;
    infer_model example $ROOT/conf/models/example-linear.json;
    infer_model xgb $XGB_MODEL;
EOF
        case $5 in
        main) server_blocks "$d" ;;
        affinity)
            cat <<EOF
    server {
        listen 127.0.0.1:$6 reuseport;
        location = /predict { infer example; }
    }
EOF
            ;;
        threads)
            cat <<EOF
    server {
        listen 127.0.0.1:$((PORT + 6));
        location = /predict { infer example; }
        location = /predict_tp0 {
            infer_thread_pool tune threshold=0us;
            infer example;
        }
        location = /batch_inline { infer xgb; }
        location = /batch_tp50us {
            infer_thread_pool tune threshold=50us;
            infer xgb;
        }
        location = /batch_tp1ms {
            infer_thread_pool tune threshold=1ms;
            infer xgb;
        }
    }
EOF
            ;;
        esac
        echo "}"
    } >"$d/nginx.conf"
}

start() {       # start DIR
    "$NGINX" -t -q -c "$1/nginx.conf" 2>"$1/t.err" || die "nginx -t $1: $(cat "$1/t.err")"
    "$NGINX" -c "$1/nginx.conf" 2>"$1/start.err" || die "nginx $1 did not start: $(cat "$1/start.err")"
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s $1/nginx.pid ]] && pgrep -P "$(cat "$1/nginx.pid")" >/dev/null && return 0
        sleep 0.1
    done
    die "nginx $1: no worker"
}

stop() {        # stop DIR
    local pid i
    [[ -s $1/nginx.pid ]] || return 0
    pid=$(cat "$1/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

workers() { pgrep -P "$(cat "$1/nginx.pid")" | tr '\n' ' '; }

cleanup() {
    local d
    for d in main aff_auto aff_none threads; do stop "$W/$d"; done
    [[ -z ${VG:-} ]] || { kill "$VG" 2>/dev/null; wait "$VG" 2>/dev/null; }
    rm -f "$W"/*/nobuf.log "$W"/*/buf.log
    return 0
}

# post PORT PATH REQUEST: the status and the body's start
post() {
    curl -sS --max-time 10 -o "$W/post.out" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary "@$3" \
        "http://127.0.0.1:$1$2" || die "POST :$1$2 failed"
}

check() {       # check PORT PATH REQUEST: must answer 200
    local s
    s=$(post "$@")
    [[ $s == 200 ]] || die "POST :$1$2 -> $s: $(head -c 300 "$W/post.out")"
}

# ------------------------------------------------------------ timed runs

# lock/unlock: BENCH_LOCK around a section's timed runs
lock() {
    [[ -n $BENCH_LOCK ]] || return 0
    exec 9>>"$BENCH_LOCK"
    log "tune: waiting for $BENCH_LOCK"
    flock 9
}
unlock() {
    [[ -n $BENCH_LOCK ]] || return 0
    flock -u 9
    exec 9>&-
}

# wrk_run SECONDS CONNS CPUS URL REQUEST OUT
wrk_run() {
    timeout $(($1 + 30)) taskset -c "$3" \
        wrk -t1 -c"$2" -d"$1"s --latency -s bench/post.lua "$4" -- "$5" \
        >"$6" 2>&1 || die "wrk $4 (exit $?): $(tail -n 5 "$6")"
}

# wrk_fields OUT NAME: "requests rps p50_us p99_us", checked for errors
wrk_fields() {
    local n rps p50 p99
    n=$(awk '/ requests in / { print $1 }' "$1")
    [[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || die "$2: no request count: $(cat "$1")"
    ! grep -q 'Non-2xx\|Socket errors' "$1" ||
        die "$2: $(grep 'Non-2xx\|Socket errors' "$1")"
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$1")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$1")") || die "$2: no p50"
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$1")") || die "$2: no p99"
    echo "$n $rps $p50 $p99"
}

# thread_ticks PID: CPU ticks of the process's threads but its first (the
# pool's threads, for a worker)
thread_ticks() {
    local t sum=0 v
    for t in /proc/"$1"/task/*; do
        [[ ${t##*/} != "$1" ]] || continue
        v=$(<"$t/stat") 2>/dev/null || continue
        v=${v##*) }
        sum=$((sum + $(awk '{ print $12 + $13 }' <<<"$v")))
    done
    echo "$sum"
}

# measure ROUND NAME DIR PORT PATH REQUEST CONNS WRK_CPUS [BG_PATH]
# One timed run against the workers of DIR; with BG_PATH, BATCH_CONNS
# connections send the batch there meanwhile (the threads section).
# Appends to RESULTS:
#   round name requests ticks cpu_us rps p50 p99 syscw/req syscr/req oth%
#   spills/req thread_ticks bg_requests bg_p50
measure() {
    local round=$1 name=$2 d=$3 port=$4 path=$5 req=$6 conns=$7 cpus=$8 bg=${9:-}
    local out=$W/logs/wrk-$round-$name.txt pids p t0=0 t1=0 r0=0 r1=0 w0=0 w1=0
    local h0=0 h1=0 k0 k1 m0 m1 e0 e1 f n rps p50 p99 bgpid="" bgf=- bgn=0 bgp50=0 rw
    pids=$(workers "$d")
    [[ -n $pids ]] || die "$name: no worker"
    for p in $pids; do
        t0=$((t0 + $(proc_ticks "$p"))) h0=$((h0 + $(thread_ticks "$p")))
        read -r a b < <(proc_syscalls "$p"); r0=$((r0 + a)) w0=$((w0 + b))
    done
    e0=$(grep -c "$SPILL.*:$port\"" "$d/error.log" || true)
    k0=$(children_ticks) m0=$(machine_task_ticks)
    if [[ -n $bg ]]; then
        bgf=$W/logs/wrk-$round-$name-batch.txt
        timeout $((DURATION + 31)) taskset -c "$cpus" \
            wrk -t1 -c"$BATCH_CONNS" -d"$((DURATION + 1))"s --latency \
                -s bench/post.lua "http://127.0.0.1:$port$bg" -- "$BATCH_REQ" \
                >"$bgf" 2>&1 &
        bgpid=$!
        sleep 0.5
    fi
    wrk_run "$DURATION" "$conns" "$cpus" "http://127.0.0.1:$port$path" "$req" "$out"
    if [[ -n $bgpid ]]; then
        wait "$bgpid" || die "the batch wrk of $name failed: $(tail -n 5 "$bgf")"
        f=$(wrk_fields "$bgf" "$name batch")
        read -r bgn _ bgp50 _ <<<"$f"
    fi
    k1=$(children_ticks) m1=$(machine_task_ticks)
    for p in $pids; do
        t1=$((t1 + $(proc_ticks "$p"))) h1=$((h1 + $(thread_ticks "$p")))
        read -r a b < <(proc_syscalls "$p"); r1=$((r1 + a)) w1=$((w1 + b))
    done
    [[ $(workers "$d") == "$pids" ]] || die "$name: a worker changed (crash?)"
    e1=$(grep -c "$SPILL.*:$port\"" "$d/error.log" || true)
    f=$(wrk_fields "$out" "$name")
    read -r n rps p50 p99 <<<"$f"
    # the requests a worker's time is divided by: with a batch beside,
    # both kinds (its CPU is mostly the batches')
    rw=$((n + bgn))
    local other=$(((m1 - m0) - (t1 - t0) - (k1 - k0)))
    ((other > 0)) || other=0
    awk -v r="$round" -v c="$name" -v n="$n" -v rw="$rw" -v t=$((t1 - t0)) -v hz="$CLK_TCK" \
        -v rps="$rps" -v p50="$p50" -v p99="$p99" -v w=$((w1 - w0)) -v rr=$((r1 - r0)) \
        -v o="$other" -v d="$DURATION" -v e=$((e1 - e0)) -v h=$((h1 - h0)) \
        -v bn="$bgn" -v bp="$bgp50" 'BEGIN {
        printf "%s\t%s\t%d\t%d\t%.3f\t%.0f\t%.1f\t%.1f\t%.3f\t%.3f\t%.0f\t%.3f\t%d\t%d\t%.0f\n",
            r, c, n, t, t / hz / rw * 1e6, rps, p50, p99, w / rw, rr / rw,
            100 * o / hz / d, e / rw, h, bn, bp }' >>"$RESULTS"
    # the unbuffered log grows by a few hundred MB a section
    : >"$d/nobuf.log" 2>/dev/null || true
    : >"$d/buf.log" 2>/dev/null || true
}

# section NAME CASE...: each CASE "name dir port path request conns cpus
# [bg_path]"; a warm-up each, then ROUNDS rounds in ABBA order
section() {
    local title=$1 c i r n
    shift
    local cases=("$@")
    n=${#cases[@]}
    lock
    log "tune: $title (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
    if ((WARMUP > 0)); then
        for c in "${cases[@]}"; do
            read -r name d port path req conns cpus bg <<<"$c"
            wrk_run "$WARMUP" "$conns" "$cpus" "http://127.0.0.1:$port$path" "$req" "$W/logs/warm.txt"
        done
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((i = 0; i < n; i++)); do
            if ((r % 2)); then c=${cases[i]}; else c=${cases[n - 1 - i]}; fi
            read -r name d port path req conns cpus bg <<<"$c"
            measure "$r" "$name" "$d" "$port" "$path" "$req" "$conns" "$cpus" "$bg"
        done
    done
    unlock
}

# ------------------------------------------------------------- reporting

col() { awk -F'\t' -v c="$1" -v k="$2" '$2 == c { print $k }' "$RESULTS" | median; }
# the median of the rounds' own CPU ratios
ratio() {
    awk -F'\t' -v a="$1" -v b="$2" '$2 == a { x[$1] = $5 } $2 == b { y[$1] = $5 }
        END { for (r in x) if (y[r] > 0) print x[r] / y[r] }' "$RESULTS" | median
}
rounds() {
    awk -F'\t' -v a="$1" -v b="$2" '$2 == a { x[$1] = $5 } $2 == b { y[$1] = $5 }
        END { for (r = 1; r in x; r++) printf "%s%.2f", (r > 1 ? " " : ""), x[r] / y[r] }' "$RESULTS"
}

# row CASE REFERENCE WHAT
row() {
    local ratio_s=ref
    [[ $1 == "$2" ]] || ratio_s=$(printf '%.3f' "$(ratio "$1" "$2")")
    printf '  %-16s %-34s %7.2f us %7s %6.2f %6.2f %7.0f %7.0f %6.3f   %s\n' \
        "$1" "$3" "$(col "$1" 5)" "$ratio_s" "$(col "$1" 9)" "$(col "$1" 10)" \
        "$(col "$1" 7)" "$(col "$1" 8)" "$(col "$1" 12)" \
        "$([[ $1 == "$2" ]] || rounds "$1" "$2")"
}

header() {
    printf '\n%s (median of %s rounds of %s s; ratio: median of the rounds'"'"' own ratios to %s)\n' \
        "$1" "$ROUNDS" "$DURATION" "$2"
    printf '  %-16s %-34s %10s %7s %6s %6s %7s %7s %6s   %s\n' case setting \
        'cpu/req' ratio 'wr/req' 'rd/req' 'p50 us' 'p99 us' 'spill' 'per-round ratios'
}

# ------------------------------------------------------------ callgrind

# cg_count DUMP REQUESTS: "instructions palloc_block palloc_large malloc"
# a request (calls from any caller; fn= and cfn= share the names' table)
cg_count() {
    awk -v n="$2" '
        function name(s,    id, nm) {
            id = s; sub(/\).*/, "", id); sub(/^\(/, "", id)
            nm = s; if (sub(/^\([0-9]+\) /, "", nm)) names[id] = nm
            return names[id]
        }
        /^fn=/  { name(substr($0, 4)) }
        /^cfn=/ { callee = name(substr($0, 5)) }
        /^calls=/ { split(substr($0, 7), a, " "); calls[callee] += a[1] }
        /^(summary|totals):/ { total = $2 }
        END { printf "%d %.3f %.3f %.3f\n", total / n, calls["ngx_palloc_block"] / n,
                     calls["ngx_palloc_large"] / n, calls["malloc"] / n }' "$1"
}

instructions() {
    local nx=${NGINX_SYMBOLS:-} d=$W/cg c name port path req nreq dump
    [[ -n $nx ]] || nx=$(scripts/build-nginx-symbols.sh) || die "no nginx with symbols"
    command -v valgrind >/dev/null && command -v hey >/dev/null ||
        die "instructions: needs valgrind and hey (scripts/deps.sh valgrind bench)"
    mkdir -p "$d/out"
    rm -f "$d"/out/*
    conf "$d" off 1 - main
    sed -i 's/^daemon on;/daemon off;/' "$d/nginx.conf"
    valgrind --tool=callgrind --callgrind-out-file="$d/out/cg" \
        "$nx" -c "$d/nginx.conf" >"$d/valgrind.log" 2>&1 &
    VG=$!
    for ((i = 0; i < 300; i++)); do
        [[ $(post "$PORT" /predict "$LIN_REQ" 2>/dev/null) == 200 ]] && break
        kill -0 "$VG" 2>/dev/null || die "callgrind: $(tail -5 "$d/valgrind.log")"
        sleep 0.2
    done
    local -a CG=(
        "pool4k_lin $PORT /predict $LIN_REQ $REQUESTS"
        "pool8k_lin $((PORT + 1)) /predict $LIN_REQ $REQUESTS"
        "pool16k_lin $((PORT + 2)) /predict $LIN_REQ $REQUESTS"
        "pool4k_xgb $PORT /predict_xgb $XGB_REQUEST $REQUESTS"
        "pool8k_xgb $((PORT + 1)) /predict_xgb $XGB_REQUEST $REQUESTS"
        "pool16k_xgb $((PORT + 2)) /predict_xgb $XGB_REQUEST $REQUESTS"
        "body1m_lin $((PORT + 3)) /predict $LIN_REQ $REQUESTS"
        "body16k_batch $PORT /predict_xgb $BATCH_REQ 40"
        "body1m_batch $((PORT + 3)) /predict_xgb $BATCH_REQ 40"
    )
    printf '\ninstructions a request (callgrind, user space; calls a request)\n'
    printf '  %-14s %11s %12s %12s %8s\n' case instructions palloc_block palloc_large malloc
    for c in "${CG[@]}"; do
        read -r name port path req nreq <<<"$c"
        hey -n $((nreq / 10 + 1)) -c 4 -m POST -T application/json -D "$req" \
            "http://127.0.0.1:$port$path" >"$d/hey.txt"
        callgrind_control --zero "$VG" >/dev/null 2>&1
        hey -n "$nreq" -c 4 -m POST -T application/json -D "$req" \
            "http://127.0.0.1:$port$path" >"$d/hey.txt"
        grep -q "\[200\].*$nreq responses" "$d/hey.txt" ||
            die "callgrind: $name did not answer 200 to all: $(cat "$d/hey.txt")"
        callgrind_control --dump="$name" "$VG" >/dev/null 2>&1
        dump=$(ls -t "$d"/out/cg.* | head -1)
        read -r ins blk lrg mal <<<"$(cg_count "$dump" "$nreq")"
        printf '  %-14s %11d %12.3f %12.3f %8.3f\n' "$name" "$ins" "$blk" "$lrg" "$mal"
    done | tee "$W/instructions.txt"
    kill "$VG" 2>/dev/null
    wait "$VG" 2>/dev/null || true
    VG=
}

# ------------------------------------------------------------------ main

[[ -x $NGINX ]] || die "no nginx at $NGINX"
for t in wrk taskset curl; do command -v $t >/dev/null || die "$t is not installed"; done
[[ -f $MODULE ]] || die "no module $MODULE: run make"
[[ -f $XGB_MODEL && -f $XGB_ROWS && -f $XGB_REQUEST ]] ||
    die "no $XGB_MODEL, $XGB_ROWS or $XGB_REQUEST: make bench-tune makes them"
for ((p = PORT; p < PORT + 10; p++)); do
    ! ss -Htln "sport = :$p" | grep -q . || die "port $p is in use: set PORT"
done
rm -rf "$W"
mkdir -p "$W/logs"
trap cleanup EXIT
# the module of the whole run: a rebuild meanwhile changes nothing
TUNE_MODULE=$W/module.so
cp "$MODULE" "$TUNE_MODULE"

# 1000 rows of the bench model, as a request of the simple protocol
/usr/bin/python3 - "$XGB_ROWS" "$BATCH_REQ" <<'EOF'
import array, json, sys
a = array.array("f")
with open(sys.argv[1], "rb") as f:
    a.frombytes(f.read())
rows = [[float("%.9g" % v) for v in a[i * 32:(i + 1) * 32]] for i in range(1000)]
with open(sys.argv[2], "w") as f:
    json.dump({"instances": rows}, f, separators=(",", ":"))
EOF
log "tune: module $MODULE (copied), a batch of 1000 rows is $(wc -c <"$BATCH_REQ") bytes"
log "tune: $(lscpu | awk -F': *' '/^Model name/ { print $2 }'), $(nproc) cpus, nginx $("$NGINX" -v 2>&1 | sed 's/.*\///')"
: >"$RESULTS"

want() { [[ " $SECTIONS " == *" $1 "* ]]; }

want instructions && instructions

M=$W/main
if want pool || want body || want log; then
    conf "$M" on 1 "$(cpu_mask "$SERVER_CPU")" main
    start "$M"
    for s in "${SERVERS[@]}"; do
        read -r off _ <<<"$s"
        for l in /predict /log_nobuf /log_buf; do check $((PORT + off)) $l "$LIN_REQ"; done
        check $((PORT + off)) /predict_xgb "$XGB_REQUEST"
        check $((PORT + off)) /predict_xgb "$BATCH_REQ"
    done
fi
P0=$PORT P1=$((PORT + 1)) P2=$((PORT + 2)) P3=$((PORT + 3))
want pool && section "request_pool_size" \
    "pool4k_lin $M $P0 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
    "pool8k_lin $M $P1 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
    "pool16k_lin $M $P2 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
    "pool4k_xgb $M $P0 /predict_xgb $XGB_REQUEST $CONNS $CLIENT_CPU" \
    "pool8k_xgb $M $P1 /predict_xgb $XGB_REQUEST $CONNS $CLIENT_CPU" \
    "pool16k_xgb $M $P2 /predict_xgb $XGB_REQUEST $CONNS $CLIENT_CPU"
want body && section "client_body_buffer_size" \
    "body16k_lin $M $P0 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
    "body1m_lin $M $P3 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
    "body16k_batch $M $P0 /predict_xgb $BATCH_REQ 4 $CLIENT_CPU" \
    "body1m_batch $M $P3 /predict_xgb $BATCH_REQ 4 $CLIENT_CPU"
want log && section "access log" \
    "log_off $M $P0 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
    "log_nobuf $M $P0 /log_nobuf $LIN_REQ $CONNS $CLIENT_CPU" \
    "log_buf64k $M $P0 /log_buf $LIN_REQ $CONNS $CLIENT_CPU"
stop "$M"

if want affinity; then
    conf "$W/aff_auto" on 2 auto affinity $((PORT + 4))
    conf "$W/aff_none" on 2 - affinity $((PORT + 5))
    start "$W/aff_auto"
    start "$W/aff_none"
    check $((PORT + 4)) /predict "$LIN_REQ"
    check $((PORT + 5)) /predict "$LIN_REQ"
    section "worker_cpu_affinity" \
        "aff_none $W/aff_none $((PORT + 5)) /predict $LIN_REQ $CONNS 0,1" \
        "aff_auto $W/aff_auto $((PORT + 4)) /predict $LIN_REQ $CONNS 0,1"
    stop "$W/aff_auto"
    stop "$W/aff_none"
fi

if want threads; then
    T=$W/threads P6=$((PORT + 6))
    THREAD_POOL="thread_pool tune threads=2;" conf "$T" on 1 "$(cpu_mask "$SERVER_CPU")" threads
    start "$T"
    for l in /predict /predict_tp0; do check "$P6" $l "$LIN_REQ"; done
    for l in /batch_inline /batch_tp50us /batch_tp1ms; do check "$P6" $l "$BATCH_REQ"; done
    section "infer_thread_pool: the hand-off" \
        "tp_off_lin $T $P6 /predict $LIN_REQ $CONNS $CLIENT_CPU" \
        "tp0us_lin $T $P6 /predict_tp0 $LIN_REQ $CONNS $CLIENT_CPU"
    section "infer_thread_pool: a small request beside batches" \
        "alone $T $P6 /predict $LIN_REQ 1 $CLIENT_CPU" \
        "batch_inline $T $P6 /predict $LIN_REQ 1 $CLIENT_CPU /batch_inline" \
        "batch_tp50us $T $P6 /predict $LIN_REQ 1 $CLIENT_CPU /batch_tp50us" \
        "batch_tp1ms $T $P6 /predict $LIN_REQ 1 $CLIENT_CPU /batch_tp1ms"
    stop "$T"
fi

# ---------------------------------------------------------------- summary

printf '\nbench/tune.sh: %s, %s cpus; wr/req, rd/req: the worker'"'"'s write and read system calls a request; spill: requests whose body went to a temporary file\n' \
    "$(lscpu | awk -F': *' '/^Model name/ { print $2 }')" "$(nproc)"
[[ ! -s $W/instructions.txt ]] || cat "$W/instructions.txt"
if want pool; then
    header "request_pool_size" "4k, nginx's default"
    row pool4k_lin pool4k_lin "4k (default), linear"
    row pool8k_lin pool4k_lin "8k, linear"
    row pool16k_lin pool4k_lin "16k, linear"
    row pool4k_xgb pool4k_xgb "4k (default), XGBoost one row"
    row pool8k_xgb pool4k_xgb "8k, XGBoost one row"
    row pool16k_xgb pool4k_xgb "16k, XGBoost one row"
fi
if want body; then
    header "client_body_buffer_size" "16k, nginx's default here"
    row body16k_lin body16k_lin "16k (default), linear"
    row body1m_lin body16k_lin "1m, linear"
    row body16k_batch body16k_batch "16k (default), 1000 XGBoost rows"
    row body1m_batch body16k_batch "1m, 1000 XGBoost rows"
fi
if want log; then
    header "access log (infer_json)" "no buffer"
    row log_nobuf log_nobuf "access_log ... infer_json"
    row log_buf64k log_nobuf "... buffer=64k flush=1s"
    row log_off log_nobuf "access_log off"
fi
if want affinity; then
    header "worker_cpu_affinity, 2 workers, wrk unpinned" "none"
    row aff_none aff_none "none (nginx's default)"
    row aff_auto aff_none "auto"
    printf '  (cpu/req: both workers'"'"' CPU; req/s: none %.0f, auto %.0f)\n' \
        "$(col aff_none 6)" "$(col aff_auto 6)"
fi
if want threads; then
    header "infer_thread_pool: a small request's CPU" "inline"
    row tp_off_lin tp_off_lin "inline (off)"
    row tp0us_lin tp_off_lin "threshold=0us (handed off)"
    printf '\ninfer_thread_pool: /predict on one connection while %s send 1000-row batches\n' "$BATCH_CONNS"
    printf '  %-14s %9s %9s %12s %12s %14s\n' batches 'p50 us' 'p99 us' 'batches/s' 'batch p50' 'pool threads'
    for c in alone batch_inline batch_tp50us batch_tp1ms; do
        printf '  %-14s %9.0f %9.0f %12.0f %9.0f us %11.0f%%\n' "$c" "$(col $c 7)" "$(col $c 8)" \
            "$(awk -v n="$(col $c 14)" -v d="$DURATION" 'BEGIN { print n / (d + 1) }')" \
            "$(col $c 15)" \
            "$(awk -v h="$(col $c 13)" -v t="$(col $c 4)" 'BEGIN { print t ? 100 * h / t : 0 }')"
    done
    printf '  (pool threads: their share of the worker'"'"'s CPU; batches/s over the batch wrk'"'"'s %s s)\n' $((DURATION + 1))
fi
busy=$(awk -F'\t' '$11 > 10' "$RESULTS" | wc -l)
((busy == 0)) ||
    printf 'NOTE: in %s of %s runs other processes used over 10%% of a cpu (irq and softirq time not counted): rerun when it is quiet\n' \
        "$busy" "$(wc -l <"$RESULTS")"
