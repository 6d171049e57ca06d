/* chunker — see chunker.h. */
#include "chunker.h"

#include <string.h>

#include "../crypto/crypto.h"

static uint64_t top_bits(unsigned n) { return n ? ~(uint64_t)0 << (64 - n) : 0; }

void chunker_init(chunker *c, const uint8_t secret[32], size_t min, size_t avg, size_t max)
{
    /* Gear values: HMAC(secret, "gear" || i) — a keyed, reproducible table. */
    for (unsigned i = 0; i < 256; i++) {
        uint8_t msg[5] = {'g', 'e', 'a', 'r', (uint8_t)i}, out[32];
        crypto_hmac(secret, msg, sizeof msg, out);
        uint64_t g = 0; /* little-endian by definition, whatever the host */
        for (int b = 7; b >= 0; b--)
            g = g << 8 | out[b];
        c->gear[i] = g;
    }
    unsigned bits = 0;
    while (((size_t)1 << bits) < avg)
        bits++;
    c->min = min;
    c->avg = avg;
    c->max = max;
    /* The high bits of a shifting gear hash depend on the last 64 bytes; testing them
     * gives a 64-byte rolling window without a remove step. */
    c->mask_s = top_bits(bits + 2);
    c->mask_l = top_bits(bits >= 2 ? bits - 2 : 0);
}

size_t chunker_scan(const chunker *c, const uint8_t *data, size_t len, int eof, chunker_state *st)
{
    size_t end = len < c->max ? len : c->max;
    size_t normal = c->avg < end ? c->avg : end;
    size_t i = st->pos > c->min ? st->pos : c->min;
    uint64_t h = st->h;
    if (len <= c->min)
        return eof ? len : 0;
    for (; i < normal; i++) {
        h = (h << 1) + c->gear[data[i]];
        if (!(h & c->mask_s))
            return i + 1;
    }
    for (; i < end; i++) {
        h = (h << 1) + c->gear[data[i]];
        if (!(h & c->mask_l))
            return i + 1;
    }
    if (end == c->max || eof)
        return end;
    st->pos = i; /* no cut in what we have: resume here with more data */
    st->h = h;
    return 0;
}

size_t chunker_cut(const chunker *c, const uint8_t *data, size_t len)
{
    chunker_state st = {0, 0};
    return chunker_scan(c, data, len, 1, &st);
}
