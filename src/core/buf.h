/* buf — a growable byte buffer with a named maximum (never grows past max).
 * A value type: the owner embeds it and calls buf_free. */
#ifndef LL_BUF_H
#define LL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 means BUF_DEFAULT_MAX */
} buf;

#define BUF_DEFAULT_MAX ((size_t)1 << 31)

void buf_init(buf *b, size_t max);
void buf_free(buf *b);
void buf_reset(buf *b);
int buf_reserve(buf *b, size_t extra) WUR;
int buf_append(buf *b, const void *data, size_t len) WUR;
int buf_append_u8(buf *b, uint8_t v) WUR;
int buf_append_u16(buf *b, uint16_t v) WUR;
int buf_append_u32(buf *b, uint32_t v) WUR;
int buf_append_u64(buf *b, uint64_t v) WUR;

/* Makes room for at least need items of elem bytes in *items (capacity *cap),
 * doubling from first; the one way arrays of structs grow. */
int array_grow(void *items, size_t *cap, size_t need, size_t elem, size_t first) WUR;

/* A bounds-checked little-endian reader over bytes that may be hostile. */
typedef struct rd {
    const uint8_t *p;
    size_t left;
    int bad; /* set once any read ran past the end */
} rd;

void rd_init(rd *r, const void *data, size_t len);
uint8_t rd_u8(rd *r);
uint16_t rd_u16(rd *r);
uint32_t rd_u32(rd *r);
uint64_t rd_u64(rd *r);
/* Returns a pointer to n bytes inside the input, or NULL (and sets bad). */
const uint8_t *rd_bytes(rd *r, size_t n);

void le_put32(uint8_t *p, uint32_t v);
uint32_t le_get32(const uint8_t *p);

#endif
