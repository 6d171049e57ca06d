/* http — the agent's read-only HTTP side (libmicrohttpd): /health, /metrics (Prometheus
 * text), /api/status, /api/incidents[/ID] and the status page at /. It owns the listening
 * socket, the request handling and two pure renderers (page, metrics) from the agent's
 * JSON documents to text; the data itself comes from the agent through http_source.
 * The HA endpoints for proxies' health checks (/GROUP/MEMBER/primary...) are decided by
 * a pure function over the status document, http_ha_check. */
#ifndef LL_HTTP_H
#define LL_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../core/buf.h"
#include "../core/err.h"

/* What the server asks the agent for. The server calls at most one callback at a time
 * (it holds its own lock around them), from one of its threads, never the caller's:
 * the agent only has to be safe against its own loop. */
typedef struct http_source {
    void *ctx;
    /* a new cJSON the server frees: the status document; NULL = 503 */
    cJSON *(*status)(void *ctx);
    /* a new cJSON array of INCIDENT objects opened at or after since_ms, newest first
     * (NULL = 503) */
    cJSON *(*incidents)(void *ctx, int64_t since_ms);
    /* a new cJSON object with at least "groups" (the HA members, as in the status
     * document), for the HA endpoints; NULL: they read status instead */
    cJSON *(*groups)(void *ctx);
} http_source;

typedef struct http_server http_server;

/* Listens on addr ("HOST:PORT", "[IPv6]:PORT"; port 0 picks a free one) and serves
 * from two threads until http_stop. src is copied; src->ctx must outlive the server.
 * A bad address is ERR_USAGE, one that cannot be bound (in use, not on this host,
 * no permission) ERR_CONFIG, each naming the address. */
int http_start(const char *addr, const http_source *src, http_server **out) WUR;
/* The port actually bound (the one picked when listen asked for port 0). */
int http_port(const http_server *s);
/* Stops serving (waits for requests in progress) and frees; NULL-safe, sets *s NULL. */
void http_stop(http_server **s);

/* Pure renderers: any JSON in (missing or mistyped members are skipped, never trusted),
 * text appended to out. They fail only when out would pass its maximum. */
/* The status page: one self-contained HTML document. incidents is an array of INCIDENT
 * objects (may be NULL); now_ms is the clock the 90 days of history are drawn against. */
int http_render_page(const cJSON *status, const cJSON *incidents, int64_t now_ms, buf *out) WUR;
/* Prometheus text exposition format 0.0.4, every name prefixed lifeline_. */
int http_render_metrics(const cJSON *status, buf *out) WUR;

/* The endpoints for a proxy's health checks (http_ha.c), from the "groups" array of
 * the status document (NULL: the agent cannot say; such paths answer 503):
 *   /GROUP/MEMBER/primary, /read-write   200 when role "primary" and "lease" true
 *   /GROUP/MEMBER/replica[?lag=SIZE]      200 when role "standby", streaming, and with
 *                                         lag= when lag_bytes <= SIZE (1MB, 16kB, bytes)
 *   /GROUP/MEMBER/read-only[?lag=SIZE]    200 when either of the two above
 *   /GROUP/MEMBER/health                  200 when the server is up in any role
 *   /GROUP/KIND                           the same for the one member "here" (404 when
 *                                         this agent manages none or several of GROUP)
 * otherwise 503; an unknown group or member 404, a bad lag 400. query is the raw query
 * ("lag=1MB&..."), may be NULL. False when path is none of these (nothing is set but
 * *code 404 and *body NULL); true with *code and *body (a new object, may be NULL when
 * out of memory). */
bool http_ha_check(const cJSON *status, const char *path, const char *query, int *code, cJSON **body);

/* Component status of a service state as the status page names it ("operational",
 * "degraded", "partial-outage", "major-outage", "maintenance", "unknown"). */
const char *http_component_status(const char *state, const char *health);

#endif
