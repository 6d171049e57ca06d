/* audit — see audit.h. A record line is "<json>\t<hex HMAC(audit key, json)>";
 * the JSON's "prev" is the previous record's MAC (zeros for the first). */
#define _GNU_SOURCE
#include "audit.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/text.h"

#define AUDIT_MAX_LINE (1 << 20)

static void audit_key(const repo *r, uint8_t key[32]) { crypto_derive(repo_keys(r)->id, "audit-chain", key); }

static void seq_id(uint64_t seq, uint8_t id[32])
{
    memset(id, 0, 32);
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(seq >> (56 - 8 * i));
}

static uint64_t id_seq(const uint8_t id[32])
{
    uint64_t s = 0;
    for (int i = 0; i < 8; i++)
        s = s << 8 | id[i];
    return s;
}

int audit_local_path(const repo *r, char *out, size_t cap)
{
    char dir[PATH_MAX], hex[65];
    const char *env = getenv("LIFELINE_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (env && *env)
        snprintf(dir, sizeof dir, "%s", env);
    else if (geteuid() == 0)
        snprintf(dir, sizeof dir, "/var/lib/lifeline");
    else if (xdg && *xdg)
        snprintf(dir, sizeof dir, "%s/lifeline", xdg);
    else
        snprintf(dir, sizeof dir, "%s/.local/state/lifeline", home ? home : "/tmp");
    int rc = fs_mkdirs(dir, 0700);
    if (rc)
        return rc;
    text_hex(repo_id(r), 32, hex);
    if (snprintf(out, cap, "%s/audit-%.16s.log", dir, hex) >= (int)cap)
        return err_set(ERR_FATAL, "state path too long");
    return 0;
}

int audit_line_parse(const char *line, size_t len, uint64_t *seq, uint8_t prev[32], uint8_t mac[32],
                     size_t *json_len)
{
    const char *tab = memchr(line, '\t', len);
    char hex[65];
    if (!tab || (size_t)(line + len - tab - 1) != 64)
        return err_set(ERR_DAMAGED, "malformed audit line");
    memcpy(hex, tab + 1, 64);
    hex[64] = '\0';
    if (text_unhex(hex, mac, 32) != 0)
        return err_set(ERR_DAMAGED, "malformed audit MAC");
    *json_len = (size_t)(tab - line);
    cJSON *o = cJSON_ParseWithLength(line, *json_len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "seq"), *p = cJSON_GetObjectItemCaseSensitive(o, "prev");
    int rc = 0;
    if (!cJSON_IsNumber(s) || s->valuedouble < 1 || s->valuedouble > 9e15 || !cJSON_IsString(p) ||
        text_unhex(p->valuestring, prev, 32) != 0)
        rc = err_set(ERR_DAMAGED, "audit record lacks seq or prev");
    else
        *seq = (uint64_t)s->valuedouble;
    cJSON_Delete(o);
    return rc;
}

/* Loads record seq from the repository as its line; ERR_NOTFOUND when absent. */
static int load_record(repo *r, uint64_t seq, buf *line)
{
    uint8_t id[32];
    seq_id(seq, id);
    return repo_object_load(r, OBJ_AUDIT, id, line);
}

typedef struct head_ctx {
    uint64_t max;
    uint64_t *all;
    size_t n, cap;
} head_ctx;

static int collect_seq(const uint8_t id[32], void *vctx)
{
    head_ctx *h = vctx;
    uint64_t s = id_seq(id);
    if (s > h->max)
        h->max = s;
    int rc = array_grow(&h->all, &h->cap, h->n + 1, sizeof *h->all, 64);
    if (rc)
        return rc;
    h->all[h->n++] = s;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_seqs(repo *r, head_ctx *h)
{
    memset(h, 0, sizeof *h);
    int rc = repo_object_list(r, OBJ_AUDIT, collect_seq, h);
    if (!rc && h->n > 1)
        qsort(h->all, h->n, sizeof *h->all, cmp_u64);
    return rc;
}

static char *build_json(const audit_event *e, uint64_t seq, const uint8_t prev[32])
{
    char t[64], hex[65], host[256] = "";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    text_time(ts.tv_sec, ts.tv_nsec, t, sizeof t);
    gethostname(host, sizeof host - 1);
    struct passwd *pw = getpwuid(geteuid());
    const char *sudo = getenv("SUDO_USER");
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray(), *ids = cJSON_CreateArray();
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    cJSON_AddStringToObject(o, "time", t);
    cJSON_AddStringToObject(o, "user", pw ? pw->pw_name : "?");
    if (sudo)
        cJSON_AddStringToObject(o, "sudo_user", sudo);
    cJSON_AddStringToObject(o, "host", host);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddStringToObject(o, "command", e->command);
    for (int i = 0; i < e->nargs; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(e->args[i]));
    cJSON_AddItemToObject(o, "args", a);
    cJSON_AddNumberToObject(o, "exit", e->exit_code);
    cJSON_AddStringToObject(o, "outcome", e->message ? e->message : (e->exit_code ? "failed" : "ok"));
    for (size_t i = 0; i < e->nids; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(e->ids[i]));
    cJSON_AddItemToObject(o, "ids", ids);
    text_hex(prev, 32, hex);
    cJSON_AddStringToObject(o, "prev", hex);
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

static int make_line(const repo *r, const char *json, buf *line)
{
    uint8_t key[32], mac[32];
    char hex[65];
    audit_key(r, key);
    crypto_hmac(key, json, strlen(json), mac);
    text_hex(mac, 32, hex);
    buf_reset(line);
    int rc = buf_append(line, json, strlen(json));
    if (!rc)
        rc = buf_append_u8(line, '\t');
    if (!rc)
        rc = buf_append(line, hex, 64);
    return rc;
}

/* Brings the local copy up to the repository's head, then returns. Caller holds flock. */
static int sync_local(repo *r, int fd, uint64_t head)
{
    /* Find the last seq in the local file. */
    buf all, line;
    buf_init(&all, 0);
    buf_init(&line, AUDIT_MAX_LINE);
    uint64_t last = 0;
    int rc = 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (fs_read_file(path, &all, (size_t)1 << 30) == 0 && all.len) {
        size_t end = all.len, s = end;
        while (s > 0 && all.data[s - 1] == '\n')
            end = --s;
        while (s > 0 && all.data[s - 1] != '\n')
            s--;
        uint8_t prev[32], mac[32];
        size_t jl;
        if (audit_line_parse((const char *)all.data + s, end - s, &last, prev, mac, &jl) != 0) {
            err_clear();
            last = 0; /* unreadable tail: verify will say so; append after it anyway */
        }
    }
    err_clear();
    /* everything after the local copy's last record (all of it for a new copy) */
    for (uint64_t s = last + 1; !rc && s <= head; s++) {
        if ((rc = load_record(r, s, &line)) == 0 && (rc = buf_append_u8(&line, '\n')) == 0 &&
            fs_write_all(fd, line.data, line.len) != 0)
            rc = err_sys(ERR_IO, "append to the local audit log");
        if (rc == ERR_NOTFOUND || rc == ERR_DAMAGED) { /* verify reports it */
            err_clear();
            rc = 0;
        }
    }
    buf_free(&all);
    buf_free(&line);
    return rc;
}

/* The local copy, open and locked; -1 when the state folder cannot be used (a user
 * without a writable home, e.g. nobody): a one-line warning, and the record goes to
 * the repository alone, whose chain is the authority (the copy only mirrors it). */
static int open_local(const repo *r, char *path, size_t cap)
{
    int fd = -1, rc = audit_local_path(r, path, cap);
    if (!rc && (fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
        rc = err_sys(ERR_IO, "open %s", path);
    if (!rc && flock(fd, LOCK_EX) != 0)
        rc = err_sys(ERR_IO, "lock %s", path);
    if (!rc)
        return fd;
    if (fd >= 0)
        close(fd);
    LOG_WARN("no local copy of the audit record: %s (the repository's trail has it; LIFELINE_STATE_DIR "
             "names a folder for the copy)", err_msg());
    err_clear();
    return -1;
}

int audit_append(repo *r, const audit_event *e)
{
    char path[PATH_MAX];
    int fd = open_local(r, path, sizeof path), rc = 0;
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    for (int attempt = 0; attempt < 20; attempt++) {
        head_ctx h;
        uint8_t prev[32] = {0}, mac[32], id[32];
        uint64_t seq = 0;
        size_t jl;
        if ((rc = list_seqs(r, &h)))
            break;
        free(h.all);
        if (h.max && (rc = load_record(r, h.max, &line)) == 0) {
            rc = audit_line_parse((const char *)line.data, line.len, &seq, prev, mac, &jl);
            memcpy(prev, mac, 32);
        }
        if (rc)
            break;
        if (fd >= 0 && (rc = sync_local(r, fd, h.max)))
            break;
        char *json = build_json(e, h.max + 1, prev);
        if (!json) {
            rc = err_set(ERR_FATAL, "out of memory");
            break;
        }
        rc = make_line(r, json, &line);
        cJSON_free(json);
        seq_id(h.max + 1, id);
        if (!rc)
            rc = repo_object_save(r, OBJ_AUDIT, id, line.data, line.len, 1);
        if (rc && errno == EEXIST) { /* another process took this seq: chain onto it */
            err_clear();
            rc = 0;
            continue;
        }
        if (!rc && fd >= 0 && ((rc = buf_append_u8(&line, '\n')) == 0) && fs_write_all(fd, line.data, line.len) != 0)
            rc = err_sys(ERR_IO, "append to local audit log %s", path);
        if (!rc && fd >= 0 && fsync(fd) != 0)
            rc = err_sys(ERR_IO, "fsync local audit log %s", path);
        break;
    }
    buf_free(&line);
    if (fd >= 0)
        close(fd);
    return rc;
}

int audit_list(repo *r, audit_record **out, size_t *n)
{
    head_ctx h;
    int rc = list_seqs(r, &h);
    audit_record *list = calloc(h.n ? h.n : 1, sizeof *list);
    size_t k = 0;
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    if (!rc && !list)
        rc = err_set(ERR_FATAL, "out of memory");
    for (size_t i = 0; !rc && i < h.n; i++) {
        if (load_record(r, h.all[i], &line) != 0) {
            err_clear();
            continue;
        }
        const char *tab = memchr(line.data, '\t', line.len);
        size_t jl = tab ? (size_t)(tab - (const char *)line.data) : line.len;
        list[k].seq = h.all[i];
        if (!(list[k].json = strndup((const char *)line.data, jl)))
            rc = err_set(ERR_FATAL, "out of memory");
        else
            k++;
    }
    buf_free(&line);
    free(h.all);
    if (rc) {
        audit_records_free(&list, k);
        return rc;
    }
    *out = list;
    *n = k;
    return 0;
}

void audit_records_free(audit_record **list, size_t n)
{
    for (size_t i = 0; *list && i < n; i++)
        free((*list)[i].json);
    free(*list);
    *list = NULL;
}

/* ---- verify --------------------------------------------------------------------- */

typedef struct chain {
    uint64_t last_seq;
    uint8_t last_mac[32];
    uint64_t count;
    int problems;
    const char *where;
    audit_problem_fn fn;
    void *ctx;
    uint8_t key[32];
} chain;

static void problem(chain *c, const char *fmt, ...) PRINTF(2, 3);
static void problem(chain *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->problems++;
    c->fn(c->where, msg, c->ctx);
}

/* Checks one record in sequence; expected_seq is what position says it should be
 * (0 when unknown, as in the local file). */
static void chain_step(chain *c, const char *line, size_t len, uint64_t expected_seq)
{
    uint64_t seq;
    uint8_t prev[32], mac[32], want[32];
    size_t jl;
    if (audit_line_parse(line, len, &seq, prev, mac, &jl) != 0) {
        problem(c, "record after seq %llu is unreadable (%s)", (unsigned long long)c->last_seq, err_msg());
        err_clear();
        return;
    }
    crypto_hmac(c->key, line, jl, want);
    if (!crypto_equal(mac, want, 32)) {
        problem(c, "record seq %llu was edited or inserted: its MAC does not match", (unsigned long long)seq);
        /* take its place in the chain so the records after it are judged on their own */
        c->last_seq++;
        memcpy(c->last_mac, mac, 32);
        c->count++;
        return;
    }
    if (expected_seq && seq != expected_seq) {
        problem(c, "record stored as seq %llu claims seq %llu: records were moved or reordered",
                (unsigned long long)expected_seq, (unsigned long long)seq);
        return;
    }
    if (seq <= c->last_seq)
        problem(c, "record seq %llu comes after seq %llu: records were reordered or repeated",
                (unsigned long long)seq, (unsigned long long)c->last_seq);
    else if (seq != c->last_seq + 1)
        problem(c, "records %llu to %llu are missing (deleted)", (unsigned long long)c->last_seq + 1,
                (unsigned long long)seq - 1);
    else if (!crypto_equal(prev, c->last_mac, 32))
        problem(c, "record seq %llu does not chain to record seq %llu (one of them was replaced)",
                (unsigned long long)seq, (unsigned long long)c->last_seq);
    if (seq > c->last_seq) {
        c->last_seq = seq;
        memcpy(c->last_mac, mac, 32);
    }
    c->count++;
}

static void verify_repo_chain(repo *r, chain *c, const head_ctx *h)
{
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    for (size_t i = 0; i < h->n; i++) {
        int rc = load_record(r, h->all[i], &line);
        if (rc) {
            problem(c, "record seq %llu is damaged: %s", (unsigned long long)h->all[i], err_msg());
            err_clear();
            continue;
        }
        chain_step(c, (const char *)line.data, line.len, h->all[i]);
    }
    buf_free(&line);
}

static void verify_local_chain(chain *c, const char *path)
{
    buf all;
    buf_init(&all, 0);
    if (fs_read_file(path, &all, (size_t)1 << 30) != 0) {
        if (err_last() != ERR_NOTFOUND)
            problem(c, "cannot read: %s", err_msg());
        err_clear();
        buf_free(&all);
        return;
    }
    size_t s = 0;
    while (s < all.len) {
        const uint8_t *nl = memchr(all.data + s, '\n', all.len - s);
        size_t e = nl ? (size_t)(nl - all.data) : all.len;
        if (e > s)
            chain_step(c, (const char *)all.data + s, e - s, 0);
        s = e + 1;
    }
    buf_free(&all);
}

int audit_verify(repo *r, audit_problem_fn fn, void *ctx, uint64_t *records, int *problems)
{
    head_ctx h;
    int rc = list_seqs(r, &h);
    if (rc)
        return rc;
    char path[PATH_MAX];
    chain rc_chain = {.where = "repository", .fn = fn, .ctx = ctx};
    audit_key(r, rc_chain.key);
    verify_repo_chain(r, &rc_chain, &h);
    chain local = {.where = "local copy", .fn = fn, .ctx = ctx};
    memcpy(local.key, rc_chain.key, 32);
    if ((rc = audit_local_path(r, path, sizeof path)) == 0) {
        local.where = path;
        verify_local_chain(&local, path);
        /* The local copy may lag (records from other hosts arrive on its next append)
         * but must never be ahead of the repository. */
        if (local.count && local.last_seq > rc_chain.last_seq)
            problem(&rc_chain, "the local copy has records up to seq %llu but the repository only up to %llu:"
                               " records were deleted from the repository",
                    (unsigned long long)local.last_seq, (unsigned long long)rc_chain.last_seq);
        else if (local.count && !crypto_equal(local.last_mac, rc_chain.last_mac, 32) &&
                 local.last_seq == rc_chain.last_seq)
            problem(&rc_chain, "the local copy and the repository disagree about record seq %llu",
                    (unsigned long long)local.last_seq);
    }
    free(h.all);
    *records = rc_chain.count;
    *problems = rc_chain.problems + local.problems;
    return rc;
}
