/* lock — see lock.h. */
#define _GNU_SOURCE
#include "lock.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/text.h"

struct repo_lock {
    repo *r;
    uint8_t id[32];
    int exclusive;
    pthread_t refresher;
    pthread_mutex_t mu; /* guards written and lost against the refresh thread */
    pthread_cond_t cv;
    int stop;
    int64_t written; /* the time field of our last write: what "unchanged" means */
    int64_t tried;   /* of a refresh that reported failure but may have landed (a failed
                      * folder fsync after the rename): also ours */
    int lost;        /* found removed or replaced by the refresh thread */
};

uint64_t lock_process_start(long pid)
{
    char path[64];
    buf b;
    buf_init(&b, 0);
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    uint64_t start = 0;
    if (fs_read_file(path, &b, 1 << 16) == 0) {
        b.data[b.len] = '\0';
        /* the command name may hold spaces and ')': fields count from the last ')' */
        char *p = strrchr((char *)b.data, ')');
        for (int field = 2; p && *p && field < 22; field++)
            p = strchr(p + 1, ' ');
        if (p)
            start = strtoull(p + 1, NULL, 10);
    }
    err_clear();
    buf_free(&b);
    return start;
}

static void this_boot(char out[40])
{
    buf b;
    buf_init(&b, 0);
    out[0] = '\0';
    if (fs_read_file("/proc/sys/kernel/random/boot_id", &b, 64) == 0)
        snprintf(out, 40, "%.*s", (int)strcspn((const char *)b.data, "\n"), (const char *)b.data);
    err_clear();
    buf_free(&b);
}

/* The pid namespace: two containers may share a host name, never a pid space. */
static void this_pidns(char out[40])
{
    ssize_t n = readlink("/proc/self/ns/pid", out, 39);
    out[n > 0 ? n : 0] = '\0';
}

/* Writes the lock with time now (the caller records it: what "unchanged" means). */
static int lock_write(repo *r, const uint8_t id[32], int exclusive, int create, int64_t now)
{
    char host[256] = "", boot[40], pidns[40];
    gethostname(host, sizeof host - 1);
    this_boot(boot);
    this_pidns(pidns);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", host);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddNumberToObject(o, "start", (double)lock_process_start((long)getpid()));
    cJSON_AddStringToObject(o, "boot", boot);
    cJSON_AddStringToObject(o, "pidns", pidns);
    cJSON_AddNumberToObject(o, "time", (double)now);
    cJSON_AddBoolToObject(o, "exclusive", exclusive);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return err_set(ERR_FATAL, "out of memory");
    int rc = repo_object_save(r, OBJ_LOCK, id, text, strlen(text), create);
    cJSON_free(text);
    return rc;
}

int lock_decode(const uint8_t *text, size_t len, lock_info *li)
{
    cJSON *o = cJSON_ParseWithLength((const char *)text, len);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "host"), *p = cJSON_GetObjectItemCaseSensitive(o, "pid"),
                *t = cJSON_GetObjectItemCaseSensitive(o, "time"), *s = cJSON_GetObjectItemCaseSensitive(o, "start"),
                *bt = cJSON_GetObjectItemCaseSensitive(o, "boot"), *ns = cJSON_GetObjectItemCaseSensitive(o, "pidns");
    if (!cJSON_IsString(h) || !cJSON_IsNumber(p) || !cJSON_IsNumber(t) || p->valuedouble < 0 ||
        p->valuedouble > 4194304 || t->valuedouble < 0 || t->valuedouble > 1e15) {
        cJSON_Delete(o);
        return err_set(ERR_DAMAGED, "lock file is malformed");
    }
    memset(li, 0, sizeof *li);
    snprintf(li->host, sizeof li->host, "%s", h->valuestring);
    li->pid = (long)p->valuedouble;
    li->time = (int64_t)t->valuedouble;
    /* start, boot and pidns were added later: older locks lack them */
    if (cJSON_IsNumber(s) && s->valuedouble > 0 && s->valuedouble < 1e18)
        li->start = (uint64_t)s->valuedouble;
    if (cJSON_IsString(bt))
        snprintf(li->boot, sizeof li->boot, "%s", bt->valuestring);
    if (cJSON_IsString(ns))
        snprintf(li->pidns, sizeof li->pidns, "%s", ns->valuestring);
    li->exclusive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "exclusive"));
    cJSON_Delete(o);
    return 0;
}

