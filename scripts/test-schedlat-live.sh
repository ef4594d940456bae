#!/bin/bash
# The scheduler-delay probe against a live nginx, as root (CI is): a CPU
# hog pinned to the core of a single worker makes its delay count and
# total grow and some requests log a non-zero $infer_sched_delay_us, and
# not without it; the probe's total agrees with the kernel's own run_delay
# (/proc/<pid>/schedstat) within 10%; under capsh without CAP_BPF,
# CAP_PERFMON and CAP_SYS_ADMIN nginx serves, warns once and reports the
# schedstat source; "infer_sched_probe off" loads nothing; a reload and a
# SIGKILLed worker keep the counts monotonic.  Ends with
#   schedlat-live: N passed, M failed
# Not root: says so loudly and counts one failure only if REQUIRE_ROOT=1.
# Environment: NGINX_BIN, MODULE (empty for a static build),
# SCHEDLAT_PORT (default 19580, uses three ports from there).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
nginx=${NGINX_BIN:-/usr/sbin/nginx}
module=${MODULE:-$root/build/ngx_http_infer_module.so}
port=${SCHEDLAT_PORT:-19580}
work=$root/build/schedlat-live
passed=0
failed=0
hog=
pids=()

ok()   { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
check() {                              # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

finish() {
    [ -n "$hog" ] && kill $hog 2>/dev/null
    for p in "${pids[@]}"; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
    done
    sleep 0.3
}
trap finish EXIT

if [ "$(id -u)" != 0 ]; then
    echo "schedlat-live: SKIPPED: needs root (the BPF probe, capsh);" \
         "CI runs it as root" >&2
    if [ "${REQUIRE_ROOT:-0}" = 1 ]; then
        echo "schedlat-live: 0 passed, 1 failed"; exit 1
    fi
    echo "schedlat-live: 0 passed, 0 failed, 1 skipped"
    exit 0
fi

command -v capsh >/dev/null && command -v taskset >/dev/null \
    && command -v hey >/dev/null || "$root/scripts/deps.sh" schedlat

# start NAME PORT PROBE [WRAPPER...]: a prefix of its own, one worker on cpu 0
start() {
    local name=$1 p=$2 probe=$3 dir=$work/$1 load=
    shift 3
    rm -rf "$dir"
    mkdir -p "$dir/logs"
    [ -n "$module" ] && load="load_module $module;"
    cat > "$dir/nginx.conf" <<EOF
$load
worker_processes 1;
worker_cpu_affinity 01;
error_log $dir/logs/error.log notice;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
    infer_sched_probe $probe;
    infer_model m $root/t/models/linear3.json;
    infer_model digits $root/t/models/digits_softmax.json;
    log_format sl '\$infer_sched_delay_us';
    access_log off;
    server {
        listen 127.0.0.1:$p;
        location = /predict { infer m; access_log $dir/logs/sl.log sl; }
        location = /busy {
            infer digits; infer_max_batch 1024;
            access_log $dir/logs/busy.log sl;
        }
        location = /metrics { infer_metrics; }
    }
}
EOF
    pids+=("$dir/nginx.pid")
    if [ $# -gt 0 ]; then                # capsh ... -- -c "nginx ..."
        "$@" -c "exec '$nginx' -p '$dir' -c '$dir/nginx.conf'" \
            2>"$dir/stderr" || return 1
    else
        "$nginx" -p "$dir" -c "$dir/nginx.conf" 2>"$dir/stderr" || return 1
    fi
    for _ in $(seq 50); do
        [ -s "$dir/nginx.pid" ] && worker_of "$name" >/dev/null && return 0
        sleep 0.1
    done
    return 1
}

worker_of() {                          # the pid of NAME's (only) worker
    pgrep -P "$(cat "$work/$1/nginx.pid" 2>/dev/null)" 2>/dev/null | sed -n 1p
}

# load PORT N: N predictions on one connection, from cpu 1, each body
# sent 2 ms after its head, as a slow client's: the worker then sleeps
# and is woken within the request, where a hog can make it wait
load() {
    taskset -c 1 perl -MIO::Socket::INET -e '
        my ($port, $n) = @ARGV;
        my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "$!";
        $s->autoflush(1);
        my $body = q({"features":[1,2,3]});
        for (1 .. $n) {
            print $s "POST /predict HTTP/1.1\r\nHost: t\r\n"
                   . "Content-Type: application/json\r\n"
                   . "Content-Length: " . length($body) . "\r\n\r\n";
            select(undef, undef, undef, 0.002);
            print $s $body;
            my ($head, $len) = ("", 0);
            while (<$s>) { $head .= $_; last if $_ eq "\r\n" }
            $len = $1 if $head =~ /Content-Length: (\d+)/i;
            read($s, my $buf, $len) if $len;
        }' "$1" "$2"
}

# load_busy PORT SECONDS: batches of 512 rows on 4 connections from cpu 1,
# so that the worker always has work: runnable throughout, it waits its
# turn behind the hogs a timeslice at a time
load_busy() {
    local body=$work/busy.json
    [ -s "$body" ] || perl -e 'print q({"instances":[),
        join(",", map { my $i = $_;
            "[" . join(",", map { ($i * 7 + $_) % 16 } 0 .. 63) . "]"
        } 1 .. 512), q(]})' > "$body"
    taskset -c 1 hey -z "$2s" -c 4 -m POST -T application/json \
        -D "$body" "http://127.0.0.1:$1/busy" > "$work/busy.txt"
}

