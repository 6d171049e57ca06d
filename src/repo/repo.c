/* repo — see repo.h. */
#define _GNU_SOURCE
#include "repo.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h> /* raise(SIGSTOP) at the test pause points */
#include <unistd.h>
#include <zstd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/pool.h"
#include "../core/text.h"

#define UNSAVED_PACKS_MAX 64 /* index files are written at least every 64 packs */

/* A pack being filled by several workers at once: each reserves a region under the
 * lock and seals into it outside the lock. A full pack is detached (new blobs go to a
 * new one) and goes to the writer when its last reservation is filled. */
typedef struct open_pack {
    pack_writer *w;
    int inflight; /* reserved regions not yet filled */
    int detached;
} open_pack;


struct repo {
    store *st;
    uint8_t id[32];
    repo_options opt;
    int unlocked;
    master_key mk;
    chunker ch;
    uint8_t slot_id[32];
    idx *index;
    uint8_t (*index_files)[32];
    size_t nindex_files;
    int index_damaged; /* some index file unreadable: pack headers were read instead */
    /* checked just before an index file or snapshot is committed (see commit_check) */
    int (*guard)(void *ctx);
    void *guard_ctx;
    uint8_t *needed; /* per pack number: this session wrote it or reuses a blob from it */
    size_t needed_cap;
    /* write path, guarded by mu */
    pthread_mutex_t mu;
    idx *pending;
    pool *workers;
    pool *writer; /* one thread writes and fsyncs full packs while workers go on */
    unsigned nworkers;
    ZSTD_CCtx **cctx;
    buf *wplain; /* per-worker compression output, reused for every blob */
    open_pack *cur; /* the pack being filled */
    uint8_t **spare; /* recycled chunk buffers */
    size_t nspare;
    idx_file_pack *unsaved;
    size_t nunsaved, unsaved_cap;
    repo_write_stats stats;
};

void repo_options_default(repo_options *o)
{
    /* two lanes: the same memory hardness, computed on two cores */
    o->kdf = (crypto_kdf_params){.t_cost = 3, .m_kib = 64 * 1024, .lanes = 2};
    o->chunk_min = 256 * 1024;
    o->chunk_avg = 1024 * 1024;
    o->chunk_max = 8 * 1024 * 1024;
    o->pack_size = 16 * 1024 * 1024;
    o->zstd_level = 3;
}

static repo *repo_alloc(void)
{
    repo *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    r->nworkers = n > 0 ? (unsigned)n : 1;
    r->index = idx_new();
    r->pending = idx_new();
    if (!r->index || !r->pending) {
        idx_free(&r->index);
        idx_free(&r->pending);
        free(r);
        return NULL;
    }
    return r;
}

const char *repo_location(const repo *r) { return r->st->location; }
const uint8_t *repo_id(const repo *r) { return r->id; }
store *repo_store(repo *r) { return r->st; }
const master_key *repo_keys(const repo *r) { return &r->mk; }
const chunker *repo_chunker(const repo *r) { return &r->ch; }
const uint8_t *repo_slot_id(const repo *r) { return r->slot_id; }
idx *repo_index(repo *r) { return r->index; }
void repo_set_commit_guard(repo *r, int (*fn)(void *ctx), void *ctx)
{
    r->guard = fn;
    r->guard_ctx = ctx;
}
void repo_set_workers(repo *r, unsigned n) { r->nworkers = n ? n : 1; }

/* ---- config ---------------------------------------------------------------- */

static int config_json(const repo *r, char **out)
{
    char hex[65];
    cJSON *o = cJSON_CreateObject(), *c = cJSON_CreateObject();
    text_hex(r->id, 32, hex);
    cJSON_AddNumberToObject(o, "version", REPO_VERSION);
    cJSON_AddStringToObject(o, "id", hex);
    cJSON_AddStringToObject(c, "algorithm", "gear-fastcdc");
    cJSON_AddNumberToObject(c, "min", r->opt.chunk_min);
    cJSON_AddNumberToObject(c, "avg", r->opt.chunk_avg);
    cJSON_AddNumberToObject(c, "max", r->opt.chunk_max);
    cJSON_AddItemToObject(o, "chunker", c);
    cJSON_AddNumberToObject(o, "pack_size", r->opt.pack_size);
    cJSON_AddStringToObject(o, "compression", "zstd");
    cJSON_AddNumberToObject(o, "zstd_level", r->opt.zstd_level);
    if (r->opt.has_slots) {
        cJSON *k = cJSON_AddArrayToObject(o, "keys");
        for (size_t i = 0; k && i < r->opt.nslots; i++) {
            text_hex(r->opt.slots[i], 32, hex);
            cJSON_AddItemToArray(k, cJSON_CreateString(hex));
        }
    }
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return *out ? 0 : err_set(ERR_FATAL, "out of memory");
}

static int num_field(const cJSON *o, const char *name, double lo, double hi, uint32_t *v)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(n) || n->valuedouble < lo || n->valuedouble > hi)
        return err_set(ERR_DAMAGED, "config: field '%s' missing or out of range", name);
    *v = (uint32_t)n->valuedouble;
    return 0;
}

/* "keys": ["<slot id hex>", ...], optional (configs before it have none). */
static int parse_slot_list(const cJSON *k, repo_options *o)
{
    const cJSON *it;
    o->has_slots = k != NULL;
    o->nslots = 0;
    if (k && (!cJSON_IsArray(k) || cJSON_GetArraySize(k) > REPO_MAX_SLOTS))
        return err_set(ERR_DAMAGED, "config: 'keys' is not a list of at most %d slot ids", REPO_MAX_SLOTS);
    cJSON_ArrayForEach(it, k)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) != 64 ||
            text_unhex(it->valuestring, o->slots[o->nslots], 32) != 0)
            return err_set(ERR_DAMAGED, "config: 'keys' holds something that is not a slot id");
        o->nslots++;
    }
    return 0;
}

/* Public config decoder (fuzzed through repo_config_parse). */
int repo_config_parse(const uint8_t *text, size_t len, uint8_t id[32], repo_options *o);
int repo_config_parse(const uint8_t *text, size_t len, uint8_t id[32], repo_options *o)
{
    size_t jl;
    uint8_t mac[32];
    int rc = maced_split(text, len, &jl, mac);
    if (rc)
        return rc;
    cJSON *j = cJSON_ParseWithLength((const char *)text, jl);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return err_set(ERR_DAMAGED, "config is not valid JSON");
    }
    uint32_t version = 0, level = 0;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "chunker");
    const cJSON *hex = cJSON_GetObjectItemCaseSensitive(j, "id");
    rc = num_field(j, "version", 0, 1e9, &version);
    if (!rc && version != REPO_VERSION)
        rc = err_set(ERR_VERSION, "repository format version %u is not supported (this lifeline reads %d)",
                     version, REPO_VERSION);
    if (!rc && (!cJSON_IsString(hex) || text_unhex(hex->valuestring, id, 32) != 0))
        rc = err_set(ERR_DAMAGED, "config: bad repository id");
    if (!rc && !cJSON_IsObject(c))
        rc = err_set(ERR_DAMAGED, "config: no chunker parameters");
    if (!rc && !(rc = num_field(c, "min", 64, 1 << 26, &o->chunk_min)) &&
        !(rc = num_field(c, "avg", 256, 1 << 26, &o->chunk_avg)) &&
        !(rc = num_field(c, "max", 1024, 1 << 27, &o->chunk_max)) &&
        !(rc = num_field(j, "pack_size", 4096, 1u << 30, &o->pack_size)))
        rc = num_field(j, "zstd_level", 1, 19, &level);
    if (!rc && (o->chunk_min > o->chunk_avg || o->chunk_avg > o->chunk_max ||
                (o->chunk_avg & (o->chunk_avg - 1))))
        rc = err_set(ERR_DAMAGED, "config: inconsistent chunker parameters");
    if (!rc)
        rc = parse_slot_list(cJSON_GetObjectItemCaseSensitive(j, "keys"), o);
    o->zstd_level = (int)level;
    cJSON_Delete(j);
    return rc;
}

