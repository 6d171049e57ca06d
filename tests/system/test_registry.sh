# The registry probe against real registries (Debian's docker-registry): the plain
# GET /v2/ check, and mirror-of: the same tags and manifest digests as the upstream,
# a missing tag, a different digest, a missing repository, the mirror down, the
# upstream down, a mirror that accepts and never answers (the deadline), the cap on
# digests compared. Driven through `lifeline probe SERVICE`, which builds the probe
# from the configuration as the agent does.

source "$HERE/registry.sh"

# reg_pair: an upstream and a mirror on free ports ($UP, $MIR: their URLs) and a
# configuration with [service "mirror"] comparing repositories app and lib/base.
reg_pair() {
  local up_port mir_port
  up_port=$(free_port); mir_port=$(free_port)
  registry_start upstream "$up_port"
  registry_start mirror "$mir_port"
  UP=http://127.0.0.1:$up_port MIR=http://127.0.0.1:$mir_port
  CONF=$T/lifeline.conf
  cat >"$CONF" <<CONF
[service "mirror"]
probe = registry:$MIR/
mirror-of = $UP
repositories = app lib/base
interval = 5s
timeout = 4s
[service "upstream"]
probe = registry:$UP
CONF
}
# reg_fill URL: app 1.0 1.1 latest, lib/base 3 bookworm (as on the upstream)
reg_fill() {
  registry_push "$1" app one 1.0 1.1 >/dev/null
  registry_push "$1" app two latest >/dev/null
  registry_push "$1" lib/base base 3 bookworm >/dev/null
}
probe() { run_cmd "$LL" -c "$CONF" probe "$@"; }
expect_probe() { # CODE STATE DETAIL-PATTERN SERVICE
  probe --json "$4"
  [[ $RC -eq $1 ]] || { echo "$OUT"; echo "$ERR"; fail "probe $4 exited $RC, wanted $1"; }
  [[ $(json 'j["state"]') == "$2" ]] || { echo "$OUT"; fail "probe $4: state is not $2"; }
  grep -qE -- "$3" <<<"$(json 'j["detail"]')" || { echo "$OUT"; fail "probe $4: detail does not match /$3/"; }
}

t_registry_plain_v2() {
  registry_skip && return 0
  reg_pair
  expect_probe 0 healthy 'HTTP 200 from /v2/' upstream
  [[ $(json 'j["probe"]') == registry ]] || fail "kind is not registry"
  registry_stop upstream
  expect_probe 20 failed 'Connection refused|connect' upstream
  expect_err "service upstream: probe failed"
}

t_registry_mirror_matches() {
  registry_skip && return 0
  reg_pair
  reg_fill "$UP"; reg_fill "$MIR"
  registry_push "$MIR" app old 0.9 >/dev/null   # extra tags on the mirror are fine
  expect_probe 0 healthy 'mirror matches upstream: 2 repositories, 5 tags, digests equal' mirror
  probe mirror
  [[ $RC -eq 0 ]] || fail "text output exited $RC"
  expect_out '^mirror: healthy \([0-9]+ ms\): mirror matches upstream'
}

t_registry_mirror_lacks_tag() {
  registry_skip && return 0
  reg_pair
  reg_fill "$UP"; reg_fill "$MIR"
  registry_push "$UP" app three 1.2 >/dev/null
  expect_probe 0 degraded '^mirror lacks app:1\.2$' mirror
  # a whole repository missing names its first tag
  registry_push "$UP" tools t 1 >/dev/null
  sed -i 's/^repositories = .*/repositories = tools app/' "$CONF"
  expect_probe 0 degraded '^mirror lacks tools:1 \(no repository tools\)' mirror
  # a repository the upstream does not have is a configuration mistake, said so
  sed -i 's/^repositories = .*/repositories = nothere/' "$CONF"
  expect_probe 0 degraded 'upstream has no repository nothere' mirror
}

t_registry_mirror_digest_differs() {
  registry_skip && return 0
  reg_pair
  reg_fill "$UP"; reg_fill "$MIR"
  registry_push "$MIR" app stale latest >/dev/null   # the mirror's latest is another image
  expect_probe 0 degraded '^app:latest differs \(mirror sha256:[0-9a-f]{12}, upstream sha256:[0-9a-f]{12}\)$' mirror
}

# The mirror down is a failure of the service; the upstream down is not the mirror's
# fault (nothing to restart there) but nothing is proven: degraded, saying why.
t_registry_mirror_or_upstream_down() {
  registry_skip && return 0
  reg_pair
  reg_fill "$UP"; reg_fill "$MIR"
  registry_stop upstream
  expect_probe 0 degraded '^upstream: .*(refused|connect).*\(tags of app\); the mirror is not compared' mirror
  registry_stop mirror
  expect_probe 20 failed '^mirror: .*(refused|connect)' mirror
}

# A mirror that accepts connections and never answers: failed within the timeout.
t_registry_mirror_silent() {
  registry_skip && return 0
  reg_pair
  local port; port=$(free_port)
  python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
open(sys.argv[2], "w").write("up")
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$port" "$T/silent.up" &
  local silent=$!
  for _ in $(seq 1 100); do [[ -e $T/silent.up ]] && break; sleep 0.05; done
  sed -i "s|^probe = registry:$MIR/|probe = registry:http://127.0.0.1:$port|; s/^timeout = 4s/timeout = 1s/" "$CONF"
  local start=$(date +%s%N)
  expect_probe 20 failed '^mirror: no answer within the timeout' mirror
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  kill "$silent"; wait "$silent" 2>/dev/null || true
  [[ $ms -lt 2500 ]] || fail "the probe took ${ms} ms with a 1 s timeout"
}

# More tags than the cap: presence of all is checked, digests of 200, and the detail
# says so; a tag missing beyond the cap is still found.
t_registry_mirror_cap() {
  registry_skip && return 0
  reg_pair
  local tags=() i
  for i in $(seq -w 1 230); do tags+=("v$i"); done
  registry_push "$UP" app same "${tags[@]}" >/dev/null
  registry_push "$MIR" app same "${tags[@]}" >/dev/null
  sed -i 's/^repositories = .*/repositories = app/' "$CONF"
  expect_probe 0 healthy '230 tags; digests of 200 compared \(at most 200 per probe\)' mirror
  registry_push "$UP" app same v999 >/dev/null
  expect_probe 0 degraded '^mirror lacks app:v999$' mirror
}

# The configuration keys: each misuse is refused naming file and line.
t_registry_config_refused() {
  CONF=$T/bad.conf
  printf '[service "m"]\nprobe = http://127.0.0.1:1/\nmirror-of = http://127.0.0.1:2\nrepositories = app\n' >"$CONF"
  RUNNER=probe expect_rc 15 m
  expect_err "bad.conf:4: .*mirror-of needs a registry: probe"
  printf '[service "m"]\nprobe = registry:http://127.0.0.1:1/\nmirror-of = http://127.0.0.1:2\n' >"$CONF"
  RUNNER=probe expect_rc 15 m
  expect_err "bad.conf:3: .*mirror-of needs repositories"
  printf '[service "m"]\nprobe = registry:http://127.0.0.1:1/\nmirror-of = http://127.0.0.1:2\nrepositories = ../x\n' >"$CONF"
  RUNNER=probe expect_rc 15 m
  expect_err "bad.conf:4: repositories: '../x' is not a repository name"
}
