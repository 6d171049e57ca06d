/* files — the files source: backing up folders, files, symlinks, hard links and
 * special files with their metadata into trees, and restoring them exactly. */
#ifndef LL_FILES_H
#define LL_FILES_H

#include "../core/pattern.h"
#include "../repo/repo.h"
#include "../repo/snapshot.h"

typedef struct files_backup_opts {
    char **paths; /* absolute, normalized, sorted by component, none inside another */
    size_t npaths;
    pattern_list *excludes; /* NULL: none */
    const snapshot *parent; /* for skipping unchanged files; may be NULL */
    int progress;
    int one_file_system;    /* do not cross into other file systems below the paths */
    char **given;           /* every path as given (absolute, before normalizing): */
    size_t ngiven;          /* with one_file_system, these are crossed into */
} files_backup_opts;

/* Makes a path absolute and lexically clean ("/a/./b/../c/" -> "/a/c"). */
int files_abs_path(const char *in, char *out, size_t cap) WUR;
/* Is child the same path as parent, or below it? ("/" contains every path.) */
int files_is_inside(const char *child, const char *parent);
/* Sorts paths component by component (a folder, then what is below it, then its
 * siblings), drops duplicates and paths inside other paths. */
void files_normalize_paths(char **paths, size_t *n);

/* Writes the trees and data; *tree receives the root tree id. Unreadable entries
 * are warned about, counted in files_failed, and skipped. */
int files_backup(repo *r, const files_backup_opts *o, uint8_t tree[32], snapshot_summary *sum) WUR;

/* How files of 1 MiB or more are written: O_DIRECT (where the file system allows
 * it), or through the page cache. */
typedef enum files_write_mode { FILES_WRITE_DIRECT, FILES_WRITE_BUFFERED } files_write_mode;

typedef struct files_restore_opts {
    const char *target;
    const char *subpath; /* "/a/b" inside the snapshot, or NULL for all */
    pattern_list *includes; /* NULL: everything */
    pattern_list *excludes; /* NULL: none */
    int progress;
    int delta; /* over an existing folder: keep files whose content matches, remove extras */
    int list_failures; /* keep each failed entry in stats.failures (for --json) */
    files_write_mode write_mode;
} files_restore_opts;

/* One entry that could not be restored: damaged in the repository, or local (the
 * target refused it: permissions, a folder with contents in the way, ...). */
typedef struct files_restore_failure {
    char *path, *why;
    int damaged;
} files_restore_failure;

#define FILES_FAILURES_MAX 10000 /* kept for --json; every one is printed */

typedef struct files_restore_stats {
    uint64_t files, dirs, links, bytes;
    uint64_t errors, damaged, local; /* errors = damaged + local */
    uint64_t sockets;                /* unix sockets met and not restored */
    uint64_t unchanged, removed;     /* --delta: files kept as they were, entries removed */
    uint64_t xattr_failed;           /* extended attributes (ACLs, capabilities) that could not be set */
    uint64_t bytes_direct, bytes_buffered; /* of files >= 1 MiB: written with O_DIRECT, or not */
    files_restore_failure *failures; /* with list_failures: the first FILES_FAILURES_MAX */
    size_t nfailures, failures_cap;
} files_restore_stats;

/* Restores everything it can. Each entry that fails is reported on its own line and
 * counted; the rest is still restored and folder metadata applied. Returns
 * ERR_DAMAGED when any entry's data failed authentication (or is missing from the
 * repository), else ERR_LOCAL when any entry could not be created in the target.
 * Nothing in the target is followed: a symlink (or file) where the snapshot has a
 * folder is replaced by a real folder. */
int files_restore(repo *r, const snapshot *s, const files_restore_opts *o, files_restore_stats *st) WUR;
void files_restore_stats_free(files_restore_stats *st);

#endif
