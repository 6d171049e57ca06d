/* walk — see walk.h. */
#include "walk.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int walk_load_tree(repo *r, const uint8_t id[32], tree *t)
{
    buf b;
    buf_init(&b, 0);
    tree_init(t);
    int rc = repo_blob_load(r, BLOB_TREE, id, &b, 0);
    if (!rc)
        rc = tree_decode(b.data, b.len, t);
    buf_free(&b);
    return rc;
}

int walk_tree(repo *r, const uint8_t tree_id[32], const char *prefix, walk_fn fn, walk_err_fn on_err, void *ctx)
{
    tree t;
    int rc = walk_load_tree(r, tree_id, &t);
    if (rc)
        return on_err ? on_err(prefix[0] ? prefix : "/", tree_id, ctx) : rc;
    for (size_t i = 0; !rc && i < t.n; i++) {
        char path[PATH_MAX];
        const tree_node *n = &t.nodes[i];
        if (snprintf(path, sizeof path, "%s/%s", prefix, n->name) >= (int)sizeof path) {
            rc = err_set(ERR_DAMAGED, "path too long below %s", prefix);
            break;
        }
        rc = fn(path, n, ctx);
        if (rc == WALK_SKIP) {
            rc = 0;
            continue;
        }
        if (!rc && n->type == NODE_DIR)
            rc = walk_tree(r, n->subtree, path, fn, on_err, ctx);
    }
    tree_free(&t);
    return rc;
}

int walk_find(repo *r, const uint8_t root[32], const char *path, tree_node *out)
{
    uint8_t cur[32];
    memcpy(cur, root, 32);
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    char *save = NULL, *part = strtok_r(copy, "/", &save);
    if (!part)
        return err_set(ERR_USAGE, "empty path");
    while (part) {
        tree t;
        int rc = walk_load_tree(r, cur, &t);
        if (rc)
            return rc;
        const tree_node *n = tree_find(&t, part);
        char *next = strtok_r(NULL, "/", &save);
        if (!n) {
            tree_free(&t);
            return err_set(ERR_NOTFOUND, "%s is not in the snapshot", path);
        }
        if (!next) {
            rc = tree_node_copy(n, out);
            tree_free(&t);
            return rc;
        }
        if (n->type != NODE_DIR) {
            tree_free(&t);
            return err_set(ERR_NOTFOUND, "%s is not in the snapshot (%s is not a folder)", path, part);
        }
        memcpy(cur, n->subtree, 32);
        tree_free(&t);
        part = next;
    }
    return err_set(ERR_NOTFOUND, "%s is not in the snapshot", path);
}
