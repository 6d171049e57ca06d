/* main — lifeline's entry point: global options, configuration, the command table,
 * and the one place where an error record becomes a message and an exit code. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../repo/snapshot.h"
#include "../core/log.h"
#include "../core/text.h"
#include "cli.h"
#include "help.h"

#ifndef LIFELINE_VERSION
#define LIFELINE_VERSION "0.1.0"
#endif

const cli_command cli_commands[] = {
    {"init", cmd_init, "create a new repository", HELP_INIT},
    {"key", cmd_key, "list, add, remove or change key slots", HELP_KEY},
    {"backup", cmd_backup, "back up files and folders", HELP_BACKUP},
    {"snapshots", cmd_snapshots, "list snapshots", HELP_SNAPSHOTS},
    {"ls", cmd_ls, "list the files in a snapshot", HELP_LS},
    {"diff", cmd_diff, "show what changed between two snapshots", HELP_DIFF},
    {"stats", cmd_stats, "show repository and snapshot sizes", HELP_STATS},
    {"restore", cmd_restore, "restore a snapshot", HELP_RESTORE},
    {"check", cmd_check, "verify the repository", HELP_CHECK},
    {"forget", cmd_forget, "remove snapshots by retention policy", HELP_FORGET},
    {"prune", cmd_prune, "remove data no snapshot references", HELP_PRUNE},
    {"hold", cmd_hold, "put a legal hold on a snapshot", HELP_HOLD},
    {"release", cmd_release, "release a legal hold", HELP_RELEASE},
    {"audit", cmd_audit, "show or verify the audit trail", HELP_AUDIT},
    {"unlock", cmd_unlock, "remove stale repository locks", HELP_UNLOCK},
    {"wal-push", cmd_wal_push, "archive a PostgreSQL WAL file (archive_command)", HELP_WAL_PUSH},
    {"wal-fetch", cmd_wal_fetch, "fetch an archived WAL file (restore_command)", HELP_WAL_FETCH},
    {"watch", cmd_watch, "run the watch agent: probe, recover, escalate, notify", HELP_WATCH},
    {"status", cmd_status, "show the services as the running agent sees them", HELP_STATUS},
    {"pause", cmd_pause, "hold the agent's automation (for one service or all)", HELP_PAUSE},
    {"resume", cmd_resume, "resume held automation", HELP_RESUME},
    {"switchover", cmd_switchover, "planned change of a PostgreSQL group's primary, zero loss", HELP_SWITCHOVER},
    {"failover", cmd_failover, "forced promotion of a member (possible loss)", HELP_FAILOVER},
    {"probe", cmd_probe, "run one service's probe once (as the agent would)", HELP_PROBE},
    {"incidents", cmd_incidents, "list, show, update and mark the watch agent's incidents", HELP_INCIDENTS},
    {"start", cmd_start, "start services in dependency order, gated on health", HELP_START},
    {"stop", cmd_stop, "stop services in reverse dependency order", HELP_STOP},
    {"notify", cmd_notify, "send a test through the notification channels", HELP_NOTIFY},
    {"proxy-config", cmd_proxy_config, "print an HAProxy configuration for the PostgreSQL groups", HELP_PROXY_CONFIG},
    {"version", cmd_version, "print the version", HELP_VERSION},
    {NULL, NULL, NULL, NULL},
};

const cli_command *cli_find(const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

int cmd_version(cli *c, int argc, char **argv)
{
    static const cli_command self = {"version", NULL, NULL, HELP_VERSION};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, &self)) != -1)
        return opt == -2 ? 0 : ERR_USAGE;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", LIFELINE_VERSION);
        cli_json_print(o);
    } else {
        printf("lifeline %s\n", LIFELINE_VERSION);
    }
    return 0;
}

static void usage(FILE *f)
{
    fputs(HELP_MAIN_HEAD, f);
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-11s %s\n", c->name, c->summary);
    fputs(HELP_MAIN_TAIL, f);
}

static int load_config(cli *c)
{
    const char *path = c->config_path ? c->config_path : getenv("LIFELINE_CONFIG");
    struct stat st;
    if (!path || !*path) {
        path = "/etc/lifeline/lifeline.conf";
        if (stat(path, &st) != 0)
            return 0; /* no configuration is fine: everything has a default or a flag */
    }
    return config_load(path, &c->cfg);
}

