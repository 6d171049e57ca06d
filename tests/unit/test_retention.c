/* Unit tests: retention policy. */
#include "testutil.h"

#include "repo/retention.h"

#define DAY 86400
static const int64_t now = 1764115200; /* 2025-11-26 00:00 UTC */

/* n snapshots, one every `step` seconds back from now, newest first. */
static snapshot *series(size_t n, int64_t step, const snapshot **g)
{
    snapshot *s = calloc(n, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        s[i].time = now - (int64_t)i * step - 3600;
        g[i] = &s[i];
    }
    return s;
}

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
    retention_apply(&p, now, g, 48, v);
    assert_int_equal(kept(v, 48), 2);
    assert_true(v[0].keep && v[1].keep && !v[2].keep);
    assert_non_null(strstr(v[0].reason, "last snapshot"));
    retention_policy d = {.keep_daily = 5};
    retention_apply(&d, now, g, 48, v);
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
    retention_apply(&p, now, g, 10, v);
    assert_int_equal(kept(v, 10), 4); /* 3 within 3 days + the tagged one */
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
    retention_apply(&p, now, g, 5, v);
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keep_last_and_daily),
        cmocka_unit_test(within_and_tags),
        cmocka_unit_test(locks_and_holds_always_win),
        cmocka_unit_test(empty_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
