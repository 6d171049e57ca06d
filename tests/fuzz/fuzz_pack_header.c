/* libFuzzer target: pack header and trailer decoders — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pack_entry *e = NULL;
    size_t n = 0;
    uint32_t hl;
    if (size >= PACK_TRAILER_LEN)
        (void)pack_trailer_decode(data + size - PACK_TRAILER_LEN, size, &hl);
    uint64_t data_len = size > 4 ? data[0] * 1000u + data[1] : 0;
    if (pack_header_decode(data, size, data_len, &e, &n) == 0)
        free(e);
    return 0;
}
