/* ha — see ha.h. This file: the engine's thread and its tick, the status of the
 * groups, a person's requests handed from the control socket's thread, and the one
 * function through which every step is told (ha_say). */
#define _GNU_SOURCE
#include "ha.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/proc.h"
#include "ha_impl.h"

int64_t ha_now(void) { return proc_now_ms(); }

int64_t ha_deadline(const ha *h, const ha_group *g)
{
    int64_t d = ha_now() + h->query_ms;
    return g->holding[0] && g->lease_until < d ? g->lease_until : d;
}

void ha_say(ha *h, const char *kind, const ha_group *g, const ha_member *m, const char *outcome, const char *severity,
            const char *fmt, ...)
{
    char msg[1024], target[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m)
        snprintf(target, sizeof target, "%s/%s", g->cfg->name, m->cfg->name);
    else
        snprintf(target, sizeof target, "%s", g->cfg->name);
    if (h->hooks.record)
        h->hooks.record(h->hooks.ctx, kind, target, outcome, msg);
    if (severity && h->hooks.alert) {
        char title[300];
        snprintf(title, sizeof title, "%s %s: %s", g->cfg->name, kind, outcome);
        h->hooks.alert(h->hooks.ctx, !strcmp(severity, "critical") ? "escalation" : "incident", severity, target,
                       title, msg);
    }
}

static int build_groups(ha *h)
{
    const config *c = h->cfg;
    h->g = calloc(c->npg_groups + 1, sizeof *h->g);
    if (!h->g)
        return err_set(ERR_FATAL, "out of memory");
    for (size_t i = 0; i < c->npg_groups; i++) {
        const config_pg_group *pg = &c->pg_groups[i];
        ha_group *g = &h->g[h->ng];
        g->cfg = pg;
        g->m = calloc(pg->nmembers + 1, sizeof *g->m);
        if (!g->m)
            return err_set(ERR_FATAL, "out of memory");
        int mine = 0;
        for (size_t k = 0; k < pg->nmembers; k++) {
            ha_member *m = &g->m[g->n++];
            m->cfg = config_member_find(c, pg->members[k]);
            m->here = !strcmp(m->cfg->node, h->node);
            snprintf(m->role, sizeof m->role, "unknown");
            mine |= m->here;
        }
        if (mine)
            h->ng++;
        else
            free(g->m), memset(g, 0, sizeof *g);
    }
    return 0;
}

static cJSON *member_json(const ha_group *g, const ha_member *m, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m->cfg->name);
    cJSON_AddStringToObject(o, "node", m->cfg->node);
    cJSON_AddBoolToObject(o, "here", m->here);
    cJSON_AddStringToObject(o, "role", m->role);
    int lease = !strcmp(m->role, "primary") && !strcmp(g->holding, m->cfg->name) && now < g->lease_until;
    if (!m->here) /* a peer's: its agent answers for its lease; here we only know the key */
        lease = !strcmp(m->role, "primary") && g->leader_known && g->leader.exists &&
                !strcmp(g->leader.holder, m->cfg->name);
    cJSON_AddBoolToObject(o, "lease", lease);
    cJSON_AddNumberToObject(o, "timeline", m->st.timeline);
    char lsn[32];
    uint64_t at = m->st.primary ? m->st.current_lsn : m->st.replay_lsn;
    pgctl_format_lsn(at, lsn, sizeof lsn);
    cJSON_AddStringToObject(o, "lsn", lsn);
    if (!strcmp(m->role, "standby") && g->last_primary_lsn)
        cJSON_AddNumberToObject(o, "lag_bytes", (uint64_t)g->last_primary_lsn > m->st.replay_lsn
                                                    ? (double)((uint64_t)g->last_primary_lsn - m->st.replay_lsn)
                                                    : 0);
    else
        cJSON_AddNullToObject(o, "lag_bytes");
    cJSON_AddBoolToObject(o, "streaming", m->st.streaming);
    cJSON_AddStringToObject(o, "detail", m->st.detail);
    return o;
}

