/* Unit tests: core (buf, rd, text, fsutil, err). */
#include "testutil.h"

#include <sys/stat.h>

#include "core/bgtask.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/text.h"

static void buf_respects_max(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(buf_append(&b, "0123456789", 10), ERR_FATAL);
    assert_int_equal(b.len, 10);
    buf_free(&b);
}

static void rd_stops_at_end(void **state)
{
    (void)state;
    uint8_t d[5] = {1, 2, 3, 4, 5};
    rd r;
    rd_init(&r, d, sizeof d);
    assert_int_equal(rd_u32(&r), 0x04030201);
    assert_false(r.bad);
    assert_int_equal(rd_u32(&r), 0);
    assert_true(r.bad);
    assert_null(rd_bytes(&r, 1)); /* stays bad */
}

static void durations_parse(void **state)
{
    (void)state;
    int64_t s;
    assert_int_equal(text_parse_duration("7y", &s), 0);
    assert_int_equal(s, 7LL * 365 * 86400);
    assert_int_equal(text_parse_duration("1d12h", &s), 0);
    assert_int_equal(s, 36 * 3600);
    assert_int_equal(text_parse_duration("30min", &s), 0);
    assert_int_equal(s, 1800);
    assert_int_equal(text_parse_duration("7", &s), ERR_USAGE);
    assert_int_equal(text_parse_duration("x", &s), ERR_USAGE);
    assert_int_equal(text_parse_duration("", &s), ERR_USAGE);
    assert_int_equal(text_parse_duration("3q", &s), ERR_USAGE);
    assert_int_equal(text_parse_duration("2m", &s), 0); /* retention: a month */
    assert_int_equal(s, 60LL * 86400);
    err_clear();
}

