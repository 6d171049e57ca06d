/* pgtblspc — see pgtblspc.h. */
#define _GNU_SOURCE
#include "pgtblspc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"

int pgtblspc_map_parse(const char *arg, pgtblspc_map *out)
{
    char *end;
    const char *eq = strchr(arg, '=');
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (!eq || end != eq || end == arg || errno || !v || v > UINT32_MAX || eq[1] != '/' || strlen(eq + 1) >= PATH_MAX)
        return err_set(ERR_USAGE, "--tablespace-map takes OID=DIR with an absolute DIR, not '%s'", arg);
    out->oid = (uint32_t)v;
    out->dir = eq + 1;
    return 0;
}

/* Is path absent, or an empty folder? */
static int empty_or_absent(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

int pgtblspc_plan_make(const pg_meta *m, const pgtblspc_map *maps, size_t nmaps, int delta, pgtblspc_plan *p)
{
    memset(p, 0, sizeof *p);
    for (size_t k = 0; k < nmaps; k++) {
        int found = 0;
        for (int i = 0; i < m->nts; i++)
            found |= m->ts[i].oid == maps[k].oid;
        if (!found)
            return err_set(ERR_USAGE, "--tablespace-map %u=...: the backup has no tablespace %u", maps[k].oid,
                           maps[k].oid);
    }
    for (int i = 0; i < m->nts; i++) {
        const char *dest = m->ts[i].location;
        for (size_t k = 0; k < nmaps; k++)
            if (maps[k].oid == m->ts[i].oid)
                dest = maps[k].dir;
        struct stat st;
        if (delta ? stat(dest, &st) == 0 && !S_ISDIR(st.st_mode) : !empty_or_absent(dest)) {
            err_set(ERR_USAGE, "tablespace %u goes to %s, which is not %s", m->ts[i].oid, dest,
                    delta ? "a folder" : "empty");
            err_hint("restore it elsewhere with --tablespace-map %u=DIR (pg_basebackup's --tablespace-mapping)",
                     m->ts[i].oid);
            return ERR_USAGE;
        }
        p->oid[p->n] = m->ts[i].oid;
        snprintf(p->dest[p->n], sizeof p->dest[0], "%s", dest);
        snprintf(p->exclude[p->n], sizeof p->exclude[0], "/pg_tblspc/%u", m->ts[i].oid);
        p->excludes[p->n] = p->exclude[p->n];
        p->n++;
    }
    return 0;
}

/* dir/pg_tblspc/<oid> -> dest, replacing what a --delta restore found there. */
static int link_tablespace(const char *dir, uint32_t oid, const char *dest, const struct stat *owner)
{
    char ln[PATH_MAX];
    snprintf(ln, sizeof ln, "%s/pg_tblspc/%u", dir, oid);
    struct stat st;
    if (lstat(ln, &st) == 0 && (S_ISDIR(st.st_mode) ? fs_remove_tree(ln) : unlink(ln) != 0 ? -1 : 0) != 0)
        return err_sys(ERR_LOCAL, "replace %s", ln);
    if (symlink(dest, ln) != 0)
        return err_sys(ERR_LOCAL, "create the tablespace link %s", ln);
    if (geteuid() == 0 && lchown(ln, owner->st_uid, owner->st_gid) != 0)
        return err_sys(ERR_LOCAL, "set owner of %s", ln);
    return 0;
}

int pgtblspc_restore(repo *r, const snapshot *s, const pgtblspc_plan *p, const char *dir, int delta, int progress,
                     files_restore_stats *st)
{
    char ver[PATH_MAX];
    struct stat owner;
    snprintf(ver, sizeof ver, "%s/PG_VERSION", dir);
    if (p->n && stat(ver, &owner) != 0)
        return err_sys(ERR_LOCAL, "%s is not a PostgreSQL data folder after the restore", dir);
    for (int i = 0; i < p->n; i++) {
        char sub[48];
        files_restore_stats ts;
        snprintf(sub, sizeof sub, "/pg_tblspc/%u", p->oid[i]);
        files_restore_opts fo = {.target = p->dest[i], .subpath = sub, .delta = delta, .progress = progress};
        int rc = files_restore(r, s, &fo, &ts);
        st->files += ts.files;
        st->bytes += ts.bytes;
        st->unchanged += ts.unchanged;
        st->removed += ts.removed;
        if (rc)
            return err_wrap("tablespace %u into %s", p->oid[i], p->dest[i]);
        /* the server's user must own it, 0700, as CREATE TABLESPACE leaves it */
        if (chmod(p->dest[i], 0700) != 0 || (geteuid() == 0 && chown(p->dest[i], owner.st_uid, owner.st_gid) != 0))
            return err_sys(ERR_LOCAL, "set owner and mode of %s", p->dest[i]);
        if ((rc = link_tablespace(dir, p->oid[i], p->dest[i], &owner)))
            return rc;
        LOG_INFO("tablespace %u restored to %s", p->oid[i], p->dest[i]);
    }
    return 0;
}
