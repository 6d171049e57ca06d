/* report — see report.h. The Markdown is GitHub-flavoured (tables); every piece of
 * text that comes from the database goes through md_text, the one escaper. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/quote.h"

int64_t report_detected_ms(const state_incident *in) { return in->detected_ms ? in->detected_ms : in->opened_ms; }

int64_t report_ttr_ms(const state_incident *in)
{
    return in->closed_ms ? in->closed_ms - report_detected_ms(in) : -1;
}

void report_time(int64_t ms, char *out, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(ms / 1000);
    char base[32];
    if (!gmtime_r(&t, &tm) || !strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(base, sizeof base, "@%lld", (long long)(ms / 1000));
    snprintf(out, cap, "%s.%03dZ", base, (int)(ms % 1000 + 1000) % 1000);
}

void report_duration(int64_t ms, char *out, size_t cap)
{
    const char *sign = ms < 0 ? "-" : "";
    if (ms < 0)
        ms = -ms;
    int64_t s = ms / 1000;
    if (ms < 1000)
        snprintf(out, cap, "%s%lldms", sign, (long long)ms);
    else if (s < 60)
        snprintf(out, cap, "%s%lld.%llds", sign, (long long)s, (long long)(ms % 1000 / 100));
    else if (s < 3600)
        snprintf(out, cap, "%s%lldm%02llds", sign, (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, cap, "%s%lldh%02lldm%02llds", sign, (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
    else
        snprintf(out, cap, "%s%lldd%02lldh%02lldm", sign, (long long)(s / 86400), (long long)(s / 3600 % 24),
                 (long long)(s / 60 % 60));
}

/* ---- JSON ---- */

static int count_kind(const state_incident *in, const char *kind)
{
    int n = 0;
    for (size_t i = 0; i < in->nentries; i++)
        n += !strcmp(in->entries[i].kind, kind);
    return n;
}

/* A number member, or null when absent says so. */
static void add_ms(cJSON *o, const char *name, int64_t v, int absent)
{
    if (absent)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, (double)v);
}

static cJSON *timeline_json(const state_incident *in, cJSON **notes)
{
    cJSON *arr = cJSON_CreateArray();
    *notes = cJSON_CreateArray();
    for (size_t i = 0; arr && *notes && i < in->nentries; i++) {
        const state_entry *e = &in->entries[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddNumberToObject(o, "at_ms", (double)e->at_ms);
        cJSON_AddStringToObject(o, "kind", e->kind);
        cJSON_AddStringToObject(o, "message", e->message);
        if (e->status)
            cJSON_AddStringToObject(o, "status", e->status);
        else
            cJSON_AddNullToObject(o, "status");
        if (strcmp(e->kind, "notification"))
            continue;
        cJSON *n = cJSON_CreateObject();
        cJSON_AddItemToArray(*notes, n);
        cJSON_AddNumberToObject(n, "at_ms", (double)e->at_ms);
        cJSON_AddStringToObject(n, "message", e->message);
    }
    return arr;
}

cJSON *report_incident_json(const state_incident *in)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "id", (double)in->id);
    cJSON_AddStringToObject(o, "target", in->target ? in->target : "");
    cJSON_AddStringToObject(o, "title", in->title ? in->title : "");
    cJSON_AddStringToObject(o, "status", in->status ? in->status : "investigating");
    cJSON_AddNumberToObject(o, "opened_ms", (double)in->opened_ms);
    add_ms(o, "detected_ms", in->detected_ms, !in->detected_ms);
    add_ms(o, "closed_ms", in->closed_ms, !in->closed_ms);
    cJSON_AddBoolToObject(o, "false_positive", in->false_positive);
    if (in->closed_ms)
        cJSON_AddNumberToObject(o, "ttr_seconds", (double)report_ttr_ms(in) / 1000.0);
    else
        cJSON_AddNullToObject(o, "ttr_seconds");
    if (in->entries) {
        cJSON *notes = NULL, *tl = timeline_json(in, &notes);
        cJSON_AddNumberToObject(o, "actions", count_kind(in, "action"));
        cJSON_AddItemToObject(o, "notifications", notes);
        cJSON_AddItemToObject(o, "timeline", tl);
        if (!tl || !notes) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* A rate or an average that may have nothing to be computed from (< 0). */
static void add_maybe(cJSON *o, const char *name, double v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, v);
}

