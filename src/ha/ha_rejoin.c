/* ha_rejoin — a member here back under the leader (a former primary, a lost standby):
 * stopped, then pg_rewind'ed when its data allows it (wal_log_hints or checksums), or
 * followed as it is when its WAL never went past the point where the leader's timeline
 * forked off, else rebuilt from the repository (the group's backup-source: the same
 * pgrestore_run as `lifeline restore --source S --standby`), its old data directory
 * moved aside (never deleted), then started as a standby that must stream.
 *
 * pg_rewind and a rebuild take minutes; the engine's thread renews leases every tick.
 * So each rejoin runs on a worker thread of its own, on copies of what it needs (a
 * configuration reload may free the engine's). The worker never calls the engine's
 * hooks: it queues its steps, and the round (ha_rejoin_busy) tells them through ha_say
 * and applies the outcome. A process-wide list of the data folders being rejoined keeps
 * a restarted engine from starting a second rejoin of the same folder. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../config/source_config.h"
#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/proc.h"
#include "../crypto/crypto.h"
#include "../repo/lock.h"
#include "../repo/snapshot.h"
#include "../source/pgrestore.h"
#include "../source/pgtimeline.h"
#include "ha_impl.h"

enum { RJ_FOLLOWS = 1, RJ_RETRY, RJ_HOLD };
#define RJ_STEPS 24

typedef struct rj_step {
    char kind[16], outcome[16], severity[16];
    char msg[1024];
} rj_step;

struct ha_rejoin_job {
    pthread_t thread;
    pthread_mutex_t lock; /* steps, nsteps, done, orphan */
    rj_step steps[RJ_STEPS];
    size_t nsteps;
    char phase[80]; /* what it does now (the status document's detail) */
    int done, orphan;
    struct ha_rejoin_job *next; /* the process-wide list of rejoins running */
    /* the worker's own copies */
    config_member m;
    char *leader, *leader_ci, *source, *source_bin, *config_path, *repo_path, *key_file, *group;
    int config_has_key_file, reachable;
    int64_t epoch;
    /* the outcome (read by the engine once done) */
    int result;
    char hold_why[600];
    buf hist; /* the leader's timeline history, once read */
    uint32_t hist_tli;
};

static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static ha_rejoin_job *active;

static int active_has(const char *data_dir)
{
    pthread_mutex_lock(&active_lock);
    ha_rejoin_job *r = active;
    while (r && strcmp(r->m.data_dir, data_dir))
        r = r->next;
    pthread_mutex_unlock(&active_lock);
    return r != NULL;
}

