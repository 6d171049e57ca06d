/* control — the agent's control socket (<state folder>/control.sock, mode 0600, peers
 * checked with SO_PEERCRED: the agent's own user or root): one JSON request line, one
 * JSON reply line, each within a deadline. The agent serves it (agent_control_start);
 * the commands (status, pause, resume, stop...) ask through control_request. Changes
 * (holds, incident updates) go to the state database, the shared truth; the socket
 * carries the live status and the nudge that makes the agent read them at once. */
#ifndef LL_CONTROL_H
#define LL_CONTROL_H

#include <cjson/cJSON.h>

#include "../core/err.h"

/* Sends {"cmd": cmd} to the agent on socket path and gives its reply. ERR_NOAGENT
 * when no agent listens there; ERR_FATAL on a reply that is not JSON or too slow. */
int control_request(const char *path, const char *cmd, int timeout_ms, cJSON **reply) WUR;
/* The same with a whole request object (switchover, failover: {"cmd", "group", "to"}). */
int control_ask(const char *path, const cJSON *req, int timeout_ms, cJSON **reply) WUR;

#endif
