/* prune — see prune.h. */
#define _GNU_SOURCE
#include "prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/text.h"
#include "snapshot.h"
#include "walk.h"

enum { KEEP = 0, DELETE = 1, REPACK = 2 };

typedef struct pack_use {
    uint64_t size;  /* file size, 0 when the file is missing */
    uint64_t used;  /* bytes of referenced blobs */
    uint32_t blobs; /* referenced blobs */
    uint8_t action; /* KEEP, DELETE or REPACK */
} pack_use;

typedef struct name_list {
    char **names;
    size_t n;
} name_list;

typedef struct prune_ctx {
    repo *r;
    const prune_opts *o;
    int64_t now;
    uint8_t *used; /* per index entry */
    pack_use *packs;
    prune_stats *st;
    name_list unindexed, temps;
} prune_ctx;

static int names_add(name_list *l, const char *name)
{
    char **p = realloc(l->names, (l->n + 1) * sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    l->names = p;
    if (!(p[l->n] = strdup(name)))
        return err_set(ERR_FATAL, "out of memory");
    l->n++;
    return 0;
}

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

/* Was name written less than min_age seconds ago? A file that vanished counts as
 * young: it is someone else's and none of prune's business. */
static int is_young(prune_ctx *c, const char *name, int64_t min_age)
{
    int64_t mtime;
    if (min_age <= 0)
        return 0;
    if (store_mtime(repo_store(c->r), name, &mtime) != 0) {
        err_clear();
        return 1;
    }
    return c->now - mtime < min_age;
}

static int mark(prune_ctx *c, uint8_t type, const uint8_t id[32], int *was)
{
    size_t pos;
    if (!idx_find_pos(repo_index(c->r), type, id, &pos)) {
        char hex[65];
        text_hex(id, 32, hex);
        err_set(ERR_DAMAGED, "%s blob %.16s is referenced but not in the index", type ? "tree" : "data", hex);
        err_hint("run 'lifeline check' first; prune refuses to run on a damaged repository");
        return ERR_DAMAGED;
    }
    *was = c->used[pos];
    c->used[pos] = 1;
    return 0;
}

static int mark_tree(prune_ctx *c, const uint8_t id[32])
{
    int was;
    int rc = mark(c, BLOB_TREE, id, &was);
    if (rc || was)
        return rc; /* a tree seen before has had its children marked */
    tree t;
    if ((rc = walk_load_tree(c->r, id, &t))) {
        err_hint("run 'lifeline check' first; prune refuses to run on a damaged repository");
        return rc;
    }
    for (size_t i = 0; !rc && i < t.n; i++) {
        const tree_node *n = &t.nodes[i];
        if (n->type == NODE_DIR)
            rc = mark_tree(c, n->subtree);
        for (uint32_t k = 0; !rc && k < n->ncontent; k++)
            rc = mark(c, BLOB_DATA, n->content[k], &was);
    }
    tree_free(&t);
    return rc;
}

static int note_pack(const char *name, uint64_t size, void *vctx)
{
    prune_ctx *c = vctx;
    uint8_t id[32];
    uint32_t no;
    const char *base = strrchr(name, '/') + 1;
    if (text_unhex(base, id, 32) != 0)
        return 0;
    if (idx_pack_lookup(repo_index(c->r), id, &no)) {
        c->packs[no].size = size;
        return 0;
    }
    if (is_young(c, name, c->o->safety_window)) { /* a live writer's, before its index */
        c->st->packs_young++;
        c->st->bytes_young += size;
        return 0;
    }
    c->st->packs_unindexed++;
    c->st->bytes_freed += size;
    return names_add(&c->unindexed, name);
}

static int note_temp(const char *name, uint64_t size, void *vctx)
{
    prune_ctx *c = vctx;
    int locked = !strncmp(name, "data/", 5) || !strncmp(name, "index/", 6) || !strncmp(name, "snapshots/", 10);
    int64_t age = c->o->safety_window;
    if (!locked && age < PRUNE_UNLOCKED_TEMP_MIN_AGE)
        age = PRUNE_UNLOCKED_TEMP_MIN_AGE;
    if (is_young(c, name, age)) {
        c->st->temps_young++;
        return 0;
    }
    c->st->temps_removed++;
    c->st->temps_bytes += size;
    c->st->bytes_freed += size;
    return names_add(&c->temps, name);
}

static void plan_pack(prune_ctx *c, uint32_t p, const prune_opts *o)
{
    pack_use *u = &c->packs[p];
    if (!u->used)
        u->action = DELETE;
    else if ((double)(u->size - u->used) > o->max_unused * (double)u->size)
        u->action = REPACK;
    if (u->action == KEEP)
        return;
    char name[128];
    repo_pack_name(idx_pack_id(repo_index(c->r), p), name, sizeof name);
    if (is_young(c, name, o->safety_window)) { /* a racing writer may be about to use it */
        u->action = KEEP;
        c->st->packs_young++;
        c->st->bytes_young += u->size;
    } else if (u->action == DELETE) {
        c->st->packs_deleted++;
        c->st->bytes_freed += u->size;
    } else {
        c->st->packs_repacked++;
        c->st->bytes_repacked += u->used;
        c->st->bytes_freed += u->size - u->used;
    }
}

static int plan(prune_ctx *c, const prune_opts *o)
{
    idx *x = repo_index(c->r);
    for (size_t i = 0; i < idx_count(x); i++) {
        const idx_entry *e = idx_at(x, i);
        if (c->used[i]) {
            c->packs[IDX_PACK(e)].used += e->length;
            c->packs[IDX_PACK(e)].blobs++;
            c->st->blobs_used++;
        } else {
            c->st->blobs_unused++;
        }
    }
    for (size_t p = 0; p < idx_pack_count(x); p++) {
        pack_use *u = &c->packs[p];
        if (!u->size) {
            if (u->used)
                return err_set(ERR_DAMAGED, "a pack holding referenced blobs is missing; run 'lifeline check'");
            u->action = DELETE; /* listed by the index but gone: drop it from the index */
        } else {
            plan_pack(c, (uint32_t)p, o);
        }
    }
    return 0;
}

static int repack(prune_ctx *c)
{
    idx *x = repo_index(c->r);
    buf sealed;
    buf_init(&sealed, 0);
    int rc = 0;
    for (size_t i = 0; !rc && i < idx_count(x); i++) {
        const idx_entry *e = idx_at(x, i);
        if (!c->used[i] || c->packs[IDX_PACK(e)].action != REPACK)
            continue;
        char name[128];
        repo_pack_name(idx_pack_id(x, IDX_PACK(e)), name, sizeof name);
        rc = store_get_range(repo_store(c->r), name, e->offset, e->length, &sealed, 0);
        if (!rc)
            rc = repo_blob_copy(c->r, IDX_TYPE(e), e->id, sealed.data, sealed.len, e->raw_len);
    }
    buf_free(&sealed);
    return rc ? rc : repo_flush(c->r);
}

/* One index file for the original packs that stay: those kept, and with
 * with_repack those still to be repacked (repacked blobs' new packs are in the index
 * repo_flush wrote). *written says whether there was anything to write. */
static int write_index(prune_ctx *c, int with_repack, uint8_t id[32], int *written)
{
    idx *x = repo_index(c->r);
    uint32_t *start, *order;
    *written = 0;
    int rc = idx_group_by_pack(x, &start, &order);
    if (rc)
        return rc;
    size_t np = c->st->packs_total; /* packs written by repack are indexed already */
    idx_file_pack *groups = calloc(np ? np : 1, sizeof *groups);
    pack_entry *entries = malloc((idx_count(x) ? idx_count(x) : 1) * sizeof *entries);
    size_t ng = 0, ne = 0;
    if (!groups || !entries)
        rc = err_set(ERR_FATAL, "out of memory");
    for (size_t p = 0; !rc && p < np; p++) {
        uint8_t a = c->packs[p].action;
        if (!(a == KEEP || (with_repack && a == REPACK)) || start[p] == start[p + 1])
            continue;
        memcpy(groups[ng].pack_id, idx_pack_id(x, (uint32_t)p), 32);
        groups[ng].entries = entries + ne;
        for (uint32_t k = start[p]; k < start[p + 1]; k++) {
            const idx_entry *e = idx_at(x, order[k]);
            pack_entry *pe = &entries[ne++];
            pe->type = IDX_TYPE(e);
            memcpy(pe->id, e->id, 32);
            pe->offset = e->offset;
            pe->length = e->length;
            pe->raw_len = e->raw_len;
            groups[ng].n++;
        }
        ng++;
    }
    buf plain;
    buf_init(&plain, 0);
    if (!rc && ng && !(rc = idx_file_encode(groups, ng, &plain)) && !(rc = crypto_random(id, 32)))
        rc = repo_object_save(c->r, OBJ_INDEX, id, plain.data, plain.len, 1);
    if (!rc && ng)
        *written = 1;
    if (rc == ERR_NOSPACE)
        err_wrap("prune needs %zu bytes free for its new index file", plain.len + 4096);
    buf_free(&plain);
    free(groups);
    free(entries);
    free(start);
    free(order);
    return rc;
}

static int remove_index_files(prune_ctx *c, const uint8_t (*ids)[32], size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = repo_object_remove(c->r, OBJ_INDEX, ids[i]);
    c->st->index_files_replaced += n;
    return rc;
}

static int remove_packs(prune_ctx *c, uint8_t action)
{
    int rc = 0;
    for (size_t p = 0; !rc && p < c->st->packs_total; p++) {
        if (c->packs[p].action != action || !c->packs[p].size)
            continue;
        char name[128];
        repo_pack_name(idx_pack_id(repo_index(c->r), (uint32_t)p), name, sizeof name);
        rc = store_remove(repo_store(c->r), name);
    }
    return rc;
}

static int remove_names(prune_ctx *c, const name_list *l)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n; i++)
        rc = store_remove(repo_store(c->r), l->names[i]);
    return rc;
}

