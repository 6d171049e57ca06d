/* state_seed — test-only: writes a known set of incidents into a state database
 * through the state API (as the agent will), for tests/system/test_incidents.sh.
 * Usage: state_seed DB. Times count back from now:
 *   1 backend  opened now-3h, confirmed, one recovery verified, notified, closed
 *   2 cache    opened now-2h, closed without a confirmed failure (a false positive)
 *   3 backend  opened now-10m, still open: a failed recovery, a dead-lettered
 *              notification, and a message with '|' and a newline in it */
#include <stdio.h>
#include <time.h>

#include "state/state.h"

#define MIN_MS 60000LL

static int seed(state *s, int64_t now)
{
    int64_t a, b, c, t = now - 180 * MIN_MS;
    int rc = state_incident_open(s, "backend", "backend failed: HTTP 500", t, &a);
    rc = rc ? rc : state_incident_note(s, a, t + 6000, "detection", "3 probes failed: HTTP 500");
    rc = rc ? rc : state_incident_note(s, a, t + 7000, "action", "docker compose -p production restart backend");
    rc = rc ? rc : state_incident_note(s, a, t + 9000, "notification", "delivered to oncall");
    rc = rc ? rc : state_incident_note(s, a, t + 20000, "verification", "verified: probe passed 2 times");
    rc = rc ? rc : state_incident_note(s, a, t + 20000, "recovered", "healthy again");
    rc = rc ? rc : state_incident_close(s, a, t + 21000, "recovered");
    t = now - 120 * MIN_MS;
    rc = rc ? rc : state_incident_open(s, "cache", "cache degraded: slow PING", t, &b);
    rc = rc ? rc : state_incident_close(s, b, t + 4000, "healthy again before confirmation");
    t = now - 10 * MIN_MS;
    rc = rc ? rc : state_incident_open(s, "backend", "backend failed: connection refused", t, &c);
    rc = rc ? rc : state_incident_note(s, c, t + 6000, "detection", "3 probes failed: connection refused");
    rc = rc ? rc : state_incident_note(s, c, t + 7000, "action", "restart | tee log\nsecond line");
    rc = rc ? rc : state_incident_note(s, c, t + 37000, "verification", "failed: probe did not pass in 30s");
    rc = rc ? rc : state_incident_note(s, c, t + 38000, "notification", "dead-lettered at oncall: HTTP 404");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: state_seed DB\n", stderr);
        return 2;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    state *s;
    int rc = state_open(argv[1], 2000, &s);
    if (!rc) {
        rc = seed(s, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        state_close(&s);
    }
    if (rc)
        fprintf(stderr, "state_seed: %s\n", err_msg());
    return rc;
}
