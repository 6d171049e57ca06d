# Redis against a real redis-server: snapshots over the replication protocol,
# restore --replace with verification, authentication, damaged transfers, writes
# during the backup.

source "$HERE/redis.sh"

# A data set of every kind: strings, hashes, lists, sets, sorted sets, a stream with
# a consumer group, keys with expiry, three databases, a 24 MiB value.
redis_fill() {
  local p=$1
  rcli "$p" set greeting "hello" >/dev/null
  rcli "$p" set counter 42 >/dev/null
  rcli "$p" hset user:1 name ada lang c born 1815 >/dev/null
  rcli "$p" rpush queue a b c d e >/dev/null
  rcli "$p" sadd tags red green blue >/dev/null
  rcli "$p" zadd board 1 one 2.5 two 1e10 big >/dev/null
  rcli "$p" xadd events '*' kind login user ada >/dev/null
  rcli "$p" xadd events '*' kind logout user ada >/dev/null
  rcli "$p" xgroup create events workers 0 >/dev/null
  rcli "$p" xreadgroup group workers w1 count 1 streams events '>' >/dev/null
  rcli "$p" set session:1 token px 600000 >/dev/null
  rcli "$p" set session:2 token2 ex 3600 >/dev/null
  for i in $(seq 1 300); do echo "hset bighash f$i v$i"; echo "sadd bigset m$i"; echo "rpush biglist item$i"; done |
    rcli "$p" >/dev/null
  rcli "$p" -n 1 set db1key one >/dev/null
  rcli "$p" -n 1 hset db1hash a 1 >/dev/null
  rcli "$p" -n 5 set db5key five ex 7200 >/dev/null
  head -c $((24 << 20)) /dev/urandom | rcli "$p" -x set large >/dev/null
}

# What must survive: the dataset digest (every key and value in every database) and
# each key's remaining time to live.
redis_state() {
  local p=$1
  rcli "$p" debug digest
  for db in 0 1 5; do
    rcli "$p" -n $db --scan | sort | while read -r k; do echo "$db $k $(rcli "$p" -n $db type "$k")"; done
  done
}

t_redis_replace_roundtrip() {
  redis_skip && return 0
  trap redis_stop_all RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port" "enable-debug-command local"
  redis_setup_lifeline "$port" r
  redis_fill "$port"
  before=$(redis_state "$port")
  ttl1=$(rcli "$port" pttl session:1)
  expect_rcc 0 --json backup --source cache
  [[ $(json 'j["meta"]["keys"]["0"]') == 13 && $(json 'j["meta"]["keys"]["1"]') == 2 ]] ||
    fail "key counts per database not recorded: $OUT"
  [[ $(json 'j["meta"]["checksum_verified"]') == True ]] || fail "checksum not verified"
  [[ $(json 'j["meta"]["rdb_version"]') == 10 ]] || fail "RDB version not recorded"
  expect_rcc 0 check --read-data # every byte, and the RDB parsed again
  rcli "$port" flushall >/dev/null
  rcli "$port" set intruder yes >/dev/null
  expect_rcc 0 --json restore --source cache --replace
  expect_err "verified: db0 has 13 keys"
  [[ $(json 'j["replaced"] and j["verified"]') == True ]] || fail "restore --json does not report the replace: $OUT"
  after=$(redis_state "$port")
  [[ $before == "$after" ]] || { diff <(echo "$before") <(echo "$after"); fail "data differs after restore --replace"; }
  ttl2=$(rcli "$port" pttl session:1)
  (( ttl2 > 0 && ttl2 <= ttl1 && ttl1 - ttl2 < 60000 )) || fail "TTL of session:1 was $ttl1 ms, is $ttl2 ms"
  (( $(rcli "$port" -n 5 ttl db5key) > 7000 )) || fail "TTL in db5 lost"
  [[ -z $(rcli "$port" get intruder) ]] || fail "a key written after the backup survived"
  [[ ! -e $T/r/dump.rdb.lifeline-previous ]] || fail "the previous dump.rdb was not cleaned up"
  expect_rcc 0 audit show
  for step in stage stop swap start verify; do expect_out "restore-step --replace $step .*=> ok"; done
  echo "every key, value and TTL back after restore --replace; each step audited"
}

