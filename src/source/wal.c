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

/* ---- what a segment says about itself ------------------------------------------ */

#define XLP_LONG_HEADER 0x0002 /* PostgreSQL's xlp_info bit: this page has the long header */

static uint64_t get_le(const uint8_t *p, int n, int swap)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[swap ? n - 1 - i : i] << (8 * i);
    return v;
}

/* The header fields in the server's byte order: little-endian, or big-endian
 * (swap) for a server on such a machine. */
static void header_read(const uint8_t *p, int swap, wal_header *h)
{
    h->magic = (uint16_t)get_le(p, 2, swap);
    h->info = (uint16_t)get_le(p + 2, 2, swap);
    h->tli = (uint32_t)get_le(p + 4, 4, swap);
    h->pageaddr = get_le(p + 8, 8, swap);
    /* xlp_rem_len and padding up to 24: the short header ends there */
    h->sysid = get_le(p + 24, 8, swap);
    h->seg_size = (uint32_t)get_le(p + 32, 4, swap);
    h->blcksz = (uint32_t)get_le(p + 36, 4, swap);
}

int wal_header_check(const char *name, const uint8_t *p, size_t len, wal_header *h, const char **why)
{
    char seg[25];
    uint32_t tli;
    uint64_t segno;
    memset(h, 0, sizeof *h);
    if (len < WAL_HEADER_SIZE) {
        *why = "it is shorter than a WAL page header";
        return -1;
    }
    /* the magic changes with every major version: its high byte has been 0xD0 or
     * 0xD1 since 9.x, and the layout of the long header has not changed */
    header_read(p, 0, h);
    if ((h->magic & 0xFE00) != 0xD000)
        header_read(p, 1, h);
    if ((h->magic & 0xFE00) != 0xD000 || !(h->info & XLP_LONG_HEADER)) {
        *why = "its first page has no WAL long header";
        return -1;
    }
    if (h->seg_size != len || !wal_segsize_valid(h->seg_size)) {
        *why = "the segment size in its header is not its length";
        return -1;
    }
    if (h->blcksz < 1024 || h->blcksz > 65536 || (h->blcksz & (h->blcksz - 1)) || h->sysid == 0) {
        *why = "its header has an impossible block size or system identifier";
        return -1;
    }
    snprintf(seg, sizeof seg, "%.24s", name);
    if (wal_seg_parse(seg, h->seg_size, &tli, &segno) || h->pageaddr != segno * h->seg_size) {
        err_clear();
        *why = "it holds another segment than its name says";
        return -1;
    }
    return 0;
}

/* ---- the system an archive belongs to -------------------------------------------- */

static int system_object(const char *source, char *out, size_t cap)
{
    if (!wal_source_valid(source))
        return err_set(ERR_USAGE, "'%s' is not a valid source name", source);
    snprintf(out, cap, "wal/%s/system-id", source);
    return 0;
}

int wal_system_load(repo *r, const char *source, uint64_t *sysid)
{
    char oname[PATH_MAX], text[32];
    buf b;
    buf_init(&b, 64);
    int rc = system_object(source, oname, sizeof oname);
    if (!rc)
        rc = repo_named_load(r, OBJ_WAL, oname, &b);
    if (!rc) {
        char *end;
        snprintf(text, sizeof text, "%.*s", (int)(b.len < 31 ? b.len : 31), (const char *)b.data);
        errno = 0;
        *sysid = strtoull(text, &end, 10);
        if (errno || end == text || *end || !b.len || b.len > 20)
            rc = err_set(ERR_DAMAGED, "%s does not hold a system identifier", oname);
    }
    if (rc == ERR_DAMAGED) /* archiving stops on it: say how to go on */
        err_hint("remove %s from the repository: the next segment archived sets it again (and check --read-data "
                 "says whether the archive holds one system)", oname);
    buf_free(&b);
    return rc;
}

