# Restore into a target that already holds things: nothing there is ever followed
# (a planted symlink cannot lead a restore outside its target); each entry that
# cannot be restored is named and the rest restored; exit codes say which kind.

# A source tree with folders, files and a nested chain, in modes and times that
# differ from what lies outside the target, so a write or chmod through a link shows.
restore_src() {
  mkdir -p "$T/src/dir/sub" "$T/src/mid/a/b"
  echo inside >"$T/src/dir/file"; echo deeper >"$T/src/dir/sub/f"
  echo two >"$T/src/file2"; echo leaf >"$T/src/mid/a/b/leaf"
  chmod 755 "$T/src/dir"; chmod 640 "$T/src/file2"; chmod 750 "$T/src/mid/a"
  touch -d '2003-03-03' "$T/src/dir/file" "$T/src/dir" "$T/src/mid/a"
}

# $T/ext stands for /etc: what a planted link points at. Its signature (every
# entry's type, mode, owner, size, mtime, content; the folder itself included)
# is taken before and compared after each restore.
restore_ext() {
  mkdir -p "$T/ext/outside/sub"
  echo secret >"$T/ext/outside/victim"; echo keep >"$T/ext/outside/file"; echo x >"$T/ext/outside/sub/f"
  chmod 700 "$T/ext/outside"; chmod 600 "$T/ext/outside/victim"
  touch -d '2002-02-02' "$T/ext/outside/victim" "$T/ext/outside/file" "$T/ext/outside/sub" "$T/ext/outside"
  EXT_BEFORE=$($TREESIG "$T/ext")
}

ext_unchanged() {
  diff <(echo "$EXT_BEFORE") <($TREESIG "$T/ext") || fail "restore into $1 changed $T/ext, outside the target"
}

# OUT holds exactly the source, as real folders and files.
restored_exactly() {
  diff <($TREESIG "$T/src") <($TREESIG "$1$T/src") || fail "restore into $1 differs from the source"
  [[ ! -L $1$T/src/dir && -d $1$T/src/dir && ! -L $1$T/src/file2 && -f $1$T/src/file2 ]] ||
    fail "restore into $1 left a symlink where the snapshot has a folder or file"
  [[ -z $(find "$1" -name '.lifeline-*') ]] || fail "temporary files left in $1"
}

# fwsig ROOT [SKIP]: like treesig, but through folder descriptors (paths may exceed
# PATH_MAX); SKIP (relative) and what is below it are left out.
fwsig() {
  python3 - "$1" "${2:-}" <<'PY'
import hashlib, os, stat, sys
top, skip = sys.argv[1], sys.argv[2]
for root, dirs, files, rfd in os.fwalk(top):
    rel = os.path.relpath(root, top)
    dirs[:] = sorted(d for d in dirs if os.path.normpath(os.path.join(rel, d)) != skip)
    for n in sorted(dirs + files):
        p = os.path.normpath(os.path.join(rel, n))
        if p == skip:
            continue
        st = os.stat(n, dir_fd=rfd, follow_symlinks=False)
        h, size = '', ''
        if stat.S_ISREG(st.st_mode):
            fd = os.open(n, os.O_RDONLY, dir_fd=rfd)
            h, size = hashlib.sha256(os.read(fd, 1 << 24)).hexdigest()[:16], st.st_size
            os.close(fd)
        print(p, oct(st.st_mode), st.st_uid, st.st_gid, size, st.st_mtime_ns, h)
PY
}

