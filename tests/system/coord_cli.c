/* coord_cli — test-only: drives the coord API (src/coord/coord.h) for
 * tests/system/test_coord.sh, one JSON line per call on stdout.
 * Usage: coord_cli CONFIG [--state DB] [--node NODE] [--deadline MS] COMMAND ARGS...
 *   acquire GROUP MEMBER TTL_MS      renew GROUP          release GROUP
 *   seize GROUP MEMBER TTL_MS        leader GROUP         last GROUP
 *   status-put GROUP MEMBER TTL_MS JSON                   status-list GROUP
 *   hold GROUP MEMBER TTL_MS SECONDS   contend, then renew every ttl/3 (contend again
 *                                      when the key is lost); release at the end
 *   run                                commands from stdin, one per line ("sleep MS" too)
 * Each line: {"op","rc","code","error","ms" (the call's time),"budget_ms",...}. The
 * exit code is the last call's. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "coord/coord.h"
#include "core/proc.h"
#include "state/state.h"

static int64_t budget = 2000;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1)
        ;
}

static void add_leader(cJSON *o, const char *k, const coord_leader *l)
{
    if (!l->exists) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    cJSON *x = cJSON_AddObjectToObject(o, k);
    cJSON_AddStringToObject(x, "holder", l->holder);
    cJSON_AddStringToObject(x, "node", l->node);
    cJSON_AddNumberToObject(x, "epoch", (double)l->epoch);
}

static void emit(cJSON *o, const char *op, int rc, int64_t t0)
{
    cJSON_AddStringToObject(o, "op", op);
    cJSON_AddNumberToObject(o, "rc", rc);
    cJSON_AddStringToObject(o, "code", rc ? err_code_name(rc) : "ok");
    cJSON_AddStringToObject(o, "error", rc ? err_msg() : "");
    cJSON_AddNumberToObject(o, "ms", (double)(proc_now_ms() - t0));
    cJSON_AddNumberToObject(o, "budget_ms", (double)budget);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s ? s : "{}");
    fflush(stdout);
    free(s);
    cJSON_Delete(o);
    err_clear();
}

static int usage(void)
{
    fputs("usage: coord_cli CONFIG [--state DB] [--node NODE] [--deadline MS] COMMAND ARGS...\n", stderr);
    return 2;
}

static int cmd_acquire(coord *c, const char *g, const char *m, int64_t ttl)
{
    int64_t t0 = proc_now_ms(), epoch;
    int won;
    coord_leader now;
    int rc = coord_acquire(c, g, m, ttl, t0 + budget, &won, &epoch, &now);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "won", !rc && won);
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    add_leader(o, "leader", &now);
    emit(o, "acquire", rc, t0);
    return rc;
}

static int simple(coord *c, const char *op, const char *g)
{
    int64_t t0 = proc_now_ms();
    int rc = !strcmp(op, "renew") ? coord_renew(c, g, t0 + budget) : coord_release(c, g, t0 + budget);
    emit(cJSON_CreateObject(), op, rc, t0);
    return rc;
}

static int cmd_leader(coord *c, const char *op, const char *g)
{
    int64_t t0 = proc_now_ms();
    coord_leader l;
    int rc = !strcmp(op, "leader") ? coord_leader_get(c, g, t0 + budget, &l) : coord_leader_last(c, g, t0 + budget, &l);
    cJSON *o = cJSON_CreateObject();
    add_leader(o, "leader", &l);
    emit(o, op, rc, t0);
    return rc;
}

static int cmd_seize(coord *c, const char *g, const char *m, int64_t ttl)
{
    int64_t t0 = proc_now_ms(), epoch;
    int rc = coord_seize(c, g, m, ttl, t0 + budget, &epoch);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    emit(o, "seize", rc, t0);
    return rc;
}

static int cmd_status_list(coord *c, const char *g)
{
    int64_t t0 = proc_now_ms();
    coord_status *list;
    size_t n;
    int rc = coord_status_list(c, g, t0 + budget, &list, &n);
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "members");
    for (size_t i = 0; !rc && i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "member", list[i].member);
        cJSON_AddStringToObject(x, "json", list[i].json);
        cJSON_AddItemToArray(a, x);
    }
    if (!rc)
        coord_status_free(&list, n);
    emit(o, "status-list", rc, t0);
    return rc;
}

/* Contends for g, renewing every ttl/3 while it holds it, for secs seconds. */
static int cmd_hold(coord *c, const char *g, const char *m, int64_t ttl, int64_t secs)
{
    int64_t end = proc_now_ms() + secs * 1000, next = proc_now_ms();
    int held = 0, rc = 0;
    while (proc_now_ms() < end) {
        int64_t wait = next - proc_now_ms();
        if (wait > 0)
            sleep_ms(wait);
        next = proc_now_ms() + ttl / 3;
        if (held) {
            rc = simple(c, "renew", g);
            held = rc == 0 || rc == ERR_SOURCE; /* unknown: try again; the caller would fence at ttl */
        } else {
            rc = cmd_acquire(c, g, m, ttl);
            held = coord_holds(c, g, NULL);
        }
    }
    return held ? simple(c, "release", g) : rc;
}

