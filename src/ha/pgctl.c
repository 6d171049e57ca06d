/* pgctl — one PostgreSQL member of an HA group (see pgctl.h). SQL goes through
 * src/source/pgconn.c (one monotonic deadline for connect and queries, the server told
 * it too); programs of the member's bin-dir through proc_run, with LC_ALL=C so their
 * messages can be read. Runs as the database's operating-system user (the agent's),
 * as Patroni does: pg_ctl and pg_rewind must own the data folder. */
#define _GNU_SOURCE
#include "pgctl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../config/ha_config.h"
#include "../core/fsutil.h"
#include "../core/proc.h"
#include "../source/pgconn.h"
#include "../source/pgtimeline.h"
#include "pgctl_impl.h"

#define PGCTL_APP "lifeline-ha"
#define PGCTL_DEFAULT_BIN "/usr/lib/postgresql/15/bin"
#define PGCTL_OUT_CAP 8192
#define PGCTL_CONF_MAX ((size_t)4 << 20) /* a postgresql.auto.conf bigger than 4 MiB is not one */

/* ---- LSNs --------------------------------------------------------------------- */

int pgctl_parse_lsn(const char *text, uint64_t *lsn)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || slash == text || slash - text > 8 || !slash[1] || strlen(slash + 1) > 8)
        return -1;
    uint64_t hi = 0, lo = 0;
    for (const char *p = text; *p; p++) {
        if (p == slash)
            continue;
        int d = isdigit((unsigned char)*p) ? *p - '0'
                : isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        if (p < slash)
            hi = hi << 4 | (uint64_t)d;
        else
            lo = lo << 4 | (uint64_t)d;
    }
    *lsn = hi << 32 | lo;
    return 0;
}

void pgctl_format_lsn(uint64_t lsn, char *out, size_t cap)
{
    snprintf(out, cap, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

/* ---- pure helpers (pgctl_impl.h) ----------------------------------------------- */

int pgctl_name_ok(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    return n > 0 && n < 64 && !s[n];
}

int pgctl_sync_value(const char *names, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *p = names; *p;) {
        p += strspn(p, " ,\t");
        size_t n = strcspn(p, " ,\t");
        if (!n)
            break;
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)(n < 79 ? n : 79), p);
        if (n > 63 || !pgctl_name_ok(name))
            return err_set(ERR_USAGE, "synchronous standby %.*s: not a member name (1-63 of A-Z a-z 0-9 _ -)",
                           (int)(n < 80 ? n : 80), p);
        int w = snprintf(out + len, cap - len, "%s\"%s\"", len ? ", " : "", name);
        if (w < 0 || (size_t)w >= cap - len)
            return err_set(ERR_USAGE, "synchronous standby names: too many");
        len += (size_t)w;
        p += n;
    }
    return 0;
}

/* Appends to out (length *len) or fails when it does not fit. */
static int put(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= cap)
        return err_set(ERR_USAGE, "connection string too long");
    memcpy(out + *len, s, n + 1);
    *len += n;
    return 0;
}

/* key='value' with libpq's quoting (\' and \\). */
static int put_kv(char *out, size_t cap, size_t *len, const char *key, const char *val)
{
    int rc = put(out, cap, len, *len ? " " : "");
    rc = rc ? rc : put(out, cap, len, key);
    rc = rc ? rc : put(out, cap, len, "='");
    for (const char *p = val; !rc && *p; p++) {
        char c[3] = {*p, 0, 0};
        if (*p == '\'' || *p == '\\')
            c[0] = '\\', c[1] = *p;
        rc = put(out, cap, len, c);
    }
    return rc ? rc : put(out, cap, len, "'");
}

int pgctl_follow_conninfo(const char *conninfo, const char *member, char *out, size_t cap)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (!opts) {
        int rc = err_set(ERR_USAGE, "primary conninfo: %s", why ? why : "not a libpq connection string");
        PQfreemem(why);
        return rc;
    }
    size_t len = 0;
    int rc = 0;
    out[0] = '\0';
    for (PQconninfoOption *o = opts; !rc && o->keyword; o++)
        if (o->val && strcmp(o->keyword, "application_name"))
            rc = put_kv(out, cap, &len, o->keyword, o->val);
    PQconninfoFree(opts);
    return rc ? rc : put_kv(out, cap, &len, "application_name", member);
}

int pgctl_conf_quote(const char *v, char *out, size_t cap)
{
    size_t len = 0;
    int rc = put(out, cap, &len, "'");
    for (const char *p = v; !rc && *p; p++) {
        char c[3] = {*p, 0, 0};
        if (*p == '\'' || *p == '\\')
            c[1] = *p;
        rc = put(out, cap, &len, c);
    }
    return rc ? rc : put(out, cap, &len, "'");
}

/* Does the line set one of keys? (leading blanks, the name, then blanks or '=') */
static int sets_key(const char *line, size_t n, const char *const *keys)
{
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    for (const char *const *k = keys; *k; k++) {
        size_t kl = strlen(*k);
        if (i + kl <= n && !strncasecmp(line + i, *k, kl) &&
            (i + kl == n || strchr(" \t=", line[i + kl])))
            return 1;
    }
    return 0;
}

int pgctl_conf_edit(const char *text, size_t len, const char *const *keys, const char *add, buf *out)
{
    int rc = 0;
    for (size_t at = 0; !rc && at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        if (!sets_key(text + at, n, keys)) {
            rc = buf_append(out, text + at, n);
            rc = rc ? rc : buf_append_u8(out, '\n');
        }
        at += n + 1;
    }
    return rc ? rc : buf_append(out, add, strlen(add));
}

