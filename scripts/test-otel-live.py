#!/usr/bin/python3
"""The OpenTelemetry trace exporter tested live, as a user would run it.

nginx (master, 2 workers, daemon) exports to t/otlp/receiver.js (a real
@elastic/mockotlpserver behind a front that captures the raw bodies and
scripts failures).  t/otel.t checks what the spans say; this checks the
wire and the failure modes:

  1  the bytes on the wire, judged without the receiver: every captured
     protobuf body (gunzipped first when gzip) decodes with protoc and
     re-encodes to the same bytes (no unknown field); OTLP/JSON bodies
     parse and give the receiver's spans; the request headers
  2a 503 + Retry-After: 1 twice: retried 1 s apart, every span once
  2b 400 once: that batch dropped and counted, logged once, later ones sent
  2c a collector that never answers (infer_otel_timeout 1s): timeouts
     counted, /predict latency as with a healthy collector (hey)
  2d nothing listening: network errors counted, spans dropped (queue_full),
     latency unchanged, the failure logged once
  2e reload and quit with the collector hanging: old workers, then nginx,
     gone within infer_otel_timeout + 1.5 s; the spans counted as shutdown
  2f 2000 requests (distinct traceparents, keep-alive, 4 connections) and
     a reload in the middle: every request's 4 spans arrive exactly once
  2g HTTPS through a TLS terminator (nginx) with a self-signed CA: with
     infer_otel_trusted_certificate the spans arrive, without it none do
  2h conf/nginx.conf as `make run` serves it (127.0.0.1:8080, exporting to
     127.0.0.1:4318): a request's spans arrive within 5 s (the
     issue's bound; conf/ seals a batch 2 s after its first span); the
     receiver stopped, requests still answer 200
  and in the end: no worker of any of these nginx died of a signal.

nginx loads a copy of the module (build/otel-live/*.so): `make` rewrites
build/*.so in place, which crashes every nginx that has it loaded.

Each check prints "ok N - ..." or "not ok N - ..." (diagnostics after a
failure start with "#"); the last line is "otel-live: P passed, F failed"
and the exit status is 0 only when F is 0.  Run by Debian's /usr/bin/python3
(standard library only); needs node (and build/otlp, npm ci'ed as
scripts/test.sh does), protoc, hey, openssl, curl.  Everything lives in
build/otel-live/ (removed at the start).

Environment: NGINX_BIN (default /usr/sbin/nginx), MODULE (the .so; default
build/ngx_http_infer_module.so; empty for a static build), OTEL_LIVE_TIMEOUT
(seconds for the whole run, default 240), OTEL_LIVE_ONLY (some of: wire
503 400 latency reload load https run; default all).
"""

import collections
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
WORK = os.path.join(BUILD, "otel-live")
NGINX_BIN = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"
MODULE = os.environ.get("MODULE")
if MODULE is None:
    MODULE = os.path.join(BUILD, "ngx_http_infer_module.so")
elif MODULE and not os.path.isabs(MODULE):
    MODULE = os.path.abspath(MODULE)
MODULE_LOADED = MODULE    # the copy nginx loads (main() makes it)
OTLP_DIR = os.path.join(BUILD, "otlp")
RECEIVER_JS = os.path.join(ROOT, "t", "otlp", "receiver.js")
PROTO_I = os.path.join(OTLP_DIR, "node_modules", "@elastic", "mockotlpserver")
PROTO = "opentelemetry/proto/collector/trace/v1/trace_service.proto"
PROTO_MSG = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
MODEL = os.path.join(ROOT, "t", "models", "linear3.json")
BODY = b'{"features":[1,2,3]}'
SPANS_PER_REQUEST = 4     # POST /predict, infer.parse, .evaluate, .respond
TOKEN = "Bearer otel-live-s3cret"
STARTED = time.monotonic()

# ---------------------------------------------------------------- reporting

counts = {"passed": 0, "failed": 0, "n": 0}


def check(cond, name, diag=None):
    counts["n"] += 1
    if cond:
        counts["passed"] += 1
        print("ok %d - %s" % (counts["n"], name), flush=True)
    else:
        counts["failed"] += 1
        print("not ok %d - %s" % (counts["n"], name), flush=True)
        if diag:
            for line in str(diag).rstrip("\n").split("\n"):
                print("#   " + line, flush=True)
    return bool(cond)


def note(msg):
    print("# " + msg, flush=True)


def phase(msg):
    print("# === %s (%.1f s)" % (msg, time.monotonic() - STARTED), flush=True)


class Timeout(Exception):
    pass


# ---------------------------------------------------------------- processes

cleanups = []             # callables, run last to first
instances = []            # every Nginx, for the crash check at the end


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_busy(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def alive(pid):
    """a process that exists and is not a zombie"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        if int(rest[1]) == pid and rest[0] not in "ZX":
            out.append(int(d))
    return sorted(out)


def kill_wait(pids, sig=signal.SIGTERM, wait=5.0):
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass
    end = time.monotonic() + wait
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def http_post(url, body, timeout=10):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


# ---------------------------------------------------------------- receiver

def otlp_install():
    """build/otlp as scripts/test.sh's otlp_receiver leaves it"""
    lock = os.path.join(ROOT, "t", "otlp", "package-lock.json")
    have = os.path.join(OTLP_DIR, "package-lock.json")
    if (os.path.isdir(PROTO_I) and os.path.exists(have)
            and open(lock, "rb").read() == open(have, "rb").read()):
        return True
    note("npm ci @elastic/mockotlpserver in build/otlp")
    shutil.rmtree(OTLP_DIR, ignore_errors=True)
    os.makedirs(OTLP_DIR)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(ROOT, "t", "otlp", f), OTLP_DIR)
    r = subprocess.run(["npm", "ci", "--no-fund", "--no-audit",
                        "--loglevel=error"], cwd=OTLP_DIR)
    return r.returncode == 0 and os.path.isdir(PROTO_I)


