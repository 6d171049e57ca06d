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

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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
