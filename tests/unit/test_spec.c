/* watch/spec: a [service] section becomes the probe_spec the agent and `lifeline
 * probe` run: http keys, the timeout, mirror-of, and the [source] of postgres: and
 * redis: probes with the password read from its file (and never put in a message). */
#define _GNU_SOURCE
#include "testutil.h"

#include "config/config.h"
#include "watch/spec.h"

static config *parse(const char *text)
{
    config *c = NULL;
    if (config_parse_string(text, "s.conf", &c) != 0)
        fail_msg("parse: %s", err_msg());
    return c;
}

static void http_and_registry_keys(void **state)
{
    (void)state;
    config *c = parse("[service \"web\"]\nprobe = http://127.0.0.1:8080/health\ninterval = 5s\ntimeout = 3s\n"
                      "http-method = HEAD\nhttp-status = 204\nhttp-body = ok\n"
                      "http-header = Host: web.internal\nhttp-header = X-A: 1\n"
                      "[service \"mirror\"]\nprobe = registry:http://m:5000\nmirror-of = https://up.example\n"
                      "repositories = app lib/base\n");
    probe_spec spec;
    watch_spec *own = NULL;
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "web"), &spec, &own), 0);
    assert_string_equal(spec.target, "http://127.0.0.1:8080/health");
    assert_int_equal(spec.timeout_ms, 3000);
    assert_string_equal(spec.method, "HEAD");
    assert_int_equal(spec.expect_status, 204);
    assert_string_equal(spec.body_contains, "ok");
    assert_int_equal(spec.nheaders, 2);
    assert_string_equal(spec.headers[1], "X-A: 1");
    assert_null(spec.mirror_of);
    assert_null(spec.password);
    watch_spec_free(&own);
    assert_null(own);
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "mirror"), &spec, &own), 0);
    assert_string_equal(spec.mirror_of, "https://up.example");
    assert_int_equal(spec.nrepositories, 2);
    assert_string_equal(spec.repositories[1], "lib/base");
    assert_int_equal(spec.timeout_ms, 1000); /* the default */
    assert_null(spec.headers);
    watch_spec_free(&own);
    watch_spec_free(&own); /* twice is harmless */
    config_free(&c);
}

static void sources(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), text[1024], pw[600];
    snprintf(pw, sizeof pw, "%s/redis.pass", dir);
    FILE *f = fopen(pw, "w");
    fputs("s3cret\n\n", f);
    fclose(f);
    snprintf(text, sizeof text,
             "[source \"cache\"]\ntype = redis\naddress = 127.0.0.1:6390\nuser = probe\npassword-file = %s\n"
             "[source \"open\"]\ntype = redis\naddress = unix:/run/redis.sock\n"
             "[source \"db\"]\ntype = postgres\nconninfo = host=/run/pg dbname=app\n"
             "[service \"cache\"]\nprobe = redis:cache\n[service \"open\"]\nprobe = redis:open\n"
             "[service \"db\"]\nprobe = postgres:db\n",
             pw);
    config *c = parse(text);
    probe_spec spec;
    watch_spec *own = NULL;
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "cache"), &spec, &own), 0);
    assert_string_equal(spec.address, "127.0.0.1:6390");
    assert_string_equal(spec.user, "probe");
    assert_string_equal(spec.password, "s3cret"); /* trailing newlines cut */
    watch_spec_free(&own);
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "open"), &spec, &own), 0);
    assert_string_equal(spec.address, "unix:/run/redis.sock");
    assert_null(spec.password);
    watch_spec_free(&own);
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "db"), &spec, &own), 0);
    assert_string_equal(spec.conninfo, "host=/run/pg dbname=app");
    assert_null(spec.address);
    watch_spec_free(&own);
    /* a password file gone: the error names the service and the file, never a secret */
    unlink(pw);
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "cache"), &spec, &own), ERR_USAGE);
    assert_null(own);
    assert_null(spec.target);
    assert_non_null(strstr(err_msg(), "[service \"cache\"]: Redis password file"));
    assert_non_null(strstr(err_msg(), pw));
    /* an empty one */
    f = fopen(pw, "w");
    fputs("\n", f);
    fclose(f);
    assert_int_equal(watch_probe_spec(c, config_service_find(c, "cache"), &spec, &own), ERR_USAGE);
    assert_non_null(strstr(err_msg(), "is empty"));
    config_free(&c);
    tu_rmrf(dir);
}

static void kinds(void **state)
{
    (void)state;
    assert_string_equal(watch_probe_kind("https://u:p@h/"), "http");
    assert_string_equal(watch_probe_kind("http://h/"), "http");
    assert_string_equal(watch_probe_kind("tcp://h:1"), "tcp");
    assert_string_equal(watch_probe_kind("exec:true"), "exec");
    assert_string_equal(watch_probe_kind("postgres:db"), "postgres");
    assert_string_equal(watch_probe_kind("redis:c"), "redis");
    assert_string_equal(watch_probe_kind("registry:http://h"), "registry");
    assert_string_equal(watch_probe_kind("gopher://h"), "unknown");
    assert_string_equal(watch_probe_kind(NULL), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_and_registry_keys),
        cmocka_unit_test(sources),
        cmocka_unit_test(kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
