/* prune — see prune.h. */
#define _GNU_SOURCE
#include "prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/text.h"
#include "snapshot.h"
#include "walk.h"

typedef struct pack_use {
    uint64_t size;     /* file size, 0 when the file is missing */
    uint64_t used;     /* bytes of referenced blobs */
    uint8_t action;    /* 0 keep, 1 delete, 2 repack */
} pack_use;

typedef struct prune_ctx {
    repo *r;
    uint8_t *used; /* per index entry */
    pack_use *packs;
    prune_stats *st;
    char **unindexed;
    size_t nunindexed;
} prune_ctx;

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
    char **p = realloc(c->unindexed, (c->nunindexed + 1) * sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    c->unindexed = p;
    if (!(p[c->nunindexed] = strdup(name)))
        return err_set(ERR_FATAL, "out of memory");
    c->nunindexed++;
    c->st->packs_unindexed++;
    c->st->bytes_freed += size;
    return 0;
}

static int plan(prune_ctx *c, const prune_opts *o)
{
    idx *x = repo_index(c->r);
    for (size_t i = 0; i < idx_count(x); i++) {
        const idx_entry *e = idx_at(x, i);
        if (c->used[i]) {
            c->packs[IDX_PACK(e)].used += e->length;
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
            u->action = 1; /* listed by the index but gone: drop it from the index */
        } else if (!u->used) {
            u->action = 1;
            c->st->packs_deleted++;
            c->st->bytes_freed += u->size;
        } else if ((double)(u->size - u->used) > o->max_unused * (double)u->size) {
            u->action = 2;
            c->st->packs_repacked++;
            c->st->bytes_repacked += u->used;
            c->st->bytes_freed += u->size - u->used;
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
        if (!c->used[i] || c->packs[IDX_PACK(e)].action != 2)
            continue;
        char name[128];
        repo_pack_name(idx_pack_id(x, IDX_PACK(e)), name, sizeof name);
        rc = store_get_range(repo_store(c->r), name, e->offset, e->length, &sealed);
        if (!rc)
            rc = repo_blob_copy(c->r, IDX_TYPE(e), e->id, sealed.data, sealed.len, e->raw_len);
    }
    buf_free(&sealed);
    return rc ? rc : repo_flush(c->r);
}

/* One index file for every kept pack (repacked blobs are in the index repo_flush wrote). */
static int write_kept_index(prune_ctx *c)
{
    idx *x = repo_index(c->r);
    uint32_t *start, *order;
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
        if (c->packs[p].action != 0 || start[p] == start[p + 1])
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
    uint8_t id[32];
    buf_init(&plain, 0);
    if (!rc && ng && !(rc = idx_file_encode(groups, ng, &plain)) && !(rc = crypto_random(id, 32)))
        rc = repo_object_save(c->r, OBJ_INDEX, id, plain.data, plain.len, 1);
    buf_free(&plain);
    free(groups);
    free(entries);
    free(start);
    free(order);
    return rc;
}

static int remove_old(prune_ctx *c, const uint8_t (*old_index)[32], size_t nold)
{
    idx *x = repo_index(c->r);
    int rc = 0;
    for (size_t i = 0; !rc && i < nold; i++)
        rc = repo_object_remove(c->r, OBJ_INDEX, old_index[i]);
    c->st->index_files_replaced = nold;
    for (size_t p = 0; !rc && p < c->st->packs_total; p++) {
        if (c->packs[p].action == 0 || !c->packs[p].size)
            continue;
        char name[128];
        repo_pack_name(idx_pack_id(x, (uint32_t)p), name, sizeof name);
        rc = store_remove(repo_store(c->r), name);
    }
    for (size_t i = 0; !rc && i < c->nunindexed; i++)
        rc = store_remove(repo_store(c->r), c->unindexed[i]);
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

int prune_run(repo *r, const prune_opts *o, prune_stats *st)
{
    memset(st, 0, sizeof *st);
    prune_ctx c = {.r = r, .st = st};
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
        rc = mark_all(&c);
    if (!rc)
        rc = store_list(repo_store(r), "data", note_pack, &c);
    if (!rc)
        rc = plan(&c, o);
    /* a damaged index file is replaced even when no pack changes */
    int changes = st->packs_deleted || st->packs_repacked || st->packs_unindexed || repo_index_damaged(r);
    for (size_t p = 0; !changes && p < st->packs_total; p++)
        changes = c.packs[p].action != 0;
    if (!rc && !o->dry_run && changes) {
        if (!(rc = repack(&c)) && !(rc = write_kept_index(&c)))
            rc = remove_old(&c, (const uint8_t(*)[32])old, nfiles);
    }
    for (size_t i = 0; i < c.nunindexed; i++)
        free(c.unindexed[i]);
    free(c.unindexed);
    free(c.used);
    free(c.packs);
    free(old);
    return rc;
}
