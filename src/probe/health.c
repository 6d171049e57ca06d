/* health — see health.h. */
#include "health.h"

void health_init(health *h, int rise, int fall, int64_t start_period_ms, int64_t now_ms)
{
    *h = (health){.rise = rise > 0 ? rise : 1,
                  .fall = fall > 0 ? fall : 1,
                  .start_until_ms = now_ms + (start_period_ms > 0 ? start_period_ms : 0),
                  .state = HEALTH_STARTING,
                  .since_ms = now_ms};
}

static int move(health *h, health_state to, int64_t now_ms)
{
    if (h->state == to)
        return 0;
    h->state = to;
    h->since_ms = now_ms;
    return 1;
}

int health_feed(health *h, probe_state result, int64_t now_ms)
{
    if (result == PROBE_FAILED) {
        h->passes = 0;
        if (now_ms < h->start_until_ms && h->state == HEALTH_STARTING)
            return 0; /* still starting: a failure is expected, not an outage */
        if (++h->failures >= h->fall) {
            h->failures = h->fall; /* bounded however long it stays down */
            return move(h, HEALTH_FAILED, now_ms);
        }
        return 0;
    }
    h->failures = 0;
    if (h->passes < h->rise)
        h->passes++;
    /* Up already: a pass keeps it up and says whether it is degraded; from starting or
     * failed it takes `rise` passes in a row. */
    int up = h->state == HEALTH_HEALTHY || h->state == HEALTH_DEGRADED || h->passes >= h->rise;
    if (!up)
        return 0;
    return move(h, result == PROBE_DEGRADED ? HEALTH_DEGRADED : HEALTH_HEALTHY, now_ms);
}

const char *health_state_name(health_state s)
{
    static const char *const names[] = {"starting", "healthy", "degraded", "failed"};
    return s <= HEALTH_FAILED ? names[s] : "unknown";
}
