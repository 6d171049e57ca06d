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

static void update_sets_status_and_resolved_closes(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t id;
    assert_int_equal(state_incident_open(s, "backend", "down", 1000, &id), 0);
    state_incident in;
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_string_equal(in.status, "investigating");
    assert_int_equal(in.detected_ms, 0);
    assert_null(in.entries[0].status);
    state_incident_free(&in);
    assert_int_equal(state_incident_update(s, id, 2000, "identified", "bad deploy", "alice"), 0);
    assert_int_equal(state_incident_update(s, id, 2500, "bogus", "x", "alice"), ERR_USAGE);
    assert_int_equal(state_incident_update(s, id, 2500, NULL, "x", "alice"), ERR_USAGE);
    assert_int_equal(state_incident_update(s, 999, 2500, "identified", "x", "alice"), ERR_NOTFOUND);
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_string_equal(in.status, "identified");
    assert_int_equal(in.closed_ms, 0);
    assert_int_equal(in.nentries, 2);
    assert_string_equal(in.entries[1].kind, "update");
    assert_string_equal(in.entries[1].status, "identified");
    assert_string_equal(in.entries[1].message, "bad deploy");
    state_incident_free(&in);
    /* a person's "resolved" closes it, saying who */
    assert_int_equal(state_incident_update(s, id, 3000, "resolved", "rolled back", "bob"), 0);
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_string_equal(in.status, "resolved");
    assert_int_equal(in.closed_ms, 3000);
    assert_int_equal(in.nentries, 4);
    assert_string_equal(in.entries[3].kind, "closed");
    assert_string_equal(in.entries[3].message, "resolved by bob");
    state_incident_free(&in);
    /* closed: a late "resolved" note is taken, another status is refused, nothing changes */
    assert_int_equal(state_incident_update(s, id, 4000, "monitoring", "x", "bob"), ERR_USAGE);
    assert_non_null(strstr(err_msg(), "is closed"));
    assert_int_equal(state_incident_update(s, id, 4000, "resolved", "postmortem on Monday", "bob"), 0);
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_int_equal(in.nentries, 5);
    assert_int_equal(in.closed_ms, 3000);
    state_incident_free(&in);
    /* the agent's close also resolves */
    assert_int_equal(state_incident_open(s, "cache", "down", 5000, &id), 0);
    assert_int_equal(state_incident_close(s, id, 6000, "healthy again"), 0);
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_string_equal(in.status, "resolved");
    state_incident_free(&in);
    state_close(&s);
    tu_rmrf(dir);
}

static void mark_sets_and_clears(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t id;
    assert_int_equal(state_incident_open(s, "backend", "down", 1000, &id), 0);
    assert_int_equal(state_incident_mark(s, id, 1, 2000, "alice"), 0);
    state_incident in;
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_int_equal(in.false_positive, 1);
    assert_string_equal(in.entries[1].kind, "mark");
    assert_non_null(strstr(in.entries[1].message, "alice"));
    state_incident_free(&in);
    assert_int_equal(state_incident_mark(s, id, 0, 3000, "bob"), 0);
    assert_int_equal(state_incident_get(s, id, &in), 0);
    assert_int_equal(in.false_positive, 0);
    assert_int_equal(in.nentries, 3);
    state_incident_free(&in);
    assert_int_equal(state_incident_mark(s, 77, 1, 3000, "bob"), ERR_NOTFOUND);
    state_close(&s);
    tu_rmrf(dir);
}

