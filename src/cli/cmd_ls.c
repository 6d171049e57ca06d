/* cmd_ls — `lifeline ls SNAPSHOT [PATH]`: the files of a snapshot. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/quote.h"
#include "../core/text.h"
#include "../repo/snapshot.h"
#include "../repo/walk.h"
#include "cli.h"

typedef struct ls_ctx {
    cli *c;
    int lng;
    const char *below; /* list only this path and what is below it */
    cJSON *arr;
    quote_style quote; /* names never reach the output raw (quote.h) */
} ls_ctx;

static const char *type_name(int t)
{
    static const char *n[] = {"?", "file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"};
    return t >= 0 && t <= 7 ? n[t] : "?";
}

static void mode_string(const tree_node *n, char out[11])
{
    static const char types[] = "?-dlpcbs";
    out[0] = types[n->type <= 7 ? n->type : 0];
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = (n->mode >> (8 - i)) & 1 ? rwx[i] : '-';
    if (n->mode & S_ISUID)
        out[3] = out[3] == 'x' ? 's' : 'S';
    if (n->mode & S_ISGID)
        out[6] = out[6] == 'x' ? 's' : 'S';
    if (n->mode & S_ISVTX)
        out[9] = out[9] == 'x' ? 't' : 'T';
    out[10] = '\0';
}

static int ls_node(const char *path, const tree_node *n, void *vctx)
{
    ls_ctx *l = vctx;
    if (l->arr) {
        cJSON *o = cJSON_CreateObject();
        char t[64];
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddStringToObject(o, "type", type_name(n->type));
        cJSON_AddNumberToObject(o, "mode", n->mode);
        cJSON_AddNumberToObject(o, "uid", n->uid);
        cJSON_AddNumberToObject(o, "gid", n->gid);
        cJSON_AddNumberToObject(o, "size", (double)n->size);
        text_time(n->mtime, n->mtime_ns, t, sizeof t);
        cJSON_AddStringToObject(o, "mtime", t);
        if (n->link && n->link[0])
            cJSON_AddStringToObject(o, "link", n->link);
        cJSON_AddItemToArray(l->arr, o);
    } else if (l->lng) {
        char m[11], t[64];
        mode_string(n, m);
        text_time(n->mtime, 0, t, sizeof t);
        t[19] = '\0';
        t[10] = ' ';
        printf("%s %6u %6u %12llu %s ", m, n->uid, n->gid, (unsigned long long)n->size, t);
        quote_fput(stdout, path, l->quote);
        if (n->type == NODE_SYMLINK) {
            fputs(" -> ", stdout);
            quote_fput(stdout, n->link ? n->link : "", l->quote);
        }
        putchar('\n');
    } else {
        quote_fput(stdout, path, l->quote);
        putchar('\n');
    }
    return 0;
}

int cmd_ls(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"long", no_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
    ls_ctx l = {.c = c, .below = "/", .quote = quote_style_for(stdout)};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "l", opts, cli_find("ls"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt != 'l')
            return ERR_USAGE;
        l.lng = 1;
    }
    if (optind >= argc || argc - optind > 2)
        return err_set(ERR_USAGE, "ls needs SNAPSHOT and optionally a PATH");
    if (argc - optind == 2)
        l.below = argv[optind + 1];
    repo *r;
    snapshot s;
    snapshot_init(&s);
    int rc = cli_open_repo(c, &r);
    if (!rc)
        rc = repo_index_load(r);
    if (!rc)
        rc = snapshot_resolve(r, argv[optind], &s);
    if (!rc) {
        l.arr = c->json ? cJSON_CreateArray() : NULL;
        if (!strcmp(l.below, "/")) {
            rc = walk_tree(r, s.tree, "", ls_node, NULL, &l);
        } else {
            tree_node n;
            char below[4096];
            snprintf(below, sizeof below, "%s", l.below);
            for (size_t k = strlen(below); k > 1 && below[k - 1] == '/'; k--)
                below[k - 1] = '\0';
            if (!(rc = walk_find(r, s.tree, below, &n))) {
                rc = ls_node(below, &n, &l);
                if (!rc && n.type == NODE_DIR)
                    rc = walk_tree(r, n.subtree, below, ls_node, NULL, &l);
                tree_node_free(&n);
            }
        }
        if (l.arr)
            cli_json_print(l.arr);
    }
    snapshot_free(&s);
    return rc;
}
