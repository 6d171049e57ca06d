/* cmd_notify — `lifeline notify test [NAME]`: sends a test alert through every
 * [notify] channel of the configuration (or the one named) at once, not through the
 * outbox, and reports what each receiver accepted: the runbook's "verify contact
 * lists and escalation paths". */
#include <string.h>

#include "../notify/notify.h"
#include "cli.h"

/* One channel's line, or its element of the --json list. */
static void report(cli *c, cJSON *list, const char *name, const char *type, const char *error)
{
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "type", type);
        cJSON_AddBoolToObject(o, "accepted", !error);
        if (error)
            cJSON_AddStringToObject(o, "error", error);
        else
            cJSON_AddNullToObject(o, "error");
        cJSON_AddItemToArray(list, o);
    } else if (error) {
        printf("%-20s %-8s failed: %s\n", name, type, error);
    } else {
        printf("%-20s %-8s accepted\n", name, type);
    }
}

static int notify_test(cli *c, const char *only)
{
    if (!c->cfg || !c->cfg->nnotifies) {
        err_set(ERR_CONFIG, "no [notify \"NAME\"] channel in %s", c->cfg ? c->cfg->file : "the configuration");
        err_hint("give the configuration with -c FILE");
        return ERR_CONFIG;
    }
    notify *n;
    int rc = notify_new(c->cfg, NULL, NULL, &n);
    if (rc)
        return rc;
    cJSON *out = c->json ? cJSON_CreateObject() : NULL, *list = c->json ? cJSON_AddArrayToObject(out, "channels") : NULL;
    size_t tried = 0, failed = 0;
    for (size_t i = 0; i < notify_channel_count(n); i++) {
        const char *name = notify_channel_name(n, i);
        if (only && strcmp(only, name))
            continue;
        char why[512] = "";
        tried++;
        int bad = notify_send_test(n, name, why, sizeof why) != 0;
        failed += bad;
        report(c, list, name, notify_channel_type(n, i), bad ? why : NULL);
    }
    notify_free(&n);
    if (only && !tried) {
        cJSON_Delete(out);
        return err_set(ERR_NOTFOUND, "no [notify \"%s\"] in %s", only, c->cfg->file);
    }
    if (out) {
        cJSON_AddNumberToObject(out, "accepted", (double)(tried - failed));
        cJSON_AddNumberToObject(out, "failed", (double)failed);
        cli_json_print(out);
    }
    if (failed)
        return err_set(ERR_SOURCE, "%zu of %zu notification channel(s) did not accept the test", failed, tried);
    return 0;
}

int cmd_notify(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, cli_find("notify"))) != -1)
        return opt == -2 ? 0 : ERR_USAGE;
    if (optind >= argc || strcmp(argv[optind], "test"))
        return err_set(ERR_USAGE, "notify: the only subcommand is 'test' (lifeline notify test [NAME])");
    if (argc - optind > 2)
        return err_set(ERR_USAGE, "notify test takes at most one channel name");
    return notify_test(c, argc - optind == 2 ? argv[optind + 1] : NULL);
}
