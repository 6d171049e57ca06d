# The audit trail: every changing or restoring command recorded, tampering detected.

t_audit_records_and_detects_tampering() {
  mkdir -p "$T/src"; echo a >"$T/src/a"
  new_repo
  ok backup "$T/src" --tag nightly
  ok restore latest --target "$T/out"
  LIFELINE_PASSWORD=wrong expect_rc 12 backup "$T/src"
  ok --json audit show
  [[ $(json 'len(j)') -eq 3 ]] || fail "expected 3 records (init, backup, restore)"
  [[ $(json 'j[1]["command"]') == backup && $(json 'j[1]["args"]') == *nightly* ]] || fail "backup record"
  [[ $(json 'j[2]["command"]') == restore && $(json 'len(j[2]["ids"])') -eq 1 ]] || fail "restore record"
  ! grep -q "$LIFELINE_PASSWORD" "$LIFELINE_STATE_DIR"/audit-*.log || fail "a secret is in the audit log"
  ok audit verify
  expect_err "audit trail intact: [0-9]+ records"
  # delete a record in the repository
  rm "$REPO/audit/0000000000000002"*
  expect_rc 13 audit verify
  expect_err "repository: records 2 to 2 are missing"
}

t_audit_local_copy_edits_and_loss() {
  mkdir -p "$T/src"; echo a >"$T/src/a"
  new_repo
  ok backup "$T/src"; ok backup "$T/src"
  log=$(ls "$LIFELINE_STATE_DIR"/audit-*.log)
  sed -i '2s/"exit":0/"exit":1/' "$log"
  expect_rc 13 audit verify
  expect_err "record seq 2 was edited"
  # losing the host's copy loses nothing: the repository holds the chain
  rm "$log"
  ok backup "$T/src"
  ok audit verify
  [[ $(wc -l <"$log") -eq 4 ]] || fail "local copy was not rebuilt from the repository"
  # reordering lines of the local copy
  sed -i '1{h;d};2{G}' "$log"
  expect_rc 13 audit verify
  expect_err "reordered|does not chain|missing"
}
