/* watch_config — see watch_config.h. */
#define _GNU_SOURCE
#include "watch_config.h"
#include "config_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../audit/siem.h"
#include "../core/buf.h"
#include "../core/log.h"
#include "../core/text.h"
#include "../probe/probe.h"
#include "config.h"
#include "source_config.h"

const char *const watch_config_events[] = {"incident", "recovery", "resolved", "escalation", "hold",
                                           "resume",   "update",   "reminder", "test",       NULL};

int cfg_bad(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

int cfg_text(char **dst, const char *key, const char *v, char *err, size_t cap)
{
    if (!v[0])
        return cfg_bad(err, cap, "%s: empty value", key);
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : cfg_bad(err, cap, "out of memory");
}

/* An interval of at least one second ("2s", "15m": m is a minute). */
int cfg_interval(int64_t *dst, const char *key, const char *v, int allow_zero, char *err, size_t cap)
{
    if (text_parse_interval(v, dst) != 0)
        return cfg_bad(err, cap, "%s: %s", key, err_msg());
    if (*dst <= 0 && !allow_zero)
        return cfg_bad(err, cap, "%s: '%s' must be at least 1s", key, v);
    return 0;
}

/* fast-interval: "250ms" (whole milliseconds, at least 100: the agent wakes in slots of
 * that) or an interval such as "1s". */
static int cfg_fast_interval(int64_t *dst_ms, const char *key, const char *v, char *err, size_t cap)
{
    size_t n = strlen(v);
    if (n > 2 && !strcmp(v + n - 2, "ms")) {
        char num[24];
        uint64_t ms;
        if (n - 2 >= sizeof num)
            return cfg_bad(err, cap, "%s: '%s' is not a duration such as 250ms or 1s", key, v);
        memcpy(num, v, n - 2);
        num[n - 2] = '\0';
        if (text_parse_u64(num, 86400000, &ms) != 0)
            return cfg_bad(err, cap, "%s: '%s' is not a duration such as 250ms or 1s", key, v);
        if (ms < 100)
            return cfg_bad(err, cap, "%s: '%s' must be at least 100ms", key, v);
        *dst_ms = (int64_t)ms;
        return 0;
    }
    int64_t sec;
    if (cfg_interval(&sec, key, v, 0, err, cap) != 0)
        return -1;
    *dst_ms = sec * 1000;
    return 0;
}

int cfg_count(int *dst, const char *key, const char *v, char *err, size_t cap)
{
    uint64_t n;
    if (text_parse_u64(v, 1000, &n) != 0 || n < 1)
        return cfg_bad(err, cap, "%s: '%s' is not a whole number from 1 to 1000", key, v);
    *dst = (int)n;
    return 0;
}

static int rate(int *count, int64_t *window, const char *key, const char *v, char *err, size_t cap);

static int watch_key(config *c, const char *key, const char *v, char *err, size_t cap)
{
    config_watch *w = &c->watch;
    if (!strcmp(key, "node"))
        return cfg_text(&w->node, key, v, err, cap);
    if (!strcmp(key, "listen")) {
        const char *colon = strrchr(v, ':');
        uint64_t port;
        if (!colon || colon == v || text_parse_u64(colon + 1, 65535, &port) != 0 || port == 0)
            return cfg_bad(err, cap, "listen: '%s' is not HOST:PORT", v);
        return cfg_text(&w->listen, key, v, err, cap);
    }
    if (!strcmp(key, "state-dir"))
        return cfg_text(&w->state_dir, key, v, err, cap);
    if (!strcmp(key, "loop"))
        return cfg_interval(&w->loop, key, v, 0, err, cap);
    if (!strcmp(key, "escalate-failures"))
        return rate(&w->escalate_failures, &w->escalate_window, key, v, err, cap);
    if (!strcmp(key, "syslog")) {
        char why[200];
        if (siem_spec_check(v, why, sizeof why) != 0)
            return cfg_bad(err, cap, "syslog: %s", why);
        return cfg_text(&w->syslog, key, v, err, cap);
    }
    if (!strcmp(key, "syslog-facility")) {
        int code = siem_facility_code(v);
        if (code < 0 || code == 0)
            return cfg_bad(err, cap, "syslog-facility: '%s' is not one of user mail daemon auth syslog lpr news uucp "
                                 "cron authpriv ftp local0..local7", v);
        w->syslog_facility = code;
        return 0;
    }
    return cfg_bad(err, cap, "unknown key '%s' in [watch]", key);
}

static int objectives_key(config *c, const char *key, const char *v, char *err, size_t cap)
{
    if (!strcmp(key, "services-rto"))
        return cfg_interval(&c->objectives.services_rto, key, v, 0, err, cap);
    if (!strcmp(key, "mttr"))
        return cfg_interval(&c->objectives.mttr, key, v, 0, err, cap);
    return cfg_bad(err, cap, "unknown key '%s' in [objectives]", key);
}

/* http(s)://HOST..., tcp://HOST:PORT, exec:COMMAND, postgres:SOURCE, redis:SOURCE,
 * registry:http(s)://HOST... The sources are checked once the whole file is read. */
static int probe_syntax(const char *v, char *err, size_t cap)
{
    int registry = !strncmp(v, "registry:", 9);
    if (registry)
        v += 9;
    const char *rest = NULL;
    if (!strncmp(v, "http://", 7))
        rest = v + 7;
    else if (!strncmp(v, "https://", 8))
        rest = v + 8;
    if (registry && !rest)
        return cfg_bad(err, cap, "probe: registry:'%s' is not an http:// or https:// URL", v);
    if (rest) {
        if (!rest[0] || rest[0] == '/' || rest[0] == ':' || strpbrk(v, " \t"))
            return cfg_bad(err, cap, "probe: '%s' has no host", v);
        return 0;
    }
    if (!strncmp(v, "tcp://", 6)) {
        const char *colon = strrchr(v + 6, ':');
        uint64_t port;
        if (!colon || colon == v + 6 || text_parse_u64(colon + 1, 65535, &port) != 0 || port == 0)
            return cfg_bad(err, cap, "probe: '%s' is not tcp://HOST:PORT", v);
        return 0;
    }
    static const char *const named[] = {"exec:", "postgres:", "redis:"};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (!strncmp(v, named[i], strlen(named[i]))) {
            if (!v[strlen(named[i])])
                return cfg_bad(err, cap, "probe: '%s' names nothing after '%s'", v, named[i]);
            return 0;
        }
    return cfg_bad(err, cap,
               "probe: '%s' is not http://, https://, tcp://HOST:PORT, exec:COMMAND, postgres:SOURCE, "
               "redis:SOURCE or registry:URL",
               v);
}

/* N/INTERVAL, e.g. 3/1h (max-recoveries, escalate-failures). */
static int rate(int *count, int64_t *window, const char *key, const char *v, char *err, size_t cap)
{
    char n[32];
    const char *slash = strchr(v, '/');
    uint64_t k;
    if (!slash || (size_t)(slash - v) >= sizeof n)
        return cfg_bad(err, cap, "%s: '%s' is not N/INTERVAL (e.g. 3/1h)", key, v);
    snprintf(n, sizeof n, "%.*s", (int)(slash - v), v);
    if (text_parse_u64(n, 1000, &k) != 0 || k < 1)
        return cfg_bad(err, cap, "%s: '%s' is not N/INTERVAL with N from 1 to 1000", key, v);
    *count = (int)k;
    return cfg_interval(window, key, slash + 1, 0, err, cap);
}

static int max_recoveries(config_service *s, const char *v, char *err, size_t cap)
{
    return rate(&s->max_recoveries, &s->recovery_window, "max-recoveries", v, err, cap);
}

static int depends_on(config_service *s, const char *v, char *err, size_t cap)
{
    char *copy = strdup(v), *save = NULL;
    if (!copy)
        return cfg_bad(err, cap, "out of memory");
    for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
        char **d = realloc(s->depends_on, (s->ndeps + 1) * sizeof *d);
        if (!d || !(d[s->ndeps] = strdup(t))) {
            if (d)
                s->depends_on = d;
            free(copy);
            return cfg_bad(err, cap, "out of memory");
        }
        s->depends_on = d;
        s->ndeps++;
    }
    free(copy);
    return s->ndeps ? 0 : cfg_bad(err, cap, "depends-on: empty value");
}

