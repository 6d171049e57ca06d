/* spec — the bridge from a [service "NAME"] section to the probe_spec that checks it:
 * the one place where the configuration's probe keys (probe, timeout, http-*,
 * mirror-of, repositories) and a postgres:/redis: probe's [source] section become
 * what probe_run takes. Used by the agent for every service and by `lifeline probe`
 * for one, so that an operator tests exactly what the agent will run. */
#ifndef LL_WATCH_SPEC_H
#define LL_WATCH_SPEC_H

#include "../config/config.h"
#include "../probe/probe.h"

/* What a spec holds beyond the configuration (a password read from its file, the
 * http-header list): opaque, freed by watch_spec_free. */
typedef struct watch_spec watch_spec;

/* Fills spec for service sv of cfg. spec points into cfg and into *owned: both must
 * outlive it. postgres:SOURCE takes the source's conninfo (its password stays in
 * PGPASSFILE); redis:SOURCE its address, user and the password read from its
 * password-file (never echoed in a message). ERR_CONFIG when the source is missing
 * or wrong, ERR_USAGE/ERR_IO naming the password file when it cannot be read. */
int watch_probe_spec(const config *cfg, const config_service *sv, probe_spec *spec, watch_spec **owned) WUR;
/* Wipes the password and frees; *owned is NULL after. */
void watch_spec_free(watch_spec **owned);
/* The kind of a probe target as the status document names it: "http", "tcp",
 * "exec", "postgres", "redis", "registry" (never the target: a URL may carry a
 * credential). */
const char *watch_probe_kind(const char *target);

#endif
