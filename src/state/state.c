/* state — see state.h. One connection per state handle (use it from one thread at a
 * time); every write is one transaction, so a kill -9 leaves each call all done or
 * not done. The schema is a list of migrations: user_version counts those applied. */
#define _GNU_SOURCE
#include "state.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct state {
    sqlite3 *db;
    char *path;
    int busy_ms;
};

/* Migration i takes the schema from version i to i + 1; never edit one that shipped. */
static const char *const migrations[STATE_SCHEMA_VERSION] = {
    "CREATE TABLE incidents(id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, title TEXT NOT NULL,"
    " opened_ms INTEGER NOT NULL, closed_ms INTEGER);"
    "CREATE INDEX incidents_open ON incidents(target) WHERE closed_ms IS NULL;"
    "CREATE TABLE timeline(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " incident INTEGER NOT NULL REFERENCES incidents(id), at_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    " message TEXT NOT NULL);"
    "CREATE INDEX timeline_incident ON timeline(incident, id);"
    "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    " target TEXT NOT NULL, message TEXT NOT NULL, incident INTEGER REFERENCES incidents(id));"
    "CREATE TABLE outbox(id INTEGER PRIMARY KEY AUTOINCREMENT, dedup_key TEXT NOT NULL, channel TEXT NOT NULL,"
    " payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
    " next_attempt_ms INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, done_ms INTEGER, last_error TEXT,"
    " UNIQUE(dedup_key, channel));"
    "CREATE INDEX outbox_pending ON outbox(channel, id) WHERE state = 0;",
};

/* SQLite's result as our error: what failed, the database, SQLite's reason. */
static int db_fail(state *s, int rc, const char *what)
{
    int code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = ERR_LOCKED; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = ERR_DAMAGED; break;
    case SQLITE_FULL: code = ERR_NOSPACE; break;
    case SQLITE_NOMEM: code = ERR_FATAL; break;
    default: code = ERR_IO; break;
    }
    err_set(code, "state database %s: %s: %s", s->path, what, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    if (code == ERR_LOCKED)
        err_hint("another process held it longer than %d ms (a second agent on the same state-dir?)", s->busy_ms);
    return code;
}

static int exec_sql(state *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(s, rc, what);
}

/* Prepares sql and binds its parameters by types: 't' a string (NULL: SQL NULL),
 * 'i' an int64_t, 'n' an int64_t that is NULL when 0. */
static int prepare(state *s, sqlite3_stmt **st, const char *what, const char *sql, const char *types, ...)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    va_list ap;
    va_start(ap, types);
    for (int i = 0; rc == SQLITE_OK && types[i]; i++) {
        if (types[i] == 't') {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(*st, i + 1, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(*st, i + 1);
        } else {
            int64_t v = va_arg(ap, int64_t);
            rc = types[i] == 'n' && !v ? sqlite3_bind_null(*st, i + 1) : sqlite3_bind_int64(*st, i + 1, v);
        }
    }
    va_end(ap);
    if (rc == SQLITE_OK)
        return 0;
    rc = db_fail(s, rc, what);
    sqlite3_finalize(*st);
    *st = NULL;
    return rc;
}

/* Runs a prepared statement that returns no rows; *changed: rows it changed. */
static int finish(state *s, sqlite3_stmt *st, const char *what, int *changed)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, what);
    if (changed)
        *changed = sqlite3_changes(s->db);
    return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front (waiting at most busy_ms), so a
 * transaction never fails half-way for a lock another writer holds. */
static int begin(state *s, const char *what) { return exec_sql(s, "BEGIN IMMEDIATE", what); }

static int end(state *s, int rc, const char *what)
{
    if (!rc)
        return exec_sql(s, "COMMIT", what);
    err_saved e;
    err_save(&e);
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    err_restore(&e);
    return rc;
}

static int migrate(state *s)
{
    sqlite3_stmt *st;
    int rc = begin(s, "upgrade the schema");
    if (!rc)
        rc = prepare(s, &st, "read the schema version", "PRAGMA user_version", "");
    int64_t v = 0;
    if (!rc) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (step != SQLITE_ROW)
            rc = db_fail(s, step, "read the schema version");
    }
    if (!rc && v > STATE_SCHEMA_VERSION)
        rc = err_set(ERR_VERSION, "state database %s: schema version %lld is newer than this lifeline's (%d)",
                     s->path, (long long)v, STATE_SCHEMA_VERSION);
    for (; !rc && v < STATE_SCHEMA_VERSION; v++)
        rc = exec_sql(s, migrations[v], "upgrade the schema");
    if (!rc) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STATE_SCHEMA_VERSION);
        rc = exec_sql(s, sql, "record the schema version");
    }
    return end(s, rc, "upgrade the schema");
}

