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
  python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.real", b"yes")' "$T/real"
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
  [[ $(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.real").decode())' "$T/out$T/lnk") == yes ]] ||
    fail "the real folder's extended attributes not kept on lnk"
  [[ $(stat -c %Y "$T/out$T/lnk") == $(stat -c %Y "$T/real") ]] || fail "the real folder's mtime not kept on lnk"
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

# A tree with every kind of extended attribute on files, folders and symlinks (and
# make_sample's modes, owners, times, hard links, special files, plus a sparse file).
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
  head -c 5000 /dev/urandom >"$d/docs/sparse"; truncate -s 64M "$d/docs/sparse"; echo end >>"$d/docs/sparse"
  set_xattr "$d/docs/sparse" user.on-sparse 'holes and attributes'
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
  ok --json snapshots
  ok diff "$(json 'j[0]["short_id"]')" "$(json 'j[1]["short_id"]')"
  expect_out "^U +$T/src/docs/file1.txt$"
  expect_out "^U +$T/src/docs/file5.txt$"
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
    # a file system without extended attributes (ramfs): warned per file and attribute
    mkdir -p "$T/ramfs"; mount -t ramfs ramfs "$T/ramfs"
    trap 'umount -l "$T/ramfs" 2>/dev/null || true; for f in pg_stop_all redis_stop_all; do declare -F $f >/dev/null && $f; done; true' EXIT
    ok --json restore latest --target "$T/ramfs/out"
    expect_err "cannot set extended attribute user.comment of $T/ramfs/out$T/src/docs/file1.txt: not supported by the file system"
    expect_err "cannot set extended attribute system.posix_acl_default of $T/ramfs/out$T/src/shared: not supported"
    [[ $(json 'j["xattrs_not_set"]') -ge 10 ]] || fail "attributes refused by the file system were not counted: $OUT"
    cmp "$T/src/docs/nested/big.bin" "$T/ramfs/out$T/src/docs/nested/big.bin" || fail "content restored to ramfs differs"
    umount "$T/ramfs"
  fi
}

# Holes stay holes: found on backup without reading them, made again on restore, in
# both the buffered (small files) and the O_DIRECT (1 MiB and more) write paths. A
# file that really holds zeros stays dense.
t_sparse_files_round_trip() {
  mkdir -p "$T/src"
  local s=$T/src
  head -c 100000 /dev/urandom >"$s/big"; truncate -s 1G "$s/big"; echo tail >>"$s/big"   # data, 1 GiB hole, data
  dd if=/dev/urandom of="$s/big" bs=4096 seek=100000 count=3 conv=notrunc status=none     # data inside the hole
  truncate -s 300M "$s/only-hole"                                                       # no data at all
  head -c 8192 /dev/urandom >"$s/hole-at-end"; truncate -s 20M "$s/hole-at-end"
  head -c 4096 /dev/urandom >"$s/small"; truncate -s 200000 "$s/small"; echo x >>"$s/small"   # < 1 MiB: buffered
  head -c 3000000 /dev/zero >"$s/dense-zeros"                                             # written zeros: not a hole
  new_repo
  ok --json backup "$s"
  [[ $(json 'j["summary"]["bytes_read"]') -lt 10000000 ]] || fail "holes were read: $(json 'j["summary"]["bytes_read"]') bytes"
  [[ $(json 'j["summary"]["bytes_added"]') -lt 10000000 ]] || fail "holes stored: $(json 'j["summary"]["bytes_added"]') bytes added"
  restore_same "$s"
  local used; used=$(du -sk "$T/out$s" | cut -f1)
  [[ $used -lt 12000 ]] || fail "restored tree uses $used KiB (dense holes?)"
  grep -q '^dense-zeros .* dense ' "$T/sig.b" || fail "a file of written zeros was restored sparse"
  # an unchanged sparse file keeps its holes through the next backup (not re-read)
  ok --json backup "$s"
  [[ $(json 'j["summary"]["files_unchanged"]') -eq 5 ]] || fail "sparse files read again"
  restore_same "$s"
  ok check --read-data
}

# Files of 1 MiB and more are written with O_DIRECT by default (a last part shorter
# than a block buffered) and through the page cache with --write-mode buffered: both
# give the same tree (sizes on both sides of
# the 4 KiB alignment and of the 4 MiB staging buffer, a sparse file ending in a
# hole), --json says how much went each way, a bad mode is a usage error, and a
# file system that refuses O_DIRECT (ramfs) gets the same files written buffered.
t_restore_write_modes_round_trip() {
  mkdir -p "$T/src"
  local s=$T/src sz mode large direct buffered
  for sz in 1048575 1048576 4194304 4194305 8392703 9000001; do head -c $sz /dev/urandom >"$s/f$sz"; done
  head -c 5000 /dev/urandom >"$s/sp"; truncate -s 12M "$s/sp"
  dd if=/dev/urandom of="$s/sp" bs=4096 seek=1000 count=300 conv=notrunc status=none; truncate -s 20M "$s/sp"
  new_repo; ok backup "$s"
  for mode in default direct buffered; do
    rm -rf "$T/out"
    if [[ $mode == default ]]; then ok --json restore latest --target "$T/out"
    else ok --json restore latest --target "$T/out" --write-mode "$mode"; fi
    large=$(( $(json 'j["bytes"]') - 1048575 )) # all but the one file under 1 MiB
    direct=$(json 'j["bytes_written_direct"]'); buffered=$(json 'j["bytes_written_buffered"]')
    [[ $((direct + buffered)) -eq $large ]] || fail "$mode: $direct + $buffered bytes written, $large in large files"
    if [[ $mode == buffered ]]; then
      [[ $direct -eq 0 ]] || fail "--write-mode buffered wrote $direct bytes with O_DIRECT"
    elif python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DIRECT))' "$T/odirect-probe" 2>/dev/null; then
      # only each file's last part shorter than a 4 KiB block (6 large files)
      [[ $buffered -lt $((6 * 4096)) ]] || fail "$mode: $buffered bytes written buffered where O_DIRECT works"
    fi
    $TREESIG "$s" >"$T/sig.a"; $TREESIG "$T/out$s" >"$T/sig.b"
    diff -u "$T/sig.a" "$T/sig.b" || fail "restored with $mode writes, $s differs from the original"
    grep -q '^sp .* sparse ' "$T/sig.b" || fail "$mode: the sparse file was restored dense"
  done
  ok -v restore latest --target "$T/out-v" --write-mode buffered
  expect_err "files of 1 MiB or more: 0.0 MiB written with O_DIRECT, [0-9.]+ MiB through the page cache"
  expect_rc 2 restore latest --target "$T/out-bad" --write-mode fast
  expect_err "--write-mode: 'fast' is neither direct nor buffered"
  [[ ! -e $T/out-bad ]] || fail "a refused --write-mode still created the target"
  if [[ $(id -u) -eq 0 ]] && mkdir -p "$T/ramfs" && mount -t ramfs ramfs "$T/ramfs"; then
    ok --json restore latest --target "$T/ramfs/out"
    direct=$(json 'j["bytes_written_direct"]'); buffered=$(json 'j["bytes_written_buffered"]')
    for sz in 1048576 4194305 9000001; do cmp "$s/f$sz" "$T/ramfs/out$s/f$sz" || fail "f$sz restored to ramfs differs"; done
    umount "$T/ramfs"
    [[ $direct -eq 0 && $buffered -gt 0 ]] || fail "on ramfs (no O_DIRECT): $direct direct, $buffered buffered bytes"
  fi
}

