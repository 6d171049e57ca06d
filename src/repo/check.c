/* check — see check.h. Order: keys, index, packs (headers, and data when asked),
 * then snapshots, so that damage found in packs can be traced to files. */
#define _GNU_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/pool.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "prune.h"
#include "snapshot.h"
#include "walk.h"

typedef struct check_ctx {
    repo *r;
    const check_opts *o;
    check_report_fn fn;
    void *fctx;
    check_result *res;
    pthread_mutex_t mu;
    idx *bad;      /* blobs found damaged or missing (as a set) */
    idx *visited;  /* trees already checked */
    uint8_t *on_disk; /* per pack number: 1 when the file exists */
    uint32_t *start, *order; /* index entries grouped by pack */
    buf *files, *outs;       /* per worker: the pack read whole, a decoded blob */
    blob_reader *readers;
    const char *snap; /* snapshot being walked, for messages */
    progress prog;
} check_ctx;

enum { UNREADABLE = 2 }; /* report's is_error for a file that exists but cannot be read */

/* Damage (authentication, format) or a file that could not be read (permissions, I/O). */
static int fault_kind(int rc) { return rc == ERR_IO ? UNREADABLE : 1; }
static const char *fault_word(int rc) { return rc == ERR_IO ? "unreadable" : "damaged"; }

static void report(check_ctx *c, int is_error, const char *object, const char *fmt, ...) PRINTF(4, 5);
static void report(check_ctx *c, int is_error, const char *object, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->mu);
    if (is_error == UNREADABLE) /* an error, but not damage: the file may be intact */
        c->res->unreadable++;
    else if (is_error)
        c->res->errors++;
    else
        c->res->warnings++;
    c->fn(is_error ? "error" : "warning", object, msg, c->fctx);
    pthread_mutex_unlock(&c->mu);
}

static void mark_bad(check_ctx *c, uint8_t type, const uint8_t id[32])
{
    pthread_mutex_lock(&c->mu);
    if (idx_add(c->bad, type, id, 0, 0, 0, 0) != 0)
        err_clear();
    pthread_mutex_unlock(&c->mu);
}

/* ---- keys ----------------------------------------------------------------------- */

/* A slot whose MAC fails under its own name but holds under another slot's was moved
 * there (swapped or renamed); returns that other index or -1. */
static int slot_made_as(check_ctx *c, const buf *text, const uint8_t (*ids)[32], size_t n, size_t self)
{
    for (size_t k = 0; k < n; k++)
        if (k != self && keyslot_verify(text->data, text->len, repo_keys(c->r), ids[k]) == 0)
            return (int)k;
    err_clear();
    return -1;
}

typedef struct slot_scan {
    check_ctx *c;
    uint8_t (*ids)[32];
    size_t n, cap;
} slot_scan;

static int note_slot(const char *name, uint64_t size, void *vctx)
{
    slot_scan *s = vctx;
    uint8_t id[32];
    (void)size;
    if (text_unhex(strrchr(name, '/') + 1, id, 32) != 0) {
        report(s->c, 0, name, "not a key slot name; ignored");
        return 0;
    }
    int rc = array_grow(&s->ids, &s->cap, s->n + 1, sizeof *s->ids, 8);
    if (!rc)
        memcpy(s->ids[s->n++], id, 32);
    return rc;
}

