/* probe_batch — see probe_batch.h. One thread: take what was queued, start it (an easy
 * handle added to the multi handle, or a non-blocking connect), then one poll on an
 * eventfd (a new queue), libcurl's sockets (it names them through its socket callback)
 * and the connecting tcp sockets, until the earliest deadline or libcurl's timer; each
 * ready socket goes to curl_multi_socket_action with what poll saw, so libcurl touches
 * only the transfers that moved and checks no socket again itself (curl_multi_perform
 * would walk every transfer and poll each socket once more on every wake). */
#define _GNU_SOURCE
#include "probe_batch.h"

#include <curl/curl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "probe_impl.h"

/* libcurl ends a transfer at its CURLOPT_TIMEOUT_MS; should one ever outlive it, the
 * batch ends it this much later itself: no check runs on past its deadline. */
#define BATCH_GRACE_MS 100
/* Easy handles kept for the next checks (reset, not remade: a new one costs mallocs
 * and, when dropped, signal-handler calls): about what one wake-up slot runs at once. */
#define BATCH_SPARE 32
/* At most this many checks at once; more wait their turn in the queue (their deadline
 * counts from their start). Each costs libcurl some 20 KiB: 200 probes due at once (the
 * agent starting, a stalled machine catching up) must not make a peak of 4 MiB. 64 is
 * four times the 16 threads that ran them before: a few targets that hang delay no one. */
#define BATCH_MAX_RUNNING 64

typedef struct item {
    struct item *next; /* in the queue */
    const probe_spec *spec;
    void *tag;
    int64_t start, deadline;
    int fd;              /* tcp: the connecting socket, else -1 */
    size_t pi;           /* tcp: its slot in the poll's fds */
    CURL *h;             /* http */
    probe_http_req *req; /* http: on the multi handle while set */
} item;

struct probe_batch {
    pthread_mutex_t mu;
    pthread_cond_t idle;
    item *head, *tail; /* queued, not started */
    size_t busy;       /* queued and running */
    int stop;
    CURLM *multi;
    probe_batch_done done;
    void *ctx;
    pthread_t thread;
    /* the thread's own */
    int wake_fd; /* eventfd: a new queue, or stop */
    item *run[BATCH_MAX_RUNNING], *snap[BATCH_MAX_RUNNING]; /* running; a copy for one pass */
    size_t nrun;
    /* libcurl's sockets and what it waits for on each (its socket callback), and when
     * it wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT) (its timer callback, -1:
     * never); a transfer has one socket, and one more while a name is resolved */
    struct pollfd csock[2 * BATCH_MAX_RUNNING + 8];
    size_t ncsock;
    int64_t timer_at;
    /* one poll: wake_fd, libcurl's sockets, the connecting tcp sockets */
    struct pollfd pfd[1 + 2 * BATCH_MAX_RUNNING + 8 + BATCH_MAX_RUNNING];
    CURL *spare[BATCH_SPARE];
    size_t nspare;
};

int probe_batch_takes(const probe_spec *spec)
{
    const char *t = spec->target;
    return t && (!strncmp(t, "http://", 7) || !strncmp(t, "https://", 8) ||
                 (!strncmp(t, "tcp://", 6) && probe_tcp_numeric(t + 6)));
}

static void unrun(probe_batch *b, const item *it)
{
    for (size_t i = 0; i < b->nrun; i++)
        if (b->run[i] == it) {
            b->run[i] = b->run[--b->nrun];
            return;
        }
}

static void handle_put(probe_batch *b, CURL *h)
{
    if (!h)
        return;
    if (b->nspare < BATCH_SPARE)
        b->spare[b->nspare++] = h;
    else
        curl_easy_cleanup(h);
}

/* The check is over: its result goes out, the item goes. */
static void finish(probe_batch *b, item *it, probe_result *r)
{
    r->latency_ms = probe_now_ms() - it->start;
    handle_put(b, it->h);
    b->done(b->ctx, it->tag, r);
    free(it);
    pthread_mutex_lock(&b->mu);
    if (--b->busy == 0)
        pthread_cond_broadcast(&b->idle);
    pthread_mutex_unlock(&b->mu);
}

/* An http check onto the multi handle: 0, or -1 with r set. */
static int start_http(probe_batch *b, item *it, probe_result *r)
{
    it->h = b->nspare ? b->spare[--b->nspare] : curl_easy_init();
    it->req = probe_http_start(it->h, it->spec, it->spec->target, it->deadline, r);
    if (!it->req)
        return -1;
    if (curl_easy_setopt(it->h, CURLOPT_PRIVATE, (void *)it) == CURLE_OK &&
        curl_multi_add_handle(b->multi, it->h) == CURLM_OK)
        return 0;
    probe_http_done(it->req, CURLE_OK, NULL);
    it->req = NULL;
    return probe_set(r, PROBE_FAILED, "libcurl refused the request"), -1;
}

