/* cmd_watch — `lifeline watch` (the agent, src/watch/agent.h), `status` (asks it over
 * the control socket), `pause` and `resume` (holds in the state database: the shared
 * truth; the agent is nudged to read them at once and records them). */
#define _GNU_SOURCE
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/text.h"
#include "../state/state.h"
#include "../watch/agent.h"
#include "../watch/control.h"
#include "../watch/paths.h"
#include "cli.h"
#include "help.h"

static const char *config_path(cli *c)
{
    const char *p = c->config_path ? c->config_path : getenv("LIFELINE_CONFIG");
    return p && *p ? p : "/etc/lifeline/lifeline.conf";
}

int cmd_watch(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"once", no_argument, NULL, 'o'}, {"timestamps", no_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    int opt, once = 0;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("watch"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt == 'o')
            once = 1;
        else if (opt == 't')
            log_stamp = 1; /* a log kept in a file: journald and terminals have their own times */
        else
            return ERR_USAGE;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "watch takes no arguments");
    if (!c->cfg)
        return err_set(ERR_CONFIG, "no configuration: give one with -c FILE (or LIFELINE_CONFIG, or "
                                   "/etc/lifeline/lifeline.conf)");
    if (!c->cfg->nservices && !c->cfg->npg_groups)
        LOG_WARN("%s has no [service] section: the agent has nothing to watch", c->cfg->file);
    repo *r = NULL;
    /* the audit trail needs the repository's key; a daemon never asks for a password */
    const char *kf = c->key_file ? c->key_file : getenv("LIFELINE_KEY_FILE");
    if ((kf && *kf) || c->cfg->key_file) {
        if (cli_open_repo(c, &r) != 0)
            return err_wrap("audit trail");
    } else {
        LOG_WARN("no key file in the configuration: the agent's actions go to its state and syslog, not to the "
                 "repository's audit trail");
    }
    agent_opts o = {.config_path = config_path(c), .cfg = c->cfg, .audit_repo = r, .once = once};
    int rc = agent_run(&o);
    c->cfg = o.cfg;
    return rc;
}

/* "12s", "3m 4s", "2h 5m", "3d 4h" */
static void ago(int64_t ms, char *out, size_t cap)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, cap, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, cap, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, cap, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, cap, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_status(const cJSON *st)
{
    int64_t now = (int64_t)num_of(st, "now_ms");
    char since[32];
    ago(now - (int64_t)num_of(st, "started_ms"), since, sizeof since);
    printf("agent %s (lifeline %s), up %s\n", str_of(st, "node"), str_of(st, "version"), since);
    const cJSON *all = cJSON_GetObjectItem(st, "hold_all");
    if (cJSON_IsObject(all))
        printf("automation held for every service (%s by %s): %s\n", str_of(all, "kind"), str_of(all, "by"),
               str_of(all, "reason"));
    printf("\n%-20s %-12s %-10s %-9s %s\n", "SERVICE", "STATE", "SINCE", "INCIDENT", "DETAIL");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(st, "services"))
    {
        char inc[24] = "-";
        const cJSON *i = cJSON_GetObjectItem(s, "incident");
        if (cJSON_IsNumber(i))
            snprintf(inc, sizeof inc, "#%.0f", i->valuedouble);
        ago(now - (int64_t)num_of(s, "since_ms"), since, sizeof since);
        printf("%-20s %-12s %-10s %-9s %s\n", str_of(s, "name"), str_of(s, "state"), since, inc, str_of(s, "detail"));
        const cJSON *h = cJSON_GetObjectItem(s, "held");
        if (cJSON_IsObject(h))
            printf("%-20s   held (%s by %s): %s\n", "", str_of(h, "kind"), str_of(h, "by"), str_of(h, "reason"));
    }
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(st, "groups"))
    {
        const cJSON *leader = cJSON_GetObjectItem(g, "leader"), *held = cJSON_GetObjectItem(g, "held");
        printf("\npostgres %s (%s, synchronous %s): leader %s, epoch %.0f%s%s\n", str_of(g, "name"),
               str_of(g, "backend"), str_of(g, "synchronous"), cJSON_IsString(leader) ? leader->valuestring : "none",
               num_of(g, "epoch"), cJSON_IsObject(held) ? ", HELD: " : "",
               cJSON_IsObject(held) ? str_of(held, "reason") : "");
        printf("  %-16s %-12s %-8s %-6s %-12s %-10s %s\n", "MEMBER", "NODE", "ROLE", "LEASE", "LSN", "LAG", "DETAIL");
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(g, "members"))
        {
            char lag[24] = "-";
            const cJSON *l = cJSON_GetObjectItem(m, "lag_bytes");
            if (cJSON_IsNumber(l))
                snprintf(lag, sizeof lag, "%.0f", l->valuedouble);
            printf("  %-16s %-12s %-8s %-6s %-12s %-10s %s\n", str_of(m, "name"), str_of(m, "node"), str_of(m, "role"),
                   cJSON_IsTrue(cJSON_GetObjectItem(m, "lease")) ? "yes" : "-", str_of(m, "lsn"), lag,
                   str_of(m, "detail"));
        }
    }
    const cJSON *incs = cJSON_GetObjectItem(st, "incidents");
    printf("\n%d open incident(s)\n", cJSON_GetArraySize(incs));
    cJSON_ArrayForEach(s, incs)
    {
        ago(now - (int64_t)num_of(s, "opened_ms"), since, sizeof since);
        printf("  #%.0f %s, open %s: %s\n", num_of(s, "id"), str_of(s, "status"), since, str_of(s, "title"));
    }
}

