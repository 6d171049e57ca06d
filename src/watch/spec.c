/* spec — see spec.h. */
#define _GNU_SOURCE
#include "spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/source_config.h"
#include "../core/buf.h"
#include "../core/fsutil.h"

struct watch_spec {
    buf password; /* the redis source's password file, trailing newlines cut */
    const char **headers;
};

/* A password file: at most 64 KiB, trailing newlines cut, not empty. */
static int read_password(const char *path, buf *b)
{
    int rc = fs_read_file(path, b, 1 << 16);
    if (rc) {
        char why[512]; /* copied: err_set rewrites the record err_msg() points into */
        snprintf(why, sizeof why, "%s", err_msg());
        return err_set(rc == ERR_NOTFOUND ? ERR_USAGE : rc, "Redis password file %s: %s", path, why);
    }
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
        b->len--;
    if (!b->len)
        return err_set(ERR_USAGE, "Redis password file %s is empty", path);
    if (buf_append_u8(b, 0) != 0)
        return err_set(ERR_FATAL, "out of memory");
    b->len--; /* the terminator is not the secret's */
    return 0;
}

static int redis_spec(const config *cfg, const char *source, probe_spec *spec, watch_spec *own)
{
    source_config_redis r;
    int rc = source_config_redis_get(cfg, source, &r);
    if (rc)
        return rc;
    spec->address = r.address;
    spec->user = r.user;
    if (r.password_file) {
        if ((rc = read_password(r.password_file, &own->password)))
            return rc;
        spec->password = (const char *)own->password.data;
    }
    return 0;
}

static int postgres_spec(const config *cfg, const char *source, probe_spec *spec)
{
    source_config_pg pg;
    int rc = source_config_pg_get(cfg, source, &pg);
    if (rc)
        return rc;
    spec->conninfo = pg.conninfo;
    return 0;
}

int watch_probe_spec(const config *cfg, const config_service *sv, probe_spec *spec, watch_spec **owned)
{
    memset(spec, 0, sizeof *spec);
    *owned = NULL;
    if (!sv->probe)
        return err_set(ERR_CONFIG, "[service \"%s\"] has no probe", sv->name);
    watch_spec *own = calloc(1, sizeof *own);
    if (!own)
        return err_set(ERR_FATAL, "out of memory");
    buf_init(&own->password, 1 << 17);
    spec->target = sv->probe;
    spec->timeout_ms = sv->timeout * 1000;
    spec->method = sv->http_method;
    spec->expect_status = sv->http_status;
    spec->body_contains = sv->http_body;
    if (sv->nheaders) {
        /* char ** is not const char *const * in C: a copy of the pointers */
        own->headers = calloc(sv->nheaders, sizeof *own->headers);
        if (!own->headers) {
            watch_spec_free(&own);
            return err_set(ERR_FATAL, "out of memory");
        }
        for (size_t i = 0; i < sv->nheaders; i++)
            own->headers[i] = sv->http_headers[i];
        spec->headers = own->headers;
        spec->nheaders = sv->nheaders;
    }
    spec->mirror_of = sv->mirror_of;
    spec->repositories = (const char *const *)sv->repositories;
    spec->nrepositories = sv->nrepositories;
    int rc = 0;
    if (!strncmp(sv->probe, "redis:", 6))
        rc = redis_spec(cfg, sv->probe + 6, spec, own);
    else if (!strncmp(sv->probe, "postgres:", 9))
        rc = postgres_spec(cfg, sv->probe + 9, spec);
    if (rc) {
        err_wrap("[service \"%s\"]", sv->name);
        watch_spec_free(&own);
        memset(spec, 0, sizeof *spec);
        return rc;
    }
    *owned = own;
    return 0;
}

void watch_spec_free(watch_spec **owned)
{
    watch_spec *own = *owned;
    if (!own)
        return;
    if (own->password.data)
        explicit_bzero(own->password.data, own->password.cap);
    buf_free(&own->password);
    free(own->headers);
    free(own);
    *owned = NULL;
}

const char *watch_probe_kind(const char *target)
{
    static const char *const kinds[][2] = {{"http://", "http"},  {"https://", "http"},     {"tcp://", "tcp"},
                                           {"exec:", "exec"},    {"postgres:", "postgres"}, {"redis:", "redis"},
                                           {"registry:", "registry"}};
    for (size_t i = 0; target && i < sizeof kinds / sizeof *kinds; i++)
        if (!strncmp(target, kinds[i][0], strlen(kinds[i][0])))
            return kinds[i][1];
    return "unknown";
}
