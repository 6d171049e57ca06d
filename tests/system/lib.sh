# lib.sh — the system-test harness: each test runs in its own temporary folder with
# its own repository, state folder and password; helpers assert on exit codes and
# output. Sourced by tests/system/run.
set -u

: "${LL:?LL must name the lifeline binary}"
export LIFELINE_PASSWORD=correct-horse-battery
unset LIFELINE_REPOSITORY LIFELINE_CONFIG LIFELINE_PASSWORD_FILE LIFELINE_KEY_FILE

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TREESIG="python3 $HERE/treesig.py"

fail() { echo "    FAIL: $*" >&2; return 1; }

# run_cmd CMD...: output in $OUT/$ERR, code in $RC.
run_cmd() {
  set +e
  "$@" >"$T/.stdout" 2>"$T/.stderr"
  RC=$?
  set -e
  OUT=$(cat "$T/.stdout")
  ERR=$(cat "$T/.stderr")
}
# ll ARGS...: runs lifeline on this test's repository.
ll() { run_cmd "$LL" -r "$REPO" "$@"; }
expect_rc() { # CODE ARGS... (with RUNNER=fn: through another runner than ll)
  local want=$1; shift
  "${RUNNER:-ll}" "$@"
  [[ $RC -eq $want ]] || { echo "--- stdout:"; echo "$OUT"; echo "--- stderr:"; echo "$ERR"; fail "lifeline $* exited $RC, wanted $want"; }
}
ok() { expect_rc 0 "$@"; }
# llc ARGS: the copy of lifeline in $T (where a server's user can run it) with the
# test's configuration $CONF; expect_rcc CODE ARGS: expect_rc through it.
llc() { run_cmd "$T/lifeline" -c "$CONF" "$@"; }
expect_rcc() { RUNNER=llc expect_rc "$@"; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
expect_err() { # PATTERN: stderr must match
  grep -qE -- "$1" <<<"$ERR" || { echo "--- stderr:"; echo "$ERR"; fail "stderr does not match /$1/"; }
}
expect_out() {
  grep -qE -- "$1" <<<"$OUT" || { echo "--- stdout:"; echo "$OUT"; fail "stdout does not match /$1/"; }
}
json() { # PYTHON-EXPR over j = parsed stdout
  python3 -c "import json,sys; j=json.loads(sys.stdin.read()); print($1)" <<<"$OUT"
}
new_repo() { ok init --kdf-memory 8 --kdf-time 1; }

# A sample tree: nested folders, an empty folder, big and small files, duplicates,
# a symlink, a hard link, a fifo, setuid and sticky modes, odd names.
make_sample() {
  local d=$1
  mkdir -p "$d/docs/nested/deeper" "$d/empty" "$d/bin" "$d/shared"
  for i in $(seq 1 40); do echo "line $i of a text file" >"$d/docs/file$i.txt"; done
  head -c 3000000 /dev/urandom >"$d/docs/nested/big.bin"
  cp "$d/docs/nested/big.bin" "$d/docs/nested/deeper/copy.bin"
  printf 'x%.0s' $(seq 1 5000) >"$d/docs/nested/deeper/xs"
  head -c 4194304 /dev/urandom >"$d/docs/nested/exactly-4MiB.bin"   # O_DIRECT staging boundary
  : >"$d/docs/zero-length"
  echo '#!/bin/sh' >"$d/bin/tool"; chmod 4755 "$d/bin/tool"
  chmod 1777 "$d/shared"
  ln -s ../docs/file1.txt "$d/bin/link"
  ln "$d/docs/file2.txt" "$d/bin/hardlink"
  mkfifo "$d/bin/fifo"
  echo odd >"$d/docs/name with spaces & ünïcödé"
  chmod 640 "$d/docs/file3.txt"
  touch -d '2001-02-03 04:05:06.789' "$d/docs/file4.txt"
  if [[ $(id -u) -eq 0 ]]; then chown 1234:5678 "$d/docs/file5.txt"; chown -h 42:43 "$d/bin/link"; fi
}

# Packs, index files and snapshots of the repository, by path.
first_file() { find "$REPO/$1" -type f | sort | head -1; }
flip_byte() { # FILE OFFSET: xor one byte
  python3 - "$1" "$2" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, 'rb').read())
if off < 0: off += len(b)
b[off] ^= 0x01
open(p, 'wb').write(bytes(b))
PY
}

# PID: until the process has stopped itself at a LIFELINE_TEST_PAUSE point (or 60 s)
wait_stopped() {
  for _ in $(seq 1 600); do
    [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]] && return 0
    kill -0 "$1" 2>/dev/null || fail "process $1 ended instead of pausing (no pause point?)"
    sleep 0.1
  done
  fail "process $1 did not pause in time"
}

# DIR SIZE: mounts a tmpfs of SIZE at DIR; says "skipped" and returns 1 where that is
# not possible (not root, no mount rights). The caller unmounts (trap ... RETURN).
small_tmpfs() {
  [[ $(id -u) -eq 0 ]] || { echo "skipped: needs root to mount a small tmpfs"; return 1; }
  mkdir -p "$1"
  mount -t tmpfs -o size="$2" tmpfs "$1" || { echo "skipped: cannot mount tmpfs here"; return 1; }
}

# cached_pct FILE...: how much of the files is in the page cache, in percent (mincore).
cached_pct() {
  python3 - "$@" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
page, total, cached = os.sysconf('SC_PAGE_SIZE'), 0, 0
for path in sys.argv[1:]:
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY)
    addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
    os.close(fd)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit('mmap %s: %s' % (path, os.strerror(ctypes.get_errno())))
    n = (size + page - 1) // page
    vec = ctypes.create_string_buffer(n)
    if libc.mincore(addr, size, vec) != 0:
        sys.exit('mincore: ' + os.strerror(ctypes.get_errno()))
    libc.munmap(addr, size)
    total += n
    cached += sum(1 for b in vec.raw if b & 1)
print(cached * 100 // max(total, 1))
PY
}
