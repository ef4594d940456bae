#!/bin/bash
# Prints the path of a full upstream nginx source tree: NGINX_TREE when it
# names one, else the upstream tree in Debian's nginx source package (its
# .orig tarball), fetched once with apt-get source into build/full/src and
# unpacked there.  scripts/test-builds.sh builds nginx from it with the
# module, scripts/build-nginx-symbols.sh the nginx bench/instructions.sh
# reads the symbols of.  Progress goes to stderr, the path alone to stdout.
#   scripts/nginx-tree.sh
set -euo pipefail

if [ -n "${NGINX_TREE:-}" ]; then
    echo "$NGINX_TREE"
    exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/full/src
list=/etc/apt/sources.list.d/infer-deb-src.sources

mkdir -p "$src"
cd "$src"

if ! ls nginx_*.orig.tar.gz >/dev/null 2>&1; then
    "$root/scripts/deps.sh" fullbuild >&2
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

ls nginx_*.orig.tar.gz >/dev/null 2>&1 \
    || { echo "nginx-tree: apt-get source fetched no nginx_*.orig.tar.gz" >&2;
         exit 1; }
tar xzf nginx_*.orig.tar.gz
ls -d "$src"/nginx-*/ | sed -n 1p
