/* probe_impl — what the probe kinds (probe_tcp.c, probe_http.c, probe_exec.c) share
 * with probe.c: the monotonic clock and the result helpers. Not for other modules. */
#ifndef LL_PROBE_IMPL_H
#define LL_PROBE_IMPL_H

#include <curl/curl.h>

#include "../core/err.h"
#include "probe.h"

int64_t probe_now_ms(void);
/* Sets state and a formatted detail (control characters replaced); returns 0. */
int probe_set(probe_result *out, probe_state state, const char *fmt, ...) PRINTF(3, 4);

/* Connects to HOST:PORT ([v6]:PORT) by the deadline: 0 with a non-blocking socket in
 * *fd (out says "connected to ..."), or -1 with out failed and why. */
int probe_tcp_connect(const char *host_port, int64_t deadline_ms, int *fd, probe_result *out);

/* tcp:// on the agent's batch (probe_batch.c): 1 when HOST is a numeric address (the
 * batch's; a name needs a lookup, left to probe_run). begin starts a non-blocking
 * connect: 1 with the socket in *fd (wait for POLLOUT, then end), 0 when it is already
 * over (out set). end reads the outcome (or says the deadline passed: timed_out), closes
 * fd, and words the detail as probe_tcp does. */
int probe_tcp_numeric(const char *host_port);
int probe_tcp_begin(const char *host_port, int *fd, probe_result *out);
void probe_tcp_end(const char *host_port, int fd, int timed_out, probe_result *out);

/* http(s):// in parts (probe_http.c), for the batch's multi handle: start sets h up for
 * spec's request by the deadline and returns the request (NULL with out set when it
 * cannot); done words the finished transfer's outcome (rc) in out (NULL: no outcome),
 * frees the request and resets h for its next use. */
typedef struct probe_http_req probe_http_req;
probe_http_req *probe_http_start(CURL *h, const probe_spec *spec, const char *url, int64_t deadline_ms,
                                 probe_result *out);
void probe_http_done(probe_http_req *req, CURLcode rc, probe_result *out);

void probe_tcp(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);
void probe_http(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);
/* expect_status of registry probes: 200 or 401 */
#define PROBE_REGISTRY_STATUS (-401)
void probe_registry(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);
/* A Link header's value (`<URL>; rel="next"`) as the absolute URL of the next page in
 * out: a relative URL is put on origin (scheme://host:port); an absolute one must be
 * on origin. -1 when it is no next link, or one to elsewhere. For probe_registry.c. */
int probe_registry_next_link(const char *value, const char *origin, char *out, size_t cap);

void probe_redis(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);
void probe_postgres(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);
void probe_exec(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);

#endif
