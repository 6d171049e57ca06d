/* proxy_config — see proxy_config.h. The health checks go to the agents, not to the
 * databases: only the agent knows whether its primary holds the lease right now, and
 * it answers 503 the moment it does not. One check URI serves every server of a
 * listener (HAProxy sets it per listener): uri-lf puts the server's name, which is the
 * member's name, into the path. */
#include "proxy_config.h"
#include "http_impl.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../config/ha_config.h"
#include "../config/watch_config.h"
#include "../core/text.h"

/* An address and a port taken apart ("[::1]:8008" → "::1", 8008). */
typedef struct hostport {
    char host[256];
    unsigned port;
} hostport;

/* HAProxy takes names of letters, digits and - _ . : and the check path carries them
 * as they are: refuse the rest rather than write a file HAProxy misreads. */
static int name_ok(const char *what, const char *name)
{
    if (!name[0] || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(name))
        return err_set(ERR_CONFIG, "proxy-config: %s '%s': HAProxy needs a name of letters, digits, '-', '_' and '.'",
                       what, name);
    return 0;
}

static int split_host_port(const char *v, hostport *hp)
{
    const char *colon = strrchr(v, ':');
    uint64_t port;
    if (ha_config_host_port(v) || text_parse_u64(colon + 1, 65535, &port))
        return -1;
    const char *h = v[0] == '[' ? v + 1 : v;
    size_t hl = (size_t)(colon - h) - (v[0] == '[');
    if (hl >= sizeof hp->host)
        return -1;
    memcpy(hp->host, h, hl);
    hp->host[hl] = '\0';
    hp->port = (unsigned)port;
    return 0;
}

static int is_wildcard(const char *host)
{
    return !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "*") || !host[0];
}

/* The server's TCP address from its conninfo: hostaddr, else host; port 5432. */
static int member_address(const config_member *m, hostport *hp)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(m->conninfo, &why);
    if (!opts) {
        err_set(ERR_CONFIG, "[member \"%s\"] conninfo: %s", m->name, why ? why : "not a libpq connection string");
        PQfreemem(why);
        return ERR_CONFIG;
    }
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = o->val && o->val[0] ? o->val : NULL;
        if (!strcmp(o->keyword, "host"))
            host = v;
        else if (!strcmp(o->keyword, "hostaddr"))
            hostaddr = v;
        else if (!strcmp(o->keyword, "port"))
            port = v;
    }
    const char *h = hostaddr ? hostaddr : host;
    uint64_t p = 5432;
    int rc = 0;
    if (!h || h[0] == '/' || h[0] == '@')
        rc = err_set(ERR_CONFIG, "[member \"%s\"] conninfo: %s: HAProxy forwards TCP, give host=ADDRESS", m->name,
                     h ? "a Unix socket" : "no host");
    else if (strchr(h, ',') || (port && strchr(port, ',')))
        rc = err_set(ERR_CONFIG, "[member \"%s\"] conninfo: several hosts; a member is one server", m->name);
    else if (port && (text_parse_u64(port, 65535, &p) || p == 0))
        rc = err_set(ERR_CONFIG, "[member \"%s\"] conninfo: port '%s' is not from 1 to 65535", m->name, port);
    else if (strlen(h) >= sizeof hp->host)
        rc = err_set(ERR_CONFIG, "[member \"%s\"] conninfo: host too long", m->name);
    if (!rc) {
        snprintf(hp->host, sizeof hp->host, "%s", h);
        hp->port = (unsigned)p;
    }
    PQconninfoFree(opts);
    return rc;
}

/* Where the agent that manages m answers HTTP: [member] agent, else this node's [watch]
 * listen when m is this node's (a wildcard listen is reached at the member's host). */
static int member_agent(const config *cfg, const config_member *m, const char *node, const hostport *db,
                        hostport *hp)
{
    const char *addr = m->agent;
    if (!addr && m->node && !strcmp(m->node, node))
        addr = cfg->watch.listen;
    if (!addr) {
        err_set(ERR_CONFIG, "[member \"%s\"]: no address for the agent on node '%s' that answers its health checks",
                m->name, m->node ? m->node : "?");
        err_hint("add agent = HOST:PORT to [member \"%s\"] (that agent's [watch] listen)%s", m->name,
                 m->node && !strcmp(m->node, node) ? ", or [watch] listen" : "");
        return ERR_CONFIG;
    }
    if (split_host_port(addr, hp))
        return err_set(ERR_CONFIG, "[member \"%s\"]: the agent's address '%s' is not HOST:PORT", m->name, addr);
    if (is_wildcard(hp->host))
        snprintf(hp->host, sizeof hp->host, "%s", db->host);
    return 0;
}

/* "PORT" or "ADDR:PORT" as HAProxy's bind takes it; NULL (then port) for the default. */
static int bind_address(const char *given, unsigned port, char *out, size_t cap, const char *opt)
{
    uint64_t p;
    if (!given) {
        snprintf(out, cap, "*:%u", port);
        return 0;
    }
    if (!text_parse_u64(given, 65535, &p) && p > 0) {
        snprintf(out, cap, "*:%u", (unsigned)p);
        return 0;
    }
    if (ha_config_host_port(given) || strlen(given) >= cap)
        return err_set(ERR_USAGE, "proxy-config: %s '%s' is not ADDR:PORT or PORT", opt, given);
    snprintf(out, cap, "%s", given);
    return 0;
}

