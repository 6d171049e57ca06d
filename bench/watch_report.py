"""watch_report.py RESULTS BENCHMARKS.md LIFELINE_VERSION MONIT_VERSION NSVC PARAMS — the watch
agent vs monit tables (bench/watch) between the bench-watch markers in BENCHMARKS.md, with
the issue's targets checked against the measurement."""
import datetime
import os
import platform
import statistics
import sys

results, doc, lv, mv, nsvc, params = sys.argv[1:7]
kills, usage, loadavg = {}, {}, {}
for line in open(results):
    f = line.rstrip('\n').split('\t')
    if f[0] == 'load':
        loadavg[(f[1], f[2])] = f[3]
    elif f[2] == 'kill':
        kills.setdefault((f[1], f[0]), []).append(tuple(float(x) for x in f[4:7]))
    else:
        usage[(f[1], f[0])] = dict(cpu=float(f[3]), rss=int(f[4]), hwm=int(f[5]), threads=f[6], rps=float(f[7]),
                                   anon=int(f[8]), pss=int(f[9]))
phases = [p for p in ('quiet', 'busy') if any(k[0] == p for k in list(kills) + list(usage))]
tools = ('lifeline', 'monit')


def cpu_model():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def med_max(v):
    return '%.2f (%.2f)' % (statistics.median(v), max(v)) if v else '–'


def per_probe_us(u):
    return u['cpu'] / 100.0 / u['rps'] * 1e6 if u['rps'] else 0


load = {'quiet': 'quiet: no load of the bench\'s own; whatever else the machine runs',
        'busy': 'busy: a bench/busyload.py spinner per core, a 32 MiB write + fsync loop and a create/delete loop '
                'of 1,000 small files, from before the first measurement of the phase to after the last'}
out = ['<!-- bench-watch:begin -->',
       'Machine: %d cores (%s), Linux %s; %s. %s vs %s (Debian).' % (
           os.cpu_count(), cpu_model(), platform.release(), datetime.date.today().isoformat(), lv,
           mv.replace('This is ', '')),
       'Command: `make bench` (bench/watch build/lifeline; %s).' % params,
       'Phases: ' + '; '.join('%s (1-minute load average %s at its start, %s at its end)' % (
           load[p], loadavg.get((p, 'start'), '?'), loadavg.get((p, 'end'), '?')) for p in phases) + '.',
       'Same thresholds for both: interval 1 s (monit: `set daemon 1`), timeout 1 s, failure confirmed after 2 '
       'failed probes (monit: `for 2 cycles`), rise 2; restart = the same stop and start commands. Each tool '
       'otherwise at its defaults: lifeline probes a service whose state is in question (a failure not yet '
       'confirmed, a recovery being verified) every `fast-interval`, by default a quarter of interval (HAProxy\'s '
       'fastinter); monit has no such setting and tests once a cycle.', '',
       'A killed service (tests/system/svc.py, `kill -9`, one at a time): seconds from the kill, median (max).',
       '"answering" is /health polled every 50 ms by the bench (the same for both); "recovered" is the tool\'s',
       'own line (lifeline: after verification, `rise` passes; monit: its next successful test).', '',
       '| machine | tool | kills | detected | answering again | tool says recovered |',
       '|---|---|---|---|---|---|']
for p in phases:
    for t in tools:
        v = kills.get((p, t), [])
        if v:
            out.append('| %s | %s | %d | %s | %s | %s |' % (p, t, len(v), med_max([x[0] for x in v]),
                                                         med_max([x[1] for x in v]), med_max([x[2] for x in v])))
out += ['', '%s services at a 1 s interval (bench/many_http.py: one process, %s listeners); each tool alone, '
        'after a 5 s warm-up. CPU = user + system time of the process (and of children it reaped) over the window,'
        % (nsvc, nsvc),
        'as a share of one core; RSS = VmRSS sampled each second (max) and VmHWM; anon = RssAnon, the process\'s '
        'own memory (the rest of RSS is mostly shared libraries\' pages), PSS from smaps_rollup, both at the end; '
        'probes/s = requests the listeners answered in the window.', '',
        '| machine | tool | CPU % of one core | CPU per probe | RSS MiB (max) | VmHWM MiB | anon MiB | PSS MiB '
        '| threads | probes/s |',
        '|---|---|---|---|---|---|---|---|---|---|']
for p in phases:
    for t in tools:
        u = usage.get((p, t))
        if u:
            out.append('| %s | %s | %.2f %% | %.0f µs | %.1f | %.1f | %.1f | %.1f | %s | %.0f |' % (
                p, t, u['cpu'], per_probe_us(u), u['rss'] / 1024, u['hwm'] / 1024, u['anon'] / 1024, u['pss'] / 1024,
                u['threads'], u['rps']))

# The targets, from the quiet phase (and the busy one where it was run).
out += ['', '| target (issue #11) | measured | status |', '|---|---|---|']


def status(ok):
    return 'met' if ok else '**not met**'


for p in phases:
    lk, mk = kills.get((p, 'lifeline'), []), kills.get((p, 'monit'), [])
    if lk:
        worst = max(x[0] for x in lk)
        out.append('| %s: detection within fall × interval + timeout = 3 s | lifeline max %.2f s | %s |' % (
            p, worst, status(worst <= 3.0)))
    if lk and mk:
        for i, what in ((0, 'detection'), (1, 'answering again')):
            a, b = statistics.median([x[i] for x in lk]), statistics.median([x[i] for x in mk])
            out.append('| %s: %s no slower than monit | median %.2f vs %.2f s | %s |' % (p, what, a, b, status(a <= b * 1.05)))
    lu, mu = usage.get((p, 'lifeline')), usage.get((p, 'monit'))
    if lu:
        out.append('| %s: under 20 MiB RSS at %s services | %.1f MiB (VmHWM %.1f) | %s |' % (
            p, nsvc, lu['rss'] / 1024, lu['hwm'] / 1024, status(lu['hwm'] < 20 * 1024)))
        out.append('| %s: under 2 %% of one core at %s services | %.2f %% | %s |' % (p, nsvc, lu['cpu'], status(lu['cpu'] < 2)))
    if lu and mu:
        out.append('| %s: RSS no larger than monit\'s | %.1f vs %.1f MiB (anon %.1f vs %.1f) | %s |' % (
            p, lu['rss'] / 1024, mu['rss'] / 1024, lu['anon'] / 1024, mu['anon'] / 1024, status(lu['rss'] <= mu['rss'])))
        out.append('| %s: CPU no more than monit\'s (per probe: monit makes fewer) | %.2f vs %.2f %% (%.0f vs %.0f µs '
                   'per probe) | %s |' % (p, lu['cpu'], mu['cpu'], per_probe_us(lu), per_probe_us(mu),
                                          status(per_probe_us(lu) <= per_probe_us(mu))))
out.append('<!-- bench-watch:end -->')
table = '\n'.join(out)
text = open(doc).read()
if '<!-- bench-watch:begin -->' not in text:
    text += '\n## Watch agent vs monit (bench/watch)\n\n<!-- bench-watch:begin -->\n<!-- bench-watch:end -->\n'
a = text.index('<!-- bench-watch:begin -->')
b = text.index('<!-- bench-watch:end -->') + len('<!-- bench-watch:end -->')
open(doc, 'w').write(text[:a] + table + text[b:])
print(table)
