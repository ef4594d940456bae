#!/bin/bash
# The CPU throttling families against the kernel, as root (issue 14): a
# cgroup with a CPU quota of 20 ms each 100 ms, nginx started inside it
# (a wrapper joins the cgroup, then execs nginx, so the master and every
# worker it forks are in it), loaded with hey for a few seconds.  Then
# nginx_infer_cpu_throttled_periods_total and _seconds_total must have
# moved, and each scrape must fall between two reads of the kernel's
# cpu.stat taken just before and just after it; nginx_infer_cpu_quota_cores
# must be quota / period, and follow a quota changed at run time.
#
# cgroup v1 (the "cpu" controller's mount, from /proc/self/mountinfo), and
# v2 where the machine has cgroup2 with the cpu controller available (on a
# hybrid machine whose cpu controller is on v1, v2 is skipped, and said
# so).  Ends with
#   cgroup-live: N passed, M failed
# Not root: says so and skips (0 failed), or counts one failure if
# REQUIRE_ROOT=1.  Environment: NGINX_BIN, MODULE (empty for a static
# build), CGROUP_PORT (default 19620), CGROUP_LOAD (seconds, default 4).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
nginx=${NGINX_BIN:-/usr/sbin/nginx}
module=${MODULE-$root/build/ngx_http_infer_module.so}
port=${CGROUP_PORT:-19620}
secs=${CGROUP_LOAD:-4}
work=$root/build/cgroup-live
started=$(date +%s.%N)
passed=0
failed=0
n=0
cgroups=()
masters=()

