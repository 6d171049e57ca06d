/* coord_etcd — the `etcd` backend over etcd's v3 JSON gateway (POST /v3/...; keys and
 * values base64; 64-bit numbers as decimal strings). Keys:
 *   /lifeline/GROUP/leader          {"member","node"}, attached to the holder's lease;
 *                                   the epoch is its create_revision (a fresh key for
 *                                   every holder, so epochs strictly increase)
 *   /lifeline/GROUP/status/MEMBER   what MEMBER's agent published, under that agent's
 *                                   status lease for GROUP
 * Taking the key is one txn: "create_revision == 0" → put with our lease (and read it
 * back), else read the holder; a lost answer retried on another endpoint thus finds
 * the key already attached to our lease and counts as won.
 *
 * One CURL handle per coord: the calls of one coord must come from one thread at a
 * time. Every call gets the remaining time to its deadline, shared among the
 * endpoints still to try (a stopped or partitioned member must not eat all of it);
 * an endpoint that refuses, times out or answers 5xx passes the call to the next.
 * Everything read from the network is untrusted: a missing or mistyped field is an
 * error (or "nobody holds it" where that is the safe reading), never a crash. What
 * Debian's etcd 3.4 does: a failed txn omits "succeeded"; a keepalive of an expired
 * lease answers 200 without "TTL"; a TTL below 2 s is raised to 2 s. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/buf.h"
#include "../core/proc.h"
#include "coord_impl.h"

/* An answer larger than this is refused (a status list of many members fits). */
#define ETCD_BODY_MAX (8u << 20)
/* How often seize revokes whoever took the key in between before it gives up. */
#define ETCD_SEIZE_TRIES 5

typedef struct status_lease {
    char group[64];
    int64_t lease, ttl_s;
} status_lease;

typedef struct etcd {
    CURL *h;
    struct curl_slist *headers;
    char **endpoints;
    size_t n, cur; /* cur: the endpoint that answered last, tried first */
    buf body;
    status_lease *sl;
    size_t nsl, capsl;
} etcd;

/* ---- base64 (RFC 4648, padded), as the gateway wants bytes ---- */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_enc(const char *s, size_t len)
{
    char *out = malloc(len / 3 * 4 + 5), *o = out;
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
        *o++ = B64[v >> 18 & 63];
        *o++ = B64[v >> 12 & 63];
        *o++ = i + 1 < len ? B64[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? B64[v & 63] : '=';
    }
    *o = 0;
    return out;
}

static int b64_val(char ch)
{
    const char *p = ch ? strchr(B64, ch) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* Decodes s (NUL-terminated copy in *out, its length in *len); -1 when not base64. */
static int b64_dec(const char *s, char **out, size_t *len)
{
    size_t n = strlen(s);
    if (n % 4)
        return -1;
    char *o = malloc(n / 4 * 3 + 1);
    if (!o)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int a = b64_val(s[i]), b = b64_val(s[i + 1]), c = b64_val(s[i + 2]), d = b64_val(s[i + 3]);
        int last = i + 4 == n;
        int pad2 = last && s[i + 2] == '=' && s[i + 3] == '=', pad1 = last && !pad2 && s[i + 3] == '=';
        if (a < 0 || b < 0 || (c < 0 && !pad2) || (d < 0 && !pad2 && !pad1)) {
            free(o);
            return -1;
        }
        unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (c < 0 ? 0 : (unsigned)c << 6) | (d < 0 ? 0 : (unsigned)d);
        o[k++] = (char)(v >> 16);
        if (!pad2)
            o[k++] = (char)(v >> 8 & 255);
        if (!pad2 && !pad1)
            o[k++] = (char)(v & 255);
    }
    o[k] = 0;
    *out = o;
    *len = k;
    return 0;
}

/* ---- JSON helpers: what the network says is checked before use ---- */

/* A 64-bit field sent as a decimal string (or, leniently, a whole number): 0 and *v,
 * or -1 when missing or malformed. */
