/* treebuild — see treebuild.h. Each folder keeps its non-folder nodes in a tree and
 * its sub-folders in a list searched linearly: data directories have thousands of
 * files but few folders per folder. */
#include "treebuild.h"

#include <stdlib.h>
#include <string.h>

#include "pack.h"

typedef struct tb_dir tb_dir;
struct tb_dir {
    tree_node meta; /* name, mode, owner, times */
    tree files;
    tb_dir **sub;
    size_t nsub, capsub;
};

struct tree_builder {
    tb_dir root;
    uint64_t dirs;
};

int tree_builder_new(tree_builder **out)
{
    tree_builder *b = calloc(1, sizeof *b);
    if (!b)
        return err_set(ERR_FATAL, "out of memory");
    b->root.meta.type = NODE_DIR;
    b->root.meta.mode = 0700;
    *out = b;
    return 0;
}

static void dir_free(tb_dir *d)
{
    for (size_t i = 0; i < d->nsub; i++) {
        dir_free(d->sub[i]);
        free(d->sub[i]);
    }
    free(d->sub);
    tree_free(&d->files);
    tree_node_free(&d->meta);
}

void tree_builder_free(tree_builder **b)
{
    if (!*b)
        return;
    dir_free(&(*b)->root);
    free(*b);
    *b = NULL;
}

uint64_t tree_builder_dirs(const tree_builder *b) { return b->dirs; }

static int child_dir(tree_builder *b, tb_dir *d, const char *name, size_t len, tb_dir **out)
{
    for (size_t i = 0; i < d->nsub; i++)
        if (strlen(d->sub[i]->meta.name) == len && !memcmp(d->sub[i]->meta.name, name, len)) {
            *out = d->sub[i];
            return 0;
        }
    tb_dir *c = calloc(1, sizeof *c);
    int rc = c ? array_grow(&d->sub, &d->capsub, d->nsub + 1, sizeof *d->sub, 8) : ERR_FATAL;
    if (!rc && !(c->meta.name = strndup(name, len)))
        rc = ERR_FATAL;
    if (rc) {
        if (c)
            tree_node_free(&c->meta);
        free(c);
        return err_set(ERR_FATAL, "out of memory");
    }
    c->meta.type = NODE_DIR;
    c->meta.mode = 0700; /* until the folder's own entry says otherwise */
    d->sub[d->nsub++] = c;
    b->dirs++;
    *out = c;
    return 0;
}

/* Every part non-empty, not "." or "..", and short enough for a tree. */
static int path_valid(const char *path)
{
    for (const char *p = path;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!len || len >= TREE_MAX_NAME || (len == 1 && p[0] == '.') || (len == 2 && !memcmp(p, "..", 2)))
            return 0;
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

int tree_builder_add(tree_builder *b, const char *path, tree_node *n)
{
    tb_dir *d = &b->root;
    const char *p = path;
    if (!path_valid(path)) { /* checked first: a refused path leaves no folders behind */
        tree_node_free(n);
        return err_set(ERR_DAMAGED, "invalid path in backup stream: %s", path);
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (!slash && n->type != NODE_DIR) {
            char *name = strndup(p, len);
            if (!name) {
                tree_node_free(n);
                return err_set(ERR_FATAL, "out of memory");
            }
            free(n->name);
            n->name = name;
            int rc = tree_add(&d->files, n);
            if (rc)
                tree_node_free(n);
            return rc;
        }
        int rc = child_dir(b, d, p, len, &d);
        if (rc) {
            tree_node_free(n);
            return rc;
        }
        if (!slash) { /* the folder's own entry: keep its metadata, not its name */
            char *name = d->meta.name;
            d->meta.name = NULL;
            tree_node_free(&d->meta);
            free(n->name);
            d->meta = *n;
            d->meta.name = name;
            memset(n, 0, sizeof *n);
            return 0;
        }
        p = slash + 1;
    }
}

static int dir_write(tb_dir *d, repo *r, uint8_t id[32])
{
    int rc = 0;
    for (size_t i = 0; !rc && i < d->nsub; i++) {
        tree_node n;
        if ((rc = tree_node_copy(&d->sub[i]->meta, &n)))
            break;
        n.type = NODE_DIR;
        if (!(rc = dir_write(d->sub[i], r, n.subtree)))
            rc = tree_add(&d->files, &n);
        if (rc)
            tree_node_free(&n);
    }
    for (size_t i = 0; i < d->nsub; i++) { /* written: only their nodes in files are needed now */
        dir_free(d->sub[i]);
        free(d->sub[i]);
    }
    d->nsub = 0;
    if (rc)
        return rc;
    tree_sort(&d->files);
    for (size_t i = 1; i < d->files.n; i++)
        if (!strcmp(d->files.nodes[i - 1].name, d->files.nodes[i].name))
            return err_set(ERR_DAMAGED, "backup stream names '%s' twice", d->files.nodes[i].name);
    buf enc;
    buf_init(&enc, 0);
    int added;
    if (!(rc = tree_encode(&d->files, &enc))) {
        repo_blob_id(r, enc.data, enc.len, id);
        rc = repo_blob_save(r, BLOB_TREE, enc.data, enc.len, id, &added);
    }
    buf_free(&enc);
    return rc;
}

int tree_builder_write(tree_builder *b, repo *r, uint8_t root[32])
{
    return dir_write(&b->root, r, root);
}
