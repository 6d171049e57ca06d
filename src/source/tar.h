/* tar — a push parser for tar streams (ustar, with GNU long names and pax path /
 * linkpath / size records), fed bytes as they arrive from the network so that no
 * archive is ever kept whole. What PostgreSQL's BASE_BACKUP sends is ustar; the
 * rest is accepted because other producers use it. The input is hostile: every
 * header is checksummed and bounded (fuzzed). */
#ifndef LL_TAR_H
#define LL_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

#define TAR_MAX_PATH 4096

typedef struct tar_entry {
    char path[TAR_MAX_PATH];  /* as in the archive, without a leading "./" or trailing "/" */
    char link[TAR_MAX_PATH];  /* symlink / hard link target */
    char type;                /* '0' file, '1' hard link, '2' symlink, '3' chr, '4' blk, '5' dir, '6' fifo */
    uint32_t mode, uid, gid, devmajor, devminor;
    int64_t mtime;
    uint64_t size;
} tar_entry;

typedef struct tar_callbacks {
    int (*entry)(void *ctx, const tar_entry *e);                  /* a header */
    int (*data)(void *ctx, const uint8_t *p, size_t len);         /* the current file's bytes */
    int (*entry_end)(void *ctx);                                  /* after the last byte */
    void *ctx;
} tar_callbacks;

typedef struct tar_parser tar_parser;

int tar_parser_new(const tar_callbacks *cb, tar_parser **out) WUR;
void tar_parser_free(tar_parser **p);
/* Feeds bytes; a callback's non-zero return stops parsing and is returned.
 * ERR_DAMAGED on a malformed header. */
int tar_parser_feed(tar_parser *p, const uint8_t *data, size_t len) WUR;
/* The stream ended: ERR_DAMAGED when it stopped inside an entry. The end-of-archive
 * zero blocks are optional (PostgreSQL leaves them out). */
int tar_parser_finish(tar_parser *p) WUR;
/* Bytes consumed so far, for messages. */
uint64_t tar_parser_offset(const tar_parser *p);

#endif
