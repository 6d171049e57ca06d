/* Unit tests: notifications (src/notify). The three webhook formats and the mail
 * rendered from an alert; Retry-After, backoff and reminder rules; `after` and
 * reminder scheduling against a real state database with a given clock; and the
 * dispatcher against a real HTTP receiver (tests/system/webhook_rx.py, started here)
 * that is told to fail: retry with Retry-After, order kept, dead letter + fallback,
 * max-age, a receiver that hangs up. */
#define _GNU_SOURCE
#include "testutil.h"

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "config/config.h"
#include "core/proc.h"
#include "notify/notify.h"
#include "notify/notify_impl.h"
#include "state/state.h"

#define T0 1764600000000LL /* 2025-12-01T14:40:00Z */
#define MIN (60LL * 1000)
#define HOUR (60 * MIN)

static cJSON *alert(const char *id, const char *event, const char *status, int64_t incident, int64_t at,
                    int64_t opened)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "id", id);
    cJSON_AddStringToObject(a, "event", event);
    cJSON_AddStringToObject(a, "status", status);
    cJSON_AddStringToObject(a, "severity", "critical");
    cJSON_AddStringToObject(a, "node", "zone-a-1");
    cJSON_AddStringToObject(a, "service", "backend");
    if (incident)
        cJSON_AddNumberToObject(a, "incident", (double)incident);
    else
        cJSON_AddNullToObject(a, "incident");
    cJSON_AddStringToObject(a, "title", "backend failed: HTTP 500");
    cJSON_AddStringToObject(a, "message", "3 probes failed in a row\nline two");
    cJSON_AddNumberToObject(a, "at_ms", (double)at);
    if (opened)
        cJSON_AddNumberToObject(a, "opened_ms", (double)opened);
    cJSON_AddStringToObject(a, "url", "http://127.0.0.1:8008/");
    return a;
}

static notify_channel chan(int format)
{
    notify_channel ch;
    memset(&ch, 0, sizeof ch);
    snprintf(ch.name, sizeof ch.name, "oncall");
    ch.format = format;
    ch.node = (char *)"zone-a-1";
    return ch;
}

static cJSON *render(notify_channel *ch, const cJSON *a)
{
    char *text = notify_render_webhook(ch, a);
    assert_non_null(text);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o); /* valid JSON */
    free(text);
    return o;
}

static const char *str(const cJSON *o, const char *path)
{
    /* "a.b.c" through objects, "alerts.0.x" through arrays */
    char copy[256], *save = NULL;
    snprintf(copy, sizeof copy, "%s", path);
    const cJSON *at = o;
    for (char *t = strtok_r(copy, ".", &save); t && at; t = strtok_r(NULL, ".", &save))
        at = cJSON_IsArray(at) ? cJSON_GetArrayItem(at, atoi(t)) : cJSON_GetObjectItemCaseSensitive(at, t);
    return cJSON_IsString(at) ? at->valuestring : NULL;
}

static void renders_alertmanager_v4(void **st)
{
    (void)st;
    notify_channel ch = chan(NOTIFY_JSON);
    cJSON *a = alert("incident/12/opened", "incident", "firing", 12, T0 + 5000, T0);
    cJSON *o = render(&ch, a);
    assert_string_equal(str(o, "version"), "4");
    assert_string_equal(str(o, "status"), "firing");
    assert_string_equal(str(o, "receiver"), "oncall");
    assert_string_equal(str(o, "groupKey"), "lifeline/zone-a-1/incident/12");
    assert_string_equal(str(o, "externalURL"), "http://127.0.0.1:8008/");
    assert_non_null(cJSON_GetObjectItem(o, "groupLabels"));
    assert_string_equal(str(o, "commonLabels.service"), "backend");
    assert_string_equal(str(o, "commonAnnotations.summary"), "backend failed: HTTP 500");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "alerts")), 1);
    assert_string_equal(str(o, "alerts.0.status"), "firing");
    assert_string_equal(str(o, "alerts.0.labels.incident"), "12");
    assert_string_equal(str(o, "alerts.0.labels.severity"), "critical");
    assert_string_equal(str(o, "alerts.0.annotations.description"), "3 probes failed in a row\nline two");
    assert_string_equal(str(o, "alerts.0.startsAt"), "2025-12-01T14:40:00.000Z");
    assert_string_equal(str(o, "alerts.0.endsAt"), "0001-01-01T00:00:00Z");
    assert_string_equal(str(o, "alerts.0.generatorURL"), "http://127.0.0.1:8008/");
    char fp[17];
    snprintf(fp, sizeof fp, "%s", str(o, "alerts.0.fingerprint"));
    assert_int_equal(strlen(fp), 16);
    cJSON_Delete(o);
    cJSON_Delete(a);
    /* its resolution: same fingerprint and group, an end time */
    a = alert("incident/12/resolved", "resolved", "resolved", 12, T0 + 60000, T0);
    o = render(&ch, a);
    assert_string_equal(str(o, "status"), "resolved");
    assert_string_equal(str(o, "alerts.0.fingerprint"), fp);
    assert_string_equal(str(o, "groupKey"), "lifeline/zone-a-1/incident/12");
    assert_string_equal(str(o, "alerts.0.endsAt"), "2025-12-01T14:41:00.000Z");
    cJSON_Delete(o);
    cJSON_Delete(a);
}