/* journal_mode answers with the mode in force: anything but wal is refused, because
 * the durability promise depends on it. */
static int set_wal(state *s)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "switch to WAL mode", "PRAGMA journal_mode = WAL", "");
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    const unsigned char *mode = step == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (step != SQLITE_ROW)
        rc = db_fail(s, step, "switch to WAL mode");
    else if (!mode || strcmp((const char *)mode, "wal"))
        rc = err_set(ERR_IO, "state database %s: WAL mode refused (journal mode is %s)", s->path,
                     mode ? (const char *)mode : "unknown");
    sqlite3_finalize(st);
    return rc;
}

int state_open(const char *path, int busy_ms, state **out)
{
    *out = NULL;
    state *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return err_set(ERR_FATAL, "out of memory");
    }
    s->busy_ms = busy_ms;
    /* created here, 0600, so that SQLite (which gives -wal and -shm the database's
     * mode) never makes a readable one */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = fd < 0 ? err_sys(ERR_IO, "state database %s", path) : 0;
    if (fd >= 0)
        close(fd);
    int src = rc ? SQLITE_OK : sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (!rc && src != SQLITE_OK)
        rc = db_fail(s, src, "open");
    if (!rc) {
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, busy_ms);
        rc = set_wal(s);
    }
    if (!rc)
        rc = exec_sql(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "set durability");
    if (!rc)
        rc = migrate(s);
    if (rc) {
        state_close(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void state_close(state **sp)
{
    state *s = *sp;
    if (!s)
        return;
    sqlite3_close(s->db); /* all statements are finalized by the calls that made them */
    free(s->path);
    free(s);
    *sp = NULL;
}

int state_event_add(state *s, int64_t at_ms, const char *kind, const char *target, const char *message,
                    int64_t incident, int64_t *id)
{
    sqlite3_stmt *st;
    int changed = 0;
    int rc = prepare(s, &st, "add an event",
                     "INSERT INTO events(at_ms, kind, target, message, incident) SELECT ?1, ?2, ?3, ?4, ?5"
                     " WHERE ?5 IS NULL OR EXISTS(SELECT 1 FROM incidents WHERE id = ?5)",
                     "itttn", at_ms, kind, target, message, incident);
    if (!rc)
        rc = finish(s, st, "add an event", &changed);
    if (!rc && !changed)
        return err_set(ERR_NOTFOUND, "state database %s: no incident %lld for event %s of %s", s->path,
                       (long long)incident, kind, target);
    if (!rc && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* A timeline entry, if incident id exists; *changed 0 when it does not. */
static int note(state *s, int64_t id, int64_t at_ms, const char *kind, const char *message, int *changed)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "add a timeline entry",
                     "INSERT INTO timeline(incident, at_ms, kind, message) SELECT ?1, ?2, ?3, ?4"
                     " WHERE EXISTS(SELECT 1 FROM incidents WHERE id = ?1)",
                     "iitt", id, at_ms, kind, message);
    return rc ? rc : finish(s, st, "add a timeline entry", changed);
}

int state_incident_open(state *s, const char *target, const char *title, int64_t at_ms, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = begin(s, "open an incident"), changed;
    if (!rc)
        rc = prepare(s, &st, "open an incident", "INSERT INTO incidents(target, title, opened_ms) VALUES(?, ?, ?)",
                     "tti", target, title, at_ms);
    if (!rc)
        rc = finish(s, st, "open an incident", NULL);
    int64_t new_id = rc ? 0 : sqlite3_last_insert_rowid(s->db);
    if (!rc)
        rc = note(s, new_id, at_ms, "opened", title, &changed);
    rc = end(s, rc, "open an incident");
    if (!rc)
        *id = new_id;
    return rc;
}

int state_incident_note(state *s, int64_t id, int64_t at_ms, const char *kind, const char *message)
{
    int changed = 0, rc = note(s, id, at_ms, kind, message, &changed);
    if (!rc && !changed)
        rc = err_set(ERR_NOTFOUND, "state database %s: no incident %lld", s->path, (long long)id);
    return rc;
}

int state_incident_close(state *s, int64_t id, int64_t at_ms, const char *message)
{
    sqlite3_stmt *st;
    int changed = 0, rc = begin(s, "close an incident");
    if (!rc)
        rc = prepare(s, &st, "close an incident",
                     "UPDATE incidents SET closed_ms = ?2 WHERE id = ?1 AND closed_ms IS NULL", "ii", id, at_ms);
    if (!rc)
        rc = finish(s, st, "close an incident", &changed);
    if (!rc && !changed)
        rc = err_set(ERR_NOTFOUND, "state database %s: no open incident %lld", s->path, (long long)id);
    if (!rc)
        rc = note(s, id, at_ms, "closed", message, &changed);
    return end(s, rc, "close an incident");
}

/* A column as a string of our own ("" for NULL); NULL only when out of memory. */
static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static int read_timeline(state *s, state_incident *in)
{
    sqlite3_stmt *st;
    int rc = prepare(s, &st, "read a timeline",
                     "SELECT at_ms, kind, message FROM timeline WHERE incident = ? ORDER BY id", "i", in->id);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        state_entry *e = realloc(in->entries, (in->nentries + 1) * sizeof *e);
        if (!e) {
            rc = err_set(ERR_FATAL, "out of memory");
            break;
        }
        in->entries = e;
        e = &e[in->nentries++];
        e->at_ms = sqlite3_column_int64(st, 0);
        e->kind = col_str(st, 1);
        e->message = col_str(st, 2);
        if (!e->kind || !e->message)
            rc = err_set(ERR_FATAL, "out of memory");
    }
    if (!rc && step != SQLITE_DONE)
        rc = db_fail(s, step, "read a timeline");
    sqlite3_finalize(st);
    return rc;
}

int state_incident_get(state *s, int64_t id, state_incident *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    /* one read transaction: the incident and its timeline as of one moment */
    int rc = exec_sql(s, "BEGIN", "read an incident");
    if (!rc)
        rc = prepare(s, &st, "read an incident",
                     "SELECT id, target, title, opened_ms, closed_ms FROM incidents WHERE id = ?", "i", id);
    if (!rc) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            out->id = sqlite3_column_int64(st, 0);
            out->target = col_str(st, 1);
            out->title = col_str(st, 2);
            out->opened_ms = sqlite3_column_int64(st, 3);
            out->closed_ms = sqlite3_column_int64(st, 4);
            if (!out->target || !out->title)
                rc = err_set(ERR_FATAL, "out of memory");
        } else {
            rc = step == SQLITE_DONE
                     ? err_set(ERR_NOTFOUND, "state database %s: no incident %lld", s->path, (long long)id)
                     : db_fail(s, step, "read an incident");
        }
        sqlite3_finalize(st);
    }
    if (!rc)
        rc = read_timeline(s, out);
    rc = end(s, rc, "read an incident");
    if (rc)
        state_incident_free(out);
    return rc;
}

