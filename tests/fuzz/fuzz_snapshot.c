/* libFuzzer target: snapshot decoder — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    snapshot s;
    if (snapshot_decode(data, size, &s) == 0) {
        buf b;
        buf_init(&b, 0);
        (void)snapshot_encode(&s, &b);
        buf_free(&b);
        snapshot_free(&s);
    }
    return 0;
}
