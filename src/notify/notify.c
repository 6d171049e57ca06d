/* notify — see notify.h: the channels read from the configuration, the outbox
 * dispatcher, `after` and reminder scheduling, and the small pure rules they use
 * (backoff, Retry-After, HTTP status classes). */
#define _GNU_SOURCE
#include "notify_impl.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/proc.h"

/* A secret file is small; anything bigger is not the file the operator meant. */
#define NOTIFY_SECRET_MAX 4096
#define NOTIFY_DEFAULT_MAX_AGE_MS (24LL * 3600 * 1000)
#define NOTIFY_DEFAULT_TIMEOUT_MS 10000
#define NOTIFY_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

struct notify {
    state *st;
    char *node, *url; /* url: the agent's status page, for links; NULL without listen */
    notify_channel *ch;
    size_t n;
    void (*on_queue)(void *ctx); /* told after an item was committed to the outbox */
    void *on_queue_ctx;
};

/* ---- the small rules ---- */

const char *notify_alert_str(const cJSON *alert, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(alert, field);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

int64_t notify_alert_int(const cJSON *alert, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(alert, field);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

void notify_time_rfc3339(int64_t ms, char *out, size_t cap)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(out, cap, "1970-01-01T00:00:00.000Z");
        return;
    }
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

void notify_incident_key(const cJSON *alert, const char *node, char *out, size_t cap)
{
    int64_t incident = notify_alert_int(alert, "incident");
    if (incident > 0)
        snprintf(out, cap, "lifeline/%s/incident/%lld", node, (long long)incident);
    else
        snprintf(out, cap, "lifeline/%s/%s", node, notify_alert_str(alert, "id"));
}

int notify_classify_http(long status)
{
    if (status >= 200 && status < 300)
        return NOTIFY_SENT;
    if (status == 408 || status == 429 || (status >= 500 && status < 600))
        return NOTIFY_RETRY;
    return NOTIFY_FAILED;
}

int notify_parse_retry_after(const char *value, int64_t now_wall_ms, int64_t *delay_ms)
{
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
                   value[len - 1] == '\n'))
        len--;
    if (!len || len > 64)
        return -1;
    char v[65];
    memcpy(v, value, len);
    v[len] = '\0';
    if (strspn(v, "0123456789") == len) { /* delay-seconds */
        if (len > 9)
            return -1; /* more than 30 years: not a delay anyone means */
        *delay_ms = strtoll(v, NULL, 10) * 1000;
        return 0;
    }
    /* an HTTP-date (IMF-fixdate, RFC 850 or asctime): curl_getdate reads all three;
     * it also takes looser forms, so a weekday-comma or a digit must be there */
    if (!strchr(v, ' ') || !strpbrk(v, "0123456789"))
        return -1;
    time_t at = curl_getdate(v, NULL);
    /* a date curl reads as far outside any sensible range (the year 999999999) is not a
     * Retry-After anyone means, and its milliseconds would overflow */
    if (at == (time_t)-1 || at < 0 || (int64_t)at > INT64_MAX / 1000 - 1)
        return -1;
    int64_t d = (int64_t)at * 1000 - now_wall_ms;
    *delay_ms = d > 0 ? d : 0;
    return 0;
}

int64_t notify_backoff_ms(int attempts, uint32_t rnd)
{
    int64_t d = NOTIFY_BACKOFF_BASE_MS;
    for (int i = 0; i < attempts && d < NOTIFY_BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > NOTIFY_BACKOFF_CAP_MS)
        d = NOTIFY_BACKOFF_CAP_MS;
    /* "equal jitter": at least half the delay, so retries spread out yet still back
     * off; many agents failing together do not retry in step */
    return d / 2 + (int64_t)((uint64_t)(d / 2) * rnd / UINT32_MAX);
}

int64_t notify_reminder_offset_ms(int k)
{
    static const int hours[] = {1, 5, 13, 25};
    const int64_t hour = 3600LL * 1000;
    if (k < 1)
        return 0;
    if (k <= 4)
        return hours[k - 1] * hour;
    return (25 + 12LL * (k - 4)) * hour;
}

