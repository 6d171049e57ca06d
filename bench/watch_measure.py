#!/usr/bin/env python3
"""watch_measure.py — the two measurements of bench/watch, the same for every tool.

  kills TOOL PHASE PORT PIDFILE LOG DETECT_RE RECOVERED_RE N OUT
      kill -9 the service (pid in PIDFILE) N times, one at a time. After each kill: the
      time until the tool's LOG gets a new line matching DETECT_RE (detection), until
      /health on PORT answers 200 again (polled every 50 ms from here: the same for every
      tool) and until LOG gets a line matching RECOVERED_RE (the tool says it recovered).
      LOG is tailed every 5 ms and each line stamped as it arrives (the tools' own stamps
      are whole seconds). Before each kill: the service answers and the tool has said it
      recovered (or, the first time, has run SETTLE seconds), then SETTLE more seconds and
      a random 0-1 s: a kill lands anywhere between two probes of either tool, not always
      just after one (the tools' "recovered" lines come right after a probe).
      Appends "TOOL PHASE kill I DETECT_S UP_S RECOVERED_S" lines (tab-separated) to OUT.
  usage TOOL PHASE PID WARMUP WINDOW COUNTFILE OUT
      after WARMUP seconds, for WINDOW seconds: CPU (utime+stime, and of reaped children)
      of PID as a share of one core, VmRSS sampled each second (max), VmHWM, RssAnon (the
      process's own memory; the rest of RSS is mostly shared libraries' pages) and Pss at
      the end, threads, and the requests many_http.py answered in the window (COUNTFILE)
      per second. Appends "TOOL PHASE usage CPU% RSS_KiB HWM_KiB THREADS REQ_PER_S
      ANON_KiB PSS_KiB" to OUT."""
import os
import random
import re
import socket
import sys
import threading
import time

SETTLE = float(os.environ.get('SETTLE', '3'))


class Tail:
    """Lines of a growing file, each stamped with time.monotonic() when read."""

    def __init__(self, path):
        self.path, self.lines, self.lock = path, [], threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not os.path.exists(self.path):
            time.sleep(0.005)
        buf = b''
        with open(self.path, 'rb') as f:
            while True:
                chunk = f.read()
                if not chunk:
                    time.sleep(0.005)
                    continue
                now = time.monotonic()
                buf += chunk
                *done, buf = buf.split(b'\n')
                with self.lock:
                    self.lines += [(now, l.decode(errors='replace')) for l in done]

    def first_after(self, t0, rx):
        with self.lock:
            return next((t for t, l in self.lines if t >= t0 and rx.search(l)), None)


def answers(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.2) as s:
            s.settimeout(0.2)
            s.sendall(b'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
            return s.recv(64).startswith(b'HTTP/1.0 200') or False
    except OSError:
        return False


def wait_for(cond, secs, what):
    end = time.monotonic() + secs
    while not cond():
        if time.monotonic() > end:
            sys.exit('watch_measure: not within %ds: %s' % (secs, what))
        time.sleep(0.05)


def kills(tool, phase, port, pidfile, log, detect_re, recovered_re, n, out):
    port, n = int(port), int(n)
    det, rec = re.compile(detect_re), re.compile(recovered_re)
    tail = Tail(log)
    wait_for(lambda: answers(port), 20, 'the service answers before the first kill')
    time.sleep(SETTLE)
    for i in range(1, n + 1):
        pid = int(open(pidfile).read())
        t0 = time.monotonic()
        os.kill(pid, 9)
        t_det = t_up = t_rec = None
        while time.monotonic() - t0 < 30 and None in (t_det, t_up, t_rec):
            if t_up is None and answers(port):
                t_up = time.monotonic()
            t_det = t_det or tail.first_after(t0, det)
            t_rec = t_rec or tail.first_after(t0, rec)
            time.sleep(0.05)
        if None in (t_det, t_up, t_rec):
            sys.exit('watch_measure: %s kill %d: no %s within 30 s' % (
                tool, i, 'detection' if t_det is None else 'answer' if t_up is None else 'recovery line'))
        line = '%s\t%s\tkill\t%d\t%.3f\t%.3f\t%.3f' % (tool, phase, i, t_det - t0, t_up - t0, t_rec - t0)
        print('  %-8s %-5s kill %2d: detected %.2f s, answering %.2f s, tool says recovered %.2f s' % (
            tool, phase, i, t_det - t0, t_up - t0, t_rec - t0), flush=True)
        with open(out, 'a') as f:
            f.write(line + '\n')
        time.sleep(SETTLE + random.random())


def proc_cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (fields 14-17)


def proc_status(pid):
    st = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            st[k] = v.split()[0] if v.split() else ''
    return st


def pss(pid):
    with open('/proc/%d/smaps_rollup' % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith('Pss:'))


def count(path):
    try:
        return int(open(path).read())
    except (OSError, ValueError):
        return 0


def usage(tool, phase, pid, warmup, window, countfile, out):
    pid, warmup, window = int(pid), float(warmup), float(window)
    time.sleep(warmup)
    hz = os.sysconf('SC_CLK_TCK')
    c0, t0, r0 = proc_cpu_ticks(pid), time.monotonic(), count(countfile)
    rss_max = 0
    while time.monotonic() - t0 < window:
        rss_max = max(rss_max, int(proc_status(pid)['VmRSS']))
        time.sleep(1)
    c1, t1, r1 = proc_cpu_ticks(pid), time.monotonic(), count(countfile)
    st = proc_status(pid)
    rss_max = max(rss_max, int(st['VmRSS']))
    cpu = 100.0 * (c1 - c0) / hz / (t1 - t0)
    rps = (r1 - r0) / (t1 - t0)
    ps = pss(pid)
    print('  %-8s %-5s %.0f s: cpu %.2f %% of one core, RSS max %.1f MiB (anon %.1f, PSS %.1f), VmHWM %.1f MiB, '
          '%s threads, %.0f probes/s answered' % (tool, phase, t1 - t0, cpu, rss_max / 1024, int(st['RssAnon']) / 1024,
                                                  ps / 1024, int(st['VmHWM']) / 1024, st['Threads'], rps), flush=True)
    with open(out, 'a') as f:
        f.write('%s\t%s\tusage\t%.3f\t%d\t%s\t%s\t%.1f\t%s\t%d\n' % (
            tool, phase, cpu, rss_max, st['VmHWM'], st['Threads'], rps, st['RssAnon'], ps))


if __name__ == '__main__':
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == 'kills' and len(args) == 9:
        kills(*args)
    elif mode == 'usage' and len(args) == 7:
        usage(*args)
    else:
        sys.exit(__doc__)
