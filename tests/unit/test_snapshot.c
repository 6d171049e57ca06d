/* Unit tests: snapshot encoding. */
#include "testutil.h"

#include "repo/snapshot.h"

static void round_trip(void **state)
{
    (void)state;
    snapshot s, t;
    snapshot_init(&s);
    s.time = 1764138000;
    s.time_ns = 42;
    snprintf(s.hostname, sizeof s.hostname, "db1");
    snprintf(s.source, sizeof s.source, "files");
    snprintf(s.class_name, sizeof s.class_name, "financial");
    s.lock_until = 1764138000 + 7 * 365 * 86400LL;
    s.tree[0] = 0xaa;
    s.has_parent = 1;
    s.parent[31] = 0xbb;
    s.partial = 1;
    s.summary.files_new = 7;
    assert_int_equal(snapshot_add_path(&s, "/srv/data"), 0);
    assert_int_equal(snapshot_add_tag(&s, "nightly"), 0);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(snapshot_encode(&s, &b), 0);
    assert_int_equal(snapshot_decode(b.data, b.len, &t), 0);
    assert_int_equal(t.time, s.time);
    assert_int_equal(t.time_ns, 42);
    assert_string_equal(t.hostname, "db1");
    assert_string_equal(t.class_name, "financial");
    assert_int_equal(t.lock_until, s.lock_until);
    assert_int_equal(t.tree[0], 0xaa);
    assert_true(t.has_parent);
    assert_int_equal(t.parent[31], 0xbb);
    assert_true(t.partial);
    assert_int_equal(t.summary.files_new, 7);
    assert_string_equal(t.paths[0], "/srv/data");
    assert_true(snapshot_has_tag(&t, "nightly"));
    assert_true(snapshot_same_group(&s, &t));
    snapshot_free(&t);
    snapshot_free(&s);
    buf_free(&b);
}

static void rejects_bad_input(void **state)
{
    (void)state;
    snapshot t;
    const char *cases[] = {
        "not json", "{}", "{\"version\":2,\"time\":\"2025-01-01T00:00:00Z\"}",
        "{\"version\":1,\"time\":\"garbage\",\"tree\":\"00\"}",
        "{\"version\":1,\"time\":\"2025-01-01T00:00:00Z\",\"tree\":\"zz\"}",
        "{\"version\":1,\"time\":\"2025-01-01T00:00:00Z\",\"tree\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\",\"paths\":[1]}",
    };
    int want[] = {ERR_DAMAGED, ERR_DAMAGED, ERR_VERSION, ERR_DAMAGED, ERR_DAMAGED, ERR_DAMAGED};
    for (int i = 0; i < 6; i++)
        assert_int_equal(snapshot_decode((const uint8_t *)cases[i], strlen(cases[i]), &t), want[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
