/* Unit tests: repository open/unlock, blob write path, damage detection. */
#include "testutil.h"

#include "core/fsutil.h"
#include "store/store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "repo/repo.h"

static repo_options fast_options(void)
{
    repo_options o;
    repo_options_default(&o);
    o.kdf = (crypto_kdf_params){.t_cost = 1, .m_kib = 64, .lanes = 1};
    o.pack_size = 4096; /* several packs from little data */
    return o;
}

static repo *make_repo(const char *dir)
{
    repo_options o = fast_options();
    repo *r;
    assert_int_equal(repo_init(dir, "pw", 2, KEYSLOT_PASSPHRASE, &o, &r), 0);
    return r;
}

static void save_blobs(repo *r, int n, uint8_t ids[][32])
{
    for (int i = 0; i < n; i++) {
        char data[3000];
        memset(data, 'a' + i, sizeof data);
        data[0] = (char)i;
        int added;
        repo_blob_id(r, data, sizeof data, ids[i]);
        assert_int_equal(repo_blob_save(r, BLOB_DATA, data, sizeof data, ids[i], &added), 0);
        assert_true(added);
        assert_int_equal(repo_blob_save(r, BLOB_DATA, data, sizeof data, ids[i], &added), 0);
        assert_false(added); /* deduplicated even before it is written */
    }
    assert_int_equal(repo_flush(r), 0);
}

/* dir's repository opened again, unlocked, its index loaded. */
static repo *reopen(const char *dir)
{
    repo *r;
    assert_int_equal(repo_open(dir, &r), 0);
    assert_int_equal(repo_unlock(r, "pw", 2, KEYSLOT_PASSPHRASE), 0);
    assert_int_equal(repo_index_load(r), 0);
    return r;
}

static void write_reopen_read(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    repo *r = make_repo(dir);
    uint8_t ids[8][32];
    save_blobs(r, 8, ids);
    repo_close(&r);
    assert_int_equal(repo_open(dir, &r), 0);
    assert_int_equal(repo_unlock(r, "wrong", 5, KEYSLOT_PASSPHRASE), ERR_PASSWORD);
    assert_int_equal(repo_unlock(r, "pw", 2, KEYSLOT_PASSPHRASE), 0);
    assert_int_equal(repo_index_load(r), 0);
    assert_int_equal(idx_count(repo_index(r)), 8);
    buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(repo_blob_load(r, BLOB_DATA, ids[i], &b, 1), 0);
        assert_int_equal(b.len, 3000);
        assert_int_equal(b.data[1], 'a' + i);
    }
    assert_int_equal(repo_blob_load(r, BLOB_TREE, ids[0], &b, 0), ERR_DAMAGED); /* not a tree */
    buf_free(&b);
    repo_close(&r);
    tu_rmrf(dir);
}

/* Restore reads runs of blobs with one pack read: a blob's location, a range that
 * holds several, each opened from inside it; and the refusals (not indexed, a pack
 * number the index does not know, a range past the pack's end). */
