/* tree — see tree.h. Binary, little-endian; the layout is in docs/REPOSITORY.md. */
#include "tree.h"

#include <stdlib.h>
#include <string.h>

void tree_init(tree *t) { memset(t, 0, sizeof *t); }

void tree_node_free(tree_node *n)
{
    free(n->name);
    free(n->link);
    free(n->content);
    memset(n, 0, sizeof *n);
}

int tree_node_copy(const tree_node *n, tree_node *out)
{
    *out = *n;
    out->name = strdup(n->name);
    out->link = n->link ? strdup(n->link) : NULL;
    out->content = NULL;
    if (n->ncontent && (out->content = malloc((size_t)n->ncontent * 32)))
        memcpy(out->content, n->content, (size_t)n->ncontent * 32);
    if (!out->name || (n->link && !out->link) || (n->ncontent && !out->content)) {
        tree_node_free(out);
        return err_set(ERR_FATAL, "out of memory");
    }
    return 0;
}

void tree_free(tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        tree_node_free(&t->nodes[i]);
    free(t->nodes);
    tree_init(t);
}

int tree_add(tree *t, tree_node *n)
{
    if (t->n >= TREE_MAX_NODES)
        return err_set(ERR_FATAL, "folder has more than %u entries", TREE_MAX_NODES);
    int rc = array_grow(&t->nodes, &t->cap, t->n + 1, sizeof *t->nodes, 16);
    if (rc)
        return rc;
    t->nodes[t->n++] = *n;
    memset(n, 0, sizeof *n);
    return 0;
}

static int cmp_node(const void *a, const void *b)
{
    return strcmp(((const tree_node *)a)->name, ((const tree_node *)b)->name);
}

void tree_sort(tree *t)
{
    if (t->n > 1)
        qsort(t->nodes, t->n, sizeof *t->nodes, cmp_node);
}

