#!/usr/bin/python3
"""ha_stamp — bench/ha's clock for logs that carry none: copies stdin to OUT, each line
prefixed by the epoch milliseconds at which it arrived and a tab. Ends at end of input
(the logging process and everything that shares its output are gone).

  some-command 2>&1 | ha_stamp.py OUT      (bench/ha reads it through a FIFO)
"""
import sys
import time


def main():
    with open(sys.argv[1], "a", buffering=1) as out:
        for line in sys.stdin.buffer:
            out.write("%d\t%s\n" % (time.time() * 1000, line.decode(errors="replace").rstrip("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
