# Fault injection: writers stopped past the stale-lock age while prune runs, partial
# files of unfinished writes, read-only and full repositories.
#
# The pause point: LIFELINE_TEST_PAUSE=before-index or before-snapshot makes lifeline
# stop itself (SIGSTOP) once, just before it commits an index file or a snapshot, so
# a test can act while the writer is frozen as a suspended machine would be, then
# resume it with SIGCONT. Nothing but these tests sets that variable.

make_files() { # DIR COUNT KB
  mkdir -p "$1"
  for i in $(seq 1 "$2"); do head -c "$(($3 * 1024))" /dev/urandom >"$1/f$i"; done
}

wait_lock() { # PID: until a lock file exists while PID still runs (or 60 s)
  for _ in $(seq 1 6000); do
    [[ -n $(find "$REPO/locks" -type f ! -name '*.tmp' 2>/dev/null) ]] && return 0
    kill -0 "$1" 2>/dev/null || fail "process $1 ended before its lock was seen"
    sleep 0.01
  done
  fail "no lock appeared in time"
}

snapshot_count() { ok --json snapshots; json 'len(j)'; }

# Makes every file of the repository two days old: past prune's safety window.
age_files() { find "$REPO" -type f -exec touch -d '2 days ago' {} +; }

# A lock whose owner is alive on this host is never stale, however old its time:
# the owner may be stopped (SIGSTOP, a suspended VM) and will go on writing.
t_live_lock_is_never_stale() {
  make_files "$T/src" 1 64
  new_repo
  ok backup "$T/src"
  make_files "$T/big" 12 8192
  # the backup's clock runs two hours behind: its lock says "refreshed 2 h ago"
  local lib
  lib=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime\.so') || true
  [[ -n $lib ]] || { echo "skipped: libfaketime not found"; return 0; }
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD=$lib FAKETIME=-2h \
    "$LL" -r "$REPO" backup "$T/big" >"$T/b.out" 2>&1 &
  pid=$!
  wait_lock $pid
  kill -STOP $pid
  expect_rc 11 prune                      # the lock stands: prune refuses
  expect_err "is locked.* by pid $pid on"
  ok unlock                               # only stale locks: this one is not
  expect_err "0 lock\(s\) removed"
  expect_err "kept the lock of pid [0-9]+ on .*: that process is alive on this host"
  [[ -n $(find "$REPO/locks" -type f) ]] || fail "a live process's lock was removed"
  kill -CONT $pid
  wait $pid || { cat "$T/b.out"; fail "the paused backup failed although its lock stood"; }
  [[ $(snapshot_count) -eq 2 ]] || fail "two snapshots expected"
  ok check --read-data
}

# A backup stopped before it commits, whose lock is removed meanwhile (another host
# took it for stale, or unlock --remove-all) and whose packs a prune deletes: when
# it resumes it must fail, name the lost lock, and claim nothing saved.
paused_backup_loses_lock() { # PAUSE-POINT PRUNE-ARGS...
  local point=$1; shift
  make_files "$T/src" 3 256
  new_repo
  ok backup "$T/src"
  make_files "$T/src/new" 6 512
  LIFELINE_TEST_PAUSE=$point "$LL" -r "$REPO" backup "$T/src" >"$T/b.out" 2>"$T/b.err" &
  pid=$!
  wait_stopped $pid
  ok unlock --remove-all
  ok prune "$@"
  kill -CONT $pid
  set +e; wait $pid; rc=$?; set -e
  cat "$T/b.out" "$T/b.err"
  [[ $rc -eq 11 ]] || fail "the resumed backup exited $rc, wanted 11 (lock lost)"
  grep -q "lock locks/[0-9a-f]* was removed while it ran" "$T/b.err" || fail "the lost lock is not named"
  grep -q "not saved" "$T/b.err" || fail "it does not say nothing was saved"
  ! grep -qi "snapshot .* saved" "$T/b.out" || fail "a snapshot was reported saved"
  [[ $(snapshot_count) -eq 1 ]] || fail "the resumed backup wrote a snapshot"
  ok check --read-data
  ok restore latest --target "$T/out"
  diff -r "$T/src" "$T/out$T/src" -x new || fail "restore differs"
}

