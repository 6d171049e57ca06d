/* Unit tests: the agent's state database (src/state). */
#include "testutil.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "state/state.h"

static state *open_in(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/state.db", dir);
    state *s = NULL;
    assert_int_equal(state_open(path, 2000, &s), 0);
    assert_non_null(s);
    return s;
}

static void opens_private_wal_and_versioned(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    state_close(&s);
    assert_null(s);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), STATE_SCHEMA_VERSION);
    sqlite3_finalize(q);
    /* a newer schema than this build knows is refused, not written over */
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(state_open(path, 100, &s), ERR_VERSION);
    assert_null(s);
    assert_non_null(strstr(err_msg(), "schema version 99"));
    tu_rmrf(dir);
}

static void reopen_keeps_data_and_migrates_once(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t id = 0, ev = 0;
    assert_int_equal(state_incident_open(s, "backend", "backend failed 3 probes", 1000, &id), 0);
    assert_int_equal(state_event_add(s, 1000, "probe", "backend", "failed", id, &ev), 0);
    state_close(&s);
    s = open_in(dir, path, sizeof path);
    state_incident in;
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_string_equal(in.target, "backend");
    state_incident_free(&in);
    state_close(&s);
    tu_rmrf(dir);
}

static void bad_paths_and_files_are_errors(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = NULL;
    snprintf(path, sizeof path, "%s/missing/state.db", dir);
    assert_int_equal(state_open(path, 100, &s), ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err_msg(), path));
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not an SQLite database at all. ", f);
    fclose(f);
    assert_int_equal(state_open(path, 100, &s), ERR_DAMAGED);
    assert_null(s);
    assert_non_null(strstr(err_msg(), "junk.db"));
    tu_rmrf(dir);
}

static void events_need_an_existing_incident(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t a = 0, b = 0;
    assert_int_equal(state_event_add(s, 5, "hold", "db", "paused by alice", 0, &a), 0);
    assert_int_equal(state_event_add(s, 6, "resume", "db", "resumed", 0, &b), 0);
    assert_true(b > a);
    assert_int_equal(state_event_add(s, 7, "probe", "db", "failed", 42, NULL), ERR_NOTFOUND);
    assert_non_null(strstr(err_msg(), "no incident 42"));
    state_close(&s);
    tu_rmrf(dir);
}

