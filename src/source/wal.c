/* wal — see wal.h. */
#include "wal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../core/fsutil.h"

static int hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || islower((unsigned char)s[i]))
            return 0;
    return 1;
}

int wal_name_valid(const char *name)
{
    size_t l = strlen(name);
    if (l == 24)
        return hex_run(name, 24);
    if (l == 32 && !strcmp(name + 24, ".partial"))
        return hex_run(name, 24);
    if (l == 16 && !strcmp(name + 8, ".history"))
        return hex_run(name, 8);
    if (l == 40 && name[24] == '.' && !strcmp(name + 33, ".backup"))
        return hex_run(name, 24) && hex_run(name + 25, 8);
    return 0;
}

int wal_source_valid(const char *source)
{
    size_t l = strlen(source);
    if (l < 1 || l > 64 || source[0] == '.')
        return 0;
    for (size_t i = 0; i < l; i++)
        if (!isalnum((unsigned char)source[i]) && !strchr("._-", source[i]))
            return 0;
    return 1;
}

static int object_name(const char *source, const char *name, char *out, size_t cap)
{
    if (!wal_source_valid(source))
        return err_set(ERR_USAGE, "'%s' is not a valid source name", source);
    if (!wal_name_valid(name))
        return err_set(ERR_USAGE, "'%s' is not a WAL file name (segment, .partial, .history or .backup)", name);
    snprintf(out, cap, "wal/%s/%s", source, name);
    return 0;
}

int wal_push(repo *r, const char *source, const char *path, int *already)
{
    char oname[PATH_MAX];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    buf data, old;
    buf_init(&data, 0);
    buf_init(&old, 0);
    *already = 0;
    int rc = object_name(source, base, oname, sizeof oname);
    if (!rc && (rc = fs_read_file(path, &data, WAL_MAX_FILE)))
        err_wrap("wal-push");
    for (int attempt = 0; !rc && attempt < 2; attempt++) {
        /* compare first: a repeated push of the same file must succeed */
        int lrc = repo_named_load(r, OBJ_WAL, oname, &old);
        if (lrc == 0) {
            if (old.len == data.len && !memcmp(old.data, data.data, data.len))
                *already = 1;
            else
                rc = err_set(ERR_FATAL, "%s is already archived for source %s with different content", base, source);
            break;
        }
        if (lrc != ERR_NOTFOUND) {
            rc = lrc;
            break;
        }
        err_clear();
        rc = repo_named_save(r, OBJ_WAL, oname, data.data, data.len, 1);
        if (rc && errno == EEXIST) { /* pushed concurrently: compare with that one */
            err_clear();
            rc = 0;
            continue;
        }
        break;
    }
    buf_free(&data);
    buf_free(&old);
    return rc;
}

int wal_fetch(repo *r, const char *source, const char *name, const char *dest)
{
    char oname[PATH_MAX];
    buf data;
    buf_init(&data, 0);
    int rc = object_name(source, name, oname, sizeof oname);
    if (!rc)
        rc = repo_named_load(r, OBJ_WAL, oname, &data);
    if (!rc)
        rc = fs_write_durable(dest, data.data, data.len, 0600, 0);
    buf_free(&data);
    return rc;
}

/* ---- LSNs, segment names and the archive as a whole ------------------------- */

int wal_lsn_parse(const char *s, uint64_t *lsn)
{
    unsigned hi, lo;
    int used = 0;
    if (sscanf(s, "%8X/%8X%n", &hi, &lo, &used) != 2 || s[used] || !isxdigit((unsigned char)s[0]))
        return err_set(ERR_USAGE, "bad LSN '%s': expected the form 16/B374D848", s);
    *lsn = (uint64_t)hi << 32 | lo;
    return 0;
}

void wal_lsn_format(uint64_t lsn, char out[32])
{
    snprintf(out, 32, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xFFFFFFFFu));
}

int wal_segsize_valid(uint64_t segsize)
{
    return segsize >= (1u << 20) && segsize <= (1u << 30) && !(segsize & (segsize - 1));
}

void wal_seg_name(uint32_t tli, uint64_t segno, uint64_t segsize, char out[25])
{
    uint64_t per = 0x100000000ull / segsize;
    snprintf(out, 25, "%08X%08X%08X", tli, (unsigned)(segno / per), (unsigned)(segno % per));
}

int wal_seg_parse(const char *name, uint64_t segsize, uint32_t *tli, uint64_t *segno)
{
    unsigned t, log, seg;
    uint64_t per = 0x100000000ull / segsize;
    if (strlen(name) != 24 || !hex_run(name, 24) || sscanf(name, "%8X%8X%8X", &t, &log, &seg) != 3 || seg >= per)
        return err_set(ERR_USAGE, "'%s' is not a WAL segment name", name);
    *tli = t;
    *segno = (uint64_t)log * per + seg;
    return 0;
}

typedef struct list_ctx {
    repo *r;
    wal_archive *a;
    uint64_t segsize;
    int want_mtime;
} list_ctx;

