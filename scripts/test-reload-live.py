#!/usr/bin/python3
"""Reloads under load: the module against what nginx itself does (issue 14).

nginx (master, 2 workers, daemon, `listen ... reuseport` and the keep-alive
settings of k8s/nginx.conf) serves

  /predict  the module, model m = t/models/linear3.json: {"features":[1,2,3]}
            answers 6
  /plain    `return 200` of a fixed JSON body, the same request posted

from one server block, so both see the same reloads.  Client threads (raw
sockets, no library that retries behind our back) load both locations at
the same time, with the same number of threads each, while this script
sends `nginx -s reload` every 200 ms:

  A  no keep-alive (a connection per request, "Connection: close"):
     every request must answer 200 with the right body, 0 connection
     errors, for /predict and for /plain alike
  B  keep-alive (one connection per thread, reopened when it fails): an
     old worker closes its idle connections, and the connections whose
     response it has just sent, when the reload tells it to quit; the
     client's next request on such a connection gets a reset or an EOF.
     Both counts are reported; /predict's must not exceed /plain's by more
     than a small margin (25% + 10), and no request may answer anything
     but 200 with the right body
  C  keep-alive, and a request that failed before any byte of its answer
     on a reused connection retried once on a new connection (what a
     client should do): 0 errors for both

and after each phase nginx_infer_requests_total{model="m",code="200"}
equals the number of 200 answers the clients counted for /predict since
nginx started (the metrics zone survives every reload; no other code
counted), and at the end the access log (buffer=64k flush=1s, as
k8s/nginx.conf) holds one line per 200 answer of each location, no
worker exited on a signal and nginx logged no [alert], [crit] or [emerg].

Each check prints "ok N - ..." or "not ok N - ..." (diagnostics start with
"#"); the last line is "reload-live: P passed, F failed" and the exit
status is 0 only when F is 0.  About 35 s on a 2-core machine.  Debian's
/usr/bin/python3, standard library only; everything lives in
build/reload-live/ (removed at the start), and nginx loads a copy of the
module (`make` rewrites build/*.so in place).

Environment: NGINX_BIN (default /usr/sbin/nginx), MODULE (the .so; default
build/ngx_http_infer_module.so; empty for a static build),
RELOAD_LIVE_SECONDS (length of each phase, default 10), RELOAD_LIVE_THREADS
(client threads per location, default 4), RELOAD_LIVE_TIMEOUT (seconds for
the whole run, default 120).
"""

import collections
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
WORK = os.path.join(BUILD, "reload-live")
NGINX_BIN = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"
MODULE = os.environ.get("MODULE")
if MODULE is None:
    MODULE = os.path.join(BUILD, "ngx_http_infer_module.so")
elif MODULE and not os.path.isabs(MODULE):
    MODULE = os.path.abspath(MODULE)
MODEL = os.path.join(ROOT, "t", "models", "linear3.json")
SECONDS = float(os.environ.get("RELOAD_LIVE_SECONDS", "10"))
THREADS = int(os.environ.get("RELOAD_LIVE_THREADS", "4"))
RELOAD_EVERY = 0.2
BODY = b'{"features":[1,2,3]}'
PLAIN = b'{"prediction":6,"model_name":"m","model_version":"1"}'
PATHS = ("/predict", "/plain")
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