static int j_i64(const cJSON *o, const char *k, int64_t *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsString(x) && x->valuestring[0]) {
        char *end;
        long long n = strtoll(x->valuestring, &end, 10);
        if (*end)
            return -1;
        *v = n;
        return 0;
    }
    if (cJSON_IsNumber(x) && x->valuedouble >= -9007199254740992.0 && x->valuedouble <= 9007199254740992.0 &&
        x->valuedouble == (double)(int64_t)x->valuedouble) {
        *v = (int64_t)x->valuedouble;
        return 0;
    }
    return -1;
}

static int add_i64(cJSON *o, const char *k, int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return cJSON_AddStringToObject(o, k, s) ? 0 : -1;
}

/* Adds k: base64(s) to o. */
static int add_b64(cJSON *o, const char *k, const char *s, size_t len)
{
    char *e = b64_enc(s, len);
    int bad = !e || !cJSON_AddStringToObject(o, k, e);
    free(e);
    return bad ? -1 : 0;
}

static int oom(void)
{
    return err_set(ERR_FATAL, "out of memory");
}

/* ---- the HTTP side ---- */

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    buf *b = user;
    return buf_append(b, p, size * n) ? 0 : size * n;
}

static int etcd_open(coord *c, const config *cfg)
{
    if (!cfg->coord.nendpoints)
        return err_set(ERR_CONFIG, "backend etcd needs endpoints");
    etcd *e = calloc(1, sizeof *e);
    if (!e)
        return oom();
    c->impl = e;
    buf_init(&e->body, ETCD_BODY_MAX);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(e);
        c->impl = NULL;
        return err_set(ERR_FATAL, "libcurl would not initialise");
    }
    e->h = curl_easy_init();
    e->headers = curl_slist_append(NULL, "Content-Type: application/json");
    e->endpoints = calloc(cfg->coord.nendpoints, sizeof *e->endpoints);
    int bad = !e->h || !e->headers || !e->endpoints;
    for (size_t i = 0; !bad && i < cfg->coord.nendpoints; i++) {
        char *u = strdup(cfg->coord.endpoints[i]);
        if (!(bad = !u)) {
            size_t l = strlen(u);
            while (l && u[l - 1] == '/') /* we append "/v3/..." */
                u[--l] = 0;
            e->endpoints[e->n++] = u;
        }
    }
    if (bad) {
        c->be->close(c);
        return oom();
    }
    return 0;
}

/* Network-free: the leases this process held end on their own (release first to give
 * the key up at once). */
static void etcd_close(coord *c)
{
    etcd *e = c->impl;
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->endpoints[i]);
    free(e->endpoints);
    curl_slist_free_all(e->headers);
    if (e->h)
        curl_easy_cleanup(e->h);
    buf_free(&e->body);
    free(e->sl);
    free(e);
    c->impl = NULL;
    curl_global_cleanup();
}

/* The gateway's own words for a refusal ({"error","message","code"}). */
static void refusal(const buf *b, char *out, size_t cap)
{
    cJSON *o = cJSON_ParseWithLength((const char *)b->data, b->len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
    snprintf(out, cap, "%s", cJSON_IsString(m) ? m->valuestring : "no reason given");
    cJSON_Delete(o);
}

/* One POST to endpoint i within timeout_ms: 0 and *resp (a JSON object) on 2xx;
 * 1 when the next endpoint should be tried (why in last); else an error code. */
static int post_one(etcd *e, size_t i, const char *path, const char *body, int64_t timeout_ms, cJSON **resp,
                    char *last, size_t cap)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", e->endpoints[i], path);
    char cerr[CURL_ERROR_SIZE] = "";
    buf_reset(&e->body);
    CURL *h = e->h;
    curl_easy_reset(h);
    long ms = timeout_ms < 1 ? 1 : (long)timeout_ms;
    if (curl_easy_setopt(h, CURLOPT_URL, url) || curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers) || curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms) ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms) || curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) || curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr) ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) || curl_easy_setopt(h, CURLOPT_WRITEDATA, &e->body))
        return err_set(ERR_FATAL, "libcurl refused an option");
    CURLcode res = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (res != CURLE_OK) {
        snprintf(last, cap, "%s: %s", e->endpoints[i], cerr[0] ? cerr : curl_easy_strerror(res));
        return 1;
    }
    if (status >= 500 || status == 429) { /* no leader, a timeout inside etcd: another member may do */
        char why[256];
        refusal(&e->body, why, sizeof why);
        snprintf(last, cap, "%s: HTTP %ld: %s", e->endpoints[i], status, why);
        return 1;
    }
    if (status < 200 || status > 299) {
        char why[256];
        refusal(&e->body, why, sizeof why);
        return err_set(status == 404 ? ERR_NOTFOUND : ERR_SOURCE, "%s: HTTP %ld: %s", e->endpoints[i], status, why);
    }
    *resp = cJSON_ParseWithLength((const char *)e->body.data, e->body.len);
    if (!cJSON_IsObject(*resp)) {
        cJSON_Delete(*resp);
        *resp = NULL;
        snprintf(last, cap, "%s: the answer is not a JSON object", e->endpoints[i]);
        return 1;
    }
    return 0;
}

