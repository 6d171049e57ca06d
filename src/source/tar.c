/* tar — see tar.h. A small state machine: a 512-byte header is gathered, checked
 * and parsed; then the entry's data is passed through as it arrives; then the
 * padding to the next 512-byte boundary is skipped. Extension records (GNU 'L'/'K',
 * pax 'x') are gathered whole (bounded) and apply to the header that follows. */
#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
#define META_MAX (64u * 1024)

enum { ST_HEADER, ST_META, ST_DATA, ST_PAD, ST_END };

struct tar_parser {
    tar_callbacks cb;
    int state;
    uint8_t hdr[BLOCK];
    size_t hdr_len;
    uint64_t left;  /* data or meta bytes still to come */
    size_t pad;     /* padding bytes still to skip */
    int pass_data;  /* the current entry's data goes to the callback */
    int skip;       /* the root folder's entry: no callbacks */
    char meta_type; /* 'L', 'K', 'x', 'g' while gathering */
    uint8_t *meta;
    size_t meta_len;
    char long_path[TAR_MAX_PATH], long_link[TAR_MAX_PATH];
    int have_size;  /* pax size overrides the header's */
    uint64_t pax_size;
    uint64_t offset;
    tar_entry e;
};

int tar_parser_new(const tar_callbacks *cb, tar_parser **out)
{
    tar_parser *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    p->cb = *cb;
    *out = p;
    return 0;
}

void tar_parser_free(tar_parser **p)
{
    if (!*p)
        return;
    free((*p)->meta);
    free(*p);
    *p = NULL;
}

uint64_t tar_parser_offset(const tar_parser *p) { return p->offset; }

static int damaged(const tar_parser *p, const char *what)
{
    return err_set(ERR_DAMAGED, "tar stream: %s (at byte %llu)", what, (unsigned long long)p->offset);
}