# ---------------------------------------------------------------- nginx

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Nginx:
    def __init__(self, module):
        self.prefix = os.path.join(WORK, "nginx")
        for d in ("conf", "logs", "tmp"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        self.port = free_port()
        self.mport = free_port()
        while self.mport == self.port:
            self.mport = free_port()
        self.conf = os.path.join(self.prefix, "conf", "nginx.conf")
        self.errlog = os.path.join(self.prefix, "logs", "error.log")
        self.accesslog = os.path.join(self.prefix, "logs", "access.log")
        self.pidfile = os.path.join(self.prefix, "logs", "nginx.pid")
        self.master = None
        with open(self.conf, "w") as f:
            f.write("""%(load)s
master_process    on;
daemon            on;
worker_processes  2;
error_log         %(errlog)s notice;
pid               %(pidfile)s;

events { worker_connections 1024; }

http {
    access_log             off;
    client_body_temp_path  %(prefix)s/tmp;

    # as k8s/nginx.conf
    keepalive_timeout   75s;
    keepalive_requests  10000;

    log_format  reload_live  '$uri $status';

    infer_model  m  %(model)s  version=1;

    server {
        listen  127.0.0.1:%(port)d  reuseport;

        access_log  %(accesslog)s  reload_live  buffer=64k  flush=1s;

        location = /predict { infer m; }
        location = /plain {
            default_type  application/json;
            return        200  '%(plain)s';
        }
    }

    server {
        listen  127.0.0.1:%(mport)d;
        location = /metrics { infer_metrics; }
    }
}
""" % {"load": "load_module %s;" % module if module else "",
       "errlog": self.errlog, "pidfile": self.pidfile,
       "prefix": self.prefix, "model": MODEL, "port": self.port,
       "accesslog": self.accesslog, "plain": PLAIN.decode(),
       "mport": self.mport})

    def nginx(self, *args):
        return subprocess.run([NGINX_BIN, "-p", self.prefix + "/", "-c",
                               self.conf, "-e", self.errlog] + list(args),
                              capture_output=True, text=True)

    def start(self):
        r = self.nginx()
        if r.returncode != 0:
            raise RuntimeError("nginx does not start: exit status %d: %s"
                               % (r.returncode,
                                  (r.stderr.strip() or self.log())[-600:]))
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                self.master = int(open(self.pidfile).read())
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    pass
                if len(self.current_workers()) == 2:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx: no pid, port or workers")

    def workers(self):
        return children(self.master) if self.master else []

    def current_workers(self):
        """workers not shutting down"""
        return [p for p in self.workers()
                if "shutting down" not in cmdline(p)]

    def settle(self, timeout=10):
        """True once only the 2 current workers are left"""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.workers()) == 2 and len(self.current_workers()) == 2:
                return True
            time.sleep(0.05)
        return False

    def metrics(self):
        s = socket.create_connection(("127.0.0.1", self.mport), 5)
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        out = {}
        for line in data.split(b"\r\n\r\n", 1)[1].decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def log(self):
        try:
            return open(self.errlog, errors="replace").read()
        except OSError:
            return ""

    def stop(self):
        if self.master is None:
            return
        pids = [self.master] + self.workers()
        try:
            os.kill(self.master, signal.SIGQUIT)
        except OSError:
            pass
        end = time.monotonic() + 10
        while time.monotonic() < end and any(alive(p) for p in pids):
            time.sleep(0.05)
        for p in pids:
            if alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        self.master = None


# ---------------------------------------------------------------- clients

def request_bytes(path, keepalive):
    return (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n"
            b"%s\r\n" % (path.encode(), len(BODY),
                         b"" if keepalive else b"Connection: close\r\n")
            + BODY)


class Failed(Exception):
    def __init__(self, kind, got):
        Exception.__init__(self, kind)
        self.kind = kind          # reset, closed, truncated, ...
        self.got = got            # bytes of the answer received


def os_kind(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, BrokenPipeError):
        return "broken-pipe"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else str(e)


def exchange(sock, req):
    """send REQ, read one answer: (status, body, server closes)"""
    got = 0
    try:
        sock.sendall(req)
        buf = b""
        while True:
            i = buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            b = sock.recv(65536)
            if not b:
                raise Failed("closed" if not buf else "truncated", len(buf))
            buf += b
            got = len(buf)
        head = buf[:i].decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        hdr = {}
        for h in head[1:]:
            k, _, v = h.partition(":")
            hdr[k.strip().lower()] = v.strip().lower()
        n = int(hdr.get("content-length", "-1"))
        body = buf[i + 4:]
        if n < 0:
            raise Failed("no-content-length", got)
        while len(body) < n:
            b = sock.recv(65536)
            if not b:
                raise Failed("truncated", got)
            body += b
            got += len(b)
        return status, body[:n], hdr.get("connection") == "close"
    except OSError as e:
        raise Failed(os_kind(e), got)


