#!/bin/bash
# Builds nginx from a full source tree, with the module static
# (--add-module), dynamic (--with-compat --add-dynamic-module) or static
# under AddressSanitizer and UBSan (asan: nginx's pools as in production;
# asan-palloc: each pool allocation a malloc() of its own), and runs the
# t/ suite against each.  The tree is the upstream nginx in Debian's source
# package (its .orig tarball), fetched with apt-get source, unless
# NGINX_TREE names one (scripts/nginx-tree.sh).
#   scripts/test-builds.sh [static] [dynamic] [asan] [asan-palloc]
# Environment: PROVE_FILES (default t/*.t), TEST_NGINX_* as scripts/test.sh
# takes them; TEST_BUILDS_REUSE=1 runs make again in an existing build
# instead of configuring a fresh copy of the tree (a changed module source
# is recompiled: nginx's Makefile lists them).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/full
kinds=${*:-static dynamic}
jobs=$(nproc)

# asan: gcc's AddressSanitizer and UBSan over nginx and the module alike.
# nginx's own -O comes first in CFLAGS, so -O1 here wins.  Each of the two
# kinds sees what the other cannot.  With nginx's pools as they are, a
# read past a pool buffer lands in the pool's next bytes, which ASan
# cannot tell from a good read, but memory is aligned as in production (8
# bytes): UBSan found a 16-byte union there that malloc()'s alignment hid.
# asan-palloc adds NGX_DEBUG_PALLOC, which makes every pool allocation a
# malloc() of its own, whose end ASan sees.
san_cc_opt='-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1'
# Both runtimes linked in (-static-lib*): with gcc 12's shared libasan and
# libubsan, ASan's reports went to UBSAN_OPTIONS' log_path and UBSan's to
# stderr, whatever the options said (the canary below showed it).
san_ld_opt='-fsanitize=address,undefined -static-libasan -static-libubsan'

build() {                             # build KIND TREE
    local kind=$1 tree=$2 dst=$work/$1 flags

    if [ "${TEST_BUILDS_REUSE:-}" = 1 ] && [ -x "$dst/objs/nginx" ]; then
        echo "=== $kind: make again in $dst"
        cd "$dst"
        make -s -j"$jobs" > make.log 2>&1 || { tail -40 make.log; exit 1; }
        return
    fi

    rm -rf "$dst"
    mkdir -p "$work"
    cp -r "$tree" "$dst"
    cd "$dst"

    flags=(--with-threads --with-debug --with-http_stub_status_module
           --prefix="$dst")

    case $kind in
    static)  flags+=(--add-module="$root") ;;
    dynamic) flags+=(--with-compat --add-dynamic-module="$root") ;;
    asan)    flags+=(--add-module="$root" --with-cc=gcc
                     --with-cc-opt="$san_cc_opt" --with-ld-opt="$san_ld_opt") ;;
    asan-palloc)
             flags+=(--add-module="$root" --with-cc=gcc
                     --with-cc-opt="$san_cc_opt -DNGX_DEBUG_PALLOC=1"
                     --with-ld-opt="$san_ld_opt") ;;
    *)       echo "test-builds: unknown kind $kind"; exit 1 ;;
    esac

    echo "=== $kind: configure and build in $dst"
    ./configure "${flags[@]}" > configure.log 2>&1 \
        || { tail -20 configure.log; exit 1; }
    make -s -j"$jobs" > make.log 2>&1 || { tail -40 make.log; exit 1; }
    [ "$kind" != dynamic ] || make -s -f objs/Makefile modules >> make.log 2>&1
}

# sanitizer_reports DIR PREFIX: what the runtimes wrote into DIR, one file
# per process that reported (san.PID, both runtimes in it: reports are
# told apart by their text).  Prints the reports and the line
#   sanitizers: A asan, M ubsan in the module (at L places),
#       N ubsan in nginx (at K places)
# (one line)
# A UBSan report is the module's when the place it names (the first line,
# FILE:LINE:COL: runtime error: ...) is a file under PREFIX (the module is
# compiled by its absolute path, nginx by relative ones) or one the
# module's config generates in objs/ (onnx.pb-c.c).
sanitizer_reports() {
    local dir=$1 prefix=$2 f

    for f in "$dir"/san.*; do
        [ -e "$f" ] && printf '\n@@@ %s\n' "$f" && cat "$f"
    done | awk -v prefix="$prefix" '
        function flush() {
            if (where == "") return
            if (mine) {
                nmine++
                if (!(where in seen_mine) && shown < 10) {
                    shown++
                    printf "--- ubsan in the module:\n%s", report
                }
                seen_mine[where]
            } else {
                nngx++
                if (!(where in seen_ngx)) {
                    ngx_first[++nplaces] = first
                    ngx_where[nplaces] = where
                }
                seen_ngx[where]++
            }
            where = ""
        }
        /^@@@ / { flush(); file_name = $2; in_asan = 0; next }
        /ERROR: AddressSanitizer/ {
            flush()
            in_asan = 1
            if (++nasan <= 3)
                printf "--- asan, in %s:\n", file_name
        }
        in_asan {
            if (nasan <= 3 && ++asan_lines[nasan] <= 60) print
            if (/^SUMMARY: AddressSanitizer/) in_asan = 0
            next
        }
        / runtime error: / {
            flush()
            first = $0
            where = $0
            sub(/: runtime error: .*/, "", where)
            file = where
            sub(/:[0-9]+(:[0-9]+)?$/, "", file)
            mine = index(file, prefix) == 1 \
                   || file ~ /(^|\/)objs\/onnx\.pb-c\.[ch]$/
            report = $0 "\n"
            next
        }
        /^$/ { flush(); next }
        where != "" && /^ *#[0-9]+ / { report = report $0 "\n" }
        END {
            flush()
            for (i = 1; i <= nplaces; i++)
                printf "ubsan in nginx (not failing), %d times: %s\n",
                       seen_ngx[ngx_where[i]], ngx_first[i]
            nm = 0; for (k in seen_mine) nm++
            printf "sanitizers: %d asan, %d ubsan in the module (at %d " \
                   "places), %d ubsan in nginx (at %d places)\n",
                   nasan, nmine, nm, nngx, nplaces
        }'
}