/* The section named name in the array whose pointer is at itemsp (each element begins
 * with its char name[64]), appended zeroed when new; NULL when out of memory. The
 * pointer is copied with memcpy, as a T ** is not a void **. */
void *cfg_section_get(void *itemsp, size_t *n, size_t size, const char *name, int *fresh)
{
    char *items, *at;
    memcpy(&items, itemsp, sizeof items);
    at = items;
    for (size_t i = 0; i < *n; i++, at += size)
        if (!strcmp(at, name))
            return at;
    char *grown = realloc(items, (*n + 1) * size);
    if (!grown)
        return NULL;
    memcpy(itemsp, &grown, sizeof grown);
    at = grown + (*n)++ * size;
    memset(at, 0, size);
    snprintf(at, 64, "%s", name);
    *fresh = 1;
    return at;
}

/* repositories = NAME...: what a mirror-of probe compares, in the registry's grammar. */
#define WATCH_REPOSITORIES_MAX 100
static int repositories(config_service *s, const char *v, char *err, size_t cap)
{
    char *copy = strdup(v), *save = NULL;
    int r = copy ? 0 : cfg_bad(err, cap, "out of memory");
    for (char *t = copy ? strtok_r(copy, " \t,", &save) : NULL; t && !r; t = strtok_r(NULL, " \t,", &save)) {
        if (!probe_registry_name_valid(t))
            r = cfg_bad(err, cap, "repositories: '%s' is not a repository name (lowercase letters, digits, "
                              "'.', '_', '-' and '/' between components)", t);
        else if (s->nrepositories == WATCH_REPOSITORIES_MAX)
            r = cfg_bad(err, cap, "repositories: more than %d", WATCH_REPOSITORIES_MAX);
        else if (array_grow(&s->repositories, &s->repo_cap, s->nrepositories + 1, sizeof *s->repositories, 8) ||
                 !(s->repositories[s->nrepositories] = strdup(t)))
            r = cfg_bad(err, cap, "out of memory");
        else
            s->nrepositories++;
    }
    free(copy);
    return r || s->nrepositories ? r : cfg_bad(err, cap, "repositories: empty value");
}

