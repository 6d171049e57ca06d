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
