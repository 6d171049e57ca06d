/* pack — see pack.h. */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto.h"

static const uint8_t pack_magic[4] = {'L', 'L', 'P', '1'};

struct pack_writer {
    buf data;
    pack_entry *entries;
    size_t n, cap;
};

pack_writer *pack_writer_new(void)
{
    pack_writer *w = calloc(1, sizeof *w);
    if (w)
        buf_init(&w->data, (size_t)1 << 31);
    return w;
}

pack_writer *pack_writer_new_sized(size_t capacity)
{
    pack_writer *w = pack_writer_new();
    void *p = NULL;
    /* page-aligned, so that the store can write it with O_DIRECT */
    if (w && posix_memalign(&p, 4096, capacity) == 0) {
        w->data.data = p;
        w->data.cap = capacity;
    } else {
        pack_writer_free(&w);
    }
    return w;
}

void pack_writer_free(pack_writer **w)
{
    if (!*w)
        return;
    buf_free(&(*w)->data);
    free((*w)->entries);
    free(*w);
    *w = NULL;
}

static int add_entry(pack_writer *w, uint8_t type, const uint8_t id[32], size_t len, uint32_t raw_len)
{
    if (w->n == PACK_MAX_ENTRIES || len > UINT32_MAX || w->data.len + len > UINT32_MAX)
        return err_set(ERR_FATAL, "pack is full");
    int rc = array_grow(&w->entries, &w->cap, w->n + 1, sizeof *w->entries, 64);
    if (rc)
        return rc;
    pack_entry *e = &w->entries[w->n++];
    e->type = type;
    memcpy(e->id, id, 32);
    e->offset = (uint32_t)w->data.len;
    e->length = (uint32_t)len;
    e->raw_len = raw_len;
    return 0;
}

int pack_writer_reserve(pack_writer *w, uint8_t type, const uint8_t id[32], size_t len, uint32_t raw_len,
                        uint8_t **dst)
{
    if (w->data.len + len > w->data.cap)
        return err_set(ERR_FATAL, "pack buffer too small for a %zu-byte blob", len);
    int rc = add_entry(w, type, id, len, raw_len);
    if (rc)
        return rc;
    *dst = w->data.data + w->data.len;
    w->data.len += len;
    return 0;
}

int pack_writer_add(pack_writer *w, uint8_t type, const uint8_t id[32], const void *sealed, size_t len,
                    uint32_t raw_len, uint32_t *offset)
{
    uint8_t *dst;
    int rc = buf_reserve(&w->data, len);
    if (!rc)
        rc = pack_writer_reserve(w, type, id, len, raw_len, &dst);
    if (rc)
        return rc;
    memcpy(dst, sealed, len);
    *offset = (uint32_t)(dst - w->data.data);
    return 0;
}

size_t pack_writer_size(const pack_writer *w) { return w->data.len; }
size_t pack_writer_count(const pack_writer *w) { return w->n; }
const pack_entry *pack_writer_entries(const pack_writer *w) { return w->entries; }

void pack_header_aad(const uint8_t pack_id[32], uint8_t aad[33])
{
    aad[0] = 'H';
    memcpy(aad + 1, pack_id, 32);
}

int pack_header_encode(const pack_entry *e, size_t n, buf *out)
{
    int rc = buf_append_u8(out, PACK_HEADER_VERSION);
    if (!rc)
        rc = buf_append(out, "\0\0\0", 3);
    if (!rc)
        rc = buf_append_u32(out, (uint32_t)n);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!(rc = buf_append_u8(out, e[i].type)) && !(rc = buf_append(out, "\0\0\0", 3)) &&
            !(rc = buf_append_u32(out, e[i].length)) && !(rc = buf_append_u32(out, e[i].raw_len)))
            rc = buf_append(out, e[i].id, 32);
    }
    return rc;
}

int pack_header_decode(const uint8_t *p, size_t len, uint64_t data_len, pack_entry **out, size_t *n)
{
    rd r;
    rd_init(&r, p, len);
    uint8_t version = rd_u8(&r);
    const uint8_t *reserved = rd_bytes(&r, 3);
    uint32_t count = rd_u32(&r);
    if (r.bad || reserved[0] || reserved[1] || reserved[2])
        return err_set(ERR_DAMAGED, "pack header too short or has non-zero reserved bytes");
    if (version != PACK_HEADER_VERSION)
        return err_set(ERR_VERSION, "pack header version %u is not supported", version);
    if (count > PACK_MAX_ENTRIES || (uint64_t)count * PACK_ENTRY_LEN != r.left)
        return err_set(ERR_DAMAGED, "pack header entry count %u does not match its size", count);
    pack_entry *e = calloc(count ? count : 1, sizeof *e);
    if (!e)
        return err_set(ERR_FATAL, "out of memory");
    uint64_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        e[i].type = rd_u8(&r);
        const uint8_t *zero = rd_bytes(&r, 3);
        e[i].length = rd_u32(&r);
        e[i].raw_len = rd_u32(&r);
        memcpy(e[i].id, rd_bytes(&r, 32), 32);
        e[i].offset = (uint32_t)off;
        off += e[i].length;
        if (zero[0] || zero[1] || zero[2] || e[i].type > BLOB_TREE || e[i].length < CRYPTO_OVERHEAD + 1 || off > data_len) {
            free(e);
            return err_set(ERR_DAMAGED, "pack header entry %u is invalid", i);
        }
    }
    if (off != data_len) {
        free(e);
        return err_set(ERR_DAMAGED, "pack header describes %llu bytes of blobs, the pack holds %llu",
                       (unsigned long long)off, (unsigned long long)data_len);
    }
    *out = e;
    *n = count;
    return 0;
}

int pack_trailer_decode(const uint8_t t[PACK_TRAILER_LEN], uint64_t file_size, uint32_t *header_len)
{
    if (memcmp(t + 4, pack_magic, 4) != 0)
        return err_set(ERR_DAMAGED, "not a pack (bad magic)");
    uint32_t hl = le_get32(t);
    if (hl < CRYPTO_OVERHEAD + 8 || (uint64_t)hl + PACK_TRAILER_LEN > file_size)
        return err_set(ERR_DAMAGED, "pack header length %u impossible for a %llu-byte file", hl,
                       (unsigned long long)file_size);
    *header_len = hl;
    return 0;
}

int pack_writer_finish(pack_writer *w, const uint8_t key[32], const uint8_t pack_id[32], const buf **bytes)
{
    buf plain;
    uint8_t aad[33], trailer[PACK_TRAILER_LEN];
    buf_init(&plain, 0);
    pack_header_aad(pack_id, aad);
    size_t before = w->data.len;
    int rc = pack_header_encode(w->entries, w->n, &plain);
    if (!rc)
        rc = crypto_seal(key, aad, sizeof aad, plain.data, plain.len, &w->data);
    if (!rc) {
        le_put32(trailer, (uint32_t)(w->data.len - before));
        memcpy(trailer + 4, pack_magic, 4);
        rc = buf_append(&w->data, trailer, sizeof trailer);
    }
    buf_free(&plain);
    *bytes = &w->data;
    return rc;
}
