# The command line as a user meets it: secrets without a terminal, include/exclude
# patterns (restic's rules), names that are not text (JSON, ls, diff), retention that
# counts from the newest snapshot, and the install step.

# paths NAME...: the "path" of every ls --json entry, as exact bytes (path_raw when
# present), one repr() a line, sorted
ls_paths() {
  python3 -c '
import base64, json, sys
j = json.loads(sys.stdin.buffer.read().decode("utf-8"))
for e in sorted(base64.b64decode(e["path_raw"]) if "path_raw" in e else e["path"].encode() for e in j):
    print(repr(e))' <<<"$OUT"
}
has_path() { local all; all=$(ls_paths); grep -qxF "b'$1'" <<<"$all" || { echo "$all"; fail "not in the snapshot: $1"; }; }
no_path() { local all; all=$(ls_paths); ! grep -qxF "b'$1'" <<<"$all" || fail "in the snapshot but should not be: $1"; }

t_no_password_and_no_terminal_is_a_usage_error() {
  new_repo
  # no controlling terminal (setsid), no password from anywhere
  run_cmd setsid -w env -u LIFELINE_PASSWORD "$LL" -r "$REPO" snapshots </dev/null
  [[ $RC -eq 2 ]] || fail "snapshots without a password exited $RC, wanted 2 (usage)"
  expect_err "no password given and no terminal to ask on"
  expect_err "hint: use --password-file"
  for cmd in "backup $T" "restore latest --target $T/r" "check" "forget --keep-last 1" "key list" "audit show"; do
    # shellcheck disable=SC2086
    run_cmd setsid -w env -u LIFELINE_PASSWORD "$LL" -r "$REPO" $cmd </dev/null
    [[ $RC -eq 2 ]] || fail "$cmd without a password exited $RC, wanted 2"
  done
  run_cmd setsid -w env -u LIFELINE_PASSWORD "$LL" -r "$T/new" init </dev/null
  [[ $RC -eq 2 ]] || fail "init without a password exited $RC, wanted 2"
  run_cmd setsid -w "$LL" -r "$REPO" key add </dev/null
  [[ $RC -eq 2 ]] || fail "key add without a new password exited $RC, wanted 2"
  # a wrong password is still 12
  LIFELINE_PASSWORD=wrong expect_rc 12 snapshots
}

make_pattern_tree() {
  P=$T/p
  mkdir -p "$P/src/sub/deeper" "$P/src/cache" "$P/docs/build" "$P/other/build" "$P/mysrc" "$P/keep"
  for f in src/a.log src/sub/keep.log src/sub/deeper/deep.log src/keep.txt src/cache/x docs/build/out.o \
           other/build/y mysrc/b.log keep/x.o keep/x.c src.c; do
    echo "$f" >"$P/$f"
  done
}

t_backup_exclude_patterns_follow_restic_rules() {
  make_pattern_tree
  new_repo
  ok backup "$P" --exclude "$P/src/*.log" --exclude 'cache/' --exclude 'docs/build' --exclude "/nonexistent/**"
  ok --json ls latest
  no_path "$P/src/a.log"              # '*' inside one folder
  has_path "$P/src/sub/keep.log"      # ... never across '/'
  has_path "$P/src/sub/deeper/deep.log"
  no_path "$P/src/cache"              # a trailing '/' is ignored: the folder goes
  no_path "$P/src/cache/x"
  no_path "$P/docs/build/out.o"       # a relative pattern with '/' matches at any depth
  has_path "$P/other/build/y"
  has_path "$P/src.c"
  # "**" crosses folders; '!' takes something back; a name matches at any depth
  ok backup "$P" --exclude "$P/**/*.log" --exclude '*.o' --exclude '!keep/x.o'
  ok --json ls latest
  no_path "$P/src/sub/deeper/deep.log"
  no_path "$P/mysrc/b.log"
  no_path "$P/docs/build/out.o"
  has_path "$P/keep/x.o"
  has_path "$P/keep/x.c"
  has_path "$P/src/keep.txt"
  # bad patterns are refused before anything is written
  ok --json snapshots; before=$(json 'len(j)')
  for bad in '[abc' 'x\' '' '!'; do
    expect_rc 2 backup "$P" --exclude "$bad"
    expect_err "--exclude"
  done
  ok --json snapshots; [[ $(json 'len(j)') -eq $before ]] || fail "a refused backup wrote a snapshot"
}

