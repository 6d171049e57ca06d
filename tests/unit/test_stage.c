/* Unit tests: staged start/stop (src/watch/stage.c): the plan's stages for chains,
 * diamonds, subsets and independent services; the start-timeout / stop-timeout keys;
 * and runs over exec: probes (real commands, no servers): already running, a failing
 * start-command that ends the run, a sibling cancelled at once, holds. */
#include "testutil.h"

#include "config/config.h"
#include "core/err.h"
#include "core/proc.h"
#include "probe/probe.h"
#include "state/state.h"
#include "watch/paths.h"
#include "watch/stage.h"

static config *parse(const char *text)
{
    config *c = NULL;
    int rc = config_parse_string(text, "t.conf", &c);
    if (rc)
        fprintf(stderr, "%s\n", err_msg());
    assert_int_equal(rc, 0);
    return c;
}

/* The plan as text: stages separated by '|', services by ',' ("db|cache|backend"). */
static void plan_is(const config *c, stage_dir dir, const char *name, const char *want)
{
    stage_plan *p = NULL;
    assert_int_equal(stage_plan_new(c, dir, name, &p), 0);
    char got[512] = "";
    size_t used = 0;
    for (size_t l = 0; l < stage_plan_stages(p); l++)
        for (size_t k = 0; k < stage_plan_width(p, l); k++)
            used += (size_t)snprintf(got + used, sizeof got - used, "%s%s", k ? "," : l ? "|" : "",
                                     stage_plan_item(p, l, k)->svc->name);
    assert_null(stage_plan_item(p, stage_plan_stages(p), 0));
    assert_string_equal(got, want);
    stage_plan_free(&p);
    assert_null(p);
}

#define SVC(name, deps) "[service \"" name "\"]\nprobe = exec:true\n" deps

static const char chain[] = SVC("backend", "depends-on = cache\n") SVC("db", "") SVC("cache", "depends-on = db\n");

static void chain_of_three_levels(void **ts)
{
    (void)ts;
    config *c = parse(chain);
    plan_is(c, STAGE_START, NULL, "db|cache|backend");
    plan_is(c, STAGE_STOP, NULL, "backend|cache|db");
    config_free(&c);
}

/* a <- b, a <- c, {b, c} <- d: b and c need nothing of each other: one stage. */
static const char diamond[] = SVC("d", "depends-on = b c\n") SVC("c", "depends-on = a\n") SVC("b", "depends-on = a\n")
    SVC("a", "");

static void diamond_groups_the_middle(void **ts)
{
    (void)ts;
    config *c = parse(diamond);
    plan_is(c, STAGE_START, NULL, "a|c,b|d");
    plan_is(c, STAGE_STOP, NULL, "d|c,b|a");
    config_free(&c);
}

static void name_takes_a_subset(void **ts)
{
    (void)ts;
    config *c = parse(chain);
    plan_is(c, STAGE_START, "cache", "db|cache");
    plan_is(c, STAGE_START, "db", "db");
    plan_is(c, STAGE_STOP, "cache", "backend|cache");
    plan_is(c, STAGE_STOP, "backend", "backend");
    plan_is(c, STAGE_STOP, "db", "backend|cache|db");
    config_free(&c);
    c = parse(diamond);
    plan_is(c, STAGE_START, "b", "a|b");
    plan_is(c, STAGE_START, "d", "a|c,b|d");
    plan_is(c, STAGE_STOP, "b", "d|b");
    plan_is(c, STAGE_STOP, "a", "d|c,b|a");
    config_free(&c);
}

/* A stage is a level: e waits for the longest chain before it (a -> b -> d), not for
 * its shortest; unrelated services start together in the first stage. */
static void levels_and_independent_services(void **ts)
{
    (void)ts;
    config *c = parse(SVC("x", "") SVC("y", "") SVC("z", ""));
    plan_is(c, STAGE_START, NULL, "x,y,z");
    plan_is(c, STAGE_STOP, NULL, "x,y,z");
    config_free(&c);
    c = parse(SVC("e", "depends-on = a d\n") SVC("d", "depends-on = b\n") SVC("b", "depends-on = a\n") SVC("a", "")
                  SVC("lone", ""));
    plan_is(c, STAGE_START, NULL, "a,lone|b|d|e");
    plan_is(c, STAGE_STOP, NULL, "e,lone|d|b|a");
    plan_is(c, STAGE_STOP, "b", "e|d|b");
    config_free(&c);
}

