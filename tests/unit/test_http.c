/* HTTP tests: the server on a free loopback port over in-memory JSON, fetched with real
 * libcurl requests (routes, status codes, headers, read-only, 503 without data), bad and
 * busy listen addresses, and the two renderers on their own (Prometheus escaping, NaN
 * for no data, the page's escaping, component statuses and the 90 days of history). */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "http/http.h"

#define NOW_MS 1764600000000LL /* 2025-12-01T14:40:00Z */
#define DAY_MS 86400000LL

static const char status_json[] =
    "{\"node\":\"zone-a-1\",\"version\":\"0.1.0\",\"started_ms\":1764500000000,\"now_ms\":1764600000000,"
    "\"hold_all\":null,"
    "\"services\":["
    "{\"name\":\"backend\",\"state\":\"failed\",\"health\":\"failed\",\"since_ms\":1764599000000,"
    "\"detail\":\"HTTP 500\",\"latency_ms\":12,\"probe\":\"http\",\"held\":null,\"incident\":12,"
    "\"recoveries_in_window\":1,\"depends_on\":[\"db\"]},"
    "{\"name\":\"db\",\"state\":\"healthy\",\"health\":\"healthy\",\"since_ms\":1764500000000,\"latency_ms\":3},"
    "{\"name\":\"we\\\"ird\\\\name\",\"state\":\"degraded\",\"health\":\"degraded\",\"latency_ms\":1500},"
    "{\"name\":\"<script>alert(1)</script>\",\"state\":\"held\",\"health\":\"healthy\",\"detail\":\"<b>x</b>\"}],"
    "\"incidents\":[{\"id\":12,\"target\":\"backend\",\"title\":\"backend failed: HTTP 500 & <more>\","
    "\"status\":\"identified\",\"opened_ms\":1764599000000,\"detected_ms\":1764599000000,\"closed_ms\":null,"
    "\"false_positive\":false,\"timeline\":["
    "{\"at_ms\":1764599000000,\"kind\":\"opened\",\"message\":\"backend failed: HTTP 500\",\"status\":null},"
    "{\"at_ms\":1764599010000,\"kind\":\"action\",\"message\":\"recover-command ran\",\"status\":null},"
    "{\"at_ms\":1764599100000,\"kind\":\"update\",\"message\":\"bad deploy <rolled back>\",\"status\":\"identified\"}]}],"
    "\"metrics\":{\"incidents_open\":1,\"incidents_total\":7,\"mttr_seconds\":null,\"recovery_attempts\":5,"
    "\"recoveries_verified\":4,\"recovery_success_rate\":0.8,\"false_positive_rate\":0,"
    "\"notifications_pending\":0,\"notifications_failed\":2,\"notifications_delivered\":9},"
    "\"objectives\":{\"services_rto_seconds\":600,\"mttr_seconds\":900}}";

/* incident 12 (open) and 7 (closed, 3 days before NOW, 30 minutes long) */
static const char incidents_json[] =
    "[{\"id\":12,\"target\":\"backend\",\"title\":\"backend failed\",\"status\":\"identified\","
    "\"opened_ms\":1764599000000,\"closed_ms\":null,\"timeline\":[]},"
    "{\"id\":7,\"target\":\"db\",\"title\":\"db failed: refused\",\"status\":\"resolved\","
    "\"opened_ms\":1764340800000,\"closed_ms\":1764342600000,\"false_positive\":false,\"timeline\":[]}]";

typedef struct fake {
    cJSON *status, *incidents; /* NULL: the callback says unavailable */
    int64_t last_since;
} fake;

static cJSON *fake_status(void *ctx)
{
    fake *f = ctx;
    return f->status ? cJSON_Duplicate(f->status, 1) : NULL;
}

static cJSON *fake_incidents(void *ctx, int64_t since_ms)
{
    fake *f = ctx;
    f->last_since = since_ms;
    return f->incidents ? cJSON_Duplicate(f->incidents, 1) : NULL;
}

typedef struct reply {
    long code;
    buf body, head;
} reply;

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) ? 0 : size * n;
}