/* The value after "label" at the start of a line, blanks skipped; NULL if absent. */
static const char *field(const char *text, const char *label, char *val, size_t cap)
{
    size_t ll = strlen(label);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, label, ll)) {
            p += ll;
            p += strspn(p, " \t");
            size_t n = strcspn(p, "\r\n");
            snprintf(val, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
            return val;
        }
    return NULL;
}

int pgctl_controldata_rewindable(const char *text, int *possible, char *why, size_t cap)
{
    char hints[32], sums[32];
    const char *h = field(text, "wal_log_hints setting:", hints, sizeof hints);
    const char *c = field(text, "Data page checksum version:", sums, sizeof sums);
    if (!h && !c)
        return err_set(ERR_SOURCE, "pg_controldata: neither wal_log_hints nor the checksum version in its output");
    *possible = (h && !strcmp(h, "on")) || (c && strcmp(c, "0"));
    if (why && cap)
        snprintf(why, cap, "%s", *possible ? (h && !strcmp(h, "on") ? "wal_log_hints is on" : "data checksums are on")
                                           : "wal_log_hints is off and data checksums are off: pg_rewind "
                                             "cannot run (rebuild the member from a backup instead)");
    return 0;
}

void pgctl_last_line(const char *text, char *out, size_t cap)
{
    const char *best = "";
    size_t bn = 0;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\r' || p[t - 1] == '\t'))
            t--;
        if (t)
            best = p, bn = t;
        p += n + (p[n] == '\n');
    }
    snprintf(out, cap, "%.*s", (int)(bn < cap ? bn : cap - 1), best);
}

/* ---- SQL ----------------------------------------------------------------------- */

static int64_t deadline_of(int64_t timeout_ms) { return proc_now_ms() + (timeout_ms > 0 ? timeout_ms : 0); }

/* Runs one statement and drops its result. */
static int run_sql(PGconn *c, const char *what, const char *sql, int64_t deadline_ms)
{
    PGresult *r;
    int rc = pgconn_exec(c, what, sql, deadline_ms, &r);
    PQclear(r);
    return rc;
}

/* The first column of the first row as text ("" when NULL or no row). */
static int sql_value(PGconn *c, const char *what, const char *sql, int64_t deadline_ms, char *out, size_t cap)
{
    PGresult *r;
    int rc = pgconn_exec(c, what, sql, deadline_ms, &r);
    if (rc)
        return rc;
    snprintf(out, cap, "%s", PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* ALTER SYSTEM runs alone (never in a transaction block), then pg_reload_conf(); the
 * reload is asynchronous: done when our own session sees the new value, since the
 * postmaster signals its children only after it has reloaded itself (so every new
 * session, and every idle one at its next command, has it too). */
static int alter_and_reload(PGconn *c, const char *alter, const char *guc, const char *want, int64_t deadline_ms)
{
    int rc = run_sql(c, "alter system", alter, deadline_ms);
    rc = rc ? rc : run_sql(c, "pg_reload_conf", "select pg_reload_conf()", deadline_ms);
    char sql[160], val[4096];
    snprintf(sql, sizeof sql, "select current_setting('%s')", guc);
    while (!rc) {
        rc = sql_value(c, "current_setting", sql, deadline_ms, val, sizeof val);
        if (rc || !strcmp(val, want))
            break;
        if (proc_now_ms() + 10 >= deadline_ms)
            return err_set(ERR_SOURCE, "%s is still '%s' after the reload (set in postgresql.conf, or on the "
                           "command line?)", guc, val);
        sleep_ms(10);
    }
    return rc;
}

/* Opens conninfo as lifeline-ha, or fails naming the conninfo's error. */
static int open_member(const char *conninfo, int64_t deadline_ms, PGconn **c)
{
    if (!conninfo || !*conninfo)
        return err_set(ERR_USAGE, "no conninfo for the member");
    return pgconn_open(conninfo, PGCTL_APP, deadline_ms, c);
}

/* One round trip: role, positions, timeline, the wal receiver, read-only. The role is
 * read once (the subquery with OFFSET 0 is not flattened) so the CASEs agree. On a
 * primary the timeline is that of the WAL being written (pg_walfile_name's first 8 hex
 * digits), right even before the checkpoint that follows a promotion; on a standby the
 * receiver's, else the last restartpoint's. */
static const char query_sql[] =
    "select s.r, case when not s.r then pg_current_wal_lsn() end, pg_last_wal_receive_lsn(), "
    "pg_last_wal_replay_lsn(), case when not s.r then pg_walfile_name(pg_current_wal_lsn()) end, "
    "coalesce(nullif(w.received_tli, 0), (pg_control_checkpoint()).timeline_id), "
    "current_setting('default_transaction_read_only'), w.status, w.sender_host, w.sender_port "
    "from (select pg_is_in_recovery() as r offset 0) s left join pg_stat_wal_receiver w on true";

int pgctl_streams_from(const char *upstream, const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (!opts)
        return 1;
    const char *host = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!strcmp(o->keyword, "host") && o->val && *o->val)
            host = o->val;
        else if (!strcmp(o->keyword, "hostaddr") && o->val && *o->val && !host)
            host = o->val;
        else if (!strcmp(o->keyword, "port") && o->val && *o->val)
            port = o->val;
    }
    int same = 1;
    if (host && !strchr(host, ',')) { /* a multi-host conninfo: not ours to judge */
        char want[300];
        int v6 = strchr(host, ':') != NULL;
        snprintf(want, sizeof want, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port ? port : "5432");
        same = !strcmp(want, upstream);
    }
    PQconninfoFree(opts);
    return same;
}

