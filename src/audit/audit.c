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

void audit_event_fields(cJSON *o, const audit_event *e)
{
    char t[64], host[256] = "";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    text_time(ts.tv_sec, ts.tv_nsec, t, sizeof t);
    gethostname(host, sizeof host - 1);
    struct passwd *pw = getpwuid(geteuid());
    const char *sudo = getenv("SUDO_USER");
    cJSON *a = cJSON_CreateArray(), *ids = cJSON_CreateArray();
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
}

static char *build_json(const audit_event *e, uint64_t seq, const uint8_t prev[32], cJSON *brk)
{
    char hex[65];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    audit_event_fields(o, e);
    text_hex(prev, 32, hex);
    cJSON_AddStringToObject(o, "prev", hex);
    if (brk) /* chains from the record before the first of these, not from seq - 1 */
        cJSON_AddItemToObject(o, "break", brk);
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

/* Is line an intact record seq (authenticates, parses, its MAC matches)? */
static int record_intact(const repo *r, const buf *line, uint64_t seq, uint8_t mac[32])
{
    uint8_t prev[32], key[32], want[32];
    uint64_t s;
    size_t jl;
    if (audit_line_parse((const char *)line->data, line->len, &s, prev, mac, &jl) != 0)
        return 0;
    audit_key(r, key);
    crypto_hmac(key, line->data, jl, want);
    return s == seq && crypto_equal(mac, want, 32);
}

static const char *break_why(int rc)
{
    return rc == ERR_NOTFOUND ? "missing" : rc == ERR_IO || rc == ERR_NOSPACE ? "unreadable" : "damaged";
}

#define AUDIT_MAX_BREAK 1000 /* records walked back at most: a break record stays small */

/* The record to chain from: the newest intact one at or below head. Records above it
 * that cannot be used are listed in brk ([{"seq":N,"why":"damaged"}...]) so that a
 * damaged or unreadable newest record never stops the trail: the next record notes
 * the break and chains from the last intact record (zeros when none is near). */
static void find_anchor(repo *r, uint64_t head, uint8_t prev[32], cJSON **brk)
{
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    char first_why[600] = "";
    uint64_t s = head, n = 0;
    memset(prev, 0, 32);
    *brk = NULL;
    for (; s > 0 && n < AUDIT_MAX_BREAK; s--, n++) {
        int rc = load_record(r, s, &line);
        if (!rc && record_intact(r, &line, s, prev))
            break;
        memset(prev, 0, 32);
        if (!rc)
            rc = ERR_DAMAGED;
        if (!n)
            snprintf(first_why, sizeof first_why, "%s: %s", break_why(rc), err_msg()[0] ? err_msg() : "MAC mismatch");
        err_clear();
        cJSON *o = cJSON_CreateObject();
        if (!*brk)
            *brk = cJSON_CreateArray();
        cJSON_AddNumberToObject(o, "seq", (double)s);
        cJSON_AddStringToObject(o, "why", break_why(rc));
        cJSON_InsertItemInArray(*brk, 0, o);
    }
    char range[64];
    if (n > 1)
        snprintf(range, sizeof range, "s %llu to %llu", (unsigned long long)(head - n + 1), (unsigned long long)head);
    else
        snprintf(range, sizeof range, " seq %llu", (unsigned long long)head);
    if (n)
        LOG_WARN("audit record%s in %s cannot be used (seq %llu is %s); the trail goes on after it, and the next "
                 "record notes the break",
                 range, repo_location(r), (unsigned long long)head, first_why);
    buf_free(&line);
}

int audit_append(repo *r, const audit_event *e)
{
    char path[PATH_MAX];
    int fd = open_local(r, path, sizeof path), rc = 0;
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    for (int attempt = 0; attempt < 20; attempt++) {
        head_ctx h;
        uint8_t prev[32], id[32];
        cJSON *brk = NULL;
        if ((rc = list_seqs(r, &h)))
            break;
        free(h.all);
        find_anchor(r, h.max, prev, &brk);
        if (fd >= 0 && (rc = sync_local(r, fd, h.max))) {
            cJSON_Delete(brk);
            break;
        }
        char *json = build_json(e, h.max + 1, prev, brk);
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

typedef struct seq_mac {
    uint64_t seq;
    uint8_t mac[32];
} seq_mac;

typedef struct chain {
    uint64_t last_seq;
    uint8_t last_mac[32];
    seq_mac *macs; /* intact records by seq, ascending: the anchors breaks chain from */
    size_t nmacs, cap;
    audit_verify_result *res;
    const char *where;
    audit_problem_fn fn;
    void *ctx;
    uint8_t key[32];
} chain;

static void problem(chain *c, int kind, const char *fmt, ...) PRINTF(3, 4);
static void problem(chain *c, int kind, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (kind == ERR_IO)
        c->res->unreadable++;
    else
        c->res->damaged++;
    c->fn(c->where, msg, c->ctx);
}

/* The MAC of intact record seq (zeros for 0); NULL when it was not seen intact. */
static const uint8_t *mac_of(const chain *c, uint64_t seq)
{
    static const uint8_t zero[32];
    if (seq == 0)
        return zero;
    for (size_t i = c->nmacs; i-- > 0;)
        if (c->macs[i].seq == seq)
            return c->macs[i].mac;
    return NULL;
}

/* A break record's list: contiguous seqs ending just below seq. Returns the first, or
 * seq when there is no break; 0 with *bad set when the list is malformed. */
uint64_t audit_break_first(const char *json, size_t jl, uint64_t seq, int *bad)
{
    cJSON *o = cJSON_ParseWithLength(json, jl);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "break"), *it;
    uint64_t first = seq, next = 0;
    *bad = 0;
    if (b) {
        int n = cJSON_GetArraySize(b);
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(b, 0), "seq");
        *bad = !cJSON_IsArray(b) || n < 1 || !cJSON_IsNumber(f) || f->valuedouble < 1 || f->valuedouble >= (double)seq;
        if (!*bad)
            first = next = (uint64_t)f->valuedouble;
        cJSON_ArrayForEach(it, b)
        {
            const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "seq");
            *bad |= !cJSON_IsNumber(q) || q->valuedouble != (double)next++;
        }
        *bad |= next != seq;
    }
    cJSON_Delete(o);
    return *bad ? 0 : first;
}

