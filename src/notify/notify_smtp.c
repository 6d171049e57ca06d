/* notify_smtp — the mail channel: one RFC 5322 message (Date, Message-ID, From, To,
 * Subject, a text/plain UTF-8 body) sent through libcurl's smtp:// or smtps://,
 * with STARTTLS when the server offers it and required when a password is sent.
 * Outcome: a 4xx reply or a network error is retried, a 5xx reply or a refused
 * login fails for good. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/buf.h"
#include "notify_impl.h"

/* A mail is small; the cap keeps a runaway message from growing without end. */
#define MAIL_MAX (256 * 1024)

static int put(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

/* s with CR, LF and other control characters as spaces: a header's value must not
 * start another header. */
static int put_header_text(buf *b, const char *s)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++)
        rc = buf_append_u8(b, *p < 0x20 || *p == 0x7f ? ' ' : *p);
    return rc;
}

/* An unstructured header value: as it is when ASCII, else an RFC 2047 encoded word
 * (base64 of UTF-8) so that every mail reader shows it. */
static int put_encoded(buf *b, const char *s)
{
    int ascii = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        ascii &= *p < 0x80;
    if (ascii)
        return put_header_text(b, s);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    int rc = put(b, "=?UTF-8?B?");
    for (size_t i = 0; i < n && !rc; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        rc = buf_append(b, q, 4);
    }
    return rc ? rc : put(b, "?=");
}

/* The body's text with every line ending as CRLF (SMTP's), lone CRs dropped. */
static int put_body_text(buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && !rc; p++)
        rc = *p == '\n' ? put(b, "\r\n") : *p == '\r' ? 0 : buf_append_u8(b, (uint8_t)*p);
    return rc;
}

static const char *from_of(const notify_channel *ch, char *tmp, size_t cap)
{
    if (ch->from)
        return ch->from;
    snprintf(tmp, cap, "lifeline@%s", ch->node);
    return tmp;
}

