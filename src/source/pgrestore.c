/* pgrestore — see pgrestore.h. */
#define _GNU_SOURCE
#include "pgrestore.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/text.h"
#include "pgtimeline.h"
#include "pgwalscan.h"
#include "wal.h"

/* ---- --time ------------------------------------------------------------------------- */

/* n to m digits at *p. */
static int digits(const char **p, int n, int m, int *out)
{
    int v = 0, k = 0;
    while (k < m && isdigit((unsigned char)(*p)[k]))
        v = v * 10 + ((*p)[k++] - '0');
    if (k < n)
        return -1;
    *p += k;
    *out = v;
    return 0;
}

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && ((y % 4 == 0 && y % 100) || y % 400 == 0) ? 29 : d[m - 1];
}

/* "+01", "+0100", "+01:00", "-05:30": seconds east of UTC. */
static int zone_offset(const char *z, int64_t *off)
{
    int sign = *z == '-' ? -1 : 1, hh, mm = 0;
    const char *p = z + 1;
    if (digits(&p, 1, 2, &hh))
        return -1;
    if (*p == ':')
        p++;
    if (*p && digits(&p, 2, 2, &mm))
        return -1;
    if (*p || hh > 15 || mm > 59)
        return -1;
    *off = sign * (hh * 3600 + mm * 60);
    return 0;
}

/* A zone name from the tz database: must name a file under /usr/share/zoneinfo (glibc
 * would take an unknown name as UTC without a word). */
static int zone_known(const char *z)
{
    char p[PATH_MAX];
    struct stat st;
    if (!*z || strstr(z, "..") || z[0] == '/' || strspn(z, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                          "0123456789/_+-") != strlen(z))
        return 0;
    snprintf(p, sizeof p, "/usr/share/zoneinfo/%s", z);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The wall-clock time tm read in zone (NULL: this host's zone), as mktime reads it. */
static int64_t in_zone(struct tm *tm, const char *zone)
{
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    if (zone)
        setenv("TZ", zone, 1);
    tzset();
    tm->tm_isdst = -1;
    int64_t t = (int64_t)mktime(tm);
    if (zone) {
        if (old)
            setenv("TZ", old, 1);
        else
            unsetenv("TZ");
        tzset();
    }
    free(old);
    return t;
}

int pgrestore_parse_time(const char *s, int64_t *sec, long *nsec, char *zone_used, size_t cap)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, se = 0;
    const char *p = s;
    double frac = 0;
    char zbuf[64] = "";
    if (digits(&p, 4, 4, &y) || *p++ != '-' || digits(&p, 1, 2, &mo) || *p++ != '-' || digits(&p, 1, 2, &d))
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo))
        return err_set(ERR_USAGE, "bad time '%s': %04d-%02d-%02d is not a date", s, y, mo, d);
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (digits(&p, 1, 2, &h) || *p++ != ':' || digits(&p, 2, 2, &mi))
            goto bad;
        if (*p == ':' && (p++, digits(&p, 2, 2, &se)))
            goto bad;
        if (*p == '.' && isdigit((unsigned char)p[1])) {
            char f[40] = "0";
            size_t l = strspn(p + 1, "0123456789");
            snprintf(f + 1, sizeof f - 1, "%.*s", (int)(l < 30 ? l + 1 : 31), p);
            frac = strtod(f, NULL);
            p += 1 + l;
        }
        if (h > 23 || mi > 59 || se > 59)
            return err_set(ERR_USAGE, "bad time '%s': %02d:%02d:%02d is not a time of day", s, h, mi, se);
    }
    while (*p == ' ')
        p++;
    /* PostgreSQL keeps microseconds, rounding as rint() does (half to even) */
    long us = (long)rint(frac * 1000000.0);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    int64_t off = 0, t;
    if (!*p) {
        t = in_zone(&tm, NULL);
        snprintf(zbuf, sizeof zbuf, "this host's zone (%s%s)", getenv("TZ") ? "TZ=" : "", getenv("TZ") ? getenv("TZ")
                                                                                                      : "/etc/localtime");
    } else if (!strcasecmp(p, "Z") || !strcasecmp(p, "UTC") || !strcasecmp(p, "GMT")) {
        t = (int64_t)timegm(&tm);
        snprintf(zbuf, sizeof zbuf, "UTC");
    } else if ((*p == '+' || *p == '-') && !zone_offset(p, &off)) {
        t = (int64_t)timegm(&tm) - off;
        snprintf(zbuf, sizeof zbuf, "UTC%c%02d:%02d", off < 0 ? '-' : '+', (int)(llabs(off) / 3600),
                 (int)(llabs(off) % 3600 / 60));
    } else if (zone_known(p)) {
        t = in_zone(&tm, p);
        snprintf(zbuf, sizeof zbuf, "%s", p);
    } else {
        return err_set(ERR_USAGE, "bad time '%s': unknown time zone '%s' (use Z, +hh[:mm] or a name like Europe/Paris)",
                       s, p);
    }
    if (us >= 1000000) {
        t++;
        us -= 1000000;
    }
    *sec = t;
    *nsec = us * 1000;
    if (zone_used)
        snprintf(zone_used, cap, "%s", zbuf);
    return 0;
