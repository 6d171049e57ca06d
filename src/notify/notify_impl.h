/* notify_impl — what the dispatcher (notify.c) and the channels (notify_webhook.c,
 * notify_smtp.c, notify_command.c) share: a channel with its resolved secrets, the
 * table of functions each channel type fills, the outcome of one attempt, and the
 * pure helpers the unit tests reach (rendering, Retry-After, backoff, schedules).
 * Not for other modules: they use notify.h. */
#ifndef LL_NOTIFY_IMPL_H
#define LL_NOTIFY_IMPL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/watch_config.h"
#include "notify.h"

/* What one delivery attempt came to. */
enum { NOTIFY_SENT = 0, NOTIFY_RETRY, NOTIFY_FAILED };

typedef struct notify_result {
    int outcome;            /* NOTIFY_SENT / NOTIFY_RETRY / NOTIFY_FAILED */
    int64_t retry_after_ms; /* the receiver's Retry-After as a delay; -1 when it gave none */
    char error[512];        /* why, for the dead letter and the operator; never a secret */
} notify_result;

typedef struct notify_channel notify_channel;

/* One channel type (webhook, smtp, command): sends one alert within timeout_ms. */
typedef struct notify_ops {
    const char *type;
    void (*send)(const notify_channel *ch, const cJSON *alert, int64_t now_wall_ms, notify_result *res);
} notify_ops;

/* A [notify "NAME"] section, copied from the configuration with its secrets read. */
struct notify_channel {
    char name[64];
    int type, format, severity;
    unsigned events;
    int64_t after_ms, max_age_ms, timeout_ms;
    char *url;         /* url, or url-file's content (a secret: never in a message) */
    char *command, *to, *from, *user;
    char *password;    /* password-file's content */
    char *routing_key; /* routing-key-file's content */
    char *fallback;    /* a channel's name, or NULL */
    char *node;        /* this agent's name (the pagerduty source, the mail's domain) */
    const notify_ops *ops;
};

extern const notify_ops notify_webhook_ops, notify_smtp_ops, notify_command_ops;

/* The body a webhook channel POSTs for alert, in format (NOTIFY_JSON, _SLACK,
 * _PAGERDUTY); a malloc'd NUL-terminated JSON text, NULL when out of memory. */
char *notify_render_webhook(const notify_channel *ch, const cJSON *alert);
/* The whole RFC 5322 message (CRLF lines) a mail channel sends for alert. */
char *notify_render_mail(const notify_channel *ch, const cJSON *alert, int64_t now_wall_ms);
/* The key one incident's alerts share at a receiver (pagerduty dedup_key, the
 * Alertmanager groupKey): "lifeline/<node>/incident/<id>", or ".../<alert id>"
 * for an alert of no incident. */
void notify_incident_key(const cJSON *alert, const char *node, char *out, size_t cap);

/* Alert fields, "" (or 0) when missing or of another type. */
const char *notify_alert_str(const cJSON *alert, const char *field);
int64_t notify_alert_int(const cJSON *alert, const char *field);
/* "2026-12-01T17:28:40.123Z" */
void notify_time_rfc3339(int64_t ms, char *out, size_t cap);

/* The result of an HTTP status: 2xx sent; 408, 429, 5xx retry; others failed. */
int notify_classify_http(long status);
/* A Retry-After value (delay-seconds or an HTTP-date) as a delay from now_wall_ms:
 * 0 and *delay_ms set, or -1 when the value is neither. A date in the past is 0. */
int notify_parse_retry_after(const char *value, int64_t now_wall_ms, int64_t *delay_ms);
/* The delay before retry number attempts + 1: 5 s doubling per attempt, at most
 * 10 min, with jitter from rnd (uniform 0..UINT32_MAX) over its upper half. */
int64_t notify_backoff_ms(int attempts, uint32_t rnd);
#define NOTIFY_BACKOFF_BASE_MS 5000
#define NOTIFY_BACKOFF_CAP_MS (10 * 60 * 1000)
/* A receiver's Retry-After is honoured up to this much. */
#define NOTIFY_RETRY_AFTER_MAX_MS (60 * 60 * 1000)
/* The reminders of an open incident: number k (from 1) is due this long after it
 * opened: 1 h, 5 h, 13 h, 25 h (gaps of 4, 8, 12 h), then every 12 h. */
int64_t notify_reminder_offset_ms(int k);
/* The newest reminder due for an incident open open_for_ms: its number, 0 for none. */
int notify_reminder_due(int64_t open_for_ms);

#endif
