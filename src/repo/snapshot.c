/* snapshot — see snapshot.h. */
#define _GNU_SOURCE
#include "snapshot.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/text.h"

void snapshot_init(snapshot *s) { memset(s, 0, sizeof *s); }

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

void snapshot_free(snapshot *s)
{
    free_list(s->paths, s->npaths);
    free_list(s->tags, s->ntags);
    free(s->meta_json);
    snapshot_init(s);
}

void snapshots_free(snapshot **list, size_t n)
{
    for (size_t i = 0; *list && i < n; i++)
        snapshot_free(&(*list)[i]);
    free(*list);
    *list = NULL;
}

static int list_add(char ***l, size_t *n, const char *v)
{
    char **p = realloc(*l, (*n + 1) * sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    *l = p;
    if (!(p[*n] = strdup(v)))
        return err_set(ERR_FATAL, "out of memory");
    (*n)++;
    return 0;
}

int snapshot_add_path(snapshot *s, const char *p) { return list_add(&s->paths, &s->npaths, p); }
int snapshot_add_tag(snapshot *s, const char *t) { return list_add(&s->tags, &s->ntags, t); }

int snapshot_has_tag(const snapshot *s, const char *t)
{
    for (size_t i = 0; i < s->ntags; i++)
        if (!strcmp(s->tags[i], t))
            return 1;
    return 0;
}

void snapshot_short_id(const uint8_t id[32], char out[9])
{
    char hex[65];
    text_hex(id, 32, hex);
    memcpy(out, hex, 8);
    out[8] = '\0';
}

int snapshot_same_group(const snapshot *a, const snapshot *b)
{
    if (strcmp(a->hostname, b->hostname) || a->npaths != b->npaths || strcmp(a->source, b->source))
        return 0;
    for (size_t i = 0; i < a->npaths; i++)
        if (strcmp(a->paths[i], b->paths[i]))
            return 0;
    return 1;
}

static cJSON *string_array(char **l, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(l[i]));
    return a;
}

cJSON *snapshot_summary_json(const snapshot_summary *m)
{
    cJSON *sum = cJSON_CreateObject();
    cJSON_AddNumberToObject(sum, "files_new", (double)m->files_new);
    cJSON_AddNumberToObject(sum, "files_changed", (double)m->files_changed);
    cJSON_AddNumberToObject(sum, "files_unchanged", (double)m->files_unchanged);
    cJSON_AddNumberToObject(sum, "files_failed", (double)m->files_failed);
    cJSON_AddNumberToObject(sum, "dirs", (double)m->dirs);
    cJSON_AddNumberToObject(sum, "bytes_read", (double)m->bytes_read);
    cJSON_AddNumberToObject(sum, "bytes_added", (double)m->bytes_added);
    cJSON_AddNumberToObject(sum, "total_files", (double)m->total_files);
    cJSON_AddNumberToObject(sum, "total_bytes", (double)m->total_bytes);
    cJSON_AddNumberToObject(sum, "duration", m->duration);
    return sum;
}

int snapshot_encode(const snapshot *s, buf *out)
{
    char t[64], hex[65];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", SNAPSHOT_VERSION);
    text_time(s->time, s->time_ns, t, sizeof t);
    cJSON_AddStringToObject(o, "time", t);
    cJSON_AddStringToObject(o, "source", s->source[0] ? s->source : "files");
    cJSON_AddStringToObject(o, "hostname", s->hostname);
    cJSON_AddStringToObject(o, "username", s->username);
    cJSON_AddItemToObject(o, "paths", string_array(s->paths, s->npaths));
    cJSON_AddItemToObject(o, "tags", string_array(s->tags, s->ntags));
    text_hex(s->tree, 32, hex);
    cJSON_AddStringToObject(o, "tree", hex);
    if (s->has_parent) {
        text_hex(s->parent, 32, hex);
        cJSON_AddStringToObject(o, "parent", hex);
    }
    if (s->class_name[0])
        cJSON_AddStringToObject(o, "class", s->class_name);
    if (s->lock_until) {
        text_time(s->lock_until, 0, t, sizeof t);
        cJSON_AddStringToObject(o, "lock_until", t);
    }
    cJSON_AddBoolToObject(o, "partial", s->partial);
    if (s->meta_json) {
        cJSON *m = cJSON_Parse(s->meta_json);
        if (m)
            cJSON_AddItemToObject(o, "meta", m);
    }
    cJSON_AddItemToObject(o, "summary", snapshot_summary_json(&s->summary));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return err_set(ERR_FATAL, "out of memory");
    buf_reset(out);
    int rc = buf_append(out, text, strlen(text));
    cJSON_free(text);
    return rc;
}

