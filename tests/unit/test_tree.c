/* Unit tests: tree encoding. */
#include "testutil.h"

#include "repo/tree.h"

static void add_node(tree *t, const char *name, uint8_t type, uint32_t ncontent)
{
    tree_node n;
    memset(&n, 0, sizeof n);
    n.name = strdup(name);
    n.type = type;
    n.mode = 04755;
    n.uid = 1000;
    n.mtime = 1700000000;
    n.mtime_ns = 5;
    n.size = 12345;
    n.link = type == NODE_SYMLINK ? strdup("target") : NULL;
    n.ncontent = ncontent;
    if (ncontent) {
        n.content = calloc(ncontent, 32);
        n.content[ncontent - 1][0] = 0x7f;
    }
    if (type == NODE_DIR)
        n.subtree[31] = 0x42;
    assert_int_equal(tree_add(t, &n), 0);
}

static void round_trip(void **state)
{
    (void)state;
    tree t, u;
    tree_init(&t);
    add_node(&t, "zeta", NODE_FILE, 3);
    add_node(&t, "alpha", NODE_DIR, 0);
    add_node(&t, "link", NODE_SYMLINK, 0);
    tree_sort(&t);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(tree_encode(&t, &b), 0);
    assert_int_equal(tree_decode(b.data, b.len, &u), 0);
    assert_int_equal(u.n, 3);
    const tree_node *z = tree_find(&u, "zeta");
    assert_non_null(z);
    assert_int_equal(z->ncontent, 3);
    assert_int_equal(z->content[2][0], 0x7f);
    assert_int_equal(z->mode, 04755);
    assert_int_equal(z->mtime_ns, 5);
    assert_int_equal(tree_find(&u, "alpha")->subtree[31], 0x42);
    assert_string_equal(tree_find(&u, "link")->link, "target");
    assert_null(tree_find(&u, "nope"));
    tree_free(&u);
    /* every truncation is an error, never a crash */
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_not_equal(tree_decode(b.data, cut, &u), 0);
    tree_free(&t);
    buf_free(&b);
}

static void rejects_unsafe_names_and_order(void **state)
{
    (void)state;
    const char *bad[] = {"..", ".", "a/b"};
    for (int i = 0; i < 3; i++) {
        tree t, u;
        tree_init(&t);
        add_node(&t, bad[i], NODE_FILE, 0);
        buf b;
        buf_init(&b, 0);
        assert_int_equal(tree_encode(&t, &b), 0);
        assert_int_equal(tree_decode(b.data, b.len, &u), ERR_DAMAGED);
        tree_free(&t);
        buf_free(&b);
    }
    tree t, u;
    tree_init(&t);
    add_node(&t, "b", NODE_FILE, 0);
    add_node(&t, "a", NODE_FILE, 0); /* not sorted */
    buf b;
    buf_init(&b, 0);
    assert_int_equal(tree_encode(&t, &b), 0);
    assert_int_equal(tree_decode(b.data, b.len, &u), ERR_DAMAGED);
    b.data[0] = 2;
    assert_int_equal(tree_decode(b.data, b.len, &u), ERR_VERSION);
    tree_free(&t);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(rejects_unsafe_names_and_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
