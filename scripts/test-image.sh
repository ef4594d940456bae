#!/bin/bash
# make test-image: builds the Dockerfile and runs the image here, for real,
# with no registry and no Docker engine: Debian's podman and buildah, on a
# base image made with debootstrap and `podman import`.
#
#   scripts/test-image.sh
#
#   TEST_IMAGE_BASE=debian:bookworm   use a registry's base image instead
#   TEST_IMAGE_PORT=18480             host ports PORT (http), PORT+1 (metrics),
#                                     PORT+2 (a second container), PORT+3
#                                     to PORT+6 (the edge: https, http, its
#                                     DNS, its application)
#   TEST_IMAGE_TARBALL=PATH           where the debootstrapped root is kept
#                                     (default build/image/bookworm-minbase.tar)
#   TEST_IMAGE_KEEP=1                 keep build/image/storage, the images
#                                     and their layer cache, for a faster
#                                     rerun (CI does not set it)
#
# Everything podman makes lives in build/image/storage (not the machine's
# own /var/lib/containers) and is removed at the end, pass or fail; the
# debootstrapped root filesystem stays as build/image/bookworm-minbase.tar,
# so a second run skips debootstrap.  Published ports are on 127.0.0.1
# only, through slirp4netns: no bridge, no iptables rule is left behind.
# The container runs as k8s/deployment.yaml runs it: the same
# capabilities, seccomp profile, read-only root and empty /tmp.  A second
# one serves k8s/edge/nginx.conf as the edge component runs it: TLS and
# HTTP/2 with a certificate made here, a prediction and a request proxied
# to an application on the host through the same listener.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/image
tarball=${TEST_IMAGE_TARBALL:-$work/bookworm-minbase.tar}
image=localhost/nginx-infer:test
base=${TEST_IMAGE_BASE:-localhost/nginx-infer-base:bookworm}
port=${TEST_IMAGE_PORT:-18480}
mport=$((port + 1))
t0=$SECONDS
passed=0
failed=0
skipped=0

say() { printf 'test-image: [%4ds] %s\n' $((SECONDS - t0)) "$*"; }
die() { say "FATAL: $*"; exit 1; }

ok() {
    if [ "$1" = 0 ]; then
        passed=$((passed + 1)); say "ok   $2"
    else
        failed=$((failed + 1)); say "FAIL $2${3:+: $3}"
    fi
}

skip() { skipped=$((skipped + 1)); say "skip $*"; }


# --- tools ---------------------------------------------------------------

need="podman buildah runc slirp4netns debootstrap golang-github-containers-common
      curl jq gcc libc6-dev openssl python3"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
        | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" = 0 ] || die "missing packages:$missing (run as root)"
    say "installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null || die "apt-get failed"
fi

mkdir -p "$work" "$(dirname "$tarball")"

# podman's configuration: runc, the ulimits these machines allow, a
# storage of our own, no registry to search
export CONTAINERS_CONF=$root/deploy/containers.conf
export CONTAINERS_STORAGE_CONF=$work/storage.conf
export CONTAINERS_REGISTRIES_CONF=$work/registries.conf
cat > "$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
echo 'unqualified-search-registries = []' > "$CONTAINERS_REGISTRIES_CONF"

cleanup() {
    podman rm -af -t 0 >/dev/null 2>&1
    rm -rf --one-file-system "$work/rootfs"
    [ -n "${TEST_IMAGE_KEEP:-}" ] && return
    podman system reset -f >/dev/null 2>&1
    rm -rf "$work/storage" "$work/run"
}
cleanup
trap cleanup EXIT

# the podman of Debian 12 logs an error for each healthcheck timer it
# cannot hand to systemd (there is none here); `podman healthcheck run`
# is what checks the image's HEALTHCHECK below
quiet() { grep -v 'systemd' >&2; }


# --- the base image --------------------------------------------------------