t_restore_include_exclude_patterns_follow_restic_rules() {
  make_pattern_tree
  new_repo
  ok backup "$P"
  # a relative pattern with '/': only the .log files directly in src/
  ok restore latest --target "$T/r1" --include 'src/*.log'
  [[ -f $T/r1$P/src/a.log ]] || fail "src/*.log did not restore src/a.log"
  [[ ! -e $T/r1$P/src/sub/keep.log ]] || fail "src/*.log restored src/sub/keep.log ('*' crossed '/')"
  [[ ! -e $T/r1$P/mysrc/b.log ]] || fail "src/*.log matched mysrc/"
  # a trailing '/': the folder and everything below it
  ok --json restore latest --target "$T/r2" --include 'src/'
  [[ $(json 'j["files"]') -eq 5 ]] || fail "src/ restored $(json 'j["files"]') files, wanted 5"
  [[ -f $T/r2$P/src/sub/deeper/deep.log && ! -e $T/r2$P/src.c ]] || fail "src/ restored the wrong files"
  # an anchored pattern with "**", a '!' include, and an exclude
  ok restore latest --target "$T/r3" --include "$P/**/*.log" --include '!deeper' --exclude 'sub/keep.log'
  [[ -f $T/r3$P/src/a.log && -f $T/r3$P/mysrc/b.log ]] || fail "/**/*.log missed files"
  [[ ! -e $T/r3$P/src/sub/deeper/deep.log ]] || fail "'!deeper' did not take deep.log back out"
  [[ ! -e $T/r3$P/src/sub/keep.log ]] || fail "--exclude sub/keep.log did not apply"
  [[ ! -e $T/r3$P/src/keep.txt ]] || fail "restored a file no include matched"
  # an include that matches nothing is said, by name, and the others still work
  ok restore latest --target "$T/r4" --include '/no/such/path' --include 'keep.txt'
  expect_err "warning: --include '/no/such/path' matched nothing in snapshot [0-9a-f]{8}"
  [[ -f $T/r4$P/src/keep.txt ]] || fail "keep.txt not restored"
  ! grep -q "keep.txt' matched nothing" <<<"$ERR" || fail "warned about an include that matched"
  ok --json restore latest --target "$T/r4j" --include '/no/such/path' --include 'keep.txt'
  [[ $(json 'j["unmatched_includes"]') == "['/no/such/path']" ]] || fail "--json: unmatched_includes: $OUT"
  # SNAPSHOT:PATH: patterns still see the full path in the snapshot, as ls shows it
  ok restore "latest:$P/src" --target "$T/r6" --include "$P/src/sub" --exclude 'deeper/'
  [[ -f $T/r6/sub/keep.log && ! -e $T/r6/sub/deeper && ! -e $T/r6/a.log ]] ||
    fail "SNAPSHOT:PATH with --include/--exclude restored the wrong files: $(cd "$T/r6" && find .)"
  expect_rc 2 restore latest --target "$T/r5" --include '[oops'
  expect_err "--include: malformed pattern '\[oops'"
  [[ ! -e $T/r5 ]] || fail "a refused restore created its target"
}

# Names that are not text: bytes that are not UTF-8, controls, quotes, backslashes,
# a newline and an escape sequence; the backed-up folder's own name is not UTF-8.
make_odd_names() {
  python3 - "$1" <<'PY'
import os, sys
root = os.fsencode(sys.argv[1])
top = os.path.join(root, b'top\xff\xfe')
os.makedirs(os.path.join(top, b'sub\x80dir'))
for n in [b'plain.txt', b'bad\xffname', b'nl\nforged', b'esc\x1b[31mred', b'quote"back\\slash\'', b'tab\there',
          b'c1\xc2\x9bx', b'caf\xc3\xa9', b'sub\x80dir/inner\xc0\xaf', b'bel\x07', b'del\x7f']:
    with open(os.path.join(top, n), 'wb') as f:
        f.write(n)
os.symlink(b'target\xff\n', os.path.join(top, b'link'))
PY
}

# Every name under DIR as exact bytes, one repr() a line (what ls_paths prints).
fs_paths() {
  python3 - "$1" <<'PY'
import os, sys
root = os.fsencode(sys.argv[1])
out = [root]
for d, dirs, files in os.walk(root):
    out += [os.path.join(d, n) for n in dirs + files]
for p in sorted(out):
    print(repr(p))
PY
}

