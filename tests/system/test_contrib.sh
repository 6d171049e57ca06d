# contrib/: the systemd unit (checked by systemd-analyze where it can run), and the
# agent's side of what the unit relies on: the sd_notify protocol (READY, WATCHDOG,
# RELOADING, STOPPING) spoken to a real unix datagram socket (notify_rx.py plays
# systemd), a path or an abstract one.

UNIT=$HERE/../../contrib/lifeline-watch.service

# until_ok SECONDS CONDITION (bash, eval'd)
until_ok() {
  local until=$((SECONDS + $1))
  while ! eval "$2" >/dev/null 2>&1; do
    [[ $SECONDS -lt $until ]] || { echo "--- agent log:"; tail -20 "$T/agent.log" 2>/dev/null;
                                   echo "--- notifications:"; cat "$T/notes" 2>/dev/null; fail "not within $1s: $2"; return 1; }
    sleep 0.1
  done
}
# A configuration with one service whose probe always passes (nothing to recover).
sd_conf() {
  CONF=$T/lifeline.conf
  printf '[watch]\nnode = sd-test\nstate-dir = %s/wstate\nsyslog = off\n\n[service "ok"]\nprobe = exec:true\ninterval = 1s\n' \
    "$T" >"$CONF"
}
# rx_start SOCKET: notify_rx.py listening on SOCKET, writing $T/notes
rx_start() {
  python3 "$HERE/notify_rx.py" "$1" "$T/notes" >/dev/null 2>&1 &
  RX=$!
  until_ok 10 "[[ -e $T/notes.ready ]]"
}
# sd_agent_start ENV...: the agent with ENV (NOTIFY_SOCKET=..., WATCHDOG_USEC=...)
sd_agent_start() {
  env "$@" "$LL" -c "$CONF" watch >>"$T/agent.log" 2>&1 &
  AGENT=$!
}
sd_cleanup() {
  [[ -n ${AGENT:-} ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
  [[ -n ${RX:-} ]] && kill "$RX" 2>/dev/null
  true
}
count() { grep -c " $1\$" "$T/notes" 2>/dev/null || true; }
# The assignments received, in order, without their times: "READY=1 WATCHDOG=1 ..."
sequence() { awk '{print $2}' "$T/notes" | grep -v '^WATCHDOG=1$' | tr '\n' ' '; }

t_contrib_unit_passes_systemd_analyze_verify() {
  [[ -f $UNIT ]] || { fail "no $UNIT"; return 1; }
  # what the unit must say for the agent (a regression here is silent under verify)
  for want in '^Type=notify$' '^WatchdogSec=' '^ExecReload=/bin/kill -HUP \$MAINPID$' '^Restart=on-failure$' \
              '^StateDirectory=lifeline$' '^NotifyAccess=main$' \
              '^ExecStart=/usr/local/bin/lifeline -c /etc/lifeline/lifeline.conf watch$'; do
    grep -qE -- "$want" "$UNIT" || { fail "the unit has no line /$want/"; return 1; }
  done
  if ! command -v systemd-analyze >/dev/null; then
    echo "skipped: systemd-analyze is not installed (the systemd package); the unit was not verified"
    return 0
  fi
  # verify checks that ExecStart is executable: point it at the binary under test
  sed "s|^ExecStart=/usr/local/bin/lifeline |ExecStart=$LL |" "$UNIT" >"$T/lifeline-watch.service"
  run_cmd systemd-analyze verify --man=no "$T/lifeline-watch.service"
  # anything said about our unit is a finding (unknown keys and bad values are only
  # warnings with exit 0); other output is about the host's units
  if grep -q 'lifeline-watch' <<<"$OUT$ERR"; then
    echo "$OUT$ERR"; fail "systemd-analyze verify found problems in the unit"; return 1
  fi
  if [[ $RC -ne 0 ]]; then
    echo "skipped: systemd-analyze cannot run here (exit $RC): $(head -1 <<<"$ERR")"
    return 0
  fi
  # the same check can fail: a misspelt key in a copy is reported
  mkdir -p "$T/bad"
  sed 's/^WatchdogSec=/WatchdogSecs=/' "$T/lifeline-watch.service" >"$T/bad/lifeline-watch.service"
  run_cmd systemd-analyze verify --man=no "$T/bad/lifeline-watch.service"
  grep -q "WatchdogSecs" <<<"$OUT$ERR" || fail "systemd-analyze did not report a misspelt key: $OUT$ERR"
}

t_contrib_agent_speaks_sd_notify_ready_watchdog_reload_stopping() {
  trap sd_cleanup RETURN
  sd_conf
  rx_start "$T/notify.sock"
  sd_agent_start NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=2000000
  until_ok 10 "[[ \$(count READY=1) -ge 1 ]]"
  # ready means ready: the control socket answers
  run_cmd "$LL" -c "$CONF" status
  [[ $RC -eq 0 ]] || fail "READY=1 was sent, but status exited $RC: $ERR"
  # WATCHDOG_USEC=2s: a keep-alive every second (half the period)
  ready_at=$(awk '$2 == "READY=1" {print $1; exit}' "$T/notes")
  sleep 3.2
  n=$(awk -v r="$ready_at" '$2 == "WATCHDOG=1" && $1 >= r && $1 <= r + 3.2' "$T/notes" | wc -l)
  [[ $n -ge 2 ]] || fail "$n WATCHDOG=1 within 3.2 s of READY=1 (WATCHDOG_USEC=2000000), wanted at least 2"
  [[ $n -le 5 ]] || fail "$n WATCHDOG=1 within 3.2 s: far more often than every second"
  # SIGHUP: RELOADING=1, then READY=1 again once the new configuration is in
  kill -HUP "$AGENT"
  until_ok 10 '[[ $(sequence) == "READY=1 RELOADING=1 READY=1 " ]]'
  grep -q "configuration reloaded" "$T/agent.log" || fail "no reload in the agent's log"
  # a bad configuration: refused, the agent goes on, and says READY=1 all the same
  echo "bogus-key = 1" >>"$CONF"
  kill -HUP "$AGENT"
  until_ok 10 '[[ $(sequence) == "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 " ]]'
  kill -0 "$AGENT" || fail "a refused reload stopped the agent"
  # the watchdog goes on after the reloads
  w=$(count WATCHDOG=1)
  until_ok 5 "[[ \$(count WATCHDOG=1) -gt $w ]]"
  # SIGTERM: STOPPING=1, and a clean exit
  kill -TERM "$AGENT"
  rc=0; wait "$AGENT" || rc=$?
  AGENT=""
  [[ $rc -eq 0 ]] || fail "the agent exited $rc on SIGTERM"
  until_ok 5 '[[ $(sequence) == "READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 STOPPING=1 " ]]'
  # STOPPING=1 is the last word: no keep-alive after it
  [[ $(tail -1 "$T/notes" | awk '{print $2}') == STOPPING=1 ]] || fail "something after STOPPING=1: $(tail -3 "$T/notes")"
}

t_contrib_agent_sd_notify_abstract_socket_no_watchdog_and_bad_socket() {
  trap sd_cleanup RETURN
  sd_conf
  # an abstract socket (NOTIFY_SOCKET=@name, as systemd may give) and no WATCHDOG_USEC
  name="@lifeline-test-$$-$RANDOM"
  rx_start "$name"
  sd_agent_start NOTIFY_SOCKET="$name"
  until_ok 10 "[[ \$(count READY=1) -ge 1 ]]"
  sleep 2.5
  [[ $(count WATCHDOG=1) -eq 0 ]] || fail "WATCHDOG=1 sent without WATCHDOG_USEC"
  kill -TERM "$AGENT"; wait "$AGENT" || fail "the agent exited $? on SIGTERM"
  AGENT=""
  until_ok 5 "[[ \$(count STOPPING=1) -eq 1 ]]"
  # a NOTIFY_SOCKET no one listens on (systemd gone, a stale variable): the agent runs all the same
  sd_agent_start NOTIFY_SOCKET="$T/nobody.sock" WATCHDOG_USEC=1000000
  until_ok 10 "\"$LL\" -c \"$CONF\" status"
  sleep 1.5
  kill -0 "$AGENT" || fail "the agent died with a NOTIFY_SOCKET that is not there"
}
