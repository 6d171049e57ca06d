/* ha_impl — what the engine's files share (ha.c: the thread, status, requests;
 * ha_group.c: one group's observation and decisions; ha_act.c: promotions, fencing,
 * rejoin, switchover). Not for other modules. */
#ifndef LL_HA_IMPL_H
#define LL_HA_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "../config/config.h"
#include "../coord/coord.h"
#include "../state/state.h"
#include "ha.h"
#include "pgctl.h"

/* how often a standby's agent asks between rounds whether the primary's key is gone */
#define HA_WATCH_MS 200

typedef struct ha_rejoin_job ha_rejoin_job; /* ha_rejoin.c: a rejoin running on its own thread */

typedef struct ha_member {
    const config_member *cfg;
    int here;                 /* managed by this agent */
    pg_state st;              /* the last look (here: a query; a peer: what its agent published) */
    int fresh;                /* st is from this round */
    char role[16];            /* primary, standby, fenced, down, unknown */
    int64_t down_since;       /* monotonic ms; 0 while up */
    int fenced;               /* this engine fenced it (stopped or read-only) and it must rejoin */
    int rejoin_failed;        /* the last rejoin failed: an incident, no retry loop */
    int64_t rejoin_at;        /* monotonic: the earliest next rejoin attempt */
    int64_t idle_since;       /* monotonic: a standby not streaming since then; 0 streaming */
    ha_rejoin_job *rj;        /* its rejoin while one runs (NULL none) */
} ha_member;

typedef struct ha_group {
    const config_pg_group *cfg;
    ha_member *m;
    size_t n;
    coord_leader leader;      /* as last read from the store */
    int leader_known;         /* the last read answered */
    char holding[64];         /* the member whose key this agent holds ("" none) */
    int64_t lease_until;      /* monotonic: the lease is certain until then */
    int64_t epoch;
    char held[256];           /* automation held for the group: why ("" not held) */
    int incident;             /* an incident of the group is open */
    int64_t last_primary_lsn; /* the last known primary's LSN (for the lag rule) */
    int64_t no_leader_since;  /* monotonic: nobody has held the key since then; 0 held */
    char sync_member[64];     /* synchronous mode: the published sync standby ("" none) */
    int sync_alone;           /* synchronous mode without a streaming standby: told once, until one is back */
    int64_t pub_lease_until;  /* lease_until as of the last published status (under ha.lock) */
    int refused_live;         /* a failover was refused: a peer's server still answers as a primary */
    char handover[64];        /* switchover: the member this agent hands the key to ("" none) */
    int64_t handover_until;   /* monotonic: the handover is published until then */
    char handover_seen[64];   /* a peer's agent hands the key to this member ("" none) */
    char fenced_self[64];     /* the member here this agent stopped when its lease ran out ("" none) */
    int64_t fenced_epoch;     /* the epoch it held then: a later holder makes it a former primary */
} ha_group;

struct ha {
    const config *cfg;
    char node[256];
    ha_hooks hooks;
    coord *co;
    state *st;
    ha_group *g;
    size_t ng;
    int64_t tick_ms, ttl_ms, margin_ms, query_ms;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock; /* status_json, req, reply */
    pthread_cond_t cond;
    char *status_json;
    int64_t published_at; /* monotonic: when status_json was made (a round's end) */
    cJSON *req, *reply;
    int abandoned; /* the asker of req gave up waiting (serve_request drops its answer) */
};

int64_t ha_now(void);
/* The deadline of a call to the store or a server in this round: query_ms from now,
 * but never past the lease while this agent holds one (a slow store must not delay
 * the fence past the lease's end). */
int64_t ha_deadline(const ha *h, const ha_group *g);
/* The evidence of one step: record (and an alert when severity is not NULL). */
void ha_say(ha *h, const char *kind, const ha_group *g, const ha_member *m, const char *outcome, const char *severity,
            const char *fmt, ...) PRINTF(7, 8);

/* ha_group.c: one round of a group: look, then decide and act. */
/* 1 when the member's postmaster (postmaster.pid's first line) is a live process (a
 * server that does not answer but runs is slow, not gone); 0 when it is not (a stale
 * lock file of a dead one is removed); -1 when it cannot tell (no data-dir here). */
int ha_postmaster_alive(const ha_member *m);
void ha_group_round(ha *h, ha_group *g);
/* From now until the next published status, the members here hold no lease as far as
 * the status (and so /primary) says: a switchover's old primary is out of the proxy at
 * once, not after the switchover. */
void ha_status_lease_gone(ha *h, ha_group *g);
/* Publishes the members here for the other agents now (a round does it too). */
void ha_group_publish(ha *h, ha_group *g);
ha_member *ha_member_named(ha_group *g, const char *name);
/* ha_sync.c: synchronous_standby_names, owned by the primary's agent */
void ha_sync_manage(ha *h, ha_group *g, ha_member *primary);
/* ha_act.c */
int ha_promote(ha *h, ha_group *g, ha_member *to, int seize, char *why, size_t cap);
int ha_fence(ha *h, ha_group *g, ha_member *m, const char *why);
/* on-role-change / fence-command: with LIFELINE_GROUP, _MEMBER, _ROLE, _EPOCH. */
void ha_hook(ha *h, ha_group *g, ha_member *m, const char *command, const char *role);
/* ha_rejoin.c: a member here back under the leader. ha_rejoin starts it on a thread of
 * its own (stop; pg_rewind, or follow as it is, or a rebuild from the repository);
 * ha_rejoin_busy, each round: 1 while it runs (its steps told through ha_say) and in
 * the round it ends (its outcome applied); ha_rejoin_free at the engine's stop. */
void ha_rejoin(ha *h, ha_group *g, ha_member *m);
int ha_rejoin_busy(ha *h, ha_group *g, ha_member *m);
void ha_rejoin_free(ha_member *m);
cJSON *ha_switchover(ha *h, ha_group *g, const char *to);
cJSON *ha_failover(ha *h, ha_group *g, const char *to);

#endif
