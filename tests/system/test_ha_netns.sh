# PostgreSQL high availability across three hosts (`[coordination] backend = etcd`):
# hosts h1..h3 are network namespaces (netns.sh), each with an etcd member, a PostgreSQL
# 15 server (h1 primary, h2 and h3 streaming standbys) and a lifeline agent running as
# the database's user; HAProxy in the client namespace, configured by `lifeline
# proxy-config` as is; ha_writer.py commits numbered rows through it and
# ha_probe_writers.py tries a write on every member directly every 200 ms. One fault per
# test: host loss (asynchronous, and with `synchronous = on`), database loss alone, the
# primary's server paused (SIGSTOP), a switchover there and back, the primary's agent
# paused (shorter, then longer than the lease), the primary's host partitioned from the
# store and the other hosts, an etcd member lost, the primary's agent lost alone (killed,
# restarted), one-way partitions (the primary's host receives nothing, then sends
# nothing). In every test no two members ever accept writes in the same probe tick. The
# tests that fail over run with `synchronous = on` (HAN_SYNC), where no acknowledged row
# may be lost (han_verdict asserts it), except the asynchronous host loss, which prints
# its loss; a switchover and the faults without a failover lose nothing either way.

source "$HERE/netns.sh"

HAN_TTL_S=${HAN_TTL_S:-4}
# Pre-vote (the default from etcd 3.5 on; off in Debian's 3.4): a member cut off and
# healed does not force an election with its raised term. Without it, the heal in the
# partition test stalls etcd for seconds and the new primary's lease runs out by its
# own clock (a correct fence, and a needless second failover).
export ETCD_EXTRA_ARGS=${ETCD_EXTRA_ARGS:---pre-vote}

han_skip() {
  local r
  r=$(netns_skip_reason)
  [[ -z $r ]] || { echo "skipped: $r"; return 0; }
  r=$(pg_skip_reason)
  [[ -z $r ]] || { echo "skipped: $r"; return 0; }
  [[ -x /usr/bin/etcd ]] || { echo "skipped: etcd-server is not installed"; return 0; }
  command -v haproxy >/dev/null || { echo "skipped: haproxy is not installed"; return 0; }
  "$NETNS_PY" -c 'import psycopg2' 2>/dev/null || { echo "skipped: no python3-psycopg2"; return 0; }
  return 1
}

now_ms() { date +%s%3N; }

# han_conf HOST: that host's agent configuration (its own etcd member first)
han_conf() {
  local h=$1 c=$T/agent-$1.conf m eps
  eps="http://$(netns_addr "$h"):2379"
  for m in h1 h2 h3; do [[ $m == "$h" ]] || eps+=" http://$(netns_addr $m):2379"; done
  cat >"$c" <<EOF
[watch]
node = $h
state-dir = $T/state-$h
listen = $(netns_addr "$h"):8008
loop = 1s
syslog = off

[coordination]
backend = etcd
endpoints = $eps
ttl = ${HAN_TTL_S}s

[postgres "main-db"]
members = pg-h1 pg-h2 pg-h3
synchronous = ${HAN_SYNC:-off}
EOF
  for m in h1 h2 h3; do
    cat >>"$c" <<EOF

[member "pg-$m"]
node = $m
conninfo = $(pg_host_conninfo $m)
data-dir = $(pg_host_datadir $m)
bin-dir = $PGBIN
agent = $(netns_addr $m):8008
priority = $([[ $m == h1 ]] && echo 100 || echo "${HAN_STANDBY_PRIORITY:-100}")
EOF
  done
  mkdir -p "$T/state-$h"
  chown postgres: "$c" "$T/state-$h"
}

# The agent of HOST, as the database's user, in HOST's namespace; its pid in $T/agent-HOST.pid
han_agent_start() {
  local h=$1
  ip netns exec "$(netns_ns "$h")" setpriv --reuid=postgres --regid=postgres --init-groups -- \
    env HOME="$T" "$T/lifeline" -c "$T/agent-$h.conf" watch >>"$T/agent-$h.log" 2>&1 &
  echo $! >"$T/agent-$h.pid"
  echo $! >>"$NETNS_DIR/pids"
}
han_agent_pid() { cat "$T/agent-$1.pid"; }

