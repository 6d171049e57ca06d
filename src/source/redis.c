/* redis — see redis.h. hiredis carries the request/response part (AUTH, PING,
 * INFO, REPLCONF); PSYNC's answer and the RDB that follows are read from the
 * socket directly, because a transfer of any size must stream, not be buffered as
 * one reply. The master may send bare newlines while it prepares the RDB: they are
 * keep-alives and skipped. */
#define _GNU_SOURCE
#include "redis.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "../repo/pack.h"
#include "../repo/stream.h"
#include "../repo/treebuild.h"
#include "../repo/walk.h"

#define ACL_HINT "the ACL user needs +psync +replconf +ping +info +auth (and a password)"

/* ---- connection ------------------------------------------------------------------- */

static int fail(const redis_opts *o, const char *what, const char *why)
{
    return err_set(ERR_SOURCE, "Redis source %s (%s): %s: %s", o->source, o->address, what, why);
}

static int connect_to(const redis_opts *o, redisContext **out)
{
    struct timeval tv = {o->timeout, 0};
    redisContext *c;
    if (!strncmp(o->address, "unix:", 5)) {
        c = redisConnectUnixWithTimeout(o->address + 5, tv);
    } else {
        char host[256];
        const char *colon = strrchr(o->address, ':');
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || port <= 0 || port > 65535 || (size_t)(colon - o->address) >= sizeof host)
            return err_set(ERR_CONFIG, "Redis source %s: address '%s' is not host:port or unix:/path", o->source,
                           o->address);
        const char *h = o->address;
        size_t hl = (size_t)(colon - o->address);
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [v6]:port */
            h++;
            hl -= 2;
        }
        snprintf(host, sizeof host, "%.*s", (int)hl, h);
        c = redisConnectWithTimeout(host, (int)port, tv);
    }
    if (!c)
        return err_set(ERR_FATAL, "out of memory");
    if (c->err) {
        int rc = fail(o, "cannot connect", c->errstr);
        redisFree(c);
        return rc;
    }
    redisSetTimeout(c, tv);
    *out = c;
    return 0;
}

/* Runs a command; ERR_SOURCE with the server's words on an error reply. */
static int command(redisContext *c, const redis_opts *o, const char *what, redisReply **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!rep)
        return fail(o, what, c->errstr[0] ? c->errstr : "connection lost");
    if (rep->type == REDIS_REPLY_ERROR) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", rep->str);
        freeReplyObject(rep);
        int rc = fail(o, what, msg);
        if (strstr(msg, "NOPERM"))
            err_hint(ACL_HINT);
        return rc;
    }
    if (out)
        *out = rep;
    else
        freeReplyObject(rep);
    return 0;
}

static int open_session(const redis_opts *o, redisContext **out)
{
    redisContext *c;
    int rc = connect_to(o, &c);
    if (rc)
        return rc;
    if (o->password) {
        rc = o->user ? command(c, o, "authentication failed", NULL, "AUTH %s %s", o->user, o->password)
                     : command(c, o, "authentication failed", NULL, "AUTH %s", o->password);
    }
    if (!rc && (rc = command(c, o, "PING", NULL, "PING")) && !o->password && strstr(err_msg(), "NOAUTH"))
        err_hint("the server requires a password: set password-file (and user) in the source's section");
    else if (rc && strstr(err_msg(), "DENIED"))
        err_hint("the server is in protected mode: give it a password (and lifeline password-file), or connect "
                 "over loopback or a unix socket");
    if (rc) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return 0;
}

void redis_info_field(const char *text, const char *field, char *out, size_t cap)
{
    size_t fl = strlen(field);
    out[0] = '\0';
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, field, fl) && p[fl] == ':') {
            size_t n = strcspn(p + fl + 1, "\r\n");
            snprintf(out, cap, "%.*s", (int)n, p + fl + 1);
            return;
        }
}

void redis_info_keyspace(const char *text, uint64_t *keys, uint32_t ndbs)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        unsigned db;
        unsigned long long n;
        if (sscanf(p, "db%u:keys=%llu", &db, &n) == 2 && db < ndbs)
            keys[db] = n;
    }
}

/* Digits only, at most 19 of them: no sign, no spaces, no overflow. */
static int parse_count(const char *s, uint64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (!n || n > 19 || s[n])
        return -1;
    *out = strtoull(s, NULL, 10);
    return 0;
}

