/* pgctl_cli — drives src/ha/pgctl.c for tests/system/test_pgctl.sh (not installed).
 * Prints one JSON object: what the call returned ("rc", "error"), how long it took
 * ("elapsed_ms") and its results; exits with the call's code.
 *   pgctl_cli query|replicas|promote|fence|unfence CONNINFO TIMEOUT_MS
 *   pgctl_cli set-sync CONNINFO NAMES TIMEOUT_MS
 *   pgctl_cli repoint CONNINFO MEMBER PRIMARY_CONNINFO TIMEOUT_MS
 *   pgctl_cli stop MEMBER DATA MODE TIMEOUT_MS
 *   pgctl_cli start MEMBER DATA TIMEOUT_MS
 *   pgctl_cli follow|rewind MEMBER DATA PRIMARY_CONNINFO TIMEOUT_MS
 *   pgctl_cli rewind-possible MEMBER DATA
 *   pgctl_cli wal-last MEMBER DATA
 * The member's bin-dir is $PGCTL_BIN_DIR when set (else pgctl's default). */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ha_config.h"
#include "core/err.h"
#include "core/proc.h"
#include "ha/pgctl.h"

static int64_t ms(const char *s) { return strtoll(s, NULL, 10); }

static void add_lsn(cJSON *o, const char *k, uint64_t v)
{
    char t[32];
    pgctl_format_lsn(v, t, sizeof t);
    cJSON_AddStringToObject(o, k, t);
}

static cJSON *state_json(const pg_state *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "reachable", s->reachable);
    cJSON_AddBoolToObject(o, "primary", s->primary);
    cJSON_AddBoolToObject(o, "read_only", s->read_only);
    add_lsn(o, "current_lsn", s->current_lsn);
    add_lsn(o, "receive_lsn", s->receive_lsn);
    add_lsn(o, "replay_lsn", s->replay_lsn);
    cJSON_AddNumberToObject(o, "timeline", s->timeline);
    cJSON_AddBoolToObject(o, "streaming", s->streaming);
    cJSON_AddStringToObject(o, "upstream", s->upstream);
    cJSON_AddStringToObject(o, "detail", s->detail);
    return o;
}

static int usage(void)
{
    fprintf(stderr, "usage: pgctl_cli query|replicas|promote|fence|unfence CONNINFO TIMEOUT_MS\n"
                    "       pgctl_cli set-sync CONNINFO NAMES TIMEOUT_MS\n"
                    "       pgctl_cli stop MEMBER DATA MODE TIMEOUT_MS | start MEMBER DATA TIMEOUT_MS\n"
                    "       pgctl_cli follow|rewind MEMBER DATA CONNINFO TIMEOUT_MS | rewind-possible|wal-last MEMBER DATA\n");
    return 2;
}

/* The calls on a connection string. */
static int on_conninfo(const char *cmd, int argc, char **argv, cJSON *o, int *rc)
{
    if (!strcmp(cmd, "repoint")) {
        if (argc != 6)
            return -1;
        *rc = pgctl_repoint(argv[2], argv[3], argv[4], ms(argv[5]));
        return 0;
    }
    if (!strcmp(cmd, "set-sync")) {
        if (argc != 5)
            return -1;
        *rc = pgctl_set_sync(argv[2], argv[3], ms(argv[4]));
        return 0;
    }
    if (argc != 4)
        return -1;
    int64_t t = ms(argv[3]);
    if (!strcmp(cmd, "query")) {
        pg_state s;
        *rc = pgctl_query(argv[2], t, &s);
        cJSON_AddItemToObject(o, "state", state_json(&s));
    } else if (!strcmp(cmd, "replicas")) {
        pg_replica *r;
        size_t n;
        *rc = pgctl_replicas(argv[2], t, &r, &n);
        cJSON *a = cJSON_AddArrayToObject(o, "replicas");
        for (size_t i = 0; !*rc && i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", r[i].name);
            cJSON_AddStringToObject(x, "state", r[i].state);
            cJSON_AddStringToObject(x, "sync_state", r[i].sync_state);
            add_lsn(x, "flush_lsn", r[i].flush_lsn);
            add_lsn(x, "replay_lsn", r[i].replay_lsn);
            cJSON_AddItemToArray(a, x);
        }
        free(r);
    } else if (!strcmp(cmd, "promote"))
        *rc = pgctl_promote(argv[2], t);
    else if (!strcmp(cmd, "fence"))
        *rc = pgctl_fence(argv[2], t);
    else if (!strcmp(cmd, "unfence"))
        *rc = pgctl_unfence(argv[2], t);
    else
        return -1;
    return 0;
}

/* The calls on a member's data folder. */
static int on_member(const char *cmd, int argc, char **argv, cJSON *o, int *rc)
{
    if (argc < 4)
        return -1;
    config_member m = {0};
    snprintf(m.name, sizeof m.name, "%s", argv[2]);
    m.data_dir = argv[3];
    m.bin_dir = getenv("PGCTL_BIN_DIR");
    if (!strcmp(cmd, "stop") && argc == 6)
        *rc = pgctl_stop(&m, argv[4], ms(argv[5]));
    else if (!strcmp(cmd, "start") && argc == 5)
        *rc = pgctl_start(&m, ms(argv[4]));
    else if (!strcmp(cmd, "follow") && argc == 6)
        *rc = pgctl_follow(&m, argv[4], ms(argv[5]));
    else if (!strcmp(cmd, "rewind") && argc == 6) {
        char why[512];
        *rc = pgctl_rewind(&m, argv[4], ms(argv[5]), why, sizeof why);
        cJSON_AddStringToObject(o, "why", why);
    } else if (!strcmp(cmd, "rewind-possible") && argc == 4) {
        char why[512] = "";
        int possible = -1;
        *rc = pgctl_rewind_possible(&m, &possible, why, sizeof why);
        cJSON_AddBoolToObject(o, "possible", possible == 1);
        cJSON_AddStringToObject(o, "why", why);
    } else if (!strcmp(cmd, "wal-last") && argc == 4) {
        uint32_t tli = 0;
        uint64_t last = 0;
        *rc = pgctl_wal_last(&m, 30000, &tli, &last);
        cJSON_AddNumberToObject(o, "timeline", tli);
        add_lsn(o, "last", last);
    } else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    cJSON *o = cJSON_CreateObject();
    int rc = 0;
    int64_t t0 = proc_now_ms();
    const char *cmd = argv[1];
    static const char member_cmds[] = " stop start follow rewind rewind-possible wal-last ";
    char word[40];
    snprintf(word, sizeof word, " %.30s ", cmd);
    int bad = strstr(member_cmds, word) ? on_member(cmd, argc, argv, o, &rc) : on_conninfo(cmd, argc, argv, o, &rc);
    if (bad) {
        cJSON_Delete(o);
        return usage();
    }
    cJSON_AddNumberToObject(o, "rc", rc);
    cJSON_AddStringToObject(o, "error", rc ? err_msg() : "");
    cJSON_AddNumberToObject(o, "elapsed_ms", (double)(proc_now_ms() - t0));
    char *text = cJSON_PrintUnformatted(o);
    puts(text);
    free(text);
    cJSON_Delete(o);
    return rc;
}
