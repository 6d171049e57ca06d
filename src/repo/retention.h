/* retention — which snapshots a policy keeps and why. Pure logic over snapshot
 * times, tags, retention locks and legal holds; forget applies it per group. */
#ifndef LL_RETENTION_H
#define LL_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

typedef struct retention_policy {
    int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
    int64_t keep_within; /* seconds; 0 = not set */
    char **keep_tags;
    size_t ntags;
} retention_policy;

typedef struct retention_verdict {
    int keep;
    int forced;        /* kept by a retention lock or legal hold, whatever the policy */
    char reason[192];
} retention_verdict;

int retention_policy_empty(const retention_policy *p);
/* group: snapshots of one group, newest first. Times are bucketed in UTC. */
void retention_apply(const retention_policy *p, int64_t now, const snapshot *const *group, size_t n,
                     retention_verdict *out);

#endif
