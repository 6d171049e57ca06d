# redis.sh — a real redis-server for the tests: on a free loopback port, its data in
# the test's folder, stopped by redis_stop_all.

REDIS_SERVER=$(command -v redis-server || true)

# redis_skip: true (with a message) when redis-server is not installed.
redis_skip() { [[ -z $REDIS_SERVER ]] && echo "skipped: redis-server is not installed"; }

# redis_start NAME PORT [redis.conf lines...]: config in $T/NAME.conf, data in $T/NAME/
redis_start() {
  local name=$1 port=$2; shift 2
  mkdir -p "$T/$name"
  {
    echo "port $port"
    echo "bind 127.0.0.1"
    echo "dir $T/$name"
    echo "daemonize yes"
    echo "pidfile $T/$name.pid"
    echo "logfile $T/$name.log"
    echo "save \"\""
    echo "appendonly no"
    echo "repl-diskless-sync-delay 0"
    printf '%s\n' "$@"
  } >"$T/$name.conf"
  "$REDIS_SERVER" "$T/$name.conf" || fail "redis-server did not start"
  for _ in $(seq 1 100); do redis-cli -p "$port" ${REDISCLI_AUTH:+--no-auth-warning} ping 2>/dev/null | grep -qE 'PONG|NOAUTH' && break; sleep 0.05; done
  REDIS_STARTED+=("$name")
}

# By pid file (a restore may have restarted a server; a password may be unknown by now).
redis_stop_all() {
  local name pid
  for name in "${REDIS_STARTED[@]}"; do
    pid=$(cat "$T/$name.pid" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  done
}
REDIS_STARTED=()

rcli() { local p=$1; shift; redis-cli -p "$p" ${REDISCLI_AUTH:+--no-auth-warning} "$@"; }

# A lifeline configuration with source "cache" on PORT (extra lines appended). Sets CONF.
redis_setup_lifeline() {
  local port=$1 name=$2; shift 2
  CONF=$T/ll.conf
  install -m 755 "$LL" "$T/lifeline"
  {
    printf '[repository]\npath = %s\n\n[source "cache"]\ntype = redis\naddress = 127.0.0.1:%s\n' "$REPO" "$port"
    echo "data-dir = $T/$name"
    echo "stop-command = redis-cli -p $port \${REDISCLI_AUTH:+--no-auth-warning} shutdown nosave"
    echo "start-command = $REDIS_SERVER $T/$name.conf"
    echo "timeout = 20s"
    printf '%s\n' "$@"
  } >"$CONF"
}
