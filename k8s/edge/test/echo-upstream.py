#!/usr/bin/python3
"""The application behind the edge, in the edge's tests: answers every
request with JSON saying who answered and what arrived (method, path,
headers lowercased, body length), so that a test can assert what nginx
passed on.

    echo-upstream.py ADDRESS PORT NAME

Started by scripts/check-k8s.sh and scripts/test-image.sh; python3's
standard library only.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    # keep-alive, as an application server would
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        out = json.dumps({
            "server": self.server.name,
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_len": len(body),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def main():
    addr, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    srv = ThreadingHTTPServer((addr, port), Echo)
    srv.name = name
    srv.serve_forever()


if __name__ == "__main__":
    main()
