/* cmd_pg — the command-line side of PostgreSQL sources: `backup --source NAME`
 * (base backup, or --logical through pg_dump), `restore --source NAME` (point in
 * time through pgrestore_run, or the dump), and the checks of a source's configuration. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
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
#include "../source/pg.h"
#include "../source/pgdump.h"
#include "../source/pgrestore.h"
#include "../source/pgstandby.h"
#include "../source/pgtblspc.h"
#include "../source/wal.h"
#include "cli.h"

static void print_result(cli *c, const snapshot *s, const pg_meta *m, int is_pg)
{
    char sid[9], a[32], b[32], rd_[32], add[32];
    snapshot_short_id(s->id, sid);
    if (c->json) {
        cli_print_snapshot_json(s);
        return;
    }
    text_bytes(s->summary.bytes_read, rd_, sizeof rd_);
    text_bytes(s->summary.bytes_added, add, sizeof add);
    if (is_pg) {
        wal_lsn_format(m->start_lsn, a);
        wal_lsn_format(m->stop_lsn, b);
        LOG_INFO("PostgreSQL %d.%d, system %s, timeline %u%s", m->server_version / 10000, m->server_version % 10000,
                 m->system_id, m->tli, m->standby ? " (from a standby)" : "");
        LOG_INFO("WAL:       %s .. %s%s", a, b, m->wal_complete ? ", archived" : ", NOT all archived");
    }
    LOG_INFO("read:      %s in %llu files, %llu folders", rd_, (unsigned long long)s->summary.total_files,
             (unsigned long long)s->summary.dirs);
    LOG_INFO("added:     %s (stored, after deduplication and compression)", add);
    LOG_INFO("snapshot %s saved in %.1f s", sid, s->summary.duration);
}

int cmd_backup_pg(cli *c, const source_args *sa)
{
    const char *source = sa->source;
    source_config_pg cs;
    int timeout = 60;
    double t0 = progress_now();
    int rc = source_config_pg_get(c->cfg, source, &cs);
    if (!rc)
        rc = source_config_pg_wal_timeout(c->cfg, &cs, &timeout);
    if (rc)
        return rc;
    int is_dump = cs.is_dump | sa->logical;
    snapshot s;
    snapshot_init(&s);
    repo *r;
    repo_lock *lk = NULL;
    backuprun_pg_result res;
    memset(&res, 0, sizeof res);
    rc = cli_fill_snapshot(c, sa->class_name ? sa->class_name : cs.class_name, sa->host, sa->tags,
                           sa->ntags, &s);
    if (!rc)
        rc = snapshot_add_path(&s, source);
    if (!rc)
        rc = cli_open_locked(c, 0, 1, &r, &lk);
    backuprun_pg_opts o = {.source = source, .conninfo = cs.conninfo, .primary_conninfo = cs.primary_conninfo,
                           .archive_source = cs.archive_source, .pg_dump = cs.pg_dump, .logical = is_dump,
                           .wal_timeout = timeout,
                           .progress = !sa->no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty(),
                           .t0 = t0};
    if (!rc)
        rc = backuprun_pg(r, &o, &s, &res);
    if (!rc) {
        char hex[65], sid[9];
        text_hex(s.id, 32, hex);
        cli_audit_id(c, hex);
        print_result(c, &s, &res.m, !is_dump);
        snapshot_short_id(s.id, sid);
        if (res.wal_incomplete) {
            rc = err_set(ERR_INCOMPLETE, "snapshot %s is saved but not usable for a restore yet: %s", sid,
                         res.wait_msg);
            err_hint("%s%sonce the segment is archived, restore and check accept the snapshot", res.wait_hint,
                     res.wait_hint[0] ? "; " : "");
        }
    }
    lock_release(&lk);
    snapshot_free(&s);
    return rc;
}

/* ---- restore --source ------------------------------------------------------------- */

typedef struct restore_args {
    const char *source, *target, *snap, *conninfo_file, *conninfo, *app_name;
    pg_target t;
    char zone[96];       /* how --time was read */
    int ntargets, delta, logical, to_stdout, no_progress, standby, archive_preserve, archive_given;
    int tl_kind;
    uint32_t tl;
    pgtblspc_map maps[PG_MAX_TABLESPACES];
    size_t nmaps;
} restore_args;

