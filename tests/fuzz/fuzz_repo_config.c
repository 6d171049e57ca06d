/* libFuzzer target: repository config decoder — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"
int repo_config_parse(const uint8_t *text, size_t len, uint8_t id[32], repo_options *o);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t id[32];
    repo_options o;
    (void)repo_config_parse(data, size, id, &o);
    return 0;
}