static void publish_status(ha *h)
{
    cJSON *list = cJSON_CreateArray();
    int64_t now = ha_now();
    for (size_t i = 0; i < h->ng; i++) {
        ha_group *g = &h->g[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", g->cfg->name);
        cJSON_AddStringToObject(o, "backend", coord_backend_name(h->co));
        cJSON_AddNumberToObject(o, "epoch", (double)(g->leader_known && g->leader.exists ? g->leader.epoch : g->epoch));
        if (g->leader_known && g->leader.exists)
            cJSON_AddStringToObject(o, "leader", g->leader.holder);
        else
            cJSON_AddNullToObject(o, "leader");
        if (g->held[0]) {
            cJSON *hd = cJSON_AddObjectToObject(o, "held");
            cJSON_AddStringToObject(hd, "reason", g->held);
        } else {
            cJSON_AddNullToObject(o, "held");
        }
        static const char *const modes[] = {"off", "on", "strict"};
        cJSON_AddStringToObject(o, "synchronous", modes[g->cfg->synchronous]);
        if (g->cfg->synchronous != SYNC_OFF && g->sync_member[0])
            cJSON_AddStringToObject(o, "sync_standby", g->sync_member);
        else
            cJSON_AddNullToObject(o, "sync_standby");
        cJSON *ms = cJSON_AddArrayToObject(o, "members");
        for (size_t k = 0; k < g->n; k++)
            cJSON_AddItemToArray(ms, member_json(g, &g->m[k], now));
        cJSON_AddItemToArray(list, o);
    }
    char *text = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    pthread_mutex_lock(&h->lock);
    free(h->status_json);
    h->status_json = text;
    for (size_t i = 0; i < h->ng; i++)
        h->g[i].pub_lease_until = h->g[i].lease_until;
    pthread_mutex_unlock(&h->lock);
}

/* The lease of a member here is certain only until lease_until: a copy read later (the
 * engine's thread paused or stuck in a round) says so at once, not at the next round. */
cJSON *ha_status(ha *h)
{
    int64_t now = ha_now();
    pthread_mutex_lock(&h->lock);
    cJSON *o = h->status_json ? cJSON_Parse(h->status_json) : NULL;
    for (size_t i = 0; o && i < h->ng && i < (size_t)cJSON_GetArraySize(o); i++) {
        cJSON *m;
        if (now < h->g[i].pub_lease_until)
            continue;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(cJSON_GetArrayItem(o, (int)i), "members"))
            if (cJSON_IsTrue(cJSON_GetObjectItem(m, "here")) && cJSON_IsTrue(cJSON_GetObjectItem(m, "lease")))
                cJSON_ReplaceItemInObject(m, "lease", cJSON_CreateFalse());
    }
    pthread_mutex_unlock(&h->lock);
    return o ? o : cJSON_CreateArray();
}

static cJSON *reply_error(const char *fmt, ...) PRINTF(1, 2);
static cJSON *reply_error(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return o;
}

