#!/usr/bin/python3
"""The shipped JSON log line written in one pass, against the same line
spelled out field by field (conf/infer_log_format.conf).

nginx (one worker, Debian's or NGINX_BIN, the module loaded) logs every
request twice, in the order of its access_log directives: with
infer_json ($infer_log_json, escape=none) into fast.log and with
infer_json_fields (the sixteen variables, escape=json) into fields.log.
The requests cover what a line can hold: predictions (simple, batch, V2,
softmax), each refusal the module answers (bad JSON, wrong shape, 415,
405, 413), nginx's own errors before any handler (400, 414, 494 through
infer_error, 404 elsewhere), a location the module does not serve, URIs
with quotes, backslashes, control characters and UTF-8 (decoded into
$uri), HTTP/1.0 and HEAD,
a client traceparent, and keep-alive reuse.  The two files must be equal
line for line, each line must parse as JSON, and there must be one line
per request.

Prints "ok N - ..." / "not ok N - ..."; the last line is "log-live: P
passed, F failed".  A few seconds.  Standard library only; everything in
build/log-live/.  Environment: NGINX_BIN, MODULE (empty for a static
build), LOG_LIVE_PORT (default 18390).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "build", "log-live")
NGINX_BIN = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"
MODULE = os.environ.get("MODULE")
if MODULE is None:
    MODULE = os.path.join(ROOT, "build", "ngx_http_infer_module.so")
PORT = int(os.environ.get("LOG_LIVE_PORT", "18390"))
MODELS = os.path.join(ROOT, "t", "models")

passed = failed = 0


def check(ok, name):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", passed + failed, name))
    sys.stdout.flush()


def conf():
    module = "load_module %s;" % MODULE if MODULE else ""
    return """%(module)s
worker_processes 1;
error_log %(work)s/error.log notice;
pid %(work)s/nginx.pid;
events { worker_connections 64; }
http {
    include %(root)s/conf/infer_log_format.conf;
    access_log %(work)s/fast.log infer_json;
    access_log %(work)s/fields.log infer_json_fields;
    client_body_temp_path %(work)s/body;
    client_max_body_size 4k;
    large_client_header_buffers 2 512;
    infer_model m %(models)s/linear3.json version=2;
    infer_model d %(models)s/digits_softmax.json;
    server {
        listen 127.0.0.1:%(port)d;
        error_page 400 404 405 413 414 501 505 /infer-error;
        error_page 494 =494 /infer-error;
        location = /infer-error { internal; infer_error; }
        location /predict { infer m; }
        location = /digits { infer d; }
        location /v2/ { infer_v2; }
        location = /plain { return 200 "plain\\n"; }
    }
}
""" % {"module": module, "work": WORK, "root": ROOT, "models": MODELS,
       "port": PORT}


def exchange(raw, timeout=2.0, pause=0.0):
    """One connection: send raw bytes (the head, then after pause seconds
    the body), read until the server closes."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        head, sep, body = raw.partition(b"\r\n\r\n")
        if pause:
            s.sendall(head + sep)
            time.sleep(pause)
            s.sendall(body)
        else:
            s.sendall(raw)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def post(path, body, ctype="application/json", extra=b"", version=b"1.1"):
    return (b"POST " + path + b" HTTP/" + version + b"\r\nHost: t\r\n"
            + b"Content-Type: " + ctype.encode() + b"\r\n"
            + b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            + extra + b"Connection: close\r\n\r\n" + body)


def get(path, extra=b"", method=b"GET", version=b"1.1"):
    return (method + b" " + path + b" HTTP/" + version + b"\r\nHost: t\r\n"
            + extra + b"Connection: close\r\n\r\n")


