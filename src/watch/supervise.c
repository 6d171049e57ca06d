/* supervise — one service's machine in the agent: probe results through rise/fall,
 * a confirmed failure opens an incident, recovery (command off the loop's thread,
 * then verification: `rise` passes within verify-timeout), exponential backoff with
 * jitter between attempts, max-recoveries, and the escalations across services
 * (several failing within an hour, most failing at once: a partition seen from here).
 * Held automation still probes, records and notifies; it runs nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/proc.h"
#include "agent_impl.h"

const state_hold *agent_hold_of(const agent *a, const agent_svc *s)
{
    const state_hold *all = NULL;
    for (size_t i = 0; i < a->nholds; i++) {
        if (!strcmp(a->holds[i].target, s->cfg->name))
            return &a->holds[i];
        if (!strcmp(a->holds[i].target, "*"))
            all = &a->holds[i];
    }
    return all;
}

static int in_maintenance(const agent *a, const agent_svc *s)
{
    const state_hold *h = agent_hold_of(a, s);
    return h && !strcmp(h->kind, "maintenance");
}

const char *agent_svc_state(const agent *a, const agent_svc *s)
{
    const state_hold *h = agent_hold_of(a, s);
    if (h)
        return !strcmp(h->kind, "maintenance") ? "maintenance" : "held";
    return health_state_name(s->h.state);
}

/* The attempts still inside the max-recoveries window. */
static void expire_attempts(const agent_svc *s, agent_svc *w, int64_t now_wall)
{
    int64_t window = s->cfg->recovery_window > 0 ? s->cfg->recovery_window * 1000 : 3600000;
    size_t keep = 0;
    for (size_t i = 0; i < w->nattempts; i++)
        if (now_wall - w->attempts[i] < window)
            w->attempts[keep++] = w->attempts[i];
    w->nattempts = keep;
}

void agent_svc_save(agent *a, agent_svc *s, int64_t now)
{
    (void)now;
    char rec[AGENT_MAX_ATTEMPTS * 21 + 1] = "";
    size_t off = 0;
    for (size_t i = 0; i < s->nattempts && off + 22 < sizeof rec; i++)
        off += (size_t)snprintf(rec + off, sizeof rec - off, "%s%lld", i ? " " : "", (long long)s->attempts[i]);
    state_service v = {.name = (char *)s->cfg->name, .state = (char *)agent_svc_state(a, s), .since_ms = s->h.since_ms,
                       .detail = s->last.detail, .incident = s->incident, .recoveries = rec};
    if (state_service_put(a->st, &v) != 0)
        LOG_WARN("%s", err_msg());
}

static void note_failure(agent *a, const agent_svc *s, int64_t wall)
{
    if (a->nfail == sizeof a->fail_times / sizeof a->fail_times[0]) {
        memmove(a->fail_times, a->fail_times + 1, sizeof a->fail_times - sizeof a->fail_times[0]);
        memmove(a->fail_names, a->fail_names + 1, sizeof a->fail_names - sizeof a->fail_names[0]);
        a->nfail--;
    }
    a->fail_times[a->nfail] = wall;
    snprintf(a->fail_names[a->nfail], sizeof a->fail_names[0], "%s", s->cfg->name);
    a->nfail++;
}

static int is_database(const agent_svc *s)
{
    return !strncmp(s->cfg->probe, "postgres:", 9) || !strncmp(s->cfg->probe, "redis:", 6);
}

/* Holds automation for target (a service or "*"), escalating: an event everywhere and
 * a critical alert. A target already held by anything keeps that hold. */
static void escalate(agent *a, agent_svc *s, const char *target, int64_t incident, const char *why)
{
    int64_t wall = agent_wall_ms();
    int held = 0;
    for (size_t i = 0; i < a->nholds; i++)
        held |= !strcmp(a->holds[i].target, target);
    if (!held && state_hold_set(a->st, target, "escalation", why, "lifeline watch", wall) != 0)
        LOG_WARN("%s", err_msg());
    int all = !strcmp(target, "*");
    agent_record(a, "escalation", s ? s->cfg->name : target, incident, "held", "%s; automation held for %s until "
                 "`lifeline resume%s%s`", why, all ? "every service" : target, all ? "" : " ", all ? "" : target);
    char title[300], key[160];
    snprintf(title, sizeof title, "escalation: %s", why);
    /* each escalation is news (a second one after a resume must reach people too) */
    if (incident)
        snprintf(key, sizeof key, "incident/%lld/escalation/%lld", (long long)incident, (long long)wall);
    else
        snprintf(key, sizeof key, "escalation/%s/%lld", target, (long long)wall);
    agent_alert_keyed(a, key, "escalation", "critical", s ? s->cfg->name : NULL, incident, title, why);
    /* the loop re-reads holds before its next action: make this one count now */
    state_holds_free(&a->holds, a->nholds);
    a->nholds = 0;
    if (state_hold_list(a->st, &a->holds, &a->nholds) != 0)
        LOG_WARN("%s", err_msg());
}

