/* ha_config — see ha_config.h. */
#define _GNU_SOURCE
#include "ha_config.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/text.h"
#include "config.h"
#include "config_impl.h"

/* Splits v at blanks and commas into a fresh list of copies. */
static int words(char ***list, size_t *n, const char *key, const char *v, char *err, size_t cap)
{
    char *copy = strdup(v), *save = NULL;
    if (!copy)
        return cfg_bad(err, cap, "out of memory");
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
    int r = 0;
    for (char *t = strtok_r(copy, " \t,", &save); t && !r; t = strtok_r(NULL, " \t,", &save)) {
        char **grown = realloc(*list, (*n + 1) * sizeof *grown);
        if (!grown || !(grown[*n] = strdup(t))) {
            if (grown)
                *list = grown;
            r = cfg_bad(err, cap, "out of memory");
            break;
        }
        *list = grown;
        (*n)++;
    }
    free(copy);
    return r ? r : *n ? 0 : cfg_bad(err, cap, "%s: empty value", key);
}

int ha_config_parse_size(const char *v, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"", 1},          {"B", 1},           {"kB", 1024},       {"KB", 1024},
                 {"KiB", 1024},    {"MB", 1u << 20},   {"MiB", 1u << 20},  {"GB", 1u << 30},
                 {"GiB", 1u << 30}, {"TB", 1ull << 40}, {"TiB", 1ull << 40}};
    char *end;
    if (!v[0] || v[0] < '0' || v[0] > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno == ERANGE)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(end, units[i].unit)) {
            if (n > UINT64_MAX / units[i].mul)
                return -1;
            *out = n * units[i].mul;
            return 0;
        }
    return -1;
}

int ha_config_host_port(const char *v)
{
    const char *colon = strrchr(v, ':');
    uint64_t port;
    if (!colon || colon == v || text_parse_u64(colon + 1, 65535, &port) != 0 || port == 0)
        return -1;
    if (v[0] == '[') /* [V6]:PORT: the bracket closes just before the port */
        return colon - v >= 3 && colon[-1] == ']' && !memchr(v + 1, ']', (size_t)(colon - v - 2)) ? 0 : -1;
    return memchr(v, ':', (size_t)(colon - v)) || strpbrk(v, " \t/[]") ? -1 : 0;
}

static int coordination_key(config *c, int line, const char *key, const char *v, char *err, size_t cap)
{
    config_coord *k = &c->coord;
    k->line = k->line ? k->line : line;
    if (!strcmp(key, "backend")) {
        if (!strcmp(v, "local") || !strcmp(v, "etcd")) {
            k->backend = strcmp(v, "local") ? COORD_ETCD : COORD_LOCAL;
            return 0;
        }
        return cfg_bad(err, cap, "backend: '%s' is not local or etcd", v);
    }
    if (!strcmp(key, "endpoints")) {
        if (words(&k->endpoints, &k->nendpoints, key, v, err, cap))
            return -1;
        for (size_t i = 0; i < k->nendpoints; i++)
            if (strncmp(k->endpoints[i], "http://", 7) && strncmp(k->endpoints[i], "https://", 8))
                return cfg_bad(err, cap, "endpoints: '%s' is not an http:// or https:// URL", k->endpoints[i]);
        return 0;
    }
    if (!strcmp(key, "ttl")) {
        int64_t s;
        if (cfg_interval(&s, key, v, 0, err, cap))
            return -1;
        if (s < 2 || s > 300)
            return cfg_bad(err, cap, "ttl: '%s' is not from 2s to 5m", v);
        k->ttl_ms = s * 1000;
        return 0;
    }
    return cfg_bad(err, cap, "unknown key '%s' in [coordination]", key);
}

static config_pg_group *group_get(config *c, const char *name, int line)
{
    int fresh = 0;
    config_pg_group *g = cfg_section_get(&c->pg_groups, &c->npg_groups, sizeof *g, name, &fresh);
    if (g && fresh) {
        g->line = line;
        g->max_lag = 1u << 20;
    }
    return g;
}

