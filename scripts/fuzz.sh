#!/bin/bash
# The libFuzzer harnesses (build/fuzz/NAME), from their corpora in
# src/test/corpus/NAME.
#   scripts/fuzz.sh SECONDS NAME...
#       a short run of each (make test): what it finds stays in
#       build/fuzz/corpus-NAME.  Prints "fuzz: N passed, M failed"; a crash
#       leaves its input in build/fuzz.
#   scripts/fuzz.sh --campaign SECONDS NAME...
#       a longer run of each, one after the other (make fuzz-campaign),
#       whose new inputs join src/test/corpus/NAME, minimised; the
#       coverage of the corpus before and after, and a table row per
#       harness in build/fuzz/campaign/summary.md.
# Environment (campaign): FUZZ_CPU, the CPU each run is pinned to (default
# the last one), at nice 19; FUZZ_CORPUS_MAX, the bytes a corpus may reach
# (default 2 MB).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
campaign=

# The harnesses' UBSan checks are recoverable (clang's default): without
# halt_on_error a report is printed and the run goes on, counted as no
# fault.  The first campaign missed two that way (a float converted to
# int32_t out of range, an ONNX Slice step's overflow).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [ "${1:-}" = --campaign ]; then
    campaign=1
    shift
fi
seconds=$1
shift
passed=0
failed=0

smoke() {                               # smoke NAME
    local name=$1 corpus=$root/build/fuzz/corpus-$1 log=$root/build/fuzz/$1.log
    local runs

    mkdir -p "$corpus"
    if (cd "$root/build/fuzz" \
        && "./$name" -max_total_time="$seconds" -print_final_stats=1 \
                     "$corpus" "$root/src/test/corpus/$name" > "$log" 2>&1)
    then
        runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" \
               | grep -Eo '[0-9]+$')
        echo "ok: fuzz $name: ${runs:-?} inputs in ${seconds}s, no fault"
        passed=$((passed + 1))
    else
        echo "not ok: fuzz $name: see $log"
        grep -E 'ERROR|SUMMARY' "$log" | head -5
        failed=$((failed + 1))
    fi
}

# coverage NAME DIR...: "cov ft files bytes" of the inputs in DIR, as
# libFuzzer counts them once it has run each (its INITED line; -runs=0
# runs nothing more)
coverage() {
    local name=$1 line cov ft
    shift

    line=$("${pin[@]}" "$root/build/fuzz/$name" -runs=0 "$@" 2>&1 \
           | grep -m1 'INITED')
    cov=$(echo "$line" | grep -Eo 'cov: [0-9]+' | grep -Eo '[0-9]+')
    ft=$(echo "$line" | grep -Eo 'ft: [0-9]+' | grep -Eo '[0-9]+')
    echo "${cov:-?} ${ft:-?} $(find "$@" -type f -exec cat {} + | wc -c)" \
         "$(find "$@" -type f | wc -l)"
}

# The corpus keeps its named inputs (written by hand: each says what it
# is) as they are; the inputs campaigns found (found-<sha1>) are merged
# again each time, with the new ones, into the fewest that keep the
# coverage (libFuzzer's -merge=1 tries the smallest first).  No -max_len
# on the merge: it would cut longer inputs short.
campaign_one() {                        # campaign_one NAME
    local name=$1 bin=$root/build/fuzz/$1 corpus=$root/src/test/corpus/$1
    local dir=$root/build/fuzz/campaign/$1
    local before after rc=0 runs crash=none f sha bytes_max

    rm -rf "$dir"
    mkdir -p "$dir/new" "$dir/old" "$dir/merged"
    for f in "$corpus"/*; do
        case ${f##*/} in
        found-*) cp "$f" "$dir/old/" ;;
        *)       cp "$f" "$dir/merged/" ;;
        esac
    done
    before=$(coverage "$name" "$corpus")

    # new inputs go to the first directory; crashes to the artifact prefix
    (cd "$dir" && "${pin[@]}" "$bin" \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
        -artifact_prefix="$dir/" "$dir/new" "$corpus" > "$dir/run.log" 2>&1) \
        || rc=$?
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' \
                "$dir/run.log" | grep -Eo '[0-9]+$')

    if [ "$rc" != 0 ]; then
        crash=$(ls "$dir" | grep -E '^(crash|timeout|oom|leak)-' | head -1)
        echo "not ok: fuzz campaign $name: ${crash:-exit $rc}, see $dir/run.log"
        grep -E 'ERROR|SUMMARY' "$dir/run.log" | head -5
        failed=$((failed + 1))
    fi

    (cd "$dir" && "${pin[@]}" "$bin" -merge=1 \
        "$dir/merged" "$dir/old" "$dir/new" > "$dir/merge.log" 2>&1) \
        || { echo "not ok: fuzz campaign $name: the merge failed," \
                  "see $dir/merge.log"; failed=$((failed + 1)); return; }

    # libFuzzer names what it adds by its SHA-1
    for f in "$dir/merged"/*; do
        sha=${f##*/}
        if [[ $sha =~ ^[0-9a-f]{40}$ ]]; then
            mv "$f" "$dir/merged/found-${sha:0:12}"
        fi
    done
    after=$(coverage "$name" "$dir/merged")

    bytes_max=${FUZZ_CORPUS_MAX:-2097152}
    set -- $after
    if [ "$3" -gt "$bytes_max" ]; then
        echo "not ok: fuzz campaign $name: the corpus would be $3 bytes," \
             "over $bytes_max: left as it was (see $dir/merged)"
        failed=$((failed + 1))
        return
    fi
    rm -f "$corpus"/found-*
    cp "$dir/merged"/found-* "$corpus/" 2>/dev/null

    set -- $before $after
    echo "| $name | $seconds | ${runs:-?} | $4 -> $8 | $3 -> $7" \
         "| $1 -> $5 | $2 -> $6 | $crash |" \
         >> "$root/build/fuzz/campaign/summary.md"
    [ "$rc" = 0 ] && { echo "ok: fuzz campaign $name: ${runs:-?} inputs" \
        "in ${seconds}s; files $4 -> $8, bytes $3 -> $7, cov $1 -> $5," \
        "ft $2 -> $6"; passed=$((passed + 1)); }
}

if [ -n "$campaign" ]; then
    # one CPU, at the lowest priority: a campaign runs beside other work
    pin=(nice -n 19 taskset -c "${FUZZ_CPU:-$(($(nproc) - 1))}")
    mkdir -p "$root/build/fuzz/campaign"
    {
        echo "campaign $(date -u +%F), ${seconds} s per harness"
        echo "| harness | seconds | inputs run | corpus files |" \
             "corpus bytes | cov | ft | crash |"
        echo "|---|---|---|---|---|---|---|---|"
    } > "$root/build/fuzz/campaign/summary.md"
    for name in "$@"; do
        campaign_one "$name"
    done
    cat "$root/build/fuzz/campaign/summary.md"
else
    for name in "$@"; do
        smoke "$name"
    done
fi

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
