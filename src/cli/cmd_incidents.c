/* cmd_incidents — `lifeline incidents [show|update|mark]`: the watch agent's
 * incidents read from (and human updates written to) the state database in the
 * state folder. SQLite is the shared truth: a running agent finds updates in the
 * timeline; this command needs no agent. */
#define _GNU_SOURCE
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/quote.h"
#include "../core/text.h"
#include "../evidence/report.h"
#include "../state/state.h"
#include "../watch/paths.h"
#include "cli.h"

#define INCIDENTS_BUSY_MS 5000 /* how long to wait for the agent's write lock */
#define MESSAGE_MAX 4096       /* an update is a status line, not a document */

enum { OPT_OPEN = 1, OPT_SINCE, OPT_FORMAT, OPT_STATUS, OPT_MESSAGE, OPT_FP, OPT_NOT_FP };

typedef struct inc_args {
    int open_only, fp; /* fp: -1 not given, 0 / 1 */
    int64_t since_s;
    const char *format, *status, *message;
} inc_args;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Opens <state folder>/state.db: as it is (never created) when only reading. */
static int open_state(cli *c, state **s)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    int rc = watch_state_dir(c->cfg, dir, sizeof dir);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/state.db", dir);
    return state_open_existing(path, INCIDENTS_BUSY_MS, s);
}

/* An incident id: a positive decimal number, else ERR_USAGE. */
static int parse_id(const char *arg, int64_t *id)
{
    uint64_t v;
    if (text_parse_u64(arg, INT64_MAX, &v) != 0 || v == 0)
        return err_set(ERR_USAGE, "'%s' is not an incident id (a number, as 'lifeline incidents' lists them)", arg);
    *id = (int64_t)v;
    return 0;
}

/* Text from the database on one line of a terminal or a pipe: controls escaped. */
static const char *q(const char *s, char *out, size_t cap) { return quote_buf(s, QUOTE_MESSAGE, out, cap); }

static void print_row(const state_incident *in, int64_t now)
{
    char opened[48], span[48], target[128], title[512];
    report_time(in->opened_ms, opened, sizeof opened);
    if (in->closed_ms) {
        report_duration(report_ttr_ms(in), span, sizeof span);
    } else {
        char d[40];
        report_duration(now - in->opened_ms, d, sizeof d);
        snprintf(span, sizeof span, "open %s", d);
    }
    printf("%-5lld %-16s %-13s %-24s %-14s %-3s %s\n", (long long)in->id, q(in->target, target, sizeof target),
           in->status, opened, span, in->false_positive ? "yes" : "", q(in->title, title, sizeof title));
}

static void print_metrics(const state_metrics *m, int window)
{
    char mttr[48] = "-", succ[48] = "-", fp[48] = "-";
    if (m->mttr_seconds >= 0)
        report_duration((int64_t)(m->mttr_seconds * 1000), mttr, sizeof mttr);
    if (m->recovery_success_rate >= 0)
        snprintf(succ, sizeof succ, "%.0f%% (%lld of %lld)", m->recovery_success_rate * 100,
                 (long long)m->recoveries_verified, (long long)m->recovery_attempts);
    if (m->false_positive_rate >= 0)
        snprintf(fp, sizeof fp, "%.0f%% (%lld of %lld)", m->false_positive_rate * 100, (long long)m->false_positives,
                 (long long)m->incidents_total);
    printf("\n%lld open, %lld %s; MTTR %s; recovery success %s; false positives %s\n", (long long)m->incidents_open,
           (long long)m->incidents_total, window ? "opened in the window" : "in all", mttr, succ, fp);
}

static int inc_list(cli *c, state *s, const inc_args *a)
{
    state_incident *list = NULL;
    size_t n = 0;
    state_metrics m;
    int64_t now = now_ms(), since = a->since_s ? now - a->since_s * 1000 : 0;
    int rc = state_incident_list(s, a->open_only, since, c->json, &list, &n);
    if (!rc)
        rc = state_metrics_get(s, since, &m);
    if (!rc && c->json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "incidents");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, report_incident_json(&list[i]));
        cJSON_AddItemToObject(o, "metrics", report_metrics_json(&m));
        cli_json_print(o);
    } else if (!rc) {
        if (!n)
            printf("no %sincidents%s\n", a->open_only ? "open " : "", a->since_s ? " in the window" : "");
        else
            printf("%-5s %-16s %-13s %-24s %-14s %-3s %s\n", "ID", "SERVICE", "STATUS", "OPENED (UTC)", "TTR", "FP",
                   "TITLE");
        for (size_t i = 0; i < n; i++)
            print_row(&list[i], now);
        print_metrics(&m, a->since_s != 0);
    }
    state_incidents_free(&list, n);
    return rc;
}

