/* cmd_backup — `lifeline backup PATH...`: files and folders into a new snapshot;
 * `lifeline backup --source NAME` hands over to the source's own backup (cmd_pg.c). */
#define _GNU_SOURCE
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "../source/files.h"
#include "cli.h"

typedef struct backup_args {
    char **tags, **excludes, **paths, **given;
    size_t ntags, nexcludes, npaths, ngiven;
    const char *class_name, *host, *parent, *source;
    int force, no_progress, logical, aof, one_fs;
    pattern_list *exclude_set; /* the --exclude patterns, compiled */
} backup_args;

static int push(char ***l, size_t *n, const char *v)
{
    char **p = realloc(*l, (*n + 1) * sizeof *p);
    if (!p || !(p[*n] = strdup(v))) {
        if (p)
            *l = p;
        return err_set(ERR_FATAL, "out of memory");
    }
    *l = p;
    (*n)++;
    return 0;
}

static void args_free(backup_args *a)
{
    for (size_t i = 0; i < a->ntags; i++)
        free(a->tags[i]);
    for (size_t i = 0; i < a->nexcludes; i++)
        free(a->excludes[i]);
    for (size_t i = 0; i < a->npaths; i++)
        free(a->paths[i]);
    for (size_t i = 0; i < a->ngiven; i++)
        free(a->given[i]);
    free(a->given);
    free(a->tags);
    free(a->excludes);
    free(a->paths);
    pattern_list_free(&a->exclude_set);
}

static int parse(cli *c, int argc, char **argv, backup_args *a)
{
    static const struct option opts[] = {
        {"tag", required_argument, NULL, 't'},      {"class", required_argument, NULL, 'C'},
        {"exclude", required_argument, NULL, 'e'},  {"host", required_argument, NULL, 'H'},
        {"parent", required_argument, NULL, 'p'},   {"force", no_argument, NULL, 'f'},
        {"no-progress", no_argument, NULL, 'n'},    {"source", required_argument, NULL, 's'},
        {"logical", no_argument, NULL, 'l'},        {"aof", no_argument, NULL, 'a'},
        {"one-file-system", no_argument, NULL, 'x'}, {NULL, 0, NULL, 0}};
    int opt, rc = 0;
    while (!rc && (opt = cli_getopt(c, argc, argv, "e:x", opts, cli_find("backup"))) != -1) {
        switch (opt) {
        case -2: return -2;
        case 't': rc = push(&a->tags, &a->ntags, optarg); break;
        case 'e': rc = push(&a->excludes, &a->nexcludes, optarg); break;
        case 'C': a->class_name = optarg; break;
        case 'H': a->host = optarg; break;
        case 'p': a->parent = optarg; break;
        case 'f': a->force = 1; break;
        case 'n': a->no_progress = 1; break;
        case 's': a->source = optarg; break;
        case 'l': a->logical = 1; break;
        case 'a': a->aof = 1; break;
        case 'x': a->one_fs = 1; break;
        default: return ERR_USAGE;
        }
    }
    if (rc)
        return rc;
    if (a->source) {
        if (optind < argc)
            return err_set(ERR_USAGE,
                           "backup --source takes no PATH (the source's configuration says what to back up)");
        if (a->excludes || a->parent || a->force || a->one_fs)
            return err_set(ERR_USAGE,
                           "--exclude, --parent, --force and --one-file-system are for file backups, not --source");
        return 0;
    }
    if (a->logical || a->aof)
        return err_set(ERR_USAGE, "--logical and --aof need --source NAME");
    if (optind >= argc)
        return err_set(ERR_USAGE, "backup needs at least one PATH");
    if ((rc = pattern_list_new(a->excludes, a->nexcludes, "--exclude", &a->exclude_set)))
        return rc; /* a bad pattern is refused before anything is read or written */
    for (int i = optind; i < argc; i++) {
        char abs[PATH_MAX];
        if ((rc = files_abs_path(argv[i], abs, sizeof abs)) || (rc = push(&a->paths, &a->npaths, abs)) ||
            (rc = push(&a->given, &a->ngiven, abs)))
            return rc;
    }
    files_normalize_paths(a->paths, &a->npaths);
    return 0;
}

/* The newest snapshot of the same host and paths: its trees tell which files changed. */
static int find_parent(repo *r, const backup_args *a, const snapshot *want, snapshot *out, int *found)
{
    *found = 0;
    if (a->force)
        return 0;
    if (a->parent) {
        *found = 1;
        return snapshot_resolve(r, a->parent, out);
    }
    snapshot *list;
    size_t n;
    int rc = snapshot_load_all(r, &list, &n, 1);
    if (rc)
        return rc;
    size_t i = n;
    while (i-- > 0 && !snapshot_same_group(&list[i], want))
        ;
    /* A newer snapshot that cannot be read must not go unnoticed; the backup itself
     * goes on (an older parent only means more files are read, never wrong content). */
    if (snapshot_newest_guard(r, list, n, i < n ? &list[i] : NULL) != 0) {
        LOG_WARN("%s; the parent is an older snapshot", err_msg());
        err_clear();
    }
    if (i < n) {
        *out = list[i];
        snapshot_init(&list[i]);
        *found = 1;
    }
    snapshots_free(&list, n);
    return 0;
}

void cli_print_snapshot_json(const snapshot *s)
{
    char hex[65];
    text_hex(s->id, 32, hex);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "snapshot_id", hex);
    cJSON_AddBoolToObject(o, "partial", s->partial);
    cJSON_AddItemToObject(o, "summary", snapshot_summary_json(&s->summary));
    cJSON *meta = s->meta_json ? cJSON_Parse(s->meta_json) : NULL;
    if (meta)
        cJSON_AddItemToObject(o, "meta", meta);
    cli_json_print(o);
}

