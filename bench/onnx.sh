#!/usr/bin/env bash
# The ONNX evaluator against torch, one thread each, on one pinned core.
#
# bench/onnx_torch.py times the cases with torch (model(x) under
# torch.no_grad(), one thread) and writes ResNet-18's bench input and
# torch's output for it; bench/onnx_bench (C, the module's evaluator
# without nginx) checks its own output against that, then times the same
# cases.  Both print "name: X us (fastest-slowest)", X the median of 7
# rounds of >= 0.25 s of process CPU time.
#
# The pair runs RUNS times, in turn torch first and the module first
# (ABBA), so that the host's load, which moves from one run to the next
# on this VM, moves both.  The summary gives per case the median of the
# runs' figures for each, the median of the runs' ratios torch / module
# (each run's ratio beside it), the fraction of the CPU's peak FP32 rate
# (measured by onnx_bench) for LeNet and ResNet-18, and the goals:
#
#   mlp_row        one row of the MLP 30-64-64-1: >= 20x faster than torch
#   mlp_batch1000  a batch of 1000, per row: at or below torch's
#   lenet          one 1x28x28 image: at or below torch's time
#   resnet18       one 3x224x224 image: at or below torch's time
#
# Exit status 1 when a measurement failed: a program failed, the module's
# output is not torch's (1e-4 + 1e-4*|want|), or a number is missing.  A
# goal not met is reported, and does not fail the run.
#
# Usage:
#   bench/onnx.sh [ONNX_BENCH [MODELS]]
# Environment (or the arguments):
#   ONNX_BENCH  the compiled bench/onnx_bench.c
#               (default build/bench/onnx_bench)
#   MODELS      t/models/gen_onnx.py --bench's directory
#               (default build/bench/onnx)
#   RUNS        runs of the pair (default 3)
#   CPU         the core both run on, one after the other (default 1)

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ONNX_BENCH=${1:-${ONNX_BENCH:-$ROOT/build/bench/onnx_bench}}
MODELS=${2:-${MODELS:-$ROOT/build/bench/onnx}}
RUNS=${RUNS:-3}
CPU=${CPU:-1}
PYTHON=/usr/bin/python3

die() {
    echo "onnx.sh: $*" >&2
    exit 1
}

[ -x "$ONNX_BENCH" ] || die "no executable onnx_bench at $ONNX_BENCH"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a count"

for m in bench_mlp bench_lenet bench_resnet18; do
    [ -f "$MODELS/$m.onnx" ] && [ -f "$MODELS/$m.ref.json" ] \
        || die "no $MODELS/$m.onnx or .ref.json" \
               "(/usr/bin/python3 t/models/gen_onnx.py --bench $MODELS)"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_torch() {
    echo "--- run $1: torch, bench/onnx_torch.py (cpu $CPU)"
    taskset -c "$CPU" "$PYTHON" "$ROOT/bench/onnx_torch.py" "$MODELS" \
        "$tmp/x.f32" "$tmp/y.f32" | tee "$tmp/torch.$1" \
        || die "bench/onnx_torch.py failed"
}

# on x.f32 and y.f32 of this run's torch or, in even runs, the one before
run_module() {
    echo "--- run $1: the module, $ONNX_BENCH (cpu $CPU)"
    taskset -c "$CPU" "$ONNX_BENCH" "$MODELS" "$tmp/x.f32" "$tmp/y.f32" \
        | tee "$tmp/module.$1" \
        || die "onnx_bench failed, or its output is not torch's"
}

for ((run = 1; run <= RUNS; run++)); do
    if ((run % 2)); then
        run_torch "$run"
        run_module "$run"
    else
        run_module "$run"
        run_torch "$run"
    fi
done

files=()
for ((run = 1; run <= RUNS; run++)); do
    files+=("run=$run" "side=module" "$tmp/module.$run"
            "side=torch" "$tmp/torch.$run")
done

echo "--- the module against torch ($RUNS runs; times: the runs' medians;" \
     "torch/module: the median of the runs' ratios)"

