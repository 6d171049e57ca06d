/* prune — removes what no snapshot references: packs whose blobs are all unused
 * are deleted, packs mostly unused are repacked (sealed blobs copied as they are),
 * packs no index names (left by an interrupted backup) and temporaries of writes
 * that never finished are deleted. Packs and temporaries younger than the safety
 * window are left alone whatever they hold, so a writer that lost its lock (stopped
 * past the stale age) never loses what it wrote. Deleting comes before rewriting,
 * so a nearly full disk makes progress: a new index that no longer names the
 * wholly unused packs is written first, then they are deleted; then the repack
 * (new packs and their index, then the index without the old packs, then the old
 * packs go), after checking the space it needs. A crash at any point leaves every
 * referenced blob reachable. Caller holds an exclusive lock. */
#ifndef LL_PRUNE_H
#define LL_PRUNE_H

#include "repo.h"

/* Kopia's full-safety minimum age for deleting unreferenced blobs (rustic keeps
 * packs 23 h): far beyond the stale-lock age, so only a writer stopped for a day
 * could lose its packs, and then its own check before committing says so. */
#define PRUNE_SAFETY_WINDOW_DEFAULT (24 * 3600)
/* Temporaries outside data/, index/ and snapshots/ may belong to writers that take
 * no lock (wal-push, the audit trail): never removed younger than this. */
#define PRUNE_UNLOCKED_TEMP_MIN_AGE 3600

typedef struct prune_opts {
    int dry_run;
    double max_unused;     /* repack a pack when more than this fraction is unused */
    int64_t safety_window; /* seconds: younger packs and temporaries are kept */
} prune_opts;

typedef struct prune_stats {
    uint64_t packs_total, packs_deleted, packs_repacked, packs_unindexed;
    uint64_t blobs_used, blobs_unused, bytes_freed, bytes_repacked, index_files_replaced;
    uint64_t packs_young, bytes_young;                   /* left alone: inside the safety window */
    uint64_t temps_removed, temps_bytes, temps_young;    /* partial writes (*.tmp) */
    uint64_t repack_space_needed, space_free;           /* bytes, when there was a repack to do */
} prune_stats;

int prune_run(repo *r, const prune_opts *o, prune_stats *st) WUR;

/* Calls fn for every temporary ("*.tmp") an unfinished write left in the repository. */
int prune_list_temps(repo *r, store_list_fn fn, void *ctx) WUR;

#endif
