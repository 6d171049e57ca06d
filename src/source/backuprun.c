/* backuprun — see backuprun.h. The order is the repository's: the data durable
 * (repo_flush), then, for a base backup, its WAL waited for, and only then the
 * snapshot that names it. */
#define _GNU_SOURCE
#include "backuprun.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/progress.h"
#include "files.h"
#include "pgdump.h"

/* The flushed backup's numbers, then the snapshot itself. */
static int save(repo *r, snapshot *s, double t0)
{
    repo_write_stats ws;
    repo_write_stats_get(r, &ws);
    s->summary.bytes_added = ws.bytes_added_stored;
    s->summary.duration = progress_now() - t0;
    return snapshot_save(r, s);
}

/* Waits for a base backup's WAL; a timeout is remembered in res, not an error. */
static int wait_wal(repo *r, const backuprun_pg_opts *o, snapshot *s, backuprun_pg_result *res)
{
    int rc = pg_wait_wal(r, &res->m, o->wal_timeout);
    res->m.wal_complete = rc == 0;
    if (rc == ERR_INCOMPLETE) {
        res->wal_incomplete = 1;
        snprintf(res->wait_msg, sizeof res->wait_msg, "%s", err_msg());
        snprintf(res->wait_hint, sizeof res->wait_hint, "%s", err_hint_msg() ? err_hint_msg() : "");
        err_clear();
        rc = 0;
    }
    cJSON *mj = pg_meta_json(&res->m);
    if (!rc && !(s->meta_json = cJSON_PrintUnformatted(mj)))
        rc = err_set(ERR_FATAL, "out of memory");
    cJSON_Delete(mj);
    return rc;
}

int backuprun_pg(repo *r, const backuprun_pg_opts *o, snapshot *s, backuprun_pg_result *res)
{
    int rc;
    memset(res, 0, sizeof *res);
    if (o->logical) {
        pgdump_opts po = {.source = o->source, .conninfo = o->conninfo, .pg_dump = o->pg_dump,
                          .progress = o->progress};
        snprintf(s->source, sizeof s->source, "pg_dump");
        rc = pgdump_backup(r, &po, s->tree, &s->summary, &s->meta_json);
    } else {
        pg_backup_opts po = {.source = o->source, .conninfo = o->conninfo, .archive_source = o->archive_source,
                             .progress = o->progress};
        snprintf(s->source, sizeof s->source, "postgres");
        rc = pg_backup(r, &po, s->tree, &s->summary, &res->m);
    }
    if (!rc && !o->logical && res->m.standby && o->primary_conninfo &&
        pg_switch_primary(o->source, o->primary_conninfo)) {
        /* the standby cannot finish its last segment itself; without the switch the
         * wait below may time out, and says so */
        LOG_WARN("%s (%s)", err_msg(), err_hint_msg() ? err_hint_msg() : "");
        err_clear();
    }
    if (!rc)
        rc = repo_flush(r); /* the data is durable before we wait for its WAL */
    if (!rc && !o->logical)
        rc = wait_wal(r, o, s, res);
    return rc ? rc : save(r, s, o->t0);
}

static int backup_aof(repo *r, const backuprun_redis_opts *o, snapshot *s)
{
    char path[PATH_MAX], *paths[1] = {path};
    if (!o->data_dir)
        return err_set(ERR_CONFIG, "source '%s': --aof needs data-dir in its section", o->server.source);
    if (fs_join(path, sizeof path, o->data_dir, "appendonlydir"))
        return ERR_USAGE;
    files_backup_opts fo = {.paths = paths, .npaths = 1, .progress = o->server.progress};
    snprintf(s->source, sizeof s->source, "redis-aof");
    int rc = files_backup(r, &fo, s->tree, &s->summary);
    if (!rc && s->summary.files_failed)
        rc = err_set(ERR_SOURCE, "Redis source %s: %llu AOF file(s) could not be read", o->server.source,
                     (unsigned long long)s->summary.files_failed);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "redis-aof");
    cJSON_AddStringToObject(m, "source", o->server.source);
    cJSON_AddStringToObject(m, "path", path);
    if (!rc && !(s->meta_json = cJSON_PrintUnformatted(m)))
        rc = err_set(ERR_FATAL, "out of memory");
    cJSON_Delete(m);
    return rc;
}

int backuprun_redis(repo *r, const backuprun_redis_opts *o, snapshot *s, rdb_info *info, redis_sync *sync)
{
    int rc;
    if (o->aof) {
        rc = backup_aof(r, o, s);
    } else {
        snprintf(s->source, sizeof s->source, "redis");
        rc = redis_backup(r, &o->server, s->tree, &s->summary, info, sync);
        if (!rc && !(s->meta_json = redis_meta_json(o->server.source, info, sync)))
            rc = err_set(ERR_FATAL, "out of memory");
    }
    if (!rc)
        rc = repo_flush(r);
    return rc ? rc : save(r, s, o->t0); /* only now, with the whole RDB validated */
}
