/* Proxy tests: the HA endpoints' decisions (http_ha_check over a status document with
 * every role and lease, lag limits, the member "here", bad input), the same endpoints
 * through the real server with GET, HEAD and OPTIONS, the rendered HAProxy
 * configuration (servers, check addresses, ports, errors) and [member] agent. */
#define _GNU_SOURCE
#include "testutil.h"

#include <curl/curl.h>

#include "config/config.h"
#include "http/http.h"
#include "http/proxy_config.h"

static const char status_json[] =
    "{\"node\":\"zone-a-1\",\"groups\":["
    "{\"name\":\"main-db\",\"backend\":\"local\",\"epoch\":3,\"leader\":\"pg-a\",\"members\":["
    "{\"name\":\"pg-a\",\"node\":\"zone-a-1\",\"here\":true,\"role\":\"primary\",\"lease\":true,\"timeline\":2,"
    "\"lsn\":\"0/3000060\",\"lag_bytes\":0,\"streaming\":false},"
    "{\"name\":\"pg-b\",\"here\":false,\"role\":\"standby\",\"lease\":false,\"timeline\":2,\"lag_bytes\":1000,"
    "\"streaming\":true},"
    "{\"name\":\"pg-c\",\"role\":\"standby\",\"lease\":false,\"lag_bytes\":null,\"streaming\":true},"
    "{\"name\":\"pg-d\",\"role\":\"fenced\",\"lease\":false,\"timeline\":1,\"lag_bytes\":null,\"streaming\":false},"
    "{\"name\":\"pg-e\",\"role\":\"down\",\"lease\":false},"
    "{\"name\":\"pg-f\",\"role\":\"primary\",\"lease\":false,\"timeline\":2},"
    "{\"name\":\"pg-g\",\"role\":\"standby\",\"lease\":false,\"lag_bytes\":5,\"streaming\":false},"
    "{\"name\":\"pg-h\",\"role\":\"unknown\"},"
    "{\"name\":\"pg-i\",\"role\":\"primary\",\"lease\":\"true\"},"
    "{\"name\":\"pg-j\"},"
    "{\"name\":\"pg-k\",\"role\":\"standby\",\"lag_bytes\":-5,\"streaming\":true}]},"
    "{\"name\":\"solo\",\"epoch\":null,\"members\":[{\"name\":\"s1\",\"here\":true,\"role\":\"standby\","
    "\"lag_bytes\":5,\"streaming\":true},{\"name\":\"s2\",\"here\":false,\"role\":\"primary\",\"lease\":true}]},"
    "{\"name\":\"none\",\"epoch\":1,\"members\":[{\"name\":\"n1\",\"role\":\"primary\",\"lease\":true}]},"
    "{\"name\":\"two\",\"epoch\":1,\"members\":[{\"name\":\"t1\",\"here\":true,\"role\":\"primary\",\"lease\":true},"
    "{\"name\":\"t2\",\"here\":true,\"role\":\"standby\",\"streaming\":true}]},"
    "{\"name\":\"odd\",\"members\":{\"name\":\"x\"}}, 7, {\"members\":[]}]}";

static cJSON *status_doc(void)
{
    cJSON *st = cJSON_Parse(status_json);
    assert_non_null(st);
    return st;
}

/* The code of path?query; the body's "error" or "member" is checked by the caller. */
static int check(const cJSON *st, const char *path, const char *query, cJSON **body)
{
    int code = 0;
    cJSON *b = NULL;
    assert_true(http_ha_check(st, path, query, &code, &b));
    if (body)
        *body = b;
    else
        cJSON_Delete(b);
    return code;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_primary(void **state)
{
    (void)state;
    cJSON *st = status_doc(), *b = NULL;
    assert_int_equal(check(st, "/main-db/pg-a/primary", NULL, &b), 200);
    /* the body: what HAProxy's operator reads */
    assert_string_equal(str(b, "member"), "pg-a");
    assert_string_equal(str(b, "group"), "main-db");
    assert_string_equal(str(b, "role"), "primary");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "lease")));
    assert_int_equal(cJSON_GetObjectItem(b, "epoch")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(b, "timeline")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(b, "lag_bytes")->valueint, 0);
    cJSON_Delete(b);
    assert_int_equal(check(st, "/main-db/pg-a/read-write", NULL, NULL), 200);
    /* a primary whose lease is uncertain answers 503 at once */
    assert_int_equal(check(st, "/main-db/pg-f/primary", NULL, &b), 503);
    assert_string_equal(str(b, "role"), "primary");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(b, "lease")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "lag_bytes")));
    cJSON_Delete(b);
    assert_int_equal(check(st, "/main-db/pg-f/read-write", NULL, NULL), 503);
    /* nothing else is a primary: standby, fenced, down, unknown, a lease spelled as text, no role */
    const char *others[] = {"pg-b", "pg-c", "pg-d", "pg-e", "pg-g", "pg-h", "pg-i", "pg-j", "pg-k"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        char path[64];
        snprintf(path, sizeof path, "/main-db/%s/primary", others[i]);
        assert_int_equal(check(st, path, NULL, NULL), 503);
    }
    assert_int_equal(check(st, "/main-db/pg-j/primary", NULL, &b), 503);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "role")));
    cJSON_Delete(b);
    cJSON_Delete(st);
}

