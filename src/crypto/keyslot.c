/* keyslot — see keyslot.h. Slot file: one line of JSON, one line of hex HMAC. */
#include "keyslot.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <string.h>

#include "../core/text.h"

#define KEYSLOT_VERSION 1
static const char slot_aad_label[] = "lifeline-keyslot-v1";

int keyslot_master_new(master_key *mk) { return crypto_random(mk, sizeof *mk); }

void maced_compute(const uint8_t key[32], const uint8_t *prefix, size_t prefix_len, const uint8_t *json,
                   size_t json_len, uint8_t mac[32])
{
    buf b;
    buf_init(&b, 0);
    /* prefix binds the file to its name (slot id) so slots cannot be swapped. */
    if (buf_append(&b, prefix, prefix_len) || buf_append(&b, json, json_len)) {
        memset(mac, 0, 32);
    } else {
        crypto_hmac(key, b.data, b.len, mac);
    }
    buf_free(&b);
}

int maced_build(const char *json, const uint8_t key[32], const uint8_t *prefix, size_t prefix_len, buf *out)
{
    uint8_t mac[32];
    char hex[65];
    maced_compute(key, prefix, prefix_len, (const uint8_t *)json, strlen(json), mac);
    text_hex(mac, 32, hex);
    buf_reset(out);
    int rc = buf_append(out, json, strlen(json));
    if (!rc)
        rc = buf_append(out, "\n", 1);
    if (!rc)
        rc = buf_append(out, hex, 64);
    if (!rc)
        rc = buf_append(out, "\n", 1);
    return rc;
}

int maced_split(const uint8_t *text, size_t len, size_t *json_len, uint8_t mac[32])
{
    const uint8_t *nl = memchr(text, '\n', len);
    if (!nl)
        return err_set(ERR_DAMAGED, "missing MAC line");
    size_t jl = (size_t)(nl - text);
    size_t rest = len - jl - 1;
    char hex[65];
    if (rest < 64 || (rest > 64 && !(rest == 65 && nl[65] == '\n')))
        return err_set(ERR_DAMAGED, "malformed MAC line");
    memcpy(hex, nl + 1, 64);
    hex[64] = '\0';
    if (text_unhex(hex, mac, 32) != 0)
        return err_set(ERR_DAMAGED, "malformed MAC line");
    *json_len = jl;
    return 0;
}

static void slot_aad(const uint8_t repo_id[32], const uint8_t slot_id[32], uint8_t *aad)
{
    memcpy(aad, slot_aad_label, sizeof slot_aad_label - 1);
    memcpy(aad + sizeof slot_aad_label - 1, repo_id, 32);
    memcpy(aad + sizeof slot_aad_label - 1 + 32, slot_id, 32);
}
#define SLOT_AAD_LEN (sizeof slot_aad_label - 1 + 64)

static int derive_slot_key(keyslot_kind kind, const char *secret, size_t secret_len, const uint8_t salt[32],
                           const crypto_kdf_params *kdf, uint8_t out[32])
{
    if (kind == KEYSLOT_KEYFILE) {
        if (secret_len < 32)
            return err_set(ERR_PASSWORD, "key file too short: at least 32 bytes of random data are needed");
        buf b;
        buf_init(&b, 0);
        int rc = buf_append(&b, secret, secret_len);
        if (!rc)
            crypto_hmac(salt, b.data, b.len, out);
        buf_free(&b);
        return rc;
    }
    return crypto_argon2id(secret, secret_len, salt, 32, kdf, out);
}

