/* record — the agent's evidence fan-out: each thing it sees or does becomes an event
 * in state, an entry in its incident's timeline, an audit record in the hash-chained
 * trail (when the agent has the repository's key), a syslog line in RFC 5424 form, and
 * a line on stderr (the journal). A failure of one of these is said, and never stops
 * the others or the agent. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "../audit/audit.h"
#include "../core/log.h"
#include "agent_impl.h"

int64_t agent_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int severity_of(const char *kind, const char *outcome)
{
    if (!strcmp(kind, "escalation") || !strcmp(kind, "detection"))
        return 2; /* critical */
    if (!strcmp(outcome, "failed") || !strcmp(kind, "hold"))
        return 4; /* warning */
    return 6;     /* informational */
}

/* The audit record: command "watch", args [kind, target], the message. The caller
 * holds evidence_lock. */
uint64_t agent_audit(agent *a, const char *kind, const char *target, const char *outcome, const char *msg)
{
    if (!a->audit)
        return 0;
    char *args[] = {(char *)kind, (char *)target};
    audit_event e = {.command = "watch", .args = args, .nargs = 2,
                     .exit_code = strcmp(outcome, "failed") ? 0 : 1, .message = msg};
    if (audit_append(a->audit, &e) != 0) {
        LOG_WARN("audit record of %s %s not written: %s", kind, target, err_msg());
        return 0;
    }
    return 1;
}

void agent_record_in(agent *a, state *st, const char *kind, const char *target, int64_t incident,
                     const char *outcome, const char *msg)
{
    int64_t at = agent_wall_ms();
    atomic_store(&a->metrics_dirty, 1);
    if (state_event_add(st, at, kind, target, msg, incident, NULL) != 0)
        LOG_WARN("event not recorded: %s", err_msg());
    if (incident && state_incident_note(st, incident, at, kind, msg) != 0)
        LOG_WARN("timeline entry not recorded: %s", err_msg());
    pthread_mutex_lock(&a->evidence_lock);
    uint64_t audited = agent_audit(a, kind, target, outcome, msg);
    siem_record r = {.severity = severity_of(kind, outcome), .actor = "lifeline-watch", .action = kind,
                     .target = target, .outcome = outcome, .message = msg, .incident = incident,
                     .audit_seq = audited, .at_ms = at, .hostname = a->node, .msgid = kind};
    if (a->sy && siem_send(a->sy, &r) != 0)
        LOG_DEBUG("syslog: %s", err_msg());
    pthread_mutex_unlock(&a->evidence_lock);
    if (incident)
        LOG_INFO("%s %s (incident %lld): %s", kind, target, (long long)incident, msg);
    else
        LOG_INFO("%s %s: %s", kind, target, msg);
}

void agent_record(agent *a, const char *kind, const char *target, int64_t incident, const char *outcome,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    agent_record_in(a, a->st, kind, target, incident, outcome, msg);
}

void agent_alert(agent *a, const char *event, const char *severity, const char *service, int64_t incident,
                 const char *title, const char *message)
{
    agent_alert_keyed(a, NULL, event, severity, service, incident, title, message);
}

void agent_alert_keyed(agent *a, const char *key, const char *event, const char *severity, const char *service,
                       int64_t incident, const char *title, const char *message)
{
    agent_alert_in(a, a->st, a->nt, key, event, severity, service, incident, title, message);
}

void agent_alert_in(agent *a, state *st, notify *nt, const char *key, const char *event, const char *severity,
                    const char *service, int64_t incident, const char *title, const char *message)
{
    int64_t at = agent_wall_ms();
    char id[200];
    /* the dedup key: one per incident and event (a repeat of the same is one notification) */
    if (key)
        snprintf(id, sizeof id, "%s", key);
    else if (incident && !strcmp(event, "incident")) /* the key notify's `after` rule re-queues under */
        snprintf(id, sizeof id, NOTIFY_KEY_OPENED, (long long)incident);
    else if (incident)
        snprintf(id, sizeof id, "incident/%lld/%s", (long long)incident, event);
    else
        snprintf(id, sizeof id, "%s/%s/%lld", event, service ? service : "*", (long long)at);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "event", event);
    cJSON_AddStringToObject(o, "status", !strcmp(event, "resolved") || !strcmp(event, "recovery") ? "resolved"
                                                                                                  : "firing");
    cJSON_AddStringToObject(o, "severity", severity);
    cJSON_AddStringToObject(o, "node", a->node);
    if (service)
        cJSON_AddStringToObject(o, "service", service);
    else
        cJSON_AddNullToObject(o, "service");
    if (incident)
        cJSON_AddNumberToObject(o, "incident", (double)incident);
    else
        cJSON_AddNullToObject(o, "incident");
    cJSON_AddStringToObject(o, "title", title);
    cJSON_AddStringToObject(o, "message", message ? message : "");
    cJSON_AddNumberToObject(o, "at_ms", (double)at);
    state_incident in;
    if (incident && state_incident_get(st, incident, &in) == 0) {
        cJSON_AddNumberToObject(o, "opened_ms", (double)in.opened_ms);
        state_incident_free(&in);
    } else {
        cJSON_AddNullToObject(o, "opened_ms");
    }
    char url[300];
    if (a->cfg->watch.listen && snprintf(url, sizeof url, "http://%s/", a->cfg->watch.listen) < (int)sizeof url)
        cJSON_AddStringToObject(o, "url", url);
    else
        cJSON_AddNullToObject(o, "url");
    int queued = 0;
    if (nt && notify_emit(nt, o, at, &queued) != 0)
        LOG_WARN("notification %s not queued: %s", id, err_msg());
    cJSON_Delete(o);
}
