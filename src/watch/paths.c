/* paths — see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../config/config.h"
#include "../core/fsutil.h"

int watch_state_dir(const config *cfg, char *out, size_t cap)
{
    const char *env = getenv("LIFELINE_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
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
    if (n < 0 || (size_t)n >= cap)
        return err_set(ERR_CONFIG, "state folder path too long");
    return 0;
}

int watch_state_path(const config *cfg, char *out, size_t cap) { return watch_state_dir(cfg, out, cap); }

int watch_state_file(const config *cfg, const char *name, char *out, size_t cap)
{
    char dir[4000];
    int rc = watch_state_dir(cfg, dir, sizeof dir);
    if (rc)
        return rc;
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? err_set(ERR_CONFIG, "state folder path too long: %s", dir) : 0;
}

int watch_state_db_path(const config *cfg, char *out, size_t cap)
{
    char dir[4000];
    int rc = watch_state_dir(cfg, dir, sizeof dir);
    if (!rc)
        rc = fs_mkdirs(dir, 0700);
    if (!rc && snprintf(out, cap, "%s/state.db", dir) >= (int)cap)
        rc = err_set(ERR_CONFIG, "state folder path too long: %s", dir);
    return rc;
}
