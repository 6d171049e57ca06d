# netns.sh — several "hosts" on one machine for the HA system tests: each host is a
# network namespace on a private switch, with its own address, its own ports (every host
# can use 5432, 2379, ...), its own iptables; plus a "client" namespace that reaches all
# hosts (HAProxy, the writer, the probe). The machine's own network is not touched: the
# bridge lives in a dedicated "switch" namespace and veth ends are created directly inside
# the namespaces. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for `ip netns`) and iptables
# (iptables-nft on Debian 12 is fine: rules live in the namespace's own tables).
# Sourced by a test after lib.sh (uses $T, fail); PostgreSQL parts source pg.sh.
#
# Hosts are named by number or label: 1 / h1, 2 / h2, ..., "client" (and "switch").
#
# Topology
#   netns_skip_reason       prints why this cannot run here (not root, no ip/iptables), or nothing
#   netns_up N              N hosts h1..hN at $NETNS_NET.1..N/24, client at .100, loopback up in
#                           each; the /24 is picked to clash with no route or address of the machine
#                           (nor with another run's); names start with a prefix made from $T (parallel
#                           runs do not clash; interface names are short: eth0, br0, hI)
#   netns_down              stops everything this file started (PostgreSQL, etcd, HAProxy, spawned
#                           processes, anything else left in the namespaces) and deletes the
#                           namespaces; idempotent, safe after a failure midway, safe from a trap
#                           (tests/system/run calls it on exit)
#   netns_assert_clean      fails unless no namespace, link or process of this run is left
#   netns_ns HOST           the namespace's name        netns_addr HOST   its IPv4 address
#   netns_hosts             h1..hN, one per line
#   netns_exec HOST CMD...  runs CMD in HOST (ip netns exec)
#   netns_spawn HOST LOG CMD...  CMD in the background in HOST, output to LOG; sets NETNS_PID (the
#                           command's own pid: `netns_exec ... &` would give a subshell's); it is
#                           killed by netns_down if still running
#
# Faults (iptables DROP inside HOST's namespace, in a chain of our own so heal leaves other rules)
#   netns_partition HOST [PEERS...]   cut HOST from PEERS, both directions (INPUT and OUTPUT);
#                           without PEERS: from every other host h1..hN. The client is only cut when
#                           named ("client"), so the test's probes can still see what HOST does.
#   netns_partition_oneway HOST PEER  HOST no longer receives anything from PEER (HOST -> PEER
#                           packets still arrive; TCP between them breaks, UDP shows the direction)
#   netns_partition_out HOST PEER [MATCH...]  HOST sends nothing to PEER (its OUTPUT; a local
#                           DROP, so HOST's senders see EPERM at once, not a timeout); PEER -> HOST
#                           still arrive. MATCH: iptables matches narrowing it (-p tcp --sport 5432:
#                           only what HOST's PostgreSQL sends, e.g. its WAL)
#   netns_heal HOST         removes every partition rule of HOST
#
# etcd (Debian's etcd-server 3.4; one member per host, client 2379 and peer 2380 on the host's
# address and on 127.0.0.1 inside the host; data in $T/etcd/hI)
#   etcd_cluster_up [HOSTS...]   (default: all hosts) starts the members and waits until healthy
#   etcd_endpoints          http://ADDR:2379 of every member, space-separated (ETCD_ENDPOINTS also)
#   etcd_member_stop HOST [SIG]   (SIGTERM by default; KILL for a crash)   etcd_member_start HOST
#   etcd_status HOST        the member's POST /v3/maintenance/status JSON (asked from inside HOST)
#   etcd_healthy HOST       true when that member answers status and has a leader
#   etcd_put FROM KEY VALUE [TIMEOUT_S] / etcd_get FROM KEY  through FROM's own member (etcdctl,
#                           run inside FROM): the put fails when FROM's member cannot reach a quorum.
#                           A put that timed out is not a put that failed: etcd may still apply it
#                           once the partition heals (seen here: the partitioned member's value won).
#   etcd_cluster_down
#   etcdctl_in FROM TIMEOUT_S ARGS...  any etcdctl command against FROM's member
#
# PostgreSQL 15 (as pg.sh's unprivileged user; data in $T/pg/hI, port 5432 on the host's address
# and 127.0.0.1; data checksums; trust + replication for the subnet; member name pg-hI unless given)
#   pg_host_primary HOST [NAME] [-- CONF LINES...]    initdb, configure, start
#   pg_host_standby HOST PRIMARYHOST [NAME]  pg_basebackup -R from the primary, application_name NAME
#   pg_host_start HOST      starts the postmaster as the test shell's child (not via pg_ctl: see
#                           there) and waits until it accepts connections (crash recovery included)
#   pg_host_stop HOST [MODE]  pg_ctl stop (fast by default)
#   pg_host_kill HOST       kill -9 of the postmaster (first line of postmaster.pid), its process
#                           group and every process that is its child or works in its data folder;
#                           returns when none is left
#   pg_host_procs HOST      pids of the processes of that cluster (cwd = its data folder)
#   pg_host_sql HOST SQL    psql as postgres over the cluster's unix socket (works across partitions)
#   pg_host_datadir HOST / pg_host_name HOST / pg_host_conninfo HOST [EXTRA]
#   pg_host_wait_streaming HOST   waits until HOST's pg_stat_wal_receiver says streaming
#
# HAProxy (Debian's 2.6)
#   haproxy_cfg_pg PORT HOST...  prints a TCP config: bind *:PORT, a server per HOST's :5432
#   haproxy_up CFG [HOST] [PORT]  starts haproxy -db -f CFG in HOST (default client), waits for PORT
#   haproxy_down
#
# Python helpers (Debian's /usr/bin/python3 with python3-psycopg2): ha_writer.py, ha_check.py,
# ha_probe_writers.py in this folder; NETNS_PY names the interpreter.

