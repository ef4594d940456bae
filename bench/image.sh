#!/usr/bin/env bash
# The image path against PIL + torchvision + torch, one thread each, on one
# pinned core.
#
# Two JPEGs drawn by bench/image_baseline.py --make (the same bytes every
# time): bench224.jpg, 224x224, and photo500x375.jpg, a typical photo's
# size.  Each goes from its bytes in memory to ResNet-18's input,
# Resize(256), CenterCrop(224), ImageNet's mean and std, NCHW:
#
#   module  infer_image_header + infer_image_decode (libjpeg-turbo) +
#           infer_image_preprocess (src/image/), build/bench/image_bench
#   Python  Image.open(bytes).convert("RGB") + the torchvision transforms,
#           bench/image_baseline.py
#
# and ResNet-18 (gen_onnx.py --bench's weights, build/bench/onnx/) is
# evaluated on the photo's tensor: the module's ONNX kernels against
# torch's model(x).  Both print "name: X us (fastest-slowest)", X the
# median of 7 rounds of >= 0.25 s of process CPU time.  The Python side
# runs first and writes torchvision's tensors and torch's ResNet-18
# outputs; the module checks its tensors against them (every value within
# 1e-5) and its ResNet-18 on torchvision's tensor (1e-4 + 1e-4*|torch's|).
#
# The pair runs RUNS times, in turn Python first and the module first
# (ABBA), so that the host's load moves both.  The summary gives per case
# the median of the runs' figures for each, the median of the runs'
# ratios Python / module (each run's beside it), how much of the module's
# time is decoding (libjpeg-turbo, the library PIL calls too), and the
# goal:
#
#   decode + preprocess of each picture >= 5x faster than PIL+torchvision
#
# Exit status 1 when a measurement failed: a program failed, a number is
# missing, or a check against torchvision or torch failed (the table is
# printed first).  A goal not met is reported, and does not fail the run.
#
# Usage:
#   bench/image.sh [IMAGE_BENCH [MODELS]]
# Environment (or the arguments):
#   IMAGE_BENCH  the compiled src/test/infer_image_bench.c
#                (default build/bench/image_bench)
#   MODELS       t/models/gen_onnx.py --bench's directory
#                (default build/bench/onnx)
#   IMAGES       the pictures' directory, made when absent
#                (default build/bench/image)
#   RUNS         runs of the pair (default 3)
#   CPU          the core both run on, one after the other (default 1)

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE_BENCH=${1:-${IMAGE_BENCH:-$ROOT/build/bench/image_bench}}
MODELS=${2:-${MODELS:-$ROOT/build/bench/onnx}}
IMAGES=${IMAGES:-$ROOT/build/bench/image}
RUNS=${RUNS:-3}
CPU=${CPU:-1}
PYTHON=/usr/bin/python3

die() {
    echo "image.sh: $*" >&2
    exit 1
}

[ -x "$IMAGE_BENCH" ] || die "no executable image_bench at $IMAGE_BENCH"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS=$RUNS is not a count"
[ -f "$MODELS/bench_resnet18.onnx" ] \
    && [ -f "$MODELS/bench_resnet18.ref.json" ] \
    || die "no $MODELS/bench_resnet18.onnx or .ref.json" \
           "(/usr/bin/python3 t/models/gen_onnx.py --bench $MODELS)"

if [ ! -f "$IMAGES/bench224.jpg" ] || [ ! -f "$IMAGES/photo500x375.jpg" ]
then
    "$PYTHON" "$ROOT/bench/image_baseline.py" --make "$IMAGES" \
        || die "bench/image_baseline.py --make failed"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the first run's Python writes the tensors and outputs every module run
# is checked against
run_python() {
    echo "--- run $1: PIL + torchvision + torch, bench/image_baseline.py" \
         "(cpu $CPU)"
    taskset -c "$CPU" "$PYTHON" "$ROOT/bench/image_baseline.py" "$IMAGES" \
        "$MODELS" "$tmp" | tee "$tmp/python.$1" \
        || die "bench/image_baseline.py failed"
}

checks=ok

run_module() {
    echo "--- run $1: the module, $IMAGE_BENCH (cpu $CPU)"
    if ! taskset -c "$CPU" "$IMAGE_BENCH" "$IMAGES" "$MODELS" "$tmp" \
         | tee "$tmp/module.$1"
    then
        grep -q '^pipeline: ' "$tmp/module.$1" \
            || die "image_bench failed"
        checks=FAILED
    fi
}