static void bad_names_and_empty_configs(void **ts)
{
    (void)ts;
    config *c = parse(chain);
    stage_plan *p = (stage_plan *)1;
    assert_int_equal(stage_plan_new(c, STAGE_START, "nope", &p), ERR_NOTFOUND);
    assert_null(p);
    assert_non_null(strstr(err_msg(), "no [service \"nope\"] in t.conf"));
    config_free(&c);
    c = parse("[watch]\nloop = 1s\n");
    assert_int_equal(stage_plan_new(c, STAGE_STOP, NULL, &p), ERR_CONFIG);
    assert_int_equal(stage_plan_new(NULL, STAGE_STOP, NULL, &p), ERR_CONFIG);
    config_free(&c);
}

static void timeout_keys(void **ts)
{
    (void)ts;
    config *c = parse(SVC("a", "") SVC("b", "start-timeout = 5m\nstop-timeout = 90s\n"));
    assert_int_equal(config_service_find(c, "a")->start_timeout, 120);
    assert_int_equal(config_service_find(c, "a")->stop_timeout, 60);
    assert_int_equal(config_service_find(c, "b")->start_timeout, 300);
    assert_int_equal(config_service_find(c, "b")->stop_timeout, 90);
    config_free(&c);
    static const char *const bad[] = {SVC("a", "start-timeout = 0s\n"), SVC("a", "stop-timeout = soon\n"),
                                      SVC("a", "start-timeout =\n"), "[watch]\nstart-timeout = 1m\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_parse_string(bad[i], "t.conf", &c), ERR_CONFIG);
        assert_non_null(strstr(err_msg(), "t.conf:"));
    }
    char out[32];
    stage_format_interval(120, out, sizeof out);
    assert_string_equal(out, "2m");
    stage_format_interval(5400, out, sizeof out);
    assert_string_equal(out, "1h30m");
    stage_format_interval(61, out, sizeof out);
    assert_string_equal(out, "1m1s");
    stage_format_interval(0, out, sizeof out);
    assert_string_equal(out, "0s");
}

static int run(config *c, stage_dir dir, const char *name, state *st, stage_plan **p)
{
    assert_int_equal(stage_plan_new(c, dir, name, p), 0);
    stage_opts o = {.named = name != NULL, .st = st, .by = "tester"};
    return stage_run(*p, &o);
}

/* A file that exists once its service is "up": exec probes on it stand for a server
 * (ls exits 2 for a missing file: failed; exit 1 would be degraded, a pass). */
#define FLAGSVC(name, deps, extra)                                                                              \
    "[service \"" name "\"]\nprobe = exec:ls " name ".up\ninterval = 1s\nrise = 1\nfall = 1\n"            \
    "start-command = touch " name ".up\nstop-command = rm -f " name ".up\n" deps extra

static void run_starts_in_order_and_stops_again(void **ts)
{
    (void)ts;
    char *dir = tu_tempdir(), old[4096];
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    config *c = parse(FLAGSVC("db", "", "") FLAGSVC("app", "depends-on = db\n", ""));
    stage_plan *p;
    assert_int_equal(run(c, STAGE_START, NULL, NULL, &p), 0);
    assert_int_equal(stage_plan_item(p, 0, 0)->action, STAGE_STARTED);
    assert_int_equal(stage_plan_item(p, 1, 0)->action, STAGE_STARTED);
    assert_non_null(strstr(stage_plan_item(p, 1, 0)->detail, "healthy after"));
    stage_plan_free(&p);
    assert_int_equal(run(c, STAGE_START, "app", NULL, &p), 0);
    assert_int_equal(stage_plan_item(p, 0, 0)->action, STAGE_ALREADY_RUNNING);
    assert_string_equal(stage_action_name(stage_plan_item(p, 1, 0)->action), "already-running");
    stage_plan_free(&p);
    assert_int_equal(run(c, STAGE_STOP, "db", NULL, &p), 0);
    assert_string_equal(stage_plan_item(p, 0, 0)->svc->name, "app");
    assert_int_equal(stage_plan_item(p, 0, 0)->action, STAGE_STOPPED);
    assert_int_equal(stage_plan_item(p, 1, 0)->action, STAGE_STOPPED);
    assert_int_equal(access("db.up", F_OK), -1);
    stage_plan_free(&p);
    assert_int_equal(run(c, STAGE_STOP, NULL, NULL, &p), 0);
    assert_int_equal(stage_plan_item(p, 0, 0)->action, STAGE_ALREADY_DOWN);
    stage_plan_free(&p);
    config_free(&c);
    assert_int_equal(chdir(old), 0);
    tu_rmrf(dir);
}

