/* cmd_pg — the command-line side of PostgreSQL sources: `backup --source NAME`
 * (base backup, or --logical through pg_dump), `restore --source NAME` (point in
 * time, or the dump), and the checks of a source's configuration. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "../core/pattern.h"
#include "../source/files.h"
#include "../source/pg.h"
#include "../source/pgdump.h"
#include "../source/pgrestore.h"
#include "../source/pgtblspc.h"
#include "../source/wal.h"
#include "cli.h"

static const char *const pg_keys[] = {"type",           "conninfo",         "class", "wal-timeout", "pg-dump",
                                      "archive-source", "primary-conninfo", "bin-dir", NULL};

/* A connection string of the source: passwords belong in a password file. */
static int conninfo_check(cli *c, const char *name, const char *key, const char *ci)
{
    if (!strstr(ci, "password"))
        return 0;
    err_set(ERR_CONFIG, "source '%s' in %s: %s must not hold a password", name, c->cfg->file, key);
    err_hint("put it in a password file (PGPASSFILE or ~/.pgpass of the user lifeline runs as)");
    return ERR_CONFIG;
}

/* The source's section, checked: type postgres (or pg_dump) and only keys we know. */
static int source_config(cli *c, const char *name, const config_source **out, int *is_dump)
{
    const config_source *s = config_source_find(c->cfg, name);
    if (!s)
        return err_set(ERR_CONFIG, "no source '%s' in %s", name, c->cfg ? c->cfg->file : "(no configuration file)");
    const char *type = config_source_get(s, "type"); /* postgres or pg_dump: cli_source_type dispatched here */
    int rc = cli_source_keys_check(c, s, type, pg_keys);
    if (rc)
        return rc;
    const char *ci = config_source_get(s, "conninfo"), *pci = config_source_get(s, "primary-conninfo"),
               *as = config_source_get(s, "archive-source");
    if (!ci)
        return err_set(ERR_CONFIG, "source '%s' in %s: conninfo is missing", name, c->cfg->file);
    if ((rc = conninfo_check(c, name, "conninfo", ci)) || (pci && (rc = conninfo_check(c, name, "primary-conninfo", pci))))
        return rc;
    if (as && !wal_source_valid(as))
        return err_set(ERR_CONFIG, "source '%s' in %s: archive-source '%s' is not a source name", name, c->cfg->file,
                       as);
    *is_dump = !strcmp(type, "pg_dump");
    *out = s;
    return 0;
}

static int wal_timeout(cli *c, const config_source *s, int *out)
{
    const char *v = config_source_get(s, "wal-timeout");
    int64_t secs = 60;
    if (v && (text_parse_duration(v, &secs) || secs < 1 || secs > 86400)) {
        err_clear();
        return err_set(ERR_CONFIG, "source '%s' in %s: wal-timeout '%s' is not a duration between 1s and 24h",
                       s->name, c->cfg->file, v);
    }
    *out = (int)secs;
    return 0;
}

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

static void add_bytes_added(repo *r, snapshot *s, double t0)
{
    repo_write_stats ws;
    repo_write_stats_get(r, &ws);
    s->summary.bytes_added = ws.bytes_added_stored;
    s->summary.duration = progress_now() - t0;
}

