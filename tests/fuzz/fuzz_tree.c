/* libFuzzer target: tree decoder — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tree t;
    if (tree_decode(data, size, &t) == 0) {
        buf b;
        buf_init(&b, 0);
        if (tree_encode(&t, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)
            abort(); /* a tree that decodes must encode back to the same bytes */
        buf_free(&b);
        tree_free(&t);
    }
    return 0;
}
