/* notify_webhook — the webhook channel: an HTTP POST of the alert rendered as the
 * Alertmanager webhook v4 body (format json, so receivers written for Alertmanager
 * work), a Slack message (text + blocks) or a PagerDuty Events API v2 event. libcurl
 * with a hard timeout, no redirects, no signals; the URL (a secret) is never in a
 * message. Outcome by status: 2xx sent; 408, 429, 5xx and network errors retried
 * (Retry-After honoured); other statuses failed for good. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify_impl.h"

#ifndef LIFELINE_VERSION
#define LIFELINE_VERSION "0.1.0"
#endif

/* Slack cuts a header block at 150 characters, a section at 3000. */
#define SLACK_HEADER_MAX 150
#define SLACK_SECTION_MAX 3000
/* PagerDuty's summary is at most 1024 characters. */
#define PAGERDUTY_SUMMARY_MAX 1024

/* 64-bit FNV-1a as 16 hex digits: an Alertmanager-style fingerprint, stable for an
 * incident across its firing and resolved alerts. */
static void fingerprint(const char *key, char out[17])
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* A copy of s cut to at most max bytes, not inside a UTF-8 sequence. */
static char *cut(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len > max) {
        len = max;
        while (len && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    return strndup(s, len);
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    return cJSON_AddStringToObject(o, k, v) ? 0 : -1;
}

/* The labels that identify the alert at an Alertmanager receiver. */
static cJSON *labels(const notify_channel *ch, const cJSON *a)
{
    cJSON *l = cJSON_CreateObject();
    char incident[32] = "";
    const char *node = notify_alert_str(a, "node");
    if (notify_alert_int(a, "incident") > 0)
        snprintf(incident, sizeof incident, "%lld", (long long)notify_alert_int(a, "incident"));
    int bad = !l || add_str(l, "alertname", "LifelineIncident") || add_str(l, "node", node[0] ? node : ch->node) ||
              add_str(l, "service", notify_alert_str(a, "service")) ||
              add_str(l, "severity", notify_alert_str(a, "severity")) ||
              add_str(l, "event", notify_alert_str(a, "event")) || (incident[0] && add_str(l, "incident", incident));
    if (bad)
        cJSON_Delete(l);
    return bad ? NULL : l;
}

static cJSON *annotations(const cJSON *a)
{
    cJSON *o = cJSON_CreateObject();
    int bad = !o || add_str(o, "summary", notify_alert_str(a, "title")) ||
              add_str(o, "description", notify_alert_str(a, "message"));
    if (bad)
        cJSON_Delete(o);
    return bad ? NULL : o;
}

/* {version "4", groupKey, status, receiver, groupLabels, commonLabels,
 * commonAnnotations, externalURL, alerts: [one alert]}: Alertmanager's webhook. */
static cJSON *render_json(const notify_channel *ch, const cJSON *a)
{
    char key[256], fp[17], starts[40], ends[40] = "0001-01-01T00:00:00Z";
    const char *status = notify_alert_str(a, "status"), *url = notify_alert_str(a, "url");
    int resolved = !strcmp(status, "resolved");
    int64_t at = notify_alert_int(a, "at_ms"), opened = notify_alert_int(a, "opened_ms");
    notify_incident_key(a, ch->node, key, sizeof key);
    fingerprint(key, fp);
    notify_time_rfc3339(opened > 0 ? opened : at, starts, sizeof starts);
    if (resolved)
        notify_time_rfc3339(at, ends, sizeof ends);
    cJSON *o = cJSON_CreateObject(), *alerts = cJSON_CreateArray(), *one = cJSON_CreateObject();
    cJSON *group = cJSON_CreateObject();
    int bad = !o || !alerts || !one || !group;
    bad = bad || add_str(o, "version", "4") || add_str(o, "groupKey", key) ||
          !cJSON_AddNumberToObject(o, "truncatedAlerts", 0) || add_str(o, "status", resolved ? "resolved" : "firing") ||
          add_str(o, "receiver", ch->name) || add_str(group, "alertname", "LifelineIncident") ||
          !cJSON_AddItemToObject(o, "groupLabels", group);
    if (!bad)
        group = NULL; /* owned by o now */
    bad = bad || !cJSON_AddItemToObject(o, "commonLabels", labels(ch, a)) ||
          !cJSON_AddItemToObject(o, "commonAnnotations", annotations(a)) || add_str(o, "externalURL", url);
    bad = bad || add_str(one, "status", resolved ? "resolved" : "firing") ||
          !cJSON_AddItemToObject(one, "labels", labels(ch, a)) ||
          !cJSON_AddItemToObject(one, "annotations", annotations(a)) || add_str(one, "startsAt", starts) ||
          add_str(one, "endsAt", ends) || add_str(one, "generatorURL", url) || add_str(one, "fingerprint", fp);
    if (!bad && cJSON_AddItemToArray(alerts, one))
        one = NULL;
    if (!bad && !one && cJSON_AddItemToObject(o, "alerts", alerts))
        alerts = NULL;
    bad = bad || one || alerts;
    cJSON_Delete(group);
    cJSON_Delete(one);
    cJSON_Delete(alerts);
    if (bad)
        cJSON_Delete(o);
    return bad ? NULL : o;
}

static cJSON *text_block(const char *type, const char *text_type, const char *text)
{
    cJSON *b = cJSON_CreateObject(), *t = cJSON_CreateObject();
    int bad = !b || !t || add_str(b, "type", type) || add_str(t, "type", text_type) || add_str(t, "text", text);
    if (!bad && cJSON_AddItemToObject(b, "text", t))
        return b;
    cJSON_Delete(t);
    cJSON_Delete(b);
    return NULL;
}

/* {text, blocks: [header (title), section (message), context (node, service,
 * severity, event, time)]}: text is what a notification shows. */
static cJSON *render_slack(const notify_channel *ch, const cJSON *a)
{
    const char *status = notify_alert_str(a, "status"), *title = notify_alert_str(a, "title");
    const char *message = notify_alert_str(a, "message"), *service = notify_alert_str(a, "service");
    const char *url = notify_alert_str(a, "url");
    char when[40], context[512], *text = NULL;
    notify_time_rfc3339(notify_alert_int(a, "at_ms"), when, sizeof when);
    char svc[200] = "";
    if (service[0])
        snprintf(svc, sizeof svc, " · service *%s*", service);
    snprintf(context, sizeof context, "node *%s*%s · %s · %s · %s%s%s", ch->node, svc, notify_alert_str(a, "severity"),
             notify_alert_str(a, "event"), when, url[0] ? " · " : "", url);
    if (asprintf(&text, "[%s] %s", !strcmp(status, "resolved") ? "RESOLVED" : "FIRING", title) < 0)
        return NULL;
    char *header = cut(text, SLACK_HEADER_MAX), *section = cut(message[0] ? message : title, SLACK_SECTION_MAX);
    cJSON *o = cJSON_CreateObject(), *blocks = cJSON_CreateArray(), *ctx = cJSON_CreateObject();
    cJSON *elems = cJSON_CreateArray(), *elem = cJSON_CreateObject();
    int bad = !header || !section || !o || !blocks || !ctx || !elems || !elem || add_str(o, "text", text) ||
              add_str(elem, "type", "mrkdwn") || add_str(elem, "text", context) || add_str(ctx, "type", "context");
    if (!bad) {
        cJSON_AddItemToArray(elems, elem);
        elem = NULL;
        cJSON_AddItemToObject(ctx, "elements", elems);
        elems = NULL;
        cJSON *h = text_block("header", "plain_text", header), *s = text_block("section", "mrkdwn", section);
        bad = !h || !s;
        if (h)
            cJSON_AddItemToArray(blocks, h);
        if (s)
            cJSON_AddItemToArray(blocks, s);
        cJSON_AddItemToArray(blocks, ctx);
        ctx = NULL;
        cJSON_AddItemToObject(o, "blocks", blocks);
        blocks = NULL;
    }
    cJSON_Delete(elem);
    cJSON_Delete(elems);
    cJSON_Delete(ctx);
    cJSON_Delete(blocks);
    free(text);
    free(header);
    free(section);
    if (bad)
        cJSON_Delete(o);
    return bad ? NULL : o;
}

/* Events API v2: trigger (same dedup_key for every alert of an incident, so its
 * updates land on the one PagerDuty incident) or resolve. */
static cJSON *render_pagerduty(const notify_channel *ch, const cJSON *a)
{
    char key[256], when[40];
    int resolve = !strcmp(notify_alert_str(a, "status"), "resolved");
    const char *sev = notify_alert_str(a, "severity"), *url = notify_alert_str(a, "url");
    notify_incident_key(a, ch->node, key, sizeof key);
    notify_time_rfc3339(notify_alert_int(a, "at_ms"), when, sizeof when);
    cJSON *o = cJSON_CreateObject();
    int bad = !o || (ch->routing_key && add_str(o, "routing_key", ch->routing_key)) ||
              add_str(o, "event_action", resolve ? "resolve" : "trigger") || add_str(o, "dedup_key", key) ||
              add_str(o, "client", "lifeline") || (url[0] && add_str(o, "client_url", url));
    if (!bad && !resolve) { /* a resolve needs no payload */
        cJSON *p = cJSON_AddObjectToObject(o, "payload"), *details = NULL;
        char *summary = cut(notify_alert_str(a, "title"), PAGERDUTY_SUMMARY_MAX);
        bad = !p || !summary || add_str(p, "summary", summary[0] ? summary : notify_alert_str(a, "id")) ||
              add_str(p, "source", ch->node) ||
              add_str(p, "severity", !strcmp(sev, "critical") || !strcmp(sev, "warning") ? sev : "info") ||
              add_str(p, "timestamp", when) || add_str(p, "component", notify_alert_str(a, "service")) ||
              add_str(p, "class", notify_alert_str(a, "event")) ||
              !(details = cJSON_AddObjectToObject(p, "custom_details")) ||
              add_str(details, "message", notify_alert_str(a, "message")) ||
              add_str(details, "event", notify_alert_str(a, "event")) ||
              add_str(details, "alert_id", notify_alert_str(a, "id")) ||
              !cJSON_AddNumberToObject(details, "incident", (double)notify_alert_int(a, "incident"));
        free(summary);
    }
    if (bad)
        cJSON_Delete(o);
    return bad ? NULL : o;
}

char *notify_render_webhook(const notify_channel *ch, const cJSON *alert)
{
    cJSON *o = ch->format == NOTIFY_SLACK       ? render_slack(ch, alert)
               : ch->format == NOTIFY_PAGERDUTY ? render_pagerduty(ch, alert)
                                                : render_json(ch, alert);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* ---- the POST ---- */

typedef struct reply {
    char retry_after[80]; /* the Retry-After header's value, "" when none */
    char body[256];       /* the start of the answer, for the error message */
    size_t len;
} reply;

static size_t on_header(char *ptr, size_t size, size_t n, void *user)
{
    reply *r = user;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && !strncasecmp(ptr, name, sizeof name - 1)) {
        size_t v = len - (sizeof name - 1);
        if (v >= sizeof r->retry_after)
            v = sizeof r->retry_after - 1;
        memcpy(r->retry_after, ptr + sizeof name - 1, v);
        r->retry_after[v] = '\0';
    }
    return len;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *user)
{
    reply *r = user;
    size_t len = size * n, take = sizeof r->body - 1 - r->len;
    if (take > len)
        take = len;
    memcpy(r->body + r->len, ptr, take);
    r->len += take;
    r->body[r->len] = '\0';
    return len;
}

/* The receiver's answer, printable and on one line, for the error message. */
static void answer_text(const reply *r, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < r->len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)r->body[i];
        out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[o] = '\0';
}

