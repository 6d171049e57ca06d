/* audit — the append-only, hash-chained record of every command that changes a
 * repository or restores from it. Each record carries the MAC of the one before,
 * keyed with a key derived from the master key, so an edit, deletion, insertion or
 * reordering is detected. The repository holds the chain (audit/<seq>); a local
 * copy under the state folder mirrors it so the trail survives either's loss. */
#ifndef LL_AUDIT_H
#define LL_AUDIT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "../repo/repo.h"
#include "../repo/snapshot.h"

typedef struct audit_event {
    const char *command;
    char *const *args;
    int nargs;
    int exit_code;
    const char *message; /* outcome text: "ok" or the error */
    char *const *ids;    /* ids touched (snapshots, keys...) */
    size_t nids;
} audit_event;

/* What a record says of an event (time, user, host, pid, command, args, exit,
 * outcome, ids), added to o: the one description of a record's fields, used by
 * chained records and by the local-only ones a read-only repository leaves. */
void audit_event_fields(cJSON *o, const audit_event *e);

/* The local copy's path: $LIFELINE_STATE_DIR, else /var/lib/lifeline for root,
 * else $XDG_STATE_HOME/lifeline or ~/.local/state/lifeline. */
int audit_local_path(const repo *r, char *out, size_t cap) WUR;
int audit_append(repo *r, const audit_event *e) WUR;

typedef struct audit_record {
    uint64_t seq;
    char *json; /* the record as stored, for show */
} audit_record;

/* Records in the repository, oldest first; damaged ones are skipped here and
 * reported by verify. */
int audit_list(repo *r, audit_record **out, size_t *n) WUR;
void audit_records_free(audit_record **list, size_t n);

/* Checks the repository chain and the local copy; fn is called with each problem.
 * Damaged (does not authenticate, edited, missing, out of order) and unreadable
 * (permissions, I/O: the record may be intact) are counted apart. A record with a
 * "break" list chains from the record before the first one listed: the trail went on
 * past records that could not be read when it was written. */
typedef void (*audit_problem_fn)(const char *where, const char *problem, void *ctx);
typedef struct audit_verify_result {
    uint64_t records; /* intact records in the repository */
    int damaged, unreadable;
    int breaks; /* records that continued the trail past unusable ones */
} audit_verify_result;
int audit_verify(repo *r, audit_problem_fn fn, void *ctx, audit_verify_result *res) WUR;

/* What the intact records say is in force: snapshots saved by backup and not
 * forgotten since, and legal holds placed and not released, each with the record
 * that made it (seq, time in Unix seconds). incomplete: some record could not be read,
 * so a fact may be missing (never a false one). */
typedef struct audit_fact {
    uint8_t id[32];
    uint64_t seq;
    int64_t time;
} audit_fact;
typedef struct audit_state {
    audit_fact *saved, *holds;
    size_t nsaved, nholds;
    int incomplete;
} audit_state;
int audit_state_load(repo *r, audit_state *st) WUR;
void audit_state_free(audit_state *st);
const audit_fact *audit_state_find(const audit_fact *list, size_t n, const uint8_t id[32]);

/* For check: the trail verified exactly as audit verify does, then what it records
 * compared with the repository: a hold in force whose file is gone, a saved snapshot
 * no forget removed that is gone, a hold file damaged or not in the trail. severity
 * is "error" or "warning". Damaged and unreadable are counted apart. */
typedef void (*audit_check_fn)(const char *severity, const char *object, const char *problem, void *ctx);
typedef struct audit_check_result {
    uint64_t records;
    int damaged, unreadable, warnings;
} audit_check_result;
int audit_check(repo *r, audit_check_fn fn, void *ctx, audit_check_result *res) WUR;
/* The second half alone (audit verify runs it after its own report of the chain);
 * adds to res. */
int audit_check_state(repo *r, audit_check_fn fn, void *ctx, audit_check_result *res) WUR;

/* Marks the snapshots of list that the trail says are held but whose hold file is
 * gone (held = 1, hold_lost = the record that placed it); *lost counts them. */
int audit_mark_holds(repo *r, snapshot *list, size_t n, size_t *lost) WUR;

/* The snapshot_known_fn of snapshot_newest_guard: the trail's saved snapshots. */
int audit_known_snapshots(repo *r, snapshot_known **out, size_t *n) WUR;

/* Decodes a line "<json>\t<mac hex>" (fuzzed via audit_line_parse). */
int audit_line_parse(const char *line, size_t len, uint64_t *seq, uint8_t prev[32], uint8_t mac[32],
                     size_t *json_len) WUR;

/* A record's "break" list (contiguous seqs ending just below seq): the first of them,
 * seq when there is none, 0 with *bad set when malformed (fuzzed with the line). */
uint64_t audit_break_first(const char *json, size_t json_len, uint64_t seq, int *bad);

#endif
