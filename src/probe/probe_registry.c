/* probe_registry — registry:URL, an OCI (Docker distribution) registry. Alone: its
 * `GET /v2/` answers 200, or 401 asking for a login. With mirror-of = UPSTREAM and
 * repositories: URL is a mirror, and for each repository it must list every tag the
 * upstream lists (GET /v2/NAME/tags/list, Link pagination followed) with the same
 * manifest digest (HEAD /v2/NAME/manifests/TAG, Docker-Content-Digest).
 *
 * Verdicts: healthy when everything compared matches; degraded when the mirror lacks
 * a tag or serves another digest (the detail names the first), when the upstream
 * cannot be asked (the mirror serves; nothing to recover on it, but nothing proven
 * either), or when the deadline ends the comparison; failed when the mirror does not
 * answer (or answers with a server error). Everything runs within the probe's one
 * deadline, one libcurl handle per side so that connections are reused. Extra tags on
 * the mirror are fine: a mirror may keep what the upstream has deleted. Anonymous
 * access only: a registry that wants a login for reading gives a degraded verdict
 * saying so. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/buf.h"
#include "probe_impl.h"

#define REG_BODY_MAX ((size_t)1 << 20) /* one tags-list page: ~8000 tags of 128 bytes */
#define REG_PAGES_MAX 64               /* Link pages followed per tags list */
#define REG_TAGS_MAX 20000             /* tags kept per repository and side */
#define REG_DIGESTS_MAX 200            /* manifests compared per probe (a HEAD on each side) */
#define REG_TAG_LEN 128                /* the distribution spec's limit on a tag */

static const char reg_accept[] =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

/* One side of the comparison (the mirror or the upstream) and its last answer. */
typedef struct reg_side {
    const char *who; /* "mirror" or "upstream", the start of every detail about it */
    char base[1024]; /* the URL without trailing slashes */
    char origin[512]; /* scheme://host[:port], where relative Link targets point */
    CURL *h;
    struct curl_slist *accept;
    buf body;
    int body_cut; /* the answer was longer than REG_BODY_MAX */
    long status;
    char digest[160], next[1024];
    char err[160]; /* why the last request got no answer */
    int timed_out;
} reg_side;

/* A repository's tags on one side, sorted for bsearch. */
typedef struct tag_list {
    char **tags;
    size_t n, cap;
    int cut; /* more tags than REG_TAGS_MAX or pages than REG_PAGES_MAX: the rest unread */
} tag_list;

static void tags_free(tag_list *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->tags[i]);
    free(t->tags);
    memset(t, 0, sizeof *t);
}

/* 0, 1 when url is not scheme://HOST[...] short enough, -1 when out of memory. */
static int side_open(reg_side *s, const char *who, const char *url)
{
    memset(s, 0, sizeof *s);
    s->who = who;
    buf_init(&s->body, REG_BODY_MAX);
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    const char *host = strstr(url, "://");
    if (!host || n >= sizeof s->base || strpbrk(url, "?# \t"))
        return 1;
    snprintf(s->base, sizeof s->base, "%.*s", (int)n, url);
    size_t origin = (size_t)(host + 3 - url) + strcspn(host + 3, "/");
    if (origin > n || origin >= sizeof s->origin)
        return 1;
    snprintf(s->origin, sizeof s->origin, "%.*s", (int)origin, url);
    s->h = curl_easy_init();
    s->accept = curl_slist_append(NULL, reg_accept);
    return s->h && s->accept ? 0 : -1;
}

static void side_close(reg_side *s)
{
    if (s->h)
        curl_easy_cleanup(s->h);
    curl_slist_free_all(s->accept);
    buf_free(&s->body);
}

