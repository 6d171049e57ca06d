# PostgreSQL high availability on one host (`[coordination] backend = local`): a real
# primary and streaming standby, the agent (as the database's user) adopting them,
# failover when the primary's postmaster and every child are killed, the old primary
# rejoining as a standby, switchover with zero loss, a split-brain made by hand.
source "$HERE/pg.sh"

# ha_pair: pg-a primary on $PA, pg-b its streaming standby on $PB (checksums, so a
# rewind is possible, unless HA_INITDB_OPTS says otherwise), the agent's configuration
# in $CONF. Sets HP (the agent's HTTP). $PA may be chosen before; $HA_PA_CONF: more
# lines for pg-a's postgresql.conf (pg-b copies them).
ha_pair() {
  local r; r=$(pg_skip_reason); [[ -z $r ]] || { echo "skipped: $r"; return 1; }
  PA=${PA:-$(free_port)} PB=$(free_port) HP=$(free_port)
  chmod 755 "$T"; [[ $(id -u) -ne 0 ]] || chown postgres: "$T"
  # sockets outside the data folders: pg_rewind copies what is in the source's
  mkdir -p "$T/sock"; [[ $(id -u) -ne 0 ]] || chown postgres: "$T/sock"
  as_pg "$PGBIN/initdb" -D "$T/pa" -A trust -U postgres ${HA_INITDB_OPTS---data-checksums} --no-sync >"$T/initdb.log" 2>&1 ||
    { cat "$T/initdb.log"; fail "initdb failed"; }
  # wal_keep_size: a former primary is rewound from its WAL back to the last common
  # checkpoint (the README's requirement)
  printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\nwal_level = replica\nwal_keep_size = '256MB'\n" \
    "$PA" "$T/sock" >>"$T/pa/postgresql.conf"
  [[ -z ${HA_PA_CONF:-} ]] || printf '%s\n' "$HA_PA_CONF" >>"$T/pa/postgresql.conf"
  echo "host replication all 127.0.0.1/32 trust" >>"$T/pa/pg_hba.conf"
  as_pg "$PGBIN/pg_ctl" -D "$T/pa" -l "$T/pa.log" -w -t 60 start >/dev/null || { cat "$T/pa.log"; fail "no primary"; }
  PG_STARTED+=("$T/pa")
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PA" -U postgres -D "$T/pb" -R -X stream ||
    fail "pg_basebackup failed"
  sed -i "s/^port = .*/port = $PB/" "$T/pb/postgresql.conf"
  sed -i "s/^primary_conninfo = '/primary_conninfo = 'application_name=pg-b /" "$T/pb/postgresql.auto.conf"
  as_pg "$PGBIN/pg_ctl" -D "$T/pb" -l "$T/pb.log" -w -t 60 start >/dev/null || { cat "$T/pb.log"; fail "no standby"; }
  PG_STARTED+=("$T/pb")
  install -m 755 "$LL" "$T/lifeline"
  CONF=$T/ha.conf
  cat >"$CONF" <<CONF
[watch]
node = n1
state-dir = $T/wstate
listen = 127.0.0.1:$HP
loop = 1s
syslog = off

[coordination]
backend = local
ttl = 4s

[postgres "main-db"]
members = pg-a pg-b

[member "pg-a"]
node = n1
conninfo = host=127.0.0.1 port=$PA user=postgres dbname=postgres
data-dir = $T/pa
bin-dir = $PGBIN

[member "pg-b"]
node = n1
conninfo = host=127.0.0.1 port=$PB user=postgres dbname=postgres
data-dir = $T/pb
bin-dir = $PGBIN
CONF
  [[ $(id -u) -ne 0 ]] || chown postgres: "$CONF"
}

