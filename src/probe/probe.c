/* probe — see probe.h. This file holds the table of kinds and the shared helpers. */
#define _GNU_SOURCE
#include "probe.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/pool.h"
#include "probe_impl.h"

int64_t probe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int probe_set(probe_result *out, probe_state state, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof out->detail, fmt, ap);
    va_end(ap);
    /* the detail comes partly from the service (an exec probe's output): one line */
    for (char *c = out->detail; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    out->state = state;
    return 0;
}

/* Every kind: the prefix of the target that selects it, and its function. */
static const struct {
    const char *prefix;
    int keep_prefix; /* http's function wants the whole URL */
    void (*run)(const probe_spec *spec, const char *rest, int64_t deadline_ms, probe_result *out);
} probe_kinds[] = {
    {"tcp://", 0, probe_tcp},
    {"http://", 1, probe_http},
    {"https://", 1, probe_http},
    {"exec:", 0, probe_exec},
    {"redis:", 0, probe_redis},
    {"postgres:", 0, probe_postgres},
    {"registry:", 0, probe_registry},
};

int probe_run(const probe_spec *spec, probe_result *out)
{
    memset(out, 0, sizeof *out);
    if (!spec->target || spec->timeout_ms <= 0)
        return err_set(ERR_USAGE, "probe: no target or no timeout");
    for (size_t i = 0; i < sizeof probe_kinds / sizeof *probe_kinds; i++) {
        size_t n = strlen(probe_kinds[i].prefix);
        if (strncmp(spec->target, probe_kinds[i].prefix, n))
            continue;
        int64_t start = probe_now_ms();
        probe_kinds[i].run(spec, spec->target + (probe_kinds[i].keep_prefix ? 0 : n), start + spec->timeout_ms,
                           out);
        out->latency_ms = probe_now_ms() - start;
        return 0;
    }
    return err_set(ERR_USAGE,
                   "probe '%s': not a kind this build runs (tcp://, http://, https://, exec:, redis:, postgres:, "
                   "registry:)",
                   spec->target);
}

typedef struct probe_job {
    const probe_spec *spec;
    probe_result *out;
} probe_job;

static int run_job(void *arg, unsigned worker)
{
    (void)worker;
    probe_job *j = arg;
    if (probe_run(j->spec, j->out) != 0)
        probe_set(j->out, PROBE_FAILED, "%s", err_msg());
    return 0;
}

int probe_run_all(pool *p, const probe_spec *specs, size_t n, probe_result *results)
{
    probe_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    if (!jobs)
        return err_set(ERR_FATAL, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        jobs[i] = (probe_job){.spec = &specs[i], .out = &results[i]};
        rc = pool_submit(p, run_job, &jobs[i]);
    }
    int wrc = pool_wait(p); /* always: no job may still point into jobs when it is freed */
    free(jobs);
    return rc ? rc : wrc;
}

const char *probe_state_name(probe_state s)
{
    return s == PROBE_HEALTHY ? "healthy" : s == PROBE_DEGRADED ? "degraded" : "failed";
}

int probe_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(ERR_FATAL, "libcurl: global initialisation failed");
    return 0;
}

void probe_global_cleanup(void)
{
    curl_global_cleanup();
}