# A file system that takes O_DIRECT at open but refuses it for a write partway
# through a file (fault_dio, preloaded: the third O_DIRECT write is refused): the
# rest of that file is written buffered, all of it restored, and the counts say
# which bytes went which way.
t_restore_o_direct_refused_midway() {
  local lib=$(dirname "$LL")/libfault_dio.so direct buffered
  [[ -f $lib ]] || fail "no $lib (built with the tests)"
  python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DIRECT))' "$T/odirect-probe" 2>/dev/null ||
    { echo "skipped: this file system refuses O_DIRECT at open"; return 0; }
  mkdir -p "$T/src"
  head -c $((20 * 1048576 + 5000)) /dev/urandom >"$T/src/big"
  new_repo; ok backup "$T/src"
  OUT=$(ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD=$lib LIFELINE_TEST_DIO_EINVAL_AFTER=2 \
    "$LL" -r "$REPO" --json restore latest --target "$T/out" 2>"$T/err") || fail "restore failed: $(cat "$T/err")"
  cmp "$T/src/big" "$T/out$T/src/big" || fail "the file restored after O_DIRECT was refused differs"
  direct=$(json 'j["bytes_written_direct"]'); buffered=$(json 'j["bytes_written_buffered"]')
  [[ $direct -eq $((8 * 1048576)) && $buffered -eq $((12 * 1048576 + 5000)) ]] ||
    fail "counted $direct bytes direct, $buffered buffered; written: 8 MiB direct, the rest buffered"
}

