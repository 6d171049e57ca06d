# The watch agent against real processes: a small HTTP service (svc.py) it probes,
# kills being detected and recovered, escalation past max-recoveries, holds, flap
# damping, kill -9 of the agent, a second agent, bad configuration.

SVC="python3 $HERE/svc.py"

# watch_conf PORT [EXTRA SERVICE LINES...]: $CONF with one service "web" on PORT.
watch_conf() {
  local port=$1; shift
  CONF=$T/lifeline.conf
  cat >"$CONF" <<CONF
[watch]
node = test-node
state-dir = $T/wstate
loop = 1s

[service "web"]
probe = http://127.0.0.1:$port/health
interval = 1s
timeout = 1s
fall = 2
rise = 2
start-command = setsid -f $SVC $port $T/web.pid $T/starts.log >/dev/null 2>&1
stop-command = kill \$(cat $T/web.pid) 2>/dev/null; true
verify-timeout = 6s
backoff = 1s
backoff-max = 2s
CONF
  for line in "$@"; do echo "$line" >>"$CONF"; done
}
svc_start() { setsid -f $SVC "$1" "$T/web.pid" "$T/starts.log" >/dev/null 2>&1; wait_for 10 "[[ -s $T/web.pid ]] && curl -sf http://127.0.0.1:$1/health"; }
svc_kill() { kill -9 "$(cat "$T/web.pid")"; }
# wait_for SECONDS CONDITION
wait_for() {
  local until=$((SECONDS + $1))
  while ! eval "$2" >/dev/null 2>&1; do
    [[ $SECONDS -lt $until ]] || { echo "--- agent log:"; tail -30 "$T/agent.log" 2>/dev/null; fail "not within $1s: $2"; return 1; }
    sleep 0.2
  done
}
agent_start() {
  "$LL" -c "$CONF" watch >>"$T/agent.log" 2>&1 &
  AGENT=$!
  wait_for 10 "[[ -S $T/wstate/control.sock ]]"
}
agent_stop() { kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null; true; }
status_json() { run_cmd "$LL" -c "$CONF" --json status; }
svc_state() { status_json; json "j['services'][0]['state']"; }
cleanup_watch() { agent_stop; if [[ -s $T/web.pid ]]; then kill "$(cat "$T/web.pid")" 2>/dev/null || true; fi; }

webhook_start() { # a receiver (webhook_rx.py) whose deliveries land in $T/hooks
  python3 "$HERE/webhook_rx.py" --out "$T/hooks" --port-file "$T/hook.port" >/dev/null 2>&1 &
  HOOK=$!
  wait_for 10 "[[ -s $T/hook.port ]]"
  printf '[notify "oncall"]\ntype = webhook\nurl = http://127.0.0.1:%s/hook\nformat = json\n' "$(cat "$T/hook.port")" >>"$CONF"
}

t_watch_detects_and_recovers_a_killed_service() {
  trap 'cleanup_watch; kill $HOOK 2>/dev/null; true' RETURN
  port=$(free_port)
  watch_conf "$port"
  webhook_start
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  svc_kill
  wait_for 10 'grep -q "detection web (incident 1)" "$T/agent.log"'
  wait_for 20 'grep -q "recovered web (incident 1)" "$T/agent.log"'
  [[ $(svc_state) == healthy ]] || fail "web not healthy after the recovery"
  [[ $(grep -c started "$T/starts.log") -eq 2 ]] || fail "the start-command did not run once: $(cat "$T/starts.log")"
  # the order of the evidence: detection, action, verification, recovery
  grep -oE "^(detection|action|verification|recovered) web" "$T/agent.log" | tr '\n' ' ' >"$T/order"
  [[ $(cat "$T/order") == "detection web action web verification web recovered web " ]] ||
    fail "wrong order: $(cat "$T/order")"
  # detection came after fall (2) failed probes, not the first
  grep -q "failure confirmed after 2 failed probes" "$T/agent.log" || fail "no fall count in the detection"
  # the receiver got the incident opened (firing) and resolved, in that order, in the
  # Alertmanager webhook shape
  wait_for 15 '[[ $(python3 -c "import json; print(sum(1 for l in open(\"$T/hooks\") if \"incident\" in l))") -ge 2 ]]'
  python3 - "$T/hooks" <<'PY' || fail "webhook deliveries: $(cat "$T/hooks")"
import json, sys
got = [json.loads(l)["body"] for l in open(sys.argv[1])]
st = [(b["status"], b["alerts"][0]["labels"].get("service")) for b in got if b.get("version") == "4"]
assert ("firing", "web") in st and ("resolved", "web") in st, st
assert st.index(("firing", "web")) < st.index(("resolved", "web")), st
PY
}

