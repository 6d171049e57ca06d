# PostgreSQL's WAL archive and backups around it, against real PostgreSQL 15 servers:
# one archive per system, a repository shared by root and the server's user,
# backups from a standby under a source of their own, and what forget removes.

source "$HERE/pg.sh"

pg_sysid() { pg_val "$1" "select system_identifier from pg_control_system()"; }

# pg_segment_ahead PORT N: N segment switches with writes; prints the path of the
# segment the server writes now (its header is on disk, the rest need not be).
pg_segment_ahead() {
  local port=$1 n=$2 data
  data=$(pg_datadir "$port")
  pg_sql "$port" "create table if not exists filler(x int)"
  for _ in $(seq 1 "$n"); do
    pg_sql "$port" "insert into filler values (1); select pg_switch_wal()" >/dev/null
  done
  echo "$data/pg_wal/$(pg_val "$port" "select pg_walfile_name(pg_current_wal_lsn())")"
}

# Another cluster's WAL pushed into main-db's archive is refused, naming both systems;
# a segment under another segment's name, or not a segment at all, is refused; a
# backup of another system into the archive is refused before it streams; and an
# archive that mixes systems (pushed by an older lifeline) is flagged by check.
t_pg_archive_refuses_other_system() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  pg_archive_now "$PORT"
  pg_archive_now "$PORT"
  a_id=$(pg_sysid "$PORT")
  port2=$(free_port)
  pg_start "$T/other" "$port2"
  b_id=$(pg_sysid "$port2")
  [[ $a_id != "$b_id" ]] || fail "two initdb runs gave one system id"
  bseg=$(pg_segment_ahead "$port2" 8)
  name=$(basename "$bseg")
  [[ ! -e $REPO/wal/main-db/$name ]] || fail "test set-up: $name is already archived"
  cp "$bseg" "$T/$name"
  expect_rcc 20 wal-push --source main-db "$T/$name"
  expect_err "WAL segment $name is from PostgreSQL system $b_id, but the WAL archive of source main-db belongs to system $a_id"
  expect_err "hint: every cluster needs its own source name"
  [[ ! -e $REPO/wal/main-db/$name ]] || fail "the other system's segment was archived"
  cp "$bseg" "$T/$name.partial"
  expect_rcc 20 wal-push --source main-db "$T/$name.partial"
  expect_err "is from PostgreSQL system $b_id"
  # the same file under its own source is fine: each archive has its system
  expect_rcc 0 wal-push --source other-db "$T/$name"
  # a segment under another segment's name; bytes that are no segment
  last=$(pg_val "$PORT" "select last_archived_wal from pg_stat_archiver")
  cp "$T/pgdata/pg_wal/$last" "$T/00000001000000000000007F"
  expect_rcc 2 wal-push --source main-db "$T/00000001000000000000007F"
  expect_err "00000001000000000000007F is not the PostgreSQL WAL segment its name says: it holds another segment"
  # (text first: random bytes alone carry a WAL magic and the long-header bit about
  # once in 128 runs)
  { printf 'not a WAL segment'; head -c $((16777216 - 17)) /dev/urandom; } >"$T/00000001000000000000007E"
  expect_rcc 2 wal-push --source main-db "$T/00000001000000000000007E"
  expect_err "its first page has no WAL long header"
  head -c 100 "$T/pgdata/pg_wal/$last" >"$T/00000001000000000000007D"
  expect_rcc 2 wal-push --source main-db "$T/00000001000000000000007D"
  expect_err "the segment size in its header is not its length"
  # the server's own archiving goes on
  pg_archive_now "$PORT"
  failed=$(pg_val "$PORT" "select failed_count from pg_stat_archiver")
  [[ $failed == 0 ]] || fail "archive_command failed $failed times"
  # a backup of the other system into main-db's archive: refused before streaming
  cat >>"$CONF" <<EOF

