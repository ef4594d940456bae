#!/bin/bash
# An nginx with its symbols, for bench/instructions.sh's accounting:
# Debian's nginx is stripped, so callgrind cannot name its functions.
# Built from the upstream tree in Debian's source package (apt-get source,
# scripts/nginx-tree.sh, or NGINX_TREE) with the configure
# arguments `nginx -V` reports for Debian's binary, less the dynamic
# modules that need libraries of their own: the same code, the same
# compiler flags, --with-compat, so that the module built for Debian's
# nginx loads in it.  Prints the binary's path; builds it once.
#   scripts/build-nginx-symbols.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/nginx-symbols
debian=${NGINX_BIN:-/usr/sbin/nginx}

[ -x "$work/objs/nginx" ] && { echo "$work/objs/nginx"; exit 0; }

tree=$("$root/scripts/nginx-tree.sh")
rm -rf "$work"
cp -r "$tree" "$work"

# Debian's headers (nginx-dev) over upstream's: the module is compiled
# against them, and Debian's patches change structures (1.22.1-9+deb12u
# adds a bit to ngx_connection_t before `reusable`: with upstream's
# headers nginx and the module disagree on where its flags are)
cp -r /usr/share/nginx/src/src/. "$work/src/"

# Debian's arguments, one per line as the shell would split them; the
# dynamic modules (geoip, image_filter, perl, xslt, mail, stream) need
# libraries a build machine may lack, and /predict never runs them
"$debian" -V 2>&1 | sed -n 's/^configure arguments: //p' \
    | xargs -n1 printf '%s\n' \
    | grep -v -- '=dynamic$\|^--with-mail\|^--with-stream\|-path=\|^--prefix=' \
    > "$work/arguments"

cd "$work"
mapfile -t args < arguments
echo "nginx-symbols: configuring with Debian's arguments in $work" >&2
./configure --prefix="$work" "${args[@]}" > configure.log 2>&1 \
    || { tail -20 configure.log >&2; exit 1; }
make -s -j"$(nproc)" > make.log 2>&1 || { tail -40 make.log >&2; exit 1; }
echo "$work/objs/nginx"