static int lock_read(repo *r, const uint8_t id[32], lock_info *li)
{
    buf b;
    buf_init(&b, 0);
    int rc = repo_object_load(r, OBJ_LOCK, id, &b);
    if (!rc)
        rc = lock_decode(b.data, b.len, li);
    buf_free(&b);
    return rc;
}

int lock_is_stale(const lock_info *li, int64_t now)
{
    char host[256] = "", boot[40], pidns[40];
    gethostname(host, sizeof host - 1);
    this_pidns(pidns);
    /* another host's process, or another container's: only the lock's age tells */
    if (strcmp(host, li->host) || li->pid <= 0 || (li->pidns[0] && pidns[0] && strcmp(li->pidns, pidns)))
        return now - li->time > LOCK_STALE_SECONDS;
    this_boot(boot);
    if (li->boot[0] && boot[0] && strcmp(li->boot, boot))
        return 1; /* written before this machine last started */
    if (kill((pid_t)li->pid, 0) != 0 && errno == ESRCH)
        return 1;
    uint64_t start = li->start ? lock_process_start(li->pid) : 0;
    if (start && start != li->start)
        return 1; /* the pid now belongs to another process */
    /* A live process on this host, however long since its last refresh: it may be
     * stopped (SIGSTOP, a suspended VM) and will go on writing when resumed. */
    return 0;
}

typedef struct scan_ctx {
    repo *r;
    const uint8_t *own;
    int exclusive;
    int conflict;
    lock_info other;
    int all, removed;
    int keep_stale; /* a reader that cannot write: stale locks are ignored, not removed */
    int say_kept;   /* unlock: name each lock it leaves and why */
} scan_ctx;

static void say_kept(const lock_info *li)
{
    char t[64], host[256] = "";
    gethostname(host, sizeof host - 1);
    text_time(li->time, 0, t, sizeof t);
    const char *why = strcmp(host, li->host)
                          ? "a lock of another host (or container) is stale only after 30 minutes without refresh"
                          : "that process is alive on this host (maybe stopped); --remove-all removes it";
    LOG_INFO("kept the lock of pid %ld on %s (refreshed %s): %s", li->pid, li->host, t, why);
}

static int scan_one(const uint8_t id[32], void *vctx)
{
    scan_ctx *c = vctx;
    lock_info li;
    if (c->own && !memcmp(id, c->own, 32))
        return 0;
    int rc = lock_read(c->r, id, &li);
    if (rc == ERR_NOTFOUND) { /* released while we listed */
        err_clear();
        return 0;
    }
    int stale = rc == ERR_DAMAGED || (!rc && lock_is_stale(&li, (int64_t)time(NULL)));
    if (c->keep_stale && stale) {
        err_clear();
        return 0;
    }
    if (stale || c->all) {
        char hex[65];
        text_hex(id, 32, hex);
        if (rc)
            LOG_WARN("removing damaged lock locks/%.16s", hex);
        else
            LOG_INFO("removing %slock of pid %ld on %s (%s)", c->all ? "" : "stale ", li.pid, li.host,
                     c->all ? "unlock --remove-all" : "its process is gone, or on another host it was not refreshed");
        err_clear();
        c->removed++;
        return repo_object_remove(c->r, OBJ_LOCK, id);
    }
    if (rc)
        return rc;
    if (c->say_kept)
        say_kept(&li);
    if (c->exclusive || li.exclusive) {
        c->conflict = 1;
        c->other = li;
    }
    return 0;
}

/* Is the lock file still the one we last wrote? Caller holds l->mu. */
static int lock_still_ours(repo_lock *l)
{
    lock_info li;
    char hex[65];
    text_hex(l->id, 32, hex);
    int rc = l->lost ? ERR_NOTFOUND : lock_read(l->r, l->id, &li);
    if (!rc && (li.time == l->written || li.time == l->tried) && li.pid == (long)getpid())
        return 0;
    if (rc && rc != ERR_NOTFOUND && rc != ERR_DAMAGED)
        return err_wrap("read this process's lock locks/%.16s", hex);
    l->lost = 1;
    err_set(ERR_LOCKED, "this process's repository lock locks/%.16s was %s while it ran", hex,
            rc ? "removed" : "replaced");
    err_hint("another process took it for stale (this one was stopped or suspended, or 'unlock --remove-all' "
             "ran); nothing more is committed: run the command again");
    return ERR_LOCKED;
}