static void blobs_opened_from_one_pack_range(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    repo *r = make_repo(dir);
    uint8_t ids[8][32];
    save_blobs(r, 8, ids);
    repo_close(&r);
    r = reopen(dir);
    repo_blob_loc a, b; /* two blobs of one pack (8 small blobs, 4 KiB packs) */
    int ia = -1, ib = -1;
    for (int i = 0; i < 8 && ib < 0; i++)
        for (int k = i + 1; k < 8 && ib < 0; k++) {
            assert_int_equal(repo_blob_locate(r, BLOB_DATA, ids[i], &a), 0);
            assert_int_equal(repo_blob_locate(r, BLOB_DATA, ids[k], &b), 0);
            if (a.pack == b.pack)
                ia = i, ib = k;
        }
    assert_true(ib >= 0);
    assert_true(a.length > 0 && a.raw_len == 3000);
    buf range, out;
    buf_init(&range, 0);
    buf_init(&out, 0);
    { /* both in one read */
        uint32_t lo = a.offset < b.offset ? a.offset : b.offset;
        uint32_t hi = a.offset + a.length > b.offset + b.length ? a.offset + a.length : b.offset + b.length;
        /* read to be used once (its cache pages let go after), then again: the same bytes */
        assert_int_equal(repo_pack_read(r, a.pack, lo, hi - lo, &range, 1), 0);
        assert_int_equal(range.len, hi - lo);
        assert_int_equal(repo_pack_read(r, a.pack, lo, hi - lo, &out, 0), 0);
        assert_int_equal(out.len, hi - lo);
        assert_memory_equal(out.data, range.data, range.len);
        blob_reader br;
        blob_reader_init(&br);
        assert_int_equal(repo_blob_decode(r, &br, BLOB_DATA, ids[ib], range.data + (b.offset - lo), b.length, b.raw_len,
                                          &out, 1), 0);
        assert_int_equal(out.data[1], 'a' + ib);
        assert_int_equal(repo_blob_decode(r, &br, BLOB_DATA, ids[ia], range.data + (a.offset - lo), a.length, a.raw_len,
                                          &out, 1), 0);
        assert_int_equal(out.data[1], 'a' + ia);
        /* the other blob's bytes under this id: authentication fails */
        assert_int_equal(repo_blob_decode(r, &br, BLOB_DATA, ids[ib], range.data + (a.offset - lo), a.length, a.raw_len,
                                          &out, 0), ERR_DAMAGED);
        blob_reader_free(&br);
    }
    uint8_t unknown[32] = {1, 2, 3};
    assert_int_equal(repo_blob_locate(r, BLOB_DATA, unknown, &a), ERR_DAMAGED);
    assert_non_null(strstr(err_msg(), "not in the index"));
    assert_int_equal(repo_pack_read(r, 1u << 30, 0, 16, &range, 1), ERR_DAMAGED);
    assert_int_equal(repo_pack_read(r, b.pack, (uint64_t)b.offset + (1u << 20), 16, &range, 0), ERR_DAMAGED);
    assert_int_equal(repo_pack_read(r, b.pack, (uint64_t)b.offset + (1u << 20), 16, &range, 1), ERR_DAMAGED);
    buf_free(&range);
    buf_free(&out);
    repo_close(&r);
    tu_rmrf(dir);
}

static void refuses_what_is_not_a_repository(void **state)
{
    (void)state;
    repo *r;
    assert_int_equal(repo_open("/nonexistent/lifeline-repo", &r), ERR_NOREPO);
    char *dir = tu_tempdir();
    assert_int_equal(repo_open(dir, &r), ERR_NOREPO);
    assert_non_null(strstr(err_msg(), "not a lifeline repository"));
    r = make_repo(dir);
    repo_close(&r);
    repo_options o = fast_options();
    assert_int_not_equal(repo_init(dir, "pw", 2, KEYSLOT_PASSPHRASE, &o, &r), 0); /* no second init */
    tu_rmrf(dir);
}

static void replace_in_file(const char *path, const char *from, const char *to)
{
    buf b;
    buf_init(&b, 0);
    assert_int_equal(fs_read_file(path, &b, 1 << 20), 0);
    b.data[b.len] = 0;
    char *p = strstr((char *)b.data, from);
    assert_non_null(p);
    char out[8192];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(p - (char *)b.data), (char *)b.data, to, p + strlen(from));
    assert_int_equal(fs_write_durable(path, out, strlen(out), 0600, 0), 0);
    buf_free(&b);
}

static void config_version_and_mac(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), cfg[512];
    repo *r = make_repo(dir);
    repo_close(&r);
    snprintf(cfg, sizeof cfg, "%s/config", dir);
    replace_in_file(cfg, "\"zstd_level\":3", "\"zstd_level\":4");
    assert_int_equal(repo_open(dir, &r), 0);
    assert_int_equal(repo_unlock(r, "pw", 2, KEYSLOT_PASSPHRASE), ERR_DAMAGED); /* edited config */
    repo_close(&r);
    replace_in_file(cfg, "\"version\":1", "\"version\":2");
    assert_int_equal(repo_open(dir, &r), ERR_VERSION);
    assert_non_null(strstr(err_msg(), "version 2"));
    tu_rmrf(dir);
}

typedef struct first_pack {
    char name[256];
} first_pack;

static int take_first(const char *name, uint64_t size, void *ctx)
{
    (void)size;
    snprintf(((first_pack *)ctx)->name, 256, "%s", name);
    return 1;
}

static void flipped_byte_in_a_pack_is_caught(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    repo *r = make_repo(dir);
    uint8_t ids[4][32];
    save_blobs(r, 4, ids);
    first_pack fp = {""};
    assert_int_equal(store_list(repo_store(r), "data", take_first, &fp), 1);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, fp.name);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(fs_read_file(path, &b, 1 << 20), 0);
    b.data[40] ^= 1; /* inside the first blob */
    assert_int_equal(fs_write_durable(path, b.data, b.len, 0600, 0), 0);
    int damaged = 0;
    for (int i = 0; i < 4; i++)
        damaged += repo_blob_load(r, BLOB_DATA, ids[i], &b, 1) == ERR_DAMAGED;
    assert_int_equal(damaged, 1);
    buf_free(&b);
    repo_close(&r);
    tu_rmrf(dir);
}

