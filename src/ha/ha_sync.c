/* ha_sync — synchronous mode (`synchronous = on | strict`): the primary's agent owns
 * synchronous_standby_names. The rule of the design notes: a standby is added there
 * before it is published as the sync candidate, and unpublished before it is removed;
 * only the published candidate may be promoted automatically, so a failover never
 * chooses a standby that may lack acknowledged commits. With no streaming standby,
 * `on` lets writes go on unprotected (names emptied, nobody published: no automatic
 * failover then), `strict` keeps the names and so blocks writes rather than run
 * without one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "ha_impl.h"

/* The replica's row of pg_stat_replication, or NULL. */
static const pg_replica *row_of(const pg_replica *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(r[i].name, name))
            return &r[i];
    return NULL;
}

/* The streaming standby to make synchronous: highest priority, then name. */
static ha_member *pick(ha_group *g, const ha_member *primary, const pg_replica *r, size_t n)
{
    ha_member *best = NULL;
    for (size_t i = 0; i < g->n; i++) {
        ha_member *m = &g->m[i];
        const pg_replica *row = row_of(r, n, m->cfg->name);
        if (m == primary || !m->cfg->priority || !row || strcmp(row->state, "streaming"))
            continue;
        if (!best || m->cfg->priority > best->cfg->priority ||
            (m->cfg->priority == best->cfg->priority && strcmp(m->cfg->name, best->cfg->name) < 0))
            best = m;
    }
    return best;
}

void ha_sync_manage(ha *h, ha_group *g, ha_member *primary)
{
    if (g->cfg->synchronous == SYNC_OFF || !primary || !primary->here || strcmp(primary->role, "primary")) {
        g->sync_alone = 0; /* a primary here again later says it again */
        return;
    }
    pg_replica *r = NULL;
    size_t n = 0;
    if (pgctl_replicas(primary->cfg->conninfo, h->query_ms, &r, &n) != 0) {
        free(r);
        return;
    }
    const pg_replica *cur = g->sync_member[0] ? row_of(r, n, g->sync_member) : NULL;
    if (cur && !strcmp(cur->state, "streaming")) { /* the published one is fine */
        free(r);
        return;
    }
    ha_member *next = pick(g, primary, r, n);
    const pg_replica *nrow = next ? row_of(r, n, next->cfg->name) : NULL;
    if (next && nrow && !strcmp(nrow->sync_state, "sync")) {
        /* in synchronous_standby_names and confirmed by the server: publish it */
        snprintf(g->sync_member, sizeof g->sync_member, "%s", next->cfg->name);
        g->sync_alone = 0;
        ha_say(h, "sync", g, next, "ok", NULL, "%s is the synchronous standby of %s: only it may be promoted",
               next->cfg->name, g->cfg->name);
    } else if (next) {
        /* unpublish first, then name the new one; it is published once it is sync */
        g->sync_member[0] = '\0';
        if (pgctl_set_sync(primary->cfg->conninfo, next->cfg->name, h->query_ms) != 0)
            LOG_WARN("%s: %s", g->cfg->name, err_msg());
    } else if (!g->sync_alone) { /* once, not every round: a warning and an alert each tick is noise */
        const char *was = g->sync_member[0] ? g->sync_member : "none";
        ha_say(h, "sync", g, NULL, g->cfg->synchronous == SYNC_STRICT ? "blocked" : "unprotected", "warning",
               "no streaming standby for %s (was %s): %s", g->cfg->name, was,
               g->cfg->synchronous == SYNC_STRICT ? "writes wait until one is back (strict)"
                                                   : "writes go on without a synchronous standby; no automatic "
                                                     "failover until one is back");
        g->sync_member[0] = '\0';
        if (g->cfg->synchronous == SYNC_ON && pgctl_set_sync(primary->cfg->conninfo, "", h->query_ms) != 0)
            LOG_WARN("%s: %s", g->cfg->name, err_msg()); /* said again and retried next round */
        else
            g->sync_alone = 1;
    }
    free(r);
}
