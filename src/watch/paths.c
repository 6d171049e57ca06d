/* paths — see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
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
        return err_set(ERR_CONFIG, "no state folder: neither [watch] state-dir, LIFELINE_STATE_DIR nor HOME is set");
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_CONFIG, "state folder path too long");
    return 0;
}

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