static void test_replica_and_lag(void **state)
{
    (void)state;
    cJSON *st = status_doc();
    assert_int_equal(check(st, "/main-db/pg-b/replica", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "", NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lag=1MB", NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lag=16kB", NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lag=1000", NULL), 200); /* at the limit */
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lag=999", NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lag=0", NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "other=1&lag=500", NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lag=500&lag=1MB", NULL), 503); /* the first counts */
    assert_int_equal(check(st, "/main-db/pg-b/replica", "lagging=1&x", NULL), 200);   /* not lag */
    /* an unknown lag is never within a limit; without one it does not matter */
    assert_int_equal(check(st, "/main-db/pg-c/replica", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-c/replica", "lag=1GB", NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-k/replica", "lag=1GB", NULL), 503); /* negative: not trusted */
    /* not streaming, or not a standby */
    const char *no[] = {"pg-a", "pg-d", "pg-e", "pg-f", "pg-g", "pg-h", "pg-j"};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        char path[64];
        snprintf(path, sizeof path, "/main-db/%s/replica", no[i]);
        assert_int_equal(check(st, path, NULL, NULL), 503);
    }
    /* a bad lag is the caller's error: 400, naming it */
    const char *bad[] = {"lag=1XB", "lag=", "lag", "lag=-1", "lag=MB", "lag=1MB2",
                         "lag=99999999999999999999999", "lag=99999999999TB",
                         "lag=11111111111111111111111111111111111111111111111111111111111111111111111111111"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *b = NULL;
        assert_int_equal(check(st, "/main-db/pg-b/replica", bad[i], &b), 400);
        assert_non_null(strstr(str(b, "error"), "lag"));
        cJSON_Delete(b);
    }
    cJSON_Delete(st);
}

static void test_read_only_and_health(void **state)
{
    (void)state;
    cJSON *st = status_doc();
    assert_int_equal(check(st, "/main-db/pg-a/read-only", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-a/read-only", "lag=0", NULL), 200); /* lag is for standbys */
    assert_int_equal(check(st, "/main-db/pg-b/read-only", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-b/read-only", "lag=10", NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-d/read-only", NULL, NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-f/read-only", NULL, NULL), 503);
    /* health: up in any role */
    const char *up[] = {"pg-a", "pg-b", "pg-c", "pg-d", "pg-f", "pg-g"};
    for (size_t i = 0; i < sizeof up / sizeof *up; i++) {
        char path[64];
        snprintf(path, sizeof path, "/main-db/%s/health", up[i]);
        assert_int_equal(check(st, path, NULL, NULL), 200);
    }
    assert_int_equal(check(st, "/main-db/pg-e/health", NULL, NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-h/health", NULL, NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-j/health", NULL, NULL), 503);
    /* readiness: the primary with the lease, or a streaming standby (any lag) */
    assert_int_equal(check(st, "/main-db/pg-a/readiness", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-b/readiness", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-c/readiness", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/pg-d/readiness", NULL, NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-f/readiness", NULL, NULL), 503);
    assert_int_equal(check(st, "/main-db/pg-g/readiness", NULL, NULL), 503);
    /* liveness: this copy has no round age: not alive */
    assert_int_equal(check(st, "/main-db/pg-a/liveness", NULL, NULL), 503);
    cJSON_Delete(st);
}

/* liveness: the engine's last round within a ttl (lease holder) or two (others) */
static void test_liveness(void **state)
{
    (void)state;
    static const struct {
        const char *age, *ttl, *member;
        int code;
    } cases[] = {
        {"100", "4000", "p", 200},  {"4000", "4000", "p", 200}, {"4001", "4000", "p", 503},
        {"8000", "4000", "s", 200}, {"8001", "4000", "s", 503}, {"-1", "4000", "s", 503},
        {"100", "0", "s", 503},     {"\"5\"", "4000", "s", 503}, {"100", "null", "p", 503},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char doc[512], path[64];
        snprintf(doc, sizeof doc,
                 "{\"groups\":[{\"name\":\"g\",\"round_age_ms\":%s,\"ttl_ms\":%s,\"members\":["
                 "{\"name\":\"p\",\"role\":\"primary\",\"lease\":true},{\"name\":\"s\",\"role\":\"standby\"}]}]}",
                 cases[i].age, cases[i].ttl);
        cJSON *st = cJSON_Parse(doc);
        assert_non_null(st);
        snprintf(path, sizeof path, "/g/%s/liveness", cases[i].member);
        assert_int_equal(check(st, path, NULL, NULL), cases[i].code);
        cJSON_Delete(st);
    }
}

static void test_member_here(void **state)
{
    (void)state;
    cJSON *st = status_doc(), *b = NULL;
    assert_int_equal(check(st, "/main-db/primary", NULL, &b), 200);
    assert_string_equal(str(b, "member"), "pg-a");
    cJSON_Delete(b);
    assert_int_equal(check(st, "/main-db/replica", NULL, NULL), 503);
    assert_int_equal(check(st, "/main-db/health", NULL, NULL), 200);
    assert_int_equal(check(st, "/main-db/read-write", NULL, NULL), 200);
    assert_int_equal(check(st, "/solo/replica", NULL, &b), 200);
    assert_string_equal(str(b, "member"), "s1");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "epoch")));
    cJSON_Delete(b);
    assert_int_equal(check(st, "/solo/replica", "lag=4", NULL), 503);
    assert_int_equal(check(st, "/solo/primary", NULL, NULL), 503); /* s2 is the primary, not here */
    /* none here, or several: 404 saying why */
    assert_int_equal(check(st, "/none/primary", NULL, &b), 404);
    assert_non_null(strstr(str(b, "error"), "no member of group 'none'"));
    cJSON_Delete(b);
    assert_int_equal(check(st, "/two/primary", NULL, &b), 404);
    assert_non_null(strstr(str(b, "error"), "manages 2 members"));
    cJSON_Delete(b);
    assert_int_equal(check(st, "/odd/primary", NULL, NULL), 404);
    cJSON_Delete(st);
}

static void test_not_found_and_not_ours(void **state)
{
    (void)state;
    cJSON *st = status_doc(), *b = NULL;
    assert_int_equal(check(st, "/nope/pg-a/primary", NULL, &b), 404);
    assert_non_null(strstr(str(b, "error"), "no group 'nope'"));
    cJSON_Delete(b);
    assert_int_equal(check(st, "/main-db/pg-z/replica", NULL, &b), 404);
    assert_non_null(strstr(str(b, "error"), "no member 'pg-z'"));
    cJSON_Delete(b);
    assert_int_equal(check(st, "/odd/x/primary", NULL, NULL), 404); /* members not an array */
    /* paths that are none of the endpoints: not handled, nothing returned */
    const char *other[] = {"/", "/health", "/metrics", "/api/status", "/api/incidents/12", "/primary",
                           "/main-db/pg-a/primary/", "//primary", "/main-db//primary", "/a/b/c/primary",
                           "main-db/pg-a/primary", "/main-db/pg-a/Primary", "/main-db/pg-a/master", "",
                           "/main-db/pg-a/primaryx"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        int code = 0;
        b = (cJSON *)1;
        assert_false(http_ha_check(st, other[i], NULL, &code, &b));
        assert_int_equal(code, 404);
        assert_null(b);
    }
    int code;
    assert_false(http_ha_check(st, NULL, NULL, &code, &b));
    char longname[400];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "/g/", 3);
    memcpy(longname + sizeof longname - 9, "/primary", 9);
    assert_false(http_ha_check(st, longname, NULL, &code, &b));
    cJSON_Delete(st);
    /* no status document: the agent cannot say, so no member is anything */
    assert_int_equal(check(NULL, "/main-db/pg-a/primary", NULL, &b), 503);
    assert_non_null(strstr(str(b, "error"), "unavailable"));
    cJSON_Delete(b);
    assert_false(http_ha_check(NULL, "/api/status", NULL, &code, &b));
    /* a status without groups, or with groups of another type */
    st = cJSON_Parse("{\"node\":\"x\"}");
    assert_int_equal(check(st, "/main-db/pg-a/primary", NULL, NULL), 404);
    cJSON_Delete(st);
    st = cJSON_Parse("{\"groups\":{\"main-db\":1}}");
    assert_int_equal(check(st, "/main-db/primary", NULL, NULL), 404);
    cJSON_Delete(st);
    st = cJSON_Parse("[1,2]");
    assert_int_equal(check(st, "/main-db/primary", NULL, NULL), 404);
    cJSON_Delete(st);
}

/* ---- through the real server ---- */

static cJSON *serve_status(void *ctx) { return ctx ? cJSON_Parse(ctx) : NULL; }

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) ? 0 : size * n;
}

