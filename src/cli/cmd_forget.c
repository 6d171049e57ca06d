/* cmd_forget — `lifeline forget`: removes snapshots by id or by retention policy,
 * per group (host, paths, class), saying why each snapshot is kept or removed.
 * Retention locks and legal holds win over every flag. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../audit/audit.h"
#include "../core/log.h"
#include "../core/quote.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../source/pg.h"
#include "../repo/prune.h"
#include "../repo/retention.h"
#include "../repo/snapshot.h"
#include "cli.h"

cJSON *cli_snapshot_json(const snapshot *s);
int cli_prune_and_report(cli *c, repo *r, int dry_run, double max_unused);

/* The snapshots removed (or, in a dry run, that would be): the WAL only they needed goes too. */
typedef struct forget_gone {
    uint8_t (*ids)[32];
    size_t n, cap;
} forget_gone;

typedef struct forget_args {
    retention_policy pol;
    char *tags[32];
    const char *class_name;
    int dry_run, prune, allow_remove_newest;
    forget_gone *gone;
} forget_args;

/* --keep-within-hourly ... --keep-within-yearly, by period (retention.h) */
static const char *const within_flags[RETENTION_PERIODS] = {
    "keep-within-hourly", "keep-within-daily", "keep-within-weekly", "keep-within-monthly", "keep-within-yearly"};
enum { OPT_WITHIN_PERIOD = 1100, OPT_ALLOW_NEWEST = 1110 };

static int parse(cli *c, int argc, char **argv, forget_args *a)
{
    static const struct option opts[] = {
        {"keep-last", required_argument, NULL, 'l'},    {"keep-hourly", required_argument, NULL, 'H'},
        {"keep-daily", required_argument, NULL, 'd'},   {"keep-weekly", required_argument, NULL, 'w'},
        {"keep-monthly", required_argument, NULL, 'm'}, {"keep-yearly", required_argument, NULL, 'y'},
        {"keep-within", required_argument, NULL, 'W'},  {"keep-tag", required_argument, NULL, 't'},
        {"class", required_argument, NULL, 'C'},        {"dry-run", no_argument, NULL, 'n'},
        {"prune", no_argument, NULL, 'p'},
        {"allow-remove-newest", no_argument, NULL, OPT_ALLOW_NEWEST},
        {"keep-within-hourly", required_argument, NULL, OPT_WITHIN_PERIOD + RETENTION_HOURLY},
        {"keep-within-daily", required_argument, NULL, OPT_WITHIN_PERIOD + RETENTION_DAILY},
        {"keep-within-weekly", required_argument, NULL, OPT_WITHIN_PERIOD + RETENTION_WEEKLY},
        {"keep-within-monthly", required_argument, NULL, OPT_WITHIN_PERIOD + RETENTION_MONTHLY},
        {"keep-within-yearly", required_argument, NULL, OPT_WITHIN_PERIOD + RETENTION_YEARLY},
        {NULL, 0, NULL, 0}};
    int opt;
    a->pol.keep_tags = a->tags;
    while ((opt = cli_getopt(c, argc, argv, "n", opts, cli_find("forget"))) != -1) {
        uint64_t v = 0;
        int *dst = NULL;
        switch (opt) {
        case -2: return -2;
        case 'l': dst = &a->pol.keep_last; break;
        case 'H': dst = &a->pol.keep_hourly; break;
        case 'd': dst = &a->pol.keep_daily; break;
        case 'w': dst = &a->pol.keep_weekly; break;
        case 'm': dst = &a->pol.keep_monthly; break;
        case 'y': dst = &a->pol.keep_yearly; break;
        case 'W':
            if (text_parse_duration(optarg, &a->pol.keep_within))
                return err_wrap("--keep-within");
            continue;
        case 't':
            if (a->pol.ntags == 32)
                return err_set(ERR_USAGE, "at most 32 --keep-tag");
            a->tags[a->pol.ntags++] = optarg;
            continue;
        case 'C': a->class_name = optarg; continue;
        case 'n': a->dry_run = 1; continue;
        case 'p': a->prune = 1; continue;
        case OPT_ALLOW_NEWEST: a->allow_remove_newest = 1; continue;
        default:
            if (opt >= OPT_WITHIN_PERIOD && opt < OPT_WITHIN_PERIOD + RETENTION_PERIODS) {
                int k = opt - OPT_WITHIN_PERIOD;
                if (text_parse_duration(optarg, &a->pol.keep_within_period[k]))
                    return err_wrap("--%s", within_flags[k]);
                continue;
            }
            return ERR_USAGE;
        }
        if (text_parse_u64(optarg, 1000000, &v))
            return err_wrap("%s", argv[optind - 1]);
        *dst = (int)v;
    }
    return 0;
}

