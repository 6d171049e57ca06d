/* state_incident — see state.h: incidents, their timelines, human updates and
 * false-positive marks, listings, and the metrics computed from them. */
#include "state_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"

const char *const state_incident_statuses[] = {"investigating", "identified", "monitoring", "resolved", NULL};

int state_incident_status_valid(const char *status)
{
    for (size_t i = 0; status && state_incident_statuses[i]; i++)
        if (!strcmp(status, state_incident_statuses[i]))
            return 1;
    return 0;
}

/* A timeline entry (status NULL but for updates), if incident id exists; *changed 0
 * when it does not. */
static int note(state *s, int64_t id, int64_t at_ms, const char *kind, const char *message, const char *status,
                int *changed)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "add a timeline entry",
                     "INSERT INTO timeline(incident, at_ms, kind, message, status) SELECT ?1, ?2, ?3, ?4, ?5"
                     " WHERE EXISTS(SELECT 1 FROM incidents WHERE id = ?1)",
                     "iittt", id, at_ms, kind, message, status);
    return rc ? rc : state_db_finish(s, st, "add a timeline entry", changed);
}

static int no_incident(state *s, int64_t id)
{
    return err_set(ERR_NOTFOUND, "state database %s: no incident %lld", s->path, (long long)id);
}

int state_incident_open(state *s, const char *target, const char *title, int64_t at_ms, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = state_db_begin(s, "open an incident"), changed;
    if (!rc)
        rc = state_db_prepare(s, &st, "open an incident", "INSERT INTO incidents(target, title, opened_ms) VALUES(?, ?, ?)",
                     "tti", target, title, at_ms);
    if (!rc)
        rc = state_db_finish(s, st, "open an incident", NULL);
    int64_t new_id = rc ? 0 : sqlite3_last_insert_rowid(s->db);
    if (!rc)
        rc = note(s, new_id, at_ms, "opened", title, NULL, &changed);
    rc = state_db_end(s, rc, "open an incident");
    if (!rc)
        *id = new_id;
    return rc;
}

int state_incident_note(state *s, int64_t id, int64_t at_ms, const char *kind, const char *message)
{
    int changed = 0, rc = note(s, id, at_ms, kind, message, NULL, &changed);
    if (!rc && !changed)
        rc = no_incident(s, id);
    return rc;
}

/* Inside a transaction: closes id if open (status resolved); *changed 0 if not. */
static int close_open(state *s, int64_t id, int64_t at_ms, const char *message, int *changed)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "close an incident",
                     "UPDATE incidents SET closed_ms = ?2, status = 'resolved' WHERE id = ?1 AND closed_ms IS NULL",
                     "ii", id, at_ms);
    if (!rc)
        rc = state_db_finish(s, st, "close an incident", changed);
    int added;
    if (!rc && *changed)
        rc = note(s, id, at_ms, "closed", message, NULL, &added);
    return rc;
}

int state_incident_close(state *s, int64_t id, int64_t at_ms, const char *message)
{
    int changed = 0, rc = state_db_begin(s, "close an incident");
    if (!rc)
        rc = close_open(s, id, at_ms, message, &changed);
    if (!rc && !changed)
        rc = err_set(ERR_NOTFOUND, "state database %s: no open incident %lld", s->path, (long long)id);
    return state_db_end(s, rc, "close an incident");
}

