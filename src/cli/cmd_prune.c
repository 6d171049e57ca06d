/* cmd_prune — `lifeline prune`: reclaims space no snapshot uses. */
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/prune.h"
#include "cli.h"

static void report_young(const prune_stats *st, int64_t window)
{
    char b[32], w[32];
    if (!st->packs_young && !st->temps_young)
        return;
    text_bytes(st->bytes_young, b, sizeof b);
    snprintf(w, sizeof w, window % 3600 ? "%llds" : "%lldh", (long long)(window % 3600 ? window : window / 3600));
    LOG_INFO("%llu pack(s) (%s) and %llu temporary file(s) younger than the safety window (%s) left alone: a "
             "writer may still need them", (unsigned long long)st->packs_young, b,
             (unsigned long long)st->temps_young, w);
}

static int prune_and_report(cli *c, repo *r, int dry_run, double max_unused, int64_t window)
{
    prune_opts o = {.dry_run = dry_run, .max_unused = max_unused, .safety_window = window};
    prune_stats st;
    int rc = prune_run(r, &o, &st);
    if (rc)
        return rc;
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "dry_run", dry_run);
        cJSON_AddNumberToObject(j, "packs_total", (double)st.packs_total);
        cJSON_AddNumberToObject(j, "packs_deleted", (double)st.packs_deleted);
        cJSON_AddNumberToObject(j, "packs_repacked", (double)st.packs_repacked);
        cJSON_AddNumberToObject(j, "packs_unindexed_removed", (double)st.packs_unindexed);
        cJSON_AddNumberToObject(j, "blobs_used", (double)st.blobs_used);
        cJSON_AddNumberToObject(j, "blobs_unused", (double)st.blobs_unused);
        cJSON_AddNumberToObject(j, "bytes_freed", (double)st.bytes_freed);
        cJSON_AddNumberToObject(j, "safety_window_seconds", (double)window);
        cJSON_AddNumberToObject(j, "packs_young_kept", (double)st.packs_young);
        cJSON_AddNumberToObject(j, "bytes_young_kept", (double)st.bytes_young);
        cJSON_AddNumberToObject(j, "temporaries_removed", (double)st.temps_removed);
        cJSON_AddNumberToObject(j, "temporary_bytes_removed", (double)st.temps_bytes);
        cJSON_AddNumberToObject(j, "temporaries_young_kept", (double)st.temps_young);
        if (st.packs_repacked) {
            cJSON_AddNumberToObject(j, "repack_space_needed", (double)st.repack_space_needed);
            cJSON_AddNumberToObject(j, "space_free", (double)st.space_free);
        }
        cli_json_print(j);
    } else {
        char f[32], rp[32];
        text_bytes(st.bytes_freed, f, sizeof f);
        text_bytes(st.bytes_repacked, rp, sizeof rp);
        LOG_INFO("%s%llu of %llu packs deleted, %llu repacked (%s copied), %llu left by interrupted backups removed",
                 dry_run ? "dry run: " : "", (unsigned long long)st.packs_deleted,
                 (unsigned long long)st.packs_total, (unsigned long long)st.packs_repacked, rp,
                 (unsigned long long)st.packs_unindexed);
        if (st.temps_removed) {
            text_bytes(st.temps_bytes, rp, sizeof rp);
            LOG_INFO("%llu temporary file(s) of unfinished writes (%s) %s", (unsigned long long)st.temps_removed, rp,
                     dry_run ? "would be removed" : "removed");
        }
        report_young(&st, window);
        LOG_INFO("%llu blobs in use, %llu unused; %s %s", (unsigned long long)st.blobs_used,
                 (unsigned long long)st.blobs_unused, f, dry_run ? "would be freed" : "freed");
    }
    return 0;
}

/* forget --prune: with the default safety window */
int cli_prune_and_report(cli *c, repo *r, int dry_run, double max_unused);
int cli_prune_and_report(cli *c, repo *r, int dry_run, double max_unused)
{
    return prune_and_report(c, r, dry_run, max_unused, PRUNE_SAFETY_WINDOW_DEFAULT);
}

int cmd_prune(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"max-unused", required_argument, NULL, 'u'},
                                         {"safety-window", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    int opt, dry = 0;
    double max_unused = 0.5;
    int64_t window = PRUNE_SAFETY_WINDOW_DEFAULT;
    while ((opt = cli_getopt(c, argc, argv, "n", opts, cli_find("prune"))) != -1) {
        uint64_t v;
        if (opt == -2)
            return 0;
        if (opt == 'n')
            dry = 1;
        else if (opt == 'u') {
            if (text_parse_u64(optarg, 100, &v))
                return err_wrap("--max-unused");
            max_unused = (double)v / 100.0;
        } else if (opt == 'w') {
            if (strcmp(optarg, "0") && text_parse_interval(optarg, &window))
                return err_wrap("--safety-window");
            if (!strcmp(optarg, "0"))
                window = 0;
        } else
            return ERR_USAGE;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "prune takes no arguments");
    if (c->no_lock)
        return err_set(ERR_USAGE, "--no-lock is only for commands that read; prune always locks");
    repo *r;
    repo_lock *lk = NULL;
    int rc = cli_open_repo(c, &r);
    if (rc)
        return rc;
    c->audit = !dry;
    if (!(rc = lock_acquire(r, 1, c->lock_wait, &lk)))
        rc = prune_and_report(c, r, dry, max_unused, window);
    lock_release(&lk);
    return rc;
}