int cmd_status(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, cli_find("status"))) != -1) {
        if (opt == -2)
            return 0;
        return ERR_USAGE;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "status takes no arguments");
    char sock[4200];
    cJSON *st;
    int rc = watch_state_file(c->cfg, "control.sock", sock, sizeof sock);
    if (!rc)
        rc = control_request(sock, "status", 5000, &st);
    if (rc == ERR_NOAGENT)
        err_hint("start it with `lifeline -c CONFIG watch` (or `systemctl start lifeline-watch`)");
    if (rc)
        return rc;
    if (c->json) {
        cli_json_print(st);
        return 0;
    }
    print_status(st);
    cJSON_Delete(st);
    return 0;
}

static void user_name(char *out, size_t cap)
{
    struct passwd *pw = getpwuid(getuid());
    snprintf(out, cap, "%s", pw ? pw->pw_name : "unknown");
}

/* Opens the state database for a command that changes holds (creating the folder). */
static int open_state(cli *c, state **st, char *sock, size_t cap)
{
    char dir[4000], db[4100];
    int rc = watch_state_dir(c->cfg, dir, sizeof dir);
    if (!rc)
        rc = fs_mkdirs(dir, 0700);
    if (!rc && (snprintf(db, sizeof db, "%s/state.db", dir) >= (int)sizeof db ||
                snprintf(sock, cap, "%s/control.sock", dir) >= (int)cap))
        rc = err_set(ERR_CONFIG, "state folder path too long: %s", dir);
    return rc ? rc : state_open(db, 5000, st);
}

/* The agent reads holds at once when nudged; when none runs it reads them at start. */
static void nudge(cli *c, const char *sock)
{
    cJSON *reply = NULL;
    if (control_request(sock, "poke", 2000, &reply) == 0) {
        cJSON_Delete(reply);
        return;
    }
    if (!c->json)
        fprintf(stderr, "lifeline: note: no agent runs now; it takes this into account when it starts\n");
}

/* A service, an HA group, or GROUP/MEMBER (the agent holds a member it could not
 * rejoin by itself). */
static int check_name(cli *c, const char *name)
{
    if (!name || !strcmp(name, "*") || !c->cfg || config_service_find(c->cfg, name) ||
        config_pg_group_find(c->cfg, name))
        return 0;
    const char *slash = strchr(name, '/');
    const config_member *m = slash ? config_member_find(c->cfg, slash + 1) : NULL;
    if (m && m->group && strlen(m->group) == (size_t)(slash - name) && !strncmp(m->group, name, (size_t)(slash - name)))
        return 0;
    return err_set(ERR_NOTFOUND, "no [service \"%s\"], [postgres \"%s\"] or GROUP/MEMBER in %s", name, name,
                   c->cfg->file);
}

int cmd_pause(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};
    int opt;
    const char *reason = NULL;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("pause"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt != 'R')
            return ERR_USAGE;
        reason = optarg;
    }
    if (argc - optind > 1)
        return err_set(ERR_USAGE, "pause takes at most one service name");
    if (!reason || !*reason)
        return err_set(ERR_USAGE, "pause needs --reason TEXT: the person who resumes should know why");
    const char *name = optind < argc ? argv[optind] : "*";
    char sock[4200], who[128];
    state *st;
    int rc = check_name(c, name);
    if (!rc)
        rc = open_state(c, &st, sock, sizeof sock);
    if (rc)
        return rc;
    user_name(who, sizeof who);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = state_hold_set(st, name, "pause", reason, who, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    state_close(&st);
    if (rc)
        return rc;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "held", name);
        cJSON_AddStringToObject(o, "reason", reason);
        cJSON_AddStringToObject(o, "by", who);
        cli_json_print(o);
    } else {
        LOG_INFO("automation held for %s: %s", strcmp(name, "*") ? name : "every service", reason);
    }
    nudge(c, sock);
    return 0;
}

int cmd_resume(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, cli_find("resume"))) != -1) {
        if (opt == -2)
            return 0;
        return ERR_USAGE;
    }
    if (argc - optind > 1)
        return err_set(ERR_USAGE, "resume takes at most one service name");
    const char *name = optind < argc ? argv[optind] : "*";
    char sock[4200], who[128];
    state *st;
    int released = 0, rc = check_name(c, name);
    if (!rc)
        rc = open_state(c, &st, sock, sizeof sock);
    if (rc)
        return rc;
    user_name(who, sizeof who);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rc = state_hold_release(st, name, who, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &released);
    state_close(&st);
    if (rc)
        return rc;
    const char *what = strcmp(name, "*") ? name : "every service";
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "target", name);
        cJSON_AddBoolToObject(o, "released", released);
        cli_json_print(o);
    } else if (released) {
        LOG_INFO("automation resumed for %s", what);
    } else {
        LOG_INFO("%s was not held: nothing to resume%s", what,
                 strcmp(name, "*") ? " (a hold of every service is resumed with `lifeline resume` alone)" : "");
    }
    if (released)
        nudge(c, sock);
    return 0;
}