# A restore whose verification fails puts the previous data back.
t_redis_replace_rolls_back() {
  redis_skip && return 0
  trap redis_stop_all RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port"
  # a start command that brings the server up without loading our file
  redis_setup_lifeline "$port" r
  rcli "$port" set a 1 >/dev/null
  expect_rcc 0 backup --source cache
  rcli "$port" set b 2 >/dev/null
  for _ in $(seq 1 100); do [[ $(rcli "$port" save) == OK ]] && break; sleep 0.1; done # after the sync's fork
  [[ -f $T/r/dump.rdb ]] || fail "SAVE wrote no dump.rdb"
  sed -i "s|^start-command = .*|start-command = cp $T/r/dump.rdb.lifeline-previous $T/r/dump.rdb; $REDIS_SERVER $T/r.conf|" "$CONF"
  expect_rcc 20 restore --source cache --replace
  expect_err "previous data is back"
  [[ $(rcli "$port" get b) == 2 ]] || fail "the previous data is not back after a failed verification"
  expect_rcc 0 audit show
  expect_out "restore-step --replace verify .*=> after the restore, db0 has 2 keys"
  expect_out "restore-step --replace rollback .*=> ok"
  sed -i "s|^data-dir = .*|data-dir = $T|" "$CONF"
  expect_rcc 15 restore --source cache --replace
  expect_err "loads $T/r/dump.rdb, but data-dir is $T: nothing was changed"
  [[ $(rcli "$port" get b) == 2 ]] || fail "a refused --replace touched the server"
  sed -i "s|^data-dir = .*|data-dir = $T/r|; s|^stop-command = .*|stop-command = false|" "$CONF"
  expect_rcc 20 restore --source cache --replace
  expect_err "stop-command failed \\(exit code 1\\): false"
  [[ $(rcli "$port" get b) == 2 ]] || fail "the server changed although it was never stopped"
  [[ -z $(ls -A "$T/r" | grep lifeline) ]] || fail "a staged file was left in data-dir: $(ls -A "$T/r")"
  # the server does not come back: the previous file is put back all the same
  sed -i "s|^stop-command = .*|stop-command = redis-cli -p $port shutdown nosave|; s|^start-command = .*|start-command = false|" "$CONF"
  expect_rcc 20 restore --source cache --replace
  expect_err "restore failed \\(start-command failed .*\\) and so did the rollback"
  "$REDIS_SERVER" "$T/r.conf"
  for _ in $(seq 1 100); do rcli "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
  [[ $(rcli "$port" get b) == 2 ]] || fail "the previous dump.rdb was not put back when the server did not start"
  echo "failed verification rolled back; a wrong data-dir refused up front; a failing stop changes nothing;"
  echo "a server that does not start gets its previous file back"
}

t_redis_auth() {
  redis_skip && return 0
  trap redis_stop_all RETURN
  new_repo
  port=$(free_port)
  export REDISCLI_AUTH=s3cret-pass
  redis_start r "$port" "requirepass s3cret-pass" \
    "user backup on >backup-pass +psync +replconf +ping +info +auth ~* &*"
  rcli "$port" set k v >/dev/null
  echo s3cret-pass >"$T/redis.pass"
  redis_setup_lifeline "$port" r "password-file = $T/redis.pass"
  expect_rcc 0 backup --source cache
  echo backup-pass >"$T/acl.pass"
  sed -i "s|^password-file = .*|password-file = $T/acl.pass|" "$CONF"
  echo "user = backup" >>"$CONF"
  expect_rcc 0 backup --source cache
  echo wrong >"$T/acl.pass"
  expect_rcc 20 backup --source cache
  expect_err "Redis source cache \\(127.0.0.1:$port\\): authentication failed: WRONGPASS"
  grep -q wrong <<<"$ERR$OUT" && fail "the password appears in the output"
  sed -i '/^password-file/d; /^user = /d' "$CONF"
  expect_rcc 20 backup --source cache
  expect_err "NOAUTH"
  expect_err "hint: the server requires a password"
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == 2 ]] || fail "refused backups left snapshots"
  unset REDISCLI_AUTH
  echo "password and ACL user accepted; wrong or missing password refused clearly"
}

# A transfer cut off or with a flipped bit is refused and nothing is committed.
t_redis_damaged_stream_refused() {
  redis_skip && return 0
  trap 'redis_stop_all; kill $fake 2>/dev/null || true' RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port"
  for i in $(seq 1 2000); do echo "set key:$i value-$i"; done | rcli "$port" >/dev/null
  rcli "$port" save >/dev/null
  cp "$T/r/dump.rdb" "$T/good.rdb"
  fport=$(free_port)
  redis_setup_lifeline "$fport" r
  for form in len eof; do
    for mode in ok truncate flip; do
      READY=$T/ready python3 "$HERE/fake_redis.py" "$fport" "$T/good.rdb" "$mode" "$form" &
      fake=$!
      for _ in $(seq 1 100); do [[ -s $T/ready ]] && break; sleep 0.05; done
      rm -f "$T/ready"
      if [[ $mode == ok ]]; then
        expect_rcc 0 backup --source cache
      else
        expect_rcc 13 backup --source cache
        expect_err "RDB stream: (ends early|CRC-64 checksum mismatch|.*)"
      fi
      kill $fake; wait $fake 2>/dev/null || true
    done
  done
  expect_rcc 0 --json snapshots
  [[ $(json 'len(j)') == 2 ]] || fail "damaged transfers left snapshots ($(json 'len(j)') in all)"
  echo "truncated and bit-flipped transfers refused in both forms; intact ones accepted"
}

