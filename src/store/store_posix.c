/* store_posix — the store backend for a local (or mounted) folder. The repository
 * belongs to the owner of its folder: run as root in a folder another user owns
 * (PostgreSQL's, whose archive_command writes WAL here), every file and folder it
 * creates is given that owner and group, so both can go on using it. */
#define _GNU_SOURCE
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../core/fsutil.h"

/* Restore and check read many small ranges of the same packs: keep them open. */
#define FD_CACHE 16

typedef struct fd_entry {
    char name[128];
    int fd;
    int refs;
    unsigned long last_use;
    uint64_t once_lo, once_hi; /* the span of the ranges read once; once_hi 0: none */
} fd_entry;

typedef struct posix_store {
    store base;
    char root[PATH_MAX];
    pthread_mutex_t mu;
    fd_entry fds[FD_CACHE];
    unsigned long clock;
    uid_t uid; /* the owner new entries get; (uid_t)-1: as created */
    gid_t gid;
} posix_store;

static void fd_forget(posix_store *ps, const char *name);

/* Closes a cached descriptor, letting go of the whole span of its pack read once. The
 * page cache keeps large folios (256 KiB seen here) that straddle the edge between two
 * ranges read once, since a folio is only let go when one range covers all of it:
 * about a folio per run, 6-12 % of a restore's packs. This lets them go once the pack
 * is done with (evicted from the cache of descriptors, or the store closed), so no more
 * than FD_CACHE packs keep such folios at a time. */
static void fd_close(fd_entry *e)
{
    if (e->once_hi > e->once_lo)
        (void)posix_fadvise(e->fd, (off_t)e->once_lo, (off_t)(e->once_hi - e->once_lo), POSIX_FADV_DONTNEED);
    close(e->fd);
    e->fd = -1;
    e->once_lo = e->once_hi = 0;
}

static int full_path(store *s, const char *name, char *out)
{
    return fs_join(out, PATH_MAX, ((posix_store *)s)->root, name);
}

/* Creates the folder holding name (data/xx/, wal/<source>/), and any folder above
 * it inside the repository, with the repository's owner. */
