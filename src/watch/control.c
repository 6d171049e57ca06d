/* control — see control.h. The server is one thread: poll with a timeout (so it sees
 * the agent stopping), one client at a time, each read and write bounded in time and
 * size: a slow or hostile client cannot stall it for long or make it allocate much.
 * A switchover or failover (seconds, up to 120) gets a thread of its own, one at a
 * time, so `status` is answered while it runs. */
#define _GNU_SOURCE
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/proc.h"
#include "../ha/ha.h"
#include "agent_impl.h"

#define CONTROL_MAX 4096 /* a request; replies are the status document, sent whole */

static int addr_of(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return err_set(ERR_CONFIG, "control socket path too long (%zu bytes, at most %zu): %s", strlen(path),
                       sizeof sa->sun_path - 1, path);
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Reads one line (up to cap-1 bytes) by the deadline; the length, or -1. */
static ssize_t read_line(int fd, char *line, size_t cap, int64_t deadline)
{
    size_t len = 0;
    while (len + 1 < cap) {
        int64_t left = deadline - proc_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = read(fd, line + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(line, '\n', len))
            break;
    }
    line[len] = '\0';
    return (ssize_t)len;
}

static int write_all(int fd, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        int64_t left = deadline - proc_now_ms();
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            return -1;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static char *answer(agent *a, const char *req)
{
    cJSON *in = cJSON_Parse(req), *cmd = cJSON_GetObjectItem(in, "cmd"), *out = NULL;
    const char *c = cJSON_IsString(cmd) ? cmd->valuestring : "";
    if ((!strcmp(c, "switchover") || !strcmp(c, "failover")) && a->ha) {
        out = ha_request(a->ha, in);
    } else if (!strcmp(c, "switchover") || !strcmp(c, "failover")) {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "error", "this agent manages no [postgres] group");
    } else if (!strcmp(c, "status")) {
        out = agent_status_copy(a);
    } else if (!strcmp(c, "poke")) {
        uint64_t one = 1;
        if (write(a->wake_fd, &one, sizeof one) < 0) {
            /* the loop reads the holds on its next tick anyway */
        }
        out = cJSON_CreateObject();
        cJSON_AddBoolToObject(out, "ok", 1);
    }
    if (!out) {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "error", *c ? "unknown command" : "not a request");
    }
    cJSON_Delete(in);
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return text;
}

/* The answer, by a deadline counted from when it is ready (a switchover's answer comes
 * after the switchover, not within the 2 s a request has to arrive). */
static void reply_to(int fd, char *text)
{
    int64_t deadline = proc_now_ms() + 2000;
    if (text && write_all(fd, text, strlen(text), deadline) == 0)
        (void)write_all(fd, "\n", 1, deadline);
    free(text);
}

/* A switchover or failover: its own thread, so `status` is answered while it runs. */
typedef struct long_job {
    agent *a;
    int fd;
    char req[CONTROL_MAX];
} long_job;

static void *long_main(void *arg)
{
    long_job *j = arg;
    reply_to(j->fd, answer(j->a, j->req));
    close(j->fd);
    atomic_store(&j->a->long_busy, 0);
    free(j);
    return NULL;
}

static int is_long(const char *req)
{
    cJSON *in = cJSON_Parse(req);
    const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(in, "cmd"));
    int yes = c && (!strcmp(c, "switchover") || !strcmp(c, "failover"));
    cJSON_Delete(in);
    return yes;
}

static void join_long(agent *a)
{
    if (a->long_started) {
        pthread_join(a->long_thread, NULL);
        a->long_started = 0;
    }
}

/* Hands fd to the long request's thread (1), or says why not (0: answered here). */
static int start_long(agent *a, int fd, const char *req)
{
    if (atomic_load(&a->long_busy)) {
        reply_to(fd, strdup("{\"error\":\"a switchover or failover asked earlier is still running: see lifeline "
                            "status\"}"));
        return 0;
    }
    join_long(a); /* the one before has finished: its thread is reaped here */
    long_job *j = malloc(sizeof *j);
    if (!j)
        return 0;
    j->a = a;
    j->fd = fd;
    snprintf(j->req, sizeof j->req, "%s", req);
    atomic_store(&a->long_busy, 1);
    if (pthread_create(&a->long_thread, NULL, long_main, j) != 0) {
        atomic_store(&a->long_busy, 0);
        free(j);
        return 0;
    }
    a->long_started = 1;
    return 1;
}

