/* ha_act — what the engine does to members: promote (with a new epoch, the
 * on-role-change hook and an incident), fence (stop, else refuse writes, and the
 * configured fence-command), and a person's switchover (zero loss: the old
 * primary refuses writes, the target receives all of its WAL, then is promoted) and
 * forced failover. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/proc.h"
#include "ha_impl.h"

void ha_hook(ha *h, ha_group *g, ha_member *m, const char *command, const char *role)
{
    if (!command)
        return;
    char e1[96], e2[96], e3[64], e4[64], out[512];
    snprintf(e1, sizeof e1, "LIFELINE_GROUP=%s", g->cfg->name);
    snprintf(e2, sizeof e2, "LIFELINE_MEMBER=%s", m->cfg->name);
    snprintf(e3, sizeof e3, "LIFELINE_ROLE=%s", role);
    snprintf(e4, sizeof e4, "LIFELINE_EPOCH=%lld", (long long)g->epoch);
    const char *env[] = {e1, e2, e3, e4, NULL};
    proc_result r;
    char what[128];
    if (proc_run_leave(command, 60000, env, NULL, out, sizeof out, &r) != 0) {
        ha_say(h, "hook", g, m, "failed", "warning", "%s", err_msg());
        return;
    }
    proc_describe(&r, what, sizeof what);
    out[strcspn(out, "\n")] = '\0';
    ha_say(h, "hook", g, m, r.exited && !r.status ? "ok" : "failed", r.exited && !r.status ? NULL : "warning",
           "%s for %s as %s: %s%s%s", command == g->cfg->fence_command ? "fence-command" : "on-role-change",
           m->cfg->name, role, what, out[0] ? ": " : "", out);
}

int ha_fence(ha *h, ha_group *g, ha_member *m, const char *why)
{
    int rc = -1, stopped = 0, killed = 0;
    /* immediate: a server that handles its signals is down within a second or so; one
     * that does not (paused, hung) is killed outright rather than keep the round (and the
     * lease it renews) waiting */
    if (m->here && m->cfg->data_dir && !(stopped = (rc = pgctl_stop(m->cfg, "immediate", 3000)) == 0)) {
        LOG_WARN("%s: %s; killing it", m->cfg->name, err_msg());
        stopped = killed = (rc = pgctl_kill(m->cfg, 5000)) == 0;
    }
    if (rc && m->st.reachable) /* not here, or it would not stop: it refuses writes at least */
        rc = pgctl_fence(m->cfg->conninfo, h->query_ms);
    m->fenced = 1;
    m->rejoin_at = 0;
    if (stopped) { /* stopped: what this round saw of it is over */
        m->st.reachable = 0;
        snprintf(m->role, sizeof m->role, "down");
    }
    ha_say(h, "fence", g, m, rc ? "failed" : "ok", "warning", "%s fenced (%s): %s", m->cfg->name,
           killed ? "killed: it did not stop" : m->here ? "stopped" : "refuses writes", why);
    ha_hook(h, g, m, g->cfg->fence_command, "fenced");
    return rc;
}

int ha_promote(ha *h, ha_group *g, ha_member *to, int seize, char *err, size_t cap)
{
    int64_t epoch = 0, sent = ha_now();
    int won = 0, rc;
    if (seize) {
        rc = coord_seize(h->co, g->cfg->name, to->cfg->name, h->ttl_ms, sent + h->query_ms, &epoch);
        won = !rc;
    } else {
        if (g->holding[0] && coord_release(h->co, g->cfg->name, sent + h->query_ms) != 0)
            LOG_DEBUG("%s: release: %s", g->cfg->name, err_msg());
        g->holding[0] = '\0';
        rc = coord_acquire(h->co, g->cfg->name, to->cfg->name, h->ttl_ms, sent + h->query_ms, &won, &epoch, NULL);
    }
    if (rc || !won) {
        snprintf(err, cap, "%s", rc ? err_msg() : "another member holds the group's key");
        return rc ? rc : ERR_LOCKED;
    }
    snprintf(g->holding, sizeof g->holding, "%s", to->cfg->name);
    g->lease_until = sent + h->ttl_ms - h->margin_ms;
    g->epoch = epoch;
    if (to->here)
        rc = pgctl_promote(to->cfg->conninfo, 30000);
    else
        rc = err_set(ERR_USAGE, "%s is managed by the agent on %s", to->cfg->name, to->cfg->node);
    if (rc) {
        snprintf(err, cap, "%s", err_msg());
        return rc;
    }
    char title[300];
    snprintf(title, sizeof title, "%s failed over: %s promoted (epoch %lld)", g->cfg->name, to->cfg->name,
             (long long)epoch);
    if (!g->incident && h->hooks.incident) {
        h->hooks.incident(h->hooks.ctx, g->cfg->name, 1, title);
        g->incident = 1;
    }
    ha_say(h, "promote", g, to, "ok", "warning", "%s is the primary of %s now (epoch %lld)", to->cfg->name,
           g->cfg->name, (long long)epoch);
    snprintf(to->role, sizeof to->role, "primary");
    to->fenced = 0;
    ha_hook(h, g, to, g->cfg->on_role_change, "primary");
    return 0;
}