static void list_newest_first_open_since_and_timelines(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t a, b, c;
    assert_int_equal(state_incident_open(s, "a", "first", 1000, &a), 0);
    assert_int_equal(state_incident_close(s, a, 2000, "ok"), 0);
    assert_int_equal(state_incident_open(s, "b", "second", 3000, &b), 0);
    assert_int_equal(state_incident_note(s, b, 3500, "detection", "confirmed"), 0);
    assert_int_equal(state_incident_close(s, b, 9000, "ok"), 0);
    assert_int_equal(state_incident_open(s, "c", "third", 5000, &c), 0);
    state_incident *l;
    size_t n;
    assert_int_equal(state_incident_list(s, 0, 0, 0, &l, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(l[0].id, c);
    assert_int_equal(l[1].id, b);
    assert_int_equal(l[2].id, a);
    assert_null(l[0].entries);
    assert_int_equal(l[1].detected_ms, 3500);
    state_incidents_free(&l, n);
    assert_null(l);
    assert_int_equal(state_incident_list(s, 1, 0, 1, &l, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].id, c);
    assert_int_equal(l[0].nentries, 1);
    state_incidents_free(&l, n);
    /* since: what overlaps the window (open, or closed in it) */
    assert_int_equal(state_incident_list(s, 0, 4000, 1, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(l[0].id, c);
    assert_int_equal(l[1].id, b);
    assert_int_equal(l[1].nentries, 3);
    state_incidents_free(&l, n);
    state_close(&s);
    tu_rmrf(dir);
}

#define MIN 60000
#define HOUR (60 * MIN)

static void metrics_mttr_success_and_false_positives(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    state_metrics m;
    assert_int_equal(state_metrics_get(s, 0, &m), 0);
    assert_int_equal(m.incidents_total, 0);
    assert_true(m.mttr_seconds < 0);
    assert_true(m.recovery_success_rate < 0);
    assert_true(m.false_positive_rate < 0);
    int64_t a, b, c, d, t = 10 * HOUR;
    /* a: backend, confirmed 10 s after opening, one verified recovery; closed 40 s after
     * confirmation, but backend fails again 30 min later (c): that success does not count */
    assert_int_equal(state_incident_open(s, "backend", "down", t, &a), 0);
    assert_int_equal(state_incident_note(s, a, t + 10000, "detection", "confirmed"), 0);
    assert_int_equal(state_incident_note(s, a, t + 11000, "action", "restart"), 0);
    assert_int_equal(state_incident_note(s, a, t + 20000, "verification", "verified: passed 2 times"), 0);
    assert_int_equal(state_incident_close(s, a, t + 50000, "recovered"), 0);
    /* b: cache, closed with no detection (never confirmed): a false positive; TTR from opening: 20 s */
    assert_int_equal(state_incident_open(s, "cache", "slow", t + MIN, &b), 0);
    assert_int_equal(state_incident_close(s, b, t + MIN + 20000, "fine"), 0);
    /* c: backend again at t+30min: one failed and one verified attempt; that success holds */
    int64_t tc = t + 30 * MIN;
    assert_int_equal(state_incident_open(s, "backend", "down again", tc, &c), 0);
    assert_int_equal(state_incident_note(s, c, tc + 5000, "detection", "confirmed"), 0);
    assert_int_equal(state_incident_note(s, c, tc + 6000, "action", "restart"), 0);
    assert_int_equal(state_incident_note(s, c, tc + 9000, "verification", "failed: still down"), 0);
    assert_int_equal(state_incident_note(s, c, tc + 10000, "action", "restart"), 0);
    assert_int_equal(state_incident_note(s, c, tc + 15000, "verification", "verified: passed 2 times"), 0);
    assert_int_equal(state_incident_close(s, c, tc + 65000, "recovered"), 0);
    /* d: db, open, marked false positive */
    assert_int_equal(state_incident_open(s, "db", "flap", t + 2 * HOUR, &d), 0);
    assert_int_equal(state_incident_note(s, d, t + 2 * HOUR + 1000, "detection", "confirmed"), 0);
    assert_int_equal(state_incident_mark(s, d, 1, t + 2 * HOUR + 5000, "alice"), 0);

    assert_int_equal(state_metrics_get(s, 0, &m), 0);
    assert_int_equal(m.incidents_open, 1);
    assert_int_equal(m.incidents_total, 4);
    /* (40 + 20 + 60) / 3 */
    assert_true(m.mttr_seconds > 39.999 && m.mttr_seconds < 40.001);
    assert_int_equal(m.recovery_attempts, 3);
    assert_int_equal(m.recoveries_verified, 1);
    assert_true(m.recovery_success_rate > 0.333 && m.recovery_success_rate < 0.334);
    assert_int_equal(m.false_positives, 2);
    assert_true(m.false_positive_rate > 0.499 && m.false_positive_rate < 0.501);

    /* a re-failure after more than an hour does not take a success back */
    int64_t e, te = tc + 15000 + HOUR + 1000;
    assert_int_equal(state_incident_open(s, "backend", "down a third time", te, &e), 0);
    assert_int_equal(state_metrics_get(s, 0, &m), 0);
    assert_int_equal(m.recoveries_verified, 1);
    assert_int_equal(m.incidents_open, 2);
    /* ... one inside the hour does */
    assert_int_equal(state_incident_close(s, e, te + 1000, "x"), 0);
    int64_t f;
    assert_int_equal(state_incident_open(s, "backend", "again", tc + 15000 + HOUR - 1000, &f), 0);
    assert_int_equal(state_metrics_get(s, 0, &m), 0);
    assert_int_equal(m.recoveries_verified, 0);
    assert_true(m.recovery_success_rate == 0.0);

    /* the window: only incidents opened (and attempts made) since it began */
    assert_int_equal(state_metrics_get(s, t + 2 * HOUR, &m), 0);
    assert_int_equal(m.incidents_total, 1); /* d (e and f opened at about t + 1h30m) */
    assert_int_equal(m.incidents_open, 2);  /* d and f: open is "now", whatever the window */
    assert_int_equal(m.recovery_attempts, 0);
    assert_true(m.recovery_success_rate < 0);
    state_close(&s);
    tu_rmrf(dir);
}

static void open_existing_never_creates(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/state.db", dir);
    state *s = NULL;
    assert_int_equal(state_open_existing(path, 100, &s), ERR_NOTFOUND);
    assert_null(s);
    assert_non_null(strstr(err_msg(), "no state database at"));
    assert_non_null(strstr(err_msg(), path));
    assert_int_equal(access(path, F_OK), -1);
    s = open_in(dir, path, sizeof path);
    state_close(&s);
    assert_int_equal(state_open_existing(path, 100, &s), 0);
    state_close(&s);
    tu_rmrf(dir);
}

static void holds_services_and_counters(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    state_hold *h;
    size_t n;
    assert_int_equal(state_hold_list(s, &h, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(state_hold_set(s, "db", "pause", "maintenance window", "alice", 100), 0);
    assert_int_equal(state_hold_set(s, "*", "escalation", "partition", "agent", 200), 0);
    /* a new hold on the same target replaces the old one */
    assert_int_equal(state_hold_set(s, "db", "escalation", "3 recoveries in 1h", "agent", 300), 0);
    assert_int_equal(state_hold_list(s, &h, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].target, "*");
    assert_string_equal(h[1].target, "db");
    assert_string_equal(h[1].kind, "escalation");
    assert_string_equal(h[1].reason, "3 recoveries in 1h");
    assert_string_equal(h[1].by, "agent");
    assert_int_equal(h[1].at_ms, 300);
    state_holds_free(&h, n);
    assert_null(h);
    int cleared = -1;
    assert_int_equal(state_hold_release(s, "db", "bob", 400, &cleared), 0);
    assert_int_equal(cleared, 1);
    assert_int_equal(state_hold_release(s, "db", "bob", 401, &cleared), 0);
    assert_int_equal(cleared, 0); /* released once */
    assert_int_equal(state_hold_list(s, &h, &n), 0);
    assert_int_equal(n, 2); /* listed, released, until the agent has recorded it */
    assert_int_equal(h[1].released_ms, 400);
    assert_string_equal(h[1].released_by, "bob");
    state_holds_free(&h, n);
    assert_int_equal(state_hold_forget(s, "db", 400), 0);
    assert_int_equal(state_hold_list(s, &h, &n), 0);
    assert_int_equal(n, 1);
    state_holds_free(&h, n);

    char name[] = "backend", failed[] = "failed", healthy[] = "healthy", detail[] = "HTTP 500", rec[] = "100,200",
         api[] = "api";
    state_service sv = {.name = name, .state = failed, .detail = detail, .since_ms = 10, .incident = 4,
                        .recoveries = rec};
    assert_int_equal(state_service_put(s, &sv), 0);
    state_service sv2 = {.name = api, .state = healthy, .since_ms = 5};
    assert_int_equal(state_service_put(s, &sv2), 0);
    sv.state = healthy;
    sv.incident = 0;
    assert_int_equal(state_service_put(s, &sv), 0);
    state_service *l;
    assert_int_equal(state_service_list(s, &l, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].name, "api");
    assert_string_equal(l[0].detail, "");
    assert_string_equal(l[1].state, "healthy");
    assert_int_equal(l[1].incident, 0);
    assert_string_equal(l[1].recoveries, "100,200");
    state_services_free(&l, n);

    int64_t v1, v2, v3, o;
    assert_int_equal(state_counter_next(s, "epoch/pg", &v1), 0);
    assert_int_equal(state_counter_next(s, "epoch/pg", &v2), 0);
    assert_int_equal(state_counter_next(s, "epoch/redis", &o), 0);
    assert_int_equal(o, 1);
    assert_true(v2 > v1);
    state_close(&s);
    s = open_in(dir, path, sizeof path);
    assert_int_equal(state_counter_next(s, "epoch/pg", &v3), 0);
    assert_true(v3 > v2);
    assert_int_equal(state_hold_list(s, &h, &n), 0);
    assert_int_equal(n, 1); /* holds survive a restart */
    state_holds_free(&h, n);
    state_close(&s);
    tu_rmrf(dir);
}

/* Old events and finished notifications go; pending ones and incidents stay. Human
 * updates after a mark, oldest first; counters set and read. */
static void prune_updates_and_counter_marks(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), path[512];
    state *s = open_in(dir, path, sizeof path);
    int64_t inc, id, removed = -1, v = -1;
    assert_int_equal(state_incident_open(s, "web", "web failed", 100, &inc), 0);
    assert_int_equal(state_event_add(s, 100, "probe", "web", "old", 0, NULL), 0);
    assert_int_equal(state_event_add(s, 5000, "probe", "web", "new", 0, NULL), 0);
    assert_int_equal(state_outbox_enqueue(s, "a", "hook", "{}", 100, &id, NULL), 0);
    assert_int_equal(state_outbox_mark_delivered(s, id, 200), 0);
    assert_int_equal(state_outbox_enqueue(s, "b", "hook", "{}", 100, NULL, NULL), 0); /* pending: kept */
    assert_int_equal(state_prune(s, 1000, 1000, &removed), 0);
    assert_int_equal(removed, 2);
    int64_t pending, dead, delivered;
    assert_int_equal(state_outbox_counts(s, &pending, &dead, &delivered), 0);
    assert_int_equal(pending, 1);
    assert_int_equal(delivered, 0);
    state_incident in;
    assert_int_equal(state_incident_get(s, inc, &in), 0); /* incidents stay */
    state_incident_free(&in);

    assert_int_equal(state_incident_update(s, inc, 300, "identified", "found it", "alice"), 0);
    assert_int_equal(state_incident_update(s, inc, 400, "monitoring", "fixed", "alice"), 0);
    state_update *u;
    size_t n;
    assert_int_equal(state_updates_after(s, 0, 10, &u, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(u[0].status, "identified");
    assert_string_equal(u[1].message, "fixed");
    assert_string_equal(u[1].target, "web");
    int64_t mark = u[0].timeline_id;
    state_updates_free(&u, n);
    assert_int_equal(state_updates_after(s, mark, 10, &u, &n), 0);
    assert_int_equal(n, 1);
    state_updates_free(&u, n);
    assert_int_equal(state_counter_get(s, "update-sent", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(state_counter_set(s, "update-sent", mark), 0);
    assert_int_equal(state_counter_get(s, "update-sent", &v), 0);
    assert_int_equal(v, mark);
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
        cmocka_unit_test(update_sets_status_and_resolved_closes),
        cmocka_unit_test(mark_sets_and_clears),
        cmocka_unit_test(list_newest_first_open_since_and_timelines),
        cmocka_unit_test(metrics_mttr_success_and_false_positives),
        cmocka_unit_test(open_existing_never_creates),
        cmocka_unit_test(holds_services_and_counters),
        cmocka_unit_test(prune_updates_and_counter_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
