/* wal — see wal.h. */
#include "wal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../core/fsutil.h"

static int hex_run(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || islower((unsigned char)s[i]))
            return 0;
    return 1;
}

int wal_name_valid(const char *name)
{
    size_t l = strlen(name);
    if (l == 24)
        return hex_run(name, 24);
    if (l == 32 && !strcmp(name + 24, ".partial"))
        return hex_run(name, 24);
    if (l == 16 && !strcmp(name + 8, ".history"))
        return hex_run(name, 8);
    if (l == 40 && name[24] == '.' && !strcmp(name + 33, ".backup"))
        return hex_run(name, 24) && hex_run(name + 25, 8);
    return 0;
}

int wal_source_valid(const char *source)
{
    size_t l = strlen(source);
    if (l < 1 || l > 64 || source[0] == '.')
        return 0;
    for (size_t i = 0; i < l; i++)
        if (!isalnum((unsigned char)source[i]) && !strchr("._-", source[i]))
            return 0;
    return 1;
}

static int object_name(const char *source, const char *name, char *out, size_t cap)
{
    if (!wal_source_valid(source))
        return err_set(ERR_USAGE, "'%s' is not a valid source name", source);
    if (!wal_name_valid(name))
        return err_set(ERR_USAGE, "'%s' is not a WAL file name (segment, .partial, .history or .backup)", name);
    snprintf(out, cap, "wal/%s/%s", source, name);
    return 0;
}

int wal_push(repo *r, const char *source, const char *path, int *already)
{
    char oname[PATH_MAX];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    buf data, old;
    buf_init(&data, 0);
    buf_init(&old, 0);
    *already = 0;
    int rc = object_name(source, base, oname, sizeof oname);
    if (!rc && (rc = fs_read_file(path, &data, WAL_MAX_FILE)))
        err_wrap("wal-push");
    for (int attempt = 0; !rc && attempt < 2; attempt++) {
        /* compare first: a repeated push of the same file must succeed */
        int lrc = repo_named_load(r, OBJ_WAL, oname, &old);
        if (lrc == 0) {
            if (old.len == data.len && !memcmp(old.data, data.data, data.len))
                *already = 1;
            else
                rc = err_set(ERR_FATAL, "%s is already archived for source %s with different content", base, source);
            break;
        }
        if (lrc != ERR_NOTFOUND) {
            rc = lrc;
            break;
        }
        err_clear();
        rc = repo_named_save(r, OBJ_WAL, oname, data.data, data.len, 1);
        if (rc && errno == EEXIST) { /* pushed concurrently: compare with that one */
            err_clear();
            rc = 0;
            continue;
        }
        break;
    }
    buf_free(&data);
    buf_free(&old);
    return rc;
}

int wal_fetch(repo *r, const char *source, const char *name, const char *dest)
{
    char oname[PATH_MAX];
    buf data;
    buf_init(&data, 0);
    int rc = object_name(source, name, oname, sizeof oname);
    if (!rc)
        rc = repo_named_load(r, OBJ_WAL, oname, &data);
    if (!rc)
        rc = fs_write_durable(dest, data.data, data.len, 0600, 0);
    buf_free(&data);
    return rc;
}