void cli_print_backup_summary(cli *c, const snapshot *s, const snapshot_summary *m)
{
    char sid[9], rd_[32], add[32], tot[32];
    snapshot_short_id(s->id, sid);
    if (c->json) {
        cli_print_snapshot_json(s);
        return;
    }
    text_bytes(m->bytes_read, rd_, sizeof rd_);
    text_bytes(m->bytes_added, add, sizeof add);
    text_bytes(m->total_bytes, tot, sizeof tot);
    LOG_INFO("files:     %llu new, %llu changed, %llu unchanged%s", (unsigned long long)m->files_new,
             (unsigned long long)m->files_changed, (unsigned long long)m->files_unchanged,
             m->files_failed ? " (some unreadable or changed while read: see warnings)" : "");
    LOG_INFO("folders:   %llu", (unsigned long long)m->dirs);
    LOG_INFO("read:      %s", rd_);
    LOG_INFO("added:     %s (stored, after deduplication and compression)", add);
    LOG_INFO("processed: %llu files, %s in %.1f s", (unsigned long long)m->total_files, tot, m->duration);
    LOG_INFO("snapshot %s saved%s", sid, s->partial ? " (partial: some files could not be read or changed while read)" : "");
}

int cli_fill_snapshot(cli *c, const char *class_name, const char *host, char **tags, size_t ntags, snapshot *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->time = ts.tv_sec;
    s->time_ns = ts.tv_nsec;
    if (host)
        snprintf(s->hostname, sizeof s->hostname, "%s", host);
    else
        gethostname(s->hostname, sizeof s->hostname - 1);
    struct passwd *pw = getpwuid(geteuid());
    snprintf(s->username, sizeof s->username, "%s", pw ? pw->pw_name : "");
    snprintf(s->source, sizeof s->source, "files");
    int rc = 0;
    for (size_t i = 0; !rc && i < ntags; i++)
        rc = snapshot_add_tag(s, tags[i]);
    if (!rc && class_name) {
        const config_class *cl = config_class_find(c->cfg, class_name);
        if (!cl) {
            rc = err_set(ERR_CONFIG, "retention class '%s' is not defined%s%s", class_name,
                         c->cfg ? " in " : " (no configuration file)", c->cfg ? c->cfg->file : "");
            err_hint("define it as [retention \"%s\"] in the configuration file", class_name);
            return rc;
        }
        snprintf(s->class_name, sizeof s->class_name, "%s", cl->name);
        if (cl->lock)
            s->lock_until = s->time + cl->lock;
    }
    return rc;
}

int cmd_backup(cli *c, int argc, char **argv)
{
    backup_args a = {0};
    snapshot s, parent;
    snapshot_init(&s);
    snapshot_init(&parent);
    repo_lock *lk = NULL;
    repo *r;
    int rc = parse(c, argc, argv, &a), have_parent = 0;
    if (rc == -2) {
        args_free(&a);
        return 0;
    }
    if (!rc && a.source) {
        source_args sa = {.source = a.source, .class_name = a.class_name, .host = a.host, .tags = a.tags,
                          .ntags = a.ntags, .logical = a.logical, .aof = a.aof, .no_progress = a.no_progress};
        const char *type;
        if (!(rc = cli_source_type(c, a.source, &type))) {
            if (!strcmp(type, "redis"))
                rc = a.logical ? err_set(ERR_USAGE, "--logical is for PostgreSQL sources") : cmd_backup_redis(c, &sa);
            else
                rc = a.aof ? err_set(ERR_USAGE, "--aof is for Redis sources") : cmd_backup_pg(c, &sa);
        }
        args_free(&a);
        return rc;
    }
    double t0 = progress_now();
    if (!rc)
        rc = cli_fill_snapshot(c, a.class_name, a.host, a.tags, a.ntags, &s);
    for (size_t i = 0; !rc && i < a.npaths; i++)
        rc = snapshot_add_path(&s, a.paths[i]);
    if (!rc)
        rc = cli_open_locked(c, 0, 1, &r, &lk);
    if (!rc)
        rc = find_parent(r, &a, &s, &parent, &have_parent);
    if (!rc && have_parent) {
        s.has_parent = 1;
        memcpy(s.parent, parent.id, 32);
        char pid[9];
        snapshot_short_id(parent.id, pid);
        LOG_VERBOSE("using parent snapshot %s", pid);
    }
    files_backup_opts fo = {.paths = a.paths, .npaths = a.npaths, .excludes = a.exclude_set,
                            .parent = have_parent ? &parent : NULL,
                            .one_file_system = a.one_fs, .given = a.given, .ngiven = a.ngiven,
                            .progress = !a.no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty()};
    if (!rc)
        rc = files_backup(r, &fo, s.tree, &s.summary);
    if (!rc)
        rc = repo_flush(r); /* packs, then index: all durable before the snapshot names them */
    if (!rc) {
        repo_write_stats ws;
        repo_write_stats_get(r, &ws);
        s.summary.bytes_added = ws.bytes_added_stored;
        s.summary.duration = progress_now() - t0;
        s.partial = s.summary.files_failed > 0;
        rc = snapshot_save(r, &s);
    }
    if (!rc) {
        char hex[65];
        text_hex(s.id, 32, hex);
        cli_audit_id(c, hex);
        cli_print_backup_summary(c, &s, &s.summary);
        if (s.partial)
            rc = err_set(ERR_PARTIAL, "snapshot saved, but %llu item(s) could not be read or changed as they were read",
                         (unsigned long long)s.summary.files_failed);
    }
    lock_release(&lk);
    snapshot_free(&s);
    snapshot_free(&parent);
    args_free(&a);
    return rc;
}