/* POSTs req to path on the endpoints in turn, from the one that answered last, each
 * given its share of the time left. what names the operation in messages. */
static int call(coord *c, const char *what, const char *path, const cJSON *req, int64_t deadline_ms, cJSON **resp)
{
    etcd *e = c->impl;
    *resp = NULL;
    char *body = cJSON_PrintUnformatted(req);
    if (!body)
        return oom();
    char last[512] = "no endpoint tried";
    int rc = 1, late = 0;
    for (size_t k = 0; k < e->n && rc == 1; k++) {
        int64_t left = deadline_ms - proc_now_ms();
        if (left <= 0) {
            late = 1;
            break;
        }
        size_t i = (e->cur + k) % e->n;
        rc = post_one(e, i, path, body, k + 1 == e->n ? left : left / (int64_t)(e->n - k), resp, last, sizeof last);
        if (rc == 0)
            e->cur = i;
    }
    free(body);
    if (rc == 1)
        rc = err_set(ERR_SOURCE, "%s: %s (last: %s)", what,
                     late || deadline_ms - proc_now_ms() <= 0 ? "no answer from etcd by the deadline"
                                                               : "no etcd endpoint answered",
                     last);
    else if (rc)
        err_wrap("%s", what);
    return rc;
}

/* ---- keys ---- */

static void key_leader(const char *group, char *out, size_t cap)
{
    snprintf(out, cap, "/lifeline/%s/leader", group);
}

/* A request {"key": base64(key)} (plus range_end when end is not NULL). */
static cJSON *range_req(const char *key, const char *end)
{
    cJSON *r = cJSON_CreateObject();
    if (!r || add_b64(r, "key", key, strlen(key)) || (end && add_b64(r, "range_end", end, strlen(end)))) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* The first kv of a range answer, or NULL. */
static const cJSON *first_kv(const cJSON *range)
{
    const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(range, "kvs");
    const cJSON *kv = cJSON_IsArray(kvs) ? cJSON_GetArrayItem(kvs, 0) : NULL;
    return cJSON_IsObject(kv) ? kv : NULL;
}

/* A kv's lease (0 when none) and create revision: -1 when the revision is unusable. */
static int kv_ids(const cJSON *kv, int64_t *lease, int64_t *create, int64_t *mod)
{
    *lease = 0;
    if (j_i64(kv, "lease", lease))
        *lease = 0; /* etcd leaves out a zero */
    if (j_i64(kv, "create_revision", create) || *create <= 0)
        return -1;
    if (mod && (j_i64(kv, "mod_revision", mod) || *mod <= 0))
        return -1;
    return 0;
}

/* The holder in a leader kv: its epoch always; member and node when its value is the
 * JSON we write (anything else: a holder we cannot name, still a holder). */
static int kv_leader(const cJSON *kv, coord_leader *out)
{
    int64_t lease;
    memset(out, 0, sizeof *out);
    if (kv_ids(kv, &lease, &out->epoch, NULL))
        return err_set(ERR_SOURCE, "etcd's leader key has no create revision");
    out->exists = 1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(kv, "value");
    char *text;
    size_t len;
    if (cJSON_IsString(v) && !b64_dec(v->valuestring, &text, &len)) {
        cJSON *o = cJSON_ParseWithLength(text, len);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "member");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "node");
        if (cJSON_IsString(m))
            snprintf(out->holder, sizeof out->holder, "%s", m->valuestring);
        if (cJSON_IsString(n))
            snprintf(out->node, sizeof out->node, "%s", n->valuestring);
        cJSON_Delete(o);
        free(text);
    }
    return 0;
}

