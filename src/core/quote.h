/* quote — names made safe to print: a path from a snapshot may hold newlines,
 * escape sequences or bytes that are not UTF-8. Owns UTF-8 validation and the two
 * printed forms: shell-escape quoting for a terminal, backslash escapes for a pipe. */
#ifndef LL_QUOTE_H
#define LL_QUOTE_H

#include <stddef.h>
#include <stdio.h>

/* The length (1-4) of the valid UTF-8 character at s, or 0 when the bytes there
 * are not one (overlong forms, surrogates and values above U+10FFFF included). */
size_t quote_utf8_char(const unsigned char *s);
/* Is all of s valid UTF-8? */
int quote_utf8_valid(const char *s);

typedef enum {
    /* For a terminal, as ls(1) does by default (its shell-escape style): a name
     * that needs it is put in single quotes, and control characters and bytes that
     * are not UTF-8 become $'\n' / $'\377' pieces, so the output pasted into a
     * shell names the file and nothing reaches the terminal as a control. */
    QUOTE_SHELL,
    /* For a pipe, as ls -b does, spaces left alone: \\ for a backslash, \n \t \r
     * \a \b \f \v \e, \ooo (octal) for other controls and non-UTF-8 bytes. One
     * entry stays one line and the text can be decoded back to the bytes. */
    QUOTE_ESCAPE,
    /* For messages (warnings, errors): as QUOTE_ESCAPE, but a backslash stays one,
     * since a message is read, not decoded. */
    QUOTE_MESSAGE,
} quote_style;

/* The style for f: QUOTE_SHELL on a terminal, else QUOTE_ESCAPE. */
quote_style quote_style_for(FILE *f);
/* Writes s to f in the given style. */
void quote_fput(FILE *f, const char *s, quote_style style);
/* s in the given style, into out (cut to cap - 1 bytes), for columns of a table:
 * returns out. */
const char *quote_buf(const char *s, quote_style style, char *out, size_t cap);

#endif