# fast-interval (HAProxy's fastinter): while the state is in question the probes come
# faster. interval 6s, fall 3, rise 2: at interval, confirming the outage would take at
# least 12 s after the first failed probe and verifying the recovery at least 6 s.
t_watch_fast_interval_while_the_state_is_in_question() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port" "fast-interval = 300ms"
  # loop 5s: a result that counts must wake the loop itself, not wait for its tick
  sed -i 's/^interval = 1s/interval = 6s/; s/^fall = 2/fall = 3/; s/^loop = 1s/loop = 5s/' "$CONF"
  svc_start "$port"
  agent_start
  wait_for 20 '[[ $(svc_state) == healthy ]]'
  svc_kill
  # the first failed probe comes within an interval (6 s), the two after it 0.3 s apart
  wait_for 10 'grep -q "detection web (incident 1)" "$T/agent.log"'
  grep -q "failure confirmed after 3 failed probes" "$T/agent.log" || fail "no fall count in the detection"
  wait_for 4 'grep -q "recovered web (incident 1)" "$T/agent.log"'
  [[ $(svc_state) == healthy ]] || fail "web not healthy after the recovery"
}

t_watch_escalates_past_max_recoveries_and_resume_reenables() {
  trap cleanup_watch RETURN
  port=$(free_port)
  # a service that dies 2 s after every start
  watch_conf "$port" "max-recoveries = 2/1h" "verify-timeout = 4s"
  printf '#!/bin/sh\n%s %s %s %s & sleep 3; kill $(cat %s)\n' "$SVC" "$port" "$T/web.pid" "$T/starts.log" "$T/web.pid" >"$T/dying"
  chmod +x "$T/dying"
  sed -i "s|^start-command = .*|start-command = setsid -f $T/dying >/dev/null 2>\&1|" "$CONF"
  agent_start
  wait_for 60 'grep -q "^escalation web" "$T/agent.log"'
  grep -q "max-recoveries 2/3600s reached" "$T/agent.log" || fail "escalation does not say why"
  wait_for 5 '[[ $(svc_state) == held ]]'
  starts=$(grep -c started "$T/starts.log")
  [[ $starts -eq 2 ]] || fail "$starts starts, wanted 2 (max-recoveries 2)"
  sleep 4 # held: no action however long it fails
  [[ $(grep -c started "$T/starts.log") -eq 2 ]] || fail "the agent acted while held"
  expect_rc 0 -c "$CONF" resume web
  expect_err "automation resumed for web" # the message is on stderr like all notes
  wait_for 10 'grep -q "^resume web" "$T/agent.log"'
  wait_for 20 '[[ $(grep -c started "$T/starts.log") -ge 3 ]]'
  # resuming what is not held says so and succeeds
  expect_rc 0 -c "$CONF" resume web
  expect_err "web was not held"
}

