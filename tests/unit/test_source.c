/* Unit tests: what the sources share — LSNs and WAL names, the archive listing and
 * its gaps, streams chunked into blobs, trees built from out-of-order paths, and the
 * PostgreSQL meta record. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "repo/pack.h"
#include "repo/repo.h"
#include "repo/stream.h"
#include "repo/treebuild.h"
#include "repo/walk.h"
#include "source/files.h"
#include "source/pg.h"
#include "source/sparse.h"
#include "source/wal.h"

#define SEG (16u << 20)

static repo *make_repo(char **dir)
{
    repo_options o;
    repo_options_default(&o);
    o.kdf = (crypto_kdf_params){.t_cost = 1, .m_kib = 64, .lanes = 1};
    o.chunk_min = 1024, o.chunk_avg = 4096, o.chunk_max = 16384;
    *dir = tu_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/repo", *dir);
    repo *r;
    assert_int_equal(repo_init(path, "pw", 2, KEYSLOT_PASSPHRASE, &o, &r), 0);
    return r;
}

static void lsn_and_names(void **state)
{
    (void)state;
    uint64_t lsn, segno;
    uint32_t tli;
    char out[32], name[25];
    assert_int_equal(wal_lsn_parse("16/B374D848", &lsn), 0);
    assert_true(lsn == 0x16B374D848ull);
    wal_lsn_format(lsn, out);
    assert_string_equal(out, "16/B374D848");
    assert_int_equal(wal_lsn_parse("16/B374D848x", &lsn), ERR_USAGE);
    assert_int_equal(wal_lsn_parse("/1", &lsn), ERR_USAGE);
    assert_int_equal(wal_lsn_parse("", &lsn), ERR_USAGE);
    wal_seg_name(1, 0x16B374D848ull / SEG, SEG, name);
    assert_string_equal(name, "0000000100000016000000B3");
    assert_int_equal(wal_seg_parse(name, SEG, &tli, &segno), 0);
    assert_int_equal(tli, 1);
    assert_true(segno == 0x16B374D848ull / SEG);
    assert_int_equal(wal_seg_parse("000000010000001600000100", SEG, &tli, &segno), ERR_USAGE); /* seg > 0xFF */
    assert_int_equal(wal_seg_parse("0000000100000016000000b3", SEG, &tli, &segno), ERR_USAGE); /* lower case */
    /* 1 GiB segments: four per log id */
    wal_seg_name(2, 5, 1u << 30, name);
    assert_string_equal(name, "000000020000000100000001");
    assert_true(wal_segsize_valid(SEG) && !wal_segsize_valid(3u << 20) && !wal_segsize_valid(512 * 1024));
    err_clear();
}

/* A segment's first page: long header (magic, info, tli, pageaddr, rem_len, pad,
 * sysid, seg_size, blcksz), little-endian unless big. */
static void put_header(uint8_t *p, uint64_t pageaddr, uint64_t sysid, uint32_t segsize, int big)
{
    uint64_t v[] = {0xD110, 0x0007, 1, pageaddr, 0, 0, sysid, segsize, 8192};
    int w[] = {2, 2, 4, 8, 4, 4, 8, 4, 4};
    size_t off = 0;
    for (int f = 0; f < 9; f++) {
        for (int i = 0; i < w[f]; i++)
            p[off + (size_t)(big ? w[f] - 1 - i : i)] = (uint8_t)(v[f] >> (8 * i));
        off += (size_t)w[f];
    }
}

static void wal_header_checks(void **state)
{
    (void)state;
    uint8_t *seg = calloc(1, SEG);
    wal_header h;
    const char *why = NULL;
    const char *name = "000000010000000000000003";
    assert_non_null(seg);
    put_header(seg, 3 * (uint64_t)SEG, 7312345678901234567ull, SEG, 0);
    assert_int_equal(wal_header_check(name, seg, SEG, &h, &why), 0);
    assert_true(h.sysid == 7312345678901234567ull && h.seg_size == SEG && h.blcksz == 8192 && h.tli == 1);
    assert_int_equal(wal_header_check("000000010000000000000003.partial", seg, SEG, &h, &why), 0);
    put_header(seg, 3 * (uint64_t)SEG, 42, SEG, 1); /* a big-endian server's */
    assert_int_equal(wal_header_check(name, seg, SEG, &h, &why), 0);
    assert_true(h.sysid == 42);
    assert_int_equal(wal_header_check("000000010000000000000004", seg, SEG, &h, &why), -1); /* renamed */
    assert_string_equal(why, "it holds another segment than its name says");
    assert_int_equal(wal_header_check(name, seg, SEG - 1, &h, &why), -1); /* cut */
    assert_int_equal(wal_header_check(name, seg, 20, &h, &why), -1);
    put_header(seg, 3 * (uint64_t)SEG, 42, SEG, 0);
    seg[2] = 0; /* no long header */
    assert_int_equal(wal_header_check(name, seg, SEG, &h, &why), -1);
    assert_string_equal(why, "its first page has no WAL long header");
    memset(seg, 0, 64);
    assert_int_equal(wal_header_check(name, seg, SEG, &h, &why), -1);
    free(seg);
    err_clear();
}

