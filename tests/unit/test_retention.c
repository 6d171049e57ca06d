/* Unit tests: retention policy. */
#include "testutil.h"

#include "repo/retention.h"

#define DAY 86400
static const int64_t now = 1764115200; /* 2025-11-26 00:00 UTC */

/* n snapshots, one every `step` seconds back from `start`, newest first. */
static snapshot *series_from(int64_t start, size_t n, int64_t step, const snapshot **g)
{
    snapshot *s = calloc(n, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        s[i].time = start - (int64_t)i * step;
        g[i] = &s[i];
    }
    return s;
}

/* ... back from an hour before now */
static snapshot *series(size_t n, int64_t step, const snapshot **g) { return series_from(now - 3600, n, step, g); }

static int kept(const retention_verdict *v, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i].keep;
    return k;
}

static void keep_last_and_daily(void **state)
{
    (void)state;
    const snapshot *g[48];
    retention_verdict v[48];
    snapshot *s = series(48, 6 * 3600, g); /* 4 a day for 12 days */
    retention_policy p = {.keep_last = 2};
    retention_apply(&p, now, g, 48, 0, v);
    assert_int_equal(kept(v, 48), 2);
    assert_true(v[0].keep && v[1].keep && !v[2].keep);
    assert_non_null(strstr(v[0].reason, "last snapshot"));
    retention_policy d = {.keep_daily = 5};
    retention_apply(&d, now, g, 48, 0, v);
    assert_int_equal(kept(v, 48), 5); /* the newest of each of the 5 newest days */
    assert_non_null(strstr(v[0].reason, "daily"));
    free(s);
}

static void within_and_tags(void **state)
{
    (void)state;
    const snapshot *g[10];
    retention_verdict v[10];
    snapshot *s = series(10, DAY, g);
    char keep[] = "keep-me";
    char *tags[] = {keep};
    s[9].tags = tags;
    s[9].ntags = 1;
    retention_policy p = {.keep_within = 3 * DAY, .keep_tags = tags, .ntags = 1};
    retention_apply(&p, now, g, 10, 0, v);
    assert_int_equal(kept(v, 10), 5); /* the newest and 3 days before it + the tagged one */
    assert_true(v[9].keep);
    assert_non_null(strstr(v[9].reason, "tag keep-me"));
    s[9].tags = NULL;
    free(s);
}

static void locks_and_holds_always_win(void **state)
{
    (void)state;
    const snapshot *g[5];
    retention_verdict v[5];
    snapshot *s = series(5, 400 * DAY, g);
    s[4].lock_until = now + DAY; /* oldest still locked */
    snprintf(s[4].class_name, sizeof s[4].class_name, "financial");
    s[3].held = 1;
    s[2].lock_until = now - DAY; /* lock expired */
    retention_policy p = {.keep_last = 1};
    retention_apply(&p, now, g, 5, 0, v);
    assert_true(v[4].keep && v[4].forced);
    assert_non_null(strstr(v[4].reason, "retention lock of class financial"));
    assert_true(v[3].keep && v[3].forced);
    assert_non_null(strstr(v[3].reason, "legal hold"));
    assert_false(v[2].keep);
    assert_false(v[1].keep);
    assert_true(v[0].keep);
    free(s);
}

static void empty_policy(void **state)
{
    (void)state;
    retention_policy p = {0};
    assert_true(retention_policy_empty(&p));
    p.keep_yearly = 1;
    assert_false(retention_policy_empty(&p));
    retention_policy w = {.keep_within_period[RETENTION_MONTHLY] = 1};
    assert_false(retention_policy_empty(&w));
}

/* Backups stopped 30 days ago (2025-10-26 23:00 UTC is the newest): every duration
 * counts from the newest snapshot, so a 10-day window still holds 10 days of them. */
static const int64_t stopped = now - 30 * DAY - 3600;

static void keep_within_counts_from_newest_snapshot(void **state)
{
    (void)state;
    const snapshot *g[40];
    retention_verdict v[40];
    snapshot *s = series_from(stopped, 40, DAY, g);
    retention_policy p = {.keep_within = 10 * DAY};
    retention_apply(&p, now, g, 40, 0, v);
    assert_int_equal(kept(v, 40), 11); /* the newest and the 10 days before it, inclusive */
    for (int i = 0; i <= 10; i++)
        assert_non_null(strstr(v[i].reason, "within period"));
    assert_false(v[11].keep);
    free(s);
}

