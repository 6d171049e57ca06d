#!/usr/bin/env python3
"""systemd's side of sd_notify, for test_contrib.sh: listens on a unix datagram
socket (a path, or "@name" for an abstract one, as NOTIFY_SOCKET says) and appends
each datagram to OUT as one line per assignment: "SECONDS KEY=VALUE", SECONDS on the
monotonic clock. Touches OUT.ready once it listens.
Usage: notify_rx.py SOCKET OUT"""
import os, socket, sys, time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
open(out + ".ready", "w").close()
with open(out, "a") as f:
    while True:
        data = s.recv(4096).decode("utf-8", "replace")
        now = time.monotonic()
        for line in data.split("\n"):
            if line:
                f.write("%.3f %s\n" % (now, line))
        f.flush()
