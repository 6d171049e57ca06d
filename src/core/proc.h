/* proc — runs a shell command with a hard deadline: /bin/sh -c in its own process
 * group, stdin from a given text or /dev/null, stdout+stderr captured (the first cap
 * bytes), and at the deadline the whole group killed, so neither a hanging command
 * nor what it started outlives it. Used by exec probes, recovery and start/stop
 * commands, and the command notification channel. */
#ifndef LL_PROC_H
#define LL_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct proc_result {
    int exited;    /* 1: it exited (status valid); 0: killed at the deadline or not started */
    int status;    /* exit status when it exited normally, else -1 */
    int signal;    /* the signal that ended it, 0 when none */
    int timed_out; /* 1 when the deadline killed it */
    int64_t elapsed_ms;
} proc_result;

/* The monotonic clock in milliseconds. */
int64_t proc_now_ms(void);

/* Runs command until it exits or timeout_ms passes. env: extra "NAME=value" entries
 * (NULL-terminated, may be NULL) added to the environment; input: written to its stdin
 * (NULL = /dev/null). Its output (stdout and stderr together) is kept in out, at most
 * cap-1 bytes and NUL-terminated (out may be NULL). Returns 0 when the command ran
 * (whatever its outcome: see res), or an err_code when it could not be started. */
int proc_run(const char *command, int64_t timeout_ms, const char *const *env, const char *input, char *out,
             size_t cap, proc_result *res) WUR;

/* The same, for commands that start something to keep running (a start or recover
 * command: `setsid -f daemon`, `nohup x &`): when the shell exits by itself, what it
 * left running is left alone; only at the deadline is the group killed. */
int proc_run_leave(const char *command, int64_t timeout_ms, const char *const *env, const char *input, char *out,
                   size_t cap, proc_result *res) WUR;

/* "exit 3", "killed by signal 9", "no result within 5s; killed": for messages. */
void proc_describe(const proc_result *res, char *out, size_t cap);

#endif
