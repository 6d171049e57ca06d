/* Unit tests: incidents as evidence (src/evidence/report): the JSON shapes the
 * status document shares, and the Markdown post-incident review. */
#include "testutil.h"

#include "evidence/report.h"

static state_entry E(int64_t at, const char *kind, const char *msg, const char *status)
{
    state_entry e = {.at_ms = at, .kind = (char *)(uintptr_t)kind, .message = (char *)(uintptr_t)msg,
                     .status = (char *)(uintptr_t)status};
    return e;
}

/* An incident built in memory (no database): opened at 1000 s, confirmed 6 s later,
 * one recovery verified, notified, an update, closed at 1030 s. */
static state_entry entries[8];
static state_incident sample(void)
{
    int64_t t = 1000000;
    entries[0] = E(t, "opened", "backend failed: HTTP 500", NULL);
    entries[1] = E(t + 6000, "detection", "3 probes failed", NULL);
    entries[2] = E(t + 7000, "action", "restart | tee /tmp/log\nand *then* <b>", NULL);
    entries[3] = E(t + 9000, "notification", "delivered to oncall", NULL);
    entries[4] = E(t + 12000, "update", "bad deploy `x`", "identified");
    entries[5] = E(t + 20000, "verification", "verified: passed 2 times", NULL);
    entries[6] = E(t + 20000, "notification", "dead-lettered at partners: HTTP 404", NULL);
    entries[7] = E(t + 30000, "closed", "recovered", NULL);
    state_incident in = {.id = 12, .opened_ms = t, .closed_ms = t + 30000, .target = (char *)(uintptr_t)"backend",
                         .title = (char *)(uintptr_t)"backend failed: HTTP 500", .entries = entries, .nentries = 8,
                         .status = (char *)(uintptr_t)"resolved", .detected_ms = t + 6000};
    return in;
}

static void incident_json_has_the_shared_shape(void **st)
{
    (void)st;
    state_incident in = sample();
    cJSON *o = report_incident_json(&in);
    assert_non_null(o);
    assert_int_equal(cJSON_GetObjectItem(o, "id")->valuedouble, 12);
    assert_string_equal(cJSON_GetObjectItem(o, "target")->valuestring, "backend");
    assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "resolved");
    assert_int_equal(cJSON_GetObjectItem(o, "detected_ms")->valuedouble, 1006000);
    assert_int_equal(cJSON_GetObjectItem(o, "closed_ms")->valuedouble, 1030000);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "false_positive")));
    /* time to recovery counts from confirmation, not from opening */
    assert_true(cJSON_GetObjectItem(o, "ttr_seconds")->valuedouble == 24.0);
    assert_int_equal(cJSON_GetObjectItem(o, "actions")->valuedouble, 1);
    cJSON *notes = cJSON_GetObjectItem(o, "notifications"), *tl = cJSON_GetObjectItem(o, "timeline");
    assert_int_equal(cJSON_GetArraySize(notes), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(notes, 1), "message")->valuestring,
                        "dead-lettered at partners: HTTP 404");
    assert_int_equal(cJSON_GetArraySize(tl), 8);
    cJSON *up = cJSON_GetArrayItem(tl, 4);
    assert_string_equal(cJSON_GetObjectItem(up, "kind")->valuestring, "update");
    assert_string_equal(cJSON_GetObjectItem(up, "status")->valuestring, "identified");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(tl, 0), "status")));
    /* JSON keeps the message exactly */
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(tl, 2), "message")->valuestring,
                        "restart | tee /tmp/log\nand *then* <b>");
    cJSON_Delete(o);

    /* open, never confirmed, listed without its timeline */
    in.closed_ms = 0;
    in.detected_ms = 0;
    in.entries = NULL;
    in.nentries = 0;
    in.false_positive = 1;
    o = report_incident_json(&in);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "closed_ms")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "detected_ms")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "ttr_seconds")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "false_positive")));
    assert_null(cJSON_GetObjectItem(o, "timeline"));
    cJSON_Delete(o);
}

static void metrics_json_nulls_what_cannot_be_computed(void **st)
{
    (void)st;
    state_metrics m = {.incidents_open = 1, .incidents_total = 7, .mttr_seconds = 42.5, .recovery_attempts = 5,
                       .recoveries_verified = 4, .recovery_success_rate = 0.8, .false_positives = 0,
                       .false_positive_rate = 0, .notifications_pending = 2, .notifications_failed = 1,
                       .notifications_delivered = 9};
    cJSON *o = report_metrics_json(&m);
    static const char *const keys[] = {"incidents_open", "incidents_total", "mttr_seconds", "recovery_attempts",
                                       "recoveries_verified", "recovery_success_rate", "false_positive_rate",
                                       "notifications_pending", "notifications_failed", "notifications_delivered"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, keys[i])));
    assert_true(cJSON_GetObjectItem(o, "mttr_seconds")->valuedouble == 42.5);
    assert_true(cJSON_GetObjectItem(o, "recovery_success_rate")->valuedouble == 0.8);
    assert_int_equal(cJSON_GetObjectItem(o, "notifications_failed")->valuedouble, 1);
    cJSON_Delete(o);
    m.mttr_seconds = m.recovery_success_rate = m.false_positive_rate = -1;
    o = report_metrics_json(&m);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "mttr_seconds")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "recovery_success_rate")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "false_positive_rate")));
    cJSON_Delete(o);
}

