#!/bin/bash
# A short run of each libFuzzer harness from its seed corpus.
#   scripts/fuzz.sh SECONDS NAME...    (harnesses in build/fuzz/NAME)
# Prints "fuzz: N passed, M failed"; a crash leaves its input in build/fuzz.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=$1
shift
passed=0
failed=0

for name in "$@"; do
    corpus=$root/build/fuzz/corpus-$name
    mkdir -p "$corpus"
    log=$root/build/fuzz/$name.log

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
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