static int group_key(config *c, int line, const char *name, const char *key, const char *v, char *err, size_t cap)
{
    config_pg_group *g = group_get(c, name, line);
    if (!g)
        return cfg_bad(err, cap, "out of memory");
    if (!strcmp(key, "members")) {
        g->members_line = line;
        return words(&g->members, &g->nmembers, key, v, err, cap);
    }
    if (!strcmp(key, "synchronous")) {
        static const char *const modes[] = {"off", "on", "strict"};
        for (int i = 0; i < 3; i++)
            if (!strcmp(v, modes[i])) {
                g->synchronous = i;
                return 0;
            }
        return cfg_bad(err, cap, "synchronous: '%s' is not off, on or strict", v);
    }
    if (!strcmp(key, "maximum-lag-on-failover"))
        return ha_config_parse_size(v, &g->max_lag) ? cfg_bad(err, cap, "maximum-lag-on-failover: '%s' is not a "
                                                                         "size such as 1MB or 16MiB", v) : 0;
    if (!strcmp(key, "backup-source"))
        return cfg_text(&g->backup_source, key, v, err, cap);
    if (!strcmp(key, "on-role-change"))
        return cfg_text(&g->on_role_change, key, v, err, cap);
    if (!strcmp(key, "fence-command"))
        return cfg_text(&g->fence_command, key, v, err, cap);
    return cfg_bad(err, cap, "unknown key '%s' in [postgres \"%s\"]", key, name);
}

/* A conninfo libpq can parse, without a password (it belongs in PGPASSFILE). */
static int conninfo_ok(const char *v, char *err, size_t cap)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(v, &why);
    if (!opts) {
        int r = cfg_bad(err, cap, "conninfo: %s", why ? why : "not a libpq connection string");
        PQfreemem(why);
        return r;
    }
    int secret = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        secret |= !strcmp(o->keyword, "password") && o->val && o->val[0];
    PQconninfoFree(opts);
    return secret ? cfg_bad(err, cap, "conninfo: has a password; put it in a PGPASSFILE (~/.pgpass), never in the "
                                      "configuration") : 0;
}

static int member_key(config *c, int line, const char *name, const char *key, const char *v, char *err, size_t cap)
{
    int fresh = 0;
    config_member *m = cfg_section_get(&c->members, &c->nmembers, sizeof *m, name, &fresh);
    if (!m)
        return cfg_bad(err, cap, "out of memory");
    if (fresh) {
        m->line = line;
        m->priority = 100;
    }
    if (!strcmp(key, "node"))
        return cfg_text(&m->node, key, v, err, cap);
    if (!strcmp(key, "conninfo"))
        return conninfo_ok(v, err, cap) ? -1 : cfg_text(&m->conninfo, key, v, err, cap);
    if (!strcmp(key, "data-dir"))
        return cfg_text(&m->data_dir, key, v, err, cap);
    if (!strcmp(key, "bin-dir"))
        return cfg_text(&m->bin_dir, key, v, err, cap);
    if (!strcmp(key, "agent"))
        return ha_config_host_port(v) ? cfg_bad(err, cap, "agent: '%s' is not HOST:PORT (the HTTP address of the agent "
                                                          "that manages this member, its [watch] listen)", v)
                                      : cfg_text(&m->agent, key, v, err, cap);
    if (!strcmp(key, "priority")) {
        uint64_t n;
        if (text_parse_u64(v, 1000, &n) != 0)
            return cfg_bad(err, cap, "priority: '%s' is not a whole number from 0 to 1000", v);
        m->priority = (int)n;
        return 0;
    }
    return cfg_bad(err, cap, "unknown key '%s' in [member \"%s\"]", key, name);
}

int ha_config_key(config *c, const char *kind, int line, const char *name, const char *key, const char *v,
                  char *err, size_t cap)
{
    if (!strcmp(kind, "coordination"))
        return coordination_key(c, line, key, v, err, cap);
    if (!strcmp(kind, "postgres"))
        return group_key(c, line, name, key, v, err, cap);
    return member_key(c, line, name, key, v, err, cap);
}

