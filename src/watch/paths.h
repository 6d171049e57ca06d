/* paths — where the watch agent and the commands that talk to it keep their state:
 * one folder (the SQLite state database, the lock file, the control socket), chosen
 * in one place so that `lifeline watch`, `start`, `stop`, `status`, `pause` and
 * `incidents` always agree on it. */
#ifndef LL_WATCH_PATHS_H
#define LL_WATCH_PATHS_H

#include <stddef.h>

#include "../core/err.h"

typedef struct config config;

/* The state folder: [watch] state-dir of cfg (cfg may be NULL); else
 * $LIFELINE_STATE_DIR (the folder the local audit copy uses too); else
 * /var/lib/lifeline for root; else $XDG_STATE_HOME/lifeline or
 * ~/.local/state/lifeline. Creates nothing. ERR_CONFIG when it does not fit. */
int watch_state_dir(const config *cfg, char *out, size_t cap) WUR;
/* The same (the name start and stop use). */
int watch_state_path(const config *cfg, char *out, size_t cap) WUR;
/* <state folder>/NAME ("state.db", "agent.lock", "control.sock"); creates nothing. */
int watch_state_file(const config *cfg, const char *name, char *out, size_t cap) WUR;
/* <state folder>/state.db, the folder created (0700) when missing. */
int watch_state_db_path(const config *cfg, char *out, size_t cap) WUR;

#endif