static uint64_t lsn_col(const PGresult *r, int col)
{
    uint64_t v = 0;
    if (!PQgetisnull(r, 0, col) && pgctl_parse_lsn(PQgetvalue(r, 0, col), &v))
        v = 0;
    return v;
}

static void fill_state(const PGresult *r, pg_state *st)
{
    st->primary = !strcmp(PQgetvalue(r, 0, 0), "f");
    st->current_lsn = lsn_col(r, 1);
    st->receive_lsn = lsn_col(r, 2);
    st->replay_lsn = lsn_col(r, 3);
    const char *tli = PQgetisnull(r, 0, 4) ? PQgetvalue(r, 0, 5) : PQgetvalue(r, 0, 4);
    char hex[9];
    snprintf(hex, sizeof hex, "%s", tli);
    st->timeline = (uint32_t)strtoul(hex, NULL, PQgetisnull(r, 0, 4) ? 10 : 16);
    st->read_only = !strcmp(PQgetvalue(r, 0, 6), "on");
    const char *status = PQgetisnull(r, 0, 7) ? "" : PQgetvalue(r, 0, 7);
    st->streaming = !st->primary && !strcmp(status, "streaming");
    if (!st->primary && !PQgetisnull(r, 0, 8)) {
        const char *h = PQgetvalue(r, 0, 8);
        int v6 = strchr(h, ':') != NULL;
        snprintf(st->upstream, sizeof st->upstream, "%s%s%s:%s", v6 ? "[" : "", h, v6 ? "]" : "",
                 PQgetisnull(r, 0, 9) ? "" : PQgetvalue(r, 0, 9));
    }
    char lsn[32];
    if (st->primary)
        pgctl_format_lsn(st->current_lsn, lsn, sizeof lsn),
            snprintf(st->detail, sizeof st->detail, "primary%s, timeline %" PRIu32 ", at %s",
                     st->read_only ? " (read-only: fenced)" : "", st->timeline, lsn);
    else if (st->streaming)
        pgctl_format_lsn(st->replay_lsn, lsn, sizeof lsn),
            snprintf(st->detail, sizeof st->detail, "standby streaming from %s, replayed %s", st->upstream, lsn);
    else
        pgctl_format_lsn(st->replay_lsn, lsn, sizeof lsn),
            snprintf(st->detail, sizeof st->detail, "standby, not streaming (wal receiver: %s), replayed %s",
                     *status ? status : "none", lsn);
}

int pgctl_query(const char *conninfo, int64_t timeout_ms, pg_state *out)
{
    memset(out, 0, sizeof *out);
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    int rc = open_member(conninfo, deadline, &c);
    if (rc) {
        snprintf(out->detail, sizeof out->detail, "%s", err_msg());
        return rc;
    }
    out->reachable = 1;
    PGresult *r;
    rc = pgconn_exec(c, "state", query_sql, deadline, &r);
    if (!rc && (PQntuples(r) != 1 || PQnfields(r) != 10))
        rc = err_set(ERR_SOURCE, "state: an answer of unexpected shape");
    if (rc)
        snprintf(out->detail, sizeof out->detail, "%s", err_msg());
    else
        fill_state(r, out);
    PQclear(r);
    PQfinish(c);
    return rc;
}

int pgctl_replicas(const char *conninfo, int64_t timeout_ms, pg_replica **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    int rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    PGresult *r;
    rc = pgconn_exec(c, "pg_stat_replication",
                     "select application_name, state, sync_state, flush_lsn, replay_lsn "
                     "from pg_stat_replication order by application_name, pid",
                     deadline, &r);
    PQfinish(c);
    if (rc)
        return rc;
    size_t rows = (size_t)PQntuples(r);
    pg_replica *a = calloc(rows ? rows : 1, sizeof *a);
    if (!a) {
        PQclear(r);
        return err_set(ERR_FATAL, "out of memory");
    }
    for (size_t i = 0; i < rows; i++) {
        int row = (int)i;
        snprintf(a[i].name, sizeof a[i].name, "%s", PQgetvalue(r, row, 0));
        snprintf(a[i].state, sizeof a[i].state, "%s", PQgetvalue(r, row, 1));
        snprintf(a[i].sync_state, sizeof a[i].sync_state, "%s", PQgetvalue(r, row, 2));
        if (pgctl_parse_lsn(PQgetvalue(r, row, 3), &a[i].flush_lsn))
            a[i].flush_lsn = 0;
        if (pgctl_parse_lsn(PQgetvalue(r, row, 4), &a[i].replay_lsn))
            a[i].replay_lsn = 0;
    }
    PQclear(r);
    *out = a;
    *n = rows;
    return 0;
}

int pgctl_promote(const char *conninfo, int64_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    int rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    /* pg_promote gives up a little before our deadline, so a slow promotion is its
     * "false" rather than a cancelled statement; a primary already is promoted */
    int64_t left = deadline - proc_now_ms();
    long secs = (long)(left > 2000 ? (left - 1000) / 1000 : 1);
    char sql[160], val[16];
    snprintf(sql, sizeof sql, "select case when pg_is_in_recovery() then pg_promote(true, %ld) else true end", secs);
    rc = sql_value(c, "pg_promote", sql, deadline, val, sizeof val);
    PQfinish(c);
    if (!rc && strcmp(val, "t"))
        rc = err_set(ERR_SOURCE, "pg_promote: still in recovery after %lds", secs);
    return rc;
}