/* A tree can exceed any chunk (a folder with a million entries): it must still fit. */
static void blob_larger_than_a_chunk(void **state)
{
    (void)state;
    char *dir = tu_tempdir();
    repo_options o = fast_options();
    o.chunk_min = 1024;
    o.chunk_avg = 4096;
    o.chunk_max = 16384;
    repo *r;
    assert_int_equal(repo_init(dir, "pw", 2, KEYSLOT_PASSPHRASE, &o, &r), 0);
    size_t n = 300000;
    uint8_t *big = malloc(n), id[32];
    assert_int_equal(crypto_random(big, n), 0); /* incompressible: stored at full size */
    int added;
    repo_blob_id(r, big, n, id);
    assert_int_equal(repo_blob_save(r, BLOB_TREE, big, n, id, &added), 0);
    assert_int_equal(repo_flush(r), 0);
    buf b;
    buf_init(&b, 0);
    assert_int_equal(repo_blob_load(r, BLOB_TREE, id, &b, 1), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, big, n);
    buf_free(&b);
    free(big);
    repo_close(&r);
    tu_rmrf(dir);
}

/* Pages of path in the page cache (mincore). */
static size_t cached_pages(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    close(fd);
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)st.st_size + pg - 1) / pg, c = 0;
    unsigned char *vec = malloc(n);
    assert_int_equal(mincore(m, (size_t)st.st_size, vec), 0);
    for (size_t i = 0; i < n; i++)
        c += vec[i] & 1;
    free(vec);
    munmap(m, (size_t)st.st_size);
    return c;
}

/* A file of len bytes, written, made durable (clean pages can be let go) and read
 * into the page cache. */
static void cached_file(const char *path, size_t len)
{
    char *data = malloc(len);
    memset(data, 'x', len);
    assert_int_equal(fs_write_durable(path, data, len, 0600, 0), 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(pread(fd, data, len, 0), (ssize_t)len);
    close(fd);
    free(data);
}

/* Ranges read with STORE_ONCE leave the page cache: each as it is read, and what their
 * edges leave (a page, or a large folio, that two ranges share) once the pack's
 * descriptor is closed, whether the cache of descriptors evicts it or the store is
 * closed. */
static void ranges_read_once_leave_the_page_cache(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), p[600], name[64];
    enum { FILES = 20, LEN = 1 << 20, CUT = 300001 }; /* more files than cached descriptors */
    snprintf(p, sizeof p, "%s/probe", dir);
    cached_file(p, LEN);
    int fd = open(p, O_RDONLY);
    posix_fadvise(fd, 0, LEN, POSIX_FADV_DONTNEED);
    close(fd);
    if (cached_pages(p) > 0) { /* tmpfs keeps every page: nothing to measure */
        tu_rmrf(dir);
        skip();
    }
    store *s;
    assert_int_equal(store_posix_open(dir, 1, &s), 0);
    snprintf(p, sizeof p, "%s/data/00", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    for (int i = 0; i < FILES; i++) {
        snprintf(p, sizeof p, "%s/data/00/f%02d", dir, i);
        cached_file(p, LEN);
    }
    buf b;
    buf_init(&b, 0);
    for (int i = 0; i < FILES; i++) {
        snprintf(name, sizeof name, "data/00/f%02d", i);
        assert_int_equal(store_get_range(s, name, 0, CUT, &b, STORE_ONCE), 0);
        assert_int_equal(store_get_range(s, name, CUT, LEN - CUT, &b, STORE_ONCE), 0);
        assert_int_equal(b.len, LEN - CUT);
    }
    buf_free(&b);
    snprintf(p, sizeof p, "%s/data/00/f%02d", dir, 0); /* evicted by the later ones */
    assert_int_equal(cached_pages(p), 0);
    store_free(&s);
    for (int i = 0; i < FILES; i++) {
        snprintf(p, sizeof p, "%s/data/00/f%02d", dir, i);
        assert_int_equal(cached_pages(p), 0);
    }
    tu_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_reopen_read),
        cmocka_unit_test(blobs_opened_from_one_pack_range),
        cmocka_unit_test(refuses_what_is_not_a_repository),
        cmocka_unit_test(config_version_and_mac),
        cmocka_unit_test(flipped_byte_in_a_pack_is_caught),
        cmocka_unit_test(blob_larger_than_a_chunk),
        cmocka_unit_test(ranges_read_once_leave_the_page_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
