# The trail of what is in force: damaged or deleted snapshots never make `latest`
# pick an older one, check reads the audit trail, a damaged record never stops it,
# legal holds are audited and locked, key slots are listed, init never overwrites.

# damage FILE HOW: flip a byte, truncate or empty it.
damage() {
  case $2 in
    flip) flip_byte "$1" 20 ;;
    truncate) truncate -s 10 "$1" ;;
    zero) : >"$1" ;;
  esac
}

snap_ids() { ll --json snapshots; json '"\n".join(s["id"] for s in j)'; }

# Three backups of changing content; $S1 $S2 $S3 are their ids, oldest first.
three_backups() {
  mkdir -p "$T/src"
  new_repo
  for i in 1 2 3; do echo "version $i" >"$T/src/f"; ok backup "$T/src"; sleep 1.1; done
  mapfile -t ids < <(snap_ids)
  S1=${ids[0]} S2=${ids[1]} S3=${ids[2]}
}

# Every use of `latest` (restore, ls, diff, stats, hold, backup --parent) fails loudly
# when the newest snapshot is damaged, unreadable or deleted.
latest_fails_everywhere() { # CODE PATTERN
  local code=$1 pat=$2
  expect_rc "$code" restore latest --target "$T/out-$RANDOM"; expect_err "$pat"; expect_err "^hint: "
  expect_rc "$code" ls latest; expect_err "$pat"
  expect_rc "$code" diff "${S1:0:8}" latest; expect_err "$pat"
  expect_rc "$code" stats latest; expect_err "$pat"
  expect_rc "$code" hold latest --reason x; expect_err "$pat"
  expect_rc "$code" backup "$T/src" --parent latest; expect_err "$pat"
  # an explicit older id works as before
  ok restore "${S2:0:8}" --target "$T/older-$RANDOM"
}

t_trail_latest_damaged_newest_fails_loudly() {
  three_backups
  for how in flip truncate zero; do
    cp "$REPO/snapshots/$S3" "$T/keep"
    damage "$REPO/snapshots/$S3" "$how"
    latest_fails_everywhere 13 "snapshots/$S3"
    cp "$T/keep" "$REPO/snapshots/$S3"
  done
  ok restore latest --target "$T/ok"
  [[ $(cat "$T/ok$T/src/f") == "version 3" ]] || fail "latest is not the newest snapshot"
}

t_trail_latest_deleted_newest_fails_loudly() {
  three_backups
  mv "$REPO/snapshots/$S3" "$T/keep"
  latest_fails_everywhere 13 "snapshot ${S3:0:8}.* is missing"
  expect_rc 13 ls latest; expect_err "^hint: .*lifeline forget ID"
  expect_rc 13 check; expect_err "snapshots/$S3: snapshot is missing"
  # gone on purpose: forget records it, and latest is the one before
  ok forget "${S3:0:8}"; expect_err "was already gone"
  ok restore latest --target "$T/out0"
  [[ $(cat "$T/out0$T/src/f") == "version 2" ]] || fail "latest after forget of a deleted snapshot"
  ok check
  expect_rc 18 forget "${S3:0:8}"
  mv "$T/keep" "$REPO/snapshots/$S3"
  # forgotten on purpose: latest is the one before, without complaint
  ok forget "${S3:0:8}"
  ok restore latest --target "$T/out"
  [[ $(cat "$T/out$T/src/f") == "version 2" ]] || fail "latest after forget is not the one before"
  ok check
}

t_trail_latest_damaged_older_is_not_the_newest() {
  three_backups
  # an older snapshot that is damaged: the trail says when it was saved, so latest is sure
  flip_byte "$REPO/snapshots/$S1" 40
  ok restore latest --target "$T/out"
  [[ $(cat "$T/out$T/src/f") == "version 3" ]] || fail "latest is not the newest"
  expect_err "warning: .*snapshots/$S1"
}

t_trail_latest_unreadable_newest_is_16() {
  three_backups
  mv "$REPO/snapshots/$S3" "$T/keep"
  ln -s /proc/self/mem "$REPO/snapshots/$S3"   # read(2) fails with EIO
  expect_rc 16 restore latest --target "$T/out"
  expect_err "snapshots/$S3"
  expect_rc 16 ls latest
}

t_trail_backup_parent_names_an_unreadable_newest() {
  three_backups
  flip_byte "$REPO/snapshots/$S3" 40
  # the implicit parent of a backup: the backup goes on (reading every file) and says why
  echo "version 4" >"$T/src/f"
  ok backup "$T/src"
  expect_err "warning: snapshots/$S3 cannot be read .* it may be the newest snapshot.*; the parent is an older"
}