static void renders_slack(void **st)
{
    (void)st;
    notify_channel ch = chan(NOTIFY_SLACK);
    cJSON *a = alert("incident/12/opened", "incident", "firing", 12, T0, T0);
    cJSON *o = render(&ch, a);
    assert_string_equal(str(o, "text"), "[FIRING] backend failed: HTTP 500");
    assert_string_equal(str(o, "blocks.0.type"), "header");
    assert_string_equal(str(o, "blocks.0.text.type"), "plain_text");
    assert_string_equal(str(o, "blocks.1.text.text"), "3 probes failed in a row\nline two");
    assert_string_equal(str(o, "blocks.2.type"), "context");
    assert_non_null(strstr(str(o, "blocks.2.elements.0.text"), "backend"));
    cJSON_Delete(o);
    cJSON_Delete(a);
    /* a title longer than Slack's header block allows is cut there */
    char title[400];
    memset(title, 'x', sizeof title - 1);
    title[sizeof title - 1] = '\0';
    a = alert("incident/1/opened", "incident", "resolved", 1, T0, T0);
    cJSON_ReplaceItemInObject(a, "title", cJSON_CreateString(title));
    o = render(&ch, a);
    assert_true(strlen(str(o, "blocks.0.text.text")) <= 150);
    assert_true(!strncmp(str(o, "text"), "[RESOLVED] ", 11));
    cJSON_Delete(o);
    cJSON_Delete(a);
}

static void renders_pagerduty(void **st)
{
    (void)st;
    notify_channel ch = chan(NOTIFY_PAGERDUTY);
    ch.routing_key = (char *)"R0UTINGKEY";
    cJSON *a = alert("incident/12/opened", "incident", "firing", 12, T0, T0);
    cJSON *o = render(&ch, a);
    assert_string_equal(str(o, "event_action"), "trigger");
    assert_string_equal(str(o, "routing_key"), "R0UTINGKEY");
    assert_string_equal(str(o, "dedup_key"), "lifeline/zone-a-1/incident/12");
    assert_string_equal(str(o, "payload.summary"), "backend failed: HTTP 500");
    assert_string_equal(str(o, "payload.source"), "zone-a-1");
    assert_string_equal(str(o, "payload.severity"), "critical");
    assert_string_equal(str(o, "payload.timestamp"), "2025-12-01T14:40:00.000Z");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "payload"), "custom_details"));
    cJSON_Delete(o);
    cJSON_Delete(a);
    /* an update of the same incident keeps the key; its resolution resolves it */
    a = alert("incident/12/escalation", "escalation", "firing", 12, T0 + 1000, T0);
    o = render(&ch, a);
    assert_string_equal(str(o, "dedup_key"), "lifeline/zone-a-1/incident/12");
    cJSON_Delete(o);
    cJSON_Delete(a);
    a = alert("incident/12/resolved", "resolved", "resolved", 12, T0 + 2000, T0);
    o = render(&ch, a);
    assert_string_equal(str(o, "event_action"), "resolve");
    assert_string_equal(str(o, "dedup_key"), "lifeline/zone-a-1/incident/12");
    cJSON_Delete(o);
    cJSON_Delete(a);
    /* without an incident: the alert's own id; an unknown severity is info */
    a = alert("hold/backend/1", "hold", "firing", 0, T0, 0);
    cJSON_ReplaceItemInObject(a, "severity", cJSON_CreateString("weird"));
    ch.routing_key = NULL;
    o = render(&ch, a);
    assert_string_equal(str(o, "dedup_key"), "lifeline/zone-a-1/hold/backend/1");
    assert_string_equal(str(o, "payload.severity"), "info");
    assert_null(cJSON_GetObjectItem(o, "routing_key"));
    cJSON_Delete(o);
    cJSON_Delete(a);
}

