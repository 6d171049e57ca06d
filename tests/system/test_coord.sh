# Coordination on a real etcd (Debian's etcd-server 3.4): leader election, fencing
# epochs, lease loss by kill -9 and by SIGSTOP, endpoint failover, deadlines when the
# store is gone, seize, members' status. coord_cli (built with the tests, next to the
# binary) drives src/coord/coord.h and prints one JSON line per call.

source "$HERE/etcd.sh"
CLI=$(dirname "$LL")/coord_cli

coord_setup() { # N: an etcd cluster of N members and $T/coord.conf naming them all
  etcd_skip && return 1
  [[ -x $CLI ]] || fail "no $CLI (build with -Dtests=true)"
  etcd_start "$1"
  printf '[coordination]\nbackend = etcd\nendpoints = %s\n' "$ETCD_ENDPOINTS" >"$T/coord.conf"
}
cli() { run_cmd "$CLI" "$T/coord.conf" "$@"; }  # (options before the command)
# jl FILE PYTHON-EXPR: over ls = the JSON lines of FILE
jl() { python3 -c "import json,sys; ls=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print($2)" "$1"; }
# until_line FILE PYTHON-COND SECS: until a line l of FILE satisfies COND
until_line() {
  local i
  for i in $(seq 1 $(($3 * 10))); do
    [[ $(jl "$1" "any(($2) for l in ls)" 2>/dev/null) == True ]] && return 0
    sleep 0.1
  done
  echo "--- $1:"; cat "$1"; fail "no line of $1 with $2 within $3 s"
}
# hold_bg NAME GROUP MEMBER TTL_MS SECS: a coord_cli holding the key, output in $T/NAME.log
hold_bg() {
  "$CLI" "$T/coord.conf" --deadline 1500 hold "$2" "$3" "$4" "$5" >"$T/$1.log" 2>&1 &
  eval "PID_$1=$!"
  etcd_track $!
}

t_coord_etcd_one_winner_and_epochs_increase() {
  coord_setup 1 || return 0
  local i pids=()
  for i in 1 2 3 4 5; do "$CLI" "$T/coord.conf" acquire main-db "pg-$i" 5000 >"$T/c$i.out" & pids+=($!); done
  wait "${pids[@]}"
  cat "$T"/c?.out >"$T/all.out"
  [[ $(jl "$T/all.out" "len(ls)") == 5 ]] || fail "not every contender answered"
  [[ $(jl "$T/all.out" "sum(1 for l in ls if l['rc'] == 0)") == 5 ]] || { cat "$T/all.out"; fail "a contender failed"; }
  [[ $(jl "$T/all.out" "sum(1 for l in ls if l['won'])") == 1 ]] || { cat "$T/all.out"; fail "not exactly one winner"; }
  # every loser names the winner and its epoch
  [[ $(jl "$T/all.out" "len({(l['leader']['holder'], l['leader']['epoch']) for l in ls})") == 1 ]] ||
    { cat "$T/all.out"; fail "contenders disagree on the holder"; }
  local winner epoch
  winner=$(jl "$T/all.out" "[l['leader']['holder'] for l in ls if l['won']][0]")
  epoch=$(jl "$T/all.out" "[l['epoch'] for l in ls if l['won']][0]")
  cli leader main-db
  [[ $(json "j['leader']['holder'], j['leader']['epoch']") == "$winner $epoch" ]] || fail "leader: $OUT"
  # the etcd key is there, under a lease, with our JSON
  ectl get /lifeline/main-db/leader --print-value-only | grep -q "\"member\":\"$winner\"" || fail "etcd key"
  # epochs strictly increase over take / release / take, whoever takes it
  printf 'acquire g2 a 3000\nrelease g2\nacquire g2 b 3000\nrelease g2\nacquire g2 a 3000\nseize g2 c 3000\nacquire g2 c 3000\n' |
    "$CLI" "$T/coord.conf" run >"$T/seq.out"
  [[ $(jl "$T/seq.out" "all(l['rc'] == 0 for l in ls)") == True ]] || { cat "$T/seq.out"; fail "a call failed"; }
  jl "$T/seq.out" "[l['epoch'] for l in ls if l['op'] in ('acquire', 'seize')]" >"$T/epochs"
  python3 -c "import sys; e=eval(open(sys.argv[1]).read()); assert e[0] < e[1] < e[2] < e[3] == e[4] and e[0] > $epoch, e" "$T/epochs" ||
    fail "epochs do not strictly increase: $(cat "$T/epochs")"
}

