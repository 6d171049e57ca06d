/* Unit tests: names made safe for terminals, pipes (core/quote) and JSON (cli/jsonout). */
#include "testutil.h"

#include "cli/jsonout.h"
#include "core/quote.h"

static char *quoted(const char *s, quote_style st)
{
    static char out[1024];
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_non_null(f);
    quote_fput(f, s, st);
    fclose(f);
    return out;
}

static void utf8_validation(void **state)
{
    (void)state;
    const char *good[] = {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbd",
                          "\xf4\x8f\xbf\xbf"};
    const char *bad[] = {"\xff", "a\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "\xf8\x88\x80\x80\x80", "\xe2\x82"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(quote_utf8_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (quote_utf8_valid(bad[i]))
            fail_msg("bad UTF-8 #%zu accepted", i);
}

static void escape_style_for_pipes(void **state)
{
    (void)state;
    assert_string_equal(quoted("/a/plain name.txt", QUOTE_ESCAPE), "/a/plain name.txt");
    assert_string_equal(quoted("/a/nl\nforged", QUOTE_ESCAPE), "/a/nl\\nforged");
    assert_string_equal(quoted("/a/\033[31mred", QUOTE_ESCAPE), "/a/\\e[31mred");
    assert_string_equal(quoted("/a/back\\slash", QUOTE_ESCAPE), "/a/back\\\\slash");
    assert_string_equal(quoted("/a/\xff\xfe", QUOTE_ESCAPE), "/a/\\377\\376");
    assert_string_equal(quoted("/a/\x01\x7f", QUOTE_ESCAPE), "/a/\\001\\177");
    assert_string_equal(quoted("/a/c1\xc2\x9b", QUOTE_ESCAPE), "/a/c1\\302\\233"); /* U+009B, a CSI */
    assert_string_equal(quoted("/a/caf\xc3\xa9", QUOTE_ESCAPE), "/a/caf\xc3\xa9");
    /* messages: the same, but a backslash is left as it is */
    assert_string_equal(quoted("cannot read /a/nl\nx\\y\033", QUOTE_MESSAGE), "cannot read /a/nl\\nx\\y\\e");
}

static void shell_style_for_terminals(void **state)
{
    (void)state;
    assert_string_equal(quoted("/a/plain.txt", QUOTE_SHELL), "/a/plain.txt");
    assert_string_equal(quoted("/a/b c", QUOTE_SHELL), "'/a/b c'");
    assert_string_equal(quoted("/a/nl\nforged", QUOTE_SHELL), "'/a/nl'$'\\n''forged'");
    assert_string_equal(quoted("/a/\xff\xfe", QUOTE_SHELL), "'/a/'$'\\377\\376'");
    assert_string_equal(quoted("\033x", QUOTE_SHELL), "$'\\e''x'");
    assert_string_equal(quoted("/a/it's", QUOTE_SHELL), "'/a/it'\\''s'");
    assert_string_equal(quoted("'", QUOTE_SHELL), "\\'");
    assert_string_equal(quoted("/a/$HOME", QUOTE_SHELL), "'/a/$HOME'");
    assert_string_equal(quoted("/a/caf\xc3\xa9", QUOTE_SHELL), "/a/caf\xc3\xa9");
}

static void quote_into_a_buffer(void **state)
{
    (void)state;
    char b[8];
    assert_string_equal(quote_buf("h\nx", QUOTE_MESSAGE, b, sizeof b), "h\\nx");
    assert_string_equal(quote_buf("0123456789", QUOTE_ESCAPE, b, sizeof b), "0123456"); /* cut, terminated */
    assert_string_equal(quote_buf("a b", QUOTE_SHELL, b, sizeof b), "'a b'");
}

static void json_always_valid_and_lossless(void **state)
{
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", "/a/b\xff" "c");
    cJSON_AddStringToObject(o, "ok", "/a/caf\xc3\xa9");
    cJSON *arr = cJSON_AddArrayToObject(o, "paths");
    cJSON_AddItemToArray(arr, cJSON_CreateString("fine"));
    cJSON_AddItemToArray(arr, cJSON_CreateString("\xfe"));
    cJSON *inner = cJSON_CreateObject();
    cJSON_AddStringToObject(inner, "link", "\x80x");
    cJSON_AddItemToObject(o, "node", inner);
    assert_int_equal(jsonout_make_safe(o), 0);
    char *s = cJSON_PrintUnformatted(o);
    assert_string_equal(s, "{\"path\":\"/a/b\xef\xbf\xbd" "c\",\"ok\":\"/a/caf\xc3\xa9\",\"paths\":[\"fine\",\"\xef\xbf\xbd\"],"
                           "\"node\":{\"link\":\"\xef\xbf\xbdx\",\"link_raw\":\"gHg=\"},"
                           "\"path_raw\":\"L2EvYv9j\",\"paths_raw\":[null,\"/g==\"]}");
    assert_true(quote_utf8_valid(s));
    cJSON_free(s);
    cJSON_Delete(o);
    /* a bare string and NULL */
    cJSON *str = cJSON_CreateString("\xc0\xaf");
    assert_int_equal(jsonout_make_safe(str), 0);
    assert_string_equal(str->valuestring, "\xef\xbf\xbd\xef\xbf\xbd");
    cJSON_Delete(str);
    assert_int_equal(jsonout_make_safe(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_validation),
        cmocka_unit_test(escape_style_for_pipes),
        cmocka_unit_test(shell_style_for_terminals),
        cmocka_unit_test(quote_into_a_buffer),
        cmocka_unit_test(json_always_valid_and_lossless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