bad:
    return err_set(ERR_USAGE, "bad time '%s': expected YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][zone], e.g. "
                              "2026-12-01 13:22:31.036629+00",
                   s);
}

void pgrestore_time_text(int64_t sec, long nsec, char *out, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, nsec / 1000);
}

/* ---- the timeline recovery follows ---------------------------------------------------- */

#define PGR_MAX_CAND 256 /* timelines probed after the backup's */

static void seg_name(uint32_t tli, uint64_t segno, const pg_meta *m, char out[25])
{
    wal_seg_name(tli, segno, m->segsize, out);
}

/* The timelines after the backup's, as PostgreSQL finds them: base+1, base+2, ...
 * until one has no history file. */
static int load_candidates(repo *r, const char *source, uint32_t base, pgtl_path *cand, size_t *n)
{
    *n = 0;
    for (uint32_t tli = base + 1; *n < PGR_MAX_CAND && tli > base; tli++) {
        int rc = pgtl_load(r, source, tli, &cand[*n]);
        if (rc == ERR_NOTFOUND) {
            err_clear();
            break;
        }
        if (rc)
            return rc;
        (*n)++;
    }
    return 0;
}

/* Is c one step past path p (its parents are exactly p's timelines)? */
static int child_of(const pgtl_path *c, const pgtl_path *p)
{
    if (c->n != p->n + 1)
        return 0;
    for (size_t i = 0; i < p->n; i++)
        if (c->s[i].tli != p->s[i].tli || (i && c->s[i].begin != p->s[i].begin))
            return 0;
    return 1;
}

/* The production history: from the backup's timeline, follow a branch only when the
 * timeline it left went no further (a failover); a branch off a timeline that went on
 * (a restored copy that archived into this source) is reported and not followed. */
static void follow_auto(const pgtl_path *cand, size_t nc, const pg_meta *m, const wal_archive *a, pgtl_path *p)
{
    for (;;) {
        size_t best = SIZE_MAX;
        uint32_t cur = p->s[p->n - 1].tli;
        for (size_t k = 0; k < nc; k++) {
            uint64_t sw = cand[k].s[cand[k].n - 1].begin;
            if (!child_of(&cand[k], p) || sw < m->stop_lsn)
                continue;
            if (pgtl_went_on(a, cur, sw, m->segsize)) {
                char at[32];
                wal_lsn_format(sw, at);
                LOG_WARN("timeline %u branched from timeline %u at %s, but timeline %u went on after that (a restored "
                         "copy archiving into source %s?): not followed; --target-timeline %u follows it",
                         cand[k].s[cand[k].n - 1].tli, cur, at, cur, m->source, cand[k].s[cand[k].n - 1].tli);
                continue;
            }
            if (best == SIZE_MAX || cand[k].s[cand[k].n - 1].tli > cand[best].s[cand[best].n - 1].tli)
                best = k;
        }
        if (best == SIZE_MAX)
            return;
        *p = cand[best];
    }
}

