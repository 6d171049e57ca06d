/* pgctl_impl — the pure pieces of pgctl.c (text in, text out), declared for its unit
 * tests (tests/unit/test_pgctl.c). Not for other modules. */
#ifndef LL_PGCTL_IMPL_H
#define LL_PGCTL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"

/* Is s a member name as PostgreSQL's synchronous_standby_names and application_name
 * take it without surprises: 1-63 of [A-Za-z0-9_-]? */
int pgctl_name_ok(const char *s);

/* names: member names separated by spaces or commas ("" or only separators: none).
 * The synchronous_standby_names value: "" / "pg-b" / "pg-b", "pg-c" (each name
 * double-quoted: '-' is not an identifier character there; the list form means
 * FIRST 1, PostgreSQL's priority rule). ERR_USAGE naming a bad name. */
int pgctl_sync_value(const char *names, char *out, size_t cap) WUR;

/* conninfo (key=value or URI) rewritten as key=value with application_name = member
 * (replacing any given): the standby's primary_conninfo. ERR_USAGE when libpq cannot
 * parse it. */
int pgctl_follow_conninfo(const char *conninfo, const char *member, char *out, size_t cap) WUR;

/* A string as a value in postgresql.conf: single-quoted, ' and \ doubled (as ALTER
 * SYSTEM writes them). */
int pgctl_conf_quote(const char *v, char *out, size_t cap) WUR;

/* text (a postgresql.auto.conf) without the lines that set any of keys (NULL-ended,
 * GUC names: case-insensitive), then add (whole lines, each ending in \n), into out.
 * The rest is kept as it was. */
int pgctl_conf_edit(const char *text, size_t len, const char *const *keys, const char *add, buf *out) WUR;

/* pg_controldata's output (LC_ALL=C): *possible 1 when "wal_log_hints setting: on" or
 * a non-zero "Data page checksum version"; else 0 and why. ERR_SOURCE when neither
 * line is there. */
int pgctl_controldata_rewindable(const char *text, int *possible, char *why, size_t cap) WUR;

/* pg_waldump's output: the LSN of its last record line ("rmgr: ... , lsn: X/Y, prev
 * ..."); 0, or -1 when there is none (its own messages are not records). */
int pgctl_waldump_last(const char *text, uint64_t *lsn) WUR;

/* The last non-empty line of a program's output, into out ("" when none). */
void pgctl_last_line(const char *text, char *out, size_t cap);

#endif
