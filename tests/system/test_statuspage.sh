# The agent's HTTP side on canned data (tests/system/http_serve: the server of src/http
# reading the status document and the incidents from two files): the status page in a
# real headless Chromium (DOM asserted, a screenshot kept), and the server's errors.

HTTP_SERVE=$(dirname "$LL")/http_serve
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

# Writes status.json and incidents.json in $T: three components (backend failed with
# open incident 12 and two human updates, db healthy with a resolved incident three days
# ago, a degraded one whose name is markup), times relative to now.
statuspage_data() {
  python3 - "$T" <<'PY'
import json, sys, time
t = sys.argv[1]
now = int(time.time() * 1000)
m = 60000
inc12 = {"id": 12, "target": "backend", "title": "backend failed: HTTP 500", "status": "monitoring",
         "opened_ms": now - 20 * m, "detected_ms": now - 20 * m, "closed_ms": None, "false_positive": False,
         "timeline": [
           {"at_ms": now - 20 * m, "kind": "opened", "message": "backend failed: HTTP 500", "status": None},
           {"at_ms": now - 19 * m, "kind": "action", "message": "recover-command exited 1", "status": None},
           {"at_ms": now - 15 * m, "kind": "update", "message": "A bad deploy: rolling back", "status": "identified"},
           {"at_ms": now - 5 * m, "kind": "update", "message": "Rolled back; watching <closely>", "status": "monitoring"}]}
# noon (UTC) three days ago: 25 minutes that stay within one day whatever the time now
day7 = now // 86400000 * 86400000 - 3 * 86400000 + 12 * 60 * m
inc7 = {"id": 7, "target": "db", "title": "db unreachable", "status": "resolved",
        "opened_ms": day7, "detected_ms": day7,
        "closed_ms": day7 + 25 * m, "false_positive": False, "timeline": []}
svc = lambda name, state, **kw: dict({"name": name, "state": state, "health": state, "since_ms": now - 20 * m,
                                      "detail": "", "latency_ms": 5, "probe": "http", "held": None,
                                      "incident": None, "recoveries_in_window": 0, "depends_on": []}, **kw)
status = {"node": "zone-a-1", "version": "0.1.0", "started_ms": now - 86400000, "now_ms": now, "hold_all": None,
          "services": [svc("backend", "failed", detail="HTTP 500", incident=12, depends_on=["db"]),
                       svc("db", "healthy"), svc("cache <eu>", "degraded", detail="slow: 900 ms")],
          "incidents": [inc12],
          "metrics": {"incidents_open": 1, "incidents_total": 2, "mttr_seconds": 1500, "recovery_attempts": 1,
                      "recoveries_verified": 0, "recovery_success_rate": 0, "false_positive_rate": 0,
                      "notifications_pending": 0, "notifications_failed": 0, "notifications_delivered": 3},
          "objectives": {"services_rto_seconds": 600, "mttr_seconds": 900}}
json.dump(status, open(t + "/status.json", "w"))
json.dump([inc12, inc7], open(t + "/incidents.json", "w"))
PY
}

# Starts http_serve on the two files ($1: LISTEN, default a free loopback port); sets
# SERVE_PID and PORT.
serve_start() {
  "$HTTP_SERVE" "$T/status.json" "$T/incidents.json" ${1:+"$1"} >"$T/serve.out" 2>"$T/serve.err" &
  SERVE_PID=$!
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^port //p' "$T/serve.out")
    [[ -n $PORT ]] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || fail "http_serve ended: $(cat "$T/serve.err")"
    sleep 0.1
  done
  fail "http_serve did not say its port"
}
serve_stop() { kill -TERM "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; }

# URL: status code and body (in $T/body)
http_get() {
  python3 - "$1" "$T/body" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=10); code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
open(sys.argv[2], "wb").write(body); print(code)
PY
}

# ARGS...: headless Chromium with its own home and profile, bounded in time (it is slow
# to start on a cold machine; as root it needs --no-sandbox)
chromium_run() {
  HOME=$T/home timeout -k 5 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --disable-extensions --user-data-dir="$T/chromium-profile" "$@"
}