static int choose_path(repo *r, const pgrestore_opts *o, const pg_meta *m, const wal_archive *a, pgtl_path *p)
{
    uint32_t base = m->tli;
    p->n = 1;
    p->s[0].tli = base;
    p->s[0].begin = 0;
    if (o->tl_kind == PGR_TL_CURRENT || (o->tl_kind == PGR_TL_NUMBER && o->tl == base))
        return 0;
    if (o->tl_kind == PGR_TL_NUMBER) {
        if (o->tl < base)
            return err_set(ERR_NOTFOUND, "timeline %u is older than the chosen backup's timeline %u", o->tl, base);
        int rc = pgtl_load(r, m->wal_source, o->tl, p);
        if (rc == ERR_NOTFOUND) {
            err_clear();
            return err_set(ERR_NOTFOUND, "timeline %u has no history file in the WAL archive of %s", o->tl, m->wal_source);
        }
        if (!rc && !pgtl_contains(p, base, m->stop_lsn))
            rc = err_set(ERR_NOTFOUND, "timeline %u does not branch from timeline %u after the chosen backup ends",
                         o->tl, base);
        return rc;
    }
    pgtl_path *cand = malloc(PGR_MAX_CAND * sizeof *cand);
    size_t nc = 0;
    if (!cand)
        return err_set(ERR_FATAL, "out of memory");
    int rc = load_candidates(r, m->wal_source, base, cand, &nc);
    if (!rc && o->tl_kind == PGR_TL_LATEST && nc) {
        *p = cand[nc - 1];
        if (!pgtl_contains(p, base, m->stop_lsn)) {
            err_set(ERR_NOTFOUND, "the newest timeline in the WAL archive of %s, %u, does not branch from timeline %u "
                                  "after the chosen backup ends", m->wal_source, p->s[p->n - 1].tli, base);
            err_hint("--target-timeline current stays on the backup's timeline");
            rc = ERR_NOTFOUND;
        }
    } else if (!rc && o->tl_kind == PGR_TL_AUTO) {
        follow_auto(cand, nc, m, a, p);
    }
    free(cand);
    return rc;
}

/* ---- the plan ---------------------------------------------------------------------- */

/* Can backup m reach t at all? (the exact answer for xid, name and time needs the WAL) */
static int may_reach(const pg_meta *m, const pg_target *t)
{
    if (t->kind == PG_TARGET_TIME)
        /* recovery cannot stop before the backup is consistent (stop_time is taken after that point) */
        return m->stop_time < (double)t->time + (double)t->time_ns / 1e9;
    if (t->kind == PG_TARGET_LSN)
        return m->stop_lsn <= t->lsn;
    return 1;
}

static void target_words(const pg_target *t, char *out, size_t cap)
{
    char v[64];
    if (t->kind == PG_TARGET_TIME) {
        pgrestore_time_text(t->time, t->time_ns, v, sizeof v);
        snprintf(out, cap, "time %s", v);
    } else if (t->kind == PG_TARGET_XID) {
        snprintf(out, cap, "transaction %s", t->text);
    } else {
        snprintf(out, cap, "restore point '%s'", t->text);
    }
}

/* State kept across backups, newest to oldest. */
typedef struct plan_ctx {
    repo *r;
    const pgrestore_opts *o;
    char waldump[PATH_MAX];
    int waldump_state;  /* 0 not looked for, 1 found, -1 not there */
    uint64_t scan_hi;   /* xid/name: not found from here on (UINT64_MAX: nothing scanned) */
} plan_ctx;

static int missing_error(const pg_meta *m, const pgtl_path *p, uint64_t segno, const char *why)
{
    char name[25];
    seg_name(pgtl_seg_tli(p, segno, m->segsize), segno, m, name);
    err_set(ERR_NOTFOUND, "WAL segment %s of %s is missing from the archive: %s", name, m->source, why);
    err_hint("run `lifeline check` for every gap; a target before the gap (--time, --lsn) can still be reached");
    return ERR_NOTFOUND;
}

/* Finds the target's record for backup m. *older: it lies before m (try an older
 * backup); *end: the last segment replay needs. */