static config_service *service_get(config *c, const char *name, int line)
{
    int fresh = 0;
    config_service *s = cfg_section_get(&c->services, &c->nservices, sizeof *s, name, &fresh);
    if (s && fresh) {
        /* HAProxy's defaults: inter 2s, fall 3, rise 2; a timeout below the interval. */
        s->line = line;
        s->interval = 2;
        s->timeout = 1;
        s->fall = 3;
        s->rise = 2;
        /* recovery: a command gets 2 minutes, its verification 1; retries back off
         * from 5s doubling to 5 minutes */
        s->recover_timeout = 120;
        s->verify_timeout = 60;
        s->backoff = 5;
        s->backoff_max = 300;
        /* lifeline start/stop: the time a stage has to get healthy or down */
        s->start_timeout = 120;
        s->stop_timeout = 60;
    }
    return s;
}

/* http-method, http-status, http-body: what an http(s) probe asks and expects. */
static int http_key(config_service *s, int line, const char *key, const char *v, char *err, size_t cap)
{
    s->http_line = line;
    if (!strcmp(key, "http-method")) {
        if (!v[0] || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(v) || strlen(v) > 16)
            return cfg_bad(err, cap, "http-method: '%s' is not a method such as GET, HEAD or POST", v);
        return cfg_text(&s->http_method, key, v, err, cap);
    }
    if (!strcmp(key, "http-status")) {
        uint64_t n;
        if (text_parse_u64(v, 599, &n) != 0 || n < 100)
            return cfg_bad(err, cap, "http-status: '%s' is not an HTTP status from 100 to 599", v);
        s->http_status = (int)n;
        return 0;
    }
    if (!strcmp(key, "http-body"))
        return cfg_text(&s->http_body, key, v, err, cap);
    if (!strcmp(key, "http-header")) {
        const char *colon = strchr(v, ':');
        if (!colon || colon == v || strcspn(v, " \t") < (size_t)(colon - v) || strpbrk(v, "\r\n"))
            return cfg_bad(err, cap, "http-header: '%s' is not 'Name: value'", v);
        char **h = realloc(s->http_headers, (s->nheaders + 1) * sizeof *h);
        if (!h)
            return cfg_bad(err, cap, "out of memory");
        s->http_headers = h;
        if (!(h[s->nheaders] = strdup(v)))
            return cfg_bad(err, cap, "out of memory");
        s->nheaders++;
        return 0;
    }
    return cfg_bad(err, cap, "unknown key '%s' in [service \"%s\"]", key, s->name);
}

