/* retention — see retention.h. Bucket rules follow restic's: for each period
 * kind, the newest snapshot of each of the N most recent periods is kept. */
#include "retention.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/text.h"

int retention_policy_empty(const retention_policy *p)
{
    return !p->keep_last && !p->keep_hourly && !p->keep_daily && !p->keep_weekly && !p->keep_monthly &&
           !p->keep_yearly && !p->keep_within && !p->ntags;
}

static long bucket(int kind, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    switch (kind) {
    case 0: return (long)((tm.tm_year * 400L + tm.tm_yday) * 24 + tm.tm_hour); /* hour */
    case 1: return (long)(tm.tm_year * 400L + tm.tm_yday);                     /* day */
    case 2: return (long)((t / 86400 + 3) / 7);                                /* ISO-ish week (Mon) */
    case 3: return (long)(tm.tm_year * 12L + tm.tm_mon);                       /* month */
    default: return (long)tm.tm_year;                                          /* year */
    }
}

static void add_reason(retention_verdict *v, const char *r)
{
    size_t l = strlen(v->reason);
    snprintf(v->reason + l, sizeof v->reason - l, "%s%s", l ? ", " : "", r);
    v->keep = 1;
}

void retention_apply(const retention_policy *p, int64_t now, const snapshot *const *g, size_t n,
                     retention_verdict *out)
{
    static const char *names[] = {"hourly", "daily", "weekly", "monthly", "yearly"};
    const int counts[] = {p->keep_hourly, p->keep_daily, p->keep_weekly, p->keep_monthly, p->keep_yearly};
    memset(out, 0, n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const snapshot *s = g[i];
        char r[96];
        if (s->held) {
            add_reason(&out[i], "legal hold");
            out[i].forced = 1;
        }
        if (s->lock_until > now) {
            char t[64];
            text_time(s->lock_until, 0, t, sizeof t);
            snprintf(r, sizeof r, "retention lock%s%s until %s", s->class_name[0] ? " of class " : "",
                     s->class_name, t);
            add_reason(&out[i], r);
            out[i].forced = 1;
        }
        if ((int)i < p->keep_last)
            add_reason(&out[i], "last snapshot");
        if (p->keep_within && s->time >= now - p->keep_within)
            add_reason(&out[i], "within period");
        for (size_t t = 0; t < p->ntags; t++)
            if (snapshot_has_tag(s, p->keep_tags[t])) {
                snprintf(r, sizeof r, "tag %s", p->keep_tags[t]);
                add_reason(&out[i], r);
            }
    }
    for (int k = 0; k < 5; k++) {
        int kept = 0;
        long last = 0;
        int have_last = 0;
        for (size_t i = 0; i < n && kept < counts[k]; i++) {
            long b = bucket(k, g[i]->time);
            if (have_last && b == last)
                continue;
            char r[32];
            snprintf(r, sizeof r, "%s snapshot", names[k]);
            add_reason(&out[i], r);
            last = b;
            have_last = 1;
            kept++;
        }
    }
}