static int target_text_arg(const char *opt, const char *v, pg_target *t)
{
    if (!v[0] || strlen(v) >= sizeof t->text)
        return err_set(ERR_USAGE, "--%s takes 1 to %zu characters", opt, sizeof t->text - 1);
    if (!strcmp(opt, "xid") && strspn(v, "0123456789") != strlen(v))
        return err_set(ERR_USAGE, "--xid takes a transaction id (digits), not '%s'", v);
    snprintf(t->text, sizeof t->text, "%s", v);
    return 0;
}

static int timeline_arg(const char *v, restore_args *a)
{
    uint64_t n;
    if (!strcmp(v, "current") || !strcmp(v, "latest")) {
        a->tl_kind = v[0] == 'c' ? PGR_TL_CURRENT : PGR_TL_LATEST;
        return 0;
    }
    if (text_parse_u64(v, UINT32_MAX, &n) || n < 1) {
        err_clear();
        return err_set(ERR_USAGE, "--target-timeline takes current, latest or a timeline number, not '%s'", v);
    }
    a->tl_kind = PGR_TL_NUMBER;
    a->tl = (uint32_t)n;
    return 0;
}

static int archive_arg(const char *v, restore_args *a)
{
    if (strcmp(v, "off") && strcmp(v, "preserve"))
        return err_set(ERR_USAGE, "--archive-mode takes off or preserve, not '%s'", v);
    a->archive_preserve = v[0] == 'p';
    a->archive_given = 1;
    return 0;
}

static int restore_args_check(restore_args *a)
{
    if (a->ntargets > 1)
        return err_set(ERR_USAGE, "give one of --time, --lsn, --xid, --name, --latest");
    if (a->to_stdout && a->target)
        return err_set(ERR_USAGE, "give --target DIR or --stdout, not both");
    if (a->standby && !a->target)
        return err_set(ERR_USAGE, "--standby needs --target DIR: the new standby's data folder");
    if (!a->target && !a->to_stdout)
        return err_set(ERR_USAGE, "restore --source needs --target DIR");
    if (a->to_stdout && !a->logical)
        return err_set(ERR_USAGE, "--stdout is for logical dumps (--logical)");
    if (a->logical && (a->ntargets || a->delta || a->standby || a->tl_kind || a->archive_given))
        return err_set(ERR_USAGE, "a logical dump has no recovery target, timeline, archive mode, standby or --delta");
    if (a->standby && (a->ntargets || a->t.kind != PG_TARGET_LATEST))
        return err_set(ERR_USAGE, "a standby follows its primary: --standby takes no recovery target "
                                  "(--time, --lsn, --xid, --name, --latest)");
    if (a->conninfo_file && !a->standby)
        return err_set(ERR_USAGE, "--primary-conninfo-file is for --standby");
    if (a->conninfo && !a->standby)
        return err_set(ERR_USAGE, "--primary-conninfo is for --standby");
    if (a->conninfo && a->conninfo_file)
        return err_set(ERR_USAGE, "give --primary-conninfo or --primary-conninfo-file, not both");
    if (a->app_name && !a->conninfo && !a->conninfo_file)
        return err_set(ERR_USAGE, "--application-name names the standby to its primary: it needs "
                                  "--primary-conninfo or --primary-conninfo-file");
    if (a->app_name) {
        int rc = pgstandby_check_app(a->app_name);
        if (rc)
            return rc;
    }
    if (a->conninfo) { /* argv is public: a password there is refused before anything else */
        int rc = pgstandby_check_argv(a->conninfo);
        if (rc)
            return rc;
    }
    if (a->standby && !a->archive_given)
        a->archive_preserve = 1; /* a standby that is promoted takes over the archiving */
    return 0;
}