t_restore_never_follows_links_in_the_target() {
  restore_src; new_repo; ok backup "$T/src"; restore_ext
  local top=${T#/}; top=${top%%/*}                   # the first component of $T ("tmp")
  mkdir -p "$T/o1$T/src" "$T/o2$T/src" "$T/o3" "$T/o4$T/src" "$T/o5$T/src/mid" "$T/o6$T/src"
  ln -s "$T/ext/outside" "$T/o1$T/src/dir"            # a folder's place
  ln -s "$T/ext/outside/victim" "$T/o2$T/src/file2"   # a file's place: never written through
  ln -s "$T/ext/outside" "$T/o3/$top"                 # the first component of every path
  ln -s "$T/ext/nowhere/deeper" "$T/o4$T/src/dir"     # dangling
  ln -s "$T/ext/outside" "$T/o5$T/src/mid/a"          # an intermediate folder
  ln -s "$T/ext" "$T/o6$T/src/dir"; ln -s "$T/ext/outside/sub" "$T/o6$T/src/mid"   # like /etc
  for o in o1 o2 o3 o4 o5 o6; do
    ok restore latest --target "$T/$o"
    ext_unchanged "$T/$o"
    restored_exactly "$T/$o"
  done
  [[ ! -e $T/ext/nowhere ]] || fail "a dangling link in the target was followed"
  # again over what the first restore made: same result, still nothing outside touched
  ok restore latest --target "$T/o1"
  restored_exactly "$T/o1"; ext_unchanged "$T/o1"
}

# The snapshot's own symlink, restored first, is not followed by a later restore
# whose snapshot has a folder (or file) there.
t_restore_never_follows_its_own_links() {
  restore_ext; new_repo
  mkdir -p "$T/s"; ln -s "$T/ext/outside" "$T/s/dir"; ln -s "$T/ext/outside/victim" "$T/s/file2"
  ok --json backup "$T/s"
  first=$(json 'j["snapshot_id"]')
  rm "$T/s/dir" "$T/s/file2"; mkdir -p "$T/s/dir/sub"; echo new >"$T/s/dir/sub/f"; echo two >"$T/s/file2"
  chmod 777 "$T/s/dir"
  ok backup "$T/s"
  ok restore "$first" --target "$T/out"
  [[ -L $T/out$T/s/dir ]] || fail "the snapshot's symlink was not restored as a symlink"
  ok restore latest --target "$T/out"
  ext_unchanged "$T/out"
  [[ -d $T/out$T/s/dir && ! -L $T/out$T/s/dir && $(cat "$T/out$T/s/dir/sub/f") == new ]] || fail "folder not restored"
  [[ $(stat -c %a "$T/out$T/s/dir") == 777 && $(cat "$T/out$T/s/file2") == two ]] || fail "mode or file wrong"
}

# Local problems are reported one line each; everything else is restored, folder
# metadata applied, exit 22. A file where the snapshot has a folder is replaced; a
# folder with contents where it has a file is left and named. Paths longer than
# PATH_MAX (a long target plus a deep snapshot path) are restored.
t_restore_goes_on_after_local_errors() {
  mkdir -p "$T/src"
  for i in $(seq 1 50); do mkdir "$T/src/d$i"; echo "in $i" >"$T/src/d$i/f"; echo "file $i" >"$T/src/f$i"; done
  chmod 751 "$T/src/d3"; touch -d '2004-04-04' "$T/src/d3/f" "$T/src/d3" "$T/src/d20"
  local deep="$T/src/deep" i
  for i in $(seq 1 15); do deep="$deep/$(printf 'n%02d_%0200d' "$i" 0)"; done
  mkdir -p "$deep"; echo bottom >"$deep/file"
  new_repo; ok backup "$T/src"
  local tgt="$T/tgt"
  for i in 1 2 3 4 5 6; do tgt="$tgt/$(printf 't%d_%0200d' "$i" 0)"; done
  mkdir -p "$tgt$T/src/f7/inner" "$tgt$T/src/f8"; echo mine >"$tgt$T/src/f7/inner/keep"
  echo stale >"$tgt$T/src/d9"                                    # a file where a folder belongs
  [[ $(( ${#tgt} + ${#deep} )) -gt 4200 ]] || fail "test paths too short"
  expect_rc 22 --json restore latest --target "$tgt"
  [[ $(grep -c '^error: restore ' <<<"$ERR") -eq 1 ]] || { echo "$ERR"; fail "expected exactly one failed entry"; }
  expect_err "^error: restore $tgt$T/src/f7: a folder with contents is in its place"
  [[ $(json 'j["local_errors"]') == 1 && $(json 'j["damaged"]') == 0 && $(json 'len(j["failed"])') == 1 ]] ||
    fail "--json does not count the failure"
  [[ $(json 'j["failed"][0]["path"]') == "$tgt$T/src/f7" && $(json 'j["failed"][0]["kind"]') == local ]] ||
    fail "--json does not name the failed entry"
  [[ $(cat "$tgt$T/src/f7/inner/keep") == mine ]] || fail "the folder in the way was touched"
  expect_rc 22 restore latest --target "$tgt"
  expect_err "^not restored: 1 \(0 damaged or missing in the repository, 1 refused by the target"
  expect_err "error: 1 of the snapshot's entries could not be created in the target"
  # everything else, folders with their modes and times, exactly as backed up
  diff <(fwsig "$T/src" f7) <(fwsig "$tgt$T/src" f7) || fail "restored tree differs from the source"
  [[ $(stat -c %a "$tgt$T/src/d3") == 751 ]] || fail "folder mode not applied"
}

# Temporary names always fit and never collide: a 250-byte name restored over an
# existing file, and the old fixed temporary names taken (by a file, by a folder).
# Messages name the user's file, never a temporary one.
t_restore_temporary_names_always_fit() {
  local long
  long=$(printf 'L%.0s' $(seq 1 250))
  mkdir -p "$T/src"; echo one >"$T/src/$long"; echo two >"$T/src/plain"; head -c 2000000 /dev/urandom >"$T/src/big"
  new_repo; ok backup "$T/src"
  ok restore latest --target "$T/out"
  local d=$T/out$T/src
  echo stale >"$d/$long"; echo stale >"$d/plain"; echo stale >"$d/big"
  mkdir "$d/plain.lifeline-restore.tmp"; echo mine >"$d/big.lifeline-restore.tmp"
  ok restore latest --target "$T/out"
  for f in "$long" plain big; do cmp "$T/src/$f" "$d/$f" || fail "$f not restored over the existing file"; done
  [[ -d $d/plain.lifeline-restore.tmp && $(cat "$d/big.lifeline-restore.tmp") == mine ]] ||
    fail "a file of the user's that looked like a temporary name was touched"
  [[ -z $(find "$T/out" -name '.lifeline-*') ]] || fail "temporary files left"
  rm "$d/$long"; mkdir -p "$d/$long/x"
  expect_rc 22 restore latest --target "$T/out"
  expect_err "^error: restore $d/$long: a folder with contents is in its place"
  ! grep -qE 'lifeline-restore|\.lifeline-[0-9a-f]' <<<"$ERR" || fail "a message names a temporary file"
}

# lln ARGS: lifeline as the unprivileged user nobody, on this test's repository
# (handed over to it with the state folder and the target OUT).
nobody_setup() {
  install -m 755 "$LL" "$T/lifeline"
  mkdir -p "$T/state" "$1"
  chown -R nobody: "$REPO" "$T/state" "$1"
}
lln() { run_cmd setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/lifeline" -r "$REPO" "$@"; }

# Exit 13 means damaged data in the repository and nothing else: a device that only
# root may make, a folder with contents where a symlink or fifo belongs are local
# (22). Both at once: 13.
t_restore_local_problems_are_not_damage() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root to make a device and to become nobody"; return 0; }
  mkdir -p "$T/src/dir"; echo a >"$T/src/a"; echo b >"$T/src/dir/b"
  mknod "$T/src/null" c 1 3; mkfifo "$T/src/fifo"; ln -s a "$T/src/lnk"
  head -c 300000 /dev/urandom >"$T/src/victim"
  new_repo; ok backup "$T/src"
  nobody_setup "$T/out"
  RUNNER=lln expect_rc 22 restore latest --target "$T/out"
  expect_err "^error: restore $T/out$T/src/null: cannot create character device \(only root can\)"
  [[ $(grep -c '^error: restore ' <<<"$ERR") -eq 1 ]] || fail "expected exactly one failed entry"
  [[ -p $T/out$T/src/fifo && $(readlink "$T/out$T/src/lnk") == a && $(cat "$T/out$T/src/dir/b") == b ]] ||
    fail "the entries after the device were not restored"
  # as root: a folder with contents where a symlink belongs is left and named; an
  # empty one where a fifo belongs is replaced
  mkdir -p "$T/o2$T/src/lnk/x" "$T/o2$T/src/fifo"
  expect_rc 22 restore latest --target "$T/o2"
  expect_err "^error: restore $T/o2$T/src/lnk: a folder with contents is in its place"
  [[ -p $T/o2$T/src/fifo && -c $T/o2$T/src/null ]] || fail "fifo or device not restored"
  # damage too: 13 wins, both named
  local pack
  pack=$(first_file data)
  flip_byte "$pack" $(( $(stat -c %s "$pack") / 2 ))
  mkdir -p "$T/o3$T/src/lnk/x"
  expect_rc 13 restore latest --target "$T/o3"
  expect_err "^error: restore $T/o3$T/src/lnk: a folder with contents"
  expect_err "^error: restore $T/o3$T/src/victim: .*authentication failed"
}

# restored_or_named MIN_MISSING MIN_PRESENT FILE...: after a restore into $T/out that
# met damage (exit 13, --json in $OUT): each FILE is back with its content or named in
# an error and absent; the --json counts agree; no temporary file is left.
restored_or_named() {
  local min_missing=$1 min_present=$2 present=0 missing=0 f r; shift 2
  for f in "$@"; do
    r=$T/out$f
    if [[ -e $r ]]; then
      cmp -s "$f" "$r" || fail "$r restored with wrong content"; present=$((present + 1))
    else
      expect_err "^error: restore $r: "; missing=$((missing + 1))
    fi
  done
  [[ $missing -ge $min_missing && $present -ge $min_present ]] || fail "restored $present, missing $missing"
  [[ $(json 'j["damaged"]') == "$missing" && $(json 'j["files"]') == "$present" ]] || fail "--json counts differ"
  [[ -z $(find "$T/out" -name '.lifeline-*') ]] || fail "temporary files left"
  echo "restored $present files, named $missing that could not be"
}

# A deleted pack and a damaged pack alike: every file that can be restored is, each
# one that cannot is named, none is half-written, exit 13.
t_restore_goes_on_past_missing_and_damaged_packs() {
  mkdir -p "$T/src"; new_repo
  local b i
  for b in 1 2 3 4 5; do
    for i in $(seq 1 20); do head -c 30000 /dev/urandom >"$T/src/b${b}_$i"; done
    ok backup "$T/src"
  done
  mapfile -t packs < <(find "$REPO/data" -type f -printf '%T@ %p\n' | sort -n | cut -d' ' -f2)
  [[ ${#packs[@]} -ge 5 ]] || fail "expected a pack per backup, got ${#packs[@]}"
  rm "${packs[1]}"
  flip_byte "${packs[3]}" 100
  expect_rc 13 --json restore latest --target "$T/out"
  expect_err "its pack data/[0-9a-f]{2}/[0-9a-f]{64} is missing"
  expect_err "authentication failed"
  restored_or_named 2 60 "$T"/src/*
}

# Sockets are not restored (a socket is made by the program that listens on it):
# said once per run, with a count, and in --json.
t_restore_says_sockets_are_skipped() {
  mkdir -p "$T/src/sub"; echo a >"$T/src/a"
  python3 -c 'import socket, sys; [socket.socket(socket.AF_UNIX).bind(p) for p in sys.argv[1:]]' \
    "$T/src/s1" "$T/src/sub/s2" "$T/src/sub/s3"
  new_repo; ok backup "$T/src"
  ok restore latest --target "$T/out"
  expect_err "^warning: 3 unix socket\(s\) not restored"
  [[ $(grep -c socket <<<"$ERR") -eq 1 ]] || fail "sockets mentioned more than once"
  ok --json restore latest --target "$T/out2"
  [[ $(json 'j["sockets_skipped"]') == 3 ]] || fail "--json has no socket count"
}

# --delta over a PostgreSQL data folder in which links were planted: the result is a
# fresh restore's, and nothing outside the folder is touched (a hard link to an
# outside file whose content matches is replaced, never given the entry's owner).
t_restore_delta_never_follows_links() {
  source "$HERE/pg.sh"
  trap pg_stop_all RETURN
  pg_skip && return 0
  new_repo
  local port
  port=$(free_port)
  pg_setup_lifeline "$port"
  mapfile -t conf < <(pg_archive_conf)
  pg_start "$T/pgdata" "$port" "${conf[@]}"
  expect_rcc 0 backup --source main-db
  pg_archive_now "$port"
  pg_stop "$T/pgdata"
  expect_rcc 0 restore --source main-db --target "$T/fresh" --latest
  expect_rcc 0 restore --source main-db --target "$T/used" --latest
  mkdir -p "$T/ext/outside"; cp "$T/used/PG_VERSION" "$T/ext/outside/pgver"; chmod 600 "$T/ext/outside/pgver"
  chown root: "$T/ext/outside/pgver"
  restore_ext
  rm -rf "$T/used/base" "$T/used/pg_xact" "$T/used/pg_hba.conf" "$T/used/PG_VERSION"
  ln -s "$T/ext/outside" "$T/used/base"                     # a folder's place
  ln -s "$T/ext/nowhere/deeper" "$T/used/pg_xact"           # dangling
  ln -s "$T/ext/outside/victim" "$T/used/pg_hba.conf"       # a file's place
  ln "$T/ext/outside/pgver" "$T/used/PG_VERSION"            # a hard link to a file outside, same content
  ln -s "$T/ext/outside" "$T/used/extra"                    # not in the snapshot
  mkdir -p "$T/used/pg_wal/x"; ln -s "$T/ext" "$T/used/pg_wal/x/etc"
  expect_rcc 0 restore --source main-db --target "$T/used" --latest --delta
  ext_unchanged "$T/used"
  [[ ! -e $T/ext/nowhere ]] || fail "a dangling link was followed"
  sig() { $TREESIG "$1" | grep -vE '^(postgresql\.auto\.conf|recovery\.signal)\b'; }   # written at the end
  diff <(sig "$T/fresh") <(sig "$T/used") || fail "--delta over planted links differs from a fresh restore"
}

# A failed entry's line names it with control characters escaped: a name from the
# snapshot cannot forge a line of output or reach the terminal as an escape sequence.
t_restore_failure_lines_escape_names() {
  mkdir -p "$T/src"
  name=$'evil\nerror: restore passwd: forged\e[2J'
  echo data >"$T/src/$name"
  new_repo; ok backup "$T/src"
  mkdir -p "$T/tgt$T/src/$name/inner"; echo mine >"$T/tgt$T/src/$name/inner/keep"   # a folder in its place
  expect_rc 22 restore latest --target "$T/tgt"
  [[ $(grep -c '^error: restore ' <<<"$ERR") -eq 1 ]] || { echo "$ERR"; fail "one failed entry must give one line"; }
  ! grep -q $'\e' <<<"$ERR" || fail "an escape sequence reached the output raw"
  expect_err 'evil\\nerror: restore passwd: forged\\e\[2J: a folder with contents is in its place'
}

# A file is created with its final mode, and its owner is left alone, only where the
# kernel gives exactly that; whatever the target's folders or the umask would do to
# a new file (a umask, a default ACL, a setgid folder of another group) must not
# show in what is restored.
t_restore_modes_and_owners_whatever_the_target_does() {
  new_repo
  mkdir -p "$T/src/d/sub"
  local m
  for m in 0644 0666 0777 0000 0444 0600 0640 0751 4755 2755 1755; do
    echo "$m" >"$T/src/d/f$m"; chmod "$m" "$T/src/d/f$m"
  done
  echo x >"$T/src/d/sub/g"; chmod 0664 "$T/src/d/sub/g"; chmod 0775 "$T/src/d/sub"
  if [[ $(id -u) -eq 0 ]]; then
    chown 1234:5678 "$T/src/d/f0640" "$T/src/d/sub"; chown 0:5678 "$T/src/d/f0666"; chown 1234:0 "$T/src/d/f0751"
  fi
  ok backup "$T/src"
  sig() { (cd "$1" && find . -printf '%P %m %U %G %s\n' | sort); }
  local want; want=$(sig "$T/src")
  (umask 077; ok restore latest --target "$T/r1")
  [[ $(sig "$T/r1$T/src") == "$want" ]] || { diff <(echo "$want") <(sig "$T/r1$T/src"); fail "umask 077 showed"; }
  (umask 000; ok restore latest --target "$T/r2")
  [[ $(sig "$T/r2$T/src") == "$want" ]] || { diff <(echo "$want") <(sig "$T/r2$T/src"); fail "umask 000 showed"; }
  # a default ACL (user rwx, group r-x, other none) on the target: new files and
  # folders would take it instead of the mode they are created with
  mkdir "$T/r3"
  python3 -c 'import os, struct, sys; os.setxattr(sys.argv[1], "system.posix_acl_default", struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, 0xffffffff) for t, p in ((1, 7), (4, 5), (0x20, 0))))' "$T/r3"
  ok restore latest --target "$T/r3"
  [[ $(sig "$T/r3$T/src") == "$want" ]] || { diff <(echo "$want") <(sig "$T/r3$T/src"); fail "the target's default ACL showed"; }
  if [[ $(id -u) -eq 0 ]]; then # a setgid folder gives new files its group
    mkdir "$T/r4"; chgrp 4321 "$T/r4"; chmod 2775 "$T/r4"
    ok restore latest --target "$T/r4"
    [[ $(sig "$T/r4$T/src") == "$want" ]] || { diff <(echo "$want") <(sig "$T/r4$T/src"); fail "the setgid target showed"; }
  fi
}

# A damaged pack, a truncated one and a missing one under large and small files (runs
# of blobs read with one read, batches of small files): every file that can be
# restored is, with its content; each one that cannot is named and never appears;
# exit 13.
t_restore_damaged_packs_under_large_and_small_files() {
  mkdir -p "$T/src/small"; new_repo
  local b i
  for b in 1 2 3 4 5 6; do # one backup (so its own packs) per large file and its small ones
    head -c $(( (5 + b) * 1000000 + b * 777 )) /dev/urandom >"$T/src/big$b"
    for i in $(seq 1 15); do head -c $((b * 4000 + i)) /dev/urandom >"$T/src/small/s${b}_$i"; done
    ok backup "$T/src"
  done
  mapfile -t packs < <(find "$REPO/data" -type f -printf '%T@ %p\n' | sort -n | cut -d' ' -f2)
  [[ ${#packs[@]} -ge 6 ]] || fail "expected at least a pack per backup, got ${#packs[@]}"
  local n=${#packs[@]} sz
  flip_byte "${packs[1]}" $(( $(stat -c %s "${packs[1]}") / 2 ))        # damaged in the middle
  sz=$(stat -c %s "${packs[$((n / 2))]}"); truncate -s $((sz / 3)) "${packs[$((n / 2))]}" # cut short
  rm "${packs[$((n - 2))]}"                                              # missing
  expect_rc 13 --json restore latest --target "$T/out"
  expect_err "authentication failed"
  expect_err "truncated"
  expect_err "is missing"
  restored_or_named 3 40 "$T"/src/big* "$T"/src/small/*
}

# A target that fills up while large files are written (each worker hands one 4 MiB
# staging buffer to its writer thread while it fills the other): the restore stops
# with exit 17 (no space) and says so, never "short write"; no file is left
# half-written under its name or as a temporary; every file that is there is complete.
t_restore_target_fills_up_under_large_files() {
  trap 'umount "$T/small" 2>/dev/null || true' RETURN
  small_tmpfs "$T/small" 24m || return 0
  mkdir -p "$T/src/small"
  local i f restored=0
  for i in 1 2 3 4 5 6; do head -c $(( (9 + i) * 1048576 + 1234 )) /dev/urandom >"$T/src/big$i"; done
  for i in $(seq 1 40); do echo "small $i" >"$T/src/small/f$i"; done
  new_repo; ok backup "$T/src"
  expect_rc 17 restore latest --target "$T/small"
  expect_err "write $T/small$T/src/big[0-9]: No space left on device"
  ! grep -q "short write" <<<"$ERR" || { echo "$ERR"; fail "a cut write was reported as a short write"; }
  for f in "$T"/src/big*; do
    [[ -e $T/small$f ]] || continue
    cmp -s "$f" "$T/small$f" || fail "$T/small$f is there but not complete"
    restored=$((restored + 1))
  done
  [[ $restored -ge 1 && $restored -lt 6 ]] || fail "restored $restored of 6 large files into 24 MiB"
  [[ -z $(find "$T/small" -name '*.tmp') ]] || fail "temporary files left behind"
  echo "restored $restored of 6 large files, then: $(grep -m1 'No space' <<<"$ERR")"
}

# The runs of pack bytes a restore reads for large files are let go from the page
# cache after use (kept, they would push out what the machine uses), while every file
# is restored complete: a repository read just before (all of it cached) is left with
# little of its packs in the cache: the small files' runs, which also span other
# files' blobs, stay (2.4 % here). The page cache's large folios that straddle the
# edge between two runs of a file go too, when the pack's descriptor is closed: they
# stayed before, 6-12 % of the packs.
t_restore_lets_pack_reads_leave_the_cache() {
  mkdir -p "$T/src/small"
  local i packs pct
  head -c 30000000 /dev/urandom >"$T/src/big"
  for i in $(seq 1 200); do head -c 3000 /dev/urandom >"$T/src/small/f$i"; done
  new_repo; ok backup "$T/src"
  mapfile -t packs < <(find "$REPO/data" -type f -size +100k)
  [[ ${#packs[@]} -ge 1 ]] || fail "no pack files found in $REPO/data"
  cat "${packs[@]}" >/dev/null
  pct=$(cached_pct "${packs[@]}")
  if [[ $pct -lt 90 ]]; then echo "skipped: the page cache keeps only $pct % of files just read here (tmpfs?)"; return 0; fi
  ok restore latest --target "$T/out"
  cmp "$T/src/big" "$T/out$T/src/big" || fail "big restored wrong"
  diff -r "$T/src/small" "$T/out$T/src/small" >/dev/null || fail "small files restored wrong"
  pct=$(cached_pct "${packs[@]}")
  [[ $pct -le 5 ]] || fail "$pct % of the packs' pages are still in the page cache after the restore"
  echo "packs cached after the restore: $pct %"
}