NETNS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NETNS_PY=${NETNS_PY:-/usr/bin/python3}
NETNS_DIR=$T/netns
NETNS_CHAIN=LLTEST

netns_skip_reason() {
  [[ $(id -u) -eq 0 ]] || { echo "network namespaces need root"; return; }
  command -v ip >/dev/null || { echo "no ip (iproute2)"; return; }
  command -v iptables >/dev/null || { echo "no iptables"; return; }
  ip netns list >/dev/null 2>&1 || echo "ip netns does not work here"
}

# The prefix of every name this run creates: "l" + the last 6 characters of $T's name.
netns_prefix() {
  local b
  b=$(basename "$T" | tr -cd 'A-Za-z0-9')
  echo "l${b: -6}"
}

# Reads the saved state (so a trap in another shell of the same test sees it).
netns_load() {
  NETNS_PREFIX=$(netns_prefix)
  NETNS_N=$(cat "$NETNS_DIR/n" 2>/dev/null || echo 0)
  NETNS_NET=$(cat "$NETNS_DIR/net" 2>/dev/null || echo "")
}

# A 10.X.Y.0/24 overlapping no route and no address of the machine, nor another run's.
netns_pick_net() {
  "$NETNS_PY" - "$NETNS_PREFIX" "$(dirname "$T")" <<'PY'
import glob, hashlib, ipaddress, subprocess, sys
prefix, parent = sys.argv[1], sys.argv[2]
used = []
for cmd in (["ip", "-4", "-o", "route", "show", "table", "all"], ["ip", "-4", "-o", "addr"]):
    for line in subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines():
        for w in line.split():
            try:
                if "/" in w or w[0].isdigit():
                    used.append(ipaddress.ip_network(w, strict=False))
            except ValueError:
                pass
for f in glob.glob(parent + "/*/netns/net"):
    try:
        used.append(ipaddress.ip_network(open(f).read().strip() + ".0/24"))
    except (OSError, ValueError):
        pass
used = [u for u in used if u.prefixlen > 0]
seed = int(hashlib.sha256(prefix.encode()).hexdigest(), 16)
for i in range(4000):
    x, y = 16 + (seed + i * 7919) % 230, (seed // 251 + i * 31) % 256
    net = ipaddress.ip_network(f"10.{x}.{y}.0/24")
    if not any(net.overlaps(u) for u in used):
        print(f"10.{x}.{y}")
        sys.exit(0)
sys.exit("no free 10.X.Y.0/24")
PY
}

netns_ns() {
  netns_load
  case $1 in
    client) echo "$NETNS_PREFIX-cl" ;;
    switch) echo "$NETNS_PREFIX-sw" ;;
    h[0-9]*) echo "$NETNS_PREFIX-$1" ;;
    [0-9]*) echo "$NETNS_PREFIX-h$1" ;;
    *) echo "netns: no host '$1'" >&2; return 1 ;;
  esac
}
netns_label() { # 1 | h1 -> h1; client -> client
  case $1 in [0-9]*) echo "h$1" ;; *) echo "$1" ;; esac
}
netns_addr() {
  netns_load
  case $1 in
    client) echo "$NETNS_NET.100" ;;
    h[0-9]*) echo "$NETNS_NET.${1#h}" ;;
    [0-9]*) echo "$NETNS_NET.$1" ;;
    *) echo "netns: no host '$1'" >&2; return 1 ;;
  esac
}
netns_hosts() { netns_load; local i; for ((i = 1; i <= NETNS_N; i++)); do echo "h$i"; done; }