static int dispatch(coord *c, int argc, char **argv)
{
    const char *op = argv[0];
    if (!strcmp(op, "acquire") && argc == 4)
        return cmd_acquire(c, argv[1], argv[2], atoll(argv[3]));
    if ((!strcmp(op, "renew") || !strcmp(op, "release")) && argc == 2)
        return simple(c, op, argv[1]);
    if ((!strcmp(op, "leader") || !strcmp(op, "last")) && argc == 2)
        return cmd_leader(c, op, argv[1]);
    if (!strcmp(op, "seize") && argc == 4)
        return cmd_seize(c, argv[1], argv[2], atoll(argv[3]));
    if (!strcmp(op, "status-put") && argc == 5) {
        int64_t t0 = proc_now_ms();
        int rc = coord_status_put(c, argv[1], argv[2], argv[4], atoll(argv[3]), t0 + budget);
        emit(cJSON_CreateObject(), op, rc, t0);
        return rc;
    }
    if (!strcmp(op, "status-list") && argc == 2)
        return cmd_status_list(c, argv[1]);
    if (!strcmp(op, "hold") && argc == 5)
        return cmd_hold(c, argv[1], argv[2], atoll(argv[3]), atoll(argv[4]));
    if (!strcmp(op, "sleep") && argc == 2) {
        sleep_ms(atoll(argv[1]));
        return 0;
    }
    if (!strcmp(op, "deadline") && argc == 2) {
        budget = atoll(argv[1]);
        return 0;
    }
    fprintf(stderr, "coord_cli: bad command '%s' with %d arguments\n", op, argc - 1);
    return 2;
}

/* Commands from stdin, one per line, in this one process (leases held across lines). */
static int run_stdin(coord *c)
{
    char line[4096];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *args[8], *save = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " \t\n", &save); t && n < 8; t = strtok_r(NULL, " \t\n", &save))
            args[n++] = t;
        if (n)
            rc = dispatch(c, n, args);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *dbpath = NULL, *node = "test-node";
    int i = 2;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (!strcmp(argv[i], "--state"))
            dbpath = argv[i + 1];
        else if (!strcmp(argv[i], "--node"))
            node = argv[i + 1];
        else if (!strcmp(argv[i], "--deadline"))
            budget = atoll(argv[i + 1]);
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    config *cfg = NULL;
    state *st = NULL;
    coord *c = NULL;
    int rc = config_load(argv[1], &cfg);
    rc = rc ? rc : dbpath ? state_open(dbpath, 2000, &st) : 0;
    rc = rc ? rc : coord_open(cfg, st, node, &c);
    if (rc) {
        fprintf(stderr, "coord_cli: %s\n", err_msg());
    } else {
        rc = !strcmp(argv[i], "run") ? run_stdin(c) : dispatch(c, argc - i, argv + i);
    }
    coord_close(&c);
    state_close(&st);
    config_free(&cfg);
    return rc;
}