# han_status HOST: HOST's agent's status document (over HTTP from the client; 2 s at most)
han_status() { netns_exec client curl -sf -m 2 "http://$(netns_addr "$1"):8008/api/status"; }
# han_role HOST: the role of HOST's member as its own agent says it ("primary+lease" with the lease)
han_role() {
  local s
  s=$(han_status "$1") || { echo "unknown"; return 0; }
  "$NETNS_PY" -c '
import json, sys
j = json.loads(sys.argv[1])
m = [m for g in j["groups"] for m in g["members"] if m["name"] == sys.argv[2]][0]
print(m["role"] + ("+lease" if m["lease"] else ""))' "$s" "pg-$1"
}
# han_primary: the host whose agent says its member is the primary with the lease ("" when
# none or more than one do)
han_primary() {
  local h found=()
  for h in h1 h2 h3; do [[ $(han_role $h) == primary+lease ]] && found+=("$h"); done
  [[ ${#found[@]} -eq 1 ]] && echo "${found[0]}"
  return 0
}
# han_epoch HOST: the group's epoch as HOST's agent says it
han_epoch() {
  local s
  s=$(han_status "$1") || { echo "?"; return 0; }
  "$NETNS_PY" -c 'import json, sys; print(int(json.loads(sys.argv[1])["groups"][0]["epoch"]))' "$s"
}

han_wait() { # SECONDS CONDITION [WHAT]
  local until=$((SECONDS + $1))
  while ! eval "$2" >/dev/null 2>&1; do
    if [[ $SECONDS -ge $until ]]; then
      local h
      for h in h1 h2 h3; do echo "--- agent $h:"; grep -v DEBUG "$T/agent-$h.log" | tail -12; done
      fail "not within $1s: ${3:-$2}"
      return 1
    fi
    sleep 0.3
  done
}

# acks sent at or after MS
han_acks_after() { awk -v t="$1" '$2 >= t' "$T/acks" | wc -l; }

# The three hosts, etcd, PostgreSQL, the agents (h1's first: it adopts its primary),
# HAProxy from proxy-config, the writer and the probe.
han_up() {
  netns_up 3
  etcd_cluster_up
  pg_host_primary 1
  pg_host_standby 2 1
  pg_host_standby 3 1
  pg_host_wait_streaming 2
  pg_host_wait_streaming 3
  # the host's own settings inline: pg_rewind copies the source's files (host.conf too,
  # which would give h1 h2's address and socket) and the agent keeps only
  # postgresql.conf, postgresql.auto.conf, pg_hba.conf and pg_ident.conf
  local h d
  for h in h1 h2 h3; do
    d=$(pg_host_datadir $h)
    sed -i -e "/^include 'host.conf'/{r $d/host.conf" -e "d}" "$d/postgresql.conf"
    grep -q "^listen_addresses = '$(netns_addr $h)," "$d/postgresql.conf" || fail "host.conf not inlined for $h"
  done
  install -m 755 "$LL" "$T/lifeline"
  for h in h1 h2 h3; do han_conf $h; done
  han_agent_start h1
  han_wait 30 '[[ $(han_role h1) == primary+lease ]]' "h1's agent holds the lease"
  han_agent_start h2
  han_agent_start h3
  han_wait 30 '[[ $(han_role h2) == standby && $(han_role h3) == standby ]]' "h2 and h3 standbys"
  "$T/lifeline" -c "$T/agent-h1.conf" proxy-config main-db --listen-primary 5000 --listen-replica 5001 \
    >"$T/haproxy.cfg" || fail "proxy-config failed"
  haproxy_up "$T/haproxy.cfg" client 5000
  netns_spawn client "$T/writer.err" "$NETNS_PY" "$NETNS_HERE/ha_writer.py" \
    --dsn "host=127.0.0.1 port=5000 user=postgres dbname=postgres" --log "$T/acks"
  WRITER=$NETNS_PID
  netns_spawn client "$T/probe.out" "$NETNS_PY" "$NETNS_HERE/ha_probe_writers.py" --log "$T/probe" --json \
    --member "pg-h1=$(netns_addr 1):5432" --member "pg-h2=$(netns_addr 2):5432" \
    --member "pg-h3=$(netns_addr 3):5432"
  PROBE=$NETNS_PID
  han_wait 20 '[[ $(wc -l <"$T/acks") -ge 20 ]]' "the writer's first acknowledgements through HAProxy"
  EPOCH0=$(han_epoch h1)
  # synchronous mode: the fault comes once a standby is confirmed synchronous and published
  [[ ${HAN_SYNC:-off} == off ]] || han_wait 20 'SYNC0=$(han_sync_standby); [[ -n $SYNC0 ]]' "a synchronous standby confirmed and published"
}

han_down() {
  local h
  # HAN_KEEP=DIR: the agents' logs are kept there (the runner removes \$T)
  [[ -z ${HAN_KEEP:-} ]] || { mkdir -p "$HAN_KEEP"; cp "$T"/agent-h*.log "$T/writer.err" "$HAN_KEEP/" 2>/dev/null || true; }
  for h in h1 h2 h3; do
    [[ -f $T/agent-$h.pid ]] || continue
    kill -CONT "$(han_agent_pid $h)" 2>/dev/null || true
    kill -9 "$(han_agent_pid $h)" 2>/dev/null || true
  done
  netns_down
  return 0
}

# Stops the writer and the probe; fails on two writers in one tick; prints the writer's
# outage after FAULT_MS and the lost acknowledged rows on PRIMARY_HOST.
han_verdict() {
  local fault=$1 primary=$2
  kill -TERM "$WRITER" "$PROBE" 2>/dev/null || true
  wait "$WRITER" || true
  wait "$PROBE" || true
  OUT=$(cat "$T/probe.out")
  [[ $(json 'j["two_writers"]') == "[]" ]] || fail "two members accepted writes in one tick: $(json 'j["two_writers"][:3]')"
  local probe_sum=$OUT
  run_cmd "$NETNS_PY" "$NETNS_HERE/ha_check.py" --log "$T/acks" --fault-at "$fault" --json \
    --dsn "host=$(pg_host_datadir "$primary").sock user=postgres dbname=postgres"
  [[ $RC -eq 0 ]] || fail "ha_check exited $RC: $OUT $ERR"
  # for the caller: acknowledged rows missing on PRIMARY_HOST, the servers that acknowledged
  LOST=$(json 'j["missing"]'); SERVERS=$(json '" ".join(j["servers"])')
  [[ ${HAN_SYNC:-off} == off || $LOST == 0 ]] || fail "$LOST acknowledged rows lost with synchronous = $HAN_SYNC"
  echo "writer: $(json 'j["acknowledged"]') acknowledged, first acknowledgement after the fault $(json 'j["outage_ms"]') ms," \
    "longest gap $(json 'j["max_gap_ms"]') ms, acknowledged rows lost $LOST (synchronous = ${HAN_SYNC:-off}), servers $SERVERS"
  OUT=$probe_sum
  echo "probe: accepted $(json 'j["accepted"]'), two writers in no tick, switches" \
    "$(json '" -> ".join(s["member"] for s in j["switches"])')"
}

# han_all_stream_from PRIMARY_HOST: both other members stream from it directly (none from a
# standby that caught the old primary back before being pointed at the new one)
han_all_stream_from() {
  han_wait 25 "[[ \$(pg_host_sql $1 \"select count(*) from pg_stat_replication where state = 'streaming'\") == 2 ]]" \
    "both standbys stream from pg-$1 directly"
}

han_wait_rejoined() { # HOST PRIMARY_HOST: HOST streams from the primary again
  han_wait 45 "[[ \$(han_role $1) == standby && \$(pg_host_sql $1 'select status from pg_stat_wal_receiver') == streaming ]]" \
    "$1 rejoins as a streaming standby"
  han_wait 10 "[[ \$(pg_host_sql $2 \"select count(*) from pg_stat_replication where application_name = 'pg-$1'\") == 1 ]]" ||
    { pg_host_sql "$2" "select application_name, client_addr, state from pg_stat_replication";
      pg_host_sql "$1" "select status, sender_host, slot_name from pg_stat_wal_receiver"; fail "pg-$1 does not stream from pg-$2"; }
}

# han_lose_h1: h1's host lost (kill -9 of its agent, postmaster and every child at once),
# then a standby promoted; sets t0 (SECONDS at the kill), fault (its ms) and new (the host)
han_lose_h1() {
  local p
  t0=$SECONDS
  kill -9 "$(han_agent_pid h1)"
  pg_host_kill 1
  fault=$(now_ms)
  han_wait 40 'p=$(han_primary); [[ -n $p ]]' "a standby promoted"
  new=$p
}

# (1) host loss: kill -9 of h1's agent, postmaster and every child at once
t_ha_netns_host_loss() {
  han_skip && return 0
  trap han_down RETURN
  han_up
  local t0 fault new
  han_lose_h1
  echo "promoted: pg-$new after $((SECONDS - t0)) s (epoch $EPOCH0 -> $(han_epoch $new))"
  [[ $(han_epoch $new) -gt $EPOCH0 ]] || fail "the epoch did not increase"
  han_wait 20 '[[ $(han_acks_after $fault) -ge 5 ]]' "the writer resumes through HAProxy"
  echo "writes resumed $((SECONDS - t0)) s after the kill"
  # the other standby follows the new primary without a restart
  local other; other=$([[ $new == h2 ]] && echo h3 || echo h2)
  han_wait 30 "[[ \$(pg_host_sql $new \"select count(*) from pg_stat_replication where application_name = 'pg-$other'\") == 1 ]]" \
    "pg-$other streams from pg-$new"
  han_verdict "$fault" "$new"
  # the host comes back: its agent rewinds pg-h1 and makes it follow
  han_agent_start h1
  han_wait_rejoined h1 "$new"
  echo "h1 back: pg-h1 streams from pg-$new"
  han_all_stream_from "$new"
  han_down
  netns_assert_clean
}

# (2) database loss alone on the primary's host (its agent lives): restarted in place
# within the lease, or failed over
t_ha_netns_database_loss() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_SYNC=on # every acknowledged row must survive the fault
  han_up
  local t0 fault p
  t0=$SECONDS
  pg_host_kill 1
  fault=$(now_ms)
  han_wait 40 'p=$(han_primary); [[ -n $p && $(han_acks_after $fault) -ge 5 ]]' "writes resume"
  echo "writes resumed $((SECONDS - t0)) s after the kill, on pg-$p ($(grep -q 'restart main-db/pg-h1: ok\|back in place' "$T/agent-h1.log" && echo 'restarted in place' || echo 'failed over'))"
  han_verdict "$fault" "$p"
  han_down
  netns_assert_clean
}

# (2b) the primary's server paused (SIGSTOP of the postmaster and every child: a hung
# server that answers nothing and handles no signal) while its agent lives: after a ttl
# without an answer its agent kills it (a stop it must handle cannot end it), then
# restarts it in place or gives the lease up for a failover; writes resume, no two writers
t_ha_netns_database_pause() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_SYNC=on # every acknowledged row must survive the fault
  han_up
  local t0 fault p pids
  mapfile -t pids < <(pg_host_procs 1)
  [[ ${#pids[@]} -gt 1 ]] || fail "no postgres processes of pg-h1 to pause"
  t0=$SECONDS
  kill -STOP "${pids[@]}"
  fault=$(now_ms)
  han_wait 40 'p=$(han_primary); [[ -n $p && $(han_acks_after $fault) -ge 5 ]]' "writes resume"
  echo "writes resumed $((SECONDS - t0)) s after the pause, on pg-$p ($(grep -q 'back in place' "$T/agent-h1.log" && echo 'restarted in place' || echo 'failed over'))"
  grep -q "killed: it did not stop" "$T/agent-h1.log" || fail "pg-h1's agent did not say it killed the paused server"
  local alive=0 x
  for x in "${pids[@]}"; do [[ -d /proc/$x && $(awk '{print $3}' "/proc/$x/stat" 2>/dev/null) != Z ]] && alive=$((alive + 1)); done
  [[ $alive == 0 ]] || { kill -CONT "${pids[@]}" 2>/dev/null; fail "$alive paused postgres processes still there"; }
  han_verdict "$fault" "$p"
  han_down
  netns_assert_clean
}

# (2c) a planned switchover across hosts under the writer, asked of the primary's agent:
# to a named member (its agent on another host takes the key the old primary's agent
# hands over), then back without a name (the best standby): each loses no acknowledged
# row, the old primary follows the new one, the epoch increases, never two writers
han_switchover() { # HOST [--to MEMBER]: asked of HOST's agent, as the database's user
  local h=$1; shift
  run_cmd setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$T" "$T/lifeline" \
    -c "$T/agent-$h.conf" --json switchover main-db "$@"
}
t_ha_netns_switchover() {
  han_skip && return 0
  trap han_down RETURN
  han_up
  local fault e1 new
  fault=$(now_ms)
  han_wait 10 "[[ \$(han_acks_after $fault) -ge 5 ]]" "writes before the switchover"
  local s1 s2; s1=$(now_ms)
  han_switchover h1 --to pg-h2
  [[ $RC -eq 0 ]] || fail "switchover to pg-h2 exited $RC: $OUT $ERR"
  [[ $(json 'j["to"]') == pg-h2 && $(json 'j["from"]') == pg-h1 ]] || fail "switchover said: $OUT"
  echo "switchover pg-h1 -> pg-h2: $(json 'j["seconds"]') s from the fence to the new primary"
  han_wait 10 '[[ $(han_primary) == h2 ]]' "pg-h2 is the primary with the lease"
  e1=$(han_epoch h2)
  [[ $e1 -gt $EPOCH0 ]] || fail "the epoch did not increase: $EPOCH0 -> $e1"
  han_wait_rejoined h1 h2
  echo "  the writer's longest pause around it: $(han_pause_between "$s1" "$(now_ms)") ms"
  # back, to whichever standby is best, asked of the new primary's agent
  s2=$(now_ms)
  han_switchover h2
  [[ $RC -eq 0 ]] || fail "switchover without --to exited $RC: $OUT $ERR"
  new=$(json 'j["to"]'); new=${new#pg-}
  han_wait 10 "[[ \$(han_primary) == $new ]]" "pg-$new is the primary with the lease"
  [[ $(han_epoch "$new") -gt $e1 ]] || fail "the epoch did not increase after the second switchover"
  han_wait_rejoined h2 "$new"
  echo "switchover pg-h2 -> pg-$new: $(json 'j["seconds"]') s; the writer's longest pause: $(han_pause_between "$s2" "$(now_ms)") ms"
  local back; back=$(now_ms)
  han_wait 10 "[[ \$(han_acks_after $back) -ge 5 ]]" "writes go on after the second switchover"
  han_verdict "$fault" "$new"
  [[ $LOST == 0 ]] || fail "$LOST acknowledged rows lost in a switchover"
  # a switchover asked of an agent that does not manage the primary says where to ask
  han_switchover h2
  [[ $RC -ne 0 && $OUT$ERR == *"run the switchover on"* ]] || fail "a switchover asked of a standby's agent: $RC $OUT $ERR"
  han_down
  netns_assert_clean
}

# (3) the primary's agent paused: for a third of the ttl (no failover), then for three
# ttls (the others see the key expire but refuse to promote while pg-h1 still answers as
# a primary; on SIGCONT h1's agent fences its server at once, then a standby is promoted)
t_ha_netns_agent_pause() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_SYNC=on # every acknowledged row must survive the fault
  han_up
  local a fault t0 new p
  a=$(han_agent_pid h1)
  kill -STOP "$a"
  sleep "$(awk "BEGIN{print $HAN_TTL_S / 3}")"
  kill -CONT "$a"
  sleep $((HAN_TTL_S + 2))
  [[ $(han_role h1) == primary+lease ]] || fail "pg-h1 lost the lease after a pause of ttl/3: $(han_role h1)"
  [[ $(han_epoch h2) == "$EPOCH0" ]] || fail "the epoch changed after a short pause: $(han_epoch h2)"
  grep -q "promote main-db" "$T/agent-h2.log" "$T/agent-h3.log" && fail "a promotion after a short pause"
  echo "a pause of $(awk "BEGIN{print $HAN_TTL_S / 3}") s: no failover"

  fault=$(now_ms); t0=$SECONDS
  kill -STOP "$a"
  sleep $((3 * HAN_TTL_S))
  grep -q "promote main-db" "$T/agent-h2.log" "$T/agent-h3.log" &&
    { kill -CONT "$a"; fail "a standby was promoted while pg-h1 still answered as a primary"; }
  [[ $(pg_host_sql 1 "select pg_is_in_recovery()") == f ]] || fail "pg-h1 is not a primary during the pause"
  grep -q "still answers as a primary" "$T/agent-h2.log" "$T/agent-h3.log" ||
    fail "no refusal recorded while pg-h1 answered as a primary"
  kill -CONT "$a"
  han_wait 30 'p=$(han_primary); [[ -n $p && $p != h1 ]]' "a standby promoted after the paused agent fenced"
  new=$p
  grep -q "fence main-db/pg-h1" "$T/agent-h1.log" || fail "h1's agent did not fence pg-h1"
  echo "pause of $((3 * HAN_TTL_S)) s: promotion refused while pg-h1 answered; pg-$new promoted" \
    "$((SECONDS - t0)) s after the pause began"
  han_wait 20 '[[ $(han_acks_after $(( $(now_ms) - 1000 ))) -ge 3 ]]' "the writer resumes"
  han_wait_rejoined h1 "$new"
  han_verdict "$fault" "$new"
  han_down
  netns_assert_clean
}

# (4) h1 partitioned from etcd's majority and the other hosts (the client still reaches
# it): its agent cannot renew, fences its server within the ttl; the others promote after
# the key expires; after the heal h1 rejoins as a standby. With synchronous = on: the
# published synchronous standby is the one promoted, and no acknowledged row is lost (the
# cut-off primary's commits wait for a standby that no longer hears it)
t_ha_netns_partition() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_SYNC=on # the cut-off primary can acknowledge nothing its standbys lack
  han_up
  local fault t0 fenced_s new p sync
  han_wait 20 'sync=$(han_sync_standby); [[ -n $sync ]]' "a synchronous standby confirmed and published"
  fault=$(now_ms); t0=$SECONDS
  netns_partition h1 h2 h3
  han_wait $((HAN_TTL_S + 4)) '! pg_host_sql 1 "select 1"' "pg-h1 fenced (stopped) within the ttl"
  fenced_s=$((SECONDS - t0))
  han_wait 40 'p=$(han_primary); [[ -n $p && $p != h1 ]]' "a standby promoted"
  new=$p
  echo "pg-h1 fenced ${fenced_s} s after the partition; pg-$new promoted after $((SECONDS - t0)) s"
  han_wait 20 '[[ $(han_acks_after $fault) -ge 5 ]]' "the writer resumes through HAProxy"
  netns_heal h1
  han_wait_rejoined h1 "$new"
  [[ $(han_primary) == "$new" ]] || fail "a second failover after the heal: $(han_primary)"
  echo "healed: pg-h1 streams from pg-$new"
  [[ pg-$new == "$sync" ]] || fail "pg-$new promoted, not the synchronous standby $sync"
  han_verdict "$fault" "$new"
  [[ $LOST == 0 ]] || fail "$LOST acknowledged rows lost in synchronous mode"
  han_down
  netns_assert_clean
}

# (5) an etcd member lost (kill -9 of the etcd leader): no failover
t_ha_netns_etcd_member_lost() {
  han_skip && return 0
  trap han_down RETURN
  # the lease must outlast an etcd election plus the margin (the default ttl, 10 s, does);
  # the 4 s the other tests use for speed can lose it on a loaded 2-core machine
  HAN_TTL_S=8
  han_up
  local lead="" h s fault
  for h in h1 h2 h3; do
    s=$(etcd_status $h) || continue
    "$NETNS_PY" -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j["leader"] == j["header"]["member_id"] else 1)' "$s" &&
      lead=$h
  done
  [[ -n $lead ]] || fail "no etcd leader found"
  fault=$(now_ms)
  etcd_member_stop "$lead" KILL
  sleep $((3 * HAN_TTL_S))
  [[ $(han_role h1) == primary+lease ]] || fail "pg-h1 lost the lease when etcd's leader $lead died: $(han_role h1)"
  [[ $(han_epoch h2) == "$EPOCH0" ]] || fail "the epoch changed: $(han_epoch h2)"
  grep -q "promote main-db\|fence main-db" "$T"/agent-h*.log && fail "a fence or promotion after losing one etcd member"
  [[ $(han_acks_after $((fault + 2000))) -ge 20 ]] || fail "the writer stalled: $(han_acks_after $fault) acks since"
  echo "etcd leader $lead killed: pg-h1 kept the lease, no failover"
  han_verdict "$fault" h1
  han_down
  netns_assert_clean
}

# the writer's longest pause ending at or after MS: ms between two consecutive
# acknowledgements (the client's outage; the old primary may acknowledge for a while first)
# the writer's longest pause between two acknowledgements acknowledged from FROM to TO (ms)
han_pause_between() { awk -v a="$1" -v b="$2" '$3 >= a && $3 <= b && p && $3 - p > m { m = $3 - p } $3 <= b { p = $3 } END { print m + 0 }' "$T/acks"; }
han_pause_after() { awk -v t="$1" '$3 >= t && p && $3 - p > m { m = $3 - p } { p = $3 } END { print m + 0 }' "$T/acks"; }

# (6) the primary's agent lost alone (kill -9; pg-h1 runs on). The others see the key
# expire and refuse to promote while pg-h1 answers as a primary; HAProxy asks pg-h1's
# agent, so writes pause until it is back; restarted, it adopts pg-h1 and takes the lease
# back: no failover, no fence, nothing lost. Restarted after two ttls (the key had
# expired), then after 1 s (the key still there, as with the service's RestartSec below
# the ttl: the new process waits for it to expire, then adopts), then after two ttls
# again (refused and told again).
t_ha_netns_agent_loss() {
  han_skip && return 0
  trap han_down RETURN
  han_up
  local fault back down_s refusals=0 n
  fault=$(now_ms)
  for down_s in $((2 * HAN_TTL_S)) 1 $((2 * HAN_TTL_S)); do
    kill -9 "$(han_agent_pid h1)"
    sleep "$down_s"
    [[ $(pg_host_sql 1 "select pg_is_in_recovery()") == f ]] || fail "pg-h1 is no longer a primary without its agent"
    n=$(cat "$T/agent-h2.log" "$T/agent-h3.log" | grep -c "still answers as a primary")
    # each loss that outlasts the key is refused, and told (an incident, an alert), again
    [[ $down_s -le $HAN_TTL_S || $n -gt $refusals ]] ||
      fail "the key expired, but no refusal recorded while pg-h1 answered as a primary (refusals so far: $n)"
    refusals=$n
    han_agent_start h1
    back=$(now_ms)
    # the key expired: at once; else once it expires (a ttl at most), plus a round
    han_wait $((HAN_TTL_S + 4)) '[[ $(han_role h1) == primary+lease ]]' "h1's restarted agent takes the lease back"
    echo "agent down ${down_s} s: the restarted agent holds the lease $(($(now_ms) - back)) ms after its start"
    # HAProxy's next check of pg-h1's agent (downinter 250ms, rise 1)
    han_wait 5 '[[ $(han_acks_after $back) -ge 3 ]]' "the writer resumes through HAProxy"
    echo "  the writer's pause: $(han_pause_after "$back") ms"
  done
  grep -q "promote main-db\|fence main-db" "$T"/agent-h*.log && fail "a promotion or a fence after the agent's loss"
  han_verdict "$fault" h1
  [[ $LOST == 0 ]] || fail "$LOST acknowledged rows missing on pg-h1, which never stopped"
  [[ $SERVERS == "$(netns_addr h1)" ]] || fail "writes acknowledged by $SERVERS, not by pg-h1 alone"
  han_down
  netns_assert_clean
}

# (7) one-way partitions. pg-h1's host receives nothing from the other hosts (its INPUT
# from them dropped; it still sends to them, and the client still reaches it so that the
# probe sees what pg-h1 does): its agent cannot renew (its own etcd member loses the
# quorum, the others never answer), fences pg-h1 within the ttl; a standby is promoted
# once the key expired; healed, pg-h1 rewinds and follows. Then the new primary's host
# sends nothing to the other hosts (its OUTPUT to them dropped: its calls fail at once
# instead of timing out): the same again.
t_ha_netns_oneway_partition() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_SYNC=on # every acknowledged row must survive the fault
  han_up
  local fault f t0 fenced_ms p old=h1 new peer how prom
  fault=$(now_ms)
  for how in in out; do
    # the fault comes once the others know which standby has every acknowledged commit
    # (cut off before that, the primary leaves none they may promote: no failover)
    han_wait 20 "han_sync_seen $old" "a synchronous standby of pg-$old known to every agent"
    f=$(now_ms); t0=$SECONDS
    for peer in h1 h2 h3; do
      [[ $peer == "$old" ]] && continue
      if [[ $how == in ]]; then netns_partition_oneway "$old" "$peer"; else netns_partition_out "$old" "$peer"; fi
    done
    han_wait $((HAN_TTL_S + 4)) "! pg_host_sql $old 'select 1'" "pg-$old fenced (stopped) within the ttl"
    fenced_ms=$(($(now_ms) - f))
    han_wait 40 "p=\$(han_primary); [[ -n \$p && \$p != $old ]]" "a standby promoted"
    new=$p; prom=$(now_ms)
    echo "pg-$old's host cut one way ($how): fenced after ${fenced_ms} ms, pg-$new promoted after $((SECONDS - t0)) s"
    # (writes sent after the cut and before the fence were acknowledged by pg-$old)
    han_wait 20 "[[ \$(han_acks_after $prom) -ge 3 ]]" "the writer resumes through HAProxy"
    echo "  the writer's pause: $(han_pause_after "$f") ms"
    netns_heal "$old"
    han_wait_rejoined "$old" "$new"
    [[ $(han_primary) == "$new" ]] || fail "a second failover after the heal: $(han_primary)"
    echo "  healed: pg-$old streams from pg-$new $((SECONDS - t0)) s after the cut"
    old=$new
  done
  han_verdict "$fault" "$new"
  han_down
  netns_assert_clean
}

# han_sync_standby: the member pg-h1 confirms synchronous once h1's agent published it
# (4b) the primary's host partitioned when no standby may ever be promoted (priority 0):
# it fences itself within the ttl; nobody takes over (refused, told); once healed, its
# agent takes the key again and restarts it in place (it is still the latest primary: no
# key was taken meanwhile), nothing lost, never two writers
t_ha_netns_partition_no_candidate() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_STANDBY_PRIORITY=0
  han_up
  local fault t0 back
  fault=$(now_ms); t0=$SECONDS
  netns_partition h1 h2 h3
  han_wait $((HAN_TTL_S + 4)) '! pg_host_sql 1 "select 1"' "pg-h1 fenced (stopped) within the ttl"
  han_wait 10 'grep -q "no standby of main-db may be promoted" "$T/agent-h2.log" "$T/agent-h3.log"' \
    "the others refuse a failover with no candidate"
  sleep 2
  [[ -z $(han_primary) ]] || fail "a member was promoted although none may be: $(han_primary)"
  netns_heal h1
  back=$(now_ms)
  han_wait 20 '[[ $(han_role h1) == primary+lease ]]' "pg-h1 back in place as the primary with the lease"
  grep -q "back in place as the primary of main-db" "$T/agent-h1.log" || fail "the restart in place was not told"
  [[ $(han_epoch h1) -gt $EPOCH0 ]] || fail "the key was taken again without a new epoch"
  han_wait 20 "[[ \$(han_acks_after $back) -ge 5 ]]" "writes resume on pg-h1"
  echo "pg-h1 back as the primary $(( ($(now_ms) - back) / 1000 )) s after the heal (cut for $((SECONDS - t0)) s in all)"
  han_verdict "$fault" h1
  [[ $LOST == 0 ]] || fail "$LOST acknowledged rows lost: pg-h1 never stopped being the latest primary"
  han_down
  netns_assert_clean
}

