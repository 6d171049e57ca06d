/* pgwalscan — see pgwalscan.h. Why pg_waldump and not a decoder of our own: WAL
 * record layouts change with every major version (15's xl_xact_commit, 16's
 * RelFileLocator); the server package ships the decoder that matches its WAL, and
 * lifeline then parses only its one-line text output, never WAL bytes. */
#define _GNU_SOURCE
#include "pgwalscan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"

int pgws_waldump_path(const char *bin_dir, int major, char *out, size_t cap)
{
    char p[PATH_MAX];
    if (bin_dir) {
        snprintf(p, sizeof p, "%s/pg_waldump", bin_dir);
    } else {
        snprintf(p, sizeof p, "/usr/lib/postgresql/%d/bin/pg_waldump", major);
        if (access(p, X_OK) != 0) { /* elsewhere: the first pg_waldump on PATH */
            const char *path = getenv("PATH");
            while (path && *path) {
                size_t l = strcspn(path, ":");
                snprintf(p, sizeof p, "%.*s/pg_waldump", (int)l, path);
                if (l && access(p, X_OK) == 0)
                    break;
                path += l + (path[l] == ':');
                p[0] = '\0';
            }
        }
    }
    if (!p[0] || access(p, X_OK) != 0)
        return err_set(ERR_NOTFOUND, "pg_waldump (PostgreSQL %d) is not found%s%s", major, bin_dir ? " in " : "",
                       bin_dir ? bin_dir : "");
    snprintf(out, cap, "%s", p);
    return 0;
}

/* "2026-12-01 14:51:17.559476 UTC" (pg_waldump run with TZ=UTC) to microseconds. */
static int parse_utc_us(const char *s, int64_t *us)
{
    struct tm tm = {0};
    int usec = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d.%6d UTC%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &usec, &used) != 7 || !used)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *us = (int64_t)timegm(&tm) * 1000000 + usec;
    return 0;
}

static int field_u64(const char *line, const char *key, int hex_lsn, uint64_t *out)
{
    const char *p = strstr(line, key);
    if (!p)
        return -1;
    p += strlen(key);
    if (hex_lsn) {
        unsigned hi, lo;
        if (sscanf(p, "%X/%X", &hi, &lo) != 2)
            return -1;
        *out = (uint64_t)hi << 32 | lo;
        return 0;
    }
    unsigned long long v;
    if (sscanf(p, " %llu", &v) != 1)
        return -1;
    *out = v;
    return 0;
}

/* A transaction end: "COMMIT <time>", "ABORT <time>", "COMMIT_PREPARED <xid>: <time>". */
static int xact_end(const char *desc, uint64_t tx, uint64_t *xid, const char **when)
{
    static const char *const kinds[] = {"COMMIT ", "ABORT ", "COMMIT_PREPARED ", "ABORT_PREPARED ", NULL};
    for (int k = 0; kinds[k]; k++) {
        size_t l = strlen(kinds[k]);
        if (strncmp(desc, kinds[k], l))
            continue;
        *xid = tx;
        *when = desc + l;
        if (k >= 2) { /* a prepared transaction: its own xid is in the description */
            char *end;
            *xid = strtoull(*when, &end, 10);
            if (*end != ':')
                return 0;
            *when = end + 2;
        }
        return 1;
    }
    return 0;
}

int pgws_line_match(const char *line, const pg_target *t, uint64_t min_lsn, pgws_result *res)
{
    uint64_t lsn, tx = 0, tot = 0, xid;
    const char *desc = strstr(line, "desc: "), *when;
    const char *totp = strstr(line, "len (rec/tot):");
    if (!desc || field_u64(line, "lsn: ", 1, &lsn) || lsn < min_lsn)
        return 0;
    desc += 6;
    unsigned long long rec, all;
    if (field_u64(line, "tx: ", 0, &tx) || !totp || sscanf(totp + 14, " %llu/ %llu", &rec, &all) != 2)
        return 0;
    tot = all;
    int64_t us = 0;
    int hit = 0;
    if (t->kind == PG_TARGET_NAME) {
        hit = !strncmp(desc, "RESTORE_POINT ", 14) && !strcmp(desc + 14, t->text);
    } else if (xact_end(desc, tx, &xid, &when)) {
        int timed = !parse_utc_us(when, &us);
        if (t->kind == PG_TARGET_XID) /* recovery_target_xid keeps the low 32 bits */
            hit = (xid & 0xFFFFFFFFu) == (strtoull(t->text, NULL, 10) & 0xFFFFFFFFu);
        else if (t->kind == PG_TARGET_TIME)
            hit = timed && us > t->time * 1000000 + t->time_ns / 1000;
    }
    if (!hit)
        return 0;
    res->found = 1;
    res->lsn = lsn;
    /* the record may cross pages (a 24- or 40-byte header each): bound its end generously */
    res->end_lsn = lsn + tot + (tot / 8192 + 2) * 40;
    res->time_us = us;
    return 1;
}

/* Writes b to a new file at path, without fsync: the staged copies are read once by
 * pg_waldump and removed (the private folder goes with them on any failure). */
