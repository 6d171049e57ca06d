"""report_busy.py RESULTS BYTES FILES BENCHMARKS.md DIO — the busy and quiet restore table (busy first: the target is about it) of
bench/restore-busy, printed and put between the markers bench-busy-loop (DIO off: the loop
device writes its image through the page cache, as `mount -o loop` does) or bench-busy-loop-dio
(DIO on) in BENCHMARKS.md."""
import datetime
import os
import statistics
import sys

results, nbytes, nfiles, doc, dio = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
mark = 'bench-busy-loop' + ('-dio' if dio == 'on' else '')
runs = {}
for line in open(results):
    phase, tool, secs, usr, sys_s, rss = line.rstrip('\n').split('\t')
    runs.setdefault((phase, tool), []).append((float(secs), float(usr), float(sys_s), int(rss)))
phases = [p for p in ('busy', 'quiet') if (p, 'lifeline') in runs and (p, 'restic') in runs]
names = {'quiet': 'quiet (nothing else on the filesystem)',
         'busy': 'busy (a 32 MiB write + fsync loop and a create/delete loop of 1,000 small files)'}


def cell(rs):
    w = sorted(r[0] for r in rs)
    return '%.2f s (%.2f–%.2f); cpu %.1f s; peak RSS %d–%d MiB' % (
        statistics.median(w), w[0], w[-1], statistics.median(r[1] + r[2] for r in rs),
        min(r[3] for r in rs) // 1024, max(r[3] for r in rs) // 1024)


out = ['<!-- %s:begin -->' % mark,
       'Dataset: %.0f MiB in %d files (bench/gen.py); %d cores; %s.' % (
           nbytes / 1048576, nfiles, os.cpu_count(), datetime.date.today().isoformat()),
       ('Command: `LOOP_DIO=on bench/restore-busy`: a fresh journaled ext4 on a file-backed loop device'
        ' with direct I/O to its image (no second page cache, closer to a real disk);' if dio == 'on' else
        'Command: `make bench` (bench/restore-busy): a fresh journaled ext4 on a file-backed loop device'
        ' writing its image through the page cache (as `mount -o loop` does);'),
       'both repositories on it and evicted from the page cache (files and image) before every',
       'run; restores to fresh folders on it; each round of runs begins with another tool. Seconds: median (min–max) of the',
       'runs; cpu: median user + system seconds; peak RSS: lowest–highest of the runs (`/usr/bin/time` %M).', '',
       '| disk | runs | lifeline | restic 0.14 | lifeline faster by (median; worst–best pairing) |',
       '|---|---|---|---|---|']
pairs = []
for p in phases:
    ll, rs = runs[(p, 'lifeline')], runs[(p, 'restic')]
    lm, rm = statistics.median(r[0] for r in ll), statistics.median(r[0] for r in rs)
    worst = min(r[0] for r in rs) / max(r[0] for r in ll)
    best = max(r[0] for r in rs) / min(r[0] for r in ll)
    out.append('| %s | %d + %d | %s | %s | %.2f× (%.2f–%.2f×) |' % (names[p], len(ll), len(rs), cell(ll), cell(rs),
                                                              rm / lm, worst, best))
    pairs.append('%s, run by run (lifeline / restic s): %s.' % (
        p.capitalize(), ', '.join('%.2f / %.2f' % (a[0], b[0]) for a, b in zip(ll, rs))))
    if (p, 'baseline') in runs:
        bl = runs[(p, 'baseline')]
        bm = statistics.median(r[0] for r in bl)
        out.append('| %s: BASELINE (another lifeline binary), same rounds | %d | %s | | %.2f× (lifeline is %.2f× faster than it) |' % (
            p, len(bl), cell(bl), rm / bm, bm / lm))
        pairs.append('%s, baseline run by run: %s.' % (p.capitalize(), ', '.join('%.2f' % r[0] for r in bl)))
out += [''] + pairs + ['<!-- %s:end -->' % mark]
table = '\n'.join(out)
print(table)
text = open(doc).read()
end = '<!-- %s:end -->' % mark
b, e = text.find('<!-- %s:begin -->' % mark), text.find(end)
if b >= 0 and e > b:
    text = text[:b] + table + text[e + len(end):]
    open(doc, 'w').write(text)