# han_sync_seen PRIMARY_HOST: the synchronous standby the primary's server confirms, once
# every other host's agent has read it from the store (only then may it be promoted)
han_sync_seen() {
  local s h seen
  s=$(pg_host_sql "$1" "select application_name from pg_stat_replication where sync_state = 'sync'") || return 1
  [[ -n $s ]] || return 1
  for h in h1 h2 h3; do
    [[ $h == "$1" ]] && continue
    seen=$(han_status "$h" | "$NETNS_PY" -c 'import json, sys; print(json.load(sys.stdin)["groups"][0]["sync_standby"] or "")') || return 1
    [[ $seen == "$s" ]] || return 1
  done
  echo "$s"
}
han_sync_standby() {
  local s
  s=$(pg_host_sql 1 "select application_name from pg_stat_replication where sync_state = 'sync'") || return 1
  [[ -n $s ]] && grep -q "$s is the synchronous standby of main-db" "$T/agent-h1.log" && echo "$s"
}

# (8) synchronous = on, host loss of the primary under the writer: the synchronous
# standby, and only it, is promoted; every acknowledged row is on it
t_ha_netns_sync_host_loss() {
  han_skip && return 0
  trap han_down RETURN
  local HAN_SYNC=on
  han_up
  local sync since fault t0 p new
  han_wait 20 'sync=$(han_sync_standby); [[ -n $sync ]]' "a synchronous standby confirmed and published"
  since=$(now_ms)
  han_wait 10 "[[ \$(han_acks_after $since) -ge 10 ]]" "writes acknowledged in synchronous mode"
  # pg-h1's WAL stops reaching the standbys a second before its host dies (and never
  # arrives after: a dead host's kernel retransmits nothing): asynchronous, pg-h1 would
  # acknowledge rows no standby has (about 20: seen lost with synchronous = off);
  # synchronous, it must acknowledge none of them. This makes the count below able to fail.
  netns_partition_out h1 h2 -p tcp --sport 5432
  netns_partition_out h1 h3 -p tcp --sport 5432
  sleep 1
  han_lose_h1
  [[ pg-$new == "$sync" ]] || fail "pg-$new promoted, not the synchronous standby $sync"
  echo "synchronous standby $sync promoted after $((SECONDS - t0)) s"
  han_wait 20 '[[ $(han_acks_after $fault) -ge 5 ]]' "the writer resumes through HAProxy"
  han_verdict "$fault" "$new"
  [[ $LOST == 0 ]] || fail "$LOST acknowledged rows lost in synchronous mode"
  han_down
  netns_assert_clean
}