static const char *get_str(const cJSON *o, const char *name)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

static int get_strings(const cJSON *o, const char *name, char ***l, size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name), *it;
    if (!a)
        return 0;
    if (!cJSON_IsArray(a))
        return err_set(ERR_DAMAGED, "snapshot field '%s' is not a list", name);
    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it))
            return err_set(ERR_DAMAGED, "snapshot field '%s' holds a non-string", name);
        int rc = list_add(l, n, it->valuestring);
        if (rc)
            return rc;
    }
    return 0;
}

static uint64_t get_u64(const cJSON *o, const char *name)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble < 1.8e19 ? (uint64_t)n->valuedouble : 0;
}

static int decode_fields(const cJSON *o, snapshot *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "version");
    if (!cJSON_IsNumber(v))
        return err_set(ERR_DAMAGED, "snapshot has no version");
    if (v->valuedouble != SNAPSHOT_VERSION)
        return err_set(ERR_VERSION, "snapshot format version %g is not supported", v->valuedouble);
    const char *t = get_str(o, "time"), *tree = get_str(o, "tree"), *p;
    if (!t || text_parse_time(t, &s->time) != 0)
        return err_set(ERR_DAMAGED, "snapshot has a bad time");
    if (strchr(t, '.'))
        s->time_ns = strtol(strchr(t, '.') + 1, NULL, 10);
    if (!tree || text_unhex(tree, s->tree, 32) != 0)
        return err_set(ERR_DAMAGED, "snapshot has a bad tree id");
    if ((p = get_str(o, "parent"))) {
        if (text_unhex(p, s->parent, 32) != 0)
            return err_set(ERR_DAMAGED, "snapshot has a bad parent id");
        s->has_parent = 1;
    }
    snprintf(s->hostname, sizeof s->hostname, "%s", (p = get_str(o, "hostname")) ? p : "");
    snprintf(s->username, sizeof s->username, "%s", (p = get_str(o, "username")) ? p : "");
    snprintf(s->source, sizeof s->source, "%s", (p = get_str(o, "source")) ? p : "files");
    snprintf(s->class_name, sizeof s->class_name, "%s", (p = get_str(o, "class")) ? p : "");
    if ((p = get_str(o, "lock_until")) && text_parse_time(p, &s->lock_until) != 0)
        return err_set(ERR_DAMAGED, "snapshot has a bad lock_until");
    s->partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "partial"));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "meta");
    if (cJSON_IsObject(meta) && !(s->meta_json = cJSON_PrintUnformatted(meta)))
        return err_set(ERR_FATAL, "out of memory");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "summary");
    if (cJSON_IsObject(m)) {
        snapshot_summary *x = &s->summary;
        x->files_new = get_u64(m, "files_new");
        x->files_changed = get_u64(m, "files_changed");
        x->files_unchanged = get_u64(m, "files_unchanged");
        x->files_failed = get_u64(m, "files_failed");
        x->dirs = get_u64(m, "dirs");
        x->bytes_read = get_u64(m, "bytes_read");
        x->bytes_added = get_u64(m, "bytes_added");
        x->total_files = get_u64(m, "total_files");
        x->total_bytes = get_u64(m, "total_bytes");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "duration");
        x->duration = cJSON_IsNumber(d) ? d->valuedouble : 0;
    }
    int rc = get_strings(o, "paths", &s->paths, &s->npaths);
    return rc ? rc : get_strings(o, "tags", &s->tags, &s->ntags);
}