int wal_system_claim(repo *r, const char *source, uint64_t sysid, const char *what)
{
    char oname[PATH_MAX], text[32];
    uint64_t have = 0;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = wal_system_load(r, source, &have);
        if (rc != ERR_NOTFOUND)
            break;
        err_clear();
        if ((rc = system_object(source, oname, sizeof oname)))
            return rc;
        int n = snprintf(text, sizeof text, "%llu", (unsigned long long)sysid);
        rc = repo_named_save(r, OBJ_WAL, oname, text, (size_t)n, 1);
        if (!rc)
            return 0;
        if (errno != EEXIST) /* else set concurrently: compare with that one */
            return rc;
        err_clear();
    }
    if (!rc && have != sysid) {
        err_set(ERR_SOURCE, "%s is from PostgreSQL system %llu, but the WAL archive of source %s belongs to system %llu",
                what, (unsigned long long)sysid, source, (unsigned long long)have);
        err_hint("every cluster needs its own source name (a re-initialised or pg_upgrade'd cluster is another "
                 "system): give this server's archive_command another --source");
        return ERR_SOURCE;
    }
    return rc;
}

typedef struct find_ctx {
    repo *r;
    uint64_t sysid;
    char *out;
    size_t cap;
    int found;
    char others[160]; /* the names of further matches, for the message */
} find_ctx;

static int find_one(const char *name, uint64_t size, void *vctx)
{
    (void)size;
    find_ctx *c = vctx;
    char source[80];
    uint64_t have;
    /* wal/<source>/system-id */
    if (sscanf(name, "wal/%79[^/]/system-id", source) != 1 || strcmp(name + 4 + strlen(source), "/system-id"))
        return 0;
    if (wal_system_load(c->r, source, &have)) {
        err_clear(); /* a damaged marker is check's to report: this one is not a match */
        return 0;
    }
    if (have == c->sysid && !c->found++)
        snprintf(c->out, c->cap, "%s", source);
    else if (have == c->sysid)
        snprintf(c->others + strlen(c->others), sizeof c->others - strlen(c->others), ", %s", source);
    return 0;
}

int wal_system_find(repo *r, uint64_t sysid, char *source, size_t cap)
{
    find_ctx c = {r, sysid, source, cap, 0, ""};
    int rc = store_list(repo_store(r), "wal", find_one, &c);
    if (!rc && !c.found)
        rc = err_set(ERR_NOTFOUND, "no WAL archive in the repository belongs to PostgreSQL system %llu",
                     (unsigned long long)sysid);
    if (!rc && c.found > 1) /* e.g. a restored copy that archived elsewhere: its history may differ */
        rc = err_set(ERR_CONFIG, "the WAL archives of sources %s%s all belong to PostgreSQL system %llu", source,
                     c.others, (unsigned long long)sysid);
    return rc;
}

/* A segment or .partial file must be what its name says, from the archive's system. */
static int push_check(repo *r, const char *source, const char *base, const buf *data)
{
    size_t l = strlen(base);
    if (l != 24 && !(l == 32 && !strcmp(base + 24, ".partial")))
        return 0; /* .history and .backup files are text without a system identifier */
    wal_header h;
    const char *why;
    char what[64];
    if (wal_header_check(base, data->data, data->len, &h, &why)) {
        err_set(ERR_USAGE, "%s is not the PostgreSQL WAL segment its name says: %s", base, why);
        err_hint("archive_command must pass %%p, the segment PostgreSQL asks to archive, unchanged");
        return ERR_USAGE;
    }
    snprintf(what, sizeof what, "WAL segment %s", base);
    return wal_system_claim(r, source, h.sysid, what);
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
    if (!rc)
        rc = push_check(r, source, base, &data);
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
    uint64_t segsize, before;
    int dry_run;
    wal_forget_stats *st;
} forget_ctx;

static int forget_one(const char *name, uint64_t size, void *vctx)
{
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
    wal_forget_stats *st = c->st;
    if (!st->files || segno < st->first) {
        st->first = segno;
        memcpy(st->first_name, seg, sizeof seg);
    }
    if (!st->files || segno > st->last) {
        st->last = segno;
        memcpy(st->last_name, seg, sizeof seg);
    }
    st->files++;
    st->bytes += size;
    return c->dry_run ? 0 : store_remove(repo_store(c->r), name);
}