static cJSON *reply(const char *error)
{
    cJSON *o = cJSON_CreateObject();
    if (error)
        cJSON_AddStringToObject(o, "error", error);
    else
        cJSON_AddBoolToObject(o, "ok", 1);
    return o;
}

/* Waits until to has received everything up to lsn: 0, or -1 at the deadline. */
static int wait_received(ha *h, ha_member *to, uint64_t lsn, int64_t deadline)
{
    while (ha_now() < deadline) {
        pg_state st;
        if (pgctl_query(to->cfg->conninfo, h->query_ms, &st) == 0 && st.receive_lsn >= lsn)
            return 0;
        usleep(50000);
    }
    return -1;
}

/* A switchover to a member on another node: only its agent may promote it. This one
 * names it in its published status, gives the key up, and waits until that agent has
 * taken it (it does within a fraction of a second: it watches for the key's end). */
static int hand_over(ha *h, ha_group *g, ha_member *to, char *err, size_t cap)
{
    int64_t deadline = ha_now() + 2 * h->ttl_ms + 5000;
    snprintf(g->handover, sizeof g->handover, "%s", to->cfg->name);
    g->handover_until = deadline;
    ha_group_publish(h, g);
    if (coord_release(h->co, g->cfg->name, ha_now() + h->query_ms) != 0) {
        snprintf(err, cap, "cannot give the key up: %s", err_msg());
        g->handover[0] = '\0';
        ha_group_publish(h, g);
        return ERR_LOCKED;
    }
    g->holding[0] = '\0';
    g->lease_until = 0;
    int64_t next_publish = ha_now() + 1000;
    while (ha_now() < deadline) {
        coord_leader cur;
        if (coord_leader_get(h->co, g->cfg->name, ha_now() + h->query_ms, &cur) == 0 && cur.exists) {
            g->handover[0] = '\0';
            g->leader = cur;
            g->leader_known = 1;
            g->epoch = cur.epoch;
            ha_group_publish(h, g);
            if (strcmp(cur.holder, to->cfg->name)) {
                snprintf(err, cap, "%s took the key, not %s", cur.holder, to->cfg->name);
                return ERR_LOCKED;
            }
            return 0;
        }
        if (ha_now() >= next_publish) { /* the status lives under this agent's lease: kept fresh */
            ha_group_publish(h, g);
            next_publish = ha_now() + 1000;
        }
        usleep(50000);
    }
    g->handover[0] = '\0';
    ha_group_publish(h, g);
    snprintf(err, cap, "the agent of %s on %s did not take the key within %lld ms", to->cfg->name, to->cfg->node,
             (long long)(2 * h->ttl_ms + 5000));
    return ERR_SOURCE;
}

