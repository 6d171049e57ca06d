/* cmd_wal — `lifeline wal-push` (archive_command) and `lifeline wal-fetch`
 * (restore_command). Both are meant to be run by PostgreSQL with a key-file slot,
 * so no password KDF is paid per segment. */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "../source/wal.h"
#include "cli.h"

/* --source NAME: must be a postgres source when a configuration names it. */
static int parse_source(cli *c, int argc, char **argv, const char *cmd, const char **source)
{
    static const struct option opts[] = {{"source", required_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
    int opt;
    *source = "default";
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find(cmd))) != -1) {
        if (opt == -2)
            return -2;
        if (opt != 's')
            return ERR_USAGE;
        *source = optarg;
    }
    const config_source *s = config_source_find(c->cfg, *source);
    const char *type = s ? config_source_get(s, "type") : NULL;
    if (s && (!type || strcmp(type, "postgres")))
        return err_set(ERR_CONFIG, "source '%s' in %s is not of type postgres", *source, c->cfg->file);
    return 0;
}

/* PostgreSQL's user meeting a repository root made for itself: say what the
 * ownership model is rather than only "permission denied". */
static int open_repo(cli *c, repo **r)
{
    int rc = cli_open_repo(c, r);
    if (rc && strstr(err_msg(), strerror(EACCES))) {
        const struct passwd *pw = getpwuid(geteuid());
        err_hint("the repository must belong to the user PostgreSQL runs as (%s): chown -R it to that user once; "
                 "lifeline run as root then keeps its files that user's",
                 pw ? pw->pw_name : "this user");
    }
    return rc;
}

int cmd_wal_push(cli *c, int argc, char **argv)
{
    const char *source;
    repo *r;
    int already = 0, rc = parse_source(c, argc, argv, "wal-push", &source);
    if (rc)
        return rc == -2 ? 0 : rc;
    if (argc - optind != 1)
        return err_set(ERR_USAGE, "wal-push needs the path of one WAL file (%%p)");
    if (!(rc = open_repo(c, &r)))
        rc = wal_push(r, source, argv[optind], &already);
    if (!rc)
        LOG_VERBOSE("%s %s", argv[optind], already ? "was already archived (identical)" : "archived");
    return rc;
}

int cmd_wal_fetch(cli *c, int argc, char **argv)
{
    const char *source;
    repo *r;
    int rc = parse_source(c, argc, argv, "wal-fetch", &source);
    if (rc)
        return rc == -2 ? 0 : rc;
    if (argc - optind != 2)
        return err_set(ERR_USAGE, "wal-fetch needs a WAL file name (%%f) and a destination (%%p)");
    if (!(rc = open_repo(c, &r)))
        rc = wal_fetch(r, source, argv[optind], argv[optind + 1]);
    if (rc == ERR_NOTFOUND) /* PostgreSQL asks for files that do not exist: not an error to report */
        log_level = -1;
    return rc;
}