static void archive_gaps_and_forget(void **state)
{
    (void)state;
    char *dir;
    repo *r = make_repo(&dir);
    const char *names[] = {"000000010000000000000001", "000000010000000000000002", "000000010000000000000004",
                           "000000020000000000000004", "000000020000000000000005", "00000002.history",
                           "000000010000000000000002.00000028.backup"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char on[128];
        snprintf(on, sizeof on, "wal/db/%s", names[i]);
        assert_int_equal(repo_named_save(r, OBJ_WAL, on, "x", 1, 1), 0);
    }
    wal_archive a;
    assert_int_equal(wal_archive_load(r, "db", SEG, 1, &a), 0);
    assert_int_equal(a.n, 5);
    assert_int_equal(a.others, 2);
    assert_true(a.segs[0].segno == 1 && a.segs[4].segno == 5 && a.segs[4].tli == 2 && a.segs[0].mtime > 0);
    assert_true(wal_archive_first_gap(&a, 1, 1, 5) == 3);
    assert_true(wal_archive_first_gap(&a, 1, 4, 5) == UINT64_MAX);
    assert_true(wal_archive_first_gap(&a, 2, 4, 5) == UINT64_MAX);
    assert_true(wal_archive_first_gap(&a, 2, 1, 2) == 1); /* an earlier timeline does not count */
    assert_true(wal_archive_has(&a, 1, 5) && !wal_archive_has(&a, 3, 5));
    assert_true(wal_archive_last(&a, 1) == 5 && wal_archive_last(&a, 3) == 0);
    wal_archive_free(&a);
    wal_forget_stats st;
    assert_int_equal(wal_archive_forget(r, "db", SEG, 4, 1, &st), 0); /* dry run */
    assert_true(st.files == 3 && st.first == 1 && st.last == 2 && st.bytes > 0);
    assert_string_equal(st.first_name, "000000010000000000000001");
    assert_string_equal(st.last_name, "000000010000000000000002");
    assert_int_equal(wal_archive_load(r, "db", SEG, 0, &a), 0);
    assert_int_equal(a.n, 5);
    wal_archive_free(&a);
    assert_int_equal(wal_archive_forget(r, "db", SEG, 4, 0, &st), 0);
    assert_true(st.files == 3);
    assert_int_equal(wal_archive_load(r, "db", SEG, 0, &a), 0);
    assert_int_equal(a.n, 3);
    assert_int_equal(a.others, 1); /* the .history file stays */
    wal_archive_free(&a);
    assert_int_equal(wal_archive_load(r, "../x", SEG, 0, &a), ERR_USAGE);
    err_clear();
    repo_close(&r);
    tu_rmrf(dir);
}

/* The same bytes give the same blobs whether they come whole or in pieces. */
static void stream_matches_whole(void **state)
{
    (void)state;
    char *dir;
    repo *r = make_repo(&dir);
    size_t len = 300000;
    uint8_t *data = malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    blob_stream *bs;
    assert_int_equal(blob_stream_new(r, &bs), 0);
    tree_node a = {0}, b = {0}, e = {0};
    assert_int_equal(blob_stream_write(bs, data, len), 0);
    assert_int_equal(blob_stream_end(bs, &a), 0);
    for (size_t o = 0; o < len; o += 777)
        assert_int_equal(blob_stream_write(bs, data + o, len - o < 777 ? len - o : 777), 0);
    assert_int_equal(blob_stream_end(bs, &b), 0);
    assert_int_equal(blob_stream_end(bs, &e), 0); /* an empty file */
    assert_true(a.size == len && b.size == len && e.size == 0 && e.ncontent == 0);
    assert_true(a.ncontent > 10 && a.ncontent == b.ncontent);
    assert_memory_equal(a.content, b.content, (size_t)a.ncontent * 32);
    assert_int_equal(repo_flush(r), 0);
    buf got, all;
    buf_init(&got, 0);
    buf_init(&all, 0);
    for (uint32_t i = 0; i < a.ncontent; i++) {
        assert_int_equal(repo_blob_load(r, BLOB_DATA, a.content[i], &got, 1), 0);
        assert_int_equal(buf_append(&all, got.data, got.len), 0);
    }
    assert_true(all.len == len);
    assert_memory_equal(all.data, data, len);
    buf_free(&got);
    buf_free(&all);
    tree_node_free(&a);
    tree_node_free(&b);
    tree_node_free(&e);
    blob_stream_free(&bs);
    free(data);
    repo_close(&r);
    tu_rmrf(dir);
}

