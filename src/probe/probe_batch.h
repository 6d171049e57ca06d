/* probe_batch — many http(s):// and tcp:// checks at once on ONE thread: the http ones
 * on a libcurl multi handle, the tcp ones (numeric addresses) as non-blocking connects
 * waited for in the same poll. The agent hands it every due probe of a wake-up slot:
 * hundreds of probes a second then cost no thread hand-off each and no thread each
 * (bench/watch: 200 services at 1 s). Each check keeps its own hard deadline
 * (probe_spec.timeout_ms from the moment the batch starts it) and gives the same
 * result and detail as probe_run. Other kinds (exec:, postgres:, redis:, registry:,
 * tcp:// to a name) are not taken: they block, and stay on a pool. */
#ifndef LL_PROBE_BATCH_H
#define LL_PROBE_BATCH_H

#include "probe.h"

typedef struct probe_batch probe_batch;
/* Called on the batch's thread when a check is over; spec is no longer used after. */
typedef void (*probe_batch_done)(void *ctx, void *tag, const probe_result *r);

/* Starts the thread. probe_global_init must have run. */
int probe_batch_new(probe_batch_done done, void *ctx, probe_batch **out) WUR;
/* 1 when spec is of a kind the batch runs. */
int probe_batch_takes(const probe_spec *spec);
/* Queues a check (spec must stay valid until its done); it starts at the next
 * probe_batch_kick, which wakes the thread once for all queued since. */
int probe_batch_submit(probe_batch *b, const probe_spec *spec, void *tag) WUR;
void probe_batch_kick(probe_batch *b);
/* Waits until every submitted check is done (each within its timeout). */
void probe_batch_wait(probe_batch *b);
/* Stops the thread; checks still running are dropped without their done. */
void probe_batch_free(probe_batch **b);

#endif
