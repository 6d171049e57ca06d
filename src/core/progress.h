/* progress — a one-line status on a terminal (files, bytes, rate, ETA), redrawn at
 * most four times a second; silent when stderr is not a TTY or output is JSON. */
#ifndef LL_PROGRESS_H
#define LL_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int enabled;
    const char *verb;
    double start, last;
    uint64_t files, bytes, total_files, total_bytes;
} progress;

void progress_start(progress *p, const char *verb, int enabled);
void progress_total(progress *p, uint64_t files, uint64_t bytes);
void progress_add(progress *p, uint64_t files, uint64_t bytes);
void progress_end(progress *p);
double progress_now(void);

#endif
