# Backup fidelity: the paths given, what lies on the way to them, and every kind of
# metadata (xattrs, ACLs, capabilities, holes, mount points) back exactly as it was.

# restore_same SRC: restores latest into $T/out and compares tree signatures with SRC.
restore_same() {
  rm -rf "$T/out"
  ok restore latest --target "$T/out"
  $TREESIG "$1" >"$T/sig.a"
  $TREESIG "$T/out$1" >"$T/sig.b"
  diff -u "$T/sig.a" "$T/sig.b" || fail "restored $1 differs from the original"
}

# Overlapping and repeated paths, in any order and spelling, give one tree with one
# entry per name: a path, a sibling sorting between it and its child ("docs.txt"
# between "docs" and "docs/sub"), the child, duplicates, "./", "..", trailing "/".
t_overlapping_paths_give_one_tree() {
  mkdir -p "$T/d/docs/sub/deep" "$T/d/docs-x/y" "$T/d/a"
  echo 1 >"$T/d/docs/sub/f"; echo 2 >"$T/d/docs.txt"; echo 3 >"$T/d/docs/g"; echo 4 >"$T/d/docs-x/y/h"
  echo 5 >"$T/d/a b"; echo 6 >"$T/d/a/c"
  new_repo
  local n=0
  for args in "docs docs.txt docs/sub" "docs/sub docs.txt docs" "docs.txt docs/sub docs docs/" \
              "./docs/sub/../sub docs/./ docs.txt docs.txt" "docs/sub/deep docs-x/y docs docs-x" \
              "a/c a\ b a" "docs/sub docs/sub/deep docs.txt"; do
    n=$((n + 1))
    eval "set -- $args"
    cd "$T/d"; ok backup --force "$@"; cd "$T"
    ok ls latest
    dups=$(sort <<<"$OUT" | uniq -d)
    [[ -z $dups ]] || fail "backup $args: entries listed twice: $dups"
    ok check
    rm -rf "$T/out"
    ok restore latest --target "$T/out"
    for p in "$@"; do
      local abs; abs=$(realpath -m "$T/d/$p")
      $TREESIG "$abs" >"$T/sig.a"; $TREESIG "$T/out$abs" >"$T/sig.b"
      diff -u "$T/sig.a" "$T/sig.b" || fail "backup $args: $p restored differently"
      [[ -e "$T/out$abs" ]] || fail "backup $args: $p not restored"
    done
  done
  ok --json snapshots
  [[ $(json 'j[0]["paths"]') == "['$T/d/docs', '$T/d/docs.txt']" ]] || fail "paths recorded as $(json 'j[0]["paths"]')"
}

# A symlink on the way to a backed-up path stands for the folder it leads to: the
# folder is restored with that folder's mode and owner, never the link's 0777.
t_symlink_above_path_keeps_real_metadata() {
  mkdir -p "$T/real/sub/x" "$T/other/inner/deep"
  chmod 0750 "$T/real"; chmod 0700 "$T/other/inner"; chmod 0751 "$T/other"
  echo secret >"$T/real/sub/x/f"; echo y >"$T/other/inner/deep/g"
  if [[ $(id -u) -eq 0 ]]; then chown 1234:5678 "$T/real"; chown 42:43 "$T/other/inner"; fi
  ln -s real "$T/lnk"                   # relative
  ln -s "$T/other" "$T/abs"             # absolute
  ln -s abs "$T/chain"                  # a link to a link
  new_repo
  ok backup "$T/lnk/sub" "$T/chain/inner/deep"
  ok restore latest --target "$T/out"
  for pair in "lnk:real" "lnk/sub:real/sub" "chain:other" "chain/inner:other/inner"; do
    local got=${pair%%:*} want=${pair##*:}
    [[ -d "$T/out$T/$got" && ! -L "$T/out$T/$got" ]] || fail "$got not restored as a folder"
    [[ $(stat -c '%a %u:%g' "$T/out$T/$got") == $(stat -c '%a %u:%g' "$T/$want") ]] ||
      fail "$got restored as $(stat -c '%a %u:%g' "$T/out$T/$got"), the folder it leads to is $(stat -c '%a %u:%g' "$T/$want")"
  done
  [[ $(cat "$T/out$T/lnk/sub/x/f") == secret ]] || fail "content below the link not restored"
  ok ls -l latest "$T"
  expect_out "^drwxr-x--- .* $T/lnk$"
  # the backed-up path itself, when it is a symlink, stays a symlink
  ok backup "$T/lnk"
  rm -rf "$T/out"; ok restore latest --target "$T/out"
  [[ -L "$T/out$T/lnk" && $(readlink "$T/out$T/lnk") == real ]] || fail "a symlink given as the path is not kept as a symlink"
}

# set_acl PATH access|default: a POSIX ACL (user 1234 r, group 5678 rw, mask rw)
# written as the kernel keeps it (system.posix_acl_*), so no setfacl is needed.
set_acl() {
  python3 - "$1" "$2" <<'PY'
import os, struct, sys
e = [(1, 6, -1), (2, 4, 1234), (4, 4, -1), (8, 6, 5678), (0x10, 6, -1), (0x20, 0, -1)]
v = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i & 0xffffffff) for t, p, i in e)
os.setxattr(sys.argv[1], 'system.posix_acl_' + sys.argv[2], v)
PY
}
# set_xattr PATH NAME VALUE (python escapes, e.g. 'a\x00b'): on the path itself, not a link's target.
set_xattr() {
  python3 -c 'import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode().decode("unicode_escape").encode("latin-1"), follow_symlinks=False)' "$@"
}

