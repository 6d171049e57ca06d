/* cli — what every command shares: global options, the configuration, opening and
 * unlocking the repository, reading secrets (never from argv), JSON output and the
 * audit record written when a command that changes or restores anything ends. */
#ifndef LL_CLI_H
#define LL_CLI_H

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>

#include "../core/err.h"
#include "../repo/repo.h"
#include "../config/config.h"

typedef struct cli {
    const char *repo_path, *config_path, *password_file, *key_file;
    int json;
    int lock_wait; /* seconds */
    int no_lock;   /* --no-lock: commands that only read take no lock */
    config *cfg;
    const char *command;
    int argc; /* the command's words, for the audit record */
    char **argv;
    repo *r;           /* set by cli_open_repo */
    int audit;         /* this command's outcome goes into the audit trail */
    int reader;        /* it only reads the repository (restore): see cli_audit_unmirrored */
    char **audit_ids;  /* ids touched */
    size_t naudit_ids;
} cli;

typedef struct cli_command {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *summary;
    const char *help; /* full --help text */
} cli_command;

/* getopt_long over the command's options plus the global ones (which may come after
 * the command too). Returns the option, -1 at the end, or -2 after printing --help
 * (the command returns 0); a bad option sets ERR_USAGE and returns '?'. */
int cli_getopt(cli *c, int argc, char **argv, const char *shorts, const struct option *longs, const cli_command *cmd);

/* Opens and unlocks the repository named by -r / LIFELINE_REPOSITORY / config. */
int cli_open_repo(cli *c, repo **out) WUR;
/* Opens the repository for a command that changes or restores (so it is audited),
 * takes a lock of the given kind, and loads the index when asked. A reader's lock
 * (restore) is skipped with --no-lock, and with a warning where the repository
 * cannot be written (read-only, full); *lk is NULL then. */
enum { CLI_LOCK_SHARED = 0, CLI_LOCK_EXCLUSIVE = 1, CLI_LOCK_READ = 2 };
struct repo_lock;
int cli_open_locked(cli *c, int mode, int load_index, repo **out, struct repo_lock **lk) WUR;
/* The lock of a command that only reads (see CLI_LOCK_READ). */
int cli_lock_reader(cli *c, repo *r, struct repo_lock **lk) WUR;
/* The repository path, or ERR_USAGE when none is given. */
int cli_repo_path(cli *c, const char **out) WUR;

/* The secret that opens the repository: key file (keyfile slot) or password. */
int cli_secret(cli *c, char **secret, size_t *len, keyslot_kind *kind) WUR;
/* A secret from a file (trailing newlines dropped); what names it in messages. */
int cli_read_secret_file(const char *path, const char *what, char **secret, size_t *len) WUR;
/* A new password: --new-password-file, LIFELINE_NEW_PASSWORD, or asked twice on a TTY. */
int cli_new_password(cli *c, const char *file, char **secret, size_t *len) WUR;
/* Reads a key file, creating it (32 random bytes, hex, mode 0600) when create and missing. */
int cli_key_file(const char *path, int create, char **secret, size_t *len) WUR;
void cli_secret_free(char **secret, size_t len);

void cli_audit_id(cli *c, const char *id);
/* When the repository cannot take a command's audit record (read-only medium, full
 * disk), the record is appended to "<local audit copy>.unmirrored" instead, saying
 * why; *path names that file. 0 when kept there; the caller decides what it means. */
struct audit_event;
int cli_audit_unmirrored(cli *c, const struct audit_event *e, const char *why, char *path, size_t cap) WUR;
/* Why the repository cannot be written at all ("read-only file system", "no space
 * left"), or NULL when it can. */
const char *cli_repo_unwritable(cli *c);
/* Prints a cJSON object to stdout and frees it. */
void cli_json_print(cJSON *o);
int cli_is_tty(void);

extern const cli_command cli_commands[];
const cli_command *cli_find(const char *name);

/* Shared by the backup of files and of sources: time, host, user, tags, class. */
struct snapshot;
struct snapshot_summary;
int cli_fill_snapshot(cli *c, const char *class_name, const char *host, char **tags, size_t ntags,
                      struct snapshot *s) WUR;
void cli_print_backup_summary(cli *c, const struct snapshot *s, const struct snapshot_summary *m);
/* {snapshot_id, partial, summary, meta} on stdout: what `backup --json` prints. */
void cli_print_snapshot_json(const struct snapshot *s);

/* Commands. */
int cmd_init(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_backup(cli *c, int argc, char **argv);
int cmd_snapshots(cli *c, int argc, char **argv);
int cmd_ls(cli *c, int argc, char **argv);
int cmd_diff(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_restore(cli *c, int argc, char **argv);
int cmd_check(cli *c, int argc, char **argv);
int cmd_forget(cli *c, int argc, char **argv);
int cmd_prune(cli *c, int argc, char **argv);
int cmd_hold(cli *c, int argc, char **argv);
int cmd_release(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_unlock(cli *c, int argc, char **argv);
int cmd_version(cli *c, int argc, char **argv);
int cmd_wal_push(cli *c, int argc, char **argv);
int cmd_wal_fetch(cli *c, int argc, char **argv);
int cmd_watch(cli *c, int argc, char **argv);  /* cmd_watch.c */
int cmd_status(cli *c, int argc, char **argv);
int cmd_pause(cli *c, int argc, char **argv);
int cmd_resume(cli *c, int argc, char **argv);
int cmd_switchover(cli *c, int argc, char **argv); /* cmd_ha.c */
int cmd_failover(cli *c, int argc, char **argv);
int cmd_probe(cli *c, int argc, char **argv);
int cmd_incidents(cli *c, int argc, char **argv); /* cmd_incidents.c */
int cmd_start(cli *c, int argc, char **argv); /* cmd_stage.c */
int cmd_stop(cli *c, int argc, char **argv);
int cmd_notify(cli *c, int argc, char **argv);     /* cmd_notify.c */
int cmd_proxy_config(cli *c, int argc, char **argv); /* cmd_proxy.c */
/* Sources: backup --source and restore --source, by the source's type. */
typedef struct source_args {
    const char *source, *class_name, *host;
    char **tags;
    size_t ntags;
    int logical, aof, no_progress;
} source_args;
/* The type of [source "NAME"]; ERR_CONFIG naming the file when there is none. */
int cli_source_type(cli *c, const char *name, const char **type) WUR;
/* --snapshot SPEC: that snapshot's place in list (SIZE_MAX when spec is NULL). */
int cli_snapshot_index(repo *r, const char *spec, struct snapshot *list, size_t n, size_t *at) WUR;
/* The newest snapshot of this kind ("redis", "pg_dump"...) of source, or the one spec
 * names; ERR_NOTFOUND saying which is missing. */
int cli_newest_of_source(repo *r, struct snapshot *list, size_t n, const char *kind, const char *source,
                         const char *spec, size_t *chosen) WUR;
int cmd_backup_pg(cli *c, const source_args *a);     /* cmd_pg.c */
int cmd_restore_pg(cli *c, int argc, char **argv);
int cmd_backup_redis(cli *c, const source_args *a);  /* cmd_redis.c */
int cmd_restore_redis(cli *c, int argc, char **argv);

#endif