/* The target and whether incident id is closed; ERR_NOTFOUND when there is none. */
static int incident_head(state *s, int64_t id, char **target, int *closed)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "read an incident",
                              "SELECT target, closed_ms IS NOT NULL FROM incidents WHERE id = ?", "i", id);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *closed = sqlite3_column_int(st, 1);
        if (!(*target = state_db_str(st, 0)))
            rc = err_set(ERR_FATAL, "out of memory");
    } else {
        rc = step == SQLITE_DONE ? no_incident(s, id) : state_db_fail(s, step, "read an incident");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The event row that says who did what to incident id (the timeline has no "by"). */
static int by_event(state *s, int64_t id, int64_t at_ms, const char *kind, const char *target, const char *by,
                    const char *what)
{
    size_t len = strlen(by) + strlen(what) + 8;
    char *msg = malloc(len);
    if (!msg)
        return err_set(ERR_FATAL, "out of memory");
    snprintf(msg, len, "by %s: %s", by, what);
    int rc = state_event_add(s, at_ms, kind, target, msg, id, NULL);
    free(msg);
    return rc;
}

int state_incident_update(state *s, int64_t id, int64_t at_ms, const char *status, const char *message,
                          const char *by)
{
    if (!state_incident_status_valid(status))
        return err_set(ERR_USAGE, "unknown incident status '%s' (investigating, identified, monitoring, resolved)",
                       status ? status : "");
    char *target = NULL;
    int closed = 0, changed = 0, rc = state_db_begin(s, "update an incident");
    if (!rc)
        rc = incident_head(s, id, &target, &closed);
    if (!rc && closed && strcmp(status, "resolved")) {
        rc = err_set(ERR_USAGE, "incident %lld is closed: its status stays resolved", (long long)id);
        err_hint("a closed incident takes only --status resolved (a late note); a new failure opens a new one");
    }
    sqlite3_stmt *st;
    if (!rc)
        rc = state_db_prepare(s, &st, "update an incident", "UPDATE incidents SET status = ?2 WHERE id = ?1", "it", id,
                              status);
    if (!rc)
        rc = state_db_finish(s, st, "update an incident", NULL);
    if (!rc)
        rc = note(s, id, at_ms, "update", message, status, &changed);
    if (!rc)
        rc = by_event(s, id, at_ms, "update", target, by, status);
    if (!rc && !closed && !strcmp(status, "resolved")) {
        size_t len = strlen(by) + 16;
        char *why = malloc(len);
        if (!why)
            rc = err_set(ERR_FATAL, "out of memory");
        else
            snprintf(why, len, "resolved by %s", by);
        if (!rc)
            rc = close_open(s, id, at_ms, why, &changed);
        free(why);
    }
    free(target);
    return state_db_end(s, rc, "update an incident");
}

int state_incident_mark(state *s, int64_t id, int false_positive, int64_t at_ms, const char *by)
{
    char *target = NULL, msg[300];
    int closed, changed = 0, rc = state_db_begin(s, "mark an incident");
    if (!rc)
        rc = incident_head(s, id, &target, &closed);
    sqlite3_stmt *st;
    if (!rc)
        rc = state_db_prepare(s, &st, "mark an incident", "UPDATE incidents SET false_positive = ?2 WHERE id = ?1",
                              "ii", id, (int64_t)(false_positive != 0));
    if (!rc)
        rc = state_db_finish(s, st, "mark an incident", NULL);
    snprintf(msg, sizeof msg, "%s by %.200s", false_positive ? "marked a false positive" : "false-positive mark removed",
             by);
    if (!rc)
        rc = note(s, id, at_ms, "mark", msg, NULL, &changed);
    if (!rc)
        rc = by_event(s, id, at_ms, "mark", target, by, false_positive ? "false positive" : "not a false positive");
    free(target);
    return state_db_end(s, rc, "mark an incident");
}

static int read_timeline(state *s, state_incident *in)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "read a timeline",
                     "SELECT at_ms, kind, message, status FROM timeline WHERE incident = ? ORDER BY id", "i", in->id);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        state_entry *e = realloc(in->entries, (in->nentries + 1) * sizeof *e);
        if (!e) {
            rc = err_set(ERR_FATAL, "out of memory");
            break;
        }
        in->entries = e;
        e = &e[in->nentries++];
        memset(e, 0, sizeof *e);
        e->at_ms = sqlite3_column_int64(st, 0);
        e->kind = state_db_str(st, 1);
        e->message = state_db_str(st, 2);
        int has_status = sqlite3_column_type(st, 3) != SQLITE_NULL;
        if (has_status)
            e->status = state_db_str(st, 3);
        if (!e->kind || !e->message || (has_status && !e->status))
            rc = err_set(ERR_FATAL, "out of memory");
    }
    if (!rc && step != SQLITE_DONE)
        rc = state_db_fail(s, step, "read a timeline");
    sqlite3_finalize(st);
    return rc;
}