/* A hold that cannot be read, or that the audit trail says is in force but whose file
 * is gone, blocks the forget like a hold and is named as the damage it is. */
static int refuse_if_hold_unsure(const snapshot *s)
{
    char sid[9], hex[65];
    snapshot_short_id(s->id, sid);
    text_hex(s->id, 32, hex);
    if (s->hold_lost)
        err_set(ERR_DAMAGED,
                "legal hold holds/%s on snapshot %s is missing: audit record seq %llu placed it and no release "
                "followed (the file was deleted)",
                hex, sid, (unsigned long long)s->hold_lost);
    else if (s->hold_error)
        err_set(s->hold_error == ERR_DAMAGED ? ERR_DAMAGED : ERR_IO,
                "legal hold holds/%s on snapshot %s is %s: forget cannot tell whether it still holds", hex, sid,
                s->hold_error == ERR_DAMAGED ? "damaged" : "unreadable");
    else
        return 0;
    err_hint("put holds/%s back from a copy of the repository, or end the hold on purpose (recorded): "
             "lifeline release %s",
             hex, sid);
    return err_last();
}

static int refuse_if_protected(const snapshot *s, int64_t now)
{
    char sid[9], t[64];
    snapshot_short_id(s->id, sid);
    int rc = refuse_if_hold_unsure(s);
    if (rc)
        return rc;
    if (s->held) {
        err_set(ERR_RETENTION, "snapshot %s is under a legal hold and cannot be forgotten", sid);
        err_hint("release it first: lifeline release %s", sid);
        return ERR_RETENTION;
    }
    if (s->lock_until > now) {
        text_time(s->lock_until, 0, t, sizeof t);
        return err_set(ERR_RETENTION, "snapshot %s is retention-locked%s%s until %s and cannot be forgotten", sid,
                       s->class_name[0] ? " by class " : "", s->class_name, t);
    }
    return 0;
}

static int forget_one(cli *c, repo *r, const snapshot *s, const forget_args *a)
{
    char hex[65];
    forget_gone *g = a->gone;
    int rc = array_grow(&g->ids, &g->cap, g->n + 1, sizeof *g->ids, 64);
    if (rc)
        return rc;
    memcpy(g->ids[g->n++], s->id, 32);
    text_hex(s->id, 32, hex);
    if (a->dry_run)
        return 0;
    cli_audit_id(c, hex);
    return repo_object_remove(r, OBJ_SNAPSHOT, s->id);
}

/* A snapshot whose file is gone but that the trail says was saved and never
 * forgotten: forgetting it records that it is gone on purpose, so that 'latest' and
 * check stop asking for it. 1 when spec names exactly one such snapshot. */
static int gone_by_trail(repo *r, const char *spec, snapshot *s)
{
    audit_state st;
    int n = 0;
    if (audit_state_load(r, &st) != 0) {
        err_clear();
        return 0;
    }
    for (size_t i = 0; i < st.nsaved; i++) {
        char hex[65];
        text_hex(st.saved[i].id, 32, hex);
        if (!strncmp(hex, spec, strlen(spec)) && n++ == 0)
            memcpy(s->id, st.saved[i].id, 32);
    }
    audit_state_free(&st);
    return n == 1;
}

