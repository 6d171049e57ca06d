/* files_restore — the restore half of the files source (see files.h): trees back
 * into folders, files, links and special files with their metadata. Every entry is
 * made relative to an open folder descriptor and nothing already in the target is
 * followed, so a symlink planted there cannot lead the restore outside it. */
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
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "../core/bgtask.h"
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

/* The main thread walks the trees holding an open descriptor of the folder it is
 * in, creating folders, links and special files with the *at calls; file contents
 * are written by a worker pool, each job holding its own copy of its folder's
 * descriptor. What must come after the contents (hard links to a restored file, the
 * times and modes of folders) is applied once the pool is idle, reaching each folder
 * again component by component from the target, never through a symlink. Paths are
 * kept only to name entries in messages and may exceed PATH_MAX. */

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

typedef struct pathstr {
    char *p;
    size_t len, cap;
} pathstr;

typedef struct hardlink {
    uint64_t dev, inode;
    char *rel; /* the first copy, relative to the target; NULL: a free slot */
} hardlink;

typedef struct deferred {
    char *rel;    /* relative to the target */
    char *target; /* hard links: the first copy of the inode, relative to the target */
    int owner_set; /* a folder this restore made, already with the snapshot's owner */
    tree_node meta;
} deferred;

typedef struct restore_ctx {
    repo *r;
    const files_restore_opts *o;
    files_restore_stats *st;
    progress prog;
    pool *workers;
    buf *bufs; /* one per worker */
    struct reader *readers; /* one per worker */
    struct direct_out *outs; /* one per worker (staging of large files), or NULL */
    unsigned nouts;
    pthread_mutex_t mu; /* guards st, prog, stderr lines */
    int root;           /* the target folder */
    pathstr dest, snap; /* main thread: the entry being restored, as shown and as in the snapshot */
    size_t root_len;    /* dest.p[0..root_len) is the target as given */
    hardlink *links;    /* open addressing on (dev, inode); a power of two of slots */
    size_t nlinks, links_cap;
    deferred *later; /* folders' metadata and hard links, in order */
    size_t nlater, later_cap;
    int as_root, tmpfile_ok;
    int link_empty;      /* linkat(AT_EMPTY_PATH) allowed; cleared at its first refusal */
    int creation_known;  /* a local file system, umask known: see folder.known */
    mode_t umask;
    uid_t euid;
    gid_t egid;
    struct file_job *batch; /* main thread: small files not yet handed to a worker */
    struct file_job **batch_tail;
    size_t batch_n;
    uint64_t batch_bytes;
} restore_ctx;

/* A folder's descriptor, shared by the walk and the file jobs inside it; whoever
 * lets go of it last closes it. With known set, a file created in it gets owner
 * (euid, gid) and exactly the mode asked for less the umask (no default ACL): the
 * chown and chmod that would change nothing are then skipped. uid and gid: the
 * folder's own owner (with stat_ok). */
typedef struct folder {
    int fd, refs;
    int known, stat_ok;
    gid_t gid;
    uid_t own_uid;
    gid_t own_gid;
} folder;

static folder *folder_new(int fd)
{
    folder *f = malloc(sizeof *f);
    if (!f) {
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->refs = 1;
    f->known = f->stat_ok = 0;
    f->gid = f->own_gid = 0;
    f->own_uid = 0;
    return f;
}

/* What a file created in f gets, asked of the open folder itself (never guessed
 * from its parent: something else may have put a folder there): its group when it
 * is setgid, and whether a default ACL overrides the creation mode. */
static void folder_probe(const restore_ctx *c, folder *f)
{
    struct stat st;
    f->known = 0;
    if (!c->creation_known || fstat(f->fd, &st) != 0)
        return;
    f->stat_ok = 1;
    f->own_uid = st.st_uid;
    f->own_gid = st.st_gid;
    f->gid = st.st_mode & S_ISGID ? st.st_gid : c->egid;
    if (fgetxattr(f->fd, "system.posix_acl_default", NULL, 0) >= 0 || (errno != ENODATA && errno != ENOTSUP))
        return;
    f->known = 1;
}

static folder *folder_hold(folder *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

static void folder_release(folder *f)
{
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        close(f->fd);
        free(f);
    }
}

/* ---- paths and messages ------------------------------------------------------- */

/* Appends "/name"; *mark is what path_pop restores. */
static int path_push(pathstr *s, const char *name, size_t *mark)
{
    size_t l = strlen(name);
    *mark = s->len;
    int rc = array_grow(&s->p, &s->cap, s->len + l + 2, 1, 256);
    if (rc)
        return rc;
    if (!s->len || s->p[s->len - 1] != '/')
        s->p[s->len++] = '/';
    memcpy(s->p + s->len, name, l + 1);
    s->len += l;
    return 0;
}

static void path_pop(pathstr *s, size_t mark)
{
    s->len = mark;
    if (s->p)
        s->p[mark] = '\0';
}

static int path_set(pathstr *s, const char *text)
{
    size_t l = strlen(text);
    int rc = array_grow(&s->p, &s->cap, l + 1, 1, 256);
    if (!rc) {
        memcpy(s->p, text, l + 1);
        s->len = l;
    }
    return rc;
}

/* The entry being restored, relative to the target ("a/b/c"). */
static const char *path_rel(const restore_ctx *c)
{
    const char *p = c->dest.p + c->root_len;
    return *p == '/' ? p + 1 : p;
}

/* One line per entry that could not be restored; kept for --json when asked. */
static void restore_fail(restore_ctx *c, int damaged, const char *path, const char *why)
{
    char line[PATH_MAX + 1100];
    snprintf(line, sizeof line, "restore %s: %s", path, why);
    pthread_mutex_lock(&c->mu);
    log_line("error: ", line); /* names from the snapshot: control characters escaped */
    files_restore_stats *st = c->st;
    st->errors++;
    if (damaged)
        st->damaged++;
    else
        st->local++;
    if (c->o->list_failures && st->nfailures < FILES_FAILURES_MAX &&
        !array_grow(&st->failures, &st->failures_cap, st->nfailures + 1, sizeof *st->failures, 16)) {
        files_restore_failure *f = &st->failures[st->nfailures];
        f->path = strdup(path);
        f->why = strdup(why);
        f->damaged = damaged;
        if (f->path && f->why)
            st->nfailures++;
        else {
            free(f->path);
            free(f->why);
        }
    }
    err_clear();
    pthread_mutex_unlock(&c->mu);
}

/* What an entry's failure means for the run: damage and local refusals are reported
 * and the restore goes on; anything else (a full disk, no memory, a repository that
 * cannot be read) ends it. */
static int entry_result(restore_ctx *c, const char *path, int rc)
{
    if (rc != ERR_DAMAGED && rc != ERR_LOCAL)
        return rc;
    restore_fail(c, rc == ERR_DAMAGED, path, err_msg());
    return 0;
}

/* A local failure from errno: "what: strerror". */
static int entry_errno(restore_ctx *c, const char *path, const char *what)
{
    return entry_result(c, path, err_sys(ERR_LOCAL, "%s", what));
}

static void temp_name(char out[32])
{
    static unsigned counter;
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)getpid() * 2654435761u ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) ^ (uint32_t)time(NULL);
    snprintf(out, 32, ".lifeline-%08x.tmp", r);
}

