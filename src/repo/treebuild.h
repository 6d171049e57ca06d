/* treebuild — assembles trees from entries that arrive by path in any order (a tar
 * stream, where PostgreSQL sends global/pg_control last), then writes every folder's
 * tree bottom-up. Folders named only as a parent get default metadata until their
 * own entry arrives. */
#ifndef LL_TREEBUILD_H
#define LL_TREEBUILD_H

#include "repo.h"
#include "tree.h"

typedef struct tree_builder tree_builder;

int tree_builder_new(tree_builder **out) WUR;
void tree_builder_free(tree_builder **b);
/* Adds the node at path ("a/b/c", no empty or ".." parts), taking ownership of its
 * allocations (its name is replaced by the last part of path). A NODE_DIR node sets
 * the folder's metadata. ERR_DAMAGED when path is invalid or a parent is a file. */
int tree_builder_add(tree_builder *b, const char *path, tree_node *n) WUR;
/* Writes all trees; root receives the root tree's id. ERR_DAMAGED on a duplicate name. */
int tree_builder_write(tree_builder *b, repo *r, uint8_t root[32]) WUR;
/* Counts, for summaries. */
uint64_t tree_builder_dirs(const tree_builder *b);

#endif
