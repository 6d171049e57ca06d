/* cmd_redis — the command-line side of Redis sources: `backup --source NAME`
 * (an RDB over the replication protocol, or --aof: the AOF folder as files) and
 * `restore --source NAME` (--target DIR, or --replace: stop, swap, start, verify,
 * roll back on mismatch, each step in the audit trail). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../audit/audit.h"
#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../crypto/crypto.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "../source/files.h"
#include "../source/redis.h"
#include "cli.h"

static const char *const redis_keys[] = {"type", "address", "user", "password-file", "data-dir", "stop-command",
                                         "start-command", "class", "timeout", NULL};

typedef struct redis_source {
    const config_source *cs;
    redis_opts o;
    char *password;
    size_t password_len;
    const char *data_dir, *stop_cmd, *start_cmd;
} redis_source;

static void source_free(redis_source *s)
{
    if (s->password)
        cli_secret_free(&s->password, s->password_len);
}

static int source_load(cli *c, const char *name, redis_source *s)
{
    memset(s, 0, sizeof *s);
    const config_source *cs = config_source_find(c->cfg, name);
    const char *file = c->cfg ? c->cfg->file : "(no configuration file)";
    if (!cs)
        return err_set(ERR_CONFIG, "no source '%s' in %s", name, file);
    int rc = cli_source_keys_check(c, cs, "redis", redis_keys);
    if (rc)
        return rc;
    s->cs = cs;
    s->o.source = name;
    s->o.address = config_source_get(cs, "address");
    s->o.user = config_source_get(cs, "user");
    s->o.timeout = 60;
    s->data_dir = config_source_get(cs, "data-dir");
    s->stop_cmd = config_source_get(cs, "stop-command");
    s->start_cmd = config_source_get(cs, "start-command");
    if (!s->o.address)
        return err_set(ERR_CONFIG, "source '%s' in %s: address is missing (host:port or unix:/path)", name, file);
    const char *t = config_source_get(cs, "timeout");
    int64_t secs;
    if (t && (text_parse_duration(t, &secs) || secs < 1 || secs > 86400)) {
        err_clear();
        return err_set(ERR_CONFIG, "source '%s' in %s: timeout '%s' is not a duration between 1s and 24h", name, file,
                       t);
    }
    if (t)
        s->o.timeout = (int)secs;
    const char *pf = config_source_get(cs, "password-file");
    if (s->o.user && !pf)
        return err_set(ERR_CONFIG, "source '%s' in %s: user %s needs a password-file", name, file, s->o.user);
    if (pf) {
        if ((rc = cli_read_secret_file(pf, "Redis password file", &s->password, &s->password_len)))
            return rc;
        s->o.password = s->password;
    }
    return 0;
}

static void print_backup(cli *c, const snapshot *s, const rdb_info *info, const redis_sync *sync)
{
    char sid[9], b[32], add[32];
    snapshot_short_id(s->id, sid);
    if (c->json) {
        cli_print_snapshot_json(s);
        return;
    }
    text_bytes(s->summary.total_bytes, b, sizeof b);
    text_bytes(s->summary.bytes_added, add, sizeof add);
    if (info) {
        uint64_t keys = 0, dbs = 0;
        for (uint32_t d = 0; d < info->ndbs; d++) {
            keys += info->dbs[d].keys;
            dbs += info->dbs[d].keys > 0;
        }
        LOG_INFO("Redis %s, RDB version %d, replication offset %lld (%s transfer)", sync->version, info->version,
                 (long long)sync->offset, sync->diskless ? "diskless" : "disk");
        LOG_INFO("RDB:       %s, %llu keys in %llu database(s), checksum %s", b, (unsigned long long)keys,
                 (unsigned long long)dbs,
                 info->checksum_verified ? "verified" : "not written by the server (rdbchecksum no)");
    } else {
        LOG_INFO("AOF:       %s in %llu files", b, (unsigned long long)s->summary.total_files);
    }
    LOG_INFO("added:     %s (stored, after deduplication and compression)", add);
    LOG_INFO("snapshot %s saved in %.1f s", sid, s->summary.duration);
}

static int backup_aof(repo *r, const redis_source *rs, snapshot *s, int show)
{
    char path[PATH_MAX], *paths[1] = {path};
    if (!rs->data_dir)
        return err_set(ERR_CONFIG, "source '%s': --aof needs data-dir in its section", rs->o.source);
    if (fs_join(path, sizeof path, rs->data_dir, "appendonlydir"))
        return ERR_USAGE;
    files_backup_opts fo = {.paths = paths, .npaths = 1, .progress = show};
    snprintf(s->source, sizeof s->source, "redis-aof");
    int rc = files_backup(r, &fo, s->tree, &s->summary);
    if (!rc && s->summary.files_failed)
        rc = err_set(ERR_SOURCE, "Redis source %s: %llu AOF file(s) could not be read", rs->o.source,
                     (unsigned long long)s->summary.files_failed);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "redis-aof");
    cJSON_AddStringToObject(m, "source", rs->o.source);
    cJSON_AddStringToObject(m, "path", path);
    if (!rc && !(s->meta_json = cJSON_PrintUnformatted(m)))
        rc = err_set(ERR_FATAL, "out of memory");
    cJSON_Delete(m);
    return rc;
}

int cmd_backup_redis(cli *c, const source_args *a)
{
    redis_source rs = {0};
    snapshot s;
    snapshot_init(&s);
    repo *r;
    repo_lock *lk = NULL;
    double t0 = progress_now();
    rdb_info *info = calloc(1, sizeof *info);
    redis_sync sync;
    int rc = info ? source_load(c, a->source, &rs) : err_set(ERR_FATAL, "out of memory");
    int show = !a->no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty();
    rs.o.progress = show;
    if (!rc)
        rc = cli_fill_snapshot(c, a->class_name ? a->class_name : config_source_get(rs.cs, "class"), a->host,
                               a->tags, a->ntags, &s);
    if (!rc)
        rc = snapshot_add_path(&s, a->source);
    if (!rc)
        rc = cli_open_locked(c, 0, 1, &r, &lk);
    if (!rc && a->aof) {
        rc = backup_aof(r, &rs, &s, show);
    } else if (!rc) {
        snprintf(s.source, sizeof s.source, "redis");
        rc = redis_backup(r, &rs.o, s.tree, &s.summary, info, &sync);
        if (!rc && !(s.meta_json = redis_meta_json(a->source, info, &sync)))
            rc = err_set(ERR_FATAL, "out of memory");
    }
    if (!rc)
        rc = repo_flush(r);
    if (!rc) {
        repo_write_stats ws;
        repo_write_stats_get(r, &ws);
        s.summary.bytes_added = ws.bytes_added_stored;
        s.summary.duration = progress_now() - t0;
        rc = snapshot_save(r, &s); /* only now, with the whole RDB validated */
    }
    if (!rc) {
        char hex[65];
        text_hex(s.id, 32, hex);
        cli_audit_id(c, hex);
        print_backup(c, &s, a->aof ? NULL : info, &sync);
    }
    lock_release(&lk);
    snapshot_free(&s);
    source_free(&rs);
    free(info);
    return rc;
}