int pgctl_checkpoint(const char *conninfo, int64_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    PGresult *r = NULL;
    int rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    rc = pgconn_exec(c, "checkpoint", "checkpoint", deadline, &r);
    PQclear(r);
    PQfinish(c);
    return rc;
}

int pgctl_fence(const char *conninfo, int64_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    int rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    rc = alter_and_reload(c, "alter system set default_transaction_read_only = on", "default_transaction_read_only",
                          "on", deadline);
    /* sessions started before the reload may be inside a read-write transaction:
     * they go (walsenders and background workers are not client backends) */
    if (!rc)
        rc = run_sql(c, "terminate sessions",
                     "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                     "where backend_type = 'client backend' and pid <> pg_backend_pid()",
                     deadline);
    PQfinish(c);
    return rc ? err_wrap("fence") : 0;
}

int pgctl_unfence(const char *conninfo, int64_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    int rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    rc = alter_and_reload(c, "alter system reset default_transaction_read_only", "default_transaction_read_only",
                          "off", deadline);
    PQfinish(c);
    return rc ? err_wrap("unfence") : 0;
}

int pgctl_set_sync(const char *conninfo, const char *names, int64_t timeout_ms)
{
    char value[1024], sql[1200];
    int rc = pgctl_sync_value(names ? names : "", value, sizeof value);
    if (rc)
        return rc;
    /* names are checked: no quote can reach the statement */
    snprintf(sql, sizeof sql, "alter system set synchronous_standby_names = '%s'", value);
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    rc = alter_and_reload(c, sql, "synchronous_standby_names", value, deadline);
    PQfinish(c);
    return rc ? err_wrap("synchronous_standby_names") : 0;
}

int pgctl_repoint(const char *conninfo, const char *member, const char *primary_conninfo, int64_t timeout_ms)
{
    char ci[2048], sql[4400];
    int rc = pgctl_name_ok(member ? member : "") ? 0 : err_set(ERR_USAGE, "member %s: not a name a standby can use",
                                                                member ? member : "(none)");
    rc = rc ? rc : pgctl_follow_conninfo(primary_conninfo ? primary_conninfo : "", member, ci, sizeof ci);
    if (rc)
        return rc;
    int64_t deadline = deadline_of(timeout_ms);
    PGconn *c;
    rc = open_member(conninfo, deadline, &c);
    if (rc)
        return rc;
    char *lit = PQescapeLiteral(c, ci, strlen(ci));
    if (!lit)
        rc = err_set(ERR_FATAL, "primary_conninfo: %s", PQerrorMessage(c));
    else
        snprintf(sql, sizeof sql, "alter system set primary_conninfo = %s", lit);
    PQfreemem(lit);
    rc = rc ? rc : alter_and_reload(c, sql, "primary_conninfo", ci, deadline);
    PQfinish(c);
    return rc ? err_wrap("repoint %s", member) : 0;
}

/* ---- programs of the bin-dir ----------------------------------------------------- */

/* Single-quoted for /bin/sh, followed by a space. */
static int sh_arg(buf *b, const char *s)
{
    int rc = buf_append_u8(b, '\'');
    for (; !rc && *s; s++)
        rc = *s == '\'' ? buf_append(b, "'\\''", 4) : buf_append_u8(b, (uint8_t)*s);
    return rc ? rc : buf_append(b, "' ", 2);
}

static int sh_text(buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

/* 'BIN/program' */
static int sh_program(buf *b, const config_member *m, const char *program)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", m->bin_dir && *m->bin_dir ? m->bin_dir : PGCTL_DEFAULT_BIN, program);
    return sh_arg(b, path);
}

static int check_member(const config_member *m)
{
    if (!m || !m->data_dir || !*m->data_dir)
        return err_set(ERR_CONFIG, "member %s: no data-dir", m ? m->name : "?");
    return 0;
}

/* Whole seconds for a program's own -t, a little inside our deadline. */
static long secs_within(int64_t timeout_ms) { return timeout_ms > 1500 ? (long)((timeout_ms - 500) / 1000) : 1; }

/* Runs the command (NUL-terminated in b) with LC_ALL=C; 0 when it exited 0, else
 * ERR_SOURCE "what: <last line of its output> (exit N)". out holds its output. */
static int run_program(const config_member *m, const char *what, buf *b, int64_t timeout_ms, int leave,
                       const char *extra_env, char *out, size_t cap)
{
    const char *env[] = {"LC_ALL=C", "LANG=C", extra_env, NULL};
    proc_result res;
    int rc = buf_append_u8(b, 0);
    if (rc)
        return rc;
    rc = leave ? proc_run_leave((const char *)b->data, timeout_ms, env, NULL, out, cap, &res)
               : proc_run((const char *)b->data, timeout_ms, env, NULL, out, cap, &res);
    if (rc)
        return err_wrap("member %s: %s", m->name, what);
    if (res.exited && res.status == 0)
        return 0;
    char how[96], last[400];
    proc_describe(&res, how, sizeof how);
    pgctl_last_line(out, last, sizeof last);
    return err_set(ERR_SOURCE, "member %s: %s: %s%s(%s)", m->name, what, last, *last ? " " : "", how);
}