/* Reads group's leader key: *kv_out (owned by *resp) NULL when absent. */
static int read_leader(coord *c, const char *group, int64_t deadline_ms, cJSON **resp, const cJSON **kv_out)
{
    char key[128];
    key_leader(group, key, sizeof key);
    cJSON *req = range_req(key, NULL);
    if (!req)
        return oom();
    int rc = call(c, "reading the leader key", "/v3/kv/range", req, deadline_ms, resp);
    cJSON_Delete(req);
    *kv_out = rc ? NULL : first_kv(*resp);
    return rc;
}

/* ---- leases ---- */

static int64_t ttl_seconds(int64_t ttl_ms)
{
    int64_t s = (ttl_ms + 999) / 1000; /* never shorter than asked: the caller's clock stays the stricter */
    return s < COORD_MIN_TTL_MS / 1000 ? COORD_MIN_TTL_MS / 1000 : s;
}

static int lease_grant(coord *c, int64_t ttl_ms, int64_t deadline_ms, int64_t *lease)
{
    cJSON *req = cJSON_CreateObject(), *resp = NULL;
    if (!req || !cJSON_AddNumberToObject(req, "TTL", (double)ttl_seconds(ttl_ms))) {
        cJSON_Delete(req);
        return oom();
    }
    int rc = call(c, "granting a lease", "/v3/lease/grant", req, deadline_ms, &resp);
    cJSON_Delete(req);
    int64_t ttl;
    if (!rc && (j_i64(resp, "ID", lease) || *lease == 0 || j_i64(resp, "TTL", &ttl) || ttl <= 0))
        rc = err_set(ERR_SOURCE, "granting a lease: etcd's answer has no lease ID or TTL");
    cJSON_Delete(resp);
    return rc;
}

/* A call whose request is {"ID": lease}; *resp the answer (to delete). */
static int lease_call(coord *c, const char *what, const char *path, int64_t lease, int64_t deadline_ms,
                      cJSON **resp)
{
    cJSON *req = cJSON_CreateObject();
    *resp = NULL;
    if (!req || add_i64(req, "ID", lease)) {
        cJSON_Delete(req);
        return oom();
    }
    int rc = call(c, what, path, req, deadline_ms, resp);
    cJSON_Delete(req);
    return rc;
}

/* 0: lease refreshed; ERR_NOTFOUND: it had ended (200 without TTL, or 404). */
static int lease_keepalive(coord *c, int64_t lease, int64_t deadline_ms)
{
    cJSON *resp;
    int rc = lease_call(c, "renewing a lease", "/v3/lease/keepalive", lease, deadline_ms, &resp);
    if (!rc) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(resp, "result");
        int64_t ttl;
        if (!cJSON_IsObject(r) || j_i64(r, "TTL", &ttl) || ttl <= 0)
            rc = err_set(ERR_NOTFOUND, "renewing a lease: it had already ended");
    }
    cJSON_Delete(resp);
    return rc;
}

/* 0 also when the lease had already ended. */
static int lease_revoke(coord *c, int64_t lease, int64_t deadline_ms)
{
    cJSON *resp;
    int rc = lease_call(c, "revoking a lease", "/v3/lease/revoke", lease, deadline_ms, &resp);
    cJSON_Delete(resp);
    if (rc == ERR_NOTFOUND) {
        err_clear();
        rc = 0;
    }
    return rc;
}

/* A lease not kept after all: revoked, best effort (it ends by itself anyway); the
 * error being reported stays the one before. */