/* ---- the target, without following anything in it ---------------------------- */

/* Removes name in dfd and, if it is a folder, everything in it; symlinks are removed,
 * never followed. -1 with errno on failure. */
static int remove_tree_at(int dfd, const char *name)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    int fd = openat(dfd, name, DIR_FLAGS);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int r = 0;
    struct dirent *e;
    while (!r && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            r = remove_tree_at(dirfd(d), e->d_name);
    int saved = errno;
    closedir(d);
    errno = saved;
    return r ? r : unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

/* Makes room for a non-folder entry at name: anything but a folder is removed; a
 * folder goes only when empty (or with --delta, whatever it holds). */
static int clear_slot(restore_ctx *c, int dfd, const char *name)
{
    if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR)
        return err_sys(ERR_LOCAL, "cannot remove what is in its place");
    if (c->o->delta) {
        if (remove_tree_at(dfd, name) != 0)
            return err_sys(ERR_LOCAL, "cannot remove the folder in its place");
        pthread_mutex_lock(&c->mu);
        c->st->removed++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
        return 0;
    if (errno == ENOTEMPTY || errno == EEXIST)
        return err_set(ERR_LOCAL, "a folder with contents is in its place (it was left as it is)");
    return err_sys(ERR_LOCAL, "cannot remove the folder in its place");
}

/* Puts tmp (made by this restore in dfd) in place as name, replacing what is there. */
static int rename_in(restore_ctx *c, int dfd, const char *tmp, const char *name)
{
    int rc = 0;
    if (renameat(dfd, tmp, dfd, name) != 0) {
        if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
            rc = clear_slot(c, dfd, name);
        else
            rc = err_sys(ERR_LOCAL, "cannot put it in place");
        if (!rc && renameat(dfd, tmp, dfd, name) != 0)
            rc = err_sys(ERR_LOCAL, "cannot put it in place");
    }
    struct stat a, b; /* rename does nothing when both names are links to one inode */
    if (rc || (fstatat(dfd, tmp, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
               a.st_ino == b.st_ino && a.st_dev == b.st_dev))
        unlinkat(dfd, tmp, 0);
    return rc;
}

/* Gives the inode at (odir, oname) the name (dfd, name), through a temporary name
 * and a rename when the name is taken. */
static int link_in(restore_ctx *c, int odir, const char *oname, int flags, int dfd, const char *name)
{
    if (linkat(odir, oname, dfd, name, flags) == 0)
        return 0;
    for (int i = 0; errno == EEXIST && i < 16; i++) {
        char tmp[32];
        temp_name(tmp);
        if (linkat(odir, oname, dfd, tmp, flags) == 0)
            return rename_in(c, dfd, tmp, name);
    }
    return err_sys(ERR_LOCAL, "cannot link it in");
}

/* Opens folder name in dfd, creating it (0700 until its metadata is applied last).
 * A symlink, file or anything else in its place is replaced by a real folder, as tar
 * does: what the target holds is never followed. -1 with errno on failure. */
static int open_folder(restore_ctx *c, int dfd, const char *name, int *created)
{
    *created = 0;
    for (int tries = 0; tries < 4; tries++) {
        if (mkdirat(dfd, name, 0700) == 0)
            *created = 1;
        else if (errno != EEXIST)
            return -1;
        int fd = openat(dfd, name, DIR_FLAGS);
        if (fd >= 0 || (errno != ENOTDIR && errno != ELOOP))
            return fd;
        LOG_VERBOSE("replacing %s (not a folder) with a folder", c->dest.p);
        if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
            return -1;
        pthread_mutex_lock(&c->mu);
        c->st->removed += c->o->delta != 0;
        pthread_mutex_unlock(&c->mu);
    }
    errno = ELOOP;
    return -1;
}

/* Open-once folders for the deferred work: rel's folders are opened from the target
 * one component at a time (O_PATH, never through a symlink), keeping the chain for
 * the next path, which in walk order shares most of it. */
typedef struct dircache {
    int root;
    int *fds;
    size_t *ends; /* where component i ends in cur */
    size_t depth, fds_cap, ends_cap;
    char *cur;
    size_t cur_cap;
} dircache;

static int dircache_open(dircache *dc, const char *rel, size_t len)
{
    size_t i = 0, off = 0;
    for (; i < dc->depth; i++) { /* keep the components rel shares with the open chain */
        size_t start = i ? dc->ends[i - 1] + 1 : 0, clen = dc->ends[i] - start;
        if (off + clen > len || memcmp(rel + off, dc->cur + start, clen) ||
            (off + clen < len && rel[off + clen] != '/'))
            break;
        off += clen + 1;
    }
    while (dc->depth > i)
        close(dc->fds[--dc->depth]);
    if (array_grow(&dc->cur, &dc->cur_cap, len + 1, 1, 256))
        return errno = ENOMEM, -1;
    memcpy(dc->cur, rel, len);
    while (off < len) {
        const char *slash = memchr(rel + off, '/', len - off);
        size_t clen = slash ? (size_t)(slash - (rel + off)) : len - off;
        char name[NAME_MAX + 1];
        if (clen > NAME_MAX)
            return errno = ENAMETOOLONG, -1;
        memcpy(name, rel + off, clen);
        name[clen] = '\0';
        int parent = dc->depth ? dc->fds[dc->depth - 1] : dc->root;
        int fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return -1;
        if (array_grow(&dc->fds, &dc->fds_cap, dc->depth + 1, sizeof *dc->fds, 16) ||
            array_grow(&dc->ends, &dc->ends_cap, dc->depth + 1, sizeof *dc->ends, 16)) {
            close(fd);
            return errno = ENOMEM, -1;
        }
        dc->fds[dc->depth] = fd;
        dc->ends[dc->depth++] = off + clen;
        off += clen + 1;
    }
    return dc->depth ? dc->fds[dc->depth - 1] : dc->root;
}

static void dircache_free(dircache *dc)
{
    while (dc->depth)
        close(dc->fds[--dc->depth]);
    free(dc->fds);
    free(dc->ends);
    free(dc->cur);
}

/* ---- metadata ------------------------------------------------------------------ */

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

/* Attributes of a symlink or special file, through an O_PATH descriptor of (dfd,
 * name): it names that very inode, and nothing is followed on the way. */
static void set_xattrs_at(restore_ctx *c, int dfd, const char *name, const char *path, const tree_node *n)
{
    if (!n->nxattr)
        return;
    int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        LOG_WARN("cannot set extended attributes of %s: %s", path, strerror(errno));
        pthread_mutex_lock(&c->mu);
        c->st->xattr_failed += n->nxattr;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    set_xattrs(c, fd, path, n);
    close(fd);
}

/* Owner before attributes (chown clears capabilities) before mode (chown clears
 * setuid; an ACL rewrites the group bits), times last; name in dfd, never followed. */
static void set_meta(restore_ctx *c, int dfd, const char *name, const char *path, const tree_node *n)
{
    int is_link = n->type == NODE_SYMLINK;
    if (fchownat(dfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) != 0 && (c->as_root || errno != EPERM))
        LOG_WARN("cannot set owner of %s: %s", path, strerror(errno));
    set_xattrs_at(c, dfd, name, path, n);
    if (!is_link && fchmodat(dfd, name, n->mode, AT_SYMLINK_NOFOLLOW) != 0)
        LOG_WARN("cannot set mode of %s: %s", path, strerror(errno));
    struct timespec ts[2] = {{n->atime, n->atime_ns}, {n->mtime, n->mtime_ns}};
    if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
        LOG_WARN("cannot set times of %s: %s", path, strerror(errno));
}

/* As set_meta, through the open file; owner_set / mode_set: the file already has
 * them (a file this restore just created: see folder.known), so those calls go. */
static void set_meta_fd_as(restore_ctx *c, int fd, const char *path, const tree_node *n, int owner_set, int mode_set)
{
    if (!owner_set && fchown(fd, n->uid, n->gid) != 0 && (c->as_root || errno != EPERM))
        LOG_WARN("cannot set owner of %s: %s", path, strerror(errno));
    set_xattrs(c, fd, path, n);
    if (!mode_set && fchmod(fd, n->mode) != 0)
        LOG_WARN("cannot set mode of %s: %s", path, strerror(errno));
    struct timespec ts[2] = {{n->atime, n->atime_ns}, {n->mtime, n->mtime_ns}};
    if (futimens(fd, ts) != 0)
        LOG_WARN("cannot set times of %s: %s", path, strerror(errno));
}

static void set_meta_fd(restore_ctx *c, int fd, const char *path, const tree_node *n)
{
    set_meta_fd_as(c, fd, path, n, 0, 0);
}

/* ---- hard links: the first copy of each inode, by (dev, inode) ------------------- */

static size_t link_slot(const restore_ctx *c, uint64_t dev, uint64_t inode)
{
    uint64_t h = (inode ^ (dev * 0x9E3779B97F4A7C15ull)) * 0xFF51AFD7ED558CCDull;
    size_t i = (size_t)(h ^ (h >> 29)) & (c->links_cap - 1);
    while (c->links[i].rel && (c->links[i].dev != dev || c->links[i].inode != inode))
        i = (i + 1) & (c->links_cap - 1);
    return i;
}

static const char *find_link(restore_ctx *c, const tree_node *n)
{
    return c->links_cap ? c->links[link_slot(c, n->dev, n->inode)].rel : NULL;
}

/* Doubles the table (kept at most half full). */
static int links_grow(restore_ctx *c)
{
    hardlink *old = c->links;
    size_t old_cap = c->links_cap, cap = old_cap ? old_cap * 2 : 1024;
    if (!(c->links = calloc(cap, sizeof *c->links))) {
        c->links = old;
        return err_set(ERR_FATAL, "out of memory");
    }
    c->links_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].rel)
            c->links[link_slot(c, old[i].dev, old[i].inode)] = old[i];
    free(old);
    return 0;
}

