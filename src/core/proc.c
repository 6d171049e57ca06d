/* proc — see proc.h. posix_spawn + pidfd: the deadline is waited for with poll on the
 * child's pidfd and its output pipe, never with sleep loops or signals. */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int64_t proc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* environ plus the extra entries (an extra one replaces the same name's). */
static char **make_env(const char *const *extra)
{
    size_t n = 0, k = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[k])
        k++;
    char **env = calloc(n + k + 1, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t len = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
        int replaced = 0;
        for (size_t j = 0; j < k && !replaced; j++)
            replaced = !strncmp(extra[j], environ[i], len);
        if (!replaced)
            env[m++] = environ[i];
    }
    for (size_t j = 0; j < k; j++)
        env[m++] = (char *)extra[j];
    return env;
}

static int spawn(const char *command, int in_fd, int out_fd, char **env, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    char sh[] = "sh", dash_c[] = "-c"; /* posix_spawn's argv is not const */
    char *argv[] = {sh, dash_c, (char *)command, NULL};
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    posix_spawnattr_setpgroup(&attr, 0);
    /* the agent blocks or ignores signals it handles itself: the child must not inherit that */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

typedef struct io {
    int out_fd, in_fd;
    const char *input;
    size_t in_len, in_off;
    char *out;
    size_t cap, len;
} io;

/* Reads what is there without blocking; 1 at the end of the output. */
static int drain(io *x)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(x->out_fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n && x->out && x->len + 1 < x->cap; i++)
            x->out[x->len++] = buf[i];
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

static void feed(io *x)
{
    while (x->in_off < x->in_len) {
        ssize_t n = write(x->in_fd, x->input + x->in_off, x->in_len - x->in_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) /* the command does not read it all (EPIPE): its business */
            break;
        x->in_off += (size_t)n;
    }
    close(x->in_fd);
    x->in_fd = -1;
}

/* Waits for the child until the deadline, moving its input and output; 1 when it exited. */
static int wait_child(int pidfd, io *x, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - proc_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[3] = {{.fd = pidfd, .events = POLLIN}, {.fd = x->out_fd, .events = POLLIN},
                              {.fd = x->in_fd, .events = POLLOUT}};
        int n = poll(p, 3, left > 600000 ? 600000 : (int)left);
        if (n < 0 && errno != EINTR)
            return 0;
        if (n <= 0)
            continue;
        /* a closed pipe would wake poll at once, again and again: stop watching it */
        if (x->out_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && drain(x)) {
            close(x->out_fd);
            x->out_fd = -1;
        }
        if (x->in_fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP)))
            feed(x);
        if (p[0].revents & POLLIN)
            return 1;
    }
}

static int start(const char *command, const char *const *extra, io *x, int pipes_out[2], int pipes_in[2], pid_t *pid)
{
    char **env = make_env(extra);
    if (!env)
        return err_set(ERR_FATAL, "out of memory");
    int rc = spawn(command, x->input ? pipes_in[0] : -1, pipes_out[1], env, pid);
    free(env);
    return rc ? err_set(ERR_FATAL, "cannot run /bin/sh: %s", strerror(rc)) : 0;
}

static int run(const char *command, int64_t timeout_ms, const char *const *env, const char *input, char *out,
               size_t cap, proc_result *res, int leave)
{
    memset(res, 0, sizeof *res);
    res->status = -1;
    if (out && cap)
        out[0] = '\0';
    int po[2], pi[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC | O_NONBLOCK) != 0)
        return err_sys(ERR_FATAL, "cannot make a pipe");
    if (input && pipe2(pi, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(po[0]);
        close(po[1]);
        return err_sys(ERR_FATAL, "cannot make a pipe");
    }
    io x = {.out_fd = po[0], .in_fd = pi[1], .input = input, .in_len = input ? strlen(input) : 0,
            .out = out, .cap = cap};
    int64_t t0 = proc_now_ms();
    pid_t pid;
    int rc = start(command, env, &x, po, pi, &pid);
    close(po[1]);
    if (pi[0] >= 0)
        close(pi[0]);
    if (rc) {
        close(po[0]);
        if (pi[1] >= 0)
            close(pi[1]);
        return rc;
    }
    if (x.in_fd >= 0 && !x.in_len) {
        close(x.in_fd);
        x.in_fd = -1;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int exited = pidfd >= 0 && wait_child(pidfd, &x, t0 + timeout_ms);
    /* the group: the shell and whatever it started, also what it left running when it
     * exited (the leader is not reaped yet, so the group id cannot have been reused) */
    if (!exited || !leave)
        kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (x.out_fd >= 0) { /* what it left running may hold the pipe: read what is there */
        drain(&x);
        close(x.out_fd);
    }
    if (x.in_fd >= 0)
        close(x.in_fd);
    if (pidfd >= 0)
        close(pidfd);
    if (out && cap)
        out[x.len] = '\0';
    res->elapsed_ms = proc_now_ms() - t0;
    res->exited = exited && WIFEXITED(status);
    res->status = res->exited ? WEXITSTATUS(status) : -1;
    res->signal = exited && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    res->timed_out = !exited;
    return 0;
}

int proc_run(const char *command, int64_t timeout_ms, const char *const *env, const char *input, char *out,
             size_t cap, proc_result *res)
{
    return run(command, timeout_ms, env, input, out, cap, res, 0);
}

int proc_run_leave(const char *command, int64_t timeout_ms, const char *const *env, const char *input, char *out,
                   size_t cap, proc_result *res)
{
    return run(command, timeout_ms, env, input, out, cap, res, 1);
}

void proc_describe(const proc_result *res, char *out, size_t cap)
{
    if (res->timed_out)
        snprintf(out, cap, "no result within %.1fs; killed", (double)res->elapsed_ms / 1000.0);
    else if (res->exited)
        snprintf(out, cap, "exit %d", res->status);
    else
        snprintf(out, cap, "killed by signal %d", res->signal);
}