/* ---- restore --source (redis) ------------------------------------------------------ */

typedef struct rr_args {
    const char *source, *target, *snap;
    int replace, aof, no_progress;
} rr_args;

static int parse_restore(cli *c, int argc, char **argv, rr_args *a)
{
    static const struct option opts[] = {
        {"source", required_argument, NULL, 's'}, {"target", required_argument, NULL, 't'},
        {"replace", no_argument, NULL, 'R'},      {"snapshot", required_argument, NULL, 'S'},
        {"aof", no_argument, NULL, 'a'},          {"no-progress", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "t:", opts, cli_find("restore"))) != -1) {
        switch (opt) {
        case -2: return -2;
        case 's': a->source = optarg; break;
        case 't': a->target = optarg; break;
        case 'R': a->replace = 1; break;
        case 'S': a->snap = optarg; break;
        case 'a': a->aof = 1; break;
        case 'n': a->no_progress = 1; break;
        default: return ERR_USAGE;
        }
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "restore --source takes no SNAPSHOT argument (use --snapshot ID to choose one)");
    if (!a->target == !a->replace)
        return err_set(ERR_USAGE, "restore of a Redis source needs --target DIR or --replace (one of them)");
    if (a->aof && a->replace)
        return err_set(ERR_USAGE, "--replace puts an RDB in place; restore an AOF folder with --target DIR");
    return 0;
}

