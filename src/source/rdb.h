/* rdb — a validating reader of Redis RDB files (versions 1..12), pulled from any
 * byte source: the replication socket during a backup, the repository during a
 * restore, memory in the fuzzer. It walks every record without keeping values
 * (a value of tens of MiB is skipped through, never held), passes each byte it
 * consumes to a sink (the blob stream), counts keys per database, and checks the
 * magic, the version and the trailing CRC-64. The input is hostile (fuzzed). */
#ifndef LL_RDB_H
#define LL_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

#define RDB_MAX_VERSION 12
#define RDB_MAX_DBS 1024

/* Fills buf with up to cap bytes; *got = 0 at the end of the input. */
typedef int (*rdb_read_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got);
/* Receives every byte of the RDB as it is consumed (may be NULL). */
typedef int (*rdb_sink_fn)(void *ctx, const uint8_t *p, size_t len);

typedef struct rdb_db {
    uint64_t keys, expires;
    uint64_t alive_a, alive_b; /* keys without expiry or expiring after at_a / at_b */
} rdb_db;

typedef struct rdb_info {
    int version;
    char redis_ver[32];
    char repl_id[48];
    int64_t repl_offset;   /* -1 when the RDB does not say */
    int checksum_verified; /* 0: the server wrote a zero checksum (rdbchecksum no) */
    uint64_t bytes;
    rdb_db dbs[RDB_MAX_DBS];
    uint32_t ndbs;         /* highest database number seen + 1 */
    int64_t at_a, at_b;    /* inputs: Unix ms for the alive counts (0: not counted) */
} rdb_info;

typedef struct rdb_reader rdb_reader;

/* limit: the RDB's exact length when known (the length-prefixed transfer), else UINT64_MAX. */
int rdb_reader_new(rdb_read_fn rd, void *rd_ctx, rdb_sink_fn sink, void *sink_ctx, uint64_t limit,
                   rdb_reader **out) WUR;
void rdb_reader_free(rdb_reader **r);
/* Parses one whole RDB (header to checksum). info->at_a / at_b are read, the rest
 * filled. ERR_DAMAGED naming the byte offset and what is wrong. */
int rdb_parse(rdb_reader *r, rdb_info *info) WUR;
/* After rdb_parse: reads n more bytes that are not part of the RDB (the end mark of
 * a diskless transfer); they do not go to the sink. */
int rdb_read_trailer(rdb_reader *r, uint8_t *out, size_t n) WUR;

/* CRC-64/Jones as Redis computes it (reflected, init 0). */
uint64_t rdb_crc64(uint64_t crc, const uint8_t *p, size_t len);

#endif
