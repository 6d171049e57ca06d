# kill -9 in the middle of a backup and of a prune; a full disk; concurrent writers.

make_big() { # DIR COUNT MB
  mkdir -p "$1"
  for i in $(seq 1 "$2"); do head -c "$(($3 * 1048576))" /dev/urandom >"$1/f$i"; done
}

wait_for_packs() { # N: until N packs exist (or 60 s)
  for _ in $(seq 1 600); do
    [[ $(find "$REPO/data" -type f 2>/dev/null | wc -l) -ge $1 ]] && return 0
    sleep 0.1
  done
  fail "backup did not write $1 packs in time"
}

t_kill_during_backup() {
  make_big "$T/src" 24 8
  new_repo
  "$LL" -r "$REPO" backup "$T/src" >/dev/null 2>&1 &
  pid=$!
  wait_for_packs 2
  kill -9 $pid; wait $pid 2>/dev/null || true
  [[ $(find "$REPO/locks" -type f | wc -l) -eq 1 ]] || fail "the killed backup's lock should remain"
  ok check                    # the first locker removes the dead process's lock
  expect_err "removing stale lock of pid $pid"
  expect_err "pack is not in the index"
  ok backup "$T/src"
  ok prune                    # the killed run's packs are young: kept by the safety window
  expect_err "0 left by interrupted backups removed"
  expect_err "younger than the safety window"
  ok prune --safety-window 0  # reclaims what the killed run left
  expect_err "[1-9][0-9]* left by interrupted backups removed"
  ok check --read-data
  [[ $ERR != *"not in the index"* ]] || fail "prune left unindexed packs"
  ok restore latest --target "$T/out"
  diff -r "$T/src" "$T/out$T/src" || fail "restore after crash differs"
}

t_kill_during_prune() {
  make_big "$T/src" 40 2
  new_repo
  ok backup "$T/src"
  rm "$T"/src/f{1..40..2}
  ok backup "$T/src"
  ok forget --keep-last 1
  # one kill at a known point: prune has written its new packs and stops itself just
  # before the index that names them (a pause point, see test_faults.sh)
  LIFELINE_TEST_PAUSE=before-index "$LL" -r "$REPO" prune --max-unused 10 --safety-window 0 >/dev/null 2>&1 &
  pid=$!
  wait_stopped $pid
  kill -9 $pid; kill -CONT $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  ok check
  hits=1
  # and some at moments the clock picks (--safety-window 0: the packs are all young)
  for delay in 0.05 0.2 0.4; do
    "$LL" -r "$REPO" prune --max-unused 10 --safety-window 0 >/dev/null 2>&1 &
    pid=$!
    sleep $delay
    if kill -9 $pid 2>/dev/null; then hits=$((hits + 1)); fi
    wait $pid 2>/dev/null || true
    ok check
  done
  echo "$hits of 4 kills landed mid-prune"
  ok prune --max-unused 10 --safety-window 0
  ok check --read-data
  ok restore latest --target "$T/out"
  diff -r "$T/src" "$T/out$T/src" || fail "restore after killed prunes differs"
}

t_concurrent_backups_and_prune_lock() {
  make_big "$T/a" 8 8
  make_big "$T/b" 8 8
  new_repo
  # both write all their packs side by side, then stop before saving their snapshots
  # (a pause point, see test_faults.sh): prune then meets their locks, however fast
  # the build is
  LIFELINE_TEST_PAUSE=before-snapshot "$LL" -r "$REPO" backup "$T/a" >"$T/a.out" 2>&1 & pa=$!
  LIFELINE_TEST_PAUSE=before-snapshot "$LL" -r "$REPO" backup "$T/b" >"$T/b.out" 2>&1 & pb=$!
  wait_stopped $pa
  wait_stopped $pb
  expect_rc 11 prune          # refuses clearly while backups hold shared locks
  expect_err "is locked.* by pid [0-9]+ on"
  kill -CONT $pa $pb
  wait $pa || { cat "$T/a.out"; fail "first concurrent backup failed"; }
  wait $pb || { cat "$T/b.out"; fail "second concurrent backup failed"; }
  ok --json snapshots
  [[ $(json 'len(j)') -eq 2 ]] || fail "two snapshots expected"
  ok prune
  ok check --read-data
}

t_disk_full() {
  small_tmpfs "$T/small" 24m || return 0
  trap 'umount "$T/small" 2>/dev/null' RETURN
  REPO=$T/small/repo
  make_big "$T/src" 5 10
  new_repo
  expect_rc 17 backup "$T/src"
  expect_err "No space left on device"
  [[ -z $(find "$REPO" -name '*.tmp') ]] || fail "temporary files left on a full disk"
  ok check
  ok prune --safety-window 0  # reclaims the packs of the failed run (no other writer runs)
  rm "$T"/src/f{2..5}
  ok backup "$T/src"          # with room again, the next backup succeeds
  ok check --read-data
}
