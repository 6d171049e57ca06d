/* Probe tests against real local processes: a python3 HTTP server on a free loopback
 * port (200, 500, slow, wrong body), listening and closed TCP ports, and exec scripts
 * that exit 0/1/2, die by a signal or hang past the timeout. */
#define _GNU_SOURCE
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "core/pool.h"
#include "probe/probe.h"
#include "probe/probe_batch.h"
#include "probe/probe_impl.h"

static const char server_py[] =
    "import http.server, socketserver, sys, time\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def log_message(self, *a): pass\n"
    "    def answer(self, code, body):\n"
    "        self.send_response(code); self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "    def do_GET(self):\n"
    "        if self.path == '/slow': time.sleep(3)\n"
    "        if self.path == '/hdr': return self.answer(200, self.headers.get('X-Probe', 'none').encode())\n"
    "        if self.path == '/reg/v2/': return self.answer(401, b'{}')\n"
    "        if self.path == '/open/v2/': return self.answer(200, b'{}')\n"
    "        if self.path == '/broken/v2/': return self.answer(500, b'{}')\n"
    "        if self.path == '/fail': return self.answer(500, b'broken')\n"
    "        if self.path == '/moved': return self.answer(301, b'')\n"
    "        if self.path == '/big': return self.answer(200, b'x' * 300000 + b'status: ok')\n"
    "        self.answer(200, b'{\"status\": \"ok\"}')\n"
    "    def do_POST(self): self.answer(201, b'made')\n"
    "    def do_HEAD(self):\n"
    "        self.send_response(200); self.send_header('Content-Length', '5'); self.end_headers()\n"
    "class S(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
    "    daemon_threads = True\n"
    "    def handle_error(self, *a): pass  # probes that connect and hang up\n"
    "s = S(('127.0.0.1', 0), H)\n"
    "open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1]))\n"
    "import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "s.serve_forever()\n";

typedef struct fixture {
    char *dir;
    pid_t server;
    int port;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char script[512], portfile[512];
    f->dir = tu_tempdir();
    snprintf(script, sizeof script, "%s/server.py", f->dir);
    snprintf(portfile, sizeof portfile, "%s/port", f->dir);
    FILE *o = fopen(script, "w");
    fputs(server_py, o);
    fclose(o);
    f->server = fork();
    if (f->server == 0) {
        execlp("python3", "python3", script, portfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !f->port; i++) {
        FILE *p = fopen(portfile, "r");
        if (p) {
            if (fscanf(p, "%d", &f->port) != 1)
                f->port = 0;
            fclose(p);
        } else {
            usleep(50000);
        }
    }
    if (!f->port)
        return -1;
    assert_int_equal(probe_global_init(), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kill(f->server, SIGKILL);
    waitpid(f->server, NULL, 0);
    tu_rmrf(f->dir);
    free(f);
    probe_global_cleanup();
    return 0;
}

static probe_result run(const char *target, int64_t timeout_ms, const char *method, int status, const char *body)
{
    probe_spec spec = {.target = target, .timeout_ms = timeout_ms, .method = method, .expect_status = status,
                       .body_contains = body};
    probe_result r;
    assert_int_equal(probe_run(&spec, &r), 0);
    return r;
}

static void http_status_and_body(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *path, *method;
        int status;
        const char *body;
        probe_state want;
        const char *detail;
    } cases[] = {
        {"/health", NULL, 0, NULL, PROBE_HEALTHY, "HTTP 200"},
        {"/health", NULL, 200, "\"status\": \"ok\"", PROBE_HEALTHY, "HTTP 200"},
        {"/health", NULL, 0, "ready", PROBE_FAILED, "the body does not contain 'ready'"},
        {"/health", NULL, 204, NULL, PROBE_FAILED, "HTTP 200, expected 204"},
        {"/fail", NULL, 0, NULL, PROBE_FAILED, "HTTP 500"},
        {"/moved", NULL, 0, NULL, PROBE_HEALTHY, "HTTP 301"}, /* not followed */
        {"/big", NULL, 0, "status: ok", PROBE_FAILED, "does not contain"}, /* past the 64 KiB kept */
        {"/x", "POST", 201, "made", PROBE_HEALTHY, "HTTP 201"},
        {"/x", "HEAD", 200, NULL, PROBE_HEALTHY, "HTTP 200"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, cases[i].path);
        probe_result r = run(url, 2000, cases[i].method, cases[i].status, cases[i].body);
        if (r.state != cases[i].want || !strstr(r.detail, cases[i].detail))
            fail_msg("case %zu (%s): %s '%s'", i, url, probe_state_name(r.state), r.detail);
    }
}

/* http-header lines reach the service. */
static void http_headers(void **state)
{
    fixture *f = *state;
    char url[128];
    const char *headers[] = {"X-Probe: from-lifeline", "Accept: text/plain"};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hdr", f->port);
    probe_spec spec = {.target = url, .timeout_ms = 2000, .body_contains = "from-lifeline", .headers = headers,
                       .nheaders = 2};
    probe_result r;
    assert_int_equal(probe_run(&spec, &r), 0);
    assert_int_equal(r.state, PROBE_HEALTHY);
    spec.nheaders = 0;
    assert_int_equal(probe_run(&spec, &r), 0);
    assert_int_equal(r.state, PROBE_FAILED);
}

/* A slow answer fails at the timeout, not when the server gets round to it. */
static void http_deadline(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", f->port);
    probe_result r = run(url, 400, NULL, 0, NULL);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "no answer within the timeout"));
    assert_true(r.latency_ms >= 350 && r.latency_ms < 1500);
    /* the URL (which may hold a secret) is not in the detail */
    snprintf(url, sizeof url, "http://user:secret@127.0.0.1:%d/fail", f->port);
    r = run(url, 2000, NULL, 0, NULL);
    assert_null(strstr(r.detail, "secret"));
}

