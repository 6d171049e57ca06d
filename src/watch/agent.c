/* agent — see agent.h. Threads: the loop (this file: http and tcp probes are handed to
 * the probe batch's one thread, the other kinds to a pool, and their results come back
 * through an eventfd), the sender (notifications from the
 * outbox, on its own state connection), the control socket's, and HTTP's. Signals are
 * blocked in all of them and read by the loop through a signalfd, so nothing runs in
 * a signal handler. */
#define _GNU_SOURCE
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/proc.h"
#include "../evidence/report.h"
#include "../http/http.h"
#include "../ha/ha.h"
#include "agent_impl.h"
#include "paths.h"
#include "spec.h"

/* systemd's notification protocol (Type=notify, WatchdogSec): one datagram to
 * $NOTIFY_SOCKET; nothing when not run by systemd. */
static void sd_say(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || !*path || strlen(path) >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, strlen(path));
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* an abstract socket */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    (void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path)));
    close(fd);
}

/* One agent per state folder: an flock held for the agent's life (the kernel drops it
 * when the process dies, kill -9 included). */
static int take_folder(agent *a)
{
    char path[4100];
    snprintf(path, sizeof path, "%s/agent.lock", a->state_dir);
    a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (a->lock_fd < 0)
        return err_sys(ERR_IO, "state folder %s: cannot open %s", a->state_dir, path);
    if (flock(a->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(a->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(a->lock_fd);
        a->lock_fd = -1;
        return err_set(ERR_LOCKED, "another lifeline watch (pid %s) runs on the state folder %s", pid[0] ? pid : "?",
                       a->state_dir);
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (ftruncate(a->lock_fd, 0) != 0 || pwrite(a->lock_fd, line, (size_t)n, 0) != n)
        LOG_WARN("state folder %s: cannot write the agent's pid to %s", a->state_dir, path);
    return 0;
}

static void svc_free(agent_svc *s)
{
    if (s->job) /* a removed service, or shutting down: the command runs on, unwatched */
        agent_job_orphan(&s->job);
    watch_spec_free(&s->owned);
}

static void svcs_free(agent *a)
{
    for (size_t i = 0; i < a->nsvcs; i++)
        svc_free(&a->svcs[i]);
    free(a->svcs);
    a->svcs = NULL;
    a->nsvcs = 0;
}

/* What state remembers of a service (a kill -9 loses nothing): its open incident and
 * its recent recovery attempts. */
static void resume_from_state(agent *a)
{
    state_service *list;
    size_t n;
    if (state_service_list(a->st, &list, &n) != 0) {
        LOG_WARN("%s", err_msg());
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < a->nsvcs; k++) {
            agent_svc *s = &a->svcs[k];
            if (strcmp(list[i].name, s->cfg->name))
                continue;
            s->incident = list[i].incident;
            state_incident in;
            if (s->incident && state_incident_get(a->st, s->incident, &in) == 0) {
                if (in.closed_ms) /* closed by a person while the agent was down */
                    s->incident = 0;
                s->opened_wall = in.opened_ms;
                snprintf(s->title, sizeof s->title, "%s", in.title);
                state_incident_free(&in);
            }
            const char *p = list[i].recoveries;
            char *end;
            while (*p && s->nattempts < AGENT_MAX_ATTEMPTS) {
                long long t = strtoll(p, &end, 10);
                if (end == p)
                    break;
                s->attempts[s->nattempts++] = t;
                p = end;
            }
            s->backoff_step = (int)s->nattempts;
            s->outage = s->incident != 0;
            if (s->incident) { /* a failure was confirmed before the restart: it still counts */
                s->h.state = HEALTH_FAILED;
                s->h.failures = s->cfg->fall;
                s->h.since_ms = list[i].since_ms;
            }
        }
    state_services_free(&list, n);
}

/* The first round is spread over the interval: 200 services at 1 s make some twenty
 * probes per wake-up slot, not two hundred at once (and, since probes keep their
 * beat, for good). */
static int64_t first_probe_at(size_t i, const config_service *c, int64_t now)
{
    return now + (int64_t)(i * 37 % 1000) * c->interval;
}

/* Builds the services of cfg, keeping what the old ones knew when the name and probe
 * are the same (a reload does not reset a failing service). */
static int build_svcs(agent *a, const config *cfg, agent_svc **out)
{
    agent_svc *v = calloc(cfg->nservices + 1, sizeof *v);
    if (!v)
        return err_set(ERR_FATAL, "out of memory");
    int64_t now = proc_now_ms(), wall = agent_wall_ms();
    for (size_t i = 0; i < cfg->nservices; i++) {
        const config_service *c = &cfg->services[i];
        int rc = watch_probe_spec(cfg, c, &v[i].spec, &v[i].owned);
        if (rc) {
            for (size_t k = 0; k < i; k++)
                watch_spec_free(&v[k].owned);
            free(v);
            return err_wrap("[service \"%s\"]", c->name);
        }
        v[i].cfg = c;
        v[i].batched = probe_batch_takes(&v[i].spec);
        health_init(&v[i].h, c->rise, c->fall, c->start_period * 1000, wall);
        v[i].next_probe = first_probe_at(i, c, now);
        for (size_t k = 0; k < a->nsvcs; k++) {
            agent_svc *o = &a->svcs[k];
            if (strcmp(o->cfg->name, c->name))
                continue;
            /* a recovery under way goes on in the new service (its command is its own copy) */
            v[i].job = o->job;
            o->job = NULL;
            v[i].phase = o->phase;
            v[i].verify_until = o->verify_until;
            v[i].action_wall = o->action_wall;
            if (strcmp(o->cfg->probe, c->probe))
                continue;
            v[i].h = o->h;
            v[i].h.rise = c->rise;
            v[i].h.fall = c->fall;
            v[i].last = o->last;
            v[i].incident = o->incident;
            v[i].outage = o->outage;
            v[i].opened_wall = o->opened_wall;
            memcpy(v[i].title, o->title, sizeof o->title);
            v[i].nattempts = o->nattempts;
            memcpy(v[i].attempts, o->attempts, sizeof o->attempts);
            v[i].backoff_step = o->backoff_step;
            v[i].next_attempt = o->next_attempt;
            v[i].healthy_since = o->healthy_since;
            v[i].escalated = o->escalated;
        }
    }
    *out = v;
    return 0;
}

/* Reads the holds; records what changed since last time (placed, released) once. */
static void read_holds(agent *a)
{
    state_hold *list;
    size_t n;
    if (state_hold_list(a->st, &list, &n) != 0) {
        LOG_WARN("%s", err_msg());
        return;
    }
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        state_hold *h = &list[i];
        const char *what = !strcmp(h->target, "*") ? "every service" : h->target;
        if (!h->recorded && strcmp(h->kind, "escalation")) { /* an escalation recorded itself */
            agent_record(a, "hold", h->target, 0, "held", "automation held for %s by %s (%s): %s", what, h->by,
                         h->kind, h->reason);
            agent_alert(a, "hold", "warning", strcmp(h->target, "*") ? h->target : NULL, 0, "automation held",
                        h->reason);
        }
        if (!h->recorded && state_hold_mark_recorded(a->st, h->target, h->at_ms) != 0)
            LOG_WARN("%s", err_msg());
        if (h->released_ms) {
            agent_record(a, "resume", h->target, 0, "ok", "automation resumed for %s by %s", what, h->released_by);
            agent_alert(a, "resume", "info", strcmp(h->target, "*") ? h->target : NULL, 0, "automation resumed",
                        h->released_by);
            if (state_hold_forget(a->st, h->target, h->released_ms) != 0)
                LOG_WARN("%s", err_msg());
            /* a person said go: the service's attempts start over */
            for (size_t k = 0; k < a->nsvcs; k++)
                if (!strcmp(h->target, "*") || !strcmp(a->svcs[k].cfg->name, h->target)) {
                    agent_svc *v = &a->svcs[k];
                    v->nattempts = 0;
                    v->backoff_step = 0;
                    v->escalated = 0;
                    v->next_attempt = 0;
                    /* down on purpose until now, and still down: that is an outage now */
                    if (!strcmp(h->kind, "maintenance") && v->h.state == HEALTH_FAILED && !v->outage)
                        agent_svc_confirm(a, v, agent_wall_ms());
                }
            continue;
        }
        if (keep != i) {
            state_hold t = list[keep];
            list[keep] = *h;
            *h = t;
        }
        keep++;
    }
    state_holds_free(&a->holds, a->nholds);
    /* the released ones (now past keep) are freed with the list next time */
    for (size_t i = keep; i < n; i++) {
        free(list[i].target);
        free(list[i].kind);
        free(list[i].reason);
        free(list[i].by);
        free(list[i].released_by);
    }
    a->holds = list;
    a->nholds = keep;
}

/* Human updates (lifeline incidents update) go on to the channels and the trail. */
static void send_updates(agent *a)
{
    int64_t mark = 0;
    state_update *u;
    size_t n;
    if (state_counter_get(a->st, "update-sent", &mark) != 0 || state_updates_after(a->st, mark, 32, &u, &n) != 0) {
        LOG_WARN("%s", err_msg());
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char title[300];
        snprintf(title, sizeof title, "%s: %s", u[i].target, u[i].status);
        pthread_mutex_lock(&a->evidence_lock);
        siem_record r = {.severity = 5, .actor = "operator", .action = "update", .target = u[i].target,
                         .outcome = u[i].status, .message = u[i].message, .incident = u[i].incident,
                         .at_ms = u[i].at_ms, .hostname = a->node, .msgid = "update"};
        if (a->sy)
            (void)siem_send(a->sy, &r);
        pthread_mutex_unlock(&a->evidence_lock);
        char key[96];
        snprintf(key, sizeof key, "incident/%lld/update/%lld", (long long)u[i].incident, (long long)u[i].timeline_id);
        agent_alert_keyed(a, key, "update", "info", u[i].target, u[i].incident, title, u[i].message);
        /* a person resolved it: the agent stops acting for that incident */
        for (size_t k = 0; k < a->nsvcs && !strcmp(u[i].status, "resolved"); k++)
            if (a->svcs[k].incident == u[i].incident) {
                a->svcs[k].incident = 0;
                a->svcs[k].outage = 0;
                a->svcs[k].phase = RECOVERY_IDLE;
                agent_svc_save(a, &a->svcs[k], proc_now_ms());
            }
        if (state_counter_set(a->st, "update-sent", u[i].timeline_id) != 0)
            LOG_WARN("%s", err_msg());
    }
    state_updates_free(&u, n);
}

/* A probe is over (on the batch's or a pool's thread): its result waits in pending. */
static void probe_done(agent *a, agent_svc *s, const probe_result *r)
{
    s->pending = *r;
    int news = (int)r->state != atomic_load(&s->last_state) || r->state != PROBE_HEALTHY ||
               atomic_load(&s->in_question); /* counted at once: the next probe comes sooner */
    /* the loop skipped the service at its next probe's time (it was still probing):
     * the loop must come for it now, not at a wake that may be a whole interval away.
     * next_probe is not written while the probe runs. */
    news |= proc_now_ms() >= s->next_probe;
    atomic_store(&s->probing, 2); /* done, result in pending */
    /* a result that changes nothing (healthy as before) waits for the loop's next wake
     * (at most AGENT_WAKE_MS later); anything else wakes it at once */
    uint64_t one = 1;
    if (news && write(a->wake_fd, &one, sizeof one) < 0) {
        /* the loop wakes on its tick anyway */
    }
}

static void batch_done(void *ctx, void *tag, const probe_result *r)
{
    probe_done(ctx, tag, r);
}

typedef struct probe_job {
    agent *a;
    agent_svc *s;
} probe_job;

static int probe_job_run(void *arg, unsigned worker)
{
    (void)worker;
    probe_job *j = arg;
    probe_result r;
    if (probe_run(&j->s->spec, &r) != 0) {
        memset(&r, 0, sizeof r);
        r.state = PROBE_FAILED;
        snprintf(r.detail, sizeof r.detail, "%s", err_msg());
    }
    probe_done(j->a, j->s, &r);
    free(j);
    return 0;
}

/* One due probe to where it runs: 0 when it went. */
static int probe_send(agent *a, agent_svc *s)
{
    if (s->batched)
        return probe_batch_submit(a->batch, &s->spec, s);
    probe_job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (probe_job){.a = a, .s = s};
    if (pool_submit(a->probes, probe_job_run, j) == 0)
        return 0;
    free(j);
    return -1;
}

/* HAProxy's fastinter: while a service's state is in question — failures not yet
 * `fall`, passes not yet `rise`, a recovery being verified — the next probe comes after
 * fast-interval, not interval: an outage is confirmed (and a recovery seen) sooner, and
 * a healthy service costs nothing more. */
static int64_t fast_interval_ms(const config_service *c)
{
    int64_t ms = c->fast_interval_ms ? c->fast_interval_ms : c->interval * 1000 / 4;
    return ms < 100 ? 100 : ms;
}

static int in_question(const agent_svc *s)
{
    if (s->phase == RECOVERY_VERIFY)
        return 1;
    if (s->h.state == HEALTH_FAILED)
        return s->h.passes > 0;
    return s->h.failures > 0 || (s->h.state == HEALTH_STARTING && s->h.passes > 0);
}

/* A service that begins to fail has every other one probed at once: fast-interval may
 * confirm its outage before the others' turns come, and whether most services fail
 * together (a partition seen from here: no action) must be known before anything is
 * done (agent_svc_evidence). At most once a second, so a flapping service does not
 * probe the rest over and over. */
#define AGENT_SWEEP_MS 1000
static void sweep(agent *a, const agent_svc *s, int64_t now)
{
    if (a->nsvcs < AGENT_PARTITION_MIN || (a->swept_at && now - a->swept_at < AGENT_SWEEP_MS))
        return;
    a->swept_at = now;
    for (size_t i = 0; i < a->nsvcs; i++)
        if (&a->svcs[i] != s && !atomic_load(&a->svcs[i].probing) && a->svcs[i].next_probe > now) {
            a->svcs[i].beat = a->svcs[i].next_probe; /* its own slot afterwards, not this one */
            a->svcs[i].next_probe = now;
        }
}

/* Hands every due probe to the batch or the pool; collects the finished ones. The
 * batch's thread is woken once for all of a slot's. */
static void probe_round(agent *a, int64_t now)
{
    int batched = 0;
    for (size_t i = 0; i < a->nsvcs; i++) {
        agent_svc *s = &a->svcs[i];
        if (atomic_load(&s->probing) == 2) {
            probe_result r = s->pending;
            atomic_store(&s->probing, 0);
            /* a healthy (or starting) service begins to fail: the others are probed now */
            int begins = r.state == PROBE_FAILED && s->h.failures == 0 && s->h.state != HEALTH_FAILED;
            agent_svc_result(a, s, &r, now);
            atomic_store(&s->last_state, (int)r.state);
            s->result_at = now;
            if (begins)
                sweep(a, s, now);
            atomic_store(&s->in_question, in_question(s));
            if (atomic_load(&s->in_question) && now + fast_interval_ms(s->cfg) < s->next_probe)
                s->next_probe = now + fast_interval_ms(s->cfg);
            if (a->awaiting_evidence) /* a confirmed outage waits for these: act on this turn */
                atomic_store(&a->metrics_dirty, 1);
        }
        if (atomic_load(&s->probing) || now < s->next_probe)
            continue;
        atomic_store(&s->probing, 1);
        /* in phase: probes keep their own beat rather than drift apart (each finish
         * wakes the loop); after a stall (a slow start, a loaded machine) too: the
         * services due together now go back to their own slots, not all to now +
         * interval, which would keep them bunched in one slot for good */
        int64_t iv = s->cfg->interval * 1000;
        if (s->beat) { /* probed out of turn (sweep): back to the beat it had */
            s->next_probe = s->beat - iv;
            s->beat = 0;
        }
        s->next_probe += iv;
        if (s->next_probe <= now)
            s->next_probe += ((now - s->next_probe) / iv + 1) * iv;
        if (probe_send(a, s) != 0)
            atomic_store(&s->probing, 0);
        else
            batched |= s->batched;
    }
    if (batched)
        probe_batch_kick(a->batch);
}

/* The loop wakes for due probes in slots of AGENT_WAKE_MS (agent_impl.h). */
static int64_t next_wake(const agent *a, int64_t now)
{
    int64_t t = now + (a->cfg->watch.loop > 0 ? a->cfg->watch.loop : 1) * 1000;
    for (size_t i = 0; i < a->nsvcs; i++)
        if (!atomic_load(&a->svcs[i].probing) && a->svcs[i].next_probe < t)
            t = a->svcs[i].next_probe;
    t = (t + AGENT_WAKE_MS - 1) / AGENT_WAKE_MS * AGENT_WAKE_MS;
    return t > now ? t : now;
}

/* The sender: notifications leave from the outbox on this thread's own connection, so
 * a slow receiver never delays a probe. Each outcome is an event (and, when it is the
 * last word on it, an audit record). */
typedef struct sender {
    agent *a;
    state *st;
    notify *nt;
} sender;

static void sent(void *ctx, const char *channel, const char *dedup_key, int delivered, int dead, const char *error)
{
    sender *x = ctx;
    int64_t at = agent_wall_ms(), incident = 0;
    long long id;
    if (sscanf(dedup_key, "incident/%lld/", &id) == 1)
        incident = id;
    char msg[700];
    if (delivered)
        snprintf(msg, sizeof msg, "%s delivered to %s", dedup_key, channel);
    else if (dead)
        snprintf(msg, sizeof msg, "%s dead-lettered at %s: %s", dedup_key, channel, error ? error : "");
    else
        snprintf(msg, sizeof msg, "%s to %s failed, will retry: %s", dedup_key, channel, error ? error : "");
    if (state_event_add(x->st, at, "notification", channel, msg, 0, NULL) != 0)
        LOG_WARN("%s", err_msg());
    if ((delivered || dead) && incident && state_incident_note(x->st, incident, at, "notification", msg) != 0)
        LOG_DEBUG("%s", err_msg()); /* the incident may be another node's */
    if (delivered || dead) {
        pthread_mutex_lock(&x->a->evidence_lock);
        uint64_t audited = agent_audit(x->a, "notification", channel, dead ? "failed" : "ok", msg);
        siem_record r = {.audit_seq = audited, .severity = dead ? 3 : 6, .actor = "lifeline-watch", .action = "notification",
                         .target = channel, .outcome = dead ? "dead-letter" : "delivered", .message = msg,
                         .incident = incident, .at_ms = at, .hostname = x->a->node, .msgid = "notification"};
        if (x->a->sy)
            (void)siem_send(x->a->sy, &r);
        pthread_mutex_unlock(&x->a->evidence_lock);
    }
    LOG_VERBOSE("%s", msg);
}

/* The sender sleeps until the outbox's next item is due, or one is queued (sender_poke),
 * or it is told to stop; at most SENDER_IDLE_MS, for items another process queued. */
#define SENDER_IDLE_MS 5000

void agent_sender_poke(void *ctx)
{
    agent *a = ctx;
    uint64_t one = 1;
    if (a->sender_fd >= 0 && write(a->sender_fd, &one, sizeof one) < 0)
        LOG_DEBUG("notification thread: cannot wake it: %s", strerror(errno));
}

static int sender_wait_ms(sender *x)
{
    int64_t at = 0;
    int found = 0;
    if (notify_next_at(x->nt, &at, &found) != 0) {
        LOG_WARN("notifications: %s", err_msg());
        return 1000;
    }
    int64_t left = found ? at - agent_wall_ms() : SENDER_IDLE_MS;
    /* never a spin: an item due now that dispatch did not take waits a little */
    return left < 50 ? 50 : left > SENDER_IDLE_MS ? SENDER_IDLE_MS : (int)left;
}

static void *sender_main(void *arg)
{
    sender *x = arg;
    while (!atomic_load(&x->a->stop) && !atomic_load(&x->a->sender_stop)) {
        if (notify_dispatch(x->nt, agent_wall_ms(), proc_now_ms() + 2000, sent, x) != 0)
            LOG_WARN("notifications: %s", err_msg());
        if (atomic_load(&x->a->stop) || atomic_load(&x->a->sender_stop))
            break;
        struct pollfd p = {.fd = x->a->sender_fd, .events = POLLIN};
        if (poll(&p, 1, sender_wait_ms(x)) > 0) {
            uint64_t v;
            (void)!read(x->a->sender_fd, &v, sizeof v);
        }
    }
    notify_free(&x->nt);
    state_close(&x->st);
    free(x);
    return NULL;
}

static int sender_start(agent *a, const char *db)
{
    sender *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(ERR_FATAL, "out of memory");
    x->a = a;
    int rc = state_open(db, 5000, &x->st);
    if (!rc)
        rc = notify_new(a->cfg, x->st, a->node, &x->nt);
    if (!rc && pthread_create(&a->sender, NULL, sender_main, x) != 0)
        rc = err_set(ERR_FATAL, "cannot start the notification thread");
    a->sender_running = !rc;
    if (rc) {
        notify_free(&x->nt);
        state_close(&x->st);
        free(x);
    }
    return rc;
}

/* HTTP's data: the status document, and incidents on HTTP's own connection. */
/* The groups' part is the engine's own, read now: HAProxy's /primary must not be told of
 * a lease that ended since the loop's last status document. */
static cJSON *http_status(void *ctx)
{
    agent *a = ctx;
    cJSON *o = agent_status_copy(a);
    if (o && a->ha)
        cJSON_ReplaceItemInObject(o, "groups", ha_status(a->ha));
    return o;
}

static cJSON *http_groups(void *ctx)
{
    agent *a = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "groups", a->ha ? ha_status(a->ha) : cJSON_CreateArray());
    return o;
}

static cJSON *http_incidents(void *ctx, int64_t since_ms)
{
    agent *a = ctx;
    cJSON *list = cJSON_CreateArray();
    pthread_mutex_lock(&a->http_lock);
    state_incident *in;
    size_t n;
    if (state_incident_list(a->http_st, 0, since_ms, 1, &in, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(list, report_incident_json(&in[i]));
        state_incidents_free(&in, n);
    } else {
        cJSON_Delete(list);
        list = NULL;
    }
    pthread_mutex_unlock(&a->http_lock);
    return list;
}

/* The metrics of the status document: after anything was recorded, else every 10 s
 * (notifications delivered meanwhile). */
static void refresh_metrics(agent *a, int64_t now)
{
    if (a->metrics && !atomic_load(&a->metrics_dirty) && now - a->metrics_at < 10000)
        return;
    a->metrics_at = now;
    atomic_store(&a->metrics_dirty, 0);
    state_metrics m;
    if (state_metrics_get(a->st, 0, &m) != 0) {
        LOG_WARN("%s", err_msg());
        return;
    }
    cJSON *o = report_metrics_json(&m);
    int64_t pending = 0, failed = 0, delivered = 0;
    if (a->nt && notify_counts(a->nt, &pending, &failed, &delivered) == 0) {
        cJSON_DeleteItemFromObject(o, "notifications_pending");
        cJSON_DeleteItemFromObject(o, "notifications_failed");
        cJSON_DeleteItemFromObject(o, "notifications_delivered");
        cJSON_AddNumberToObject(o, "notifications_pending", (double)pending);
        cJSON_AddNumberToObject(o, "notifications_failed", (double)failed);
        cJSON_AddNumberToObject(o, "notifications_delivered", (double)delivered);
    }
    cJSON_Delete(a->metrics);
    a->metrics = o;
}

static void open_list(const agent *a, notify_open *out, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < a->nsvcs; i++)
        if (a->svcs[i].incident) {
            out[*n] = (notify_open){.id = a->svcs[i].incident, .opened_ms = a->svcs[i].opened_wall,
                                    .target = a->svcs[i].cfg->name, .title = a->svcs[i].title};
            (*n)++;
        }
}

static int same_text(const char *x, const char *y) { return (!x && !y) || (x && y && !strcmp(x, y)); }

static void sender_stop(agent *a)
{
    if (!a->sender_running)
        return;
    atomic_store(&a->sender_stop, 1);
    agent_sender_poke(a);
    pthread_join(a->sender, NULL);
    atomic_store(&a->sender_stop, 0);
    a->sender_running = 0;
}

/* http and tcp probes run on the batch's one thread, all of a slot at once. The other
 * kinds block a thread each while they run: up to 16 at a time, enough that a few
 * targets that do not answer delay nobody, few enough that they cost little memory and
 * switching (bench/watch). When most targets hang (a partition), a round takes longer:
 * the escalation, not the detection time, matters then. */
#define AGENT_PROBE_THREADS 16
static int pool_resize(agent *a)
{
    if (a->probes) {
        if (pool_wait(a->probes) != 0)
            LOG_DEBUG("probe pool: %s", err_msg());
        pool_free(&a->probes);
    }
    size_t pooled = 0;
    for (size_t i = 0; i < a->nsvcs; i++)
        pooled += !a->svcs[i].batched;
    unsigned threads = pooled < 1 ? 1 : pooled > AGENT_PROBE_THREADS ? AGENT_PROBE_THREADS : (unsigned)pooled;
    return pool_new(threads, a->nsvcs + 16, &a->probes);
}

/* SIGHUP: a new configuration, refused whole (the old one kept) when it does not load. */
static void reload(agent *a)
{
    sd_say("RELOADING=1");
    config *fresh = NULL;
    agent_svc *v = NULL;
    int rc = config_load(a->opts->config_path, &fresh);
    if (!rc && ((fresh->watch.state_dir && a->cfg->watch.state_dir &&
                 strcmp(fresh->watch.state_dir, a->cfg->watch.state_dir)) ||
                (!fresh->watch.state_dir) != (!a->cfg->watch.state_dir)))
        rc = err_set(ERR_CONFIG, "%s: state-dir cannot change while the agent runs (restart it)",
                     a->opts->config_path);
    if (!rc && !same_text(fresh->watch.listen, a->cfg->watch.listen))
        rc = err_set(ERR_CONFIG, "%s: listen cannot change while the agent runs (restart it)", a->opts->config_path);
    if (!rc && !same_text(fresh->watch.node, a->cfg->watch.node))
        rc = err_set(ERR_CONFIG, "%s: node cannot change while the agent runs (restart it)", a->opts->config_path);
    notify *nt = NULL;
    if (!rc) /* a channel whose secret cannot be read refuses the whole reload */
        rc = notify_new(fresh, a->st, a->node, &nt);
    if (!rc) {
        /* in-flight probes point at the old services */
        if (pool_wait(a->probes) != 0)
            LOG_DEBUG("probe pool: %s", err_msg());
        probe_batch_wait(a->batch);
        for (size_t i = 0; i < a->nsvcs; i++)
            if (atomic_load(&a->svcs[i].probing) == 2)
                agent_svc_result(a, &a->svcs[i], &a->svcs[i].pending, proc_now_ms());
        rc = build_svcs(a, fresh, &v);
    }
    if (rc) {
        agent_record(a, "reload", a->opts->config_path, 0, "failed",
                     "new configuration refused, the running one kept: %s", err_msg());
        notify_free(&nt);
        config_free(&fresh);
        sd_say("READY=1");
        return;
    }
    size_t old = a->nsvcs;
    /* the notifiers read the configuration: they are made anew with it */
    sender_stop(a);
    notify_free(&a->nt);
    a->nt = nt;
    notify_on_queue(a->nt, agent_sender_poke, a);
    svcs_free(a);
    a->svcs = v;
    a->nsvcs = fresh->nservices;
    config_free(&a->cfg);
    a->cfg = fresh;
    a->opts->cfg = fresh;
    if (sender_start(a, a->db_path) != 0)
        agent_record(a, "reload", a->opts->config_path, 0, "failed", "notifications stopped: %s", err_msg());
    if (pool_resize(a) != 0) /* the number of services outside the batch may have changed */
        agent_record(a, "reload", a->opts->config_path, 0, "failed", "probe threads: %s", err_msg());
    agent_record(a, "reload", a->opts->config_path, 0, "ok", "configuration reloaded: %zu services (was %zu)",
                 a->nsvcs, old);
    sd_say("READY=1");
}

static int handle_signals(agent *a)
{
    struct signalfd_siginfo si;
    while (read(a->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP)
            reload(a);
        else
            return 1;
    }
    return 0;
}

/* Once an hour: events older than 90 days and notifications done 30 days ago go (the
 * incidents stay). */
static void prune(agent *a, int64_t now)
{
    if (a->pruned_at && now - a->pruned_at < 3600000)
        return;
    a->pruned_at = now;
    int64_t wall = agent_wall_ms(), removed = 0;
    if (state_prune(a->st, wall - 90LL * 86400000, wall - 30LL * 86400000, &removed) != 0)
        LOG_WARN("%s", err_msg());
    else if (removed)
        LOG_VERBOSE("state: %lld old events and notifications forgotten", (long long)removed);
}

static int jobs_done(const agent *a)
{
    for (size_t i = 0; i < a->nsvcs; i++)
        if (a->svcs[i].job && atomic_load(&a->svcs[i].job->done))
            return 1;
    return 0;
}

/* One turn of the loop: results in, decisions, the evidence out. Probe results are
 * taken on every wake; the rest runs once a `loop` tick, or at once when something
 * was recorded or a recovery command ended (hundreds of probes a second must not
 * each cost a status document). */
static void turn(agent *a, int64_t now)
{
    probe_round(a, now);
    int asked = atomic_exchange(&a->status_wanted, 0);
    if (now < a->next_full && !atomic_load(&a->metrics_dirty) && !jobs_done(a)) {
        if (asked)
            agent_status_refresh(a);
        return;
    }
    a->next_full = now + (a->cfg->watch.loop > 0 ? a->cfg->watch.loop : 1) * 1000;
    read_holds(a);
    agent_escalations(a, now);
    int partition = agent_partition_suspected(a);
    a->awaiting_evidence = 0;
    for (size_t i = 0; i < a->nsvcs; i++)
        agent_svc_act(a, &a->svcs[i], now, partition);
    send_updates(a);
    notify_open *list = calloc(a->nsvcs + 1, sizeof *list);
    size_t nopen = 0;
    if (list) {
        open_list(a, list, &nopen);
        if (a->nt && notify_tick(a->nt, list, nopen, agent_wall_ms()) != 0)
            LOG_WARN("notifications: %s", err_msg());
        free(list);
    }
    refresh_metrics(a, now);
    if (asked || agent_status_watched(a, now))
        agent_status_refresh(a);
    prune(a, now);
}

static void wait_for_work(agent *a, int64_t until)
{
    int64_t left = until - proc_now_ms();
    struct pollfd p[2] = {{.fd = a->wake_fd, .events = POLLIN}, {.fd = a->sig_fd, .events = POLLIN}};
    if (poll(p, 2, left > 0 ? (int)(left > 1000 ? 1000 : left) : 0) > 0 && (p[0].revents & POLLIN)) {
        uint64_t v;
        (void)!read(a->wake_fd, &v, sizeof v);
    }
}

static int loop(agent *a)
{
    int64_t watchdog = 0;
    const char *wd = getenv("WATCHDOG_USEC");
    int64_t wd_ms = wd ? strtoll(wd, NULL, 10) / 2000 : 0;
    int rounds = 0;
    /* spread from now: the rest of the set-up (databases, threads, a slow disk) may have
     * taken longer than an interval since build_svcs spread them */
    int64_t start = proc_now_ms();
    for (size_t i = 0; i < a->nsvcs; i++)
        a->svcs[i].next_probe = first_probe_at(i, a->svcs[i].cfg, start);
    while (!handle_signals(a)) {
        int64_t now = proc_now_ms();
        turn(a, now);
        if (wd_ms > 0 && now - watchdog >= wd_ms) {
            sd_say("WATCHDOG=1");
            watchdog = now;
        }
        if (a->opts->once && ++rounds > 1) {
            int busy = 0;
            for (size_t i = 0; i < a->nsvcs; i++)
                busy |= atomic_load(&a->svcs[i].probing) != 0 || a->svcs[i].job;
            if (!busy)
                break;
        }
        wait_for_work(a, next_wake(a, proc_now_ms()));
    }
    return 0;
}

/* The failover engine's evidence: its own state connection and notifier (it runs on
 * its own thread), the agent's audit trail and syslog (under evidence_lock), and its
 * groups' incidents. */
typedef struct ha_evidence {
    agent *a;
    state *st;
    notify *nt;
    struct {
        char group[64];
        int64_t id;
    } open[16];
} ha_evidence;

static void ha_record(void *ctx, const char *kind, const char *target, const char *outcome, const char *message)
{
    ha_evidence *x = ctx;
    int64_t incident = 0;
    for (size_t i = 0; i < 16; i++)
        if (x->open[i].id && !strncmp(target, x->open[i].group, strlen(x->open[i].group)))
            incident = x->open[i].id;
    agent_record_in(x->a, x->st, kind, target, incident, outcome, message);
}

static void ha_incident(void *ctx, const char *target, int open, const char *title)
{
    ha_evidence *x = ctx;
    int64_t wall = agent_wall_ms();
    for (size_t i = 0; i < 16; i++) {
        if (!open && x->open[i].id && !strcmp(x->open[i].group, target)) {
            if (state_incident_close(x->st, x->open[i].id, wall, title) != 0)
                LOG_WARN("%s", err_msg());
            agent_alert_in(x->a, x->st, x->nt, NULL, "resolved", "info", target, x->open[i].id, title, title);
            x->open[i].id = 0;
            return;
        }
        if (open && x->open[i].id && !strcmp(x->open[i].group, target))
            return; /* one incident per group at a time */
    }
    for (size_t i = 0; open && i < 16; i++)
        if (!x->open[i].id) {
            snprintf(x->open[i].group, sizeof x->open[i].group, "%s", target);
            if (state_incident_open(x->st, target, title, wall, &x->open[i].id) != 0)
                LOG_WARN("%s", err_msg());
            else
                agent_alert_in(x->a, x->st, x->nt, NULL, "incident", "critical", target, x->open[i].id, title, title);
            return;
        }
}

static void ha_alert(void *ctx, const char *event, const char *severity, const char *target, const char *title,
                     const char *message)
{
    ha_evidence *x = ctx;
    char key[200];
    snprintf(key, sizeof key, "ha/%s/%s/%lld", target, event, (long long)agent_wall_ms());
    agent_alert_in(x->a, x->st, x->nt, key, event, severity, target, 0, title, message);
}

static int ha_setup(agent *a)
{
    if (!a->cfg->npg_groups)
        return 0;
    ha_evidence *x = calloc(1, sizeof *x);
    if (!x)
        return err_set(ERR_FATAL, "out of memory");
    x->a = a;
    a->hx = x;
    int rc = state_open(a->db_path, 5000, &x->st);
    if (!rc)
        rc = notify_new(a->cfg, x->st, a->node, &x->nt);
    if (!rc)
        notify_on_queue(x->nt, agent_sender_poke, a);
    ha_hooks hooks = {.ctx = x, .record = ha_record, .incident = ha_incident, .alert = ha_alert};
    return rc ? rc : ha_start(a->cfg, a->node, a->db_path, &hooks, &a->ha);
}

static void ha_teardown(agent *a)
{
    ha_stop(&a->ha);
    if (a->hx) {
        notify_free(&a->hx->nt);
        state_close(&a->hx->st);
        free(a->hx);
        a->hx = NULL;
    }
}

static int setup(agent *a)
{
    int rc = watch_state_dir(a->cfg, a->state_dir, sizeof a->state_dir);
    if (!rc)
        rc = fs_mkdirs(a->state_dir, 0700);
    if (!rc)
        rc = take_folder(a);
    if (!rc && snprintf(a->db_path, sizeof a->db_path, "%s/state.db", a->state_dir) >= (int)sizeof a->db_path)
        rc = err_set(ERR_CONFIG, "state folder path too long");
    if (!rc)
        rc = state_open(a->db_path, 5000, &a->st);
    if (!rc)
        rc = state_open(a->db_path, 5000, &a->http_st);
    if (!rc && state_outbox_retry_now(a->st, agent_wall_ms()) != 0)
        LOG_WARN("%s", err_msg());
    if (!rc && (a->sender_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        rc = err_sys(ERR_FATAL, "eventfd");
    if (!rc)
        rc = notify_new(a->cfg, a->st, a->node, &a->nt);
    if (!rc)
        notify_on_queue(a->nt, agent_sender_poke, a);
    if (!rc && siem_open(a->cfg->watch.syslog ? a->cfg->watch.syslog : "local", "lifeline", &a->sy) != 0)
        LOG_WARN("syslog: %s (audit records and the state database go on)", err_msg());
    if (!rc && a->sy && a->cfg->watch.syslog_facility)
        siem_set_facility(a->sy, a->cfg->watch.syslog_facility);
    if (!rc)
        rc = build_svcs(a, a->cfg, &a->svcs);
    if (!rc) {
        a->nsvcs = a->cfg->nservices;
        resume_from_state(a);
        rc = pool_resize(a);
    }
    if (!rc && (a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        rc = err_sys(ERR_FATAL, "eventfd");
    if (!rc)
        rc = probe_batch_new(batch_done, a, &a->batch);
    if (!rc)
        rc = ha_setup(a);
    if (!rc)
        rc = agent_control_start(a);
    if (!rc)
        rc = sender_start(a, a->db_path);
    if (!rc && a->cfg->watch.listen) {
        http_source src = {.ctx = a, .status = http_status, .incidents = http_incidents, .groups = http_groups};
        rc = http_start(a->cfg->watch.listen, &src, &a->http);
    }
    return rc;
}

static void teardown(agent *a)
{
    atomic_store(&a->stop, 1);
    http_stop(&a->http);
    /* the control socket first: a switchover's request waits in the engine, which must
     * outlive it */
    agent_control_stop(a);
    ha_teardown(a);
    sender_stop(a);
    if (a->probes) {
        if (pool_wait(a->probes) != 0)
            LOG_DEBUG("probe pool: %s", err_msg());
        pool_free(&a->probes);
    }
    probe_batch_free(&a->batch); /* probes still running are dropped */
    for (size_t i = 0; i < a->nsvcs; i++)
        if (a->svcs[i].job && !atomic_load(&a->svcs[i].job->done))
            agent_record(a, "command", a->svcs[i].cfg->name, a->svcs[i].incident, "interrupted",
                         "the agent stopped while the recovery command ran: it goes on unwatched");
    svcs_free(a);
    state_holds_free(&a->holds, a->nholds);
    notify_free(&a->nt);
    siem_close(&a->sy);
    state_close(&a->http_st);
    state_close(&a->st);
    cJSON_Delete(a->metrics);
    free(a->status_json);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    if (a->sender_fd >= 0)
        close(a->sender_fd);
    if (a->lock_fd >= 0)
        close(a->lock_fd);
    pthread_mutex_destroy(&a->status_lock);
    pthread_cond_destroy(&a->status_cond);
    pthread_mutex_destroy(&a->evidence_lock);
    pthread_mutex_destroy(&a->http_lock);
}

int agent_run(agent_opts *o)
{
    agent a = {.opts = o, .cfg = o->cfg, .audit = o->audit_repo, .wake_fd = -1, .sender_fd = -1, .lock_fd = -1, .control_fd = -1};
    pthread_mutex_init(&a.status_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a.status_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&a.evidence_lock, NULL);
    pthread_mutex_init(&a.http_lock, NULL);
    a.started_wall = agent_wall_ms();
    if (o->cfg->watch.node)
        snprintf(a.node, sizeof a.node, "%s", o->cfg->watch.node);
    else if (gethostname(a.node, sizeof a.node) != 0)
        snprintf(a.node, sizeof a.node, "localhost");
    a.node[sizeof a.node - 1] = '\0';
    srand((unsigned)(a.started_wall ^ getpid()));
    /* signals for the signalfd, blocked before any thread starts so all inherit it */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    a.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int rc = a.sig_fd < 0 ? err_sys(ERR_FATAL, "signalfd") : setup(&a);
    if (!rc) {
        agent_record(&a, "start", a.node, 0, "ok", "lifeline watch %s started on %s: %zu services, state in %s",
                     LIFELINE_VERSION, a.node, a.nsvcs, a.state_dir);
        sd_say("READY=1");
        rc = loop(&a);
        sd_say("STOPPING=1");
        agent_record(&a, "stop", a.node, 0, "ok", "lifeline watch stopped");
    }
    o->cfg = a.cfg; /* a reload may have replaced it: the caller frees this one */
    err_saved e;
    err_save(&e);
    teardown(&a);
    err_restore(&e);
    if (a.sig_fd >= 0)
        close(a.sig_fd);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return rc;
}
