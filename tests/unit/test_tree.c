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
    b.data[0] = 3;
    assert_int_equal(tree_decode(b.data, b.len, &u), ERR_VERSION);
    tree_free(&t);
    buf_free(&b);
}

/* Encodes t, decodes it into u; returns the version byte written. */
static uint8_t encode_decode(tree *t, buf *b, tree *u, int want_rc)
{
    buf_reset(b);
    assert_int_equal(tree_encode(t, b), 0);
    assert_int_equal(tree_decode(b->data, b->len, u), want_rc);
    return b->data[0];
}

static void xattrs_and_flags(void **state)
{
    (void)state;
    tree t, u;
    buf b;
    buf_init(&b, 0);
    tree_init(&t);
    add_node(&t, "dir", NODE_DIR, 0);
    add_node(&t, "file", NODE_FILE, 2);
    /* nothing new in any node: still written as version 1, the same bytes as before */
    assert_int_equal(encode_decode(&t, &b, &u, 0), TREE_VERSION_1);
    tree_free(&u);
    static const uint8_t acl[] = {2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(tree_node_add_xattr(&t.nodes[1], "user.b", "", 0), 0);
    assert_int_equal(tree_node_add_xattr(&t.nodes[1], "system.posix_acl_access", acl, sizeof acl), 0);
    assert_int_equal(tree_node_add_xattr(&t.nodes[0], "user.a", "va\0lue", 6), 0);
    tree_node_sort_xattrs(&t.nodes[1]);
    t.nodes[1].flags = NODE_FLAG_SPARSE;
    assert_int_equal(encode_decode(&t, &b, &u, 0), TREE_VERSION);
    const tree_node *f = tree_find(&u, "file"), *d = tree_find(&u, "dir");
    assert_int_equal(f->flags, NODE_FLAG_SPARSE);
    assert_int_equal(f->nxattr, 2);
    assert_string_equal(f->xattrs[0].name, "system.posix_acl_access");
    assert_memory_equal(f->xattrs[0].value, acl, sizeof acl);
    assert_int_equal(f->xattrs[1].len, 0);
    assert_int_equal(d->nxattr, 1);
    assert_memory_equal(d->xattrs[0].value, "va\0lue", 6);
    tree_node copy;
    assert_int_equal(tree_node_copy(f, &copy), 0); /* a deep copy outlives the tree */
    tree_free(&u);
    assert_int_equal(copy.xattrs[0].len, sizeof acl);
    tree_node_free(&copy);
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_not_equal(tree_decode(b.data, cut, &u), 0);
    /* a version 2 tree keeps its version when written again (one encoding per tree) */
    buf c;
    buf_init(&c, 0);
    t.nodes[0].nxattr = 0;
    tree_node_free(&t.nodes[1]);
    t.n = 1;
    t.version = TREE_VERSION;
    assert_int_equal(encode_decode(&t, &c, &u, 0), TREE_VERSION);
    assert_int_equal(u.version, TREE_VERSION);
    tree_free(&u);
    t.nodes[0].nxattr = 1;
    tree_free(&t);
    buf_free(&c);
    buf_free(&b);
}

static void rejects_bad_xattrs_and_flags(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 0);
    for (int k = 0; k < 4; k++) {
        tree t, u;
        tree_init(&t);
        add_node(&t, "x", k == 2 ? NODE_DIR : NODE_FILE, 0);
        tree_node *n = &t.nodes[0];
        assert_int_equal(tree_node_add_xattr(n, "user.b", "1", 1), 0);
        assert_int_equal(tree_node_add_xattr(n, k == 0 ? "user.a" : "user.c", "2", 1), 0); /* k 0: out of order */
        if (k == 1)
            n->xattrs[1].name[5] = 'b'; /* a duplicate name */
        if (k == 2)
            n->flags = NODE_FLAG_SPARSE; /* only files have holes */
        assert_int_equal(tree_encode(&t, &b), 0);
        if (k == 3) /* an unknown flag bit: the last node's flags sit before its u16 count and the attributes */
            b.data[b.len - (2 + 2 * (1 + 6 + 4 + 1)) - 4] = 0x80;
        assert_int_equal(tree_decode(b.data, b.len, &u), ERR_DAMAGED);
        buf_reset(&b);
        tree_free(&t);
    }
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(rejects_unsafe_names_and_order),
        cmocka_unit_test(xattrs_and_flags),
        cmocka_unit_test(rejects_bad_xattrs_and_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
