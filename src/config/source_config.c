/* source_config — see source_config.h. The key lists are the contract of each type:
 * a key added here is a key the documentation names. */
#define _GNU_SOURCE
#include "source_config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "../core/text.h"
#include "../source/wal.h"

/* Each type's keys, and the field of its options a key's value goes to (NO_FIELD:
 * read otherwise, or only by the type dispatch). */
#define NO_FIELD SIZE_MAX
typedef struct key_field {
    const char *key;
    size_t off;
} key_field;

#define PG(f) offsetof(source_config_pg, f)
static const key_field pg_fields[] = {
    {"type", NO_FIELD},          {"conninfo", PG(conninfo)},       {"class", PG(class_name)},
    {"wal-timeout", NO_FIELD},   {"pg-dump", PG(pg_dump)},         {"archive-source", PG(archive_source)},
    {"primary-conninfo", PG(primary_conninfo)}, {"bin-dir", PG(bin_dir)}, {NULL, 0}};
#define RD(f) offsetof(source_config_redis, f)
static const key_field redis_fields[] = {
    {"type", NO_FIELD},           {"address", RD(address)},           {"user", RD(user)},
    {"password-file", RD(password_file)}, {"data-dir", RD(data_dir)}, {"stop-command", RD(stop_cmd)},
    {"start-command", RD(start_cmd)}, {"class", RD(class_name)},      {"timeout", NO_FIELD}, {NULL, 0}};

static const char *file_of(const config *c) { return c ? c->file : "(no configuration file)"; }

/* The section, or ERR_CONFIG when the file has none of that name. */
static int find(const config *c, const char *name, const config_source **out)
{
    *out = config_source_find(c, name);
    return *out ? 0 : err_set(ERR_CONFIG, "no source '%s' in %s", name, file_of(c));
}

/* A typo in a source's section is an error naming the key, never silently ignored;
 * the value of each known key goes to its field of out. */
static int read_keys(const config *c, const config_source *s, const char *type, const key_field *known, void *out)
{
    for (size_t i = 0; i < s->nkv; i++) {
        int ok = 0;
        for (size_t k = 0; known[k].key; k++)
            ok |= !strcmp(s->kv[i].key, known[k].key);
        if (!ok)
            return err_set(ERR_CONFIG, "source '%s' in %s: unknown key '%s' for type %s", s->name, file_of(c),
                           s->kv[i].key, type);
    }
    for (size_t k = 0; known[k].key; k++)
        if (known[k].off != NO_FIELD)
            *(const char **)(void *)((char *)out + known[k].off) = config_source_get(s, known[k].key);
    return 0;
}

/* A duration key between 1 s and 24 h; def when absent. */
static int duration_key(const config *c, const config_source *s, const char *key, int def, int *out)
{
    const char *v = config_source_get(s, key);
    int64_t secs = def;
    if (v && (text_parse_interval(v, &secs) || secs < 1 || secs > 86400)) {
        err_clear();
        return err_set(ERR_CONFIG, "source '%s' in %s: %s '%s' is not a duration between 1s and 24h", s->name,
                       file_of(c), key, v);
    }
    *out = (int)secs;
    return 0;
}

int source_config_type(const config *c, const char *name, const char **type)
{
    const config_source *s;
    int rc = find(c, name, &s);
    if (rc)
        return rc;
    *type = config_source_get(s, "type");
    if (!*type || (strcmp(*type, "postgres") && strcmp(*type, "pg_dump") && strcmp(*type, "redis")))
        return err_set(ERR_CONFIG, "source '%s' in %s: type must be postgres, pg_dump or redis (is %s)", name,
                       file_of(c), *type ? *type : "not set");
    return 0;
}

/* A connection string of the source: passwords belong in a password file. libpq's
 * own parser reads it, so the URI form (postgresql://u:secret@h/db) is caught too and
 * a database named password_reset is not mistaken for one. */
static int conninfo_check(const config *c, const char *name, const char *key, const char *ci)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(ci, &why);
    int has_password = 0;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val)
            has_password = 1;
    PQconninfoFree(opts);
    if (!opts) {
        if (why) /* libpq's message ends in a newline: one line here */
            why[strcspn(why, "\n")] = '\0';
        err_set(ERR_CONFIG, "source '%s' in %s: %s is not a libpq connection string: %s", name, file_of(c), key,
                why ? why : "out of memory");
        PQfreemem(why);
        return ERR_CONFIG;
    }
    if (!has_password)
        return 0;
    err_set(ERR_CONFIG, "source '%s' in %s: %s must not hold a password", name, file_of(c), key);
    err_hint("put it in a password file (PGPASSFILE or ~/.pgpass of the user lifeline runs as)");
    return ERR_CONFIG;
}

int source_config_pg_get(const config *c, const char *name, source_config_pg *out)
{
    const config_source *s;
    memset(out, 0, sizeof *out);
    int rc = find(c, name, &s);
    const char *type = rc ? NULL : config_source_get(s, "type");
    if (!rc)
        rc = read_keys(c, s, type ? type : "not set", pg_fields, out);
    if (rc)
        return rc;
    out->section = s;
    if (!out->conninfo)
        return err_set(ERR_CONFIG, "source '%s' in %s: conninfo is missing", name, file_of(c));
    if ((rc = conninfo_check(c, name, "conninfo", out->conninfo)) ||
        (out->primary_conninfo && (rc = conninfo_check(c, name, "primary-conninfo", out->primary_conninfo))))
        return rc;
    if (out->archive_source && !wal_source_valid(out->archive_source))
        return err_set(ERR_CONFIG, "source '%s' in %s: archive-source '%s' is not a source name", name, file_of(c),
                       out->archive_source);
    out->is_dump = type && !strcmp(type, "pg_dump");
    return 0;
}

int source_config_pg_wal_timeout(const config *c, const source_config_pg *pg, int *secs)
{
    return duration_key(c, pg->section, "wal-timeout", 60, secs);
}

int source_config_redis_get(const config *c, const char *name, source_config_redis *out)
{
    const config_source *s;
    memset(out, 0, sizeof *out);
    int rc = find(c, name, &s);
    if (!rc)
        rc = read_keys(c, s, "redis", redis_fields, out);
    if (rc)
        return rc;
    out->section = s;
    if (!out->address)
        return err_set(ERR_CONFIG, "source '%s' in %s: address is missing (host:port or unix:/path)", name,
                       file_of(c));
    if ((rc = duration_key(c, s, "timeout", 60, &out->timeout)))
        return rc;
    if (out->user && !out->password_file)
        return err_set(ERR_CONFIG, "source '%s' in %s: user %s needs a password-file", name, file_of(c), out->user);
    return 0;
}