class Receiver:
    def __init__(self, name, port=0):
        self.dir = os.path.join(WORK, name)
        self.capture = os.path.join(self.dir, "capture")
        os.makedirs(self.dir, exist_ok=True)
        ready = os.path.join(self.dir, "ready")
        env = dict(os.environ, NODE_PATH=os.path.join(OTLP_DIR,
                                                      "node_modules"))
        self.err = open(os.path.join(self.dir, "receiver.err"), "w")
        self.proc = subprocess.Popen(
            ["node", RECEIVER_JS, "--port", str(port), "--capture",
             self.capture, "--ready-file", ready],
            env=env, stdout=subprocess.DEVNULL, stderr=self.err,
            start_new_session=True)
        cleanups.append(self.stop)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            if os.path.exists(ready):
                self.port = int(open(ready).read().strip())
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        else:
            self.port = None
        if not getattr(self, "port", None):
            raise RuntimeError("the OTLP receiver %s did not start: %s"
                               % (name, self.stderr_tail()))
        self.base = "http://127.0.0.1:%d" % self.port

    def stderr_tail(self):
        try:
            return open(os.path.join(self.dir, "receiver.err")).read()[-600:]
        except OSError:
            return ""

    def get(self, path, timeout=30):
        return json.loads(http_get(self.base + path, timeout)[1])

    def post(self, path, obj):
        return json.loads(http_post(self.base + path,
                                    json.dumps(obj).encode())[1])

    def reset(self):
        return self.post("/control/reset", {})

    def mode(self, **m):
        return self.post("/control/mode", m)

    def spans(self, trace_id=None, min_n=None, wait_ms=None):
        q = []
        if trace_id:
            q.append("trace_id=" + trace_id)
        if min_n is not None:
            q.append("min=%d" % min_n)
        if wait_ms:
            q.append("wait_ms=%d" % wait_ms)
        return self.get("/control/spans" + ("?" + "&".join(q) if q else ""),
                        timeout=(wait_ms or 0) / 1000 + 30)

    def requests(self):
        return self.get("/control/requests")

    def body(self, seq):
        return open(os.path.join(self.capture, "%04d.body" % seq), "rb").read()

    def headers(self, seq):
        return json.load(open(os.path.join(self.capture,
                                           "%04d.headers.json" % seq)))

    def wait_requests(self, cond, timeout):
        """polls /control/requests until cond(list) holds"""
        end = time.monotonic() + timeout
        while True:
            reqs = self.requests()
            if cond(reqs) or time.monotonic() > end:
                return reqs
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


# ---------------------------------------------------------------- nginx

def exporter_http(endpoint, extra="", predict_extra=""):
    """the http block of an exporting nginx: /predict traced, /metrics not"""
    return """
    infer_model  m  %s;
    infer_otel_endpoint  %s;
    %s
    server {
        listen  127.0.0.1:@PORT@;
        location = /predict  { infer_otel on; %s infer m; }
        location = /metrics  { infer_metrics; }
    }
""" % (MODEL, endpoint, extra, predict_extra)


