/* bgtask — see bgtask.h. */
#include "bgtask.h"

#include <pthread.h>
#include <stdlib.h>

struct bgtask {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bgtask_fn fn; /* the task waiting to run or running; NULL: none */
    void *arg;
    int result, stop, threaded;
    pthread_t th;
};

static void *bgtask_main(void *a)
{
    bgtask *t = a;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        while (!t->fn && !t->stop)
            pthread_cond_wait(&t->cv, &t->mu);
        if (!t->fn)
            break;
        bgtask_fn fn = t->fn;
        void *arg = t->arg;
        pthread_mutex_unlock(&t->mu);
        int r = fn(arg);
        pthread_mutex_lock(&t->mu);
        t->result = r;
        t->fn = NULL;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

bgtask *bgtask_new(void)
{
    bgtask *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64u << 10); /* a task is a system call or two */
    t->threaded = pthread_create(&t->th, &at, bgtask_main, t) == 0;
    pthread_attr_destroy(&at);
    return t;
}

int bgtask_wait(bgtask *t)
{
    if (!t || !t->threaded)
        return 0;
    pthread_mutex_lock(&t->mu);
    while (t->fn)
        pthread_cond_wait(&t->cv, &t->mu);
    int r = t->result;
    t->result = 0;
    pthread_mutex_unlock(&t->mu);
    return r;
}

int bgtask_start(bgtask *t, bgtask_fn fn, void *arg)
{
    if (!t || !t->threaded)
        return fn(arg);
    int r = bgtask_wait(t);
    pthread_mutex_lock(&t->mu);
    t->fn = fn;
    t->arg = arg;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return r;
}

void bgtask_free(bgtask **tp)
{
    bgtask *t = *tp;
    if (!t)
        return;
    if (t->threaded) {
        pthread_mutex_lock(&t->mu);
        t->stop = 1;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->th, NULL);
    }
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    *tp = NULL;
}