/* Each slot authentic under its own name, and the slot files exactly the config's list. */
static int check_slots(check_ctx *c)
{
    slot_scan s = {.c = c};
    const uint8_t(*listed)[32];
    size_t nlisted;
    int has_list = repo_slot_list(c->r, &listed, &nlisted);
    int rc = store_list(repo_store(c->r), "keys", note_slot, &s);
    uint8_t(*all)[32] = calloc(s.n + nlisted + 1, 32); /* present and listed: where a slot may belong */
    if (!rc && !all)
        rc = err_set(ERR_FATAL, "out of memory");
    size_t nall = s.n;
    if (!rc)
        memcpy(all, s.ids, s.n * 32);
    for (size_t i = 0; !rc && i < nlisted; i++)
        if (!keyslot_ids_contain((const uint8_t(*)[32])s.ids, s.n, listed[i]))
            memcpy(all[nall++], listed[i], 32);
    for (size_t i = 0; !rc && i < s.n; i++) {
        char hex[65], name[80];
        keyslot_info info;
        buf text;
        text_hex(s.ids[i], 32, hex);
        snprintf(name, sizeof name, "keys/%s", hex);
        buf_init(&text, 65536);
        int got = store_get(repo_store(c->r), name, &text, 65536);
        if (got) {
            report(c, fault_kind(got), name, "key slot is %s: %s", fault_word(got), err_msg());
        } else if (keyslot_parse(text.data, text.len, &info) != 0 ||
                   keyslot_verify(text.data, text.len, repo_keys(c->r), s.ids[i]) != 0) {
            char why[512], other[65];
            snprintf(why, sizeof why, "%s", err_msg());
            int k = slot_made_as(c, &text, (const uint8_t(*)[32])all, nall, i);
            if (k >= 0)
                text_hex(all[k], 32, other);
            if (k >= 0)
                report(c, 1, name, "key slot holds the slot made as keys/%s: the slot files were swapped or renamed",
                       other);
            else
                report(c, 1, name, "key slot is damaged: %s", why);
        } else if (has_list && !keyslot_ids_contain(listed, nlisted, s.ids[i])) {
            report(c, 1, name, "key slot is not in the config's list of slots (added by hand, or a key change "
                               "was interrupted before the list was written)");
        }
        err_clear();
        buf_free(&text);
    }
    for (size_t i = s.n; !rc && i < nall; i++) {
        char hex[65], name[80];
        text_hex(all[i], 32, hex);
        snprintf(name, sizeof name, "keys/%s", hex);
        report(c, 1, name, "key slot is missing: the config lists it (the file was deleted)");
    }
    if (!rc && !has_list)
        report(c, 0, "config", "the config does not list its key slots (written by an older lifeline), so a "
                               "deleted slot cannot be noticed; the next key add or remove writes the list");
    free(all);
    free(s.ids);
    return rc;
}

/* ---- index ---------------------------------------------------------------------- */

static int add_entry(const uint8_t pack_id[32], const pack_entry *e, void *ctx)
{
    idx *x = ctx;
    uint32_t no;
    int rc = idx_pack_number(x, pack_id, &no);
    return rc ? rc : idx_add(x, e->type, e->id, no, e->offset, e->length, e->raw_len);
}

static int check_index_file(const uint8_t id[32], void *vctx)
{
    check_ctx *c = vctx;
    char hex[65], name[80];
    buf plain;
    buf_init(&plain, 0);
    text_hex(id, 32, hex);
    snprintf(name, sizeof name, "index/%s", hex);
    int rc = repo_object_load(c->r, OBJ_INDEX, id, &plain);
    if (!rc)
        rc = idx_file_decode(plain.data, plain.len, add_entry, repo_index(c->r));
    if (rc)
        report(c, fault_kind(rc), name, "index file is %s: %s (blobs it listed may be reported missing)",
               fault_word(rc), err_msg());
    err_clear();
    buf_free(&plain);
    return 0;
}

/* ---- packs ---------------------------------------------------------------------- */

typedef struct disk_ctx {
    check_ctx *c;
} disk_ctx;

static int note_pack_file(const char *name, uint64_t size, void *vctx)
{
    check_ctx *c = vctx;
    const char *base = strrchr(name, '/') + 1;
    uint8_t id[32];
    (void)size;
    if (text_unhex(base, id, 32) != 0) {
        report(c, 0, name, "not a pack name; ignored");
        return 0;
    }
    uint32_t no;
    if (idx_pack_lookup(repo_index(c->r), id, &no)) {
        c->on_disk[no] = 1;
        return 0;
    }
    report(c, 0, name, "pack is not in the index (left by an interrupted backup; 'lifeline prune' removes it)");
    return 0;
}