void state_incident_free(state_incident *in)
{
    for (size_t i = 0; i < in->nentries; i++) {
        free(in->entries[i].kind);
        free(in->entries[i].message);
    }
    free(in->entries);
    free(in->target);
    free(in->title);
    memset(in, 0, sizeof *in);
}

int state_outbox_enqueue(state *s, const char *dedup_key, const char *channel, const char *payload, int64_t now_ms,
                         int64_t *id, int *added)
{
    sqlite3_stmt *st;
    int changed = 0, rc = begin(s, "queue a notification");
    if (!rc)
        rc = prepare(s, &st, "queue a notification",
                     "INSERT INTO outbox(dedup_key, channel, payload, created_ms, next_attempt_ms)"
                     " VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT(dedup_key, channel) DO NOTHING",
                     "ttti", dedup_key, channel, payload, now_ms);
    if (!rc)
        rc = finish(s, st, "queue a notification", &changed);
    int64_t got = changed ? sqlite3_last_insert_rowid(s->db) : 0;
    if (!rc && !changed) {
        rc = prepare(s, &st, "queue a notification", "SELECT id FROM outbox WHERE dedup_key = ? AND channel = ?",
                     "tt", dedup_key, channel);
        if (!rc) {
            int step = sqlite3_step(st);
            if (step == SQLITE_ROW)
                got = sqlite3_column_int64(st, 0);
            else
                rc = db_fail(s, step, "queue a notification");
            sqlite3_finalize(st);
        }
    }
    rc = end(s, rc, "queue a notification");
    if (!rc && id)
        *id = got;
    if (!rc && added)
        *added = changed;
    return rc;
}

