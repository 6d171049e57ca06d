/* Unit tests: pack writer, trailer and header codec. */
#include "testutil.h"

#include "crypto/crypto.h"
#include "repo/pack.h"

static void write_and_read_back(void **state)
{
    (void)state;
    uint8_t key[32] = {5}, pid[32] = {6}, id1[32] = {1}, id2[32] = {2}, aad[33];
    pack_writer *w = pack_writer_new();
    uint32_t off;
    uint8_t blob1[40] = {0}, blob2[50] = {0};
    assert_int_equal(pack_writer_add(w, BLOB_DATA, id1, blob1, sizeof blob1, 12, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(pack_writer_add(w, BLOB_TREE, id2, blob2, sizeof blob2, 20, &off), 0);
    assert_int_equal(off, 40);
    const buf *bytes;
    assert_int_equal(pack_writer_finish(w, key, pid, &bytes), 0);
    uint32_t hl;
    assert_int_equal(pack_trailer_decode(bytes->data + bytes->len - 8, bytes->len, &hl), 0);
    buf plain;
    buf_init(&plain, 0);
    pack_header_aad(pid, aad);
    uint64_t hoff = bytes->len - 8 - hl;
    assert_int_equal(hoff, 90);
    assert_int_equal(crypto_open(key, aad, 33, bytes->data + hoff, hl, &plain), 0);
    pack_entry *e;
    size_t n;
    assert_int_equal(pack_header_decode(plain.data, plain.len, hoff, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[1].type, BLOB_TREE);
    assert_int_equal(e[1].offset, 40);
    assert_int_equal(e[1].raw_len, 20);
    assert_memory_equal(e[1].id, id2, 32);
    free(e);
    /* the header of one pack does not open under another pack's id */
    uint8_t other[32] = {7};
    pack_header_aad(other, aad);
    buf_reset(&plain);
    assert_int_equal(crypto_open(key, aad, 33, bytes->data + hoff, hl, &plain), ERR_DAMAGED);
    buf_free(&plain);
    pack_writer_free(&w);
    assert_null(w);
}

static void trailer_rejects_garbage(void **state)
{
    (void)state;
    uint8_t t[8] = {0xff, 0xff, 0, 0, 'L', 'L', 'P', '1'};
    uint32_t hl;
    assert_int_equal(pack_trailer_decode(t, 100, &hl), ERR_DAMAGED); /* longer than the file */
    t[7] = 'X';
    assert_int_equal(pack_trailer_decode(t, 1 << 20, &hl), ERR_DAMAGED);
}

static void header_must_tile_the_data(void **state)
{
    (void)state;
    pack_entry e[2] = {{.type = 0, .length = 100}, {.type = 0, .length = 50}};
    buf b;
    buf_init(&b, 0);
    assert_int_equal(pack_header_encode(e, 2, &b), 0);
    pack_entry *out;
    size_t n;
    assert_int_equal(pack_header_decode(b.data, b.len, 150, &out, &n), 0);
    free(out);
    assert_int_equal(pack_header_decode(b.data, b.len, 151, &out, &n), ERR_DAMAGED);
    assert_int_equal(pack_header_decode(b.data, b.len, 149, &out, &n), ERR_DAMAGED);
    assert_int_equal(pack_header_decode(b.data, b.len - 1, 150, &out, &n), ERR_DAMAGED);
    b.data[0] = 9;
    assert_int_equal(pack_header_decode(b.data, b.len, 150, &out, &n), ERR_VERSION);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_and_read_back),
        cmocka_unit_test(trailer_rejects_garbage),
        cmocka_unit_test(header_must_tile_the_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
