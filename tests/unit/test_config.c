/* Unit tests: configuration file. */
#include "testutil.h"

#include <sys/stat.h>

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

/* What the ini reader would change without a word is refused, naming the line: an
 * indented line (a continuation that replaces the value above), " ;" (an inline
 * comment that cuts a command), a line too long for its buffer. */
static void silent_cuts_are_refused(void **state)
{
    (void)state;
    config *c = NULL;
    char longline[400];
    snprintf(longline, sizeof longline, "[repository]\npath = /%0300d\n", 0);
    const struct {
        const char *text, *want;
    } bad[] = {
        {"[repository]\npath = /x\n  /y\n", "h.conf:3: line starts with a space"},
        {"[repository]\npath = /x ; /y\n", "h.conf:2: ' ;' in a value"},
        {longline, "h.conf:2: line longer than"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_parse_string(bad[i].text, "h.conf", &c), ERR_CONFIG);
        if (!strstr(err_msg(), bad[i].want))
            fail_msg("case %zu: '%s' does not say '%s'", i, err_msg(), bad[i].want);
    }
    /* comments, indented or after ';' at the start, and ';' inside a value stay fine */
    assert_int_equal(config_parse_string("; c ; d\n[repository]\n   # note\n\npath = /x;y\n", "h.conf", &c), 0);
    config_free(&c);
    err_clear();
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
        {"[repository]\n\n[watch \"a\"]\nnode = a\n", "f.conf:4", "unknown section [watch \"a\"]"},
        {"[service]\nprobe = tcp://127.0.0.1:1\n", "f.conf:2", "unknown section [service]"},
        {"[notify]\ntype = command\n", "f.conf:2", "unknown section [notify]"},
        {"[watchdog]\nloop = 1s\n", "f.conf:2", "unknown section [watchdog]"},
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
        {"[source \"a\"]\ntype = postgres\nconninfo = postgresql://u:secret@h/db\n", "a",
         "conninfo must not hold a password"},
        {"[source \"a\"]\ntype = postgres\nconninfo = host\n", "a", "conninfo is not a libpq connection string"},
        {"[source \"a\"]\ntype = postgres\nconninfo = host=x\nprimary-conninfo = password=s\n", "a",
         "primary-conninfo must not hold a password"},
        {"[source \"a\"]\ntype = postgres\nconninfo = host=x\narchive-source = a/b\n", "a", "is not a source name"},
        {"[source \"a\"]\ntype = postgres\nconninfo = host=x\nwal-timeout = 2d\n", "a", "wal-timeout '2d'"},
        {"[source \"a\"]\ntype = redis\naddress = x\ntimeout = 0s\n", "a", "timeout '0s' is not a duration"},
        {"[source \"a\"]\ntype = redis\n", "a", "address is missing"},
        {"[source \"a\"]\ntype = redis\naddress = x\nuser = u\n", "a", "user u needs a password-file"},
        {"[source \"a\"]\ntype = redis\naddress = x\nconninfo = y\n", "a", "unknown key 'conninfo' for type redis"},
    };
    /* a word that only contains "password" is no password */
    assert_int_equal(config_parse_string("[source \"a\"]\ntype = postgres\nconninfo = host=x dbname=password_reset\n",
                                         "b.conf", &c), 0);
    assert_int_equal(source_config_pg_get(c, "a", &pg), 0);
    config_free(&c);
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

