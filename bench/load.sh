#!/bin/bash
# Load generator for /predict (make load), built on hey (Debian's package):
# drives a URL at a rate and a concurrency, for a duration or a number of
# requests, prints a progress line per interval, then the latency
# distribution of every request: min, mean, p50, p90, p95, p99, max, a
# histogram, and the status codes.
#
#   bench/load.sh [--url URL] [--rate RPS] [--concurrency N]
#                 [--duration 10s | --requests N]
#                 [--body JSON | --body-file FILE] [--interval SECONDS]
#
#   --url          default http://127.0.0.1:8080/predict (make run)
#   --rate         requests per second in all, spread over the connections
#                  (hey's -q is per connection); default: as fast as it goes
#   --concurrency  connections, default 10
#   --duration     default 10s (s or m); or --requests, a count
#   --body         default {"features":[1.0,2.0,3.5]}, POSTed as JSON
#   --interval     seconds between progress lines, default 5
#
# hey runs once per interval, with -o csv so that every request's time is
# kept; each run opens its connections anew, and between two runs (about
# 0.25 s: hey starting, draining, writing) no load is sent, hence the
# default interval of 5 s.  hey writes times to 0.1 ms, the resolution of
# the figures below.  Loopback by default; send load only to a server of
# your own.
set -euo pipefail

url=http://127.0.0.1:8080/predict
rate=0
conc=10
duration=10
requests=0
body='{"features":[1.0,2.0,3.5]}'
body_file=
interval=5

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2; }

seconds() {
    case $1 in
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo "${1%s}" ;;
    *)  echo "$1" ;;
    esac
}

while [ $# -gt 0 ]; do
    case $1 in
    --url)         url=$2; shift ;;
    --rate)        rate=$2; shift ;;
    --concurrency) conc=$2; shift ;;
    --duration)    duration=$(seconds "$2"); requests=0; shift ;;
    --requests)    requests=$2; shift ;;
    --body)        body=$2; shift ;;
    --body-file)   body_file=$2; shift ;;
    --interval)    interval=$2; shift ;;
    -h|--help)     usage ;;
    *)             echo "load: unknown argument $1" >&2; usage ;;
    esac
    shift
done

for n in "$conc" "$duration" "$requests" "$interval"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "load: not a whole number: $n" >&2; exit 2; }
done
[[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] \
    || { echo "load: --rate is requests per second: $rate" >&2; exit 2; }
[ "$conc" -ge 1 ] && [ "$interval" -ge 1 ] \
    || { echo "load: --concurrency and --interval must be at least 1" >&2; exit 2; }

if ! command -v hey > /dev/null; then
    [ "$(id -u)" = 0 ] || { echo "load: needs hey (apt-get install hey)" >&2; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends hey > /dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "$body_file" ]; then
    cp "$body_file" "$tmp/body"
else
    printf '%s' "$body" > "$tmp/body"
fi

# hey's -q is per worker
args=(-c "$conc" -m POST -T application/json -D "$tmp/body" -o csv)
if [ "$rate" != 0 ]; then
    args+=(-q "$(awk -v r="$rate" -v c="$conc" 'BEGIN { printf "%.6f", r / c }')")
fi

if [ "$requests" -gt 0 ]; then
    goal="$requests requests"
else
    goal="${duration}s"
fi
echo "load: $url, ${conc} connections, rate $([ "$rate" = 0 ] && echo unlimited || echo "$rate/s"), $goal"

progress() {
    # $1 elapsed s, $2 requests before, $3 the interval's length, $4 its csv
    local n e p99
    n=$(awk -F, 'NR > 1 && $7 != ""' "$4" | wc -l)
    e=$(awk -F, 'NR > 1 && $7 != "" && ($7 < 200 || $7 > 299)' "$4" | wc -l)
    p99=$(awk -F, 'NR > 1 && $7 != "" { print $1 }' "$4" | sort -g \
          | awk -v n="$n" 'NR == int(0.99 * n + 0.999999) { print $1 * 1000 }')
    awk -v t="$1" -v n0="$2" -v dt="$3" -v n="$n" -v e="$e" -v p="${p99:-0}" \
        -v goal="$goal" 'BEGIN {
        printf "load: [%5.1fs] %7d requests  %8.0f req/s  p99 %6.1f ms" \
               "  non-2xx %d  (of %s)\n", t, n0 + n, n / dt, p, e, goal }'
}

