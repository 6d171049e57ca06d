/* http_page — the status page: one self-contained HTML document rendered on the server
 * from the status document and the incidents of the last 90 days (no script, no external
 * asset; it refreshes itself with a meta tag). Every text from the data is escaped.
 * Stable hooks for tests and scrapers: #overall[data-status], li.component[data-component]
 * [data-status], article#incident-ID[data-status], li.update[data-status], li.day[data-date]
 * [data-status]. */
#include "http.h"
#include "http_impl.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define HISTORY_DAYS 90
#define PAST_MAX 100      /* past incidents listed; the rest are in /api/incidents */
#define INTERVALS_MAX 4096 /* incidents counted into one component's uptime */

/* Component statuses from best to worst: the overall status is the worst of them. */
typedef enum { CS_OPERATIONAL, CS_MAINTENANCE, CS_UNKNOWN, CS_DEGRADED, CS_PARTIAL, CS_MAJOR, CS_N } cstatus;
static const char *const cs_id[CS_N] = {"operational", "maintenance", "unknown", "degraded",
                                        "partial-outage", "major-outage"};
static const char *const cs_label[CS_N] = {"Operational", "Under maintenance", "Unknown",
                                           "Degraded performance", "Partial outage", "Major outage"};
static const char *const cs_summary[CS_N] = {"All systems operational", "Under maintenance",
                                             "Status unknown", "Degraded performance",
                                             "Partial outage", "Major outage"};

static const char *const inc_status[] = {"investigating", "identified", "monitoring", "resolved"};
static const char *const inc_label[] = {"Investigating", "Identified", "Monitoring", "Resolved"};

static cstatus cs_of_health(const char *h)
{
    if (!h)
        return CS_UNKNOWN;
    if (!strcmp(h, "healthy"))
        return CS_OPERATIONAL;
    if (!strcmp(h, "degraded"))
        return CS_DEGRADED;
    if (!strcmp(h, "failed"))
        return CS_MAJOR;
    if (!strcmp(h, "starting"))
        return CS_PARTIAL; /* not serving yet, but expected to */
    return CS_UNKNOWN;
}

/* A held service that is down is shown down: "maintenance" would hide an outage from
 * the people reading the page; held and healthy is maintenance (a person is at work). */
static cstatus cs_of(const char *state, const char *health)
{
    if (state && !strcmp(state, "maintenance"))
        return CS_MAINTENANCE;
    if (state && !strcmp(state, "held")) {
        cstatus h = cs_of_health(health);
        return h == CS_OPERATIONAL || h == CS_UNKNOWN ? CS_MAINTENANCE : h;
    }
    return cs_of_health(state ? state : health);
}

const char *http_component_status(const char *state, const char *health)
{
    return cs_id[cs_of(state, health)];
}

static int inc_status_index(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, inc_status[i]))
            return i;
    return -1;
}

/* An incident's impact on its component: "impact" when the agent gives one, else a
 * major outage (incidents open on a confirmed failure). */
static cstatus inc_impact(const cJSON *inc)
{
    const char *imp = hj_str(inc, "impact");
    for (int i = 0; imp && i < CS_N; i++)
        if (!strcmp(imp, cs_id[i]))
            return (cstatus)i;
    return CS_MAJOR;
}

static bool inc_is_open(const cJSON *inc)
{
    int64_t closed;
    const char *st = hj_str(inc, "status");
    return !hj_int(inc, "closed_ms", &closed) && !(st && !strcmp(st, "resolved"));
}

static void time_el(hw *w, int64_t ms)
{
    hw_puts(w, "<time datetime=\"");
    hw_time_iso(w, ms);
    hw_puts(w, "\">");
    hw_time_human(w, ms);
    hw_puts(w, "</time>");
}

static void duration(hw *w, int64_t ms)
{
    int64_t min = ms / 60000;
    if (min < 1)
        hw_puts(w, "under a minute");
    else if (min < 60)
        hw_printf(w, "%lld min", (long long)min);
    else if (min < 60 * 48)
        hw_printf(w, "%lld h %lld min", (long long)(min / 60), (long long)(min % 60));
    else
        hw_printf(w, "%lld days", (long long)(min / (60 * 24)));
}

