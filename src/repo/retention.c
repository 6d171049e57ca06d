/* retention — see retention.h. Bucket rules follow restic's: for each period
 * kind, the newest snapshot of each of the N most recent periods is kept, and
 * every duration is measured from the group's newest snapshot (restic's
 * "relative to the latest snapshot"), so a policy never empties a group just
 * because its backups stopped. */
#include "retention.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/text.h"

static const char *const period_names[RETENTION_PERIODS] = {"hourly", "daily", "weekly", "monthly", "yearly"};

int retention_policy_empty(const retention_policy *p)
{
    for (int k = 0; k < RETENTION_PERIODS; k++)
        if (p->keep_within_period[k])
            return 0;
    return !p->keep_last && !p->keep_hourly && !p->keep_daily && !p->keep_weekly && !p->keep_monthly &&
           !p->keep_yearly && !p->keep_within && !p->ntags;
}

static long bucket(int kind, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    switch (kind) {
    case RETENTION_HOURLY: return (long)((tm.tm_year * 400L + tm.tm_yday) * 24 + tm.tm_hour);
    case RETENTION_DAILY: return (long)(tm.tm_year * 400L + tm.tm_yday);
    case RETENTION_WEEKLY: return (long)((t / 86400 + 3) / 7); /* weeks start on Monday */
    case RETENTION_MONTHLY: return (long)(tm.tm_year * 12L + tm.tm_mon);
    default: return (long)tm.tm_year;
    }
}

static void add_reason(retention_verdict *v, const char *r)
{
    size_t l = strlen(v->reason);
    snprintf(v->reason + l, sizeof v->reason - l, "%s%s", l ? ", " : "", r);
    v->keep = 1;
}

/* Retention locks and legal holds: kept whatever the policy says. */
static void forced_keeps(const snapshot *s, int64_t now, retention_verdict *v)
{
    if (s->held) {
        add_reason(v, "legal hold");
        v->forced = 1;
    }
    if (s->lock_until > now) {
        char t[64], r[128];
        text_time(s->lock_until, 0, t, sizeof t);
        snprintf(r, sizeof r, "retention lock%s%s until %s", s->class_name[0] ? " of class " : "", s->class_name, t);
        add_reason(v, r);
        v->forced = 1;
    }
}

/* The newest snapshot of each period: of the `count` most recent periods, and/or
 * of the periods that begin within `within` of the newest snapshot (t0). */
static void keep_periods(int kind, int count, int64_t within, int64_t t0, const snapshot *const *g, size_t n,
                         retention_verdict *out)
{
    int kept = 0, have_last = 0;
    long last = 0;
    for (size_t i = 0; i < n; i++) {
        long b = bucket(kind, g[i]->time);
        if (have_last && b == last)
            continue;
        have_last = 1;
        last = b;
        char r[64];
        if (kept < count) {
            snprintf(r, sizeof r, "%s snapshot", period_names[kind]);
            add_reason(&out[i], r);
            kept++;
        }
        if (within && g[i]->time >= t0 - within) {
            snprintf(r, sizeof r, "%s snapshot within period", period_names[kind]);
            add_reason(&out[i], r);
        }
    }
}

void retention_apply(const retention_policy *p, int64_t now, const snapshot *const *g, size_t n,
                     int allow_remove_newest, retention_verdict *out)
{
    const int counts[RETENTION_PERIODS] = {p->keep_hourly, p->keep_daily, p->keep_weekly, p->keep_monthly,
                                           p->keep_yearly};
    memset(out, 0, n * sizeof *out);
    if (!n)
        return;
    int64_t t0 = g[0]->time; /* the group's newest snapshot: every duration counts from here */
    for (size_t i = 0; i < n; i++) {
        const snapshot *s = g[i];
        forced_keeps(s, now, &out[i]);
        if ((int)i < p->keep_last)
            add_reason(&out[i], "last snapshot");
        if (p->keep_within && s->time >= t0 - p->keep_within)
            add_reason(&out[i], "within period");
        for (size_t t = 0; t < p->ntags; t++)
            if (snapshot_has_tag(s, p->keep_tags[t])) {
                char r[96];
                snprintf(r, sizeof r, "tag %s", p->keep_tags[t]);
                add_reason(&out[i], r);
            }
    }
    for (int k = 0; k < RETENTION_PERIODS; k++)
        if (counts[k] || p->keep_within_period[k])
            keep_periods(k, counts[k], p->keep_within_period[k], t0, g, n, out);
    /* A policy that would leave a group without its newest snapshot is far more
     * often a mistake (a tag policy, a typo in a class) than a wish. */
    if (!out[0].keep && !allow_remove_newest)
        add_reason(&out[0], "newest snapshot of the group (--allow-remove-newest removes it)");
}