int redis_parse_fullresync(const char *line, char id[48], int64_t *offset)
{
    uint64_t off;
    const char *p = line + 12;
    if (strncmp(line, "+FULLRESYNC ", 12))
        return err_set(ERR_DAMAGED, "unexpected answer to PSYNC");
    size_t idl = strcspn(p, " ");
    if (!idl || idl > 47 || p[idl] != ' ' || parse_count(p + idl + 1, &off))
        return err_set(ERR_DAMAGED, "malformed FULLRESYNC answer");
    memcpy(id, p, idl);
    id[idl] = '\0';
    *offset = (int64_t)off;
    return 0;
}

int redis_parse_transfer_header(const char *line, uint64_t *length, char mark[REDIS_EOF_MARK], int *eof_marked)
{
    *eof_marked = 0;
    if (!strncmp(line, "$EOF:", 5) && strlen(line) == 5 + REDIS_EOF_MARK) {
        memcpy(mark, line + 5, REDIS_EOF_MARK);
        *eof_marked = 1;
        return 0;
    }
    if (line[0] != '$' || parse_count(line + 1, length))
        return err_set(ERR_DAMAGED, "unexpected header before the RDB");
    return 0;
}

int redis_ping(const redis_opts *o)
{
    redisContext *c;
    redisReply *rep;
    int rc = open_session(o, &c);
    if (rc)
        return rc;
    if (!(rc = command(c, o, "INFO persistence", &rep, "INFO persistence"))) {
        char loading[8];
        redis_info_field(rep->str ? rep->str : "", "loading", loading, sizeof loading);
        if (!strcmp(loading, "1"))
            rc = fail(o, "not ready", "still loading its data");
        freeReplyObject(rep);
    }
    redisFree(c);
    return rc;
}

int redis_config_get(const redis_opts *o, const char *name, char *out, size_t cap)
{
    redisContext *c;
    redisReply *rep;
    int rc = open_session(o, &c);
    if (rc)
        return rc;
    if (!(rc = command(c, o, "CONFIG GET", &rep, "CONFIG GET %s", name))) {
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_STRING)
            snprintf(out, cap, "%s", rep->element[1]->str);
        else
            rc = fail(o, "CONFIG GET", "unexpected answer");
        freeReplyObject(rep);
    }
    redisFree(c);
    return rc;
}

int redis_keyspace(const redis_opts *o, uint64_t *keys, uint32_t ndbs)
{
    redisContext *c;
    redisReply *rep;
    memset(keys, 0, ndbs * sizeof *keys);
    int rc = open_session(o, &c);
    if (rc)
        return rc;
    if (!(rc = command(c, o, "INFO keyspace", &rep, "INFO keyspace"))) {
        redis_info_keyspace(rep->str ? rep->str : "", keys, ndbs);
        freeReplyObject(rep);
    }
    redisFree(c);
    return rc;
}

/* ---- the transfer --------------------------------------------------------------------- */

typedef struct sock {
    int fd;
    int timeout;
    const redis_opts *o;
} sock;