/* Returns the command's exit code: ERR_AUDIT when it succeeded but the record failed. */
static int finish_audit(cli *c, int rc, int argc, char **argv)
{
    if (!c->audit || !c->r)
        return rc;
    char msg[1100];
    if (rc && rc != ERR_PARTIAL)
        snprintf(msg, sizeof msg, "error: %s", err_msg());
    else
        snprintf(msg, sizeof msg, "%s", rc == ERR_PARTIAL ? "partial" : "ok");
    audit_event e = {.command = c->command, .args = argv + 1, .nargs = argc - 1, .exit_code = rc,
                     .message = msg, .ids = c->audit_ids, .nids = c->naudit_ids};
    err_saved saved;
    err_save(&saved);
    if (audit_append(c->r, &e) != 0) {
        /* what the command did stands (a snapshot saved stays saved): say so, and
         * make the missing record visible to scripts with its own exit code */
        char why[600], path[4096];
        snprintf(why, sizeof why, "%s", err_msg());
        fprintf(stderr, "lifeline: warning: %s %s, but its audit record could not be written: %s\n", c->command,
                rc ? "ended as reported" : "succeeded", why);
        const char *ro = cli_repo_unwritable(c);
        int kept = ro && cli_audit_unmirrored(c, &e, ro, path, sizeof path) == 0;
        if (kept)
            fprintf(stderr, "lifeline: warning: %s: the record is kept in %s, not mirrored to the repository\n", ro,
                    path);
        /* a reader of a write-protected repository has its record where it can be */
        if ((!rc || rc == ERR_PARTIAL) && !(kept && c->reader)) {
            err_restore(&saved);
            return ERR_AUDIT;
        }
    }
    err_restore(&saved);
    return rc;
}

int main(int argc, char **argv)
{
    cli c = {.lock_wait = 0};
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    static const struct option top[] = {
        {"repo", required_argument, NULL, 'r'}, {"config", required_argument, NULL, 'c'},
        {"password-file", required_argument, NULL, 'P'}, {"key-file", required_argument, NULL, 'K'},
        {"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {"lock-wait", required_argument, NULL, 'W'},
        {"no-lock", no_argument, NULL, 'N'}, {NULL, 0, NULL, 0}};
    int opt;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "+r:c:qvh", top, NULL)) != -1) {
        switch (opt) {
        case 'r': c.repo_path = optarg; break;
        case 'c': c.config_path = optarg; break;
        case 'P': c.password_file = optarg; break;
        case 'K': c.key_file = optarg; break;
        case 'j': c.json = 1; break;
        case 'N': c.no_lock = 1; break;
        case 'q': log_level = LOG_QUIET; break;
        case 'v': log_level = log_level < LOG_VERBOSE ? LOG_VERBOSE : LOG_DEBUG; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("lifeline %s\n", LIFELINE_VERSION); return 0;
        case 'W': {
            uint64_t n;
            if (text_parse_u64(optarg, 86400 * 7, &n) != 0) {
                log_error_record();
                return ERR_USAGE;
            }
            c.lock_wait = (int)n;
            break;
        }
        default: usage(stderr); return ERR_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return ERR_USAGE;
    }
    const cli_command *cmd = cli_find(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "lifeline: error: unknown command '%s'\nhint: 'lifeline --help' lists the commands\n",
                argv[optind]);
        return ERR_USAGE;
    }
    /* `latest` and every newest-snapshot choice consult the trail for deleted snapshots */
    snapshot_set_known_source(audit_known_snapshots);
    int rc = load_config(&c);
    int cargc = argc - optind;
    char **cargv = argv + optind;
    c.command = cmd->name;
    c.argc = cargc;
    c.argv = cargv;
    /* the audit record keeps the words as typed: copy before getopt permutes them */
    char **words = calloc((size_t)cargc + 1, sizeof *words);
    for (int i = 0; words && i < cargc; i++)
        words[i] = cargv[i];
    if (!rc) {
        optind = 0; /* re-initialise getopt for the command's own parse */
        rc = cmd->run(&c, cargc, cargv);
    }
    int audited = finish_audit(&c, rc, cargc, words ? words : cargv);
    if (audited == ERR_AUDIT && rc != ERR_AUDIT) {
        if (rc == ERR_PARTIAL)
            fprintf(stderr, "lifeline: warning: %s\n", err_msg());
        rc = ERR_AUDIT; /* the warning is printed; nothing else failed */
    } else if (log_level < 0) /* the command asked for silence (wal-fetch of a missing file) */
        ;
    else if (rc == ERR_PARTIAL) /* the backup is saved: a warning, with exit code 3 */
        log_line("lifeline: warning: ", err_msg());
    else if (rc)
        log_error_record();
    free(words);
    repo_close(&c.r);
    config_free(&c.cfg);
    for (size_t i = 0; i < c.naudit_ids; i++)
        free(c.audit_ids[i]);
    free(c.audit_ids);
    return rc;
}
