/* files_restore — the restore half of the files source (see files.h): trees back
 * into folders, files, links and special files with their metadata. */
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

/* ---- restore ------------------------------------------------------------------ */

/* The main thread walks the trees, creating folders, links and special files; file
 * contents are written by a worker pool. What must come after the contents (hard
 * links to a restored file, the times and modes of folders) is applied once the
 * pool is idle. */

typedef struct hardlink {
    uint64_t dev, inode;
    char *path;
} hardlink;

typedef struct deferred {
    char *path;
    char *target; /* hard links: the first path of the inode */
    tree_node meta;
} deferred;

typedef struct restore_ctx {
    repo *r;
    const files_restore_opts *o;
    files_restore_stats *st;
    progress prog;
    pool *workers;
    buf *bufs; /* one per worker */
    blob_reader *readers; /* one per worker */
    uint8_t **stages;     /* one aligned O_DIRECT staging buffer per worker, or NULL */
    pthread_mutex_t mu; /* guards st, prog, stderr lines */
    hardlink *links;
    size_t nlinks, links_cap;
    deferred *later; /* folders' metadata and hard links, in order */
    size_t nlater, later_cap;
    int as_root;
} restore_ctx;

static void restore_fail(restore_ctx *c, const char *path, const char *why)
{
    pthread_mutex_lock(&c->mu);
    fprintf(stderr, "error: restore %s: %s\n", path, why);
    c->st->errors++;
    pthread_mutex_unlock(&c->mu);
}

/* Extended attributes (ACLs, capabilities): each one that cannot be set is warned
 * about by xattr_apply and counted here. */
static void set_xattrs(restore_ctx *c, int fd, const char *path, const tree_node *n)
{
    unsigned failed = xattr_apply(fd, path, n);
    if (failed) {
        pthread_mutex_lock(&c->mu);
        c->st->xattr_failed += failed;
        pthread_mutex_unlock(&c->mu);
    }
}

/* Owner before attributes (chown clears capabilities) before mode (chown clears
 * setuid; an ACL rewrites the group bits), times last. */
static void set_meta(restore_ctx *c, const char *path, const tree_node *n)
{
    int is_link = n->type == NODE_SYMLINK;
    if (lchown(path, n->uid, n->gid) != 0 && (c->as_root || errno != EPERM))
        LOG_WARN("cannot set owner of %s: %s", path, strerror(errno));
    set_xattrs(c, -1, path, n);
    if (!is_link && chmod(path, n->mode) != 0)
        LOG_WARN("cannot set mode of %s: %s", path, strerror(errno));
    struct timespec ts[2] = {{n->atime, n->atime_ns}, {n->mtime, n->mtime_ns}};
    if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
        LOG_WARN("cannot set times of %s: %s", path, strerror(errno));
}

static const char *find_link(restore_ctx *c, const tree_node *n)
{
    for (size_t i = 0; i < c->nlinks; i++)
        if (c->links[i].dev == n->dev && c->links[i].inode == n->inode)
            return c->links[i].path;
    return NULL;
}

static int remember_link(restore_ctx *c, const tree_node *n, const char *path)
{
    int rc = array_grow(&c->links, &c->links_cap, c->nlinks + 1, sizeof *c->links, 16);
    if (rc)
        return rc;
    if (!(c->links[c->nlinks].path = strdup(path)))
        return err_set(ERR_FATAL, "out of memory");
    c->links[c->nlinks].dev = n->dev;
    c->links[c->nlinks].inode = n->inode;
    c->nlinks++;
    return 0;
}

static int defer(restore_ctx *c, const char *path, const char *target, const tree_node *n)
{
    int rc = array_grow(&c->later, &c->later_cap, c->nlater + 1, sizeof *c->later, 64);
    if (rc)
        return rc;
    deferred *d = &c->later[c->nlater];
    memset(d, 0, sizeof *d);
    if ((rc = tree_node_copy_meta(n, &d->meta))) /* metadata only: names and content are not kept */
        return rc;
    d->path = strdup(path);
    d->target = target ? strdup(target) : NULL;
    if (!d->path || (target && !d->target)) {
        free(d->path);
        free(d->target);
        tree_node_free(&d->meta);
        return err_set(ERR_FATAL, "out of memory");
    }
    c->nlater++;
    return 0;
}

typedef struct file_job {
    restore_ctx *c;
    tree_node node;
    char dest[];
} file_job;

