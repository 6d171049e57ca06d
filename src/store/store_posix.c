/* store_posix — the store backend for a local (or mounted) folder. */
#define _GNU_SOURCE
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fsutil.h"

typedef struct posix_store {
    store base;
    char root[PATH_MAX];
} posix_store;

static int full_path(store *s, const char *name, char *out)
{
    return fs_join(out, PATH_MAX, ((posix_store *)s)->root, name);
}

static int posix_put(store *s, const char *name, const void *data, size_t len, int exclusive)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    if (rc)
        return rc;
    rc = fs_write_durable(p, data, len, 0600, exclusive);
    if (rc && errno == ENOENT) {
        /* data/xx/ sub-folders are made on first use. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", p);
        *strrchr(dir, '/') = '\0';
        if ((rc = fs_mkdirs(dir, 0700)))
            return rc;
        rc = fs_write_durable(p, data, len, 0600, exclusive);
    }
    return rc;
}

static int posix_get(store *s, const char *name, buf *out, size_t max)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    return rc ? rc : fs_read_file(p, out, max);
}

static int posix_get_range(store *s, const char *name, uint64_t off, size_t len, buf *out)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    return rc ? rc : fs_read_range(p, off, len, out);
}

static int posix_size(store *s, const char *name, uint64_t *size)
{
    char p[PATH_MAX];
    struct stat st;
    int rc = full_path(s, name, p);
    if (rc)
        return rc;
    if (stat(p, &st) != 0)
        return err_sys(errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "stat %s", p);
    *size = (uint64_t)st.st_size;
    return 0;
}

static int posix_remove(store *s, const char *name)
{
    char p[PATH_MAX];
    int rc = full_path(s, name, p);
    if (rc)
        return rc;
    if (unlink(p) != 0 && errno != ENOENT)
        return err_sys(ERR_IO, "remove %s", p);
    return 0;
}

static int list_dir(const char *root, const char *rel, store_list_fn fn, void *ctx)
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
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp"))
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
            rc = list_dir(root, child, fn, ctx);
        } else if (S_ISREG(st.st_mode)) {
            rc = fn(child, (uint64_t)st.st_size, ctx);
        }
    }
    closedir(d);
    return rc;
}

static int posix_list(store *s, const char *dir, store_list_fn fn, void *ctx)
{
    return list_dir(((posix_store *)s)->root, dir, fn, ctx);
}

static void posix_free(store *s)
{
    free(s->location);
    free(s);
}

static const store_ops posix_ops = {posix_put, posix_get, posix_get_range, posix_size,
                                    posix_remove, posix_list, posix_free};

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
    s->base.location = strdup(s->root);
    int rc = s->base.location ? 0 : err_set(ERR_FATAL, "out of memory");
    for (size_t i = 0; create && !rc && i < sizeof dirs / sizeof *dirs; i++) {
        char p[PATH_MAX];
        if (!(rc = fs_join(p, sizeof p, s->root, dirs[i])))
            rc = fs_mkdirs(p, 0700);
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
