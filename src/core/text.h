/* text — small conversions between values and their text forms: hex ids,
 * human byte counts, durations ("7y", "30d12h") and RFC 3339 timestamps. */
#ifndef LL_TEXT_H
#define LL_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

void text_hex(const uint8_t *in, size_t n, char *out); /* out holds 2n+1 */
/* Decodes exactly 2n hex digits; returns 0 or -1 on any bad input. */
int text_unhex(const char *in, uint8_t *out, size_t n);
/* "1.5 MiB" */
void text_bytes(uint64_t v, char *out, size_t cap);
/* Retention durations in seconds: units y (365d), m (30d), w, d, h, min, s; "1y6m"
 * is allowed. */
int text_parse_duration(const char *s, int64_t *seconds) WUR;
/* Intervals and timeouts in seconds: units w, d, h, m (minutes), min, s; "1h30m". */
int text_parse_interval(const char *s, int64_t *seconds) WUR;
/* Parses a non-negative decimal integer with range check; no atoi. */
int text_parse_u64(const char *s, uint64_t max, uint64_t *out) WUR;
/* Seconds + nanoseconds to "2026-11-26T06:30:09.123456789Z" (UTC). */
void text_time(int64_t sec, long nsec, char *out, size_t cap);
/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm)" or "YYYY-MM-DD HH:MM:SS" (UTC). */
int text_parse_time(const char *s, int64_t *sec) WUR;

#endif
