#!/bin/bash
# Builds nginx from a full source tree twice, with the module static
# (--add-module) and dynamic (--with-compat --add-dynamic-module), and runs
# the t/ suite against each.  The tree is the upstream nginx in Debian's
# source package (its .orig tarball), fetched with apt-get source, unless
# NGINX_TREE names one.
#   scripts/test-builds.sh [static] [dynamic]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/full
kinds=${*:-static dynamic}
jobs=$(nproc)

fetch_tree() {
    local list=/etc/apt/sources.list.d/infer-deb-src.sources

    if [ -n "${NGINX_TREE:-}" ]; then
        echo "$NGINX_TREE"
        return
    fi

    mkdir -p "$work/src"
    cd "$work/src"

    if ! ls nginx_*.orig.tar.gz >/dev/null 2>&1; then
        if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list \
                 /etc/apt/sources.list.d/
        then
            sed 's/^Types: deb$/Types: deb-src/' \
                /etc/apt/sources.list.d/debian.sources > "$list"
            apt-get update -qq >&2
        fi

        # the .dsc of a security update may be gone: the .orig is enough
        apt-get source --download-only -qq nginx >&2 || true
    fi

    tar xzf nginx_*.orig.tar.gz
    ls -d "$work/src"/nginx-*/ | sed -n 1p
}

build() {                             # build KIND TREE
    local kind=$1 tree=$2 dst=$work/$1 flags

    rm -rf "$dst"
    mkdir -p "$work"
    cp -r "$tree" "$dst"
    cd "$dst"

    flags=(--with-threads --with-debug --with-http_stub_status_module
           --prefix="$dst")

    if [ "$kind" = static ]; then
        flags+=(--add-module="$root")
    else
        flags+=(--with-compat --add-dynamic-module="$root")
    fi

    echo "=== $kind: configure and build in $dst"
    ./configure "${flags[@]}" > configure.log 2>&1 \
        || { tail -20 configure.log; exit 1; }
    make -s -j"$jobs" > make.log 2>&1 || { tail -40 make.log; exit 1; }
    [ "$kind" = static ] || make -s -f objs/Makefile modules >> make.log 2>&1
}

"$root/scripts/deps.sh" build test fullbuild
tree=$(fetch_tree)
echo "tree: $tree"

for kind in $kinds; do
    build "$kind" "$tree"

    module=
    [ "$kind" = dynamic ] && module=$work/dynamic/objs/ngx_http_infer_module.so

    "$work/$kind/objs/nginx" -V 2>&1 | sed -n 1p       # not head: SIGPIPE
    # the module's suite: t/compat/selftest.t tests the runner on Debian's
    # nginx, with modules a default build lacks
    NGINX_BIN=$work/$kind/objs/nginx MODULE=$module PROVE_FILES="t/*.t" \
        TEST_NGINX_SERVROOT=$root/t/servroot-$kind \
        "$root/scripts/test.sh" prove
done
