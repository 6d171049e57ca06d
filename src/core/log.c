/* log — see log.h. Writes whole lines so concurrent threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

int log_level = LOG_NORMAL;

void log_write(const char *prefix, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (void)n;
    fprintf(stderr, "%s%s\n", prefix, line);
}

void log_error_record(void)
{
    fprintf(stderr, "lifeline: error: %s\n", err_msg()[0] ? err_msg() : "unknown failure");
    if (err_hint_msg()[0])
        fprintf(stderr, "hint: %s\n", err_hint_msg());
}
