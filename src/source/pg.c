/* pg — see pg.h. The base backup runs on one replication connection:
 * IDENTIFY_SYSTEM, SHOW wal_segment_size, then BASE_BACKUP, whose single COPY OUT
 * stream (PostgreSQL 15's protocol) carries typed messages: 'n' a new archive, 'd'
 * archive or manifest bytes, 'm' the manifest begins, 'p' progress. Archive bytes go
 * through the tar parser into the tree builder, file contents through a blob stream;
 * nothing is staged on disk. */
#define _GNU_SOURCE
#include "pg.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/stream.h"
#include "../repo/treebuild.h"
#include "tar.h"
#include "wal.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- connection ---------------------------------------------------------------- */

/* libpq's messages span lines ("...\n\tThis probably means..."): ours are one line. */
static void trim_nl(char *s)
{
    size_t w = 0;
    for (size_t r = 0; s[r]; r++) {
        char ch = s[r] == '\n' || s[r] == '\t' || s[r] == '\r' ? ' ' : s[r];
        if (ch != ' ' || (w && s[w - 1] != ' '))
            s[w++] = ch;
    }
    while (w && s[w - 1] == ' ')
        w--;
    s[w] = '\0';
}

static int pg_fail(PGconn *c, const char *source, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    trim_nl(msg);
    return err_set(ERR_SOURCE, "PostgreSQL source %s: %s: %s", source, what, msg[0] ? msg : "no error message");
}

/* Server notices (e.g. a socket file skipped in the data folder) are details. */
static void on_notice(void *arg, const char *message)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", message);
    trim_nl(msg);
    LOG_VERBOSE("%s: server says: %s", (const char *)arg, msg);
}

static int connect_replication(const pg_backup_opts *o, PGconn **out)
{
    const char *keys[] = {"dbname", "replication", "application_name", NULL};
    const char *vals[] = {o->conninfo, "true", "lifeline", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c)
        return err_set(ERR_FATAL, "out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        int rc = pg_fail(c, o->source, "cannot open a replication connection");
        err_hint("the role needs the REPLICATION attribute and a 'replication' line in pg_hba.conf; "
                 "a password comes from PGPASSFILE or ~/.pgpass");
        PQfinish(c);
        return rc;
    }
    if (PQserverVersion(c) < 150000) {
        int v = PQserverVersion(c);
        PQfinish(c);
        return err_set(ERR_SOURCE, "PostgreSQL source %s runs version %d.%d; base backups need 15 or later", o->source,
                       v / 10000, v % 10000);
    }
    PQsetNoticeProcessor(c, on_notice, (void *)o->source);
    *out = c;
    return 0;
}