static void add(tree_builder *tb, const char *path, uint8_t type, uint32_t mode)
{
    tree_node n = {0};
    n.type = type;
    n.mode = mode;
    n.name = strdup("replaced");
    assert_int_equal(tree_builder_add(tb, path, &n), 0);
}

/* Paths in any order, folders named before or after their contents. */
static void tree_builder_any_order(void **state)
{
    (void)state;
    char *dir;
    repo *r = make_repo(&dir);
    tree_builder *tb;
    assert_int_equal(tree_builder_new(&tb), 0);
    add(tb, "base/1/112", NODE_FILE, 0600);
    add(tb, "PG_VERSION", NODE_FILE, 0600);
    add(tb, "base", NODE_DIR, 0750);
    add(tb, "global/pg_control", NODE_FILE, 0600);
    add(tb, "base/1", NODE_DIR, 0700);
    add(tb, "pg_wal", NODE_DIR, 0700);
    tree_node bad = {0};
    bad.type = NODE_FILE;
    assert_int_equal(tree_builder_add(tb, "a//b", &bad), ERR_DAMAGED);
    bad.type = NODE_FILE;
    assert_int_equal(tree_builder_add(tb, "../x", &bad), ERR_DAMAGED);
    err_clear();
    uint8_t root[32];
    assert_int_equal(tree_builder_write(tb, r, root), 0);
    assert_int_equal(tree_builder_dirs(tb), 4);
    tree_builder_free(&tb);
    assert_int_equal(repo_flush(r), 0);
    tree t;
    assert_int_equal(walk_load_tree(r, root, &t), 0);
    assert_int_equal(t.n, 4);
    assert_string_equal(t.nodes[0].name, "PG_VERSION");
    assert_string_equal(t.nodes[1].name, "base");
    assert_int_equal(t.nodes[1].mode, 0750);
    assert_string_equal(t.nodes[3].name, "pg_wal");
    tree_free(&t);
    tree_node n;
    assert_int_equal(walk_find(r, root, "/base/1/112", &n), 0);
    assert_int_equal(n.type, NODE_FILE);
    tree_node_free(&n);
    assert_int_equal(walk_find(r, root, "/base/1", &n), 0);
    assert_int_equal(n.mode, 0700);
    tree_node_free(&n);
    assert_int_equal(walk_find(r, root, "/global", &n), 0); /* named only as a parent: defaults */
    assert_int_equal(n.mode, 0700);
    tree_node_free(&n);
    /* the same name twice is damage */
    assert_int_equal(tree_builder_new(&tb), 0);
    add(tb, "x", NODE_FILE, 0600);
    add(tb, "x", NODE_FILE, 0600);
    assert_int_equal(tree_builder_write(tb, r, root), ERR_DAMAGED);
    tree_builder_free(&tb);
    err_clear();
    repo_close(&r);
    tu_rmrf(dir);
}

static void pg_meta_round_trip(void **state)
{
    (void)state;
    pg_meta m = {0}, back;
    snprintf(m.system_id, sizeof m.system_id, "7712396689768250737");
    snprintf(m.source, sizeof m.source, "main-db");
    m.server_version = 150018;
    m.tli = 3;
    m.start_lsn = 0x4000028;
    m.stop_lsn = 0x6000000; /* on a boundary: the last segment needed is 5 */
    m.segsize = SEG;
    m.start_time = 1795000000.25;
    m.stop_time = 1795000001.5;
    m.wal_complete = 1;
    m.nts = 2;
    m.ts[0].oid = 16390;
    snprintf(m.ts[0].location, sizeof m.ts[0].location, "/srv/pg/ts");
    m.ts[1].oid = 16391;
    snprintf(m.ts[1].location, sizeof m.ts[1].location, "/a");
    cJSON *j = pg_meta_json(&m);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_int_equal(pg_meta_parse(txt, &back), 0);
    assert_string_equal(back.system_id, m.system_id);
    assert_true(back.tli == 3 && back.start_lsn == m.start_lsn && back.stop_lsn == m.stop_lsn);
    assert_true(back.stop_time == m.stop_time && back.wal_complete && !back.standby);
    assert_string_equal(back.wal_source, "main-db"); /* none given: its own */
    assert_true(back.nts == 2 && back.ts[1].oid == 16391);
    assert_string_equal(back.ts[0].location, "/srv/pg/ts");
    uint64_t first, last;
    pg_meta_wal_range(&back, &first, &last);
    assert_true(first == 4 && last == 5);
    assert_non_null(strstr(txt, "\"wal_start\":\"000000030000000000000004\""));
    free(txt);
    assert_int_equal(pg_meta_parse("{\"type\":\"postgres\"}", &back), ERR_DAMAGED);
    assert_int_equal(pg_meta_parse("[1]", &back), ERR_DAMAGED);
    snprintf(m.ts[1].location, sizeof m.ts[1].location, "relative");
    j = pg_meta_json(&m);
    txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_int_equal(pg_meta_parse(txt, &back), ERR_DAMAGED); /* a relative tablespace location */
    free(txt);
    assert_int_equal(pg_meta_parse(NULL, &back), ERR_DAMAGED);
    err_clear();
}

