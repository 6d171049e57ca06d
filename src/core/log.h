/* log — leveled messages to stderr in one grammar (lowercase, what, where, why).
 * LOG_* macros test the level before evaluating their arguments. */
#ifndef LL_LOG_H
#define LL_LOG_H

#include "err.h"

enum { LOG_QUIET = 0, LOG_NORMAL = 1, LOG_VERBOSE = 2, LOG_DEBUG = 3 };

extern int log_level;
/* Nonzero: each line starts with the UTC time to the millisecond (a daemon's log
 * written to a file; journald and terminals have their own). */
extern int log_stamp;

void log_write(const char *prefix, const char *fmt, ...) PRINTF(2, 3);
/* prefix + text + newline on stderr, control characters in text escaped. */
void log_line(const char *prefix, const char *text);

#define LOG_WARN(...) do { if (log_level >= LOG_QUIET) log_write("warning: ", __VA_ARGS__); } while (0)
#define LOG_INFO(...) do { if (log_level >= LOG_NORMAL) log_write("", __VA_ARGS__); } while (0)
#define LOG_VERBOSE(...) do { if (log_level >= LOG_VERBOSE) log_write("", __VA_ARGS__); } while (0)
#define LOG_DEBUG(...) do { if (log_level >= LOG_DEBUG) log_write("debug: ", __VA_ARGS__); } while (0)

/* Prints the current error record (and hint) as "lifeline: error: ..." */
void log_error_record(void);

#endif