static void renders_mail(void **st)
{
    (void)st;
    notify_channel ch = chan(0);
    ch.to = (char *)"ops@example.org boss@example.org";
    cJSON *a = alert("incident/12/opened", "incident", "firing", 12, T0, T0);
    cJSON_ReplaceItemInObject(a, "title", cJSON_CreateString("backend \xc3\xa9tat\r\nBcc: evil@x"));
    char *m = notify_render_mail(&ch, a, T0);
    assert_non_null(m);
    assert_non_null(strstr(m, "Date: Mon, 01 Dec 2025 14:40:00 +0000\r\n"));
    assert_non_null(strstr(m, "From: lifeline@zone-a-1\r\n"));
    assert_non_null(strstr(m, "To: ops@example.org,boss@example.org\r\n"));
    assert_non_null(strstr(m, "Message-ID: <1764600000000.incident.12.opened@zone-a-1>\r\n"));
    assert_non_null(strstr(m, "Subject: =?UTF-8?B?"));   /* non-ASCII: an encoded word */
    assert_null(strstr(m, "\r\nBcc:"));                     /* no header injected */
    assert_non_null(strstr(m, "\r\n\r\n3 probes failed in a row\r\nline two\r\n"));
    for (const char *p = m; *p; p++) /* every line ends CRLF */
        if (*p == '\n')
            assert_true(p > m && p[-1] == '\r');
    free(m);
    cJSON_Delete(a);
}

static void retry_after_and_status_classes(void **st)
{
    (void)st;
    int64_t d = -1;
    assert_int_equal(notify_parse_retry_after("120", T0, &d), 0);
    assert_int_equal(d, 120000);
    assert_int_equal(notify_parse_retry_after(" 0 ", T0, &d), 0);
    assert_int_equal(d, 0);
    /* T0 is Mon, 01 Dec 2025 14:40:00 GMT */
    assert_int_equal(notify_parse_retry_after("Mon, 01 Dec 2025 14:41:30 GMT", T0, &d), 0);
    assert_int_equal(d, 90000);
    assert_int_equal(notify_parse_retry_after("Monday, 01-Dec-25 14:40:10 GMT", T0, &d), 0); /* RFC 850 */
    assert_int_equal(d, 10000);
    assert_int_equal(notify_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", T0, &d), 0); /* past: now */
    assert_int_equal(d, 0);
    const char *garbage[] = {"", "soon", "-5", "1.5", "12abc", "99999999999", "Mon, 99 Foo 2025 xx GMT",
                             ", 1Oct999999999" /* a date curl reads far beyond any range (fuzzer) */};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++)
        assert_int_equal(notify_parse_retry_after(garbage[i], T0, &d), -1);
    assert_int_equal(notify_classify_http(200), NOTIFY_SENT);
    assert_int_equal(notify_classify_http(202), NOTIFY_SENT);
    assert_int_equal(notify_classify_http(408), NOTIFY_RETRY);
    assert_int_equal(notify_classify_http(429), NOTIFY_RETRY);
    assert_int_equal(notify_classify_http(500), NOTIFY_RETRY);
    assert_int_equal(notify_classify_http(503), NOTIFY_RETRY);
    assert_int_equal(notify_classify_http(400), NOTIFY_FAILED);
    assert_int_equal(notify_classify_http(404), NOTIFY_FAILED);
    assert_int_equal(notify_classify_http(301), NOTIFY_FAILED);
}

static void backoff_is_bounded(void **st)
{
    (void)st;
    for (int attempts = 0; attempts < 40; attempts++) {
        int64_t full = NOTIFY_BACKOFF_BASE_MS;
        for (int i = 0; i < attempts && full < NOTIFY_BACKOFF_CAP_MS; i++)
            full *= 2;
        if (full > NOTIFY_BACKOFF_CAP_MS)
            full = NOTIFY_BACKOFF_CAP_MS;
        int64_t lo = notify_backoff_ms(attempts, 0), hi = notify_backoff_ms(attempts, UINT32_MAX);
        int64_t mid = notify_backoff_ms(attempts, UINT32_MAX / 2);
        assert_int_equal(lo, full / 2);
        assert_int_equal(hi, full);
        assert_true(mid > lo && mid < hi);
    }
    assert_int_equal(notify_backoff_ms(0, UINT32_MAX), 5000);
    assert_int_equal(notify_backoff_ms(1, UINT32_MAX), 10000);
    assert_int_equal(notify_backoff_ms(30, UINT32_MAX), 600000);
}