bpf_fds() {                            # BPF programs a process holds
    ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'anon_inode:bpf-prog'
}

# metric PORT NAME: a sample's value (its line's last field), or 0
metric() {
    curl -s "http://127.0.0.1:$1/metrics" \
        | awk -v n="$2" 'index($0, n " ") == 1 { print $NF; f = 1 }
                         END { if (!f) print 0 }'
}

run_delay() { awk '{ print $2 }' "/proc/$1/schedstat"; }

ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# nonzero FILE FROM: lines after line FROM with a non-zero delay
nonzero() { tail -n +"$(($2 + 1))" "$1" | awk '$1 > 0' | wc -l; }
sumlog()  { tail -n +"$(($2 + 1))" "$1" | awk '{ s += $1 } END { print s + 0 }'; }
# meanlog FILE FROM TO: the mean delay of lines FROM+1 .. TO
meanlog() {
    sed -n "$(($2 + 1)),$3p" "$1" \
        | awk '{ s += $1; n++ } END { printf "%.1f", n ? s / n : 0 }'
}

mkdir -p "$work"

# ---------------------------------------------------------------- the probe
W='nginx_infer_sched_wait_seconds_total{worker="0"}'
C='nginx_infer_sched_delay_seconds_count{worker="0"}'
P=$port

if ! start on "$P" on; then
    fail "nginx with the probe starts"; cat "$work/on/stderr"
    echo "schedlat-live: $passed passed, $failed failed"; exit 1
fi

check "the probe is the source as root" \
    [ "$(metric "$P" 'nginx_infer_sched_probe_source{source="bpf"}')" = 1 ]
check "the probe is loaded by the master (it holds BPF programs)" \
    gt "$(bpf_fds "$(cat "$work/on/nginx.pid")")" 0

log=$work/on/logs/sl.log
load "$P" 20; sleep 0.2

# without the hog
w0=$(metric "$P" "$W"); c0=$(metric "$P" "$C"); l0=$(wc -l < "$log")
load "$P" 300; sleep 0.2
w1=$(metric "$P" "$W"); c1=$(metric "$P" "$C"); l1=$(wc -l < "$log")
quiet_nz=$(nonzero "$log" "$l0"); quiet_us=$(sumlog "$log" "$l0")
quiet_w=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.6f", b - a }')