/* The example, read whole: every key lands where the agent will look. */
static void watch_sections_parse(void **state)
{
    (void)state;
    const char *text = "[watch]\nnode = zone-a-1\nlisten = 127.0.0.1:8008\nstate-dir = /var/lib/lifeline\n"
                       "loop = 1s\nsyslog = udp://siem.example:514\nsyslog-facility = local3\n"
                       "[objectives]\nservices-rto = 10m\nmttr = 15m\n"
                       "[source \"main-db\"]\ntype = postgres\nconninfo = host=/run/pg\n"
                       "[source \"cache\"]\ntype = redis\n"
                       "[service \"db\"]\nprobe = postgres:main-db\n"
                       "[service \"redis\"]\nprobe = redis:cache\n"
                       "[service \"backend\"]\n"
                       "probe = http://127.0.0.1:8080/health   # a comment\n"
                       "interval = 2s\ntimeout = 1s\nfall = 3\nrise = 2\nstart-period = 30s\n"
                       "start-command = docker compose -p production up -d --build backend\n"
                       "stop-command = docker compose -p production stop backend\n"
                       "depends-on = db redis\nmax-recoveries = 3/1h\n"
                       "http-method = HEAD\nhttp-status = 204\nhttp-body = ok\n"
                       "http-header = Host: backend.internal\nhttp-header = X-Probe: 1\n"
                       "[service \"port\"]\nprobe = tcp://[::1]:5432\n"
                       "[service \"script\"]\nprobe = exec:/usr/local/bin/check --quick\nfast-interval = 500ms\n"
                       "[service \"mirror\"]\nprobe = registry:https://mirror.example:5000\n"
                       "mirror-of = https://registry.example/\nrepositories = app lib/base, my-org/web.ui_2\n"
                       "[notify \"oncall\"]\ntype = webhook\nurl = https://hooks.example/x\nformat = pagerduty\n"
                       "events = incident escalation\nafter = 15m\n"
                       "[notify \"ops\"]\ntype = command\ncommand = /usr/local/bin/page\n"
                       "[notify \"mail\"]\ntype = smtp\nurl = smtp://mail.example:25\nto = ops@example\n";
    config *c = NULL;
    assert_int_equal(config_parse_string(text, "w.conf", &c), 0);
    assert_string_equal(c->watch.node, "zone-a-1");
    assert_string_equal(c->watch.listen, "127.0.0.1:8008");
    assert_string_equal(c->watch.state_dir, "/var/lib/lifeline");
    assert_int_equal(c->watch.loop, 1);
    assert_string_equal(c->watch.syslog, "udp://siem.example:514");
    assert_int_equal(c->watch.syslog_facility, 19);
    assert_int_equal(c->objectives.services_rto, 600);
    assert_int_equal(c->objectives.mttr, 900);
    const config_service *b = config_service_find(c, "backend");
    assert_non_null(b);
    assert_string_equal(b->probe, "http://127.0.0.1:8080/health");
    assert_int_equal(b->interval, 2);
    assert_int_equal(b->timeout, 1);
    assert_int_equal(b->fall, 3);
    assert_int_equal(b->rise, 2);
    assert_int_equal(b->start_period, 30);
    assert_int_equal(b->ndeps, 2);
    assert_string_equal(b->depends_on[1], "redis");
    assert_int_equal(b->max_recoveries, 3);
    assert_int_equal(b->recovery_window, 3600);
    assert_null(b->recover_command);
    assert_string_equal(b->http_method, "HEAD");
    assert_int_equal(b->http_status, 204);
    assert_string_equal(b->http_body, "ok");
    assert_int_equal(b->nheaders, 2);
    assert_string_equal(b->http_headers[1], "X-Probe: 1");
    const config_service *p = config_service_find(c, "port");
    assert_int_equal(p->fall, 3); /* defaults */
    assert_int_equal(p->rise, 2);
    assert_int_equal(p->interval, 2);
    assert_int_equal(p->timeout, 1);
    assert_int_equal(p->max_recoveries, 0);
    assert_int_equal(p->fast_interval_ms, 0); /* the agent takes a quarter of interval */
    assert_int_equal(config_service_find(c, "script")->fast_interval_ms, 500);
    assert_int_equal(c->nnotifies, 3);
    assert_int_equal(c->notifies[0].type, NOTIFY_WEBHOOK);
    assert_int_equal(c->notifies[0].format, NOTIFY_PAGERDUTY);
    assert_int_equal(c->notifies[0].after, 900);
    assert_int_equal(c->notifies[0].events, (1u << 0) | (1u << 3));
    assert_int_equal(c->notifies[1].type, NOTIFY_COMMAND);
    assert_int_equal(c->notifies[1].events, 0);
    assert_null(config_service_find(c, "nope"));
    const config_service *m = config_service_find(c, "mirror");
    assert_string_equal(m->mirror_of, "https://registry.example/");
    assert_int_equal(m->nrepositories, 3);
    assert_string_equal(m->repositories[0], "app");
    assert_string_equal(m->repositories[2], "my-org/web.ui_2");
    assert_null(b->mirror_of);
    config_free(&c);
}

