/* Unit tests: coordination (src/coord) — the local backend in full; the argument checks
 * and the etcd backend's deadline with nothing listening (the etcd backend itself is
 * tested against a real etcd in tests/system/test_coord.sh). */
#include "testutil.h"

#include <time.h>

#include "config/config.h"
#include "coord/coord.h"
#include "core/proc.h"
#include "state/state.h"

#define FAR (proc_now_ms() + 5000)

typedef struct fixture {
    char *dir, path[512];
    config *cfg;
    state *st;
    coord *c;
} fixture;

static void reopen(fixture *f)
{
    coord_close(&f->c);
    state_close(&f->st);
    assert_int_equal(state_open(f->path, 2000, &f->st), 0);
    assert_int_equal(coord_open(f->cfg, f->st, "zone-a-1", &f->c), 0);
}

static int setup(void **s)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_tempdir();
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    assert_int_equal(config_parse_string("[coordination]\nbackend = local\n", "test.conf", &f->cfg), 0);
    reopen(f);
    assert_string_equal(coord_backend_name(f->c), "local");
    *s = f;
    return 0;
}

static int teardown(void **s)
{
    fixture *f = *s;
    coord_close(&f->c);
    assert_null(f->c);
    state_close(&f->st);
    config_free(&f->cfg);
    tu_rmrf(f->dir);
    free(f);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t take(coord *c, const char *group, const char *member, int64_t ttl)
{
    int won = -1;
    int64_t epoch = -1;
    coord_leader now;
    assert_int_equal(coord_acquire(c, group, member, ttl, FAR, &won, &epoch, &now), 0);
    assert_int_equal(won, 1);
    assert_int_equal(now.exists, 1);
    assert_string_equal(now.holder, member);
    assert_int_equal(now.epoch, epoch);
    return epoch;
}

static void acquire_renew_release(void **s)
{
    fixture *f = *s;
    int64_t e1 = take(f->c, "main-db", "pg-a", 5000);
    assert_true(e1 >= 1);
    char who[64];
    assert_true(coord_holds(f->c, "main-db", who));
    assert_string_equal(who, "pg-a");
    /* another member loses and learns who holds it */
    int won = -1;
    int64_t epoch = -1;
    coord_leader now;
    assert_int_equal(coord_acquire(f->c, "main-db", "pg-b", 5000, FAR, &won, &epoch, &now), 0);
    assert_int_equal(won, 0);
    assert_int_equal(epoch, 0);
    assert_int_equal(now.exists, 1);
    assert_string_equal(now.holder, "pg-a");
    assert_string_equal(now.node, "zone-a-1");
    assert_int_equal(now.epoch, e1);
    /* the holder asking again keeps its epoch */
    assert_int_equal(take(f->c, "main-db", "pg-a", 5000), e1);
    assert_int_equal(coord_renew(f->c, "main-db", FAR), 0);
    coord_leader l;
    assert_int_equal(coord_leader_get(f->c, "main-db", FAR, &l), 0);
    assert_int_equal(l.exists, 1);
    assert_string_equal(l.holder, "pg-a");
    assert_int_equal(l.epoch, e1);
    /* another group is independent */
    assert_int_equal(coord_leader_get(f->c, "other", FAR, &l), 0);
    assert_int_equal(l.exists, 0);
    assert_int_equal(coord_renew(f->c, "other", FAR), ERR_NOTFOUND);
    /* released: nobody holds it, renew says so, a second release is no error */
    assert_int_equal(coord_release(f->c, "main-db", FAR), 0);
    assert_false(coord_holds(f->c, "main-db", NULL));
    assert_int_equal(coord_leader_get(f->c, "main-db", FAR, &l), 0);
    assert_int_equal(l.exists, 0);
    assert_int_equal(coord_renew(f->c, "main-db", FAR), ERR_NOTFOUND);
    assert_int_equal(coord_release(f->c, "main-db", FAR), 0);
    /* the next holder gets a higher epoch */
    assert_true(take(f->c, "main-db", "pg-b", 5000) > e1);
}

static void lease_ends_without_renewal(void **s)
{
    fixture *f = *s;
    int64_t e1 = take(f->c, "g", "pg-a", 150);
    sleep_ms(60);
    assert_int_equal(coord_renew(f->c, "g", FAR), 0); /* renewed: runs 150 ms from now */
    sleep_ms(100);
    coord_leader l;
    assert_int_equal(coord_leader_get(f->c, "g", FAR, &l), 0);
    assert_int_equal(l.exists, 1); /* 160 ms after the acquire, alive thanks to the renewal */
    sleep_ms(100);
    assert_int_equal(coord_renew(f->c, "g", FAR), ERR_NOTFOUND);
    assert_non_null(strstr(err_msg(), "ended"));
    assert_int_equal(coord_leader_get(f->c, "g", FAR, &l), 0);
    assert_int_equal(l.exists, 0);
    assert_true(take(f->c, "g", "pg-b", 150) > e1);
}

static void epochs_increase_across_restarts(void **s)
{
    fixture *f = *s;
    coord_leader l;
    assert_int_equal(coord_leader_last(f->c, "main-db", FAR, &l), 0);
    assert_int_equal(l.exists, 0);
    int64_t e1 = take(f->c, "main-db", "pg-a", 5000);
    reopen(f); /* the agent restarted: the lease died with it, the holder is remembered */
    assert_int_equal(coord_leader_get(f->c, "main-db", FAR, &l), 0);
    assert_int_equal(l.exists, 0);
    assert_int_equal(coord_leader_last(f->c, "main-db", FAR, &l), 0);
    assert_int_equal(l.exists, 1);
    assert_string_equal(l.holder, "pg-a");
    assert_string_equal(l.node, "zone-a-1");
    assert_int_equal(l.epoch, e1);
    int64_t e2 = take(f->c, "main-db", "pg-a", 5000);
    assert_true(e2 > e1);
    assert_int_equal(coord_release(f->c, "main-db", FAR), 0);
    reopen(f);
    assert_int_equal(coord_leader_last(f->c, "main-db", FAR, &l), 0);
    assert_string_equal(l.holder, "pg-a");
    assert_int_equal(l.epoch, e2);
    int64_t e3 = take(f->c, "main-db", "pg-b", 5000);
    assert_true(e3 > e2);
    /* the counter is the state database's, not this object's */
    int64_t v;
    assert_int_equal(state_counter_get(f->st, "epoch/main-db", &v), 0);
    assert_int_equal(v, e3);
}

static void seize_takes_from_the_holder(void **s)
{
    fixture *f = *s;
    int64_t e1 = take(f->c, "g", "pg-a", 5000), e2 = 0, e3 = 0;
    assert_int_equal(coord_seize(f->c, "g", "pg-b", 5000, FAR, &e2), 0);
    assert_true(e2 > e1);
    coord_leader l;
    assert_int_equal(coord_leader_get(f->c, "g", FAR, &l), 0);
    assert_string_equal(l.holder, "pg-b");
    assert_int_equal(l.epoch, e2);
    int won = -1;
    int64_t epoch;
    assert_int_equal(coord_acquire(f->c, "g", "pg-a", 5000, FAR, &won, &epoch, NULL), 0);
    assert_int_equal(won, 0);
    /* seizing what one holds still makes a new epoch (a person's decision is recorded) */
    assert_int_equal(coord_seize(f->c, "g", "pg-b", 5000, FAR, &e3), 0);
    assert_true(e3 > e2);
    /* seizing a free key works too */
    assert_int_equal(coord_release(f->c, "g", FAR), 0);
    assert_int_equal(coord_seize(f->c, "g", "pg-a", 5000, FAR, &e1), 0);
    assert_true(e1 > e3);
}

static void status_put_and_list(void **s)
{
    fixture *f = *s;
    coord_status *list = NULL;
    size_t n = 9;
    assert_int_equal(coord_status_list(f->c, "g", FAR, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(coord_status_put(f->c, "g", "pg-a", "{\"role\":\"primary\"}", 5000, FAR), 0);
    assert_int_equal(coord_status_put(f->c, "g", "pg-b", "{\"role\":\"standby\"}", 5000, FAR), 0);
    assert_int_equal(coord_status_put(f->c, "h", "pg-c", "{}", 5000, FAR), 0);
    assert_int_equal(coord_status_put(f->c, "g", "pg-a", "{\"role\":\"fenced\"}", 5000, FAR), 0);
    assert_int_equal(coord_status_put(f->c, "g", "pg-z", "{}", 40, FAR), 0);
    sleep_ms(60); /* pg-z's lease ended */
    assert_int_equal(coord_status_list(f->c, "g", FAR, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].member, "pg-a");
    assert_string_equal(list[0].json, "{\"role\":\"fenced\"}");
    assert_string_equal(list[1].member, "pg-b");
    assert_string_equal(list[1].json, "{\"role\":\"standby\"}");
    coord_status_free(&list, n);
    assert_null(list);
    assert_int_equal(coord_status_put(f->c, "g", "pg-a", NULL, 5000, FAR), ERR_USAGE);
}

static void bad_arguments_are_refused(void **s)
{
    fixture *f = *s;
    int won = -1;
    int64_t epoch;
    char long_name[80];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    const char *bad[] = {"", "a/b", "tab\there", long_name};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(coord_acquire(f->c, bad[i], "pg-a", 5000, FAR, &won, &epoch, NULL), ERR_USAGE);
        assert_int_equal(won, 0);
        assert_int_equal(coord_acquire(f->c, "g", bad[i], 5000, FAR, &won, &epoch, NULL), ERR_USAGE);
        assert_int_equal(coord_seize(f->c, "g", bad[i], 5000, FAR, &epoch), ERR_USAGE);
        assert_int_equal(coord_status_put(f->c, "g", bad[i], "{}", 5000, FAR), ERR_USAGE);
    }
    assert_int_equal(coord_acquire(f->c, "g", "pg-a", 0, FAR, &won, &epoch, NULL), ERR_USAGE);
    assert_int_equal(coord_acquire(f->c, "g", "pg-a", -5, FAR, &won, &epoch, NULL), ERR_USAGE);
    assert_non_null(strstr(err_msg(), "ttl"));
    coord_leader l;
    assert_int_equal(coord_leader_get(f->c, "a/b", FAR, &l), ERR_USAGE);
    /* nothing was taken by the refused calls */
    assert_int_equal(coord_leader_get(f->c, "g", FAR, &l), 0);
    assert_int_equal(l.exists, 0);
    /* local needs the state database */
    coord *c = NULL;
    assert_int_equal(coord_open(f->cfg, NULL, "n", &c), ERR_USAGE);
    assert_null(c);
}

/* The etcd backend with nothing listening: every call fails with ERR_SOURCE well
 * within its deadline, and a deadline already past fails at once. */
static void etcd_unreachable_fails_by_the_deadline(void **s)
{
    (void)s;
    config *cfg = NULL;
    assert_int_equal(config_parse_string("[coordination]\nbackend = etcd\n"
                                         "endpoints = http://127.0.0.1:9 http://127.0.0.1:1\n",
                                         "t.conf", &cfg),
                     0);
    coord *c = NULL;
    assert_int_equal(coord_open(cfg, NULL, "n1", &c), 0);
    assert_string_equal(coord_backend_name(c), "etcd");
    int won = -1;
    int64_t epoch, t0 = proc_now_ms();
    assert_int_equal(coord_acquire(c, "g", "pg-a", 3000, t0 + 1000, &won, &epoch, NULL), ERR_SOURCE);
    assert_int_equal(won, 0);
    assert_true(proc_now_ms() - t0 < 1200);
    assert_non_null(strstr(err_msg(), "coordination of g"));
    assert_non_null(strstr(err_msg(), "127.0.0.1"));
    coord_leader l;
    t0 = proc_now_ms();
    assert_int_equal(coord_leader_get(c, "g", t0 - 1, &l), ERR_SOURCE);
    assert_non_null(strstr(err_msg(), "deadline"));
    assert_true(proc_now_ms() - t0 < 100);
    assert_int_equal(coord_renew(c, "g", FAR), ERR_NOTFOUND); /* never held */
    assert_int_equal(coord_release(c, "g", FAR), 0);
    coord_close(&c);
    config_free(&cfg);
    /* etcd without endpoints cannot work */
    config bare;
    memset(&bare, 0, sizeof bare);
    bare.coord.backend = COORD_ETCD;
    assert_int_equal(coord_open(&bare, NULL, "n1", &c), ERR_CONFIG);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(acquire_renew_release, setup, teardown),
        cmocka_unit_test_setup_teardown(lease_ends_without_renewal, setup, teardown),
        cmocka_unit_test_setup_teardown(epochs_increase_across_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(seize_takes_from_the_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(status_put_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup, teardown),
        cmocka_unit_test(etcd_unreachable_fails_by_the_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
