/* files — see files.h. What both halves of the files source share: path
 * normalisation (the include/exclude patterns are core/pattern.c). The backup
 * half is files_backup.c, the restore half files_restore.c. */
#define _GNU_SOURCE
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../core/fsutil.h"
#include "../core/log.h"
#include "../core/pool.h"
#include "../core/progress.h"
#include "../core/text.h"
#include "../repo/stream.h"
#include "../repo/walk.h"

/* ---- paths ------------------------------------------------------------------- */

int files_abs_path(const char *in, char *out, size_t cap)
{
    char tmp[PATH_MAX], cwd[PATH_MAX];
    if (in[0] != '/') {
        if (!getcwd(cwd, sizeof cwd))
            return err_sys(ERR_IO, "current folder");
        if (snprintf(tmp, sizeof tmp, "%s/%s", cwd, in) >= (int)sizeof tmp)
            return err_set(ERR_USAGE, "path too long: %s", in);
    } else if (snprintf(tmp, sizeof tmp, "%s", in) >= (int)sizeof tmp) {
        return err_set(ERR_USAGE, "path too long: %s", in);
    }
    size_t o = 0;
    char *save = NULL;
    for (char *part = strtok_r(tmp, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, "."))
            continue;
        if (!strcmp(part, "..")) {
            while (o > 0 && out[--o] != '/')
                ;
            continue;
        }
        size_t l = strlen(part);
        if (o + l + 2 > cap)
            return err_set(ERR_USAGE, "path too long: %s", in);
        out[o++] = '/';
        memcpy(out + o, part, l);
        o += l;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return 0;
}

/* Orders paths component by component ('/' before every other byte), so that the
 * paths below a folder come right after it: "docs" < "docs/sub" < "docs.txt".
 * Plain strcmp puts "docs.txt" between "docs" and "docs/sub" ('.' < '/'), and the
 * child then escaped the check below and was stored a second time. */
static int cmp_path(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
    for (; *x && *x == *y; x++, y++)
        ;
    int cx = *x == '/' ? 1 : *x ? *x + 1 : 0, cy = *y == '/' ? 1 : *y ? *y + 1 : 0;
    return cx - cy;
}

int files_is_inside(const char *child, const char *parent)
{
    size_t l = strlen(parent);
    if (!strcmp(parent, "/"))
        return 1;
    return !strncmp(child, parent, l) && (child[l] == '/' || child[l] == '\0');
}

void files_normalize_paths(char **paths, size_t *n)
{
    qsort(paths, *n, sizeof *paths, cmp_path);
    size_t w = 0;
    for (size_t i = 0; i < *n; i++) {
        if (w && files_is_inside(paths[i], paths[w - 1])) {
            free(paths[i]);
            continue;
        }
        paths[w++] = paths[i];
    }
    *n = w;
}