int notify_reminder_due(int64_t open_for_ms)
{
    if (open_for_ms < notify_reminder_offset_ms(1))
        return 0;
    if (open_for_ms < notify_reminder_offset_ms(4)) {
        int k = 1;
        while (notify_reminder_offset_ms(k + 1) <= open_for_ms)
            k++;
        return k;
    }
    return 4 + (int)((open_for_ms - notify_reminder_offset_ms(4)) / (12LL * 3600 * 1000));
}

/* ---- channels from the configuration ---- */

/* The secret in path, trailing white space dropped: ERR_CONFIG naming channel and
 * file (never the content) when it cannot be read or is empty. */
static int read_secret(const char *channel, const char *key, const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(ERR_CONFIG, "[notify \"%s\"]: %s %s", channel, key, path);
    struct stat st;
    char *text = NULL;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = err_sys(ERR_CONFIG, "[notify \"%s\"]: %s %s", channel, key, path);
    else if (!S_ISREG(st.st_mode))
        rc = err_set(ERR_CONFIG, "[notify \"%s\"]: %s %s: not a regular file", channel, key, path);
    else if (st.st_size > NOTIFY_SECRET_MAX)
        rc = err_set(ERR_CONFIG, "[notify \"%s\"]: %s %s: larger than %d bytes", channel, key, path,
                     NOTIFY_SECRET_MAX);
    else if (!(text = calloc(1, NOTIFY_SECRET_MAX + 1)))
        rc = err_set(ERR_FATAL, "out of memory");
    ssize_t got = rc ? 0 : read(fd, text, NOTIFY_SECRET_MAX);
    if (!rc && got < 0)
        rc = err_sys(ERR_CONFIG, "[notify \"%s\"]: %s %s", channel, key, path);
    close(fd);
    if (!rc) {
        size_t len = (size_t)got;
        while (len && strchr(" \t\r\n", text[len - 1]))
            len--;
        text[len] = '\0';
        if (!len || memchr(text, '\0', len) || strpbrk(text, "\r\n"))
            rc = err_set(ERR_CONFIG, "[notify \"%s\"]: %s %s: %s", channel, key, path,
                         len ? "more than one line" : "empty");
    }
    if (rc) {
        free(text);
        return rc;
    }
    *out = text;
    return 0;
}

static int dup_opt(const char *from, char **to)
{
    if (!from)
        return 0;
    *to = strdup(from);
    return *to ? 0 : err_set(ERR_FATAL, "out of memory");
}

static void channel_free(notify_channel *ch)
{
    free(ch->url);
    free(ch->command);
    free(ch->to);
    free(ch->from);
    free(ch->user);
    if (ch->password)
        explicit_bzero(ch->password, strlen(ch->password));
    free(ch->password);
    if (ch->routing_key)
        explicit_bzero(ch->routing_key, strlen(ch->routing_key));
    free(ch->routing_key);
    free(ch->fallback);
    free(ch->node);
}

static int channel_from(const config_notify *c, const char *node, notify_channel *ch)
{
    memset(ch, 0, sizeof *ch);
    snprintf(ch->name, sizeof ch->name, "%s", c->name);
    ch->type = c->type;
    ch->format = c->format;
    ch->severity = c->severity;
    ch->events = c->events;
    ch->after_ms = c->after * 1000;
    ch->max_age_ms = c->max_age ? c->max_age * 1000 : NOTIFY_DEFAULT_MAX_AGE_MS;
    ch->timeout_ms = c->timeout ? c->timeout * 1000 : NOTIFY_DEFAULT_TIMEOUT_MS;
    ch->ops = c->type == NOTIFY_SMTP ? &notify_smtp_ops : c->type == NOTIFY_COMMAND ? &notify_command_ops
                                                                                    : &notify_webhook_ops;
    int rc = dup_opt(c->url, &ch->url);
    if (!rc)
        rc = dup_opt(c->command, &ch->command) || dup_opt(c->to, &ch->to) || dup_opt(c->from, &ch->from) ||
             dup_opt(c->user, &ch->user) || dup_opt(c->fallback, &ch->fallback) || dup_opt(node, &ch->node);
    if (rc)
        return ERR_FATAL;
    if (c->url_file) {
        if ((rc = read_secret(c->name, "url-file", c->url_file, &ch->url)))
            return rc;
        if (strncmp(ch->url, "http://", 7) && strncmp(ch->url, "https://", 8) && strncmp(ch->url, "smtp://", 7) &&
            strncmp(ch->url, "smtps://", 8))
            return err_set(ERR_CONFIG, "[notify \"%s\"]: url-file %s does not hold an http(s):// or smtp(s):// URL",
                           c->name, c->url_file);
    }
    if (c->password_file && (rc = read_secret(c->name, "password-file", c->password_file, &ch->password)))
        return rc;
    if (c->routing_key_file && (rc = read_secret(c->name, "routing-key-file", c->routing_key_file, &ch->routing_key)))
        return rc;
    if (!ch->url && c->type == NOTIFY_WEBHOOK && c->format == NOTIFY_PAGERDUTY)
        rc = dup_opt(NOTIFY_PAGERDUTY_URL, &ch->url);
    return rc;
}