static void revoke_quietly(coord *c, int64_t lease, int64_t deadline_ms)
{
    err_saved s;
    err_save(&s);
    if (lease_revoke(c, lease, deadline_ms))
        err_clear();
    err_restore(&s);
}

/* ---- the leader key ---- */

/* The txn that creates group's key under lease only when it is absent, reading it
 * back either way. */
static cJSON *create_txn(coord *c, const char *group, const char *member, int64_t lease)
{
    char key[128], *value = NULL;
    key_leader(group, key, sizeof key);
    cJSON *v = cJSON_CreateObject();
    if (v && cJSON_AddStringToObject(v, "member", member) && cJSON_AddStringToObject(v, "node", c->node))
        value = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    cJSON *t = cJSON_CreateObject(), *cmp = cJSON_CreateObject(), *put = cJSON_CreateObject();
    cJSON *cmps = cJSON_AddArrayToObject(t, "compare"), *ok = cJSON_AddArrayToObject(t, "success");
    cJSON *ko = cJSON_AddArrayToObject(t, "failure");
    int bad = !value || !t || !cmp || !put || !cmps || !ok || !ko;
    bad = bad || add_b64(cmp, "key", key, strlen(key)) || !cJSON_AddStringToObject(cmp, "target", "CREATE") ||
          !cJSON_AddStringToObject(cmp, "result", "EQUAL") || add_i64(cmp, "create_revision", 0);
    bad = bad || add_b64(put, "key", key, strlen(key)) || add_b64(put, "value", value, strlen(value)) ||
          add_i64(put, "lease", lease);
    cJSON *op_put = bad ? NULL : cJSON_CreateObject();
    cJSON *op_get1 = bad ? NULL : cJSON_CreateObject(), *op_get2 = bad ? NULL : cJSON_CreateObject();
    bad = bad || !op_put || !op_get1 || !op_get2 || !cJSON_AddItemToArray(cmps, cmp);
    if (!bad)
        cmp = NULL;
    bad = bad || !cJSON_AddItemToObject(op_put, "request_put", put);
    if (!bad)
        put = NULL;
    bad = bad || !cJSON_AddItemToObject(op_get1, "request_range", range_req(key, NULL)) ||
          !cJSON_AddItemToObject(op_get2, "request_range", range_req(key, NULL));
    bad = bad || !cJSON_AddItemToArray(ok, op_put);
    if (!bad)
        op_put = NULL;
    bad = bad || !cJSON_AddItemToArray(ok, op_get1);
    if (!bad)
        op_get1 = NULL;
    bad = bad || !cJSON_AddItemToArray(ko, op_get2);
    if (!bad)
        op_get2 = NULL;
    cJSON_Delete(cmp);
    cJSON_Delete(put);
    cJSON_Delete(op_put);
    cJSON_Delete(op_get1);
    cJSON_Delete(op_get2);
    free(value);
    if (bad) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

/* The kv read back by the create txn (the last response's range), or NULL. */
static const cJSON *txn_kv(const cJSON *resp)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(resp, "responses");
    int n = cJSON_IsArray(rs) ? cJSON_GetArraySize(rs) : 0;
    const cJSON *last = n ? cJSON_GetArrayItem(rs, n - 1) : NULL;
    return first_kv(cJSON_GetObjectItemCaseSensitive(last, "response_range"));
}

/* Creates group's key for member under lease when nobody holds it. The key counts as
 * ours when it is attached to our lease, whatever "succeeded" says (absent on a failed
 * txn, and a retry of a txn that did apply fails). */
static int try_create(coord *c, const char *group, const char *member, int64_t lease, int64_t ttl_ms,
                      int64_t deadline_ms, int *won, int64_t *epoch, coord_leader *now)
{
    cJSON *req = create_txn(c, group, member, lease), *resp = NULL;
    if (!req)
        return oom();
    int rc = call(c, "taking the leader key", "/v3/kv/txn", req, deadline_ms, &resp);
    cJSON_Delete(req);
    const cJSON *kv = rc ? NULL : txn_kv(resp);
    coord_leader l = {0};
    int64_t kl = 0, cr;
    if (!rc && (!kv || kv_ids(kv, &kl, &cr, NULL) || kv_leader(kv, &l)))
        rc = err_set(ERR_SOURCE, "taking the leader key: etcd's answer does not show the key");
    cJSON_Delete(resp);
    if (rc)
        return rc;
    if (now)
        *now = l;
    *won = kl == lease;
    if (!*won)
        return 0;
    *epoch = l.epoch;
    coord_hold h = {.epoch = l.epoch, .lease = lease, .ttl_ms = ttl_ms};
    snprintf(h.group, sizeof h.group, "%s", group);
    snprintf(h.member, sizeof h.member, "%s", member);
    return coord_hold_set(c, &h);
}

