/* stage — bringing the configured services up or down in depends-on order: the plan
 * (which services, in which stages: a stage is one level of the dependency graph and
 * its services run at once) and the run (each service's command, then a gate on its
 * probe: healthy `rise` times in a row to start, failing `fall` times in a row to
 * stop, within the stage's timeout). The first stage that fails ends the run; later
 * stages are not touched. Used by `lifeline start` / `stop` and by the agent. */
#ifndef LL_WATCH_STAGE_H
#define LL_WATCH_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

typedef struct config config;
typedef struct config_service config_service;
typedef struct state state;
typedef struct stage_plan stage_plan;

typedef enum { STAGE_START = 0, STAGE_STOP = 1 } stage_dir;

typedef enum {
    STAGE_PENDING = 0,     /* not run: a dry run, or an earlier stage failed */
    STAGE_STARTED,         /* its start-command ran and the probe passed */
    STAGE_ALREADY_RUNNING, /* its probe passed before anything was done */
    STAGE_STOPPED,         /* its stop-command ran and the probe failed */
    STAGE_ALREADY_DOWN,    /* its probe failed before anything was done */
    STAGE_SKIPPED,         /* stop of everything: it has no stop-command (left running) */
    STAGE_CANCELLED,       /* another service of its stage failed first */
    STAGE_FAILED,
} stage_action;

/* One service of a plan, as the run left it. */
typedef struct stage_item {
    const config_service *svc;
    stage_action action;
    int64_t elapsed_ms;
    char detail[512]; /* one line: "healthy after 3.2s", "not healthy within 2m: HTTP 503 (last probe)" */
} stage_item;

/* The plan to start (dir STAGE_START) name and everything it depends on, or to stop
 * (STAGE_STOP) name and everything that depends on it, dependents first; every
 * service when name is NULL. ERR_NOTFOUND for a name that is no [service], ERR_CONFIG
 * when there are none. cfg must outlive the plan. */
int stage_plan_new(const config *cfg, stage_dir dir, const char *name, stage_plan **out) WUR;
void stage_plan_free(stage_plan **p);
stage_dir stage_plan_dir(const stage_plan *p);
size_t stage_plan_stages(const stage_plan *p);
/* The number of services of stage (0-based), and the k-th of them (file order). */
size_t stage_plan_width(const stage_plan *p, size_t stage);
const stage_item *stage_plan_item(const stage_plan *p, size_t stage, size_t k);
/* "started", "already-running", ..., the words of `--json`. */
const char *stage_action_name(stage_action a);

/* Called as the run goes (k == SIZE_MAX: stage begins; else service k ended), one
 * call at a time, from any thread. */
typedef void (*stage_progress_fn)(void *ctx, const stage_plan *p, size_t stage, size_t k);

typedef struct stage_opts {
    int64_t timeout_ms; /* > 0: the timeout of every stage (else start-timeout / stop-timeout) */
    int named;          /* a NAME was given: a service to stop without a stop-command is an
                         * error before anything runs (stopping everything: a warning) */
    state *st;          /* NULL: holds are neither checked, placed nor cleared */
    const char *by;     /* who asked, for holds and events */
    stage_progress_fn progress;
    void *ctx;
} stage_opts;

/* Runs the plan. 0 when every service ended started / already running (stopped /
 * already down); ERR_SERVICE naming the stage, the service and what failed when one
 * did; ERR_CONFIG for a named stop of a service without a stop-command.
 * With st: a stop places a "maintenance" hold on each service before its
 * stop-command (so a running agent does not bring it back; a person's pause or an
 * escalation hold is kept as it is); a start refuses to run the start-command of a
 * service held by pause or escalation (it names `lifeline resume`), and clears the
 * maintenance hold of each service it got healthy. Each outcome is a state event. */
int stage_run(stage_plan *p, const stage_opts *o) WUR;

/* "2m", "1h30m", "45s": a timeout as a person writes it. */
void stage_format_interval(int64_t seconds, char *out, size_t cap);

#endif
