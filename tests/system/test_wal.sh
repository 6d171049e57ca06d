# The WAL archive commands' contract (PostgreSQL's rules for archive and restore
# commands). Against a running PostgreSQL: with the rest of the PostgreSQL issue.

# make_segment FILE [SIZE [SYSID]]: random bytes behind the long page header of the
# segment FILE's name says (as PostgreSQL writes it), of system SYSID.
make_segment() {
  python3 - "$1" "${2:-16777216}" "${3:-7000000000000000001}" <<'PY'
import os, struct, sys
path, size, sysid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
name = os.path.basename(path)[:24]
segno = int(name[8:16], 16) * (0x100000000 // size) + int(name[16:24], 16)
head = struct.pack('<HHIQII', 0xD110, 0x0007, int(name[:8], 16), segno * size, 0, 0) + struct.pack('<QII', sysid, size, 8192)
with open(path, 'wb') as f:
    f.write(head + os.urandom(size - len(head)))
PY
}

t_wal_push_fetch_contract() {
  new_repo
  ok key add --key-file "$T/wal.key"
  unset LIFELINE_PASSWORD            # as archive_command runs: key file only
  export LIFELINE_KEY_FILE=$T/wal.key
  mkdir -p "$T/pg_wal"
  seg=000000010000000000000001
  make_segment "$T/pg_wal/$seg"
  ok wal-push --source main-db "$T/pg_wal/$seg"
  ok wal-push --source main-db "$T/pg_wal/$seg"          # again, identical: success
  ok wal-fetch --source main-db $seg "$T/restored"
  cmp "$T/pg_wal/$seg" "$T/restored" || fail "fetched segment differs"
  # different content under an archived name is refused
  mkdir -p "$T/other"
  make_segment "$T/other/$seg"
  expect_rc 1 wal-push --source main-db "$T/other/$seg"
  expect_err "$seg is already archived for source main-db with different content"
  # a missing segment: non-zero, and quiet
  expect_rc 18 wal-fetch --source main-db 000000010000000000000002 "$T/nothing"
  [[ -z $ERR ]] || fail "wal-fetch of a missing segment printed: $ERR"
  [[ ! -e $T/nothing ]] || fail "wal-fetch created a file for a missing segment"
  # history and backup files; names that are not WAL files are refused
  echo "1	0/3000000	no recovery target specified" >"$T/pg_wal/00000002.history"
  ok wal-push --source main-db "$T/pg_wal/00000002.history"
  echo "START WAL LOCATION: 0/2000028" >"$T/pg_wal/000000010000000000000002.00000028.backup"
  ok wal-push --source main-db "$T/pg_wal/000000010000000000000002.00000028.backup"
  echo x >"$T/pg_wal/notwal"
  expect_rc 2 wal-push --source main-db "$T/pg_wal/notwal"
  expect_err "not a WAL file name"
  # sources are separate archives
  expect_rc 18 wal-fetch --source other-db $seg "$T/x"
  # a segment renamed inside the repository does not authenticate under its new name
  mv "$REPO/wal/main-db/$seg" "$REPO/wal/main-db/000000010000000000000003"
  expect_rc 13 wal-fetch --source main-db 000000010000000000000003 "$T/y"
  [[ ! -e $T/y ]] || fail "a damaged segment was written out"
}

t_wal_push_killed_midway_serves_nothing_partial() {
  new_repo
  seg=000000010000000000000009
  make_segment "$T/$seg" 67108864   # large (64 MiB segments), so the kill lands while it is written
  hits=0
  for delay in 0.1 0.2 0.3; do
    "$LL" -r "$REPO" wal-push "$T/$seg" >/dev/null 2>&1 &
    pid=$!
    sleep $delay
    if kill -9 $pid 2>/dev/null; then hits=$((hits + 1)); fi
    wait $pid 2>/dev/null || true
    set +e; "$LL" -r "$REPO" wal-fetch $seg "$T/out" 2>/dev/null; rc=$?; set -e
    if [[ $rc -eq 0 ]]; then
      cmp "$T/$seg" "$T/out" || fail "a partial segment was served"
    else
      [[ $rc -eq 18 ]] || fail "wal-fetch after a killed push: rc $rc"
    fi
    rm -f "$T/out"
  done
  [[ $hits -gt 0 ]] || fail "no kill landed while wal-push was running: the test proved nothing"
  echo "$hits of 3 kills landed mid-push"
  ok wal-push "$T/$seg"                        # the archiver's retry then succeeds
  ok wal-fetch $seg "$T/out"
  cmp "$T/$seg" "$T/out" || fail "segment differs after retry"
}
