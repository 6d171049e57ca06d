/* idx — see idx.h. */
#include "idx.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
/* Entries live in fixed blocks: growing never copies them and wastes at most one
 * partly filled block, which keeps memory per blob under 64 bytes at any size. */
#define BLOCK_SHIFT 12
#define BLOCK (1u << BLOCK_SHIFT)

struct idx {
    idx_entry **blocks;
    size_t nblocks;
    size_t n;
    uint32_t *slots; /* entry position, or EMPTY */
    size_t nslots;   /* power of two */
    uint8_t (*packs)[32];
    size_t npacks, packs_cap;
    uint32_t *pack_slots;
    size_t npack_slots;
};

idx *idx_new(void) { return calloc(1, sizeof(idx)); }

static inline idx_entry *entry(const idx *x, size_t i) { return &x->blocks[i >> BLOCK_SHIFT][i & (BLOCK - 1)]; }

void idx_free(idx **x)
{
    if (!*x)
        return;
    for (size_t i = 0; i < (*x)->nblocks; i++)
        free((*x)->blocks[i]);
    free((*x)->blocks);
    free((*x)->slots);
    free((*x)->packs);
    free((*x)->pack_slots);
    free(*x);
    *x = NULL;
}

/* Ids are keyed hashes, uniformly distributed: their first bytes are the hash. */
static size_t slot_of(const uint8_t id[32], size_t nslots)
{
    uint64_t h;
    memcpy(&h, id, 8);
    return (size_t)h & (nslots - 1);
}

/* id_at gives the id of item i (entries or pack ids). */
typedef const uint8_t *(*id_at_fn)(const idx *x, size_t i);

static const uint8_t *entry_id(const idx *x, size_t i) { return entry(x, i)->id; }
static const uint8_t *pack_id_at(const idx *x, size_t i) { return x->packs[i]; }

static int rehash(const idx *x, uint32_t **slots, size_t *nslots, size_t ns, id_at_fn id_at, size_t n)
{
    uint32_t *s = malloc(ns * sizeof *s);
    if (!s)
        return err_set(ERR_FATAL, "out of memory growing the index");
    memset(s, 0xff, ns * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *id = id_at(x, i);
        size_t j = slot_of(id, ns);
        while (s[j] != EMPTY)
            j = (j + 1) & (ns - 1);
        s[j] = (uint32_t)i;
    }
    free(*slots);
    *slots = s;
    *nslots = ns;
    return 0;
}

int idx_pack_lookup(const idx *x, const uint8_t pack_id[32], uint32_t *no)
{
    if (!x->npack_slots)
        return 0;
    for (size_t j = slot_of(pack_id, x->npack_slots);; j = (j + 1) & (x->npack_slots - 1)) {
        uint32_t s = x->pack_slots[j];
        if (s == EMPTY)
            return 0;
        if (!memcmp(x->packs[s], pack_id, 32)) {
            *no = s;
            return 1;
        }
    }
}

int idx_group_by_pack(const idx *x, uint32_t **startp, uint32_t **orderp)
{
    uint32_t *start = calloc(x->npacks + 2, sizeof *start), *order = malloc((x->n ? x->n : 1) * sizeof *order);
    if (!start || !order) {
        free(start);
        free(order);
        return err_set(ERR_FATAL, "out of memory");
    }
    for (size_t i = 0; i < x->n; i++) /* counting sort by pack number */
        start[IDX_PACK(entry(x, i)) + 2]++;
    for (size_t p = 2; p < x->npacks + 2; p++)
        start[p] += start[p - 1];
    for (size_t i = 0; i < x->n; i++)
        order[start[IDX_PACK(entry(x, i)) + 1]++] = (uint32_t)i;
    *startp = start;
    *orderp = order;
    return 0;
}

int idx_pack_number(idx *x, const uint8_t pack_id[32], uint32_t *no)
{
    if (idx_pack_lookup(x, pack_id, no))
        return 0;
    if (x->npack_slots) {
        for (size_t j = slot_of(pack_id, x->npack_slots);; j = (j + 1) & (x->npack_slots - 1)) {
            uint32_t s = x->pack_slots[j];
            if (s == EMPTY)
                break;
            if (!memcmp(x->packs[s], pack_id, 32)) {
                *no = s;
                return 0;
            }
        }
    }
    if (x->npacks >= 0x7fffffff)
        return err_set(ERR_FATAL, "too many packs");
    int rc = array_grow(&x->packs, &x->packs_cap, x->npacks + 1, 32, 64);
    if (rc)
        return rc;
    memcpy(x->packs[x->npacks], pack_id, 32);
    *no = (uint32_t)x->npacks++;
    if (x->npacks * 2 > x->npack_slots)
        return rehash(x, &x->pack_slots, &x->npack_slots, x->npack_slots ? x->npack_slots * 4 : 64, pack_id_at,
                      x->npacks);
    size_t j = slot_of(pack_id, x->npack_slots);
    while (x->pack_slots[j] != EMPTY)
        j = (j + 1) & (x->npack_slots - 1);
    x->pack_slots[j] = *no;
    return 0;
}

const uint8_t *idx_pack_id(const idx *x, uint32_t no) { return no < x->npacks ? x->packs[no] : NULL; }
size_t idx_pack_count(const idx *x) { return x->npacks; }