/* One real request; body and headers NUL-terminated. */
static void fetch(int port, const char *method, const char *path, reply *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    buf_init(&r->body, 0);
    buf_init(&r->head, 0);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (!strcmp(method, "POST"))
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    else if (strcmp(method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    curl_easy_cleanup(c);
    assert_int_equal(buf_append(&r->body, "", 1), 0);
    assert_int_equal(buf_append(&r->head, "", 1), 0);
}

static const char *body(const reply *r) { return (const char *)r->body.data; }
static const char *head(const reply *r) { return (const char *)r->head.data; }
static void reply_free(reply *r)
{
    buf_free(&r->body);
    buf_free(&r->head);
}

/* A server over f on 127.0.0.1, a free port. */
static http_server *serve(fake *f, http_source *src)
{
    *src = (http_source){.ctx = f, .status = fake_status, .incidents = fake_incidents, .groups = NULL};
    http_server *s = NULL;
    assert_int_equal(http_start("127.0.0.1:0", src, &s), 0);
    assert_true(http_port(s) > 0);
    return s;
}

static void fake_init(fake *f)
{
    f->status = cJSON_Parse(status_json);
    f->incidents = cJSON_Parse(incidents_json);
    f->last_since = -1;
    assert_non_null(f->status);
    assert_non_null(f->incidents);
}

static void fake_free(fake *f)
{
    cJSON_Delete(f->status);
    cJSON_Delete(f->incidents);
}

static void assert_common_headers(const reply *r)
{
    assert_non_null(strcasestr(head(r), "Cache-Control: no-store"));
    assert_non_null(strcasestr(head(r), "X-Content-Type-Options: nosniff"));
    assert_non_null(strcasestr(head(r), "Content-Security-Policy: default-src 'none'"));
}

static void test_health_and_status(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src);
    reply r;
    fetch(http_port(s), "GET", "/health", &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strcasestr(head(&r), "Content-Type: application/json"));
    assert_common_headers(&r);
    cJSON *j = cJSON_Parse(body(&r));
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
    assert_string_equal(cJSON_GetObjectItem(j, "node")->valuestring, "zone-a-1");
    cJSON_Delete(j);
    reply_free(&r);

    fetch(http_port(s), "GET", "/api/status", &r);
    assert_int_equal(r.code, 200);
    j = cJSON_Parse(body(&r));
    assert_true(cJSON_Compare(j, f.status, 1));
    cJSON_Delete(j);
    reply_free(&r);
    http_stop(&s);
    assert_null(s);
    http_stop(&s); /* NULL-safe */
    fake_free(&f);
}

static void test_incidents_api(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src);
    reply r;
    fetch(http_port(s), "GET", "/api/incidents", &r);
    assert_int_equal(r.code, 200);
    cJSON *j = cJSON_Parse(body(&r));
    assert_int_equal(cJSON_GetArraySize(j), 2);
    cJSON_Delete(j);
    /* the default window: 90 days back from now */
    int64_t now = (int64_t)time(NULL) * 1000;
    assert_true(f.last_since > now - 90 * DAY_MS - 60000 && f.last_since < now - 90 * DAY_MS + 60000);
    reply_free(&r);

    fetch(http_port(s), "GET", "/api/incidents?since=1h", &r);
    assert_int_equal(r.code, 200);
    assert_true(f.last_since > now - 3600000 - 60000 && f.last_since < now - 3600000 + 60000);
    reply_free(&r);

    fetch(http_port(s), "GET", "/api/incidents?open=1", &r);
    j = cJSON_Parse(body(&r));
    assert_int_equal(cJSON_GetArraySize(j), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "id")->valueint, 12);
    cJSON_Delete(j);
    reply_free(&r);

    fetch(http_port(s), "GET", "/api/incidents?since=yesterday", &r);
    assert_int_equal(r.code, 400);
    reply_free(&r);
    fetch(http_port(s), "GET", "/api/incidents?open=maybe", &r);
    assert_int_equal(r.code, 400);
    reply_free(&r);

    fetch(http_port(s), "GET", "/api/incidents/7", &r);
    assert_int_equal(r.code, 200);
    j = cJSON_Parse(body(&r));
    assert_string_equal(cJSON_GetObjectItem(j, "title")->valuestring, "db failed: refused");
    cJSON_Delete(j);
    reply_free(&r);
    const char *missing[] = {"/api/incidents/999", "/api/incidents/x", "/api/incidents/", "/nope",
                             "/api/status/extra", "/metrics/"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        fetch(http_port(s), "GET", missing[i], &r);
        assert_int_equal(r.code, 404);
        assert_non_null(strcasestr(head(&r), "Content-Type: application/json"));
        j = cJSON_Parse(body(&r));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "error")));
        cJSON_Delete(j);
        reply_free(&r);
    }
    http_stop(&s);
    fake_free(&f);
}

