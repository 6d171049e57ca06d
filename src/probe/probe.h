/* probe — one health check of a service with a hard deadline: one table of functions
 * per probe kind (tcp://, http(s)://, exec:, redis:, postgres:, registry: with, under
 * mirror-of, a comparison with the upstream), each returning a state, the latency and
 * a one-line detail. No call blocks past the timeout; nothing here keeps state
 * between runs (rise/fall counting is health.h). */
#ifndef LL_PROBE_H
#define LL_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

typedef enum { PROBE_HEALTHY = 0, PROBE_DEGRADED = 1, PROBE_FAILED = 2 } probe_state;

typedef struct probe_spec {
    const char *target;        /* the configured probe: tcp://HOST:PORT, http(s)://..., exec:COMMAND, redis:SOURCE */
    int64_t timeout_ms;        /* hard deadline for the whole check */
    const char *method;        /* http: NULL = GET */
    int expect_status;         /* http: 0 = any 2xx or 3xx */
    const char *body_contains; /* http: NULL = no check of the body */
    const char *const *headers; /* http: "Name: value" lines sent with the request */
    size_t nheaders;
    /* redis:SOURCE: the source's address (HOST:PORT) and, when it has a password
     * file, what the caller read from it (never from the configuration itself) */
    const char *address, *user, *password;
    /* postgres:SOURCE: the source's conninfo (no password in it: libpq reads PGPASSFILE) */
    const char *conninfo;
    /* registry:URL with mirror-of: URL is a mirror of this upstream registry; each of
     * the repositories must serve the same tags and manifest digests (probe_registry.c) */
    const char *mirror_of;
    const char *const *repositories;
    size_t nrepositories;
} probe_spec;

typedef struct probe_result {
    probe_state state;
    int64_t latency_ms;
    char detail[256]; /* one line: what was seen ("HTTP 500", "connection refused") */
} probe_result;

/* Once per process, before any thread runs probes (libcurl's global state). */
int probe_global_init(void) WUR;
void probe_global_cleanup(void);
/* Runs one check. The outcome is in out, whatever it is; the return is an err_code
 * only when the spec itself is unusable (an unknown kind, an empty target). */
int probe_run(const probe_spec *spec, probe_result *out) WUR;
const char *probe_state_name(probe_state s);
/* 1 when name is a registry repository name a mirror-of probe accepts: the
 * distribution spec's grammar (lowercase, digits, '.', '_', '-' inside components
 * separated by '/'), at most 255 bytes. The configuration checks with it. */
int probe_registry_name_valid(const char *name);

typedef struct pool pool;
/* Runs n checks at once on the pool's threads and waits for all: the whole takes
 * about the longest timeout, not their sum. A spec probe_run refuses gives a failed
 * result naming why, so one bad spec spoils nothing else. results[i] is specs[i]'s. */
int probe_run_all(pool *p, const probe_spec *specs, size_t n, probe_result *results) WUR;

#endif
