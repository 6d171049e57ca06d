# Retention: policies with reasons, class locks that no flag overrides, legal holds.

write_config() {
  cat >"$T/lifeline.conf" <<CONF
[repository]
path = $REPO

[retention "financial"]
keep-within = 7y
lock = 7y

[retention "user-projects"]
keep-last = 2
CONF
  export LIFELINE_CONFIG=$T/lifeline.conf
}

t_forget_policy_explains_and_prunes() {
  mkdir -p "$T/src"
  new_repo
  for i in 1 2 3 4; do rm -f "$T"/src/*; head -c 300000 /dev/urandom >"$T/src/f$i"; ok backup "$T/src"; done
  before=$(du -sb "$REPO/data" | cut -f1)
  ok forget --keep-last 2 --dry-run
  expect_out "keep +[0-9a-f]{8} .* last snapshot"
  expect_out "remove +[0-9a-f]{8}"
  ok --json snapshots; [[ $(json 'len(j)') -eq 4 ]] || fail "dry run removed snapshots"
  find "$REPO/data" -type f -exec touch -d '2 days ago' {} +   # past prune's safety window
  ok --json forget --keep-last 2 --prune
  ok --json snapshots; [[ $(json 'len(j)') -eq 2 ]] || fail "forget kept $(json 'len(j)')"
  after=$(du -sb "$REPO/data" | cut -f1)
  [[ $after -lt $before ]] || fail "prune freed nothing ($before -> $after)"
  ok check --read-data
  expect_rc 2 forget
  expect_err "no policy given"
}

t_class_lock_cannot_be_overridden() {
  mkdir -p "$T/src"; echo ledger >"$T/src/ledger.csv"
  write_config
  new_repo
  ok backup --class financial "$T/src"
  ok --json snapshots
  id=$(json 'j[0]["short_id"]')
  [[ $(json 'j[0]["lock_until"]') == 20[3-9]* ]] || fail "no lock_until recorded"
  expect_rc 19 forget "$id"
  expect_err "snapshot $id is retention-locked by class financial until 20[0-9]{2}-"
  ok backup --class financial "$T/src"
  ok forget --keep-last 1
  expect_out "keep +$id .*retention lock of class financial"
  ok --json snapshots; [[ $(json 'len(j)') -eq 2 ]] || fail "a locked snapshot was forgotten"
  # class policies apply when no flags are given
  ok backup --class user-projects "$T/src"; ok backup --class user-projects "$T/src"
  ok backup --class user-projects "$T/src"
  ok forget
  ok --json snapshots; [[ $(json 'len(j)') -eq 4 ]] || fail "class policy: $(json 'len(j)') snapshots"
}

t_legal_hold() {
  mkdir -p "$T/src"; echo evidence >"$T/src/e"
  new_repo
  ok backup "$T/src"; ok backup "$T/src"
  ok --json snapshots; id=$(json 'j[0]["short_id"]')
  expect_rc 2 hold "$id"
  expect_err "needs --reason"
  ok hold "$id" --reason "case 2026-114"
  ok snapshots; expect_out "$id .* H "
  expect_rc 19 forget "$id"
  expect_err "under a legal hold"
  ok forget --keep-last 1
  expect_out "keep +$id .*legal hold"
  ok release "$id"
  ok forget "$id"
  ok --json snapshots; [[ $(json 'len(j)') -eq 1 ]] || fail "release did not allow forget"
  expect_rc 18 release "$(json 'j[0]["short_id"]')"
}
