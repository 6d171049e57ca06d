/* ha — the failover engine of the agent: for each [postgres] group with a member this
 * node manages, a loop on its own thread (a lease must be renewed on time whatever the
 * services' probes do) that adopts what it finds, holds the primary's lease and fences
 * the primary when it cannot renew it by its own monotonic clock, restarts a crashed
 * primary in place or fails over to the best standby (highest LSN, then priority, then
 * name; never past maximum-lag-on-failover; never while the old primary still answers
 * as one), makes a returning former primary rewind and follow, detects split-brain,
 * and runs switchover and forced failover for a person. Every step goes through the
 * hooks to the agent's evidence (events, incidents, audit, syslog, notifications). */
#ifndef LL_HA_H
#define LL_HA_H

#include <cjson/cJSON.h>

#include "../core/err.h"

typedef struct config config;
typedef struct ha ha;

typedef struct ha_hooks {
    void *ctx;
    /* one thing that happened (kind: failover, promote, fence, rejoin, lease, split-brain,
     * switchover...); target: "GROUP" or "GROUP/MEMBER". Called from the engine's thread. */
    void (*record)(void *ctx, const char *kind, const char *target, const char *outcome, const char *message);
    /* an incident of target opened (open 1) or closed, with a title */
    void (*incident)(void *ctx, const char *target, int open, const char *title);
    /* a notification (event: incident, escalation, resolved...) */
    void (*alert)(void *ctx, const char *event, const char *severity, const char *target, const char *title,
                  const char *message);
} ha_hooks;

/* Starts the engine for cfg's groups that have a member with node == this node (none:
 * *out NULL, 0). state_db: the agent's state database (the engine opens its own
 * connection: epochs of `local`, holds). */
int ha_start(const config *cfg, const char *node, const char *state_db, const ha_hooks *hooks, ha **out) WUR;
/* Stops the loop. A primary's lease is left to expire (never released on a stop: the
 * server goes on serving; a restarted agent takes it back). */
void ha_stop(ha **h);
/* The "groups" array of the status document (a new copy). */
cJSON *ha_status(ha *h);
/* A person's request from the control socket: {"cmd":"switchover","group":G,"to":M|null}
 * or {"cmd":"failover","group":G,"to":M}. Waits for the outcome (bounded); the reply
 * says what happened ({"ok":true,...} or {"error":"..."}). */
cJSON *ha_request(ha *h, const cJSON *req);

#endif