static int remember_link(restore_ctx *c, const tree_node *n, const char *rel)
{
    int rc = (c->nlinks + 1) * 2 > c->links_cap ? links_grow(c) : 0;
    if (rc)
        return rc;
    hardlink *h = &c->links[link_slot(c, n->dev, n->inode)];
    if (!(h->rel = strdup(rel)))
        return err_set(ERR_FATAL, "out of memory");
    h->dev = n->dev;
    h->inode = n->inode;
    c->nlinks++;
    return 0;
}

static int defer(restore_ctx *c, const char *rel, const char *target, const tree_node *n, int owner_set)
{
    int rc = array_grow(&c->later, &c->later_cap, c->nlater + 1, sizeof *c->later, 64);
    if (rc)
        return rc;
    deferred *d = &c->later[c->nlater];
    memset(d, 0, sizeof *d);
    if ((rc = tree_node_copy_meta(n, &d->meta))) /* metadata only: names and content are not kept */
        return rc;
    d->rel = strdup(rel);
    d->target = target ? strdup(target) : NULL;
    d->owner_set = owner_set;
    if (!d->rel || (target && !d->target)) {
        free(d->rel);
        free(d->target);
        tree_node_free(&d->meta);
        return err_set(ERR_FATAL, "out of memory");
    }
    c->nlater++;
    return 0;
}

/* ---- file contents --------------------------------------------------------------- */

typedef struct file_job {
    restore_ctx *c;
    struct file_job *next; /* a batch of small files is one pool job */
    size_t plan;           /* its first blob in the worker's plan; PLAN_NONE: not planned */
    folder *dir; /* the file's folder, held until the job ends */
    tree_node node;
    char dest[]; /* as shown in messages */
} file_job;

/* ---- reading packs: a run of small files' blobs with one read ----------------------- */

/* A worker's reader. Before a job (a batch of small files, or one large file) it
 * looks up where each blob is, in the order they will be written (the plan); a blob
 * not yet read is then read together with the blobs after it that lie next to it in
 * the same pack (gaps up to RANGE_GAP, up to RANGE_MAX bytes): small files backed up
 * together sit together in a pack, so a folder of them is one read, not one per file. */
#define RANGE_GAP (64u << 10)
#define RANGE_MAX (4u << 20)
#define PLAN_NONE SIZE_MAX

typedef struct reader {
    blob_reader br;
    repo_blob_loc *locs; /* the plan; length 0: not located (read alone) */
    size_t nlocs, locs_cap, base;
    buf range; /* pack bytes [start, start + range.len) */
    uint32_t pack;
    uint64_t start;
    int have;
    int once; /* the file being read is large: its runs hold its own blobs only */
} reader;

static void reader_init(reader *rdr)
{
    memset(rdr, 0, sizeof *rdr);
    blob_reader_init(&rdr->br);
    buf_init(&rdr->range, 0);
}

static void reader_free(reader *rdr)
{
    blob_reader_free(&rdr->br);
    buf_free(&rdr->range);
    free(rdr->locs);
}

/* Locates every blob of the chain's files; a file whose blobs cannot all be planned
 * (no memory) reads them one by one. */
static void reader_plan(restore_ctx *c, reader *rdr, struct file_job *jobs);

static int range_has(const reader *rdr, const repo_blob_loc *l)
{
    return rdr->have && rdr->pack == l->pack && l->offset >= rdr->start &&
           (uint64_t)l->offset + l->length <= rdr->start + rdr->range.len;
}

/* Reads the run of planned blobs that begins at plan entry k. A large file's runs
 * (its own blobs, one after the other) leave the page cache once read: kept, a large
 * restore pushes out what the machine uses, and on the benchmark's busy loop disk
 * the restore was 1.3-1.8x faster letting them go (docs/BENCHMARKS.md). Runs of
 * small files stay: they span other files' blobs, which another worker reads next. */
