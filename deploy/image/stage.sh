#!/bin/bash
# The Dockerfile's build stage, after `scripts/deps.sh build && make`:
# installs the module into this stage's own nginx exactly as the runtime
# stage will, proves the configuration with `nginx -t`, and leaves in OUT
# what the runtime stage copies:
#   OUT/packages              nginx at the version built against, and the
#                             packages holding the module's libraries
#   OUT/ngx_http_infer_module.so
#   OUT/etc/nginx/            nginx.conf, modules-enabled/, models/, infer/
#   OUT/healthcheck           the HEALTHCHECK command
#
#   deploy/image/stage.sh OUT
set -euo pipefail

out=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
so=$root/build/ngx_http_infer_module.so

mkdir -p "$out/etc/nginx/modules-enabled" "$out/etc/nginx/models"

# the runtime libraries: the packages of what the module links beyond
# nginx's own, found by ldd, so a new dependency needs no edit here
ldd "$so" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
    real=$(readlink -f "$lib")
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$real"
done | sed 's/:.*//; s/:.*//' | sort -u > "$out/libpackages"

{
    echo "nginx=$(dpkg-query -W -f='${Version}' nginx)"
    cat "$out/libpackages"
} | tr '\n' ' ' > "$out/packages"
rm "$out/libpackages"
echo "stage: runtime packages: $(cat "$out/packages")"

cp "$so" "$out/ngx_http_infer_module.so"
echo "load_module modules/ngx_http_infer_module.so;" \
    > "$out/etc/nginx/modules-enabled/50-mod-http-infer.conf"
cp "$root/k8s/nginx.conf" "$out/etc/nginx/nginx.conf"
cp "$root"/conf/models/* "$out/etc/nginx/models/"
mkdir -p "$out/etc/nginx/infer"
cp -r "$root"/conf/. "$out/etc/nginx/infer/"
install -m 0755 "$root/deploy/image/healthcheck" "$out/healthcheck"

# the same tree in this stage's /etc/nginx, then `nginx -t` on it
mkdir -p /usr/lib/nginx/modules
cp "$so" /usr/lib/nginx/modules/
cp -r "$out/etc/nginx/." /etc/nginx/
nginx -t
