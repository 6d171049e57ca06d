/* cmd_proxy — `lifeline proxy-config [GROUP]`: prints an HAProxy configuration for the
 * configured PostgreSQL groups (src/http/proxy_config renders it), whose health checks
 * ask the agents which member is the primary holding the lease. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/proxy_config.h"
#include "cli.h"

enum { OPT_LISTEN_PRIMARY = 0x100, OPT_LISTEN_REPLICA, OPT_REPLICA_LAG, OPT_NODE };

int cmd_proxy_config(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"listen-primary", required_argument, NULL, OPT_LISTEN_PRIMARY},
                                         {"listen-replica", required_argument, NULL, OPT_LISTEN_REPLICA},
                                         {"replica-lag", required_argument, NULL, OPT_REPLICA_LAG},
                                         {"node", required_argument, NULL, OPT_NODE},
                                         {NULL, 0, NULL, 0}};
    proxy_config_opts o = {0};
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", opts, cli_find("proxy-config"))) != -1) {
        switch (opt) {
        case -2: return 0;
        case OPT_LISTEN_PRIMARY: o.listen_primary = optarg; break;
        case OPT_LISTEN_REPLICA: o.listen_replica = optarg; break;
        case OPT_REPLICA_LAG: o.replica_lag = optarg; break;
        case OPT_NODE: o.this_node = optarg; break;
        default: return ERR_USAGE;
        }
    }
    if (argc - optind > 1)
        return err_set(ERR_USAGE, "proxy-config takes at most one group name (see lifeline proxy-config --help)");
    o.group = optind < argc ? argv[optind] : NULL;
    if (!c->cfg) {
        err_set(ERR_CONFIG, "proxy-config: no configuration file");
        err_hint("give the file with the [postgres] groups and their [member]s with -c FILE");
        return ERR_CONFIG;
    }
    buf b;
    buf_init(&b, (size_t)4 << 20);
    int rc = proxy_config_render(c->cfg, &o, &b);
    if (!rc) {
        if (c->json) {
            /* {"haproxy": TEXT}: for tools that write the file themselves */
            cJSON *out = cJSON_CreateObject();
            char *text = strndup((const char *)b.data, b.len);
            cJSON_AddStringToObject(out, "haproxy", text ? text : "");
            free(text);
            cli_json_print(out);
        } else if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
            rc = err_sys(ERR_IO, "proxy-config: writing the configuration");
        }
    }
    buf_free(&b);
    return rc;
}
