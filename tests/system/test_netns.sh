# The multi-host harness itself (netns.sh and the ha_*.py tools), before the HA tests stand on
# it: hosts reach each other, partitions cut and heal, etcd across hosts, a primary and a
# streaming standby in two hosts, the writer through HAProxy, the checker and the probe that
# must fail when they should, kill -9 of a whole cluster, and nothing left afterwards.

source "$HERE/netns.sh"

netns_skip() {
  local r
  r=$(netns_skip_reason)
  [[ -n $r ]] && { echo "skipped: $r"; return 0; }
  return 1
}

# FROM TO: one ping answered (within 2 s) / none within half a second
pings() { netns_exec "$1" ping -c1 -W2 -q "$(netns_addr "$2")" >/dev/null 2>&1; }
cut_off() { ! netns_exec "$1" ping -c1 -W0.5 -q "$(netns_addr "$2")" >/dev/null 2>&1; }

# FROM TO: a UDP datagram sent from FROM arrives at TO
udp_arrives() {
  local to_addr
  to_addr=$(netns_addr "$2")
  netns_exec "$2" "$NETNS_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 9999)); s.settimeout(1.5)
try: s.recvfrom(100); print("got")
except socket.timeout: print("none")' "$to_addr" >"$T/udp.out" &
  local rx=$!
  sleep 0.3
  netns_exec "$1" "$NETNS_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3): s.sendto(b"x", (sys.argv[1], 9999))' "$to_addr"
  wait $rx || true
  [[ $(cat "$T/udp.out") == got ]]
}

t_netns_hosts_ping_and_cleanup() {
  netns_skip && return 0
  local before_ns before_links
  before_ns=$(ip netns list | sort)
  before_links=$(ip -o link | awk -F': ' '{print $2}' | sort)
  netns_up 3
  [[ $(netns_hosts | wc -l) -eq 3 ]] || fail "netns_hosts: $(netns_hosts)"
  for a in 1 2 3 client; do
    for b in 1 2 3 client; do
      [[ $a == "$b" ]] && continue
      pings "$a" "$b" || fail "$a cannot ping $b"
    done
  done
  [[ $(netns_exec h2 ip -4 -o addr show dev eth0 | awk '{print $4}') == "$(netns_addr 2)/24" ]] ||
    fail "h2's address is not $(netns_addr 2)/24"
  [[ $(netns_exec 1 ip -o link show lo) == *UP* ]] || fail "loopback is down in h1"
  # the machine's network is untouched: no new link, no route to our subnet
  [[ $(ip -o link | awk -F': ' '{print $2}' | sort) == "$before_links" ]] || fail "links appeared in the root namespace"
  ip -4 route | grep -qF "$NETNS_NET." && fail "a route to $NETNS_NET.0/24 in the root namespace"
  # a process started in a host is ended by netns_down
  netns_spawn 2 "$T/sleep.log" sleep 300
  local sleeper=$NETNS_PID
  netns_down
  netns_down     # idempotent
  pid_alive "$sleeper" && fail "the process spawned in h2 survived netns_down"
  netns_assert_clean
  [[ $(ip netns list | sort) == "$before_ns" ]] || fail "namespaces differ after netns_down: $(ip netns list)"
  [[ $(ip -o link | awk -F': ' '{print $2}' | sort) == "$before_links" ]] || fail "links differ after netns_down"

  # a failure midway (h3's namespace name already taken): netns_up fails, netns_down removes
  # everything this run made, and netns_assert_clean sees any straggler
  ip netns add "$(netns_prefix)-h3"
  rm -f "$NETNS_DIR/created"
  if (netns_up 3) 2>/dev/null; then fail "netns_up succeeded over a taken name"; fi
  ip netns list | grep -q "^$(netns_prefix)-h1" || fail "h1 was not created before the failure"
  netns_exec 1 sleep 300 &
  local straggler=$!
  sleep 0.2
  netns_down
  pid_alive "$straggler" && fail "a process left in h1 survived netns_down"
  netns_assert_clean
  [[ $(ip netns list | sort) == "$before_ns" ]] || fail "namespaces left after a failed netns_up: $(ip netns list)"
  echo "3 hosts + client ping each other; netns_down removes all, also after a failed netns_up"
}