/* Reads header (and, with read_data, every blob) of pack number no. */
typedef struct pack_job {
    check_ctx *c;
    uint32_t no;
} pack_job;

static void mark_pack_bad(check_ctx *c, uint32_t no)
{
    idx *x = repo_index(c->r);
    for (uint32_t k = c->start[no]; k < c->start[no + 1]; k++) {
        const idx_entry *e = idx_at(x, c->order[k]);
        mark_bad(c, IDX_TYPE(e), e->id);
    }
}

static int check_pack_data(check_ctx *c, unsigned worker, const char *name, const buf *file, const pack_entry *e,
                           size_t n)
{
    buf *out = &c->outs[worker];
    for (size_t i = 0; i < n; i++) {
        int rc = repo_blob_decode(c->r, &c->readers[worker], e[i].type, e[i].id, file->data + e[i].offset,
                                  e[i].length, e[i].raw_len, out, 1);
        if (rc) {
            char hex[65];
            text_hex(e[i].id, 32, hex);
            report(c, 1, name, "%s blob %.16s at offset %u is damaged: %s", e[i].type ? "tree" : "data", hex,
                   e[i].offset, err_msg());
            err_clear();
            mark_bad(c, e[i].type, e[i].id);
        }
        pthread_mutex_lock(&c->mu);
        c->res->blobs_read++;
        pthread_mutex_unlock(&c->mu);
    }
    return 0;
}

static int compare_header(check_ctx *c, uint32_t no, const char *name, const pack_entry *e, size_t n)
{
    idx *x = repo_index(c->r);
    int bad = 0;
    for (uint32_t k = c->start[no]; k < c->start[no + 1] && !bad; k++) {
        const idx_entry *ie = idx_at(x, c->order[k]);
        size_t lo = 0, hi = n; /* header entries are in offset order */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (e[mid].offset < ie->offset)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t j = lo;
        if (j == n || e[j].offset != ie->offset || memcmp(e[j].id, ie->id, 32) || e[j].length != ie->length || e[j].type != IDX_TYPE(ie)) {
            char hex[65];
            text_hex(ie->id, 32, hex);
            report(c, 1, name, "pack header does not list blob %.16s that the index places there", hex);
            mark_bad(c, IDX_TYPE(ie), ie->id);
            bad = 1;
        }
    }
    return bad;
}

static int check_pack_job(void *arg, unsigned worker)
{
    pack_job *j = arg;
    check_ctx *c = j->c;
    const uint8_t *pack_id = idx_pack_id(repo_index(c->r), j->no);
    char name[128];
    repo_pack_name(pack_id, name, sizeof name);
    buf *fb = &c->files[worker];
    pack_entry *e = NULL;
    size_t n = 0;
    buf_reset(fb);
    int rc = 0;
    if (c->o->read_data) {
        uint64_t size;
        /* Read once: a check of the whole repository must not push out of the page
         * cache what the host is using. */
        if (!(rc = store_size(repo_store(c->r), name, &size)))
            rc = store_get_range(repo_store(c->r), name, 0, (size_t)size, fb, STORE_ONCE);
    }
    if (!rc)
        rc = repo_pack_header(c->r, pack_id, c->o->read_data ? fb : NULL, &e, &n);
    if (rc) {
        report(c, 1, name, "%s", err_msg());
        err_clear();
        mark_pack_bad(c, j->no);
    } else {
        compare_header(c, j->no, name, e, n);
        if (c->o->read_data)
            check_pack_data(c, worker, name, fb, e, n);
    }
    pthread_mutex_lock(&c->mu);
    c->res->packs_read++;
    c->res->bytes_read += fb->len;
    progress_add(&c->prog, 1, c->o->read_data ? fb->len : 0);
    pthread_mutex_unlock(&c->mu);
    free(e);
    free(j);
    return 0;
}

