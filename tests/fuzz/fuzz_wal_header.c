/* libFuzzer target: the long page header of a WAL segment as wal-push and
 * check --read-data read it. Input: a 24-byte name, a flag byte (0: the real
 * length; else the header's own segment size as the length, so the accepting
 * path is reached without 16 MiB inputs: the decoder reads only the header), then
 * the segment's first bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "source/wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[33];
    if (size < 25)
        return 0;
    memcpy(name, data, 24);
    name[24] = '\0';
    if (memchr(name, '\0', 24))
        return 0;
    const uint8_t *p = data + 25;
    size_t len = size - 25;
    uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes: ASan sees any read past them */
    if (!copy)
        return 0;
    memcpy(copy, p, len);
    size_t claimed = len;
    if (data[24] && len >= WAL_HEADER_SIZE)
        claimed = (size_t)copy[32] | (size_t)copy[33] << 8 | (size_t)copy[34] << 16 | (size_t)copy[35] << 24;
    wal_header h;
    const char *why = NULL;
    if (wal_header_check(name, copy, claimed, &h, &why) == 0) {
        if (h.seg_size != claimed || !wal_segsize_valid(h.seg_size) || h.pageaddr % h.seg_size || !h.sysid)
            abort();
    } else if (!why) {
        abort();
    }
    err_clear();
    free(copy);
    return 0;
}