static int mark_all(prune_ctx *c)
{
    snapshot *list;
    size_t n;
    int rc = snapshot_load_all(c->r, &list, &n, 0);
    if (rc) {
        err_hint("prune refuses to run while a snapshot is unreadable; run 'lifeline check'");
        return rc;
    }
    for (size_t i = 0; !rc && i < n; i++)
        rc = mark_tree(c, list[i].tree);
    snapshots_free(&list, n);
    return rc;
}

int prune_list_temps(repo *r, store_list_fn fn, void *ctx)
{
    static const char *dirs[] = {"data", "index", "snapshots", "locks", "keys", "audit", "holds", "wal"};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof dirs / sizeof *dirs; i++)
        rc = store_list_temp(repo_store(r), dirs[i], fn, ctx);
    return rc;
}

/* An upper bound of what the repack writes before it deletes anything: the blobs it
 * copies, a pack header entry each, and two index files naming every blob kept. */
static uint64_t repack_space(prune_ctx *c)
{
    uint64_t blobs = 0;
    for (size_t p = 0; p < c->st->packs_total; p++)
        if (c->packs[p].action == REPACK)
            blobs += c->packs[p].blobs;
    return c->st->bytes_repacked + blobs * 128 + 2 * (c->st->blobs_used * 128 + 65536);
}

