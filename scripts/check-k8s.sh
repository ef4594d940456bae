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
#     uses;
#   - k8s/edge, the edge component, on k8s/: the same schema and
#     consistency checks, and its nginx.conf served on loopback with a
#     certificate made here, an application played by
#     k8s/edge/test/echo-upstream.py and the cluster's DNS by
#     k8s/edge/test/dns.py: TLS and HTTP/2, a prediction and proxied
#     requests on the same listener, what the application receives
#     (X-Request-ID, traceparent, the client's address, the body), the
#     limits, and a DNS change followed without a reload;
#   - k8s/ingress-controller: its manifests against the schemas and each
#     other, and its snippets in a configuration of the shape the
#     controller generates (test/controller.conf), with `nginx -t` and
#     served: /predict and /v2/ answered by the module, the rest proxied.
#
#   MODULE=build/ngx_http_infer_module.so NGINX_BIN=/usr/sbin/nginx \
#       scripts/check-k8s.sh
#   CHECK_K8S_PORT=18580   the live nginx's ports: PORT (http), PORT+1
#                          (metrics); the edge's PORT+2 to PORT+6 (http,
#                          https, metrics, DNS, the application), the
#                          controller fixture's PORT+7 to PORT+9
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
for c in jq curl openssl; do command -v $c > /dev/null || missing="$missing $c"; done
# the edge's application and DNS (k8s/edge/test/)
[ -x /usr/bin/python3 ] || missing="$missing python3"
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

# whatever fails below, no master of this configuration outlives the
# script, nor any process of the edge's checks (their pids)
started=()
trap 'pkill -QUIT -f "nginx: master process $nginx -c $live/nginx.conf" \
      2>/dev/null; [ ${#started[@]} = 0 ] || kill "${started[@]}" 2>/dev/null' EXIT

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


# --- k8s/edge: the edge component on k8s/ ------------------------------------

