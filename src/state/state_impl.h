/* state_impl — what the files of the state module share (state.c: opening, the
 * schema and events; state_incident.c; state_outbox.c; state_hold.c). Not for other
 * modules. */
#ifndef LL_STATE_IMPL_H
#define LL_STATE_IMPL_H

#include <sqlite3.h>

#include "state.h"

struct state {
    sqlite3 *db;
    char *path;
    int busy_ms;
};

/* SQLite's result rc as our error: what failed, the database, SQLite's reason. */
int state_db_fail(state *s, int rc, const char *what);
int state_db_exec(state *s, const char *sql, const char *what);
/* Prepares sql and binds its parameters by types: 't' a string (NULL: SQL NULL),
 * 'i' an int64_t, 'n' an int64_t that is NULL when 0. */
int state_db_prepare(state *s, sqlite3_stmt **st, const char *what, const char *sql, const char *types, ...);
/* Runs (and finalizes) a statement that returns no rows; *changed: rows it changed. */
int state_db_finish(state *s, sqlite3_stmt *st, const char *what, int *changed);
/* BEGIN IMMEDIATE: the write lock up front, so a transaction never fails half-way
 * for a lock another writer holds. state_db_end commits, or rolls back when rc. */
int state_db_begin(state *s, const char *what);
int state_db_end(state *s, int rc, const char *what);
/* A column as a string of our own ("" for NULL); NULL only when out of memory. */
char *state_db_str(sqlite3_stmt *st, int i);

#endif
