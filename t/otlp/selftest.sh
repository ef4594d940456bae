#!/bin/bash
# Self-test of the OTLP receiver (t/otlp/receiver.js), no nginx needed:
# npm ci from the lockfile, start the receiver, export the same two spans as
# OTLP protobuf, gzipped protobuf and OTLP JSON with curl, and check what
# /control/ reports, the capture files, and the scripted failure modes.
#
#   t/otlp/selftest.sh
#   OTLP_NPM_DIR=build/otlp t/otlp/selftest.sh   reuse (or fill) that install;
#                                    the default is a scratch dir, removed after
# Needs node (>= 18), npm, curl, gzip, protoc (protobuf-compiler).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/otlp-selftest.XXXXXX")
npmdir=${OTLP_NPM_DIR:-$work/npm}
passed=0 failed=0 rpid=

cleanup() {
    [ -n "$rpid" ] && kill "$rpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

ok() {
    if [ "$1" = 0 ]; then
        passed=$((passed + 1)); echo "ok $2"
    else
        failed=$((failed + 1)); echo "not ok $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | head -20 | sed 's/^/#   /'
    fi
}
finish() {
    echo "otlp-selftest: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}
nowms() { echo $(($(date +%s%N) / 1000000)); }

# jsok NAME FILE EXPR: EXPR, a JS expression over the parsed JSON `d`, is true
jsok() {
    local err
    err=$(node -e '
        const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
        if (!(eval(process.argv[2]))) {
            console.log(`${process.argv[2]}  on  ${JSON.stringify(d).slice(0, 1500)}`);
            process.exit(1);
        }' "$2" "$3" 2>&1)
    ok $? "$1" "$err"
}

# --- install (as the tests do: npm ci from the lockfile) ---------------------

mkdir -p "$npmdir"
if ! cmp -s "$here/package-lock.json" "$npmdir/package-lock.json" \
   || [ ! -d "$npmdir/node_modules/@elastic/mockotlpserver" ]
then
    cp "$here/package.json" "$here/package-lock.json" "$npmdir/"
    t0=$(nowms)
    (cd "$npmdir" && npm ci --no-fund --no-audit --loglevel=error) > "$work/npm.log" 2>&1
    ok $? "npm ci in $npmdir ($(($(nowms) - t0)) ms)" "$(tail -5 "$work/npm.log")"
fi
pkg=$npmdir/node_modules/@elastic/mockotlpserver
[ -d "$pkg" ] || { ok 1 "@elastic/mockotlpserver installed"; finish; }

# --- the request bodies ------------------------------------------------------
# Two spans of one trace: a SERVER root and an INTERNAL child with an error
# status.  The times need all 64 bits (a double would round them), infer.big
# is 2^53+1, and the JSON body spells the trace id in upper case and int64s
# both as strings and as a number, as OTLP/JSON allows.

cat > "$work/req.txtpb" <<'EOF'
resource_spans {
  resource {
    attributes { key: "service.name" value { string_value: "nginx" } }
    attributes { key: "process.pid" value { int_value: 1234 } }
  }
  scope_spans {
    scope { name: "ngx_http_infer_module" version: "0.1.0" }
    spans {
      trace_id: "\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36"
      span_id: "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7"
      name: "infer"
      kind: SPAN_KIND_SERVER
      flags: 769
      start_time_unix_nano: 1700000000123456789
      end_time_unix_nano: 1700000000987654321
      attributes { key: "http.request.method" value { string_value: "POST" } }
      attributes { key: "http.response.status_code" value { int_value: 200 } }
      attributes { key: "infer.big" value { int_value: 9007199254740993 } }
      attributes { key: "infer.neg" value { int_value: -5 } }
      attributes { key: "infer.ratio" value { double_value: 0.25 } }
      attributes { key: "infer.cached" value { bool_value: true } }
      status { }
    }
    spans {
      trace_id: "\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36"
      span_id: "\x53\x99\x5c\x3f\x42\xcd\x8a\xd8"
      parent_span_id: "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7"
      trace_state: "vendor=x"
      name: "infer.run"
      kind: SPAN_KIND_INTERNAL
      flags: 1
      start_time_unix_nano: 1700000000200000001
      end_time_unix_nano: 1700000000900000002
      attributes { key: "infer.model" value { string_value: "m1" } }
      events {
        time_unix_nano: 1700000000500000003 name: "retry"
        attributes { key: "attempt" value { int_value: 2 } }
      }
      links {
        trace_id: "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
        span_id: "\x00\x00\x00\x00\x00\x00\x00\x02"
        flags: 1
      }
      status { code: STATUS_CODE_ERROR message: "model failed" }
    }
  }
}
EOF
protoc --encode=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest \
    -I "$pkg" "$pkg/opentelemetry/proto/collector/trace/v1/trace_service.proto" \
    < "$work/req.txtpb" > "$work/req.pb" 2> "$work/protoc.err"
ok $? "protoc encodes the text proto ($(stat -c %s "$work/req.pb") bytes)" "$(cat "$work/protoc.err")"
gzip -n -c "$work/req.pb" > "$work/req.pb.gz"

cat > "$work/req.json" <<'EOF'
{"resourceSpans":[{
  "resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"nginx"}},
    {"key":"process.pid","value":{"intValue":"1234"}}]},
  "scopeSpans":[{
    "scope":{"name":"ngx_http_infer_module","version":"0.1.0"},
    "spans":[
      {"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","spanId":"00f067aa0ba902b7",
       "name":"infer","kind":2,"flags":769,
       "startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000987654321",
       "attributes":[
         {"key":"http.request.method","value":{"stringValue":"POST"}},
         {"key":"http.response.status_code","value":{"intValue":200}},
         {"key":"infer.big","value":{"intValue":"9007199254740993"}},
         {"key":"infer.neg","value":{"intValue":"-5"}},
         {"key":"infer.ratio","value":{"doubleValue":0.25}},
         {"key":"infer.cached","value":{"boolValue":true}}],
       "status":{}},
      {"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"53995c3f42cd8ad8",
       "parentSpanId":"00f067aa0ba902b7","traceState":"vendor=x",
       "name":"infer.run","kind":1,"flags":1,
       "startTimeUnixNano":"1700000000200000001","endTimeUnixNano":"1700000000900000002",
       "attributes":[{"key":"infer.model","value":{"stringValue":"m1"}}],
       "events":[{"timeUnixNano":"1700000000500000003","name":"retry",
                  "attributes":[{"key":"attempt","value":{"intValue":"2"}}]}],
       "links":[{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002","flags":1}],
       "status":{"code":2,"message":"model failed"}}]}]}]}
EOF

# --- start ---------------------------------------------------------------------

cap=$work/capture
NODE_PATH=$npmdir/node_modules node "$here/receiver.js" --port 0 --capture "$cap" \
    --ready-file "$work/ready" > "$work/stdout" 2> "$work/stderr" &
rpid=$!
for _ in $(seq 100); do
    [ -s "$work/ready" ] && break
    kill -0 $rpid 2>/dev/null || break
    sleep 0.1
done
port=$(cat "$work/ready" 2>/dev/null)
[ -n "$port" ] && grep -qx "listening $port" "$work/stdout"
ok $? "receiver prints 'listening <port>' and writes the ready file (port $port)" \
    "$(cat "$work/stdout" "$work/stderr")"
[ -n "$port" ] || finish
base=http://127.0.0.1:$port

# post NAME FILE CONTENT-TYPE [curl args]: status code in $code, body in $work/resp
post() {
    local f=$1 ct=$2; shift 2
    code=$(curl -sS -o "$work/resp" -D "$work/resp.h" -w '%{http_code}' \
        -H "Content-Type: $ct" --data-binary "@$f" "$@" "$base/v1/traces")
}
get() { curl -sS "$base$1" > "$work/$2"; }
control() { curl -sS -o /dev/null -w '%{http_code}' -X POST ${2:+-d "$2"} "$base/control/$1"; }

# --- the three flavours --------------------------------------------------------

post "$work/req.pb" application/x-protobuf
[ "$code" = 200 ] && [ ! -s "$work/resp" ]
ok $? "protobuf export: 200, empty body" "$code $(cat "$work/resp")"
post "$work/req.pb.gz" application/x-protobuf -H 'Content-Encoding: gzip'
[ "$code" = 200 ]
ok $? "gzipped protobuf export: 200" "$code $(cat "$work/resp")"
post "$work/req.json" application/json
[ "$code" = 200 ] && grep -q '"ok":1' "$work/resp"
ok $? "JSON export: 200 {\"ok\":1}" "$code $(cat "$work/resp")"

get '/control/spans?min=6&wait_ms=5000' spans.json
jsok "6 spans, 2 per request" "$work/spans.json" \
    'd.length === 6 && eq(d.map((s) => s.request), [1, 1, 2, 2, 3, 3])'
jsok "protobuf, gzip and JSON spans normalise identically" "$work/spans.json" '
    const strip = (r) => JSON.stringify(d.filter((s) => s.request === r).map(({request, ...s}) => s));
    strip(1) === strip(2) && strip(1) === strip(3)'
jsok "the root span, exactly" "$work/spans.json" 'eq(d[4], {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", parentSpanId: "",
    name: "infer", kind: 2,
    startTimeUnixNano: "1700000000123456789", endTimeUnixNano: "1700000000987654321",
    flags: 769, traceState: "", status: {code: 0, message: ""},
    attributes: {"http.request.method": "POST", "http.response.status_code": 200,
        "infer.big": "9007199254740993", "infer.neg": -5, "infer.ratio": 0.25, "infer.cached": true},
    events: [], links: [],
    resource: {"service.name": "nginx", "process.pid": 1234},
    scope: {name: "ngx_http_infer_module", version: "0.1.0"}, request: 3})'
jsok "the child span, exactly" "$work/spans.json" 'eq(d[1], {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "53995c3f42cd8ad8",
    parentSpanId: "00f067aa0ba902b7", name: "infer.run", kind: 1,
    startTimeUnixNano: "1700000000200000001", endTimeUnixNano: "1700000000900000002",
    flags: 1, traceState: "vendor=x", status: {code: 2, message: "model failed"},
    attributes: {"infer.model": "m1"},
    events: [{name: "retry", timeUnixNano: "1700000000500000003", attributes: {attempt: 2}}],
    links: [{traceId: "00000000000000000000000000000001", spanId: "0000000000000002",
        traceState: "", flags: 1, attributes: {}}],
    resource: {"service.name": "nginx", "process.pid": 1234},
    scope: {name: "ngx_http_infer_module", version: "0.1.0"}, request: 1})'