static void keep_within_periods_count_from_newest_snapshot(void **state)
{
    (void)state;
    const snapshot *g[400];
    retention_verdict v[400];
    /* hourly: every 30 minutes from 23:00; 3 hours back reach 20:00 -> hours 23, 22, 21, 20 */
    snapshot *s = series_from(stopped, 400, 1800, g);
    retention_policy p = {.keep_within_period[RETENTION_HOURLY] = 3 * 3600};
    retention_apply(&p, now, g, 400, 0, v);
    assert_int_equal(kept(v, 400), 4);
    assert_true(v[0].keep && v[1].keep && !v[2].keep && v[3].keep && v[5].keep && !v[6].keep);
    assert_non_null(strstr(v[1].reason, "hourly snapshot within period"));
    free(s);
    /* daily: 4 a day (23, 17, 11, 5 o'clock); 5 days back is 23:00 five days earlier */
    s = series_from(stopped, 400, 6 * 3600, g);
    retention_policy d = {.keep_within_period[RETENTION_DAILY] = 5 * DAY};
    retention_apply(&d, now, g, 400, 0, v);
    assert_int_equal(kept(v, 400), 6);
    for (int i = 0; i < 6; i++)
        assert_true(v[4 * i].keep);
    free(s);
    /* weekly: 15 consecutive days always touch exactly 3 weeks */
    s = series_from(stopped, 400, DAY, g);
    retention_policy w = {.keep_within_period[RETENTION_WEEKLY] = 14 * DAY};
    retention_apply(&w, now, g, 400, 0, v);
    assert_int_equal(kept(v, 400), 3);
    /* monthly: 60 days back from 2025-10-26 is August: October, September, August */
    retention_policy m = {.keep_within_period[RETENTION_MONTHLY] = 60 * DAY};
    retention_apply(&m, now, g, 400, 0, v);
    assert_int_equal(kept(v, 400), 3);
    /* yearly: 365 days back from 2025-10-26 is 2024 */
    retention_policy y = {.keep_within_period[RETENTION_YEARLY] = 365 * DAY};
    retention_apply(&y, now, g, 400, 0, v);
    assert_int_equal(kept(v, 400), 2);
    assert_non_null(strstr(v[0].reason, "yearly snapshot within period"));
    free(s);
}

static void newest_is_kept_unless_allowed(void **state)
{
    (void)state;
    const snapshot *g[6];
    retention_verdict v[6];
    snapshot *s = series_from(stopped, 6, DAY, g);
    char keep[] = "monthly-close";
    char *tags[] = {keep};
    s[3].tags = tags;
    s[3].ntags = 1;
    retention_policy p = {.keep_tags = tags, .ntags = 1}; /* the newest has no such tag */
    retention_apply(&p, now, g, 6, 0, v);
    assert_int_equal(kept(v, 6), 2);
    assert_true(v[0].keep && v[3].keep);
    assert_false(v[0].forced);
    assert_non_null(strstr(v[0].reason, "newest snapshot of the group"));
    retention_apply(&p, now, g, 6, 1, v); /* --allow-remove-newest */
    assert_int_equal(kept(v, 6), 1);
    assert_false(v[0].keep);
    /* a policy that keeps the newest anyway gives its own reason only */
    retention_policy l = {.keep_last = 1};
    retention_apply(&l, now, g, 6, 0, v);
    assert_string_equal(v[0].reason, "last snapshot");
    /* every duration kind, far in the past: the newest survives each */
    retention_policy kinds[] = {{.keep_within = 3600}, {.keep_within_period[RETENTION_DAILY] = 1}};
    for (size_t k = 0; k < 2; k++) {
        retention_apply(&kinds[k], now, g, 6, 0, v);
        assert_true(v[0].keep);
    }
    retention_apply(&p, now, g, 0, 0, v); /* an empty group: nothing to do, nothing read */
    s[3].tags = NULL;
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keep_last_and_daily),
        cmocka_unit_test(within_and_tags),
        cmocka_unit_test(locks_and_holds_always_win),
        cmocka_unit_test(empty_policy),
        cmocka_unit_test(keep_within_counts_from_newest_snapshot),
        cmocka_unit_test(keep_within_periods_count_from_newest_snapshot),
        cmocka_unit_test(newest_is_kept_unless_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
