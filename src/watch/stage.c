/* stage — see stage.h. The plan is computed once (levels of the dependency graph);
 * the run starts one thread per service of a stage and waits for all of them, so a
 * stage takes as long as its slowest service, not the sum. State (holds, events) is
 * written only from the calling thread: one SQLite handle, one user. */
#define _GNU_SOURCE
#include "stage.h"

#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/proc.h"
#include "../probe/probe.h"
#include "../state/state.h"
#include "spec.h"

/* How often a wait between probes looks whether a sibling failed. */
#define STAGE_SLICE_MS 100

/* A service of the plan with what its run needs. */
typedef struct stage_entry {
    stage_item item;
    probe_spec spec;
    struct watch_spec *owned; /* what the probe spec holds (a redis password) */
    char spec_error[256];  /* why no probe can be made ("" when spec is usable) */
    char hold_note[512];   /* start: why a hold forbids its start-command ("" when none) */
    stage_plan *plan;
    size_t stage, k;
    int64_t timeout_ms;
} stage_entry;

struct stage_plan {
    const config *cfg;
    stage_dir dir;
    size_t nstages;
    size_t *width;          /* services per stage */
    stage_entry **at;       /* at[stage][k]: stage's first entry (entries are in stage order) */
    stage_entry *entries;   /* every service of the plan, file order */
    size_t nentries;
    atomic_int failed;      /* a service failed: siblings stop waiting, later stages do not run */
    pthread_mutex_t report; /* one progress call at a time */
    const stage_opts *opts;
};

const char *stage_action_name(stage_action a)
{
    static const char *const names[] = {"pending", "started", "already-running", "stopped",
                                        "already-down", "skipped", "cancelled", "failed"};
    return a <= STAGE_FAILED ? names[a] : "?";
}

stage_dir stage_plan_dir(const stage_plan *p) { return p->dir; }
size_t stage_plan_stages(const stage_plan *p) { return p->nstages; }
size_t stage_plan_width(const stage_plan *p, size_t stage) { return stage < p->nstages ? p->width[stage] : 0; }

const stage_item *stage_plan_item(const stage_plan *p, size_t stage, size_t k)
{
    return stage < p->nstages && k < p->width[stage] ? &p->at[stage][k].item : NULL;
}

void stage_format_interval(int64_t seconds, char *out, size_t cap)
{
    int64_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
    size_t used = 0;
    out[0] = '\0';
    if (h && used < cap)
        used += (size_t)snprintf(out + used, cap - used, "%lldh", (long long)h);
    if (m && used < cap)
        used += (size_t)snprintf(out + used, cap - used, "%lldm", (long long)m);
    if ((s || !seconds) && used < cap)
        snprintf(out + used, cap - used, "%llds", (long long)s);
}

/* ---- planning ---------------------------------------------------------------- */

static size_t service_index(const config *cfg, const char *name)
{
    return (size_t)(config_service_find(cfg, name) - cfg->services);
}

/* Does service a depend on service b directly? */
static int depends_directly(const config_service *a, const char *b)
{
    for (size_t d = 0; d < a->ndeps; d++)
        if (!strcmp(a->depends_on[d], b))
            return 1;
    return 0;
}

/* Marks i and, for a start, what it depends on, for a stop, what depends on it. */
static void mark(const config *cfg, stage_dir dir, size_t i, char *in)
{
    if (in[i])
        return;
    in[i] = 1;
    const config_service *s = &cfg->services[i];
    if (dir == STAGE_START) {
        for (size_t d = 0; d < s->ndeps; d++)
            mark(cfg, dir, service_index(cfg, s->depends_on[d]), in);
        return;
    }
    for (size_t j = 0; j < cfg->nservices; j++)
        if (depends_directly(&cfg->services[j], s->name))
            mark(cfg, dir, j, in);
}

/* The stage of service i: one after the latest of what must come before it (its
 * dependencies for a start, its dependents in the plan for a stop). The graph has no
 * cycle (config refuses them), so the recursion ends; level[] memoises it. */
static size_t level_of(const config *cfg, stage_dir dir, size_t i, const char *in, size_t *level)
{
    if (level[i])
        return level[i] - 1;
    size_t lv = 0;
    const config_service *s = &cfg->services[i];
    for (size_t j = 0; j < cfg->nservices; j++) {
        int before = dir == STAGE_START ? depends_directly(s, cfg->services[j].name)
                                        : in[j] && depends_directly(&cfg->services[j], s->name);
        if (before) {
            size_t l = level_of(cfg, dir, j, in, level) + 1;
            lv = l > lv ? l : lv;
        }
    }
    level[i] = lv + 1;
    return lv;
}