t_json_is_always_valid_and_lossless() {
  make_odd_names "$T"
  top=$(python3 -c 'import sys; sys.stdout.buffer.write(sys.argv[1].encode() + b"/top\xff\xfe")' "$T")
  new_repo
  strict='import json,sys; json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))'
  check_json() { # what: stdout must be strict UTF-8 JSON
    python3 -c "$strict" <"$T/.stdout" || { cat -v "$T/.stdout" | head -5; fail "$1: not valid JSON"; }
  }
  ok --json backup "$top"; check_json "backup"
  ok --json backup "$top"; check_json "backup (again)"
  ok --json snapshots; check_json "snapshots"
  # the snapshot's paths: readable copy plus the exact bytes in paths_raw
  python3 -c '
import base64, json, sys
j = json.loads(open(sys.argv[1], "rb").read())
raw = base64.b64decode(j[0]["paths_raw"][0])
assert raw == sys.argv[2].encode("utf-8", "surrogateescape"), raw
assert "\ufffd" in j[0]["paths"][0]' "$T/.stdout" "$top" || fail "snapshots paths_raw does not round-trip"
  ok --json ls latest "$top"; check_json "ls"
  diff <(ls_paths) <(fs_paths "$top") || fail "ls --json names do not round-trip to the exact bytes"
  python3 -c '
import base64, json, sys
j = json.loads(open(sys.argv[1], "rb").read())
l = [e for e in j if e["path"].endswith("/link")][0]
assert base64.b64decode(l["link_raw"]) == b"target\xff\n", l' "$T/.stdout" || fail "link_raw does not round-trip"
  printf 'changed' >"$top/plain.txt"
  ok backup "$top"
  ok --json diff "$(json_first_id)" latest; check_json "diff"
  ok --json stats latest; check_json "stats"
  ok --json restore latest --target "$top/restored"; check_json "restore"
  ok --json check; check_json "check"
  ok --json forget --keep-last 5 --dry-run; check_json "forget"
  ok --json key list; check_json "key list"
  ok --json audit show; check_json "audit show"
  python3 -c '
import base64, json, sys
j = json.loads(open(sys.argv[1], "rb").read())
assert any(b"top\xff\xfe" in base64.b64decode(r) for rec in j for r in (rec.get("args_raw") or []) if r), "no args_raw"
' "$T/.stdout" || fail "audit show: the non-UTF-8 argument is not in args_raw"
  ok --json version; check_json "version"
}
json_first_id() { "$LL" -r "$REPO" --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["short_id"])'; }

t_ls_and_diff_never_print_names_raw() {
  make_odd_names "$T"
  top=$(python3 -c 'import sys; sys.stdout.buffer.write(sys.argv[1].encode() + b"/top\xff\xfe")' "$T")
  new_repo
  ok backup "$top"
  # through a pipe: one line per entry, escapes instead of controls
  ok ls latest "$top"
  n=$(fs_paths "$top" | wc -l)
  [[ $(wc -l <"$T/.stdout") -eq $n ]] || fail "ls printed $(wc -l <"$T/.stdout") lines for $n entries (a forged line?)"
  ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/.stdout" || fail "a control character reached the output"
  grep -qF '/nl\nforged' "$T/.stdout" || fail "newline not shown as \\n"
  grep -qF '/esc\e[31mred' "$T/.stdout" || fail "escape not shown as \\e"
  grep -qF '/bad\377name' "$T/.stdout" || fail "a non-UTF-8 byte not shown as \\377"
  grep -qF 'quote"back\\slash'"'" "$T/.stdout" || fail "a backslash not doubled"
  ok ls -l latest "$top"
  grep -qF -- '-> target\377\n' "$T/.stdout" || fail "ls -l printed the link target raw"
  # the other listings that print names: snapshots, forget's groups, audit show
  ok snapshots
  grep -qF 'top\377\376' "$T/.stdout" || fail "snapshots printed the path raw"
  ok forget --keep-last 1 --dry-run
  grep -qF 'paths '"$T"'/top\377\376' "$T/.stdout" || fail "forget printed the group's path raw"
  ok audit show
  grep -qF 'top\377\376' "$T/.stdout" || fail "audit show printed an argument raw"
  ! LC_ALL=C grep -q $'\xff' "$T/.stdout" || fail "a non-UTF-8 byte reached the output"
  # on a terminal: ls's shell-escape quoting, which a shell reads back to the bytes
  run_cmd script -qec "$LL -r $REPO ls latest '$T'" /dev/null
  [[ $RC -eq 0 ]] || fail "ls under a pty exited $RC"
  ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x0c\x0e-\x1f\x7f]' "$T/.stdout" || fail "a control character reached the terminal"
  grep -qF "'/nl'\$'\\n''forged'" "$T/.stdout" || fail "newline not quoted as ls does"
  line=$(tr -d '\r' <"$T/.stdout" | grep -F "/esc'\$'")
  # shellcheck disable=SC2086
  eval "printf '%s' $line" >"$T/decoded"
  python3 -c '
