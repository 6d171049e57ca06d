#!/usr/bin/python3
"""ha_check — what ha_writer's acknowledgements say after a fault.

  ha_check.py --log ACKS --dsn 'conninfo of the final primary' [--fault-at MS] [--fail-on-loss] [--json]

Reads the acknowledged numbers from ACKS and the rows of --table on the final primary, and
reports: how many were acknowledged, which acknowledged rows are missing (lost writes), how many
rows are present without an acknowledgement (attempts whose answer never came: not a loss), the
longest gap between two consecutive acknowledgements (the client's outage), and with --fault-at
(epoch ms) the outage after the fault: from it to the first acknowledgement sent after it.
Exit status: 0; 1 when acknowledged rows are missing and --fail-on-loss; 2 on bad input or when
the primary cannot be read.
"""
import argparse
import json
import sys

import ha_pglib as pg


def read_acks(path):
    acks = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue  # a line cut by a kill -9 of the writer
            acks.append((int(parts[0]), int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else ""))
    return acks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--table", default="ha_writes")
    ap.add_argument("--fault-at", type=int, default=None, help="epoch ms of the fault")
    ap.add_argument("--fail-on-loss", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    try:
        acks = read_acks(a.log)
    except (OSError, ValueError) as e:
        print("ha_check: cannot read %s: %s" % (a.log, e), file=sys.stderr)
        return 2
    try:
        conn = pg.connect(a.dsn, a.timeout)
        rows = pg.query(conn, "select n from %s" % a.table, timeout_s=a.timeout)
        pg.close(conn)
    except Exception as e:
        print("ha_check: cannot read %s on the primary: %s" % (a.table, e), file=sys.stderr)
        return 2
    present = {r[0] for r in rows}
    acked = {n for n, _, _, _ in acks}
    missing = sorted(acked - present)
    unacked = len(present - acked)
    gap, gap_after = 0, None
    for prev, cur in zip(acks, acks[1:]):
        if cur[2] - prev[2] > gap:
            gap, gap_after = cur[2] - prev[2], prev[0]
    r = {
        "acknowledged": len(acked),
        "missing": len(missing),
        "missing_first": missing[:20],
        "present_unacknowledged": unacked,
        "max_gap_ms": gap,
        "max_gap_after_n": gap_after,
        "first_ack_ms": acks[0][2] if acks else None,
        "last_ack_ms": acks[-1][2] if acks else None,
        "servers": sorted({s for _, _, _, s in acks}),
    }
    if a.fault_at is not None:
        after = [ack for _, sent, ack, _ in acks if sent >= a.fault_at]
        r["outage_ms"] = (after[0] - a.fault_at) if after else None
    if a.json:
        print(json.dumps(r))
    else:
        print("acknowledged %d, missing %d%s, present without acknowledgement %d, "
              "longest gap between acknowledgements %d ms%s, servers %s" % (
                  r["acknowledged"], r["missing"],
                  " (first: %s)" % ",".join(map(str, missing[:20])) if missing else "",
                  unacked, gap,
                  ", outage after the fault %s ms" % r["outage_ms"] if "outage_ms" in r else "",
                  ",".join(r["servers"])))
    return 1 if (missing and a.fail_on_loss) else 0


if __name__ == "__main__":
    sys.exit(main())