static int service_key(config *c, int line, const char *name, const char *key, const char *v, char *err,
                       size_t cap)
{
    config_service *s = service_get(c, name, line);
    if (!s)
        return cfg_bad(err, cap, "out of memory");
    if (!strcmp(key, "probe")) {
        s->probe_line = line;
        return probe_syntax(v, err, cap) ? -1 : cfg_text(&s->probe, key, v, err, cap);
    }
    if (!strcmp(key, "interval"))
        return cfg_interval(&s->interval, key, v, 0, err, cap);
    if (!strcmp(key, "fast-interval")) {
        s->fast_line = line;
        return cfg_fast_interval(&s->fast_interval_ms, key, v, err, cap);
    }
    if (!strcmp(key, "timeout")) {
        s->timeout_line = line;
        return cfg_interval(&s->timeout, key, v, 0, err, cap);
    }
    if (!strcmp(key, "start-period"))
        return cfg_interval(&s->start_period, key, v, 1, err, cap);
    if (!strcmp(key, "fall"))
        return cfg_count(&s->fall, key, v, err, cap);
    if (!strcmp(key, "rise"))
        return cfg_count(&s->rise, key, v, err, cap);
    if (!strcmp(key, "start-command"))
        return cfg_text(&s->start_command, key, v, err, cap);
    if (!strcmp(key, "stop-command"))
        return cfg_text(&s->stop_command, key, v, err, cap);
    if (!strcmp(key, "recover-command"))
        return cfg_text(&s->recover_command, key, v, err, cap);
    if (!strcmp(key, "start-timeout"))
        return cfg_interval(&s->start_timeout, key, v, 0, err, cap);
    if (!strcmp(key, "stop-timeout"))
        return cfg_interval(&s->stop_timeout, key, v, 0, err, cap);
    if (!strcmp(key, "depends-on")) {
        s->deps_line = line;
        return depends_on(s, v, err, cap);
    }
    if (!strcmp(key, "max-recoveries"))
        return max_recoveries(s, v, err, cap);
    if (!strcmp(key, "recover-timeout"))
        return cfg_interval(&s->recover_timeout, key, v, 0, err, cap);
    if (!strcmp(key, "verify-timeout"))
        return cfg_interval(&s->verify_timeout, key, v, 0, err, cap);
    if (!strcmp(key, "backoff"))
        return cfg_interval(&s->backoff, key, v, 0, err, cap);
    if (!strcmp(key, "backoff-max"))
        return cfg_interval(&s->backoff_max, key, v, 0, err, cap);
    if (!strncmp(key, "http-", 5))
        return http_key(s, line, key, v, err, cap);
    if (!strcmp(key, "mirror-of")) {
        s->mirror_line = line;
        if ((strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) || probe_syntax(v, err, cap))
            return cfg_bad(err, cap, "mirror-of: '%s' is not an http:// or https:// URL of a registry", v);
        return cfg_text(&s->mirror_of, key, v, err, cap);
    }
    if (!strcmp(key, "repositories")) {
        s->mirror_line = line;
        return repositories(s, v, err, cap);
    }
    return cfg_bad(err, cap, "unknown key '%s' in [service \"%s\"]", key, name);
}