static void remember_mac(chain *c, uint64_t seq, const uint8_t mac[32])
{
    if (array_grow(&c->macs, &c->cap, c->nmacs + 1, sizeof *c->macs, 64) != 0) {
        err_clear(); /* without the table a later break is judged "does not chain" */
        return;
    }
    c->macs[c->nmacs].seq = seq;
    memcpy(c->macs[c->nmacs++].mac, mac, 32);
}

/* Checks one record in sequence; expected_seq is what position says it should be
 * (0 when unknown, as in the local file). */
static void chain_step(chain *c, const char *line, size_t len, uint64_t expected_seq)
{
    uint64_t seq;
    uint8_t prev[32], mac[32], want[32];
    size_t jl;
    int bad;
    if (audit_line_parse(line, len, &seq, prev, mac, &jl) != 0) {
        problem(c, ERR_DAMAGED, "record after seq %llu is damaged (%s)", (unsigned long long)c->last_seq, err_msg());
        err_clear();
        return;
    }
    crypto_hmac(c->key, line, jl, want);
    if (!crypto_equal(mac, want, 32)) {
        problem(c, ERR_DAMAGED, "record seq %llu was edited or inserted: its MAC does not match",
                (unsigned long long)seq);
        /* take its place in the chain so the records after it are judged on their own */
        c->last_seq++;
        return;
    }
    if (expected_seq && seq != expected_seq) {
        problem(c, ERR_DAMAGED, "record stored as seq %llu claims seq %llu: records were moved or reordered",
                (unsigned long long)expected_seq, (unsigned long long)seq);
        return;
    }
    uint64_t first = audit_break_first(line, jl, seq, &bad), anchor = first ? first - 1 : 0;
    const uint8_t *want_prev = mac_of(c, anchor);
    if (bad)
        problem(c, ERR_DAMAGED, "record seq %llu has a malformed break list", (unsigned long long)seq);
    else if (seq <= c->last_seq)
        problem(c, ERR_DAMAGED, "record seq %llu comes after seq %llu: records were reordered or repeated",
                (unsigned long long)seq, (unsigned long long)c->last_seq);
    else if (anchor > c->last_seq)
        problem(c, ERR_DAMAGED, "records %llu to %llu are missing (deleted)", (unsigned long long)c->last_seq + 1,
                (unsigned long long)anchor);
    else if (want_prev && !crypto_equal(prev, want_prev, 32))
        problem(c, ERR_DAMAGED, "record seq %llu does not chain to record seq %llu (one of them was replaced)",
                (unsigned long long)seq, (unsigned long long)anchor);
    /* no want_prev: the anchor itself was damaged, and that was reported already */
    if (seq > c->last_seq) {
        c->last_seq = seq;
        memcpy(c->last_mac, mac, 32);
        remember_mac(c, seq, mac);
    }
    c->res->records++;
    if (first != seq && !bad)
        c->res->breaks++;
}