int snapshot_decode(const uint8_t *p, size_t len, snapshot *s)
{
    snapshot_init(s);
    cJSON *o = cJSON_ParseWithLength((const char *)p, len);
    int rc = cJSON_IsObject(o) ? decode_fields(o, s) : err_set(ERR_DAMAGED, "snapshot is not valid JSON");
    cJSON_Delete(o);
    if (rc)
        snapshot_free(s);
    return rc;
}

int snapshot_save(repo *r, snapshot *s)
{
    buf b;
    buf_init(&b, 0);
    int rc = crypto_random(s->id, 32);
    if (!rc)
        rc = snapshot_encode(s, &b);
    if (!rc)
        rc = repo_object_save(r, OBJ_SNAPSHOT, s->id, b.data, b.len, 1);
    buf_free(&b);
    return rc;
}

int snapshot_load(repo *r, const uint8_t id[32], snapshot *s)
{
    buf b;
    buf_init(&b, 0);
    snapshot_init(s);
    int rc = repo_object_load(r, OBJ_SNAPSHOT, id, &b);
    if (!rc && (rc = snapshot_decode(b.data, b.len, s))) {
        char hex[65];
        text_hex(id, 32, hex);
        err_wrap("snapshot %.8s", hex);
    }
    if (!rc)
        memcpy(s->id, id, 32);
    buf_free(&b);
    return rc;
}

typedef struct load_all_ctx {
    repo *r;
    snapshot *list;
    size_t n, cap;
    int tolerate;
} load_all_ctx;

static int load_one(const uint8_t id[32], void *vctx)
{
    load_all_ctx *c = vctx;
    int rc = array_grow(&c->list, &c->cap, c->n + 1, sizeof *c->list, 16);
    if (rc)
        return rc;
    rc = snapshot_load(c->r, id, &c->list[c->n]);
    if (rc && c->tolerate) {
        if (c->tolerate == 1)
            fprintf(stderr, "warning: %s\n", err_msg());
        err_clear();
        return 0;
    }
    if (!rc) {
        char reason[8];
        int h = snapshot_hold_get(c->r, id, reason, sizeof reason);
        /* a hold that cannot be read counts as held (forget must not pass it) but
         * never stops what only reads the snapshot */
        c->list[c->n].held = h != 0;
        c->list[c->n].hold_error = h < 0 ? -h : 0;
        err_clear();
        c->n++;
    }
    return rc;
}

static int by_time(const void *a, const void *b)
{
    const snapshot *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->time_ns != y->time_ns)
        return x->time_ns < y->time_ns ? -1 : 1;
    return memcmp(x->id, y->id, 32);
}

int snapshot_load_all(repo *r, snapshot **out, size_t *n, int tolerate_damage)
{
    load_all_ctx c = {.r = r, .tolerate = tolerate_damage};
    int rc = repo_object_list(r, OBJ_SNAPSHOT, load_one, &c);
    if (rc) {
        snapshots_free(&c.list, c.n);
        return rc;
    }
    if (c.n > 1)
        qsort(c.list, c.n, sizeof *c.list, by_time);
    *out = c.list;
    *n = c.n;
    return 0;
}

typedef struct resolve_ctx {
    const char *prefix;
    uint8_t id[32];
    int matches;
} resolve_ctx;

static int match_prefix(const uint8_t id[32], void *vctx)
{
    resolve_ctx *c = vctx;
    char hex[65];
    text_hex(id, 32, hex);
    if (!strncmp(hex, c->prefix, strlen(c->prefix))) {
        memcpy(c->id, id, 32);
        c->matches++;
    }
    return 0;
}