static void reminder_schedule(void **st)
{
    (void)st;
    assert_int_equal(notify_reminder_offset_ms(1), 1 * HOUR);
    assert_int_equal(notify_reminder_offset_ms(2), 5 * HOUR);
    assert_int_equal(notify_reminder_offset_ms(3), 13 * HOUR);
    assert_int_equal(notify_reminder_offset_ms(4), 25 * HOUR);
    assert_int_equal(notify_reminder_offset_ms(5), 37 * HOUR);
    assert_int_equal(notify_reminder_due(59 * MIN), 0);
    assert_int_equal(notify_reminder_due(HOUR), 1);
    assert_int_equal(notify_reminder_due(5 * HOUR - 1), 1);
    assert_int_equal(notify_reminder_due(5 * HOUR), 2);
    assert_int_equal(notify_reminder_due(24 * HOUR), 3);
    assert_int_equal(notify_reminder_due(25 * HOUR), 4);
    assert_int_equal(notify_reminder_due(37 * HOUR - 1), 4);
    assert_int_equal(notify_reminder_due(49 * HOUR), 6);
}

/* ---- with a state database ---- */

typedef struct env {
    char *dir;
    state *st;
    config *cfg;
    notify *n;
    pid_t rx;
    int port;
    char out[512];
} env;

static void env_open(env *e, const char *conf)
{
    char path[600];
    memset(e, 0, sizeof *e);
    e->dir = tu_tempdir();
    snprintf(path, sizeof path, "%s/state.db", e->dir);
    assert_int_equal(state_open(path, 2000, &e->st), 0);
    if (config_parse_string(conf, "n.conf", &e->cfg) != 0)
        fail_msg("config: %s", err_msg());
    assert_int_equal(notify_new(e->cfg, e->st, "zone-a-1", &e->n), 0);
}

static void env_close(env *e)
{
    notify_free(&e->n);
    config_free(&e->cfg);
    state_close(&e->st);
    if (e->rx > 0) {
        kill(e->rx, SIGTERM);
        waitpid(e->rx, NULL, 0);
    }
    tu_rmrf(e->dir);
}

static int queued(env *e, const char *key, const char *channel)
{
    int exists = -1;
    assert_int_equal(state_outbox_exists(e->st, key, channel, &exists), 0);
    return exists;
}

static const char schedule_conf[] =
    "[notify \"oncall\"]\ntype = webhook\nurl = http://127.0.0.1:9/\n"
    "[notify \"partners\"]\ntype = webhook\nurl = http://127.0.0.1:9/\nafter = 15m\n"
    "events = incident resolved reminder\n"
    "[notify \"executives\"]\ntype = webhook\nurl = http://127.0.0.1:9/\nafter = 1h\n"
    "[notify \"quiet\"]\ntype = webhook\nurl = http://127.0.0.1:9/\nevents = escalation\n"
    "[notify \"severe\"]\ntype = webhook\nurl = http://127.0.0.1:9/\nseverity = critical\n";