static int range_load(restore_ctx *c, reader *rdr, size_t k)
{
    const repo_blob_loc *first = &rdr->locs[k];
    uint64_t start = first->offset, end = start + first->length;
    for (size_t m = k + 1; m < rdr->nlocs; m++) {
        const repo_blob_loc *l = &rdr->locs[m];
        if (l->length && l->pack == first->pack && l->offset >= start && (uint64_t)l->offset + l->length <= end)
            continue; /* already inside (the same blob again) */
        if (!l->length || l->pack != first->pack || l->offset < end || l->offset - end > RANGE_GAP ||
            (uint64_t)l->offset + l->length - start > RANGE_MAX)
            break;
        end = (uint64_t)l->offset + l->length;
    }
    rdr->have = 0;
    int rc = repo_pack_read(c->r, first->pack, start, (size_t)(end - start), &rdr->range, rdr->once);
    if (!rc) {
        rdr->have = 1;
        rdr->pack = first->pack;
        rdr->start = start;
    }
    return rc;
}

/* Blob i of n (the file the reader's base is set for), authenticated. Whatever
 * goes wrong with the planned read, the blob is read again alone, so damage is
 * reported exactly as repo_blob_read reports it. */
static int read_blob(restore_ctx *c, reader *rdr, const tree_node *n, uint32_t i, buf *out)
{
    if (rdr->base != PLAN_NONE) {
        size_t k = rdr->base + i;
        const repo_blob_loc *l = &rdr->locs[k];
        if (l->length && (range_has(rdr, l) || range_load(c, rdr, k) == 0) &&
            repo_blob_decode(c->r, &rdr->br, BLOB_DATA, n->content[i], rdr->range.data + (l->offset - rdr->start),
                             l->length, l->raw_len, out, 0) == 0)
            return 0;
        err_clear();
    }
    return repo_blob_read(c->r, &rdr->br, BLOB_DATA, n->content[i], out, 0);
}

/* Writes every blob of n to fd, each authenticated before a byte of it is written. */
static int write_content(restore_ctx *c, int fd, const char *what, const tree_node *n, buf *blob, reader *rdr,
                         uint64_t *bytes)
{
    int sparse = n->flags & NODE_FLAG_SPARSE; /* zero blocks become holes again */
    for (uint32_t i = 0; i < n->ncontent; i++) {
        int rc = read_blob(c, rdr, n, i, blob);
        if (rc)
            return rc;
        if (sparse ? sparse_pwrite(fd, blob->data, blob->len, *bytes) < 0 : fs_write_all(fd, blob->data, blob->len) != 0)
            return err_sys(ERR_LOCAL, "write %s", what);
        *bytes += blob->len;
    }
    if (sparse && ftruncate(fd, (off_t)*bytes) != 0) /* a hole at the end is only a size */
        return err_sys(ERR_LOCAL, "truncate %s", what);
    return 0;
}

/* Large files are staged in 4 MiB buffers and written in the background: each
 * worker has two staging buffers and a helper thread (bgtask) that writes one while
 * the worker reads, authenticates and decompresses into the other, so the worker
 * does not wait for the disk at every 4 MiB.
 *
 * By default the writes bypass the page cache (O_DIRECT): the data is written once,
 * by DMA, into no cache pages that the restore will never read. On a VM whose free
 * memory goes back to the host, filling cache pages never used before costs more CPU
 * than the restore itself (docs/BENCHMARKS.md), and a restore onto a fresh machine
 * is exactly that case. --write-mode buffered writes through the page cache instead
 * (as restic and tar do): faster where the cache is already full of pages used
 * before. O_DIRECT needs aligned buffers, offsets and lengths: a last part shorter
 * than a block is written buffered. */
#define DIRECT_ALIGN 4096
#define DIRECT_STAGE (4u << 20)
#define DIRECT_MIN (1u << 20) /* smaller files: buffered writes are cheaper */

/* One staged write, run by the worker's helper thread. */
typedef struct direct_write {
    int fd, sparse;
    int *direct; /* the file still has O_DIRECT: shared by its writes, which run one by one */
    uint8_t *stage;
    size_t len;
    uint64_t off;
    uint64_t *by_way; /* bytes written with O_DIRECT [0] and buffered [1], added to */
} direct_write;

/* A worker's staging: the buffer it fills, the one being written, and the writer. */
typedef struct direct_out {
    uint8_t *stage[2];
    direct_write w[2];
    uint64_t by_way[2]; /* the writer's count for the file being written */
    int direct;         /* the writer's: the file being written still has O_DIRECT */
    bgtask *bg;
} direct_out;

static ssize_t direct_pwrite(const direct_write *d, size_t end, size_t done)
{
    return d->sparse ? sparse_pwrite(d->fd, d->stage + done, end - done, d->off + done)
                     : pwrite(d->fd, d->stage + done, end - done, (off_t)(d->off + done));
}

/* 0 or an errno. O_DIRECT takes whole blocks: a last part shorter than one is
 * written buffered (O_DIRECT cleared on the file), so no padding has to be cut off
 * later, a cut that would read the block back from the disk to zero its end. A
 * write cut short (the disk filled up half way) goes on with the rest, so that the
 * reason, ENOSPC, is what is reported. */
static int direct_write_run(void *arg)
{
    const direct_write *d = arg;
    size_t whole = d->len / DIRECT_ALIGN * DIRECT_ALIGN, done = 0;
    int *direct = d->direct;
    while (done < d->len) {
        if (*direct && (done >= whole || done % DIRECT_ALIGN)) { /* the tail, or after a cut */
            int fl = fcntl(d->fd, F_GETFL);
            if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_DIRECT) != 0)
                return errno;
            *direct = 0; /* for this file's later writes too */
        }
        ssize_t w = direct_pwrite(d, *direct ? whole : d->len, done);
        if (w < 0 && errno == EINVAL && *direct) { /* refused after all: buffered from here */
            whole = 0;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 && errno ? errno : ENOSPC; /* no progress at all: no room */
        done += (size_t)w;
        d->by_way[!*direct] += (uint64_t)w;
    }
    return 0;
}

static int direct_result(int r, const char *what)
{
    if (!r)
        return 0;
    errno = r;
    return err_sys(ERR_LOCAL, "write %s", what);
}

/* Hands stage cur (w's len bytes at w's offset) to the writer; returns the result
 * of the write before it. */
static int direct_flush(direct_out *o, int cur, const direct_write *w)
{
    o->w[cur] = *w;
    o->w[cur].stage = o->stage[cur];
    return bgtask_start(o->bg, direct_write_run, &o->w[cur]);
}

/* direct: the file was opened with O_DIRECT (0: --write-mode buffered, or the file
 * system refused it). */
