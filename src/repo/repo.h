/* repo — an open repository: its store, config, unlocked keys and blob index, and
 * the write path for blobs (id -> skip known -> compress -> seal -> pack) run on a
 * worker pool. Packs are written before the index that names them, and the index
 * before any snapshot that needs it: a crash at any point leaves a valid repository. */
#ifndef LL_REPO_H
#define LL_REPO_H

#include <stdint.h>

#include "../crypto/keyslot.h"
#include "../store/store.h"
#include "chunker.h"
#include "idx.h"

#define REPO_VERSION 1
/* snapshots, index files, locks, WAL files: a 64 MiB segment (WAL_MAX_FILE) that does
 * not compress is larger than that once sealed, hence the slack */
#define REPO_MAX_OBJECT ((64u << 20) + (1u << 20))

typedef struct repo repo;

/* Sealed object kinds: the letter is bound into every object's AAD. */
enum {
    OBJ_SNAPSHOT = 'S', OBJ_INDEX = 'I', OBJ_LOCK = 'L', OBJ_AUDIT = 'A', OBJ_HOLD = 'O', OBJ_WAL = 'W'
};

#define REPO_MAX_SLOTS 64

typedef struct repo_options {
    crypto_kdf_params kdf;
    uint32_t chunk_min, chunk_avg, chunk_max;
    uint32_t pack_size;
    int zstd_level;
    /* config "keys": the key slots there should be (authenticated with the config);
     * has_slots 0 for a config written before the list existed */
    int has_slots;
    size_t nslots;
    uint8_t slots[REPO_MAX_SLOTS][32];
} repo_options;

void repo_options_default(repo_options *o);

/* Creates a repository at path (an empty or missing folder) with one key slot. */
int repo_init(const char *path, const char *secret, size_t secret_len, keyslot_kind kind, const repo_options *o,
              repo **out) WUR;
/* Opens and reads the public config; the repository is still locked (no keys). */
int repo_open(const char *path, repo **out) WUR;
/* Tries every slot of the given kind; ERR_PASSWORD when none opens. */
int repo_unlock(repo *r, const char *secret, size_t secret_len, keyslot_kind kind) WUR;
/* Finishes pending writes (see repo_flush) is NOT implied: callers flush first. */
void repo_close(repo **r);

const char *repo_location(const repo *r);
const uint8_t *repo_id(const repo *r);
store *repo_store(repo *r);
const master_key *repo_keys(const repo *r);
const chunker *repo_chunker(const repo *r);
/* Slot id this session unlocked with. */
const uint8_t *repo_slot_id(const repo *r);
/* Number of worker threads used for blob writes (default: online cores). */
void repo_set_workers(repo *r, unsigned n);

/* fn(ctx) runs just before every index file and snapshot is written; a non-zero
 * return stops the write (lock.c checks that the writer's lock still stands). Before
 * a snapshot, every pack this session wrote or reuses a blob from must also exist. */
void repo_set_commit_guard(repo *r, int (*fn)(void *ctx), void *ctx);

/* Sealed objects in their own folders: "<dir>/<hex id>". */
const char *repo_object_dir(int type);
int repo_object_save(repo *r, int type, const uint8_t id[32], const void *data, size_t len, int exclusive) WUR;
int repo_object_load(repo *r, int type, const uint8_t id[32], buf *out) WUR;
int repo_object_remove(repo *r, int type, const uint8_t id[32]) WUR;
typedef int (*repo_object_fn)(const uint8_t id[32], void *ctx);
int repo_object_list(repo *r, int type, repo_object_fn fn, void *ctx) WUR;

/* Named objects ("wal/<source>/<segment>"): sealed, zstd-compressed, the AAD binding
 * type and name (SHA-256 of the name), so a file renamed to another segment fails
 * to authenticate. exclusive: an existing name is an error (errno EEXIST). */
int repo_named_save(repo *r, int type, const char *name, const void *data, size_t len, int exclusive) WUR;
/* ERR_NOTFOUND when absent, ERR_DAMAGED when it does not authenticate. */
int repo_named_load(repo *r, int type, const char *name, buf *out) WUR;

/* Key slots. */
int repo_key_add(repo *r, const char *secret, size_t len, keyslot_kind kind, const crypto_kdf_params *kdf,
                 uint8_t slot_id[32]) WUR;
int repo_key_remove(repo *r, const uint8_t slot_id[32]) WUR;
/* The config's list of key slots; 0 when the config has none (an older repository). */
int repo_slot_list(const repo *r, const uint8_t (**ids)[32], size_t *n);