static int list_one(const char *name, uint64_t size, void *vctx)
{
    (void)size;
    list_ctx *c = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    uint32_t tli;
    uint64_t segno;
    if (!wal_name_valid(base))
        return 0; /* not ours */
    if (wal_seg_parse(base, c->segsize, &tli, &segno)) {
        err_clear();
        c->a->others++;
        return 0;
    }
    int rc = array_grow(&c->a->segs, &c->a->cap, c->a->n + 1, sizeof *c->a->segs, 256);
    if (rc)
        return rc;
    wal_seg *s = &c->a->segs[c->a->n++];
    s->tli = tli;
    s->segno = segno;
    s->mtime = 0;
    if (c->want_mtime && (rc = store_mtime(repo_store(c->r), name, &s->mtime)))
        return rc;
    return 0;
}

static int cmp_seg(const void *x, const void *y)
{
    const wal_seg *a = x, *b = y;
    if (a->segno != b->segno)
        return a->segno < b->segno ? -1 : 1;
    return a->tli < b->tli ? -1 : a->tli > b->tli;
}

static int archive_dir(const char *source, uint64_t segsize, char *dir, size_t cap)
{
    if (!wal_source_valid(source))
        return err_set(ERR_USAGE, "'%s' is not a valid source name", source);
    if (!wal_segsize_valid(segsize))
        return err_set(ERR_DAMAGED, "invalid WAL segment size %llu", (unsigned long long)segsize);
    snprintf(dir, cap, "wal/%s", source);
    return 0;
}

int wal_archive_load(repo *r, const char *source, uint64_t segsize, int want_mtime, wal_archive *a)
{
    char dir[PATH_MAX];
    memset(a, 0, sizeof *a);
    list_ctx c = {r, a, segsize, want_mtime};
    int rc = archive_dir(source, segsize, dir, sizeof dir);
    if (!rc)
        rc = store_list(repo_store(r), dir, list_one, &c);
    if (rc) {
        wal_archive_free(a);
        return rc;
    }
    if (a->n > 1)
        qsort(a->segs, a->n, sizeof *a->segs, cmp_seg);
    return 0;
}

void wal_archive_free(wal_archive *a)
{
    free(a->segs);
    memset(a, 0, sizeof *a);
}

/* Index of the first segment with number >= segno. */
static size_t lower_bound(const wal_archive *a, uint64_t segno)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->segs[mid].segno < segno)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int wal_archive_has(const wal_archive *a, uint32_t min_tli, uint64_t segno)
{
    for (size_t i = lower_bound(a, segno); i < a->n && a->segs[i].segno == segno; i++)
        if (a->segs[i].tli >= min_tli)
            return 1;
    return 0;
}

uint64_t wal_archive_first_gap(const wal_archive *a, uint32_t min_tli, uint64_t from, uint64_t to)
{
    size_t i = lower_bound(a, from);
    for (uint64_t s = from; s <= to; s++) {
        int found = 0;
        for (; i < a->n && a->segs[i].segno == s; i++)
            found |= a->segs[i].tli >= min_tli;
        if (!found)
            return s;
    }
    return UINT64_MAX;
}

uint64_t wal_archive_last(const wal_archive *a, uint32_t min_tli)
{
    for (size_t i = a->n; i-- > 0;)
        if (a->segs[i].tli >= min_tli)
            return a->segs[i].segno;
    return 0;
}

typedef struct forget_ctx {
    repo *r;
    uint64_t segsize, before, removed;
    int dry_run;
} forget_ctx;

static int forget_one(const char *name, uint64_t size, void *vctx)
{
    (void)size;
    forget_ctx *c = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    char seg[25];
    uint32_t tli;
    uint64_t segno;
    if (!wal_name_valid(base) || strlen(base) < 24 || !strcmp(base + 8, ".history"))
        return 0;
    snprintf(seg, sizeof seg, "%.24s", base); /* .partial and .backup files: their segment */
    if (wal_seg_parse(seg, c->segsize, &tli, &segno)) {
        err_clear();
        return 0;
    }
    if (segno >= c->before)
        return 0;
    c->removed++;
    return c->dry_run ? 0 : store_remove(repo_store(c->r), name);
}

int wal_archive_forget(repo *r, const char *source, uint64_t segsize, uint64_t segno, int dry_run, uint64_t *removed)
{
    char dir[PATH_MAX];
    forget_ctx c = {r, segsize, segno, 0, dry_run};
    int rc = archive_dir(source, segsize, dir, sizeof dir);
    if (!rc)
        rc = store_list(repo_store(r), dir, forget_one, &c);
    *removed = c.removed;
    return rc;
}

typedef struct verify_ctx {
    repo *r;
    wal_report_fn fn;
    void *ctx;
    uint64_t files, bytes, *errors;
    buf b;
} verify_ctx;

static int verify_one(const char *name, uint64_t size, void *vctx)
{
    verify_ctx *c = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (!wal_name_valid(base))
        return 0;
    int rc = repo_named_load(c->r, OBJ_WAL, name, &c->b);
    c->files++;
    c->bytes += size;
    if (rc == ERR_DAMAGED || rc == ERR_NOTFOUND) {
        c->fn(name, err_msg(), c->ctx);
        (*c->errors)++;
        err_clear();
        return 0;
    }
    return rc;
}

int wal_archive_verify(repo *r, wal_report_fn fn, void *ctx, uint64_t *files, uint64_t *errors)
{
    verify_ctx c = {.r = r, .fn = fn, .ctx = ctx, .errors = errors};
    buf_init(&c.b, 0);
    int rc = store_list(repo_store(r), "wal", verify_one, &c);
    buf_free(&c.b);
    *files = c.files;
    return rc;
}
