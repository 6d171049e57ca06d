/* status — the status document (the brief's shape, docs/ARCHITECTURE.md): built by the
 * loop, kept as text under a lock, and handed as a fresh copy to the control socket and
 * HTTP threads, which never touch the loop's own state. Built only while somebody reads
 * it: 200 services make a document of some 60 KiB, which nobody may ask for for days. */
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/proc.h"
#include "../evidence/report.h"
#include "../ha/ha.h"
#include "agent_impl.h"

#define STATUS_TIMELINE_MAX 50
/* A reader takes the last document when it is at most this old (the loop builds one a
 * `loop` while somebody reads), else it asks the loop for one and waits for it at most
 * STATUS_WAIT_MS (a loop stuck in a slow disk: the old one then). */
#define STATUS_STALE_MS 1500
#define STATUS_WAIT_MS 1000
/* Somebody read one within this long: the loop keeps it fresh every turn. */
#define STATUS_WATCHED_MS 10000

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
    a->status_seq++;
    a->status_built = proc_now_ms();
    pthread_cond_broadcast(&a->status_cond);
    pthread_mutex_unlock(&a->status_lock);
}

int agent_status_watched(agent *a, int64_t now)
{
    pthread_mutex_lock(&a->status_lock);
    int watched = a->status_asked && now - a->status_asked < STATUS_WATCHED_MS;
    pthread_mutex_unlock(&a->status_lock);
    return watched;
}

cJSON *agent_status_copy(agent *a)
{
    pthread_mutex_lock(&a->status_lock);
    int64_t now = proc_now_ms();
    a->status_asked = now;
    if (!a->status_json || now - a->status_built > STATUS_STALE_MS) {
        uint64_t seq = a->status_seq, one = 1;
        atomic_store(&a->status_wanted, 1);
        if (write(a->wake_fd, &one, sizeof one) < 0)
            LOG_DEBUG("status: cannot wake the loop: %s", strerror(errno));
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += STATUS_WAIT_MS / 1000;
        until.tv_nsec += (long)(STATUS_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (a->status_seq == seq && pthread_cond_timedwait(&a->status_cond, &a->status_lock, &until) == 0)
            ;
    }
    cJSON *o = a->status_json ? cJSON_Parse(a->status_json) : NULL;
    pthread_mutex_unlock(&a->status_lock);
    return o;
}
