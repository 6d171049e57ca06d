/* libFuzzer target: any bytes parsed as JSON go into both renderers of src/http (the
 * status page and the Prometheus text), as the status document and as the incident
 * list. They must never crash, and what they write must keep its shape: the page never
 * carries a '<script' the data smuggled in, and no metrics line is broken by a newline. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

static void check_page(const cJSON *status, const cJSON *incidents)
{
    buf b;
    buf_init(&b, (size_t)64 << 20);
    if (http_render_page(status, incidents, 1764600000000LL, &b) == 0) {
        if (!buf_append(&b, "", 1) && strstr((const char *)b.data, "<script"))
            abort(); /* the page has no script of its own: this came from the data */
    }
    buf_free(&b);
}

static void check_metrics(const cJSON *status)
{
    buf b;
    buf_init(&b, (size_t)64 << 20);
    if (http_render_metrics(status, &b) == 0 && !buf_append(&b, "", 1)) {
        /* every line is a comment or starts with a metric name */
        for (char *line = (char *)b.data; *line;) {
            char *nl = strchr(line, '\n');
            if (!nl || (strncmp(line, "lifeline_", 9) && strncmp(line, "# ", 2)))
                abort();
            line = nl + 1;
        }
    }
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (!doc)
        return 0;
    /* {"status":..., "incidents":[...]} feeds the two apart; anything else is both */
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    const cJSON *incs = cJSON_GetObjectItemCaseSensitive(doc, "incidents");
    if (!cJSON_IsObject(st))
        st = doc;
    check_page(st, incs);
    check_page(doc, doc);
    check_page(NULL, NULL);
    check_metrics(st);
    check_metrics(doc);
    cJSON_Delete(doc);
    return 0;
}
