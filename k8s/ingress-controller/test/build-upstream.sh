#!/bin/bash
# By hand, not in make test (CI has no nginx tree of the controller's
# version, and this compiles nginx): build the module, and nginx itself,
# from an upstream nginx source tree of the version the Ingress
# Controller's image ships (1.31.3 for controller 5.5.4), configured with
# the modules nginx.org's packages build, --with-compat and
# --add-dynamic-module=this module; then run the snippets' fixture and the
# edge's nginx.conf with that nginx.
#
#   git -C NGINX_GIT archive release-1.31.3 | tar -x -C /tmp/nginx-1.31.3
#   k8s/ingress-controller/test/build-upstream.sh /tmp/nginx-1.31.3 [OUT]
#
# An nginx tree from git has auto/configure, a release tarball ./configure;
# either works.  OUT (default build/ic-upstream) gets the tree's copy, the
# binary and the module.  The configure arguments below are those of
# nginx.org's Debian packages minus the install paths (this nginx runs
# from OUT), as far as they build without extra libraries here; the
# Dockerfile uses the image's own `nginx -V` instead.
set -euo pipefail

tree=$(realpath "$1")
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=$(realpath -m "${2:-$root/build/ic-upstream}")
nginx_t=/usr/sbin/nginx

rm -rf "$out"
mkdir -p "$out"
cp -r "$tree" "$out/src"
cd "$out/src"
configure=./configure
[ -x "$configure" ] || configure=auto/configure
version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' src/core/nginx.h)
echo "build-upstream: nginx $version from $tree"

"$configure" --prefix="$out/prefix" \
    --with-compat --with-file-aio --with-threads \
    --with-http_addition_module --with-http_auth_request_module \
    --with-http_dav_module --with-http_flv_module --with-http_gunzip_module \
    --with-http_gzip_static_module --with-http_mp4_module \
    --with-http_random_index_module --with-http_realip_module \
    --with-http_secure_link_module --with-http_slice_module \
    --with-http_ssl_module --with-http_stub_status_module \
    --with-http_sub_module --with-http_v2_module --with-http_v3_module \
    --with-mail --with-mail_ssl_module --with-stream \
    --with-stream_realip_module --with-stream_ssl_module \
    --with-stream_ssl_preread_module \
    --with-cc-opt='-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC' \
    --with-ld-opt='-Wl,-z,relro -Wl,-z,now -Wl,--as-needed -pie' \
    --add-dynamic-module="$root" > "$out/configure.log" 2>&1 \
    || { tail -20 "$out/configure.log"; exit 1; }
make -j"$(nproc)" > "$out/make.log" 2>&1 || { tail -30 "$out/make.log"; exit 1; }
make install > "$out/install.log" 2>&1 || { tail -10 "$out/install.log"; exit 1; }
ls -l "$out/prefix/modules/ngx_http_infer_module.so"
bin=$out/prefix/sbin/nginx
"$bin" -V 2>&1 | head -1

# the fixture of the controller's configuration and the edge's nginx.conf,
# as scripts/check-k8s.sh made them (run it first), with this nginx and
# this module instead of Debian's
work=$root/build/k8s-check
for conf in "$work/ingress-controller/nginx.conf" "$work/edge/live/nginx.conf"; do
    [ -f "$conf" ] || { echo "no $conf: run scripts/check-k8s.sh first"; exit 1; }
    sed -e "s|load_module [^;]*ngx_http_infer_module.so;|load_module $out/prefix/modules/ngx_http_infer_module.so;|" \
        "$conf" > "$out/$(basename "$(dirname "$conf")").conf"
done
# the edge's module line is in an include
cp -r "$work/edge/live" "$out/edge-etc"
echo "load_module $out/prefix/modules/ngx_http_infer_module.so;" \
    > "$out/edge-etc/modules-enabled/50-mod-http-infer.conf"
sed -i "s|$work/edge/live/|$out/edge-etc/|g" "$out/edge-etc/nginx.conf"
for conf in "$out/ingress-controller.conf" "$out/edge-etc/nginx.conf"; do
    echo "build-upstream: nginx $version -t $conf"
    "$bin" -t -c "$conf"
done

# served by nginx $version: the nested snippet answers /predict from the
# module, the bare one hands it to the controller's proxy_pass (the
# fixture's ports and upstream are check-k8s.sh's: PORT+6 to PORT+8)
port=${CHECK_K8S_PORT:-18580}
ic=$work/ingress-controller
sed -e "s|load_module [^;]*ngx_http_infer_module.so;|load_module $out/prefix/modules/ngx_http_infer_module.so;|" \
    "$ic/nginx-flat.conf" > "$out/ingress-controller-flat.conf"
/usr/bin/python3 "$root/k8s/edge/test/echo-upstream.py" 127.0.0.1 $((port + 6)) app &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null' EXIT
for variant in ingress-controller ingress-controller-flat; do
    "$bin" -c "$out/$variant.conf" 2> "$out/$variant.err" &
    npid=$!
    sleep 1
    printf 'build-upstream: nginx %s, %s.conf: POST /predict -> ' "$version" "$variant"
    curl -sk -H 'Host: app.example.com' -H 'Content-Type: application/json' \
        -d '{"features":[1.0,2.0,3.5]}' "https://127.0.0.1:$((port + 8))/predict" \
        | tee "$out/$variant.out" | head -c 160
    echo
    kill -QUIT $npid
    wait $npid || true
done
jq -e '.prediction == 6.5' "$out/ingress-controller.out" > /dev/null
jq -e '.server == "app"' "$out/ingress-controller-flat.out" > /dev/null

echo "build-upstream: Debian's $("$nginx_t" -v 2>&1) refuses this module:"
printf 'load_module %s;\nevents {}\n' "$out/prefix/modules/ngx_http_infer_module.so" \
    > "$out/mismatch.conf"
! "$nginx_t" -t -c "$out/mismatch.conf"