static int write_plain(const char *path, const buf *b)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_sys(ERR_IO, "create %s", path);
    int rc = fs_write_all(fd, b->data, b->len) ? err_sys(ERR_IO, "write %s", path) : 0;
    if (close(fd) != 0 && !rc)
        rc = err_sys(ERR_IO, "write %s", path);
    return rc;
}

/* Puts the archived copy of segment segno (on the path's timeline) into dir, named
 * as timeline 1: pg_waldump reads one timeline's names; the pages keep their own. */
static int stage(repo *r, const char *source, const pgtl_path *p, uint64_t segsize, uint64_t segno, const char *dir,
                 buf *b)
{
    char real[25], fake[25], obj[160], path[PATH_MAX];
    wal_seg_name(pgtl_seg_tli(p, segno, segsize), segno, segsize, real);
    wal_seg_name(1, segno, segsize, fake);
    snprintf(obj, sizeof obj, "wal/%s/%s", source, real);
    int rc = repo_named_load(r, OBJ_WAL, obj, b);
    if (!rc)
        rc = fs_join(path, sizeof path, dir, fake);
    if (!rc) /* a throwaway copy for pg_waldump, removed after the scan: no fsync */
        rc = write_plain(path, b);
    return rc;
}

static void unstage(const char *dir, uint64_t segno, uint64_t segsize)
{
    char fake[25], path[PATH_MAX];
    wal_seg_name(1, segno, segsize, fake);
    if (!fs_join(path, sizeof path, dir, fake))
        unlink(path);
}

/* Runs pg_waldump over segment segno; matching lines end the scan. */
static int run_waldump(const char *waldump, const char *dir, uint64_t segno, uint64_t segsize, int next_there,
                       const pg_target *t, uint64_t min_lsn, pgws_result *res)
{
    char s[32], e[32], errp[PATH_MAX];
    wal_lsn_format(segno * segsize, s);
    wal_lsn_format((segno + 1) * segsize, e);
    int rc = fs_join(errp, sizeof errp, dir, "stderr");
    int fds[2];
    if (rc)
        return rc;
    if (pipe(fds) != 0)
        return err_sys(ERR_IO, "pipe for pg_waldump");
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_sys(ERR_IO, "start %s", waldump);
    }
    if (pid == 0) {
        int ef = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fds[1], 1);
        if (ef >= 0)
            dup2(ef, 2);
        close(fds[0]);
        setenv("TZ", "UTC", 1); /* commit times printed in UTC */
        execl(waldump, waldump, "-p", dir, "-t", "1", "-s", s, "-e", e, "-r", "Transaction", "-r", "XLOG",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (!res->found)
            pgws_line_match(line, t, min_lsn, res);
    }
    free(line);
    if (f)
        fclose(f);
    else
        close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    /* without the next segment pg_waldump stops with an error at a record that
     * continues there: the end of the archived WAL, not a failure */
    if (!res->found && next_there && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        buf eb;
        buf_init(&eb, 4096);
        char msg[300] = "";
        if (!fs_read_file(errp, &eb, 1u << 20) && eb.len && !buf_append_u8(&eb, 0))
            snprintf(msg, sizeof msg, "%.*s", (int)strcspn((const char *)eb.data, "\n"), (const char *)eb.data);
        err_clear();
        buf_free(&eb);
        return err_set(ERR_SOURCE, "%s failed on WAL segment %s: %s", waldump, s, msg[0] ? msg : "no message");
    }
    return 0;
}

int pgws_find(repo *r, const char *source, const pgtl_path *p, const wal_archive *a, uint64_t segsize,
              const char *waldump, uint64_t from, uint64_t to, uint64_t min_lsn, const pg_target *t, pgws_result *res)
{
    memset(res, 0, sizeof *res);
    res->missing = UINT64_MAX;
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/lifeline-wal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) /* 0700: the WAL is the database's content */
        return err_sys(ERR_IO, "create a temporary folder for WAL in %s", tmp && *tmp ? tmp : "/tmp");
    buf b;
    buf_init(&b, WAL_MAX_FILE);
    int rc = 0, staged = 0;
    LOG_VERBOSE("scanning archived WAL of %s, segments %llu..%llu, with %s", source, (unsigned long long)from,
                (unsigned long long)to, waldump);
    for (uint64_t s = from; !rc && !res->found && s <= to; s++) {
        if (pgtl_first_gap(p, a, segsize, s, s) != UINT64_MAX) {
            res->missing = s;
            break;
        }
        if (!staged)
            rc = stage(r, source, p, segsize, s, dir, &b);
        int next = pgtl_first_gap(p, a, segsize, s + 1, s + 1) == UINT64_MAX;
        if (!rc && next)
            rc = stage(r, source, p, segsize, s + 1, dir, &b);
        staged = next;
        if (!rc)
            rc = run_waldump(waldump, dir, s, segsize, next, t, min_lsn, res);
        unstage(dir, s, segsize);
    }
    int rc2 = fs_remove_tree(dir);
    buf_free(&b);
    return rc ? rc : rc2;
}
