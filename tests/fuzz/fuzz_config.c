/* libFuzzer target: INI configuration parser — must never crash, leak or read out of bounds on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    config *c = NULL;
    if (config_parse_string(text, "fuzz.conf", &c) == 0)
        config_free(&c);
    free(text);
    return 0;
}
