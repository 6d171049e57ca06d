/* pgdump — see pgdump.h. pg_dump runs as a child with its standard output on a pipe
 * we read; its own messages go to our standard error. A dump that pg_dump did not
 * finish (non-zero exit) is never committed. */
#define _GNU_SOURCE
#include "pgdump.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/progress.h"
#include "../repo/pack.h"
#include "../repo/stream.h"
#include "../repo/treebuild.h"
#include "../repo/walk.h"

#define PIPE_BLOCK (256 * 1024)

/* pg_dump's messages go to a memory file, so its failure is one line of ours. */
static int spawn(const pgdump_opts *o, pid_t *pid, int *fd, int *errfd)
{
    int p[2];
    if ((*errfd = memfd_create("pg_dump-stderr", MFD_CLOEXEC)) < 0)
        return err_sys(ERR_IO, "memory file for pg_dump's messages");
    if (pipe2(p, O_CLOEXEC) != 0)
        return err_sys(ERR_IO, "pipe for pg_dump");
    const char *prog = o->pg_dump ? o->pg_dump : "pg_dump";
    *pid = fork();
    if (*pid < 0) {
        close(p[0]);
        close(p[1]);
        return err_sys(ERR_IO, "start pg_dump");
    }
    if (*pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        dup2(*errfd, STDERR_FILENO);
        /* -w: never prompt (a password comes from PGPASSFILE / .pgpass) */
        execlp(prog, prog, "-Fc", "-w", "-d", o->conninfo, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return 0;
}

/* pg_dump's last "error:" line (it may add "detail:" lines after it), else its
 * last line: the reason, as one line. */
static void last_message(int errfd, char *out, size_t cap)
{
    char b[2048];
    off_t end = lseek(errfd, 0, SEEK_END), at = end > (off_t)sizeof b - 1 ? end - (off_t)sizeof b + 1 : 0;
    ssize_t n = end > 0 ? pread(errfd, b, (size_t)(end - at), at) : 0;
    b[n > 0 ? n : 0] = '\0';
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == ' '))
        b[--n] = '\0';
    const char *line = strrchr(b, '\n') ? strrchr(b, '\n') + 1 : b;
    for (const char *e = strstr(b, "error: "); e; e = strstr(e + 1, "error: "))
        line = e + 7;
    size_t l = strcspn(line, "\n");
    snprintf(out, cap, "%.*s", (int)l, line);
    for (char *p = out; *p; p++)
        if (*p == '\t')
            *p = ' ';
}

static int finish_child(const pgdump_opts *o, pid_t pid, int errfd, int failed)
{
    int status;
    char msg[512];
    if (failed)
        kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return err_sys(ERR_IO, "wait for pg_dump");
    if (failed)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    last_message(errfd, msg, sizeof msg);
    err_set(ERR_SOURCE, "pg_dump of source %s failed (%s %d): %s; nothing was saved", o->source,
            WIFEXITED(status) ? "exit code" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
            msg[0] ? msg : "no message");
    if (strstr(msg, "permission denied"))
        err_hint("a logical dump reads every table: the role of conninfo needs pg_read_all_data "
                 "(GRANT pg_read_all_data TO it), not REPLICATION");
    return ERR_SOURCE;
}

static int pump(int fd, blob_stream *bs, snapshot_summary *sum, progress *pr)
{
    uint8_t *b = malloc(PIPE_BLOCK);
    int rc = b ? 0 : err_set(ERR_FATAL, "out of memory");
    while (!rc) {
        ssize_t got = read(fd, b, PIPE_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = err_sys(ERR_IO, "read from pg_dump");
        if (got <= 0)
            break;
        sum->bytes_read += (uint64_t)got;
        progress_add(pr, 0, (uint64_t)got);
        rc = blob_stream_write(bs, b, (size_t)got);
    }
    free(b);
    return rc;
}

static int meta(const pgdump_opts *o, char **out)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "pg_dump");
    cJSON_AddStringToObject(m, "source", o->source);
    cJSON_AddStringToObject(m, "format", "custom");
    *out = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return *out ? 0 : err_set(ERR_FATAL, "out of memory");
}

int pgdump_backup(repo *r, const pgdump_opts *o, uint8_t root[32], snapshot_summary *sum, char **meta_json)
{
    blob_stream *bs = NULL;
    tree_builder *tb = NULL;
    progress pr;
    pid_t pid = -1;
    int fd = -1, errfd = -1;
    char name[128];
    snprintf(name, sizeof name, "%s.dump", o->source);
    int rc = blob_stream_new(r, &bs);
    if (!rc)
        rc = tree_builder_new(&tb);
    if (!rc)
        rc = spawn(o, &pid, &fd, &errfd);
    if (rc) {
        if (errfd >= 0)
            close(errfd);
        blob_stream_free(&bs);
        tree_builder_free(&tb);
        return rc;
    }
    progress_start(&pr, "dump", o->progress);
    rc = pump(fd, bs, sum, &pr);
    close(fd);
    int wrc = finish_child(o, pid, errfd, rc != 0);
    close(errfd);
    rc = rc ? rc : wrc;
    progress_end(&pr);
    tree_node n = {0};
    n.type = NODE_FILE;
    n.mode = 0600;
    n.uid = (uint32_t)geteuid();
    n.gid = (uint32_t)getegid();
    n.nlink = 1;
    n.mtime = n.ctime = n.atime = time(NULL);
    if (!rc)
        rc = blob_stream_end(bs, &n);
    if (!rc) {
        sum->total_files = sum->files_new = 1;
        sum->total_bytes = n.size;
        rc = tree_builder_add(tb, name, &n);
    } else {
        tree_node_free(&n);
    }
    if (!rc)
        rc = tree_builder_write(tb, r, root);
    if (!rc)
        rc = meta(o, meta_json);
    blob_stream_free(&bs);
    tree_builder_free(&tb);
    return rc;
}

int pgdump_to_stdout(repo *r, const snapshot *s)
{
    tree t;
    int rc = walk_load_tree(r, s->tree, &t);
    if (rc)
        return rc;
    if (t.n != 1 || t.nodes[0].type != NODE_FILE) {
        tree_free(&t);
        return err_set(ERR_DAMAGED, "snapshot is not a logical dump (expected one file)");
    }
    blob_reader br;
    buf b;
    blob_reader_init(&br);
    buf_init(&b, 0);
    const tree_node *n = &t.nodes[0];
    for (uint32_t i = 0; !rc && i < n->ncontent; i++) {
        rc = repo_blob_read(r, &br, BLOB_DATA, n->content[i], &b, 0);
        if (!rc && fs_write_all(STDOUT_FILENO, b.data, b.len))
            rc = err_sys(ERR_IO, "write to standard output");
    }
    buf_free(&b);
    blob_reader_free(&br);
    tree_free(&t);
    return rc;
}
