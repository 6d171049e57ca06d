# `lifeline probe SERVICE`: one probe run from the configuration, as the agent builds
# it; states, exit codes (0 healthy or degraded, 20 failed), --json, usage errors, and
# a redis: probe through its [source] with a password file (never echoed).

source "$HERE/redis.sh"

probe() { run_cmd "$LL" -c "$CONF" probe "$@"; }

t_probe_command() {
  CONF=$T/l.conf
  local closed; closed=$(free_port)
  cat >"$CONF" <<CONF
[service "ok"]
probe = exec:echo fine
[service "slow"]
probe = exec:echo half-working; exit 1
[service "down"]
probe = exec:echo broken >&2; exit 2
[service "port"]
probe = tcp://127.0.0.1:$closed
[service "hang"]
probe = exec:sleep 30
timeout = 1s
CONF
  RUNNER=probe expect_rc 0 ok
  expect_out '^ok: healthy \([0-9]+ ms\)'
  RUNNER=probe expect_rc 0 --json slow
  [[ $(json 'j["state"], j["probe"], j["timeout_ms"]') == "degraded exec 1000" ]] || fail "slow: $OUT"
  RUNNER=probe expect_rc 20 down
  expect_out '^down: failed'
  expect_err 'service down: probe failed'
  RUNNER=probe expect_rc 20 --json port
  [[ $(json 'j["state"]') == failed ]] || fail "port: $OUT"
  local start=$(date +%s%N)
  RUNNER=probe expect_rc 20 hang
  (( ($(date +%s%N) - start) / 1000000 < 3000 )) || fail "a 1 s probe took longer than 3 s"
  # usage and configuration errors
  RUNNER=probe expect_rc 2
  RUNNER=probe expect_rc 2 ok down
  RUNNER=probe expect_rc 15 nothere
  expect_err "no \[service \"nothere\"\] in $CONF"
  expect_err 'hint: the services there: ok, \.\.\.'
  run_cmd "$LL" probe ok
  [[ $RC -eq 15 ]] || fail "without a configuration: exit $RC"
  expect_err 'no configuration file'
  run_cmd "$LL" probe --help
  [[ $RC -eq 0 ]] && grep -q 'Exit codes: 0 the probe ran' <<<"$OUT" || fail "probe --help"
}

# A redis: probe reads the source's address and password file, as the agent will.
t_probe_redis_source() {
  redis_skip && return 0
  local port; port=$(free_port)
  redis_start r "$port" "requirepass s3cret-pw"
  printf 's3cret-pw\n' >"$T/redis.pass"; chmod 600 "$T/redis.pass"
  CONF=$T/l.conf
  cat >"$CONF" <<CONF
[source "cache"]
type = redis
address = 127.0.0.1:$port
password-file = $T/redis.pass
[service "cache"]
probe = redis:cache
CONF
  RUNNER=probe expect_rc 0 --json cache
  [[ $(json 'j["state"]') == healthy ]] || fail "cache: $OUT"
  printf 'wrong-pw\n' >"$T/redis.pass"
  RUNNER=probe expect_rc 20 cache
  ! grep -q 'wrong-pw' <<<"$OUT$ERR" || fail "the password was echoed"
  rm "$T/redis.pass"
  RUNNER=probe expect_rc 2 cache
  expect_err "\[service \"cache\"\]: Redis password file $T/redis.pass"
}