static int write_content_staged(restore_ctx *c, int fd, int direct, const char *what, const tree_node *n,
                                buf *blob, reader *rdr, direct_out *o, uint64_t *bytes)
{
    int rc = 0, cur = 0;
    direct_write w = {.fd = fd, .sparse = n->flags & NODE_FLAG_SPARSE, .direct = &o->direct, .by_way = o->by_way};
    o->by_way[0] = o->by_way[1] = 0;
    o->direct = direct;
    for (uint32_t i = 0; !rc && i < n->ncontent; i++) {
        if ((rc = read_blob(c, rdr, n, i, blob)))
            break;
        for (size_t done = 0; !rc && done < blob->len;) {
            size_t take = blob->len - done < DIRECT_STAGE - w.len ? blob->len - done : DIRECT_STAGE - w.len;
            memcpy(o->stage[cur] + w.len, blob->data + done, take);
            w.len += take;
            done += take;
            if (w.len == DIRECT_STAGE) {
                rc = direct_result(direct_flush(o, cur, &w), what);
                cur ^= 1;
                w.off += w.len;
                w.len = 0;
            }
        }
        *bytes += blob->len;
    }
    if (!rc && w.len) {
        rc = direct_result(direct_flush(o, cur, &w), what);
        w.off += w.len;
    }
    int last = bgtask_wait(o->bg); /* after a failure too: fd and stages are in use until then */
    if (!rc)
        rc = direct_result(last, what);
    if (!rc && w.sparse && ftruncate(fd, (off_t)w.off) != 0) /* a final hole is only a size */
        rc = err_sys(ERR_LOCAL, "truncate %s", what);
    if (!rc) {
        pthread_mutex_lock(&c->mu);
        c->st->bytes_direct += o->by_way[0];
        c->st->bytes_buffered += o->by_way[1];
        pthread_mutex_unlock(&c->mu);
    }
    return rc;
}

/* --delta: does the open file fd already hold exactly n's content? It is chunked as
 * a backup would chunk it and the blob ids compared, stopping at the first difference. */
static int same_content(restore_ctx *c, int fd, const tree_node *n, buf *b)
{
    const chunker *ch = repo_chunker(c->r);
    struct stat st;
    buf_reset(b);
    /* a file with other names may be a link planted to a file elsewhere: rewritten,
     * never given this entry's owner and mode */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || (uint64_t)st.st_size != n->size ||
        buf_reserve(b, ch->max)) {
        err_clear();
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
    return same && k == n->ncontent;
}

/* --delta: keeps the file in place when its content matches (metadata refreshed). */
static int keep_same(restore_ctx *c, const file_job *j, buf *blob)
{
    const tree_node *n = &j->node;
    int fd = openat(j->dir->fd, n->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC); /* a fifo must not block */
    if (fd < 0)
        return 0;
    int same = same_content(c, fd, n, blob);
    if (same)
        set_meta_fd(c, fd, j->dest, n);
    close(fd);
    if (same) {
        pthread_mutex_lock(&c->mu);
        c->st->unchanged++;
        progress_add(&c->prog, 1, n->size);
        pthread_mutex_unlock(&c->mu);
    }
    return same;
}

/* The file's unnamed inode (O_TMPFILE, tmp left empty; created with mode, which no
 * one can use before it is linked in), or a new file under a short random temporary
 * name made with O_EXCL and mode 0600 (in tmp). -1 with errno on failure. */
static int create_content(restore_ctx *c, int dfd, mode_t mode, int *direct, char tmp[32])
{
    tmp[0] = '\0';
    int fd = -1;
    if (c->tmpfile_ok) {
        fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC | *direct, mode);
        if (fd < 0 && *direct && errno == EINVAL) /* no O_DIRECT here: buffered */
            fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC | (*direct = 0), mode);
        if (fd >= 0 || errno == ENOSPC || errno == EDQUOT)
            return fd;
    }
    *direct = 0;
    for (int i = 0; fd < 0 && i < 16; i++) {
        temp_name(tmp);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        tmp[0] = '\0';
    return fd;
}

/* Names the unnamed inode fd as name in dfd: linkat(AT_EMPTY_PATH) where the
 * kernel allows it (no /proc path to resolve per file), else through /proc/self/fd. */
