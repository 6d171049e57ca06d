# test_pgctl.sh — src/ha/pgctl.c against real PostgreSQL 15 servers (a primary and a
# streaming standby on free loopback ports in $T, run as the unprivileged `postgres`
# user), driven through the test-only executable pgctl_cli (built beside lifeline):
# roles and positions, the connect deadline on a blackhole, fence/unfence, synchronous
# standby names, stop/start, promote, rewind and follow.

source "$HERE/pg.sh"

# pgc ARGS...: pgctl_cli as the server's user; JSON in $OUT, exit code in $RC.
pgc() { run_cmd as_pg env PGCTL_BIN_DIR="$PGBIN" "$T/pgctl_cli" "$@"; }
pgc_ok() { pgc "$@"; [[ $RC -eq 0 ]] || { echo "$OUT $ERR"; fail "pgctl_cli $1 exited $RC"; }; }
ci() { echo "host=127.0.0.1 port=$1 user=postgres dbname=postgres"; }
jq_() { json "$1"; }

# pgctl_setup: the test folder the server's user's, pgctl_cli where it can run it.
pgctl_setup() {
  pg_skip && return 1
  install -m 755 "$(dirname "$LL")/pgctl_cli" "$T/pgctl_cli"
  [[ $(id -u) -ne 0 ]] || chown -R postgres: "$T"
}

# primary DIR PORT [conf lines]: a primary with a table t. Sockets in $T, not in the
# data folder: pg_rewind would try to copy them.
primary() {
  pg_start "$1" "$2" "wal_level = replica" "unix_socket_directories = '$T'" "${@:3}"
  pg_sql "$2" "create table t(id int primary key)"
}

# standby NAME DIR PORT PRIMARY_PORT: a base backup made a standby by pgctl_follow (which
# starts it), streaming within 15 s.
standby() {
  local name=$1 dir=$2 port=$3 pport=$4
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$dir" -X stream -c fast ||
    fail "pg_basebackup failed"
  printf "port = %s\n" "$port" >>"$dir/postgresql.conf"
  PG_STARTED+=("$dir")
  pgc_ok follow "$name" "$dir" "$(ci "$pport")" 60000
  wait_streaming "$port"
}

wait_streaming() {
  for _ in $(seq 1 150); do
    pgc query "$(ci "$1")" 2000
    [[ $RC -eq 0 && $(jq_ 'j["state"]["streaming"]') == True ]] && return 0
    sleep 0.1
  done
  echo "$OUT"; fail "the server on $1 is not streaming"
}

# A listener whose backlog is full: SYNs to it are dropped, connect() never completes.
blackhole() {
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
held = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    held.append(c)
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$T/blackhole.port" &
  BH_PID=$!
  for _ in $(seq 1 50); do [[ -s $T/blackhole.port ]] && break; sleep 0.1; done
  BH_PORT=$(cat "$T/blackhole.port")
}

