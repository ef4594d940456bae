#!/usr/bin/env bash
# CPU per /predict request with the scheduler-delay probe on against off,
# in one run: bench/run.sh once per setting per round (one nginx each, as
# infer_sched_probe is an http-level setting), the two alternating and in
# reversed order on even rounds, each next to its own `return 200`
# baseline.  Prints each round's figures and the median on/off ratio
# against GOAL_SCHED (default 1.03).
# Environment: as bench/run.sh (ROUNDS default 3, DURATION default 5).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-3}
GOAL_SCHED=${GOAL_SCHED:-1.03}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# cpu/req of a case from a run.sh summary
cpu_of() { awk -v n="$2" '$1 == n && $2 == "cpu/req" { print $3; exit }' "$1"; }

for ((r = 1; r <= ROUNDS; r++)); do
    order="on off"
    ((r % 2)) || order="off on"
    for p in $order; do
        SCHED_PROBE=$p ROUNDS=1 "$BENCH_DIR/run.sh" > "$out/$r-$p" 2>&1 \
            || { cat "$out/$r-$p"; exit 1; }
    done
    on=$(cpu_of "$out/$r-on" predict)
    off=$(cpu_of "$out/$r-off" predict)
    bon=$(cpu_of "$out/$r-on" baseline)
    boff=$(cpu_of "$out/$r-off" baseline)
    printf 'round %d: predict cpu/req on %s us, off %s us (baselines %s, %s)  on/off %.3f\n' \
        "$r" "$on" "$off" "$bon" "$boff" "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')"
    echo "$on $off" >> "$out/pairs"
done

# the median of the per-round on/off ratios: rounds share the machine's noise
ratio=$(awk '{ print $1 / $2 }' "$out/pairs" | sort -n \
        | awk '{ v[NR] = $1 }
               END { if (NR % 2) m = v[(NR + 1) / 2];
                     else m = (v[NR / 2] + v[NR / 2 + 1]) / 2;
                     print m }')
printf 'sched probe: predict cpu/req on/off ratio %.3f (median of %d rounds)\n' \
    "$ratio" "$ROUNDS"
if awk -v r="$ratio" -v g="$GOAL_SCHED" 'BEGIN { exit !(sprintf("%.2f", r) + 0 <= g + 0) }'
then
    echo "GOAL sched on/off ratio <= $GOAL_SCHED: met"
else
    echo "GOAL sched on/off ratio <= $GOAL_SCHED: not met"
fi
