/* http — the server: the listening socket (bound here, so a bad or busy address is a
 * clear error), libmicrohttpd on a pool of two threads with bounded connections and
 * timeouts, and the routes. Read-only: GET and HEAD only, and OPTIONS for the HA
 * endpoints (HAProxy's httpchk may send it). */
#include "http.h"
#include "http_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../core/log.h"
#include "../core/text.h"

/* Bounds: a status page is read by a few people and scraped by a few Prometheus
 * servers; anything beyond waits in the backlog or is refused, never grows memory. */
#define HTTP_THREADS 2
#define HTTP_CONN_MAX 64
#define HTTP_CONN_PER_IP 16
#define HTTP_CONN_TIMEOUT_S 10
#define HTTP_CONN_MEMORY (32 * 1024) /* request line and headers must fit */
#define HTTP_BODY_MAX ((size_t)32 << 20)
#define HTTP_DEFAULT_SINCE_S (90LL * 86400)

struct http_server {
    struct MHD_Daemon *daemon;
    http_source src;
    pthread_mutex_t lock; /* one callback into the agent at a time */
    int port;
};

/* ---- the listening socket ---- */

/* "HOST:PORT" or "[V6]:PORT" into a socket address; ERR_USAGE naming what is wrong. */
static int parse_listen(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon, *h;
    size_t hl;
    uint64_t port;
    if (!addr || !*addr)
        return err_set(ERR_USAGE, "listen: empty address (want HOST:PORT, e.g. 127.0.0.1:8008)");
    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            return err_set(ERR_USAGE, "listen %s: an IPv6 address is written [ADDRESS]:PORT", addr);
        h = addr + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || strchr(addr, ':') != colon)
            return err_set(ERR_USAGE, "listen %s: want HOST:PORT (an IPv6 address in brackets)", addr);
        h = addr;
        hl = (size_t)(colon - addr);
    }
    if (hl == 0 || hl >= sizeof host)
        return err_set(ERR_USAGE, "listen %s: no address before the port", addr);
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!colon[1] || text_parse_u64(colon + 1, 65535, &port))
        return err_set(ERR_USAGE, "listen %s: the port must be a number from 0 to 65535", addr);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (addr[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
    } else if (addr[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
    } else {
        /* names are not resolved: what the agent binds must not depend on DNS at boot */
        return err_set(ERR_USAGE, "listen %s: '%s' is not an IP address (host names are not resolved)",
                       addr, host);
    }
    return 0;
}

static int bind_error(const char *addr)
{
    int e = errno;
    const char *why = e == EADDRINUSE      ? "address in use"
                      : e == EADDRNOTAVAIL ? "address not available on this host"
                      : e == EACCES        ? "permission denied (ports below 1024 need privileges)"
                                           : strerror(e);
    err_set(ERR_CONFIG, "listen %s: %s", addr, why);
    if (e == EADDRINUSE)
        err_hint("another program (or another agent) serves there: choose another [watch] listen");
    return ERR_CONFIG;
}

/* A bound, listening, non-blocking socket (the pool's threads all accept on it). */
static int open_listener(const char *addr, int *fd_out, int *port_out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = parse_listen(addr, &ss, &len), one = 1;
    if (rc)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_sys(ERR_CONFIG, "listen %s: socket", addr);
    /* a restarted agent rebinds at once over the old connections in TIME_WAIT */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        rc = bind_error(addr);
        close(fd);
        return rc;
    }
    len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        rc = err_sys(ERR_CONFIG, "listen %s: getsockname", addr);
        close(fd);
        return rc;
    }
    *port_out = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    *fd_out = fd;
    return 0;
}

/* ---- responses ---- */

/* The page needs inline styles and nothing else: no script, no image, no frame. */
#define HTTP_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " \
                 "form-action 'none'; frame-ancestors 'none'"

static enum MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *ctype, const void *body,
                               size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO; /* out of memory: MHD closes the connection */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", HTTP_CSP);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

#define CT_JSON "application/json; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* doc as compact JSON and a newline; doc is freed. */
static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned code, cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text)
        return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_JSON, "{\"error\":\"out of memory\"}\n", 26);
    size_t n = strlen(text);
    buf b;
    buf_init(&b, HTTP_BODY_MAX);
    enum MHD_Result ret;
    if (buf_append(&b, text, n) || buf_append(&b, "\n", 1))
        ret = respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_JSON, "{\"error\":\"too large\"}\n", 22);
    else
        ret = respond(c, code, CT_JSON, b.data, b.len);
    buf_free(&b);
    cJSON_free(text);
    return ret;
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return respond_json(c, code, o);
}

/* ---- the agent's data ---- */

