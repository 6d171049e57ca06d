# PostgreSQL against a real server: lifeline as archive_command.

source "$HERE/pg.sh"

t_postgres_archive_command() {
  pg_skip && return 0
  trap pg_stop_all RETURN
  new_repo
  ok key add --key-file "$T/wal.key"
  install -m 755 "$LL" "$T/lifeline"             # the build folder may not be reachable
  [[ $(id -u) -ne 0 ]] || chown -R postgres: "$T"
  chmod 755 "$T"
  port=$(free_port)
  pg_start "$T/pgdata" "$port" \
    "wal_level = replica" "archive_mode = on" "wal_keep_size = '512MB'" \
    "archive_command = '$T/lifeline -r $REPO --key-file $T/wal.key wal-push --source main-db %p'"
  pg_sql "$port" "create table t(x int)"
  for i in 1 2 3; do
    pg_sql "$port" "insert into t select generate_series(1, 50000); select pg_switch_wal()" >/dev/null
  done
  for _ in $(seq 1 300); do
    archived=$(pg_sql "$port" "select archived_count from pg_stat_archiver")
    [[ $archived -ge 3 ]] && break
    sleep 0.1
  done
  failed=$(pg_sql "$port" "select coalesce(last_failed_wal, '') from pg_stat_archiver")
  [[ -z $failed ]] || { tail -20 "$T/pgdata/server.log"; fail "archive_command failed for $failed"; }
  [[ $archived -ge 3 ]] || { tail -20 "$T/pgdata/server.log"; fail "only $archived segments archived"; }
  last=$(pg_sql "$port" "select last_archived_wal from pg_stat_archiver")
  [[ -f $REPO/wal/main-db/$last ]] || fail "segment $last is not in the repository"
  LIFELINE_KEY_FILE=$T/wal.key expect_rc 0 wal-fetch --source main-db "$last" "$T/fetched"
  cmp "$T/pgdata/pg_wal/$last" "$T/fetched" || fail "fetched segment differs from PostgreSQL's"
  echo "$archived segments archived by PostgreSQL through lifeline; $last fetched back identical"
}

# Markers 1..3 around a base backup under pgbench load; restore to a time between
# markers 2 and 3: exactly 1 and 2 are back, and the server is promoted.
t_postgres_pitr() {
  pg_skip && return 0
  trap 'kill $bench 2>/dev/null || true; pg_stop_all' RETURN
  new_repo
  port=$(free_port)
  pg_setup_lifeline "$port"
  mapfile -t conf < <(pg_archive_conf)
  pg_start "$T/pgdata" "$port" "${conf[@]}"
  pg_sql "$port" "create table markers(id int primary key, t timestamptz not null default clock_timestamp())"
  pgbench -q -i -s 2 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1
  pgbench -n -c 4 -T 600 -h 127.0.0.1 -p "$port" -U postgres postgres >/dev/null 2>&1 &
  bench=$!
  pg_marker "$port" 1 >/dev/null
  expect_rcc 0 backup --source main-db
  expect_err "WAL: .*archived"
  expect_rcc 0 --json snapshots
  pg_markers_around "$port"
  target=$TARGET
  expect_rcc 0 restore --source main-db --target "$T/restored" --time "$target"
  expect_err "recovery target: time"
  [[ -f $T/restored/recovery.signal ]] || fail "no recovery.signal"
  grep -q "recovery_target_time = '" "$T/restored/postgresql.auto.conf" || fail "no recovery_target_time"
  [[ $(stat -c %a "$T/restored") == 700 ]] || fail "data folder mode is $(stat -c %a "$T/restored")"
  # the server's own manifest checks every restored file (the two we add are ignored)
  as_pg "$PGBIN/pg_verifybackup" -n -i postgresql.auto.conf -i recovery.signal "$T/restored" >/dev/null ||
    fail "pg_verifybackup rejects the restored data folder"
  if [[ $(id -u) -eq 0 ]]; then
    [[ $(stat -c %U "$T/restored/PG_VERSION") == postgres ]] || fail "PG_VERSION not owned by postgres"
  fi
  port2=$(free_port)
  pg_start_restored "$T/restored" "$port2"
  got=$(pg_val "$port2" "select string_agg(id::text, ',' order by id) from markers")
  [[ $got == "1,2" ]] || fail "markers after restore to $target: '$got', wanted '1,2'"
  accounts=$(pg_val "$port2" "select count(*) from pgbench_accounts")
  [[ $accounts == 200000 ]] || fail "pgbench_accounts has $accounts rows"
  echo "restored to $target under pgbench load: markers $got, promoted"
}

