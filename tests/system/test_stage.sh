# lifeline start / stop: real HTTP services (stage_svc.py) started and killed by
# their start-command and stop-command (stage_ctl.sh, which logs each action to
# $T/order.log and whether the neighbour's port was up at that moment), in
# dependency order, each stage gated on its probe.

CTL=$HERE/stage_ctl.sh

# lls ARGS: lifeline with this test's configuration; expect_rcs CODE ARGS.
lls() { run_cmd "$LL" -c "$CONF" "$@"; }
expect_rcs() { RUNNER=lls expect_rc "$@"; }

# Kills what the test started, whatever happened (each service has a pid file).
stage_cleanup() {
  for f in "$T"/*.pid; do [[ -s $f ]] && kill "$(cat "$f")" 2>/dev/null; done
  true
}

# The chain db <- cache <- backend on free ports. Each service comes up 0.7 s after
# its start-command returned, so a start that did not wait for the gate would find
# the dependency down (check=down in the log). Extra config lines in $1.
chain_conf() {
  P_DB=$(free_port) P_CACHE=$(free_port) P_BACKEND=$(free_port)
  CONF=$T/lifeline.conf
  cat >"$CONF" <<EOF
[service "backend"]
probe = http://127.0.0.1:$P_BACKEND/health
interval = 1s
rise = 2
fall = 1
depends-on = cache
start-command = $CTL start backend $P_BACKEND $P_CACHE
stop-command = $CTL stop backend $P_BACKEND

[service "db"]
probe = tcp://127.0.0.1:$P_DB
interval = 1s
rise = 1
fall = 2
start-command = $CTL start db $P_DB
stop-command = $CTL stop db $P_DB $P_CACHE

[service "cache"]
probe = http://127.0.0.1:$P_CACHE/health
interval = 1s
rise = 1
fall = 1
depends-on = db
start-command = $CTL start cache $P_CACHE $P_DB
stop-command = $CTL stop cache $P_CACHE $P_BACKEND
${1:-}
EOF
}

port_up() { python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; }

t_stage_start_and_stop_in_dependency_order() {
  trap stage_cleanup EXIT
  chain_conf
  expect_rcs 0 start
  [[ $(cat "$T/order.log") == $'start db\nstart cache check=up\nstart backend check=up' ]] ||
    fail "start order / gates: $(cat "$T/order.log")"
  port_up "$P_DB" && port_up "$P_CACHE" && port_up "$P_BACKEND" || fail "not all services are up after start"
  expect_err "^stage 1/3: starting db$"
  expect_err "^stage 1/3: db \.\.\. healthy after [0-9.]+s$"
  expect_err "^stage 3/3: backend \.\.\. healthy after [0-9.]+s$"
  expect_err "^start done: 3 stages$"
  # the stop, in reverse: each service stopped only once what depends on it is down
  : >"$T/order.log"
  expect_rcs 0 stop
  [[ $(cat "$T/order.log") == $'stop backend\nstop cache check=down\nstop db check=down' ]] ||
    fail "stop order / gates: $(cat "$T/order.log")"
  ! port_up "$P_DB" && ! port_up "$P_CACHE" && ! port_up "$P_BACKEND" || fail "a service is still up after stop"
  expect_err "^stage 1/3: backend \.\.\. down after [0-9.]+s$"
  # stop puts a maintenance hold on each service (a running agent leaves them down);
  # start lifts the holds of what it started
  holds() { python3 -c "import sqlite3; print(sorted(sqlite3.connect('$LIFELINE_STATE_DIR/state.db').execute('select target, kind from holds where released_ms is null').fetchall()))"; }
  [[ $(holds) == "[('backend', 'maintenance'), ('cache', 'maintenance'), ('db', 'maintenance')]" ]] ||
    fail "holds after stop: $(holds)"
  expect_rcs 0 start cache
  [[ $(holds) == "[('backend', 'maintenance')]" ]] || fail "holds after start cache: $(holds)"
  ! port_up "$P_BACKEND" || fail "start cache started backend too"
}

t_stage_already_running_and_named_subsets() {
  trap stage_cleanup EXIT
  chain_conf
  expect_rcs 0 start cache
  [[ $(cat "$T/order.log") == $'start db\nstart cache check=up' ]] || fail "start cache: $(cat "$T/order.log")"
  : >"$T/order.log"
  expect_rcs 0 start
  expect_err "^stage 1/3: db \.\.\. already running \(connected to 127\.0\.0\.1:$P_DB\)$"
  expect_err "^stage 2/3: cache \.\.\. already running \(HTTP 200\)$"
  [[ $(cat "$T/order.log") == $'start backend check=up' ]] || fail "already running services started again: $(cat "$T/order.log")"
  # stop db: what depends on it first; then a stop of a stopped stack is already down
  : >"$T/order.log"
  expect_rcs 0 --json stop db
  [[ $(json '[[s["name"] + ":" + s["action"] for s in st["services"]] for st in j["stages"]]') == \
     "[['backend:stopped'], ['cache:stopped'], ['db:stopped']]" ]] || fail "stop db: $OUT"
  expect_rcs 0 --json stop
  [[ $(json '[s["action"] for st in j["stages"] for s in st["services"]]') == \
     "['already-down', 'already-down', 'already-down']" ]] || fail "stop of a stopped stack: $OUT"
  [[ $(grep -c stop "$T/order.log") -eq 3 ]] || fail "stop-commands ran for services already down"
}

t_stage_that_never_gets_healthy_stops_the_start() {
  trap stage_cleanup EXIT
  # cache's start-command starts nothing: its gate never passes
  chain_conf 'start-timeout = 3s'
  sed -i "s|^start-command = $CTL start cache .*|start-command = echo starting cache >>$T/order.log|" "$CONF"
  expect_rcs 24 start
  expect_err "^lifeline: error: start failed at stage 2/3: cache: not healthy within 3s: "
  expect_err "connection refused|Connection refused|couldn't connect|Couldn't connect"
  expect_err "\(last probe\)$"
  expect_err "^hint: not started: backend$"
  expect_err "^stage 2/3: cache \.\.\. FAILED: not healthy within 3s"
  [[ $(cat "$T/order.log") == $'start db\nstarting cache' ]] || fail "a later stage was started: $(cat "$T/order.log")"
  ! port_up "$P_BACKEND" || fail "backend runs"
  # --json: the same outcome as a report, exit code 24 all the same
  expect_rcs 24 --json start
  [[ $(json 'j["ok"]') == False ]] || fail "ok is not false"
  [[ $(json '[[s["name"] + ":" + s["action"] for s in st["services"]] for st in j["stages"]]') == \
     "[['db:already-running'], ['cache:failed'], ['backend:pending']]" ]] || fail "json: $OUT"
  # a start-command that fails: its exit status and first line of output
  sed -i "s|^start-command = echo starting cache.*|start-command = echo port in use >\&2 \&\& echo second line \&\& exit 3|" "$CONF"
  expect_rcs 24 start
  expect_err "^lifeline: error: start failed at stage 2/3: cache: start-command exit 3: port in use$"
}

t_stage_dry_run_json_and_bad_input() {
  trap stage_cleanup EXIT
  chain_conf
  expect_rcs 0 start --dry-run
  expect_out "^start plan: 3 stages$"
  [[ $(grep -E '^  [a-z]+$' <<<"$OUT" | tr -d ' ' | tr '\n' ' ') == "db cache backend " ]] || fail "dry-run order: $OUT"
  expect_out "gate: http://127\.0\.0\.1:$P_BACKEND/health passes 2 times in a row within 2m"
  expect_rcs 0 stop --dry-run --timeout 90s
  expect_out "gate: tcp://127\.0\.0\.1:$P_DB fails 2 times in a row within 1m30s"
  [[ ! -e $T/order.log ]] || fail "dry run ran a command"
  expect_rcs 0 --json stop cache --dry-run
  [[ $(json '[[s["name"] for s in st["services"]] for st in j["stages"]]') == "[['backend'], ['cache']]" ]] ||
    fail "json dry run: $OUT"
  [[ $(json 'j["dry_run"], j["ok"], j["stages"][0]["services"][0]["action"]') == "True True pending" ]] ||
    fail "json dry run fields: $OUT"
  # the json report of a real start
  expect_rcs 0 --json start
  [[ $(json 'j["ok"], j["command"], [[(s["name"], s["action"], s["seconds"] > 0) for s in st["services"]] for st in j["stages"]]') == \
     "True start [[('db', 'started', True)], [('cache', 'started', True)], [('backend', 'started', True)]]" ]] ||
    fail "json start: $OUT"
  # bad input: a name that is no service, two names, a bad timeout, no services at all
  expect_rcs 18 start nope
  expect_err "^lifeline: error: no \[service \"nope\"\] in $CONF$"
  expect_rcs 2 stop db cache
  expect_rcs 2 start --timeout soon
  expect_err "--timeout: 'soon' is not a duration"
  echo '[watch]' >"$T/empty.conf"
  RUNNER=run_cmd expect_rc 15 "$LL" -c "$T/empty.conf" start
  expect_err "no \[service \"NAME\"\] sections in $T/empty.conf"
  expect_rcs 0 start --help
  expect_out "^Usage: lifeline start"
  expect_out "Exit codes: 0 every service healthy; 24 a stage failed"
}

t_stage_holds_and_missing_stop_command() {
  trap stage_cleanup EXIT
  chain_conf
  expect_rcs 0 start
  expect_rcs 0 stop backend
  # a person's pause on backend: start refuses to run its start-command
  python3 -c "import sqlite3; c = sqlite3.connect('$LIFELINE_STATE_DIR/state.db'); c.execute(\"insert or replace into holds(target, kind, reason, by, at_ms) values('backend', 'pause', 'disk check', 'alice', 0)\"); c.commit()"
  expect_rcs 24 start
  expect_err "backend: held by pause \(disk check, by alice\): its start-command is not run; 'lifeline resume backend' ends the hold"
  ! port_up "$P_BACKEND" || fail "a paused service was started"
  # a service without a stop-command: stop NAME refuses before doing anything
  sed -i "/^stop-command = $(sed 's/[\/&]/\\&/g' <<<"$CTL") stop backend/d" "$CONF"
  : >"$T/order.log"
  expect_rcs 15 stop db
  expect_err "\[service \"backend\"\] has no stop-command"
  [[ ! -s $T/order.log ]] || fail "stop db ran commands before refusing: $(cat "$T/order.log")"
  # stop of everything: a warning for it, the rest stopped
  expect_rcs 0 stop
  expect_err "^stage 1/3: backend \.\.\. no stop-command: left running$"
  [[ $(cat "$T/order.log") == $'stop cache check=down\nstop db check=down' ]] || fail "stop all: $(cat "$T/order.log")"
  # no state folder: a warning, the start goes on
  LIFELINE_STATE_DIR=/proc/nope expect_rcs 0 start db
  expect_err "^warning: state database not opened: "
}
