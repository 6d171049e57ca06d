/* pack — pack files: many sealed blobs followed by a sealed header listing them,
 * then an 8-byte trailer (header length, magic). The header makes every pack
 * self-describing, so the index can always be rebuilt from packs alone. */
#ifndef LL_PACK_H
#define LL_PACK_H

#include <stdint.h>

#include "../core/buf.h"

enum { BLOB_DATA = 0, BLOB_TREE = 1 };

#define PACK_TRAILER_LEN 8
#define PACK_ENTRY_LEN 44
#define PACK_HEADER_VERSION 1
#define PACK_MAX_ENTRIES (1u << 20)

typedef struct pack_entry {
    uint8_t type;
    uint8_t id[32];
    uint32_t offset;  /* from the start of the pack file */
    uint32_t length;  /* sealed length */
    uint32_t raw_len; /* plaintext length after decompression */
} pack_entry;

typedef struct pack_writer pack_writer;

pack_writer *pack_writer_new(void);
/* A writer whose buffer never moves below capacity bytes, so that several threads can
 * fill reserved regions at once (see pack_writer_reserve). NULL when out of memory. */
pack_writer *pack_writer_new_sized(size_t capacity);
void pack_writer_free(pack_writer **w);
/* Appends one sealed blob; *offset receives its position in the pack. */
int pack_writer_add(pack_writer *w, uint8_t type, const uint8_t id[32], const void *sealed, size_t len,
                    uint32_t raw_len, uint32_t *offset) WUR;
/* Appends an entry of len bytes and gives the region to fill; ERR_FATAL when the
 * preallocated capacity would be exceeded. The caller fills it before finishing. */
int pack_writer_reserve(pack_writer *w, uint8_t type, const uint8_t id[32], size_t len, uint32_t raw_len,
                        uint8_t **dst) WUR;
size_t pack_writer_size(const pack_writer *w);
size_t pack_writer_count(const pack_writer *w);
const pack_entry *pack_writer_entries(const pack_writer *w);
/* Seals the header (AAD binds pack_id) and the trailer; *bytes is the whole file. */
int pack_writer_finish(pack_writer *w, const uint8_t key[32], const uint8_t pack_id[32], const buf **bytes) WUR;

/* Header plaintext codec (fuzzed). Decoding checks that entries tile [0, data_len). */
int pack_header_encode(const pack_entry *e, size_t n, buf *out) WUR;
int pack_header_decode(const uint8_t *p, size_t len, uint64_t data_len, pack_entry **out, size_t *n) WUR;
/* Splits a trailer: header length; ERR_DAMAGED on bad magic or impossible length. */
int pack_trailer_decode(const uint8_t t[PACK_TRAILER_LEN], uint64_t file_size, uint32_t *header_len) WUR;
void pack_header_aad(const uint8_t pack_id[32], uint8_t aad[33]);

#endif
