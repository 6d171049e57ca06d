#!/usr/bin/env python3
"""A tiny HTTP service for the staged start/stop tests (test_stage.sh).

Usage: stage_svc.py PORT PIDFILE [--delay SECONDS] [--status CODE]
Leaves its caller's process group at once (a start-command's group is killed when the
command returns), writes PIDFILE, waits --delay seconds (a service that takes time to
come up: the health gate must wait for it), then answers every GET with --status.
"""
import argparse
import http.server
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("pidfile")
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--status", type=int, default=200)
a = ap.parse_args()

try:
    os.setsid()
except OSError:
    pass  # already a group leader
with open(a.pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(a.pidfile + ".tmp", a.pidfile)
time.sleep(a.delay)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n" if a.status < 400 else b"sick\n"
        self.send_response(a.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", a.port), Handler).serve_forever()
