"""pg_report.py RESULTS PUSH_TIMES BENCHMARKS.md — the PostgreSQL table (lifeline vs
pgBackRest) between the bench-pg markers in BENCHMARKS.md."""
import datetime
import os
import statistics
import sys

results, pushes, doc = sys.argv[1:4]
r = {}
for line in open(results):
    tool, step, val, rss = line.rstrip('\n').split('\t')
    r.setdefault(tool, {})[step] = (val, int(rss))
lat = {}
for line in open(pushes):
    tool, us = line.split()
    lat.setdefault(tool, []).append(int(us) / 1000.0)
db = int(r['load']['db_bytes'][0])
mib = db / 1048576


def secs(t, k):
    return float(r[t][k][0])


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else 0


rows = [('full', 'full backup'), ('full2', 'second full backup (nothing changed)'), ('restore', 'restore')]
out = ['<!-- bench-pg:begin -->',
       'Database: %.0f MiB (pgbench -i -s 60), PostgreSQL 15 on this machine (%d cores); %s.' % (
           mib, os.cpu_count(), datetime.date.today().isoformat()),
       'Command: `make bench` (bench/pg). pgBackRest 2.45 from Debian: aes-256-cbc, zstd, process-max 2, start-fast.',
       'lifeline: base backup streamed over a replication connection, AES-256-GCM, zstd 3, deduplicated.',
       'First full: one run each into an empty repository; the other steps: median of 3.', '',
       '| step | lifeline s | pgBackRest s | lifeline faster by | lifeline RSS MiB | pgBackRest RSS MiB |',
       '|---|---|---|---|---|---|']
for k, name in rows:
    a, b = secs('lifeline', k), secs('pgbackrest', k)
    out.append('| %s | %.2f | %.2f | %.2f× | %d | %d |' % (name, a, b, b / a if a else 0,
                                                        r['lifeline'][k][1] // 1024, r['pgbackrest'][k][1] // 1024))
g, bg = int(r['lifeline']['growth'][0]), int(r['pgbackrest']['growth'][0])
out.append('| repository growth of a second full | %.2f MiB (%.3f %% of the database) | %.1f MiB | | | |' % (
    g / 1048576, 100.0 * g / db, bg / 1048576))
out.append('')
out.append('| WAL push per 16 MiB segment, under pgbench -c 8 | lifeline | pgBackRest |')
out.append('|---|---|---|')
for name, f in (('segments pushed', lambda v: '%d' % len(v)), ('median', lambda v: '%.0f ms' % statistics.median(v)),
                ('99th percentile', lambda v: '%.0f ms' % pct(v, 99)), ('max', lambda v: '%.0f ms' % max(v))):
    out.append('| %s | %s | %s |' % (name, f(lat.get('lifeline', [0])), f(lat.get('pgbackrest', [0]))))
for t in ('lifeline', 'pgbackrest'):
    if t in r and 'maxlag' in r[t]:
        first, second = r[t]['lag_halves'][0].split('/')
        out.append('')
        out.append('%s archiving alone under pgbench -c 8: %.0f tps; archive lag at most %s segment(s) '
                   '(first half of the run %s, second half %s).' % (t, float(r[t]['tps'][0] or 0), r[t]['maxlag'][0],
                                                                   first, second))
out.append('<!-- bench-pg:end -->')
table = '\n'.join(out)
text = open(doc).read()
if '<!-- bench-pg:begin -->' not in text:
    text += '\n## PostgreSQL\n\n<!-- bench-pg:begin -->\n<!-- bench-pg:end -->\n'
a = text.index('<!-- bench-pg:begin -->')
b = text.index('<!-- bench-pg:end -->') + len('<!-- bench-pg:end -->')
open(doc, 'w').write(text[:a] + table + text[b:])
print(table)
