/* agent — the watch agent (`lifeline watch`): one control loop on the monotonic clock
 * that probes every service, counts rise/fall, opens and closes incidents, recovers
 * (command, verification, backoff, max-recoveries), escalates and holds automation,
 * and hands every event to the evidence fan-out (state, audit, syslog, notifications).
 * It owns the state folder while it runs (a lock file: one agent per folder), serves
 * the control socket and HTTP, survives kill -9 (all it knows is in the state database)
 * and reloads its configuration on SIGHUP, keeping the old one when the new is bad. */
#ifndef LL_AGENT_H
#define LL_AGENT_H

#include "../config/config.h"
#include "../core/err.h"
#include "../repo/repo.h"

typedef struct agent_opts {
    const char *config_path; /* re-read on SIGHUP */
    config *cfg;             /* the configuration read at start; the agent takes it over */
    repo *audit_repo;        /* unlocked repository for the audit trail, or NULL (no trail) */
    int once;                /* tests: one probe round of every service, then exit */
} agent_opts;

/* Runs until SIGTERM or SIGINT (0), or a start-up failure (err_code: the state folder
 * unusable, another agent on it (ERR_LOCKED), the listen address taken). */
int agent_run(agent_opts *o) WUR;

#endif
