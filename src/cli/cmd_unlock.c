/* cmd_unlock — `lifeline unlock [--remove-all]`: clears stale locks. */
#include "../core/log.h"
#include "../repo/lock.h"
#include "cli.h"

int cmd_unlock(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"remove-all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    int opt, all = 0;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("unlock"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt != 'a')
            return ERR_USAGE;
        all = 1;
    }
    if (optind != argc)
        return err_set(ERR_USAGE, "unlock takes no arguments");
    repo *r;
    int removed = 0, rc = cli_open_repo(c, &r);
    if (rc)
        return rc;
    c->audit = 1;
    if (!(rc = lock_remove_stale(r, all, &removed)))
        LOG_INFO("%d lock(s) removed", removed);
    return rc;
}