int probe_registry_next_link(const char *value, const char *origin, char *out, size_t cap)
{
    const char *lt = strchr(value, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (!gt || (!strstr(gt, "rel=\"next\"") && !strstr(gt, "rel=next")))
        return -1;
    size_t n = (size_t)(gt - lt - 1), olen = strlen(origin);
    const char *link = lt + 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)link[i] <= 0x20 || link[i] == 0x7f)
            return -1;
    /* relative to the origin, or absolute on the same origin: a page elsewhere is not
     * followed (the answer must not send the probe to another host) */
    if (n && link[0] == '/' && (n < 2 || link[1] != '/'))
        return snprintf(out, cap, "%s%.*s", origin, (int)n, link) < (int)cap ? 0 : -1;
    if (n > olen && !strncmp(link, origin, olen) && link[olen] == '/')
        return snprintf(out, cap, "%.*s", (int)n, link) < (int)cap ? 0 : -1;
    return -1;
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    reg_side *s = user;
    size_t len = size * n;
    char line[1200];
    if (len >= sizeof line)
        return len; /* no header we read is that long */
    memcpy(line, p, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (!strncasecmp(line, "Docker-Content-Digest:", 22)) {
        const char *v = line + 22 + strspn(line + 22, " \t");
        if (strlen(v) < sizeof s->digest)
            snprintf(s->digest, sizeof s->digest, "%s", v);
    } else if (!strncasecmp(line, "Link:", 5)) {
        if (probe_registry_next_link(line + 5, s->origin, s->next, sizeof s->next) != 0)
            s->next[0] = '\0';
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    reg_side *s = user;
    if (buf_append(&s->body, p, size * n) != 0) {
        s->body_cut = 1;
        return 0; /* libcurl stops with a write error */
    }
    return size * n;
}

/* One request of this side: 0 with status, body, digest and next filled when an HTTP
 * answer came, -1 with err (and timed_out) when none did. */
static int side_request(reg_side *s, const char *url, int head, int64_t deadline_ms)
{
    buf_reset(&s->body);
    s->body_cut = s->timed_out = 0;
    s->status = 0;
    s->digest[0] = s->next[0] = s->err[0] = '\0';
    int64_t left = deadline_ms - probe_now_ms();
    if (left <= 0) {
        s->timed_out = 1;
        snprintf(s->err, sizeof s->err, "no time left");
        return -1;
    }
    CURL *h = s->h;
    int bad = curl_easy_setopt(h, CURLOPT_URL, url) || curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left) ||
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left) ||
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) ||
              curl_easy_setopt(h, CURLOPT_USERAGENT, "lifeline-probe") ||
              curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) ||
              curl_easy_setopt(h, CURLOPT_HEADERDATA, s) || curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) ||
              curl_easy_setopt(h, CURLOPT_WRITEDATA, s) ||
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, head ? s->accept : NULL) ||
              (head ? curl_easy_setopt(h, CURLOPT_NOBODY, 1L) : curl_easy_setopt(h, CURLOPT_HTTPGET, 1L));
    if (bad) {
        snprintf(s->err, sizeof s->err, "libcurl refused the request's options");
        return -1;
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        s->timed_out = 1;
        snprintf(s->err, sizeof s->err, "no answer within the timeout");
        return -1;
    }
    if (rc != CURLE_OK) {
        snprintf(s->err, sizeof s->err, "%s", s->body_cut ? "answer too long" : curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->status);
    return 0;
}

int probe_registry_name_valid(const char *name)
{
    /* path components of [a-z0-9] runs joined by '.', '_', '__' or '-'s (the
     * distribution spec's grammar), checked loosely: no separator at either end of a
     * component, nothing else in a URL we build */
    size_t n = strlen(name);
    if (!n || n > 255 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int sep = strchr("._-/", name[i]) != NULL;
        int edge = i == 0 || i == n - 1 || name[i - 1] == '/' || name[i + 1] == '/';
        if (sep && edge && name[i] != '/')
            return 0;
        if (name[i] == '/' && (i == 0 || i == n - 1 || name[i + 1] == '/'))
            return 0;
    }
    return 1;
}

/* A tag as the distribution spec writes it: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}; nothing
 * else goes into a URL we build. */
