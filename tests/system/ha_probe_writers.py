#!/usr/bin/python3
"""ha_probe_writers — does more than one member accept writes at the same moment?

  ha_probe_writers.py --member pg-a=10.0.0.1:5432 --member pg-b=10.0.0.2:5432 ... --log PROBE
                      [--interval 0.2] [--timeout 0.5] [--duration S] [--fail-on-two] [--json]
  ha_probe_writers.py --report PROBE [--fail-on-two] [--json]

Every --interval (200 ms: a "tick") it tries a tiny committed write directly on each member at
once (one thread and one connection per member; a row in table ha_probe, created where missing),
each with a deadline (--timeout). A member "accepts" in a tick when the insert was acknowledged.
Every attempt is appended to PROBE as a JSON line {"member","tick","start_ms","end_ms","ok","error"}.
On SIGTERM/SIGINT or after --duration it prints a summary: per member the accepted count, the
ticks in which two or more members accepted ("two_writers": [{"tick","at_ms","members"}]), and
"switches": the order in which the accepting member changed. --report summarises an existing
log. Exit status: 1 when --fail-on-two and two members accepted in one tick, else 0 (2: bad use).
Note: a commit that waits for a synchronous standby is not acknowledged, so it does not count.
"""
import argparse
import json
import signal
import sys
import threading
import time

import psycopg2
import psycopg2.errors

import ha_pglib as pg

stop = threading.Event()


def now_ms():
    return int(time.time() * 1000)


def probe_member(name, hostport, a, t0, out, lock):
    host, _, port = hostport.rpartition(":")
    dsn = "host=%s port=%s user=%s dbname=%s application_name=ha_probe" % (host, port, a.user, a.dbname)
    conn = None
    tick = 0
    while not stop.is_set():
        due = t0 + tick * a.interval
        delay = due - time.monotonic()
        if delay > 0:
            if stop.wait(delay):
                break
        start = now_ms()
        ok, err = False, None
        try:
            if conn is None:
                conn = pg.connect(dsn, a.timeout)
            try:
                pg.query(conn, "insert into ha_probe(member, at) values (%s, clock_timestamp())", (name,), a.timeout)
            except psycopg2.errors.UndefinedTable:
                pg.query(conn, "create table if not exists ha_probe(member text, at timestamptz)", None, a.timeout)
                pg.query(conn, "insert into ha_probe(member, at) values (%s, clock_timestamp())", (name,), a.timeout)
            ok = True
        except psycopg2.errors.ReadOnlySqlTransaction:
            err = "read-only"
        except Exception as e:
            err = "%s: %s" % (type(e).__name__, (str(e).strip().splitlines() or [""])[0])
            pg.close(conn)
            conn = None
        rec = {"member": name, "tick": tick, "start_ms": start, "end_ms": now_ms(), "ok": ok, "error": err}
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()
        # the next tick not yet started (a slow attempt skips ticks instead of piling up)
        tick = max(tick + 1, int((time.monotonic() - t0) / a.interval) + 1)
    pg.close(conn)


def summarise(records):
    by_tick, accepted = {}, {}
    for r in records:
        accepted.setdefault(r["member"], 0)
        if r["ok"]:
            accepted[r["member"]] += 1
            by_tick.setdefault(r["tick"], []).append(r)
    two = []
    for tick in sorted(by_tick):
        members = sorted({r["member"] for r in by_tick[tick]})
        if len(members) > 1:
            two.append({"tick": tick, "at_ms": min(r["start_ms"] for r in by_tick[tick]), "members": members})
    switches, last = [], None
    for r in sorted((r for r in records if r["ok"]), key=lambda r: r["end_ms"]):
        if r["member"] != last:
            switches.append({"at_ms": r["end_ms"], "member": r["member"]})
            last = r["member"]
    return {"attempts": len(records), "accepted": accepted, "two_writers": two, "switches": switches}


def read_log(path):
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                pass  # a line cut by a kill
    return records


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--member", action="append", default=[], help="NAME=HOST:PORT")
    ap.add_argument("--log")
    ap.add_argument("--report", help="summarise this probe log and exit")
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=0)
    ap.add_argument("--fail-on-two", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.report:
        s = summarise(read_log(a.report))
    else:
        if not a.member or not a.log or any("=" not in m or ":" not in m for m in a.member):
            print("ha_probe_writers: need --log and --member NAME=HOST:PORT", file=sys.stderr)
            return 2
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        out, lock = open(a.log, "a"), threading.Lock()
        t0 = time.monotonic()
        threads = []
        for m in a.member:
            name, hostport = m.split("=", 1)
            th = threading.Thread(target=probe_member, args=(name, hostport, a, t0, out, lock), daemon=True)
            th.start()
            threads.append(th)
        end = t0 + a.duration if a.duration > 0 else None
        while not stop.is_set() and (end is None or time.monotonic() < end):
            stop.wait(0.05)
        stop.set()
        for th in threads:
            th.join(a.timeout + 2)
        out.close()
        s = summarise(read_log(a.log))
    if a.json:
        print(json.dumps(s))
    else:
        print("attempts %d, accepted %s, ticks with two writers %d%s, switches %s" % (
            s["attempts"], json.dumps(s["accepted"]), len(s["two_writers"]),
            " (first: %s)" % json.dumps(s["two_writers"][0]) if s["two_writers"] else "",
            " -> ".join(x["member"] for x in s["switches"]) or "none"))
    return 1 if (a.fail_on_two and s["two_writers"]) else 0


if __name__ == "__main__":
    sys.exit(main())