t_paused_before_index_prune_deletes_packs() { paused_backup_loses_lock before-index --safety-window 0; }
t_paused_before_snapshot_prune_deletes_packs() { paused_backup_loses_lock before-snapshot --safety-window 0; }

# With the default safety window prune leaves the paused writer's young packs alone.
t_paused_backup_packs_survive_default_prune() {
  paused_backup_loses_lock before-snapshot
  [[ $(find "$REPO/data" -type f | wc -l) -gt 1 ]] || fail "the paused backup's packs were deleted"
  ok prune --dry-run
  expect_err "younger than the safety window \(24h\) left alone"
  ok prune --safety-window 0
  [[ $(find "$REPO/data" -type f | wc -l) -eq 1 ]] || fail "prune --safety-window 0 left unused packs"
  ok check --read-data
}

# A paused writer whose lock stands: prune refuses, the writer then succeeds.
t_paused_backup_keeps_its_lock() {
  make_files "$T/src" 3 256
  new_repo
  ok backup "$T/src"
  make_files "$T/src/new" 3 256
  LIFELINE_TEST_PAUSE=before-snapshot "$LL" -r "$REPO" backup "$T/src" >"$T/b.out" 2>&1 &
  pid=$!
  wait_stopped $pid
  expect_rc 11 prune
  kill -CONT $pid
  wait $pid || { cat "$T/b.out"; fail "the resumed backup failed"; }
  [[ $(snapshot_count) -eq 2 ]] || fail "two snapshots expected"
  ok check --read-data
}

# A pack a snapshot needs that vanished while the writer was stopped (its lock intact,
# so only the check of the packs sees it): the snapshot is not saved.
t_pack_gone_before_snapshot() {
  make_files "$T/src" 3 256
  new_repo
  ok backup "$T/src"
  make_files "$T/src/new" 3 256
  LIFELINE_TEST_PAUSE=before-snapshot "$LL" -r "$REPO" backup "$T/src" >"$T/b.out" 2>"$T/b.err" &
  pid=$!
  wait_stopped $pid
  newest=$(ls -t $(find "$REPO/data" -type f) | head -1)
  rm "$newest"
  kill -CONT $pid
  set +e; wait $pid; rc=$?; set -e
  [[ $rc -eq 13 ]] || { cat "$T/b.err"; fail "exited $rc, wanted 13"; }
  grep -q "which this snapshot needs, is gone" "$T/b.err" || fail "the missing pack is not named"
  [[ $(snapshot_count) -eq 1 ]] || fail "a snapshot naming a missing pack was saved"
}

# Partial files of unfinished writes: check names them (a warning), prune removes
# those older than the safety window and leaves young ones (a live writer's) alone.
t_partial_files_named_and_reclaimed() {
  make_files "$T/src" 2 64
  new_repo
  ok backup "$T/src"
  mkdir -p "$REPO/data/ab"
  old=$REPO/data/ab/$(printf 'ab%.0s' $(seq 1 32)).1234.tmp
  young=$REPO/data/ab/$(printf 'cd%.0s' $(seq 1 32)).99.tmp
  head -c 1048576 /dev/urandom >"$old"
  head -c 4096 /dev/urandom >"$young"
  touch -d '2 days ago' "$old"
  head -c 100 /dev/urandom >"$REPO/index/x.5.tmp"
  touch -d '2 days ago' "$REPO/index/x.5.tmp"
  ok check
  expect_err "warning: .*3 temporary file\(s\) \(\*\.tmp, 1\.0[0-9]* MiB\) left by writes that never finished"
  ok --json check
  [[ $(json 'j["temporary_files"]') -eq 3 ]] || fail "check --json does not count the temporaries"
  ok prune
  expect_err "2 temporary file\(s\) of unfinished writes .* removed"
  [[ ! -e $old && ! -e $REPO/index/x.5.tmp ]] || fail "old temporaries left"
  [[ -e $young ]] || fail "a young temporary (maybe a live writer's) was removed"
  ok prune --safety-window 0
  [[ ! -e $young ]] || fail "prune --safety-window 0 left a temporary"
  ok check
  [[ $ERR != *"temporary"* ]] || fail "check still reports temporaries"
}