static int locate(plan_ctx *c, const pg_meta *m, const pgtl_path *p, const wal_archive *a, uint64_t last,
                  uint64_t *end, uint64_t *at, int *older)
{
    const pg_target *t = &c->o->t;
    char what[300];
    target_words(t, what, sizeof what);
    *older = 0;
    if (c->waldump_state == 0)
        c->waldump_state = pgws_waldump_path(c->o->bin_dir, m->server_version / 10000, c->waldump, sizeof c->waldump)
                               ? -1 : 1;
    if (c->waldump_state < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", err_msg());
        err_clear();
        if (t->kind == PG_TARGET_TIME || c->o->force != SIZE_MAX) {
            LOG_WARN("%s: which WAL the %s needs cannot be checked before replay; checking all of it", msg, what);
            *end = last;
            return 0;
        }
        err_set(ERR_NOTFOUND, "cannot tell which backup of %s reaches %s before replay: %s", m->source, what, msg);
        err_hint("install PostgreSQL's pg_waldump (or set bin-dir in the source), or choose the backup with "
                 "--snapshot ID: the newest that ended before the target");
        return ERR_NOTFOUND;
    }
    uint64_t from = m->start_lsn / m->segsize, to = c->scan_hi < last ? c->scan_hi : last;
    pgws_result res;
    if (from <= to)
        LOG_INFO("looking for the %s in %llu archived WAL segment(s) of %s", what, (unsigned long long)(to - from + 1),
                 m->source);
    int rc = pgws_find(c->r, m->wal_source, p, a, m->segsize, c->waldump, from, to, m->start_lsn, t, &res);
    if (rc)
        return rc;
    if (res.found && res.lsn < m->stop_lsn) { /* inside this backup: recovery would stop before it is consistent */
        *older = 1;
        c->scan_hi = (res.end_lsn - 1) / m->segsize;
        return 0;
    }
    if (res.found) {
        *at = res.lsn;
        *end = (res.end_lsn - 1) / m->segsize;
        if (*end > last)
            *end = last;
        return 0;
    }
    if (res.missing != UINT64_MAX)
        return missing_error(m, p, res.missing, "the search for the target cannot go past it");
    if (t->kind == PG_TARGET_TIME) {
        err_set(ERR_NOTFOUND, "no transaction ended after %s in the archived WAL of %s: recovery would not know it "
                              "reached the target", what, m->source);
        err_hint("PostgreSQL stops at the first commit after the target time; if nothing committed since, --latest "
                 "restores the same data");
        return ERR_NOTFOUND;
    }
    *older = 1; /* not after m's start: perhaps before it */
    c->scan_hi = from;
    return 0;
}

/* Backup m: its path, its own WAL, the target's record, every segment up to it. */
static int try_backup(plan_ctx *c, const pg_meta *m, const char *sid, pgrestore_plan *out, int *older)
{
    const pg_target *t = &c->o->t;
    wal_archive a;
    pgtl_path path;
    uint64_t first, blast, last, end = 0, gap, at = 0;
    int none, rc = wal_archive_load(c->r, m->wal_source, m->segsize, 0, &a);
    *older = 0;
    if (!rc)
        rc = choose_path(c->r, c->o, m, &a, &path);
    if (rc) {
        wal_archive_free(&a);
        return rc;
    }
    pg_meta_wal_range(m, &first, &blast);
    last = pgtl_last_seg(&path, &a, m->segsize, &none);
    if ((gap = pgtl_first_gap(&path, &a, m->segsize, first, blast)) != UINT64_MAX) {
        char name[25];
        seg_name(pgtl_seg_tli(&path, gap, m->segsize), gap, m, name);
        rc = err_set(ERR_NOTFOUND, "backup %s of %s is not usable: WAL segment %s is missing from the archive", sid,
                     m->source, name);
    } else if (t->kind == PG_TARGET_LSN) {
        end = t->lsn / m->segsize;
        if (end > last) {
            char lsn[32], name[25];
            wal_lsn_format(t->lsn, lsn);
            seg_name(pgtl_seg_tli(&path, last, m->segsize), last, m, name);
            rc = err_set(ERR_NOTFOUND, "target LSN %s is beyond the WAL archive of %s (newest segment %s)", lsn,
                         m->source, name);
        }
    } else if (t->kind == PG_TARGET_LATEST) {
        end = last > blast ? last : blast;
    } else {
        rc = locate(c, m, &path, &a, last, &end, &at, older);
    }
    if (!rc && !*older && (gap = pgtl_first_gap(&path, &a, m->segsize, first, end)) != UINT64_MAX) {
        char name[25];
        seg_name(pgtl_seg_tli(&path, gap, m->segsize), gap, m, name);
        err_set(ERR_NOTFOUND, "restoring %s from backup %s needs WAL segment %s, which is missing from the archive",
                m->source, sid, name);
        err_hint("run `lifeline check` for every gap; a target before the gap (--time, --lsn) can still be reached");
        rc = ERR_NOTFOUND;
    }
    if (!rc && !*older) {
        out->m = *m;
        out->tli = path.s[path.n - 1].tli;
        out->stop_lsn = at;
    }
    wal_archive_free(&a);
    return rc;
}

