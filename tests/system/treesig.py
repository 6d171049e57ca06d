"""treesig: one line per path under ROOT (ROOT itself included, as '.', without its
mtime) with everything a restore must reproduce: type, mode (incl.
setuid/setgid/sticky), owner, size, mtime in ns, link target, content digest, hard-link group, whether
the file has holes (allocated less than its size), and every extended attribute
with a digest of its value: user.*, trusted.*, security.* (file capabilities are
security.capability) and POSIX ACLs (system.posix_acl_access/_default). Two trees
are restored exactly when their signatures are equal."""
import hashlib
import os
import stat
import sys


def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return '-'
    out = []
    for n in sorted(names):
        v = os.getxattr(p, n, follow_symlinks=False)
        out.append('%s=%s' % (n, hashlib.sha256(v).hexdigest()[:12]))
    return ','.join(out) or '-'


def line(root, p, groups, is_root=False):
    st = os.lstat(p)
    rel = os.path.relpath(p, root)
    kind = stat.S_IFMT(st.st_mode)
    digest = link = ''
    sparse = ''
    if stat.S_ISREG(kind):
        h = hashlib.sha256()
        with open(p, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        digest = h.hexdigest()[:16]
        sparse = 'sparse' if st.st_blocks * 512 < st.st_size else 'dense'
    elif stat.S_ISLNK(kind):
        link = os.readlink(p)
    group = ''
    if st.st_nlink > 1 and not stat.S_ISDIR(kind):
        group = groups.setdefault((st.st_dev, st.st_ino), 'g%d' % len(groups))
    mtime = st.st_mtime_ns if not stat.S_ISLNK(kind) or os.geteuid() == 0 else 0
    if is_root:
        mtime = 0  # the root may be a restore target, which gets files after the restore
    return '%s %o %o %d:%d %d %d %s %s %s %s %s' % (
        rel, kind >> 12, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
        st.st_size if not stat.S_ISDIR(kind) else 0, mtime, link, digest, group, sparse, xattrs(p))


def main(root):
    groups = {}
    lines = [line(root, root, groups, True)]
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            lines.append(line(root, os.path.join(dirpath, name), groups))
    print('\n'.join(lines))


main(sys.argv[1])
