"""busyload.py — the bounded background load of bench/restore-busy, and its cache eviction.

  python3 bench/busyload.py writer DIR   rewrites a 32 MiB file and fsyncs it, over and over
  python3 bench/busyload.py churn DIR    creates 1,000 small files, deletes them, pauses 0.1 s,
                                         over and over (what a test suite or a build does)
  python3 bench/busyload.py spin         keeps one core busy (bench/watch: a busy CPU)
  python3 bench/busyload.py evict PATH...  drops the page cache of PATH, or every file under it
                                         (posix_fadvise DONTNEED; nothing else on the machine
                                         loses its cache, unlike drop_caches)
Both loads run until killed (SIGTERM); each writes only inside DIR."""
import os
import signal
import sys
import time

MiB = 1 << 20


def writer(d):
    block = os.urandom(MiB)
    path = os.path.join(d, 'writer.dat')
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for _ in range(32):
            os.write(fd, block)
        os.fsync(fd)
        os.close(fd)


def churn(d):
    data = b'x' * 4096
    sub = os.path.join(d, 'churn')
    os.makedirs(sub, exist_ok=True)
    while True:
        names = [os.path.join(sub, 'f%04d' % i) for i in range(1000)]
        for n in names:
            with open(n, 'wb') as f:
                f.write(data)
        for n in names:
            os.unlink(n)
        time.sleep(0.1)


def spin():
    while True:
        pass


def evict_file(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def evict(paths):
    for top in paths:
        if os.path.isfile(top):
            evict_file(top)
        for dirpath, _, files in os.walk(top):
            for name in files:
                evict_file(os.path.join(dirpath, name))


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    mode = sys.argv[1]
    if mode == 'writer':
        writer(sys.argv[2])
    elif mode == 'churn':
        churn(sys.argv[2])
    elif mode == 'spin':
        spin()
    elif mode == 'evict':
        evict(sys.argv[2:])
    else:
        sys.exit('usage: busyload.py writer|churn DIR | spin | evict PATH...')


if __name__ == '__main__':
    main()