static int link_new(restore_ctx *c, int fd, int dfd, const char *name)
{
    if (__atomic_load_n(&c->link_empty, __ATOMIC_RELAXED)) {
        if (linkat(fd, "", dfd, name, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno == EEXIST)
            return link_in(c, fd, "", AT_EMPTY_PATH, dfd, name);
        if (errno != ENOENT && errno != EPERM && errno != EINVAL)
            return err_sys(ERR_LOCAL, "cannot link it in");
        __atomic_store_n(&c->link_empty, 0, __ATOMIC_RELAXED); /* refused: needs CAP_DAC_READ_SEARCH */
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return link_in(c, AT_FDCWD, proc, AT_SYMLINK_FOLLOW, dfd, name);
}

/* Can the file be created with its final mode, so that no fchmod follows? Not
 * when its folder's default ACL or the umask would change it, nor with setuid,
 * setgid or sticky bits or extended attributes (which must come before the mode). */
static int mode_at_creation(const restore_ctx *c, const folder *dir, const tree_node *n)
{
    return c->tmpfile_ok && dir->known && !n->nxattr && !(n->mode & 07000) && !(n->mode & 0777 & c->umask);
}

/* A file takes its name only when complete: written as an unnamed O_TMPFILE inode
 * and linked in at the end (one directory operation), or, where that is not
 * possible, written under a temporary name and renamed over its name. A file with a
 * bad blob is reported and never appears; messages name the file, not the temporary. */
static int restore_file(restore_ctx *c, file_job *j, buf *blob, reader *rdr, direct_out *out)
{
    const tree_node *n = &j->node;
    if (c->o->delta && keep_same(c, j, blob))
        return 0;
    char tmp[32];
    int staged = out && n->size >= DIRECT_MIN;
    int direct = staged && c->o->write_mode != FILES_WRITE_BUFFERED ? O_DIRECT : 0;
    int mode_set = mode_at_creation(c, j->dir, n);
    int owner_set = j->dir->known && n->uid == c->euid && n->gid == j->dir->gid;
    int fd = create_content(c, j->dir->fd, mode_set ? n->mode & 0777 : 0600, &direct, tmp), rc = 0;
    uint64_t bytes = 0;
    if (fd < 0)
        return entry_errno(c, j->dest, "cannot create it");
    rdr->base = j->plan;
    rdr->once = staged;
    rc = staged ? write_content_staged(c, fd, direct != 0, j->dest, n, blob, rdr, out, &bytes)
                : write_content(c, fd, j->dest, n, blob, rdr, &bytes);
    if (!rc) {
        set_meta_fd_as(c, fd, j->dest, n, owner_set, mode_set && !tmp[0]);
        rc = tmp[0] ? rename_in(c, j->dir->fd, tmp, n->name) : link_new(c, fd, j->dir->fd, n->name);
        tmp[0] = '\0'; /* rename_in removed it either way */
    }
    if (close(fd) != 0 && !rc)
        rc = err_sys(ERR_LOCAL, "close %s", j->dest);
    if (tmp[0])
        unlinkat(j->dir->fd, tmp, 0);
    if (rc)
        return entry_result(c, j->dest, rc);
    pthread_mutex_lock(&c->mu);
    c->st->files++;
    c->st->bytes += bytes;
    progress_add(&c->prog, 1, bytes);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void reader_plan(restore_ctx *c, reader *rdr, file_job *jobs)
{
    rdr->nlocs = 0;
    for (file_job *j = jobs; j; j = j->next) {
        const tree_node *n = &j->node;
        j->plan = PLAN_NONE;
        if (array_grow(&rdr->locs, &rdr->locs_cap, rdr->nlocs + n->ncontent, sizeof *rdr->locs, 64)) {
            err_clear();
            continue;
        }
        j->plan = rdr->nlocs;
        for (uint32_t i = 0; i < n->ncontent; i++, rdr->nlocs++)
            if (repo_blob_locate(c->r, BLOB_DATA, n->content[i], &rdr->locs[rdr->nlocs])) {
                rdr->locs[rdr->nlocs].length = 0; /* read alone, which reports it */
                err_clear();
            }
    }
}

/* Runs a chain of jobs and frees it; the first error ends the work on the rest. */
static int file_job_run(void *arg, unsigned worker)
{
    int rc = 0;
    reader_plan(((file_job *)arg)->c, &((file_job *)arg)->c->readers[worker], arg);
    for (file_job *j = arg, *next; j; j = next) {
        next = j->next;
        if (!rc)
            rc = restore_file(j->c, j, &j->c->bufs[worker], &j->c->readers[worker],
                              j->c->outs ? &j->c->outs[worker] : NULL);
        folder_release(j->dir);
        tree_node_free(&j->node);
        free(j);
    }
    return rc;
}

static void file_jobs_free(file_job *j)
{
    for (file_job *next; j; j = next) {
        next = j->next;
        folder_release(j->dir);
        tree_node_free(&j->node);
        free(j);
    }
}

/* Small files go to the workers in batches: one hand-off (and one wake-up of a
 * worker) per batch rather than per file, which on a busy machine is a wait for a
 * core each time. */
#define BATCH_FILES 64
#define BATCH_BYTES (1u << 20)

static int batch_flush(restore_ctx *c)
{
    file_job *j = c->batch;
    c->batch = NULL;
    c->batch_tail = &c->batch;
    c->batch_n = 0;
    c->batch_bytes = 0;
    int rc = j ? pool_submit(c->workers, file_job_run, j) : 0;
    if (rc)
        file_jobs_free(j);
    return rc;
}

static int submit_file(restore_ctx *c, folder *dir, const tree_node *n)
{
    size_t l = c->dest.len + 1;
    file_job *j = malloc(sizeof *j + l);
    if (!j)
        return err_set(ERR_FATAL, "out of memory");
    j->c = c;
    j->next = NULL;
    j->dir = folder_hold(dir);
    memcpy(j->dest, c->dest.p, l);
    int rc = tree_node_copy(n, &j->node);
    if (rc) {
        folder_release(j->dir);
        free(j);
        return rc;
    }
    if (n->size >= BATCH_BYTES) { /* alone */
        if ((rc = pool_submit(c->workers, file_job_run, j)))
            file_jobs_free(j);
        return rc;
    }
    *c->batch_tail = j;
    c->batch_tail = &j->next;
    c->batch_bytes += n->size;
    return ++c->batch_n >= BATCH_FILES || c->batch_bytes >= BATCH_BYTES ? batch_flush(c) : 0;
}

/* ---- the walk ---------------------------------------------------------------------- */

/* A pattern that matches a folder matches everything below it, so what a parent
 * matched needs no passing down, and a later '!' pattern can still take a child out. */
static int wanted(restore_ctx *c, const char *snap_path, int matched)
{
    (void)matched;
    if (pattern_list_match(c->o->excludes, snap_path))
        return 0;
    return !c->o->includes || pattern_list_match(c->o->includes, snap_path);
}

static int restore_tree(restore_ctx *c, const uint8_t id[32], folder *dir, int matched, int *any);

static int make_special(int dfd, const tree_node *n)
{
    if (n->type == NODE_SYMLINK)
        return symlinkat(n->link ? n->link : "", dfd, n->name);
    if (n->type == NODE_FIFO)
        return mknodat(dfd, n->name, S_IFIFO | 0600, 0);
    return mknodat(dfd, n->name, (n->type == NODE_CHR ? S_IFCHR : S_IFBLK) | 0600, (dev_t)n->rdev);
}

/* Symlinks, fifos and devices; what is in their place is replaced (a symlink made
 * here is never followed: every later step opens with O_NOFOLLOW). */
static int restore_special(restore_ctx *c, const tree_node *n, int dfd)
{
    static const char *what[] = {[NODE_SYMLINK] = "symlink", [NODE_FIFO] = "fifo", [NODE_CHR] = "character device",
                                 [NODE_BLK] = "block device"};
    int rc = 0;
    if (make_special(dfd, n) != 0) {
        if (errno != EEXIST)
            rc = err_sys(ERR_LOCAL, "cannot create %s%s", what[n->type],
                         errno == EPERM && !c->as_root ? " (only root can)" : "");
        else if (!(rc = clear_slot(c, dfd, n->name)) && make_special(dfd, n) != 0)
            rc = err_sys(ERR_LOCAL, "cannot create %s", what[n->type]);
    }
    if (rc)
        return entry_result(c, c->dest.p, rc);
    set_meta(c, dfd, n->name, c->dest.p, n);
    pthread_mutex_lock(&c->mu);
    c->st->files++;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int restore_dir(restore_ctx *c, const tree_node *n, folder *parent, int matched, int *any)
{
    int self = wanted(c, c->snap.p, matched), created, inner = 0, dfd = parent->fd;
    int fd = open_folder(c, dfd, n->name, &created);
    if (fd < 0) { /* reported once; what it holds cannot be restored */
        *any = 1;
        return entry_errno(c, c->dest.p, "cannot create folder");
    }
    folder *dir = folder_new(fd);
    if (!dir)
        return err_set(ERR_FATAL, "out of memory");
    folder_probe(c, dir);
    int owner_set = dir->stat_ok && dir->own_uid == n->uid && dir->own_gid == n->gid;
    int rc = restore_tree(c, n->subtree, dir, self && c->o->includes ? 1 : matched, &inner);
    folder_release(dir);
    if (rc)
        return rc;
    if (self || inner) {
        *any = 1;
        c->st->dirs++; /* main thread only */
        return defer(c, path_rel(c), NULL, n, owner_set); /* after its contents, or its mtime moves */
    }
    if (created)
        unlinkat(dfd, n->name, AT_REMOVEDIR);
    return 0;
}

static int restore_entry(restore_ctx *c, const tree_node *n, folder *dir, int matched, int *any)
{
    if (!wanted(c, c->snap.p, matched))
        return 0;
    *any = 1;
    if (n->type == NODE_SOCK) { /* a socket belongs to the process that listens on it */
        c->st->sockets++;
        return 0;
    }
    if (n->type != NODE_FILE)
        return restore_special(c, n, dir->fd);
    if (n->nlink > 1) {
        const char *first = find_link(c, n);
        if (first)
            return defer(c, path_rel(c), first, n, 0); /* linked once the first copy is written */
        int rc = remember_link(c, n, path_rel(c));
        if (rc)
            return rc;
    }
    return submit_file(c, dir, n);
}

static int restore_node(restore_ctx *c, const tree_node *n, folder *dir, int matched, int *any)
{
    size_t dmark, smark = c->snap.len;
    int rc = path_push(&c->dest, n->name, &dmark);
    if (!rc)
        rc = path_push(&c->snap, n->name, &smark);
    if (!rc && !pattern_list_match(c->o->excludes, c->snap.p))
        rc = n->type == NODE_DIR ? restore_dir(c, n, dir, matched, any) : restore_entry(c, n, dir, matched, any);
    path_pop(&c->dest, dmark);
    path_pop(&c->snap, smark);
    return rc;
}

/* --delta: what is in the folder but not in the snapshot goes (unless excluded from
 * the restore). Called with dest and snap naming the folder. */
static int remove_extras(restore_ctx *c, const tree *t, int dfd)
{
    int fd = openat(dfd, ".", DIR_FLAGS);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return entry_errno(c, c->dest.p, "cannot list folder");
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || tree_find(t, e->d_name))
            continue;
        size_t dmark, smark = c->snap.len;
        if (!(rc = path_push(&c->dest, e->d_name, &dmark)) && !(rc = path_push(&c->snap, e->d_name, &smark)) &&
            !pattern_list_match(c->o->excludes, c->snap.p)) {
            LOG_VERBOSE("removing %s (not in the snapshot)", c->dest.p);
            if (remove_tree_at(dfd, e->d_name) != 0) {
                rc = entry_errno(c, c->dest.p, "cannot remove it (it is not in the snapshot)");
            } else {
                pthread_mutex_lock(&c->mu); /* workers count replacements too */
                c->st->removed++;
                pthread_mutex_unlock(&c->mu);
            }
        }
        path_pop(&c->dest, dmark);
        path_pop(&c->snap, smark);
    }
    closedir(d);
    return rc;
}

static int restore_tree(restore_ctx *c, const uint8_t id[32], folder *dir, int matched, int *any)
{
    tree t;
    /* loading a tree may wait for the disk: the files held so far go to the
     * workers now if they have nothing else queued */
    int rc = c->batch && !pool_queued(c->workers) ? batch_flush(c) : 0;
    if (rc)
        return rc;
    rc = walk_load_tree(c->r, id, &t);
    if (rc == ERR_DAMAGED) {
        restore_fail(c, 1, c->snap.len ? c->snap.p : "/", err_msg());
        return 0;
    }
    if (!rc && c->o->delta)
        rc = remove_extras(c, &t, dir->fd);
    for (size_t i = 0; !rc && i < t.n; i++)
        rc = restore_node(c, &t.nodes[i], dir, matched, any);
    tree_free(&t);
    return rc;
}

/* ---- after the contents: hard links, then folder metadata ------------------------------ */

/* Length of rel's folder part ("a/b" of "a/b/c"; 0 at the top); *base its name. */
static size_t rel_split(const char *rel, const char **base)
{
    const char *slash = strrchr(rel, '/');
    *base = slash ? slash + 1 : rel;
    return slash ? (size_t)(slash - rel) : 0;
}

static int apply_link(restore_ctx *c, dircache *firsts, int dir, const char *base, const deferred *d)
{
    const char *obase;
    size_t olen = rel_split(d->target, &obase);
    int odir = dircache_open(firsts, d->target, olen);
    struct stat st;
    if (odir < 0 || fstatat(odir, obase, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
        return err_set(ERR_LOCAL, "hard link to %s, which was not restored", d->target);
    int rc = link_in(c, odir, obase, 0, dir, base);
    if (!rc)
        c->st->links++;
    return rc;
}

static int apply_folder(restore_ctx *c, int dir, const char *base, const char *path, const deferred *d)
{
    int fd = openat(dir, base, DIR_FLAGS);
    if (fd < 0)
        return err_sys(ERR_LOCAL, "cannot open folder to set its metadata");
    set_meta_fd_as(c, fd, path, &d->meta, d->owner_set, 0);
    close(fd);
    return 0;
}

/* In the order they were met: a folder comes after everything inside it. */
static int apply_deferred(restore_ctx *c)
{
    dircache dirs = {.root = c->root}, firsts = {.root = c->root};
    int rc = 0;
    for (size_t i = 0; !rc && i < c->nlater; i++) {
        deferred *d = &c->later[i];
        const char *base;
        size_t plen = rel_split(d->rel, &base), mark;
        path_pop(&c->dest, c->root_len);
        if ((rc = path_push(&c->dest, d->rel, &mark)))
            break;
        int dir = dircache_open(&dirs, d->rel, plen), erc;
        if (dir < 0)
            erc = err_sys(ERR_LOCAL, "cannot open its folder");
        else
            erc = d->target ? apply_link(c, &firsts, dir, base, d) : apply_folder(c, dir, base, c->dest.p, d);
        if (erc)
            rc = entry_result(c, c->dest.p, erc);
    }
    path_pop(&c->dest, c->root_len);
    dircache_free(&dirs);
    dircache_free(&firsts);
    return rc;
}

/* ---- set-up ---------------------------------------------------------------------------- */

static void restore_free_outs(restore_ctx *c)
{
    for (unsigned i = 0; c->outs && i < c->nouts; i++) {
        bgtask_free(&c->outs[i].bg);
        free(c->outs[i].stage[0]);
        free(c->outs[i].stage[1]);
    }
    free(c->outs);
    c->outs = NULL;
}

/* Each worker's two staging buffers and writer; without them (no memory) every
 * file is written buffered. */
static void restore_new_outs(restore_ctx *c, unsigned n)
{
    if (!(c->outs = calloc(n, sizeof *c->outs)))
        return;
    c->nouts = n;
    for (unsigned i = 0; i < n; i++) {
        direct_out *o = &c->outs[i];
        void *a = NULL, *b = NULL;
        int ok = posix_memalign(&a, DIRECT_ALIGN, DIRECT_STAGE) == 0;
        ok = posix_memalign(&b, DIRECT_ALIGN, DIRECT_STAGE) == 0 && ok;
        o->stage[0] = a;
        o->stage[1] = b;
        if (!ok || !(o->bg = bgtask_new())) {
            restore_free_outs(c);
            return;
        }
    }
}

/* Deep trees hold one descriptor per level (the walk and the deferred work), so the
 * soft limit is raised to the hard one. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The umask, read without changing it (umask(2) would, for every thread). */
static int read_umask(mode_t *out)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    int found = 0;
    unsigned m = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "Umask: %o", &m) == 1;
    if (f)
        fclose(f);
    *out = (mode_t)m & 0777;
    return found;
}

/* Creation gives a file its owner and mode exactly as POSIX says only on local
 * file systems; elsewhere (NFS squashing, FUSE, vfat) chown and chmod always run. */
static int local_fs(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0)
        return 0;
    switch ((unsigned long)sf.f_type) {
    case 0xEF53:     /* ext2/3/4 */
    case 0x58465342: /* xfs */
    case 0x9123683E: /* btrfs */
    case 0x01021994: /* tmpfs */
        return 1;
    default:
        return 0;
    }
}

/* Two workers per core, at most four: a worker waits for pack reads between its CPU
 * work (authenticate, decompress), and with one per core a core sat idle while its
 * worker waited; on a busy machine, where cores are shared out per thread, it also
 * gets the restore its share. Four bound the memory: each holds a blob, a run of pack
 * bytes and two staging buffers, ~17 MiB; the 1 GiB restore peaked at 96 MiB with
 * four and 165 MiB with eight, restic's at 100-134 MiB. */
#define RESTORE_WORKERS_MAX 4

static int restore_start(restore_ctx *c)
{
    raise_fd_limit();
    c->tmpfile_ok = access("/proc/self/fd", X_OK) == 0; /* O_TMPFILE files are named through it */
    c->link_empty = 1;
    c->euid = geteuid();
    c->egid = getegid();
    c->creation_known = local_fs(c->root) && read_umask(&c->umask);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 0 ? 2 * (unsigned)cores : 2;
    n = n < RESTORE_WORKERS_MAX ? n : RESTORE_WORKERS_MAX;
    c->bufs = calloc(n, sizeof *c->bufs);
    c->readers = calloc(n, sizeof *c->readers);
    if (!c->bufs || !c->readers)
        return err_set(ERR_FATAL, "out of memory");
    for (unsigned i = 0; i < n; i++) {
        buf_init(&c->bufs[i], 0);
        reader_init(&c->readers[i]);
    }
    restore_new_outs(c, n);
    return pool_new(n, (size_t)n * 4, &c->workers);
}

/* -v: how large files were written (O_DIRECT refused by the target: buffered). */
static void log_write_ways(const restore_ctx *c)
{
    if (c->st->bytes_direct || c->st->bytes_buffered)
        LOG_VERBOSE("files of 1 MiB or more: %.1f MiB written with O_DIRECT, %.1f MiB through the page cache",
                    (double)c->st->bytes_direct / 1048576, (double)c->st->bytes_buffered / 1048576);
}

static void restore_end(restore_ctx *c)
{
    for (unsigned i = 0; c->workers && c->bufs && c->readers && i < pool_threads(c->workers); i++) {
        buf_free(&c->bufs[i]);
        reader_free(&c->readers[i]);
    }
    pool_free(&c->workers);
    restore_free_outs(c);
    file_jobs_free(c->batch); /* left when the walk failed */
    free(c->bufs);
    free(c->readers);
    for (size_t i = 0; i < c->links_cap; i++)
        free(c->links[i].rel);
    free(c->links);
    for (size_t i = 0; i < c->nlater; i++) {
        free(c->later[i].rel);
        free(c->later[i].target);
        tree_node_free(&c->later[i].meta);
    }
    free(c->later);
    free(c->dest.p);
    free(c->snap.p);
    if (c->root >= 0)
        close(c->root);
    pthread_mutex_destroy(&c->mu);
}

/* What the snapshot (or its SNAP:PATH part) puts into the target. */
static int restore_walk(restore_ctx *c, const snapshot *s, folder *top, int *any)
{
    const char *sub = c->o->subpath;
    if (!sub || !strcmp(sub, "/"))
        return restore_tree(c, s->tree, top, 0, any);
    tree_node n;
    int rc = walk_find(c->r, s->tree, sub, &n);
    if (rc)
        return rc;
    const char *slash = strrchr(sub, '/');
    if (!(rc = path_set(&c->snap, sub))) {
        if (n.type == NODE_DIR) { /* the folder's contents go into the target */
            rc = restore_tree(c, n.subtree, top, 0, any);
        } else {
            path_pop(&c->snap, slash ? (size_t)(slash - sub) : 0);
            rc = restore_node(c, &n, top, 0, any);
        }
    }
    tree_node_free(&n);
    return rc;
}

static int restore_result(const files_restore_stats *st)
{
    if (st->xattr_failed)
        LOG_WARN("%llu extended attribute(s) could not be set (see warnings above)",
                 (unsigned long long)st->xattr_failed);
    if (st->sockets)
        LOG_WARN("%llu unix socket(s) not restored: a socket is made by the program that listens on it",
                 (unsigned long long)st->sockets);
    if (st->damaged) {
        err_set(ERR_DAMAGED,
                "%llu of the snapshot's entries could not be restored (%llu damaged or missing in the repository, "
                "%llu refused by the target; each is named above); everything else was restored",
                (unsigned long long)st->errors, (unsigned long long)st->damaged, (unsigned long long)st->local);
        err_hint("'lifeline check --read-data' names every damaged pack and the snapshots it touches");
        return ERR_DAMAGED;
    }
    if (st->local)
        return err_set(ERR_LOCAL, "%llu of the snapshot's entries could not be created in the target (each is named "
                       "above); everything else was restored",
                       (unsigned long long)st->local);
    return 0;
}

int files_restore(repo *r, const snapshot *s, const files_restore_opts *o, files_restore_stats *st)
{
    restore_ctx c = {.r = r, .o = o, .st = st, .as_root = geteuid() == 0, .root = -1};
    c.batch_tail = &c.batch;
    memset(st, 0, sizeof *st);
    pthread_mutex_init(&c.mu, NULL);
    int rc = fs_mkdirs(o->target, 0700), any = 0;
    if (!rc && (c.root = open(o->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        rc = err_sys(ERR_IO, "open %s", o->target);
    if (!rc && !(rc = path_set(&c.dest, o->target)) && !(rc = path_set(&c.snap, "")))
        c.root_len = c.dest.len;
    if (!rc)
        rc = restore_start(&c);
    progress_start(&c.prog, "restore", o->progress);
    folder *top = NULL;
    if (!rc && !(top = folder_new(fcntl(c.root, F_DUPFD_CLOEXEC, 0))))
        rc = err_set(ERR_FATAL, "out of memory");
    if (!rc && top->fd < 0)
        rc = err_sys(ERR_IO, "open %s", o->target);
    if (!rc)
        folder_probe(&c, top);
    if (!rc)
        rc = restore_walk(&c, s, top, &any);
    if (!rc)
        rc = batch_flush(&c);
    if (top)
        folder_release(top);
    if (c.workers) {
        int wrc = pool_wait(c.workers);
        rc = rc ? rc : wrc;
    }
    if (!rc)
        rc = apply_deferred(&c);
    progress_end(&c.prog);
    log_write_ways(&c);
    restore_end(&c);
    return rc ? rc : restore_result(st);
}

void files_restore_stats_free(files_restore_stats *st)
{
    for (size_t i = 0; i < st->nfailures; i++) {
        free(st->failures[i].path);
        free(st->failures[i].why);
    }
    free(st->failures);
    st->failures = NULL;
    st->nfailures = st->failures_cap = 0;
}
