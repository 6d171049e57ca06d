/* pattern — see pattern.h. A compiled pattern is its cleaned list of parts; a path
 * is split into components the same way, the root being a component of its own
 * ("/") so that only an anchored pattern can match it. Matching is a prefix match
 * from some starting component, "**" taking any number of components. */
#include "pattern.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MAX_PARTS 4096

/* The component standing for the root of an absolute path, told apart by address. */
static const char root[] = "/";

typedef struct part {
    char *text;    /* NULL for the root */
    int any_depth; /* exactly "**" */
    int literal;   /* no wildcard or escape: compared as is */
} part;

typedef struct compiled {
    const char *original;
    part *parts;
    size_t nparts;
    int negated;
    size_t hits;
} compiled;

struct pattern_list {
    compiled *items;
    size_t n;
    const char *what; /* "--include": how messages name the list */
};

/* Splits s (modified in place) at '/'. An absolute s gives the root marker first. Empty
 * components and "." are dropped; ".." removes the one before it (and at the
 * root, itself), as Go's filepath.Clean does. Returns the count, or SIZE_MAX when
 * there are more than cap. */
static size_t split_clean(char *s, const char **out, size_t cap)
{
    size_t n = 0, fixed = 0; /* out[0..fixed) cannot be removed by ".." */
    if (s[0] == '/') {
        out[n++] = root;
        fixed = 1;
    }
    char *save = NULL;
    for (char *c = strtok_r(s, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..") && n > fixed && strcmp(out[n - 1], "..")) {
            n--;
            continue;
        }
        if (!strcmp(c, "..") && fixed) /* "/.." is "/" */
            continue;
        if (n == cap)
            return SIZE_MAX;
        out[n++] = c;
    }
    return n;
}

/* Go's filepath.Match refuses these; fnmatch would quietly take them literally. */
static int part_valid(const char *p)
{
    for (size_t i = 0; p[i]; i++) {
        if (p[i] == '\\') {
            if (!p[++i])
                return 0;
        } else if (p[i] == '[') {
            size_t j = i + 1;
            if (p[j] == '!' || p[j] == '^')
                j++;
            if (p[j] == ']') /* a ']' first in a class is a member */
                j++;
            while (p[j] && p[j] != ']')
                j++;
            if (!p[j])
                return 0;
            i = j;
        }
    }
    return 1;
}

static void compiled_free(compiled *c)
{
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].text);
    free(c->parts);
    c->parts = NULL;
    c->nparts = 0;
}

static int compile(const char *pattern, const char *what, compiled *out)
{
    memset(out, 0, sizeof *out);
    out->original = pattern;
    out->negated = pattern[0] == '!';
    const char *body = pattern + out->negated;
    if (!body[0])
        return err_set(ERR_USAGE, "%s: empty pattern '%s'", what, pattern);
    char *copy = strdup(body);
    const char **comps = copy ? malloc(MAX_PARTS * sizeof *comps) : NULL;
    size_t n = comps ? split_clean(copy, comps, MAX_PARTS) : 0;
    int rc = 0;
    if (!comps)
        rc = err_set(ERR_FATAL, "out of memory");
    else if (n == SIZE_MAX)
        rc = err_set(ERR_USAGE, "%s: pattern too long: %s", what, pattern);
    else if (n == 0) /* "." or "a/..": names no path at all */
        rc = err_set(ERR_USAGE, "%s: pattern '%s' names no path", what, pattern);
    else if (!(out->parts = calloc(n, sizeof *out->parts)))
        rc = err_set(ERR_FATAL, "out of memory");
    for (size_t i = 0; !rc && i < n; i++, out->nparts++) {
        part *p = &out->parts[i];
        if (comps[i] == root)
            continue; /* text NULL */
        if (!(p->text = strdup(comps[i])))
            rc = err_set(ERR_FATAL, "out of memory");
        else if (!part_valid(p->text))
            rc = err_set(ERR_USAGE, "%s: malformed pattern '%s' (an unclosed '[' or a trailing '\\')", what,
                         pattern);
        p->any_depth = !strcmp(comps[i], "**");
        p->literal = !strpbrk(comps[i], "\\[]*?");
    }
    if (rc)
        compiled_free(out);
    free(comps);
    free(copy);
    return rc;
}

static int part_matches(const part *p, const char *comp)
{
    if (!p->text || comp == root)
        return !p->text && comp == root;
    if (p->literal)
        return !strcmp(p->text, comp);
    return fnmatch(p->text, comp, 0) == 0;
}