/* One document from the agent (under the server's lock): an object, or NULL. */
static cJSON *get_doc(http_server *s, cJSON *(*fn)(void *ctx))
{
    if (!fn)
        return NULL;
    pthread_mutex_lock(&s->lock);
    cJSON *doc = fn(s->src.ctx);
    pthread_mutex_unlock(&s->lock);
    if (doc && !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static cJSON *get_status(http_server *s) { return get_doc(s, s->src.status); }

/* The HA endpoints need the members alone: the engine's own, read now, never waiting
 * for the agent's loop to build a whole status document. */
static cJSON *get_groups(http_server *s) { return s->src.groups ? get_doc(s, s->src.groups) : get_status(s); }

static cJSON *get_incidents(http_server *s, int64_t since_ms)
{
    if (!s->src.incidents)
        return NULL;
    pthread_mutex_lock(&s->lock);
    cJSON *list = s->src.incidents(s->src.ctx, since_ms);
    pthread_mutex_unlock(&s->lock);
    if (list && !cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- routes ---- */

static enum MHD_Result route_health(http_server *s, struct MHD_Connection *c)
{
    cJSON *st = get_status(s), *o = cJSON_CreateObject();
    const char *node = hj_str(st, "node");
    bool up = st != NULL;
    if (o) {
        cJSON_AddStringToObject(o, "status", up ? "ok" : "unavailable");
        if (node)
            cJSON_AddStringToObject(o, "node", node);
    }
    cJSON_Delete(st);
    return respond_json(c, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static enum MHD_Result route_status(http_server *s, struct MHD_Connection *c)
{
    cJSON *st = get_status(s);
    if (!st)
        return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "status unavailable");
    return respond_json(c, MHD_HTTP_OK, st);
}

/* A renderer's text as the response; 500 when it failed (the body too large). */
static enum MHD_Result respond_rendered(struct MHD_Connection *c, int rc, buf *b, const char *ctype)
{
    enum MHD_Result ret;
    if (rc) {
        LOG_WARN("http: rendering a response failed: %s", err_msg());
        ret = respond_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering failed");
    } else {
        ret = respond(c, MHD_HTTP_OK, ctype, b->data ? (const void *)b->data : "", b->len);
    }
    buf_free(b);
    return ret;
}

static enum MHD_Result route_metrics(http_server *s, struct MHD_Connection *c)
{
    cJSON *st = get_status(s);
    if (!st)
        return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "status unavailable");
    buf b;
    buf_init(&b, HTTP_BODY_MAX);
    int rc = http_render_metrics(st, &b);
    cJSON_Delete(st);
    return respond_rendered(c, rc, &b, CT_METRICS);
}

static enum MHD_Result route_page(http_server *s, struct MHD_Connection *c)
{
    static const char down[] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<meta http-equiv=\"refresh\" content=\"10\"><title>Status unavailable</title>"
                               "</head><body><h1 id=\"overall\" data-status=\"unknown\">Status unavailable"
                               "</h1><p>The agent cannot give its status right now.</p></body></html>\n";
    cJSON *st = get_status(s);
    if (!st)
        return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, CT_HTML, down, sizeof down - 1);
    int64_t now = now_ms();
    cJSON *incs = get_incidents(s, now - HTTP_DEFAULT_SINCE_S * 1000);
    buf b;
    buf_init(&b, HTTP_BODY_MAX);
    int rc = http_render_page(st, incs, now, &b);
    cJSON_Delete(st);
    cJSON_Delete(incs);
    return respond_rendered(c, rc, &b, CT_HTML);
}

/* The lag= arguments of the request as a query for http_ha_check (the others do not
 * matter to it); bounded: what does not fit is left out. */
typedef struct ha_query {
    char text[256];
    size_t len;
} ha_query;

static enum MHD_Result collect_lag(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    ha_query *q = cls;
    (void)kind;
    if (strcmp(key, "lag"))
        return MHD_YES;
    int n = snprintf(q->text + q->len, sizeof q->text - q->len, "%slag%s%s", q->len ? "&" : "",
                     value ? "=" : "", value ? value : "");
    if (n > 0 && (size_t)n < sizeof q->text - q->len)
        q->len += (size_t)n;
    else
        q->text[q->len] = '\0';
    return MHD_YES;
}

/* An HA endpoint (http_ha.c) when url is one; MHD_NO in *handled otherwise. */
static enum MHD_Result route_ha(http_server *s, struct MHD_Connection *c, const char *url, bool *handled)
{
    ha_query q = {.len = 0};
    q.text[0] = '\0';
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_lag, &q);
    cJSON *st = get_groups(s), *body = NULL;
    int code;
    *handled = http_ha_check(st, url, q.text, &code, &body);
    cJSON_Delete(st);
    if (!*handled)
        return MHD_NO;
    return respond_json(c, (unsigned)code, body);
}

/* ?since=DURATION (90d when absent, "all" for every one) as a time in ms. */
static int parse_since(const char *since, bool open_only, int64_t *since_ms)
{
    int64_t secs;
    if (!since) {
        /* open incidents are listed however old: an open one is never history */
        *since_ms = open_only ? 0 : now_ms() - HTTP_DEFAULT_SINCE_S * 1000;
        return 0;
    }
    if (!strcmp(since, "all")) {
        *since_ms = 0;
        return 0;
    }
    if (text_parse_interval(since, &secs) || secs < 0 || secs > 100LL * 366 * 86400)
        return -1;
    *since_ms = now_ms() - secs * 1000;
    return 0;
}

/* Keeps the open incidents of list (closed_ms absent or null). */
static void keep_open(cJSON *list)
{
    cJSON *inc = list ? list->child : NULL;
    while (inc) {
        cJSON *next = inc->next;
        int64_t closed;
        if (hj_int(inc, "closed_ms", &closed))
            cJSON_Delete(cJSON_DetachItemViaPointer(list, inc));
        inc = next;
    }
}

static enum MHD_Result route_incidents(http_server *s, struct MHD_Connection *c)
{
    const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
    const char *open = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "open");
    bool open_only = open && (!strcmp(open, "1") || !strcmp(open, "true"));
    int64_t since_ms;
    if (open && !open_only && strcmp(open, "0") && strcmp(open, "false"))
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "open: want 1 or 0");
    if (parse_since(since, open_only, &since_ms))
        return respond_error(c, MHD_HTTP_BAD_REQUEST, "since: want a duration such as 90d, 12h, 30m, or all");
    cJSON *list = get_incidents(s, since_ms);
    if (!list)
        return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "incidents unavailable");
    if (open_only)
        keep_open(list);
    return respond_json(c, MHD_HTTP_OK, list);
}

