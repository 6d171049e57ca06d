/* prefetch — pack ranges read ahead by threads of their own (see prefetch.h). One
 * mutex guards the list of groups, the states of their ranges and the byte counts;
 * reads run outside it. */
#define _GNU_SOURCE
#include "prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SPARE_MAX 4 /* emptied buffers kept for the next reads (no page faults anew) */

enum { R_PENDING, R_READING, R_DONE, R_USED };

typedef struct slot {
    prefetch_range at;
    int state, rc;
    buf data; /* R_DONE: the bytes read */
} slot;

struct prefetch_group {
    prefetch *p;
    prefetch_group *next; /* in p's queue, oldest first */
    slot *slots;
    size_t n;
    size_t claim;  /* slots before it are no longer R_PENDING */
    size_t ahead;  /* bytes of it being read or read, not yet taken */
    int reading;   /* its slots being read by the threads */
};

struct prefetch {
    repo *r;
    pthread_mutex_t mu;
    pthread_cond_t work; /* threads: a range may be read now, or stop */
    pthread_cond_t done; /* takers: a read ended */
    pthread_t *threads;
    unsigned nthreads;
    int stop;
    size_t budget, per_group, held;
    prefetch_group *head, *tail;
    buf spare[SPARE_MAX];
    unsigned nspare;
};

/* A buffer for the next read: a spare one when there is one. */
static buf spare_take(prefetch *p)
{
    buf b;
    if (p->nspare)
        return p->spare[--p->nspare];
    buf_init(&b, 0);
    return b;
}

static void spare_give(prefetch *p, buf *b)
{
    if (p->nspare < SPARE_MAX && b->cap) {
        p->spare[p->nspare++] = *b;
        buf_init(b, 0);
    } else {
        buf_free(b);
    }
}

/* The first range, oldest group first, that may be read now within the budgets. */
static slot *next_slot(prefetch *p, prefetch_group **gout)
{
    for (prefetch_group *g = p->head; g; g = g->next) {
        while (g->claim < g->n && g->slots[g->claim].state != R_PENDING)
            g->claim++;
        if (g->claim == g->n)
            continue;
        slot *s = &g->slots[g->claim];
        if (p->held && p->held + s->at.len > p->budget)
            return NULL; /* nothing more until something is taken */
        if (g->ahead && g->ahead + s->at.len > p->per_group)
            continue;
        *gout = g;
        return s;
    }
    return NULL;
}

static void *prefetch_thread(void *arg)
{
    prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        prefetch_group *g = NULL;
        slot *s = next_slot(p, &g);
        if (!s) {
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        s->state = R_READING;
        g->ahead += s->at.len;
        g->reading++;
        p->held += s->at.len;
        buf b = spare_take(p);
        prefetch_range at = s->at;
        pthread_mutex_unlock(&p->mu);
        int rc = repo_pack_read(p->r, at.pack, at.off, at.len, &b);
        if (rc)
            err_clear(); /* the taker reads it again and reports it */
        pthread_mutex_lock(&p->mu);
        s->data = b;
        s->rc = rc;
        s->state = R_DONE;
        g->reading--;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int prefetch_new(repo *r, unsigned threads, size_t budget, size_t per_group, prefetch **out)
{
    *out = NULL;
    prefetch *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc(threads, sizeof *p->threads))) {
        free(p);
        return err_set(ERR_FATAL, "out of memory");
    }
    p->r = r;
    p->budget = budget;
    p->per_group = per_group;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (; p->nthreads < threads; p->nthreads++)
        if (pthread_create(&p->threads[p->nthreads], NULL, prefetch_thread, p) != 0)
            break;
    if (!p->nthreads) {
        prefetch_free(&p);
        return err_set(ERR_FATAL, "cannot start a read-ahead thread");
    }
    *out = p;
    return 0;
}

void prefetch_free(prefetch **pp)
{
    prefetch *p = *pp;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    while (p->head)
        prefetch_group_end(p->head);
    for (unsigned i = 0; i < p->nspare; i++)
        buf_free(&p->spare[i]);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
    *pp = NULL;
}

prefetch_group *prefetch_group_new(prefetch *p, const prefetch_range *ranges, size_t n)
{
    prefetch_group *g = calloc(1, sizeof *g);
    if (!g || !(g->slots = calloc(n ? n : 1, sizeof *g->slots))) {
        free(g);
        return NULL;
    }
    g->p = p;
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        g->slots[i].at = ranges[i];
        buf_init(&g->slots[i].data, 0);
    }
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = g;
    else
        p->head = g;
    p->tail = g;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return g;
}

/* Lets go of a range read ahead (its bytes no longer count). Under the lock. */
static void slot_drop(prefetch_group *g, slot *s)
{
    prefetch *p = g->p;
    if (s->state == R_DONE) {
        g->ahead -= s->at.len;
        p->held -= s->at.len;
        spare_give(p, &s->data);
        pthread_cond_broadcast(&p->work);
    }
    s->state = R_USED;
}

int prefetch_take(prefetch_group *g, size_t i, buf *out)
{
    prefetch *p = g->p;
    pthread_mutex_lock(&p->mu);
    for (size_t k = 0; k < i && k < g->n; k++)
        if (g->slots[k].state != R_READING) /* one being read is dropped when the group ends */
            slot_drop(g, &g->slots[k]);
    slot *s = &g->slots[i];
    while (s->state == R_READING)
        pthread_cond_wait(&p->done, &p->mu);
    if (s->state == R_DONE && !s->rc) {
        buf t = *out;
        *out = s->data;
        s->data = t; /* the taker's old buffer becomes a spare */
        slot_drop(g, s);
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    slot_drop(g, s); /* failed ahead, or not started: read here, reporting what happens */
    prefetch_range at = s->at;
    pthread_mutex_unlock(&p->mu);
    return repo_pack_read(p->r, at.pack, at.off, at.len, out);
}

void prefetch_group_end(prefetch_group *g)
{
    prefetch *p = g->p;
    pthread_mutex_lock(&p->mu);
    while (g->reading)
        pthread_cond_wait(&p->done, &p->mu);
    for (size_t k = 0; k < g->n; k++)
        slot_drop(g, &g->slots[k]);
    prefetch_group **at = &p->head, *prev = NULL;
    while (*at && *at != g) {
        prev = *at;
        at = &(*at)->next;
    }
    if (*at)
        *at = g->next;
    if (p->tail == g)
        p->tail = prev;
    pthread_mutex_unlock(&p->mu);
    for (size_t k = 0; k < g->n; k++)
        buf_free(&g->slots[k].data);
    free(g->slots);
    free(g);
}