int cmd_backup_pg(cli *c, const source_args *sa)
{
    const char *source = sa->source;
    const config_source *cs;
    int is_dump = 0, timeout = 60;
    char waitmsg[512] = "", waithint[512] = "";
    double t0 = progress_now();
    int rc = source_config(c, source, &cs, &is_dump);
    if (!rc)
        rc = wal_timeout(c, cs, &timeout);
    if (rc)
        return rc;
    is_dump |= sa->logical;
    snapshot s;
    pg_meta m;
    memset(&m, 0, sizeof m);
    snapshot_init(&s);
    repo *r;
    repo_lock *lk = NULL;
    rc = cli_fill_snapshot(c, sa->class_name ? sa->class_name : config_source_get(cs, "class"), sa->host, sa->tags,
                           sa->ntags, &s);
    if (!rc)
        rc = snapshot_add_path(&s, source);
    if (!rc)
        rc = cli_open_locked(c, 0, 1, &r, &lk);
    int show = !sa->no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty();
    if (!rc && is_dump) {
        pgdump_opts o = {.source = source, .conninfo = config_source_get(cs, "conninfo"),
                         .pg_dump = config_source_get(cs, "pg-dump"), .progress = show};
        snprintf(s.source, sizeof s.source, "pg_dump");
        rc = pgdump_backup(r, &o, s.tree, &s.summary, &s.meta_json);
    } else if (!rc) {
        pg_backup_opts o = {.source = source, .conninfo = config_source_get(cs, "conninfo"),
                            .archive_source = config_source_get(cs, "archive-source"), .progress = show};
        snprintf(s.source, sizeof s.source, "postgres");
        rc = pg_backup(r, &o, s.tree, &s.summary, &m);
    }
    const char *primary = config_source_get(cs, "primary-conninfo");
    if (!rc && !is_dump && m.standby && primary && pg_switch_primary(source, primary)) {
        /* the standby cannot finish its last segment itself; without the switch the
         * wait below may time out, and says so */
        LOG_WARN("%s (%s)", err_msg(), err_hint_msg() ? err_hint_msg() : "");
        err_clear();
    }
    if (!rc)
        rc = repo_flush(r); /* the data is durable before we wait for its WAL */
    if (!rc && !is_dump) {
        int wrc = pg_wait_wal(r, &m, timeout);
        m.wal_complete = wrc == 0;
        if (wrc == ERR_INCOMPLETE) {
            snprintf(waitmsg, sizeof waitmsg, "%s", err_msg());
            snprintf(waithint, sizeof waithint, "%s", err_hint_msg() ? err_hint_msg() : "");
            err_clear();
        } else {
            rc = wrc;
        }
        cJSON *mj = pg_meta_json(&m);
        if (!rc && !(s.meta_json = cJSON_PrintUnformatted(mj)))
            rc = err_set(ERR_FATAL, "out of memory");
        cJSON_Delete(mj);
    }
    if (!rc) {
        add_bytes_added(r, &s, t0);
        rc = snapshot_save(r, &s);
    }
    if (!rc) {
        char hex[65], sid[9];
        text_hex(s.id, 32, hex);
        cli_audit_id(c, hex);
        print_result(c, &s, &m, !is_dump);
        snapshot_short_id(s.id, sid);
        if (waitmsg[0]) {
            rc = err_set(ERR_INCOMPLETE, "snapshot %s is saved but not usable for a restore yet: %s", sid, waitmsg);
            err_hint("%s%sonce the segment is archived, restore and check accept the snapshot", waithint,
                     waithint[0] ? "; " : "");
        }
    }
    lock_release(&lk);
    snapshot_free(&s);
    return rc;
}

/* ---- restore --source ------------------------------------------------------------- */