/* Runs a command that returns one row of at least ncols columns. */
static int one_row(PGconn *c, const char *source, const char *cmd, int ncols, PGresult **out)
{
    PGresult *res = PQexec(c, cmd);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) < ncols) {
        int rc = pg_fail(c, source, cmd);
        PQclear(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* "16MB" -> bytes */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = !strcmp(end, "kB") ? 1024 : !strcmp(end, "MB") ? 1u << 20 : !strcmp(end, "GB") ? 1u << 30 : 0;
    if (!*end)
        mul = 1;
    if (!mul || end == s)
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

static int identify(PGconn *c, const pg_backup_opts *o, pg_meta *m)
{
    PGresult *res = NULL; /* set by one_row on success; gcc -O3 cannot see that */
    int rc = one_row(c, o->source, "IDENTIFY_SYSTEM", 2, &res);
    if (rc)
        return rc;
    snprintf(m->system_id, sizeof m->system_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((rc = one_row(c, o->source, "SHOW wal_segment_size", 1, &res)))
        return rc;
    if (parse_size(PQgetvalue(res, 0, 0), &m->segsize) || !wal_segsize_valid(m->segsize))
        rc = err_set(ERR_SOURCE, "PostgreSQL source %s: unexpected wal_segment_size '%s'", o->source,
                     PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *hs = PQparameterStatus(c, "in_hot_standby");
    m->standby = hs && !strcmp(hs, "on");
    m->server_version = PQserverVersion(c);
    snprintf(m->source, sizeof m->source, "%s", o->source);
    return rc;
}

/* ---- the tar stream into trees -------------------------------------------------- */

typedef struct bb_ctx {
    repo *r;
    const pg_backup_opts *o;
    tree_builder *tb;
    blob_stream *bs;
    snapshot_summary *sum;
    progress prog;
    tree_node cur;
    char path[TAR_MAX_PATH + 32];
    uint32_t uid, gid; /* of the first entry: the server's user */
    int have_owner;
    pg_meta *m;
    tar_parser *tp;     /* the archive being received (one per tablespace, then base.tar) */
    char prefix[32];    /* where its entries go: "pg_tblspc/<oid>/", or "" for base.tar */
    int skip;           /* the current entry is not stored (a tablespace's symlink) */
} bb_ctx;

static int node_type(char t)
{
    switch (t) {
    case '0': return NODE_FILE;
    case '2': return NODE_SYMLINK;
    case '3': return NODE_CHR;
    case '4': return NODE_BLK;
    case '5': return NODE_DIR;
    case '6': return NODE_FIFO;
    default: return 0;
    }
}

static int on_entry(void *vctx, const tar_entry *e)
{
    bb_ctx *c = vctx;
    tree_node *n = &c->cur;
    tree_node_free(n);
    if (!(n->type = (uint8_t)node_type(e->type)))
        return err_set(ERR_SOURCE, "base backup of %s: unsupported entry type '%c' for %s", c->o->source, e->type,
                       e->path);
    n->mode = e->mode & 07777;
    n->uid = e->uid;
    n->gid = e->gid;
    n->mtime = n->ctime = n->atime = e->mtime;
    n->nlink = 1;
    n->rdev = ((uint64_t)e->devmajor << 32) | e->devminor;
    if (n->type == NODE_SYMLINK && !(n->link = strdup(e->link)))
        return err_set(ERR_FATAL, "out of memory");
    if (!c->have_owner) {
        c->uid = e->uid;
        c->gid = e->gid;
        c->have_owner = 1;
    }
    snprintf(c->path, sizeof c->path, "%s%s", c->prefix, e->path);
    /* base.tar's pg_tblspc/<oid> symlink: the tablespace's own archive is stored there */
    c->skip = 0;
    for (int i = 0; !c->prefix[0] && n->type == NODE_SYMLINK && i < c->m->nts; i++) {
        char ln[32];
        snprintf(ln, sizeof ln, "pg_tblspc/%u", c->m->ts[i].oid);
        c->skip |= !strcmp(e->path, ln);
    }
    if (n->type == NODE_DIR)
        c->sum->dirs++;
    return 0;
}

static int on_data(void *vctx, const uint8_t *p, size_t len)
{
    bb_ctx *c = vctx;
    c->sum->bytes_read += len;
    progress_add(&c->prog, 0, len);
    return blob_stream_write(c->bs, p, len);
}

static int on_entry_end(void *vctx)
{
    bb_ctx *c = vctx;
    int rc = 0;
    if (c->cur.type == NODE_FILE) {
        rc = blob_stream_end(c->bs, &c->cur);
        c->sum->total_files++;
        c->sum->total_bytes += c->cur.size;
        c->sum->files_new++;
        progress_add(&c->prog, 1, 0);
    }
    if (!rc && !c->skip)
        rc = tree_builder_add(c->tb, c->path, &c->cur);
    else
        tree_node_free(&c->cur);
    memset(&c->cur, 0, sizeof c->cur);
    return rc;
}

/* An entry lifeline adds itself: the server's user's, made now. */
static tree_node own_node(const bb_ctx *c, uint8_t type, uint32_t mode)
{
    tree_node n = {0};
    n.type = type;
    n.mode = mode;
    n.uid = c->uid;
    n.gid = c->gid;
    n.nlink = 1;
    n.mtime = n.ctime = n.atime = time(NULL);
    return n;
}

/* The manifest is stored as backup_manifest in the data folder, where
 * pg_basebackup puts it and where pg_verifybackup looks for it. */
static int add_manifest(bb_ctx *c)
{
    tree_node n = own_node(c, NODE_FILE, 0600);
    int rc = blob_stream_end(c->bs, &n);
    c->sum->total_files++;
    c->sum->total_bytes += n.size;
    return rc ? rc : tree_builder_add(c->tb, "backup_manifest", &n);
}

/* ---- BASE_BACKUP ----------------------------------------------------------------- */

static int expect(PGconn *c, const pg_backup_opts *o, ExecStatusType want, const char *step, PGresult **out)
{
    PGresult *res = PQgetResult(c);
    if (!res || PQresultStatus(res) != want) {
        LOG_VERBOSE("%s: got %s, wanted %s", step, res ? PQresStatus(PQresultStatus(res)) : "no result",
                    PQresStatus(want));
        int rc = pg_fail(c, o->source, step);
        if (res && PQresultErrorMessage(res)[0]) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
            trim_nl(msg);
            rc = err_set(ERR_SOURCE, "PostgreSQL source %s: %s: %s", o->source, step, msg);
        }
        PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return 0;
}

static int position(PGconn *c, const pg_backup_opts *o, const char *step, uint64_t *lsn, uint32_t *tli)
{
    PGresult *res;
    int rc = expect(c, o, PGRES_TUPLES_OK, step, &res);
    if (rc)
        return rc;
    if (PQntuples(res) != 1 || PQnfields(res) < 2 || wal_lsn_parse(PQgetvalue(res, 0, 0), lsn))
        rc = err_set(ERR_SOURCE, "PostgreSQL source %s: unexpected answer to BASE_BACKUP (%s)", o->source, step);
    else
        *tli = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return rc;
}

/* The tablespace list: one row per tablespace outside the data folder (oid,
 * location, size in kB), and one with NULLs for the data folder itself. */
static int tablespaces(PGconn *c, const pg_backup_opts *o, pg_meta *m, uint64_t *total)
{
    PGresult *res;
    int rc = expect(c, o, PGRES_TUPLES_OK, "tablespace list", &res);
    if (rc)
        return rc;
    *total = 0;
    for (int i = 0; !rc && i < PQntuples(res); i++) {
        if (PQnfields(res) > 2 && !PQgetisnull(res, i, 2))
            *total += strtoull(PQgetvalue(res, i, 2), NULL, 10) * 1024;
        if (PQgetisnull(res, i, 0))
            continue;
        const char *oid = PQgetvalue(res, i, 0), *loc = PQgetvalue(res, i, 1);
        char *end;
        unsigned long v = strtoul(oid, &end, 10);
        if (m->nts == PG_MAX_TABLESPACES || strlen(loc) >= PG_MAX_LOCATION || loc[0] != '/' || *end || !v ||
            v > UINT32_MAX)
            rc = err_set(ERR_SOURCE, "PostgreSQL source %s: tablespace %s at %s: more than %d tablespaces, or a "
                         "location lifeline cannot record", o->source, oid, loc, PG_MAX_TABLESPACES);
        else {
            m->ts[m->nts].oid = (uint32_t)v;
            snprintf(m->ts[m->nts++].location, PG_MAX_LOCATION, "%s", loc);
        }
    }
    PQclear(res);
    return rc;
}

/* The root folder of a tablespace's archive, pg_tblspc/<oid>, which its tar does
 * not hold: the server's user's, 0700 (what CREATE TABLESPACE makes of it). */
static int tablespace_root(bb_ctx *c)
{
    tree_node n = own_node(c, NODE_DIR, 0700);
    char path[32];
    snprintf(path, sizeof path, "%.*s", (int)strlen(c->prefix) - 1, c->prefix);
    c->sum->dirs++;
    return tree_builder_add(c->tb, path, &n);
}

/* The end of one archive of the stream. */
static int archive_end(bb_ctx *c)
{
    int rc = c->tp ? tar_parser_finish(c->tp) : 0;
    if (!rc && c->tp && c->prefix[0])
        rc = tablespace_root(c);
    tar_parser_free(&c->tp);
    return rc;
}

/* 'n': a new archive, "base.tar" (location "") or "<oid>.tar" with the tablespace's
 * location, which must be one the tablespace list named. */
static int archive_begin(bb_ctx *c, const uint8_t *p, size_t len)
{
    const char *name = (const char *)p + 1;
    size_t nl = strnlen(name, len - 1);
    const char *loc = nl + 2 < len ? name + nl + 1 : "";
    size_t ll = nl + 2 < len ? strnlen(loc, len - nl - 2) : 0;
    int rc = archive_end(c), known = -1;
    for (int i = 0; i < c->m->nts; i++)
        if (strlen(c->m->ts[i].location) == ll && !memcmp(c->m->ts[i].location, loc, ll))
            known = i;
    if (rc)
        return rc;
    if (nl + 1 >= len || (ll && known < 0) || (!ll && (nl != 8 || memcmp(name, "base.tar", 8))))
        return err_set(ERR_SOURCE, "PostgreSQL source %s: unexpected archive %.*s in the backup stream", c->o->source,
                       (int)nl, name);
    if (ll)
        snprintf(c->prefix, sizeof c->prefix, "pg_tblspc/%u/", c->m->ts[known].oid);
    else
        c->prefix[0] = '\0';
    tar_callbacks cb = {on_entry, on_data, on_entry_end, c};
    return tar_parser_new(&cb, &c->tp);
}

/* One CopyData message of the stream. */
static int copy_message(bb_ctx *c, const uint8_t *p, size_t len, int *in_manifest)
{
    if (!len)
        return err_set(ERR_SOURCE, "PostgreSQL source %s: empty message in the backup stream", c->o->source);
    switch (p[0]) {
    case 'n':
        return *in_manifest ? err_set(ERR_SOURCE, "PostgreSQL source %s: an archive after the manifest", c->o->source)
                            : archive_begin(c, p, len);
    case 'd':
        if (*in_manifest)
            return blob_stream_write(c->bs, p + 1, len - 1);
        if (!c->tp)
            return err_set(ERR_SOURCE, "PostgreSQL source %s: archive bytes before an archive began", c->o->source);
        return tar_parser_feed(c->tp, p + 1, len - 1);
    case 'm':
        *in_manifest = 1;
        return archive_end(c);
    case 'p':
        return 0; /* we count bytes ourselves */
    default:
        return err_set(ERR_SOURCE, "PostgreSQL source %s: unknown message '%c' in the backup stream", c->o->source,
                       p[0]);
    }
}

/* The COPY ended before the manifest. A server that ends it with an error (a backend
 * terminated by an administrator, a shutdown) ends the COPY first and puts its reason
 * in the next result: that reason is what the operator needs, not the missing manifest. */
static int stream_cut(PGconn *pc, const char *source)
{
    PGresult *res = PQgetResult(pc);
    char msg[512] = "";
    if (res && PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
    PQclear(res);
    trim_nl(msg);
    if (msg[0])
        return err_set(ERR_SOURCE, "PostgreSQL source %s: base backup stream: %s", source, msg);
    return err_set(ERR_SOURCE, "PostgreSQL source %s: the backup stream ended without a manifest", source);
}

static int receive(PGconn *pc, bb_ctx *c)
{
    int rc = 0, in_manifest = 0;
    while (!rc) {
        char *p = NULL;
        int len = PQgetCopyData(pc, &p, 0);
        if (len == -1)
            break;
        if (len < 0) {
            rc = pg_fail(pc, c->o->source, "base backup stream");
            break;
        }
        rc = copy_message(c, (const uint8_t *)p, (size_t)len, &in_manifest);
        PQfreemem(p);
    }
    if (!rc && !in_manifest)
        rc = stream_cut(pc, c->o->source);
    if (!rc)
        rc = add_manifest(c);
    tar_parser_free(&c->tp);
    return rc;
}

/* After the stream: the end position as a result set, and command completions. */
static int finish(PGconn *pc, const pg_backup_opts *o, uint64_t *lsn, uint32_t *tli)
{
    PGresult *res;
    int rc = 0, have_end = 0;
    while ((res = PQgetResult(pc))) {
        ExecStatusType st = PQresultStatus(res);
        if (!rc && st == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 2 &&
            !wal_lsn_parse(PQgetvalue(res, 0, 0), lsn)) {
            *tli = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
            have_end = 1;
        } else if (!rc && st != PGRES_COMMAND_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
            trim_nl(msg);
            rc = err_set(ERR_SOURCE, "PostgreSQL source %s: end of the base backup: %s", o->source,
                         msg[0] ? msg : PQresStatus(st));
        }
        PQclear(res);
    }
    if (!rc && !have_end)
        rc = err_set(ERR_SOURCE, "PostgreSQL source %s: the base backup ended without its end position", o->source);
    return rc;
}

static int base_backup(PGconn *pc, bb_ctx *c, pg_meta *m)
{
    char cmd[256];
    uint64_t total = 0;
    snprintf(cmd, sizeof cmd,
             "BASE_BACKUP (LABEL 'lifeline', CHECKPOINT 'fast', MANIFEST 'yes', WAIT false%s)",
             c->o->progress ? ", PROGRESS true" : "");
    LOG_VERBOSE("%s: starting the base backup (fast checkpoint)", c->o->source);
    m->start_time = now_seconds();
    if (!PQsendQuery(pc, cmd))
        return pg_fail(pc, c->o->source, "BASE_BACKUP");
    int rc = position(pc, c->o, "backup start", &m->start_lsn, &m->tli);
    if (!rc)
        rc = tablespaces(pc, c->o, m, &total);
    if (!rc) {
        progress_total(&c->prog, 0, total);
        rc = expect(pc, c->o, PGRES_COPY_OUT, "backup stream", NULL);
    }
    if (!rc)
        rc = receive(pc, c);
    if (!rc)
        rc = finish(pc, c->o, &m->stop_lsn, &m->stop_tli);
    m->stop_time = now_seconds();
    /* on an error nothing is drained: mid-COPY, PQgetResult would hand back the COPY
     * state forever; the caller's PQfinish closes the connection */
    return rc;
}

/* Which archive holds this server's WAL: the configured archive-source, else the
 * source's own archive when it has one, else, for a standby, the archive of the same
 * system (its primary archives there), else the source's own (not started yet). A
 * primary archives its own WAL: a restored and promoted copy keeps its system id, and
 * its first backup must not wait for WAL in the archive of the server it came from.
 * A system other than the archive's is refused before anything is streamed. */
static int choose_archive(repo *r, const pg_backup_opts *o, pg_meta *m)
{
    const char *name = o->archive_source ? o->archive_source : o->source;
    char *end, what[160];
    errno = 0;
    uint64_t sysid = strtoull(m->system_id, &end, 10), have;
    if (errno || end == m->system_id || *end)
        return err_set(ERR_SOURCE, "PostgreSQL source %s: unexpected system identifier '%s'", o->source, m->system_id);
    snprintf(m->wal_source, sizeof m->wal_source, "%s", name);
    int rc = wal_system_load(r, name, &have);
    if (rc == 0 && have != sysid) {
        snprintf(what, sizeof what, "the server of source %s", o->source);
        return wal_system_claim(r, name, sysid, what);
    }
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear();
    if (!o->archive_source && m->standby && !(rc = wal_system_find(r, sysid, m->wal_source, sizeof m->wal_source))) {
        LOG_INFO("the WAL of system %s is archived under source %s", m->system_id, m->wal_source);
        return 0;
    }
    if (rc == ERR_CONFIG)
        err_hint("set archive-source on source %s to the one its server's WAL is archived under", o->source);
    if (rc != ERR_NOTFOUND)
        return rc;
    err_clear();
    snprintf(m->wal_source, sizeof m->wal_source, "%s", name);
    return 0;
}

int pg_backup(repo *r, const pg_backup_opts *o, uint8_t root[32], snapshot_summary *sum, pg_meta *m)
{
    PGconn *pc = NULL;
    bb_ctx c = {.r = r, .o = o, .sum = sum, .m = m};
    memset(m, 0, sizeof *m);
    int rc = connect_replication(o, &pc);
    if (!rc)
        rc = identify(pc, o, m);
    if (!rc)
        rc = choose_archive(r, o, m);
    if (!rc)
        rc = tree_builder_new(&c.tb);
    if (!rc)
        rc = blob_stream_new(r, &c.bs);
    progress_start(&c.prog, "backup", o->progress);
    if (!rc)
        rc = base_backup(pc, &c, m);
    progress_end(&c.prog);
    if (!rc)
        rc = tree_builder_write(c.tb, r, root);
    tree_node_free(&c.cur);
    blob_stream_free(&c.bs);
    tree_builder_free(&c.tb);
    PQfinish(pc);
    return rc;
}

/* ---- the backup's WAL ------------------------------------------------------------- */

void pg_meta_wal_range(const pg_meta *m, uint64_t *first, uint64_t *last)
{
    *first = m->start_lsn / m->segsize;
    /* the stop LSN points just past the last record: a boundary belongs to the segment before */
    *last = m->stop_lsn > m->start_lsn ? (m->stop_lsn - 1) / m->segsize : *first;
}

int pg_wait_wal(repo *r, const pg_meta *m, int timeout)
{
    uint64_t first, last, gap = UINT64_MAX;
    pg_meta_wal_range(m, &first, &last);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int shown = 0;; shown = 1) {
        wal_archive a;
        int rc = wal_archive_load(r, m->wal_source, m->segsize, 0, &a);
        if (rc)
            return rc;
        gap = wal_archive_first_gap(&a, m->tli, first, last);
        wal_archive_free(&a);
        if (gap == UINT64_MAX)
            return 0;
        char name[25];
        wal_seg_name(m->tli, gap, m->segsize, name);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= timeout) {
            err_set(ERR_INCOMPLETE, "WAL segment %s of source %s was not archived within %d s", name, m->wal_source,
                    timeout);
            if (m->standby)
                err_hint("a backup from a standby ends in a segment the primary finishes: set primary-conninfo on "
                         "source %s so lifeline switches it (pg_switch_wal), or archive_timeout on the primary",
                         m->source);
            else
                err_hint("check archive_mode and archive_command on the server (and its log)");
            return ERR_INCOMPLETE;
        }
        if (!shown)
            LOG_INFO("waiting for WAL %s to be archived (up to %d s)", name, timeout);
        struct timespec d = {0, 200 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
}

int pg_switch_primary(const char *source, const char *conninfo)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {conninfo, "lifeline", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    int rc = 0;
    if (!c)
        return err_set(ERR_FATAL, "out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        rc = pg_fail(c, source, "cannot connect to the primary (primary-conninfo)");
    } else {
        PGresult *res = NULL;
        if ((rc = one_row(c, source, "SELECT pg_switch_wal()", 1, &res))) {
            err_hint("the role of primary-conninfo needs EXECUTE on pg_switch_wal() "
                     "(GRANT EXECUTE ON FUNCTION pg_switch_wal() TO it), and the server must be the primary");
        } else {
            LOG_VERBOSE("%s: the primary switched WAL segment at %s", source, PQgetvalue(res, 0, 0));
            PQclear(res);
        }
    }
    PQfinish(c);
    return rc;
}

/* ---- meta --------------------------------------------------------------------------- */

cJSON *pg_meta_json(const pg_meta *m)
{
    char lsn[32], seg[25];
    uint64_t first, last;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "postgres");
    cJSON_AddStringToObject(o, "source", m->source);
    cJSON_AddStringToObject(o, "wal_source", m->wal_source[0] ? m->wal_source : m->source);
    cJSON_AddStringToObject(o, "system_identifier", m->system_id);
    cJSON_AddNumberToObject(o, "server_version", m->server_version);
    cJSON_AddNumberToObject(o, "timeline", m->tli);
    cJSON_AddNumberToObject(o, "stop_timeline", m->stop_tli ? m->stop_tli : m->tli);
    wal_lsn_format(m->start_lsn, lsn);
    cJSON_AddStringToObject(o, "start_lsn", lsn);
    wal_lsn_format(m->stop_lsn, lsn);
    cJSON_AddStringToObject(o, "stop_lsn", lsn);
    cJSON_AddNumberToObject(o, "start_time", m->start_time);
    cJSON_AddNumberToObject(o, "stop_time", m->stop_time);
    cJSON_AddNumberToObject(o, "wal_segment_size", (double)m->segsize);
    pg_meta_wal_range(m, &first, &last);
    wal_seg_name(m->tli, first, m->segsize, seg);
    cJSON_AddStringToObject(o, "wal_start", seg);
    wal_seg_name(m->tli, last, m->segsize, seg);
    cJSON_AddStringToObject(o, "wal_stop", seg);
    cJSON_AddBoolToObject(o, "standby", m->standby);
    cJSON_AddBoolToObject(o, "wal_complete", m->wal_complete);
    cJSON_AddStringToObject(o, "manifest", "backup_manifest");
    if (m->nts) {
        cJSON *arr = cJSON_AddArrayToObject(o, "tablespaces");
        for (int i = 0; arr && i < m->nts; i++) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddNumberToObject(t, "oid", m->ts[i].oid);
            cJSON_AddStringToObject(t, "location", m->ts[i].location);
            cJSON_AddItemToArray(arr, t);
        }
    }
    return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jnum(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(v))
        return -1;
    *out = v->valuedouble;
    return 0;
}

/* "tablespaces": [{"oid": N, "location": "/abs"}...], absent when there are none. */
static int tablespaces_parse(const cJSON *o, pg_meta *m)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "tablespaces"), *t;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return -1;
    cJSON_ArrayForEach(t, arr)
    {
        double oid;
        const char *loc = jstr(t, "location");
        if (m->nts == PG_MAX_TABLESPACES || jnum(t, "oid", &oid) || !(oid >= 1 && oid <= UINT32_MAX) || !loc ||
            loc[0] != '/' || strlen(loc) >= PG_MAX_LOCATION)
            return -1;
        m->ts[m->nts].oid = (uint32_t)oid;
        snprintf(m->ts[m->nts++].location, PG_MAX_LOCATION, "%s", loc);
    }
    return 0;
}

int pg_meta_parse(const char *json, pg_meta *m)
{
    memset(m, 0, sizeof *m);
    cJSON *o = json ? cJSON_Parse(json) : NULL;
    const char *type = jstr(o, "type"), *src = jstr(o, "source"), *sys = jstr(o, "system_identifier"),
               *a = jstr(o, "start_lsn"), *b = jstr(o, "stop_lsn");
    double ver, tli, st, et, seg;
    int rc = 0;
    if (!type || strcmp(type, "postgres") || !src || !sys || !a || !b || jnum(o, "server_version", &ver) ||
        jnum(o, "timeline", &tli) || jnum(o, "start_time", &st) || jnum(o, "stop_time", &et) ||
        jnum(o, "wal_segment_size", &seg) || wal_lsn_parse(a, &m->start_lsn) || wal_lsn_parse(b, &m->stop_lsn) ||
        seg < 0 || seg > (double)(1u << 30) || !wal_segsize_valid((uint64_t)seg) || !(tli >= 1 && tli <= UINT32_MAX) ||
        !(ver >= 0 && ver < 1e8) || !(st >= 0 && st < 1e12) || !(et >= 0 && et < 1e12) || tablespaces_parse(o, m)) {
        err_clear();
        rc = err_set(ERR_DAMAGED, "snapshot meta is not a PostgreSQL backup's");
    } else {
        const char *ws = jstr(o, "wal_source"); /* older backups: their own source */
        snprintf(m->source, sizeof m->source, "%s", src);
        snprintf(m->wal_source, sizeof m->wal_source, "%s", ws && wal_source_valid(ws) ? ws : src);
        snprintf(m->system_id, sizeof m->system_id, "%s", sys);
        m->server_version = (int)ver;
        m->tli = (uint32_t)tli;
        m->start_time = st;
        m->stop_time = et;
        m->segsize = (uint64_t)seg;
        m->standby = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "standby"));
        double stli;
        m->stop_tli = !jnum(o, "stop_timeline", &stli) && stli >= 1 && stli <= UINT32_MAX ? (uint32_t)stli : m->tli;
        m->wal_complete = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "wal_complete"));
    }
    cJSON_Delete(o);
    return rc;
}

