/* libFuzzer target: a PostgreSQL backup's meta record as read from a snapshot. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    pg_meta m;
    if (pg_meta_parse(s, &m) == 0) {
        uint64_t first, last;
        pg_meta_wal_range(&m, &first, &last);
        if (last < first || m.nts < 0 || m.nts > PG_MAX_TABLESPACES)
            abort();
        for (int i = 0; i < m.nts; i++)
            if (m.ts[i].location[0] != '/' || !m.ts[i].oid)
                abort();
    }
    free(s);
    return 0;
}
