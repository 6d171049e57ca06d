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
/* As state_open, for commands that only look (lifeline incidents): a database that
 * does not exist is ERR_NOTFOUND ("no state database at PATH") and is not created. */
int state_open_existing(const char *path, int busy_ms, state **out) WUR;
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
 * "closed" timeline entry saying why; its status becomes "resolved". */
int state_incident_close(state *s, int64_t id, int64_t at_ms, const char *message) WUR;

/* Timeline entry kinds, as the agent and the commands write them:
 *   opened        the incident began (the first failed probe); message: the title
 *   detection     the failure was confirmed (fall probes in a row failed)
 *   action        an automatic recovery attempt; message: what was run
 *   verification  its result: "verified: ..." (the probe passed rise times) or
 *                 "failed: ..."
 *   recovered     healthy again; escalation, hold, resume: automation's state
 *   notification  "delivered to CHANNEL" / "dead-lettered at CHANNEL: why"
 *   update        a person's status update (status set, see state_incident_update)
 *   mark          a person's false-positive mark (state_incident_mark); no status
 *   closed        the incident ended; message: why */

/* The incident statuses of a status page, in their usual order. */
extern const char *const state_incident_statuses[]; /* NULL-terminated */
/* Is status one of state_incident_statuses? */
int state_incident_status_valid(const char *status);

typedef struct state_entry {
    int64_t at_ms;
    char *kind, *message;
    char *status; /* an "update" entry's status; NULL on every other entry */
} state_entry;

typedef struct state_incident {
    int64_t id, opened_ms, closed_ms; /* closed_ms 0 while open */
    char *target, *title;
    state_entry *entries;             /* the timeline, oldest first */
    size_t nentries;
    char *status;                     /* investigating identified monitoring resolved */
    int false_positive;               /* marked so by a person */
    int64_t detected_ms;              /* the first "detection" entry's time; 0: none */
} state_incident;

/* ERR_NOTFOUND when there is no incident id. */
int state_incident_get(state *s, int64_t id, state_incident *out) WUR;
void state_incident_free(state_incident *in);

/* A person's update of incident id: sets its status (one of
 * state_incident_statuses, else ERR_USAGE) and adds an "update" timeline entry
 * with that status and message; by (who) goes into the events table with it.
 * "resolved" on an open incident also closes it (a "closed" entry saying by whom):
 * a person declares it over, as on a status page; should the service still fail,
 * the agent opens a new incident. A closed incident takes only "resolved" updates
 * (a late note); another status is ERR_USAGE (it is not reopened). ERR_NOTFOUND
 * when there is no incident id. */
int state_incident_update(state *s, int64_t id, int64_t at_ms, const char *status, const char *message,
                          const char *by) WUR;
/* Sets (1) or clears (0) the false-positive mark of incident id, with a "mark"
 * timeline entry naming by. ERR_NOTFOUND when there is no incident id. */
int state_incident_mark(state *s, int64_t id, int false_positive, int64_t at_ms, const char *by) WUR;

/* Incidents newest first (opened_ms, then id, descending): only the open ones when
 * open_only; with since_ms > 0 only those still open or closed at or after since_ms
 * (those that overlap the window). Each with its timeline when timelines, else
 * entries NULL. Free with state_incidents_free. */
int state_incident_list(state *s, int open_only, int64_t since_ms, int timelines, state_incident **out,
                        size_t *n) WUR;
void state_incidents_free(state_incident **list, size_t n);

/* What the status document, /metrics and `lifeline incidents` report. The window
 * is since_ms (0: everything). Definitions (docs/ARCHITECTURE.md, "Incident
 * metrics"):
 *   incidents_open   incidents open now (whatever the window)
 *   incidents_total  incidents opened at or after since_ms
 *   mttr_seconds     mean over those of them that are closed of closed_ms - detected,
 *                    detected = the first "detection" entry, else opened_ms
 *                    ("recovered - failure confirmed"); -1 when none is closed
 *   recovery_attempts    "action" entries at or after since_ms
 *   recoveries_verified  "verification" entries at or after since_ms whose message
 *                    starts with "verified", and after which, within one hour, the
 *                    same target failed no more: no later "action" in the same
 *                    incident and no new incident of the same target opened
 *                    (a success less than an hour old counts until it fails)
 *   recovery_success_rate  verified / attempts; -1 when no attempt
 *   false_positives  of incidents_total: marked false positive, or closed without
 *                    any "detection" entry (the failure was never confirmed)
 *   false_positive_rate    false_positives / incidents_total; -1 when none
 *   notifications_*  outbox items pending / dead-lettered / delivered (all time) */