static int by_ids(cli *c, repo *r, int argc, char **argv, const forget_args *a)
{
    int64_t now = (int64_t)time(NULL);
    snapshot *s = calloc((size_t)argc, sizeof *s);
    uint8_t *gone = calloc((size_t)argc, 1);
    int rc = s && gone ? 0 : err_set(ERR_FATAL, "out of memory");
    size_t lost;
    /* all or nothing: every id is checked before any is removed */
    for (int i = 0; !rc && i < argc; i++) {
        rc = snapshot_resolve(r, argv[i], &s[i]);
        if (rc == ERR_NOTFOUND && strcmp(argv[i], "latest") && gone_by_trail(r, argv[i], &s[i])) {
            err_clear();
            rc = 0;
            gone[i] = 1;
        } else if (!rc && !(rc = audit_mark_holds(r, &s[i], 1, &lost))) {
            rc = refuse_if_protected(&s[i], now);
        }
    }
    for (int i = 0; !rc && i < argc; i++) {
        char sid[9], hex[65];
        snapshot_short_id(s[i].id, sid);
        text_hex(s[i].id, 32, hex);
        if (gone[i]) {
            LOG_WARN("snapshot %s (snapshots/%s) was already gone; %s", sid, hex,
                     a->dry_run ? "forget would record that" : "its forget is recorded in the audit trail");
            if (!a->dry_run)
                cli_audit_id(c, hex);
            continue;
        }
        rc = forget_one(c, r, &s[i], a);
        if (!rc)
            LOG_INFO("%s snapshot %s", a->dry_run ? "would remove" : "removed", sid);
    }
    free(gone);
    for (int i = 0; s && i < argc; i++)
        snapshot_free(&s[i]);
    free(s);
    return rc;
}

/* Which policy applies to s: the flags, or its class's policy; NULL = leave alone. */
static const retention_policy *policy_for(cli *c, const forget_args *a, const snapshot *s)
{
    if (a->class_name && strcmp(a->class_name, s->class_name))
        return NULL;
    if (!retention_policy_empty(&a->pol))
        return &a->pol;
    const config_class *cl = s->class_name[0] ? config_class_find(c->cfg, s->class_name) : NULL;
    return cl && !retention_policy_empty(&cl->policy) ? &cl->policy : NULL;
}

static int same_group(const snapshot *x, const snapshot *y)
{
    return snapshot_same_group(x, y) && !strcmp(x->class_name, y->class_name);
}

static int by_policy(cli *c, repo *r, const forget_args *a, cJSON *arr)
{
    snapshot *list;
    size_t n;
    int64_t now = (int64_t)time(NULL);
    size_t lost = 0;
    int rc = snapshot_load_all(r, &list, &n, 1);
    if (!rc) /* a hold whose file was deleted still keeps its snapshot */
        rc = audit_mark_holds(r, list, n, &lost);
    if (rc) {
        snapshots_free(&list, n);
        return rc;
    }
    uint8_t *done = calloc(n ? n : 1, 1);
    const snapshot **group = calloc(n ? n : 1, sizeof *group);
    retention_verdict *v = calloc(n ? n : 1, sizeof *v);
    uint64_t kept = 0, removed = 0;
    if (!done || !group || !v)
        rc = err_set(ERR_FATAL, "out of memory");
    for (size_t i = n; !rc && i-- > 0;) { /* newest first */
        const retention_policy *pol = policy_for(c, a, &list[i]);
        if (done[i] || !pol)
            continue;
        size_t g = 0;
        for (size_t j = i + 1; j-- > 0;)
            if (!done[j] && same_group(&list[i], &list[j]) && policy_for(c, a, &list[j]) == pol) {
                group[g++] = &list[j];
                done[j] = 1;
            }
        retention_apply(pol, now, group, g, a->allow_remove_newest, v);
        if (!c->json) {
            char host[256];
            printf("group: host %s, class %s, paths%s",
                   quote_buf(list[i].hostname, quote_style_for(stdout), host, sizeof host),
                   list[i].class_name[0] ? list[i].class_name : "(none)", list[i].npaths ? " " : "");
            if (list[i].npaths)
                quote_fput(stdout, list[i].paths[0], quote_style_for(stdout));
            putchar('\n');
        }
        for (size_t k = 0; !rc && k < g; k++) {
            char sid[9], t[64];
            snapshot_short_id(group[k]->id, sid);
            text_time(group[k]->time, 0, t, sizeof t);
            if (arr) {
                cJSON *o = cli_snapshot_json(group[k]);
                cJSON_AddBoolToObject(o, "keep", v[k].keep);
                cJSON_AddStringToObject(o, "reason", v[k].keep ? v[k].reason : "not kept by the policy");
                cJSON_AddItemToArray(arr, o);
            } else {
                printf("  %-6s %s  %s  %s\n", v[k].keep ? "keep" : "remove", sid, t,
                       v[k].keep ? v[k].reason : "not kept by the policy");
            }
            if (v[k].keep) {
                kept++;
            } else if (!(rc = forget_one(c, r, group[k], a))) {
                removed++;
            }
        }
    }
    if (!rc && !c->json)
        LOG_INFO("%llu kept, %llu %s", (unsigned long long)kept, (unsigned long long)removed,
                 a->dry_run ? "would be removed (dry run)" : "removed");
    for (size_t i = 0; !rc && i < n; i++) /* kept, and named as the damage they are */
        if (list[i].hold_lost || list[i].hold_error)
            rc = refuse_if_hold_unsure(&list[i]);
    free(done);
    free(group);
    free(v);
    snapshots_free(&list, n);
    return rc;
}

