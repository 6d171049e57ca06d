/* pgctl — one PostgreSQL server of an HA group, as the failover engine sees it: what it
 * is (role, LSNs, timeline, streaming), and what can be done to it (promote, stop,
 * start, follow a primary, rewind, fence, manage synchronous standbys). Queries go
 * through libpq with connect_timeout and statement_timeout; programs (pg_ctl,
 * pg_rewind, pg_controldata from the member's bin-dir) through proc_run: nothing blocks
 * past its timeout. Every standby's application_name is its member name. */
#ifndef LL_PGCTL_H
#define LL_PGCTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef struct config_member config_member;

typedef struct pg_state {
    int reachable;           /* answered at all */
    int primary;             /* 1: not in recovery (accepts writes unless read-only) */
    int read_only;           /* default_transaction_read_only is on (a fenced primary) */
    uint64_t current_lsn;    /* primary: pg_current_wal_lsn */
    uint64_t receive_lsn;    /* standby: pg_last_wal_receive_lsn (0 if none) */
    uint64_t replay_lsn;     /* standby: pg_last_wal_replay_lsn */
    uint32_t timeline;
    int streaming;           /* standby: its WAL receiver is streaming */
    char upstream[256];      /* standby: the host:port it streams from ("" if none) */
    char detail[256];        /* one line: why unreachable, or what it is */
} pg_state;

typedef struct pg_replica {  /* a row of the primary's pg_stat_replication */
    char name[64];           /* application_name = member */
    char state[32];          /* streaming, catchup... */
    char sync_state[16];     /* async, sync, potential, quorum */
    uint64_t flush_lsn, replay_lsn;
} pg_replica;

/* conninfo of a member with a deadline added (connect_timeout, options for
 * statement_timeout) — what every call here uses. The connection never takes longer
 * than timeout_ms (a monotonic deadline around libpq's asynchronous calls).
 * pgctl_query fills out in every case; it returns ERR_SOURCE (err and out->detail
 * saying why) when the server did not answer (reachable 0) or the query failed.
 * pgctl_replicas: *out is an array of *n to free(). */
int pgctl_query(const char *conninfo, int64_t timeout_ms, pg_state *out) WUR;
int pgctl_replicas(const char *conninfo, int64_t timeout_ms, pg_replica **out, size_t *n) WUR;
/* pg_promote(wait => true): 0 once it accepts writes. */
int pgctl_promote(const char *conninfo, int64_t timeout_ms) WUR;
/* CHECKPOINT: after a promotion, so that the control file has the new timeline and
 * pg_rewind of the former primary sees the fork (it reads the timeline there). */
int pgctl_checkpoint(const char *conninfo, int64_t timeout_ms) WUR;
/* The server refuses writes at once: default_transaction_read_only on (ALTER SYSTEM +
 * reload) and every client backend's session terminated. Undone by pgctl_unfence. */
int pgctl_fence(const char *conninfo, int64_t timeout_ms) WUR;
int pgctl_unfence(const char *conninfo, int64_t timeout_ms) WUR;
/* synchronous_standby_names (ALTER SYSTEM + reload); "" for none. */
int pgctl_set_sync(const char *conninfo, const char *names, int64_t timeout_ms) WUR;
/* pg_ctl stop -m fast|immediate / start -w, on the member's data-dir. */
int pgctl_stop(const config_member *m, const char *mode, int64_t timeout_ms) WUR;
/* The server of m's data folder killed outright (SIGKILL to its postmaster and every
 * child, waited for): for a server that does not answer nor stop (paused, hung), which
 * a signal it must handle cannot end. 0 also when none runs. Only a postmaster whose
 * working folder is m's data folder is touched (a pid reused by another process is not). */
int pgctl_kill(const config_member *m, int64_t timeout_ms) WUR;
/* A process that is gone, or a zombie (dead, not reaped: its parent may be a PID 1 that
 * reaps nothing, as in some containers), by /proc/PID/stat. */
int pgctl_pid_gone(pid_t pid);
int pgctl_start(const config_member *m, int64_t timeout_ms) WUR;
/* Makes a stopped member a standby of primary_conninfo: standby.signal, primary_conninfo
 * (with application_name = the member) and recovery_target_timeline = latest in
 * postgresql.auto.conf; then starts it. */
int pgctl_follow(const config_member *m, const char *primary_conninfo, int64_t timeout_ms) WUR;
/* A running standby made to stream from another primary without a restart:
 * primary_conninfo (with application_name = member) by ALTER SYSTEM + reload, which
 * restarts its WAL receiver (PostgreSQL 13 and later); timelines are followed as
 * recovery_target_timeline says (latest, the default). Added for the engine: the
 * other standbys of a group after a failover. */
int pgctl_repoint(const char *conninfo, const char *member, const char *primary_conninfo, int64_t timeout_ms) WUR;
/* Whether a standby's upstream (pg_state.upstream, "host:port" or "[v6]:port") is the
 * server of conninfo (its host and port; port 5432 when it names none). A conninfo that
 * cannot be read counts as the same (nothing is repointed on a guess). */
int pgctl_streams_from(const char *upstream, const char *conninfo);
/* pg_rewind of a stopped former primary from source_conninfo (the new primary); the
 * reason in err when it fails. *possible 0 (and why) when neither wal_log_hints nor
 * data checksums allow a rewind (pg_controldata). */
int pgctl_rewind(const config_member *m, const char *source_conninfo, int64_t timeout_ms, char *err,
                 size_t cap) WUR;
int pgctl_rewind_possible(const config_member *m, int *possible, char *why, size_t cap) WUR;
/* The timeline the server at conninfo is on, and its history file's text (empty for
 * timeline 1), asked over a replication connection (IDENTIFY_SYSTEM, TIMELINE_HISTORY):
 * what a standby's primary_conninfo may do anyway, no superuser needed. */
int pgctl_history(const char *conninfo, int64_t timeout_ms, uint32_t *tli, buf *text) WUR;
/* Where a stopped member's WAL ends (whether it was shut down cleanly or not): from its
 * control file's latest checkpoint, pg_waldump reads every valid record on that
 * checkpoint's timeline, or, when pg_wal holds the history of newer timelines (a
 * promotion not yet followed by a checkpoint), on the newest of them with WAL of its
 * own, from its switch point;
 * *last is the start of the last record, *tli its timeline. Read only: nothing in the
 * data folder changes. */
int pgctl_wal_last(const config_member *m, int64_t timeout_ms, uint32_t *tli, uint64_t *last) WUR;
/* "0/3000060" <-> 64-bit LSN */
int pgctl_parse_lsn(const char *text, uint64_t *lsn);
void pgctl_format_lsn(uint64_t lsn, char *out, size_t cap);

#endif