static const char style[] =
    "<style>\n"
    ":root{--ok:#2e7d32;--maint:#1565c0;--unk:#9e9e9e;--deg:#f9a825;--part:#ef6c00;--major:#c62828}\n"
    "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}\n"
    "main,header>div,footer{max-width:860px;margin:0 auto;padding:0 16px}\n"
    "header{color:#fff;padding:28px 0;background:var(--unk)}\n"
    "header h1{margin:0;font-size:24px}header p{margin:4px 0 0}\n"
    "h2{font-size:18px;margin:28px 0 10px}\n"
    ".s-operational{background:var(--ok)}.s-maintenance{background:var(--maint)}.s-unknown{background:var(--unk)}\n"
    ".s-degraded{background:var(--deg)}.s-partial-outage{background:var(--part)}.s-major-outage{background:var(--major)}\n"
    ".hold{background:#fff3cd;border:1px solid #e0c36b;padding:10px 14px;border-radius:6px;margin-top:20px}\n"
    "ul,ol{list-style:none;margin:0;padding:0}\n"
    ".component,.incident{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:12px 16px;margin-bottom:10px}\n"
    ".row{display:flex;justify-content:space-between;gap:12px;font-weight:600}\n"
    ".component>.row .status{color:var(--ok)}\n"
    ".component[data-status=maintenance]>.row .status{color:var(--maint)}\n"
    ".component[data-status=unknown]>.row .status{color:var(--unk)}\n"
    ".component[data-status=degraded]>.row .status{color:#a06b00}\n"
    ".component[data-status=partial-outage]>.row .status{color:var(--part)}\n"
    ".component[data-status=major-outage]>.row .status{color:var(--major)}\n"
    ".detail,.meta,.uptime{color:#5b6472;font-size:13px;margin:2px 0}\n"
    ".history{display:flex;gap:2px;height:34px;margin:8px 0 2px}\n"
    ".day{flex:1;border-radius:2px;min-width:2px}\n"
    ".uptime{display:flex;justify-content:space-between}\n"
    ".incident h3{font-size:16px;margin:0 0 4px}\n"
    ".badge{display:inline-block;font-size:12px;font-weight:600;color:#fff;border-radius:4px;padding:1px 7px;margin-right:6px;background:var(--major)}\n"
    ".badge.identified{background:var(--part)}.badge.monitoring{background:var(--maint)}.badge.resolved{background:var(--ok)}\n"
    ".updates li{border-left:3px solid #dde1e7;padding:4px 0 4px 10px;margin:6px 0}\n"
    ".updates strong{margin-right:6px}.updates time{display:block;color:#5b6472;font-size:12px}\n"
    ".none{color:#5b6472}\n"
    "footer{color:#5b6472;font-size:12px;padding:24px 16px 40px}\n"
    "</style>\n";

static void render_head(hw *w, const cJSON *status, cstatus overall, int64_t now_ms)
{
    const char *node = hj_str(status, "node");
    hw_puts(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta http-equiv=\"refresh\" content=\"30\">\n<title>");
    hw_puts(w, cs_summary[overall]);
    if (node) {
        hw_puts(w, " \xe2\x80\x94 "); /* an em dash */
        hw_html(w, node);
    }
    hw_puts(w, "</title>\n");
    hw_puts(w, style);
    hw_printf(w, "</head>\n<body>\n<header id=\"overall\" class=\"s-%s\" data-status=\"%s\"><div>\n",
              cs_id[overall], cs_id[overall]);
    hw_puts(w, "<h1>");
    hw_html(w, node ? node : "lifeline");
    hw_printf(w, "</h1>\n<p class=\"summary\">%s</p>\n<p class=\"updated\">Updated ", cs_summary[overall]);
    time_el(w, now_ms);
    hw_puts(w, "</p>\n</div></header>\n<main>\n");
}

/* "Automation paused by alice at ...: reason" when the whole agent is held. */
static void render_hold_all(hw *w, const cJSON *status)
{
    const cJSON *h = hj_object(status, "hold_all");
    int64_t at;
    if (!h)
        return;
    const char *by = hj_str(h, "by"), *reason = hj_str(h, "reason");
    hw_puts(w, "<p id=\"hold-all\" class=\"hold\">Automatic recovery is paused");
    if (by) {
        hw_puts(w, " by ");
        hw_html(w, by);
    }
    if (hj_int(h, "at_ms", &at)) {
        hw_puts(w, " since ");
        time_el(w, at);
    }
    if (reason) {
        hw_puts(w, ": ");
        hw_html(w, reason);
    }
    hw_puts(w, "</p>\n");
}

