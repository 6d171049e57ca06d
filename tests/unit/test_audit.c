/* Unit tests: the hash-chained audit trail. */
#define _GNU_SOURCE
#include "testutil.h"

#include <limits.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "core/fsutil.h"

typedef struct problems {
    int n;
    char last[512];
} problems;

static void on_problem(const char *where, const char *what, void *ctx)
{
    problems *p = ctx;
    p->n++;
    snprintf(p->last, sizeof p->last, "%s: %s", where, what);
}

static repo *setup(char **dir)
{
    *dir = tu_tempdir();
    char state[512], path[512];
    snprintf(state, sizeof state, "%s/state", *dir);
    snprintf(path, sizeof path, "%s/repo", *dir);
    setenv("LIFELINE_STATE_DIR", state, 1);
    repo_options o;
    repo_options_default(&o);
    o.kdf = (crypto_kdf_params){.t_cost = 1, .m_kib = 64, .lanes = 1};
    repo *r;
    assert_int_equal(repo_init(path, "pw", 2, KEYSLOT_PASSPHRASE, &o, &r), 0);
    for (int i = 0; i < 4; i++) {
        char w0[] = "backup", w1[] = "/srv";
        char *args[] = {w0, w1};
        audit_event e = {.command = "backup", .args = args, .nargs = 2, .message = "ok"};
        assert_int_equal(audit_append(r, &e), 0);
    }
    return r;
}

static audit_verify_result last_res;

static int verify(repo *r, problems *p)
{
    memset(p, 0, sizeof *p);
    assert_int_equal(audit_verify(r, on_problem, p, &last_res), 0);
    assert_int_equal(last_res.damaged + last_res.unreadable, p->n);
    return (int)last_res.records;
}

static void record_path(const char *dir, int seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/repo/audit/%016x%048d", dir, seq, 0);
}

static void append(repo *r, const char *command, int exit_code, const char *id)
{
    char w0[32], *ids[] = {(char *)id};
    snprintf(w0, sizeof w0, "%s", command);
    char *args[] = {w0};
    audit_event e = {.command = command, .args = args, .nargs = 1, .exit_code = exit_code, .ids = ids,
                     .nids = id ? 1 : 0};
    assert_int_equal(audit_append(r, &e), 0);
}

/* A damaged newest record: the next append notes the break and chains from the last
 * intact record; verify reports the damage once and the chain after it is sound. */
static void damaged_newest_record_does_not_stop_the_trail(void **state)
{
    (void)state;
    char *dir, path[PATH_MAX];
    repo *r = setup(&dir);
    record_path(dir, 4, path, sizeof path);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(fs_read_file(path, &b, 1 << 20), 0);
    b.data[b.len / 2] ^= 1;
    assert_int_equal(fs_write_durable(path, b.data, b.len, 0600, 0), 0);
    append(r, "backup", 0, NULL);
    append(r, "backup", 0, NULL);
    audit_record *list;
    size_t n;
    assert_int_equal(audit_list(r, &list, &n), 0);
    assert_int_equal(n, 5); /* 1-3, 5, 6: record 4 does not authenticate */
    assert_non_null(strstr(list[3].json, "\"break\":[{\"seq\":4,\"why\":\"damaged\"}]"));
    assert_null(strstr(list[4].json, "\"break\""));
    audit_records_free(&list, n);
    problems p;
    verify(r, &p);
    assert_int_equal(last_res.breaks, 1);
    assert_true(last_res.damaged >= 1);
    assert_int_equal(last_res.unreadable, 0);
    assert_non_null(strstr(p.last, "seq 4 is damaged"));
    /* the record put back from a copy: the trail is whole again, the break stays noted */
    assert_int_equal(fs_write_durable(path, b.data, b.len, 0600, 0), 0);
    b.data[b.len / 2] ^= 1;
    assert_int_equal(fs_write_durable(path, b.data, b.len, 0600, 0), 0);
    verify(r, &p);
    assert_int_equal(p.n, 0);
    assert_int_equal(last_res.breaks, 1);
    assert_int_equal(last_res.records, 6);
    buf_free(&b);
    repo_close(&r);
    tu_rmrf(dir);
}

/* A record that cannot be read (here an I/O error: a link to /proc/self/mem, whose
 * first page is not mapped) is unreadable, not damaged. */
