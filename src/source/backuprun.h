/* backuprun — a source's backup as one call, from a snapshot whose header the caller
 * filled (time, host, tags, class, the source's name as its path) to the saved
 * snapshot: PostgreSQL (base backup, then its WAL waited for; or pg_dump) and Redis
 * (an RDB over replication, or the AOF folder). The command line and the watch agent's
 * schedule both call it; printing is theirs. */
#ifndef LL_BACKUPRUN_H
#define LL_BACKUPRUN_H

#include "../repo/repo.h"
#include "../repo/snapshot.h"
#include "pg.h"
#include "rdb.h"
#include "redis.h"

typedef struct backuprun_pg_opts {
    const char *source;
    const char *conninfo, *primary_conninfo, *archive_source, *pg_dump;
    int logical;      /* pg_dump instead of a base backup */
    int wal_timeout;  /* seconds to wait for the backup's WAL in the archive */
    int progress;
    double t0;        /* progress_now() when the command began: the summary's duration */
} backuprun_pg_opts;

typedef struct backuprun_pg_result {
    pg_meta m;             /* a base backup's facts */
    int wal_incomplete;    /* saved, but its WAL is not all archived yet: not usable for a restore */
    char wait_msg[512], wait_hint[512]; /* why, when wal_incomplete */
} backuprun_pg_result;

/* Takes the backup into s and saves s. A base backup whose WAL did not reach the
 * archive within wal_timeout is saved all the same and returns 0 with wal_incomplete
 * set: the caller says it is not usable yet (ERR_INCOMPLETE). */
int backuprun_pg(repo *r, const backuprun_pg_opts *o, snapshot *s, backuprun_pg_result *res) WUR;

typedef struct backuprun_redis_opts {
    redis_opts server;     /* server.source names it; server.progress */
    const char *data_dir;  /* with aof */
    int aof;               /* the AOF folder as files instead of an RDB */
    double t0;
} backuprun_redis_opts;

/* Takes the backup into s and saves s; info and sync describe the RDB (not with aof). */
int backuprun_redis(repo *r, const backuprun_redis_opts *o, snapshot *s, rdb_info *info, redis_sync *sync) WUR;

#endif
