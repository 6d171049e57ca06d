/* Unit tests: configuration file. */
#include "testutil.h"

#include "config/config.h"
#include "config/source_config.h"

static void parses_the_documented_example(void **state)
{
    (void)state;
    const char *text = "[repository]\n"
                       "path = /var/backups/lifeline\n"
                       "password-file = /etc/lifeline/repo.pass\n"
                       "\n"
                       "[retention \"financial\"]\n"
                       "keep-within = 7y\n"
                       "lock = 7y\n"
                       "\n"
                       "[retention \"user-projects\"]\n"
                       "keep-within = 3y\n"
                       "keep-daily = 30   # inline comment\n"
                       "keep-within-weekly = 1y\n"
                       "keep-within-hourly = 2d\n"
                       "[source \"cache\"]\n"
                       "type = redis\n";
    config *c;
    assert_int_equal(config_parse_string(text, "test.conf", &c), 0);
    assert_string_equal(c->repo_path, "/var/backups/lifeline");
    assert_string_equal(c->password_file, "/etc/lifeline/repo.pass");
    const config_class *f = config_class_find(c, "financial");
    assert_non_null(f);
    assert_int_equal(f->lock, 7LL * 365 * 86400);
    assert_int_equal(f->policy.keep_within, 7LL * 365 * 86400);
    const config_class *u = config_class_find(c, "user-projects");
    assert_int_equal(u->policy.keep_daily, 30);
    assert_int_equal(u->policy.keep_within_period[RETENTION_WEEKLY], 365LL * 86400);
    assert_int_equal(u->policy.keep_within_period[RETENTION_HOURLY], 2LL * 86400);
    assert_int_equal(u->policy.keep_within_period[RETENTION_DAILY], 0);
    assert_null(config_class_find(c, "nope"));
    assert_string_equal(config_source_get(config_source_find(c, "cache"), "type"), "redis");
    config_free(&c);
    assert_null(c);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    config *c = NULL;
    assert_int_equal(config_parse_string("[repository]\npath = /x\nkeep = 3\n", "a.conf", &c), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "a.conf:3"));
    assert_non_null(strstr(err_msg(), "keep"));
    assert_int_equal(config_parse_string("[retention \"x\"]\nlock = forever\n", "b.conf", &c), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "b.conf:2"));
    assert_int_equal(config_parse_string("[retention \"x\"]\nkeep-daily = -1\n", "c.conf", &c), ERR_CONFIG);
    assert_int_equal(config_parse_string("[retention \"x\"]\nkeep-within-daily = soon\n", "c.conf", &c), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "keep-within-daily"));
    assert_int_equal(config_parse_string("[mystery]\na = b\n", "d.conf", &c), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "unknown section"));
    assert_int_equal(config_parse_string("this is not ini\n", "e.conf", &c), ERR_CONFIG);
    assert_int_equal(config_load("/nonexistent/lifeline.conf", &c), ERR_CONFIG);
    assert_null(c);
}

/* Each section kind is named ([retention "X"]) or not ([repository]); the other form,
 * a kind not (yet) known, and a key of one kind in another are all errors with the line. */
static void section_kinds_are_checked(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"[repository \"x\"]\npath = /x\n", "f.conf:2", "unknown section [repository \"x\"]"},
        {"[retention]\nkeep-daily = 3\n", "f.conf:2", "unknown section [retention]"},
        {"[source]\ntype = redis\n", "f.conf:2", "unknown section [source]"},
        {"[repository]\n\n[watch]\nnode = a\n", "f.conf:4", "unknown section [watch]"},
        {"[service \"web\"]\nprobe = tcp://127.0.0.1:1\n", "f.conf:2", "unknown section [service \"web\"]"},
        {"[retention \"x\"]\npath = /x\n", "f.conf:2", "unknown key 'path' in a retention section"},
        {"[repository]\nkeep-daily = 3\n", "f.conf:2", "unknown key 'keep-daily' in [repository]"},
        {"[retention \"\"]\nkeep-daily = 3\n", "f.conf:2", "malformed section name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        config *c = NULL;
        assert_int_equal(config_parse_string(bad[i].text, "f.conf", &c), ERR_CONFIG);
        assert_null(c);
        assert_non_null(strstr(err_msg(), bad[i].where));
        assert_non_null(strstr(err_msg(), bad[i].what));
    }
    config *c = NULL;
    assert_int_equal(config_parse_string("[repository]\nkey-file = /k\n[repository]\npath = /r\n", "g.conf", &c), 0);
    assert_string_equal(c->key_file, "/k");
    assert_string_equal(c->repo_path, "/r");
    config_free(&c);
}