# a worker kept runnable by batches, quiet: the requests' own figure
# (compared below with the same load behind the hogs)
busy=$work/on/logs/busy.log
load_busy "$P" 0.2
b0=$(wc -l < "$busy"); q0=$(metric "$P" "$W")
load_busy "$P" 1
b1=$(wc -l < "$busy"); q1=$(metric "$P" "$W")
quiet_busy=$(meanlog "$busy" "$b0" "$b1")
quiet_busy_w=$(awk -v a="$q0" -v b="$q1" 'BEGIN { printf "%.6f", b - a }')

# with a hog on the worker's cpu; the kernel's figure over the same window
# at nice -10, so that a woken worker cannot preempt them at once: its
# waits then stand well above whatever else this machine runs
nice -n -10 taskset -c 0 bash -c 'while :; do :; done' &
hog=$!
nice -n -10 taskset -c 0 bash -c 'while :; do :; done' &
hog="$hog $!"
sleep 0.3
l2=$(wc -l < "$log")
w2=$(metric "$P" "$W"); c2=$(metric "$P" "$C")
load "$P" 300; sleep 0.5
w3=$(metric "$P" "$W"); c3=$(metric "$P" "$C")
l3=$(wc -l < "$log")
hog_nz=$(nonzero "$log" "$l2"); hog_us=$(sumlog "$log" "$l2")
hog_w=$(awk -v a="$w2" -v b="$w3" 'BEGIN { printf "%.6f", b - a }')

