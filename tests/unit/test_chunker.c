/* Unit tests: content-defined chunking. */
#include "testutil.h"

#include "repo/chunker.h"

#define MIN 2048
#define AVG 8192
#define MAX 65536

static uint8_t *random_data(size_t n, unsigned seed)
{
    uint8_t *d = malloc(n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d[i] = (uint8_t)x;
    }
    return d;
}

/* Cuts all of data; returns the number of chunks, positions in cuts. */
static size_t cut_all(const chunker *c, const uint8_t *d, size_t n, size_t *cuts, size_t cap)
{
    size_t pos = 0, k = 0;
    while (pos < n && k < cap) {
        size_t len = chunker_cut(c, d + pos, n - pos);
        assert_true(len > 0);
        pos += len;
        cuts[k++] = pos;
    }
    return k;
}

static void sizes_stay_in_bounds(void **state)
{
    (void)state;
    uint8_t secret[32] = {1};
    chunker c;
    chunker_init(&c, secret, MIN, AVG, MAX);
    size_t n = 4 << 20, cuts[4096];
    uint8_t *d = random_data(n, 1);
    size_t k = cut_all(&c, d, n, cuts, 4096), prev = 0;
    assert_int_equal(cuts[k - 1], n);
    for (size_t i = 0; i < k; i++) {
        size_t len = cuts[i] - prev;
        assert_true(len <= MAX);
        if (i + 1 < k)
            assert_true(len > MIN);
        prev = cuts[i];
    }
    /* average near the target: within a factor of two */
    double avg = (double)n / (double)k;
    assert_true(avg > AVG / 2 && avg < AVG * 2);
    free(d);
}

static void boundaries_survive_an_insertion(void **state)
{
    (void)state;
    uint8_t secret[32] = {2};
    chunker c;
    chunker_init(&c, secret, MIN, AVG, MAX);
    size_t n = 2 << 20, a[2048], b[2048];
    uint8_t *d = random_data(n + 1, 2), *e = malloc(n + 1);
    e[0] = 0x55; /* one byte inserted at the front */
    memcpy(e + 1, d, n);
    size_t ka = cut_all(&c, d, n, a, 2048), kb = cut_all(&c, e, n + 1, b, 2048), same = 0;
    for (size_t i = 0, j = 0; i < ka && j < kb;) {
        if (a[i] + 1 == b[j]) {
            same++;
            i++;
            j++;
        } else if (a[i] + 1 < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    assert_true(same * 10 >= ka * 9); /* at least 90% of boundaries realign */
    free(d);
    free(e);
}

static void secret_changes_boundaries(void **state)
{
    (void)state;
    uint8_t s1[32] = {1}, s2[32] = {2};
    chunker c1, c2;
    chunker_init(&c1, s1, MIN, AVG, MAX);
    chunker_init(&c2, s2, MIN, AVG, MAX);
    uint8_t *d = random_data(1 << 20, 3);
    size_t a[1024], b[1024];
    size_t ka = cut_all(&c1, d, 1 << 20, a, 1024), kb = cut_all(&c2, d, 1 << 20, b, 1024);
    assert_true(ka != kb || memcmp(a, b, ka * sizeof *a) != 0);
    /* and the same secret gives the same cuts */
    size_t c[1024];
    assert_int_equal(cut_all(&c1, d, 1 << 20, c, 1024), ka);
    assert_memory_equal(a, c, ka * sizeof *a);
    free(d);
}

static void short_and_constant_input(void **state)
{
    (void)state;
    uint8_t secret[32] = {1};
    chunker c;
    chunker_init(&c, secret, MIN, AVG, MAX);
    uint8_t zeros[MAX * 2] = {0};
    assert_int_equal(chunker_cut(&c, zeros, 10), 10);
    assert_int_equal(chunker_cut(&c, zeros, MIN), MIN);
    size_t l = chunker_cut(&c, zeros, sizeof zeros);
    assert_true(l > MIN && l <= MAX);
}

/* Feeding data in odd-sized blocks must give exactly the cuts of a one-shot scan. */
static void incremental_scan_matches(void **state)
{
    (void)state;
    uint8_t secret[32] = {4};
    chunker c;
    chunker_init(&c, secret, MIN, AVG, MAX);
    size_t n = 3 << 20, want[2048], k = 0;
    uint8_t *d = random_data(n, 9);
    size_t nw = cut_all(&c, d, n, want, 2048);
    size_t start = 0, have = 0;
    chunker_state st = {0, 0};
    while (start < n) {
        size_t more = 1 + (k * 7919 + 13) % 40000; /* irregular block sizes */
        have = have + more > n - start ? n - start : have + more;
        size_t cut = chunker_scan(&c, d + start, have, start + have == n, &st);
        if (!cut)
            continue;
        assert_true(k < nw);
        assert_int_equal(start + cut, want[k]);
        k++;
        start += cut;
        have -= cut;
        st = (chunker_state){0, 0};
    }
    assert_int_equal(k, nw);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_stay_in_bounds),
        cmocka_unit_test(boundaries_survive_an_insertion),
        cmocka_unit_test(secret_changes_boundaries),
        cmocka_unit_test(short_and_constant_input),
        cmocka_unit_test(incremental_scan_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