static int make_parent(posix_store *ps, const char *name)
{
    char rel[PATH_MAX], p[PATH_MAX];
    snprintf(rel, sizeof rel, "%s", name);
    char *slash = strrchr(rel, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    for (char *c = rel;; c++) {
        if (*c != '/' && *c)
            continue;
        char keep = *c;
        *c = '\0';
        int rc = fs_join(p, sizeof p, ps->root, rel), made = 0;
        if (!rc && !(made = mkdir(p, 0700) == 0) && errno != EEXIST)
            rc = err_sys(ERR_IO, "create folder %s", p);
        else if (made && ps->uid != (uid_t)-1 && chown(p, ps->uid, ps->gid) != 0)
            rc = err_sys(ERR_IO, "set owner of %s", p);
        *c = keep;
        if (rc || !keep)
            return rc;
    }
}

static int posix_put(store *s, const char *name, const void *data, size_t len, int exclusive)
{
    char p[PATH_MAX];
    posix_store *ps = (posix_store *)s;
    fd_forget(ps, name);
    int rc = full_path(s, name, p);
    if (rc)
        return rc;
    rc = fs_write_durable_owned(p, data, len, 0600, exclusive, ps->uid, ps->gid);
    if (rc && errno == ENOENT) {
        /* data/xx/ sub-folders are made on first use. */
        if ((rc = make_parent(ps, name)))
            return rc;
        rc = fs_write_durable_owned(p, data, len, 0600, exclusive, ps->uid, ps->gid);
    }
    return rc;
}

/* Writes len bytes of data to a new file fd: the page-aligned bulk with O_DIRECT when
 * data is page-aligned (no copy into the page cache, which the writer would never
 * read back), the rest buffered. Falls back to buffered writes where O_DIRECT is
 * refused. */
#define DIRECT_ALIGN 4096

static int write_direct_then_buffered(int fd, const char *what, const uint8_t *data, size_t len)
{
    size_t bulk = ((uintptr_t)data % DIRECT_ALIGN) ? 0 : len / DIRECT_ALIGN * DIRECT_ALIGN;
    int fl = fcntl(fd, F_GETFL);
    if (bulk && fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) {
        size_t done = 0;
        while (done < bulk) {
            ssize_t n = pwrite(fd, data + done, bulk - done, (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0 || (size_t)n % DIRECT_ALIGN)
                break; /* refused or short: the rest goes buffered */
            done += (size_t)n;
        }
        if (fcntl(fd, F_SETFL, fl) != 0)
            return err_sys(ERR_IO, "write %s", what);
        data += done;
        len -= done;
        if (lseek(fd, (off_t)done, SEEK_SET) < 0)
            return err_sys(ERR_IO, "seek %s", what);
    }
    return fs_write_all(fd, data, len) != 0 ? err_sys(ERR_IO, "write %s", what) : 0;
}

static int posix_put_nosync(store *s, const char *name, const void *data, size_t len)
{
    char p[PATH_MAX], tmp[PATH_MAX];
    int rc = full_path(s, name, p);
    if (rc)
        return rc;
    if (snprintf(tmp, sizeof tmp, "%s.%u.tmp", p, (unsigned)random()) >= (int)sizeof tmp)
        return err_set(ERR_FATAL, "path too long: %s", p);
    posix_store *ps = (posix_store *)s;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) { /* data/xx/ is made on first use */
        if ((rc = make_parent(ps, name)))
            return rc;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd < 0)
        return err_sys(ERR_IO, "create %s", tmp);
    if (ps->uid != (uid_t)-1 && fchown(fd, ps->uid, ps->gid) != 0)
        rc = err_sys(ERR_IO, "set owner of %s", tmp);
    if (!rc)
        rc = write_direct_then_buffered(fd, tmp, data, len);
    if (!rc) /* start writeback of what went buffered, so the later fsync finds little to do */
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (close(fd) != 0 && !rc)
        rc = err_sys(ERR_IO, "close %s", tmp);
    if (!rc && link(tmp, p) != 0) /* create-only, like put with exclusive */
        rc = err_sys(ERR_IO, "create %s", p);
    unlink(tmp);
    return rc;
}

static int posix_sync(store *s, const char *name)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    return rc ? rc : fs_fsync_file(p);
}

static int posix_sync_dir(store *s, const char *dir)
{
    char p[PATH_MAX];
    int rc = full_path(s, dir, p);
    return rc ? rc : fs_fsync_dir(p);
}

static int posix_get(store *s, const char *name, buf *out, size_t max)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    return rc ? rc : fs_read_file(p, out, max);
}

/* Finds or opens a cache slot for name and takes a reference; *slot is -1 when
 * every slot is busy (the caller reads without the cache). Slots in use are never
 * evicted. fd -1 marks a free slot (0 is a valid descriptor when stdin is closed). */
static int fd_acquire(posix_store *ps, const char *name, int *slotp)
{
    int slot = -1, victim = -1, rc = 0;
    pthread_mutex_lock(&ps->mu);
    for (int i = 0; i < FD_CACHE; i++) {
        if (ps->fds[i].fd >= 0 && !strcmp(ps->fds[i].name, name)) {
            slot = i;
            break;
        }
        if (!ps->fds[i].refs && (victim < 0 || ps->fds[i].last_use < ps->fds[victim].last_use))
            victim = i;
    }
    if (slot < 0 && victim >= 0 && strlen(name) < sizeof ps->fds[0].name) {
        char p[PATH_MAX];
        if (!(rc = full_path(&ps->base, name, p))) {
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                rc = err_sys(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "open %s", p);
            } else {
                if (ps->fds[victim].fd >= 0)
                    fd_close(&ps->fds[victim]);
                ps->fds[victim].fd = fd;
                snprintf(ps->fds[victim].name, sizeof ps->fds[victim].name, "%s", name);
                slot = victim;
            }
        }
    }
    if (slot >= 0) {
        ps->fds[slot].refs++;
        ps->fds[slot].last_use = ++ps->clock;
    }
    pthread_mutex_unlock(&ps->mu);
    *slotp = slot;
    return rc;
}