static void test_read_only(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src);
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    reply r;
    for (size_t i = 0; i < 4; i++) {
        fetch(http_port(s), methods[i], i % 2 ? "/api/status" : "/", &r);
        assert_int_equal(r.code, 405);
        assert_non_null(strcasestr(head(&r), "Allow: GET, HEAD"));
        reply_free(&r);
    }
    fetch(http_port(s), "HEAD", "/", &r);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.body.len, 1); /* just our NUL: no body for HEAD */
    reply_free(&r);
    http_stop(&s);
    fake_free(&f);
}

static void test_unavailable(void **state)
{
    (void)state;
    fake f = {0};
    http_source src;
    http_server *s = serve(&f, &src);
    const char *paths[] = {"/health", "/api/status", "/metrics", "/", "/api/incidents", "/api/incidents/1"};
    reply r;
    for (size_t i = 0; i < 6; i++) {
        fetch(http_port(s), "GET", paths[i], &r);
        assert_int_equal(r.code, 503);
        reply_free(&r);
    }
    http_stop(&s);
}

/* Lines of text that start with prefix, counted. */
static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += !strncmp(l, prefix, strlen(prefix));
    return n;
}

static void test_metrics_served(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src);
    reply r;
    fetch(http_port(s), "GET", "/metrics", &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strcasestr(head(&r), "Content-Type: text/plain; version=0.0.4"));
    const char *m = body(&r);
    const char *families[] = {
        "lifeline_service_up gauge", "lifeline_service_state gauge", "lifeline_probe_latency_seconds gauge",
        "lifeline_incidents_open gauge", "lifeline_incidents_total counter", "lifeline_mttr_seconds gauge",
        "lifeline_recovery_attempts_total counter", "lifeline_recoveries_verified_total counter",
        "lifeline_recovery_success_ratio gauge", "lifeline_false_positive_ratio gauge",
        "lifeline_notifications_pending gauge", "lifeline_notifications_failed_total counter",
        "lifeline_notifications_delivered_total counter", "lifeline_objective_seconds gauge"};
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        char line[128], name[96];
        snprintf(line, sizeof line, "# TYPE %s\n", families[i]);
        assert_non_null(strstr(m, line));
        snprintf(name, sizeof name, "%s", families[i]);
        *strchr(name, ' ') = '\0';
        snprintf(line, sizeof line, "# HELP %s ", name);
        assert_int_equal(count_lines(m, line), 1);
    }
    /* every line a comment or a sample "name{labels} value" */
    for (const char *l = m; *l; l = strchr(l, '\n') + 1)
        assert_true(!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7) || !strncmp(l, "lifeline_", 9));
    assert_non_null(strstr(m, "\nlifeline_service_up{service=\"backend\"} 0\n"));
    assert_non_null(strstr(m, "\nlifeline_service_up{service=\"db\"} 1\n"));
    /* the quote and the backslash of we"ird\name escaped */
    assert_non_null(strstr(m, "\nlifeline_service_up{service=\"we\\\"ird\\\\name\"} 1\n"));
    assert_non_null(strstr(m, "\nlifeline_service_state{service=\"backend\",state=\"failed\"} 1\n"));
    assert_non_null(strstr(m, "\nlifeline_service_state{service=\"backend\",state=\"healthy\"} 0\n"));
    assert_int_equal(count_lines(m, "lifeline_service_state{service=\"backend\""), 6);
    assert_non_null(strstr(m, "\nlifeline_probe_latency_seconds{service=\"we\\\"ird\\\\name\"} 1.5\n"));
    assert_non_null(strstr(m, "\nlifeline_probe_latency_seconds{service=\"backend\"} 0.012\n"));
    assert_non_null(strstr(m, "\nlifeline_mttr_seconds NaN\n"));
    assert_non_null(strstr(m, "\nlifeline_recovery_success_ratio 0.8\n"));
    assert_non_null(strstr(m, "\nlifeline_incidents_total 7\n"));
    assert_non_null(strstr(m, "\nlifeline_notifications_failed_total 2\n"));
    assert_non_null(strstr(m, "\nlifeline_objective_seconds{objective=\"services_rto\"} 600\n"));
    assert_non_null(strstr(m, "\nlifeline_objective_seconds{objective=\"mttr\"} 900\n"));
    reply_free(&r);
    http_stop(&s);
    fake_free(&f);
}

