# pg.sh — a real PostgreSQL 15 for the tests: initdb in the test's folder, on a free
# loopback port, as an unprivileged user (PostgreSQL refuses to run as root: Debian's
# `postgres` user, which the package creates), stopped by pg_stop.

PGBIN=/usr/lib/postgresql/15/bin

pg_skip_reason() {
  [[ -x $PGBIN/postgres ]] || { echo "PostgreSQL 15 is not installed"; return; }
  [[ $(id -u) -ne 0 ]] || id -u postgres >/dev/null 2>&1 || echo "no postgres user to run the server as"
}

# Runs a command as the server's user (as ourselves when we are not root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$T" "$@"
  else
    "$@"
  fi
}


# pg_start DATADIR PORT [postgresql.conf lines...]
pg_start() {
  local data=$1 port=$2; shift 2
  as_pg "$PGBIN/initdb" -D "$data" -A trust -U postgres --no-sync >"$T/initdb.log" 2>&1 ||
    { cat "$T/initdb.log"; fail "initdb failed"; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$data'"
    echo "fsync = off"
    printf '%s\n' "$@"
  } >>"$data/postgresql.conf"
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
    { cat "$data/server.log"; fail "PostgreSQL did not start"; }
  PG_STARTED+=("$data")
}

pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true; }

# psql as the superuser over TCP: pg_sql PORT SQL
pg_sql() { psql -X -q -A -t -h 127.0.0.1 -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$2"; }

PG_STARTED=()
pg_stop_all() { for d in "${PG_STARTED[@]}"; do pg_stop "$d"; done; }

# pg_val PORT SQL: one value
pg_val() { pg_sql "$@" | head -1; }

# pg_setup_lifeline PORT [keep-owners]: a key file, the binary where the server's
# user can run it, and a configuration naming source main-db on PORT. Sets CONF.
# The test folder is then the server's user's, unless keep-owners.
pg_setup_lifeline() {
  local port=$1 keep=${2:-}
  ok key add --key-file "$T/wal.key"
  install -m 755 "$LL" "$T/lifeline"
  CONF=$T/ll.conf
  cat >"$CONF" <<CONFEOF
[repository]
path = $REPO
key-file = $T/wal.key

[source "main-db"]
type = postgres
conninfo = host=127.0.0.1 port=$port user=postgres dbname=postgres
wal-timeout = ${WAL_TIMEOUT:-60s}
CONFEOF
  [[ $(id -u) -ne 0 || $keep == keep-owners ]] || chown -R postgres: "$T"
  chmod 755 "$T"
}

# The server settings for archiving through lifeline.
pg_archive_conf() {
  echo "wal_level = replica"
  echo "archive_mode = on"
  echo "wal_keep_size = '1GB'"
  echo "archive_command = '$T/lifeline -c $T/ll.conf wal-push --source main-db %p'"
}

# Waits until the server has archived the segment holding the current WAL position.
pg_archive_now() {
  local port=$1 seg
  seg=$(pg_val "$port" "select pg_walfile_name(pg_current_wal_lsn())")
  pg_sql "$port" "select pg_switch_wal()" >/dev/null
  for _ in $(seq 1 600); do
    [[ -f $REPO/wal/main-db/$seg ]] && return 0
    sleep 0.1
  done
  tail -20 "$(pg_datadir "$port")/server.log" 2>/dev/null
  fail "segment $seg was not archived"
}
pg_datadir() { for d in "${PG_STARTED[@]}"; do grep -q "^port = $1\$" "$d/postgresql.conf" && echo "$d"; done; }

# Starts a restored data folder on PORT without archiving, and waits for promotion.
pg_start_restored() {
  local data=$1 port=$2
  as_pg "$PGBIN/pg_ctl" -D "$data" -l "$T/restored-$port.log" -w -t 120 \
    -o "-p $port -k $data -c archive_mode=off -c listen_addresses=127.0.0.1" start >/dev/null ||
    { tail -30 "$T/restored-$port.log"; fail "restored server did not start"; }
  PG_STARTED+=("$data")
  for _ in $(seq 1 600); do
    [[ $(pg_val "$port" "select pg_is_in_recovery()") == f ]] && return 0
    sleep 0.1
  done
  tail -30 "$T/restored-$port.log"
  fail "restored server was not promoted"
}

# Commits marker N and prints its commit time (UTC, microseconds).
pg_marker() {
  pg_sql "$1" "insert into markers values ($2)" >/dev/null
  pg_val "$1" "select to_char(t at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') from markers where id = $2"
}

# pg_markers_around PORT: marker 2, a target time, marker 3, all archived; the load
# ($bench) stopped. Sets TARGET (UTC, microseconds), between markers 2 and 3.
pg_markers_around() {
  local port=$1
  pg_marker "$port" 2 >/dev/null
  sleep 0.3
  TARGET=$(pg_val "$port" "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
  sleep 0.3
  pg_marker "$port" 3 >/dev/null
  pg_archive_now "$port"
  kill $bench; wait $bench 2>/dev/null || true
}

# pg_skip: true (with a message) when PostgreSQL cannot run here.
pg_skip() {
  local reason
  reason=$(pg_skip_reason)
  [[ -n $reason ]] && echo "skipped: $reason"
}

# pg_archiving_primary [postgresql.conf lines...]: a new repository and a primary that
# archives through lifeline, with a markers table. Sets PORT. (1 when PostgreSQL
# cannot run here.)
pg_archiving_primary() {
  pg_skip && return 1
  new_repo
  PORT=$(free_port)
  pg_setup_lifeline "$PORT"
  mapfile -t conf < <(pg_archive_conf)
  pg_start "$T/pgdata" "$PORT" "${conf[@]}" "$@"
  pg_sql "$PORT" "create table markers(id int primary key, t timestamptz not null default clock_timestamp())"
}

# pg_standby DIR: a streaming standby of the primary on PORT, in DIR, not archiving.
# Sets SPORT.
pg_standby() {
  local dir=$1
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$dir" -R -X stream ||
    fail "pg_basebackup for the standby failed"
  SPORT=$(free_port)
  as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir.log" -w -t 60 \
    -o "-p $SPORT -k $dir -c archive_mode=off" start >/dev/null || { tail "$dir.log"; fail "standby did not start"; }
  PG_STARTED+=("$dir")
}

# pg_restored_markers DIR: starts the restored data folder on a free port, waits
# for its promotion, and prints its markers ("1,2,3").
pg_restored_markers() {
  local port
  port=$(free_port)
  pg_start_restored "$1" "$port" >&2
  pg_val "$port" "select string_agg(id::text, ',' order by id) from markers"
}

# pg_primary: the same, under the name the older tests use.
pg_primary() { pg_archiving_primary "$@"; }
