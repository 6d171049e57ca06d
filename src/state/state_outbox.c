/* state_outbox — see state.h: the notification outbox. */
#include "state_impl.h"

#include <stdlib.h>
#include <string.h>

int state_outbox_enqueue(state *s, const char *dedup_key, const char *channel, const char *payload, int64_t now_ms,
                         int64_t *id, int *added)
{
    sqlite3_stmt *st;
    int changed = 0, rc = state_db_begin(s, "queue a notification");
    if (!rc)
        rc = state_db_prepare(s, &st, "queue a notification",
                     "INSERT INTO outbox(dedup_key, channel, payload, created_ms, next_attempt_ms)"
                     " VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT(dedup_key, channel) DO NOTHING",
                     "ttti", dedup_key, channel, payload, now_ms);
    if (!rc)
        rc = state_db_finish(s, st, "queue a notification", &changed);
    int64_t got = changed ? sqlite3_last_insert_rowid(s->db) : 0;
    if (!rc && !changed) {
        rc = state_db_prepare(s, &st, "queue a notification", "SELECT id FROM outbox WHERE dedup_key = ? AND channel = ?",
                     "tt", dedup_key, channel);
        if (!rc) {
            int step = sqlite3_step(st);
            if (step == SQLITE_ROW)
                got = sqlite3_column_int64(st, 0);
            else
                rc = state_db_fail(s, step, "queue a notification");
            sqlite3_finalize(st);
        }
    }
    rc = state_db_end(s, rc, "queue a notification");
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
        it->dedup_key = state_db_str(st, 1);
        it->channel = state_db_str(st, 2);
        it->payload = state_db_str(st, 3);
        it->attempts = sqlite3_column_int(st, 4);
        it->created_ms = sqlite3_column_int64(st, 5);
        it->next_attempt_ms = sqlite3_column_int64(st, 6);
        it->state = sqlite3_column_int(st, 7);
        it->done_ms = sqlite3_column_int64(st, 8);
        it->last_error = state_db_str(st, 9);
        if (!it->dedup_key || !it->channel || !it->payload || !it->last_error)
            rc = err_set(ERR_FATAL, "out of memory");
    } else if (step != SQLITE_DONE) {
        rc = state_db_fail(s, step, what);
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
    int rc = state_db_prepare(s, &st, what,
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

int state_outbox_next_at(state *s, int64_t *at_ms, int *found)
{
    sqlite3_stmt *st;
    const char *what = "find when the next notification is due";
    *found = 0;
    int rc = state_db_prepare(s, &st, what,
                     "SELECT min(next_attempt_ms) FROM outbox o WHERE state = 0"
                     " AND id = (SELECT min(id) FROM outbox p WHERE p.channel = o.channel AND p.state = 0)",
                     "");
    if (rc)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *at_ms = sqlite3_column_int64(st, 0);
        *found = 1;
    } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = state_db_fail(s, step, what);
    }
    sqlite3_finalize(st);
    return rc;
}

int state_outbox_get(state *s, int64_t id, state_outbox_item *out)
{
    sqlite3_stmt *st;
    int found = 0;
    int rc = state_db_prepare(s, &st, "read a notification", "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?", "i", id);
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
    int rc = state_db_prepare(s, &st, "record a delivery attempt",
                     "UPDATE outbox SET attempts = attempts + 1, state = ?2, next_attempt_ms = ?3, done_ms = ?4,"
                     " last_error = ?5 WHERE id = ?1 AND state = 0",
                     "iiint", id, (int64_t)to, next_ms, to == STATE_OUT_PENDING ? (int64_t)0 : now_ms, error);
    if (!rc)
        rc = state_db_finish(s, st, "record a delivery attempt", &changed);
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

/* One row of integers from sql (with its parameters); each column into out[i]. */
static int count_query(state *s, const char *what, int64_t *out, int ncols, sqlite3_stmt *st)
{
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW)
        for (int i = 0; i < ncols; i++)
            out[i] = sqlite3_column_int64(st, i);
    else
        rc = state_db_fail(s, step, what);
    sqlite3_finalize(st);
    return rc;
}

int state_outbox_counts(state *s, int64_t *pending, int64_t *dead, int64_t *delivered)
{
    sqlite3_stmt *st;
    int64_t v[3] = {0, 0, 0};
    const char *what = "count notifications";
    int rc = state_db_prepare(s, &st, what,
                              "SELECT coalesce(sum(state = ?1), 0), coalesce(sum(state = ?2), 0),"
                              " coalesce(sum(state = ?3), 0) FROM outbox",
                              "iii", (int64_t)STATE_OUT_PENDING, (int64_t)STATE_OUT_DEAD,
                              (int64_t)STATE_OUT_DELIVERED);
    if (!rc)
        rc = count_query(s, what, v, 3, st);
    *pending = v[0];
    *dead = v[1];
    *delivered = v[2];
    return rc;
}

int state_outbox_count_prefix(state *s, const char *channel, const char *prefix, int64_t *n)
{
    sqlite3_stmt *st;
    const char *what = "look up a notification";
    *n = 0;
    /* a range over the (dedup_key, channel) index: keys from prefix up to prefix with
     * its last byte one higher (the agent's keys are ASCII, so that byte is no 0xff) */
    size_t len = strlen(prefix);
    char *upper = strdup(prefix);
    if (!upper)
        return err_set(ERR_FATAL, "out of memory");
    if (len && (unsigned char)upper[len - 1] < 0xff)
        upper[len - 1]++;
    int rc = state_db_prepare(s, &st, what,
                              "SELECT count(*) FROM outbox WHERE dedup_key >= ?2 AND (?3 = ?2 OR dedup_key < ?3)"
                              " AND channel = ?1 AND substr(dedup_key, 1, length(?2)) = ?2",
                              "ttt", channel, prefix, upper);
    free(upper);
    return rc ? rc : count_query(s, what, n, 1, st);
}

int state_outbox_exists(state *s, const char *dedup_key, const char *channel, int *exists)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    const char *what = "look up a notification";
    int rc = state_db_prepare(s, &st, what, "SELECT count(*) FROM outbox WHERE dedup_key = ?1 AND channel = ?2",
                              "tt", dedup_key, channel);
    if (!rc)
        rc = count_query(s, what, &n, 1, st);
    *exists = n > 0;
    return rc;
}

int state_outbox_retry_now(state *s, int64_t now_ms)
{
    sqlite3_stmt *st;
    int rc = state_db_prepare(s, &st, "retry the pending notifications",
                              "UPDATE outbox SET next_attempt_ms = ?1 WHERE state = 0 AND next_attempt_ms > ?1", "i",
                              now_ms);
    return rc ? rc : state_db_finish(s, st, "retry the pending notifications", NULL);
}