# A tree with every kind of extended attribute on files, folders and symlinks.
make_xattr_sample() {
  local d=$1
  make_sample "$d"
  set_xattr "$d/docs/file1.txt" user.comment 'binary\x00value\xff'
  set_xattr "$d/docs/file1.txt" user.empty ''
  set_xattr "$d/docs" user.folder 'on a folder'
  set_xattr "$d/docs/nested/big.bin" user.big "$(head -c 3000 /dev/zero | tr '\0' x)"
  set_acl "$d/docs/file3.txt" access
  set_acl "$d/shared" access
  set_acl "$d/shared" default
  echo in-acl-folder >"$d/shared/inside"   # inherits the default ACL as its own
  if [[ $(id -u) -eq 0 ]]; then
    set_xattr "$d/docs/file2.txt" trusted.t 'root only'
    set_xattr "$d/docs/nested" trusted.folder 'x'
    set_xattr "$d/bin/link" trusted.onlink 'a symlink'
    set_xattr "$d/bin/link" security.onlink 'a symlink'
    set_xattr "$d/docs/file6.txt" security.label 'lbl'
    # a capability on a file with another owner: chown clears capabilities, so
    # restore must set them after the owner
    cp "$d/bin/tool" "$d/bin/ping"; chmod 755 "$d/bin/ping"; chown 1234:5678 "$d/bin/ping"
    if command -v setcap >/dev/null; then setcap cap_net_raw+ep "$d/bin/ping"; fi
  fi
}

t_xattrs_acls_capabilities_round_trip() {
  make_xattr_sample "$T/src"
  [[ $(id -u) -ne 0 ]] || python3 -c 'import os,sys; assert "security.capability" in os.listxattr(sys.argv[1])' "$T/src/bin/ping" ||
    fail "test set-up: no capability on bin/ping"
  new_repo
  ok backup "$T/src"
  restore_same "$T/src"
  grep -q 'system.posix_acl_default' "$T/sig.b" || fail "default ACL not in the signature"
  ok check --read-data
  # only an attribute changes (ctime moves): the next backup has the new value
  set_xattr "$T/src/docs/file1.txt" user.comment 'second'
  set_xattr "$T/src/docs/file5.txt" user.added 'new'
  ok --json backup "$T/src"
  restore_same "$T/src"
  # a restore where the file system refuses them names each file and attribute
  if [[ $(id -u) -eq 0 ]]; then
    cp "$LL" "$T/lifeline"; chown -R nobody "$REPO"; mkdir -p "$T/asnobody"; chown nobody "$T/asnobody"
    run_cmd setpriv --reuid=nobody --regid=nogroup --clear-groups env LIFELINE_STATE_DIR="$T/asnobody/state" \
      "$T/lifeline" -r "$REPO" --json restore latest --target "$T/asnobody/out"
    [[ $RC -eq 0 ]] || fail "restore as nobody exited $RC: $ERR"
    expect_err "cannot set extended attribute trusted.t of $T/asnobody/out$T/src/(docs/file2.txt|bin/hardlink): Operation not permitted"
    expect_err "cannot set extended attribute security.capability of $T/asnobody/out$T/src/bin/ping"
    expect_err "[0-9]+ extended attribute\(s\) could not be set"
    [[ $(json 'j["xattrs_not_set"]') -ge 3 ]] || fail "attributes not set were not counted: $OUT"
    [[ $(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.comment").decode())' \
        "$T/asnobody/out$T/src/docs/file1.txt") == second ]] || fail "user.* not restored as nobody"
  fi
}