/* A timeline entry a reader of the status page is told about: the human updates and
 * the turning points (opened, recovered, closed); probes, actions and notifications
 * stay in the API and the incident report. */
static bool is_public_entry(const cJSON *e, int status_index)
{
    const char *kind = hj_str(e, "kind");
    if (status_index >= 0)
        return true;
    return kind && (!strcmp(kind, "opened") || !strcmp(kind, "update") ||
                    !strcmp(kind, "recovered") || !strcmp(kind, "closed"));
}

/* The updates, newest first, each with the incident status it was given under (an entry
 * without one carries the status current at its time). */
static void render_updates(hw *w, const cJSON *timeline)
{
    int n = cJSON_GetArraySize(timeline);
    if (n <= 0)
        return;
    int *running = calloc((size_t)n, sizeof *running);
    if (!running) {
        w->rc = w->rc ? w->rc : err_set(ERR_FATAL, "out of memory rendering an incident");
        return;
    }
    int cur = 0, i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, timeline) {
        int si = inc_status_index(hj_str(e, "status"));
        const char *kind = hj_str(e, "kind");
        if (si >= 0)
            cur = si;
        else if (kind && !strcmp(kind, "closed"))
            cur = 3;
        running[i++] = is_public_entry(e, si) ? cur : -1;
    }
    hw_puts(w, "<ol class=\"updates\">\n");
    for (i = n - 1; i >= 0; i--) {
        if (running[i] < 0)
            continue;
        e = cJSON_GetArrayItem(timeline, i);
        const char *kind = hj_str(e, "kind"), *msg = hj_str(e, "message");
        int64_t at;
        hw_printf(w, "<li class=\"update\" data-status=\"%s\" data-kind=\"", inc_status[running[i]]);
        hw_html(w, kind ? kind : "");
        hw_printf(w, "\"><strong>%s</strong>", inc_label[running[i]]);
        hw_html(w, msg ? msg : "");
        if (hj_int(e, "at_ms", &at))
            time_el(w, at);
        hw_puts(w, "</li>\n");
    }
    hw_puts(w, "</ol>\n");
    free(running);
}

static void render_incident(hw *w, const cJSON *inc, bool open, int64_t now_ms)
{
    int64_t id, opened, closed;
    const char *title = hj_str(inc, "title"), *target = hj_str(inc, "target");
    int si = inc_status_index(hj_str(inc, "status"));
    if (si < 0)
        si = open ? 0 : 3;
    bool have_id = hj_int(inc, "id", &id), have_opened = hj_int(inc, "opened_ms", &opened);
    bool have_closed = hj_int(inc, "closed_ms", &closed);
    hw_printf(w, "<article class=\"incident %s\"", open ? "open" : "past");
    if (have_id)
        hw_printf(w, " id=\"incident-%lld\" data-incident=\"%lld\"", (long long)id, (long long)id);
    hw_printf(w, " data-status=\"%s\" data-impact=\"%s\" data-target=\"", inc_status[si],
              cs_id[inc_impact(inc)]);
    hw_html(w, target ? target : "");
    hw_printf(w, "\">\n<h3><span class=\"badge %s\">%s</span>", inc_status[si], inc_label[si]);
    hw_html(w, title ? title : "Incident");
    hw_puts(w, "</h3>\n<p class=\"meta\">");
    if (target) {
        hw_puts(w, "Affects ");
        hw_html(w, target);
        hw_puts(w, " \xc2\xb7 "); /* a middle dot */
    }
    if (have_opened) {
        hw_puts(w, "opened ");
        time_el(w, opened);
    }
    if (have_opened && (have_closed || open)) {
        hw_puts(w, have_closed ? ", lasted " : ", open for ");
        duration(w, (have_closed ? closed : now_ms) - opened);
    }
    hw_puts(w, "</p>\n");
    if (open)
        render_updates(w, hj_array(inc, "timeline"));
    hw_puts(w, "</article>\n");
}

/* The open incidents: the status document's list; without one, the open ones of the
 * 90-day list. */
static const cJSON *open_list(const cJSON *status, const cJSON *incidents)
{
    const cJSON *l = hj_array(status, "incidents");
    return l ? l : incidents;
}