const config_pg_group *config_pg_group_find(const config *c, const char *name)
{
    for (size_t i = 0; c && i < c->npg_groups; i++)
        if (!strcmp(c->pg_groups[i].name, name))
            return &c->pg_groups[i];
    return NULL;
}

const config_member *config_member_find(const config *c, const char *name)
{
    for (size_t i = 0; c && i < c->nmembers; i++)
        if (!strcmp(c->members[i].name, name))
            return &c->members[i];
    return NULL;
}

static int check_group(config *c, config_pg_group *g, int *line, char *err, size_t cap)
{
    *line = g->members_line ? g->members_line : g->line;
    if (g->nmembers < 1)
        return cfg_bad(err, cap, "[postgres \"%s\"] has no members", g->name);
    for (size_t i = 0; i < g->nmembers; i++) {
        config_member *m = (config_member *)config_member_find(c, g->members[i]);
        if (!m)
            return cfg_bad(err, cap, "members: no [member \"%s\"] in this file", g->members[i]);
        if (m->group && strcmp(m->group, g->name))
            return cfg_bad(err, cap, "members: [member \"%s\"] is already in [postgres \"%s\"]", m->name, m->group);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(g->members[k], g->members[i]))
                return cfg_bad(err, cap, "members: '%s' is named twice", g->members[i]);
        m->group = g->name; /* into the group's own name: nothing to free */
    }
    *line = g->line;
    if (g->backup_source && !config_source_find(c, g->backup_source))
        return cfg_bad(err, cap, "backup-source: no [source \"%s\"] in this file", g->backup_source);
    return 0;
}

static int check_member(const config_member *m, int *line, char *err, size_t cap)
{
    *line = m->line;
    if (!m->group)
        return cfg_bad(err, cap, "[member \"%s\"] is in no [postgres] group's members", m->name);
    if (!m->node)
        return cfg_bad(err, cap, "[member \"%s\"] has no node (the [watch] node of the agent that manages it)", m->name);
    if (!m->conninfo)
        return cfg_bad(err, cap, "[member \"%s\"] has no conninfo", m->name);
    return 0;
}

int ha_config_check(config *c, int *line, char *err, size_t cap)
{
    /* 4 s, by measurement (bench/ha): a host loss's write outage is about the lease's
     * expiry plus a second, and the primary rides out a store outage of about 2 s (the
     * ttl less the 1 s margin and the time since its last renewal): an etcd leader
     * election on a healthy cluster. A slow or loaded store wants a longer one. */
    if (!c->coord.ttl_ms)
        c->coord.ttl_ms = HA_CONFIG_TTL_DEFAULT_MS;
    if (c->coord.backend == COORD_ETCD && !c->coord.nendpoints) {
        *line = c->coord.line;
        return cfg_bad(err, cap, "[coordination] backend = etcd needs endpoints");
    }
    for (size_t i = 0; i < c->npg_groups; i++)
        if (check_group(c, &c->pg_groups[i], line, err, cap))
            return -1;
    for (size_t i = 0; i < c->nmembers; i++)
        if (check_member(&c->members[i], line, err, cap))
            return -1;
    return 0;
}

void ha_config_free(config *c)
{
    for (size_t i = 0; i < c->coord.nendpoints; i++)
        free(c->coord.endpoints[i]);
    free(c->coord.endpoints);
    for (size_t i = 0; i < c->npg_groups; i++) {
        config_pg_group *g = &c->pg_groups[i];
        for (size_t k = 0; k < g->nmembers; k++)
            free(g->members[k]);
        free(g->members);
        free(g->backup_source);
        free(g->on_role_change);
        free(g->fence_command);
    }
    free(c->pg_groups);
    for (size_t i = 0; i < c->nmembers; i++) {
        config_member *m = &c->members[i];
        free(m->node);
        free(m->conninfo);
        free(m->data_dir);
        free(m->bin_dir);
        free(m->agent);
    }
    free(c->members);
}
