#!/bin/bash
# Runs the test stages and ends with one line adding them up:
#   make test: N passed, M failed
# Stages: deploy (the offline checks of k8s/ and its nginx.conf,
# scripts/check-k8s.sh), unit (the core under ASan/UBSan), conformance
# (ONNX's operator conformance cases through the ONNX core, under
# ASan/UBSan), fuzz (a short run of each libFuzzer harness), prove (the t/
# suite), live (the metrics under load with a real Prometheus,
# scripts/test-metrics-live.sh), otel (the trace exporter against a live
# OTLP receiver: the wire, 503/400/hang/nothing listening, reload and quit
# bounds, HTTPS, scripts/test-otel-live.py), images (image bodies against
# PIL + torchvision: t/images/parity.py and scripts/test-images-live.py),
# reload (reloads under load, scripts/test-reload-live.py), exit (a
# worker's graceful exit while its pool threads leave, the race widened,
# scripts/test-exit-race.sh), log (the
# shipped JSON log line written in one pass equals it spelled out field by
# field, scripts/test-log-live.py), cgroup (CPU
# throttling under a quota, scripts/test-cgroup-live.sh), schedlat (the
# scheduler-delay probe against a live nginx, a CPU hog and capsh: root
# only, it says so loudly otherwise), memory (4 workers serving ResNet-18
# share one copy of its weights, scripts/test-onnx-memory.sh), fixtures
# (the XGBoost and ONNX fixtures made again by t/models/gen_fixtures.py and
# gen_onnx.py, and gen_images.py's references from the committed model,
# must equal the committed ones; skipped only where python3-xgboost is not
# installable).
# Default: all fifteen.
# Environment: NGINX_BIN (the binary; not NGINX, which nginx itself reads
# as inherited sockets and then stays in the foreground), MODULE (the .so to load, empty for a
# static build), FUZZ_TIME (seconds per harness), PROVE_FILES (default
# -r t/: the module's suite and the runner's self-test), TEST_NGINX_*.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
stages=${*:-deploy unit conformance fuzz prove live otel images reload exit log cgroup schedlat memory fixtures}
passed=0
failed=0

count() {                       # adds "N passed, M failed" from a log
    local line
    line=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
}

stage_deploy() {
    MODULE=${MODULE:-} NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx} \
        "$root/scripts/check-k8s.sh" | tee "$build/deploy.log"
    count "$build/deploy.log"
}

stage_unit() {
    # a UBSan report stops the run (it would only be printed otherwise)
    (cd "$root" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/test/unit") | tee "$build/unit.log"
    count "$build/unit.log"
    (cd "$root" && "$build/test/unit_portable") | grep -E "^not ok|passed," \
        | sed 's/^unit:/unit (-O2, no sanitizers, no SSE2):/' \
        | tee "$build/unit_portable.log"
    count "$build/unit_portable.log"
}

stage_fuzz() {
    "$root/scripts/fuzz.sh" "${FUZZ_TIME:-10}" ${FUZZERS:-request model} \
        | tee "$build/fuzz.log"
    count "$build/fuzz.log"
}

# the OTLP receiver t/otel.t exports to (t/otlp/): @elastic/mockotlpserver
# at the version of t/otlp/package-lock.json, npm ci'ed into build/otlp
otlp_receiver() {
    local dir=$build/otlp

    if cmp -s "$root/t/otlp/package-lock.json" "$dir/package-lock.json" \
       && [ -d "$dir/node_modules/@elastic/mockotlpserver" ]
    then
        return 0
    fi

    # a node from elsewhere (NodeSource's carries its npm) is as good
    if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
        "$root/scripts/deps.sh" nodejs || return 1
    fi

    echo "otlp: npm ci @elastic/mockotlpserver in build/otlp"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$root/t/otlp/package.json" "$root/t/otlp/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-fund --no-audit --loglevel=error)
}

# counts the TAP lines themselves: prove's own summary counts a test that
# a bail-out never ran as failed, and a file that dies early as nothing
stage_prove() {
    local lib=() ok bad

    if ! perl -MTest::Nginx::Socket -e1 2>/dev/null; then
        lib=(-I "$root/t/compat/lib")
        echo "prove: Test::Nginx is not installed, using t/compat"
    fi

    otlp_receiver || echo "prove: npm ci failed: t/otel.t will fail"

    # ResNet-18 at 3x32x32, too large to commit: made once by torch

    if [ ! -f "$build/onnx-big/resnet18.ref.json" ]; then
        /usr/bin/python3 "$root/t/models/gen_onnx.py" --big \
            "$build/onnx-big" > "$build/onnx-big.log" 2>&1 \
            || { echo "prove: gen_onnx.py --big failed:"; \
                 tail -5 "$build/onnx-big.log"; }
    fi

    (cd "$root" \
     && TEST_NGINX_BINARY=${NGINX_BIN:-/usr/sbin/nginx} \
        TEST_NGINX_LOAD_MODULES=${MODULE:-} \
        TEST_NGINX_MODELS=$root/t/models \
        TEST_NGINX_ONNX_BIG=$build/onnx-big \
        TEST_NGINX_CONF=$root/conf \
        TEST_NGINX_OTLP_DIR=$build/otlp \
        prove -v "${lib[@]}" ${PROVE_FILES:--r t/}) > "$build/prove.log" 2>&1

    # the failures and the summary; the whole run is in build/prove.log
    grep -Ev '^\s*ok [0-9]' "$build/prove.log" | grep -Ev '^t/.*\.t \.+ $' \
        | grep -v '^\s*$' | tail -60

    ok=$(grep -Ec '^\s*ok [0-9]' "$build/prove.log")
    bad=$(grep -Ec '^\s*not ok [0-9]' "$build/prove.log")

    if ! grep -q '^Result: PASS' "$build/prove.log" && [ "$bad" -eq 0 ]; then
        bad=1                            # a bail-out, a bad plan, a crash
    fi

    echo "prove: $ok passed, $bad failed"
    passed=$((passed + ok))
    failed=$((failed + bad))
}