static void test_metrics_render_odd(void **state)
{
    (void)state;
    /* a newline in a name; counters missing (left out), gauges missing (NaN); junk types */
    cJSON *st = cJSON_Parse("{\"node\":\"a\\nb\",\"services\":[{\"name\":\"x\\ny\",\"health\":\"healthy\"},"
                            "7,{\"name\":3},{\"name\":\"\"}],\"metrics\":{\"incidents_total\":\"many\"},"
                            "\"objectives\":{\"\":1,\"x\":\"y\",\"z\":null}}");
    buf b;
    buf_init(&b, 0);
    assert_int_equal(http_render_metrics(st, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    const char *m = (const char *)b.data;
    assert_non_null(strstr(m, "lifeline_info{node=\"a\\nb\",version=\"\"} 1\n"));
    assert_non_null(strstr(m, "lifeline_service_up{service=\"x\\ny\"} 1\n"));
    assert_int_equal(count_lines(m, "lifeline_service_up{"), 1);
    assert_int_equal(count_lines(m, "lifeline_incidents_total "), 0);
    assert_int_equal(count_lines(m, "lifeline_incidents_open NaN"), 1);
    assert_int_equal(count_lines(m, "lifeline_objective_seconds{"), 0);
    buf_free(&b);
    cJSON_Delete(st);
    /* nothing at all still gives every family's HELP and TYPE */
    buf_init(&b, 0);
    assert_int_equal(http_render_metrics(NULL, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_int_equal(count_lines((const char *)b.data, "# TYPE "), 15);
    buf_free(&b);
    /* a buffer too small is an error, not a cut */
    st = cJSON_Parse(status_json);
    buf_init(&b, 100);
    assert_int_not_equal(http_render_metrics(st, &b), 0);
    buf_free(&b);
    cJSON_Delete(st);
}

static char *render_page(const char *status, const char *incidents)
{
    cJSON *st = cJSON_Parse(status), *inc = incidents ? cJSON_Parse(incidents) : NULL;
    buf b;
    buf_init(&b, 0);
    assert_int_equal(http_render_page(st, inc, NOW_MS, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    cJSON_Delete(st);
    cJSON_Delete(inc);
    return (char *)b.data;
}

static void test_page_served_escaped(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src);
    reply r;
    fetch(http_port(s), "GET", "/", &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strcasestr(head(&r), "Content-Type: text/html; charset=utf-8"));
    assert_common_headers(&r);
    const char *p = body(&r);
    assert_null(strstr(p, "<script"));
    assert_null(strstr(p, "<b>x"));
    assert_non_null(strstr(p, "data-component=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert_non_null(strstr(p, "<span class=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</span>"));
    assert_non_null(strstr(p, "data-component=\"we&quot;ird\\name\" data-status=\"degraded\""));
    assert_non_null(strstr(p, "backend failed: HTTP 500 &amp; &lt;more&gt;"));
    assert_non_null(strstr(p, "bad deploy &lt;rolled back&gt;"));
    assert_null(strstr(p, "http://"));  /* no external asset */
    assert_null(strstr(p, "https://"));
    reply_free(&r);
    http_stop(&s);
    fake_free(&f);
}

static void test_page_content(void **state)
{
    (void)state;
    char *p = render_page(status_json, incidents_json);
    assert_non_null(strstr(p, "id=\"overall\" class=\"s-major-outage\" data-status=\"major-outage\""));
    assert_non_null(strstr(p, "data-component=\"backend\" data-status=\"major-outage\""));
    assert_non_null(strstr(p, "data-component=\"db\" data-status=\"operational\""));
    /* held but healthy: maintenance */
    assert_non_null(strstr(p, "alert(1)&lt;/script&gt;\" data-status=\"maintenance\""));
    /* the open incident, its status and its public updates (opened, update; not the action) */
    assert_non_null(strstr(p, "<article class=\"incident open\" id=\"incident-12\" data-incident=\"12\" "
                              "data-status=\"identified\""));
    assert_non_null(strstr(p, "<li class=\"update\" data-status=\"identified\" data-kind=\"update\">"));
    assert_non_null(strstr(p, "<li class=\"update\" data-status=\"investigating\" data-kind=\"opened\">"));
    assert_null(strstr(p, "recover-command ran"));
    /* the newest update first */
    assert_true(strstr(p, "data-kind=\"update\"") < strstr(p, "data-kind=\"opened\""));
    /* the past incident listed once, the open one not among the past */
    assert_non_null(strstr(p, "<article class=\"incident past\" id=\"incident-7\""));
    assert_int_equal(count_lines(p, "<article class=\"incident"), 2);
    /* 90 days of history per component; db's incident 3 days ago, backend's today */
    assert_non_null(strstr(p, "data-days=\"90\""));
    char *db = strstr(p, "data-component=\"db\"");
    assert_non_null(db);
    assert_non_null(strstr(db, "data-status=\"major-outage\" data-date=\"2025-11-28T00:00:00Z\""));
    assert_non_null(strstr(db, "data-status=\"operational\" data-date=\"2025-11-29T00:00:00Z\""));
    assert_non_null(strstr(db, "data-status=\"operational\" data-date=\"2025-09-03T00:00:00Z\""));
    assert_null(strstr(db, "data-date=\"2025-09-02T00:00:00Z\"")); /* the 91st day back */
    char *be = strstr(p, "data-component=\"backend\"");
    assert_non_null(strstr(be, "data-status=\"major-outage\" data-date=\"2025-12-01T00:00:00Z\""));
    free(p);
}

static void test_page_odd_input(void **state)
{
    (void)state;
    /* no data at all, and junk of every type: a page all the same, status unknown */
    char *p = render_page("[1,2]", "{\"x\":1}");
    assert_non_null(strstr(p, "data-status=\"unknown\""));
    assert_non_null(strstr(p, "No open incidents."));
    assert_non_null(strstr(p, "</html>"));
    free(p);
    p = render_page("{\"services\":[{\"name\":\"a\",\"state\":\"starting\"},{\"name\":\"b\",\"state\":\"weird\"}],"
                    "\"hold_all\":{\"by\":\"<alice>\",\"reason\":\"db work\",\"at_ms\":1e300},"
                    "\"incidents\":[{\"id\":1e300,\"target\":\"a\",\"opened_ms\":-1e300,\"timeline\":[1,{\"kind\":\"update\"}]},"
                    "{\"id\":5,\"target\":\"a\",\"opened_ms\":1764599000000,\"impact\":\"degraded\",\"timeline\":{}}]}",
                    "[{\"target\":\"a\",\"opened_ms\":0,\"closed_ms\":99999999999999999}, null, \"x\"]");
    assert_non_null(strstr(p, "id=\"overall\" class=\"s-partial-outage\""));
    assert_non_null(strstr(p, "data-component=\"b\" data-status=\"unknown\""));
    assert_non_null(strstr(p, "id=\"hold-all\""));
    assert_non_null(strstr(p, "by &lt;alice&gt;"));
    assert_non_null(strstr(p, "data-impact=\"degraded\""));
    free(p);
    assert_string_equal(http_component_status("healthy", NULL), "operational");
    assert_string_equal(http_component_status("degraded", NULL), "degraded");
    assert_string_equal(http_component_status("failed", NULL), "major-outage");
    assert_string_equal(http_component_status("starting", NULL), "partial-outage");
    assert_string_equal(http_component_status("maintenance", "failed"), "maintenance");
    assert_string_equal(http_component_status("held", "healthy"), "maintenance");
    assert_string_equal(http_component_status("held", "failed"), "major-outage");
    assert_string_equal(http_component_status(NULL, "degraded"), "degraded");
}

static void test_bad_listen(void **state)
{
    (void)state;
    fake f = {0};
    http_source src = {.ctx = &f, .status = fake_status, .incidents = fake_incidents, .groups = NULL};
    const char *bad[] = {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8x",
                         "localhost:8008", ":8008", "::1:8008", "[::1", "[::1]8008", "[127.0.0.1]:80",
                         "[zz]:80", "300.1.1.1:80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        http_server *s = (http_server *)&f;
        assert_int_equal(http_start(bad[i], &src, &s), ERR_USAGE);
        assert_null(s);
        assert_non_null(strstr(err_msg(), "listen"));
    }
    http_server *s = NULL;
    /* an address this host does not have */
    assert_int_equal(http_start("192.0.2.1:8008", &src, &s), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "listen 192.0.2.1:8008: address not available"));
}

static void test_address_in_use(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src), *s2 = NULL;
    char addr[64], want[96];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", http_port(s));
    assert_int_equal(http_start(addr, &src, &s2), ERR_CONFIG);
    assert_null(s2);
    snprintf(want, sizeof want, "listen %s: address in use", addr);
    assert_string_equal(err_msg(), want);
    /* the first one still serves */
    reply r;
    fetch(http_port(s), "GET", "/health", &r);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    http_stop(&s);
    fake_free(&f);
}

/* The HA endpoints read the members from the groups callback alone: a status document
 * that cannot be had (the agent's loop busy) must not make HAProxy's check fail, and
 * the other routes still read the status document. */
static int status_calls;
static cJSON *counted_status(void *ctx)
{
    status_calls++;
    return fake_status(ctx);
}

static cJSON *fake_groups(void *ctx)
{
    (void)ctx;
    return cJSON_Parse("{\"groups\":[{\"name\":\"main-db\",\"members\":["
                       "{\"name\":\"pg-a\",\"role\":\"primary\",\"lease\":true},"
                       "{\"name\":\"pg-b\",\"role\":\"standby\",\"streaming\":true,\"lag_bytes\":0}]}]}");
}

static void test_ha_routes_read_groups(void **state)
{
    (void)state;
    fake f;
    fake_init(&f);
    http_source src = {.ctx = &f, .status = counted_status, .incidents = fake_incidents, .groups = fake_groups};
    http_server *s = NULL;
    assert_int_equal(http_start("127.0.0.1:0", &src, &s), 0);
    status_calls = 0;
    const struct {
        const char *path;
        long code;
    } want[] = {{"/main-db/pg-a/primary", 200}, {"/main-db/pg-b/primary", 503},
                {"/main-db/pg-b/replica", 200}, {"/main-db/pg-c/replica", 404}, {"/api/status", 200}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        reply r;
        fetch(http_port(s), "GET", want[i].path, &r);
        assert_int_equal(r.code, want[i].code);
        reply_free(&r);
        /* only the last one, /api/status, reads the status document */
        assert_int_equal(status_calls > 0, i == sizeof want / sizeof *want - 1);
    }
    http_stop(&s);
    cJSON_Delete(f.status);
    cJSON_Delete(f.incidents);
}

static void test_ipv6(void **state)
{
    (void)state;
    fake f;
    fake_init(&f);
    http_source src = {.ctx = &f, .status = fake_status, .incidents = fake_incidents, .groups = NULL};
    http_server *s = NULL;
    int rc = http_start("[::1]:0", &src, &s);
    if (rc == ERR_CONFIG) { /* a host without IPv6 loopback */
        fake_free(&f);
        skip();
    }
    assert_int_equal(rc, 0);
    char url[64];
    snprintf(url, sizeof url, "http://[::1]:%d/health", http_port(s));
    CURL *c = curl_easy_init();
    long code = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 200);
    curl_easy_cleanup(c);
    http_stop(&s);
    fake_free(&f);
}

/* A raw loopback connection to port that sends nothing. */
static int idle_connection(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* One client cannot hold more than its share: past 16 connections from one address
 * the next is refused; once they go, the server answers again. */
static void test_connection_limit(void **state)
{
    (void)state;
    fake f;
    http_source src;
    fake_init(&f);
    http_server *s = serve(&f, &src);
    int fds[16];
    for (int i = 0; i < 16; i++)
        fds[i] = idle_connection(http_port(s));
    usleep(200000); /* the server has accepted them */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/health", http_port(s));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode cc = curl_easy_perform(c);
    assert_int_not_equal(cc, CURLE_OK);
    curl_easy_cleanup(c);
    for (int i = 0; i < 16; i++)
        close(fds[i]);
    usleep(200000);
    reply r;
    fetch(http_port(s), "GET", "/health", &r);
    assert_int_equal(r.code, 200);
    reply_free(&r);
    http_stop(&s);
    fake_free(&f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_status), cmocka_unit_test(test_incidents_api),
        cmocka_unit_test(test_read_only),         cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_metrics_served),    cmocka_unit_test(test_metrics_render_odd),
        cmocka_unit_test(test_page_served_escaped), cmocka_unit_test(test_page_content),
        cmocka_unit_test(test_page_odd_input),    cmocka_unit_test(test_bad_listen),
        cmocka_unit_test(test_address_in_use),    cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ha_routes_read_groups),
        cmocka_unit_test(test_connection_limit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
