# PostgreSQL against a real server: lifeline as archive_command.

source "$HERE/pg.sh"

t_postgres_archive_command() {
  reason=$(pg_skip_reason)
  [[ -z $reason ]] || { echo "skipped: $reason"; return 0; }
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
  reason=$(pg_skip_reason)
  [[ -z $reason ]] || { echo "skipped: $reason"; return 0; }
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
  pg_marker "$port" 2 >/dev/null
  sleep 0.3
  target=$(pg_val "$port" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
  sleep 0.3
  pg_marker "$port" 3 >/dev/null
  pg_archive_now "$port"
  kill $bench; wait $bench 2>/dev/null || true
  expect_rcc 0 restore --source main-db --target "$T/restored" --time "$target"
  expect_err "recovery target: time"
  [[ -f $T/restored/recovery.signal ]] || fail "no recovery.signal"
  grep -q "recovery_target_time = '" "$T/restored/postgresql.auto.conf" || fail "no recovery_target_time"
  [[ $(stat -c %a "$T/restored") == 700 ]] || fail "data folder mode is $(stat -c %a "$T/restored")"
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
