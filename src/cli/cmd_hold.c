/* cmd_hold — `lifeline hold SNAP --reason TEXT` and `lifeline release SNAP`. */
#include <string.h>

#include "../audit/audit.h"
#include "../core/log.h"
#include "../core/text.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "cli.h"

static int hold_or_release(cli *c, int argc, char **argv, int hold)
{
    static const struct option opts[] = {{"reason", required_argument, NULL, 'R'}, {NULL, 0, NULL, 0}};
    const char *reason = NULL;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", hold ? opts : NULL, cli_find(hold ? "hold" : "release"))) != -1) {
        if (opt == -2)
            return 0;
        if (opt != 'R')
            return ERR_USAGE;
        reason = optarg;
    }
    if (argc - optind != 1)
        return err_set(ERR_USAGE, "%s needs one SNAPSHOT", hold ? "hold" : "release");
    if (hold && (!reason || !*reason))
        return err_set(ERR_USAGE, "hold needs --reason TEXT (it is recorded in the audit trail)");
    repo *r;
    repo_lock *lk = NULL;
    snapshot s;
    snapshot_init(&s);
    size_t lost = 0;
    /* forget takes the exclusive lock: a hold is placed (or lifted) wholly before or
     * wholly after a forget, never while it deletes the snapshot */
    int rc = cli_open_locked(c, 0, 0, &r, &lk);
    if (!rc)
        rc = snapshot_resolve(r, argv[optind], &s);
    if (!rc && !hold)
        rc = audit_mark_holds(r, &s, 1, &lost);
    if (!rc) {
        char hex[65], sid[9];
        text_hex(s.id, 32, hex);
        snapshot_short_id(s.id, sid);
        cli_audit_id(c, hex);
        if (!hold && !s.held)
            rc = err_set(ERR_NOTFOUND, "snapshot %s has no legal hold", sid);
        else if (!hold && s.hold_lost) /* ended on purpose: the release is what the trail records */
            LOG_WARN("the file of the legal hold on snapshot %s was already gone (deleted); the hold placed by "
                     "audit record seq %llu ends now",
                     sid, (unsigned long long)s.hold_lost);
        else
            rc = hold ? snapshot_hold(r, s.id, reason) : snapshot_release(r, s.id);
        if (!rc)
            LOG_INFO("snapshot %s %s", sid, hold ? "is now under a legal hold" : "released from its legal hold");
    }
    lock_release(&lk);
    snapshot_free(&s);
    return rc;
}

int cmd_hold(cli *c, int argc, char **argv) { return hold_or_release(c, argc, argv, 1); }
int cmd_release(cli *c, int argc, char **argv) { return hold_or_release(c, argc, argv, 0); }
