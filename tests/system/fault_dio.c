/* fault_dio — an LD_PRELOAD library for the system tests (not installed): with
 * LIFELINE_TEST_DIO_EINVAL_AFTER=N, a pwrite on a descriptor that has O_DIRECT is
 * refused with EINVAL once N of them have been let through, as a file system that
 * takes O_DIRECT at open but not for every write does. Other writes pass untouched. */
#define _GNU_SOURCE
/* both names defined here, pwrite and pwrite64 (lifeline, built with 64-bit offsets,
 * calls the second) */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long passed;

static ssize_t fault_pwrite(int fd, const void *data, size_t len, off_t off)
{
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real)
        real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    const char *after = getenv("LIFELINE_TEST_DIO_EINVAL_AFTER");
    int fl = fcntl(fd, F_GETFL);
    if (after && fl >= 0 && (fl & O_DIRECT) && atomic_fetch_add(&passed, 1) >= atol(after)) {
        errno = EINVAL;
        return -1;
    }
    return real(fd, data, len, off);
}

ssize_t pwrite(int fd, const void *data, size_t len, off_t off)
{
    return fault_pwrite(fd, data, len, off);
}

ssize_t pwrite64(int fd, const void *data, size_t len, off_t off)
{
    return fault_pwrite(fd, data, len, off);
}