/* registry:URL asks URL/v2/: 200 or 401 (a login wanted) mean it serves. */
static void registry_v2(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *path;
        probe_state want;
        const char *detail;
    } cases[] = {
        {"/reg", PROBE_HEALTHY, "HTTP 401 from /v2/"},
        {"/open/", PROBE_HEALTHY, "HTTP 200 from /v2/"},
        {"/broken", PROBE_FAILED, "HTTP 500 from /v2/, expected 200 or 401"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char url[128];
        snprintf(url, sizeof url, "registry:http://127.0.0.1:%d%s", f->port, cases[i].path);
        probe_result r = run(url, 2000, NULL, 0, NULL);
        if (r.state != cases[i].want || strcmp(r.detail, cases[i].detail))
            fail_msg("case %zu (%s): %s '%s'", i, url, probe_state_name(r.state), r.detail);
    }
}

static int free_port(int *listening)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    if (listening)
        *listening = fd;
    else
        close(fd);
    return ntohs(a.sin_port);
}

static void tcp_open_closed_and_bad(void **state)
{
    fixture *f = *state;
    char url[128];
    int fd;
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", free_port(&fd));
    probe_result r = run(url, 1000, NULL, 0, NULL);
    assert_int_equal(r.state, PROBE_HEALTHY);
    assert_non_null(strstr(r.detail, "connected to 127.0.0.1:"));
    close(fd);
    r = run(url, 1000, NULL, 0, NULL); /* the same port, nobody listening now */
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "Connection refused"));
    snprintf(url, sizeof url, "tcp://localhost:%d", f->port); /* a name, resolved */
    assert_int_equal(run(url, 1000, NULL, 0, NULL).state, PROBE_HEALTHY);
    r = run("tcp://no-such-host.invalid:80", 1000, NULL, 0, NULL);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "resolve no-such-host.invalid"));
    assert_true(r.latency_ms < 1500);
    r = run("tcp://127.0.0.1", 1000, NULL, 0, NULL);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "is not HOST:PORT"));
}