/* ---- the newest snapshot: never an older one in silence ------------------------ */

static snapshot_known_fn known_source;

void snapshot_set_known_source(snapshot_known_fn fn) { known_source = fn; }

static int in_list(const snapshot *list, size_t n, const uint8_t id[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(list[i].id, id, 32))
            return 1;
    return 0;
}

static const snapshot_known *known_find(const snapshot_known *k, size_t n, const uint8_t id[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(k[i].id, id, 32))
            return &k[i];
    return NULL;
}

/* Could the snapshot the trail knows as k be newer than chosen? Its record was
 * written when the backup ended, after the snapshot's own time. */
static int maybe_newer(const snapshot_known *k, const snapshot *chosen)
{
    return !chosen || !k || k->time_bound >= chosen->time;
}

typedef struct guard_ctx {
    repo *r;
    const snapshot *list, *chosen;
    size_t n;
    const snapshot_known *known;
    size_t nknown;
    uint8_t (*seen)[32];
    size_t nseen, cap;
    int rc;
} guard_ctx;

/* A file in snapshots/ the list lacks: it could not be read when the list was made. */
static int guard_file(const uint8_t id[32], void *vctx)
{
    guard_ctx *g = vctx;
    int rc = array_grow(&g->seen, &g->cap, g->nseen + 1, sizeof *g->seen, 16);
    if (rc)
        return rc;
    memcpy(g->seen[g->nseen++], id, 32);
    if (in_list(g->list, g->n, id) || g->rc)
        return 0;
    snapshot s;
    rc = snapshot_load(g->r, id, &s);
    snapshot_free(&s);
    if (rc == 0 || rc == ERR_NOTFOUND) { /* saved or forgotten since the list was made */
        err_clear();
        return 0;
    }
    if (!maybe_newer(known_find(g->known, g->nknown, id), g->chosen)) {
        err_clear(); /* the trail dates it before the chosen one: not the newest */
        return 0;
    }
    char hex[65], why[700];
    text_hex(id, 32, hex);
    snprintf(why, sizeof why, "%s", err_msg());
    g->rc = err_set(rc, "snapshots/%s cannot be read (%s); it may be the newest snapshot, so none older is "
                        "taken for the newest",
                    hex, why);
    return 0;
}

/* Was id removed on purpose by the running command (hex ids, not yet in the trail)? */
static int removed_now(char *const *gone, size_t ngone, const uint8_t id[32])
{
    char hex[65];
    text_hex(id, 32, hex);
    for (size_t i = 0; i < ngone; i++)
        if (!strcmp(gone[i], hex))
            return 1;
    return 0;
}

int snapshot_newest_guard(repo *r, const snapshot *list, size_t n, const snapshot *chosen)
{
    return snapshot_guard(r, list, n, chosen, NULL, 0);
}

int snapshot_guard(repo *r, const snapshot *list, size_t n, const snapshot *chosen, char *const *gone, size_t ngone)
{
    snapshot_known *known = NULL;
    size_t nknown = 0;
    if (known_source && known_source(r, &known, &nknown) != 0) {
        err_clear(); /* without the trail, damaged files are still caught below */
        known = NULL;
        nknown = 0;
    }
    guard_ctx g = {.r = r, .list = list, .n = n, .chosen = chosen, .known = known, .nknown = nknown};
    int rc = repo_object_list(r, OBJ_SNAPSHOT, guard_file, &g);
    if (!rc)
        rc = g.rc;
    int missing = 0;
    for (size_t i = 0; !rc && i < nknown; i++) {
        int on_disk = 0;
        for (size_t k = 0; k < g.nseen && !on_disk; k++)
            on_disk = !memcmp(g.seen[k], known[i].id, 32);
        if (on_disk || !maybe_newer(&known[i], chosen) || removed_now(gone, ngone, known[i].id))
            continue;
        char hex[65], t[64];
        text_hex(known[i].id, 32, hex);
        text_time(known[i].time_bound, 0, t, sizeof t);
        missing = 1;
        rc = err_set(ERR_DAMAGED,
                     "snapshot %.8s (snapshots/%s) is missing: the audit trail recorded it saved at %s (record "
                     "seq %llu) and no forget since, so 'latest' would be an older snapshot",
                     hex, hex, t, (unsigned long long)known[i].seq);
    }
    if (missing) /* a deleted file: it may have been removed on purpose without its record */
        err_hint("put the file back from a copy of the repository, or record that it is gone on purpose "
                 "(lifeline forget ID); meanwhile give a snapshot id instead of latest");
    else if (rc && rc == g.rc)
        err_hint("give a snapshot id instead of latest ('lifeline snapshots' lists the readable ones), or put the "
                 "file back from a copy of the repository");
    free(g.seen);
    free(known);
    return rc;
}

