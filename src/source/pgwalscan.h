/* pgwalscan — finds a recovery target's record in a source's archived WAL before a
 * restore: the commit or abort of a transaction (--xid), a restore point (--name),
 * the first transaction end after a time (--time). Records are decoded by
 * PostgreSQL's own pg_waldump (the record formats are the server version's), fed one
 * segment and its successor at a time from a private temporary folder. */
#ifndef LL_PGWALSCAN_H
#define LL_PGWALSCAN_H

#include "pgrestore.h"
#include "pgtimeline.h"

typedef struct pgws_result {
    int found;
    uint64_t lsn, end_lsn; /* the record, and a bound on where it ends */
    int64_t time_us;       /* its commit time (microseconds since the epoch), when it has one */
    uint64_t missing;      /* the first segment the scan needed that is not archived, or UINT64_MAX */
} pgws_result;

/* pg_waldump for server major version major: in bin_dir when given, else
 * /usr/lib/postgresql/<major>/bin, else on PATH. ERR_NOTFOUND when there is none. */
int pgws_waldump_path(const char *bin_dir, int major, char *out, size_t cap) WUR;

/* Scans segments from..to of path p for the first record at or after min_lsn that
 * matches t (TIME: a transaction end after t's time). Stops at a missing segment. */
int pgws_find(repo *r, const char *source, const pgtl_path *p, const wal_archive *a, uint64_t segsize,
              const char *waldump, uint64_t from, uint64_t to, uint64_t min_lsn, const pg_target *t,
              pgws_result *res) WUR;

/* Exposed for the unit tests: does one pg_waldump output line match? */
int pgws_line_match(const char *line, const pg_target *t, uint64_t min_lsn, pgws_result *res);

#endif
