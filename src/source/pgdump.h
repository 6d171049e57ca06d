/* pgdump — logical PostgreSQL backups: `pg_dump -Fc` streamed from its pipe into the
 * repository as one file, and streamed back out (to pg_restore) on restore. */
#ifndef LL_PGDUMP_H
#define LL_PGDUMP_H

#include "../repo/repo.h"
#include "../repo/snapshot.h"

typedef struct pgdump_opts {
    const char *source;
    const char *conninfo; /* no password: PGPASSFILE / .pgpass */
    const char *pg_dump;  /* the program; NULL: pg_dump from PATH */
    int progress;
} pgdump_opts;

/* meta_json receives the snapshot's meta object (allocated). ERR_SOURCE when pg_dump fails. */
int pgdump_backup(repo *r, const pgdump_opts *o, uint8_t tree[32], snapshot_summary *sum, char **meta_json) WUR;
/* Writes the dump of snapshot s to standard output. */
int pgdump_to_stdout(repo *r, const snapshot *s) WUR;

#endif
