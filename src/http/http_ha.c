/* http_ha — the endpoints a proxy (HAProxy's httpchk) asks: is this member the primary
 * that holds the lease, a streaming standby within a lag, up at all. Answered from the
 * "groups" array of the status document only (a copy the server already has), so a
 * check never waits on the agent's loop. Pure: the path and query in, a code and a
 * small JSON body out; the server in http.c only carries them. */
#include "http.h"
#include "http_impl.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../config/ha_config.h"

typedef enum { HA_PRIMARY, HA_REPLICA, HA_READ_ONLY, HA_HEALTH, HA_LIVENESS, HA_READINESS } ha_kind;

/* The last word of the path; read-write, read-only, liveness and readiness are Patroni's
 * names (for a Kubernetes-style probe of the agent and of the member). */
static const struct {
    const char *word;
    ha_kind kind;
} ha_words[] = {
    {"primary", HA_PRIMARY}, {"read-write", HA_PRIMARY}, {"replica", HA_REPLICA},
    {"read-only", HA_READ_ONLY}, {"health", HA_HEALTH}, {"liveness", HA_LIVENESS}, {"readiness", HA_READINESS},
};

#define HA_NAME_MAX 128

/* "/GROUP/KIND" or "/GROUP/MEMBER/KIND" with non-empty words; member is "" for the
 * first form. False for every other path (not ours: the caller answers 404). */
static bool ha_parse_path(const char *path, char *group, char *member, ha_kind *kind)
{
    char words[3][HA_NAME_MAX];
    size_t n = 0;
    if (!path || path[0] != '/')
        return false;
    for (const char *p = path + 1;;) {
        size_t len = strcspn(p, "/");
        if (len == 0 || len >= HA_NAME_MAX || n == 3)
            return false;
        memcpy(words[n], p, len);
        words[n++][len] = '\0';
        if (!p[len])
            break;
        p += len + 1;
    }
    if (n < 2)
        return false;
    for (size_t i = 0; i < sizeof ha_words / sizeof *ha_words; i++)
        if (!strcmp(words[n - 1], ha_words[i].word)) {
            *kind = ha_words[i].kind;
            snprintf(group, HA_NAME_MAX, "%s", words[0]);
            snprintf(member, HA_NAME_MAX, "%s", n == 3 ? words[1] : "");
            return true;
        }
    return false;
}

/* The value of lag= in query ("a=b&lag=1MB"), NULL when absent; the first one counts. */
static const char *ha_query_lag(const char *query, char *val, size_t cap)
{
    for (const char *p = query; p && *p;) {
        size_t len = strcspn(p, "&");
        if ((len >= 3 && !strncmp(p, "lag", 3)) && (len == 3 || p[3] == '=')) {
            size_t vl = len > 4 ? len - 4 : 0;
            if (vl >= cap)
                snprintf(val, cap, "%s", "(too long)"); /* not a size: answered 400 */
            else {
                memcpy(val, p + 4, vl);
                val[vl] = '\0';
            }
            return val;
        }
        p += len + (p[len] == '&');
    }
    return NULL;
}

static const cJSON *ha_find(const cJSON *array, const char *name)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, array) {
        const char *have = hj_str(o, "name");
        if (have && !strcmp(have, name))
            return o;
    }
    return NULL;
}

static bool ha_role_is(const cJSON *m, const char *role)
{
    const char *r = hj_str(m, "role");
    return r && !strcmp(r, role);
}

/* The primary a client may write to: its role, and the lease certain now. */
static bool ha_is_primary(const cJSON *m)
{
    return ha_role_is(m, "primary") && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "lease"));
}

/* A standby a client may read from: streaming, and within max_lag when one is asked
 * (an unknown lag is never within it). */
static bool ha_is_replica(const cJSON *m, bool have_max, uint64_t max_lag)
{
    double lag;
    if (!ha_role_is(m, "standby") || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "streaming")))
        return false;
    return !have_max || (hj_num(m, "lag_bytes", &lag) && lag >= 0 && lag <= (double)max_lag);
}

/* The server runs, whatever its role: not down, not unknown. */
static bool ha_is_up(const cJSON *m)
{
    return ha_role_is(m, "primary") || ha_role_is(m, "standby") || ha_role_is(m, "fenced");
}

