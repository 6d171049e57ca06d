/* pgstandby — how a standby restored from the repository reaches its primary: the
 * primary_conninfo it is given (libpq key=value or URI text, checked by libpq's own
 * parser, written back as key=value settings) and the application_name it reports
 * to the primary (what pg_stat_replication and synchronous_standby_names see). A
 * password may come from a file, never from the command line: the check is here so
 * every front end (restore --standby, the agent's rebuild) refuses the same way. */
#ifndef LL_PGSTANDBY_H
#define LL_PGSTANDBY_H

#include "../core/buf.h"
#include "../core/err.h"

/* The application_name a standby gets when neither the conninfo nor the caller names
 * one: the primary then still shows which of its standbys lifeline built. */
#define PGSTANDBY_DEFAULT_APP "lifeline-standby"

/* A conninfo given on the command line (visible to every user in the process list):
 * ERR_USAGE when libpq cannot parse it or it holds a password (key=value or URI
 * form), with a hint to use a PGPASSFILE (passfile=...) or --primary-conninfo-file. */
int pgstandby_check_argv(const char *conninfo) WUR;

/* The primary_conninfo to write: conninfo's settings, in libpq's order, as key=value
 * text (values quoted where libpq needs it), with application_name = app when app is
 * given, else the conninfo's own, else PGSTANDBY_DEFAULT_APP. ERR_USAGE when conninfo
 * does not parse, when it names another application_name than app, or when app is not
 * a name PostgreSQL keeps as given (printable ASCII, at most 63 bytes). The name used
 * is copied to app_used (may be NULL). out may hold a password: the caller wipes it. */
int pgstandby_conninfo(const char *conninfo, const char *app, buf *out, char *app_used, size_t cap) WUR;

/* Is app a name PostgreSQL keeps as given? ERR_USAGE saying why not. */
int pgstandby_check_app(const char *app) WUR;

#endif