static void exec_exit_codes(void **state)
{
    (void)state;
    static const struct {
        const char *cmd;
        probe_state want;
        const char *detail;
    } cases[] = {
        {"exec:exit 0", PROBE_HEALTHY, "exit 0"},
        {"exec:echo replica lag 12s; exit 1", PROBE_DEGRADED, "exit 1: replica lag 12s"},
        {"exec:printf 'first\\nsecond\\n'; exit 2", PROBE_FAILED, "exit 2: first"},
        {"exec:echo gone >&2; exit 2", PROBE_FAILED, "exit 2: gone"},
        {"exec:kill -9 $$", PROBE_FAILED, "killed by signal 9"},
        {"exec:/nonexistent/check", PROBE_FAILED, "exit 127"},
        {"exec:printf 'a\\033[2Jb\\n'", PROBE_HEALTHY, "a [2Jb"}, /* control characters do not reach a log */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        probe_result r = run(cases[i].cmd, 2000, NULL, 0, NULL);
        if (r.state != cases[i].want || !strstr(r.detail, cases[i].detail))
            fail_msg("case %zu (%s): %s '%s'", i, cases[i].cmd, probe_state_name(r.state), r.detail);
    }
}

/* A hanging check is killed at the deadline with everything it started. */
static void exec_deadline_kills_the_group(void **state)
{
    fixture *f = *state;
    char cmd[600], pidfile[512];
    snprintf(pidfile, sizeof pidfile, "%s/child.pid", f->dir);
    snprintf(cmd, sizeof cmd, "exec:sleep 30 & echo $! > %s; wait", pidfile);
    probe_result r = run(cmd, 500, NULL, 0, NULL);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "no result within the timeout"));
    assert_true(r.latency_ms >= 450 && r.latency_ms < 1500);
    FILE *p = fopen(pidfile, "r");
    assert_non_null(p);
    int pid = 0;
    assert_int_equal(fscanf(p, "%d", &pid), 1);
    fclose(p);
    /* gone, or a zombie waiting for whoever adopted it */
    char stat[64], buf[256] = "";
    snprintf(stat, sizeof stat, "/proc/%d/stat", pid);
    usleep(100000);
    FILE *s = fopen(stat, "r");
    if (s) {
        assert_non_null(fgets(buf, sizeof buf, s));
        fclose(s);
        assert_non_null(strstr(buf, ") Z"));
    }
    /* a check that closes its output and lingers is timed out all the same, and is
     * waited for without spinning on the closed pipe */
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    r = run("exec:exec >/dev/null 2>&1; sleep 30", 500, NULL, 0, NULL);
    getrusage(RUSAGE_SELF, &after);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_true(r.latency_ms < 1500);
    int64_t cpu_us = (after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec) *
                         1000000 +
                     after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec;
    assert_true(cpu_us < 100000);
}

/* In a child: its chatter (redis-server's warnings) off the test's output. */
static void quiet(void)
{
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(nul, 2);
}

static probe_result run_redis(const char *address, const char *password, int64_t timeout_ms)
{
    probe_spec spec = {.target = "redis:cache", .timeout_ms = timeout_ms, .address = address, .password = password};
    probe_result r;
    assert_int_equal(probe_run(&spec, &r), 0);
    return r;
}

/* A real redis-server (with a password), a closed port, and a peer that accepts the
 * connection but never answers: the last fails at the deadline. */