static void incident_timeline_open_note_close(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t id = 0, id2 = 0;
    assert_int_equal(state_incident_open(s, "backend", "outage confirmed", 100, &id), 0);
    assert_int_equal(state_incident_open(s, "cache", "outage confirmed", 150, &id2), 0);
    assert_true(id2 > id);
    assert_int_equal(state_incident_note(s, id, 200, "action", "recover-command started"), 0);
    assert_int_equal(state_incident_note(s, id, 300, "verified", "probe passed 2 times"), 0);
    assert_int_equal(state_incident_close(s, id, 400, "healthy again"), 0);
    /* closed once only; unknown ids are named */
    assert_int_equal(state_incident_close(s, id, 500, "again"), ERR_NOTFOUND);
    assert_int_equal(state_incident_close(s, 999, 500, "x"), ERR_NOTFOUND);
    assert_int_equal(state_incident_note(s, 999, 500, "x", "y"), ERR_NOTFOUND);
    assert_non_null(strstr(err_msg(), "no incident 999"));
    state_incident in;
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_int_equal(in.opened_ms, 100);
    assert_int_equal(in.closed_ms, 400);
    assert_string_equal(in.title, "outage confirmed");
    assert_int_equal(in.nentries, 4);
    static const char *const kinds[] = {"opened", "action", "verified", "closed"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(in.entries[i].kind, kinds[i]);
    assert_string_equal(in.entries[3].message, "healthy again");
    assert_int_equal(in.entries[1].at_ms, 200);
    state_incident_free(&in);
    assert_int_equal(state_incident_get(s, id2, &in), 0);
    assert_int_equal(in.closed_ms, 0);
    assert_int_equal(in.nentries, 1);
    state_incident_free(&in);
    assert_int_equal(state_incident_get(s, 12345, &in), ERR_NOTFOUND);
    state_close(&s);
    tu_rmrf(dir);
}

static void outbox_dedups_and_keeps_order_per_channel(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t a, b, c, again;
    int added;
    assert_int_equal(state_outbox_enqueue(s, "incident-1/open", "oncall", "{\"a\":1}", 1000, &a, &added), 0);
    assert_int_equal(added, 1);
    assert_int_equal(state_outbox_enqueue(s, "incident-1/resolve", "oncall", "{\"a\":2}", 1001, &b, &added), 0);
    assert_int_equal(state_outbox_enqueue(s, "incident-1/open", "partners", "{\"p\":1}", 1002, &c, &added), 0);
    assert_int_equal(added, 1); /* the same key on another channel is another delivery */
    assert_int_equal(state_outbox_enqueue(s, "incident-1/open", "oncall", "{\"other\":1}", 1003, &again, &added), 0);
    assert_int_equal(added, 0);
    assert_int_equal(again, a);

    state_outbox_item it;
    int found;
    assert_int_equal(state_outbox_next_due(s, 999, &it, &found), 0); /* nothing due before its time */
    assert_int_equal(found, 0);
    assert_int_equal(state_outbox_next_due(s, 5000, &it, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(it.id, a);
    assert_string_equal(it.payload, "{\"a\":1}");
    assert_string_equal(it.channel, "oncall");
    state_outbox_item_free(&it);
    /* the receiver is down: a waits, and b (same channel) may not overtake it */
    assert_int_equal(state_outbox_mark_retry(s, a, 5000, 9000, "connection refused"), 0);
    assert_int_equal(state_outbox_next_due(s, 5001, &it, &found), 0);
    assert_int_equal(found, 1);
    assert_int_equal(it.id, c); /* another channel goes on */
    state_outbox_item_free(&it);
    assert_int_equal(state_outbox_mark_delivered(s, c, 5002), 0);
    assert_int_equal(state_outbox_next_due(s, 5003, &it, &found), 0);
    assert_int_equal(found, 0);
    assert_int_equal(state_outbox_next_due(s, 9000, &it, &found), 0);
    assert_int_equal(it.id, a);
    assert_int_equal(it.attempts, 1);
    assert_string_equal(it.last_error, "connection refused");
    state_outbox_item_free(&it);
    assert_int_equal(state_outbox_mark_delivered(s, a, 9001), 0);
    assert_int_equal(state_outbox_next_due(s, 9002, &it, &found), 0);
    assert_int_equal(it.id, b);
    state_outbox_item_free(&it);
    assert_int_equal(state_outbox_mark_dead(s, b, 9003, "HTTP 404"), 0);
    assert_int_equal(state_outbox_next_due(s, 99999, &it, &found), 0);
    assert_int_equal(found, 0);

    assert_int_equal(state_outbox_get(s, a, &it), 0);
    assert_int_equal(it.state, STATE_OUT_DELIVERED);
    assert_int_equal(it.attempts, 2);
    assert_int_equal(it.done_ms, 9001);
    state_outbox_item_free(&it);
    assert_int_equal(state_outbox_get(s, b, &it), 0);
    assert_int_equal(it.state, STATE_OUT_DEAD);
    assert_int_equal(it.done_ms, 9003);
    assert_string_equal(it.last_error, "HTTP 404");
    state_outbox_item_free(&it);
    /* a finished item takes no more outcomes; an unknown one is named */
    assert_int_equal(state_outbox_mark_delivered(s, a, 9100), ERR_NOTFOUND);
    assert_int_equal(state_outbox_mark_retry(s, b, 9100, 9200, "x"), ERR_NOTFOUND);
    assert_int_equal(state_outbox_mark_dead(s, 777, 9100, "x"), ERR_NOTFOUND);
    assert_int_equal(state_outbox_get(s, 777, &it), ERR_NOTFOUND);
    state_close(&s);
    tu_rmrf(dir);
}

/* Another process holding the write lock: a call gives up after the busy timeout
 * with ERR_LOCKED, instead of blocking the agent's loop. */
static void a_held_lock_times_out(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    state_close(&s);
    assert_int_equal(state_open(path, 200, &s), 0);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    int64_t id;
    assert_int_equal(state_incident_open(s, "db", "down", 1, &id), ERR_LOCKED);
    assert_non_null(strstr(err_msg(), "state.db"));
    assert_int_equal(state_outbox_enqueue(s, "k", "c", "p", 1, &id, NULL), ERR_LOCKED);
    assert_int_equal(state_event_add(s, 1, "k", "t", "m", 0, &id), ERR_LOCKED);
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(state_incident_open(s, "db", "down", 1, &id), 0);
    state_close(&s);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_private_wal_and_versioned),
        cmocka_unit_test(reopen_keeps_data_and_migrates_once),
        cmocka_unit_test(bad_paths_and_files_are_errors),
        cmocka_unit_test(events_need_an_existing_incident),
        cmocka_unit_test(incident_timeline_open_note_close),
        cmocka_unit_test(outbox_dedups_and_keeps_order_per_channel),
        cmocka_unit_test(a_held_lock_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