# A data folder changed after the backup (the restored server ran, promoted, took
# writes): --delta over it gives exactly what a fresh restore gives.
t_postgres_delta_restore() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  pgbench -q -i -s 1 -h 127.0.0.1 -p "$PORT" -U postgres postgres >/dev/null 2>&1
  pg_marker "$PORT" 1 >/dev/null
  expect_rcc 0 backup --source main-db
  pg_marker "$PORT" 2 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 2 restore --source main-db --target "$T/pgdata" --latest --delta
  expect_err "has a postmaster.pid: stop the server"
  pg_stop "$T/pgdata"
  expect_rcc 0 restore --source main-db --target "$T/used" --latest
  port2=$(free_port)
  pg_start_restored "$T/used" "$port2"
  pg_sql "$port2" "insert into markers select generate_series(100, 20000); update pgbench_accounts set abalance = 7; checkpoint" >/dev/null
  pg_stop "$T/used"
  expect_rcc 0 restore --source main-db --target "$T/used" --latest --delta
  expect_err "delta: [0-9]+ files already matched and were kept, [1-9][0-9]* entries removed"
  expect_rcc 0 restore --source main-db --target "$T/fresh" --latest
  sig() { $TREESIG "$1" | grep -vE '^(postgresql\.auto\.conf|recovery\.signal)\b'; }
  diff <(sig "$T/fresh") <(sig "$T/used") || fail "--delta result differs from a fresh restore"
  expect_rcc 2 restore --source main-db --target "$T/used" --latest
  expect_err "is not empty"
  pg_start_restored "$T/used" "$port2"
  got=$(pg_val "$port2" "select string_agg(id::text, ',' order by id) from markers")
  [[ $got == "1,2" ]] || fail "markers after --delta restore: '$got', wanted '1,2'"
  [[ $(pg_val "$port2" "select count(*) from pgbench_accounts where abalance = 7") == 0 ]] ||
    fail "a change made after the backup survived the --delta restore"
  echo "--delta over a changed data folder equals a fresh restore; markers $got"
}

# A segment missing from the archive: check names it; a restore that needs it fails
# naming it before writing anything; a target before the gap still works.
t_postgres_missing_wal() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  expect_rcc 0 backup --source main-db
  lsn_before=""
  for i in 1 2 3; do
    pg_marker "$PORT" "$i" >/dev/null
    [[ $i == 1 ]] && lsn_before=$(pg_val "$PORT" "select pg_current_wal_insert_lsn()")
    pg_archive_now "$PORT"
  done
  expect_rcc 0 check --read-data
  expect_err "read [0-9]+ archived WAL files"
  victim=$(ls "$REPO/wal/main-db" | grep -E '^[0-9A-F]{24}$' | head -1)
  cp "$REPO/wal/main-db/$victim" "$T/saved"
  python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[100] ^= 1; open(sys.argv[1], "wb").write(b)' \
    "$REPO/wal/main-db/$victim"
  expect_rcc 13 check --read-data
  expect_err "error: wal/main-db/$victim: "
  cp "$T/saved" "$REPO/wal/main-db/$victim"
  gap=$(pg_val "$PORT" "select pg_walfile_name(pg_current_wal_lsn() - 16*1024*1024)")
  rm "$REPO/wal/main-db/$gap"
  expect_rcc 13 check
  expect_err "WAL archive of main-db: segment $gap is missing"
  expect_rcc 18 restore --source main-db --target "$T/r" --latest
  expect_err "needs WAL segment $gap, which is missing"
  [[ ! -e $T/r ]] || fail "a refused restore left $T/r behind"
  expect_rcc 18 restore --source main-db --target "$T/r" --lsn FF/0
  expect_err "beyond the WAL archive"
  expect_rcc 18 restore --source main-db --target "$T/r" --time 2000-01-01T00:00:00Z
  expect_err "before the first usable backup"
  expect_rcc 0 restore --source main-db --target "$T/r" --lsn "$lsn_before"
  echo "gap $gap named by check and restore; restore before it still possible"
}

