/* Unit tests: include/exclude patterns (restic's rules, see pattern.h). */
#include "testutil.h"

#include "core/err.h"
#include "core/pattern.h"

/* the API takes argv-style lists */
#define PATS(a) ((char *const *)(a))

typedef struct row {
    const char *pattern, *path;
    int want;
} row;

/* Each rule of pattern.h, with the paths on both sides of it. */
static const row table[] = {
    /* a name without '/' matches a whole component at any depth */
    {"foo", "/foo", 1},
    {"foo", "/a/b/foo", 1},
    {"foo", "/a/foo/b/c", 1},      /* and everything below a matching folder */
    {"foo", "/a/foobar", 0},
    {"foo", "/a/barfoo", 0},
    {"*.log", "/p/src/a.log", 1},
    {"*.log", "/p/src/sub/keep.log", 1},
    {"*.log", "/p/a.log.txt", 0},
    {"*.log", "/p/x.log/inside", 1},
    {"?.c", "/p/a.c", 1},
    {"?.c", "/p/ab.c", 0},
    {"[ab].c", "/p/b.c", 1},
    {"[!ab].c", "/p/b.c", 0},
    {"[^ab].c", "/p/c.c", 1},
    {"\\*.c", "/p/*.c", 1},
    {"\\*.c", "/p/a.c", 0},
    {"\\!x", "/p/!x", 1}, /* an escaped '!' is a name, not a negation */
    {"*", "/anything/at/all", 1},
    {".*", "/home/u/.cache", 1}, /* a leading dot is not special */
    {"*", "/", 0},               /* the root itself is no name */
    /* '*' and '?' never cross '/' */
    {"/p/src/*.log", "/p/src/a.log", 1},
    {"/p/src/*.log", "/p/src/sub/keep.log", 0},
    {"/p/*/keep.log", "/p/src/sub/keep.log", 0},
    {"/p/s?c/a", "/p/s/c/a", 0},
    {"b*ash", "/bin/bash", 1},
    {"b*ash", "/bin/ash", 0},
    /* a leading '/' anchors at the root */
    {"/bin", "/bin/bash", 1},
    {"/bin", "/usr/bin/restic", 0},
    {"/bin", "/bin", 1},
    {"/bin", "/binary", 0},
    {"/", "/etc/passwd", 1},
    /* a relative pattern with '/' matches at any depth, whole components */
    {"src/*.log", "/p/src/a.log", 1},
    {"src/*.log", "/x/y/src/a.log", 1},
    {"src/*.log", "/p/src/sub/keep.log", 0},
    {"src/*.log", "/p/mysrc/a.log", 0},
    {"src/sub", "/p/src/sub/keep.log", 1},
    {"p/src", "/p/src/a.log", 1},
    /* "**" matches any number of folders, none included */
    {"foo/**/bar", "/dir1/foo/dir2/bar/file", 1},
    {"foo/**/bar", "/foo/bar/file", 1},
    {"foo/**/bar", "/tmp/foo/bar", 1},
    {"foo/**/bar", "/tmp/foo/a/b/c/bar", 1},
    {"foo/**/bar", "/tmp/foo/a/b/c/baz", 0},
    {"/p/**/*.log", "/p/src/sub/keep.log", 1},
    {"/p/**/*.log", "/p/a.log", 1},
    {"/p/**/*.log", "/q/p/a.log", 0},
    {"**/*.log", "/a.log", 1},
    {"/p/**", "/p/x/y", 1},
    {"/p/**", "/p", 1},
    {"/p/**", "/q", 0},
    {"a**b", "/x/aZZb", 1}, /* "**" inside a part is two '*' */
    {"a**b", "/x/a/b", 0},
    /* cleaned first: trailing '/', "//", "." and ".." */
    {"src/", "/p/src", 1},
    {"src/", "/p/src/a.c", 1},
    {"src/", "/p/src.c", 0},
    {"/p/src/", "/p/src/a.c", 1},
    {"/p//src", "/p/src/a.c", 1},
    {"/p/./src", "/p/src/a.c", 1},
    {"/p/x/../src", "/p/src/a.c", 1},
    {"/../p", "/p/a", 1},
    {"a/../b", "/x/b", 1},
    /* literal names with spaces and odd bytes */
    {"name with spaces", "/d/name with spaces", 1},
    {"\xff\xfe", "/d/\xff\xfe", 1},
    {"caf\xc3\xa9", "/d/cafe", 0},
};

