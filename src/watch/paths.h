/* paths — where the watch agent and the commands that talk to it keep their state:
 * one folder (the SQLite state database, the control socket), chosen in one place so
 * that `lifeline watch`, `start`, `stop` and `status` always agree on it. */
#ifndef LL_WATCH_PATHS_H
#define LL_WATCH_PATHS_H

#include <stddef.h>

#include "../core/err.h"

typedef struct config config;

/* The state folder: [watch] state-dir; else $LIFELINE_STATE_DIR (the folder the local
 * audit copy uses); else /var/lib/lifeline for root; else $XDG_STATE_HOME/lifeline or
 * ~/.local/state/lifeline. cfg may be NULL. Nothing is created. */
int watch_state_path(const config *cfg, char *out, size_t cap) WUR;
/* <state folder>/state.db, the folder created (0700) when missing. */
int watch_state_db_path(const config *cfg, char *out, size_t cap) WUR;

#endif