netns_exec() {
  local ns
  ns=$(netns_ns "$1") || return 1
  shift
  ip netns exec "$ns" "$@"
}

netns_spawn() {
  local host=$1 log=$2 ns; shift 2
  ns=$(netns_ns "$host") || return 1
  ip netns exec "$ns" "$@" >"$log" 2>&1 &     # not netns_exec: $! must be the command itself
  NETNS_PID=$!
  echo "$NETNS_PID" >>"$NETNS_DIR/pids"
}

# Creates one namespace, recorded (with its inode, to find its processes later) once it exists.
netns_add_ns() {
  ip netns add "$1" || { fail "cannot create namespace $1"; return 1; }
  local ino
  ino=$(stat -L -c %i "/run/netns/$1")
  echo "$1 $ino" >>"$NETNS_DIR/created"
  echo "$ino" >>"$NETNS_DIR/inodes"    # kept after netns_down: netns_assert_clean looks for stragglers
  ip netns exec "$1" ip link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
}

# netns_attach NS IFNAME ADDR: a veth from the switch's bridge to NS (eth0 there).
netns_attach() {
  local ns=$1 port=$2 addr=$3 sw
  sw=$(netns_ns switch)
  ip -n "$sw" link add "$port" type veth peer name eth0 netns "$ns" &&
    ip -n "$sw" link set "$port" master br0 up &&
    ip -n "$ns" addr add "$addr/24" dev eth0 &&
    ip -n "$ns" link set eth0 up || { fail "cannot attach $ns to the switch"; return 1; }
}

netns_up() {
  local n=$1 i reason
  reason=$(netns_skip_reason)
  [[ -z $reason ]] || { fail "$reason"; return 1; }
  mkdir -p "$NETNS_DIR"
  netns_load
  [[ -s $NETNS_DIR/created ]] && { fail "netns_up: already up (netns_down first)"; return 1; }
  NETNS_NET=$(netns_pick_net) || { fail "no free subnet"; return 1; }
  echo "$NETNS_NET" >"$NETNS_DIR/net"
  echo "$n" >"$NETNS_DIR/n"
  NETNS_N=$n
  local sw
  sw=$(netns_ns switch)
  netns_add_ns "$sw" || return 1
  ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up ||
    { fail "cannot create the bridge"; return 1; }
  for ((i = 1; i <= n; i++)); do
    netns_add_ns "$(netns_ns "h$i")" || return 1
    netns_attach "$(netns_ns "h$i")" "h$i" "$NETNS_NET.$i" || return 1
  done
  netns_add_ns "$(netns_ns client)" || return 1
  netns_attach "$(netns_ns client)" cl "$NETNS_NET.100" || return 1
}