/* Drops the reference; [once_lo, once_hi) (if not empty) was read once and joins the
 * span fd_close lets go of. */
static void fd_release(posix_store *ps, int slot, uint64_t once_lo, uint64_t once_hi)
{
    fd_entry *e = &ps->fds[slot];
    pthread_mutex_lock(&ps->mu);
    e->refs--;
    if (once_hi > once_lo) {
        int empty = e->once_hi <= e->once_lo;
        e->once_lo = empty || once_lo < e->once_lo ? once_lo : e->once_lo;
        e->once_hi = empty || once_hi > e->once_hi ? once_hi : e->once_hi;
    }
    pthread_mutex_unlock(&ps->mu);
}

static int posix_get_range(store *s, const char *name, uint64_t off, size_t len, buf *out, int flags)
{
    posix_store *ps = (posix_store *)s;
    char p[PATH_MAX];
    int slot, rc = fd_acquire(ps, name, &slot);
    if (rc)
        return rc;
    if (slot < 0) { /* every cached descriptor busy: a plain read */
        rc = full_path(s, name, p);
        return rc ? rc : fs_read_range(p, off, len, out);
    }
    buf_reset(out);
    rc = buf_reserve(out, len);
    size_t got = 0;
    while (!rc && got < len) {
        ssize_t n = pread(ps->fds[slot].fd, out->data + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = err_sys(ERR_IO, "read %s", name);
        else if (n == 0)
            rc = err_set(ERR_DAMAGED, "%s is truncated: wanted %zu bytes at offset %llu", name, len,
                         (unsigned long long)off);
        else
            got += (size_t)n;
    }
    out->len = got;
    /* Read once: its cache pages are let go at once, so that a large restore does
     * not push out what the machine uses (its writes bypass the cache already); on a
     * busy disk it was also faster (docs/BENCHMARKS.md). */
    int once = !rc && (flags & STORE_ONCE);
    if (once)
        (void)posix_fadvise(ps->fds[slot].fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
    fd_release(ps, slot, off, once ? off + len : off);
    return rc;
}

/* A removed or replaced file must not be read through a stale descriptor. */
static void fd_forget(posix_store *ps, const char *name)
{
    pthread_mutex_lock(&ps->mu);
    for (int i = 0; i < FD_CACHE; i++)
        if (ps->fds[i].fd >= 0 && !ps->fds[i].refs && !strcmp(ps->fds[i].name, name)) {
            fd_close(&ps->fds[i]);
            ps->fds[i].name[0] = '\0';
        }
    pthread_mutex_unlock(&ps->mu);
}

static int stat_name(store *s, const char *name, struct stat *st)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    if (!rc && stat(p, st) != 0)
        rc = err_sys(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "stat %s", p);
    return rc;
}

static int posix_size(store *s, const char *name, uint64_t *size)
{
    struct stat st;
    int rc = stat_name(s, name, &st);
    if (!rc)
        *size = (uint64_t)st.st_size;
    return rc;
}

static int posix_mtime(store *s, const char *name, int64_t *mtime)
{
    struct stat st;
    int rc = stat_name(s, name, &st);
    if (!rc)
        *mtime = (int64_t)st.st_mtime;
    return rc;
}

static int posix_remove(store *s, const char *name)
{
    char p[PATH_MAX];
    fd_forget((posix_store *)s, name);
    int rc = full_path(s, name, p);
    if (rc)
        return rc;
    if (unlink(p) != 0 && errno != ENOENT)
        return err_sys(ERR_IO, "remove %s", p);
    return 0;
}

static int is_temp(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcmp(name + n - 4, ".tmp");
}

/* temps: list only the temporaries of unfinished writes, which are otherwise skipped */
static int list_dir(const char *root, const char *rel, int temps, store_list_fn fn, void *ctx)
{
    char p[PATH_MAX];
    int rc = fs_join(p, sizeof p, root, rel);
    if (rc)
        return rc;
    DIR *d = opendir(p);
    if (!d)
        return errno == ENOENT ? 0 : err_sys(ERR_IO, "list %s", p);
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.' || (!temps && strstr(e->d_name, ".tmp")))
            continue; /* temporaries of interrupted writes are not repository files */
        char child[PATH_MAX];
        if ((rc = fs_join(child, sizeof child, rel, e->d_name)))
            break;
        char full[PATH_MAX];
        struct stat st;
        if ((rc = fs_join(full, sizeof full, root, child)))
            break;
        if (stat(full, &st) != 0) {
            if (errno == ENOENT)
                continue; /* removed while listing */
            rc = err_sys(ERR_IO, "stat %s", full);
        } else if (S_ISDIR(st.st_mode)) {
            rc = list_dir(root, child, temps, fn, ctx);
        } else if (S_ISREG(st.st_mode) && (!temps || is_temp(e->d_name))) {
            rc = fn(child, (uint64_t)st.st_size, ctx);
        }
    }
    closedir(d);
    return rc;
}

