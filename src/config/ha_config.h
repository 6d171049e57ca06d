/* ha_config — the high-availability sections of the configuration file:
 * [coordination] (local or etcd, the lease's ttl), [postgres "GROUP"] (an HA group of
 * PostgreSQL servers) and [member "NAME"] (one server of a group: the agent that
 * manages it, how to reach it, where its data is). Strict like the rest: unknown keys
 * and bad values name the file and line; the checks across sections (members that
 * exist and belong to one group, a node for each) run once the file is read. */
#ifndef LL_HA_CONFIG_H
#define LL_HA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* the primary's lease when [coordination] sets no ttl (see ha_config.c for why) */
#define HA_CONFIG_TTL_DEFAULT_MS 4000

typedef struct config config;

enum { COORD_LOCAL = 0, COORD_ETCD = 1 };
enum { SYNC_OFF = 0, SYNC_ON = 1, SYNC_STRICT = 2 };

typedef struct config_coord {
    int backend;        /* COORD_LOCAL unless [coordination] backend = etcd */
    char **endpoints;   /* etcd: http(s)://HOST:PORT ... */
    size_t nendpoints;
    int64_t ttl_ms;     /* the primary's lease; default HA_CONFIG_TTL_DEFAULT_MS */
    int line;
} config_coord;

typedef struct config_pg_group {
    char name[64];
    int line;
    char **members;     /* [member] names, in the file's order */
    size_t nmembers;
    int synchronous;    /* SYNC_OFF, SYNC_ON, SYNC_STRICT */
    uint64_t max_lag;   /* maximum-lag-on-failover, bytes of WAL (default 1 MiB) */
    char *backup_source, *on_role_change, *fence_command;
    int members_line;
} config_pg_group;

typedef struct config_member {
    char name[64];
    int line;
    char *node;         /* the agent ([watch] node) that manages it */
    char *conninfo;     /* libpq; never a password (PGPASSFILE) */
    char *data_dir, *bin_dir;
    char *agent;        /* HOST:PORT of the managing agent's HTTP side; NULL: [watch] listen
                         * when node is this node (proxy-config's health checks) */
    int priority;       /* 0: never promoted; default 100 */
    char *group;        /* set by the checks: the group it belongs to */
} config_member;

/* One key of a section of kind "coordination", "postgres" or "member"; 0, or -1
 * with a one-line reason in err (the caller adds file:line). */
int ha_config_key(config *c, const char *kind, int line, const char *name, const char *key, const char *v,
                  char *err, size_t cap);
/* Checks across sections; -1 with *line and err set. */
int ha_config_check(config *c, int *line, char *err, size_t cap);
void ha_config_free(config *c);
const config_pg_group *config_pg_group_find(const config *c, const char *name);
const config_member *config_member_find(const config *c, const char *name);
/* "HOST:PORT" or "[V6]:PORT" with a port from 1 to 65535: 0, or -1. */
int ha_config_host_port(const char *v);
/* "1MB", "512kB", "16MiB", "0", "1048576": bytes of WAL; -1 when not a size. */
int ha_config_parse_size(const char *v, uint64_t *out);

#endif