static int parse_restore(cli *c, int argc, char **argv, restore_args *a)
{
    static const struct option opts[] = {
        {"source", required_argument, NULL, 's'}, {"target", required_argument, NULL, 't'},
        {"time", required_argument, NULL, 'T'},   {"lsn", required_argument, NULL, 'L'},
        {"xid", required_argument, NULL, 'X'},    {"name", required_argument, NULL, 'N'},
        {"latest", no_argument, NULL, 'l'},       {"delta", no_argument, NULL, 'd'},
        {"snapshot", required_argument, NULL, 'S'}, {"logical", no_argument, NULL, 'g'},
        {"stdout", no_argument, NULL, 'o'},       {"no-progress", no_argument, NULL, 'n'},
        {"target-timeline", required_argument, NULL, 'Y'}, {"archive-mode", required_argument, NULL, 'A'},
        {"standby", no_argument, NULL, 'B'},      {"primary-conninfo-file", required_argument, NULL, 'P'},
        {"primary-conninfo", required_argument, NULL, 'C'}, {"application-name", required_argument, NULL, 'a'},
        {"tablespace-map", required_argument, NULL, 'M'}, {NULL, 0, NULL, 0}};
    int opt, rc = 0;
    a->t.kind = PG_TARGET_LATEST;
    while (!rc && (opt = cli_getopt(c, argc, argv, "t:", opts, cli_find("restore"))) != -1) {
        switch (opt) {
        case -2: return -2;
        case 's': a->source = optarg; break;
        case 't': a->target = optarg; break;
        case 'T':
            a->t.kind = PG_TARGET_TIME;
            a->ntargets++;
            rc = pgrestore_parse_time(optarg, &a->t.time, &a->t.time_ns, a->zone, sizeof a->zone);
            break;
        case 'L':
            a->t.kind = PG_TARGET_LSN;
            a->ntargets++;
            rc = wal_lsn_parse(optarg, &a->t.lsn);
            break;
        case 'X':
        case 'N':
            a->t.kind = opt == 'X' ? PG_TARGET_XID : PG_TARGET_NAME;
            a->ntargets++;
            rc = target_text_arg(opt == 'X' ? "xid" : "name", optarg, &a->t);
            break;
        case 'l':
            a->t.kind = PG_TARGET_LATEST;
            a->ntargets++;
            break;
        case 'd': a->delta = 1; break;
        case 'S': a->snap = optarg; break;
        case 'g': a->logical = 1; break;
        case 'o': a->to_stdout = 1; break;
        case 'n': a->no_progress = 1; break;
        case 'Y': rc = timeline_arg(optarg, a); break;
        case 'A': rc = archive_arg(optarg, a); break;
        case 'B': a->standby = 1; break;
        case 'P': a->conninfo_file = optarg; break;
        case 'C': a->conninfo = optarg; break;
        case 'a': a->app_name = optarg; break;
        case 'M':
            if (a->nmaps == PG_MAX_TABLESPACES)
                return err_set(ERR_USAGE, "at most %d --tablespace-map options", PG_MAX_TABLESPACES);
            rc = pgtblspc_map_parse(optarg, &a->maps[a->nmaps++]);
            break;
        default: return ERR_USAGE;
        }
    }
    if (rc)
        return rc;
    if (optind != argc)
        return err_set(ERR_USAGE, "restore --source takes no SNAPSHOT argument (use --snapshot ID to choose one)");
    return restore_args_check(a);
}

/* The primary's conninfo, from a file (it may hold a password: never in argv). */
static int read_conninfo(const char *file, buf *out)
{
    int rc = fs_read_file(file, out, 8192);
    if (rc) {
        err_wrap("--primary-conninfo-file");
        return rc;
    }
    while (out->len && (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == '\r'))
        out->len--;
    if (!out->len || memchr(out->data, '\n', out->len) || memchr(out->data, '\0', out->len))
        return err_set(ERR_USAGE, "--primary-conninfo-file %s: expected one line of libpq connection settings", file);
    return buf_append_u8(out, 0);
}