/* Intervals and timeouts: m is a minute there, and years or months are refused. */
static void intervals_parse(void **state)
{
    (void)state;
    int64_t s;
    assert_int_equal(text_parse_interval("2m", &s), 0);
    assert_int_equal(s, 120);
    assert_int_equal(text_parse_interval("1h30m", &s), 0);
    assert_int_equal(s, 5400);
    assert_int_equal(text_parse_interval("15min", &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(text_parse_interval("24h", &s), 0);
    assert_int_equal(s, 86400);
    assert_int_equal(text_parse_interval("1y", &s), ERR_USAGE);
    assert_int_equal(text_parse_interval("500ms", &s), ERR_USAGE); /* whole seconds: said so */
    assert_non_null(strstr(err_msg(), "no milliseconds"));
    assert_int_equal(text_parse_interval("10", &s), ERR_USAGE);
    assert_int_equal(text_parse_interval("", &s), ERR_USAGE);
    err_clear();
}

static void numbers_parse(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(text_parse_u64("42", 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(text_parse_u64("101", 100, &v), ERR_USAGE);
    assert_int_equal(text_parse_u64("-1", 100, &v), ERR_USAGE);
    assert_int_equal(text_parse_u64("99999999999999999999999", UINT64_MAX, &v), ERR_USAGE);
}

static void times_round_trip(void **state)
{
    (void)state;
    char t[64];
    int64_t s;
    text_time(1764138000, 123, t, sizeof t);
    assert_string_equal(t, "2025-11-26T06:20:00.000000123Z");
    assert_int_equal(text_parse_time(t, &s), 0);
    assert_int_equal(s, 1764138000);
    assert_int_equal(text_parse_time("2025-11-26T08:20:00+02:00", &s), 0);
    assert_int_equal(s, 1764138000);
    assert_int_equal(text_parse_time("yesterday", &s), ERR_USAGE);
    /* found by fuzzing: a short zone offset once read past the end */
    assert_int_equal(text_parse_time("2025-11-26T08:20:00+1:0", &s), ERR_USAGE);
    assert_int_equal(text_parse_time("2025-11-26T08:20:00+", &s), ERR_USAGE);
}

static void hex_rejects_bad(void **state)
{
    (void)state;
    uint8_t out[2];
    assert_int_equal(text_unhex("0aFf", out, 2), 0);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(text_unhex("0g00", out, 2), -1);
    assert_int_equal(text_unhex("000", out, 2), -1);
}

/* bgtask: one task at a time, in order; each result reaches the owner exactly once
 * (from the next start, or from wait); without a thread a task runs at once. */
typedef struct bg_probe {
    int order[8], n, fail_at;
    int seen; /* tasks that ran */
} bg_probe;

static int bg_task(void *arg)
{
    bg_probe *p = arg;
    usleep(2000); /* the owner goes on meanwhile */
    int me = __atomic_fetch_add(&p->seen, 1, __ATOMIC_SEQ_CST);
    p->order[p->n++] = me;
    return me == p->fail_at ? 28 /* ENOSPC */ : 0;
}

static void bgtask_runs_in_order_and_reports_once(void **state)
{
    (void)state;
    bg_probe p = {.fail_at = 1};
    bgtask *t = bgtask_new();
    assert_non_null(t);
    assert_int_equal(bgtask_wait(t), 0); /* nothing in flight */
    assert_int_equal(bgtask_start(t, bg_task, &p), 0);
    assert_int_equal(bgtask_start(t, bg_task, &p), 0);  /* task 0 succeeded */
    assert_int_equal(bgtask_start(t, bg_task, &p), 28); /* task 1 failed */
    assert_int_equal(bgtask_wait(t), 0);                /* task 2 */
    assert_int_equal(bgtask_wait(t), 0);                /* reported once only */
    assert_int_equal(p.seen, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p.order[i], i);
    p.fail_at = 3;
    assert_int_equal(bgtask_start(t, bg_task, &p), 0);
    bgtask_free(&t); /* waits for it */
    assert_null(t);
    assert_int_equal(p.seen, 4);
    /* without a helper: at once, its own result */
    p.fail_at = 4;
    assert_int_equal(bgtask_start(NULL, bg_task, &p), 28);
    assert_int_equal(p.seen, 5);
    assert_int_equal(bgtask_wait(NULL), 0);
    bgtask_free(&t); /* NULL: nothing */
}

static void durable_write_is_atomic(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/f", dir);
    assert_int_equal(fs_write_durable(path, "abc", 3, 0600, 1), 0);
    /* exclusive: an existing file is never replaced */
    assert_int_not_equal(fs_write_durable(path, "xyz", 3, 0600, 1), 0);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(fs_read_file(path, &b, 100), 0);
    assert_memory_equal(b.data, "abc", 3);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(fs_write_durable(path, "xyz!", 4, 0600, 0), 0);
    assert_int_equal(fs_read_file(path, &b, 100), 0);
    assert_int_equal(b.len, 4);
    /* no temporary is left behind */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(fs_read_file(path, &b, 2), ERR_DAMAGED); /* over the limit */
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(fs_read_file(path, &b, 100), ERR_NOTFOUND);
    assert_int_equal(fs_read_range(path, 0, 1, &b), ERR_NOTFOUND);
    buf_free(&b);
    tu_rmrf(dir);
}

static void durable_write_reports_missing_folder(void **state)
{
    (void)state;
    int rc = fs_write_durable("/nonexistent-lifeline/x", "a", 1, 0600, 0);
    assert_int_equal(rc, ERR_IO);
    assert_non_null(strstr(err_msg(), "/nonexistent-lifeline/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_respects_max),     cmocka_unit_test(rd_stops_at_end),
        cmocka_unit_test(durations_parse), cmocka_unit_test(intervals_parse),      cmocka_unit_test(numbers_parse),
        cmocka_unit_test(times_round_trip),     cmocka_unit_test(hex_rejects_bad),
        cmocka_unit_test(durable_write_is_atomic), cmocka_unit_test(bgtask_runs_in_order_and_reports_once), cmocka_unit_test(durable_write_reports_missing_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
