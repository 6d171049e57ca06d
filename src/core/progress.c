/* progress — see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <time.h>

#include "text.h"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(progress *p, const char *verb, int enabled)
{
    *p = (progress){.enabled = enabled, .verb = verb};
    p->start = p->last = progress_now();
}

void progress_total(progress *p, uint64_t files, uint64_t bytes)
{
    p->total_files = files;
    p->total_bytes = bytes;
}

static void fmt_secs(double s, char *out, size_t cap)
{
    long t = (long)s;
    snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

static void draw(progress *p, double now)
{
    char done[32], rate[32], el[16], eta[16] = "";
    double secs = now - p->start;
    double bps = secs > 0 ? (double)p->bytes / secs : 0;
    text_bytes(p->bytes, done, sizeof done);
    text_bytes((uint64_t)bps, rate, sizeof rate);
    fmt_secs(secs, el, sizeof el);
    if (p->total_bytes > p->bytes && bps > 0)
        fmt_secs((double)(p->total_bytes - p->bytes) / bps, eta, sizeof eta);
    if (p->total_bytes) {
        char tot[32];
        text_bytes(p->total_bytes, tot, sizeof tot);
        fprintf(stderr, "\r\033[K[%s] %s %llu/%llu files, %s/%s, %s/s%s%s", el, p->verb,
                (unsigned long long)p->files, (unsigned long long)p->total_files, done, tot, rate,
                eta[0] ? ", ETA " : "", eta);
    } else {
        fprintf(stderr, "\r\033[K[%s] %s %llu files, %s, %s/s", el, p->verb, (unsigned long long)p->files, done, rate);
    }
    fflush(stderr);
}

void progress_add(progress *p, uint64_t files, uint64_t bytes)
{
    p->files += files;
    p->bytes += bytes;
    if (!p->enabled)
        return;
    double now = progress_now();
    if (now - p->last >= 0.25) {
        p->last = now;
        draw(p, now);
    }
}

void progress_end(progress *p)
{
    if (!p->enabled)
        return;
    draw(p, progress_now());
    fprintf(stderr, "\n");
}