/* db's start-command fails: the run ends with ERR_SERVICE naming it and its output;
 * fast fails at once, so its sibling slow (whose gate would wait 30 s) is cancelled
 * at once; app, in the next stage, is never touched. */
static void failing_stage_ends_the_run(void **ts)
{
    (void)ts;
    char *dir = tu_tempdir(), old[4096];
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    config *c = parse(FLAGSVC("slow", "", "start-command = true\nstart-timeout = 30s\n")
                          FLAGSVC("fast", "", "start-command = echo cannot bind && echo more && exit 3\n")
                              FLAGSVC("app", "depends-on = slow fast\n", ""));
    stage_plan *p;
    int64_t t0 = proc_now_ms();
    assert_int_equal(run(c, STAGE_START, NULL, NULL, &p), ERR_SERVICE);
    assert_true(proc_now_ms() - t0 < 10000);
    assert_non_null(strstr(err_msg(), "start failed at stage 1/2: fast: start-command exit 3: cannot bind"));
    assert_null(strstr(err_msg(), "more"));
    assert_non_null(strstr(err_hint_msg(), "not started: app"));
    assert_int_equal(stage_plan_item(p, 0, 0)->action, STAGE_CANCELLED);
    assert_int_equal(stage_plan_item(p, 0, 1)->action, STAGE_FAILED);
    assert_int_equal(stage_plan_item(p, 1, 0)->action, STAGE_PENDING);
    assert_int_equal(access("app.up", F_OK), -1);
    stage_plan_free(&p);
    config_free(&c);
    /* never healthy: the timeout and the last probe's answer are named */
    c = parse(FLAGSVC("never", "", "start-command = true\nstart-timeout = 2s\n"));
    assert_int_equal(run(c, STAGE_START, NULL, NULL, &p), ERR_SERVICE);
    assert_non_null(strstr(err_msg(), "never: not healthy within 2s: exit 2"));
    assert_non_null(strstr(err_msg(), "(last probe)"));
    stage_plan_free(&p);
    config_free(&c);
    assert_int_equal(chdir(old), 0);
    tu_rmrf(dir);
}

static void stop_without_command(void **ts)
{
    (void)ts;
    char *dir = tu_tempdir(), old[4096];
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    config *c = parse(FLAGSVC("db", "", "") "[service \"app\"]\nprobe = exec:true\ndepends-on = db\n");
    stage_plan *p;
    /* named: refused before anything is done (db would go down under app) */
    assert_int_equal(system("touch db.up"), 0);
    assert_int_equal(run(c, STAGE_STOP, "db", NULL, &p), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "[service \"app\"] has no stop-command"));
    assert_int_equal(access("db.up", F_OK), 0);
    stage_plan_free(&p);
    /* everything: skipped, the rest goes on */
    assert_int_equal(run(c, STAGE_STOP, NULL, NULL, &p), 0);
    assert_int_equal(stage_plan_item(p, 0, 0)->action, STAGE_SKIPPED);
    assert_int_equal(stage_plan_item(p, 1, 0)->action, STAGE_STOPPED);
    stage_plan_free(&p);
    config_free(&c);
    assert_int_equal(chdir(old), 0);
    tu_rmrf(dir);
}

