/* proxy_config — an HAProxy configuration for the configured PostgreSQL groups, rendered
 * from the configuration alone: per group a listener for writes (GROUP-primary) and one
 * for reads (GROUP-replica); each member is a server whose health is asked of the agent
 * that manages it (its HTTP side: /GROUP/MEMBER/primary, /GROUP/MEMBER/replica). What
 * `lifeline proxy-config` prints; the agent may render it too. */
#ifndef LL_PROXY_CONFIG_H
#define LL_PROXY_CONFIG_H

#include "../config/config.h"
#include "../core/buf.h"
#include "../core/err.h"

#define PROXY_PRIMARY_PORT 5000 /* Patroni's template's ports; group k gets 5000+2k, 5001+2k */
#define PROXY_REPLICA_PORT 5001

typedef struct proxy_config_opts {
    const char *group;          /* NULL: every [postgres] group, in the file's order */
    const char *listen_primary; /* "ADDR:PORT" or "PORT"; NULL: *:5000 (+2 per further group) */
    const char *listen_replica; /* NULL: *:5001 (+2 per further group) */
    const char *replica_lag;    /* a size (1MB): readers only on standbys within it; NULL: any */
    const char *this_node;      /* NULL: [watch] node, else the host name */
} proxy_config_opts;

/* Appends the configuration to out. ERR_NOTFOUND for an unknown group; ERR_CONFIG when
 * the file has no group, a name HAProxy cannot take, a member reached over a Unix socket
 * or with no agent address (agent = HOST:PORT, or [watch] listen for this node's own);
 * ERR_USAGE for a bad listen or lag, or a listen given for several groups. */
int proxy_config_render(const config *cfg, const proxy_config_opts *o, buf *out) WUR;

#endif