static void render_head(hw *w, const config *cfg)
{
    hw_printf(w, "# HAProxy configuration for lifeline's PostgreSQL groups, from %s\n",
              cfg->file ? cfg->file : "the configuration");
    hw_puts(w, "# (lifeline proxy-config). Writers connect to GROUP-primary, readers to GROUP-replica;\n"
               "# HAProxy asks the agent that manages each member what it is, every second.\n"
               "global\n"
               "    maxconn 1000\n\n"
               "defaults\n"
               "    mode tcp\n"
               "    retries 2\n"
               "    timeout connect 4s\n"
               "    timeout client 30m\n"
               "    timeout server 30m\n"
               "    # a check's answer within 1 s after connecting within min(connect, inter)\n"
               "    timeout check 1s\n");
}

/* One listener: kind is "primary" or "replica"; its servers are the group's members. */
static int render_listen(hw *w, const config *cfg, const config_pg_group *g, const char *kind, const char *bind,
                         const char *lag, const char *node)
{
    hw_printf(w, "\nlisten %s-%s\n    bind %s\n", g->name, kind, bind);
    if (!strcmp(kind, "replica"))
        hw_puts(w, "    balance roundrobin\n");
    hw_printf(w, "    option httpchk\n    http-check send meth GET uri-lf /%s/%%[srv_name]/%s%s%s\n", g->name, kind,
              lag ? "?lag=" : "", lag ? lag : "");
    /* a member whose agent says no is out within about 1.25 s (a check, then another
     * after fastinter); a member out is asked every 250 ms (downinter), so a promoted
     * one is in within a quarter second of its agent saying yes (rise 1) */
    hw_puts(w, "    http-check expect status 200\n"
               "    default-server inter 1s fastinter 250ms downinter 250ms fall 2 rise 1 "
               "on-marked-down shutdown-sessions\n");
    for (size_t i = 0; i < g->nmembers; i++) {
        const config_member *m = config_member_find(cfg, g->members[i]);
        hostport db, agent;
        int rc;
        if (!m)
            return err_set(ERR_CONFIG, "[postgres \"%s\"]: no [member \"%s\"]", g->name, g->members[i]);
        if ((rc = name_ok("member", m->name)) || (rc = member_address(m, &db)) ||
            (rc = member_agent(cfg, m, node, &db, &agent)))
            return rc;
        /* HAProxy reads an IPv6 address in brackets (a bare one's colons look like a port) */
        int v6 = strchr(db.host, ':') != NULL, a6 = strchr(agent.host, ':') != NULL;
        hw_printf(w, "    server %s %s%s%s:%u check port %u addr %s%s%s\n", m->name, v6 ? "[" : "", db.host,
                  v6 ? "]" : "", db.port, agent.port, a6 ? "[" : "", agent.host, a6 ? "]" : "");
    }
    return 0;
}

int proxy_config_render(const config *cfg, const proxy_config_opts *o, buf *out)
{
    char node[256], bind_p[300], bind_r[300];
    uint64_t lag_bytes;
    if (!cfg || !cfg->npg_groups)
        return err_set(ERR_CONFIG, "proxy-config: no [postgres \"GROUP\"] in %s",
                       cfg && cfg->file ? cfg->file : "the configuration (give it with -c FILE)");
    if (o->group && !config_pg_group_find(cfg, o->group))
        return err_set(ERR_NOTFOUND, "proxy-config: no [postgres \"%s\"] in %s", o->group, cfg->file);
    if (!o->group && cfg->npg_groups > 1 && (o->listen_primary || o->listen_replica))
        return err_set(ERR_USAGE, "proxy-config: --listen-primary/--listen-replica are for one group: name it");
    if (o->replica_lag && ha_config_parse_size(o->replica_lag, &lag_bytes))
        return err_set(ERR_USAGE, "proxy-config: --replica-lag '%s' is not a size such as 1MB or 16kB",
                       o->replica_lag);
    if (o->this_node)
        snprintf(node, sizeof node, "%s", o->this_node);
    else if (cfg->watch.node)
        snprintf(node, sizeof node, "%s", cfg->watch.node);
    else if (gethostname(node, sizeof node) != 0)
        node[0] = '\0';
    node[sizeof node - 1] = '\0';
    hw w = {.b = out, .rc = 0};
    render_head(&w, cfg);
    unsigned k = 0;
    for (size_t i = 0; i < cfg->npg_groups; i++) {
        const config_pg_group *g = &cfg->pg_groups[i];
        int rc;
        if (o->group && strcmp(o->group, g->name))
            continue;
        if ((rc = name_ok("group", g->name)) ||
            (rc = bind_address(o->listen_primary, PROXY_PRIMARY_PORT + 2 * k, bind_p, sizeof bind_p,
                               "--listen-primary")) ||
            (rc = bind_address(o->listen_replica, PROXY_REPLICA_PORT + 2 * k, bind_r, sizeof bind_r,
                               "--listen-replica")) ||
            (rc = render_listen(&w, cfg, g, "primary", bind_p, NULL, node)) ||
            (rc = render_listen(&w, cfg, g, "replica", bind_r, o->replica_lag, node)))
            return rc;
        k++;
    }
    return w.rc;
}