# proc_scan MODE ARGS...: pids of live (not zombie) processes, one /proc pass in python (a bash
# loop forks per process: seconds on a busy machine). Modes: cwd DIR (works in DIR: every
# PostgreSQL process chdirs into its data folder), ppid PID, netns INODE..., mentions STR (STR
# in the command line, or working under STR/pg/).
proc_scan() {
  "$NETNS_PY" - "$@" <<'PY'
import os, sys
mode, args = sys.argv[1], sys.argv[2:]
me = {os.getpid(), os.getppid()}
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) in me:
        continue
    try:
        st = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
        if st[0] in ("Z", "X"):
            continue
        if mode == "cwd":
            hit = os.readlink("/proc/%s/cwd" % p) == os.path.realpath(args[0])
        elif mode == "ppid":
            hit = st[1] == args[0]
        elif mode == "netns":
            hit = os.readlink("/proc/%s/ns/net" % p)[5:-1] in args
        else:
            cmd = open("/proc/%s/cmdline" % p, "rb").read().replace(b"\0", b" ").decode(errors="replace")
            hit = args[0] + "/" in cmd or os.readlink("/proc/%s/cwd" % p).startswith(args[0] + "/pg/")
            if hit:
                print(p, cmd[:80])
                continue
    except OSError:
        continue
    if hit:
        print(p)
PY
}

# Every process whose network namespace is one of ours (by inode; also after `ip netns del`).
netns_own_pids() {
  [[ -s $NETNS_DIR/created ]] || return 0
  # shellcheck disable=SC2046
  proc_scan netns $(awk '{print $2}' "$NETNS_DIR/created")
}

# pid_alive PID: exists and is not a zombie (PID 1 here may not reap).
pid_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

# wait_pids_gone SECONDS PID...: true once none is alive.
wait_pids_gone() {
  local secs=$1 p left; shift
  for ((k = 0; k < secs * 20; k++)); do
    left=0
    for p in "$@"; do pid_alive "$p" && left=1; done
    [[ $left -eq 0 ]] && return 0
    sleep 0.05
  done
  return 1
}