static void render_open(hw *w, const cJSON *status, const cJSON *incidents, int64_t now_ms)
{
    const cJSON *list = open_list(status, incidents), *inc;
    int shown = 0;
    hw_puts(w, "<section id=\"incidents-open\">\n<h2>Open incidents</h2>\n");
    cJSON_ArrayForEach(inc, list) {
        if (!cJSON_IsObject(inc) || !inc_is_open(inc))
            continue;
        render_incident(w, inc, true, now_ms);
        shown++;
    }
    if (!shown)
        hw_puts(w, "<p class=\"none\">No open incidents.</p>\n");
    hw_puts(w, "</section>\n");
}

/* An interval during which a component had an incident, clipped to the history. */
typedef struct span {
    int64_t from, to;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* Sum of the union of the spans (sorted here), so overlapping incidents count once. */
static int64_t spans_union(span *s, size_t n)
{
    int64_t total = 0, from = 0, to = 0;
    qsort(s, n, sizeof *s, span_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || s[i].from > to) {
            total += to - from;
            from = s[i].from;
            to = s[i].to;
        } else if (s[i].to > to) {
            to = s[i].to;
        }
    }
    return n ? total + (to - from) : 0;
}

typedef struct history {
    cstatus day[HISTORY_DAYS];
    span spans[INTERVALS_MAX];
    size_t nspans;
} history;

/* Marks the days inc touched with its impact if it concerns component name. */
static void history_add(history *h, const cJSON *inc, const char *name, int64_t first_day_ms,
                        int64_t now_ms)
{
    const char *target = hj_str(inc, "target");
    const cJSON *fp = cJSON_IsObject(inc) ? cJSON_GetObjectItemCaseSensitive(inc, "false_positive") : NULL;
    int64_t from, to;
    if (!target || strcmp(target, name) || cJSON_IsTrue(fp) || !hj_int(inc, "opened_ms", &from))
        return;
    if (!hj_int(inc, "closed_ms", &to) || to > now_ms)
        to = now_ms;
    if (from < first_day_ms)
        from = first_day_ms;
    if (to <= from)
        to = from + 1; /* an incident shorter than a millisecond still marks its day */
    if (from >= now_ms)
        return;
    cstatus impact = inc_impact(inc);
    for (int64_t d = (from - first_day_ms) / DAY_MS; d <= (to - 1 - first_day_ms) / DAY_MS && d < HISTORY_DAYS; d++)
        if (impact > h->day[d])
            h->day[d] = impact;
    if (impact != CS_MAINTENANCE && h->nspans < INTERVALS_MAX)
        h->spans[h->nspans++] = (span){from, to};
}

static void render_history(hw *w, history *h, const char *name, cstatus now_status,
                           const cJSON *lists[2], int64_t now_ms)
{
    int64_t first_day_ms = (now_ms / DAY_MS - (HISTORY_DAYS - 1)) * DAY_MS;
    memset(h->day, 0, sizeof h->day);
    h->nspans = 0;
    for (int l = 0; l < 2; l++) {
        const cJSON *inc;
        cJSON_ArrayForEach(inc, lists[l])
            history_add(h, inc, name, first_day_ms, now_ms);
    }
    /* today shows what is true now too, incident or not */
    if (now_status > h->day[HISTORY_DAYS - 1] && now_status != CS_UNKNOWN)
        h->day[HISTORY_DAYS - 1] = now_status;
    hw_printf(w, "<ol class=\"history\" data-days=\"%d\">", HISTORY_DAYS);
    for (int d = 0; d < HISTORY_DAYS; d++) {
        int64_t day_ms = first_day_ms + d * DAY_MS;
        hw_printf(w, "<li class=\"day s-%s\" data-status=\"%s\" data-date=\"", cs_id[h->day[d]],
                  cs_id[h->day[d]]);
        hw_time_iso(w, day_ms);
        hw_puts(w, "\" title=\"");
        hw_time_human(w, day_ms);
        hw_printf(w, ": %s\"></li>", cs_label[h->day[d]]);
    }
    hw_puts(w, "</ol>\n");
    int64_t window = now_ms - first_day_ms;
    int64_t down = spans_union(h->spans, h->nspans);
    double up = window > 0 ? 100.0 * (double)(window - down) / (double)window : 100.0;
    hw_printf(w, "<p class=\"uptime\"><span>%d days ago</span><span class=\"pct\" data-uptime=\"%.2f\">"
                 "%.2f %% uptime</span><span>Today</span></p>\n", HISTORY_DAYS, up, up);
}

