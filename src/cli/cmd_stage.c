/* cmd_stage — `lifeline start [NAME]` and `lifeline stop [NAME]`: the stack brought up
 * or down in depends-on order (src/watch/stage.h does the work), with progress on
 * stderr, a plan for --dry-run and a report for --json. */
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/text.h"
#include "../probe/probe.h"
#include "../state/state.h"
#include "../watch/paths.h"
#include "../watch/stage.h"
#include "cli.h"

/* How long a state write waits for the agent's lock on the same database. */
#define STAGE_STATE_BUSY_MS 5000

static const char *verb(const stage_plan *p) { return stage_plan_dir(p) == STAGE_START ? "start" : "stop"; }

/* One line per stage as it begins, one per service as it ends (stderr; -q hides them). */
static void progress(void *ctx, const stage_plan *p, size_t stage, size_t k)
{
    (void)ctx;
    size_t n = stage_plan_stages(p);
    if (k != SIZE_MAX) {
        const stage_item *it = stage_plan_item(p, stage, k);
        LOG_INFO("stage %zu/%zu: %s ... %s%s", stage + 1, n, it->svc->name,
                 it->action == STAGE_FAILED ? "FAILED: " : "", it->detail);
        return;
    }
    char names[1024];
    size_t used = 0;
    names[0] = '\0';
    for (size_t i = 0; i < stage_plan_width(p, stage) && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 stage_plan_item(p, stage, i)->svc->name);
    LOG_INFO("stage %zu/%zu: %s %s", stage + 1, n, stage_plan_dir(p) == STAGE_START ? "starting" : "stopping", names);
}

/* --dry-run: the stages in order with each service's command and gate. */
static void print_plan(const stage_plan *p, int64_t timeout_ms)
{
    int up = stage_plan_dir(p) == STAGE_START;
    size_t n = stage_plan_stages(p);
    printf("%s plan: %zu stage%s\n", verb(p), n, n == 1 ? "" : "s");
    for (size_t l = 0; l < n; l++) {
        printf("stage %zu/%zu:\n", l + 1, n);
        for (size_t k = 0; k < stage_plan_width(p, l); k++) {
            const config_service *s = stage_plan_item(p, l, k)->svc;
            const char *cmd = up ? s->start_command : s->stop_command;
            int64_t secs = timeout_ms > 0 ? (timeout_ms + 999) / 1000 : up ? s->start_timeout : s->stop_timeout;
            char limit[32];
            stage_format_interval(secs, limit, sizeof limit);
            printf("  %s\n    %s-command: %s\n    gate: %s %s %d time%s in a row within %s\n", s->name, verb(p),
                   cmd ? cmd : "(none)", s->probe, up ? "passes" : "fails", up ? s->rise : s->fall,
                   (up ? s->rise : s->fall) == 1 ? "" : "s", limit);
        }
    }
}

/* {ok, command, dry_run, stages:[{stage, services:[{name, action, seconds, detail}]}]} */
static void print_json(const stage_plan *p, int ok, int dry_run)
{
    cJSON *o = cJSON_CreateObject(), *stages = cJSON_CreateArray();
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON_AddStringToObject(o, "command", verb(p));
    cJSON_AddBoolToObject(o, "dry_run", dry_run);
    for (size_t l = 0; l < stage_plan_stages(p); l++) {
        cJSON *st = cJSON_CreateObject(), *svcs = cJSON_CreateArray();
        cJSON_AddNumberToObject(st, "stage", (double)(l + 1));
        for (size_t k = 0; k < stage_plan_width(p, l); k++) {
            const stage_item *it = stage_plan_item(p, l, k);
            cJSON *s = cJSON_CreateObject(), *deps = cJSON_CreateArray();
            cJSON_AddStringToObject(s, "name", it->svc->name);
            cJSON_AddStringToObject(s, "action", stage_action_name(it->action));
            cJSON_AddNumberToObject(s, "seconds", (double)it->elapsed_ms / 1000.0);
            cJSON_AddStringToObject(s, "detail", it->detail);
            for (size_t d = 0; d < it->svc->ndeps; d++)
                cJSON_AddItemToArray(deps, cJSON_CreateString(it->svc->depends_on[d]));
            cJSON_AddItemToObject(s, "depends_on", deps);
            cJSON_AddItemToArray(svcs, s);
        }
        cJSON_AddItemToObject(st, "services", svcs);
        cJSON_AddItemToArray(stages, st);
    }
    cJSON_AddItemToObject(o, "stages", stages);
    cli_json_print(o);
}

/* The state database, for holds; NULL (with a warning) when it cannot be opened: the
 * start or stop goes on, only a running agent is not told. */
static state *open_state(cli *c)
{
    char path[4096];
    state *st = NULL;
    if (watch_state_db_path(c->cfg, path, sizeof path) == 0 && state_open(path, STAGE_STATE_BUSY_MS, &st) == 0)
        return st;
    LOG_WARN("state database not opened: %s; no maintenance holds are recorded (a running agent may restart "
             "what this stops); hint: [watch] state-dir names its folder",
             err_msg());
    err_clear();
    return NULL;
}

static const char *who(void)
{
    const char *sudo = getenv("SUDO_USER");
    const struct passwd *pw = getpwuid(geteuid());
    return sudo && *sudo ? sudo : pw ? pw->pw_name : "?";
}

static int stage_command(cli *c, int argc, char **argv, stage_dir dir)
{
    static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    int64_t timeout_s = 0;
    int dry_run = 0, opt;
    while ((opt = cli_getopt(c, argc, argv, "n", opts, cli_find(dir == STAGE_START ? "start" : "stop"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt == 'n')
            dry_run = 1;
        else if (opt == 't') {
            if (text_parse_interval(optarg, &timeout_s) != 0 || timeout_s <= 0)
                return err_set(ERR_USAGE, "--timeout: '%s' is not a duration of at least 1s (e.g. 90s, 5m)", optarg);
        } else
            return ERR_USAGE;
    }
    if (argc - optind > 1)
        return err_set(ERR_USAGE, "%s takes at most one NAME (a [service \"NAME\"])", dir == STAGE_START ? "start" : "stop");
    const char *name = optind < argc ? argv[optind] : NULL;
    stage_plan *p = NULL;
    int rc = stage_plan_new(c->cfg, dir, name, &p);
    if (rc)
        return rc;
    if (dry_run) {
        if (c->json)
            print_json(p, 1, 1);
        else
            print_plan(p, timeout_s * 1000);
        stage_plan_free(&p);
        return 0;
    }
    rc = probe_global_init();
    state *st = rc ? NULL : open_state(c);
    stage_opts o = {.timeout_ms = timeout_s * 1000, .named = name != NULL, .st = st, .by = who(),
                    .progress = progress};
    if (!rc)
        rc = stage_run(p, &o);
    if (c->json && (rc == 0 || rc == ERR_SERVICE))
        print_json(p, rc == 0, 0);
    else if (!rc)
        LOG_INFO("%s done: %zu stage%s", verb(p), stage_plan_stages(p), stage_plan_stages(p) == 1 ? "" : "s");
    state_close(&st);
    probe_global_cleanup();
    stage_plan_free(&p);
    return rc;
}

int cmd_start(cli *c, int argc, char **argv) { return stage_command(c, argc, argv, STAGE_START); }
int cmd_stop(cli *c, int argc, char **argv) { return stage_command(c, argc, argv, STAGE_STOP); }
