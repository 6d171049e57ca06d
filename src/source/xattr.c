/* xattr — see xattr.h. listxattr/getxattr from <sys/xattr.h>: ACLs and
 * capabilities are attributes like any other here, kept in the kernel's own binary
 * form, so neither libacl nor libcap is needed to carry them over. */
#define _GNU_SOURCE
#include "xattr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include "../core/log.h"

/* Attributes can change between asking for the size and reading (ERANGE): ask again. */
#define XATTR_ATTEMPTS 4

static ssize_t list_call(const char *path, int follow, char *out, size_t cap)
{
    return follow ? listxattr(path, out, cap) : llistxattr(path, out, cap);
}

static ssize_t get_call(const char *path, int follow, const char *name, void *out, size_t cap)
{
    return follow ? getxattr(path, name, out, cap) : lgetxattr(path, name, out, cap);
}

/* The names, NUL-separated, into *out (malloc'd); -1 with errno on failure. */
static ssize_t list_names(const char *path, int follow, char **out)
{
    *out = NULL;
    for (int i = 0; i < XATTR_ATTEMPTS; i++) {
        ssize_t want = list_call(path, follow, NULL, 0);
        if (want <= 0)
            return want;
        char *p = realloc(*out, (size_t)want);
        if (!p)
            return errno = ENOMEM, -1;
        *out = p;
        ssize_t got = list_call(path, follow, p, (size_t)want);
        if (got >= 0 || errno != ERANGE)
            return got;
    }
    return errno = ERANGE, -1;
}

/* One value into *out (malloc'd, at least 1 byte); -1 with errno on failure. */
static ssize_t get_value(const char *path, int follow, const char *name, uint8_t **out)
{
    *out = NULL;
    for (int i = 0; i < XATTR_ATTEMPTS; i++) {
        ssize_t want = get_call(path, follow, name, NULL, 0);
        if (want < 0)
            return want;
        uint8_t *p = realloc(*out, want ? (size_t)want : 1);
        if (!p)
            return errno = ENOMEM, -1;
        *out = p;
        ssize_t got = get_call(path, follow, name, p, (size_t)want);
        if (got >= 0 || errno != ERANGE)
            return got;
    }
    return errno = ERANGE, -1;
}

int xattr_read(const char *path, int follow, tree_node *n, uint64_t *unreadable)
{
    char *names;
    ssize_t len = list_names(path, follow, &names);
    if (len < 0) {
        if (errno == ENOMEM) {
            free(names);
            return err_set(ERR_FATAL, "out of memory");
        }
        if (errno != ENOTSUP && errno != ENOENT) { /* none here, or vanished: nothing to keep */
            LOG_WARN("cannot list extended attributes of %s: %s (left out of the snapshot)", path, strerror(errno));
            (*unreadable)++;
        }
        free(names);
        return 0;
    }
    int rc = 0;
    for (ssize_t off = 0; !rc && off < len; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        uint8_t *value;
        ssize_t vl = get_value(path, follow, name, &value);
        if (vl < 0 && errno == ENOMEM)
            rc = err_set(ERR_FATAL, "out of memory");
        else if (vl < 0 && errno != ENODATA) { /* ENODATA: removed since it was listed */
            LOG_WARN("cannot read extended attribute %s of %s: %s (left out of the snapshot)", name, path,
                     strerror(errno));
            (*unreadable)++;
        } else if (strlen(name) > TREE_MAX_XATTR_NAME) {
            LOG_WARN("extended attribute %s of %s has a name longer than %d bytes (left out of the snapshot)", name,
                     path, TREE_MAX_XATTR_NAME);
            (*unreadable)++;
        } else if (vl > TREE_MAX_XATTR_VALUE) {
            LOG_WARN("extended attribute %s of %s is larger than %d bytes (left out of the snapshot)", name, path,
                     TREE_MAX_XATTR_VALUE);
            (*unreadable)++;
        } else if (vl >= 0) {
            rc = tree_node_add_xattr(n, name, value, (size_t)vl);
        }
        free(value);
    }
    free(names);
    tree_node_sort_xattrs(n);
    return rc;
}

unsigned xattr_apply(int fd, const char *path, const tree_node *n)
{
    unsigned failed = 0;
    for (uint32_t i = 0; i < n->nxattr; i++) {
        const tree_xattr *x = &n->xattrs[i];
        int r = fd >= 0 ? fsetxattr(fd, x->name, x->value, x->len, 0) : lsetxattr(path, x->name, x->value, x->len, 0);
        if (r != 0 && fd >= 0 && errno == EBADF) { /* an O_PATH descriptor: its /proc link leads to the inode */
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
            r = setxattr(proc, x->name, x->value, x->len, 0);
        }
        if (r != 0) {
            LOG_WARN("cannot set extended attribute %s of %s: %s", x->name, path,
                     errno == ENOTSUP ? "not supported by the file system" : strerror(errno));
            failed++;
        }
    }
    return failed;
}
