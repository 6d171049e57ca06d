/* check — verifies a repository: key slots, index files, pack headers against the
 * index, every snapshot's trees and the presence of every blob they need; with
 * read_data, every blob is decrypted, authenticated and its id recomputed. Each
 * damaged object is named together with the snapshots and files it affects. */
#ifndef LL_CHECK_H
#define LL_CHECK_H

#include "repo.h"

typedef struct check_opts {
    int read_data;
    uint32_t subset_n, subset_m; /* read packs whose number % m == n-1; m = 0: all */
    int progress;
} check_opts;

typedef struct check_result {
    uint64_t snapshots, trees, packs, packs_read, blobs_read, bytes_read;
    uint64_t errors, warnings;
    uint64_t temps, temp_bytes; /* partial files (*.tmp) of unfinished writes */
    uint64_t unreadable; /* files that exist but could not be read: errors, not damage */
} check_result;

/* severity: "error" or "warning"; object: what is damaged ("pack data/ab/..."). */
typedef void (*check_report_fn)(const char *severity, const char *object, const char *problem, void *ctx);

int check_run(repo *r, const check_opts *o, check_report_fn fn, void *ctx, check_result *res) WUR;

#endif