/* Normalizes the paths given (a NULL-terminated list) and compares with want. */
static void check_normalized(const char *const *in, const char *want)
{
    char *paths[16], got[512] = "";
    size_t n = 0;
    for (; in[n]; n++) {
        char abs[4096];
        assert_int_equal(files_abs_path(in[n], abs, sizeof abs), 0);
        paths[n] = strdup(abs);
    }
    files_normalize_paths(paths, &n);
    for (size_t i = 0; i < n; i++) {
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", paths[i]);
        free(paths[i]);
    }
    assert_string_equal(got, want);
}

static void backup_paths_normalized(void **state)
{
    (void)state;
    /* a child sorts right after its parent, before siblings such as "docs.txt" */
    check_normalized((const char *[]){"/d/docs", "/d/docs.txt", "/d/docs/sub", NULL}, "/d/docs /d/docs.txt");
    check_normalized((const char *[]){"/d/docs/sub", "/d/docs.txt", "/d/docs", NULL}, "/d/docs /d/docs.txt");
    check_normalized((const char *[]){"/d/docs/sub/", "/d/./docs-x", "/d/docs/../docs.txt", "/d/docs.txt", NULL},
                     "/d/docs/sub /d/docs-x /d/docs.txt");
    check_normalized((const char *[]){"/a b", "/a/c", "/a", NULL}, "/a /a b");
    check_normalized((const char *[]){"/x", "/", "/y/z", "//", NULL}, "/");
    check_normalized((const char *[]){"/x/..", "/x", NULL}, "/");
    check_normalized((const char *[]){"/e/\xff", "/e/a", "/e/a/b", "/e", NULL}, "/e");
}

/* Zero blocks written through sparse_pwrite become holes, and sparse_read gives
 * the same bytes back, with the holes as zeros and flagged. */
static void sparse_write_and_read(void **state)
{
    (void)state;
    enum { LEN = 64 * SPARSE_BLOCK };
    char *dir = tu_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/f", dir);
    uint8_t *data = calloc(1, LEN), *back = malloc(LEN);
    assert_non_null(data);
    assert_non_null(back);
    memset(data + 100, 7, 5000);                /* data across the first block boundary */
    data[40 * SPARSE_BLOCK + 17] = 1;           /* one byte in the middle */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    /* unaligned pieces at unaligned offsets, as blobs arrive */
    assert_int_equal(sparse_pwrite(fd, data, 3000, 0), 3000);
    assert_int_equal(sparse_pwrite(fd, data + 3000, LEN - 3000, 3000), LEN - 3000);
    assert_int_equal(ftruncate(fd, LEN), 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 <= 8 * SPARSE_BLOCK); /* 3 blocks hold data */
    sparse_map m;
    sparse_map_init(&m, &st);
    assert_true(m.active);
    size_t got = 0;
    int zeros, any_zeros = 0;
    for (;;) {
        ssize_t r = sparse_read(fd, got, back + got, LEN - got < 10000 ? LEN - got : 10000, &m, &zeros);
        assert_true(r >= 0);
        if (!r)
            break;
        any_zeros |= zeros;
        got += (size_t)r;
    }
    assert_int_equal(got, LEN);
    assert_memory_equal(back, data, LEN);
    assert_true(any_zeros && m.had_hole);
    close(fd);
    unlink(path);
    rmdir(dir);
    free(dir);
    free(data);
    free(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backup_paths_normalized), cmocka_unit_test(sparse_write_and_read),
        cmocka_unit_test(lsn_and_names),       cmocka_unit_test(archive_gaps_and_forget),
        cmocka_unit_test(wal_header_checks),
        cmocka_unit_test(stream_matches_whole), cmocka_unit_test(tree_builder_any_order),
        cmocka_unit_test(pg_meta_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