class Client(threading.Thread):
    """one thread: requests to PATH until stop is set"""

    def __init__(self, nginx, path, keepalive, retry, stop):
        threading.Thread.__init__(self, daemon=True)
        self.addr = ("127.0.0.1", nginx.port)
        self.path = path
        self.keepalive = keepalive
        self.retry = retry
        self.stop = stop
        self.req = request_bytes(path, keepalive)
        self.ok = 0                 # 200 with the right body
        self.codes = collections.Counter()      # non-200 answers
        self.wrong = 0              # 200 with another body
        self.errors = collections.Counter()     # by kind
        self.retried = 0
        self.connections = 0
        self.closes = 0             # "Connection: close" from nginx
        self.sample = []            # a few wrong bodies

    def right(self, body):
        if self.path == "/plain":
            return body == PLAIN
        try:
            return json.loads(body)["prediction"] == 6
        except (ValueError, KeyError, TypeError):
            return False

    def connect(self):
        s = socket.create_connection(self.addr, 5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        return s

    def one(self, sock, reused):
        """one request; returns the socket to use next (or None)"""
        try:
            if sock is None:
                sock = self.connect()
                reused = False
            status, body, close = exchange(sock, self.req)
        except (Failed, OSError) as e:
            kind = e.kind if isinstance(e, Failed) else os_kind(e)
            got = e.got if isinstance(e, Failed) else 0
            if sock is not None:
                sock.close()
            if self.retry and reused and got == 0:
                # nothing of an answer came on a connection that had
                # served one: nginx closed it; once more on a new one
                self.retried += 1
                return self.one(None, False)
            self.errors[kind] += 1
            return None
        if status != 200:
            self.codes[status] += 1
        elif self.right(body):
            self.ok += 1
        else:
            self.wrong += 1
            if len(self.sample) < 3:
                self.sample.append(body[:200])
        if not self.keepalive or close:
            if close:
                self.closes += 1
            if not self.keepalive:
                # wait for nginx's FIN, so that TIME_WAIT is nginx's and
                # the client's ports are not used up
                try:
                    while sock.recv(65536):
                        pass
                except OSError:
                    pass
            sock.close()
            return None
        return sock

    def run(self):
        sock = None
        while not self.stop.is_set():
            reused = sock is not None
            sock = self.one(sock, reused)
        if sock is not None:
            sock.close()


class Reloader(threading.Thread):
    """`nginx -s reload` every RELOAD_EVERY seconds until stop is set"""

    def __init__(self, nginx, stop):
        threading.Thread.__init__(self, daemon=True)
        self.nginx = nginx
        self.stop = stop
        self.sent = 0
        self.failed = []

    def run(self):
        t0 = time.monotonic()
        k = 0
        while not self.stop.is_set():
            r = self.nginx.nginx("-s", "reload")
            self.sent += 1
            if r.returncode != 0:
                self.failed.append(r.stderr.strip()[-300:])
            k += 1
            delay = t0 + k * RELOAD_EVERY - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)


NG = []                             # the Nginx, for the checks at the end
totals = collections.Counter()      # 200 answers with the right body, by path


