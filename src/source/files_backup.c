/* files_backup — the backup half of the files source (see files.h). It walks the
 * file system depth-first and writes each folder's tree after its children;
 * unchanged files (same size, mtime, ctime and inode as in the parent snapshot)
 * keep their content list without being read. */
#define _GNU_SOURCE
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/pool.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/stream.h"
#include "../repo/walk.h"
#include "sparse.h"
#include "xattr.h"

/* ---- backup ------------------------------------------------------------------ */

typedef struct backup_ctx {
    repo *r;
    const files_backup_opts *o;
    snapshot_summary *sum;
    progress prog;
    blob_stream *bs; /* file contents into blobs, one file at a time */
    dev_t dev;       /* the file system of the backed-up path being walked (--one-file-system) */
} backup_ctx;

static void node_from_stat(tree_node *n, const struct stat *st)
{
    n->mode = st->st_mode & 07777;
    n->uid = st->st_uid;
    n->gid = st->st_gid;
    n->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
    n->mtime = st->st_mtim.tv_sec;
    n->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
    n->ctime = st->st_ctim.tv_sec;
    n->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
    n->atime = st->st_atim.tv_sec;
    n->atime_ns = (uint32_t)st->st_atim.tv_nsec;
    n->inode = st->st_ino;
    n->dev = st->st_dev;
    n->rdev = st->st_rdev;
    n->nlink = (uint32_t)st->st_nlink;
    if (S_ISREG(st->st_mode))
        n->type = NODE_FILE;
    else if (S_ISDIR(st->st_mode))
        n->type = NODE_DIR;
    else if (S_ISLNK(st->st_mode))
        n->type = NODE_SYMLINK;
    else if (S_ISFIFO(st->st_mode))
        n->type = NODE_FIFO;
    else if (S_ISCHR(st->st_mode))
        n->type = NODE_CHR;
    else if (S_ISBLK(st->st_mode))
        n->type = NODE_BLK;
    else
        n->type = NODE_SOCK;
}

static int save_tree(backup_ctx *c, tree *t, uint8_t id[32])
{
    buf b;
    int added;
    buf_init(&b, 0);
    tree_sort(t);
    int rc = tree_encode(t, &b);
    if (!rc) {
        repo_blob_id(c->r, b.data, b.len, id);
        rc = repo_blob_save(c->r, BLOB_TREE, b.data, b.len, id, &added);
    }
    buf_free(&b);
    return rc;
}

static void warn_skip(backup_ctx *c, const char *what, const char *path)
{
    LOG_WARN("cannot %s %s: %s (left out of the snapshot)", what, path, strerror(errno));
    c->sum->files_failed++;
}

static int unchanged(backup_ctx *c, const tree_node *n, const tree_node *old)
{
    if (!old || old->type != NODE_FILE || old->size != n->size || old->mtime != n->mtime ||
        old->mtime_ns != n->mtime_ns || old->ctime != n->ctime || old->ctime_ns != n->ctime_ns ||
        old->inode != n->inode)
        return 0;
    for (uint32_t i = 0; i < old->ncontent; i++)
        if (!repo_blob_known(c->r, BLOB_DATA, old->content[i]))
            return 0; /* e.g. pruned or damaged: read it again */
    return 1;
}

/* Reads one file in blocks straight into the stream's chunk buffer (no copy): at
 * each cut the buffer goes to a worker as it is. Returns 0 with *skipped set when
 * the file cannot be read. */
#define READ_BLOCK (256 * 1024)

/* tar's "file changed as we read it": a file whose size, mtime or ctime moved
 * between the stat and the end of reading, or that gave more or fewer bytes than
 * its size, is stored as read, but warned about and counted (the snapshot is partial). */
static void check_unchanged_while_read(backup_ctx *c, int fd, const char *path, const tree_node *n, uint64_t got)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        LOG_WARN("cannot stat %s after reading it: %s (stored as read, the snapshot is partial)", path,
                 strerror(errno));
        c->sum->files_failed++;
        return;
    }
    if (got == n->size && (uint64_t)st.st_size == n->size && st.st_ino == n->inode &&
        st.st_mtim.tv_sec == n->mtime && (uint32_t)st.st_mtim.tv_nsec == n->mtime_ns &&
        st.st_ctim.tv_sec == n->ctime && (uint32_t)st.st_ctim.tv_nsec == n->ctime_ns)
        return;
    LOG_WARN("file changed as we read it: %s (%llu bytes read, size %llu before, %llu after; stored as read, "
             "the snapshot is partial)",
             path, (unsigned long long)got, (unsigned long long)n->size, (unsigned long long)st.st_size);
    c->sum->files_failed++;
}