static const char *hold_kind(state *st, const char *target)
{
    static char kind[32];
    state_hold *h;
    size_t n;
    kind[0] = '\0';
    assert_int_equal(state_hold_list(st, &h, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i].target, target) && !h[i].released_ms)
            snprintf(kind, sizeof kind, "%s", h[i].kind);
    state_holds_free(&h, n);
    return kind;
}

/* stop places maintenance holds (keeping a person's pause), start lifts them, and a
 * pause keeps start from running the start-command. */
static void holds_around_start_and_stop(void **ts)
{
    (void)ts;
    char *dir = tu_tempdir(), old[4096], db[4200];
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    snprintf(db, sizeof db, "%s/state.db", dir);
    state *st;
    assert_int_equal(state_open(db, 2000, &st), 0);
    config *c = parse(FLAGSVC("db", "", "") FLAGSVC("app", "depends-on = db\n", ""));
    stage_plan *p;
    assert_int_equal(run(c, STAGE_START, NULL, st, &p), 0);
    stage_plan_free(&p);
    assert_int_equal(state_hold_set(st, "app", "pause", "looking into it", "alice", 1), 0);
    assert_int_equal(run(c, STAGE_STOP, NULL, st, &p), 0);
    stage_plan_free(&p);
    assert_string_equal(hold_kind(st, "db"), "maintenance");
    assert_string_equal(hold_kind(st, "app"), "pause");
    assert_int_equal(run(c, STAGE_START, NULL, st, &p), ERR_SERVICE);
    assert_non_null(strstr(err_msg(), "app: held by pause (looking into it, by alice)"));
    assert_non_null(strstr(err_msg(), "'lifeline resume app'"));
    assert_int_equal(access("app.up", F_OK), -1);
    assert_string_equal(hold_kind(st, "db"), ""); /* db started: its maintenance hold lifted */
    stage_plan_free(&p);
    int cleared;
    assert_int_equal(state_hold_release(st, "app", "alice", 3, &cleared), 0);
    assert_int_equal(cleared, 1);
    assert_int_equal(state_hold_set(st, "*", "escalation", "3 services failing", "agent", 2), 0);
    assert_int_equal(run(c, STAGE_START, "app", st, &p), ERR_SERVICE);
    assert_non_null(strstr(err_msg(), "held by escalation of everything"));
    assert_non_null(strstr(err_msg(), "'lifeline resume'"));
    stage_plan_free(&p);
    state_close(&st);
    config_free(&c);
    assert_int_equal(chdir(old), 0);
    tu_rmrf(dir);
}

static void state_folder(void **ts)
{
    (void)ts;
    char out[4096];
    config *c = parse("[watch]\nstate-dir = /srv/ll\n");
    assert_int_equal(watch_state_path(c, out, sizeof out), 0);
    assert_string_equal(out, "/srv/ll");
    config_free(&c);
    setenv("LIFELINE_STATE_DIR", "/tmp/ll-env", 1);
    assert_int_equal(watch_state_path(NULL, out, sizeof out), 0);
    assert_string_equal(out, "/tmp/ll-env");
    unsetenv("LIFELINE_STATE_DIR");
    setenv("XDG_STATE_HOME", "/tmp/xdg", 1);
    assert_int_equal(watch_state_path(NULL, out, sizeof out), 0);
    assert_string_equal(out, geteuid() == 0 ? "/var/lib/lifeline" : "/tmp/xdg/lifeline");
    assert_int_equal(watch_state_path(NULL, out, 4), ERR_CONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chain_of_three_levels),
        cmocka_unit_test(diamond_groups_the_middle),
        cmocka_unit_test(name_takes_a_subset),
        cmocka_unit_test(levels_and_independent_services),
        cmocka_unit_test(bad_names_and_empty_configs),
        cmocka_unit_test(timeout_keys),
        cmocka_unit_test(run_starts_in_order_and_stops_again),
        cmocka_unit_test(failing_stage_ends_the_run),
        cmocka_unit_test(stop_without_command),
        cmocka_unit_test(holds_around_start_and_stop),
        cmocka_unit_test(state_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