static int notify_events(config_notify *n, const char *v, char *err, size_t cap)
{
    char *copy = strdup(v), *save = NULL;
    if (!copy)
        return cfg_bad(err, cap, "out of memory");
    n->events = 0;
    for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
        unsigned bit = 0;
        for (unsigned i = 0; watch_config_events[i]; i++)
            if (!strcmp(t, watch_config_events[i]))
                bit = 1u << i;
        if (!bit) {
            cfg_bad(err, cap, "events: unknown event '%s' (incident, recovery, resolved, escalation, hold, resume, "
                          "update, reminder, test)", t);
            free(copy);
            return -1;
        }
        n->events |= bit;
    }
    free(copy);
    return n->events ? 0 : cfg_bad(err, cap, "events: empty value");
}

/* Picks v out of names[]; its index in *dst. */
static int set_choice(int *dst, const char *key, const char *v, const char *const *names, int base,
                      char *err, size_t cap)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i])) {
            *dst = base + i;
            return 0;
        }
    return cfg_bad(err, cap, "%s: unknown value '%s'", key, v);
}

/* The keys beyond the example: fallback, max-age, timeout, severity and the
 * secrets of smtp and pagerduty (files, never values in the configuration). */
static int notify_more_key(config_notify *n, int line, const char *key, const char *v, char *err, size_t cap)
{
    static const char *const severities[] = {"info", "warning", "critical", NULL};
    if (!strcmp(key, "fallback")) {
        n->fallback_line = line;
        return cfg_text(&n->fallback, key, v, err, cap);
    }
    if (!strcmp(key, "max-age"))
        return cfg_interval(&n->max_age, key, v, 0, err, cap);
    if (!strcmp(key, "timeout"))
        return cfg_interval(&n->timeout, key, v, 0, err, cap);
    if (!strcmp(key, "severity"))
        return set_choice(&n->severity, key, v, severities, NOTIFY_SEV_INFO, err, cap);
    if (!strcmp(key, "user"))
        return cfg_text(&n->user, key, v, err, cap);
    if (!strcmp(key, "password-file"))
        return cfg_text(&n->password_file, key, v, err, cap);
    if (!strcmp(key, "routing-key-file"))
        return cfg_text(&n->routing_key_file, key, v, err, cap);
    return cfg_bad(err, cap, "unknown key '%s' in [notify \"%s\"]", key, n->name);
}

static config_notify *notify_get(config *c, const char *name, int line)
{
    int fresh = 0;
    config_notify *n = cfg_section_get(&c->notifies, &c->nnotifies, sizeof *n, name, &fresh);
    if (n && fresh)
        n->line = line;
    return n;
}