static void config_mac_key(const repo *r, uint8_t key[32]) { crypto_derive(r->mk.id, "config-mac", key); }

/* ---- open / init ----------------------------------------------------------- */

/* What a folder holds besides the empty sub-folders a failed init may leave: up to
 * cap bytes of names ("keys/, data/, notes.txt") in found; returns how many entries
 * count as content, with *repo_like set when any is a repository folder with files. */
static int folder_content(const char *path, char *found, size_t cap, int *repo_like)
{
    static const char *const dirs[] = {"data", "index", "snapshots", "keys", "locks", "audit", "holds", "wal"};
    DIR *d = opendir(path);
    int n = 0;
    size_t used = 0;
    *repo_like = 0;
    found[0] = '\0';
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int known = 0, empty = 0, lost = !strcmp(e->d_name, "lost+found"); /* a file system's own */
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
            known |= !strcmp(e->d_name, dirs[i]);
        char sub[PATH_MAX];
        DIR *sd = (known || lost) && fs_join(sub, sizeof sub, path, e->d_name) == 0 ? opendir(sub) : NULL;
        if (sd) {
            struct dirent *se;
            empty = 1;
            while (empty && (se = readdir(sd)))
                empty = !strcmp(se->d_name, ".") || !strcmp(se->d_name, "..");
            closedir(sd);
        }
        err_clear();
        if (empty)
            continue; /* what an interrupted init leaves, or a fresh file system: no content */
        *repo_like |= known || !strcmp(e->d_name, "config");
        if (n++ < 6 && used + strlen(e->d_name) + 4 < cap)
            used += (size_t)snprintf(found + used, cap - used, "%s%s%s", used ? ", " : "", e->d_name,
                                     known ? "/" : "");
    }
    closedir(d);
    if (n > 6 && used + 6 < cap)
        snprintf(found + used, cap - used, ", ...");
    return n;
}

int repo_open(const char *path, repo **out)
{
    repo *r = repo_alloc();
    if (!r)
        return err_set(ERR_FATAL, "out of memory");
    buf cfg;
    buf_init(&cfg, 1 << 20);
    int rc = store_posix_open(path, 0, &r->st);
    if (!rc && (rc = store_get(r->st, "config", &cfg, 1 << 16))) {
        char found[256];
        int repo_like;
        if (rc == ERR_NOTFOUND && folder_content(path, found, sizeof found, &repo_like) && repo_like) {
            /* key slots or data without a config: damage, not a place for a new repository */
            rc = err_set(ERR_DAMAGED, "repository %s has lost its config file (it holds %s)", path, found);
            err_hint("copy 'config' back from a copy of this repository (any copy made since init has it); "
                     "do not run init here");
        } else if (rc == ERR_NOTFOUND) {
            rc = err_set(ERR_NOREPO, "%s is not a lifeline repository (it has no config file)", path);
            err_hint(found[0] ? "give the repository's folder with -r" : "create one with: lifeline -r %s init",
                     path);
        } else {
            err_wrap("repository %s", path);
        }
    }
    if (!rc && (rc = repo_config_parse(cfg.data, cfg.len, r->id, &r->opt)))
        err_wrap("repository %s: config", path);
    buf_free(&cfg);
    if (rc) {
        repo_close(&r);
        return rc;
    }
    *out = r;
    return 0;
}

typedef struct unlock_ctx {
    repo *r;
    const char *secret;
    size_t len;
    keyslot_kind kind;
    uint8_t (*ids)[32]; /* slot files present, then slots the config lists that are not */
    size_t nids, npresent, cap;
    int opened, damaged, tried;
    size_t swapped_from, swapped_to; /* a slot that opened under another slot's id */
    int swapped, unreadable;
    char damaged_name[80], unreadable_why[600];
} unlock_ctx;

static int collect_slot(const char *name, uint64_t size, void *vctx)
{
    unlock_ctx *u = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    uint8_t id[32];
    if (text_unhex(base, id, 32) != 0 || size > 65536)
        return 0;
    int rc = array_grow(&u->ids, &u->cap, u->nids + 1, sizeof *u->ids, 8);
    if (!rc)
        memcpy(u->ids[u->nids++], id, 32);
    return rc;
}

/* Tries slot file i: its own id first, then every other id (a swapped or renamed
 * slot opens under the name it was made for). */
static void try_slot(unlock_ctx *u, size_t i)
{
    char hex[65], name[80];
    keyslot_info info;
    buf text;
    text_hex(u->ids[i], 32, hex);
    snprintf(name, sizeof name, "keys/%s", hex);
    buf_init(&text, 65536);
    int rc = store_get(u->r->st, name, &text, 65536);
    if (rc && rc != ERR_NOTFOUND && !u->unreadable++) /* e.g. permissions: not damage, and maybe ours */
        snprintf(u->unreadable_why, sizeof u->unreadable_why, "%s", err_msg());
    if (!rc && keyslot_parse(text.data, text.len, &info) != 0) {
        u->damaged++;
        snprintf(u->damaged_name, sizeof u->damaged_name, "%s", name);
    } else if (!rc && info.kind == u->kind) {
        uint8_t(*order)[32] = malloc(u->nids * sizeof *order);
        size_t k = 0, which;
        if (order) {
            memcpy(order[k++], u->ids[i], 32);
            for (size_t j = 0; j < u->nids; j++)
                if (j != i)
                    memcpy(order[k++], u->ids[j], 32);
        }
        u->tried++;
        if (order && keyslot_unlock_as(text.data, text.len, u->r->id, (const uint8_t(*)[32])order, k, u->secret,
                                       u->len, &u->r->mk, &which) == 0) {
            u->opened = which == 0;
            if (which) { /* index in ids of the id it opened under */
                u->swapped = 1;
                u->swapped_from = i;
                u->swapped_to = which <= i ? which - 1 : which;
            } else {
                memcpy(u->r->slot_id, u->ids[i], 32);
            }
        }
        free(order);
    }
    buf_free(&text);
    err_clear();
}