/* Index: every index file read into memory. A damaged index file is reported as a
 * warning and the headers of the packs no readable index covers are read instead
 * (packs are self-describing), so one bad index file costs time, not data. */
int repo_index_load(repo *r) WUR;
/* Did repo_index_load have to read pack headers for a damaged index file? */
int repo_index_damaged(const repo *r);
/* Reads and authenticates a pack's header. whole: the pack already in memory, or
 * NULL to read just the trailer and header. */
int repo_pack_header(repo *r, const uint8_t pack_id[32], const buf *whole, pack_entry **e, size_t *n) WUR;
idx *repo_index(repo *r);
/* Names of the index files read, for prune. */
size_t repo_index_files(const repo *r, const uint8_t (**ids)[32]);
void repo_pack_name(const uint8_t pack_id[32], char *out, size_t cap);

/* Blobs. */
void repo_blob_id(const repo *r, const void *data, size_t len, uint8_t id[32]);
/* Queues the blob for writing unless already stored; *added says which. Copies data. */
int repo_blob_save(repo *r, uint8_t type, const void *data, size_t len, const uint8_t id[32], int *added) WUR;
/* Buffers of chunker-max bytes for the zero-copy path below, recycled so that
 * steady-state backups neither allocate nor fault in memory per chunk. */
uint8_t *repo_chunk_buffer_get(repo *r);
void repo_chunk_buffer_put(repo *r, uint8_t *b);
/* Like repo_blob_save, but takes ownership of data (from repo_chunk_buffer_get):
 * it is handed to a worker without copying and recycled afterwards. */
int repo_blob_save_owned(repo *r, uint8_t type, uint8_t *data, size_t len, const uint8_t id[32], int *added) WUR;
/* Is the blob stored (or queued)? Safe while workers write. */
int repo_blob_known(repo *r, uint8_t type, const uint8_t id[32]);
/* Scratch space for reading blobs, reused from blob to blob on hot paths (restore,
 * check) so that no buffer is allocated, faulted in and freed per blob. */
typedef struct blob_reader {
    buf sealed, plain;
} blob_reader;
void blob_reader_init(blob_reader *br);
void blob_reader_free(blob_reader *br);
/* ERR_DAMAGED when the blob is not indexed, fails authentication, or its pack is
 * missing: each is damage to the repository, never a local problem. */
int repo_blob_read(repo *r, blob_reader *br, uint8_t type, const uint8_t id[32], buf *out, int verify) WUR;
int repo_blob_decode(repo *r, blob_reader *br, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len,
                     uint32_t raw_len, buf *out, int verify) WUR;
/* Where a blob is stored, so that a reader of many small blobs (restore) can read
 * a run of them with one read of their pack and open each with repo_blob_decode.
 * pack is a number valid while the repository stays open. */
typedef struct repo_blob_loc {
    uint32_t pack, offset, length, raw_len;
} repo_blob_loc;
/* ERR_DAMAGED when the blob is not indexed (as repo_blob_read). */
int repo_blob_locate(repo *r, uint8_t type, const uint8_t id[32], repo_blob_loc *loc) WUR;
/* Bytes [off, off + len) of pack number pack; with once (bytes that will not be
 * read again soon), they are let go from the page cache after. ERR_DAMAGED when the
 * pack is missing or shorter. */
int repo_pack_read(repo *r, uint32_t pack, uint64_t off, size_t len, buf *out, int once) WUR;
/* Loads, authenticates and decompresses; with verify, also recomputes the id. */
int repo_blob_load(repo *r, uint8_t type, const uint8_t id[32], buf *out, int verify) WUR;
/* Decodes one sealed blob already read from a pack. */
int repo_blob_open(repo *r, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len,
                   uint32_t raw_len, buf *out, int verify) WUR;
/* Waits for queued blobs, writes the last pack and the index of all new packs. */
int repo_flush(repo *r) WUR;
/* Writes the given blobs (already sealed) into new packs, as prune's repack needs. */
int repo_blob_copy(repo *r, uint8_t type, const uint8_t id[32], const uint8_t *sealed, size_t len,
                   uint32_t raw_len) WUR;

typedef struct repo_write_stats {
    uint64_t blobs_added, bytes_added_raw, bytes_added_stored, packs_written;
} repo_write_stats;
void repo_write_stats_get(repo *r, repo_write_stats *s);

#endif
