# registry.sh — real OCI registries for the tests: Debian's docker-registry (the
# distribution project's registry) on a free loopback port, its storage in the test's
# folder, stopped by registry_stop_all. Images are pushed with registry_push.py.

REGISTRY_BIN=$(command -v docker-registry || true)

# registry_skip: true (with a message) when docker-registry is not installed.
registry_skip() { [[ -z $REGISTRY_BIN ]] && echo "skipped: docker-registry is not installed"; }

# registry_start NAME PORT: config in $T/NAME.yml, storage in $T/NAME/, pid in $T/NAME.pid
registry_start() {
  local name=$1 port=$2
  mkdir -p "$T/$name"
  cat >"$T/$name.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/$name
http:
  addr: 127.0.0.1:$port
YML
  "$REGISTRY_BIN" serve "$T/$name.yml" >"$T/$name.log" 2>&1 &
  echo $! >"$T/$name.pid"
  REGISTRY_STARTED+=("$name")
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
    sleep 0.05
  done
  cat "$T/$name.log"; fail "docker-registry $name did not start on port $port"
}

# registry_stop NAME: by its pid file.
registry_stop() {
  local pid
  pid=$(cat "$T/$1.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$T/$1.pid"
}

registry_stop_all() {
  local name
  for name in "${REGISTRY_STARTED[@]}"; do registry_stop "$name"; done
}
REGISTRY_STARTED=()

# registry_push URL NAME SEED TAG...: one small image under these tags; prints its digest.
registry_push() { python3 "$HERE/registry_push.py" "$@"; }