static long fetch(int port, const char *method, const char *path, buf *body)
{
    char url[256];
    long code = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    buf_init(body, 0);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    assert_int_equal(buf_append(body, "", 1), 0);
    return code;
}

static long fetch_code(int port, const char *method, const char *path)
{
    buf b;
    long code = fetch(port, method, path, &b);
    buf_free(&b);
    return code;
}

static void test_served(void **state)
{
    (void)state;
    http_source src = {.ctx = (void *)status_json, .status = serve_status, .incidents = NULL, .groups = NULL};
    http_server *s = NULL;
    assert_int_equal(http_start("127.0.0.1:0", &src, &s), 0);
    int port = http_port(s);
    buf b;
    assert_int_equal(fetch(port, "GET", "/main-db/pg-a/primary", &b), 200);
    cJSON *o = cJSON_Parse((const char *)b.data);
    assert_string_equal(str(o, "member"), "pg-a");
    cJSON_Delete(o);
    buf_free(&b);
    /* HAProxy's httpchk may send HEAD or OPTIONS: the same codes */
    const char *methods[] = {"GET", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-a/primary"), 200);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/primary"), 503);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/replica"), 200);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/replica?lag=1MB"), 200);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/replica?lag=500"), 503);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/replica?x=1&lag=16kB"), 200);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/replica?lag=1XB"), 400);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/pg-b/replica?lag"), 400);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/primary"), 200);
        assert_int_equal(fetch_code(port, methods[i], "/two/primary"), 404);
        assert_int_equal(fetch_code(port, methods[i], "/main-db/nope/primary"), 404);
    }
    assert_int_equal(fetch(port, "HEAD", "/main-db/pg-a/primary", &b), 200);
    assert_int_equal(b.len, 1); /* no body for HEAD */
    buf_free(&b);
    /* the lag arrives decoded */
    assert_int_equal(fetch_code(port, "GET", "/main-db/pg-b/replica?lag=1%20MB"), 200);
    /* OPTIONS is for the HA endpoints only; other methods never */
    assert_int_equal(fetch_code(port, "OPTIONS", "/api/status"), 405);
    assert_int_equal(fetch_code(port, "OPTIONS", "/"), 405);
    assert_int_equal(fetch_code(port, "POST", "/main-db/pg-a/primary"), 405);
    assert_int_equal(fetch_code(port, "DELETE", "/main-db/pg-a/primary"), 405);
    /* the other routes are as they were */
    assert_int_equal(fetch_code(port, "GET", "/health"), 200);
    assert_int_equal(fetch_code(port, "GET", "/api/status"), 200);
    assert_int_equal(fetch_code(port, "GET", "/nothing/here"), 404);
    http_stop(&s);
    /* an agent that cannot give its status: every member 503 */
    src.ctx = NULL;
    assert_int_equal(http_start("127.0.0.1:0", &src, &s), 0);
    assert_int_equal(fetch_code(http_port(s), "GET", "/main-db/pg-a/primary"), 503);
    assert_int_equal(fetch_code(http_port(s), "OPTIONS", "/main-db/pg-a/health"), 503);
    http_stop(&s);
}