# Clients write all through the backup; the restored data is one consistent moment.
t_redis_backup_while_writing() {
  redis_skip && return 0
  trap 'redis_stop_all; kill $writer 2>/dev/null || true' RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port"
  redis_setup_lifeline "$port" r
  # each transaction adds 1 to c and one element to l: equal in any consistent state
  python3 - "$port" <<'PY' &
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
batch = b'*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n*1\r\n$4\r\nEXEC\r\n' * 200
while True:
    s.sendall(batch)
    s.recv(1 << 20)
PY
  writer=$!
  sleep 0.5
  expect_rcc 0 --json backup --source cache
  offset=$(json 'j["meta"]["repl_offset"]')
  sleep 0.3
  kill $writer; wait $writer 2>/dev/null || true
  expect_rcc 0 restore --source cache --target "$T/out"
  port2=$(free_port)
  mkdir -p "$T/copy"; cp "$T/out/dump.rdb" "$T/copy/dump.rdb"
  redis_start copy "$port2"
  c=$(rcli "$port2" get c); l=$(rcli "$port2" llen l); now=$(rcli "$port" get c)
  [[ -n $c && $c -gt 0 && $c == "$l" ]] || fail "restored state is not one moment: c=$c, llen=$l"
  (( now > c )) || fail "writes did not continue through the backup (c=$c, server now $now)"
  echo "c = llen(l) = $c in the snapshot (server went on to $now); offset $offset"
}

# --aof: the AOF folder backed up as files and restored where a server loads it;
# --replace refuses a data-dir that holds one.
t_redis_aof() {
  redis_skip && return 0
  trap redis_stop_all RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port" "appendonly yes" "appendfsync always"
  redis_setup_lifeline "$port" r
  for i in $(seq 1 500); do echo "set k$i v$i"; done | rcli "$port" >/dev/null
  rcli "$port" rpush l a b c >/dev/null
  expect_rcc 0 backup --source cache --aof
  expect_err "AOF: "
  expect_rcc 0 restore --source cache --aof --target "$T/copy"
  ls "$T/copy/appendonlydir"/*.manifest >/dev/null 2>&1 || fail "no AOF manifest restored"
  port2=$(free_port)
  redis_start copy "$port2" "appendonly yes"
  [[ $(rcli "$port2" dbsize) == 501 && $(rcli "$port2" lrange l 0 -1 | tr '\n' ' ') == "a b c " ]] ||
    fail "a server on the restored AOF folder has $(rcli "$port2" dbsize) keys"
  expect_rcc 0 backup --source cache
  expect_rcc 2 restore --source cache --replace
  expect_err "uses AOF"
  [[ $(rcli "$port" dbsize) == 501 ]] || fail "a refused --replace touched the server"
  echo "AOF folder backed up and restored (501 keys loaded from it); --replace refused over AOF"
}

# The disk-based transfer ($<length>) from a real server, over a unix socket; and
# servers that refuse: an ACL user without psync, a replica that lost its master.
t_redis_transfer_forms_and_refusals() {
  redis_skip && return 0
  trap redis_stop_all RETURN
  new_repo
  port=$(free_port)
  redis_start r "$port" "repl-diskless-sync no" "unixsocket $T/redis.sock" "unixsocketperm 700" \
    "user nosync on >pw +ping +info +auth ~*"
  for i in $(seq 1 300); do echo "set k$i v$i"; done | rcli "$port" >/dev/null
  redis_setup_lifeline "$port" r
  sed -i "s|^address = .*|address = unix:$T/redis.sock|" "$CONF"
  expect_rcc 0 --json backup --source cache
  [[ $(json 'j["meta"]["transfer"]') == disk && $(json 'j["meta"]["keys"]["0"]') == 300 ]] ||
    fail "disk-based transfer over the unix socket not recorded as such: $OUT"
  echo pw >"$T/pw"
  printf 'user = nosync\npassword-file = %s\n' "$T/pw" >>"$CONF"
  expect_rcc 20 backup --source cache
  expect_err "NOPERM"
  expect_err "hint: the ACL user needs \\+psync"
  # a replica whose master is gone cannot serve a snapshot
  dead=$(free_port)
  port2=$(free_port)
  redis_start lost "$port2" "replicaof 127.0.0.1 $dead"
  sed -i "s|^address = .*|address = 127.0.0.1:$port2|; /^user = /d; /^password-file = /d" "$CONF"
  expect_rcc 20 backup --source cache
  expect_err "NOMASTERLINK"
  expect_err "hint: this server is a replica that lost its master"
  echo "disk transfer over a unix socket; NOPERM and NOMASTERLINK refused with hints"
}