cJSON *report_metrics_json(const state_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "incidents_open", (double)m->incidents_open);
    cJSON_AddNumberToObject(o, "incidents_total", (double)m->incidents_total);
    add_maybe(o, "mttr_seconds", m->mttr_seconds);
    cJSON_AddNumberToObject(o, "recovery_attempts", (double)m->recovery_attempts);
    cJSON_AddNumberToObject(o, "recoveries_verified", (double)m->recoveries_verified);
    add_maybe(o, "recovery_success_rate", m->recovery_success_rate);
    cJSON_AddNumberToObject(o, "false_positives", (double)m->false_positives);
    add_maybe(o, "false_positive_rate", m->false_positive_rate);
    cJSON_AddNumberToObject(o, "notifications_pending", (double)m->notifications_pending);
    cJSON_AddNumberToObject(o, "notifications_failed", (double)m->notifications_failed);
    cJSON_AddNumberToObject(o, "notifications_delivered", (double)m->notifications_delivered);
    return o;
}

/* ---- Markdown ---- */

/* The writer: the first failure sticks, and every later call does nothing. */
typedef struct md {
    buf *out;
    int rc;
} md;

static void md_put(md *w, const char *s, size_t n)
{
    if (!w->rc && buf_append(w->out, s, n) != 0)
        w->rc = ERR_FATAL;
}

static void md_str(md *w, const char *s) { md_put(w, s, strlen(s)); }

PRINTF(2, 3) static void md_printf(md *w, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    md_put(w, tmp, n < 0 ? 0 : (size_t)n >= sizeof tmp ? sizeof tmp - 1 : (size_t)n);
}

/* Text from the database as literal Markdown: characters that are markup are
 * escaped (a '|' cannot end a table cell), HTML's three as entities, a newline as
 * <br> inside a table cell (cell) or a space elsewhere, other control characters
 * as spaces, and bytes that are not UTF-8 as U+FFFD. */
static void md_text(md *w, const char *s, int cell)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        unsigned char ch = *p;
        if (ch >= 0x80) {
            size_t n = quote_utf8_char(p);
            md_put(w, n ? (const char *)p : "\xef\xbf\xbd", n ? n : 3);
            p += n ? n : 1;
            continue;
        }
        p++;
        if (ch == '\n')
            md_put(w, cell ? "<br>" : " ", cell ? 4 : 1);
        else if (ch == '\r')
            ;
        else if (ch < 0x20 || ch == 0x7f)
            md_put(w, " ", 1);
        else if (ch == '<')
            md_put(w, "&lt;", 4);
        else if (ch == '>')
            md_put(w, "&gt;", 4);
        else if (ch == '&')
            md_put(w, "&amp;", 5);
        else if (strchr("\\`*_[]|~#!", ch)) {
            char esc[2] = {'\\', (char)ch};
            md_put(w, esc, 2);
        } else {
            md_put(w, (const char *)&ch, 1);
        }
    }
}

/* Verification entries that say it worked. */
static int count_verified(const state_incident *in)
{
    int n = 0;
    for (size_t i = 0; i < in->nentries; i++)
        n += !strcmp(in->entries[i].kind, "verification") && !strncmp(in->entries[i].message, "verified", 8);
    return n;
}

static const state_entry *first_entry(const state_incident *in, const char *kind)
{
    for (size_t i = 0; i < in->nentries; i++)
        if (!strcmp(in->entries[i].kind, kind))
            return &in->entries[i];
    return NULL;
}

static void md_row_text(md *w, const char *label, const char *value)
{
    md_printf(w, "| %s | ", label);
    md_text(w, value, 1);
    md_put(w, " |\n", 3);
}

static void md_row_time(md *w, const char *label, int64_t ms, const char *none)
{
    char t[48];
    if (ms)
        report_time(ms, t, sizeof t);
    md_printf(w, "| %s | %s |\n", label, ms ? t : none);
}

static void md_row_span(md *w, const char *label, int64_t from, int64_t to, const char *none)
{
    char d[48];
    if (from && to)
        report_duration(to - from, d, sizeof d);
    md_printf(w, "| %s | %s |\n", label, from && to ? d : none);
}

static void md_summary(md *w, const state_incident *in, const char *node)
{
    md_str(w, "## Summary\n\n_One paragraph: what happened, who was affected, how it ended._\n\n");
    md_str(w, "| | |\n|---|---|\n");
    md_row_text(w, "Service", in->target);
    if (node)
        md_row_text(w, "Node", node);
    md_row_text(w, "Status", in->status ? in->status : "investigating");
    md_row_time(w, "Opened (first failed probe)", in->opened_ms, "-");
    md_row_time(w, "Detected (failure confirmed)", in->detected_ms, "never confirmed");
    md_row_time(w, "Resolved", in->closed_ms, "still open");
    md_row_span(w, "Time to detect", in->opened_ms, in->detected_ms, "-");
    md_row_span(w, "Time to recovery", report_detected_ms(in), in->closed_ms, "still open");
    md_printf(w, "| Recovery attempts | %d (%d verified) |\n", count_kind(in, "action"), count_verified(in));
    md_printf(w, "| Escalations | %d |\n", count_kind(in, "escalation"));
    md_printf(w, "| Notifications | %d |\n", count_kind(in, "notification"));
    md_printf(w, "| False positive | %s |\n\n", in->false_positive ? "yes (marked)" : "no");
}