static void redis_ping_role_and_deadline(void **state)
{
    fixture *f = *state;
    if (access("/usr/bin/redis-server", X_OK) != 0)
        skip();
    char address[64], arg[64];
    int port = free_port(NULL);
    snprintf(address, sizeof address, "127.0.0.1:%d", port);
    snprintf(arg, sizeof arg, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        quiet();
        execl("/usr/bin/redis-server", "redis-server", "--port", arg, "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--requirepass", "s3cret", "--dir", f->dir, "--loglevel", "warning",
              (char *)NULL);
        _exit(127);
    }
    probe_result r = {0};
    for (int i = 0; i < 100; i++) { /* until it listens */
        r = run_redis(address, "s3cret", 500);
        if (r.state == PROBE_HEALTHY)
            break;
        usleep(50000);
    }
    assert_int_equal(r.state, PROBE_HEALTHY);
    assert_string_equal(r.detail, "primary");
    r = run_redis(address, "wrong", 1000);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "AUTH: WRONGPASS"));
    assert_null(strstr(r.detail, "wrong")); /* the password is not echoed */
    r = run_redis(address, NULL, 1000);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "PING: NOAUTH"));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    r = run_redis(address, "s3cret", 1000);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "Connection refused"));
    /* a replica whose master is gone answers, degraded */
    char replica[64], arg2[64];
    int port2 = free_port(NULL);
    snprintf(replica, sizeof replica, "127.0.0.1:%d", port2);
    snprintf(arg2, sizeof arg2, "%d", port2);
    pid = fork();
    if (pid == 0) {
        quiet();
        execl("/usr/bin/redis-server", "redis-server", "--port", arg2, "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--replicaof", "127.0.0.1", arg, "--dir", f->dir, "--loglevel", "warning",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        r = run_redis(replica, NULL, 500);
        if (r.state != PROBE_FAILED)
            break;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (r.state != PROBE_DEGRADED || !strstr(r.detail, "replica of 127.0.0.1:") || !strstr(r.detail, ", link conn"))
        fail_msg("replica without its master: %s '%s'", probe_state_name(r.state), r.detail);
    int fd;
    snprintf(address, sizeof address, "127.0.0.1:%d", free_port(&fd)); /* accepts, never answers */
    r = run_redis(address, NULL, 400);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "PING: no answer within the timeout"));
    assert_true(r.latency_ms >= 350 && r.latency_ms < 1500);
    close(fd);
    r = run_redis("unix:/nonexistent/redis.sock", NULL, 400);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "connect to unix:/nonexistent/redis.sock"));
}

static probe_result run_pg(const char *conninfo, int64_t timeout_ms)
{
    probe_spec spec = {.target = "postgres:main-db", .timeout_ms = timeout_ms, .conninfo = conninfo};
    probe_result r;
    assert_int_equal(probe_run(&spec, &r), 0);
    return r;
}

/* Starts a PostgreSQL 15 in dir on port as the postgres user (it refuses root), as
 * tests/system/pg.sh does; 0 when it runs. */
static int pg_start(const char *dir, int port)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "set -e; B=/usr/lib/postgresql/15/bin; test -x $B/postgres; id -u postgres >/dev/null;"
             "mkdir -p %s/pg; chown postgres %s/pg; chmod 755 %s;"
             "R='setpriv --reuid=postgres --regid=postgres --init-groups --';"
             "$R $B/initdb -D %s/pg -A trust -U postgres --no-sync >/dev/null 2>&1;"
             "printf \"listen_addresses='127.0.0.1'\\nport=%d\\nunix_socket_directories='%s/pg'\\nfsync=off\\n\" "
             ">> %s/pg/postgresql.conf;"
             "$R $B/pg_ctl -D %s/pg -l %s/pg/log -w -t 60 start >/dev/null",
             dir, dir, dir, dir, port, dir, dir, dir, dir);
    return system(cmd);
}

/* A real server (primary), a closed port, and a peer that accepts and never answers. */
static void postgres_select_and_deadline(void **state)
{
    fixture *f = *state;
    char conninfo[256], cmd[600];
    int port = free_port(NULL);
    if (pg_start(f->dir, port) != 0)
        skip();
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=postgres dbname=postgres", port);
    probe_result r = run_pg(conninfo, 3000);
    snprintf(cmd, sizeof cmd, "setpriv --reuid=postgres --regid=postgres --init-groups -- /usr/lib/postgresql/15/bin/pg_ctl "
             "-D %s/pg -m immediate -w stop >/dev/null", f->dir);
    assert_int_equal(system(cmd), 0);
    if (r.state != PROBE_HEALTHY || strcmp(r.detail, "primary"))
        fail_msg("running server: %s '%s'", probe_state_name(r.state), r.detail);
    r = run_pg(conninfo, 1000);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "connect: "));
    int fd;
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=postgres", free_port(&fd));
    r = run_pg(conninfo, 400);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "connect: no answer within the timeout"));
    assert_true(r.latency_ms >= 350 && r.latency_ms < 1500);
    close(fd);
    r = run_pg("host=127.0.0.1 port=notaport", 400);
    assert_int_equal(r.state, PROBE_FAILED);
}

