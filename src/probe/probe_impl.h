/* probe_impl — what the probe kinds (probe_tcp.c, probe_http.c, probe_exec.c) share
 * with probe.c: the monotonic clock and the result helpers. Not for other modules. */
#ifndef LL_PROBE_IMPL_H
#define LL_PROBE_IMPL_H

#include "../core/err.h"
#include "probe.h"

int64_t probe_now_ms(void);
/* Sets state and a formatted detail (control characters replaced); returns 0. */
int probe_set(probe_result *out, probe_state state, const char *fmt, ...) PRINTF(3, 4);

/* Connects to HOST:PORT ([v6]:PORT) by the deadline: 0 with a non-blocking socket in
 * *fd (out says "connected to ..."), or -1 with out failed and why. */
int probe_tcp_connect(const char *host_port, int64_t deadline_ms, int *fd, probe_result *out);

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
