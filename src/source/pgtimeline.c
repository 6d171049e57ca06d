/* pgtimeline — see pgtimeline.h. */
#include "pgtimeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"

/* One history line: "1\t0/3000000\tno recovery target specified". */
static int history_line(const char *l, uint32_t *parent, uint64_t *sw)
{
    unsigned long tli;
    unsigned hi, lo;
    int used = 0;
    if (sscanf(l, "%lu %8X/%8X%n", &tli, &hi, &lo, &used) != 3 || tli < 1 || tli > UINT32_MAX)
        return -1;
    *parent = (uint32_t)tli;
    *sw = (uint64_t)hi << 32 | lo;
    return 0;
}

int pgtl_parse_history(const char *text, size_t len, uint32_t tli, pgtl_path *out)
{
    out->n = 0;
    uint64_t prev_sw = 0;
    size_t i = 0;
    while (i < len) {
        char line[256];
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        size_t l = e - i < sizeof line - 1 ? e - i : sizeof line - 1;
        memcpy(line, text + i, l);
        line[l] = '\0';
        i = e + 1;
        const char *p = line + strspn(line, " \t\r");
        if (!*p || *p == '#')
            continue;
        uint32_t parent;
        uint64_t sw;
        /* parents are listed oldest first, each older than the next and than tli */
        if (history_line(p, &parent, &sw) || out->n + 1 >= PGTL_MAX || parent >= tli ||
            (out->n && (parent <= out->s[out->n - 1].tli || sw < prev_sw)))
            return err_set(ERR_DAMAGED, "timeline history %08X.history: bad line '%.80s'", tli, p);
        out->s[out->n].tli = parent;
        out->s[out->n].begin = prev_sw;
        out->n++;
        prev_sw = sw;
    }
    out->s[out->n].tli = tli;
    out->s[out->n].begin = prev_sw;
    out->n++;
    return 0;
}

int pgtl_load(repo *r, const char *source, uint32_t tli, pgtl_path *out)
{
    char name[160];
    buf b;
    buf_init(&b, 1u << 20);
    snprintf(name, sizeof name, "wal/%s/%08X.history", source, tli);
    int rc = repo_named_load(r, OBJ_WAL, name, &b);
    if (!rc)
        rc = pgtl_parse_history((const char *)b.data, b.len, tli, out);
    buf_free(&b);
    return rc;
}

int pgtl_contains(const pgtl_path *p, uint32_t tli, uint64_t lsn)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->s[i].tli == tli)
            return i + 1 == p->n || p->s[i + 1].begin >= lsn;
    return 0;
}

uint32_t pgtl_seg_tli(const pgtl_path *p, uint64_t segno, uint64_t segsize)
{
    /* the segment holding a switch point is read from the new timeline's copy (it has
     * the old timeline's WAL up to the switch, then the new one's), as PostgreSQL does */
    for (size_t i = p->n; i-- > 1;)
        if (segno >= p->s[i].begin / segsize)
            return p->s[i].tli;
    return p->s[0].tli;
}

uint64_t pgtl_last_seg(const pgtl_path *p, const wal_archive *a, uint64_t segsize, int *none)
{
    *none = 1;
    uint64_t last = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->segs[i].tli == pgtl_seg_tli(p, a->segs[i].segno, segsize)) {
            last = a->segs[i].segno;
            *none = 0;
        }
    return last;
}

/* Is segment segno archived on exactly timeline tli? (segments sorted by number, then timeline) */
static int has_exact(const wal_archive *a, uint32_t tli, uint64_t segno)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const wal_seg *m = &a->segs[mid];
        if (m->segno < segno || (m->segno == segno && m->tli < tli))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->n && a->segs[lo].segno == segno && a->segs[lo].tli == tli;
}

uint64_t pgtl_first_gap(const pgtl_path *p, const wal_archive *a, uint64_t segsize, uint64_t from, uint64_t to)
{
    for (uint64_t s = from; s <= to; s++)
        if (!has_exact(a, pgtl_seg_tli(p, s, segsize), s))
            return s;
    return UINT64_MAX;
}

int pgtl_went_on(const wal_archive *a, uint32_t tli, uint64_t sw, uint64_t segsize)
{
    uint64_t seg = sw / segsize;
    for (size_t i = 0; i < a->n; i++)
        if (a->segs[i].tli == tli && (a->segs[i].segno > seg || (a->segs[i].segno == seg && sw % segsize == 0)))
            return 1;
    return 0;
}
