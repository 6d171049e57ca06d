/* health — rise/fall counting of probe results (HAProxy's vocabulary): `fall`
 * consecutive failures confirm an outage, `rise` consecutive passes a recovery, and
 * failures during `start-period` do not count. Pure: the caller gives the clock. */
#ifndef LL_HEALTH_H
#define LL_HEALTH_H

#include <stdint.h>

#include "probe.h"

typedef enum { HEALTH_STARTING = 0, HEALTH_HEALTHY, HEALTH_DEGRADED, HEALTH_FAILED } health_state;

typedef struct health {
    int rise, fall;
    int64_t start_until_ms; /* failures before this do not count */
    health_state state;
    int passes, failures; /* consecutive, the current run */
    int64_t since_ms;     /* when state last changed */
} health;

void health_init(health *h, int rise, int fall, int64_t start_period_ms, int64_t now_ms);
/* Counts one probe result; returns 1 when the state changed. A degraded answer is a
 * pass (the service answers) and shows as HEALTH_DEGRADED while it lasts. */
int health_feed(health *h, probe_state result, int64_t now_ms);
const char *health_state_name(health_state s);

#endif