# when_open PID FILE ACTION: waits until process PID has FILE open, then changes it
# (shrink: cut to a quarter; grow: append 1 MiB; touch: a new mtime, same size).
when_open() {
  python3 - "$@" <<'PY'
import os, sys, time
pid, path, action = sys.argv[1], os.path.realpath(sys.argv[2]), sys.argv[3]
deadline = time.time() + 60
while time.time() < deadline:
    try:
        fds = os.listdir('/proc/%s/fd' % pid)
    except OSError:
        sys.exit('process %s ended before it opened %s' % (pid, path))
    for fd in fds:
        try:
            if os.readlink('/proc/%s/fd/%s' % (pid, fd)) == path:
                if action == 'shrink':
                    os.truncate(path, os.path.getsize(path) // 4)
                elif action == 'grow':
                    with open(path, 'ab') as f:
                        f.write(os.urandom(1 << 20))
                else:
                    os.utime(path, ns=(1, 1))
                sys.exit(0)
        except OSError:
            pass
    time.sleep(0.0005)
sys.exit('timed out waiting for %s' % path)
PY
}

# A file that shrinks, grows or is rewritten while it is read is stored as read,
# with tar's warning, counted, and the snapshot is partial (exit 3). The file is
# large enough that reading it takes far longer than the watcher needs to act.
t_file_changed_while_read_is_partial() {
  mkdir -p "$T/src"; echo steady >"$T/src/other"
  new_repo
  for action in shrink grow touch; do
    head -c 400000000 /dev/urandom >"$T/src/moving"
    set +e
    "$LL" -r "$REPO" --json backup "$T/src" >"$T/.stdout" 2>"$T/.stderr" &
    local pid=$!
    when_open $pid "$T/src/moving" $action
    local watched=$?
    wait $pid; RC=$?
    set -e
    OUT=$(cat "$T/.stdout"); ERR=$(cat "$T/.stderr")
    [[ $watched -eq 0 ]] || fail "$action: the watcher did not see the file open"
    [[ $RC -eq 3 ]] || fail "$action: backup exited $RC, wanted 3 (partial): $ERR"
    expect_err "file changed as we read it: $T/src/moving"
    [[ $(json 'j["partial"]') == True ]] || fail "$action: snapshot not marked partial"
    [[ $(json 'j["summary"]["files_failed"]') -eq 1 ]] || fail "$action: not counted"
  done
  # a file left alone is not reported
  ok backup --force "$T/src"
  [[ $ERR != *"changed as we read"* ]] || fail "a steady file was reported as changed"
}

# --one-file-system (-x): mount points below a PATH are stored as empty folders with
# their own metadata; a PATH is always backed up, even a mount point below another.
t_one_file_system() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: mounting needs root"; return 0; }
  mkdir -p "$T/src/a" "$T/src/mnt" "$T/src/mnt2" "$T/src/a/deep"
  echo a >"$T/src/a/f"
  mount -t tmpfs -o size=8m tmpfs "$T/src/mnt"
  mount -t tmpfs -o size=8m tmpfs "$T/src/mnt2"
  mount -t tmpfs -o size=8m tmpfs "$T/src/a/deep"
  # mounts go even when an assertion stops the test (the runner's own EXIT trap kept)
  trap 'umount -l "$T/src/mnt" "$T/src/mnt2" "$T/src/a/deep" 2>/dev/null || true; for f in pg_stop_all redis_stop_all; do declare -F $f >/dev/null && $f; done; true' EXIT
  echo in-mount >"$T/src/mnt/f"; mkdir "$T/src/mnt/sub"; echo g >"$T/src/mnt2/g"; echo d >"$T/src/a/deep/d"
  chmod 0710 "$T/src/mnt"
  new_repo
  for opt in -x --one-file-system; do
    ok backup $opt "$T/src" "$T/src/mnt2/"
    rm -rf "$T/out"; ok restore latest --target "$T/out"
    [[ -f "$T/out$T/src/a/f" ]] || fail "$opt: files on the path's own file system missing"
    [[ -d "$T/out$T/src/mnt" && -z $(ls -A "$T/out$T/src/mnt") ]] || fail "$opt: mount point not stored as an empty folder"
    [[ -d "$T/out$T/src/a/deep" && -z $(ls -A "$T/out$T/src/a/deep") ]] || fail "$opt: nested mount point crossed"
    [[ $(stat -c %a "$T/out$T/src/mnt") == 710 ]] || fail "$opt: mount point's own mode not kept"
    [[ $(cat "$T/out$T/src/mnt2/g") == g ]] || fail "$opt: a PATH that is a mount point was not backed up"
  done
  # a PATH below a mount point that is not crossed: the mount point holds just the way to it
  ok backup -x "$T/src" "$T/src/mnt/sub/" "$T/src/a/deep"
  rm -rf "$T/out"; ok restore latest --target "$T/out"
  [[ $(ls -A "$T/out$T/src/mnt") == sub && $(stat -c %a "$T/out$T/src/mnt") == 710 ]] ||
    fail "a PATH below an uncrossed mount point: mount point holds $(ls -A "$T/out$T/src/mnt")"
  [[ $(cat "$T/out$T/src/a/deep/d") == d ]] || fail "a PATH that is a nested mount point was not backed up"
  ok check
  # a PATH that is a mount point is backed up whole; without -x everything is crossed
  ok backup -x "$T/src/mnt"
  rm -rf "$T/out"; ok restore latest --target "$T/out"
  [[ $(cat "$T/out$T/src/mnt/f") == in-mount && -d "$T/out$T/src/mnt/sub" ]] || fail "a mount point given as PATH was not backed up"
  ok backup "$T/src"
  rm -rf "$T/out"; ok restore latest --target "$T/out"
  [[ $(cat "$T/out$T/src/mnt/f") == in-mount && $(cat "$T/out$T/src/a/deep/d") == d ]] || fail "without -x mounts must be crossed"
  expect_rc 2 backup -x --source nosuch
  umount "$T/src/mnt" "$T/src/mnt2" "$T/src/a/deep" || fail "could not unmount"
}

