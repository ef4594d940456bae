#!/usr/bin/env bash
# One whole request of the image path through nginx: a JPEG posted to a
# location serving ResNet-18 (image=224x224 resize=256, ImageNet's mean
# and std, labels: none, top_k=5), decoded, preprocessed and evaluated
# inline by one worker pinned to SERVER_CPU, one request at a time from
# hey on CLIENT_CPU.  It prints the worker's CPU time per request (its
# utime + stime over the requests, from /proc) and hey's latencies, and,
# given bench/image.sh's output, sets them beside torch's ResNet-18
# evaluation alone and the Python service's bytes-to-outputs pipeline.
#
# Usage: bench/image-request.sh [IMAGE_LOG]
# Environment: MODULE (default build/ngx_http_infer_module.so), MODELS
# (default build/bench/onnx), IMAGES (default build/bench/image), N
# (requests, default 200), PORT (default 18090), SERVER_CPU (0),
# CLIENT_CPU (1), NGINX (default /usr/sbin/nginx).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE_LOG=${1:-}
MODULE=${MODULE:-$ROOT/build/ngx_http_infer_module.so}
MODELS=${MODELS:-$ROOT/build/bench/onnx}
IMAGES=${IMAGES:-$ROOT/build/bench/image}
N=${N:-200}
PORT=${PORT:-18090}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NGINX=${NGINX:-/usr/sbin/nginx}
export -n NGINX     # nginx reads an exported NGINX as its inherited sockets
PREFIX=$ROOT/build/bench/image-request
PICTURE=$IMAGES/photo500x375.jpg

die() {
    echo "image-request.sh: $*" >&2
    exit 1
}

[[ -f $MODELS/bench_resnet18.onnx ]] || die "no $MODELS/bench_resnet18.onnx"
[[ -f $PICTURE ]] || die "no $PICTURE (bench/image.sh makes it)"

rm -rf "$PREFIX"
mkdir -p "$PREFIX/logs"
cp "$MODULE" "$PREFIX/module.so"

cat > "$PREFIX/nginx.conf" <<EOF
load_module $PREFIX/module.so;
worker_processes  1;
error_log  logs/error.log  warn;
pid  nginx.pid;
events { worker_connections  64; }
http {
    access_log  off;
    infer_model  resnet  $MODELS/bench_resnet18.onnx  image=224x224
                 resize=256 mean=0.485,0.456,0.406 std=0.229,0.224,0.225
                 top_k=5;
    server {
        listen  127.0.0.1:$PORT;
        client_max_body_size  8m;
        location = /predict { infer resnet; }
    }
}
EOF

taskset -c "$SERVER_CPU" "$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf"
trap '"$NGINX" -p "$PREFIX/" -c "$PREFIX/nginx.conf" -s stop 2>/dev/null' EXIT

for _ in $(seq 50); do
    curl -s -o /dev/null "127.0.0.1:$PORT/" && break
    sleep 0.1
done

url="http://127.0.0.1:$PORT/predict"
answer=$(curl -s -XPOST -H 'Content-Type: image/jpeg' \
              --data-binary @"$PICTURE" "$url")
[[ $answer == '{"predictions":[{"class":'* ]] ||
    die "unexpected answer: ${answer:0:200}"

worker=$(pgrep -P "$(cat "$PREFIX/nginx.pid")" | head -1)

cpu_ticks() {                   # utime + stime of the worker, in ticks
    awk '{ print $14 + $15 }' "/proc/$worker/stat"
}

# warm-up: the model's pages, the pool's memory
taskset -c "$CLIENT_CPU" hey -n 20 -c 1 -m POST -T image/jpeg \
    -D "$PICTURE" "$url" > /dev/null

t0=$(cpu_ticks)
taskset -c "$CLIENT_CPU" hey -n "$N" -c 1 -m POST -T image/jpeg \
    -D "$PICTURE" "$url" > "$PREFIX/hey.txt"
t1=$(cpu_ticks)

grep -q "\[200\]	$N responses" "$PREFIX/hey.txt" ||
    die "not $N responses of 200: $(grep -A3 'Status code' "$PREFIX/hey.txt")"

hz=$(getconf CLK_TCK)
cpu_us=$(awk -v a="$t0" -v b="$t1" -v n="$N" -v hz="$hz" \
             'BEGIN { printf "%.0f", (b - a) * 1e6 / hz / n }')
p50_us=$(awk '/ 50% in/ { printf "%.0f", $3 * 1e6 }' "$PREFIX/hey.txt")
p99_us=$(awk '/ 99% in/ { printf "%.0f", $3 * 1e6 }' "$PREFIX/hey.txt")

echo "request_photo500x375: nginx worker CPU ${cpu_us} us a request" \
     "(${N} requests, one at a time), latency p50 ${p50_us} us," \
     "p99 ${p99_us} us"

# torch's figures from bench/image.sh's table: "case module python ..."
if [[ -n $IMAGE_LOG && -f $IMAGE_LOG ]]; then
    awk -v cpu="$cpu_us" '
        $1 == "resnet18" { resnet = $4 }
        $1 == "pipeline" { pipeline = $4 }
        END {
            if (!resnet || !pipeline) exit
            printf "the whole request costs %.2f of torch'"'"'s ResNet-18 " \
                   "evaluation alone (%.0f us) and %.2f of the Python " \
                   "pipeline from bytes to outputs (%.0f us)\n",
                   cpu / resnet, resnet, cpu / pipeline, pipeline
        }' "$IMAGE_LOG"
fi
