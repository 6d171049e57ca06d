/* paths — where the watch agent keeps its files: the state folder (the SQLite
 * database state.db, the control socket). One rule for the agent and every command
 * that reads what it wrote. */
#ifndef LL_WATCH_PATHS_H
#define LL_WATCH_PATHS_H

#include <stddef.h>

#include "../core/err.h"

struct config;

/* The state folder, into out: [watch] state-dir of cfg (may be NULL), else
 * $LIFELINE_STATE_DIR, else /var/lib/lifeline for root, else
 * $XDG_STATE_HOME/lifeline, else ~/.local/state/lifeline (the folder of the local
 * audit copy too: audit_local_path). Creates nothing. ERR_USAGE when it does not fit
 * in cap. */
int watch_state_dir(const struct config *cfg, char *out, size_t cap) WUR;

#endif
