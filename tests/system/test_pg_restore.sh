# PostgreSQL point-in-time restore against a real server: settings the backup
# carried, restored copies and the production archive, targets a backup cannot reach,
# the WAL check after an archiving backlog, --delta safety, --time forms, standbys.

source "$HERE/pg.sh"

# Starts a restored data folder with exactly the settings restore wrote (no
# command-line overrides besides port and socket); waits for promotion unless $2 is
# followed by "standby".
pg_start_written() {
  local data=$1 port=$2 mode=${3:-promote}
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$T/written-$port.log" -w -t 120 \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null ||
    { tail -30 "$T/written-$port.log"; fail "restored server did not start"; return 1; }
  PG_STARTED+=("$data")
  [[ $mode == standby ]] && return 0
  for _ in $(seq 1 600); do
    [[ $(pg_val "$port" "select pg_is_in_recovery()" 2>/dev/null) == f ]] && return 0
    sleep 0.1
  done
  tail -30 "$T/written-$port.log"
  fail "restored server was not promoted"
}

# A primary, a base backup, then marker 1 archived. (1 when PostgreSQL cannot run here.)
primary_backup_marker() {
  pg_archiving_primary || return 1
  expect_rcc 0 backup --source main-db
  pg_marker "$PORT" 1 >/dev/null
  pg_archive_now "$PORT"
}

markers() { pg_val "$1" "select coalesce(string_agg(id::text, ',' order by id), '') from markers"; }

# A backup carrying recovery settings (ALTER SYSTEM, an included file), and a backup
# of a server that was itself restored and promoted: --latest gives every row, --lsn
# is not "multiple recovery targets".
t_pg_restore_stale_recovery_settings() {
  trap pg_stop_all RETURN
  pg_archiving_primary || return 0
  mkdir "$T/pgdata/conf.d"
  echo "recovery_target_name = 'never-created'" >"$T/pgdata/conf.d/recovery.conf"
  echo "include_dir = 'conf.d'" >>"$T/pgdata/postgresql.conf"
  [[ $(id -u) -ne 0 ]] || chown -R postgres: "$T/pgdata/conf.d"
  old=$(pg_val "$PORT" "select (now() + interval '2 seconds')::text")
  pg_sql "$PORT" "alter system set recovery_target_time = '$old'"
  expect_rcc 0 backup --source main-db
  pg_marker "$PORT" 1 >/dev/null
  sleep 2.5
  pg_marker "$PORT" 2 >/dev/null
  lsn=$(pg_val "$PORT" "select pg_current_wal_insert_lsn()")
  pg_marker "$PORT" 3 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 0 restore --source main-db --target "$T/r1" --latest
  p1=$(free_port)
  pg_start_written "$T/r1" "$p1"
  [[ $(markers "$p1") == 1,2,3 ]] || fail "--latest over stale settings gave markers '$(markers "$p1")', wanted 1,2,3"
  grep -q "^# commented out by lifeline restore .*: recovery_target_time = '$old'" "$T/r1/postgresql.auto.conf" ||
    fail "the backup's recovery_target_time was not commented out"
  grep -q "^# commented out by lifeline restore .*: recovery_target_name = 'never-created'" "$T/r1/conf.d/recovery.conf" ||
    fail "the included file's recovery_target_name was not commented out"
  pg_stop "$T/r1"
  expect_rcc 0 restore --source main-db --target "$T/r2" --lsn "$lsn"
  pg_start_written "$T/r2" "$p1"
  [[ $(markers "$p1") == 1,2 ]] || fail "--lsn $lsn gave markers '$(markers "$p1")', wanted 1,2"
  # r2 was restored and promoted (its auto.conf holds lifeline's own target): back it up
  # as a source of its own, write more, restore that with --latest
  pg_stop "$T/r2"
  cat >>"$CONF" <<CONFEOF

[source "copy-db"]
type = postgres
conninfo = host=127.0.0.1 port=$p1 user=postgres dbname=postgres
CONFEOF
  as_pg "$PGBIN/pg_ctl" -D "$T/r2" -l "$T/r2.log" -w -t 60 -o "-p $p1 -k $T/r2 -c listen_addresses=127.0.0.1 \
    -c archive_mode=on -c archive_command='$T/lifeline -c $CONF wal-push --source copy-db %p'" start >/dev/null ||
    { tail "$T/r2.log"; fail "restored server did not start with archiving"; }
  expect_rcc 0 backup --source copy-db
  pg_marker "$p1" 10 >/dev/null
  seg=$(pg_val "$p1" "select pg_walfile_name(pg_current_wal_lsn())")
  pg_sql "$p1" "select pg_switch_wal()" >/dev/null
  for _ in $(seq 1 300); do [[ -f $REPO/wal/copy-db/$seg ]] && break; sleep 0.1; done
  expect_rcc 0 restore --source copy-db --target "$T/r3" --latest
  expect_err "recovery settings the backup carried are commented out"
  p3=$(free_port)
  pg_start_written "$T/r3" "$p3"
  [[ $(markers "$p3") == 1,2,10 ]] || fail "backup of a restored server, --latest: markers '$(markers "$p3")', wanted 1,2,10"
  echo "stale recovery settings commented out; --latest, --lsn and a restored server's backup all complete"
}