int pgctl_stop(const config_member *m, const char *mode, int64_t timeout_ms)
{
    int rc = check_member(m);
    if (rc)
        return rc;
    if (!mode || (strcmp(mode, "fast") && strcmp(mode, "immediate") && strcmp(mode, "smart")))
        return err_set(ERR_USAGE, "stop mode %s: not fast, immediate or smart", mode ? mode : "(none)");
    char t[64], out[PGCTL_OUT_CAP] = "";
    buf b;
    buf_init(&b, 64 * 1024);
    snprintf(t, sizeof t, "-m %s -w -t %ld stop", mode, secs_within(timeout_ms));
    rc = sh_program(&b, m, "pg_ctl");
    rc = rc ? rc : sh_text(&b, "-D ");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : sh_text(&b, t);
    rc = rc ? rc : run_program(m, "pg_ctl stop", &b, timeout_ms, 0, NULL, out, sizeof out);
    buf_free(&b);
    /* a stopped server is what was asked for */
    if (rc == ERR_SOURCE && strstr(out, "Is server running?"))
        err_clear(), rc = 0;
    return rc;
}

/* State and parent of a process from /proc/PID/stat: 0, or -1 when it is gone or the
 * line cannot be read. The name may hold anything: state and ppid follow the last ')'. */
static int proc_stat(pid_t pid, char *state, long *ppid)
{
    char path[64], st[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t len = fread(st, 1, sizeof st - 1, f);
    fclose(f);
    st[len] = '\0';
    const char *close = strrchr(st, ')');
    char *end;
    if (!close || close[1] != ' ' || !close[2] || close[3] != ' ')
        return -1;
    *state = close[2];
    errno = 0;
    *ppid = strtol(close + 4, &end, 10);
    return errno || end == close + 4 ? -1 : 0;
}

/* The pids whose parent is ppid (at most cap), from /proc. */
static size_t children_of(pid_t ppid, pid_t *out, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && n < cap && (e = readdir(d))) {
        char *end, state;
        errno = 0;
        long pid = strtol(e->d_name, &end, 10), parent;
        if (errno || end == e->d_name || *end || pid <= 0 || pid > INT_MAX)
            continue; /* not a process's folder */
        if (proc_stat((pid_t)pid, &state, &parent) == 0 && parent == (long)ppid)
            out[n++] = (pid_t)pid;
    }
    if (d)
        closedir(d);
    return n;
}

int pgctl_pid_gone(pid_t pid)
{
    char state;
    long parent;
    return proc_stat(pid, &state, &parent) != 0 || state == 'Z' || state == 'X';
}

int pgctl_kill(const config_member *m, int64_t timeout_ms)
{
    int rc = check_member(m);
    if (rc)
        return rc;
    char path[4200], cwd[4200], real[PATH_MAX];
    snprintf(path, sizeof path, "%s/postmaster.pid", m->data_dir);
    FILE *f = fopen(path, "r");
    long pm = 0;
    int got = f ? fscanf(f, "%ld", &pm) : 0;
    if (f)
        fclose(f);
    if (got != 1 || pm <= 0 || pgctl_pid_gone((pid_t)pm))
        return 0; /* none runs */
    snprintf(path, sizeof path, "/proc/%ld/cwd", pm);
    ssize_t n = readlink(path, cwd, sizeof cwd - 1);
    if (n < 0 || !realpath(m->data_dir, real) || (cwd[n] = '\0', strcmp(cwd, real)))
        return err_set(ERR_SOURCE, "%s: process %ld of postmaster.pid does not work in %s: not killed", m->name, pm,
                       m->data_dir);
    pid_t kids[512];
    size_t nk = children_of((pid_t)pm, kids, sizeof kids / sizeof *kids);
    if (kill((pid_t)pm, SIGKILL) != 0 && errno != ESRCH)
        return err_sys(ERR_SOURCE, "%s: kill -9 of postmaster %ld", m->name, pm);
    for (size_t i = 0; i < nk; i++)
        (void)kill(kids[i], SIGKILL); /* a child gone meanwhile is fine */
    int64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        int alive = !pgctl_pid_gone((pid_t)pm);
        for (size_t i = 0; i < nk && !alive; i++)
            alive = !pgctl_pid_gone(kids[i]);
        if (!alive)
            return 0;
        if (proc_now_ms() >= deadline)
            return err_set(ERR_SOURCE, "%s: postgres processes still there %lld ms after kill -9", m->name,
                           (long long)timeout_ms);
        usleep(20000);
    }
}

/* Where the server's output goes: beside the data folder (<parent>/lifeline-<name>.log)
 * when that folder is writable, so it survives a pg_rewind or a rebuild of the data
 * folder and stays out of base backups; else inside it, DATA/log/lifeline-start.log. */
static int log_path(const char *data, char *out, size_t cap)
{
    char d[4096];
    snprintf(d, sizeof d, "%s", data);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    char *slash = strrchr(d, '/');
    const char *base = slash ? slash + 1 : d;
    char parent[4096];
    snprintf(parent, sizeof parent, "%.*s", slash ? (slash == d ? 1 : (int)(slash - d)) : 1, slash ? d : ".");
    if (access(parent, W_OK) == 0) {
        snprintf(out, cap, "%s%slifeline-%s.log", parent, strcmp(parent, "/") ? "/" : "", base);
        return 0;
    }
    char logdir[4096];
    snprintf(logdir, sizeof logdir, "%s/log", d);
    if (mkdir(logdir, 0700) && errno != EEXIST)
        return err_sys(ERR_IO, "create %s", logdir);
    snprintf(out, cap, "%s/lifeline-start.log", logdir);
    return 0;
}