[source "other-db"]
type = postgres
conninfo = host=127.0.0.1 port=$port2 user=postgres dbname=postgres
archive-source = main-db
EOF
  expect_rcc 20 backup --source other-db
  expect_err "the server of source other-db is from PostgreSQL system $b_id, but the WAL archive of source main-db belongs to system $a_id"
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == 0 ]] || fail "a refused backup left a snapshot"
  expect_rcc 0 backup --source main-db
  expect_rcc 0 check --read-data
  # an archive that already mixes systems, as an older lifeline (which recorded no
  # system id) left it: with the archive's system-id object set aside, the other
  # system's segment and backup go in; then the archive's own id comes back
  sysfile=$REPO/wal/main-db/system-id
  [[ -f $sysfile ]] || fail "no system-id object in the archive"
  cp -p "$sysfile" "$T/system-id.a"
  rm "$sysfile"
  expect_rcc 0 wal-push --source main-db "$T/$name"
  sed -e "s/port=$PORT /port=$port2 /" -e 's/^wal-timeout = .*/wal-timeout = 1s/' "$CONF" >"$T/old.conf"
  "$LL" -c "$T/old.conf" backup --source main-db >/dev/null 2>&1 || true
  cp -p "$T/system-id.a" "$sysfile"
  expect_rcc 13 check --read-data
  expect_err "error: wal/main-db/$name: from PostgreSQL system $b_id, but the archive of main-db belongs to system $a_id: it mixes systems"
  expect_rcc 13 check
  expect_err "base backup of main-db is of PostgreSQL system $b_id, but the WAL archive of main-db holds system $a_id: it mixes systems"
  echo "system $b_id refused from the archive of system $a_id (wal-push, .partial, backup); renamed and foreign files refused"
}

# The repository set up as the README says (root creates it in a folder owned by
# the server's user), then PostgreSQL archiving as postgres, root's backups and
# checks, and PostgreSQL again: no permission failure, every audit record kept.
t_pg_archive_repository_shared_with_postgres() {
  trap pg_stop_all RETURN
  pg_skip && return 0
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root"; return 0; }
  install -d -o postgres -g postgres -m 700 "$REPO"
  new_repo
  port=$(free_port)
  pg_setup_lifeline "$port" keep-owners
  chown postgres: "$T/wal.key"
  chmod 644 "$CONF"
  install -d -o postgres -g postgres "$T/pgdata" "$T/pgstate"
  # a repository root made for itself: PostgreSQL's user is told what to do
  run_cmd "$LL" -r "$T/rootrepo" init --kdf-memory 8 --kdf-time 1
  set +e
  as_pg env LIFELINE_STATE_DIR="$T/pgstate" "$T/lifeline" -r "$T/rootrepo" --key-file "$T/wal.key" \
    wal-push "$T/000000010000000000000001" >"$T/pg.out" 2>&1
  rc=$?
  set -e
  [[ $rc == 16 ]] && grep -q "hint: the repository must belong to the user PostgreSQL runs as (postgres): chown -R it" "$T/pg.out" ||
    { cat "$T/pg.out"; fail "wal-push into root's repository as postgres: exit $rc, no hint"; }
  # the server (and lifeline under it) runs as postgres, with its own state folder
  LIFELINE_STATE_DIR=$T/pgstate pg_start "$T/pgdata" "$port" "wal_level = replica" "archive_mode = on" \
    "archive_command = '$T/lifeline -c $CONF wal-push --source main-db %p'"
  pg_sql "$port" "create table markers(id int primary key, t timestamptz not null default clock_timestamp())"
  archived() { pg_val "$port" "select archived_count || ' ' || failed_count from pg_stat_archiver"; }
  for i in 1 2 3; do pg_marker "$port" "$i" >/dev/null; pg_archive_now "$port"; done
  [[ $(archived) == *" 0" ]] || fail "archiving as postgres: $(archived) (archived, failed)"
  expect_rcc 0 backup --source main-db          # root
  expect_rcc 0 check
  for i in 4 5 6; do pg_marker "$port" "$i" >/dev/null; pg_archive_now "$port"; done
  [[ $(archived) == *" 0" ]] || { tail -5 "$T/pgdata/server.log"; fail "archiving after root's backup: $(archived)"; }
  # postgres runs commands too: a backup (an audit record) and the checks
  for cmd in "backup --source main-db" check "audit verify"; do
    # shellcheck disable=SC2086
    as_pg env LIFELINE_STATE_DIR="$T/pgstate" "$T/lifeline" -c "$CONF" $cmd >"$T/pg.out" 2>&1 ||
      { cat "$T/pg.out"; fail "$cmd as postgres failed"; }
  done
  expect_rcc 0 backup --source main-db          # root again
  expect_rcc 0 audit verify
  expect_rcc 0 --json audit show
  users=$(json '" ".join(r["user"] + ":" + r["command"] + ":" + r["outcome"] for r in j)')
  [[ $users == "root:init:ok root:key:ok root:backup:ok postgres:backup:ok root:backup:ok" ]] ||
    fail "audit trail: $users"
  stray=$(find "$REPO" ! -user postgres | head -3)
  [[ -z $stray ]] || fail "not owned by postgres: $stray"
  expect_rcc 0 restore --source main-db --target "$T/restored" --latest
  echo "3 + 3 segments archived as postgres around root's and postgres' backups; audit trail: $users"
}