/* ---- the HAProxy configuration ---- */

static const char conf_text[] =
    "[watch]\nnode = zone-a-1\nlisten = 127.0.0.1:8008\n\n"
    "[postgres \"main-db\"]\nmembers = pg-a pg-b pg-c\n\n"
    "[postgres \"reports\"]\nmembers = r1\n\n"
    "[member \"pg-a\"]\nnode = zone-a-1\nconninfo = host=10.0.0.1 user=lifeline dbname=postgres\n\n"
    "[member \"pg-b\"]\nnode = zone-b-1\nconninfo = host=db-b.example hostaddr=10.0.0.2 port=5433\n"
    "agent = 10.0.0.2:8009\n\n"
    "[member \"pg-c\"]\nnode = zone-c-1\nconninfo = host=fd00::3 port=5434\nagent = [fd00::3]:8008\n\n"
    "[member \"r1\"]\nnode = zone-a-1\nconninfo = host=127.0.0.1 port=6432\n";

static char *render(const char *text, const proxy_config_opts *o, int want)
{
    config *c = NULL;
    assert_int_equal(config_parse_string(text, "p.conf", &c), 0);
    buf b;
    buf_init(&b, 1 << 20);
    int rc = proxy_config_render(c, o, &b);
    config_free(&c);
    assert_int_equal(rc, want);
    char *s = rc ? NULL : strndup((const char *)b.data, b.len);
    buf_free(&b);
    return s;
}