/* No slot opened: says why as precisely as the repository allows. */
static int unlock_failure(unlock_ctx *u, const uint8_t own[32], int own_present)
{
    const char *loc = repo_location(u->r);
    char a[65], b[65];
    if (u->swapped) {
        text_hex(u->ids[u->swapped_from], 32, a);
        text_hex(u->ids[u->swapped_to], 32, b);
        err_set(ERR_DAMAGED, "key slot keys/%s in %s holds the slot made as keys/%.8s...: the slot files were swapped "
                             "or renamed",
                a, loc, b);
        err_hint("put the key slots back from a copy of the repository (or rename keys/%.8s... back to keys/%s)", a,
                 b);
        return ERR_DAMAGED;
    }
    if (own && own_present) {
        text_hex(own, 32, a);
        err_set(ERR_DAMAGED, "key slot keys/%s in %s was made for this key file but does not open with it: it was "
                             "damaged or replaced",
                a, loc);
        err_hint("put keys/%s back from a copy of the repository, or unlock with another key", a);
        return ERR_DAMAGED;
    }
    if (own && keyslot_ids_contain((const uint8_t(*)[32])u->ids + u->npresent, u->nids - u->npresent, own)) {
        text_hex(own, 32, a);
        err_set(ERR_DAMAGED, "key slot keys/%s of this key file is missing from %s (deleted); the config lists it",
                a, loc);
        err_hint("put keys/%s back from a copy of the repository, or unlock with another key", a);
        return ERR_DAMAGED;
    }
    if (!own && u->nids > u->npresent) {
        text_hex(u->ids[u->npresent], 32, a);
        err_set(ERR_DAMAGED, "no key slot of %s opens with this password, and %zu slot(s) the config lists are "
                             "missing (deleted), e.g. keys/%s",
                loc, u->nids - u->npresent, a);
        err_hint("if the password belonged to a missing slot, put keys/%s back from a copy of the repository; "
                 "otherwise the password is wrong",
                 a);
        return ERR_DAMAGED;
    }
    if (u->unreadable) {
        err_set(ERR_IO, "no key slot of %s opens with this %s, and %d slot(s) could not be read: %s", loc,
                u->kind == KEYSLOT_KEYFILE ? "key file" : "password", u->unreadable, u->unreadable_why);
        err_hint("run as a user that can read %s/keys, or check the password", loc);
        return ERR_IO;
    }
    if (u->damaged && !u->tried)
        return err_set(ERR_DAMAGED, "key slot %s in %s is damaged and no other slot could be tried",
                       u->damaged_name, loc);
    if (u->kind == KEYSLOT_KEYFILE)
        return err_set(ERR_PASSWORD, "the key file opens none of the key slots of %s", loc);
    return err_set(ERR_PASSWORD, "wrong password for repository %s%s", loc,
                   u->damaged ? " (one key slot is also damaged)" : "");
}

int repo_unlock(repo *r, const char *secret, size_t secret_len, keyslot_kind kind)
{
    unlock_ctx u = {.r = r, .secret = secret, .len = secret_len, .kind = kind};
    uint8_t own[32];
    int own_present = 0;
    int rc = store_list(r->st, "keys", collect_slot, &u);
    u.npresent = u.nids;
    for (size_t i = 0; !rc && i < r->opt.nslots; i++) /* listed but gone: candidates for a moved slot */
        if (!keyslot_ids_contain((const uint8_t(*)[32])u.ids, u.npresent, r->opt.slots[i]) &&
            !(rc = array_grow(&u.ids, &u.cap, u.nids + 1, sizeof *u.ids, 8)))
            memcpy(u.ids[u.nids++], r->opt.slots[i], 32);
    if (kind == KEYSLOT_KEYFILE) /* a key file's slot has a known id: try it alone first */
        keyslot_keyfile_id(r->id, secret, secret_len, own);
    for (size_t i = 0; !rc && kind == KEYSLOT_KEYFILE && i < u.npresent; i++)
        if (!memcmp(u.ids[i], own, 32)) {
            own_present = 1;
            try_slot(&u, i);
        }
    for (size_t i = 0; !rc && !own_present && !u.opened && !u.swapped && i < u.npresent; i++)
        try_slot(&u, i); /* a password, or a key file whose slot predates derived ids */
    if (!rc && !u.opened)
        rc = unlock_failure(&u, kind == KEYSLOT_KEYFILE ? own : NULL, own_present);
    free(u.ids);
    if (rc)
        return rc;
    /* Now that keys are known, the config must be exactly as written. */
    buf cfg;
    buf_init(&cfg, 1 << 16);
    uint8_t key[32], mac[32], want[32];
    size_t jl;
    rc = store_get(r->st, "config", &cfg, 1 << 16);
    if (!rc)
        rc = maced_split(cfg.data, cfg.len, &jl, mac);
    if (!rc) {
        config_mac_key(r, key);
        maced_compute(key, (const uint8_t *)"config", 6, cfg.data, jl, want);
        if (!crypto_equal(mac, want, 32))
            rc = err_set(ERR_DAMAGED, "config of %s was modified (MAC mismatch)", repo_location(r));
    }
    uint8_t id[32];
    /* the authenticated bytes are what counts (a key change may have rewritten it since open) */
    if (!rc && !(rc = repo_config_parse(cfg.data, cfg.len, id, &r->opt)) && memcmp(id, r->id, 32))
        rc = err_set(ERR_DAMAGED, "config of %s changed its repository id while it was opened", repo_location(r));
    buf_free(&cfg);
    if (rc)
        return rc;
    chunker_init(&r->ch, r->mk.chunk, r->opt.chunk_min, r->opt.chunk_avg, r->opt.chunk_max);
    r->unlocked = 1;
    return 0;
}

/* ---- key slots --------------------------------------------------------------- */

/* Writes a new slot file (create-only) and lists it in r->opt; the caller writes the
 * config. A key file's slot takes the id derived from it, anything else a random one. */
static int slot_write(repo *r, const char *secret, size_t len, keyslot_kind kind, const crypto_kdf_params *kdf,
                      uint8_t slot_id[32])
{
    buf text;
    char name[80], hex[65];
    buf_init(&text, 0);
    int rc = 0;
    if (r->opt.nslots >= REPO_MAX_SLOTS)
        return err_set(ERR_USAGE, "%s has %d key slots, the most a repository may have", repo_location(r),
                       REPO_MAX_SLOTS);
    if (kind == KEYSLOT_KEYFILE)
        keyslot_keyfile_id(r->id, secret, len, slot_id);
    else
        rc = crypto_random(slot_id, 32);
    if (!rc)
        rc = keyslot_create(&r->mk, r->id, slot_id, kind, secret, len, kdf, &text);
    text_hex(slot_id, 32, hex);
    snprintf(name, sizeof name, "keys/%s", hex);
    if (!rc && (rc = store_put(r->st, name, text.data, text.len, 1)) && errno == EEXIST)
        rc = err_set(ERR_USAGE, "this key file already has a key slot in %s (keys/%.8s)", repo_location(r), hex);
    if (!rc)
        memcpy(r->opt.slots[r->opt.nslots++], slot_id, 32);
    buf_free(&text);
    return rc;
}

/* Writes config with the current slot list: create-only at init (a folder without
 * it is not yet a repository), else replacing it atomically. */
static int config_write(repo *r, int create)
{
    char *json = NULL;
    uint8_t key[32];
    buf cfg;
    buf_init(&cfg, 0);
    int rc = config_json(r, &json);
    if (!rc) {
        config_mac_key(r, key);
        rc = maced_build(json, key, (const uint8_t *)"config", 6, &cfg);
    }
    if (!rc)
        rc = store_put(r->st, "config", cfg.data, cfg.len, create);
    cJSON_free(json);
    buf_free(&cfg);
    return rc;
}

/* A config without a list gets one on the first key change: every slot file that
 * authenticates with the master key (a planted file is not listed). */
static int adopt_slot_list(const char *name, uint64_t size, void *vctx)
{
    repo *r = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    uint8_t id[32];
    buf text;
    if (text_unhex(base, id, 32) != 0 || size > 65536 || r->opt.nslots >= REPO_MAX_SLOTS)
        return 0;
    buf_init(&text, 65536);
    if (store_get(r->st, name, &text, 65536) == 0 && keyslot_verify(text.data, text.len, &r->mk, id) == 0)
        memcpy(r->opt.slots[r->opt.nslots++], id, 32);
    err_clear();
    buf_free(&text);
    return 0;
}

static int ensure_slot_list(repo *r)
{
    if (r->opt.has_slots)
        return 0;
    r->opt.has_slots = 1;
    r->opt.nslots = 0;
    return store_list(r->st, "keys", adopt_slot_list, r);
}