int notify_new(const config *cfg, state *st, const char *node, notify **out)
{
    *out = NULL;
    notify *n = calloc(1, sizeof *n);
    char host[256] = "localhost";
    if (!n)
        return err_set(ERR_FATAL, "out of memory");
    if (!node)
        node = cfg->watch.node;
    if (!node && gethostname(host, sizeof host - 1) == 0)
        node = host;
    n->st = st;
    n->node = strdup(node ? node : "localhost");
    if (cfg->watch.listen && asprintf(&n->url, "http://%s/", cfg->watch.listen) < 0)
        n->url = NULL;
    n->ch = calloc(cfg->nnotifies + 1, sizeof *n->ch);
    int rc = !n->node || !n->ch || (cfg->watch.listen && !n->url) ? err_set(ERR_FATAL, "out of memory") : 0;
    /* every curl_global_init is matched by the cleanup in notify_free */
    if (!rc && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rc = err_set(ERR_FATAL, "libcurl could not be initialised");
    for (size_t i = 0; !rc && i < cfg->nnotifies; i++) {
        rc = channel_from(&cfg->notifies[i], n->node, &n->ch[i]);
        n->n = i + 1; /* freed by notify_free even when half made */
    }
    if (!rc)
        *out = n;
    else
        notify_free(&n);
    return rc;
}

void notify_free(notify **np)
{
    notify *n = *np;
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        channel_free(&n->ch[i]);
    if (n->ch)
        curl_global_cleanup();
    free(n->ch);
    free(n->node);
    free(n->url);
    free(n);
    *np = NULL;
}

static notify_channel *channel_find(notify *n, const char *name)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->ch[i].name, name))
            return &n->ch[i];
    return NULL;
}

size_t notify_channel_count(const notify *n)
{
    return n->n;
}

const char *notify_channel_name(const notify *n, size_t i)
{
    return i < n->n ? n->ch[i].name : NULL;
}

const char *notify_channel_type(const notify *n, size_t i)
{
    return i < n->n ? n->ch[i].ops->type : NULL;
}

/* ---- queueing ---- */

static int event_bit(const char *event, unsigned *bit)
{
    for (unsigned i = 0; watch_config_events[i]; i++)
        if (!strcmp(event, watch_config_events[i])) {
            *bit = 1u << i;
            return 0;
        }
    return err_set(ERR_USAGE, "notification: unknown event '%s'", event);
}

static int severity_of(const char *s)
{
    return !strcmp(s, "critical") ? NOTIFY_SEV_CRITICAL : !strcmp(s, "warning") ? NOTIFY_SEV_WARNING
                                                                                : NOTIFY_SEV_INFO;
}

static int need_state(notify *n)
{
    return n->st ? 0 : err_set(ERR_USAGE, "notifications: no state database to queue them in");
}

/* Whether a channel with `after` takes alert now: only what concerns an incident
 * open that long, and the end of one only when it was told of its start. */
static int after_allows(notify *n, const notify_channel *ch, const cJSON *alert, int64_t now_ms, int *ok)
{
    int64_t incident = notify_alert_int(alert, "incident"), opened = notify_alert_int(alert, "opened_ms");
    const char *status = notify_alert_str(alert, "status");
    *ok = 0;
    if (incident <= 0)
        return 0;
    if (!strcmp(status, "resolved")) {
        char prefix[64];
        int64_t told = 0;
        snprintf(prefix, sizeof prefix, "incident/%lld/", (long long)incident);
        int rc = state_outbox_count_prefix(n->st, ch->name, prefix, &told);
        *ok = told > 0;
        return rc;
    }
    *ok = opened > 0 && now_ms - opened >= ch->after_ms;
    return 0;
}

