/* siem — see siem.h. The formatter is pure and bounded (every field has a length
 * limit, the line SIEM_LINE_MAX); the sender owns one non-blocking datagram socket. */
#define _GNU_SOURCE
#include "siem.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- formatting ---------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (at most n bytes), 0 when there is none
 * (overlong forms, surrogates and code points past U+10FFFF are not valid). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t len = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
        (p[0] == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

/* An output cursor that never writes past its end. */
typedef struct cur {
    char *p;
    size_t len, cap; /* cap counts the terminator */
} cur;

static int put(cur *c, const char *s, size_t n)
{
    if (c->len + n + 1 > c->cap)
        return -1;
    memcpy(c->p + c->len, s, n);
    c->len += n;
    c->p[c->len] = '\0';
    return 0;
}

static int puts_(cur *c, const char *s)
{
    return put(c, s, strlen(s));
}

/* A header field: printable US-ASCII (33..126) only, at most max bytes, "-" when nil. */
static int put_header(cur *c, const char *v, size_t max)
{
    if (!v || !v[0])
        return puts_(c, "-");
    for (size_t i = 0; v[i] && i < max; i++) {
        unsigned char ch = (unsigned char)v[i];
        char o = ch >= 33 && ch <= 126 ? (char)ch : '_';
        if (put(c, &o, 1))
            return -1;
    }
    return 0;
}

/* Free text as UTF-8 of at most max bytes: control characters become spaces, bytes
 * that are not UTF-8 '?'; with escape, '"', '\' and ']' get a backslash (RFC 5424
 * 6.3.3). A character that does not fit whole is left out with all after it. */
static int put_text(cur *c, const char *v, size_t max, int escape)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t n = strlen(v), used = 0;
    for (size_t i = 0; i < n;) {
        char tmp[4];
        size_t len = utf8_seq(p + i, n - i), out = len;
        const char *src = (const char *)p + i;
        if (!len) {
            tmp[0] = '?', src = tmp, len = out = 1;
        } else if (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            tmp[0] = ' ', src = tmp;
        } else if (len == 1 && escape && (p[i] == '"' || p[i] == '\\' || p[i] == ']')) {
            tmp[0] = '\\', tmp[1] = (char)p[i], src = tmp, out = 2;
        }
        if (used + out > max || put(c, src, out))
            return used + out > max ? 0 : -1; /* cut at the limit: not an error */
        used += out;
        i += len;
    }
    return 0;
}

static int put_param(cur *c, const char *name, const char *v)
{
    if (!v)
        return 0;
    return puts_(c, " ") || puts_(c, name) || puts_(c, "=\"") || put_text(c, v, SIEM_VALUE_MAX, 1) ||
           puts_(c, "\"");
}

static int put_timestamp(cur *c, int64_t at_ms)
{
    if (at_ms <= 0)
        return puts_(c, "-");
    time_t secs = (time_t)(at_ms / 1000);
    struct tm tm;
    char ts[64];
    if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999)
        return puts_(c, "-");
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(at_ms % 1000) * 1000);
    return puts_(c, ts);
}

int siem_severity(const char *outcome)
{
    static const struct {
        const char *word;
        int severity;
    } table[] = {{"ok", SIEM_INFO},        {"success", SIEM_INFO},     {"healthy", SIEM_INFO},
                 {"recovered", SIEM_INFO}, {"delivered", SIEM_INFO},   {"degraded", SIEM_WARNING},
                 {"retry", SIEM_WARNING},  {"held", SIEM_WARNING},     {"warning", SIEM_WARNING},
                 {"failed", SIEM_ERR},     {"failure", SIEM_ERR},      {"error", SIEM_ERR},
                 {"dead", SIEM_ERR},       {"escalated", SIEM_CRIT},   {"escalation", SIEM_CRIT}};
    for (size_t i = 0; outcome && i < sizeof table / sizeof *table; i++)
        if (!strcasecmp(outcome, table[i].word))
            return table[i].severity;
    return SIEM_NOTICE;
}

/* By code; 12..15 have no name every syslog agrees on, and are not offered. */
static const char *const facilities[24] = {"kern", "user",   "mail",   "daemon", "auth",   "syslog", "lpr",
                                           "news", "uucp",   "cron",   "authpriv", "ftp",  NULL,     NULL,
                                           NULL,   NULL,     "local0", "local1", "local2", "local3", "local4",
                                           "local5", "local6", "local7"};

int siem_facility_code(const char *name)
{
    for (int i = 0; name && i < 24; i++)
        if (facilities[i] && !strcmp(name, facilities[i]))
            return i;
    return -1;
}

