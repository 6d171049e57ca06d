/* pgrestore — point-in-time restore of a PostgreSQL source, below the command line
 * (restore and, later, the watch daemon call it): recovery targets and times, the
 * restore plan (which backup, which timeline, every WAL segment replay needs), the
 * safety check of the target folder, and the recovery settings written into it. */
#ifndef LL_PGRESTORE_H
#define LL_PGRESTORE_H

#include "../repo/repo.h"
#include "../repo/snapshot.h"
#include "pg.h"
#include "pgtblspc.h"

enum { PG_TARGET_LATEST, PG_TARGET_TIME, PG_TARGET_LSN, PG_TARGET_XID, PG_TARGET_NAME };

typedef struct pg_target {
    int kind;
    int64_t time;   /* seconds (UTC) */
    long time_ns;   /* a multiple of 1000: PostgreSQL keeps microseconds */
    uint64_t lsn;
    char text[256]; /* xid or restore point name */
} pg_target;

/* Which timeline recovery follows (recovery_target_timeline). */
enum { PGR_TL_AUTO, PGR_TL_CURRENT, PGR_TL_LATEST, PGR_TL_NUMBER };

typedef struct pgrestore_opts {
    const char *source;
    pg_target t;
    int tl_kind;
    uint32_t tl;          /* with PGR_TL_NUMBER */
    size_t force;         /* --snapshot: index into the list, or SIZE_MAX */
    const char *bin_dir;  /* where pg_waldump is (NULL: /usr/lib/postgresql/<major>/bin, then PATH) */
} pgrestore_opts;

/* What the plan decided. */
typedef struct pgrestore_plan {
    size_t chosen;        /* index into the snapshot list */
    pg_meta m;
    uint32_t tli;         /* the timeline recovery ends on */
    uint64_t stop_lsn;    /* where the target record is (xid, name, time), else 0 */
} pgrestore_plan;

/* What restore writes besides the files. */
typedef struct pgrestore_settings {
    const pg_target *t;
    const char *restore_command;
    const char *tl_value;        /* recovery_target_timeline */
    int archive_preserve;        /* keep the backup's archive settings (else archive_mode = off) */
    int standby;                 /* standby.signal, no target, no promotion */
    const char *primary_conninfo;/* with standby (may be NULL) */
} pgrestore_settings;

/* Times as PostgreSQL reads recovery_target_time: "2026-12-01 13:22:31.036629+00",
 * 'T' or ' ', minutes without seconds, Z, UTC, +hh, +hhmm, +hh:mm, zone names
 * (Europe/Paris). No zone: the local zone of this host. Fractions are rounded to
 * microseconds as PostgreSQL rounds them; impossible dates are errors. *zone_used
 * (may be NULL) says which zone was applied ("UTC", "+01:00", "local (CET)"...). */
int pgrestore_parse_time(const char *s, int64_t *sec, long *nsec, char *zone_used, size_t cap) WUR;

/* A target time as "2026-12-01T13:22:31.036629Z" (microseconds, as PostgreSQL keeps it). */
void pgrestore_time_text(int64_t sec, long nsec, char *out, size_t cap);

/* Chooses the backup, the timeline and checks every segment replay needs, before
 * anything is written. The error names the missing segment or why no backup fits. */
int pgrestore_make_plan(repo *r, snapshot *list, size_t n, const pgrestore_opts *o, pgrestore_plan *p) WUR;

/* May restore write into dir? Empty or missing: yes. With delta: only a data folder
 * of the same system and major version as backup m, and no server running on it. */
int pgrestore_check_target(const char *dir, int delta, const pg_meta *m) WUR;

/* After the files are restored into dir: recovery settings the backup carried
 * (postgresql.auto.conf, postgresql.conf and files it includes inside dir) are
 * commented out, saying so; then recovery.signal (or standby.signal) and lifeline's
 * settings, with the data folder's owner. */
int pgrestore_finish(const char *dir, const pgrestore_settings *s) WUR;

/* Exposed for the unit tests: comments out recovery settings in one file's text. */
int pgrestore_comment_recovery(const char *text, size_t len, const char *stamp, buf *out, int *changed) WUR;

/* The whole physical restore (pgrestore_run.c), for both front ends. */
typedef struct pgrestore_run_opts {
    pgrestore_opts plan;          /* which backup, recovery target and timeline */
    const char *target;           /* the data folder to write */
    int delta, standby, archive_preserve, progress;
    const pgtblspc_map *maps;     /* --tablespace-map */
    size_t nmaps;
    const char *primary_conninfo; /* with standby, or NULL (may hold a password: never logged);
                                   * key=value or a URI, written back as key=value (pgstandby) */
    const char *application_name; /* with primary_conninfo: the standby's name at its primary (NULL:
                                   * the conninfo's own, else PGSTANDBY_DEFAULT_APP) */
    /* How PostgreSQL's restore_command will run lifeline: the options that open the
     * repository without a password (each NULL when not given). */
    const char *config_path, *repo_path, *key_file;
    int config_has_key_file;      /* the configuration names a key file */
} pgrestore_run_opts;

typedef struct pgrestore_run_result {
    pgrestore_plan plan;          /* what the plan decided (plan.chosen: the backup) */
    files_restore_stats st;
    char application_name[64];    /* a standby with primary_conninfo: the name it streams under */
    int writing;                  /* every check passed and the chosen backup's files began to be
                                   * written (its id belongs in the audit record) */
} pgrestore_run_result;

/* Plan, then every check of the target folders (nothing is written before all pass),
 * never an older backup than the newest in silence (snapshot_newest_guard), then the
 * files (the data folder, each tablespace into its own folder) and the settings. */
int pgrestore_run(repo *r, snapshot *list, size_t n, const pgrestore_run_opts *o, pgrestore_run_result *res) WUR;

#endif