awk -v runs="$RUNS" '
    function need(v, what) {
        if (v == "") {
            printf "onnx.sh: no %s in the output\n", what > "/dev/stderr"
            missing = 1
        }
        return v
    }

    function num(s) {
        return s ~ /^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ? s : ""
    }

    function ratio(r) {
        return r >= 1 ? sprintf("%.2fx faster", r) \
                      : sprintf("%.2fx slower", 1 / r)
    }

    # as the programs print them
    function us(v) {
        return sprintf("%.*f", v < 10 ? 4 : v < 1000 ? 2 : 1, v)
    }

    # the median of a[1..n]
    function median(a, n,    i, j, v, s) {
        for (i = 1; i <= n; i++) {
            s[i] = a[i] + 0
        }
        for (i = 2; i <= n; i++) {
            v = s[i]
            for (j = i - 1; j >= 1 && s[j] > v; j--) {
                s[j + 1] = s[j]
            }
            s[j + 1] = v
        }
        return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
    }

    # "name: X us ...", "name macs: N", "peak: X GFLOP/s", "resnet18 check"
    side == "module" && $2 == "macs:" { macs[$1] = num($3) }
    side == "torch" && $2 == "macs:" { tmacs[$1] = num($3) }
    side == "module" && $1 == "peak:" { peak[run] = num($2) }
    side == "module" && $1 == "resnet18" && $2 == "check:" {
        check[run] = $NF
    }
    $1 ~ /:$/ && $3 == "us" {
        t[side, substr($1, 1, length($1) - 1), run] = num($2)
    }

    END {
        n = split("mlp_row mlp_batch1000 lenet resnet18", cases, " ")

        for (k = 1; k <= runs; k++) {
            for (i = 1; i <= n; i++) {
                c = cases[i]
                m = need(t["module", c, k], "module time for " c)
                u = need(t["torch", c, k], "torch time for " c)
                if (m != "" && u != "" && (m + 0 <= 0 || u + 0 <= 0)) {
                    need("", "nonzero time for " c)
                }
            }
            need(check[k] == "ok" ? "ok" : "", "passed resnet18 check")
        }
        need(macs["lenet"], "module macs for lenet")
        need(macs["resnet18"], "module macs for resnet18")
        if (missing) {
            exit 1
        }

        pn = 0
        for (k = 1; k <= runs; k++) {
            if (peak[k] != "") {
                pk[++pn] = peak[k]
            }
        }
        p = pn == runs ? median(pk, pn) : ""

        printf "%-14s %14s %14s   %-14s %-22s %s\n", "case", "module",
               "torch", "torch/module", "runs", "of peak: module, torch"

        for (i = 1; i <= n; i++) {
            c = cases[i]
            runs_r = ""
            for (k = 1; k <= runs; k++) {
                a[k] = t["module", c, k]
                b[k] = t["torch", c, k]
                rr[k] = b[k] / a[k]
                runs_r = runs_r sprintf("%s%.2f", k > 1 ? " " : "", rr[k])
            }
            mod[c] = median(a, runs)
            tor[c] = median(b, runs)
            r[c] = median(rr, runs)

            frac = ""
            if (c in macs) {
                if (p != "") {
                    frac = sprintf("%.1f%%, %.1f%%",
                                   100 * 2 * macs[c] / (mod[c] * 1e-6) \
                                   / (p * 1e9),
                                   100 * 2 * macs[c] / (tor[c] * 1e-6) \
                                   / (p * 1e9))
                } else {
                    frac = "unknown (no peak)"
                }
                if (tmacs[c] != macs[c]) {
                    warn = warn sprintf("onnx.sh: %s: the module counts %s " \
                                        "multiply-adds, torch %s\n", c,
                                        macs[c], tmacs[c])
                }
            }

            u = c == "mlp_batch1000" ? " us/row" : " us"
            printf "%-14s %14s %14s   %-14s %-22s %s\n", c, us(mod[c]) u,
                   us(tor[c]) u, ratio(r[c]), runs_r, frac
        }

        if (p != "") {
            printf "peak: %s GFLOP/s (measured by onnx_bench, the median " \
                   "over the runs)\n", p
        }
        printf "%s", warn

        met = 0
        g[1] = r["mlp_row"] >= 20
        g[2] = r["mlp_batch1000"] >= 1
        g[3] = r["lenet"] >= 1
        g[4] = r["resnet18"] >= 1
        d[1] = "mlp_row: >= 20x faster than torch"
        d[2] = "mlp_batch1000: per row at or below torch"
        d[3] = "lenet: one image at or below torch"
        d[4] = "resnet18: one image at or below torch"
        for (i = 1; i <= 4; i++) {
            printf "GOAL %-42s %-8s (%s)\n", d[i],
                   g[i] ? "met" : "NOT MET", ratio(r[cases[i]])
            met += g[i]
        }
        printf "goals: %d of 4 met\n", met
    }
' "${files[@]}" || die "a number is missing"
