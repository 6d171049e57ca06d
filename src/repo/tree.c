/* tree — see tree.h. Binary, little-endian; the layout is in docs/REPOSITORY.md. */
#include "tree.h"

#include <stdlib.h>
#include <string.h>

void tree_init(tree *t) { memset(t, 0, sizeof *t); }

static void free_xattrs(tree_node *n)
{
    for (uint32_t i = 0; i < n->nxattr; i++) {
        free(n->xattrs[i].name);
        free(n->xattrs[i].value);
    }
    free(n->xattrs);
    n->xattrs = NULL;
    n->nxattr = 0;
}

void tree_node_free(tree_node *n)
{
    free(n->name);
    free(n->link);
    free(n->content);
    free_xattrs(n);
    memset(n, 0, sizeof *n);
}

int tree_node_add_xattr(tree_node *n, const char *name, const void *value, size_t len)
{
    if (n->nxattr >= TREE_MAX_XATTRS || strlen(name) > TREE_MAX_XATTR_NAME || !*name || len > TREE_MAX_XATTR_VALUE)
        return err_set(ERR_FATAL, "extended attribute %s: too many, or name or value too long", name);
    tree_xattr *p = realloc(n->xattrs, (n->nxattr + 1) * sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    n->xattrs = p;
    tree_xattr *x = &p[n->nxattr];
    x->name = strdup(name);
    x->value = malloc(len ? len : 1);
    if (!x->name || !x->value) {
        free(x->name);
        free(x->value);
        return err_set(ERR_FATAL, "out of memory");
    }
    if (len)
        memcpy(x->value, value, len);
    x->len = (uint32_t)len;
    n->nxattr++;
    return 0;
}

static int cmp_xattr(const void *a, const void *b)
{
    return strcmp(((const tree_xattr *)a)->name, ((const tree_xattr *)b)->name);
}

void tree_node_sort_xattrs(tree_node *n)
{
    if (n->nxattr > 1)
        qsort(n->xattrs, n->nxattr, sizeof *n->xattrs, cmp_xattr);
}

int tree_node_same_xattrs(const tree_node *a, const tree_node *b)
{
    if (a->nxattr != b->nxattr)
        return 0;
    for (uint32_t i = 0; i < a->nxattr; i++) {
        const tree_xattr *x = &a->xattrs[i], *y = &b->xattrs[i];
        if (strcmp(x->name, y->name) || x->len != y->len || memcmp(x->value, y->value, x->len))
            return 0;
    }
    return 1;
}

int tree_node_copy_meta(const tree_node *n, tree_node *out)
{
    *out = *n;
    out->name = out->link = NULL;
    out->content = NULL;
    out->ncontent = 0;
    out->xattrs = NULL;
    out->nxattr = 0;
    int rc = 0;
    for (uint32_t i = 0; !rc && i < n->nxattr; i++)
        rc = tree_node_add_xattr(out, n->xattrs[i].name, n->xattrs[i].value, n->xattrs[i].len);
    if (rc)
        tree_node_free(out);
    return rc;
}

int tree_node_copy(const tree_node *n, tree_node *out)
{
    int rc = tree_node_copy_meta(n, out);
    if (rc)
        return rc;
    out->name = strdup(n->name);
    out->link = n->link ? strdup(n->link) : NULL;
    if (n->ncontent && (out->content = malloc((size_t)n->ncontent * 32)))
        memcpy(out->content, n->content, (size_t)n->ncontent * 32);
    out->ncontent = out->content ? n->ncontent : 0;
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

/* Version 2's addition at the end of a node: flags and extended attributes. */
static int encode_ext(const tree_node *n, buf *b)
{
    int rc = buf_append_u32(b, n->flags);
    if (!rc)
        rc = buf_append_u16(b, (uint16_t)n->nxattr);
    for (uint32_t i = 0; !rc && i < n->nxattr; i++) {
        const tree_xattr *x = &n->xattrs[i];
        size_t l = strlen(x->name);
        if (!l || l > TREE_MAX_XATTR_NAME || x->len > TREE_MAX_XATTR_VALUE)
            return err_set(ERR_FATAL, "extended attribute '%s' of '%s' cannot be stored", x->name, n->name);
        if (!(rc = buf_append_u8(b, (uint8_t)l)) && !(rc = buf_append(b, x->name, l)) &&
            !(rc = buf_append_u32(b, x->len)))
            rc = buf_append(b, x->value, x->len);
    }
    return rc;
}

static int encode_node(const tree_node *n, uint8_t version, buf *b)
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
        rc = buf_append(b, n->subtree, 32);
    else if (!(rc = buf_append_u32(b, n->ncontent)))
        rc = buf_append(b, n->content, (size_t)n->ncontent * 32);
    return rc || version < 2 ? rc : encode_ext(n, b);
}

int tree_encode(const tree *t, buf *out)
{
    uint8_t version = t->version ? t->version : TREE_VERSION_1;
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i].flags || t->nodes[i].nxattr)
            version = TREE_VERSION;
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i].nxattr > TREE_MAX_XATTRS || (t->nodes[i].flags & ~(uint32_t)NODE_FLAGS_KNOWN))
            return err_set(ERR_FATAL, "tree node '%s' has bad flags or too many attributes", t->nodes[i].name);
    int rc = buf_append_u8(out, version);
    if (!rc)
        rc = buf_append(out, "\0\0\0", 3);
    if (!rc)
        rc = buf_append_u32(out, (uint32_t)t->n);
    for (size_t i = 0; !rc && i < t->n; i++)
        rc = encode_node(&t->nodes[i], version, out);
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