typedef struct restore_args {
    const char *source, *target, *snap, *conninfo_file;
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
    if (!a->target && !a->to_stdout)
        return err_set(ERR_USAGE, "restore --source needs --target DIR");
    if (a->to_stdout && !a->logical)
        return err_set(ERR_USAGE, "--stdout is for logical dumps (--logical)");
    if (a->logical && (a->ntargets || a->delta || a->standby || a->tl_kind || a->archive_given))
        return err_set(ERR_USAGE, "a logical dump has no recovery target, timeline, archive mode, standby or --delta");
    if (a->standby && a->t.kind != PG_TARGET_LATEST)
        return err_set(ERR_USAGE, "a standby follows its primary: --standby takes no recovery target");
    if (a->conninfo_file && !a->standby)
        return err_set(ERR_USAGE, "--primary-conninfo-file is for --standby");
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

/* Single-quoted for /bin/sh, with '%' doubled for PostgreSQL's %f/%p expansion. */
static int sh_quote(buf *b, const char *s)
{
    int rc = buf_append_u8(b, '\'');
    for (; !rc && *s; s++) {
        if (*s == '\'')
            rc = buf_append(b, "'\\''", 4);
        else if (*s == '%')
            rc = buf_append(b, "%%", 2);
        else
            rc = buf_append_u8(b, (uint8_t)*s);
    }
    return rc ? rc : buf_append(b, "' ", 2);
}

static int quote_abs(buf *b, const char *flag, const char *path)
{
    char abs[PATH_MAX];
    if (!realpath(path, abs))
        return err_sys(ERR_IO, "resolve %s", path);
    int rc = buf_append(b, flag, strlen(flag));
    return rc ? rc : sh_quote(b, abs);
}

/* lifeline itself, with what it needs to open the repository without a password. */
static int restore_command(cli *c, const char *source, buf *b)
{
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l < 0)
        return err_sys(ERR_IO, "find the lifeline executable");
    exe[l] = '\0';
    const char *kf = c->key_file ? c->key_file : getenv("LIFELINE_KEY_FILE");
    int rc = sh_quote(b, exe);
    if (!rc && c->config_path)
        rc = quote_abs(b, "-c ", c->config_path);
    if (!rc && c->repo_path)
        rc = quote_abs(b, "-r ", c->repo_path);
    if (!rc && kf && *kf)
        rc = quote_abs(b, "--key-file ", kf);
    if (!rc && !(kf && *kf) && !(c->cfg && c->cfg->key_file))
        LOG_WARN("no key file is configured: PostgreSQL's restore_command cannot unlock the repository without "
                 "one (add key-file to the configuration; see `lifeline key add --key-file`)");
    const char *tail = "wal-fetch --source ";
    if (!rc)
        rc = buf_append(b, tail, strlen(tail));
    if (!rc)
        rc = sh_quote(b, source);
    if (!rc)
        rc = buf_append(b, "%f %p", 6); /* with the NUL */
    return rc;
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

static void print_restore(cli *c, const restore_args *a, const snapshot *s, const pgrestore_plan *p,
                          const files_restore_stats *st, double secs)
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
    if (a->standby)
        LOG_INFO("standby: follows its primary (primary_conninfo%s), fetches WAL from the repository",
                 a->conninfo_file ? " written" : " not set: WAL from the repository only");
    else
        LOG_INFO("recovery target: %s, timeline %u, then promote", tgt, p->tli);
    LOG_INFO("archiving: %s", a->archive_preserve ? "as in the backup (archive_mode kept)"
                                                  : "off (archive_mode = off: this copy does not archive into the source)");
    LOG_INFO("next: start the server as the data folder's owner, e.g. pg_ctl -D %s start", a->target);
    LOG_INFO("      it fetches WAL from the repository and replays it%s", a->standby ? "" : " up to the target");
}

static const char *timeline_value(const restore_args *a, const pgrestore_plan *p, char *num, size_t cap)
{
    if (a->tl_kind == PGR_TL_LATEST || (a->standby && a->tl_kind == PGR_TL_AUTO))
        return "latest"; /* a standby follows its primary onto new timelines */
    if (a->tl_kind == PGR_TL_CURRENT)
        return "current";
    if (p->tli == p->m.tli)
        return "current"; /* a number would need a history file, which timeline 1 or a copy may lack */
    snprintf(num, cap, "%u", p->tli); /* the timeline the plan checked, pinned */
    return num;
}

/* The data folder's files, then each tablespace into its own folder. */
static int restore_files(cli *c, repo *r, const snapshot *s, const restore_args *a, const pgtblspc_plan *tsp,
                         files_restore_stats *st)
{
    files_restore_opts fo = {.target = a->target, .delta = a->delta,
                             .progress = !a->no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty()};
    /* pg_tblspc/<oid> holds a tablespace's files: they go to its own folder, not here */
    int rc = tsp->n ? pattern_list_new(tsp->excludes, (size_t)tsp->n, "tablespace", &fo.excludes) : 0;
    if (!rc)
        rc = files_restore(r, s, &fo, st);
    pattern_list_free(&fo.excludes);
    if (!rc)
        rc = pgtblspc_restore(r, s, tsp, a->target, a->delta, fo.progress, st);
    return rc;
}