/* The probe of service s exactly as the agent runs it (watch_probe_spec). */
static void build_spec(const config *cfg, stage_entry *e)
{
    if (watch_probe_spec(cfg, e->item.svc, &e->spec, &e->owned) != 0)
        snprintf(e->spec_error, sizeof e->spec_error, "probe %s: %s", e->item.svc->probe, err_msg());
    err_clear();
}

/* Fills p's stages from level[]: stage l holds the services of level l, file order. */
static int fill_stages(stage_plan *p, const size_t *level, const char *in)
{
    const config *cfg = p->cfg;
    for (size_t i = 0; i < cfg->nservices; i++)
        if (in[i] && level[i] > p->nstages)
            p->nstages = level[i];
    p->width = calloc(p->nstages, sizeof *p->width);
    p->at = calloc(p->nstages, sizeof *p->at);
    p->entries = calloc(p->nentries, sizeof *p->entries);
    if (!p->width || !p->at || !p->entries)
        return err_set(ERR_FATAL, "out of memory");
    size_t n = 0;
    for (size_t l = 0; l < p->nstages; l++) {
        p->at[l] = p->entries + n;
        for (size_t i = 0; i < cfg->nservices; i++) {
            if (!in[i] || level[i] - 1 != l)
                continue;
            stage_entry *e = &p->entries[n++];
            e->item.svc = &cfg->services[i];
            e->plan = p;
            e->stage = l;
            e->k = p->width[l]++;
            build_spec(cfg, e);
        }
    }
    return 0;
}

int stage_plan_new(const config *cfg, stage_dir dir, const char *name, stage_plan **out)
{
    *out = NULL;
    if (!cfg || !cfg->nservices)
        return err_set(ERR_CONFIG, "no [service \"NAME\"] sections in %s", cfg && cfg->file ? cfg->file
                                                                              : "the configuration (-c FILE)");
    if (name && !config_service_find(cfg, name)) {
        err_set(ERR_NOTFOUND, "no [service \"%s\"] in %s", name, cfg->file ? cfg->file : "the configuration");
        err_hint("the services are the [service \"NAME\"] sections; 'lifeline start --dry-run' lists them");
        return ERR_NOTFOUND;
    }
    stage_plan *p = calloc(1, sizeof *p);
    char *in = calloc(cfg->nservices, 1);
    size_t *level = calloc(cfg->nservices, sizeof *level);
    if (p)
        pthread_mutex_init(&p->report, NULL);
    int rc = p && in && level ? 0 : err_set(ERR_FATAL, "out of memory");
    if (!rc) {
        p->cfg = cfg;
        p->dir = dir;
        for (size_t i = 0; i < cfg->nservices; i++)
            if (!name)
                in[i] = 1;
        if (name)
            mark(cfg, dir, service_index(cfg, name), in);
        for (size_t i = 0; i < cfg->nservices; i++)
            if (in[i]) {
                level_of(cfg, dir, i, in, level);
                p->nentries++;
            }
        rc = fill_stages(p, level, in);
    }
    free(in);
    free(level);
    if (rc)
        stage_plan_free(&p);
    *out = p;
    return rc;
}

void stage_plan_free(stage_plan **pp)
{
    stage_plan *p = *pp;
    if (!p)
        return;
    for (size_t i = 0; p->entries && i < p->nentries; i++)
        if (p->entries[i].owned) {
            watch_spec_free(&p->entries[i].owned);
        }
    pthread_mutex_destroy(&p->report);
    free(p->entries);
    free(p->width);
    free(p->at);
    free(p);
    *pp = NULL;
}

/* ---- running one service -------------------------------------------------------- */

static int item_set(stage_entry *e, stage_action a, int64_t t0, const char *fmt, ...) PRINTF(4, 5);
static int item_set(stage_entry *e, stage_action a, int64_t t0, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->item.detail, sizeof e->item.detail, fmt, ap);
    va_end(ap);
    e->item.action = a;
    e->item.elapsed_ms = proc_now_ms() - t0;
    if (a == STAGE_FAILED)
        atomic_store(&e->plan->failed, 1);
    return a == STAGE_FAILED ? -1 : 0;
}