void agent_svc_confirm(agent *a, agent_svc *s, int64_t wall)
{
    char title[400];
    snprintf(title, sizeof title, "%s failed: %s", s->cfg->name, s->last.detail);
    s->outage = 1;
    if (!s->incident) {
        /* opened at the first failed probe of the run; detected (confirmed) now */
        int64_t first = s->first_fail_wall && s->first_fail_wall <= wall ? s->first_fail_wall : wall;
        if (state_incident_open(a->st, s->cfg->name, title, first, &s->incident) != 0) {
            LOG_WARN("%s", err_msg());
            s->incident = 0;
        }
        s->opened_wall = first;
        snprintf(s->title, sizeof s->title, "%s", title);
    }
    agent_record(a, "detection", s->cfg->name, s->incident, "failed",
                 "failure confirmed after %d failed probes: %s", s->cfg->fall, s->last.detail);
    agent_alert(a, "incident", "critical", s->cfg->name, s->incident, title, s->last.detail);
    note_failure(a, s, wall);
    s->escalated = 0;
    if (is_database(s) && !agent_hold_of(a, s)) {
        char why[200];
        snprintf(why, sizeof why, "database %s unreachable", s->cfg->name);
        escalate(a, s, s->cfg->name, s->incident, why);
    }
}

static void close_incident(agent *a, agent_svc *s, const char *how)
{
    if (!s->outage)
        return;
    s->outage = 0;
    agent_record(a, "recovered", s->cfg->name, s->incident, "ok", "%s is healthy again (%s)", s->cfg->name, how);
    if (s->incident && state_incident_close(a->st, s->incident, agent_wall_ms(), how) != 0) /* after "recovered" */
        LOG_WARN("%s", err_msg());
    char title[300];
    snprintf(title, sizeof title, "%s recovered", s->cfg->name);
    agent_alert(a, "resolved", "info", s->cfg->name, s->incident, title, how);
    s->incident = 0;
}

void agent_svc_result(agent *a, agent_svc *s, const probe_result *r, int64_t now)
{
    health_state before = s->h.state;
    s->last = *r;
    int64_t wall = agent_wall_ms();
    /* the run of failures that may confirm an outage starts */
    if (r->state == PROBE_FAILED && s->h.failures == 0) {
        s->first_fail_wall = wall;
        s->first_fail_at = now;
    }
    if (!health_feed(&s->h, r->state, wall)) {
        if (s->h.state == HEALTH_HEALTHY && !s->healthy_since)
            s->healthy_since = now;
        return;
    }
    s->h.since_ms = wall;
    agent_record(a, "probe", s->cfg->name, s->incident, health_state_name(s->h.state), "%s: %s -> %s (%s)",
                 s->cfg->name, health_state_name(before), health_state_name(s->h.state), r->detail);
    s->healthy_since = s->h.state == HEALTH_HEALTHY ? now : 0;
    if (s->h.state == HEALTH_FAILED && !in_maintenance(a, s)) {
        agent_svc_confirm(a, s, wall);
    } else if (s->h.state != HEALTH_FAILED && before == HEALTH_FAILED && s->outage) {
        if (s->phase == RECOVERY_VERIFY) {
            s->next_attempt = 0; /* it held: the next outage is a new one */
            agent_record(a, "verification", s->cfg->name, s->incident, "ok",
                         "verified: %d passing probes %.1fs after the recovery", s->cfg->rise,
                         (double)(wall - s->action_wall) / 1000.0);
            close_incident(a, s, "recovered by the agent's action, verified");
        } else {
            close_incident(a, s, s->nattempts ? "healthy again" : "healthy again without any action");
        }
        s->phase = RECOVERY_IDLE;
    }
    agent_svc_save(a, s, now);
}

static void *job_main(void *arg)
{
    agent_job *j = arg;
    proc_result res;
    const char *env[] = {j->env[0], j->env[1], NULL};
    j->rc = proc_run_leave(j->command, j->timeout_ms, env, NULL, j->output, sizeof j->output, &res);
    if (j->rc)
        snprintf(j->error, sizeof j->error, "%s", err_msg());
    else
        proc_describe(&res, j->error, sizeof j->error);
    j->rc = j->rc ? j->rc : (res.exited && res.status == 0 ? 0 : ERR_SERVICE);
    if (atomic_exchange(&j->done, 1) == 2) { /* orphaned: nobody waits for it */
        free(j->command);
        free(j);
        return NULL;
    }
    uint64_t one = 1;
    if (write(j->wake_fd, &one, sizeof one) < 0) {
        /* the loop wakes on its tick anyway */
    }
    return NULL;
}