static void start(probe_batch *b, item *it)
{
    probe_result r;
    memset(&r, 0, sizeof r);
    it->start = probe_now_ms();
    it->deadline = it->start + it->spec->timeout_ms;
    it->fd = -1;
    if (it->spec->timeout_ms <= 0)
        probe_set(&r, PROBE_FAILED, "probe: no target or no timeout");
    else if (strncmp(it->spec->target, "tcp://", 6) ? start_http(b, it, &r) == 0
                                                     : probe_tcp_begin(it->spec->target + 6, &it->fd, &r) == 1) {
        b->run[b->nrun++] = it;
        return;
    }
    finish(b, it, &r);
}

/* libcurl's socket callback: what to wait for on s. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socketp)
{
    (void)easy;
    (void)socketp;
    probe_batch *b = user;
    size_t i = 0;
    while (i < b->ncsock && b->csock[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < b->ncsock)
            b->csock[i] = b->csock[--b->ncsock];
        return 0;
    }
    if (i == b->ncsock) {
        if (i == sizeof b->csock / sizeof *b->csock)
            return -1; /* cannot happen: fewer transfers run than there is room for */
        b->ncsock++;
    }
    b->csock[i] = (struct pollfd){.fd = fd,
                                  .events = (short)((what & CURL_POLL_IN ? POLLIN : 0) |
                                                    (what & CURL_POLL_OUT ? POLLOUT : 0))};
    return 0;
}

/* libcurl's timer callback: when it wants CURL_SOCKET_TIMEOUT (-1: never). */
static int on_timer(CURLM *multi, long timeout_ms, void *user)
{
    (void)multi;
    probe_batch *b = user;
    b->timer_at = timeout_ms < 0 ? -1 : probe_now_ms() + timeout_ms;
    return 0;
}

/* The transfers libcurl finished. */
static void collect_http(probe_batch *b)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(b->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *h = m->easy_handle; /* m is gone once the handle is removed */
        CURLcode rc = m->data.result;
        char *p = NULL;
        curl_easy_getinfo(h, CURLINFO_PRIVATE, &p);
        item *it = (item *)p;
        curl_multi_remove_handle(b->multi, h);
        probe_result r;
        memset(&r, 0, sizeof r);
        probe_http_done(it->req, rc, &r);
        it->req = NULL;
        unrun(b, it);
        finish(b, it, &r);
    }
}

/* The fds of one poll, and its timeout: the earliest of libcurl's timer and the
 * running checks' deadlines. */
static int poll_setup(probe_batch *b, size_t *n)
{
    int64_t now = probe_now_ms(), until = now + 1000;
    if (b->timer_at >= 0 && b->timer_at < until)
        until = b->timer_at;
    b->pfd[0] = (struct pollfd){.fd = b->wake_fd, .events = POLLIN};
    memcpy(b->pfd + 1, b->csock, b->ncsock * sizeof *b->pfd);
    *n = 1 + b->ncsock;
    for (size_t i = 0; i < b->nrun; i++) {
        item *it = b->run[i];
        int64_t end = it->deadline + (it->fd >= 0 ? 0 : BATCH_GRACE_MS);
        until = end < until ? end : until;
        if (it->fd >= 0) {
            it->pi = *n;
            b->pfd[(*n)++] = (struct pollfd){.fd = it->fd, .events = POLLOUT};
        }
    }
    return until <= now ? 0 : (int)(until - now);
}

/* One poll; then libcurl's ready sockets and timer, the connects that ended and the
 * checks past their deadline. */