t_watch_one_failed_or_slow_probe_opens_nothing() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port" # fall = 2
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  # exactly one failed probe, passes, exactly one probe slower than its timeout (one
  # request each: the service takes the .once file away as it answers; only the agent
  # asks /health, so its going proves the probe met the fault)
  echo "500 broken" >"$T/web.pid.health.once"
  wait_for 5 '[[ ! -e $T/web.pid.health.once ]]'
  sleep 2.5
  echo "sleep 1.5" >"$T/web.pid.health.once"
  wait_for 5 '[[ ! -e $T/web.pid.health.once ]]'
  sleep 3
  grep -q "^detection" "$T/agent.log" && fail "a single failed or slow probe opened an incident"
  [[ $(svc_state) == healthy ]] || fail "not healthy"
  grep -c started "$T/starts.log" | grep -qx 1 || fail "the agent acted on a flap"
}

t_watch_pause_holds_automation_but_not_the_incident() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port"
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  expect_rc 2 -c "$CONF" pause web                      # a reason is required
  expect_rc 18 -c "$CONF" pause nosuch --reason x       # an unknown service
  expect_rc 0 -c "$CONF" pause web --reason "db migration"
  wait_for 10 'grep -q "^hold web" "$T/agent.log"'
  svc_kill
  wait_for 10 'grep -q "detection web" "$T/agent.log"'
  sleep 3
  [[ $(grep -c started "$T/starts.log") -eq 1 ]] || fail "acted while paused"
  [[ $(svc_state) == held ]] || fail "status does not show the hold"
  status_json; [[ $(json "j['services'][0]['held']['reason']") == "db migration" ]] || fail "no reason in status"
  expect_rc 0 -c "$CONF" resume web
  wait_for 20 'grep -q "recovered web" "$T/agent.log"'
}

t_watch_kill9_resumes_the_open_incident() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port"
  svc_start "$port"
  expect_rc 0 -c "$CONF" pause web --reason "hold until the agent is killed"
  agent_start
  wait_for 10 '[[ $(svc_state) == held ]]'
  svc_kill
  wait_for 10 'grep -q "detection web (incident 1)" "$T/agent.log"'
  kill -9 "$AGENT"; wait "$AGENT" 2>/dev/null || true
  expect_rc 0 -c "$CONF" resume web   # while no agent runs: taken when it starts
  expect_err "no agent runs now"
  agent_start
  wait_for 20 'grep -q "recovered web (incident 1)" "$T/agent.log"'
  grep -q "incident 2" "$T/agent.log" && fail "the restarted agent opened a second incident"
  grep -q "^resume web" "$T/agent.log" || fail "the resume made while no agent ran was not recorded"
}

t_watch_second_agent_and_bad_input() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port"
  svc_start "$port"
  agent_start
  expect_rc 11 -c "$CONF" watch
  expect_err "another lifeline watch \(pid $AGENT\) runs on the state folder $T/wstate"
  agent_stop
  # no agent: status says so, with its own exit code
  expect_rc 25 -c "$CONF" status
  expect_err "no lifeline watch agent runs on $T/wstate"
  # a bad configuration: file and line
  echo "fall = lots" >>"$CONF"
  expect_rc 15 -c "$CONF" watch
  expect_err "lifeline.conf:[0-9]+: .*fall"
  # an unreachable probe target is a failed service, not a crash
  watch_conf "$(free_port)"
  run_cmd "$LL" -c "$CONF" watch --once
  [[ $RC -eq 0 ]] || fail "watch --once exited $RC: $ERR"
  grep -qE '^[0-9]{4}-' <<<"$ERR" && fail "log lines carry times without --timestamps: $ERR"
  # --timestamps: every log line starts with its UTC time to the millisecond
  run_cmd "$LL" -c "$CONF" watch --once --timestamps
  [[ $RC -eq 0 ]] || fail "watch --once --timestamps exited $RC: $ERR"
  [[ -n $ERR ]] && ! grep -vqE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ' <<<"$ERR" ||
    fail "a log line without its time: $ERR"
  # a duration in milliseconds: refused, saying durations are whole seconds
  sed -i 's/^timeout = 1s$/timeout = 500ms/' "$CONF"
  expect_rc 15 -c "$CONF" watch --once
  expect_err "lifeline.conf:[0-9]+: .*whole seconds only"
}

