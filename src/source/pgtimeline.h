/* pgtimeline — PostgreSQL timelines in a source's WAL archive: the .history files
 * (which timeline branched from which, and where), the path recovery follows from a
 * backup's timeline to a chosen one, and which timeline's copy of each segment that
 * path reads. */
#ifndef LL_PGTIMELINE_H
#define LL_PGTIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "../repo/repo.h"
#include "wal.h"

#define PGTL_MAX 64 /* timelines on one path; PostgreSQL has no limit, real histories are short */

typedef struct pgtl_step {
    uint32_t tli;
    uint64_t begin; /* the switch point where this timeline starts (0 for the first) */
} pgtl_step;

typedef struct pgtl_path {
    pgtl_step s[PGTL_MAX];
    size_t n;
} pgtl_path;

/* Parses the text of <tli>.history into the path that ends on tli. ERR_DAMAGED on bad
 * text (lines "parent<TAB>X/Y<TAB>reason", blank lines and # comments allowed). */
int pgtl_parse_history(const char *text, size_t len, uint32_t tli, pgtl_path *out) WUR;
/* Loads and parses the history of tli from the archive; ERR_NOTFOUND when absent. */
int pgtl_load(repo *r, const char *source, uint32_t tli, pgtl_path *out) WUR;
/* Does path p pass through timeline tli and stay on it at least up to lsn? */
int pgtl_contains(const pgtl_path *p, uint32_t tli, uint64_t lsn);
/* The timeline whose copy of segment segno recovery reads on path p. */
uint32_t pgtl_seg_tli(const pgtl_path *p, uint64_t segno, uint64_t segsize);
/* The highest segment archived on the path (0 and *none when there is none). */
uint64_t pgtl_last_seg(const pgtl_path *p, const wal_archive *a, uint64_t segsize, int *none);
/* The first segment in [from, to] missing on the path, or UINT64_MAX. */
uint64_t pgtl_first_gap(const pgtl_path *p, const wal_archive *a, uint64_t segsize, uint64_t from, uint64_t to);
/* Did timeline tli go on after switch point sw (archived WAL written after it)? A
 * timeline that went on was not left by a failover: a branch from it is foreign. */
int pgtl_went_on(const wal_archive *a, uint32_t tli, uint64_t sw, uint64_t segsize);

#endif
