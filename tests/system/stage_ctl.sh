#!/bin/sh
# stage_ctl.sh — the start-command and stop-command of test_stage.sh's services.
# Usage: stage_ctl.sh start|stop NAME PORT [CHECK_PORT] [DELAY]
# Appends "ACTION NAME" to $T/order.log, with " check=up" or " check=down" when
# CHECK_PORT is given: whether that port accepted a connection at that moment (a
# start must find its dependency up, a stop must find its dependent down).
# start: runs stage_svc.py detached and returns once it has left this process group.
# stop: kills the service named by its pid file.
set -u
act=$1 name=$2 port=$3 check=${4:-} delay=${5:-0.7}
here=$(cd "$(dirname "$0")" && pwd)
line="$act $name"
if [ -n "$check" ]; then
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $check), 1)" 2>/dev/null; then
    line="$line check=up"
  else
    line="$line check=down"
  fi
fi
echo "$line" >>"$T/order.log"
case $act in
start)
  rm -f "$T/$name.pid"
  python3 "$here/stage_svc.py" "$port" "$T/$name.pid" --delay "$delay" </dev/null >/dev/null 2>&1 &
  while [ ! -s "$T/$name.pid" ]; do sleep 0.05; done
  ;;
stop)
  kill "$(cat "$T/$name.pid")" && rm -f "$T/$name.pid"
  ;;
esac
