/* ha_group — one round of a group: look at every member (the ones here by query, the
 * others through what their agents published), read the leader key, then decide:
 * renew or fence the primary's lease, adopt a primary nobody holds, fail over when the
 * primary is gone, make standbys follow the leader, rejoin a former primary, and
 * detect two primaries. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "ha_impl.h"

ha_member *ha_member_named(ha_group *g, const char *name)
{
    for (size_t i = 0; name && i < g->n; i++)
        if (!strcmp(g->m[i].cfg->name, name))
            return &g->m[i];
    return NULL;
}

/* A process that is gone, or a zombie (dead, not reaped: its parent may be a PID 1
 * that reaps nothing, as in some containers); our own zombie child is reaped here. */
static int process_dead(pid_t pid)
{
    if (waitpid(pid, NULL, WNOHANG) == pid)
        return 1;
    if (kill(pid, 0) != 0 && errno != EPERM)
        return 1;
    return pgctl_pid_gone(pid);
}

int ha_postmaster_alive(const ha_member *m)
{
    if (!m->cfg->data_dir)
        return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/postmaster.pid", m->cfg->data_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long pid = 0;
    int got = fscanf(f, "%ld", &pid);
    fclose(f);
    if (got != 1 || pid <= 0)
        return 0;
    if (!process_dead((pid_t)pid))
        return 1;
    /* a dead postmaster's lock file would make PostgreSQL refuse to start when the pid
     * is a zombie (kill(pid, 0) succeeds): it is stale, so it goes */
    if (unlink(path) != 0 && errno != ENOENT)
        LOG_WARN("%s: %s", path, strerror(errno));
    return 0;
}

static void set_role(ha_member *m)
{
    const char *r = !m->st.reachable ? "down" : m->st.primary ? (m->st.read_only ? "fenced" : "primary") : "standby";
    snprintf(m->role, sizeof m->role, "%s", r);
}

/* Members here: queried. Peers: their agents' published status (etcd). */
static void look(ha *h, ha_group *g, int64_t now)
{
    coord_status *pub = NULL;
    size_t npub = 0;
    if (coord_status_list(h->co, g->cfg->name, ha_deadline(h, g), &pub, &npub) != 0)
        LOG_DEBUG("%s: %s", g->cfg->name, err_msg());
    g->handover_seen[0] = '\0';
    for (size_t i = 0; i < g->n; i++) {
        ha_member *m = &g->m[i];
        m->fresh = 0;
        if (m->here) {
            int64_t left = ha_deadline(h, g) - ha_now();
            if (pgctl_query(m->cfg->conninfo, left > 100 ? left : 100, &m->st) != 0) {
                memset(&m->st, 0, sizeof m->st);
                snprintf(m->st.detail, sizeof m->st.detail, "%s", err_msg());
            }
            m->fresh = 1;
        } else {
            memset(&m->st, 0, sizeof m->st);
            snprintf(m->st.detail, sizeof m->st.detail, "no status from its agent (node %s)", m->cfg->node);
            for (size_t k = 0; k < npub; k++)
                if (!strcmp(pub[k].member, m->cfg->name)) {
                    cJSON *o = cJSON_Parse(pub[k].json);
                    m->st.reachable = cJSON_IsTrue(cJSON_GetObjectItem(o, "reachable"));
                    m->st.primary = cJSON_IsTrue(cJSON_GetObjectItem(o, "primary"));
                    m->st.read_only = cJSON_IsTrue(cJSON_GetObjectItem(o, "read_only"));
                    m->st.streaming = cJSON_IsTrue(cJSON_GetObjectItem(o, "streaming"));
                    m->st.timeline = (uint32_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "timeline"));
                    (void)pgctl_parse_lsn(cJSON_GetStringValue(cJSON_GetObjectItem(o, "lsn")), &m->st.current_lsn);
                    m->st.receive_lsn = m->st.replay_lsn = m->st.current_lsn;
                    const char *sy = cJSON_GetStringValue(cJSON_GetObjectItem(o, "sync"));
                    if (sy && m->st.primary) /* the primary's agent publishes the sync standby */
                        snprintf(g->sync_member, sizeof g->sync_member, "%s", sy);
                    const char *ho = cJSON_GetStringValue(cJSON_GetObjectItem(o, "handover"));
                    if (ho) /* a switchover: that agent gives the key to this member */
                        snprintf(g->handover_seen, sizeof g->handover_seen, "%s", ho);
                    const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(o, "detail"));
                    snprintf(m->st.detail, sizeof m->st.detail, "%s", d ? d : "");
                    m->fresh = 1;
                    cJSON_Delete(o);
                }
        }
        set_role(m);
        if (m->st.reachable)
            m->down_since = 0;
        else if (!m->down_since)
            m->down_since = now;
        if (m->st.reachable && m->st.primary)
            g->last_primary_lsn = (int64_t)m->st.current_lsn;
    }
    coord_status_free(&pub, npub);
}

