#!/bin/bash
# The offline checks of k8s/ (make test-deploy; make test runs it):
#   - the manifests, rendered by `kubectl kustomize k8s/`, validate against
#     the Kubernetes and Prometheus Operator schemas (npm kubernetes-models;
#     unknown fields are caught), and agree with each other and with
#     nginx.conf: probe paths are locations with the right handler, ports,
#     selectors, worker_processes = the CPU limit, the seccomp profile
#     (deploy/k8s-validate/validate.mjs);
#   - the seccomp profile is still podman's default plus the probe's rule;
#   - the PrometheusRule passes `promtool check rules`, and
#     `promtool test rules` fires each alert (deploy/prometheus/);
#   - the dashboard's and the rules' queries name only metrics of
#     deploy/metric-names.txt, which are in the module's family table;
#   - the ConfigMap's nginx.conf passes `nginx -t` with the module built
#     here; then that nginx serves it on loopback, every probe of the
#     Deployment answers 200 and /metrics has every family the dashboard
#     uses.
#
#   MODULE=build/ngx_http_infer_module.so NGINX_BIN=/usr/sbin/nginx \
#       scripts/check-k8s.sh
#   CHECK_K8S_PORT=18580   the live nginx's ports: PORT (http), PORT+1
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/k8s-check
npmdir=$root/build/k8s-validate
module=${MODULE:-$root/build/ngx_http_infer_module.so}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
port=${CHECK_K8S_PORT:-18580}
mport=$((port + 1))
passed=0
failed=0

say() { printf 'check-k8s: %s\n' "$*"; }
ok() {
    if [ "$1" = 0 ]; then
        passed=$((passed + 1)); say "ok   $2"
    else
        failed=$((failed + 1)); say "FAIL $2${3:+: $3}"
    fi
}


# --- tools -----------------------------------------------------------------

missing=""
command -v node > /dev/null || missing="$missing nodejs"
command -v npm > /dev/null || missing="$missing npm"
command -v promtool > /dev/null || missing="$missing prometheus"
for c in jq curl; do command -v $c > /dev/null || missing="$missing $c"; done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing packages:$missing (run as root, or install them)"
        exit 1
    fi
    say "installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing > /dev/null || exit 1
fi

[ -f "$module" ] || { say "no module at $module: run make first"; exit 1; }

rm -rf "$work"
mkdir -p "$work" "$npmdir"

# the validators, at the versions of deploy/k8s-validate/package-lock.json
if ! cmp -s "$root/deploy/k8s-validate/package-lock.json" \
            "$npmdir/package-lock.json" \
   || [ ! -d "$npmdir/node_modules/kubernetes-models" ]
then
    say "npm ci kubernetes-models in build/k8s-validate"
    cp "$root/deploy/k8s-validate/package.json" \
       "$root/deploy/k8s-validate/package-lock.json" "$npmdir/"
    (cd "$npmdir" && npm ci --no-fund --no-audit --loglevel=error) \
        || { say "npm ci failed"; exit 1; }
fi
cp "$root/deploy/k8s-validate/validate.mjs" "$npmdir/"


# --- the manifests -----------------------------------------------------------

if command -v kubectl > /dev/null; then
    kubectl kustomize "$root/k8s" > "$work/rendered.yaml" 2> "$work/kustomize.err"
    ok $? "kubectl kustomize k8s/" "$(cat "$work/kustomize.err")"
    rendered=$work/rendered.yaml
else
    say "no kubectl: validate.mjs renders the kustomization itself"
    rendered=-
fi

node "$npmdir/validate.mjs" "$root" "$rendered" "$work" > "$work/validate.log" 2>&1
rc=$?
sed 's/^/check-k8s: /' "$work/validate.log" | grep -v 'validate: .* passed'
counts=$(sed -n 's/^validate: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
         "$work/validate.log")
if [ -n "$counts" ]; then
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
fi
[ $rc = 0 ] || [ -n "$counts" ] || ok 1 "validate.mjs" "it stopped"

node "$root/deploy/grafana/dashboard.mjs" \
    | cmp -s - "$root/k8s/dashboards/nginx-infer.json"
ok $? "k8s/dashboards/nginx-infer.json is what deploy/grafana/dashboard.mjs writes" \
   "run node deploy/grafana/dashboard.mjs > k8s/dashboards/nginx-infer.json"

if [ -f /usr/share/containers/seccomp.json ] && command -v jq > /dev/null
then
    "$root/deploy/seccomp/gen.sh" | cmp -s - "$root/deploy/seccomp/nginx-infer.json"
    ok $? "deploy/seccomp/nginx-infer.json is podman's default plus the probe's rule" \
       "run deploy/seccomp/gen.sh > deploy/seccomp/nginx-infer.json"
else
    say "skip: no /usr/share/containers/seccomp.json to compare the profile with"
fi


# --- rules ---------------------------------------------------------------

if [ -f "$work/rules.yaml" ]; then
    promtool check rules "$work/rules.yaml" > "$work/promtool.log" 2>&1
    ok $? "promtool check rules (the PrometheusRule's spec)" \
       "$(tail -3 "$work/promtool.log")"
    cp "$root/deploy/prometheus/rules-test.yaml" "$work/"
    (cd "$work" && promtool test rules rules-test.yaml) \
        > "$work/promtool-test.log" 2>&1
    ok $? "promtool test rules: each alert fires, and only when it should" \
       "$(tail -20 "$work/promtool-test.log")"
