/* config — see config.h. Parsing is libinih's; this file gives the sections meaning. */
#define _GNU_SOURCE
#include "config.h"

#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/text.h"

typedef struct parse_ctx {
    config *c;
    const char *name;
    int line;
    int failed;
    char msg[512];
} parse_ctx;

/* Splits `retention "financial"` into kind and name. */
static int split_section(const char *section, char *kind, size_t kcap, char *name, size_t ncap)
{
    const char *q = strchr(section, '"');
    if (!q) {
        snprintf(kind, kcap, "%s", section);
        name[0] = '\0';
        return 0;
    }
    size_t kl = (size_t)(q - section);
    while (kl && section[kl - 1] == ' ')
        kl--;
    const char *end = strrchr(q + 1, '"');
    if (!end || end[1] != '\0' || end == q + 1)
        return -1;
    snprintf(kind, kcap, "%.*s", (int)kl, section);
    snprintf(name, ncap, "%.*s", (int)(end - q - 1), q + 1);
    return 0;
}

static int fail(parse_ctx *p, int line, const char *fmt, ...) PRINTF(3, 4);
static int fail(parse_ctx *p, int line, const char *fmt, ...)
{
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (!p->failed)
        snprintf(p->msg, sizeof p->msg, "%s:%d: %s", p->name, line, m);
    p->failed = 1;
    return 0;
}

static int set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
    return *dst != NULL;
}