static void verify_repo_chain(repo *r, chain *c, const head_ctx *h)
{
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    for (size_t i = 0; i < h->n; i++) {
        int rc = load_record(r, h->all[i], &line);
        if (rc) {
            /* unreadable (permissions, I/O) is not damaged: the record may be intact */
            problem(c, rc == ERR_DAMAGED ? ERR_DAMAGED : ERR_IO, "record seq %llu is %s: %s",
                    (unsigned long long)h->all[i], rc == ERR_DAMAGED ? "damaged" : "unreadable", err_msg());
            err_clear();
            if (h->all[i] > c->last_seq)
                c->last_seq = h->all[i];
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
    int rc = fs_read_file(path, &all, (size_t)1 << 30);
    if (rc) {
        if (rc != ERR_NOTFOUND)
            problem(c, rc == ERR_DAMAGED ? ERR_DAMAGED : ERR_IO, "cannot read: %s", err_msg());
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

int audit_verify(repo *r, audit_problem_fn fn, void *ctx, audit_verify_result *res)
{
    head_ctx h;
    memset(res, 0, sizeof *res);
    audit_verify_result local_res = {0};
    int rc = list_seqs(r, &h);
    if (rc)
        return rc;
    char path[PATH_MAX];
    chain rc_chain = {.where = "repository", .fn = fn, .ctx = ctx, .res = res};
    audit_key(r, rc_chain.key);
    verify_repo_chain(r, &rc_chain, &h);
    chain local = {.where = "local copy", .fn = fn, .ctx = ctx, .res = &local_res};
    memcpy(local.key, rc_chain.key, 32);
    if ((rc = audit_local_path(r, path, sizeof path)) == 0) {
        local.where = path;
        verify_local_chain(&local, path);
        const uint8_t *same = mac_of(&rc_chain, local.last_seq);
        /* The local copy may lag (records from other hosts arrive on its next append)
         * but must never be ahead of the repository. */
        if (local.res->records && local.last_seq > rc_chain.last_seq)
            problem(&rc_chain, ERR_DAMAGED,
                    "the local copy has records up to seq %llu but the repository only up to %llu:"
                    " records were deleted from the repository",
                    (unsigned long long)local.last_seq, (unsigned long long)rc_chain.last_seq);
        else if (local.res->records && same && !crypto_equal(local.last_mac, same, 32))
            problem(&rc_chain, ERR_DAMAGED, "the local copy and the repository disagree about record seq %llu",
                    (unsigned long long)local.last_seq);
    } else if (rc == ERR_IO || rc == ERR_NOSPACE) { /* no state folder: the repository's chain still counts */
        problem(&rc_chain, ERR_IO, "local copy: %s", err_msg());
        err_clear();
        rc = 0;
    }
    free(h.all);
    free(rc_chain.macs);
    free(local.macs);
    res->damaged += local_res.damaged;
    res->unreadable += local_res.unreadable;
    return rc;
}

/* ---- what the trail says is in force -------------------------------------------- */

static int64_t record_time(const cJSON *o)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "time");
    int64_t sec = INT64_MAX; /* unknown: treat as newest */
    if (!cJSON_IsString(t) || text_parse_time(t->valuestring, &sec) != 0) {
        err_clear();
        sec = INT64_MAX;
    }
    return sec;
}

static void fact_remove(audit_fact *list, size_t *n, const uint8_t id[32])
{
    for (size_t i = 0; i < *n; i++)
        if (!memcmp(list[i].id, id, 32)) {
            list[i] = list[--*n];
            return;
        }
}

static int fact_add(audit_fact **list, size_t *n, size_t *cap, const uint8_t id[32], uint64_t seq, int64_t t)
{
    fact_remove(*list, n, id);
    int rc = array_grow(list, cap, *n + 1, sizeof **list, 16);
    if (rc)
        return rc;
    (*list)[*n].seq = seq;
    (*list)[*n].time = t;
    memcpy((*list)[(*n)++].id, id, 32);
    return 0;
}

/* One intact record's effect: backup saves its ids, forget removes them, a hold or
 * release that succeeded places or lifts a hold. */
static int apply_record(audit_state *st, size_t *caps, const cJSON *o, uint64_t seq)
{
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command"),
                *ex = cJSON_GetObjectItemCaseSensitive(o, "exit"), *ids = cJSON_GetObjectItemCaseSensitive(o, "ids"),
                *it;
    if (!cJSON_IsString(cmd))
        return 0;
    const char *c = cmd->valuestring;
    int ok = cJSON_IsNumber(ex) && ex->valuedouble == 0, rc = 0;
    int64_t t = record_time(o);
    cJSON_ArrayForEach(it, ids)
    {
        uint8_t id[32];
        if (rc || !cJSON_IsString(it) || strlen(it->valuestring) != 64 || text_unhex(it->valuestring, id, 32) != 0)
            continue;
        if (!strcmp(c, "backup")) /* ids are recorded only once the snapshot is saved */
            rc = fact_add(&st->saved, &st->nsaved, &caps[0], id, seq, t);
        else if (!strcmp(c, "forget")) /* recorded just before the removal */
            fact_remove(st->saved, &st->nsaved, id);
        else if (ok && !strcmp(c, "hold"))
            rc = fact_add(&st->holds, &st->nholds, &caps[1], id, seq, t);
        else if (ok && !strcmp(c, "release"))
            fact_remove(st->holds, &st->nholds, id);
    }
    return rc;
}

int audit_state_load(repo *r, audit_state *st)
{
    head_ctx h;
    size_t caps[2] = {0, 0};
    memset(st, 0, sizeof *st);
    int rc = list_seqs(r, &h);
    buf line;
    buf_init(&line, AUDIT_MAX_LINE);
    for (size_t i = 0; !rc && i < h.n; i++) {
        uint8_t mac[32];
        if (load_record(r, h.all[i], &line) != 0 || !record_intact(r, &line, h.all[i], mac)) {
            err_clear();
            st->incomplete = 1;
            continue;
        }
        const char *tab = memchr(line.data, '\t', line.len);
        cJSON *o = cJSON_ParseWithLength((const char *)line.data, (size_t)(tab - (const char *)line.data));
        rc = apply_record(st, caps, o, h.all[i]);
        cJSON_Delete(o);
    }
    if (!rc && h.n && h.all[h.n - 1] != h.n)
        st->incomplete = 1; /* records missing: what they said is unknown */
    buf_free(&line);
    free(h.all);
    if (rc)
        audit_state_free(st);
    return rc;
}

void audit_state_free(audit_state *st)
{
    free(st->saved);
    free(st->holds);
    memset(st, 0, sizeof *st);
}

const audit_fact *audit_state_find(const audit_fact *list, size_t n, const uint8_t id[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(list[i].id, id, 32))
            return &list[i];
    return NULL;
}

/* ---- check: the trail, and the state it records against the repository ---------- */

typedef struct acheck {
    repo *r;
    audit_check_fn fn;
    void *ctx;
    audit_check_result *res;
    const audit_state *st;
} acheck;

static void acheck_report(acheck *a, int kind, const char *object, const char *fmt, ...) PRINTF(4, 5);
static void acheck_report(acheck *a, int kind, const char *object, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (kind == ERR_DAMAGED)
        a->res->damaged++;
    else if (kind == ERR_IO)
        a->res->unreadable++;
    else
        a->res->warnings++;
    a->fn(kind ? "error" : "warning", object, msg, a->ctx);
}

static void on_trail_problem(const char *where, const char *problem, void *vctx)
{
    acheck *a = vctx;
    char object[PATH_MAX + 16];
    snprintf(object, sizeof object, "audit trail (%s)", where);
    a->fn("error", object, problem, a->ctx); /* counted by audit_verify */
}

/* Every hold file: readable, authentic, and in force by the trail. */
static int check_hold_file(const uint8_t id[32], void *vctx)
{
    acheck *a = vctx;
    char hex[65], name[80];
    text_hex(id, 32, hex);
    snprintf(name, sizeof name, "holds/%s", hex);
    buf b;
    buf_init(&b, 0);
    int rc = repo_object_load(a->r, OBJ_HOLD, id, &b);
    buf_free(&b);
    if (rc == ERR_NOTFOUND) { /* released while listing */
        err_clear();
        return 0;
    }
    if (rc) {
        acheck_report(a, rc == ERR_DAMAGED ? ERR_DAMAGED : ERR_IO, name,
                      "legal hold is %s: %s (forget refuses this snapshot until it is put back or released)",
                      rc == ERR_DAMAGED ? "damaged" : "unreadable", err_msg());
        err_clear();
    } else if (!audit_state_find(a->st->holds, a->st->nholds, id) && !a->st->incomplete) {
        acheck_report(a, 0, name, "legal hold is not in the audit trail (no intact hold record places it)");
    }
    return 0;
}

static int hold_file_exists(repo *r, const uint8_t id[32])
{
    char hex[65], name[80];
    uint64_t size;
    text_hex(id, 32, hex);
    snprintf(name, sizeof name, "holds/%s", hex);
    int rc = store_size(repo_store(r), name, &size);
    err_clear();
    return rc != ERR_NOTFOUND;
}

int audit_check_state(repo *r, audit_check_fn fn, void *ctx, audit_check_result *res)
{
    audit_state st;
    acheck a = {.r = r, .fn = fn, .ctx = ctx, .res = res, .st = &st};
    int rc = audit_state_load(r, &st);
    if (rc)
        return rc;
    for (size_t i = 0; i < st.nholds; i++) {
        char hex[65], name[80];
        text_hex(st.holds[i].id, 32, hex);
        snprintf(name, sizeof name, "holds/%s", hex);
        if (!hold_file_exists(r, st.holds[i].id))
            acheck_report(&a, ERR_DAMAGED, name,
                          "legal hold is missing: audit record seq %llu placed it and no release followed "
                          "(the file was deleted)",
                          (unsigned long long)st.holds[i].seq);
    }
    for (size_t i = 0; i < st.nsaved; i++) {
        char hex[65], name[80];
        uint64_t size;
        text_hex(st.saved[i].id, 32, hex);
        snprintf(name, sizeof name, "snapshots/%s", hex);
        if (store_size(repo_store(r), name, &size) == ERR_NOTFOUND)
            acheck_report(&a, ERR_DAMAGED, name,
                          "snapshot is missing: audit record seq %llu saved it and no forget removed it "
                          "(the file was deleted)",
                          (unsigned long long)st.saved[i].seq);
        err_clear();
    }
    rc = repo_object_list(r, OBJ_HOLD, check_hold_file, &a);
    audit_state_free(&st);
    return rc;
}

int audit_check(repo *r, audit_check_fn fn, void *ctx, audit_check_result *res)
{
    audit_verify_result vr;
    memset(res, 0, sizeof *res);
    acheck a = {.r = r, .fn = fn, .ctx = ctx, .res = res};
    int rc = audit_verify(r, on_trail_problem, &a, &vr);
    if (rc)
        return rc;
    res->damaged += vr.damaged;
    res->unreadable += vr.unreadable;
    res->records = vr.records;
    return audit_check_state(r, fn, ctx, res);
}

int audit_known_snapshots(repo *r, snapshot_known **out, size_t *n)
{
    audit_state st;
    int rc = audit_state_load(r, &st);
    if (rc)
        return rc;
    *out = calloc(st.nsaved ? st.nsaved : 1, sizeof **out);
    if (!*out) {
        audit_state_free(&st);
        return err_set(ERR_FATAL, "out of memory");
    }
    for (size_t i = 0; i < st.nsaved; i++) {
        memcpy((*out)[i].id, st.saved[i].id, 32);
        (*out)[i].time_bound = st.saved[i].time;
        (*out)[i].seq = st.saved[i].seq;
    }
    *n = st.nsaved;
    audit_state_free(&st);
    return 0;
}

int audit_mark_holds(repo *r, snapshot *list, size_t n, size_t *lost)
{
    audit_state st;
    int rc = audit_state_load(r, &st);
    *lost = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const audit_fact *f = audit_state_find(st.holds, st.nholds, list[i].id);
        if (f && !list[i].held) {
            list[i].held = 1; /* kept as held: the trail says so */
            list[i].hold_lost = f->seq;
            (*lost)++;
        }
    }
    audit_state_free(&st);
    return 0;
}