netns_down() {
  [[ -d $NETNS_DIR ]] || return 0
  netns_load
  local p ns pids
  # servers first, politely, so their logs end cleanly
  haproxy_down 2>/dev/null || true
  etcd_cluster_down 2>/dev/null || true
  for d in $(cat "$NETNS_DIR/pg_dirs" 2>/dev/null); do
    [[ -f $d/postmaster.pid ]] && { as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w -t 10 stop >/dev/null 2>&1 || true; }
    pg_kill_datadir "$d" 2>/dev/null || true
  done
  rm -f "$NETNS_DIR/pg_dirs"
  for p in $(cat "$NETNS_DIR/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  rm -f "$NETNS_DIR/pids"
  # anything else still inside our namespaces
  mapfile -t pids < <(netns_own_pids)
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill -9 "${pids[@]}" 2>/dev/null || true
    wait_pids_gone 10 "${pids[@]}" || echo "netns_down: processes ${pids[*]} did not end" >&2
  fi
  # recorded namespaces and any other with this run's prefix (a failure midway)
  for ns in $(awk '{print $1}' "$NETNS_DIR/created" 2>/dev/null) \
    $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NETNS_PREFIX-"); do
    [[ -e /run/netns/$ns ]] && { ip netns del "$ns" 2>/dev/null || echo "netns_down: cannot delete $ns" >&2; }
  done
  # kept until the namespaces are gone (netns_own_pids needs the inodes), then emptied
  : >"$NETNS_DIR/created"
  return 0
}

# netns_assert_clean: nothing of this run left — namespaces, links, processes.
netns_assert_clean() {
  local prefix left p
  prefix=$(netns_prefix)
  left=$(ip netns list | awk '{print $1}' | grep "^$prefix-" || true)
  [[ -z $left ]] || { fail "namespaces left: $left"; return 1; }
  left=$(ip -o link | grep -F "$prefix" || true)
  [[ -z $left ]] || { fail "links left: $left"; return 1; }
  left=$(proc_scan mentions "$T" | grep -v "^$$ " | grep -v "^$BASHPID " || true)
  [[ -z $left ]] || { fail "processes left: $left"; return 1; }
  if [[ -s $NETNS_DIR/inodes ]]; then
    # shellcheck disable=SC2046
    left=$(proc_scan netns $(cat "$NETNS_DIR/inodes"))
    [[ -z $left ]] || { fail "processes left in the namespaces: $left"; return 1; }
  fi
  return 0
}

# ---- partitions -------------------------------------------------------------------------

netns_chain() { # HOST: makes sure the chain exists and is jumped to from INPUT and OUTPUT
  netns_exec "$1" iptables -w -N "$NETNS_CHAIN" 2>/dev/null || true
  local c
  for c in INPUT OUTPUT; do
    netns_exec "$1" iptables -w -C "$c" -j "$NETNS_CHAIN" 2>/dev/null ||
      netns_exec "$1" iptables -w -I "$c" 1 -j "$NETNS_CHAIN" || { fail "iptables failed in $1"; return 1; }
  done
}

netns_partition() {
  local host peers=() p a
  host=$(netns_label "$1"); shift
  if [[ $# -gt 0 ]]; then peers=("$@"); else mapfile -t peers < <(netns_hosts | grep -vx "$host"); fi
  netns_chain "$host" || return 1
  for p in "${peers[@]}"; do
    a=$(netns_addr "$p") || return 1
    netns_exec "$host" iptables -w -A "$NETNS_CHAIN" -s "$a" -j DROP &&
      netns_exec "$host" iptables -w -A "$NETNS_CHAIN" -d "$a" -j DROP || { fail "iptables failed"; return 1; }
  done
}

netns_partition_oneway() {
  local host a
  host=$(netns_label "$1")
  a=$(netns_addr "$2") || return 1
  netns_chain "$host" || return 1
  netns_exec "$host" iptables -w -A "$NETNS_CHAIN" -s "$a" -j DROP || { fail "iptables failed"; return 1; }
}

netns_partition_out() {
  local host a
  host=$(netns_label "$1")
  a=$(netns_addr "$2") || return 1
  shift 2
  netns_chain "$host" || return 1
  netns_exec "$host" iptables -w -A "$NETNS_CHAIN" -d "$a" "$@" -j DROP || { fail "iptables failed"; return 1; }
}

netns_heal() {
  netns_exec "$(netns_label "$1")" iptables -w -F "$NETNS_CHAIN" 2>/dev/null || true
}

# ---- etcd -------------------------------------------------------------------------------

ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}

etcd_endpoints() {
  local h out=()
  for h in $(cat "$NETNS_DIR/etcd_hosts" 2>/dev/null); do out+=("http://$(netns_addr "$h"):2379"); done
  echo "${out[*]}"
}

etcd_initial_cluster() {
  local h out=()
  for h in $(cat "$NETNS_DIR/etcd_hosts"); do out+=("$h=http://$(netns_addr "$h"):2380"); done
  local IFS=,
  echo "${out[*]}"
}

etcd_member_start() {
  local h a state=new
  h=$(netns_label "$1")
  a=$(netns_addr "$h") || return 1
  [[ -d $T/etcd/$h/member ]] && state=existing
  mkdir -p "$T/etcd"
  ip netns exec "$(netns_ns "$h")" "$ETCD_BIN" --name "$h" --data-dir "$T/etcd/$h" \
    --listen-client-urls "http://$a:2379,http://127.0.0.1:2379" --advertise-client-urls "http://$a:2379" \
    --listen-peer-urls "http://$a:2380" --initial-advertise-peer-urls "http://$a:2380" \
    --initial-cluster "$(etcd_initial_cluster)" --initial-cluster-state "$state" \
    --initial-cluster-token "$NETNS_PREFIX" ${ETCD_EXTRA_ARGS:-} >>"$T/etcd/$h.log" 2>&1 &
  echo $! >"$NETNS_DIR/etcd-$h.pid"
}

etcd_member_stop() {
  local h pid
  h=$(netns_label "$1")
  pid=$(cat "$NETNS_DIR/etcd-$h.pid" 2>/dev/null) || return 0
  kill -"${2:-TERM}" "$pid" 2>/dev/null || true
  wait_pids_gone 10 "$pid" || { kill -9 "$pid" 2>/dev/null; wait_pids_gone 5 "$pid"; } || true
  rm -f "$NETNS_DIR/etcd-$h.pid"
}

etcd_status() {
  local h a
  h=$(netns_label "$1"); a=$(netns_addr "$h") || return 1
  netns_exec "$h" curl -sf -m "${2:-2}" -X POST "http://$a:2379/v3/maintenance/status" -d '{}'
}

etcd_healthy() {
  local s
  s=$(etcd_status "$1") || return 1
  "$NETNS_PY" -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if int(j.get("leader","0")) != 0 else 1)' "$s"
}

etcd_cluster_up() {
  local hosts=("$@") h ok
  [[ ${#hosts[@]} -gt 0 ]] || mapfile -t hosts < <(netns_hosts)
  netns_load
  : >"$NETNS_DIR/etcd_hosts"
  for h in "${hosts[@]}"; do echo "$(netns_label "$h")" >>"$NETNS_DIR/etcd_hosts"; done
  for h in $(cat "$NETNS_DIR/etcd_hosts"); do etcd_member_start "$h"; done
  for _ in $(seq 1 300); do
    ok=1
    for h in $(cat "$NETNS_DIR/etcd_hosts"); do etcd_healthy "$h" || { ok=0; break; }; done
    [[ $ok -eq 1 ]] && { ETCD_ENDPOINTS=$(etcd_endpoints); return 0; }
    sleep 0.1
  done
  for h in $(cat "$NETNS_DIR/etcd_hosts"); do tail -5 "$T/etcd/$h.log"; done
  fail "etcd cluster did not become healthy"
}

etcd_cluster_down() {
  local h
  for h in $(cat "$NETNS_DIR/etcd_hosts" 2>/dev/null); do etcd_member_stop "$h"; done
  return 0
}

etcdctl_in() { # FROM TIMEOUT ARGS...: etcdctl against FROM's own member, from inside FROM
  local h a t=$2
  h=$(netns_label "$1"); a=$(netns_addr "$h") || return 1
  shift 2
  ETCDCTL_API=3 netns_exec "$h" timeout $((t + 2)) etcdctl --endpoints "http://$a:2379" \
    --dial-timeout 1s --command-timeout "${t}s" "$@"
}
etcd_put() { etcdctl_in "$1" "${4:-3}" put "$2" "$3" >/dev/null; }
etcd_get() { etcdctl_in "$1" 3 get --print-value-only "$2"; }

# ---- PostgreSQL -------------------------------------------------------------------------

# shellcheck source=pg.sh
declare -F as_pg >/dev/null || source "$NETNS_HERE/pg.sh"

pg_host_datadir() { echo "$T/pg/$(netns_label "$1")"; }
pg_host_name() { cat "$(pg_host_datadir "$1").name" 2>/dev/null || echo "pg-$(netns_label "$1")"; }
pg_host_conninfo() { echo "host=$(netns_addr "$1") port=5432 user=postgres dbname=postgres${2:+ $2}"; }
pg_host_sql() {
  psql -X -q -A -t -h "$(pg_host_datadir "$1").sock" -p 5432 -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2"
}

# The per-host settings, in a file of their own that pg_basebackup copies and the standby rewrites.
pg_host_conf() {
  local h=$1 name=$2 d
  d=$(pg_host_datadir "$h")
  {
    echo "listen_addresses = '$(netns_addr "$h"),127.0.0.1'"
    echo "port = 5432"
    echo "unix_socket_directories = '$d.sock'"    # outside the data folder: not copied by basebackup
    echo "cluster_name = '$name'"
  } >"$d/host.conf"
  mkdir -p "$d.sock"
  chown postgres: "$d.sock"
  echo "$name" >"$d.name"
  chown postgres: "$d/host.conf" "$d.name" 2>/dev/null || true
}

# The postmaster is started as a child of the test's shell (in a session of its own), not through
# pg_ctl: orphans are reparented to PID 1, which does not reap in every sandbox, and a zombie
# postmaster makes PostgreSQL refuse the data folder ("lock file postmaster.pid already
# exists") after a kill -9. Bash reaps its own children.
pg_host_start() {
  local h d pid
  h=$(netns_label "$1"); d=$(pg_host_datadir "$h")
  grep -qx "$d" "$NETNS_DIR/pg_dirs" 2>/dev/null || echo "$d" >>"$NETNS_DIR/pg_dirs"
  ip netns exec "$(netns_ns "$h")" setsid setpriv --reuid=postgres --regid=postgres --init-groups -- \
    env HOME="$T" "$PGBIN/postgres" -D "$d" >>"$d.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    pg_isready -q -h "$d.sock" -p 5432 -t 1 && return 0
    pid_alive "$pid" || break
    sleep 0.1
  done
  tail -20 "$d.log"
  fail "PostgreSQL in $h did not start"
}

pg_host_stop() {
  local d
  d=$(pg_host_datadir "$1")
  as_pg "$PGBIN/pg_ctl" -D "$d" -m "${2:-fast}" -w -t 60 stop >/dev/null 2>&1 || true
}

pg_host_primary() {
  local h name conf=() d
  h=$(netns_label "$1"); shift
  name=pg-$h
  [[ $# -gt 0 && $1 != -- ]] && { name=$1; shift; }
  [[ ${1:-} == -- ]] && { shift; conf=("$@"); }
  d=$(pg_host_datadir "$h")
  mkdir -p "$T/pg" && chown postgres: "$T/pg" && chmod 755 "$T" "$T/pg"
  as_pg "$PGBIN/initdb" -D "$d" -A trust -U postgres --data-checksums --no-sync >"$d.initdb.log" 2>&1 ||
    { cat "$d.initdb.log"; fail "initdb failed"; return 1; }
  {
    echo "fsync = off"
    echo "wal_level = replica"
    echo "wal_keep_size = '256MB'"
    echo "hot_standby = on"
    echo "wal_receiver_status_interval = 1s"
    printf '%s\n' "${conf[@]}"
    echo "include 'host.conf'"
  } >>"$d/postgresql.conf"
  {
    echo "host all all $NETNS_NET.0/24 trust"
    echo "host replication all $NETNS_NET.0/24 trust"
    echo "host replication all 127.0.0.1/32 trust"
  } >>"$d/pg_hba.conf"
  pg_host_conf "$h" "$name"
  pg_host_start "$h"
}

pg_host_standby() {
  local h p name d pa
  h=$(netns_label "$1"); p=$(netns_label "$2"); name=${3:-pg-$h}
  d=$(pg_host_datadir "$h"); pa=$(netns_addr "$p")
  mkdir -p "$T/pg" && chown postgres: "$T/pg"
  netns_exec "$h" setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$T" \
    "$PGBIN/pg_basebackup" -d "host=$pa port=5432 user=postgres application_name=$name" \
    -D "$d" -R -X stream -c fast >"$d.basebackup.log" 2>&1 ||
    { cat "$d.basebackup.log"; fail "pg_basebackup from $p for $h failed"; return 1; }
  grep -q "application_name=$name" "$d/postgresql.auto.conf" ||
    echo "primary_conninfo = 'host=$pa port=5432 user=postgres application_name=$name'" >>"$d/postgresql.auto.conf"
  pg_host_conf "$h" "$name"
  pg_host_start "$h"
}

pg_host_wait_streaming() {
  local st
  for _ in $(seq 1 300); do
    st=$(pg_host_sql "$1" "select status from pg_stat_wal_receiver" 2>/dev/null || true)
    [[ $st == streaming ]] && return 0
    sleep 0.1
  done
  tail -10 "$(pg_host_datadir "$1").log"
  fail "$1's wal receiver is '$st', not streaming"
}

pg_datadir_procs() { proc_scan cwd "$1"; }
pg_host_procs() { pg_datadir_procs "$(pg_host_datadir "$1")"; }

# kill -9 of a cluster: the postmaster, its process group, its children, whatever works in its
# data folder; the children are collected before the postmaster dies (they are reparented after).
pg_kill_datadir() {
  local d=$1 pm="" pids=() p st
  [[ -f $d/postmaster.pid ]] && pm=$(head -1 "$d/postmaster.pid")
  if [[ $pm =~ ^[0-9]+$ ]] && pid_alive "$pm" && [[ $(readlink "/proc/$pm/cwd") == "$(realpath "$d")" ]]; then
    pids+=("$pm")
    mapfile -t -O 1 pids < <(proc_scan ppid "$pm")
    st=$(sed 's/.*) //' "/proc/$pm/stat" 2>/dev/null | cut -d' ' -f3)
    [[ $st == "$pm" ]] && { kill -9 -- "-$pm" 2>/dev/null || true; }
  fi
  mapfile -t -O "${#pids[@]}" pids < <(pg_datadir_procs "$d")
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -9 "${pids[@]}" 2>/dev/null || true
  # a child forked in the meantime works in the data folder too
  mapfile -t -O "${#pids[@]}" pids < <(pg_datadir_procs "$d")
  kill -9 "${pids[@]}" 2>/dev/null || true
  wait_pids_gone 10 "${pids[@]}" || { fail "postgres processes of $d survived kill -9"; return 1; }
}
pg_host_kill() { pg_kill_datadir "$(pg_host_datadir "$1")"; }

# ---- HAProxy ----------------------------------------------------------------------------

haproxy_cfg_pg() {
  local port=$1 h; shift
  cat <<EOF
global
  maxconn 200
defaults
  mode tcp
  timeout connect 1s
  timeout client 30m
  timeout server 30m
listen pg
  bind *:$port
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
EOF
  for h in "$@"; do echo "  server $(netns_label "$h") $(netns_addr "$h"):5432 check"; done
}

haproxy_up() {
  local cfg=$1 host=${2:-client} port=${3:-}
  haproxy -c -f "$cfg" >"$T/haproxy.check" 2>&1 || { cat "$T/haproxy.check"; fail "bad haproxy config"; return 1; }
  ip netns exec "$(netns_ns "$host")" haproxy -db -f "$cfg" >"$T/haproxy.log" 2>&1 &
  echo $! >"$NETNS_DIR/haproxy.pid"
  [[ -n $port ]] || return 0
  for _ in $(seq 1 100); do
    netns_exec "$host" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
    pid_alive "$(cat "$NETNS_DIR/haproxy.pid")" || break
    sleep 0.05
  done
  cat "$T/haproxy.log"
  fail "haproxy is not listening on $port"
}

haproxy_down() {
  local pid
  pid=$(cat "$NETNS_DIR/haproxy.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  wait_pids_gone 5 "$pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$NETNS_DIR/haproxy.pid"
}
