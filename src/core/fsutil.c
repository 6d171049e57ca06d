/* fsutil — see fsutil.h. */
#define _XOPEN_SOURCE 700
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a);
    int n = snprintf(out, cap, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/", b);
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_FATAL, "path too long: %s/%s", a, b);
    return 0;
}

static int fsync_path(const char *path, int flags, const char *what)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0)
        return err_sys(ERR_IO, "open %s%s for fsync", what, path);
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL) /* EINVAL: a filesystem that cannot sync folders */
        rc = err_sys(ERR_IO, "fsync %s%s", what, path);
    close(fd);
    return rc;
}

int fs_fsync_dir(const char *path) { return fsync_path(path, O_DIRECTORY, "folder "); }
int fs_fsync_file(const char *path) { return fsync_path(path, 0, ""); }

static void dir_of(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

int fs_write_durable(const char *path, const void *data, size_t len, mode_t mode, int exclusive)
{
    return fs_write_durable_owned(path, data, len, mode, exclusive, (uid_t)-1, (gid_t)-1);
}

int fs_write_durable_owned(const char *path, const void *data, size_t len, mode_t mode, int exclusive, uid_t uid,
                           gid_t gid)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    unsigned r = (unsigned)random() ^ (unsigned)getpid();
    if (snprintf(tmp, sizeof tmp, "%s.%u.tmp", path, r) >= (int)sizeof tmp)
        return err_set(ERR_FATAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return err_sys(ERR_IO, "create %s", tmp);
    int rc = 0;
    if (uid != (uid_t)-1 && fchown(fd, uid, gid) != 0)
        rc = err_sys(ERR_IO, "set owner of %s", tmp);
    else if (fs_write_all(fd, data, len) != 0)
        rc = err_sys(ERR_IO, "write %s", tmp);
    else if (fsync(fd) != 0)
        rc = err_sys(ERR_IO, "fsync %s", tmp);
    if (close(fd) != 0 && !rc)
        rc = err_sys(ERR_IO, "close %s", tmp);
    if (!rc && exclusive) {
        /* link() fails if path exists: no window in which a second writer wins silently. */
        if (link(tmp, path) != 0)
            rc = err_sys(ERR_IO, "create %s", path);
        unlink(tmp);
    } else if (!rc && rename(tmp, path) != 0) {
        rc = err_sys(ERR_IO, "rename %s to %s", tmp, path);
    }
    if (rc) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return rc;
    }
    dir_of(path, dir, sizeof dir);
    return fs_fsync_dir(dir);
}

int fs_read_file(const char *path, buf *out, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "open %s", path);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = err_sys(ERR_IO, "stat %s", path);
    } else if ((unsigned long long)st.st_size > max) {
        rc = err_set(ERR_DAMAGED, "%s is larger than the %zu bytes such a file may have", path, max);
    } else {
        buf_reset(out);
        rc = buf_reserve(out, (size_t)st.st_size + 1);
        while (!rc) {
            ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = err_sys(ERR_IO, "read %s", path);
                break;
            }
            if (n == 0)
                break;
            out->len += (size_t)n;
            if (out->len == out->cap)
                rc = buf_reserve(out, 4096);
        }
    }
    close(fd);
    return rc;
}

int fs_read_range(const char *path, unsigned long long off, size_t len, buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "open %s", path);
    buf_reset(out);
    int rc = buf_reserve(out, len);
    size_t got = 0;
    while (!rc && got < len) {
        ssize_t n = pread(fd, out->data + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = err_sys(ERR_IO, "read %s", path);
        else if (n == 0)
            rc = err_set(ERR_DAMAGED, "%s is truncated: wanted %zu bytes at offset %llu", path, len, off);
        else
            got += (size_t)n;
    }
    out->len = got;
    close(fd);
    return rc;
}

int fs_mkdirs(const char *path, mode_t mode)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
        return err_set(ERR_FATAL, "path too long: %s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST)
            return err_sys(ERR_IO, "create folder %s", p);
        *s = '/';
    }
    if (mkdir(p, mode) != 0 && errno != EEXIST)
        return err_sys(ERR_IO, "create folder %s", p);
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT ? -1 : 0;
}

int fs_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : err_sys(ERR_IO, "remove %s", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) != 0 && errno != ENOENT ? err_sys(ERR_IO, "remove %s", path) : 0;
    if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return err_sys(ERR_IO, "remove %s", path);
    return 0;
}
