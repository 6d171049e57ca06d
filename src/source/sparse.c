/* sparse — see sparse.h. */
#define _GNU_SOURCE
#include "sparse.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void sparse_map_init(sparse_map *m, const struct stat *st)
{
    memset(m, 0, sizeof *m);
    m->active = (uint64_t)st->st_blocks * 512 < (uint64_t)st->st_size;
    m->end = (uint64_t)st->st_size;
}

/* Finds the data region at or after off. lseek moves the file position; reads use
 * pread, so that does not matter. */
static void map_next(int fd, uint64_t off, sparse_map *m)
{
    off_t d = lseek(fd, (off_t)off, SEEK_DATA);
    if (d < 0 && errno == ENXIO) { /* no data after off: a hole to the end */
        m->data = off > m->end ? off : m->end;
        m->hole = UINT64_MAX;
    } else if (d < 0) { /* not supported here after all: read everything */
        m->active = 0;
        return;
    } else {
        off_t h = lseek(fd, d, SEEK_HOLE);
        m->data = (uint64_t)d;
        m->hole = h < 0 ? UINT64_MAX : (uint64_t)h;
    }
    if (m->data > off)
        m->had_hole = 1;
}

ssize_t sparse_read(int fd, uint64_t off, uint8_t *p, size_t cap, sparse_map *m, int *zeros)
{
    *zeros = 0;
    if (m->active && off >= m->hole)
        map_next(fd, off, m);
    if (m->active && off < m->data) {
        size_t n = m->data - off < cap ? (size_t)(m->data - off) : cap;
        memset(p, 0, n);
        *zeros = 1;
        return (ssize_t)n;
    }
    if (m->active && m->hole - off < cap)
        cap = (size_t)(m->hole - off);
    return pread(fd, p, cap, (off_t)off);
}

static int all_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -1 : (errno = EIO, -1);
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

ssize_t sparse_pwrite(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    size_t i = 0, run = 0; /* [run, i): bytes not yet written that are not all zeros */
    while (i < len) {
        size_t step = SPARSE_BLOCK - (size_t)((off + i) % SPARSE_BLOCK); /* to the next block boundary */
        if (step > len - i)
            step = len - i;
        if (all_zero(p + i, step)) {
            if (i > run && pwrite_all(fd, p + run, i - run, off + run) != 0)
                return -1;
            run = i + step;
        }
        i += step;
    }
    if (len > run && pwrite_all(fd, p + run, len - run, off + run) != 0)
        return -1;
    return (ssize_t)len;
}
