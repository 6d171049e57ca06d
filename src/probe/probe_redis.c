/* probe_redis — redis:SOURCE passes when the server answers PING (after AUTH when the
 * source has a password) and says its ROLE; a replica whose link to its master is not
 * up is degraded. The connection is probe_tcp_connect's and the commands are written
 * and read here with poll, hiredis only formatting and parsing, so the whole exchange
 * keeps the deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <hiredis.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe_impl.h"

typedef struct session {
    int fd;
    redisReader *reader;
    int64_t deadline_ms;
    probe_result *out;
} session;

static int wait_for(session *s, short events)
{
    int64_t left = s->deadline_ms - probe_now_ms();
    if (left <= 0)
        return -1;
    struct pollfd p = {.fd = s->fd, .events = events};
    int n;
    do
        n = poll(&p, 1, left > 600000 ? 600000 : (int)left);
    while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

static int lost(session *s, const char *what)
{
    if (probe_now_ms() >= s->deadline_ms)
        return probe_set(s->out, PROBE_FAILED, "%s: no answer within the timeout", what), -1;
    return probe_set(s->out, PROBE_FAILED, "%s: connection lost", what), -1;
}

/* Sends one command and reads its reply (freed by the caller); -1 with out set. */
static int call(session *s, const char *what, redisReply **reply, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0)
        return probe_set(s->out, PROBE_FAILED, "out of memory"), -1;
    for (int sent = 0; sent < len;) {
        ssize_t n = write(s->fd, cmd + sent, (size_t)(len - sent));
        if (n > 0)
            sent += (int)n;
        else if ((n < 0 && errno != EAGAIN && errno != EINTR) || wait_for(s, POLLOUT)) {
            redisFreeCommand(cmd);
            return lost(s, what);
        }
    }
    redisFreeCommand(cmd);
    void *r = NULL;
    while (redisReaderGetReply(s->reader, &r) == REDIS_OK && !r) {
        char buf[4096];
        ssize_t n = read(s->fd, buf, sizeof buf);
        if (n > 0)
            redisReaderFeed(s->reader, buf, (size_t)n);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR) || wait_for(s, POLLIN))
            return lost(s, what);
    }
    if (!r)
        return probe_set(s->out, PROBE_FAILED, "%s: not a Redis answer", what), -1;
    *reply = r;
    if ((*reply)->type == REDIS_REPLY_ERROR) {
        probe_set(s->out, PROBE_FAILED, "%s: %s", what, (*reply)->str);
        freeReplyObject(*reply);
        return -1;
    }
    return 0;
}

/* ROLE: master; slave HOST PORT STATE OFFSET; sentinel. */
static void judge_role(const redisReply *role, probe_result *out)
{
    if (role->type != REDIS_REPLY_ARRAY || role->elements < 1 || role->element[0]->type != REDIS_REPLY_STRING) {
        probe_set(out, PROBE_FAILED, "ROLE: an answer of an unknown shape");
        return;
    }
    const char *name = role->element[0]->str;
    if (!strcmp(name, "slave") && role->elements >= 4 && role->element[3]->type == REDIS_REPLY_STRING) {
        const char *link = role->element[3]->str;
        probe_set(out, strcmp(link, "connected") ? PROBE_DEGRADED : PROBE_HEALTHY, "replica of %s:%lld, link %s",
                  role->element[1]->type == REDIS_REPLY_STRING ? role->element[1]->str : "?",
                  role->element[2]->type == REDIS_REPLY_INTEGER ? role->element[2]->integer : 0LL, link);
        return;
    }
    probe_set(out, PROBE_HEALTHY, "%s", !strcmp(name, "master") ? "primary" : name);
}

static void exchange(session *s, const probe_spec *spec)
{
    redisReply *r;
    if (spec->password) {
        int rc = spec->user ? call(s, "AUTH", &r, "AUTH %s %s", spec->user, spec->password)
                            : call(s, "AUTH", &r, "AUTH %s", spec->password);
        if (rc)
            return;
        freeReplyObject(r);
    }
    if (call(s, "PING", &r, "PING"))
        return;
    int pong = r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
    freeReplyObject(r);
    if (!pong) {
        probe_set(s->out, PROBE_FAILED, "PING: no PONG");
        return;
    }
    if (call(s, "ROLE", &r, "ROLE"))
        return;
    judge_role(r, s->out);
    freeReplyObject(r);
}

/* unix:/path: a local connect does not wait for a peer, so no poll is needed. */
static int connect_unix(const char *path, int *fd, probe_result *out)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return probe_set(out, PROBE_FAILED, "unix:%s: path too long", path), -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0 || connect(*fd, (struct sockaddr *)&a, sizeof a) != 0) {
        probe_set(out, PROBE_FAILED, "connect to unix:%s: %s", path, strerror(errno));
        if (*fd >= 0)
            close(*fd);
        return -1;
    }
    return 0;
}

void probe_redis(const probe_spec *spec, const char *source, int64_t deadline_ms, probe_result *out)
{
    session s = {.fd = -1, .deadline_ms = deadline_ms, .out = out};
    if (!spec->address) {
        probe_set(out, PROBE_FAILED, "source %s: no address to probe", source);
        return;
    }
    int rc = !strncmp(spec->address, "unix:", 5) ? connect_unix(spec->address + 5, &s.fd, out)
                                                 : probe_tcp_connect(spec->address, deadline_ms, &s.fd, out);
    if (rc != 0)
        return;
    s.reader = redisReaderCreate();
    if (!s.reader)
        probe_set(out, PROBE_FAILED, "out of memory");
    else
        exchange(&s, spec);
    if (s.reader)
        redisReaderFree(s.reader);
    close(s.fd);
}
