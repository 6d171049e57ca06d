/* notify — the watch agent's notifications: the channels of [notify "NAME"]
 * (webhook in the json / slack / pagerduty formats, smtp, command), and the durable
 * outbox dispatcher over src/state: an alert is committed to the outbox before any
 * attempt, sent at least once per (dedup key, channel), in order per channel, with
 * retries, dead letters, fallbacks, `after` delays and reminders while an incident
 * stays open. */
#ifndef LL_NOTIFY_H
#define LL_NOTIFY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../core/err.h"
#include "../state/state.h"

typedef struct notify notify;

/* The channels of cfg, their secrets (url-file, password-file, routing-key-file) read
 * once here: an unreadable or empty secret file is ERR_CONFIG naming the channel and
 * the file, never its content. st may be NULL for notify_send_test alone; node is
 * this agent's name (NULL: cfg's [watch] node, else the host name). */
int notify_new(const config *cfg, state *st, const char *node, notify **out) WUR;
void notify_free(notify **n);

/* Queues alert (the shape in docs/ARCHITECTURE.md: id, event, status, severity,
 * node, service, incident, title, message, at_ms, opened_ms, url) in the outbox of
 * every channel whose events and severity take it. A channel with `after` takes an
 * incident's alert only once the incident has been open that long (notify_tick
 * queues its delayed opening alert), and its resolution only when it was told of the
 * incident. Committed before any send; *queued: how many channels got it (may be
 * NULL). ERR_USAGE for an alert without id or with an unknown event. */
int notify_emit(notify *n, const cJSON *alert, int64_t now_ms, int *queued) WUR;

/* The dedup key of an incident's delayed opening alert; the agent's own opening
 * alert should carry the same id so a channel never gets both. */
#define NOTIFY_KEY_OPENED "incident/%lld/opened"
/* incident/<id>/reminder/<k> */
#define NOTIFY_KEY_REMINDER "incident/%lld/reminder/%d"

typedef struct notify_open {
    int64_t id, opened_ms;
    const char *target, *title;
} notify_open;
/* Called every loop with the open incidents: queues the opening alert for channels
 * whose `after` has now passed, and the update reminders (1 h, 5 h, 13 h, 25 h, then
 * every 12 h after opening; only the newest due one, never a backlog). */
int notify_tick(notify *n, const notify_open *open, size_t nopen, int64_t now_ms) WUR;

/* fn(ctx) is called on the queuing thread after each item committed to the outbox (the
 * agent wakes its sender with it). */
void notify_on_queue(notify *n, void (*fn)(void *ctx), void *ctx);
/* The wall-clock time at which notify_dispatch will next find an item due; *found 0
 * when nothing is pending. */
int notify_next_at(notify *n, int64_t *at_wall_ms, int *found) WUR;

/* What became of one attempt: delivered, dead-lettered (dead), or neither: it will be
 * retried. error is NULL when delivered. */
typedef void (*notify_outcome_fn)(void *ctx, const char *channel, const char *dedup_key, int delivered, int dead,
                                  const char *error);
/* Sends due outbox items, oldest first per channel, each attempt bounded by its
 * channel's timeout, until none is due or the monotonic deadline_mono_ms (proc_now_ms)
 * has passed (an attempt started before it may end up to its timeout after it).
 * Retries (backoff 5 s doubling to 10 min, with jitter; Retry-After honoured) on
 * network errors, 408, 429 and 5xx; other failures and items older than max-age are
 * dead-lettered and queued to the channel's fallback. fn may be NULL. */
int notify_dispatch(notify *n, int64_t now_wall_ms, int64_t deadline_mono_ms, notify_outcome_fn fn, void *ctx) WUR;

/* Sends a test alert through channel now (not through the outbox); on failure the
 * reason in err. ERR_NOTFOUND for no such channel, ERR_SOURCE when it was refused. */
int notify_send_test(notify *n, const char *channel, char *err, size_t cap) WUR;

/* The channels' names in configuration order (for notify test). */
size_t notify_channel_count(const notify *n);
const char *notify_channel_name(const notify *n, size_t i);
const char *notify_channel_type(const notify *n, size_t i);

/* Outbox totals for /metrics: pending, dead-lettered, delivered. */
int notify_counts(notify *n, int64_t *pending, int64_t *failed, int64_t *delivered) WUR;

#endif
