/* config_impl — what the files that give sections meaning share (watch_config.c,
 * ha_config.c): one-line errors, and values parsed one way everywhere. Not for other
 * modules. Each returns 0, or -1 with the reason in err. */
#ifndef LL_CONFIG_IMPL_H
#define LL_CONFIG_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

int cfg_bad(char *err, size_t cap, const char *fmt, ...) PRINTF(3, 4);
/* A non-empty text value, copied into *dst (replacing what was there). */
int cfg_text(char **dst, const char *key, const char *v, char *err, size_t cap);
/* An interval in seconds ("2s", "15m": m is a minute); at least 1 s unless allow_zero. */
int cfg_interval(int64_t *dst, const char *key, const char *v, int allow_zero, char *err, size_t cap);
/* A whole number from 1 to 1000. */
int cfg_count(int *dst, const char *key, const char *v, char *err, size_t cap);
/* The element of a section list (structs whose first member is char name[64]) named
 * name, appended zeroed when missing (*fresh then 1); NULL when out of memory. */
void *cfg_section_get(void *itemsp, size_t *n, size_t size, const char *name, int *fresh);

#endif