# The base backup taken on a streaming standby; WAL archived by the primary.
t_postgres_standby_backup() {
  trap 'kill $bench 2>/dev/null || true; pg_stop_all' RETURN
  pg_primary "archive_timeout = 1" || return 0
  pg_standby "$T/standby"
  sport=$SPORT
  sed -i "s/port=$PORT/port=$sport/" "$CONF"
  pgbench -q -i -s 1 -h 127.0.0.1 -p "$PORT" -U postgres postgres >/dev/null 2>&1
  pgbench -n -c 2 -T 600 -h 127.0.0.1 -p "$PORT" -U postgres postgres >/dev/null 2>&1 &
  bench=$!
  pg_marker "$PORT" 1 >/dev/null
  sleep 1 # the standby replays marker 1
  expect_rcc 0 --json backup --source main-db
  [[ $(json 'j["meta"]["standby"]') == True ]] || fail "snapshot does not record a standby backup"
  pg_markers_around "$PORT"
  target=$TARGET
  expect_rcc 0 restore --source main-db --target "$T/restored" --time "$target"
  [[ ! -e $T/restored/standby.signal ]] || fail "standby.signal left in the restored folder"
  port3=$(free_port)
  pg_start_restored "$T/restored" "$port3"
  got=$(pg_val "$port3" "select string_agg(id::text, ',' order by id) from markers")
  [[ $got == "1,2" ]] || fail "markers after restore from a standby backup: '$got', wanted '1,2'"
  echo "backup from a standby, restored to $target: markers $got, promoted"
}

# --logical: pg_dump -Fc streamed in; streamed back out to pg_restore.
t_postgres_logical_dump() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  pg_sql "$PORT" "insert into markers select generate_series(1, 5000)"
  expect_rcc 0 backup --source main-db --logical
  expect_rcc 0 --json snapshots
  [[ $(json '[s["source"] for s in j]') == *pg_dump* ]] || fail "no pg_dump snapshot listed: $OUT"
  pg_sql "$PORT" "create database copy"
  "$T/lifeline" -c "$CONF" restore --source main-db --logical --stdout >"$T/dump"
  "$PGBIN/pg_restore" -h 127.0.0.1 -p "$PORT" -U postgres -d copy "$T/dump" || fail "pg_restore refused the dump"
  got=$(psql -X -A -t -h 127.0.0.1 -p "$PORT" -U postgres -d copy -c "select count(*) from markers")
  [[ $got == 5000 ]] || fail "restored dump has $got markers"
  expect_rcc 0 restore --source main-db --logical --target "$T/out"
  [[ -s $T/out/main-db.dump ]] || fail "no dump file written by --target"
  cmp "$T/dump" "$T/out/main-db.dump" || fail "--stdout and --target give different dumps"
  # a failing pg_dump commits nothing
  sed -i "s/port=$PORT/port=1/" "$CONF"
  expect_rcc 20 backup --source main-db --logical
  expect_err "pg_dump of source main-db failed"
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == 1 ]] || fail "a failed dump left a snapshot"
  echo "logical dump round trip: $got rows through pg_restore"
}

# forget keeps the WAL the kept backups need and removes what only forgotten ones needed.
t_postgres_forget_wal() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  expect_rcc 0 backup --source main-db
  first=$(ls "$REPO/wal/main-db" | grep -E '^[0-9A-F]{24}$' | head -1)
  pg_archive_now "$PORT"
  expect_rcc 0 backup --source main-db
  expect_rcc 0 --json backup --source main-db
  keep_from=$(json 'j["meta"]["wal_start"]')
  pg_archive_now "$PORT"
  # --snapshot: an older backup than the one restore would choose
  expect_rcc 0 --json snapshots
  oldest=$(json 'j[0]["short_id"]')
  expect_rcc 0 --json restore --source main-db --target "$T/old" --latest --snapshot "$oldest"
  [[ $(json 'j["snapshot_id"]') == "$oldest"* ]] || fail "--snapshot $oldest was not the one restored: $OUT"
  expect_rcc 18 restore --source main-db --logical --target "$T/none" --snapshot "$oldest"
  expect_err "no pg_dump snapshot of source main-db in the repository with that id"
  [[ ! -e $T/none ]] || fail "a refused restore created its target"
  expect_rcc 0 forget --keep-last 1
  expect_err "WAL of main-db: removed [0-9]+ file\\(s\\) older than $keep_from"
  [[ ! -e $REPO/wal/main-db/$first ]] || fail "$first outlived every backup that needed it"
  [[ -e $REPO/wal/main-db/$keep_from ]] || fail "$keep_from, needed by the kept backup, was removed"
  expect_rcc 0 check
  expect_rcc 0 restore --source main-db --target "$T/r" --latest
  echo "forget removed the WAL before $keep_from"
}