for ((run = 1; run <= RUNS; run++)); do
    if ((run % 2)); then
        run_python "$run"
        run_module "$run"
    else
        run_module "$run"
        run_python "$run"
    fi
done

files=()
for ((run = 1; run <= RUNS; run++)); do
    files+=("run=$run" "side=module" "$tmp/module.$run"
            "side=python" "$tmp/python.$run")
done

rc=0
echo "--- the module against PIL + torchvision + torch ($RUNS runs; times:" \
     "the runs' medians; python/module: the median of the runs' ratios)"

awk -v runs="$RUNS" -v checks="$checks" '
    function need(v, what) {
        if (v == "") {
            printf "image.sh: no %s in the output\n", what > "/dev/stderr"
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

    # "name: X us (...)", "NAME check: ... ok|FAILED", the first lines
    $1 ~ /:$/ && $3 == "us" {
        t[side, substr($1, 1, length($1) - 1), run] = num($2)
    }
    side == "module" && $2 == "check:" && $NF != "ok" && !($1 in bad) {
        bad[$1] = 1
        nbad++
    }
    side == "module" && $2 == "check:" { checked[$1, run] = 1 }
    side == "python" && $1 == "torch" && run == 1 { tinfo = $0 }
    side == "module" && $1 == "image_bench:" && run == 1 { minfo = $0 }

    END {
        n = split("decode_bench224 prep_bench224 decode_prep_bench224 " \
                  "decode_photo500x375 prep_photo500x375 " \
                  "decode_prep_photo500x375 resnet18 pipeline", cases, " ")
        split("bench224 photo500x375 resnet18", checks_, " ")

        for (k = 1; k <= runs; k++) {
            for (i = 1; i <= n; i++) {
                c = cases[i]
                m = need(t["module", c, k], "module time for " c)
                u = need(t["python", c, k], "python time for " c)
                if (m != "" && u != "" && (m + 0 <= 0 || u + 0 <= 0)) {
                    need("", "nonzero time for " c)
                }
            }
            for (i = 1; i <= 3; i++) {
                need(checked[checks_[i], k] ? "y" : "",
                     checks_[i] " check of run " k)
            }
        }
        if (missing) {
            exit 1
        }

        print "module: " minfo
        print "python: " tinfo
        printf "%-26s %12s %12s   %-14s %s\n", "case", "module",
               "PIL/torch", "python/module", "runs"

        for (i = 1; i <= n; i++) {
            c = cases[i]
            runs_r = ""
            for (k = 1; k <= runs; k++) {
                a[k] = t["module", c, k]
                b[k] = t["python", c, k]
                rr[k] = b[k] / a[k]
                runs_r = runs_r sprintf("%s%.2f", k > 1 ? " " : "", rr[k])
            }
            mod[c] = median(a, runs)
            py[c] = median(b, runs)
            r[c] = median(rr, runs)

            printf "%-26s %12s %12s   %-14s %s\n", c, us(mod[c]) " us",
                   us(py[c]) " us", ratio(r[c]), runs_r
        }

        # the decoder is libjpeg-turbo, as under PIL: the bound it sets
        split("bench224 photo500x375", pics, " ")
        for (i = 1; i <= 2; i++) {
            c = pics[i]
            printf "%s: decoding is %.0f%% of the module'"'"'s decode_prep; " \
                   "were preprocessing free, the ratio would be %.2fx\n",
                   c, 100 * mod["decode_" c] / mod["decode_prep_" c],
                   py["decode_prep_" c] / mod["decode_" c]
        }

        for (c in bad) {
            printf "CHECK FAILED: %s (see the module runs above)\n", c
        }

        met = 0
        g[1] = r["decode_prep_bench224"] >= 5
        g[2] = r["decode_prep_photo500x375"] >= 5
        d[1] = "decode_prep_bench224: >= 5x faster than PIL+torchvision"
        d[2] = "decode_prep_photo500x375: >= 5x faster than " \
               "PIL+torchvision"
        e[1] = "decode_prep_bench224"
        e[2] = "decode_prep_photo500x375"
        for (i = 1; i <= 2; i++) {
            printf "GOAL %-58s %-8s (%s)\n", d[i],
                   g[i] ? "met" : "NOT MET", ratio(r[e[i]])
            met += g[i]
        }
        printf "goals: %d of 2 met\n", met
        exit checks == "ok" && nbad == 0 ? 0 : 2
    }
' "${files[@]}" || rc=$?
[ $rc -eq 2 ] && die "a check against torchvision or torch failed"
[ $rc -eq 0 ] || die "a number is missing"
