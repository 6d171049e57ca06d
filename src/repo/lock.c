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

#include "../core/log.h"
#include "../core/text.h"

struct repo_lock {
    repo *r;
    uint8_t id[32];
    int exclusive;
    pthread_t refresher;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

typedef struct lock_info {
    char host[256];
    long pid;
    int64_t time;
    int exclusive;
} lock_info;

static int lock_write(repo *r, const uint8_t id[32], int exclusive, int create)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", host);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddNumberToObject(o, "time", (double)time(NULL));
    cJSON_AddBoolToObject(o, "exclusive", exclusive);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return err_set(ERR_FATAL, "out of memory");
    int rc = repo_object_save(r, OBJ_LOCK, id, text, strlen(text), create);
    cJSON_free(text);
    return rc;
}

static int lock_read(repo *r, const uint8_t id[32], lock_info *li)
{
    buf b;
    buf_init(&b, 0);
    int rc = repo_object_load(r, OBJ_LOCK, id, &b);
    cJSON *o = rc ? NULL : cJSON_ParseWithLength((const char *)b.data, b.len);
    buf_free(&b);
    if (rc)
        return rc;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "host"), *p = cJSON_GetObjectItemCaseSensitive(o, "pid"),
                *t = cJSON_GetObjectItemCaseSensitive(o, "time");
    if (!cJSON_IsString(h) || !cJSON_IsNumber(p) || !cJSON_IsNumber(t)) {
        cJSON_Delete(o);
        return err_set(ERR_DAMAGED, "lock file is malformed");
    }
    snprintf(li->host, sizeof li->host, "%s", h->valuestring);
    li->pid = (long)p->valuedouble;
    li->time = (int64_t)t->valuedouble;
    li->exclusive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "exclusive"));
    cJSON_Delete(o);
    return 0;
}

static int lock_is_stale(const lock_info *li)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    if (!strcmp(host, li->host) && li->pid > 0 && kill((pid_t)li->pid, 0) != 0 && errno == ESRCH)
        return 1;
    return time(NULL) - li->time > LOCK_STALE_SECONDS;
}

typedef struct scan_ctx {
    repo *r;
    const uint8_t *own;
    int exclusive;
    int conflict;
    lock_info other;
    int all, removed;
} scan_ctx;

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
    if (rc == ERR_DAMAGED || c->all || (!rc && lock_is_stale(&li))) {
        char hex[65];
        text_hex(id, 32, hex);
        if (rc)
            LOG_WARN("removing damaged lock locks/%.16s", hex);
        else
            LOG_INFO("removing %s lock of pid %ld on %s (%s)", c->all ? "" : "stale", li.pid, li.host,
                     c->all ? "unlock --remove-all" : "process gone or not refreshed");
        err_clear();
        c->removed++;
        return repo_object_remove(c->r, OBJ_LOCK, id);
    }
    if (rc)
        return rc;
    if (c->exclusive || li.exclusive) {
        c->conflict = 1;
        c->other = li;
    }
    return 0;
}

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
        if (lock_write(l->r, l->id, l->exclusive, 0) != 0)
            LOG_WARN("could not refresh repository lock: %s", err_msg());
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
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
        if (!rc)
            rc = lock_write(r, l->id, exclusive, 1);
        if (!rc)
            rc = repo_object_list(r, OBJ_LOCK, scan_one, &c);
        if (rc || !c.conflict)
            break;
        if (repo_object_remove(r, OBJ_LOCK, l->id) != 0)
            err_clear();
        if (time(NULL) >= deadline) {
            char t[64];
            text_time(c.other.time, 0, t, sizeof t);
            rc = err_set(ERR_LOCKED, "repository %s is locked %s by pid %ld on %s (refreshed %s)",
                         repo_location(r), c.other.exclusive ? "exclusively" : "", c.other.pid, c.other.host, t);
            err_hint("wait and retry (--lock-wait SECONDS); if that process is gone, run 'lifeline unlock'");
            break;
        }
        /* Random back-off so two waiting exclusive lockers do not collide forever. */
        usleep(200000 + (useconds_t)(random() % 800000));
    }
    if (rc) {
        free(l);
        return rc;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->refresher, NULL, refresh_main, l) != 0) {
        l->stop = -1;
        LOG_WARN("cannot start the lock refresh thread; the lock may look stale after %d s",
                 LOCK_STALE_SECONDS);
    }
    *out = l;
    return 0;
}

void lock_release(repo_lock **lp)
{
    repo_lock *l = *lp;
    if (!l)
        return;
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
    scan_ctx c = {.r = r, .all = all_locks};
    int rc = repo_object_list(r, OBJ_LOCK, scan_one, &c);
    *removed = c.removed;
    return rc;
}