static int in_subset(const check_opts *o, const uint8_t *pack_id)
{
    if (!o->subset_m)
        return 1;
    return le_get32(pack_id) % o->subset_m == o->subset_n - 1;
}

static int check_packs(check_ctx *c)
{
    idx *x = repo_index(c->r);
    size_t np = idx_pack_count(x);
    c->res->packs = np;
    c->on_disk = calloc(np ? np : 1, 1);
    if (!c->on_disk)
        return err_set(ERR_FATAL, "out of memory");
    int rc = idx_group_by_pack(x, &c->start, &c->order);
    if (!rc)
        rc = store_list(repo_store(c->r), "data", note_pack_file, c);
    if (rc)
        return rc;
    pool *p = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned nw = cores > 0 ? (unsigned)cores : 1;
    c->files = calloc(nw, sizeof *c->files);
    c->outs = calloc(nw, sizeof *c->outs);
    c->readers = calloc(nw, sizeof *c->readers);
    if (!c->files || !c->outs || !c->readers)
        return err_set(ERR_FATAL, "out of memory");
    for (unsigned i = 0; i < nw; i++) {
        buf_init(&c->files[i], 0);
        buf_init(&c->outs[i], 0);
        blob_reader_init(&c->readers[i]);
    }
    if ((rc = pool_new(nw, 4, &p)))
        return rc;
    for (uint32_t i = 0; !rc && i < np; i++) {
        char name[128];
        if (!c->on_disk[i]) {
            repo_pack_name(idx_pack_id(x, i), name, sizeof name);
            report(c, 1, name, "pack is missing: every blob the index places in it is lost");
            mark_pack_bad(c, i);
            continue;
        }
        if (!in_subset(c->o, idx_pack_id(x, i)))
            continue;
        pack_job *j = malloc(sizeof *j);
        if (!j) {
            rc = err_set(ERR_FATAL, "out of memory");
            break;
        }
        *j = (pack_job){c, i};
        if ((rc = pool_submit(p, check_pack_job, j)))
            free(j);
    }
    int wrc = pool_wait(p);
    pool_free(&p);
    for (unsigned i = 0; i < nw; i++) {
        buf_free(&c->files[i]);
        buf_free(&c->outs[i]);
        blob_reader_free(&c->readers[i]);
    }
    return rc ? rc : wrc;
}

/* ---- snapshots -------------------------------------------------------------------- */

/* Checks a tree and everything below; returns the number of problems found.
 * Only clean trees are remembered, so damage is reported for every snapshot. */
static uint64_t check_tree(check_ctx *c, const uint8_t id[32], const char *path)
{
    if (idx_find(c->visited, BLOB_TREE, id))
        return 0;
    uint64_t before = c->res->errors;
    tree t;
    char hex[65];
    if (walk_load_tree(c->r, id, &t) != 0) {
        text_hex(id, 32, hex);
        report(c, 1, c->snap, "%s: tree %.16s cannot be read: %s (everything below it is affected)",
               path[0] ? path : "/", hex, err_msg());
        err_clear();
        return 1;
    }
    c->res->trees++;
    for (size_t i = 0; i < t.n; i++) {
        const tree_node *n = &t.nodes[i];
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, n->name);
        if (n->type == NODE_DIR) {
            check_tree(c, n->subtree, child);
            continue;
        }
        for (uint32_t k = 0; k < n->ncontent; k++) {
            text_hex(n->content[k], 32, hex);
            if (!idx_find(repo_index(c->r), BLOB_DATA, n->content[k]))
                report(c, 1, c->snap, "%s: data blob %.16s is missing from the index", child, hex);
            else if (idx_find(c->bad, BLOB_DATA, n->content[k]))
                report(c, 1, c->snap, "%s: data blob %.16s is damaged or lost (see above)", child, hex);
        }
    }
    tree_free(&t);
    uint64_t found = c->res->errors - before;
    if (!found && idx_add(c->visited, BLOB_TREE, id, 0, 0, 0, 0) != 0)
        err_clear(); /* only a cache: on failure the tree is checked again */
    return found;
}

