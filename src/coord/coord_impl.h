/* coord_impl — inside src/coord only: the coord object, the table of functions each
 * backend fills (coord_local, coord_etcd), and the bookkeeping both share of the keys
 * this process holds. coord.c checks the arguments (names, ttl, deadline) before any
 * backend sees them. */
#ifndef LL_COORD_IMPL_H
#define LL_COORD_IMPL_H

#include "coord.h"

/* etcd grants whole seconds and never less than this (a shorter TTL is raised). */
#define COORD_MIN_TTL_MS 2000

/* One group's key as this process holds it. */
typedef struct coord_hold {
    char group[64], member[64];
    int64_t epoch;
    int64_t lease;      /* etcd: the lease the key is attached to */
    int64_t ttl_ms;     /* as asked */
    int64_t expires_ms; /* local: the lease's end on the monotonic clock */
} coord_hold;

typedef struct coord_backend {
    const char *name;
    int (*open)(coord *c, const config *cfg);
    void (*close)(coord *c);
    int (*acquire)(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms, int *won,
                   int64_t *epoch, coord_leader *now);
    int (*renew)(coord *c, const char *group, int64_t deadline_ms);
    int (*release)(coord *c, const char *group, int64_t deadline_ms);
    int (*seize)(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms,
                 int64_t *epoch);
    int (*leader_get)(coord *c, const char *group, int64_t deadline_ms, coord_leader *out);
    int (*leader_last)(coord *c, const char *group, int64_t deadline_ms, coord_leader *out);
    int (*status_put)(coord *c, const char *group, const char *member, const char *json, int64_t ttl_ms,
                      int64_t deadline_ms);
    int (*status_list)(coord *c, const char *group, int64_t deadline_ms, coord_status **out, size_t *n);
} coord_backend;

struct coord {
    const coord_backend *be;
    state *st;          /* local: the epoch counter and the last holder */
    char node[256];
    coord_hold *holds;  /* the keys this process holds, one per group */
    size_t nholds, capholds;
    void *impl;         /* the backend's own */
};

extern const coord_backend coord_local_backend;
extern const coord_backend coord_etcd_backend;

/* The entry of group in c's holds, or NULL. */
coord_hold *coord_hold_find(coord *c, const char *group);
/* Sets group's entry (adding it); ERR_FATAL when out of memory. */
int coord_hold_set(coord *c, const coord_hold *h) WUR;
void coord_hold_drop(coord *c, const char *group);
/* Appends one member's status to *list (grown as needed); ERR_FATAL on memory. */
int coord_status_add(coord_status **list, size_t *n, size_t *cap, const char *member, const char *json, size_t len) WUR;

#endif