int repo_key_add(repo *r, const char *secret, size_t len, keyslot_kind kind, const crypto_kdf_params *kdf,
                 uint8_t slot_id[32])
{
    int rc = ensure_slot_list(r);
    if (!rc)
        rc = slot_write(r, secret, len, kind, kdf, slot_id);
    /* slot first, then the list: a crash in between leaves an unlisted slot, which
     * check names, never a listed slot that is not there */
    return rc ? rc : config_write(r, 0);
}

int repo_key_remove(repo *r, const uint8_t slot_id[32])
{
    char name[80], hex[65];
    int rc = ensure_slot_list(r);
    for (size_t i = 0; !rc && i < r->opt.nslots; i++)
        if (!memcmp(r->opt.slots[i], slot_id, 32)) {
            memmove(r->opt.slots[i], r->opt.slots[i + 1], (r->opt.nslots - i - 1) * 32);
            r->opt.nslots--;
            break;
        }
    /* unlisted first, then removed: the reverse of add, for the same reason */
    if (!rc)
        rc = config_write(r, 0);
    text_hex(slot_id, 32, hex);
    snprintf(name, sizeof name, "keys/%s", hex);
    return rc ? rc : store_remove(r->st, name);
}

int repo_slot_list(const repo *r, const uint8_t (**ids)[32], size_t *n)
{
    *ids = (const uint8_t(*)[32])r->opt.slots;
    *n = r->opt.nslots;
    return r->opt.has_slots;
}

int repo_init(const char *path, const char *secret, size_t secret_len, keyslot_kind kind, const repo_options *o,
              repo **out)
{
    uint64_t sz;
    repo *r = repo_alloc();
    if (!r)
        return err_set(ERR_FATAL, "out of memory");
    r->opt = *o;
    char found[256];
    int repo_like, rc = 0;
    char cfgpath[PATH_MAX];
    struct stat st;
    if (fs_join(cfgpath, sizeof cfgpath, path, "config") == 0 && lstat(cfgpath, &st) == 0) {
        rc = err_set(ERR_FATAL, "%s already holds a lifeline repository", path);
    } else if (folder_content(path, found, sizeof found, &repo_like)) {
        /* never a second identity over existing content (a repository that lost its
         * config would otherwise get new keys and show no snapshots) */
        rc = err_set(ERR_FATAL, "%s is not empty (it holds %s): a repository is only created in an empty folder",
                     path, found);
        if (repo_like)
            err_hint("this looks like a lifeline repository that lost its config file: copy 'config' back from a "
                     "copy of it; create a new repository in another folder");
    }
    if (!rc)
        err_clear(); /* fs_join's record, if any */
    if (!rc)
        rc = store_posix_open(path, 1, &r->st);
    if (!rc && store_size(r->st, "config", &sz) == 0)
        rc = err_set(ERR_FATAL, "%s already holds a lifeline repository", path);

    uint8_t slot_id[32];
    r->opt.has_slots = 1; /* the slot add below lists its slot, in memory until the config is written */
    r->opt.nslots = 0;
    if (!rc && !(rc = crypto_random(r->id, 32)) && !(rc = keyslot_master_new(&r->mk)))
        rc = slot_write(r, secret, secret_len, kind, &o->kdf, slot_id);
    if (!rc) /* config last: a folder without it is not (yet) a repository */
        rc = config_write(r, 1);
    if (rc) {
        repo_close(&r);
        return rc;
    }
    memcpy(r->slot_id, slot_id, 32);
    chunker_init(&r->ch, r->mk.chunk, r->opt.chunk_min, r->opt.chunk_avg, r->opt.chunk_max);
    r->unlocked = 1;
    *out = r;
    return 0;
}

void repo_close(repo **rp)
{
    repo *r = *rp;
    if (!r)
        return;
    pool_free(&r->workers);
    pool_free(&r->writer);
    if (r->cctx) {
        for (unsigned i = 0; i < r->nworkers; i++)
            ZSTD_freeCCtx(r->cctx[i]);
        free(r->cctx);
    }
    for (unsigned i = 0; r->wplain && i < r->nworkers; i++)
        buf_free(&r->wplain[i]);
    free(r->wplain);
    if (r->cur) {
        pack_writer_free(&r->cur->w);
        free(r->cur);
    }
    for (size_t i = 0; i < r->nspare; i++)
        free(r->spare[i]);
    free(r->spare);
    for (size_t i = 0; i < r->nunsaved; i++)
        free((void *)r->unsaved[i].entries);
    free(r->unsaved);
    idx_free(&r->index);
    idx_free(&r->pending);
    free(r->index_files);
    free(r->needed);
    store_free(&r->st);
    crypto_wipe(&r->mk, sizeof r->mk);
    pthread_mutex_destroy(&r->mu);
    free(r);
    *rp = NULL;
}

/* ---- sealed objects ----------------------------------------------------------- */

const char *repo_object_dir(int type)
{
    switch (type) {
    case OBJ_SNAPSHOT: return "snapshots";
    case OBJ_INDEX: return "index";
    case OBJ_LOCK: return "locks";
    case OBJ_AUDIT: return "audit";
    case OBJ_HOLD: return "holds";
    default: return "unknown";
    }
}

static void object_name(int type, const uint8_t id[32], char *out, size_t cap)
{
    char hex[65];
    text_hex(id, 32, hex);
    snprintf(out, cap, "%s/%s", repo_object_dir(type), hex);
}

static void object_aad(int type, const uint8_t id[32], uint8_t aad[33])
{
    aad[0] = (uint8_t)type;
    memcpy(aad + 1, id, 32);
}

/* A pause point for the fault-injection tests (tests/system/test_faults.sh): with
 * LIFELINE_TEST_PAUSE set to the point's name the process stops itself (SIGSTOP), once,
 * so that a test can act while it is frozen as a suspended machine would be, then
 * resume it. Nothing else reads that variable: unset, this does nothing. */
static void test_pause(const char *point)
{
    static int paused;
    const char *want = getenv("LIFELINE_TEST_PAUSE");
    if (want && !strcmp(want, point) && !__atomic_exchange_n(&paused, 1, __ATOMIC_SEQ_CST))
        raise(SIGSTOP);
}

static int pack_present(repo *r, const uint8_t pack_id[32], const char *what)
{
    char name[128];
    uint64_t size;
    repo_pack_name(pack_id, name, sizeof name);
    int rc = store_size(r->st, name, &size);
    if (rc == ERR_NOTFOUND) {
        err_set(ERR_DAMAGED, "pack %s, which this %s needs, is gone from %s", name, what, repo_location(r));
        err_hint("was it removed by a prune while this process was stopped? nothing was saved: run it again");
    }
    return rc;
}

/* Just before an index file or a snapshot is written: the writer's lock still stands
 * unchanged (lock.c's guard) and every pack the object depends on is there. A writer
 * stopped longer than the stale-lock age may have lost both to a prune; it must then
 * fail instead of naming packs that are gone. For an index the caller holds mu; a
 * snapshot is saved after repo_flush, when no worker runs. */
static int commit_check(repo *r, int type)
{
    const char *what = type == OBJ_INDEX ? "index file" : "snapshot";
    test_pause(type == OBJ_INDEX ? "before-index" : "before-snapshot");
    int rc = r->guard ? r->guard(r->guard_ctx) : 0;
    for (size_t i = 0; !rc && type == OBJ_INDEX && i < r->nunsaved; i++)
        rc = pack_present(r, r->unsaved[i].pack_id, what);
    for (size_t p = 0; !rc && type == OBJ_SNAPSHOT && p < r->needed_cap; p++)
        if (r->needed[p])
            rc = pack_present(r, idx_pack_id(r->index, (uint32_t)p), what);
    return rc ? err_wrap("%s not saved", what) : 0;
}

