# lifeline incidents: the watch agent's incidents read from and updated in the state
# database. There is no agent here: state_seed (built with the tests, next to the
# binary) writes incidents through the state API as the agent will.

SEED=$(dirname "$LL")/state_seed
seed() {
  [[ -x $SEED ]] || fail "no $SEED (build with -Dtests=true)"
  mkdir -p "$LIFELINE_STATE_DIR"
  "$SEED" "$LIFELINE_STATE_DIR/state.db"
}
li() { run_cmd "$LL" "$@"; }

t_incidents_without_a_database_says_so_and_creates_nothing() {
  RUNNER=li expect_rc 18 incidents
  expect_err "no state database at $LIFELINE_STATE_DIR/state.db \(has lifeline watch run here\?\)"
  RUNNER=li expect_rc 18 incidents show 1
  RUNNER=li expect_rc 18 incidents update 1 --status identified --message x
  [[ ! -e $LIFELINE_STATE_DIR ]] || fail "a read created $LIFELINE_STATE_DIR"
  # [watch] state-dir of the configuration wins over the environment
  mkdir -p "$T/conf-state"
  printf '[watch]\nstate-dir = %s\n' "$T/conf-state" >"$T/l.conf"
  RUNNER=li expect_rc 18 -c "$T/l.conf" incidents
  expect_err "no state database at $T/conf-state/state.db"
  [[ ! -e $T/conf-state/state.db ]] || fail "a read created the database"
}

t_incidents_list_show_and_formats() {
  seed
  RUNNER=li ok incidents
  expect_out '^3 +backend +investigating .* open .*backend failed: connection refused'
  expect_out '^2 +cache +resolved .* 4\.0s .*cache degraded'
  expect_out '^1 +backend +resolved .* 15\.0s .*HTTP 500'
  expect_out '1 open, 3 in all; MTTR 9\.5s; recovery success 50% \(1 of 2\); false positives 33% \(1 of 3\)'
  # newest first, --open, --since
  RUNNER=li ok --json incidents
  [[ $(json '[i["id"] for i in j["incidents"]]') == "[3, 2, 1]" ]] || fail "order: $OUT"
  [[ $(json 'j["metrics"]["mttr_seconds"]') == "9.5" ]] || fail "mttr: $OUT"
  [[ $(json 'j["metrics"]["recovery_success_rate"]') == "0.5" ]] || fail "rate: $OUT"
  RUNNER=li ok incidents --open --json
  [[ $(json '[i["id"] for i in j["incidents"]]') == "[3]" ]] || fail "--open: $OUT"
  RUNNER=li ok incidents --since 1h --json
  [[ $(json '[i["id"] for i in j["incidents"]]') == "[3]" ]] || fail "--since 1h: $OUT"
  RUNNER=li ok incidents --since 150m --json
  [[ $(json '[i["id"] for i in j["incidents"]]') == "[3, 2]" ]] || fail "--since 150m: $OUT"
  # show: text (controls escaped), json, markdown
  RUNNER=li ok incidents show 3
  expect_out 'detected +.*\(6\.0s after opening\)'
  expect_out 'action +restart \| tee log\\nsecond line'
  expect_out 'notification +dead-lettered at oncall: HTTP 404'
  RUNNER=li ok incidents show 1 --format json
  [[ $(json '(float(j["ttr_seconds"]), j["actions"], len(j["timeline"]), j["notifications"][0]["message"])') == \
     "(15.0, 1, 7, 'delivered to oncall')" ]] || fail "show json: $OUT"
  RUNNER=li ok --json incidents show 3
  [[ $(json '(j["closed_ms"], j["timeline"][2]["message"])') == "(None, 'restart | tee log\nsecond line')" ]] ||
    fail "show --json: $OUT"
  RUNNER=li ok incidents show 3 --format markdown
  for h in '# Post-incident review: incident 3' '## Timeline' '## Detection gaps' '## 5 whys' \
           '## People / Process / Technology' '## Action items'; do
    grep -qF -- "$h" <<<"$OUT" || fail "markdown lacks $h"
  done
  expect_out '\| action \|  \| restart \\\| tee log<br>second line \|'
  # bad input
  RUNNER=li expect_rc 18 incidents show 99
  expect_err 'no incident 99'
  RUNNER=li expect_rc 2 incidents show 3 --format html
  RUNNER=li expect_rc 2 incidents show abc
  RUNNER=li expect_rc 2 incidents show
  RUNNER=li expect_rc 2 incidents --since soon
  RUNNER=li expect_rc 2 incidents frobnicate 3
  RUNNER=li expect_rc 2 incidents --open show 3
}

t_incidents_update_and_mark() {
  seed
  RUNNER=li ok incidents update 3 --status identified --message 'bad deploy | rolling back'
  expect_out 'incident 3: status identified'
  RUNNER=li ok --json incidents show 3
  [[ $(json '(j["status"], j["timeline"][-1]["kind"], j["timeline"][-1]["status"], j["timeline"][-1]["message"])') == \
     "('identified', 'update', 'identified', 'bad deploy | rolling back')" ]] || fail "after update: $OUT"
  RUNNER=li expect_rc 2 incidents update 3 --status fixed --message x
  expect_err 'one of investigating, identified, monitoring, resolved'
  RUNNER=li expect_rc 2 incidents update 3 --status monitoring
  RUNNER=li expect_rc 18 incidents update 42 --status monitoring --message x
  # resolved by a person closes it
  RUNNER=li ok --json incidents update 3 --status resolved --message 'rolled back'
  [[ $(json '(j["status"], j["closed_ms"] is not None, j["timeline"][-1]["kind"])') == "('resolved', True, 'closed')" ]] ||
    fail "after resolved: $OUT"
  RUNNER=li expect_rc 2 incidents update 3 --status investigating --message x
  expect_err 'is closed'
  RUNNER=li ok incidents --open
  expect_out 'no open incidents'
  # false-positive marks move the metric
  RUNNER=li ok incidents mark 1 --false-positive
  expect_out 'incident 1 marked a false positive'
  RUNNER=li ok --json incidents
  [[ $(json '(j["incidents"][2]["false_positive"], round(j["metrics"]["false_positive_rate"], 3))') == "(True, 0.667)" ]] ||
    fail "after mark: $OUT"
  RUNNER=li ok --json incidents mark 1 --not-false-positive
  [[ $(json 'j["false_positive"]') == "False" ]] || fail "after unmark: $OUT"
  RUNNER=li expect_rc 2 incidents mark 1
  RUNNER=li expect_rc 18 incidents mark 9 --false-positive
  RUNNER=li ok incidents --help
  expect_out 'Exit codes'
}
