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
/* paths — where the watch agent keeps its files: the state folder (the SQLite
 * database state.db, the control socket). One rule for the agent and every command
 * that reads what it wrote. */
/* paths — where the watch agent and the commands that talk to it keep their state:
 * one folder (the SQLite state database, the control socket), chosen in one place so
 * that `lifeline watch`, `start`, `stop` and `status` always agree on it. */
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
typedef struct config config;

/* The state folder: [watch] state-dir; else $LIFELINE_STATE_DIR (the folder the local
 * audit copy uses); else /var/lib/lifeline for root; else $XDG_STATE_HOME/lifeline or
 * ~/.local/state/lifeline. cfg may be NULL. Nothing is created. */
int watch_state_path(const config *cfg, char *out, size_t cap) WUR;
/* <state folder>/state.db, the folder created (0700) when missing. */
int watch_state_db_path(const config *cfg, char *out, size_t cap) WUR;

#endif