import sys
assert open(sys.argv[1], "rb").read() == sys.argv[2].encode("utf-8", "surrogateescape") + b"/esc\x1b[31mred"' \
    "$T/decoded" "$top" || fail "the quoted name does not decode to the file's name"
  # diff, both ways
  python3 -c 'import os,sys; open(os.fsencode(sys.argv[1]) + b"/new\nline", "w").write("x")' "$top"
  ok backup "$top"
  ok diff "$(json_first_id)" latest
  grep -qF '+    ' "$T/.stdout" && grep -qF '/new\nline' "$T/.stdout" || fail "diff printed the new name raw"
  [[ $(grep -c '^+' "$T/.stdout") -eq 1 ]] || fail "diff: a forged line"
  run_cmd script -qec "$LL -r $REPO diff $(json_first_id) latest" /dev/null
  grep -qF "'/new'\$'\\n''line'" "$T/.stdout" || fail "diff on a terminal did not quote the name"
  # warnings and errors name things too: one line each, no control character
  ok restore latest --target "$T/r" --include $'/no\nsuch\e]0;pwned\a'
  ! grep -q '^such' <<<"$ERR" || fail "a warning spread over lines: $ERR"
  grep -qF "'/no\nsuch\e]0;pwned\a' matched nothing" <<<"$ERR" || fail "the warning did not escape the pattern: $ERR"
  expect_rc 18 ls latest $'/forged\nlifeline: error: fake'
  [[ $(wc -l <<<"$ERR") -eq 1 ]] || fail "an error spread over lines: $ERR"
  # host names, tags and the audit trail's outcomes are text from outside too
  ok backup "$top" --host $'evil\nhost' --tag $'t\e]0;x\a'
  expect_rc 18 restore $'latest:/no\nsuch' --target "$T/r7"
  for cmd in snapshots "audit show" "forget --keep-last 9 --dry-run" "key list"; do
    # shellcheck disable=SC2086
    ok $cmd
    ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/.stdout" || fail "$cmd: a control character reached the output"
    ! grep -qE '^(host|such)' "$T/.stdout" || fail "$cmd: a forged line: $OUT"
  done
}

# Snapshots taken DAYS ago (faketime), with ARGS to backup.
backup_days_ago() {
  local days=$1; shift
  run_cmd env ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" faketime -f "-${days}d" \
    "$LL" -r "$REPO" backup "$@"
  [[ $RC -eq 0 ]] || { echo "$ERR"; fail "backup ${days} days ago exited $RC"; }
}

t_forget_durations_count_from_the_newest_snapshot() {
  command -v faketime >/dev/null || { echo "skip: faketime not installed (scripts/install-deps)"; return 0; }
  mkdir -p "$T/src"; echo data >"$T/src/f"
  new_repo
  # backups stopped 20 days ago: one a day for the 30 days before that
  for d in $(seq 50 -1 20); do backup_days_ago "$d" "$T/src" --tag t; done
  ok forget --keep-within 10d12h --dry-run
  expect_out "keep .* within period"
  ok --json forget --keep-within 10d12h
  kept=$(json 'sum(1 for s in j if s["keep"])')
  [[ $kept -eq 11 ]] || fail "--keep-within 10d12h kept $kept snapshots, wanted 11 (10.5 days back from the newest)"
  # each --keep-within-* kind, and class policies from the configuration
  # (3.5 days back from the newest: the ones of 20, 21, 22 and 23 days ago)
  for k in hourly daily weekly monthly yearly; do
    ok --json forget --keep-within-$k 3d12h --dry-run
    kept=$(json 'sum(1 for s in j if s["keep"])')
    case $k in hourly|daily) [[ $kept -eq 4 ]] ;; *) [[ $kept -ge 1 && $kept -le 4 ]] ;; esac ||
      fail "--keep-within-$k 3d12h kept $kept"
    [[ $(json 'j[0]["keep"]') == True ]] || fail "--keep-within-$k removed the newest"
  done
  cat >"$T/lifeline.conf" <<CONF