# Roles, positions, upstream, replicas; and every failure by its deadline.
t_pgctl_query_and_deadline() {
  pgctl_setup || return 0
  local pa pb
  pa=$(free_port); pb=$(free_port)
  primary "$T/a" "$pa"
  standby pg-b "$T/b" "$pb" "$pa"
  pg_sql "$pa" "insert into t select generate_series(1, 100)"

  pgc_ok query "$(ci "$pa")" 3000
  [[ $(jq_ 'j["state"]["primary"], j["state"]["reachable"], j["state"]["read_only"], j["state"]["streaming"]') == \
    "True True False False" ]] || { echo "$OUT"; fail "the primary's state"; }
  [[ $(jq_ 'j["state"]["timeline"]') == 1 && $(jq_ 'j["state"]["current_lsn"]') != 0/0 ]] || fail "primary: $OUT"
  local want
  want=$(pg_val "$pa" "select pg_current_wal_lsn()")
  [[ $(jq_ 'j["state"]["current_lsn"]') == "$want" ]] || fail "current_lsn $OUT, psql says $want"

  # the standby's positions catch up with the primary's
  for _ in $(seq 1 50); do
    pgc_ok query "$(ci "$pb")" 3000
    [[ $(jq_ 'j["state"]["replay_lsn"]') == "$want" ]] && break
    sleep 0.1
  done
  [[ $(jq_ 'j["state"]["primary"], j["state"]["streaming"], j["state"]["upstream"], j["state"]["timeline"]') == \
    "False True 127.0.0.1:$pa 1" ]] || { echo "$OUT"; fail "the standby's state"; }
  [[ $(jq_ 'j["state"]["replay_lsn"] == j["state"]["receive_lsn"] == "'"$want"'"') == True ]] ||
    fail "standby positions: $OUT (primary at $want)"
  jq_ 'j["state"]["detail"]' | grep -q "standby streaming from 127.0.0.1:$pa" || fail "detail: $OUT"

  pgc_ok replicas "$(ci "$pa")" 3000
  [[ $(jq_ '[(r["name"], r["state"], r["sync_state"], r["replay_lsn"]) for r in j["replicas"]]') == \
    "[('pg-b', 'streaming', 'async', '$want')]" ]] || { echo "$OUT"; fail "pg_stat_replication"; }
  pgc_ok replicas "$(ci "$pb")" 3000
  [[ $(jq_ 'len(j["replicas"])') == 0 ]] || fail "a standby without standbys: $OUT"

  # a closed port: refused at once, not reachable
  pgc query "$(ci "$(free_port)")" 3000
  [[ $RC -eq 20 && $(jq_ 'j["state"]["reachable"]') == False ]] || { echo "$OUT"; fail "closed port: rc $RC"; }
  [[ $(jq_ 'j["elapsed_ms"] < 1000') == True ]] || fail "a refused connection took long: $OUT"
  jq_ 'j["state"]["detail"]' | grep -q '^connect: ' || fail "detail: $OUT"

  # a blackhole: back by the deadline (1.2 s, under libpq's own 2 s minimum)
  blackhole
  local c
  for c in "query" "replicas" "promote" "fence"; do
    pgc "$c" "host=127.0.0.1 port=$BH_PORT user=postgres dbname=postgres" 1200
    [[ $RC -eq 20 ]] || { echo "$OUT"; kill "$BH_PID"; fail "$c on a blackhole: rc $RC"; }
    [[ $(jq_ '1200 <= j["elapsed_ms"] <= 1500') == True ]] || { kill "$BH_PID"; fail "$c on a blackhole: $OUT"; }
    jq_ 'j["error"]' | grep -q "no answer within the timeout" || { kill "$BH_PID"; fail "$c: $OUT"; }
  done
  kill "$BH_PID"; wait "$BH_PID" 2>/dev/null || true

  # a server that accepts and then stalls each new session (they read
  # pg_db_role_setting at start, and another session holds it locked): back by the deadline
  psql -X -q -h 127.0.0.1 -p "$pa" -U postgres -d postgres \
    -c "begin; lock table pg_catalog.pg_db_role_setting in access exclusive mode; select pg_sleep(2.5)" &
  local locker=$!
  sleep 0.5
  pgc fence "$(ci "$pa")" 1500
  [[ $RC -eq 20 && $(jq_ '1500 <= j["elapsed_ms"] <= 1800') == True ]] ||
    { echo "$OUT"; kill $locker; fail "a stalled session start: rc $RC"; }
  kill $locker 2>/dev/null; wait $locker 2>/dev/null || true
  pgc_ok query "$(ci "$pa")" 5000
  [[ $(jq_ 'j["state"]["read_only"]') == False ]] || fail "the stalled fence went through: $OUT"

  # bad input
  pgc query "host=127.0.0.1 port=notaport" 1000
  [[ $RC -eq 20 ]] || fail "a bad port: rc $RC"
  pgc set-sync "$(ci "$pa")" "pg-b'; drop table t; --" 1000
  [[ $RC -eq 2 ]] || fail "a quote in a standby name: rc $RC"
  [[ $(pg_val "$pa" "select count(*) from t") == 100 ]] || fail "table t"
}