static void has(const char *text, const char *line)
{
    if (!text)
        fail_msg("no text rendered");
    else if (!strstr(text, line))
        fail_msg("missing: %s\nin:\n%s", line, text);
}

static void test_render(void **state)
{
    (void)state;
    proxy_config_opts o = {0};
    char *t = render(conf_text, &o, 0);
    has(t, "\ndefaults\n    mode tcp\n");
    has(t, "\nlisten main-db-primary\n    bind *:5000\n    option httpchk\n"
           "    http-check send meth GET uri-lf /main-db/%[srv_name]/primary\n"
           "    http-check expect status 200\n"
           "    default-server inter 500ms fastinter 250ms downinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions\n");
    /* this node's member is checked at [watch] listen, the others at their agent */
    has(t, "    server pg-a 10.0.0.1:5432 check port 8008 addr 127.0.0.1\n");
    has(t, "    server pg-b 10.0.0.2:5433 check port 8009 addr 10.0.0.2\n");
    has(t, "    server pg-c [fd00::3]:5434 check port 8008 addr [fd00::3]\n");
    has(t, "\nlisten main-db-replica\n    bind *:5001\n");
    has(t, "uri-lf /main-db/%[srv_name]/replica\n");
    has(t, "\nlisten reports-primary\n    bind *:5002\n");
    has(t, "\nlisten reports-replica\n    bind *:5003\n");
    has(t, "    server r1 127.0.0.1:6432 check port 8008 addr 127.0.0.1\n");
    free(t);
    /* one group, its own ports, a lag for readers */
    o = (proxy_config_opts){.group = "reports", .listen_primary = "127.0.0.1:7000", .listen_replica = "7001",
                            .replica_lag = "16MB"};
    t = render(conf_text, &o, 0);
    assert_null(strstr(t, "main-db"));
    has(t, "listen reports-primary\n    bind 127.0.0.1:7000\n");
    has(t, "listen reports-replica\n    bind *:7001\n");
    has(t, "uri-lf /reports/%[srv_name]/replica?lag=16MB\n");
    has(t, "uri-lf /reports/%[srv_name]/primary\n");
    free(t);
    /* rendered on another node: that node's members need no agent key, ours do */
    o = (proxy_config_opts){.group = "reports", .this_node = "zone-b-1"};
    assert_null(render(conf_text, &o, ERR_CONFIG));
    assert_non_null(strstr(err_msg(), "[member \"r1\"]"));
    assert_non_null(strstr(err_hint_msg(), "agent = HOST:PORT"));
}

