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
/* Returns where the first chunk of data[0..len) ends. When len < max and !eof the
 * answer may be len meaning "no cut found yet": callers pass at least max bytes
 * unless at end of input. */
size_t chunker_cut(const chunker *c, const uint8_t *data, size_t len);

#endif
