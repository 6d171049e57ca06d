/* xattr — extended attributes of files, folders and symlinks, read on backup into
 * a tree node and set again on restore: user.*, trusted.*, security.* (file
 * capabilities are security.capability) and POSIX ACLs, which the kernel keeps as
 * system.posix_acl_access and system.posix_acl_default (as tar --xattrs --acls). */
#ifndef LL_XATTR_H
#define LL_XATTR_H

#include <stdint.h>

#include "../repo/tree.h"

/* Adds path's extended attributes to n: a symlink's own when follow is 0, the
 * folder it leads to when 1. A file system without them gives none. What cannot be
 * read is warned about (path and attribute named) and counted in *unreadable.
 * Returns 0, or ERR_FATAL when memory runs out. */
int xattr_read(const char *path, int follow, tree_node *n, uint64_t *unreadable) WUR;

/* Sets n's extended attributes on fd (which may be an O_PATH descriptor, e.g. of a
 * symlink), or on path (never following a symlink) when fd < 0. Call after the owner is set (chown clears security.capability) and before
 * the mode (an ACL rewrites the group bits). Each attribute that cannot be set (not
 * permitted, e.g. trusted.* without root; not supported by the file system) is
 * warned about, naming the path and attribute; returns how many. */
unsigned xattr_apply(int fd, const char *path, const tree_node *n);

#endif
