# Repointing clients with a real HAProxy (Debian's): `lifeline proxy-config` writes its
# configuration, two agents' HTTP sides (tests/system/http_serve on canned status
# documents) answer its checks, two small TCP servers that say their name stand for
# the members. A client on the primary port reaches the primary; when the documents
# say the other member holds the lease, clients move there within seconds, the old
# primary's sessions are cut, and once HAProxy marks it down no client reaches it.

HTTP_SERVE=$(dirname "$LL")/http_serve
PROXY_PIDS=()

proxy_cleanup() {
  local p
  for p in "${PROXY_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PROXY_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PROXY_PIDS=()
}

# NAME: a TCP server on a free loopback port that sends "NAME\n" on each connection and
# keeps it open until the other side closes; sets DB_PORT.
db_start() {
  python3 -u - "$1" >"$T/db-$1.out" 2>"$T/db-$1.err" <<'PY' &
import socket, sys, threading
name = sys.argv[1]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    try:
        c.sendall((name + "\n").encode())
        while c.recv(100): pass
    except OSError: pass
    finally: c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
  PROXY_PIDS+=($!)
  DB_PORT=""
  for _ in $(seq 1 50); do
    DB_PORT=$(head -1 "$T/db-$1.out")
    [[ -n $DB_PORT ]] && return 0
    sleep 0.1
  done
  fail "the TCP server $1 did not start: $(cat "$T/db-$1.err")"
}

# NAME: http_serve on $T/NAME.json at a free port (playing that agent's HTTP side); sets AGENT_PORT.
agent_start() {
  echo '[]' >"$T/incidents.json"
  "$HTTP_SERVE" "$T/$1.json" "$T/incidents.json" 127.0.0.1:0 >"$T/$1.out" 2>"$T/$1.err" &
  PROXY_PIDS+=($!)
  AGENT_PORT=""
  for _ in $(seq 1 100); do
    AGENT_PORT=$(sed -n 's/^port //p' "$T/$1.out")
    [[ -n $AGENT_PORT ]] && return 0
    sleep 0.1
  done
  fail "http_serve for $1 did not say its port: $(cat "$T/$1.err")"
}

# FILE PRIMARY-ROLE PRIMARY-LEASE STANDBY-ROLE HERE: a status document of group main-db
# (pg-a's and pg-b's roles; HERE is the member that agent manages), written whole.
status_doc() {
  python3 - "$@" <<'PY'
import json, os, sys, time
path, a_role, a_lease, b_role, b_lease, here = sys.argv[1:7]
now = int(time.time() * 1000)
def member(name, role, lease):
    return {"name": name, "node": "zone-" + name, "here": name == here, "role": role, "lease": lease == "true",
            "timeline": 2, "lsn": "0/3000060", "lag_bytes": 0 if role == "standby" else None,
            "streaming": role == "standby", "detail": ""}
doc = {"node": "zone-" + here, "version": "0.1.0", "started_ms": now, "now_ms": now, "hold_all": None,
       "services": [], "incidents": [], "metrics": {}, "objectives": {},
       "groups": [{"name": "main-db", "backend": "local", "epoch": 3 if b_role != "primary" else 4,
                   "leader": "pg-a" if a_role == "primary" else "pg-b", "held": None, "synchronous": "off",
                   "members": [member("pg-a", a_role, a_lease), member("pg-b", b_role, b_lease)]}]}
json.dump(doc, open(path + ".tmp", "w"))
os.rename(path + ".tmp", path)   # http_serve never reads half a document
PY
}

# PORT WANT COUNT SECONDS: waits until COUNT clients in a row on PORT reach WANT (the
# member's name, or "none": refused, closed or silent), one every 50 ms; prints the
# seconds until the first of them. COUNT clients must all reach WANT when SECONDS is 0.
clients() {
  python3 - "$@" <<'PY'
import socket, sys, time
port, want, count, secs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def client():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        try: return s.recv(100).decode().strip() or "none"
        finally: s.close()
    except OSError:
        return "none"
start = time.time(); first = None; in_row = 0; got = []
while True:
    g = client(); got.append(g)
    if g == want:
        first = first if first is not None else time.time() - start
        in_row += 1
        if in_row >= count: print("%.2f" % first); sys.exit(0)
    else:
        if secs == 0: sys.exit("client %d reached %r, not %r" % (len(got), g, want))
        in_row, first = 0, None
    if time.time() - start > secs and secs: sys.exit("port %d: not %d clients in a row reached %r within %g s (last: %r)" % (port, count, want, secs, got[-5:]))
    time.sleep(0.05)
PY
}