class Nginx:
    def __init__(self, name, http, port=None, workers=2, module=True,
                 main_extra=""):
        self.name = name
        self.prefix = os.path.join(WORK, name)
        self.port = port or free_port()
        for d in ("conf", "logs", "tmp", "core"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        os.chmod(os.path.join(self.prefix, "core"), 0o777)  # for workers
        self.conf = os.path.join(self.prefix, "conf", "nginx.conf")
        self.errlog = os.path.join(self.prefix, "logs", "error.log")
        self.pidfile = os.path.join(self.prefix, "logs", "nginx.pid")
        load = ("load_module %s;" % MODULE_LOADED
                if module and MODULE_LOADED else "")
        with open(self.conf, "w") as f:
            f.write("""%s
master_process    on;
daemon            on;
worker_processes  %d;
error_log         %s info;
pid               %s;
worker_rlimit_core  2g;
working_directory   %s;
%s
events { worker_connections 1024; }
http {
    access_log             off;
    client_body_temp_path  %s/tmp;
    proxy_temp_path        %s/tmp;
%s
}
""" % (load, workers, self.errlog, self.pidfile,
                os.path.join(self.prefix, "core"), main_extra,
                self.prefix,
                self.prefix, http.replace("@PORT@", str(self.port))))
        self.master = None
        instances.append(self)

    def start(self):
        r = subprocess.run([NGINX_BIN, "-p", self.prefix + "/", "-c",
                            self.conf, "-e", self.errlog],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("nginx %s does not start: exit status %d: %s"
                               % (self.name, r.returncode,
                                  (r.stderr.strip() or self.log())[-600:]))
        cleanups.append(self.stop)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                self.master = int(open(self.pidfile).read())
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    pass
                if len(self.workers()) >= 1:
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx %s: no pid or port %d"
                           % (self.name, self.port))

    def signal(self, what):
        """nginx -s WHAT, as an operator types it"""
        r = subprocess.run([NGINX_BIN, "-p", self.prefix + "/", "-c",
                            self.conf, "-s", what], capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError("nginx -s %s: %s" % (what, r.stderr[-300:]))

    def workers(self):
        return children(self.master) if self.master else []

    def wait_workers(self, n, exclude=(), timeout=5):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            w = [p for p in self.workers() if p not in exclude]
            if len(w) >= n:
                return w
            time.sleep(0.02)
        return [p for p in self.workers() if p not in exclude]

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def metrics(self):
        """{'name{labels}': value} from /metrics"""
        text = http_get(self.url("/metrics"))[1].decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def otel(self):
        return otel_counts(self.metrics())

    def log(self):
        try:
            return open(self.errlog, errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        if self.master is None:
            return
        pids = [self.master] + self.workers()
        kill_wait(pids, signal.SIGQUIT, 8)
        self.master = None


def otel_counts(m):
    """the exporter's own metrics, as plain numbers"""
    def g(k):
        return int(m.get(k, -1))
    c = {"exported": g("nginx_infer_otel_spans_exported_total"),
         "duration_count":
             g("nginx_infer_otel_export_duration_seconds_count")}
    for r in ("queue_full", "rejected", "failed", "shutdown", "too_large"):
        c["dropped." + r] = g('nginx_infer_otel_spans_dropped_total'
                              '{reason="%s"}' % r)
    for o in ("ok", "retryable", "rejected", "timeout", "network_error"):
        c["exports." + o] = g('nginx_infer_otel_exports_total'
                              '{outcome="%s"}' % o)
    return c


def wait_otel(ng, cond, timeout=3.0):
    """the exporter's counts once cond holds (its answer is counted a
    moment after the receiver has the spans), or at the timeout"""
    end = time.monotonic() + timeout
    while True:
        c = ng.otel()
        if cond(c) or time.monotonic() > end:
            return c
        time.sleep(0.05)


def log_excerpt(ng, n=12):
    """the error log without its [notice] lines"""
    lines = [ln for ln in ng.log().splitlines() if "[notice]" not in ln]
    return "%s error log:\n%s" % (ng.name, "\n".join(lines[-n:]))


def fmt_counts(c):
    return " ".join("%s=%d" % (k, v) for k, v in sorted(c.items()) if v)


def dropped(c):
    return sum(v for k, v in c.items() if k.startswith("dropped."))


# ---------------------------------------------------------------- clients

def new_trace():
    tid = os.urandom(16).hex()
    return tid, "00-%s-%s-01" % (tid, os.urandom(8).hex())


class Client:
    """one keep-alive connection to nginx"""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def predict(self, traceparent=None, body=BODY, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=10)
        h = {"Content-Type": "application/json"}
        if traceparent:
            h["traceparent"] = traceparent
        h.update(headers or {})
        try:
            self.conn.request("POST", "/predict", body=body, headers=h)
            r = self.conn.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def send_traced(port, n, client=None):
    """n requests with a sampled traceparent each: their trace ids"""
    c = client or Client(port)
    tids, statuses = [], []
    for _ in range(n):
        tid, tp = new_trace()
        statuses.append(c.predict(tp))
        tids.append(tid)
    if client is None:
        c.close()
    return tids, statuses


def by_trace(spans):
    out = collections.defaultdict(list)
    for s in spans:
        out[s["traceId"]].append(s)
    return out


def hey(port, n=2000, c=2):
    """hey -o csv: p50, p99 (ms) and the status codes"""
    r = subprocess.run(["hey", "-n", str(n), "-c", str(c), "-m", "POST",
                        "-T", "application/json", "-d", BODY.decode(),
                        "-o", "csv", "http://127.0.0.1:%d/predict" % port],
                       capture_output=True, text=True, timeout=60)
    lat, codes = [], collections.Counter()
    for line in r.stdout.splitlines()[1:]:
        f = line.split(",")
        if len(f) >= 7:
            lat.append(float(f[0]) * 1000)
            codes[f[6]] += 1
    lat.sort()
    if not lat:
        return None, None, codes
    return (lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            codes)


# ---------------------------------------------------------------- protobuf

def protoc_decode(raw):
    return subprocess.run(["protoc", "-I", PROTO_I, "--decode=" + PROTO_MSG,
                           PROTO], input=raw, capture_output=True)


def protoc_encode(text):
    return subprocess.run(["protoc", "-I", PROTO_I, "--encode=" + PROTO_MSG,
                           PROTO], input=text, capture_output=True)


UNKNOWN_FIELD = re.compile(rb"^\s*[0-9]+(: | \{)", re.M)


def pb_check(raw):
    """(problem or None, the decoded text): protoc decodes, no unknown
    field, and the decoded text encodes back to the very bytes"""
    d = protoc_decode(raw)
    if d.returncode != 0 or d.stderr.strip():
        return "protoc --decode: rc %d: %s" % (
            d.returncode, d.stderr.decode(errors="replace")[:300]), d.stdout
    m = UNKNOWN_FIELD.search(d.stdout)
    if m:
        return "an unknown field: %r" % m.group(0), d.stdout
    e = protoc_encode(d.stdout)
    if e.returncode != 0:
        return "protoc --encode: %s" % e.stderr.decode()[:300], d.stdout
    if e.stdout != raw:
        n = next((i for i, (a, b) in enumerate(zip(e.stdout, raw)) if a != b),
                 min(len(e.stdout), len(raw)))
        return ("re-encoded bytes differ at byte %d (%d bytes vs %d sent)"
                % (n, len(e.stdout), len(raw))), d.stdout
    return None, d.stdout


def pb_span_count(text):
    return len(re.findall(rb"^\s*spans \{", text, re.M))


# OTLP/JSON normalised as t/otlp/receiver.js normalises it, to compare

def j_any(v):
    if v is None:
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        n = int(v["intValue"])
        return n if abs(n) <= 2 ** 53 - 1 else str(n)
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        return [j_any(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return j_attrs(v["kvlistValue"].get("values"))
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def j_attrs(lst):
    return {kv["key"]: j_any(kv.get("value")) for kv in lst or []}


def j_spans(doc, seq):
    out = []
    for rs in doc.get("resourceSpans", []):
        res = j_attrs(rs.get("resource", {}).get("attributes"))
        for ss in rs.get("scopeSpans", []):
            sc = ss.get("scope", {})
            scope = {"name": sc.get("name", ""),
                     "version": sc.get("version", "")}
            for s in ss.get("spans", []):
                st = s.get("status", {})
                out.append({
                    "traceId": s.get("traceId", "").lower(),
                    "spanId": s.get("spanId", "").lower(),
                    "parentSpanId": s.get("parentSpanId", "").lower(),
                    "name": s.get("name", ""), "kind": s.get("kind", 0),
                    "startTimeUnixNano": str(int(s["startTimeUnixNano"])),
                    "endTimeUnixNano": str(int(s["endTimeUnixNano"])),
                    "flags": s.get("flags", 0),
                    "traceState": s.get("traceState", ""),
                    "status": {"code": st.get("code", 0),
                               "message": st.get("message", "")},
                    "attributes": j_attrs(s.get("attributes")),
                    "events": [{"name": e.get("name", ""),
                                "timeUnixNano": str(int(e.get(
                                    "timeUnixNano", 0))),
                                "attributes": j_attrs(e.get("attributes"))}
                               for e in s.get("events", [])],
                    "links": [{"traceId": lk.get("traceId", "").lower(),
                               "spanId": lk.get("spanId", "").lower(),
                               "traceState": lk.get("traceState", ""),
                               "flags": lk.get("flags", 0),
                               "attributes": j_attrs(lk.get("attributes"))}
                              for lk in s.get("links", [])],
                    "resource": res, "scope": scope, "request": seq})
    return out


def log_lines(text, pattern):
    return [ln for ln in text.splitlines() if re.search(pattern, ln)]


def log_pid(line):
    m = re.search(r"\] (\d+)#", line)
    return int(m.group(1)) if m else None


# ================================================================ 1. wire

def check_wire(recv):
    phase("1. the bytes on the wire")
    configs = [("http/protobuf", "off"), ("http/protobuf", "gzip"),
               ("http/json", "off"), ("http/json", "gzip")]
    for proto, comp in configs:
        tag = "%s%s" % (proto.split("/")[1], "+gzip" if comp == "gzip" else "")
        recv.reset()
        ng = Nginx("wire-" + tag.replace("+", "-"), exporter_http(
            recv.base + "/v1/traces", """
    infer_otel_protocol     %s;
    infer_otel_compression  %s;
    infer_otel_interval     100ms;
    infer_otel_header       Authorization "%s";
    infer_otel_header       X-Scope-OrgID tenant-1;
    infer_otel_service_name otel-live;
    infer_otel_resource_attribute  deployment.environment.name "live \\"test\\" é";
""" % (proto, comp, TOKEN)))
        ng.start()
        # a batch of ordinary requests on two connections, a 400, a user
        # agent with UTF-8 and invalid bytes, a 422
        c1, c2 = Client(ng.port), Client(ng.port)
        tids = []
        for i in range(6):
            tid, tp = new_trace()
            (c1 if i % 2 else c2).predict(tp)
            tids.append(tid)
        for body, ua in ((b'{"features":[1,2', b"wire/1"),
                         (BODY, b"caf\xc3\xa9 \xff\xfe \xe2\x82"),
                         (b'{"features":[1,2]}', b"x" * 3000)):
            tid, tp = new_trace()
            c1.predict(tp, body=body, headers={"User-Agent": ua})
            tids.append(tid)
        c1.close()
        c2.close()
        missing = [t for t in tids
                   if not recv.spans(trace_id=t, min_n=1, wait_ms=5000)]
        ng.stop()
        reqs = recv.requests()
        spans = recv.spans()
        check(not missing and reqs,
              "1 %s: the %d traces arrive (%d spans in %d exports)"
              % (tag, len(tids), len(spans), len(reqs)),
              "missing: %s" % missing)

        # the headers of every export
        bad = []
        ctype = ("application/x-protobuf" if proto == "http/protobuf"
                 else "application/json")
        for r in reqs:
            h = recv.headers(r["seq"])
            raw = recv.body(r["seq"])
            want = {"content-type": ctype, "authorization": TOKEN,
                    "x-scope-orgid": "tenant-1",
                    "content-length": str(len(raw)),
                    "user-agent": "ngx_http_infer_module/0.1.0"}
            if comp == "gzip":
                want["content-encoding"] = "gzip"
            for k, v in want.items():
                if h.get(k) != v:
                    bad.append("%04d %s: %r, want %r" % (r["seq"], k,
                                                         h.get(k), v))
            if comp == "off" and "content-encoding" in h:
                bad.append("%04d content-encoding %r without gzip"
                           % (r["seq"], h["content-encoding"]))
        check(not bad, "1 %s: headers of %d exports: Content-Type %s%s, "
              "Authorization and X-Scope-OrgID from infer_otel_header, "
              "Content-Length" % (tag, len(reqs), ctype,
                                  ", Content-Encoding gzip" if comp == "gzip"
                                  else ", no Content-Encoding"),
              "\n".join(bad[:10]))

        # the bodies, judged without the receiver
        bad, nspans, nbytes = [], 0, 0
        for r in reqs:
            raw = recv.body(r["seq"])
            nbytes += len(raw)
            if r["warnings"] or r["error"] or r["status"] != 200:
                bad.append("%04d: receiver: status %s, warnings %s, error %s"
                           % (r["seq"], r["status"], r["warnings"],
                              r["error"]))
            if comp == "gzip":
                if raw[:2] != b"\x1f\x8b":
                    bad.append("%04d: not gzip" % r["seq"])
                    continue
                try:
                    raw = gzip.decompress(raw)
                except Exception as e:      # noqa: BLE001 (any gzip error)
                    bad.append("%04d: gunzip: %s" % (r["seq"], e))
                    continue
            mine = [s for s in spans if s["request"] == r["seq"]]
            if proto == "http/protobuf":
                problem, text = pb_check(raw)
                if problem:
                    bad.append("%04d: %s" % (r["seq"], problem))
                    continue
                n = pb_span_count(text)
                if n != r["spans"] or n != len(mine):
                    bad.append("%04d: protoc finds %d spans, the receiver %d"
                               % (r["seq"], n, r["spans"]))
                nspans += n
            else:
                try:
                    doc = json.loads(raw.decode("utf-8"))
                except ValueError as e:
                    bad.append("%04d: not JSON: %s" % (r["seq"], e))
                    continue
                got = j_spans(doc, r["seq"])
                nspans += len(got)
                if got != mine:
                    diff = next((i for i, (a, b) in enumerate(zip(got, mine))
                                 if a != b), None)
                    bad.append("%04d: %d spans parsed, %d from the receiver; "
                               "first difference at span %s:\n  %s\n  %s"
                               % (r["seq"], len(got), len(mine), diff,
                                  json.dumps(got[diff or 0])[:400] if got
                                  else "",
                                  json.dumps(mine[diff or 0])[:400] if mine
                                  else ""))
        if proto == "http/protobuf":
            what = ("decode with protoc --decode, no unknown field, "
                    "--encode gives the same bytes")
        else:
            what = "parse as JSON, their spans equal the receiver's"
        check(not bad and nspans == len(spans),
              "1 %s: %d bodies (%d bytes%s, %d spans) %s"
              % (tag, len(reqs), nbytes, ", gunzipped" if comp == "gzip"
                 else "", nspans, what),
              "\n".join(bad[:6]) + "\nspans %d, receiver %d"
              % (nspans, len(spans)))


# ================================================================ 2a. 503

def check_503(recv):
    phase("2a. 503 with Retry-After: 1, twice")
    recv.reset()
    ng = Nginx("503", exporter_http(recv.base + "/v1/traces",
                                    "infer_otel_interval 200ms;")).start()
    recv.mode(status=503, retry_after="1", count=2)
    c = Client(ng.port)
    tids, st1 = send_traced(ng.port, 5, c)        # one batch, refused twice
    time.sleep(0.6)                               # more, during the backoff
    t2, st2 = send_traced(ng.port, 5, c)
    c.close()
    tids += t2
    want = len(tids) * SPANS_PER_REQUEST
    spans = recv.spans(min_n=want, wait_ms=10000)
    time.sleep(0.3)                               # a duplicate would be late
    spans = recv.spans()
    reqs = recv.requests()
    m = wait_otel(ng, lambda c: c["exported"] >= want)
    bt = by_trace(spans)
    per = collections.Counter(len(bt.get(t, [])) for t in tids)
    ids = collections.Counter(s["spanId"] for s in spans)
    check(st1 + st2 == [200] * 10 and per == {SPANS_PER_REQUEST: 10}
          and len(spans) == want and max(ids.values()) == 1,
          "2a: all %d spans of the 10 requests arrive, once each"
          % want, "spans per trace: %s; %d spans; a span id twice: %s"
          % (dict(per), len(spans), [k for k, v in ids.items() if v > 1]))
    check(m["exports.retryable"] == 2 and m["exports.ok"] >= 1
          and dropped(m) == 0 and m["exported"] == want,
          "2a: exports_total{retryable} = 2, spans_exported_total = %d, "
          "nothing dropped" % want, fmt_counts(m))
    seq = [(r["status"], r["time"]) for r in reqs]
    gaps = [(seq[i + 1][1] - seq[i][1]) / 1000 for i in range(min(2,
                                                                  len(seq) - 1))]
    check([s for s, _ in seq[:3]] == [503, 503, 200] and len(gaps) == 2
          and all(0.95 <= g <= 1.6 for g in gaps),
          "2a: the receiver saw 503, 503, 200 for the batch, retried %s s "
          "apart (Retry-After: 1)" % ", ".join("%.3f" % g for g in gaps),
          "requests: %s" % seq)
    ng.stop()


# ================================================================ 2b. 400

def check_400(recv):
    phase("2b. 400 once")
    recv.reset()
    ng = Nginx("400", exporter_http(recv.base + "/v1/traces",
                                    "infer_otel_interval 200ms;")).start()
    recv.mode(status=400, count=1)
    c = Client(ng.port)
    t1, st1 = send_traced(ng.port, 3, c)
    reqs = recv.wait_requests(lambda rs: any(r["status"] == 400 for r in rs),
                              5)
    t2, st2 = send_traced(ng.port, 4, c)
    c.close()
    want = len(t2) * SPANS_PER_REQUEST
    spans = recv.spans(min_n=want, wait_ms=5000)
    time.sleep(0.3)
    spans = recv.spans()
    reqs = recv.requests()
    m = wait_otel(ng, lambda c: c["exported"] >= want)
    refused = [r for r in reqs if r["status"] == 400]
    n_refused = None
    if len(refused) == 1:
        problem, text = pb_check(recv.body(refused[0]["seq"]))
        n_refused = None if problem else pb_span_count(text)
    bt = by_trace(spans)
    check(len(refused) == 1 and n_refused == len(t1) * SPANS_PER_REQUEST,
          "2b: one export refused with 400, its body holds %s spans "
          "(protoc on the captured body)" % n_refused,
          "requests: %s" % [(r["seq"], r["status"]) for r in reqs])
    check(m["dropped.rejected"] == n_refused
          and m["exports.rejected"] == 1
          and m["exported"] == want,
          "2b: spans_dropped_total{rejected} = %s = the refused body's, "
          "exports_total{rejected} = 1, spans_exported_total = %d"
          % (m["dropped.rejected"], want), fmt_counts(m))
    check(st1 + st2 == [200] * 7
          and all(len(bt.get(t, [])) == SPANS_PER_REQUEST for t in t2)
          and not any(t in bt for t in t1) and len(spans) == want,
          "2b: the later batch arrives (%d spans), the refused one never"
          % want, "spans: %s" % {t[:8]: len(bt.get(t, [])) for t in t1 + t2})
    lines = log_lines(ng.log(), r"status 400")
    check(len(lines) == 1 and "refused %s spans" % n_refused in lines[0],
          "2b: the error log names the status once: %s"
          % (lines[0].split("] ", 1)[-1] if lines else "(none)"),
          "\n".join(lines))
    ng.stop()


# ================================================================ 2c/2d

def check_hang_and_dead(recv, recv_hang):
    phase("2c/2d. a hanging collector, nothing listening: latency")
    recv.reset()
    recv_hang.reset()
    recv_hang.mode(hang=True)
    dead_port = free_port()
    common = "infer_otel_interval 100ms;\n    infer_otel_timeout 1s;"
    healthy = Nginx("healthy", exporter_http(
        recv.base + "/v1/traces", common)).start()
    hang = Nginx("hang", exporter_http(
        recv_hang.base + "/v1/traces", common)).start()
    dead = Nginx("dead", exporter_http(
        "http://127.0.0.1:%d/v1/traces" % dead_port, common + """
    infer_otel_queue 2;
    infer_otel_batch_size 8;""")).start()
    note("healthy exporter: nginx :%d -> receiver :%d; hanging: nginx :%d "
         "-> receiver :%d (hang mode); dead: nginx :%d -> :%d (nothing "
         "listens; infer_otel_queue 2, batch_size 8)"
         % (healthy.port, recv.port, hang.port, recv_hang.port, dead.port,
            dead_port))

    # an export under way in each before measuring
    send_traced(hang.port, 2)
    recv_hang.wait_requests(lambda rs: any(r["mode"] == "hang" for r in rs),
                            3)
    send_traced(dead.port, 2)
    time.sleep(0.3)
    h0, d0 = hang.otel(), dead.otel()

    res = {"healthy": [], "hang": [], "dead": []}
    codes = collections.Counter()
    rounds, n, conc = 5, 2000, 2
    for _ in range(rounds):
        for name, ng in (("healthy", healthy), ("hang", hang),
                         ("dead", dead)):
            p50, p99, cd = hey(ng.port, n, conc)
            res[name].append((p50, p99))
            codes[name, tuple(sorted(cd.items()))] += 1
    med = {k: (statistics.median(x[0] for x in v),
               statistics.median(x[1] for x in v)) for k, v in res.items()}
    for k, v in res.items():
        note("%-7s p50 %s ms, p99 %s ms (hey -n %d -c %d, %d rounds, 0.1 ms"
             " resolution; median p50 %.3f, p99 %.3f)"
             % (k, " ".join("%.1f" % x[0] for x in v),
                " ".join("%.1f" % x[1] for x in v), n, conc, rounds,
                med[k][0], med[k][1]))
    all_200 = all(dict(c).get("200") == n and len(c) == 1
                  for (_, c), _ in codes.items())
    time.sleep(1.2)           # a timeout and a retry more
    h1, d1 = hang.otel(), dead.otel()
    hm = hang.log()
    dm = dead.log()

    # 2c: the hanging collector
    bp50, bp99 = med["healthy"]
    tol = max(2.0, 0.5 * bp99)
    tlines = log_lines(hm, r"infer_otel: export to .* failed: no answer")
    tpids = collections.Counter(log_pid(x) for x in tlines)
    check(h1["exports.timeout"] >= 1 and h1["exports.timeout"]
          > h0["exports.timeout"] and tlines and max(tpids.values()) == 1,
          "2c: exports_total{timeout} grows while the collector hangs "
          "(%d, then %d), logged once per worker (%d line(s))"
          % (h0["exports.timeout"], h1["exports.timeout"], len(tlines)),
          fmt_counts(h1) + "\n" + "\n".join(tlines[:6]))
    check(all_200, "2c/2d: every request answered 200 (%d x %d per nginx)"
          % (rounds, n), "status codes: %s" % dict(codes))
    check(med["hang"][1] <= bp99 + tol and med["hang"][0] <= bp50 + tol,
          "2c: /predict latency with the collector hanging: p50 %.3f ms, "
          "p99 %.3f ms; healthy p50 %.3f ms, p99 %.3f ms (tolerance: "
          "p99 within max(2 ms, 1.5x))" % (med["hang"][0], med["hang"][1],
                                            bp50, bp99), json.dumps(res))
    note("2c: hanging exporter's counts: " + fmt_counts(h1))

    # 2d: nothing listening
    check(d1["exports.network_error"] >= 1
          and d1["exports.network_error"] > d0["exports.network_error"],
          "2d: exports_total{network_error} grows (%d, then %d)"
          % (d0["exports.network_error"], d1["exports.network_error"]),
          fmt_counts(d1))
    check(d1["dropped.queue_full"] > d0["dropped.queue_full"]
          and d1["dropped.queue_full"] > 0,
          "2d: spans_dropped_total{queue_full} grows (%d, then %d) with "
          "infer_otel_queue 2" % (d0["dropped.queue_full"],
                                  d1["dropped.queue_full"]), fmt_counts(d1))
    check(med["dead"][1] <= bp99 + tol and med["dead"][0] <= bp50 + tol,
          "2d: /predict latency with nothing listening: p50 %.3f ms, p99 "
          "%.3f ms; healthy p50 %.3f ms, p99 %.3f ms" % (
              med["dead"][0], med["dead"][1], bp50, bp99), json.dumps(res))
    once = log_lines(dm, r"infer_otel: export to .* failed")
    per_pid = collections.Counter(log_pid(x) for x in once)
    connect = log_lines(dm, r"connect\(\) .*failed")
    ok = (1 <= len(once) <= 2 and max(per_pid.values()) == 1
          and "logged once" in once[0]
          and len(once) + len(connect) < d1["exports.network_error"]
          and len(connect) <= 2)
    check(ok, "2d: the error log says it once per worker (%d line(s), %d "
          "connect() line(s)) for %d failed exports: %s"
          % (len(once), len(connect), d1["exports.network_error"],
             once[0].split("] ", 1)[-1] if once else "(none)"),
          "\n".join((once + connect)[:8]))
    for ng in (healthy, hang, dead):
        ng.stop()
    return med


# ================================================================ 2e

def wait_gone(pids, bound):
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound + 5:
        if not any(alive(p) for p in pids):
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


def check_reload_quit(recv_hang):
    phase("2e. reload and quit with the collector hanging")
    recv_hang.reset()
    recv_hang.mode(hang=True)
    timeout = 1.0
    bound = timeout + 1.5
    ng = Nginx("reload", exporter_http(recv_hang.base + "/v1/traces",
                                       """infer_otel_interval 100ms;
    infer_otel_timeout 1s;
    infer_otel_batch_size 8;
    infer_otel_queue 16;""")).start()
    old = ng.wait_workers(2)

    def load():
        cs = [Client(ng.port) for _ in range(6)]
        for _ in range(8):
            for c in cs:
                c.predict(new_trace()[1])
        for c in cs:
            c.close()

    load()
    recv_hang.wait_requests(
        lambda rs: sum(r["mode"] == "hang" for r in rs) >= 1, 3)
    load()                           # more batches behind the hung one
    hung = sum(r["mode"] == "hang" for r in recv_hang.requests())
    m0 = ng.otel()
    ng.signal("reload")
    dt = wait_gone(old, bound)
    new = ng.wait_workers(2, exclude=old)
    check(dt is not None and dt <= bound and len(new) == 2,
          "2e: nginx -s reload: the old workers %s gone %s s after it "
          "(bound: infer_otel_timeout 1s + 1.5 s = %.1f s); new %s"
          % (old, "%.3f" % dt if dt is not None else "> %.1f" % (bound + 5),
             bound, new),
          "still alive: %s" % [p for p in old if alive(p)])
    time.sleep(0.2)
    m1 = ng.otel()
    check(m1["dropped.shutdown"] > 0,
          "2e: spans_dropped_total{shutdown} = %d, read from a new worker "
          "(%d exports hung before the reload)" % (m1["dropped.shutdown"],
                                                   hung),
          "before: %s\nafter: %s" % (fmt_counts(m0), fmt_counts(m1)))

    # the new workers' spans queued, an export hung, then quit
    n0 = sum(r["mode"] == "hang" for r in recv_hang.requests())
    load()
    recv_hang.wait_requests(
        lambda rs: sum(r["mode"] == "hang" for r in rs) > n0, 3)
    load()
    all_pids = [ng.master] + ng.workers()
    ng.signal("quit")
    dt2 = wait_gone(all_pids, bound)
    master = ng.master
    if dt2 is not None:
        ng.master = None
    check(dt2 is not None and dt2 <= bound,
          "2e: nginx -s quit: master %d and workers gone %s s after it "
          "(bound %.1f s)" % (master, "%.3f" % dt2 if dt2 is not None
                              else "> %.1f" % (bound + 5), bound),
          "still alive: %s" % [p for p in all_pids if alive(p)])
    log = ng.log()
    bad = log_lines(log, r"open socket|\[alert\]|\[crit\]|\[emerg\]")
    check(not bad, "2e: no \"open socket\" (nor any alert) in the error log",
          "\n".join(bad[:8]))
    sending = log_lines(log, r"sending \d+ batches of spans before exit")
    deadline = log_lines(log, r"did not take the last spans")
    note("2e: %d \"sending N batches before exit\" and %d \"did not take "
         "the last spans\" lines in the error log" % (len(sending),
                                                     len(deadline)))


# ================================================================ 2f

def check_load_reload(recv):
    phase("2f. 2000 requests, 4 connections, a reload in the middle")
    recv.reset()
    ng = Nginx("load", exporter_http(recv.base + "/v1/traces",
                                     """infer_otel_interval 200ms;
    infer_otel_queue 64;""")).start()
    old = ng.wait_workers(2)
    nthreads, per = 4, 500
    total = nthreads * per
    lock = threading.Lock()
    state = {"done": 0, "answered": [], "lost": [], "errors": [],
             "reloaded": threading.Event()}

    rate = 250.0                  # a thread's requests a second: 2 s in all

    def worker():
        c = Client(ng.port)
        sent = 0
        start = time.monotonic()
        while sent < per:
            pause = start + sent / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            tid, tp = new_trace()
            try:
                st = c.predict(tp)
            except (OSError, http.client.HTTPException) as e:
                # the old worker closed the kept-alive connection: this
                # request was not answered; the next goes on a new one
                with lock:
                    state["lost"].append(tid)
                    state["errors"].append(repr(e))
                continue
            with lock:
                if st == 200:
                    state["answered"].append(tid)
                else:
                    state["errors"].append("status %d" % st)
                state["done"] += 1
                sent += 1
        c.close()

    ts = [threading.Thread(target=worker, daemon=True)
          for _ in range(nthreads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    while state["done"] < total // 2 and any(t.is_alive() for t in ts):
        time.sleep(0.002)
    at = state["done"]
    ng.signal("reload")
    for t in ts:
        t.join(120)
    elapsed = time.monotonic() - t0
    gone = wait_gone(old, 10)
    new = ng.wait_workers(2, exclude=old)
    answered = state["answered"]
    want = len(answered) * SPANS_PER_REQUEST
    note("2f: %d answered in %.1f s, the reload after %d; %d requests lost "
         "to a closing keep-alive connection (sent again with a new trace); "
         "old workers %s gone %.2f s after the load, new %s"
         % (len(answered), elapsed, at, len(state["lost"]), old,
            gone if gone is not None else -1, new))
    spans = recv.spans(min_n=want, wait_ms=20000)
    time.sleep(0.5)                              # a duplicate would be late
    spans = recv.spans()
    m = wait_otel(ng, lambda c: c["exported"] >= len(spans))
    bt = by_trace(spans)
    per_trace = collections.Counter(len(bt.get(t, [])) for t in answered)
    ids = collections.Counter((s["traceId"], s["spanId"]) for s in spans)
    twice = [k for k, v in ids.items() if v > 1]
    unknown = set(bt) - set(answered) - set(state["lost"])
    lost_spans = collections.Counter(len(bt.get(t, []))
                                     for t in state["lost"])
    check(len(answered) == total and not [e for e in state["errors"]
                                          if e.startswith("status")],
          "2f: %d requests answered 200" % total,
          "answered %d; errors: %s" % (len(answered),
                                       collections.Counter(state["errors"])))
    check(per_trace == {SPANS_PER_REQUEST: len(answered)} and not twice
          and not unknown
          and set(lost_spans) <= {0, SPANS_PER_REQUEST},
          "2f: every answered request's %d spans arrive exactly once "
          "(%d spans; no span id twice)" % (SPANS_PER_REQUEST, len(spans)),
          "spans per trace: %s; span ids twice: %d %s; traces nobody sent:"
          " %d; lost requests' spans: %s" % (
              dict(per_trace), len(twice), twice[:3], len(unknown),
              dict(lost_spans)))
    check(dropped(m) == 0 and m["exported"] == len(spans),
          "2f: spans_dropped_total 0 for every reason, spans_exported_total "
          "= %d = the spans received" % m["exported"], fmt_counts(m))
    pids = collections.Counter(s["resource"].get("process.pid")
                               for s in spans)
    check(gone is not None and len(new) == 2
          and set(old) & set(pids) and set(new) & set(pids),
          "2f: the workers changed (old %s, new %s) and both generations "
          "exported: spans by process.pid %s" % (old, new, dict(pids)))
    ng.stop()


# ================================================================ 2g

def make_certs(d):
    os.makedirs(d, exist_ok=True)

    def ossl(*args):
        r = subprocess.run(["openssl"] + list(args), cwd=d,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("openssl %s: %s" % (args[0], r.stderr))

    with open(os.path.join(d, "srv.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key",
         "-out", "ca.crt", "-days", "2", "-subj", "/CN=otel-live test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj",
         "/CN=localhost")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "srv.crt", "-days", "2",
         "-extfile", "srv.ext")
    return d


def check_https(recv):
    phase("2g. HTTPS to a TLS terminator, a self-signed CA")
    recv.reset()
    d = make_certs(os.path.join(WORK, "tls"))
    tls_port = free_port()
    term = Nginx("tls-terminator", """
    server {
        listen  127.0.0.1:@PORT@ ssl;
        ssl_certificate      %s/srv.crt;
        ssl_certificate_key  %s/srv.key;
        location / {
            proxy_pass          http://127.0.0.1:%d;
            proxy_http_version  1.1;
            proxy_set_header    Connection "";
        }
    }
""" % (d, d, recv.port), port=tls_port, workers=1, module=False).start()
    ep = "https://localhost:%d/v1/traces" % tls_port
    common = "infer_otel_interval 100ms;\n    infer_otel_timeout 2s;"
    trusted = Nginx("tls-trusted", exporter_http(
        ep, common + "\n    infer_otel_trusted_certificate %s/ca.crt;" % d)).start()
    system = Nginx("tls-system", exporter_http(ep, common)).start()
    tids, st = send_traced(trusted.port, 5)
    spans = recv.spans(min_n=len(tids) * SPANS_PER_REQUEST, wait_ms=5000)
    bt = by_trace(spans)
    m = wait_otel(trusted, lambda c: c["exports.ok"] >= 1)
    check(st == [200] * 5
          and all(len(bt.get(t, [])) == SPANS_PER_REQUEST for t in tids)
          and m["exports.ok"] >= 1 and m["exports.network_error"] == 0,
          "2g: %s with infer_otel_trusted_certificate: the %d spans arrive "
          "(exports_total{ok} = %d)" % (ep, len(tids) * SPANS_PER_REQUEST,
                                        m["exports.ok"]),
          "spans %d; %s\n%s\n%s" % (
              len(spans), fmt_counts(m), log_excerpt(trusted),
              log_excerpt(term)))
    recv.reset()
    t0 = time.monotonic()
    tids, st = send_traced(system.port, 5)
    took = time.monotonic() - t0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        m = system.otel()
        if m["exports.network_error"] >= 1:
            break
        time.sleep(0.1)
    time.sleep(0.3)
    tids2, st2 = send_traced(system.port, 5)
    reqs = recv.requests()
    m = system.otel()
    lines = log_lines(system.log(), r"infer_otel: export to .* failed")
    check(m["exports.network_error"] >= 1 and not reqs
          and m["exports.ok"] == 0 and m["exported"] == 0,
          "2g: without it (the system's CAs): exports_total{network_error} "
          "= %d, nothing reaches the receiver; logged: %s"
          % (m["exports.network_error"],
             lines[0].split("] ", 1)[-1] if lines else "(nothing)"),
          "%s; requests at the receiver: %d" % (fmt_counts(m), len(reqs)))
    check(st + st2 == [200] * 10,
          "2g: serving unaffected: 10 requests answered 200 (the first 5 "
          "in %.1f ms)" % (took * 1000), "statuses %s" % (st + st2))
    for ng in (trusted, system, term):
        ng.stop()


# ================================================================ 2h

def check_make_run():
    phase("2h. conf/nginx.conf as make run serves it")
    busy = [p for p in (8080, 4318) if port_busy(p)]
    if busy:
        check(False, "2h: conf/nginx.conf on 127.0.0.1:8080 exporting to "
              "127.0.0.1:4318: skipped, port(s) %s busy" % busy)
        return
    recv = Receiver("run-receiver", port=4318)
    prefix = os.path.join(WORK, "run")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    err = open(os.path.join(prefix, "nginx.stderr"), "w")
    # `make run`'s command line, with a prefix of its own
    proc = subprocess.Popen(
        [NGINX_BIN, "-p", prefix + "/", "-c",
         os.path.join(ROOT, "conf", "nginx.conf"), "-g",
         ("load_module %s; " % MODULE_LOADED if MODULE_LOADED else "")
         + "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=err)

    def stop():
        if proc.poll() is None:
            kill_wait([proc.pid] + children(proc.pid), signal.SIGQUIT, 8)
            proc.poll()
        err.close()
    cleanups.append(stop)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            if http_get("http://127.0.0.1:8080/health", 1)[0] == 200:
                break
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)
    tid, tp = new_trace()
    c = Client(8080)
    t0 = time.time()
    st = c.predict(tp)
    c.close()
    spans = recv.spans(trace_id=tid, min_n=SPANS_PER_REQUEST, wait_ms=10000)
    reqs = recv.requests()
    seqs = set(s["request"] for s in spans)
    arrived = [r["time"] / 1000 for r in reqs if r["seq"] in seqs]
    dt = max(arrived) - t0 if arrived else None
    # conf/nginx.conf seals a batch infer_otel_interval (2s) after its
    # first span, then sends it: within the 5 s make run promises
    check(st == 200 and len(spans) == SPANS_PER_REQUEST and dt is not None
          and dt <= 5.0,
          "2h: a request's %d spans reach the receiver on :4318 %s s after "
          "the request (bound: 5 s)" % (len(spans), "%.3f" % dt if dt is not None
                       else "never"),
          "status %s, spans %d, service.name %s" % (
              st, len(spans),
              spans[0]["resource"].get("service.name") if spans else None))
    recv.stop()
    c = Client(8080)
    sts = [c.predict(new_trace()[1]) for _ in range(20)]
    c.close()
    time.sleep(0.2)
    try:
        m = otel_counts(parse_metrics(http_get(
            "http://127.0.0.1:8080/metrics")[1].decode()))
    except (OSError, urllib.error.URLError):
        m = {}
    check(sts == [200] * 20 and proc.poll() is None,
          "2h: the receiver stopped, 20 requests still answer 200",
          "statuses %s; nginx exit status %s" % (sts, proc.poll()))
    t0 = time.monotonic()
    stop()
    note("2h: nginx quit in %.2f s with the receiver gone; %s"
         % (time.monotonic() - t0, fmt_counts(m)))


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


# ================================================================ main

def main():
    if not os.path.exists(NGINX_BIN):
        check(False, "nginx at %s" % NGINX_BIN)
        return
    if MODULE and not os.path.exists(MODULE):
        check(False, "the module at %s (run make first)" % MODULE)
        return
    for tool in ("node", "protoc", "hey", "openssl"):
        if not shutil.which(tool):
            check(False, "%s is installed" % tool)
            return
    if not otlp_install():
        check(False, "the OTLP receiver in build/otlp (npm ci)")
        return
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    note("files in %s" % os.path.relpath(WORK, ROOT))
    if MODULE:
        # a copy of its own: `make` rewrites build/*.so in place, which
        # would crash every nginx that has it loaded while this runs
        global MODULE_LOADED
        MODULE_LOADED = os.path.join(WORK, os.path.basename(MODULE))
        shutil.copy(MODULE, MODULE_LOADED)
        note("loading a copy of %s (%s)" % (
            MODULE, time.strftime("%Y-%m-%d %H:%M:%S",
                                  time.localtime(os.path.getmtime(MODULE)))))

    recv = Receiver("receiver")
    recv_hang = Receiver("receiver-hang")
    note("receivers on 127.0.0.1:%d (normal) and :%d (hang)"
         % (recv.port, recv_hang.port))
    checks = [("wire", lambda: check_wire(recv)),
              ("503", lambda: check_503(recv)),
              ("400", lambda: check_400(recv)),
              ("latency", lambda: check_hang_and_dead(recv, recv_hang)),
              ("reload", lambda: check_reload_quit(recv_hang)),
              ("load", lambda: check_load_reload(recv)),
              ("https", lambda: check_https(recv)),
              ("run", check_make_run)]
    only = os.environ.get("OTEL_LIVE_ONLY", "").split()
    for name, f in checks:
        if not only or name in only:
            f()


def check_crashes():
    """no worker of any nginx started here died of a signal"""
    phase("every nginx: no worker died")
    logs = [(ng.name, ng.errlog) for ng in instances]
    logs.append(("run", os.path.join(WORK, "run", "nginx.stderr")))
    bad = []
    for name, path in logs:
        try:
            text = open(path, errors="replace").read()
        except OSError:
            continue
        for ln in log_lines(text, r"exited on signal|\[emerg\]|\[crit\]"):
            bad.append("%s: %s" % (name, ln))
    check(not bad, "no worker exited on a signal, no [crit] or [emerg], in "
          "the error logs of the %d nginx instances" % len(logs),
          "%d line(s):\n%s" % (len(bad), "\n".join(bad[:12])))


def on_alarm(signum, frame):
    raise Timeout()


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(int(os.environ.get("OTEL_LIVE_TIMEOUT", "240")))
    try:
        main()
    except Timeout:
        check(False, "the run finished within OTEL_LIVE_TIMEOUT")
    except Exception as e:                      # noqa: BLE001
        import traceback
        check(False, "the script ran to its end: %s: %s"
              % (type(e).__name__, e), traceback.format_exc())
    finally:
        signal.alarm(0)
        if instances:
            try:
                check_crashes()
            except Exception as e:              # noqa: BLE001
                check(False, "the error logs read: %s" % e)
        for f in reversed(cleanups):
            try:
                f()
            except Exception as e:              # noqa: BLE001
                note("cleanup: %s" % e)
        note("%.1f s in all" % (time.monotonic() - STARTED))
        print("otel-live: %d passed, %d failed"
              % (counts["passed"], counts["failed"]), flush=True)
    sys.exit(1 if counts["failed"] else 0)