int keyslot_create(const master_key *mk, const uint8_t repo_id[32], const uint8_t slot_id[32], keyslot_kind kind,
                   const char *secret, size_t secret_len, const crypto_kdf_params *kdf, buf *out)
{
    uint8_t salt[32], kek[32], aad[SLOT_AAD_LEN], mackey[32];
    char hex[65];
    buf sealed;
    buf_init(&sealed, 0);
    int rc = crypto_random(salt, sizeof salt);
    if (!rc)
        rc = derive_slot_key(kind, secret, secret_len, salt, kdf, kek);
    slot_aad(repo_id, slot_id, aad);
    if (!rc)
        rc = crypto_seal(kek, aad, sizeof aad, mk, sizeof *mk, &sealed);
    crypto_wipe(kek, sizeof kek);
    cJSON *o = cJSON_CreateObject();
    char *json = NULL;
    if (!rc && o) {
        char created[40], host[128] = "", sealed_hex[2 * 256 + 1];
        text_time((int64_t)time(NULL), 0, created, sizeof created);
        gethostname(host, sizeof host - 1);
        const char *user = getenv("USER");
        cJSON_AddNumberToObject(o, "version", KEYSLOT_VERSION);
        cJSON_AddStringToObject(o, "kind", kind == KEYSLOT_KEYFILE ? "keyfile" : "passphrase");
        cJSON_AddStringToObject(o, "kdf", kind == KEYSLOT_KEYFILE ? "hmac-sha256" : "argon2id");
        if (kind == KEYSLOT_PASSPHRASE) {
            cJSON_AddNumberToObject(o, "t", kdf->t_cost);
            cJSON_AddNumberToObject(o, "m", kdf->m_kib);
            cJSON_AddNumberToObject(o, "p", kdf->lanes);
        }
        text_hex(salt, 32, hex);
        cJSON_AddStringToObject(o, "salt", hex);
        cJSON_AddStringToObject(o, "created", created);
        cJSON_AddStringToObject(o, "host", host);
        cJSON_AddStringToObject(o, "user", user ? user : "");
        text_hex(sealed.data, sealed.len, sealed_hex);
        cJSON_AddStringToObject(o, "sealed", sealed_hex);
        json = cJSON_PrintUnformatted(o);
    }
    if (!rc && !json)
        rc = err_set(ERR_FATAL, "out of memory");
    crypto_derive(mk->id, "keyslot-mac", mackey);
    if (!rc)
        rc = maced_build(json, mackey, slot_id, 32, out);
    cJSON_free(json);
    cJSON_Delete(o);
    buf_free(&sealed);
    return rc;
}

static int parse_json(const uint8_t *text, size_t len, cJSON **out, size_t *json_len)
{
    uint8_t mac[32];
    int rc = maced_split(text, len, json_len, mac);
    if (rc)
        return rc;
    *out = cJSON_ParseWithLength((const char *)text, *json_len);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL; /* the caller deletes it too */
        return err_set(ERR_DAMAGED, "not valid JSON");
    }
    return 0;
}

static int get_u32(const cJSON *o, const char *name, uint32_t *v)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 4294967295.0)
        return err_set(ERR_DAMAGED, "field '%s' missing or out of range", name);
    *v = (uint32_t)n->valuedouble;
    return 0;
}

static void copy_str(const cJSON *o, const char *name, char *out, size_t cap)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    snprintf(out, cap, "%s", cJSON_IsString(n) ? n->valuestring : "");
}

static int parse_slot(const cJSON *o, keyslot_info *info, uint8_t salt[32], buf *sealed)
{
    uint32_t version = 0;
    int rc = get_u32(o, "version", &version);
    if (rc)
        return rc;
    if (version != KEYSLOT_VERSION)
        return err_set(ERR_VERSION, "key slot format version %u is not supported (this lifeline reads %d)",
                       version, KEYSLOT_VERSION);
    memset(info, 0, sizeof *info);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "passphrase")) {
        info->kind = KEYSLOT_PASSPHRASE;
        if ((rc = get_u32(o, "t", &info->kdf.t_cost)) || (rc = get_u32(o, "m", &info->kdf.m_kib)) ||
            (rc = get_u32(o, "p", &info->kdf.lanes)))
            return rc;
    } else if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "keyfile")) {
        info->kind = KEYSLOT_KEYFILE;
    } else {
        return err_set(ERR_DAMAGED, "unknown key slot kind");
    }
    copy_str(o, "created", info->created, sizeof info->created);
    copy_str(o, "host", info->host, sizeof info->host);
    copy_str(o, "user", info->user, sizeof info->user);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "salt");
    if (!cJSON_IsString(s) || text_unhex(s->valuestring, salt, 32) != 0)
        return err_set(ERR_DAMAGED, "bad salt");
    const cJSON *sl = cJSON_GetObjectItemCaseSensitive(o, "sealed");
    size_t want = sizeof(master_key) + CRYPTO_OVERHEAD;
    if (!cJSON_IsString(sl) || strlen(sl->valuestring) != 2 * want)
        return err_set(ERR_DAMAGED, "bad sealed key");
    if ((rc = buf_reserve(sealed, want)))
        return rc;
    if (text_unhex(sl->valuestring, sealed->data, want) != 0)
        return err_set(ERR_DAMAGED, "bad sealed key");
    sealed->len = want;
    return 0;
}