int pgctl_start(const config_member *m, int64_t timeout_ms)
{
    int rc = check_member(m);
    if (rc)
        return rc;
    char logf[4200], t[64], out[PGCTL_OUT_CAP];
    rc = log_path(m->data_dir, logf, sizeof logf);
    if (rc)
        return err_wrap("member %s: start", m->name);
    buf b;
    buf_init(&b, 64 * 1024);
    /* a running server is what was asked for: pg_ctl status first (exit 0: running) */
    snprintf(t, sizeof t, "-w -t %ld start", secs_within(timeout_ms));
    rc = sh_program(&b, m, "pg_ctl");
    rc = rc ? rc : sh_text(&b, "status -D ");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : sh_text(&b, ">/dev/null 2>&1 || ");
    rc = rc ? rc : sh_program(&b, m, "pg_ctl");
    rc = rc ? rc : sh_text(&b, "-D ");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : sh_text(&b, "-l ");
    rc = rc ? rc : sh_arg(&b, logf);
    rc = rc ? rc : sh_text(&b, t);
    /* the postmaster must outlive the command */
    rc = rc ? rc : run_program(m, "pg_ctl start", &b, timeout_ms, 1, NULL, out, sizeof out);
    buf_free(&b);
    if (rc == ERR_SOURCE)
        err_hint("the server's log: %s", logf);
    return rc;
}

/* Is the member's server running? (pg_ctl status: 0 running, 3 not, 4 no data folder) */
static int is_running(const config_member *m, int64_t timeout_ms, int *running)
{
    char out[PGCTL_OUT_CAP] = "";
    buf b;
    buf_init(&b, 64 * 1024);
    int rc = sh_program(&b, m, "pg_ctl");
    rc = rc ? rc : sh_text(&b, "status -D ");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : run_program(m, "pg_ctl status", &b, timeout_ms, 0, NULL, out, sizeof out);
    buf_free(&b);
    *running = rc == 0;
    if (rc == ERR_SOURCE && strstr(out, "no server running"))
        err_clear(), rc = 0;
    return rc;
}

/* Replaces the keys' lines of DATA/postgresql.auto.conf by add, durably (temp name,
 * fsync, rename, fsync of the folder); a missing file counts as empty. */
static int edit_auto_conf(const config_member *m, const char *const *keys, const char *add)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/postgresql.auto.conf", m->data_dir);
    buf old, neu;
    buf_init(&old, PGCTL_CONF_MAX);
    buf_init(&neu, PGCTL_CONF_MAX);
    int rc = fs_read_file(path, &old, PGCTL_CONF_MAX);
    if (rc == ERR_NOTFOUND)
        err_clear(), rc = 0;
    rc = rc ? rc : pgctl_conf_edit((const char *)old.data, old.len, keys, add, &neu);
    rc = rc ? rc : fs_write_durable(path, neu.data, neu.len, 0600, 0);
    buf_free(&old);
    buf_free(&neu);
    return rc ? err_wrap("member %s: postgresql.auto.conf", m->name) : 0;
}

int pgctl_follow(const config_member *m, const char *primary_conninfo, int64_t timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    int rc = check_member(m), running = 0;
    rc = rc ? rc : is_running(m, timeout_ms, &running);
    if (!rc && running)
        return err_set(ERR_USAGE, "member %s: its server is running: stop it before it follows a primary", m->name);
    char ci[2048], q[4200], add[4400], path[4200];
    rc = rc ? rc : pgctl_name_ok(m->name) ? 0 : err_set(ERR_USAGE, "member %s: not a name a standby can use", m->name);
    rc = rc ? rc : pgctl_follow_conninfo(primary_conninfo ? primary_conninfo : "", m->name, ci, sizeof ci);
    rc = rc ? rc : pgctl_conf_quote(ci, q, sizeof q);
    if (rc)
        return rc;
    /* a fence left in the file would make this standby read-only once promoted; a
     * standby refuses writes anyway */
    static const char *const keys[] = {"primary_conninfo", "recovery_target_timeline", "primary_slot_name",
                                       "default_transaction_read_only", NULL};
    snprintf(add, sizeof add, "primary_conninfo = %s\nrecovery_target_timeline = 'latest'\n", q);
    rc = edit_auto_conf(m, keys, add);
    snprintf(path, sizeof path, "%s/standby.signal", m->data_dir);
    rc = rc ? rc : fs_write_durable(path, "", 0, 0600, 0);
    if (rc)
        return rc;
    int64_t left = deadline - proc_now_ms();
    return pgctl_start(m, left > 0 ? left : 1);
}

/* The configuration files pg_rewind would replace with the source's (its port, its
 * listen address, its fence): kept and put back, as Patroni does. */
