/* probe_postgres — postgres:SOURCE passes when a connection opens and
 * `select pg_is_in_recovery()` answers; the detail says primary or standby (with how
 * long ago the standby last replayed a transaction). libpq's asynchronous calls
 * (PQconnectStartParams/PQconnectPoll, PQsendQuery/PQconsumeInput) are driven with
 * poll on its socket, so the deadline holds for the handshake and the query alike;
 * only a host *name* in the conninfo is resolved by libpq without one (use an address
 * or a socket folder where that matters). */
#define _GNU_SOURCE
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_impl.h"

static int wait_for(PGconn *c, short events, int64_t deadline_ms)
{
    int64_t left = deadline_ms - probe_now_ms();
    if (left <= 0 || PQsocket(c) < 0)
        return -1;
    struct pollfd p = {.fd = PQsocket(c), .events = events};
    int n;
    do
        n = poll(&p, 1, left > 600000 ? 600000 : (int)left);
    while (n < 0 && errno == EINTR);
    return n > 0 ? 0 : -1;
}

/* libpq's message, on one line. */
static void why(PGconn *c, const char *what, probe_result *out)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
    msg[strcspn(msg, "\n")] = '\0';
    probe_set(out, PROBE_FAILED, "%s: %s", what, msg[0] ? msg : "no error message");
}

static int open_conn(PGconn *c, int64_t deadline_ms, probe_result *out)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return why(c, "connect", out), -1;
        if (wait_for(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_ms))
            return probe_set(out, PROBE_FAILED, "connect: no answer within the timeout"), -1;
        st = PQconnectPoll(c);
    }
    return 0;
}

static void query(PGconn *c, int64_t deadline_ms, probe_result *out)
{
    static const char sql[] = "select pg_is_in_recovery(), "
                              "extract(epoch from now() - pg_last_xact_replay_timestamp())::int";
    /* non-blocking first: the send may not wait either */
    if (PQsetnonblocking(c, 1) != 0 || !PQsendQuery(c, sql)) {
        why(c, "select", out);
        return;
    }
    while (PQflush(c) == 1)
        if (wait_for(c, POLLOUT, deadline_ms)) {
            probe_set(out, PROBE_FAILED, "select: no answer within the timeout");
            return;
        }
    while (PQisBusy(c)) {
        if (wait_for(c, POLLIN, deadline_ms)) {
            probe_set(out, PROBE_FAILED, "select: no answer within the timeout");
            return;
        }
        if (!PQconsumeInput(c)) {
            why(c, "select", out);
            return;
        }
    }
    PGresult *res = PQgetResult(c);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 2)
        why(c, "select", out);
    else if (strcmp(PQgetvalue(res, 0, 0), "t"))
        probe_set(out, PROBE_HEALTHY, "primary");
    else if (PQgetisnull(res, 0, 1))
        probe_set(out, PROBE_HEALTHY, "standby, nothing replayed yet");
    else
        probe_set(out, PROBE_HEALTHY, "standby, last replay %ss ago", PQgetvalue(res, 0, 1));
    PQclear(res);
    while ((res = PQgetResult(c)))
        PQclear(res);
}

void probe_postgres(const probe_spec *spec, const char *source, int64_t deadline_ms, probe_result *out)
{
    if (!spec->conninfo) {
        probe_set(out, PROBE_FAILED, "source %s: no conninfo to probe", source);
        return;
    }
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {spec->conninfo, "lifeline-probe", NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    if (!c)
        probe_set(out, PROBE_FAILED, "out of memory");
    else if (PQstatus(c) == CONNECTION_BAD)
        why(c, "connect", out);
    else if (open_conn(c, deadline_ms, out) == 0)
        query(c, deadline_ms, out);
    PQfinish(c);
}