t_watch_sighup_reload_keeps_old_config_when_bad() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port"
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  cp "$CONF" "$T/good.conf"; good() { run_cmd "$LL" -c "$T/good.conf" --json status; json "len(j['services'])"; }
  echo "bogus-key = 1" >>"$CONF"
  kill -HUP "$AGENT"
  wait_for 10 'grep -q "new configuration refused, the running one kept" "$T/agent.log"'
  kill -0 "$AGENT" || fail "a bad reload killed the agent"
  [[ $(good) == 1 ]] || fail "the agent does not answer after a refused reload"
  sed -i '/bogus-key/d' "$CONF"
  printf '[service "second"]\nprobe = tcp://127.0.0.1:%s\n' "$port" >>"$CONF"
  kill -HUP "$AGENT"
  wait_for 10 'grep -q "configuration reloaded: 2 services" "$T/agent.log"'
  wait_for 10 '[[ $(good) == 2 ]]'
}

t_watch_actions_are_in_the_audit_trail() {
  trap cleanup_watch RETURN
  new_repo
  ok key add --new-key-file "$T/agent.key"
  port=$(free_port)
  watch_conf "$port" "max-recoveries = 1/1h"
  sed -i "1i [repository]\npath = $REPO\nkey-file = $T/agent.key\n" "$CONF"
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  svc_kill
  wait_for 20 'grep -q "recovered web" "$T/agent.log"'
  svc_kill
  wait_for 20 'grep -q "^escalation web" "$T/agent.log"'
  expect_rc 0 -c "$CONF" resume web
  wait_for 10 'grep -q "^resume web" "$T/agent.log"'
  ok --json audit show
  python3 - "$OUT" <<'PY' || fail "audit trail: $OUT"
import json, sys
recs = json.loads(sys.argv[1])
recs = recs if isinstance(recs, list) else recs.get("records", recs)
acts = [r["args"][0] for r in recs if r.get("command") == "watch"]
for want in ["start", "probe", "detection", "action", "verification", "recovered", "escalation", "resume"]:
    assert want in acts, (want, acts)
assert acts.index("detection") < acts.index("action") < acts.index("recovered") < acts.index("escalation"), acts
PY
  ok audit verify
}

t_watch_receiver_down_and_agent_killed_every_event_once_in_order() {
  trap 'cleanup_watch; kill $HOOK 2>/dev/null; true' RETURN
  port=$(free_port)
  watch_conf "$port"
  webhook_start
  curl -sf "http://127.0.0.1:$(cat "$T/hook.port")/_fail?status=503&count=-1" >/dev/null
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  for i in 1 2; do
    svc_kill
    wait_for 20 "grep -q 'recovered web (incident $i)' '$T/agent.log'"
  done
  kill -9 "$AGENT"; wait "$AGENT" 2>/dev/null || true
  # four notifications pending (two incidents opened and resolved), none delivered
  [[ ! -s $T/hooks ]] || fail "delivered while the receiver refused"
  curl -sf "http://127.0.0.1:$(cat "$T/hook.port")/_ok" >/dev/null
  agent_start
  wait_for 60 '[[ $(wc -l <"$T/hooks") -ge 4 ]]'
  sleep 2
  python3 - "$T/hooks" <<'PY' || fail "deliveries: $(cat "$T/hooks")"
import json, sys
got = [json.loads(l)["body"] for l in open(sys.argv[1])]
keys = [(b["alerts"][0]["labels"].get("incident"), b["status"]) for b in got if b.get("version") == "4"]
inc = [k for k in keys if k[0] in ("1", "2")]
assert inc == [("1", "firing"), ("1", "resolved"), ("2", "firing"), ("2", "resolved")], keys
PY
}

