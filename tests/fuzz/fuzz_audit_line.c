/* libFuzzer target: audit record line decoder — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seq;
    uint8_t prev[32], mac[32];
    size_t jl;
    int bad;
    if (audit_line_parse((const char *)data, size, &seq, prev, mac, &jl) == 0)
        (void)audit_break_first((const char *)data, jl, seq, &bad);
    return 0;
}
