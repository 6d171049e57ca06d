/* quote — see quote.h. */
#include "quote.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t quote_utf8_char(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (!n || c > 0xf4 || c == 0xc0 || c == 0xc1) /* continuation byte, or overlong/out of range lead */
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xf0 && s[1] < 0x90)) /* overlong */
        return 0;
    if ((c == 0xed && s[1] >= 0xa0) || (c == 0xf4 && s[1] >= 0x90)) /* surrogates, > U+10FFFF */
        return 0;
    return n;
}

int quote_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = quote_utf8_char(p);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

quote_style quote_style_for(FILE *f) { return isatty(fileno(f)) ? QUOTE_SHELL : QUOTE_ESCAPE; }

/* Bytes that must not reach a terminal or a line-oriented reader as they are: C0
 * controls, DEL, C1 controls (U+0080-U+009F: some terminals obey them as ESC
 * sequences) and bytes that are not UTF-8. Returns the length of the character at
 * p and sets *bad when it is such a one. */
static size_t next_char(const unsigned char *p, int *bad)
{
    size_t n = quote_utf8_char(p);
    *bad = !n || p[0] < 0x20 || p[0] == 0x7f || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
    return n ? n : 1;
}

static void put_escape(FILE *f, unsigned char b)
{
    static const char from[] = "\n\t\r\a\b\f\v\033\\", to[] = "ntrabfve\\";
    const char *k = b ? memchr(from, b, sizeof from - 1) : NULL;
    if (k)
        fprintf(f, "\\%c", to[k - from]);
    else
        fprintf(f, "\\%03o", b);
}

static void put_escaped(FILE *f, const unsigned char *p, int backslash)
{
    while (*p) {
        int bad;
        size_t n = next_char(p, &bad);
        if (bad || (backslash && *p == '\\'))
            for (size_t i = 0; i < n; i++)
                put_escape(f, p[i]);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

/* Characters a shell would read as something else than a name. */
static int shell_special(unsigned char c) { return c && strchr(" \t!\"#$&'()*;<>?[\\]^`{|}~", c) != NULL; }

static void put_shell(FILE *f, const unsigned char *p)
{
    int needs = 0, bad;
    for (const unsigned char *q = p; *q;) {
        size_t n = next_char(q, &bad);
        needs |= bad || shell_special(*q);
        q += n;
    }
    if (!needs) {
        fputs((const char *)p, f);
        return;
    }
    enum { NONE, PLAIN, DOLLAR } open = NONE; /* inside '...' or $'...' */
    while (*p) {
        size_t n = next_char(p, &bad);
        if (bad) {
            if (open != DOLLAR)
                fputs(open == PLAIN ? "'$'" : "$'", f);
            open = DOLLAR;
            for (size_t i = 0; i < n; i++)
                put_escape(f, p[i]);
        } else if (*p == '\'') {
            fputs(open ? "'\\'" : "\\'", f); /* close, an escaped quote, reopen later */
            open = NONE;
        } else {
            if (open != PLAIN)
                fputs(open ? "''" : "'", f);
            open = PLAIN;
            fwrite(p, 1, n, f);
        }
        p += n;
    }
    if (open)
        fputc('\'', f);
}

void quote_fput(FILE *f, const char *s, quote_style style)
{
    if (style == QUOTE_SHELL)
        put_shell(f, (const unsigned char *)s);
    else
        put_escaped(f, (const unsigned char *)s, style == QUOTE_ESCAPE);
}

const char *quote_buf(const char *s, quote_style style, char *out, size_t cap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        quote_fput(f, s, style);
        fclose(f);
    }
    snprintf(out, cap, "%s", text ? text : "?");
    free(text);
    return out;
}