static const char *const kept_conf[] = {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"};
#define NKEPT (sizeof kept_conf / sizeof *kept_conf)

static int keep_conf(const config_member *m, buf kept[NKEPT], int have[NKEPT])
{
    for (size_t i = 0; i < NKEPT; i++)
        buf_init(&kept[i], PGCTL_CONF_MAX);
    for (size_t i = 0; i < NKEPT; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", m->data_dir, kept_conf[i]);
        int rc = fs_read_file(path, &kept[i], PGCTL_CONF_MAX);
        have[i] = rc == 0;
        if (rc == ERR_NOTFOUND)
            err_clear();
        else if (rc)
            return err_wrap("member %s: keep its configuration", m->name);
    }
    return 0;
}

static int put_back_conf(const config_member *m, buf kept[NKEPT], const int have[NKEPT])
{
    int rc = 0;
    for (size_t i = 0; i < NKEPT; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", m->data_dir, kept_conf[i]);
        if (have[i] && !rc)
            rc = fs_write_durable(path, kept[i].data, kept[i].len, 0600, 0);
        buf_free(&kept[i]);
    }
    return rc ? err_wrap("member %s: put its configuration back after pg_rewind", m->name) : 0;
}

int pgctl_rewind(const config_member *m, const char *source_conninfo, int64_t timeout_ms, char *err, size_t cap)
{
    if (err && cap)
        err[0] = '\0';
    int rc = check_member(m);
    if (rc || !source_conninfo || !*source_conninfo) {
        rc = rc ? rc : err_set(ERR_USAGE, "member %s: no source conninfo to rewind from", m->name);
        if (err && cap)
            snprintf(err, cap, "%s", err_msg());
        return rc;
    }
    buf kept[NKEPT];
    int have[NKEPT] = {0};
    rc = keep_conf(m, kept, have);
    char *out = malloc(PGCTL_OUT_CAP);
    buf b;
    buf_init(&b, 64 * 1024);
    if (!out)
        rc = rc ? rc : err_set(ERR_FATAL, "out of memory");
    rc = rc ? rc : sh_program(&b, m, "pg_rewind");
    rc = rc ? rc : sh_text(&b, "--target-pgdata=");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : sh_text(&b, "--source-server=");
    rc = rc ? rc : sh_arg(&b, source_conninfo);
    /* libpq reads the connect timeout from the environment whatever the conninfo's form */
    char ct[48];
    snprintf(ct, sizeof ct, "PGCONNECT_TIMEOUT=%ld", secs_within(timeout_ms) < 2 ? 2L : secs_within(timeout_ms));
    int ran = !rc;
    rc = rc ? rc : run_program(m, "pg_rewind", &b, timeout_ms, 0, ct, out, PGCTL_OUT_CAP);
    if (ran && err && cap && rc)
        snprintf(err, cap, "%s", err_msg());
    err_saved saved;
    err_save(&saved);
    int prc = put_back_conf(m, kept, have);
    if (rc)
        err_restore(&saved);
    else
        rc = prc;
    if (rc && err && cap && !err[0])
        snprintf(err, cap, "%s", err_msg());
    free(out);
    buf_free(&b);
    return rc;
}

int pgctl_rewind_possible(const config_member *m, int *possible, char *why, size_t cap)
{
    *possible = 0;
    int rc = check_member(m);
    if (rc)
        return rc;
    char out[PGCTL_OUT_CAP];
    buf b;
    buf_init(&b, 64 * 1024);
    rc = sh_program(&b, m, "pg_controldata");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : run_program(m, "pg_controldata", &b, 30000, 0, NULL, out, sizeof out);
    buf_free(&b);
    return rc ? rc : pgctl_controldata_rewindable(out, possible, why, cap);
}

/* ---- where a member's WAL ends, and the leader's history ---------------------------- */

int pgctl_history(const char *conninfo, int64_t timeout_ms, uint32_t *tli, buf *text)
{
    int64_t deadline = deadline_of(timeout_ms);
    char ci[2200], sql[64];
    *tli = 0;
    text->len = 0;
    /* key=value whatever the form given, so that replication=true can be added */
    int rc = pgctl_follow_conninfo(conninfo ? conninfo : "", PGCTL_APP, ci, sizeof ci - 32);
    if (rc)
        return rc;
    size_t used = strlen(ci);
    snprintf(ci + used, sizeof ci - used, " replication=true"); /* room kept above */
    PGconn *c = NULL;
    PGresult *r = NULL;
    rc = open_member(ci, deadline, &c);
    rc = rc ? rc : pgconn_exec(c, "IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM", deadline, &r);
    if (!rc && (PQntuples(r) < 1 || PQnfields(r) < 2 || !(*tli = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10))))
        rc = err_set(ERR_SOURCE, "IDENTIFY_SYSTEM: no timeline in its answer");
    PQclear(r);
    r = NULL;
    if (!rc && *tli > 1) { /* timeline 1 has no history */
        snprintf(sql, sizeof sql, "TIMELINE_HISTORY %u", *tli);
        rc = pgconn_exec(c, "TIMELINE_HISTORY", sql, deadline, &r);
        if (!rc && (PQntuples(r) < 1 || PQnfields(r) < 2))
            rc = err_set(ERR_SOURCE, "TIMELINE_HISTORY %u: no file in its answer", *tli);
        if (!rc)
            rc = buf_append(text, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
        PQclear(r);
    }
    if (c)
        PQfinish(c);
    return rc ? err_wrap("timeline history (a replication connection)") : 0;
}

int pgctl_waldump_last(const char *text, uint64_t *lsn)
{
    int found = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "rmgr: ", 6))
            continue; /* pg_waldump's own messages (the error at the end of the WAL) */
        size_t n = strcspn(p, "\n");
        const char *l = memmem(p, n, ", lsn: ", 7);
        if (!l)
            continue;
        char v[32];
        size_t k = strcspn(l + 7, ", \n");
        snprintf(v, sizeof v, "%.*s", (int)(k < sizeof v ? k : sizeof v - 1), l + 7);
        uint64_t x;
        if (pgctl_parse_lsn(v, &x) == 0)
            *lsn = x, found = 1;
    }
    return found ? 0 : -1;
}