/* What this agent publishes of its members for the others (etcd). */
static void publish(ha *h, ha_group *g)
{
    if (g->handover[0] && ha_now() >= g->handover_until)
        g->handover[0] = '\0'; /* not taken in time: the usual rules choose */
    for (size_t i = 0; i < g->n; i++) {
        ha_member *m = &g->m[i];
        if (!m->here)
            continue;
        char lsn[32];
        /* a standby's: what it has, received or replayed (its receiver may not run), as
         * candidate() counts it, so every agent ranks the standbys alike */
        uint64_t have = m->st.receive_lsn > m->st.replay_lsn ? m->st.receive_lsn : m->st.replay_lsn;
        pgctl_format_lsn(m->st.primary ? m->st.current_lsn : have, lsn, sizeof lsn);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "reachable", m->st.reachable);
        cJSON_AddBoolToObject(o, "primary", m->st.primary);
        cJSON_AddBoolToObject(o, "read_only", m->st.read_only);
        cJSON_AddBoolToObject(o, "streaming", m->st.streaming);
        cJSON_AddNumberToObject(o, "timeline", m->st.timeline);
        cJSON_AddStringToObject(o, "lsn", lsn);
        cJSON_AddStringToObject(o, "detail", m->st.detail);
        if (m->st.primary && !strcmp(g->holding, m->cfg->name))
            cJSON_AddStringToObject(o, "sync", g->sync_member);
        if (g->handover[0])
            cJSON_AddStringToObject(o, "handover", g->handover);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (text && coord_status_put(h->co, g->cfg->name, m->cfg->name, text, h->ttl_ms, ha_deadline(h, g)) != 0)
            LOG_DEBUG("%s/%s: %s", g->cfg->name, m->cfg->name, err_msg());
        free(text);
    }
}

void ha_group_publish(ha *h, ha_group *g) { publish(h, g); }

