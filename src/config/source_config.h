/* source_config — a [source "NAME"] section read as the options of its type
 * (postgres, pg_dump, redis), for both front ends: the command line's backup and
 * restore, and the watch agent's schedule and probes. Every key a type does not know
 * is an error naming the source, the file and the key. Secrets stay in files: a
 * password file is named here and read by the caller. */
#ifndef LL_SOURCE_CONFIG_H
#define LL_SOURCE_CONFIG_H

#include "config.h"

/* The type of [source "NAME"] (postgres, pg_dump or redis); ERR_CONFIG naming the
 * file when there is no such section or no valid type. c may be NULL. */
int source_config_type(const config *c, const char *name, const char **type) WUR;

typedef struct source_config_pg {
    const config_source *section;
    const char *conninfo, *primary_conninfo, *archive_source, *pg_dump, *bin_dir, *class_name;
    int is_dump; /* type pg_dump */
} source_config_pg;

/* A postgres or pg_dump section: conninfo present and without a password,
 * archive-source a valid source name. */
int source_config_pg_get(const config *c, const char *name, source_config_pg *out) WUR;
/* wal-timeout in seconds (default 60; 1 s to 24 h), read only by backups. */
int source_config_pg_wal_timeout(const config *c, const source_config_pg *pg, int *secs) WUR;

typedef struct source_config_redis {
    const config_source *section;
    const char *address, *user, *password_file, *data_dir, *stop_cmd, *start_cmd, *class_name;
    int timeout; /* seconds (default 60) */
} source_config_redis;

/* A redis section: address present, timeout 1 s to 24 h, a user only with a
 * password-file. */
int source_config_redis_get(const config *c, const char *name, source_config_redis *out) WUR;

#endif