/* Called with mu held (or no worker running). */
static void mark_needed(repo *r, uint32_t pack_no)
{
    if (pack_no >= r->needed_cap) {
        size_t cap = (pack_no + 1) * 2;
        uint8_t *p = realloc(r->needed, cap);
        if (!p)
            return; /* only the check before the snapshot loses this pack */
        memset(p + r->needed_cap, 0, cap - r->needed_cap);
        r->needed = p;
        r->needed_cap = cap;
    }
    r->needed[pack_no] = 1;
}

int repo_object_save(repo *r, int type, const uint8_t id[32], const void *data, size_t len, int exclusive)
{
    char name[128];
    uint8_t aad[33];
    buf sealed;
    if (type == OBJ_INDEX || type == OBJ_SNAPSHOT) {
        int rc = commit_check(r, type);
        if (rc)
            return rc;
    }
    buf_init(&sealed, 0);
    object_aad(type, id, aad);
    object_name(type, id, name, sizeof name);
    int rc = crypto_seal(r->mk.enc, aad, sizeof aad, data, len, &sealed);
    if (!rc)
        rc = store_put(r->st, name, sealed.data, sealed.len, exclusive);
    buf_free(&sealed);
    return rc;
}

int repo_object_load(repo *r, int type, const uint8_t id[32], buf *out)
{
    char name[128];
    uint8_t aad[33];
    buf sealed;
    buf_init(&sealed, 0);
    object_aad(type, id, aad);
    object_name(type, id, name, sizeof name);
    int rc = store_get(r->st, name, &sealed, REPO_MAX_OBJECT);
    buf_reset(out);
    if (!rc && (rc = crypto_open(r->mk.enc, aad, sizeof aad, sealed.data, sealed.len, out)))
        err_set(rc, "%s is damaged: it does not authenticate", name);
    buf_free(&sealed);
    return rc;
}

static void named_aad(int type, const char *name, uint8_t aad[33])
{
    aad[0] = (uint8_t)type;
    crypto_sha256(name, strlen(name), aad + 1);
}

int repo_named_save(repo *r, int type, const char *name, const void *data, size_t len, int exclusive)
{
    uint8_t aad[33];
    buf plain, sealed;
    buf_init(&plain, 0);
    buf_init(&sealed, 0);
    named_aad(type, name, aad);
    size_t bound = ZSTD_compressBound(len);
    int rc = buf_reserve(&plain, bound + 1);
    if (!rc) {
        size_t n = ZSTD_compress(plain.data + 1, bound, data, len, r->opt.zstd_level);
        if (!ZSTD_isError(n) && n < len) {
            plain.data[0] = 1;
            plain.len = n + 1;
        } else {
            plain.data[0] = 0;
            memcpy(plain.data + 1, data, len);
            plain.len = len + 1;
        }
        rc = crypto_seal(r->mk.enc, aad, sizeof aad, plain.data, plain.len, &sealed);
    }
    if (!rc)
        rc = store_put(r->st, name, sealed.data, sealed.len, exclusive);
    buf_free(&plain);
    buf_free(&sealed);
    return rc;
}

int repo_named_load(repo *r, int type, const char *name, buf *out)
{
    uint8_t aad[33];
    buf sealed, plain;
    buf_init(&sealed, 0);
    buf_init(&plain, 0);
    named_aad(type, name, aad);
    buf_reset(out);
    int rc = store_get(r->st, name, &sealed, REPO_MAX_OBJECT);
    if (!rc && crypto_open(r->mk.enc, aad, sizeof aad, sealed.data, sealed.len, &plain) != 0)
        rc = err_set(ERR_DAMAGED, "%s is damaged: it does not authenticate", name);
    if (!rc && plain.len >= 1 && plain.data[0] == 0) {
        rc = buf_append(out, plain.data + 1, plain.len - 1);
    } else if (!rc && plain.len >= 1 && plain.data[0] == 1) {
        unsigned long long size = ZSTD_getFrameContentSize(plain.data + 1, plain.len - 1);
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > REPO_MAX_OBJECT)
            rc = err_set(ERR_DAMAGED, "%s: bad compressed frame", name);
        else if (!(rc = buf_reserve(out, (size_t)size + 1))) {
            size_t n = ZSTD_decompress(out->data, (size_t)size + 1, plain.data + 1, plain.len - 1);
            if (ZSTD_isError(n) || n != size)
                rc = err_set(ERR_DAMAGED, "%s does not decompress", name);
            else
                out->len = n;
        }
    } else if (!rc) {
        rc = err_set(ERR_DAMAGED, "%s: unknown encoding", name);
    }
    buf_free(&sealed);
    buf_free(&plain);
    return rc;
}

int repo_object_remove(repo *r, int type, const uint8_t id[32])
{
    char name[128];
    object_name(type, id, name, sizeof name);
    return store_remove(r->st, name);
}

typedef struct list_ctx {
    repo_object_fn fn;
    void *ctx;
} list_ctx;

static int list_one(const char *name, uint64_t size, void *vctx)
{
    (void)size;
    list_ctx *l = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    uint8_t id[32];
    if (text_unhex(base, id, 32) != 0)
        return 0; /* not ours: ignore stray files */
    return l->fn(id, l->ctx);
}

int repo_object_list(repo *r, int type, repo_object_fn fn, void *ctx)
{
    list_ctx l = {fn, ctx};
    return store_list(r->st, repo_object_dir(type), list_one, &l);
}

/* ---- index --------------------------------------------------------------------- */

void repo_pack_name(const uint8_t pack_id[32], char *out, size_t cap)
{
    char hex[65];
    text_hex(pack_id, 32, hex);
    snprintf(out, cap, "data/%.2s/%s", hex, hex);
}

static int add_index_entry(const uint8_t pack_id[32], const pack_entry *e, void *ctx)
{
    idx *x = ctx;
    uint32_t no;
    int rc = idx_pack_number(x, pack_id, &no);
    return rc ? rc : idx_add(x, e->type, e->id, no, e->offset, e->length, e->raw_len);
}

static int remember_index_file(repo *r, const uint8_t id[32])
{
    void *p = realloc(r->index_files, (r->nindex_files + 1) * 32);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    r->index_files = p;
    memcpy(r->index_files[r->nindex_files++], id, 32);
    return 0;
}

int repo_pack_header(repo *r, const uint8_t pack_id[32], const buf *whole, pack_entry **e, size_t *n)
{
    char name[128];
    uint8_t aad[33];
    uint64_t size = whole ? whole->len : 0;
    uint32_t hl = 0;
    buf part, plain;
    buf_init(&part, 0);
    buf_init(&plain, 0);
    repo_pack_name(pack_id, name, sizeof name);
    pack_header_aad(pack_id, aad);
    int rc = whole ? 0 : store_size(r->st, name, &size);
    if (!rc && size < PACK_TRAILER_LEN)
        rc = err_set(ERR_DAMAGED, "pack is only %llu bytes", (unsigned long long)size);
    const uint8_t *trailer = whole ? whole->data + size - PACK_TRAILER_LEN : NULL;
    if (!rc && !whole && !(rc = store_get_range(r->st, name, size - PACK_TRAILER_LEN, PACK_TRAILER_LEN, &part, 0)))
        trailer = part.data;
    if (!rc)
        rc = pack_trailer_decode(trailer, size, &hl);
    uint64_t hoff = size - PACK_TRAILER_LEN - hl;
    const uint8_t *sealed = whole ? whole->data + hoff : NULL;
    if (!rc && !whole && !(rc = store_get_range(r->st, name, hoff, hl, &part, 0)))
        sealed = part.data;
    if (!rc && crypto_open(r->mk.enc, aad, sizeof aad, sealed, hl, &plain) != 0)
        rc = err_set(ERR_DAMAGED, "pack header does not authenticate");
    if (!rc)
        rc = pack_header_decode(plain.data, plain.len, hoff, e, n);
    buf_free(&part);
    buf_free(&plain);
    return rc;
}

