/* libFuzzer target: the HA endpoints' decision (http_ha_check). The input is a path
 * line, a query line, then a status document as JSON. It must never crash, and what it
 * answers must keep its promises: only 200/400/404/503; nothing set for a path that is
 * not an endpoint; a 200 for a primary is a member whose role is "primary" with the
 * lease true, a 200 for a replica a streaming standby; no document → never 200. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static const char *body_str(const cJSON *b, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

static void check(const cJSON *status, const char *path, const char *query)
{
    int code = 0;
    cJSON *body = (cJSON *)&code; /* must be overwritten */
    int handled = http_ha_check(status, path, query, &code, &body);
    if (!handled) {
        if (body || code != 404)
            abort();
        return;
    }
    if (code != 200 && code != 400 && code != 404 && code != 503)
        abort();
    if (!status && code == 200)
        abort();
    if (code == 200) {
        const char *role = body_str(body, "role");
        if (!body || !body_str(body, "member") || !role)
            abort();
        const cJSON *lease = cJSON_GetObjectItemCaseSensitive(body, "lease");
        if ((ends_with(path, "/primary") || ends_with(path, "/read-write")) &&
            (strcmp(role, "primary") || !cJSON_IsTrue(lease)))
            abort();
        if (ends_with(path, "/replica") && strcmp(role, "standby"))
            abort();
    }
    cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *path = text, *query = strchr(path, '\n'), *json = NULL;
    if (query) {
        *query++ = '\0';
        json = strchr(query, '\n');
        if (json)
            *json++ = '\0';
    }
    cJSON *doc = json ? cJSON_Parse(json) : NULL;
    check(doc, path, query);
    check(NULL, path, query);
    check(doc, path, NULL);
    cJSON_Delete(doc);
    free(text);
    return 0;
}