static void test_render_errors(void **state)
{
    (void)state;
    proxy_config_opts o = {.group = "nope"};
    assert_null(render(conf_text, &o, ERR_NOTFOUND));
    o = (proxy_config_opts){.listen_primary = "127.0.0.1:7000"};
    assert_null(render(conf_text, &o, ERR_USAGE)); /* several groups, one address */
    const char *bad_listen[] = {"nohost", "127.0.0.1:", "127.0.0.1:70000", "0", ":5000", "::1:5000", "a b:1"};
    for (size_t i = 0; i < sizeof bad_listen / sizeof *bad_listen; i++) {
        o = (proxy_config_opts){.group = "main-db", .listen_replica = bad_listen[i]};
        assert_null(render(conf_text, &o, ERR_USAGE));
    }
    o = (proxy_config_opts){.group = "main-db", .listen_primary = "[::1]:5000"};
    free(render(conf_text, &o, 0));
    o = (proxy_config_opts){.replica_lag = "lots"};
    assert_null(render(conf_text, &o, ERR_USAGE));
    o = (proxy_config_opts){0};
    assert_null(render("[watch]\nnode = n\n", &o, ERR_CONFIG)); /* no group */
    assert_non_null(strstr(err_msg(), "no [postgres"));
    const char *head = "[watch]\nnode = n\nlisten = 0.0.0.0:8008\n[postgres \"g\"]\nmembers = m\n[member \"m\"]\nnode = n\n";
    const struct {
        const char *member, *why;
    } cases[] = {
        {"conninfo = host=/run/postgresql\n", "Unix socket"},
        {"conninfo = dbname=postgres\n", "no host"},
        {"conninfo = host=a,b\n", "several hosts"},
        {"conninfo = host=a port=5432,5433\n", "several hosts"},
        {"conninfo = host=a port=0\n", "port '0'"},
        {"conninfo = host=a port=x\n", "port 'x'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", head, cases[i].member);
        assert_null(render(text, &o, ERR_CONFIG));
        if (!strstr(err_msg(), cases[i].why))
            fail_msg("%s: %s", cases[i].member, err_msg());
    }
    /* a wildcard listen is reached at the member's own host */
    char text[512];
    snprintf(text, sizeof text, "%sconninfo = host=192.0.2.7 port=5555\n", head);
    char *t = render(text, &o, 0);
    has(t, "    server m 192.0.2.7:5555 check port 8008 addr 192.0.2.7\n");
    free(t);
    /* names HAProxy would misread are refused */
    assert_null(render("[watch]\nnode = n\nlisten = 127.0.0.1:1\n[postgres \"a b\"]\nmembers = m\n[member \"m\"]\n"
                       "node = n\nconninfo = host=h\n", &o, ERR_CONFIG));
    assert_non_null(strstr(err_msg(), "group 'a b'"));
    /* no listen on this node and no agent key */
    assert_null(render("[watch]\nnode = n\n[postgres \"g\"]\nmembers = m\n[member \"m\"]\nnode = n\nconninfo = host=h\n",
                       &o, ERR_CONFIG));
    assert_non_null(strstr(err_hint_msg(), "[watch] listen"));
    buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(proxy_config_render(NULL, &o, &b), ERR_CONFIG);
    buf_free(&b);
}

static void test_agent_key(void **state)
{
    (void)state;
    const char *good[] = {"10.0.0.1:8008", "[::1]:8008", "agent.example:80", "h:65535"};
    const char *bad[] = {"10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536", ":8008", "::1:8008", "[::1:8008", "[]:1",
                         "h:x", "a b:1", "http://h:1"};
    for (size_t i = 0; i < sizeof good / sizeof *good + sizeof bad / sizeof *bad; i++) {
        int ok = i < sizeof good / sizeof *good;
        const char *v = ok ? good[i] : bad[i - sizeof good / sizeof *good];
        char text[512];
        config *c = NULL;
        snprintf(text, sizeof text, "[postgres \"g\"]\nmembers = m\n[member \"m\"]\nnode = n\nconninfo = host=h\n"
                                    "agent = %s\n", v);
        int rc = config_parse_string(text, "a.conf", &c);
        if (ok != (rc == 0))
            fail_msg("agent = %s: %d %s", v, rc, rc ? err_msg() : "");
        if (ok)
            assert_string_equal(config_member_find(c, "m")->agent, v);
        else
            assert_non_null(strstr(err_msg(), "a.conf:6"));
        config_free(&c);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primary),        cmocka_unit_test(test_replica_and_lag),
        cmocka_unit_test(test_read_only_and_health),
        cmocka_unit_test(test_liveness), cmocka_unit_test(test_member_here),
        cmocka_unit_test(test_not_found_and_not_ours), cmocka_unit_test(test_served),
        cmocka_unit_test(test_render),         cmocka_unit_test(test_render_errors),
        cmocka_unit_test(test_agent_key),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
