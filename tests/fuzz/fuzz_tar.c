/* libFuzzer target: the tar push parser — any bytes, fed in pieces whose sizes the
 * input also chooses, must never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>

#include "source/tar.h"

static int on_entry(void *ctx, const tar_entry *e)
{
    (void)ctx;
    return e->path[0] ? 0 : 1; /* an entry always has a path */
}

static int on_data(void *ctx, const uint8_t *p, size_t len)
{
    (void)p;
    *(size_t *)ctx += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] * 7 + 1, got = 0;
    tar_callbacks cb = {on_entry, on_data, NULL, &got};
    tar_parser *tp;
    if (tar_parser_new(&cb, &tp))
        return 0;
    int rc = 0;
    for (size_t o = 1; !rc && o < size; o += step)
        rc = tar_parser_feed(tp, data + o, size - o < step ? size - o : step);
    if (rc == 1)
        abort();
    if (!rc)
        (void)tar_parser_finish(tp);
    tar_parser_free(&tp);
    return 0;
}
