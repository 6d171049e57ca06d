/* pgctl's pure parts: LSN text, synchronous_standby_names values, the primary_conninfo
 * a follower gets, postgresql.auto.conf edits, pg_controldata's verdict, and a
 * program's last line. The server side is in tests/system/test_pgctl.sh. */
#define _GNU_SOURCE
#include "testutil.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/ha_config.h"
#include "core/err.h"
#include "ha/pgctl.h"
#include "ha/pgctl_impl.h"

static void lsn_round_trip(void **state)
{
    (void)state;
    uint64_t v = 1;
    assert_int_equal(pgctl_parse_lsn("0/3000060", &v), 0);
    assert_true(v == 0x3000060);
    assert_int_equal(pgctl_parse_lsn("16/B374D848", &v), 0);
    assert_true(v == ((uint64_t)0x16 << 32 | 0xB374D848u));
    assert_int_equal(pgctl_parse_lsn("ffffffff/ffffffff", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(pgctl_parse_lsn("0/0", &v), 0);
    assert_true(v == 0);
    char out[32];
    pgctl_format_lsn((uint64_t)0x16 << 32 | 0xB374D848u, out, sizeof out);
    assert_string_equal(out, "16/B374D848");
    pgctl_format_lsn(0x3000060, out, sizeof out);
    assert_string_equal(out, "0/3000060");
    pgctl_format_lsn(UINT64_MAX, out, sizeof out);
    assert_string_equal(out, "FFFFFFFF/FFFFFFFF");
    /* a short buffer is cut, never overrun */
    char tiny[4];
    pgctl_format_lsn(UINT64_MAX, tiny, sizeof tiny);
    assert_string_equal(tiny, "FFF");
}

static void lsn_bad_text(void **state)
{
    (void)state;
    const char *bad[] = {"", "/", "0/", "/0", "03000060", "0/3000060x", "g/0", "0/-1", "1/2/3",
                         "123456789/0", "0/123456789", " 0/1", "0/1 ", "0x0/1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 42;
        if (pgctl_parse_lsn(bad[i], &v) != -1)
            fail_msg("'%s' parsed", bad[i]);
        assert_true(v == 42);
    }
    uint64_t v;
    assert_int_equal(pgctl_parse_lsn(NULL, &v), -1);
}

static void sync_names(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(pgctl_sync_value("", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(pgctl_sync_value(" , ", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(pgctl_sync_value("pg-b", out, sizeof out), 0);
    assert_string_equal(out, "\"pg-b\"");
    assert_int_equal(pgctl_sync_value("pg-b, pg_c  Z9", out, sizeof out), 0);
    assert_string_equal(out, "\"pg-b\", \"pg_c\", \"Z9\"");
    /* anything that could leave the quotes is refused */
    const char *bad[] = {"pg'b", "pg\"b", "a;drop", "ANY 1 (a)", "*", "é", "a\\b", "a)b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err_clear();
        if (pgctl_sync_value(bad[i], out, sizeof out) != ERR_USAGE)
            fail_msg("'%s' accepted as %s", bad[i], out);
        assert_non_null(strstr(err_msg(), "not a member name"));
    }
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = '\0';
    assert_int_equal(pgctl_sync_value(longname, out, sizeof out), ERR_USAGE);
    longname[63] = '\0';
    assert_int_equal(pgctl_sync_value(longname, out, sizeof out), 0);
    /* more names than fit */
    char small[12];
    assert_int_equal(pgctl_sync_value("aaaa bbbb cccc", small, sizeof small), ERR_USAGE);
    assert_true(pgctl_name_ok("pg-a"));
    assert_false(pgctl_name_ok(""));
    assert_false(pgctl_name_ok("pg a"));
}

static void follow_conninfo(void **state)
{
    (void)state;
    char out[512];
    assert_int_equal(pgctl_follow_conninfo("host=10.0.0.1 port=5433 user=lifeline application_name=x", "pg-b", out,
                                           sizeof out),
                     0);
    assert_string_equal(out, "user='lifeline' host='10.0.0.1' port='5433' application_name='pg-b'");
    assert_int_equal(pgctl_follow_conninfo("postgresql://rep@127.0.0.1:6000/postgres?sslmode=disable", "pg-a", out,
                                           sizeof out),
                     0);
    assert_non_null(strstr(out, "host='127.0.0.1'"));
    assert_non_null(strstr(out, "port='6000'"));
    assert_non_null(strstr(out, "user='rep'"));
    assert_non_null(strstr(out, "sslmode='disable'"));
    assert_non_null(strstr(out, "application_name='pg-a'"));
    /* quotes and backslashes survive libpq's quoting */
    assert_int_equal(pgctl_follow_conninfo("host=/tmp/a\\'b user='o\\\\k'", "m", out, sizeof out), 0);
    assert_string_equal(out, "user='o\\\\k' host='/tmp/a\\'b' application_name='m'");
    assert_int_equal(pgctl_follow_conninfo("host=x nosuchkey=1", "m", out, sizeof out), ERR_USAGE);
    assert_non_null(strstr(err_msg(), "nosuchkey"));
    char small[16];
    assert_int_equal(pgctl_follow_conninfo("host=10.0.0.1 port=5433", "m", small, sizeof small), ERR_USAGE);
}

static void conf_quote(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(pgctl_conf_quote("host='a' x=\\", out, sizeof out), 0);
    assert_string_equal(out, "'host=''a'' x=\\\\'");
    assert_int_equal(pgctl_conf_quote("", out, sizeof out), 0);
    assert_string_equal(out, "''");
    char small[4];
    assert_int_equal(pgctl_conf_quote("abcd", small, sizeof small), ERR_USAGE);
}

static void conf_edit(void **state)
{
    (void)state;
    static const char *const keys[] = {"primary_conninfo", "recovery_target_timeline", NULL};
    const char *old = "# Do not edit this file manually!\n"
                      "primary_conninfo = 'host=old'\n"
                      "  PRIMARY_CONNINFO='host=older'\n"
                      "primary_conninfo_x = 'kept: another name'\n"
                      "work_mem = '64MB'\n"
                      "recovery_target_timeline = '2'\n"
                      "# primary_conninfo = 'a comment stays'\n"
                      "last_line_without_newline = on";
    buf out;
    buf_init(&out, 0);
    assert_int_equal(pgctl_conf_edit(old, strlen(old), keys, "primary_conninfo = 'host=new'\n", &out), 0);
    assert_int_equal(buf_append_u8(&out, 0), 0);
    assert_string_equal((char *)out.data, "# Do not edit this file manually!\n"
                                          "primary_conninfo_x = 'kept: another name'\n"
                                          "work_mem = '64MB'\n"
                                          "# primary_conninfo = 'a comment stays'\n"
                                          "last_line_without_newline = on\n"
                                          "primary_conninfo = 'host=new'\n");
    buf_reset(&out);
    assert_int_equal(pgctl_conf_edit("", 0, keys, "a = 1\n", &out), 0);
    assert_int_equal(out.len, 6);
    buf_free(&out);
}

static void controldata(void **state)
{
    (void)state;
    const char *head = "pg_control version number:            1300\n"
                       "Database cluster state:               shut down\n";
    char text[1024], why[200];
    int possible = -1;
    snprintf(text, sizeof text, "%swal_log_hints setting:                off\n"
                                "Data page checksum version:           1\n", head);
    assert_int_equal(pgctl_controldata_rewindable(text, &possible, why, sizeof why), 0);
    assert_int_equal(possible, 1);
    assert_string_equal(why, "data checksums are on");
    snprintf(text, sizeof text, "%swal_log_hints setting:                on\n"
                                "Data page checksum version:           0\n", head);
    assert_int_equal(pgctl_controldata_rewindable(text, &possible, why, sizeof why), 0);
    assert_int_equal(possible, 1);
    assert_string_equal(why, "wal_log_hints is on");
    snprintf(text, sizeof text, "%swal_log_hints setting:                off\n"
                                "Data page checksum version:           0\n", head);
    assert_int_equal(pgctl_controldata_rewindable(text, &possible, why, sizeof why), 0);
    assert_int_equal(possible, 0);
    assert_non_null(strstr(why, "cannot run"));
    assert_int_equal(pgctl_controldata_rewindable(head, &possible, why, sizeof why), ERR_SOURCE);
    assert_int_equal(pgctl_controldata_rewindable("", &possible, NULL, 0), ERR_SOURCE);
}

static void last_line(void **state)
{
    (void)state;
    char out[64];
    pgctl_last_line("pg_rewind: servers diverged\npg_rewind: fatal: could not connect\n\n  \n", out, sizeof out);
    assert_string_equal(out, "pg_rewind: fatal: could not connect");
    pgctl_last_line("", out, sizeof out);
    assert_string_equal(out, "");
    pgctl_last_line("one line no newline\r", out, sizeof out);
    assert_string_equal(out, "one line no newline");
    char tiny[5];
    pgctl_last_line("abcdefgh", tiny, sizeof tiny);
    assert_string_equal(tiny, "abcd");
}

/* Bad arguments are refused before anything runs or connects. */
static void refused_arguments(void **state)
{
    (void)state;
    assert_int_equal(pgctl_set_sync("host=127.0.0.1 port=1", "x'y", 100), ERR_USAGE);
    pg_state st;
    assert_int_equal(pgctl_query("", 100, &st), ERR_USAGE);
    assert_int_equal(st.reachable, 0);
    assert_int_equal(pgctl_query("host=127.0.0.1 nosuchkey=1", 500, &st), ERR_SOURCE);
    assert_int_equal(st.reachable, 0);
    assert_non_null(strstr(st.detail, "nosuchkey"));
}

static void waldump_last(void **state)
{
    (void)state;
    uint64_t lsn = 0;
    const char *out =
        "rmgr: Heap        len (rec/tot):     59/    59, tx:        735, lsn: 0/050019A8, prev 0/05001970, desc: INSERT "
        "off 100 flags 0x00, blkref #0: rel 1663/5/16384 blk 0\n"
        "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/050019E8, prev 0/050019A8, desc: COMMIT "
        "2026-12-01 20:40:01.123456 UTC\n"
        "pg_waldump: error: error in WAL record at 0/50019E8: invalid record length at 0/5001A10: wanted 24, got 0\n";
    assert_int_equal(pgctl_waldump_last(out, &lsn), 0);
    assert_int_equal(lsn, 0x050019E8ULL);
    /* a desc that names an lsn is not the record's */
    assert_int_equal(pgctl_waldump_last("rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: "
                                        "1/00000028, prev 0/00000000, desc: OVERWRITE_CONTRECORD lsn: 2/0\n",
                                        &lsn), 0);
    assert_int_equal(lsn, 0x100000028ULL);
    /* no record at all: its error alone */
    assert_int_equal(pgctl_waldump_last("pg_waldump: error: could not find file \"000000010000000000000005\"\n", &lsn),
                     -1);
    assert_int_equal(pgctl_waldump_last("", &lsn), -1);
}

/* A standby's upstream against the leader's conninfo: host and port, 5432 by default. */
static void streams_from(void **state)
{
    (void)state;
    assert_true(pgctl_streams_from("10.0.0.1:5432", "host=10.0.0.1 port=5432 user=lifeline"));
    assert_true(pgctl_streams_from("10.0.0.1:5432", "host=10.0.0.1 dbname=postgres"));
    assert_false(pgctl_streams_from("10.0.0.3:5432", "host=10.0.0.1 port=5432"));
    assert_false(pgctl_streams_from("10.0.0.1:5433", "host=10.0.0.1 port=5432"));
    assert_true(pgctl_streams_from("[fd00::1]:5432", "host=fd00::1 port=5432"));
    assert_true(pgctl_streams_from("/run/postgresql:5433", "host=/run/postgresql port=5433"));
    assert_true(pgctl_streams_from("127.0.0.1:6000", "postgresql://127.0.0.1:6000/postgres"));
    /* what cannot be judged is left alone */
    assert_true(pgctl_streams_from("10.0.0.9:5432", "host=a,b port=5432,5433"));
    assert_true(pgctl_streams_from("10.0.0.9:5432", "host='unterminated"));
}

/* /proc/PID/stat read right: this process runs, a zombie child and a reaped one are gone. */
static void pid_gone(void **state)
{
    (void)state;
    assert_false(pgctl_pid_gone(getpid()));
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    for (int i = 0; i < 200 && !pgctl_pid_gone(child); i++)
        usleep(10000); /* a zombie once it exits: gone */
    assert_true(pgctl_pid_gone(child));
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_true(pgctl_pid_gone(child));
}

static pid_t spawn_in(const char *dir, int with_child)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(1);
        if (with_child && fork() == 0)
            for (;;)
                pause();
        for (;;)
            pause();
    }
    usleep(100000); /* it has changed folder and forked */
    return pid;
}

static void write_pid(const char *dir, pid_t pid)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/postmaster.pid", dir);
    snprintf(text, sizeof text, "%d\n", (int)pid);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* pgctl_kill: nothing to do without a postmaster.pid; a pid that does not work in the
 * data folder (reused by another process) is refused and left alive; the postmaster and
 * its children are killed. */
static void kill_member(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    config_member m = {.name = "pg-a", .data_dir = dir};
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* the killed postmaster's child comes back here to be reaped */
    assert_int_equal(pgctl_kill(&m, 2000), 0);
    pid_t other = spawn_in("/", 0);
    write_pid(dir, other);
    assert_int_equal(pgctl_kill(&m, 2000), ERR_SOURCE);
    assert_non_null(strstr(err_msg(), "does not work in"));
    assert_false(pgctl_pid_gone(other));
    kill(other, SIGKILL);
    waitpid(other, NULL, 0);
    pid_t pm = spawn_in(dir, 1);
    write_pid(dir, pm);
    assert_int_equal(pgctl_kill(&m, 2000), 0);
    assert_true(pgctl_pid_gone(pm));
    assert_int_equal(waitpid(pm, NULL, 0), pm);
    for (int i = 0; i < 100 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
        usleep(10000); /* its child, killed too, reaped once it comes back here */
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child left alive */
    tu_rmrf(dir);
    err_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lsn_round_trip),   cmocka_unit_test(lsn_bad_text), cmocka_unit_test(sync_names),
        cmocka_unit_test(follow_conninfo),  cmocka_unit_test(conf_quote),   cmocka_unit_test(conf_edit),
        cmocka_unit_test(controldata),      cmocka_unit_test(last_line),    cmocka_unit_test(refused_arguments),
        cmocka_unit_test(waldump_last),     cmocka_unit_test(streams_from),     cmocka_unit_test(pid_gone),
        cmocka_unit_test(kill_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
