/* pgtblspc — where a base backup's tablespaces go on restore: each one's files
 * (stored as pg_tblspc/<oid>/ in the snapshot) into its original location or the
 * folder --tablespace-map names, and the pg_tblspc/<oid> symlink to it. */
#ifndef LL_PGTBLSPC_H
#define LL_PGTBLSPC_H

#include <limits.h>

#include "files.h"
#include "pg.h"

typedef struct pgtblspc_map {
    uint32_t oid;
    const char *dir;
} pgtblspc_map;

typedef struct pgtblspc_plan {
    int n;
    uint32_t oid[PG_MAX_TABLESPACES];
    char dest[PG_MAX_TABLESPACES][PATH_MAX];
    char exclude[PG_MAX_TABLESPACES][32]; /* "/pg_tblspc/<oid>", for the data folder's restore */
    char *excludes[PG_MAX_TABLESPACES];
} pgtblspc_plan;

/* "OID=DIR" (DIR absolute) */
int pgtblspc_map_parse(const char *arg, pgtblspc_map *out) WUR;
/* Where each tablespace of m goes, checked before anything is written: every map
 * names a tablespace of the backup, and every destination is empty or absent (with
 * delta: a folder, rewritten like the data folder). */
int pgtblspc_plan_make(const pg_meta *m, const pgtblspc_map *maps, size_t nmaps, int delta, pgtblspc_plan *p) WUR;
/* After the data folder is restored into dir (without pg_tblspc/<oid>): each
 * tablespace into its destination, owned like dir's PG_VERSION, and the symlink. */
int pgtblspc_restore(repo *r, const snapshot *s, const pgtblspc_plan *p, const char *dir, int delta, int progress,
                     files_restore_stats *st) WUR;

#endif