# A user whose home cannot be written (nobody, HOME=/nonexistent) can still back up
# and restore: no local audit copy is a one-line warning, and the record is in the
# repository's trail.
t_state_folder_unavailable_is_a_warning() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root to become nobody"; return 0; }
  new_repo
  mkdir -p "$T/src"; echo data >"$T/src/f"
  cp "$LL" "$T/lifeline"; chown -R nobody "$REPO" "$T/src"
  mkdir -p "$T/ro"; chmod 555 "$T/ro"
  asnobody() { # STATE_DIR ARGS...: lifeline as nobody, without a writable home
    local state=$1; shift
    run_cmd setpriv --reuid=nobody --regid=nogroup --clear-groups env -u LIFELINE_STATE_DIR -u XDG_STATE_HOME \
      HOME=/nonexistent ${state:+LIFELINE_STATE_DIR=$state} "$T/lifeline" -r "$REPO" "$@"
  }
  for state in "" "$T/ro/state"; do
    asnobody "$state" backup "$T/src"
    [[ $RC -eq 0 ]] || fail "backup as nobody (state '${state:-\$HOME}') exited $RC: $ERR"
    expect_err "snapshot [0-9a-f]{8} saved"
    expect_err "^warning: no local copy of the audit record: .*(nonexistent|$T/ro/state).*repository's trail has it"
    [[ $(grep -c 'audit' <<<"$ERR") -eq 1 ]] || fail "more than one line about the audit copy: $ERR"
    asnobody "$state" restore latest --target "/tmp/$(basename "$T")-nobody-out"
    [[ $RC -eq 0 ]] || fail "restore as nobody exited $RC: $ERR"
    rm -rf "/tmp/$(basename "$T")-nobody-out"
  done
  ok --json audit show
  [[ $(json 'sum(1 for r in j if r["command"] == "backup" and r["exit"] == 0 and r["user"] == "nobody")') -eq 2 ]] ||
    fail "the backups are not in the repository's trail: $OUT"
  ok audit verify
}
