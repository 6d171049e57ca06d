/* libFuzzer target: the RDB reader over any bytes, pulled in pieces whose size the
 * input chooses; must never crash, leak, read out of bounds or loop forever. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/rdb.h"

typedef struct src {
    const uint8_t *p;
    size_t left, step;
} src;

static int pull(void *ctx, uint8_t *out, size_t cap, size_t *got)
{
    src *s = ctx;
    size_t k = s->left < cap ? s->left : cap;
    if (k > s->step)
        k = s->step;
    memcpy(out, s->p, k);
    s->p += k;
    s->left -= k;
    *got = k;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    src s = {data + 1, size - 1, (size_t)data[0] * 13 + 1};
    rdb_reader *r;
    rdb_info *info = calloc(1, sizeof *info);
    if (!info || rdb_reader_new(pull, &s, NULL, NULL, UINT64_MAX, &r)) {
        free(info);
        return 0;
    }
    info->at_a = 1;
    info->at_b = 2;
    if (rdb_parse(r, info) == 0 && info->ndbs > RDB_MAX_DBS)
        abort();
    rdb_reader_free(&r);
    free(info);
    return 0;
}
