/* log — see log.h. Writes whole lines so concurrent threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "quote.h"

int log_level = LOG_NORMAL;
int log_stamp = 0;

void log_write(const char *prefix, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (void)n;
    log_line(prefix, line);
}

void log_line(const char *prefix, const char *text)
{
    /* a message may carry a name from a snapshot: a newline in it must not forge a
     * line, an escape sequence must not reach the terminal (quote.h) */
    flockfile(stderr);
    if (log_stamp) {
        struct timespec ts;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ ", when, ts.tv_nsec / 1000000);
    }
    fputs(prefix, stderr);
    quote_fput(stderr, text, QUOTE_MESSAGE);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void log_error_record(void)
{
    log_line("lifeline: error: ", err_msg()[0] ? err_msg() : "unknown failure");
    if (err_hint_msg()[0])
        log_line("hint: ", err_hint_msg());
}
