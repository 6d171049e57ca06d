/* pool — a fixed set of worker threads fed through a bounded queue, so a fast
 * producer (file reading + chunking) cannot run ahead of the workers by more than
 * the queue's length. The first job error is kept and reported by pool_wait. */
#ifndef LL_POOL_H
#define LL_POOL_H

#include <stddef.h>

#include "err.h"

typedef struct pool pool;
/* worker is 0..nthreads-1, for per-worker state such as compression contexts.
 * On failure a job returns an err_code and sets the error record. */
typedef int (*pool_fn)(void *arg, unsigned worker);

int pool_new(unsigned nthreads, size_t queue_max, pool **out) WUR;
/* Blocks while the queue is full. After a job failed, returns that error. */
int pool_submit(pool *p, pool_fn fn, void *arg) WUR;
/* Waits until every submitted job has finished; returns the first job error
 * (and puts its message in this thread's error record). */
int pool_wait(pool *p) WUR;
void pool_free(pool **p);
unsigned pool_threads(const pool *p);
/* Jobs submitted and not yet taken by a worker (a producer that batches work can
 * hand over what it holds when the workers are about to run dry). */
size_t pool_queued(pool *p);

#endif
