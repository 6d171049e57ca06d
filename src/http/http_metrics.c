/* http_metrics — the status document as Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): every family has its
 * HELP and TYPE lines and its samples together; label values escaped as the format says. */
#include "http.h"
#include "http_impl.h"

#include <math.h>
#include <string.h>

/* The service states of the status document; lifeline_service_state is one-hot over them. */
static const char *const service_states[] = {"healthy", "degraded", "failed", "starting", "held",
                                             "maintenance"};

static void family(hw *w, const char *name, const char *type, const char *help)
{
    hw_printf(w, "# HELP %s ", name);
    hw_puts(w, help); /* our own fixed words: nothing to escape */
    hw_printf(w, "\n# TYPE %s %s\n", name, type);
}

/* The name of service i, or NULL when the entry is unusable (not an object, no name). */
static const char *service_name(const cJSON *svc)
{
    const char *n = hj_str(svc, "name");
    return n && *n ? n : NULL;
}

static void service_label(hw *w, const char *name, const char *service)
{
    hw_puts(w, name);
    hw_puts(w, "{service=\"");
    hw_label(w, service);
    hw_puts(w, "\"");
}

static void render_services(hw *w, const cJSON *services)
{
    const cJSON *svc;
    family(w, "lifeline_service_up", "gauge",
           "Whether the service's probe passes (healthy or degraded): 1, or not: 0.");
    cJSON_ArrayForEach(svc, services) {
        const char *name = service_name(svc), *health = hj_str(svc, "health");
        if (!name)
            continue;
        service_label(w, "lifeline_service_up", name);
        int up = health && (!strcmp(health, "healthy") || !strcmp(health, "degraded"));
        hw_puts(w, up ? "} 1\n" : "} 0\n");
    }
    family(w, "lifeline_service_state", "gauge",
           "The service's state as the agent sees it: 1 for the current state, 0 for the others.");
    cJSON_ArrayForEach(svc, services) {
        const char *name = service_name(svc), *state = hj_str(svc, "state");
        if (!name)
            continue;
        for (size_t i = 0; i < sizeof service_states / sizeof *service_states; i++) {
            service_label(w, "lifeline_service_state", name);
            hw_printf(w, ",state=\"%s\"} %d\n", service_states[i],
                      state && !strcmp(state, service_states[i]));
        }
    }
    family(w, "lifeline_probe_latency_seconds", "gauge",
           "How long the service's last probe took, in seconds.");
    cJSON_ArrayForEach(svc, services) {
        const char *name = service_name(svc);
        double ms;
        if (!name || !hj_num(svc, "latency_ms", &ms))
            continue;
        service_label(w, "lifeline_probe_latency_seconds", name);
        hw_puts(w, "} ");
        hw_number(w, ms / 1000.0);
        hw_puts(w, "\n");
    }
}

/* One unlabelled sample from metrics.key. A gauge without a value (null: no data yet,
 * e.g. no incident resolved for an MTTR) is NaN; a counter without one is left out. */
static void scalar(hw *w, const cJSON *metrics, const char *key, const char *name,
                   const char *type, const char *help)
{
    double v;
    bool have = hj_num(metrics, key, &v);
    family(w, name, type, help);
    if (!have && !strcmp(type, "counter"))
        return;
    hw_puts(w, name);
    hw_puts(w, " ");
    hw_number(w, have ? v : NAN);
    hw_puts(w, "\n");
}

static void render_scalars(hw *w, const cJSON *m)
{
    scalar(w, m, "incidents_open", "lifeline_incidents_open", "gauge", "Incidents open now.");
    scalar(w, m, "incidents_total", "lifeline_incidents_total", "counter",
           "Incidents opened since the state was created.");
    scalar(w, m, "mttr_seconds", "lifeline_mttr_seconds", "gauge",
           "Mean time to recovery: recovered minus failure confirmed, over resolved incidents (NaN: none yet).");
    scalar(w, m, "recovery_attempts", "lifeline_recovery_attempts_total", "counter",
           "Automatic recovery attempts.");
    scalar(w, m, "recoveries_verified", "lifeline_recoveries_verified_total", "counter",
           "Automatic recoveries verified healthy and not failing again within an hour.");
    scalar(w, m, "recovery_success_rate", "lifeline_recovery_success_ratio", "gauge",
           "Recoveries verified divided by attempts (NaN: no attempt yet).");
    scalar(w, m, "false_positive_rate", "lifeline_false_positive_ratio", "gauge",
           "Incidents marked false positive or closed with no failure confirmed, divided by all (NaN: none yet).");
    scalar(w, m, "notifications_pending", "lifeline_notifications_pending", "gauge",
           "Notifications in the outbox waiting for delivery.");
    scalar(w, m, "notifications_failed", "lifeline_notifications_failed_total", "counter",
           "Notifications given up on (dead-lettered).");
    scalar(w, m, "notifications_delivered", "lifeline_notifications_delivered_total", "counter",
           "Notifications a channel accepted.");
}

/* objectives: {"services_rto_seconds":600,...} as lifeline_objective_seconds{objective="services_rto"} */
static void render_objectives(hw *w, const cJSON *objectives)
{
    const cJSON *o;
    family(w, "lifeline_objective_seconds", "gauge",
           "The configured objectives ([objectives]) in seconds.");
    cJSON_ArrayForEach(o, objectives) {
        if (!cJSON_IsNumber(o) || !o->string || !isfinite(o->valuedouble))
            continue;
        size_t n = strlen(o->string);
        const char *suffix = "_seconds";
        if (n > strlen(suffix) && !strcmp(o->string + n - strlen(suffix), suffix))
            n -= strlen(suffix);
        char key[128];
        if (n == 0 || n >= sizeof key)
            continue;
        memcpy(key, o->string, n);
        key[n] = '\0';
        hw_puts(w, "lifeline_objective_seconds{objective=\"");
        hw_label(w, key);
        hw_puts(w, "\"} ");
        hw_number(w, o->valuedouble);
        hw_puts(w, "\n");
    }
}

int http_render_metrics(const cJSON *status, buf *out)
{
    hw w = {out, 0};
    const char *node = hj_str(status, "node"), *version = hj_str(status, "version");
    family(&w, "lifeline_info", "gauge", "The agent: its node name and version (always 1).");
    hw_puts(&w, "lifeline_info{node=\"");
    hw_label(&w, node ? node : "");
    hw_puts(&w, "\",version=\"");
    hw_label(&w, version ? version : "");
    hw_puts(&w, "\"} 1\n");
    render_services(&w, hj_array(status, "services"));
    render_scalars(&w, hj_object(status, "metrics"));
    render_objectives(&w, hj_object(status, "objectives"));
    return w.rc;
}