/* One client: 1 when its connection went to the long request's thread. */
static int serve_one(agent *a, int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || (cred.uid != 0 && cred.uid != geteuid())) {
        LOG_WARN("control socket: refused a client of uid %u (only uid %u and root may ask)", (unsigned)cred.uid,
                 (unsigned)geteuid());
        return 0;
    }
    char req[CONTROL_MAX];
    if (read_line(fd, req, sizeof req, proc_now_ms() + 2000) <= 0)
        return 0;
    if (is_long(req) && a->ha)
        return start_long(a, fd, req);
    reply_to(fd, answer(a, req));
    return 0;
}

static void *control_main(void *arg)
{
    agent *a = arg;
    while (!atomic_load(&a->stop)) {
        struct pollfd p = {.fd = a->control_fd, .events = POLLIN};
        if (poll(&p, 1, 250) <= 0)
            continue;
        int fd = accept4(a->control_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (!serve_one(a, fd))
            close(fd);
    }
    return NULL;
}

int agent_control_start(agent *a)
{
    char path[4100];
    struct sockaddr_un sa;
    snprintf(path, sizeof path, "%s/control.sock", a->state_dir);
    int rc = addr_of(path, &sa);
    if (rc)
        return rc;
    /* the agent holds the folder's lock: a socket file left here is a dead agent's */
    unlink(path);
    a->control_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (a->control_fd < 0)
        return err_sys(ERR_IO, "control socket");
    mode_t old = umask(077);
    int b = bind(a->control_fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b != 0 || listen(a->control_fd, 8) != 0) {
        rc = err_sys(ERR_IO, "control socket %s", path);
        close(a->control_fd);
        a->control_fd = -1;
        return rc;
    }
    if (pthread_create(&a->control, NULL, control_main, a) != 0) {
        close(a->control_fd);
        a->control_fd = -1;
        return err_set(ERR_FATAL, "cannot start the control socket's thread");
    }
    return 0;
}

void agent_control_stop(agent *a)
{
    if (a->control_fd < 0)
        return;
    pthread_join(a->control, NULL);
    join_long(a); /* the engine still runs: it answers (bounded by 120 s) */
    close(a->control_fd);
    a->control_fd = -1;
    char path[4100];
    snprintf(path, sizeof path, "%s/control.sock", a->state_dir);
    unlink(path);
}

int control_request(const char *path, const char *cmd, int timeout_ms, cJSON **reply)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "cmd", cmd);
    int rc = control_ask(path, req, timeout_ms, reply);
    cJSON_Delete(req);
    return rc;
}

int control_ask(const char *path, const cJSON *req, int timeout_ms, cJSON **reply)
{
    *reply = NULL;
    struct sockaddr_un sa;
    int rc = addr_of(path, &sa);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_sys(ERR_IO, "control socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        if (e == ENOENT || e == ECONNREFUSED)
            return err_set(ERR_NOAGENT, "no lifeline watch agent runs on %.*s (no one answers on its control socket)",
                           (int)(strrchr(path, '/') ? strrchr(path, '/') - path : (long)strlen(path)), path);
        return err_sys(e == EACCES ? ERR_USAGE : ERR_IO, "control socket %s", path);
    }
    int64_t deadline = proc_now_ms() + timeout_ms;
    char *body = cJSON_PrintUnformatted(req), line[CONTROL_MAX];
    int fits = body && strlen(body) + 2 <= sizeof line;
    snprintf(line, sizeof line, "%s\n", fits ? body : "{}");
    free(body);
    size_t cap = 1 << 22;
    char *text = malloc(cap);
    ssize_t n = -1;
    if (text && write_all(fd, line, strlen(line), deadline) == 0)
        n = read_line(fd, text, cap, deadline);
    close(fd);
    if (n <= 0) {
        free(text);
        return err_set(ERR_FATAL, "the agent on %s did not answer within %d ms", path, timeout_ms);
    }
    *reply = cJSON_Parse(text);
    free(text);
    return *reply ? 0 : err_set(ERR_FATAL, "the agent on %s answered with something that is not JSON", path);
}
