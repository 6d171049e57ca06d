#!/usr/bin/python3
"""ha_report — bench/ha's arithmetic.

  ha_report.py breakdown --fault-at MS --first-ack OUTAGE_MS --new hN --etcd LOG --agent LOG --haproxy LOG
      where one of lifeline's host-loss outages went, from logs stamped by ha_stamp.py (epoch ms
      <tab> line): the leader key deleted in etcd (its lease expired; etcdctl watch), the new
      primary's agent starting the promotion ("detection main-db") and done with it ("promote
      main-db/..."), HAProxy marking the new primary UP, the first acknowledged write. Prints
      "expired=MS,promote=MS,promoted=MS,proxy=MS,write=MS" in ms after the kill ("?" unseen).
  ha_report.py table --results TSV --run RUN [--runs TSV] [--doc BENCHMARKS.md] [--no-doc]
      [--trials N] [--command TEXT]
      the table of run RUN (medians, min-max, trial counts), printed and written into the doc
      between the bench-ha markers (the section is added at the end when missing).

Results TSV (one line per trial, bench/ha appends): run tool fault trial outage_ms lost
rejoin_ms ("-": not applicable, "none": did not happen within the bound) mode (hP->hN or
in-place) breakdown ("-" or as printed above).
"""
import argparse
import datetime
import os
import platform
import statistics
import sys

STEPS = ["expired", "promote", "promoted", "proxy", "write"]
STEP_NAMES = {
    "expired": "leader key gone from etcd (lease expired)",
    "promote": "promotion started (agent: detection)",
    "promoted": "promoted (agent: promote ... primary now)",
    "proxy": "HAProxy marks the new primary UP",
    "write": "first acknowledged write",
}
TOOLS = {
    "lifeline": "lifeline (defaults)",
    "patroni": "Patroni 3.0.2 (defaults: ttl 30, loop_wait 10, retry_timeout 10)",
    "patroni-fast": "Patroni 3.0.2 (ttl 10, loop_wait 2, retry_timeout 4)",
    "patroni-hc": "Patroni 3.0.2 (ttl 10, loop_wait 2, retry_timeout 4), HAProxy checks as lifeline's",
}
FAULTS = {"host": "host loss", "db": "database crash", "switchover": "switchover"}


def stamped(path):
    try:
        with open(path, errors="replace") as f:
            for line in f:
                ms, _, text = line.rstrip("\n").partition("\t")
                if ms.isdigit():
                    yield int(ms), text
    except OSError:
        return


def first(path, since, pred):
    for ms, text in stamped(path):
        if ms >= since and pred(text):
            return ms
    return None


def breakdown(a):
    t0 = a.fault_at
    member = "pg-" + a.new
    at = {
        "expired": first(a.etcd, t0, lambda s: s.strip() == "DELETE"),
        "promote": first(a.agent, t0, lambda s: s.startswith("detection main-db")),
        "promoted": first(a.agent, t0, lambda s: s.startswith("promote main-db/" + member) and "primary" in s),
        "proxy": first(a.haproxy, t0, lambda s: ("primary/" + member + " is UP") in s),
        "write": t0 + int(a.first_ack) if a.first_ack.isdigit() else None,
    }
    print(",".join("%s=%s" % (k, "?" if at[k] is None else at[k] - t0) for k in STEPS))
    return 0


def num(v):
    try:
        return int(v)
    except ValueError:
        return None


def span(values, unit=1000.0):
    v = [x for x in values if x is not None]
    if not v:
        return "–"
    return "%.1f (%.1f–%.1f)" % (statistics.median(v) / unit, min(v) / unit, max(v) / unit)