get '/control/spans?trace_id=4BF92F3577B34DA6A3CE929D0E0E4736' f1.json
jsok "filter trace_id (any case)" "$work/f1.json" 'd.length === 6'
get '/control/spans?trace_id=4bf92f3577b34da6a3ce929d0e0e4736&name=infer.run' f2.json
jsok "filter trace_id + name" "$work/f2.json" 'd.length === 3 && d.every((s) => s.name === "infer.run")'
get '/control/spans?trace_id=00000000000000000000000000000001' f3.json
jsok "filter on another trace: none" "$work/f3.json" 'eq(d, [])'

get /control/requests requests.json
jsok "/control/requests lists the three exports" "$work/requests.json" "
    eq(d.map((r) => [r.seq, r.contentType, r.contentEncoding, r.contentLength, r.status, r.spans, r.mode]), [
        [1, 'application/x-protobuf', null, $(stat -c %s "$work/req.pb"), 200, 2, 'normal'],
        [2, 'application/x-protobuf', 'gzip', $(stat -c %s "$work/req.pb.gz"), 200, 2, 'normal'],
        [3, 'application/json', null, $(stat -c %s "$work/req.json"), 200, 2, 'normal']])
    && d[1].headers['content-encoding'] === 'gzip' && d.every((r) => r.error === null && eq(r.warnings, []))"

