/* redisrestore — `restore --replace` of a Redis source below the command line (the
 * watch agent calls it too): stage the snapshot's dump.rdb in the data folder, stop
 * the server, swap the file in, start it, verify the key counts, roll back on failure;
 * each step is an audit record ("restore-step"), so the trail shows how far it got. */
#ifndef LL_REDISRESTORE_H
#define LL_REDISRESTORE_H

#include <limits.h>

#include "../repo/repo.h"
#include "../repo/snapshot.h"
#include "redis.h"

typedef struct redisrestore_opts {
    redis_opts server;     /* how to reach it; server.source names it in messages */
    const char *data_dir;  /* where it loads dump.rdb from */
    const char *stop_cmd;  /* shell commands that stop and start it */
    const char *start_cmd;
    char *const *audit_ids; /* ids every step record names (the snapshot's) */
    size_t naudit_ids;
} redisrestore_opts;

typedef struct redisrestore_result {
    char live[PATH_MAX]; /* the file the server runs on */
    int verified;        /* key counts matched (0 on any error) */
    int rolled_back;     /* the previous data was put back (the error says whether that worked) */
} redisrestore_result;

/* Replaces the server's data with snapshot s. CONFIG GET must confirm (where allowed)
 * that the server loads data_dir/dump.rdb before anything is stopped. On failure
 * after the swap the previous data is put back and the server started on it; the
 * error says so. */
int redisrestore_run(repo *r, const snapshot *s, const redisrestore_opts *o, redisrestore_result *res) WUR;

#endif