/* One step of --replace, as its own audit record. */
static void audit_step(cli *c, const rr_args *a, const char *step, int rc, const char *detail)
{
    char *args[3] = {(char *)"--replace", (char *)step, (char *)detail};
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", rc ? err_msg() : "ok");
    audit_event e = {.command = "restore-step", .args = args, .nargs = 3, .exit_code = rc, .message = msg,
                     .ids = c->audit_ids, .nids = c->naudit_ids};
    err_saved saved;
    err_save(&saved);
    if (c->r && audit_append(c->r, &e) != 0)
        LOG_WARN("could not write the audit record of step %s of %s: %s", step, a->source, err_msg());
    err_restore(&saved);
}

static int run_shell(const char *what, const char *cmd)
{
    LOG_VERBOSE("running %s: %s", what, cmd);
    pid_t pid = fork();
    if (pid < 0)
        return err_sys(ERR_IO, "start %s", what);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return err_sys(ERR_IO, "wait for %s", what);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    return err_set(ERR_SOURCE, "%s failed (%s %d): %s", what, WIFEXITED(st) ? "exit code" : "signal",
                   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), cmd);
}

/* up: wait for the server to answer (and be done loading); !up: to stop answering. */
static int wait_server(const redis_opts *o, int up)
{
    struct timespec t0, now, d = {0, 100 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int rc = redis_ping(o);
        if ((rc == 0) == up) {
            err_clear();
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= o->timeout) {
            if (up)
                return err_wrap("the server did not come back within %d s", o->timeout);
            return err_set(ERR_SOURCE, "Redis source %s still answers %d s after the stop command", o->source,
                           o->timeout);
        }
        nanosleep(&d, NULL);
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's keys per database against the snapshot's, allowing for keys whose
 * expiry fell between the start of the load (at_a) and the count (at_b). */
static int verify(repo *r, const snapshot *s, const redis_opts *o, int64_t at_a)
{
    uint64_t *server = calloc(RDB_MAX_DBS, sizeof *server);
    rdb_info *info = calloc(1, sizeof *info);
    if (!server || !info) {
        free(server);
        free(info);
        return err_set(ERR_FATAL, "out of memory");
    }
    int rc = redis_keyspace(o, server, RDB_MAX_DBS);
    info->at_a = at_a;
    info->at_b = now_ms();
    if (!rc)
        rc = redis_snapshot_parse(r, s, info);
    for (uint32_t d = 0; !rc && d < RDB_MAX_DBS; d++) {
        const rdb_db *want = &info->dbs[d];
        if (server[d] > want->alive_a || server[d] < want->alive_b)
            rc = err_set(ERR_SOURCE, "after the restore, db%u has %llu keys where the snapshot has %llu", d,
                         (unsigned long long)server[d], (unsigned long long)want->alive_b);
        else if (want->keys)
            LOG_INFO("verified: db%u has %llu keys, as the snapshot (%llu, of which %llu expired meanwhile)", d,
                     (unsigned long long)server[d], (unsigned long long)want->keys,
                     (unsigned long long)(want->keys - server[d]));
    }
    free(info);
    free(server);
    return rc;
}

typedef struct swap_paths {
    char live[PATH_MAX], previous[PATH_MAX], stage_dir[PATH_MAX], staged[PATH_MAX];
    int had_previous;
} swap_paths;

static int stage(repo *r, const snapshot *s, const redis_source *rs, swap_paths *p)
{
    struct stat dir;
    if (stat(rs->data_dir, &dir) != 0)
        return err_sys(ERR_CONFIG, "Redis source %s: data-dir %s", rs->o.source, rs->data_dir);
    char aof[PATH_MAX];
    struct stat st;
    if (!fs_join(aof, sizeof aof, rs->data_dir, "appendonlydir") && stat(aof, &st) == 0) {
        err_set(ERR_USAGE, "Redis source %s uses AOF (%s exists): the server would load that, not the RDB",
                rs->o.source, aof);
        err_hint("restore with --target DIR and follow your AOF procedure, or restore an AOF snapshot (--aof)");
        return ERR_USAGE;
    }
    char name[64];
    snprintf(name, sizeof name, ".lifeline-restore-%d", (int)getpid());
    if (fs_join(p->live, sizeof p->live, rs->data_dir, "dump.rdb") ||
        fs_join(p->previous, sizeof p->previous, rs->data_dir, "dump.rdb.lifeline-previous") ||
        fs_join(p->stage_dir, sizeof p->stage_dir, rs->data_dir, name) ||
        fs_join(p->staged, sizeof p->staged, p->stage_dir, "dump.rdb"))
        return ERR_USAGE;
    files_restore_opts fo = {.target = p->stage_dir};
    files_restore_stats fst;
    int rc = files_restore(r, s, &fo, &fst);
    if (!rc && chown(p->staged, dir.st_uid, dir.st_gid) != 0 && geteuid() == 0)
        rc = err_sys(ERR_IO, "set owner of %s", p->staged);
    if (!rc)
        rc = fs_fsync_file(p->staged);
    return rc;
}

static int swap_in(swap_paths *p, const char *data_dir)
{
    p->had_previous = rename(p->live, p->previous) == 0;
    if (!p->had_previous && errno != ENOENT)
        return err_sys(ERR_IO, "move %s aside", p->live);
    if (rename(p->staged, p->live) != 0) {
        int rc = err_sys(ERR_IO, "put %s in place", p->live);
        if (p->had_previous && rename(p->previous, p->live) != 0) /* the server must find its own file again */
            LOG_WARN("could not move %s back to %s: %s", p->previous, p->live, strerror(errno));
        return rc;
    }
    rmdir(p->stage_dir);
    return fs_fsync_dir(data_dir);
}

static int swap_back(const swap_paths *p, const char *data_dir)
{
    if (p->had_previous ? rename(p->previous, p->live) != 0 : unlink(p->live) != 0 && errno != ENOENT)
        return err_sys(ERR_IO, "put the previous %s back", p->live);
    return fs_fsync_dir(data_dir);
}

static int rollback(cli *c, const rr_args *a, const redis_source *rs, const swap_paths *p)
{
    char why[1024];
    snprintf(why, sizeof why, "%s", err_msg());
    LOG_WARN("restore of %s failed (%s): putting the previous data back", a->source, why);
    /* a server that never came up cannot be stopped: what counts is that it is down */
    int stop_rc = run_shell("stop-command", rs->stop_cmd);
    int rc = wait_server(&rs->o, 0);
    if (rc && stop_rc)
        rc = stop_rc;
    else if (!rc)
        err_clear();
    if (!rc)
        rc = swap_back(p, rs->data_dir);
    if (!rc)
        rc = run_shell("start-command", rs->start_cmd);
    if (!rc)
        rc = wait_server(&rs->o, 1);
    audit_step(c, a, "rollback", rc, p->had_previous ? "previous dump.rdb restored" : "no previous dump.rdb");
    if (rc)
        return err_wrap("restore failed (%s) and so did the rollback", why);
    return err_set(ERR_SOURCE, "%s; the previous data is back in place and the server runs on it", why);
}

/* The server must load what we put in place: its dir and file name are asked for,
 * where CONFIG is allowed, before anything is stopped. */
static int check_server_paths(const redis_source *rs)
{
    char dir[PATH_MAX], file[256], want[PATH_MAX], have[PATH_MAX];
    if (redis_config_get(&rs->o, "dir", dir, sizeof dir) || redis_config_get(&rs->o, "dbfilename", file, sizeof file)) {
        LOG_WARN("cannot ask %s for its data folder (%s): trusting data-dir %s", rs->o.source, err_msg(), rs->data_dir);
        err_clear();
        return 0;
    }
    if (!realpath(rs->data_dir, want) || !realpath(dir, have))
        return err_sys(ERR_CONFIG, "Redis source %s: data-dir %s", rs->o.source, rs->data_dir);
    if (strcmp(want, have) || strcmp(file, "dump.rdb"))
        return err_set(ERR_CONFIG, "Redis source %s loads %s/%s, but data-dir is %s: nothing was changed", rs->o.source,
                       dir, file, rs->data_dir);
    return 0;
}

static int replace(cli *c, const rr_args *a, repo *r, const snapshot *s, const redis_source *rs)
{
    swap_paths p = {0};
    int rc = check_server_paths(rs);
    if (rc)
        return rc;
    rc = stage(r, s, rs, &p);
    audit_step(c, a, "stage", rc, p.staged);
    if (rc) {
        rmdir(p.stage_dir);
        return rc;
    }
    LOG_INFO("stopping %s: %s", a->source, rs->stop_cmd);
    if (!(rc = run_shell("stop-command", rs->stop_cmd)))
        rc = wait_server(&rs->o, 0);
    audit_step(c, a, "stop", rc, rs->stop_cmd);
    int stopped = !rc;
    if (stopped) {
        rc = swap_in(&p, rs->data_dir);
        audit_step(c, a, "swap", rc, p.live);
    }
    if (rc) { /* its own data is untouched (or back): a stopped server is started again on it */
        err_saved e;
        err_save(&e);
        unlink(p.staged);
        rmdir(p.stage_dir);
        if (stopped && run_shell("start-command", rs->start_cmd) != 0)
            LOG_WARN("could not start %s again: %s", a->source, err_msg());
        err_restore(&e);
        return rc;
    }
    int64_t at = now_ms();
    LOG_INFO("starting %s: %s", a->source, rs->start_cmd);
    if (!(rc = run_shell("start-command", rs->start_cmd)))
        rc = wait_server(&rs->o, 1);
    audit_step(c, a, "start", rc, rs->start_cmd);
    if (!rc)
        rc = verify(r, s, &rs->o, at);
    if (!rc || rc == ERR_SOURCE)
        audit_step(c, a, "verify", rc, "key counts per database");
    if (rc)
        return rollback(c, a, rs, &p);
    if (p.had_previous && unlink(p.previous) != 0)
        LOG_WARN("could not remove %s: %s", p.previous, strerror(errno));
    return 0;
}

static void print_restore_json(const char *hex, const char *where, int replaced, double secs)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "snapshot_id", hex);
    cJSON_AddStringToObject(o, replaced ? "data_dir" : "target", where);
    cJSON_AddBoolToObject(o, "replaced", replaced);
    cJSON_AddBoolToObject(o, "verified", replaced);
    cJSON_AddNumberToObject(o, "duration", secs);
    cli_json_print(o);
}

