/* probe_tcp — tcp://HOST:PORT passes when a connection is accepted before the deadline.
 * The name is resolved with getaddrinfo_a so that a hanging DNS server cannot hold the
 * probe past its timeout; connect is non-blocking and waited for with poll. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe_impl.h"

/* A lookup that may outlive the probe: whoever of the probe and glibc's completion
 * callback lets go last frees it. */
typedef struct lookup {
    struct gaicb cb;
    struct addrinfo hints;
    char host[256], port[8];
    atomic_int refs;
} lookup;

static void lookup_release(lookup *l)
{
    if (atomic_fetch_sub(&l->refs, 1) == 1) {
        if (l->cb.ar_result)
            freeaddrinfo(l->cb.ar_result);
        free(l);
    }
}

static void lookup_done(union sigval v)
{
    lookup_release(v.sival_ptr);
}

/* Splits HOST:PORT ([v6]:PORT too). */
static int split_host_port(const char *rest, lookup *l)
{
    const char *colon = strrchr(rest, ':');
    if (!colon || colon == rest || !colon[1] || strlen(colon + 1) >= sizeof l->port)
        return -1;
    const char *h = rest;
    size_t hl = (size_t)(colon - rest);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof l->host)
        return -1;
    snprintf(l->host, sizeof l->host, "%.*s", (int)hl, h);
    snprintf(l->port, sizeof l->port, "%s", colon + 1);
    return 0;
}

static int remaining(int64_t deadline_ms)
{
    int64_t left = deadline_ms - probe_now_ms();
    return left < 0 ? 0 : left > 600000 ? 600000 : (int)left;
}

/* 0 and the non-blocking socket in *out; else an errno (ETIMEDOUT at the deadline). */
static int connect_one(const struct addrinfo *ai, int64_t deadline_ms, int *out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int e = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int n;
            do
                n = poll(&p, 1, remaining(deadline_ms));
            while (n < 0 && errno == EINTR);
            socklen_t len = sizeof e;
            if (n == 0)
                e = ETIMEDOUT;
            else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                e = errno;
        }
    }
    if (e)
        close(fd);
    else
        *out = fd;
    return e;
}

/* A connected socket in *fd, or -1 with out set. */
static int try_addresses(const lookup *l, int64_t deadline_ms, int *fd, probe_result *out)
{
    int e = ETIMEDOUT;
    for (const struct addrinfo *ai = l->cb.ar_result; ai && probe_now_ms() < deadline_ms; ai = ai->ai_next) {
        e = connect_one(ai, deadline_ms, fd);
        if (!e)
            return probe_set(out, PROBE_HEALTHY, "connected to %s:%s", l->host, l->port);
    }
    if (e == ETIMEDOUT)
        probe_set(out, PROBE_FAILED, "connect to %s:%s: no answer within the timeout", l->host, l->port);
    else
        probe_set(out, PROBE_FAILED, "connect to %s:%s: %s", l->host, l->port, strerror(e));
    return -1;
}

int probe_tcp_connect(const char *host_port, int64_t deadline_ms, int *fd, probe_result *out)
{
    lookup *l = calloc(1, sizeof *l);
    if (!l)
        return probe_set(out, PROBE_FAILED, "out of memory"), -1;
    if (split_host_port(host_port, l) != 0) {
        free(l);
        return probe_set(out, PROBE_FAILED, "'%s' is not HOST:PORT", host_port), -1;
    }
    /* a numeric address needs no lookup: no resolver thread per probe (the agent runs
     * hundreds a second) */
    struct addrinfo numeric = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    if (getaddrinfo(l->host, l->port, &numeric, &l->cb.ar_result) == 0) {
        int rc = try_addresses(l, deadline_ms, fd, out);
        freeaddrinfo(l->cb.ar_result);
        free(l);
        return rc;
    }
    l->cb.ar_result = NULL;
    l->hints = (struct addrinfo){.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    l->cb = (struct gaicb){.ar_name = l->host, .ar_service = l->port, .ar_request = &l->hints};
    struct gaicb *list[1] = {&l->cb};
    struct sigevent sev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = lookup_done,
                           .sigev_value.sival_ptr = l};
    atomic_init(&l->refs, 2);
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, &sev) != 0) {
        free(l);
        return probe_set(out, PROBE_FAILED, "resolve %s: cannot start the lookup", host_port), -1;
    }
    int r, rc = -1;
    for (;;) {
        int64_t left = deadline_ms - probe_now_ms();
        struct timespec ts = {.tv_sec = left > 0 ? left / 1000 : 0, .tv_nsec = left > 0 ? (left % 1000) * 1000000 : 0};
        const struct gaicb *wait[1] = {&l->cb};
        r = gai_error(&l->cb);
        if (r != EAI_INPROGRESS || left <= 0)
            break;
        (void)gai_suspend(wait, 1, &ts);
    }
    if (r == EAI_INPROGRESS)
        probe_set(out, PROBE_FAILED, "resolve %s: no answer within the timeout", l->host);
    else if (r != 0)
        probe_set(out, PROBE_FAILED, "resolve %s: %s", l->host, gai_strerror(r));
    else
        rc = try_addresses(l, deadline_ms, fd, out);
    lookup_release(l);
    return rc;
}

/* A numeric HOST:PORT's address in *ai (freeaddrinfo it) and its parts in l; -1 for a
 * name or a bad target. */
static int numeric(const char *host_port, lookup *l, struct addrinfo **ai)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    return split_host_port(host_port, l) == 0 && getaddrinfo(l->host, l->port, &hints, ai) == 0 ? 0 : -1;
}

int probe_tcp_numeric(const char *host_port)
{
    lookup l;
    struct addrinfo *ai = NULL;
    if (numeric(host_port, &l, &ai) != 0)
        return 0;
    freeaddrinfo(ai);
    return 1;
}

/* The words of try_addresses, for one address whose connect ended with e. */
static void connect_said(const lookup *l, int e, probe_result *out)
{
    if (!e)
        probe_set(out, PROBE_HEALTHY, "connected to %s:%s", l->host, l->port);
    else if (e == ETIMEDOUT)
        probe_set(out, PROBE_FAILED, "connect to %s:%s: no answer within the timeout", l->host, l->port);
    else
        probe_set(out, PROBE_FAILED, "connect to %s:%s: %s", l->host, l->port, strerror(e));
}

int probe_tcp_begin(const char *host_port, int *fd, probe_result *out)
{
    lookup l;
    struct addrinfo *ai = NULL;
    if (numeric(host_port, &l, &ai) != 0)
        return probe_set(out, PROBE_FAILED, "'%s' is not HOST:PORT with a numeric address", host_port), 0;
    int e = 0;
    *fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (*fd < 0)
        e = errno;
    else if (connect(*fd, ai->ai_addr, ai->ai_addrlen) != 0)
        e = errno;
    freeaddrinfo(ai);
    if (e == EINPROGRESS)
        return 1;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    connect_said(&l, e, out);
    return 0;
}

void probe_tcp_end(const char *host_port, int fd, int timed_out, probe_result *out)
{
    lookup l;
    int e = ETIMEDOUT;
    socklen_t len = sizeof e;
    if (!timed_out && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
        e = errno;
    close(fd);
    if (split_host_port(host_port, &l) != 0) /* it was split when it began */
        snprintf(l.host, sizeof l.host, "?"), snprintf(l.port, sizeof l.port, "?");
    connect_said(&l, e, out);
}

void probe_tcp(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out)
{
    (void)spec;
    int fd;
    if (probe_tcp_connect(rest, deadline_ms, &fd, out) == 0)
        close(fd);
}
