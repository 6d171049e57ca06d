"""gen.py — the benchmark's deterministic dataset (~1 GiB) and its ~5 % change.

  python3 bench/gen.py create DIR   incompressible files of varied sizes, compressible
                                    text/CSV, ~20,000 small files in nested folders,
                                    and duplicates
  python3 bench/gen.py change DIR   modify about 5 % of it (edits, appends, new files,
                                    deletions); deterministic
  python3 bench/gen.py reset DIR    undo `change`
Same seed, same bytes, on every machine."""
import os
import random
import shutil
import sys

MiB = 1 << 20


def blob(rng, n):
    return rng.randbytes(n)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def csv_text(rng, n):
    rows, size = [], 0
    i = 0
    while size < n:
        row = '%d,customer-%05d,%s,%d.%02d,2026-%02d-%02d,%s\n' % (
            i, rng.randrange(50000), rng.choice(['open', 'paid', 'refunded', 'pending']),
            rng.randrange(10000), rng.randrange(100), rng.randrange(1, 13), rng.randrange(1, 29),
            rng.choice(['eu-west', 'us-east', 'ap-south']))
        rows.append(row)
        size += len(row)
        i += 1
    return ''.join(rows).encode()[:n]


def log_text(rng, n):
    words = ['GET', 'POST', '/api/v1/projects', '/api/v1/users', '200', '404', '500', 'ms', 'user=',
             'session=', 'build', 'compile', 'cargo', 'rustc', 'warning', 'error', 'ok']
    out, size = [], 0
    while size < n:
        line = ' '.join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(12)) + '\n'
        out.append(line)
        size += len(line)
    return ''.join(out).encode()[:n]


def create(d):
    rng = random.Random(20261126)
    # incompressible: 48 files, 1..24 MiB (~600 MiB)
    for i in range(48):
        write('%s/media/blob%02d.bin' % (d, i), blob(rng, (1 + (i * 7) % 24) * MiB + rng.randrange(MiB)))
    # compressible: CSV and logs (~250 MiB)
    for i in range(10):
        write('%s/exports/ledger%02d.csv' % (d, i), csv_text(rng, 15 * MiB))
    for i in range(10):
        write('%s/logs/app%02d.log' % (d, i), log_text(rng, 10 * MiB))
    # ~20,000 small files in nested folders (~80 MiB)
    for i in range(20000):
        p = '%s/projects/p%03d/src/m%02d/f%05d.rs' % (d, i % 200, i % 17, i)
        if i % 3:
            data = log_text(rng, rng.randrange(200, 8000))
        else:
            data = blob(rng, rng.randrange(100, 6000))
        write(p, data)
    # duplicates (~100 MiB): copies of media files under other names
    for i in range(0, 48, 6):
        os.makedirs('%s/copies' % d, exist_ok=True)
        shutil.copyfile('%s/media/blob%02d.bin' % (d, i), '%s/copies/blob%02d.copy' % (d, i))


def change(d):
    rng = random.Random(5)
    for i in range(0, 48, 12):  # rewrite a quarter MiB in the middle of 4 media files
        p = '%s/media/blob%02d.bin' % (d, i)
        os.rename(p, p + '.orig')
        shutil.copyfile(p + '.orig', p)
        with open(p, 'r+b') as f:
            f.seek(MiB // 2)
            f.write(blob(rng, MiB // 4))
    for i in range(3):  # append to CSVs
        with open('%s/exports/ledger%02d.csv' % (d, i), 'ab') as f:
            f.write(csv_text(rng, 2 * MiB))
    for i in range(0, 20000, 20):  # edit 5 % of the small files
        p = '%s/projects/p%03d/src/m%02d/f%05d.rs' % (d, i % 200, i % 17, i)
        os.rename(p, p + '.orig')
        write(p, log_text(rng, 3000))
    write('%s/new/added.bin' % d, blob(rng, 30 * MiB))


def reset(d):
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith('.orig'):
                os.replace(os.path.join(root, f), os.path.join(root, f[:-5]))
    for i in range(3):
        p = '%s/exports/ledger%02d.csv' % (d, i)
        with open(p, 'r+b') as f:
            f.truncate(15 * MiB)
    shutil.rmtree('%s/new' % d, ignore_errors=True)


{'create': create, 'change': change, 'reset': reset}[sys.argv[1]](sys.argv[2])
