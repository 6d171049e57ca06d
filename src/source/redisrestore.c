/* redisrestore — see redisrestore.h. The order is what keeps the server's own data
 * safe: nothing is stopped before the new file is staged (and fsynced) beside it, and
 * the previous file is only removed once the server verified on the new one. */
#define _GNU_SOURCE
#include "redisrestore.h"

#include <errno.h>
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
#include "files.h"

/* One step of --replace, as its own audit record. */
static void audit_step(repo *r, const redisrestore_opts *o, const char *step, int rc, const char *detail)
{
    char *args[3] = {(char *)"--replace", (char *)step, (char *)detail};
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", rc ? err_msg() : "ok");
    audit_event e = {.command = "restore-step", .args = args, .nargs = 3, .exit_code = rc, .message = msg,
                     .ids = o->audit_ids, .nids = o->naudit_ids};
    err_saved saved;
    err_save(&saved);
    if (r && audit_append(r, &e) != 0)
        LOG_WARN("could not write the audit record of step %s of %s: %s", step, o->server.source, err_msg());
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

static int stage(repo *r, const snapshot *s, const redisrestore_opts *rs, swap_paths *p)
{
    struct stat dir;
    if (stat(rs->data_dir, &dir) != 0)
        return err_sys(ERR_CONFIG, "Redis source %s: data-dir %s", rs->server.source, rs->data_dir);
    char aof[PATH_MAX];
    struct stat st;
    if (!fs_join(aof, sizeof aof, rs->data_dir, "appendonlydir") && stat(aof, &st) == 0) {
        err_set(ERR_USAGE, "Redis source %s uses AOF (%s exists): the server would load that, not the RDB",
                rs->server.source, aof);
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

static int rollback(repo *r, const redisrestore_opts *rs, const swap_paths *p)
{
    char why[1024];
    snprintf(why, sizeof why, "%s", err_msg());
    LOG_WARN("restore of %s failed (%s): putting the previous data back", rs->server.source, why);
    /* a server that never came up cannot be stopped: what counts is that it is down */
    int stop_rc = run_shell("stop-command", rs->stop_cmd);
    int rc = wait_server(&rs->server, 0);
    if (rc && stop_rc)
        rc = stop_rc;
    else if (!rc)
        err_clear();
    if (!rc)
        rc = swap_back(p, rs->data_dir);
    if (!rc)
        rc = run_shell("start-command", rs->start_cmd);
    if (!rc)
        rc = wait_server(&rs->server, 1);
    audit_step(r, rs, "rollback", rc, p->had_previous ? "previous dump.rdb restored" : "no previous dump.rdb");
    if (rc)
        return err_wrap("restore failed (%s) and so did the rollback", why);
    return err_set(ERR_SOURCE, "%s; the previous data is back in place and the server runs on it", why);
}

/* The server must load what we put in place: its dir and file name are asked for,
 * where CONFIG is allowed, before anything is stopped. */
static int check_server_paths(const redisrestore_opts *rs)
{
    char dir[PATH_MAX], file[256], want[PATH_MAX], have[PATH_MAX];
    if (redis_config_get(&rs->server, "dir", dir, sizeof dir) || redis_config_get(&rs->server, "dbfilename", file, sizeof file)) {
        LOG_WARN("cannot ask %s for its data folder (%s): trusting data-dir %s", rs->server.source, err_msg(), rs->data_dir);
        err_clear();
        return 0;
    }
    if (!realpath(rs->data_dir, want) || !realpath(dir, have))
        return err_sys(ERR_CONFIG, "Redis source %s: data-dir %s", rs->server.source, rs->data_dir);
    if (strcmp(want, have) || strcmp(file, "dump.rdb"))
        return err_set(ERR_CONFIG, "Redis source %s loads %s/%s, but data-dir is %s: nothing was changed", rs->server.source,
                       dir, file, rs->data_dir);
    return 0;
}

int redisrestore_run(repo *r, const snapshot *s, const redisrestore_opts *rs, redisrestore_result *res)
{
    swap_paths p = {0};
    memset(res, 0, sizeof *res);
    if (!rs->data_dir || !rs->stop_cmd || !rs->start_cmd)
        return err_set(ERR_CONFIG, "Redis source %s: a replace needs data-dir, stop-command and start-command",
                       rs->server.source);
    int rc = check_server_paths(rs);
    if (rc)
        return rc;
    rc = stage(r, s, rs, &p);
    audit_step(r, rs, "stage", rc, p.staged);
    if (rc) {
        rmdir(p.stage_dir);
        return rc;
    }
    LOG_INFO("stopping %s: %s", rs->server.source, rs->stop_cmd);
    if (!(rc = run_shell("stop-command", rs->stop_cmd)))
        rc = wait_server(&rs->server, 0);
    audit_step(r, rs, "stop", rc, rs->stop_cmd);
    int stopped = !rc;
    if (stopped) {
        rc = swap_in(&p, rs->data_dir);
        audit_step(r, rs, "swap", rc, p.live);
    }
    if (rc) { /* its own data is untouched (or back): a stopped server is started again on it */
        err_saved e;
        err_save(&e);
        unlink(p.staged);
        rmdir(p.stage_dir);
        if (stopped && run_shell("start-command", rs->start_cmd) != 0)
            LOG_WARN("could not start %s again: %s", rs->server.source, err_msg());
        err_restore(&e);
        return rc;
    }
    int64_t at = now_ms();
    LOG_INFO("starting %s: %s", rs->server.source, rs->start_cmd);
    if (!(rc = run_shell("start-command", rs->start_cmd)))
        rc = wait_server(&rs->server, 1);
    audit_step(r, rs, "start", rc, rs->start_cmd);
    if (!rc)
        rc = verify(r, s, &rs->server, at);
    if (!rc || rc == ERR_SOURCE)
        audit_step(r, rs, "verify", rc, "key counts per database");
    if (rc) {
        res->rolled_back = 1;
        return rollback(r, rs, &p);
    }
    res->verified = 1;
    snprintf(res->live, sizeof res->live, "%s", p.live);
    if (p.had_previous && unlink(p.previous) != 0)
        LOG_WARN("could not remove %s: %s", p.previous, strerror(errno));
    return 0;
}
