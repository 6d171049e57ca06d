/* log — see log.h. Writes whole lines so concurrent threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "quote.h"

int log_level = LOG_NORMAL;

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
