/* cmd_check — `lifeline check [--read-data | --read-data-subset N/M]`. */
#include <stdio.h>
#include <string.h>

#include "../audit/audit.h"
#include "../core/log.h"
#include "../core/text.h"
#include "../repo/check.h"
#include "../repo/lock.h"
#include "../source/pg.h"
#include "../source/redis.h"
#include "../source/wal.h"
#include "cli.h"

typedef struct report_ctx {
    cJSON *arr;
} report_ctx;

static void on_problem(const char *severity, const char *object, const char *problem, void *vctx)
{
    report_ctx *rc = vctx;
    if (rc->arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "severity", severity);
        cJSON_AddStringToObject(o, "object", object);
        cJSON_AddStringToObject(o, "problem", problem);
        cJSON_AddItemToArray(rc->arr, o);
    }
    char line[2048]; /* names of damaged files: never raw on stderr (log_line) */
    snprintf(line, sizeof line, "%s: %s", object, problem);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s: ", severity);
    log_line(prefix, line);
}

static void on_wal_problem(const char *object, const char *problem, void *vctx)
{
    on_problem("error", object, problem, vctx);
}

static int parse_subset(const char *s, check_opts *o)
{
    uint64_t n, m;
    char a[32], b[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof a || strlen(slash + 1) >= sizeof b)
        return err_set(ERR_USAGE, "--read-data-subset takes N/M, e.g. 1/5");
    snprintf(a, sizeof a, "%.*s", (int)(slash - s), s);
    snprintf(b, sizeof b, "%s", slash + 1);
    if (text_parse_u64(a, 1000000, &n) || text_parse_u64(b, 1000000, &m) || !n || !m || n > m)
        return err_set(ERR_USAGE, "--read-data-subset %s: need 1 <= N <= M", s);
    o->read_data = 1;
    o->subset_n = (uint32_t)n;
    o->subset_m = (uint32_t)m;
    return 0;
}

int cmd_check(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"read-data", no_argument, NULL, 'd'},
                                         {"read-data-subset", required_argument, NULL, 's'},
                                         {"no-progress", no_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    check_opts o = {0};
    int opt, no_progress = 0;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("check"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt == 'd')
            o.read_data = 1;
        else if (opt == 's') {
            if (parse_subset(optarg, &o))
                return ERR_USAGE;
        } else if (opt == 'n')
            no_progress = 1;
        else
            return ERR_USAGE;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "check takes no arguments");
    o.progress = !no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty();
    repo *r;
    repo_lock *lk = NULL;
    check_result res = {0};
    uint64_t wal_files = 0;
    audit_check_result ar = {0};
    report_ctx rctx = {.arr = c->json ? cJSON_CreateArray() : NULL};
    int rc = cli_open_repo(c, &r);
    if (!rc)
        rc = cli_lock_reader(c, r, &lk); /* read-only media and full disks can be checked */
    if (!rc)
        rc = check_run(r, &o, on_problem, &rctx, &res);
    if (!rc)
        rc = pg_check_wal(r, on_problem, &rctx, &res.errors);
    if (!rc && o.read_data)
        rc = redis_check_snapshots(r, on_problem, &rctx, &res.errors);
    if (!rc && o.read_data)
        rc = wal_archive_verify(r, on_wal_problem, &rctx, &wal_files, &res.errors);
    if (!rc) /* the trail, and the holds and snapshots it says are in force */
        rc = audit_check(r, on_problem, &rctx, &ar);
    res.errors += (uint64_t)ar.damaged;
    res.warnings += (uint64_t)ar.warnings;
    ar.unreadable += (int)res.unreadable;
    lock_release(&lk);
    if (rc) {
        cJSON_Delete(rctx.arr);
        return rc;
    }
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "ok", res.errors == 0);
        cJSON_AddNumberToObject(j, "snapshots", (double)res.snapshots);
        cJSON_AddNumberToObject(j, "trees", (double)res.trees);
        cJSON_AddNumberToObject(j, "packs", (double)res.packs);
        cJSON_AddNumberToObject(j, "packs_read", (double)res.packs_read);
        cJSON_AddNumberToObject(j, "blobs_read", (double)res.blobs_read);
        cJSON_AddNumberToObject(j, "bytes_read", (double)res.bytes_read);
        cJSON_AddNumberToObject(j, "wal_files_read", (double)wal_files);
        cJSON_AddNumberToObject(j, "audit_records", (double)ar.records);
        cJSON_AddNumberToObject(j, "errors", (double)res.errors);
        cJSON_AddNumberToObject(j, "unreadable", (double)ar.unreadable);
        cJSON_AddNumberToObject(j, "warnings", (double)res.warnings);
        cJSON_AddNumberToObject(j, "temporary_files", (double)res.temps);
        cJSON_AddNumberToObject(j, "temporary_bytes", (double)res.temp_bytes);
        cJSON_AddItemToObject(j, "problems", rctx.arr);
        cli_json_print(j);
    } else {
        char b[32];
        text_bytes(res.bytes_read, b, sizeof b);
        LOG_INFO("checked %llu snapshots, %llu trees, %llu packs%s", (unsigned long long)res.snapshots,
                 (unsigned long long)res.trees, (unsigned long long)res.packs, o.read_data ? "" : " (headers)");
        if (o.read_data)
            LOG_INFO("read %llu packs, %llu blobs, %s: every blob decrypted, authenticated and its id recomputed",
                     (unsigned long long)res.packs_read, (unsigned long long)res.blobs_read, b);
        if (wal_files)
            LOG_INFO("read %llu archived WAL files: each decrypted and authenticated", (unsigned long long)wal_files);
        LOG_INFO("verified the audit trail: %llu records", (unsigned long long)ar.records);
        if (res.errors || ar.unreadable)
            LOG_INFO("%llu error(s), %d unreadable, %llu warning(s)", (unsigned long long)res.errors, ar.unreadable,
                     (unsigned long long)res.warnings);
        else
            LOG_INFO("no errors were found%s", res.warnings ? " (see warnings above)" : "");
    }
    if (res.errors)
        return err_set(ERR_DAMAGED, "repository check found %llu error(s)%s", (unsigned long long)res.errors,
                       ar.unreadable ? " and files it could not read" : "");
    if (ar.unreadable) { /* not damage: the files may be intact for a user who can read them */
        err_set(ERR_IO, "repository check could not read %d file(s) (I/O or permissions); the rest is intact", ar.unreadable);
        err_hint("run check as a user that can read every file of %s", repo_location(r));
        return ERR_IO;
    }
    return 0;
}