if [ "$base" = localhost/nginx-infer-base:bookworm ]; then
    if [ ! -s "$tarball" ]; then
        # the mirrors apt uses on this machine
        sources=/etc/apt/sources.list.d/debian.sources
        mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit }' \
                 "$sources" 2>/dev/null)
        security=$(awk '/^URIs:/ && $2 ~ /debian-security\/?$/ { print $2;
                   exit }' "$sources" 2>/dev/null)
        [ -n "$mirror" ] || die "no Debian mirror in $sources"
        security=${security:-${mirror%/debian*}/debian-security}

        say "debootstrap --variant=minbase bookworm from $mirror"
        rm -rf --one-file-system "$work/rootfs"
        debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" \
            > "$work/debootstrap.log" 2>&1 \
            || { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }

        # as Debian's official image: deb822 sources with updates and
        # security, no package lists or cached packages
        rm -f "$work/rootfs/etc/apt/sources.list"
        cat > "$work/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        rm -rf "$work/rootfs"/var/lib/apt/lists/* \
               "$work/rootfs"/var/cache/apt/*.bin \
               "$work/rootfs"/var/cache/apt/archives/*.deb
        tar --numeric-owner --one-file-system -C "$work/rootfs" \
            --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
            -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" \
            || die "tar failed"
        rm -rf --one-file-system "$work/rootfs"
    fi

    podman image exists "$base" && say "base image kept from the last run"
fi
if [ "$base" = localhost/nginx-infer-base:bookworm ] \
   && ! podman image exists "$base"
then
    say "podman import $(basename "$tarball")"
    podman import --change 'CMD ["/bin/bash"]' "$tarball" "$base" \
        >/dev/null 2>&1 || die "podman import failed"
fi
t_base=$((SECONDS - t0))


# --- the image -------------------------------------------------------------

say "podman build (BASE=$base), log in build/image/build.log"
t1=$SECONDS
podman build --pull=never --network=host --format docker \
    --build-arg BASE="$base" -t "$image" -f "$root/Dockerfile" "$root" \
    > "$work/build.log" 2>&1
rc=$?
t_build=$((SECONDS - t1))
ok $rc "podman build (${t_build}s)" "see build/image/build.log"
[ $rc = 0 ] || { tail -20 "$work/build.log"; exit 1; }
grep '^stage: ' "$work/build.log" | while read -r l; do say "$l"; done

size=$(podman image inspect "$image" --format '{{.Size}}')
base_size=$(podman image inspect "$base" --format '{{.Size}}' 2>/dev/null)
say "image size: $((size / 1000000)) MB (base: $((base_size / 1000000)) MB)"

stopsig=$(podman image inspect "$image" --format '{{.Config.StopSignal}}')
[ "$stopsig" = SIGQUIT ]
ok $? "STOPSIGNAL is SIGQUIT" "got $stopsig"

podman run --rm --network none "$image" nginx -t > "$work/nginx-t.log" 2>&1
ok $? "nginx -t in the image" "$(tail -1 "$work/nginx-t.log")"

# what the image's nginx.conf has on
conf=$(podman run --rm --network none "$image" cat /etc/nginx/nginx.conf 2>/dev/null)
has() { grep -Eq "^[[:space:]]*$1[[:space:];]" <<< "$conf"; }


# --- run it as the Deployment does -----------------------------------------

deploy=$root/k8s/deployment.yaml
caps=$(awk '/^ *add:/ { f = 1; next } f && /^ *- / { print $2; next }
            f { exit }' "$deploy" | paste -sd, -)
profile=$root/deploy/seccomp/$(awk '/localhostProfile:/ { print $2 }' \
                               "$deploy" | xargs basename)
prestop=$(awk '/^ *- -c$/ { getline; sub(/^ *- /, ""); print; exit }' \
          "$deploy")
workers=$(awk '$1 == "worker_processes" { sub(";", "", $2); print $2 }' \
          <<< "$conf")
say "capabilities $caps; seccomp $(basename "$profile")"

for p in $port $mport; do
    ss -Htln "sport = :$p" | grep -q . && die "port $p is in use"
done

net=(--network slirp4netns:port_handler=slirp4netns)
# shellcheck disable=SC2054  # the capabilities are one comma list
secure=(--cap-drop=ALL --cap-add="$caps" --read-only
        --tmpfs /tmp:rw,notmpcopyup)

podman run -d --name nginx-infer-test "${net[@]}" \
    -p 127.0.0.1:$port:8080 -p 127.0.0.1:$mport:9113 \
    "${secure[@]}" --security-opt seccomp="$profile" "$image" \
    > /dev/null 2> >(quiet)
ok $? "podman run (127.0.0.1:$port, :$mport)"

url=http://127.0.0.1:$port
murl=http://127.0.0.1:$mport
for _ in $(seq 50); do
    curl -fs "$url/health" > /dev/null && break
    sleep 0.2
done

json='Content-Type: application/json'

body=$(curl -s -w '\n%{http_code}' -XPOST -H "$json" \
       -d '{"features":[1.0,2.0,3.5]}' "$url/predict")
jq -e 'select(.prediction == 6.5 and .model_name == "example"
              and .model_version == "1")' <<< "${body%$'\n'*}" > /dev/null \
    && [ "${body##*$'\n'}" = 200 ]