/* Checks run side by side: eight 400 ms checks and one that hangs past its 600 ms
 * timeout take about 600 ms on eight threads, not 3.8 s; each result is its own. */
static void checks_run_concurrently(void **state)
{
    (void)state;
    probe_spec specs[10];
    probe_result results[10];
    for (int i = 0; i < 8; i++)
        specs[i] = (probe_spec){.target = i % 2 ? "exec:sleep 0.4; exit 1" : "exec:sleep 0.4", .timeout_ms = 2000};
    specs[8] = (probe_spec){.target = "exec:sleep 30", .timeout_ms = 600};
    specs[9] = (probe_spec){.target = "gopher://x", .timeout_ms = 600};
    pool *p;
    assert_int_equal(pool_new(8, 16, &p), 0);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(probe_run_all(p, specs, 10, results), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    pool_free(&p);
    int64_t ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms < 2000);
    for (int i = 0; i < 8; i++)
        assert_int_equal(results[i].state, i % 2 ? PROBE_DEGRADED : PROBE_HEALTHY);
    assert_int_equal(results[8].state, PROBE_FAILED);
    assert_non_null(strstr(results[8].detail, "timeout"));
    assert_int_equal(results[9].state, PROBE_FAILED);
    assert_non_null(strstr(results[9].detail, "probe 'gopher://x': not a kind"));
}

/* The batch (one thread, a libcurl multi handle and non-blocking connects) gives each
 * check the result and detail probe_run gives it, runs them side by side, and still
 * ends a slow one at its own deadline. */
typedef struct batch_out {
    probe_result r[128];
    atomic_int n;
} batch_out;

static void batch_done(void *ctx, void *tag, const probe_result *r)
{
    batch_out *o = ctx;
    o->r[(probe_result *)tag - o->r] = *r;
    atomic_fetch_add(&o->n, 1);
}

static void batch_round(probe_batch *b, batch_out *o, const probe_spec *specs, size_t n);

static void batch_matches_probe_run(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *path, *method;
        int status;
        const char *body;
    } http[] = {
        {"/health", NULL, 0, NULL},        {"/health", NULL, 200, "\"status\": \"ok\""},
        {"/health", NULL, 0, "ready"},     {"/health", NULL, 204, NULL},
        {"/fail", NULL, 0, NULL},          {"/moved", NULL, 0, NULL},
        {"/big", NULL, 0, "status: ok"},   {"/x", "POST", 201, "made"},
        {"/x", "HEAD", 200, NULL},         {"/reg/v2/", NULL, PROBE_REGISTRY_STATUS, NULL},
        {"/broken/v2/", NULL, PROBE_REGISTRY_STATUS, NULL},
    };
    const char *headers[] = {"X-Probe: from-lifeline"};
    enum { NHTTP = sizeof http / sizeof *http };
    char urls[NHTTP + 6][128];
    probe_spec specs[NHTTP + 6];
    size_t n = 0;
    for (; n < NHTTP; n++) {
        snprintf(urls[n], sizeof urls[n], "http://127.0.0.1:%d%s", f->port, http[n].path);
        specs[n] = (probe_spec){.target = urls[n], .timeout_ms = 2000, .method = http[n].method,
                                .expect_status = http[n].status, .body_contains = http[n].body};
    }
    snprintf(urls[n], sizeof urls[n], "http://127.0.0.1:%d/hdr", f->port);
    specs[n] = (probe_spec){.target = urls[n], .timeout_ms = 2000, .body_contains = "from-lifeline",
                            .headers = headers, .nheaders = 1};
    n++;
    int fd;
    snprintf(urls[n], sizeof urls[n], "tcp://127.0.0.1:%d", free_port(&fd));
    specs[n] = (probe_spec){.target = urls[n], .timeout_ms = 1000};
    n++;
    snprintf(urls[n], sizeof urls[n], "tcp://127.0.0.1:%d", free_port(NULL)); /* refused */
    specs[n] = (probe_spec){.target = urls[n], .timeout_ms = 1000};
    n++;
    specs[n++] = (probe_spec){.target = "http://no-such-host.invalid/", .timeout_ms = 2000};
    snprintf(urls[n], sizeof urls[n], "https://127.0.0.1:%d/health", f->port); /* TLS to plain HTTP */
    specs[n] = (probe_spec){.target = urls[n], .timeout_ms = 2000};
    n++;
    snprintf(urls[n], sizeof urls[n], "http://127.0.0.1:%d/slow", f->port);
    specs[n] = (probe_spec){.target = urls[n], .timeout_ms = 400};
    n++;
    for (size_t i = 0; i < n; i++)
        assert_true(probe_batch_takes(&specs[i]));
    batch_out *o = calloc(1, sizeof *o);
    probe_batch *b;
    assert_int_equal(probe_batch_new(batch_done, o, &b), 0);
    /* twice: the second round runs on the easy handles the first left, failed ones too */
    for (int round = 0; round < 2; round++)
        batch_round(b, o, specs, n);
    close(fd);
    probe_batch_free(&b);
    assert_null(b);
    free(o);
}