[retention "projects"]
keep-within = 10d

[retention "daily"]
keep-within-daily = 5d
CONF
  export LIFELINE_CONFIG=$T/lifeline.conf
  rm -rf "$T/src2"; mkdir -p "$T/src2"; echo x >"$T/src2/f"
  for d in 40 36 30 25; do backup_days_ago "$d" "$T/src2" --class projects; done
  for d in 40 39 38 33 31; do backup_days_ago "$d" "$T/src" --class daily; done
  ok --json forget --class projects
  [[ $(json 'sum(1 for s in j if s["keep"])') -eq 2 ]] || fail "class keep-within = 10d: $OUT"
  ok --json forget --class daily
  [[ $(json 'sum(1 for s in j if s["keep"])') -eq 2 ]] || fail "class keep-within-daily = 5d: $OUT"
}

t_forget_never_removes_the_newest_unless_told() {
  mkdir -p "$T/src"; echo data >"$T/src/f"
  new_repo
  ok backup "$T/src" --tag monthly; ok backup "$T/src"; ok backup "$T/src"
  ok --json snapshots; newest=$(json 'j[-1]["short_id"]')
  ok forget --keep-tag monthly
  expect_out "keep +$newest .*newest snapshot of the group"
  ok --json snapshots; [[ $(json 'len(j)') -eq 2 ]] || fail "forget --keep-tag left $(json 'len(j)') snapshots"
  ok forget --keep-tag monthly --allow-remove-newest
  expect_out "remove +$newest"
  ok --json snapshots; [[ $(json 'len(j)') -eq 1 && $(json 'j[0]["tags"]') == "['monthly']" ]] ||
    fail "--allow-remove-newest did not remove the newest"
}

t_make_install_puts_binary_and_man_page_in_place() {
  local src page
  src=$(cd "$HERE/../.." && pwd)
  [[ -f $src/Makefile && -f $src/meson.build ]] || { echo "skip: no source tree next to the tests"; return 0; }
  # make install from the source tree, staged: a release build of its own in $T
  run_cmd make -C "$src" install DESTDIR="$T/stage" BUILD="$T/build"
  [[ $RC -eq 0 ]] || { echo "$OUT" | tail -20; echo "$ERR" | tail -20; fail "make install exited $RC"; }
  [[ -x $T/stage/usr/local/bin/lifeline ]] || fail "no $T/stage/usr/local/bin/lifeline"
  page=$T/stage/usr/local/share/man/man1/lifeline.1
  [[ -f $page ]] || fail "no man page in share/man/man1"
  "$T/stage/usr/local/bin/lifeline" --version | grep -q '^lifeline ' || fail "the installed binary does not run"
  # the page renders without a warning, and man reads it
  run_cmd groff -man -ww -z "$page"
  [[ $RC -eq 0 && -z $ERR ]] || fail "groff warns about lifeline.1: $ERR"
  run_cmd man -l "$page"
  [[ $RC -eq 0 ]] && grep -q "deduplicated" <<<"$OUT" || fail "man -l does not render the installed page"
  # every command of --help and every exit code is in it
  for cmd in $("$LL" --help | awk '/^Commands:/{f=1;next} /^$/{f=0} f{print $1}'); do
    grep -qx "\\.B $cmd" "$page" && grep -qx "\\.SS $cmd" "$page" || fail "command $cmd is not in the man page"
  done
  for code in 0 1 2 3 10 11 12 13 14 15 16 17 18 19 20 21 22 23; do
    grep -qx "\\.B $code" "$page" || fail "exit code $code is not in the man page"
  done
  # PREFIX is honoured
  run_cmd make -C "$src" install DESTDIR="$T/stage2" BUILD="$T/build" PREFIX=/usr
  [[ $RC -eq 0 && -x $T/stage2/usr/bin/lifeline && -f $T/stage2/usr/share/man/man1/lifeline.1 ]] ||
    fail "make install PREFIX=/usr did not install under /usr"
}
