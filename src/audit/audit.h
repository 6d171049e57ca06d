/* audit — the append-only, hash-chained record of every command that changes a
 * repository or restores from it. Each record carries the MAC of the one before,
 * keyed with a key derived from the master key, so an edit, deletion, insertion or
 * reordering is detected. The repository holds the chain (audit/<seq>); a local
 * copy under the state folder mirrors it so the trail survives either's loss. */
#ifndef LL_AUDIT_H
#define LL_AUDIT_H

#include <stdint.h>

#include "../repo/repo.h"

typedef struct audit_event {
    const char *command;
    char *const *args;
    int nargs;
    int exit_code;
    const char *message; /* outcome text: "ok" or the error */
    char *const *ids;    /* ids touched (snapshots, keys...) */
    size_t nids;
} audit_event;

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

/* Checks the repository chain and the local copy; fn is called with each problem. */
typedef void (*audit_problem_fn)(const char *where, const char *problem, void *ctx);
int audit_verify(repo *r, audit_problem_fn fn, void *ctx, uint64_t *records, int *problems) WUR;

/* Decodes a line "<json>\t<mac hex>" (fuzzed via audit_line_parse). */
int audit_line_parse(const char *line, size_t len, uint64_t *seq, uint8_t prev[32], uint8_t mac[32],
                     size_t *json_len) WUR;

#endif