static void target_text(const restore_args *a, const pgrestore_plan *p, char *out, size_t cap)
{
    char v[64], at[32] = "";
    const pg_target *t = &a->t;
    if (p->stop_lsn)
        wal_lsn_format(p->stop_lsn, at);
    switch (t->kind) {
    case PG_TARGET_TIME:
        pgrestore_time_text(t->time, t->time_ns, v, sizeof v);
        snprintf(out, cap, "time %s (given in %s)%s%s", v, a->zone, at[0] ? ", first commit after it at " : "", at);
        break;
    case PG_TARGET_LSN:
        wal_lsn_format(t->lsn, v);
        snprintf(out, cap, "LSN %s", v);
        break;
    case PG_TARGET_XID: snprintf(out, cap, "transaction %s%s%s", t->text, at[0] ? ", ends at " : "", at); break;
    case PG_TARGET_NAME: snprintf(out, cap, "restore point '%s'%s%s", t->text, at[0] ? " at " : "", at); break;
    default: snprintf(out, cap, "the end of the archived WAL"); break;
    }
}

static void print_standby_next(const restore_args *a, const char *app)
{
    LOG_INFO("next: start the server as the data folder's owner, e.g. pg_ctl -D %s start", a->target);
    LOG_INFO("      it replays the archived WAL from the repository (restore_command), then %s", app[0]
             ? "streams from its primary" : "keeps fetching WAL from the repository (no primary_conninfo)");
    if (app[0])
        LOG_INFO("      check: on the standby select status from pg_stat_wal_receiver (streaming); on the primary "
                 "select state from pg_stat_replication where application_name = '%s'", app);
}

static void print_restore(cli *c, const restore_args *a, const snapshot *s, const pgrestore_plan *p,
                          const files_restore_stats *st, double secs, const char *app)
{
    char hex[65], sid[9], tgt[256], b[32];
    text_hex(s->id, 32, hex);
    snapshot_short_id(s->id, sid);
    target_text(a, p, tgt, sizeof tgt);
    text_bytes(st->bytes, b, sizeof b);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "snapshot_id", hex);
        cJSON_AddStringToObject(o, "target", a->target);
        if (!a->logical) {
            cJSON_AddStringToObject(o, "recovery_target", a->standby ? "standby" : tgt);
            cJSON_AddNumberToObject(o, "timeline", p->tli);
            cJSON_AddStringToObject(o, "archive_mode", a->archive_preserve ? "preserve" : "off");
        }
        if (a->standby) {
            cJSON_AddBoolToObject(o, "primary_conninfo", app[0] != 0);
            if (app[0])
                cJSON_AddStringToObject(o, "application_name", app);
            else
                cJSON_AddNullToObject(o, "application_name");
        }
        if (a->t.kind == PG_TARGET_TIME) {
            char v[64];
            pgrestore_time_text(a->t.time, a->t.time_ns, v, sizeof v);
            cJSON_AddStringToObject(o, "recovery_target_time", v);
        }
        cJSON_AddNumberToObject(o, "files", (double)st->files);
        cJSON_AddNumberToObject(o, "unchanged", (double)st->unchanged);
        cJSON_AddNumberToObject(o, "removed", (double)st->removed);
        cJSON_AddNumberToObject(o, "bytes", (double)st->bytes);
        cJSON_AddNumberToObject(o, "duration", secs);
        cli_json_print(o);
        return;
    }
    LOG_INFO("restored backup %s of %s to %s: %llu files written (%s) in %.1f s", sid, a->source, a->target,
             (unsigned long long)st->files, b, secs);
    if (a->delta)
        LOG_INFO("delta: %llu files already matched and were kept, %llu entries removed",
                 (unsigned long long)st->unchanged, (unsigned long long)st->removed);
    if (a->logical)
        return;
    if (a->standby && app[0])
        LOG_INFO("standby: streams from its primary as application_name '%s' (primary_conninfo written), "
                 "recovery_target_timeline = latest, fetches WAL from the repository", app);
    else if (a->standby)
        LOG_INFO("standby: primary_conninfo not set, WAL from the repository only "
                 "(--primary-conninfo or --primary-conninfo-file make it stream)");
    else
        LOG_INFO("recovery target: %s, timeline %u, then promote", tgt, p->tli);
    LOG_INFO("archiving: %s", a->archive_preserve ? "as in the backup (archive_mode kept)"
                                                  : "off (archive_mode = off: this copy does not archive into the source)");
    if (a->standby) {
        print_standby_next(a, app);
        return;
    }
    LOG_INFO("next: start the server as the data folder's owner, e.g. pg_ctl -D %s start", a->target);
    LOG_INFO("      it fetches WAL from the repository and replays it up to the target");
}