int pg_snapshot_is(const snapshot *s, const char *source, pg_meta *m)
{
    if (strcmp(s->source, "postgres") || pg_meta_parse(s->meta_json, m)) {
        err_clear();
        return 0;
    }
    return !source || !strcmp(m->source, source);
}

int pg_snapshot_in_archive(const snapshot *s, const char *archive, pg_meta *m)
{
    return pg_snapshot_is(s, NULL, m) && !strcmp(m->wal_source, archive);
}

static void seg_name(const pg_meta *m, uint64_t segno, char out[25]) { wal_seg_name(m->tli, segno, m->segsize, out); }

/* ---- check and forget of the archive ---------------------------------------------- */

typedef struct pg_source_set {
    char names[64][65];
    size_t n;
} pg_source_set;

/* The archives (wal_source) the backups in list use; gone: ids to leave out. */
static void archives_of(snapshot *list, size_t n, const uint8_t (*gone)[32], size_t ngone, pg_source_set *set)
{
    set->n = 0;
    for (size_t i = 0; i < n; i++) {
        pg_meta m;
        if (!pg_snapshot_is(&list[i], NULL, &m))
            continue;
        size_t k = 0, g = 0;
        while (g < ngone && memcmp(gone[g], list[i].id, 32))
            g++;
        while (k < set->n && strcmp(set->names[k], m.wal_source))
            k++;
        if (g == ngone && k == set->n && set->n < 64)
            snprintf(set->names[set->n++], sizeof set->names[0], "%s", m.wal_source);
    }
}