static int space_check(prune_ctx *c)
{
    c->st->repack_space_needed = repack_space(c);
    int rc = store_free_space(repo_store(c->r), &c->st->space_free);
    if (rc || c->st->space_free >= c->st->repack_space_needed)
        return rc;
    char need[32], have[32];
    text_bytes(c->st->repack_space_needed, need, sizeof need);
    text_bytes(c->st->space_free, have, sizeof have);
    err_set(ERR_NOSPACE, "repacking %llu packs needs up to %llu bytes (%s) free in %s; %llu bytes (%s) are free",
            (unsigned long long)c->st->packs_repacked, (unsigned long long)c->st->repack_space_needed, need,
            repo_location(c->r), (unsigned long long)c->st->space_free, have);
    err_hint("packs wholly unused were %s; free some space, or delete only whole packs: --max-unused 100",
             c->o->dry_run ? "not deleted (dry run)" : "deleted first");
    return ERR_NOSPACE;
}

/* Deleting before rewriting: temporaries and unindexed packs need no index change;
 * wholly unused packs go once an index that no longer names them is written. */
static int delete_phase(prune_ctx *c, uint8_t (**old)[32], size_t *nold)
{
    int rc = remove_names(c, &c->temps);
    if (!rc)
        rc = remove_names(c, &c->unindexed);
    int rewrite = repo_index_damaged(c->r); /* a damaged index file is replaced */
    for (size_t p = 0; p < c->st->packs_total; p++)
        rewrite |= c->packs[p].action == DELETE;
    if (rc || !rewrite)
        return rc;
    uint8_t id[32];
    int written;
    if (!(rc = write_index(c, 1, id, &written)) && !(rc = remove_index_files(c, (const uint8_t(*)[32]) * old, *nold)))
        rc = remove_packs(c, DELETE);
    *nold = 0;
    if (!rc && written) { /* the repack phase replaces the index just written */
        memcpy((*old)[0], id, 32);
        *nold = 1;
    }
    return rc;
}

