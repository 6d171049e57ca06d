/* coord — coordination behind one table of functions (coord_backend): a group's leader
 * key held under a lease, with a strictly increasing fencing epoch per promotion, and
 * members' published status. Backends: `local` (one agent decides alone, all members
 * on its host: the lease is in memory, the epoch a counter in the state database) and
 * `etcd` (the v3 JSON gateway over libcurl: lease grant / keepalive / revoke, a txn that
 * creates the key only when absent). Never a home-made consensus. Every call takes a
 * monotonic deadline and never blocks past it. */
#ifndef LL_COORD_H
#define LL_COORD_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

typedef struct config config;
typedef struct state state;
typedef struct coord coord;

typedef struct coord_leader {
    int exists;        /* 0: nobody holds the group's key */
    char holder[64];   /* the member */
    char node[256];    /* the agent that holds it */
    int64_t epoch;     /* fencing epoch of that promotion (etcd: the key's create revision) */
} coord_leader;

typedef struct coord_status {
    char member[64];
    char *json;        /* what the member's agent published (coord_status_put) */
} coord_status;

/* The backend of cfg's [coordination]; st gives `local` its epoch counter (may be NULL
 * for etcd). node: this agent's [watch] node. A coord is used by one thread at a time
 * (etcd: one libcurl handle; open one coord per thread that needs one). Deadlines are
 * on proc_now_ms()'s monotonic clock. */
int coord_open(const config *cfg, state *st, const char *node, coord **out) WUR;
void coord_close(coord **c);
const char *coord_backend_name(const coord *c);

/* Takes group's leader key for member when nobody holds it, under a lease of ttl_ms:
 * *won 1 and *epoch the new epoch (strictly above every earlier one of the group).
 * When member already holds it (this process), *won 1 and the same epoch. Otherwise
 * *won 0 (the holder is in *now when not NULL). The caller counts the lease from the
 * moment before it called (its own monotonic clock), never from the store's word. */
int coord_acquire(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms, int *won,
                  int64_t *epoch, coord_leader *now) WUR;
/* Renews the lease of the key this process holds for group: 0 when renewed; ERR_SOURCE
 * when the store does not answer by the deadline, ERR_NOTFOUND when the key or lease
 * is gone (someone else may hold it now). After 0 the lease runs ttl from a moment
 * after the call began: count it from before the call. ERR_SOURCE says nothing either
 * way (the lease may still run; keep renewing, and fence when your own clock passes
 * the last successful renewal's start + ttl - margin). ERR_NOTFOUND is final: this
 * process forgets the key (coord_holds 0, later renews ERR_NOTFOUND too); fence at
 * once, then contend again with coord_acquire (a new epoch). etcd: two round trips
 * (keepalive, then a read that the key is still on our lease at our epoch). */
int coord_renew(coord *c, const char *group, int64_t deadline_ms) WUR;
/* Gives the key up (switchover, a primary that fences itself); 0 also when not held.
 * The key is forgotten here even when the store does not answer (ERR_SOURCE): it then
 * lingers until its lease ends, never renewed again. */
int coord_release(coord *c, const char *group, int64_t deadline_ms) WUR;
/* Takes the key whoever holds it (`lifeline failover --to`, a person's decision): a new
 * epoch, the old holder's lease revoked. */
int coord_seize(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms,
                int64_t *epoch) WUR;
int coord_leader_get(coord *c, const char *group, int64_t deadline_ms, coord_leader *out) WUR;
/* Who held group's key last, held now or not: `local` keeps it in the state database
 * (its lease dies with the process, so a restarted agent learns here who was primary
 * and at which epoch; exists 0 when nobody ever held it); `etcd` answers as
 * coord_leader_get (the store forgets a holder whose lease ended). */
int coord_leader_last(coord *c, const char *group, int64_t deadline_ms, coord_leader *out) WUR;
/* Whether this process holds group's key by its own account (acquired or seized, not
 * released, not found gone by a renew): *member gets the member (may be NULL). No I/O. */
int coord_holds(const coord *c, const char *group, char member[64]);

/* A member's status (JSON text), kept only while this agent lives (under its own
 * lease of ttl_ms, refreshed by each put); the list is every member's of the group. */
int coord_status_put(coord *c, const char *group, const char *member, const char *json, int64_t ttl_ms,
                     int64_t deadline_ms) WUR;
int coord_status_list(coord *c, const char *group, int64_t deadline_ms, coord_status **out, size_t *n) WUR;
void coord_status_free(coord_status **list, size_t n);

#endif
