/* pgstandby — the connection a restored standby uses to reach its primary (see
 * pgstandby.h): parsed by libpq itself, so what is checked is what the server will
 * read; rewritten as key=value text so an application_name can be set whatever the
 * form given (a URI cannot simply be extended with " application_name=..."). */
#define _GNU_SOURCE
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "pgstandby.h"

/* libpq's message may quote the text it could not read; a conninfo that may hold a
 * password (a file's) must not reach stderr, so the detail is left out then. */
static int parse(const char *conninfo, PQconninfoOption **opts)
{
    char *msg = NULL;
    *opts = PQconninfoParse(conninfo, &msg);
    if (*opts)
        return 0;
    int secret = strcasestr(conninfo, "password") || strchr(conninfo, '@');
    size_t l = msg ? strlen(msg) : 0;
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
        l--;
    if (msg && l && !secret)
        err_set(ERR_USAGE, "primary conninfo: %.*s", (int)l, msg);
    else
        err_set(ERR_USAGE, "primary conninfo: libpq cannot read it (key=value settings or a postgresql:// URI)");
    PQfreemem(msg);
    return ERR_USAGE;
}

static const char *opt_value(const PQconninfoOption *o, const char *key)
{
    for (; o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val;
    return NULL;
}

int pgstandby_check_argv(const char *conninfo)
{
    PQconninfoOption *o;
    int rc = parse(conninfo, &o);
    if (rc)
        return rc;
    const char *pw = opt_value(o, "password");
    if (pw && pw[0]) {
        rc = err_set(ERR_USAGE, "--primary-conninfo holds a password: a command line is visible to every user of "
                                "this host (ps), so it is refused");
        err_hint("put the password in a PGPASSFILE (passfile=/path in the conninfo, or ~/.pgpass of the server's "
                 "user), or give the whole conninfo with --primary-conninfo-file FILE (mode 0600)");
    }
    PQconninfoFree(o);
    return rc;
}

int pgstandby_check_app(const char *app)
{
    size_t l = strlen(app);
    if (!l || l > 63)
        return err_set(ERR_USAGE, "application name '%s': 1 to 63 bytes (PostgreSQL cuts longer names)", app);
    for (const char *p = app; *p; p++)
        if (*p < 32 || *p > 126)
            return err_set(ERR_USAGE, "application name: printable ASCII only (PostgreSQL replaces other bytes "
                                      "with '?', and synchronous_standby_names would no longer match)");
    return 0;
}

/* key=value, the value quoted when libpq needs it (empty, blanks, quotes, backslashes). */
static int append_setting(buf *b, const char *key, const char *v)
{
    int rc = b->len ? buf_append_u8(b, ' ') : 0;
    int quote = !v[0] || strpbrk(v, " \t\n\r\f\v'\\") != NULL;
    if (!rc)
        rc = buf_append(b, key, strlen(key));
    if (!rc)
        rc = buf_append(b, quote ? "='" : "=", quote ? 2 : 1);
    for (const char *p = v; !rc && *p; p++) {
        if (*p == '\'' || *p == '\\')
            rc = buf_append_u8(b, '\\');
        if (!rc)
            rc = buf_append_u8(b, (uint8_t)*p);
    }
    if (!rc && quote)
        rc = buf_append_u8(b, '\'');
    return rc;
}

int pgstandby_conninfo(const char *conninfo, const char *app, buf *out, char *app_used, size_t cap)
{
    PQconninfoOption *opts;
    int rc = parse(conninfo, &opts);
    if (rc)
        return rc;
    const char *given = opt_value(opts, "application_name");
    if (given && !given[0])
        given = NULL;
    if (app && given && strcmp(app, given))
        rc = err_set(ERR_USAGE, "the primary conninfo sets application_name=%s and --application-name says %s: give one",
                     given, app);
    const char *name = app ? app : given ? given : PGSTANDBY_DEFAULT_APP;
    if (!rc)
        rc = pgstandby_check_app(name);
    for (const PQconninfoOption *o = opts; !rc && o->keyword; o++)
        if (o->val && strcmp(o->keyword, "application_name"))
            rc = append_setting(out, o->keyword, o->val);
    if (!rc)
        rc = append_setting(out, "application_name", name);
    if (!rc)
        rc = buf_append_u8(out, 0);
    if (!rc) {
        out->len--; /* the NUL stays after the text */
        if (app_used)
            snprintf(app_used, cap, "%s", name);
    }
    const char *pw = opt_value(opts, "password");
    if (pw)
        memset((char *)pw, 0, strlen(pw));
    PQconninfoFree(opts);
    return rc;
}