else
    ok 1 "the PrometheusRule's spec for promtool" "validate.mjs wrote none"
fi


# --- nginx.conf with the module ------------------------------------------------

# the image's /etc/nginx, with the module built here
etc=$work/etc
mkdir -p "$etc/modules-enabled" "$etc/models" "$etc/infer"
cp "$root/k8s/nginx.conf" "$etc/"
cp "$root"/k8s/models/* "$etc/models/"
cp -r "$root"/conf/. "$etc/infer/"
echo "load_module $module;" > "$etc/modules-enabled/50-mod-http-infer.conf"

cmp -s "$root/k8s/models/example-linear.json" \
       "$root/conf/models/example-linear.json"
ok $? "k8s/models/example-linear.json is conf/models/example-linear.json"

"$nginx" -t -q -c "$etc/nginx.conf" 2> "$work/nginx-t.err"
ok $? "nginx -t: the ConfigMap's nginx.conf with the module" \
   "$(cat "$work/nginx-t.err")"

# serve it on loopback: the same file but for its ports, pid and /tmp
live=$work/live
cp -r "$etc" "$live"
mkdir -p "$live/tmp"
# (/tmp/ before the pid: $live itself may be under /tmp)
sed -i -E \
    -e "s/^([[:space:]]*listen[[:space:]]+)8080\\b/\\1127.0.0.1:$port/" \
    -e "s/^([[:space:]]*listen[[:space:]]+)9113\\b/\\1127.0.0.1:$mport/" \
    -e "s|/tmp/|$live/tmp/|" \
    -e "s|^pid .*|pid $live/nginx.pid;|" \
    "$live/nginx.conf"
[ "$(id -u)" = 0 ] || sed -i '/^user /d' "$live/nginx.conf"

for p in $port $mport; do
    if ss -Htln "sport = :$p" | grep -q .; then
        ok 1 "port $p is free for the live check" "set CHECK_K8S_PORT"
    fi
done

# whatever fails below, no master of this configuration outlives the script
trap 'pkill -QUIT -f "nginx: master process $nginx -c $live/nginx.conf" \
      2>/dev/null' EXIT

"$nginx" -c "$live/nginx.conf" > "$live/stdout.log" 2> "$live/stderr.log"
ok $? "nginx serves the ConfigMap's nginx.conf on 127.0.0.1:$port, :$mport" \
   "$(tail -3 "$live/stderr.log")"

map_port() {
    case $1 in 8080) echo $port ;; 9113) echo $mport ;; *) echo "$1" ;; esac
}

if [ -s "$live/nginx.pid" ] && [ -f "$work/probes.txt" ]; then
    while read -r p path kind; do
        code=000
        for _ in $(seq 25); do
            code=$(curl -s -o /dev/null -w '%{http_code}' \
                   "http://127.0.0.1:$(map_port "$p")$path")
            [ "$code" = 200 ] && break
            sleep 0.2
        done
        [ "$code" = 200 ]
        ok $? "$kind GET $path on :$p answers 200" "got $code"
    done < "$work/probes.txt"

    body=$(curl -s -XPOST -H 'Content-Type: application/json' \
           -d '{"features":[1.0,2.0,3.5]}' "http://127.0.0.1:$port/predict")
    [ "$(jq .prediction <<< "$body" 2>/dev/null)" = 6.5 ]
    ok $? "POST /predict answers 6.5" "$body"

    if grep -q '^[[:space:]]*infer_metrics;' "$live/nginx.conf"; then
        curl -s "http://127.0.0.1:$mport/metrics" > "$work/metrics.txt"
        absent=""
        while read -r name type state; do
            [ "$state" = pending ] && continue
            if [ "$state" = cgroup ] \
               && ! grep -q "^# TYPE $name " "$work/metrics.txt"
            then
                say "note: no $name here: no cpu controller in nginx's cgroup"
                continue
            fi
            grep -q "^# TYPE $name $type\$" "$work/metrics.txt" \
                || absent="$absent $name"
        done < <(grep -v '^#' "$root/deploy/metric-names.txt" | grep .)
        [ -z "$absent" ]
        ok $? "every family of deploy/metric-names.txt is in the module's /metrics, with its type" \
           "absent:$absent"
        while read -r name type state; do
            [ "$state" = pending ] || continue
            grep -q "^# TYPE $name " "$work/metrics.txt" \
                && say "WARN $name is exported now: drop its \"pending\""
        done < <(grep -v '^#' "$root/deploy/metric-names.txt" | grep .)
    else
        say "WARN the module has no infer_metrics yet: no live /metrics check"
    fi

    kill -QUIT "$(cat "$live/nginx.pid")"
    for _ in $(seq 50); do
        [ -e "$live/nginx.pid" ] || break
        sleep 0.2
    done
    if [ -e "$live/nginx.pid" ]; then
        kill -TERM "$(cat "$live/nginx.pid")" 2>/dev/null
        ok 1 "nginx quits gracefully"
    fi
fi

echo "check-k8s: $passed passed, $failed failed"
[ "$failed" = 0 ]