/* Source sections read as their type's options, for both front ends. */
static void source_sections_by_type(void **state)
{
    (void)state;
    const char *text = "[source \"db\"]\ntype = postgres\nconninfo = host=/run/pg\nwal-timeout = 2min\n"
                       "class = gold\n"
                       "[source \"dump\"]\ntype = pg_dump\nconninfo = dbname=x\n"
                       "[source \"cache\"]\ntype = redis\naddress = 127.0.0.1:6379\nuser = u\n"
                       "password-file = /p\ntimeout = 5s\ndata-dir = /d\n";
    config *c;
    assert_int_equal(config_parse_string(text, "s.conf", &c), 0);
    const char *type;
    assert_int_equal(source_config_type(c, "cache", &type), 0);
    assert_string_equal(type, "redis");
    source_config_pg pg;
    int secs = 0;
    assert_int_equal(source_config_pg_get(c, "db", &pg), 0);
    assert_string_equal(pg.conninfo, "host=/run/pg");
    assert_string_equal(pg.class_name, "gold");
    assert_int_equal(pg.is_dump, 0);
    assert_int_equal(source_config_pg_wal_timeout(c, &pg, &secs), 0);
    assert_int_equal(secs, 120);
    assert_int_equal(source_config_pg_get(c, "dump", &pg), 0);
    assert_int_equal(pg.is_dump, 1);
    assert_int_equal(source_config_pg_wal_timeout(c, &pg, &secs), 0);
    assert_int_equal(secs, 60);
    source_config_redis rs;
    assert_int_equal(source_config_redis_get(c, "cache", &rs), 0);
    assert_string_equal(rs.address, "127.0.0.1:6379");
    assert_string_equal(rs.password_file, "/p");
    assert_int_equal(rs.timeout, 5);
    assert_null(rs.stop_cmd);
    assert_int_equal(source_config_redis_get(c, "nope", &rs), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "no source 'nope' in s.conf"));
    config_free(&c);
    assert_int_equal(source_config_type(NULL, "x", &type), ERR_CONFIG);
    assert_non_null(strstr(err_msg(), "(no configuration file)"));

    static const struct {
        const char *text, *name, *what;
    } bad[] = {
        {"[source \"a\"]\ntype = mysql\n", "a", "type must be postgres, pg_dump or redis (is mysql)"},
        {"[source \"a\"]\naddress = x\n", "a", "type must be postgres, pg_dump or redis (is not set)"},
        {"[source \"a\"]\ntype = postgres\nconinfo = x\n", "a", "unknown key 'coninfo' for type postgres"},
        {"[source \"a\"]\ntype = postgres\n", "a", "conninfo is missing"},
        {"[source \"a\"]\ntype = postgres\nconninfo = password=s\n", "a", "conninfo must not hold a password"},
        {"[source \"a\"]\ntype = postgres\nconninfo = x\nprimary-conninfo = password=s\n", "a",
         "primary-conninfo must not hold a password"},
        {"[source \"a\"]\ntype = postgres\nconninfo = x\narchive-source = a/b\n", "a", "is not a source name"},
        {"[source \"a\"]\ntype = postgres\nconninfo = x\nwal-timeout = 2d\n", "a", "wal-timeout '2d'"},
        {"[source \"a\"]\ntype = redis\naddress = x\ntimeout = 0s\n", "a", "timeout '0s' is not a duration"},
        {"[source \"a\"]\ntype = redis\n", "a", "address is missing"},
        {"[source \"a\"]\ntype = redis\naddress = x\nuser = u\n", "a", "user u needs a password-file"},
        {"[source \"a\"]\ntype = redis\naddress = x\nconninfo = y\n", "a", "unknown key 'conninfo' for type redis"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_parse_string(bad[i].text, "b.conf", &c), 0);
        int rc = source_config_type(c, bad[i].name, &type);
        if (!rc && !strcmp(type, "redis"))
            rc = source_config_redis_get(c, bad[i].name, &rs);
        else if (!rc && !(rc = source_config_pg_get(c, bad[i].name, &pg)))
            rc = source_config_pg_wal_timeout(c, &pg, &secs);
        assert_int_equal(rc, ERR_CONFIG);
        assert_non_null(strstr(err_msg(), "source 'a' in b.conf"));
        assert_non_null(strstr(err_msg(), bad[i].what));
        config_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_documented_example),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(section_kinds_are_checked),
        cmocka_unit_test(source_sections_by_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