static void report_gaps(const wal_archive *a, const pg_meta *m, uint64_t from, uint64_t to, check_report_fn fn,
                        void *ctx, uint64_t *errors)
{
    char obj[96], msg[256], x[25], y[25];
    snprintf(obj, sizeof obj, "WAL archive of %s", m->wal_source);
    for (uint64_t s = from; s <= to; s++) {
        if (wal_archive_has(a, m->tli, s))
            continue;
        uint64_t e = s;
        while (e + 1 <= to && !wal_archive_has(a, m->tli, e + 1))
            e++;
        seg_name(m, s, x);
        seg_name(m, e, y);
        if (s == e)
            snprintf(msg, sizeof msg, "segment %s is missing: point-in-time recovery cannot cross it", x);
        else
            snprintf(msg, sizeof msg, "segments %s to %s (%llu) are missing: point-in-time recovery cannot cross them",
                     x, y, (unsigned long long)(e - s + 1));
        fn("error", obj, msg, ctx);
        (*errors)++;
        s = e;
    }
}

/* A backup of another system than its archive's (the archive's system-id, or the
 * first backup's when no segment set one): its WAL cannot be in that archive. */
static void check_system(const snapshot *s, const pg_meta *m, const char *archive_sys, check_report_fn fn, void *ctx,
                         uint64_t *errors)
{
    char sid[9], obj[64], msg[256];
    if (!strcmp(m->system_id, archive_sys))
        return;
    snapshot_short_id(s->id, sid);
    snprintf(obj, sizeof obj, "snapshot %s", sid);
    snprintf(msg, sizeof msg,
             "base backup of %s is of PostgreSQL system %s, but the WAL archive of %s holds system %s: it mixes systems",
             m->source, m->system_id, m->wal_source, archive_sys);
    fn("error", obj, msg, ctx);
    (*errors)++;
}

