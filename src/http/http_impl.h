/* http_impl — what the renderers and the server share inside src/http: a writer with a
 * sticky error (so rendering code reads as the text it writes), the escapes of HTML and
 * of Prometheus label values, and readers of JSON members that trust nothing. */
#ifndef LL_HTTP_IMPL_H
#define LL_HTTP_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../core/buf.h"
#include "../core/err.h"

typedef struct hw {
    buf *b;
    int rc; /* the first failure; once set, every write is skipped */
} hw;

void hw_puts(hw *w, const char *s);
void hw_printf(hw *w, const char *fmt, ...) PRINTF(2, 3);
/* s as HTML text or attribute value: & < > " ' escaped, control bytes dropped. */
void hw_html(hw *w, const char *s);
/* s as a Prometheus label value: backslash, double quote and newline escaped. */
void hw_label(hw *w, const char *s);
/* A sample value: integers exactly, others with 15 digits, NaN and +Inf/-Inf by name. */
void hw_number(hw *w, double v);
/* ms since the epoch as "2026-12-01 17:30 UTC" (human) or RFC 3339 (machine). */
void hw_time_human(hw *w, int64_t ms);
void hw_time_iso(hw *w, int64_t ms);

/* Members: NULL / false when missing or of another type. */
const char *hj_str(const cJSON *o, const char *key);
bool hj_num(const cJSON *o, const char *key, double *out);
/* A time in ms or an id: a whole number within +-2^53 (what a double holds exactly). */
bool hj_int(const cJSON *o, const char *key, int64_t *out);
const cJSON *hj_array(const cJSON *o, const char *key);
const cJSON *hj_object(const cJSON *o, const char *key);

#endif