static int check_snapshots(check_ctx *c)
{
    snapshot *list;
    size_t n;
    /* damaged snapshot objects were reported already: go on with the readable ones */
    int rc = snapshot_load_all(c->r, &list, &n, 2);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < n; i++) {
        char sid[9], label[32];
        snapshot_short_id(list[i].id, sid);
        snprintf(label, sizeof label, "snapshot %s", sid);
        c->snap = label;
        c->res->snapshots++;
        if (idx_find(c->bad, BLOB_TREE, list[i].tree))
            report(c, 1, label, "root tree is damaged or lost");
        check_tree(c, list[i].tree, "");
    }
    snapshots_free(&list, n);
    return rc;
}

static int check_damaged_snapshot_files(const uint8_t id[32], void *vctx)
{
    check_ctx *c = vctx;
    buf b;
    buf_init(&b, 0);
    int rc = repo_object_load(c->r, OBJ_SNAPSHOT, id, &b);
    if (rc && rc != ERR_NOTFOUND) { /* not found: forgotten while listing */
        char hex[65], name[80];
        text_hex(id, 32, hex);
        snprintf(name, sizeof name, "snapshots/%s", hex);
        report(c, fault_kind(rc), name, "snapshot is %s: %s", fault_word(rc), err_msg());
        err_clear();
    }
    buf_free(&b);
    return 0;
}

static int count_temp(const char *name, uint64_t size, void *vctx)
{
    check_result *res = vctx;
    (void)name;
    res->temps++;
    res->temp_bytes += size;
    return 0;
}

/* Partial files of writes that never finished (kill -9, a full or read-only disk):
 * not damage, but space nothing uses until prune reclaims it. */
static int check_temps(check_ctx *c)
{
    int rc = prune_list_temps(c->r, count_temp, c->res);
    if (!rc && c->res->temps) {
        char b[32];
        text_bytes(c->res->temp_bytes, b, sizeof b);
        report(c, 0, repo_location(c->r),
               "%llu temporary file(s) (*.tmp, %s) left by writes that never finished; 'lifeline prune' removes "
               "those older than its safety window",
               (unsigned long long)c->res->temps, b);
    }
    return rc;
}

int check_run(repo *r, const check_opts *o, check_report_fn fn, void *fctx, check_result *res)
{
    check_ctx c = {.r = r, .o = o, .fn = fn, .fctx = fctx, .res = res};
    memset(res, 0, sizeof *res);
    pthread_mutex_init(&c.mu, NULL);
    c.bad = idx_new();
    c.visited = idx_new();
    int rc = c.bad && c.visited ? 0 : err_set(ERR_FATAL, "out of memory");
    if (!rc)
        rc = check_slots(&c);
    if (!rc)
        rc = repo_object_list(r, OBJ_INDEX, check_index_file, &c);
    progress_start(&c.prog, o->read_data ? "read packs" : "check packs", o->progress);
    progress_total(&c.prog, idx_pack_count(repo_index(r)), 0);
    if (!rc)
        rc = check_packs(&c);
    progress_end(&c.prog);
    if (!rc)
        rc = repo_object_list(r, OBJ_SNAPSHOT, check_damaged_snapshot_files, &c);
    if (!rc)
        rc = check_snapshots(&c);
    if (!rc)
        rc = check_temps(&c);
    idx_free(&c.bad);
    idx_free(&c.visited);
    free(c.on_disk);
    free(c.start);
    free(c.order);
    free(c.files);
    free(c.outs);
    free(c.readers);
    pthread_mutex_destroy(&c.mu);
    return rc;
}