static int notify_key(config *c, int line, const char *name, const char *key, const char *v, char *err,
                      size_t cap)
{
    static const char *const types[] = {"webhook", "smtp", "command", NULL};
    static const char *const formats[] = {"json", "slack", "pagerduty", NULL};
    config_notify *n = notify_get(c, name, line);
    if (!n)
        return cfg_bad(err, cap, "out of memory");
    if (!strcmp(key, "type"))
        return set_choice(&n->type, key, v, types, NOTIFY_WEBHOOK, err, cap);
    if (!strcmp(key, "format"))
        return set_choice(&n->format, key, v, formats, NOTIFY_JSON, err, cap);
    if (!strcmp(key, "url")) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) && strncmp(v, "smtp://", 7) &&
            strncmp(v, "smtps://", 8))
            return cfg_bad(err, cap, "url: '%s' is not an http(s):// or smtp(s):// URL", v);
        return cfg_text(&n->url, key, v, err, cap);
    }
    if (!strcmp(key, "url-file"))
        return cfg_text(&n->url_file, key, v, err, cap);
    if (!strcmp(key, "command"))
        return cfg_text(&n->command, key, v, err, cap);
    if (!strcmp(key, "to"))
        return cfg_text(&n->to, key, v, err, cap);
    if (!strcmp(key, "from"))
        return cfg_text(&n->from, key, v, err, cap);
    if (!strcmp(key, "events"))
        return notify_events(n, v, err, cap);
    if (!strcmp(key, "after"))
        return cfg_interval(&n->after, key, v, 1, err, cap);
    return notify_more_key(n, line, key, v, err, cap);
}

int watch_config_key(config *c, const char *kind, int line, const char *name, const char *key,
                     const char *v, char *err, size_t cap)
{
    if (!strcmp(kind, "watch"))
        return watch_key(c, key, v, err, cap);
    if (!strcmp(kind, "objectives"))
        return objectives_key(c, key, v, err, cap);
    if (!strcmp(kind, "service"))
        return service_key(c, line, name, key, v, err, cap);
    return notify_key(c, line, name, key, v, err, cap);
}

const config_service *config_service_find(const config *c, const char *name)
{
    for (size_t i = 0; c && i < c->nservices; i++)
        if (!strcmp(c->services[i].name, name))
            return &c->services[i];
    return NULL;
}

/* postgres:SOURCE and redis:SOURCE must name a [source] of that type. */
static int probe_source(const config *c, const config_service *s, char *err, size_t cap)
{
    const char *kind = !strncmp(s->probe, "postgres:", 9) ? "postgres"
                       : !strncmp(s->probe, "redis:", 6)  ? "redis"
                                                          : NULL;
    if (!kind)
        return 0;
    const char *source = s->probe + strlen(kind) + 1, *type = NULL;
    if (!config_source_find(c, source))
        return cfg_bad(err, cap, "probe: no [source \"%s\"] in this file", source);
    if (source_config_type(c, source, &type) != 0)
        return cfg_bad(err, cap, "probe: %s", err_msg());
    if (strcmp(type, kind))
        return cfg_bad(err, cap, "probe: [source \"%s\"] is of type %s, not %s", source, type, kind);
    return 0;
}

/* Depth-first walk of depends-on; a back edge is a cycle, named in full. */
static int find_cycle(const config *c, size_t at, int *color, size_t *path, size_t depth, int *line,
                      char *err, size_t cap)
{
    color[at] = 1;
    path[depth] = at;
    const config_service *s = &c->services[at];
    for (size_t d = 0; d < s->ndeps; d++) {
        size_t next = (size_t)(config_service_find(c, s->depends_on[d]) - c->services);
        if (color[next] == 1) {
            *line = s->deps_line;
            size_t from = 0, used = 0;
            while (path[from] != next)
                from++;
            used = (size_t)snprintf(err, cap, "depends-on: a cycle: ");
            for (size_t i = from; i <= depth && used < cap; i++)
                used += (size_t)snprintf(err + used, cap - used, "%s -> ", c->services[path[i]].name);
            if (used < cap)
                snprintf(err + used, cap - used, "%s", c->services[next].name);
            return -1;
        }
        if (!color[next] && find_cycle(c, next, color, path, depth + 1, line, err, cap))
            return -1;
    }
    color[at] = 2;
    return 0;
}

