/* keyslot — the master key and the slots that wrap it.
 * A slot is a small JSON file sealing the master key under a key derived from a
 * passphrase (argon2id) or a high-entropy key file (HMAC, no slow KDF). Its public
 * fields are MACed with a key from the master key so `check` can spot edits. */
#ifndef LL_KEYSLOT_H
#define LL_KEYSLOT_H

#include <stdint.h>

#include "crypto.h"

typedef struct master_key {
    uint8_t enc[32];   /* AES-256-GCM key for every sealed object */
    uint8_t id[32];    /* HMAC key for blob ids; root of derived MAC keys */
    uint8_t chunk[32]; /* secret from which the chunker's gear table is derived */
} master_key;

typedef enum { KEYSLOT_PASSPHRASE = 1, KEYSLOT_KEYFILE = 2 } keyslot_kind;

typedef struct keyslot_info {
    keyslot_kind kind;
    char created[40];
    char host[128];
    char user[64];
    crypto_kdf_params kdf;
} keyslot_info;

int keyslot_master_new(master_key *mk) WUR;
/* Builds the slot file text for secret (a passphrase or key-file contents). */
int keyslot_create(const master_key *mk, const uint8_t repo_id[32], const uint8_t slot_id[32], keyslot_kind kind,
                   const char *secret, size_t secret_len, const crypto_kdf_params *kdf, buf *out) WUR;
/* Parses the public part. ERR_DAMAGED on malformed text, ERR_VERSION on unknown version. */
int keyslot_parse(const uint8_t *text, size_t len, keyslot_info *info) WUR;
/* Derives the slot key from secret and unwraps; ERR_PASSWORD when it does not open. */
int keyslot_unlock(const uint8_t *text, size_t len, const uint8_t repo_id[32], const uint8_t slot_id[32],
                   const char *secret, size_t secret_len, master_key *out) WUR;
/* Like keyslot_unlock, trying the sealed key under each of ids in turn (ids[0] the
 * file's own name): *which says which id it opened under. */
int keyslot_unlock_as(const uint8_t *text, size_t len, const uint8_t repo_id[32], const uint8_t (*ids)[32],
                      size_t nids, const char *secret, size_t secret_len, master_key *out, size_t *which) WUR;
/* The slot id of a key file's slot: SHA-256("lifeline-keyfile-slot-v1" || repository
 * id || key file contents), so a key file knows which slot is its own. */
void keyslot_keyfile_id(const uint8_t repo_id[32], const char *secret, size_t secret_len, uint8_t out[32]);
/* Is id one of ids (slot ids)? */
int keyslot_ids_contain(const uint8_t (*ids)[32], size_t n, const uint8_t id[32]);
/* After unlocking with any slot: is this slot's text exactly as written? */
int keyslot_verify(const uint8_t *text, size_t len, const master_key *mk, const uint8_t slot_id[32]) WUR;

/* "JSON line + MAC line" files (config, key slots): split and check. */
int maced_split(const uint8_t *text, size_t len, size_t *json_len, uint8_t mac[32]) WUR;
int maced_build(const char *json, const uint8_t key[32], const uint8_t *prefix, size_t prefix_len, buf *out) WUR;
void maced_compute(const uint8_t key[32], const uint8_t *prefix, size_t prefix_len, const uint8_t *json,
                   size_t json_len, uint8_t mac[32]);

#endif
