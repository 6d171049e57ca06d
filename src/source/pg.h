/* pg — PostgreSQL as a source: base backups streamed over a replication connection
 * (BASE_BACKUP, parsed as tar on the fly into trees, so unchanged relation files
 * dedupe), the facts each backup records, and the checks of a source's archive. */
#ifndef LL_PG_H
#define LL_PG_H

#include <cjson/cJSON.h>

#include "../repo/check.h"
#include "../repo/repo.h"
#include "../repo/snapshot.h"

typedef struct pg_backup_opts {
    const char *source;   /* the source's name: its WAL is wal/<source>/ */
    const char *conninfo; /* libpq connection string; passwords via PGPASSFILE / .pgpass */
    const char *archive_source; /* the archive holding this server's WAL, when configured */
    int progress;
} pg_backup_opts;

#define PG_MAX_TABLESPACES 32
#define PG_MAX_LOCATION 512

/* A tablespace outside the data folder: stored as pg_tblspc/<oid>/ in the snapshot
 * (a folder where the server has a symlink), restored to location (or a mapped one). */
typedef struct pg_tablespace {
    uint32_t oid;
    char location[PG_MAX_LOCATION];
} pg_tablespace;

/* What a base backup records (the snapshot's meta object). */
typedef struct pg_meta {
    char system_id[32];
    int server_version;   /* 150018 */
    uint32_t tli;         /* timeline at the start */
    uint32_t stop_tli;    /* at the end (differs when the server was promoted meanwhile) */
    uint64_t start_lsn, stop_lsn, segsize;
    double start_time, stop_time; /* seconds since the epoch, this host's clock */
    int standby;          /* taken from a standby */
    int wal_complete;     /* every segment start..stop was archived when the backup ended */
    char source[65];
    char wal_source[65]; /* the archive its WAL is in: wal/<wal_source>/ (the source itself
                          * unless a standby's backup found its primary's archive) */
    pg_tablespace ts[PG_MAX_TABLESPACES];
    int nts;
} pg_meta;

int pg_backup(repo *r, const pg_backup_opts *o, uint8_t tree[32], snapshot_summary *sum, pg_meta *m) WUR;
/* The first and last segment a backup needs. */
void pg_meta_wal_range(const pg_meta *m, uint64_t *first, uint64_t *last);
/* Waits up to timeout seconds for the backup's WAL; ERR_INCOMPLETE naming the
 * first segment still missing. */
int pg_wait_wal(repo *r, const pg_meta *m, int timeout) WUR;
/* A backup from a standby ends in a segment only the primary can finish:
 * pg_switch_wal() there, on a normal connection (conninfo: the source's
 * primary-conninfo). */
int pg_switch_primary(const char *source, const char *conninfo) WUR;
cJSON *pg_meta_json(const pg_meta *m);
/* ERR_DAMAGED when the snapshot's meta is not a PostgreSQL backup's. */
int pg_meta_parse(const char *json, pg_meta *m) WUR;
/* Is s a base backup of this source? (m filled when it is) */
int pg_snapshot_is(const snapshot *s, const char *source, pg_meta *m);
/* Is s a base backup whose WAL is in the archive wal/<archive>/? */
int pg_snapshot_in_archive(const snapshot *s, const char *archive, pg_meta *m);

/* Restore planning and the recovery settings are in pgrestore.h. */

/* check: every backup's WAL range is archived, and the archive after the oldest
 * backup has no gaps (each reported with the segment names). */
int pg_check_wal(repo *r, check_report_fn fn, void *ctx, uint64_t *errors) WUR;
/* forget: removes each archive's WAL older than its oldest kept backup (archives
 * whose backups are all gone keep their WAL: a new backup may be starting). The
 * snapshots in gone (ngone ids) count as forgotten already (a dry run's). Each
 * archive's removal is logged, or added to json (an array) as an object of kind "wal". */
int pg_forget_wal(repo *r, const uint8_t (*gone)[32], size_t ngone, int dry_run, cJSON *json) WUR;

#endif