/* Is group's key still ours (the lease alive, the key on it, the same epoch)? 0, or
 * ERR_NOTFOUND (our hold dropped), or ERR_SOURCE. */
static int etcd_renew(coord *c, const char *group, int64_t deadline_ms)
{
    coord_hold *h = coord_hold_find(c, group);
    if (!h)
        return err_set(ERR_NOTFOUND, "this process holds no lease");
    int64_t lease = h->lease, epoch = h->epoch;
    int rc = lease_keepalive(c, lease, deadline_ms);
    cJSON *resp = NULL;
    const cJSON *kv = NULL;
    rc = rc ? rc : read_leader(c, group, deadline_ms, &resp, &kv);
    int64_t kl, cr;
    if (!rc && (!kv || kv_ids(kv, &kl, &cr, NULL) || kl != lease || cr != epoch))
        rc = err_set(ERR_NOTFOUND, "the leader key is gone or no longer ours");
    cJSON_Delete(resp);
    if (rc == ERR_NOTFOUND)
        coord_hold_drop(c, group);
    return rc;
}

static int etcd_acquire(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms,
                        int *won, int64_t *epoch, coord_leader *now)
{
    coord_hold *h = coord_hold_find(c, group);
    if (h) { /* held here: keep it alive, and it answers for whoever asks */
        coord_hold held = *h;
        int rc = etcd_renew(c, group, deadline_ms);
        if (rc != ERR_NOTFOUND) {
            if (rc)
                return rc;
            *won = !strcmp(held.member, member);
            *epoch = *won ? held.epoch : 0;
            if (now)
                *now = (coord_leader){.exists = 1, .epoch = held.epoch};
            if (now) {
                snprintf(now->holder, sizeof now->holder, "%s", held.member);
                snprintf(now->node, sizeof now->node, "%s", c->node);
            }
            return 0;
        }
        err_clear(); /* ours no more: contend like anyone */
    }
    cJSON *resp = NULL;
    const cJSON *kv = NULL;
    int rc = read_leader(c, group, deadline_ms, &resp, &kv);
    if (!rc && kv) { /* held: no lease to grant and revoke */
        coord_leader l;
        rc = kv_leader(kv, &l);
        if (!rc && now)
            *now = l;
        cJSON_Delete(resp);
        return rc;
    }
    cJSON_Delete(resp);
    int64_t lease = 0;
    rc = rc ? rc : lease_grant(c, ttl_ms, deadline_ms, &lease);
    rc = rc ? rc : try_create(c, group, member, lease, ttl_ms, deadline_ms, won, epoch, now);
    if (lease && (rc || !*won))
        revoke_quietly(c, lease, deadline_ms);
    return rc;
}

static int etcd_release(coord *c, const char *group, int64_t deadline_ms)
{
    coord_hold *h = coord_hold_find(c, group);
    if (!h)
        return 0;
    int64_t lease = h->lease;
    /* never renewed again, even when the store does not hear of it now (it then lets
     * the key go when the lease ends) */
    coord_hold_drop(c, group);
    return lease_revoke(c, lease, deadline_ms);
}