static void render_components(hw *w, const cJSON *status, const cJSON *incidents, int64_t now_ms)
{
    const cJSON *services = hj_array(status, "services"), *svc;
    const cJSON *lists[2] = {open_list(status, incidents), incidents};
    if (lists[0] == incidents)
        lists[1] = NULL;
    history *h = malloc(sizeof *h);
    if (!h) {
        w->rc = w->rc ? w->rc : err_set(ERR_FATAL, "out of memory rendering the history");
        return;
    }
    hw_puts(w, "<section id=\"components\">\n<h2>Components</h2>\n<ul class=\"components\">\n");
    cJSON_ArrayForEach(svc, services) {
        const char *name = hj_str(svc, "name"), *detail = hj_str(svc, "detail");
        int64_t since;
        if (!name)
            continue;
        cstatus cs = cs_of(hj_str(svc, "state"), hj_str(svc, "health"));
        hw_puts(w, "<li class=\"component\" data-component=\"");
        hw_html(w, name);
        hw_printf(w, "\" data-status=\"%s\">\n<div class=\"row\"><span class=\"name\">", cs_id[cs]);
        hw_html(w, name);
        hw_printf(w, "</span><span class=\"status\">%s</span></div>\n<p class=\"detail\">", cs_label[cs]);
        if (detail && *detail && cs != CS_OPERATIONAL) {
            hw_html(w, detail);
            hw_puts(w, " \xc2\xb7 ");
        }
        if (hj_int(svc, "since_ms", &since)) {
            hw_puts(w, "since ");
            time_el(w, since);
        }
        hw_puts(w, "</p>\n");
        render_history(w, h, name, cs, lists, now_ms);
        hw_puts(w, "</li>\n");
    }
    free(h);
    if (!cJSON_GetArraySize(services))
        hw_puts(w, "<li class=\"none\">No components are watched.</li>\n");
    hw_puts(w, "</ul>\n</section>\n");
}

static void render_past(hw *w, const cJSON *incidents, int64_t now_ms)
{
    const cJSON *inc;
    int shown = 0, more = 0;
    hw_printf(w, "<section id=\"incidents-past\">\n<h2>Past incidents (%d days)</h2>\n", HISTORY_DAYS);
    cJSON_ArrayForEach(inc, incidents) {
        if (!cJSON_IsObject(inc) || inc_is_open(inc))
            continue;
        if (shown == PAST_MAX) {
            more++;
            continue;
        }
        render_incident(w, inc, false, now_ms);
        shown++;
    }
    if (more)
        hw_printf(w, "<p class=\"none\">and %d more: see /api/incidents</p>\n", more);
    if (!shown)
        hw_puts(w, "<p class=\"none\">No incidents in this period.</p>\n");
    hw_puts(w, "</section>\n");
}

static cstatus overall_of(const cJSON *status)
{
    const cJSON *svc;
    cstatus worst = CS_OPERATIONAL;
    int n = 0;
    cJSON_ArrayForEach(svc, hj_array(status, "services")) {
        if (!hj_str(svc, "name"))
            continue;
        cstatus cs = cs_of(hj_str(svc, "state"), hj_str(svc, "health"));
        if (cs > worst)
            worst = cs;
        n++;
    }
    return n ? worst : CS_UNKNOWN; /* nothing watched: nothing to promise */
}

int http_render_page(const cJSON *status, const cJSON *incidents, int64_t now_ms, buf *out)
{
    hw w = {out, 0};
    const char *node = hj_str(status, "node"), *version = hj_str(status, "version");
    if (!cJSON_IsArray(incidents))
        incidents = NULL;
    cstatus overall = overall_of(status);
    render_head(&w, status, overall, now_ms);
    render_hold_all(&w, status);
    render_open(&w, status, incidents, now_ms);
    render_components(&w, status, incidents, now_ms);
    render_past(&w, incidents, now_ms);
    hw_puts(&w, "</main>\n<footer>lifeline ");
    hw_html(&w, version ? version : "");
    if (node) {
        hw_puts(&w, " on ");
        hw_html(&w, node);
    }
    hw_puts(&w, " \xc2\xb7 times in UTC \xc2\xb7 this page refreshes every 30 seconds</footer>\n"
                "</body>\n</html>\n");
    return w.rc;
}
