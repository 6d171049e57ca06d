/* libFuzzer target: what a Redis server says outside the RDB — PSYNC's FULLRESYNC line,
 * the transfer header, INFO text. Each line of the input goes to the line decoders,
 * the whole input to the INFO ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/redis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char field[64];
    uint64_t keys[16];
    memset(keys, 0, sizeof keys);
    redis_info_field(text, "redis_version", field, sizeof field);
    redis_info_keyspace(text, keys, 16);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char id[48], mark[REDIS_EOF_MARK];
        int64_t off;
        uint64_t len;
        int eof;
        if (redis_parse_fullresync(line, id, &off) == 0 && (off < 0 || strlen(id) > 47))
            abort();
        (void)redis_parse_transfer_header(line, &len, mark, &eof);
    }
    free(text);
    return 0;
}
