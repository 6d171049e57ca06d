/* probe_exec — exec:COMMAND runs the command (proc.h: /bin/sh, its own process group,
 * killed whole at the deadline); exit 0 is healthy, 1 degraded, anything else (or a
 * signal) failed. The first line of its output becomes the detail. */
#include <string.h>

#include "../core/proc.h"
#include "probe_impl.h"

void probe_exec(const probe_spec *spec, const char *command, int64_t deadline_ms, probe_result *out)
{
    (void)spec;
    char text[512];
    proc_result r;
    int64_t left = deadline_ms - probe_now_ms();
    if (proc_run(command, left > 0 ? left : 0, NULL, NULL, text, sizeof text, &r) != 0) {
        probe_set(out, PROBE_FAILED, "%s", err_msg());
        return;
    }
    text[strcspn(text, "\n")] = '\0';
    const char *sep = text[0] ? ": " : "";
    if (r.timed_out)
        probe_set(out, PROBE_FAILED, "no result within the timeout; killed");
    else if (r.exited && r.status <= 1)
        probe_set(out, r.status ? PROBE_DEGRADED : PROBE_HEALTHY, "exit %d%s%s", r.status, sep, text);
    else if (r.exited)
        probe_set(out, PROBE_FAILED, "exit %d%s%s", r.status, sep, text);
    else
        probe_set(out, PROBE_FAILED, "killed by signal %d%s%s", r.signal, sep, text);
}
