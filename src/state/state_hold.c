/* state_hold — see state.h: holds of automation, services' last known states and
 * named counters. */
#include "state_impl.h"

#include <stdlib.h>
#include <string.h>

int state_hold_set(state *s, const char *target, const char *kind, const char *reason, const char *by,
                   int64_t at_ms)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "place a hold",
                              "INSERT OR REPLACE INTO holds(target, kind, reason, by, at_ms) VALUES(?, ?, ?, ?, ?)",
                              "tttti", target, kind, reason, by, at_ms);
    return rc ? rc : state_db_finish(s, st, "place a hold", NULL);
}

int state_hold_clear(state *s, const char *target, int *cleared)
{
    sqlite3_stmt *st;
    int changed = 0, rc = state_db_prepare(s, &st, "clear a hold", "DELETE FROM holds WHERE target = ?", "t", target);
    if (!rc)
        rc = state_db_finish(s, st, "clear a hold", &changed);
    if (cleared)
        *cleared = changed;
    return rc;
}

/* Grows *list by one zeroed element; NULL when out of memory. */
static void *grow(void **list, size_t *n, size_t size)
{
    char *p = realloc(*list, (*n + 1) * size);
    if (!p)
        return NULL;
    *list = p;
    memset(p + *n * size, 0, size);
    return p + (*n)++ * size;
}

int state_hold_list(state *s, state_hold **out, size_t *n)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    int rc = state_db_prepare(s, &st, "read the holds",
                              "SELECT target, kind, reason, by, at_ms FROM holds ORDER BY target", "");
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        state_hold *h = grow((void **)out, n, sizeof *h);
        if (!h || !(h->target = state_db_str(st, 0)) || !(h->kind = state_db_str(st, 1)) ||
            !(h->reason = state_db_str(st, 2)) || !(h->by = state_db_str(st, 3)))
            rc = err_set(ERR_FATAL, "out of memory");
        else
            h->at_ms = sqlite3_column_int64(st, 4);
    }
    if (!rc && step != SQLITE_DONE)
        rc = state_db_fail(s, step, "read the holds");
    sqlite3_finalize(st);
    if (rc)
        state_holds_free(out, *n);
    return rc;
}

void state_holds_free(state_hold **list, size_t n)
{
    for (size_t i = 0; *list && i < n; i++) {
        free((*list)[i].target);
        free((*list)[i].kind);
        free((*list)[i].reason);
        free((*list)[i].by);
    }
    free(*list);
    *list = NULL;
}

int state_service_put(state *s, const state_service *sv)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "record a service's state",
                              "INSERT OR REPLACE INTO services(name, state, since_ms, detail, incident, recoveries)"
                              " VALUES(?, ?, ?, ?, ?, ?)",
                              "ttitnt", sv->name, sv->state, sv->since_ms, sv->detail ? sv->detail : "",
                              sv->incident, sv->recoveries ? sv->recoveries : "");
    return rc ? rc : state_db_finish(s, st, "record a service's state", NULL);
}

int state_service_list(state *s, state_service **out, size_t *n)
{
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    int rc = state_db_prepare(s, &st, "read the services",
                              "SELECT name, state, since_ms, detail, incident, recoveries FROM services ORDER BY name",
                              "");
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        state_service *v = grow((void **)out, n, sizeof *v);
        if (!v || !(v->name = state_db_str(st, 0)) || !(v->state = state_db_str(st, 1)) ||
            !(v->detail = state_db_str(st, 3)) || !(v->recoveries = state_db_str(st, 5))) {
            rc = err_set(ERR_FATAL, "out of memory");
        } else {
            v->since_ms = sqlite3_column_int64(st, 2);
            v->incident = sqlite3_column_int64(st, 4);
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = state_db_fail(s, step, "read the services");
    sqlite3_finalize(st);
    if (rc)
        state_services_free(out, *n);
    return rc;
}

void state_services_free(state_service **list, size_t n)
{
    for (size_t i = 0; *list && i < n; i++) {
        free((*list)[i].name);
        free((*list)[i].state);
        free((*list)[i].detail);
        free((*list)[i].recoveries);
    }
    free(*list);
    *list = NULL;
}

int state_counter_next(state *s, const char *name, int64_t *value)
{
    sqlite3_stmt *st;
    int rc = state_db_begin(s, "advance a counter");
    if (!rc)
        rc = state_db_prepare(s, &st, "advance a counter",
                              "INSERT INTO counters(name, value) VALUES(?1, 1)"
                              " ON CONFLICT(name) DO UPDATE SET value = value + 1",
                              "t", name);
    if (!rc)
        rc = state_db_finish(s, st, "advance a counter", NULL);
    if (!rc)
        rc = state_db_prepare(s, &st, "advance a counter", "SELECT value FROM counters WHERE name = ?", "t", name);
    if (!rc) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            *value = sqlite3_column_int64(st, 0);
        else
            rc = state_db_fail(s, step == SQLITE_DONE ? SQLITE_ERROR : step, "advance a counter");
        sqlite3_finalize(st);
    }
    return state_db_end(s, rc, "advance a counter");
}