# fence: writes refused at once, open sessions ended; unfence: writes again.
# set-sync: a commit waits for the named standby; "" stops waiting.
# stop fast/immediate (and of a stopped server), start (and of a running one).
t_pgctl_fence_sync_stop_start() {
  pgctl_setup || return 0
  local pa pb
  pa=$(free_port); pb=$(free_port)
  primary "$T/a" "$pa"
  standby pg-b "$T/b" "$pb" "$pa"

  # a session in an open read-write transaction, left from before the fence
  psql -X -q -h 127.0.0.1 -p "$pa" -U postgres -d postgres \
    -c "begin; insert into t values (1); select pg_sleep(30); commit" >"$T/session.out" 2>&1 &
  local sess=$!
  sleep 0.5
  pgc_ok fence "$(ci "$pa")" 5000
  for _ in $(seq 1 30); do kill -0 $sess 2>/dev/null || break; sleep 0.1; done
  ! kill -0 $sess 2>/dev/null || { kill $sess; fail "the open session survived the fence"; }
  wait $sess 2>/dev/null || true
  grep -q "terminat" "$T/session.out" || { cat "$T/session.out"; fail "the session was not terminated"; }
  run_cmd pg_sql "$pa" "insert into t values (2)"
  [[ $RC -ne 0 ]] && grep -q "read-only transaction" <<<"$ERR" || fail "a write after the fence: rc $RC $ERR"
  pgc_ok query "$(ci "$pa")" 3000
  [[ $(jq_ 'j["state"]["primary"], j["state"]["read_only"]') == "True True" ]] || fail "fenced: $OUT"
  jq_ 'j["state"]["detail"]' | grep -q fenced || fail "detail: $OUT"
  pgc_ok fence "$(ci "$pa")" 5000 # twice is fine
  pgc_ok unfence "$(ci "$pa")" 5000
  pg_sql "$pa" "insert into t values (3)" || fail "a write after unfence"
  [[ $(pg_val "$pa" "select string_agg(id::text, ',') from t") == 3 ]] || fail "rows after the fence"

  # synchronous standby names
  pgc_ok set-sync "$(ci "$pa")" "pg-b" 5000
  [[ $(pg_val "$pa" "show synchronous_standby_names") == '"pg-b"' ]] || fail "synchronous_standby_names"
  for _ in $(seq 1 50); do
    pgc_ok replicas "$(ci "$pa")" 3000
    [[ $(jq_ 'j["replicas"][0]["sync_state"]') == sync ]] && break
    sleep 0.1
  done
  [[ $(jq_ 'j["replicas"][0]["name"], j["replicas"][0]["sync_state"]') == "pg-b sync" ]] || fail "replicas: $OUT"
  pg_sql "$pa" "insert into t values (4)" || fail "a synchronous commit with its standby up"
  # without the standby a commit waits ...
  pgc_ok stop pg-b "$T/b" immediate 30000
  pgc query "$(ci "$pb")" 1000
  [[ $RC -eq 20 ]] || fail "the standby still answers after stop"
  pg_sql "$pa" "insert into t values (5)" &
  local writer=$!
  sleep 2
  kill -0 $writer 2>/dev/null || fail "a commit did not wait for the synchronous standby"
  # ... until no standby is named
  pgc_ok set-sync "$(ci "$pa")" "" 5000
  for _ in $(seq 1 50); do kill -0 $writer 2>/dev/null || break; sleep 0.1; done
  ! kill -0 $writer 2>/dev/null || { kill $writer; fail "the commit still waits with no synchronous standby"; }
  wait $writer || fail "the waiting commit failed"
  [[ $(pg_val "$pa" "select count(*) from t") == 3 ]] || fail "rows after the synchronous commits"

  # stop of a stopped server, start (and again), fast stop
  pgc_ok stop pg-b "$T/b" fast 30000
  pgc_ok start pg-b "$T/b" 60000
  pgc_ok start pg-b "$T/b" 60000
  wait_streaming "$pb"
  [[ -s $T/lifeline-b.log ]] || fail "no server log beside the data folder"
  [[ $(pg_val "$pb" "select count(*) from t") == 3 ]] || fail "the standby's rows"
  pgc stop pg-b "$T/b" sideways 30000
  [[ $RC -eq 2 ]] || fail "a bad stop mode: rc $RC"
  pgc_ok stop pg-a "$T/a" fast 30000
  [[ ! -e $T/a/postmaster.pid ]] || fail "the primary's postmaster.pid is still there"
  pgc query "$(ci "$pa")" 1000
  [[ $RC -eq 20 ]] || fail "the primary still answers after a fast stop"
  # start of a folder that is no cluster
  mkdir "$T/empty"
  pgc start pg-x "$T/empty" 10000
  [[ $RC -eq 20 ]] && jq_ 'j["error"]' | grep -q "pg_ctl start" || fail "start of an empty folder: $RC $OUT"
}

