/* cmd_probe — `lifeline probe [--json] SERVICE`: runs one [service]'s probe once,
 * built exactly as the agent builds it (watch/spec.h), and prints its state, latency
 * and detail. For operators asking "is my probe right?" before the agent acts on it. */
#include <stdio.h>

#include "../probe/probe.h"
#include "../watch/spec.h"
#include "cli.h"

static void print_result(cli *c, const config_service *sv, const probe_result *r)
{
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "service", sv->name);
        cJSON_AddStringToObject(o, "probe", watch_probe_kind(sv->probe));
        cJSON_AddStringToObject(o, "state", probe_state_name(r->state));
        cJSON_AddNumberToObject(o, "latency_ms", (double)r->latency_ms);
        cJSON_AddStringToObject(o, "detail", r->detail);
        cJSON_AddNumberToObject(o, "timeout_ms", (double)(sv->timeout * 1000));
        cli_json_print(o);
        return;
    }
    printf("%s: %s (%lld ms): %s\n", sv->name, probe_state_name(r->state), (long long)r->latency_ms, r->detail);
}

int cmd_probe(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "", NULL, cli_find("probe"))) != -1)
        return opt == -2 ? 0 : ERR_USAGE;
    if (optind + 1 != argc)
        return err_set(ERR_USAGE, "probe takes one service name (see lifeline probe --help)");
    const char *name = argv[optind];
    if (!c->cfg)
        return err_set(ERR_CONFIG, "no configuration file: the service '%s' is defined in one (-c FILE)", name);
    const config_service *sv = config_service_find(c->cfg, name);
    if (!sv) {
        err_set(ERR_CONFIG, "no [service \"%s\"] in %s", name, c->cfg->file);
        if (c->cfg->nservices)
            err_hint("the services there: %s%s", c->cfg->services[0].name, c->cfg->nservices > 1 ? ", ..." : "");
        return ERR_CONFIG;
    }
    probe_spec spec;
    watch_spec *own = NULL;
    int rc = watch_probe_spec(c->cfg, sv, &spec, &own);
    if (rc)
        return rc;
    if ((rc = probe_global_init()) != 0) {
        watch_spec_free(&own);
        return rc;
    }
    probe_result r;
    rc = probe_run(&spec, &r);
    if (!rc) {
        print_result(c, sv, &r);
        if (r.state == PROBE_FAILED)
            rc = err_set(ERR_SOURCE, "service %s: probe failed: %s", sv->name, r.detail);
    }
    watch_spec_free(&own);
    probe_global_cleanup();
    return rc;
}