stage_live() {
    "$root/scripts/test-metrics-live.sh" | tee "$build/live.log"
    count "$build/live.log"
}

# NGINX_BIN and MODULE as inherited (the script's defaults when unset)
stage_otel() {
    otlp_receiver || echo "otel: npm ci failed: the receiver is missing"
    /usr/bin/python3 "$root/scripts/test-otel-live.py" 2>&1 \
        | tee "$build/otel-live.log"
    count "$build/otel-live.log"
}

# image bodies: the preprocessing against PIL + torchvision, alone
# (t/images/parity.py, through build/test/image_tool) and through a live
# nginx (scripts/test-images-live.py: every float of the tensor, the
# example classifier against torch, the refusals, the metrics)
stage_images() {
    "$root/scripts/deps.sh" onnx
    /usr/bin/python3 "$root/t/images/parity.py" "$build/test/image_tool" \
        "$build/images-parity" 2>&1 | tee "$build/images-parity.log"
    count "$build/images-parity.log"
    /usr/bin/python3 "$root/scripts/test-images-live.py" 2>&1 \
        | tee "$build/images-live.log"
    count "$build/images-live.log"
}

# a reload every 200 ms under load: no answer lost without keep-alive,
# with it no more than a return 200 loses, counts and log exact
# (scripts/test-reload-live.py, about 35 s)
stage_reload() {
    "$root/scripts/deps.sh" bench
    /usr/bin/python3 "$root/scripts/test-reload-live.py" 2>&1 \
        | tee "$build/reload-live.log"
    count "$build/reload-live.log"
}

# a worker's graceful exit while its pool threads are still leaving, with
# the race widened by a preload shim (scripts/test-exit-race.sh)
stage_exit() {
    "$root/scripts/test-exit-race.sh" 2>&1 \
        | tee "$build/exit-race.log"
    count "$build/exit-race.log"
}

# the shipped JSON log line, written in one pass ($infer_log_json), against
# the same line spelled out field by field, over requests of every kind
stage_log() {
    /usr/bin/python3 "$root/scripts/test-log-live.py" 2>&1 \
        | tee "$build/log-live.log"
    count "$build/log-live.log"
}

# CPU throttling against the kernel: nginx in a cgroup with a CPU quota
# (v1 here, v2 where it has the cpu controller), loaded; as root (about
# 10 s; scripts/test-cgroup-live.sh)
stage_cgroup() {
    "$root/scripts/deps.sh" bench
    "$root/scripts/test-cgroup-live.sh" 2>&1 | tee "$build/cgroup-live.log"
    count "$build/cgroup-live.log"
}

stage_fixtures() {
    local ok bad

    if ! "$root/scripts/deps.sh" xgboost onnx; then
        echo "fixtures: skipped, python3-xgboost is not installable here"
        return
    fi
    for gen in gen_fixtures.py gen_onnx.py gen_images.py; do
        if (cd "$root" && /usr/bin/python3 "t/models/$gen" --check \
                              2> "$build/fixtures-$gen.log"); then
            echo "ok: t/models/$gen --check"
        else
            echo "not ok: t/models/$gen --check"
            tail -5 "$build/fixtures-$gen.log"
        fi
    done | tee "$build/fixtures.log"
    ok=$(grep -c '^ok' "$build/fixtures.log")
    bad=$(grep -c '^not ok' "$build/fixtures.log")
    echo "fixtures: $ok passed, $bad failed" | tee -a "$build/fixtures.log"
    count "$build/fixtures.log"
}

# every case run, passed or refused with the module's reason
stage_conformance() {
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/test/onnx_conformance" 2>&1 | tee "$build/conformance.log"
    count "$build/conformance.log"
}

stage_memory() {
    NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx} MODULE=${MODULE:-} \
        "$root/scripts/test-onnx-memory.sh" 2>&1 | tee "$build/memory.log"
    count "$build/memory.log"
}

stage_schedlat() {
    # the probe's core alone (src/test/schedlat_check.c), then in nginx
    if [ -x "$build/test/schedlat_check" ] && [ "$(id -u)" = 0 ]; then
        "$build/test/schedlat_check" 2>&1 | tee "$build/schedlat-core.log"
        count "$build/schedlat-core.log"
    fi
    NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx} MODULE=${MODULE:-} \
        "$root/scripts/test-schedlat-live.sh" 2>&1 | tee "$build/schedlat.log"
    count "$build/schedlat.log"
}

mkdir -p "$build"

for s in $stages; do
    echo "=== $s"
    "stage_$s"
done

echo "make test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