/* Deletes group's key as read (mod_revision mod): whoever holds it loses it. */
static int remove_holder(coord *c, const char *group, int64_t lease, int64_t mod, int64_t deadline_ms)
{
    int rc = lease ? lease_revoke(c, lease, deadline_ms) : 0;
    if (rc)
        return rc;
    /* a key put without a lease (by hand): delete it unless it changed since read */
    char key[128];
    key_leader(group, key, sizeof key);
    cJSON *t = cJSON_CreateObject(), *cmp = cJSON_CreateObject(), *op = cJSON_CreateObject(), *resp = NULL;
    cJSON *cmps = cJSON_AddArrayToObject(t, "compare"), *ok = cJSON_AddArrayToObject(t, "success");
    int bad = !t || !cmp || !op || !cmps || !ok || add_b64(cmp, "key", key, strlen(key)) ||
              !cJSON_AddStringToObject(cmp, "target", "MOD") || !cJSON_AddStringToObject(cmp, "result", "EQUAL") ||
              add_i64(cmp, "mod_revision", mod);
    bad = bad || !cJSON_AddItemToArray(cmps, cmp);
    if (!bad)
        cmp = NULL;
    bad = bad || !cJSON_AddItemToObject(op, "request_delete_range", range_req(key, NULL));
    bad = bad || !cJSON_AddItemToArray(ok, op);
    if (!bad)
        op = NULL;
    cJSON_Delete(cmp);
    cJSON_Delete(op);
    rc = bad ? oom() : call(c, "removing the leader key", "/v3/kv/txn", t, deadline_ms, &resp);
    cJSON_Delete(t);
    cJSON_Delete(resp);
    return rc;
}

static int etcd_seize(coord *c, const char *group, const char *member, int64_t ttl_ms, int64_t deadline_ms,
                      int64_t *epoch)
{
    int64_t lease = 0;
    int rc = lease_grant(c, ttl_ms, deadline_ms, &lease), won = 0;
    for (int i = 0; !rc && !won && i < ETCD_SEIZE_TRIES; i++) {
        cJSON *resp = NULL;
        const cJSON *kv = NULL;
        rc = read_leader(c, group, deadline_ms, &resp, &kv);
        int64_t kl = 0, cr, mod;
        if (!rc && kv && kv_ids(kv, &kl, &cr, &mod))
            rc = err_set(ERR_SOURCE, "etcd's leader key has no revisions");
        int present = !rc && kv;
        cJSON_Delete(resp);
        if (!rc) /* a new epoch even for the holder: its lease (if the key is still on it) is revoked below */
            coord_hold_drop(c, group);
        if (present && kl != lease)
            rc = remove_holder(c, group, kl, mod, deadline_ms);
        rc = rc ? rc : try_create(c, group, member, lease, ttl_ms, deadline_ms, &won, epoch, NULL);
    }
    if (!rc && !won)
        rc = err_set(ERR_SOURCE, "seizing: another member took the key %d times in a row",
                     ETCD_SEIZE_TRIES);
    if (rc && lease)
        revoke_quietly(c, lease, deadline_ms);
    return rc;
}

static int etcd_leader_get(coord *c, const char *group, int64_t deadline_ms, coord_leader *out)
{
    cJSON *resp = NULL;
    const cJSON *kv = NULL;
    int rc = read_leader(c, group, deadline_ms, &resp, &kv);
    if (!rc && kv)
        rc = kv_leader(kv, out);
    cJSON_Delete(resp);
    return rc;
}

/* ---- members' status ---- */

static status_lease *sl_find(etcd *e, const char *group)
{
    for (size_t i = 0; i < e->nsl; i++)
        if (!strcmp(e->sl[i].group, group))
            return &e->sl[i];
    return NULL;
}

/* A live status lease of ttl for group: the one we have, refreshed, else a new one. */
static int status_lease_get(coord *c, const char *group, int64_t ttl_ms, int64_t deadline_ms, int64_t *lease)
{
    etcd *e = c->impl;
    status_lease *s = sl_find(e, group);
    if (s && s->ttl_s == ttl_seconds(ttl_ms)) {
        int rc = lease_keepalive(c, s->lease, deadline_ms);
        if (rc != ERR_NOTFOUND) {
            *lease = s->lease;
            return rc;
        }
        err_clear();
    }
    if (!s) {
        if (array_grow(&e->sl, &e->capsl, e->nsl + 1, sizeof *e->sl, 4))
            return oom();
        s = &e->sl[e->nsl++];
        memset(s, 0, sizeof *s);
        snprintf(s->group, sizeof s->group, "%s", group);
    }
    s->lease = 0;
    int rc = lease_grant(c, ttl_ms, deadline_ms, &s->lease);
    s->ttl_s = ttl_seconds(ttl_ms);
    *lease = s->lease;
    return rc;
}

