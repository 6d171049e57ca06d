/* state_incident — see state.h: incidents, their timelines and human updates. */
#include "state_impl.h"

#include <stdlib.h>
#include <string.h>

/* A timeline entry, if incident id exists; *changed 0 when it does not. */
static int note(state *s, int64_t id, int64_t at_ms, const char *kind, const char *message, int *changed)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "add a timeline entry",
                     "INSERT INTO timeline(incident, at_ms, kind, message) SELECT ?1, ?2, ?3, ?4"
                     " WHERE EXISTS(SELECT 1 FROM incidents WHERE id = ?1)",
                     "iitt", id, at_ms, kind, message);
    return rc ? rc : state_db_finish(s, st, "add a timeline entry", changed);
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
        rc = note(s, new_id, at_ms, "opened", title, &changed);
    rc = state_db_end(s, rc, "open an incident");
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
    int changed = 0, rc = state_db_begin(s, "close an incident");
    if (!rc)
        rc = state_db_prepare(s, &st, "close an incident",
                     "UPDATE incidents SET closed_ms = ?2 WHERE id = ?1 AND closed_ms IS NULL", "ii", id, at_ms);
    if (!rc)
        rc = state_db_finish(s, st, "close an incident", &changed);
    if (!rc && !changed)
        rc = err_set(ERR_NOTFOUND, "state database %s: no open incident %lld", s->path, (long long)id);
    if (!rc)
        rc = note(s, id, at_ms, "closed", message, &changed);
    return state_db_end(s, rc, "close an incident");
}

static int read_timeline(state *s, state_incident *in)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "read a timeline",
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
        e->kind = state_db_str(st, 1);
        e->message = state_db_str(st, 2);
        if (!e->kind || !e->message)
            rc = err_set(ERR_FATAL, "out of memory");
    }
    if (!rc && step != SQLITE_DONE)
        rc = state_db_fail(s, step, "read a timeline");
    sqlite3_finalize(st);
    return rc;
}

int state_incident_get(state *s, int64_t id, state_incident *out)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    /* one read transaction: the incident and its timeline as of one moment */
    int rc = state_db_exec(s, "BEGIN", "read an incident");
    if (!rc)
        rc = state_db_prepare(s, &st, "read an incident",
                     "SELECT id, target, title, opened_ms, closed_ms FROM incidents WHERE id = ?", "i", id);
    if (!rc) {
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            out->id = sqlite3_column_int64(st, 0);
            out->target = state_db_str(st, 1);
            out->title = state_db_str(st, 2);
            out->opened_ms = sqlite3_column_int64(st, 3);
            out->closed_ms = sqlite3_column_int64(st, 4);
            if (!out->target || !out->title)
                rc = err_set(ERR_FATAL, "out of memory");
        } else {
            rc = step == SQLITE_DONE
                     ? err_set(ERR_NOTFOUND, "state database %s: no incident %lld", s->path, (long long)id)
                     : state_db_fail(s, step, "read an incident");
        }
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
    }
    free(in->entries);
    free(in->target);
    free(in->title);
    memset(in, 0, sizeof *in);
}