static void batch_round(probe_batch *b, batch_out *o, const probe_spec *specs, size_t n)
{
    atomic_store(&o->n, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(probe_batch_submit(b, &specs[i], &o->r[i]), 0);
    probe_batch_kick(b);
    probe_batch_wait(b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(atomic_load(&o->n), (int)n);
    int64_t ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms < 1500); /* side by side: about the slow one's 400 ms */
    for (size_t i = 0; i < n; i++) {
        probe_result want;
        assert_int_equal(probe_run(&specs[i], &want), 0);
        if (o->r[i].state != want.state || strcmp(o->r[i].detail, want.detail))
            fail_msg("case %zu (%s): batch %s '%s', probe_run %s '%s'", i, specs[i].target,
                     probe_state_name(o->r[i].state), o->r[i].detail, probe_state_name(want.state), want.detail);
    }
    probe_result *slow = &o->r[n - 1];
    assert_non_null(strstr(slow->detail, "no answer within the timeout"));
    assert_true(slow->latency_ms >= 350 && slow->latency_ms < 1500);
}

/* More checks than run at once (64) wait their turn and all pass; a batch freed while
 * checks run drops them (nothing leaks, no result comes); kinds that block are not
 * taken. */
static void batch_queue_and_free(void **state)
{
    fixture *f = *state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 256), 0); /* every connect is accepted by the kernel */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    probe_spec spec = {.target = url, .timeout_ms = 2000};
    batch_out *o = calloc(1, sizeof *o);
    probe_batch *b;
    assert_int_equal(probe_batch_new(batch_done, o, &b), 0);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(probe_batch_submit(b, &spec, &o->r[i]), 0);
    probe_batch_kick(b);
    probe_batch_wait(b);
    assert_int_equal(atomic_load(&o->n), 100);
    for (size_t i = 0; i < 100; i++)
        if (o->r[i].state != PROBE_HEALTHY)
            fail_msg("check %zu: %s", i, o->r[i].detail);
    close(fd);
    char slow[128];
    snprintf(slow, sizeof slow, "http://127.0.0.1:%d/slow", f->port);
    probe_spec hang = {.target = slow, .timeout_ms = 5000};
    atomic_store(&o->n, 0);
    assert_int_equal(probe_batch_submit(b, &hang, &o->r[0]), 0);
    probe_batch_kick(b);
    usleep(100000);
    probe_batch_free(&b);
    assert_int_equal(atomic_load(&o->n), 0);
    free(o);
    static const char *const blocking[] = {"exec:true", "redis:cache", "postgres:db", "registry:http://x",
                                           "tcp://localhost:80", "tcp://127.0.0.1", "gopher://x"};
    for (size_t i = 0; i < sizeof blocking / sizeof *blocking; i++) {
        probe_spec s = {.target = blocking[i], .timeout_ms = 1000};
        if (probe_batch_takes(&s))
            fail_msg("the batch takes %s", blocking[i]);
    }
    probe_spec none = {.timeout_ms = 1000};
    assert_false(probe_batch_takes(&none));
}

