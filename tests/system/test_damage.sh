# One flipped byte anywhere: check finds and names it; restore fails loudly for the
# files it touches and still restores the rest; never a silently wrong file.


t_flipped_byte_in_pack() {
  mkdir -p "$T/src"
  head -c 2000000 /dev/urandom >"$T/src/victim.bin"
  new_repo
  ok backup "$T/src"
  for i in 1 2 3; do echo "small $i" >"$T/src/other$i.txt"; done
  ok backup "$T/src"
  # the first pack holds victim.bin's data (and the first snapshot's trees after it)
  pack=$(find "$REPO/data" -type f -printf "%s %p\n" | sort -n | tail -1 | cut -d" " -f2)
  flip_byte "$pack" 100
  ok check   # structure alone does not read data
  expect_rc 13 check --read-data
  expect_err "error: data/[0-9a-f]{2}/[0-9a-f]{64}: data blob [0-9a-f]{16} at offset 0 is damaged"
  expect_err "error: snapshot [0-9a-f]{8}: $T/src/victim.bin: data blob [0-9a-f]{16} is damaged"
  expect_rc 13 restore latest --target "$T/out"
  expect_err "error: restore $T/out$T/src/victim.bin: .*authentication failed"
  [[ ! -e $T/out$T/src/victim.bin ]] || fail "damaged file was written"
  ls "$T/out$T/src/" | grep -q tmp && fail "temporary file left behind"
  for i in 1 2 3; do cmp "$T/src/other$i.txt" "$T/out$T/src/other$i.txt" || fail "intact file not restored"; done
}

t_flipped_byte_in_tree() {
  mkdir -p "$T/src/sub/deeper"   # folders only: every blob in the pack is a tree
  new_repo
  ok backup "$T/src"
  pack=$(find "$REPO/data" -type f)
  # the root tree is the last blob before the header: flip a byte just before it
  off=$(python3 -c "import struct,sys; b=open('$pack','rb').read(); hl=struct.unpack('<I',b[-8:-4])[0]; print(len(b)-8-hl-20)")
  flip_byte "$pack" "$off"
  expect_rc 13 check
  expect_err "error: snapshot [0-9a-f]{8}: /[^:]*: tree [0-9a-f]{16} cannot be read"
  expect_rc 13 check --read-data
  expect_err "tree blob [0-9a-f]{16} at offset [0-9]+ is damaged"
}

t_flipped_byte_in_index_and_snapshot() {
  mkdir -p "$T/src"; echo hi >"$T/src/file"
  new_repo
  ok backup "$T/src"
  idx=$(first_file index)
  flip_byte "$idx" 30
  expect_rc 13 check
  expect_err "error: index/[0-9a-f]{64}: index file is damaged"
  # packs describe themselves: a restore reads their headers instead, and says so
  ok restore latest --target "$T/out"
  expect_err "warning: index/[0-9a-f]{64} is damaged.*reading pack headers instead"
  cmp "$T/src/file" "$T/out$T/src/file" || fail "restore with a damaged index differs"
  ok prune                    # writes a complete index and drops the damaged one
  ok check
  [[ ! -e $idx ]] || fail "prune kept the damaged index file"
  snap=$(first_file snapshots)
  [[ -n $snap ]] || fail "no snapshot file"
  flip_byte "$snap" 40
  expect_rc 13 check
  expect_err "error: snapshots/[0-9a-f]{64}: snapshot is damaged"
}

t_flipped_byte_in_key_slot() {
  new_repo
  echo second-password >"$T/pw2"
  ok key add --new-password-file "$T/pw2" --kdf-memory 8 --kdf-time 1
  ok --json key list
  first=$(json '[k["id"] for k in j if k["current"]][0]')
  other=$(json '[k["id"] for k in j if not k["current"]][0]')
  # damage the public part of the second slot: only the MAC can tell
  sed -i 's/"host":"\(.\)/"host":"X/' "$REPO/keys/$other"
  expect_rc 13 check
  expect_err "error: keys/$other: key slot is damaged: MAC mismatch"
  # damage the slot in use: it no longer opens
  flip_byte "$REPO/keys/$first" 200
  LIFELINE_PASSWORD=$LIFELINE_PASSWORD expect_rc 12 snapshots
}

t_missing_pack_is_named() {
  mkdir -p "$T/src"; head -c 100000 /dev/urandom >"$T/src/a"
  new_repo
  ok backup "$T/src"
  rm "$(first_file data)"
  expect_rc 13 check
  expect_err "error: data/[0-9a-f]{2}/[0-9a-f]{64}: pack is missing"
  expect_err "error: snapshot [0-9a-f]{8}: /: tree [0-9a-f]{16} cannot be read"
}

t_read_data_subset_covers_every_pack_once() {
  new_repo
  mkdir -p "$T/src"
  for i in 1 2 3 4 5 6; do head -c 300000 /dev/urandom >"$T/src/f$i"; ok backup "$T/src"; done
  ok --json check --read-data
  total=$(json 'j["packs_read"]')
  [[ $total -ge 6 ]] || fail "expected several packs, got $total"
  sum=0
  for part in 1/3 2/3 3/3; do
    ok --json check --read-data-subset $part
    sum=$((sum + $(json 'j["packs_read"]')))
  done
  [[ $sum -eq $total ]] || fail "subsets read $sum packs, the whole check $total"
  expect_rc 2 check --read-data-subset 4/3
  expect_rc 2 check --read-data-subset x
}

# check --read-data reads every pack once, and lets each leave the page cache after
# (a check of a large repository must not push out what the host is using); a pack
# with a flipped byte is still found.
t_check_read_data_lets_packs_leave_the_cache() {
  mkdir -p "$T/src"
  local packs pct
  head -c 30000000 /dev/urandom >"$T/src/big"
  for i in 1 2 3; do head -c 200000 /dev/urandom >"$T/src/f$i"; done
  new_repo; ok backup "$T/src"
  mapfile -t packs < <(find "$REPO/data" -type f)
  cat "${packs[@]}" >/dev/null
  pct=$(cached_pct "${packs[@]}")
  if [[ $pct -lt 90 ]]; then echo "skipped: the page cache keeps only $pct % of files just read here (tmpfs?)"; return 0; fi
  ok --json check --read-data
  [[ $(json 'j["packs_read"]') -eq ${#packs[@]} ]] || fail "check read $(json 'j["packs_read"]') of ${#packs[@]} packs"
  pct=$(cached_pct "${packs[@]}")
  [[ $pct -le 5 ]] || fail "$pct % of the packs' pages are still in the page cache after check --read-data"
  echo "packs cached after check --read-data: $pct %"
  flip_byte "$(find "$REPO/data" -type f -size +1M | head -1)" 5000
  expect_rc 13 check --read-data
  expect_err "data blob [0-9a-f]{16} at offset [0-9]+ is damaged"
}