/* Octal with leading spaces and trailing NUL/space, or base-256 (high bit set). */
static int parse_num(const uint8_t *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return -1; /* negative or too large */
        for (size_t i = 1; i < n; i++) {
            if (v >> 56)
                return -1;
            v = (v << 8) | f[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    *out = v;
    return 0;
}

static int checksum_ok(const uint8_t *h)
{
    uint64_t want;
    if (parse_num(h + 148, 8, &want))
        return 0;
    uint64_t us = 0;
    int64_t sg = 0;
    for (size_t i = 0; i < BLOCK; i++) {
        uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
        us += b;
        sg += (int8_t)b;
    }
    return us == want || (uint64_t)sg == want;
}

/* Copies a NUL-padded field. */
static void field(char *dst, size_t cap, const uint8_t *f, size_t n)
{
    size_t l = 0;
    while (l < n && f[l])
        l++;
    if (l >= cap)
        l = cap - 1;
    memcpy(dst, f, l);
    dst[l] = '\0';
}

/* Strips "./" and "/" prefixes and a trailing "/"; refuses ".." and empty parts.
 * Returns 1 for the archive's root folder itself ("./"), which names nothing. */
static int clean_path(char *s)
{
    char *p = s;
    for (;;) {
        if (p[0] == '/')
            p++;
        else if (p[0] == '.' && p[1] == '/')
            p += 2;
        else
            break;
    }
    memmove(s, p, strlen(p) + 1);
    size_t l = strlen(s);
    while (l > 0 && s[l - 1] == '/')
        s[--l] = '\0';
    if (!l || !strcmp(s, "."))
        return 1;
    for (char *c = s; *c;) {
        char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.') || (n == 1 && c[0] == '.'))
            return -1;
        c += n + (slash ? 1 : 0);
    }
    return 0;
}

/* pax records: "<len> <key>=<value>\n", each length including itself. */
static int apply_pax(tar_parser *p)
{
    size_t i = 0;
    while (i < p->meta_len) {
        size_t len = 0, j = i;
        while (j < p->meta_len && p->meta[j] >= '0' && p->meta[j] <= '9' && len < META_MAX)
            len = len * 10 + (size_t)(p->meta[j++] - '0');
        if (j >= p->meta_len || p->meta[j] != ' ' || len <= j - i + 1 || len > p->meta_len - i ||
            p->meta[i + len - 1] != '\n')
            return damaged(p, "malformed pax record");
        const char *kv = (const char *)p->meta + j + 1;
        size_t kvlen = i + len - 1 - (j + 1);
        const char *eq = memchr(kv, '=', kvlen);
        if (!eq)
            return damaged(p, "malformed pax record");
        size_t klen = (size_t)(eq - kv), vlen = kvlen - klen - 1;
        const char *v = eq + 1;
        if (vlen >= TAR_MAX_PATH)
            return damaged(p, "pax value too long");
        if (klen == 4 && !memcmp(kv, "path", 4)) {
            memcpy(p->long_path, v, vlen);
            p->long_path[vlen] = '\0';
        } else if (klen == 8 && !memcmp(kv, "linkpath", 8)) {
            memcpy(p->long_link, v, vlen);
            p->long_link[vlen] = '\0';
        } else if (klen == 4 && !memcmp(kv, "size", 4)) {
            uint64_t s = 0;
            if (!vlen)
                return damaged(p, "bad pax size");
            for (size_t k = 0; k < vlen; k++) {
                if (v[k] < '0' || v[k] > '9' || s > UINT64_MAX / 10 - 10)
                    return damaged(p, "bad pax size");
                s = s * 10 + (uint64_t)(v[k] - '0');
            }
            p->have_size = 1;
            p->pax_size = s;
        }
        i += len;
    }
    return 0;
}

static int meta_done(tar_parser *p)
{
    int rc = 0;
    if (p->meta_type == 'L' || p->meta_type == 'K') {
        char *dst = p->meta_type == 'L' ? p->long_path : p->long_link;
        size_t l = strnlen((const char *)p->meta, p->meta_len);
        if (l >= TAR_MAX_PATH)
            return damaged(p, "long name too long");
        memcpy(dst, p->meta, l);
        dst[l] = '\0';
    } else if (p->meta_type == 'x') {
        rc = apply_pax(p);
    } /* 'g': global pax headers carry nothing we use */
    p->meta_len = 0;
    return rc;
}

/* An extension record (long name, pax attributes): gathered whole, bounded. */
static int begin_meta(tar_parser *p, char type, uint64_t size)
{
    if (size > META_MAX)
        return damaged(p, "extension record too large");
    uint8_t *m = realloc(p->meta, size ? size : 1);
    if (!m)
        return err_set(ERR_FATAL, "out of memory");
    p->meta = m;
    p->meta_type = type;
    p->meta_len = 0;
    p->left = size;
    p->pad = (BLOCK - size % BLOCK) % BLOCK;
    p->have_size = 0;
    p->state = ST_META;
    return size ? 0 : meta_done(p);
}

/* Path and link target: from the extension records before, else the header's
 * fields (ustar's prefix + name); the extensions apply to this entry only. */
static void entry_names(tar_parser *p, int ustar)
{
    const uint8_t *h = p->hdr;
    tar_entry *e = &p->e;
    if (p->long_path[0]) {
        memcpy(e->path, p->long_path, sizeof e->path);
    } else {
        char name[101], prefix[156];
        field(name, sizeof name, h, 100);
        field(prefix, sizeof prefix, h + 345, 155);
        if (ustar && prefix[0])
            snprintf(e->path, sizeof e->path, "%s/%s", prefix, name);
        else
            memcpy(e->path, name, sizeof name);
    }
    if (p->long_link[0])
        memcpy(e->link, p->long_link, sizeof e->link);
    else
        field(e->link, sizeof e->link, h + 157, 100);
    p->long_path[0] = p->long_link[0] = '\0';
    p->have_size = 0;
}

static int start_entry(tar_parser *p)
{
    const uint8_t *h = p->hdr;
    tar_entry *e = &p->e;
    uint64_t mode, uid, gid, size, mtime, dmaj = 0, dmin = 0;
    if (!checksum_ok(h))
        return damaged(p, "header checksum mismatch");
    if (parse_num(h + 100, 8, &mode) || parse_num(h + 108, 8, &uid) || parse_num(h + 116, 8, &gid) ||
        parse_num(h + 124, 12, &size) || parse_num(h + 136, 12, &mtime))
        return damaged(p, "bad number in header");
    int ustar = !memcmp(h + 257, "ustar", 5);
    if (ustar && (parse_num(h + 329, 8, &dmaj) || parse_num(h + 337, 8, &dmin)))
        return damaged(p, "bad device number in header");
    char type = (char)h[156];
    if (p->have_size)
        size = p->pax_size;
    if (type == 'L' || type == 'K' || type == 'x' || type == 'g')
        return begin_meta(p, type, size);
    memset(e, 0, sizeof *e);
    entry_names(p, ustar);
    int cp = clean_path(e->path);
    if (cp < 0 || (cp == 1 && type != '5'))
        return damaged(p, "empty or unsafe path in header");
    p->skip = cp == 1;
    if (type == '\0' || type == '7')
        type = '0';
    if (!strchr("0123456", type))
        return damaged(p, "unknown entry type");
    if (mode > 07777 || uid > UINT32_MAX || gid > UINT32_MAX || mtime > INT64_MAX || dmaj > UINT32_MAX ||
        dmin > UINT32_MAX)
        return damaged(p, "value out of range in header");
    e->type = type;
    e->mode = (uint32_t)mode;
    e->uid = (uint32_t)uid;
    e->gid = (uint32_t)gid;
    e->mtime = (int64_t)mtime;
    e->devmajor = (uint32_t)dmaj;
    e->devminor = (uint32_t)dmin;
    e->size = type == '0' ? size : 0;
    int rc = p->cb.entry && !p->skip ? p->cb.entry(p->cb.ctx, e) : 0;
    if (rc)
        return rc;
    p->pass_data = type == '0' && !p->skip;
    p->left = size; /* other types should carry none, but skip whatever they say */
    p->pad = (BLOCK - size % BLOCK) % BLOCK;
    p->state = ST_DATA;
    return 0;
}

static int end_entry(tar_parser *p)
{
    p->state = p->pad ? ST_PAD : ST_HEADER;
    return p->cb.entry_end && !p->skip ? p->cb.entry_end(p->cb.ctx) : 0;
}

static int all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* One step of the machine over data; returns bytes consumed or a negative error. */
static int step(tar_parser *p, const uint8_t *d, size_t n, size_t *used)
{
    size_t take;
    *used = 0;
    switch (p->state) {
    case ST_HEADER:
        take = BLOCK - p->hdr_len < n ? BLOCK - p->hdr_len : n;
        memcpy(p->hdr + p->hdr_len, d, take);
        p->hdr_len += take;
        *used = take;
        if (p->hdr_len < BLOCK)
            return 0;
        p->hdr_len = 0;
        if (all_zero(p->hdr, BLOCK)) {
            if (p->long_path[0] || p->long_link[0] || p->have_size)
                return damaged(p, "extension record without an entry");
            p->state = ST_END;
            return 0;
        }
        return start_entry(p);
    case ST_META:
        take = p->left < n ? (size_t)p->left : n;
        memcpy(p->meta + p->meta_len, d, take);
        p->meta_len += take;
        p->left -= take;
        *used = take;
        if (p->left)
            return 0;
        p->state = p->pad ? ST_PAD : ST_HEADER;
        return meta_done(p);
    case ST_DATA:
        if (!p->left)
            return end_entry(p);
        take = p->left < n ? (size_t)p->left : n;
        *used = take;
        p->left -= take;
        if (p->pass_data && p->cb.data) {
            int rc = p->cb.data(p->cb.ctx, d, take);
            if (rc)
                return rc;
        }
        return p->left ? 0 : end_entry(p);
    case ST_PAD:
        take = p->pad < n ? p->pad : n;
        *used = take;
        p->pad -= take;
        if (!p->pad)
            p->state = ST_HEADER;
        return 0;
    default: /* ST_END: only zero blocks may follow */
        if (!all_zero(d, n))
            return damaged(p, "data after the end-of-archive marker");
        *used = n;
        return 0;
    }
}

int tar_parser_feed(tar_parser *p, const uint8_t *data, size_t len)
{
    while (len || (p->state == ST_DATA && !p->left)) {
        size_t used;
        int rc = step(p, data, len, &used);
        if (rc)
            return rc;
        data += used;
        len -= used;
        p->offset += used;
    }
    return 0;
}

int tar_parser_finish(tar_parser *p)
{
    if (p->state == ST_END || (p->state == ST_HEADER && p->hdr_len == 0 && !p->long_path[0] &&
                               !p->long_link[0] && !p->have_size))
        return 0;
    return damaged(p, "stream ends inside an entry");
}
