/* crypto — see crypto.h. Thin wrappers: the algorithms are OpenSSL's and libargon2's. */
#include "crypto.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

int crypto_random(void *out, size_t n)
{
    if (RAND_bytes(out, (int)n) != 1)
        return err_set(ERR_FATAL, "random number generator failed");
    return 0;
}

int crypto_seal_into(const uint8_t key[32], const void *aad, size_t aad_len, const void *p1, size_t l1,
                     const void *p2, size_t l2, uint8_t *out)
{
    uint8_t *nonce = out, *ct = out + CRYPTO_NONCE_LEN;
    if (l1 + l2 > (size_t)INT32_MAX)
        return err_set(ERR_FATAL, "object of %zu bytes is too large to seal", l1 + l2);
    int rc = crypto_random(nonce, CRYPTO_NONCE_LEN);
    if (rc)
        return rc;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0, f = 0;
    int ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
             (aad_len == 0 || EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
             EVP_EncryptUpdate(ctx, ct, &n, p1, (int)l1) == 1 &&
             (!l2 || EVP_EncryptUpdate(ctx, ct + n, &m, p2, (int)l2) == 1) &&
             EVP_EncryptFinal_ex(ctx, ct + n + m, &f) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, ct + l1 + l2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : err_set(ERR_FATAL, "AES-256-GCM encryption failed");
}

int crypto_seal(const uint8_t key[32], const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                buf *out)
{
    int rc = buf_reserve(out, pt_len + CRYPTO_OVERHEAD);
    if (!rc)
        rc = crypto_seal_into(key, aad, aad_len, pt, pt_len, NULL, 0, out->data + out->len);
    if (!rc)
        out->len += pt_len + CRYPTO_OVERHEAD;
    return rc;
}

int crypto_open(const uint8_t key[32], const void *aad, size_t aad_len, const void *in, size_t in_len,
                buf *out)
{
    if (in_len < CRYPTO_OVERHEAD || in_len - CRYPTO_OVERHEAD > (size_t)INT32_MAX)
        return err_set(ERR_DAMAGED, "sealed object too short or too long (%zu bytes)", in_len);
    size_t pt_len = in_len - CRYPTO_OVERHEAD;
    int rc = buf_reserve(out, pt_len + 1);
    if (rc)
        return rc;
    const uint8_t *nonce = in, *ct = (const uint8_t *)in + CRYPTO_NONCE_LEN;
    uint8_t tag[CRYPTO_TAG_LEN];
    memcpy(tag, ct + pt_len, CRYPTO_TAG_LEN);
    uint8_t *pt = out->data + out->len;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
                    (aad_len == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1) &&
                    EVP_DecryptUpdate(ctx, pt, &n, ct, (int)pt_len) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, tag) == 1 &&
                    EVP_DecryptFinal_ex(ctx, pt + n, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(pt, pt_len);
        return err_set(ERR_DAMAGED, "authentication failed (data damaged, swapped or wrong key)");
    }
    out->len += pt_len;
    return 0;
}

void crypto_hmac(const uint8_t key[32], const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, 32, data, len, out, &n);
}

void crypto_sha256(const void *data, size_t len, uint8_t out[32]) { SHA256(data, len, out); }

void crypto_derive(const uint8_t key[32], const char *label, uint8_t out[32])
{
    crypto_hmac(key, label, strlen(label), out);
}

int crypto_argon2id(const char *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                    const crypto_kdf_params *p, uint8_t out[32])
{
    if (p->t_cost < 1 || p->t_cost > 100 || p->m_kib < 8 || p->m_kib > (4u << 20) || p->lanes < 1 ||
        p->lanes > 16)
        return err_set(ERR_DAMAGED, "argon2id parameters out of range (t=%u m=%u KiB p=%u)", p->t_cost,
                       p->m_kib, p->lanes);
    int r = argon2id_hash_raw(p->t_cost, p->m_kib, p->lanes, pass, pass_len, salt, salt_len, out, 32);
    if (r != ARGON2_OK)
        return err_set(ERR_FATAL, "argon2id failed: %s", argon2_error_message(r));
    return 0;
}

int crypto_equal(const void *a, const void *b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

void crypto_wipe(void *p, size_t n) { OPENSSL_cleanse(p, n); }
