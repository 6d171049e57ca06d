/* cmd_ha — `lifeline switchover GROUP [--to MEMBER]` and `lifeline failover GROUP --to
 * MEMBER`: a person's requests, carried to the running agent over its control socket
 * (the engine there does the work, src/ha/ha_act.c) and its answer printed. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "../watch/control.h"
#include "../watch/paths.h"
#include "cli.h"
#include "help.h"

static int ask(cli *c, const char *cmd, const char *group, const char *to)
{
    if (c->cfg && !config_pg_group_find(c->cfg, group))
        return err_set(ERR_NOTFOUND, "no [postgres \"%s\"] in %s", group, c->cfg->file);
    char sock[4200];
    cJSON *req = cJSON_CreateObject(), *reply = NULL;
    cJSON_AddStringToObject(req, "cmd", cmd);
    cJSON_AddStringToObject(req, "group", group);
    if (to)
        cJSON_AddStringToObject(req, "to", to);
    int rc = watch_state_file(c->cfg, "control.sock", sock, sizeof sock);
    if (!rc)
        rc = control_ask(sock, req, 130000, &reply);
    cJSON_Delete(req);
    if (rc == ERR_NOAGENT)
        err_hint("%s is done by the running agent: start it with `lifeline -c CONFIG watch`", cmd);
    if (rc)
        return rc;
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "error"));
    if (c->json) {
        cli_json_print(reply);
        return error ? ERR_SOURCE : 0;
    }
    if (error) {
        rc = err_set(ERR_SOURCE, "%s of %s: %s", cmd, group, error);
    } else if (!strcmp(cmd, "switchover")) {
        printf("%s: switched over from %s to %s (epoch %.0f) in %.2f s\n", group,
               cJSON_GetStringValue(cJSON_GetObjectItem(reply, "from")),
               cJSON_GetStringValue(cJSON_GetObjectItem(reply, "to")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "epoch")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "seconds")));
    } else {
        printf("%s: %s promoted by force (epoch %.0f)\n", group, cJSON_GetStringValue(cJSON_GetObjectItem(reply, "to")),
               cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "epoch")));
        double loss = cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "possible_loss_bytes"));
        if (loss > 0)
            fprintf(stderr, "lifeline: warning: up to %.0f bytes of WAL the old primary had were not on %s: "
                            "transactions in them are lost\n", loss, to);
    }
    cJSON_Delete(reply);
    return rc;
}

static int run(cli *c, int argc, char **argv, const char *cmd)
{
    static const struct option opts[] = {{"to", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    const char *to = NULL;
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find(cmd))) != -1) {
        if (opt == -2)
            return 0;
        if (opt != 't')
            return ERR_USAGE;
        to = optarg;
    }
    if (argc - optind != 1)
        return err_set(ERR_USAGE, "%s takes one group name (a [postgres \"GROUP\"] section)", cmd);
    if (!strcmp(cmd, "failover") && !to)
        return err_set(ERR_USAGE, "failover needs --to MEMBER: a forced promotion is a person's choice of member");
    if (!strcmp(cmd, "failover"))
        fprintf(stderr, "lifeline: warning: a forced failover promotes %s whatever the primary's state: writes the "
                        "primary acknowledged and %s had not received are lost\n", to, to);
    return ask(c, cmd, argv[optind], to);
}

int cmd_switchover(cli *c, int argc, char **argv) { return run(c, argc, argv, "switchover"); }
int cmd_failover(cli *c, int argc, char **argv) { return run(c, argc, argv, "failover"); }
