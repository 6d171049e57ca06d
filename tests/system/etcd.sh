# etcd.sh — real etcd members (Debian's etcd-server) for the tests: a cluster of 1 or 3
# on free loopback ports, data in $T/etcdN, stopped by pid (never by name) in
# etcd_stop_all, which the harness calls on exit. Client processes a test starts in the
# background can be handed to etcd_track so that they are killed with the cluster.

ETCD=$(command -v etcd || true)
ETCDCTL=$(command -v etcdctl || true)

# etcd_skip: true (with a message) when etcd is not installed.
etcd_skip() { [[ -z $ETCD ]] && echo "skipped: etcd is not installed (etcd-server)"; }

# etcd_start N: members 1..N, one cluster. Sets ETCD_CLIENT[i], ETCD_PID[i] and
# ETCD_ENDPOINTS (the client URLs, blank-separated, member 1 first).
etcd_start() {
  local n=$1 i cluster="" token="t-$$-$RANDOM" # one token: the members must agree on it
  for i in $(seq 1 "$n"); do
    ETCD_CLIENT[$i]=http://127.0.0.1:$(free_port)
    ETCD_PEER[$i]=http://127.0.0.1:$(free_port)
    cluster+="${cluster:+,}e$i=${ETCD_PEER[$i]}"
  done
  for i in $(seq 1 "$n"); do
    "$ETCD" --name "e$i" --data-dir "$T/etcd$i" \
      --listen-client-urls "${ETCD_CLIENT[$i]}" --advertise-client-urls "${ETCD_CLIENT[$i]}" \
      --listen-peer-urls "${ETCD_PEER[$i]}" --initial-advertise-peer-urls "${ETCD_PEER[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "$token" \
      >"$T/etcd$i.log" 2>&1 &
    ETCD_PID[$i]=$!
  done
  ETCD_ENDPOINTS=""
  for i in $(seq 1 "$n"); do
    ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+ }${ETCD_CLIENT[$i]}"
    etcd_wait_healthy "$i"
  done
}

# etcd_wait_healthy I: until member I says it is healthy (a leader elected), 30 s.
etcd_wait_healthy() {
  for _ in $(seq 1 300); do
    curl -s -m 1 "${ETCD_CLIENT[$1]}/health" 2>/dev/null | grep -q '"health":"true"' && return 0
    sleep 0.1
  done
  tail -20 "$T/etcd$1.log"
  fail "etcd member $1 did not get healthy"
}

# etcd_stop I: member I stopped (TERM, then KILL) and waited for.
etcd_stop() {
  local pid=${ETCD_PID[$1]}
  kill -CONT "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
etcd_pause() { kill -STOP "${ETCD_PID[$1]}"; }
etcd_resume() { kill -CONT "${ETCD_PID[$1]}"; }

# etcdctl on the cluster.
ectl() { ETCDCTL_API=3 "$ETCDCTL" --endpoints "${ETCD_ENDPOINTS// /,}" --command-timeout 3s "$@"; }

etcd_track() { ETCD_TRACKED+=("$1"); }

etcd_stop_all() {
  local pid i
  # (|| true: the harness calls this under set -e; a client may have ended already)
  for pid in "${ETCD_TRACKED[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; done
  for i in "${!ETCD_PID[@]}"; do etcd_stop "$i"; done
  ETCD_TRACKED=()
  ETCD_PID=()
}
ETCD_CLIENT=() ETCD_PEER=() ETCD_PID=() ETCD_TRACKED=()
