#!/usr/bin/env python3
"""A small HTTP service for the watch tests: GET /health answers 200 "ok" (or what
PIDFILE.health says: "CODE BODY", or "sleep SECONDS" to answer that late; or, for one
request only, what PIDFILE.health.once says: that request takes the file away), anything
else 404.
Usage: svc.py PORT PIDFILE [LOGFILE]   (writes its pid, appends "started PORT" to LOGFILE)
Start it detached from a start-command:  setsid -f python3 svc.py PORT PIDFILE"""
import http.server, os, sys, time

port, pidfile = int(sys.argv[1]), sys.argv[2]
log = sys.argv[3] if len(sys.argv) > 3 else None
health = pidfile + ".health"

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/health":
            self.send_response(404); self.end_headers(); return
        code, body = 200, b"ok"
        try:
            spec = health
            try:  # one request only: the first to rename it has it
                os.rename(health + ".once", health + ".claimed")
                spec = health + ".claimed"
            except OSError:
                pass
            with open(spec) as f:
                c, _, b = f.read().strip().partition(" ")
            if spec != health:
                os.unlink(spec)
            if c == "sleep":      # "sleep SECONDS": answer 200, that late
                time.sleep(float(b))
            else:                 # "CODE BODY"
                code, body = int(c), b.encode()
        except (OSError, ValueError):
            pass
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
if log:
    with open(log, "a") as f:
        f.write("started %d\n" % port)
srv.serve_forever()
