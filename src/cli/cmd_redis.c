/* cmd_redis — the command-line side of Redis sources: `backup --source NAME`
 * (an RDB over the replication protocol, or --aof: the AOF folder as files) and
 * `restore --source NAME` (--target DIR, or --replace, which source/redisrestore.c
 * carries out: this file parses, reads the source's section and prints). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/source_config.h"
#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "../source/backuprun.h"
#include "../source/files.h"
#include "../source/redis.h"
#include "../source/redisrestore.h"
#include "cli.h"

typedef struct redis_source {
    source_config_redis cfg;
    redis_opts o;
    char *password;
    size_t password_len;
} redis_source;

static void source_free(redis_source *s)
{
    if (s->password)
        cli_secret_free(&s->password, s->password_len);
}

/* The section (checked by source_config) and the password file's secret. */
static int source_load(cli *c, const char *name, redis_source *s)
{
    memset(s, 0, sizeof *s);
    int rc = source_config_redis_get(c->cfg, name, &s->cfg);
    if (rc)
        return rc;
    s->o.source = name;
    s->o.address = s->cfg.address;
    s->o.user = s->cfg.user;
    s->o.timeout = s->cfg.timeout;
    if (s->cfg.password_file) {
        if ((rc = cli_read_secret_file(s->cfg.password_file, "Redis password file", &s->password, &s->password_len)))
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
        rc = cli_fill_snapshot(c, a->class_name ? a->class_name : rs.cfg.class_name, a->host,
                               a->tags, a->ntags, &s);
    if (!rc)
        rc = snapshot_add_path(&s, a->source);
    if (!rc)
        rc = cli_open_locked(c, 0, 1, &r, &lk);
    backuprun_redis_opts o = {.server = rs.o, .data_dir = rs.cfg.data_dir, .aof = a->aof, .t0 = t0};
    if (!rc)
        rc = backuprun_redis(r, &o, &s, info, &sync);
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
    if (!rc && a.replace && (!rs.cfg.data_dir || !rs.cfg.stop_cmd || !rs.cfg.start_cmd))
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
            redisrestore_opts ro = {.server = rs.o, .data_dir = rs.cfg.data_dir, .stop_cmd = rs.cfg.stop_cmd,
                                    .start_cmd = rs.cfg.start_cmd, .audit_ids = c->audit_ids,
                                    .naudit_ids = c->naudit_ids};
            redisrestore_result res;
            rc = redisrestore_run(r, &list[chosen], &ro, &res);
            if (!rc)
                LOG_INFO("restored snapshot %s into %s/dump.rdb; %s runs on it (%.1f s)", sid, rs.cfg.data_dir,
                         a.source, progress_now() - t0);
            if (!rc && c->json)
                print_restore_json(hex, rs.cfg.data_dir, 1, progress_now() - t0);
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