t_coord_etcd_killed_holder_loses_the_key_after_its_ttl() {
  coord_setup 1 || return 0
  hold_bg a g pg-a 3000 60
  until_line "$T/a.log" "l['op'] == 'acquire' and l['won']" 10
  local ea
  ea=$(jl "$T/a.log" "[l['epoch'] for l in ls if l['op'] == 'acquire' and l['won']][0]")
  hold_bg b g pg-b 3000 60
  sleep 3.5 # three renewals of a, three attempts of b: none may win while a lives
  until_line "$T/a.log" "l['op'] == 'renew' and l['rc'] == 0" 1
  [[ $(jl "$T/b.log" "len(ls) >= 3 and not any(l.get('won') for l in ls)") == True ]] ||
    { cat "$T/b.log"; fail "pg-b won while pg-a held the key"; }
  [[ $(jl "$T/a.log" "all(l['rc'] == 0 for l in ls)") == True ]] || { cat "$T/a.log"; fail "a renewal failed"; }
  local killed=$(date +%s%N)
  kill -9 "$PID_a"
  until_line "$T/b.log" "l.get('won')" 10
  local took=$(( ($(date +%s%N) - killed) / 1000000 ))
  echo "pg-b won ${took} ms after pg-a was killed (ttl 3000 ms)"
  [[ $took -ge 1500 ]] || fail "pg-b won ${took} ms after the kill: before the lease could end"
  [[ $(jl "$T/b.log" "[l['epoch'] for l in ls if l.get('won')][0] > $ea") == True ]] || fail "epoch did not increase"
}

t_coord_etcd_paused_holder_finds_its_key_gone() {
  coord_setup 1 || return 0
  hold_bg a g pg-a 3000 60
  until_line "$T/a.log" "l['op'] == 'renew' and l['rc'] == 0" 10
  kill -STOP "$PID_a"
  local lines
  lines=$(jl "$T/a.log" "len(ls)")
  sleep 4.5 # longer than the lease
  cli acquire g pg-b 3000
  [[ $(json "j['won']") == True ]] || fail "pg-b could not take the key of a paused holder: $OUT"
  local eb
  eb=$(json "j['epoch']")
  kill -CONT "$PID_a"
  # the first call after the pause is a renewal, and it says the key is gone (the caller fences)
  for _ in $(seq 1 50); do [[ $(jl "$T/a.log" "len(ls)") -gt $lines ]] && break; sleep 0.1; done
  [[ $(jl "$T/a.log" "ls[$lines]['op'], ls[$lines]['rc']") == "renew 18" ]] ||
    { cat "$T/a.log"; fail "the renewal after the pause did not report the key gone"; }
  cli leader g
  [[ $(json "j['leader']['holder'], j['leader']['epoch']") == "pg-b $eb" ]] || fail "leader: $OUT"
}

t_coord_etcd_member_lost_then_all_lost_calls_keep_their_deadline() {
  coord_setup 3 || return 0
  cli acquire g pg-a 5000
  [[ $(json "j['won']") == True ]] || fail "$OUT"
  # member 1 (the first endpoint) paused: it accepts connections and never answers;
  # each call gives it its share of the deadline, then asks the next
  etcd_pause 1
  for _ in $(seq 1 20); do cli --deadline 3000 leader g; [[ $RC == 0 ]] && break; done
  printf 'leader g\nstatus-list g\n' | "$CLI" "$T/coord.conf" --deadline 3000 run >"$T/paused.out"
  [[ $(jl "$T/paused.out" "all(l['rc'] == 0 and l['ms'] <= 3200 for l in ls)") == True ]] ||
    { cat "$T/paused.out"; fail "a paused member was not passed over within the deadline"; }
  # member 1 stopped: refused, the next endpoint answers
  etcd_stop 1
  for _ in $(seq 1 100); do cli leader g; [[ $RC == 0 ]] && break; sleep 0.1; done
  printf 'leader g\nacquire g pg-b 5000\nstatus-put g pg-b 5000 {"role":"standby"}\nstatus-list g\nacquire h pg-c 5000\nrenew h\nrelease h\n' |
    "$CLI" "$T/coord.conf" run >"$T/one-down.out"
  [[ $(jl "$T/one-down.out" "all(l['rc'] == 0 for l in ls) and len(ls) == 7") == True ]] ||
    { cat "$T/one-down.out"; fail "calls failed with one member of three down"; }
  # every member paused: each call fails by its deadline (within 200 ms)
  etcd_pause 2; etcd_pause 3
  printf 'leader g\nacquire g pg-z 3000\nstatus-list g\ndeadline 700\nleader g\n' |
    "$CLI" "$T/coord.conf" --deadline 1500 run >"$T/paused-all.out" || true
  cat "$T/paused-all.out"
  [[ $(jl "$T/paused-all.out" "len(ls) == 4 and all(l['rc'] == 20 and l['ms'] <= l['budget_ms'] + 200 for l in ls)") == True ]] ||
    fail "calls did not fail by their deadline with every member paused"
  # every member gone: refused at once
  etcd_stop 2; etcd_stop 3
  printf 'leader g\nacquire g pg-z 3000\n' | "$CLI" "$T/coord.conf" --deadline 1500 run >"$T/down.out" || true
  [[ $(jl "$T/down.out" "len(ls) == 2 and all(l['rc'] == 20 and l['ms'] <= 1700 for l in ls)") == True ]] ||
    { cat "$T/down.out"; fail "calls did not fail by their deadline with every member down"; }
}