ok $? "/predict answers 200 {\"prediction\":6.5,...}" "$body"

body=$(curl -s -XPOST -H "$json" \
       -d '{"instances":[[1.0,2.0,3.5],[0.5,1.5,2.0]]}' "$url/predict")
[ "$(jq -c .predictions <<< "$body")" = '[6.5,4]' ]
ok $? "/predict batch answers [6.5,4]" "$body"

body=$(curl -s -w '\n%{http_code}' "$url/health")
[ "$(jq -r .status <<< "${body%$'\n'*}")" = ok ] \
    && [ "${body##*$'\n'}" = 200 ]
ok $? "/health answers 200 {\"status\":\"ok\"}" "$body"

body=$(curl -s -w '\n%{http_code}' "$url/ready")
jq -e 'select(.status == "ready" and .models[0].name == "example"
              and .models[0].ready == true)' <<< "${body%$'\n'*}" \
    > /dev/null && [ "${body##*$'\n'}" = 200 ]
ok $? "/ready answers 200 {\"status\":\"ready\"}" "$body"

code=$(curl -s -o /dev/null -w '%{http_code}' "$url/metrics")
[ "$code" = 404 ]
ok $? "/metrics is not on the traffic port (404)" "got $code"

if has infer_metrics; then
    curl -s -D "$work/metrics.head" "$murl/metrics" > "$work/metrics.txt"
    grep -qi '^content-type: text/plain; version=0.0.4' "$work/metrics.head"
    ok $? "/metrics answers the Prometheus text format"

    value() {
        awk -v s="$1" '$1 == s { print $2 }' "$work/metrics.txt"
    }
    [ "$(value 'nginx_infer_requests_total{model="example",code="200"}')" = 2 ]
    ok $? "/metrics: requests_total{code=\"200\"} is 2"
    [ "$(value 'nginx_infer_predictions_total{model="example"}')" = 3 ]
    ok $? "/metrics: predictions_total is 3 (1 + 2 rows)"
    [ "$(value 'nginx_infer_model_info{model="example",version="1",format="linear"}')" = 1 ]
    ok $? "/metrics: model_info{version=\"1\",format=\"linear\"} is 1"

    # every family the dashboard and the rules use is in this scrape
    missing=""
    while read -r name type state; do
        [ "$state" = pending ] && continue
        if [ "$state" = cgroup ] && ! grep -q "^# TYPE $name " "$work/metrics.txt"
        then
            say "note: no $name here: no cgroup v2 CPU limit on this machine"
            continue
        fi
        grep -q "^# TYPE $name $type\$" "$work/metrics.txt" \
            || missing="$missing $name"
    done < <(grep -v '^#' "$root/deploy/metric-names.txt" | grep .)
    [ -z "$missing" ]
    ok $? "/metrics has every family of deploy/metric-names.txt, with its type" \
       "missing:$missing"
else
    skip "/metrics: the module has no infer_metrics yet"
fi

sleep 1.5       # the access log's flush=1s
line=$(podman logs nginx-infer-test 2> /dev/null | grep '"uri":"/predict"' \
       | tail -1)
jq -e 'select(.status == 200 and .method == "POST")' <<< "$line" \
    > /dev/null
