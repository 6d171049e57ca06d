/* pgconn — libpq under a monotonic deadline (see pgconn.h). */
#define _GNU_SOURCE
#include "pgconn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "../core/proc.h"

/* Waits until libpq's socket is ready for events, or the deadline passes (-1). */
static int wait_for(PGconn *c, short events, int64_t deadline_ms)
{
    int64_t left = deadline_ms - proc_now_ms();
    if (left <= 0 || PQsocket(c) < 0)
        return -1;
    struct pollfd p = {.fd = PQsocket(c), .events = events};
    int n;
    do
        n = poll(&p, 1, left > 600000 ? 600000 : (int)left);
    while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

/* libpq's (or the server's) message, on one line. */
static int fail(const char *what, const char *msg)
{
    char one[300];
    snprintf(one, sizeof one, "%s", msg && *msg ? msg : "no error message");
    one[strcspn(one, "\n")] = '\0';
    return err_set(ERR_SOURCE, "%s: %s", what, one);
}

static int timed_out(const char *what) { return err_set(ERR_SOURCE, "%s: no answer within the timeout", what); }

/* The conninfo's own options (a user may set search_path and the like there), with
 * our statement_timeout after them: the last -c of a name wins. */
static void merged_options(const char *conninfo, int64_t timeout_ms, char *out, size_t cap)
{
    const char *own = "";
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, "options") && o->val)
            own = o->val;
    snprintf(out, cap, "%s%s-c statement_timeout=%lld", own, *own ? " " : "", (long long)timeout_ms);
    PQconninfoFree(opts);
}

int pgconn_open(const char *conninfo, const char *application_name, int64_t deadline_ms, PGconn **out)
{
    *out = NULL;
    int64_t left = deadline_ms - proc_now_ms();
    if (left <= 0)
        return timed_out("connect");
    char secs[24], options[1024];
    /* libpq rounds connect_timeout 1 up to 2 s; ours is the deadline that holds */
    snprintf(secs, sizeof secs, "%lld", (long long)(left < 2000 ? 2 : (left + 999) / 1000));
    merged_options(conninfo, left, options, sizeof options);
    /* later keywords override what the expanded conninfo (dbname) says */
    const char *keys[] = {"dbname", "application_name", "connect_timeout", "options", NULL};
    const char *vals[] = {conninfo, application_name, secs, options, NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c)
        return err_set(ERR_FATAL, "connect: out of memory");
    PostgresPollingStatusType st = PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            int rc = fail("connect", PQerrorMessage(c));
            PQfinish(c);
            return rc;
        }
        if (wait_for(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_ms)) {
            PQfinish(c);
            return timed_out("connect");
        }
        st = PQconnectPoll(c);
    }
    *out = c;
    return 0;
}

/* Waits by the deadline until libpq has a result (or the end) ready to hand out:
 * PQgetResult would otherwise block on the socket without one. */
static int wait_ready(PGconn *c, const char *what, int64_t deadline_ms)
{
    while (PQisBusy(c)) {
        if (wait_for(c, POLLIN, deadline_ms))
            return timed_out(what);
        if (!PQconsumeInput(c))
            return fail(what, PQerrorMessage(c));
    }
    return 0;
}

/* Sends sql without blocking either (a full socket buffer waits on the deadline). */
static int send_query(PGconn *c, const char *what, const char *sql, int64_t deadline_ms)
{
    if (PQsetnonblocking(c, 1) != 0 || !PQsendQuery(c, sql))
        return fail(what, PQerrorMessage(c));
    int f;
    while ((f = PQflush(c)) == 1)
        if (wait_for(c, POLLOUT, deadline_ms))
            return timed_out(what);
    return f < 0 ? fail(what, PQerrorMessage(c)) : 0;
}

int pgconn_exec(PGconn *c, const char *what, const char *sql, int64_t deadline_ms, PGresult **out)
{
    *out = NULL;
    int rc = send_query(c, what, sql, deadline_ms);
    PGresult *first = NULL, *r;
    /* the first result is the statement's; the rest (its end) is read to be ready for
     * the next query */
    while (!rc && !(rc = wait_ready(c, what, deadline_ms)) && (r = PQgetResult(c))) {
        if (first)
            PQclear(r);
        else
            first = r;
    }
    ExecStatusType st = PQresultStatus(first);
    if (!rc && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        const char *m = first ? PQresultErrorMessage(first) : "";
        rc = fail(what, *m ? m : PQerrorMessage(c));
    }
    if (rc) {
        PQclear(first);
        return rc;
    }
    *out = first;
    return 0;
}