# node's "ok"/"FAIL" lines and its "NAME: N passed, M failed" into ours
tally() {
    local log=$1 name=$2 rc=$3 counts
    sed 's/^/check-k8s: /' "$log" | grep -v "^check-k8s: $name: .* passed"
    counts=$(sed -n "s/^$name: \\([0-9]*\\) passed, \\([0-9]*\\) failed\$/\\1 \\2/p" "$log")
    if [ -n "$counts" ]; then
        passed=$((passed + ${counts% *}))
        failed=$((failed + ${counts#* }))
    fi
    [ "$rc" = 0 ] || [ -n "$counts" ] || ok 1 "$name" "it stopped: $(tail -3 "$log")"
}

edge=$work/edge
mkdir -p "$edge"
# a Component is applied by a kustomization of the user's, outside k8s/
# (one inside k8s/ naming k8s/ would be a cycle): this is that one
if command -v kubectl > /dev/null; then
    mkdir -p "$edge/overlay"
    rel=$(realpath --relative-to="$edge/overlay" "$root/k8s")
    printf 'resources: [%s]\ncomponents: [%s/edge]\n' "$rel" "$rel" \
        > "$edge/overlay/kustomization.yaml"
    kubectl kustomize "$edge/overlay" > "$edge/rendered.yaml" 2> "$edge/kustomize.err"
    ok $? "kubectl kustomize: k8s/ with the component k8s/edge" \
       "$(cat "$edge/kustomize.err")"
    erendered=$edge/rendered.yaml
else
    erendered=-
fi
node "$npmdir/validate.mjs" "$root" "$erendered" "$edge" k8s/edge \
    > "$edge/validate.log" 2>&1
tally "$edge/validate.log" validate $?

# the module's settings of the two files stay the same (the edge's says
# so): models, metrics, probe, traces, workers
shared='^[[:space:]]*(infer_[a-z_]+[[:space:]]|worker_processes|user)[^;{]*;'
diff <(grep -E "$shared" "$root/k8s/nginx.conf" | grep -v 'infer_otel off' \
       | sed 's/  */ /g') \
     <(grep -E "$shared" "$root/k8s/edge/nginx.conf" | grep -v 'infer_otel off' \
       | sed 's/  */ /g') > "$edge/shared.diff"
ok $? "k8s/edge/nginx.conf has k8s/nginx.conf's module settings, workers and user" \
   "$(cat "$edge/shared.diff")"

# the image's /etc/nginx with the edge's nginx.conf, a certificate for
# the Secret's files, and what only a cluster has pointed at loopback:
# the resolver at dns.py, the application's port at echo-upstream.py's,
# the resolver's cache at 1 s instead of 10 (to see a change quickly)
eport=$((port + 2)); esport=$((port + 3)); emport=$((port + 4))
dnsport=$((port + 5)); upport=$((port + 6))
elive=$edge/live
rm -rf "$elive"
cp -r "$etc" "$elive"
mkdir -p "$elive/tmp" "$elive/tls"
cp "$root/k8s/edge/nginx.conf" "$elive/nginx.conf"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=app.example.com \
    -keyout "$elive/tls/tls.key" -out "$elive/tls/tls.crt" 2> "$edge/openssl.err"
ok $? "openssl: a certificate for the TLS Secret's files" "$(cat "$edge/openssl.err")"
app=app.default.svc.cluster.local
sed -i -E \
    -e "s/^([[:space:]]*listen[[:space:]]+)8080\\b/\\1127.0.0.1:$eport/" \
    -e "s/^([[:space:]]*listen[[:space:]]+)8443\\b/\\1127.0.0.1:$esport/" \
    -e "s/^([[:space:]]*listen[[:space:]]+)9113\\b/\\1127.0.0.1:$emport/" \
    -e "s|/tmp/|$elive/tmp/|" \
    -e "s|^pid .*|pid $elive/nginx.pid;|" \
    -e "s|/etc/nginx/tls/|$elive/tls/|" \
    -e "s|^([[:space:]]*resolver[[:space:]]+)kube-dns\\.kube-system\\.svc\\.cluster\\.local[[:space:]]+valid=10s|\\1127.0.0.1:$dnsport valid=1s|" \
    -e "s|$app:80;|$app:$upport;|" \
    "$elive/nginx.conf"
[ "$(id -u)" = 0 ] || sed -i '/^user /d' "$elive/nginx.conf"
[ "$(grep -c "127.0.0.1:$dnsport valid=1s\\|$app:$upport;\\|$elive/tls/tls" \
      "$elive/nginx.conf")" = 4 ]
ok $? "k8s/edge/nginx.conf has the resolver, Service and certificate lines the check points at loopback"

"$nginx" -t -q -c "$elive/nginx.conf" 2> "$edge/nginx-t.err"
ok $? "nginx -t: k8s/edge/nginx.conf with the module (TLS, http2, realip, resolver)" \
   "$(cat "$edge/nginx-t.err")"

for p in $eport $esport $emport $upport $((port + 7)) $((port + 8)) $((port + 9)); do
    if ss -Htln "sport = :$p" | grep -q .; then
        ok 1 "port $p is free for the edge's checks" "set CHECK_K8S_PORT"
    fi
done

py=/usr/bin/python3
echo 127.0.0.2 > "$edge/dns-answer"
$py "$root/k8s/edge/test/dns.py" 127.0.0.1 $dnsport $app "$edge/dns-answer" &
started+=($!)
$py "$root/k8s/edge/test/echo-upstream.py" 127.0.0.2 $upport A &
started+=($!)
$py "$root/k8s/edge/test/echo-upstream.py" 127.0.0.3 $upport B &
started+=($!)

"$nginx" -c "$elive/nginx.conf" > "$elive/stdout.log" 2> "$elive/stderr.log"
ok $? "nginx serves k8s/edge/nginx.conf on 127.0.0.1:$eport (http), :$esport (https), :$emport (metrics)" \
   "$(tail -3 "$elive/stderr.log")"
[ -s "$elive/nginx.pid" ] && started+=("$(cat "$elive/nginx.pid")")
emaster=$(cat "$elive/nginx.pid" 2>/dev/null)

https=https://127.0.0.1:$esport
json='Content-Type: application/json'
tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
for _ in $(seq 25); do
    curl -skf "$https/health" > /dev/null \
        && curl -sf "http://127.0.0.2:$upport/" > /dev/null \
        && break
    sleep 0.2
done

if [ -n "$emaster" ]; then
    out=$(curl -sk --http2 -w '\n%{http_version}' -XPOST -H "$json" \
          -d '{"features":[1.0,2.0,3.5]}' "$https/predict")
    [ "$(jq .prediction <<< "${out%$'\n'*}" 2>/dev/null)" = 6.5 ] \
        && [ "${out##*$'\n'}" = 2 ]
    ok $? "edge: POST /predict over TLS and HTTP/2 answers 6.5 from the worker" "$out"

    out=$(curl -sk --http2 "$https/v2/models/example")
    [ "$(jq -r '.name + " " + .platform' <<< "$out" 2>/dev/null)" = "example linear" ]
    ok $? "edge: GET /v2/models/example answers the model's metadata" "$out"

    out=$(curl -sk --http2 -D "$edge/proxied.head" -w '\n%{http_version}' \
          -H 'X-Request-ID: req-42.a' -H "traceparent: $tp" \
          -H 'tracestate: vendor=1' -H 'X-Forwarded-For: 203.0.113.7' \
          "$https/shop/cart?item=1")
    body=${out%$'\n'*}
    jq -e --arg tp "$tp" --arg h "127.0.0.1:$esport" '
        select(.server == "A" and .method == "GET"
               and .path == "/shop/cart?item=1"
               and .headers["x-request-id"] == "req-42.a"
               and .headers.traceparent == $tp
               and .headers.tracestate == "vendor=1"
               and .headers["x-forwarded-proto"] == "https"
               and .headers["x-real-ip"] == "127.0.0.1"
               and .headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
               and .headers.host == "127.0.0.1"
               and .version == "HTTP/1.1")' <<< "$body" > /dev/null \
        && [ "${out##*$'\n'}" = 2 ]
    ok $? "edge: GET /shop/cart over HTTP/2 reaches the application with X-Request-ID, traceparent, tracestate, X-Forwarded-*, the path and query" "$out"
    grep -qi '^x-request-id: req-42.a' "$edge/proxied.head" \
        && grep -qi '^strict-transport-security: max-age=31536000' "$edge/proxied.head"
    ok $? "edge: the response carries the X-Request-ID and HSTS" \
       "$(cat "$edge/proxied.head")"

    # 127.0.0.1 is not a trusted proxy: its X-Forwarded-For is no address
    # (above); the real client's address is what the application gets

    out=$(curl -sk -D "$edge/generated.head" "$https/id")
    rid=$(jq -r '.headers["x-request-id"]' <<< "$out" 2>/dev/null)
    [[ $rid =~ ^[0-9a-f]{32}$ ]] \
        && grep -qi "^x-request-id: $rid" "$edge/generated.head"
    ok $? "edge: without X-Request-ID the application and the client get nginx's 32 hex digits, the same" "$out"

    out=$(curl -sk -H 'X-Request-ID: a b"c' "$https/id")
    rid=$(jq -r '.headers["x-request-id"]' <<< "$out" 2>/dev/null)
    [[ $rid =~ ^[0-9a-f]{32}$ ]]
    ok $? "edge: an X-Request-ID that is not a plain token is replaced" "$out"

    head -c 2000000 /dev/zero > "$edge/2mb"
    out=$(curl -sk -XPOST --data-binary @"$edge/2mb" "$https/upload")
    [ "$(jq -r '.server + " " + (.body_len | tostring)' <<< "$out" 2>/dev/null)" = "A 2000000" ]
    ok $? "edge: a 2 MB upload reaches the application (its limit is 10m)" \
       "$(head -c 300 <<< "$out")"
    out=$(curl -sk -w '\n%{http_code}' -XPOST -H "$json" \
          --data-binary @"$edge/2mb" "$https/predict")
    [ "${out##*$'\n'}" = 413 ] && jq -e .error <<< "${out%$'\n'*}" > /dev/null
    ok $? "edge: a 2 MB /predict is refused, 413 with a JSON error (its limit is 1m)" "$out"

    out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
          "http://127.0.0.1:$eport/shop?x=1")
    [ "$out" = "308 https://127.0.0.1/shop?x=1" ]
    ok $? "edge: port 80 redirects to https with 308" "$out"
    for path in /health /ready; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$eport$path")
        [ "$code" = 200 ]
        ok $? "edge: the probe's GET $path on port 80 answers 200" "got $code"
    done

    out=$(curl -sk "$https/metrics")
    [ "$(jq -r .server <<< "$out" 2>/dev/null)" = A ]
    ok $? "edge: /metrics on the public listener is the application's, not the module's" \
       "$(head -c 200 <<< "$out")"
    grep -q '^nginx_infer_requests_total{model="example",code="200"} [1-9]' \
        <(curl -s "http://127.0.0.1:$emport/metrics")
    ok $? "edge: the metrics port counts the predictions"

    # the Service moves: the resolver's next answer is followed, no reload
    echo 127.0.0.3 > "$edge/dns-answer"
    server=
    for _ in $(seq 30); do
        server=$(curl -sk "$https/moved" | jq -r .server 2>/dev/null)
        [ "$server" = B ] && break
        sleep 0.2
    done
    [ "$server" = B ] && [ "$(cat "$elive/nginx.pid")" = "$emaster" ] \
        && ! grep -q 'reconfiguring' "$elive/stderr.log"
    ok $? "edge: a new address for the application's name is followed within seconds, without a reload" \
       "last answer from ${server:-nobody}"

    kill -QUIT "$emaster"
    for _ in $(seq 50); do
        [ -e "$elive/nginx.pid" ] || break
        sleep 0.2
    done
    ! grep -E '\[(alert|crit|emerg)\]' "$elive/stderr.log"
    ok $? "edge: no alert in nginx's log" 
fi


# --- k8s/ingress-controller: the snippets in the controller's shape ------------

cmp -s "$root/k8s/ingress-controller/models/example-linear.json" \
       "$root/conf/models/example-linear.json"
ok $? "k8s/ingress-controller/models/example-linear.json is conf/models/example-linear.json"

ic=$work/ingress-controller
icport=$((port + 7)); icsport=$((port + 8)); icmport=$((port + 9))
mkdir -p "$ic/tmp"
cp "$root/k8s/ingress-controller/test/check.mjs" "$npmdir/ic-check.mjs"
node "$npmdir/ic-check.mjs" "$root" "$ic" PID="$ic/nginx.pid" ETC=/etc/nginx \
    TMP="$ic/tmp" UPSTREAM=$upport HTTP=$icport HTTPS=$icsport TLS="$elive/tls" \
    MODULE="$module" MODELS="$root/k8s/ingress-controller/models" \
    METRICS=$icmport > "$ic/check.log" 2>&1
tally "$ic/check.log" controller $?

for c in nginx nginx-flat; do
    "$nginx" -t -q -c "$ic/$c.conf" 2> "$ic/$c-t.err"
    ok $? "nginx -t: the controller's shape with the snippets ($c.conf)" \
       "$(cat "$ic/$c-t.err")"
done

# the application on 127.0.0.1 this time (the fixture's upstreams)
$py "$root/k8s/edge/test/echo-upstream.py" 127.0.0.1 $upport app &
started+=($!)

icserve() {
    "$nginx" -c "$ic/$1.conf" 2> "$ic/$1.err" &
    icpid=$!
    started+=($icpid)
    for _ in $(seq 25); do
        curl -sk -o /dev/null "https://127.0.0.1:$icsport/" \
            && curl -s -o /dev/null "http://127.0.0.1:$upport/" && break
        sleep 0.2
    done
}
icstop() {
    kill -QUIT "$icpid" 2>/dev/null
    wait "$icpid" 2>/dev/null
}
ich=(-H 'Host: app.example.com')
ics=https://127.0.0.1:$icsport

icserve nginx
out=$(curl -sk "${ich[@]}" -XPOST -H "$json" -d '{"features":[1.0,2.0,3.5]}' "$ics/predict")
[ "$(jq .prediction <<< "$out" 2>/dev/null)" = 6.5 ]
ok $? "controller: POST /predict answers 6.5 from the module (the nested location)" "$out"
out=$(curl -sk "${ich[@]}" "$ics/v2/models/example/ready")
[ "$(jq -r '.name + " " + (.ready | tostring)' <<< "$out" 2>/dev/null)" = "example true" ]
ok $? "controller: GET /v2/models/example/ready answers from the module" "$out"
out=$(curl -sk "${ich[@]}" "$ics/predict/history")
[ "$(jq -r '.server + " " + .path' <<< "$out" 2>/dev/null)" = "app /predict/history" ]
ok $? "controller: /predict/history (the minion's outer location) is proxied to the application" \
   "$(head -c 200 <<< "$out")"
out=$(curl -sk "${ich[@]}" "$ics/web/page")
[ "$(jq -r '.server + " " + .path + " " + .headers["x-forwarded-proto"]' <<< "$out" 2>/dev/null)" \
  = "app /web/page https" ]
ok $? "controller: /web/page (the application's minion) is proxied" "$(head -c 200 <<< "$out")"
grep -q '^nginx_infer_requests_total{model="example",code="200"} 1$' \
    <(curl -s "http://127.0.0.1:$icmport/metrics")
ok $? "controller: the http-snippets' metrics server counts the prediction"
icstop

icserve nginx-flat
out=$(curl -sk "${ich[@]}" -XPOST -H "$json" -d '{"features":[1.0,2.0,3.5]}' "$ics/predict")
[ "$(jq -r '.server + " " + .path' <<< "$out" 2>/dev/null)" = "app /predict" ]
ok $? "controller: a location snippet of a bare \`infer example;\` is overridden by the controller's proxy_pass (ingress.yaml nests it)" \
   "$(head -c 200 <<< "$out")"
icstop
! grep -E '\[(alert|crit|emerg)\]' "$ic/nginx.err" "$ic/nginx-flat.err"
ok $? "controller: no alert in nginx's log"

echo "check-k8s: $passed passed, $failed failed"
[ "$failed" = 0 ]