static void after_and_reminders(void **st)
{
    (void)st;
    env e;
    env_open(&e, schedule_conf);
    int q = -1;
    cJSON *a = alert("incident/7/opened", "incident", "firing", 7, T0, T0);
    assert_int_equal(notify_emit(e.n, a, T0, &q), 0);
    cJSON_Delete(a);
    assert_int_equal(q, 2); /* oncall and severe; partners and executives wait; quiet takes no incidents */
    assert_true(queued(&e, "incident/7/opened", "oncall") && queued(&e, "incident/7/opened", "severe"));
    assert_false(queued(&e, "incident/7/opened", "partners") || queued(&e, "incident/7/opened", "quiet"));
    /* the same alert again is queued nowhere twice */
    a = alert("incident/7/opened", "incident", "firing", 7, T0, T0);
    assert_int_equal(notify_emit(e.n, a, T0 + 1, &q), 0);
    cJSON_Delete(a);
    assert_int_equal(q, 0);
    /* a warning does not reach the channel that takes only critical ones */
    a = alert("incident/7/update/1", "update", "firing", 7, T0 + 2, T0);
    cJSON_ReplaceItemInObject(a, "severity", cJSON_CreateString("warning"));
    assert_int_equal(notify_emit(e.n, a, T0 + 2, &q), 0);
    cJSON_Delete(a);
    assert_int_equal(q, 1);
    assert_false(queued(&e, "incident/7/update/1", "severe"));

    notify_open open = {.id = 7, .opened_ms = T0, .target = "backend", .title = "backend failed"};
    assert_int_equal(notify_tick(e.n, &open, 1, T0 + 14 * MIN), 0);
    assert_false(queued(&e, "incident/7/opened", "partners"));
    assert_int_equal(notify_tick(e.n, &open, 1, T0 + 15 * MIN), 0);
    assert_true(queued(&e, "incident/7/opened", "partners"));
    assert_false(queued(&e, "incident/7/opened", "executives"));
    int64_t pending, dead, delivered;
    assert_int_equal(state_outbox_counts(e.st, &pending, &dead, &delivered), 0);
    int64_t before = pending;
    assert_int_equal(notify_tick(e.n, &open, 1, T0 + 16 * MIN), 0); /* nothing new */
    assert_int_equal(state_outbox_counts(e.st, &pending, &dead, &delivered), 0);
    assert_int_equal(pending, before);

    /* at 1 h: the executives hear of it, the others get reminder 1; the executives'
     * opening stands in for that reminder */
    assert_int_equal(notify_tick(e.n, &open, 1, T0 + HOUR), 0);
    assert_true(queued(&e, "incident/7/opened", "executives"));
    assert_true(queued(&e, "incident/7/reminder/1", "oncall"));
    assert_true(queued(&e, "incident/7/reminder/1", "partners"));
    assert_false(queued(&e, "incident/7/reminder/1", "executives"));
    assert_false(queued(&e, "incident/7/reminder/1", "quiet"));
    assert_false(queued(&e, "incident/7/reminder/2", "oncall"));
    /* an agent that was down for a day sends the newest reminder only, no backlog */
    assert_int_equal(notify_tick(e.n, &open, 1, T0 + 26 * HOUR), 0);
    assert_true(queued(&e, "incident/7/reminder/4", "oncall"));
    assert_true(queued(&e, "incident/7/reminder/4", "executives"));
    assert_false(queued(&e, "incident/7/reminder/2", "oncall") || queued(&e, "incident/7/reminder/3", "oncall"));

    /* an incident resolved before a channel's after: that channel hears nothing of it */
    a = alert("incident/8/opened", "incident", "firing", 8, T0, T0);
    assert_int_equal(notify_emit(e.n, a, T0, &q), 0);
    cJSON_Delete(a);
    a = alert("incident/8/resolved", "resolved", "resolved", 8, T0 + 5 * MIN, T0);
    assert_int_equal(notify_emit(e.n, a, T0 + 5 * MIN, &q), 0);
    cJSON_Delete(a);
    assert_true(queued(&e, "incident/8/resolved", "oncall"));
    assert_false(queued(&e, "incident/8/resolved", "partners"));
    /* ... and one it was told of, it hears the end of */
    a = alert("incident/7/resolved", "resolved", "resolved", 7, T0 + 27 * HOUR, T0);
    assert_int_equal(notify_emit(e.n, a, T0 + 27 * HOUR, &q), 0);
    cJSON_Delete(a);
    assert_true(queued(&e, "incident/7/resolved", "partners"));
    assert_true(queued(&e, "incident/7/resolved", "executives"));

    /* bad alerts */
    a = alert("x/1", "lunch", "firing", 0, T0, 0);
    assert_int_equal(notify_emit(e.n, a, T0, &q), ERR_USAGE);
    cJSON_Delete(a);
    a = alert("", "incident", "firing", 0, T0, 0);
    assert_int_equal(notify_emit(e.n, a, T0, &q), ERR_USAGE);
    cJSON_Delete(a);
    env_close(&e);
}