cmp "$cap/0001.body" "$work/req.pb" && cmp "$cap/0002.body" "$work/req.pb.gz" \
    && cmp "$cap/0003.body" "$work/req.json"
ok $? "capture files hold the exact bytes sent" "$(ls -l "$cap")"
jsok "capture headers (0002.headers.json)" "$cap/0002.headers.json" \
    'd["content-encoding"] === "gzip" && d["content-type"] === "application/x-protobuf"'

# --- waiting -----------------------------------------------------------------

t0=$(nowms)
get '/control/spans?name=infer&min=4&wait_ms=8000' waited.json &
wpid=$!
sleep 0.5
post "$work/req.pb" application/x-protobuf
wait $wpid
dt=$(($(nowms) - t0))
[ "$dt" -lt 4000 ]
ok $? "a waiting /control/spans answers as soon as min spans match ($dt ms)"
jsok "... with the spans" "$work/waited.json" 'd.length === 4 && d[3].request === 4'
t0=$(nowms)
get '/control/spans?name=nothing&min=1&wait_ms=700' waited2.json
dt=$(($(nowms) - t0))
[ "$dt" -ge 650 ] && [ "$dt" -lt 3000 ]
ok $? "an unmet wait answers after wait_ms ($dt ms)"
jsok "... with what it has" "$work/waited2.json" 'eq(d, [])'

# --- scripted failures -----------------------------------------------------------

r=$(control mode '{"status":503,"retry_after":"1","count":2}')
ok $([ "$r" = 200 ]; echo $?) "mode 503 x2 accepted" "$r"
for i in 1 2; do
    post "$work/req.pb" application/x-protobuf
    [ "$code" = 503 ] && grep -qix 'retry-after: 1.\?' "$work/resp.h" \
        && grep -q '"code":14' "$work/resp"
    ok $? "export $i in mode 503: 503, Retry-After: 1, rpc code 14" "$code $(cat "$work/resp.h" "$work/resp")"
