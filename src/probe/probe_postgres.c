/* probe_postgres — postgres:SOURCE passes when a connection opens and
 * `select pg_is_in_recovery()` answers; the detail says primary or standby (with how
 * long ago the standby last replayed a transaction). The connection and the query
 * keep the deadline through src/source/pgconn.c (libpq's asynchronous calls driven
 * with poll); only a host *name* in the conninfo is resolved by libpq without one
 * (use an address or a socket folder where that matters). */
#define _GNU_SOURCE
#include <string.h>

#include "../source/pgconn.h"
#include "probe_impl.h"

static void query(PGconn *c, int64_t deadline_ms, probe_result *out)
{
    static const char sql[] = "select pg_is_in_recovery(), "
                              "extract(epoch from now() - pg_last_xact_replay_timestamp())::int";
    PGresult *res;
    if (pgconn_exec(c, "select", sql, deadline_ms, &res)) {
        probe_set(out, PROBE_FAILED, "%s", err_msg());
        return;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 2)
        probe_set(out, PROBE_FAILED, "select: an answer of unexpected shape");
    else if (strcmp(PQgetvalue(res, 0, 0), "t"))
        probe_set(out, PROBE_HEALTHY, "primary");
    else if (PQgetisnull(res, 0, 1))
        probe_set(out, PROBE_HEALTHY, "standby, nothing replayed yet");
    else
        probe_set(out, PROBE_HEALTHY, "standby, last replay %ss ago", PQgetvalue(res, 0, 1));
    PQclear(res);
}

void probe_postgres(const probe_spec *spec, const char *source, int64_t deadline_ms, probe_result *out)
{
    if (!spec->conninfo) {
        probe_set(out, PROBE_FAILED, "source %s: no conninfo to probe", source);
        return;
    }
    PGconn *c;
    if (pgconn_open(spec->conninfo, "lifeline-probe", deadline_ms, &c)) {
        probe_set(out, PROBE_FAILED, "%s", err_msg());
        return;
    }
    query(c, deadline_ms, out);
    PQfinish(c);
}