static char *review(const state_incident *in, const char *node)
{
    buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(report_incident_markdown(in, node, &b), 0);
    assert_int_equal(buf_append_u8(&b, 0), 0);
    return (char *)b.data;
}

/* The line of the Markdown that contains needle. */
static char *line_with(char *md, const char *needle)
{
    char *p = strstr(md, needle);
    assert_non_null(p);
    while (p > md && p[-1] != '\n')
        p--;
    static char line[4096];
    size_t n = strcspn(p, "\n");
    assert_true(n < sizeof line);
    memcpy(line, p, n);
    line[n] = '\0';
    return line;
}

/* Cells of a table row: '|' not preceded by a backslash. */
static int cells(const char *row)
{
    int n = 0;
    for (const char *p = row; *p; p++)
        n += *p == '|' && (p == row || p[-1] != '\\');
    return n - 1;
}

static void markdown_review_has_its_sections(void **st)
{
    (void)st;
    state_incident in = sample();
    char *md = review(&in, "zone-a-1");
    static const char *const want[] = {
        "# Post-incident review: incident 12, backend failed: HTTP 500", "## Summary", "| Service | backend |",
        "| Node | zone-a-1 |", "| Detected (failure confirmed) | 1970-01-01T00:16:46.000Z |",
        "| Time to detect | 6.0s |", "| Time to recovery | 24.0s |", "| Recovery attempts | 1 (1 verified) |",
        "## Timeline", "| time (UTC) | + | kind | status | message |", "## Detection gaps",
        "First failed probe to failure confirmed: 6.0s", "Failure confirmed to first recovery attempt: 1.0s",
        "Notification lost at", "## 5 whys", "5. Why?", "## People / Process / Technology", "### People",
        "### Process", "### Technology", "## Action items", "| action | owner | due date | status |",
        "|  |  |  |  |"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(md, want[i]))
            fail_msg("missing from the review: %s\n%s", want[i], md);
    /* every timeline row has the header's five cells, whatever the message holds */
    assert_int_equal(cells(line_with(md, "| time (UTC) |")), 5);
    char *row = line_with(md, "restart");
    assert_int_equal(cells(row), 5);
    assert_non_null(strstr(row, "restart \\| tee /tmp/log<br>and \\*then\\* &lt;b&gt; |"));
    assert_int_equal(cells(line_with(md, "bad deploy")), 5);
    assert_non_null(strstr(md, "| update | identified | bad deploy \\`x\\` |"));
    free(md);
}

static void markdown_escapes_hostile_titles_and_open_incidents(void **st)
{
    (void)st;
    state_incident in = sample();
    in.title = (char *)(uintptr_t)"x | y\n# not a heading\x1b[31m \xff";
    in.target = (char *)(uintptr_t)"a|b";
    in.closed_ms = 0;
    in.detected_ms = 0;
    in.nentries = 1;
    char *md = review(&in, NULL);
    /* the title stays on the heading line; nothing becomes markup or a control */
    assert_non_null(strstr(md, "# Post-incident review: incident 12, x \\| y \\# not a heading \\[31m \xef\xbf\xbd\n"));
    assert_null(strstr(md, "\x1b"));
    assert_null(strstr(md, "\n# not"));
    assert_int_equal(cells(line_with(md, "| Service |")), 2);
    assert_non_null(strstr(md, "| Resolved | still open |"));
    assert_non_null(strstr(md, "never confirmed (closed without a detection"));
    assert_non_null(strstr(md, "no automatic recovery was attempted"));
    assert_null(strstr(md, "| Node |"));
    free(md);
}

static void durations_and_times_read_well(void **st)
{
    (void)st;
    char out[48];
    report_duration(850, out, sizeof out);
    assert_string_equal(out, "850ms");
    report_duration(42500, out, sizeof out);
    assert_string_equal(out, "42.5s");
    report_duration(185000, out, sizeof out);
    assert_string_equal(out, "3m05s");
    report_duration(7385000, out, sizeof out);
    assert_string_equal(out, "2h03m05s");
    report_duration(93780000, out, sizeof out);
    assert_string_equal(out, "1d02h03m");
    report_duration(-2000, out, sizeof out);
    assert_string_equal(out, "-2.0s");
    report_time(1764600000123, out, sizeof out);
    assert_string_equal(out, "2025-12-01T14:40:00.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(incident_json_has_the_shared_shape),
        cmocka_unit_test(metrics_json_nulls_what_cannot_be_computed),
        cmocka_unit_test(markdown_review_has_its_sections),
        cmocka_unit_test(markdown_escapes_hostile_titles_and_open_incidents),
        cmocka_unit_test(durations_and_times_read_well),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