# The agent as the database's user; setpriv and env exec, so $AGENT is the agent itself.
ha_agent_start() {
  if [[ $(id -u) -eq 0 ]]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$T" "$T/lifeline" -c "$CONF" watch \
      >>"$T/agent.log" 2>&1 &
  else
    "$T/lifeline" -c "$CONF" watch >>"$T/agent.log" 2>&1 &
  fi
  AGENT=$!
  wait_for 15 "[[ -S $T/wstate/control.sock ]]"
}
ha_agent_stop() { if kill "$AGENT" 2>/dev/null; then wait "$AGENT" 2>/dev/null || true; fi; }
ha_cleanup() { ha_agent_stop; pg_stop_all; }
# ha_role MEMBER: its role as the agent reports it ("primary+lease" when it holds the lease)
ha_role() {
  run_cmd as_pg "$T/lifeline" -c "$CONF" --json status
  json "[m['role'] + ('+lease' if m['lease'] else '') for g in j['groups'] for m in g['members'] if m['name'] == '$1'][0]"
}
wait_for() {
  local until=$((SECONDS + $1))
  while ! eval "$2" >/dev/null 2>&1; do
    [[ $SECONDS -lt $until ]] || { echo "--- agent log:"; tail -30 "$T/agent.log"; fail "not within $1s: $2"; return 1; }
    sleep 0.3
  done
}
# kill -9 of a member's postmaster and every child of it
ha_kill_member() {
  local pid; pid=$(head -1 "$T/$1/postmaster.pid")
  kill -9 $(pgrep -P "$pid") "$pid" 2>/dev/null || true
}

# HAProxy from `lifeline proxy-config`, in front of the group; sets PXP (its primary port).
ha_proxy_start() {
  command -v haproxy >/dev/null || { echo "no haproxy: the writer is not routed through it"; return 1; }
  PXP=$(free_port)
  run_cmd "$LL" -c "$CONF" proxy-config --listen-primary "127.0.0.1:$PXP" --listen-replica "127.0.0.1:$(free_port)"
  [[ $RC -eq 0 ]] || fail "proxy-config: $ERR"
  printf '%s\n' "$OUT" >"$T/haproxy.cfg"
  haproxy -c -f "$T/haproxy.cfg" >/dev/null || fail "haproxy refuses the generated configuration"
  haproxy -f "$T/haproxy.cfg" -db >"$T/haproxy.log" 2>&1 &
  PROXY=$!
}
ha_cleanup() { [[ -n ${WRITER:-} ]] && kill "$WRITER" 2>/dev/null; [[ -n ${PROXY:-} ]] && kill "$PROXY" 2>/dev/null; ha_agent_stop; pg_stop_all; }

t_ha_local_failover_and_rejoin() {
  ha_pair || return 0
  trap ha_cleanup RETURN
  ha_agent_start
  wait_for 20 '[[ $(ha_role pg-a) == primary+lease && $(ha_role pg-b) == standby ]]'
  pg_sql "$PA" "create table t(n int); insert into t values (1)"
  wait_for 10 '[[ $(pg_val $PB "select count(*) from t") == 1 ]]'
  # a writer through HAProxy, which asks the agent where the primary is
  if ha_proxy_start && /usr/bin/python3 -c 'import psycopg2' 2>/dev/null; then
    wait_for 10 "pg_sql $PXP 'select 1'"
    /usr/bin/python3 "$HERE/ha_writer.py" --dsn "host=127.0.0.1 port=$PXP user=postgres dbname=postgres" \
      --log "$T/acks" 2>"$T/writer.err" &
    WRITER=$!
    wait_for 10 '[[ -s $T/acks ]]'
  fi
  before=$(wc -l <"$T/acks" 2>/dev/null || echo 0)
  kill_ms=$(date +%s%3N)
  ha_kill_member pa
  wait_for 20 '[[ $(ha_role pg-b) == primary+lease ]]'
  [[ $(pg_val "$PB" "select pg_is_in_recovery()") == f ]] || fail "pg-b is not a primary"
  pg_sql "$PB" "insert into t values (2)"
  if [[ -n ${WRITER:-} ]]; then
    # pg-a is dead: acknowledgements after the kill came from pg-b, through HAProxy
    wait_for 20 "[[ \$(wc -l <$T/acks) -gt $((before + 5)) ]]"
    kill "$WRITER"; wait "$WRITER" 2>/dev/null || true; WRITER=
    /usr/bin/python3 "$HERE/ha_check.py" --log "$T/acks" --fault-at "$kill_ms" \
      --dsn "host=127.0.0.1 port=$PB user=postgres dbname=postgres" >"$T/check.out" 2>&1 || true
    echo "writer through HAProxy: $(tr '\n' ' ' <"$T/check.out" | cut -c1-300)"
  fi
  # the old primary comes back as a standby of the new one
  wait_for 60 '[[ $(ha_role pg-a) == standby ]]'
  wait_for 20 '[[ $(pg_val $PA "select count(*) from t") == 2 ]]' || { tail -20 "$T/lifeline-pa.log"; pg_sql "$PB" "select * from pg_stat_replication"; pg_sql "$PA" "select * from pg_stat_wal_receiver"; false; }
  grep -q "promote main-db/pg-b" "$T/agent.log" || fail "no promotion recorded"
  grep -q "rejoin main-db/pg-a" "$T/agent.log" || fail "no rejoin recorded"
  # with checksums it is rewound, not rebuilt
  grep -q "pg-a follows pg-b (rewound)" "$T/agent.log" || fail "pg-a was not rejoined by pg_rewind"
  ! grep -q "rebuild main-db/pg-a" "$T/agent.log" || fail "pg-a was rebuilt although it could be rewound"
  run_cmd as_pg "$T/lifeline" -c "$CONF" --json incidents
  [[ $(json "len([i for i in j['incidents'] if i['target'] == 'main-db'])") -ge 1 ]] || fail "no incident: $OUT"
}