int pgrestore_make_plan(repo *r, snapshot *list, size_t n, const pgrestore_opts *o, pgrestore_plan *p)
{
    plan_ctx c = {.r = r, .o = o, .scan_hi = UINT64_MAX};
    int seen = 0;
    double oldest_stop = 0;
    memset(p, 0, sizeof *p);
    for (size_t i = n; i-- > 0;) {
        pg_meta mm;
        char sid[9];
        int older = 0;
        if ((o->force != SIZE_MAX && i != o->force) || !pg_snapshot_is(&list[i], o->source, &mm))
            continue;
        seen++;
        oldest_stop = mm.stop_time;
        if (!may_reach(&mm, &o->t))
            continue;
        /* the newest backup that reaches the target: an older one would need the same WAL and more */
        snapshot_short_id(list[i].id, sid);
        int rc = try_backup(&c, &mm, sid, p, &older);
        if (rc)
            return rc;
        if (older && o->force != SIZE_MAX) {
            char what[300];
            target_words(&o->t, what, sizeof what);
            return err_set(ERR_NOTFOUND, "backup %s of %s cannot reach %s: the target is before the backup ends", sid,
                           o->source, what);
        }
        if (!older) {
            p->chosen = i;
            return 0;
        }
    }
    if (!seen)
        return err_set(ERR_NOTFOUND, "no base backup of source %s in the repository", o->source);
    if (o->t.kind == PG_TARGET_XID || o->t.kind == PG_TARGET_NAME) {
        char what[300];
        target_words(&o->t, what, sizeof what);
        err_set(ERR_NOTFOUND, "%s is not in the archived WAL of %s after the start of any usable backup", what,
                o->source);
        err_hint("a target before the oldest backup cannot be reached; check the transaction id or restore point name");
        return ERR_NOTFOUND;
    }
    char when[64];
    text_time((int64_t)oldest_stop, (long)((oldest_stop - (double)(int64_t)oldest_stop) * 1e9), when, sizeof when);
    return err_set(ERR_NOTFOUND, "the target is before the first usable backup of %s (the oldest ends at %s)",
                   o->source, when);
}

/* ---- the target folder -------------------------------------------------------------- */

static int dir_empty(const char *dir, int *empty)
{
    DIR *d = opendir(dir);
    *empty = 1;
    if (!d)
        return errno == ENOENT ? 0 : err_sys(ERR_IO, "open %s", dir);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            *empty = 0;
    closedir(d);
    return 0;
}

/* PG_VERSION's major version and pg_control's system identifier (its first 8 bytes,
 * in the server's byte order, which is this host's). */
static int data_folder_identity(const char *dir, char *version, size_t vcap, uint64_t *sysid)
{
    char p[PATH_MAX];
    buf b;
    buf_init(&b, 1u << 16);
    int rc = fs_join(p, sizeof p, dir, "PG_VERSION");
    if (!rc && !(rc = fs_read_file(p, &b, 64))) { /* not NUL-terminated, and may be empty */
        const uint8_t *nl = b.len ? memchr(b.data, '\n', b.len) : NULL;
        snprintf(version, vcap, "%.*s", (int)(nl ? (size_t)(nl - b.data) : b.len), b.len ? (const char *)b.data : "");
    }
    if (!rc)
        rc = fs_join(p, sizeof p, dir, "global/pg_control");
    if (!rc)
        rc = fs_read_range(p, 0, 8, &b);
    if (!rc)
        memcpy(sysid, b.data, 8);
    buf_free(&b);
    if (rc)
        err_clear();
    return rc;
}

