#!/bin/sh
# Installs the Debian packages that the named make targets need, and only
# those missing, so that `make run` and `make test` work on a fresh
# Debian 12 (as root).  Usage: scripts/deps.sh build [test valgrind ...]
set -eu

packages=""

for group in "$@"; do
    case $group in
    build)    packages="$packages gcc make nginx nginx-dev libyajl-dev
                        clang bpftool libbpf-dev libprotobuf-c-dev
                        protobuf-c-compiler libonnx-dev zlib1g-dev
                        libjpeg62-turbo-dev libpng-dev" ;;
    test)     packages="$packages perl curl clang libclang-rt-14-dev" ;;
    valgrind) packages="$packages valgrind" ;;
    bench)    packages="$packages wrk hey curl util-linux procps" ;;
    fullbuild) packages="$packages dpkg-dev libpcre2-dev zlib1g-dev" ;;
    xgboost)  packages="$packages python3-xgboost python3-sklearn libxgboost-dev" ;;
    onnx)     packages="$packages python3-torch python3-torchvision python3-onnx
                        libonnx-testdata protobuf-compiler python3-pil" ;;
    otel)     packages="$packages protobuf-compiler curl openssl hey" ;;
    nodejs)   packages="$packages nodejs npm" ;;
    schedlat) packages="$packages libcap2-bin util-linux procps curl bpftool hey" ;;
    *)        echo "deps: unknown group \"$group\"" >&2; exit 2 ;;
    esac
done

missing=""

for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q "install ok installed"
    then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi

echo "deps: installing$missing"

# a fresh machine may have no package lists yet
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $missing >/dev/null
