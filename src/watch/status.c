/* status — the status document (the brief's shape, docs/ARCHITECTURE.md): rebuilt by
 * the loop after each round, kept as text under a lock, and handed as a fresh copy to
 * the control socket and HTTP threads, which never touch the loop's own state. */
#include <stdlib.h>
#include <string.h>

#include "../evidence/report.h"
#include "../ha/ha.h"
#include "agent_impl.h"

#define STATUS_TIMELINE_MAX 50

static cJSON *hold_json(const state_hold *h)
{
    if (!h)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", h->kind);
    cJSON_AddStringToObject(o, "reason", h->reason);
    cJSON_AddStringToObject(o, "by", h->by);
    cJSON_AddNumberToObject(o, "at_ms", (double)h->at_ms);
    return o;
}

static const char *probe_kind(const char *target)
{
    static const char *const kinds[] = {"http", "tcp", "exec", "postgres", "redis", "registry"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strncmp(target, kinds[i], strlen(kinds[i])))
            return kinds[i];
    return "unknown";
}

static cJSON *service_json(const agent *a, const agent_svc *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", s->cfg->name);
    cJSON_AddStringToObject(o, "state", agent_svc_state(a, s));
    cJSON_AddStringToObject(o, "health", health_state_name(s->h.state));
    cJSON_AddNumberToObject(o, "since_ms", (double)s->h.since_ms);
    cJSON_AddStringToObject(o, "detail", s->last.detail);
    cJSON_AddNumberToObject(o, "latency_ms", (double)s->last.latency_ms);
    cJSON_AddStringToObject(o, "probe", probe_kind(s->cfg->probe));
    const state_hold *h = agent_hold_of(a, s);
    cJSON_AddItemToObject(o, "held", hold_json(h));
    if (s->incident)
        cJSON_AddNumberToObject(o, "incident", (double)s->incident);
    else
        cJSON_AddNullToObject(o, "incident");
    int64_t window = s->cfg->recovery_window > 0 ? s->cfg->recovery_window * 1000 : 3600000, now = agent_wall_ms();
    size_t recent = 0;
    for (size_t i = 0; i < s->nattempts; i++)
        recent += now - s->attempts[i] < window;
    cJSON_AddNumberToObject(o, "recoveries_in_window", (double)recent);
    cJSON *deps = cJSON_AddArrayToObject(o, "depends_on");
    for (size_t d = 0; d < s->cfg->ndeps; d++)
        cJSON_AddItemToArray(deps, cJSON_CreateString(s->cfg->depends_on[d]));
    return o;
}

static cJSON *open_incidents(agent *a)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < a->nsvcs; i++) {
        state_incident in;
        if (!a->svcs[i].incident || state_incident_get(a->st, a->svcs[i].incident, &in) != 0)
            continue;
        cJSON *o = report_incident_json(&in);
        /* the newest entries: a long incident must not make every status document grow */
        cJSON *tl = cJSON_GetObjectItem(o, "timeline");
        while (cJSON_GetArraySize(tl) > STATUS_TIMELINE_MAX)
            cJSON_DeleteItemFromArray(tl, 0);
        cJSON_AddItemToArray(list, o);
        state_incident_free(&in);
    }
    return list;
}

void agent_status_refresh(agent *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "node", a->node);
    cJSON_AddStringToObject(o, "version", LIFELINE_VERSION);
    cJSON_AddNumberToObject(o, "started_ms", (double)a->started_wall);
    cJSON_AddNumberToObject(o, "now_ms", (double)agent_wall_ms());
    const state_hold *all = NULL;
    for (size_t i = 0; i < a->nholds; i++)
        if (!strcmp(a->holds[i].target, "*"))
            all = &a->holds[i];
    cJSON_AddItemToObject(o, "hold_all", hold_json(all));
    cJSON *svcs = cJSON_AddArrayToObject(o, "services");
    for (size_t i = 0; i < a->nsvcs; i++)
        cJSON_AddItemToArray(svcs, service_json(a, &a->svcs[i]));
    cJSON_AddItemToObject(o, "incidents", open_incidents(a));
    cJSON_AddItemToObject(o, "groups", a->ha ? ha_status(a->ha) : cJSON_CreateArray());
    if (a->metrics)
        cJSON_AddItemToObject(o, "metrics", cJSON_Duplicate(a->metrics, 1));
    cJSON *obj = cJSON_AddObjectToObject(o, "objectives");
    if (a->cfg->objectives.services_rto)
        cJSON_AddNumberToObject(obj, "services_rto_seconds", (double)a->cfg->objectives.services_rto);
    if (a->cfg->objectives.mttr)
        cJSON_AddNumberToObject(obj, "mttr_seconds", (double)a->cfg->objectives.mttr);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return;
    pthread_mutex_lock(&a->status_lock);
    free(a->status_json);
    a->status_json = text;
    pthread_mutex_unlock(&a->status_lock);
}

cJSON *agent_status_copy(agent *a)
{
    pthread_mutex_lock(&a->status_lock);
    cJSON *o = a->status_json ? cJSON_Parse(a->status_json) : NULL;
    pthread_mutex_unlock(&a->status_lock);
    return o;
}