# A backup from a streaming standby, under a source of its own: its WAL is found in
# the primary's archive (by system id), and it finishes on an idle primary by
# switching the primary's segment (primary-conninfo); without that, it ends after
# wal-timeout naming what to configure.
t_pg_archive_standby_backup_own_source() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  pg_archive_now "$PORT"
  pg_standby "$T/standby"
  sport=$SPORT
  cat >>"$CONF" <<EOF

[source "replica-db"]
type = postgres
conninfo = host=127.0.0.1 port=$sport user=postgres dbname=postgres
primary-conninfo = host=127.0.0.1 port=$PORT user=postgres dbname=postgres
wal-timeout = 30s

[source "replica-bare"]
type = postgres
conninfo = host=127.0.0.1 port=$sport user=postgres dbname=postgres
wal-timeout = 3s
EOF
  # marker N on the primary, replayed by the standby: the primary's current segment
  # is then unfinished, and the standby's backup ends in it
  replayed_marker() {
    pg_marker "$PORT" "$1" >/dev/null
    for _ in $(seq 1 100); do
      [[ $(pg_val "$sport" "select count(*) from markers where id = $1") == 1 ]] && return 0
      sleep 0.1
    done
    fail "the standby did not replay marker $1"
  }
  replayed_marker 1
  # the primary is idle from here on: nothing switches its segment but lifeline
  start=$(date +%s)
  expect_rcc 0 --json backup --source replica-db
  took=$(($(date +%s) - start))
  [[ $(json 'j["meta"]["standby"]') == True ]] || fail "not recorded as a standby backup"
  [[ $(json 'j["meta"]["wal_source"]') == main-db ]] || fail "WAL archive not found by system id: $(json 'j["meta"]')"
  [[ $took -lt 25 ]] || fail "the standby backup took $took s on an idle primary"
  # a second archive of the same system (say, a restored copy archived under
  # copy-db): which one is the primary's is for the configuration to say
  seg=$(ls "$T/pgdata/pg_wal" | grep -E '^[0-9A-F]{24}$' | head -1)
  expect_rcc 0 wal-push --source copy-db "$T/pgdata/pg_wal/$seg"
  expect_rcc 15 backup --source replica-db
  expect_err "the WAL archives of sources (main-db, copy-db|copy-db, main-db) all belong to PostgreSQL system"
  expect_err "hint: set archive-source on source replica-db"
  sed -i '/^\[source "replica-db"\]/a archive-source = main-db' "$CONF"
  expect_rcc 0 backup --source replica-db
  replayed_marker 2
  sed -i '/^\[source "replica-bare"\]/a archive-source = main-db' "$CONF"
  expect_rcc 21 backup --source replica-bare
  expect_err "was not archived within 3 s"
  expect_err "hint: a backup from a standby ends in a segment the primary finishes: set primary-conninfo on source replica-bare"
  pg_marker "$PORT" 3 >/dev/null
  pg_archive_now "$PORT"
  expect_rcc 0 check
  expect_rcc 0 restore --source replica-db --target "$T/restored" --latest
  grep -qE "wal-fetch --source '+main-db'+ " "$T/restored/postgresql.auto.conf" ||
    fail "restore_command does not fetch from main-db's archive: $(grep restore_command "$T/restored/postgresql.auto.conf")"
  got=$(pg_restored_markers "$T/restored")
  [[ $got == "1,2,3" ]] || fail "markers after restoring the standby's backup: '$got', wanted '1,2,3'"
  echo "standby backup under replica-db in $took s on an idle primary; WAL from main-db; restored markers $got"
}