int cmd_restore_redis(cli *c, int argc, char **argv)
{
    rr_args a = {0};
    redis_source rs = {0};
    int rc = parse_restore(c, argc, argv, &a);
    if (rc == -2)
        return 0;
    if (!rc)
        rc = source_load(c, a.source, &rs);
    if (!rc && a.replace && (!rs.data_dir || !rs.stop_cmd || !rs.start_cmd))
        rc = err_set(ERR_CONFIG, "source '%s' in %s: --replace needs data-dir, stop-command and start-command",
                     a.source, c->cfg->file);
    if (rc) {
        source_free(&rs);
        return rc;
    }
    repo *r;
    repo_lock *lk = NULL;
    snapshot *list = NULL;
    size_t n = 0, chosen = 0;
    double t0 = progress_now();
    rc = cli_open_locked(c, CLI_LOCK_READ, 1, &r, &lk);
    if (!rc)
        rc = snapshot_load_all(r, &list, &n, 1);
    if (!rc)
        rc = cli_newest_of_source(r, list, n, a.aof ? "redis-aof" : "redis", a.source, a.snap, &chosen);
    if (!rc) {
        char hex[65], sid[9];
        text_hex(list[chosen].id, 32, hex);
        snapshot_short_id(list[chosen].id, sid);
        cli_audit_id(c, hex);
        if (a.replace) {
            rc = replace(c, &a, r, &list[chosen], &rs);
            if (!rc)
                LOG_INFO("restored snapshot %s into %s/dump.rdb; %s runs on it (%.1f s)", sid, rs.data_dir, a.source,
                         progress_now() - t0);
            if (!rc && c->json)
                print_restore_json(hex, rs.data_dir, 1, progress_now() - t0);
        } else {
            char target[PATH_MAX];
            files_restore_opts fo = {.target = target};
            files_restore_stats st;
            snprintf(target, sizeof target, "%s", a.target);
            if (a.aof) { /* the AOF folder, by the name Redis gives it */
                fo.subpath = list[chosen].paths[0];
                cJSON *m = list[chosen].meta_json ? cJSON_Parse(list[chosen].meta_json) : NULL;
                cJSON *path = cJSON_GetObjectItemCaseSensitive(m, "path");
                static char sub[PATH_MAX];
                snprintf(sub, sizeof sub, "%s", cJSON_IsString(path) ? path->valuestring : "/");
                fo.subpath = sub;
                cJSON_Delete(m);
                if (fs_join(target, sizeof target, a.target, "appendonlydir"))
                    rc = ERR_USAGE;
            }
            if (!rc)
                rc = files_restore(r, &list[chosen], &fo, &st);
            if (!rc)
                LOG_INFO("restored snapshot %s of %s to %s (%s)", sid, a.source, target,
                         a.aof ? "the AOF folder" : "dump.rdb");
            if (!rc && c->json)
                print_restore_json(hex, target, 0, progress_now() - t0);
        }
    }
    snapshots_free(&list, n);
    lock_release(&lk);
    source_free(&rs);
    return rc;
}