# promote the standby, repoint the other one; the old primary (diverged) stopped, rewound from the new one and
# following it; rewind impossible without wal_log_hints or checksums; a failed rewind
# says why.
t_pgctl_promote_rewind_follow() {
  pgctl_setup || return 0
  local pa pb
  pa=$(free_port); pb=$(free_port)
  primary "$T/a" "$pa" "wal_log_hints = on" "wal_keep_size = 64MB"
  standby pg-b "$T/b" "$pb" "$pa"
  local pc
  pc=$(free_port)
  standby pg-c "$T/c" "$pc" "$pa"
  pg_sql "$pa" "insert into t select generate_series(1, 10)"

  pgc_ok promote "$(ci "$pb")" 30000
  pgc_ok query "$(ci "$pb")" 3000
  [[ $(jq_ 'j["state"]["primary"], j["state"]["timeline"], j["state"]["read_only"]') == "True 2 False" ]] ||
    { echo "$OUT"; fail "the promoted standby"; }
  pgc_ok promote "$(ci "$pb")" 3000 # a primary is promoted already
  pg_sql "$pb" "insert into t values (100)"
  # the other standby follows the new primary without a restart
  pgc_ok repoint "$(ci "$pc")" pg-c "$(ci "$pb")" 5000
  wait_streaming "$pc"
  [[ $(jq_ 'j["state"]["upstream"], j["state"]["timeline"]') == "127.0.0.1:$pb 2" ]] || fail "repointed: $OUT"
  pgc repoint "$(ci "$pc")" "pg c" "$(ci "$pb")" 5000
  [[ $RC -eq 2 ]] || fail "repoint with a bad member name: rc $RC"
  # the old primary still writes: it diverges from the new timeline
  pg_sql "$pa" "insert into t values (200)"

  pgc_ok stop pg-a "$T/a" fast 30000
  pgc_ok rewind-possible pg-a "$T/a"
  [[ $(jq_ 'j["possible"]') == True ]] || fail "wal_log_hints on, yet: $OUT"

  # a rewind from nowhere fails, and says why; the data folder is still whole
  pgc rewind pg-a "$T/a" "$(ci "$(free_port)")" 20000
  [[ $RC -eq 20 ]] && jq_ 'j["why"]' | grep -qi "connect" || { echo "$OUT"; fail "a rewind from a closed port"; }

  pgc_ok rewind pg-a "$T/a" "$(ci "$pb")" 60000
  grep -q "^port = $pa\$" "$T/a/postgresql.conf" || fail "pg_rewind's copy of the source's postgresql.conf stayed"
  pgc_ok follow pg-a "$T/a" "$(ci "$pb")" 60000
  grep -q "application_name=''pg-a''" "$T/a/postgresql.auto.conf" || fail "primary_conninfo: $(cat "$T/a/postgresql.auto.conf")"
  [[ -e $T/a/standby.signal ]] || fail "no standby.signal"
  wait_streaming "$pa"
  [[ $(jq_ 'j["state"]["upstream"], j["state"]["timeline"], j["state"]["primary"]') == "127.0.0.1:$pb 2 False" ]] ||
    { echo "$OUT"; fail "the rejoined old primary"; }
  pg_sql "$pb" "insert into t values (101)"
  for _ in $(seq 1 50); do
    [[ $(pg_val "$pa" "select string_agg(id::text, ',' order by id) from t where id >= 100") == 100,101 ]] && break
    sleep 0.1
  done
  [[ $(pg_val "$pa" "select string_agg(id::text, ',' order by id) from t where id >= 100") == 100,101 ]] ||
    fail "the rejoined member's rows: the diverged one must be gone, the new ones there"
  pgc_ok replicas "$(ci "$pb")" 3000
  [[ $(jq_ '[r["name"] for r in j["replicas"]]') == "['pg-a', 'pg-c']" ]] || fail "the new primary's replicas: $OUT"
  pgc follow pg-a "$T/a" "$(ci "$pb")" 10000
  [[ $RC -eq 2 ]] || fail "follow of a running server: rc $RC"

  # a cluster without wal_log_hints or checksums cannot be rewound
  as_pg "$PGBIN/initdb" -D "$T/d" -A trust -U postgres --no-sync >/dev/null
  pgc_ok rewind-possible pg-d "$T/d"
  [[ $(jq_ 'j["possible"]') == False ]] && jq_ 'j["why"]' | grep -q "wal_log_hints is off" || fail "no hints: $OUT"
  pgc rewind-possible pg-d "$T/nothing"
  [[ $RC -eq 20 ]] || fail "rewind-possible of no cluster: rc $RC"
}