/* The path of the newest timeline the member's pg_wal holds a history file for: each
 * timeline on it and the switch point where it begins; p->n 0 when there is none
 * (never promoted, or timeline 1). */
static int newest_history(const config_member *m, int64_t deadline, pgtl_path *p)
{
    char pgwal[4200], out[PGCTL_OUT_CAP] = "";
    p->n = 0;
    snprintf(pgwal, sizeof pgwal, "%s/pg_wal", m->data_dir);
    buf b;
    buf_init(&b, 4096);
    int rc = sh_text(&b, "cd ");
    rc = rc ? rc : sh_arg(&b, pgwal);
    rc = rc ? rc : sh_text(&b, "&& f=$(ls | grep -E '^[0-9A-F]{8}[.]history$' | sort | tail -n 1) && "
                               "if [ -n \"$f\" ]; then echo \"$f\"; cat \"$f\"; fi");
    int64_t left = deadline - proc_now_ms();
    rc = rc ? rc : run_program(m, "the history files in pg_wal", &b, left > 0 ? left : 1, 0, NULL, out, sizeof out);
    buf_free(&b);
    const char *text = strchr(out, '\n');
    if (rc || !out[0] || !text)
        return rc;
    uint32_t t = (uint32_t)strtoul(out, NULL, 16);
    if (!t || pgtl_parse_history(text + 1, strlen(text + 1), t, p) || !p->n) {
        p->n = 0;
        return err_set(ERR_SOURCE, "member %s: %.8s.history in pg_wal cannot be read", m->name, out);
    }
    return 0;
}

/* The last record pg_waldump reads on timeline tli from start: the scan ends at the
 * first invalid record (the end of the WAL), where pg_waldump fails: the pipe keeps
 * the last lines and its status is tail's. */
static int waldump_last(const config_member *m, int64_t deadline, uint32_t tli, uint64_t start, uint64_t *last)
{
    char out[PGCTL_OUT_CAP], v[64], t[96], pgwal[4200];
    pgctl_format_lsn(start, v, sizeof v);
    snprintf(t, sizeof t, "-t %u -s %s 2>&1 | tail -n 4", tli, v);
    snprintf(pgwal, sizeof pgwal, "%s/pg_wal", m->data_dir);
    buf b;
    buf_init(&b, 4096);
    int rc = sh_program(&b, m, "pg_waldump");
    rc = rc ? rc : sh_text(&b, "-p ");
    rc = rc ? rc : sh_arg(&b, pgwal);
    rc = rc ? rc : sh_text(&b, t);
    int64_t left = deadline - proc_now_ms();
    rc = rc ? rc : run_program(m, "pg_waldump", &b, left > 0 ? left : 1, 0, NULL, out, sizeof out);
    buf_free(&b);
    if (!rc && pgctl_waldump_last(out, last) != 0) {
        char line[300];
        pgctl_last_line(out, line, sizeof line);
        rc = err_set(ERR_SOURCE, "member %s: pg_waldump on timeline %u from %s read no record: %s", m->name, tli,
                     v, line);
    }
    return rc;
}

/* Where the member's WAL ends: read from its latest checkpoint on, on that
 * checkpoint's timeline; or, when pg_wal holds the history of newer timelines than
 * that, on the newest of them that has WAL of its own, from where it begins (a
 * history file can come without WAL: fetched from an archive while following). A
 * member promoted shortly before it stopped has no checkpoint on its new timeline
 * yet (the one after a promotion is spread out), and its old timeline's WAL ends at
 * the switch: read there alone, a member that went on after the fork would look like
 * one that never did. */
int pgctl_wal_last(const config_member *m, int64_t timeout_ms, uint32_t *tli, uint64_t *last)
{
    int64_t deadline = deadline_of(timeout_ms);
    int rc = check_member(m);
    if (rc)
        return rc;
    char out[PGCTL_OUT_CAP], v[64];
    uint64_t ckpt = 0;
    pgtl_path p = {.n = 0};
    buf b;
    buf_init(&b, 64 * 1024);
    rc = sh_program(&b, m, "pg_controldata");
    rc = rc ? rc : sh_arg(&b, m->data_dir);
    rc = rc ? rc : run_program(m, "pg_controldata", &b, timeout_ms, 0, NULL, out, sizeof out);
    buf_free(&b);
    if (!rc && (!field(out, "Latest checkpoint location:", v, sizeof v) || pgctl_parse_lsn(v, &ckpt) != 0))
        rc = err_set(ERR_SOURCE, "member %s: pg_controldata: no latest checkpoint location", m->name);
    if (!rc && (!field(out, "Latest checkpoint's TimeLineID:", v, sizeof v) ||
                !(*tli = (uint32_t)strtoul(v, NULL, 10))))
        rc = err_set(ERR_SOURCE, "member %s: pg_controldata: no checkpoint timeline", m->name);
    if (!rc && newest_history(m, deadline, &p) != 0)
        err_clear(); /* unreadable: the checkpoint's timeline alone */
    for (size_t i = p.n; !rc && i-- > 0 && p.s[i].tli > *tli && p.s[i].begin >= ckpt;) {
        if (waldump_last(m, deadline, p.s[i].tli, p.s[i].begin, last) == 0) {
            *tli = p.s[i].tli;
            return 0;
        }
        err_clear(); /* no WAL of its own: the timeline before it */
    }
    return rc ? rc : waldump_last(m, deadline, *tli, ckpt, last);
}