void agent_job_orphan(agent_job **jp)
{
    agent_job *j = *jp;
    *jp = NULL;
    pthread_detach(j->thread);
    if (atomic_exchange(&j->done, 2) == 1) { /* it had ended already */
        free(j->command);
        free(j);
    }
}

/* The recover command: recover-command, else stop-command then start-command. */
static char *recover_command(const config_service *c)
{
    if (c->recover_command)
        return strdup(c->recover_command);
    if (!c->start_command)
        return NULL;
    if (!c->stop_command)
        return strdup(c->start_command);
    size_t n = strlen(c->stop_command) + strlen(c->start_command) + 16;
    char *cmd = malloc(n);
    if (cmd) /* the start runs whatever the stop said: a stop of something already dead fails */
        snprintf(cmd, n, "%s; %s", c->stop_command, c->start_command);
    return cmd;
}

static void start_attempt(agent *a, agent_svc *s, int64_t now)
{
    agent_job *j = calloc(1, sizeof *j);
    if (!j || !(j->command = recover_command(s->cfg))) {
        free(j);
        return;
    }
    j->timeout_ms = s->cfg->recover_timeout * 1000;
    j->wake_fd = a->wake_fd;
    snprintf(j->env[0], sizeof j->env[0], "LIFELINE_SERVICE=%s", s->cfg->name);
    snprintf(j->env[1], sizeof j->env[1], "LIFELINE_INCIDENT=%lld", (long long)s->incident);
    s->action_wall = agent_wall_ms();
    s->attempts[s->nattempts++] = s->action_wall;
    s->phase = RECOVERY_RUNNING;
    s->job = j;
    agent_record(a, "action", s->cfg->name, s->incident, "started", "recovery attempt %zu: running the %s",
                 s->nattempts, s->cfg->recover_command ? "recover-command" : "stop-command, then start-command");
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        agent_record(a, "action", s->cfg->name, s->incident, "failed", "cannot start a thread for the recovery");
        free(j->command);
        free(j);
        s->job = NULL;
        s->phase = RECOVERY_IDLE;
    }
    agent_svc_save(a, s, now);
}

/* Delay before attempt k+1: backoff doubling from `backoff` up to `backoff-max`, with
 * ±20 % jitter so that services failing together do not retry in step. */
static int64_t backoff_ms(const agent_svc *s)
{
    int64_t base = s->cfg->backoff * 1000, cap = s->cfg->backoff_max * 1000, d = base;
    for (int i = 0; i < s->backoff_step && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d + (d * ((rand() % 41) - 20)) / 100;
}

static void job_finished(agent *a, agent_svc *s, int64_t now)
{
    agent_job *j = s->job;
    pthread_join(j->thread, NULL);
    char first[200];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(j->output, "\n"), j->output);
    /* kind "command": the attempt itself is the one "action" entry (metrics count those) */
    agent_record(a, "command", s->cfg->name, s->incident, j->rc ? "failed" : "ok", "recovery command: %s%s%s",
                 j->error, first[0] ? ": " : "", first);
    /* an attempt that does not hold makes the next wait backoff, doubled for each one
     * before it; a verified recovery lets a new outage be acted on at once (max-recoveries
     * bounds a service that keeps dying) */
    int64_t wait = backoff_ms(s);
    s->backoff_step++;
    s->next_attempt = now + wait;
    if (!s->outage) { /* healthy again while the command ran: nothing left to verify */
        s->phase = RECOVERY_IDLE;
    } else if (j->rc) { /* the command failed: that attempt is over */
        agent_record(a, "verification", s->cfg->name, s->incident, "failed", "failed: the recovery command did not "
                     "succeed; next attempt in %.0fs at the earliest", (double)wait / 1000.0);
        s->phase = RECOVERY_IDLE;
    } else {
        s->phase = RECOVERY_VERIFY;
        atomic_store(&s->in_question, 1);
        s->verify_until = now + s->cfg->verify_timeout * 1000;
        s->next_probe = now; /* verification starts at once */
    }
    free(j->command);
    free(j);
    s->job = NULL;
}