const tree_node *tree_find(const tree *t, const char *name)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, t->nodes[mid].name);
        if (!c)
            return &t->nodes[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int put_str(buf *b, const char *s)
{
    size_t l = s ? strlen(s) : 0;
    if (l > TREE_MAX_NAME)
        return err_set(ERR_FATAL, "name or link target longer than %d bytes", TREE_MAX_NAME);
    int rc = buf_append_u16(b, (uint16_t)l);
    return rc ? rc : buf_append(b, s, l);
}

static int encode_node(const tree_node *n, buf *b)
{
    int rc;
    if ((rc = buf_append_u8(b, n->type)) || (rc = put_str(b, n->name)) || (rc = buf_append_u32(b, n->mode)) ||
        (rc = buf_append_u32(b, n->uid)) || (rc = buf_append_u32(b, n->gid)) ||
        (rc = buf_append_u64(b, n->size)) || (rc = buf_append_u64(b, (uint64_t)n->mtime)) ||
        (rc = buf_append_u32(b, n->mtime_ns)) || (rc = buf_append_u64(b, (uint64_t)n->ctime)) ||
        (rc = buf_append_u32(b, n->ctime_ns)) || (rc = buf_append_u64(b, (uint64_t)n->atime)) ||
        (rc = buf_append_u32(b, n->atime_ns)) || (rc = buf_append_u64(b, n->inode)) ||
        (rc = buf_append_u64(b, n->dev)) || (rc = buf_append_u64(b, n->rdev)) ||
        (rc = buf_append_u32(b, n->nlink)) || (rc = put_str(b, n->link)))
        return rc;
    if (n->type == NODE_DIR)
        return buf_append(b, n->subtree, 32);
    if ((rc = buf_append_u32(b, n->ncontent)))
        return rc;
    return buf_append(b, n->content, (size_t)n->ncontent * 32);
}

int tree_encode(const tree *t, buf *out)
{
    int rc = buf_append_u8(out, TREE_VERSION);
    if (!rc)
        rc = buf_append(out, "\0\0\0", 3);
    if (!rc)
        rc = buf_append_u32(out, (uint32_t)t->n);
    for (size_t i = 0; !rc && i < t->n; i++)
        rc = encode_node(&t->nodes[i], out);
    return rc;
}

static char *get_str(rd *r, int allow_empty)
{
    uint16_t l = rd_u16(r);
    const uint8_t *p = rd_bytes(r, l);
    if (!p || l > TREE_MAX_NAME || (!l && !allow_empty) || memchr(p, '\0', l))
        return NULL;
    char *s = malloc((size_t)l + 1);
    if (s) {
        memcpy(s, p, l);
        s[l] = '\0';
    }
    return s;
}

static int decode_node(rd *r, tree_node *n)
{
    memset(n, 0, sizeof *n);
    n->type = rd_u8(r);
    n->name = get_str(r, 0);
    if (!n->name || n->type < NODE_FILE || n->type > NODE_SOCK || !strcmp(n->name, ".") ||
        !strcmp(n->name, "..") || strchr(n->name, '/'))
        return err_set(ERR_DAMAGED, "tree node has a bad type or name");
    n->mode = rd_u32(r);
    n->uid = rd_u32(r);
    n->gid = rd_u32(r);
    n->size = rd_u64(r);
    n->mtime = (int64_t)rd_u64(r);
    n->mtime_ns = rd_u32(r);
    n->ctime = (int64_t)rd_u64(r);
    n->ctime_ns = rd_u32(r);
    n->atime = (int64_t)rd_u64(r);
    n->atime_ns = rd_u32(r);
    n->inode = rd_u64(r);
    n->dev = rd_u64(r);
    n->rdev = rd_u64(r);
    n->nlink = rd_u32(r);
    n->link = get_str(r, 1);
    if (!n->link)
        return err_set(ERR_DAMAGED, "tree node '%s' is truncated", n->name);
    if (n->type == NODE_DIR) {
        const uint8_t *p = rd_bytes(r, 32);
        if (!p)
            return err_set(ERR_DAMAGED, "tree node '%s' is truncated", n->name);
        memcpy(n->subtree, p, 32);
        return 0;
    }
    uint32_t nc = rd_u32(r);
    if (r->bad || (uint64_t)nc * 32 > r->left)
        return err_set(ERR_DAMAGED, "tree node '%s' is truncated", n->name);
    if (nc) {
        n->content = malloc((size_t)nc * 32);
        if (!n->content)
            return err_set(ERR_FATAL, "out of memory");
        memcpy(n->content, rd_bytes(r, (size_t)nc * 32), (size_t)nc * 32);
    }
    n->ncontent = nc;
    return 0;
}

int tree_decode(const uint8_t *p, size_t len, tree *t)
{
    rd r;
    rd_init(&r, p, len);
    tree_init(t);
    uint8_t version = rd_u8(&r);
    const uint8_t *reserved = rd_bytes(&r, 3);
    uint32_t count = rd_u32(&r);
    if (r.bad || reserved[0] || reserved[1] || reserved[2])
        return err_set(ERR_DAMAGED, "tree too short or has non-zero reserved bytes");
    if (version != TREE_VERSION)
        return err_set(ERR_VERSION, "tree format version %u is not supported", version);
    if (count > TREE_MAX_NODES || count > r.left / 64)
        return err_set(ERR_DAMAGED, "tree claims %u entries in %zu bytes", count, r.left);
    for (uint32_t i = 0; i < count; i++) {
        tree_node n;
        int rc = decode_node(&r, &n);
        if (!rc && t->n && strcmp(t->nodes[t->n - 1].name, n.name) >= 0)
            rc = err_set(ERR_DAMAGED, "tree entries out of order at '%s'", n.name);
        if (!rc)
            rc = tree_add(t, &n);
        if (rc) {
            tree_node_free(&n);
            tree_free(t);
            return rc;
        }
    }
    if (r.left) {
        tree_free(t);
        return err_set(ERR_DAMAGED, "tree has %zu trailing bytes", r.left);
    }
    return 0;
}
