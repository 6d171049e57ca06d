/* http_serve — the HTTP server without the agent, for system tests: serves the status
 * document and the incidents read from two files (read again on every request, so a
 * test can change them), prints "port N" once listening, and runs until SIGTERM/SIGINT.
 * Usage: http_serve STATUS.json INCIDENTS.json [LISTEN]   (LISTEN: 127.0.0.1:0) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "http/http.h"

typedef struct files {
    const char *status, *incidents;
} files;

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (!m)
        return NULL;
    fclose(m);
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    return doc;
}

static cJSON *serve_status(void *ctx) { return read_json(((files *)ctx)->status); }

/* The incidents opened at or after since_ms, as the agent would give them. */
static cJSON *serve_incidents(void *ctx, int64_t since_ms)
{
    cJSON *list = read_json(((files *)ctx)->incidents), *inc = list ? list->child : NULL;
    while (inc) {
        cJSON *next = inc->next, *opened = cJSON_GetObjectItemCaseSensitive(inc, "opened_ms");
        if (cJSON_IsNumber(opened) && opened->valuedouble < (double)since_ms)
            cJSON_Delete(cJSON_DetachItemViaPointer(list, inc));
        inc = next;
    }
    return list;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: http_serve STATUS.json INCIDENTS.json [LISTEN]\n");
        return ERR_USAGE;
    }
    files fs = {argv[1], argv[2]};
    http_source src = {.ctx = &fs, .status = serve_status, .incidents = serve_incidents, .groups = NULL};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* blocked before the server's threads start, so only sigwait below sees them */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    http_server *s = NULL;
    int rc = http_start(argc > 3 ? argv[3] : "127.0.0.1:0", &src, &s);
    if (rc) {
        fprintf(stderr, "http_serve: %s\n", err_msg());
        return rc;
    }
    printf("port %d\n", http_port(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    http_stop(&s);
    return 0;
}
