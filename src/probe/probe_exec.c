/* probe_exec — exec:COMMAND runs the command with /bin/sh in its own process group;
 * exit 0 is healthy, 1 degraded, anything else (or a signal) failed. At the deadline
 * the whole group is killed, so a hanging check or what it started cannot outlive it.
 * The first line of its output becomes the detail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_impl.h"

extern char **environ;

static int spawn(const char *command, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char sh[] = "sh", dash_c[] = "-c"; /* posix_spawn's argv is not const */
    char *argv[] = {sh, dash_c, (char *)command, NULL};
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    int rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* Reads what is there of the output into line (first line only), without blocking;
 * 1 at the end of the output. */
static int drain(int fd, char *line, size_t cap, size_t *len)
{
    char buf[512];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n && *len + 1 < cap; i++) {
            if (buf[i] == '\n')
                *len = cap; /* first line complete: keep no more */
            else
                line[(*len)++] = buf[i];
        }
    return n == 0;
}

/* Waits for the child until the deadline, reading its output; 1 when it exited. */
static int wait_child(int pidfd, int out_fd, int64_t deadline_ms, char *line, size_t cap, size_t *len)
{
    for (;;) {
        int64_t left = deadline_ms - probe_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = out_fd, .events = POLLIN}};
        int n = poll(p, out_fd >= 0 ? 2 : 1, left > 600000 ? 600000 : (int)left);
        if (n < 0 && errno != EINTR)
            return 0;
        /* once the output is closed, only the exit is waited for (a closed pipe
         * would wake poll at once, again and again) */
        if (n > 0 && out_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)) && drain(out_fd, line, cap, len))
            out_fd = -1;
        if (n > 0 && (p[0].revents & POLLIN))
            return 1;
    }
}

static void verdict(int status, const char *line, probe_result *out)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) <= 1)
        probe_set(out, WEXITSTATUS(status) ? PROBE_DEGRADED : PROBE_HEALTHY, "exit %d%s%s", WEXITSTATUS(status),
                  line[0] ? ": " : "", line);
    else if (WIFEXITED(status))
        probe_set(out, PROBE_FAILED, "exit %d%s%s", WEXITSTATUS(status), line[0] ? ": " : "", line);
    else
        probe_set(out, PROBE_FAILED, "killed by signal %d%s%s", WTERMSIG(status), line[0] ? ": " : "", line);
}

void probe_exec(const probe_spec *spec, const char *command, int64_t deadline_ms, probe_result *out)
{
    (void)spec;
    int fds[2];
    pid_t pid;
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        probe_set(out, PROBE_FAILED, "pipe: %s", strerror(errno));
        return;
    }
    int rc = spawn(command, fds[1], &pid);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        probe_set(out, PROBE_FAILED, "cannot run /bin/sh: %s", strerror(rc));
        return;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), pidfd_errno = errno;
    char line[200] = "";
    size_t len = 0;
    int exited = pidfd >= 0 && wait_child(pidfd, fds[0], deadline_ms, line, sizeof line, &len);
    line[len < sizeof line ? len : sizeof line - 1] = '\0';
    /* The group: the shell and whatever it started, also what it left running when it
     * exited (the leader is not reaped yet, so the group id cannot have been reused). */
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pidfd >= 0)
        close(pidfd);
    close(fds[0]);
    if (pidfd < 0)
        probe_set(out, PROBE_FAILED, "pidfd_open: %s", strerror(pidfd_errno));
    else if (!exited)
        probe_set(out, PROBE_FAILED, "no result within the timeout; killed");
    else
        verdict(status, line, out);
}
