/* Unit tests: crypto primitives and key slots. */
#include "testutil.h"

#include "core/text.h"
#include "crypto/crypto.h"
#include "crypto/keyslot.h"

static const crypto_kdf_params fast = {.t_cost = 1, .m_kib = 64, .lanes = 1};

static void seal_open_round_trip(void **state)
{
    (void)state;
    uint8_t key[32] = {1}, aad[4] = {'a', 'b', 'c', 'd'};
    buf s, p;
    buf_init(&s, 0);
    buf_init(&p, 0);
    assert_int_equal(crypto_seal(key, aad, 4, "secret data", 11, &s), 0);
    assert_int_equal(s.len, 11 + CRYPTO_OVERHEAD);
    assert_int_equal(crypto_open(key, aad, 4, s.data, s.len, &p), 0);
    assert_memory_equal(p.data, "secret data", 11);
    /* a flipped bit anywhere fails authentication */
    for (size_t i = 0; i < s.len; i++) {
        s.data[i] ^= 0x10;
        buf_reset(&p);
        assert_int_equal(crypto_open(key, aad, 4, s.data, s.len, &p), ERR_DAMAGED);
        s.data[i] ^= 0x10;
    }
    /* the AAD binds: another id or type does not open */
    aad[0] = 'x';
    assert_int_equal(crypto_open(key, aad, 4, s.data, s.len, &p), ERR_DAMAGED);
    assert_int_equal(crypto_open(key, aad, 4, s.data, 5, &p), ERR_DAMAGED);
    buf_free(&s);
    buf_free(&p);
}

static void nonces_differ(void **state)
{
    (void)state;
    uint8_t key[32] = {0};
    buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    assert_int_equal(crypto_seal(key, NULL, 0, "x", 1, &a), 0);
    assert_int_equal(crypto_seal(key, NULL, 0, "x", 1, &b), 0);
    assert_memory_not_equal(a.data, b.data, CRYPTO_NONCE_LEN);
    buf_free(&a);
    buf_free(&b);
}

static void argon2_is_deterministic_and_checked(void **state)
{
    (void)state;
    uint8_t salt[32] = {7}, a[32], b[32];
    assert_int_equal(crypto_argon2id("pw", 2, salt, 32, &fast, a), 0);
    assert_int_equal(crypto_argon2id("pw", 2, salt, 32, &fast, b), 0);
    assert_memory_equal(a, b, 32);
    crypto_kdf_params bad = {.t_cost = 0, .m_kib = 64, .lanes = 1};
    assert_int_equal(crypto_argon2id("pw", 2, salt, 32, &bad, a), ERR_DAMAGED);
}

static void keyslot_unlocks_only_with_its_secret(void **state)
{
    (void)state;
    master_key mk, out;
    uint8_t repo_id[32] = {9}, slot[32] = {3};
    buf text;
    buf_init(&text, 0);
    assert_int_equal(keyslot_master_new(&mk), 0);
    assert_int_equal(keyslot_create(&mk, repo_id, slot, KEYSLOT_PASSPHRASE, "hunter2", 7, &fast, &text), 0);
    assert_int_equal(keyslot_unlock(text.data, text.len, repo_id, slot, "hunter2", 7, &out), 0);
    assert_memory_equal(&mk, &out, sizeof mk);
    assert_int_equal(keyslot_unlock(text.data, text.len, repo_id, slot, "hunter3", 7, &out), ERR_PASSWORD);
    /* bound to its repository and its own name */
    uint8_t other[32] = {4};
    assert_int_equal(keyslot_unlock(text.data, text.len, other, slot, "hunter2", 7, &out), ERR_PASSWORD);
    assert_int_equal(keyslot_unlock(text.data, text.len, repo_id, other, "hunter2", 7, &out), ERR_PASSWORD);
    assert_int_equal(keyslot_verify(text.data, text.len, &mk, slot), 0);
    buf_free(&text);
}

static void keyslot_edits_are_detected(void **state)
{
    (void)state;
    master_key mk;
    uint8_t repo_id[32] = {1}, slot[32] = {2};
    buf text;
    buf_init(&text, 0);
    assert_int_equal(keyslot_master_new(&mk), 0);
    assert_int_equal(keyslot_create(&mk, repo_id, slot, KEYSLOT_PASSPHRASE, "pw", 2, &fast, &text), 0);
    char *host = strstr((char *)text.data, "\"host\":\"");
    assert_non_null(host);
    host[8] ^= 1; /* change one character of the host name */
    assert_int_equal(keyslot_verify(text.data, text.len, &mk, slot), ERR_DAMAGED);
    keyslot_info info;
    const char *v9 = "{\"version\":9}\n0000000000000000000000000000000000000000000000000000000000000000\n";
    assert_int_equal(keyslot_parse((const uint8_t *)v9, strlen(v9), &info), ERR_VERSION);
    assert_int_equal(keyslot_parse((const uint8_t *)"garbage", 7, &info), ERR_DAMAGED);
    buf_free(&text);
}

static void keyfile_slot_needs_enough_entropy(void **state)
{
    (void)state;
    master_key mk, out;
    uint8_t repo_id[32] = {1}, slot[32] = {2};
    buf text;
    buf_init(&text, 0);
    assert_int_equal(keyslot_master_new(&mk), 0);
    assert_int_equal(keyslot_create(&mk, repo_id, slot, KEYSLOT_KEYFILE, "short", 5, &fast, &text), ERR_PASSWORD);
    const char *k = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    buf_reset(&text);
    assert_int_equal(keyslot_create(&mk, repo_id, slot, KEYSLOT_KEYFILE, k, 64, &fast, &text), 0);
    assert_int_equal(keyslot_unlock(text.data, text.len, repo_id, slot, k, 64, &out), 0);
    assert_memory_equal(&mk, &out, sizeof mk);
    buf_free(&text);
}

/* A slot moved under another slot's name opens only under the name it was made for,
 * which keyslot_unlock_as reports; a key file's slot id depends on file and repository. */
static void moved_slot_opens_under_its_own_name(void **state)
{
    (void)state;
    master_key mk, out;
    uint8_t repo_id[32] = {7}, ids[3][32] = {{1}, {2}, {3}};
    size_t which = 99;
    buf text;
    buf_init(&text, 0);
    assert_int_equal(keyslot_master_new(&mk), 0);
    assert_int_equal(keyslot_create(&mk, repo_id, ids[2], KEYSLOT_PASSPHRASE, "pw", 2, &fast, &text), 0);
    assert_int_equal(keyslot_unlock_as(text.data, text.len, repo_id, (const uint8_t(*)[32])ids, 3, "pw", 2, &out,
                                       &which),
                     0);
    assert_int_equal(which, 2);
    assert_int_equal(keyslot_unlock_as(text.data, text.len, repo_id, (const uint8_t(*)[32])ids, 2, "pw", 2, &out,
                                       &which),
                     ERR_PASSWORD);
    const char *k = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    uint8_t a[32], b[32], c[32], other[32] = {8};
    keyslot_keyfile_id(repo_id, k, 64, a);
    keyslot_keyfile_id(repo_id, k, 64, b);
    keyslot_keyfile_id(other, k, 64, c);
    assert_memory_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_open_round_trip),
        cmocka_unit_test(nonces_differ),
        cmocka_unit_test(argon2_is_deterministic_and_checked),
        cmocka_unit_test(keyslot_unlocks_only_with_its_secret),
        cmocka_unit_test(keyslot_edits_are_detected),
        cmocka_unit_test(moved_slot_opens_under_its_own_name),
        cmocka_unit_test(keyfile_slot_needs_enough_entropy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