static void unreadable_record_is_not_called_damaged(void **state)
{
    (void)state;
    char *dir, path[PATH_MAX], moved[PATH_MAX + 4];
    repo *r = setup(&dir);
    record_path(dir, 2, path, sizeof path);
    snprintf(moved, sizeof moved, "%s.x", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(symlink("/proc/self/mem", path), 0);
    problems p;
    verify(r, &p);
    assert_int_equal(last_res.unreadable, 1);
    assert_int_equal(last_res.damaged, 0);
    assert_non_null(strstr(p.last, "unreadable"));
    repo_close(&r);
    tu_rmrf(dir);
}

/* The state the trail says is in force: saved minus forgotten, held minus released. */
static void state_follows_backup_forget_hold_release(void **state)
{
    (void)state;
    char *dir;
    repo *r = setup(&dir);
    const char *a = "aa00000000000000000000000000000000000000000000000000000000000000",
               *b = "bb00000000000000000000000000000000000000000000000000000000000000";
    append(r, "backup", 0, a);
    append(r, "backup", 3, b); /* partial: saved all the same */
    append(r, "hold", 0, a);
    append(r, "hold", 19, b); /* failed: no hold */
    append(r, "forget", 0, b);
    audit_state st;
    assert_int_equal(audit_state_load(r, &st), 0);
    assert_int_equal(st.nsaved, 1);
    assert_int_equal(st.saved[0].id[0], 0xaa);
    assert_int_equal(st.nholds, 1);
    assert_int_equal(st.holds[0].seq, 7);
    assert_int_equal(st.incomplete, 0);
    audit_state_free(&st);
    append(r, "release", 0, a);
    assert_int_equal(audit_state_load(r, &st), 0);
    assert_int_equal(st.nholds, 0);
    audit_state_free(&st);
    repo_close(&r);
    tu_rmrf(dir);
}

static void intact_chain_verifies(void **state)
{
    (void)state;
    char *dir;
    repo *r = setup(&dir);
    problems p;
    assert_int_equal(verify(r, &p), 4);
    assert_int_equal(p.n, 0);
    audit_record *list;
    size_t n;
    assert_int_equal(audit_list(r, &list, &n), 0);
    assert_int_equal(n, 4);
    assert_non_null(strstr(list[3].json, "\"command\":\"backup\""));
    assert_non_null(strstr(list[3].json, "\"seq\":4"));
    audit_records_free(&list, n);
    repo_close(&r);
    tu_rmrf(dir);
}

static void deleted_record_is_named(void **state)
{
    (void)state;
    char *dir;
    repo *r = setup(&dir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/repo/audit/0000000000000002%048d", dir, 0);
    assert_int_equal(unlink(path), 0);
    problems p;
    verify(r, &p);
    assert_true(p.n >= 1);
    assert_non_null(strstr(p.last, "2 to 2 are missing"));
    repo_close(&r);
    tu_rmrf(dir);
}

static void swapped_records_are_caught(void **state)
{
    (void)state;
    char *dir;
    repo *r = setup(&dir);
    char a[PATH_MAX], b[PATH_MAX], t[PATH_MAX];
    snprintf(a, sizeof a, "%s/repo/audit/0000000000000002%048d", dir, 0);
    snprintf(b, sizeof b, "%s/repo/audit/0000000000000003%048d", dir, 0);
    snprintf(t, sizeof t, "%s.x", a);
    assert_int_equal(rename(a, t), 0);
    assert_int_equal(rename(b, a), 0);
    assert_int_equal(rename(t, b), 0);
    problems p;
    verify(r, &p);
    assert_true(p.n >= 2); /* both moved records fail to authenticate under their new names */
    repo_close(&r);
    tu_rmrf(dir);
}

static void edited_local_copy_is_caught(void **state)
{
    (void)state;
    char *dir;
    repo *r = setup(&dir);
    char path[PATH_MAX];
    assert_int_equal(audit_local_path(r, path, sizeof path), 0);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(fs_read_file(path, &b, 1 << 20), 0);
    char *hit = memmem(b.data, b.len, "/srv", 4);
    assert_non_null(hit);
    hit[1] = 'X'; /* "/Xrv" */
    assert_int_equal(fs_write_durable(path, b.data, b.len, 0600, 0), 0);
    problems p;
    verify(r, &p);
    assert_int_equal(p.n, 1);
    assert_non_null(strstr(p.last, "edited"));
    buf_free(&b);
    repo_close(&r);
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intact_chain_verifies),
        cmocka_unit_test(deleted_record_is_named),
        cmocka_unit_test(swapped_records_are_caught),
        cmocka_unit_test(edited_local_copy_is_caught),
        cmocka_unit_test(damaged_newest_record_does_not_stop_the_trail),
        cmocka_unit_test(unreadable_record_is_not_called_damaged),
        cmocka_unit_test(state_follows_backup_forget_hold_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