static void active_remove(ha_rejoin_job *r)
{
    pthread_mutex_lock(&active_lock);
    for (ha_rejoin_job **p = &active; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    pthread_mutex_unlock(&active_lock);
}

static void rj_free(ha_rejoin_job *r)
{
    if (!r)
        return;
    free(r->m.node), free(r->m.conninfo), free(r->m.data_dir), free(r->m.bin_dir);
    free(r->leader), free(r->leader_ci), free(r->source), free(r->source_bin);
    free(r->config_path), free(r->repo_path), free(r->key_file), free(r->group);
    buf_free(&r->hist);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* A step of the worker, queued for the engine's thread to tell (ha_say). */
static void step(ha_rejoin_job *r, const char *kind, const char *outcome, const char *severity, const char *fmt, ...)
    PRINTF(5, 6);
static void step(ha_rejoin_job *r, const char *kind, const char *outcome, const char *severity, const char *fmt, ...)
{
    rj_step s;
    memset(&s, 0, sizeof s);
    snprintf(s.kind, sizeof s.kind, "%s", kind);
    snprintf(s.outcome, sizeof s.outcome, "%s", outcome);
    snprintf(s.severity, sizeof s.severity, "%s", severity ? severity : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s.msg, sizeof s.msg, fmt, ap);
    va_end(ap);
    LOG_DEBUG("rejoin %s: %s", r->m.name, s.msg);
    pthread_mutex_lock(&r->lock);
    snprintf(r->phase, sizeof r->phase, "rejoin: %s %s", kind, outcome);
    if (r->nsteps < RJ_STEPS)
        r->steps[r->nsteps++] = s;
    else
        LOG_WARN("rejoin %s: %s", r->m.name, s.msg); /* told at least in the log */
    pthread_mutex_unlock(&r->lock);
}

static int hold(ha_rejoin_job *r, const char *fmt, ...) PRINTF(2, 3);
static int hold(ha_rejoin_job *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->hold_why, sizeof r->hold_why, fmt, ap);
    va_end(ap);
    return RJ_HOLD;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* Does the member stream from the leader within timeout_ms? */
static int wait_streaming(const ha_rejoin_job *r, int64_t timeout_ms)
{
    int64_t until = proc_now_ms() + timeout_ms;
    while (proc_now_ms() < until) {
        pg_state st;
        if (pgctl_query(r->m.conninfo, 5000, &st) == 0 && st.reachable && !st.primary && st.streaming)
            return 1;
        sleep_ms(500);
    }
    return 0;
}

/* The leader's history (kept for a rebuilt standby's pg_wal) and path. */
static int leader_history(ha_rejoin_job *r, pgtl_path *p)
{
    int rc = r->hist_tli ? 0 : pgctl_history(r->leader_ci, 30000, &r->hist_tli, &r->hist);
    return rc ? rc : pgtl_parse_history((const char *)r->hist.data, r->hist.len, r->hist_tli, p);
}

/* Rewind impossible: is one needed? Not when the member's WAL stops before the point
 * where the leader's timeline forked off the member's (it is a prefix of the leader's
 * history). 1 (and why) when it went past it, or when that cannot be told. */
static int rewind_needed(ha_rejoin_job *r, char *why, size_t cap)
{
    uint32_t tli = 0;
    uint64_t last = 0;
    pgtl_path p;
    int rc = pgctl_wal_last(&r->m, 60000, &tli, &last);
    rc = rc ? rc : leader_history(r, &p);
    if (rc) {
        snprintf(why, cap, "where its WAL ends against %s's timeline history cannot be told: %s", r->leader, err_msg());
        return 1;
    }
    char a[32], f[32];
    pgctl_format_lsn(last, a, sizeof a);
    if (pgtl_contains(&p, tli, last + 1)) {
        snprintf(why, cap, "its WAL on timeline %u stops at %s, inside %s's history (timeline %u): no rewind needed",
                 tli, a, r->leader, r->hist_tli);
        return 0;
    }
    for (size_t i = 0; i + 1 < p.n; i++)
        if (p.s[i].tli == tli) {
            pgctl_format_lsn(p.s[i + 1].begin, f, sizeof f);
            snprintf(why, cap, "its WAL on timeline %u goes on to %s, past %s where %s's timeline %u forked off: it "
                     "diverged", tli, a, f, r->leader, p.s[i + 1].tli);
            return 1;
        }
    snprintf(why, cap, "its timeline %u is not in the history of %s's timeline %u: it diverged", tli, r->leader,
             r->hist_tli);
    return 1;
}

/* The repository opened with the key file (a daemon never asks for a password). */
static int open_repo(const ha_rejoin_job *r, repo **out)
{
    *out = NULL;
    if (!r->repo_path)
        return err_set(ERR_CONFIG, "no repository: [repository] path (or LIFELINE_REPOSITORY) names none");
    if (!r->key_file)
        return err_set(ERR_CONFIG, "no key file: the agent opens the repository with [repository] key-file (or "
                                   "LIFELINE_KEY_FILE)");
    buf k;
    buf_init(&k, 1 << 16);
    int rc = fs_read_file(r->key_file, &k, 1 << 16);
    while (!rc && k.len && (k.data[k.len - 1] == '\n' || k.data[k.len - 1] == '\r'))
        k.len--;
    if (!rc && !k.len)
        rc = err_set(ERR_USAGE, "key file %s is empty", r->key_file);
    rc = rc ? rc : repo_open(r->repo_path, out);
    rc = rc ? rc : repo_unlock(*out, (const char *)k.data, k.len, KEYSLOT_KEYFILE);
    if (k.data)
        crypto_wipe(k.data, k.cap);
    buf_free(&k);
    if (rc)
        repo_close(out);
    return rc;
}

/* `lifeline restore --source S --standby --target DATA` with the leader's conninfo and
 * the member's name: pgrestore_run, as the command line runs it. */
static int restore(const ha_rejoin_job *r, char *sid)
{
    repo *rp = NULL;
    repo_lock *lk = NULL;
    snapshot *list = NULL;
    size_t n = 0;
    pgrestore_run_result *res = calloc(1, sizeof *res);
    int rc = res ? open_repo(r, &rp) : err_set(ERR_FATAL, "out of memory");
    rc = rc ? rc : lock_acquire_reader(rp, 60, &lk);
    rc = rc ? rc : repo_index_load(rp);
    rc = rc ? rc : snapshot_load_all(rp, &list, &n, 1);
    pgrestore_run_opts o = {
        .plan = {.source = r->source, .t = {.kind = PG_TARGET_LATEST}, .tl_kind = PGR_TL_AUTO, .force = SIZE_MAX,
                 .bin_dir = r->source_bin ? r->source_bin : r->m.bin_dir},
        .target = r->m.data_dir, .standby = 1, .archive_preserve = 1, .primary_conninfo = r->leader_ci,
        .application_name = r->m.name, .config_path = r->config_path, .repo_path = r->repo_path,
        .key_file = r->key_file, .config_has_key_file = r->config_has_key_file};
    rc = rc ? rc : pgrestore_run(rp, list, n, &o, res);
    if (res && res->writing)
        snapshot_short_id(list[res->plan.chosen].id, sid);
    snapshots_free(&list, n);
    lock_release(&lk);
    repo_close(&rp);
    free(res);
    return rc;
}

/* The member's own configuration files (its port, its pg_hba) from the old folder: the
 * backup's are those of whichever member it was taken from. postgresql.auto.conf stays
 * the restore's (restore_command, primary_conninfo); recovery settings in the member's
 * postgresql.conf are commented out, as the restore does to the backup's. */
static int keep_own_conf(const ha_rejoin_job *r, const char *old)
{
    static const char *const files[] = {"postgresql.conf", "pg_hba.conf", "pg_ident.conf"};
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof files / sizeof *files; i++) {
        char from[4400], to[4400];
        buf b;
        buf_init(&b, 4u << 20);
        snprintf(from, sizeof from, "%s/%s", old, files[i]);
        snprintf(to, sizeof to, "%s/%s", r->m.data_dir, files[i]);
        buf out;
        buf_init(&out, 4u << 20);
        int changed = 0;
        rc = fs_read_file(from, &b, 4u << 20);
        if (rc == ERR_NOTFOUND) {
            err_clear(), rc = 0;
        } else if (!rc) { /* its own recovery settings would fight the restore's */
            rc = i ? 0 : pgrestore_comment_recovery((const char *)b.data, b.len, "(rebuild by the agent)", &out, &changed);
            rc = rc ? rc : changed ? fs_write_durable(to, out.data, out.len, 0600, 0)
                                   : fs_write_durable(to, b.data, b.len, 0600, 0);
        }
        buf_free(&out);
        buf_free(&b);
    }
    /* the leader's timeline history where recovery finds it even when the archive lacks it */
    if (!rc && r->hist_tli > 1 && r->hist.len) {
        char path[4400];
        snprintf(path, sizeof path, "%s/pg_wal/%08X.history", r->m.data_dir, r->hist_tli);
        rc = fs_write_durable(path, r->hist.data, r->hist.len, 0600, 0);
    }
    return rc;
}

/* DATA -> DATA.lifeline-old-EPOCH (a rename: same file system, nothing copied or lost). */
static int move_aside(ha_rejoin_job *r, char *old, size_t cap)
{
    char d[4200];
    snprintf(d, sizeof d, "%s", r->m.data_dir);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    if (snprintf(old, cap, "%s.lifeline-old-%lld", d, (long long)r->epoch) >= (int)cap)
        return err_set(ERR_USAGE, "%s: name too long", d);
    struct stat st;
    if (lstat(old, &st) == 0 || errno != ENOENT)
        return err_set(ERR_FATAL, "%s already exists: the old data of %s is not moved over it", old,
                       r->m.name);
    if (rename(d, old) != 0)
        return err_sys(ERR_IO, "rename %s to %s", d, old);
    if (mkdir(d, 0700) != 0)
        return err_sys(ERR_IO, "create %s", d);
    return 0;
}

static int rebuild(ha_rejoin_job *r, const char *why)
{
    const char *name = r->m.name;
    if (!r->source) {
        step(r, "rejoin", "failed", "critical", "%s cannot rejoin as it is (%s) and [postgres \"%s\"] has no "
             "backup-source: rebuild it with `lifeline restore --source SOURCE --standby --target %s`; automation "
             "is held for %s", name, why, r->group, r->m.data_dir, name);
        return hold(r, "%s must be rebuilt by a person (no backup-source): %s", name, why);
    }
    step(r, "rebuild", "started", "warning", "%s is rebuilt from the repository (backup-source %s) as a standby of "
         "%s: %s", name, r->source, r->leader, why);
    char old[4400], sid[9] = "?";
    int rc = move_aside(r, old, sizeof old);
    if (rc) {
        step(r, "rebuild", "refused", "critical", "%s is not rebuilt: %s; automation is held for %s", name, err_msg(),
             name);
        return hold(r, "%s not rebuilt: %s", name, err_msg());
    }
    step(r, "rebuild", "moved", NULL, "%s's old data directory is kept as %s", name, old);
    rc = restore(r, sid);
    if (!rc) {
        pgtl_path p; /* read now if the rewind path did not: for the new pg_wal */
        if (leader_history(r, &p) != 0)
            LOG_WARN("%s: %s", name, err_msg());
        rc = keep_own_conf(r, old);
    }
    if (rc) {
        step(r, "rebuild", "failed", "critical", "%s: the restore from the repository failed: %s; its old data is "
             "in %s; automation is held for %s", name, err_msg(), old, name);
        return hold(r, "%s: restore failed: %s", name, err_msg());
    }
    step(r, "rebuild", "restored", NULL, "%s restored from backup %s of %s into %s", name, sid, r->source,
         r->m.data_dir);
    err_clear();
    if (pgctl_start(&r->m, 300000) != 0 || !wait_streaming(r, 120000)) {
        step(r, "rebuild", "failed", "critical", "%s was restored but does not stream from %s: %s; its old data is in "
             "%s; automation is held for %s", name, r->leader, err_msg()[0] ? err_msg() : "no WAL receiver", old,
             name);
        return hold(r, "%s rebuilt but not streaming", name);
    }
    step(r, "rebuild", "ok", "info", "%s was rebuilt from the repository (backup %s of %s) and streams from %s; its "
         "old data directory is kept as %s", name, sid, r->source, r->leader, old);
    return RJ_FOLLOWS;
}

/* Start as a standby of the leader; without a rewind, it must then stream (a WAL that
 * went past the fork is refused by the server: rebuilt then). */
static int follow(ha_rejoin_job *r, int rewound, const char *how)
{
    if (pgctl_follow(&r->m, r->leader_ci, 60000) != 0) {
        step(r, "rejoin", "failed", "critical", "%s does not start as a standby of %s: %s", r->m.name, r->leader,
             err_msg());
        return RJ_RETRY;
    }
    if (!rewound && !wait_streaming(r, 30000)) {
        step(r, "rejoin", "failed", "warning", "%s started as a standby of %s but does not stream from it", r->m.name,
             r->leader);
        if (pgctl_stop(&r->m, "fast", 30000) != 0 && pgctl_stop(&r->m, "immediate", 15000) != 0)
            return RJ_RETRY;
        return rebuild(r, "it does not stream from the leader");
    }
    step(r, "rejoin", "ok", NULL, "%s follows %s (%s)", r->m.name, r->leader, how);
    return RJ_FOLLOWS;
}

static int run(ha_rejoin_job *r)
{
    const config_member *m = &r->m;
    if (r->reachable && pgctl_stop(m, "fast", 30000) != 0 && pgctl_stop(m, "immediate", 15000) != 0) {
        step(r, "rejoin", "failed", "warning", "%s cannot be stopped: %s", m->name, err_msg());
        return RJ_RETRY;
    }
    /* a start as a standby that failed left standby.signal: pg_rewind's crash recovery
     * runs in single-user mode, which refuses standby mode, so it goes first */
    char sig[4300], why[600] = "", err[400] = "";
    snprintf(sig, sizeof sig, "%s/standby.signal", m->data_dir);
    if (unlink(sig) != 0 && errno != ENOENT)
        LOG_WARN("%s: %s", sig, strerror(errno));
    int possible = 0;
    if (pgctl_rewind_possible(m, &possible, why, sizeof why) != 0)
        possible = 0, snprintf(why, sizeof why, "%s", err_msg());
    if (possible) {
        /* the new primary's control file must name its new timeline, or pg_rewind sees no
         * fork and does nothing (the promotion's own checkpoint may not have run yet) */
        if (pgctl_checkpoint(r->leader_ci, 60000) != 0)
            LOG_WARN("%s: checkpoint before the rewind: %s", r->leader, err_msg());
        if (pgctl_rewind(m, r->leader_ci, 120000, err, sizeof err) == 0)
            return follow(r, 1, "rewound");
        step(r, "rejoin", "failed", "warning", "pg_rewind of %s from %s failed: %s", m->name, r->leader, err);
        snprintf(why, sizeof why, "pg_rewind failed: %.500s", err);
        return rebuild(r, why);
    }
    char need[600];
    if (!rewind_needed(r, need, sizeof need))
        return follow(r, 0, need);
    step(r, "rejoin", "diverged", "warning", "%s needs a rewind but cannot be rewound (%s): %s", m->name, why, need);
    return rebuild(r, need);
}

static void *worker(void *arg)
{
    ha_rejoin_job *r = arg;
    r->result = run(r);
    active_remove(r);
    pthread_mutex_lock(&r->lock);
    r->done = 1;
    int orphan = r->orphan;
    pthread_mutex_unlock(&r->lock);
    if (orphan) /* the engine stopped meanwhile: nobody will tell this outcome but the log */
        rj_free(r);
    return NULL;
}

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

static ha_rejoin_job *rj_new(ha *h, ha_group *g, ha_member *m, ha_member *leader)
{
    ha_rejoin_job *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->lock, NULL);
    buf_init(&r->hist, 1u << 20);
    r->m = *m->cfg;
    r->m.agent = r->m.group = NULL;
    r->m.node = dup_or_null(m->cfg->node);
    r->m.conninfo = dup_or_null(m->cfg->conninfo);
    r->m.data_dir = dup_or_null(m->cfg->data_dir);
    r->m.bin_dir = dup_or_null(m->cfg->bin_dir);
    r->leader = strdup(leader->cfg->name);
    r->leader_ci = dup_or_null(leader->cfg->conninfo);
    r->group = strdup(g->cfg->name);
    r->source = dup_or_null(g->cfg->backup_source);
    source_config_pg cs;
    if (r->source && source_config_pg_get(h->cfg, r->source, &cs) == 0)
        r->source_bin = dup_or_null(cs.bin_dir);
    const char *rp = getenv("LIFELINE_REPOSITORY"), *kf = getenv("LIFELINE_KEY_FILE");
    r->repo_path = dup_or_null(rp && *rp ? rp : h->cfg->repo_path);
    r->key_file = dup_or_null(kf && *kf ? kf : h->cfg->key_file);
    r->config_path = dup_or_null(h->cfg->file);
    r->config_has_key_file = h->cfg->key_file != NULL;
    r->reachable = m->st.reachable;
    r->epoch = g->leader_known && g->leader.exists ? g->leader.epoch : g->epoch;
    if (!r->leader || !r->group || !r->m.data_dir || !r->leader_ci || (m->cfg->conninfo && !r->m.conninfo)) {
        rj_free(r);
        return NULL;
    }
    return r;
}

