/* agent_impl — what the files of the agent share (agent.c: set-up, the loop, signals,
 * reload; supervise.c: one service's machine; record.c: the evidence fan-out;
 * control.c: the control socket; status.c: the status document). Not for other modules. */
#ifndef LL_AGENT_IMPL_H
#define LL_AGENT_IMPL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../audit/siem.h"
#include "../core/pool.h"
#include "../notify/notify.h"
#include "../probe/health.h"
#include "../probe/probe_batch.h"
#include "../state/state.h"
#include "agent.h"

/* The loop wakes for due probes in slots of this: 200 services at 1 s cost ten wakes a
 * second, not two hundred (bench/watch), for at most that much delay. */
#define AGENT_WAKE_MS 100
/* Most of at least this many services failing at once from here is a partition seen
 * from this node (no action, an escalation); fewer services say nothing of the network. */
#define AGENT_PARTITION_MIN 3

#define AGENT_MAX_ATTEMPTS 64 /* attempt times kept per service (max-recoveries is checked against these) */

typedef enum { RECOVERY_IDLE, RECOVERY_RUNNING, RECOVERY_VERIFY } recovery_phase;

/* A command run off the loop's thread (a recovery can take minutes: the loop goes on). */
typedef struct agent_job {
    pthread_t thread;
    char *command;
    int64_t timeout_ms;
    int rc; /* proc_run's */
    char error[256], output[512];
    struct proc_result *res;
    atomic_int done; /* 1: the command is over; 2: orphaned (the thread frees the job) */
    int wake_fd;
    char env[2][96]; /* LIFELINE_SERVICE=, LIFELINE_INCIDENT= */
} agent_job;

typedef struct agent_svc {
    const config_service *cfg; /* in the agent's current configuration */
    probe_spec spec;
    struct watch_spec *owned; /* what the probe spec holds (a redis password read for it) */
    health h;
    probe_result last, pending;
    int batched;            /* its probe runs on the batch (http, tcp), not the pool */
    atomic_int probing;     /* a probe of it is on the batch or the pool */
    atomic_int last_state;  /* the last result's probe_state, for the workers to compare */
    atomic_int in_question; /* counting towards fall or rise, or verifying: a result of it
                             * wakes the loop at once (probe_done) */
    int64_t next_probe;     /* monotonic ms */
    int64_t beat;           /* monotonic ms: next_probe before a sweep pulled it to now; 0 */
    int64_t incident;       /* open incident, 0 when none (or the database could not take it) */
    int outage;             /* a confirmed failure not over yet: what recovery acts on, kept
                             * apart from incident so a full disk does not stop recovery */
    int64_t opened_wall;    /* when it was opened (wall ms) */
    int64_t first_fail_wall; /* the first failed probe of the current run of failures */
    int64_t first_fail_at;  /* monotonic: the same (what an action's evidence counts from) */
    int64_t result_at;      /* monotonic: when its last probe result was taken */
    char title[300];        /* its title */
    recovery_phase phase;
    agent_job *job;
    int64_t next_attempt;   /* monotonic: the earliest next recovery */
    int64_t verify_until;   /* monotonic */
    int64_t action_wall;    /* wall ms of the current attempt */
    int64_t attempts[AGENT_MAX_ATTEMPTS]; /* wall ms of recent attempts, oldest first */
    size_t nattempts;
    int backoff_step;
    int64_t healthy_since;  /* monotonic; 0 when not healthy */
    int escalated;          /* escalated for its current failure */
    char shown[16];         /* the state last recorded ("healthy", "held"...) */
} agent_svc;

