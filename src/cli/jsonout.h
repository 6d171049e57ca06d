/* jsonout — JSON that is valid whatever the bytes: names on Linux are bytes, JSON
 * strings are UTF-8. Owns the lossless form of a string that is not UTF-8: the
 * member KEY keeps a readable copy (each bad byte as U+FFFD) and KEY_raw holds the
 * exact bytes in base64, as restic does for link targets (linktarget_raw). */
#ifndef LL_JSONOUT_H
#define LL_JSONOUT_H

#include <cjson/cJSON.h>

/* Rewrites every string below item that is not valid UTF-8 (values, array
 * elements, member names) so that printing item gives valid JSON:
 *   {"path": "<bytes>"}        -> {"path": "a\uFFFDb", "path_raw": "Yf9i"}
 *   {"paths": ["ok", "<bytes>"]} -> {"paths": ["ok", "a\uFFFDb"], "paths_raw": [null, "Yf9i"]}
 * Returns 0, or -1 when out of memory (item may then be partly rewritten). */
int jsonout_make_safe(cJSON *item);

#endif