static enum MHD_Result route_incident(http_server *s, struct MHD_Connection *c, const char *idtext)
{
    uint64_t id;
    if (text_parse_u64(idtext, (uint64_t)1 << 53, &id))
        return respond_error(c, MHD_HTTP_NOT_FOUND, "no such incident");
    cJSON *list = get_incidents(s, 0), *inc;
    if (!list)
        return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "incidents unavailable");
    cJSON_ArrayForEach(inc, list) {
        int64_t have;
        if (hj_int(inc, "id", &have) && have == (int64_t)id) {
            cJSON *one = cJSON_DetachItemViaPointer(list, inc);
            cJSON_Delete(list);
            return respond_json(c, MHD_HTTP_OK, one);
        }
    }
    cJSON_Delete(list);
    return respond_error(c, MHD_HTTP_NOT_FOUND, "no such incident");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
    http_server *s = cls;
    (void)version, (void)upload_data, (void)upload_data_size, (void)req_cls;
    bool handled = false;
    enum MHD_Result ret;
    if (!strcmp(method, MHD_HTTP_METHOD_OPTIONS)) {
        ret = route_ha(s, c, url, &handled);
        return handled ? ret : respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: only GET and HEAD");
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "read-only: only GET and HEAD");
    if (!strcmp(url, "/"))
        return route_page(s, c);
    if (!strcmp(url, "/health"))
        return route_health(s, c);
    if (!strcmp(url, "/metrics"))
        return route_metrics(s, c);
    if (!strcmp(url, "/api/status"))
        return route_status(s, c);
    if (!strcmp(url, "/api/incidents"))
        return route_incidents(s, c);
    if (!strncmp(url, "/api/incidents/", 15))
        return route_incident(s, c, url + 15);
    ret = route_ha(s, c, url, &handled);
    if (handled)
        return ret;
    return respond_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    LOG_VERBOSE("http: %s", line);
}

/* ---- the server ---- */

int http_start(const char *addr, const http_source *src, http_server **out)
{
    int fd = -1, port = 0, rc;
    *out = NULL;
    if ((rc = open_listener(addr, &fd, &port)))
        return rc;
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return err_set(ERR_FATAL, "listen %s: out of memory", addr);
    }
    s->src = *src;
    s->port = port;
    pthread_mutex_init(&s->lock, NULL);
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (strchr(addr, '['))
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTP_CONN_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_CONN_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONN_MEMORY, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!s->daemon) {
        /* MHD may or may not have closed the socket it was given before failing */
        if (fcntl(fd, F_GETFD) != -1)
            close(fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return err_set(ERR_FATAL, "listen %s: the HTTP server did not start (libmicrohttpd refused)", addr);
    }
    *out = s;
    return 0;
}

int http_port(const http_server *s) { return s ? s->port : 0; }

void http_stop(http_server **sp)
{
    http_server *s = sp ? *sp : NULL;
    if (!s)
        return;
    MHD_stop_daemon(s->daemon); /* joins the threads, closes the socket */
    pthread_mutex_destroy(&s->lock);
    free(s);
    *sp = NULL;
}