t_trail_latest_of_a_redis_source() {
  source "$HERE/redis.sh"
  redis_skip && return 0
  trap redis_stop_all RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port"
  redis_setup_lifeline "$port" r
  rcli "$port" set k 1 >/dev/null
  expect_rcc 0 backup --source cache
  sleep 1.1
  rcli "$port" set k 2 >/dev/null
  expect_rcc 0 backup --source cache
  mapfile -t ids < <(snap_ids)
  flip_byte "$REPO/snapshots/${ids[1]}" 40
  expect_rcc 13 restore --source cache --target "$T/out"
  expect_err "snapshots/${ids[1]} cannot be read"
  expect_rcc 0 restore --source cache --snapshot "${ids[0]:0:8}" --target "$T/out"
  mv "$REPO/snapshots/${ids[1]}" "$T/keep"
  expect_rcc 13 restore --source cache --target "$T/out2"
  expect_err "snapshot ${ids[1]:0:8} .* is missing"
}

t_trail_check_reads_the_audit_trail() {
  three_backups
  ok check
  for f in "$REPO"/audit/*; do
    cp "$f" "$T/keep"
    flip_byte "$f" 30
    expect_rc 13 check; expect_err "audit trail \(repository\): record seq [0-9]+ is damaged"
    expect_rc 13 check --read-data
    cp "$T/keep" "$f"
  done
  # a deleted record
  rm "$REPO/audit/0000000000000002"*
  expect_rc 13 check; expect_err "records 2 to 2 are missing"
}

t_trail_damaged_newest_record_does_not_stop_the_trail() {
  three_backups
  newest=$(ls "$REPO/audit" | sort | tail -1)
  flip_byte "$REPO/audit/$newest" 30
  ok backup "$T/src"            # before: exit 16 after the backup was saved
  expect_err "warning: audit record seq 4 .* is damaged"
  ok backup "$T/src"
  ok --json audit show
  [[ $(json 'j[-2]["break"][0]["seq"]') == 4 && $(json 'j[-2]["break"][0]["why"]') == damaged ]] ||
    fail "the record after the damaged one does not note the break"
  [[ $(json 'j[-1]["seq"]') == 6 ]] || fail "the trail did not go on"
  ok audit show; expect_out "break: seq 4 was damaged"
  expect_rc 13 audit verify
  expect_err "record seq 4 is damaged"
  expect_err "1 record\(s\) note a break"
  ! grep -q "does not chain\|missing" <<<"$ERR" || fail "records after the break are reported too"
  expect_rc 13 check; expect_err "record seq 4 is damaged"
}

t_trail_unreadable_record_is_not_damaged() {
  three_backups
  second=$(ls "$REPO/audit" | sort | sed -n 2p)
  mv "$REPO/audit/$second" "$T/keep"
  ln -s /proc/self/mem "$REPO/audit/$second"
  expect_rc 16 audit verify
  expect_err "record seq 2 is unreadable"
  ! grep -q "is damaged" <<<"$ERR" || fail "an unreadable record was called damaged"
  expect_rc 16 check
  expect_err "could not read"
  rm "$REPO/audit/$second"; mv "$T/keep" "$REPO/audit/$second"
  ok audit verify
}

t_trail_init_refuses_repository_content() {
  mkdir -p "$T/src"; echo a >"$T/src/a"
  new_repo
  ok backup "$T/src"
  mv "$REPO/config" "$T/config"
  expect_rc 13 snapshots
  expect_err "lost its config file"
  expect_err "^hint: copy 'config' back"
  ! grep -q "lifeline -r .* init" <<<"$ERR" || fail "the hint still says init"
  expect_rc 1 init --kdf-memory 8 --kdf-time 1
  expect_err "is not empty \(it holds .*keys/"
  [[ ! -e "$REPO/config" ]] || fail "init wrote a config"
  mv "$T/config" "$REPO/config"
  ok snapshots
  # any content, not only a repository's
  mkdir "$T/other"; echo x >"$T/other/notes.txt"
  REPO=$T/other expect_rc 1 init --kdf-memory 8 --kdf-time 1
  expect_err "notes.txt"
  for d in keys data index snapshots audit locks holds; do
    mkdir -p "$T/r-$d/$d"; echo x >"$T/r-$d/$d/x"
    REPO=$T/r-$d expect_rc 1 init --kdf-memory 8 --kdf-time 1
    expect_err "$d/"
  done
  # an empty folder, or what an interrupted init leaves (empty sub-folders), is fine
  mkdir -p "$T/fresh/keys" "$T/fresh/data" "$T/fresh/lost+found"
  REPO=$T/fresh ok init --kdf-memory 8 --kdf-time 1
}

t_trail_deleted_hold_is_noticed() {
  three_backups
  ok hold "${S1:0:8}" --reason "case 114"
  rm "$REPO/holds/$S1"
  expect_rc 13 check; expect_err "holds/$S1: legal hold is missing: audit record seq [0-9]+ placed it"
  expect_rc 13 audit verify; expect_err "holds/$S1"
  expect_rc 13 forget "${S1:0:8}"; expect_err "legal hold holds/$S1 on snapshot ${S1:0:8} is missing"
  [[ -e "$REPO/snapshots/$S1" ]] || fail "forget removed a snapshot whose hold was deleted"
  # a policy keeps it, does the rest, and names the damage
  expect_rc 13 forget --keep-last 1
  [[ -e "$REPO/snapshots/$S1" && ! -e "$REPO/snapshots/$S2" ]] || fail "policy forget with a deleted hold"
  # ending it on purpose is recorded; then forget may go on
  ok release "${S1:0:8}"; expect_err "already gone"
  ok check
  ok forget "${S1:0:8}"
}

t_trail_damaged_hold_blocks_only_forget() {
  three_backups
  ok hold "${S3:0:8}" --reason "case 115"
  for how in flip truncate zero; do
    cp "$REPO/holds/$S3" "$T/keep"
    damage "$REPO/holds/$S3" "$how"
    ok restore latest --target "$T/r-$how"          # before: every restore failed
    ok restore "${S1:0:8}" --target "$T/r1-$how"
    ok ls latest
    ok snapshots
    expect_rc 13 check; expect_err "holds/$S3: legal hold is damaged"
    expect_rc 13 forget "${S3:0:8}"; expect_err "legal hold holds/$S3 on snapshot ${S3:0:8} is damaged"
    expect_rc 13 forget --keep-last 1 --dry-run; expect_out "keep +${S3:0:8}"
    [[ -e "$REPO/snapshots/$S3" ]] || fail "a snapshot with a damaged hold was forgotten"
    cp "$T/keep" "$REPO/holds/$S3"
  done
  ok check
  # released on purpose while damaged: the file goes, the trail says so
  flip_byte "$REPO/holds/$S3" 20
  ok release "${S3:0:8}"
  ok check
}

t_trail_hold_waits_for_forget() {
  three_backups
  # a forget slowed down in its unlink calls holds the exclusive lock meanwhile
  # (LeakSanitizer cannot run under ptrace)
  ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=unlink,unlinkat -e inject=unlink,unlinkat:delay_enter=1000000 \
    "$LL" -r "$REPO" forget "${S2:0:8}" >/dev/null 2>&1 &
  pid=$!
  sleep 0.5
  expect_rc 11 hold "${S2:0:8}" --reason "too late"
  expect_err "locked"
  wait $pid
  expect_rc 18 hold "${S2:0:8}" --reason "too late"
  [[ ! -e "$REPO/holds/$S2" ]] || fail "a hold was written for a forgotten snapshot"
  ok check
}

# current_slot: the id of the key slot this unlock used.
current_slot() { ll --json key list; json '[s["id"] for s in j if s.get("current")][0]'; }

t_trail_deleted_password_slot_is_named() {
  new_repo
  A=$(current_slot)
  echo "second-password" >"$T/pw2"
  ok key add --new-password-file "$T/pw2" --kdf-memory 8 --kdf-time 1
  B=$(LIFELINE_PASSWORD=second-password current_slot)
  mv "$REPO/keys/$B" "$T/keep"
  LIFELINE_PASSWORD=second-password expect_rc 13 snapshots
  expect_err "missing \(deleted\), e.g. keys/$B"
  expect_err "^hint: if the password belonged to a missing slot, put keys/$B back"
  LIFELINE_PASSWORD=not-a-password expect_rc 13 snapshots   # cannot tell: the repository is damaged
  ok snapshots                                               # the other slot still opens
  expect_rc 13 check; expect_err "keys/$B: key slot is missing: the config lists it"
  ok key list; expect_out "missing"
  mv "$T/keep" "$REPO/keys/$B"
  ok check
  LIFELINE_PASSWORD=not-a-password expect_rc 12 snapshots   # a wrong password stays a wrong password
  expect_err "wrong password"
}

t_trail_swapped_password_slots_are_named() {
  new_repo
  A=$(current_slot)
  echo "second-password" >"$T/pw2"
  ok key add --new-password-file "$T/pw2" --kdf-memory 8 --kdf-time 1
  ok key add --new-key-file "$T/kf"
  B=$(LIFELINE_PASSWORD=second-password current_slot)
  mv "$REPO/keys/$A" "$T/a"; mv "$REPO/keys/$B" "$REPO/keys/$A"; mv "$T/a" "$REPO/keys/$B"
  expect_rc 13 snapshots; expect_err "keys/$B .*holds the slot made as keys/${A:0:8}.*swapped or renamed"
  LIFELINE_PASSWORD=second-password expect_rc 13 snapshots; expect_err "holds the slot made as keys/${B:0:8}"
  expect_rc 13 --key-file "$T/kf" check
  expect_err "keys/$A: key slot holds the slot made as keys/$B"
  expect_err "keys/$B: key slot holds the slot made as keys/$A"
}

t_trail_key_file_slot_deleted_or_replaced() {
  new_repo
  ok key add --new-key-file "$T/kf"
  K=$(ll --key-file "$T/kf" --json key list; json '[s["id"] for s in j if s.get("current")][0]')
  cp "$REPO/keys/$K" "$T/keep"
  rm "$REPO/keys/$K"
  expect_rc 13 --key-file "$T/kf" snapshots
  expect_err "key slot keys/$K of this key file is missing .*deleted"
  head -c 32 /dev/urandom | xxd -p -c 64 >"$T/other-kf"
  expect_rc 12 --key-file "$T/other-kf" snapshots
  expect_err "opens none of the key slots"
  # replaced by another slot's file
  A=$(current_slot)
  cp "$REPO/keys/$A" "$REPO/keys/$K"
  expect_rc 13 --key-file "$T/kf" snapshots
  expect_err "keys/$K .*was made for this key file but does not open with it"
  cp "$T/keep" "$REPO/keys/$K"
  ok --key-file "$T/kf" check
  # the same key file twice
  expect_rc 2 key add --new-key-file "$T/kf"
  expect_err "already has a key slot"
}

t_trail_unused_slot_deleted_and_old_repositories() {
  # a repository made by lifeline 0.1.0, before the slot list (tests/system/fixtures:
  # init, then a backup of /tmp/fx/src holding a.txt and sub/b.txt): it still opens
  # and restores, and check says what it cannot see
  tar -C "$T" -xzf "$HERE/fixtures/repo-0.1.0.tar.gz"
  ok check --read-data; expect_err "warning: config: the config does not list its key slots"
  ok restore latest --target "$T/out"
  [[ $(cat "$T/out/tmp/fx/src/a.txt") == "hello from lifeline 0.1.0" && $(wc -c <"$T/out/tmp/fx/src/sub/b.txt") -eq 3000 ]] ||
    fail "the 0.1.0 repository did not restore its files"
  echo "second-password" >"$T/pw2"
  ok key add --new-password-file "$T/pw2" --kdf-memory 8 --kdf-time 1   # writes the list
  ok check
  ! grep -q "does not list" <<<"$ERR" || fail "the list was not written"
  B=$(LIFELINE_PASSWORD=second-password current_slot)
  rm "$REPO/keys/$B"                                       # an unused slot, deleted
  expect_rc 13 check; expect_err "keys/$B: key slot is missing"
  # LIFELINE_OLD_BINARY: a lifeline 0.1.0 binary, to check it still reads the new config
  if [[ -n ${LIFELINE_OLD_BINARY:-} ]]; then
    "$LIFELINE_OLD_BINARY" -r "$REPO" snapshots >/dev/null || fail "the old lifeline cannot read the new config"
  fi
}

# PostgreSQL: with the newest base backup damaged, restore --latest refuses to fall
# back; with the oldest damaged, forget keeps the WAL (the oldest backup is unknown).
t_trail_postgres_newest_and_oldest_backup_unreadable() {
  source "$HERE/pg.sh"
  pg_skip && return 0
  trap pg_stop_all RETURN
  new_repo
  PORT=$(free_port)
  pg_setup_lifeline "$PORT"
  mapfile -t conf < <(pg_archive_conf)
  pg_start "$T/pgdata" "$PORT" "${conf[@]}"
  pg_sql "$PORT" "create table t(x int)"
  for i in 1 2 3; do
    pg_sql "$PORT" "insert into t values ($i)" >/dev/null
    expect_rcc 0 backup --source main-db
    pg_archive_now "$PORT"
    sleep 1.1
  done
  mapfile -t ids < <(snap_ids)
  first=$(ls "$REPO/wal/main-db" | grep -E '^[0-9A-F]{24}$' | head -1)
  cp "$REPO/snapshots/${ids[2]}" "$T/keep"
  flip_byte "$REPO/snapshots/${ids[2]}" 40
  expect_rcc 13 restore --source main-db --target "$T/r" --latest
  expect_err "snapshots/${ids[2]} cannot be read"
  [[ ! -e $T/r ]] || fail "a refused restore created its target"
  cp "$T/keep" "$REPO/snapshots/${ids[2]}"
  flip_byte "$REPO/snapshots/${ids[0]}" 40
  expect_rcc 0 forget "${ids[1]:0:8}"
  expect_err "archived WAL is kept"
  [[ -e $REPO/wal/main-db/$first ]] || fail "WAL the damaged oldest backup needs was removed"
}

# The ownership case of issue 9: records written by root (0600), verified by another
# user who can read the rest: "unreadable" (16), never "damaged".
t_trail_records_of_another_user_are_unreadable_not_damaged() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root to switch users"; return 0; }
  three_backups
  install -m 755 "$LL" "$T/lifeline"
  chmod -R a+rX "$T"
  chmod 600 "$REPO/audit/0000000000000002"*
  mkdir -p "$T/nobody-state"; chown nobody "$T/nobody-state"
  run_cmd setpriv --reuid=nobody --regid=nogroup --clear-groups -- env LIFELINE_STATE_DIR="$T/nobody-state" \
    LIFELINE_PASSWORD="$LIFELINE_PASSWORD" ASAN_OPTIONS=detect_leaks=0 "$T/lifeline" -r "$REPO" audit verify
  [[ $RC -eq 16 ]] || { echo "$ERR"; fail "audit verify as another user exited $RC, wanted 16"; }
  grep -q "record seq 2 is unreadable: .*Permission denied" <<<"$ERR" || { echo "$ERR"; fail "not named unreadable"; }
  ! grep -q "is damaged" <<<"$ERR" || fail "an unreadable record was called damaged"
}

# check: a snapshot, index file or key slot that cannot be read is "unreadable" (16),
# one that does not authenticate is "damaged" (13), each named.
t_trail_check_keeps_unreadable_apart_from_damaged() {
  three_backups
  pw_slot=$(current_slot)
  ok key add --new-key-file "$T/kf"       # unlocks while the password's slot is spoilt
  for f in "snapshots/$S1" "index/$(ls "$REPO/index" | head -1)" "keys/$pw_slot"; do
    cp "$REPO/$f" "$T/keep"
    rm "$REPO/$f"; ln -s /proc/self/mem "$REPO/$f"
    # (an index file that cannot be read also leaves blobs unfound: that is 13)
    expect_rc "$([[ $f == index/* ]] && echo 13 || echo 16)" --key-file "$T/kf" check
    expect_err "$f: .* unreadable"
    ! grep -q "$f: .*damaged" <<<"$ERR" || fail "$f unreadable was called damaged"
    rm "$REPO/$f"; cp "$T/keep" "$REPO/$f"
    flip_byte "$REPO/$f" 40
    expect_rc 13 --key-file "$T/kf" check
    expect_err "$f: .*damaged"
    cp "$T/keep" "$REPO/$f"
  done
  ok check
}

# unlock: a slot that cannot be read is not a wrong password (16, naming why).
t_trail_unreadable_key_slot_is_not_a_wrong_password() {
  new_repo
  A=$(current_slot)
  mv "$REPO/keys/$A" "$T/keep"; ln -s /proc/self/mem "$REPO/keys/$A"
  expect_rc 16 snapshots
  expect_err "could not be read: read .*keys/$A: Input/output error"
  rm "$REPO/keys/$A"; mv "$T/keep" "$REPO/keys/$A"
  ok snapshots
}

# Every kind of damage to the newest records: the trail goes on, verify names them.
t_trail_damaged_newest_records_every_kind() {
  three_backups
  for how in flip truncate zero two; do
    mapfile -t recs < <(ls "$REPO/audit" | sort)
    n=${#recs[@]}
    if [[ $how == two ]]; then
      damage "$REPO/audit/${recs[n-1]}" flip; damage "$REPO/audit/${recs[n-2]}" zero
    else
      damage "$REPO/audit/${recs[n-1]}" "$how"
    fi
    ok hold "${S1:0:8}" --reason "after $how"
    expect_err "warning: audit record"
    ok release "${S1:0:8}"
    ok --json audit show
    [[ $(json 'j[-1]["command"]') == release && $(json 'j[-2]["command"]') == hold ]] || fail "$how: not recorded"
    expect_rc 13 audit verify
    expect_err "record seq $n is damaged"
    ! grep -q "does not chain\|missing" <<<"$ERR" || fail "$how: the records after the break are reported"
  done
  ok forget "${S1:0:8}"                      # holds and releases were all recorded: nothing held
}
