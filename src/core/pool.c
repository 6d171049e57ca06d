/* pool — see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    pool_fn fn;
    void *arg;
} job;

typedef struct worker_arg {
    pool *p;
    unsigned no;
} worker_arg;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full, idle;
    job *q;
    size_t qmax, head, count, running;
    int stop;
    int err;
    char err_text[1024];
    unsigned n;
    pthread_t *threads;
    worker_arg *args;
};

static void *worker_main(void *a)
{
    worker_arg *wa = a;
    pool *p = wa->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->count && !p->stop)
            pthread_cond_wait(&p->not_empty, &p->mu);
        if (!p->count && p->stop)
            break;
        job j = p->q[p->head];
        p->head = (p->head + 1) % p->qmax;
        p->count--;
        p->running++;
        pthread_cond_signal(&p->not_full);
        pthread_mutex_unlock(&p->mu);
        int rc = j.fn(j.arg, wa->no);
        pthread_mutex_lock(&p->mu);
        if (rc && !p->err) {
            p->err = rc;
            snprintf(p->err_text, sizeof p->err_text, "%s", err_msg());
        }
        p->running--;
        if (!p->count && !p->running)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int pool_new(unsigned nthreads, size_t queue_max, pool **out)
{
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return err_set(ERR_FATAL, "out of memory");
    p->n = nthreads ? nthreads : 1;
    p->qmax = queue_max ? queue_max : 1;
    p->q = calloc(p->qmax, sizeof *p->q);
    p->threads = calloc(p->n, sizeof *p->threads);
    p->args = calloc(p->n, sizeof *p->args);
    if (!p->q || !p->threads || !p->args) {
        free(p->q);
        free(p->threads);
        free(p->args);
        free(p);
        return err_set(ERR_FATAL, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->not_empty, NULL);
    pthread_cond_init(&p->not_full, NULL);
    pthread_cond_init(&p->idle, NULL);
    for (unsigned i = 0; i < p->n; i++) {
        p->args[i].p = p;
        p->args[i].no = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0) {
            p->n = i;
            pool_free(&p);
            return err_set(ERR_FATAL, "cannot start worker thread");
        }
    }
    *out = p;
    return 0;
}

static int take_error(pool *p)
{
    if (p->err)
        err_set(p->err, "%s", p->err_text);
    return p->err;
}

int pool_submit(pool *p, pool_fn fn, void *arg)
{
    pthread_mutex_lock(&p->mu);
    while (p->count == p->qmax && !p->err)
        pthread_cond_wait(&p->not_full, &p->mu);
    int rc = take_error(p);
    if (!rc) {
        p->q[(p->head + p->count) % p->qmax] = (job){fn, arg};
        p->count++;
        pthread_cond_signal(&p->not_empty);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int pool_wait(pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->count || p->running)
        pthread_cond_wait(&p->idle, &p->mu);
    int rc = take_error(p);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void pool_free(pool **pp)
{
    pool *p = *pp;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->not_empty);
    pthread_cond_destroy(&p->not_full);
    pthread_cond_destroy(&p->idle);
    free(p->q);
    free(p->threads);
    free(p->args);
    free(p);
    *pp = NULL;
}

unsigned pool_threads(const pool *p) { return p->n; }

size_t pool_queued(pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}