# forget --dry-run shows the WAL it would remove (count, range, bytes), in text and
# --json, removes nothing; forget then removes exactly that.
t_pg_archive_forget_dry_run_shows_wal() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  expect_rcc 0 backup --source main-db
  pg_archive_now "$PORT"
  pg_archive_now "$PORT"
  expect_rcc 0 --json backup --source main-db
  keep_from=$(json 'j["meta"]["wal_start"]')
  pg_archive_now "$PORT"
  before=$(ls "$REPO/wal/main-db" | sort)
  olds=$(ls "$REPO/wal/main-db" | grep -E '^[0-9A-F]{24}' | awk -v k="$keep_from" 'substr($0, 1, 24) < k' | sort)
  count=$(wc -l <<<"$olds")
  first=$(head -1 <<<"$olds" | cut -c1-24); last=$(tail -1 <<<"$olds" | cut -c1-24)
  [[ $count -ge 2 ]] || fail "test set-up: only $count old WAL files"
  expect_rcc 0 forget --keep-last 1 --dry-run
  expect_err "WAL of main-db: would remove $count file\\(s\\) older than $keep_from, which the oldest kept backup starts with: segments $first \\.\\. $last, [0-9.]+ [KMG]i?B stored"
  expect_rcc 0 --json forget --keep-last 1 --dry-run
  [[ $(json '[o for o in j if o.get("kind") == "wal"][0]["files"]') == "$count" ]] || fail "--json: $OUT"
  [[ $(json '[o for o in j if o.get("kind") == "wal"][0]["first"]') == "$first" ]] || fail "--json first: $OUT"
  [[ $(json '[o for o in j if o.get("kind") == "wal"][0]["last"]') == "$last" ]] || fail "--json last: $OUT"
  [[ $(json '[o for o in j if o.get("kind") == "wal"][0]["bytes"]') -gt 0 ]] || fail "--json bytes: $OUT"
  [[ $(json 'len([o for o in j if "kind" not in o])') == 2 ]] || fail "--json: the snapshots are not all listed: $OUT"
  [[ $(ls "$REPO/wal/main-db" | sort) == "$before" ]] || fail "a dry run removed WAL"
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == 2 ]] || fail "a dry run removed a snapshot"
  expect_rcc 0 forget --keep-last 1
  expect_err "WAL of main-db: removed $count file\\(s\\)"
  left=$(comm -23 <(echo "$before") <(ls "$REPO/wal/main-db" | sort) | wc -l)
  [[ $left == "$count" ]] || fail "forget removed $left files, the dry run announced $count"
  expect_rcc 0 check
  echo "dry run announced $count WAL files ($first .. $last), forget removed exactly those"
}

# readme_blocks LANG: the code blocks of README's PostgreSQL section in language LANG
# ("sh", "ini", or "" for plain), each ending with a line "@@END@@", paths and names
# moved into this test: /var/backups/lifeline, /etc/lifeline, the lifeline command,
# the port and the role.
readme_blocks() {
  python3 - "$HERE/../../README.md" "$1" "$T" "$REPO" "$port" <<'PY'
import re, sys
readme, lang, t, repo, port = sys.argv[1:]
text = open(readme).read()
section = text[text.index('\n## PostgreSQL\n'):]
section = section[:section.index('\n## ', 5)]
for m in re.finditer(r'```(\w*)\n(.*?)```', section, re.S):
    if m.group(1) != lang:
        continue
    b = m.group(2).replace('/var/backups/lifeline', repo).replace('/etc/lifeline/', t + '/etc/')
    b = b.replace('port=5432', 'port=' + port).replace('user=lifeline', 'user=postgres')
    b = b.replace('/usr/local/bin/lifeline ', t + '/lifeline ')  # where make install puts it
    b = re.sub(r"(^|')lifeline ", r'\1' + t + '/lifeline ', b, flags=re.M)
    print(b + '@@END@@')
PY
}