/* Waits until at, the deadline or a sibling's failure; 0 when at was reached. */
static int wait_until(const stage_entry *e, int64_t at, int64_t deadline)
{
    for (;;) {
        if (atomic_load(&e->plan->failed))
            return -1;
        int64_t now = proc_now_ms(), end = at < deadline ? at : deadline;
        if (now >= end)
            return now >= deadline ? -1 : 0;
        int64_t ms = end - now < STAGE_SLICE_MS ? end - now : STAGE_SLICE_MS;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Probes every interval until need results in a row are what want_up asks (a pass:
 * healthy or degraded, the service answers; or a failure), up to the deadline. strict:
 * give up at the first contrary result (the look before acting). 1 when reached;
 * the last result in *last (its detail empty when no probe ran). */
static int gate(stage_entry *e, int want_up, int need, int64_t deadline, int strict, probe_result *last)
{
    const config_service *s = e->item.svc;
    int run = 0;
    memset(last, 0, sizeof *last);
    for (int64_t next = proc_now_ms();; next += s->interval * 1000) {
        if (wait_until(e, next, deadline) != 0)
            return 0;
        probe_spec spec = e->spec;
        int64_t left = deadline - proc_now_ms();
        if (spec.timeout_ms > left) /* the last probe ends with the stage */
            spec.timeout_ms = left > 0 ? left : 1;
        if (probe_run(&spec, last) != 0) {
            snprintf(last->detail, sizeof last->detail, "%s", err_msg());
            err_clear();
            last->state = PROBE_FAILED;
        }
        int up = last->state != PROBE_FAILED;
        if (up == want_up && ++run >= need)
            return 1;
        if (up != want_up) {
            if (strict)
                return 0;
            run = 0;
        }
        if (proc_now_ms() > next + s->interval * 1000) /* a slow probe: the next one at once */
            next = proc_now_ms() - s->interval * 1000;
    }
}

/* Runs command with what is left of the stage's time; 0 when it exited 0, else -1
 * with the item failed ("start-command exit 1: <first line of its output>"). */
static int run_command(stage_entry *e, const char *what, const char *command, int64_t t0, int64_t deadline)
{
    char out[4096], env_name[96], why[128];
    snprintf(env_name, sizeof env_name, "LIFELINE_SERVICE=%s", e->item.svc->name);
    const char *env[] = {env_name, NULL};
    proc_result res;
    int64_t left = deadline - proc_now_ms();
    /* proc_run_leave: a start command leaves its service running (a `setsid -f` daemon
     * must not be killed with the group before it has left it) */
    if (proc_run_leave(command, left > 0 ? left : 1, env, NULL, out, sizeof out, &res) != 0) {
        item_set(e, STAGE_FAILED, t0, "%s: %s", what, err_msg());
        err_clear();
        return -1;
    }
    if (res.exited && res.status == 0)
        return 0;
    out[strcspn(out, "\r\n")] = '\0'; /* the first line says what went wrong, mostly */
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    proc_describe(&res, why, sizeof why);
    return item_set(e, STAGE_FAILED, t0, "%s %s%s%s", what, why, out[0] ? ": " : "", out);
}

static void start_one(stage_entry *e)
{
    const config_service *s = e->item.svc;
    int64_t t0 = proc_now_ms(), deadline = t0 + e->timeout_ms;
    char limit[32];
    stage_format_interval((e->timeout_ms + 999) / 1000, limit, sizeof limit);
    probe_result last;
    if (e->spec_error[0]) {
        item_set(e, STAGE_FAILED, t0, "%s", e->spec_error);
        return;
    }
    if (gate(e, 1, s->rise, deadline, 1, &last)) {
        item_set(e, STAGE_ALREADY_RUNNING, t0, "already running (%s)", last.detail);
        return;
    }
    if (atomic_load(&e->plan->failed)) {
        item_set(e, STAGE_CANCELLED, t0, "cancelled: another service of this stage failed");
        return;
    }
    if (e->hold_note[0]) {
        item_set(e, STAGE_FAILED, t0, "%s", e->hold_note);
        return;
    }
    if (!s->start_command) {
        item_set(e, STAGE_FAILED, t0, "not running (%s) and it has no start-command", last.detail);
        return;
    }
    if (run_command(e, "start-command", s->start_command, t0, deadline) != 0)
        return;
    if (gate(e, 1, s->rise, deadline, 0, &last))
        item_set(e, STAGE_STARTED, t0, "healthy after %.1fs", (double)(proc_now_ms() - t0) / 1000.0);
    else if (atomic_load(&e->plan->failed) && proc_now_ms() < deadline)
        item_set(e, STAGE_CANCELLED, t0, "cancelled: another service of this stage failed");
    else
        item_set(e, STAGE_FAILED, t0, "not healthy within %s: %s (last probe)", limit,
                 last.detail[0] ? last.detail : "no probe finished");
}

static void stop_one(stage_entry *e)
{
    const config_service *s = e->item.svc;
    int64_t t0 = proc_now_ms(), deadline = t0 + e->timeout_ms;
    char limit[32];
    stage_format_interval((e->timeout_ms + 999) / 1000, limit, sizeof limit);
    probe_result last;
    if (!s->stop_command) {
        item_set(e, STAGE_SKIPPED, t0, "no stop-command: left running");
        return;
    }
    if (e->spec_error[0]) {
        item_set(e, STAGE_FAILED, t0, "%s", e->spec_error);
        return;
    }
    /* a service whose probe already fails fall times is down: its command is not run */
    if (gate(e, 0, s->fall, deadline, 1, &last)) {
        item_set(e, STAGE_ALREADY_DOWN, t0, "already down (%s)", last.detail);
        return;
    }
    if (atomic_load(&e->plan->failed)) {
        item_set(e, STAGE_CANCELLED, t0, "cancelled: another service of this stage failed");
        return;
    }
    if (run_command(e, "stop-command", s->stop_command, t0, deadline) != 0)
        return;
    if (gate(e, 0, s->fall, deadline, 0, &last))
        item_set(e, STAGE_STOPPED, t0, "down after %.1fs", (double)(proc_now_ms() - t0) / 1000.0);
    else if (atomic_load(&e->plan->failed) && proc_now_ms() < deadline)
        item_set(e, STAGE_CANCELLED, t0, "cancelled: another service of this stage failed");
    else
        item_set(e, STAGE_FAILED, t0, "still up after %s: %s (last probe)", limit,
                 last.detail[0] ? last.detail : "no probe finished");
}

static void report(stage_plan *p, size_t stage, size_t k)
{
    if (!p->opts->progress)
        return;
    pthread_mutex_lock(&p->report);
    p->opts->progress(p->opts->ctx, p, stage, k);
    pthread_mutex_unlock(&p->report);
}

static void *service_thread(void *arg)
{
    stage_entry *e = arg;
    if (e->plan->dir == STAGE_START)
        start_one(e);
    else
        stop_one(e);
    report(e->plan, e->stage, e->k);
    return NULL;
}

/* Runs every service of stage at once and waits for all. A thread that cannot be
 * made runs its service here instead: slower, never skipped. */
static void run_stage(stage_plan *p, size_t stage)
{
    size_t n = p->width[stage];
    pthread_t *tids = calloc(n, sizeof *tids);
    char *made = calloc(n, 1);
    for (size_t k = 0; k < n; k++) {
        stage_entry *e = &p->at[stage][k];
        if (n > 1 && tids && made && pthread_create(&tids[k], NULL, service_thread, e) == 0)
            made[k] = 1;
        else
            service_thread(e);
    }
    for (size_t k = 0; k < n; k++)
        if (made && made[k])
            pthread_join(tids[k], NULL);
    free(tids);
    free(made);
}

/* ---- the run: stages in order, holds and events around them ------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The hold that applies to name: its own; for own_only 0, else one on everything ("*"). */
static const state_hold *hold_for(const state_hold *h, size_t n, const char *name, int own_only)
{
    const state_hold *all = NULL;
    for (size_t i = 0; i < n; i++) {
        if (h[i].released_ms) /* released, waiting for the agent to record it */
            continue;
        if (!strcmp(h[i].target, name))
            return &h[i];
        if (!strcmp(h[i].target, "*"))
            all = &h[i];
    }
    return own_only ? NULL : all;
}

/* Before a start stage: a service held by a person (pause) or by the agent
 * (escalation) keeps its hold, and its start-command is not run. Before a stop
 * stage: each service to be stopped gets a maintenance hold, unless it has one of
 * another kind already (one hold per target: a person's pause must not be replaced). */
static void holds_before(stage_plan *p, size_t l, const state_hold *h, size_t nh, const stage_opts *o)
{
    for (size_t k = 0; k < p->width[l]; k++) {
        stage_entry *e = &p->at[l][k];
        const char *name = e->item.svc->name;
        const state_hold *own = hold_for(h, nh, name, 1), *any = hold_for(h, nh, name, 0);
        if (p->dir == STAGE_START) {
            if (any && strcmp(any->kind, "maintenance"))
                snprintf(e->hold_note, sizeof e->hold_note,
                         "held by %s%s (%s, by %s): its start-command is not run; 'lifeline resume%s%s' ends the hold",
                         any->kind, strcmp(any->target, "*") ? "" : " of everything", any->reason, any->by,
                         strcmp(any->target, "*") ? " " : "", strcmp(any->target, "*") ? any->target : "");
            continue;
        }
        if (!o->st || !e->item.svc->stop_command)
            continue;
        if (own && strcmp(own->kind, "maintenance")) {
            LOG_VERBOSE("%s keeps its %s hold (%s)", name, own->kind, own->reason);
            continue;
        }
        if (state_hold_set(o->st, name, "maintenance", "stopped by lifeline stop", o->by ? o->by : "?", wall_ms())) {
            LOG_WARN("no maintenance hold on %s: %s (a running agent may start it again)", name, err_msg());
            err_clear();
        }
    }
}

/* After a stage: its outcomes as events; a start lifts the maintenance hold of each
 * service it got (or found) healthy. */
static void holds_after(stage_plan *p, size_t l, const state_hold *h, size_t nh, const stage_opts *o)
{
    if (!o->st)
        return;
    for (size_t k = 0; k < p->width[l]; k++) {
        stage_entry *e = &p->at[l][k];
        const char *name = e->item.svc->name;
        char msg[640];
        snprintf(msg, sizeof msg, "%s: %s", stage_action_name(e->item.action), e->item.detail);
        if (state_event_add(o->st, wall_ms(), p->dir == STAGE_START ? "start" : "stop", name, msg, 0, NULL)) {
            LOG_WARN("event of %s not recorded: %s", name, err_msg());
            err_clear();
        }
        const state_hold *own = hold_for(h, nh, name, 1);
        int up = e->item.action == STAGE_STARTED || e->item.action == STAGE_ALREADY_RUNNING;
        if (p->dir == STAGE_START && up && own && !strcmp(own->kind, "maintenance") &&
            state_hold_release(o->st, name, "lifeline start", wall_ms(), NULL)) {
            LOG_WARN("maintenance hold on %s not lifted: %s", name, err_msg());
            err_clear();
        }
    }
}

/* A named stop must not leave a dependent running under a stopped dependency. */
static int check_stop_commands(const stage_plan *p)
{
    for (size_t i = 0; i < p->nentries; i++)
        if (!p->entries[i].item.svc->stop_command) {
            err_set(ERR_CONFIG, "[service \"%s\"] has no stop-command: it cannot be stopped before what it depends on",
                    p->entries[i].item.svc->name);
            err_hint("add stop-command = ... to [service \"%s\"] in %s", p->entries[i].item.svc->name,
                     p->cfg->file ? p->cfg->file : "the configuration");
            return ERR_CONFIG;
        }
    return 0;
}

/* ERR_SERVICE naming the first failed service of stage l, and what was left alone. */
static int fail_message(const stage_plan *p, size_t l)
{
    const stage_item *first = NULL;
    size_t more = 0;
    for (size_t k = 0; k < p->width[l]; k++) {
        if (p->at[l][k].item.action != STAGE_FAILED)
            continue;
        if (first)
            more++;
        else
            first = &p->at[l][k].item;
    }
    err_set(ERR_SERVICE, "%s failed at stage %zu/%zu: %s: %s%s", p->dir == STAGE_START ? "start" : "stop", l + 1,
            p->nstages, first ? first->svc->name : "?", first ? first->detail : "?",
            more ? " (and other services of this stage: see above)" : "");
    char left[512] = "";
    size_t used = 0;
    for (size_t m = l + 1; m < p->nstages; m++)
        for (size_t k = 0; k < p->width[m] && used < sizeof left; k++)
            used += (size_t)snprintf(left + used, sizeof left - used, "%s%s", used ? ", " : "",
                                     p->at[m][k].item.svc->name);
    if (left[0])
        err_hint("not %s: %s", p->dir == STAGE_START ? "started" : "stopped", left);
    return ERR_SERVICE;
}

int stage_run(stage_plan *p, const stage_opts *o)
{
    p->opts = o;
    atomic_store(&p->failed, 0);
    if (p->dir == STAGE_STOP && o->named && check_stop_commands(p))
        return ERR_CONFIG;
    state_hold *holds = NULL;
    size_t nh = 0;
    if (o->st && state_hold_list(o->st, &holds, &nh)) {
        LOG_WARN("holds not read: %s (a held service may be started)", err_msg());
        err_clear();
    }
    size_t l = 0;
    for (; l < p->nstages; l++) {
        for (size_t k = 0; k < p->width[l]; k++) {
            stage_entry *e = &p->at[l][k];
            int64_t secs = p->dir == STAGE_START ? e->item.svc->start_timeout : e->item.svc->stop_timeout;
            e->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : secs * 1000;
        }
        holds_before(p, l, holds, nh, o);
        report(p, l, SIZE_MAX);
        run_stage(p, l);
        holds_after(p, l, holds, nh, o);
        if (atomic_load(&p->failed))
            break;
    }
    state_holds_free(&holds, nh);
    return l < p->nstages ? fail_message(p, l) : 0;
}
