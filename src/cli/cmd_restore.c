/* cmd_restore — `lifeline restore SNAP[:PATH] --target DIR`. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../source/files.h"
#include "cli.h"

/* The failed entries for --json: the first FILES_FAILURES_MAX, each with its kind. */
static cJSON *failures_json(const files_restore_stats *st)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < st->nfailures; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "path", st->failures[i].path);
        cJSON_AddStringToObject(f, "kind", st->failures[i].damaged ? "damaged" : "local");
        cJSON_AddStringToObject(f, "error", st->failures[i].why);
        cJSON_AddItemToArray(a, f);
    }
    return a;
}

static void print_restore(cli *c, const snapshot *s, const files_restore_opts *fo, const files_restore_stats *st,
                          double secs)
{
    char sid[9], b[32], hex[65];
    snapshot_short_id(s->id, sid);
    text_bytes(st->bytes, b, sizeof b);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        text_hex(s->id, 32, hex);
        cJSON_AddStringToObject(o, "snapshot_id", hex);
        cJSON_AddStringToObject(o, "target", fo->target);
        cJSON_AddNumberToObject(o, "files", (double)st->files);
        cJSON_AddNumberToObject(o, "dirs", (double)st->dirs);
        cJSON_AddNumberToObject(o, "hard_links", (double)st->links);
        cJSON_AddNumberToObject(o, "bytes", (double)st->bytes);
        cJSON_AddNumberToObject(o, "errors", (double)st->errors);
        cJSON_AddNumberToObject(o, "damaged", (double)st->damaged);
        cJSON_AddNumberToObject(o, "local_errors", (double)st->local);
        cJSON_AddItemToObject(o, "failed", failures_json(st));
        cJSON_AddBoolToObject(o, "failed_truncated", st->errors > st->nfailures);
        cJSON_AddNumberToObject(o, "sockets_skipped", (double)st->sockets);
        cJSON_AddNumberToObject(o, "xattrs_not_set", (double)st->xattr_failed);
        cJSON_AddNumberToObject(o, "bytes_written_direct", (double)st->bytes_direct);
        cJSON_AddNumberToObject(o, "bytes_written_buffered", (double)st->bytes_buffered);
        cJSON *unmatched = cJSON_AddArrayToObject(o, "unmatched_includes");
        for (size_t i = 0; pattern_list_unmatched(fo->includes, i); i++)
            cJSON_AddItemToArray(unmatched, cJSON_CreateString(pattern_list_unmatched(fo->includes, i)));
        cJSON_AddNumberToObject(o, "duration", secs);
        cli_json_print(o);
        return;
    }
    LOG_INFO("restored snapshot %s to %s: %llu files, %llu folders, %llu hard links, %s in %.1f s", sid, fo->target,
             (unsigned long long)st->files, (unsigned long long)st->dirs, (unsigned long long)st->links, b, secs);
    if (st->errors)
        LOG_INFO("not restored: %llu (%llu damaged or missing in the repository, %llu refused by the target; "
                 "each is named above)",
                 (unsigned long long)st->errors, (unsigned long long)st->damaged, (unsigned long long)st->local);
}

static int parse_write_mode(const char *s, files_write_mode *out)
{
    if (strcmp(s, "direct") && strcmp(s, "buffered"))
        return err_set(ERR_USAGE, "--write-mode: '%s' is neither direct nor buffered", s);
    *out = !strcmp(s, "direct") ? FILES_WRITE_DIRECT : FILES_WRITE_BUFFERED;
    return 0;
}

int cmd_restore(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"target", required_argument, NULL, 't'},
                                         {"include", required_argument, NULL, 'i'},
                                         {"exclude", required_argument, NULL, 'e'},
                                         {"no-progress", no_argument, NULL, 'n'},
                                         {"write-mode", required_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    for (int i = 1; i < argc; i++) { /* a source's restore has options of its own */
        const char *name = !strncmp(argv[i], "--source=", 9) ? argv[i] + 9
                           : !strcmp(argv[i], "--source") && i + 1 < argc ? argv[i + 1] : NULL;
        const char *type;
        if (!name)
            continue;
        int rc = cli_source_type(c, name, &type);
        if (rc)
            return rc;
        return !strcmp(type, "redis") ? cmd_restore_redis(c, argc, argv) : cmd_restore_pg(c, argc, argv);
    }
    char *inc[64], *exc[64];
    size_t ninc = 0, nexc = 0;
    files_restore_opts fo = {0};
    int opt, no_progress = 0;
    while ((opt = cli_getopt(c, argc, argv, "t:i:e:", opts, cli_find("restore"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt == 't')
            fo.target = optarg;
        else if (opt == 'i' && ninc < 64)
            inc[ninc++] = optarg;
        else if (opt == 'e' && nexc < 64)
            exc[nexc++] = optarg;
        else if (opt == 'n')
            no_progress = 1;
        else if (opt == 'w') {
            int rc = parse_write_mode(optarg, &fo.write_mode);
            if (rc)
                return rc;
        } else
            return opt == '?' ? ERR_USAGE : err_set(ERR_USAGE, "at most 64 --include and 64 --exclude patterns");
    }
    if (optind + 1 != argc)
        return err_set(ERR_USAGE, "restore needs one SNAPSHOT[:PATH]");
    if (!fo.target)
        return err_set(ERR_USAGE, "restore needs --target DIR");
    char *spec = strdup(argv[optind]); /* SNAP:PATH, the path as long as it is */
    if (!spec)
        return err_set(ERR_FATAL, "out of memory");
    char *colon = strchr(spec, ':');
    if (colon) {
        *colon = '\0';
        fo.subpath = colon + 1;
        if (fo.subpath[0] != '/') {
            int rc = err_set(ERR_USAGE, "the path after ':' must be absolute, as in the snapshot (%s)", fo.subpath);
            free(spec);
            return rc;
        }
    }
    fo.list_failures = c->json;
    repo *r;
    repo_lock *lk = NULL;
    snapshot s;
    snapshot_init(&s);
    files_restore_stats st = {0};
    int ran = 0; /* files_restore was reached: there is something to report */
    double t0 = progress_now();
    /* bad patterns are refused before the repository is opened */
    int rc = pattern_list_new(inc, ninc, "--include", &fo.includes);
    if (!rc && (rc = pattern_list_new(exc, nexc, "--exclude", &fo.excludes)))
        pattern_list_free(&fo.includes);
    if (rc) {
        free(spec);
        return rc;
    }
    rc = cli_open_locked(c, CLI_LOCK_READ, 1, &r, &lk);
    if (!rc)
        rc = snapshot_resolve(r, spec, &s);
    if (!rc) {
        char hex[65];
        text_hex(s.id, 32, hex);
        cli_audit_id(c, hex);
        fo.progress = !no_progress && !c->json && log_level >= LOG_NORMAL && cli_is_tty();
        rc = files_restore(r, &s, &fo, &st);
        ran = 1;
    }
    if (ran && (!rc || rc == ERR_DAMAGED || rc == ERR_LOCAL)) {
        char sid[9], where[32];
        snapshot_short_id(s.id, sid);
        snprintf(where, sizeof where, "in snapshot %s", sid);
        pattern_list_warn_unmatched(fo.includes, where); /* else "0 files" without a word why */
        print_restore(c, &s, &fo, &st, progress_now() - t0);
    }
    files_restore_stats_free(&st);
    free(spec);
    lock_release(&lk);
    snapshot_free(&s);
    pattern_list_free(&fo.includes);
    pattern_list_free(&fo.excludes);
    return rc;
}