/* st: the lstat that made n (a file replaced since is caught after the read). */
static int read_file(backup_ctx *c, const char *path, const struct stat *st, tree_node *n, int *skipped)
{
    int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == EPERM)
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        warn_skip(c, "read", path);
        *skipped = 1;
        return 0;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    sparse_map m;
    sparse_map_init(&m, st);
    int rc = 0, zeros;
    uint64_t off = 0;
    for (;;) {
        uint8_t *p;
        size_t cap;
        if ((rc = blob_stream_space(c->bs, &p, &cap)))
            break;
        ssize_t got = sparse_read(fd, off, p, cap < READ_BLOCK ? cap : READ_BLOCK, &m, &zeros);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            warn_skip(c, "read", path);
            *skipped = 1;
            break;
        }
        if (got == 0)
            break;
        off += (uint64_t)got;
        c->sum->bytes_read += zeros ? 0 : (uint64_t)got; /* a hole costs no reading */
        progress_add(&c->prog, 0, (uint64_t)got);
        if ((rc = blob_stream_commit(c->bs, (size_t)got)))
            break;
    }
    if (!rc && !*skipped)
        check_unchanged_while_read(c, fd, path, n, off);
    close(fd);
    if (rc || *skipped) {
        blob_stream_discard(c->bs);
        return rc;
    }
    if (m.had_hole)
        n->flags |= NODE_FLAG_SPARSE;
    return blob_stream_end(c->bs, n); /* its size: what was read, even if it grew or shrank meanwhile */
}

static int backup_dir(backup_ctx *c, const char *path, const tree_node *old, uint8_t out[32]);
static int backup_node(backup_ctx *c, const char *path, const char *name, const struct stat *stp,
                       const tree_node *old, tree *t, int boundary);

/* --one-file-system: is path on another file system than the backed-up path it
 * lies below? A path given on the command line is never a boundary, even when it
 * is a mount point below another given path: it sets the file system for what is
 * below it. */
static int is_boundary(backup_ctx *c, const char *path, const struct stat *st, int top)
{
    if (!c->o->one_file_system || top || st->st_dev == c->dev)
        return 0;
    for (size_t i = 0; i < c->o->ngiven; i++)
        if (!strcmp(c->o->given[i], path))
            return 0;
    return 1;
}

/* Backs up path into t as a node called name; old is the parent snapshot's node;
 * top: path is one of the paths given. */
static int backup_path(backup_ctx *c, const char *path, const char *name, const tree_node *old, tree *t, int top)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0; /* vanished since the folder was listed */
        warn_skip(c, "stat", path);
        return 0;
    }
    int boundary = is_boundary(c, path, &st, top);
    if (boundary && !S_ISDIR(st.st_mode))
        return 0; /* a file mounted on its own (bind mount) belongs to the other file system */
    dev_t outer = c->dev;
    c->dev = boundary ? c->dev : st.st_dev;
    int rc = backup_node(c, path, name, &st, old, t, boundary);
    c->dev = outer;
    return rc;
}

static int backup_virtual(backup_ctx *c, const char *prefix, char **paths, size_t n, const uint8_t *old_id,
                          uint8_t out[32]);

/* A mount point --one-file-system does not cross: an empty folder, unless paths
 * given on the command line lie below it ("-x /srv /srv/mnt/keep"): then it holds
 * just the way to them, as the folders above every backed-up path do. */
static int backup_boundary(backup_ctx *c, const char *path, const tree_node *old, uint8_t out[32])
{
    char **below = calloc(c->o->ngiven ? c->o->ngiven : 1, sizeof *below);
    size_t k = 0;
    int rc = below ? 0 : err_set(ERR_FATAL, "out of memory");
    for (size_t i = 0; !rc && i < c->o->ngiven; i++) {
        if (!strcmp(c->o->given[i], path) || !files_is_inside(c->o->given[i], path))
            continue;
        if (!(below[k] = strdup(c->o->given[i])))
            rc = err_set(ERR_FATAL, "out of memory");
        else
            k++;
    }
    if (!rc && k) {
        files_normalize_paths(below, &k);
        rc = backup_virtual(c, path, below, k, old ? old->subtree : NULL, out);
    } else if (!rc) {
        tree empty;
        tree_init(&empty);
        LOG_VERBOSE("%s: another file system, stored as an empty folder (--one-file-system)", path);
        rc = save_tree(c, &empty, out);
    }
    for (size_t i = 0; below && i < k; i++)
        free(below[i]);
    free(below);
    return rc;
}