/* Does the pattern match a prefix of comps[start..], for some allowed start? What
 * the pattern leaves over is below what it matched, and so matched too. Run over
 * the set of positions the parts so far can end at (at[], nc + 1 flags; spare[]
 * the same size), so "**" costs one pass and never backtracks: a pattern of many
 * "**" against a deep path stays O(parts x components). */
static int compiled_match(const compiled *c, const char *const *comps, size_t nc, uint8_t *at, uint8_t *spare)
{
    memset(at, 0, nc + 1);
    if (!c->parts[0].text) /* anchored: at the root only */
        at[0] = 1;
    else /* anywhere below the root */
        for (size_t start = nc && comps[0] == root; start < nc; start++)
            at[start] = 1;
    for (size_t pi = 0; pi < c->nparts; pi++) {
        const part *p = &c->parts[pi];
        int any = 0;
        memset(spare, 0, nc + 1);
        for (size_t ci = 0; ci <= nc; ci++) {
            if (p->any_depth) { /* none, one, ... every component from the first place reached */
                any |= at[ci];
                spare[ci] = (uint8_t)any;
            } else if (at[ci] && ci < nc && part_matches(p, comps[ci])) {
                spare[ci + 1] = 1;
                any = 1;
            }
        }
        if (!any)
            return 0;
        uint8_t *t = at;
        at = spare;
        spare = t;
    }
    return 1;
}

/* Splits path into comps (pointers into *copy) with two flag arrays of nc + 1 for
 * compiled_match after them; the caller frees *copy and *comps. */
static size_t split_path(const char *path, char **copy, const char ***comps, uint8_t **flags)
{
    size_t len = strlen(path), cap = len / 2 + 2;
    *copy = strdup(path);
    *comps = malloc(cap * sizeof **comps + 2 * (cap + 1));
    if (!*copy || !*comps)
        return SIZE_MAX;
    *flags = (uint8_t *)(*comps + cap);
    size_t n = 0;
    if (path[0] == '/')
        (*comps)[n++] = root;
    char *save = NULL;
    for (char *c = strtok_r(*copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
        (*comps)[n++] = c;
    return n;
}

int pattern_list_match(pattern_list *l, const char *path)
{
    if (!l || !l->n)
        return 0;
    char *copy;
    const char **comps;
    uint8_t *flags;
    size_t nc = split_path(path, &copy, &comps, &flags);
    int matched = 0;
    for (size_t i = 0; nc != SIZE_MAX && i < l->n; i++) {
        compiled *c = &l->items[i];
        int m = compiled_match(c, comps, nc, flags, flags + nc + 1);
        c->hits += (size_t)m;
        matched = c->negated ? matched && !m : matched || m;
    }
    free(copy);
    free(comps);
    return matched;
}

int pattern_list_new(char *const *patterns, size_t n, const char *what, pattern_list **out)
{
    *out = NULL;
    if (!n)
        return 0;
    pattern_list *l = calloc(1, sizeof *l);
    if (!l || !(l->items = calloc(n, sizeof *l->items))) {
        free(l);
        return err_set(ERR_FATAL, "out of memory");
    }
    l->what = what;
    for (; l->n < n; l->n++) {
        int rc = compile(patterns[l->n], what, &l->items[l->n]);
        if (rc) {
            pattern_list_free(&l);
            return rc;
        }
    }
    *out = l;
    return 0;
}

void pattern_list_free(pattern_list **l)
{
    if (!*l)
        return;
    for (size_t i = 0; i < (*l)->n; i++)
        compiled_free(&(*l)->items[i]);
    free((*l)->items);
    free(*l);
    *l = NULL;
}

const char *pattern_list_unmatched(const pattern_list *l, size_t i)
{
    for (size_t k = 0; l && k < l->n; k++)
        if (!l->items[k].negated && !l->items[k].hits && i-- == 0)
            return l->items[k].original;
    return NULL;
}

size_t pattern_list_warn_unmatched(const pattern_list *l, const char *where)
{
    size_t n = 0;
    for (const char *p; (p = pattern_list_unmatched(l, n)); n++)
        LOG_WARN("%s '%s' matched nothing %s", l->what, p, where);
    return n;
}

int pattern_match(const char *pattern, const char *path)
{
    char *one[] = {(char *)pattern};
    pattern_list *l;
    if (pattern_list_new(one, 1, "pattern", &l) != 0)
        return -1;
    int m = pattern_list_match(l, path);
    pattern_list_free(&l);
    return m;
}
