"""report.py RESULTS BYTES FILES BENCHMARKS.md — puts the side-by-side table between
the markers in BENCHMARKS.md (everything else in that file is kept)."""
import datetime
import os
import platform
import sys

results, nbytes, nfiles, doc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = {}
for line in open(results):
    tool, step, secs, rss = line.rstrip('\n').split('\t')
    r.setdefault(tool, {})[step] = (float(secs), int(rss))
tools = [t for t in ('lifeline', 'restic', 'borg') if t in r]
steps = [('first', 'first backup'), ('nochange', 'no-change backup'), ('changed', 'backup after ~5 % change'),
         ('restore', 'full restore'), ('verify', 'read-all verify')]
mib = nbytes / 1048576
out = ['<!-- bench:begin -->',
       'Dataset: %.0f MiB in %d files (bench/gen.py); machine: %d cores, %s; %s.' % (
           mib, nfiles, os.cpu_count(), platform.machine(), datetime.date.today().isoformat()),
       'Command: `make bench` (bench/run). Median of 3 runs per step (the 5 %-change backup: one run);',
       'the dataset is in the page cache for every tool; repositories hold what each tool\'s writes left',
       'there (lifeline writes packs with O_DIRECT, so its restores and checks read them from disk).',
       'Nothing is deleted while measuring; restores go to fresh folders.', '',
       '| step | ' + ' | '.join('%s s (MiB/s) | %s RSS MiB' % (t, t) for t in tools) +
       (' | lifeline vs restic |' if 'restic' in r and 'lifeline' in r else ' |'),
       '|---' * (1 + 2 * len(tools) + (1 if 'restic' in r and 'lifeline' in r else 0)) + '|']
for key, name in steps:
    cells = []
    for t in tools:
        secs, rss = r[t].get(key, (0, 0))
        cells.append('%.2f (%.0f)' % (secs, mib / secs if secs else 0))
        cells.append('%d' % (rss // 1024))
    ratio = ''
    if 'restic' in r and 'lifeline' in r and key in r['lifeline'] and r['lifeline'][key][0] > 0:
        ratio = ' %.2f× faster |' % (r['restic'][key][0] / r['lifeline'][key][0])
    out.append('| %s | %s |%s' % (name, ' | '.join(cells), ratio))
sizes = ['%.1f MiB' % (r[t]['size'][0] / 1048576) for t in tools]
line = '| repository size | ' + ' | '.join(s + ' | ' for s in sizes)
if 'restic' in r and 'lifeline' in r:
    line += ' %+.1f %% vs restic |' % (100.0 * (r['lifeline']['size'][0] / r['restic']['size'][0] - 1))
out.append(line)
out.append('<!-- bench:end -->')
table = '\n'.join(out)
text = open(doc).read() if os.path.exists(doc) else '# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n'
a, b = text.index('<!-- bench:begin -->'), text.index('<!-- bench:end -->') + len('<!-- bench:end -->')
open(doc, 'w').write(text[:a] + table + text[b:])
print(table)