: > "$tmp/all"
now() { echo "${EPOCHREALTIME/,/.}"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
start=$(now)
sent=0
busy=0
i=0

# each interval's hey starts as soon as the last one ends; its progress
# line is worked out in the background meanwhile
while :; do
    i=$((i + 1))
    if [ "$requests" -gt 0 ]; then
        left=$((requests - sent))
        [ "$left" -gt 0 ] || break
        # an interval's worth at the rate, or a tenth of the count
        if [ "$rate" != 0 ]; then
            chunk=$(awk -v r="$rate" -v i="$interval" 'BEGIN { printf "%d", r * i }')
        else
            chunk=$(( (requests + 9) / 10 ))
        fi
        [ "$chunk" -ge "$conc" ] || chunk=$conc
        [ "$chunk" -le "$left" ] || chunk=$left
        # hey gives each connection n / c requests: a multiple of c
        if [ "$chunk" -ge "$conc" ]; then
            chunk=$((chunk - chunk % conc))
            run=(-n "$chunk")
        else
            run=(-n "$chunk" -c "$chunk")
        fi
        sent=$((sent + chunk))
    else
        left=$(awk -v e="$(sub "$start" "$(now)")" -v d="$duration" \
               'BEGIN { printf "%d", d - e + 0.5 }')
        [ "$left" -gt 0 ] || break
        chunk=$interval
        [ "$chunk" -le "$left" ] || chunk=$left
        run=(-z "${chunk}s")
    fi
    t0=$(now)
    hey "${args[@]}" "${run[@]}" "$url" > "$tmp/chunk.$i"
    t1=$(now)
    busy=$(awk -v b="$busy" -v d="$(sub "$t0" "$t1")" 'BEGIN { print b + d }')
    awk -F, 'NR > 1 && $7 != "" { print $1 "," $7 }' "$tmp/chunk.$i" >> "$tmp/all"
    done_n=$(wc -l < "$tmp/all")
    progress "$(sub "$start" "$t1")" "$((done_n - $(awk -F, 'NR > 1 && $7 != ""' "$tmp/chunk.$i" | wc -l)))" \
             "$(sub "$t0" "$t1")" "$tmp/chunk.$i" &
done
end=$(now)
wait

[ -s "$tmp/all" ] || { echo "load: no response at all from $url" >&2; exit 1; }

sort -t, -k1,1g "$tmp/all" | awk -F, -v wall="$(sub "$start" "$end")" -v busy="$busy" \
    -v sent="$([ "$requests" -gt 0 ] && echo "$sent" || echo 0)" '
    { n++; v[n] = $1 * 1000; sum += v[n]; code[$2]++ }
    function pct(p,   i) { i = int(p / 100 * n + 0.999999); if (i < 1) i = 1; return v[i] }
    END {
        printf "\nload: %d requests in %.2f s, %.0f req/s (%.0f req/s while hey ran:" \
               " %.2f s of them)\n\n", n, wall, n / wall, n / busy, busy
        printf "  latency (ms)  min %.1f  mean %.2f  p50 %.1f  p90 %.1f  p95 %.1f  p99 %.1f  max %.1f\n\n",
               v[1], sum / n, pct(50), pct(90), pct(95), pct(99), v[n]
        # buckets 1-2-5 from 0.1 ms, those from min to max
        nb = 0
        for (b = 0.1; b < 1e6; b *= 10) {
            bound[++nb] = b; bound[++nb] = 2 * b; bound[++nb] = 5 * b
        }
        first = 0
        for (i = 1; i <= n; i++) {
            for (j = 1; j < nb && v[i] > bound[j] + 1e-9; j++) ;
            hist[j]++
            if (!first || j < first) first = j
            if (j > last) last = j
        }
        for (j = first; j <= last; j++) if (hist[j] > top) top = hist[j]
        print "  histogram (ms, up to)"
        for (j = first; j <= last; j++) {
            bar = ""
            for (k = 0; k < int(40 * hist[j] / top + 0.5); k++) bar = bar "#"
            printf "  %8g  %8d  %5.1f%%  %s\n", bound[j], hist[j], 100 * hist[j] / n, bar
        }
        printf "\n  status codes:"
        for (c in code) printf "  %s: %d", c, code[c]
        if (sent > n) printf "  no answer (connection error, timeout): %d", sent - n
        printf "\n"
    }'
