/* lock — repository locks: shared for backup/restore/check, exclusive for prune and
 * forget. A lock is a sealed object naming host, pid, the process's start time, boot
 * and pid namespace, and the time of its last refresh; a thread refreshes it while
 * held. A lock of a live process on this host is never stale, whatever its age; one
 * of a dead process (or of a reused pid, or an earlier boot) is; a lock of another
 * host (or container) is stale when not refreshed for LOCK_STALE_SECONDS. A writer checks, just before it
 * commits an index file or a snapshot, that its own lock still stands unchanged. */
#ifndef LL_LOCK_H
#define LL_LOCK_H

#include "repo.h"

#define LOCK_REFRESH_SECONDS 60
#define LOCK_STALE_SECONDS (30 * 60)

typedef struct repo_lock repo_lock;

/* Waits up to wait_seconds for a conflicting lock to go; then ERR_LOCKED. While the
 * lock is held, every index file and snapshot this repo commits first checks it. */
int lock_acquire(repo *r, int exclusive, int wait_seconds, repo_lock **out) WUR;
/* For commands that only read: like a shared lock_acquire, but a repository that
 * cannot be written (read-only mount, full disk, no permission) is read without a
 * lock, with a warning (*out is NULL then); a live exclusive lock still refuses. */
int lock_acquire_reader(repo *r, int wait_seconds, repo_lock **out) WUR;
void lock_release(repo_lock **l);
/* Removes stale locks (all locks with all_locks); *removed counts them. */
int lock_remove_stale(repo *r, int all_locks, int *removed) WUR;
/* 0 while l is still the repository's lock as this process last wrote it; else
 * ERR_LOCKED saying it was removed or replaced (the process was paused past the
 * stale age on another host, or someone ran `unlock --remove-all`). */
int lock_verify(repo_lock *l) WUR;

/* What a lock says about its owner (exposed for the unit tests of the stale rule). */
typedef struct lock_info {
    char host[256];
    long pid;
    int64_t time;
    uint64_t start; /* the owner's start time in clock ticks after boot; 0: not recorded */
    char boot[40];  /* /proc/sys/kernel/random/boot_id; "": not recorded */
    char pidns[40]; /* the owner's pid namespace ("pid:[4026531836]"); "": not recorded */
    int exclusive;
} lock_info;
/* Decodes a lock's JSON (fuzzed: tests/fuzz/fuzz_lock.c); ERR_DAMAGED when malformed. */
int lock_decode(const uint8_t *text, size_t len, lock_info *li) WUR;
/* Is the lock stale as seen from this process at time now? */
int lock_is_stale(const lock_info *li, int64_t now);
/* The start time of process pid (field 22 of /proc/PID/stat); 0 when unknown. */
uint64_t lock_process_start(long pid);

#endif
