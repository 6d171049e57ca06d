/* wal — PostgreSQL's WAL archive in the repository: `wal-push` as archive_command
 * and `wal-fetch` as restore_command. A segment is a named object
 * wal/<source>/<file name>, durable before wal-push returns; pushing identical
 * content again succeeds, different content for an existing name is an error
 * (PostgreSQL's rules for archive commands). */
#ifndef LL_WAL_H
#define LL_WAL_H

#include "../repo/repo.h"

#define WAL_MAX_FILE (64u << 20) /* a segment is 16 MiB by default, at most 1 GiB; we take up to 64 MiB */

/* Is name a WAL file name PostgreSQL archives: a 24-hex segment, optionally
 * ".partial"; "<8 hex>.history"; or "<24 hex>.<8 hex>.backup"? */
int wal_name_valid(const char *name);
/* Is source a usable source name ([A-Za-z0-9._-], 1..64 chars)? */
int wal_source_valid(const char *source);
/* Archives the file at path. *already: it was archived before with identical content. */
int wal_push(repo *r, const char *source, const char *path, int *already) WUR;
/* Writes the archived file name to dest (durably). ERR_NOTFOUND when not archived. */
int wal_fetch(repo *r, const char *source, const char *name, const char *dest) WUR;

#endif