/* Physical restore: the options from the command line and the source's section; the
 * restore itself is pgrestore_run's. */
static int restore_physical(cli *c, repo *r, snapshot *list, size_t n, restore_args *a,
                            const source_config_pg *cs, pgrestore_run_result *res)
{
    size_t force = SIZE_MAX;
    buf ci;
    buf_init(&ci, 0);
    int rc = cli_snapshot_index(r, a->snap, list, n, &force);
    if (!rc && a->conninfo_file)
        rc = read_conninfo(a->conninfo_file, &ci);
    if (!rc && a->conninfo)
        rc = buf_append(&ci, a->conninfo, strlen(a->conninfo) + 1);
    const char *kf = c->key_file ? c->key_file : getenv("LIFELINE_KEY_FILE");
    pgrestore_run_opts o = {
        .plan = {.source = a->source, .t = a->t, .tl_kind = a->tl_kind, .tl = a->tl, .force = force,
                 .bin_dir = cs->bin_dir},
        .target = a->target, .delta = a->delta, .standby = a->standby, .archive_preserve = a->archive_preserve,
        .progress = !a->no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty(),
        .maps = a->maps, .nmaps = a->nmaps, .primary_conninfo = ci.len ? (const char *)ci.data : NULL,
        .application_name = a->app_name,
        .config_path = c->config_path, .repo_path = c->repo_path, .key_file = kf,
        .config_has_key_file = c->cfg && c->cfg->key_file};
    if (!rc)
        rc = pgrestore_run(r, list, n, &o, res);
    if (res->writing) {
        char hex[65];
        text_hex(list[res->plan.chosen].id, 32, hex);
        cli_audit_id(c, hex);
    }
    if (ci.data)
        memset(ci.data, 0, ci.cap); /* a conninfo may hold a password */
    buf_free(&ci);
    return rc;
}

int cmd_restore_pg(cli *c, int argc, char **argv)
{
    restore_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_restore(c, argc, argv, &a);
    if (rc == -2)
        return 0;
    source_config_pg cs;
    memset(&cs, 0, sizeof cs);
    if (!rc)
        rc = source_config_pg_get(c->cfg, a.source, &cs);
    a.logical |= cs.is_dump;
    if (!rc && cs.is_dump && (a.ntargets || a.delta || a.standby || a.tl_kind || a.archive_given))
        rc = err_set(ERR_USAGE, "a logical dump has no recovery target, timeline, archive mode, standby or --delta");
    if (!rc && a.target) /* the cheap checks before the repository is opened; identity after the plan */
        rc = pgrestore_check_target(a.target, a.delta, NULL);
    if (rc)
        return rc;
    repo *r;
    repo_lock *lk = NULL;
    snapshot *list = NULL;
    size_t n = 0, chosen = SIZE_MAX;
    pgrestore_run_result res;
    memset(&res, 0, sizeof res);
    double t0 = progress_now();
    rc = cli_open_locked(c, CLI_LOCK_READ, 1, &r, &lk);
    if (!rc)
        rc = snapshot_load_all(r, &list, &n, 1);
    if (!rc && a.logical) {
        rc = cli_newest_of_source(r, list, n, "pg_dump", a.source, a.snap, &chosen);
        if (!rc) {
            char hex[65];
            text_hex(list[chosen].id, 32, hex);
            cli_audit_id(c, hex);
            res.plan.chosen = chosen;
        }
        if (!rc && a.to_stdout) {
            rc = pgdump_to_stdout(r, &list[chosen]);
        } else if (!rc) {
            files_restore_opts fo = {.target = a.target,
                                     .progress = !a.no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty()};
            rc = files_restore(r, &list[chosen], &fo, &res.st);
        }
    } else if (!rc) {
        rc = restore_physical(c, r, list, n, &a, &cs, &res);
    }
    if (!rc && !a.to_stdout)
        print_restore(c, &a, &list[res.plan.chosen], &res.plan, &res.st, progress_now() - t0,
                      res.application_name);
    snapshots_free(&list, n);
    lock_release(&lk);
    return rc;
}