# Where a stopped member's WAL ends, when it was promoted and stopped before its first
# checkpoint on the new timeline (the one after a promotion is spread over
# checkpoint_timeout): its control file still names the old timeline, whose WAL ends
# at the switch. The new timeline's records must be found: a member that went on past
# a fork would otherwise look as if it had not (an HA test saw this as a race).
t_pgctl_wal_last_follows_a_promotion_without_checkpoint() {
  pgctl_setup || return 0
  local pa pb
  pa=$(free_port); pb=$(free_port)
  primary "$T/a" "$pa" "checkpoint_timeout = 1h" "checkpoint_completion_target = 0.9" "max_wal_size = 4GB"
  pg_sql "$pa" "create table w(n int, pad text)"
  standby pg-b "$T/b" "$pb" "$pa"
  pg_sql "$pa" "insert into w select g, repeat('x', 200) from generate_series(1, 100000) g" # dirty buffers on pg-b
  for _ in $(seq 1 100); do [[ $(pg_val "$pb" "select count(*) from w") == 100000 ]] && break; sleep 0.1; done
  pgc_ok promote "$(ci "$pb")" 30000
  local before
  before=$(pg_val "$pb" "select pg_current_wal_insert_lsn()")
  pg_sql "$pb" "insert into w values (-1, 'after the promotion')"
  as_pg "$PGBIN/pg_ctl" -D "$T/b" stop -m immediate >/dev/null || fail "pg-b did not stop"
  local ctl_tli
  ctl_tli=$(as_pg "$PGBIN/pg_controldata" "$T/b" | sed -n "s/^Latest checkpoint's TimeLineID: *//p")
  [[ $ctl_tli == 1 ]] || { echo "skipped: pg-b made a checkpoint on its new timeline already ($ctl_tli)"; return 0; }
  pgc_ok wal-last pg-b "$T/b"
  [[ $(jq_ 'j["timeline"]') == 2 ]] || { echo "$OUT"; fail "the WAL end was read on timeline $(jq_ 'j["timeline"]')"; }
  python3 - "$(jq_ 'j["last"]')" "$before" <<'PY' || { echo "$OUT"; fail "the WAL end is not past the row written after the promotion (from $before)"; }
import sys
lsn = lambda s: (int(s.split('/')[0], 16) << 32) | int(s.split('/')[1], 16)
sys.exit(0 if lsn(sys.argv[1]) >= lsn(sys.argv[2]) else 1)
PY
  local found
  found=$(jq_ 'j["last"]')
  # a newer timeline's history without WAL of its own (as fetched from an archive while
  # following): the newest timeline that has WAL is still the one read
  local sw
  sw=$(cut -f2 "$T/b/pg_wal/00000002.history" | head -1)
  printf '1\t%s\tpromoted\n2\t7F/0\tfetched, never written\n' "$sw" >"$T/b/pg_wal/00000003.history"
  chown --reference="$T/b/pg_wal" "$T/b/pg_wal/00000003.history"
  pgc_ok wal-last pg-b "$T/b"
  [[ $(jq_ 'j["timeline"], j["last"]') == "2 $found" ]] || { echo "$OUT"; fail "a history without WAL hid timeline 2"; }
  # an unreadable history: the checkpoint's timeline, as before, not an error
  echo "not a history" >"$T/b/pg_wal/00000004.history"
  pgc_ok wal-last pg-b "$T/b"
  [[ $(jq_ 'j["timeline"]') == 1 ]] || { echo "$OUT"; fail "an unreadable history file"; }
  echo "control file: timeline 1; WAL end found on timeline 2 at $found (the row's records from $before)"
}
