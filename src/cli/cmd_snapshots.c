/* cmd_snapshots — `lifeline snapshots`: the list of snapshots. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "../source/pg.h"
#include "../core/quote.h"
#include "cli.h"

cJSON *cli_snapshot_json(const snapshot *s);
cJSON *cli_snapshot_json(const snapshot *s)
{
    char hex[65], t[64];
    cJSON *o = cJSON_CreateObject(), *p = cJSON_CreateArray(), *g = cJSON_CreateArray();
    text_hex(s->id, 32, hex);
    cJSON_AddStringToObject(o, "id", hex);
    cJSON_AddStringToObject(o, "short_id", (snprintf(t, 9, "%s", hex), t));
    text_time(s->time, s->time_ns, t, sizeof t);
    cJSON_AddStringToObject(o, "time", t);
    cJSON_AddStringToObject(o, "hostname", s->hostname);
    cJSON_AddStringToObject(o, "username", s->username);
    cJSON_AddStringToObject(o, "source", s->source);
    for (size_t i = 0; i < s->npaths; i++)
        cJSON_AddItemToArray(p, cJSON_CreateString(s->paths[i]));
    for (size_t i = 0; i < s->ntags; i++)
        cJSON_AddItemToArray(g, cJSON_CreateString(s->tags[i]));
    cJSON_AddItemToObject(o, "paths", p);
    cJSON_AddItemToObject(o, "tags", g);
    text_hex(s->tree, 32, hex);
    cJSON_AddStringToObject(o, "tree", hex);
    if (s->class_name[0])
        cJSON_AddStringToObject(o, "class", s->class_name);
    if (s->lock_until) {
        text_time(s->lock_until, 0, t, sizeof t);
        cJSON_AddStringToObject(o, "lock_until", t);
    }
    cJSON_AddBoolToObject(o, "held", s->held);
    cJSON_AddBoolToObject(o, "partial", s->partial);
    cJSON_AddNumberToObject(o, "total_files", (double)s->summary.total_files);
    cJSON_AddNumberToObject(o, "total_bytes", (double)s->summary.total_bytes);
    cJSON *meta = s->meta_json ? cJSON_Parse(s->meta_json) : NULL;
    if (meta)
        cJSON_AddItemToObject(o, "meta", meta);
    return o;
}

int cmd_snapshots(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"host", required_argument, NULL, 'H'},
                                         {"tag", required_argument, NULL, 't'},
                                         {"path", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *host = NULL, *tag = NULL, *path = NULL;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("snapshots"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt == 'H')
            host = optarg;
        else if (opt == 't')
            tag = optarg;
        else if (opt == 'p')
            path = optarg;
        else
            return ERR_USAGE;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "snapshots takes no arguments");
    repo *r;
    snapshot *list = NULL;
    size_t n = 0;
    int rc = cli_open_repo(c, &r);
    if (!rc)
        rc = snapshot_load_all(r, &list, &n, 1);
    if (rc)
        return rc;
    cJSON *arr = c->json ? cJSON_CreateArray() : NULL;
    int64_t now = (int64_t)time(NULL);
    if (!c->json)
        printf("%-8s  %-20s  %-16s  %-5s %-14s %s\n", "ID", "TIME", "HOST", "FLAGS", "CLASS/TAGS", "PATHS");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        snapshot *s = &list[i];
        int path_ok = !path;
        for (size_t k = 0; path && k < s->npaths; k++)
            path_ok |= !strcmp(s->paths[k], path);
        if ((host && strcmp(host, s->hostname)) || (tag && !snapshot_has_tag(s, tag)) || !path_ok)
            continue;
        shown++;
        if (arr) {
            cJSON_AddItemToArray(arr, cli_snapshot_json(s));
            continue;
        }
        char sid[9], t[64], flags[8] = "", ct[128] = "";
        snapshot_short_id(s->id, sid);
        text_time(s->time, 0, t, sizeof t);
        t[19] = '\0';
        t[10] = ' ';
        pg_meta pm;
        int wal_missing = pg_snapshot_is(s, NULL, &pm) && !pm.wal_complete;
        snprintf(flags, sizeof flags, "%s%s%s%s", s->partial ? "!" : "", s->lock_until > now ? "L" : "",
                 s->held ? "H" : "", wal_missing ? "W" : "");
        size_t l = (size_t)snprintf(ct, sizeof ct, "%s", s->class_name);
        for (size_t k = 0; k < s->ntags && l < sizeof ct; k++)
            l += (size_t)snprintf(ct + l, sizeof ct - l, "%s%s", l ? "," : "", s->tags[k]);
        char hostq[64], cts[256]; /* host names and tags are text a user typed: never raw */
        quote_style qs = quote_style_for(stdout);
        printf("%-8s  %-20s  %-16.16s  %-5s %-14s", sid, t, quote_buf(s->hostname, qs, hostq, sizeof hostq), flags,
               quote_buf(ct, qs, cts, sizeof cts));
        int from_source = strcmp(s->source, "files") != 0; /* paths name the source: show its kind */
        for (size_t k = 0; k < s->npaths; k++) {
            printf(" %s%s", from_source ? s->source : "", from_source ? ":" : "");
            quote_fput(stdout, s->paths[k], quote_style_for(stdout));
        }
        printf("\n");
    }
    if (arr)
        cli_json_print(arr);
    else
        printf("%zu snapshot%s (flags: ! partial, L retention-locked, H legal hold, W WAL not archived when it ended)\n",
               shown, shown == 1 ? "" : "s");
    snapshots_free(&list, n);
    return 0;
}