/* Every item goes into the outbox here: committed, then the sender is told (it sleeps
 * until the next item is due or one is queued). */
static int enqueue(notify *n, const char *id, const char *channel, const char *payload, int64_t now_ms, int *added)
{
    int got = 0;
    int rc = state_outbox_enqueue(n->st, id, channel, payload, now_ms, NULL, &got);
    if (!rc && got && n->on_queue)
        n->on_queue(n->on_queue_ctx);
    if (added)
        *added = got;
    return rc;
}

void notify_on_queue(notify *n, void (*fn)(void *ctx), void *ctx)
{
    n->on_queue = fn;
    n->on_queue_ctx = ctx;
}

int notify_next_at(notify *n, int64_t *at_wall_ms, int *found)
{
    *found = 0;
    int rc = need_state(n);
    return rc ? rc : state_outbox_next_at(n->st, at_wall_ms, found);
}

int notify_emit(notify *n, const cJSON *alert, int64_t now_ms, int *queued)
{
    unsigned bit = 0;
    const char *id = notify_alert_str(alert, "id");
    int rc = need_state(n), count = 0;
    if (!rc && !id[0])
        rc = err_set(ERR_USAGE, "notification: the alert has no id");
    if (!rc)
        rc = event_bit(notify_alert_str(alert, "event"), &bit);
    char *payload = rc ? NULL : cJSON_PrintUnformatted(alert);
    if (!rc && !payload)
        rc = err_set(ERR_FATAL, "out of memory");
    int sev = severity_of(notify_alert_str(alert, "severity"));
    for (size_t i = 0; !rc && i < n->n; i++) {
        const notify_channel *ch = &n->ch[i];
        int ok = (!ch->events || (ch->events & bit)) && sev >= ch->severity;
        if (ok && ch->after_ms > 0)
            rc = after_allows(n, ch, alert, now_ms, &ok);
        int added = 0;
        if (!rc && ok)
            rc = enqueue(n, id, ch->name, payload, now_ms, &added);
        count += added;
    }
    free(payload);
    if (queued)
        *queued = count;
    return rc;
}

/* Queues alert for channel ch unless (id, ch) was queued before. */
static int queue_once(notify *n, const notify_channel *ch, const char *id, cJSON *alert, int64_t now_ms)
{
    int had = 0;
    int rc = state_outbox_exists(n->st, id, ch->name, &had);
    if (rc || had)
        return rc;
    char *payload = cJSON_PrintUnformatted(alert);
    if (!payload)
        return err_set(ERR_FATAL, "out of memory");
    rc = enqueue(n, id, ch->name, payload, now_ms, NULL);
    free(payload);
    return rc;
}

static cJSON *tick_alert(notify *n, const notify_open *o, const char *id, const char *event, const char *message,
                         int64_t now_ms)
{
    cJSON *a = cJSON_CreateObject();
    if (!a)
        return NULL;
    int bad = !cJSON_AddStringToObject(a, "id", id) || !cJSON_AddStringToObject(a, "event", event) ||
              !cJSON_AddStringToObject(a, "status", "firing") ||
              !cJSON_AddStringToObject(a, "severity", "critical") ||
              !cJSON_AddStringToObject(a, "node", n->node) ||
              !cJSON_AddStringToObject(a, "service", o->target ? o->target : "") ||
              !cJSON_AddNumberToObject(a, "incident", (double)o->id) ||
              !cJSON_AddStringToObject(a, "title", o->title ? o->title : "") ||
              !cJSON_AddStringToObject(a, "message", message) || !cJSON_AddNumberToObject(a, "at_ms", (double)now_ms) ||
              !cJSON_AddNumberToObject(a, "opened_ms", (double)o->opened_ms) ||
              !(n->url ? cJSON_AddStringToObject(a, "url", n->url) : cJSON_AddNullToObject(a, "url"));
    if (bad)
        cJSON_Delete(a);
    return bad ? NULL : a;
}

/* "2h 5m" */
static void span_text(int64_t ms, char *out, size_t cap)
{
    int64_t m = ms / 60000;
    if (m >= 60)
        snprintf(out, cap, "%lldh %lldm", (long long)(m / 60), (long long)(m % 60));
    else
        snprintf(out, cap, "%lldm", (long long)m);
}

