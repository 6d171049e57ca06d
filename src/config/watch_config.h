/* watch_config — the watch agent's sections of the configuration file: [watch],
 * [objectives], [service "NAME"] and [notify "NAME"]: each key's meaning, its strict
 * validation, and the checks across sections (dependency cycles, probe targets). */
#ifndef LL_WATCH_CONFIG_H
#define LL_WATCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct config config;

typedef struct config_watch {
    char *node, *listen, *state_dir; /* NULL when not set: the host name, no HTTP, the default folder */
    int64_t loop; /* seconds */
    int escalate_failures;   /* escalate-failures = N/INTERVAL: N services failing within it escalate */
    int64_t escalate_window; /* seconds; 0 = the default 3/1h */
    char *syslog;        /* syslog = off | local | udp://HOST:PORT | unix:PATH; NULL: local */
    int syslog_facility; /* syslog-facility's code; 0: the default, daemon (audit/siem.h) */
} config_watch;

typedef struct config_objectives {
    int64_t services_rto, mttr; /* seconds; 0 = not set */
} config_objectives;

typedef struct config_service {
    char name[64];
    int line; /* the line of the section's first key */
    char *probe;
    int probe_line, timeout_line, deps_line, fast_line;
    int64_t interval, timeout, start_period; /* seconds */
    /* HAProxy's fastinter: between probes while the state is in question (a failure not
     * yet confirmed, a recovery not yet risen, a verification): milliseconds; 0 = a
     * quarter of interval */
    int64_t fast_interval_ms;
    int fall, rise;
    char *start_command, *stop_command, *recover_command;
    char **depends_on;
    size_t ndeps;
    char *http_method, *http_body; /* http-method (default GET), http-body: a substring */
    int http_status;               /* http-status; 0 = any 2xx or 3xx */
    char **http_headers;           /* http-header = Name: value (repeatable) */
    size_t nheaders;
    int http_line;                 /* the last http-* key, for the check that the probe is http */
    char *mirror_of;               /* registry: probes: the upstream this registry mirrors */
    char **repositories;           /* what mirror-of compares (required with it) */
    size_t nrepositories, repo_cap;
    int mirror_line;               /* the last mirror-of or repositories key */
    int64_t start_timeout, stop_timeout; /* seconds: a start/stop stage's time to healthy/down (2m, 1m) */
    int max_recoveries;      /* 0 = no limit */
    int64_t recovery_window; /* seconds, the INTERVAL of max-recoveries = N/INTERVAL */
    int64_t recover_timeout, verify_timeout; /* seconds: the recovery command's, and its verification's */
    int64_t backoff, backoff_max;            /* seconds: the first delay between attempts, and the cap */
} config_service;

enum { NOTIFY_WEBHOOK = 1, NOTIFY_SMTP, NOTIFY_COMMAND };
enum { NOTIFY_JSON = 0, NOTIFY_SLACK, NOTIFY_PAGERDUTY };
/* Alert severities in rising order (severity = the minimum a channel takes). */
enum { NOTIFY_SEV_INFO = 0, NOTIFY_SEV_WARNING, NOTIFY_SEV_CRITICAL };

typedef struct config_notify {
    char name[64];
    int line; /* the line of the section's first key */
    int type, format;
    char *url, *url_file, *command, *to, *from;
    unsigned events; /* bit per watch_config_events[] entry; 0 = all */
    int64_t after;   /* seconds */
    char *fallback;  /* the [notify] that gets what this one dead-letters; NULL: none */
    int fallback_line;
    int64_t max_age; /* seconds a queued alert may wait before it is dead-lettered; 0 = 24h */
    int64_t timeout; /* seconds one delivery attempt may take; 0 = 10s */
    int severity;    /* the least severe alert this channel takes (NOTIFY_SEV_*) */
    char *user, *password_file;  /* smtp: the login; the password lives in its own file */
    char *routing_key_file;      /* webhook format pagerduty: the integration's routing key */
} config_notify;

/* The event names `events =` accepts, in bit order. */
extern const char *const watch_config_events[];

/* One key of a watch section (kind "watch", "objectives", "service" or "notify").
 * 0, or -1 with a one-line reason in err (the caller adds file:line). */
int watch_config_key(config *c, const char *kind, int line, const char *name, const char *key,
                     const char *v, char *err, size_t cap);
/* Checks across sections once the whole file is read; -1 with *line and err set. */
int watch_config_check(config *c, int *line, char *err, size_t cap);
void watch_config_free(config *c);
const config_service *config_service_find(const config *c, const char *name);

#endif
