/* chunker — content-defined chunking (FastCDC-style gear hash with normalized
 * chunking). The gear table is derived from the repository's chunker secret, so
 * boundaries reveal nothing about content to someone without the key. */
#ifndef LL_CHUNKER_H
#define LL_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct chunker {
    uint64_t gear[256];
    size_t min, avg, max;
    uint64_t mask_s, mask_l; /* harder before avg, easier after: sizes cluster near avg */
} chunker;

/* avg must be a power of two; min <= avg <= max. */
void chunker_init(chunker *c, const uint8_t secret[32], size_t min, size_t avg, size_t max);
/* Returns where the first chunk of data[0..len) ends, taking len as all there is. */
size_t chunker_cut(const chunker *c, const uint8_t *data, size_t len);

/* Incremental form for data arriving in blocks: the scan resumes where the last
 * call stopped. Returns the cut position, or 0 when more data is needed (len < max
 * and !eof). Reset the state (to zero) after every cut. */
typedef struct chunker_state {
    size_t pos;
    uint64_t h;
} chunker_state;
size_t chunker_scan(const chunker *c, const uint8_t *data, size_t len, int eof, chunker_state *st);

#endif