# sanitizer_options DIR: exports the runtimes' options, reports into DIR.
# nginx points its stderr at the error log, so the reports go to files,
# one per process (the runtimes add .PID; a forked worker opens its own).
# detect_leaks=0: nginx frees a worker's memory with its pools, and leaves
# the master's cycle, its copy of the environment and what modules
# allocate at start-up to exit(); LSan would report those with nothing to
# tell them from the module's (make test-valgrind checks leaks, with
# valgrind.suppress).  ASan stops the process at its first report
# (halt_on_error=1): after one, memory is not to be trusted, and
# -fsanitize-recover=address is not set.  UBSan goes on (halt_on_error=0),
# so that nginx's own reports, judged after the suite, do not fail the
# blocks they occur in.
sanitizer_options() {
    export ASAN_OPTIONS="log_path=$1/san:detect_leaks=0:halt_on_error=1"
    export UBSAN_OPTIONS="log_path=$1/san:print_stacktrace=1:halt_on_error=0"
}

# Before the suite: a program built with the same flags, one UB (a signed
# overflow) and then one read past a malloc()ed array, must leave one
# report of each in a file, read as such by sanitizer_reports: the
# runtimes honour sanitizer_options, and the check can fail.
sanitizer_canary() {
    local dir=$san_dir/canary line

    rm -rf "$dir"
    mkdir -p "$dir"
    cat > "$dir/canary.c" << 'END'
#include <stdlib.h>
int
main(int argc, char **argv)
{
    volatile int  big = 2147483647;
    char         *p = malloc(4);

    (void) argv;
    big += argc;                                /* UBSan: signed overflow */
    return p[4 + argc] + big;                   /* ASan: heap overflow */
}
END
    gcc $san_cc_opt -o "$dir/canary" "$dir/canary.c" $san_ld_opt
    (sanitizer_options "$dir" && "$dir/canary") || true
    line=$(sanitizer_reports "$dir" "$dir/" | tail -1)

    # the read past the array is UBSan's too (-fsanitize=object-size)
    want='^sanitizers: 1 asan, [1-9][0-9]* ubsan in the module .* 0 ubsan in'
    if ! [[ $line =~ $want ]]; then
        echo "asan: the canary's reports were not found: $line"
        ls -l "$dir"
        exit 1
    fi
    echo "asan: canary reports found in files ($line)"
}

"$root/scripts/deps.sh" build test fullbuild
tree=$("$root/scripts/nginx-tree.sh")
echo "tree: $tree"
failed=0

for kind in $kinds; do
    start=$SECONDS
    build "$kind" "$tree"

    module=
    [ "$kind" = dynamic ] && module=$work/dynamic/objs/ngx_http_infer_module.so

    "$work/$kind/objs/nginx" -V 2>&1 | sed -n 1p       # not head: SIGPIPE

    scale=()
    san_dir=$work/sanitizer-$kind
    if [[ $kind = asan* ]]; then
        # t/thread_pool.t's 5 ms for /health beside a batch on the pool:
        # under ASan the event loop itself is slower
        scale=(TEST_NGINX_TIME_SCALE=2)
        rm -rf "$san_dir"
        mkdir -p "$san_dir"

        for sym in __asan_init __ubsan_handle_add_overflow; do
            nm "$work/$kind/objs/nginx" | grep " T $sym\$" > /dev/null \
                || { echo "asan: objs/nginx has no $sym"; exit 1; }
        done
        sanitizer_canary
        rm -rf "$san_dir"/canary
        sanitizer_options "$san_dir"
    fi

    # the module's suite: t/compat/selftest.t tests the runner on Debian's
    # nginx, with modules a default build lacks
    rc=0
    env "${scale[@]}" NGINX_BIN="$work/$kind/objs/nginx" MODULE="$module" \
        "PROVE_FILES=${PROVE_FILES:-t/*.t}" \
        TEST_NGINX_SERVROOT="$root/t/servroot-$kind" \
        "$root/scripts/test.sh" prove || rc=$?

    if [[ $kind = asan* ]]; then
        unset ASAN_OPTIONS UBSAN_OPTIONS
        # Any ASan report fails, wherever it points: a memory error in
        # nginx's code is as likely the module's doing.  UBSan's reports
        # in nginx's own code are printed and counted, not failing: they
        # are nginx's (1.22.1: memcpy() from NULL for an empty string in
        # ngx_pstrdup() and ngx_sprintf(), an unaligned word read in
        # ngx_http_parse_request_line()).
        out=$(sanitizer_reports "$san_dir" "$root/")
        echo "$out"
        line=$(echo "$out" | tail -1)
        if ! [[ $line =~ ^'sanitizers: 0 asan, 0 ubsan in the module ' ]]
        then
            echo "asan: failed: $line (the reports: $san_dir)"
            rc=1
        fi
    fi

    verdict=passed
    [ "$rc" = 0 ] || verdict=FAILED
    echo "=== $kind: $((SECONDS - start)) s, suite $verdict"
    [ "$rc" = 0 ] || failed=$((failed + 1))
done

[ "$failed" = 0 ]