/* Physical restore: plan, check the target folders, restore files, write settings. */
static int restore_physical(cli *c, repo *r, snapshot *list, size_t n, restore_args *a, const config_source *cs,
                            files_restore_stats *st, pgrestore_plan *p)
{
    size_t force = SIZE_MAX;
    buf cmd, ci;
    char tlnum[16];
    buf_init(&cmd, 0);
    buf_init(&ci, 0);
    pgtblspc_plan *tsp = calloc(1, sizeof *tsp);
    int rc = tsp ? cli_snapshot_index(r, a->snap, list, n, &force) : err_set(ERR_FATAL, "out of memory");
    pgrestore_opts o = {.source = a->source, .t = a->t, .tl_kind = a->tl_kind, .tl = a->tl, .force = force,
                        .bin_dir = config_source_get(cs, "bin-dir")};
    if (!rc && a->conninfo_file)
        rc = read_conninfo(a->conninfo_file, &ci);
    if (!rc)
        rc = pgrestore_make_plan(r, list, n, &o, p);
    if (!rc && force == SIZE_MAX) /* never an older backup in silence */
        rc = snapshot_newest_guard(r, list, n, &list[p->chosen]);
    if (!rc)
        rc = pgrestore_check_target(a->target, a->delta, &p->m);
    if (!rc)
        rc = pgtblspc_plan_make(&p->m, a->maps, a->nmaps, a->delta, tsp);
    if (!rc) /* everything checked: only now is anything written */
        rc = restore_command(c, p->m.wal_source, &cmd);
    if (!rc) {
        char hex[65];
        text_hex(list[p->chosen].id, 32, hex);
        cli_audit_id(c, hex);
        rc = restore_files(c, r, &list[p->chosen], a, tsp, st);
    }
    if (!rc) {
        pgrestore_settings ps = {.t = &a->t, .restore_command = (const char *)cmd.data,
                                 .tl_value = timeline_value(a, p, tlnum, sizeof tlnum),
                                 .archive_preserve = a->archive_preserve, .standby = a->standby,
                                 .primary_conninfo = ci.len ? (const char *)ci.data : NULL};
        rc = pgrestore_finish(a->target, &ps);
    }
    if (ci.data)
        memset(ci.data, 0, ci.cap); /* a conninfo may hold a password */
    buf_free(&ci);
    buf_free(&cmd);
    free(tsp);
    return rc;
}

int cmd_restore_pg(cli *c, int argc, char **argv)
{
    restore_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_restore(c, argc, argv, &a), is_dump = 0;
    if (rc == -2)
        return 0;
    const config_source *cs;
    if (!rc)
        rc = source_config(c, a.source, &cs, &is_dump);
    a.logical |= is_dump;
    if (!rc && is_dump && (a.ntargets || a.delta || a.standby || a.tl_kind || a.archive_given))
        rc = err_set(ERR_USAGE, "a logical dump has no recovery target, timeline, archive mode, standby or --delta");
    if (!rc && a.target) /* the cheap checks before the repository is opened; identity after the plan */
        rc = pgrestore_check_target(a.target, a.delta, NULL);
    if (rc)
        return rc;
    repo *r;
    repo_lock *lk = NULL;
    snapshot *list = NULL;
    size_t n = 0, chosen = SIZE_MAX;
    pgrestore_plan p;
    files_restore_stats st = {0};
    memset(&p, 0, sizeof p);
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
            p.chosen = chosen;
        }
        if (!rc && a.to_stdout) {
            rc = pgdump_to_stdout(r, &list[chosen]);
        } else if (!rc) {
            files_restore_opts fo = {.target = a.target,
                                     .progress = !a.no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty()};
            rc = files_restore(r, &list[chosen], &fo, &st);
        }
    } else if (!rc) {
        rc = restore_physical(c, r, list, n, &a, cs, &st, &p);
    }
    if (!rc && !a.to_stdout)
        print_restore(c, &a, &list[p.chosen], &p, &st, progress_now() - t0);
    snapshots_free(&list, n);
    lock_release(&lk);
    return rc;
}