ok()   { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
note() { echo "# $*"; }
check() {                              # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

finish() {
    local m cg

    for m in "${masters[@]}"; do
        kill -QUIT "$m" 2>/dev/null
    done
    for m in "${masters[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$m" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$m" 2>/dev/null
    done
    for cg in "${cgroups[@]}"; do       # empty once nginx is gone
        for _ in $(seq 50); do
            rmdir "$cg" 2>/dev/null && break
            sleep 0.1
        done
        [ -d "$cg" ] && fail "cgroup $cg removed at the end"
    done
    note "$(awk -v s="$started" -v e="$(date +%s.%N)" \
            'BEGIN { printf "%.1f s in all", e - s }')"
    echo "cgroup-live: $passed passed, $failed failed"
    [ "$failed" = 0 ]
}

if [ "$(id -u)" != 0 ]; then
    echo "cgroup-live: SKIPPED: needs root (creates cgroups);" \
         "run it as root" >&2
    if [ "${REQUIRE_ROOT:-0}" = 1 ]; then
        echo "cgroup-live: 0 passed, 1 failed"; exit 1
    fi
    echo "cgroup-live: 0 passed, 0 failed, 1 skipped"
    exit 0
fi

command -v hey >/dev/null && command -v curl >/dev/null \
    || "$root/scripts/deps.sh" schedlat
trap 'finish; exit $?' EXIT
trap 'exit 124' TERM INT

# --- helpers -------------------------------------------------------------

# mountpoint v1|v2: where the hierarchy is mounted (mountinfo's 5th field;
# v1's is the one whose super options hold "cpu")
mountpoint() {
    awk -v want="$1" '{
        for (i = 7; i <= NF && $i != "-"; i++) ;
        type = $(i + 1); opts = "," $(i + 3) ","
        if (want == "v2" && type == "cgroup2" \
            || want == "v1" && type == "cgroup" && opts ~ /,cpu,/)
        {
            gsub(/\\040/, " ", $5); print $5; exit
        }
    }' /proc/self/mountinfo
}

# kstat DIR KEY: a field of the kernel's cpu.stat
kstat() {
    awk -v k="$2" '$1 == k { print $2 }' "$1/cpu.stat"
}

# scrape PORT FILE: /metrics, then one figure: metric FILE NAME
scrape() {
    curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" > "$2"
}
metric() {
    awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# ns SECONDS: "1.25" as 1250000000, exactly (the module prints ns digits)
ns() {
    local i=${1%%.*} f=

    [ "$i" != "$1" ] && f=${1#*.}
    f=${f}000000000
    echo $((10#$i * 1000000000 + 10#${f:0:9}))
}

# between LO X HI; gt X Y; ge X Y (X may be empty: false)
between() { [ -n "$2" ] && [ "$1" -le "$2" ] && [ "$2" -le "$3" ]; }
gt()      { [ -n "$1" ] && [ "$1" -gt "$2" ]; }
ge()      { [ -n "$1" ] && [ "$1" -ge "$2" ]; }

# start NAME PORT CGROUP: nginx with two workers in its own prefix, joined
# to CGROUP before it starts, so that the workers it forks are in it too
start() {
    local dir=$work/$1 load=

    rm -rf "$dir"
    mkdir -p "$dir/logs"
    [ -n "$module" ] && load="load_module $module;"
    cat > "$dir/nginx.conf" <<EOF
$load
worker_processes 2;
error_log $dir/logs/error.log notice;
pid $dir/nginx.pid;
events { worker_connections 256; }
http {
    infer_model m $root/t/models/linear3.json;
    access_log off;
    server {
        listen 127.0.0.1:$2;
        location = /predict { infer m; }
        location = /metrics { infer_metrics; }
    }
}
EOF
    sh -c 'echo $$ > "$1/cgroup.procs" &&
           exec "$2" -p "$3" -c "$3/nginx.conf"' \
        join "$3" "$nginx" "$dir" 2>"$dir/stderr" || return 1
    for _ in $(seq 50); do
        if [ -s "$dir/nginx.pid" ] \
           && [ "$(pgrep -P "$(cat "$dir/nginx.pid")" | wc -l)" = 2 ]
        then
            masters+=("$(cat "$dir/nginx.pid")")
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# in_cgroup CGROUP PID...: every pid is in CGROUP (its cgroup.procs)
in_cgroup() {
    local cg=$1 p
    shift
    for p in "$@"; do
        grep -qx "$p" "$cg/cgroup.procs" || return 1
    done
}

# --- one hierarchy ---------------------------------------------------------

# bracket V DIR PORT NAME: the kernel's cpu.stat, a scrape into NAME.prom,
# cpu.stat again; the scrape's figures must lie between the two reads
bracket() {
    local v=$1 cg=$2 p=$3 f=$work/$1/$4.prom tkey k0 k1 s0 s1 m t d

    [ "$v" = v1 ] && tkey=throttled_time || tkey=throttled_usec
    k0=$(kstat "$cg" nr_throttled)
    s0=$(kstat "$cg" "$tkey")
    scrape "$p" "$f"
    k1=$(kstat "$cg" nr_throttled)
    s1=$(kstat "$cg" "$tkey")
    [ "$v" = v2 ] && s0=$((s0 * 1000)) && s1=$((s1 * 1000))

    m=$(metric "$f" nginx_infer_cpu_throttled_periods_total)
    t=$(metric "$f" nginx_infer_cpu_throttled_seconds_total)
    [ -n "$t" ] && t=$(ns "$t")
    d="$v: $4: cpu_throttled_periods_total ${m:-?} within the kernel's"
    check "$d nr_throttled read around the scrape [$k0, $k1]" \
          between "$k0" "$m" "$k1"
    d="$v: $4: cpu_throttled_seconds_total ${t:-?} ns within the kernel's"
    check "$d $tkey read around the scrape [$s0, $s1] ns" \
          between "$s0" "$t" "$s1"
}

# run v1|v2 DIR PORT: DIR is a new cgroup with a quota of 20 ms / 100 ms
run() {
    local v=$1 cg=$2 p=$3 master pids m0 t0 m1 t1 periods quota hey_pid \
          t_start

    t_start=$(date +%s%N)
    if ! start "$v" "$p" "$cg"; then
        fail "$v: nginx starts inside $cg"
        sed 's/^/#   /' "$work/$v/stderr" "$work/$v/logs/error.log" \
            2>/dev/null | tail -5
        return
    fi
    note "$v: nginx up in $((($(date +%s%N) - t_start) / 1000000)) ms" \
         "under the quota"
    master=$(cat "$work/$v/nginx.pid")
    mapfile -t pids < <(pgrep -P "$master")
    check "$v: the master ($master) and both workers (${pids[*]}) are in $cg" \
          in_cgroup "$cg" "$master" "${pids[@]}"

    bracket "$v" "$cg" "$p" before
    m0=$(metric "$work/$v/before.prom" nginx_infer_cpu_throttled_periods_total)
    t0=$(metric "$work/$v/before.prom" nginx_infer_cpu_throttled_seconds_total)
    quota=$(metric "$work/$v/before.prom" nginx_infer_cpu_quota_cores)
    check "$v: cpu_quota_cores = 0.2, 20000 / 100000 (got ${quota:-absent})" \
          [ "$quota" = 0.2 ]
    if [ -z "$m0" ]; then
        grep '^nginx_infer_cpu' "$work/$v/before.prom" | sed 's/^/#   /'
        return
    fi
    t0=$(ns "$t0")
    note "$v: before the load: $m0 throttled periods, $t0 ns" \
         "(nginx's start, under the quota)"

    # batches of 256 rows: the workers, not hey, use up the quota
    hey -z "${secs}s" -c 16 -m POST -T application/json -D "$work/batch.json" \
        "http://127.0.0.1:$p/predict" > "$work/$v/hey.txt" 2>&1 &
    hey_pid=$!
    sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 }')"
    bracket "$v" "$cg" "$p" during
    wait "$hey_pid"
    note "$v: hey: $(grep -E 'Requests/sec' "$work/$v/hey.txt" | xargs)," \
         "$(grep -E '^[[:space:]]*\[[0-9]+\][[:space:]]+[0-9]+ responses' \
            "$work/$v/hey.txt" | xargs)"
    bracket "$v" "$cg" "$p" after

    m1=$(metric "$work/$v/after.prom" nginx_infer_cpu_throttled_periods_total)
    t1=$(metric "$work/$v/after.prom" nginx_infer_cpu_throttled_seconds_total)
    [ -n "$t1" ] && t1=$(ns "$t1")
    periods=$(metric "$work/$v/after.prom" nginx_infer_cpu_periods_total)
    note "$v: after: $periods periods, $m1 throttled, $t1 ns throttled"
    check "$v: throttled periods moved under load ($m0 -> ${m1:-?})" \
          gt "$m1" "$m0"
    check "$v: throttled seconds moved under load ($t0 -> ${t1:-?} ns)" \
          gt "$t1" "$t0"
    check "$v: cpu_periods_total ${periods:-?} >= throttled periods" \
          ge "$periods" "${m1:-1}"

    # the limit is read at each scrape: a new one shows at once
    if [ "$v" = v1 ]; then
        echo 50000 > "$cg/cpu.cfs_quota_us"
    else
        echo "50000 100000" > "$cg/cpu.max"
    fi
    scrape "$p" "$work/$v/quota.prom"
    quota=$(metric "$work/$v/quota.prom" nginx_infer_cpu_quota_cores)
    check "$v: cpu_quota_cores follows a new quota: 0.5 (${quota:-absent})" \
          [ "$quota" = 0.5 ]
    if [ "$v" = v1 ]; then
        echo -1 > "$cg/cpu.cfs_quota_us"
    else
        echo "max 100000" > "$cg/cpu.max"
    fi
    scrape "$p" "$work/$v/noquota.prom"
    check "$v: no cpu_quota_cores once the quota is lifted; the counters stay" \
          eval '! grep -q "^nginx_infer_cpu_quota_cores " \
                    "$work/$v/noquota.prom" &&
                grep -q "^nginx_infer_cpu_throttled_periods_total " \
                    "$work/$v/noquota.prom"'

    kill -QUIT "$master"
    for _ in $(seq 50); do
        kill -0 "$master" 2>/dev/null || break
        sleep 0.1
    done
}

rm -rf "$work"
mkdir -p "$work"
awk 'BEGIN { printf "{\"instances\":["
             for (i = 0; i < 256; i++)
                 printf "%s[%d,%d,%d]", i ? "," : "", i, i % 7, i % 13
             print "]}" }' > "$work/batch.json"

# v1: a cgroup under the cpu controller's mount
v1=$(mountpoint v1)
if [ -z "$v1" ]; then
    note "v1: SKIPPED: no cgroup v1 mount with the cpu controller here"
else
    cg=$v1/infer-live-$$
    if mkdir "$cg" && cgroups+=("$cg") \
       && echo 100000 > "$cg/cpu.cfs_period_us" \
       && echo 20000 > "$cg/cpu.cfs_quota_us"
    then
        note "v1: $cg, cpu.cfs_quota_us 20000, cpu.cfs_period_us 100000"
        run v1 "$cg" "$port"
    else
        fail "v1: a cgroup with a quota under $v1"
    fi
fi

# v2: only where the cpu controller is free for the unified tree (on a
# hybrid machine it is bound to v1, and cgroup.controllers lacks it)
v2=$(mountpoint v2)
if [ -z "$v2" ]; then
    note "v2: SKIPPED: no cgroup2 mount here"
elif ! grep -qw cpu "$v2/cgroup.controllers" 2>/dev/null; then
    note "v2: SKIPPED: cgroup2 at $v2 has no cpu controller" \
         "(cgroup.controllers: \"$(cat "$v2/cgroup.controllers" \
         2>/dev/null)\"; it is attached to the v1 hierarchy)"
else
    cg=$v2/infer-live-$$
    grep -qw cpu "$v2/cgroup.subtree_control" \
        || echo +cpu > "$v2/cgroup.subtree_control" 2>/dev/null
    if mkdir "$cg" && cgroups+=("$cg") \
       && [ -e "$cg/cpu.max" ] && echo "20000 100000" > "$cg/cpu.max"
    then
        note "v2: $cg, cpu.max 20000 100000"
        run v2 "$cg" "$((port + 1))"
    else
        note "v2: SKIPPED: cannot give a cgroup under $v2 a cpu.max" \
             "(cpu not in $v2/cgroup.subtree_control)"
    fi
fi