t_ha_switchover_loses_nothing_and_split_brain_is_fenced() {
  ha_pair || return 0
  trap ha_cleanup RETURN
  ha_agent_start
  wait_for 20 '[[ $(ha_role pg-a) == primary+lease && $(ha_role pg-b) == standby ]]'
  pg_sql "$PA" "create table t(n int)"
  # a writer acknowledging each row while the switchover runs
  ( for i in $(seq 1 150); do
      for p in "$PA" "$PB"; do
        pg_sql "$p" "insert into t values ($i)" >/dev/null 2>&1 && { echo "$i" >>"$T/acked"; break; }
      done
      sleep 0.02
    done ) &
  W=$!
  sleep 1
  run_cmd as_pg "$T/lifeline" -c "$CONF" switchover main-db --to pg-b
  [[ $RC -eq 0 ]] || fail "switchover: $OUT $ERR"
  grep -q "switched over from pg-a to pg-b" <<<"$OUT" || fail "switchover said: $OUT"
  wait $W
  missing=$(python3 -c "
import subprocess
have = set(subprocess.run(['psql','-X','-A','-t','-h','127.0.0.1','-p','$PB','-U','postgres','-d','postgres','-c','select n from t'],capture_output=True,text=True).stdout.split())
print([a for a in open('$T/acked').read().split() if a not in have])")
  [[ $missing == "[]" ]] || fail "acknowledged rows lost in the switchover: $missing"
  wait_for 30 '[[ $(ha_role pg-a) == standby ]]'
  # a member promoted by hand behind the agent's back: fenced, the group held
  as_pg "$PGBIN/pg_ctl" -D "$T/pa" promote -w >/dev/null
  wait_for 15 'grep -q "split-brain in main-db" "$T/agent.log"'
  wait_for 15 '[[ $(ha_role pg-a) != primary* ]]'
  [[ $(ha_role pg-b) == primary+lease ]] || fail "the lease holder was fenced"
  held() { run_cmd as_pg "$T/lifeline" -c "$CONF" --json status; [[ $(json "j['groups'][0]['held'] is not None") == True ]]; }
  wait_for 10 held
}

# synchronous = on: the agent makes pg-b the synchronous standby and publishes it only
# once the server says so; after the primary's death, every acknowledged row is there.
t_ha_sync_failover_loses_no_acknowledged_write() {
  ha_pair || return 0
  /usr/bin/python3 -c 'import psycopg2' 2>/dev/null || { echo "skipped: no python3-psycopg2 for the writer"; return 0; }
  trap ha_cleanup RETURN
  sed -i 's/^members = pg-a pg-b$/members = pg-a pg-b\nsynchronous = on/' "$CONF"
  ha_agent_start
  sync_of() { run_cmd as_pg "$T/lifeline" -c "$CONF" --json status; json "j['groups'][0]['sync_standby']"; }
  wait_for 30 '[[ $(sync_of) == pg-b ]]'
  [[ $(pg_val "$PA" "select sync_state from pg_stat_replication where application_name = 'pg-b'") == sync ]] ||
    fail "pg-b is published as synchronous but the primary does not say so"
  /usr/bin/python3 "$HERE/ha_writer.py" --dsn "host=127.0.0.1 port=$PA user=postgres dbname=postgres" \
    --log "$T/acks" 2>"$T/writer.err" &
  WRITER=$!
  wait_for 10 '[[ $(wc -l <$T/acks) -ge 20 ]]'
  ha_kill_member pa
  wait_for 20 '[[ $(ha_role pg-b) == primary+lease ]]'
  kill "$WRITER"; wait "$WRITER" 2>/dev/null || true; WRITER=
  /usr/bin/python3 "$HERE/ha_check.py" --log "$T/acks" --fail-on-loss \
    --dsn "host=127.0.0.1 port=$PB user=postgres dbname=postgres" >"$T/check.out" 2>&1 ||
    fail "acknowledged rows lost in synchronous mode: $(cat "$T/check.out")"
  echo "synchronous failover: $(tr '\n' ' ' <"$T/check.out" | cut -c1-200)"
  # pg-b runs alone until pg-a is back: said once (a warning and an alert), not every tick
  sleep 4
  local told
  told=$(grep -c "no streaming standby for main-db" "$T/agent.log" || true)
  [[ $told -le 1 ]] || fail "'no streaming standby' told $told times in 4 s"
}

# A former primary that cannot be rewound (no checksums, wal_log_hints off) and whose
# WAL went past the point where the new primary's timeline forked off: the agent moves
# its data directory aside and rebuilds it from the repository (backup-source: a base
# backup and the WAL archive), as a streaming standby of the new primary.
t_ha_rejoin_rebuilds_from_the_repository() {
  [[ -z $(pg_skip_reason) ]] || { echo "skipped: $(pg_skip_reason)"; return 0; }
  trap ha_cleanup RETURN
  new_repo
  PA=$(free_port)
  pg_setup_lifeline "$PA" # the key file, $T/lifeline and $T/ll.conf (what archive_command uses)
  HA_INITDB_OPTS="" HA_PA_CONF=$(pg_archive_conf) ha_pair || return 0
  sed -i 's/^members = pg-a pg-b$/members = pg-a pg-b\nbackup-source = main-db/' "$CONF"
  cat >>"$CONF" <<CONF

[repository]
path = $REPO
key-file = $T/wal.key

[source "main-db"]
type = postgres
conninfo = host=127.0.0.1 port=$PA user=postgres dbname=postgres
CONF
  [[ $(pg_val "$PA" "show wal_log_hints") == off && $(pg_val "$PA" "show data_checksums") == off ]] ||
    fail "pg-a could be rewound: the test needs a member that cannot"
  pg_sql "$PA" "create table t(n int); insert into t values (1)"
  run_cmd as_pg "$T/lifeline" -c "$CONF" backup --source main-db
  [[ $RC -eq 0 ]] || fail "backup: $OUT $ERR"
  pg_sql "$PA" "insert into t values (2)"
  ha_agent_start
  wait_for 20 '[[ $(ha_role pg-a) == primary+lease && $(ha_role pg-b) == standby ]]'
  wait_for 10 '[[ $(pg_val $PB "select count(*) from t") == 2 ]]'
  grep -q "pg-a cannot be rewound after a failover" "$T/agent.log" || fail "no warning at start about pg-a's rewind"
  # pg-b stops receiving (pg-a refuses its replication connections), then pg-a commits
  # rows pg-b never gets and dies: its WAL goes past the fork of pg-b's new timeline
  sed -i '/^host[[:space:]]\+replication/d' "$T/pa/pg_hba.conf"
  pg_sql "$PA" "select pg_reload_conf()" >/dev/null
  pg_sql "$PA" "select pg_terminate_backend(pid) from pg_stat_replication" >/dev/null
  wait_for 10 '[[ $(pg_val $PA "select count(*) from pg_stat_replication") == 0 ]]'
  pg_sql "$PA" "insert into t select generate_series(1000, 1099)"
  # where the old data would go (epoch 2: the promotion's) is taken: refused, not overwritten
  mkdir "$T/pa.lifeline-old-2" && echo keep >"$T/pa.lifeline-old-2/marker" && chown -R postgres: "$T/pa.lifeline-old-2"
  ha_kill_member pa
  echo "host replication all 127.0.0.1/32 trust" >>"$T/pa/pg_hba.conf"
  [[ $(pg_val "$PB" "select count(*) from t where n >= 1000") == 0 ]] || fail "pg-b received the rows after the cut"
  wait_for 30 '[[ $(ha_role pg-b) == primary+lease ]]'
  pg_sql "$PB" "insert into t values (3)"
  wait_for 60 'grep -q "rebuild main-db/pg-a.*pa.lifeline-old-2 already exists" "$T/agent.log"'
  wait_for 10 'grep -q "automation is held for pg-a" "$T/agent.log"'
  [[ $(cat "$T/pa.lifeline-old-2/marker") == keep && -f $T/pa/PG_VERSION ]] || fail "the refused rebuild moved something"
  sleep 16 # more than the 15 s between tries: held, not tried again
  [[ $(grep -c "rebuild main-db/pg-a.*already exists" "$T/agent.log") == 1 ]] || fail "a held member was tried again"
  # a person clears the way and resumes the member
  rm -rf "$T/pa.lifeline-old-2"
  run_cmd as_pg "$T/lifeline" -c "$CONF" resume main-db/pg-a
  [[ $RC -eq 0 ]] || fail "resume main-db/pg-a: $ERR"
  t0=$SECONDS
  # pg-a comes back as a streaming standby of pg-b, rebuilt from the repository
  wait_for 180 '[[ $(pg_val $PB "select count(*) from pg_stat_replication where application_name = '"'pg-a'"' and state = '"'streaming'"'") == 1 ]]'
  took=$((SECONDS - t0))
  wait_for 30 '[[ $(ha_role pg-a) == standby ]]'
  [[ $(pg_val "$PA" "select pg_is_in_recovery()") == t ]] || fail "pg-a is not a standby"
  # the rebuild ran off the engine's thread: pg-b's lease (ttl 4 s) was renewed throughout
  [[ $(ha_role pg-b) == primary+lease ]] || fail "pg-b lost its lease during the rebuild"
  ! grep -qE "fence main-db/pg-b|lease main-db/pg-b.*not renewed" "$T/agent.log" || fail "pg-b was fenced during the rebuild"
  rows_of() { pg_val "$1" "select string_agg(n::text, ',' order by n) from t"; }
  wait_for 20 '[[ $(rows_of $PA) == 1,2,3 ]]' || fail "pg-a's rows: $(rows_of "$PA") (wanted pg-b's: 1,2,3)"
  old=$(ls -d "$T"/pa.lifeline-old-* 2>/dev/null | head -1)
  [[ -n $old && -f $old/PG_VERSION && -d $old/pg_wal ]] || fail "the old data directory is not kept aside"
  # (told in the round after the rejoin's thread saw it stream)
  wait_for 10 'grep -q "rebuild main-db/pg-a.*was rebuilt from the repository" "$T/agent.log"' 
  grep -q "diverged" "$T/agent.log" || fail "the log does not say why (diverged)"
  run_cmd as_pg "$T/lifeline" -c "$CONF" --json incidents
  [[ $(json "any('rebuilt from the repository' in e['message'] for i in j['incidents'] for e in i['timeline'])") == True ]] ||
    fail "no incident's timeline says 'rebuilt from the repository': $OUT"
  ha_agent_stop
  ! grep -q "Sanitizer" "$T/agent.log" || { grep -A30 Sanitizer "$T/agent.log"; fail "the agent is not clean under the sanitizers"; }
  echo "pg-a rebuilt from the repository and streaming ${took}s after the resume; old data kept in ${old##*/}"
}

# Members that cannot be rewound, no backup-source: a former primary whose WAL stops
# inside the new primary's history follows as it is; one whose WAL went past the fork
# is left stopped and untouched, the member held, the way to rebuild it said.
t_ha_rejoin_not_rewindable_without_backup_source() {
  HA_INITDB_OPTS="" ha_pair || return 0
  trap ha_cleanup RETURN
  ha_agent_start
  wait_for 20 '[[ $(ha_role pg-a) == primary+lease && $(ha_role pg-b) == standby ]]'
  pg_sql "$PA" "create table t(n int); insert into t values (1)"
  wait_for 10 '[[ $(pg_val $PB "select count(*) from t") == 1 ]]'
  streams() { [[ $(pg_val "$1" "select count(*) from pg_stat_replication where application_name = '$2' and state = 'streaming'") == 1 ]]; }
  # pg-b has every record pg-a wrote: pg-a needs no rewind
  ha_kill_member pa
  wait_for 30 '[[ $(ha_role pg-b) == primary+lease ]]'
  pg_sql "$PB" "insert into t values (2)"
  wait_for 60 'streams $PB pg-a'
  wait_for 20 '[[ $(pg_val $PA "select count(*) from t") == 2 ]]'
  # (told in the round after the rejoin's thread saw it stream)
  wait_for 10 'grep -q "pg-a follows pg-b (its WAL on timeline 1 stops at .* inside pg-b.s history" "$T/agent.log"' 
  # the other way round, diverged: pg-a stops receiving, pg-b commits rows pg-a never gets and dies
  sed -i '/^host[[:space:]]\+replication/d' "$T/pb/pg_hba.conf"
  pg_sql "$PB" "select pg_reload_conf()" >/dev/null
  pg_sql "$PB" "select pg_terminate_backend(pid) from pg_stat_replication" >/dev/null
  wait_for 10 '[[ $(pg_val $PB "select count(*) from pg_stat_replication") == 0 ]]'
  pg_sql "$PB" "insert into t select generate_series(1000, 1099)"
  ha_kill_member pb
  wait_for 30 '[[ $(ha_role pg-a) == primary+lease ]]'
  wait_for 60 'grep -q "pg-b cannot rejoin as it is (" "$T/agent.log"'
  # pg-a has none of the 100 rows (its receiver was shut out in time): pg-b's WAL went
  # past the fork and must be found diverged. (On a loaded machine pg-a's receiver can
  # get back in before the reload of pg_hba takes: then pg-b is tried as it is, does not
  # stream, and is held all the same.)
  if [[ $(pg_val "$PA" "select count(*) from t where n >= 1000") == 0 ]]; then
    grep -q "pg-b cannot rejoin as it is (its WAL on timeline 2 goes on to .*: it diverged)" "$T/agent.log" ||
      fail "pg-b diverged but was not found so: $(grep 'pg-b' "$T/agent.log" | tail -3)"
  fi
  grep -q "rebuild it with \`lifeline restore --source SOURCE --standby --target $T/pb\`; automation is held for pg-b" \
    "$T/agent.log" || fail "the way to rebuild pg-b is not said"
  sleep 16 # more than the 15 s between tries: held, not tried again, never started
  [[ $(grep -c "pg-b cannot rejoin as it is" "$T/agent.log") == 1 ]] || fail "a held member was tried again"
  ! as_pg "$PGBIN/pg_ctl" -D "$T/pb" status >/dev/null || fail "the diverged pg-b runs"
  [[ -f $T/pb/PG_VERSION ]] && ! ls -d "$T"/pb.lifeline-old-* 2>/dev/null || fail "pg-b's data was moved without a rebuild"
  [[ $(ha_role pg-b) == down ]] || fail "pg-b is $(ha_role pg-b)"
  # what can be resumed: a configured GROUP/MEMBER only
  run_cmd as_pg "$T/lifeline" -c "$CONF" resume main-db/pg-x
  [[ $RC -eq 18 ]] || fail "resume of an unknown member exited $RC"
  run_cmd as_pg "$T/lifeline" -c "$CONF" resume other/pg-b
  [[ $RC -eq 18 ]] || fail "resume of a member under the wrong group exited $RC"
  ha_agent_stop
  ! grep -q "Sanitizer" "$T/agent.log" || { grep -A30 Sanitizer "$T/agent.log"; fail "the agent is not clean under the sanitizers"; }
}