t_netns_partitions() {
  netns_skip && return 0
  netns_up 3
  netns_partition 1
  cut_off 1 2 || fail "h1 reaches h2 across a partition"
  cut_off 3 1 || fail "h3 reaches h1 across a partition"
  pings 2 3 || fail "h2 and h3 are cut although not partitioned"
  pings client 1 || fail "the client was cut from h1 without being named"
  netns_heal 1
  pings 1 2 && pings 3 1 || fail "heal did not restore h1"
  # from named peers only, and from the client when named
  netns_partition 1 2 client
  cut_off 1 2 || fail "h1 reaches h2 (named peer)"
  cut_off client 1 || fail "the client reaches h1 (named)"
  pings 1 3 || fail "h1 cut from h3, which was not named"
  netns_heal 1
  pings 1 2 && pings client 1 || fail "heal did not restore h1 (named peers)"
  # one way: h1 no longer hears h2, h2 still hears h1
  netns_partition_oneway 1 2
  udp_arrives 2 1 && fail "h1 still receives from h2 after a one-way partition"
  udp_arrives 1 2 || fail "h2 no longer receives from h1: the partition is not one-way"
  udp_arrives 3 1 || fail "h1 no longer receives from h3"
  netns_heal 1
  udp_arrives 2 1 || fail "heal did not restore h2 -> h1"
  netns_down
  netns_assert_clean
  echo "partitions cut both ways and heal; one-way cuts one way only"
}

t_netns_etcd() {
  netns_skip && return 0
  [[ -x /usr/bin/etcd ]] || { echo "skipped: etcd-server is not installed"; return 0; }
  netns_up 3
  etcd_cluster_up
  [[ $(wc -w <<<"$ETCD_ENDPOINTS") -eq 3 ]] || fail "endpoints: $ETCD_ENDPOINTS"
  for h in 1 2 3; do etcd_healthy "$h" || fail "member $h unhealthy"; done
  local members
  members=$(etcdctl_in 1 3 member list | wc -l)
  [[ $members -eq 3 ]] || fail "$members members, wanted 3"
  etcd_put 1 k one
  [[ $(etcd_get 3 k) == one ]] || fail "h3 does not read what h1 wrote"
  # one member stopped: the other two still have a quorum
  etcd_member_stop 3
  etcd_healthy 3 && fail "the stopped member answers"
  etcd_put 1 k two || fail "no write with 2 of 3 members"
  etcd_member_start 3
  for _ in $(seq 1 100); do etcd_healthy 3 && break; sleep 0.1; done
  etcd_healthy 3 || fail "h3 did not come back"
  # a partitioned member cannot write; the other two can
  netns_partition 3
  local t0=$SECONDS
  etcd_put 3 k three 2 && fail "the partitioned member accepted a write"
  [[ $((SECONDS - t0)) -le 6 ]] || fail "the failed put took $((SECONDS - t0)) s"
  local okput=0
  for _ in $(seq 1 20); do etcd_put 1 k four 2 && { okput=1; break; }; sleep 0.2; done
  [[ $okput -eq 1 ]] || fail "the majority could not write while h3 was partitioned"
  netns_heal 3
  # (the put that timed out on h3 may still be applied after the heal: a timeout is not a failure)
  local v1="" v3=""
  for _ in $(seq 1 50); do
    v1=$(etcd_get 1 k 2>/dev/null) && v3=$(etcd_get 3 k 2>/dev/null) && [[ -n $v1 && $v1 == "$v3" ]] && break
    sleep 0.2
  done
  [[ -n $v1 && $v1 == "$v3" ]] || fail "h3 did not catch up after heal: h1 reads '$v1', h3 '$v3'"
  netns_down
  netns_assert_clean
  echo "3 etcd members across hosts: healthy, survive one stopped, a partitioned one cannot write"
}

