/* paths — where the agent keeps what it owns: the state folder ([watch] state-dir,
 * else $LIFELINE_STATE_DIR, else /var/lib/lifeline for root, else
 * $XDG_STATE_HOME/lifeline or ~/.local/state/lifeline: the audit trail's local copy
 * lives in the same place), its database, lock file and control socket. */
#ifndef LL_PATHS_H
#define LL_PATHS_H

#include <stddef.h>

#include "../config/config.h"

int watch_state_dir(const config *cfg, char *out, size_t cap) WUR;
/* <state folder>/NAME ("state.db", "agent.lock", "control.sock"). */
int watch_state_file(const config *cfg, const char *name, char *out, size_t cap) WUR;

#endif