/* A person's hold on the member (placed when a rejoin needs one): no automation. */
static int member_held(ha *h, const ha_group *g, const ha_member *m)
{
    char target[160];
    snprintf(target, sizeof target, "%s/%s", g->cfg->name, m->cfg->name);
    state_hold *list;
    size_t n;
    int held = 0;
    if (state_hold_list(h->st, &list, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        held |= !list[i].released_ms && !strcmp(list[i].target, target);
    state_holds_free(&list, n);
    return held;
}

void ha_rejoin(ha *h, ha_group *g, ha_member *m)
{
    ha_member *leader = ha_member_named(g, g->leader.holder);
    if (!leader || strcmp(leader->role, "primary") || !m->cfg->data_dir || m->rj)
        return;
    m->rejoin_at = ha_now() + 15000; /* one try per 15 s at most */
    if (!m->st.reachable && ha_postmaster_alive(m) == 1)
        return; /* it runs but does not answer: not ours to restart yet */
    if (member_held(h, g, m) || active_has(m->cfg->data_dir))
        return; /* a person's to release; or an earlier engine's rejoin still runs */
    ha_rejoin_job *r = rj_new(h, g, m, leader);
    if (!r) {
        ha_say(h, "rejoin", g, m, "failed", "warning", "%s: out of memory", m->cfg->name);
        return;
    }
    pthread_mutex_lock(&active_lock);
    r->next = active;
    active = r;
    pthread_mutex_unlock(&active_lock);
    if (pthread_create(&r->thread, NULL, worker, r) != 0) {
        active_remove(r);
        rj_free(r);
        ha_say(h, "rejoin", g, m, "failed", "warning", "%s: cannot start a rejoin thread", m->cfg->name);
        return;
    }
    m->rj = r;
    ha_say(h, "rejoin", g, m, "started", NULL, "%s rejoins %s under %s", m->cfg->name, g->cfg->name,
           leader->cfg->name);
}

static void tell_steps(ha *h, ha_group *g, ha_member *m, ha_rejoin_job *r)
{
    rj_step *s = malloc(sizeof r->steps);
    size_t n = 0;
    pthread_mutex_lock(&r->lock);
    if (s) {
        n = r->nsteps;
        memcpy(s, r->steps, n * sizeof *s);
        r->nsteps = 0;
    }
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++)
        ha_say(h, s[i].kind, g, m, s[i].outcome, s[i].severity[0] ? s[i].severity : NULL, "%s", s[i].msg);
    free(s);
}

/* The outcome, on the engine's thread. */
static void apply(ha *h, ha_group *g, ha_member *m, ha_rejoin_job *r)
{
    m->rejoin_at = ha_now() + 15000;
    if (r->result == RJ_FOLLOWS) {
        m->fenced = 0;
        m->rejoin_failed = 0;
        ha_hook(h, g, m, g->cfg->on_role_change, "standby");
        return;
    }
    m->rejoin_failed = 1;
    if (r->result != RJ_HOLD)
        return;
    char target[160];
    snprintf(target, sizeof target, "%s/%s", g->cfg->name, m->cfg->name);
    if (state_hold_set(h->st, target, "escalation", r->hold_why, "lifeline watch", (int64_t)time(NULL) * 1000) != 0)
        LOG_WARN("%s", err_msg());
    if (h->hooks.incident)
        h->hooks.incident(h->hooks.ctx, g->cfg->name, 1, r->hold_why);
    g->incident = 1;
}

int ha_rejoin_busy(ha *h, ha_group *g, ha_member *m)
{
    ha_rejoin_job *r = m->rj;
    if (!r)
        return 0;
    tell_steps(h, g, m, r);
    pthread_mutex_lock(&r->lock);
    int done = r->done;
    snprintf(m->st.detail, sizeof m->st.detail, "%s", r->phase[0] ? r->phase : "rejoin: started");
    pthread_mutex_unlock(&r->lock);
    if (!done)
        return 1;
    pthread_join(r->thread, NULL);
    tell_steps(h, g, m, r);
    apply(h, g, m, r);
    m->rj = NULL;
    rj_free(r);
    return 1; /* this round's look at it is older than the outcome */
}

void ha_rejoin_free(ha_member *m)
{
    ha_rejoin_job *r = m->rj;
    if (!r)
        return;
    m->rj = NULL;
    pthread_mutex_lock(&r->lock);
    int done = r->done;
    r->orphan = !done;
    pthread_mutex_unlock(&r->lock);
    if (done) {
        pthread_join(r->thread, NULL);
        rj_free(r);
    } else {
        pthread_detach(r->thread); /* it frees itself when it ends */
    }
}
