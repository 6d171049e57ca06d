/* tree — a folder's listing as stored in a tree blob: one node per entry, sorted
 * by name, with metadata, content blob ids (files) or a subtree id (folders). */
#ifndef LL_TREE_H
#define LL_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

enum {
    NODE_FILE = 1, NODE_DIR = 2, NODE_SYMLINK = 3, NODE_FIFO = 4, NODE_CHR = 5, NODE_BLK = 6, NODE_SOCK = 7
};

#define TREE_VERSION 1
#define TREE_MAX_NODES (1u << 24)
#define TREE_MAX_NAME 4096

typedef struct tree_node {
    char *name;
    uint8_t type;
    uint32_t mode; /* permission bits incl. setuid/setgid/sticky */
    uint32_t uid, gid;
    uint64_t size;
    int64_t mtime, ctime, atime;
    uint32_t mtime_ns, ctime_ns, atime_ns;
    uint64_t inode, dev, rdev;
    uint32_t nlink;
    char *link;              /* symlink target */
    uint32_t ncontent;       /* data blob ids of a file, in order */
    uint8_t (*content)[32];
    uint8_t subtree[32];     /* folders */
} tree_node;

typedef struct tree {
    tree_node *nodes;
    size_t n, cap;
} tree;

void tree_init(tree *t);
void tree_free(tree *t);
void tree_node_free(tree_node *n);
/* Deep copy; out owns its own allocations. */
int tree_node_copy(const tree_node *n, tree_node *out) WUR;
/* Takes ownership of the node's allocations. */
int tree_add(tree *t, tree_node *n) WUR;
void tree_sort(tree *t);
const tree_node *tree_find(const tree *t, const char *name);
int tree_encode(const tree *t, buf *out) WUR;
/* ERR_DAMAGED on any malformed input (fuzzed). */
int tree_decode(const uint8_t *p, size_t len, tree *t) WUR;

#endif
