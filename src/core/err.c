/* err — per-thread error record; see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_text[1024];
static _Thread_local char err_hint_text[512];
static _Thread_local int err_current;

int err_set(err_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_text, sizeof err_text, fmt, ap);
    va_end(ap);
    err_hint_text[0] = '\0';
    err_current = code;
    return code;
}

int err_sys(err_code code, const char *fmt, ...)
{
    int saved = errno;
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (saved == ENOSPC || saved == EDQUOT)
        code = ERR_NOSPACE;
    err_set(code, "%s: %s", what, strerror(saved));
    errno = saved;
    return code;
}

int err_wrap(const char *fmt, ...)
{
    char prefix[512], old[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(old, sizeof old, "%s", err_text);
    snprintf(err_text, sizeof err_text, "%s: %s", prefix, old);
    return err_current ? err_current : ERR_FATAL;
}

void err_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_hint_text, sizeof err_hint_text, fmt, ap);
    va_end(ap);
}

const char *err_msg(void) { return err_text; }
const char *err_hint_msg(void) { return err_hint_text; }
int err_last(void) { return err_current; }

void err_clear(void)
{
    err_text[0] = '\0';
    err_hint_text[0] = '\0';
    err_current = 0;
}

const char *err_code_name(int code)
{
    switch (code) {
    case ERR_OK: return "ok";
    case ERR_USAGE: return "usage";
    case ERR_PARTIAL: return "partial";
    case ERR_NOREPO: return "no-repository";
    case ERR_LOCKED: return "locked";
    case ERR_PASSWORD: return "wrong-password";
    case ERR_DAMAGED: return "damaged";
    case ERR_VERSION: return "unsupported-version";
    case ERR_CONFIG: return "config";
    case ERR_IO: return "io";
    case ERR_NOSPACE: return "no-space";
    case ERR_NOTFOUND: return "not-found";
    case ERR_RETENTION: return "retention";
    case ERR_SOURCE: return "source";
    case ERR_INCOMPLETE: return "incomplete";
    case ERR_LOCAL: return "local";
    case ERR_AUDIT: return "audit";
    case ERR_SERVICE: return "service";
    case ERR_NOAGENT: return "no agent";
    default: return "fatal";
    }
}

void err_save(err_saved *s)
{
    s->code = err_current;
    snprintf(s->msg, sizeof s->msg, "%s", err_text);
    snprintf(s->hint, sizeof s->hint, "%s", err_hint_text);
}

void err_restore(const err_saved *s)
{
    err_current = s->code;
    snprintf(err_text, sizeof err_text, "%s", s->msg);
    snprintf(err_hint_text, sizeof err_hint_text, "%s", s->hint);
}