def run_phase(ng, name, keepalive, retry):
    phase("%s: %d threads on /predict and %d on /plain, nginx -s reload "
          "every %d ms for %g s" % (name, THREADS, THREADS,
                                     RELOAD_EVERY * 1000, SECONDS))
    reconf0 = ng.log().count("(SIGHUP) received")
    stop_clients = threading.Event()
    stop_reload = threading.Event()
    clients = []
    for _ in range(THREADS):
        for p in PATHS:
            clients.append(Client(ng, p, keepalive, retry, stop_clients))
    t0 = time.monotonic()
    for c in clients:
        c.start()
    time.sleep(0.3)
    rl = Reloader(ng, stop_reload)
    rl.start()
    time.sleep(SECONDS)
    stop_reload.set()
    rl.join()
    time.sleep(0.3)
    stop_clients.set()
    for c in clients:
        c.join(10)
    elapsed = time.monotonic() - t0
    settled = ng.settle()
    reconf = ng.log().count("(SIGHUP) received") - reconf0

    res = {}
    for p in PATHS:
        cs = [c for c in clients if c.path == p]
        r = {"ok": sum(c.ok for c in cs),
             "codes": sum((c.codes for c in cs), collections.Counter()),
             "wrong": sum(c.wrong for c in cs),
             "errors": sum((c.errors for c in cs), collections.Counter()),
             "retried": sum(c.retried for c in cs),
             "connections": sum(c.connections for c in cs),
             "closes": sum(c.closes for c in cs),
             "sample": [b for c in cs for b in c.sample][:3]}
        r["nerr"] = sum(r["errors"].values())
        r["n200"] = r["ok"] + r["wrong"]
        totals[p] += r["n200"]
        res[p] = r
        note("%s %s: %d answered 200 (%.0f/s), %d non-200 %s, %d wrong "
             "bodies, %d connection errors %s, %d retried; %d connections "
             "opened, %d answers with Connection: close"
             % (name, p, r["n200"], r["n200"] / elapsed,
                sum(r["codes"].values()), dict(r["codes"]) or "",
                r["wrong"], r["nerr"], dict(r["errors"]) or "",
                r["retried"], r["connections"], r["closes"]))
        for b in r["sample"]:
            note("  a wrong body: %r" % b)
    note("%s: %d reloads sent (%d failed), the master reconfigured %d "
         "times, in %.1f s" % (name, rl.sent, len(rl.failed), reconf,
                               elapsed))
    if keepalive:
        note("%s: at most one request per connection per reload would be "
             "%d x %d = %d for each location" % (name, THREADS, reconf,
                                                   THREADS * reconf))
    check(not rl.failed and rl.sent >= SECONDS / RELOAD_EVERY * 0.8
          and reconf >= rl.sent * 0.8,
          "%s: %d reloads (nginx -s reload exit 0 each, the master "
          "reconfigured %d times)" % (name, rl.sent, reconf),
          "\n".join(rl.failed[:3]))
    check(settled, "%s: the old workers are gone, 2 workers serve "
          "afterwards" % name,
          "workers: %s" % [cmdline(p) for p in ng.workers()])
    return res


def check_counter(ng, name):
    m = ng.metrics()
    got = m.get('nginx_infer_requests_total{model="m",code="200"}')
    other = {k: v for k, v in m.items()
             if k.startswith("nginx_infer_requests_total{")
             and 'code="200"' not in k and v}
    check(got == totals["/predict"] and not other,
          "%s: nginx_infer_requests_total{model=\"m\",code=\"200\"} = %s = "
          "the 200 answers the clients counted on /predict since nginx "
          "started, across every reload; no other code"
          % (name, "%d" % got if got is not None else "(absent)"),
          "want %d; other codes: %s" % (totals["/predict"], other))


# ---------------------------------------------------------------- main

