/* redis — Redis as a source: a point-in-time RDB taken over the replication
 * protocol (as a replica would: AUTH, REPLCONF, PSYNC), validated while it streams
 * into the repository; the server side of a restore (stop, swap the file, start,
 * wait for the load, verify the key counts, roll back on mismatch). */
#ifndef LL_REDIS_H
#define LL_REDIS_H

#include "../repo/check.h"
#include "../repo/repo.h"
#include "../repo/snapshot.h"
#include "rdb.h"

typedef struct redis_opts {
    const char *source;
    const char *address;  /* "host:port", "[v6]:port" or "unix:/path" */
    const char *user;     /* ACL user, or NULL */
    const char *password; /* or NULL; never logged */
    int timeout;          /* seconds any one network wait may take */
    int progress;
} redis_opts;

/* What a snapshot records beyond the RDB's own facts. */
typedef struct redis_sync {
    char repl_id[48];
    int64_t offset;   /* the replication offset the RDB corresponds to */
    int diskless;     /* EOF-marked transfer */
    char version[32]; /* the server's redis_version */
} redis_sync;

/* Streams one RDB into the repository as the file dump.rdb of a new tree. Nothing
 * is referenced until the whole stream validated: on any error the caller commits
 * no snapshot (the blobs already written are left for prune). */
int redis_backup(repo *r, const redis_opts *o, uint8_t tree[32], snapshot_summary *sum, rdb_info *info,
                 redis_sync *sync) WUR;
/* The snapshot's meta object. */
char *redis_meta_json(const char *source, const rdb_info *info, const redis_sync *sync);

/* Connects and authenticates; 0 when the server answers PING (not loading).
 * For restore: waiting for a server to stop or come back. */
int redis_ping(const redis_opts *o) WUR;
/* The protocol's small decoders, separate so that they are fuzzed (server input). */
#define REDIS_EOF_MARK 40
/* "+FULLRESYNC <replid> <offset>"; ERR_DAMAGED otherwise. */
int redis_parse_fullresync(const char *line, char id[48], int64_t *offset) WUR;
/* "$<length>" (disk transfer) or "$EOF:<40-byte mark>" (diskless); ERR_DAMAGED otherwise. */
int redis_parse_transfer_header(const char *line, uint64_t *length, char mark[REDIS_EOF_MARK], int *eof_marked) WUR;
/* "field:value" from an INFO reply (empty when absent); keys per database from INFO keyspace. */
void redis_info_field(const char *text, const char *field, char *out, size_t cap);
void redis_info_keyspace(const char *text, uint64_t *keys, uint32_t ndbs);

/* CONFIG GET name (e.g. "dir", "dbfilename"). */
int redis_config_get(const redis_opts *o, const char *name, char *out, size_t cap) WUR;
/* Keys per database as the server reports them (INFO keyspace). */
int redis_keyspace(const redis_opts *o, uint64_t *keys, uint32_t ndbs) WUR;

/* Reads an RDB stored in snapshot s (its file dump.rdb) through the parser: counts
 * with info->at_a / at_b as set by the caller. */
int redis_snapshot_parse(repo *r, const snapshot *s, rdb_info *info) WUR;

/* check --read-data: every RDB snapshot parsed again (structure and CRC-64); each
 * that does not is reported. */
int redis_check_snapshots(repo *r, check_report_fn fn, void *ctx, uint64_t *errors) WUR;

#endif
