# Key slots: passwords and key files; re-keying never rewrites data.

t_key_file_slot_for_unattended_use() {
  mkdir -p "$T/src"; echo a >"$T/src/a"
  new_repo
  ok backup "$T/src"
  before=$(find "$REPO/data" -type f -exec sha256sum {} + | sort)
  ok key add --new-key-file "$T/archive.key"
  [[ $(stat -c %a "$T/archive.key") == 600 ]] || fail "key file mode is not 0600"
  set +e
  env -u LIFELINE_PASSWORD "$LL" -r "$REPO" --key-file "$T/archive.key" --json snapshots >"$T/o" 2>"$T/e"; rc=$?
  set -e
  [[ $rc -eq 0 ]] || { cat "$T/e"; fail "key file did not open the repository"; }
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/other.key"
  set +e; env -u LIFELINE_PASSWORD "$LL" -r "$REPO" --key-file "$T/other.key" snapshots 2>"$T/e"; rc=$?; set -e
  [[ $rc -eq 12 ]] && grep -q "key file opens none" "$T/e" || fail "a wrong key file: rc $rc"
  ok --json key list
  [[ $(json 'len(j)') -eq 2 ]] || fail "two slots expected"
  kf=$(json '[k["id"][:8] for k in j if k["kind"]=="keyfile"][0]')
  cur=$(json '[k["id"][:8] for k in j if k["current"]][0]')
  expect_rc 2 key remove "$cur"
  expect_err "is the one in use"
  ok key remove "$kf"
  [[ $(find "$REPO/data" -type f -exec sha256sum {} + | sort) == "$before" ]] || fail "key changes rewrote data"
  # the issue's form: `key add --key-file F` adds a slot for F, unlocking with the password
  ok key add --key-file "$T/cron.key"
  [[ -f $T/cron.key ]] || fail "key add --key-file did not create the key file"
  set +e; env -u LIFELINE_PASSWORD "$LL" -r "$REPO" --key-file "$T/cron.key" snapshots >/dev/null 2>"$T/e"; rc=$?; set -e
  [[ $rc -eq 0 ]] || { cat "$T/e"; fail "the key file added with --key-file does not open the repository"; }
}

t_key_passwd() {
  new_repo
  echo new-secret >"$T/new"
  ok key passwd --new-password-file "$T/new" --kdf-memory 8 --kdf-time 1
  expect_rc 12 snapshots
  LIFELINE_PASSWORD=new-secret expect_rc 0 snapshots
  LIFELINE_PASSWORD=new-secret expect_rc 2 key remove "$(ls "$REPO/keys" | head -c 8)"
  expect_err "in use|last one"
}