/* The delayed opening alert for channels with `after`, once it has passed. */
static int tick_after(notify *n, const notify_open *o, int64_t now_ms)
{
    char id[64], msg[512], span[32];
    unsigned bit = 0;
    int rc = event_bit("incident", &bit);
    snprintf(id, sizeof id, NOTIFY_KEY_OPENED, (long long)o->id);
    span_text(now_ms - o->opened_ms, span, sizeof span);
    snprintf(msg, sizeof msg, "%s: incident %lld open for %s: %s", o->target ? o->target : "", (long long)o->id, span,
             o->title ? o->title : "");
    cJSON *alert = NULL;
    for (size_t i = 0; !rc && i < n->n; i++) {
        const notify_channel *ch = &n->ch[i];
        if (!ch->after_ms || now_ms - o->opened_ms < ch->after_ms || (ch->events && !(ch->events & bit)))
            continue;
        if (!alert && !(alert = tick_alert(n, o, id, "incident", msg, now_ms)))
            rc = err_set(ERR_FATAL, "out of memory");
        if (!rc)
            rc = queue_once(n, ch, id, alert, now_ms);
    }
    cJSON_Delete(alert);
    return rc;
}

/* The newest reminder due, to channels that take reminders and were told of the
 * incident before it (for a channel with `after`, the delayed opening stands in
 * for the reminders due by then). */
static int tick_reminder(notify *n, const notify_open *o, int64_t now_ms)
{
    int k = notify_reminder_due(now_ms - o->opened_ms);
    unsigned bit = 0;
    int rc = event_bit("reminder", &bit);
    if (rc || !k)
        return rc;
    char id[80], msg[512], span[32];
    snprintf(id, sizeof id, NOTIFY_KEY_REMINDER, (long long)o->id, k);
    span_text(now_ms - o->opened_ms, span, sizeof span);
    snprintf(msg, sizeof msg, "reminder: %s: incident %lld still open after %s: %s", o->target ? o->target : "",
             (long long)o->id, span, o->title ? o->title : "");
    cJSON *alert = NULL;
    for (size_t i = 0; !rc && i < n->n; i++) {
        const notify_channel *ch = &n->ch[i];
        if ((ch->events && !(ch->events & bit)) || notify_reminder_offset_ms(k) <= ch->after_ms)
            continue;
        if (!alert && !(alert = tick_alert(n, o, id, "reminder", msg, now_ms)))
            rc = err_set(ERR_FATAL, "out of memory");
        if (!rc)
            rc = queue_once(n, ch, id, alert, now_ms);
    }
    cJSON_Delete(alert);
    return rc;
}

int notify_tick(notify *n, const notify_open *open, size_t nopen, int64_t now_ms)
{
    int rc = need_state(n);
    for (size_t i = 0; !rc && i < nopen; i++) {
        rc = tick_after(n, &open[i], now_ms);
        if (!rc)
            rc = tick_reminder(n, &open[i], now_ms);
    }
    return rc;
}

/* ---- sending ---- */

/* The alert re-queued to ch's fallback (under its own dedup key, so once). */
static int to_fallback(notify *n, const notify_channel *ch, const state_outbox_item *it, int64_t now_ms)
{
    if (!ch || !ch->fallback)
        return 0;
    return enqueue(n, it->dedup_key, ch->fallback, it->payload, now_ms, NULL);
}