int siem_format(const siem_record *r, char *out, size_t cap)
{
    cur c = {.p = out, .cap = cap};
    if (!cap)
        return -1;
    out[0] = '\0';
    int severity = r->severity > 0 && r->severity <= SIEM_DEBUG ? r->severity : siem_severity(r->outcome);
    int facility = r->facility > 0 && r->facility <= 23 ? r->facility : SIEM_FACILITY_DEFAULT;
    char num[48];
    snprintf(num, sizeof num, "<%d>1 ", facility * 8 + severity);
    if (puts_(&c, num) || put_timestamp(&c, r->at_ms) || puts_(&c, " ") || put_header(&c, r->hostname, 255) ||
        puts_(&c, " ") || put_header(&c, r->app ? r->app : "lifeline", 48) || puts_(&c, " "))
        return -1;
    snprintf(num, sizeof num, "%d", r->pid);
    if (put_header(&c, r->pid > 0 ? num : NULL, 128) || puts_(&c, " ") || put_header(&c, r->msgid, 32) ||
        puts_(&c, " [" SIEM_SD_ID) || put_param(&c, "actor", r->actor) || put_param(&c, "action", r->action) ||
        put_param(&c, "target", r->target) || put_param(&c, "outcome", r->outcome))
        return -1;
    if (r->incident > 0) {
        snprintf(num, sizeof num, "%lld", (long long)r->incident);
        if (put_param(&c, "incident", num))
            return -1;
    }
    if (r->audit_seq > 0) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)r->audit_seq);
        if (put_param(&c, "seq", num))
            return -1;
    }
    if (puts_(&c, "]"))
        return -1;
    /* the message takes what is left of the line, and is cut there */
    size_t room = (cap - 1 < SIEM_LINE_MAX ? cap - 1 : SIEM_LINE_MAX);
    if (r->message && r->message[0] && c.len + 1 < room && !puts_(&c, " "))
        (void)put_text(&c, r->message, room - c.len, 0);
    return c.len > SIEM_LINE_MAX ? -1 : (int)c.len;
}

/* ---- sending ------------------------------------------------------------------- */

enum { SIEM_OFF = 0, SIEM_UNIX, SIEM_UDP };

struct siem {
    int kind, facility, fd;
    char app[49];
    struct sockaddr_storage addr; /* where a datagram goes */
    socklen_t addrlen;
    char host[256];
    pthread_mutex_t lock; /* the socket's (re)connection */
    atomic_uint_least64_t sent, dropped;
};

int siem_spec_check(const char *spec, char *err, size_t cap)
{
    if (!spec || !strcmp(spec, "off") || !strcmp(spec, "local"))
        return 0;
    if (!strncmp(spec, "unix:", 5)) {
        if (spec[5] != '/' || strlen(spec + 5) >= sizeof ((struct sockaddr_un *)0)->sun_path)
            return snprintf(err, cap, "'%s': unix:PATH needs an absolute path shorter than 108 bytes", spec), -1;
        return 0;
    }
    if (!strncmp(spec, "udp://", 6)) {
        const char *hp = spec + 6, *colon = strrchr(hp, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == hp || !colon[1] || *end || port < 1 || port > 65535 || strpbrk(hp, " \t/"))
            return snprintf(err, cap, "'%s' is not udp://HOST:PORT", spec), -1;
        return 0;
    }
    return snprintf(err, cap, "'%s' is not off, local, udp://HOST:PORT or unix:PATH", spec), -1;
}

/* HOST:PORT ([v6]:PORT too) to an address, waiting at most 2 s for the resolver: a
 * request still running then is abandoned to glibc (its small block is leaked on
 * purpose: it may still be written to). */