/* The columns row_fill reads, in its order. */
#define INCIDENT_COLS                                                                                              \
    "id, target, title, opened_ms, closed_ms, status, false_positive,"                                             \
    " (SELECT min(at_ms) FROM timeline t WHERE t.incident = incidents.id AND t.kind = 'detection')"

static int row_fill(sqlite3_stmt *st, state_incident *out)
{
    out->id = sqlite3_column_int64(st, 0);
    out->target = state_db_str(st, 1);
    out->title = state_db_str(st, 2);
    out->opened_ms = sqlite3_column_int64(st, 3);
    out->closed_ms = sqlite3_column_int64(st, 4);
    out->status = state_db_str(st, 5);
    out->false_positive = sqlite3_column_int(st, 6) != 0;
    out->detected_ms = sqlite3_column_int64(st, 7);
    return out->target && out->title && out->status ? 0 : err_set(ERR_FATAL, "out of memory");
}

int state_incident_get(state *s, int64_t id, state_incident *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    /* one read transaction: the incident and its timeline as of one moment */
    int rc = state_db_exec(s, "BEGIN", "read an incident");
    if (!rc)
        rc = state_db_prepare(s, &st, "read an incident", "SELECT " INCIDENT_COLS " FROM incidents WHERE id = ?", "i",
                              id);
    if (!rc) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW)
            rc = row_fill(st, out);
        else
            rc = step == SQLITE_DONE ? no_incident(s, id) : state_db_fail(s, step, "read an incident");
        sqlite3_finalize(st);
    }
    if (!rc)
        rc = read_timeline(s, out);
    rc = state_db_end(s, rc, "read an incident");
    if (rc)
        state_incident_free(out);
    return rc;
}

void state_incident_free(state_incident *in)
{
    for (size_t i = 0; i < in->nentries; i++) {
        free(in->entries[i].kind);
        free(in->entries[i].message);
        free(in->entries[i].status);
    }
    free(in->entries);
    free(in->target);
    free(in->title);
    free(in->status);
    memset(in, 0, sizeof *in);
}

int state_incident_list(state *s, int open_only, int64_t since_ms, int timelines, state_incident **out,
                        size_t *n)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc = state_db_exec(s, "BEGIN", "list incidents");
    if (!rc)
        rc = state_db_prepare(s, &st, "list incidents",
                              "SELECT " INCIDENT_COLS " FROM incidents"
                              " WHERE (?1 = 0 OR closed_ms IS NULL) AND (closed_ms IS NULL OR closed_ms >= ?2)"
                              " ORDER BY opened_ms DESC, id DESC",
                              "ii", (int64_t)open_only, since_ms);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = array_grow(out, &cap, *n + 1, sizeof **out, 16);
        if (!rc) {
            memset(&(*out)[*n], 0, sizeof **out);
            rc = row_fill(st, &(*out)[(*n)++]);
        }
    }
    if (!rc && step != SQLITE_DONE)
        rc = state_db_fail(s, step, "list incidents");
    if (st)
        sqlite3_finalize(st);
    for (size_t i = 0; !rc && timelines && i < *n; i++)
        rc = read_timeline(s, &(*out)[i]);
    rc = state_db_end(s, rc, "list incidents");
    if (rc)
        state_incidents_free(out, *n);
    return rc;
}

void state_incidents_free(state_incident **list, size_t n)
{
    for (size_t i = 0; *list && i < n; i++)
        state_incident_free(&(*list)[i]);
    free(*list);
    *list = NULL;
}

/* One number from sql bound to since_ms (as ?1: a query that needs no window says
 * "?1 = ?1" so that the binding has a place); NULL (avg of nothing) gives *null. */
