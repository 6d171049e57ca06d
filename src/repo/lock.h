/* lock — repository locks: shared for backup/restore/check, exclusive for prune and
 * forget. A lock is a sealed object naming host, pid and time; a thread refreshes
 * it while held. A lock of a dead process on this host, or one not refreshed for
 * LOCK_STALE_SECONDS, is stale and is removed by the next locker. */
#ifndef LL_LOCK_H
#define LL_LOCK_H

#include "repo.h"

#define LOCK_REFRESH_SECONDS 60
#define LOCK_STALE_SECONDS (30 * 60)

typedef struct repo_lock repo_lock;

/* Waits up to wait_seconds for a conflicting lock to go; then ERR_LOCKED. */
int lock_acquire(repo *r, int exclusive, int wait_seconds, repo_lock **out) WUR;
void lock_release(repo_lock **l);
/* Removes stale locks (all locks with all_locks); *removed counts them. */
int lock_remove_stale(repo *r, int all_locks, int *removed) WUR;

#endif