/* A person's request, on the engine's thread (between rounds: never inside one). */
static void serve_request(ha *h)
{
    pthread_mutex_lock(&h->lock);
    cJSON *req = h->req;
    pthread_mutex_unlock(&h->lock);
    if (!req)
        return;
    const char *cmd = cJSON_GetStringValue(cJSON_GetObjectItem(req, "cmd"));
    const char *group = cJSON_GetStringValue(cJSON_GetObjectItem(req, "group"));
    const char *to = cJSON_GetStringValue(cJSON_GetObjectItem(req, "to"));
    ha_group *g = NULL;
    for (size_t i = 0; group && i < h->ng; i++)
        if (!strcmp(h->g[i].cfg->name, group))
            g = &h->g[i];
    cJSON *reply;
    if (!g)
        reply = reply_error("no [postgres \"%s\"] group is managed by this agent", group ? group : "");
    else if (cmd && !strcmp(cmd, "switchover"))
        reply = ha_switchover(h, g, to);
    else if (cmd && !strcmp(cmd, "failover"))
        reply = ha_failover(h, g, to);
    else
        reply = reply_error("unknown request '%s'", cmd ? cmd : "");
    pthread_mutex_lock(&h->lock);
    if (h->abandoned) { /* its asker gave up waiting: the answer goes to nobody, not the next one */
        cJSON_Delete(reply);
        h->abandoned = 0;
    } else {
        h->reply = reply;
    }
    cJSON_Delete(h->req);
    h->req = NULL;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

cJSON *ha_request(ha *h, const cJSON *req)
{
    pthread_mutex_lock(&h->lock);
    while (h->req && !atomic_load(&h->stop)) /* one request at a time */
        pthread_cond_wait(&h->cond, &h->lock);
    h->req = cJSON_Duplicate(req, 1);
    cJSON *reply = NULL;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120; /* a switchover waits for WAL and a promotion: bounded */
    while (!h->reply && !atomic_load(&h->stop))
        if (pthread_cond_timedwait(&h->cond, &h->lock, &until) != 0)
            break;
    reply = h->reply;
    h->reply = NULL;
    if (!reply) { /* gave up waiting: the engine finishes it and drops the answer */
        reply = reply_error("%s", "the engine did not finish the request within 120 s; see lifeline status");
        if (h->req)
            h->abandoned = 1;
    }
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    return reply;
}

/* At start: a member that could not be rewound after a failover is said now, not then. */
static void check_rewind(ha *h)
{
    for (size_t i = 0; i < h->ng; i++)
        for (size_t k = 0; k < h->g[i].n; k++) {
            ha_member *m = &h->g[i].m[k];
            int possible = 1;
            char why[300] = "";
            if (m->here && m->cfg->data_dir && pgctl_rewind_possible(m->cfg, &possible, why, sizeof why) == 0 &&
                !possible)
                ha_say(h, "check", &h->g[i], m, "warning", NULL, "%s cannot be rewound after a failover (%s): set "
                       "wal_log_hints = on, or it will have to be rebuilt from the repository", m->cfg->name, why);
        }
}

/* Between rounds, on a shared store: whether a key held elsewhere has gone (its holder's
 * lease expired). A standby's agent then runs its round at once rather than at the next
 * tick: most of a host loss's outage is the lease's expiry, and this cuts the rest. */
static int leader_gone(ha *h)
{
    if (!strcmp(coord_backend_name(h->co), "local"))
        return 0; /* the lease lives in this process: nothing expires behind its back */
    for (size_t i = 0; i < h->ng; i++) {
        ha_group *g = &h->g[i];
        coord_leader cur;
        if (g->holding[0] || !g->leader_known || !g->leader.exists)
            continue;
        if (coord_leader_get(h->co, g->cfg->name, ha_now() + HA_WATCH_MS, &cur) == 0 && !cur.exists)
            return 1;
    }
    return 0;
}

/* Until the next tick: a person's request or a key gone elsewhere ends the wait early. */
static void wait_tick(ha *h, int64_t t0)
{
    int64_t left = t0 + h->tick_ms - ha_now(), next_watch = ha_now() + HA_WATCH_MS;
    while (left > 0 && !atomic_load(&h->stop)) {
        int64_t step = left > 50 ? 50 : left;
        pthread_mutex_lock(&h->lock);
        int pending = h->req != NULL;
        pthread_mutex_unlock(&h->lock);
        if (pending)
            return;
        if (ha_now() >= next_watch) {
            if (leader_gone(h))
                return;
            next_watch = ha_now() + HA_WATCH_MS;
        }
        usleep((useconds_t)step * 1000);
        left = t0 + h->tick_ms - ha_now();
    }
}

static void *ha_main(void *arg)
{
    ha *h = arg;
    check_rewind(h);
    while (!atomic_load(&h->stop)) {
        int64_t t0 = ha_now();
        for (size_t i = 0; i < h->ng; i++)
            ha_group_round(h, &h->g[i]);
        publish_status(h);
        serve_request(h);
        wait_tick(h, t0);
    }
    return NULL;
}

int ha_start(const config *cfg, const char *node, const char *state_db, const ha_hooks *hooks, ha **out)
{
    *out = NULL;
    if (!cfg->npg_groups)
        return 0;
    ha *h = calloc(1, sizeof *h);
    if (!h)
        return err_set(ERR_FATAL, "out of memory");
    h->cfg = cfg;
    snprintf(h->node, sizeof h->node, "%s", node);
    h->hooks = *hooks;
    h->ttl_ms = cfg->coord.ttl_ms;
    /* fence a margin before the lease could have expired anywhere: a fifth of it, at least 1 s */
    h->margin_ms = h->ttl_ms / 5 > 1000 ? h->ttl_ms / 5 : 1000;
    int64_t loop = (cfg->watch.loop > 0 ? cfg->watch.loop : 1) * 1000;
    h->tick_ms = loop < h->ttl_ms / 4 ? loop : h->ttl_ms / 4;
    h->query_ms = h->tick_ms < 2000 ? 2000 : h->tick_ms;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    int rc = build_groups(h);
    if (!rc && !h->ng) {
        ha_stop(&h);
        return 0;
    }
    if (!rc)
        rc = state_open(state_db, 5000, &h->st);
    if (!rc)
        rc = coord_open(cfg, h->st, node, &h->co);
    if (!rc && pthread_create(&h->thread, NULL, ha_main, h) != 0)
        rc = err_set(ERR_FATAL, "cannot start the failover engine's thread");
    if (rc) {
        ha_stop(&h);
        return rc;
    }
    *out = h;
    return 0;
}

void ha_stop(ha **hp)
{
    ha *h = *hp;
    if (!h)
        return;
    atomic_store(&h->stop, 1);
    pthread_mutex_lock(&h->lock);
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    if (h->thread)
        pthread_join(h->thread, NULL);
    for (size_t i = 0; i < h->ng; i++)
        free(h->g[i].m);
    free(h->g);
    coord_close(&h->co);
    state_close(&h->st);
    cJSON_Delete(h->req);
    cJSON_Delete(h->reply);
    free(h->status_json);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
    *hp = NULL;
}
