/* http_text — the writer, escapes and JSON readers of http_impl.h. */
#include "http_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void hw_puts(hw *w, const char *s)
{
    if (!w->rc)
        w->rc = buf_append(w->b, s, strlen(s));
}

void hw_printf(hw *w, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (w->rc)
        return;
    if (n < 0) {
        w->rc = err_set(ERR_FATAL, "formatting a response failed");
        return;
    }
    /* every format here is short (numbers, fixed words): a longer one is a bug */
    if ((size_t)n >= sizeof small) {
        w->rc = err_set(ERR_FATAL, "a formatted piece of a response is too long (%d bytes)", n);
        return;
    }
    w->rc = buf_append(w->b, small, (size_t)n);
}

/* Appends s[from, to) if not empty. */
static void hw_span(hw *w, const char *from, const char *to)
{
    if (!w->rc && to > from)
        w->rc = buf_append(w->b, from, (size_t)(to - from));
}

void hw_html(hw *w, const char *s)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            /* C0 controls (but tab and newline) and DEL are parse errors in HTML */
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                rep = "";
        }
        if (rep) {
            hw_span(w, run, p);
            hw_puts(w, rep);
            run = p + 1;
        }
    }
    hw_span(w, run, s + strlen(s));
}

void hw_label(hw *w, const char *s)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        if (rep) {
            hw_span(w, run, p);
            hw_puts(w, rep);
            run = p + 1;
        }
    }
    hw_span(w, run, s + strlen(s));
}

void hw_number(hw *w, double v)
{
    if (isnan(v))
        hw_puts(w, "NaN");
    else if (isinf(v))
        hw_puts(w, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        hw_printf(w, "%lld", (long long)v);
    else
        hw_printf(w, "%.15g", v);
}

/* ms to broken-down UTC time; false when out of what gmtime can say. */
static bool utc_of(int64_t ms, struct tm *tm)
{
    time_t sec = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
    return gmtime_r(&sec, tm) != NULL;
}

void hw_time_human(hw *w, int64_t ms)
{
    struct tm tm;
    char s[64];
    if (!utc_of(ms, &tm) || strftime(s, sizeof s, "%Y-%m-%d %H:%M UTC", &tm) == 0)
        hw_puts(w, "?");
    else
        hw_puts(w, s);
}

void hw_time_iso(hw *w, int64_t ms)
{
    struct tm tm;
    char s[64];
    if (!utc_of(ms, &tm) || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        hw_puts(w, "?");
    else
        hw_puts(w, s);
}

const char *hj_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

bool hj_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

bool hj_int(const cJSON *o, const char *key, int64_t *out)
{
    double d;
    /* beyond 2^53 a double is no longer a whole number we could convert safely */
    if (!hj_num(o, key, &d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return false;
    *out = (int64_t)d;
    return true;
}

const cJSON *hj_array(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsArray(v) ? v : NULL;
}

const cJSON *hj_object(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsObject(v) ? v : NULL;
}