/* One attempt at item it; the outcome recorded in state. */
static int attempt(notify *n, const state_outbox_item *it, int64_t now_ms, notify_result *res)
{
    notify_channel *ch = channel_find(n, it->channel);
    memset(res, 0, sizeof *res);
    res->retry_after_ms = -1;
    cJSON *alert = NULL;
    if (!ch) {
        /* a channel gone from the configuration may come back with the next reload */
        res->outcome = NOTIFY_RETRY;
        snprintf(res->error, sizeof res->error, "no [notify \"%s\"] in the configuration", it->channel);
    } else if (now_ms - it->created_ms > ch->max_age_ms) {
        res->outcome = NOTIFY_FAILED;
        snprintf(res->error, sizeof res->error, "not delivered within max-age (%llds); last error: %s",
                 (long long)(ch->max_age_ms / 1000), it->last_error[0] ? it->last_error : "none");
    } else if (!(alert = cJSON_Parse(it->payload))) {
        res->outcome = NOTIFY_FAILED;
        snprintf(res->error, sizeof res->error, "the queued alert is not JSON");
    } else {
        ch->ops->send(ch, alert, now_ms, res);
    }
    cJSON_Delete(alert);
    if (!ch && now_ms - it->created_ms > NOTIFY_DEFAULT_MAX_AGE_MS)
        res->outcome = NOTIFY_FAILED;
    if (res->outcome == NOTIFY_SENT)
        return state_outbox_mark_delivered(n->st, it->id, now_ms);
    if (res->outcome == NOTIFY_FAILED) {
        int rc = state_outbox_mark_dead(n->st, it->id, now_ms, res->error);
        return rc ? rc : to_fallback(n, ch, it, now_ms);
    }
    int64_t delay = !ch ? NOTIFY_BACKOFF_CAP_MS : notify_backoff_ms(it->attempts, (uint32_t)random() * 2u);
    /* Retry-After says "not before": a shorter one than our backoff does not make
     * us hammer a receiver (Retry-After: 0 would, in a loop) */
    if (res->retry_after_ms > delay)
        delay = res->retry_after_ms < NOTIFY_RETRY_AFTER_MAX_MS ? res->retry_after_ms : NOTIFY_RETRY_AFTER_MAX_MS;
    return state_outbox_mark_retry(n->st, it->id, now_ms, now_ms + delay, res->error);
}

int notify_dispatch(notify *n, int64_t now_wall_ms, int64_t deadline_mono_ms, notify_outcome_fn fn, void *ctx)
{
    int rc = need_state(n);
    int64_t mono0 = proc_now_ms();
    while (!rc && proc_now_ms() < deadline_mono_ms) {
        int64_t now = now_wall_ms + (proc_now_ms() - mono0); /* the wall clock as it moves on */
        state_outbox_item it;
        int found = 0;
        if ((rc = state_outbox_next_due(n->st, now, &it, &found)) || !found)
            break;
        notify_result res;
        rc = attempt(n, &it, now, &res);
        if (!rc && fn)
            fn(ctx, it.channel, it.dedup_key, res.outcome == NOTIFY_SENT, res.outcome == NOTIFY_FAILED,
               res.outcome == NOTIFY_SENT ? NULL : res.error);
        state_outbox_item_free(&it);
    }
    return rc;
}

int notify_send_test(notify *n, const char *channel, char *err, size_t cap)
{
    const notify_channel *ch = channel_find(n, channel);
    if (!ch) {
        snprintf(err, cap, "no [notify \"%s\"] in the configuration", channel);
        return err_set(ERR_NOTFOUND, "%s", err);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char id[64], title[320];
    snprintf(id, sizeof id, "test/%lld", (long long)now);
    snprintf(title, sizeof title, "lifeline notification test from %s", n->node);
    cJSON *a = cJSON_CreateObject();
    int bad = !a || !cJSON_AddStringToObject(a, "id", id) || !cJSON_AddStringToObject(a, "event", "test") ||
              !cJSON_AddStringToObject(a, "status", "firing") || !cJSON_AddStringToObject(a, "severity", "info") ||
              !cJSON_AddStringToObject(a, "node", n->node) || !cJSON_AddStringToObject(a, "service", "") ||
              !cJSON_AddNullToObject(a, "incident") || !cJSON_AddStringToObject(a, "title", title) ||
              !cJSON_AddStringToObject(a, "message", "A test of this channel (lifeline notify test); no action needed.") ||
              !cJSON_AddNumberToObject(a, "at_ms", (double)now) || !cJSON_AddNullToObject(a, "opened_ms") ||
              !(n->url ? cJSON_AddStringToObject(a, "url", n->url) : cJSON_AddNullToObject(a, "url"));
    notify_result res = {.retry_after_ms = -1};
    if (bad)
        snprintf(res.error, sizeof res.error, "out of memory");
    else
        ch->ops->send(ch, a, now, &res);
    cJSON_Delete(a);
    if (!bad && res.outcome == NOTIFY_SENT)
        return 0;
    snprintf(err, cap, "%s", res.error);
    return err_set(ERR_SOURCE, "[notify \"%s\"]: %s", channel, res.error);
}

int notify_counts(notify *n, int64_t *pending, int64_t *failed, int64_t *delivered)
{
    *pending = *failed = *delivered = 0;
    int rc = need_state(n);
    return rc ? rc : state_outbox_counts(n->st, pending, failed, delivered);
}