# The backup's WAL never reaches the archive: exit 21 after wal-timeout, the snapshot
# is kept but marked, and a restore refuses it naming the segment.
t_postgres_backup_waits_for_wal() {
  trap pg_stop_all RETURN
  WAL_TIMEOUT=2s pg_primary "archive_command = '/bin/false'" || return 0
  expect_rcc 21 --json backup --source main-db
  expect_err "is saved but not usable for a restore yet: WAL segment [0-9A-F]{24} of source main-db was not archived within 2 s"
  [[ $(json 'j["meta"]["wal_complete"]') == False ]] || fail "snapshot not marked wal_complete=false"
  seg=$(json 'j["meta"]["wal_start"]')
  expect_rcc 0 snapshots
  expect_out " W +postgres:main-db$"
  expect_rcc 18 restore --source main-db --target "$T/r" --latest
  expect_err "WAL segment $seg is missing"
  [[ ! -e $T/r ]] || fail "a refused restore left $T/r behind"
  expect_rcc 13 check
  expect_err "base backup of main-db is not usable: its WAL segment $seg is missing"
  echo "backup without archived WAL: exit 21, restore and check name $seg"
}

# Targets by restore point name and by transaction id.
t_postgres_restore_point_and_xid() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  expect_rcc 0 backup --source main-db
  xid=$(pg_val "$PORT" "begin; insert into markers values (1); select txid_current(); commit;" | grep -E '^[0-9]+$')
  pg_sql "$PORT" "select pg_create_restore_point('before-2')" >/dev/null
  pg_sql "$PORT" "insert into markers values (2)"
  pg_archive_now "$PORT"
  n=0
  for how in "--name before-2" "--xid $xid"; do
    n=$((n + 1)); dir=$T/restored-$n
    # shellcheck disable=SC2086
    expect_rcc 0 restore --source main-db --target "$dir" $how
    port2=$(free_port)
    pg_start_restored "$dir" "$port2"
    got=$(pg_val "$port2" "select string_agg(id::text, ',' order by id) from markers")
    [[ $got == 1 ]] || fail "restore $how: markers '$got', wanted '1'"
    pg_stop "$dir"
  done
  expect_rcc 2 restore --source main-db --target "$T/x" --xid abc
  expect_err "--xid takes a transaction id"
  expect_rcc 2 restore --source main-db --target "$T/x" --latest --lsn 0/1
  expect_err "give one of"
  echo "restore point 'before-2' and transaction $xid reached exactly"
}

# The server ends the connection in the middle of the stream: a clear error, no
# snapshot, and no hang.
# The server ends the stream with an error of its own (here: a file in the data folder
# it cannot read) before the manifest: the server's reason is the message, not a
# missing manifest. libpq hands such an error over as the end of the COPY, the same
# way as a backend terminated at the wrong moment (a CI failure of the test below).
t_postgres_backup_server_error_is_named() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  as_pg touch "$T/pgdata/unreadable"
  chmod 000 "$T/pgdata/unreadable"
  expect_rcc 20 backup --source main-db
  expect_err "PostgreSQL source main-db: base backup stream: .*unreadable.*[Pp]ermission denied"
  [[ $(wc -l <<<"$ERR") -eq 1 ]] || { echo "$ERR"; fail "the error is not one line"; }
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == 0 ]] || fail "the failed backup left a snapshot"
  rm -f "$T/pgdata/unreadable"
}

t_postgres_backup_connection_lost() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  pgbench -q -i -s 10 -h 127.0.0.1 -p "$PORT" -U postgres postgres >/dev/null 2>&1
  for attempt in 1 2 3; do
    rm -f "$T/bb.rc"
    ( r=0; timeout 60 "$T/lifeline" -c "$CONF" backup --source main-db >"$T/bb.out" 2>"$T/bb.err" || r=$?
      echo $r >"$T/bb.rc" ) &
    for _ in $(seq 1 500); do
      n=$(pg_val "$PORT" "select count(pg_terminate_backend(pid)) from pg_stat_progress_basebackup
                          where phase = 'streaming database files'")
      [[ $n -gt 0 || -s $T/bb.rc ]] && break
      sleep 0.01
    done
    wait
    [[ $(cat "$T/bb.rc") -eq 0 ]] || break # the backup finished before it could be cut: try again
  done
  rc=$(cat "$T/bb.rc")
  [[ $rc -eq 20 ]] || { cat "$T/bb.err"; fail "backup cut by the server exited $rc, wanted 20"; }
  grep -qE "PostgreSQL source main-db: base backup stream: .*(terminat|connection|server closed)" "$T/bb.err" ||
    { cat "$T/bb.err"; fail "no clear message for the lost connection"; }
  [[ $(wc -l <"$T/bb.err") -eq 1 ]] || { cat "$T/bb.err"; fail "the error is not one line"; }
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == $((attempt - 1)) ]] || fail "the cut backup left a snapshot"
  echo "connection cut mid-stream (attempt $attempt): exit 20, $(head -c 120 "$T/bb.err")"
}
