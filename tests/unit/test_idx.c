/* Unit tests: the in-memory index and index files. */
#include "testutil.h"

#include "crypto/crypto.h"
#include "repo/idx.h"

static void make_id(uint32_t i, uint8_t id[32])
{
    crypto_sha256(&i, sizeof i, id);
}

static void add_and_find_many(void **state)
{
    (void)state;
    idx *x = idx_new();
    uint8_t pid[32] = {1}, id[32];
    uint32_t pno;
    assert_int_equal(idx_pack_number(x, pid, &pno), 0);
    const uint32_t n = 200000;
    for (uint32_t i = 0; i < n; i++) {
        make_id(i, id);
        assert_int_equal(idx_add(x, BLOB_DATA, id, pno, i, 100, 200), 0);
    }
    assert_int_equal(idx_count(x), n);
    for (uint32_t i = 0; i < n; i += 997) {
        make_id(i, id);
        const idx_entry *e = idx_find(x, BLOB_DATA, id);
        assert_non_null(e);
        assert_int_equal(e->offset, i);
        assert_null(idx_find(x, BLOB_TREE, id)); /* types are separate */
    }
    make_id(n + 1, id);
    assert_null(idx_find(x, BLOB_DATA, id));
    /* the bound: under 64 bytes of memory per indexed blob */
    assert_true(idx_memory(x) / n < 64);
    idx_free(&x);
}

static void first_location_wins(void **state)
{
    (void)state;
    idx *x = idx_new();
    uint8_t id[32] = {4};
    assert_int_equal(idx_add(x, BLOB_DATA, id, 0, 10, 1, 1), 0);
    assert_int_equal(idx_add(x, BLOB_DATA, id, 1, 20, 1, 1), 0);
    assert_int_equal(idx_count(x), 1);
    assert_int_equal(idx_find(x, BLOB_DATA, id)->offset, 10);
    idx_free(&x);
}

static void packs_are_numbered_once(void **state)
{
    (void)state;
    idx *x = idx_new();
    uint8_t a[32] = {1}, b[32] = {2};
    uint32_t na, nb, again;
    assert_int_equal(idx_pack_number(x, a, &na), 0);
    assert_int_equal(idx_pack_number(x, b, &nb), 0);
    assert_int_equal(idx_pack_number(x, a, &again), 0);
    assert_int_equal(na, again);
    assert_int_not_equal(na, nb);
    assert_memory_equal(idx_pack_id(x, nb), b, 32);
    uint8_t c[32] = {3};
    assert_int_equal(idx_pack_lookup(x, c, &again), 0);
    idx_free(&x);
}

typedef struct collect {
    int n;
    pack_entry last;
} collect;

static int on_entry(const uint8_t pack_id[32], const pack_entry *e, void *ctx)
{
    (void)pack_id;
    collect *c = ctx;
    c->n++;
    c->last = *e;
    return 0;
}

static void file_round_trip_and_corruption(void **state)
{
    (void)state;
    pack_entry e[3] = {{.type = 0, .offset = 0, .length = 30, .raw_len = 5},
                       {.type = 1, .offset = 30, .length = 40, .raw_len = 7},
                       {.type = 0, .offset = 70, .length = 50, .raw_len = 9}};
    e[2].id[0] = 0xab;
    idx_file_pack p[2] = {{.pack_id = {1}, .entries = e, .n = 2}, {.pack_id = {2}, .entries = e + 2, .n = 1}};
    buf b;
    buf_init(&b, 0);
    assert_int_equal(idx_file_encode(p, 2, &b), 0);
    collect c = {0};
    assert_int_equal(idx_file_decode(b.data, b.len, on_entry, &c), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.last.id[0], 0xab);
    for (size_t cut = 0; cut < b.len; cut += 7) {
        collect d = {0};
        assert_int_not_equal(idx_file_decode(b.data, cut, on_entry, &d), 0);
    }
    b.data[0] = 2;
    assert_int_equal(idx_file_decode(b.data, b.len, on_entry, &c), ERR_VERSION);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_and_find_many),
        cmocka_unit_test(first_location_wins),
        cmocka_unit_test(packs_are_numbered_once),
        cmocka_unit_test(file_round_trip_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