#define OUTBOX_COLS "id, dedup_key, channel, payload, attempts, created_ms, next_attempt_ms, state, done_ms, last_error"

/* One outbox row from a statement selecting OUTBOX_COLS; *found 0 when none. */
static int read_item(state *s, sqlite3_stmt *st, const char *what, state_outbox_item *it, int *found)
{
    memset(it, 0, sizeof *it);
    *found = 0;
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        *found = 1;
        it->id = sqlite3_column_int64(st, 0);
        it->dedup_key = col_str(st, 1);
        it->channel = col_str(st, 2);
        it->payload = col_str(st, 3);
        it->attempts = sqlite3_column_int(st, 4);
        it->created_ms = sqlite3_column_int64(st, 5);
        it->next_attempt_ms = sqlite3_column_int64(st, 6);
        it->state = sqlite3_column_int(st, 7);
        it->done_ms = sqlite3_column_int64(st, 8);
        it->last_error = col_str(st, 9);
        if (!it->dedup_key || !it->channel || !it->payload || !it->last_error)
            rc = err_set(ERR_FATAL, "out of memory");
    } else if (step != SQLITE_DONE) {
        rc = db_fail(s, step, what);
    }
    sqlite3_finalize(st);
    if (rc) {
        state_outbox_item_free(it);
        *found = 0;
    }
    return rc;
}

int state_outbox_next_due(state *s, int64_t now_ms, state_outbox_item *out, int *found)
{
    sqlite3_stmt *st;
    const char *what = "find the next notification";
    int rc = prepare(s, &st, what,
                     "SELECT " OUTBOX_COLS " FROM outbox o WHERE state = 0 AND next_attempt_ms <= ?1"
                     " AND id = (SELECT min(id) FROM outbox p WHERE p.channel = o.channel AND p.state = 0)"
                     " ORDER BY next_attempt_ms, id LIMIT 1",
                     "i", now_ms);
    if (rc) {
        memset(out, 0, sizeof *out);
        *found = 0;
        return rc;
    }
    return read_item(s, st, what, out, found);
}

int state_outbox_get(state *s, int64_t id, state_outbox_item *out)
{
    sqlite3_stmt *st;
    int found = 0;
    int rc = prepare(s, &st, "read a notification", "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?", "i", id);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = read_item(s, st, "read a notification", out, &found);
    if (!rc && !found)
        rc = err_set(ERR_NOTFOUND, "state database %s: no notification %lld", s->path, (long long)id);
    return rc;
}

void state_outbox_item_free(state_outbox_item *it)
{
    free(it->dedup_key);
    free(it->channel);
    free(it->payload);
    free(it->last_error);
    memset(it, 0, sizeof *it);
}

/* One attempt's outcome on a pending item. */
static int mark(state *s, int64_t id, int to, int64_t now_ms, int64_t next_ms, const char *error)
{
    sqlite3_stmt *st;
    int changed = 0;
    int rc = prepare(s, &st, "record a delivery attempt",
                     "UPDATE outbox SET attempts = attempts + 1, state = ?2, next_attempt_ms = ?3, done_ms = ?4,"
                     " last_error = ?5 WHERE id = ?1 AND state = 0",
                     "iiint", id, (int64_t)to, next_ms, to == STATE_OUT_PENDING ? (int64_t)0 : now_ms, error);
    if (!rc)
        rc = finish(s, st, "record a delivery attempt", &changed);
    if (!rc && !changed)
        rc = err_set(ERR_NOTFOUND, "state database %s: no pending notification %lld", s->path, (long long)id);
    return rc;
}

int state_outbox_mark_delivered(state *s, int64_t id, int64_t now_ms)
{
    return mark(s, id, STATE_OUT_DELIVERED, now_ms, now_ms, NULL);
}

int state_outbox_mark_retry(state *s, int64_t id, int64_t now_ms, int64_t next_ms, const char *error)
{
    return mark(s, id, STATE_OUT_PENDING, now_ms, next_ms, error);
}

int state_outbox_mark_dead(state *s, int64_t id, int64_t now_ms, const char *error)
{
    return mark(s, id, STATE_OUT_DEAD, now_ms, now_ms, error);
}