# A started test restore neither archives into production nor changes what --latest
# of production restores; a foreign timeline that got in anyway is not followed.
t_pg_restore_copy_does_not_archive() {
  trap pg_stop_all RETURN
  primary_backup_marker || return 0
  expect_rcc 0 --json snapshots
  first=$(json 'j[0]["short_id"]')
  expect_rcc 0 restore --source main-db --target "$T/test1" --latest
  p1=$(free_port)
  pg_start_written "$T/test1" "$p1"
  pg_sql "$p1" "insert into markers values (100); select pg_switch_wal(); checkpoint" >/dev/null
  sleep 2
  pg_stop "$T/test1"
  [[ ! -e $REPO/wal/main-db/00000002.history ]] || fail "the restored copy archived its timeline into production"
  grep -q "^archive_mode = 'off'" "$T/test1/postgresql.auto.conf" || fail "archive_mode = off not written"
  pg_marker "$PORT" 2 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 0 restore --source main-db --target "$T/r2" --latest
  expect_err "archiving: off"
  pg_start_written "$T/r2" "$p1"
  [[ $(markers "$p1") == 1,2 ]] || fail "--latest after a test restore: '$(markers "$p1")', wanted 1,2"
  pg_stop "$T/r2"
  # --archive-mode preserve: the copy archives into production (a new timeline)
  expect_rcc 0 restore --source main-db --target "$T/test2" --latest --archive-mode preserve
  ! grep -q "^archive_mode = 'off'" "$T/test2/postgresql.auto.conf" || fail "--archive-mode preserve wrote off"
  pg_start_written "$T/test2" "$p1"
  pg_sql "$p1" "insert into markers values (200)"
  pg_archive_now "$p1"
  pg_stop "$T/test2"
  hist=$(ls "$REPO/wal/main-db" | grep -E '\.history$' | tail -1)
  [[ -n $hist ]] || fail "the preserved copy archived no timeline history"
  ftl=$((16#${hist%.history}))
  pg_marker "$PORT" 3 >/dev/null
  pg_archive_now "$PORT"
  pg_archive_now "$PORT"
  expect_rcc 0 --json restore --source main-db --target "$T/r3" --latest
  expect_err "timeline $ftl branched from timeline 1 .* not followed"
  [[ $(json 'j["timeline"]') == 1 ]] || fail "--latest followed timeline $(json 'j["timeline"]')"
  grep -q "^recovery_target_timeline = 'current'" "$T/r3/postgresql.auto.conf" || fail "timeline 1 (current) not pinned"
  pg_start_written "$T/r3" "$p1"
  [[ $(markers "$p1") == 1,2,3 ]] || fail "--latest with a foreign timeline: '$(markers "$p1")', wanted 1,2,3"
  pg_stop "$T/r3"
  expect_rcc 0 restore --source main-db --target "$T/r4" --latest --target-timeline latest
  grep -q "^recovery_target_timeline = 'latest'" "$T/r4/postgresql.auto.conf" || fail "latest not written"
  pg_start_written "$T/r4" "$p1"
  [[ $(markers "$p1") == 1,2,200 ]] || fail "--target-timeline latest: '$(markers "$p1")', wanted 1,2,200"
  pg_stop "$T/r4"
  # a production backup taken after the foreign branch restores as well
  expect_rcc 0 backup --source main-db
  pg_marker "$PORT" 4 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 0 restore --source main-db --target "$T/r8" --latest
  pg_start_written "$T/r8" "$p1"
  [[ $(markers "$p1") == 1,2,3,4 ]] || fail "a backup after the foreign branch: '$(markers "$p1")', wanted 1,2,3,4"
  pg_stop "$T/r8"
  expect_rcc 0 restore --source main-db --target "$T/r5" --latest --target-timeline "$ftl" --snapshot "$first"
  grep -q "^recovery_target_timeline = '$ftl'" "$T/r5/postgresql.auto.conf" || fail "timeline $ftl not written"
  expect_rcc 0 restore --source main-db --target "$T/r6" --latest --target-timeline current
  grep -q "^recovery_target_timeline = 'current'" "$T/r6/postgresql.auto.conf" || fail "current not written"
  expect_rcc 18 restore --source main-db --target "$T/r7" --latest --target-timeline "$ftl"
  expect_err "timeline $ftl does not branch from timeline 1 after the chosen backup ends"
  expect_rcc 18 restore --source main-db --target "$T/r7" --latest --target-timeline 9
  expect_err "timeline 9 has no history file"
  expect_rcc 2 restore --source main-db --target "$T/r7" --target-timeline next
  expect_err "--target-timeline takes current, latest or a timeline number"
  expect_rcc 2 restore --source main-db --target "$T/r7" --archive-mode on
  expect_err "--archive-mode takes off or preserve"
  [[ ! -e $T/r7 ]] || fail "a refused restore created its target"
  echo "test restores do not archive; foreign timeline $ftl ignored by --latest, followed on request"
}

# --xid and --name targets before the newest backup: the backup that reaches them is
# chosen (found in the archived WAL); targets nowhere in it are refused.
t_pg_restore_reachable_targets() {
  trap pg_stop_all RETURN
  pg_archiving_primary "max_prepared_transactions = 4" || return 0
  expect_rcc 0 --json backup --source main-db
  b1=$(json 'j["snapshot_id"][:8]')
  xid=$(pg_val "$PORT" "begin; insert into markers values (1); select txid_current(); commit;" | grep -E '^[0-9]+$')
  pg_sql "$PORT" "select pg_create_restore_point('before two')" >/dev/null
  pg_marker "$PORT" 2 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 0 --json backup --source main-db
  b2=$(json 'j["snapshot_id"][:8]')
  pg_marker "$PORT" 3 >/dev/null
  pg_archive_now "$PORT"
  p1=$(free_port)
  n=0
  for how in "--xid $xid" "--name before two"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    if [[ $n == 1 ]]; then expect_rcc 0 --json restore --source main-db --target "$T/r$n" $how
    else expect_rcc 0 --json restore --source main-db --target "$T/r$n" --name "before two"; fi
    [[ $(json 'j["snapshot_id"]') == "$b1"* ]] || fail "$how restored $(json 'j["snapshot_id"]'), not $b1"
    pg_start_written "$T/r$n" "$p1"
    [[ $(markers "$p1") == 1 ]] || fail "$how: markers '$(markers "$p1")', wanted 1"
    pg_stop "$T/r$n"
  done
  # a prepared transaction ends with COMMIT PREPARED, in another transaction's record
  pg_sql "$PORT" "begin; insert into markers values (4); prepare transaction 'p4'" >/dev/null
  pxid=$(pg_val "$PORT" "select transaction from pg_prepared_xacts where gid = 'p4'")
  pg_sql "$PORT" "commit prepared 'p4'" >/dev/null
  pg_marker "$PORT" 5 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 0 --json restore --source main-db --target "$T/rp" --xid "$pxid"
  [[ $(json 'j["snapshot_id"]') == "$b2"* ]] || fail "--xid $pxid restored $(json 'j["snapshot_id"]'), not $b2"
  pg_start_written "$T/rp" "$p1"
  [[ $(markers "$p1") == 1,2,3,4 ]] || fail "--xid $pxid (prepared): markers '$(markers "$p1")', wanted 1,2,3,4"
  pg_stop "$T/rp"
  expect_rcc 18 restore --source main-db --target "$T/x" --xid "$xid" --snapshot "$b2"
  expect_err "backup $b2 of main-db cannot reach transaction $xid"
  expect_rcc 18 restore --source main-db --target "$T/x" --xid 99999999
  expect_err "transaction 99999999 is not in the archived WAL of main-db"
  expect_rcc 18 restore --source main-db --target "$T/x" --name "no such point"
  expect_err "restore point 'no such point' is not in the archived WAL"
  [[ ! -e $T/x ]] || fail "a refused restore created its target"
  # without pg_waldump the backup cannot be chosen before replay: refused, --snapshot works
  sed -i '/^\[source "main-db"\]/a bin-dir = /nonexistent' "$CONF"
  expect_rcc 18 restore --source main-db --target "$T/x" --xid "$xid"
  expect_err "cannot tell which backup of main-db reaches transaction $xid before replay"
  expect_err "hint: .*--snapshot ID"
  expect_rcc 0 restore --source main-db --target "$T/x" --xid "$xid" --snapshot "$b1"
  echo "--xid $xid and --name reach backup $b1; unreachable targets refused"
}

# An archiving backlog (archive_command failing, then catching up: every file archived
# late, at once) and a removed segment the target needs: restore names it.
t_pg_restore_wal_backlog() {
  trap pg_stop_all RETURN
  pg_archiving_primary "archive_command = 'test ! -f $T/archive-off && $T/lifeline -c $T/ll.conf wal-push --source main-db %p'" || return 0
  expect_rcc 0 backup --source main-db
  touch "$T/archive-off"
  pg_marker "$PORT" 1 >/dev/null
  pg_sql "$PORT" "select pg_switch_wal()" >/dev/null
  pg_sql "$PORT" "insert into markers values (50)"
  # not the first late segment (a check by archive times sees that one): the next
  needed=$(pg_val "$PORT" "select pg_walfile_name(pg_current_wal_insert_lsn())")
  pg_sql "$PORT" "select pg_switch_wal()" >/dev/null
  pg_sql "$PORT" "insert into markers values (51)"
  pg_sql "$PORT" "select pg_switch_wal()" >/dev/null
  sleep 1.2
  target=$(pg_val "$PORT" "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
  sleep 1.2
  pg_marker "$PORT" 2 >/dev/null
  rm "$T/archive-off"
  pg_archive_now "$PORT"
  [[ -f $REPO/wal/main-db/$needed ]] || fail "$needed was not archived after the backlog"
  expect_rcc 0 restore --source main-db --target "$T/ok" --time "$target"
  rm "$REPO/wal/main-db/$needed"
  expect_rcc 18 restore --source main-db --target "$T/r" --time "$target"
  expect_err "WAL segment $needed of main-db is missing from the archive"
  [[ ! -e $T/r ]] || fail "a refused restore created its target"
  expect_rcc 18 restore --source main-db --target "$T/r" --latest
  expect_err "needs WAL segment $needed, which is missing"
  echo "after a backlog, the missing $needed is named for --time $target"
}

# --delta only over a data folder of the same system: never over other files.
t_pg_restore_delta_safety() {
  trap pg_stop_all RETURN
  pg_archiving_primary || return 0
  expect_rcc 0 backup --source main-db
  mkdir -p "$T/files/sub" && echo precious >"$T/files/a.txt" && echo more >"$T/files/sub/b.txt"
  expect_rcc 2 restore --source main-db --target "$T/files" --latest --delta
  expect_err "$T/files is not a PostgreSQL data folder .*--delta would delete its contents"
  [[ $(cat "$T/files/a.txt") == precious && -f $T/files/sub/b.txt ]] || fail "--delta touched a folder of files"
  echo 15 >"$T/files/PG_VERSION"
  expect_rcc 2 restore --source main-db --target "$T/files" --latest --delta
  expect_err "is not a PostgreSQL data folder"
  expect_err "hint: a restore interrupted before global/pg_control was written"
  [[ $(cat "$T/files/a.txt") == precious ]] || fail "--delta touched a folder with a PG_VERSION"
  as_pg "$PGBIN/initdb" -D "$T/other" -A trust -U postgres --no-sync >/dev/null 2>&1 || fail "initdb failed"
  expect_rcc 2 restore --source main-db --target "$T/other" --latest --delta
  expect_err "$T/other holds a data folder of PostgreSQL 15, system [0-9]+; the backup is of PostgreSQL 15, system [0-9]+: --delta refused"
  [[ -f $T/other/global/pg_control && ! -e $T/other/backup_manifest ]] || fail "--delta changed another cluster's data folder"
  pg_stop "$T/pgdata"
  expect_rcc 0 restore --source main-db --target "$T/pgdata" --latest --delta
  expect_err "delta: "
  echo "--delta refused over files and over another system's data folder; allowed over its own"
}

# Every --time form PostgreSQL accepts for recovery_target_time reaches the same
# instant: between markers 1 and 2.
t_pg_restore_time_forms() {
  trap pg_stop_all RETURN
  pg_archiving_primary || return 0
  pg_sql "$PORT" "set timezone = 'UTC'" >/dev/null
  expect_rcc 0 backup --source main-db
  pg_marker "$PORT" 1 >/dev/null
  sleep 0.5
  inst=$(pg_val "$PORT" "select now()")
  sleep 0.5
  pg_marker "$PORT" 2 >/dev/null
  pg_archive_now "$PORT"
  q() { pg_val "$PORT" "set timezone = 'UTC'; select $1 from (select '$inst'::timestamptz as t) x"; }
  utc=$(q "to_char(t, 'YYYY-MM-DD HH24:MI:SS.US')")
  forms=(
    "$(q "t::text")"
    "$(q "to_char(t + interval '1 hour', 'YYYY-MM-DD HH24:MI:SS.US') || '+01'")"
    "$(q "to_char(t + interval '1 hour', 'YYYY-MM-DD HH24:MI:SS.US') || '+0100'")"
    "$(q "to_char(t + interval '5 hours 30 minutes', 'YYYY-MM-DD HH24:MI:SS.US') || '+05:30'")"
    "$(q "to_char(t, 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC'")"
    "$(q "to_char(t at time zone 'Europe/Paris', 'YYYY-MM-DD HH24:MI:SS.US') || ' Europe/Paris'")"
    "$(q "to_char(t, 'YYYY-MM-DD\"t\"HH24:MI:SS.US\"z\"')")"
  )
  p1=$(free_port)
  n=0
  for f in "${forms[@]}"; do
    n=$((n + 1))
    expect_rcc 0 --json restore --source main-db --target "$T/r$n" --time "$f"
    [[ $(json 'j["recovery_target_time"]') == "${utc/ /T}Z" ]] || fail "--time '$f' read as $(json 'j["recovery_target_time"]'), wanted ${utc/ /T}Z"
    pg_start_written "$T/r$n" "$p1"
    [[ $(markers "$p1") == 1 ]] || fail "--time '$f': markers '$(markers "$p1")', wanted 1"
    pg_stop "$T/r$n"
  done
  # no zone: this host's zone (TZ), and the output names the instant
  local_form=$(q "to_char(t at time zone 'Asia/Kolkata', 'YYYY-MM-DD HH24:MI:SS.US')")
  TZ=Asia/Kolkata expect_rcc 0 restore --source main-db --target "$T/local" --time "$local_form"
  expect_err "recovery target: time ${utc/ /T}Z \\(given in this host's zone \\(TZ=Asia/Kolkata\\)\\)"
  expect_rcc 2 restore --source main-db --target "$T/bad" --time "2026-11-31 10:00:00+00"
  expect_err "2026-11-31 is not a date"
  expect_rcc 2 restore --source main-db --target "$T/bad" --time "2026-12-01 10:00 Mars/Base"
  expect_err "unknown time zone 'Mars/Base'"
  echo "${#forms[@]} --time forms reached $utc UTC; local time read in TZ"
}

# A standby built from the repository streams from its running primary.
t_pg_restore_standby() {
  trap pg_stop_all RETURN
  primary_backup_marker || return 0
  echo "host=127.0.0.1 port=$PORT user=postgres application_name=ll_standby" >"$T/primary.conninfo"
  chmod 600 "$T/primary.conninfo"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --time "2026-01-01 00:00Z"
  expect_err "--standby takes no recovery target"
  expect_rcc 2 restore --source main-db --target "$T/s" --primary-conninfo-file "$T/primary.conninfo"
  expect_err "--primary-conninfo-file is for --standby"
  expect_rcc 0 restore --source main-db --target "$T/s" --standby --primary-conninfo-file "$T/primary.conninfo"
  [[ -f $T/s/standby.signal && ! -e $T/s/recovery.signal ]] || fail "standby.signal not written"
  grep -q "^primary_conninfo = 'user=postgres host=127.0.0.1 port=$PORT application_name=ll_standby'" \
    "$T/s/postgresql.auto.conf" || fail "primary_conninfo not written"
  p1=$(free_port)
  pg_start_written "$T/s" "$p1" standby
  for _ in $(seq 1 300); do
    [[ $(pg_val "$PORT" "select count(*) from pg_stat_replication where application_name = 'll_standby' and state = 'streaming'") == 1 ]] && break
    sleep 0.1
  done
  [[ $(pg_val "$PORT" "select count(*) from pg_stat_replication where application_name = 'll_standby' and state = 'streaming'") == 1 ]] ||
    { tail -20 "$T/written-$p1.log"; fail "the standby does not stream from the primary"; }
  pg_marker "$PORT" 2 >/dev/null
  for _ in $(seq 1 100); do [[ $(markers "$p1") == 1,2 ]] && break; sleep 0.1; done
  [[ $(markers "$p1") == 1,2 ]] || fail "standby markers '$(markers "$p1")', wanted 1,2"
  [[ $(pg_val "$p1" "select pg_is_in_recovery()") == t ]] || fail "the standby was promoted"
  echo "standby restored from the repository streams from the primary: markers 1,2"
}

# A new standby built from the repository alone (the primary's base backup is the
# repository's; the archive brings it up to date, then it streams): every row, those
# written after the backup (archived, and not yet archived) and those written later.
# Bad input is refused before the repository is read, and leaves no folder behind.
t_pg_restore_standby_streams() {
  trap pg_stop_all RETURN
  primary_backup_marker || return 0     # marker 1 after the backup, archived
  pg_marker "$PORT" 2 >/dev/null        # after the backup, in the primary's current segment only
  local ci="host=127.0.0.1 port=$PORT user=postgres"
  expect_rcc 2 restore --source main-db --standby --primary-conninfo "$ci"
  expect_err "--standby needs --target DIR"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --time "2026-01-01 00:00Z"
  expect_err "--standby takes no recovery target"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --lsn 0/3000000
  expect_err "--standby takes no recovery target"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --latest
  expect_err "--standby takes no recovery target"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --primary-conninfo "$ci password=s3cr3t-pw"
  expect_err "--primary-conninfo holds a password"
  expect_err "PGPASSFILE"
  expect_err "--primary-conninfo-file"
  ! grep -q s3cr3t-pw <<<"$ERR" || fail "the password was echoed: $ERR"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby \
    --primary-conninfo "postgresql://postgres:s3cr3t-pw@127.0.0.1:$PORT/postgres"
  expect_err "--primary-conninfo holds a password"
  ! grep -q s3cr3t-pw <<<"$ERR" || fail "the password was echoed: $ERR"
  expect_rcc 2 restore --source main-db --target "$T/s" --primary-conninfo "$ci"
  expect_err "--primary-conninfo is for --standby"
  echo "$ci" >"$T/primary.conninfo"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --primary-conninfo "$ci" \
    --primary-conninfo-file "$T/primary.conninfo"
  expect_err "not both"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --application-name pg-b
  expect_err "--application-name names the standby to its primary"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby --primary-conninfo "$ci nosuch=1"
  expect_err "invalid connection option"
  expect_rcc 2 restore --source main-db --target "$T/s" --standby \
    --primary-conninfo "$ci application_name=pg-a" --application-name pg-b
  expect_err "application_name=pg-a and --application-name says pg-b"
  [[ ! -e $T/s ]] || fail "a refused restore created $T/s"

  # a URI: written as key=value settings with the application name added
  expect_rcc 0 --json restore --source main-db --target "$T/s" --standby \
    --primary-conninfo "postgresql://postgres@127.0.0.1:$PORT/postgres" --application-name pg-b
  [[ $(json 'j["recovery_target"], j["application_name"], j["primary_conninfo"], j["archive_mode"]') == \
     "standby pg-b True preserve" ]] || fail "json: $OUT"
  [[ -f $T/s/standby.signal && ! -e $T/s/recovery.signal ]] || fail "standby.signal not written"
  local auto=$T/s/postgresql.auto.conf
  grep -q "^primary_conninfo = 'user=postgres dbname=postgres host=127.0.0.1 port=$PORT application_name=pg-b'\$" \
    "$auto" || { cat "$auto"; fail "primary_conninfo not written"; }
  grep -q "^recovery_target_timeline = 'latest'\$" "$auto" || { cat "$auto"; fail "timeline not latest"; }
  grep -q "^restore_command = '.*wal-fetch --source ''main-db'' %f %p'\$" "$auto" ||
    { cat "$auto"; fail "restore_command not written"; }
  [[ $(grep -E '^[[:space:]]*recovery_target' "$auto" "$T/s/postgresql.conf" | grep -vc recovery_target_timeline) == 0 ]] ||
    { cat "$auto"; fail "a recovery target was written for a standby"; }
  [[ $(stat -c %a "$auto") == 600 ]] || fail "postgresql.auto.conf mode $(stat -c %a "$auto")"

  local sp
  sp=$(free_port)
  pg_start_written "$T/s" "$sp" standby
  for _ in $(seq 1 300); do
    [[ $(pg_val "$sp" "select status from pg_stat_wal_receiver" 2>/dev/null) == streaming ]] && break
    sleep 0.1
  done
  [[ $(pg_val "$sp" "select status from pg_stat_wal_receiver") == streaming ]] ||
    { tail -20 "$T/written-$sp.log"; fail "the standby's WAL receiver is not streaming"; }
  [[ $(pg_val "$sp" "select pg_is_in_recovery()") == t ]] || fail "the standby is not in recovery"
  [[ $(pg_val "$PORT" "select state from pg_stat_replication where application_name = 'pg-b'") == streaming ]] ||
    fail "the primary does not see standby pg-b streaming"
  grep -q 'restored log file ".*" from archive' "$T/written-$sp.log" ||
    { tail -20 "$T/written-$sp.log"; fail "the standby did not catch up from the repository's archive"; }
  for _ in $(seq 1 100); do [[ $(markers "$sp") == 1,2 ]] && break; sleep 0.1; done
  [[ $(markers "$sp") == 1,2 ]] || fail "standby markers '$(markers "$sp")', wanted 1,2 (written after the backup)"
  pg_marker "$PORT" 3 >/dev/null        # written after the standby started: streamed
  for _ in $(seq 1 100); do [[ $(markers "$sp") == 1,2,3 ]] && break; sleep 0.1; done
  [[ $(markers "$sp") == 1,2,3 ]] || fail "standby markers '$(markers "$sp")', wanted 1,2,3"
  if pg_sql "$sp" "insert into markers values (99)" 2>/dev/null; then fail "the standby accepted a write"; fi
  echo "standby built from the repository streams as pg-b: markers 1,2,3; bad input refused"
}

# A failover: the standby (built with --standby) is promoted and archives timeline 2
# into the same source after the primary stopped. --latest follows it by default.
t_pg_restore_follows_failover() {
  trap pg_stop_all RETURN
  primary_backup_marker || return 0
  echo "host=127.0.0.1 port=$PORT user=postgres application_name=ll_standby" >"$T/primary.conninfo"
  expect_rcc 0 restore --source main-db --target "$T/s" --standby --primary-conninfo-file "$T/primary.conninfo"
  expect_err "archiving: as in the backup"
  sport=$(free_port)
  pg_start_written "$T/s" "$sport" standby
  pg_marker "$PORT" 2 >/dev/null
  for _ in $(seq 1 100); do [[ $(markers "$sport") == 1,2 ]] && break; sleep 0.1; done
  [[ $(markers "$sport") == 1,2 ]] || fail "the standby did not receive marker 2"
  pg_stop "$T/pgdata"
  as_pg "$PGBIN/pg_ctl" -D "$T/s" -w promote >/dev/null || fail "promotion failed"
  pg_marker "$sport" 3 >/dev/null
  sleep 0.3
  target=$(pg_val "$sport" "select now()::text")
  sleep 0.3
  pg_marker "$sport" 4 >/dev/null
  pg_archive_now "$sport"
  [[ -f $REPO/wal/main-db/00000002.history ]] || fail "the promoted standby archived no history"
  # a time on the new timeline: found in its WAL (segments of both timelines scanned)
  expect_rcc 0 restore --source main-db --target "$T/t" --time "$target"
  pt=$(free_port)
  pg_start_written "$T/t" "$pt"
  [[ $(markers "$pt") == 1,2,3 ]] || fail "--time $target after a failover: '$(markers "$pt")', wanted 1,2,3"
  pg_stop "$T/t"
  expect_rcc 0 --json restore --source main-db --target "$T/r" --latest
  [[ $(json 'j["timeline"]') == 2 ]] || fail "--latest after a failover stayed on timeline $(json 'j["timeline"]')"
  grep -q "^recovery_target_timeline = '2'" "$T/r/postgresql.auto.conf" || fail "timeline 2 not written"
  p1=$(free_port)
  pg_start_written "$T/r" "$p1"
  [[ $(markers "$p1") == 1,2,3,4 ]] || fail "--latest after a failover: '$(markers "$p1")', wanted 1,2,3,4"
  echo "after a failover --latest and --time follow timeline 2: markers 1,2,3,4"
}