/* Writes every blob of n to fd, each authenticated before a byte of it is written. */
static int write_content(restore_ctx *c, int fd, const char *what, const tree_node *n, buf *blob, blob_reader *br,
                         uint64_t *bytes)
{
    int sparse = n->flags & NODE_FLAG_SPARSE; /* zero blocks become holes again */
    for (uint32_t i = 0; i < n->ncontent; i++) {
        int rc = repo_blob_read(c->r, br, BLOB_DATA, n->content[i], blob, 0);
        if (rc)
            return rc;
        if (sparse ? sparse_pwrite(fd, blob->data, blob->len, *bytes) < 0 : fs_write_all(fd, blob->data, blob->len) != 0)
            return err_sys(ERR_IO, "write %s", what);
        *bytes += blob->len;
    }
    if (sparse && ftruncate(fd, (off_t)*bytes) != 0) /* a hole at the end is only a size */
        return err_sys(ERR_IO, "truncate %s", what);
    return 0;
}

/* Large files bypass the page cache: restored data is written once, by DMA, rather
 * than copied into cache pages that the restore will never read. O_DIRECT needs
 * aligned buffers, offsets and lengths, so data is staged in an aligned buffer, the
 * last block is padded and the file then cut to its size. */
#define DIRECT_ALIGN 4096
#define DIRECT_STAGE (4u << 20)
#define DIRECT_MIN (1u << 20) /* smaller files: buffered writes are cheaper */

static int direct_flush(int fd, const char *what, uint8_t *stage, size_t len, uint64_t off, int sparse)
{
    size_t padded = (len + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
    memset(stage + len, 0, padded - len);
    ssize_t w = sparse ? sparse_pwrite(fd, stage, padded, off) : pwrite(fd, stage, padded, (off_t)off);
    if (w < 0 && errno == EINVAL) { /* refused after all: finish buffered */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_DIRECT) == 0)
            w = sparse ? sparse_pwrite(fd, stage, padded, off) : pwrite(fd, stage, padded, (off_t)off);
    }
    if (w != (ssize_t)padded)
        return w < 0 ? err_sys(ERR_IO, "write %s", what) : err_set(ERR_IO, "write %s: short write", what);
    return 0;
}

static int write_content_direct(restore_ctx *c, int fd, const char *what, const tree_node *n, buf *blob,
                                blob_reader *br, uint8_t *stage, uint64_t *bytes)
{
    size_t fill = 0;
    uint64_t off = 0;
    int rc = 0, sparse = n->flags & NODE_FLAG_SPARSE;
    for (uint32_t i = 0; !rc && i < n->ncontent; i++) {
        if ((rc = repo_blob_read(c->r, br, BLOB_DATA, n->content[i], blob, 0)))
            break;
        for (size_t done = 0; !rc && done < blob->len;) {
            size_t take = blob->len - done < DIRECT_STAGE - fill ? blob->len - done : DIRECT_STAGE - fill;
            memcpy(stage + fill, blob->data + done, take);
            fill += take;
            done += take;
            if (fill == DIRECT_STAGE) {
                rc = direct_flush(fd, what, stage, fill, off, sparse);
                off += fill;
                fill = 0;
            }
        }
        *bytes += blob->len;
    }
    if (!rc && fill)
        rc = direct_flush(fd, what, stage, fill, off, sparse);
    off += fill;
    if (!rc && (fill || sparse) && ftruncate(fd, (off_t)off) != 0) /* drop the padding; a final hole */
        rc = err_sys(ERR_IO, "truncate %s", what);
    return rc;
}

/* As set_meta, through the open file. */
static void set_meta_fd(restore_ctx *c, int fd, const char *path, const tree_node *n)
{
    if (fchown(fd, n->uid, n->gid) != 0 && (c->as_root || errno != EPERM))
        LOG_WARN("cannot set owner of %s: %s", path, strerror(errno));
    set_xattrs(c, fd, path, n);
    if (fchmod(fd, n->mode) != 0)
        LOG_WARN("cannot set mode of %s: %s", path, strerror(errno));
    struct timespec ts[2] = {{n->atime, n->atime_ns}, {n->mtime, n->mtime_ns}};
    if (futimens(fd, ts) != 0)
        LOG_WARN("cannot set times of %s: %s", path, strerror(errno));
}

/* A file takes its name only when complete: written as an unnamed O_TMPFILE inode
 * and linked in at the end (one directory operation), or, where that is not
 * possible or the name exists, written under a temporary name and renamed over it.
 * A file with a bad blob is reported and never appears. */
/* --delta: does the file at dest already hold exactly n's content? It is chunked as
 * a backup would chunk it and the blob ids compared, stopping at the first difference. */
