/* libFuzzer target: what the agent reads from the network in headers it parses itself
 * — a registry's Link header (pagination) and a webhook receiver's Retry-After — must
 * never crash or read out of bounds on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify_impl.h"
#include "probe/probe_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), out[512];
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (probe_registry_next_link(text, "http://127.0.0.1:5000", out, sizeof out) != 0)
        err_clear();
    int64_t delay;
    if (notify_parse_retry_after(text, 1764600000000, &delay) != 0)
        err_clear();
    free(text);
    return 0;
}