def table(a):
    rows = []
    with open(a.results) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 9 and p[0] == a.run:
                rows.append(p)
    loads = []   # (start, end) of each part of the run (RUN=ID adds a part)
    if a.runs and os.path.exists(a.runs):
        for line in open(a.runs):
            p = line.rstrip("\n").split("\t")
            if len(p) >= 3 and p[0] == a.run:
                if p[1] == "load-start":
                    loads.append([p[2], "?"])
                elif p[1] == "load-end" and loads:
                    loads[-1][1] = p[2]
    out = ["<!-- bench-ha:begin -->",
           "Run %s on %d cores, Linux %s; 1-, 5- and 15-minute load averages %s (other sessions were "
           "building and testing on the same machine)." % (
               a.run, os.cpu_count(), platform.release(),
               "; ".join("%s at the start of part %d, %s at its end" % (b, i + 1, e) for i, (b, e) in enumerate(loads))
               or "not recorded"),
           "Command: `%s`. Seconds; median (min–max) over the trials counted." % a.command,
           "",
           "| tool | fault | trials | write outage s | acknowledged writes lost | rejoin s | failovers |",
           "|---|---|---|---|---|---|---|"]
    short = []
    seen = []
    for r in rows:
        if (r[1], r[2]) not in seen:
            seen.append((r[1], r[2]))
    for tool, fault in seen:
        rs = [r for r in rows if r[1] == tool and r[2] == fault]
        if all(r[4] == "refused" for r in rs):
            out.append("| %s | %s | %d | refused: \"%s\" | – | – | 0 |" % (
                TOOLS.get(tool, tool), FAULTS.get(fault, fault), len(rs), rs[0][8].replace("|", "/")))
            continue
        rs = [r for r in rs if r[4] != "refused"]
        outage = [num(r[4]) for r in rs]
        lost = [num(r[5]) for r in rs]
        rejoin = [num(r[6]) for r in rs]
        never = sum(1 for r in rs if r[4] == "none")
        norejoin = sum(1 for r in rs if r[6] == "none")
        inplace = sum(1 for r in rs if r[7] == "in-place")
        lost_s = "%d (max %d in a trial)" % (sum(x for x in lost if x), max((x for x in lost if x is not None), default=0))
        if fault == "switchover":
            rejoin_s = "n/a"
        elif fault == "db" and inplace == len(rs):
            rejoin_s = "in place (restarted as the primary)"
        else:
            rejoin_s = span(rejoin)
            if inplace:
                rejoin_s += " over the %d failovers; %d restarted in place" % (len(rs) - inplace, inplace)
            if norejoin:
                rejoin_s += "; %d never within 240 s" % norejoin
        outage_s = span(outage) + ("; %d never within 180 s" % never if never else "")
        n = "%d%s" % (len(rs), "" if len(rs) >= a.trials else " (fewer than %d: time)" % a.trials)
        out.append("| %s | %s | %s | %s | %s | %s | %d of %d |" % (
            TOOLS.get(tool, tool), FAULTS.get(fault, fault), n, outage_s, lost_s, rejoin_s, len(rs) - inplace,
            len(rs)))
    bd = [r for r in rows if r[1] == "lifeline" and r[2] == "host" and r[8] != "-"]
    if bd:
        out += ["", "Where lifeline's host-loss outage goes (ms after the kill; median (min–max) over %d trials):" % len(bd),
                "", "| step | ms after the kill |", "|---|---|"]
        for k in STEPS:
            v = []
            for r in bd:
                d = dict(x.split("=", 1) for x in r[8].split(",") if "=" in x)
                v.append(num(d.get(k, "?")))
            v = [x for x in v if x is not None]
            out.append("| %s | %s |" % (STEP_NAMES[k], "%d (%d–%d)" % (statistics.median(v), min(v), max(v)) if v else "–"))
    out.append("<!-- bench-ha:end -->")
    text = "\n".join(out)
    print(text)
    if a.no_doc or not a.doc:
        return 0
    doc = open(a.doc).read()
    if "<!-- bench-ha:begin -->" not in doc:
        doc = doc.rstrip("\n") + "\n\n## HA failover (bench/ha)\n\n<!-- bench-ha:begin -->\n<!-- bench-ha:end -->\n"
    i = doc.index("<!-- bench-ha:begin -->")
    j = doc.index("<!-- bench-ha:end -->") + len("<!-- bench-ha:end -->")
    with open(a.doc, "w") as f:
        f.write(doc[:i] + text + doc[j:])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("breakdown")
    b.add_argument("--fault-at", type=int, required=True)
    b.add_argument("--first-ack", required=True)
    b.add_argument("--new", required=True)
    b.add_argument("--etcd", required=True)
    b.add_argument("--agent", required=True)
    b.add_argument("--haproxy", required=True)
    t = sub.add_parser("table")
    t.add_argument("--results", required=True)
    t.add_argument("--run", required=True)
    t.add_argument("--runs")
    t.add_argument("--doc")
    t.add_argument("--no-doc", action="store_true")
    t.add_argument("--trials", type=int, default=10)
    t.add_argument("--command", default="bench/ha")
    a = ap.parse_args()
    return breakdown(a) if a.cmd == "breakdown" else table(a)


if __name__ == "__main__":
    sys.exit(main())