static int resolve_udp(siem *s, const char *hp)
{
    const char *colon = strrchr(hp, ':');
    char host[256], port[8];
    size_t hl = (size_t)(colon - hp);
    if (hp[0] == '[' && hl >= 2 && hp[hl - 1] == ']')
        hp++, hl -= 2;
    if (hl >= sizeof host || strlen(colon + 1) >= sizeof port)
        return err_set(ERR_USAGE, "syslog udp://%s: host name too long", hp);
    snprintf(host, sizeof host, "%.*s", (int)hl, hp);
    snprintf(port, sizeof port, "%s", colon + 1);
    struct req {
        struct gaicb cb;
        struct addrinfo hints;
        char host[256], port[8];
    } *q = calloc(1, sizeof *q);
    if (!q)
        return err_set(ERR_FATAL, "out of memory");
    memcpy(q->host, host, sizeof host);
    memcpy(q->port, port, sizeof port);
    q->hints = (struct addrinfo){.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
    q->cb = (struct gaicb){.ar_name = q->host, .ar_service = q->port, .ar_request = &q->hints};
    struct gaicb *list[1] = {&q->cb};
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, &none) != 0) {
        free(q);
        return err_set(ERR_SOURCE, "syslog udp://%s:%s: the resolver refused the lookup", host, port);
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    for (;;) {
        struct timespec now, wait;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ns = (until.tv_sec - now.tv_sec) * 1000000000LL + (until.tv_nsec - now.tv_nsec);
        if (gai_error(&q->cb) != EAI_INPROGRESS || ns <= 0)
            break;
        wait = (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
        (void)gai_suspend((const struct gaicb *const *)list, 1, &wait);
    }
    int e = gai_error(&q->cb);
    if (e == EAI_INPROGRESS && gai_cancel(&q->cb) != EAI_CANCELED)
        return err_set(ERR_SOURCE, "syslog udp://%s:%s: no answer from the resolver within 2 s", host, port);
    if (e || !q->cb.ar_result) {
        if (q->cb.ar_result)
            freeaddrinfo(q->cb.ar_result);
        free(q);
        return err_set(ERR_SOURCE, "syslog udp://%s:%s: %s", host, port,
                       e == EAI_INPROGRESS ? "no answer from the resolver within 2 s" : gai_strerror(e));
    }
    memcpy(&s->addr, q->cb.ar_result->ai_addr, q->cb.ar_result->ai_addrlen);
    s->addrlen = q->cb.ar_result->ai_addrlen;
    freeaddrinfo(q->cb.ar_result);
    free(q);
    return 0;
}

/* A fresh non-blocking datagram socket connected to s->addr; -1 when that fails (no
 * receiver yet): the next send tries again. Called with the lock held. */
static void reconnect(siem *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd >= 0 && connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) != 0) {
        close(s->fd);
        s->fd = -1;
    }
}

int siem_open(const char *spec, const char *app, siem **out)
{
    char why[256];
    *out = NULL;
    if (siem_spec_check(spec, why, sizeof why) != 0)
        return err_set(ERR_USAGE, "syslog: %s", why);
    siem *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(ERR_FATAL, "out of memory");
    s->fd = -1;
    s->facility = SIEM_FACILITY_DEFAULT;
    snprintf(s->app, sizeof s->app, "%s", app ? app : "lifeline");
    if (gethostname(s->host, sizeof s->host - 1) != 0)
        s->host[0] = '\0';
    pthread_mutex_init(&s->lock, NULL);
    if (!spec || !strcmp(spec, "local") || !strncmp(spec, "unix:", 5)) {
        struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof un->sun_path, "%s", spec && spec[0] == 'u' ? spec + 5 : "/dev/log");
        s->addrlen = sizeof *un;
        s->kind = SIEM_UNIX;
    } else if (!strncmp(spec, "udp://", 6)) {
        int rc = resolve_udp(s, spec + 6);
        if (rc) {
            siem_close(&s);
            return rc;
        }
        s->kind = SIEM_UDP;
    }
    if (s->kind != SIEM_OFF)
        reconnect(s);
    *out = s;
    return 0;
}

void siem_set_facility(siem *s, int facility)
{
    if (s)
        s->facility = facility > 0 && facility <= 23 ? facility : SIEM_FACILITY_DEFAULT;
}

int siem_send(siem *s, const siem_record *r)
{
    if (!s || s->kind == SIEM_OFF)
        return 0;
    siem_record full = *r;
    char line[SIEM_LINE_MAX + 1];
    struct timespec now;
    if (!full.at_ms) {
        clock_gettime(CLOCK_REALTIME, &now);
        full.at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    }
    full.hostname = full.hostname ? full.hostname : s->host;
    full.app = s->app;
    full.pid = (int)getpid();
    full.facility = s->facility;
    int len = siem_format(&full, line, sizeof line);
    int sent = 0;
    pthread_mutex_lock(&s->lock);
    if (len > 0) {
        if (s->fd < 0 && s->kind == SIEM_UNIX)
            reconnect(s); /* the syslog daemon may be back */
        ssize_t n = s->fd >= 0 ? send(s->fd, line, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) : -1;
        int e = n < 0 ? errno : 0;
        sent = n == len;
        /* a unix receiver that went away (restarted daemon): a new socket next time;
         * EAGAIN (full) and UDP's ECONNREFUSED keep the socket */
        if (!sent && s->kind == SIEM_UNIX && s->fd >= 0 && e != EAGAIN && e != EWOULDBLOCK) {
            close(s->fd);
            s->fd = -1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(sent ? &s->sent : &s->dropped, 1);
    return sent ? 0 : ERR_IO;
}

void siem_counts(const siem *s, uint64_t *sent, uint64_t *dropped)
{
    *sent = s ? atomic_load(&((siem *)s)->sent) : 0;
    *dropped = s ? atomic_load(&((siem *)s)->dropped) : 0;
}

void siem_close(siem **sp)
{
    siem *s = *sp;
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}