static void print_incident_text(const state_incident *in)
{
    char t[48], d[48], text[1200];
    printf("incident %lld: %s\n", (long long)in->id, q(in->title, text, sizeof text));
    printf("  service         %s\n", q(in->target, text, sizeof text));
    printf("  status          %s%s\n", in->status, in->false_positive ? " (marked a false positive)" : "");
    report_time(in->opened_ms, t, sizeof t);
    printf("  opened          %s\n", t);
    if (in->detected_ms) {
        report_time(in->detected_ms, t, sizeof t);
        report_duration(in->detected_ms - in->opened_ms, d, sizeof d);
        printf("  detected        %s (%s after opening)\n", t, d);
    } else {
        printf("  detected        never confirmed\n");
    }
    if (in->closed_ms) {
        report_time(in->closed_ms, t, sizeof t);
        report_duration(report_ttr_ms(in), d, sizeof d);
        printf("  resolved        %s (time to recovery %s)\n", t, d);
    } else {
        printf("  resolved        still open\n");
    }
    printf("\n  %-24s %-10s %-13s %s\n", "TIME (UTC)", "+", "KIND", "MESSAGE");
    for (size_t i = 0; i < in->nentries; i++) {
        const state_entry *e = &in->entries[i];
        char kind[64];
        report_time(e->at_ms, t, sizeof t);
        report_duration(e->at_ms - in->opened_ms, d, sizeof d);
        printf("  %-24s %-10s %-13s %s%s%s%s\n", t, d, q(e->kind, kind, sizeof kind), e->status ? "[" : "",
               e->status ? e->status : "", e->status ? "] " : "", q(e->message, text, sizeof text));
    }
}

/* The node's name for the review's header: [watch] node, else the host name. */
static const char *node_name(cli *c, char *host, size_t cap)
{
    if (c->cfg && c->cfg->watch.node)
        return c->cfg->watch.node;
    if (gethostname(host, cap) != 0)
        return NULL;
    host[cap - 1] = '\0';
    return host;
}

static int inc_show(cli *c, state *s, int64_t id, const char *format)
{
    state_incident in;
    int rc = state_incident_get(s, id, &in);
    if (rc)
        return rc;
    if (c->json || !strcmp(format, "json")) {
        cli_json_print(report_incident_json(&in));
    } else if (!strcmp(format, "markdown")) {
        char host[256];
        buf md;
        buf_init(&md, 64 << 20);
        rc = report_incident_markdown(&in, node_name(c, host, sizeof host), &md);
        if (!rc)
            fwrite(md.data, 1, md.len, stdout);
        buf_free(&md);
    } else {
        print_incident_text(&in);
    }
    state_incident_free(&in);
    return rc;
}

static const char *who(char *out, size_t cap)
{
    const struct passwd *pw = getpwuid(geteuid());
    if (pw)
        snprintf(out, cap, "%s", pw->pw_name);
    else
        snprintf(out, cap, "uid %u", (unsigned)geteuid());
    return out;
}

/* After a change: the incident as it is now, as JSON, or the one line given. */
static int report_change(cli *c, state *s, int64_t id, const char *line)
{
    if (!c->json) {
        puts(line);
        return 0;
    }
    state_incident in;
    int rc = state_incident_get(s, id, &in);
    if (!rc)
        cli_json_print(report_incident_json(&in));
    state_incident_free(&in);
    return rc;
}

static int inc_update(cli *c, state *s, int64_t id, const inc_args *a)
{
    char by[128], line[200];
    int rc = state_incident_update(s, id, now_ms(), a->status, a->message, who(by, sizeof by));
    if (rc)
        return rc;
    snprintf(line, sizeof line, "incident %lld: status %s%s", (long long)id, a->status,
             strcmp(a->status, "resolved") ? "" : " (closed if it was open)");
    return report_change(c, s, id, line);
}

static int inc_mark(cli *c, state *s, int64_t id, int fp)
{
    char by[128], line[200];
    int rc = state_incident_mark(s, id, fp, now_ms(), who(by, sizeof by));
    if (rc)
        return rc;
    snprintf(line, sizeof line, "incident %lld %s", (long long)id,
             fp ? "marked a false positive" : "no longer marked a false positive");
    return report_change(c, s, id, line);
}