ok $? "the access log line on stdout is JSON" "$line"

ps=$(podman exec nginx-infer-test sh -c 'for p in /proc/[0-9]*; do
         printf "%s %s\n" "$(awk "/^Uid:/ { print \$2 }" $p/status)" \
                          "$(tr "\0" " " < $p/cmdline)"; done' 2>/dev/null)
[ "$(grep -c '^0 nginx: master process' <<< "$ps")" = 1 ] \
    && [ "$(grep -c '^33 nginx: worker process' <<< "$ps")" = "$workers" ] \
    && ! grep -q '^0 nginx: worker' <<< "$ps"
ok $? "master is root, $workers workers are www-data (uid 33)" "$ps"

podman healthcheck run nginx-infer-test > /dev/null 2>&1
ok $? "HEALTHCHECK: healthy"


# --- the scheduler-delay probe ---------------------------------------------

if has infer_sched_probe; then
    src=$(curl -s "$murl/metrics" \
          | awk '/^nginx_infer_sched_probe_source\{/ && $2 == 1')
    grep -q 'source="bpf"' <<< "$src"
    ok $? "probe source is bpf with the seccomp profile" "$src"
else
    skip "probe in the module: the module has no infer_sched_probe yet"
fi

# what the probe needs from the kernel, without the module: a static
# program in the image, under each profile and capability set
gcc -std=c99 -O2 -Wall -Wextra -Werror -static \
    -o "$work/bpf-check" "$root/deploy/seccomp/bpf-check.c" \
    || die "cannot build bpf-check"
bpfcheck() {
    podman run --rm --network none --cap-drop=ALL "$@" \
        -v "$work/bpf-check:/bpf-check:ro" \
        "$image" /bpf-check 2> >(quiet) | paste -sd' ' -
}
allowed="bpf_prog_load ok bpf_raw_tracepoint_open ok perf_event_open ok"
denied="bpf_prog_load errno EPERM bpf_raw_tracepoint_open skipped"
denied="$denied perf_event_open errno EPERM"

out=$(bpfcheck --cap-add=BPF,PERFMON)
[ "$out" = "$denied" ]
ok $? "default seccomp, CAP_BPF+CAP_PERFMON: bpf() EPERM" "$out"
out=$(bpfcheck --cap-add=BPF,PERFMON --security-opt seccomp="$profile")
[ "$out" = "$allowed" ]
ok $? "our seccomp, CAP_BPF+CAP_PERFMON: raw_tp loads and attaches" "$out"
out=$(bpfcheck --cap-add=BPF --security-opt seccomp="$profile")
[ "$out" = "$denied" ]
ok $? "our seccomp, CAP_BPF alone: EPERM" "$out"
out=$(bpfcheck --cap-add=PERFMON --security-opt seccomp="$profile")
[ "$out" = "$denied" ]
ok $? "our seccomp, CAP_PERFMON alone: EPERM" "$out"
out=$(bpfcheck --security-opt seccomp="$profile")
[ "$out" = "$denied" ]
ok $? "our seccomp, no capabilities: EPERM" "$out"

if has infer_sched_probe; then
    podman run -d --name nginx-infer-test2 "${net[@]}" \
        -p 127.0.0.1:$((port + 2)):9113 \
        "${secure[@]}" "$image" > /dev/null 2> >(quiet)
    for _ in $(seq 50); do
        curl -fs "http://127.0.0.1:$((port + 2))/metrics" > /dev/null \
            && break
        sleep 0.2
    done
    src=$(curl -s "http://127.0.0.1:$((port + 2))/metrics" \
          | awk '/^nginx_infer_sched_probe_source\{/ && $2 == 1')
    grep -q 'source="schedstat"' <<< "$src"
    ok $? "probe source is schedstat with the default seccomp" "$src"
    podman rm -f -t 0 nginx-infer-test2 > /dev/null 2>&1
fi


# --- the edge: k8s/edge/nginx.conf served by the image ------------------------

# The image as k8s/edge runs it: the edge's nginx.conf mounted over the
# image's (the ConfigMap), a kubernetes.io/tls Secret's two files at
# /etc/nginx/tls (made here), the same capabilities, profile and
# read-only root.  The application (k8s/edge/test/echo-upstream.py) and
# the cluster's DNS (k8s/edge/test/dns.py) run on the host's loopback,
# which slirp4netns shows the container as 10.0.2.2: the resolver and the
# Service's port are pointed there, nothing else of the file changes.
edge=$work/edge
rm -rf "$edge"
mkdir -p "$edge/tls"
esport=$((port + 3)); eport=$((port + 4)); dnsport=$((port + 5)); upport=$((port + 6))
app=app.default.svc.cluster.local
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=app.example.com \
    -addext subjectAltName=DNS:app.example.com \
    -keyout "$edge/tls/tls.key" -out "$edge/tls/tls.crt" 2> "$edge/openssl.err"
ok $? "openssl: a certificate for app.example.com (the TLS Secret)" "$(cat "$edge/openssl.err")"
sed -E \
    -e "s|^([[:space:]]*resolver[[:space:]]+)kube-dns\\.kube-system\\.svc\\.cluster\\.local\\b|\\110.0.2.2:$dnsport|" \
    -e "s|$app:80;|$app:$upport;|" \
    "$root/k8s/edge/nginx.conf" > "$edge/nginx.conf"
[ "$(grep -c "10.0.2.2:$dnsport\\|$app:$upport;" "$edge/nginx.conf")" = 2 ]
ok $? "k8s/edge/nginx.conf: the resolver and the Service's port pointed at the host"

for p in $esport $eport $upport; do
    ss -Htln "sport = :$p" | grep -q . && die "port $p is in use"
done
echo 10.0.2.2 > "$edge/dns-answer"
edgepids=()
/usr/bin/python3 "$root/k8s/edge/test/dns.py" 127.0.0.1 $dnsport $app "$edge/dns-answer" &
edgepids+=($!)
/usr/bin/python3 "$root/k8s/edge/test/echo-upstream.py" 127.0.0.1 $upport app &
edgepids+=($!)
trap 'kill "${edgepids[@]}" 2>/dev/null; cleanup' EXIT

podman run -d --name nginx-infer-edge-test \
    --network slirp4netns:port_handler=slirp4netns,allow_host_loopback=true \
    -p 127.0.0.1:$esport:8443 -p 127.0.0.1:$eport:8080 \
    -v "$edge/nginx.conf:/etc/nginx/nginx.conf:ro" \
    -v "$edge/tls:/etc/nginx/tls:ro" \
    "${secure[@]}" --security-opt seccomp="$profile" "$image" \
    > /dev/null 2> >(quiet)
ok $? "podman run: the edge (127.0.0.1:$esport https, :$eport http)"

# the certificate is checked, not skipped: curl resolves the name to the
# published port and trusts the test's certificate only
tls=(--cacert "$edge/tls/tls.crt" --resolve "app.example.com:$esport:127.0.0.1")
eurl=https://app.example.com:$esport
for _ in $(seq 50); do
    curl -fs "${tls[@]}" "$eurl/health" > /dev/null && break
    sleep 0.2
done

out=$(curl -s "${tls[@]}" --http2 -w '\n%{http_version}' -XPOST -H "$json" \
      -d '{"features":[1.0,2.0,3.5]}' "$eurl/predict")
[ "$(jq .prediction <<< "${out%$'\n'*}" 2>/dev/null)" = 6.5 ] \
    && [ "${out##*$'\n'}" = 2 ]
ok $? "edge: POST /predict over TLS (the Secret's certificate) and HTTP/2 answers 6.5" "$out"

tp=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
out=$(curl -s "${tls[@]}" --http2 -D "$edge/proxied.head" -w '\n%{http_version}' \
      -H 'X-Request-ID: image-req-7' -H "traceparent: $tp" \
      -H 'X-Forwarded-For: 203.0.113.7' "$eurl/shop/cart?item=1")
body=${out%$'\n'*}
jq -e --arg tp "$tp" '
    select(.server == "app" and .path == "/shop/cart?item=1"
           and .headers["x-request-id"] == "image-req-7"
           and .headers.traceparent == $tp
           and .headers["x-forwarded-proto"] == "https"
           and .headers.host == "app.example.com")' <<< "$body" > /dev/null \
    && [ "${out##*$'\n'}" = 2 ] \
    && grep -qi '^x-request-id: image-req-7' "$edge/proxied.head"
ok $? "edge: GET /shop/cart on the same listener, HTTP/2, reaches the application with X-Request-ID and traceparent" "$out"

# the published port reaches nginx from slirp4netns' 10.0.2.x, a private
# address the edge trusts (a load balancer's, in a cluster): the
# client's X-Forwarded-For is its address, as behind an L7 balancer
peer=$(jq -r '.headers["x-real-ip"]' <<< "$body" 2>/dev/null)
[ "$peer" = 203.0.113.7 ]
ok $? "edge: from a trusted proxy's address, X-Forwarded-For gives the client's (X-Real-IP 203.0.113.7)" \
   "X-Real-IP $peer"

out=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
      -H 'Host: app.example.com' "http://127.0.0.1:$eport/shop")