cJSON *ha_switchover(ha *h, ha_group *g, const char *to_name)
{
    char msg[400];
    ha_member *p = ha_member_named(g, g->holding);
    if (!p || strcmp(p->role, "primary")) {
        const char *holder = g->leader_known && g->leader.exists ? g->leader.holder : NULL;
        ha_member *lm = ha_member_named(g, holder);
        snprintf(msg, sizeof msg, "the primary of %s is not managed here: run the switchover on %s", g->cfg->name,
                 lm ? lm->cfg->node : "the node of its primary");
        return reply(msg);
    }
    ha_member *to = to_name ? ha_member_named(g, to_name) : NULL;
    if (to_name && !to) {
        snprintf(msg, sizeof msg, "%s has no member %s", g->cfg->name, to_name);
        return reply(msg);
    }
    /* the best streaming standby, here or on another node (there: as its agent published it) */
    ha_member *best = NULL;
    for (size_t i = 0; !to && i < g->n; i++) {
        ha_member *m = &g->m[i];
        if (m == p || strcmp(m->role, "standby") || !m->st.streaming || !m->cfg->priority)
            continue;
        if (!best || m->st.receive_lsn > best->st.receive_lsn ||
            (m->st.receive_lsn == best->st.receive_lsn && m->cfg->priority > best->cfg->priority))
            best = m;
    }
    if (!to && g->cfg->synchronous != SYNC_OFF && g->sync_member[0])
        to = ha_member_named(g, g->sync_member); /* it has every commit already: the quickest */
    if (!to)
        to = best;
    if (!to || strcmp(to->role, "standby") || !to->st.streaming) {
        snprintf(msg, sizeof msg, "no streaming standby to switch %s over to%s%s", g->cfg->name, to ? ": " : "",
                 to ? to->cfg->name : "");
        return reply(msg);
    }
    int64_t t0 = ha_now();
    ha_say(h, "switchover", g, p, "started", NULL, "switchover of %s from %s to %s", g->cfg->name, p->cfg->name,
           to->cfg->name);
    pg_state st;
    ha_status_lease_gone(h, g); /* /primary says no from here: the proxy lets go of it meanwhile */
    /* no write is acknowledged past this point on the old primary */
    if (pgctl_fence(p->cfg->conninfo, h->query_ms) != 0 || pgctl_query(p->cfg->conninfo, h->query_ms, &st) != 0) {
        snprintf(msg, sizeof msg, "cannot make %s refuse writes: %s", p->cfg->name, err_msg());
        if (pgctl_unfence(p->cfg->conninfo, h->query_ms) != 0)
            LOG_WARN("%s: %s", p->cfg->name, err_msg());
        return reply(msg);
    }
    if (wait_received(h, to, st.current_lsn, ha_now() + 30000) != 0) {
        if (pgctl_unfence(p->cfg->conninfo, h->query_ms) != 0)
            LOG_WARN("%s: %s", p->cfg->name, err_msg());
        snprintf(msg, sizeof msg, "%s did not receive the old primary's WAL within 30 s: switchover abandoned, %s "
                 "takes writes again", to->cfg->name, p->cfg->name);
        ha_say(h, "switchover", g, p, "failed", "warning", "%s", msg);
        return reply(msg);
    }
    if (pgctl_stop(p->cfg, "fast", 30000) != 0 && pgctl_stop(p->cfg, "immediate", 15000) != 0)
        LOG_WARN("%s: %s", p->cfg->name, err_msg());
    p->fenced = 1;
    char err[300];
    if (!to->here ? hand_over(h, g, to, err, sizeof err) != 0 : ha_promote(h, g, to, 0, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "promotion of %s failed: %s (the old primary %s is stopped)", to->cfg->name, err,
                 p->cfg->name);
        ha_say(h, "switchover", g, to, "failed", "critical", "%s", msg);
        return reply(msg);
    }
    g->leader.exists = 1;
    g->leader_known = 1;
    snprintf(g->leader.holder, sizeof g->leader.holder, "%s", to->cfg->name);
    g->leader.epoch = g->epoch;
    int64_t outage = ha_now() - t0;
    if (pgctl_follow(p->cfg, to->cfg->conninfo, 60000) == 0)
        p->fenced = 0; /* a clean switchover needs no rewind */
    ha_say(h, "switchover", g, to, "ok", NULL, "%s switched over from %s to %s (epoch %lld) in %.2fs; %s %s",
           g->cfg->name, p->cfg->name, to->cfg->name, (long long)g->epoch, (double)outage / 1000.0, p->cfg->name,
           p->fenced ? "will rejoin" : "follows");
    g->incident = 0;
    if (h->hooks.incident)
        h->hooks.incident(h->hooks.ctx, g->cfg->name, 0, "switchover done");
    cJSON *o = reply(NULL);
    cJSON_AddStringToObject(o, "from", p->cfg->name);
    cJSON_AddStringToObject(o, "to", to->cfg->name);
    cJSON_AddNumberToObject(o, "epoch", (double)g->epoch);
    cJSON_AddNumberToObject(o, "seconds", (double)outage / 1000.0);
    return o;
}

cJSON *ha_failover(ha *h, ha_group *g, const char *to_name)
{
    char msg[400], err[300];
    ha_member *to = ha_member_named(g, to_name);
    if (!to) {
        snprintf(msg, sizeof msg, "%s has no member %s", g->cfg->name, to_name ? to_name : "(none given: --to)");
        return reply(msg);
    }
    if (!to->here || strcmp(to->role, "standby")) {
        snprintf(msg, sizeof msg, "%s is %s%s", to->cfg->name, to->here ? "not a standby: " : "managed on ",
                 to->here ? to->role : to->cfg->node);
        return reply(msg);
    }
    uint64_t lag = g->last_primary_lsn && (uint64_t)g->last_primary_lsn > to->st.receive_lsn
                       ? (uint64_t)g->last_primary_lsn - to->st.receive_lsn
                       : 0;
    for (size_t i = 0; i < g->n; i++) /* the old primary, where it still runs, is fenced first */
        if (&g->m[i] != to && !strcmp(g->m[i].role, "primary"))
            (void)ha_fence(h, g, &g->m[i], "a forced failover");
    if (ha_promote(h, g, to, 1, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "promotion of %s failed: %s", to->cfg->name, err);
        return reply(msg);
    }
    ha_say(h, "failover", g, to, "forced", "warning", "forced failover of %s to %s (epoch %lld); up to %llu bytes "
           "of WAL the old primary had may be lost", g->cfg->name, to->cfg->name, (long long)g->epoch,
           (unsigned long long)lag);
    cJSON *o = reply(NULL);
    cJSON_AddStringToObject(o, "to", to->cfg->name);
    cJSON_AddNumberToObject(o, "epoch", (double)g->epoch);
    cJSON_AddNumberToObject(o, "possible_loss_bytes", (double)lag);
    return o;
}