static int same_content(restore_ctx *c, const char *dest, const tree_node *n, buf *b)
{
    const chunker *ch = repo_chunker(c->r);
    struct stat st;
    int fd = open(dest, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    buf_reset(b);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != n->size || buf_reserve(b, ch->max)) {
        err_clear();
        close(fd);
        return 0;
    }
    size_t len = 0;
    uint32_t k = 0;
    chunker_state cs = {0, 0};
    int eof = 0, same = 1;
    while (same) {
        if (!eof && len < ch->max) {
            ssize_t got = read(fd, b->data + len, ch->max - len);
            if (got < 0) {
                same = errno == EINTR;
                continue;
            }
            eof = got == 0;
            len += (size_t)got;
        }
        if (!len)
            break;
        size_t cut = chunker_scan(ch, b->data, len, eof, &cs);
        if (!cut)
            continue;
        uint8_t id[32];
        repo_blob_id(c->r, b->data, cut, id);
        same = k < n->ncontent && !memcmp(id, n->content[k], 32);
        k++;
        memmove(b->data, b->data + cut, len - cut);
        len -= cut;
        cs = (chunker_state){0, 0};
    }
    close(fd);
    return same && k == n->ncontent;
}

static int restore_file(restore_ctx *c, const char *dest, const tree_node *n, buf *blob, blob_reader *br,
                        uint8_t *stage)
{
    if (c->o->delta && same_content(c, dest, n, blob)) {
        set_meta(c, dest, n);
        pthread_mutex_lock(&c->mu);
        c->st->unchanged++;
        progress_add(&c->prog, 1, n->size);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    char tmp[PATH_MAX], dir[PATH_MAX], proc[64];
    const char *slash = strrchr(dest, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - dest) : 1, slash ? dest : ".");
    if (snprintf(tmp, sizeof tmp, "%s.lifeline-restore.tmp", dest) >= (int)sizeof tmp)
        return err_set(ERR_USAGE, "path too long: %s", dest);
    int direct = stage && n->size >= DIRECT_MIN ? O_DIRECT : 0;
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC | direct, 0600);
    if (fd < 0 && direct && errno == EINVAL) /* no O_DIRECT here: buffered */
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC | (direct = 0), 0600);
    int anonymous = fd >= 0;
    if (!anonymous)
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | (direct = 0), 0600);
    if (fd < 0)
        return err_sys(ERR_IO, "create %s", tmp);
    uint64_t bytes = 0;
    int rc = direct ? write_content_direct(c, fd, dest, n, blob, br, stage, &bytes)
                    : write_content(c, fd, dest, n, blob, br, &bytes);
    if (!rc) {
        set_meta_fd(c, fd, dest, n);
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (anonymous && linkat(AT_FDCWD, proc, AT_FDCWD, dest, AT_SYMLINK_FOLLOW) != 0) {
            /* the name exists (or /proc is missing): link aside and rename over it */
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) != 0)
                rc = err_sys(ERR_IO, "create %s", tmp);
            anonymous = 0;
        }
        if (!rc && !anonymous && rename(tmp, dest) != 0)
            rc = err_sys(ERR_IO, "rename %s to %s", tmp, dest);
    }
    if (close(fd) != 0 && !rc)
        rc = err_sys(ERR_IO, "close %s", dest);
    if (rc) {
        if (!anonymous)
            unlink(tmp);
        if (rc == ERR_DAMAGED) { /* damage: report this file, go on with the rest */
            restore_fail(c, dest, err_msg());
            err_clear();
            return 0;
        }
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    c->st->files++;
    c->st->bytes += bytes;
    progress_add(&c->prog, 1, bytes);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int file_job_run(void *arg, unsigned worker)
{
    file_job *j = arg;
    int rc = restore_file(j->c, j->dest, &j->node, &j->c->bufs[worker], &j->c->readers[worker],
                          j->c->stages ? j->c->stages[worker] : NULL);
    tree_node_free(&j->node);
    free(j);
    return rc;
}

static int submit_file(restore_ctx *c, const char *dest, const tree_node *n)
{
    size_t l = strlen(dest) + 1;
    file_job *j = malloc(sizeof *j + l);
    if (!j)
        return err_set(ERR_FATAL, "out of memory");
    j->c = c;
    memcpy(j->dest, dest, l);
    int rc = tree_node_copy(n, &j->node);
    if (rc) {
        free(j);
        return rc;
    }
    if ((rc = pool_submit(c->workers, file_job_run, j))) {
        tree_node_free(&j->node);
        free(j);
    }
    return rc;
}

/* A pattern that matches a folder matches everything below it, so what a parent
 * matched needs no passing down, and a later '!' pattern can still take a child out. */
static int wanted(restore_ctx *c, const char *snap_path, int matched)
{
    (void)matched;
    if (pattern_list_match(c->o->excludes, snap_path))
        return 0;
    return !c->o->includes || pattern_list_match(c->o->includes, snap_path);
}

static int restore_tree(restore_ctx *c, const uint8_t id[32], const char *dest, const char *snap, int matched,
                        int *any);

static int restore_special(restore_ctx *c, const tree_node *n, const char *dest)
{
    unlink(dest); /* replace whatever is there */
    int r;
    if (n->type == NODE_SYMLINK)
        r = symlink(n->link ? n->link : "", dest);
    else if (n->type == NODE_FIFO)
        r = mkfifo(dest, 0600);
    else if (n->type == NODE_CHR || n->type == NODE_BLK)
        r = mknod(dest, (n->type == NODE_CHR ? S_IFCHR : S_IFBLK) | 0600, (dev_t)n->rdev);
    else
        return 0; /* sockets belong to the process that made them */
    if (r != 0) {
        LOG_WARN("cannot create %s: %s", dest, strerror(errno));
        pthread_mutex_lock(&c->mu);
        c->st->errors++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    set_meta(c, dest, n);
    pthread_mutex_lock(&c->mu);
    c->st->files++;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int restore_node(restore_ctx *c, const tree_node *n, const char *dest_dir, const char *snap_dir, int matched,
                        int *any)
{
    char dest[PATH_MAX], snap[PATH_MAX];
    if (fs_join(dest, sizeof dest, dest_dir, n->name) || fs_join(snap, sizeof snap, snap_dir, n->name))
        return ERR_USAGE;
    if (pattern_list_match(c->o->excludes, snap))
        return 0;
    int self = wanted(c, snap, matched);
    struct stat old;
    if (c->o->delta && lstat(dest, &old) == 0 && S_ISDIR(old.st_mode) != (n->type == NODE_DIR)) {
        int rc = fs_remove_tree(dest); /* a folder where a file belongs, or the other way round */
        if (rc)
            return rc;
        c->st->removed++;
    }
    if (n->type == NODE_DIR) {
        int created = mkdir(dest, 0700) == 0, inner = 0;
        if (!created && errno != EEXIST)
            return err_sys(ERR_IO, "create folder %s", dest);
        int rc = restore_tree(c, n->subtree, dest, snap, self && c->o->includes ? 1 : matched, &inner);
        if (rc)
            return rc;
        if (self || inner) {
            *any = 1;
            c->st->dirs++; /* main thread only */
            return defer(c, dest, NULL, n); /* after its contents, or its mtime moves */
        }
        if (created)
            rmdir(dest);
        return 0;
    }
    if (!self)
        return 0;
    *any = 1;
    if (n->type != NODE_FILE)
        return restore_special(c, n, dest);
    if (n->nlink > 1) {
        const char *first = find_link(c, n);
        if (first)
            return defer(c, dest, first, n); /* linked once the first copy is written */
        int rc = remember_link(c, n, dest);
        if (rc)
            return rc;
    }
    return submit_file(c, dest, n);
}

/* --delta: what is in dest but not in the snapshot goes (unless excluded from the restore). */
static int remove_extras(restore_ctx *c, const tree *t, const char *dest, const char *snap)
{
    DIR *d = opendir(dest);
    if (!d)
        return errno == ENOENT ? 0 : err_sys(ERR_IO, "list %s", dest);
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        char path[PATH_MAX], sp[PATH_MAX];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || tree_find(t, e->d_name))
            continue;
        if (fs_join(path, sizeof path, dest, e->d_name) || fs_join(sp, sizeof sp, snap[0] ? snap : "/", e->d_name)) {
            rc = ERR_USAGE;
            break;
        }
        if (pattern_list_match(c->o->excludes, sp))
            continue;
        LOG_VERBOSE("removing %s (not in the snapshot)", path);
        if (!(rc = fs_remove_tree(path)))
            c->st->removed++;
    }
    closedir(d);
    return rc;
}

static int restore_tree(restore_ctx *c, const uint8_t id[32], const char *dest, const char *snap, int matched,
                        int *any)
{
    tree t;
    int rc = walk_load_tree(c->r, id, &t);
    if (rc == ERR_DAMAGED) {
        restore_fail(c, snap[0] ? snap : "/", err_msg());
        err_clear();
        return 0;
    }
    if (!rc && c->o->delta)
        rc = remove_extras(c, &t, dest, snap);
    for (size_t i = 0; !rc && i < t.n; i++)
        rc = restore_node(c, &t.nodes[i], dest, snap, matched, any);
    tree_free(&t);
    return rc;
}

/* Hard links and folder metadata, in the order they were met: a folder comes after
 * everything inside it. */
static void apply_deferred(restore_ctx *c)
{
    for (size_t i = 0; i < c->nlater; i++) {
        deferred *d = &c->later[i];
        if (d->target) {
            unlink(d->path);
            if (link(d->target, d->path) != 0)
                restore_fail(c, d->path, strerror(errno));
            else
                c->st->links++;
        } else {
            set_meta(c, d->path, &d->meta);
        }
    }
}

static void restore_free_stages(restore_ctx *c, unsigned n)
{
    for (unsigned i = 0; c->stages && i < n; i++)
        free(c->stages[i]);
    free(c->stages);
    c->stages = NULL;
}

static int restore_start(restore_ctx *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 0 ? (unsigned)cores : 1;
    c->bufs = calloc(n, sizeof *c->bufs);
    c->readers = calloc(n, sizeof *c->readers);
    if (!c->bufs || !c->readers)
        return err_set(ERR_FATAL, "out of memory");
    for (unsigned i = 0; i < n; i++) {
        buf_init(&c->bufs[i], 0);
        blob_reader_init(&c->readers[i]);
    }
    /* without staging buffers every file is written buffered */
    if ((c->stages = calloc(n, sizeof *c->stages)))
        for (unsigned i = 0; i < n; i++) {
            void *p = NULL;
            if (posix_memalign(&p, DIRECT_ALIGN, DIRECT_STAGE) != 0) {
                restore_free_stages(c, n);
                break;
            }
            c->stages[i] = p;
        }
    return pool_new(n, (size_t)n * 4, &c->workers);
}

static void restore_end(restore_ctx *c)
{
    for (unsigned i = 0; c->workers && c->bufs && c->readers && i < pool_threads(c->workers); i++) {
        buf_free(&c->bufs[i]);
        blob_reader_free(&c->readers[i]);
    }
    if (c->workers)
        restore_free_stages(c, pool_threads(c->workers));
    pool_free(&c->workers);
    free(c->bufs);
    free(c->readers);
    for (size_t i = 0; i < c->nlinks; i++)
        free(c->links[i].path);
    free(c->links);
    for (size_t i = 0; i < c->nlater; i++) {
        free(c->later[i].path);
        free(c->later[i].target);
        tree_node_free(&c->later[i].meta);
    }
    free(c->later);
    pthread_mutex_destroy(&c->mu);
}

int files_restore(repo *r, const snapshot *s, const files_restore_opts *o, files_restore_stats *st)
{
    restore_ctx c = {.r = r, .o = o, .st = st, .as_root = geteuid() == 0};
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&c.mu, NULL);
    int rc = fs_mkdirs(o->target, 0700), any = 0;
    if (!rc)
        rc = restore_start(&c);
    progress_start(&c.prog, "restore", o->progress);
    if (!rc && (!o->subpath || !strcmp(o->subpath, "/"))) {
        rc = restore_tree(&c, s->tree, o->target, "", 0, &any);
    } else if (!rc) {
        tree_node n;
        rc = walk_find(r, s->tree, o->subpath, &n);
        if (!rc) {
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", o->subpath);
            *strrchr(parent, '/') = '\0';
            if (n.type == NODE_DIR) /* the folder's contents go into the target */
                rc = restore_tree(&c, n.subtree, o->target, o->subpath, 0, &any);
            else
                rc = restore_node(&c, &n, o->target, parent, 0, &any);
            tree_node_free(&n);
        }
    }
    if (c.workers) {
        int wrc = pool_wait(c.workers);
        rc = rc ? rc : wrc;
    }
    if (!rc)
        apply_deferred(&c);
    progress_end(&c.prog);
    restore_end(&c);
    if (st->xattr_failed)
        LOG_WARN("%llu extended attribute(s) could not be set (see warnings above)",
                 (unsigned long long)st->xattr_failed);
    if (!rc && st->errors)
        rc = err_set(ERR_DAMAGED, "%llu item(s) could not be restored (see errors above); the rest was restored",
                     (unsigned long long)st->errors);
    return rc;
}