typedef struct state_metrics {
    int64_t incidents_open, incidents_total;
    double mttr_seconds;
    int64_t recovery_attempts, recoveries_verified;
    double recovery_success_rate;
    int64_t false_positives;
    double false_positive_rate;
    int64_t notifications_pending, notifications_failed, notifications_delivered;
} state_metrics;
int state_metrics_get(state *s, int64_t since_ms, state_metrics *m) WUR;

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
/* When state_outbox_next_due will next find an item (the earliest next attempt among
 * each channel's oldest pending one): *found 0 when nothing is pending. */
int state_outbox_next_at(state *s, int64_t *at_ms, int *found) WUR;
int state_outbox_get(state *s, int64_t id, state_outbox_item *out) WUR;
void state_outbox_item_free(state_outbox_item *it);
/* Outcomes of one attempt (each counts it): delivered; failed, to be retried at
 * next_ms; failed for good (dead letter). ERR_NOTFOUND when id is not pending. */
int state_outbox_mark_delivered(state *s, int64_t id, int64_t now_ms) WUR;
int state_outbox_mark_retry(state *s, int64_t id, int64_t now_ms, int64_t next_ms, const char *error) WUR;
int state_outbox_mark_dead(state *s, int64_t id, int64_t now_ms, const char *error) WUR;
/* Every pending item due now (an agent that starts tries at once what waited for a
 * backoff: the receiver may have been fixed meanwhile). */
int state_outbox_retry_now(state *s, int64_t now_ms) WUR;
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
 * one replaces it. Whoever places or releases a hold (a command, even with no agent
 * running), the agent records it: a hold stays listed, released, until the agent has
 * recorded its release (state_hold_forget), and is marked once its placing is recorded. */
typedef struct state_hold {
    char *target, *kind, *reason, *by, *released_by;
    int64_t at_ms, released_ms; /* released_ms 0: in force */
    int recorded;               /* the agent has recorded its placing */
} state_hold;
int state_hold_set(state *s, const char *target, const char *kind, const char *reason, const char *by,
                   int64_t at_ms) WUR;
/* Releases target's hold (*released 0 when it had none in force: not an error). */
int state_hold_release(state *s, const char *target, const char *by, int64_t at_ms, int *released) WUR;
/* Every hold, in force or released and not yet forgotten, by target. */
int state_hold_list(state *s, state_hold **out, size_t *n) WUR;
void state_holds_free(state_hold **list, size_t n);
/* The agent's bookkeeping: the placing of target's hold (placed at at_ms) recorded;
 * a released hold recorded and gone. */
int state_hold_mark_recorded(state *s, const char *target, int64_t at_ms) WUR;
int state_hold_forget(state *s, const char *target, int64_t released_ms) WUR;

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
/* A counter's value (0 when never set), and setting it (a mark such as the last human
 * update the agent has sent on). */
int state_counter_get(state *s, const char *name, int64_t *value) WUR;
int state_counter_set(state *s, const char *name, int64_t value) WUR;

/* Forgets what the history no longer needs, so the database does not grow for ever:
 * events before events_before_ms, and notifications delivered or dead-lettered before
 * outbox_before_ms. Incidents and their timelines are kept (the status page shows 90
 * days; reviews need them). *removed counts the rows. */
int state_prune(state *s, int64_t events_before_ms, int64_t outbox_before_ms, int64_t *removed) WUR;

/* Human updates (timeline entries of kind "update") with timeline id above after_id,
 * oldest first, at most max: for the agent to send them on. */
typedef struct state_update {
    int64_t timeline_id, incident, at_ms;
    char *target, *status, *message;
} state_update;
int state_updates_after(state *s, int64_t after_id, size_t max, state_update **out, size_t *n) WUR;
void state_updates_free(state_update **list, size_t n);

#endif