int lock_verify(repo_lock *l)
{
    pthread_mutex_lock(&l->mu);
    int rc = lock_still_ours(l);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static int verify_guard(void *ctx) { return lock_verify(ctx); }

static void *refresh_main(void *arg)
{
    repo_lock *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += LOCK_REFRESH_SECONDS;
        pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        if (l->stop)
            break;
        /* never recreate a lock someone removed: the packs it protected may be gone */
        int rc = lock_still_ours(l);
        if (rc)
            LOG_WARN("%s", err_msg());
        if (rc == ERR_LOCKED)
            break;
        if (rc) /* could not read it back this time: try again at the next refresh */
            continue;
        l->tried = (int64_t)time(NULL);
        if (lock_write(l->r, l->id, l->exclusive, 0, l->tried) != 0)
            LOG_WARN("could not refresh repository lock: %s", err_msg());
        else
            l->written = l->tried;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static int lock_locked_error(repo *r, const lock_info *other)
{
    char t[64];
    text_time(other->time, 0, t, sizeof t);
    int rc = err_set(ERR_LOCKED, "repository %s is locked%s by pid %ld on %s (refreshed %s)", repo_location(r),
                     other->exclusive ? " exclusively" : "", other->pid, other->host, t);
    err_hint("wait and retry (--lock-wait SECONDS); if that process is gone, run 'lifeline unlock'");
    return rc;
}

int lock_acquire(repo *r, int exclusive, int wait_seconds, repo_lock **out)
{
    repo_lock *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(ERR_FATAL, "out of memory");
    l->r = r;
    l->exclusive = exclusive;
    int rc = crypto_random(l->id, 32);
    time_t deadline = time(NULL) + wait_seconds;
    for (;;) {
        scan_ctx c = {.r = r, .own = l->id, .exclusive = exclusive};
        l->written = (int64_t)time(NULL);
        if (!rc)
            rc = lock_write(r, l->id, exclusive, 1, l->written);
        if (!rc)
            rc = repo_object_list(r, OBJ_LOCK, scan_one, &c);
        if (rc || !c.conflict)
            break;
        if (repo_object_remove(r, OBJ_LOCK, l->id) != 0)
            err_clear();
        if (time(NULL) >= deadline) {
            rc = lock_locked_error(r, &c.other);
            break;
        }
        /* Random back-off so two waiting exclusive lockers do not collide forever. */
        usleep(200000 + (useconds_t)(random() % 800000));
    }
    if (rc) {
        int e = errno; /* lock_acquire_reader looks at why the lock could not be written */
        free(l);
        errno = e;
        return rc;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->refresher, NULL, refresh_main, l) != 0) {
        l->stop = -1;
        LOG_WARN("cannot start the lock refresh thread; another host may take the lock for stale after %d s",
                 LOCK_STALE_SECONDS);
    }
    repo_set_commit_guard(r, verify_guard, l);
    *out = l;
    return 0;
}

/* errno values that say the repository cannot be written at all, not that it failed */
static int unwritable(int e)
{
    return e == EROFS || e == ENOSPC || e == EDQUOT || e == EACCES || e == EPERM;
}

int lock_acquire_reader(repo *r, int wait_seconds, repo_lock **out)
{
    *out = NULL;
    int rc = lock_acquire(r, 0, wait_seconds, out);
    if (!rc || (rc != ERR_IO && rc != ERR_NOSPACE) || !unwritable(errno))
        return rc;
    LOG_WARN("reading without a lock: %s", err_msg());
    err_clear();
    /* still refuse to read while a live exclusive locker (prune, forget) rewrites */
    time_t deadline = time(NULL) + wait_seconds;
    for (;;) {
        scan_ctx c = {.r = r, .keep_stale = 1};
        if ((rc = repo_object_list(r, OBJ_LOCK, scan_one, &c)) || !c.conflict)
            return rc;
        if (time(NULL) >= deadline)
            return lock_locked_error(r, &c.other);
        usleep(500000);
    }
}

void lock_release(repo_lock **lp)
{
    repo_lock *l = *lp;
    if (!l)
        return;
    repo_set_commit_guard(l->r, NULL, NULL);
    if (l->stop != -1) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->refresher, NULL);
    }
    if (repo_object_remove(l->r, OBJ_LOCK, l->id) != 0)
        LOG_WARN("could not remove repository lock: %s", err_msg());
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
    *lp = NULL;
}

int lock_remove_stale(repo *r, int all_locks, int *removed)
{
    scan_ctx c = {.r = r, .all = all_locks, .say_kept = 1};
    int rc = repo_object_list(r, OBJ_LOCK, scan_one, &c);
    *removed = c.removed;
    return rc;
}