static int tag_valid(const char *t)
{
    size_t n = strlen(t);
    return n && n <= REG_TAG_LEN && t[0] != '.' && t[0] != '-' &&
           strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* Adds the tags of one page's {"name":..., "tags":[...]}; -1 when it is not that. */
static int tags_add_page(tag_list *t, const buf *body)
{
    cJSON *j = cJSON_ParseWithLength((const char *)body->data, body->len);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "tags"), *e;
    int r = j && (cJSON_IsArray(arr) || cJSON_IsNull(arr)) ? 0 : -1; /* null: no tags left */
    const cJSON *list = cJSON_IsArray(arr) ? arr : NULL;
    cJSON_ArrayForEach(e, list)
    {
        if (r || !cJSON_IsString(e) || !tag_valid(e->valuestring))
            continue; /* a name we would not put in a URL is not compared */
        if (t->n == REG_TAGS_MAX) {
            t->cut = 1;
            break;
        }
        if (array_grow(&t->tags, &t->cap, t->n + 1, sizeof *t->tags, 64) != 0 ||
            !(t->tags[t->n] = strdup(e->valuestring))) {
            r = -1;
            break;
        }
        t->n++;
    }
    cJSON_Delete(j);
    return r;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum { REG_OK = 0, REG_NOREPO, REG_NOANSWER, REG_STATUS, REG_BADBODY };

/* All pages of NAME's tags on side s, sorted. */
static int tags_fetch(reg_side *s, const char *name, int64_t deadline_ms, tag_list *t)
{
    char url[1400];
    snprintf(url, sizeof url, "%s/v2/%s/tags/list", s->base, name);
    for (int page = 0;; page++) {
        if (page == REG_PAGES_MAX) {
            t->cut = 1;
            break;
        }
        if (side_request(s, url, 0, deadline_ms) != 0)
            return REG_NOANSWER;
        if (s->status == 404)
            return REG_NOREPO;
        if (s->status != 200)
            return REG_STATUS;
        if (tags_add_page(t, &s->body) != 0)
            return REG_BADBODY;
        if (!s->next[0] || t->cut)
            break;
        snprintf(url, sizeof url, "%s", s->next);
    }
    if (t->n)
        qsort(t->tags, t->n, sizeof *t->tags, by_name);
    return REG_OK;
}

/* The comparison's running totals, for the detail. */
typedef struct reg_tally {
    size_t tags, compared, skipped;
    int cut;
} reg_tally;

/* Why side s could not be asked about what; returns the verdict's state. The mirror
 * not answering (or a server error) fails it; anything about the upstream, a login
 * asked for, or a body we cannot read is degraded: the mirror serves, unproven. */
static void side_trouble(const reg_side *s, int rc, const char *what, const reg_tally *tl, probe_result *out)
{
    int mirror = !strcmp(s->who, "mirror");
    if (rc == REG_NOANSWER && s->timed_out && tl->compared) {
        probe_set(out, PROBE_DEGRADED, "out of time after %zu of %zu tags compared (%s); raise timeout or list "
                  "fewer repositories", tl->compared, tl->tags, what);
    } else if (rc == REG_NOANSWER) {
        probe_set(out, mirror ? PROBE_FAILED : PROBE_DEGRADED, "%s: %s (%s)%s", s->who, s->err, what,
                  mirror ? "" : "; the mirror is not compared");
    } else if (rc == REG_STATUS) {
        probe_set(out, mirror && s->status >= 500 ? PROBE_FAILED : PROBE_DEGRADED, "%s: HTTP %ld for %s%s",
                  s->who, s->status, what,
                  s->status == 401 || s->status == 403 ? " (mirror-of compares with anonymous reads)" : "");
    } else {
        probe_set(out, PROBE_DEGRADED, "%s: %s is not a tags list", s->who, what);
    }
}

/* The manifest digest of NAME:TAG on s; REG_NOREPO when it has none. */
static int digest_of(reg_side *s, const char *name, const char *tag, int64_t deadline_ms)
{
    char url[1400];
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", s->base, name, tag);
    if (side_request(s, url, 1, deadline_ms) != 0)
        return REG_NOANSWER;
    if (s->status == 404)
        return REG_NOREPO;
    if (s->status != 200)
        return REG_STATUS;
    return s->digest[0] ? REG_OK : REG_BADBODY;
}

/* Compares the digests of up to budget of up's tags; 1 when a verdict is set. */
static int compare_digests(reg_side *m, reg_side *u, const char *name, const tag_list *up, size_t budget,
                           int64_t deadline_ms, reg_tally *tl, probe_result *out)
{
    char what[300];
    for (size_t i = 0; i < up->n; i++) {
        if (i >= budget) {
            tl->skipped += up->n - i;
            break;
        }
        const char *tag = up->tags[i];
        snprintf(what, sizeof what, "manifest %s:%s", name, tag);
        int rc = digest_of(u, name, tag, deadline_ms);
        if (rc == REG_NOREPO) /* deleted upstream since it was listed: nothing to compare */
            continue;
        if (rc == REG_BADBODY)
            return probe_set(out, PROBE_DEGRADED, "upstream: no Docker-Content-Digest for %s:%s", name, tag), 1;
        if (rc) {
            side_trouble(u, rc, what, tl, out);
            return 1;
        }
        if ((rc = digest_of(m, name, tag, deadline_ms)) == REG_NOREPO)
            return probe_set(out, PROBE_DEGRADED, "mirror lacks %s:%s (listed, but no manifest)", name, tag), 1;
        if (rc == REG_BADBODY)
            return probe_set(out, PROBE_DEGRADED, "mirror: no Docker-Content-Digest for %s:%s", name, tag), 1;
        if (rc) {
            side_trouble(m, rc, what, tl, out);
            return 1;
        }
        if (strcmp(m->digest, u->digest))
            return probe_set(out, PROBE_DEGRADED, "%s:%s differs (mirror %.19s, upstream %.19s)", name, tag,
                             m->digest, u->digest),
                   1;
        tl->compared++;
    }
    return 0;
}

/* One repository: every upstream tag listed on the mirror, then the digests of up to
 * budget of them. 1 when a verdict is set. */
static int compare_repository(reg_side *m, reg_side *u, const char *name, size_t budget, int64_t deadline_ms,
                              reg_tally *tl, probe_result *out)
{
    tag_list up = {0}, mir = {0};
    char what[300];
    int rc, done = 1;
    snprintf(what, sizeof what, "tags of %s", name);
    if ((rc = tags_fetch(u, name, deadline_ms, &up)) != REG_OK) {
        if (rc == REG_NOREPO)
            probe_set(out, PROBE_DEGRADED, "upstream has no repository %s (check repositories)", name);
        else
            side_trouble(u, rc, what, tl, out);
        goto done;
    }
    tl->tags += up.n;
    tl->cut |= up.cut;
    rc = tags_fetch(m, name, deadline_ms, &mir);
    if (rc == REG_NOREPO && up.n) {
        probe_set(out, PROBE_DEGRADED, "mirror lacks %s:%s (no repository %s)", name, up.tags[0], name);
        goto done;
    }
    if (rc != REG_OK && rc != REG_NOREPO) {
        side_trouble(m, rc, what, tl, out);
        goto done;
    }
    tl->cut |= mir.cut;
    for (size_t i = 0; i < up.n; i++) {
        if (bsearch(&up.tags[i], mir.tags, mir.n, sizeof *mir.tags, by_name))
            continue;
        if (mir.cut) /* past what we read of the mirror's list: its manifest decides */
            continue;
        probe_set(out, PROBE_DEGRADED, "mirror lacks %s:%s", name, up.tags[i]);
        goto done;
    }
    done = compare_digests(m, u, name, &up, budget, deadline_ms, tl, out);
done:
    tags_free(&up);
    tags_free(&mir);
    return done;
}

static void compare_mirror(const probe_spec *spec, const char *url, int64_t deadline_ms, probe_result *out)
{
    reg_side m, u;
    reg_tally tl = {0};
    int rm = side_open(&m, "mirror", url), ru = side_open(&u, "upstream", spec->mirror_of);
    char v2[1100];
    if (rm || ru) {
        probe_set(out, PROBE_FAILED, rm < 0 || ru < 0 ? "out of memory" : "%s URL unusable (not http(s)://HOST/...)",
                  rm ? "registry" : "mirror-of");
        goto done;
    }
    for (size_t i = 0; i < spec->nrepositories; i++)
        if (!probe_registry_name_valid(spec->repositories[i])) {
            probe_set(out, PROBE_FAILED, "repository name '%.64s' is not valid", spec->repositories[i]);
            goto done;
        }
    snprintf(v2, sizeof v2, "%s/v2/", m.base);
    if (side_request(&m, v2, 0, deadline_ms) != 0) {
        probe_set(out, PROBE_FAILED, "mirror: %s", m.err);
        goto done;
    }
    if (m.status != 200 && m.status != 401) {
        probe_set(out, PROBE_FAILED, "mirror: HTTP %ld from /v2/, expected 200 or 401", m.status);
        goto done;
    }
    /* the digest budget shared out fairly: one repository with many tags does not
     * starve the others */
    size_t budget = spec->nrepositories ? REG_DIGESTS_MAX / spec->nrepositories : 0;
    for (size_t i = 0; i < spec->nrepositories; i++)
        if (compare_repository(&m, &u, spec->repositories[i], budget ? budget : 1, deadline_ms, &tl, out))
            goto done;
    if (tl.skipped || tl.cut)
        probe_set(out, PROBE_HEALTHY, "mirror matches upstream: %zu repositories, %zu tags; digests of %zu "
                  "compared (at most %d per probe)%s", spec->nrepositories, tl.tags, tl.compared, REG_DIGESTS_MAX,
                  tl.cut ? ", tags lists cut" : "");
    else
        probe_set(out, PROBE_HEALTHY, "mirror matches upstream: %zu repositories, %zu tags, digests equal",
                  spec->nrepositories, tl.tags);
done:
    side_close(&m);
    side_close(&u);
}

void probe_registry(const probe_spec *spec, const char *url, int64_t deadline_ms, probe_result *out)
{
    if (spec->mirror_of) {
        compare_mirror(spec, url, deadline_ms, out);
        return;
    }
    char v2[1024];
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (n + sizeof "/v2/" > sizeof v2) {
        probe_set(out, PROBE_FAILED, "registry URL too long");
        return;
    }
    snprintf(v2, sizeof v2, "%.*s/v2/", (int)n, url);
    probe_spec s = {.target = spec->target, .timeout_ms = spec->timeout_ms, .expect_status = PROBE_REGISTRY_STATUS};
    probe_http(&s, v2, deadline_ms, out);
}