static void wait_some(probe_batch *b)
{
    size_t n, nc = b->ncsock;
    int timeout = poll_setup(b, &n);
    if (poll(b->pfd, n, timeout) < 0)
        return; /* EINTR: again */
    if (b->pfd[0].revents) {
        uint64_t v;
        (void)!read(b->wake_fd, &v, sizeof v);
    }
    int running;
    for (size_t i = 1; i <= nc; i++) {
        short ev = b->pfd[i].revents;
        if (ev)
            (void)curl_multi_socket_action(b->multi, b->pfd[i].fd,
                                           (ev & (POLLIN | POLLHUP) ? CURL_CSELECT_IN : 0) |
                                               (ev & POLLOUT ? CURL_CSELECT_OUT : 0) |
                                               (ev & (POLLERR | POLLNVAL) ? CURL_CSELECT_ERR : 0),
                                           &running);
    }
    if (b->timer_at >= 0 && probe_now_ms() >= b->timer_at)
        (void)curl_multi_socket_action(b->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_http(b);
    /* what is left of what poll_setup saw (collect_http takes only http ones, and
     * nothing starts in between: every tcp one here has its slot in pfd) */
    int64_t now = probe_now_ms();
    size_t ns = b->nrun;
    memcpy(b->snap, b->run, ns * sizeof *b->snap);
    for (size_t i = 0; i < ns; i++) {
        item *it = b->snap[i];
        probe_result r;
        memset(&r, 0, sizeof r);
        if (it->fd >= 0) {
            int ready = b->pfd[it->pi].revents != 0;
            if (!ready && now < it->deadline)
                continue;
            probe_tcp_end(it->spec->target + 6, it->fd, !ready, &r);
            it->fd = -1;
        } else if (it->req && now >= it->deadline + BATCH_GRACE_MS) {
            curl_multi_remove_handle(b->multi, it->h);
            probe_http_done(it->req, CURLE_OPERATION_TIMEDOUT, &r);
            it->req = NULL;
        } else {
            continue;
        }
        unrun(b, it);
        finish(b, it, &r);
    }
}

/* Stopping: what is queued or running goes, without a result. */
static void drop_all(probe_batch *b, item *q)
{
    while (q) {
        item *next = q->next;
        free(q);
        q = next;
    }
    for (size_t i = 0; i < b->nrun; i++) {
        item *it = b->run[i];
        if (it->fd >= 0)
            close(it->fd);
        if (it->req) {
            curl_multi_remove_handle(b->multi, it->h);
            probe_http_done(it->req, CURLE_OK, NULL);
        }
        handle_put(b, it->h);
        free(it);
    }
    b->nrun = 0;
    pthread_mutex_lock(&b->mu);
    b->busy = 0;
    pthread_cond_broadcast(&b->idle);
    pthread_mutex_unlock(&b->mu);
}

static void *batch_main(void *arg)
{
    probe_batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        int stop = b->stop;
        item *q = NULL, **end = &q;
        for (size_t n = b->nrun; b->head && (stop || n < BATCH_MAX_RUNNING); n++) {
            *end = b->head;
            end = &b->head->next;
            b->head = b->head->next;
        }
        *end = NULL;
        if (!b->head)
            b->tail = NULL;
        pthread_mutex_unlock(&b->mu);
        if (stop) {
            drop_all(b, q);
            return NULL;
        }
        while (q) {
            item *next = q->next;
            start(b, q);
            q = next;
        }
        wait_some(b);
    }
}

int probe_batch_new(probe_batch_done done, void *ctx, probe_batch **out)
{
    probe_batch *b = calloc(1, sizeof *b);
    if (!b)
        return err_set(ERR_FATAL, "out of memory");
    b->done = done;
    b->ctx = ctx;
    b->timer_at = -1;
    b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->wake_fd < 0) {
        free(b);
        return err_sys(ERR_FATAL, "probes: eventfd");
    }
    b->multi = curl_multi_init();
    if (!b->multi || curl_multi_setopt(b->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(b->multi, CURLMOPT_SOCKETDATA, b) != CURLM_OK ||
        curl_multi_setopt(b->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
        curl_multi_setopt(b->multi, CURLMOPT_TIMERDATA, b) != CURLM_OK) {
        if (b->multi)
            curl_multi_cleanup(b->multi);
        close(b->wake_fd);
        free(b);
        return err_set(ERR_FATAL, "probes: libcurl cannot make a multi handle");
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->idle, NULL);
    int e = pthread_create(&b->thread, NULL, batch_main, b);
    if (e) {
        curl_multi_cleanup(b->multi);
        close(b->wake_fd);
        pthread_cond_destroy(&b->idle);
        pthread_mutex_destroy(&b->mu);
        free(b);
        return err_set(ERR_FATAL, "probes: cannot start the probe thread: %s", strerror(e));
    }
    *out = b;
    return 0;
}

int probe_batch_submit(probe_batch *b, const probe_spec *spec, void *tag)
{
    item *it = calloc(1, sizeof *it);
    if (!it)
        return err_set(ERR_FATAL, "out of memory");
    it->spec = spec;
    it->tag = tag;
    pthread_mutex_lock(&b->mu);
    if (b->tail)
        b->tail->next = it;
    else
        b->head = it;
    b->tail = it;
    b->busy++;
    pthread_mutex_unlock(&b->mu);
    return 0;
}

void probe_batch_kick(probe_batch *b)
{
    uint64_t one = 1;
    (void)!write(b->wake_fd, &one, sizeof one);
}

void probe_batch_wait(probe_batch *b)
{
    probe_batch_kick(b);
    pthread_mutex_lock(&b->mu);
    while (b->busy)
        pthread_cond_wait(&b->idle, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

void probe_batch_free(probe_batch **pb)
{
    probe_batch *b = *pb;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_mutex_unlock(&b->mu);
    probe_batch_kick(b);
    pthread_join(b->thread, NULL);
    curl_multi_cleanup(b->multi);
    close(b->wake_fd);
    for (size_t i = 0; i < b->nspare; i++)
        curl_easy_cleanup(b->spare[i]);
    pthread_cond_destroy(&b->idle);
    pthread_mutex_destroy(&b->mu);
    free(b);
    *pb = NULL;
}