static int check_service(const config *c, const config_service *s, int *line, char *err, size_t cap)
{
    *line = s->line;
    if (!s->probe)
        return cfg_bad(err, cap, "[service \"%s\"] has no probe", s->name);
    if (s->timeout > s->interval) {
        *line = s->timeout_line ? s->timeout_line : s->line;
        return cfg_bad(err, cap, "[service \"%s\"]: timeout (%llds) is longer than interval (%llds)", s->name,
                   (long long)s->timeout, (long long)s->interval);
    }
    if (s->fast_interval_ms > s->interval * 1000) {
        *line = s->fast_line;
        return cfg_bad(err, cap, "[service \"%s\"]: fast-interval (%lldms) is longer than interval (%llds)", s->name,
                   (long long)s->fast_interval_ms, (long long)s->interval);
    }
    if (s->http_line && strncmp(s->probe, "http://", 7) && strncmp(s->probe, "https://", 8)) {
        *line = s->http_line;
        return cfg_bad(err, cap, "[service \"%s\"]: http-method, -status, -body and -header need an http(s):// probe",
                   s->name);
    }
    *line = s->mirror_line;
    if (s->mirror_of && strncmp(s->probe, "registry:", 9))
        return cfg_bad(err, cap, "[service \"%s\"]: mirror-of needs a registry: probe", s->name);
    if (s->mirror_of && !s->nrepositories)
        return cfg_bad(err, cap, "[service \"%s\"]: mirror-of needs repositories (the names to compare)", s->name);
    if (s->nrepositories && !s->mirror_of)
        return cfg_bad(err, cap, "[service \"%s\"]: repositories without mirror-of", s->name);
    *line = s->probe_line;
    if (probe_source(c, s, err, cap))
        return -1;
    *line = s->deps_line;
    for (size_t d = 0; d < s->ndeps; d++) {
        if (!strcmp(s->depends_on[d], s->name))
            return cfg_bad(err, cap, "depends-on: [service \"%s\"] depends on itself", s->name);
        if (!config_service_find(c, s->depends_on[d]))
            return cfg_bad(err, cap, "depends-on: no [service \"%s\"] in this file", s->depends_on[d]);
    }
    return 0;
}

/* A secret (URL, password, routing key) lives in its own file: it must be there, and
 * should be readable by its owner only. key names it ("url-file"). */
