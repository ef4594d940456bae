#!/bin/bash
# A worker's graceful exit with nginx's thread pool (the SIGSEGV CI saw
# once in test-images-live.py's shutdown): the module's ONNX scratch is
# per thread, freed by a thread-specific destructor as a pool thread
# exits, and nginx unmaps the dynamic module while its pool threads are
# still leaving.  src/test/exit_race_preload.c widens that window from
# microseconds to tens of milliseconds, so that each round shows it:
# nginx with a pool of 2 threads evaluating an ONNX model, a few requests
# on the pool, SIGQUIT; no worker may die of a signal.  With a
# destructor in the module (before this test) every round crashed.
# Ends with
#   exit-race: N passed, M failed
# Environment: NGINX_BIN, MODULE (the dynamic module; a static build has
# nothing to unmap: skipped), EXIT_RACE_PORT (default 19680),
# EXIT_RACE_ROUNDS (default 4).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
nginx=${NGINX_BIN:-/usr/sbin/nginx}
module=${MODULE-$root/build/ngx_http_infer_module.so}
port=${EXIT_RACE_PORT:-19680}
rounds=${EXIT_RACE_ROUNDS:-4}
work=$root/build/exit-race
model=$root/t/models/onnx/resnet_tiny.onnx
passed=0
failed=0
n=0

ok()   { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
finish() {
    [ -s "$work/nginx.pid" ] && kill -KILL "$(cat "$work/nginx.pid")" 2>/dev/null
    echo "exit-race: $passed passed, $failed failed"
    exit $((failed > 0))
}
trap finish EXIT

if [ -z "$module" ]; then
    echo "# a static build: no module to unmap, skipped"
    exit 0
fi

rm -rf "$work"
mkdir -p "$work/logs" "$work/tmp"
cp "$module" "$work/module.so"      # a rebuild cannot change it under us

if ! gcc -shared -fPIC -O1 -o "$work/preload.so" \
        "$root/src/test/exit_race_preload.c" -ldl 2> "$work/gcc.log"; then
    fail "the preload shim builds: $(tail -3 "$work/gcc.log")"
    exit
fi

/usr/bin/python3 -c '
import json, sys
ref = json.load(open(sys.argv[1]))
print(json.dumps({"features": ref["rows"][0]}))' \
    "${model%.onnx}.ref.json" > "$work/body.json"

cat > "$work/nginx.conf" <<EOC
load_module $work/module.so;
worker_processes  2;
error_log  logs/error.log  notice;
pid  nginx.pid;
thread_pool  infer  threads=2;
events { worker_connections  64; }
http {
    access_log  off;
    client_body_temp_path  tmp;
    infer_model  m  $model;
    server {
        listen  127.0.0.1:$port;
        location = /p { infer m; infer_thread_pool infer threshold=0us; }
    }
}
EOC

for ((r = 1; r <= rounds; r++)); do
    : > "$work/logs/error.log"
    if ! LD_PRELOAD=$work/preload.so "$nginx" -p "$work/" -c nginx.conf \
            2> "$work/stderr"; then
        fail "round $r: nginx starts: $(tail -3 "$work/stderr")"
        continue
    fi
    codes=$(for _ in 1 2 3 4 5 6; do
                curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 \
                     -H 'Content-Type: application/json' \
                     --data @"$work/body.json" "http://127.0.0.1:$port/p" &
            done; wait)
    kill -QUIT "$(cat "$work/nginx.pid")"
    for _ in $(seq 100); do
        [ -e "$work/nginx.pid" ] || break
        sleep 0.05
    done
    if [ "$(grep -c '^200$' <<< "$codes")" = 6 ]; then
        ok "round $r: 6 predictions on the pool answered 200"
    else
        fail "round $r: 6 predictions on the pool answered 200: $codes"
    fi
    if grep -q 'exited on signal' "$work/logs/error.log"; then
        fail "round $r: no worker died of a signal at SIGQUIT:" \
             "$(grep 'exited on signal' "$work/logs/error.log" | head -2)"
    else
        ok "round $r: no worker died of a signal at SIGQUIT"
    fi
done