int keyslot_parse(const uint8_t *text, size_t len, keyslot_info *info)
{
    cJSON *o = NULL;
    size_t jl;
    uint8_t salt[32];
    buf sealed;
    buf_init(&sealed, 4096);
    int rc = parse_json(text, len, &o, &jl);
    if (!rc)
        rc = parse_slot(o, info, salt, &sealed);
    cJSON_Delete(o);
    buf_free(&sealed);
    return rc;
}

int keyslot_unlock(const uint8_t *text, size_t len, const uint8_t repo_id[32], const uint8_t slot_id[32],
                   const char *secret, size_t secret_len, master_key *out)
{
    size_t which;
    return keyslot_unlock_as(text, len, repo_id, (const uint8_t(*)[32])slot_id, 1, secret, secret_len, out, &which);
}

int keyslot_unlock_as(const uint8_t *text, size_t len, const uint8_t repo_id[32], const uint8_t (*ids)[32],
                      size_t nids, const char *secret, size_t secret_len, master_key *out, size_t *which)
{
    cJSON *o = NULL;
    size_t jl;
    uint8_t salt[32], kek[32], aad[SLOT_AAD_LEN];
    keyslot_info info;
    buf sealed, plain;
    buf_init(&sealed, 4096);
    buf_init(&plain, 4096);
    int rc = parse_json(text, len, &o, &jl);
    if (!rc)
        rc = parse_slot(o, &info, salt, &sealed);
    if (!rc)
        rc = derive_slot_key(info.kind, secret, secret_len, salt, &info.kdf, kek);
    /* one KDF, then the sealed key tried under each name: a slot that opens under
     * another slot's id was moved there (files swapped or renamed) */
    int opened = 0;
    for (size_t i = 0; !rc && !opened && i < nids; i++) {
        slot_aad(repo_id, ids[i], aad);
        if (crypto_open(kek, aad, sizeof aad, sealed.data, sealed.len, &plain) == 0) {
            opened = 1;
            *which = i;
        }
        err_clear();
    }
    if (!rc && !opened)
        rc = err_set(ERR_PASSWORD, "wrong password or key file");
    if (!rc && plain.len != sizeof *out)
        rc = err_set(ERR_DAMAGED, "unwrapped master key has the wrong size");
    if (!rc)
        memcpy(out, plain.data, sizeof *out);
    crypto_wipe(kek, sizeof kek);
    if (plain.data)
        crypto_wipe(plain.data, plain.cap);
    cJSON_Delete(o);
    buf_free(&sealed);
    buf_free(&plain);
    return rc;
}

void keyslot_keyfile_id(const uint8_t repo_id[32], const char *secret, size_t secret_len, uint8_t out[32])
{
    /* public, and no easier to attack than the slot itself (an HMAC of the same bytes) */
    static const char label[] = "lifeline-keyfile-slot-v1";
    buf b;
    buf_init(&b, 0);
    if (buf_append(&b, label, sizeof label - 1) || buf_append(&b, repo_id, 32) || buf_append(&b, secret, secret_len))
        memset(out, 0, 32);
    else
        crypto_sha256(b.data, b.len, out);
    if (b.data)
        crypto_wipe(b.data, b.cap);
    buf_free(&b);
}

int keyslot_verify(const uint8_t *text, size_t len, const master_key *mk, const uint8_t slot_id[32])
{
    size_t jl;
    uint8_t mac[32], want[32], mackey[32];
    int rc = maced_split(text, len, &jl, mac);
    if (rc)
        return rc;
    crypto_derive(mk->id, "keyslot-mac", mackey);
    maced_compute(mackey, slot_id, 32, text, jl, want);
    if (!crypto_equal(mac, want, 32))
        return err_set(ERR_DAMAGED, "MAC mismatch: the slot was modified");
    return 0;
}

int keyslot_ids_contain(const uint8_t (*ids)[32], size_t n, const uint8_t id[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(ids[i], id, 32))
            return 1;
    return 0;
}
