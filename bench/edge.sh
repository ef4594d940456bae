#!/usr/bin/env bash
# What the edge configuration costs (make bench; k8s/edge/): the nginx
# worker's CPU time per request, as bench/run.sh measures it (utime+stime
# of the one worker from /proc over a wrk run, divided by the requests;
# cases interleaved in rounds, medians; worker and wrk pinned apart), for
#
#   plain_predict   POST /predict, k8s/nginx.conf (the inference Service)
#   edge_predict    POST /predict, k8s/edge/nginx.conf with TLS off: the
#                   listener that also proxies, its realip, maps, resolver
#   edge_proxy      GET /app through the same listener's location /, to an
#                   upstream nginx answering `return 200` with /predict's
#                   bytes on loopback: the edge's proxy_pass with a
#                   variable, the name resolved through its resolver (a
#                   one-name DNS, k8s/edge/test/dns.py) and one new
#                   connection per request (nginx 1.22, see the file)
#   keepalive_proxy the same hop through an upstream{} with keepalive 16:
#                   what a separate inference tier costs its proxy at best
#
# Both files are used as they are but for: one worker on SERVER_CPU, the
# ports, no TLS on the edge's listener (wrk speaks plain HTTP/1.1), the
# log and temporary paths, the resolver's address, the Service's port, and
# the keepalive_proxy location added.  The upstream's own CPU per request
# (its worker on CLIENT_CPU, beside wrk) is printed apart: that is the
# second tier's share, which the edge does not pay.
#
#   bench/edge.sh
#   MODULE, NGINX, DURATION (4), ROUNDS (5), CONNS (32), PORT (18090:
#   PORT..PORT+4), SERVER_CPU (0), CLIENT_CPU (1), WARMUP (1)
#
# Exit status: nonzero only when the measurement failed (a wrong answer,
# errors, a worker that died), never because of a ratio.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=$(realpath "${MODULE:-build/ngx_http_infer_module.so}")
DURATION=${DURATION:-4}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-32}
WARMUP=${WARMUP:-1}
PORT=${PORT:-18090}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PLAIN_PORT=$PORT EDGE_PORT=$((PORT + 1)) UP_PORT=$((PORT + 2))
DNS_PORT=$((PORT + 3)) SPARE_PORT=$((PORT + 4))
W=$ROOT/build/bench-edge
RESULTS=$W/results.tsv
CLK_TCK=$(getconf CLK_TCK)
APP=app.default.svc.cluster.local
PIDS=()

