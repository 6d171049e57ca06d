/* jsonout — see jsonout.h. */
#include "jsonout.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/quote.h"

/* A copy of s with each byte that is not part of a UTF-8 character as U+FFFD. */
static char *lossy(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = quote_utf8_char(p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    return out;
}

static char *base64(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)len);
    return out;
}

/* Replaces a string item's text with its readable copy. */
static int set_lossy(cJSON *item)
{
    char *l = lossy(item->valuestring);
    if (!l)
        return -1;
    free(item->valuestring); /* cJSON's default allocator is malloc */
    item->valuestring = l;
    return 0;
}

static int bad_string(const cJSON *item) { return cJSON_IsString(item) && !quote_utf8_valid(item->valuestring); }

/* KEY_raw for a member whose string value (or some element of whose array of
 * strings) is not UTF-8: the exact bytes, base64; null for elements that are fine. */
static int add_raw(cJSON *obj, const char *key, const cJSON *value)
{
    char name[256];
    snprintf(name, sizeof name, "%s_raw", key);
    cJSON *raw = NULL;
    if (cJSON_IsString(value)) {
        char *b = base64(value->valuestring);
        raw = b ? cJSON_CreateString(b) : NULL;
        free(b);
    } else if ((raw = cJSON_CreateArray())) {
        for (const cJSON *e = value->child; e; e = e->next) {
            char *b = bad_string(e) ? base64(e->valuestring) : NULL;
            cJSON *x = b ? cJSON_CreateString(b) : bad_string(e) ? NULL : cJSON_CreateNull();
            free(b);
            if (!x) {
                cJSON_Delete(raw);
                return -1;
            }
            cJSON_AddItemToArray(raw, x);
        }
    }
    if (!raw)
        return -1;
    cJSON_AddItemToObject(obj, name, raw);
    return 0;
}

static int needs_raw(const cJSON *v)
{
    if (bad_string(v))
        return 1;
    for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e; e = e->next)
        if (bad_string(e))
            return 1;
    return 0;
}

int jsonout_make_safe(cJSON *item)
{
    if (!item)
        return 0;
    if (bad_string(item))
        return set_lossy(item);
    /* the members present now: the KEY_raw members appended meanwhile need no visit */
    cJSON *last = NULL;
    for (cJSON *e = item->child; e; e = e->next)
        last = e;
    for (cJSON *e = item->child; e; e = e->next) {
        if (cJSON_IsObject(item) && e->string && !quote_utf8_valid(e->string)) {
            char *l = lossy(e->string); /* a member name from data: readable, lossy */
            if (!l)
                return -1;
            if (!(e->type & cJSON_StringIsConst))
                free(e->string);
            e->string = l;
            e->type &= ~cJSON_StringIsConst;
        }
        if (cJSON_IsObject(item) && e->string && needs_raw(e) && add_raw(item, e->string, e) != 0)
            return -1;
        if (jsonout_make_safe(e) != 0)
            return -1;
        if (e == last)
            break;
    }
    return 0;
}