# The README's PostgreSQL section, run as written (paths moved into the test): the
# set-up commands as root, its configuration (the retention class it names is
# defined), its postgresql.conf lines; then a backup, forget by the class's policy,
# and a restore.
t_pg_archive_readme_snippets() {
  trap pg_stop_all RETURN
  pg_skip && return 0
  [[ $(id -u) -eq 0 ]] || { echo "skipped: the README's set-up runs as root"; return 0; }
  port=$(free_port)
  install -m 755 "$LL" "$T/lifeline"
  mkdir -p "$T/etc"
  readme_blocks ini | awk '/@@END@@/ {exit} {print}' >"$T/etc/lifeline.conf"
  grep -q '^class = ' "$T/etc/lifeline.conf" || fail "the README's configuration names no class: nothing to test"
  export LIFELINE_CONFIG=$T/etc/lifeline.conf
  readme_blocks sh | awk '/@@END@@/ {exit} {print}' >"$T/setup.sh"
  bash -e "$T/setup.sh" >"$T/setup.out" 2>&1 || { cat "$T/setup.sh" "$T/setup.out"; fail "the README's set-up failed"; }
  readme_blocks "" | awk '/@@END@@/ {exit} {print}' >"$T/pg.conf"
  grep -q '^archive_command' "$T/pg.conf" || fail "no archive_command in the README's postgresql.conf lines"
  mapfile -t conf <"$T/pg.conf"
  install -d -o postgres -g postgres "$T/pgdata"
  pg_start "$T/pgdata" "$port" "${conf[@]}"
  pg_sql "$port" "create table markers(id int primary key, t timestamptz not null default clock_timestamp())"
  CONF=$LIFELINE_CONFIG
  pg_marker "$port" 1 >/dev/null
  expect_rcc 0 backup --source main-db
  expect_rcc 0 --json snapshots
  class=$(json 'j[0]["class"]')
  grep -q "^\[retention \"$class\"\]" "$CONF" || fail "class $class is not defined in the README's configuration"
  pg_marker "$port" 2 >/dev/null
  pg_archive_now "$port"
  expect_rcc 0 forget --dry-run                  # the class's policy applies
  expect_out "keep .* (daily|weekly|last)"
  expect_rcc 0 check
  expect_rcc 0 restore --source main-db --target "$T/restored" --latest
  chown postgres: "$T" # the restored server's log
  got=$(pg_restored_markers "$T/restored")
  [[ $got == "1,2" ]] || fail "markers after restore: '$got', wanted '1,2'"
  # the standby source of the README parses (its server is not started here)
  readme_blocks ini | awk 'n == 1 {print} /@@END@@/ {n++}' | grep -v '@@END@@' >>"$CONF"
  expect_rcc 0 snapshots
  echo "README PostgreSQL section run as written: class $class, restored markers $got"
}

# --logical with a role that cannot read every table: pg_dump's own error in one
# line, with the hint that pg_read_all_data is what it needs; granted, the dump
# works without REPLICATION.
t_pg_archive_logical_needs_read_all_data() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  pg_sql "$PORT" "create role dumper login; create table secret(x int); insert into secret values (1)"
  cat >>"$CONF" <<EOF2

[source "dump-db"]
type = pg_dump
conninfo = host=127.0.0.1 port=$PORT user=dumper dbname=postgres
EOF2
  expect_rcc 20 backup --source dump-db
  expect_err "pg_dump of source dump-db failed \(exit code 1\): .*permission denied for table .*; nothing was saved"
  expect_err "hint: .*needs pg_read_all_data"
  [[ $(grep -c . <<<"$ERR") -eq 2 ]] || fail "not one line and a hint: $ERR"
  refused=$(head -1 <<<"$ERR" | cut -c1-110)
  pg_sql "$PORT" "grant pg_read_all_data to dumper"
  expect_rcc 0 backup --source dump-db
  [[ $(pg_val "$PORT" "select rolreplication from pg_roles where rolname = 'dumper'") == f ]] || fail "test set-up"
  echo "$refused...; with pg_read_all_data: saved"
}

