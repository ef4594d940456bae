#!/bin/bash
# Builds the dynamic module against an nginx source tree.
#   scripts/build-module.sh NGINX_SRC BUILD_DIR ADDON_DIR
# Debian's nginx-dev tree carries conf_flags, the flags its nginx was built
# with: using them makes a module that binary accepts.  Its compiler flags
# are not among them (nginx's configure would compile with -O alone): they
# come from the installed binary's `nginx -V`, so that the module is built
# as optimized and hardened as what loads it (-O2 and -O differ by a fifth
# in the module's instructions per request).  Another tree is
# configured with $NGINX_CONFIGURE_FLAGS (default --with-compat
# --with-threads); that nginx must then have been built the same way.
set -euo pipefail

src=$1 dst=$2 addon=$3

if [ ! -f "$dst/objs/Makefile" ] || [ "$addon/config" -nt "$dst/objs/Makefile" ] \
   || [ "$addon/config.make" -nt "$dst/objs/Makefile" ] \
   || [ "$0" -nt "$dst/objs/Makefile" ]
then
    echo "build: configuring $src in $dst"
    rm -rf "$dst"
    mkdir -p "$(dirname "$dst")"
    cp -r "$src" "$dst"
    cd "$dst"

    if [ -f conf_flags ]; then
        . ./conf_flags
        flags=("${NGX_CONF_FLAGS[@]}")
        cc_opt=$("${NGINX:-/usr/sbin/nginx}" -V 2>&1 \
                 | sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p") || cc_opt=
        [ -z "$cc_opt" ] || flags+=("--with-cc-opt=$cc_opt")
    else
        read -r -a flags <<< "${NGINX_CONFIGURE_FLAGS:---with-compat --with-threads}"
    fi

    ./configure "${flags[@]}" --add-dynamic-module="$addon" \
        > "$dst/configure.log" 2>&1 \
        || { tail -20 "$dst/configure.log"; exit 1; }
fi

cd "$dst"
make -s -f objs/Makefile modules