# kill -9 at random moments of several backups: whatever they leave, check names and
# prune reclaims, and the repository stays sound.
t_kill_leftovers_reclaimed() {
  mkdir -p "$T/src"
  for i in $(seq 1 12); do head -c 4194304 /dev/urandom >"$T/src/f$i"; done
  new_repo
  hits=0
  for delay in 0.05 0.1 0.2; do
    "$LL" -r "$REPO" backup "$T/src" >/dev/null 2>&1 &
    pid=$!
    sleep $delay
    if kill -9 $pid 2>/dev/null; then hits=$((hits + 1)); fi
    wait $pid 2>/dev/null || true
  done
  [[ $hits -gt 0 ]] || fail "no kill landed while a backup ran: the test proved nothing"
  ok check
  age_files
  ok prune
  [[ -z $(find "$REPO" -name '*.tmp') ]] || fail "partial files left after prune"
  ok check --read-data
  [[ $ERR != *"not in the index"* ]] || fail "prune left unindexed packs"
}

# A repository on a read-only mount (a write-protected medium): everything that
# reads works; the lock it cannot write is a warning, --no-lock makes it explicit;
# a restore's audit record goes to the local copy, saying it could not be mirrored.
t_read_only_repository() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root to bind-mount"; return 0; }
  make_sample "$T/src"
  new_repo
  ok backup "$T/src"
  mkdir "$T/ro"
  mount --bind "$REPO" "$T/ro" || { echo "skipped: cannot bind-mount here"; return 0; }
  trap 'umount "$T/ro" 2>/dev/null' RETURN
  mount -o remount,bind,ro "$T/ro" || { echo "skipped: cannot remount read-only here"; return 0; }
  local rw=$REPO
  REPO=$T/ro
  ok snapshots
  ok ls latest
  ok check
  expect_err "reading without a lock: .*Read-only file system"
  ok check --read-data --no-lock
  [[ $ERR != *"without a lock"* ]] || fail "--no-lock still tried to lock"
  ok restore latest --target "$T/out"     # the record goes to the local copy only
  expect_err "warning: restore succeeded, but its audit record could not be written"
  expect_err "warning: the repository's file system is read-only: the record is kept in .*\.unmirrored"
  unmirrored=$(ls "$LIFELINE_STATE_DIR"/*.unmirrored)
  python3 - "$unmirrored" <<'PY' || fail "the local record does not say what and why"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
assert r["command"] == "restore" and r["exit"] == 0 and r["mirrored"] is False, r
assert "read-only" in r["not_mirrored_because"], r
PY
  [[ $(stat -c %a "$unmirrored") == 600 ]] || fail "the local record is not mode 0600"
  $TREESIG "$T/src" >"$T/a.sig"; $TREESIG "$T/out$T/src" >"$T/b.sig"
  diff "$T/a.sig" "$T/b.sig" || fail "restore from a read-only repository differs"
  expect_rc 16 backup "$T/src"
  expect_err "Read-only file system"
  expect_rc 2 backup --no-lock "$T/src"
  expect_rc 2 prune --no-lock
  REPO=$rw
  [[ -z $(find "$REPO" -name '*.tmp') ]] || fail "temporary files left"
  ok check --read-data
}

fill_leaving() { # DIR BYTES: fills the file system of DIR until BYTES are free
  local avail
  avail=$(df -B1 --output=avail "$1" | tail -1)
  [[ $avail -gt $2 ]] && head -c $((avail - $2)) /dev/zero >>"$1/filler" 2>/dev/null || true
}

# A repository on a full disk: reading works (the lock it cannot write is a warning);
# a backup fails cleanly with 17 and leaves nothing half-written.
t_full_repository() {
  small_tmpfs "$T/small" 16m || return 0
  trap 'umount "$T/small" 2>/dev/null' RETURN
  REPO=$T/small/repo
  make_sample "$T/src"
  new_repo
  ok backup "$T/src"
  fill_leaving "$T/small" 0
  ok snapshots
  ok ls latest
  ok check --read-data
  expect_err "reading without a lock: .*No space left on device"
  ok restore latest --target "$T/out"     # its audit record is kept in the local copy only
  expect_err "warning: the repository's disk is full: the record is kept in .*\.unmirrored"
  $TREESIG "$T/src" >"$T/a.sig"; $TREESIG "$T/out$T/src" >"$T/b.sig"
  diff "$T/a.sig" "$T/b.sig" || fail "restore from a full repository differs"
  make_files "$T/more" 2 1024
  expect_rc 17 backup "$T/more"          # cannot even lock
  expect_err "No space left on device"
  rm "$T/small/filler"
  fill_leaving "$T/small" 300000         # room for a lock and an audit record, not for the data
  expect_rc 17 backup "$T/more"
  expect_err "No space left on device"
  [[ -z $(find "$REPO" -name '*.tmp') ]] || fail "temporary files left on a full disk"
  [[ $(snapshot_count) -eq 1 ]] || fail "a snapshot appeared"
  rm "$T/small/filler"
  ok check --read-data
}

# The snapshot is saved but the audit record cannot be: exit 23, the snapshot stands.
t_backup_saved_audit_failed() {
  make_files "$T/src" 2 64
  new_repo
  ok backup "$T/src"
  # the repository's audit/ folder alone becomes read-only (a bind mount of itself):
  # the snapshot can be saved, its audit record cannot
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root for a read-only bind mount"; return 0; }
  mount --bind "$REPO/audit" "$REPO/audit" || { echo "skipped: cannot bind-mount here"; return 0; }
  trap 'umount "$REPO/audit" 2>/dev/null || true' RETURN
  mount -o remount,bind,ro "$REPO/audit" || { echo "skipped: cannot remount read-only here"; return 0; }
  make_files "$T/src" 3 64
  expect_rc 23 backup "$T/src"
  expect_err "snapshot [0-9a-f]{8} saved"
  expect_err "warning: backup succeeded, but its audit record could not be written"
  [[ $(snapshot_count) -eq 2 ]] || fail "the saved snapshot is missing"
  umount "$REPO/audit"
  ok audit verify                      # the trail is intact: the record is missing, not forged
}

two_backups_one_forgotten() { # DIR: a pack wholly unused and one mostly unused
  for i in 1 2 3 4; do head -c 3000000 /dev/urandom >"$1/f$i"; done
  ok backup "$1"
  rm "$1"/f{2,3,4}
  ok backup "$1"
  ok --json snapshots
  ok forget "$(json 'j[-2]["id"]')"       # its pack is now three quarters unused
}

# Prune on a nearly full disk: wholly unused packs are deleted first (after the new
# index that no longer names them), which makes room for the repack; a repack that
# still does not fit says how many bytes it needs, before writing anything.
t_prune_nearly_full_disk() {
  small_tmpfs "$T/small" 40m || return 0
  trap 'umount "$T/small" 2>/dev/null' RETURN
  REPO=$T/small/repo
  new_repo
  mkdir -p "$T/a" "$T/b" "$T/c"
  for i in 1 2 3 4; do head -c 3000000 /dev/urandom >"$T/a/f$i"; done
  ok backup "$T/a"
  ok --json snapshots
  ok forget "$(json 'j[0]["id"]')"        # a's pack is wholly unused
  two_backups_one_forgotten "$T/b"
  fill_leaving "$T/small" 1000000
  age_files
  ok prune --max-unused 10
  expect_err "1 of [0-9]+ packs deleted, [1-9] repacked"
  ok check --read-data
  rm "$T/small/filler"
  two_backups_one_forgotten "$T/c"
  fill_leaving "$T/small" 1000000
  age_files
  packs=$(find "$REPO/data" -type f | wc -l)
  expect_rc 17 prune --max-unused 10
  expect_err "repacking [0-9]+ packs needs up to [0-9]+ bytes \(.*\) free in .*; [0-9]+ bytes \(.*\) are free"
  [[ $(find "$REPO/data" -type f | wc -l) -eq $packs ]] || fail "prune wrote or deleted packs it had no room for"
  [[ -z $(find "$REPO" -name '*.tmp') ]] || fail "temporary files left"
  ok check --read-data
  rm "$T/small/filler"
  ok prune --max-unused 10
  ok check --read-data
  ok restore latest --target "$T/out"
  cmp "$T/c/f1" "$T/out$T/c/f1" || fail "restore differs"
}
