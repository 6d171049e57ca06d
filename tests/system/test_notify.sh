# test_notify.sh — `lifeline notify test` through real receivers: webhook_rx.py
# (json, slack and pagerduty bodies, headers; told to answer 400), a real SMTP server
# (Debian's python3-aiosmtpd writing a Maildir), the command channel; a receiver that
# is down, a bad url-file, an unknown channel. The dispatcher's retries, order, dead
# letters and fallbacks are tested in tests/unit/test_notify.c against the same
# receiver.

RX_PIDS=()
# rx_start NAME [ARGS]: a webhook_rx on a free port; its port in $RX_PORT, what it
# accepted in $T/NAME.jsonl
rx_start() {
  local name=$1; shift
  rm -f "$T/$name.port"
  python3 "$HERE/webhook_rx.py" --out "$T/$name.jsonl" --port-file "$T/$name.port" "$@" &
  RX_PIDS+=($!)
  for _ in $(seq 1 100); do [[ -s $T/$name.port ]] && break; sleep 0.05; done
  RX_PORT=$(cat "$T/$name.port")
}
rx_stop() { for p in "${RX_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; RX_PIDS=(); }
lines() { [[ -f $1 ]] && wc -l <"$1" || echo 0; }
# nth_line FILE N PYTHON-EXPR over j = that line's JSON
nth_json() {
  python3 -c "import json,sys; j=json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])]); print(($3))" "$1" "$2"
}
notify() { run_cmd "$LL" -c "$CONF" "$@"; }

t_notify_webhook_formats() {
  trap rx_stop RETURN
  rx_start rx
  echo "http://127.0.0.1:$RX_PORT/secret-path-token" >"$T/hook.url"; chmod 600 "$T/hook.url"
  echo "R0UTING-KEY-123" >"$T/pd.key"; chmod 600 "$T/pd.key"
  CONF=$T/n.conf
  cat >"$CONF" <<EOF
[watch]
node = zone-a-1
listen = 127.0.0.1:8008

[notify "am"]
type = webhook
url-file = $T/hook.url

[notify "chat"]
type = webhook
format = slack
url = http://127.0.0.1:$RX_PORT/slack

[notify "pager"]
type = webhook
format = pagerduty
url = http://127.0.0.1:$RX_PORT/pd
routing-key-file = $T/pd.key
EOF
  notify notify test --json
  [[ $RC -eq 0 ]] || { echo "$OUT $ERR"; fail "notify test exited $RC"; }
  [[ $(json 'j["accepted"]') == 3 && $(json 'j["failed"]') == 0 ]] || fail "not all accepted: $OUT"
  [[ $(json '[c["name"] for c in j["channels"] if c["accepted"]]') == "['am', 'chat', 'pager']" ]] || fail "$OUT"
  ! grep -q secret-path-token <<<"$OUT$ERR" || fail "the secret URL was printed"
  ! grep -q R0UTING <<<"$OUT$ERR" || fail "the routing key was printed"
  [[ $(lines "$T/rx.jsonl") -eq 3 ]] || fail "the receiver got $(lines "$T/rx.jsonl") requests, wanted 3"
  # json: the Alertmanager webhook v4 fields, posted to the secret URL
  [[ $(nth_json "$T/rx.jsonl" 0 'j["path"]') == /secret-path-token ]] || fail "url-file not used"
  [[ $(nth_json "$T/rx.jsonl" 0 'j["method"], j["headers"]["Content-Type"]') == "('POST', 'application/json')" ]] ||
    fail "method or content type"
  nth_json "$T/rx.jsonl" 0 'j["headers"]["User-Agent"]' | grep -q '^lifeline/' || fail "user agent"
  [[ $(nth_json "$T/rx.jsonl" 0 'sorted(j["body"].keys())') == \
     "['alerts', 'commonAnnotations', 'commonLabels', 'externalURL', 'groupKey', 'groupLabels', 'receiver', 'status', 'truncatedAlerts', 'version']" ]] ||
    fail "Alertmanager fields: $(nth_json "$T/rx.jsonl" 0 'j["body"]')"
  [[ $(nth_json "$T/rx.jsonl" 0 'j["body"]["version"], j["body"]["receiver"], j["body"]["externalURL"]') == \
     "('4', 'am', 'http://127.0.0.1:8008/')" ]] || fail "version, receiver, externalURL"
  [[ $(nth_json "$T/rx.jsonl" 0 'sorted(j["body"]["alerts"][0].keys())') == \
     "['annotations', 'endsAt', 'fingerprint', 'generatorURL', 'labels', 'startsAt', 'status']" ]] || fail "alert fields"
  [[ $(nth_json "$T/rx.jsonl" 0 'j["body"]["alerts"][0]["labels"]["event"], j["body"]["alerts"][0]["labels"]["node"]') == \
     "('test', 'zone-a-1')" ]] || fail "labels"
  # slack: text and blocks
  [[ $(nth_json "$T/rx.jsonl" 1 'j["path"], j["body"]["text"]') == \
     "('/slack', '[FIRING] lifeline notification test from zone-a-1')" ]] || fail "slack text"
  [[ $(nth_json "$T/rx.jsonl" 1 '[b["type"] for b in j["body"]["blocks"]]') == "['header', 'section', 'context']" ]] ||
    fail "slack blocks"
  # pagerduty: Events API v2 with the routing key from its file
  [[ $(nth_json "$T/rx.jsonl" 2 'j["body"]["routing_key"], j["body"]["event_action"], j["body"]["payload"]["source"], j["body"]["payload"]["severity"]') == \
     "('R0UTING-KEY-123', 'trigger', 'zone-a-1', 'info')" ]] || fail "pagerduty event: $(nth_json "$T/rx.jsonl" 2 'j["body"]')"
  nth_json "$T/rx.jsonl" 2 'j["body"]["dedup_key"]' | grep -q '^lifeline/zone-a-1/test/' || fail "dedup_key"
  # one channel by name; the text output
  notify notify test chat
  [[ $RC -eq 0 ]] || fail "notify test chat exited $RC: $ERR"
  expect_out '^chat +webhook +accepted'
  [[ $(lines "$T/rx.jsonl") -eq 4 ]] || fail "named test sent $(( $(lines "$T/rx.jsonl") - 3 )) requests"
  expect_rc 18 -c "$CONF" notify test nosuch
  expect_err 'no \[notify "nosuch"\]'
}

t_notify_smtp_aiosmtpd() {
  /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || { echo "skipped: python3-aiosmtpd missing"; return 0; }
  local port; port=$(free_port)
  /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$T/maildir" &
  RX_PIDS+=($!)
  trap rx_stop RETURN
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  CONF=$T/n.conf
  cat >"$CONF" <<EOF
[watch]
node = zone-a-1

[notify "mail"]
type = smtp
url = smtp://127.0.0.1:$port
from = lifeline@zone-a.example
to = ops@example.org boss@example.org
EOF
  notify notify test --json
  [[ $RC -eq 0 ]] || { echo "$OUT $ERR"; fail "notify test exited $RC"; }
  [[ $(json '(j["channels"][0]["accepted"], j["channels"][0]["type"])') == "(True, 'smtp')" ]] || fail "$OUT"
  local msgs; msgs=$(ls "$T/maildir/new" | wc -l)
  [[ $msgs -eq 1 ]] || fail "the SMTP server stored $msgs messages, wanted 1"
  /usr/bin/python3 - "$T"/maildir/new/* <<'PY' || fail "the mail is not what it should be"
import email, email.utils, sys
from email.header import decode_header, make_header
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
assert email.utils.parsedate_to_datetime(m['Date']) is not None, m['Date']
assert m['Message-ID'].startswith('<') and m['Message-ID'].endswith('@zone-a-1>'), m['Message-ID']
subject = str(make_header(decode_header(m['Subject'])))
assert subject == '[lifeline] FIRING info: lifeline notification test from zone-a-1', subject
assert m['From'] == 'lifeline@zone-a.example', m['From']
assert [a for _, a in email.utils.getaddresses([m['To']])] == ['ops@example.org', 'boss@example.org'], m['To']
assert m.get_content_type() == 'text/plain' and m.get_content_charset() == 'utf-8'
body = m.get_payload(decode=True).decode()
assert 'A test of this channel' in body and 'event:    test' in body, body
PY
  # a server that refuses a recipient (550): failed, with the server's code
  kill "${RX_PIDS[0]}"; wait "${RX_PIDS[0]}" 2>/dev/null || true; RX_PIDS=()
  cat >"$T/rejecting.py" <<'PY'
from aiosmtpd.handlers import Sink
class Rejecting(Sink):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('nobody@'):
            return '550 5.1.1 no such user'
        envelope.rcpt_tos.append(address)
        return '250 OK'
PY
  PYTHONPATH=$T /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c rejecting.Rejecting &
  RX_PIDS+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  sed -i 's/^to = .*/to = nobody@example.org/' "$CONF"
  notify notify test
  [[ $RC -eq 20 ]] || fail "a refused recipient: exited $RC, wanted 20"
  expect_out "^mail +smtp +failed: SMTP 550 5.1.1 no such user"
  # a server that is gone: a clear network error, exit 20
  kill "${RX_PIDS[0]}"; wait "${RX_PIDS[0]}" 2>/dev/null || true; RX_PIDS=()
  notify notify test
  [[ $RC -eq 20 ]] || fail "notify test with the SMTP server gone exited $RC, wanted 20"
  expect_out "^mail +smtp +failed: .*(onnect|refused)"
}

t_notify_command_channel() {
  CONF=$T/n.conf
  cat >"$T/hook.sh" <<EOF
#!/bin/sh
cat >"$T/stdin.json"
env | grep '^LIFELINE_' | sort >"$T/env.txt"
EOF
  chmod 755 "$T/hook.sh"
  cat >"$CONF" <<EOF
[watch]
node = zone-a-1

[notify "script"]
type = command
command = $T/hook.sh

[notify "busy"]
type = command
command = echo mail queue full >&2; exit 75

[notify "slow"]
type = command
command = sleep 30
timeout = 1s
EOF
  notify notify test script
  [[ $RC -eq 0 ]] || fail "notify test script exited $RC: $ERR"
  expect_out '^script +command +accepted'
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["event"]=="test" and j["node"]=="zone-a-1" and j["status"]=="firing", j' \
    "$T/stdin.json" || fail "the command did not get the alert's JSON on stdin"
  grep -qx 'LIFELINE_EVENT=test' "$T/env.txt" && grep -qx 'LIFELINE_NODE=zone-a-1' "$T/env.txt" &&
    grep -qx 'LIFELINE_CHANNEL=script' "$T/env.txt" || { cat "$T/env.txt"; fail "LIFELINE_* variables"; }
  local t0; t0=$(date +%s)
  notify notify test --json
  [[ $RC -eq 20 ]] || fail "notify test with a failing channel exited $RC, wanted 20"
  (( $(date +%s) - t0 < 10 )) || fail "the slow command was not killed at its timeout"
  [[ $(json '[(c["name"], c["accepted"]) for c in j["channels"]]') == "[('script', True), ('busy', False), ('slow', False)]" ]] ||
    fail "$OUT"
  json 'j["channels"][1]["error"]' | grep -q 'exit 75: mail queue full' || fail "busy's error: $OUT"
  json 'j["channels"][2]["error"]' | grep -qi 'killed' || fail "slow's error: $OUT"
}

t_notify_failures() {
  trap rx_stop RETURN
  rx_start bad --status 400
  local down; down=$(free_port)
  CONF=$T/n.conf
  cat >"$CONF" <<EOF
[notify "refuses"]
type = webhook
url = http://127.0.0.1:$RX_PORT/hook

[notify "down"]
type = webhook
url = http://127.0.0.1:$down/hook
timeout = 2s
EOF
  notify notify test
  [[ $RC -eq 20 ]] || fail "exited $RC, wanted 20"
  expect_out '^refuses +webhook +failed: HTTP 400'
  expect_out "^down +webhook +failed: .*onnect"
  expect_err '2 of 2 notification channel\(s\) did not accept the test'
  # a url-file that holds no URL: a clear error naming the channel and the file, not its content
  echo "hunter2-not-a-url" >"$T/bad.url"; chmod 600 "$T/bad.url"
  cat >"$CONF" <<EOF
[notify "hook"]
type = webhook
url-file = $T/bad.url
EOF
  notify notify test
  [[ $RC -eq 15 ]] || fail "bad url-file: exited $RC, wanted 15"
  expect_err "\[notify \"hook\"\]: url-file $T/bad.url does not hold an http"
  ! grep -q hunter2 <<<"$OUT$ERR" || fail "the secret file's content was printed"
  # a missing one is the configuration's error, naming file and line
  rm "$T/bad.url"
  notify notify test
  [[ $RC -eq 15 ]] || fail "missing url-file: exited $RC, wanted 15"
  expect_err "n.conf:2: .*url-file $T/bad.url: No such file"
  # no channels at all; bad words
  printf '[watch]\nnode = x\n' >"$CONF"
  notify notify test
  [[ $RC -eq 15 ]] || fail "no channels: exited $RC, wanted 15"
  expect_err 'no \[notify "NAME"\] channel'
  notify notify
  [[ $RC -eq 2 ]] || fail "notify without test: exited $RC"
  notify notify test a b
  [[ $RC -eq 2 ]] || fail "two names: exited $RC"
  notify notify --help
  [[ $RC -eq 0 ]] && expect_out 'Usage: lifeline notify test' && expect_out 'Exit codes'
}
