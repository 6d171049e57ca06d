/* pattern — include/exclude patterns with restic's rules, the one matcher behind
 * backup --exclude and restore --include/--exclude. Owns compiling a list of
 * patterns, matching '/'-separated paths against it, and counting what matched. */
#ifndef LL_PATTERN_H
#define LL_PATTERN_H

#include <stddef.h>

#include "err.h"

/* The rules (README "Patterns"):
 *   - a pattern is split at '/' into parts; each part matches one whole path
 *     component: '*' and '?' never match '/', '[...]' is a class, '\' escapes;
 *   - a part that is exactly "**" matches any number of components, none included;
 *   - a leading '/' anchors the pattern at the root; without it the pattern may
 *     match at any depth ("foo" matches /a/foo and /foo/b; "src/a?.log" matches
 *     /p/src/ab.log but not /p/src/sub/ab.log);
 *   - a pattern that matches a folder matches everything below it;
 *   - the pattern is cleaned first: a trailing '/', "//" and "." go, ".." is resolved;
 *   - a leading '!' negates: a path matched by an earlier pattern of the same list
 *     and by this one is not matched (the last word wins, as in restic). */
typedef struct pattern_list pattern_list;

/* Compiles patterns. An empty or malformed pattern (an unclosed '[', a trailing
 * '\') is ERR_USAGE naming `what` ("--exclude", a string that outlives the list)
 * and the pattern. n == 0 gives *out = NULL, which matches nothing. */
int pattern_list_new(char *const *patterns, size_t n, const char *what, pattern_list **out) WUR;
void pattern_list_free(pattern_list **l);
/* Does the path match the list? Counts the patterns that matched it (so not
 * thread-safe; every caller matches on one thread). NULL matches nothing. */
int pattern_list_match(pattern_list *l, const char *path);
/* A warning for each pattern (not '!') that has matched nothing so far, naming
 * `where` ("in snapshot 1a2b3c4d"); returns how many there were. */
size_t pattern_list_warn_unmatched(const pattern_list *l, const char *where);

/* The i-th pattern (not '!') that has matched nothing so far, or NULL after the last. */
const char *pattern_list_unmatched(const pattern_list *l, size_t i);

/* One pattern against one path: 1, 0, or -1 (ERR_USAGE set) for a bad pattern. */
int pattern_match(const char *pattern, const char *path);

#endif