/* The group's hold: a person's pause or an escalation, of the group or of everything. */
static void read_hold(ha *h, ha_group *g)
{
    state_hold *list;
    size_t n;
    g->held[0] = '\0';
    if (state_hold_list(h->st, &list, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (!list[i].released_ms && (!strcmp(list[i].target, g->cfg->name) || !strcmp(list[i].target, "*")))
            snprintf(g->held, sizeof g->held, "%s (%s by %s)", list[i].reason, list[i].kind, list[i].by);
    state_holds_free(&list, n);
}

/* The lease is gone or no longer certain: the server stops (whatever this agent last
 * saw of it: a server that did not answer in time may still accept writes), then the
 * key is released. */
static void lease_lost(ha *h, ha_group *g, ha_member *m, const char *how)
{
    char why[300];
    snprintf(why, sizeof why, "lease of %s %s", g->cfg->name, how);
    g->holding[0] = '\0';
    g->lease_until = 0;
    if (m->here) { /* the last primary: if nobody else may take over, it comes back (reclaim) */
        snprintf(g->fenced_self, sizeof g->fenced_self, "%s", m->cfg->name);
        g->fenced_epoch = g->epoch;
    }
    if (!m->here || ha_fence(h, g, m, why) != 0)
        return; /* it may still run: the key is left to expire */
    /* stopped: the key is given up (the others need not wait for the store to expire
     * it), and forgotten here even when the store does not answer (cut off) */
    if (coord_release(h->co, g->cfg->name, ha_now() + 1000) != 0)
        LOG_DEBUG("%s: release: %s", g->cfg->name, err_msg());
}

/* The primary here whose key this agent holds: renew, and fence when the lease is no
 * longer certain by this agent's own clock. */
static void keep_lease(ha *h, ha_group *g)
{
    ha_member *m = ha_member_named(g, g->holding);
    if (!m)
        return;
    int64_t sent = ha_now();
    int rc = coord_renew(h->co, g->cfg->name, ha_deadline(h, g));
    if (rc == 0) {
        g->lease_until = sent + h->ttl_ms - h->margin_ms;
        return;
    }
    LOG_DEBUG("%s: lease renewal: %s", g->cfg->name, err_msg());
    /* by the clock now, not the round's start: the store's calls may have taken it */
    if (rc == ERR_NOTFOUND || ha_now() >= g->lease_until)
        lease_lost(h, g, m, rc == ERR_NOTFOUND ? "lost (the store no longer has it)" : "not renewed in time");
}

/* The best standby to promote (here_only: of those managed here): reachable, priority
 * > 0, highest LSN, then priority, then name; NULL (and why) when none may be. */
static ha_member *candidate(ha *h, ha_group *g, int here_only, char *why, size_t cap)
{
    (void)h;
    ha_member *best = NULL;
    for (size_t i = 0; i < g->n; i++) {
        ha_member *m = &g->m[i];
        if (strcmp(m->role, "standby") || !m->cfg->priority || (here_only && !m->here))
            continue;
        if (g->cfg->synchronous != SYNC_OFF && strcmp(m->cfg->name, g->sync_member))
            continue; /* synchronous mode: only the published sync standby has every commit */
        uint64_t lsn = m->st.receive_lsn > m->st.replay_lsn ? m->st.receive_lsn : m->st.replay_lsn;
        uint64_t blsn = best ? (best->st.receive_lsn > best->st.replay_lsn ? best->st.receive_lsn : best->st.replay_lsn)
                             : 0;
        if (!best || lsn > blsn || (lsn == blsn && (m->cfg->priority > best->cfg->priority ||
                                                    (m->cfg->priority == best->cfg->priority &&
                                                     strcmp(m->cfg->name, best->cfg->name) < 0))))
            best = m;
    }
    if (!best && g->cfg->synchronous != SYNC_OFF) {
        snprintf(why, cap, "no synchronous standby of %s may be promoted (published: %s)", g->cfg->name,
                 g->sync_member[0] ? g->sync_member : "none");
        return NULL;
    }
    if (!best) {
        snprintf(why, cap, "no standby of %s may be promoted (none reachable with priority above 0)", g->cfg->name);
        return NULL;
    }
    uint64_t lsn = best->st.receive_lsn > best->st.replay_lsn ? best->st.receive_lsn : best->st.replay_lsn;
    if (g->last_primary_lsn && (uint64_t)g->last_primary_lsn > lsn &&
        (uint64_t)g->last_primary_lsn - lsn > g->cfg->max_lag) {
        snprintf(why, cap, "the best standby %s lags %llu bytes behind the last primary (maximum-lag-on-failover "
                           "%llu): not promoted automatically", best->cfg->name,
                 (unsigned long long)((uint64_t)g->last_primary_lsn - lsn), (unsigned long long)g->cfg->max_lag);
        return NULL;
    }
    return best;
}

/* Two members that accept writes: the one without the lease is fenced, and the group
 * held for a person. */
static int split_brain(ha *h, ha_group *g)
{
    ha_member *primaries[8];
    size_t np = 0;
    for (size_t i = 0; i < g->n && np < 8; i++)
        if (!strcmp(g->m[i].role, "primary"))
            primaries[np++] = &g->m[i];
    if (np < 2)
        return 0;
    const char *leader = g->leader_known && g->leader.exists ? g->leader.holder : g->holding;
    char why[400];
    snprintf(why, sizeof why, "split-brain in %s: %s and %s both accept writes; %s holds the lease", g->cfg->name,
             primaries[0]->cfg->name, primaries[1]->cfg->name, leader[0] ? leader : "nobody");
    ha_say(h, "split-brain", g, NULL, "detected", "critical", "%s", why);
    if (h->hooks.incident)
        h->hooks.incident(h->hooks.ctx, g->cfg->name, 1, why);
    for (size_t i = 0; i < np; i++)
        if (strcmp(primaries[i]->cfg->name, leader))
            (void)ha_fence(h, g, primaries[i], why);
    if (state_hold_set(h->st, g->cfg->name, "escalation", why, "lifeline watch", (int64_t)time(NULL) * 1000) != 0)
        LOG_WARN("%s", err_msg());
    snprintf(g->held, sizeof g->held, "%s", why);
    return 1;
}

/* A server of the group not managed here that accepts writes, asked directly (what its
 * agent published dies with that agent's lease; its server does not): a paused or cut
 * off agent's primary still serves. NULL when none answers so. */
static ha_member *live_primary_elsewhere(ha *h, ha_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        ha_member *m = &g->m[i];
        pg_state st;
        if (!m->here && pgctl_query(m->cfg->conninfo, h->query_ms, &st) == 0 && st.reachable && st.primary &&
            !st.read_only)
            return m;
    }
    return NULL;
}

/* The primary here is down and no standby here may take over: back in place (crash
 * recovery) within what is left of the lease, else stopped and the key given up, so
 * that a standby's own agent on another node takes it (no agent promotes a member it
 * does not manage). */
static void restart_in_place(ha *h, ha_group *g, ha_member *old, const ha_member *to)
{
    int holds = !strcmp(g->holding, old->cfg->name);
    int64_t left = holds ? g->lease_until - ha_now() - 300 : 30000;
    if (holds && left < 1000 && !to)
        return; /* too little lease left this round: after the next renewal */
    if (left >= 1000) {
        ha_say(h, "restart", g, old, "started", NULL, "%s is down%s: restarting it in place (crash recovery)",
               old->cfg->name, to ? "" : " and no standby may take over");
        if (pgctl_start(old->cfg, left) == 0) {
            old->fenced = 0;
            ha_say(h, "restart", g, old, "ok", NULL, "%s is back in place", old->cfg->name);
            return;
        }
        ha_say(h, "restart", g, old, "failed", to ? "warning" : "critical", "%s", err_msg());
    }
    if (!to || !holds)
        return;
    (void)ha_fence(h, g, old, "it did not come back within the lease; a standby on another node takes over");
    if (coord_release(h->co, g->cfg->name, ha_now() + h->query_ms) != 0)
        LOG_WARN("%s: release: %s", g->cfg->name, err_msg());
    g->holding[0] = '\0';
    g->lease_until = 0;
    ha_say(h, "lease", g, old, "released", "warning", "%s gave up the lease of %s for %s's agent to take over",
           old->cfg->name, g->cfg->name, to->cfg->name);
}

/* A switchover from another node: the old primary's agent stopped it once this member
 * had all its WAL, gave the key up and names this member in its status. Promoted at once
 * when it is here; no other member is (the handover lasts until it is taken or given up). */
static void take_handover(ha *h, ha_group *g)
{
    ha_member *to = ha_member_named(g, g->handover_seen);
    if (!to || !to->here || strcmp(to->role, "standby"))
        return;
    ha_member *live = live_primary_elsewhere(h, g);
    if (live) {
        ha_say(h, "switchover", g, to, "refused", "warning", "%s is handed %s, but %s still answers as a primary",
               to->cfg->name, g->cfg->name, live->cfg->name);
        return;
    }
    char err[300];
    int open = g->incident;
    g->incident = 1; /* a planned switchover is no incident: ha_promote opens none */
    int rc = ha_promote(h, g, to, 0, err, sizeof err);
    g->incident = open;
    ha_say(h, "switchover", g, to, rc ? "failed" : "ok", rc ? "critical" : NULL, "%s %s of %s handed over by the old "
           "primary's agent%s%s", to->cfg->name, rc ? "could not take the primary role" : "took the primary role",
           g->cfg->name, rc ? ": " : "", rc ? err : "");
}

/* Nobody holds the key and no standby may be promoted (none reachable with a priority,
 * too far behind, or in synchronous mode none published as having every commit), but
 * the member here that this agent stopped when its lease ran out (a partition, a stalled
 * store) is still the latest primary: no key was taken since. It has every commit it
 * acknowledged, so it takes the key again and comes back in place, rather than the
 * group waiting for a person. The key first (atomic in the store), then the server. */
static int reclaim(ha *h, ha_group *g, int64_t now)
{
    ha_member *m = ha_member_named(g, g->fenced_self);
    char why[400];
    if (!m || !m->here || g->epoch > g->fenced_epoch || strcmp(m->role, "down") || ha_postmaster_alive(m) != 0 ||
        !g->no_leader_since || now - g->no_leader_since < h->ttl_ms || candidate(h, g, 0, why, sizeof why) ||
        live_primary_elsewhere(h, g))
        return 0;
    int64_t epoch = 0, sent = ha_now();
    int won = 0;
    if (coord_acquire(h->co, g->cfg->name, m->cfg->name, h->ttl_ms, sent + h->query_ms, &won, &epoch, NULL) != 0 ||
        !won)
        return 0;
    snprintf(g->holding, sizeof g->holding, "%s", m->cfg->name);
    g->lease_until = sent + h->ttl_ms - h->margin_ms;
    g->epoch = epoch;
    g->fenced_self[0] = '\0';
    int64_t left = g->lease_until - ha_now() - 300;
    if (pgctl_start(m->cfg, left > 1000 ? left : 1000) != 0) {
        ha_say(h, "restart", g, m, "failed", "critical", "%s (the last primary) did not start again: %s", m->cfg->name,
               err_msg());
        lease_lost(h, g, m, "given up: its server did not start");
        return 1;
    }
    m->fenced = 0;
    ha_say(h, "restart", g, m, "ok", "warning", "%s is back in place as the primary of %s (epoch %lld): no standby "
           "could take over, and no key was taken since its lease ran out", m->cfg->name, g->cfg->name,
           (long long)epoch);
    ha_hook(h, g, m, g->cfg->on_role_change, "primary");
    return 1;
}

/* The primary is gone: promote the best standby (a hot standby's promotion is faster
 * than the old primary's crash recovery) when it is managed here; with none here, the
 * old one in place when it is. A standby on another node is its own agent's to
 * promote once the key is free; this agent promotes one of its own only when none did
 * for two ttls more. Never while a server elsewhere still answers as a primary.
 * First: a primary here that stopped itself may come back (reclaim), and a
 * switchover's handover is taken by its target alone. */
static void primary_gone(ha *h, ha_group *g, ha_member *old, int64_t now)
{
    char why[400];
    if (!old && g->fenced_self[0] && reclaim(h, g, now))
        return;
    if (!old && g->handover_seen[0]) {
        take_handover(h, g);
        return; /* handed to a member: its agent takes it, nobody else */
    }
    if (!old) {
        /* nobody holds the key. With `local` (a first start, a restarted agent: the lease
         * lives in the agent) wait a whole ttl before promoting; with a shared store the
         * key's expiry already took a ttl. Never while the last holder's server here runs
         * (and never while one elsewhere answers as a primary: below). */
        int local = !strcmp(coord_backend_name(h->co), "local");
        if (!g->no_leader_since || (local && now - g->no_leader_since < h->ttl_ms))
            return;
        coord_leader last;
        if (coord_leader_last(h->co, g->cfg->name, now + h->query_ms, &last) == 0 && last.exists) {
            ha_member *was = ha_member_named(g, last.holder);
            if (was && was->here && ha_postmaster_alive(was) == 1)
                return;
            old = was && was->here ? was : NULL;
        }
    }
    ha_member *to = candidate(h, g, 0, why, sizeof why);
    if (old && old->here && (!to || !to->here) && ha_postmaster_alive(old) == 0) {
        restart_in_place(h, g, old, to);
        return;
    }
    if (to && !to->here) {
        /* a server here that runs but has not answered for a ttl: stopped, then restarted
         * in place or given up in the next round */
        if (old && old->here && now - old->down_since >= h->ttl_ms)
            (void)ha_fence(h, g, old, "it runs but has not answered for a ttl");
        if (old || !g->no_leader_since || now - g->no_leader_since < 3 * h->ttl_ms)
            return; /* its agent promotes it */
        to = candidate(h, g, 1, why, sizeof why);
    }
    if (!to) {
        if (!g->incident) {
            ha_say(h, "failover", g, NULL, "refused", "critical", "%s", why);
            g->incident = 1;
            if (h->hooks.incident)
                h->hooks.incident(h->hooks.ctx, g->cfg->name, 1, why);
        }
        return;
    }
    if (old && old->here && old->st.reachable == 0 && ha_postmaster_alive(old) == 1 &&
        now - old->down_since < h->ttl_ms)
        return; /* its postmaster runs but does not answer yet: slow, not gone; wait up to the ttl */
    ha_member *live = live_primary_elsewhere(h, g);
    if (live) {
        if (!g->refused_live) {
            snprintf(why, sizeof why, "no failover of %s to %s: %s still answers as a primary although nobody "
                     "holds the lease (its agent paused or cut off?)", g->cfg->name, to->cfg->name, live->cfg->name);
            ha_say(h, "failover", g, to, "refused", "critical", "%s", why);
            if (h->hooks.incident)
                h->hooks.incident(h->hooks.ctx, g->cfg->name, 1, why);
            g->incident = g->refused_live = 1;
        }
        return;
    }
    g->refused_live = 0;
    /* the incident starts at the detection, before the promotion */
    char title[300];
    snprintf(title, sizeof title, "%s: primary %s lost", g->cfg->name, old ? old->cfg->name : "(none holds the key)");
    if (!g->incident && h->hooks.incident) {
        h->hooks.incident(h->hooks.ctx, g->cfg->name, 1, title);
        g->incident = 1;
    }
    ha_say(h, "detection", g, old, "failed", NULL, "%s; %s is promoted", title, to->cfg->name);
    char err[300];
    if (ha_promote(h, g, to, 0, err, sizeof err) != 0)
        ha_say(h, "failover", g, to, "failed", "critical", "promotion of %s failed: %s", to->cfg->name, err);
}

void ha_group_round(ha *h, ha_group *g)
{
    int64_t now = ha_now();
    /* before anything else: a lease that ran out while this agent did not run (stopped,
     * starved) is no longer ours, whatever the store says once asked */
    /* (local: the lease lives in this process alone; nobody else can take it over) */
    ha_member *held = g->holding[0] && strcmp(coord_backend_name(h->co), "local") ? ha_member_named(g, g->holding)
                                                                                : NULL;
    if (held && now >= g->lease_until)
        lease_lost(h, g, held, "not renewed in time (this agent did not run until after the lease's end)");
    read_hold(h, g);
    look(h, g, now);
    publish(h, g);
    coord_leader cur;
    g->leader_known = coord_leader_get(h->co, g->cfg->name, ha_deadline(h, g), &cur) == 0;
    if (g->leader_known) {
        g->leader = cur;
        if (cur.exists && cur.epoch > g->epoch)
            g->epoch = cur.epoch;
        if (cur.exists && strcmp(cur.holder, g->fenced_self))
            g->fenced_self[0] = '\0'; /* another member leads: ours is a former primary */
        if (cur.exists) /* a key again: a later refusal is a new one, told again */
            g->no_leader_since = g->refused_live = 0;
        else if (!g->no_leader_since)
            g->no_leader_since = now;
    }
    if (g->holding[0])
        keep_lease(h, g);
    if (split_brain(h, g))
        return;
    ha_member *leader = g->leader_known && g->leader.exists ? ha_member_named(g, g->leader.holder) : NULL;
    /* a primary here that nobody holds: adopt it (a restart of this agent, a first start) */
    for (size_t i = 0; i < g->n && g->leader_known && !g->leader.exists; i++) {
        ha_member *m = &g->m[i];
        int64_t epoch;
        int won = 0;
        if (!m->here || strcmp(m->role, "primary") || m->fenced) /* a fenced one rejoins, never leads */
            continue;
        int64_t sent = ha_now();
        if (coord_acquire(h->co, g->cfg->name, m->cfg->name, h->ttl_ms, sent + h->query_ms, &won, &epoch, NULL) == 0 &&
            won) {
            snprintf(g->holding, sizeof g->holding, "%s", m->cfg->name);
            g->lease_until = sent + h->ttl_ms - h->margin_ms;
            g->epoch = epoch;
            leader = m;
            ha_say(h, "lease", g, m, "ok", NULL, "%s holds the lease of %s (epoch %lld)", m->cfg->name, g->cfg->name,
                   (long long)epoch);
        }
    }
    if (g->held[0]) {
        for (size_t i = 0; i < g->n; i++) /* a rejoin that ran on is still told */
            if (g->m[i].here)
                (void)ha_rejoin_busy(h, g, &g->m[i]);
        return; /* held: look and tell, change nothing */
    }
    if (leader && leader->here && !strcmp(g->holding, leader->cfg->name))
        ha_sync_manage(h, g, leader);
    else
        g->sync_alone = 0; /* not ours to manage now: a later primary here tells its own */
    if (g->leader_known && leader && leader->here && !strcmp(g->holding, leader->cfg->name) &&
        !strcmp(leader->role, "down"))
        primary_gone(h, g, leader, now);
    else if (g->leader_known && !g->leader.exists && !leader)
        primary_gone(h, g, NULL, now);
    /* a member here that is not what the leader says: make it follow */
    for (size_t i = 0; i < g->n; i++) {
        ha_member *m = &g->m[i];
        leader = g->leader_known && g->leader.exists ? ha_member_named(g, g->leader.holder) : NULL;
        if (m->here && ha_rejoin_busy(h, g, m))
            continue; /* a rejoin runs on its own thread */
        if (!m->here || !leader || m == leader || now < m->rejoin_at)
            continue;
        int wrong_primary = !strcmp(m->role, "primary") || !strcmp(m->role, "fenced");
        int lost = !strcmp(m->role, "down") || (!strcmp(m->role, "standby") && !m->st.streaming &&
                                                 m->down_since == 0 && m->fenced);
        if (wrong_primary || lost || m->fenced) {
            ha_rejoin(h, g, m);
            continue;
        }
        /* a running standby that does not stream (its upstream was the old primary) is
         * pointed at the leader without a restart */
        if (!strcmp(m->role, "standby") && !m->st.streaming) {
            if (!m->idle_since)
                m->idle_since = now;
            if (now - m->idle_since >= 3000) {
                m->rejoin_at = now + 15000;
                int rc = pgctl_repoint(m->cfg->conninfo, m->cfg->name, leader->cfg->conninfo, h->query_ms);
                ha_say(h, "repoint", g, m, rc ? "failed" : "ok", rc ? "warning" : NULL, "%s %s %s%s%s", m->cfg->name,
                       rc ? "cannot stream from" : "streams from", leader->cfg->name, rc ? ": " : "",
                       rc ? err_msg() : "");
            }
        } else if (!strcmp(m->role, "standby") && m->st.upstream[0] && !strcmp(leader->role, "primary") &&
                   !pgctl_streams_from(m->st.upstream, leader->cfg->conninfo)) {
            /* streaming, but from another standby (it caught the old primary back as a
             * standby before the repoint): a later loss of that one would cut it off too */
            m->idle_since = 0;
            m->rejoin_at = now + 15000;
            int rc = pgctl_repoint(m->cfg->conninfo, m->cfg->name, leader->cfg->conninfo, h->query_ms);
            ha_say(h, "repoint", g, m, rc ? "failed" : "ok", rc ? "warning" : NULL, "%s streamed from %s, not from "
                   "the primary %s: %s%s", m->cfg->name, m->st.upstream, leader->cfg->name,
                   rc ? "cannot repoint it: " : "repointed", rc ? err_msg() : "");
        } else {
            m->idle_since = 0;
        }
    }
    if (g->incident && leader && !strcmp(leader->role, "primary")) {
        int all_ok = 1;
        for (size_t i = 0; i < g->n; i++)
            all_ok &= &g->m[i] == leader || (!strcmp(g->m[i].role, "standby") && !g->m[i].rj);
        if (all_ok) {
            g->incident = 0;
            if (h->hooks.incident)
                h->hooks.incident(h->hooks.ctx, g->cfg->name, 0, "every member is back: primary and standbys");
        }
    }
}
