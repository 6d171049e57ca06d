# Every input that can be wrong: a clear one-line error, its own exit code, nothing changed.

repo_digest() { (cd "$REPO" && find . -type f ! -path './locks/*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }

t_wrong_password_changes_nothing() {
  make_sample "$T/src"
  new_repo
  ok backup "$T/src"
  before=$(repo_digest)
  LIFELINE_PASSWORD=wrong expect_rc 12 backup "$T/src"
  [[ $(wc -l <<<"$ERR") -eq 1 ]] || fail "wrong password: more than one line: $ERR"
  expect_err "^lifeline: error: wrong password for repository"
  LIFELINE_PASSWORD=wrong expect_rc 12 restore latest --target "$T/out"
  [[ ! -e $T/out ]] || fail "restore with a wrong password created the target"
  [[ $(repo_digest) == "$before" ]] || fail "repository changed after wrong-password attempts"
  # password from a file, and no password at all (no terminal in tests)
  echo "$LIFELINE_PASSWORD" >"$T/pw"
  LIFELINE_PASSWORD= ; unset LIFELINE_PASSWORD
  set +e; "$LL" -r "$REPO" --password-file "$T/pw" snapshots >/dev/null 2>&1; rc=$?; set -e
  [[ $rc -eq 0 ]] || fail "--password-file did not work ($rc)"
  set +e; "$LL" -r "$REPO" snapshots </dev/null >/dev/null 2>"$T/err"; rc=$?; set -e
  [[ $rc -eq 2 ]] && grep -q "no password given" "$T/err" || fail "missing password: rc $rc"
}

t_not_a_repository() {
  REPO=$T/missing expect_rc 10 snapshots
  expect_err "repository $T/missing: No such file"
  mkdir "$T/empty"
  REPO=$T/empty expect_rc 10 snapshots
  expect_err "not a lifeline repository"
  expect_err "^hint: create one with"
  set +e; "$LL" snapshots >/dev/null 2>"$T/err"; rc=$?; set -e
  [[ $rc -eq 2 ]] && grep -q "no repository given" "$T/err" || fail "no -r: rc $rc"
  new_repo
  expect_rc 1 init --kdf-memory 8 --kdf-time 1
  expect_err "already holds a lifeline repository"
}

t_unknown_version_and_damaged_config() {
  new_repo
  sed -i 's/"version":1/"version":7/' "$REPO/config"
  expect_rc 14 snapshots
  expect_err "repository format version 7 is not supported"
  sed -i 's/"version":7/"version":1/; s/"zstd_level":3/"zstd_level":5/' "$REPO/config"
  expect_rc 13 snapshots
  expect_err "config of .* was modified"
}

t_unreadable_key_slot() {
  new_repo
  slot=$(first_file keys)
  echo 'garbage' >"$slot"
  expect_rc 13 snapshots
  expect_err "key slot keys/[0-9a-f]+ .* is damaged"
}

t_bad_config_file() {
  new_repo
  printf '[repository]\npath = %s\n[retention "x"]\nlock = sometimes\n' "$REPO" >"$T/c.conf"
  set +e; "$LL" -c "$T/c.conf" snapshots >/dev/null 2>"$T/err"; rc=$?; set -e
  [[ $rc -eq 15 ]] && grep -q "c.conf:4: lock" "$T/err" || { cat "$T/err"; fail "bad config: rc $rc"; }
  printf '[repository]\npath = %s\n' "$REPO" >"$T/good.conf"
  set +e; "$LL" -c "$T/good.conf" snapshots >/dev/null 2>&1; rc=$?; set -e
  [[ $rc -eq 0 ]] || fail "repository path from the config file: rc $rc"
  expect_rc 15 backup --class nosuch "$T"
  expect_err "retention class 'nosuch' is not defined"
  expect_rc 18 backup "$T/does-not-exist"
}

# The watch agent's sections are read (and checked) by every command that reads the file:
# a bad [service] is refused naming file:line and why; the issue's example is accepted.
t_watch_config_sections() {
  new_repo
  local bad=(
    'interval = 2s\ntimeout = 5s|c.conf:7: \[service "web"\]: timeout (5s) is longer than interval (2s)'
    'fall = 0|c.conf:6: fall:'
    'depends-on = nosuch|c.conf:6: depends-on: no \[service "nosuch"\]'
    'probes = tcp://127.0.0.1:1|c.conf:6: unknown key .probes. in \[service "web"\]'
    'max-recoveries = 3|c.conf:6: max-recoveries:'
  )
  for case in "${bad[@]}"; do
    printf '[repository]\npath = %s\n\n[service "web"]\nprobe = http://127.0.0.1:8080/health\n'"${case%%|*}"'\n' "$REPO" >"$T/c.conf"
    set +e; "$LL" -c "$T/c.conf" snapshots >/dev/null 2>"$T/err"; rc=$?; set -e
    [[ $rc -eq 15 ]] && grep -q "${case#*|}" "$T/err" || { cat "$T/c.conf" "$T/err"; fail "bad [service]: rc $rc"; }
  done
  cat >"$T/good.conf" <<EOF
[repository]
path = $REPO

[watch]
node = zone-a-1
listen = 127.0.0.1:8008
loop = 1s

[objectives]
services-rto = 10m
mttr = 15m

[service "db"]
probe = tcp://127.0.0.1:5432

[service "backend"]
probe = http://127.0.0.1:8080/health   # a comment
interval = 2s
timeout = 1s
fall = 3
rise = 2
start-period = 30s
start-command = docker compose -p production up -d --build backend
stop-command = docker compose -p production stop backend
depends-on = db
max-recoveries = 3/1h

[notify "oncall"]
type = webhook
url = https://hooks.example/x
format = json
events = incident escalation
after = 15m
EOF
  set +e; "$LL" -c "$T/good.conf" snapshots >/dev/null 2>"$T/err"; rc=$?; set -e
  [[ $rc -eq 0 ]] || { cat "$T/err"; fail "good watch sections refused: rc $rc"; }
}

# A password file that is not there: usage error naming the file and why, intact.
t_missing_password_file() {
  new_repo
  expect_rc 2 --password-file "$T/no-such.pass" snapshots
  expect_err "^lifeline: error: password file $T/no-such.pass: open $T/no-such.pass: No such file or directory$"
}

# A source's section that is wrong: a configuration error naming source, file and
# what is wrong, before any connection is tried (exit 15).
t_source_config_errors() {
  new_repo
  c=$T/c.conf
  src() { printf '[repository]\npath = %s\n\n[source "db"]\n%s\n' "$REPO" "$1" >"$c"; }
  check_err() { # SECTION-LINES PATTERN ARGS...
    src "$1"; local pat=$2; shift 2
    run_cmd "$LL" -c "$c" "$@"
    [[ $RC -eq 15 ]] || { echo "$ERR"; fail "lifeline $* exited $RC, wanted 15"; }
    expect_err "$pat"
  }
  check_err $'type = mysql' "source 'db' in $c: type must be postgres, pg_dump or redis \\(is mysql\\)" backup --source db
  check_err $'conninfo = host=x' "type must be postgres, pg_dump or redis \\(is not set\\)" backup --source db
  check_err $'type = postgres\nconninf = host=x' "unknown key 'conninf' for type postgres" backup --source db
  check_err $'type = postgres' "conninfo is missing" backup --source db
  check_err $'type = postgres\nconninfo = host=x password=hunter2' "conninfo must not hold a password" backup --source db
  grep -q hunter2 <<<"$ERR" && fail "the password was echoed"
  check_err $'type = postgres\nconninfo = host=x\nwal-timeout = soon' "wal-timeout 'soon' is not a duration" backup --source db
  # a timeout counts clock time: m is a minute there, a year is no timeout
  check_err $'type = postgres\nconninfo = host=x\nwal-timeout = 1y' "wal-timeout '1y' is not a duration between 1s and 24h" backup --source db
  printf '[repository]\npath = %s\n\n[source "db"]\ntype = postgres\nconninfo = host=127.0.0.1 port=1 connect_timeout=2\nwal-timeout = 2m\n' "$REPO" >"$T/2m.conf"
  run_cmd "$LL" -c "$T/2m.conf" backup --source db   # 2m is two minutes: accepted, then the server is not there
  [[ $RC -eq 20 ]] || { echo "$ERR"; fail "wal-timeout = 2m: exited $RC, wanted 20 (the source unreachable)"; }
  check_err $'type = redis' "address is missing" backup --source db
  check_err $'type = redis\naddress = localhost' "address 'localhost' is not host:port or unix:/path" backup --source db
  check_err $'type = redis\naddress = 127.0.0.1:1\nuser = backup' "user backup needs a password-file" backup --source db
  check_err $'type = redis\naddress = 127.0.0.1:1\ntimeout = 0s' "timeout '0s' is not a duration" backup --source db
  check_err $'type = redis\naddress = 127.0.0.1:1' "--replace needs data-dir, stop-command and start-command" \
    restore --source db --replace
  check_err $'type = redis\naddress = 127.0.0.1:1' "no source 'other'" backup --source other
  [[ ! -d $REPO/data || -z $(ls "$REPO/snapshots") ]] || fail "a refused backup left a snapshot"
}
