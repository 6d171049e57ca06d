/* rdb — see rdb.h. A pull parser over a 64 KiB window: every consumed byte goes
 * through the CRC and the sink before the window moves on, so memory stays flat
 * whatever the size of a value. Type and opcode numbers are Redis's (rdb.h there). */
#include "rdb.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW (64 * 1024)

enum { /* opcodes */
    OP_SLOT_INFO = 244, OP_FUNCTION2 = 245, OP_FUNCTION_PRE_GA = 246, OP_MODULE_AUX = 247, OP_IDLE = 248,
    OP_FREQ = 249, OP_AUX = 250, OP_RESIZEDB = 251, OP_EXPIRETIME_MS = 252, OP_EXPIRETIME = 253,
    OP_SELECTDB = 254, OP_EOF = 255
};

struct rdb_reader {
    rdb_read_fn rd;
    void *rd_ctx;
    rdb_sink_fn sink;
    void *sink_ctx;
    uint64_t limit, consumed;
    uint64_t crc;
    int eof;
    uint8_t buf[WINDOW];
    size_t pos, len;
};

/* ---- CRC-64/Jones ------------------------------------------------------------------- */

/* Slicing-by-8: eight bytes per step through eight tables, several times the speed
 * of a byte at a time (the checksum covers every byte of a snapshot). */