static void post(const notify_channel *ch, const char *body, const char *dedup, int64_t now_wall_ms,
                 notify_result *res)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char idem[300];
    reply r = {.len = 0};
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", dedup);
    for (char *p = idem; *p; p++) /* one header line, whatever the id holds */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    const char *add[] = {"Content-Type: application/json", "Accept: application/json", idem};
    for (size_t i = 0; i < sizeof add / sizeof *add; i++) {
        struct curl_slist *more = curl_slist_append(hdrs, add[i]);
        if (more)
            hdrs = more;
    }
    long t = (long)ch->timeout_ms;
    int bad = !h || !hdrs || curl_easy_setopt(h, CURLOPT_URL, ch->url) || curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t) || curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t) ||
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) || curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) ||
              curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) ||
              curl_easy_setopt(h, CURLOPT_USERAGENT, "lifeline/" LIFELINE_VERSION) ||
              curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) || curl_easy_setopt(h, CURLOPT_HEADERDATA, &r) ||
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) || curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    if (bad) {
        res->outcome = NOTIFY_RETRY;
        snprintf(res->error, sizeof res->error, "libcurl could not be set up for the request");
    } else {
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK) {
            /* curl's own words, never the URL: connection refused, timeout, TLS... */
            res->outcome = NOTIFY_RETRY;
            snprintf(res->error, sizeof res->error, "%s", rc == CURLE_OPERATION_TIMEDOUT
                                                              ? "no answer within the timeout"
                                                              : curl_easy_strerror(rc));
        } else {
            char answer[256];
            answer_text(&r, answer, sizeof answer);
            res->outcome = notify_classify_http(status);
            if (res->outcome != NOTIFY_SENT)
                snprintf(res->error, sizeof res->error, "HTTP %ld%s%s", status, answer[0] ? ": " : "", answer);
            int64_t delay;
            if (res->outcome == NOTIFY_RETRY && r.retry_after[0] &&
                notify_parse_retry_after(r.retry_after, now_wall_ms, &delay) == 0)
                res->retry_after_ms = delay;
        }
    }
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
}

static void webhook_send(const notify_channel *ch, const cJSON *alert, int64_t now_wall_ms, notify_result *res)
{
    char *body = notify_render_webhook(ch, alert);
    if (!body) {
        res->outcome = NOTIFY_RETRY;
        snprintf(res->error, sizeof res->error, "out of memory");
        return;
    }
    post(ch, body, notify_alert_str(alert, "id"), now_wall_ms, res);
    free(body);
}

const notify_ops notify_webhook_ops = {"webhook", webhook_send};
