/* buf — see buf.h. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : BUF_DEFAULT_MAX;
}

void buf_free(buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(buf *b) { b->len = 0; }

int buf_reserve(buf *b, size_t extra)
{
    if (b->max == 0)
        b->max = BUF_DEFAULT_MAX;
    if (extra > b->max || b->len > b->max - extra)
        return err_set(ERR_FATAL, "buffer would exceed its limit of %zu bytes", b->max);
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    uint8_t *n = realloc(b->data, ncap);
    if (!n)
        return err_set(ERR_FATAL, "out of memory growing a buffer to %zu bytes", ncap);
    b->data = n;
    b->cap = ncap;
    return 0;
}

int buf_append(buf *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int buf_append_u8(buf *b, uint8_t v) { return buf_append(b, &v, 1); }

int buf_append_u16(buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return buf_append(b, p, 2);
}

int buf_append_u32(buf *b, uint32_t v)
{
    uint8_t p[4];
    le_put32(p, v);
    return buf_append(b, p, 4);
}

int buf_append_u64(buf *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return buf_append(b, p, 8);
}

int array_grow(void *items, size_t *cap, size_t need, size_t elem, size_t first)
{
    void **pp = items;
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : first;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*pp, nc * elem);
    if (!p)
        return err_set(ERR_FATAL, "out of memory growing a list to %zu entries", nc);
    *pp = p;
    *cap = nc;
    return 0;
}

void le_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t le_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void rd_init(rd *r, const void *data, size_t len)
{
    r->p = data;
    r->left = len;
    r->bad = 0;
}

const uint8_t *rd_bytes(rd *r, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint64_t rd_le(rd *r, size_t n)
{
    const uint8_t *p = rd_bytes(r, n);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t rd_u8(rd *r) { return (uint8_t)rd_le(r, 1); }
uint16_t rd_u16(rd *r) { return (uint16_t)rd_le(r, 2); }
uint32_t rd_u32(rd *r) { return (uint32_t)rd_le(r, 4); }
uint64_t rd_u64(rd *r) { return rd_le(r, 8); }