int pgrestore_check_target(const char *dir, int delta, const pg_meta *m)
{
    int empty;
    char p[PATH_MAX], version[16] = "";
    struct stat st;
    uint64_t sysid = 0;
    int rc = dir_empty(dir, &empty);
    if (rc || empty)
        return rc;
    if (!delta) {
        err_set(ERR_USAGE, "%s is not empty", dir);
        err_hint("restore into a new folder, or give --delta to rewrite only what differs in an existing data folder");
        return ERR_USAGE;
    }
    if (!fs_join(p, sizeof p, dir, "postmaster.pid") && stat(p, &st) == 0)
        return err_set(ERR_USAGE, "%s has a postmaster.pid: stop the server before restoring over its data folder",
                       dir);
    /* --delta removes whatever the backup does not have: only over the same system */
    if (data_folder_identity(dir, version, sizeof version, &sysid)) {
        err_set(ERR_USAGE, "%s is not a PostgreSQL data folder (no PG_VERSION or global/pg_control): --delta would "
                           "delete its contents", dir);
        err_hint(version[0] ? "a restore interrupted before global/pg_control was written leaves such a folder: "
                              "remove it and restore again"
                            : "restore into an empty or new folder");
        return ERR_USAGE;
    }
    if (!m)
        return 0;
    char want[16];
    snprintf(want, sizeof want, "%d", m->server_version / 10000);
    if (strcmp(version, want) || strtoull(m->system_id, NULL, 10) != sysid) {
        err_set(ERR_USAGE, "%s holds a data folder of PostgreSQL %s, system %llu; the backup is of PostgreSQL %s, "
                           "system %s: --delta refused", dir, version, (unsigned long long)sysid, want, m->system_id);
        err_hint("--delta only rewrites a data folder of the same system; restore into an empty or new folder");
        return ERR_USAGE;
    }
    return 0;
}

/* ---- recovery settings -------------------------------------------------------------- */

/* Settings that steer recovery (PostgreSQL 12 to 17): ones the backup carried would
 * override or clash with the restore's (two targets are an error; an old target
 * stops replay early). */
static int recovery_key(const char *k, size_t l)
{
    static const char *const keys[] = {"restore_command",   "archive_cleanup_command", "recovery_end_command",
                                       "recovery_min_apply_delay", "primary_conninfo", "primary_slot_name",
                                       "promote_trigger_file", "standby_mode", "trigger_file", NULL};
    /* recovery_target, _time, _xid, _lsn, _name, _inclusive, _timeline, _action (not
     * recovery_prefetch or recovery_init_sync_method: they only tune replay) */
    if (l >= 15 && !strncasecmp(k, "recovery_target", 15))
        return 1;
    for (int i = 0; keys[i]; i++)
        if (strlen(keys[i]) == l && !strncasecmp(k, keys[i], l))
            return 1;
    return 0;
}

/* The setting name at the start of a configuration line (0 length: none). */
static size_t line_key(const char *l, size_t n, const char **k)
{
    size_t i = 0;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    *k = l + i;
    size_t s = i;
    while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_' || l[i] == '.'))
        i++;
    return i - s;
}

int pgrestore_comment_recovery(const char *text, size_t len, const char *stamp, buf *out, int *changed)
{
    int rc = 0;
    size_t i = 0;
    *changed = 0;
    while (!rc && i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        const char *k;
        size_t kl = line_key(text + i, e - i, &k);
        if (kl && recovery_key(k, kl)) {
            char pre[160];
            snprintf(pre, sizeof pre, "# commented out by lifeline restore %s (a recovery setting the backup carried): ",
                     stamp);
            rc = buf_append(out, pre, strlen(pre));
            *changed = 1;
        }
        if (!rc)
            rc = buf_append(out, text + i, e - i);
        if (!rc && e < len)
            rc = buf_append_u8(out, '\n');
        i = e + 1;
    }
    return rc;
}

/* A value for postgresql.conf: single-quoted, quotes doubled, backslashes escaped. */
static int conf_append(buf *b, const char *key, const char *value)
{
    int rc = buf_append(b, key, strlen(key));
    if (!rc)
        rc = buf_append(b, " = '", 4);
    for (const char *p = value; !rc && *p; p++) {
        if (*p == '\'' || *p == '\\')
            rc = buf_append_u8(b, (uint8_t)*p);
        if (!rc)
            rc = buf_append_u8(b, (uint8_t)*p);
    }
    if (!rc)
        rc = buf_append(b, "'\n", 2);
    return rc;
}