/* The outbox queries notify adds to state_outbox.c. */
static void outbox_lookups(void **st)
{
    (void)st;
    env e;
    env_open(&e, "[notify \"x\"]\ntype = command\ncommand = true\n");
    int64_t id, n = -1, pending, dead, delivered;
    assert_int_equal(state_outbox_enqueue(e.st, "incident/12/opened", "x", "{}", T0, &id, NULL), 0);
    assert_int_equal(state_outbox_enqueue(e.st, "incident/1/opened", "y", "{}", T0, NULL, NULL), 0);
    assert_int_equal(state_outbox_enqueue(e.st, "incident/1%/x", "x", "{}", T0, NULL, NULL), 0);
    assert_int_equal(state_outbox_count_prefix(e.st, "x", "incident/1/", &n), 0);
    assert_int_equal(n, 0); /* not incident 12's, not another channel's, no LIKE wildcard */
    assert_int_equal(state_outbox_count_prefix(e.st, "x", "incident/12/", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(state_outbox_count_prefix(e.st, "y", "incident/1/", &n), 0);
    assert_int_equal(n, 1);
    assert_true(queued(&e, "incident/12/opened", "x"));
    assert_false(queued(&e, "incident/12/opene", "x"));
    assert_false(queued(&e, "incident/12/opened", "y"));
    assert_int_equal(state_outbox_mark_dead(e.st, id, T0, "HTTP 400"), 0);
    assert_int_equal(state_outbox_counts(e.st, &pending, &dead, &delivered), 0);
    assert_int_equal(pending, 2);
    assert_int_equal(dead, 1);
    assert_int_equal(delivered, 0);
    assert_true(queued(&e, "incident/12/opened", "x")); /* dead still counts as queued once */
    env_close(&e);
}

static void secrets_are_read_once_and_errors_name_the_file(void **st)
{
    (void)st;
    char *dir = tu_tempdir(), conf[2048], file[600];
    config *cfg = NULL;
    notify *n = NULL;
    snprintf(file, sizeof file, "%s/url", dir);
    FILE *f = fopen(file, "w");
    fputs("not-a-url-but-secret-text\n", f);
    fclose(f);
    snprintf(conf, sizeof conf, "[notify \"hook\"]\ntype = webhook\nurl-file = %s\n", file);
    assert_int_equal(config_parse_string(conf, "n.conf", &cfg), 0);
    assert_int_equal(notify_new(cfg, NULL, "n1", &n), ERR_CONFIG);
    assert_null(n);
    assert_non_null(strstr(err_msg(), "[notify \"hook\"]"));
    assert_non_null(strstr(err_msg(), file));
    assert_null(strstr(err_msg(), "secret-text"));
    config_free(&cfg);
    /* empty */
    f = fopen(file, "w");
    fclose(f);
    assert_int_equal(config_parse_string(conf, "n.conf", &cfg), 0);
    assert_int_equal(notify_new(cfg, NULL, "n1", &n), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "empty"));
    config_free(&cfg);
    /* gone between the configuration check and the agent's read */
    f = fopen(file, "w");
    fputs("https://hooks.example/T0/B0/secret\n", f);
    fclose(f);
    assert_int_equal(config_parse_string(conf, "n.conf", &cfg), 0);
    unlink(file);
    assert_int_equal(notify_new(cfg, NULL, "n1", &n), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "No such file"));
    config_free(&cfg);
    tu_rmrf(dir);
}

/* ---- the dispatcher against a real receiver ---- */

static void rx_start(env *e)
{
    char script[PATH_MAX], src[PATH_MAX], portfile[600];
    snprintf(src, sizeof src, "%s", __FILE__);
    snprintf(script, sizeof script, "%s/../system/webhook_rx.py", dirname(src));
    snprintf(portfile, sizeof portfile, "%s/rx.port", e->dir);
    snprintf(e->out, sizeof e->out, "%s/rx.jsonl", e->dir);
    e->rx = fork();
    if (e->rx == 0) {
        /* gone with this test process, even when a failed assertion skips env_close
         * (a receiver left running would hold meson's output pipe open) */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execlp("python3", "python3", script, "--out", e->out, "--port-file", portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !e->port; i++) {
        FILE *p = fopen(portfile, "r");
        if (p) {
            if (fscanf(p, "%d", &e->port) != 1)
                e->port = 0;
            fclose(p);
        } else {
            usleep(25000);
        }
    }
    assert_true(e->port > 0);
}

static void rx_control(env *e, const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "curl -sf -o /dev/null 'http://127.0.0.1:%d%s'", e->port, path);
    assert_int_equal(system(cmd), 0);
}

/* The ids the receiver accepted, in order, joined by spaces. */
static void rx_ids(env *e, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(e->out, "r");
    char line[16384];
    size_t used = 0;
    while (f && fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const char *id = str(o, "headers.Idempotency-Key");
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? " " : "", id ? id : "?");
        cJSON_Delete(o);
    }
    if (f)
        fclose(f);
}