def main():
    if not os.path.exists(NGINX_BIN):
        check(False, "nginx at %s" % NGINX_BIN)
        return None
    if MODULE and not os.path.exists(MODULE):
        check(False, "the module at %s (run make first)" % MODULE)
        return None
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    module = ""
    if MODULE:
        module = os.path.join(WORK, os.path.basename(MODULE))
        shutil.copy(MODULE, module)
        note("loading a copy of %s (%s)" % (
            MODULE, time.strftime("%Y-%m-%d %H:%M:%S",
                                  time.localtime(os.path.getmtime(MODULE)))))
    ng = Nginx(module)
    NG.append(ng)
    ng.start()
    note("nginx %s on 127.0.0.1:%d (metrics :%d), files in %s" % (
        ng.nginx("-v").stderr.strip().split("/")[-1], ng.port, ng.mport,
        os.path.relpath(WORK, ROOT)))

    # before any reload: both locations answer
    stop = threading.Event()
    for p in PATHS:
        c = Client(ng, p, True, False, stop)
        sock = None
        for _ in range(10):
            sock = c.one(sock, sock is not None)
        if sock is not None:
            sock.close()
        totals[p] += c.ok + c.wrong
        check(c.ok == 10, "%s answers 200 with the right body (%s) before "
              "any reload" % (p, "prediction 6" if p == "/predict"
                              else "return 200's"),
              "ok %d, codes %s, wrong %d %s, errors %s"
              % (c.ok, dict(c.codes), c.wrong, c.sample, dict(c.errors)))
    check_counter(ng, "before the reloads")

    a = run_phase(ng, "A no keep-alive", False, False)
    for p in PATHS:
        r = a[p]
        check(r["n200"] > 0 and r["nerr"] == 0 and not r["codes"]
              and r["wrong"] == 0,
              "A no keep-alive, %s: %d answers, all 200 with the right body,"
              " 0 connection errors" % (p, r["n200"]),
              "non-200 %s, wrong %d, errors %s" % (
                  dict(r["codes"]), r["wrong"], dict(r["errors"])))
    check_counter(ng, "A")

    b = run_phase(ng, "B keep-alive", True, False)
    for p in PATHS:
        r = b[p]
        check(r["n200"] > 0 and not r["codes"] and r["wrong"] == 0,
              "B keep-alive, %s: every answer 200 with the right body "
              "(%d)" % (p, r["n200"]),
              "non-200 %s, wrong %d" % (dict(r["codes"]), r["wrong"]))
    ep, eq = b["/predict"]["nerr"], b["/plain"]["nerr"]
    margin = int(eq * 0.25) + 10
    check(ep <= eq + margin,
          "B keep-alive: /predict's connection errors (%d, %.2f per 1000 "
          "requests) not worse than /plain's (%d, %.2f per 1000) by more "
          "than %d" % (ep, 1000.0 * ep / max(1, ep + b["/predict"]["n200"]),
                       eq, 1000.0 * eq / max(1, eq + b["/plain"]["n200"]),
                       margin))
    check_counter(ng, "B")

    c = run_phase(ng, "C keep-alive, one retry", True, True)
    for p in PATHS:
        r = c[p]
        check(r["n200"] > 0 and r["nerr"] == 0 and not r["codes"]
              and r["wrong"] == 0,
              "C keep-alive with one retry of a request nginx closed the "
              "connection on, %s: %d answers, all 200, 0 errors (%d retried)"
              % (p, r["n200"], r["retried"]),
              "non-200 %s, wrong %d, errors %s" % (
                  dict(r["codes"]), r["wrong"], dict(r["errors"])))
    check_counter(ng, "C")

    # the access log, flushed as nginx quits
    ng.stop()
    lines = collections.Counter()
    with open(ng.accesslog) as f:
        for line in f:
            lines[line.strip()] += 1
    want = {"%s 200" % p: totals[p] for p in PATHS}
    check(dict(lines) == want,
          "the access log (buffered, across %d generations of workers): "
          "one line per 200 answer, %d for /predict and %d for /plain, "
          "nothing else" % (ng.log().count("(SIGHUP) received") + 1,
                            totals["/predict"], totals["/plain"]),
          "log %s, want %s" % (dict(lines), want))
    return ng


def check_log(ng):
    bad = [ln for ln in ng.log().splitlines()
           if re.search(r"exited on signal|\[alert\]|\[crit\]|\[emerg\]",
                        ln)]
    check(not bad, "no worker exited on a signal, no [alert], [crit] or "
          "[emerg] in the error log", "%d line(s):\n%s"
          % (len(bad), "\n".join(bad[:12])))


def on_alarm(signum, frame):
    raise Timeout()


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(int(os.environ.get("RELOAD_LIVE_TIMEOUT", "120")))
    try:
        main()
    except Timeout:
        check(False, "the run finished within RELOAD_LIVE_TIMEOUT")
    except Exception as e:                      # noqa: BLE001
        import traceback
        check(False, "the script ran to its end: %s: %s"
              % (type(e).__name__, e), traceback.format_exc())
    finally:
        signal.alarm(0)
        if NG:
            check_log(NG[0])
        # an nginx still running (after a failure) is stopped
        try:
            pid = int(open(os.path.join(WORK, "nginx", "logs",
                                        "nginx.pid")).read())
            if alive(pid):
                os.kill(pid, signal.SIGQUIT)
                end = time.monotonic() + 10
                while alive(pid) and time.monotonic() < end:
                    time.sleep(0.05)
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        note("%.1f s in all" % (time.monotonic() - STARTED))
        print("reload-live: %d passed, %d failed"
              % (counts["passed"], counts["failed"]), flush=True)
    raise SystemExit(0 if counts["failed"] == 0 else 1)