/* The engine runs: its last round ended within the ttl (the lease holder) or two ttls
 * (any other member), as Patroni's /liveness. A copy without its age is not alive. */
static bool ha_is_live(const cJSON *group, const cJSON *m)
{
    double age, ttl;
    if (!hj_num(group, "round_age_ms", &age) || !hj_num(group, "ttl_ms", &ttl) || age < 0 || ttl <= 0)
        return false;
    return age <= (ha_is_primary(m) ? ttl : 2 * ttl);
}

static cJSON *ha_error(const char *fmt, ...) PRINTF(1, 2);
static cJSON *ha_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

static void ha_add_number_or_null(cJSON *o, const char *key, const cJSON *from, const char *from_key)
{
    double v;
    if (hj_num(from, from_key, &v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* {group, member, role, lease, lag_bytes, epoch, timeline}: what the proxy's operator reads. */
static cJSON *ha_body(const cJSON *group, const cJSON *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const char *gname = hj_str(group, "name"), *name = hj_str(m, "name"), *role = hj_str(m, "role");
    cJSON_AddStringToObject(o, "group", gname ? gname : "");
    cJSON_AddStringToObject(o, "member", name ? name : "");
    if (role)
        cJSON_AddStringToObject(o, "role", role);
    else
        cJSON_AddNullToObject(o, "role");
    cJSON_AddBoolToObject(o, "lease", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "lease")));
    ha_add_number_or_null(o, "lag_bytes", m, "lag_bytes");
    ha_add_number_or_null(o, "epoch", group, "epoch");
    ha_add_number_or_null(o, "timeline", m, "timeline");
    return o;
}

/* The one member of group this node manages ("here": true), or NULL with *why set. */
static const cJSON *ha_here(const cJSON *group, const char *gname, cJSON **why)
{
    const cJSON *m, *found = NULL;
    size_t n = 0;
    cJSON_ArrayForEach(m, hj_array(group, "members")) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "here"))) {
            found = m;
            n++;
        }
    }
    if (n == 1)
        return found;
    *why = n == 0 ? ha_error("no member of group '%s' is managed by this agent: ask the agent that manages it, "
                             "or name the member (/%s/MEMBER/...)", gname, gname)
                  : ha_error("this agent manages %zu members of group '%s': name the member (/%s/MEMBER/...)", n,
                             gname, gname);
    return NULL;
}

bool http_ha_check(const cJSON *status, const char *path, const char *query, int *code, cJSON **body)
{
    char gname[HA_NAME_MAX], mname[HA_NAME_MAX], lagtext[64];
    ha_kind kind;
    *code = 404;
    *body = NULL;
    if (!ha_parse_path(path, gname, mname, &kind))
        return false;
    uint64_t max_lag = 0;
    const char *lag = ha_query_lag(query, lagtext, sizeof lagtext);
    if (lag && ha_config_parse_size(lag, &max_lag)) {
        *code = 400;
        *body = ha_error("lag: '%s' is not a size such as 1MB, 16kB or a number of bytes", lag);
        return true;
    }
    if (!status) {
        *code = 503;
        *body = ha_error("status unavailable");
        return true;
    }
    const cJSON *group = ha_find(hj_array(status, "groups"), gname), *m;
    if (!group) {
        *body = ha_error("no group '%s'", gname);
        return true;
    }
    if (mname[0])
        m = ha_find(hj_array(group, "members"), mname);
    else if (!(m = ha_here(group, gname, body)))
        return true;
    if (!m) {
        *body = ha_error("no member '%s' in group '%s'", mname, gname);
        return true;
    }
    bool yes = kind == HA_PRIMARY     ? ha_is_primary(m)
               : kind == HA_REPLICA   ? ha_is_replica(m, lag != NULL, max_lag)
               : kind == HA_READ_ONLY ? ha_is_primary(m) || ha_is_replica(m, lag != NULL, max_lag)
               : kind == HA_LIVENESS  ? ha_is_live(group, m)
               : kind == HA_READINESS ? ha_is_primary(m) || ha_is_replica(m, false, 0)
                                      : ha_is_up(m);
    *code = yes ? 200 : 503;
    *body = ha_body(group, m);
    return true;
}
