/* idx — the in-memory blob index (id -> pack, offset, length) and the codec of
 * index files. Entries live in one dense array; an open-addressing table of
 * 32-bit slots finds them: 48 + 5..11 bytes per blob. */
#ifndef LL_IDX_H
#define LL_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "pack.h"

typedef struct idx idx;

typedef struct idx_entry {
    uint8_t id[32];
    uint32_t pack; /* bit 31: blob type (tree); low 31 bits: pack number */
    uint32_t offset;
    uint32_t length;
    uint32_t raw_len;
} idx_entry;

#define IDX_TYPE(e) ((uint8_t)((e)->pack >> 31))
#define IDX_PACK(e) ((e)->pack & 0x7fffffffu)

idx *idx_new(void);
void idx_free(idx **x);
/* Pack numbers are small integers standing for 32-byte pack ids. */
int idx_pack_number(idx *x, const uint8_t pack_id[32], uint32_t *no) WUR;
const uint8_t *idx_pack_id(const idx *x, uint32_t no);
/* Looks a pack up without adding it: 1 found, 0 not. */
int idx_pack_lookup(const idx *x, const uint8_t pack_id[32], uint32_t *no);
/* Entry positions grouped by pack: entries of pack p are order[start[p]..start[p+1]).
 * Caller frees both. */
int idx_group_by_pack(const idx *x, uint32_t **start, uint32_t **order) WUR;
size_t idx_pack_count(const idx *x);
/* Adds an entry; a blob already present keeps its first location (returns 0). */
int idx_add(idx *x, uint8_t type, const uint8_t id[32], uint32_t pack_no, uint32_t offset, uint32_t length,
            uint32_t raw_len) WUR;
const idx_entry *idx_find(const idx *x, uint8_t type, const uint8_t id[32]);
/* Like idx_find, giving the entry's position in [0, idx_count) for parallel arrays
 * such as "used" bits. Returns 1 found, 0 not. */
int idx_find_pos(const idx *x, uint8_t type, const uint8_t id[32], size_t *pos);
size_t idx_count(const idx *x);
const idx_entry *idx_at(const idx *x, size_t i);
size_t idx_memory(const idx *x);

/* Index file plaintext. The encoder takes packs as (pack_id, entries) groups. */
typedef struct idx_file_pack {
    uint8_t pack_id[32];
    const pack_entry *entries;
    size_t n;
} idx_file_pack;

#define IDX_FILE_VERSION 1

int idx_file_encode(const idx_file_pack *packs, size_t npacks, buf *out) WUR;
/* Calls fn for every entry; ERR_DAMAGED on malformed input (fuzzed). */
typedef int (*idx_file_fn)(const uint8_t pack_id[32], const pack_entry *e, void *ctx);
int idx_file_decode(const uint8_t *p, size_t len, idx_file_fn fn, void *ctx) WUR;

#endif
