/* bgtask — one helper thread that runs one task at a time for its owner, so the
 * owner can go on (fill the next buffer) while the task (a write to disk) runs:
 * double buffering without a queue. The owner starts a task, does its own work, and
 * waits for the task before it touches what the task uses. Without a thread (none
 * could be made) a task runs at once in the owner's thread: slower, never wrong. */
#ifndef LIFELINE_BGTASK_H
#define LIFELINE_BGTASK_H

/* A task returns 0 or a non-zero code of its own (e.g. an errno). */
typedef int (*bgtask_fn)(void *arg);

typedef struct bgtask bgtask;

/* A helper and its thread; NULL when memory is short. */
bgtask *bgtask_new(void);
/* Waits for the task in flight and ends the thread. */
void bgtask_free(bgtask **t);
/* Waits for the task in flight, then starts fn(arg). Returns that earlier task's
 * result (0 when there was none). Without a thread (t NULL, or none could be made)
 * fn runs at once and its own result is returned. */
int bgtask_start(bgtask *t, bgtask_fn fn, void *arg);
/* Waits for the task in flight; returns its result (0 when there was none). */
int bgtask_wait(bgtask *t);

#endif
