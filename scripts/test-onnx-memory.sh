#!/bin/bash
# The ONNX weights are shared by nginx's workers, not copied into each: the
# master loads a model at configuration time into anonymous mappings that
# it seals read-only (src/onnx/infer_onnx_arena.c), nginx forks the workers
# and their pages stay shared copy-on-write, never written again.  Proof by
# the kernel's own accounting: nginx with 4 workers runs twice, (a) with
# the tiny linear model only and (b) with ResNet-18 (3x224x224, about 46 MB
# of float weights W) too, and the workers' summed PSS
# (/proc/PID/smaps_rollup) grows by about one copy of W, not four:
#   - the weights' pages are shared by the master and the 4 workers, so
#     the workers' sum carries 4/5 of them;
#   - each worker adds a private scratch for the activations (allocated by
#     the warm-up's evaluation, a few MB at 224x224), reported apart;
#   - pass: growth < 2 W (four private copies would be 4 W and more;
#     measured with 4.5 MB scratches: 1.32 W = 0.80 the weights' 4/5 +
#     0.41 the scratches);
#   - control: the master's PSS grows by less than W (it carries 1/5);
#   - the sealed read-only anonymous mappings of the arena: no private
#     page in any worker, before and after serving;
#   - real V2 predictions (POST /v2/models/resnet/infer, the fixture's
#     image, torch's output) on every worker, then the PSS again: no more
#     copies, only what serving allocates.
# Each check prints "ok: ..." or "not ok: ...", notes start with "#", and
# the last line is "memory: N passed, M failed"; the exit status is 0 only
# when M is 0.
#
# Environment: MODULE (the .so; default build/ngx_http_infer_module.so,
# empty for a static build), NGINX_BIN (default /usr/sbin/nginx; not
# NGINX, which nginx reads as inherited sockets), MODELS (where
# bench_resnet18.onnx is, made there by t/models/gen_onnx.py --bench if
# missing; default build/bench/onnx), MEMORY_PORT (default: the first
# free one in 19610-19619), MEMORY_TIMEOUT (seconds for the whole run,
# default 300).
# Everything else lives in build/onnx-memory/ (removed at the start of the
# next run).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${MEMORY_INNER:-}" ]; then           # bounded in time, whatever hangs
    export MEMORY_INNER=1
    exec timeout -k 20 "${MEMORY_TIMEOUT:-300}" bash "$0" "$@"
fi
py=/usr/bin/python3                     # Debian's torch imports only there

