/* store — where repository files live, behind one table of functions so that a
 * posix folder (now) and S3-compatible storage (later) are interchangeable.
 * Names are relative, '/'-separated: "config", "keys/<id>", "data/ab/<id>". */
#ifndef LL_STORE_H
#define LL_STORE_H

#include <stdint.h>

#include "../core/buf.h"

typedef struct store store;

/* Called once per file found by store_list; a non-zero return stops the listing. */
typedef int (*store_list_fn)(const char *name, uint64_t size, void *ctx);

typedef struct store_ops {
    /* Atomic and durable: readers see the whole file or none of it. With exclusive,
     * an existing name is an error. */
    int (*put)(store *s, const char *name, const void *data, size_t len, int exclusive);
    int (*get)(store *s, const char *name, buf *out, size_t max);
    /* flags: STORE_ONCE, the range will not be read again soon (a restore's run of a
     * large file's blobs, a pack read by check --read-data): a local store lets it
     * leave the page cache. */
    int (*get_range)(store *s, const char *name, uint64_t off, size_t len, buf *out, int flags);
    int (*size)(store *s, const char *name, uint64_t *size);
    /* When the file was last written (seconds since the epoch). */
    int (*mtime)(store *s, const char *name, int64_t *mtime);
    int (*remove)(store *s, const char *name);
    /* Lists files under dir (recursively); names passed to fn include dir. */
    int (*list)(store *s, const char *dir, store_list_fn fn, void *ctx);
    /* Lists, like list, only the temporaries ("<name>.<n>.tmp") of writes that never
     * finished (a kill, a crash, a full or read-only disk), which list skips. */
    int (*list_temp)(store *s, const char *dir, store_list_fn fn, void *ctx);
    /* Bytes that can still be written (what an unprivileged writer may use). */
    int (*free_space)(store *s, uint64_t *bytes);
    /* Like put, but not yet durable: writeback starts and the name appears at once;
     * sync (each file) and sync_dir (each folder) make it durable later. Used for packs,
     * which nothing references until the barrier before their index file. */
    int (*put_nosync)(store *s, const char *name, const void *data, size_t len);
    int (*sync)(store *s, const char *name);
    int (*sync_dir)(store *s, const char *dir);
    void (*free)(store *s);
} store_ops;

struct store {
    const store_ops *ops;
    char *location; /* for messages */
};

/* A posix folder. With create, makes the folder and its sub-folders. */
int store_posix_open(const char *path, int create, store **out) WUR;

static inline int store_put(store *s, const char *n, const void *d, size_t l, int ex) { return s->ops->put(s, n, d, l, ex); }
static inline int store_get(store *s, const char *n, buf *o, size_t max) { return s->ops->get(s, n, o, max); }
#define STORE_ONCE 1
static inline int store_get_range(store *s, const char *n, uint64_t off, size_t l, buf *o, int flags) { return s->ops->get_range(s, n, off, l, o, flags); }
static inline int store_size(store *s, const char *n, uint64_t *sz) { return s->ops->size(s, n, sz); }
static inline int store_mtime(store *s, const char *n, int64_t *t) { return s->ops->mtime(s, n, t); }
static inline int store_remove(store *s, const char *n) { return s->ops->remove(s, n); }
static inline int store_list(store *s, const char *dir, store_list_fn fn, void *ctx) { return s->ops->list(s, dir, fn, ctx); }
static inline int store_list_temp(store *s, const char *dir, store_list_fn fn, void *ctx) { return s->ops->list_temp(s, dir, fn, ctx); }
static inline int store_free_space(store *s, uint64_t *bytes) { return s->ops->free_space(s, bytes); }
static inline int store_put_nosync(store *s, const char *n, const void *d, size_t l) { return s->ops->put_nosync(s, n, d, l); }
static inline int store_sync(store *s, const char *n) { return s->ops->sync(s, n); }
static inline int store_sync_dir(store *s, const char *dir) { return s->ops->sync_dir(s, dir); }
void store_free(store **s);

#endif