typedef struct seen {
    int delivered, dead, retried;
    char last_error[512];
} seen;

static void on_outcome(void *ctx, const char *channel, const char *key, int delivered, int dead, const char *error)
{
    seen *s = ctx;
    (void)channel;
    (void)key;
    if (delivered)
        s->delivered++;
    else if (dead)
        s->dead++;
    else
        s->retried++;
    if (error)
        snprintf(s->last_error, sizeof s->last_error, "%s", error);
}

static void emit(env *e, const char *id, int64_t now)
{
    cJSON *a = alert(id, "incident", "firing", 1, now, now);
    assert_int_equal(notify_emit(e->n, a, now, NULL), 0);
    cJSON_Delete(a);
}

static int dispatch(env *e, int64_t now, seen *s)
{
    memset(s, 0, sizeof *s);
    return notify_dispatch(e->n, now, proc_now_ms() + 20000, on_outcome, s);
}

static void dispatch_retries_in_order(void **st)
{
    (void)st;
    env e;
    char conf[512], ids[4096];
    env_open(&e, "[notify \"x\"]\ntype = command\ncommand = true\n");
    rx_start(&e);
    notify_free(&e.n);
    config_free(&e.cfg);
    snprintf(conf, sizeof conf, "[notify \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\ntimeout = 5s\n",
             e.port);
    assert_int_equal(config_parse_string(conf, "n.conf", &e.cfg), 0);
    assert_int_equal(notify_new(e.cfg, e.st, "zone-a-1", &e.n), 0);
    seen s;
    /* a 503 with Retry-After: 7 for the first; the second waits behind it */
    rx_control(&e, "/_fail?status=503&count=1&retry_after=7");
    emit(&e, "a/1", T0);
    emit(&e, "a/2", T0);
    assert_int_equal(dispatch(&e, T0, &s), 0);
    assert_int_equal(s.retried, 1);
    assert_int_equal(s.delivered, 0);
    assert_non_null(strstr(s.last_error, "HTTP 503"));
    assert_int_equal(dispatch(&e, T0 + 6000, &s), 0);
    assert_int_equal(s.delivered + s.retried, 0); /* Retry-After honoured: nothing due yet */
    assert_int_equal(dispatch(&e, T0 + 8000, &s), 0);
    assert_int_equal(s.delivered, 2);
    rx_ids(&e, ids, sizeof ids);
    assert_string_equal(ids, "a/1 a/2");
    /* a receiver that hangs up: retried after 2.5 to 5 s */
    rx_control(&e, "/_down?seconds=60");
    emit(&e, "a/3", T0 + 10000);
    assert_int_equal(dispatch(&e, T0 + 10000, &s), 0);
    assert_int_equal(s.retried, 1);
    assert_int_equal(dispatch(&e, T0 + 12499, &s), 0);
    assert_int_equal(s.retried, 0);
    rx_control(&e, "/_ok");
    assert_int_equal(dispatch(&e, T0 + 15001, &s), 0);
    assert_int_equal(s.delivered, 1);
    /* Retry-After: 0 does not make a hot loop: the backoff still applies */
    rx_control(&e, "/_fail?status=429&count=1&retry_after=0");
    emit(&e, "a/4", T0 + 20000);
    assert_int_equal(dispatch(&e, T0 + 20000, &s), 0);
    assert_int_equal(s.retried, 1);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(dispatch(&e, T0 + 25000, &s), 0);
    assert_int_equal(s.delivered, 1);
    int64_t pending, dead, delivered;
    assert_int_equal(notify_counts(e.n, &pending, &dead, &delivered), 0);
    assert_int_equal(pending, 0);
    assert_int_equal(delivered, 4);
    /* the body the receiver got is the Alertmanager shape */
    FILE *f = fopen(e.out, "r");
    char line[16384];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    cJSON *o = cJSON_Parse(line);
    assert_string_equal(str(o, "body.version"), "4");
    assert_string_equal(str(o, "headers.Content-Type"), "application/json");
    cJSON_Delete(o);
    env_close(&e);
}

