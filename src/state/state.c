/* state — see state.h. One connection per state handle (use it from one thread at a
 * time); every write is one transaction, so a kill -9 leaves each call all done or
 * not done. The schema is a list of migrations: user_version counts those applied. */
#define _GNU_SOURCE
#include "state_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


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
    /* 2: what the agent and the commands share: incident status (the status page's
     * investigating/identified/monitoring/resolved), false-positive marks, updates in
     * the timeline with their status, holds of automation, each service's last known
     * state (so a restarted agent resumes), and named counters (fencing epochs) */
    "ALTER TABLE incidents ADD COLUMN status TEXT NOT NULL DEFAULT 'investigating';"
    "ALTER TABLE incidents ADD COLUMN false_positive INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE timeline ADD COLUMN status TEXT;"
    "CREATE INDEX incidents_opened ON incidents(opened_ms);"
    "CREATE INDEX events_at ON events(at_ms);"
    "CREATE TABLE holds(target TEXT PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL, by TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL, recorded INTEGER NOT NULL DEFAULT 0, released_ms INTEGER, released_by TEXT);"
    "CREATE TABLE services(name TEXT PRIMARY KEY, state TEXT NOT NULL, since_ms INTEGER NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '', incident INTEGER, recoveries TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
};

/* SQLite's result as our error: what failed, the database, SQLite's reason. */
int state_db_fail(state *s, int rc, const char *what)
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

int state_db_exec(state *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : state_db_fail(s, rc, what);
}

/* Prepares sql and binds its parameters by types: 't' a string (NULL: SQL NULL),
 * 'i' an int64_t, 'n' an int64_t that is NULL when 0. */
int state_db_prepare(state *s, sqlite3_stmt **st, const char *what, const char *sql, const char *types, ...)
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
    rc = state_db_fail(s, rc, what);
    sqlite3_finalize(*st);
    *st = NULL;
    return rc;
}

/* Runs a prepared statement that returns no rows; *changed: rows it changed. */
int state_db_finish(state *s, sqlite3_stmt *st, const char *what, int *changed)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return state_db_fail(s, rc, what);
    if (changed)
        *changed = sqlite3_changes(s->db);
    return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front (waiting at most busy_ms), so a
 * transaction never fails half-way for a lock another writer holds. */
int state_db_begin(state *s, const char *what) { return state_db_exec(s, "BEGIN IMMEDIATE", what); }

int state_db_end(state *s, int rc, const char *what)
{
    if (!rc)
        return state_db_exec(s, "COMMIT", what);
    err_saved e;
    err_save(&e);
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    err_restore(&e);
    return rc;
}

static int migrate(state *s)
{
    sqlite3_stmt *st;
    int rc = state_db_begin(s, "upgrade the schema");
    if (!rc)
        rc = state_db_prepare(s, &st, "read the schema version", "PRAGMA user_version", "");
    int64_t v = 0;
    if (!rc) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (step != SQLITE_ROW)
            rc = state_db_fail(s, step, "read the schema version");
    }
    if (!rc && v > STATE_SCHEMA_VERSION)
        rc = err_set(ERR_VERSION, "state database %s: schema version %lld is newer than this lifeline's (%d)",
                     s->path, (long long)v, STATE_SCHEMA_VERSION);
    for (; !rc && v < STATE_SCHEMA_VERSION; v++)
        rc = state_db_exec(s, migrations[v], "upgrade the schema");
    if (!rc) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", STATE_SCHEMA_VERSION);
        rc = state_db_exec(s, sql, "record the schema version");
    }
    return state_db_end(s, rc, "upgrade the schema");
}

/* journal_mode answers with the mode in force: anything but wal is refused, because
 * the durability promise depends on it. */
