/* retention — which snapshots a policy keeps and why. Pure logic over snapshot
 * times, tags, retention locks and legal holds; forget applies it per group. */
#ifndef LL_RETENTION_H
#define LL_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* The calendar periods of --keep-hourly ... --keep-yearly and --keep-within-*. */
enum { RETENTION_HOURLY, RETENTION_DAILY, RETENTION_WEEKLY, RETENTION_MONTHLY, RETENTION_YEARLY,
       RETENTION_PERIODS };

typedef struct retention_policy {
    int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
    /* Durations in seconds (0 = not set), counted back from the group's newest
     * snapshot, never from the clock: a group whose backups stopped keeps them. */
    int64_t keep_within;
    int64_t keep_within_period[RETENTION_PERIODS]; /* newest of each period within */
    char **keep_tags;
    size_t ntags;
} retention_policy;

typedef struct retention_verdict {
    int keep;
    int forced;        /* kept by a retention lock or legal hold, whatever the policy */
    char reason[192];
} retention_verdict;

int retention_policy_empty(const retention_policy *p);
/* group: snapshots of one group, newest first. Times are bucketed in UTC. now only
 * decides whether retention locks are still in force. The newest snapshot of the
 * group is always kept unless allow_remove_newest. */
void retention_apply(const retention_policy *p, int64_t now, const snapshot *const *group, size_t n,
                     int allow_remove_newest, retention_verdict *out);

#endif
