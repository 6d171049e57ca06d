#!/usr/bin/python3
"""ha_writer — the HA tests' client: commits numbered rows and logs every acknowledgement.

  ha_writer.py --dsn 'host=H port=P user=postgres dbname=postgres' --log ACKS [options]

Every --interval (50 ms) it inserts row n (n = 1, 2, ...; every attempt gets a new number, an
attempt whose outcome is unknown is never retried under the same number) into --table (created
when missing) in autocommit mode, with a deadline per statement (--timeout) so a frozen server
or a partition cannot hang it. Each acknowledged insert is appended, flushed, to ACKS as
  n <tab> sent_ms <tab> ack_ms <tab> server address
(epoch milliseconds; the address is inet_server_addr() of the server that committed it). Errors
go to stderr with a timestamp; the writer then reconnects (connect deadline --connect-timeout)
and goes on. Runs until SIGTERM or SIGINT (then exits 0), or for --duration seconds.
"""
import argparse
import signal
import sys
import time

import ha_pglib as pg

stop = False


def on_signal(_sig, _frm):
    global stop
    stop = True


def now_ms():
    return int(time.time() * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--table", default="ha_writes")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=2.0, help="seconds per statement")
    ap.add_argument("--connect-timeout", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=0, help="seconds (0: until SIGTERM)")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = open(a.log, "a", buffering=1)
    table = a.table
    insert = "insert into %s(n) values (%%s) returning coalesce(host(inet_server_addr()), 'local')" % table
    create = ("create table if not exists %s(n bigint primary key, "
              "at timestamptz not null default clock_timestamp())" % table)
    conn, ready, n, last_err = None, False, 0, None
    end = time.monotonic() + a.duration if a.duration > 0 else None
    tick = time.monotonic()
    while not stop and (end is None or time.monotonic() < end):
        try:
            if conn is None:
                conn = pg.connect(a.dsn, a.connect_timeout)
                ready = False
            if not ready:
                pg.query(conn, create, timeout_s=a.timeout)
                ready = True
            n += 1
            sent = now_ms()
            rows = pg.query(conn, insert, (n,), timeout_s=a.timeout)
            out.write("%d\t%d\t%d\t%s\n" % (n, sent, now_ms(), rows[0][0]))
            if last_err is not None:
                print("%d writer: acknowledged again (n=%d)" % (now_ms(), n), file=sys.stderr, flush=True)
                last_err = None
        except Exception as e:  # every failure: log once per kind, reconnect
            msg = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
            if msg != last_err:
                print("%d writer: %s" % (now_ms(), msg), file=sys.stderr, flush=True)
                last_err = msg
            pg.close(conn)
            conn = None
            time.sleep(min(a.interval, 0.05))
        tick += a.interval
        delay = tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            tick = time.monotonic()
    pg.close(conn)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