static int status_put_once(coord *c, const char *key, const char *json, int64_t lease, int64_t deadline_ms)
{
    cJSON *req = cJSON_CreateObject(), *resp = NULL;
    if (!req || add_b64(req, "key", key, strlen(key)) || add_b64(req, "value", json, strlen(json)) ||
        add_i64(req, "lease", lease)) {
        cJSON_Delete(req);
        return oom();
    }
    int rc = call(c, "publishing a member's status", "/v3/kv/put", req, deadline_ms, &resp);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

static int etcd_status_put(coord *c, const char *group, const char *member, const char *json, int64_t ttl_ms,
                           int64_t deadline_ms)
{
    char key[160];
    snprintf(key, sizeof key, "/lifeline/%s/status/%s", group, member);
    int64_t lease = 0;
    int rc = status_lease_get(c, group, ttl_ms, deadline_ms, &lease);
    rc = rc ? rc : status_put_once(c, key, json, lease, deadline_ms);
    if (rc == ERR_NOTFOUND) { /* the lease ended between the keepalive and the put */
        err_clear();
        status_lease *s = sl_find(c->impl, group);
        if (s)
            s->ttl_s = 0; /* forces a new grant */
        rc = status_lease_get(c, group, ttl_ms, deadline_ms, &lease);
        rc = rc ? rc : status_put_once(c, key, json, lease, deadline_ms);
    }
    return rc ? err_wrap("member %s", member) : 0;
}

static int etcd_status_list(coord *c, const char *group, int64_t deadline_ms, coord_status **out, size_t *n)
{
    char prefix[128], end[128];
    snprintf(prefix, sizeof prefix, "/lifeline/%s/status/", group);
    snprintf(end, sizeof end, "/lifeline/%s/status0", group); /* '0' follows '/' */
    cJSON *req = range_req(prefix, end), *resp = NULL;
    if (!req)
        return oom();
    int rc = call(c, "reading members' status", "/v3/kv/range", req, deadline_ms, &resp);
    cJSON_Delete(req);
    const cJSON *kvs = rc ? NULL : cJSON_GetObjectItemCaseSensitive(resp, "kvs");
    const cJSON *kv, *all = cJSON_IsArray(kvs) ? kvs : NULL;
    size_t cap = 0, plen = strlen(prefix);
    cJSON_ArrayForEach(kv, all)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(kv, "key"), *v = cJSON_GetObjectItemCaseSensitive(kv, "value");
        char *key = NULL, *val = NULL;
        size_t klen, vlen = 0;
        int ok = cJSON_IsString(k) && !b64_dec(k->valuestring, &key, &klen);
        /* a value may be empty: etcd then leaves the field out */
        ok = ok && (!v || (cJSON_IsString(v) && !b64_dec(v->valuestring, &val, &vlen)));
        const char *m = ok && klen > plen && !memcmp(key, prefix, plen) ? key + plen : NULL;
        if (m && strlen(m) == klen - plen && strlen(m) < 64 && !strchr(m, '/') &&
            coord_status_add(out, n, &cap, m, val ? val : "", vlen))
            rc = err_last();
        free(key);
        free(val);
        if (rc)
            break;
    }
    cJSON_Delete(resp);
    if (rc) {
        coord_status_free(out, *n);
        *n = 0;
        return rc;
    }
    return 0;
}

const coord_backend coord_etcd_backend = {
    .name = "etcd",
    .open = etcd_open,
    .close = etcd_close,
    .acquire = etcd_acquire,
    .renew = etcd_renew,
    .release = etcd_release,
    .seize = etcd_seize,
    .leader_get = etcd_leader_get,
    .leader_last = etcd_leader_get,
    .status_put = etcd_status_put,
    .status_list = etcd_status_list,
};
