#!/bin/bash
# The module's metrics tested as a user would (issue 3): nginx with two
# workers on 127.0.0.1, load from hey, `nginx -s reload` adding a model, a
# SIGKILLed worker, promtool and prometheus_client's parsers, and a real
# Prometheus server scraping the module while load runs.  Exact numbers
# throughout.  Each check prints "ok: ..." or "not ok: ...", notes start
# with "#", and the last line is "live: N passed, M failed"; the exit
# status is 0 only when M is 0.
#
# Environment: MODULE (the .so; default build/ngx_http_infer_module.so,
# empty for a static build), NGINX_BIN (default /usr/sbin/nginx; not NGINX,
# which nginx reads as inherited sockets), LIVE_TIMEOUT (seconds for the
# whole run, default 150).  Everything lives in build/live/ (removed at the
# start of the next run); ports are the first free ones in 18190-18199.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${LIVE_INNER:-}" ]; then             # bounded in time, whatever hangs
    export LIVE_INNER=1
    exec timeout -k 20 "${LIVE_TIMEOUT:-150}" bash "$0" "$@"
fi

MODULE=${MODULE-build/ngx_http_infer_module.so}
case $MODULE in
""|/*) ;;
*)     if [ -e "$MODULE" ]; then MODULE=$PWD/$MODULE
       else MODULE=$root/$MODULE; fi ;;
esac
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

work=$root/build/live
prefix=$work/nginx
conf=$prefix/conf/nginx.conf
log=$prefix/logs/access.log
checker=(/usr/bin/python3 "$root/t/live/check.py")
batch2='{"instances":[[1,2,3],[4,5,6]]}'      # model m: predictions 6, 15

passed=0
failed=0
port=""
pport=""
master=""
prom_pid=""
hey_pid=""
started=$(date +%s.%N)

ok()   { passed=$((passed + 1)); echo "ok: $*"; }
nok()  { failed=$((failed + 1)); echo "not ok: $*"; }
note() { echo "# $*"; }
since() {                               # seconds since the start
    awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}
phase() { echo "=== $* ($(since) s)"; }

eq() {                                  # eq WHAT GOT WANT
    if [ "$2" = "$3" ]; then
        ok "$1 = $3"
    else
        nok "$1 = ${2:-(absent)}, want $3"
    fi
}

stop_wait() {                           # stop_wait PID [MORE]: 5 s, then KILL
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$@" 2>/dev/null
}

cleanup() {
    local rc=$? w

    set +e                              # a process gone already is fine
    trap - EXIT TERM INT
    if [ -n "$hey_pid" ]; then          # the load's subshell, timeout, hey
        pkill -TERM -P "$(pgrep -P "$hey_pid" | head -1)" 2>/dev/null
        pkill -TERM -P "$hey_pid" 2>/dev/null
        kill "$hey_pid" 2>/dev/null
    fi
    if [ -n "$prom_pid" ]; then
        kill "$prom_pid" 2>/dev/null
        stop_wait "$prom_pid"
    fi
    if [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
        mapfile -t w < <(workers)
        kill -QUIT "$master" 2>/dev/null
        stop_wait "$master" "${w[@]}"
    fi
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        nok "the script stopped early (exit status $rc; 124: LIVE_TIMEOUT)"
    fi
    note "$(awk -v s="$started" -v e="$(date +%s.%N)" \
            'BEGIN { printf "%.1f s in all", e - s }')"
    echo "live: $passed passed, $failed failed"
    if [ "$failed" -eq 0 ]; then
        exit 0                  # (a bare exit in a trap keeps the old status)
    fi
    exit 1
}
trap cleanup EXIT
trap 'exit 124' TERM INT

# --- helpers -----------------------------------------------------------

deps() {                                # the Debian packages this needs
    local p missing=()

    for p in hey prometheus python3-prometheus-client jq curl iproute2 \
             procps
    do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    note "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

free_port() {                           # free_port [TAKEN]
    local p

    for p in $(seq 18190 18199); do
        [ "$p" = "${1:-}" ] && continue
        if [ -z "$(ss -Hltn "sport = :$p")" ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

write_conf() {                          # write_conf [with-a]
    local keep='/^#a /d'

    [ "${1:-}" = with-a ] && keep='s/^#a /   /'
    sed -e "s|@LOAD_MODULE@|${MODULE:+load_module $MODULE;}|" \
        -e "s|@PREFIX@|$prefix|g" -e "s|@MODELS@|$root/t/models|g" \
        -e "s|@PORT@|$port|g" -e "$keep" \
        "$root/t/live/nginx.conf.in" > "$conf"
}

workers() {                             # the master's children, sorted
    pgrep -P "$master" | sort || true
}

# scrape NAME: the text format into NAME.prom, its samples into NAME.txt
scrape() {
    curl -sf -m 5 "http://127.0.0.1:$port/metrics" > "$work/$1.prom" \
        || { nok "GET /metrics ($1)"; : > "$work/$1.txt"; return 0; }
    if ! "${checker[@]}" text "$work/$1.prom" > "$work/$1.txt"; then
        nok "scrape $1 parses: $(tail -1 "$work/$1.txt")"
        : > "$work/$1.txt"
    fi
}

val() {                                 # val NAME 'family{labels sorted}'
    awk -v k="$2" '$1 == k { print $2 }' "$work/$1.txt"
}

sum() {                                 # sum NAME REGEX: over the samples
    awk -v r="$2" '$1 ~ r { s += $2 } END { print s + 0 }' "$work/$1.txt"
}

delta() {                               # delta NAME0 NAME1 KEY
    local a b

    a=$(val "$1" "$3")
    b=$(val "$2" "$3")
    if [ -n "$a" ] && [ -n "$b" ]; then echo $((b - a)); fi
}

# load OUT URL BODY HEY-ARGS...: hey's report into OUT
load() {
    local out=$1 url=$2 body=$3

    shift 3
    timeout 60 hey -m POST -T application/json -d "$body" "$@" \
        "http://127.0.0.1:$port$url" > "$work/$out" 2>&1 || true
}

answers() {                             # answers OUT CODE: hey's count
    awk -v c="[$2]" '/^Status code distribution/ { s = 1; next }
                     /^Error distribution/ { s = 0 }
                     s && $1 == c { n = $2 } END { print n + 0 }' "$work/$1"
}

hey_errors() {                          # failed connections in OUT
    awk '/^Error distribution/ { s = 1; next }
         s && $1 ~ /^\[[0-9]+\]$/ { gsub(/[][]/, "", $1); n += $1 }
         END { print n + 0 }' "$work/$1"
}

settle() {                      # until nothing is in flight (log phase ran)
    for _ in $(seq 50); do
        if curl -sf -m 2 "http://127.0.0.1:$port/metrics" \
           | awk '/^nginx_infer_requests_in_flight[{ ]/ { s += $2 }
                  END { exit !(NR > 0 && s == 0) }'
        then
            sleep 0.1
            return 0
        fi
        sleep 0.1
    done
    return 1
}

still() {                               # still PIDS: how many still work
    comm -12 <(tr ' ' '\n' <<< "$1" | grep . | sort) <(workers) | wc -l
}

lines() { if [ -f "$log" ]; then wc -l < "$log"; else echo 0; fi; }

logcount() {                            # logcount OUT 'uri model status why'
    awk -v k="$2" '{ n = $NF; $NF = "" } $0 == k " " { print n; f = 1 }
                   END { if (!f) print 0 }' "$work/$1"
}

prom_query() {                          # prom_query PROMQL [curl args]
    local q=$1

    shift
    curl -sf -m 5 -G "http://127.0.0.1:$pport/api/v1/query" \
        --data-urlencode "query=$q" "$@"
}

# --- setup -------------------------------------------------------------

deps
if [ -n "$MODULE" ] && [ ! -f "$MODULE" ]; then
    nok "no module at $MODULE (run make first)"
    exit 1
fi

rm -rf "$work"
mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp" "$work/prom"
port=$(free_port) || { nok "a free port in 18190-18199"; exit 1; }
pport=$(free_port "$port") || { nok "a second free port"; exit 1; }
note "nginx on 127.0.0.1:$port, prometheus on 127.0.0.1:$pport," \
     "files in ${work#"$root"/}/"

write_conf
if ! "$NGINX_BIN" -p "$prefix/" -c "$conf" -e "$prefix/logs/error.log" \
     > "$work/nginx-start.log" 2>&1
then
    nok "nginx starts: $(tail -3 "$work/nginx-start.log" | tr '\n' ' ')"
    exit 1
fi
for _ in $(seq 50); do
    [ -s "$prefix/logs/nginx.pid" ] \
        && curl -sf -m 1 -o /dev/null "http://127.0.0.1:$port/metrics" \
        && break
    sleep 0.1
done
master=$(cat "$prefix/logs/nginx.pid")
eq "worker processes under master $master" "$(workers | wc -l)" 2

sed "s|@PORT@|$port|" "$root/t/live/prometheus.yml.in" \
    > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" \
    --storage.tsdb.path="$work/prom" \
    --web.listen-address="127.0.0.1:$pport" \
    --enable-feature=exemplar-storage --log.level=warn \
    > "$work/prometheus.log" 2>&1 &
prom_pid=$!

# --- 1. exact counts over two workers ----------------------------------

phase "1. counts over two workers"
n=0
got=0
for c in 8 40 50; do                 # hey -n wants n a multiple of -c
    load hey1-$c.txt /predict "$batch2" -n 2000 -c "$c"
    n=$((n + 2000))
    got=$((got + $(answers hey1-$c.txt 200)))
    settle || true
    scrape s1
    w0=$(val s1 'nginx_infer_worker_requests_total{worker="0"}')
    w1=$(val s1 'nginx_infer_worker_requests_total{worker="1"}')
    note "after $n requests (hey -c $c): worker slots $w0 and $w1"
    [ "${w0:-0}" -gt 0 ] && [ "${w1:-0}" -gt 0 ] && break
    note "one worker took them all: again, with more concurrency"
done
eq "hey: 200 answers from /predict" "$got" "$n"
if [ "${w0:-0}" -gt 0 ] && [ "${w1:-0}" -gt 0 ]; then
    ok "both workers served requests ($w0 and $w1)"
else
    nok "both workers served requests ($w0 and $w1)"
fi

np=500                                  # model p, on the thread pool
load hey1-p.txt /predict_tp '{"features":[1,2]}' -n $np -c 4
eq "hey: 200 answers from /predict_tp" "$(answers hey1-p.txt 200)" $np
k1=40                                   # malformed JSON
load hey1-e1.txt /predict '{"features":[1,2' -n $k1 -c 2
eq "hey: 400 answers to malformed JSON" "$(answers hey1-e1.txt 400)" $k1
k2=20                                   # 2 features for a 3-feature model
load hey1-e2.txt /predict '{"features":[1,2]}' -n $k2 -c 2
eq "hey: 422 answers to a bad shape" "$(answers hey1-e2.txt 422)" $k2
k3=10                                   # not JSON's content type
load hey1-e3.txt /predict "$batch2" -n $k3 -c 1 -T text/plain
eq "hey: 415 answers to text/plain" "$(answers hey1-e3.txt 415)" $k3
all_m=$((n + k1 + k2 + k3))

settle || nok "requests_in_flight back to 0 after phase 1"
scrape s1
m='model="m"'
eq 'requests_total{m,200}' \
   "$(val s1 "nginx_infer_requests_total{code=\"200\",$m}")" $n
eq 'predictions_total{m} (2 rows each)' \
   "$(val s1 "nginx_infer_predictions_total{$m}")" $((2 * n))
eq 'errors_total{m,bad_json}' \
   "$(val s1 "nginx_infer_errors_total{$m,reason=\"bad_json\"}")" $k1
eq 'requests_total{m,400}' \
   "$(val s1 "nginx_infer_requests_total{code=\"400\",$m}")" $k1
eq 'errors_total{m,bad_shape}' \
   "$(val s1 "nginx_infer_errors_total{$m,reason=\"bad_shape\"}")" $k2
eq 'requests_total{m,422}' \
   "$(val s1 "nginx_infer_requests_total{code=\"422\",$m}")" $k2
eq 'errors_total{m,content_type}' \
   "$(val s1 "nginx_infer_errors_total{$m,reason=\"content_type\"}")" $k3
eq 'requests_total{m,415}' \
   "$(val s1 "nginx_infer_requests_total{code=\"415\",$m}")" $k3
eq 'errors_total{m,*} summed over every reason' \
   "$(sum s1 '^nginx_infer_errors_total\{model="m",')" $((k1 + k2 + k3))
eq 'requests_total{m,*} summed over every code' \
   "$(sum s1 '^nginx_infer_requests_total\{.*model="m"')" $all_m

# _count and +Inf of every histogram: request duration counts every request,
# inference and batch size the answered ones, queue only the thread pool's
for h in "request_duration_seconds m $all_m" \
         "inference_duration_seconds m $n" "batch_size m $n" \
         "queue_duration_seconds m 0" \
         "request_duration_seconds p $np" "inference_duration_seconds p $np" \
         "batch_size p $np" "queue_duration_seconds p $np"
do
    read -r f x want <<< "$h"
    eq "${f}_count{$x}" "$(val s1 "nginx_infer_${f}_count{model=\"$x\"}")" \
       "$want"
    eq "${f}_bucket{$x,+Inf}" \
       "$(val s1 "nginx_infer_${f}_bucket{le=\"+Inf\",model=\"$x\"}")" \
       "$want"
done
eq 'batch_size_sum{m}' "$(val s1 "nginx_infer_batch_size_sum{$m}")" $((2 * n))
eq 'batch_size_bucket{m,le=1}' \
   "$(val s1 "nginx_infer_batch_size_bucket{le=\"1.0\",$m}")" 0
eq 'batch_size_bucket{m,le=2}' \
   "$(val s1 "nginx_infer_batch_size_bucket{le=\"2.0\",$m}")" $n
eq 'requests_total{p,200}' \
   "$(val s1 'nginx_infer_requests_total{code="200",model="p"}')" $np
eq 'predictions_total{p}' \
   "$(val s1 'nginx_infer_predictions_total{model="p"}')" $np
eq 'errors_total{p,*} summed' \
   "$(sum s1 '^nginx_infer_errors_total\{model="p",')" 0
eq 'worker_requests_total summed over the workers' \
   "$(sum s1 '^nginx_infer_worker_requests_total\{')" $((all_m + np))
eq 'requests_in_flight summed' \
   "$(sum s1 '^nginx_infer_requests_in_flight\{')" 0

curl -sf -m 5 "http://127.0.0.1:$port/metrics.json" > "$work/s1.json" || true
eq 'JSON view: m 200, predictions, bad_json, request count, all' \
   "$(jq -r '.models[] | select(.model == "m")
             | [.requests_total["200"], .predictions_total,
                .errors_total.bad_json, .request_duration_seconds.count,
                .requests_total.all] | map(tostring) | join(" ")' \
        "$work/s1.json" 2>&1)" "$n $((2 * n)) $k1 $all_m $all_m"

if "${checker[@]}" log "$log" 1 > "$work/log1.txt"; then
    ok "access log after phase 1: $(grep '^lines' "$work/log1.txt")"
else
    nok "access log after phase 1: $(head -3 "$work/log1.txt" | tr '\n' ' ')"
fi
eq 'log lines /predict m 200 ok' \
   "$(logcount log1.txt '/predict m 200 ok')" $n
eq 'log lines /predict m 400 bad_json' \
   "$(logcount log1.txt '/predict m 400 bad_json')" $k1
eq 'log lines /predict m 422 bad_shape' \
   "$(logcount log1.txt '/predict m 422 bad_shape')" $k2
eq 'log lines /predict m 415 content_type' \
   "$(logcount log1.txt '/predict m 415 content_type')" $k3
eq 'log lines /predict_tp p 200 ok' \
   "$(logcount log1.txt '/predict_tp p 200 ok')" $np
eq 'log lines in all' "$(lines)" $((all_m + np))

# --- 2. nginx -s reload under load: the same configuration, then model a --

# reload_under_load TAG [with-a]: hey -z 3s -q 400 -c 8 on /predict, the
# reload 1 s in; snapshots TAG0 before and TAG1 once the old workers left
reload_under_load() {
    local tag=$1 what="the same configuration" old w from h

    [ "${2:-}" = with-a ] && what="model a added"
    scrape "${tag}0"
    from=$(($(lines) + 1))
    load "hey-$tag.txt" /predict "$batch2" -z 3s -q 400 -c 8 &
    hey_pid=$!
    sleep 1
    write_conf "${2:-}"
    old=$(workers | tr '\n' ' ')
    if "$NGINX_BIN" -p "$prefix/" -c "$conf" -e "$prefix/logs/error.log" \
       -s reload > "$work/$tag.log" 2>&1
    then
        ok "nginx -s reload ($what) exits 0, at $(since) s"
    else
        nok "nginx -s reload ($what): $(tr '\n' ' ' < "$work/$tag.log")"
    fi
    wait "$hey_pid" || true
    hey_pid=""
    for _ in $(seq 100); do             # the old workers finish and go
        w="$(still "$old") $(workers | wc -l)"
        [ "$w" = "0 2" ] && break
        sleep 0.1
    done
    eq "old workers left, new ones (old: $old)" "$w" "0 2"
    settle || nok "requests_in_flight back to 0 after the reload"
    scrape "${tag}1"
    if "${checker[@]}" mono "$work/${tag}0.prom" "$work/${tag}1.prom" \
       > "$work/mono-$tag.txt"
    then
        ok "reload ($what): $(tail -1 "$work/mono-$tag.txt")"
    else
        nok "reload ($what): $(head -5 "$work/mono-$tag.txt" | tr '\n' ' ')"
    fi
    h=$(answers "hey-$tag.txt" 200)
    note "hey during the reload ($what): $h answered 200," \
         "$(hey_errors "hey-$tag.txt") connection errors"
    eq "log lines written during the reload ($what)" \
       $(($(lines) - from + 1)) "$h"
    eq "requests_total{m,200} grew by hey's 200s (reload, $what)" \
       "$(delta "${tag}0" "${tag}1" \
                "nginx_infer_requests_total{code=\"200\",$m}")" "$h"
    eq "start_time_seconds kept across the reload ($what)" \
       "$(val "${tag}1" nginx_infer_start_time_seconds{})" \
       "$(val "${tag}0" nginx_infer_start_time_seconds{})"
}

phase "2. nginx -s reload under load"
reload_under_load r
reload_under_load ra with-a
eq 'model_info{a,version=2,format=linear}' "$(val ra1 \
   'nginx_infer_model_info{format="linear",model="a",version="2"}')" 1
na=50
load hey2-a.txt /predict_a '{"features":[1,2]}' -n $na -c 2
settle || true
scrape r2
eq 'requests_total{a,200} (the new model counts)' \
   "$(val r2 'nginx_infer_requests_total{code="200",model="a"}')" $na
eq 'predictions_total{a}' \
   "$(val r2 'nginx_infer_predictions_total{model="a"}')" $na

# --- 3. SIGKILL a worker under load -------------------------------------

phase "3. SIGKILL one worker under load"
scrape k0
from=$(($(lines) + 1))
load hey3.txt /predict "$batch2" -z 3s -q 400 -c 8 &
hey_pid=$!
sleep 1
victim=$(workers | head -1)
note "kill -KILL $victim (worker of master $master)"
kill -KILL "$victim"
note "killed at $(since) s"
wait "$hey_pid" || true
hey_pid=""
for _ in $(seq 50); do
    [ "$(workers | wc -l)" -eq 2 ] && ! workers | grep -qx "$victim" && break
    sleep 0.1
done
eq "workers after the kill (victim $victim gone, respawned)" \
   "$(workers | grep -cvx "$victim")" 2
if grep -q "process $victim exited on signal 9" "$prefix/logs/error.log"
then
    ok "error.log: worker $victim exited on signal 9"
else
    nok "error.log has no \"process $victim exited on signal 9\""
fi
if settle; then
    ok "requests_in_flight back to 0 for every model after the load"
else
    nok "requests_in_flight after the load: $(curl -s -m 2 \
         "http://127.0.0.1:$port/metrics" | grep '^nginx_infer_requests_in' \
         | tr '\n' ' ')"
fi
scrape k1
if "${checker[@]}" mono "$work/k0.prom" "$work/k1.prom" > "$work/mono3.txt"
then
    ok "SIGKILL: $(tail -1 "$work/mono3.txt")"
else
    nok "SIGKILL: $(head -5 "$work/mono3.txt" | tr '\n' ' ')"
fi
eq 'start_time_seconds kept across the SIGKILL' \
   "$(val k1 nginx_infer_start_time_seconds{})" \
   "$(val k0 nginx_infer_start_time_seconds{})"
note "hey during the kill: $(answers hey3.txt 200) answered 200," \
     "$(hey_errors hey3.txt) connection errors; requests_total{m,200} grew" \
     "by $(delta k0 k1 "nginx_infer_requests_total{code=\"200\",$m}")," \
     "the log by $(($(lines) - from + 1)) lines"
if "${checker[@]}" log "$log" "$from" > "$work/log3.txt"; then
    ok "access log during the kill: $(grep '^lines' "$work/log3.txt")"
else
    nok "access log during the kill: $(head -3 "$work/log3.txt" | tr '\n' ' ')"
fi

# --- 5. a real Prometheus server ----------------------------------------

phase "5. Prometheus scraping the module"
for _ in $(seq 100); do
    curl -sf -m 1 -o /dev/null "http://127.0.0.1:$pport/-/ready" && break
    sleep 0.1
done
health=""
for _ in $(seq 50); do
    health=$(curl -sf -m 2 "http://127.0.0.1:$pport/api/v1/targets" \
             | jq -r '.data.activeTargets[0].health' 2>/dev/null || true)
    [ "$health" = up ] && break
    sleep 0.1
done
eq "Prometheus target 127.0.0.1:$port/metrics" "$health" up

scrape p0
from=$(($(lines) + 1))
load hey5.txt /predict "$batch2" -z 8s -q 400 -c 8
settle || true
after_load=$(date +%s.%N)
scrape p1
h5=$(answers hey5.txt 200)
note "hey -z 8s -q 400 -c 8: $h5 answered 200"
eq 'requests_total{m,200} grew by what hey got' \
   "$(delta p0 p1 "nginx_infer_requests_total{code=\"200\",$m}")" "$h5"
eq 'log lines written during the load' $(($(lines) - from + 1)) "$h5"

# the sample Prometheus stored at its first scrape after the load
want=$(val p1 "nginx_infer_requests_total{code=\"200\",$m}")
stored=""
for _ in $(seq 40); do
    stored=$(prom_query "nginx_infer_requests_total{$m,code=\"200\"}[20s]" \
             | jq -r --argjson t "$after_load" \
                 '[.data.result[0].values[] | select(.[0] > $t)][0][1]
                  // empty' 2>/dev/null || true)
    [ -n "$stored" ] && break
    sleep 0.2
done
eq 'Prometheus stored requests_total{m,200} after the load' "$stored" "$want"

q='histogram_quantile(0.99, sum by (le)
   (rate(nginx_infer_request_duration_seconds_bucket[30s])))'
p99=$(prom_query "$q" | jq -r '.data.result[0].value[1] // empty' || true)
if awk -v v="$p99" 'BEGIN { exit !(v ~ /^[0-9.e+-]+$/ && v + 0 > 0) }'
then
    ok "Prometheus: p99 request duration over 30s = $p99 s"
else
    nok "Prometheus: p99 request duration over 30s = '${p99}'"
fi
q=""                                    # resets() drops the names: each apart
for f in requests_total predictions_total errors_total worker_requests_total \
         request_duration_seconds_bucket inference_duration_seconds_bucket \
         queue_duration_seconds_bucket batch_size_bucket
do
    q="$q${q:+ + }sum(resets(nginx_infer_${f}[5m]))"
done
eq 'Prometheus: counter resets seen over the run (reload, SIGKILL)' \
   "$(prom_query "$q" | jq -r '.data.result[0].value[1] // empty' || true)" 0
q='{__name__=~"nginx_infer_.*(_total|_bucket|_count|_sum)"}[5m]'
if prom_query "$q" > "$work/stored.json" \
   && "${checker[@]}" decreases "$started" < "$work/stored.json" \
      > "$work/decreases.txt"
then
    ok "Prometheus: no stored sample of a counter or bucket ever went down"
else
    nok "Prometheus stored samples going down:" \
        "$(tail -1 "$work/decreases.txt")"
    sed 's/^/# /' "$work/decreases.txt"
fi
note "Prometheus scrapes so far: $(prom_query 'count_over_time(up[5m])' \
      | jq -r '.data.result[0].value[1]' || true), up min" \
     "$(prom_query 'min_over_time(up[5m])' \
      | jq -r '.data.result[0].value[1]' || true)"

# one traced request: its trace id in the response, the log and an exemplar
tid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
sid=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
t0=$(date +%s)
curl -s -m 5 -D "$work/traced.hdr" -o "$work/traced.body" \
    -H "traceparent: 00-$tid-$sid-01" -H 'Content-Type: application/json' \
    -d "$batch2" "http://127.0.0.1:$port/predict" || true
settle || true
tp=$(awk -F': ' 'tolower($1) == "traceparent" { print $2 }' \
     "$work/traced.hdr" | tr -d '\r')
eq 'response traceparent: version, trace id, flags' \
   "$(cut -d- -f1,2,4 <<< "$tp")" "00-$tid-01"
rsid=$(cut -d- -f3 <<< "$tp")
if [ ${#rsid} -eq 16 ] && [ "$rsid" != "$sid" ]; then
    ok "response traceparent has a new span id ($rsid)"
else
    nok "response traceparent span id '$rsid' (sent $sid)"
fi
eq 'access log line of the traced request: trace, span, model, status' \
   "$(tail -1 "$log" | jq -r '[.trace_id, .span_id, .model, .status]
                             | map(tostring) | join(" ")' 2>&1)" \
   "$tid $rsid m 200"
found=""
for _ in $(seq 40); do
    found=$(curl -sf -m 2 -G \
              "http://127.0.0.1:$pport/api/v1/query_exemplars" \
              --data-urlencode \
                  "query=nginx_infer_request_duration_seconds_bucket{$m}" \
              --data-urlencode "start=$((t0 - 5))" \
              --data-urlencode "end=$(($(date +%s) + 5))" \
            | jq -r --arg t "$tid" '[.data[].exemplars[].labels.trace_id]
                                    | map(select(. == $t)) | .[0] // empty' \
              2>/dev/null || true)
    [ -n "$found" ] && break
    sleep 0.25
done
eq 'Prometheus exemplar on request_duration_seconds_bucket{m}' "$found" "$tid"

# --- 4. the formats: promtool, prometheus_client's parsers ---------------

phase "4. exposition formats"
curl -sf -m 5 "http://127.0.0.1:$port/metrics" > "$work/final.prom" || true
out=$(promtool check metrics < "$work/final.prom" 2>&1) && rc=0 || rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
    ok "promtool check metrics: rc 0, no output"
else
    nok "promtool check metrics: rc $rc: $(head -5 <<< "$out" | tr '\n' ' ')"
fi
if "${checker[@]}" text "$work/final.prom" > "$work/final.txt"; then
    ok "prometheus_client text parser: $(wc -l < "$work/final.txt") samples"
else
    nok "prometheus_client text parser: $(tail -1 "$work/final.txt")"
fi
ctype=$(curl -sf -m 5 -D - -o "$work/final.om" \
        -H 'Accept: application/openmetrics-text; version=1.0.0' \
        "http://127.0.0.1:$port/metrics" \
        | awk -F': ' 'tolower($1) == "content-type" { print $2 }' \
        | tr -d '\r' || true)
eq 'OpenMetrics Content-Type' "$ctype" \
   'application/openmetrics-text; version=1.0.0; charset=utf-8'
if [ "$(tail -c 6 "$work/final.om")" = '# EOF' ]; then
    ok "OpenMetrics text ends with '# EOF'"
else
    nok "OpenMetrics text ends with '$(tail -c 20 "$work/final.om")'"
fi
if "${checker[@]}" om "$work/final.om" > "$work/final-om.txt"; then
    ok "prometheus_client strict OpenMetrics parser:" \
       "$(grep -vc '^exemplar' "$work/final-om.txt") samples," \
       "$(grep -c '^exemplar' "$work/final-om.txt") exemplars"
else
    nok "OpenMetrics parser: $(tail -1 "$work/final-om.txt")"
fi
# two scrapes: the run-queue figures, read from the kernel at each one,
# move on between them; every other sample stands still once load stops
moving='nginx_infer_(sched_delay_seconds|sched_wait_seconds|cpu_)'
if diff <(grep -v '^exemplar' "$work/final-om.txt" | grep -Ev "$moving") \
        <(grep -Ev "$moving" "$work/final.txt") > "$work/formats.diff"
then
    ok "OpenMetrics and text formats carry the same samples and values" \
       "(but the run-queue delay, which moves between scrapes)"
else
    nok "the formats differ: $(head -4 "$work/formats.diff" | tr '\n' ' ')"
fi
eq 'OpenMetrics exemplar on a request_duration bucket of m' \
   "$(awk -v t="$tid" '$1 == "exemplar" && $3 == t \
         && $2 ~ /^nginx_infer_request_duration_seconds_bucket\{.*model="m"/ \
         { print t; exit }' "$work/final-om.txt")" "$tid"

# --- 6. the whole access log --------------------------------------------

phase "6. access log"
if jq -R -e 'fromjson | .uri' "$log" > /dev/null 2> "$work/jq.err"; then
    ok "jq: every one of $(lines) access-log lines parses as JSON"
else
    nok "jq: $(head -2 "$work/jq.err" | tr '\n' ' ')"
fi
if "${checker[@]}" log "$log" 1 > "$work/log-all.txt"; then
    ok "every line's model, version, status, ids agree with its uri:" \
       "$(grep '^lines' "$work/log-all.txt")"
else
    nok "access log: $(head -3 "$work/log-all.txt" | tr '\n' ' ')"
fi
if grep -E '\[(alert|emerg|crit)\]' "$prefix/logs/error.log" \
   | grep -v "worker process $victim exited on signal 9" > "$work/alerts.txt"
then
    nok "error.log: $(head -2 "$work/alerts.txt" | tr '\n' ' ')"
else
    ok "error.log has no alert, crit or emerg line but the SIGKILL's"
fi