static int repack_phase(prune_ctx *c, const uint8_t (*old)[32], size_t nold)
{
    uint8_t id[32];
    int written;
    int rc = repack(c);
    if (!rc)
        rc = write_index(c, 0, id, &written);
    if (!rc)
        rc = remove_index_files(c, old, nold);
    return rc ? rc : remove_packs(c, REPACK);
}

static int prune_plan(prune_ctx *c)
{
    int rc = mark_all(c);
    if (!rc)
        rc = store_list(repo_store(c->r), "data", note_pack, c);
    if (!rc)
        rc = prune_list_temps(c->r, note_temp, c);
    return rc ? rc : plan(c, c->o);
}

int prune_run(repo *r, const prune_opts *o, prune_stats *st)
{
    memset(st, 0, sizeof *st);
    prune_ctx c = {.r = r, .o = o, .st = st, .now = (int64_t)time(NULL)};
    int rc = repo_index_load(r);
    if (rc)
        return rc;
    idx *x = repo_index(r);
    const uint8_t(*files)[32];
    size_t nfiles = repo_index_files(r, &files);
    /* repo_flush appends to the repo's list: keep our own copy of the old names */
    uint8_t(*old)[32] = malloc((nfiles ? nfiles : 1) * 32);
    c.used = calloc(idx_count(x) ? idx_count(x) : 1, 1);
    c.packs = calloc(idx_pack_count(x) ? idx_pack_count(x) : 1, sizeof *c.packs);
    st->packs_total = idx_pack_count(x);
    if (!old || !c.used || !c.packs)
        rc = err_set(ERR_FATAL, "out of memory");
    if (!rc && nfiles)
        memcpy(old, files, nfiles * 32);
    if (!rc)
        rc = prune_plan(&c);
    if (!rc && !o->dry_run)
        rc = delete_phase(&c, &old, &nfiles);
    if (!rc && st->packs_repacked && (rc = space_check(&c)) && o->dry_run) {
        LOG_WARN("%s", err_msg()); /* what the real run would stop at */
        err_clear();
        rc = 0;
    }
    if (!rc && st->packs_repacked && !o->dry_run)
        rc = repack_phase(&c, (const uint8_t(*)[32])old, nfiles);
    names_free(&c.unindexed);
    names_free(&c.temps);
    free(c.used);
    free(c.packs);
    free(old);
    return rc;
}
