/* pgrestore_run — the physical restore of a PostgreSQL source as one call (declared
 * in pgrestore.h): what `restore --source` and the watch agent both run. It checks
 * everything before it writes anything, then restores the files and the settings. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/pattern.h"
#include "pgrestore.h"
#include "pgstandby.h"

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
static int restore_command(const pgrestore_run_opts *o, const char *source, buf *b)
{
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l < 0)
        return err_sys(ERR_IO, "find the lifeline executable");
    exe[l] = '\0';
    const char *kf = o->key_file;
    int rc = sh_quote(b, exe);
    if (!rc && o->config_path)
        rc = quote_abs(b, "-c ", o->config_path);
    if (!rc && o->repo_path)
        rc = quote_abs(b, "-r ", o->repo_path);
    if (!rc && kf && *kf)
        rc = quote_abs(b, "--key-file ", kf);
    if (!rc && !(kf && *kf) && !o->config_has_key_file)
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

static const char *timeline_value(const pgrestore_run_opts *o, const pgrestore_plan *p, char *num, size_t cap)
{
    int kind = o->plan.tl_kind;
    if (kind == PGR_TL_LATEST || (o->standby && kind == PGR_TL_AUTO))
        return "latest"; /* a standby follows its primary onto new timelines */
    if (kind == PGR_TL_CURRENT)
        return "current";
    if (p->tli == p->m.tli)
        return "current"; /* a number would need a history file, which timeline 1 or a copy may lack */
    snprintf(num, cap, "%u", p->tli); /* the timeline the plan checked, pinned */
    return num;
}

/* The data folder's files, then each tablespace into its own folder. */
static int restore_files(repo *r, const snapshot *s, const pgrestore_run_opts *o, const pgtblspc_plan *tsp,
                         files_restore_stats *st)
{
    files_restore_opts fo = {.target = o->target, .delta = o->delta, .progress = o->progress};
    /* pg_tblspc/<oid> holds a tablespace's files: they go to its own folder, not here */
    int rc = tsp->n ? pattern_list_new(tsp->excludes, (size_t)tsp->n, "tablespace", &fo.excludes) : 0;
    if (!rc)
        rc = files_restore(r, s, &fo, st);
    pattern_list_free(&fo.excludes);
    if (!rc)
        rc = pgtblspc_restore(r, s, tsp, o->target, o->delta, fo.progress, st);
    return rc;
}

int pgrestore_run(repo *r, snapshot *list, size_t n, const pgrestore_run_opts *o, pgrestore_run_result *res)
{
    buf cmd, ci;
    char tlnum[16];
    pgrestore_plan *p = &res->plan;
    memset(res, 0, sizeof *res);
    buf_init(&cmd, 0);
    buf_init(&ci, 0);
    pgtblspc_plan *tsp = calloc(1, sizeof *tsp);
    int rc = tsp ? 0 : err_set(ERR_FATAL, "out of memory");
    if (!rc && o->standby && o->primary_conninfo) /* a conninfo libpq cannot read fails before the plan */
        rc = pgstandby_conninfo(o->primary_conninfo, o->application_name, &ci, res->application_name,
                                sizeof res->application_name);
    if (!rc)
        rc = pgrestore_make_plan(r, list, n, &o->plan, p);
    if (!rc && o->plan.force == SIZE_MAX) /* never an older backup in silence */
        rc = snapshot_newest_guard(r, list, n, &list[p->chosen]);
    if (!rc)
        rc = pgrestore_check_target(o->target, o->delta, &p->m);
    if (!rc)
        rc = pgtblspc_plan_make(&p->m, o->maps, o->nmaps, o->delta, tsp);
    if (!rc) /* everything checked: only now is anything written */
        rc = restore_command(o, p->m.wal_source, &cmd);
    if (!rc) {
        res->writing = 1;
        rc = restore_files(r, &list[p->chosen], o, tsp, &res->st);
    }
    if (!rc) {
        pgrestore_settings ps = {.t = &o->plan.t, .restore_command = (const char *)cmd.data,
                                 .tl_value = timeline_value(o, p, tlnum, sizeof tlnum),
                                 .archive_preserve = o->archive_preserve, .standby = o->standby,
                                 .primary_conninfo = ci.len ? (const char *)ci.data : NULL};
        rc = pgrestore_finish(o->target, &ps);
    }
    if (ci.data)
        memset(ci.data, 0, ci.cap); /* it may hold a password */
    buf_free(&ci);
    buf_free(&cmd);
    free(tsp);
    return rc;
}