static int conf_text(buf *b, const char *text) { return buf_append(b, text, strlen(text)); }

static void format_utc(int64_t sec, long nsec, char *out, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, nsec / 1000);
}

static int target_settings(buf *b, const pg_target *t)
{
    char v[64];
    int rc = 0;
    switch (t->kind) {
    case PG_TARGET_TIME:
        format_utc(t->time, t->time_ns, v, sizeof v);
        rc = conf_append(b, "recovery_target_time", v);
        break;
    case PG_TARGET_LSN:
        wal_lsn_format(t->lsn, v);
        rc = conf_append(b, "recovery_target_lsn", v);
        break;
    case PG_TARGET_XID: rc = conf_append(b, "recovery_target_xid", t->text); break;
    case PG_TARGET_NAME: rc = conf_append(b, "recovery_target_name", t->text); break;
    default: return 0; /* --latest: replay everything, then promote */
    }
    return rc ? rc : conf_append(b, "recovery_target_action", "promote");
}

static int settings(buf *b, const pgrestore_settings *s, const char *stamp)
{
    char hdr[128];
    snprintf(hdr, sizeof hdr, "\n# recovery settings written by lifeline restore %s\n", stamp);
    int rc = conf_text(b, hdr);
    if (!rc)
        rc = conf_append(b, "restore_command", s->restore_command);
    if (!rc)
        rc = conf_append(b, "recovery_target_timeline", s->tl_value);
    if (!rc && s->standby && s->primary_conninfo)
        rc = conf_append(b, "primary_conninfo", s->primary_conninfo);
    if (!rc && !s->standby)
        rc = target_settings(b, s->t);
    if (!rc && !s->archive_preserve) {
        rc = conf_text(b, "# a restored copy does not archive into the source it came from "
                          "(lifeline restore --archive-mode preserve keeps the backup's archiving)\n");
        if (!rc)
            rc = conf_append(b, "archive_mode", "off");
    }
    return rc;
}

static int write_owned(const char *path, const buf *b, const struct stat *owner, mode_t mode)
{
    int rc = fs_write_durable(path, b->data ? b->data : (const uint8_t *)"", b->len, mode, 0);
    if (!rc && chown(path, owner->st_uid, owner->st_gid) != 0 && geteuid() == 0)
        rc = err_sys(ERR_IO, "set owner of %s", path);
    return rc;
}

/* Is path inside dir (both resolved)? Files outside the data folder are not ours to edit. */
static int inside(const char *dir, const char *path)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(dir, a) || !realpath(path, b))
        return 0;
    size_t l = strlen(a);
    return !strncmp(a, b, l) && (b[l] == '/' || !b[l]);
}

static int comment_file(const char *dir, const char *path, const char *stamp, int depth);