/* Every wrong key or value of the watch sections names the file, the line and why. */
static void watch_sections_refuse_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"[watch]\nnodes = a\n", "w.conf:2", "unknown key 'nodes' in [watch]"},
        {"[watch]\nloop = soon\n", "w.conf:2", "loop:"},
        {"[watch]\nloop = 0s\n", "w.conf:2", "loop: '0s' must be at least 1s"},
        {"[watch]\nlisten = 8008\n", "w.conf:2", "listen: '8008' is not HOST:PORT"},
        {"[watch]\nlisten = host:99999\n", "w.conf:2", "is not HOST:PORT"},
        {"[watch]\nnode =\n", "w.conf:2", "node: empty value"},
        {"[watch]\nsyslog = on\n", "w.conf:2", "syslog: 'on' is not off, local, udp://HOST:PORT or unix:PATH"},
        {"[watch]\nsyslog = udp://siem\n", "w.conf:2", "syslog: 'udp://siem' is not udp://HOST:PORT"},
        {"[watch]\nsyslog = unix:dev/log\n", "w.conf:2", "unix:PATH needs an absolute path"},
        {"[watch]\nsyslog-facility = kern\n", "w.conf:2", "syslog-facility: 'kern' is not one of"},
        {"[watch]\nsyslog-facility = local9\n", "w.conf:2", "syslog-facility: 'local9'"},
        {"[objectives]\nrto = 10m\n", "w.conf:2", "unknown key 'rto' in [objectives]"},
        {"[objectives]\nmttr = 15 minutes\n", "w.conf:2", "mttr:"},
        {"[service \"a\"]\nprobe = tcp://h:1\nprobes = x\n", "w.conf:3", "unknown key 'probes' in [service \"a\"]"},
        {"[service \"a\"]\nprobe = ftp://h/\n", "w.conf:2", "probe: 'ftp://h/' is not http://"},
        {"[service \"a\"]\nprobe = http://\n", "w.conf:2", "probe: 'http://' has no host"},
        {"[service \"a\"]\nprobe = https:///health\n", "w.conf:2", "has no host"},
        {"[service \"a\"]\nprobe = registry:ftp://x\n", "w.conf:2", "registry:'ftp://x' is not an http://"},
        {"[service \"a\"]\nprobe = registry:tcp://h:1\n", "w.conf:2", "registry:'tcp://h:1' is not"},
        {"[service \"a\"]\nprobe = registry:exec:true\n", "w.conf:2", "registry:'exec:true' is not"},
        {"[service \"a\"]\nprobe = tcp://host\n", "w.conf:2", "is not tcp://HOST:PORT"},
        {"[service \"a\"]\nprobe = tcp://:80\n", "w.conf:2", "is not tcp://HOST:PORT"},
        {"[service \"a\"]\nprobe = tcp://h:0\n", "w.conf:2", "is not tcp://HOST:PORT"},
        {"[service \"a\"]\nprobe = tcp://h:65536\n", "w.conf:2", "is not tcp://HOST:PORT"},
        {"[service \"a\"]\nprobe = exec:\n", "w.conf:2", "names nothing after 'exec:'"},
        {"[service \"a\"]\nprobe = postgres:\n", "w.conf:2", "names nothing after 'postgres:'"},
        {"[service \"a\"]\nprobe = postgres:db\n", "w.conf:2", "no [source \"db\"] in this file"},
        {"[source \"db\"]\ntype = redis\n[service \"a\"]\nprobe = postgres:db\n", "w.conf:4",
         "[source \"db\"] is of type redis, not postgres"},
        {"[source \"db\"]\ntype = postgres\n[service \"a\"]\nprobe = redis:db\n", "w.conf:4",
         "is of type postgres, not redis"},
        {"[service \"a\"]\ninterval = 2s\n", "w.conf:2", "[service \"a\"] has no probe"},
        {"[service \"a\"]\nprobe = tcp://h:1\ninterval = 2s\ntimeout = 3s\n", "w.conf:4",
         "timeout (3s) is longer than interval (2s)"},
        {"[service \"a\"]\nprobe = tcp://h:1\ntimeout = 5s\n", "w.conf:3", "timeout (5s) is longer than interval (2s)"},
        {"[service \"a\"]\nprobe = tcp://h:1\ntimeout = 1m\ninterval = 30s\n", "w.conf:3", "is longer than"},
        {"[service \"a\"]\nprobe = tcp://h:1\ninterval = 0\n", "w.conf:3", "interval:"},
        {"[service \"a\"]\nprobe = tcp://h:1\nfast-interval = 3s\n", "w.conf:3",
         "fast-interval (3000ms) is longer than interval (2s)"},
        {"[service \"a\"]\nprobe = tcp://h:1\nfast-interval = 50ms\n", "w.conf:3", "'50ms' must be at least 100ms"},
        {"[service \"a\"]\nprobe = tcp://h:1\nfast-interval = 1.5s\n", "w.conf:3", "fast-interval:"},
        {"[service \"a\"]\nprobe = tcp://h:1\nfast-interval = xms\n", "w.conf:3", "'xms' is not a duration"},
        {"[service \"a\"]\nprobe = tcp://h:1\nfast-interval = ms\n", "w.conf:3", "fast-interval:"},
        {"[service \"a\"]\nprobe = tcp://h:1\nfall = 0\n", "w.conf:3", "fall: '0' is not a whole number from 1"},
        {"[service \"a\"]\nprobe = tcp://h:1\nrise = -1\n", "w.conf:3", "rise: '-1'"},
        {"[service \"a\"]\nprobe = tcp://h:1\nrise = 2x\n", "w.conf:3", "rise: '2x'"},
        {"[service \"a\"]\nprobe = tcp://h:1\nstart-period = a while\n", "w.conf:3", "start-period:"},
        {"[service \"a\"]\nprobe = tcp://h:1\nmax-recoveries = 3\n", "w.conf:3", "is not N/INTERVAL"},
        {"[service \"a\"]\nprobe = tcp://h:1\nmax-recoveries = 0/1h\n", "w.conf:3", "N from 1 to 1000"},
        {"[service \"a\"]\nprobe = tcp://h:1\nmax-recoveries = 3/\n", "w.conf:3", "max-recoveries:"},
        {"[service \"a\"]\nprobe = tcp://h:1\nmax-recoveries = 3/0s\n", "w.conf:3", "must be at least 1s"},
        {"[service \"a\"]\nprobe = tcp://h:1\nstart-command =\n", "w.conf:3", "start-command: empty value"},
        {"[service \"a\"]\nprobe = tcp://h:1\ndepends-on = b\n", "w.conf:3", "no [service \"b\"] in this file"},
        {"[service \"a\"]\nprobe = tcp://h:1\ndepends-on = a\n", "w.conf:3", "depends on itself"},
        {"[service \"a\"]\nprobe = tcp://h:1\ndepends-on = b\n[service \"b\"]\nprobe = tcp://h:1\n"
         "depends-on = c\n[service \"c\"]\nprobe = tcp://h:1\ndepends-on = a\n",
         "w.conf:9", "depends-on: a cycle: a -> b -> c -> a"},
        {"[service \"x\"]\nprobe = tcp://h:1\ndepends-on = a\n[service \"a\"]\nprobe = tcp://h:1\n"
         "depends-on = b\n[service \"b\"]\nprobe = tcp://h:1\ndepends-on = a\n",
         "w.conf:9", "a cycle: a -> b -> a"},
        {"[service \"a\"]\nprobe = http://h/\nmirror-of = http://u/\nrepositories = app\n", "w.conf:4",
         "mirror-of needs a registry: probe"},
        {"[service \"a\"]\nprobe = registry:http://h/\nmirror-of = http://u/\n", "w.conf:3",
         "mirror-of needs repositories"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = app\n", "w.conf:3",
         "repositories without mirror-of"},
        {"[service \"a\"]\nprobe = registry:http://h/\nmirror-of = ftp://u/\n", "w.conf:3",
         "mirror-of: 'ftp://u/' is not an http:// or https:// URL"},
        {"[service \"a\"]\nprobe = registry:http://h/\nmirror-of = http://\n", "w.conf:3", "mirror-of: 'http://'"},
        {"[service \"a\"]\nprobe = registry:http://h/\nmirror-of = http://u/\nrepositories = App\n", "w.conf:4",
         "repositories: 'App' is not a repository name"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = ../etc\n", "w.conf:3", "'../etc' is not"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = a//b\n", "w.conf:3", "'a//b' is not"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = a/\n", "w.conf:3", "'a/' is not"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = a-\n", "w.conf:3", "'a-' is not"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = a?b\n", "w.conf:3", "'a?b' is not"},
        {"[service \"a\"]\nprobe = registry:http://h/\nrepositories = ,\n", "w.conf:3",
         "repositories: empty value"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-method = get\n", "w.conf:3", "http-method: 'get' is not a method"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-status = 99\n", "w.conf:3", "http-status: '99' is not an HTTP status"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-status = 600\n", "w.conf:3", "http-status: '600'"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-body =\n", "w.conf:3", "http-body: empty value"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-header = x\n", "w.conf:3", "http-header: 'x' is not 'Name: value'"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-header = : v\n", "w.conf:3", "is not 'Name: value'"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-header = X Y: v\n", "w.conf:3", "is not 'Name: value'"},
        {"[service \"a\"]\nprobe = http://h/\nhttp-headers = X: v\n", "w.conf:3", "unknown key 'http-headers'"},
        {"[service \"a\"]\nprobe = tcp://h:1\nhttp-status = 200\n", "w.conf:3", "need an http(s):// probe"},
        {"[notify \"n\"]\ntype = pager\n", "w.conf:2", "type: unknown value 'pager'"},
        {"[notify \"n\"]\ntype = webhook\nformat = xml\n", "w.conf:3", "format: unknown value 'xml'"},
        {"[notify \"n\"]\ntype = webhook\nurl = ftp://x\n", "w.conf:3", "url: 'ftp://x' is not"},
        {"[notify \"n\"]\ntype = webhook\nurl = http://x\nevents = incident lunch\n", "w.conf:4",
         "events: unknown event 'lunch'"},
        {"[notify \"n\"]\ntype = webhook\nurl = http://x\nafter = later\n", "w.conf:4", "after:"},
        {"[notify \"n\"]\ntype = webhook\nurl = http://x\nchannel = x\n", "w.conf:4",
         "unknown key 'channel' in [notify \"n\"]"},
        {"[notify \"n\"]\nurl = http://x\n", "w.conf:2", "[notify \"n\"] has no type"},
        {"[notify \"n\"]\ntype = webhook\n", "w.conf:2", "has neither url nor url-file"},
        {"[notify \"n\"]\ntype = webhook\nurl = http://x\nurl-file = /etc/hostname\n", "w.conf:2",
         "url and url-file exclude each other"},
        {"[notify \"n\"]\ntype = webhook\nurl-file = /nonexistent/url\n", "w.conf:2",
         "url-file /nonexistent/url: No such file"},
        {"[notify \"n\"]\ntype = webhook\nurl-file = /tmp\n", "w.conf:2", "not a regular file"},
        {"[notify \"n\"]\ntype = command\n", "w.conf:2", "of type command has no command"},
        {"[notify \"n\"]\ntype = smtp\nurl = smtp://m:25\n", "w.conf:2", "of type smtp has no 'to'"},
        {"[notify \"n\"]\ntype = command\ncommand = x\nfallback = m\n", "w.conf:4", "fallback: no [notify \"m\"]"},
        {"[notify \"n\"]\ntype = command\ncommand = x\nfallback = n\n", "w.conf:4", "falls back on itself"},
        {"[notify \"a\"]\ntype = command\ncommand = x\nfallback = b\n[notify \"b\"]\ntype = command\ncommand = x\n"
         "fallback = a\n", "w.conf:4", "[notify \"a\"] is in a cycle of fallbacks"},
        {"[notify \"n\"]\ntype = command\ncommand = x\nseverity = major\n", "w.conf:4", "severity: unknown value"},
        {"[notify \"n\"]\ntype = command\ncommand = x\nmax-age = 0s\n", "w.conf:4", "max-age: '0s' must be"},
        {"[notify \"n\"]\ntype = command\ncommand = x\ntimeout = soon\n", "w.conf:4", "timeout:"},
        {"[notify \"n\"]\ntype = webhook\nurl = http://x\nuser = u\n", "w.conf:2", "user and password-file are for"},
        {"[notify \"n\"]\ntype = smtp\nurl = smtp://m\nto = a@b\npassword-file = /etc/hostname\n", "w.conf:2",
         "password-file without user"},
        {"[notify \"n\"]\ntype = webhook\nurl = http://x\nrouting-key-file = /etc/hostname\n", "w.conf:2",
         "routing-key-file is for type webhook with format pagerduty"},
        {"[notify \"n\"]\ntype = webhook\nformat = pagerduty\nrouting-key-file = /nonexistent/key\n", "w.conf:2",
         "routing-key-file /nonexistent/key: No such file"},
        {"[notify \"n\"]\ntype = smtp\nurl = smtp://m\nto = a@b\nuser = u\npassword-file = /nonexistent/pw\n",
         "w.conf:2", "password-file /nonexistent/pw: No such file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        config *c = NULL;
        int rc = config_parse_string(bad[i].text, "w.conf", &c);
        if (rc != ERR_CONFIG || !strstr(err_msg(), bad[i].where) || !strstr(err_msg(), bad[i].what))
            fail_msg("case %zu: rc %d, message '%s', expected '%s: ...%s'", i, rc, err_msg(), bad[i].where,
                     bad[i].what);
        assert_null(c);
    }
}

/* url-file: the secret URL's own file; accepted when it exists (a warning when others may read it). */
/* The keys beyond the example: fallback, max-age, timeout, severity, smtp's
 * login, pagerduty's routing key and default URL. */
static void notify_more_keys(void **state)
{
    (void)state;
    config *c = NULL;
    assert_int_equal(config_parse_string("[notify \"pd\"]\ntype = webhook\nformat = pagerduty\n"
                                         "routing-key-file = /etc/hostname\nfallback = mail\nmax-age = 2h\n"
                                         "timeout = 5s\nseverity = warning\n"
                                         "[notify \"mail\"]\ntype = smtp\nurl = smtps://m:465\nto = a@b c@d\n"
                                         "user = u\npassword-file = /etc/hostname\n",
                                         "m.conf", &c),
                     0);
    const config_notify *pd = &c->notifies[0], *mail = &c->notifies[1];
    assert_null(pd->url); /* the default is notify's */
    assert_string_equal(pd->routing_key_file, "/etc/hostname");
    assert_string_equal(pd->fallback, "mail");
    assert_int_equal(pd->max_age, 7200);
    assert_int_equal(pd->timeout, 5);
    assert_int_equal(pd->severity, NOTIFY_SEV_WARNING);
    assert_int_equal(mail->severity, NOTIFY_SEV_INFO);
    assert_string_equal(mail->user, "u");
    assert_string_equal(mail->password_file, "/etc/hostname");
    config_free(&c);
}

static void notify_url_file(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), path[512], text[1024];
    snprintf(path, sizeof path, "%s/url", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("https://hooks.example/secret\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    snprintf(text, sizeof text, "[notify \"n\"]\ntype = webhook\nurl-file = %s\n", path);
    config *c = NULL;
    assert_int_equal(config_parse_string(text, "u.conf", &c), 0);
    assert_string_equal(c->notifies[0].url_file, path);
    assert_null(c->notifies[0].url);
    config_free(&c);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(config_parse_string(text, "u.conf", &c), 0); /* warns, still loads */
    config_free(&c);
    tu_rmrf(dir);
}

/* The HA sections of the example, and what they refuse. */
static void ha_sections(void **state)
{
    (void)state;
    static const char ok[] = "[coordination]\nbackend = etcd\nendpoints = http://10.0.0.1:2379 http://10.0.0.2:2379\n"
                             "ttl = 10s\n[postgres \"main-db\"]\nmembers = pg-a pg-b\nsynchronous = on\n"
                             "maximum-lag-on-failover = 1MB\non-role-change = /bin/true\n"
                             "[member \"pg-a\"]\nnode = zone-a-1\nconninfo = host=10.0.0.1 port=5432 user=lifeline\n"
                             "data-dir = /d\nbin-dir = /usr/lib/postgresql/15/bin\npriority = 0\n"
                             "[member \"pg-b\"]\nnode = zone-b-1\nconninfo = host=10.0.0.2\n";
    config *c = NULL;
    assert_int_equal(config_parse_string(ok, "h.conf", &c), 0);
    assert_int_equal(c->coord.backend, COORD_ETCD);
    assert_int_equal(c->coord.nendpoints, 2);
    assert_int_equal(c->coord.ttl_ms, 10000);
    const config_pg_group *g = config_pg_group_find(c, "main-db");
    assert_non_null(g);
    assert_int_equal(g->nmembers, 2);
    assert_int_equal(g->synchronous, SYNC_ON);
    assert_int_equal(g->max_lag, 1u << 20);
    const config_member *m = config_member_find(c, "pg-a");
    assert_int_equal(m->priority, 0);
    assert_string_equal(m->group, "main-db");
    assert_int_equal(config_member_find(c, "pg-b")->priority, 100);
    config_free(&c);
    /* no ttl: the measured default, not the example's 10 s */
    assert_int_equal(config_parse_string("[coordination]\nbackend = local\n[postgres \"g\"]\nmembers = a\n"
                                         "[member \"a\"]\nnode = n\nconninfo = host=h\n", "d.conf", &c), 0);
    assert_int_equal(c->coord.ttl_ms, 4000);
    config_free(&c);
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"[coordination]\nbackend = zk\n", "h.conf:2", "backend: 'zk' is not local or etcd"},
        {"[coordination]\nbackend = etcd\n", "h.conf:2", "backend = etcd needs endpoints"},
        {"[coordination]\nendpoints = 10.0.0.1:2379\n", "h.conf:2", "is not an http:// or https:// URL"},
        {"[coordination]\nttl = 1s\n", "h.conf:2", "ttl: '1s' is not from 2s to 5m"},
        {"[postgres \"g\"]\nsynchronous = yes\n", "h.conf:2", "synchronous: 'yes' is not off, on or strict"},
        {"[postgres \"g\"]\nmaximum-lag-on-failover = lots\n", "h.conf:2", "is not a size"},
        {"[postgres \"g\"]\nmembers = a\n", "h.conf:2", "no [member \"a\"] in this file"},
        {"[postgres \"g\"]\nmembers = a a\n[member \"a\"]\nnode = n\nconninfo = host=x\n", "h.conf:2",
         "'a' is named twice"},
        {"[member \"a\"]\nnode = n\nconninfo = host=x\n", "h.conf:2", "is in no [postgres] group"},
        {"[postgres \"g\"]\nmembers = a\n[member \"a\"]\nconninfo = host=x\n", "h.conf:4", "has no node"},
        {"[member \"a\"]\nconninfo = host=x password=s3cret\n", "h.conf:2", "has a password"},
        {"[member \"a\"]\nconninfo = host='x\n", "h.conf:2", "conninfo:"},
        {"[member \"a\"]\npriority = 1001\n", "h.conf:2", "priority: '1001'"},
        {"[member \"a\"]\nport = 5\n", "h.conf:2", "unknown key 'port' in [member \"a\"]"},
        {"[postgres \"g\"]\nmembers = a\nbackup-source = nope\n[member \"a\"]\nnode = n\nconninfo = host=x\n",
         "h.conf:2", "backup-source: no [source \"nope\"]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = config_parse_string(bad[i].text, "h.conf", &c);
        if (rc != ERR_CONFIG || !strstr(err_msg(), bad[i].where) || !strstr(err_msg(), bad[i].what))
            fail_msg("case %zu: rc %d, message '%s', expected '%s: ...%s'", i, rc, err_msg(), bad[i].where,
                     bad[i].what);
        assert_null(c);
    }
    uint64_t v;
    assert_int_equal(ha_config_parse_size("16MiB", &v), 0);
    assert_int_equal(v, 16u << 20);
    assert_int_equal(ha_config_parse_size("512kB", &v), 0);
    assert_int_equal(v, 512u * 1024);
    assert_int_equal(ha_config_parse_size("0", &v), 0);
    assert_int_equal(ha_config_parse_size("-1MB", &v), -1);
    assert_int_equal(ha_config_parse_size("99999999999TB", &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_documented_example),
        cmocka_unit_test(errors_name_file_and_line), cmocka_unit_test(silent_cuts_are_refused),
        cmocka_unit_test(section_kinds_are_checked), cmocka_unit_test(ha_sections),
        cmocka_unit_test(source_sections_by_type),
        cmocka_unit_test(watch_sections_parse),
        cmocka_unit_test(watch_sections_refuse_bad_input),
        cmocka_unit_test(notify_url_file),
        cmocka_unit_test(notify_more_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
