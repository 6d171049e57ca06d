/* cmd_prune — `lifeline prune`: reclaims space no snapshot uses. */
#include <stdio.h>

#include "../core/log.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/prune.h"
#include "cli.h"

int cli_prune_and_report(cli *c, repo *r, int dry_run, double max_unused);
int cli_prune_and_report(cli *c, repo *r, int dry_run, double max_unused)
{
    prune_opts o = {.dry_run = dry_run, .max_unused = max_unused};
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
        cli_json_print(j);
    } else {
        char f[32], rp[32];
        text_bytes(st.bytes_freed, f, sizeof f);
        text_bytes(st.bytes_repacked, rp, sizeof rp);
        LOG_INFO("%s%llu of %llu packs deleted, %llu repacked (%s copied), %llu left by interrupted backups removed",
                 dry_run ? "dry run: " : "", (unsigned long long)st.packs_deleted,
                 (unsigned long long)st.packs_total, (unsigned long long)st.packs_repacked, rp,
                 (unsigned long long)st.packs_unindexed);
        LOG_INFO("%llu blobs in use, %llu unused; %s %s", (unsigned long long)st.blobs_used,
                 (unsigned long long)st.blobs_unused, f, dry_run ? "would be freed" : "freed");
    }
    return 0;
}

int cmd_prune(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"max-unused", required_argument, NULL, 'u'},
                                         {NULL, 0, NULL, 0}};
    int opt, dry = 0;
    double max_unused = 0.5;
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
        } else
            return ERR_USAGE;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "prune takes no arguments");
    repo *r;
    repo_lock *lk = NULL;
    int rc = cli_open_repo(c, &r);
    if (rc)
        return rc;
    c->audit = !dry;
    if (!(rc = lock_acquire(r, 1, c->lock_wait, &lk)))
        rc = cli_prune_and_report(c, r, dry, max_unused);
    lock_release(&lk);
    return rc;
}