/* A tags list's Link header: the next page on the same origin, nothing else. */
static void registry_next_link(void **state)
{
    (void)state;
    static const struct {
        const char *value, *want; /* want NULL: refused */
    } cases[] = {
        {" </v2/app/tags/list?last=b&n=2>; rel=\"next\"", "http://r:5000/v2/app/tags/list?last=b&n=2"},
        {"<http://r:5000/v2/app/tags/list?last=b>; rel=\"next\"", "http://r:5000/v2/app/tags/list?last=b"},
        {"</v2/x>; rel=next", "http://r:5000/v2/x"},
        {"</v2/x>; rel=\"prev\"", NULL},                      /* not the next page */
        {"<http://evil:80/v2/x>; rel=\"next\"", NULL},         /* another host */
        {"<http://r:5000.evil/v2/x>; rel=\"next\"", NULL},     /* the origin as a prefix of another */
        {"<//evil/v2/x>; rel=\"next\"", NULL},                 /* scheme-relative: elsewhere */
        {"</v2/a b>; rel=\"next\"", NULL},                     /* a space in the URL */
        {"</v2/x; rel=\"next\"", NULL},                        /* no closing '>' */
        {"rel=\"next\"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[256] = "";
        int rc = probe_registry_next_link(cases[i].value, "http://r:5000", out, sizeof out);
        if (cases[i].want ? rc != 0 || strcmp(out, cases[i].want) : rc != -1)
            fail_msg("case %zu '%s': rc %d, '%s'", i, cases[i].value, rc, out);
    }
    char tiny[16];
    assert_int_equal(probe_registry_next_link("</v2/app/tags/list>; rel=next", "http://r:5000", tiny, sizeof tiny), -1);
}

static void registry_names(void **state)
{
    (void)state;
    static const char *const good[] = {"app", "lib/base", "my-org/web.ui_2", "a__b", "a--b", "x/y/z", "0"};
    static const char *const bad[] = {"", "App", "../etc", "a//b", "/a", "a/", "-a", "a-", "a.", ".a",
                                      "a/.b", "a?b", "a b", "a%2f"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!probe_registry_name_valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (probe_registry_name_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = '\0';
    assert_false(probe_registry_name_valid(longname));
}

/* A spec the probe refuses to build a URL from: failed, without a request. */
static void registry_mirror_bad_spec(void **state)
{
    (void)state;
    const char *repos[] = {"../x"};
    probe_spec spec = {.target = "registry:http://127.0.0.1:1", .timeout_ms = 500, .mirror_of = "http://127.0.0.1:2",
                       .repositories = repos, .nrepositories = 1};
    probe_result r;
    assert_int_equal(probe_run(&spec, &r), 0);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "repository name '../x' is not valid"));
    repos[0] = "app";
    spec.mirror_of = "not a url";
    assert_int_equal(probe_run(&spec, &r), 0);
    assert_int_equal(r.state, PROBE_FAILED);
    assert_non_null(strstr(r.detail, "mirror-of URL unusable"));
}

static void unknown_kinds_are_refused(void **state)
{
    (void)state;
    probe_spec spec = {.target = "ftp://x", .timeout_ms = 100};
    probe_result r;
    assert_int_equal(probe_run(&spec, &r), ERR_USAGE);
    assert_non_null(strstr(err_msg(), "probe 'ftp://x'"));
    spec.timeout_ms = 0;
    spec.target = "exec:true";
    assert_int_equal(probe_run(&spec, &r), ERR_USAGE);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_status_and_body),
        cmocka_unit_test(http_deadline),
        cmocka_unit_test(http_headers),
        cmocka_unit_test(registry_v2),
        cmocka_unit_test(tcp_open_closed_and_bad),
        cmocka_unit_test(exec_exit_codes),
        cmocka_unit_test(exec_deadline_kills_the_group),
        cmocka_unit_test(redis_ping_role_and_deadline),
        cmocka_unit_test(postgres_select_and_deadline),
        cmocka_unit_test(checks_run_concurrently),
        cmocka_unit_test(batch_matches_probe_run),
        cmocka_unit_test(batch_queue_and_free),
        cmocka_unit_test(unknown_kinds_are_refused),
        cmocka_unit_test(registry_next_link),
        cmocka_unit_test(registry_names),
        cmocka_unit_test(registry_mirror_bad_spec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