static int load_index_file(const uint8_t id[32], void *ctx)
{
    repo *r = ctx;
    buf plain;
    buf_init(&plain, 0);
    int rc = repo_object_load(r, OBJ_INDEX, id, &plain);
    if (!rc && (rc = idx_file_decode(plain.data, plain.len, add_index_entry, r->index))) {
        char hex[65];
        text_hex(id, 32, hex);
        err_wrap("index/%s", hex);
    }
    buf_free(&plain);
    if (rc == ERR_DAMAGED) { /* the pack headers will stand in for it */
        LOG_WARN("%s; reading pack headers instead", err_msg());
        err_clear();
        r->index_damaged = 1;
        rc = 0;
    }
    /* remembered even when damaged: prune replaces every index file it read */
    return rc ? rc : remember_index_file(r, id);
}

/* For packs no readable index file names: their own headers. */
static int index_from_header(const char *name, uint64_t size, void *ctx)
{
    repo *r = ctx;
    const char *base = strrchr(name, '/') + 1;
    uint8_t id[32];
    uint32_t no;
    pack_entry *e = NULL;
    size_t n = 0;
    (void)size;
    if (text_unhex(base, id, 32) != 0 || idx_pack_lookup(r->index, id, &no))
        return 0;
    if (repo_pack_header(r, id, NULL, &e, &n) != 0) {
        LOG_WARN("%s: %s", name, err_msg());
        err_clear();
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = add_index_entry(id, &e[i], r->index);
    free(e);
    return rc;
}

int repo_index_damaged(const repo *r) { return r->index_damaged; }

int repo_index_load(repo *r)
{
    int rc = repo_object_list(r, OBJ_INDEX, load_index_file, r);
    if (!rc && r->index_damaged) {
        rc = store_list(r->st, "data", index_from_header, r);
        LOG_WARN("run 'lifeline check' to see the damage; 'lifeline prune' writes a new index");
    }
    return rc;
}

size_t repo_index_files(const repo *r, const uint8_t (**ids)[32])
{
    *ids = (const uint8_t(*)[32])r->index_files;
    return r->nindex_files;
}

/* ---- blobs ---------------------------------------------------------------------- */

void repo_blob_id(const repo *r, const void *data, size_t len, uint8_t id[32])
{
    crypto_hmac(r->mk.id, data, len, id);
}

static void blob_aad(uint8_t type, const uint8_t id[32], uint8_t aad[33])
{
    aad[0] = type == BLOB_TREE ? 'T' : 'D';
    memcpy(aad + 1, id, 32);
}

/* Called with mu held; writes the index of packs written since the last one. */
static int write_unsaved_index(repo *r)
{
    if (!r->nunsaved)
        return 0;
    /* the barrier: every pack this index names is durable before the index exists */
    int rc = 0;
    char name[128], dir[16], done[256] = {0};
    for (size_t i = 0; !rc && i < r->nunsaved; i++) {
        repo_pack_name(r->unsaved[i].pack_id, name, sizeof name);
        rc = store_sync(r->st, name);
        unsigned slot = r->unsaved[i].pack_id[0];
        if (!rc && !done[slot]) {
            snprintf(dir, sizeof dir, "%.7s", name); /* "data/xx" */
            rc = store_sync_dir(r->st, dir);
            done[slot] = 1;
        }
    }
    if (rc)
        return rc;
    buf plain;
    uint8_t id[32];
    buf_init(&plain, 0);
    rc = idx_file_encode(r->unsaved, r->nunsaved, &plain);
    if (!rc)
        rc = crypto_random(id, 32);
    if (!rc)
        rc = repo_object_save(r, OBJ_INDEX, id, plain.data, plain.len, 1);
    if (!rc)
        rc = remember_index_file(r, id);
    buf_free(&plain);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->nunsaved; i++)
        free((void *)r->unsaved[i].entries);
    r->nunsaved = 0;
    return 0;
}

/* Writes a finished pack (outside mu), then records its entries (inside mu). */
static int write_pack(repo *r, pack_writer *w)
{
    uint8_t pack_id[32];
    char name[128];
    const buf *bytes;
    int rc = crypto_random(pack_id, 32);
    if (!rc)
        rc = pack_writer_finish(w, r->mk.enc, pack_id, &bytes);
    repo_pack_name(pack_id, name, sizeof name);
    /* durable later, at the barrier before the index that names it */
    if (!rc)
        rc = store_put_nosync(r->st, name, bytes->data, bytes->len);
    if (rc)
        return rc;
    size_t n = pack_writer_count(w);
    pack_entry *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        return err_set(ERR_FATAL, "out of memory");
    memcpy(copy, pack_writer_entries(w), n * sizeof *copy);
    pthread_mutex_lock(&r->mu);
    uint32_t no;
    rc = idx_pack_number(r->index, pack_id, &no);
    if (!rc)
        mark_needed(r, no);
    for (size_t i = 0; !rc && i < n; i++)
        rc = idx_add(r->index, copy[i].type, copy[i].id, no, copy[i].offset, copy[i].length, copy[i].raw_len);
    if (!rc && r->nunsaved == r->unsaved_cap) {
        size_t nc = r->unsaved_cap ? r->unsaved_cap * 2 : 16;
        void *p = realloc(r->unsaved, nc * sizeof *r->unsaved);
        if (!p)
            rc = err_set(ERR_FATAL, "out of memory");
        else {
            r->unsaved = p;
            r->unsaved_cap = nc;
        }
    }
    if (!rc) {
        memcpy(r->unsaved[r->nunsaved].pack_id, pack_id, 32);
        r->unsaved[r->nunsaved].entries = copy;
        r->unsaved[r->nunsaved].n = n;
        r->nunsaved++;
        copy = NULL;
        r->stats.packs_written++;
        if (r->nunsaved >= UNSAVED_PACKS_MAX)
            rc = write_unsaved_index(r);
    }
    pthread_mutex_unlock(&r->mu);
    free(copy);
    return rc;
}

typedef struct pack_job {
    repo *r;
    pack_writer *w;
} pack_job;

static int pack_job_run(void *arg, unsigned worker)
{
    pack_job *j = arg;
    (void)worker;
    int rc = write_pack(j->r, j->w);
    pack_writer_free(&j->w);
    free(j);
    return rc;
}

/* Queues a full pack for the writer thread (blocking while one is already queued,
 * which bounds memory to a few packs). */
static int queue_pack(repo *r, pack_writer *w)
{
    pack_job *j = malloc(sizeof *j);
    int rc = j ? 0 : err_set(ERR_FATAL, "out of memory");
    if (!rc && !r->writer)
        rc = pool_new(1, 2, &r->writer);
    if (!rc) {
        *j = (pack_job){r, w};
        rc = pool_submit(r->writer, pack_job_run, j);
    }
    if (rc) {
        free(j);
        pack_writer_free(&w);
    }
    return rc;
}

/* A blob too large for the slack of a shared pack (a tree of a huge folder can exceed
 * any chunk) gets a pack of its own, detached from the start. */
