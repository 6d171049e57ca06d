/* sparse — files with holes: on backup, where the data lies (SEEK_DATA/SEEK_HOLE),
 * so a hole is fed to the chunker as zeros without reading the disk; on restore,
 * writing only the blocks that are not all zeros, so the holes come back as holes. */
#ifndef LL_SPARSE_H
#define LL_SPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* A file being read: [data, hole) is the current data region. */
typedef struct sparse_map {
    int active;        /* the file may have holes, and the file system can say where */
    uint64_t data, hole;
    uint64_t end;      /* the size when opened: past the last data, zeros up to here */
    int had_hole;      /* a hole was met: the file is stored as sparse */
} sparse_map;

/* st: the open file's fstat. Files with as many blocks as bytes cost nothing more. */
void sparse_map_init(sparse_map *m, const struct stat *st);
/* Up to cap bytes at off into p, like pread: zeros for a hole (*zeros set, the disk
 * untouched), the file's bytes for data. 0 at the end of the file. */
ssize_t sparse_read(int fd, uint64_t off, uint8_t *p, size_t cap, sparse_map *m, int *zeros);

/* Block size of the holes made on restore: file systems allocate in 4 KiB blocks. */
#define SPARSE_BLOCK 4096
/* Writes len bytes at off, leaving out each SPARSE_BLOCK (by file offset) that is all
 * zeros. Aligned p, off and len keep every write aligned (for O_DIRECT). Returns the
 * bytes covered (len) or -1 with errno. The caller sets the final size with ftruncate. */
ssize_t sparse_pwrite(int fd, const uint8_t *p, size_t len, uint64_t off);

#endif