void agent_svc_act(agent *a, agent_svc *s, int64_t now, int partition)
{
    int64_t wall = agent_wall_ms();
    if (s->job && atomic_load(&s->job->done))
        job_finished(a, s, now);
    if (s->phase == RECOVERY_VERIFY && now >= s->verify_until && s->h.state == HEALTH_FAILED) {
        int64_t wait = s->next_attempt > now ? s->next_attempt - now : 0;
        agent_record(a, "verification", s->cfg->name, s->incident, "failed",
                     "failed: not healthy within %llds of the recovery (%s); next attempt in %.0fs at the earliest",
                     (long long)s->cfg->verify_timeout, s->last.detail, (double)wait / 1000.0);
        s->phase = RECOVERY_IDLE;
    }
    /* the counter resets only after a sustained healthy period, never on one pass */
    int64_t window = s->cfg->recovery_window > 0 ? s->cfg->recovery_window * 1000 : 3600000;
    if (s->healthy_since && now - s->healthy_since >= window && (s->backoff_step || s->nattempts)) {
        s->backoff_step = 0;
        s->nattempts = 0;
        agent_svc_save(a, s, now);
    }
    if (s->h.state != HEALTH_FAILED || s->phase != RECOVERY_IDLE || now < s->next_attempt || !s->outage)
        return;
    if (partition || agent_hold_of(a, s) || (!s->cfg->recover_command && !s->cfg->start_command))
        return;
    if (!agent_svc_evidence(a, s, now)) {
        a->awaiting_evidence = 1;
        return;
    }
    expire_attempts(s, s, wall);
    if (s->cfg->max_recoveries > 0 && (int)s->nattempts >= s->cfg->max_recoveries) {
        if (!s->escalated) {
            char why[300];
            snprintf(why, sizeof why, "%s: max-recoveries %d/%llds reached (%zu recovery attempts in that window)", s->cfg->name,
                     s->cfg->max_recoveries, (long long)s->cfg->recovery_window, s->nattempts);
            escalate(a, s, s->cfg->name, s->incident, why);
            s->escalated = 1;
        }
        return;
    }
    if (s->nattempts == AGENT_MAX_ATTEMPTS) {
        memmove(s->attempts, s->attempts + 1, sizeof s->attempts - sizeof s->attempts[0]);
        s->nattempts--;
    }
    start_attempt(a, s, now);
}

/* Whether every other service has answered (or failed) since s began to fail, so that a
 * partition would be seen before s is acted on; a service that has not is waited for
 * until its probe's timeout has passed since then (its sweep probe is over by then). */
int agent_svc_evidence(const agent *a, const agent_svc *s, int64_t now)
{
    if (a->nsvcs < AGENT_PARTITION_MIN || !s->first_fail_at)
        return 1;
    for (size_t i = 0; i < a->nsvcs; i++) {
        const agent_svc *o = &a->svcs[i];
        if (o == s || in_maintenance(a, o) || o->result_at >= s->first_fail_at)
            continue;
        if (now < s->first_fail_at + o->cfg->timeout * 1000 + 2 * AGENT_WAKE_MS)
            return 0;
    }
    return 1;
}

/* Escalations across services: most failing at once from here (a partition, or this
 * node's network), several failing within an hour. Each at most once an hour. */
int agent_partition_suspected(const agent *a)
{
    size_t failing = 0;
    for (size_t i = 0; i < a->nsvcs; i++)
        failing += (a->svcs[i].h.failures > 0 || a->svcs[i].h.state == HEALTH_FAILED) &&
                   !in_maintenance(a, &a->svcs[i]);
    return a->nsvcs >= AGENT_PARTITION_MIN && failing * 2 > a->nsvcs;
}

void agent_escalations(agent *a, int64_t now)
{
    (void)now;
    int64_t wall = agent_wall_ms();
    size_t failed = 0;
    for (size_t i = 0; i < a->nsvcs; i++)
        failed += a->svcs[i].h.state == HEALTH_FAILED && !in_maintenance(a, &a->svcs[i]);
    if (a->nsvcs >= AGENT_PARTITION_MIN && failed * 2 > a->nsvcs && wall - a->partition_escalated_ms > 3600000) {
        char why[300];
        snprintf(why, sizeof why, "network partition suspected: %zu of %zu services fail from %s at once", failed,
                 a->nsvcs, a->node);
        a->partition_escalated_ms = wall;
        escalate(a, NULL, "*", 0, why);
        return;
    }
    int limit = a->cfg->watch.escalate_failures > 0 ? a->cfg->watch.escalate_failures : 3;
    int64_t window = a->cfg->watch.escalate_window > 0 ? a->cfg->watch.escalate_window * 1000 : 3600000;
    size_t distinct = 0;
    for (size_t i = 0; i < a->nfail; i++) {
        if (wall - a->fail_times[i] >= window)
            continue;
        int seen = 0;
        for (size_t k = i + 1; k < a->nfail && !seen; k++)
            seen = wall - a->fail_times[k] < window && !strcmp(a->fail_names[k], a->fail_names[i]);
        distinct += !seen;
    }
    if ((int)distinct >= limit && wall - a->multi_escalated_ms > window) {
        char why[300];
        snprintf(why, sizeof why, "%zu services failed within %llds", distinct, (long long)(window / 1000));
        a->multi_escalated_ms = wall;
        escalate(a, NULL, "*", 0, why);
    }
}