static int solo_reserve(repo *r, uint8_t type, const uint8_t id[32], size_t len, uint32_t raw_len, open_pack **op,
                        uint8_t **dst)
{
    open_pack *solo = calloc(1, sizeof *solo);
    if (!solo || !(solo->w = pack_writer_new_sized(len + 64))) {
        free(solo);
        return err_set(ERR_FATAL, "out of memory for a %zu-byte blob", len);
    }
    int rc = pack_writer_reserve(solo->w, type, id, len, raw_len, dst);
    if (rc) {
        pack_writer_free(&solo->w);
        free(solo);
        return rc;
    }
    solo->inflight = 1;
    solo->detached = 1;
    pthread_mutex_lock(&r->mu);
    r->stats.blobs_added++;
    r->stats.bytes_added_raw += raw_len;
    r->stats.bytes_added_stored += len;
    pthread_mutex_unlock(&r->mu);
    *op = solo;
    return 0;
}

static int pack_reserve(repo *r, uint8_t type, const uint8_t id[32], size_t len, uint32_t raw_len, open_pack **op,
                        uint8_t **dst)
{
    int rc = 0;
    if (len > (size_t)r->opt.chunk_max + 512)
        return solo_reserve(r, type, id, len, raw_len, op, dst);
    pthread_mutex_lock(&r->mu);
    if (!r->cur && (r->cur = calloc(1, sizeof *r->cur)) &&
        /* room for a full pack plus the largest blob: the buffer never moves while filled */
        !(r->cur->w = pack_writer_new_sized(r->opt.pack_size + r->opt.chunk_max + 1024))) {
        free(r->cur);
        r->cur = NULL;
    }
    if (!r->cur)
        rc = err_set(ERR_FATAL, "out of memory for a pack buffer");
    if (!rc)
        rc = pack_writer_reserve(r->cur->w, type, id, len, raw_len, dst);
    if (!rc) {
        *op = r->cur;
        r->cur->inflight++;
        r->stats.blobs_added++;
        r->stats.bytes_added_raw += raw_len;
        r->stats.bytes_added_stored += len;
        if (pack_writer_size(r->cur->w) >= r->opt.pack_size) {
            r->cur->detached = 1;
            r->cur = NULL;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Marks a reserved region filled; the last filler of a detached pack queues it. */
static int pack_release(repo *r, open_pack *op)
{
    pthread_mutex_lock(&r->mu);
    int ready = --op->inflight == 0 && op->detached;
    pthread_mutex_unlock(&r->mu);
    if (!ready)
        return 0;
    pack_writer *w = op->w;
    free(op);
    return queue_pack(r, w);
}

/* Adds an already sealed blob (prune's repack copies them as they are). */
static int pack_add(repo *r, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len,
                    uint32_t raw_len)
{
    open_pack *op;
    uint8_t *dst;
    int rc = pack_reserve(r, type, id, len, raw_len, &op, &dst);
    if (rc)
        return rc;
    memcpy(dst, sealed, len);
    return pack_release(r, op);
}

typedef struct blob_job {
    repo *r;
    uint8_t type;
    uint8_t id[32];
    size_t len;
    uint8_t *data;  /* owned: a recycled chunk buffer, or inline[] */
    int recycled;
    uint8_t inline_data[];
} blob_job;

/* At most this many spare buffers are kept; more are freed (bounds memory). */
#define SPARE_MAX 16

uint8_t *repo_chunk_buffer_get(repo *r)
{
    uint8_t *b = NULL;
    pthread_mutex_lock(&r->mu);
    if (r->nspare)
        b = r->spare[--r->nspare];
    pthread_mutex_unlock(&r->mu);
    return b ? b : malloc(r->ch.max);
}

void repo_chunk_buffer_put(repo *r, uint8_t *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->nspare < SPARE_MAX && (r->spare || (r->spare = calloc(SPARE_MAX, sizeof *r->spare)))) {
        r->spare[r->nspare++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    free(b);
}

static void blob_job_free(blob_job *j)
{
    if (j->recycled)
        repo_chunk_buffer_put(j->r, j->data);
    free(j);
}

static int blob_job_run(void *arg, unsigned worker)
{
    blob_job *j = arg;
    repo *r = j->r;
    buf *plain = &r->wplain[worker];
    uint8_t aad[33], *dst, raw_flag = 0;
    open_pack *op;
    buf_reset(plain);
    size_t bound = ZSTD_compressBound(j->len);
    int rc = buf_reserve(plain, bound + 1);
    if (!rc) {
        size_t n = ZSTD_compressCCtx(r->cctx[worker], plain->data + 1, bound, j->data, j->len, r->opt.zstd_level);
        int shrunk = !ZSTD_isError(n) && n < j->len;
        /* stored raw when compression does not shrink it: the flag byte and the
         * data are sealed as two parts, so the data is not copied first */
        const void *p1 = shrunk ? (const void *)plain->data : (const void *)&raw_flag;
        size_t l1 = shrunk ? n + 1 : 1;
        const void *p2 = shrunk ? NULL : j->data;
        size_t l2 = shrunk ? 0 : j->len;
        plain->data[0] = 1;
        blob_aad(j->type, j->id, aad);
        if (!(rc = pack_reserve(r, j->type, j->id, l1 + l2 + CRYPTO_OVERHEAD, (uint32_t)j->len, &op, &dst))) {
            rc = crypto_seal_into(r->mk.enc, aad, sizeof aad, p1, l1, p2, l2, dst);
            int rrc = pack_release(r, op);
            rc = rc ? rc : rrc;
        }
    }
    blob_job_free(j);
    return rc;
}

static int start_workers(repo *r)
{
    r->cctx = calloc(r->nworkers, sizeof *r->cctx);
    r->wplain = calloc(r->nworkers, sizeof *r->wplain);
    if (!r->cctx || !r->wplain)
        return err_set(ERR_FATAL, "out of memory");
    for (unsigned i = 0; i < r->nworkers; i++)
        buf_init(&r->wplain[i], 0);
    for (unsigned i = 0; i < r->nworkers; i++)
        if (!(r->cctx[i] = ZSTD_createCCtx()))
            return err_set(ERR_FATAL, "out of memory");
    /* Two jobs in flight per worker keeps them busy and bounds memory to a few max-size chunks. */
    return pool_new(r->nworkers, (size_t)r->nworkers * 2, &r->workers);
}

/* Is the blob stored? A yes means a snapshot will lean on its pack: remember it for
 * the check before the snapshot is saved. Called with mu held. */
static int index_has(repo *r, uint8_t type, const uint8_t id[32])
{
    const idx_entry *e = idx_find(r->index, type, id);
    if (e)
        mark_needed(r, IDX_PACK(e));
    return e != NULL;
}

/* Claims id for writing: 1 when the caller must queue it, 0 when it is known. */
static int claim(repo *r, uint8_t type, const uint8_t id[32], int *rc)
{
    pthread_mutex_lock(&r->mu);
    int known = index_has(r, type, id) || idx_find(r->pending, type, id);
    if (!known)
        *rc = idx_add(r->pending, type, id, 0, 0, 0, 0);
    pthread_mutex_unlock(&r->mu);
    return !known;
}

static int submit(repo *r, blob_job *j)
{
    int rc = r->workers ? 0 : start_workers(r);
    if (!rc)
        rc = pool_submit(r->workers, blob_job_run, j);
    if (rc)
        blob_job_free(j);
    return rc;
}

int repo_blob_save(repo *r, uint8_t type, const void *data, size_t len, const uint8_t id[32], int *added)
{
    int rc = 0;
    if (len > UINT32_MAX - 64)
        return err_set(ERR_FATAL, "blob of %zu bytes is too large", len);
    if (!(*added = claim(r, type, id, &rc)) || rc)
        return rc;
    blob_job *j = malloc(sizeof *j + len);
    if (!j)
        return err_set(ERR_FATAL, "out of memory");
    *j = (blob_job){.r = r, .type = type, .len = len, .data = j->inline_data};
    memcpy(j->id, id, 32);
    memcpy(j->inline_data, data, len);
    return submit(r, j);
}

int repo_blob_save_owned(repo *r, uint8_t type, uint8_t *data, size_t len, const uint8_t id[32], int *added)
{
    int rc = 0;
    if (!(*added = claim(r, type, id, &rc)) || rc) {
        repo_chunk_buffer_put(r, data);
        return rc;
    }
    blob_job *j = malloc(sizeof *j);
    if (!j) {
        repo_chunk_buffer_put(r, data);
        return err_set(ERR_FATAL, "out of memory");
    }
    *j = (blob_job){.r = r, .type = type, .len = len, .data = data, .recycled = 1};
    memcpy(j->id, id, 32);
    return submit(r, j);
}

int repo_blob_known(repo *r, uint8_t type, const uint8_t id[32])
{
    pthread_mutex_lock(&r->mu);
    int known = index_has(r, type, id) || idx_find(r->pending, type, id);
    pthread_mutex_unlock(&r->mu);
    return known;
}

int repo_blob_copy(repo *r, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len, uint32_t raw_len)
{
    return pack_add(r, type, id, sealed, len, raw_len);
}

int repo_flush(repo *r)
{
    int rc = r->workers ? pool_wait(r->workers) : 0;
    if (!rc && r->cur) { /* workers are idle: no reservation is open */
        open_pack *op = r->cur;
        r->cur = NULL;
        if (pack_writer_count(op->w))
            rc = queue_pack(r, op->w);
        else
            pack_writer_free(&op->w);
        free(op);
    }
    if (r->writer) { /* every pack durable before the index that names them */
        int wrc = pool_wait(r->writer);
        rc = rc ? rc : wrc;
    }
    if (!rc) {
        pthread_mutex_lock(&r->mu);
        rc = write_unsaved_index(r);
        pthread_mutex_unlock(&r->mu);
    }
    if (!rc) {
        idx_free(&r->pending);
        r->pending = idx_new();
        if (!r->pending)
            rc = err_set(ERR_FATAL, "out of memory");
    }
    return rc;
}

void blob_reader_init(blob_reader *br)
{
    buf_init(&br->sealed, 0);
    buf_init(&br->plain, 0);
}

void blob_reader_free(blob_reader *br)
{
    buf_free(&br->sealed);
    buf_free(&br->plain);
}

int repo_blob_decode(repo *r, blob_reader *br, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len,
                     uint32_t raw_len, buf *out, int verify)
{
    uint8_t aad[33];
    buf *plain = &br->plain;
    blob_aad(type, id, aad);
    buf_reset(out);
    buf_reset(plain);
    int rc = crypto_open(r->mk.enc, aad, sizeof aad, sealed, len, plain);
    if (!rc && plain->len < 1)
        rc = err_set(ERR_DAMAGED, "empty blob");
    if (!rc && plain->data[0] == 0) {
        if (plain->len - 1 != raw_len)
            rc = err_set(ERR_DAMAGED, "blob length %zu differs from the recorded %u", plain->len - 1, raw_len);
        else
            rc = buf_append(out, plain->data + 1, plain->len - 1);
    } else if (!rc && plain->data[0] == 1) {
        rc = buf_reserve(out, (size_t)raw_len + 1);
        if (!rc) {
            size_t n = ZSTD_decompress(out->data, (size_t)raw_len + 1, plain->data + 1, plain->len - 1);
            if (ZSTD_isError(n) || n != raw_len)
                rc = err_set(ERR_DAMAGED, "blob does not decompress to its recorded length");
            else
                out->len = n;
        }
    } else if (!rc) {
        rc = err_set(ERR_DAMAGED, "unknown blob encoding %u", plain->data[0]);
    }
    if (!rc && verify) {
        uint8_t got[32];
        repo_blob_id(r, out->data, out->len, got);
        if (!crypto_equal(got, id, 32))
            rc = err_set(ERR_DAMAGED, "blob content does not match its id");
    }
    return rc;
}

int repo_blob_open(repo *r, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len,
                   uint32_t raw_len, buf *out, int verify)
{
    blob_reader br;
    blob_reader_init(&br);
    int rc = repo_blob_decode(r, &br, type, id, sealed, len, raw_len, out, verify);
    blob_reader_free(&br);
    return rc;
}

int repo_blob_read(repo *r, blob_reader *br, uint8_t type, const uint8_t id[32], buf *out, int verify)
{
    char hex[65], name[128];
    text_hex(id, 32, hex);
    pthread_mutex_lock(&r->mu);
    const idx_entry *e = idx_find(r->index, type, id);
    idx_entry copy;
    if (e) {
        copy = *e;
        repo_pack_name(idx_pack_id(r->index, IDX_PACK(e)), name, sizeof name);
    }
    pthread_mutex_unlock(&r->mu);
    if (!e)
        return err_set(ERR_DAMAGED, "%s blob %.16s is not in the index", type == BLOB_TREE ? "tree" : "data", hex);
    int rc = store_get_range(r->st, name, copy.offset, copy.length, &br->sealed, 0);
    if (rc == ERR_NOTFOUND) /* the index names it: a missing pack is damage, as a bad one is */
        return err_set(ERR_DAMAGED, "%s blob %.16s: its pack %s is missing", type == BLOB_TREE ? "tree" : "data", hex,
                       name);
    if (!rc)
        rc = repo_blob_decode(r, br, type, id, br->sealed.data, br->sealed.len, copy.raw_len, out, verify);
    if (rc)
        err_wrap("%s blob %.16s in pack %s", type == BLOB_TREE ? "tree" : "data", hex, name);
    return rc;
}

int repo_blob_locate(repo *r, uint8_t type, const uint8_t id[32], repo_blob_loc *loc)
{
    pthread_mutex_lock(&r->mu);
    const idx_entry *e = idx_find(r->index, type, id);
    if (e)
        *loc = (repo_blob_loc){IDX_PACK(e), e->offset, e->length, e->raw_len};
    pthread_mutex_unlock(&r->mu);
    if (e)
        return 0;
    char hex[65];
    text_hex(id, 32, hex);
    return err_set(ERR_DAMAGED, "%s blob %.16s is not in the index", type == BLOB_TREE ? "tree" : "data", hex);
}

int repo_pack_read(repo *r, uint32_t pack, uint64_t off, size_t len, buf *out, int once)
{
    char name[128];
    pthread_mutex_lock(&r->mu);
    const uint8_t *pid = idx_pack_id(r->index, pack);
    if (pid)
        repo_pack_name(pid, name, sizeof name);
    pthread_mutex_unlock(&r->mu);
    if (!pid)
        return err_set(ERR_DAMAGED, "pack number %u is not in the index", pack);
    int rc = store_get_range(r->st, name, off, len, out, once ? STORE_ONCE : 0);
    if (rc == ERR_NOTFOUND)
        return err_set(ERR_DAMAGED, "pack %s is missing", name);
    return rc;
}

int repo_blob_load(repo *r, uint8_t type, const uint8_t id[32], buf *out, int verify)
{
    blob_reader br;
    blob_reader_init(&br);
    int rc = repo_blob_read(r, &br, type, id, out, verify);
    blob_reader_free(&br);
    return rc;
}

void repo_write_stats_get(repo *r, repo_write_stats *s)
{
    pthread_mutex_lock(&r->mu);
    *s = r->stats;
    pthread_mutex_unlock(&r->mu);
}