MODULE=${MODULE-build/ngx_http_infer_module.so}
case $MODULE in
""|/*) ;;
*)     if [ -e "$MODULE" ]; then MODULE=$PWD/$MODULE
       else MODULE=$root/$MODULE; fi ;;
esac
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
models=${MODELS:-$root/build/bench/onnx}
case $models in /*) ;; *) models=$PWD/$models ;; esac
port=${MEMORY_PORT:-}
work=$root/build/onnx-memory
nworkers=4

passed=0
failed=0
master=""

ok()   { passed=$((passed + 1)); echo "ok: $*"; }
nok()  { failed=$((failed + 1)); echo "not ok: $*"; }
note() { echo "# $*"; }
check() {                               # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else nok "$what"; fi
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }   # kB in
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

workers() {                             # the master's children
    [ -n "$master" ] && pgrep -P "$master" | sort -n
}

stop() {                                # QUIT, 5 s, then KILL; reaped
    local w

    [ -n "$master" ] || return 0
    mapfile -t w < <(workers)
    kill -QUIT "$master" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$master" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$master" "${w[@]}" 2>/dev/null
    wait "$master" 2>/dev/null
    for _ in $(seq 50); do              # its workers gone too
        kill -0 "${w[@]}" 2>/dev/null || break
        sleep 0.1
    done
    master=""
}

finish() {
    local rc=$?

    set +e
    trap - EXIT TERM INT
    stop
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        nok "the script stopped early (exit status $rc; 124: MEMORY_TIMEOUT)"
    fi
    echo "memory: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'exit 124' TERM INT

# rollup PID: "Pss Private_Clean Private_Dirty Shared_Clean Shared_Dirty
# Rss", in kB
rollup() {
    awk '{ v[$1] = $2 }
         END { print v["Pss:"] + 0, v["Private_Clean:"] + 0,
                     v["Private_Dirty:"] + 0, v["Shared_Clean:"] + 0,
                     v["Shared_Dirty:"] + 0, v["Rss:"] + 0 }' \
        "/proc/$1/smaps_rollup"
}

# kinds PID: Pss and private (clean + dirty) of the mappings by kind, in
# kB: "arena Size Rss Pss private", "heap Rss Pss private", "anon Rss Pss
# private", "file Rss Pss private".  arena: the anonymous read-only ones,
# the models' sealed chunks (nothing else in nginx maps anonymous memory
# r--p); heap: brk's, where malloc() puts all but its largest blocks;
# anon: the other anonymous ones (stacks, large malloc() blocks, nginx's
# shared zones); file: the binary, the module and the libraries
kinds() {
    awk 'function kind(perm, name) {
             if (name == "[heap]") return "heap"
             if (name == "" && perm == "r--p") return "arena"
             if (name == "" || name ~ /^\[/ || name ~ /^\/dev\/zero/ \
                 || name ~ /^\/(SYSV|memfd:|anon_hugepage)/) return "anon"
             return "file"
         }
         /^[0-9a-f]+-[0-9a-f]+ / { k = kind($2, $6) }
         $1 == "Size:" { size[k] += $2 }
         $1 == "Rss:" { rss[k] += $2 }
         $1 == "Pss:" { pss[k] += $2 }
         $1 == "Private_Clean:" || $1 == "Private_Dirty:" { p[k] += $2 }
         END {
             print "arena", size["arena"] + 0, rss["arena"] + 0,
                   pss["arena"] + 0, p["arena"] + 0
             split("heap anon file", ks, " ")
             for (i = 1; i <= 3; i++)
                 print ks[i], rss[ks[i]] + 0, pss[ks[i]] + 0, p[ks[i]] + 0
         }' "/proc/$1/smaps"
}

# measure TAG: every process's figures into TAG.pids (pid role rollup...),
# the workers' sums into TAG.sum, the kinds into TAG.kinds (pid role kind
# figures...)
measure() {
    local p role

    : > "$work/$1.pids"
    : > "$work/$1.kinds"
    for p in "$master" $(workers); do
        role=worker
        [ "$p" = "$master" ] && role=master
        echo "$p $role $(rollup "$p")" >> "$work/$1.pids"
        kinds "$p" | sed "s/^/$p $role /" >> "$work/$1.kinds"
    done
    awk '$2 == "worker" { n++; for (i = 3; i <= 8; i++) s[i] += $i }
         END { print n + 0, s[3] + 0, s[4] + 0, s[5] + 0, s[6] + 0,
                     s[7] + 0, s[8] + 0 }' "$work/$1.pids" > "$work/$1.sum"
}

# kind TAG ROLE KIND COLUMN: the master's figure, or the workers' sum
# (4 Size/Rss, 5 Rss/Pss, 6 Pss/private, 7 private: arena has Size first)
kind() {
    awk -v r="$2" -v k="$3" -v c="$4" '$2 == r && $3 == k { s += $c }
        END { print s + 0 }' "$work/$1.kinds"
}

# field TAG ROLE COLUMN: from TAG.pids (3 Pss, 4 Private_Clean,
# 5 Private_Dirty, 6 Shared_Clean, 7 Shared_Dirty, 8 Rss)
field() { awk -v r="$2" -v c="$3" '$2 == r { print $c; exit }' "$work/$1.pids"; }
wsum() { awk -v c="$2" '{ print $c }' "$work/$1.sum"; }   # 2 Pss ... 7 Rss

report() {                              # report TAG TITLE
    note "$2: master and workers (kB; private = clean + dirty)"
    awk '{ printf "#   %-6s %7d  Pss %7d  private %7d  shared %7d" \
                  "  Rss %7d\n", $2, $1, $3, $4 + $5, $6 + $7, $8 }' \
        "$work/$1.pids"
    awk '{ printf "#   workers summed: Pss %d, private %d (dirty %d),"   \
                  " shared %d (dirty %d), Rss %d\n",                     \
                  $2, $3 + $4, $4, $5 + $6, $6, $7 }' "$work/$1.sum"
}

# start TAG [resnet]: nginx in the foreground (daemon off) under this
# shell, 4 workers, until every one is in its event loop (its warm-up,
# done in init_process before it accepts, is over) and /ready answers 200
start() {
    local tag=$1 dir=$work/$1 resnet="" loc="" n w ready=0

    if [ "${2:-}" = resnet ]; then
        resnet="infer_model resnet $models/bench_resnet18.onnx;"
        loc="location = /resnet { infer resnet; }"
    fi
    mkdir -p "$dir/logs" "$dir/tmp"
    cat > "$dir/nginx.conf" <<EOF
${MODULE:+load_module $MODULE;}
worker_processes $nworkers;
daemon off;
error_log $dir/logs/error.log notice;
pid $dir/nginx.pid;
events { worker_connections 256; }
http {
    client_body_temp_path $dir/tmp;
    client_max_body_size 8m;
    log_format pid '\$pid \$status \$request_uri';
    access_log $dir/logs/access.log pid;
    infer_model lin $root/t/models/linear3.json;
    $resnet
    server {
        listen 127.0.0.1:$port reuseport;
        location = /ready { infer_ready; }
        location = /predict { infer lin; }
        $loc
        location /v2/ { infer_v2; }
    }
}
EOF
    "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" > "$dir/stderr" 2>&1 &
    master=$!
    for _ in $(seq 300); do             # 30 s: loading 46 MB takes ~1 s
        kill -0 "$master" 2>/dev/null || break
        n=0
        for w in $(workers); do
            # in epoll_wait; "0" where the kernel hides wchan: /ready then
            case $(cat "/proc/$w/wchan" 2>/dev/null) in
            *epoll*|0) n=$((n + 1)) ;;
            esac
        done
        if [ "$n" -eq "$nworkers" ]; then
            ready=0
            for _ in $(seq 16); do      # new connections: the workers' turns
                [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 \
                     "http://127.0.0.1:$port/ready")" = 200 ] \
                    && ready=$((ready + 1))
            done
            [ "$ready" -eq 16 ] && break
        fi
        sleep 0.1
    done
    if ! kill -0 "$master" 2>/dev/null; then
        nok "$tag: nginx starts: $(tail -3 "$dir/stderr" \
             "$dir/logs/error.log" 2>/dev/null | tr '\n' ' ')"
        master=""
        return 1
    fi
    n="$(workers | wc -l) $ready"
    check "$tag: $nworkers workers under master $master, in their event\
 loops, /ready 200 16 times out of 16 ($(workers | tr '\n' ' '))" \
        [ "$n" = "$nworkers 16" ]
    sleep 2                             # nothing else is going on
    if grep -E '\[(alert|emerg|crit|error)\]' "$dir/logs/error.log" \
        > "$dir/errors.txt"
    then
        nok "$tag: error.log: $(head -2 "$dir/errors.txt" | tr '\n' ' ')"
    fi
    return 0
}

served() {                              # served TAG: V2 answers per worker
    awk '$2 == 200 && $3 ~ /^\/v2\/models\/resnet\/infer/ { n[$1]++ }
         END { for (p in n) print p, n[p] }' "$work/$1/logs/access.log"
}

# --- the model, a request ------------------------------------------------

rm -rf "$work"
mkdir -p "$work"
if [ -z "$port" ]; then
    for p in $(seq 19610 19619); do
        [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] && port=$p && break
    done
    [ -n "$port" ] || { nok "a free port in 19610-19619"; exit 1; }
fi
if [ -n "$MODULE" ] && [ ! -f "$MODULE" ]; then
    nok "no module at $MODULE (run make first)"
    exit 1
fi
onnx=$models/bench_resnet18.onnx
if [ ! -s "$onnx" ]; then
    note "making $onnx (t/models/gen_onnx.py --bench)"
    if ! "$py" "$root/t/models/gen_onnx.py" --bench "$models" \
         > "$work/gen.log" 2>&1 || [ ! -s "$onnx" ]
    then
        nok "gen_onnx.py --bench $models: $(tail -3 "$work/gen.log" \
             | tr '\n' ' ')"
        exit 1
    fi
fi
W=$(($(stat -c %s "$onnx") / 1024))     # kB, as smaps counts
note "W = $(stat -c %s "$onnx") bytes ($(mb "$W")): $onnx"

# the fixture's own image and torch's answer, when --bench wrote them
if ! "$py" - "$models/bench_resnet18.ref.json" "$work/v2.json" \
     > "$work/v2.log" 2>&1 <<'EOF'
import json, sys
ref = json.load(open(sys.argv[1]))
def flat(a):
    for x in a:
        if isinstance(x, list):
            yield from flat(x)
        else:
            yield x
data = list(flat(ref["rows"][0]))
assert len(data) == 3 * 224 * 224, len(data)
with open(sys.argv[2], "w") as f:
    json.dump({"inputs": [{"name": "x", "shape": [1, 3, 224, 224],
                           "datatype": "FP32", "data": data}]},
              f, separators=(",", ":"))
EOF
then
    nok "a V2 request from bench_resnet18.ref.json: $(tail -1 "$work/v2.log")"
    exit 1
fi

# --- (a) the baseline: the module, the linear model ----------------------

echo "=== (a) baseline: linear3.json only"
start base || exit 1
measure base
report base "(a) baseline"
stop

# --- (b) the same and ResNet-18 -------------------------------------------

echo "=== (b) the same and ResNet-18"
start resnet resnet || exit 1
measure warm
report warm "(b) ResNet-18, after the warm-up"

asize=$(kind warm master arena 4)
arss=$(kind warm master arena 5)
arena=$((asize - $(kind base master arena 4)))
note "sealed read-only anonymous mappings in the master: $(mb "$asize")," \
     "$(mb "$(kind base master arena 4)") in (a): the arena, $(mb "$arena")" \
     "= $(ratio "$arena" "$W") W, $(mb "$arss") of it resident"
check "the arena holds the weights: $(mb "$arena") >= 0.9 W" \
    lt $((W * 9 / 10)) "$((arena + 1))"

# in each worker: the arena's pages all shared, none private
sealed_private() {                      # sealed_private TAG: a line a worker
    awk '$2 == "worker" && $3 == "arena" {
             printf "%s: Rss %d Pss %d private %d; ", $1, $5, $6, $7
             if ($7 > 0) bad = 1
         }
         END { exit bad }' "$work/$1.kinds"
}
if out=$(sealed_private warm); then
    ok "no private page of the sealed arena in any worker after the" \
       "warm-up (kB: $out)"
else
    nok "private pages of the sealed arena in a worker: $out"
fi
wa=$(kind warm worker arena 6)
check "the workers' Pss of the arena, $(mb "$wa"), is 4/5 of its resident\
 $(mb "$arss") within 2% (one copy, shared by the master and 4 workers)" \
    awk -v a="$wa" -v r="$arss" -v n="$nworkers" \
        'BEGIN { e = r * n / (n + 1); d = a - e; if (d < 0) d = -d
                 exit !(r > 0 && d <= 0.02 * e) }'

g=$(($(wsum warm 2) - $(wsum base 2)))
gm=$(($(field warm master 3) - $(field base master 3)))
# each worker's private growth: scratch (and what loading left in the heap)
priv=$(paste <(awk '$2 == "worker" { print $4 + $5 }' "$work/warm.pids") \
             <(awk '$2 == "worker" { print $4 + $5 }' "$work/base.pids") \
       | awk '{ d = $1 - $2; s += d; if (d > m) m = d; printf "%d ", d }
              END { printf "| %d %d", s / NR, m }')
pmean=${priv##*| }; pmax=${pmean#* }; pmean=${pmean% *}
note "growth of the workers' summed Pss: $g kB ($(mb "$g")) =" \
     "$(ratio "$g" "$W") W, by kind (master's in brackets):"
for k in arena heap anon file; do
    c=6; [ $k = arena ] || c=5
    note "$(printf '  %-5s Pss %+8d kB (%+8d), private %+8d kB (%+8d)' $k \
        $(($(kind warm worker $k $c) - $(kind base worker $k $c))) \
        $(($(kind warm master $k $c) - $(kind base master $k $c))) \
        $(($(kind warm worker $k $((c + 1))) - $(kind base worker $k $((c + 1))))) \
        $(($(kind warm master $k $((c + 1))) - $(kind base master $k $((c + 1))))))"
done
note "  each worker's private growth (its activation scratch, written over" \
     "pages of the master's heap): ${priv%% |*}kB, mean $(mb "$pmean")," \
     "$(mb $((pmean * nworkers))) for the four"
# The master's heap is not the model's: malloc() has ~0.3 MB in use in
# it.  Freeing the load's large temporaries raises glibc's dynamic mmap
# threshold (to ~9 MB) and trim threshold (twice that); libbpf then parses
# the kernel's BTF for infer_sched_probe in brk's heap and frees it: ~11 MB
# of free pages that every worker would inherit and partly write over,
# had the module's init_module not called malloc_trim() before the fork.
note "  the master's heap: Rss $(mb "$(kind warm master heap 4)")" \
     "($(mb "$(kind base master heap 4)") in (a)), of which private" \
     "$(mb "$(kind warm master heap 6)")"
check "the master's heap is trimmed before the workers fork: Rss $(mb \
"$(kind warm master heap 4)") < 2 MB" lt "$(kind warm master heap 4)" 2048
note "  four private copies would have added $(mb $((W * nworkers)))" \
     "(4 W) and more"
check "the workers' summed Pss grows by $(ratio "$g" "$W") W < 2 W" \
    lt "$g" $((2 * W))
check "the workers' summed Pss grows by more than half a copy\
 ($(ratio "$g" "$W") W > 0.5 W: the weights are there, shared)" \
    lt $((W / 2)) "$g"
check "each worker's private memory grows by at most $(mb "$pmax")\
 < W/4 (a scratch, not a copy of the weights)" \
    lt "$pmax" $((W / 4))
check "control: the master's Pss grows by $(mb "$gm")\
 ($(ratio "$gm" "$W") W) < W (its 1/5 share and the load's heap)" \
    lt "$gm" "$W"
note "the master's private memory grew by" \
     "$(mb $(($(field warm master 4) + $(field warm master 5) \
              - $(field base master 4) - $(field base master 5))))," \
     "its shared by $(mb $(($(field warm master 6) + $(field warm master 7) \
              - $(field base master 6) - $(field base master 7))))"

# --- real predictions on every worker, then again ------------------------

echo "=== (b) serving V2 predictions"
: > "$work/codes"
rounds=0
while [ $rounds -lt 20 ]; do            # 16 connections a round, 4 at once
    rounds=$((rounds + 1))
    seq 16 | xargs -P 4 -I{} curl -s -m 30 -o "$work/out-$rounds-{}.json" \
        -w '%{http_code}\n' -H 'Content-Type: application/json' \
        --data-binary @"$work/v2.json" \
        "http://127.0.0.1:$port/v2/models/resnet/infer" >> "$work/codes"
    [ "$(served resnet | awk '$2 >= 4' | wc -l)" -ge "$nworkers" ] && break
done
n=$(wc -l < "$work/codes")
note "$n requests in $rounds rounds; answers per worker:" \
     "$(served resnet | sort -n | awk '{ printf "%s: %s  ", $1, $2 }')"
check "every V2 request answered 200 ($(sort "$work/codes" | uniq -c \
       | awk '{ printf "%s x %s ", $1, $2 }'))" \
    [ "$(grep -cvx 200 "$work/codes")" -eq 0 ]
check "every one of the $nworkers workers served at least 4 predictions" \
    [ "$(served resnet | awk '$2 >= 4' | wc -l)" -eq "$nworkers" ]
if out=$("$py" - "$models/bench_resnet18.ref.json" "$work"/out-*.json \
         2>&1 <<'EOF'
import json, sys
want = json.load(open(sys.argv[1]))["outputs"][0]["rows"][0]
worst = 0.0
for path in sys.argv[2:]:
    got = json.load(open(path))["outputs"][0]
    assert got["shape"] == [1, 1000], got["shape"]
    for g, w in zip(got["data"], want):
        worst = max(worst, abs(g - w) / max(1.0, abs(w)))
print("%d answers, worst relative difference %.2g" % (len(sys.argv) - 2,
                                                      worst))
sys.exit(worst > 1e-4)
EOF
); then
    ok "the answers are torch's 1000 logits within 1e-4: $out"
else
    nok "the answers against torch's: $(tail -2 <<< "$out" | tr '\n' ' ')"
fi

sleep 1
measure served
report served "(b) ResNet-18, after serving"
gs=$(($(wsum served 2) - $(wsum warm 2)))
note "serving moved the workers' summed Pss by $gs kB ($(mb "$gs")," \
     "$(ratio "$gs" "$W") W); from (a): $(mb $(($(wsum served 2) \
     - $(wsum base 2)))), $(ratio $(($(wsum served 2) - $(wsum base 2))) \
     "$W") W"
check "serving adds no copy of the weights: $(ratio "$gs" "$W") W < W/4" \
    lt "$gs" $((W / 4))
check "after serving the workers' summed Pss is still < 2 W above (a)" \
    lt $(($(wsum served 2) - $(wsum base 2))) $((2 * W))
if out=$(sealed_private served); then
    ok "no private page of the sealed arena in any worker after serving" \
       "(kB: $out)"
else
    nok "private pages of the sealed arena in a worker after serving: $out"
fi
check "(b): error.log has no error after serving" \
    bash -c "! grep -qE '\\[(alert|emerg|crit|error)\\]' \
             '$work/resnet/logs/error.log'"
