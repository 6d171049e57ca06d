/* paths — see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../config/config.h"

int watch_state_dir(const config *cfg, char *out, size_t cap)
{
    const char *env = getenv("LIFELINE_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (cfg && cfg->watch.state_dir)
    /* the same order as audit_local_path, with the configuration's word first: the
     * agent and the commands must agree on one folder */
    if (cfg && cfg->watch.state_dir && *cfg->watch.state_dir)
#include <string.h>
#include <unistd.h>

#include "../config/config.h"
#include "../core/fsutil.h"

int watch_state_path(const config *cfg, char *out, size_t cap)
{
    const char *env = getenv("LIFELINE_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    /* the same order as audit_local_path's folder, with the configuration first: an
     * agent started by systemd and a person at a shell must find the same database */
    if (cfg && cfg->watch.state_dir)
        n = snprintf(out, cap, "%s", cfg->watch.state_dir);
    else if (env && *env)
        n = snprintf(out, cap, "%s", env);
    else if (geteuid() == 0)
        n = snprintf(out, cap, "/var/lib/lifeline");
    else if (xdg && *xdg)
        n = snprintf(out, cap, "%s/lifeline", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.local/state/lifeline", home);
    else
        return err_set(ERR_CONFIG, "no state folder: set [watch] state-dir, LIFELINE_STATE_DIR or HOME");
        return err_set(ERR_CONFIG, "no state folder: neither [watch] state-dir, LIFELINE_STATE_DIR nor HOME is set");
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_CONFIG, "state folder path too long");
    return 0;
}

int watch_state_file(const config *cfg, const char *name, char *out, size_t cap)
{
    char dir[4000];
    int rc = watch_state_dir(cfg, dir, sizeof dir);
    if (rc)
        return rc;
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? err_set(ERR_CONFIG, "state folder path too long: %s", dir) : 0;
}
    else
        n = snprintf(out, cap, "%s/.local/state/lifeline", home ? home : "/tmp");
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_USAGE, "the state folder's path is too long (over %zu bytes)", cap - 1);
int watch_state_db_path(const config *cfg, char *out, size_t cap)
{
    int rc = watch_state_path(cfg, out, cap);
    if (!rc)
        rc = fs_mkdirs(out, 0700);
    if (rc)
        return rc;
    size_t len = strlen(out);
    if (snprintf(out + len, cap - len, "/state.db") >= (int)(cap - len))
        return err_set(ERR_CONFIG, "state database path too long");
    return 0;
}