# A table in a tablespace outside the data folder: the base backup stores the
# tablespace (pg_tblspc/<oid>, its location in the meta); a restore over the
# location the server still uses is refused before anything is written; restored
# elsewhere with --tablespace-map, the table has its rows; restored to its own
# location (the original server gone), too.
t_pg_archive_tablespace_round_trip() {
  trap pg_stop_all RETURN
  pg_primary || return 0
  install -d -o postgres -g postgres -m 700 "$T/ts"
  pg_sql "$PORT" "create tablespace elsewhere location '$T/ts'"
  pg_sql "$PORT" "create table far(x int) tablespace elsewhere; insert into far select generate_series(1, 30000)"
  pg_sql "$PORT" "create database farther tablespace elsewhere"
  oid=$(pg_val "$PORT" "select oid from pg_tablespace where spcname = 'elsewhere'")
  expect_rcc 0 --json backup --source main-db
  [[ $(json 'j["meta"]["tablespaces"]') == "[{'oid': $oid, 'location': '$T/ts'}]" ]] ||
    fail "tablespace not recorded: $(json 'j["meta"]')"
  pg_marker "$PORT" 1 >/dev/null
  pg_sql "$PORT" "insert into far select generate_series(30001, 31000)"
  pg_archive_now "$PORT"
  expect_rcc 2 restore --source main-db --target "$T/r1" --latest
  expect_err "tablespace $oid goes to $T/ts, which is not empty"
  expect_err "hint: restore it elsewhere with --tablespace-map $oid=DIR"
  [[ ! -e $T/r1 ]] || fail "a refused restore wrote $T/r1"
  expect_rcc 2 restore --source main-db --target "$T/r1" --latest --tablespace-map 99=/x
  expect_err "the backup has no tablespace 99"
  expect_rcc 2 restore --source main-db --target "$T/r1" --latest --tablespace-map "$oid=relative"
  expect_err "takes OID=DIR with an absolute DIR"
  expect_rcc 0 restore --source main-db --target "$T/r1" --latest --tablespace-map "$oid=$T/ts-copy"
  expect_err "tablespace $oid restored to $T/ts-copy"
  [[ $(readlink "$T/r1/pg_tblspc/$oid") == "$T/ts-copy" ]] || fail "pg_tblspc/$oid does not point to $T/ts-copy"
  as_pg "$PGBIN/pg_verifybackup" -n -i postgresql.auto.conf -i recovery.signal "$T/r1" >/dev/null ||
    fail "pg_verifybackup rejects the restored data folder with its tablespace"
  port2=$(free_port)
  pg_start_restored "$T/r1" "$port2"
  [[ $(pg_val "$port2" "select count(*) from far") == 31000 ]] || fail "far has $(pg_val "$port2" "select count(*) from far") rows"
  [[ $(pg_val "$port2" "select pg_tablespace_location($oid)") == "$T/ts-copy" ]] || fail "tablespace location"
  psql -X -q -h 127.0.0.1 -p "$port2" -U postgres -d farther -c "select 1" >/dev/null || fail "database farther lost"
  pg_sql "$port2" "insert into far select generate_series(1, 500); checkpoint"
  pg_stop "$T/r1"
  # --delta over that copy, tablespace included, gives the backup's rows again
  expect_rcc 0 restore --source main-db --target "$T/r1" --latest --delta --tablespace-map "$oid=$T/ts-copy"
  pg_start_restored "$T/r1" "$port2"
  [[ $(pg_val "$port2" "select count(*) from far") == 31000 ]] || fail "after --delta far has $(pg_val "$port2" "select count(*) from far") rows"
  pg_stop "$T/r1"
  # the original server and its tablespace gone: back to the original location
  pg_stop "$T/pgdata"
  rm -rf "$T/ts"
  expect_rcc 0 restore --source main-db --target "$T/r2" --latest
  got=$(pg_restored_markers "$T/r2")
  [[ $got == 1 ]] || fail "markers after restoring to the original location: '$got'"
  [[ $(stat -c %U "$T/ts") == postgres || $(id -u) -ne 0 ]] || fail "$T/ts not owned by postgres"
  echo "tablespace $oid: refused over its live location, restored via --tablespace-map and to its own location"
}

# A damaged system-id object: wal-push fails (exit 13) saying how to go on, check
# --read-data names it; removed, the next push sets it again.
t_pg_archive_damaged_system_id() {
  new_repo
  ok key add --key-file "$T/wal.key"
  export LIFELINE_KEY_FILE=$T/wal.key
  seg=000000010000000000000001
  python3 - "$T/$seg" <<'PY'
import os, struct, sys
head = struct.pack('<HHIQII', 0xD110, 7, 1, 16777216, 0, 0) + struct.pack('<QII', 42, 16777216, 8192)
open(sys.argv[1], 'wb').write(head + bytes(16777216 - len(head)))
PY
  ok wal-push --source db "$T/$seg"
  [[ -f $REPO/wal/db/system-id ]] || fail "no system-id after the first push"
  flip_byte "$REPO/wal/db/system-id" -3
  expect_rc 13 wal-push --source db "$T/$seg"
  expect_err "hint: remove wal/db/system-id from the repository"
  expect_rc 13 check --read-data
  expect_err "error: wal/db/system-id: "
  rm "$REPO/wal/db/system-id"
  ok wal-push --source db "$T/$seg"
  ok check --read-data
  echo "damaged system-id: exit 13 with the way out; removed, set again"
}