static int wait_readable(sock *s)
{
    struct pollfd p = {s->fd, POLLIN, 0};
    int n;
    while ((n = poll(&p, 1, s->timeout * 1000)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return err_sys(ERR_IO, "poll");
    if (n == 0)
        return fail(s->o, "transfer", "no data for the timeout");
    return 0;
}

static int sock_read(void *ctx, uint8_t *dst, size_t cap, size_t *got)
{
    sock *s = ctx;
    for (;;) {
        int rc = wait_readable(s);
        if (rc)
            return rc;
        ssize_t n = read(s->fd, dst, cap);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return fail(s->o, "transfer", strerror(errno));
        *got = (size_t)n;
        return 0;
    }
}

/* One protocol line, keep-alive newlines skipped. */
static int read_line(sock *s, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        uint8_t b;
        size_t got;
        int rc = sock_read(s, &b, 1, &got);
        if (rc)
            return rc;
        if (!got)
            return fail(s->o, "replication handshake", "connection closed by the server");
        if (b == '\n') {
            if (n && out[n - 1] == '\r')
                n--;
            if (!n)
                continue; /* keep-alive */
            out[n] = '\0';
            return 0;
        }
        if (n + 1 >= cap)
            return fail(s->o, "replication handshake", "line too long");
        out[n++] = (char)b;
    }
}

static int handshake(redisContext *c, const redis_opts *o, redis_sync *sync, sock *s)
{
    redisReply *rep;
    char line[512];
    int rc = command(c, o, "INFO", &rep, "INFO server");
    if (rc)
        return rc;
    redis_info_field(rep->str ? rep->str : "", "redis_version", sync->version, sizeof sync->version);
    freeReplyObject(rep);
    if ((rc = command(c, o, "REPLCONF", NULL, "REPLCONF capa eof capa psync2")))
        return rc;
    s->fd = c->fd;
    const char *psync = "PSYNC ? -1\r\n";
    if (write(c->fd, psync, strlen(psync)) != (ssize_t)strlen(psync))
        return fail(o, "PSYNC", strerror(errno));
    if ((rc = read_line(s, line, sizeof line)))
        return rc;
    if (line[0] == '-') {
        rc = fail(o, "the server refuses to send a snapshot", line + 1);
        if (strstr(line, "NOMASTERLINK"))
            err_hint("this server is a replica that lost its master: back up the master, or wait for the link");
        else if (strstr(line, "NOPERM"))
            err_hint(ACL_HINT);
        return rc;
    }
    if (redis_parse_fullresync(line, sync->repl_id, &sync->offset))
        return fail(o, "PSYNC", "unexpected answer");
    return 0;
}

typedef struct rx_ctx {
    blob_stream *bs;
    progress *prog;
} rx_ctx;

static int to_stream(void *ctx, const uint8_t *p, size_t len)
{
    rx_ctx *x = ctx;
    progress_add(x->prog, 0, len);
    return blob_stream_write(x->bs, p, len);
}

static int transfer(const redis_opts *o, sock *s, blob_stream *bs, progress *prog, rdb_info *info, redis_sync *sync)
{
    char line[128], mark[REDIS_EOF_MARK];
    uint64_t limit = UINT64_MAX;
    int rc = read_line(s, line, sizeof line);
    if (rc)
        return rc;
    if (redis_parse_transfer_header(line, &limit, mark, &sync->diskless))
        return fail(o, "transfer", "unexpected header before the RDB");
    if (sync->diskless)
        limit = UINT64_MAX;
    else
        progress_total(prog, 0, limit);
    rx_ctx x = {bs, prog};
    rdb_reader *rr;
    if ((rc = rdb_reader_new(sock_read, s, to_stream, &x, limit, &rr)))
        return rc;
    rc = rdb_parse(rr, info);
    if (!rc && sync->diskless) {
        uint8_t got[REDIS_EOF_MARK];
        if (!(rc = rdb_read_trailer(rr, got, REDIS_EOF_MARK)) && memcmp(got, mark, REDIS_EOF_MARK))
            rc = err_set(ERR_DAMAGED, "RDB stream: the end mark of the diskless transfer does not match");
    }
    rdb_reader_free(&rr);
    if (rc == ERR_DAMAGED) /* the parser's message names the byte, not the source */
        err_wrap("Redis source %s", o->source);
    return rc;
}

static void file_node(tree_node *n)
{
    memset(n, 0, sizeof *n);
    n->type = NODE_FILE;
    n->mode = 0600;
    n->uid = (uint32_t)geteuid();
    n->gid = (uint32_t)getegid();
    n->nlink = 1;
    n->mtime = n->ctime = n->atime = time(NULL);
}

int redis_backup(repo *r, const redis_opts *o, uint8_t root[32], snapshot_summary *sum, rdb_info *info,
                 redis_sync *sync)
{
    redisContext *c = NULL;
    blob_stream *bs = NULL;
    tree_builder *tb = NULL;
    progress prog;
    sock s = {-1, o->timeout, o};
    memset(sync, 0, sizeof *sync);
    int rc = open_session(o, &c);
    if (!rc)
        rc = handshake(c, o, sync, &s);
    if (!rc)
        rc = blob_stream_new(r, &bs);
    if (!rc)
        rc = tree_builder_new(&tb);
    progress_start(&prog, "snapshot", o->progress);
    if (!rc)
        rc = transfer(o, &s, bs, &prog, info, sync);
    progress_end(&prog);
    redisFree(c); /* we are not staying as a replica */
    tree_node n;
    file_node(&n);
    if (!rc)
        rc = blob_stream_end(bs, &n);
    if (!rc) {
        sum->bytes_read = sum->total_bytes = n.size;
        sum->total_files = sum->files_new = 1;
        rc = tree_builder_add(tb, "dump.rdb", &n);
    } else {
        tree_node_free(&n);
    }
    if (!rc)
        rc = tree_builder_write(tb, r, root);
    blob_stream_free(&bs);
    tree_builder_free(&tb);
    return rc;
}

char *redis_meta_json(const char *source, const rdb_info *info, const redis_sync *sync)
{
    cJSON *o = cJSON_CreateObject(), *keys = cJSON_CreateObject(), *exp = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "redis");
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddStringToObject(o, "redis_version", sync->version[0] ? sync->version : info->redis_ver);
    cJSON_AddNumberToObject(o, "rdb_version", info->version);
    cJSON_AddStringToObject(o, "repl_id", sync->repl_id);
    cJSON_AddNumberToObject(o, "repl_offset", (double)sync->offset);
    cJSON_AddStringToObject(o, "transfer", sync->diskless ? "diskless" : "disk");
    cJSON_AddBoolToObject(o, "checksum_verified", info->checksum_verified);
    cJSON_AddNumberToObject(o, "bytes", (double)info->bytes);
    for (uint32_t d = 0; d < info->ndbs; d++) {
        char k[16];
        if (!info->dbs[d].keys)
            continue;
        snprintf(k, sizeof k, "%u", d);
        cJSON_AddNumberToObject(keys, k, (double)info->dbs[d].keys);
        cJSON_AddNumberToObject(exp, k, (double)info->dbs[d].expires);
    }
    cJSON_AddItemToObject(o, "keys", keys);
    cJSON_AddItemToObject(o, "expires", exp);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- reading a stored RDB back -------------------------------------------------------- */

typedef struct blob_src {
    repo *r;
    const tree_node *n;
    uint32_t next;
    blob_reader br;
    buf b;
    size_t off;
} blob_src;

static int blob_read(void *ctx, uint8_t *out, size_t cap, size_t *got)
{
    blob_src *s = ctx;
    while (s->off == s->b.len) {
        if (s->next == s->n->ncontent) {
            *got = 0;
            return 0;
        }
        int rc = repo_blob_read(s->r, &s->br, BLOB_DATA, s->n->content[s->next++], &s->b, 0);
        if (rc)
            return rc;
        s->off = 0;
    }
    size_t k = s->b.len - s->off < cap ? s->b.len - s->off : cap;
    memcpy(out, s->b.data + s->off, k);
    s->off += k;
    *got = k;
    return 0;
}

int redis_snapshot_parse(repo *r, const snapshot *s, rdb_info *info)
{
    tree t;
    int rc = walk_load_tree(r, s->tree, &t);
    if (rc)
        return rc;
    const tree_node *n = tree_find(&t, "dump.rdb");
    if (!n) {
        tree_free(&t);
        return err_set(ERR_DAMAGED, "snapshot has no dump.rdb");
    }
    blob_src src = {.r = r, .n = n};
    blob_reader_init(&src.br);
    buf_init(&src.b, 0);
    rdb_reader *rr;
    if (!(rc = rdb_reader_new(blob_read, &src, NULL, NULL, n->size, &rr))) {
        rc = rdb_parse(rr, info);
        rdb_reader_free(&rr);
    }
    buf_free(&src.b);
    blob_reader_free(&src.br);
    tree_free(&t);
    return rc;
}

int redis_check_snapshots(repo *r, check_report_fn fn, void *ctx, uint64_t *errors)
{
    snapshot *list;
    size_t n;
    int rc = snapshot_load_all(r, &list, &n, 2); /* damaged snapshots are the check's own findings */
    if (rc)
        return rc;
    rdb_info *info = calloc(1, sizeof *info);
    if (!info)
        rc = err_set(ERR_FATAL, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        if (strcmp(list[i].source, "redis"))
            continue;
        int prc = redis_snapshot_parse(r, &list[i], info);
        if (prc == ERR_DAMAGED) {
            char sid[9], obj[32];
            snapshot_short_id(list[i].id, sid);
            snprintf(obj, sizeof obj, "snapshot %s", sid);
            fn("error", obj, err_msg(), ctx);
            (*errors)++;
            err_clear();
        } else {
            rc = prc;
        }
    }
    free(info);
    snapshots_free(&list, n);
    return rc;
}