[ "$out" = "308 https://app.example.com/shop" ]
ok $? "edge: port 80 redirects to https (308)" "$out"

sleep 1.5       # the access logs' flush=1s
podman logs nginx-infer-edge-test > "$edge/container.log" 2>&1
line=$(grep '"uri":"/shop/cart"' "$edge/container.log" | tail -1)
jq -e 'select(.request_id == "image-req-7" and .upstream_status == "200"
              and .http2 == "h2" and .remote_addr == "203.0.113.7")' \
    <<< "$line" > /dev/null
ok $? "edge: the proxied request's log line is JSON with its request id, upstream status and h2" "$line"
line=$(grep '"uri":"/predict"' "$edge/container.log" | tail -1)
jq -e 'select(.model == "example" and .status == 200)' <<< "$line" > /dev/null
ok $? "edge: the prediction's log line is the module's JSON" "$line"

podman rm -f -t 0 nginx-infer-edge-test > /dev/null 2>&1
kill "${edgepids[@]}" 2>/dev/null
trap cleanup EXIT

# --- preStop: in-flight requests finish ------------------------------------

# a 900 KB body sent at 100 KB/s is in flight for 9 s; the Deployment's
# preStop command (sleep 5, nginx -s quit) runs at the first second
pad=$(head -c 900000 /dev/zero | tr '\0' ' ')
printf '{"features":[1.0,2.0,3.5]}%s' "$pad" > "$work/slow.json"
curl -s -w '\n%{http_code}' --limit-rate 100k -XPOST -H "$json" \
    --data-binary @"$work/slow.json" "$url/predict" > "$work/slow.out" &