static int posix_list(store *s, const char *dir, store_list_fn fn, void *ctx)
{
    return list_dir(((posix_store *)s)->root, dir, 0, fn, ctx);
}

static int posix_list_temp(store *s, const char *dir, store_list_fn fn, void *ctx)
{
    return list_dir(((posix_store *)s)->root, dir, 1, fn, ctx);
}

static int posix_free_space(store *s, uint64_t *bytes)
{
    struct statvfs v;
    if (statvfs(((posix_store *)s)->root, &v) != 0)
        return err_sys(ERR_IO, "free space of %s", s->location);
    *bytes = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    return 0;
}

static void posix_free(store *s)
{
    posix_store *ps = (posix_store *)s;
    for (int i = 0; i < FD_CACHE; i++)
        if (ps->fds[i].fd >= 0)
            fd_close(&ps->fds[i]);
    pthread_mutex_destroy(&ps->mu);
    free(s->location);
    free(s);
}

static const store_ops posix_ops = {
    .put = posix_put,   .get = posix_get,       .get_range = posix_get_range, .size = posix_size,
    .mtime = posix_mtime, .remove = posix_remove, .list = posix_list,       .put_nosync = posix_put_nosync,
    .sync = posix_sync, .sync_dir = posix_sync_dir, .free = posix_free, .list_temp = posix_list_temp,
    .free_space = posix_free_space};

int store_posix_open(const char *path, int create, store **out)
{
    static const char *dirs[] = {"data", "index", "snapshots", "keys", "locks", "audit", "holds"};
    posix_store *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(ERR_FATAL, "out of memory");
    if (!realpath(path, s->root)) {
        if (!create || errno != ENOENT || snprintf(s->root, sizeof s->root, "%s", path) >= PATH_MAX) {
            int rc = err_sys(errno == ENOENT ? ERR_NOREPO : ERR_IO, "repository %s", path);
            free(s);
            return rc;
        }
    }
    s->base.ops = &posix_ops;
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < FD_CACHE; i++)
        s->fds[i].fd = -1;
    s->base.location = strdup(s->root);
    int rc = s->base.location ? 0 : err_set(ERR_FATAL, "out of memory");
    if (!rc && create)
        rc = fs_mkdirs(s->root, 0700);
    struct stat st;
    s->uid = (uid_t)-1;
    s->gid = (gid_t)-1;
    if (!rc && stat(s->root, &st) == 0 && geteuid() == 0 && st.st_uid != 0) {
        s->uid = st.st_uid; /* root working in another user's repository: keep it theirs */
        s->gid = st.st_gid;
    }
    for (size_t i = 0; create && !rc && i < sizeof dirs / sizeof *dirs; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s/x", dirs[i]);
        rc = make_parent(s, name);
    }
    if (!rc && create)
        rc = fs_fsync_dir(s->root);
    if (rc) {
        posix_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

void store_free(store **s)
{
    if (*s)
        (*s)->ops->free(*s);
    *s = NULL;
}
