/* crypto — the primitives lifeline uses, all from OpenSSL libcrypto and libargon2:
 * AES-256-GCM sealing with AAD, HMAC-SHA-256, SHA-256, argon2id, random bytes. */
#ifndef LL_CRYPTO_H
#define LL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16
#define CRYPTO_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

int crypto_random(void *out, size_t n) WUR;
/* Appends nonce || ciphertext || tag to out; a fresh random 96-bit nonce per call. */
int crypto_seal(const uint8_t key[32], const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                buf *out) WUR;
/* Seals the plaintext p1 || p2 (p2 may be NULL) into out, which holds
 * l1 + l2 + CRYPTO_OVERHEAD bytes: no staging copy of the plaintext is needed. */
int crypto_seal_into(const uint8_t key[32], const void *aad, size_t aad_len, const void *p1, size_t l1,
                     const void *p2, size_t l2, uint8_t *out) WUR;
/* Authenticates and decrypts; appends plaintext to out. Failure is ERR_DAMAGED with
 * a generic message: the caller names the object. */
int crypto_open(const uint8_t key[32], const void *aad, size_t aad_len, const void *in, size_t in_len,
                buf *out) WUR;
void crypto_hmac(const uint8_t key[32], const void *data, size_t len, uint8_t out[32]);
void crypto_sha256(const void *data, size_t len, uint8_t out[32]);
/* Derives a subkey: HMAC(key, label). Used to keep each purpose on its own key. */
void crypto_derive(const uint8_t key[32], const char *label, uint8_t out[32]);

typedef struct crypto_kdf_params {
    uint32_t t_cost;   /* passes */
    uint32_t m_kib;    /* memory in KiB */
    uint32_t lanes;    /* parallelism */
} crypto_kdf_params;

int crypto_argon2id(const char *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                    const crypto_kdf_params *p, uint8_t out[32]) WUR;
/* Constant-time comparison. */
int crypto_equal(const void *a, const void *b, size_t n);
void crypto_wipe(void *p, size_t n);

#endif