static int check_secret_file(const config_notify *n, const char *key, const char *path, char *err, size_t cap)
{
    struct stat st;
    if (!path)
        return 0;
    if (stat(path, &st) != 0 && errno == EACCES)
        return 0; /* another user's file (e.g. postgres running wal-push with root's config):
                   * the agent that sends notifications checks it when it reads it */
    if (stat(path, &st) != 0)
        return cfg_bad(err, cap, "%s %s: %s", key, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cfg_bad(err, cap, "%s %s: not a regular file", key, path);
    if (st.st_mode & 077)
        LOG_WARN("%s %s of [notify \"%s\"] is readable by others (mode %03o); hint: chmod 600 %s", key, path,
                 n->name, (unsigned)(st.st_mode & 0777), path);
    return 0;
}

/* fallback names another channel, not this one, and following fallbacks ends. */
static int check_fallback(const config *c, const config_notify *n, char *err, size_t cap)
{
    const config_notify *at = n;
    for (size_t hops = 0; at && at->fallback; hops++) {
        const config_notify *next = NULL;
        for (size_t i = 0; i < c->nnotifies; i++)
            if (!strcmp(c->notifies[i].name, at->fallback))
                next = &c->notifies[i];
        if (!next)
            return cfg_bad(err, cap, "fallback: no [notify \"%s\"] in this file", at->fallback);
        if (next == n)
            return cfg_bad(err, cap, hops ? "fallback: [notify \"%s\"] is in a cycle of fallbacks"
                                      : "fallback: [notify \"%s\"] falls back on itself",
                       n->name);
        if (hops > c->nnotifies)
            return 0; /* a cycle further on, which that channel's own check names */
        at = next;
    }
    return 0;
}

static int check_notify(const config_notify *n, char *err, size_t cap)
{
    if (!n->type)
        return cfg_bad(err, cap, "[notify \"%s\"] has no type (webhook, smtp or command)", n->name);
    if (n->url && n->url_file)
        return cfg_bad(err, cap, "[notify \"%s\"]: url and url-file exclude each other", n->name);
    if (n->type == NOTIFY_COMMAND) {
        if (!n->command)
            return cfg_bad(err, cap, "[notify \"%s\"] of type command has no command", n->name);
        return 0;
    }
    int pagerduty = n->type == NOTIFY_WEBHOOK && n->format == NOTIFY_PAGERDUTY;
    if (!n->url && !n->url_file && !pagerduty) /* pagerduty has a default URL */
        return cfg_bad(err, cap, "[notify \"%s\"] has neither url nor url-file", n->name);
    if (n->type == NOTIFY_SMTP && !n->to)
        return cfg_bad(err, cap, "[notify \"%s\"] of type smtp has no 'to'", n->name);
    if (n->type != NOTIFY_SMTP && (n->user || n->password_file))
        return cfg_bad(err, cap, "[notify \"%s\"]: user and password-file are for type smtp", n->name);
    if (n->routing_key_file && !pagerduty)
        return cfg_bad(err, cap, "[notify \"%s\"]: routing-key-file is for type webhook with format pagerduty",
                   n->name);
    if (n->password_file && !n->user)
        return cfg_bad(err, cap, "[notify \"%s\"]: password-file without user", n->name);
    return check_secret_file(n, "url-file", n->url_file, err, cap) ||
           check_secret_file(n, "password-file", n->password_file, err, cap) ||
           check_secret_file(n, "routing-key-file", n->routing_key_file, err, cap);
}

int watch_config_check(config *c, int *line, char *err, size_t cap)
{
    for (size_t i = 0; i < c->nservices; i++)
        if (check_service(c, &c->services[i], line, err, cap))
            return -1;
    int *color = calloc(c->nservices + 1, sizeof *color);
    size_t *path = calloc(c->nservices + 1, sizeof *path);
    int r = 0;
    if (!color || !path)
        r = cfg_bad(err, cap, "out of memory");
    for (size_t i = 0; !r && i < c->nservices; i++)
        if (!color[i])
            r = find_cycle(c, i, color, path, 0, line, err, cap);
    free(color);
    free(path);
    for (size_t i = 0; !r && i < c->nnotifies; i++) {
        *line = c->notifies[i].line;
        r = check_notify(&c->notifies[i], err, cap);
        if (!r && c->notifies[i].fallback) {
            *line = c->notifies[i].fallback_line;
            r = check_fallback(c, &c->notifies[i], err, cap);
        }
    }
    return r;
}

void watch_config_free(config *c)
{
    free(c->watch.node);
    free(c->watch.listen);
    free(c->watch.state_dir);
    free(c->watch.syslog);
    for (size_t i = 0; i < c->nservices; i++) {
        config_service *s = &c->services[i];
        free(s->probe);
        free(s->start_command);
        free(s->stop_command);
        free(s->recover_command);
        free(s->http_method);
        free(s->http_body);
        for (size_t h = 0; h < s->nheaders; h++)
            free(s->http_headers[h]);
        free(s->http_headers);
        free(s->mirror_of);
        for (size_t r = 0; r < s->nrepositories; r++)
            free(s->repositories[r]);
        free(s->repositories);
        for (size_t d = 0; d < s->ndeps; d++)
            free(s->depends_on[d]);
        free(s->depends_on);
    }
    free(c->services);
    for (size_t i = 0; i < c->nnotifies; i++) {
        config_notify *n = &c->notifies[i];
        free(n->url);
        free(n->url_file);
        free(n->command);
        free(n->to);
        free(n->from);
        free(n->fallback);
        free(n->user);
        free(n->password_file);
        free(n->routing_key_file);
    }
    free(c->notifies);
}
