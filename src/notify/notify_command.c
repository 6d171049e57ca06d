/* notify_command — the command channel: runs `command` (through proc_run: /bin/sh -c,
 * its own process group, killed whole at the channel's timeout) with the alert's JSON
 * on stdin and its main fields in LIFELINE_* variables. Exit 0: delivered; 75
 * (EX_TEMPFAIL, as sendmail and friends use it): try again later; a timeout or a
 * signal: try again; any other exit: failed for good. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/proc.h"
#include "notify_impl.h"

#define EXIT_TEMPFAIL 75

/* The variables a command sees, "NAME=value" each; freed with env_free. */
static char **env_of(const notify_channel *ch, const cJSON *a)
{
    static const char *const fields[][2] = {
        {"LIFELINE_EVENT", "event"},       {"LIFELINE_STATUS", "status"}, {"LIFELINE_SEVERITY", "severity"},
        {"LIFELINE_SERVICE", "service"},   {"LIFELINE_TITLE", "title"},   {"LIFELINE_MESSAGE", "message"},
        {"LIFELINE_ALERT_ID", "id"},       {"LIFELINE_URL", "url"},
    };
    size_t nf = sizeof fields / sizeof *fields, at = 0;
    char **env = calloc(nf + 4, sizeof *env);
    if (!env)
        return NULL;
    int bad = 0;
    for (size_t i = 0; i < nf && !bad; i++)
        bad = asprintf(&env[at++], "%s=%s", fields[i][0], notify_alert_str(a, fields[i][1])) < 0;
    if (!bad)
        bad = asprintf(&env[at++], "LIFELINE_INCIDENT=%lld", (long long)notify_alert_int(a, "incident")) < 0;
    if (!bad)
        bad = asprintf(&env[at++], "LIFELINE_NODE=%s", ch->node) < 0;
    if (!bad)
        bad = asprintf(&env[at++], "LIFELINE_CHANNEL=%s", ch->name) < 0;
    if (bad) {
        env[at - 1] = NULL; /* asprintf leaves it undefined on failure */
        for (size_t i = 0; env[i]; i++)
            free(env[i]);
        free(env);
        return NULL;
    }
    return env;
}

static void env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* The command's last non-empty output line, for the error message. */
static void last_line(const char *out, char *line, size_t cap)
{
    size_t end = strlen(out);
    while (end && (out[end - 1] == '\n' || out[end - 1] == '\r' || out[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start && out[start - 1] != '\n')
        start--;
    size_t len = end - start < cap - 1 ? end - start : cap - 1;
    memcpy(line, out + start, len);
    line[len] = '\0';
}

static void command_send(const notify_channel *ch, const cJSON *alert, int64_t now_wall_ms, notify_result *res)
{
    (void)now_wall_ms;
    char **env = env_of(ch, alert), *input = cJSON_PrintUnformatted(alert);
    char out[4096] = "", line[300], how[128];
    proc_result pr;
    if (!env || !input) {
        res->outcome = NOTIFY_RETRY;
        snprintf(res->error, sizeof res->error, "out of memory");
    } else if (proc_run(ch->command, ch->timeout_ms, (const char *const *)env, input, out, sizeof out, &pr) != 0) {
        res->outcome = NOTIFY_RETRY;
        snprintf(res->error, sizeof res->error, "the command could not be started: %s", err_msg());
    } else if (pr.exited && pr.status == 0) {
        res->outcome = NOTIFY_SENT;
    } else {
        res->outcome = !pr.exited || pr.status == EXIT_TEMPFAIL ? NOTIFY_RETRY : NOTIFY_FAILED;
        proc_describe(&pr, how, sizeof how);
        last_line(out, line, sizeof line);
        snprintf(res->error, sizeof res->error, "command: %s%s%s", how, line[0] ? ": " : "", line);
    }
    env_free(env);
    free(input);
}

const notify_ops notify_command_ops = {"command", command_send};
