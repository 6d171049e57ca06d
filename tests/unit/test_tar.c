/* Unit tests: the tar push parser — entries and data whatever the feed sizes, long
 * names (GNU and pax), base-256 sizes, and refusal of damaged or unsafe input. */
#include "testutil.h"

#include "source/tar.h"

typedef struct rec {
    char log[8192];
    size_t len;
} rec;

static int on_entry(void *ctx, const tar_entry *e)
{
    rec *r = ctx;
    r->len += (size_t)snprintf(r->log + r->len, sizeof r->log - r->len, "[%c %s %o %u %llu %s]", e->type, e->path,
                               e->mode, e->uid, (unsigned long long)e->size, e->link);
    return 0;
}

static int on_data(void *ctx, const uint8_t *p, size_t len)
{
    rec *r = ctx;
    if (r->len + len < sizeof r->log) {
        memcpy(r->log + r->len, p, len);
        r->len += len;
    }
    return 0;
}

static int on_end(void *ctx)
{
    rec *r = ctx;
    r->log[r->len++] = '|';
    return 0;
}

/* A ustar header with a valid checksum. */
static void header(uint8_t *h, const char *name, char type, uint64_t size, const char *link)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0640);
    snprintf((char *)h + 108, 8, "%07o", 26);
    snprintf((char *)h + 116, 8, "%07o", 27);
    if (size >> 33) { /* base-256 */
        h[124] = 0x80;
        for (int i = 0; i < 8; i++)
            h[135 - i] = (uint8_t)(size >> (8 * i));
    } else {
        snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    }
    snprintf((char *)h + 136, 12, "%011o", 1700000000);
    h[156] = (uint8_t)type;
    if (link)
        snprintf((char *)h + 157, 100, "%s", link);
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

/* Appends an entry (header, data, padding) to out. */
static size_t put(uint8_t *out, const char *name, char type, const char *data, const char *link)
{
    size_t len = data ? strlen(data) : 0, pad = (512 - len % 512) % 512;
    header(out, name, type, len, link);
    memcpy(out + 512, data ? data : "", len);
    memset(out + 512 + len, 0, pad);
    return 512 + len + pad;
}

static size_t sample(uint8_t *out)
{
    size_t n = 0;
    n += put(out + n, "./", '5', NULL, NULL);
    n += put(out + n, "./base/", '5', NULL, NULL);
    n += put(out + n, "./base/1", '0', "hello tar", NULL);
    n += put(out + n, "pg_tblspc/16384", '2', NULL, "/srv/ts");
    n += put(out + n, "empty", '0', "", NULL);
    return n;
}

static int parse(const uint8_t *p, size_t n, size_t step, rec *r)
{
    tar_callbacks cb = {on_entry, on_data, on_end, r};
    tar_parser *tp;
    memset(r, 0, sizeof *r);
    assert_int_equal(tar_parser_new(&cb, &tp), 0);
    int rc = 0;
    for (size_t o = 0; !rc && o < n; o += step)
        rc = tar_parser_feed(tp, p + o, n - o < step ? n - o : step);
    if (!rc)
        rc = tar_parser_finish(tp);
    tar_parser_free(&tp);
    r->log[r->len] = '\0';
    return rc;
}

static void entries_whatever_the_feed(void **state)
{
    (void)state;
    static uint8_t t[16384];
    size_t n = sample(t);
    rec whole, r;
    assert_int_equal(parse(t, n, n, &whole), 0); /* "./" names the root: no entry */
    assert_string_equal(whole.log, "[5 base 640 26 0 ]|[0 base/1 640 26 9 ]hello tar|[2 pg_tblspc/16384 640 26 0 /srv/ts]|"
                                   "[0 empty 640 26 0 ]|");
    size_t steps[] = {1, 7, 511, 512, 513, 4096};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        assert_int_equal(parse(t, n, steps[i], &r), 0);
        assert_string_equal(r.log, whole.log);
    }
    memset(t + n, 0, 1024); /* the end-of-archive blocks are accepted too */
    assert_int_equal(parse(t, n + 1024, 100, &r), 0);
    assert_string_equal(r.log, whole.log);
}

static void long_names(void **state)
{
    (void)state;
    static uint8_t t[16384];
    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = '\0';
    longname[100] = '/';
    size_t n = put(t, "././@LongLink", 'L', longname, NULL);
    n += put(t + n, "short", '0', "x", NULL);
    /* pax: "<len> path=<value>\n" */
    char pax[64];
    snprintf(pax, sizeof pax, "%d path=pax/name\n", 17);
    n += put(t + n, "PaxHeader", 'x', pax, NULL);
    n += put(t + n, "ignored", '0', "yz", NULL);
    rec r;
    assert_int_equal(parse(t, n, 33, &r), 0);
    char want[1024];
    snprintf(want, sizeof want, "[0 %s 640 26 1 ]x|[0 pax/name 640 26 2 ]yz|", longname);
    assert_string_equal(r.log, want);
}

static void damage_is_refused(void **state)
{
    (void)state;
    static uint8_t t[8192];
    rec r;
    size_t n = put(t, "a", '0', "data", NULL);
    t[10] ^= 1; /* checksum no longer matches */
    assert_int_equal(parse(t, n, n, &r), ERR_DAMAGED);
    n = put(t, "a", '0', "data", NULL);
    assert_int_equal(parse(t, n - 600, n, &r), ERR_DAMAGED); /* cut inside the header */
    assert_int_equal(parse(t, 514, n, &r), ERR_DAMAGED);     /* cut inside the data */
    n = put(t, "../etc/passwd", '0', "x", NULL);
    assert_int_equal(parse(t, n, n, &r), ERR_DAMAGED);
    n = put(t, "a/../../b", '0', "x", NULL);
    assert_int_equal(parse(t, n, n, &r), ERR_DAMAGED);
    n = put(t, "./", '0', "x", NULL); /* the root as a file */
    assert_int_equal(parse(t, n, n, &r), ERR_DAMAGED);
    n = put(t, "a", 'Z', NULL, NULL);
    assert_int_equal(parse(t, n, n, &r), ERR_DAMAGED);
    n = put(t, "././@LongLink", 'L', "orphan", NULL);
    memset(t + n, 0, 1024);
    assert_int_equal(parse(t, n + 1024, n, &r), ERR_DAMAGED); /* long name with no entry */
    n = put(t, "a", '0', "x", NULL);
    memset(t + n, 0, 512);
    t[n + 512] = 1; /* data after the end marker */
    assert_int_equal(parse(t, n + 1024, n, &r), ERR_DAMAGED);
}

static void base256_size(void **state)
{
    (void)state;
    uint8_t h[512];
    header(h, "huge", '0', 1ull << 34, NULL);
    rec r;
    tar_callbacks cb = {on_entry, NULL, NULL, &r};
    tar_parser *tp;
    memset(&r, 0, sizeof r);
    assert_int_equal(tar_parser_new(&cb, &tp), 0);
    assert_int_equal(tar_parser_feed(tp, h, 512), 0);
    r.log[r.len] = '\0';
    assert_string_equal(r.log, "[0 huge 640 26 17179869184 ]");
    assert_int_equal(tar_parser_finish(tp), ERR_DAMAGED); /* 16 GiB promised, none came */
    tar_parser_free(&tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_whatever_the_feed),
        cmocka_unit_test(long_names),
        cmocka_unit_test(damage_is_refused),
        cmocka_unit_test(base256_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
