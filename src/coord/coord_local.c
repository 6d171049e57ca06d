/* coord_local — the `local` backend: one agent decides alone for members that all live
 * on its host. The lease is in this process's memory (there is no store to lose or to
 * be partitioned from; it ends with the process or when not renewed within its ttl on
 * the monotonic clock). The epoch is the state database's counter "epoch/GROUP", so it
 * strictly increases across restarts; the last holder is the state row of service
 * "coord/GROUP" (state "held" or "released", detail {"member","node","epoch"}) so that a
 * restarted agent knows who was primary. Members' status lives in memory. The
 * deadlines are not needed: nothing here waits on the network, and the state database
 * waits at most its own busy timeout. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/buf.h"
#include "../core/proc.h"
#include "../state/state.h"
#include "coord_impl.h"

typedef struct local_status {
    char group[64], member[64];
    char *json;
    int64_t expires_ms;
} local_status;

typedef struct local {
    local_status *status;
    size_t nstatus, capstatus;
} local;

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int local_open(coord *c, const config *cfg)
{
    (void)cfg;
    if (!(c->impl = calloc(1, sizeof(local))))
        return err_set(ERR_FATAL, "out of memory");
    return 0;
}

static void local_close(coord *c)
{
    local *l = c->impl;
    for (size_t i = 0; i < l->nstatus; i++)
        free(l->status[i].json);
    free(l->status);
    free(l);
    c->impl = NULL;
}

/* Records group's holder (or its release) in the state database. */
static int persist(coord *c, const char *group, const char *member, int64_t epoch, int held)
{
    char name[80];
    snprintf(name, sizeof name, "coord/%s", group);
    cJSON *o = cJSON_CreateObject();
    char *detail = NULL;
    if (o && cJSON_AddStringToObject(o, "member", member) && cJSON_AddStringToObject(o, "node", c->node) &&
        cJSON_AddNumberToObject(o, "epoch", (double)epoch))
        detail = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!detail)
        return err_set(ERR_FATAL, "out of memory");
    char st[16], none[1] = "";
    snprintf(st, sizeof st, "%s", held ? "held" : "released");
    state_service sv = {.name = name, .state = st, .detail = detail, .recoveries = none,
                        .since_ms = wall_ms(), .incident = 0};
    int rc = state_service_put(c->st, &sv);
    free(detail);
    return rc ? err_wrap("recording the holder") : 0;
}

/* The current holder when its lease still runs; an ended one is dropped. */
static coord_hold *live_hold(coord *c, const char *group)
{
    coord_hold *h = coord_hold_find(c, group);
    if (h && h->expires_ms <= proc_now_ms()) {
        coord_hold_drop(c, group);
        return NULL;
    }
    return h;
}

static void fill_leader(const coord *c, const coord_hold *h, coord_leader *out)
{
    out->exists = 1;
    snprintf(out->holder, sizeof out->holder, "%s", h->member);
    snprintf(out->node, sizeof out->node, "%s", c->node);
    out->epoch = h->epoch;
}

/* A new epoch for group, given to member under a fresh lease. */
static int take(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t *epoch)
{
    char counter[80];
    snprintf(counter, sizeof counter, "epoch/%s", group);
    int64_t start = proc_now_ms(), e;
    if (state_counter_next(c->st, counter, &e))
        return err_wrap("the epoch counter");
    int rc = persist(c, group, member, e, 1);
    coord_hold h = {.epoch = e, .ttl_ms = ttl_ms, .expires_ms = start + ttl_ms};
    snprintf(h.group, sizeof h.group, "%s", group);
    snprintf(h.member, sizeof h.member, "%s", member);
    rc = rc ? rc : coord_hold_set(c, &h);
    if (!rc)
        *epoch = e;
    return rc;
}

static int local_acquire(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms,
                         int *won, int64_t *epoch, coord_leader *now)
{
    (void)deadline_ms;
    coord_hold *h = live_hold(c, group);
    if (h) {
        if (now)
            fill_leader(c, h, now);
        if (strcmp(h->member, member))
            return 0;
        /* the holder asking again: the same epoch, and the lease runs on */
        h->expires_ms = proc_now_ms() + ttl_ms;
        h->ttl_ms = ttl_ms;
        *won = 1;
        *epoch = h->epoch;
        return 0;
    }
    int rc = take(c, group, member, ttl_ms, epoch);
    if (!rc) {
        *won = 1;
        if (now)
            fill_leader(c, coord_hold_find(c, group), now);
    }
    return rc;
}

