"""treesig: one line per path under ROOT with everything a restore must reproduce:
type, mode (incl. setuid/setgid/sticky), owner, size, mtime in ns, link target,
content digest, and hard-link group. Two trees are restored exactly when their
signatures are equal."""
import hashlib
import os
import stat
import sys


def main(root):
    groups = {}
    lines = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            kind = stat.S_IFMT(st.st_mode)
            digest = link = ''
            if stat.S_ISREG(kind):
                h = hashlib.sha256()
                with open(p, 'rb') as f:
                    for chunk in iter(lambda: f.read(1 << 20), b''):
                        h.update(chunk)
                digest = h.hexdigest()[:16]
            elif stat.S_ISLNK(kind):
                link = os.readlink(p)
            group = ''
            if st.st_nlink > 1 and not stat.S_ISDIR(kind):
                group = groups.setdefault((st.st_dev, st.st_ino), 'g%d' % len(groups))
            mtime = st.st_mtime_ns if not stat.S_ISLNK(kind) or os.geteuid() == 0 else 0
            lines.append('%s %o %o %d:%d %d %d %s %s %s' % (
                rel, kind >> 12, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                st.st_size if not stat.S_ISDIR(kind) else 0, mtime, link, digest, group))
    print('\n'.join(lines))


main(sys.argv[1])
