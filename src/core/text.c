/* text — see text.h. */
#define _GNU_SOURCE
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void text_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int text_unhex(const char *in, uint8_t *out, size_t n)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void text_bytes(uint64_t v, char *out, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%llu B", (unsigned long long)v);
    else
        snprintf(out, cap, "%.2f %s", d, units[u]);
}

int text_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return err_set(ERR_USAGE, "expected a number, got an empty value");
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return err_set(ERR_USAGE, "'%s' is not a whole number", s);
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10)
            return err_set(ERR_USAGE, "'%s' is too large (at most %llu)", s, (unsigned long long)max);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* One parser, two vocabularies: a retention duration counts calendar time (m is a
 * month, as restic's --keep-within reads it), an interval counts clock time (m is a
 * minute, as in systemd, HAProxy and every timeout users write). */
static int parse_units(const char *s, int64_t *seconds, int interval)
{
    int64_t total = 0;
    const char *p = s;
    if (!s || !*s)
        return err_set(ERR_USAGE, "empty duration");
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return err_set(ERR_USAGE, "bad duration '%s': expected a number at '%s'", s, p);
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > 1000000)
                return err_set(ERR_USAGE, "bad duration '%s': number too large", s);
            n = n * 10 + (*p++ - '0');
        }
        int64_t unit = 0;
        if (interval && !strncmp(p, "ms", 2))
            return err_set(ERR_USAGE, "bad duration '%s': whole seconds only (1s, 2m, 1h); no milliseconds", s);
        if (!strncmp(p, "min", 3)) {
            unit = 60;
            p += 3;
        } else {
            switch (*p) {
            case 'y': unit = interval ? 0 : 365 * 86400; break;
            case 'm': unit = interval ? 60 : 30 * 86400; break;
            case 'w': unit = 7 * 86400; break;
            case 'd': unit = 86400; break;
            case 'h': unit = 3600; break;
            case 's': unit = 1; break;
            default: break;
            }
            if (unit)
                p++;
        }
        if (!unit)
            return err_set(ERR_USAGE, "bad duration '%s': unit must be one of %s", s,
                           interval ? "w d h m (minutes) s" : "y m (30 days) w d h min s");
        total += n * unit;
    }
    *seconds = total;
    return 0;
}

int text_parse_duration(const char *s, int64_t *seconds) { return parse_units(s, seconds, 0); }

int text_parse_interval(const char *s, int64_t *seconds) { return parse_units(s, seconds, 1); }

void text_time(int64_t sec, long nsec, char *out, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)sec;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (nsec)
        snprintf(out, cap, "%s.%09ldZ", base, nsec);
    else
        snprintf(out, cap, "%sZ", base);
}

int text_parse_time(const char *s, int64_t *sec)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        rest = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!rest) {
        memset(&tm, 0, sizeof tm);
        rest = strptime(s, "%Y-%m-%d", &tm);
    }
    if (!rest)
        return err_set(ERR_USAGE, "bad time '%s': expected YYYY-MM-DDTHH:MM:SSZ", s);
    if (*rest == '.')
        for (rest++; isdigit((unsigned char)*rest); rest++)
            ;
    int64_t off = 0;
    if (*rest == 'Z') {
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        int hh, mm, used = 0;
        /* exactly "+hh:mm": a shorter form must not move past the end */
        if (sscanf(rest + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 || used != 5)
            return err_set(ERR_USAGE, "bad time '%s': zone offset must be +hh:mm", s);
        off = (hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1);
        rest += 1 + used;
    }
    if (*rest)
        return err_set(ERR_USAGE, "bad time '%s': unexpected '%s'", s, rest);
    *sec = (int64_t)timegm(&tm) - off;
    return 0;
}