static config_class *class_get(config *c, const char *name)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (!strcmp(c->classes[i].name, name))
            return &c->classes[i];
    config_class *p = realloc(c->classes, (c->nclasses + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->classes = p;
    memset(&p[c->nclasses], 0, sizeof *p);
    snprintf(p[c->nclasses].name, sizeof p->name, "%s", name);
    return &p[c->nclasses++];
}

static int count_value(parse_ctx *p, int line, const char *key, const char *v, int *out)
{
    uint64_t n;
    if (text_parse_u64(v, 1000000, &n) != 0)
        return fail(p, line, "%s: '%s' is not a whole number", key, v);
    *out = (int)n;
    return 1;
}

static int retention_key(parse_ctx *p, int line, config_class *cl, const char *key, const char *v)
{
    retention_policy *rp = &cl->policy;
    if (!strcmp(key, "keep-last"))
        return count_value(p, line, key, v, &rp->keep_last);
    if (!strcmp(key, "keep-hourly"))
        return count_value(p, line, key, v, &rp->keep_hourly);
    if (!strcmp(key, "keep-daily"))
        return count_value(p, line, key, v, &rp->keep_daily);
    if (!strcmp(key, "keep-weekly"))
        return count_value(p, line, key, v, &rp->keep_weekly);
    if (!strcmp(key, "keep-monthly"))
        return count_value(p, line, key, v, &rp->keep_monthly);
    if (!strcmp(key, "keep-yearly"))
        return count_value(p, line, key, v, &rp->keep_yearly);
    if (!strcmp(key, "keep-within") || !strcmp(key, "lock")) {
        int64_t *dst = !strcmp(key, "lock") ? &cl->lock : &rp->keep_within;
        if (text_parse_duration(v, dst) != 0)
            return fail(p, line, "%s: %s", key, err_msg());
        return 1;
    }
    static const char *const within[RETENTION_PERIODS] = {"keep-within-hourly", "keep-within-daily",
                                                           "keep-within-weekly", "keep-within-monthly",
                                                           "keep-within-yearly"};
    for (int k = 0; k < RETENTION_PERIODS; k++)
        if (!strcmp(key, within[k])) {
            if (text_parse_duration(v, &rp->keep_within_period[k]) != 0)
                return fail(p, line, "%s: %s", key, err_msg());
            return 1;
        }
    if (!strcmp(key, "keep-tag")) {
        char **t = realloc(rp->keep_tags, (rp->ntags + 1) * sizeof *t);
        if (!t || !(t[rp->ntags] = strdup(v)))
            return fail(p, line, "%s: out of memory", key);
        rp->keep_tags = t;
        rp->ntags++;
        return 1;
    }
    return fail(p, line, "unknown key '%s' in a retention section", key);
}

static int source_key(parse_ctx *p, int line, const char *kind, const char *name, const char *key,
                      const char *v)
{
    (void)kind;
    config *c = p->c;
    config_source *s = NULL;
    for (size_t i = 0; i < c->nsources; i++)
        if (!strcmp(c->sources[i].name, name))
            s = &c->sources[i];
    if (!s) {
        config_source *n = realloc(c->sources, (c->nsources + 1) * sizeof *n);
        if (!n)
            return fail(p, line, "out of memory");
        c->sources = n;
        s = &n[c->nsources++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    config_kv *kv = realloc(s->kv, (s->nkv + 1) * sizeof *kv);
    if (!kv)
        return fail(p, line, "out of memory");
    s->kv = kv;
    kv[s->nkv].key = strdup(key);
    kv[s->nkv].value = strdup(v);
    s->nkv++;
    return 1;
}

/* Reads lines for inih while counting them, so errors can name the line. */
typedef struct line_reader {
    FILE *f;
    const char *s;
    parse_ctx *p;
} line_reader;

/* What inih (Debian's build) would silently change, refused with the line instead:
 * a line cut at its buffer's length, an indented line (read as the continuation of
 * the key above, whose value it replaces), and " ;" in a value (an inline comment
 * there: "stop-command = a ; b" would run only a). 1: the line is fine. */
static int line_checked(parse_ctx *p, const char *l, int cap)
{
    size_t n = strlen(l);
    const char *t = l + strspn(l, " \t");
    if (n == (size_t)cap - 1 && l[n - 1] != '\n')
        return fail(p, p->line, "line longer than %d bytes: the configuration reader cannot take it", cap - 2);
    if (t > l && *t && *t != '\n' && *t != '\r' && *t != '#' && *t != ';')
        return fail(p, p->line, "line starts with a space: continuation lines are not supported (write the value on "
                                "one line, or put a long command in a script)");
    if (*t != '#' && *t != ';' && *t != '[' && (strstr(t, " ;") || strstr(t, "\t;")))
        return fail(p, p->line, "' ;' in a value starts a comment in this file format (put the commands in a "
                                "script, or write ';' without a space before it)");
    return 1;
}

static char *read_line(char *out, int cap, void *stream)
{
    line_reader *lr = stream;
    if (lr->f) {
        if (!fgets(out, cap, lr->f))
            return NULL;
    } else {
        if (!*lr->s)
            return NULL;
        int i = 0;
        while (i < cap - 1 && *lr->s) {
            char ch = *lr->s++;
            out[i++] = ch;
            if (ch == '\n')
                break;
        }
        out[i] = '\0';
    }
    lr->p->line++;
    return line_checked(lr->p, out, cap) ? out : NULL;
}

/* [repository]: each key and where its value goes. */
static const struct {
    const char *key;
    size_t off;
} repository_keys[] = {
    {"path", offsetof(config, repo_path)},
    {"password-file", offsetof(config, password_file)},
    {"key-file", offsetof(config, key_file)},
};

static int repository_key(parse_ctx *p, int line, const char *kind, const char *name, const char *key,
                          const char *v)
{
    (void)kind;
    (void)name;
    for (size_t i = 0; i < sizeof repository_keys / sizeof *repository_keys; i++)
        if (!strcmp(key, repository_keys[i].key)) {
            char **dst = (char **)((char *)p->c + repository_keys[i].off);
            return set_str(dst, v) ? 1 : fail(p, line, "out of memory");
        }
    return fail(p, line, "unknown key '%s' in [repository]", key);
}

static int retention_section_key(parse_ctx *p, int line, const char *kind, const char *name, const char *key,
                                 const char *v)
{
    (void)kind;
    config_class *cl = class_get(p->c, name);
    return cl ? retention_key(p, line, cl, key, v) : fail(p, line, "out of memory");
}

/* [watch], [objectives], [service "NAME"], [notify "NAME"]: watch_config gives the keys meaning. */
static int watch_section_key(parse_ctx *p, int line, const char *kind, const char *name, const char *key,
                             const char *v)
{
    char why[400];
    if (watch_config_key(p->c, kind, line, name, key, v, why, sizeof why) != 0)
        return fail(p, line, "%s", why);
    return 1;
}

/* [coordination], [postgres "GROUP"], [member "NAME"]: ha_config gives the keys meaning. */
static int ha_section_key(parse_ctx *p, int line, const char *kind, const char *name, const char *key,
                          const char *v)
{
    char why[400];
    if (ha_config_key(p->c, kind, line, name, key, v, why, sizeof why) != 0)
        return fail(p, line, "%s", why);
    return 1;
}

/* Every section kind the file may hold: its name, whether it takes a "NAME", and the
 * function that gives its keys meaning (and rejects unknown ones, naming the line).
 * A new kind is one more row. */
typedef int (*section_key_fn)(parse_ctx *p, int line, const char *kind, const char *name, const char *key,
                              const char *v);
static const struct {
    const char *kind;
    int named;
    section_key_fn key;
} section_kinds[] = {
    {"repository", 0, repository_key},
    {"retention", 1, retention_section_key},
    {"source", 1, source_key},
    {"watch", 0, watch_section_key},
    {"objectives", 0, watch_section_key},
    {"service", 1, watch_section_key},
    {"notify", 1, watch_section_key},
    {"coordination", 0, ha_section_key},
    {"postgres", 1, ha_section_key},
    {"member", 1, ha_section_key},
};

/* '#' starts a comment after a value too, as in the documented examples. */
static void strip_comment(char *value)
{
    char *hash = strstr(value, " #");
    if (!hash && value[0] == '#')
        hash = value;
    if (hash) {
        *hash = '\0';
        for (size_t l = strlen(value); l && (value[l - 1] == ' ' || value[l - 1] == '\t'); l--)
            value[l - 1] = '\0';
    }
}

static int on_entry(void *user, const char *section, const char *key, const char *raw)
{
    parse_ctx *p = user;
    char kind[64], name[64], value[1024];
    int line = p->line;
    if (p->failed)
        return 1;
    snprintf(value, sizeof value, "%s", raw);
    strip_comment(value);
    if (split_section(section, kind, sizeof kind, name, sizeof name) != 0)
        return fail(p, line, "malformed section name [%s]", section);
    for (size_t i = 0; i < sizeof section_kinds / sizeof *section_kinds; i++)
        if (!strcmp(kind, section_kinds[i].kind) && !name[0] == !section_kinds[i].named)
            return section_kinds[i].key(p, line, kind, name, key, value);
    return fail(p, line, "unknown section [%s]", section);
}

static int finish(parse_ctx *p, int r, config **out)
{
    if (r > 0 && !p->failed)
        snprintf(p->msg, sizeof p->msg, "%s:%d: syntax error", p->name, r);
    if (r < 0)
        snprintf(p->msg, sizeof p->msg, "%s: cannot read the configuration file", p->name);
    char why[400];
    int line = 0;
    if (r == 0 && !p->failed && watch_config_check(p->c, &line, why, sizeof why) != 0)
        fail(p, line, "%s", why);
    if (r == 0 && !p->failed && ha_config_check(p->c, &line, why, sizeof why) != 0)
        fail(p, line, "%s", why);
    if (r != 0 || p->failed) {
        config_free(&p->c);
        return err_set(ERR_CONFIG, "%s", p->msg);
    }
    if (!(p->c->file = strdup(p->name))) {
        config_free(&p->c);
        return err_set(ERR_FATAL, "out of memory");
    }
    *out = p->c;
    return 0;
}

int config_load(const char *file, config **out)
{
    parse_ctx p = {.c = calloc(1, sizeof(config)), .name = file};
    if (!p.c)
        return err_set(ERR_FATAL, "out of memory");
    FILE *f = fopen(file, "r");
    if (!f) {
        config_free(&p.c);
        return err_sys(ERR_CONFIG, "configuration file %s", file);
    }
    line_reader lr = {.f = f, .p = &p};
    int r = ini_parse_stream(read_line, &lr, on_entry, &p);
    fclose(f);
    return finish(&p, r, out);
}

int config_parse_string(const char *text, const char *name, config **out)
{
    parse_ctx p = {.c = calloc(1, sizeof(config)), .name = name};
    if (!p.c)
        return err_set(ERR_FATAL, "out of memory");
    line_reader lr = {.s = text, .p = &p};
    int r = ini_parse_stream(read_line, &lr, on_entry, &p);
    return finish(&p, r, out);
}

void config_free(config **cp)
{
    config *c = *cp;
    if (!c)
        return;
    free(c->file);
    free(c->repo_path);
    free(c->password_file);
    free(c->key_file);
    for (size_t i = 0; i < c->nclasses; i++) {
        for (size_t t = 0; t < c->classes[i].policy.ntags; t++)
            free(c->classes[i].policy.keep_tags[t]);
        free(c->classes[i].policy.keep_tags);
    }
    free(c->classes);
    for (size_t i = 0; i < c->nsources; i++) {
        for (size_t k = 0; k < c->sources[i].nkv; k++) {
            free(c->sources[i].kv[k].key);
            free(c->sources[i].kv[k].value);
        }
        free(c->sources[i].kv);
    }
    free(c->sources);
    watch_config_free(c);
    ha_config_free(c);
    free(c);
    *cp = NULL;
}

const config_class *config_class_find(const config *c, const char *name)
{
    for (size_t i = 0; c && i < c->nclasses; i++)
        if (!strcmp(c->classes[i].name, name))
            return &c->classes[i];
    return NULL;
}

const config_source *config_source_find(const config *c, const char *name)
{
    for (size_t i = 0; c && i < c->nsources; i++)
        if (!strcmp(c->sources[i].name, name))
            return &c->sources[i];
    return NULL;
}

const char *config_source_get(const config_source *s, const char *key)
{
    for (size_t i = 0; s && i < s->nkv; i++)
        if (!strcmp(s->kv[i].key, key))
            return s->kv[i].value;
    return NULL;
}
