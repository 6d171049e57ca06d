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
