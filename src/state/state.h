/* state — the watch agent's embedded state in SQLite: events, incidents with their
 * timelines, and the notification outbox. WAL mode, synchronous=FULL: what a call
 * returned 0 for survives kill -9 and power loss. A cache of history, never needed to
 * restore anything. Every call waits at most the busy timeout given to state_open. */
#ifndef LL_STATE_H
#define LL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

typedef struct state state;

/* The schema version this build writes (PRAGMA user_version). */
#define STATE_SCHEMA_VERSION 2

/* Opens (creating, mode 0600) the database file path and brings its schema up to
 * STATE_SCHEMA_VERSION; a database of a newer version is refused (ERR_VERSION).
 * busy_ms bounds every wait for another process's lock (ERR_LOCKED past it). */
int state_open(const char *path, int busy_ms, state **out) WUR;
void state_close(state **s);

/* One thing that happened; incident is 0 when it belongs to none. Times are
 * milliseconds since the epoch (UTC). */
int state_event_add(state *s, int64_t at_ms, const char *kind, const char *target, const char *message,
                    int64_t incident, int64_t *id) WUR;

/* An incident of target (a service, a group) opened at at_ms; its first timeline
 * entry is ("opened", title). */
int state_incident_open(state *s, const char *target, const char *title, int64_t at_ms, int64_t *id) WUR;
/* One entry of an open or closed incident's timeline (detection, action, update...). */
int state_incident_note(state *s, int64_t id, int64_t at_ms, const char *kind, const char *message) WUR;
/* Closes an open incident (ERR_NOTFOUND when there is none such open), with a
 * "closed" timeline entry saying why. */
int state_incident_close(state *s, int64_t id, int64_t at_ms, const char *message) WUR;

typedef struct state_entry {
    int64_t at_ms;
    char *kind, *message;
} state_entry;

typedef struct state_incident {
    int64_t id, opened_ms, closed_ms; /* closed_ms 0 while open */
    char *target, *title;
    state_entry *entries;             /* the timeline, oldest first */
    size_t nentries;
} state_incident;

/* ERR_NOTFOUND when there is no incident id. */
int state_incident_get(state *s, int64_t id, state_incident *out) WUR;
void state_incident_free(state_incident *in);

/* The outbox: a notification is committed here before any attempt to send it. */
enum { STATE_OUT_PENDING, STATE_OUT_DELIVERED, STATE_OUT_DEAD };

typedef struct state_outbox_item {
    int64_t id;
    char *dedup_key, *channel, *payload;
    int attempts;
    int64_t created_ms, next_attempt_ms, done_ms; /* done_ms: delivered or dead-lettered */
    int state;
    char *last_error;
} state_outbox_item;

/* Queues payload for channel. The same (dedup_key, channel) twice is queued once:
 * *id is the first one's and *added 0 (either may be NULL). */
int state_outbox_enqueue(state *s, const char *dedup_key, const char *channel, const char *payload, int64_t now_ms,
                         int64_t *id, int *added) WUR;
/* The next item to send at now_ms: per channel only the oldest pending one is
 * eligible (a receiver gets its events in order), and only when its next attempt is
 * due. *found 0 when none is. */
int state_outbox_next_due(state *s, int64_t now_ms, state_outbox_item *out, int *found) WUR;
int state_outbox_get(state *s, int64_t id, state_outbox_item *out) WUR;
void state_outbox_item_free(state_outbox_item *it);
/* Outcomes of one attempt (each counts it): delivered; failed, to be retried at
 * next_ms; failed for good (dead letter). ERR_NOTFOUND when id is not pending. */
int state_outbox_mark_delivered(state *s, int64_t id, int64_t now_ms) WUR;
int state_outbox_mark_retry(state *s, int64_t id, int64_t now_ms, int64_t next_ms, const char *error) WUR;
int state_outbox_mark_dead(state *s, int64_t id, int64_t now_ms, const char *error) WUR;
/* How many items are pending, dead-lettered and delivered (for metrics). */
int state_outbox_counts(state *s, int64_t *pending, int64_t *dead, int64_t *delivered) WUR;
/* Whether (dedup_key, channel) was ever queued, in any state: *exists 0 or 1. */
int state_outbox_exists(state *s, const char *dedup_key, const char *channel, int *exists) WUR;
/* *n: how many items of channel (in any state) have a dedup key that begins with
 * prefix ("was this channel told anything of incident 12": "incident/12/"). */
int state_outbox_count_prefix(state *s, const char *channel, const char *prefix, int64_t *n) WUR;


/* Holds of automation: while target (a service, a group, or "*" for everything) is
 * held, the agent probes, records and notifies but takes no action. kind: "pause"
 * (a person: lifeline pause), "escalation" (the agent, past max-recoveries and the
 * like), "maintenance" (lifeline stop: down on purpose). One hold per target: a new
 * one replaces it. */
typedef struct state_hold {
    char *target, *kind, *reason, *by;
    int64_t at_ms;
} state_hold;
int state_hold_set(state *s, const char *target, const char *kind, const char *reason, const char *by,
                   int64_t at_ms) WUR;
/* *cleared 0 when target had no hold (not an error). */
int state_hold_clear(state *s, const char *target, int *cleared) WUR;
int state_hold_list(state *s, state_hold **out, size_t *n) WUR;
void state_holds_free(state_hold **list, size_t n);

/* Each service's last known state, written by the agent when it changes, so that a
 * restarted agent resumes (its incident, its recovery attempts) rather than forgets.
 * recoveries: the agent's own text (attempt times). */
typedef struct state_service {
    char *name, *state, *detail, *recoveries;
    int64_t since_ms, incident; /* incident 0: none open */
} state_service;
int state_service_put(state *s, const state_service *sv) WUR;
int state_service_list(state *s, state_service **out, size_t *n) WUR;
void state_services_free(state_service **list, size_t n);

/* Adds one to the counter name (from 0) and gives the new value: strictly increasing
 * across restarts (fencing epochs). */
int state_counter_next(state *s, const char *name, int64_t *value) WUR;

#endif
