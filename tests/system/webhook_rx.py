#!/usr/bin/env python3
"""webhook_rx -- a small webhook receiver for the tests, that can be told to fail.

Usage:
  python3 webhook_rx.py --out FILE [--port PORT] [--port-file FILE] [--status CODE]

Listens on 127.0.0.1:PORT (PORT 0 or none: a free port; --port-file gets the port
number, written atomically once it listens). Threaded.

Every request to a path that does not start with /_ is answered and recorded:
  * FILE.attempts gets one JSON line per request, whatever the answer:
      {"at": epoch seconds, "method", "path", "headers": {name: value},
       "body": parsed JSON or null, "raw": the body as text, "answer": status}
  * FILE gets the same line only for requests answered 2xx (what was delivered),
    in the order they arrived.
The normal answer is --status (default 200) with {"status": "success"}.

Control paths (GET or POST; answered 200 with the current settings as JSON; not
recorded):
  /_fail?status=503&count=N[&retry_after=VALUE]
        the next N requests (count=-1: all, until /_ok) get STATUS, with a
        Retry-After: VALUE header when given (seconds or an HTTP-date)
  /_down?seconds=S
        for S seconds (default: until /_ok) every connection is closed at once
        without an answer (the client sees an empty reply: a network error).
        For a refused connection, kill the receiver and start it again on the same
        --port: it sets SO_REUSEADDR.
  /_ok  back to normal answers
  /_count
        {"delivered": N, "attempts": M}

Example:
  python3 webhook_rx.py --out $T/rx.jsonl --port-file $T/rx.port &
  curl -s "http://127.0.0.1:$(cat $T/rx.port)/_fail?status=429&count=2&retry_after=1"
"""
import argparse
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()
settings = {"fail_status": 0, "fail_count": 0, "retry_after": None, "down_until": 0.0}
counts = {"delivered": 0, "attempts": 0}


def record(path, line):
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")
        f.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def control(self, url):
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        with lock:
            if url.path == "/_fail":
                settings["fail_status"] = int(q.get("status", "503"))
                settings["fail_count"] = int(q.get("count", "1"))
                settings["retry_after"] = q.get("retry_after")
            elif url.path == "/_down":
                s = float(q.get("seconds", "1e9"))
                settings["down_until"] = time.time() + s
            elif url.path == "/_ok":
                settings.update(fail_status=0, fail_count=0, retry_after=None, down_until=0.0)
            elif url.path != "/_count":
                return self.reply(404, {"error": "unknown control path"})
            state = dict(settings, **counts)
        self.reply(200, state)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path.startswith("/_"):
            return self.control(url)
        with lock:
            if settings["down_until"] > time.time():
                self.close_connection = True
                self.connection.shutdown(2)
                return
            code, extra = self.server.status, {}
            if settings["fail_count"] != 0:
                code = settings["fail_status"]
                if settings["fail_count"] > 0:
                    settings["fail_count"] -= 1
                if settings["retry_after"] is not None:
                    extra["Retry-After"] = settings["retry_after"]
            text = raw.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            line = {"at": time.time(), "method": self.command, "path": self.path,
                    "headers": dict(self.headers.items()), "body": body, "raw": text, "answer": code}
            counts["attempts"] += 1
            record(self.server.out + ".attempts", line)
            if 200 <= code < 300:
                counts["delivered"] += 1
                record(self.server.out, line)
        self.reply(code, {"status": "success"} if code < 300 else {"status": "error", "code": code}, extra)

    do_POST = handle_any
    do_GET = handle_any
    do_PUT = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, *args):
        pass  # clients that hang up, and our own shutdowns while down


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--status", type=int, default=200)
    a = ap.parse_args()
    s = Server(("127.0.0.1", a.port), Handler)
    s.out, s.status = a.out, a.status
    open(a.out, "a").close()
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(s.server_address[1]))
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        s.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