t_statuspage_in_chromium() {
  [[ -x $HTTP_SERVE ]] || fail "no $HTTP_SERVE (build with -Dtests=true)"
  [[ -n $CHROMIUM ]] || fail "chromium is not installed (scripts/install-deps installs it)"
  mkdir -p "$T/home"
  statuspage_data
  serve_start
  trap serve_stop RETURN
  [[ $(http_get "http://127.0.0.1:$PORT/health") == 200 ]] || fail "/health did not answer 200"
  chromium_run --dump-dom "http://127.0.0.1:$PORT/" >"$T/dom.html" 2>"$T/chromium.err" \
    || { tail -20 "$T/chromium.err"; fail "chromium --dump-dom failed"; }
  [[ -s $T/dom.html ]] || { tail -20 "$T/chromium.err"; fail "chromium gave no DOM"; }
  # the DOM as Chromium built it: parsed here, asserted element by element
  python3 - "$T/dom.html" <<'PY'
import sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.els = []
    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": list(self.stack)}
        self.els.append(el)
        if tag not in ("meta", "link", "br", "img", "input"):
            self.stack.append(el)
    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag: break
    def handle_data(self, data):
        for el in self.stack: el["text"] += data

d = Dom(); d.feed(open(sys.argv[1], encoding="utf-8").read())
def fail(msg): print("FAIL:", msg); sys.exit(1)
def find(**kw):
    return [e for e in d.els if all(e["attrs"].get(k.replace("_", "-")) == v for k, v in kw.items())]

overall = [e for e in d.els if e["attrs"].get("id") == "overall"]
if not overall or overall[0]["attrs"].get("data-status") != "major-outage":
    fail("overall status is not major-outage: %r" % overall[:1])
if "Major outage" not in overall[0]["text"]: fail("the header does not say Major outage")
comps = {e["attrs"]["data-component"]: e for e in d.els
         if "component" in e["attrs"].get("class", "").split() and "data-component" in e["attrs"]}
want = {"backend": "major-outage", "db": "operational", "cache <eu>": "degraded"}
if {k: v["attrs"]["data-status"] for k, v in comps.items()} != want:
    fail("components: %r" % {k: v["attrs"]["data-status"] for k, v in comps.items()})
if any(e["tag"] == "eu" for e in d.els): fail("a component name became markup")
if "cache <eu>" not in comps["cache <eu>"]["text"] or "Degraded performance" not in comps["cache <eu>"]["text"]:
    fail("the degraded component does not show its name and status as text")
for name, el in comps.items():
    days = [e for e in d.els if el in e["parents"] and "day" in e["attrs"].get("class", "").split()]
    if len(days) != 90: fail("%s: %d days of history, want 90" % (name, len(days)))
    bad = [e["attrs"]["data-date"] for e in days if e["attrs"]["data-status"] != "operational"]
    if name == "db" and len(bad) != 1: fail("db: the day of its past incident is not marked: %r" % bad)
    if name == "backend" and days[-1]["attrs"]["data-status"] != "major-outage": fail("backend: today is not red")
inc = [e for e in d.els if e["attrs"].get("id") == "incident-12"]
if len(inc) != 1: fail("no single open incident-12")
inc = inc[0]
if inc["attrs"].get("data-status") != "monitoring" or "open" not in inc["attrs"]["class"].split():
    fail("incident-12: %r" % inc["attrs"])
ups = [e for e in d.els if inc in e["parents"] and "update" in e["attrs"].get("class", "").split()]
got = [(u["attrs"]["data-kind"], u["attrs"]["data-status"]) for u in ups]
if got != [("update", "monitoring"), ("update", "identified"), ("opened", "investigating")]:
    fail("incident-12 updates (newest first): %r" % got)
if "Rolled back; watching <closely>" not in ups[0]["text"]: fail("the newest update's text: %r" % ups[0]["text"])
if "recover-command" in inc["text"]: fail("an internal action is shown as an update")
past = [e for e in d.els if e["attrs"].get("id") == "incident-7"]
if len(past) != 1 or "past" not in past[0]["attrs"]["class"].split(): fail("past incident-7 missing")
if any(e["tag"] in ("script", "link", "img", "iframe") for e in d.els): fail("the page loads or runs something")
print("dom ok: %d components, incident-12 with %d updates" % (len(comps), len(ups)))
PY
  # the screenshot: kept next to the build as a test artifact
  chromium_run --screenshot="$T/statuspage.png" --window-size=1280,1600 --hide-scrollbars \
    "http://127.0.0.1:$PORT/" >/dev/null 2>>"$T/chromium.err" || { tail -20 "$T/chromium.err"; fail "chromium --screenshot failed"; }
  [[ $(head -c 8 "$T/statuspage.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "the screenshot is not a PNG"
  [[ $(stat -c %s "$T/statuspage.png") -gt 20000 ]] || fail "the screenshot is suspiciously small"
  art=$(dirname "$LL")/test-artifacts
  mkdir -p "$art"
  cp "$T/statuspage.png" "$art/statuspage.png"
  echo "screenshot: $(realpath "$art/statuspage.png")"
}

t_statuspage_server_errors() {
  [[ -x $HTTP_SERVE ]] || fail "no $HTTP_SERVE (build with -Dtests=true)"
  statuspage_data
  serve_start
  trap serve_stop RETURN
  # a second server on the same address: refused with the address named, exit code 15
  set +e; "$HTTP_SERVE" "$T/status.json" "$T/incidents.json" "127.0.0.1:$PORT" >/dev/null 2>"$T/err2"; rc=$?; set -e
  [[ $rc -eq 15 ]] || fail "a busy address gave exit $rc, wanted 15"
  grep -q "listen 127.0.0.1:$PORT: address in use" "$T/err2" || fail "busy address: $(cat "$T/err2")"
  set +e; "$HTTP_SERVE" "$T/status.json" "$T/incidents.json" "localhost:80" >/dev/null 2>"$T/err3"; rc=$?; set -e
  [[ $rc -eq 2 ]] && grep -q "not an IP address" "$T/err3" || fail "a host name gave exit $rc: $(cat "$T/err3")"
  # data the agent cannot give (the file gone): 503, not a crash; back when it returns
  mv "$T/status.json" "$T/status.away"
  [[ $(http_get "http://127.0.0.1:$PORT/") == 503 ]] || fail "no status: the page did not answer 503"
  [[ $(http_get "http://127.0.0.1:$PORT/api/status") == 503 ]] || fail "no status: /api/status did not answer 503"
  mv "$T/status.away" "$T/status.json"
  [[ $(http_get "http://127.0.0.1:$PORT/metrics") == 200 ]] || fail "/metrics after the status returned"
  grep -q '^lifeline_service_up{service="cache <eu>"} 1$' "$T/body" || fail "/metrics: $(head -c 600 "$T/body")"
  [[ $(http_get "http://127.0.0.1:$PORT/api/incidents/7") == 200 ]] || fail "/api/incidents/7"
  grep -q '"db unreachable"' "$T/body" || fail "/api/incidents/7: $(cat "$T/body")"
  kill -0 "$SERVE_PID" || fail "http_serve died"
}
