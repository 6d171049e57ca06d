/* Unit tests: rise/fall counting (src/probe/health.c). */
#include "testutil.h"

#include "probe/health.h"

/* Feeds a string of results ('+' pass, '-' fail, '~' degraded) one second apart from t0
 * and returns the number of state changes; *at_ms the time of the last result. */
static int feed(health *h, const char *results, int64_t t0, int64_t *at_ms)
{
    int changes = 0;
    int64_t t = t0;
    for (const char *r = results; *r; r++, t += 1000)
        changes += health_feed(h, *r == '+' ? PROBE_HEALTHY : *r == '~' ? PROBE_DEGRADED : PROBE_FAILED, t);
    if (at_ms)
        *at_ms = t - 1000;
    return changes;
}

static void rise_passes_make_it_healthy(void **state)
{
    (void)state;
    health h;
    health_init(&h, 2, 3, 0, 0);
    assert_int_equal(h.state, HEALTH_STARTING);
    assert_int_equal(feed(&h, "+", 0, NULL), 0);
    assert_int_equal(h.state, HEALTH_STARTING);
    assert_int_equal(feed(&h, "+", 1000, NULL), 1);
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_int_equal(h.since_ms, 1000);
    assert_string_equal(health_state_name(h.state), "healthy");
}

/* Flap damping: one failure, two failures, or failures broken by a pass open nothing. */
static void flaps_open_nothing(void **state)
{
    (void)state;
    static const char *const flaps[] = {"++-+++", "++--++", "++-+-+-+-+-+", "++--+--+--+", "++-~--+"};
    for (size_t i = 0; i < sizeof flaps / sizeof *flaps; i++) {
        health h;
        health_init(&h, 2, 3, 0, 0);
        feed(&h, flaps[i], 0, NULL);
        assert_true(h.state == HEALTH_HEALTHY || h.state == HEALTH_DEGRADED);
        assert_int_not_equal(h.state, HEALTH_FAILED);
    }
}

static void fall_failures_confirm_an_outage(void **state)
{
    (void)state;
    health h;
    int64_t at;
    health_init(&h, 2, 3, 0, 0);
    assert_int_equal(feed(&h, "++---", 0, &at), 2);
    assert_int_equal(h.state, HEALTH_FAILED);
    assert_int_equal(h.since_ms, at); /* confirmed by the third failure, not the first */
    /* a long outage stays one state change and its counters stay bounded */
    assert_int_equal(feed(&h, "----------", 10000, NULL), 0);
    assert_int_equal(h.failures, 3);
    /* one pass is not a recovery; rise passes in a row are */
    assert_int_equal(feed(&h, "+-+", 30000, NULL), 0);
    assert_int_equal(h.state, HEALTH_FAILED);
    assert_int_equal(feed(&h, "++", 40000, NULL), 1);
    assert_int_equal(h.state, HEALTH_HEALTHY);
}

/* fall = rise = 1: every result counts at once (a configuration can ask for that). */
static void thresholds_of_one(void **state)
{
    (void)state;
    health h;
    health_init(&h, 1, 1, 0, 0);
    assert_int_equal(feed(&h, "+-+-", 0, NULL), 4);
    assert_int_equal(h.state, HEALTH_FAILED);
    health_init(&h, 0, -5, 0, 0); /* nonsense thresholds act as 1 */
    assert_int_equal(feed(&h, "-", 0, NULL), 1);
}

static void start_period_failures_do_not_count(void **state)
{
    (void)state;
    health h;
    health_init(&h, 2, 3, 30000, 0);
    assert_int_equal(feed(&h, "------------------------------", 0, NULL), 0); /* 0 s .. 29 s */
    assert_int_equal(h.state, HEALTH_STARTING);
    assert_int_equal(feed(&h, "--", 30000, NULL), 0); /* counting starts at 30 s */
    assert_int_equal(feed(&h, "-", 32000, NULL), 1);
    assert_int_equal(h.state, HEALTH_FAILED);
    /* a service up early is healthy at once: the period only forgives failures */
    health_init(&h, 2, 3, 30000, 0);
    assert_int_equal(feed(&h, "--++", 0, NULL), 1);
    assert_int_equal(h.state, HEALTH_HEALTHY);
    /* and once up, failures count even inside the period */
    assert_int_equal(feed(&h, "---", 4000, NULL), 1);
    assert_int_equal(h.state, HEALTH_FAILED);
}

static void degraded_is_up_but_shown(void **state)
{
    (void)state;
    health h;
    health_init(&h, 2, 3, 0, 0);
    assert_int_equal(feed(&h, "~~", 0, NULL), 1);
    assert_int_equal(h.state, HEALTH_DEGRADED);
    assert_int_equal(feed(&h, "+", 2000, NULL), 1);
    assert_int_equal(h.state, HEALTH_HEALTHY);
    assert_int_equal(feed(&h, "~--", 3000, NULL), 1);
    assert_int_equal(h.state, HEALTH_DEGRADED);
    assert_int_equal(feed(&h, "-", 6000, NULL), 1);
    assert_int_equal(h.state, HEALTH_FAILED);
    assert_string_equal(health_state_name(HEALTH_FAILED), "failed");
    assert_string_equal(health_state_name(HEALTH_STARTING), "starting");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rise_passes_make_it_healthy),
        cmocka_unit_test(flaps_open_nothing),
        cmocka_unit_test(fall_failures_confirm_an_outage),
        cmocka_unit_test(thresholds_of_one),
        cmocka_unit_test(start_period_failures_do_not_count),
        cmocka_unit_test(degraded_is_up_but_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