/* Flags and extended attributes (version 2): names unique and in order, so that a
 * tree has one encoding. */
static int decode_ext(rd *r, tree_node *n)
{
    n->flags = rd_u32(r);
    uint16_t count = rd_u16(r);
    if (r->bad || (n->flags & ~(uint32_t)NODE_FLAGS_KNOWN) || ((n->flags & NODE_FLAG_SPARSE) && n->type != NODE_FILE) ||
        count > TREE_MAX_XATTRS || count > r->left / 6)
        return err_set(ERR_DAMAGED, "tree node '%s' has bad flags or attribute count", n->name);
    if (count && !(n->xattrs = calloc(count, sizeof *n->xattrs)))
        return err_set(ERR_FATAL, "out of memory");
    for (uint16_t i = 0; i < count; i++) {
        tree_xattr *x = &n->xattrs[i];
        uint8_t nl = rd_u8(r);
        const uint8_t *name = rd_bytes(r, nl);
        uint32_t vl = rd_u32(r);
        const uint8_t *value = r->bad || vl > TREE_MAX_XATTR_VALUE ? NULL : rd_bytes(r, vl);
        if (!name || !value || !nl || memchr(name, '\0', nl))
            return err_set(ERR_DAMAGED, "tree node '%s' has a bad extended attribute", n->name);
        x->name = malloc((size_t)nl + 1);
        x->value = malloc(vl ? vl : 1);
        n->nxattr++; /* owned by n from here, freed with it */
        if (!x->name || !x->value)
            return err_set(ERR_FATAL, "out of memory");
        memcpy(x->name, name, nl);
        x->name[nl] = '\0';
        memcpy(x->value, value, vl);
        x->len = vl;
        if (i && strcmp(n->xattrs[i - 1].name, x->name) >= 0)
            return err_set(ERR_DAMAGED, "tree node '%s' has extended attributes out of order", n->name);
    }
    return 0;
}

static int decode_node(rd *r, uint8_t version, tree_node *n)
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
        return version < 2 ? 0 : decode_ext(r, n);
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
    return version < 2 ? 0 : decode_ext(r, n);
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
    if (version != TREE_VERSION_1 && version != TREE_VERSION)
        return err_set(ERR_VERSION, "tree format version %u is not supported", version);
    t->version = version;
    if (count > TREE_MAX_NODES || count > r.left / 64)
        return err_set(ERR_DAMAGED, "tree claims %u entries in %zu bytes", count, r.left);
    for (uint32_t i = 0; i < count; i++) {
        tree_node n;
        int rc = decode_node(&r, version, &n);
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