static uint64_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_build(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x95ac9329ac4bc9b5ull : c >> 1; /* 0xad93d23594c935a9 reflected */
        crc_table[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = crc_table[0][crc_table[t - 1][i] & 0xff] ^ (crc_table[t - 1][i] >> 8);
}

static void crc_init(void) { pthread_once(&crc_once, crc_build); }

uint64_t rdb_crc64(uint64_t crc, const uint8_t *p, size_t len)
{
    crc_init();
    while (len >= 8) {
        uint64_t w = crc ^ ((uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                            (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56);
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^ crc_table[5][(w >> 16) & 0xff] ^
              crc_table[4][(w >> 24) & 0xff] ^ crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    for (size_t i = 0; i < len; i++)
        crc = crc_table[0][(uint8_t)crc ^ p[i]] ^ (crc >> 8);
    return crc;
}

/* ---- the window ---------------------------------------------------------------------- */

int rdb_reader_new(rdb_read_fn rd, void *rd_ctx, rdb_sink_fn sink, void *sink_ctx, uint64_t limit, rdb_reader **out)
{
    rdb_reader *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(ERR_FATAL, "out of memory");
    crc_init();
    r->rd = rd;
    r->rd_ctx = rd_ctx;
    r->sink = sink;
    r->sink_ctx = sink_ctx;
    r->limit = limit;
    *out = r;
    return 0;
}

void rdb_reader_free(rdb_reader **r)
{
    free(*r);
    *r = NULL;
}

static int bad(const rdb_reader *r, const char *what)
{
    return err_set(ERR_DAMAGED, "RDB stream: %s (at byte %llu)", what, (unsigned long long)r->consumed);
}

/* Makes at least one byte available. */
static int fill(rdb_reader *r)
{
    if (r->pos < r->len)
        return 0;
    if (r->eof)
        return bad(r, "ends early");
    r->pos = r->len = 0;
    size_t got = 0;
    int rc = r->rd(r->rd_ctx, r->buf, WINDOW, &got);
    if (rc)
        return rc;
    if (!got) {
        r->eof = 1;
        return bad(r, "ends early");
    }
    r->len = got;
    return 0;
}

/* Consumes n bytes: copied to out when out is not NULL, always through CRC and sink. */
static int take(rdb_reader *r, uint8_t *out, uint64_t n)
{
    if (n > r->limit - r->consumed)
        return bad(r, "a record runs past the announced length");
    while (n) {
        int rc = fill(r);
        if (rc)
            return rc;
        size_t k = r->len - r->pos < n ? r->len - r->pos : (size_t)n;
        const uint8_t *p = r->buf + r->pos;
        r->crc = rdb_crc64(r->crc, p, k);
        if (r->sink && (rc = r->sink(r->sink_ctx, p, k)))
            return rc;
        if (out) {
            memcpy(out, p, k);
            out += k;
        }
        r->pos += k;
        r->consumed += k;
        n -= k;
    }
    return 0;
}

static int u8(rdb_reader *r, uint8_t *v) { return take(r, v, 1); }

static int le(rdb_reader *r, size_t n, uint64_t *v)
{
    uint8_t b[8];
    int rc = take(r, b, n);
    *v = 0;
    for (size_t i = n; !rc && i-- > 0;)
        *v = (*v << 8) | b[i];
    return rc;
}

/* A length; *enc set (and the 6-bit encoding type returned in *v) for encoded strings. */
static int length(rdb_reader *r, uint64_t *v, int *enc)
{
    uint8_t b, x[8];
    int rc = u8(r, &b);
    if (enc)
        *enc = 0;
    if (rc)
        return rc;
    switch (b >> 6) {
    case 0: *v = b & 0x3f; return 0;
    case 1:
        rc = u8(r, x);
        *v = ((uint64_t)(b & 0x3f) << 8) | x[0];
        return rc;
    case 2:
        if (b != 0x80 && b != 0x81)
            return bad(r, "bad length encoding");
        rc = take(r, x, b == 0x80 ? 4 : 8);
        *v = 0;
        for (int i = 0; !rc && i < (b == 0x80 ? 4 : 8); i++)
            *v = (*v << 8) | x[i];
        return rc;
    default:
        if (!enc)
            return bad(r, "encoded value where a length belongs");
        *enc = 1;
        *v = b & 0x3f;
        return 0;
    }
}

static int len_only(rdb_reader *r, uint64_t *v) { return length(r, v, NULL); }

/* A string: skipped, or its first cap-1 bytes copied into out (NUL-terminated). */
static int string(rdb_reader *r, char *out, size_t cap)
{
    uint64_t v = 0, clen, ulen; /* set by length() on success (gcc -O3 cannot see it) */
    int enc;
    int rc = length(r, &v, &enc);
    if (out && cap)
        out[0] = '\0';
    if (rc)
        return rc;
    if (enc) {
        if (v <= 2) { /* 8, 16, 32-bit integers */
            uint64_t n;
            if ((rc = le(r, (size_t)1 << v, &n)))
                return rc;
            if (out && cap)
                snprintf(out, cap, "%lld", (long long)(v == 0 ? (int8_t)n : v == 1 ? (int16_t)n : (int32_t)n));
            return 0;
        }
        if (v != 3)
            return bad(r, "unknown string encoding");
        if ((rc = len_only(r, &clen)) || (rc = len_only(r, &ulen)))
            return rc;
        if (!clen || clen > ulen + 64)
            return bad(r, "bad compressed string lengths");
        return take(r, NULL, clen); /* LZF: skipped compressed */
    }
    if (out && cap) {
        size_t k = v < cap - 1 ? (size_t)v : cap - 1;
        if ((rc = take(r, (uint8_t *)out, k)))
            return rc;
        out[k] = '\0';
        return take(r, NULL, v - k);
    }
    return take(r, NULL, v);
}

static int strings(rdb_reader *r, uint64_t n)
{
    int rc = 0;
    for (uint64_t i = 0; !rc && i < n; i++)
        rc = string(r, NULL, 0);
    return rc;
}

/* A double as text: one length byte (253 nan, 254 +inf, 255 -inf). */
static int text_double(rdb_reader *r)
{
    uint8_t l;
    int rc = u8(r, &l);
    return rc || l >= 253 ? rc : take(r, NULL, l);
}

/* Module values (type 7) and module aux data: typed fields until an EOF opcode. */
static int module_fields(rdb_reader *r)
{
    for (uint64_t guard = 0;; guard++) {
        uint64_t op = 0, v; /* set by len_only() on success */
        int rc = len_only(r, &op);
        if (rc)
            return rc;
        switch (op) {
        case 0: return 0;
        case 1:
        case 2: rc = len_only(r, &v); break;
        case 3: rc = take(r, NULL, 4); break;
        case 4: rc = take(r, NULL, 8); break;
        case 5: rc = string(r, NULL, 0); break;
        default: return bad(r, "unknown module field opcode");
        }
        if (rc)
            return rc;
    }
}

static int pel(rdb_reader *r, int nacks)
{
    uint64_t n, v;
    int rc = len_only(r, &n);
    for (uint64_t i = 0; !rc && i < n; i++) {
        rc = take(r, NULL, 16); /* the entry id, 128 bits */
        if (!rc && nacks && !(rc = take(r, NULL, 8)))
            rc = len_only(r, &v); /* delivery time, delivery count */
    }
    return rc;
}

static int lens(rdb_reader *r, int n)
{
    uint64_t v;
    int rc = 0;
    for (int i = 0; !rc && i < n; i++)
        rc = len_only(r, &v);
    return rc;
}

static int stream(rdb_reader *r, int type)
{
    uint64_t n, groups, consumers;
    int rc = len_only(r, &n);
    if (!rc)
        rc = strings(r, n * 2 > n ? n * 2 : UINT64_MAX); /* node key, listpack */
    if (!rc)
        rc = lens(r, type >= 19 ? 8 : 3); /* length, last id; v2: first id, max deleted id, added */
    if (!rc)
        rc = len_only(r, &groups);
    for (uint64_t g = 0; !rc && g < groups; g++) {
        rc = string(r, NULL, 0);
        if (!rc)
            rc = lens(r, type >= 19 ? 3 : 2); /* last id; v2: entries read */
        if (!rc)
            rc = pel(r, 1);
        if (!rc)
            rc = len_only(r, &consumers);
        for (uint64_t c = 0; !rc && c < consumers; c++) {
            rc = string(r, NULL, 0);
            if (!rc)
                rc = take(r, NULL, type >= 21 ? 16 : 8); /* seen time; v3: active time */
            if (!rc)
                rc = pel(r, 0);
        }
    }
    return rc;
}

static int value(rdb_reader *r, int type)
{
    uint64_t n, v;
    int rc;
    switch (type) {
    case 0: return string(r, NULL, 0);
    case 1:
    case 2:
    case 14:
        return (rc = len_only(r, &n)) ? rc : strings(r, n);
    case 4:
        return (rc = len_only(r, &n)) ? rc : strings(r, n * 2 > n ? n * 2 : UINT64_MAX);
    case 3:
    case 5:
        rc = len_only(r, &n);
        for (uint64_t i = 0; !rc && i < n; i++)
            if (!(rc = string(r, NULL, 0)))
                rc = type == 3 ? text_double(r) : take(r, NULL, 8);
        return rc;
    case 7:
        return (rc = len_only(r, &v)) ? rc : module_fields(r); /* module id, then fields */
    case 9: case 10: case 11: case 12: case 13: case 16: case 17: case 20:
        return string(r, NULL, 0); /* ziplist, listpack, intset: one blob */
    case 18:
        rc = len_only(r, &n);
        for (uint64_t i = 0; !rc && i < n; i++)
            if (!(rc = len_only(r, &v)))
                rc = string(r, NULL, 0); /* container kind, node */
        return rc;
    case 15:
    case 19:
    case 21:
        return stream(r, type);
    default: {
        char what[64];
        snprintf(what, sizeof what, "value type %d is not supported", type);
        return bad(r, what);
    }
    }
}

/* ---- records ------------------------------------------------------------------------ */

typedef struct rec_state {
    uint32_t db;
    int64_t expire_ms; /* -1: none */
} rec_state;

static void count_key(rdb_info *info, const rec_state *s)
{
    rdb_db *d = &info->dbs[s->db];
    d->keys++;
    if (s->expire_ms >= 0)
        d->expires++;
    if (s->expire_ms < 0 || (info->at_a && s->expire_ms > info->at_a))
        d->alive_a++;
    if (s->expire_ms < 0 || (info->at_b && s->expire_ms > info->at_b))
        d->alive_b++;
    if (s->db + 1 > info->ndbs)
        info->ndbs = s->db + 1;
}

static int aux(rdb_reader *r, rdb_info *info)
{
    char k[32], v[64];
    int rc = string(r, k, sizeof k);
    if (!rc)
        rc = string(r, v, sizeof v);
    if (rc)
        return rc;
    if (!strcmp(k, "redis-ver"))
        snprintf(info->redis_ver, sizeof info->redis_ver, "%s", v);
    else if (!strcmp(k, "repl-id"))
        snprintf(info->repl_id, sizeof info->repl_id, "%s", v);
    else if (!strcmp(k, "repl-offset"))
        info->repl_offset = strtoll(v, NULL, 10);
    return 0;
}

/* One opcode or key/value record; *done at EOF. */
static int record(rdb_reader *r, rdb_info *info, rec_state *s, int *done)
{
    uint8_t t;
    uint64_t a, b;
    int rc = u8(r, &t);
    if (rc)
        return rc;
    switch (t) {
    case OP_EOF: *done = 1; return 0;
    case OP_SELECTDB:
        if ((rc = len_only(r, &a)))
            return rc;
        if (a >= RDB_MAX_DBS)
            return bad(r, "database number too large");
        s->db = (uint32_t)a;
        return 0;
    case OP_RESIZEDB: return (rc = len_only(r, &a)) ? rc : len_only(r, &b);
    case OP_EXPIRETIME_MS:
        rc = le(r, 8, &a);
        s->expire_ms = (int64_t)(a & INT64_MAX);
        return rc;
    case OP_EXPIRETIME:
        rc = le(r, 4, &a);
        s->expire_ms = (int64_t)a * 1000;
        return rc;
    case OP_AUX: return aux(r, info);
    case OP_FREQ: return u8(r, &t);
    case OP_IDLE: return len_only(r, &a);
    case OP_MODULE_AUX: return (rc = lens(r, 3)) ? rc : module_fields(r); /* id, when opcode, when */
    case OP_FUNCTION2: return string(r, NULL, 0);
    case OP_SLOT_INFO: return lens(r, 3);
    case OP_FUNCTION_PRE_GA: return bad(r, "functions of a Redis 7.0 release candidate are not supported");
    default:
        if ((rc = string(r, NULL, 0)) || (rc = value(r, t))) /* key, value */
            return rc;
        count_key(info, s);
        s->expire_ms = -1;
        return 0;
    }
}

int rdb_parse(rdb_reader *r, rdb_info *info)
{
    uint8_t head[9];
    int64_t at_a = info->at_a, at_b = info->at_b;
    memset(info, 0, sizeof *info);
    info->at_a = at_a;
    info->at_b = at_b;
    info->repl_offset = -1;
    int rc = take(r, head, 9);
    if (rc)
        return rc;
    if (memcmp(head, "REDIS", 5))
        return bad(r, "not an RDB (no REDIS magic)");
    for (int i = 5; i < 9; i++) {
        if (head[i] < '0' || head[i] > '9')
            return bad(r, "bad version digits");
        info->version = info->version * 10 + (head[i] - '0');
    }
    if (info->version < 1 || info->version > RDB_MAX_VERSION)
        return bad(r, "unsupported RDB version");
    rec_state s = {0, -1};
    for (int done = 0; !done;)
        if ((rc = record(r, info, &s, &done)))
            return rc;
    uint64_t want = r->crc, got = 0;
    if (info->version >= 5) {
        if ((rc = le(r, 8, &got)))
            return rc;
        if (got && got != want)
            return bad(r, "CRC-64 checksum mismatch");
        info->checksum_verified = got != 0;
    }
    if (r->limit != UINT64_MAX && r->consumed != r->limit)
        return bad(r, "the RDB ends before the announced length");
    info->bytes = r->consumed;
    return 0;
}

int rdb_read_trailer(rdb_reader *r, uint8_t *out, size_t n)
{
    while (n) {
        int rc = fill(r);
        if (rc)
            return rc;
        size_t k = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(out, r->buf + r->pos, k);
        r->pos += k;
        out += k;
        n -= k;
    }
    return 0;
}