static void dispatch_dead_letters_to_fallback(void **st)
{
    (void)st;
    env e;
    char conf[1024], ids[4096];
    env_open(&e, "[notify \"x\"]\ntype = command\ncommand = true\n");
    rx_start(&e);
    notify_free(&e.n);
    config_free(&e.cfg);
    snprintf(conf, sizeof conf,
             "[notify \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\nfallback = mail\nmax-age = 1h\n"
             "events = incident\n"
             "[notify \"mail\"]\ntype = command\ncommand = cat > %s/fallback.json\nevents = escalation\n",
             e.port, e.dir);
    assert_int_equal(config_parse_string(conf, "n.conf", &e.cfg), 0);
    assert_int_equal(notify_new(e.cfg, e.st, "zone-a-1", &e.n), 0);
    seen s;
    rx_control(&e, "/_fail?status=400&count=1");
    emit(&e, "b/1", T0);
    assert_int_equal(dispatch(&e, T0, &s), 0);
    /* dead at the hook, then delivered through the fallback (which takes no
     * incidents of its own) */
    assert_int_equal(s.dead, 1);
    assert_int_equal(s.delivered, 1);
    assert_true(queued(&e, "b/1", "mail"));
    char path[700];
    snprintf(path, sizeof path, "%s/fallback.json", e.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[4096] = "";
    assert_non_null(fgets(text, sizeof text, f));
    fclose(f);
    assert_non_null(strstr(text, "\"id\":\"b/1\""));
    /* max-age: an item that waited longer than it is dead-lettered, not sent */
    rx_control(&e, "/_fail?status=500&count=-1");
    emit(&e, "b/2", T0 + 1000);
    assert_int_equal(dispatch(&e, T0 + 1000, &s), 0);
    /* retried, neither delivered nor dead yet; a second try within the same call is
     * possible when the first took longer than the first backoff, 2.5 s at least
     * (a swamped machine): the call's clock moves on */
    assert_true(s.retried >= 1);
    assert_int_equal(s.delivered, 0);
    assert_int_equal(s.dead, 0);
    rx_control(&e, "/_ok");
    assert_int_equal(dispatch(&e, T0 + 1000 + HOUR + 1, &s), 0);
    assert_int_equal(s.dead, 1);
    assert_non_null(strstr(s.last_error, "max-age"));
    assert_non_null(strstr(s.last_error, "HTTP 500"));
    rx_ids(&e, ids, sizeof ids);
    assert_string_equal(ids, ""); /* the receiver accepted nothing */
    int64_t pending, dead, delivered;
    assert_int_equal(notify_counts(e.n, &pending, &dead, &delivered), 0);
    assert_int_equal(dead, 2);
    env_close(&e);
}

static void command_channel_outcomes(void **st)
{
    (void)st;
    env e;
    env_open(&e, "[notify \"c\"]\ntype = command\n"
                 "command = test \"$LIFELINE_EVENT/$LIFELINE_INCIDENT\" = incident/1 && grep -q '\"id\":\"c/' || "
                 "exit 3\n"
                 "[notify \"temp\"]\ntype = command\ncommand = echo busy; exit 75\n");
    seen s;
    emit(&e, "c/1", T0);
    assert_int_equal(dispatch(&e, T0, &s), 0);
    assert_int_equal(s.delivered, 1); /* c: env and stdin as promised */
    assert_int_equal(s.retried, 1);   /* temp: 75 is try again */
    assert_non_null(strstr(s.last_error, "exit 75: busy"));
    /* a failing check is failed for good */
    cJSON *a = alert("d/1", "hold", "firing", 0, T0, 0);
    assert_int_equal(notify_emit(e.n, a, T0, NULL), 0);
    cJSON_Delete(a);
    assert_int_equal(dispatch(&e, T0 + 1, &s), 0);
    assert_int_equal(s.dead, 1);
    assert_non_null(strstr(s.last_error, "exit 3"));
    env_close(&e);
}

int main(void)
{
    /* as lifeline's main does: a command channel that does not read its stdin must
     * not kill the writer */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_alertmanager_v4),
        cmocka_unit_test(renders_slack),
        cmocka_unit_test(renders_pagerduty),
        cmocka_unit_test(renders_mail),
        cmocka_unit_test(retry_after_and_status_classes),
        cmocka_unit_test(backoff_is_bounded),
        cmocka_unit_test(reminder_schedule),
        cmocka_unit_test(after_and_reminders),
        cmocka_unit_test(outbox_lookups),
        cmocka_unit_test(secrets_are_read_once_and_errors_name_the_file),
        cmocka_unit_test(dispatch_retries_in_order),
        cmocka_unit_test(dispatch_dead_letters_to_fallback),
        cmocka_unit_test(command_channel_outcomes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