/* WAL before the oldest base backup goes with it; while a snapshot cannot be read (or
 * the trail says one was deleted) the oldest is unknown, and the WAL stays. */
static int every_snapshot_readable(cli *c, repo *r)
{
    snapshot *list;
    size_t n;
    int rc = snapshot_load_all(r, &list, &n, 2);
    if (!rc) {
        rc = snapshot_guard(r, list, n, NULL, c->audit_ids, c->naudit_ids); /* minus what this forget removed */
        snapshots_free(&list, n);
    }
    if (rc) {
        LOG_WARN("archived WAL is kept, as the oldest backup it serves is not known: %s", err_msg());
        err_clear();
    }
    return !rc;
}

int cmd_forget(cli *c, int argc, char **argv)
{
    forget_args a;
    memset(&a, 0, sizeof a);
    int rc = parse(c, argc, argv, &a);
    if (rc == -2)
        return 0;
    if (rc)
        return rc;
    int nids = argc - optind;
    if (nids && !retention_policy_empty(&a.pol))
        return err_set(ERR_USAGE, "give snapshot ids or a policy, not both");
    if (a.class_name && !config_class_find(c->cfg, a.class_name))
        return err_set(ERR_CONFIG, "retention class '%s' is not defined in the configuration", a.class_name);
    if (!nids && retention_policy_empty(&a.pol) && !(c->cfg && c->cfg->nclasses)) {
        err_set(ERR_USAGE, "no policy given: nothing to decide on");
        err_hint("give --keep-* flags, or define retention classes in the configuration file");
        return ERR_USAGE;
    }
    repo *r;
    repo_lock *lk = NULL;
    if ((rc = cli_open_repo(c, &r)))
        return rc;
    c->audit = !a.dry_run;
    if ((rc = lock_acquire(r, 1, c->lock_wait, &lk)))
        return rc;
    forget_gone gone = {0};
    cJSON *arr = c->json ? cJSON_CreateArray() : NULL;
    a.gone = &gone;
    rc = nids ? by_ids(c, r, nids, argv + optind, &a) : by_policy(c, r, &a, arr);
    if (!rc && every_snapshot_readable(c, r)) /* the PITR window ends where the oldest kept backup begins */
        rc = pg_forget_wal(r, (const uint8_t(*)[32])gone.ids, gone.n, a.dry_run, arr);
    if (!rc && arr)
        cli_json_print(arr);
    else
        cJSON_Delete(arr);
    free(gone.ids);
    if (!rc && a.prune)
        rc = cli_prune_and_report(c, r, a.dry_run, 0.5);
    lock_release(&lk);
    return rc;
}