/* backup_path once the entry is known; boundary: a mount point that --one-file-system
 * does not cross, stored as an empty folder with its own metadata (as restic does). */
static int backup_node(backup_ctx *c, const char *path, const char *name, const struct stat *stp,
                       const tree_node *old, tree *t, int boundary)
{
    tree_node n;
    memset(&n, 0, sizeof n);
    node_from_stat(&n, stp);
    if (!(n.name = strdup(name)))
        return err_set(ERR_FATAL, "out of memory");
    int rc = xattr_read(path, 0, &n, &c->sum->files_failed), skipped = 0;
    if (rc) {
        tree_node_free(&n);
        return rc;
    }
    if (n.type == NODE_DIR && boundary) {
        rc = backup_boundary(c, path, old && old->type == NODE_DIR ? old : NULL, n.subtree);
        c->sum->dirs++;
    } else if (n.type == NODE_DIR) {
        rc = backup_dir(c, path, old && old->type == NODE_DIR ? old : NULL, n.subtree);
        c->sum->dirs++;
    } else if (n.type == NODE_SYMLINK) {
        char target[PATH_MAX];
        ssize_t l = readlink(path, target, sizeof target - 1);
        if (l < 0) {
            warn_skip(c, "read link", path);
            skipped = 1;
        } else {
            target[l] = '\0';
            if (!(n.link = strdup(target)))
                rc = err_set(ERR_FATAL, "out of memory");
        }
    } else if (n.type == NODE_FILE) {
        c->sum->total_files++;
        if (unchanged(c, &n, old)) {
            size_t sz = (size_t)old->ncontent * 32;
            if (sz && !(n.content = malloc(sz)))
                return err_set(ERR_FATAL, "out of memory");
            if (sz)
                memcpy(n.content, old->content, sz);
            n.ncontent = old->ncontent;
            n.flags |= old->flags & NODE_FLAG_SPARSE;
            c->sum->files_unchanged++;
            progress_add(&c->prog, 1, n.size);
        } else {
            rc = read_file(c, path, stp, &n, &skipped);
            if (!skipped) {
                if (old)
                    c->sum->files_changed++;
                else
                    c->sum->files_new++;
            }
            progress_add(&c->prog, 1, 0);
        }
        if (!skipped)
            c->sum->total_bytes += n.size;
    }
    if (!rc && !skipped)
        rc = tree_add(t, &n);
    tree_node_free(&n);
    return rc;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_names(const char *path, char ***names, size_t *n)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            char **p = realloc(*names, cap * sizeof *p);
            if (!p) {
                rc = err_set(ERR_FATAL, "out of memory");
                break;
            }
            *names = p;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            rc = err_set(ERR_FATAL, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(*names, *n, sizeof **names, cmp_name);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int backup_dir(backup_ctx *c, const char *path, const tree_node *old, uint8_t out[32])
{
    char **names = NULL;
    size_t n = 0;
    tree t, old_tree;
    tree_init(&t);
    tree_init(&old_tree);
    int rc = list_names(path, &names, &n);
    if (rc < 0) { /* unreadable folder: kept as an empty folder, with a warning */
        warn_skip(c, "list", path);
        rc = 0;
    }
    if (!rc && old && walk_load_tree(c->r, old->subtree, &old_tree) != 0) {
        LOG_DEBUG("parent tree of %s unreadable, reading all files: %s", path, err_msg());
        err_clear();
    }
    for (size_t i = 0; !rc && i < n; i++) {
        char child[PATH_MAX];
        if (fs_join(child, sizeof child, path, names[i]) != 0) {
            LOG_WARN("path too long, left out: %s/%s", path, names[i]);
            c->sum->files_failed++;
            err_clear();
            continue;
        }
        if (pattern_list_match(c->o->excludes, child))
            continue;
        rc = backup_path(c, child, names[i], tree_find(&old_tree, names[i]), &t, 0);
    }
    if (!rc)
        rc = save_tree(c, &t, out);
    free_names(names, n);
    tree_free(&t);
    tree_free(&old_tree);
    return rc;
}

/* Folders above the backed-up paths ("/", "/home"...) are stored with their own
 * metadata but only the children that lead to a backed-up path. */
static int backup_virtual(backup_ctx *c, const char *prefix, char **paths, size_t n, const uint8_t *old_id,
                          uint8_t out[32])
{
    tree t, old_tree;
    tree_init(&t);
    tree_init(&old_tree);
    int rc = 0;
    if (old_id && walk_load_tree(c->r, old_id, &old_tree) != 0)
        err_clear();
    size_t plen = strcmp(prefix, "/") ? strlen(prefix) : 0;
    for (size_t i = 0; !rc && i < n;) {
        const char *rest = paths[i] + plen + 1;
        size_t clen = strcspn(rest, "/");
        char name[NAME_MAX + 1], child[PATH_MAX];
        snprintf(name, sizeof name, "%.*s", (int)clen, rest);
        snprintf(child, sizeof child, "%.*s", (int)(plen + 1 + clen), paths[i]);
        size_t j = i;
        while (j < n && files_is_inside(paths[j], child))
            j++;
        const tree_node *old = tree_find(&old_tree, name);
        if (j == i + 1 && !strcmp(paths[i], child)) {
            rc = backup_path(c, child, name, old, &t, 1);
        } else {
            struct stat st;
            tree_node node;
            memset(&node, 0, sizeof node);
            /* stat, not lstat: a symlink on the way ("lnk/sub", lnk -> real) is stored
             * as the folder it leads to, with that folder's owner and mode (as restic
             * does); the link's own 0777 would open the restored folder to everyone */
            if (stat(child, &st) != 0) {
                rc = err_sys(ERR_NOTFOUND, "stat %s", child);
            } else if (!S_ISDIR(st.st_mode)) {
                rc = err_set(ERR_NOTFOUND, "backup path below %s: not a folder", child);
            } else {
                node_from_stat(&node, &st);
                if (!(node.name = strdup(name)))
                    rc = err_set(ERR_FATAL, "out of memory");
                if (!rc)
                    rc = xattr_read(child, 1, &node, &c->sum->files_failed);
                if (!rc)
                    rc = backup_virtual(c, child, paths + i, j - i,
                                        old && old->type == NODE_DIR ? old->subtree : NULL, node.subtree);
                if (!rc)
                    rc = tree_add(&t, &node);
            }
            tree_node_free(&node);
        }
        i = j;
    }
    if (!rc)
        rc = save_tree(c, &t, out);
    tree_free(&t);
    tree_free(&old_tree);
    return rc;
}

static void prescan(backup_ctx *c, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        c->prog.total_files++;
        c->prog.total_bytes += (uint64_t)st.st_size;
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return;
    char **names;
    size_t n;
    if (list_names(path, &names, &n) != 0) {
        err_clear();
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char child[PATH_MAX];
        if (fs_join(child, sizeof child, path, names[i]) == 0 &&
            !pattern_list_match(c->o->excludes, child))
            prescan(c, child);
    }
    err_clear();
    free_names(names, n);
}

int files_backup(repo *r, const files_backup_opts *o, uint8_t tree_id[32], snapshot_summary *sum)
{
    backup_ctx c = {.r = r, .o = o, .sum = sum};
    int rc = blob_stream_new(r, &c.bs);
    for (size_t i = 0; !rc && i < o->npaths; i++) {
        struct stat st;
        if (lstat(o->paths[i], &st) != 0)
            rc = err_sys(ERR_NOTFOUND, "backup path %s", o->paths[i]);
    }
    progress_start(&c.prog, "backup", o->progress);
    for (size_t i = 0; !rc && o->progress && i < o->npaths; i++)
        prescan(&c, o->paths[i]);
    if (!rc && o->npaths == 1 && !strcmp(o->paths[0], "/")) {
        /* the whole file system: the root folder itself is the backed-up path */
        tree_node root = {0};
        struct stat st;
        if (lstat("/", &st) == 0)
            c.dev = st.st_dev;
        if (o->parent)
            memcpy(root.subtree, o->parent->tree, 32);
        rc = backup_dir(&c, "/", o->parent ? &root : NULL, tree_id);
    } else if (!rc) {
        rc = backup_virtual(&c, "/", o->paths, o->npaths, o->parent ? o->parent->tree : NULL, tree_id);
    }
    progress_end(&c.prog);
    blob_stream_free(&c.bs);
    return rc;
}
