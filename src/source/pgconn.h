/* pgconn — a libpq connection and its queries under one deadline on the monotonic
 * clock (proc_now_ms): the asynchronous calls (PQconnectStartParams/PQconnectPoll,
 * PQsendQuery/PQconsumeInput) driven with poll on libpq's socket, so neither the
 * handshake, a blackholed address nor a slow query outlasts the deadline. Shared by
 * the postgres probe and the HA member control (src/ha/pgctl.c). Only a host *name*
 * in the conninfo is resolved by libpq without a deadline (use an address or a
 * socket folder where that matters). */
#ifndef LL_PGCONN_H
#define LL_PGCONN_H

#include <libpq-fe.h>
#include <stdint.h>

#include "../core/err.h"

/* Opens conninfo (key=value or URI) by deadline_ms, as application_name. The server
 * is also told the deadline: connect_timeout (whole seconds, at least 2, libpq's
 * effective minimum; our own deadline is the one that holds) and options
 * `-c statement_timeout=MS` (added to the conninfo's own options), so a query still
 * running when we give up is cancelled by the server too. ERR_SOURCE with
 * "connect: why" (libpq's message on one line, or "no answer within the timeout"). */
int pgconn_open(const char *conninfo, const char *application_name, int64_t deadline_ms, PGconn **out) WUR;

/* Runs sql (one statement, simple protocol) by deadline_ms: the result in *out
 * (PQclear it), whose status is PGRES_TUPLES_OK or PGRES_COMMAND_OK. Else ERR_SOURCE
 * with "what: why" (the server's message on one line, or "no answer within the
 * timeout"). */
int pgconn_exec(PGconn *c, const char *what, const char *sql, int64_t deadline_ms, PGresult **out) WUR;

#endif