static int parse_opts(cli *c, int argc, char **argv, inc_args *a)
{
    static const struct option opts[] = {
        {"open", no_argument, NULL, OPT_OPEN},        {"since", required_argument, NULL, OPT_SINCE},
        {"format", required_argument, NULL, OPT_FORMAT}, {"status", required_argument, NULL, OPT_STATUS},
        {"message", required_argument, NULL, OPT_MESSAGE}, {"false-positive", no_argument, NULL, OPT_FP},
        {"not-false-positive", no_argument, NULL, OPT_NOT_FP}, {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("incidents"))) != -1) {
        switch (opt) {
        case -2: return -2;
        case OPT_OPEN: a->open_only = 1; break;
        case OPT_SINCE:
            if (text_parse_interval(optarg, &a->since_s) != 0 || a->since_s <= 0)
                return err_set(ERR_USAGE, "--since %s: not a duration (e.g. 30m, 24h, 7d)", optarg);
            break;
        case OPT_FORMAT: a->format = optarg; break;
        case OPT_STATUS: a->status = optarg; break;
        case OPT_MESSAGE: a->message = optarg; break;
        case OPT_FP: a->fp = 1; break;
        case OPT_NOT_FP: a->fp = 0; break;
        default: return ERR_USAGE;
        }
    }
    return 0;
}

/* The options each form takes: anything else given is a usage error, so that a
 * mistyped command never does something other than what was meant. */
static int check_args(const char *sub, int nargs, const inc_args *a)
{
    int list = !sub, show = sub && !strcmp(sub, "show"), update = sub && !strcmp(sub, "update"),
        mark = sub && !strcmp(sub, "mark");
    if (!list && !show && !update && !mark)
        return err_set(ERR_USAGE, "unknown incidents subcommand '%s' (show, update, mark)", sub);
    if (!list && nargs != 1)
        return err_set(ERR_USAGE, "incidents %s takes one incident ID", sub);
    if ((a->open_only || a->since_s) && !list)
        return err_set(ERR_USAGE, "--open and --since are for listing (lifeline incidents)");
    if (a->format && !show)
        return err_set(ERR_USAGE, "--format is for incidents show");
    if (a->format && strcmp(a->format, "text") && strcmp(a->format, "markdown") && strcmp(a->format, "json"))
        return err_set(ERR_USAGE, "--format %s: one of text, markdown, json", a->format);
    if ((a->status || a->message) && !update)
        return err_set(ERR_USAGE, "--status and --message are for incidents update");
    if (a->fp >= 0 && !mark)
        return err_set(ERR_USAGE, "--false-positive and --not-false-positive are for incidents mark");
    if (mark && a->fp < 0)
        return err_set(ERR_USAGE, "incidents mark needs --false-positive or --not-false-positive");
    if (update && !a->status)
        return err_set(ERR_USAGE, "incidents update needs --status investigating, identified, monitoring or resolved");
    if (update && !state_incident_status_valid(a->status))
        return err_set(ERR_USAGE, "--status %s: one of investigating, identified, monitoring, resolved", a->status);
    if (update && (!a->message || !*a->message || strlen(a->message) > MESSAGE_MAX))
        return err_set(ERR_USAGE, "incidents update needs --message TEXT (1 to %d bytes)", MESSAGE_MAX);
    return 0;
}

int cmd_incidents(cli *c, int argc, char **argv)
{
    inc_args a = {.fp = -1};
    int rc = parse_opts(c, argc, argv, &a);
    if (rc)
        return rc == -2 ? 0 : rc;
    const char *sub = optind < argc ? argv[optind] : NULL;
    int nargs = sub ? argc - optind - 1 : 0;
    int64_t id = 0;
    if ((rc = check_args(sub, nargs, &a)) != 0 || (sub && (rc = parse_id(argv[optind + 1], &id)) != 0))
        return rc;
    state *s = NULL;
    if ((rc = open_state(c, &s)) != 0)
        return rc;
    if (!sub)
        rc = inc_list(c, s, &a);
    else if (!strcmp(sub, "show"))
        rc = inc_show(c, s, id, a.format ? a.format : "text");
    else if (!strcmp(sub, "update"))
        rc = inc_update(c, s, id, &a);
    else
        rc = inc_mark(c, s, id, a.fp);
    state_close(&s);
    return rc;
}