# the kernel's own figure over one window in which the worker is always
# runnable: it then waits behind the hogs, a timeslice at a time, rather
# than preempting them on wakeup, a wait the kernel clocks short (see
# src/test/schedlat_check.c); both sides read with no request in hand
pid=$(worker_of on)
load_busy "$P" 0.3
s4=$(run_delay "$pid"); x4=$(metric "$P" "$W"); b4=$(wc -l < "$busy")
load_busy "$P" 1.5
x5=$(metric "$P" "$W"); s5=$(run_delay "$pid"); b5=$(wc -l < "$busy")
hog_busy=$(meanlog "$busy" "$b4" "$b5")
note_busy=$(awk '/Requests\/sec/ { print $2 }' "$work/busy.txt")
kill $hog; wait $hog 2>/dev/null; hog=
probe=$(awk -v a="$x4" -v b="$x5" 'BEGIN { printf "%.6f", b - a }')
kern=$(awk -v a="$s4" -v b="$s5" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')

echo "# quiet: +$quiet_w s over $((c1 - c0)) waits," \
     "$quiet_nz of $((l1 - l0)) requests non-zero, $quiet_us us in all"
echo "# hog:   +$hog_w s over $((c3 - c2)) waits," \
     "$hog_nz of $((l3 - l2)) requests non-zero, $hog_us us in all"
echo "# batches, worker runnable throughout: a request waited $quiet_busy us" \
     "quiet, $hog_busy us behind the hogs (means of $((b1 - b0)) and" \
     "$((b5 - b4)) requests); the worker +$quiet_busy_w s in 1 s quiet," \
     "+$probe s in 1.5 s behind the hogs"
echo "# cross-check: probe +$probe s, kernel run_delay +$kern s" \
     "($note_busy batches/s of 512 rows)"

check "hog: the worker's delay count grows" gt "$((c3 - c2))" 0
check "hog: the worker's delay total grows by at least 5 ms" \
    ge "$hog_w" 0.005
check "hog: some requests log a non-zero \$infer_sched_delay_us" \
    gt "$hog_nz" 0
# where the worker stays runnable, the probe's total: over a slow
# client's requests the worker mostly sleeps, its few waits are wakeups,
# and a quiet window's total is whatever else the machine ran (CI saw
# 50 ms quiet against 23 ms hogged while a compiler ran beside it)
check "batches: the worker waits at least 10 times longer a second behind the hogs" \
    ge "$(awk -v p="$probe" 'BEGIN { print p / 1.5 }')" \
       "$(awk -v q="$quiet_busy_w" 'BEGIN { print 10 * q }')"
# per request, where the worker stays runnable: with a slow client the
# waits fall at wakeups, and which wakeup the kernel delays (the head's,
# outside any request, or the body's, inside one) depends on its
# scheduler (EEVDF's lag placement here): CI once saw 5193 us quiet
# against 5023 us hogged over 300 such requests while the worker waited
# 269 ms in all. A request preempted mid-batch waits whatever the policy
check "batches: a request waits at least 10 times longer behind the hogs" \
    ge "$hog_busy" "$(awk -v q="$quiet_busy" 'BEGIN { print 10 * q + 1 }')"
check "the probe agrees with /proc/<pid>/schedstat within 10%" \
    awk -v p="$probe" -v k="$kern" \
        'BEGIN { d = p - k; if (d < 0) d = -d; exit !(k >= 0.003 && d <= 0.1 * k) }'
check "the histogram's count is the probe's, not the requests'" \
    ge "$c3" "$c2"

# reload and SIGKILL: never backwards
kill -HUP "$(cat "$work/on/nginx.pid")"; sleep 1.5
load "$P" 20; sleep 0.2
w4=$(metric "$P" "$W"); c4=$(metric "$P" "$C")
check "reload: the total does not go back ($w3 -> $w4)" ge "$w4" "$w3"
check "reload: the count does not go back ($c3 -> $c4)" ge "$c4" "$c3"

kill -KILL "$(worker_of on)"; sleep 1
load "$P" 20; sleep 0.2
w5=$(metric "$P" "$W"); c5=$(metric "$P" "$C")
check "SIGKILLed worker: the total does not go back ($w4 -> $w5)" \
    ge "$w5" "$w4"
check "SIGKILLed worker: the count does not go back ($c4 -> $c5)" \
    ge "$c5" "$c4"
check "one warning at most in the probe's error log: none" \
    bash -c "! grep -q 'BPF probe not loaded' '$work/on/logs/error.log'"

kill "$(cat "$work/on/nginx.pid")"; sleep 0.5

# ------------------------------------------------- without the capabilities
P=$((port + 1))

if start nocap "$P" on capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin --
then
    check "no capabilities: serves" \
        [ "$(curl -s -o /dev/null -w '%{http_code}' \
             -H 'Content-Type: application/json' -d '{"features":[1,2,3]}' \
             "http://127.0.0.1:$P/predict")" = 200 ]
    check "no capabilities: the schedstat source" \
        [ "$(metric "$P" \
             'nginx_infer_sched_probe_source{source="schedstat"}')" = 1 ]
    # behind a hog on the worker's cpu: on an idle cpu 50 wakeups often
    # add no run delay at all (50 sleeps of 2 ms pinned to cpu 0: 0 ns in
    # 4 runs of 5 here), which left this total at 0 once in CI
    nice -n -10 taskset -c 0 bash -c 'while :; do :; done' &
    hog=$!
    sleep 0.2
    load "$P" 50
    kill $hog; wait $hog 2>/dev/null; hog=
    check "no capabilities: the worker's total from schedstat" \
        gt "$(metric "$P" "$W")" 0
    kill -HUP "$(cat "$work/nocap/nginx.pid")"; sleep 1
    check "no capabilities: one warning, naming the reason, after a reload" \
        [ "$(grep -c 'BPF probe not loaded: no CAP_BPF' \
             "$work/nocap/logs/error.log")" = 1 ]
    kill "$(cat "$work/nocap/nginx.pid")"; sleep 0.5
else
    fail "nginx starts under capsh"; cat "$work/nocap/stderr"
fi

# ---------------------------------------------------------------------- off
P=$((port + 2))

if start off "$P" off; then
    load "$P" 5
    check "off: the source none" \
        [ "$(metric "$P" 'nginx_infer_sched_probe_source{source="none"}')" = 1 ]
    check "off: no BPF program in this nginx" \
        [ "$(bpf_fds "$(cat "$work/off/nginx.pid")")" = 0 ]
    check "off: no warning" \
        bash -c "! grep -q infer_sched_probe '$work/off/logs/error.log'"
    kill "$(cat "$work/off/nginx.pid")"; sleep 0.5
else
    fail "nginx with the probe off starts"; cat "$work/off/stderr"
fi

echo "schedlat-live: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
