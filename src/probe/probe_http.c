/* probe_http — http(s):// passes on the expected status (default any 2xx or 3xx) and,
 * when asked, a substring of the body. libcurl with CURLOPT_TIMEOUT_MS for the whole
 * exchange (its threaded resolver honours it too); no redirects are followed. The
 * detail never shows the URL, which may carry credentials. registry:URL's plain check
 * (probe_registry.c) comes here with expect_status PROBE_REGISTRY_STATUS. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "probe_impl.h"

/* The body is kept up to this size, and only when the probe looks into it: a health
 * page is small, and a huge one must not cost memory. It grows as it comes (hundreds of
 * probes may be in flight on the agent's batch: probe_batch.c). */
#define PROBE_BODY_MAX (64 * 1024)

struct probe_http_req {
    CURL *h;
    const probe_spec *spec;
    struct curl_slist *headers;
    char *data;
    size_t len, cap;
    int keep; /* the body is looked into */
    int full; /* a growth failed: the body is cut short */
};

static size_t keep_body(char *ptr, size_t size, size_t n, void *user)
{
    probe_http_req *b = user;
    size_t len = size * n;
    if (!b->keep || b->full)
        return len;
    size_t take = len < PROBE_BODY_MAX - b->len ? len : PROBE_BODY_MAX - b->len;
    if (b->len + take + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + take + 1)
            cap *= 2;
        if (cap > PROBE_BODY_MAX + 1)
            cap = PROBE_BODY_MAX + 1;
        char *more = realloc(b->data, cap);
        if (!more) {
            b->full = 1;
            return len;
        }
        b->data = more;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, take);
    b->len += take;
    b->data[b->len] = '\0';
    return len;
}

static int configure(CURL *h, const probe_spec *spec, const char *url, long timeout_ms, probe_http_req *b,
                     struct curl_slist *headers)
{
    const char *method = spec->method ? spec->method : "GET";
    int bad = curl_easy_setopt(h, CURLOPT_URL, url) || curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) ||
              curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) ||
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") ||
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) ||
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_body) || curl_easy_setopt(h, CURLOPT_WRITEDATA, b) ||
              curl_easy_setopt(h, CURLOPT_USERAGENT, "lifeline-probe") ||
              /* a fresh connection each time, as HAProxy's checks: a kept one could pass
               * while the service accepts no new ones */
              curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L) || curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) ||
              (headers && curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers));
    if (!strcmp(method, "HEAD"))
        bad = bad || curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET"))
        bad = bad || curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    return bad;
}

static void judge(const probe_spec *spec, long status, const probe_http_req *b, probe_result *out)
{
    if (spec->expect_status == PROBE_REGISTRY_STATUS) {
        /* the registry API answers /v2/ with 200, or 401 when it wants a login: both
         * mean it serves */
        if (status == 200 || status == 401)
            probe_set(out, PROBE_HEALTHY, "HTTP %ld from /v2/", status);
        else
            probe_set(out, PROBE_FAILED, "HTTP %ld from /v2/, expected 200 or 401", status);
        return;
    }
    int status_ok = spec->expect_status ? status == spec->expect_status : status >= 200 && status < 400;
    if (!status_ok) {
        if (spec->expect_status)
            probe_set(out, PROBE_FAILED, "HTTP %ld, expected %d", status, spec->expect_status);
        else
            probe_set(out, PROBE_FAILED, "HTTP %ld", status);
    } else if (spec->body_contains && !strstr(b->data ? b->data : "", spec->body_contains)) {
        probe_set(out, PROBE_FAILED, "HTTP %ld, but the body does not contain '%s'", status, spec->body_contains);
    } else {
        probe_set(out, PROBE_HEALTHY, "HTTP %ld", status);
    }
}

/* One handle per thread, reset before each use: curl keeps its internal multi handle
 * with it, so a probe costs no new socketpair and wakeup machinery (hundreds of probes a
 * second in the agent). Each probe still opens a fresh connection (configure()). */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
static int handle_key_ok;

static void handle_free(void *h) { curl_easy_cleanup(h); }
static void handle_key_make(void) { handle_key_ok = pthread_key_create(&handle_key, handle_free) == 0; }

static CURL *thread_handle(void)
{
    pthread_once(&handle_once, handle_key_make);
    CURL *h = handle_key_ok ? pthread_getspecific(handle_key) : NULL;
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h && handle_key_ok && pthread_setspecific(handle_key, h) != 0) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

probe_http_req *probe_http_start(CURL *h, const probe_spec *spec, const char *url, int64_t deadline_ms,
                                 probe_result *out)
{
    int64_t left = deadline_ms - probe_now_ms();
    probe_http_req *b = calloc(1, sizeof *b);
    if (b)
        *b = (probe_http_req){.h = h, .spec = spec, .keep = spec->body_contains != NULL};
    int no_memory = !b || !h;
    for (size_t i = 0; !no_memory && i < spec->nheaders; i++) {
        struct curl_slist *more = curl_slist_append(b->headers, spec->headers[i]);
        no_memory = !more;
        b->headers = more ? more : b->headers;
    }
    if (no_memory || left <= 0)
        probe_set(out, PROBE_FAILED, no_memory ? "out of memory" : "no time left");
    else if (configure(h, spec, url, (long)left, b, b->headers))
        probe_set(out, PROBE_FAILED, "libcurl refused the request's options");
    else
        return b;
    probe_http_done(b, CURLE_OK, NULL); /* frees b, resets h */
    return NULL;
}

void probe_http_done(probe_http_req *b, CURLcode rc, probe_result *out)
{
    if (!b)
        return;
    if (out) {
        long status = 0;
        curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            probe_set(out, PROBE_FAILED, "no answer within the timeout");
        else if (rc != CURLE_OK)
            probe_set(out, PROBE_FAILED, "%s", curl_easy_strerror(rc));
        else
            judge(b->spec, status, b, out);
    }
    if (b->h) /* the handle is kept for its next probe: it must not point at these */
        curl_easy_reset(b->h);
    curl_slist_free_all(b->headers);
    free(b->data);
    free(b);
}

void probe_http(const probe_spec *spec, const char *url, int64_t deadline_ms, probe_result *out)
{
    probe_http_req *b = probe_http_start(thread_handle(), spec, url, deadline_ms, out);
    if (b)
        probe_http_done(b, curl_easy_perform(b->h), out);
}
