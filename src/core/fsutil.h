/* fsutil — durable file writes and whole-file reads.
 * fs_write_durable is the one path by which anything that must survive a crash is
 * written: temporary name, write, fsync, rename, fsync of the folder. */
#ifndef LL_FSUTIL_H
#define LL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Writes data to path atomically and durably with the given mode; on failure nothing
 * is left behind and the error names the step (write, fsync, rename) that failed.
 * With exclusive, an existing path is an error (ERR_FATAL, errno EEXIST). */
int fs_write_durable(const char *path, const void *data, size_t len, mode_t mode, int exclusive) WUR;
/* The same, the file given owner uid:gid before it appears under its name
 * (uid (uid_t)-1: left as created). */
int fs_write_durable_owned(const char *path, const void *data, size_t len, mode_t mode, int exclusive, uid_t uid,
                           gid_t gid) WUR;
/* Reads a whole file (at most max bytes, else ERR_DAMAGED). ENOENT gives ERR_NOTFOUND. */
int fs_read_file(const char *path, buf *out, size_t max) WUR;
/* Reads len bytes at off; a short file gives ERR_DAMAGED. */
int fs_read_range(const char *path, unsigned long long off, size_t len, buf *out) WUR;
int fs_mkdirs(const char *path, mode_t mode) WUR;
int fs_fsync_dir(const char *path) WUR;
/* fsync of an existing file by name. */
int fs_fsync_file(const char *path) WUR;
/* Writes all of len bytes to fd, retrying short writes and EINTR. */
int fs_write_all(int fd, const void *data, size_t len) WUR;
/* Path join into a fixed buffer; fails with ERR_FATAL when it does not fit. */
int fs_join(char *out, size_t cap, const char *a, const char *b) WUR;

/* Removes a file, or a folder with everything in it (symlinks are not followed). */
int fs_remove_tree(const char *path) WUR;

#endif
