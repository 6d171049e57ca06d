/* libFuzzer target: lock decoder — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>

#include "repo/lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lock_info li;
    if (lock_decode(data, size, &li) != 0)
        err_clear();
    return 0;
}
