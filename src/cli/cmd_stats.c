/* cmd_stats — `lifeline stats [SNAPSHOT]`: sizes and counts. */
#include <stdio.h>
#include <string.h>

#include "../core/text.h"
#include "../repo/snapshot.h"
#include "../repo/walk.h"
#include "cli.h"

typedef struct pack_total {
    uint64_t count, bytes;
} pack_total;

static int add_pack(const char *name, uint64_t size, void *vctx)
{
    pack_total *t = vctx;
    (void)name;
    t->count++;
    t->bytes += size;
    return 0;
}

typedef struct snap_total {
    uint64_t files, dirs, bytes;
} snap_total;

static int add_node(const char *path, const tree_node *n, void *vctx)
{
    snap_total *t = vctx;
    (void)path;
    if (n->type == NODE_DIR)
        t->dirs++;
    else
        t->files++;
    t->bytes += n->size;
    return 0;
}

int cmd_stats(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, cli_find("stats"))) != -1)
        return opt == -2 ? 0 : ERR_USAGE;
    if (argc - optind > 1)
        return err_set(ERR_USAGE, "stats takes at most one SNAPSHOT");
    repo *r;
    snapshot *list = NULL;
    size_t n = 0;
    pack_total pt = {0};
    snap_total st = {0};
    snapshot s;
    snapshot_init(&s);
    int rc = cli_open_repo(c, &r);
    if (!rc)
        rc = repo_index_load(r);
    if (!rc)
        rc = snapshot_load_all(r, &list, &n, 1);
    if (!rc)
        rc = store_list(repo_store(r), "data", add_pack, &pt);
    if (!rc && argc - optind == 1 && !(rc = snapshot_resolve(r, argv[optind], &s)))
        rc = walk_tree(r, s.tree, "", add_node, NULL, &st);
    if (rc) {
        snapshots_free(&list, n);
        snapshot_free(&s);
        return rc;
    }
    idx *x = repo_index(r);
    uint64_t data_blobs = 0, tree_blobs = 0, raw = 0, stored = 0;
    for (size_t i = 0; i < idx_count(x); i++) {
        const idx_entry *e = idx_at(x, i);
        if (IDX_TYPE(e) == BLOB_TREE)
            tree_blobs++;
        else
            data_blobs++;
        raw += e->raw_len;
        stored += e->length;
    }
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "snapshots", (double)n);
        cJSON_AddNumberToObject(o, "packs", (double)pt.count);
        cJSON_AddNumberToObject(o, "pack_bytes", (double)pt.bytes);
        cJSON_AddNumberToObject(o, "data_blobs", (double)data_blobs);
        cJSON_AddNumberToObject(o, "tree_blobs", (double)tree_blobs);
        cJSON_AddNumberToObject(o, "unique_bytes", (double)raw);
        cJSON_AddNumberToObject(o, "stored_bytes", (double)stored);
        cJSON_AddNumberToObject(o, "index_memory_bytes", (double)idx_memory(x));
        if (s.npaths) {
            cJSON_AddNumberToObject(o, "snapshot_files", (double)st.files);
            cJSON_AddNumberToObject(o, "snapshot_dirs", (double)st.dirs);
            cJSON_AddNumberToObject(o, "snapshot_bytes", (double)st.bytes);
        }
        cli_json_print(o);
    } else {
        char a[32], b[32], d[32], m[32];
        text_bytes(pt.bytes, a, sizeof a);
        text_bytes(raw, b, sizeof b);
        text_bytes(stored, d, sizeof d);
        text_bytes(idx_memory(x), m, sizeof m);
        printf("snapshots:      %zu\n", n);
        printf("packs:          %llu (%s on disk)\n", (unsigned long long)pt.count, a);
        printf("blobs:          %llu data, %llu tree\n", (unsigned long long)data_blobs, (unsigned long long)tree_blobs);
        printf("unique data:    %s (after deduplication)\n", b);
        printf("stored:         %s (after compression and encryption)\n", d);
        printf("index memory:   %s (%.1f bytes per blob)\n", m,
               idx_count(x) ? (double)idx_memory(x) / (double)idx_count(x) : 0.0);
        if (s.npaths) {
            char sid[9], z[32];
            snapshot_short_id(s.id, sid);
            text_bytes(st.bytes, z, sizeof z);
            printf("snapshot %s: %llu files, %llu folders, %s to restore\n", sid, (unsigned long long)st.files,
                   (unsigned long long)st.dirs, z);
        }
    }
    snapshots_free(&list, n);
    snapshot_free(&s);
    return 0;
}