static int check_archive(repo *r, snapshot *list, size_t n, const char *archive, check_report_fn fn, void *ctx,
                         uint64_t *errors)
{
    wal_archive a = {0};
    pg_meta oldest = {0};
    char archive_sys[32] = "";
    uint64_t marker;
    int loaded = 0, rc = wal_system_load(r, archive, &marker);
    if (!rc)
        snprintf(archive_sys, sizeof archive_sys, "%llu", (unsigned long long)marker);
    else if (rc == ERR_NOTFOUND) /* an archive no segment reached yet, or an older one */
        rc = 0;
    else if (rc == ERR_DAMAGED) { /* reported; the backups are still checked against each other */
        char obj[96];
        snprintf(obj, sizeof obj, "WAL archive of %s", archive);
        fn("error", obj, err_msg(), ctx);
        (*errors)++;
        rc = 0;
    }
    err_clear();
    for (size_t i = 0; !rc && i < n; i++) {
        pg_meta m;
        if (!pg_snapshot_in_archive(&list[i], archive, &m))
            continue;
        if (!archive_sys[0])
            snprintf(archive_sys, sizeof archive_sys, "%s", m.system_id);
        check_system(&list[i], &m, archive_sys, fn, ctx, errors);
        if (!loaded && (rc = wal_archive_load(r, archive, m.segsize, 0, &a)))
            break;
        loaded = 1;
        if (!oldest.segsize || m.start_lsn < oldest.start_lsn)
            oldest = m;
        uint64_t first, last, gap;
        pg_meta_wal_range(&m, &first, &last);
        if ((gap = wal_archive_first_gap(&a, m.tli, first, last)) != UINT64_MAX) {
            char sid[9], obj[64], msg[160], name[25];
            snapshot_short_id(list[i].id, sid);
            seg_name(&m, gap, name);
            snprintf(obj, sizeof obj, "snapshot %s", sid);
            snprintf(msg, sizeof msg, "base backup of %s is not usable: its WAL segment %s is missing from the archive",
                     m.source, name);
            fn("error", obj, msg, ctx);
            (*errors)++;
        }
    }
    if (!rc && loaded) {
        uint64_t first, last;
        pg_meta_wal_range(&oldest, &first, &last);
        uint64_t end = wal_archive_last(&a, oldest.tli);
        if (end > last)
            report_gaps(&a, &oldest, last + 1, end, fn, ctx, errors);
    }
    wal_archive_free(&a);
    return rc;
}