static int set_wal(state *s)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "switch to WAL mode", "PRAGMA journal_mode = WAL", "");
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    const unsigned char *mode = step == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (step != SQLITE_ROW)
        rc = state_db_fail(s, step, "switch to WAL mode");
    else if (!mode || strcmp((const char *)mode, "wal"))
        rc = err_set(ERR_IO, "state database %s: WAL mode refused (journal mode is %s)", s->path,
                     mode ? (const char *)mode : "unknown");
    sqlite3_finalize(st);
    return rc;
}

/* create 0: a missing file is ERR_NOTFOUND and nothing is made (commands that read). */
static int open_db(const char *path, int busy_ms, int create, state **out)
{
    *out = NULL;
    state *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return err_set(ERR_FATAL, "out of memory");
    }
    s->busy_ms = busy_ms;
    /* created here, 0600, so that SQLite (which gives -wal and -shm the database's
     * mode) never makes a readable one. Only when it is new (O_EXCL): closing a
     * descriptor of a database this process already has open would drop the POSIX
     * locks of its other connections (the agent has three), and another process
     * would then checkpoint and remove the WAL under them. */
    struct stat sb;
    int rc = 0, exists = lstat(path, &sb) == 0;
    if (!exists && !create && errno == ENOENT) {
        rc = err_set(ERR_NOTFOUND, "no state database at %s (has lifeline watch run here?)", path);
        err_hint("the state folder is [watch] state-dir, else LIFELINE_STATE_DIR, else the default one");
    } else if (!exists && errno != ENOENT) {
        rc = err_sys(ERR_IO, "state database %s", path);
    } else if (!exists) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST)
            rc = err_sys(ERR_IO, "state database %s", path);
        if (fd >= 0)
            close(fd);
    }
    int src = rc ? SQLITE_OK : sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    if (!rc && src != SQLITE_OK)
        rc = state_db_fail(s, src, "open");
    if (!rc) {
        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, busy_ms);
        rc = set_wal(s);
    }
    if (!rc)
        rc = state_db_exec(s, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "set durability");
    if (!rc)
        rc = migrate(s);
    if (rc) {
        state_close(&s);
        return rc;
    }
    *out = s;
    return 0;
}

int state_open(const char *path, int busy_ms, state **out) { return open_db(path, busy_ms, 1, out); }
int state_open_existing(const char *path, int busy_ms, state **out) { return open_db(path, busy_ms, 0, out); }

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
    int rc = state_db_prepare(s, &st, "add an event",
                     "INSERT INTO events(at_ms, kind, target, message, incident) SELECT ?1, ?2, ?3, ?4, ?5"
                     " WHERE ?5 IS NULL OR EXISTS(SELECT 1 FROM incidents WHERE id = ?5)",
                     "itttn", at_ms, kind, target, message, incident);
    if (!rc)
        rc = state_db_finish(s, st, "add an event", &changed);
    if (!rc && !changed)
        return err_set(ERR_NOTFOUND, "state database %s: no incident %lld for event %s of %s", s->path,
                       (long long)incident, kind, target);
    if (!rc && id)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* A column as a string of our own ("" for NULL); NULL only when out of memory. */
char *state_db_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}


int state_prune(state *s, int64_t events_before_ms, int64_t outbox_before_ms, int64_t *removed)
{
    sqlite3_stmt *st;
    int a = 0, b = 0, rc = state_db_begin(s, "prune the history");
    if (!rc)
        rc = state_db_prepare(s, &st, "prune the history", "DELETE FROM events WHERE at_ms < ?", "i", events_before_ms);
    if (!rc)
        rc = state_db_finish(s, st, "prune the history", &a);
    if (!rc)
        rc = state_db_prepare(s, &st, "prune the history", "DELETE FROM outbox WHERE state <> 0 AND done_ms < ?", "i",
                              outbox_before_ms);
    if (!rc)
        rc = state_db_finish(s, st, "prune the history", &b);
    rc = state_db_end(s, rc, "prune the history");
    if (!rc && removed)
        *removed = a + b;
    return rc;
}
