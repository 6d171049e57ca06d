/* prune — removes what no snapshot references: packs whose blobs are all unused
 * are deleted, packs mostly unused are repacked (sealed blobs copied as they are),
 * packs no index names (left by an interrupted backup) are deleted. New packs and
 * a new full index are written before anything is removed, so a crash at any
 * point leaves every referenced blob reachable. Caller holds an exclusive lock. */
#ifndef LL_PRUNE_H
#define LL_PRUNE_H

#include "repo.h"

typedef struct prune_opts {
    int dry_run;
    double max_unused; /* repack a pack when more than this fraction is unused */
} prune_opts;

typedef struct prune_stats {
    uint64_t packs_total, packs_deleted, packs_repacked, packs_unindexed;
    uint64_t blobs_used, blobs_unused, bytes_freed, bytes_repacked, index_files_replaced;
} prune_stats;

int prune_run(repo *r, const prune_opts *o, prune_stats *st) WUR;

#endif