t_coord_etcd_seize_and_a_foreign_key() {
  coord_setup 1 || return 0
  hold_bg a g pg-a 3000 60
  until_line "$T/a.log" "l['op'] == 'acquire' and l['won']" 10
  local ea eb
  ea=$(jl "$T/a.log" "[l['epoch'] for l in ls if l['won']][0]")
  cli seize g pg-b 3000
  [[ $RC == 0 ]] || fail "seize: $OUT"
  eb=$(json "j['epoch']")
  [[ $eb -gt $ea ]] || fail "seize did not make a higher epoch ($eb after $ea)"
  cli leader g
  [[ $(json "j['leader']['holder']") == pg-b ]] || fail "$OUT"
  # the old holder learns at its next renewal that the key is gone
  until_line "$T/a.log" "l['op'] == 'renew' and l['rc'] == 18" 5
  # a key written by something else (not our JSON, no lease): held by someone unnamed;
  # nobody acquires it, seize removes it
  ectl put /lifeline/odd/leader 'not json' >/dev/null
  cli leader odd
  [[ $(json "j['leader']['holder'] == '' and j['leader']['epoch'] > 0") == True ]] || fail "$OUT"
  cli acquire odd pg-a 3000
  [[ $RC == 0 && $(json "j['won']") == False ]] || fail "$OUT"
  cli seize odd pg-a 3000
  [[ $RC == 0 ]] || fail "$OUT"
  cli leader odd
  [[ $(json "j['leader']['holder']") == pg-a ]] || fail "$OUT"
}

t_coord_etcd_status_lives_with_its_lease() {
  coord_setup 1 || return 0
  printf 'status-put main-db pg-a 2000 {"role":"primary","lsn":"0/3000060"}\nstatus-put main-db pg-b 2000 {"role":"standby"}\nstatus-put other pg-c 2000 {}\nstatus-put main-db pg-b 2000 {"role":"fenced"}\nstatus-list main-db\n' |
    "$CLI" "$T/coord.conf" run >"$T/st.out"
  [[ $(jl "$T/st.out" "all(l['rc'] == 0 for l in ls)") == True ]] || { cat "$T/st.out"; fail "a call failed"; }
  [[ $(jl "$T/st.out" "[(m['member'], json.loads(m['json'])['role']) for m in ls[-1]['members']]") == "[('pg-a', 'primary'), ('pg-b', 'fenced')]" ]] ||
    { cat "$T/st.out"; fail "status list"; }
  # one lease per (agent, group), refreshed by each put: a process that keeps putting keeps it
  printf 'status-put main-db pg-a 2000 {}\nsleep 1500\nstatus-put main-db pg-a 2000 {}\nsleep 1500\nstatus-list main-db\n' |
    "$CLI" "$T/coord.conf" run >"$T/kept.out"
  [[ $(jl "$T/kept.out" "[m['member'] for m in ls[-1]['members']]") == "['pg-a']" ]] || { cat "$T/kept.out"; fail "kept"; }
  sleep 3 # no agent puts any more: every status is gone with its lease
  cli status-list main-db
  [[ $(json "j['members']") == "[]" ]] || fail "status outlived its lease: $OUT"
}
