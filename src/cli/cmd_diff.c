/* cmd_diff — `lifeline diff SNAP1 SNAP2`: what changed between two snapshots.
 * Identical subtrees have identical ids, so unchanged folders cost nothing. */
#include <stdio.h>
#include <string.h>

#include "../core/quote.h"
#include "../repo/snapshot.h"
#include "../repo/walk.h"
#include "cli.h"

typedef struct diff_ctx {
    repo *r;
    cJSON *arr;
    quote_style quote; /* names never reach the output raw (quote.h) */
    uint64_t added, removed, modified, meta, type;
} diff_ctx;

static void emit(diff_ctx *d, char what, const char *path)
{
    switch (what) {
    case '+': d->added++; break;
    case '-': d->removed++; break;
    case 'M': d->modified++; break;
    case 'U': d->meta++; break;
    default: d->type++; break;
    }
    if (d->arr) {
        cJSON *o = cJSON_CreateObject();
        char w[2] = {what, 0};
        cJSON_AddStringToObject(o, "change", w);
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddItemToArray(d->arr, o);
    } else {
        printf("%c    ", what);
        quote_fput(stdout, path, d->quote);
        putchar('\n');
    }
}

static int diff_trees(diff_ctx *d, const uint8_t *a, const uint8_t *b, const char *prefix);

static int one_side(diff_ctx *d, const tree_node *n, char what, const char *path)
{
    emit(d, what, path);
    if (n->type != NODE_DIR)
        return 0;
    return what == '+' ? diff_trees(d, NULL, n->subtree, path) : diff_trees(d, n->subtree, NULL, path);
}

static int same_meta(const tree_node *x, const tree_node *y)
{
    return x->mode == y->mode && x->uid == y->uid && x->gid == y->gid && x->mtime == y->mtime &&
           x->mtime_ns == y->mtime_ns && (x->link == y->link || (x->link && y->link && !strcmp(x->link, y->link))) &&
           tree_node_same_xattrs(x, y);
}

static int both(diff_ctx *d, const tree_node *x, const tree_node *y, const char *path)
{
    if (x->type != y->type) {
        emit(d, 'T', path);
        return 0;
    }
    if (x->type == NODE_DIR) {
        if (!same_meta(x, y))
            emit(d, 'U', path);
        return memcmp(x->subtree, y->subtree, 32) ? diff_trees(d, x->subtree, y->subtree, path) : 0;
    }
    if (x->ncontent != y->ncontent || (x->ncontent && memcmp(x->content, y->content, (size_t)x->ncontent * 32)))
        emit(d, 'M', path);
    else if (!same_meta(x, y))
        emit(d, 'U', path);
    return 0;
}

static int diff_trees(diff_ctx *d, const uint8_t *a, const uint8_t *b, const char *prefix)
{
    tree ta, tb;
    tree_init(&ta);
    tree_init(&tb);
    int rc = 0;
    if (a && b && !memcmp(a, b, 32))
        return 0;
    if (a)
        rc = walk_load_tree(d->r, a, &ta);
    if (!rc && b)
        rc = walk_load_tree(d->r, b, &tb);
    size_t i = 0, j = 0;
    while (!rc && (i < ta.n || j < tb.n)) {
        int cmp = i == ta.n ? 1 : j == tb.n ? -1 : strcmp(ta.nodes[i].name, tb.nodes[j].name);
        const tree_node *n = cmp <= 0 ? &ta.nodes[i] : &tb.nodes[j];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", prefix, n->name);
        if (cmp < 0)
            rc = one_side(d, &ta.nodes[i++], '-', path);
        else if (cmp > 0)
            rc = one_side(d, &tb.nodes[j++], '+', path);
        else
            rc = both(d, &ta.nodes[i++], &tb.nodes[j++], path);
    }
    tree_free(&ta);
    tree_free(&tb);
    return rc;
}

int cmd_diff(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, cli_find("diff"))) != -1)
        return opt == -2 ? 0 : ERR_USAGE;
    if (argc - optind != 2)
        return err_set(ERR_USAGE, "diff needs two snapshots");
    repo *r;
    snapshot a, b;
    snapshot_init(&a);
    snapshot_init(&b);
    int rc = cli_open_repo(c, &r);
    if (!rc)
        rc = repo_index_load(r);
    if (!rc)
        rc = snapshot_resolve(r, argv[optind], &a);
    if (!rc)
        rc = snapshot_resolve(r, argv[optind + 1], &b);
    diff_ctx d = {.r = r, .quote = quote_style_for(stdout)};
    if (!rc) {
        d.arr = c->json ? cJSON_CreateArray() : NULL;
        rc = diff_trees(&d, a.tree, b.tree, "");
    }
    if (!rc && c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "changes", d.arr);
        cJSON_AddNumberToObject(o, "added", (double)d.added);
        cJSON_AddNumberToObject(o, "removed", (double)d.removed);
        cJSON_AddNumberToObject(o, "modified", (double)d.modified);
        cJSON_AddNumberToObject(o, "metadata_changed", (double)d.meta);
        cJSON_AddNumberToObject(o, "type_changed", (double)d.type);
        cli_json_print(o);
    } else if (!rc) {
        printf("\n%llu added, %llu removed, %llu modified, %llu metadata only, %llu type changed\n",
               (unsigned long long)d.added, (unsigned long long)d.removed, (unsigned long long)d.modified,
               (unsigned long long)d.meta, (unsigned long long)d.type);
    } else {
        cJSON_Delete(d.arr);
    }
    snapshot_free(&a);
    snapshot_free(&b);
    return rc;
}
