/* libFuzzer target: names from a snapshot on their way out — quote_fput (terminal
 * and pipe forms), jsonout_make_safe and the pattern matcher. Any bytes are a
 * possible file name: never crash, never let a control byte or invalid UTF-8 out,
 * and the JSON form must parse and give the exact bytes back. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/jsonout.h"
#include "core/pattern.h"
#include "core/quote.h"

static void check_quoted(const char *name, quote_style st)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return;
    quote_fput(f, name, st);
    fclose(f);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            abort(); /* a control byte got through */
    if (!quote_utf8_valid(out))
        abort();
    free(out);
}

static void check_json(const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "path", name);
    if (jsonout_make_safe(o) != 0) {
        cJSON_Delete(o);
        return;
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    if (!text || !quote_utf8_valid(text) || !back)
        abort();
    const cJSON *raw = cJSON_GetObjectItemCaseSensitive(back, "path_raw");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(back, "path");
    if (cJSON_IsString(raw)) {
        unsigned char *dec = malloc(strlen(raw->valuestring) + 3);
        int n = dec ? EVP_DecodeBlock(dec, (const unsigned char *)raw->valuestring, (int)strlen(raw->valuestring)) : -1;
        size_t want = strlen(name);
        /* EVP_DecodeBlock counts the padding bytes as zeros */
        if (n < (int)want || memcmp(dec, name, want) != 0)
            abort();
        free(dec);
    } else if (!cJSON_IsString(path) || strcmp(path->valuestring, name) != 0) {
        abort();
    }
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0'; /* names hold no NUL: the first one ends this one */
    check_quoted(s, QUOTE_SHELL);
    check_quoted(s, QUOTE_ESCAPE);
    check_json(s);
    /* pattern TAB path */
    char *tab = strchr(s, '\t');
    if (tab) {
        *tab = '\0';
        (void)pattern_match(s, tab + 1);
    }
    free(s);
    return 0;
}