t_netns_postgres() {
  netns_skip && return 0
  [[ -z $(pg_skip_reason) ]] || { echo "skipped: $(pg_skip_reason)"; return 0; }
  command -v haproxy >/dev/null || { echo "skipped: haproxy is not installed"; return 0; }
  "$NETNS_PY" -c 'import psycopg2' 2>/dev/null || { echo "skipped: no python3-psycopg2"; return 0; }
  netns_up 2
  pg_host_primary 1 pg-a
  pg_host_standby 2 1 pg-b
  pg_host_wait_streaming 2
  [[ $(pg_host_sql 1 "select application_name || ':' || state from pg_stat_replication") == pg-b:streaming ]] ||
    fail "the primary does not see pg-b streaming: $(pg_host_sql 1 'select * from pg_stat_replication')"
  [[ $(pg_host_sql 1 "show data_checksums") == on ]] || fail "no data checksums"
  [[ $(pg_host_sql 2 "select pg_is_in_recovery()") == t ]] || fail "h2 is not a standby"
  [[ $(netns_exec client psql -X -A -t -h "$(netns_addr 1)" -U postgres -d postgres -c 'select 1') == 1 ]] ||
    fail "the client cannot reach the primary over the network"

  haproxy_cfg_pg 5000 1 >"$T/haproxy.cfg"
  haproxy_up "$T/haproxy.cfg" client 5000
  netns_spawn client "$T/writer.err" "$NETNS_PY" "$NETNS_HERE/ha_writer.py" \
    --dsn "host=127.0.0.1 port=5000 user=postgres dbname=postgres" --log "$T/acks"
  local writer=$NETNS_PID
  netns_spawn client "$T/probe.out" "$NETNS_PY" "$NETNS_HERE/ha_probe_writers.py" --log "$T/probe" --json \
    --member "pg-a=$(netns_addr 1):5432" --member "pg-b=$(netns_addr 2):5432"
  local probe=$NETNS_PID
  sleep 3
  kill -TERM "$writer" "$probe"
  wait "$writer" || fail "the writer exited $?: $(cat "$T/writer.err")"
  wait "$probe" || fail "the probe exited $?"
  local acks
  acks=$(wc -l <"$T/acks")
  [[ $acks -ge 30 ]] || fail "only $acks acknowledgements in 3 s: $(cat "$T/writer.err")"
  run_cmd "$NETNS_PY" "$NETNS_HERE/ha_check.py" --log "$T/acks" --dsn "host=$(pg_host_datadir 1).sock user=postgres dbname=postgres" \
    --fail-on-loss --json
  [[ $RC -eq 0 ]] || fail "ha_check exited $RC: $OUT $ERR"
  [[ $(json 'j["missing"]') == 0 && $(json 'j["acknowledged"]') == "$acks" ]] || fail "ha_check: $OUT"
  [[ $(json 'j["max_gap_ms"] < 1000') == True ]] || fail "a gap in a healthy run: $OUT"
  [[ $(json 'j["servers"]') == "['$(netns_addr 1)']" ]] || fail "writes were not all on h1: $OUT"
  OUT=$(cat "$T/probe.out")
  [[ $(json 'j["two_writers"]') == "[]" ]] || fail "two writers in a healthy pair: $OUT"
  [[ $(json 'j["accepted"]["pg-a"] >= 10 and j["accepted"]["pg-b"] == 0') == True ]] || fail "probe: $OUT"
  echo "writer: $acks acknowledged through haproxy, none lost; probe: only pg-a accepted"

  # the checker fails when acknowledged rows are gone
  pg_host_sql 1 "delete from ha_writes where n in (5, 7)"
  run_cmd "$NETNS_PY" "$NETNS_HERE/ha_check.py" --log "$T/acks" --dsn "host=$(pg_host_datadir 1).sock user=postgres dbname=postgres" \
    --fail-on-loss --json
  [[ $RC -eq 1 && $(json 'j["missing_first"]') == "[5, 7]" ]] || fail "ha_check missed a loss: rc $RC $OUT"
  # the probe fails when both accept writes (pg-b promoted behind pg-a's back)
  as_pg "$PGBIN/pg_ctl" -D "$(pg_host_datadir 2)" -w promote >/dev/null
  run_cmd netns_exec client "$NETNS_PY" "$NETNS_HERE/ha_probe_writers.py" --log "$T/probe2" --json --fail-on-two \
    --duration 1 --member "pg-a=$(netns_addr 1):5432" --member "pg-b=$(netns_addr 2):5432"
  [[ $RC -eq 1 && $(json 'len(j["two_writers"]) >= 3') == True ]] || fail "the probe missed two writers: rc $RC $OUT"

  # kill -9 of the postmaster and every child: nothing of that cluster is left
  local pm before
  pm=$(head -1 "$(pg_host_datadir 1)/postmaster.pid")
  before=$(pg_host_procs 1 | wc -l)
  [[ $before -ge 5 ]] || fail "only $before processes in h1's cluster"
  pg_host_kill 1
  [[ -z $(pg_host_procs 1) ]] || fail "processes of h1's cluster left: $(pg_host_procs 1)"
  pid_alive "$pm" && fail "the postmaster $pm survived"
  [[ -n $(pg_host_procs 2) ]] || fail "h2's cluster was killed too"
  # and it starts again (crash recovery) from the same folder
  pg_host_start 1
  [[ $(pg_host_sql 1 "select count(*) > 0 from ha_writes") == t ]] || fail "h1 lost its rows"
  netns_down
  netns_assert_clean
  echo "kill -9 took $before processes of h1's cluster and left none; everything removed"
}
