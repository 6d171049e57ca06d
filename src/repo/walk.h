/* walk — depth-first traversal of a snapshot's trees, calling a visitor with each
 * node and its full path ("/home/x/file"). Used by ls, stats, check and prune. */
#ifndef LL_WALK_H
#define LL_WALK_H

#include "repo.h"
#include "tree.h"

/* Return 0 to go on, WALK_SKIP to not descend into this folder, other non-zero to stop. */
#define WALK_SKIP (-1)
typedef int (*walk_fn)(const char *path, const tree_node *node, void *ctx);
/* Called when a tree cannot be loaded; return 0 to go on, non-zero to stop. */
typedef int (*walk_err_fn)(const char *path, const uint8_t tree_id[32], void *ctx);

int walk_tree(repo *r, const uint8_t tree_id[32], const char *prefix, walk_fn fn, walk_err_fn on_err, void *ctx) WUR;
int walk_load_tree(repo *r, const uint8_t id[32], tree *t) WUR;
/* Finds the node at path ("/a/b") below the root tree; ERR_NOTFOUND when absent. */
int walk_find(repo *r, const uint8_t root[32], const char *path, tree_node *out) WUR;

#endif