int wal_archive_forget(repo *r, const char *source, uint64_t segsize, uint64_t segno, int dry_run,
                       wal_forget_stats *st)
{
    char dir[PATH_MAX];
    memset(st, 0, sizeof *st);
    forget_ctx c = {r, segsize, segno, dry_run, st};
    int rc = archive_dir(source, segsize, dir, sizeof dir);
    if (!rc)
        rc = store_list(repo_store(r), dir, forget_one, &c);
    return rc;
}

/* The system each archive holds, as check --read-data learns it. */
typedef struct verify_system {
    char source[65];
    uint64_t sysid;
    int from_marker; /* else: the first segment read */
} verify_system;

typedef struct verify_ctx {
    repo *r;
    wal_report_fn fn;
    void *ctx;
    uint64_t files, bytes, *errors;
    buf b;
    verify_system sys[64];
    size_t nsys;
} verify_ctx;

static verify_system *system_of(verify_ctx *c, const char *source)
{
    for (size_t i = 0; i < c->nsys; i++)
        if (!strcmp(c->sys[i].source, source))
            return &c->sys[i];
    if (c->nsys == sizeof c->sys / sizeof *c->sys)
        return NULL; /* more archives than we track: the rest are not compared */
    verify_system *v = &c->sys[c->nsys++];
    snprintf(v->source, sizeof v->source, "%s", source);
    v->sysid = 0;
    if (!wal_system_load(c->r, source, &v->sysid))
        v->from_marker = 1;
    err_clear(); /* none yet (an older archive), or damaged: that one is reported when listed */
    return v;
}

static void report(verify_ctx *c, const char *object, const char *problem)
{
    c->fn(object, problem, c->ctx);
    (*c->errors)++;
}

/* The decrypted segment in c->b against its name and its archive's system. */
static void verify_segment(verify_ctx *c, const char *name, const char *base)
{
    char source[65], msg[256];
    wal_header h;
    const char *why;
    size_t l = strlen(base);
    if (l != 24 && !(l == 32 && !strcmp(base + 24, ".partial")))
        return;
    if (wal_header_check(base, c->b.data, c->b.len, &h, &why)) {
        snprintf(msg, sizeof msg, "not the WAL segment its name says: %s", why);
        report(c, name, msg);
        return;
    }
    snprintf(source, sizeof source, "%.*s", (int)(base - name - 5), name + 4); /* wal/<source>/<base> */
    verify_system *v = system_of(c, source);
    if (!v)
        return;
    if (!v->sysid) {
        v->sysid = h.sysid;
        return;
    }
    if (h.sysid != v->sysid) {
        snprintf(msg, sizeof msg, "from PostgreSQL system %llu, but the archive of %s %s system %llu: it mixes systems",
                 (unsigned long long)h.sysid, source, v->from_marker ? "belongs to" : "began with",
                 (unsigned long long)v->sysid);
        report(c, name, msg);
    }
}

static int verify_one(const char *name, uint64_t size, void *vctx)
{
    verify_ctx *c = vctx;
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    if (!wal_name_valid(base) && strcmp(base, "system-id"))
        return 0;
    int rc = repo_named_load(c->r, OBJ_WAL, name, &c->b), marker = !wal_name_valid(base);
    c->files += !marker; /* system-id is read and authenticated, but it is not a WAL file */
    c->bytes += size;
    if (rc == ERR_DAMAGED || rc == ERR_NOTFOUND) {
        report(c, name, err_msg());
        err_clear();
        return 0;
    }
    if (!rc && !marker && base - name > 5 && !strncmp(name, "wal/", 4))
        verify_segment(c, name, base);
    return rc;
}

int wal_archive_verify(repo *r, wal_report_fn fn, void *ctx, uint64_t *files, uint64_t *errors)
{
    verify_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(ERR_FATAL, "out of memory");
    c->r = r;
    c->fn = fn;
    c->ctx = ctx;
    c->errors = errors;
    buf_init(&c->b, 0);
    int rc = store_list(repo_store(r), "wal", verify_one, c);
    buf_free(&c->b);
    *files = c->files;
    free(c);
    return rc;
}
