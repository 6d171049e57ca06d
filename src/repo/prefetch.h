/* prefetch — reads ranges of packs ahead of the threads that will use them, so a
 * restore worker writing one file does not then wait for the read of the next one.
 * A few threads of its own read, in the order the ranges were queued, the ranges of
 * groups (one group per restore job: the runs of blobs it will read, in order) into
 * memory, at most `budget` bytes read and not yet taken in all (and `per_group` for
 * one group, so one large file does not starve the jobs after it). Whoever needs a
 * range takes it: read already, it is handed over; being read, the taker waits for
 * it; not started, the taker reads it itself (never waiting for room in the budget).
 * A failed read ahead is only reported as failed: the taker reads again and reports
 * what the repository says. Memory: budget + one range + a few spare buffers. */
#ifndef LL_PREFETCH_H
#define LL_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "repo.h"

typedef struct prefetch prefetch;
typedef struct prefetch_group prefetch_group;

/* Starts threads readers over r. */
int prefetch_new(repo *r, unsigned threads, size_t budget, size_t per_group, prefetch **out) WUR;
/* Stops the threads and frees what is left (every group must have ended). */
void prefetch_free(prefetch **p);

typedef struct prefetch_range {
    uint32_t pack;
    uint64_t off;
    size_t len;
} prefetch_range;

/* Queues n ranges (copied) to be read ahead in this order, after the groups queued
 * before; NULL when out of memory (then nothing is read ahead for them). */
prefetch_group *prefetch_group_new(prefetch *p, const prefetch_range *ranges, size_t n);
/* Range i of the group into out (its previous bytes are dropped): taken from the
 * read ahead, or read here. Ranges before i not taken are dropped. Returns what the
 * read returned (with the error record set on failure). */
int prefetch_take(prefetch_group *g, size_t i, buf *out) WUR;
/* Drops what is left of the group (waiting for a read of it under way) and frees it. */
void prefetch_group_end(prefetch_group *g);

#endif