int pg_check_wal(repo *r, check_report_fn fn, void *ctx, uint64_t *errors)
{
    snapshot *list;
    size_t n;
    pg_source_set set;
    int rc = snapshot_load_all(r, &list, &n, 2); /* damaged snapshots are reported by the check itself */
    if (rc)
        return rc;
    archives_of(list, n, NULL, 0, &set);
    for (size_t k = 0; !rc && k < set.n; k++)
        rc = check_archive(r, list, n, set.names[k], fn, ctx, errors);
    snapshots_free(&list, n);
    return rc;
}

/* One archive's removal, as text or as an object of kind "wal". */
static void forget_report(const char *archive, const pg_meta *oldest, const wal_forget_stats *st, int dry_run,
                          cJSON *json)
{
    char from[25], size[32];
    uint64_t first, last;
    pg_meta_wal_range(oldest, &first, &last);
    seg_name(oldest, first, from);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", "wal");
        cJSON_AddStringToObject(o, "wal_source", archive);
        cJSON_AddBoolToObject(o, "keep", 0);
        cJSON_AddStringToObject(o, "reason", "older than the oldest kept backup's first segment");
        cJSON_AddStringToObject(o, "keep_from", from);
        cJSON_AddNumberToObject(o, "files", (double)st->files);
        cJSON_AddNumberToObject(o, "bytes", (double)st->bytes);
        cJSON_AddStringToObject(o, "first", st->first_name);
        cJSON_AddStringToObject(o, "last", st->last_name);
        cJSON_AddItemToArray(json, o);
        return;
    }
    if (!st->files) {
        LOG_INFO("WAL of %s: nothing older than %s, which the oldest kept backup starts with", archive, from);
        return;
    }
    text_bytes(st->bytes, size, sizeof size);
    LOG_INFO("WAL of %s: %s %llu file(s) older than %s, which the oldest kept backup starts with: "
             "segments %s .. %s, %s stored",
             archive, dry_run ? "would remove" : "removed", (unsigned long long)st->files, from, st->first_name,
             st->last_name, size);
}

int pg_forget_wal(repo *r, const uint8_t (*gone)[32], size_t ngone, int dry_run, cJSON *json)
{
    snapshot *list;
    size_t n;
    pg_source_set set;
    int rc = snapshot_load_all(r, &list, &n, 2);
    if (rc)
        return rc;
    archives_of(list, n, gone, ngone, &set);
    for (size_t k = 0; !rc && k < set.n; k++) {
        pg_meta oldest = {0}, m;
        for (size_t i = 0; i < n; i++) {
            size_t g = 0;
            while (g < ngone && memcmp(gone[g], list[i].id, 32))
                g++;
            if (g == ngone && pg_snapshot_in_archive(&list[i], set.names[k], &m) &&
                (!oldest.segsize || m.start_lsn < oldest.start_lsn))
                oldest = m;
        }
        uint64_t first, last;
        wal_forget_stats st;
        pg_meta_wal_range(&oldest, &first, &last);
        rc = wal_archive_forget(r, set.names[k], oldest.segsize, first, dry_run, &st);
        if (!rc)
            forget_report(set.names[k], &oldest, &st, dry_run, json);
    }
    snapshots_free(&list, n);
    return rc;
}
