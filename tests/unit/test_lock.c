/* Unit tests: when a repository lock is stale (lock.c). A live process on this host
 * is never stale, however old its lock; a dead one, a reused pid or an earlier boot
 * is; another host's or container's lock goes stale by age alone. */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "repo/lock.h"

static void this_host(lock_info *li)
{
    memset(li, 0, sizeof *li);
    gethostname(li->host, sizeof li->host - 1);
    li->pid = (long)getpid();
    li->start = lock_process_start(li->pid);
}

static void live_local_pid_is_never_stale(void **state)
{
    (void)state;
    lock_info li;
    this_host(&li);
    int64_t now = (int64_t)time(NULL);
    assert_true(li.start > 0);
    li.time = now - 30 * 86400; /* a month without refresh: stopped, not gone */
    assert_false(lock_is_stale(&li, now));
    li.start = 0; /* a lock from before start times were recorded: the live pid decides */
    assert_false(lock_is_stale(&li, now));
}

static void dead_or_reused_pid_is_stale(void **state)
{
    (void)state;
    lock_info li;
    this_host(&li);
    int64_t now = (int64_t)time(NULL);
    li.time = now;
    li.start += 1; /* the pid now belongs to a process that started later */
    assert_true(lock_is_stale(&li, now));
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    this_host(&li);
    li.pid = (long)child; /* reaped: gone */
    li.time = now;
    assert_true(lock_is_stale(&li, now));
    this_host(&li);
    li.time = now;
    snprintf(li.boot, sizeof li.boot, "00000000-0000-0000-0000-000000000000"); /* an earlier boot */
    assert_true(lock_is_stale(&li, now));
}

static void other_host_or_container_goes_by_age(void **state)
{
    (void)state;
    lock_info li;
    this_host(&li);
    int64_t now = (int64_t)time(NULL);
    snprintf(li.host, sizeof li.host, "some-other-host.invalid");
    li.time = now - LOCK_STALE_SECONDS + 60;
    assert_false(lock_is_stale(&li, now));
    li.time = now - LOCK_STALE_SECONDS - 60;
    assert_true(lock_is_stale(&li, now));
    this_host(&li);
    snprintf(li.pidns, sizeof li.pidns, "pid:[1]"); /* same host name, another pid space */
    li.time = now - LOCK_STALE_SECONDS - 60;
    assert_true(lock_is_stale(&li, now));
    li.time = now;
    assert_false(lock_is_stale(&li, now));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_local_pid_is_never_stale),
        cmocka_unit_test(dead_or_reused_pid_is_stale),
        cmocka_unit_test(other_host_or_container_goes_by_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