const idx_entry *idx_find(const idx *x, uint8_t type, const uint8_t id[32])
{
    size_t pos;
    return idx_find_pos(x, type, id, &pos) ? entry(x, pos) : NULL;
}

int idx_add(idx *x, uint8_t type, const uint8_t id[32], uint32_t pack_no, uint32_t offset, uint32_t length,
            uint32_t raw_len)
{
    if (idx_find(x, type, id))
        return 0;
    if (x->n >= EMPTY - 1)
        return err_set(ERR_FATAL, "too many blobs in the index");
    if (x->n == x->nblocks * BLOCK) {
        idx_entry **b = realloc(x->blocks, (x->nblocks + 1) * sizeof *b);
        if (!b)
            return err_set(ERR_FATAL, "out of memory growing the index");
        x->blocks = b;
        if (!(b[x->nblocks] = malloc(BLOCK * sizeof(idx_entry))))
            return err_set(ERR_FATAL, "out of memory growing the index");
        x->nblocks++;
    }
    idx_entry *e = entry(x, x->n);
    memcpy(e->id, id, 32);
    e->pack = pack_no | (uint32_t)(type & 1) << 31;
    e->offset = offset;
    e->length = length;
    e->raw_len = raw_len;
    x->n++;
    /* doubling at 3/4 load keeps the table between 3/8 and 3/4 full: <= 10.7 bytes a blob */
    if (x->n * 4 > x->nslots * 3)
        return rehash(x, &x->slots, &x->nslots, x->nslots ? x->nslots * 2 : 1024, entry_id, x->n);
    size_t j = slot_of(id, x->nslots);
    while (x->slots[j] != EMPTY)
        j = (j + 1) & (x->nslots - 1);
    x->slots[j] = (uint32_t)(x->n - 1);
    return 0;
}

int idx_find_pos(const idx *x, uint8_t type, const uint8_t id[32], size_t *pos)
{
    if (!x->nslots)
        return 0;
    for (size_t j = slot_of(id, x->nslots);; j = (j + 1) & (x->nslots - 1)) {
        uint32_t s = x->slots[j];
        if (s == EMPTY)
            return 0;
        const idx_entry *e = entry(x, s);
        if (IDX_TYPE(e) == type && !memcmp(e->id, id, 32)) {
            *pos = s;
            return 1;
        }
    }
}

size_t idx_count(const idx *x) { return x->n; }
const idx_entry *idx_at(const idx *x, size_t i) { return entry(x, i); }

size_t idx_memory(const idx *x)
{
    return x->nblocks * BLOCK * sizeof(idx_entry) + x->nblocks * sizeof(void *) + x->nslots * 4 +
           x->packs_cap * 32 + x->npack_slots * 4;
}

int idx_file_encode(const idx_file_pack *packs, size_t npacks, buf *out)
{
    int rc = buf_append_u8(out, IDX_FILE_VERSION);
    if (!rc)
        rc = buf_append(out, "\0\0\0", 3);
    if (!rc)
        rc = buf_append_u32(out, (uint32_t)npacks);
    for (size_t i = 0; !rc && i < npacks; i++) {
        rc = buf_append(out, packs[i].pack_id, 32);
        if (!rc)
            rc = buf_append_u32(out, (uint32_t)packs[i].n);
        for (size_t j = 0; !rc && j < packs[i].n; j++) {
            const pack_entry *e = &packs[i].entries[j];
            if (!(rc = buf_append_u8(out, e->type)) && !(rc = buf_append(out, e->id, 32)) &&
                !(rc = buf_append_u32(out, e->offset)) && !(rc = buf_append_u32(out, e->length)))
                rc = buf_append_u32(out, e->raw_len);
        }
    }
    return rc;
}

int idx_file_decode(const uint8_t *p, size_t len, idx_file_fn fn, void *ctx)
{
    rd r;
    rd_init(&r, p, len);
    uint8_t version = rd_u8(&r);
    const uint8_t *reserved = rd_bytes(&r, 3);
    uint32_t npacks = rd_u32(&r);
    if (r.bad || reserved[0] || reserved[1] || reserved[2])
        return err_set(ERR_DAMAGED, "index file too short or has non-zero reserved bytes");
    if (version != IDX_FILE_VERSION)
        return err_set(ERR_VERSION, "index format version %u is not supported", version);
    for (uint32_t i = 0; i < npacks; i++) {
        const uint8_t *pack_id = rd_bytes(&r, 32);
        uint32_t n = rd_u32(&r);
        if (r.bad || (uint64_t)n * 45 > r.left)
            return err_set(ERR_DAMAGED, "index file truncated in pack %u", i);
        for (uint32_t j = 0; j < n; j++) {
            pack_entry e;
            e.type = rd_u8(&r);
            memcpy(e.id, rd_bytes(&r, 32), 32);
            e.offset = rd_u32(&r);
            e.length = rd_u32(&r);
            e.raw_len = rd_u32(&r);
            if (e.type > BLOB_TREE || (uint64_t)e.offset + e.length > UINT32_MAX)
                return err_set(ERR_DAMAGED, "index file entry %u of pack %u is invalid", j, i);
            int rc = fn(pack_id, &e, ctx);
            if (rc)
                return rc;
        }
    }
    if (r.left)
        return err_set(ERR_DAMAGED, "index file has %zu trailing bytes", r.left);
    return 0;
}