char *notify_render_mail(const notify_channel *ch, const cJSON *a, int64_t now_wall_ms)
{
    char date[64], from[300], line[1024], key[256], when[40];
    time_t sec = (time_t)(now_wall_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    /* RFC 5322 date in English whatever the locale */
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    const char *status = notify_alert_str(a, "status"), *sev = notify_alert_str(a, "severity");
    const char *url = notify_alert_str(a, "url"), *service = notify_alert_str(a, "service");
    notify_incident_key(a, ch->node, key, sizeof key);
    notify_time_rfc3339(notify_alert_int(a, "at_ms"), when, sizeof when);
    buf b;
    buf_init(&b, MAIL_MAX);
    int rc = put(&b, "Date: ") || put(&b, date) || put(&b, "\r\nFrom: ") ||
             put_header_text(&b, from_of(ch, from, sizeof from)) || put(&b, "\r\nTo: ");
    /* to is a space separated list; the header wants commas */
    for (const char *p = ch->to ? ch->to : ""; *p && !rc; p++)
        rc = buf_append_u8(&b, *p == ' ' || *p == '\t' ? ',' : (uint8_t)(*p < 0x20 ? ' ' : *p));
    /* Message-ID: unique per alert and send time; the id made of atext, the host
     * part the node's name */
    char idpart[256];
    snprintf(idpart, sizeof idpart, "%lld.%s", (long long)now_wall_ms, notify_alert_str(a, "id"));
    for (char *p = idpart; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = '.';
    rc = rc || put(&b, "\r\nMessage-ID: <") || put(&b, idpart) || put(&b, "@") || put_header_text(&b, ch->node) ||
         put(&b, ">\r\nSubject: ");
    snprintf(line, sizeof line, "[lifeline] %s %s: %s", !strcmp(status, "resolved") ? "RESOLVED" : "FIRING", sev,
             notify_alert_str(a, "title"));
    rc = rc || put_encoded(&b, line) ||
         put(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\nX-Lifeline-Event: ") ||
         put_header_text(&b, notify_alert_str(a, "event")) || put(&b, "\r\nX-Lifeline-Key: ") ||
         put_header_text(&b, key) || put(&b, "\r\n\r\n") || put_body_text(&b, notify_alert_str(a, "message"));
    snprintf(line, sizeof line, "\n\nnode:     %s\nservice:  %s\nevent:    %s\nstatus:   %s\nseverity: %s\nat:       %s\n",
             ch->node, service[0] ? service : "-", notify_alert_str(a, "event"), status, sev, when);
    rc = rc || put_body_text(&b, line);
    if (!rc && notify_alert_int(a, "incident") > 0) {
        snprintf(line, sizeof line, "incident: %lld\n", (long long)notify_alert_int(a, "incident"));
        rc = put_body_text(&b, line);
    }
    if (!rc && url[0])
        rc = put(&b, "status:   ") || put_body_text(&b, url) || put(&b, "\r\n");
    rc = rc || put(&b, "\r\n-- \r\nsent by lifeline watch; the alert's key: ") || put_body_text(&b, key) ||
         put(&b, "\r\n") || buf_append_u8(&b, 0);
    if (rc) {
        buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

typedef struct upload {
    const char *data;
    size_t left;
} upload;

static size_t on_read(char *ptr, size_t size, size_t n, void *user)
{
    upload *u = user;
    size_t take = size * n < u->left ? size * n : u->left;
    memcpy(ptr, u->data, take);
    u->data += take;
    u->left -= take;
    return take;
}

/* The recipients as a curl list; NULL when out of memory or none. */
static struct curl_slist *recipients(const char *to)
{
    struct curl_slist *list = NULL;
    char *copy = strdup(to ? to : ""), *save = NULL;
    for (char *t = copy ? strtok_r(copy, " \t,", &save) : NULL; t; t = strtok_r(NULL, " \t,", &save)) {
        struct curl_slist *more = curl_slist_append(list, t);
        if (!more) {
            curl_slist_free_all(list);
            list = NULL;
            break;
        }
        list = more;
    }
    free(copy);
    return list;
}

/* The server's last refusal ("550 5.1.1 no such user"), for the error message:
 * libcurl's own words for a refused RCPT are only "failed sending data". Only what
 * the server sent is looked at, never what we sent (a login). */
typedef struct last_reply {
    char line[200];
} last_reply;

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *user)
{
    (void)h;
    last_reply *r = user;
    /* only refusals (4xx, 5xx): a failed transfer still ends with "221 Bye" */
    if (type != CURLINFO_HEADER_IN || !size || (data[0] != '4' && data[0] != '5'))
        return 0;
    size_t n = 0;
    while (n < size && n + 1 < sizeof r->line && data[n] != '\r' && data[n] != '\n') {
        unsigned char c = (unsigned char)data[n];
        r->line[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    r->line[n] = '\0';
    return 0;
}

static void judge(CURL *h, CURLcode rc, const last_reply *reply, notify_result *res)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) {
        res->outcome = NOTIFY_SENT;
        return;
    }
    /* the server's reply decides where there is one: 4xx is "try again later" */
    if (code >= 500 && code < 600)
        res->outcome = NOTIFY_FAILED;
    else if (code >= 400 && code < 500)
        res->outcome = NOTIFY_RETRY;
    else
        res->outcome = rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                               rc == CURLE_USE_SSL_FAILED
                           ? NOTIFY_FAILED
                           : NOTIFY_RETRY;
    if (code && reply->line[0] && strtol(reply->line, NULL, 10) == code)
        snprintf(res->error, sizeof res->error, "SMTP %s", reply->line);
    else if (code)
        snprintf(res->error, sizeof res->error, "SMTP %ld: %s", code,
                 rc == CURLE_OPERATION_TIMEDOUT ? "no answer within the timeout" : curl_easy_strerror(rc));
    else
        snprintf(res->error, sizeof res->error, "%s",
                 rc == CURLE_OPERATION_TIMEDOUT ? "no answer within the timeout" : curl_easy_strerror(rc));
}

static void smtp_send(const notify_channel *ch, const cJSON *alert, int64_t now_wall_ms, notify_result *res)
{
    char *mail = notify_render_mail(ch, alert, now_wall_ms), from[300];
    struct curl_slist *rcpt = recipients(ch->to);
    CURL *h = curl_easy_init();
    upload u = {mail, mail ? strlen(mail) : 0};
    last_reply reply = {.line = ""};
    long t = (long)ch->timeout_ms;
    /* a password never crosses the network in the clear: smtp:// with a login
     * requires STARTTLS; without one it is used when offered */
    long tls = ch->password && !strncmp(ch->url, "smtp://", 7) ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY;
    int bad = !mail || !rcpt || !h || curl_easy_setopt(h, CURLOPT_URL, ch->url) ||
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) || curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t) ||
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t) ||
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps") || curl_easy_setopt(h, CURLOPT_USE_SSL, tls) ||
              curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_of(ch, from, sizeof from)) ||
              curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt) || curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) ||
              curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read) || curl_easy_setopt(h, CURLOPT_READDATA, &u) ||
              curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.left) ||
              (ch->user && curl_easy_setopt(h, CURLOPT_USERNAME, ch->user)) ||
              (ch->password && curl_easy_setopt(h, CURLOPT_PASSWORD, ch->password)) ||
              curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug) || curl_easy_setopt(h, CURLOPT_DEBUGDATA, &reply) ||
              curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    if (bad) {
        res->outcome = NOTIFY_RETRY;
        snprintf(res->error, sizeof res->error, "%s",
                 !rcpt && mail && h ? "no recipient in 'to'" : "the mail could not be set up (out of memory?)");
        if (!rcpt && mail && h)
            res->outcome = NOTIFY_FAILED;
    } else {
        judge(h, curl_easy_perform(h), &reply, res);
    }
    if (h)
        curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    free(mail);
}

const notify_ops notify_smtp_ops = {"smtp", smtp_send};