static int metric(state *s, const char *sql, int64_t since_ms, double *out, int *null)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "compute the metrics", sql, "i", since_ms);
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        *out = sqlite3_column_double(st, 0);
    } else {
        rc = state_db_fail(s, step == SQLITE_DONE ? SQLITE_ERROR : step, "compute the metrics");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The definitions are in state.h above state_metrics and in docs/ARCHITECTURE.md;
 * these queries are them, word for word. */
#define DETECTED "coalesce((SELECT min(at_ms) FROM timeline t WHERE t.incident = i.id AND t.kind = 'detection'), i.opened_ms)"
#define HOUR_MS "3600000"
static const char *const metric_sql[] = {
    /* incidents_open */
    "SELECT count(*) FROM incidents WHERE closed_ms IS NULL AND ?1 = ?1",
    /* incidents_total */
    "SELECT count(*) FROM incidents WHERE opened_ms >= ?1",
    /* mttr, ms */
    "SELECT avg(i.closed_ms - " DETECTED ") FROM incidents i WHERE i.closed_ms IS NOT NULL AND i.opened_ms >= ?1",
    /* recovery_attempts */
    "SELECT count(*) FROM timeline WHERE kind = 'action' AND at_ms >= ?1",
    /* recoveries_verified */
    ("SELECT count(*) FROM timeline t JOIN incidents i ON i.id = t.incident"
     " WHERE t.kind = 'verification' AND substr(t.message, 1, 8) = 'verified' AND t.at_ms >= ?1"
     " AND NOT EXISTS(SELECT 1 FROM timeline u WHERE u.incident = t.incident AND u.kind = 'action'"
     "   AND u.at_ms >= t.at_ms AND u.id > t.id AND u.at_ms <= t.at_ms + " HOUR_MS ")"
     " AND NOT EXISTS(SELECT 1 FROM incidents j WHERE j.target = i.target AND j.id <> i.id"
     "   AND j.opened_ms >= t.at_ms AND j.opened_ms <= t.at_ms + " HOUR_MS ")"),
    /* false_positives */
    ("SELECT count(*) FROM incidents i WHERE i.opened_ms >= ?1 AND (i.false_positive <> 0 OR (i.closed_ms IS NOT NULL"
     " AND NOT EXISTS(SELECT 1 FROM timeline t WHERE t.incident = i.id AND t.kind = 'detection')))"),
    /* notifications: pending, dead, delivered */
    "SELECT count(*) FROM outbox WHERE state = 0 AND ?1 = ?1",
    "SELECT count(*) FROM outbox WHERE state = 2 AND ?1 = ?1",
    "SELECT count(*) FROM outbox WHERE state = 1 AND ?1 = ?1",
};

int state_metrics_get(state *s, int64_t since_ms, state_metrics *m)
{
    enum { OPEN, TOTAL, MTTR, ATTEMPTS, VERIFIED, FALSEPOS, PENDING, DEAD, DELIVERED, NMETRIC };
    double v[NMETRIC];
    int null[NMETRIC];
    memset(m, 0, sizeof *m);
    /* one read transaction: every number as of the same moment */
    int rc = state_db_exec(s, "BEGIN", "compute the metrics");
    for (int i = 0; !rc && i < NMETRIC; i++)
        rc = metric(s, metric_sql[i], since_ms, &v[i], &null[i]);
    rc = state_db_end(s, rc, "compute the metrics");
    if (rc)
        return rc;
    m->incidents_open = (int64_t)v[OPEN];
    m->incidents_total = (int64_t)v[TOTAL];
    m->mttr_seconds = null[MTTR] ? -1 : v[MTTR] / 1000.0;
    m->recovery_attempts = (int64_t)v[ATTEMPTS];
    m->recoveries_verified = (int64_t)v[VERIFIED];
    m->recovery_success_rate = m->recovery_attempts ? v[VERIFIED] / v[ATTEMPTS] : -1;
    m->false_positives = (int64_t)v[FALSEPOS];
    m->false_positive_rate = m->incidents_total ? v[FALSEPOS] / v[TOTAL] : -1;
    m->notifications_pending = (int64_t)v[PENDING];
    m->notifications_failed = (int64_t)v[DEAD];
    m->notifications_delivered = (int64_t)v[DELIVERED];
    return 0;
}