t_proxy_haproxy_follows_the_lease() {
  command -v haproxy >/dev/null || fail "haproxy is not installed (scripts/install-deps installs it)"
  [[ -x $HTTP_SERVE ]] || fail "no $HTTP_SERVE (build with -Dtests=true)"
  trap 'proxy_cleanup; for f in pg_stop_all redis_stop_all registry_stop_all; do declare -F $f >/dev/null && $f; done; true' EXIT
  trap proxy_cleanup RETURN
  db_start pg-a; local pa=$DB_PORT
  db_start pg-b; local pb=$DB_PORT
  status_doc "$T/agent-a.json" primary true standby false pg-a
  status_doc "$T/agent-b.json" primary true standby false pg-b
  agent_start agent-a; local ha=$AGENT_PORT
  agent_start agent-b; local hb=$AGENT_PORT
  local lp lr
  lp=$(free_port); lr=$(free_port)
  # pg-a is this node's (checked at [watch] listen), pg-b another node's (agent =)
  CONF=$T/lifeline.conf
  cat >"$CONF" <<EOF2
[watch]
node = zone-a-1
listen = 127.0.0.1:$ha

[postgres "main-db"]
members = pg-a pg-b

[member "pg-a"]
node = zone-a-1
conninfo = host=127.0.0.1 port=$pa user=lifeline dbname=postgres

[member "pg-b"]
node = zone-b-1
conninfo = host=127.0.0.1 port=$pb user=lifeline dbname=postgres
agent = 127.0.0.1:$hb
EOF2
  run_cmd "$LL" -c "$CONF" proxy-config main-db --listen-primary "127.0.0.1:$lp" --listen-replica "127.0.0.1:$lr"
  [[ $RC -eq 0 ]] || fail "proxy-config exited $RC: $ERR"
  echo "$OUT" >"$T/haproxy.cfg"
  grep -q "server pg-a 127.0.0.1:$pa check port $ha addr 127.0.0.1" "$T/haproxy.cfg" || fail "no pg-a server line"
  grep -q "server pg-b 127.0.0.1:$pb check port $hb addr 127.0.0.1" "$T/haproxy.cfg" || fail "no pg-b server line"
  haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy-c.out" 2>&1 || { cat "$T/haproxy-c.out"; fail "haproxy -c refused the file"; }
  haproxy -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
  PROXY_PIDS+=($!)
  # writers reach the primary, readers the standby
  clients "$lp" pg-a 10 10 >/dev/null
  clients "$lr" pg-b 10 10 >/dev/null
  # a session that stays open on the old primary
  python3 - "$lp" "$T/session" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
open(sys.argv[2], "w").write(s.recv(100).decode())
s.recv(100)   # until HAProxy cuts it (or 30 s)
open(sys.argv[2], "a").write("closed %f\n" % time.time())
PY
  local session=$!
  PROXY_PIDS+=($session)
  for _ in $(seq 1 30); do [[ -s $T/session ]] && break; sleep 0.1; done
  grep -q '^pg-a' "$T/session" || fail "the long session did not reach pg-a: $(cat "$T/session" 2>/dev/null)"
  # the flip: pg-b holds the lease, pg-a is fenced (both agents say so)
  status_doc "$T/agent-a.json" fenced false primary true pg-a
  status_doc "$T/agent-b.json" fenced false primary true pg-b
  local moved
  moved=$(clients "$lp" pg-b 1 6)
  echo "clients moved to pg-b $moved s after the flip"
  # HAProxy says pg-a is down; from then on no client reaches it
  for _ in $(seq 1 60); do grep -q 'main-db-primary/pg-a is DOWN' "$T/haproxy.log" && break; sleep 0.1; done
  grep -q 'main-db-primary/pg-a is DOWN' "$T/haproxy.log" || { cat "$T/haproxy.log"; fail "HAProxy did not mark pg-a down"; }
  clients "$lp" pg-b 40 0 >/dev/null || fail "a client reached another member than pg-b after pg-a was marked down"
  # its open session was cut (on-marked-down shutdown-sessions)
  for _ in $(seq 1 50); do grep -q '^closed' "$T/session" && break; sleep 0.1; done
  grep -q '^closed' "$T/session" || fail "the session on the fenced pg-a stayed open"
  # readers: no standby now, so the replica port leads nowhere
  clients "$lr" none 3 6 >/dev/null
}

t_proxy_config_errors() {
  CONF=$T/lifeline.conf
  cat >"$CONF" <<'EOF2'
[watch]
node = zone-a-1

[postgres "main-db"]
members = pg-a pg-b

[member "pg-a"]
node = zone-a-1
conninfo = host=10.0.0.1

[member "pg-b"]
node = zone-b-1
conninfo = host=10.0.0.2
EOF2
  # no [watch] listen for pg-a, no agent for pg-b: refused, nothing printed
  run_cmd "$LL" -c "$CONF" proxy-config
  [[ $RC -eq 15 ]] || fail "proxy-config without agent addresses exited $RC"
  [[ -z $OUT ]] || fail "a refused configuration was printed in part"
  expect_err 'pg-a.*no address for the agent'
  expect_err 'agent = HOST:PORT'
  run_cmd "$LL" -c "$CONF" proxy-config nope
  [[ $RC -eq 18 ]] || fail "an unknown group exited $RC"
  sed -i '1,2s/^node = zone-a-1$/node = zone-a-1\nlisten = 0.0.0.0:8008/; s/^conninfo = host=10.0.0.2$/&\nagent = 10.0.0.2:8008/' "$CONF"
  run_cmd "$LL" -c "$CONF" proxy-config --listen-primary 6432 --json
  [[ $RC -eq 0 ]] || fail "proxy-config exited $RC: $ERR"
  json 'j["haproxy"]' >"$T/haproxy.cfg"
  grep -q 'bind \*:6432' "$T/haproxy.cfg" || fail "--listen-primary PORT is not bound on every address"
  grep -q 'server pg-a 10.0.0.1:5432 check port 8008 addr 10.0.0.1' "$T/haproxy.cfg" || fail "a wildcard listen is not reached at the member's host"
  if command -v haproxy >/dev/null; then
    haproxy -c -f "$T/haproxy.cfg" >"$T/c.out" 2>&1 || { cat "$T/c.out"; fail "haproxy -c refused the file"; }
  fi
  run_cmd "$LL" -c "$CONF" proxy-config --listen-primary nowhere
  [[ $RC -eq 2 ]] || fail "a bad --listen-primary exited $RC"
  sed -i 's/^agent = 10.0.0.2:8008$/agent = 10.0.0.2/' "$CONF"
  run_cmd "$LL" -c "$CONF" proxy-config
  [[ $RC -eq 15 ]] || fail "agent without a port was accepted ($RC)"
  expect_err 'agent'
}