FEATURES = b'{"features":[1,2,3.5]}'
TP = (b"traceparent: "
      b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n")

REQUESTS = [
    ("a prediction", post(b"/predict", FEATURES)),
    ("a batch, with the client's traceparent",
     post(b"/predict", b'{"instances":[[1,2,3.5],[0.5,1.5,2]]}', extra=TP)),
    ("softmax classes", post(b"/digits", b'{"features":[' + b",".join(
        str(i % 16).encode() for i in range(64)) + b"]}")),
    ("V2", post(b"/v2/models/m/infer",
                b'{"inputs":[{"name":"input-0","shape":[1,3],'
                b'"datatype":"FP32","data":[1,2,3]}]}')),
    ("V2 metadata", get(b"/v2/models/m")),
    ("bad JSON", post(b"/predict", b'{"features":[1,2')),
    ("a wrong shape", post(b"/predict", b'{"features":[1,2]}')),
    ("415", post(b"/predict", FEATURES, ctype="text/plain")),
    ("405", get(b"/predict")),
    ("413", post(b"/predict", b'{"features":[' + b"1," * 3000 + b"1]}")),
    ("HEAD", get(b"/predict", method=b"HEAD")),
    ("HTTP/1.0", post(b"/predict", FEATURES, version=b"1.0")),
    ("a quote, a backslash and UTF-8 in the URI",
     post(b'/predict/%22q%5Cb%C3%A9', FEATURES)),
    ("control characters in the URI", post(b"/predict/%01%1f%7f", FEATURES)),
    ("a query string", post(b"/predict?a=%22b", FEATURES)),
    ("404 in a location the module does not serve", get(b"/nowhere%22")),
    ("return 200", get(b"/plain")),
    ("400: no Host", b"GET /predict HTTP/1.1\r\n\r\n"),
    ("400: a bad request line", b"GET /pre dict\x01 HTTP/1.1\r\nHost: t\r\n\r\n"),
    ("414: a long URI", get(b"/predict/" + b"x" * 1200)),
    ("494: a long header", get(b"/predict", extra=b"X-Long: " + b"y" * 1200
                               + b"\r\n")),
    ("a V2 error", post(b"/v2/models/nope/infer", b"{}")),
    ("slow: the body 1.25 s after the head (request_time over 1 s)",
     post(b"/predict", FEATURES)),
]


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "body"))
    with open(os.path.join(WORK, "nginx.conf"), "w") as f:
        f.write(conf())

    r = subprocess.run([NGINX_BIN, "-p", WORK, "-c",
                        os.path.join(WORK, "nginx.conf")],
                       capture_output=True, text=True)
    check(r.returncode == 0, "nginx starts: " + r.stderr.strip()[-200:])
    if r.returncode != 0:
        return

    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", PORT), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)

        answered = 0
        for name, raw in REQUESTS:
            out = exchange(raw, pause=1.25 if name.startswith("slow") else 0)
            answered += out.startswith(b"HTTP/1.")
            check(out.startswith(b"HTTP/1."), "answered: %s (%s)"
                  % (name, out.split(b"\r\n", 1)[0].decode("latin-1")))

        # keep-alive: three requests on one connection
        s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
        ka = post(b"/predict", FEATURES).replace(b"Connection: close\r\n", b"")
        s.sendall(ka * 2 + post(b"/predict", FEATURES))
        out = b""
        while out.count(b"HTTP/1.1 200") < 3:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        check(out.count(b"HTTP/1.1 200") == 3, "keep-alive: 3 answers")
        expected = len(REQUESTS) + 3
    finally:
        subprocess.run([NGINX_BIN, "-p", WORK, "-c",
                        os.path.join(WORK, "nginx.conf"), "-s", "quit"])
        for _ in range(50):
            if not os.path.exists(os.path.join(WORK, "nginx.pid")):
                break
            time.sleep(0.1)

    with open(os.path.join(WORK, "fast.log"), "rb") as f:
        fast = f.read().splitlines()
    with open(os.path.join(WORK, "fields.log"), "rb") as f:
        fields = f.read().splitlines()

    check(len(fast) == expected and len(fields) == expected,
          "one line a request in each log: %d and %d of %d"
          % (len(fast), len(fields), expected))

    differ = [(a, b) for a, b in zip(fast, fields) if a != b]
    for a, b in differ[:3]:
        print("#  one pass: %s\n#  fields:   %s" % (a.decode("latin-1"),
                                                    b.decode("latin-1")))
    check(not differ and len(fast) == len(fields),
          "the one-pass line equals the spelled-out one, byte for byte "
          "(%d of %d lines differ)" % (len(differ), len(fields)))

    with open(os.path.join(WORK, "error.log"), "rb") as f:
        alerts = [l for l in f.read().splitlines()
                  if b"[alert]" in l or b"[crit]" in l or b"[emerg]" in l]
    for l in alerts[:3]:
        print("#  " + l.decode("latin-1"))
    check(not alerts, "no [alert], [crit] or [emerg] in the error log")

    bad = 0
    for line in fast:
        try:
            json.loads(line)
        except ValueError:
            bad += 1
            print("#  not JSON: %s" % line.decode("latin-1"))
    check(bad == 0, "every line parses as JSON (%d do not)" % bad)

    check(any(re.search(rb'"request_time":1\.[0-9]{3},', l) for l in fast),
          "a request_time over a second is in the line")
    check(any(b'"uri":"/predict/\\"q\\\\b\xc3\xa9"' in l for l in fast)
          and any(b'"uri":"/predict/\\u0001\\u001F\x7f"' in l for l in fast),
          "the escaped fields read as nginx escapes them")


if __name__ == "__main__":
    main()
    print("log-live: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