typedef struct agent {
    agent_opts *opts;
    config *cfg;
    char node[256], state_dir[4000];
    state *st;     /* the loop's connection */
    notify *nt;    /* the loop's notifier (emit, tick) */
    siem *sy;
    repo *audit;
    pthread_mutex_t evidence_lock; /* audit and syslog: shared with the sender thread */
    agent_svc *svcs;
    size_t nsvcs;
    probe_batch *batch; /* http and tcp probes, all on one thread */
    pool *probes;       /* the other kinds (they block: exec, postgres, redis, registry) */
    int wake_fd;   /* eventfd: a probe done, a job done, a poke from the control socket */
    int sender_fd; /* eventfd: an item was queued in the outbox, or the sender must stop */
    int sig_fd;
    int lock_fd;
    int64_t started_wall;
    /* holds as last read from state */
    state_hold *holds;
    size_t nholds;
    /* escalations across services */
    int64_t fail_times[32]; /* wall ms of recent confirmed failures */
    char fail_names[32][64];
    size_t nfail;
    int64_t multi_escalated_ms, partition_escalated_ms;
    int64_t last_update_seen; /* timeline id of the last human update sent on */
    /* the status document, built by the loop while somebody reads it (the socket and
     * HTTP threads): status_cond is signalled with each new one */
    pthread_mutex_t status_lock;
    pthread_cond_t status_cond;
    char *status_json;
    uint64_t status_seq;       /* how many were built */
    int64_t status_built;      /* monotonic ms: when the last one was */
    int64_t status_asked;      /* monotonic ms: when one was last read (under status_lock) */
    atomic_int status_wanted;  /* a reader waits for a fresh one */
    cJSON *metrics; /* refreshed every few seconds */
    int64_t metrics_at;
    atomic_int metrics_dirty; /* something was recorded: refresh them on this turn */
    int64_t next_full; /* monotonic: the next full turn (holds, actions, status) */
    int64_t swept_at;  /* monotonic: the last time every service was probed at once */
    int awaiting_evidence; /* a confirmed outage waits for the other services' results */
    int64_t pruned_at; /* monotonic: the last prune of old history */
    atomic_int stop, sender_stop;
    char db_path[4100];
    /* threads */
    pthread_t sender, control;
    int sender_running;
    int control_fd;
    pthread_t long_thread;  /* a switchover/failover request being answered */
    int long_started;       /* long_thread is to be joined */
    atomic_int long_busy;   /* it has not answered yet */
    state *http_st; /* HTTP's connection (under http_lock) */
    pthread_mutex_t http_lock;
    struct http_server *http;
    struct ha *ha;          /* the failover engine, NULL without [postgres] groups here */
    struct ha_evidence *hx; /* its own state connection and notifier (ha_hooks' ctx) */
} agent;

int64_t agent_wall_ms(void);

/* record.c: one thing that happened, everywhere it must go: an event in state, an
 * entry in the incident's timeline (incident != 0), an audit record (when the agent has
 * the repository), a syslog line. outcome: "ok", "failed", "held"... */
void agent_record(agent *a, const char *kind, const char *target, int64_t incident, const char *outcome,
                  const char *fmt, ...) PRINTF(6, 7);
/* The same, formatted, on a given state connection (the failover engine's thread has
 * its own), and an alert through a given notifier. */
void agent_record_in(agent *a, state *st, const char *kind, const char *target, int64_t incident,
                     const char *outcome, const char *msg);
void agent_alert_in(agent *a, state *st, notify *nt, const char *key, const char *event, const char *severity,
                    const char *service, int64_t incident, const char *title, const char *message);
/* An audit record (command "watch", args [kind, target]) when the agent has the
 * repository; 1 when written. The caller holds evidence_lock. */
uint64_t agent_audit(agent *a, const char *kind, const char *target, const char *outcome, const char *msg);
/* Hands an alert to the notifier: event is one of watch_config_events. */
void agent_alert(agent *a, const char *event, const char *severity, const char *service, int64_t incident,
                 const char *title, const char *message);

/* The same with its own dedup key (an update: its timeline id, so a restart that
 * sends it again sends it once). */
void agent_alert_keyed(agent *a, const char *key, const char *event, const char *severity, const char *service,
                       int64_t incident, const char *title, const char *message);

/* supervise.c */
/* Leaves a running recovery to itself (a removed service, the agent stopping): its
 * thread frees the job when the command ends. */
void agent_job_orphan(agent_job **j);
/* A confirmed failure (or one found when a maintenance hold ends): incident, alert. */
void agent_svc_confirm(agent *a, agent_svc *s, int64_t wall);
void agent_svc_result(agent *a, agent_svc *s, const probe_result *r, int64_t now);
void agent_svc_act(agent *a, agent_svc *s, int64_t now, int partition);
int agent_svc_evidence(const agent *a, const agent_svc *s, int64_t now);
void agent_escalations(agent *a, int64_t now);
/* Most services failing now from here (confirmed or not yet): no action is started
 * while it lasts, since restarting what only this node cannot reach would not help. */
int agent_partition_suspected(const agent *a);
const state_hold *agent_hold_of(const agent *a, const agent_svc *s);
const char *agent_svc_state(const agent *a, const agent_svc *s);
void agent_svc_save(agent *a, agent_svc *s, int64_t now);

/* status.c */
void agent_status_refresh(agent *a);
/* Whether somebody read the status document lately (the loop keeps it fresh then). */
int agent_status_watched(agent *a, int64_t now);
/* notify_on_queue's hook: wakes the sender thread (ctx: the agent). */
void agent_sender_poke(void *ctx);
cJSON *agent_status_copy(agent *a);

/* control.c: the control socket's server thread, and the client side */
int agent_control_start(agent *a) WUR;
void agent_control_stop(agent *a);

#endif