t_watch_state_folder_on_a_full_disk() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: mounting a small file system needs root"; return 0; }
  trap 'cleanup_watch; umount "$T/wstate" 2>/dev/null; true' RETURN
  port=$(free_port)
  watch_conf "$port"
  mkdir -p "$T/wstate"
  mount -t tmpfs -o size=2m tmpfs "$T/wstate"
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  dd if=/dev/zero of="$T/wstate/fill" bs=64k 2>/dev/null || true   # until the disk is full
  svc_kill
  wait_for 20 'grep -q "recovered web" "$T/agent.log"'            # it goes on recovering
  grep -qiE "warning: .*(full|no space)" "$T/agent.log" || fail "no clear error about the full disk"
  kill -0 "$AGENT" || fail "the agent died on a full disk"
  [[ $(svc_state) == healthy ]] || fail "status does not answer on a full disk"
  rm -f "$T/wstate/fill"
  svc_kill
  wait_for 20 '[[ $(grep -c "recovered web" "$T/agent.log") -ge 2 ]]'
  agent_stop
  # what happened once there was room again is in the state database
  ok_inc() { run_cmd "$LL" -c "$CONF" --json incidents; }
  ok_inc
  [[ $RC -eq 0 ]] || fail "incidents: $ERR"
  [[ $(json "len(j['incidents'])") -ge 1 ]] || fail "no incident recorded after the disk had room: $OUT"
}

t_watch_status_page_incident_updates_and_metrics_from_the_agent() {
  CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
  [[ -n $CHROMIUM ]] || fail "chromium is not installed (scripts/install-deps installs it)"
  trap 'cleanup_watch; kill $HOOK 2>/dev/null; true' RETURN
  port=$(free_port) hport=$(free_port)
  watch_conf "$port"
  sed -i "/^loop = 1s/a listen = 127.0.0.1:$hport" "$CONF"
  webhook_start
  svc_start "$port"
  expect_rc 0 -c "$CONF" pause web --reason "keep the incident open"
  agent_start
  wait_for 10 "curl -sf http://127.0.0.1:$hport/health"
  svc_kill
  wait_for 15 'grep -q "detection web (incident 1)" "$T/agent.log"'
  expect_rc 0 -c "$CONF" incidents update 1 --status identified --message "the <b>cache</b> filled the disk"
  # the update reaches the channels and the page
  wait_for 15 'grep -q "the <b>cache</b> filled the disk" "$T/hooks"'
  wait_for 10 "curl -sf http://127.0.0.1:$hport/api/status | grep -q identified"
  curl -sf "http://127.0.0.1:$hport/metrics" >"$T/metrics"
  grep -qx "lifeline_incidents_open 1" "$T/metrics" || fail "metrics: $(grep incidents "$T/metrics")"
  grep -q '^lifeline_service_up{service="web"} 0' "$T/metrics" || fail "metrics: $(grep service_up "$T/metrics")"
  mkdir -p "$T/home"
  HOME=$T/home timeout -k 5 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --disable-extensions --user-data-dir="$T/profile" --dump-dom "http://127.0.0.1:$hport/" \
    >"$T/dom.html" 2>"$T/chromium.err" || { tail "$T/chromium.err"; fail "chromium failed"; }
  python3 - "$T/dom.html" <<'PY' || fail "status page DOM"
import sys
from html.parser import HTMLParser
class Dom(HTMLParser):
    def __init__(self):
        super().__init__(); self.els = []; self.stack = []
    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.els.append(el)
        if tag not in ("meta", "link", "br"): self.stack.append(el)
    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()["tag"] != tag: pass
    def handle_data(self, data):
        for el in self.stack: el["text"] += data
d = Dom(); d.feed(open(sys.argv[1], encoding="utf-8").read())
comp = [e for e in d.els if e["attrs"].get("data-component") == "web"]
assert comp and comp[0]["attrs"].get("data-status") == "major-outage", [c["attrs"] for c in comp]
inc = [e for e in d.els if e["attrs"].get("id") == "incident-1"]
assert inc and inc[0]["attrs"].get("data-status") == "identified", [i["attrs"] for i in inc]
assert "the <b>cache</b> filled the disk" in inc[0]["text"], inc[0]["text"]
assert not any(e["tag"] == "b" for e in d.els), "an update's text became markup"
PY
  art=$(dirname "$LL")/test-artifacts; mkdir -p "$art"
  HOME=$T/home timeout -k 5 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$T/profile" --screenshot="$art/statuspage-agent.png" --window-size=1280,1200 \
    "http://127.0.0.1:$hport/" >/dev/null 2>&1 || fail "chromium --screenshot failed"
  echo "screenshot: $art/statuspage-agent.png"
}

