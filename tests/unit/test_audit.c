/* Unit tests: the hash-chained audit trail. */
#define _GNU_SOURCE
#include "testutil.h"

#include <limits.h>

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

static int verify(repo *r, problems *p)
{
    uint64_t records;
    int n;
    memset(p, 0, sizeof *p);
    assert_int_equal(audit_verify(r, on_problem, p, &records, &n), 0);
    assert_int_equal(n, p->n);
    return (int)records;
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
