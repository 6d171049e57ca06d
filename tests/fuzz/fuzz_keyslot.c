/* libFuzzer target: key slot parser and unlock path — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyslot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keyslot_info info;
    master_key mk;
    uint8_t repo_id[32] = {0}, slot_id[32] = {0};
    if (keyslot_parse(data, size, &info) == 0 && info.kind == KEYSLOT_KEYFILE)
        (void)keyslot_unlock(data, size, repo_id, slot_id, "0123456789abcdef0123456789abcdef", 32, &mk);
    return 0;
}