/* Every *.conf file of an include_dir folder inside the data folder. */
static int comment_conf_dir(const char *dir, const char *folder, const char *stamp, int depth)
{
    int rc = 0;
    DIR *d = inside(dir, folder) ? opendir(folder) : NULL;
    struct dirent *de;
    while (!rc && d && (de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        char f[PATH_MAX * 2];
        if (de->d_name[0] == '.' || nl < 6 || strcmp(de->d_name + nl - 5, ".conf"))
            continue;
        snprintf(f, sizeof f, "%s/%s", folder, de->d_name);
        rc = comment_file(dir, f, stamp, depth + 1);
    }
    if (d)
        closedir(d);
    return rc;
}

/* The quoted path of an include line, relative to the including file's folder. */
static int include_target(const char *file, const char *k, const char *eol, char *full, size_t cap)
{
    const char *q = memchr(k, '\'', (size_t)(eol - k));
    const char *q2 = q ? memchr(q + 1, '\'', (size_t)(eol - q - 1)) : NULL;
    if (!q || !q2 || q2 - q - 1 >= PATH_MAX / 2)
        return -1;
    int l = (int)(q2 - q - 1);
    const char *slash = strrchr(file, '/');
    if (q[1] == '/' || !slash)
        snprintf(full, cap, "%.*s", l, q + 1);
    else
        snprintf(full, cap, "%.*s/%.*s", (int)(slash - file), file, l, q + 1);
    return 0;
}

/* include, include_if_exists, include_dir lines of a configuration file. */
static int follow_includes(const char *dir, const char *file, const buf *text, const char *stamp, int depth)
{
    const char *s = (const char *)text->data;
    size_t i = 0, len = text->len;
    int rc = 0;
    while (!rc && i < len) {
        size_t e = i;
        while (e < len && s[e] != '\n')
            e++;
        const char *k;
        char full[PATH_MAX];
        size_t kl = line_key(s + i, e - i, &k);
        int is_dir = kl == 11 && !strncasecmp(k, "include_dir", 11);
        int is_file = (kl == 7 && !strncasecmp(k, "include", 7)) || (kl == 17 && !strncasecmp(k, "include_if_exists", 17));
        if ((is_dir || is_file) && !include_target(file, k + kl, s + e, full, sizeof full))
            rc = is_dir ? comment_conf_dir(dir, full, stamp, depth) : comment_file(dir, full, stamp, depth + 1);
        i = e + 1;
    }
    return rc;
}

/* Comments out the recovery settings of one configuration file inside the data folder
 * (and of what it includes there), keeping its owner and mode. */
static int comment_file(const char *dir, const char *path, const char *stamp, int depth)
{
    struct stat st;
    if (depth > 10 || stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !inside(dir, path))
        return 0;
    buf in, out;
    int changed = 0;
    buf_init(&in, 1u << 24);
    buf_init(&out, 1u << 25);
    int rc = fs_read_file(path, &in, 1u << 24);
    if (!rc)
        rc = pgrestore_comment_recovery((const char *)in.data, in.len, stamp, &out, &changed);
    if (!rc && changed) {
        LOG_INFO("%s: recovery settings the backup carried are commented out", path);
        rc = write_owned(path, &out, &st, st.st_mode & 07777);
    }
    if (!rc)
        rc = follow_includes(dir, path, &in, stamp, depth);
    buf_free(&in);
    buf_free(&out);
    return rc;
}

int pgrestore_finish(const char *dir, const pgrestore_settings *s)
{
    char p[PATH_MAX], stamp[32];
    struct stat owner;
    buf conf, out;
    int rc = fs_join(p, sizeof p, dir, "PG_VERSION"), changed = 0;
    if (!rc && stat(p, &owner) != 0)
        return err_sys(ERR_LOCAL, "%s is not a PostgreSQL data folder after the restore", dir);
    if (rc)
        return rc;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* a signal file the backup carried would make the wrong kind of server */
    if (!fs_join(p, sizeof p, dir, "standby.signal"))
        unlink(p);
    if (!fs_join(p, sizeof p, dir, "recovery.signal"))
        unlink(p);
    if (!(rc = fs_join(p, sizeof p, dir, "postgresql.conf")))
        rc = comment_file(dir, p, stamp, 0);
    buf_init(&conf, 1u << 24);
    buf_init(&out, 1u << 25);
    if (!rc && !(rc = fs_join(p, sizeof p, dir, "postgresql.auto.conf"))) {
        rc = fs_read_file(p, &conf, 1u << 24);
        if (rc == ERR_NOTFOUND) {
            err_clear();
            rc = 0;
        }
    }
    if (!rc)
        rc = pgrestore_comment_recovery((const char *)conf.data, conf.len, stamp, &out, &changed);
    if (!rc && changed)
        LOG_INFO("%s: recovery settings the backup carried are commented out", p);
    if (!rc)
        rc = settings(&out, s, stamp);
    if (!rc)
        rc = write_owned(p, &out, &owner, 0600);
    if (!rc && !(rc = fs_join(p, sizeof p, dir, s->standby ? "standby.signal" : "recovery.signal"))) {
        buf empty;
        buf_init(&empty, 0);
        rc = write_owned(p, &empty, &owner, 0600);
    }
    if (!rc && (chmod(dir, 0700) != 0 || (chown(dir, owner.st_uid, owner.st_gid) != 0 && geteuid() == 0)))
        rc = err_sys(ERR_IO, "set owner and mode of %s", dir);
    buf_free(&conf);
    buf_free(&out);
    return rc;
}