die() { printf 'bench/edge: FAILED: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"       # median, proc_ticks, cpu_mask, machine_ticks, ...
worker() { pgrep -P "$(cat "$1/nginx.pid")" | head -1; }

cleanup() {
    local d
    for d in plain edge up; do
        [[ -s $W/$d/nginx.pid ]] && kill -QUIT "$(cat "$W/$d/nginx.pid")" 2>/dev/null
    done
    ((${#PIDS[@]} == 0)) || kill "${PIDS[@]}" 2>/dev/null
    # gone before the next benchmark starts: their logs are being flushed
    for _ in $(seq 50); do
        [[ -e $W/plain/nginx.pid || -e $W/edge/nginx.pid || -e $W/up/nginx.pid ]] \
            || break
        sleep 0.1
    done
    return 0
}
trap cleanup EXIT

echo "=== the edge (k8s/edge/nginx.conf): /predict, and a request it proxies"
[[ -f $MODULE ]] || die "no module at $MODULE: run make"
for p in $PLAIN_PORT $EDGE_PORT $UP_PORT $DNS_PORT $SPARE_PORT; do
    ! ss -Htln "sport = :$p" | grep -q . || die "port $p is in use: set PORT"
done
rm -rf "$W"
mkdir -p "$W"

# prefix DIR CONF: the image's /etc/nginx with CONF, made a bench server
prefix() {
    local d=$W/$1
    mkdir -p "$d/etc/modules-enabled" "$d/etc/models" "$d/etc/infer" "$d/tmp"
    cp "$2" "$d/etc/nginx.conf"
    cp conf/models/* "$d/etc/models/"
    cp -r conf/. "$d/etc/infer/"
    echo "load_module $MODULE;" > "$d/etc/modules-enabled/50-mod-http-infer.conf"
    sed -i -E \
        -e '/^user /d' \
        -e "s/^worker_processes .*/worker_processes 1;\\nworker_cpu_affinity $(cpu_mask "$SERVER_CPU");/" \
        -e "s|^pid .*|pid $d/nginx.pid;|" \
        -e "s|/tmp/|$d/tmp/|" \
        -e "s|/dev/stdout|$d/access.log|" \
        -e 's/^([[:space:]]*keepalive_requests[[:space:]]+).*/\11000000;/' \
        "$d/etc/nginx.conf"
}

prefix plain k8s/nginx.conf
sed -i -E -e "s/^([[:space:]]*listen[[:space:]]+)8080\\b/\\1127.0.0.1:$PLAIN_PORT/" \
    -e "s/^([[:space:]]*listen[[:space:]]+)9113\\b/\\1127.0.0.1:$SPARE_PORT/" \
    "$W/plain/etc/nginx.conf"

prefix edge k8s/edge/nginx.conf
sed -i -E \
    -e "s/^([[:space:]]*listen[[:space:]]+)8443[[:space:]]+ssl[[:space:]]+http2\\b/\\1127.0.0.1:$EDGE_PORT/" \
    -e '/^[[:space:]]*ssl_certificate(_key)?[[:space:]]/d' \
    -e "s/^([[:space:]]*listen[[:space:]]+)8080\\b/\\1127.0.0.1:$((SPARE_PORT + 1))/" \
    -e "s/^([[:space:]]*listen[[:space:]]+)9113\\b/\\1127.0.0.1:$((SPARE_PORT + 2))/" \
    -e "s|^([[:space:]]*resolver[[:space:]]+)kube-dns\\.kube-system\\.svc\\.cluster\\.local\\b|\\1127.0.0.1:$DNS_PORT|" \
    -e "s|$APP:80;|$APP:$UP_PORT;|" \
    -e "s|^([[:space:]]*)# everything else: the application$|\\1location = /keepalive { proxy_pass http://bench_keepalive/app; proxy_http_version 1.1; proxy_set_header Connection \"\"; }\\n&|" \
    -e "s|^([[:space:]]*)# --- port 80: probes, and a redirect|\\1upstream bench_keepalive { server 127.0.0.1:$UP_PORT; keepalive 16; keepalive_requests 1000000; }\\n&|" \
    "$W/edge/etc/nginx.conf"
for l in "listen  127.0.0.1:$EDGE_PORT " "127.0.0.1:$DNS_PORT " "$APP:$UP_PORT;" \
         "upstream bench_keepalive" "location = /keepalive"; do
    grep -qF "$l" "$W/edge/etc/nginx.conf" ||
        die "k8s/edge/nginx.conf no longer has the lines this script adapts ($l)"
done
# the ports above the spare one must be free too
for p in $((SPARE_PORT + 1)) $((SPARE_PORT + 2)); do
    ! ss -Htln "sport = :$p" | grep -q . || die "port $p is in use: set PORT"
done

# the names the edge resolves: the application's, at the upstream
echo 127.0.0.1 > "$W/dns-answer"
/usr/bin/python3 k8s/edge/test/dns.py 127.0.0.1 "$DNS_PORT" "$APP" "$W/dns-answer" &
PIDS+=($!)

for d in plain edge; do
    "$NGINX" -t -q -c "$W/$d/etc/nginx.conf" 2> "$W/$d.t.err" ||
        die "nginx -t $d: $(cat "$W/$d.t.err")"
    "$NGINX" -c "$W/$d/etc/nginx.conf" 2> "$W/$d.err" || die "nginx $d did not start"
done

req=bench/example.json
hdr='Content-Type: application/json'
for _ in $(seq 50); do
    curl -sf -H "$hdr" --data-binary @$req "http://127.0.0.1:$PLAIN_PORT/predict" \
        -o "$W/plain.out" && break
    sleep 0.1
done
body=$(cat "$W/plain.out")
[[ $body == *'"prediction":6.5,'* ]] || die "plain /predict: $body"
out=$(curl -sf -H "$hdr" --data-binary @$req "http://127.0.0.1:$EDGE_PORT/predict")
[[ $out == *'"prediction":6.5,'* ]] || die "edge /predict: $out"

# the application: nginx answering /predict's bytes, one worker beside wrk
mkdir -p "$W/up/tmp"
quoted=${body//\\/\\\\}
quoted=${quoted//\'/\\\'}
cat > "$W/up/nginx.conf" <<EOF
worker_processes 1;
worker_cpu_affinity $(cpu_mask "$CLIENT_CPU");
pid $W/up/nginx.pid;
error_log $W/up/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $W/up/tmp;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$UP_PORT;
        location / { default_type application/json; return 200 '$quoted'; }
    }
}
EOF
"$NGINX" -c "$W/up/nginx.conf" 2> "$W/up.err" || die "the upstream nginx did not start"
sleep 0.3
for path in /app /keepalive; do
    out=$(curl -sf "http://127.0.0.1:$EDGE_PORT$path") || die "GET $path failed"
    [[ $out == "$body" ]] || die "GET $path answered $out"
done

# name  server-dir  url  wrk-script
CASES=(
    "plain_predict plain http://127.0.0.1:$PLAIN_PORT/predict bench/post.lua"
    "edge_predict edge http://127.0.0.1:$EDGE_PORT/predict bench/post.lua"
    "edge_proxy edge http://127.0.0.1:$EDGE_PORT/app -"
    "keepalive_proxy edge http://127.0.0.1:$EDGE_PORT/keepalive -"
)

run() {                     # run SECONDS URL SCRIPT OUT
    local s=()
    [[ $3 == - ]] || s=(-s "$3")
    timeout $(($1 + 30)) taskset -c "$CLIENT_CPU" \
        wrk -t1 -c"$CONNS" -d"$1"s --latency "${s[@]}" "$2" -- "$(realpath $req)" \
        > "$4" 2>&1 || die "wrk $2: $(tail -3 "$4")"
}

: > "$RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
    for c in "${CASES[@]}"; do
        read -r name dir url script <<<"$c"
        ((WARMUP == 0)) || run "$WARMUP" "$url" "$script" "$W/warm.txt"
        wp=$(worker "$W/$dir") up=$(worker "$W/up")
        t0=$(proc_ticks "$wp") u0=$(proc_ticks "$up") m0=$(machine_ticks) k0=$(children_ticks)
        run "$DURATION" "$url" "$script" "$W/wrk-$r-$name.txt"
        t1=$(proc_ticks "$wp") u1=$(proc_ticks "$up") m1=$(machine_ticks) k1=$(children_ticks)
        [[ $(worker "$W/$dir") == "$wp" ]] || die "the $dir worker changed during $name"
        f=$W/wrk-$r-$name.txt
        n=$(awk '/ requests in / { print $1 }' "$f")
        [[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || die "$name: no request count: $(cat "$f")"
        ! grep -q 'Non-2xx\|Socket errors' "$f" || die "$name: errors: $(grep 'Non-2xx\|Socket errors' "$f")"
        # what other processes used meanwhile, in % of one cpu: above 10,
        # the figures of that run are suspect (bench/run.sh's "oth%")
        o=$(( (m1 - m0) - (t1 - t0) - (u1 - u0) - (k1 - k0) ))
        awk -v r="$r" -v c="$name" -v n="$n" -v t=$((t1 - t0)) -v u=$((u1 - u0)) \
            -v o=$((o < 0 ? 0 : o)) -v d="$DURATION" \
            -v hz="$CLK_TCK" '/^Requests\/sec:/ { rps = $2 }
            END { printf "%s\t%s\t%.3f\t%.3f\t%.0f\t%.0f\n", r, c, t / hz / n * 1e6,
                  u / hz / n * 1e6, rps, 100 * o / hz / d }' "$f" >> "$RESULTS"
    done
done

col() { awk -F'\t' -v c="$1" -v k="$2" '$2 == c { print $k }' "$RESULTS" | median; }
# the median of the rounds' own ratios (a round's cases share its load)
ratio() {
    awk -F'\t' -v a="$1" -v b="$2" '$2 == a { x[$1] = $3 } $2 == b { y[$1] = $3 }
        END { for (r in x) print x[r] / y[r] }' "$RESULTS" | median
}
printf 'edge: worker CPU per request, median of %s rounds of %s s, %s connections\n' \
    "$ROUNDS" "$DURATION" "$CONNS"
for c in "${CASES[@]}"; do
    read -r name _ <<<"$c"
    printf '  %-16s %7.2f us/req  %8.0f req/s' "$name" "$(col "$name" 3)" "$(col "$name" 5)"
    case $name in
        *proxy) printf '   (the upstream: %.2f us/req more)' "$(col "$name" 4)" ;;
    esac
    printf '\n'
done
busyruns=$(awk -F'\t' '$6 > 10' "$RESULTS" | wc -l)
((busyruns == 0)) ||
    printf 'NOTE: %s of %s runs shared the machine with other processes (over 10%% of a cpu): rerun when it is quiet\n' \
        "$busyruns" "$(wc -l < "$RESULTS")"
printf 'edge_predict / plain_predict:  %.2f   (the edge configuration around a prediction)\n' \
    "$(ratio edge_predict plain_predict)"
printf 'edge_proxy / edge_predict:     %.2f   (a proxied request against a prediction, same listener)\n' \
    "$(ratio edge_proxy edge_predict)"
printf 'keepalive_proxy / edge_predict: %.2f  (the hop a second tier would add, at best)\n' \
    "$(ratio keepalive_proxy edge_predict)"
