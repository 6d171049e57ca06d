/* coord — see coord.h. The front of the module: picks the backend of [coordination],
 * checks every argument once (so the backends may trust names, TTLs and deadlines),
 * and keeps the table of keys this process holds, which both backends share. */
#include "coord_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/buf.h"

/* Group and member names go into etcd keys (/lifeline/GROUP/status/MEMBER): no '/',
 * no control characters, and they fit the 64-byte fields of coord_leader. */
static int name_ok(const char *what, const char *name)
{
    if (!name || !name[0])
        return err_set(ERR_USAGE, "coordination: empty %s name", what);
    size_t len = strlen(name);
    if (len >= 64)
        return err_set(ERR_USAGE, "coordination: %s name '%.20s...' is longer than 63 bytes", what, name);
    for (size_t i = 0; i < len; i++)
        if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return err_set(ERR_USAGE, "coordination: %s name '%s' has a '/' or a control character", what, name);
    return 0;
}

static int ttl_ok(int64_t ttl_ms)
{
    if (ttl_ms <= 0 || ttl_ms > 24LL * 3600 * 1000)
        return err_set(ERR_USAGE, "coordination: lease ttl %lld ms is out of range (1 ms to 24 h)", (long long)ttl_ms);
    return 0;
}

/* A backend's error named after its group (the backends' messages say what failed). */
static int wrap(const char *group, int rc)
{
    return rc ? err_wrap("coordination of %s", group) : 0;
}

int coord_open(const config *cfg, state *st, const char *node, coord **out)
{
    *out = NULL;
    const coord_backend *be = cfg->coord.backend == COORD_ETCD ? &coord_etcd_backend : &coord_local_backend;
    if (be == &coord_local_backend && !st)
        return err_set(ERR_USAGE, "coordination: the local backend needs the state database (its epoch counter)");
    coord *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(ERR_FATAL, "coordination: out of memory");
    c->be = be;
    c->st = st;
    snprintf(c->node, sizeof c->node, "%s", node ? node : "");
    int rc = be->open(c, cfg);
    if (rc) {
        err_wrap("coordination");
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void coord_close(coord **cp)
{
    coord *c = *cp;
    if (!c)
        return;
    c->be->close(c);
    free(c->holds);
    free(c);
    *cp = NULL;
}

const char *coord_backend_name(const coord *c)
{
    return c->be->name;
}

int coord_acquire(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms, int *won,
                  int64_t *epoch, coord_leader *now)
{
    *won = 0;
    *epoch = 0;
    if (now)
        memset(now, 0, sizeof *now);
    int rc = name_ok("group", group);
    rc = rc ? rc : name_ok("member", member);
    rc = rc ? rc : ttl_ok(ttl_ms);
    return rc ? rc : wrap(group, c->be->acquire(c, group, member, ttl_ms, deadline_ms, won, epoch, now));
}

int coord_renew(coord *c, const char *group, int64_t deadline_ms)
{
    int rc = name_ok("group", group);
    return rc ? rc : wrap(group, c->be->renew(c, group, deadline_ms));
}

int coord_release(coord *c, const char *group, int64_t deadline_ms)
{
    int rc = name_ok("group", group);
    return rc ? rc : wrap(group, c->be->release(c, group, deadline_ms));
}

int coord_seize(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms, int64_t *epoch)
{
    *epoch = 0;
    int rc = name_ok("group", group);
    rc = rc ? rc : name_ok("member", member);
    rc = rc ? rc : ttl_ok(ttl_ms);
    return rc ? rc : wrap(group, c->be->seize(c, group, member, ttl_ms, deadline_ms, epoch));
}

int coord_leader_get(coord *c, const char *group, int64_t deadline_ms, coord_leader *out)
{
    memset(out, 0, sizeof *out);
    int rc = name_ok("group", group);
    return rc ? rc : wrap(group, c->be->leader_get(c, group, deadline_ms, out));
}

int coord_leader_last(coord *c, const char *group, int64_t deadline_ms, coord_leader *out)
{
    memset(out, 0, sizeof *out);
    int rc = name_ok("group", group);
    return rc ? rc : wrap(group, c->be->leader_last(c, group, deadline_ms, out));
}

int coord_holds(const coord *c, const char *group, char member[64])
{
    for (size_t i = 0; i < c->nholds; i++)
        if (!strcmp(c->holds[i].group, group)) {
            if (member)
                snprintf(member, 64, "%s", c->holds[i].member);
            return 1;
        }
    return 0;
}

int coord_status_put(coord *c, const char *group, const char *member, const char *json, int64_t ttl_ms,
                     int64_t deadline_ms)
{
    int rc = name_ok("group", group);
    rc = rc ? rc : name_ok("member", member);
    rc = rc ? rc : ttl_ok(ttl_ms);
    if (!rc && !json)
        rc = err_set(ERR_USAGE, "coordination: no status to publish for %s", member);
    return rc ? rc : wrap(group, c->be->status_put(c, group, member, json, ttl_ms, deadline_ms));
}

int coord_status_list(coord *c, const char *group, int64_t deadline_ms, coord_status **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc = name_ok("group", group);
    return rc ? rc : wrap(group, c->be->status_list(c, group, deadline_ms, out, n));
}

void coord_status_free(coord_status **list, size_t n)
{
    if (!*list)
        return;
    for (size_t i = 0; i < n; i++)
        free((*list)[i].json);
    free(*list);
    *list = NULL;
}

coord_hold *coord_hold_find(coord *c, const char *group)
{
    for (size_t i = 0; i < c->nholds; i++)
        if (!strcmp(c->holds[i].group, group))
            return &c->holds[i];
    return NULL;
}

int coord_hold_set(coord *c, const coord_hold *h)
{
    coord_hold *old = coord_hold_find(c, h->group);
    if (!old) {
        if (array_grow(&c->holds, &c->capholds, c->nholds + 1, sizeof *c->holds, 4))
            return err_set(ERR_FATAL, "coordination: out of memory");
        old = &c->holds[c->nholds++];
    }
    *old = *h;
    return 0;
}

void coord_hold_drop(coord *c, const char *group)
{
    coord_hold *h = coord_hold_find(c, group);
    if (h)
        *h = c->holds[--c->nholds];
}

int coord_status_add(coord_status **list, size_t *n, size_t *cap, const char *member, const char *json, size_t len)
{
    if (array_grow(list, cap, *n + 1, sizeof **list, 8))
        return err_set(ERR_FATAL, "coordination: out of memory");
    coord_status *s = &(*list)[*n];
    memset(s, 0, sizeof *s);
    snprintf(s->member, sizeof s->member, "%s", member);
    if (!(s->json = malloc(len + 1)))
        return err_set(ERR_FATAL, "coordination: out of memory");
    memcpy(s->json, json, len);
    s->json[len] = 0;
    (*n)++;
    return 0;
}
