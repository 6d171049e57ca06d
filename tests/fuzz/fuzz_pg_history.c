/* libFuzzer target: a timeline .history file as read from the WAL archive, and a
 * pg_waldump output line matched against each kind of recovery target. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/pgtimeline.h"
#include "source/pgwalscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    pgtl_path p;
    if (pgtl_parse_history(s, size, 1000, &p) == 0) {
        if (p.n < 1 || p.n > PGTL_MAX || p.s[p.n - 1].tli != 1000)
            abort();
        for (size_t i = 1; i < p.n; i++)
            if (p.s[i].tli <= p.s[i - 1].tli || p.s[i].begin < p.s[i - 1].begin)
                abort();
        (void)pgtl_seg_tli(&p, 5, 16u << 20);
        (void)pgtl_contains(&p, 1, 0x3000000);
    }
    err_clear();
    pg_target t = {.kind = PG_TARGET_XID, .time = 1796131351};
    snprintf(t.text, sizeof t.text, "735");
    for (t.kind = PG_TARGET_TIME; t.kind <= PG_TARGET_NAME; t.kind++) {
        pgws_result r;
        memset(&r, 0, sizeof r);
        if (pgws_line_match(s, &t, 0, &r) && r.end_lsn < r.lsn)
            abort();
    }
    free(s);
    return 0;
}
