/* snapshot — the record of one backup (time, host, paths, tags, root tree, class
 * and its lock, summary), stored as a sealed JSON object, plus legal holds,
 * which are separate objects so a snapshot itself is never rewritten. */
#ifndef LL_SNAPSHOT_H
#define LL_SNAPSHOT_H

#include <stdint.h>

#include "repo.h"

#define SNAPSHOT_VERSION 1

typedef struct snapshot_summary {
    uint64_t files_new, files_changed, files_unchanged, dirs, files_failed;
    uint64_t bytes_read, bytes_added, total_files, total_bytes;
    double duration;
} snapshot_summary;

typedef struct snapshot {
    uint8_t id[32];
    int64_t time;
    long time_ns;
    char hostname[256];
    char username[64];
    char **paths;
    size_t npaths;
    char **tags;
    size_t ntags;
    uint8_t tree[32];
    int has_parent;
    uint8_t parent[32];
    char class_name[64];
    int64_t lock_until; /* 0: no retention lock */
    int partial;
    char source[32];    /* "files" */
    char *meta_json;    /* source-specific JSON object, or NULL */
    snapshot_summary summary;
    int held;           /* filled by snapshot_load_all from holds/ */
    int hold_error;     /* the hold file exists but could not be read (its err_code) */
    uint64_t hold_lost; /* the audit record placing a hold whose file is gone (audit_mark_holds) */
} snapshot;

void snapshot_init(snapshot *s);
void snapshot_free(snapshot *s);
void snapshots_free(snapshot **list, size_t n);
int snapshot_add_path(snapshot *s, const char *p) WUR;
int snapshot_add_tag(snapshot *s, const char *t) WUR;
int snapshot_has_tag(const snapshot *s, const char *t);
int snapshot_encode(const snapshot *s, buf *out) WUR;
/* The summary as a JSON object (snapshot files and `backup --json` alike). */
struct cJSON *snapshot_summary_json(const snapshot_summary *m);
/* ERR_DAMAGED on malformed input, ERR_VERSION on an unknown version (fuzzed). */
int snapshot_decode(const uint8_t *p, size_t len, snapshot *s) WUR;
/* Assigns a fresh id and writes the snapshot. */
int snapshot_save(repo *r, snapshot *s) WUR;
int snapshot_load(repo *r, const uint8_t id[32], snapshot *s) WUR;
/* All snapshots, oldest first. tolerate_damage: 0 fail on a damaged one, 1 warn and
 * skip it, 2 skip it silently. */
int snapshot_load_all(repo *r, snapshot **out, size_t *n, int tolerate_damage) WUR;
/* "latest", or an id prefix of at least 4 hex digits. "latest" fails (13, or 16 when
 * unreadable) rather than pick an older snapshot when the newest may be damaged or
 * deleted: see snapshot_newest_guard. */
int snapshot_resolve(repo *r, const char *spec, snapshot *out) WUR;

/* Snapshots the audit trail (a layer above) records as saved and not forgotten, with
 * an upper bound of their time (when the backup's record was written). */
typedef struct snapshot_known {
    uint8_t id[32];
    int64_t time_bound;
    uint64_t seq;
} snapshot_known;
typedef int (*snapshot_known_fn)(repo *r, snapshot_known **out, size_t *n);
void snapshot_set_known_source(snapshot_known_fn fn);
/* For every "newest snapshot" choice: chosen (NULL when none matched) is the newest of
 * list, which was loaded skipping unreadable files. Fails naming the file when a
 * snapshot that may be newer than chosen cannot be read (13 damaged, 16 unreadable)
 * or was deleted (13: the trail knows it, no forget removed it). */
int snapshot_newest_guard(repo *r, const snapshot *list, size_t n, const snapshot *chosen) WUR;
/* The same, leaving out the snapshots (hex ids) the running command removed itself. */
int snapshot_guard(repo *r, const snapshot *list, size_t n, const snapshot *chosen, char *const *gone,
                   size_t ngone) WUR;
void snapshot_short_id(const uint8_t id[32], char out[9]);
/* Same host and same set of paths: the group for parents and for forget. */
int snapshot_same_group(const snapshot *a, const snapshot *b);

int snapshot_hold(repo *r, const uint8_t id[32], const char *reason) WUR;
int snapshot_release(repo *r, const uint8_t id[32]) WUR;
/* 1 when held, 0 when not; reason copied when held. */
int snapshot_hold_get(repo *r, const uint8_t id[32], char *reason, size_t cap) WUR;

#endif
