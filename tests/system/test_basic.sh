# Backup and restore round trips: contents and metadata exactly as backed up.

t_round_trip_is_exact() {
  make_sample "$T/src"
  new_repo
  ok backup "$T/src" --tag first
  expect_err "snapshot [0-9a-f]{8} saved"
  ok restore latest --target "$T/out"
  $TREESIG "$T/src" >"$T/a"
  $TREESIG "$T/out$T/src" >"$T/b"
  diff -u "$T/a" "$T/b" || fail "restored tree differs from the original"
  # restoring again over a changed tree replaces what differs, file by file
  echo scribble >"$T/out$T/src/docs/file1.txt"; rm "$T/out$T/src/docs/file2.txt"
  ok restore latest --target "$T/out"
  $TREESIG "$T/out$T/src" >"$T/c"
  diff -u "$T/a" "$T/c" || fail "restore over an existing tree differs from the original"
  ok check --read-data
}

t_unchanged_files_are_not_read_again() {
  make_sample "$T/src"
  new_repo
  ok --json backup "$T/src"
  first_read=$(json 'j["summary"]["bytes_read"]')
  [[ $first_read -gt 6000000 ]] || fail "first backup read only $first_read bytes"
  ok --json backup "$T/src"
  [[ $(json 'j["summary"]["bytes_read"]') -eq 0 ]] || fail "no-change backup read data"
  [[ $(json 'j["summary"]["files_unchanged"]') -gt 40 ]] || fail "files not recognised as unchanged"
  [[ $(json 'j["summary"]["bytes_added"]') -lt 20000 ]] || fail "no-change backup added data"
  echo changed >>"$T/src/docs/file7.txt"
  ok --json backup "$T/src"
  [[ $(json 'j["summary"]["files_changed"]') -eq 1 ]] || fail "one changed file expected"
  ok --json snapshots
  [[ $(json 'len(j)') -eq 3 ]] || fail "three snapshots expected"
  [[ $(json 'j[2]["paths"][0]') == "$T/src" ]] || fail "paths not recorded"
}

t_diff_ls_stats() {
  make_sample "$T/src"
  new_repo
  ok backup "$T/src"
  echo new >"$T/src/docs/added.txt"; rm "$T/src/docs/file9.txt"; echo x >>"$T/src/docs/file8.txt"
  chmod 600 "$T/src/docs/file10.txt"
  ok backup "$T/src"
  ok --json snapshots
  a=$(json 'j[0]["short_id"]'); b=$(json 'j[1]["short_id"]')
  ok diff "$a" "$b"
  expect_out "^\+ +$T/src/docs/added.txt"
  expect_out "^- +$T/src/docs/file9.txt"
  expect_out "^M +$T/src/docs/file8.txt"
  expect_out "^U +$T/src/docs/file10.txt"
  expect_out "^U +$T/src/docs$"   # the folder's own mtime changed with its entries
  # the folders above $T/src (/tmp among them) change with whatever else runs: only
  # what is below $T/src is counted as this test's change
  expect_out "1 added, 1 removed, 1 modified, [0-9]+ metadata only"
  [[ $(grep -cE "^U +$T/src(/|$)" <<<"$OUT") -eq 2 ]] || fail "metadata-only changes below $T/src: wanted 2"
  ok ls -l latest "$T/src/bin"
  expect_out "^-rwsr-xr-x .* $T/src/bin/tool"
  expect_out "$T/src/bin/link -> ../docs/file1.txt"
  ok --json stats latest
  [[ $(json 'j["snapshots"]') -eq 2 ]] || fail "stats: snapshots"
  # 3 MB + its 3 MB copy + 4 MiB + small files: stored once, the copy adds nothing (> 10 MB if it did)
  [[ $(json 'j["unique_bytes"]') -lt 8000000 ]] || fail "duplicates were not deduplicated"
  expect_rc 18 ls latest /no/such/path
}

t_partial_restore_include_exclude() {
  make_sample "$T/src"
  new_repo
  ok backup "$T/src"
  ok restore "latest:$T/src/docs" --target "$T/part"
  [[ -f $T/part/file1.txt && ! -e $T/part/bin ]] || fail "SNAP:PATH did not restore that folder's contents"
  ok restore latest --target "$T/inc" --include '*.bin'
  [[ -f $T/inc$T/src/docs/nested/big.bin && ! -e $T/inc$T/src/docs/file1.txt ]] || fail "--include"
  ok restore latest --target "$T/exc" --exclude nested
  [[ -f $T/exc$T/src/docs/file1.txt && ! -e $T/exc$T/src/docs/nested ]] || fail "--exclude"
  expect_rc 2 restore latest
  expect_err "needs --target"
}

t_backup_excludes_and_partial() {
  make_sample "$T/src"
  new_repo
  ok backup "$T/src" --exclude '*.bin' --exclude "$T/src/empty"
  ok ls latest
  ! grep -q 'big.bin' <<<"$OUT" || fail "excluded file was backed up"
  ! grep -q "$T/src/empty" <<<"$OUT" || fail "excluded folder was backed up"
  # An unreadable file: a warning, the snapshot is written and marked partial, exit 3.
  # Root reads everything, so the backup runs as nobody when we are root.
  if [[ $(id -u) -eq 0 ]]; then
    chmod -R a+rwX "$T"; chmod 000 "$T/src/docs/file6.txt"
    install -m 755 "$LL" "$T/lifeline"   # the build folder may not be reachable for nobody
    set +e
    setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$T" "$T/lifeline" -r "$REPO" backup "$T/src" \
      >"$T/.stdout" 2>"$T/.stderr"
    RC=$?; set -e; ERR=$(cat "$T/.stderr")
  else
    chmod 000 "$T/src/docs/file6.txt"
    expect_rc 3 backup "$T/src"
  fi
  [[ $RC -eq 3 ]] || { cat "$T/.stderr"; fail "partial backup exit code $RC, wanted 3"; }
  expect_err "warning: cannot read .*file6.txt"
  expect_err "lifeline: warning: snapshot saved, but 1 item\\(s\\) could not be read"
  ok --json snapshots
  [[ $(json 'j[-1]["partial"]') == True ]] || fail "snapshot not marked partial"
}

t_json_and_help() {
  new_repo
  for cmd in init key backup snapshots ls diff stats restore check forget prune hold release audit unlock; do
    "$LL" "$cmd" --help | grep -q "Usage: lifeline $cmd" || fail "$cmd --help"
  done
  "$LL" --help | grep -q "Exit codes" || fail "--help lacks exit codes"
  ok --json check
  [[ $(json 'j["ok"]') == True ]] || fail "check --json"
  expect_rc 2 backup
  expect_err "needs at least one PATH"
  expect_rc 2 frobnicate
  expect_err "unknown command"
  # a global option after the command is still parsed, and a bad value named
  expect_rc 2 snapshots --lock-wait soon
  expect_err "^lifeline: error: --lock-wait: 'soon' is not a whole number"
  expect_rc 2 --lock-wait soon snapshots
  expect_err "'soon' is not a whole number"
}
