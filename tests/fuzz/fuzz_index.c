/* libFuzzer target: index file decoder — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/idx.h"

static int add(const uint8_t pack_id[32], const pack_entry *e, void *ctx)
{
    idx *x = ctx;
    uint32_t no;
    if (idx_pack_number(x, pack_id, &no) != 0)
        return 1;
    return idx_add(x, e->type, e->id, no, e->offset, e->length, e->raw_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    idx *x = idx_new();
    (void)idx_file_decode(data, size, add, x);
    idx_free(&x);
    return 0;
}