done
post "$work/req.json" application/json
[ "$code" = 200 ]
ok $? "the third export is normal again" "$code"
get /control/requests requests.json
jsok "failed exports are counted, not decoded" "$work/requests.json" '
    eq(d.slice(-3).map((r) => [r.status, r.mode, r.spans]), [[503, "status", 0], [503, "status", 0], [200, "normal", 2]])'
get /control/spans spans.json
jsok "... and only the good one added spans" "$work/spans.json" 'd.length === 10'

control mode '{"status":400,"count":1}' > /dev/null
post "$work/req.pb" application/x-protobuf; c1=$code
post "$work/req.pb" application/x-protobuf; c2=$code
[ "$c1" = 400 ] && [ "$c2" = 200 ]
ok $? "mode 400 x1: 400, then 200" "$c1 $c2"

control mode '{"hang":true,"count":1}' > /dev/null
t0=$(nowms)
post "$work/req.pb" application/x-protobuf --max-time 2 2> /dev/null
rc=$? dt=$(($(nowms) - t0))
[ "$rc" = 28 ]
ok $? "hang mode holds the export open (curl --max-time 2: exit $rc after $dt ms)"
post "$work/req.pb" application/x-protobuf --max-time 5
[ "$code" = 200 ]
ok $? "the export after the hung one is normal" "$code"
get /control/requests requests.json
jsok "the hung export is listed, unanswered" "$work/requests.json" '
    eq(d.slice(-2).map((r) => [r.status, r.mode, r.spans]), [[null, "hang", 0], [200, "normal", 2]])'

printf 'not gzip' > "$work/bad.gz"
post "$work/bad.gz" application/x-protobuf -H 'Content-Encoding: gzip'; c1=$code
printf 'garbage' > "$work/bad.pb"
post "$work/bad.pb" application/x-protobuf; c2=$code
post "$work/req.pb" application/x-protobuf; c3=$code
[ "$c1" = 400 ] && [ "$c2" = 400 ] && [ "$c3" = 200 ]
ok $? "bad gzip and undecodable protobuf: 400, and the receiver carries on" "$c1 $c2 $c3"

post "$work/req.json" 'Application/JSON; charset=utf-8'; c1=$code
post "$work/req.json" text/plain; c2=$code
get /control/requests requests.json
[ "$c1" = 200 ] && [ "$c2" = 400 ]
ok $? "Content-Type parameters are accepted, an unknown type is a 400" "$c1 $c2"
jsok "... with the reason in /control/requests" "$work/requests.json" '
    d[d.length - 2].spans === 2 && /unexpected request Content-Type/.test(d[d.length - 1].error)'

# int64 as a JSON number beyond 2^53 is inexact: reported, not silently kept
sed 's/"startTimeUnixNano":"1700000000200000001"/"startTimeUnixNano":1700000000200000001/' \
    "$work/req.json" > "$work/lossy.json"
post "$work/lossy.json" application/json
get /control/requests requests.json
jsok "a time sent as a JSON number is flagged in warnings" "$work/requests.json" '
    /startTimeUnixNano sent as JSON 17.*not an exact int64/.test(d[d.length - 1].warnings[0])'

# --- reset, shutdown ---------------------------------------------------------------

r=$(control reset)
get /control/spans s.json; get /control/requests q.json
[ "$r" = 200 ] && [ "$(cat "$work/s.json")" = "[]" ] && [ "$(cat "$work/q.json")" = "[]" ]
ok $? "reset forgets spans and requests" "$r $(cat "$work/s.json" "$work/q.json")"
post "$work/req.pb" application/x-protobuf
get '/control/spans?min=2&wait_ms=3000' s.json
jsok "after reset: new spans, sequence numbers go on" "$work/s.json" 'd.length === 2 && d[0].request > 10'

control mode '{"hang":true}' > /dev/null
curl -sS -o /dev/null -H 'Content-Type: application/x-protobuf' --data-binary "@$work/req.pb" \
    --max-time 10 "$base/v1/traces" 2> /dev/null &
cpid=$!
sleep 0.3
kill -TERM $rpid
for _ in $(seq 50); do kill -0 $rpid 2>/dev/null || break; sleep 0.1; done
wait $rpid; rc=$?
rpid=
wait $cpid 2>/dev/null
[ "$rc" = 0 ]
ok $? "SIGTERM with a hung export open: exits 0 ($rc)"
[ "$(wc -l < "$work/stdout")" = 1 ]
ok $? "stdout holds only the 'listening' line" "$(cat "$work/stdout")"
grep -v -e 'decode: invalid wire type' -e 'exiting' "$work/stderr" > "$work/stderr.rest"
[ ! -s "$work/stderr.rest" ]
ok $? "no unexpected errors on stderr" "$(cat "$work/stderr.rest")"

finish