int snapshot_resolve(repo *r, const char *spec, snapshot *out)
{
    if (!strcmp(spec, "latest")) {
        snapshot *list;
        size_t n;
        int rc = snapshot_load_all(r, &list, &n, 1);
        if (!rc)
            rc = snapshot_newest_guard(r, list, n, n ? &list[n - 1] : NULL);
        if (!rc && !n)
            rc = err_set(ERR_NOTFOUND, "repository %s has no snapshots", repo_location(r));
        if (rc) {
            snapshots_free(&list, n);
            return rc;
        }
        *out = list[n - 1];
        snapshot_init(&list[n - 1]);
        snapshots_free(&list, n);
        return 0;
    }
    size_t l = strlen(spec);
    if (l < 4 || l > 64 || strspn(spec, "0123456789abcdef") != l)
        return err_set(ERR_USAGE, "'%s' is not a snapshot id: give 'latest' or at least 4 hex digits", spec);
    resolve_ctx c = {.prefix = spec};
    int rc = repo_object_list(r, OBJ_SNAPSHOT, match_prefix, &c);
    if (rc)
        return rc;
    if (c.matches == 0)
        return err_set(ERR_NOTFOUND, "no snapshot with id %s in %s", spec, repo_location(r));
    if (c.matches > 1)
        return err_set(ERR_USAGE, "snapshot id prefix %s is ambiguous (%d snapshots)", spec, c.matches);
    rc = snapshot_load(r, c.id, out);
    if (!rc) {
        char reason[8];
        int h = snapshot_hold_get(r, c.id, reason, sizeof reason);
        out->held = h != 0; /* unreadable: held, as far as forget is concerned */
        out->hold_error = h < 0 ? -h : 0;
        err_clear();
    }
    return rc;
}

int snapshot_hold(repo *r, const uint8_t id[32], const char *reason)
{
    char t[64];
    text_time((int64_t)time(NULL), 0, t, sizeof t);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddStringToObject(o, "time", t);
    const char *user = getenv("USER");
    cJSON_AddStringToObject(o, "user", user ? user : "");
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return err_set(ERR_FATAL, "out of memory");
    int rc = repo_object_save(r, OBJ_HOLD, id, text, strlen(text), 0);
    cJSON_free(text);
    return rc;
}

int snapshot_release(repo *r, const uint8_t id[32]) { return repo_object_remove(r, OBJ_HOLD, id); }

/* Returns 1 held, 0 not held, or a negated err_code. */
int snapshot_hold_get(repo *r, const uint8_t id[32], char *reason, size_t cap)
{
    buf b;
    buf_init(&b, 0);
    int rc = repo_object_load(r, OBJ_HOLD, id, &b);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        buf_free(&b);
        return 0;
    }
    if (rc) {
        buf_free(&b);
        return -rc;
    }
    cJSON *o = cJSON_ParseWithLength((const char *)b.data, b.len);
    const char *why = get_str(o, "reason");
    snprintf(reason, cap, "%s", why ? why : "");
    cJSON_Delete(o);
    buf_free(&b);
    return 1;
}
