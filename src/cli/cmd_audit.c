/* cmd_audit — `lifeline audit show|verify`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit/audit.h"
#include "../core/log.h"
#include "../core/quote.h"
#include "../core/text.h"
#include "cli.h"

typedef struct verify_ctx {
    cJSON *arr;
} verify_ctx;

static void on_problem(const char *where, const char *problem, void *vctx)
{
    verify_ctx *v = vctx;
    if (v->arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "where", where);
        cJSON_AddStringToObject(o, "problem", problem);
        cJSON_AddItemToArray(v->arr, o);
    }
    char line[2048];
    snprintf(line, sizeof line, "%s: %s", where, problem);
    log_line("audit: ", line);
}

static void on_state_problem(const char *severity, const char *object, const char *problem, void *vctx)
{
    char what[700];
    snprintf(what, sizeof what, "%s%s", strcmp(severity, "error") ? "warning: " : "", problem);
    on_problem(object, what, vctx);
}

static int show(cli *c, repo *r, uint64_t last)
{
    audit_record *list;
    size_t n;
    int rc = audit_list(r, &list, &n);
    if (rc)
        return rc;
    size_t from = last && last < n ? n - (size_t)last : 0;
    cJSON *arr = c->json ? cJSON_CreateArray() : NULL;
    for (size_t i = from; i < n; i++) {
        cJSON *o = cJSON_Parse(list[i].json);
        if (arr) {
            cJSON_AddItemToArray(arr, o ? o : cJSON_CreateNull());
            continue;
        }
        const cJSON *t = cJSON_GetObjectItem(o, "time"), *u = cJSON_GetObjectItem(o, "user"),
                    *h = cJSON_GetObjectItem(o, "host"), *cmd = cJSON_GetObjectItem(o, "command"),
                    *out = cJSON_GetObjectItem(o, "outcome"), *args = cJSON_GetObjectItem(o, "args"), *a;
        /* every field is text from the trail: a name in it must not reach the output raw */
        char tb[64], ub[256], hb[256], cb[64], ob[2048];
        printf("%6llu  %.19s  %s@%s  %s", (unsigned long long)list[i].seq,
               quote_buf(cJSON_IsString(t) ? t->valuestring : "?", QUOTE_MESSAGE, tb, sizeof tb),
               quote_buf(cJSON_IsString(u) ? u->valuestring : "?", QUOTE_MESSAGE, ub, sizeof ub),
               quote_buf(cJSON_IsString(h) ? h->valuestring : "?", QUOTE_MESSAGE, hb, sizeof hb),
               quote_buf(cJSON_IsString(cmd) ? cmd->valuestring : "?", QUOTE_MESSAGE, cb, sizeof cb));
        cJSON_ArrayForEach(a, args) if (cJSON_IsString(a)) {
            putchar(' ');
            quote_fput(stdout, a->valuestring, quote_style_for(stdout)); /* words as typed, never raw */
        }
        printf("  => %s", quote_buf(cJSON_IsString(out) ? out->valuestring : "?", QUOTE_MESSAGE, ob, sizeof ob));
        const cJSON *brk = cJSON_GetObjectItem(o, "break"), *b;
        cJSON_ArrayForEach(b, brk) /* the trail went on past these */
        {
            const cJSON *bs = cJSON_GetObjectItem(b, "seq"), *bw = cJSON_GetObjectItem(b, "why");
            printf("  [break: seq %.0f was %s]", cJSON_IsNumber(bs) ? bs->valuedouble : 0.0,
                   cJSON_IsString(bw) ? bw->valuestring : "?");
        }
        putchar('\n');
        cJSON_Delete(o);
    }
    if (arr)
        cli_json_print(arr);
    audit_records_free(&list, n);
    return 0;
}

int cmd_audit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"last", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
    uint64_t last = 0;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("audit"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt != 'l' || text_parse_u64(optarg, 1u << 30, &last))
            return ERR_USAGE;
    }
    if (argc - optind != 1 || (strcmp(argv[optind], "show") && strcmp(argv[optind], "verify")))
        return err_set(ERR_USAGE, "audit needs 'show' or 'verify'");
    repo *r;
    int rc = cli_open_repo(c, &r);
    if (rc)
        return rc;
    if (!strcmp(argv[optind], "show"))
        return show(c, r, last);
    verify_ctx v = {.arr = c->json ? cJSON_CreateArray() : NULL};
    audit_verify_result res;
    audit_check_result st = {0};
    if ((rc = audit_verify(r, on_problem, &v, &res)) ||
        (rc = audit_check_state(r, on_state_problem, &v, &st))) { /* what it records, against the files */
        cJSON_Delete(v.arr);
        return rc;
    }
    res.damaged += st.damaged;
    res.unreadable += st.unreadable;
    int problems = res.damaged + res.unreadable;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", problems == 0);
        cJSON_AddNumberToObject(o, "records", (double)res.records);
        cJSON_AddNumberToObject(o, "damaged", res.damaged);
        cJSON_AddNumberToObject(o, "unreadable", res.unreadable);
        cJSON_AddNumberToObject(o, "breaks", res.breaks);
        cJSON_AddItemToObject(o, "problems", v.arr);
        cli_json_print(o);
    } else if (!problems) {
        LOG_INFO("audit trail intact: %llu records, chain and MACs verified (repository and local copy)%s",
                 (unsigned long long)res.records, res.breaks ? "; it went on past records that were unusable "
                                                               "when it was written, and those are intact now"
                                                             : "");
    } else if (res.breaks) {
        LOG_INFO("the trail goes on after the damage: %d record(s) note a break and chain from the last "
                 "intact record before it", res.breaks);
    }
    /* damage is 13; records that only could not be read (permissions, I/O) are 16 */
    if (res.damaged)
        return err_set(ERR_DAMAGED, "audit trail damaged: %d problem(s) found%s", problems,
                       res.unreadable ? " (some records also unreadable)" : "");
    if (res.unreadable) {
        err_set(ERR_IO, "audit trail: %d record(s) could not be read (I/O or permissions); the rest is intact", res.unreadable);
        err_hint("run audit verify as a user that can read every file under %s/audit", repo_location(r));
        return ERR_IO;
    }
    return 0;
}