# three services (web, api, jobs), each its own svc.py on its own port
three_conf() {
  watch_conf "$1"
  for name in api jobs; do
    p=$(free_port); eval "P_$name=$p"
    cat >>"$CONF" <<CONF
[service "$name"]
probe = http://127.0.0.1:$p/health
interval = 1s
timeout = 1s
fall = 2
rise = 2
start-command = setsid -f $SVC $p $T/$name.pid $T/starts.log >/dev/null 2>&1
stop-command = kill \$(cat $T/$name.pid) 2>/dev/null; true
verify-timeout = 6s
backoff = 1s
CONF
    setsid -f $SVC "$p" "$T/$name.pid" "$T/starts.log" >/dev/null 2>&1
  done
}

t_watch_escalates_on_a_partition_and_on_several_failures_in_an_hour() {
  trap 'cleanup_watch; for n in api jobs; do kill "$(cat "$T/$n.pid" 2>/dev/null)" 2>/dev/null || true; done' RETURN
  port=$(free_port)
  three_conf "$port"
  svc_start "$port"
  agent_start
  all_healthy() { status_json; [[ $(json "all(s['state'] == 'healthy' for s in j['services'])") == True ]]; }
  wait_for 10 all_healthy
  # one after the other, each recovered: the third within the hour escalates
  for name in web api; do
    kill -9 "$(cat "$T/$name.pid")"
    wait_for 20 "grep -q 'recovered $name' '$T/agent.log'"
  done
  kill -9 "$(cat "$T/jobs.pid")"
  wait_for 10 'grep -q "^escalation .*3 services failed within 3600s" "$T/agent.log"'
  status_json
  [[ $(json "j['hold_all']['kind']") == escalation ]] || fail "no hold of every service: $OUT"
  sleep 3
  grep -q "action jobs" "$T/agent.log" && fail "the agent acted after escalating"
  expect_rc 0 -c "$CONF" resume
  wait_for 10 'grep -q "^resume \*" "$T/agent.log"'
  wait_for 20 "grep -q 'recovered jobs' '$T/agent.log'"
  # all three at once, from here: a partition (or this node's network), held, no action
  starts=$(grep -c started "$T/starts.log")
  for name in web api jobs; do kill -9 "$(cat "$T/$name.pid")"; done
  wait_for 20 'grep -qE "network partition suspected: [23] of 3 services fail from test-node" "$T/agent.log"'
  sleep 3
  [[ $(grep -c started "$T/starts.log") -eq $starts ]] || fail "the agent acted during a partition"
}

t_watch_leaves_what_lifeline_stop_stopped() {
  trap cleanup_watch RETURN
  port=$(free_port)
  watch_conf "$port"
  svc_start "$port"
  agent_start
  wait_for 10 '[[ $(svc_state) == healthy ]]'
  expect_rc 0 -c "$CONF" stop web
  wait_for 10 '[[ $(svc_state) == maintenance ]]'
  sleep 4
  grep -q "^detection web" "$T/agent.log" && fail "a service stopped on purpose opened an incident"
  [[ $(grep -c started "$T/starts.log") -eq 1 ]] || fail "the agent restarted what lifeline stop stopped"
  expect_rc 0 -c "$CONF" start web
  wait_for 10 '[[ $(svc_state) == healthy ]]'
}