static void md_timeline(md *w, const state_incident *in)
{
    md_str(w, "## Timeline\n\nTimes in UTC; \"+\" counts from the first failed probe.\n\n"
              "| time (UTC) | + | kind | status | message |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < in->nentries; i++) {
        const state_entry *e = &in->entries[i];
        char t[48], d[48];
        report_time(e->at_ms, t, sizeof t);
        report_duration(e->at_ms - in->opened_ms, d, sizeof d);
        md_printf(w, "| %s | %s | ", t, d);
        md_text(w, e->kind, 1);
        md_str(w, " | ");
        md_text(w, e->status ? e->status : "", 1);
        md_str(w, " | ");
        md_text(w, e->message, 1);
        md_str(w, " |\n");
    }
    md_str(w, "\n");
}

/* One line of the gaps list: label, then the span from..to or why there is none. */
static void md_gap(md *w, const char *label, int64_t from, int64_t to, const char *none)
{
    char d[48];
    if (from && to)
        report_duration(to - from, d, sizeof d);
    md_printf(w, "- %s: %s\n", label, from && to ? d : none);
}

static void md_gaps(md *w, const state_incident *in)
{
    const state_entry *act = first_entry(in, "action"), *rec = first_entry(in, "recovered"),
                      *note = first_entry(in, "notification");
    int64_t det = in->detected_ms;
    md_str(w, "## Detection gaps\n\n");
    md_gap(w, "First failed probe to failure confirmed", in->opened_ms, det,
           "never confirmed (closed without a detection: a false positive?)");
    md_gap(w, "Failure confirmed to first recovery attempt", det, act ? act->at_ms : 0,
           "no automatic recovery was attempted");
    md_gap(w, "Failure confirmed to first notification", det, note ? note->at_ms : 0, "no notification recorded");
    md_gap(w, "Failure confirmed to recovered", det, rec ? rec->at_ms : 0, "no recovery recorded");
    for (size_t i = 0; i < in->nentries; i++) {
        const state_entry *e = &in->entries[i];
        int dead = !strcmp(e->kind, "notification") && !strncmp(e->message, "dead-lettered", 13);
        int failed = !strcmp(e->kind, "verification") && strncmp(e->message, "verified", 8);
        if (!dead && !failed)
            continue;
        char t[48];
        report_time(e->at_ms, t, sizeof t);
        md_printf(w, "- %s at %s: ", dead ? "Notification lost" : "Recovery not verified", t);
        md_text(w, e->message, 0);
        md_str(w, "\n");
    }
    md_str(w, "\nQuestions:\n\n"
              "- Did anyone or anything (users, logs, another monitor) see the failure before the first failed "
              "probe? When?\n"
              "- Could the probe have confirmed it sooner (interval, timeout, fall) without flapping?\n"
              "- Did the people who could act hear of it in time, and nobody who could not?\n"
              "- Did the automation do the right thing? Should it do more, or less, next time?\n\n");
}

static void md_whys(md *w, const state_incident *in)
{
    md_str(w, "## 5 whys\n\nProblem: ");
    md_text(w, in->title, 0);
    md_str(w, "\n\n");
    for (int i = 1; i <= 5; i++)
        md_printf(w, "%d. Why%s?\n   - _answer:_ \n", i, i == 1 ? " did it happen" : "");
    md_str(w, "\nRoot cause: \n\n");
}

static void md_ppt(md *w)
{
    md_str(w, "## People / Process / Technology\n\n"
              "### People\n\n_Who was involved, who was reached and when; what they knew and needed._\n\n"
              "### Process\n\n_Which runbook steps were followed, skipped or missing; escalation and "
              "communication._\n\n"
              "### Technology\n\n_What failed, what detected it, what recovered it; monitoring and automation "
              "gaps._\n\n");
}

static void md_actions(md *w)
{
    md_str(w, "## Action items\n\n| action | owner | due date | status |\n|---|---|---|---|\n");
    for (int i = 0; i < 3; i++)
        md_str(w, "|  |  |  |  |\n");
}

int report_incident_markdown(const state_incident *in, const char *node, buf *out)
{
    md w = {.out = out};
    md_printf(&w, "# Post-incident review: incident %lld, ", (long long)in->id);
    md_text(&w, in->title, 0);
    md_str(&w, "\n\n");
    md_summary(&w, in, node);
    md_timeline(&w, in);
    md_gaps(&w, in);
    md_whys(&w, in);
    md_ppt(&w);
    md_actions(&w);
    return w.rc ? err_set(ERR_FATAL, "incident %lld: the review did not fit in memory", (long long)in->id) : 0;
}