slow=$!
sleep 1
say "preStop: $prestop"
podman exec nginx-infer-test /bin/sh -c "$prestop" > /dev/null 2>&1 &
stopper=$!
wait $slow
body=$(cat "$work/slow.out")
[ "${body##*$'\n'}" = 200 ] \
    && [ "$(jq .prediction <<< "${body%$'\n'*}")" = 6.5 ]
ok $? "a request in flight during preStop completes: 200, 6.5" "$body"

for _ in $(seq 50); do
    [ "$(podman inspect nginx-infer-test --format '{{.State.Status}}')" \
      = exited ] && break
    sleep 0.2
done
wait $stopper 2>/dev/null
state=$(podman inspect nginx-infer-test \
        --format '{{.State.Status}} {{.State.ExitCode}}')
[ "$state" = "exited 0" ]
ok $? "nginx exits 0 once the request is done" "$state"
# into a file first: grep -q stops reading at its match, and under
# pipefail podman's SIGPIPE would fail the check
podman logs nginx-infer-test > "$work/container.log" 2>&1
grep -q 'gracefully shutting down' "$work/container.log"
ok $? "the workers shut down gracefully"


# --- summary ---------------------------------------------------------------

say "timings: base ${t_base}s, build ${t_build}s, total $((SECONDS - t0))s"
say "image: $image $((size / 1000000)) MB"
echo "test-image: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