static void rules_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        int got = pattern_match(table[i].pattern, table[i].path);
        if (got != table[i].want)
            fail_msg("pattern '%s' against '%s': got %d, want %d", table[i].pattern, table[i].path, got,
                     table[i].want);
    }
}

static void negation_last_word_wins(void **state)
{
    (void)state;
    const char *pats[] = {"/home/u/*", "!/home/u/Documents", "!/home/u/code", "*.o"};
    pattern_list *l;
    assert_int_equal(pattern_list_new(PATS(pats), 4, "--exclude", &l), 0);
    assert_true(pattern_list_match(l, "/home/u/Music"));
    assert_true(pattern_list_match(l, "/home/u/Music/a.mp3"));
    assert_false(pattern_list_match(l, "/home/u/Documents"));
    assert_false(pattern_list_match(l, "/home/u/Documents/cv.pdf"));
    assert_false(pattern_list_match(l, "/home/u/code/x.c"));
    assert_true(pattern_list_match(l, "/home/u/code/x.o")); /* a later positive pattern wins again */
    assert_false(pattern_list_match(l, "/home/v/Music"));
    pattern_list_free(&l);
    assert_null(l);
    /* a negation alone matches nothing */
    const char *neg[] = {"!foo"};
    assert_int_equal(pattern_list_new(PATS(neg), 1, "--exclude", &l), 0);
    assert_false(pattern_list_match(l, "/foo"));
    assert_false(pattern_list_match(l, "/bar"));
    pattern_list_free(&l);
}

static void bad_patterns_are_usage_errors(void **state)
{
    (void)state;
    const char *bad[] = {"", "!", "[abc", "/p/[", "a\\", ".", "a/..", "./"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *one[] = {bad[i]};
        pattern_list *l = (pattern_list *)1;
        if (pattern_list_new(PATS(one), 1, "--include", &l) != ERR_USAGE)
            fail_msg("pattern '%s' was accepted", bad[i]);
        assert_null(l);
        assert_non_null(strstr(err_msg(), "--include"));
        assert_int_equal(pattern_match(bad[i], "/x"), -1);
    }
    const char *ok[] = {"[]]", "[!]]x", "a\\*"};
    pattern_list *l;
    assert_int_equal(pattern_list_new(PATS(ok), 3, "--include", &l), 0);
    assert_true(pattern_list_match(l, "/d/]"));
    assert_true(pattern_list_match(l, "/d/ax"));
    assert_true(pattern_list_match(l, "/d/a*"));
    pattern_list_free(&l);
}

static void empty_list_and_hits(void **state)
{
    (void)state;
    pattern_list *l = (pattern_list *)1;
    assert_int_equal(pattern_list_new(NULL, 0, "--exclude", &l), 0);
    assert_null(l);
    assert_false(pattern_list_match(NULL, "/a"));
    assert_int_equal(pattern_list_warn_unmatched(NULL, "here"), 0);
    const char *pats[] = {"*.c", "/nowhere", "src/", "!x.c"};
    assert_int_equal(pattern_list_new(PATS(pats), 4, "--include", &l), 0);
    assert_true(pattern_list_match(l, "/p/src/a.c"));
    assert_false(pattern_list_match(l, "/p/src/x.c"));
    /* "/nowhere" matched nothing; the negation is never reported */
    assert_int_equal(pattern_list_warn_unmatched(l, "in the test"), 1);
    assert_string_equal(pattern_list_unmatched(l, 0), "/nowhere");
    assert_null(pattern_list_unmatched(l, 1));
    pattern_list_free(&l);
    /* deep paths and long patterns: no fixed limits that bite */
    char deep[8192] = "";
    for (int i = 0; i < 1000; i++)
        strcat(deep, "/d");
    strcat(deep, "/x.c");
    assert_int_equal(pattern_match("/d/**/d/x.c", deep), 1);
    assert_int_equal(pattern_match("d/d/d/x.c", deep), 1);
    assert_int_equal(pattern_match("/d/**/e/x.c", deep), 0);
    /* many "**" against a deep path that does not match: no backtracking blow-up */
    char many[4096] = "";
    for (int i = 0; i < 300; i++)
        strcat(many, "**/d/");
    strcat(many, "e/x.c");
    assert_int_equal(pattern_match(many, deep), 0);
    many[strlen(many) - 5] = '\0';
    strcat(many, "x.c");
    assert_int_equal(pattern_match(many, deep), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_table),
        cmocka_unit_test(negation_last_word_wins),
        cmocka_unit_test(bad_patterns_are_usage_errors),
        cmocka_unit_test(empty_list_and_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
