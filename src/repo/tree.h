/* tree — a folder's listing as stored in a tree blob: one node per entry, sorted
 * by name, with metadata (incl. extended attributes, which carry ACLs and file
 * capabilities), content blob ids (files) or a subtree id (folders). */
#ifndef LL_TREE_H
#define LL_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

enum {
    NODE_FILE = 1, NODE_DIR = 2, NODE_SYMLINK = 3, NODE_FIFO = 4, NODE_CHR = 5, NODE_BLK = 6, NODE_SOCK = 7
};

/* Version 1 nodes have no flags and no extended attributes; version 2 adds both.
 * A tree is written as version 1 whenever it can be, so trees without them keep
 * their ids (and stay readable by older lifeline releases). */
#define TREE_VERSION_1 1
#define TREE_VERSION 2
#define TREE_MAX_NODES (1u << 24)
#define TREE_MAX_NAME 4096
#define TREE_MAX_XATTRS 4096          /* per node */
#define TREE_MAX_XATTR_NAME 255       /* XATTR_NAME_MAX */
#define TREE_MAX_XATTR_VALUE 65536    /* XATTR_SIZE_MAX */

enum { NODE_FLAG_SPARSE = 1 }; /* a file with holes: restore leaves its zero runs unwritten */
#define NODE_FLAGS_KNOWN NODE_FLAG_SPARSE

/* One extended attribute as listxattr/getxattr give it: "user.x", "trusted.x",
 * "security.capability", "system.posix_acl_access" (an ACL in the kernel's form). */
typedef struct tree_xattr {
    char *name;
    uint8_t *value;
    uint32_t len;
} tree_xattr;

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
    uint32_t flags;          /* NODE_FLAG_* (version 2) */
    uint32_t nxattr;         /* sorted by name, bytewise (version 2) */
    tree_xattr *xattrs;
} tree_node;

typedef struct tree {
    tree_node *nodes;
    size_t n, cap;
    uint8_t version; /* as decoded; 0 for a new tree: the lowest version that holds it */
} tree;

void tree_init(tree *t);
void tree_free(tree *t);
void tree_node_free(tree_node *n);
/* Deep copy; out owns its own allocations. */
int tree_node_copy(const tree_node *n, tree_node *out) WUR;
/* Deep copy of the metadata only (no name, link target or content). */
int tree_node_copy_meta(const tree_node *n, tree_node *out) WUR;
/* Adds an extended attribute (copies name and value); keep names unique. */
int tree_node_add_xattr(tree_node *n, const char *name, const void *value, size_t len) WUR;
/* Do two nodes carry the same extended attributes (names and values)? */
int tree_node_same_xattrs(const tree_node *a, const tree_node *b);
/* Sorts a node's extended attributes by name, as the encoding requires. */
void tree_node_sort_xattrs(tree_node *n);
/* Takes ownership of the node's allocations. */
int tree_add(tree *t, tree_node *n) WUR;
void tree_sort(tree *t);
const tree_node *tree_find(const tree *t, const char *name);
int tree_encode(const tree *t, buf *out) WUR;
/* ERR_DAMAGED on any malformed input (fuzzed). */
int tree_decode(const uint8_t *p, size_t len, tree *t) WUR;

#endif