static int local_renew(coord *c, const char *group, int64_t deadline_ms)
{
    (void)deadline_ms;
    int had = coord_hold_find(c, group) != NULL;
    coord_hold *h = live_hold(c, group);
    if (!h)
        return err_set(ERR_NOTFOUND, "%s",
                       had ? "the lease ended before it was renewed" : "this agent holds no lease");
    h->expires_ms = proc_now_ms() + h->ttl_ms;
    return 0;
}

static int local_release(coord *c, const char *group, int64_t deadline_ms)
{
    (void)deadline_ms;
    coord_hold *h = coord_hold_find(c, group);
    if (!h)
        return 0;
    coord_hold was = *h;
    coord_hold_drop(c, group);
    return persist(c, group, was.member, was.epoch, 0);
}

static int local_seize(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms,
                       int64_t *epoch)
{
    (void)deadline_ms;
    return take(c, group, member, ttl_ms, epoch);
}

static int local_leader_get(coord *c, const char *group, int64_t deadline_ms, coord_leader *out)
{
    (void)deadline_ms;
    coord_hold *h = live_hold(c, group);
    if (h)
        fill_leader(c, h, out);
    return 0;
}

static int local_leader_last(coord *c, const char *group, int64_t deadline_ms, coord_leader *out)
{
    (void)deadline_ms;
    char name[80];
    snprintf(name, sizeof name, "coord/%s", group);
    state_service *list;
    size_t n;
    if (state_service_list(c->st, &list, &n))
        return err_wrap("reading the last holder");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, name))
            continue;
        cJSON *o = cJSON_Parse(list[i].detail ? list[i].detail : "");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "member");
        const cJSON *nd = cJSON_GetObjectItemCaseSensitive(o, "node");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "epoch");
        if (cJSON_IsString(m) && cJSON_IsNumber(e)) {
            out->exists = 1;
            snprintf(out->holder, sizeof out->holder, "%s", m->valuestring);
            snprintf(out->node, sizeof out->node, "%s", cJSON_IsString(nd) ? nd->valuestring : "");
            out->epoch = (int64_t)e->valuedouble;
        }
        cJSON_Delete(o);
    }
    state_services_free(&list, n);
    return 0;
}

static local_status *status_find(local *l, const char *group, const char *member)
{
    for (size_t i = 0; i < l->nstatus; i++)
        if (!strcmp(l->status[i].group, group) && !strcmp(l->status[i].member, member))
            return &l->status[i];
    return NULL;
}

static int local_status_put(coord *c, const char *group, const char *member, const char *json, int64_t ttl_ms,
                            int64_t deadline_ms)
{
    (void)deadline_ms;
    local *l = c->impl;
    char *copy = strdup(json);
    if (!copy)
        return err_set(ERR_FATAL, "out of memory");
    local_status *s = status_find(l, group, member);
    if (!s) {
        if (array_grow(&l->status, &l->capstatus, l->nstatus + 1, sizeof *l->status, 4)) {
            free(copy);
            return err_set(ERR_FATAL, "out of memory");
        }
        s = &l->status[l->nstatus++];
        memset(s, 0, sizeof *s);
        snprintf(s->group, sizeof s->group, "%s", group);
        snprintf(s->member, sizeof s->member, "%s", member);
    }
    free(s->json);
    s->json = copy;
    s->expires_ms = proc_now_ms() + ttl_ms;
    return 0;
}

static int local_status_list(coord *c, const char *group, int64_t deadline_ms, coord_status **out, size_t *n)
{
    (void)deadline_ms;
    local *l = c->impl;
    int64_t now = proc_now_ms();
    size_t cap = 0;
    for (size_t i = 0; i < l->nstatus; i++) {
        local_status *s = &l->status[i];
        if (strcmp(s->group, group) || s->expires_ms <= now)
            continue;
        if (coord_status_add(out, n, &cap, s->member, s->json, strlen(s->json))) {
            coord_status_free(out, *n);
            *n = 0;
            return err_last();
        }
    }
    return 0;
}

const coord_backend coord_local_backend = {
    .name = "local",
    .open = local_open,
    .close = local_close,
    .acquire = local_acquire,
    .renew = local_renew,
    .release = local_release,
    .seize = local_seize,
    .leader_get = local_leader_get,
    .leader_last = local_leader_last,
    .status_put = local_status_put,
    .status_list = local_status_list,
};
